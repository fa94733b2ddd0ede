/* example.c: a program that uses the installed library, built by tests/install/install.sh
 * exactly as the README shows:
 *   cc example.c $(pkg-config --cflags --libs nvmm) -o example && mpirun -n 2 ./example
 * Every rank draws its share of 20000 rows from a known NIG model (stream k of the seed for
 * block k, so the data do not depend on the rank count), the ranks fit NIG by distributed EM
 * and rank 0 prints the result. Exit 0 when the fit converged. */
#include <gsl/gsl_rng.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include <nvmm.h>

#define CHECK(expr)                                                                                \
  do {                                                                                             \
    nvmm_status st_ = (expr);                                                                      \
    if (st_ != NVMM_OK) {                                                                          \
      fprintf(stderr, "%s: %s\n", #expr, nvmm_last_error());                                       \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                                \
    }                                                                                              \
  } while (0)

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int64_t n = 20000, d = 3, block = 4096;
  const uint64_t seed = 42;

  /* The true model: NIG with E Y = 1, shape 1.5. */
  double mu[3] = {0.0, 0.5, -0.5}, gamma[3] = {0.4, -0.3, 0.1};
  double sigma[9] = {1, 0.3, 0.1, 0.3, 1, 0.2, 0.1, 0.2, 1};
  nvmm_sub sub;
  nvmm_model *truth, *fitted;
  CHECK(nvmm_sub_make(NVMM_SUB_INVGAUSS, (double[3]){1.0, 1.5, 0.0}, &sub));
  CHECK(nvmm_model_alloc(NVMM_FAMILY_NIG, (size_t)d, &truth));
  CHECK(nvmm_model_set(truth, mu, gamma, sigma, &sub));

  /* This rank's rows: whole blocks of `block` rows. */
  int64_t first, nloc;
  nvmm_fit_shard(n, block, rank, size, &first, &nloc);
  double *x = malloc((size_t)(nloc > 0 ? nloc : 1) * (size_t)d * sizeof *x);
  gsl_rng *rng;
  CHECK(nvmm_rng_stream(seed, 0, &rng));
  for (int64_t r = 0; r < nloc; r += block) {
    int64_t rows = nloc - r < block ? nloc - r : block;
    nvmm_rng_reseed(rng, seed, (uint64_t)((first + r) / block));
    CHECK(nvmm_model_sample(truth, rng, (size_t)rows, x + r * d, NULL));
  }
  gsl_rng_free(rng);

  /* The fit, with the defaults (MLE stopping rule, SQUAREM, moment start). */
  nvmm_fit_options o;
  nvmm_fit_options_default(NVMM_FAMILY_NIG, &o);
  o.block_rows = block;
  nvmm_fit *f;
  CHECK(nvmm_fit_create(MPI_COMM_WORLD, &o, n, d, first, nloc, x, &f));
  CHECK(nvmm_fit_init(f));
  CHECK(nvmm_fit_run(f));
  CHECK(nvmm_model_alloc(NVMM_FAMILY_NIG, (size_t)d, &fitted));
  CHECK(nvmm_fit_model(f, fitted));
  nvmm_fit_summary s;
  nvmm_fit_summary_get(f, &s);
  if (rank == 0) {
    printf("nvmm %s: %s after %d iterations on %d ranks, mean log-likelihood %.6f\n", NVMM_VERSION,
           nvmm_fit_reason_name(s.reason), s.iterations, s.ranks, s.loglik);
    printf("mu %.3f %.3f %.3f (true 0 0.5 -0.5)\n", fitted->mu[0], fitted->mu[1], fitted->mu[2]);
  }
  int ok = s.reason == NVMM_FIT_CONVERGED;
  nvmm_fit_destroy(&f);
  nvmm_model_free(&truth);
  nvmm_model_free(&fitted);
  free(x);
  MPI_Finalize();
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
