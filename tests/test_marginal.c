/* test_marginal.c: the univariate laws of w^T X (nvmm/marginal.h) against independent references:
 * the Gaussian's erfc and inverse CDF closed forms; NIG's closed-form density in the (alpha,
 * beta, delta, mu) parametrization (GSL's K_1) and VG's, NInvG's and GH's densities written here
 * from their formulas (GSL's K_nu and log-gamma), integrated over x by GSL quadrature for the CDF
 * and the shortfall; quantile round trips; the portfolio's parameters by hand; bad input. */
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_gamma.h>

#include "nvmm_test.h"

/* The CDF and shortfall references are quadratures of a density at relative 1e-13 whose Bessel
 * functions are good to ~1e-15. Observed: <= 1e-14 relative (CDF, on the smaller of P and 1 - P)
 * and <= 3e-15 (ES), 4e-13 for the concentrated GIG, whose reference density cancels terms of
 * 1e4. 1e-11 keeps 25 times that headroom and still fails well inside the header's promise
 * (1e-10). A quantile is met to 5e-11 relative in p (its stopping rule), so its round trips are
 * held to the promise itself. */
#define TOL_P 1e-11
#define TOL_ES 1e-11
#define TOL_Q 1e-10

/* A law as the test knows it: the subordinator's kind and classical parameters, mu, gamma, s2. */
typedef struct tlaw {
  nvmm_sub_kind kind;
  double par[3], mu, gamma, s2;
} tlaw;

static const tlaw laws[] = {
    {NVMM_SUB_GAMMA, {3.1, 1.9, 0}, 0.3, 0.43, 0.64},
    {NVMM_SUB_GAMMA, {0.7, 0.6, 0}, -0.2, -0.31, 0.9}, /* cusp at mu: x^(2 alpha - 1) */
    {NVMM_SUB_INVGAMMA, {3.5, 2.2, 0}, 0.3, 0.43, 0.64},
    {NVMM_SUB_INVGAMMA, {1.2, 0.9, 0}, -0.15, -0.31, 0.9}, /* Var Y infinite */
    {NVMM_SUB_INVGAMMA, {0.8, 0.6, 0}, 0.1, 0.0, 1.0},     /* E Y infinite, E sqrt(Y) finite */
    {NVMM_SUB_INVGAUSS, {1.3, 1.7, 0}, 0.3, 0.43, 0.64},
    {NVMM_SUB_INVGAUSS, {0.8, 0.25, 0}, 0.0, -0.6, 1.3},
    {NVMM_SUB_GIG, {-1.7, 1.3, 2.4}, 0.3, 0.43, 0.64},
    {NVMM_SUB_GIG, {2.3, 0.4, 0.05}, -0.4, 0.25, 0.5},
    /* Concentrated: the density of log Y normalized by quadrature (|log I| > 1e3). */
    {NVMM_SUB_GIG, {0.5, 1e4, 1e4}, 0.1, -0.3, 0.7},
};
#define NLAWS (sizeof laws / sizeof *laws)

static nvmm_uv uv_of(const tlaw *t) {
  nvmm_uv u = {t->mu, t->gamma, t->s2, {t->kind, {t->par[0], t->par[1], t->par[2]}}};
  return u;
}

/* log of the integral of y^(nu-1) exp(-(a y + b/y)/2) over y > 0 plus *z: Gamma (b = 0) and
 * InverseGamma (a = 0) forms with *z = 0, else 2 (b/a)^(nu/2) K_nu(z), z = sqrt(ab), by GSL's
 * scaled K (K is even in nu; its log where e^z K_nu(z) could overflow), so that the caller
 * combines -z with the other exponent before they cancel in the far tails. */
static double t_logint(double nu, double a, double b, double *z) {
  *z = 0.0;
  if (b == 0.0)
    return lgamma(nu) - nu * log(0.5 * a);
  if (a == 0.0)
    return lgamma(-nu) + nu * log(0.5 * b);
  gsl_sf_result r;
  *z = sqrt(a) * sqrt(b);
  if (fabs(nu) > *z) { /* e^z K_nu(z) may overflow; log K_nu is not near -z here */
    ck_assert_int_eq(gsl_sf_bessel_lnKnu_e(fabs(nu), *z, &r), GSL_SUCCESS);
    r.val += *z;
  } else {
    ck_assert_int_eq(gsl_sf_bessel_Knu_scaled_e(fabs(nu), *z, &r), GSL_SUCCESS);
    r.val = log(r.val);
  }
  return M_LN2 + 0.5 * nu * (log(b) - log(a)) + r.val;
}

/* log f_R(x) = the integral over y of N(x; mu + gamma y, s2 y) f_Y(y): expanding the square,
 * e^{(x-mu) gamma/s2} / sqrt(2 pi s2) times a GIG integral with p - 1/2, a1 = a + gamma^2/s2 and
 * b1 = b + (x-mu)^2/s2, over the subordinator's normalizer (its GIG embedding written here).
 * Where e = (x-mu) gamma/s2 > 0 the exponent e - sqrt(a1 b1) is taken as
 * -(ab + a (x-mu)^2/s2 + b gamma^2/s2) / (e + sqrt(a1 b1)): the two terms are ~|x| and cancel. */
static double t_logpdf(double x, const tlaw *t) {
  const double *q = t->par;
  double p = q[0], a = q[1], b = q[2], r = x - t->mu, g = t->gamma, s2 = t->s2, z0, z1;
  if (t->kind == NVMM_SUB_GAMMA)
    p = q[0], a = 2.0 * q[1], b = 0.0;
  else if (t->kind == NVMM_SUB_INVGAMMA)
    p = -q[0], a = 0.0, b = 2.0 * q[1];
  else if (t->kind == NVMM_SUB_INVGAUSS)
    p = -0.5, a = q[1] / (q[0] * q[0]), b = q[1];
  double l1 = t_logint(p - 0.5, a + g * g / s2, b + r * r / s2, &z1), l0 = t_logint(p, a, b, &z0);
  double e = r * g / s2;
  e = e > 0.0 && z1 > 0.0 ? -(a * b + a * r * r / s2 + b * g * g / s2) / (e + z1) : e - z1;
  return e - 0.5 * log(2.0 * M_PI * s2) + l1 - l0 + z0;
}

/* NIG(alpha, beta, delta, mu): R = mu + gamma Y + sqrt(s2 Y) Z with Y ~ IG(m, lambda) is
 * mu + beta Y' + sqrt(Y') Z with Y' = s2 Y ~ IG(s2 m, s2 lambda); NIG's mixing law is
 * IG(delta / sqrt(alpha^2 - beta^2), delta^2), so beta = gamma/s2, delta = sqrt(s2 lambda) and
 * alpha^2 = beta^2 + lambda / (s2 m^2). The density (K_1 scaled: e^-z K_1(z) stays finite)
 * f(x) = alpha delta K_1(alpha q) / (pi q) exp(delta sqrt(alpha^2 - beta^2) + beta (x - mu)),
 * q = sqrt(delta^2 + (x - mu)^2); beta r - alpha q = -(alpha^2 delta^2 + (alpha^2 - beta^2) r^2)
 * / (beta r + alpha q) where beta r > 0 (the terms cancel in the far tail). */
static double nig_logpdf(double x, const tlaw *t) {
  double m = t->par[0], lam = t->par[1], be = t->gamma / t->s2, de = sqrt(t->s2 * lam);
  double al = sqrt(be * be + lam / (t->s2 * m * m)), r = x - t->mu, q = hypot(de, r);
  double e = be * r > 0.0 ? -(al * al * de * de + (al * al - be * be) * r * r) / (be * r + al * q)
                          : be * r - al * q;
  return log(al * de / (M_PI * q)) + log(gsl_sf_bessel_K1_scaled(al * q)) + e +
         de * sqrt(al * al - be * be);
}

typedef double logdens(double x, const tlaw *t);
typedef struct rctx {
  const tlaw *t;
  logdens *f;
  int moment;     /* integrate x f(x) instead of f(x) */
  double m, side; /* x = m + side e^s */
} rctx;
static double r_integrand(double s, void *vp) {
  const rctx *c = vp;
  double x = c->m + c->side * exp(s);
  if (!(fabs(x - c->t->mu) < 1e150)) /* f(x) |x| is below 1e-90 there for every law here */
    return 0.0;
  double v = exp(c->f(x, c->t) + s);
  return c->moment ? x * v : v;
}
static double r_integrand_x(double x, void *vp) {
  const rctx *c = vp;
  double v = exp(c->f(x, c->t));
  return c->moment ? x * v : v;
}
static void r_status(int st) {
  ck_assert_msg(st == GSL_SUCCESS || st == GSL_EROUND, "reference: %s", gsl_strerror(st));
}

/* The integral of f (or x f) over (-inf, x] or [x, inf). The tail beyond m (x or mu, whichever is
 * further out) is integrated over s = log |x' - m|, which turns the power-law tails of NInvG
 * (x f(x) ~ |x|^-1.2 for shape 1.2: QAGIL's own map leaves an endpoint singularity it meets only
 * to ~1e-9) into exponential ones; the piece between x and mu, where VG's density has its cusp,
 * directly. All at relative 1e-13. */
static double ref_tail(const tlaw *t, logdens *f, double x, int upper, int moment) {
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(2000);
  rctx c = {t, f, moment, upper ? fmax(x, t->mu) : fmin(x, t->mu), upper ? 1.0 : -1.0};
  gsl_function F = {r_integrand, &c}, Fx = {r_integrand_x, &c};
  double res, r, e;
  r_status(gsl_integration_qagil(&F, 0.0, 0.0, 1e-13, 2000, w, &res, &e));
  r_status(gsl_integration_qagiu(&F, 0.0, 0.0, 1e-13, 2000, w, &r, &e));
  res += r;
  if (upper ? x < t->mu : x > t->mu) {
    r_status(
        gsl_integration_qags(&Fx, fmin(x, t->mu), fmax(x, t->mu), 0.0, 1e-13, 2000, w, &r, &e));
    res += r;
  }
  gsl_integration_workspace_free(w);
  return res;
}

/* |P - ref| within tol of the smaller of ref and 1 - ref, plus the rounding of P itself. */
static void check_p(double P, double ref, double tol, const char *what, double x) {
  double err = fabs(P - ref), bound = tol * fmin(ref, 1.0 - ref) + DBL_EPSILON;
  ck_assert_msg(err <= bound, "%s at x = %.17g: P = %.17g, ref %.17g (err %.3g > %.3g)", what, x, P,
                ref, err, bound);
}

/* The smaller-side reference CDF: P(R <= x), from whichever tail is smaller. */
static double ref_cdf(const tlaw *t, logdens *f, double x) {
  double lo = ref_tail(t, f, x, 0, 0);
  return lo <= 0.5 ? lo : 1.0 - ref_tail(t, f, x, 1, 0);
}

START_TEST(test_gauss) {
  const double mu = 0.3, g = 0.2, s = 0.8, m = mu + g; /* Y = 1: R ~ N(mu + gamma, s2) */
  nvmm_uv u = {mu, g, s * s, {NVMM_SUB_DEGENERATE, {0, 0, 0}}};
  const double ks[] = {-30.0, -5.0, -1.0, 0.0, 1.5, 5.0, 30.0};
  for (size_t i = 0; i < sizeof ks / sizeof *ks; i++) {
    double x = m + s * ks[i], P, e, lf;
    ck_assert_ok(nvmm_uv_cdf(&u, x, &P, &e));
    check_p(P, 0.5 * erfc(-ks[i] / M_SQRT2), NVMM_TEST_TOL2, "gauss cdf", x);
    ck_assert_ok(nvmm_uv_logpdf(&u, x, &lf));
    ck_assert_close(lf, -0.5 * ks[i] * ks[i] - log(s * sqrt(2.0 * M_PI)), NVMM_TEST_TOL1);
  }
  const double ps[] = {1e-300, 1e-6, 0.01, 0.5, 0.99, 1.0 - 1e-6};
  for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
    double x;
    ck_assert_ok(nvmm_uv_quantile(&u, ps[i], &x));
    ck_assert_close(x, m + gsl_cdf_gaussian_Pinv(ps[i], s), NVMM_TEST_TOL2);
  }
  /* L = -R ~ N(-m, s2): VaR = -m + s z, ES = -m + s phi(z) / (1 - alpha), z = Phi^-1(alpha). */
  const double al[] = {0.3, 0.95, 0.99, 1.0 - 1e-9};
  for (size_t i = 0; i < sizeof al / sizeof *al; i++) {
    double var, es, z = gsl_cdf_ugaussian_Pinv(al[i]);
    ck_assert_ok(nvmm_uv_var_es(&u, al[i], &var, &es));
    ck_assert_close(var, -m + s * z, NVMM_TEST_TOL2);
    ck_assert_close(es, -m + s * exp(-0.5 * z * z) / sqrt(2.0 * M_PI) / (1.0 - al[i]),
                    NVMM_TEST_TOL3);
  }
}
END_TEST

/* NIG: the library's log-density against the closed form (checks the parameter mapping too), then
 * the CDF and shortfall against quadrature of that closed form. */
START_TEST(test_nig_closed_form) {
  for (size_t i = 0; i < NLAWS; i++) {
    if (laws[i].kind != NVMM_SUB_INVGAUSS)
      continue;
    const tlaw *t = &laws[i];
    nvmm_uv u = uv_of(t);
    for (double x = -12.0; x <= 12.0; x += 0.75) {
      double lf, P, e;
      ck_assert_ok(nvmm_uv_logpdf(&u, x, &lf));
      ck_assert_close(lf, nig_logpdf(x, t), 1e-13); /* two Bessel K_1 codes, ~1e-15 each */
      ck_assert_ok(nvmm_uv_cdf(&u, x, &P, &e));
      check_p(P, ref_cdf(t, nig_logpdf, x), TOL_P, "nig cdf", x);
    }
    const double al[] = {0.3, 0.95, 0.99, 0.9999};
    for (size_t k = 0; k < sizeof al / sizeof *al; k++) {
      double var, es;
      ck_assert_ok(nvmm_uv_var_es(&u, al[k], &var, &es));
      double ref = -ref_tail(t, nig_logpdf, -var, 0, 1) / ref_tail(t, nig_logpdf, -var, 0, 0);
      ck_assert_rel(es, ref, TOL_ES);
    }
  }
}
END_TEST

/* Every mixing law: the CDF against quadrature of the density written above over a range of x
 * from the far left tail to the far right, the quantile by round trips through the reference
 * CDF, the shortfall against quadrature of x f(x) over the tail below the library's quantile. */
START_TEST(test_mixtures) {
  for (size_t i = 0; i < NLAWS; i++) {
    const tlaw *t = &laws[i];
    nvmm_uv u = uv_of(t);
    const double sc = sqrt(t->s2) + fabs(t->gamma);
    const double ks[] = {-25.0, -6.0, -2.0, -0.5, 0.0, 0.7, 3.0, 8.0, 25.0};
    for (size_t k = 0; k < sizeof ks / sizeof *ks; k++) {
      double x = t->mu + ks[k] * sc, P, e, lf;
      ck_assert_ok(nvmm_uv_logpdf(&u, x, &lf));
      /* Both sides cancel terms of size sqrt(ab) (the GIG's, 1e4 for the concentrated law) and
       * |x - mu| |gamma| / s2 to an O(1) log-density: 1e-15 of those, and 1e-12 for the rest. */
      double big = (t->kind == NVMM_SUB_GIG ? sqrt(t->par[1] * t->par[2]) : 0.0) +
                   fabs((x - t->mu) * t->gamma) / t->s2;
      ck_assert_close(lf, t_logpdf(x, t), 1e-12 + 1e-15 * big);
      ck_assert_ok(nvmm_uv_cdf(&u, x, &P, &e));
      double ref = ref_cdf(t, t_logpdf, x);
      check_p(P, ref, TOL_P, "cdf", x);
    }
    const double ps[] = {1e-6, 0.01, 0.5, 0.99, 1.0 - 1e-6};
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
      double x, P, e;
      ck_assert_ok(nvmm_uv_quantile(&u, ps[k], &x));
      ck_assert_ok(nvmm_uv_cdf(&u, x, &P, &e));
      check_p(P, ps[k], TOL_Q, "round trip", x);
      double ref = ref_cdf(t, t_logpdf, x);
      check_p(ref, ps[k], TOL_Q, "round trip (reference)", x);
    }
    const double al[] = {0.3, 0.95, 0.99, 0.9999};
    for (size_t k = 0; k < sizeof al / sizeof *al; k++) {
      double var, es;
      ck_assert_ok(nvmm_uv_var_es(&u, al[k], &var, &es));
      double ref = -ref_tail(t, t_logpdf, -var, 0, 1) / ref_tail(t, t_logpdf, -var, 0, 0);
      ck_assert_rel(es, ref, TOL_ES);
    }
  }
}
END_TEST

/* P(R <= x) (upper = 0) or P(R > x) of a VG law by quadrature over y of the Gaussian kernel
 * times GSL's Gamma density: what a concentrated VG (shape 500) is checked against, its density
 * in x needing K_499.5 at small arguments, where GSL's log K is good to ~1e-8 only. */
typedef struct yctx {
  const tlaw *t;
  double x;
  int upper;
} yctx;
static double y_integrand(double y, void *vp) {
  const yctx *c = vp;
  double z = (c->x - c->t->mu - c->t->gamma * y) / sqrt(c->t->s2 * y);
  return (c->upper ? gsl_cdf_ugaussian_Q(z) : gsl_cdf_ugaussian_P(z)) *
         gsl_ran_gamma_pdf(y, c->t->par[0], 1.0 / c->t->par[1]);
}

START_TEST(test_concentrated) {
  const tlaw t = {NVMM_SUB_GAMMA, {500.0, 400.0, 0}, 0.1, 0.2, 0.3};
  nvmm_uv u = uv_of(&t);
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
  const double xs[] = {-4.0, -1.0, 0.1, 0.6, 3.0};
  for (size_t k = 0; k < sizeof xs / sizeof *xs; k++) {
    double P, e, ref[2];
    for (int up = 0; up < 2; up++) {
      yctx c = {&t, xs[k], up};
      gsl_function F = {y_integrand, &c};
      /* Y has mean 1.25 and sd 0.056: (0.5, 3) holds it all but e^-100 (Gamma tail bounds). */
      double pts[5] = {0.5, 1.0, 1.25, 1.5, 3.0};
      r_status(gsl_integration_qagp(&F, pts, 5, 0.0, 1e-13, 1000, w, &ref[up], &e));
    }
    ck_assert_ok(nvmm_uv_cdf(&u, xs[k], &P, &e));
    check_p(P, ref[0] <= 0.5 ? ref[0] : 1.0 - ref[1], TOL_P, "concentrated VG", xs[k]);
  }
  gsl_integration_workspace_free(w);
  /* GIG(1/2, 1e8, 1e8): Y = 1 within sd 1e-4, so R ~ N(mu + gamma, s2) to O(Var Y) = 1e-8. */
  nvmm_uv g = {0.1, -0.3, 0.7, {NVMM_SUB_GIG, {0.5, 1e8, 1e8}}};
  for (double x = -3.0; x <= 3.0; x += 1.5) {
    double P, e;
    ck_assert_ok(nvmm_uv_cdf(&g, x, &P, &e));
    ck_assert_close(P, gsl_cdf_ugaussian_P((x + 0.2) / sqrt(0.7)), 1e-7);
  }
}
END_TEST

/* d = 3, w = (0.5, 0.3, 0.2): w'mu = 0.05 - 0.06 + 0.08 = 0.07, w'gamma = 0.15 + 0.03 - 0.04 =
 * 0.14, w'Sigma w = 0.25 + 0.045 + 0.032 + 2 (0.03 + 0.01 - 0.006) = 0.395. A margin (w = e_2)
 * has the model's own parameters and, as a d = 1 model, the same density. */
START_TEST(test_portfolio) {
  const double mu[3] = {0.1, -0.2, 0.4}, g[3] = {0.3, 0.1, -0.2};
  const double sig[9] = {1.0, 0.2, 0.1, 0.2, 0.5, -0.1, 0.1, -0.1, 0.8};
  const double w[3] = {0.5, 0.3, 0.2}, e2[3] = {0, 1, 0}, gig[3] = {-1.7, 1.3, 2.4};
  nvmm_model *m, *m1;
  nvmm_sub sub;
  nvmm_uv u;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_GH, 3, &m));
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_GIG, gig, &sub));
  ck_assert_ok(nvmm_model_set(m, mu, g, sig, &sub));
  ck_assert_ok(nvmm_uv_from_model(m, w, &u));
  ck_assert_close(u.mu, 0.07, NVMM_TEST_TOL1);
  ck_assert_close(u.gamma, 0.14, NVMM_TEST_TOL1);
  ck_assert_close(u.s2, 0.395, NVMM_TEST_TOL1);
  ck_assert_int_eq(u.sub.kind, NVMM_SUB_GIG);
  for (int k = 0; k < 3; k++)
    ck_assert_double_eq(u.sub.par[k], gig[k]);
  ck_assert_ok(nvmm_uv_from_model(m, e2, &u));
  ck_assert_close(u.mu, -0.2, NVMM_TEST_TOL0);
  ck_assert_close(u.gamma, 0.1, NVMM_TEST_TOL0);
  ck_assert_close(u.s2, 0.5, NVMM_TEST_TOL0);
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_GH, 1, &m1));
  ck_assert_ok(nvmm_model_set(m1, &mu[1], &g[1], &sig[4], &sub));
  for (double x = -3.0; x <= 3.0; x += 0.5) {
    double lf, lm, scratch[2];
    ck_assert_ok(nvmm_uv_logpdf(&u, x, &lf));
    ck_assert_ok(nvmm_model_logpdf(m1, 1, &x, &lm, scratch));
    ck_assert_close(lf, lm, NVMM_TEST_TOL2);
  }
  nvmm_model_free(&m1);
  nvmm_model_free(&m);
  /* The Gaussian family: a degenerate subordinator, R ~ N(w'mu, w'Sigma w). */
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_GAUSS, 3, &m));
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_DEGENERATE, NULL, &sub));
  ck_assert_ok(nvmm_model_set(m, mu, NULL, sig, &sub));
  ck_assert_ok(nvmm_uv_from_model(m, w, &u));
  ck_assert_int_eq(u.sub.kind, NVMM_SUB_DEGENERATE);
  ck_assert_close(u.gamma, 0.0, NVMM_TEST_TOL0);
  ck_assert_close(u.s2, 0.395, NVMM_TEST_TOL1);
  nvmm_model_free(&m);
}
END_TEST

START_TEST(test_errors) {
  nvmm_uv u = uv_of(&laws[0]), bad = u;
  double v, e;
  ck_assert_fails(nvmm_uv_quantile(&u, 0.0, &v), NVMM_EDOM, "p = 0");
  ck_assert_fails(nvmm_uv_quantile(&u, 1.0, &v), NVMM_EDOM, "(0, 1)");
  ck_assert_fails(nvmm_uv_quantile(&u, NAN, &v), NVMM_EDOM, "(0, 1)");
  ck_assert_fails(nvmm_uv_var_es(&u, 1.0, &v, &e), NVMM_EDOM, "alpha = 1");
  ck_assert_fails(nvmm_uv_var_es(&u, 0.0, &v, &e), NVMM_EDOM, "alpha = 0");
  ck_assert_fails(nvmm_uv_cdf(&u, NAN, &v, &e), NVMM_EDOM, "NaN");
  ck_assert_fails(nvmm_uv_logpdf(&u, NAN, &v), NVMM_EDOM, "NaN");
  ck_assert_fails(nvmm_uv_cdf(NULL, 0.0, &v, &e), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_uv_cdf(&u, 0.0, NULL, &e), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_uv_quantile(&u, 0.5, NULL), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_uv_logpdf(&u, 0.0, NULL), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_uv_var_es(&u, 0.99, NULL, &e), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_uv_from_model(NULL, &v, &u), NVMM_EINVAL, "NULL");
  ck_assert_ok(nvmm_uv_cdf(&u, -INFINITY, &v, NULL)); /* abserr may be NULL */
  ck_assert_double_eq(v, 0.0);
  ck_assert_ok(nvmm_uv_cdf(&u, INFINITY, &v, NULL));
  ck_assert_double_eq(v, 1.0);
  bad.s2 = 0.0;
  ck_assert_fails(nvmm_uv_cdf(&bad, 0.0, &v, &e), NVMM_EDOM, "s2 = 0");
  bad = u, bad.gamma = INFINITY;
  ck_assert_fails(nvmm_uv_logpdf(&bad, 0.0, &v), NVMM_EDOM, "gamma = inf");
  bad = u, bad.sub.par[0] = -1.0;
  ck_assert_fails(nvmm_uv_quantile(&bad, 0.5, &v), NVMM_EDOM, "alpha = -1");
  /* Shortfall moments: InverseGamma shape 0.8 has E[Y] = inf (needed when gamma != 0), shape 0.4
   * has E[sqrt(Y)] = inf (always needed); the CDF and quantile still exist. */
  nvmm_uv ig = {0.1, 0.3, 1.0, {NVMM_SUB_INVGAMMA, {0.8, 0.6, 0}}};
  ck_assert_fails(nvmm_uv_var_es(&ig, 0.99, &v, &e), NVMM_EDOM, "E[Y] is infinite");
  ig.gamma = 0.0, ig.sub.par[0] = 0.4;
  ck_assert_fails(nvmm_uv_var_es(&ig, 0.99, &v, &e), NVMM_EDOM, "E[sqrt(Y)] is infinite");
  ck_assert_ok(nvmm_uv_quantile(&ig, 0.01, &v));
  /* w = 0: a degenerate combination. */
  nvmm_model *m;
  const double w0[2] = {0.0, 0.0}, wn[2] = {NAN, 1.0};
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 2, &m));
  ck_assert_fails(nvmm_uv_from_model(m, w0, &u), NVMM_EDOM, "w' Sigma w = 0");
  ck_assert_fails(nvmm_uv_from_model(m, wn, &u), NVMM_EDOM, "w[0]");
  nvmm_model_free(&m);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("marginal");
  TCase *tc = tcase_create("marginal");
  tcase_add_test(tc, test_gauss);
  tcase_add_test(tc, test_nig_closed_form);
  tcase_add_test(tc, test_mixtures);
  tcase_add_test(tc, test_concentrated);
  tcase_add_test(tc, test_portfolio);
  tcase_add_test(tc, test_errors);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
