/* bench_bessel.c: nanoseconds per call of the Bessel entry points the E-step and the GIG solve
 * use, for meson benchmark() and by hand: for each order in the list, 4096 arguments spread
 * log-uniformly over [ZMIN, ZMAX] (so every series/Chebyshev piece is visited), median over
 * REPS sweeps. Usage: bench_bessel [REPS] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "nvmm/bessel.h"

enum { NZ = 4096, MAXREPS = 99 };

int main(int argc, char **argv) {
  const int reps = argc > 1 ? atoi(argv[1]) : 15;
  if (reps < 1 || reps > MAXREPS) {
    fprintf(stderr, "usage: bench_bessel [REPS <= %d]\n", MAXREPS);
    return 2;
  }
  /* Orders of the E-step: NIG (half-integers -1/2 - d/2), GH (p - d/2 with p = -1.2), the
   * integer case, and a large one (d = 256). */
  static const double orders[] = {-2.0, -3.5, -4.2, -17.2, -16.5, -129.2};
  static double z[NZ], t[MAXREPS];
  for (int i = 0; i < NZ; i++)
    z[i] = 0.05 * pow(400.0 / 0.05, (i + 0.5) / NZ); /* 0.05 .. 400 */
  printf("%8s %12s %12s   ns per call, z log-uniform on [0.05, 400], median of %d\n", "nu",
         "k_eval", "k_eval_dnu", reps);
  double sink = 0.0;
  for (size_t o = 0; o < sizeof orders / sizeof *orders; o++) {
    double res[2];
    for (int f = 0; f < 2; f++) {
      for (int r = 0; r < reps; r++) {
        double t0 = now();
        for (int i = 0; i < NZ; i++) {
          nvmm_bessel_k k;
          double d1 = 0.0;
          nvmm_status st = f ? nvmm_bessel_k_eval_dnu(orders[o], z[i], &k, &d1)
                             : nvmm_bessel_k_eval(orders[o], z[i], &k);
          if (st != NVMM_OK) {
            fprintf(stderr, "bench_bessel: %s\n", nvmm_last_error());
            return 1;
          }
          sink += k.lnk + k.rp + d1;
        }
        t[r] = (now() - t0) / NZ;
      }
      qsort(t, (size_t)reps, sizeof *t, cmp);
      res[f] = 1e9 * t[reps / 2];
    }
    printf("%8.1f %12.1f %12.1f\n", orders[o], res[0], res[1]);
  }
  return isfinite(sink) ? 0 : 1;
}
