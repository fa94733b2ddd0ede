/* demo.c: `nvmm demo`: every rank samples its own blocks of a 3-D NIG dataset (one random
 * stream per global block, so the data do not depend on the rank count), scores them under the
 * true and a perturbed model, and rank 0 combines the block sums in block order, so the printed
 * numbers are bitwise the same on any number of ranks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char demo_usage[] =
    "Usage: mpirun -n P nvmm demo [--n ROWS] [--seed SEED] [--block ROWS]\n"
    "\n"
    "Samples ROWS rows of the 3-D NIG model of the bundled reference data (mu = 0,\n"
    "gamma = (0.4, -0.3, 0.1), Sigma with correlations 0.3/0.1/0.2, InverseGaussian(1, 1.5))\n"
    "across the ranks and prints the mean log-likelihood under the true model and under a\n"
    "perturbed one (gamma halved, lambda doubled). The output does not depend on P.\n";

typedef struct demo_opts {
  long long n, block;
  unsigned long long seed;
} demo_opts;

/* Returns 1 when help was printed, -1 on an error (reported), 0 to run. */
static int parse(MPI_Comm comm, int argc, char **argv, demo_opts *o) {
  static const cli_opt opts[] = {
      {"n", "ROWS", "number of rows (default 200000)", 0},
      {"seed", "SEED", "random seed (default 2026)", 0},
      {"block", "ROWS", "rows per random stream and per partial sum (default 4096)", 0},
      {0}};
  cli_args a;
  int prc = cli_args_parse(comm, "demo", opts, argc, argv, &a);
  if (prc != CLI_OK)
    return prc == CLI_FAIL ? -2 : -1; /* -2: out of memory, exit 1 */
  int rc = cli_help_wanted(comm, &a, demo_usage, opts);
  if (rc == 0 && a.npos > 0) {
    cli_error(comm, "demo: unexpected argument '%s'", a.pos[0]);
    rc = -1;
  }
  for (int k = 0; k < a.n && rc == 0; k++) {
    const char *v = a.value[k], *name = opts[a.which[k]].name;
    int seed = a.which[k] == 1;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || end == v || x < (seed ? 0 : 1)) {
      cli_error(comm, "demo: --%s must be a %s integer, got '%s'", name,
                seed ? "non-negative" : "positive", v);
      rc = -1;
    } else if (a.which[k] == 0)
      o->n = x;
    else if (seed)
      o->seed = (unsigned long long)x;
    else
      o->block = x;
  }
  cli_args_free(&a);
  return rc;
}

/* Builds the true and the perturbed model. */
static nvmm_status make_models(nvmm_model *truth, nvmm_model *pert) {
  const double mu[3] = {0, 0, 0}, gamma[3] = {0.4, -0.3, 0.1};
  const double sigma[9] = {1, 0.3, 0.1, 0.3, 1, 0.2, 0.1, 0.2, 1};
  const double half[3] = {0.2, -0.15, 0.05};
  nvmm_sub ig, ig2;
  NVMM_CALL(nvmm_sub_make(NVMM_SUB_INVGAUSS, (double[3]){1.0, 1.5, 0}, &ig));
  NVMM_CALL(nvmm_sub_make(NVMM_SUB_INVGAUSS, (double[3]){1.0, 3.0, 0}, &ig2));
  NVMM_CALL(nvmm_model_set(truth, mu, gamma, sigma, &ig));
  return nvmm_model_set(pert, mu, half, sigma, &ig2);
}

/* Samples and scores this rank's blocks; part holds 2 sums per block of this rank. */
static nvmm_status score_blocks(const demo_opts *o, long long b0, long long b1,
                                const nvmm_model *truth, const nvmm_model *pert, double *part) {
  const size_t d = 3, bs = (size_t)o->block;
  double *x = malloc(bs * d * sizeof *x), *lf = malloc(bs * sizeof *lf), scratch[6];
  gsl_rng *rng = NULL;
  nvmm_status st = x && lf ? nvmm_rng_stream(o->seed, 0, &rng) : NVMM_ENOMEM;
  for (long long k = b0; st == NVMM_OK && k < b1; k++) {
    long long r0 = k * o->block, r1 = r0 + o->block < o->n ? r0 + o->block : o->n;
    size_t rows = (size_t)(r1 - r0);
    nvmm_rng_reseed(rng, o->seed, (uint64_t)k);
    st = nvmm_model_sample(truth, rng, rows, x, NULL);
    for (int m = 0; m < 2 && st == NVMM_OK; m++) {
      st = nvmm_model_logpdf(m ? pert : truth, rows, x, lf, scratch);
      double s = 0.0;
      for (size_t i = 0; i < rows; i++)
        s += lf[i];
      part[2 * (k - b0) + m] = s;
    }
  }
  if (rng)
    gsl_rng_free(rng);
  free(x);
  free(lf);
  return st;
}

int cli_demo(MPI_Comm comm, int argc, char **argv) {
  demo_opts o = {200000, 4096, 2026};
  int pr = parse(comm, argc, argv, &o);
  if (pr)
    return pr > 0 ? CLI_OK : pr == -2 ? CLI_FAIL : CLI_USAGE;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  double t0 = MPI_Wtime();
  long long nb = (o.n + o.block - 1) / o.block;
  long long b0 = nb * rank / size, b1 = nb * (rank + 1) / size;
  nvmm_model *truth = NULL, *pert = NULL;
  double *part = calloc((size_t)(2 * (b1 - b0) + 2), sizeof *part);
  double *all = rank == 0 ? calloc((size_t)(2 * nb), sizeof *all) : NULL;
  int *counts = rank == 0 ? calloc((size_t)size, sizeof *counts) : NULL;
  int *displs = rank == 0 ? calloc((size_t)size, sizeof *displs) : NULL;
  nvmm_status st = part && (rank || (all && counts && displs)) ? NVMM_OK : NVMM_ENOMEM;
  if (st == NVMM_OK)
    st = nvmm_model_alloc(NVMM_FAMILY_NIG, 3, &truth);
  if (st == NVMM_OK)
    st = nvmm_model_alloc(NVMM_FAMILY_NIG, 3, &pert);
  if (st == NVMM_OK)
    st = make_models(truth, pert);
  if (st == NVMM_OK)
    st = score_blocks(&o, b0, b1, truth, pert, part);
  /* Agree on failure before the collective that depends on every rank's data. */
  int bad = st != NVMM_OK, anybad;
  MPI_Allreduce(&bad, &anybad, 1, MPI_INT, MPI_MAX, comm);
  int rc = CLI_OK;
  if (anybad) {
    if (bad)
      fprintf(stderr, "nvmm: error: demo on rank %d: %s\n", rank, nvmm_last_error());
    rc = CLI_FAIL;
  } else {
    int mine = (int)(2 * (b1 - b0));
    MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm);
    if (rank == 0)
      for (int r = 1; r < size; r++)
        displs[r] = displs[r - 1] + counts[r - 1];
    MPI_Gatherv(part, mine, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, comm);
    if (rank == 0) {
      /* Block sums added in global block order: the same rounding on any rank count. */
      double s_true = 0.0, s_pert = 0.0;
      for (long long k = 0; k < nb; k++) {
        s_true += all[2 * k];
        s_pert += all[2 * k + 1];
      }
      double n = (double)o.n;
      printf("nvmm demo: NIG, d = 3, n = %lld rows on %d rank%s (blocks of %lld rows, seed "
             "%llu)\n",
             o.n, size, size > 1 ? "s" : "", o.block, o.seed);
      /* %.17g prints every bit of a double: equal text on two rank counts is equal bits. */
      printf("  mean log-likelihood, true model      : %.17g\n", s_true / n);
      printf("  mean log-likelihood, perturbed model : %.17g  (gamma halved, lambda doubled)\n",
             s_pert / n);
      printf("  true - perturbed                     : %.17g nats per row\n",
             (s_true - s_pert) / n);
      printf("  elapsed                              : %.3f s\n", MPI_Wtime() - t0);
    }
  }
  nvmm_model_free(&truth);
  nvmm_model_free(&pert);
  free(part);
  free(all);
  free(counts);
  free(displs);
  return rc;
}
