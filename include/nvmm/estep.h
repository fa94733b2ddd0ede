/* nvmm/estep.h: the E-step kernels: each adds the statistics (nvmm/stats.h) of a block of rows
 * under a model. See src/numerics.md 4. */
#ifndef NVMM_ESTEP_H
#define NVMM_ESTEP_H

#include <stddef.h>

#include "nvmm/model.h"
#include "nvmm/stats.h"
#include "nvmm/status.h"

/* Floor on the posterior b (src/numerics.md 4.3, 12.1): it binds only for VG near x = mu. */
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

#endif
