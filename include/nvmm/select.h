/* nvmm/select.h: model choice among fitted families: free parameters net of the scale gauge,
 * AIC and BIC, which candidate nests which, and the likelihood-ratio test of a nested pair with
 * its reference law (chi^2 in the interior, the 50:50 mixture of chi^2_{df-1} and chi^2_df for
 * one parameter on the boundary, and the naive chi^2 flagged for a limit that is no boundary
 * point; Self and Liang 1987, Case 5). Plain arithmetic: not collective, allocates nothing. */
#ifndef NVMM_SELECT_H
#define NVMM_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include "nvmm/model.h"
#include "nvmm/status.h"

/* How the smaller model sits in the bigger one. */
typedef enum nvmm_nesting {
  NVMM_NEST_NONE = 0, /* not a restriction of it (or not a direct one) */
  NVMM_NEST_INTERIOR, /* parameters fixed at interior values (gamma = 0, p = -1/2): chi^2_df */
  NVMM_NEST_BOUNDARY, /* one parameter at the boundary of its range (GIG b -> 0 for VG, a -> 0
                         for NInvG): 1/2 chi^2_{df-1} + 1/2 chi^2_df */
  NVMM_NEST_LIMIT,    /* a limit that is not even a boundary point (the Gaussian as the
                         subordinator degenerates): non-standard, the chi^2_df p-value is naive */
  NVMM_NEST_COUNT
} nvmm_nesting;

/* "none", "interior", "boundary", "limit". */
NVMM_EXTERN const char *nvmm_nesting_name(nvmm_nesting k);

/* Free parameters of a model of family f in dimension d, net of the scale gauge: mu (d), gamma
 * (d, none when symmetric or Gaussian), Sigma (d(d+1)/2) and the subordinator's parameters less
 * the one the gauge fixes (GH 2; NIG, VG, NInvG, hyp 1; Gaussian 0). symmetric is ignored for
 * the Gaussian. Errors: NVMM_EINVAL (d = 0, a family without a row in the table). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_select_n_params(nvmm_family f, size_t d, int symmetric,
                                                            int64_t *k);

/* As nvmm_select_n_params for a factor model with r factors, Sigma = F F^T + diag(D) (r = 0: the
 * dense Sigma, nvmm_select_n_params's count): the dispersion counts d r + d - r(r-1)/2 (F up to
 * a rotation of its columns, which the likelihood does not see, and D) in place of d(d+1)/2
 * (src/numerics.md 15.2). Errors: NVMM_EINVAL (as nvmm_select_n_params, r > d). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_select_n_params_factor(nvmm_family f, size_t d,
                                                                   int symmetric, size_t r,
                                                                   int64_t *k);

/* AIC = -2 loglik + 2k and BIC = -2 loglik + k log n (loglik summed over the n rows). */
NVMM_EXTERN double nvmm_select_aic(double loglik, int64_t k);
NVMM_EXTERN double nvmm_select_bic(double loglik, int64_t k, int64_t n);

/* How (small, small_symmetric) nests in (big, big_symmetric): the direct restrictions only,
 * one step of the table (a symmetric family in its skewed self, the GH's sub-families in the GH,
 * the Gaussian in every latent family); NVMM_NEST_NONE otherwise. The Gaussian's symmetric flag
 * is ignored. */
NVMM_EXTERN nvmm_nesting nvmm_select_nesting(nvmm_family big, int big_symmetric, nvmm_family small,
                                             int small_symmetric);

/* The p-value of a likelihood-ratio statistic x = 2 (LL_big - LL_small) with df restrictions:
 * interior and limit: P(chi^2_df > x); boundary: 1/2 P(chi^2_{df-1} > x) + 1/2 P(chi^2_df > x),
 * chi^2_0 the point mass at 0. x <= 0 (the smaller model fitted no worse) gives 1.
 * Errors: NVMM_EINVAL (df < 1, NVMM_NEST_NONE), NVMM_EDOM (x not finite). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_select_lr_pvalue(double x, int64_t df, nvmm_nesting k,
                                                             double *p);

/* A likelihood-ratio test of a nested pair. */
typedef struct nvmm_lr_test {
  double statistic;     /* 2 (LL_big - LL_small), total log-likelihoods */
  int64_t df;           /* free parameters of big less those of small */
  double p_value;       /* under the reference law of nesting */
  nvmm_nesting nesting; /* which reference law */
} nvmm_lr_test;

/* The test of (small, small_symmetric) with total log-likelihood ll_small against (big,
 * big_symmetric) with ll_big, both fitted to the same n rows of dimension d.
 * Errors: NVMM_EINVAL (not nested, d = 0), NVMM_EDOM (a log-likelihood not finite). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_select_lr_test(nvmm_family big, int big_symmetric,
                                                           double ll_big, nvmm_family small,
                                                           int small_symmetric, double ll_small,
                                                           size_t d, nvmm_lr_test *out);

/* A candidate of nvmm_select_lr_test_factor: family, symmetric flag, factors (0: dense Sigma) and
 * total log-likelihood. */
typedef struct nvmm_select_cand {
  nvmm_family family;
  int symmetric;
  size_t factors;
  double loglik;
} nvmm_select_cand;

/* How small nests in big among factor and dense candidates (src/numerics.md 15.2): with the same
 * dispersion (equal factors) the family nesting of nvmm_select_nesting; with the same family and
 * symmetric flag, r factors in the dense Sigma (factors 0) is NVMM_NEST_INTERIOR (the classical
 * test of r factors, chi^2 with ((d-r)^2 - (d+r))/2 df) and r1 < r2 factors is NVMM_NEST_LIMIT
 * (the r2-factor model is over-factored under the r1 one, its extra loadings unidentified: the
 * chi^2 p-value is naive); NVMM_NEST_NONE where both differ or the count does not fall (df < 1). */
NVMM_EXTERN nvmm_nesting nvmm_select_nesting_factor(const nvmm_select_cand *big,
                                                    const nvmm_select_cand *small, size_t d);

/* The likelihood-ratio test of small against big (nvmm_select_nesting_factor), df the difference
 * of nvmm_select_n_params_factor's counts. Errors: as nvmm_select_lr_test. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_select_lr_test_factor(const nvmm_select_cand *big,
                                                                  const nvmm_select_cand *small,
                                                                  size_t d, nvmm_lr_test *out);

#endif
