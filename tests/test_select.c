/* test_select.c: model choice (include/nvmm/select.h): free parameters against the formula of
 * each family for d = 1..4, AIC and BIC, the nesting table, and the likelihood-ratio p-values
 * against closed-form chi^2 tails (chi^2_1: erfc(sqrt(x/2)); chi^2_2: exp(-x/2); chi^2_3:
 * erfc(sqrt(x/2)) + sqrt(2x/pi) exp(-x/2)) and their 50:50 boundary mixtures; factor models'
 * counts against the formula and against the rank of the Jacobian of (F, D) -> F F^T + diag(D)
 * (the dimension of the set of such Sigma, independent of the formula), their nesting and tests
 * (src/numerics.md 15.2). */
#include <gsl/gsl_cdf.h>

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

/* The rank of the Jacobian of (F, D) -> vech(F F^T + diag(D)) at F (d x r), by Gaussian
 * elimination with full pivoting; pivots below 1e-9 of the largest count as zero (the entries
 * are O(1) and the matrices at most 15 x 25: rounding leaves ~1e-15, a true pivot of a random
 * point stays far above 1e-9). */
static int jacobian_rank(size_t d, size_t r, const double *f) {
  size_t rows = d * (d + 1) / 2, cols = d * r + d;
  double *J = calloc(rows * cols, sizeof *J);
  ck_assert_ptr_nonnull(J);
  size_t row = 0;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++, row++) {
      for (size_t k = 0; k < r; k++) { /* d(F F^T)_ij / dF_ak = delta_ia F_jk + delta_ja F_ik */
        J[row * cols + i * r + k] += f[j * r + k];
        J[row * cols + j * r + k] += f[i * r + k];
      }
      if (i == j)
        J[row * cols + d * r + i] = 1.0;
    }
  double big = 0;
  for (size_t t = 0; t < rows * cols; t++)
    big = fmax(big, fabs(J[t]));
  int rank = 0;
  for (size_t p = 0; p < rows && p < cols; p++) {
    size_t bi = p, bj = p;
    for (size_t i = p; i < rows; i++)
      for (size_t j = p; j < cols; j++)
        if (fabs(J[i * cols + j]) > fabs(J[bi * cols + bj]))
          bi = i, bj = j;
    if (fabs(J[bi * cols + bj]) <= 1e-9 * big)
      break;
    for (size_t j = 0; j < cols; j++) { /* the pivot to (p, p) */
      double t = J[p * cols + j];
      J[p * cols + j] = J[bi * cols + j];
      J[bi * cols + j] = t;
    }
    for (size_t i = 0; i < rows; i++) {
      double t = J[i * cols + p];
      J[i * cols + p] = J[i * cols + bj];
      J[i * cols + bj] = t;
    }
    for (size_t i = p + 1; i < rows; i++) {
      double l = J[i * cols + p] / J[p * cols + p];
      for (size_t j = p; j < cols; j++)
        J[i * cols + j] -= l * J[p * cols + j];
    }
    rank++;
  }
  free(J);
  return rank;
}

START_TEST(test_n_params_factor) {
  for (int fam = 0; fam < NVMM_FAMILY_COUNT; fam++)
    for (size_t d = 1; d <= 6; d++)
      for (size_t r = 0; r <= d; r++)
        for (int sym = 0; sym <= 1; sym++) {
          nvmm_family F = (nvmm_family)fam;
          int64_t k = -1, kd = -1, dd = (int64_t)d, rr = (int64_t)r;
          ck_assert_ok(nvmm_select_n_params_factor(F, d, sym, r, &k));
          ck_assert_ok(nvmm_select_n_params(F, d, sym, &kd));
          int64_t disp = r == 0 ? dd * (dd + 1) / 2 : dd * rr + dd - rr * (rr - 1) / 2;
          ck_assert_msg(k == formula(nvmm_family_name(F), dd, sym) - dd * (dd + 1) / 2 + disp,
                        "%s d=%zu r=%zu sym=%d: %lld", nvmm_family_name(F), d, r, sym,
                        (long long)k);
          ck_assert(r > 0 || k == kd);
        }
  /* The dispersion count is the dimension of the set of F F^T + diag(D): the Jacobian's rank at
   * a generic point, wherever the model restricts Sigma ((d - r)^2 >= d + r; beyond, the rank is
   * capped at d(d+1)/2 and the count overstates it, which is why select tests only r with a
   * positive df against the dense Sigma). */
  unsigned seed = 12345;
  for (size_t d = 2; d <= 6; d++)
    for (size_t r = 1; r < d; r++) {
      if ((d - r) * (d - r) < d + r)
        continue;
      double f[36];
      for (size_t t = 0; t < d * r; t++) {
        seed = seed * 1103515245u + 12345u;
        f[t] = (double)(seed >> 8) / (double)(1u << 24) * 2.0 - 1.0;
      }
      int64_t k, kd;
      ck_assert_ok(nvmm_select_n_params_factor(NVMM_FAMILY_GAUSS, d, 0, r, &k));
      ck_assert_ok(nvmm_select_n_params_factor(NVMM_FAMILY_GAUSS, d, 0, 0, &kd));
      int64_t disp = k - (kd - (int64_t)(d * (d + 1) / 2)); /* less mu */
      ck_assert_msg(jacobian_rank(d, r, f) == disp, "d=%zu r=%zu: rank %d, count %lld", d, r,
                    jacobian_rank(d, r, f), (long long)disp);
    }
  /* Spot value: NIG in d = 5 with 2 factors: 5 + 5 + (10 + 5 - 1) + 1 = 25. */
  int64_t k;
  ck_assert_ok(nvmm_select_n_params_factor(NVMM_FAMILY_NIG, 5, 0, 2, &k));
  ck_assert_int_eq(k, 25);
  ck_assert_fails(nvmm_select_n_params_factor(NVMM_FAMILY_NIG, 3, 0, 4, &k), NVMM_EINVAL,
                  "r = 4 factors exceed d = 3");
}
END_TEST

START_TEST(test_lr_test_factor) {
  const size_t d = 6;
  nvmm_select_cand dense = {NVMM_FAMILY_NIG, 0, 0, -1000.0};
  nvmm_select_cand r1 = {NVMM_FAMILY_NIG, 0, 1, -1010.0};
  nvmm_select_cand r2 = {NVMM_FAMILY_NIG, 0, 2, -1004.0};
  nvmm_select_cand r4 = {NVMM_FAMILY_NIG, 0, 4, -1001.0};
  nvmm_select_cand r2sym = {NVMM_FAMILY_NIG, 1, 2, -1007.0};
  nvmm_select_cand gh2 = {NVMM_FAMILY_GH, 0, 2, -1003.0};
  nvmm_select_cand gh1 = {NVMM_FAMILY_GH, 0, 1, -1009.0};
  nvmm_lr_test t;
  /* r = 1 against the dense Sigma: ((6 - 1)^2 - 7) / 2 = 9 df, interior. */
  ck_assert_int_eq(nvmm_select_nesting_factor(&dense, &r1, d), NVMM_NEST_INTERIOR);
  ck_assert_ok(nvmm_select_lr_test_factor(&dense, &r1, d, &t));
  ck_assert_int_eq(t.df, 9);
  ck_assert_close(t.statistic, 20.0, 1e-12);
  ck_assert_rel(t.p_value, gsl_cdf_chisq_Q(20.0, 9.0), 1e-14);
  /* r = 4 of d = 6: 24 + 6 - 6 = 24 > 21, no restriction of the dense Sigma. */
  ck_assert_int_eq(nvmm_select_nesting_factor(&dense, &r4, d), NVMM_NEST_NONE);
  /* 1 factor in 2: (6 + 6) - (12 + 6 - 1) = -5 -> df 5, naive. */
  ck_assert_int_eq(nvmm_select_nesting_factor(&r2, &r1, d), NVMM_NEST_LIMIT);
  ck_assert_ok(nvmm_select_lr_test_factor(&r2, &r1, d, &t));
  ck_assert_int_eq(t.df, 5);
  ck_assert_int_eq(nvmm_select_nesting_factor(&r1, &r2, d), NVMM_NEST_NONE);
  /* One dispersion: the family table, with the dense df (gamma = 0: d; p = -1/2: 1). */
  ck_assert_ok(nvmm_select_lr_test_factor(&r2, &r2sym, d, &t));
  ck_assert_int_eq(t.nesting, NVMM_NEST_INTERIOR);
  ck_assert_int_eq(t.df, 6);
  ck_assert_ok(nvmm_select_lr_test_factor(&gh2, &r2, d, &t));
  ck_assert_int_eq(t.df, 1);
  ck_assert_rel(t.p_value, erfc(sqrt(2.0 / 2)), 1e-12); /* 2 (1004 - 1003) = 2 on chi^2_1 */
  /* Two restrictions at once: none. */
  ck_assert_int_eq(nvmm_select_nesting_factor(&gh2, &r1, d), NVMM_NEST_NONE);
  ck_assert_int_eq(nvmm_select_nesting_factor(&r2, &r2sym, d), NVMM_NEST_INTERIOR);
  ck_assert_int_eq(nvmm_select_nesting_factor(&r2sym, &r1, d), NVMM_NEST_NONE);
  ck_assert_int_eq(nvmm_select_nesting_factor(&gh1, &r2, d), NVMM_NEST_NONE);
  ck_assert_fails(nvmm_select_lr_test_factor(&r1, &r2, d, &t), NVMM_EINVAL, "not nested");
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
  tcase_add_test(tc, test_n_params_factor);
  tcase_add_test(tc, test_lr_test_factor);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
