/* nvmm/factor.h: factor dispersions Sigma = F F^T + diag(D) (F d x r, D > 0) and the row
 * kernels that use them in O(d r) work per row with no d x d matrix: Mahalanobis forms by
 * Woodbury, the marginal log-density, the posterior moments of Y and of the latent factor.
 * See src/numerics.md 3.4. */
#ifndef NVMM_FACTOR_H
#define NVMM_FACTOR_H

#include <stddef.h>

#include "nvmm/model.h"
#include "nvmm/mstep.h"
#include "nvmm/stats.h"
#include "nvmm/status.h"

/* A factor dispersion. Plain data owned by the struct; set it only with nvmm_factor_set. */
typedef struct nvmm_factor {
  size_t d, r;   /* dimension and number of factors, 1 <= r <= d */
  double *f;     /* loadings F, d x r row-major */
  double *dd;    /* specific variances D, d, all > 0 */
  double *dinv;  /* 1 / D, d */
  double *m;     /* M = I_r + F^T D^-1 F, r x r row-major */
  double *mchol; /* lower Cholesky factor of M, r x r row-major, upper part zero, followed by
                    an r x r scratch the library uses to validate new parameters */
  double logdet; /* log|Sigma| = log|M| + sum_j log D_j (matrix determinant lemma) */
} nvmm_factor;

/* Allocates a factor dispersion of dimension d with r factors, F = 0 and D = 1 (Sigma = I).
 * Errors: NVMM_EINVAL (d = 0, r = 0 or r > d), NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_alloc(size_t d, size_t r, nvmm_factor **out);
/* Frees fa and sets *fa = NULL; no-op on NULL. */
NVMM_EXTERN void nvmm_factor_free(nvmm_factor **fa);

/* Sets F (d x r row-major) and D (d), validates them (finite; D > 0; the message names the
 * entry) and precomputes D^-1, M, its Cholesky factor and log|Sigma|. On error fa is
 * unchanged. Errors: NVMM_EINVAL (NULL), NVMM_EDOM, NVMM_EFACTOR (M not numerically positive
 * definite). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_set(nvmm_factor *fa, const double *f,
                                                       const double *dd);

/* Copies src into dst (the same d and r). Errors: NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_copy(nvmm_factor *dst, const nvmm_factor *src);

/* Moves the dispersion along the scale orbit, Sigma -> Sigma / s: F / sqrt(s), D / s; M does not
 * change (F^T D^-1 F is invariant), log|Sigma| falls by d log s. Errors: NVMM_EINVAL,
 * NVMM_EDOM (s not positive and finite). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_rescale(nvmm_factor *fa, double s);

/* Writes the dense Sigma = F F^T + diag(D) (d x d row-major). Errors: NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_dense(const nvmm_factor *fa, double *sigma);

/* Doubles of scratch the row kernels below need: 2 (d + r). */
NVMM_EXTERN size_t nvmm_factor_scratch_len(size_t d, size_t r);

/* Marginal log-density log f(x_i) of n rows x (n x d row-major) into out (n) under the law with
 * m's family, mu, gamma and subordinator and the dispersion fa (m's own Sigma is not read). The
 * result is nvmm_model_logpdf's for Sigma = F F^T + diag(D). Allocates nothing. Errors:
 * NVMM_EINVAL (NULL, m->d != fa->d), NVMM_EDOM (a row not finite). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_logpdf(const nvmm_model *m,
                                                          const nvmm_factor *fa, size_t n,
                                                          const double *x, double *out,
                                                          double *scratch);

/* Columns of nvmm_factor_posterior's per-row output. */
enum {
  NVMM_FPOST_U = 0, /* E[1/Y | x] */
  NVMM_FPOST_V,     /* E[Y | x] */
  NVMM_FPOST_L,     /* E[log Y | x] (0 for the families whose M-step does not use it: NIG) */
  NVMM_FPOST_LOGF,  /* log f(x) */
  NVMM_FPOST_FLOOR, /* 1 where the posterior floor on b bound (src/numerics.md 4.3), else 0 */
  NVMM_FPOST_LEN
};

/* The E-step of n rows x under (m's family, mu, gamma, subordinator; fa): per row i,
 * post[i * NVMM_FPOST_LEN + k] as above, exactly the values nvmm_estep adds for that row under
 * Sigma = F F^T + diag(D). With the latent factor z, X | (y, z) ~ N(mu + gamma y + F z, y D)
 * and z | y ~ N(0, y I_r) (so X | y ~ N(mu + gamma y, y Sigma)), and c = M^-1 F^T D^-1 (x - mu),
 * c_g = M^-1 F^T D^-1 gamma, the posterior given (x, y) is z ~ N(c - y c_g, y M^-1), hence
 *   ez[i * r + k]  = E[z_k | x]   = c_k - E[Y|x] c_g,k,
 *   ezy[i * r + k] = E[z_k / Y | x] = E[1/Y|x] c_k - c_g,k,
 * (and E[z z^T / Y | x] = M^-1 + E[1/Y|x] c c^T - c c_g^T - c_g c^T + E[Y|x] c_g c_g^T,
 * which the factor M-step will form from these). ez and ezy (n x r) may be NULL. scratch holds
 * nvmm_factor_scratch_len(d, r) doubles. Allocates nothing. Errors: as nvmm_factor_logpdf, and
 * NVMM_EDOM naming the row where a moment is not finite. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_posterior(const nvmm_model *m,
                                                             const nvmm_factor *fa, size_t n,
                                                             const double *x, double *post,
                                                             double *ez, double *ezy,
                                                             double *scratch);

/* The factor E-step's statistics (src/numerics.md 5.12): plain sums over rows of what the
 * factor M-step needs, O(d r + r^2) work per row and O(d r + r^2) numbers in all (no d x d
 * block). With u = E[1/Y|x], v = E[Y|x], l = E[log Y|x], ez = E[z|x], ezy = E[z/Y|x] and
 * Ezz = E[z z^T / Y | x] (include/nvmm/factor.h, nvmm_factor_posterior), the vector holds
 *   [NVMM_ST_N .. NVMM_ST_FLOOR]  the head of nvmm/stats.h: n, sum u, sum v, sum l, sum log f(x),
 *                                 rows whose posterior floor bound
 *   at NVMM_FST_X    sum x (d)
 *   at NVMM_FST_UX   sum u x (d)
 *   at NVMM_FST_UXX  sum u x_j^2, the diagonal of sum u x x^T (d)
 *   at NVMM_FST_Z    sum ez (r)
 *   at NVMM_FST_ZY   sum ezy (r)
 *   at NVMM_FST_ZZ   sum Ezz, lower triangle packed by rows ((k, l), l <= k, at k(k+1)/2 + l)
 *                    (r(r+1)/2)
 *   at NVMM_FST_XZY  sum x ezy^T (d x r row-major)
 * 6 + 3d + 2r + r(r+1)/2 + d r numbers: nvmm_factor_stats_off(d, r, NVMM_FST_LEN). */
typedef enum nvmm_factor_stats_block {
  NVMM_FST_X = 0,
  NVMM_FST_UX,
  NVMM_FST_UXX,
  NVMM_FST_Z,
  NVMM_FST_ZY,
  NVMM_FST_ZZ,
  NVMM_FST_XZY,
  NVMM_FST_LEN /* the vector's length */
} nvmm_factor_stats_block;

/* Offset of a block of the factor statistics for dimension d and r factors (NVMM_FST_LEN: the
 * length); 0 for an unknown block. */
NVMM_EXTERN size_t nvmm_factor_stats_off(size_t d, size_t r, nvmm_factor_stats_block block);

/* Doubles of scratch nvmm_factor_estep needs: 2 (d + r) + r^2 + d (r + r1 + r2 + 1) +
 * K (2 d + r + r1 + r2 + 4) + r (r + 3) / 2, with r1 and r2 the multiples of 4 at or above
 * r + 1 and r + 2, and K = min(64, max(1, 2^17 / d)) the rows of its BLAS-3 sub-chunks. */
NVMM_EXTERN size_t nvmm_factor_estep_scratch_len(size_t d, size_t r);

/* Adds the factor statistics of the n rows x (n x d row-major) under (m's family, mu, gamma,
 * subordinator; fa) to stats (nvmm_factor_stats_off(d, r, NVMM_FST_LEN) doubles, zeroed by the
 * caller before the first block; plain double sums). The posterior moments are
 * nvmm_factor_posterior's up to rounding: the rows go K at a time (K as in
 * nvmm_factor_estep_scratch_len, counted from x's first row) through DGEMMs, so the bits depend
 * on how the caller splits the rows into calls, never on anything else. scratch holds
 * nvmm_factor_estep_scratch_len(d, r) doubles. Allocates nothing. Errors: as nvmm_factor_posterior;
 * stats may be partly updated on error. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_estep(const nvmm_model *m, const nvmm_factor *fa,
                                                         size_t n, const double *x, double *stats,
                                                         double *scratch);

/* nvmm_factor_estep of the rows standardized as the dense E-step's (nvmm_estep_block_std):
 * row i is (x_i - center) o rscale, formed K rows at a time in scratch, so that the raw rows are
 * read once; center and rscale both NULL: x is used as it is. The same bits as
 * nvmm_factor_estep on the standardized rows. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_estep_std(const nvmm_model *m,
                                                             const nvmm_factor *fa, size_t n,
                                                             const double *x, const double *center,
                                                             const double *rscale, double *stats,
                                                             double *scratch);

/* Largest d at which a factor fit keeps the dense path (its moments pass's d x d cross products
 * and the dense eigensolver for the PCA start, src/numerics.md 5.13) and nvmm fit's output keeps
 * the dense Sigma beside F and D; above it nothing of size d x d is formed. */
#define NVMM_FACTOR_DENSE_MAX_D 256

/* Floor on the specific variances of the factor M-step, relative to each column's residual
 * scale (src/numerics.md 5.12): D_j >= NVMM_FACTOR_D_FLOOR * A_j / n. */
#define NVMM_FACTOR_D_FLOOR 1e-8

/* Counters of the factor M-step: the dense M-step's (d_floor for 1 - S_inv S_y, the
 * subordinator's fallbacks, ridges and clamps; sigma_ridge unused) and the floored D_j. */
typedef struct nvmm_factor_counts {
  nvmm_mstep_counts mstep;
  long dd_floor; /* entries D_j raised to NVMM_FACTOR_D_FLOOR times their column's scale */
} nvmm_factor_counts;

/* Doubles of scratch nvmm_factor_mstep needs: d r + 3 d + 2 r^2 + r. */
NVMM_EXTERN size_t nvmm_factor_mstep_scratch_len(size_t d, size_t r);

/* The factor ECM M-step (src/numerics.md 5.12) from the statistics of nvmm_factor_estep under
 * (cur, fcur): (mu, gamma) given fcur's F in closed form (the 2 x 2 system of the dense M-step
 * with the factor's terms; gamma = 0 for the Gaussian and for opts->symmetric), then (F, D)
 * given the new (mu, gamma) (F = B S_zz^-1, D_j the expected residual, floored and counted),
 * then the subordinator from eta = (sum l, sum u, sum v) / n by the family's inverse map,
 * warm-started from cur's. Writes mu, gamma and the subordinator of next (next's Sigma and its
 * factor are not touched: the factor kernels do not read them) and sets fnext; next may alias
 * cur and fnext fcur. Nothing is written on error. opts (alpha_min, symmetric; the factorizer
 * is not used) and counts may be NULL. Errors: NVMM_EINVAL (NULL, dimensions or families that
 * differ), NVMM_EDOM (empty or non-finite statistics, a column with no residual scale),
 * NVMM_EFACTOR (S_zz or the new M not positive definite), the subordinator's inverse map's. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_factor_mstep(
    const double *stats, const nvmm_model *cur, const nvmm_factor *fcur, nvmm_model *next,
    nvmm_factor *fnext, const nvmm_mstep_opts *opts, nvmm_factor_counts *counts, double *scratch);

#endif
