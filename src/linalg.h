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

/* Up to this dimension the E-step and the moment pass keep their sums in scalar loops rather
 * than calling BLAS: at such d the fixed costs of DTRMM and DSYRK (dispatch, packing, the first
 * touch of OpenBLAS's buffer) outweigh their d^2 multiply-adds per row (measured in estep.c). */
#define NVMM__SMALL_D 8

/* Solves L z = b in place (b -> z) for row-major lower-triangular L. */
void nvmm__trsv_lower(size_t d, const double *l, double *b);

/* Element-wise row kernels (loops over j in blocks of 4, which the compiler turns into vector
 * operations even at -O2) get an AVX2 clone beside the baseline one on x86-64, chosen once at
 * load time. AVX2 brings no FMA, so both clones do the same IEEE operations in the same order
 * for every element, and the bits do not depend on the machine. */
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define NVMM__SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef NVMM__SIMD_CLONES
#define NVMM__SIMD_CLONES
#endif

/* A prefetch hint for streams the hardware prefetcher picks up late (across 4 KiB pages). */
#if defined(__GNUC__)
#define NVMM__PREFETCH(p) __builtin_prefetch(p)
#else
#define NVMM__PREFETCH(p) ((void)(p))
#endif

#endif
