/* nvmm/penalty.h: the expected complete-data log-density of a model under a target's expectation
 * parameters (a cross-entropy penalty towards the target) and the scale on the model's orbit
 * that maximizes it. */
#ifndef NVMM_PENALTY_H
#define NVMM_PENALTY_H

#include "nvmm/model.h"
#include "nvmm/status.h"

/* *out = E_eta0[log p(X, Y | m)], the expected complete-data log-density (per row) of m under
 * the target whose expectation parameters are eta0 (the layout of nvmm/stats.h divided by the
 * row count, as nvmm_model_eta writes it: eta0[NVMM_ST_U] = E[1/Y], eta0[NVMM_ST_V] = E[Y],
 * eta0[NVMM_ST_L] = E[log Y], then E[X], E[X/Y] and E[X X^T/Y]), where
 *   log p(x, y | m) = log f_Y(y) - (d/2) log(2 pi y) - (1/2) log|Sigma|
 *                     - (x - mu)^T Sigma^-1 (x - mu) / (2y) + (x - mu)^T Sigma^-1 gamma
 *                     - gamma^T Sigma^-1 gamma y / 2
 * and log f_Y(y) = (p - 1) log y - (a y + b/y)/2 - log Z(p, a, b) for the GIG(p, a, b) embedding
 * of m->sub. The value is linear in eta0, so the penalty of a sample is that of its mean
 * statistics. For the Gaussian family (Y = 1) there is no f_Y term and eta0 must be a law with
 * Y = 1 (E[1/Y] = E[Y] = 1, E[log Y] = 0, as the E-step writes it). Where the family's E-step does
 * not use E[log Y] (NIG: nvmm_model_eta leaves it 0) the value is off by the constant
 * (p - 1 - d/2) E[log Y], which does not depend on m since p is fixed there; differences and
 * maximizers over models of that family are exact.
 * scratch holds d*d + 2d doubles. Errors: NVMM_EINVAL (NULL argument), NVMM_EDOM (an infinite
 * normalizer Z, or a non-finite result). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_penalty(const nvmm_model *m, const double *eta0,
                                                          double *scratch, double *out);

/* *s = the s > 0 that maximizes nvmm_model_penalty of nvmm_model_rescale(m, s), the model moved
 * along its scale orbit (mu, gamma/s, Sigma/s, sY) (the law of X does not change, that of
 * (X, Y) does). The penalty along the orbit is const + c3 log s - c1 s - c2/s, strictly concave
 * in s at its one stationary point, found in closed form. *s = 1 for the Gaussian family (no
 * orbit). scratch holds d*d + 2d doubles. Errors: NVMM_EINVAL (NULL argument), NVMM_EDOM (no
 * finite positive maximizer: eta0 gives no curvature on the s side, or pushes s to 0). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_penalty_scale(const nvmm_model *m,
                                                                const double *eta0, double *scratch,
                                                                double *s);

#endif
