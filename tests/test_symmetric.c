/* test_symmetric.c: the symmetric M-step (gamma = 0; src/numerics.md 5.1): it inverts the
 * population expectations of a symmetric model of every family, and on those of a skewed one
 * it returns the closed form mu + gamma / E[1/Y], Sigma + (E[Y] - 1 / E[1/Y]) gamma gamma^T
 * derived by hand from the complete-data likelihood with gamma held at 0. The expectations
 * come from nvmm_model_eta (itself checked against closed forms in test_incremental). */
#include "nvmm_test.h"

static const double subs[NVMM_FAMILY_COUNT][3] = {{0, 0, 0},     {2.6, 1.4, 0},    {3.2, 2.1, 0},
                                                  {1.2, 1.9, 0}, {-1.3, 1.6, 2.2}, {2.0, 1.6, 2.2}};

static nvmm_model *model(nvmm_family f, int skewed) {
  const double mu[3] = {0.2, -0.4, 1.1}, g[3] = {0.38, -0.27, 0.15}, zero[3] = {0, 0, 0};
  const double sigma[9] = {1.1, 0.25, 0.1, 0.25, 1.3, -0.2, 0.1, -0.2, 0.9};
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(f, 3, &m));
  nvmm_sub sub = {NVMM_SUB_DEGENERATE, {0, 0, 0}};
  if (f != NVMM_FAMILY_GAUSS)
    ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(f), subs[f], &sub));
  ck_assert_ok(nvmm_model_set(m, mu, skewed && f != NVMM_FAMILY_GAUSS ? g : zero, sigma, &sub));
  return m;
}

/* A symmetric model's own expectations give it back: mu and Sigma are closed-form arithmetic on
 * numbers of order 1 (1e-12); the subordinator as in test_em's inversion (GIG 1e-10, others
 * 1e-12); gamma exactly 0. */
START_TEST(test_symmetric_inverts) {
  const nvmm_mstep_opts o = {.symmetric = 1};
  for (int f = 0; f < NVMM_FAMILY_COUNT; f++) {
    nvmm_model *m = model((nvmm_family)f, 0), *next = model((nvmm_family)f, 1);
    double eta[32], scratch[32];
    ck_assert_ok(nvmm_model_eta(m, NULL, eta, NULL));
    nvmm_mstep_counts c = {0};
    ck_assert_ok(nvmm_mstep(eta, next, next, &o, &c, scratch));
    for (int j = 0; j < 3; j++) {
      ck_assert(next->gamma[j] == 0.0);
      ck_assert_close(next->mu[j], m->mu[j], 1e-12);
      for (int k = 0; k < 3; k++)
        ck_assert_close(next->sigma[j * 3 + k], m->sigma[j * 3 + k], 1e-12);
    }
    for (int k = 0; k < 3; k++)
      ck_assert_close(next->sub.par[k], m->sub.par[k], m->sub.kind == NVMM_SUB_GIG ? 1e-10 : 1e-12);
    ck_assert_int_eq(c.gig_fallback + c.d_floor + c.sigma_ridge, 0);
    nvmm_model_free(&m);
    nvmm_model_free(&next);
  }
}
END_TEST

/* A skewed population: with gamma held at 0 the Gaussian block maximizes
 * sum_i E[-log|Sigma|/2 - (x_i - mu)^T Sigma^-1 (x_i - mu) / (2 Y_i)], so mu = E[X/Y] / E[1/Y]
 * = mu + gamma / u and Sigma = E[XX^T/Y] - u m m^T = Sigma + (v - 1/u) gamma gamma^T, with u =
 * E[1/Y], v = E[Y] of the population (closed forms of test_incremental's checked eta). */
START_TEST(test_symmetric_skewed) {
  const nvmm_mstep_opts o = {.symmetric = 1};
  for (int f = 1; f < NVMM_FAMILY_COUNT; f++) {
    nvmm_model *m = model((nvmm_family)f, 1), *next = model((nvmm_family)f, 1);
    double eta[32], scratch[32];
    ck_assert_ok(nvmm_model_eta(m, NULL, eta, NULL));
    const double u = eta[NVMM_ST_U], v = eta[NVMM_ST_V];
    ck_assert_ok(nvmm_mstep_normal(eta, next, next, &o, NULL, scratch));
    for (int j = 0; j < 3; j++) {
      ck_assert(next->gamma[j] == 0.0);
      ck_assert_close(next->mu[j], m->mu[j] + m->gamma[j] / u, 1e-12);
      for (int k = 0; k < 3; k++)
        ck_assert_close(next->sigma[j * 3 + k],
                        m->sigma[j * 3 + k] + (v - 1.0 / u) * m->gamma[j] * m->gamma[k], 1e-12);
    }
    nvmm_model_free(&m);
    nvmm_model_free(&next);
  }
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("symmetric");
  TCase *tc = tcase_create("mstep");
  tcase_add_test(tc, test_symmetric_inverts);
  tcase_add_test(tc, test_symmetric_skewed);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
