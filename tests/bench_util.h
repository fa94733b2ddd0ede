/* bench_util.h: what every benchmark in tests/bench_*.c shares: a monotonic clock and the
 * comparison qsort needs to take medians (benchmarks quote medians: this machine is noisy). */
#ifndef NVMM_BENCH_UTIL_H
#define NVMM_BENCH_UTIL_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC, which no clock adjustment moves. */
static inline double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* qsort order of doubles (none of the timings is NaN). */
static inline int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

#endif
