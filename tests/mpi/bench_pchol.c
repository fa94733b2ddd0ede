/* bench_pchol.c: times LAPACK dpotrf on rank 0 against nvmm_pchol_factor (redistribution
 * included) on all ranks, for the dimensions on the command line; driven by
 * scripts/bench_pchol.sh, which turns the lines into a table.
 *
 * Usage: mpirun -n P bench_pchol [--nb NB] [--reps R] [--skip-lapack] [--skip-pchol] D...
 * Prints, on rank 0, one line per dimension and method:
 *   lapack D 1 MEDIAN MIN    (memcpy + dpotrf on rank 0, what nvmm__cholesky does)
 *   pchol D P NB MEDIAN MIN  (nvmm_pchol_factor on P ranks, block size NB; 0: the default)
 * where MEDIAN and MIN are in seconds over R timed repetitions (default 3) after one untimed
 * warm-up; on a shared machine MIN is the better estimate of the unloaded time. */
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_util.h"
#include "nvmm.h"
#include "src/lapack.h"

/* A symmetric, strictly diagonally dominant (hence positive definite) d x d matrix, row-major:
 * off-diagonal entries uniform in (-1, 1) from a fixed-seed xorshift, diagonal d + 1. The
 * factorization's cost does not depend on the entries, and B B^T would cost more than the
 * factorization itself. */
static void make_spd(size_t d, double *a) {
  uint64_t s = 0x9e3779b97f4a7c15u;
  for (size_t i = 0; i < d; i++) {
    for (size_t j = 0; j < i; j++) {
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      a[i * d + j] = a[j * d + i] = 2.0 * ((double)(s >> 11) * 0x1.0p-53) - 1.0;
    }
    a[i * d + i] = (double)d + 1.0;
  }
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int nb = 0, reps = 3, lapack = 1, pchol = 1, first = argc;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--nb") == 0 && i + 1 < argc)
      nb = atoi(argv[++i]);
    else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (strcmp(argv[i], "--skip-lapack") == 0)
      lapack = 0;
    else if (strcmp(argv[i], "--skip-pchol") == 0)
      pchol = 0;
    else {
      first = i;
      break;
    }
  }
  if (reps < 1 || nb < 0 || first == argc) {
    if (rank == 0)
      fprintf(stderr, "usage: bench_pchol [--nb NB] [--reps R] [--skip-lapack] "
                      "[--skip-pchol] D...\n");
    MPI_Finalize();
    return 2;
  }
  double *t = malloc((size_t)reps * sizeof *t);
  int failed = 0;
  for (int k = first; k < argc && !failed; k++) {
    size_t d = (size_t)strtoul(argv[k], NULL, 10);
    double *a = NULL, *l = NULL, ld_lapack = NAN, ld = NAN;
    if (rank == 0) {
      a = malloc(d * d * sizeof *a);
      l = malloc(d * d * sizeof *l);
      if (a == NULL || l == NULL) {
        fprintf(stderr, "bench_pchol: out of memory for d = %zu\n", d);
        MPI_Abort(MPI_COMM_WORLD, 1);
      }
      make_spd(d, a);
    }
    if (lapack) {
      if (rank == 0) {
        int n = (int)d, info = 0;
        /* One untimed run first, so that page faults on l and cold caches are not timed: the
         * M-step reuses its buffers. */
        for (int r = -1; r < reps; r++) {
          double t0 = MPI_Wtime();
          memcpy(l, a, d * d * sizeof *l);
          dpotrf_("U", &n, l, &n, &info, 1);
          if (r >= 0)
            t[r] = MPI_Wtime() - t0;
          if (info != 0)
            failed = 1;
        }
        double s = 0.0;
        for (size_t i = 0; i < d; i++)
          s += log(l[i * d + i]);
        ld_lapack = 2.0 * s;
        double m = bench_median(t, reps);
        printf("lapack %zu 1 %.6f %.6f\n", d, m, t[0]);
        fflush(stdout);
      }
      MPI_Barrier(MPI_COMM_WORLD);
    }
    if (pchol) {
      nvmm_pchol *p;
      if (nvmm_pchol_create(MPI_COMM_WORLD, d, nb, &p) != NVMM_OK) {
        failed = 1;
        break;
      }
      for (int r = -1; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        nvmm_status st = nvmm_pchol_factor(p, a, l, &ld);
        MPI_Barrier(MPI_COMM_WORLD);
        if (r >= 0)
          t[r] = MPI_Wtime() - t0;
        if (st != NVMM_OK)
          failed = 1;
      }
      nvmm_pchol_destroy(&p);
      if (rank == 0) {
        double m = bench_median(t, reps);
        printf("pchol %zu %d %d %.6f %.6f\n", d, size, nb, m, t[0]);
        fflush(stdout);
        /* A cheap check that both paths computed the same thing. */
        if (lapack && fabs(ld - ld_lapack) > 1e-10 * fabs(ld_lapack)) {
          fprintf(stderr, "bench_pchol: d = %zu: logdet %.17g vs LAPACK %.17g\n", d, ld, ld_lapack);
          failed = 1;
        }
      }
    }
    MPI_Bcast(&failed, 1, MPI_INT, 0, MPI_COMM_WORLD);
    free(a);
    free(l);
  }
  free(t);
  MPI_Finalize();
  return failed ? 1 : 0;
}
