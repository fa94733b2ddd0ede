/* estep.c: the E-step block kernel: posterior GIG of Y given each row, its moments, the
 * row's log-density, and the plain sums one reduction combines (numerics.md 2.1-2.3). */
#include "nvmm/estep.h"

#include <math.h>
#include <string.h>

#include "linalg.h"
#include "model_impl.h"
#include "nvmm/bessel.h"

size_t nvmm_stats_x(size_t d) { return NVMM_ST_HEAD; }
size_t nvmm_stats_ux(size_t d) { return NVMM_ST_HEAD + d; }
size_t nvmm_stats_uxx(size_t d) { return NVMM_ST_HEAD + 2 * d; }
size_t nvmm_stats_len(size_t d) { return NVMM_ST_HEAD + 2 * d + d * (d + 1) / 2; }

/* Posterior moments of Y ~ GIG(nu, a, b): u = E[1/Y], v = E[Y], l = E[log Y] (when need_l),
 * and the log of the GIG integral I(nu, a, b) that the row's log-density needs. */
typedef struct post {
  double u, v, l, lint;
} post;

static nvmm_status posterior(double nu, double a, double b, int need_l, post *r) {
  if (a == 0.0) {
    /* Inverse-gamma posterior (NInvG with gamma = 0): shape -nu, rate b/2, in closed form
     * rather than through a Bessel function at a vanishing argument (pitfall 12). */
    double k = -nu, rate = 0.5 * b;
    r->u = k / rate;
    r->v = k > 1.0 ? rate / (k - 1.0) : INFINITY;
    r->l = need_l ? log(rate) - nvmm__digamma(k) : 0.0;
    r->lint = lgamma(k) - k * log(rate);
    return NVMM_OK;
  }
  nvmm_bessel_k k;
  double sa = sqrt(a), sb = sqrt(b);
  NVMM_CALL(nvmm_bessel_k_eval(nu, sa * sb, &k));
  double delta = sb / sa; /* sqrt(b / a) */
  r->v = delta * k.rp;
  r->u = k.rm / delta;
  r->l = 0.0;
  if (need_l) {
    double dnu;
    NVMM_CALL(nvmm_bessel_dnu(nu, sa * sb, &dnu, NULL));
    r->l = log(delta) + dnu;
  }
  r->lint = M_LN2 + nu * log(delta) + k.lnk;
  return NVMM_OK;
}

nvmm_status nvmm_estep(const nvmm_model *m, size_t n, const double *x, double *stats,
                       double *scratch) {
  NVMM_CHECK(m && (x || n == 0) && stats && scratch, NVMM_EINVAL,
             "model, x, stats and scratch must not be NULL");
  size_t d = m->d;
  double *w = scratch, *z = scratch + d;
  nvmm__pre pre;
  NVMM_CALL(nvmm__model_pre(m, w, &pre));
  const int gauss = m->family == NVMM_FAMILY_GAUSS;
  /* NIG's M-step uses only E[1/Y] and E[Y]: skip the order derivative (architecture.md). */
  const int need_l =
      m->family == NVMM_FAMILY_GH || m->family == NVMM_FAMILY_VG || m->family == NVMM_FAMILY_NINVG;
  const double nu = pre.p - 0.5 * (double)d, a_post = pre.a + pre.w2;
  double *sx = stats + nvmm_stats_x(d), *sux = stats + nvmm_stats_ux(d);
  double *suxx = stats + nvmm_stats_uxx(d);
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    double zw, q = nvmm__model_row(m, xi, w, z, &zw);
    NVMM_CHECK(isfinite(q), NVMM_EDOM, "row %zu of the block is not finite", i);
    post r = {1.0, 1.0, 0.0, 0.0};
    double logf;
    if (gauss) {
      logf = pre.c0 - 0.5 * q;
    } else {
      double b_post = pre.b + q;
      if (b_post < NVMM_B_POST_FLOOR) {
        /* Pitfall 1: near x = mu the VG posterior has b -> 0 and E[1/Y|x] -> inf. The moments
         * use the floor; the log-density below uses the true b. Counted. */
        stats[NVMM_ST_FLOOR] += 1.0;
        NVMM_CALL(posterior(nu, a_post, NVMM_B_POST_FLOOR, need_l, &r));
        NVMM_CALL(nvmm__log_gig_integral(nu, a_post, b_post, &r.lint));
      } else {
        NVMM_CALL(posterior(nu, a_post, b_post, need_l, &r));
      }
      logf = pre.c0 + zw + r.lint - pre.lnorm;
    }
    NVMM_CHECK(isfinite(r.u) && isfinite(r.v) && isfinite(r.l) && isfinite(logf), NVMM_EDOM,
               "row %zu: non-finite E-step statistic (E[1/Y|x] = %g, E[Y|x] = %g, "
               "E[log Y|x] = %g, log f = %g)",
               i, r.u, r.v, r.l, logf);
    stats[NVMM_ST_N] += 1.0;
    stats[NVMM_ST_U] += r.u;
    stats[NVMM_ST_V] += r.v;
    stats[NVMM_ST_L] += r.l;
    stats[NVMM_ST_LOGF] += logf;
    double *row = suxx;
    for (size_t j = 0; j < d; j++) {
      double uxj = r.u * xi[j];
      sx[j] += xi[j];
      sux[j] += uxj;
      for (size_t k = 0; k <= j; k++)
        row[k] += uxj * xi[k];
      row += j + 1;
    }
  }
  return NVMM_OK;
}
