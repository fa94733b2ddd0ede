/* penalty.c: the expected complete-data log-density of a model under a target's expectation
 * parameters, and its maximizer along the model's scale orbit (nvmm/penalty.h). */
#include <math.h>

#include "gig_impl.h"
#include "model_impl.h"
#include "nvmm/penalty.h"
#include "nvmm/stats.h"

/* c * e, but 0 where the model has no such term (c = 0): a Gamma has no b/y term, so the
 * target's E[1/Y] must not enter even where it is infinite (0 * inf would be NaN). */
static double term(double c, double e) { return c == 0.0 ? 0.0 : c * e; }

/* The three quadratic forms of the Gaussian part, from the Cholesky factor L of Sigma:
 *   q[0] = qbar = E[(X - mu)^T Sigma^-1 (X - mu) / Y] = tr(Sigma^-1 C),
 *          C = E[X X^T/Y] - mu E[X/Y]^T - E[X/Y] mu^T + mu mu^T E[1/Y],
 *   q[1] = (E[X] - mu)^T Sigma^-1 gamma,
 *   q[2] = gamma^T Sigma^-1 gamma.
 * C is centred before any solve, so a large mu cancels in the entries of C rather than after
 * the trace. tr(Sigma^-1 C) = tr(L^-1 C L^-T): W = L^-1 C by forward substitution in place
 * (d^3/2), then only the diagonal of L^-1 W^T (row i of W solved up to index i, d^3/6); Sigma^-1
 * is never formed. scratch: d*d + 2d. */
static void quad_terms(const nvmm_model *m, const double *eta0, double *scratch, double q[3]) {
  const size_t d = m->d;
  const double *L = m->chol, *mu = m->mu, *g = m->gamma;
  const double *ex = eta0 + nvmm_stats_x(d), *eux = eta0 + nvmm_stats_ux(d);
  const double *euxx = eta0 + nvmm_stats_uxx(d), u = eta0[NVMM_ST_U];
  double *C = scratch, *w = scratch + d * d, *z = w + d;
  for (size_t j = 0; j < d; j++)
    for (size_t k = 0; k <= j; k++)
      C[j * d + k] = C[k * d + j] =
          euxx[j * (j + 1) / 2 + k] - mu[j] * eux[k] - eux[j] * mu[k] + u * mu[j] * mu[k];
  /* Row i of W = L^-1 C needs the rows above it: row-major, the inner loop runs along rows. */
  for (size_t i = 0; i < d; i++) {
    for (size_t k = 0; k < i; k++)
      for (size_t c = 0; c < d; c++)
        C[i * d + c] -= L[i * d + k] * C[k * d + c];
    for (size_t c = 0; c < d; c++)
      C[i * d + c] /= L[i * d + i];
  }
  /* (L^-1 W^T)_ii: solve L z = (row i of W)^T for z_0..z_i. */
  double qbar = 0.0;
  for (size_t i = 0; i < d; i++) {
    for (size_t r = 0; r <= i; r++) {
      double s = C[i * d + r];
      for (size_t k = 0; k < r; k++)
        s -= L[r * d + k] * z[k];
      z[r] = s / L[r * d + r];
    }
    qbar += z[i];
  }
  /* w = L^-1 (E[X] - mu), z = L^-1 gamma. */
  for (size_t i = 0; i < d; i++) {
    double sw = ex[i] - mu[i], sz = g[i];
    for (size_t k = 0; k < i; k++) {
      sw -= L[i * d + k] * w[k];
      sz -= L[i * d + k] * z[k];
    }
    w[i] = sw / L[i * d + i];
    z[i] = sz / L[i * d + i];
  }
  double cross = 0.0, gg = 0.0;
  for (size_t i = 0; i < d; i++) {
    cross += w[i] * z[i];
    gg += z[i] * z[i];
  }
  q[0] = qbar, q[1] = cross, q[2] = gg;
}

nvmm_status nvmm_model_penalty(const nvmm_model *m, const double *eta0, double *scratch,
                               double *out) {
  NVMM_CHECK(m && eta0 && scratch && out, NVMM_EINVAL,
             "model, eta0, scratch and out must not be NULL");
  NVMM_CALL(nvmm__model_dense(m, "nvmm_model_penalty"));
  double q[3];
  quad_terms(m, eta0, scratch, q);
  const double d = (double)m->d, u = eta0[NVMM_ST_U], v = eta0[NVMM_ST_V];
  const double el = eta0[NVMM_ST_L];
  /* The Gaussian part: each term of log N(x; mu + gamma y, y Sigma) taken in expectation. */
  double val =
      -0.5 * d * (log(2.0 * M_PI) + el) - 0.5 * m->logdet - 0.5 * q[0] + q[1] - term(0.5 * q[2], v);
  if (m->sub.kind != NVMM_SUB_DEGENERATE) {
    double p, a, b, lz;
    NVMM_CALL(nvmm_sub_to_gig(&m->sub, &p, &a, &b));
    NVMM_CALL(nvmm__log_gig_integral(p, a, b, &lz));
    NVMM_CHECK(isfinite(lz), NVMM_EDOM, "the GIG(%g, %g, %g) normalizer is infinite", p, a, b);
    val += term(p - 1.0, el) - term(0.5 * a, v) - term(0.5 * b, u) - lz;
  }
  NVMM_CHECK(isfinite(val), NVMM_EDOM, "the penalty is not finite (%g)", val);
  *out = val;
  return NVMM_OK;
}

/* Along the orbit, m_s = (mu, gamma/s, Sigma/s, sY) with sY ~ GIG(p, a/s, b s)
 * (src/numerics.md 2.5), whose normalizer is Z(p, a/s, b s) = s^p Z(p, a, b) (substitute
 * y = s t). Term by term in log p(x, y | m_s):
 *   log f_sY(y):          - p log s - (b s/y)/2 - (a y/s)/2          (the rest does not move)
 *   -(1/2) log|Sigma/s|:  + (d/2) log s
 *   quadratic in x:       - s (x - mu)^T Sigma^-1 (x - mu) / (2y)
 *   cross term:           (x - mu)^T (s Sigma^-1) (gamma/s): does not move
 *   gamma term:           - (gamma/s)^T (s Sigma^-1) (gamma/s) y/2 = - gamma^T Sigma^-1 gamma
 * y/(2s) so the penalty is const + c3 log s - c1 s - c2/s with c3 = d/2 - p,  c1 = (b E[1/Y] +
 * qbar)/2,  c2 = (a + gamma^T Sigma^-1 gamma) E[Y]/2. Its derivative c3/s - c1 + c2/s^2 vanishes
 * where c1 s^2 - c3 s - c2 = 0; with c1 > 0 and c2 >= 0 that quadratic has one positive root, and
 * there the second derivative is -c1/s - c2/s^3 < 0 (use c3 = c1 s - c2/s), so it is the maximizer.
 * With r = sqrt(c3^2 + 4 c1 c2), the root is (c3 + r)/(2 c1) for c3 >= 0 and the equal 2 c2/(r -
 * c3) for c3 < 0, neither of which subtracts nearly equal numbers. c2 = 0 with c3 <= 0 puts it at s
 * = 0. */
nvmm_status nvmm_model_penalty_scale(const nvmm_model *m, const double *eta0, double *scratch,
                                     double *s) {
  NVMM_CHECK(m && eta0 && scratch && s, NVMM_EINVAL, "model, eta0, scratch and s must not be NULL");
  NVMM_CALL(nvmm__model_dense(m, "nvmm_model_penalty_scale"));
  if (m->sub.kind == NVMM_SUB_DEGENERATE) {
    *s = 1.0;
    return NVMM_OK;
  }
  double q[3], p, a, b;
  NVMM_CALL(nvmm_sub_to_gig(&m->sub, &p, &a, &b));
  quad_terms(m, eta0, scratch, q);
  const double c3 = 0.5 * (double)m->d - p;
  const double c1 = 0.5 * (term(b, eta0[NVMM_ST_U]) + q[0]);
  const double c2 = 0.5 * (a + q[2]) * eta0[NVMM_ST_V];
  NVMM_CHECK(c1 > 0.0 && isfinite(c1), NVMM_EDOM,
             "penalty scale: c1 = %g must be positive and finite (no maximizer)", c1);
  NVMM_CHECK(c2 >= 0.0 && isfinite(c2) && (c2 > 0.0 || c3 > 0.0), NVMM_EDOM,
             "penalty scale: c2 = %g, c3 = %g push the maximizer to s = 0", c2, c3);
  /* hypot: c3^2 + 4 c1 c2 without overflow. */
  const double r = hypot(c3, 2.0 * sqrt(c1) * sqrt(c2));
  const double sv = c3 >= 0.0 ? (c3 + r) / (2.0 * c1) : 2.0 * c2 / (r - c3);
  NVMM_CHECK(sv > 0.0 && isfinite(sv), NVMM_EDOM, "penalty scale: s = %g is not finite", sv);
  *s = sv;
  return NVMM_OK;
}
