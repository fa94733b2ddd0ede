/* test_sample.c: the seeded streams and the exact samplers. Subordinator moments against exact
 * raw moments (GIG through GSL's log K_nu as an independent reference), Kolmogorov-Smirnov tests
 * of the GIG sampler against a numerically integrated CDF, mixture moments (src/numerics.md 2.6),
 * reproducibility of streams and every error path. */
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_sf_bessel.h>

#include "nvmm_test.h"

/* Every test is deterministic: a fixed seed, and one stream per case. */
#define SEED UINT64_C(20240917)
/* Draws per moment check: standard errors are 1e-3 standard deviations. */
#define N_MOMENT 1000000
/* Draws per Kolmogorov-Smirnov test. */
#define N_KS 100000
/* Statistical checks accept |estimate - exact| <= Z_MAX standard errors. Under the normal
 * approximation a correct sampler fails one check with probability 6.3e-5; the suite makes
 * about 130 such checks, so a false alarm has probability about 1%, while a bias of a few
 * standard errors (0.5% of a standard deviation at n = 1e6) is caught. */
#define Z_MAX 4.0
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

static int verbose(void) { return getenv("NVMM_TEST_VERBOSE") != NULL; }

static gsl_rng *stream_rng(uint64_t stream) {
  gsl_rng *rng = NULL;
  ck_assert_ok(nvmm_rng_stream(SEED, stream, &rng));
  return rng;
}

static double ln_bessel_k(double nu, double x) {
  gsl_sf_result r;
  int st = gsl_sf_bessel_lnKnu_e(fabs(nu), x, &r); /* K_{-nu} = K_nu */
  ck_assert_msg(st == GSL_SUCCESS, "lnKnu(%g, %g): %s", nu, x, gsl_strerror(st));
  return r.val;
}

/* log E[Y^r] for GIG(p, a, b), a, b > 0: (b/a)^{r/2} K_{p+r}(omega) / K_p(omega). */
static double gig_log_moment(double p, double a, double b, double r) {
  const double omega = sqrt(a) * sqrt(b);
  return 0.5 * r * (log(b) - log(a)) + ln_bessel_k(p + r, omega) - ln_bessel_k(p, omega);
}

/* log E[Y^r], +inf where the moment does not exist (src/numerics.md 2.1-2.4). */
static double log_moment(const nvmm_sub *s, double r) {
  const double *c = s->par;
  switch (s->kind) {
  case NVMM_SUB_GAMMA:
    return r > -c[0] ? lgamma(c[0] + r) - lgamma(c[0]) - r * log(c[1]) : INFINITY;
  case NVMM_SUB_INVGAMMA:
    return r < c[0] ? r * log(c[1]) + lgamma(c[0] - r) - lgamma(c[0]) : INFINITY;
  case NVMM_SUB_INVGAUSS:
    return gig_log_moment(-0.5, c[1] / (c[0] * c[0]), c[1], r);
  case NVMM_SUB_GIG:
    if (c[1] == 0.0) {
      const nvmm_sub ig = {NVMM_SUB_INVGAMMA, {-c[0], 0.5 * c[2], 0.0}};
      return log_moment(&ig, r);
    }
    if (c[2] == 0.0) {
      const nvmm_sub ga = {NVMM_SUB_GAMMA, {c[0], 0.5 * c[1], 0.0}};
      return log_moment(&ga, r);
    }
    return gig_log_moment(c[0], c[1], c[2], r);
  case NVMM_SUB_DEGENERATE:
    break;
  }
  return 0.0;
}

/* Mean, variance and 4th central moment of Y^k (k = +1 or -1) from the raw moments, written
 * relative to E[Y^k]^j to keep the cancellation in the central moments visible: with
 * rho_j = E[Y^{kj}] / E[Y^k]^j, var = m^2 (rho_2 - 1), mu4 = m^4 (rho_4 - 4 rho_3 + 6 rho_2 - 3).
 * Infinite entries mean the moment does not exist. */
static void exact_moments(const nvmm_sub *s, double k, double *mean, double *var, double *mu4) {
  const double l1 = log_moment(s, k);
  double rho[5];
  for (int j = 2; j <= 4; j++)
    rho[j] = exp(log_moment(s, k * j) - j * l1);
  *mean = exp(l1);
  *var = *mean * *mean * (rho[2] - 1.0);
  *mu4 = pow(*mean, 4) * (rho[4] - 4.0 * rho[3] + 6.0 * rho[2] - 3.0);
}

/* Asserts |est - exact| <= Z_MAX se. */
static void check_z(const char *label, const char *what, double est, double exact, double se) {
  const double z = (est - exact) / se;
  if (verbose())
    printf("  %-28s %-6s est %-14.8g exact %-14.8g z %+.2f\n", label, what, est, exact, z);
  ck_assert_msg(isfinite(z) && fabs(z) <= Z_MAX, "%s: %s = %.10g, exact %.10g, se %.3g, z = %.2f",
                label, what, est, exact, se, z);
}

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

/* Mixtures -------------------------------------------------------------------------------- */

#define D3 3

/* Lower Cholesky factor of a 3x3 SPD matrix (row-major) and log |S|. */
static double chol3(const double *s, double *l) {
  memset(l, 0, D3 * D3 * sizeof *l);
  double logdet = 0.0;
  for (size_t j = 0; j < D3; j++) {
    double dj = s[j * D3 + j];
    for (size_t k = 0; k < j; k++)
      dj -= l[j * D3 + k] * l[j * D3 + k];
    ck_assert(dj > 0.0);
    l[j * D3 + j] = sqrt(dj);
    logdet += log(dj);
    for (size_t i = j + 1; i < D3; i++) {
      double v = s[i * D3 + j];
      for (size_t k = 0; k < j; k++)
        v -= l[i * D3 + k] * l[j * D3 + k];
      l[i * D3 + j] = v / l[j * D3 + j];
    }
  }
  return logdet;
}

/* Draws N_MOMENT rows and checks, within Z_MAX standard errors:
 * - the sample mean against E X = mu + gamma E Y (SE from the exact Cov X);
 * - the sample covariance against Cov X = E[Y] Sigma + Var[Y] gamma gamma^T (src/numerics.md 2.6).
 *   The SE of entry (j, k) is sqrt(Var[(X_j - m_j)(X_k - m_k)] / n) with that variance estimated
 *   from the sample's own 4th moments: the exact value needs E[Y^4] cross terms, and with all
 *   moments finite the plug-in estimate is within O(n^-1/2) of it (a ~0.1% change in SE).
 * - the returned latent y: R = (X - mu - gamma y)/sqrt(y) must be exactly N(0, Sigma), whose
 *   sample covariance has the exact SE sqrt((S_jj S_kk + S_jk^2)/n) (Isserlis). */
static void check_mixture(const char *label, nvmm_family fam, nvmm_sub sub, uint64_t stream) {
  double mu[D3] = {0.7, -1.3, 2.1}, gam[D3] = {0.8, -0.5, 0.3};
  double sigma[D3 * D3] = {2.0, 0.6, -0.4, 0.6, 1.5, 0.3, -0.4, 0.3, 1.0};
  double chol[D3 * D3];
  const double logdet = chol3(sigma, chol);
  const nvmm_model m = {.family = fam,
                        .d = D3,
                        .mu = mu,
                        .gamma = gam,
                        .sigma = sigma,
                        .chol = chol,
                        .logdet = logdet,
                        .sub = sub};
  const size_t n = N_MOMENT;
  double *x = malloc(n * D3 * sizeof *x), *y = malloc(n * sizeof *y);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  gsl_rng *rng = stream_rng(stream);
  ck_assert_ok(nvmm_model_sample(&m, rng, n, x, y));
  gsl_rng_free(rng);

  double ey, vy, c4;
  exact_moments(&sub, 1.0, &ey, &vy, &c4);
  double mean[D3] = {0}, rmean[D3] = {0};
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < D3; j++)
      mean[j] += x[i * D3 + j] / (double)n;
  double cov[D3 * D3] = {0}, cov2[D3 * D3] = {0}, rcov[D3 * D3] = {0};
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * D3;
    double r[D3];
    for (size_t j = 0; j < D3; j++) {
      r[j] = (xi[j] - mu[j] - gam[j] * y[i]) / sqrt(y[i]);
      rmean[j] += r[j] / (double)n;
    }
    for (size_t j = 0; j < D3; j++)
      for (size_t k = 0; k <= j; k++) {
        const double pr = (xi[j] - mean[j]) * (xi[k] - mean[k]);
        cov[j * D3 + k] += pr;
        cov2[j * D3 + k] += pr * pr;
        rcov[j * D3 + k] += r[j] * r[k];
      }
  }
  char what[32];
  for (size_t j = 0; j < D3; j++) {
    const double cjj = ey * sigma[j * D3 + j] + vy * gam[j] * gam[j];
    snprintf(what, sizeof what, "E X%zu", j);
    check_z(label, what, mean[j], mu[j] + gam[j] * ey, sqrt(cjj / (double)n));
    snprintf(what, sizeof what, "E R%zu", j);
    check_z(label, what, rmean[j], 0.0, sqrt(sigma[j * D3 + j] / (double)n));
    for (size_t k = 0; k <= j; k++) {
      const double s = cov[j * D3 + k] / (double)n;
      const double vprod = cov2[j * D3 + k] / (double)n - s * s;
      snprintf(what, sizeof what, "C%zu%zu", j, k);
      check_z(label, what, s, ey * sigma[j * D3 + k] + vy * gam[j] * gam[k],
              sqrt(vprod / (double)n));
      const double sjk = sigma[j * D3 + k];
      snprintf(what, sizeof what, "CR%zu%zu", j, k);
      check_z(label, what, rcov[j * D3 + k] / (double)n, sjk,
              sqrt((sigma[j * D3 + j] * sigma[k * D3 + k] + sjk * sjk) / (double)n));
    }
  }
  double sy = 0.0;
  for (size_t i = 0; i < n; i++)
    sy += y[i];
  check_z(label, "E Y", sy / (double)n, ey, sqrt(vy / (double)n));
  free(x);
  free(y);
}

START_TEST(test_mixture_nig) {
  check_mixture("NIG", NVMM_FAMILY_NIG, (nvmm_sub){NVMM_SUB_INVGAUSS, {1.3, 0.9, 0.0}}, 300);
}
END_TEST

/* A model built by nvmm_model_alloc / nvmm_model_set samples what the hand-built struct above
 * samples: the same generator calls, and L from the library's Cholesky factorization, which
 * differs from chol3's by rounding only (TOL2: a few operations on entries of size ~1). */
START_TEST(test_mixture_model_api) {
  double mu[D3] = {0.7, -1.3, 2.1}, gam[D3] = {0.8, -0.5, 0.3};
  double sigma[D3 * D3] = {2.0, 0.6, -0.4, 0.6, 1.5, 0.3, -0.4, 0.3, 1.0}, chol[D3 * D3];
  const nvmm_sub sub = {NVMM_SUB_GIG, {-1.7, 0.8, 2.6}};
  const nvmm_model hand = {NVMM_FAMILY_GH, D3, mu, gam, sigma, chol, chol3(sigma, chol), sub};
  nvmm_model *m = NULL;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_GH, D3, &m));
  ck_assert_ok(nvmm_model_set(m, mu, gam, sigma, &sub));
  enum { N = 100 };
  static double x1[N * D3], x2[N * D3], y1[N], y2[N];
  gsl_rng *rng = stream_rng(302);
  ck_assert_ok(nvmm_model_sample(m, rng, N, x1, y1));
  nvmm_rng_reseed(rng, SEED, 302);
  ck_assert_ok(nvmm_model_sample(&hand, rng, N, x2, y2));
  gsl_rng_free(rng);
  ck_assert_mem_eq(y1, y2, sizeof y1);
  for (size_t i = 0; i < N * D3; i++)
    ck_assert_close(x1[i], x2[i], NVMM_TEST_TOL2);
  nvmm_model_free(&m);
}
END_TEST

START_TEST(test_mixture_gh) {
  check_mixture("GH", NVMM_FAMILY_GH, (nvmm_sub){NVMM_SUB_GIG, {-1.7, 0.8, 2.6}}, 301);
}
END_TEST

/* Reproducibility --------------------------------------------------------------------------- */

static const nvmm_sub repro_subs[] = {
    {NVMM_SUB_GAMMA, {0.4, 1.1, 0.0}},
    {NVMM_SUB_INVGAMMA, {2.2, 0.7, 0.0}},
    {NVMM_SUB_INVGAUSS, {1.3, 0.6, 0.0}},
    {NVMM_SUB_GIG, {0.3, 1.4, 2.9}},
};

#define N_REPRO 1000

START_TEST(test_streams_reproducible) {
  for (size_t c = 0; c < sizeof repro_subs / sizeof repro_subs[0]; c++) {
    static double y1[N_REPRO], y2[N_REPRO], y3[N_REPRO];
    gsl_rng *r1 = NULL, *r2 = NULL, *r3 = NULL;
    ck_assert_ok(nvmm_rng_stream(SEED, 7, &r1));
    ck_assert_ok(nvmm_rng_stream(SEED, 7, &r2));
    ck_assert_ok(nvmm_rng_stream(SEED, 8, &r3));
    ck_assert_ok(nvmm_sub_sample(&repro_subs[c], r1, N_REPRO, y1));
    ck_assert_ok(nvmm_sub_sample(&repro_subs[c], r2, N_REPRO, y2));
    ck_assert_ok(nvmm_sub_sample(&repro_subs[c], r3, N_REPRO, y3));
    ck_assert_mem_eq(y1, y2, sizeof y1);
    /* A continuous law: equal draws from two streams would mean shared state. */
    for (size_t i = 0; i < N_REPRO; i++)
      ck_assert_msg(y1[i] != y3[i], "streams 7 and 8 agree at draw %zu", i);
    /* Reseeding restarts the stream. */
    nvmm_rng_reseed(r3, SEED, 7);
    ck_assert_ok(nvmm_sub_sample(&repro_subs[c], r3, N_REPRO, y3));
    ck_assert_mem_eq(y1, y3, sizeof y1);
    gsl_rng_free(r1);
    gsl_rng_free(r2);
    gsl_rng_free(r3);
  }
}
END_TEST

START_TEST(test_model_reproducible) {
  double mu[D3] = {0.7, -1.3, 2.1}, gam[D3] = {0.8, -0.5, 0.3};
  double sigma[D3 * D3] = {2.0, 0.6, -0.4, 0.6, 1.5, 0.3, -0.4, 0.3, 1.0}, chol[D3 * D3];
  const double logdet = chol3(sigma, chol);
  const nvmm_model m = {NVMM_FAMILY_GH, D3,   mu,     gam,
                        sigma,          chol, logdet, {NVMM_SUB_GIG, {0.3, 1.4, 2.9}}};
  enum { N = 200 };
  static double x1[N * D3], x2[N * D3], y1[N], y2[N];
  gsl_rng *rng = stream_rng(9);
  ck_assert_ok(nvmm_model_sample(&m, rng, N, x1, y1));
  nvmm_rng_reseed(rng, SEED, 9);
  ck_assert_ok(nvmm_model_sample(&m, rng, N, x2, NULL)); /* y = NULL draws the same numbers */
  ck_assert_mem_eq(x1, x2, sizeof x1);
  /* And with y requested, the latent column is reproduced as well. */
  nvmm_rng_reseed(rng, SEED, 9);
  ck_assert_ok(nvmm_model_sample(&m, rng, N, x2, y2));
  ck_assert_mem_eq(y1, y2, sizeof y1);
  gsl_rng_free(rng);

  /* The Gaussian family: Y = 1, X = mu + gamma + L Z. */
  const nvmm_model g = {
      NVMM_FAMILY_GAUSS, D3, mu, gam, sigma, chol, logdet, {NVMM_SUB_DEGENERATE, {0.0, 0.0, 0.0}}};
  rng = stream_rng(10);
  ck_assert_ok(nvmm_model_sample(&g, rng, N, x1, y1));
  nvmm_rng_reseed(rng, SEED, 10);
  for (size_t i = 0; i < N; i++) {
    ck_assert(y1[i] == 1.0);
    double z[D3];
    for (size_t j = 0; j < D3; j++)
      z[j] = gsl_ran_gaussian_ziggurat(rng, 1.0);
    for (size_t j = 0; j < D3; j++) {
      double lz = 0.0;
      for (size_t k = 0; k <= j; k++)
        lz += chol[j * D3 + k] * z[k];
      /* Same operations up to the order of one addition: TOL1. */
      ck_assert_close(x1[i * D3 + j], mu[j] + gam[j] + lz, NVMM_TEST_TOL1);
    }
  }
  gsl_rng_free(rng);
}
END_TEST

static int cmp_u64(const void *a, const void *b) {
  const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* 2^18 neighbouring (seed, stream) pairs have distinct starting points: the first 64 output bits
 * never repeat. With a 32-bit seed mix (GSL's built-in generators) such a grid collides; with
 * 64 independent bits a repeat has probability 2^36 / 2^64 = 4e-9. Also gsl_rng_set(r, s) is
 * stream 0 of seed s, and the generator reports a 32-bit range. */
START_TEST(test_stream_seeding) {
  enum { GRID = 512 };
  uint64_t *first = malloc((size_t)GRID * GRID * sizeof *first);
  ck_assert_ptr_nonnull(first);
  gsl_rng *rng = stream_rng(0);
  ck_assert_uint_eq(gsl_rng_max(rng), 0xffffffffUL);
  ck_assert_uint_eq(gsl_rng_min(rng), 0);
  for (uint64_t s = 0; s < GRID; s++)
    for (uint64_t t = 0; t < GRID; t++) {
      nvmm_rng_reseed(rng, s, t);
      const uint64_t hi = gsl_rng_get(rng), lo = gsl_rng_get(rng);
      first[s * GRID + t] = (hi << 32) | lo;
    }
  qsort(first, (size_t)GRID * GRID, sizeof *first, cmp_u64);
  size_t repeats = 0;
  for (size_t i = 1; i < (size_t)GRID * GRID; i++)
    repeats += first[i] == first[i - 1];
  ck_assert_msg(repeats == 0, "%zu (seed, stream) pairs share a start", repeats);
  free(first);

  gsl_rng *r2 = stream_rng(0);
  gsl_rng_set(rng, 12345);
  nvmm_rng_reseed(r2, 12345, 0);
  for (int i = 0; i < 100; i++)
    ck_assert_uint_eq(gsl_rng_get(rng), gsl_rng_get(r2));
  gsl_rng_free(r2);
  gsl_rng_free(rng);
}
END_TEST

/* Uniform output of neighbouring streams: mean 1/2, variance 1/12, and no linear correlation
 * between streams k and k + 1 of one seed (SE of a correlation of independent variables is
 * 1/sqrt(n)); the top and bottom of the 32-bit range are both reached. */
START_TEST(test_stream_uniform) {
  const size_t n = N_MOMENT;
  gsl_rng *ra = stream_rng(11), *rb = stream_rng(12);
  double su = 0.0, suu = 0.0, sab = 0.0;
  unsigned long int gmax = 0, gmin = 0xffffffffUL;
  for (size_t i = 0; i < n; i++) {
    const double u = gsl_rng_uniform(ra), v = gsl_rng_uniform(rb);
    su += u;
    suu += (u - 0.5) * (u - 0.5);
    sab += (u - 0.5) * (v - 0.5);
    const unsigned long int g = gsl_rng_get(ra);
    gmax = g > gmax ? g : gmax;
    gmin = g < gmin ? g : gmin;
  }
  check_z("uniform", "mean", su / (double)n, 0.5, sqrt(1.0 / 12.0 / (double)n));
  /* Var of (U - 1/2)^2 is 1/80 - 1/144 = 1/180. */
  check_z("uniform", "var", suu / (double)n, 1.0 / 12.0, sqrt(1.0 / 180.0 / (double)n));
  check_z("uniform", "corr", sab / (double)n * 12.0, 0.0, 1.0 / sqrt((double)n));
  /* With 1e6 draws the extremes are within ~4300 * 20 of the ends with overwhelming odds. */
  ck_assert_uint_gt(gmax, 0xffffffffUL - 100000UL);
  ck_assert_uint_lt(gmin, 100000UL);
  gsl_rng_free(ra);
  gsl_rng_free(rb);
}
END_TEST

/* Errors ------------------------------------------------------------------------------------ */

static void expect_error(nvmm_status st, nvmm_status code, const char *needle) {
  ck_assert_msg(st == code, "got %s, expected %s (%s)", nvmm_strerror(st), nvmm_strerror(code),
                nvmm_last_error());
  ck_assert_msg(strstr(nvmm_last_error(), needle) != NULL, "message '%s' does not name '%s'",
                nvmm_last_error(), needle);
}

START_TEST(test_bad_input) {
  gsl_rng *rng = stream_rng(13);
  double y[4];
  static const struct {
    nvmm_sub sub;
    const char *needle;
  } bad[] = {
      {{NVMM_SUB_GAMMA, {0.0, 1.0, 0.0}}, "alpha"},
      {{NVMM_SUB_GAMMA, {-1.0, 1.0, 0.0}}, "alpha"},
      {{NVMM_SUB_GAMMA, {NAN, 1.0, 0.0}}, "alpha"},
      {{NVMM_SUB_GAMMA, {1.0, INFINITY, 0.0}}, "beta"},
      {{NVMM_SUB_INVGAMMA, {2.0, -0.5, 0.0}}, "beta"},
      {{NVMM_SUB_INVGAMMA, {INFINITY, 0.5, 0.0}}, "alpha"},
      {{NVMM_SUB_INVGAUSS, {0.0, 1.0, 0.0}}, "mu"},
      {{NVMM_SUB_INVGAUSS, {1.0, NAN, 0.0}}, "lambda"},
      {{NVMM_SUB_GIG, {NAN, 1.0, 1.0}}, "p"},
      {{NVMM_SUB_GIG, {INFINITY, 1.0, 1.0}}, "p"},
      {{NVMM_SUB_GIG, {0.5, -1.0, 1.0}}, "a ="},
      {{NVMM_SUB_GIG, {0.5, 1.0, -1e-300}}, "b ="},
      {{NVMM_SUB_GIG, {0.5, 1.0, INFINITY}}, "b ="},
      {{NVMM_SUB_GIG, {0.5, 0.0, 0.0}}, "a and b"},
      {{NVMM_SUB_GIG, {0.0, 0.0, 1.0}}, "p < 0"},
      {{NVMM_SUB_GIG, {-0.5, 1.0, 0.0}}, "p > 0"},
  };
  for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++)
    expect_error(nvmm_sub_sample(&bad[c].sub, rng, 4, y), NVMM_EDOM, bad[c].needle);
  const nvmm_sub ok = {NVMM_SUB_GAMMA, {1.0, 1.0, 0.0}};
  const nvmm_sub unknown = {(nvmm_sub_kind)42, {1.0, 1.0, 1.0}};
  expect_error(nvmm_sub_sample(&unknown, rng, 4, y), NVMM_EINVAL, "kind");
  expect_error(nvmm_sub_sample(NULL, rng, 4, y), NVMM_EINVAL, "NULL");
  expect_error(nvmm_sub_sample(&ok, NULL, 4, y), NVMM_EINVAL, "rng");
  expect_error(nvmm_sub_sample(&ok, rng, 4, NULL), NVMM_EINVAL, "y is NULL");
  expect_error(nvmm_rng_stream(1, 2, NULL), NVMM_EINVAL, "out");

  double mu[2] = {0.0, 0.0}, gam[2] = {0.0, 0.0}, sig[4] = {1.0, 0.0, 0.0, 1.0};
  double chol[4] = {1.0, 0.0, 0.0, 1.0}, x[8];
  nvmm_model m = {NVMM_FAMILY_VG, 2, mu, gam, sig, chol, 0.0, {NVMM_SUB_GAMMA, {1.0, 1.0, 0.0}}};
  ck_assert_ok(nvmm_model_sample(&m, rng, 4, x, y));
  expect_error(nvmm_model_sample(NULL, rng, 4, x, y), NVMM_EINVAL, "model is NULL");
  expect_error(nvmm_model_sample(&m, NULL, 4, x, y), NVMM_EINVAL, "rng");
  expect_error(nvmm_model_sample(&m, rng, 4, NULL, y), NVMM_EINVAL, "x is NULL");
  m.chol = NULL;
  expect_error(nvmm_model_sample(&m, rng, 4, x, y), NVMM_EINVAL, "chol");
  m.chol = chol;
  m.d = 0;
  expect_error(nvmm_model_sample(&m, rng, 4, x, y), NVMM_EINVAL, "d = 0");
  m.d = 2;
  m.sub.par[1] = -2.0;
  expect_error(nvmm_model_sample(&m, rng, 4, x, y), NVMM_EDOM, "beta");
  m.sub.par[1] = 1.0;
  expect_error(nvmm_model_sample(&m, rng, SIZE_MAX, x, y), NVMM_EINVAL, "overflows");
  gsl_rng_free(rng);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("sample");
  TCase *tc = tcase_create("streams");
  tcase_add_test(tc, test_streams_reproducible);
  tcase_add_test(tc, test_model_reproducible);
  tcase_add_test(tc, test_stream_seeding);
  tcase_add_test(tc, test_stream_uniform);
  suite_add_tcase(s, tc);
  tc = tcase_create("subordinators");
  tcase_add_test(tc, test_sub_moments);
  tcase_add_test(tc, test_degenerate);
  tcase_add_test(tc, test_gig_limits_dispatch);
  tcase_add_test(tc, test_gig_ks);
  tcase_add_test(tc, test_gig_ks_power);
  suite_add_tcase(s, tc);
  tc = tcase_create("mixtures");
  tcase_add_test(tc, test_mixture_nig);
  tcase_add_test(tc, test_mixture_gh);
  tcase_add_test(tc, test_mixture_model_api);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_test(tc, test_bad_input);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
