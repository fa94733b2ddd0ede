/* bench_gig.c: wall-clock time of the GIG eta -> (p, a, b) solve as EM uses it (one warm solve per
 * iteration, started from the previous iterate), for meson benchmark() and by hand. The warm
 * start is one EM-like step (1e-3 relative) from the solution; each solve includes one eta
 * evaluation. Prints the median over REPS sweeps, per point, and exits 1 if a solve fails or
 * falls back, or if the median exceeds MAX_SOLVE_S (a guard against gross regressions only: the
 * solve takes tens of microseconds, and sanitizer or valgrind builds are far slower than normal).
 * Iteration counts, which are deterministic, are unit-tested in test_gig_solve.c.
 * Usage: bench_gig [REPS] */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "nvmm/gig.h"

/* The unit test's former bound: 50 ms per solve, ~1000 times the normal cost. */
#define MAX_SOLVE_S 0.05

enum { SWEEP = 200, MAXREPS = 99 };

int main(int argc, char **argv) {
  const int reps = argc > 1 ? atoi(argv[1]) : 15;
  if (reps < 1 || reps > MAXREPS) {
    fprintf(stderr, "usage: bench_gig [REPS <= %d]\n", MAXREPS);
    return 2;
  }
  /* An NIG-like point, a generic one, and a heavier and a lighter tail. */
  static const double pts[][3] = {
      {-0.5, 1.3, 2.9}, {2.385, 0.731, 1.93}, {-3.2, 0.4, 7.7}, {0.9, 5.0, 0.2}};
  static double t[MAXREPS];
  printf("%8s %8s %8s %12s %8s   warm solve, us, median of %d sweeps of %d\n", "p", "a", "b", "us",
         "iters", reps, SWEEP);
  double worst = 0.0;
  for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
    nvmm_sub truth, near, out;
    nvmm_sub_info info = {0};
    double near_par[3] = {pts[i][0] + 1e-3, pts[i][1] * 1.001, pts[i][2] * 0.999};
    if (nvmm_sub_make(NVMM_SUB_GIG, pts[i], &truth) != NVMM_OK ||
        nvmm_sub_make(NVMM_SUB_GIG, near_par, &near) != NVMM_OK) {
      fprintf(stderr, "bench_gig: %s\n", nvmm_last_error());
      return 1;
    }
    for (int r = 0; r < reps; r++) {
      double t0 = now();
      for (int k = 0; k < SWEEP; k++) {
        double eta[3];
        if (nvmm_sub_eta(&truth, eta) != NVMM_OK ||
            nvmm_sub_from_eta(NVMM_SUB_GIG, eta, &near, 0.0, &out, &info) != NVMM_OK) {
          fprintf(stderr, "bench_gig: %s\n", nvmm_last_error());
          return 1;
        }
        if (info.fallback) {
          fprintf(stderr, "bench_gig: GIG(%g, %g, %g): the solve fell back\n", pts[i][0], pts[i][1],
                  pts[i][2]);
          return 1;
        }
      }
      t[r] = (now() - t0) / SWEEP;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp);
    double med = t[reps / 2];
    worst = med > worst ? med : worst;
    printf("%8.3g %8.3g %8.3g %12.1f %8d\n", pts[i][0], pts[i][1], pts[i][2], 1e6 * med,
           info.iterations);
  }
  if (worst > MAX_SOLVE_S) {
    fprintf(stderr, "bench_gig: a warm GIG solve takes %.3g s (bound %.3g s)\n", worst,
            MAX_SOLVE_S);
    return 1;
  }
  return 0;
}
