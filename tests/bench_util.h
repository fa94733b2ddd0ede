/* bench_util.h: what every benchmark in tests/bench_*.c and tests/mpi/bench_*.c shares: a
 * monotonic clock, the comparison qsort needs and medians (benchmarks quote medians: this
 * machine is noisy). */
#ifndef NVMM_BENCH_UTIL_H
#define NVMM_BENCH_UTIL_H

#include <stdlib.h>
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

/* Sorts t (n > 0) and returns its median; t[0] is then the minimum. */
static inline double bench_median(double *t, int n) {
  qsort(t, (size_t)n, sizeof *t, cmp);
  return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

#endif
