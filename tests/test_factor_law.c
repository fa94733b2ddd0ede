/* test_factor_law.c: what the program does with a factor model besides fitting it
 * (src/numerics.md 3.4, 9.3, 9.4): the law of w^T X, its CDF, quantile, density, VaR and ES, and
 * the row log-density against the same model with the dense Sigma = F F^T + diag(D); the
 * sampler's mean and covariance against the closed forms (src/numerics.md 2.6), its generator
 * order replayed by hand, and its reproducibility. Every factor-path call runs with the model's
 * sigma and chol set to NULL, so a read of them would crash the test. */
#include <gsl/gsl_randist.h>

#include "nvmm_test_sample.h"

#define D5 5
#define R2 2

/* Factor path against dense path: the dense path gets w^T Sigma w as |L^T w|^2 and the factor
 * path as |F^T w|^2 + sum w_j^2 D_j, the same number from O(d^2) resp. O(d r) roundings of
 * entries of order 1 (Sigma's condition number here is below 50), so s2 differs by a few
 * hundred ulp at most; the CDF, quantile and ES are smooth in s2 with O(1) derivatives relative
 * to their values, and the quadratures are the same code on the same nodes, so 1e-12 relative
 * (4500 eps) holds with margin while any wrong term shows at order 1. */
#define LAW_TOL 1e-12

static const double F0[D5 * R2] = {0.9, 0.1, -0.4, 0.7, 0.3, -0.5, 1.1, 0.2, -0.2, 0.6};
static const double D0[D5] = {0.5, 0.3, 0.8, 0.2, 0.4};
static const double MU0[D5] = {0.7, -1.3, 2.1, 0.0, -0.4};
static const double GAM0[D5] = {0.8, -0.5, 0.3, 0.1, -0.2};

/* Sigma = F F^T + diag(D), written out here (not by the library). */
static void dense_sigma(double *sigma) {
  for (size_t i = 0; i < D5; i++)
    for (size_t j = 0; j < D5; j++) {
      double s = i == j ? D0[i] : 0.0;
      for (size_t k = 0; k < R2; k++)
        s += F0[i * R2 + k] * F0[j * R2 + k];
      sigma[i * D5 + j] = s;
    }
}

/* The factor model (sigma and chol hidden: see hide) and the same law with the dense Sigma. */
typedef struct pair {
  nvmm_model *fm, *dm;
  double *sigma, *chol; /* fm's, restored before it is freed */
} pair;

static pair make_pair(nvmm_family fam, const nvmm_sub *sub) {
  pair p = {NULL, NULL, NULL, NULL};
  double sigma[D5 * D5];
  dense_sigma(sigma);
  const double *g = fam == NVMM_FAMILY_GAUSS ? NULL : GAM0;
  ck_assert_ok(nvmm_model_alloc(fam, D5, &p.fm));
  ck_assert_ok(nvmm_model_alloc(fam, D5, &p.dm));
  ck_assert_ok(nvmm_model_set_factor(p.fm, MU0, g, R2, F0, D0, sub));
  ck_assert_ok(nvmm_model_set(p.dm, MU0, g, sigma, sub));
  ck_assert_ptr_null(p.dm->factor);
  /* A factor-only model: the factor paths must not read sigma or chol. */
  p.sigma = p.fm->sigma;
  p.chol = p.fm->chol;
  p.fm->sigma = p.fm->chol = NULL;
  return p;
}

static void free_pair(pair *p) {
  p->fm->sigma = p->sigma;
  p->fm->chol = p->chol;
  nvmm_model_free(&p->fm);
  nvmm_model_free(&p->dm);
}

static const struct {
  nvmm_family fam;
  nvmm_sub sub;
} cases[] = {
    {NVMM_FAMILY_NIG, {NVMM_SUB_INVGAUSS, {1.3, 0.9, 0.0}}},
    {NVMM_FAMILY_GH, {NVMM_SUB_GIG, {-1.7, 0.8, 2.6}}},
    {NVMM_FAMILY_VG, {NVMM_SUB_GAMMA, {2.5, 2.0, 0.0}}},
    {NVMM_FAMILY_NINVG, {NVMM_SUB_INVGAMMA, {3.5, 2.0, 0.0}}},
    {NVMM_FAMILY_GAUSS, {NVMM_SUB_DEGENERATE, {0.0, 0.0, 0.0}}},
};
#define NCASES (sizeof cases / sizeof *cases)

START_TEST(test_margins) {
  const nvmm_family fam = cases[_i].fam;
  pair p = make_pair(fam, &cases[_i].sub);
  /* Every coordinate, the equal-weight portfolio and a long-short one. */
  double w[D5 + 2][D5] = {{0}};
  for (size_t j = 0; j < D5; j++) {
    w[j][j] = 1.0;
    w[D5][j] = 1.0 / D5;
  }
  const double ls[D5] = {0.5, -0.3, 0.2, 0.4, -0.1};
  memcpy(w[D5 + 1], ls, sizeof ls);
  double sigma[D5 * D5];
  dense_sigma(sigma);
  for (size_t c = 0; c < D5 + 2; c++) {
    nvmm_uv uf, ud;
    ck_assert_ok(nvmm_uv_from_model(p.fm, w[c], &uf));
    ck_assert_ok(nvmm_uv_from_model(p.dm, w[c], &ud));
    /* w^T Sigma w written out from the test's own Sigma. */
    double s2 = 0.0;
    for (size_t i = 0; i < D5; i++)
      for (size_t j = 0; j < D5; j++)
        s2 += w[c][i] * sigma[i * D5 + j] * w[c][j];
    ck_assert_rel(uf.s2, s2, LAW_TOL);
    ck_assert_rel(uf.s2, ud.s2, LAW_TOL);
    ck_assert(uf.mu == ud.mu && uf.gamma == ud.gamma);
    const double sd = sqrt(s2);
    for (int k = -3; k <= 3; k++) {
      double x = ud.mu + k * sd, pf, pd, lf, ld;
      ck_assert_ok(nvmm_uv_cdf(&uf, x, &pf, NULL));
      ck_assert_ok(nvmm_uv_cdf(&ud, x, &pd, NULL));
      ck_assert_rel(pf, pd, LAW_TOL);
      ck_assert_ok(nvmm_uv_logpdf(&uf, x, &lf));
      ck_assert_ok(nvmm_uv_logpdf(&ud, x, &ld));
      ck_assert_msg(fabs(lf - ld) <= LAW_TOL * fmax(1.0, fabs(ld)), "logpdf %g %g", lf, ld);
    }
    const double probs[] = {0.001, 0.05, 0.5, 0.95, 0.999};
    for (size_t k = 0; k < sizeof probs / sizeof *probs; k++) {
      double qf, qd;
      ck_assert_ok(nvmm_uv_quantile(&uf, probs[k], &qf));
      ck_assert_ok(nvmm_uv_quantile(&ud, probs[k], &qd));
      /* Relative to the scale: a quantile may cross zero. The quantile's own tolerance (1e-10
       * in p) is met identically by both, being the same iteration on nearly the same F. */
      ck_assert_msg(fabs(qf - qd) <= LAW_TOL * fmax(sd, fabs(qd)), "quantile %g: %.17g %.17g",
                    probs[k], qf, qd);
    }
    double vf, ef, vd, ed;
    ck_assert_ok(nvmm_uv_var_es(&uf, 0.99, &vf, &ef));
    ck_assert_ok(nvmm_uv_var_es(&ud, 0.99, &vd, &ed));
    ck_assert_msg(fabs(vf - vd) <= LAW_TOL * fmax(sd, fabs(vd)), "VaR %.17g %.17g", vf, vd);
    ck_assert_msg(fabs(ef - ed) <= LAW_TOL * fmax(sd, fabs(ed)), "ES %.17g %.17g", ef, ed);
  }
  /* The row log-density (what nvmm score writes): nvmm_factor_logpdf on the factor-only model
   * against nvmm_model_logpdf on the dense one (FACTOR_TOL of test_factor.c, the same reason). */
  enum { N = 16 };
  double x[N * D5], lf[N], ld[N];
  double scratch[2 * (D5 + R2)];
  ck_assert_uint_ge(sizeof scratch / sizeof *scratch, nvmm_factor_scratch_len(D5, R2));
  gsl_rng *rng = stream_rng(400 + (uint64_t)_i);
  for (size_t t = 0; t < N * D5; t++)
    x[t] = MU0[t % D5] + gsl_ran_gaussian(rng, 2.0);
  gsl_rng_free(rng);
  ck_assert_ok(nvmm_factor_logpdf(p.fm, p.fm->factor, N, x, lf, scratch));
  ck_assert_ok(nvmm_model_logpdf(p.dm, N, x, ld, scratch));
  for (size_t i = 0; i < N; i++)
    ck_assert_msg(fabs(lf[i] - ld[i]) <= LAW_TOL * fmax(1.0, fabs(ld[i])), "row %zu: %.17g %.17g",
                  i, lf[i], ld[i]);
  free_pair(&p);
}
END_TEST

/* The sampler's generator order, replayed: per row Y, then z_0..z_{r-1}, then e_0..e_{d-1}
 * (src/numerics.md 9.3), X = mu + gamma Y + sqrt(Y) (F z + sqrt(D) e). The replay does the same
 * operations up to the order of the additions in F z (TOL2: a few roundings of O(1) terms). And
 * the same stream gives the same rows bitwise, with or without the latent column. */
START_TEST(test_sample_replay) {
  const nvmm_sub sub = {NVMM_SUB_GIG, {0.3, 1.4, 2.9}};
  pair p = make_pair(NVMM_FAMILY_GH, &sub);
  enum { N = 200 };
  static double x1[N * D5], x2[N * D5], y1[N], y2[N];
  gsl_rng *rng = stream_rng(410);
  ck_assert_ok(nvmm_model_sample(p.fm, rng, N, x1, y1));
  nvmm_rng_reseed(rng, SEED, 410);
  ck_assert_ok(nvmm_model_sample(p.fm, rng, N, x2, NULL));
  ck_assert_mem_eq(x1, x2, sizeof x1);
  nvmm_rng_reseed(rng, SEED, 410);
  ck_assert_ok(nvmm_model_sample(p.fm, rng, N, x2, y2));
  ck_assert_mem_eq(x1, x2, sizeof x1);
  ck_assert_mem_eq(y1, y2, sizeof y1);
  nvmm_rng_reseed(rng, SEED, 410);
  for (size_t i = 0; i < N; i++) {
    double y, z[R2], e[D5];
    ck_assert_ok(nvmm_sub_sample(&sub, rng, 1, &y));
    ck_assert(y == y1[i]);
    for (size_t k = 0; k < R2; k++)
      z[k] = gsl_ran_gaussian_ziggurat(rng, 1.0);
    for (size_t j = 0; j < D5; j++)
      e[j] = gsl_ran_gaussian_ziggurat(rng, 1.0);
    for (size_t j = 0; j < D5; j++) {
      double fz = 0.0;
      for (size_t k = 0; k < R2; k++)
        fz += F0[j * R2 + k] * z[k];
      double want = MU0[j] + GAM0[j] * y + sqrt(y) * (fz + sqrt(D0[j]) * e[j]);
      ck_assert_close(x1[i * D5 + j], want, NVMM_TEST_TOL2);
    }
  }
  gsl_rng_free(rng);
  free_pair(&p);
}
END_TEST

/* N_MOMENT rows of a factor NIG against E X = mu + gamma E Y and Cov X = E[Y] Sigma +
 * Var[Y] gamma gamma^T (src/numerics.md 2.6), Sigma = F F^T + diag(D) written out by the test,
 * each within Z_MAX standard errors (nvmm_test_sample.h: the bound and its false-alarm rate; the
 * covariance's SE from the sample's own 4th moments as in test_sample.c), and the latent
 * residual (X - mu - gamma y) / sqrt(y) against N(0, Sigma) with the exact SE
 * sqrt((S_jj S_kk + S_jk^2) / n) (Isserlis). 15 + 15 + 5 checks. */
START_TEST(test_sample_moments) {
  const nvmm_sub sub = {NVMM_SUB_INVGAUSS, {1.3, 0.9, 0.0}};
  pair p = make_pair(NVMM_FAMILY_NIG, &sub);
  double sigma[D5 * D5];
  dense_sigma(sigma);
  const size_t n = N_MOMENT;
  double *x = malloc(n * D5 * sizeof *x), *y = malloc(n * sizeof *y);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(y);
  gsl_rng *rng = stream_rng(411);
  ck_assert_ok(nvmm_model_sample(p.fm, rng, n, x, y));
  gsl_rng_free(rng);
  double ey, vy, c4;
  exact_moments(&sub, 1.0, &ey, &vy, &c4);
  double mean[D5] = {0};
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < D5; j++)
      mean[j] += x[i * D5 + j] / (double)n;
  double cov[D5 * D5] = {0}, cov2[D5 * D5] = {0}, rcov[D5 * D5] = {0};
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * D5;
    double r[D5];
    for (size_t j = 0; j < D5; j++)
      r[j] = (xi[j] - MU0[j] - GAM0[j] * y[i]) / sqrt(y[i]);
    for (size_t j = 0; j < D5; j++)
      for (size_t k = 0; k <= j; k++) {
        const double pr = (xi[j] - mean[j]) * (xi[k] - mean[k]);
        cov[j * D5 + k] += pr;
        cov2[j * D5 + k] += pr * pr;
        rcov[j * D5 + k] += r[j] * r[k];
      }
  }
  char what[32];
  for (size_t j = 0; j < D5; j++) {
    const double cjj = ey * sigma[j * D5 + j] + vy * GAM0[j] * GAM0[j];
    snprintf(what, sizeof what, "E X%zu", j);
    check_z("factor NIG", what, mean[j], MU0[j] + GAM0[j] * ey, sqrt(cjj / (double)n));
    for (size_t k = 0; k <= j; k++) {
      const double s = cov[j * D5 + k] / (double)n, sjk = sigma[j * D5 + k];
      snprintf(what, sizeof what, "C%zu%zu", j, k);
      check_z("factor NIG", what, s, ey * sjk + vy * GAM0[j] * GAM0[k],
              sqrt((cov2[j * D5 + k] / (double)n - s * s) / (double)n));
      snprintf(what, sizeof what, "CR%zu%zu", j, k);
      check_z("factor NIG", what, rcov[j * D5 + k] / (double)n, sjk,
              sqrt((sigma[j * D5 + j] * sigma[k * D5 + k] + sjk * sjk) / (double)n));
    }
  }
  free(x);
  free(y);
  free_pair(&p);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("factor_law");
  TCase *tc = tcase_create("factor_law");
  tcase_add_loop_test(tc, test_margins, 0, (int)NCASES);
  tcase_add_test(tc, test_sample_replay);
  tcase_add_test(tc, test_sample_moments);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
