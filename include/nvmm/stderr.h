/* nvmm/stderr.h: standard errors of a fitted model: per-row scores by Fisher's identity, their
 * outer product (OPG) summed in one exact pass after the fit, and the covariance in the fit's
 * gauge. See src/numerics.md 14. */
#ifndef NVMM_STDERR_H
#define NVMM_STDERR_H

#include <stddef.h>
#include <stdint.h>

#include "nvmm/fit.h"
#include "nvmm/model.h"
#include "nvmm/status.h"

/* The constraint that fixes the scale orbit's gauge (src/numerics.md 14.4). */
typedef enum nvmm_se_gauge {
  NVMM_SE_GAUGE_NONE = 0, /* no orbit: the Gaussian */
  NVMM_SE_GAUGE_LOGDET,   /* log|Sigma| fixed (det_sigma_one, det_sigma_x, and the default) */
  NVMM_SE_GAUGE_AB,       /* GH: log a - log b fixed (a_eq_b) */
  NVMM_SE_GAUGE_MU_IG,    /* NIG: mu_ig fixed (a_eq_b) */
  NVMM_SE_GAUGE_COUNT
} nvmm_se_gauge;

/* The parameter vector theta of the scores (src/numerics.md 14.1): mu (d), gamma (d; absent when
 * symmetric), the lower triangle of Sigma by rows ((i, j), j <= i), then the subordinator's
 * estimated parameters in nvmm_sub.par order. Its length, and the name of entry k ("mu[0]",
 * "gamma[1]", "sigma[1,0]", "lambda") into buf (size bytes). Not collective.
 * Errors: NVMM_EINVAL (bad family, k out of range). */
NVMM_EXTERN size_t nvmm_score_len(nvmm_family family, size_t d, int symmetric);
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_score_name(nvmm_family family, size_t d, int symmetric,
                                                       size_t k, char *buf, size_t size);

/* Whether the family estimates subordinator parameter k (0 where a family holds it fixed). */
NVMM_EXTERN int nvmm_score_sub_free(nvmm_family family, int k);

/* The per-row scores s_i = d/dtheta log f(x_i) of n rows x (n x d row-major) into scores
 * (n x nvmm_score_len row-major), by Fisher's identity from the exact posterior moments
 * (src/numerics.md 14.2-14.3). Not collective; allocates O(d^2). Errors: NVMM_EINVAL,
 * NVMM_EDOM (a row whose posterior moments are not finite), NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_score_rows(const nvmm_model *m, int symmetric, size_t n,
                                                       const double *x, double *scores);

/* The tangent of the scale orbit at m (d/ds at s = 1 of (mu, gamma/s, Sigma/s, sY)) and the
 * gradient of gauge g's constraint, both in theta's layout (src/numerics.md 14.4). The score is
 * orthogonal to the tangent. Not collective. Errors: NVMM_EINVAL (g does not apply to m's
 * family), NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_score_tangent(const nvmm_model *m, int symmetric,
                                                          double *v);
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_score_constraint(const nvmm_model *m, int symmetric,
                                                             nvmm_se_gauge g, double *c);

/* Standard errors of a fitted model, in the user's units. */
typedef struct nvmm_stderr {
  nvmm_family family;
  size_t d;
  int symmetric;      /* 1: gamma was held at 0 and has no standard error (gamma is NULL) */
  size_t npar;        /* length of theta (nvmm_score_len) */
  size_t nfree;       /* npar less the gauge's constraint: the rank of the information used */
  int64_t n;          /* rows in the pass */
  const char *method; /* "opg-fisher-identity" (src/numerics.md 14) */
  nvmm_se_gauge gauge;
  const char *gauge_name; /* "log_det_sigma", "log_a_minus_log_b", "mu_ig" or "none", with
                             " (default: ... fixes no gauge)" where the regularization fixes none */
  double *mu;             /* d standard errors */
  double *gamma;          /* d, or NULL when symmetric */
  double *sigma;          /* d x d row-major (symmetric) */
  double sub[3];          /* the subordinator's, in nvmm_sub.par order; NAN where not estimated */
  double *cov;            /* npar x npar row-major: the covariance of theta (zero rows along a
                             parameter the gauge fixes) */
  double *score;          /* npar: the summed score at the model (~0 along the free directions
                             at the MLE) */
  double elapsed;         /* seconds of the pass and the solve */
} nvmm_stderr;

/* The standard errors of the fit's current model (nvmm_fit_model's, in the user's units) by the
 * outer product of the per-row scores, summed exactly in one extra pass over the data through
 * the fit's blocks (in memory or streamed; bitwise the same on any rank count), in the fit's gauge
 * (src/numerics.md 14.4). Call after nvmm_fit_run. Collective on the fit's communicator; *out is
 * identical on every rank (free with nvmm_stderr_free). Errors: NVMM_EINVAL (a shrinkage fit: the
 * MAP's information differs; incremental EM without its batch finish; the information matrix
 * would need more than 256 MiB of accumulators), NVMM_EDOM (a row's posterior moments not
 * finite), NVMM_EFACTOR (the information is singular in the gauge), NVMM_EMPI, NVMM_ENOMEM. Every
 * rank gets the same status. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_stderr(nvmm_fit *f, nvmm_stderr **out);

/* The standard errors from a summed outer product J (npar x npar row-major) at model m, in gauge
 * g: Cov = Z (Z' J Z)^-1 Z' with Z a basis of the constraint's null space (src/numerics.md 14.4).
 * score (npar, may be NULL) is kept in the result. Not collective. Errors: NVMM_EINVAL,
 * NVMM_EFACTOR, NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_stderr_from_opg(const nvmm_model *m, int symmetric,
                                                            nvmm_se_gauge g, const double *J,
                                                            const double *score, int64_t n,
                                                            nvmm_stderr **out);

/* Frees a result; no-op on NULL; sets *se = NULL. */
NVMM_EXTERN void nvmm_stderr_free(nvmm_stderr **se);

/* Adds a group /stderr to the model file path (written by nvmm_model_write): attributes method
 * and gauge, datasets mu, gamma (unless symmetric), sigma (d x d), one per estimated subordinator
 * parameter under its natural name, cov (npar x npar) with the entries' names as attribute
 * "names". Not collective (rank 0). Errors: NVMM_EIO naming the path, NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_stderr_write(const char *path, const nvmm_stderr *se);

#endif
