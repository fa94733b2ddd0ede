/* ref_gauss.h: the Gaussian pieces of the tests' own reference densities (test_em.c,
 * test_model.c): Sigma factored by GSL from the test's matrix, never the model's chol or logdet,
 * so a reference does not share the code it checks. */
#ifndef NVMM_REF_GAUSS_H
#define NVMM_REF_GAUSS_H

#include <math.h>
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_linalg.h>

#include "nvmm_test.h"

/* The lower Cholesky factor of a d x d row-major Sigma by GSL (the caller frees it), and
 * log|Sigma| = 2 sum log L_ii. */
static inline gsl_matrix *test_chol(size_t d, const double *sigma, double *logdet) {
  gsl_matrix *l = gsl_matrix_alloc(d, d);
  memcpy(l->data, sigma, d * d * sizeof(double));
  ck_assert_int_eq(gsl_linalg_cholesky_decomp1(l), GSL_SUCCESS);
  *logdet = 0.0;
  for (size_t i = 0; i < d; i++)
    *logdet += 2.0 * log(gsl_matrix_get(l, i, i));
  return l;
}

/* v^T Sigma^-1 v through the factor l (v is overwritten with l^-1 v). */
static inline double test_quad_form(const gsl_matrix *l, double *v) {
  gsl_vector_view vv = gsl_vector_view_array(v, l->size1);
  gsl_blas_dtrsv(CblasLower, CblasNoTrans, CblasNonUnit, l, &vv.vector);
  double q = 0.0;
  for (size_t i = 0; i < l->size1; i++)
    q += v[i] * v[i];
  return q;
}

#endif
