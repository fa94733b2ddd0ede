/* gig_fixp.h: the GIG inverse map with the order p fixed (library-internal), for families whose
 * subordinator fixes p, such as the hyperbolic one (p = (d + 1) / 2). */
#ifndef NVMM_GIG_FIXP_H
#define NVMM_GIG_FIXP_H

#include "nvmm/gig.h"
#include "nvmm/status.h"

/* The GIG(p, a, b) with E 1/Y = e_inv and E Y = e_y: the maximizer over (a, b) of
 * -(a e_y + b e_inv) / 2 - log Z(p, a, b) (E log Y does not enter with p fixed). Solves
 * R(omega) = K_{p+1} K_{p-1} / K_p^2 = e_y e_inv for omega = sqrt(ab) in [1e-100, 1e8], then
 * the scale s = sqrt(b / a). Counted fallbacks (info->fallback): e_y e_inv at or beyond the
 * omega -> 0 limit |p| / (|p| - 1) (|p| > 1) gives that limit's fit, Gamma(p, a/2) with
 * E Y = e_y for p > 0 or InverseGamma(-p, b/2) with E 1/Y = e_inv for p < 0, as a GIG with
 * sqrt(ab) = 1e-8 (info->boundary = 1); a root outside the omega range (e_y e_inv <= 1 among
 * them) gives the range's end. info (may be NULL) also gets the R evaluations (iterations) and
 * the max relative moment mismatch at (a, b) (grad_norm).
 * Errors: NVMM_EDOM (p not finite, e_inv or e_y not positive and finite, |p| beyond the Bessel
 * module's order range, a or b outside the double range), NVMM_EINVAL (a or b NULL). */
nvmm_status nvmm__gig_fixp_from_eta(double p, double e_inv, double e_y, double *a, double *b,
                                    nvmm_sub_info *info);

#endif
