/* test_select.c: model choice (include/nvmm/select.h): free parameters against the formula of
 * each family for d = 1..4, AIC and BIC, the nesting table, and the likelihood-ratio p-values
 * against closed-form chi^2 tails (chi^2_1: erfc(sqrt(x/2)); chi^2_2: exp(-x/2); chi^2_3:
 * erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2)) and their 50:50 boundary mixtures. */
#include "nvmm_test.h"

/* The count written out per family name (the task's formula), independent of the table. */
static int64_t formula(const char *name, int64_t d, int symmetric) {
  int64_t base = 2 * d + d * (d + 1) / 2, k;
  if (!strcmp(name, "gauss"))
    return d + d * (d + 1) / 2;
  if (!strcmp(name, "gh"))
    k = base + 2;
  else /* nig, vg, ninvg, hyp */
    k = base + 1;
  return symmetric ? k - d : k;
}

START_TEST(test_n_params) {
  for (int f = 0; f < NVMM_FAMILY_COUNT; f++)
    for (size_t d = 1; d <= 4; d++)
      for (int sym = 0; sym <= 1; sym++) {
        int64_t k = -1;
        ck_assert_ok(nvmm_select_n_params((nvmm_family)f, d, sym, &k));
        ck_assert_msg(k == formula(nvmm_family_name((nvmm_family)f), (int64_t)d, sym),
                      "%s d=%zu sym=%d: %lld", nvmm_family_name((nvmm_family)f), d, sym,
                      (long long)k);
      }
  /* Spot values: GH in d = 3 has 3 + 3 + 6 + 2 = 14, the Gaussian 3 + 6 = 9. */
  int64_t k;
  ck_assert_ok(nvmm_select_n_params(NVMM_FAMILY_GH, 3, 0, &k));
  ck_assert_int_eq(k, 14);
  ck_assert_ok(nvmm_select_n_params(NVMM_FAMILY_NIG, 3, 1, &k));
  ck_assert_int_eq(k, 10);
  ck_assert_ok(nvmm_select_n_params(NVMM_FAMILY_GAUSS, 3, 1, &k));
  ck_assert_int_eq(k, 9);
  ck_assert_fails(nvmm_select_n_params(NVMM_FAMILY_GH, 0, 0, &k), NVMM_EINVAL, "d = 0");
  ck_assert_fails(nvmm_select_n_params(NVMM_FAMILY_COUNT, 2, 0, &k), NVMM_EINVAL, "family");
}
END_TEST

START_TEST(test_criteria) {
  const double ll = -20519.774689;
  ck_assert_close(nvmm_select_aic(ll, 13), 41039.549378 + 26.0, NVMM_TEST_TOL1);
  ck_assert_close(nvmm_select_bic(ll, 13, 5000), 41039.549378 + 13.0 * log(5000.0), NVMM_TEST_TOL1);
}
END_TEST

START_TEST(test_nesting) {
  const nvmm_family G = NVMM_FAMILY_GAUSS, V = NVMM_FAMILY_VG, T = NVMM_FAMILY_NINVG,
                    N = NVMM_FAMILY_NIG, H = NVMM_FAMILY_GH;
  for (int f = 1; f < NVMM_FAMILY_COUNT; f++) {
    nvmm_family F = (nvmm_family)f;
    ck_assert_int_eq(nvmm_select_nesting(F, 0, F, 1), NVMM_NEST_INTERIOR);
    ck_assert_int_eq(nvmm_select_nesting(F, 1, F, 0), NVMM_NEST_NONE);
    ck_assert_int_eq(nvmm_select_nesting(F, 0, F, 0), NVMM_NEST_NONE);
    ck_assert_int_eq(nvmm_select_nesting(F, 0, G, 0), NVMM_NEST_LIMIT);
    ck_assert_int_eq(nvmm_select_nesting(F, 1, G, 1), NVMM_NEST_LIMIT);
    ck_assert_int_eq(nvmm_select_nesting(G, 0, F, 1), NVMM_NEST_NONE);
  }
  for (int sym = 0; sym <= 1; sym++) {
    ck_assert_int_eq(nvmm_select_nesting(H, sym, N, sym), NVMM_NEST_INTERIOR);
    ck_assert_int_eq(nvmm_select_nesting(H, sym, V, sym), NVMM_NEST_BOUNDARY);
    ck_assert_int_eq(nvmm_select_nesting(H, sym, T, sym), NVMM_NEST_BOUNDARY);
    ck_assert_int_eq(nvmm_select_nesting(N, sym, H, sym), NVMM_NEST_NONE);
    ck_assert_int_eq(nvmm_select_nesting(N, sym, V, sym), NVMM_NEST_NONE);
    ck_assert_int_eq(nvmm_select_nesting(V, sym, T, sym), NVMM_NEST_NONE);
  }
  /* Two restrictions at once are not a direct nesting. */
  ck_assert_int_eq(nvmm_select_nesting(H, 0, N, 1), NVMM_NEST_NONE);
  ck_assert_int_eq(nvmm_select_nesting(G, 0, G, 0), NVMM_NEST_NONE);
  ck_assert_str_eq(nvmm_nesting_name(NVMM_NEST_BOUNDARY), "boundary");
  /* The hyperbolic family: inside the GH at an interior p; 2d + d(d+1)/2 + 1 = 13 at d = 3. */
  int64_t k;
  ck_assert_int_eq(nvmm_select_nesting(H, 0, NVMM_FAMILY_HYP, 0), NVMM_NEST_INTERIOR);
  ck_assert_ok(nvmm_select_n_params(NVMM_FAMILY_HYP, 3, 0, &k));
  ck_assert_int_eq(k, 13);
  ck_assert_ok(nvmm_select_n_params(NVMM_FAMILY_HYP, 3, 1, &k));
  ck_assert_int_eq(k, 10);
}
END_TEST

/* High-entropy statistics, from the bulk of the law to its far tail. */
static const double xs[] = {0.0371, 0.385, 2.385, 3.8415, 7.913, 15.27, 41.3};

START_TEST(test_pvalue_interior) {
  for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
    double x = xs[i], p, q1 = erfc(sqrt(x / 2)), q2 = exp(-x / 2),
           q3 = q1 + sqrt(2 * x / M_PI) * exp(-x / 2);
    ck_assert_ok(nvmm_select_lr_pvalue(x, 1, NVMM_NEST_INTERIOR, &p));
    ck_assert_rel(p, q1, 1e-12);
    ck_assert_ok(nvmm_select_lr_pvalue(x, 2, NVMM_NEST_INTERIOR, &p));
    ck_assert_rel(p, q2, 1e-12);
    ck_assert_ok(nvmm_select_lr_pvalue(x, 3, NVMM_NEST_INTERIOR, &p));
    ck_assert_rel(p, q3, 1e-12);
    /* A limit: the same (naive) chi^2 tail. */
    ck_assert_ok(nvmm_select_lr_pvalue(x, 2, NVMM_NEST_LIMIT, &p));
    ck_assert_rel(p, q2, 1e-12);
  }
}
END_TEST

START_TEST(test_pvalue_boundary) {
  for (size_t i = 0; i < sizeof xs / sizeof *xs; i++) {
    double x = xs[i], p, q1 = erfc(sqrt(x / 2)), q2 = exp(-x / 2),
           q3 = q1 + sqrt(2 * x / M_PI) * exp(-x / 2);
    /* 1/2 chi^2_0 + 1/2 chi^2_1: half the chi^2_1 tail. */
    ck_assert_ok(nvmm_select_lr_pvalue(x, 1, NVMM_NEST_BOUNDARY, &p));
    ck_assert_rel(p, 0.5 * q1, 1e-12);
    ck_assert_ok(nvmm_select_lr_pvalue(x, 2, NVMM_NEST_BOUNDARY, &p));
    ck_assert_rel(p, 0.5 * q1 + 0.5 * q2, 1e-12);
    ck_assert_ok(nvmm_select_lr_pvalue(x, 3, NVMM_NEST_BOUNDARY, &p));
    ck_assert_rel(p, 0.5 * q2 + 0.5 * q3, 1e-12);
  }
  /* The 5% point of the mixture is the 10% point of chi^2_1, 2.7055. */
  double p;
  ck_assert_ok(nvmm_select_lr_pvalue(2.705543454095404, 1, NVMM_NEST_BOUNDARY, &p));
  ck_assert_rel(p, 0.05, 1e-9);
}
END_TEST

START_TEST(test_pvalue_edges) {
  double p = 0;
  ck_assert_ok(nvmm_select_lr_pvalue(0.0, 3, NVMM_NEST_INTERIOR, &p));
  ck_assert(p == 1.0);
  ck_assert_ok(nvmm_select_lr_pvalue(-0.25, 1, NVMM_NEST_BOUNDARY, &p));
  ck_assert(p == 1.0);
  ck_assert_fails(nvmm_select_lr_pvalue(1.0, 0, NVMM_NEST_INTERIOR, &p), NVMM_EINVAL, "df = 0");
  ck_assert_fails(nvmm_select_lr_pvalue(1.0, 1, NVMM_NEST_NONE, &p), NVMM_EINVAL, "not nested");
  ck_assert_fails(nvmm_select_lr_pvalue(NAN, 1, NVMM_NEST_INTERIOR, &p), NVMM_EDOM, "finite");
}
END_TEST

START_TEST(test_lr_test) {
  nvmm_lr_test t;
  /* Skewed NIG against symmetric NIG in d = 3: gamma = 0, three interior restrictions. */
  ck_assert_ok(
      nvmm_select_lr_test(NVMM_FAMILY_NIG, 0, -20519.77, NVMM_FAMILY_NIG, 1, -20531.2, 3, &t));
  ck_assert_int_eq(t.df, 3);
  ck_assert_int_eq(t.nesting, NVMM_NEST_INTERIOR);
  ck_assert_close(t.statistic, 22.86, 1e-9);
  double x = t.statistic;
  ck_assert_rel(t.p_value, erfc(sqrt(x / 2)) + sqrt(2 * x / M_PI) * exp(-x / 2), 1e-12);
  /* GH against VG in d = 2: b -> 0, one boundary parameter. */
  ck_assert_ok(nvmm_select_lr_test(NVMM_FAMILY_GH, 0, -100.0, NVMM_FAMILY_VG, 0, -101.3, 2, &t));
  ck_assert_int_eq(t.df, 1);
  ck_assert_int_eq(t.nesting, NVMM_NEST_BOUNDARY);
  ck_assert_rel(t.p_value, 0.5 * erfc(sqrt(2.6 / 2)), 1e-12);
  /* NIG against the Gaussian in d = 2: gamma (2) and the subordinator's shape (1), a limit. */
  ck_assert_ok(
      nvmm_select_lr_test(NVMM_FAMILY_NIG, 0, -100.0, NVMM_FAMILY_GAUSS, 0, -104.0, 2, &t));
  ck_assert_int_eq(t.df, 3);
  ck_assert_int_eq(t.nesting, NVMM_NEST_LIMIT);
  ck_assert_fails(nvmm_select_lr_test(NVMM_FAMILY_NIG, 0, -1.0, NVMM_FAMILY_VG, 0, -2.0, 2, &t),
                  NVMM_EINVAL, "vg", "not nested in nig");
  ck_assert_fails(nvmm_select_lr_test(NVMM_FAMILY_GH, 0, NAN, NVMM_FAMILY_NIG, 0, -2.0, 2, &t),
                  NVMM_EDOM, "not finite");
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("select");
  TCase *tc = tcase_create("select");
  tcase_add_test(tc, test_n_params);
  tcase_add_test(tc, test_criteria);
  tcase_add_test(tc, test_nesting);
  tcase_add_test(tc, test_pvalue_interior);
  tcase_add_test(tc, test_pvalue_boundary);
  tcase_add_test(tc, test_pvalue_edges);
  tcase_add_test(tc, test_lr_test);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
