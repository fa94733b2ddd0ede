/* nvmm/model.h: the six families (Gaussian, VG, NInvG, NIG, GH, hyperbolic) as one model type:
 * classical parameters, validation, the marginal log-density, the scale-gauge regularizations
 * and the moment-based initialization. See src/numerics.md 1.2, 3.2, 6 and 7.3. */
#ifndef NVMM_MODEL_H
#define NVMM_MODEL_H

#include <stddef.h>

#include "nvmm/gig.h"
#include "nvmm/status.h"

typedef enum nvmm_family {
  NVMM_FAMILY_GAUSS = 0, /* X ~ N(mu, Sigma); no subordinator, gamma = 0 */
  NVMM_FAMILY_VG,        /* Y ~ Gamma(alpha, beta) */
  NVMM_FAMILY_NINVG,     /* Y ~ InverseGamma(alpha, beta) (skew-t) */
  NVMM_FAMILY_NIG,       /* Y ~ InverseGaussian(mu_ig, lambda) */
  NVMM_FAMILY_GH,        /* Y ~ GIG(p, a, b) */
  NVMM_FAMILY_HYP,       /* hyperbolic: Y ~ GIG(p, a, b) with p = (d + 1) / 2 fixed */
  NVMM_FAMILY_COUNT
} nvmm_family;

typedef enum nvmm_regularization {
  NVMM_REG_NONE = 0,      /* identity */
  NVMM_REG_DET_SIGMA_ONE, /* |Sigma| = 1 */
  NVMM_REG_DET_SIGMA_X,   /* log|Sigma| = a given target (the initial model's) */
  NVMM_REG_A_EQ_B,        /* GH: a = b; NIG: mu_ig = 1; VG, NInvG, Gauss: identity */
  NVMM_REG_COUNT
} nvmm_regularization;

struct nvmm_factor; /* nvmm/factor.h */

/* A model. Plain data owned by the struct; copy with nvmm_model_copy. */
typedef struct nvmm_model {
  nvmm_family family;
  size_t d;                   /* dimension */
  double *mu;                 /* location, d */
  double *gamma;              /* skewness, d (all zero for the Gaussian) */
  double *sigma;              /* dispersion Sigma, d x d row-major, symmetric positive definite;
                                 NULL in a factor-only model (nvmm_model_alloc_factor) */
  double *chol;               /* lower Cholesky factor L of Sigma, d x d row-major, upper part zero,
                                 followed by a d x d scratch the library uses to validate a new
                                 Sigma; NULL in a factor-only model */
  double logdet;              /* log |Sigma| = 2 sum log L_ii */
  nvmm_sub sub;               /* subordinator (NVMM_SUB_DEGENERATE for the Gaussian) */
  struct nvmm_factor *factor; /* a factor model's F and D (nvmm/factor.h), with sigma = F F^T +
                                 diag(D) and chol its factor kept alongside for every dense
                                 consumer; NULL for a dense model. Set by
                                 nvmm_model_set_factor, dropped by nvmm_model_set. A
                                 factor-only model has this part alone (sigma = chol = NULL) */
} nvmm_model;

/* What a family is: one row of the library's family table (src/numerics.md 1.2). */
typedef struct nvmm_family_info {
  const char *name;       /* "nig": the --family value and the model file's family attribute */
  const char *title;      /* "NormalInverseGaussian" */
  const char *sub_title;  /* the subordinator's law, "InverseGaussian" ("Degenerate": Y = 1) */
  nvmm_sub_kind sub_kind; /* the subordinator kind */
  int nsub;               /* number of subordinator parameters, 0 to 3 */
  const char *sub_par[3]; /* their names in nvmm_sub.par order, as model files store them;
                             NULL past nsub */
} nvmm_family_info;

/* The family's row; NULL for a value outside the enum. */
NVMM_EXTERN const nvmm_family_info *nvmm_family_get(nvmm_family f);

/* Family name ("gauss", "vg", "ninvg", "nig", "gh", "hyp") and its inverse. */
NVMM_EXTERN const char *nvmm_family_name(nvmm_family f);
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_family_parse(const char *name, nvmm_family *f);
/* The subordinator kind a family uses. */
NVMM_EXTERN nvmm_sub_kind nvmm_family_sub_kind(nvmm_family f);
/* Regularization name ("none", "det_sigma_one", "det_sigma_x", "a_eq_b") and its inverse. */
NVMM_EXTERN const char *nvmm_regularization_name(nvmm_regularization r);
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_regularization_parse(const char *name,
                                                                 nvmm_regularization *r);

/* Allocates a model of dimension d with mu = gamma = 0, Sigma = I and the family's default
 * subordinator. Errors: NVMM_EINVAL (d = 0, bad family), NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_alloc(nvmm_family family, size_t d,
                                                        nvmm_model **out);
/* Allocates a factor-only model of dimension d with r factors (src/numerics.md 3.4): mu = gamma
 * = 0, F = 0, D = 1 (Sigma = I), the family's default subordinator, and no d x d array (sigma =
 * chol = NULL): O(d r) memory. It takes nvmm_model_set_factor, nvmm_model_copy (from another
 * factor-only model), nvmm_model_rescale, nvmm_model_regularize(_scale), nvmm_model_write and
 * the factor kernels of nvmm/factor.h on (m, m->factor) (nvmm_factor_logpdf for its
 * log-density); the functions that need the dense Sigma or its scratch (nvmm_model_set,
 * nvmm_model_init_moments, nvmm_model_moments, nvmm_model_logpdf, nvmm_model_logpdf_joint,
 * nvmm_model_sample, the dense E- and M-steps, the penalty, the scores) refuse it with
 * NVMM_EINVAL. Errors: NVMM_EINVAL (d = 0, r = 0
 * or r > d, bad family), NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_alloc_factor(nvmm_family family, size_t d,
                                                               size_t r, nvmm_model **out);
/* Frees a model and sets *m = NULL; no-op on NULL. */
NVMM_EXTERN void nvmm_model_free(nvmm_model **m);

/* Sets all parameters (gamma may be NULL for zero), validates them (finite, Sigma symmetric
 * positive definite, subordinator of the family's kind with valid parameters) and factorizes
 * Sigma. On error the model is unchanged. Errors: NVMM_EINVAL, NVMM_EDOM, NVMM_EFACTOR. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_set(nvmm_model *m, const double *mu,
                                                      const double *gamma, const double *sigma,
                                                      const nvmm_sub *sub);

/* Sets all parameters of a factor model, Sigma = F F^T + diag(D) with F (d x r row-major) and
 * D (d) (src/numerics.md 3.4): m keeps F and D in m->factor (allocated, or reallocated for
 * another r) and the dense Sigma with its Cholesky factor. Validated as nvmm_model_set and
 * nvmm_factor_set; on error the model is unchanged. O(d^2 r + d^3) work and a d x d temporary;
 * a factor-only model keeps F and D alone (O(d r^2) work, no d x d memory). Errors: NVMM_EINVAL,
 * NVMM_EDOM, NVMM_EFACTOR, NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_set_factor(nvmm_model *m, const double *mu,
                                                             const double *gamma, size_t r,
                                                             const double *f, const double *dd,
                                                             const nvmm_sub *sub);

/* Copies src into dst (same family and d, both dense or both factor-only), its factor part too
 * (dst's is allocated, reallocated or freed to match). Errors: NVMM_EINVAL, NVMM_ENOMEM (only where
 * src has a factor part that dst lacks or holds with another r). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_copy(nvmm_model *dst, const nvmm_model *src);

/* Marginal log-density log f(x_i) for n rows of x (n x d row-major) into out (n).
 * Allocates nothing (a scratch of 2d doubles is passed in). A factor-only model is refused
 * (NVMM_EINVAL): its log-density is nvmm_factor_logpdf(m, m->factor, ...), whose scratch is
 * nvmm_factor_scratch_len(d, r) = 2 (d + r) doubles. Errors: NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_logpdf(const nvmm_model *m, size_t n,
                                                         const double *x, double *out,
                                                         double *scratch);

/* Joint log-density log f(x, y) (src/numerics.md 3.3) of one row x and y > 0. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_logpdf_joint(const nvmm_model *m, const double *x,
                                                               double y, double *out,
                                                               double *scratch);

/* Moves the model along its scale orbit (mu, gamma/s, Sigma/s, sY), which leaves the law of X
 * unchanged (a factor part: F / sqrt(s), D / s). Errors: NVMM_EDOM (s <= 0 or not finite). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_rescale(nvmm_model *m, double s);

/* The scale s that nvmm_model_regularize moves m by (nvmm_model_rescale(m, s)); *apply = 0 where
 * the regularization is the identity for m (s = 1 then). Errors: as nvmm_model_regularize. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_regularize_scale(const nvmm_model *m,
                                                                   nvmm_regularization r,
                                                                   double target_logdet, double *s,
                                                                   int *apply);

/* Applies a regularization (src/numerics.md 6.2); target_logdet is used by det_sigma_x only. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_regularize(nvmm_model *m, nvmm_regularization r,
                                                             double target_logdet);

/* Moment initialization (src/numerics.md 7.3): mu = mean, Sigma = cov (no ridge), gamma = 0, and
 * the family's default subordinator scaled so E[Y] = 1. cov is d x d row-major. Errors:
 * NVMM_EFACTOR (cov singular), NVMM_EDOM (non-finite input). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_init_moments(nvmm_model *m, const double *mean,
                                                               const double *cov);

/* E[X] (d) and Cov[X] (d x d row-major) of the model. Errors: NVMM_EDOM when a moment is
 * infinite. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_moments(const nvmm_model *m, double *mean,
                                                          double *cov);

#endif
