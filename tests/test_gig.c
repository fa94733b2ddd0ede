/* test_gig.c: the subordinators (gig.h, gig.c): validation, the GIG embedding, expectation
 * parameters and moments against independent references, and the scale action (with the
 * inverse map's commutation with it). The inverse maps eta -> parameters themselves are
 * test_gig_solve.c's. */
#include "nvmm_test_gig.h"

#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_expint.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

START_TEST(test_make_validate) {
  nvmm_sub s;
  double good[3] = {2.385, 0.731, 1.93};
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_GAMMA, good, &s));
  ck_assert_int_eq(s.kind, NVMM_SUB_GAMMA);
  ck_assert(s.par[0] == 2.385 && s.par[1] == 0.731 && s.par[2] == 0.0); /* unused entry 0 */
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_DEGENERATE, NULL, &s));
  double neg_p[3] = {-3.7, 0.2, 5.0};
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_GIG, neg_p, &s)); /* p of either sign */

  double bad_shape[3] = {-1.0, 2.0, 0.0}, nan_rate[3] = {1.0, NAN, 0.0};
  double zero_mu[3] = {0.0, 1.0, 0.0}, inf_lambda[3] = {1.0, INFINITY, 0.0};
  double nan_p[3] = {NAN, 1.0, 1.0}, zero_a[3] = {0.5, 0.0, 1.0}, neg_b[3] = {0.5, 1.0, -2.0};
  ck_assert_fails(nvmm_sub_make(NVMM_SUB_GAMMA, bad_shape, &s), NVMM_EDOM, "alpha = -1");
  ck_assert_fails(nvmm_sub_make(NVMM_SUB_INVGAMMA, nan_rate, &s), NVMM_EDOM, "beta = nan");
  ck_assert_fails(nvmm_sub_make(NVMM_SUB_INVGAUSS, zero_mu, &s), NVMM_EDOM, "mu = 0");
  ck_assert_fails(nvmm_sub_make(NVMM_SUB_INVGAUSS, inf_lambda, &s), NVMM_EDOM, "lambda = inf");
  ck_assert_fails(nvmm_sub_make(NVMM_SUB_GIG, nan_p, &s), NVMM_EDOM, "p = nan");
  ck_assert_fails(nvmm_sub_make(NVMM_SUB_GIG, zero_a, &s), NVMM_EDOM, "a = 0");
  ck_assert_fails(nvmm_sub_make(NVMM_SUB_GIG, neg_b, &s), NVMM_EDOM, "b = -2");
  ck_assert_fails(nvmm_sub_make((nvmm_sub_kind)17, good, &s), NVMM_EINVAL, "kind 17");
  ck_assert_fails(nvmm_sub_make(NVMM_SUB_GIG, NULL, &s), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_sub_make(NVMM_SUB_GIG, good, NULL), NVMM_EINVAL, "NULL");
  nvmm_sub unknown = {.kind = (nvmm_sub_kind)-3};
  ck_assert_fails(nvmm_sub_validate(&unknown), NVMM_EINVAL, "kind -3");
  ck_assert_fails(nvmm_sub_validate(NULL), NVMM_EINVAL, "NULL");
}
END_TEST

START_TEST(test_to_gig) {
  double p, a, b;
  nvmm_sub g = make(NVMM_SUB_GAMMA, 2.385, 0.731, 0);
  ck_assert_ok(nvmm_sub_to_gig(&g, &p, &a, &b));
  ck_assert(p == 2.385 && a == 2.0 * 0.731 && b == 0.0);
  nvmm_sub ig = make(NVMM_SUB_INVGAMMA, 3.1, 1.7, 0);
  ck_assert_ok(nvmm_sub_to_gig(&ig, &p, &a, &b));
  ck_assert(p == -3.1 && a == 0.0 && b == 3.4);
  nvmm_sub n = make(NVMM_SUB_INVGAUSS, 1.3, 2.9, 0);
  ck_assert_ok(nvmm_sub_to_gig(&n, &p, &a, &b));
  ck_assert(p == -0.5 && b == 2.9);
  ck_assert_rel(a, 2.9 / (1.3 * 1.3), NVMM_TEST_TOL0);
  nvmm_sub d = {.kind = NVMM_SUB_DEGENERATE};
  ck_assert_fails(nvmm_sub_to_gig(&d, &p, &a, &b), NVMM_EINVAL, "degenerate");
}
END_TEST

/* The GIG density over x = log(Y / delta), delta = sqrt(b/a): proportional to
 * exp(p x - omega cosh x), with the mode x0 = asinh(p / omega) subtracted for scaling. */
typedef struct gig_ref {
  double p, omega, x0, h0; /* parameters, mode and log-density at the mode */
  int mom;                 /* 0: density, 1: x, 2: e^-x, 3: e^x, 4: e^{r x} */
  double r;                /* the order for mom = 4 */
  double sign;             /* +1 for x >= x0, -1 for the mirrored half */
} gig_ref;

static double gig_ref_integrand(double u, void *pv) {
  const gig_ref *g = pv;
  double x = g->x0 + g->sign * u;
  /* The power e^{kx} goes into the exponent: 0 * inf would be NaN far in the tails. */
  double k = g->mom == 2 ? -1.0 : g->mom == 3 ? 1.0 : g->mom == 4 ? g->r : 0.0;
  double v = exp(g->p * x - g->omega * cosh(x) - g->h0 + k * x);
  return g->mom == 1 ? v * x : v;
}

/* int over the real line of the chosen integrand, as two QAGIU integrals from the mode. */
static double gig_ref_integral(gig_ref *g, int mom) {
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(2000);
  gsl_function f = {gig_ref_integrand, g};
  double total = 0.0;
  g->mom = mom;
  for (int side = 0; side < 2; side++) {
    double r, err;
    g->sign = side == 0 ? 1.0 : -1.0;
    int st = gsl_integration_qagiu(&f, 0.0, 1e-300, QUAD_EPSREL, 2000, w, &r, &err);
    ck_assert_msg(st == GSL_SUCCESS, "qagiu failed (p %g omega %g mom %d): %s, r %g err %g", g->p,
                  g->omega, mom, gsl_strerror(st), r, err);
    total += r;
  }
  gsl_integration_workspace_free(w);
  return total;
}

/* eta of GIG(p, a, b) by quadrature of the density (independent of the Bessel module). */
static void gig_eta_quad(double p, double a, double b, double eta[3]) {
  double omega = sqrt(a * b), delta = sqrt(b / a);
  gig_ref g = {.p = p, .omega = omega, .x0 = asinh(p / omega)};
  g.h0 = p * g.x0 - omega * cosh(g.x0);
  double z = gig_ref_integral(&g, 0);
  eta[0] = log(delta) + gig_ref_integral(&g, 1) / z;
  eta[1] = gig_ref_integral(&g, 2) / z / delta;
  eta[2] = delta * gig_ref_integral(&g, 3) / z;
}

static double gig_moment_quad(double p, double a, double b, double r) {
  double omega = sqrt(a * b), delta = sqrt(b / a);
  gig_ref g = {.p = p, .omega = omega, .x0 = asinh(p / omega), .r = r};
  g.h0 = p * g.x0 - omega * cosh(g.x0);
  return pow(delta, r) * gig_ref_integral(&g, 4) / gig_ref_integral(&g, 0);
}

/* Gamma and InverseGamma eta against the closed forms of src/numerics.md 2.1-2.2 (GSL psi), IG
 * against its own closed form E log Y = log mu - e^{2 lambda/mu} E1(2 lambda/mu) (the
 * nu-derivative of K at nu = 1/2 is sqrt(pi/2z) e^z E1(2z)), which is independent of the
 * Bessel module the library uses. Gamma/InvGamma: a few roundings, TOL1. IG: the Bessel
 * nu-derivative is accurate to ~1e-15 absolute, TOL2. */
START_TEST(test_eta_closed_forms) {
  double eta[3];
  const double shapes[] = {0.37, 1.0, 1.9, 23.1};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    double al = shapes[i], be = 2.385;
    nvmm_sub g = make(NVMM_SUB_GAMMA, al, be, 0);
    ck_assert_ok(nvmm_sub_eta(&g, eta));
    ck_assert_close(eta[0], gsl_sf_psi(al) - log(be), NVMM_TEST_TOL1);
    ck_assert_rel(eta[2], al / be, NVMM_TEST_TOL1);
    if (al > 1.0)
      ck_assert_rel(eta[1], be / (al - 1.0), NVMM_TEST_TOL1);
    else
      ck_assert(isinf(eta[1]) && eta[1] > 0.0);
    nvmm_sub ig = make(NVMM_SUB_INVGAMMA, al, be, 0);
    ck_assert_ok(nvmm_sub_eta(&ig, eta));
    ck_assert_close(eta[0], log(be) - gsl_sf_psi(al), NVMM_TEST_TOL1);
    ck_assert_rel(eta[1], al / be, NVMM_TEST_TOL1);
    if (al > 1.0)
      ck_assert_rel(eta[2], be / (al - 1.0), NVMM_TEST_TOL1);
    else
      ck_assert(isinf(eta[2]) && eta[2] > 0.0);
  }
  const double ig_par[][2] = {{1.3, 2.9}, {0.02, 500.0}, {170.0, 0.03}, {1.0, 1.0}};
  for (size_t i = 0; i < sizeof ig_par / sizeof ig_par[0]; i++) {
    double mu = ig_par[i][0], lam = ig_par[i][1];
    nvmm_sub n = make(NVMM_SUB_INVGAUSS, mu, lam, 0);
    ck_assert_ok(nvmm_sub_eta(&n, eta));
    ck_assert_close(eta[0], log(mu) - gsl_sf_expint_E1_scaled(2.0 * lam / mu), NVMM_TEST_TOL2);
    ck_assert_rel(eta[1], 1.0 / mu + 1.0 / lam, NVMM_TEST_TOL1);
    ck_assert_rel(eta[2], mu, NVMM_TEST_TOL0);
  }
  nvmm_sub d = {.kind = NVMM_SUB_DEGENERATE};
  ck_assert_ok(nvmm_sub_eta(&d, eta));
  ck_assert(eta[0] == 0.0 && eta[1] == 1.0 && eta[2] == 1.0);
}
END_TEST

/* GIG eta against quadrature of the density (src/numerics.md 5.8 asks for ~1e-10). The quadrature
 * is asked for 1e-13 relative and the library agrees with it to ~2e-15 on these points; 1e-12
 * leaves a 10x margin over the reference (absolute for E log Y, which can be near 0). */
START_TEST(test_eta_gig_quadrature) {
  const double tol = 1e-12;
  const double pts[][3] = {{-20.0, 1e-4, 1e-2}, {-5.0, 1.0, 1e2},  {-1.5, 1e-2, 1e-4},
                           {-0.5, 2.9, 1.3},    {0.0, 1e-4, 1e-4}, {0.3, 1e4, 1e2},
                           {1.0, 1e2, 1e2},     {4.5, 1e-4, 1e-2}, {20.0, 1e4, 1e4},
                           {2.385, 0.731, 1.93}};
  for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
    double eta[3], ref[3];
    nvmm_sub s = make(NVMM_SUB_GIG, pts[i][0], pts[i][1], pts[i][2]);
    ck_assert_ok(nvmm_sub_eta(&s, eta));
    gig_eta_quad(pts[i][0], pts[i][1], pts[i][2], ref);
    ck_assert_close(eta[0], ref[0], tol);
    ck_assert_rel(eta[1], ref[1], tol);
    ck_assert_rel(eta[2], ref[2], tol);
  }
}
END_TEST

/* Raw moments: Gamma/InvGamma against gsl_sf_gamma (TOL2: lgamma differences of numbers up
 * to ~30 lose a few ulps), GIG and IG against quadrature (1e-10 as above), +inf where the
 * moment does not exist. */
START_TEST(test_moments) {
  double m;
  nvmm_sub g = make(NVMM_SUB_GAMMA, 2.385, 0.731, 0);
  ck_assert_ok(nvmm_sub_moment(&g, 1.7, &m));
  ck_assert_rel(m, gsl_sf_gamma(2.385 + 1.7) / gsl_sf_gamma(2.385) / pow(0.731, 1.7),
                NVMM_TEST_TOL2);
  ck_assert_ok(nvmm_sub_moment(&g, -2.0, &m));
  ck_assert_rel(m, 0.731 * 0.731 / (1.385 * 0.385), NVMM_TEST_TOL2);
  ck_assert_ok(nvmm_sub_moment(&g, -2.385, &m));
  ck_assert(isinf(m) && m > 0.0);
  ck_assert_ok(nvmm_sub_moment(&g, 0.0, &m));
  ck_assert(m == 1.0);
  nvmm_sub ig = make(NVMM_SUB_INVGAMMA, 3.1, 1.7, 0);
  ck_assert_ok(nvmm_sub_moment(&ig, 2.0, &m));
  ck_assert_rel(m, 1.7 * 1.7 / (2.1 * 1.1), NVMM_TEST_TOL2);
  ck_assert_ok(nvmm_sub_moment(&ig, 3.1, &m));
  ck_assert(isinf(m) && m > 0.0);
  nvmm_sub n = make(NVMM_SUB_INVGAUSS, 1.3, 2.9, 0);
  ck_assert_ok(nvmm_sub_moment(&n, 2.0, &m)); /* mu^2 + mu^3 / lambda */
  ck_assert_rel(m, 1.3 * 1.3 + 1.3 * 1.3 * 1.3 / 2.9, NVMM_TEST_TOL2);
  ck_assert_ok(nvmm_sub_moment(&n, -1.0, &m));
  ck_assert_rel(m, 1.0 / 1.3 + 1.0 / 2.9, NVMM_TEST_TOL2);
  const double pts[][4] = {{2.385, 0.731, 1.93, 2.5},
                           {-5.0, 1.0, 1e2, -1.7},
                           {0.3, 1e-2, 1e-4, 0.61},
                           {20.0, 1e4, 1e2, 3.0}};
  for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
    nvmm_sub s = make(NVMM_SUB_GIG, pts[i][0], pts[i][1], pts[i][2]);
    ck_assert_ok(nvmm_sub_moment(&s, pts[i][3], &m));
    ck_assert_rel(m, gig_moment_quad(pts[i][0], pts[i][1], pts[i][2], pts[i][3]), 1e-10);
  }
  nvmm_sub d = {.kind = NVMM_SUB_DEGENERATE};
  ck_assert_ok(nvmm_sub_moment(&d, 3.3, &m));
  ck_assert(m == 1.0);
  ck_assert_fails(nvmm_sub_moment(&g, NAN, &m), NVMM_EDOM, "r = nan");
}
END_TEST

/* Y -> sY (src/numerics.md 2.5, 12.16): the exact parameter maps, and eta(sY) = (eta_log +
 * log s, eta_inv / s, s eta_y). The parameter maps are one multiplication (TOL0); eta goes
 * through Bessel evaluations at the same omega (TOL2, and TOL2 absolute for E log Y). */
START_TEST(test_rescale) {
  const double s = 2.385;
  nvmm_sub subs[4] = {make(NVMM_SUB_GAMMA, 2.385, 0.731, 0), make(NVMM_SUB_INVGAMMA, 3.1, 1.7, 0),
                      make(NVMM_SUB_INVGAUSS, 1.3, 2.9, 0), make(NVMM_SUB_GIG, -1.7, 0.37, 4.1)};
  for (int i = 0; i < 4; i++) {
    nvmm_sub t = subs[i];
    double e0[3], e1[3];
    ck_assert_ok(nvmm_sub_eta(&subs[i], e0));
    ck_assert_ok(nvmm_sub_rescale(&t, s));
    ck_assert_ok(nvmm_sub_eta(&t, e1));
    ck_assert_close(e1[0], e0[0] + log(s), NVMM_TEST_TOL2);
    ck_assert_rel(e1[1], e0[1] / s, NVMM_TEST_TOL2);
    ck_assert_rel(e1[2], e0[2] * s, NVMM_TEST_TOL2);
  }
  nvmm_sub t = subs[0];
  ck_assert_ok(nvmm_sub_rescale(&t, s));
  ck_assert_rel(t.par[1], 0.731 / s, NVMM_TEST_TOL0);
  t = subs[1];
  ck_assert_ok(nvmm_sub_rescale(&t, s));
  ck_assert_rel(t.par[1], 1.7 * s, NVMM_TEST_TOL0);
  t = subs[2];
  ck_assert_ok(nvmm_sub_rescale(&t, s));
  ck_assert_rel(t.par[0], 1.3 * s, NVMM_TEST_TOL0);
  ck_assert_rel(t.par[1], 2.9 * s, NVMM_TEST_TOL0);
  t = subs[3];
  ck_assert_ok(nvmm_sub_rescale(&t, 1e9)); /* no clipping of a or b */
  ck_assert_rel(t.par[1], 0.37e-9, NVMM_TEST_TOL0);
  ck_assert_rel(t.par[2], 4.1e9, NVMM_TEST_TOL0);
  ck_assert(t.par[0] == -1.7);

  nvmm_sub d = {.kind = NVMM_SUB_DEGENERATE};
  ck_assert_fails(nvmm_sub_rescale(&d, s), NVMM_EINVAL, "degenerate");
  t = subs[3];
  ck_assert_fails(nvmm_sub_rescale(&t, 0.0), NVMM_EDOM, "s = 0");
  ck_assert_fails(nvmm_sub_rescale(&t, NAN), NVMM_EDOM, "s = nan");
  ck_assert_fails(nvmm_sub_rescale(&t, 1e308), NVMM_EDOM, "range");
  ck_assert(t.par[1] == 0.37 && t.par[2] == 4.1); /* unchanged on error */
}
END_TEST

/* from_eta commutes with the scale action: from_eta(eta(sY)) = rescale(from_eta(eta)). The
 * closed forms and the digamma Newton: TOL3 (the shape is well conditioned in the target,
 * which carries ~10 roundings of E log Y ~ 1); the GIG solve: 1e-10 at a well-conditioned
 * point. */
START_TEST(test_from_eta_rescale_commutes) {
  const double s = 0.0731;
  nvmm_sub subs[4] = {make(NVMM_SUB_GAMMA, 2.385, 0.731, 0), make(NVMM_SUB_INVGAMMA, 3.1, 1.7, 0),
                      make(NVMM_SUB_INVGAUSS, 1.3, 2.9, 0), make(NVMM_SUB_GIG, -1.7, 0.37, 4.1)};
  const double tol[4] = {NVMM_TEST_TOL3, NVMM_TEST_TOL3, NVMM_TEST_TOL3, 1e-10};
  for (int i = 0; i < 4; i++) {
    nvmm_sub t = subs[i], u, v;
    double e[3], es[3];
    ck_assert_ok(nvmm_sub_eta(&subs[i], e));
    ck_assert_ok(nvmm_sub_rescale(&t, s));
    ck_assert_ok(nvmm_sub_eta(&t, es));
    ck_assert_ok(nvmm_sub_from_eta(subs[i].kind, es, NULL, 0.0, &u, NULL));
    ck_assert_ok(nvmm_sub_from_eta(subs[i].kind, e, NULL, 0.0, &v, NULL));
    ck_assert_ok(nvmm_sub_rescale(&v, s));
    for (int j = 0; j < 3; j++)
      ck_assert_close(u.par[j], v.par[j], tol[i]);
  }
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("gig");
  TCase *tc = tcase_create("make");
  tcase_add_test(tc, test_make_validate);
  tcase_add_test(tc, test_to_gig);
  suite_add_tcase(s, tc);
  tc = tcase_create("eta");
  tcase_add_test(tc, test_eta_closed_forms);
  tcase_add_test(tc, test_eta_gig_quadrature);
  tcase_add_test(tc, test_moments);
  suite_add_tcase(s, tc);
  tc = tcase_create("rescale");
  tcase_add_test(tc, test_rescale);
  tcase_add_test(tc, test_from_eta_rescale_commutes);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
