/* factor_test.h: what the factor-fit tests (test_factor_fit.c, test_factor_recovery.c,
 * test_factor_start.c) share: a known factor model drawn from a seed, the mean log-likelihood
 * over all ranks' rows by the dense log-density, an orthonormal basis and the largest principal
 * angle between two column spaces. */
#ifndef NVMM_FACTOR_TEST_H
#define NVMM_FACTOR_TEST_H

#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sort_vector.h>

#include "fit_test.h"
#include "nvmm.h"
#include "nvmm/factor.h"

/* A known factor model of family fam (NIG: E[Y] = 1, lambda = 1.5; GH: the subordinator of
 * truth_model) with d dimensions and r factors, drawn from stream 0 of seed: F with N(0, 1)
 * entries, D_j in [0.2, 1], mu ~ N(0, 1), gamma ~ N(0, 0.3^2); in the gauge |Sigma| = 1, the
 * fit's. */
static inline nvmm_model *factor_truth(nvmm_family fam, size_t d, size_t r, uint64_t seed) {
  gsl_rng *rng;
  ck_assert_ok(nvmm_rng_stream(seed, 0, &rng));
  double *f = malloc(d * r * sizeof *f), *dd = malloc(3 * d * sizeof *dd), *mu = dd + d,
         *g = mu + d;
  for (size_t j = 0; j < d; j++) {
    for (size_t k = 0; k < r; k++)
      f[j * r + k] = gsl_ran_gaussian(rng, 1.0);
    dd[j] = 0.2 + 0.8 * gsl_rng_uniform(rng);
    mu[j] = gsl_ran_gaussian(rng, 1.0);
    g[j] = gsl_ran_gaussian(rng, 0.3);
  }
  gsl_rng_free(rng);
  nvmm_sub sub;
  if (fam == NVMM_FAMILY_GH)
    ck_assert_ok(nvmm_sub_make(NVMM_SUB_GIG, (double[3]){-1.6, 1.2, 2.1}, &sub));
  else
    ck_assert_ok(nvmm_sub_make(NVMM_SUB_INVGAUSS, (double[3]){1.0, 1.5, 0}, &sub));
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(fam, d, &m));
  ck_assert_ok(nvmm_model_set_factor(m, mu, g, r, f, dd, &sub));
  ck_assert_ok(nvmm_model_regularize(m, NVMM_REG_DET_SIGMA_ONE, 0.0));
  free(f);
  free(dd);
  return m;
}

/* Mean log-likelihood of m over all n rows (each rank's nloc, summed), from the dense
 * log-density of m's Sigma: a reference independent of the factor kernels. */
static inline double factor_mean_ll(const nvmm_model *m, int64_t n, int64_t nloc, const double *x) {
  double *lp = malloc((size_t)(nloc > 0 ? nloc : 1) * sizeof *lp);
  double *scratch = malloc(2 * m->d * sizeof *scratch);
  ck_assert_ok(nvmm_model_logpdf(m, (size_t)nloc, x, lp, scratch));
  double loc = 0.0, all = 0.0;
  for (int64_t i = 0; i < nloc; i++)
    loc += lp[i];
  MPI_Allreduce(&loc, &all, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  free(lp);
  free(scratch);
  return all / (double)n;
}

/* Orthonormal basis of a's columns (d x r row-major) by modified Gram-Schmidt. */
static inline void factor_orthonormal(size_t d, size_t r, const double *a, double *q) {
  memcpy(q, a, d * r * sizeof *q);
  for (size_t k = 0; k < r; k++) {
    for (size_t l = 0; l < k; l++) {
      double s = 0.0;
      for (size_t j = 0; j < d; j++)
        s += q[j * r + k] * q[j * r + l];
      for (size_t j = 0; j < d; j++)
        q[j * r + k] -= s * q[j * r + l];
    }
    double s = 0.0;
    for (size_t j = 0; j < d; j++)
      s += q[j * r + k] * q[j * r + k];
    for (size_t j = 0; j < d; j++)
      q[j * r + k] /= sqrt(s);
  }
}

/* Eigenvalues of the symmetric r x r matrix g (destroyed), smallest first, into ev. */
static inline void factor_eig(size_t r, double *g, double *ev) {
  gsl_matrix_view gv = gsl_matrix_view_array(g, r, r);
  gsl_vector_view ew = gsl_vector_view_array(ev, r);
  gsl_eigen_symm_workspace *w = gsl_eigen_symm_alloc(r);
  ck_assert_int_eq(gsl_eigen_symm(&gv.matrix, &ew.vector, w), 0);
  gsl_eigen_symm_free(w);
  gsl_sort_vector(&ew.vector);
}

/* Eigenvalues of a^T b (a, b d x r row-major), smallest first, into ev (r). */
static inline void factor_cross_eig(size_t d, size_t r, const double *a, const double *b,
                                    double *ev) {
  double *g = malloc(r * r * sizeof *g);
  for (size_t k = 0; k < r; k++)
    for (size_t l = 0; l < r; l++) {
      double s = 0.0;
      for (size_t j = 0; j < d; j++)
        s += a[j * r + k] * b[j * r + l];
      g[k * r + l] = s;
    }
  factor_eig(r, g, ev);
  free(g);
}

/* The largest principal angle between the column spaces of a and b (d x r row-major): acos of
 * the smallest singular value of Qa^T Qb, from the eigenvalues of (Qa^T Qb)^T (Qa^T Qb). */
static inline double factor_largest_angle(size_t d, size_t r, const double *a, const double *b) {
  double *qa = malloc(2 * d * r * sizeof *qa), *qb = qa + d * r;
  double *c = malloc((r * r + r) * sizeof *c), *ev = c + r * r;
  factor_orthonormal(d, r, a, qa);
  factor_orthonormal(d, r, b, qb);
  for (size_t k = 0; k < r; k++)
    for (size_t l = 0; l < r; l++) {
      double s = 0.0;
      for (size_t j = 0; j < d; j++)
        s += qa[j * r + k] * qb[j * r + l];
      c[k * r + l] = s;
    }
  /* (Qa^T Qb)^T (Qa^T Qb) = C^T C, with C r x r row-major stored as a d = r "matrix". */
  factor_cross_eig(r, r, c, c, ev);
  double mn = fmin(fmax(ev[0], 0.0), 1.0);
  free(qa);
  free(c);
  return acos(sqrt(mn));
}

#endif
