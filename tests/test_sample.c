/* test_sample.c: the seeded streams and the mixture sampler: mixture moments
 * (src/numerics.md 2.6) and the latent column, the model API against a hand-built model,
 * reproducibility and seeding of streams, and every error path. The subordinator samplers are
 * tested in test_sample_sub.c. */
#include <string.h>

#include <gsl/gsl_randist.h>

#include "nvmm_test_sample.h"

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
  const nvmm_model hand = {NVMM_FAMILY_GH, D3, mu, gam, sigma, chol, chol3(sigma, chol), sub, NULL};
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
  const nvmm_model m = {
      NVMM_FAMILY_GH, D3, mu, gam, sigma, chol, logdet, {NVMM_SUB_GIG, {0.3, 1.4, 2.9}}, NULL};
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
  const nvmm_model g = {NVMM_FAMILY_GAUSS,
                        D3,
                        mu,
                        gam,
                        sigma,
                        chol,
                        logdet,
                        {NVMM_SUB_DEGENERATE, {0.0, 0.0, 0.0}},
                        NULL};
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
  nvmm_model m = {
      NVMM_FAMILY_VG, 2, mu, gam, sig, chol, 0.0, {NVMM_SUB_GAMMA, {1.0, 1.0, 0.0}}, NULL};
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
