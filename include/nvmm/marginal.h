/* nvmm/marginal.h: the univariate law of a linear combination R = w^T X of a model (a margin, a
 * portfolio): its density, CDF, quantiles and the expected shortfall of the loss -R. */
#ifndef NVMM_MARGINAL_H
#define NVMM_MARGINAL_H

#include "nvmm/gig.h"
#include "nvmm/model.h"
#include "nvmm/status.h"

/* R = mu + gamma Y + sqrt(Y s2) Z, Z ~ N(0, 1) independent of Y ~ sub: given Y = y,
 * R ~ N(mu + gamma y, s2 y). A degenerate sub (Y = 1, the Gaussian family) gives
 * R ~ N(mu + gamma, s2). Plain data. */
typedef struct nvmm_uv {
  double mu, gamma, s2;
  nvmm_sub sub;
} nvmm_uv;

/* Accuracy. The CDF, the quantile and the expected shortfall are integrals over t = log y of a
 * Gaussian kernel times the density of log Y (written around its mode, normalized in closed form
 * through the GIG integral, or by quadrature where that would cancel: a b or a Gamma shape beyond
 * ~1e3), each by GSL's adaptive Gauss-Kronrod quadrature (QAG) at relative tolerance 1e-12 on
 * the range where the integrand is within e^-45 of its peak. The smaller of P and 1 - P is always
 * the integral computed (never 1 - a number near 1), so tail probabilities keep their relative
 * accuracy:
 *   CDF:      |P - P_true| <= 1e-10 min(P_true, 1 - P_true) + 1.1e-16 (the rounding of P itself
 *             near 1); observed <= 1e-14 relative against independent quadrature of the density,
 *             down to P ~ 1e-41 (4e-13 for a GIG with a b = 1e8, where that reference itself
 *             cancels); *abserr is the quadrature's own estimate;
 *   quantile: x with |F(x) - p| <= 5e-11 min(p, 1 - p) for the computed F, so relative 1e-10 in
 *             p (or the bracket down to 4 ulp of x where the density is too steep to resolve p);
 *   ES:       relative 1e-10 (observed <= 3e-15), given the quantile it conditions on.
 * Domain: |x - mu| <= 1e140 sqrt(s2) (NVMM_EDOM beyond), so heavy-tailed laws' quantiles exist
 * down to p ~ (1e-280)^shape. log Y is clipped to [-700, 700]; the Gamma's mass below e^-700 and
 * the InverseGamma's above e^700 (shapes near 0) are added in closed form, and any other
 * non-negligible mass beyond the clip is refused with NVMM_EDOM rather than lost.
 *
 * Every function validates u (finite mu and gamma, 0 < s2 < inf, a valid sub) and returns
 * NVMM_EINVAL for a NULL argument, NVMM_EDOM for a value outside its domain. The integrals use a
 * GSL integration workspace allocated per call (NVMM_ENOMEM if that fails; one per quantile or
 * shortfall, not per integral); the Gaussian family needs none and is in closed form. */

/* The law of w^T X for the model m and the weights w (m->d values): mu = w^T mu,
 * gamma = w^T gamma, s2 = w^T Sigma w (as |L^T w|^2 from the model's Cholesky factor, or for a
 * factor model as |F^T w|^2 + sum_j w_j^2 D_j in O(d r) without reading sigma or chol, so it is
 * never negative) and m's subordinator. Errors: NVMM_EINVAL (NULL), NVMM_EDOM (w not finite,
 * or w^T Sigma w = 0: a degenerate combination). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_uv_from_model(const nvmm_model *m, const double *w,
                                                          nvmm_uv *out);

/* *p = P(R <= x) (0 at x = -inf, 1 at +inf); *abserr (may be NULL) the estimated absolute
 * error. Errors: NVMM_EDOM (x NaN). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_uv_cdf(const nvmm_uv *u, double x, double *p,
                                                   double *abserr);

/* *x with P(R <= x) = p, 0 < p < 1: bracketed from the mean and standard deviation (or, where
 * the variance is infinite, the mode of log Y) by geometrically widening steps, then safeguarded
 * Newton steps on log P(tail) with the density, falling back to bisection. Errors: NVMM_EDOM (p
 * outside (0, 1), or a quantile beyond the domain above), NVMM_ENOCONV (no convergence in 200
 * steps). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_uv_quantile(const nvmm_uv *u, double p, double *x);

/* *lf = log f_R(x), in closed form: (x - mu) gamma / s2 - log(2 pi s2) / 2 + log I(p - 1/2,
 * a + gamma^2/s2, b + (x - mu)^2/s2) - log I(p, a, b), I(nu, a, b) the integral of
 * y^(nu-1) exp(-(a y + b/y)/2) over y > 0 and (p, a, b) the GIG embedding of sub. +inf at
 * x = mu where the density has a pole (VG with shape <= 1/2). The exponent's terms grow like
 * |x - mu| |gamma| / s2 and the normalizer's like log I, so the absolute error in lf is about
 * 1e-16 times their size (1e-11 at |x - mu| ~ 1e5). Errors: NVMM_EDOM (x NaN). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_uv_logpdf(const nvmm_uv *u, double x, double *lf);

/* Value at risk and expected shortfall of the loss L = -R at level alpha (e.g. 0.99):
 * *var = -q with q = quantile(1 - alpha), and *es = E[L | L >= VaR] = VaR + E[(q - R)^+] / F(q).
 * Given Y = y, R ~ N(m, v) with m = mu + gamma y, v = s2 y, and with z = (q - m) / sqrt(v) the
 * Gaussian partial expectation E[R 1{R <= q} | y] = m Phi(z) - sqrt(v) phi(z) gives
 * E[(q - R)^+ | y] = q Phi(z) - E[R 1{R <= q} | y] = sqrt(v) (z Phi(z) + phi(z)), a positive
 * integrand, integrated over y. F(q) is the computed P(R <= q), not 1 - alpha, so the quantile's
 * error does not enter the conditioning. ES needs E|R| finite: E[sqrt(Y)] < inf always, and
 * E[Y] < inf when gamma != 0 (for the InverseGamma of shape a: a > 1/2, resp. a > 1).
 * Errors: NVMM_EDOM (alpha outside (0, 1), a moment infinite), NVMM_ENOCONV (the quantile). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_uv_var_es(const nvmm_uv *u, double alpha, double *var,
                                                      double *es);

#endif
