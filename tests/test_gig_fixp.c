/* test_gig_fixp.c: the GIG inverse map with p fixed (src/gig_fixp.c) against references that do
 * not use nvmm's Bessel code: GSL quadrature with GSL's log K, closed forms at p = +-1/2, the
 * boundary fits, the counted fallbacks and the errors. */
#include "nvmm_test_gig.h"

#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_bessel.h>

#include "src/gig_fixp.h"

/* Relative error bound of the quadrature moments: QUAD_EPSREL (what QAGIU is asked for), plus
 * the rounding of GSL's log K_p(omega) ~ -omega in the normalizer, absolute in the log: half an
 * ulp of log K and of the sum with omega, bounded by 2 eps (1 + omega). Measured against mpmath
 * (40 digits) on the round-trip grid: ~1e-15 up to omega = 12.5, 1.1e-13 at omega = 1e3 (the
 * normalizer, the same in both moments), against the bound's 1.0e-13 and 5.4e-13. */
static double quad_err(double omega) { return QUAD_EPSREL + 2.0 * DBL_EPSILON * (1.0 + omega); }

typedef struct mom_ref {
  double r, omega, x0, h0, sign;
} mom_ref;

/* exp(r x - omega (cosh x - 1) - h0) at x0 + sign u: y = s e^x, peak value 1 at the mode x0. */
static double mom_integrand(double u, void *pv) {
  const mom_ref *m = pv;
  double x = m->x0 + m->sign * u, sh = sinh(0.5 * x);
  return exp(m->r * x - 2.0 * m->omega * sh * sh - m->h0);
}

/* log of int exp(r x - omega (cosh x - 1)) dx = log(2 K_r(omega) e^omega), by two QAGIU integrals
 * from the mode. */
static double log_kint(double r, double omega) {
  mom_ref m = {.r = r, .omega = omega, .x0 = asinh(r / omega)};
  double sh = sinh(0.5 * m.x0), total = 0.0;
  m.h0 = r * m.x0 - 2.0 * omega * sh * sh;
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(2000);
  gsl_function f = {mom_integrand, &m};
  for (int side = 0; side < 2; side++) {
    double v, err;
    m.sign = side == 0 ? 1.0 : -1.0;
    int st = gsl_integration_qagiu(&f, 0.0, 0.0, QUAD_EPSREL, 2000, w, &v, &err);
    ck_assert_msg(st == GSL_SUCCESS, "qagiu (r %g omega %g): %s", r, omega, gsl_strerror(st));
    total += v;
  }
  gsl_integration_workspace_free(w);
  return m.h0 + log(total);
}

/* GSL's log K_nu (K_{-nu} = K_nu). */
static double gsl_lnk(double nu, double z) {
  gsl_sf_result r;
  ck_assert_int_eq(gsl_sf_bessel_lnKnu_e(fabs(nu), z, &r), GSL_SUCCESS);
  return r.val;
}

/* E 1/Y and E Y of GIG(p, a, b) by quadrature, normalized by GSL's K_p. */
static void moments_quad(double p, double a, double b, double *e_inv, double *e_y) {
  double omega = sqrt(a * b), s = sqrt(b / a);
  double log_n = M_LN2 + gsl_lnk(p, omega) + omega;
  *e_y = s * exp(log_kint(p + 1.0, omega) - log_n);
  *e_inv = exp(log_kint(p - 1.0, omega) - log_n) / s;
}

/* Condition number of (E 1/Y, E Y) -> (a, b) in relative terms, from GSL's K: a relative error
 * eps in each moment moves log T by 2 eps, so u = log omega by 2 eps / |dlog R/du|, and
 * log s = (log(e_y / e_inv) + log(rm / rp)) / 2 by eps + |dlog(rm/rp)/du| du / 2; log a and
 * log b move by du + ds. Central differences with h = 1e-3 (truncation h^2, and kappa is only
 * needed to a few per cent). */
static double kappa_ab(double p, double omega) {
  double h = 1e-3, lr[2], lq[2];
  for (int i = 0; i < 2; i++) {
    double z = omega * exp(i == 0 ? h : -h);
    double kp = gsl_lnk(p + 1.0, z), k0 = gsl_lnk(p, z), km = gsl_lnk(p - 1.0, z);
    lr[i] = kp + km - 2.0 * k0, lq[i] = km - kp;
  }
  double dlr = fabs(lr[0] - lr[1]) / (2.0 * h), dlq = fabs(lq[0] - lq[1]) / (2.0 * h);
  return 1.0 + 2.0 / dlr * (1.0 + 0.5 * dlq);
}

/* Round trip: moments of GIG(p, a, b) by quadrature -> (a, b) within 4 quad_err kappa_ab (the
 * factor 4: quad_err is a bound, kappa a first-order estimate), and the moments of the result, by
 * the same quadrature, within 4 quad_err of the inputs (two quadratures, margin 2). The grid
 * spans omega = 1e-3 .. 1e3 at scales s = 1e-3 .. 1e3; kappa is O(1) at omega ~ 1, grows like
 * 2 omega for large omega, like 1 / (1 - |p|) .. log(1/omega) for |p| <= 1 and like
 * omega^(-2 min(1, |p| - 1)) for |p| > 1 as omega -> 0 (largest: p = 10.5, omega = 1e-3). */
START_TEST(test_round_trip_quad) {
  const double ps[] = {1.0, 1.5, 2.0, 3.5, 10.5, -0.5, -2.0};
  const double omegas[] = {1e-3, 0.037, 0.9, 12.5, 310.0, 1e3}, scales[] = {1e-3, 0.71, 1e3};
  double worst = 0.0, worst_mom = 0.0, worst_g = 0.0;
  int max_it = 0;
  for (size_t i = 0; i < sizeof ps / sizeof *ps; i++)
    for (size_t j = 0; j < sizeof omegas / sizeof *omegas; j++)
      for (size_t l = 0; l < sizeof scales / sizeof *scales; l++) {
        double p = ps[i], w = omegas[j], s = scales[(i + j + l) % 3], a0 = w / s, b0 = w * s;
        double e_inv, e_y, a, b, m_inv, m_y;
        nvmm_sub_info info;
        moments_quad(p, a0, b0, &e_inv, &e_y);
        ck_assert_ok(nvmm__gig_fixp_from_eta(p, e_inv, e_y, &a, &b, &info));
        ck_assert_msg(info.fallback == 0 && info.boundary == 0 && info.grad_norm < 1e-13,
                      "p %g omega %g: fallback %d grad_norm %g", p, w, info.fallback,
                      info.grad_norm);
        double tol = 4.0 * quad_err(w) * kappa_ab(p, w);
        ck_assert_rel(a, a0, tol);
        ck_assert_rel(b, b0, tol);
        worst = fmax(worst, fmax(fabs(a / a0 - 1.0), fabs(b / b0 - 1.0)) / tol);
        moments_quad(p, a, b, &m_inv, &m_y);
        ck_assert_rel(m_inv, e_inv, 4.0 * quad_err(w));
        ck_assert_rel(m_y, e_y, 4.0 * quad_err(w));
        worst_mom =
            fmax(worst_mom, fmax(fabs(m_inv / e_inv - 1), fabs(m_y / e_y - 1)) / quad_err(w));
        worst_g = fmax(worst_g, info.grad_norm);
        max_it = info.iterations > max_it ? info.iterations : max_it;
      }
  ck_assert_int_le(max_it, 20);
  if (getenv("NVMM_TEST_VERBOSE"))
    printf("round trip: worst err/tol %.3g, moments err/quad_err %.3g, grad_norm %.3g, max R "
           "evaluations %d\n",
           worst, worst_mom, worst_g, max_it);
}
END_TEST

/* p = 1/2: R = K_{3/2} / K_{1/2} = 1 + 1/omega exactly, so E Y = s (1 + 1/omega), E 1/Y = 1/s;
 * p = -1/2 mirrors it. Covers the omega range, 7.3e-9 .. 7.3e7. Inputs carry ~2 ulps each, so
 * the tolerance is 8 eps kappa (a margin of 2) with kappa = 1 + 2 (1 + omega) (1 + 1/(2 (1 +
 * omega))) from dlog R/du = -1/(1 + omega) and dlog(rm/rp)/du = 1/(1 + omega). */
START_TEST(test_closed_form_half) {
  for (int sign = -1; sign <= 1; sign += 2)
    for (int e = -8; e <= 8; e++) {
      double w = 0.73 * pow(10.0, e), s = 0.3 + 0.1 * (e + 8), p = 0.5 * sign;
      double big = s * (1.0 + 1.0 / w), e_y = sign > 0 ? big : s;
      double e_inv = sign > 0 ? 1.0 / s : big / (s * s), a, b;
      nvmm_sub_info info;
      ck_assert_ok(nvmm__gig_fixp_from_eta(p, e_inv, e_y, &a, &b, &info));
      double kappa = 1.0 + 2.0 * (1.0 + w) * (1.0 + 0.5 / (1.0 + w));
      ck_assert_rel(a, w / s, 8.0 * DBL_EPSILON * kappa);
      ck_assert_rel(b, w * s, 8.0 * DBL_EPSILON * kappa);
      ck_assert_int_eq(info.fallback, 0);
    }
}
END_TEST

/* e^z sqrt(2z/pi) K_nu(z) by its large-z expansion in long double (DLMF 10.40.2), summed until a
 * term is below 1e-30: at z >= 1e4 and |nu| <= 12 the terms fall by z / nu^2 >= 60 each. */
static long double k_asym(double nu, double z) {
  long double mu = 4.0L * nu * nu, t = 1.0L, sum = 1.0L;
  for (int k = 1; k < 100 && fabsl(t) > 1e-30L; k++)
    sum += t *= (mu - (2.0L * k - 1) * (2.0L * k - 1)) / (8.0L * k * z);
  return sum;
}

/* General p at large omega, 1e4 .. 7e7, where R - 1 ~ 1/omega cancels: moments from the
 * expansion (each rounded once to double) and the tolerance 8 eps kappa, kappa ~ 1 + 2 omega +
 * 2|p| (dlog R/du ~ -1/omega, dlog(rm/rp)/du ~ 2p/omega); measured errors are 6-60x below. */
START_TEST(test_large_omega) {
  const double ps[] = {1.0, 2.0, 10.5, -2.0}, omegas[] = {1e4, 1.3e6, 7e7};
  for (size_t i = 0; i < 4; i++)
    for (size_t j = 0; j < 3; j++) {
      double p = ps[i], w = omegas[j], s = 2.3, a, b;
      long double k0 = k_asym(p, w);
      double e_y = (double)(s * k_asym(p + 1.0, w) / k0);
      double e_inv = (double)(k_asym(p - 1.0, w) / k0 / s);
      nvmm_sub_info info;
      ck_assert_ok(nvmm__gig_fixp_from_eta(p, e_inv, e_y, &a, &b, &info));
      double tol = 8.0 * DBL_EPSILON * (1.0 + 2.0 * w + 2.0 * fabs(p));
      ck_assert_rel(a, w / s, tol);
      ck_assert_rel(b, w * s, tol);
      ck_assert(info.fallback == 0 && info.iterations <= 20);
    }
}
END_TEST

/* Beyond the omega -> 0 limit |p| / (|p| - 1): the Gamma fit (p > 1) with E Y = e_y, i.e.
 * a = 2p / e_y, or the InverseGamma fit (p < -1) with b = -2p / e_inv, as a GIG with
 * sqrt(ab) = 1e-8; grad_norm reports the unmatched moment. */
START_TEST(test_boundary) {
  double a, b;
  nvmm_sub_info info;
  ck_assert_ok(nvmm__gig_fixp_from_eta(2.0, 2.5 / 3.0, 3.0, &a, &b, &info)); /* T = 2.5 > 2 */
  ck_assert(info.boundary == 1 && info.fallback == 1);
  ck_assert_rel(a, 4.0 / 3.0, NVMM_TEST_TOL0);
  ck_assert_rel(sqrt(a * b), 1e-8, NVMM_TEST_TOL1);
  ck_assert_rel(info.grad_norm, 0.25 / 1.25, 1e-6); /* the Gamma's E 1/Y = 2/3 vs 2.5/3 */
  /* The GIG stands for Gamma(2, a/2): its moments by quadrature are the Gamma's, E Y = 3 and
   * E 1/Y = (a/2) / (p - 1) = 2/3, up to O(omega^2 log omega) ~ 1e-15. */
  double m_inv, m_y;
  moments_quad(2.0, a, b, &m_inv, &m_y);
  ck_assert_rel(m_y, 3.0, 4.0 * quad_err(0.0));
  ck_assert_rel(m_inv, 2.0 / 3.0, 4.0 * quad_err(0.0));
  ck_assert_ok(nvmm__gig_fixp_from_eta(-3.5, 0.9, 2.0, &a, &b, &info)); /* T = 1.8 > 1.4 */
  ck_assert(info.boundary == 1 && info.fallback == 1);
  ck_assert_rel(b, 7.0 / 0.9, NVMM_TEST_TOL0);
  ck_assert_rel(sqrt(a * b), 1e-8, NVMM_TEST_TOL1);
  /* Just below the limit (T = 1.999) the root is interior and its fit near the boundary's. */
  ck_assert_ok(nvmm__gig_fixp_from_eta(2.0, 1.999 / 3.0, 3.0, &a, &b, &info));
  ck_assert(info.boundary == 0 && info.fallback == 0 && info.grad_norm < 1e-13);
  ck_assert_rel(a, 4.0 / 3.0, 1e-4); /* omega = 0.016, a 3e-5 above the Gamma's */
  /* |p| <= 1 has no limit: a large T still has a root. */
  ck_assert_ok(nvmm__gig_fixp_from_eta(1.0, 40.0, 1.0, &a, &b, &info));
  ck_assert(info.fallback == 0 && info.grad_norm < 1e-13);
}
END_TEST

/* T <= 1 (Jensen says impossible; rounding) and 1 < T < R(1e8): the largest omega; T above
 * R(1e-100): the smallest; both counted. Then the errors. */
START_TEST(test_fallback_and_errors) {
  double a, b;
  nvmm_sub_info info;
  const double ts[] = {0.5, 1.0, 1.0 + 1e-12};
  for (int i = 0; i < 3; i++) {
    ck_assert_ok(nvmm__gig_fixp_from_eta(2.0, ts[i] / 3.0, 3.0, &a, &b, &info));
    ck_assert(info.fallback == 1 && info.boundary == 0);
    ck_assert(a > 0.0 && isfinite(a) && b > 0.0 && isfinite(b));
    ck_assert_rel(sqrt(a * b), 1e8, NVMM_TEST_TOL1);
  }
  /* p = 1 has no limit but R(1e-100) ~ 460: T = 1e6 (and T beyond DBL_MAX) clamp there. */
  ck_assert_ok(nvmm__gig_fixp_from_eta(1.0, 1e6, 1.0, &a, &b, &info));
  ck_assert(info.fallback == 1 && info.boundary == 0);
  ck_assert_rel(sqrt(a) * sqrt(b), 1e-100, NVMM_TEST_TOL1);
  ck_assert_ok(nvmm__gig_fixp_from_eta(1.0, 1e200, 1e200, &a, &b, &info));
  ck_assert(info.fallback == 1 && b > 0.0 && isfinite(a));
  ck_assert_ok(nvmm__gig_fixp_from_eta(2.0, 1.0, 1.5, &a, &b, NULL)); /* info may be NULL */
  ck_assert_fails(nvmm__gig_fixp_from_eta(2.0, 0.0, 1.0, &a, &b, NULL), NVMM_EDOM, "E 1/Y = 0");
  ck_assert_fails(nvmm__gig_fixp_from_eta(2.0, 1.0, -1.0, &a, &b, NULL), NVMM_EDOM, "E Y = -1");
  ck_assert_fails(nvmm__gig_fixp_from_eta(2.0, NAN, 1.0, &a, &b, NULL), NVMM_EDOM, "nan");
  ck_assert_fails(nvmm__gig_fixp_from_eta(2.0, 1.0, INFINITY, &a, &b, NULL), NVMM_EDOM, "inf");
  ck_assert_fails(nvmm__gig_fixp_from_eta(NAN, 1.0, 2.0, &a, &b, NULL), NVMM_EDOM, "p = nan");
  ck_assert_fails(nvmm__gig_fixp_from_eta(-INFINITY, 1.0, 2.0, &a, &b, NULL), NVMM_EDOM, "p");
  ck_assert_fails(nvmm__gig_fixp_from_eta(2.0, 1.0, 2.0, NULL, &b, NULL), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm__gig_fixp_from_eta(2.0, 1.0, 2.0, &a, NULL, NULL), NVMM_EINVAL, "NULL");
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("gig_fixp");
  TCase *tc = tcase_create("from_eta");
  tcase_add_test(tc, test_round_trip_quad);
  tcase_add_test(tc, test_closed_form_half);
  tcase_add_test(tc, test_large_omega);
  tcase_add_test(tc, test_boundary);
  tcase_add_test(tc, test_fallback_and_errors);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
