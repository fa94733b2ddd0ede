/* digamma.h: digamma(x) and the solve of digamma(alpha) - log(alpha) = target
 * (library-internal; the public nvmm_digamma_log_inverse is declared in nvmm/gig.h). */
#ifndef NVMM_DIGAMMA_H
#define NVMM_DIGAMMA_H

#include <stdbool.h>

#include "nvmm/status.h"

/* digamma(x) for x > 0 (GSL), used by the closed-form inverse-gamma posterior; NaN where GSL
 * fails. */
double nvmm__digamma(double x);

/* digamma(x) - log(x) (< 0) for x > 0, accurate in relative terms also for large x where it is
 * ~ -1/(2x): the Stirling series from x = 10, GSL below. Returns false if GSL fails. */
bool nvmm__digamma_minus_log(double x, double *g);

/* How a digamma solve ended; nvmm__digamma_log_inverse_info turns it into a message. */
typedef enum { NVMM__DG_OK, NVMM__DG_RANGE, NVMM__DG_NOCONV } nvmm__dg_result;

/* Solves digamma(alpha) - log(alpha) = target (src/numerics.md 5.3) without raising an error: the
 * GIG solve's seeds and boundary test try it and go on without it. *iters and *resid (the relative
 * residual) describe the solve; *alpha is the root only with NVMM__DG_OK. */
nvmm__dg_result nvmm__digamma_log_solve(double target, double *alpha, int *iters, double *resid);

/* The same solve with its failures raised: NVMM_EDOM (target not finite and < 0, or a shape
 * outside [1e-100, 5e99]), NVMM_ENOCONV. */
nvmm_status nvmm__digamma_log_inverse_info(double target, double *alpha, int *iters, double *resid);

#endif
