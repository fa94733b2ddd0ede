/* test_sample_sub.c: the exact subordinator samplers: moments of every kind against exact raw
 * moments (GIG through GSL's log K_nu as an independent reference), the degenerate law, the
 * boundary GIGs' dispatch, and Kolmogorov-Smirnov tests of the GIG sampler against a
 * numerically integrated CDF, with a check of their power. The mixture sampler, the streams and
 * the error paths are test_sample.c's. */
#include <string.h>

#include <gsl/gsl_integration.h>

#include "nvmm_test_sample.h"

/* Draws per Kolmogorov-Smirnov test. */
#define N_KS 100000
/* 0.999 quantile of the Kolmogorov distribution: P(sqrt(n) D_n > 1.9495) -> 0.001. */
#define KS_CRIT 1.9495
/* Relative and absolute accuracy asked of each CDF piece; the CDF is needed to ~1e-6 of the
 * KS critical value 6e-3, and 1e5 pieces each good to 1e-13 absolute keep the sum within 1e-8. */
#define KS_QUAD_EPSREL 1e-10
#define KS_QUAD_EPSABS 1e-13
#define KS_QUAD_LIMIT 64
/* The total mass from the integrated pieces and tail must be 1 to this accuracy: the pieces are
 * accurate to 1e-8 in sum (above), so a larger error means a wrong normalizing constant. */
#define KS_MASS_TOL 1e-7

/* Draws N_MOMENT values and checks the sample mean (needs E Y^2), the sample variance (needs
 * E Y^4; SE sqrt((mu4 - var^2)/n), the exact asymptotic standard deviation of the sample
 * variance) and the mean of 1/Y (needs E Y^-2) wherever those moments exist. */
static void check_sub_moments(const char *label, nvmm_sub sub, uint64_t stream, double *y) {
  gsl_rng *rng = stream_rng(stream);
  ck_assert_ok(nvmm_sub_sample(&sub, rng, N_MOMENT, y));
  gsl_rng_free(rng);
  const double n = N_MOMENT;
  double sum = 0.0, sum_inv = 0.0;
  size_t bad = 0; /* counted, not asserted per draw: each Check assertion costs a syscall */
  for (size_t i = 0; i < N_MOMENT; i++) {
    bad += !(y[i] > 0.0 && isfinite(y[i]));
    sum += y[i];
    sum_inv += 1.0 / y[i];
  }
  ck_assert_msg(bad == 0, "%s: %zu draws not positive and finite", label, bad);
  const double mean = sum / n, mean_inv = sum_inv / n;
  double ss = 0.0;
  for (size_t i = 0; i < N_MOMENT; i++)
    ss += (y[i] - mean) * (y[i] - mean);
  const double var = ss / (n - 1.0);

  double m1, v1, c4;
  exact_moments(&sub, 1.0, &m1, &v1, &c4);
  int checks = 0;
  if (isfinite(v1)) {
    check_z(label, "mean", mean, m1, sqrt(v1 / n));
    checks++;
  }
  if (isfinite(c4)) {
    check_z(label, "var", var, v1, sqrt((c4 - v1 * v1) / n));
    checks++;
  }
  double mi, vi, ci;
  exact_moments(&sub, -1.0, &mi, &vi, &ci);
  if (isfinite(vi)) {
    check_z(label, "E[1/Y]", mean_inv, mi, sqrt(vi / n));
    checks++;
  }
  ck_assert_msg(checks > 0, "%s: no finite moment to check", label);
}

static const struct {
  const char *label;
  nvmm_sub sub;
} sub_cases[] = {
    /* Gamma: shape far below 1 (mass piles up at 0, GSL's boosted branch), large, moderate. */
    {"gamma(0.05, 1.7)", {NVMM_SUB_GAMMA, {0.05, 1.7, 0.0}}},
    {"gamma(50, 0.3)", {NVMM_SUB_GAMMA, {50.0, 0.3, 0.0}}},
    {"gamma(2.5, 4)", {NVMM_SUB_GAMMA, {2.5, 4.0, 0.0}}},
    /* InverseGamma: all checked moments finite; mean only; heavy tail (E[1/Y] only). */
    {"invgamma(9.5, 2)", {NVMM_SUB_INVGAMMA, {9.5, 2.0, 0.0}}},
    {"invgamma(3.5, 0.5)", {NVMM_SUB_INVGAMMA, {3.5, 0.5, 0.0}}},
    {"invgamma(0.7, 1.3)", {NVMM_SUB_INVGAMMA, {0.7, 1.3, 0.0}}},
    /* InverseGaussian: lambda << mu (skewness 3 sqrt(mu/lambda) = 16), lambda >> mu, and a
     * large mean (the textbook MSH formula cancels when mu nu^2 / lambda is large). */
    {"invgauss(1.5, 0.05)", {NVMM_SUB_INVGAUSS, {1.5, 0.05, 0.0}}},
    {"invgauss(2.3, 2300)", {NVMM_SUB_INVGAUSS, {2.3, 2300.0, 0.0}}},
    {"invgauss(1e4, 3)", {NVMM_SUB_INVGAUSS, {1e4, 3.0, 0.0}}},
    /* GIG: p in {-5, 0, 0.3, 2, 10} x omega in {1e-3, 1, 100}, scale sqrt(b/a) = 0.4. */
    {"gig(-5, w=1e-3)", {NVMM_SUB_GIG, {-5.0, 2.5e-3, 4e-4}}},
    {"gig(-5, w=1)", {NVMM_SUB_GIG, {-5.0, 2.5, 0.4}}},
    {"gig(-5, w=100)", {NVMM_SUB_GIG, {-5.0, 250.0, 40.0}}},
    {"gig(0, w=1e-3)", {NVMM_SUB_GIG, {0.0, 2.5e-3, 4e-4}}},
    {"gig(0, w=1)", {NVMM_SUB_GIG, {0.0, 2.5, 0.4}}},
    {"gig(0, w=100)", {NVMM_SUB_GIG, {0.0, 250.0, 40.0}}},
    {"gig(0.3, w=1e-3)", {NVMM_SUB_GIG, {0.3, 2.5e-3, 4e-4}}},
    {"gig(0.3, w=1)", {NVMM_SUB_GIG, {0.3, 2.5, 0.4}}},
    {"gig(0.3, w=100)", {NVMM_SUB_GIG, {0.3, 250.0, 40.0}}},
    {"gig(2, w=1e-3)", {NVMM_SUB_GIG, {2.0, 2.5e-3, 4e-4}}},
    {"gig(2, w=1)", {NVMM_SUB_GIG, {2.0, 2.5, 0.4}}},
    {"gig(2, w=100)", {NVMM_SUB_GIG, {2.0, 250.0, 40.0}}},
    {"gig(10, w=1e-3)", {NVMM_SUB_GIG, {10.0, 2.5e-3, 4e-4}}},
    {"gig(10, w=1)", {NVMM_SUB_GIG, {10.0, 2.5, 0.4}}},
    {"gig(10, w=100)", {NVMM_SUB_GIG, {10.0, 250.0, 40.0}}},
    /* Very unequal a and b (scale sqrt(b/a) = 1e-3 and 1e3), and a large |p| with large omega. */
    {"gig(0.3, 1e3, 1e-3)", {NVMM_SUB_GIG, {0.3, 1e3, 1e-3}}},
    {"gig(-5, 1e-3, 1e3)", {NVMM_SUB_GIG, {-5.0, 1e-3, 1e3}}},
    {"gig(-0.5, 1e3, 1e-3)", {NVMM_SUB_GIG, {-0.5, 1e3, 1e-3}}},
    {"gig(-40, 900, 2)", {NVMM_SUB_GIG, {-40.0, 900.0, 2.0}}},
    /* The boundary limits, dispatched to Gamma(p, a/2) and InverseGamma(-p, b/2). */
    {"gig(2.5, 3, 0)", {NVMM_SUB_GIG, {2.5, 3.0, 0.0}}},
    {"gig(-5.5, 0, 2)", {NVMM_SUB_GIG, {-5.5, 0.0, 2.0}}},
};
#define N_SUB_CASES (sizeof sub_cases / sizeof sub_cases[0])

START_TEST(test_sub_moments) {
  double *y = malloc(N_MOMENT * sizeof *y);
  ck_assert_ptr_nonnull(y);
  for (size_t c = 0; c < N_SUB_CASES; c++)
    check_sub_moments(sub_cases[c].label, sub_cases[c].sub, 100 + c, y);
  free(y);
}
END_TEST

START_TEST(test_degenerate) {
  const nvmm_sub sub = {NVMM_SUB_DEGENERATE, {0.0, 0.0, 0.0}};
  double y[17];
  gsl_rng *rng = stream_rng(1);
  ck_assert_ok(nvmm_sub_sample(&sub, rng, 17, y));
  for (size_t i = 0; i < 17; i++)
    ck_assert(y[i] == 1.0);
  ck_assert_ok(nvmm_sub_sample(&sub, rng, 0, NULL));
  gsl_rng_free(rng);
}
END_TEST

/* The boundary GIGs are the same laws as Gamma(p, a/2) and InverseGamma(-p, b/2), drawn by the
 * same code: a stream gives identical numbers. */
START_TEST(test_gig_limits_dispatch) {
  const nvmm_sub pairs[2][2] = {
      {{NVMM_SUB_GIG, {2.5, 3.0, 0.0}}, {NVMM_SUB_GAMMA, {2.5, 1.5, 0.0}}},
      {{NVMM_SUB_GIG, {-5.5, 0.0, 2.0}}, {NVMM_SUB_INVGAMMA, {5.5, 1.0, 0.0}}},
  };
  for (int k = 0; k < 2; k++) {
    double y1[64], y2[64];
    gsl_rng *rng = stream_rng(2);
    ck_assert_ok(nvmm_sub_sample(&pairs[k][0], rng, 64, y1));
    nvmm_rng_reseed(rng, SEED, 2);
    ck_assert_ok(nvmm_sub_sample(&pairs[k][1], rng, 64, y2));
    gsl_rng_free(rng);
    ck_assert_mem_eq(y1, y2, sizeof y1);
  }
}
END_TEST

/* Kolmogorov-Smirnov ------------------------------------------------------------------------ */

typedef struct gig_law {
  double p, a, b;
  double logc; /* log of (a/b)^{p/2} / (2 K_p(omega)) */
} gig_law;

/* Density of W = log Y: f_Y(e^w) e^w = c exp(p w - (a e^w + b e^-w) / 2). */
static double gig_density_w(double w, void *par) {
  const gig_law *g = par;
  return exp(g->logc + g->p * w - 0.5 * (g->a * exp(w) + g->b * exp(-w)));
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* sqrt(n) times the KS distance between the sample (sorted here) and GIG(law). The CDF at the
 * sorted points is accumulated piece by piece by adaptive Gauss-Kronrod quadrature of the
 * density of log Y (smooth, so each short piece converges at once). */
static double ks_statistic(double *y, size_t n, gig_law law) {
  law.logc = 0.5 * law.p * (log(law.a) - log(law.b)) - M_LN2 -
             ln_bessel_k(law.p, sqrt(law.a) * sqrt(law.b));
  qsort(y, n, sizeof *y, cmp_double);
  gsl_integration_workspace *ws = gsl_integration_workspace_alloc(KS_QUAD_LIMIT);
  ck_assert_ptr_nonnull(ws);
  gsl_function f = {&gig_density_w, &law};
  double cdf, err, piece, dmax = 0.0;
  size_t failed = 0; /* quadrature failures, asserted once after the loop */
  double w_prev = log(y[0]);
  int st = gsl_integration_qagil(&f, w_prev, KS_QUAD_EPSABS, KS_QUAD_EPSREL, KS_QUAD_LIMIT, ws,
                                 &cdf, &err);
  ck_assert_msg(st == GSL_SUCCESS, "qagil: %s", gsl_strerror(st));
  for (size_t i = 0; i < n; i++) {
    const double w = log(y[i]);
    if (i > 0 && w > w_prev) {
      st = gsl_integration_qag(&f, w_prev, w, KS_QUAD_EPSABS, KS_QUAD_EPSREL, KS_QUAD_LIMIT,
                               GSL_INTEG_GAUSS15, ws, &piece, &err);
      failed += st != GSL_SUCCESS;
      cdf += piece;
    }
    w_prev = w;
    const double lo = cdf - (double)i / (double)n, hi = (double)(i + 1) / (double)n - cdf;
    dmax = fmax(dmax, fmax(lo, hi));
  }
  ck_assert_msg(failed == 0, "qag failed on %zu CDF pieces", failed);
  double tail;
  st = gsl_integration_qagiu(&f, w_prev, KS_QUAD_EPSABS, KS_QUAD_EPSREL, KS_QUAD_LIMIT, ws, &tail,
                             &err);
  ck_assert_msg(st == GSL_SUCCESS, "qagiu: %s", gsl_strerror(st));
  gsl_integration_workspace_free(ws);
  ck_assert_msg(fabs(cdf + tail - 1.0) <= KS_MASS_TOL, "GIG(%g, %g, %g): total mass %.12g", law.p,
                law.a, law.b, cdf + tail);
  return sqrt((double)n) * dmax;
}

static const gig_law ks_cases[] = {
    {-5.0, 2.0, 0.5, 0.0},    /* far left of zero p */
    {0.3, 2e-3, 5e-4, 0.0},   /* omega = 1e-3: nearly a Gamma(0.3) core with a long left tail */
    {2.0, 1e3, 1e-3, 0.0},    /* a/b = 1e6 */
    {10.0, 250.0, 40.0, 0.0}, /* large p and omega: concentrated */
    {0.0, 0.4, 2.5, 0.0},     /* p = 0, the symmetric case of log V */
    {-0.5, 1e-3, 1e3, 0.0},   /* NIG subordinator with b/a = 1e6 */
    /* omega = 1e-300: Devroye's alpha = omega e^{-w0} underflows and the sampler works with
     * log alpha; log Y spans about 1400 units. Then the same with p < 0 (the inverted draw). */
    {0.5, 1e-300, 1e-300, 0.0},
    {-2.0, 1e-300, 1e-300, 0.0},
    {1e4, 1.0, 1.0, 0.0}, /* huge p: log Y has width 1e-2 around log(2p) */
};

START_TEST(test_gig_ks) {
  double *y = malloc(N_KS * sizeof *y);
  ck_assert_ptr_nonnull(y);
  for (size_t c = 0; c < sizeof ks_cases / sizeof ks_cases[0]; c++) {
    const gig_law g = ks_cases[c];
    const nvmm_sub sub = {NVMM_SUB_GIG, {g.p, g.a, g.b}};
    gsl_rng *rng = stream_rng(200 + c);
    ck_assert_ok(nvmm_sub_sample(&sub, rng, N_KS, y));
    gsl_rng_free(rng);
    const double k = ks_statistic(y, N_KS, g);
    if (verbose())
      printf("  KS GIG(%g, %g, %g): sqrt(n) D = %.3f\n", g.p, g.a, g.b, k);
    ck_assert_msg(k < KS_CRIT, "GIG(%g, %g, %g): sqrt(n) D = %.3f >= %.4f", g.p, g.a, g.b, k,
                  KS_CRIT);
  }
  free(y);
}
END_TEST

/* The KS harness has power: a sample of GIG(-5, 2, 0.5) tested against GIG(-5, 2, 0.51), a 2%
 * change of b (Y is close to InverseGamma(5, b/2) here, so its scale moves by about 2%), must be
 * rejected. The CDFs differ by about 0.016 at most, 2.7 times the critical distance 1.95/sqrt(n);
 * the measured sqrt(n) D is about 5. */
START_TEST(test_gig_ks_power) {
  double *y = malloc(N_KS * sizeof *y);
  ck_assert_ptr_nonnull(y);
  const nvmm_sub sub = {NVMM_SUB_GIG, {-5.0, 2.0, 0.5}};
  gsl_rng *rng = stream_rng(250);
  ck_assert_ok(nvmm_sub_sample(&sub, rng, N_KS, y));
  gsl_rng_free(rng);
  const gig_law wrong = {-5.0, 2.0, 0.51, 0.0};
  const double k = ks_statistic(y, N_KS, wrong);
  if (verbose())
    printf("  KS power: sqrt(n) D = %.3f against the wrong law\n", k);
  ck_assert_msg(k > KS_CRIT, "sqrt(n) D = %.3f did not detect the wrong law", k);
  free(y);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("sample_sub");
  TCase *tc = tcase_create("subordinators");
  tcase_add_test(tc, test_sub_moments);
  tcase_add_test(tc, test_degenerate);
  tcase_add_test(tc, test_gig_limits_dispatch);
  tcase_add_test(tc, test_gig_ks);
  tcase_add_test(tc, test_gig_ks_power);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
