/* nvmm/estep.h: the sufficient-statistic vector, the E-step block kernel and the M-step.
 * Statistics are plain sums over rows, so the ranks combine them with one reduction.
 * See numerics.md sections 2 and 3. */
#ifndef NVMM_ESTEP_H
#define NVMM_ESTEP_H

#include <stddef.h>

#include "nvmm/model.h"
#include "nvmm/status.h"

/* Layout of the statistics vector for dimension d (all entries are sums over rows):
 *   [NVMM_ST_N]     number of rows
 *   [NVMM_ST_U]     sum u_i = E[1/Y | x_i]
 *   [NVMM_ST_V]     sum v_i = E[Y | x_i]
 *   [NVMM_ST_L]     sum l_i = E[log Y | x_i] (0 for families that do not need it)
 *   [NVMM_ST_LOGF]  sum log f(x_i) under the model the E-step used
 *   [NVMM_ST_FLOOR] rows whose posterior b hit the B_POST floor (counted, numerics.md 2.1)
 *   then sum x_i (d), sum u_i x_i (d), sum u_i x_i x_i^T (lower triangle packed by rows,
 *   d(d+1)/2: entry (j, k), k <= j, at j(j+1)/2 + k). */
enum {
  NVMM_ST_N = 0,
  NVMM_ST_U,
  NVMM_ST_V,
  NVMM_ST_L,
  NVMM_ST_LOGF,
  NVMM_ST_FLOOR,
  NVMM_ST_HEAD /* number of scalar entries before the vectors */
};

/* Length of the statistics vector for dimension d. */
NVMM_EXTERN size_t nvmm_stats_len(size_t d);
/* Offsets of the vector blocks. */
NVMM_EXTERN size_t nvmm_stats_x(size_t d);
NVMM_EXTERN size_t nvmm_stats_ux(size_t d);
NVMM_EXTERN size_t nvmm_stats_uxx(size_t d);

/* Floor on the posterior b (numerics.md 2.1, pitfall 1): it binds only for VG near x = mu. */
#define NVMM_B_POST_FLOOR 1e-6

/* Adds the statistics of n rows x (n x d row-major) under model m to stats (len
 * nvmm_stats_len(d); the caller zeroes it once). scratch holds 2d doubles. Allocates nothing.
 * Errors: NVMM_EINVAL; NVMM_EDOM when a row gives a non-finite statistic (message names the
 * row index within the block). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_estep(const nvmm_model *m, size_t n, const double *x,
                                                  double *stats, double *scratch);

/* A workspace for nvmm_estep_block (allocated once per fit; never per iteration). */
typedef struct nvmm_estep_ws nvmm_estep_ws;
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_estep_ws_alloc(size_t d, nvmm_estep_ws **out);
NVMM_EXTERN void nvmm_estep_ws_free(nvmm_estep_ws **ws);

/* The same sums as nvmm_estep, computed by chunks of rows with BLAS-3: Z = L^-1 (X - mu) by one
 * triangular multiply with the cached inverse per chunk and the weighted Gram sum u x x^T by
 * DSYRK on sqrt(u)-scaled rows (for d <= 5, a register kernel row by row). nvmm_estep is the
 * row-by-row reference it is tested against. Allocates nothing. Errors: as nvmm_estep. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_estep_block(const nvmm_model *m, nvmm_estep_ws *ws,
                                                        size_t n, const double *x, double *stats);

/* nvmm_estep_block of the standardized rows (x_ij - center_j) * rscale_j, computed on the fly
 * (the hot path of a fit: the data are read once per pass, with no standardized copy). The
 * result is bitwise that of nvmm_estep_block on a copy standardized by the same expression.
 * center and rscale hold d values each; NULL for both means no standardization. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_estep_block_std(const nvmm_model *m, nvmm_estep_ws *ws,
                                                            size_t n, const double *x,
                                                            const double *center,
                                                            const double *rscale, double *stats);

/* Counters of every floor, clamp and fallback the M-step applied. */
typedef struct nvmm_mstep_counts {
  long d_floor;      /* times D = 1 - S_inv S_y was floored to -1e-10 (pitfall 3) */
  long sigma_ridge;  /* times Sigma needed a relative ridge to factorize (A.2) */
  long gig_fallback; /* GIG solves without an interior solution: the Gamma or InverseGamma
                      * limit's fit taken (eta beyond it), or the previous GIG kept (pitfall 8) */
  long gig_ridge;    /* GIG Newton steps whose Hessian needed an eigenvalue floor */
  long alpha_clamp;  /* times the VG shape was raised to alpha_min */
} nvmm_mstep_counts;

/* Options of the M-step. */
/* A Cholesky factorization of the d x d row-major a into the row-major lower l with
 * *logdet = log|a|; returns NVMM_EFACTOR (not positive definite) without raising an error.
 * A collective factorizer (ScaLAPACK) must then be called by every rank alike. */
typedef nvmm_status nvmm_factor_fn(void *ctx, size_t d, const double *a, double *l, double *logdet);

typedef struct nvmm_mstep_opts {
  double alpha_min;       /* lower bound on the VG shape alpha (0: none; numerics.md 4.5) */
  nvmm_factor_fn *factor; /* Sigma's factorizer; NULL for LAPACK on this rank */
  void *factor_ctx;       /* its context */
} nvmm_mstep_opts;

/* Full M-step (numerics.md 3.1-3.6): the Gaussian block in closed form and the subordinator
 * from its expectation parameters; cur is the current model (warm start, fallback); next
 * receives the new model (may alias cur). counts may be NULL; opts may be NULL (defaults).
 * scratch holds d*d + 2d doubles. Errors: NVMM_EDOM (empty or non-finite statistics),
 * NVMM_EFACTOR (Sigma not positive definite even after the counted ridge). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_mstep(const double *stats, const nvmm_model *cur,
                                                  nvmm_model *next, const nvmm_mstep_opts *opts,
                                                  nvmm_mstep_counts *counts, double *scratch);

/* The two halves of the M-step (used by MCECM): the Gaussian block only, keeping the
 * subordinator; and the subordinator only, keeping mu, gamma and Sigma. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_mstep_normal(const double *stats, const nvmm_model *cur,
                                                         nvmm_model *next,
                                                         const nvmm_mstep_opts *opts,
                                                         nvmm_mstep_counts *counts,
                                                         double *scratch);
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_mstep_sub(const double *stats, const nvmm_model *cur,
                                                      nvmm_model *next, const nvmm_mstep_opts *opts,
                                                      nvmm_mstep_counts *counts);

#endif
