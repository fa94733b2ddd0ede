/* bench_floor.c: the hardware floor of the E-step at dimension d: nanoseconds per row of one
 * DSYRK on a 4096 x d block (the weighted Gram sum alone), median of repeats, for
 * scripts/bench.sh. Usage: bench_floor D [REPEATS]. */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "src/lapack.h"

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_floor D [REPEATS]\n");
    return 2;
  }
  int d = atoi(argv[1]), reps = argc > 2 ? atoi(argv[2]) : 21, rows = 4096;
  if (d < 1 || reps < 1)
    return 2;
  double *a = malloc((size_t)rows * (size_t)d * sizeof *a), *c = malloc((size_t)d * (size_t)d * 8);
  double *t = malloc((size_t)reps * sizeof *t), one = 1.0, zero = 0.0;
  if (!a || !c || !t)
    return 1;
  for (long i = 0; i < (long)rows * d; i++)
    a[i] = 0.001 * (double)(i % 997) - 0.4;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    dsyrk_("U", "N", &d, &rows, &one, a, &d, &zero, c, &d, 1, 1);
    t[r] = now() - t0;
  }
  qsort(t, (size_t)reps, sizeof *t, cmp);
  printf("%.3f\n", t[reps / 2] / rows * 1e9);
  free(a);
  free(c);
  free(t);
  return 0;
}
