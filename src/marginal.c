/* marginal.c: the univariate law of w^T X (nvmm/marginal.h; src/numerics.md 9.4): closed-form
 * density, and CDF, quantile and expected shortfall as Gaussian kernels integrated over log Y. */
#include "nvmm/marginal.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_gamma.h>

#include "gig_impl.h"
#include "nvmm/factor.h"

/* The integrands' kernels: P(R <= x | y), P(R > x | y), E[(x - R)^+ | y], 1 (the normalizer). */
enum { KER_LOW, KER_UP, KER_SHORT, KER_ONE };

#define T_CLIP 700.0  /* |log y| <= 700: y, 1/y and e^{|t|/2} products stay finite */
#define LOG_DROP 45.0 /* the integrand below e^-45 ~ 3e-20 of its peak is dropped */
#define NGRID 200     /* grid points that locate the integrand's peak before refining it */
#define QUAD_REL 1e-12
#define QUAD_LIMIT 512
#define NCF 48 /* continued-fraction depth: converged to 1e-16 for z <= -4 */
#define QUANT_REL 1e-10
#define QUANT_ITER 200

/* The law with what every integral needs: the GIG embedding (p, a, b) of the subordinator, its
 * log normalizer lz = log I(p, a, b), rs = sqrt(s2), E[Y], E[Y^2] (inf where infinite), the mode
 * ts = log ym of the density of T = log Y, ca = a ym / 2, cb = b / (2 ym), and lzt, the log
 * normalizer of that density taken relative to its mode (see log_h). The Gaussian family has
 * gauss = true and none of these. */
typedef struct law {
  const nvmm_uv *u;
  bool gauss;
  double p, a, b, lz, rs, m1, m2, ym, ts, ca, cb, lzt;
  gsl_integration_workspace *ws; /* law_prepare's, for the integrals (NULL: none) */
} law;

/* One integral: kernel ker at the point x; z(t) = A e^{-t/2} - B e^{t/2} is (x - mu - gamma y)
 * / sqrt(s2 y); shift is subtracted from the log-integrand to keep it near 1. */
typedef struct integ {
  const law *l;
  int ker;
  double x, A, B, shift;
} integ;

/* The maximizer y = e^t of (p + k) t - (a e^t + b e^{-t})/2, a root of
 * a y^2 - 2 (p + k) y - b = 0 taken in the form without cancellation; inf where unbounded. */
static double mode_y(const law *l, double k) {
  double pk = l->p + k, r = sqrt(pk * pk + l->a * l->b);
  return l->a == 0.0 ? (pk < 0 ? -l->b / (2.0 * pk) : INFINITY)
         : pk >= 0.0 ? (pk + r) / l->a
                     : l->b / (r - pk);
}
static double branch_mode(const law *l, double k) {
  return fmin(fmax(log(mode_y(l, k)), -T_CLIP), T_CLIP);
}

static nvmm_status law_init(const nvmm_uv *u, law *l) {
  NVMM_CHECK(u != NULL, NVMM_EINVAL, "uv: the law is NULL");
  NVMM_CHECK(isfinite(u->mu) && isfinite(u->gamma), NVMM_EDOM,
             "uv: mu = %g and gamma = %g must be finite", u->mu, u->gamma);
  NVMM_CHECK(nvmm__pos_finite(u->s2), NVMM_EDOM, "uv: s2 = %g must be positive and finite", u->s2);
  NVMM_CALL(nvmm_sub_validate(&u->sub));
  *l = (law){.u = u, .gauss = u->sub.kind == NVMM_SUB_DEGENERATE, .rs = sqrt(u->s2)};
  if (l->gauss) {
    l->m1 = l->m2 = l->ym = 1.0;
    return NVMM_OK;
  }
  NVMM_CALL(nvmm_sub_to_gig(&u->sub, &l->p, &l->a, &l->b));
  NVMM_CALL(nvmm__log_gig_integral(l->p, l->a, l->b, &l->lz));
  NVMM_CALL(nvmm_sub_moment(&u->sub, 1.0, &l->m1));
  NVMM_CALL(nvmm_sub_moment(&u->sub, 2.0, &l->m2));
  l->ym = mode_y(l, 0.0), l->ts = log(l->ym);
  l->ca = 0.5 * l->a * l->ym, l->cb = 0.5 * l->b / l->ym;
  return NVMM_OK;
}

/* log of the density of T = log Y at t, p t - (a e^t + b e^-t)/2 - lz, written around its mode
 * ts (where p = ca - cb) as -ca (e^u - 1 - u) - cb (e^-u - 1 + u) - lzt, u = t - ts: both terms
 * are <= 0 and vanish at the mode, so a concentrated law (a b or the Gamma shape ~1e8, terms of
 * that size) loses nothing to cancellation. Zero coefficients are skipped (0 * inf). */
static double log_h(const law *l, double t) {
  double u = t - l->ts, v = -l->lzt;
  if (l->ca > 0.0)
    v -= l->ca * (expm1(u) - u);
  if (l->cb > 0.0)
    v -= l->cb * (expm1(-u) + u);
  return v;
}

/* x + 2/(x + 3/(x + 4/(...))), x >= 4: with it Q(x) = phi(x) / (x + 1/cf) (Laplace's continued
 * fraction for the Mills ratio) and x Q(x) = phi(x) - phi(x) / (1 + x cf), both free of the
 * cancellation of the direct forms in the far tail. */
static double cf_tail(double x) {
  double c = x;
  for (int k = NCF; k >= 2; k--)
    c = x + k / c;
  return c;
}

static double log_phi(double x) { return -0.5 * x * x - 0.5 * log(2.0 * M_PI); }

/* log Phi(z), relative accuracy kept for z -> -inf. */
static double log_cdf(double z) {
  if (z >= -4.0)
    return log(gsl_cdf_ugaussian_P(z));
  return log_phi(z) - log(-z + 1.0 / cf_tail(-z));
}

/* log psi(z), psi(z) = z Phi(z) + phi(z) = E[(z - Z)^+] > 0. */
static double log_psi(double z) {
  if (z >= -4.0)
    return log(z * gsl_cdf_ugaussian_P(z) + exp(log_phi(z)));
  return log_phi(z) - log1p(-z * cf_tail(-z));
}

static double log_kernel(const integ *c, double t) {
  double z = 0.0;
  if (c->A != 0.0)
    z += c->A * exp(-0.5 * t);
  if (c->B != 0.0)
    z -= c->B * exp(0.5 * t);
  switch (c->ker) {
  case KER_ONE:
    return 0.0;
  case KER_LOW:
    return log_cdf(z);
  case KER_UP:
    return log_cdf(-z);
  default:
    return log(c->l->rs) + 0.5 * t + log_psi(z);
  }
}

static double log_g(const integ *c, double t) { return log_h(c->l, t) + log_kernel(c, t); }
static double integrand(double t, void *vc) {
  const integ *c = vc;
  return exp(log_g(c, t) - c->shift);
}

/* Upper bounds of the log-kernel, linear in t: cb[i] + kb[i] t. Phi <= 1; and, since
 * psi(z) <= z^+ + phi(0), E[(x - R)^+ | y] <= |x - mu| + |gamma| y + 0.4 sqrt(s2 y), at most 3
 * times the largest term. The log-integrand is then below one of the concave branches
 * log_h + cb + kb t, whose level sets bound the range. */
static int bounds(const integ *c, double cb[3], double kb[3]) {
  if (c->ker != KER_SHORT) {
    cb[0] = kb[0] = 0.0;
    return 1;
  }
  int n = 0;
  cb[n] = log(1.2 * c->l->rs), kb[n++] = 0.5;
  if (c->x != c->l->u->mu)
    cb[n] = log(3.0 * fabs(c->x - c->l->u->mu)), kb[n++] = 0.0;
  if (c->l->u->gamma != 0.0)
    cb[n] = log(3.0 * fabs(c->l->u->gamma)), kb[n++] = 1.0;
  return n;
}

/* [*lo, *hi]: the hull of the level sets {branch >= thr} within [-T_CLIP, T_CLIP]; each branch
 * is concave, so each side is a doubling search and a bisection. */
static void hull(const integ *c, double thr, double *lo, double *hi) {
  double cb[3], kb[3];
  int n = bounds(c, cb, kb);
  *lo = INFINITY, *hi = -INFINITY;
  for (int i = 0; i < n; i++) {
    double ts = branch_mode(c->l, kb[i]);
#define BR(t) (log_h(c->l, (t)) + cb[i] + kb[i] * (t))
    if (!(BR(ts) >= thr))
      continue;
    for (int side = -1; side <= 1; side += 2) {
      double in = ts, out = ts, step = 1.0;
      for (;;) {
        out = fmin(fmax(ts + side * step, -T_CLIP), T_CLIP);
        if (BR(out) < thr || fabs(out) == T_CLIP)
          break;
        in = out, step *= 2.0;
      }
      if (BR(out) < thr)
        for (int k = 0; k < 60; k++) {
          double mid = 0.5 * (in + out);
          *(BR(mid) >= thr ? &in : &out) = mid;
        }
      *lo = fmin(*lo, fmin(in, out)), *hi = fmax(*hi, fmax(in, out));
    }
#undef BR
  }
}

/* *val = the integral of exp(log_g) over t, *err its error estimate. The peak is located on a
 * grid over a first hull and refined by golden section (the log-integrand is a concave log
 * density plus a near-concave log-kernel: one peak), the range is the hull at e^-LOG_DROP below
 * it, and QAG integrates each side of the peak. Mass beyond the clip is added in closed form
 * where it has one (see the header). */
static nvmm_status integrate(integ *c, double *val, double *err) {
  const law *l = c->l;
  c->A = (c->x - l->u->mu) / l->rs, c->B = l->u->gamma / l->rs;
  NVMM_CHECK(fabs(c->A) <= 1e140, NVMM_EDOM,
             "uv: x = %g lies beyond mu +- 1e140 sqrt(s2), the range covered", c->x);
  if (l->gauss) {
    *val = exp(log_kernel(c, 0.0)), *err = 0.0;
    return NVMM_OK;
  }
  double cb[3], kb[3], gmax = -INFINITY, tmax = 0.0, lo, hi;
  for (int i = 0, n = bounds(c, cb, kb); i < n; i++) {
    double t = branch_mode(l, kb[i]), g = log_g(c, t);
    if (g > gmax)
      gmax = g, tmax = t;
  }
  hull(c, gmax - LOG_DROP, &lo, &hi); /* gmax = -inf (underflow at the modes): the whole range */
  double dt = (hi - lo) / (NGRID - 1);
  for (int i = 0; i < NGRID; i++) {
    double t = lo + i * dt, g = log_g(c, t);
    if (g > gmax)
      gmax = g, tmax = t;
  }
  /* Golden section on the grid cell pair around the best point. */
  const double gr = 0.5 * (sqrt(5.0) - 1.0);
  double u = tmax - dt, v = tmax + dt, t1 = v - gr * (v - u), t2 = u + gr * (v - u);
  double g1 = log_g(c, t1), g2 = log_g(c, t2);
  for (int k = 0; k < 60; k++) {
    if (g1 >= g2)
      v = t2, t2 = t1, g2 = g1, t1 = v - gr * (v - u), g1 = log_g(c, t1);
    else
      u = t1, t1 = t2, g1 = g2, t2 = u + gr * (v - u), g2 = log_g(c, t2);
  }
  if (g1 > gmax)
    gmax = g1, tmax = t1;
  NVMM_CHECK(!isnan(gmax), NVMM_ESANITY, "uv: the integrand at x = %g is NaN", c->x);
  if (gmax == -INFINITY) { /* below the smallest double everywhere */
    *val = *err = 0.0;
    return NVMM_OK;
  }
  hull(c, gmax - LOG_DROP, &lo, &hi);
  lo = fmin(lo, tmax), hi = fmax(hi, tmax); /* (an empty hull: inf, -inf) */
  c->shift = gmax;
  gsl_function F = {integrand, c};
  double r[2] = {0, 0}, e[2] = {0, 0}, ends[3] = {lo, tmax, hi};
  for (int s = 0; s < 2; s++) {
    if (ends[s + 1] <= ends[s])
      continue;
    int st = gsl_integration_qag(&F, ends[s], ends[s + 1], 0.0, QUAD_REL, QUAD_LIMIT,
                                 GSL_INTEG_GAUSS31, l->ws, &r[s], &e[s]);
    NVMM_CHECK(st == GSL_SUCCESS || (isfinite(r[s]) && e[s] <= 1e-2 * QUANT_REL * r[s]),
               NVMM_ENOCONV, "uv: quadrature over log y failed at x = %g: %s", c->x,
               gsl_strerror(st));
  }
  double scale = exp(gmax);
  *val = scale * (r[0] + r[1]), *err = scale * (e[0] + e[1]) + 4.0 * DBL_EPSILON * *val;
  /* Mass m beyond the clip, where the kernel has reached its limit (to |A| e^-350 <= 1e-12): the
   * Gamma's below e^-T_CLIP, the InverseGamma's above e^T_CLIP (m = the Gamma(shape, rate beta)
   * CDF at beta e^-T_CLIP, 1/Y being Gamma for the latter); anything else beyond it that is not
   * negligible is refused. The normalizer's own quadrature (law_prepare: unnormalized, the
   * quadrature holds 1 - m of the total) is divided by 1 - m instead. */
  double ends2[2] = {lo, hi};
  for (int s = 0; s < 2; s++) {
    double t = ends2[s], bnd = -INFINITY;
    for (int i = 0, n = bounds(c, cb, kb); i < n; i++)
      bnd = fmax(bnd, log_h(l, t) + cb[i] + kb[i] * t);
    if (fabs(t) < T_CLIP || bnd < gmax - LOG_DROP)
      continue;
    nvmm_sub_kind kind = l->u->sub.kind;
    NVMM_CHECK((s == 0 && kind == NVMM_SUB_GAMMA) ||
                   (s == 1 && kind == NVMM_SUB_INVGAMMA && c->ker != KER_SHORT),
               NVMM_EDOM, "uv: the %s puts non-negligible weight beyond y = e^%c%g",
               nvmm__sub_kind_name(kind), s ? '+' : '-', T_CLIP);
    gsl_sf_result m;
    const double *q = l->u->sub.par;
    NVMM_CHECK(gsl_sf_gamma_inc_P_e(q[0], q[1] * exp(-T_CLIP), &m) == GSL_SUCCESS, NVMM_EDOM,
               "uv: incomplete gamma failed (shape %g)", q[0]);
    if (c->ker == KER_ONE)
      *val /= 1.0 - m.val, *err /= 1.0 - m.val;
    else
      *val += m.val * exp(log_kernel(c, t)), *err += m.err;
  }
  return NVMM_OK;
}

/* The smaller of P(R <= x) and P(R > x) is the one integrated; the side tried first is the
 * likelier to be it (x below the mean, or below mu + gamma ym where the mean is infinite). */
static nvmm_status cdf_impl(const law *l, double x, double *p, double *err) {
  double centre = l->u->mu + l->u->gamma * (isfinite(l->m1) ? l->m1 : l->ym), v;
  int first = x <= centre ? KER_LOW : KER_UP;
  integ c = {.l = l, .ker = first, .x = x};
  NVMM_CALL(integrate(&c, &v, err));
  if (v > 0.5) {
    c.ker = first == KER_LOW ? KER_UP : KER_LOW;
    NVMM_CALL(integrate(&c, &v, err));
    first = c.ker;
  }
  *p = first == KER_LOW ? v : 1.0 - v;
  return NVMM_OK;
}

/* Allocates the integration workspace (none for the Gaussian) and sets lzt = lz - h(ts), h the
 * unnormalized log-density of T: in closed form where its terms are small enough (|.| <= 1e3:
 * rounding <= 2e-13 relative on every integral), else by quadrature of e^{log_h} with lzt = 0,
 * since lz and h(ts) then cancel to an absolute error of eps times their size. Pair with
 * law_free, also on error. */
static nvmm_status law_prepare(law *l) {
  if (l->gauss)
    return NVMM_OK;
  NVMM_CHECK(fabs(l->ts) < T_CLIP, NVMM_EDOM, "uv: the mode of Y, %g, is out of range", l->ym);
  l->ws = gsl_integration_workspace_alloc(QUAD_LIMIT);
  NVMM_CHECK(l->ws != NULL, NVMM_ENOMEM, "uv: cannot allocate the integration workspace");
  double hts = l->p * l->ts - l->ca - l->cb, n, e;
  if (fabs(l->lz) + fabs(l->p * l->ts) + l->ca + l->cb <= 1e3) {
    l->lzt = l->lz - hts;
    return NVMM_OK;
  }
  integ c = {.l = l, .ker = KER_ONE, .x = l->u->mu};
  l->lzt = 0.0;
  NVMM_CALL(integrate(&c, &n, &e));
  l->lzt = log(n);
  return NVMM_OK;
}
static void law_free(law *l) {
  if (l->ws)
    gsl_integration_workspace_free(l->ws);
  l->ws = NULL;
}

nvmm_status nvmm_uv_from_model(const nvmm_model *m, const double *w, nvmm_uv *out) {
  NVMM_CHECK(m != NULL && w != NULL && out != NULL, NVMM_EINVAL,
             "uv_from_model: model, w and out must not be NULL");
  const size_t d = m->d;
  double mu = 0.0, g = 0.0, s2 = 0.0;
  for (size_t i = 0; i < d; i++) {
    NVMM_CHECK(isfinite(w[i]), NVMM_EDOM, "uv_from_model: w[%zu] = %g is not finite", i, w[i]);
    mu += w[i] * m->mu[i], g += w[i] * m->gamma[i];
  }
  if (m->factor) { /* |F^T w|^2 + sum w_j^2 D_j: O(d r), a sum of squares (src/numerics.md 9.4) */
    const nvmm_factor *fa = m->factor;
    NVMM_CHECK(fa->d == d, NVMM_EINVAL, "uv_from_model: model dimension %zu, factor %zu", d, fa->d);
    for (size_t k = 0; k < fa->r; k++) {
      double s = 0.0;
      for (size_t j = 0; j < d; j++)
        s += w[j] * fa->f[j * fa->r + k];
      s2 += s * s;
    }
    for (size_t j = 0; j < d; j++)
      s2 += w[j] * w[j] * fa->dd[j];
  } else {
    for (size_t j = 0; j < d; j++) { /* (L^T w)_j = sum_{i >= j} w_i L_ij */
      double s = 0.0;
      for (size_t i = j; i < d; i++)
        s += w[i] * m->chol[i * d + j];
      s2 += s * s;
    }
  }
  NVMM_CHECK(nvmm__pos_finite(s2), NVMM_EDOM, "uv_from_model: w' Sigma w = %g (w = 0?)", s2);
  *out = (nvmm_uv){.mu = mu, .gamma = g, .s2 = s2, .sub = m->sub};
  return NVMM_OK;
}

nvmm_status nvmm_uv_logpdf(const nvmm_uv *u, double x, double *lf) {
  law l;
  NVMM_CALL(law_init(u, &l));
  NVMM_CHECK(lf != NULL, NVMM_EINVAL, "uv_logpdf: lf is NULL");
  NVMM_CHECK(!isnan(x), NVMM_EDOM, "uv_logpdf: x is NaN");
  double r = x - u->mu, c = -0.5 * log(2.0 * M_PI * u->s2);
  if (isinf(x)) {
    *lf = -INFINITY;
  } else if (l.gauss) {
    *lf = c - 0.5 * (r - u->gamma) * (r - u->gamma) / u->s2;
  } else {
    double li;
    NVMM_CALL(nvmm__log_gig_integral(l.p - 0.5, l.a + u->gamma * u->gamma / u->s2,
                                     l.b + r * r / u->s2, &li));
    *lf = r * u->gamma / u->s2 + c + li - l.lz;
  }
  return NVMM_OK;
}

nvmm_status nvmm_uv_cdf(const nvmm_uv *u, double x, double *p, double *abserr) {
  law l;
  NVMM_CALL(law_init(u, &l));
  NVMM_CHECK(p != NULL, NVMM_EINVAL, "uv_cdf: p is NULL");
  NVMM_CHECK(!isnan(x), NVMM_EDOM, "uv_cdf: x is NaN");
  double e = 0.0;
  if (isinf(x)) {
    *p = x > 0 ? 1.0 : 0.0;
  } else {
    nvmm_status st = law_prepare(&l);
    if (st == NVMM_OK)
      st = cdf_impl(&l, x, p, &e);
    law_free(&l);
    NVMM_CALL(st);
  }
  if (abserr)
    *abserr = e;
  return NVMM_OK;
}

/* The quantile, solved on the side whose tail probability q = min(p, 1 - p) is integrated, so
 * that it is met to relative accuracy; *F is the computed P(R <= x). */
static nvmm_status quantile_impl(const law *l, double p, double *x, double *F) {
  const nvmm_uv *u = l->u;
  const int ker = p < 0.5 ? KER_LOW : KER_UP;
  const double q = ker == KER_LOW ? p : 1.0 - p, sg = ker == KER_LOW ? 1.0 : -1.0;
  const double zq = sg * gsl_cdf_ugaussian_Pinv(q); /* Phi^-1(p), from the small side */
  if (l->gauss) {
    *x = u->mu + u->gamma + l->rs * zq, *F = p;
    return NVMM_OK;
  }
  /* A Gaussian guess from the mean and standard deviation where they exist, else from the mode
   * of log Y; its error only costs bracketing steps. */
  double centre, w;
  if (isfinite(l->m2)) {
    centre = u->mu + u->gamma * l->m1;
    w = sqrt(u->s2 * l->m1 + u->gamma * u->gamma * fmax(l->m2 - l->m1 * l->m1, 0.0));
  } else {
    centre = u->mu + u->gamma * l->ym;
    w = l->rs * sqrt(l->ym) + fabs(u->gamma) * l->ym;
  }
  integ c = {.l = l, .ker = ker};
  double e, lo, hi, glo, ghi, x0 = centre + w * zq, g0;
  c.x = x0;
  NVMM_CALL(integrate(&c, &g0, &e));
  /* sg (G(x) - q) increases with x: widen by steps that double, then (past 2^8 of the scale: a
   * heavy tail) grow 16-fold, until it changes sign. */
  bool below = sg * (g0 - q) < 0;
  double *near = below ? &lo : &hi, *far = below ? &hi : &lo;
  double *gnear = below ? &glo : &ghi, *gfar = below ? &ghi : &glo, step = w;
  *near = x0, *gnear = g0;
  for (int i = 0;; i++) {
    NVMM_CHECK(i < QUANT_ITER && isfinite(step), NVMM_ENOCONV,
               "uv_quantile: no bracket for p = %g within %g of %g", p, step, x0);
    c.x = *far = *near + (below ? step : -step);
    NVMM_CALL(integrate(&c, gfar, &e));
    if ((sg * (*gfar - q) < 0) != below)
      break;
    *near = *far, *gnear = *gfar, step *= i < 8 ? 2.0 : 16.0;
  }
  /* Newton on log G (G is near log-linear in the tails), kept inside the bracket; a bisection
   * whenever the step leaves it or the bracket has not halved in three steps, geometric where the
   * bracket spans more than a factor 16 on one side of 0 (a power-law tail: Newton's steps on it
   * grow only logarithmically). */
  bool at_lo = fabs(log(glo / q)) < fabs(log(ghi / q));
  double xc = at_lo ? lo : hi, gc = at_lo ? glo : ghi, wref = hi - lo;
  for (int it = 0, slow = 0;; it++) {
    if (fabs(gc - q) <= 0.5 * QUANT_REL * q ||
        hi - lo <= 4.0 * DBL_EPSILON * fmax(fabs(lo), fabs(hi)))
      break;
    NVMM_CHECK(it < QUANT_ITER, NVMM_ENOCONV, "uv_quantile: p = %g not met in %d steps", p, it);
    double lf, xn;
    NVMM_CALL(nvmm_uv_logpdf(u, xc, &lf));
    xn = xc - (log(gc) - log(q)) * gc / (sg * exp(lf));
    if (!(xn > lo && xn < hi) || slow >= 3) {
      double a = fmin(fabs(lo), fabs(hi)), b = fmax(fabs(lo), fabs(hi));
      xn = lo * hi > 0.0 && b > 16.0 * a ? copysign(sqrt(a) * sqrt(b), lo) : 0.5 * (lo + hi);
      slow = 0;
    }
    c.x = xc = xn;
    NVMM_CALL(integrate(&c, &gc, &e));
    if (sg * (gc - q) < 0)
      lo = xn, glo = gc;
    else
      hi = xn, ghi = gc;
    if (hi - lo <= 0.5 * wref)
      wref = hi - lo, slow = 0;
    else
      slow++;
  }
  *x = xc, *F = ker == KER_LOW ? gc : 1.0 - gc;
  return NVMM_OK;
}

nvmm_status nvmm_uv_quantile(const nvmm_uv *u, double p, double *x) {
  law l;
  NVMM_CALL(law_init(u, &l));
  NVMM_CHECK(x != NULL, NVMM_EINVAL, "uv_quantile: x is NULL");
  NVMM_CHECK(p > 0.0 && p < 1.0, NVMM_EDOM, "uv_quantile: p = %g must lie in (0, 1)", p);
  double F;
  nvmm_status st = law_prepare(&l);
  if (st == NVMM_OK)
    st = quantile_impl(&l, p, x, &F);
  law_free(&l);
  return st;
}

nvmm_status nvmm_uv_var_es(const nvmm_uv *u, double alpha, double *var, double *es) {
  law l;
  NVMM_CALL(law_init(u, &l));
  NVMM_CHECK(var != NULL && es != NULL, NVMM_EINVAL, "uv_var_es: var and es must not be NULL");
  NVMM_CHECK(alpha > 0.0 && alpha < 1.0, NVMM_EDOM, "uv_var_es: alpha = %g must lie in (0, 1)",
             alpha);
  double mh = 1.0;
  if (!l.gauss)
    NVMM_CALL(nvmm_sub_moment(&u->sub, 0.5, &mh));
  NVMM_CHECK(isfinite(mh), NVMM_EDOM,
             "uv_var_es: E[sqrt(Y)] is infinite for this %s: E|R| and the shortfall do not exist",
             nvmm__sub_kind_name(u->sub.kind));
  NVMM_CHECK(u->gamma == 0.0 || isfinite(l.m1), NVMM_EDOM,
             "uv_var_es: E[Y] is infinite for this %s and gamma = %g: E|R| and the shortfall do "
             "not exist",
             nvmm__sub_kind_name(u->sub.kind), u->gamma);
  double q = 0.0, F = 1.0, sp = 0.0, e;
  nvmm_status st = law_prepare(&l);
  if (st == NVMM_OK)
    st = quantile_impl(&l, 1.0 - alpha, &q, &F);
  integ c = {.l = &l, .ker = KER_SHORT, .x = q};
  if (st == NVMM_OK)
    st = integrate(&c, &sp, &e);
  law_free(&l);
  NVMM_CALL(st);
  *var = -q, *es = -q + sp / F;
  return NVMM_OK;
}
