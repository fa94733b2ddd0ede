/* nvmm/bessel.h: the modified Bessel function of the second kind K_nu(z) in log form, its
 * order-neighbour ratios and its derivatives in the order nu, for real nu of either sign. */
#ifndef NVMM_BESSEL_H
#define NVMM_BESSEL_H

#include "nvmm/status.h"

/* log K_nu(z) with the ratios of its order neighbours, all at one (nu, z). */
typedef struct nvmm_bessel_k {
  double lnk; /* log K_nu(z) */
  double rp;  /* K_{nu+1}(z) / K_nu(z) */
  double rm;  /* K_{nu-1}(z) / K_nu(z) */
} nvmm_bessel_k;

/* log K_nu(z). Domain: nu finite, 0 < z < +inf (accurate for |nu| <= 60, 1e-300 <= z <= 1e5).
 * Not collective; allocates nothing.
 * Errors: NVMM_EDOM (z <= 0, non-finite nu or z, |nu| > 1e5: the order recurrence would not
 * end in useful time), NVMM_EINVAL (NULL output). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_bessel_lnk(double nu, double z, double *lnk);

/* log K_nu(z) and the ratios K_{nu+1}/K_nu, K_{nu-1}/K_nu in one evaluation.
 * Same domain and errors as nvmm_bessel_lnk. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_bessel_k_eval(double nu, double z, nvmm_bessel_k *out);

/* First and second derivatives in the order: d1 = d/dnu log K_nu(z), d2 = d^2/dnu^2 log K_nu(z)
 * (d2 may be NULL). Analytic, not a finite difference: d1 from the order-derivatives of the
 * series and expansions carried through the recurrence (quadrature of the integral
 * representation above |nu| = 1000), d2 by that quadrature. Same domain and errors as
 * nvmm_bessel_lnk. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_bessel_dnu(double nu, double z, double *d1, double *d2);

/* nvmm_bessel_k_eval and d1 = d/dnu log K_nu(z) in one evaluation (what a GH E-step needs per
 * row), sharing the work: the order recurrence carries the derivative along. out holds the
 * values nvmm_bessel_k_eval gives, d1 the value nvmm_bessel_dnu gives, to rounding. Same domain
 * and errors as nvmm_bessel_lnk (NVMM_EINVAL if out or d1 is NULL). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_bessel_k_eval_dnu(double nu, double z,
                                                              nvmm_bessel_k *out, double *d1);

#endif
