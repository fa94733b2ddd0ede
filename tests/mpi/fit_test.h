/* fit_test.h: what the distributed fit's tests share: a status assertion, the known-truth models
 * of the bundled nig_5000x3 sample, rank-count-independent draws from a model, and a fit run to
 * its end. */
#ifndef NVMM_FIT_TEST_H
#define NVMM_FIT_TEST_H

#include <check.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "nvmm.h"

#define ck_assert_ok(expr)                                                                         \
  do {                                                                                             \
    nvmm_status cs_ = (expr);                                                                      \
    ck_assert_msg(cs_ == NVMM_OK, "%s -> %s: %s", #expr, nvmm_strerror(cs_), nvmm_last_error());   \
  } while (0)

static const int64_t BLOCK = 512;

/* The model of the bundled nig_5000x3 sample (ghyp NIG with E[Y] = 1). */
static inline nvmm_model *truth_model(nvmm_family fam, size_t d) {
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(fam, d, &m));
  double mu[3] = {0.25, -0.5, 1.0}, gamma[3] = {0.4, -0.3, 0.1};
  double sigma[9] = {1, 0.3, 0.1, 0.3, 1, 0.2, 0.1, 0.2, 1}, s2[4] = {1, 0.3, 0.3, 1};
  nvmm_sub sub;
  if (fam == NVMM_FAMILY_NIG)
    ck_assert_ok(nvmm_sub_make(NVMM_SUB_INVGAUSS, (double[3]){1.0, 1.5, 0}, &sub));
  else if (fam == NVMM_FAMILY_GH)
    ck_assert_ok(nvmm_sub_make(NVMM_SUB_GIG, (double[3]){-1.6, 1.2, 2.1}, &sub));
  else
    sub = (nvmm_sub){NVMM_SUB_DEGENERATE, {0, 0, 0}};
  if (fam == NVMM_FAMILY_GAUSS)
    memset(gamma, 0, sizeof gamma);
  ck_assert_ok(nvmm_model_set(m, mu, gamma, d == 3 ? sigma : s2, &sub));
  return m;
}

/* All n rows drawn from m as draw() draws them on any number of ranks (block k from stream k
 * of seed): the reference of a fit on one rank alone. */
static inline double *draw_all(const nvmm_model *m, int64_t n, uint64_t seed) {
  double *x = malloc((size_t)n * m->d * sizeof *x);
  gsl_rng *rng;
  ck_assert_ok(nvmm_rng_stream(seed, 0, &rng));
  for (int64_t r = 0; r < n; r += BLOCK) {
    int64_t rows = n - r < BLOCK ? n - r : BLOCK;
    nvmm_rng_reseed(rng, seed, (uint64_t)(r / BLOCK));
    ck_assert_ok(nvmm_model_sample(m, rng, (size_t)rows, x + (size_t)r * m->d, NULL));
  }
  gsl_rng_free(rng);
  return x;
}

/* This rank's shard of n rows drawn from m: block k from stream k of seed (rank-count
 * independent). */
static inline double *draw(const nvmm_model *m, int64_t n, uint64_t seed, int64_t *first,
                           int64_t *nloc) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  nvmm_fit_shard(n, BLOCK, rank, size, first, nloc);
  double *x = malloc((size_t)(*nloc > 0 ? *nloc : 1) * m->d * sizeof *x);
  gsl_rng *rng;
  ck_assert_ok(nvmm_rng_stream(seed, 0, &rng));
  for (int64_t r = 0; r < *nloc; r += BLOCK) {
    int64_t rows = *nloc - r < BLOCK ? *nloc - r : BLOCK;
    nvmm_rng_reseed(rng, seed, (uint64_t)((*first + r) / BLOCK));
    ck_assert_ok(nvmm_model_sample(m, rng, (size_t)rows, x + (size_t)r * m->d, NULL));
  }
  gsl_rng_free(rng);
  return x;
}

static inline nvmm_fit *fit_data(nvmm_fit_options *o, int64_t n, size_t d, int64_t first,
                                 int64_t nloc, const double *x) {
  nvmm_fit *f;
  o->block_rows = BLOCK;
  ck_assert_ok(nvmm_fit_create(MPI_COMM_WORLD, o, n, (int64_t)d, first, nloc, x, &f));
  ck_assert_ok(nvmm_fit_init(f));
  ck_assert_ok(nvmm_fit_run(f));
  return f;
}

#endif
