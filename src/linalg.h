/* linalg.h: the dense kernels the model, the E-step, the M-step and the fit share
 * (library-internal). */
#ifndef NVMM_LINALG_H
#define NVMM_LINALG_H

#include <stddef.h>

#include "nvmm/status.h"

/* Lower Cholesky factor of the d x d row-major symmetric matrix a into l (row-major, upper part
 * zeroed; l may equal a) through LAPACK dpotrf; *logdet = log|a|. Returns NVMM_EFACTOR (a not
 * positive definite) without raising an error, so callers can decide what the failure means. */
nvmm_status nvmm__cholesky(size_t d, const double *a, double *l, double *logdet);

/* The Gram sums of the E-step and of the moments: c = beta c + Y^T Y for the rows x d
 * row-major Y, by DSYRK into the upper triangle of the column-major d x d c; and the sums'
 * layout, packed (lower triangle by rows) += that upper triangle. */
void nvmm__gram(size_t d, size_t rows, const double *y, double beta, double *c);
void nvmm__add_packed(size_t d, const double *c, double *packed);

/* Solves L z = b in place (b -> z) for row-major lower-triangular L. */
void nvmm__trsv_lower(size_t d, const double *l, double *b);

#endif
