/* test_incremental.c: incremental EM's pieces on expectation parameters: each eta-update rule's
 * weights and the shrunk update against their formulas on hand-made vectors, the parser of the
 * rules, a model's expectation parameters against closed forms (Gaussian, NIG, the prior-moment
 * floor) and against the mean of E-step statistics over a large sample of the model (a
 * known-truth Monte Carlo check), and the global mini-batches: a bijection per epoch, whole
 * granules, every row once per epoch, the same batches whatever the shard split. */
#include <gsl/gsl_rng.h>

#include "../src/minibatch.h"
#include "nvmm_test.h"

/* ---- the rules ----------------------------------------------------------------------------- */

static void weights(const char *text, int64_t t, double seen, double m, double *b, double *c) {
  nvmm_eta_rule r;
  ck_assert_ok(nvmm_eta_rule_parse(text, &r));
  nvmm_eta_rule_weights(&r, t, seen, m, b, c);
}

/* Each rule's (b, c) at chosen steps, written out by hand from its definition
 * (src/numerics.md 13.1): exact or within rounding of one pow(). */
START_TEST(test_rule_weights) {
  double b, c;
  weights("identity", 7, 500, 100, &b, &c);
  ck_assert(b == 0.0 && c == 1.0);
  /* Robbins-Monro, 0-based step: the first batch gets 1/tau0. */
  weights("robbins_monro:10:1", 0, 0, 100, &b, &c);
  ck_assert(c == 0.1 && b == 0.9);
  weights("robbins_monro:10:1", 5, 500, 100, &b, &c);
  ck_assert(c == 1.0 / 15.0 && b == 1.0 - 1.0 / 15.0);
  weights("robbins_monro:4:0.5001", 12, 0, 100, &b, &c);
  ck_assert_close(c, 1.0 / sqrt(16.0) * pow(16.0, -0.0001), NVMM_TEST_TOL1);
  /* The default: tau0 = 10, kappa = 0.6 (10^-0.6 = 0.251188643150958). */
  nvmm_eta_rule r;
  nvmm_eta_rule_default(&r);
  ck_assert(r.kind == NVMM_ETA_ROBBINS_MONRO && r.tau0 == 10.0 && r.kappa == 0.6);
  nvmm_eta_rule_weights(&r, 0, 0, 1, &b, &c);
  ck_assert_close(c, 0.251188643150958, 1e-14);
  ck_assert(b == 1.0 - c);
  /* Sample-weighted: the running mean of every row seen; the first batch replaces the start. */
  weights("sample_weighted", 0, 0, 256, &b, &c);
  ck_assert(b == 0.0 && c == 1.0);
  weights("sample_weighted", 3, 300, 100, &b, &c);
  ck_assert(b == 0.75 && c == 0.25);
  weights("ewma:0.25", 9, 0, 1, &b, &c);
  ck_assert(b == 0.75 && c == 0.25);
  weights("ewma", 9, 0, 1, &b, &c); /* w = 0.1 by default */
  ck_assert(c == 0.1 && b == 1.0 - 0.1);
  weights("affine:0.5:-2", 9, 0, 1, &b, &c);
  ck_assert(b == 0.5 && c == -2.0);
}
END_TEST

START_TEST(test_rule_parse) {
  nvmm_eta_rule r;
  ck_assert_ok(nvmm_eta_rule_parse("robbins_monro:5", &r));
  ck_assert(r.tau0 == 5.0 && r.kappa == 0.6);
  ck_assert_ok(nvmm_eta_rule_parse("robbins_monro:2.5:0.75", &r));
  ck_assert(r.tau0 == 2.5 && r.kappa == 0.75);
  ck_assert_str_eq(nvmm_eta_rule_name(r.kind), "robbins_monro");
  ck_assert_fails(nvmm_eta_rule_parse("robbins_monro:0.5", &r), NVMM_EINVAL, "tau0 = 0.5");
  ck_assert_fails(nvmm_eta_rule_parse("robbins_monro:10:0.5", &r), NVMM_EINVAL, "kappa = 0.5");
  ck_assert_fails(nvmm_eta_rule_parse("robbins_monro:10:1.5", &r), NVMM_EINVAL, "kappa");
  ck_assert_fails(nvmm_eta_rule_parse("robbins_monro:x", &r), NVMM_EINVAL, "bad or too many");
  ck_assert_fails(nvmm_eta_rule_parse("robbins_monro:1:1:1", &r), NVMM_EINVAL, "too many");
  ck_assert_fails(nvmm_eta_rule_parse("ewma:0", &r), NVMM_EINVAL, "w = 0");
  ck_assert_fails(nvmm_eta_rule_parse("ewma:1.5", &r), NVMM_EINVAL, "(0, 1]");
  ck_assert_fails(nvmm_eta_rule_parse("affine:1", &r), NVMM_EINVAL, "affine:b:c");
  ck_assert_fails(nvmm_eta_rule_parse("identity:3", &r), NVMM_EINVAL, "identity:3");
  ck_assert_fails(nvmm_eta_rule_parse("robbins", &r), NVMM_EINVAL, "unknown", "robbins");
  ck_assert_fails(nvmm_eta_rule_parse("sample_weighted2", &r), NVMM_EINVAL, "unknown");
}
END_TEST

/* The update on hand-made vectors (d = 1: 9 statistics), with and without shrinkage. */
START_TEST(test_update) {
  enum { LEN = 9 };
  ck_assert_uint_eq(nvmm_stats_len(1), LEN);
  const double prev[LEN] = {1, 2.0, 3.0, -1.0, 0, 0, 0.5, 4.0, 8.0};
  const double hat[LEN] = {1, 1.0, 5.0, -2.0, -3.25, 7, 1.5, 2.0, 6.0};
  const double eta0[LEN] = {1, 4.0, 1.0, 0.0, 99, 99, 0.0, 0.0, 2.0};
  double out[LEN];
  nvmm_eta_rule r;
  ck_assert_ok(nvmm_eta_rule_parse("ewma:0.25", &r));
  nvmm_eta_update(&r, 3, 0, 100, LEN, prev, hat, NULL, out);
  ck_assert(out[NVMM_ST_N] == 1.0);
  ck_assert(out[NVMM_ST_LOGF] == -3.25 && out[NVMM_ST_FLOOR] == 7); /* the batch's own */
  const int ex[] = {NVMM_ST_U, NVMM_ST_V, NVMM_ST_L, 6, 7, 8};
  for (size_t i = 0; i < sizeof ex / sizeof *ex; i++)
    ck_assert_close(out[ex[i]], 0.75 * prev[ex[i]] + 0.25 * hat[ex[i]], NVMM_TEST_TOL0);
  /* tau = 0 is the base rule bit for bit. */
  double base[LEN];
  memcpy(base, out, sizeof out);
  nvmm_shrinkage none = {eta0, 0.0, NULL};
  nvmm_eta_update(&r, 3, 0, 100, LEN, prev, hat, &none, out);
  ck_assert(memcmp(out, base, sizeof out) == 0);
  /* tau = 0.5: (0.5 eta0 + base) / 1.5. */
  nvmm_shrinkage sh = {eta0, 0.5, NULL};
  nvmm_eta_update(&r, 3, 0, 100, LEN, prev, hat, &sh, out);
  for (size_t i = 0; i < sizeof ex / sizeof *ex; i++)
    ck_assert_close(out[ex[i]], (0.5 * eta0[ex[i]] + base[ex[i]]) / 1.5, NVMM_TEST_TOL1);
  ck_assert(out[NVMM_ST_N] == 1.0 && out[NVMM_ST_LOGF] == -3.25);
  /* nvmm_eta_shrink alone (the fit's M-step input): the same numbers from the base update, in
   * place too, the non-expectations the input's own. */
  double shr[LEN];
  memcpy(shr, base, sizeof shr);
  nvmm_eta_shrink(&sh, LEN, shr, shr);
  ck_assert(memcmp(shr, out, sizeof shr) == 0);
  ck_assert(shr[NVMM_ST_FLOOR] == 7 && shr[NVMM_ST_LOGF] == -3.25);
  /* Per statistic: a weight on u x x^T only (entry 8) shrinks that entry alone. */
  double tv[LEN] = {0};
  tv[8] = 3.0;
  nvmm_shrinkage shv = {eta0, 123.0, tv};
  nvmm_eta_update(&r, 3, 0, 100, LEN, prev, hat, &shv, out);
  for (size_t i = 0; i + 1 < sizeof ex / sizeof *ex; i++)
    ck_assert(out[ex[i]] == base[ex[i]]);
  ck_assert_close(out[8], (3.0 * 2.0 + base[8]) / 4.0, NVMM_TEST_TOL1);
  /* In place (out aliases prev), as the fit updates its running eta. */
  double run[LEN];
  memcpy(run, prev, sizeof run);
  nvmm_eta_update(&r, 3, 0, 100, LEN, run, hat, NULL, run);
  ck_assert(memcmp(run, base, sizeof run) == 0);
}
END_TEST

/* ---- a model's expectation parameters -------------------------------------------------------- */

static nvmm_model *make(nvmm_family fam, const double *sub) {
  const double mu[2] = {0.5, -1.0}, gamma[2] = {0.25, 0.5};
  const double sigma[4] = {2.0, 0.3, 0.3, 1.0};
  nvmm_model *m = NULL;
  ck_assert_ok(nvmm_model_alloc(fam, 2, &m));
  nvmm_sub s;
  ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(fam), sub, &s));
  ck_assert_ok(
      nvmm_model_set(m, mu, fam == NVMM_FAMILY_GAUSS ? (double[2]){0, 0} : gamma, sigma, &s));
  return m;
}

/* E[X] = mu + gamma E[Y], E[X/Y] = mu E[1/Y] + gamma, E[XX^T/Y] = Sigma + mu mu^T E[1/Y] +
 * gamma gamma^T E[Y] + mu gamma^T + gamma mu^T, written out for d = 2 with the prior moments
 * by hand. */
static void check_eta(const double *eta, double u, double v, double l, const double *sig) {
  const double mu[2] = {0.5, -1.0}, g[2] = {0.25, 0.5};
  ck_assert(eta[NVMM_ST_N] == 1.0);
  ck_assert_close(eta[NVMM_ST_U], u, NVMM_TEST_TOL1);
  ck_assert_close(eta[NVMM_ST_V], v, NVMM_TEST_TOL1);
  ck_assert_close(eta[NVMM_ST_L], l, 1e-14);
  const double *x = eta + nvmm_stats_x(2), *ux = eta + nvmm_stats_ux(2);
  const double *uxx = eta + nvmm_stats_uxx(2);
  for (int j = 0; j < 2; j++) {
    ck_assert_close(x[j], mu[j] + g[j] * v, NVMM_TEST_TOL1);
    ck_assert_close(ux[j], mu[j] * u + g[j], NVMM_TEST_TOL1);
  }
  const double want[3] = {sig[0] + 0.25 * u + 0.0625 * v + 2 * 0.125,            /* (0, 0) */
                          sig[2] - 0.5 * u + 0.125 * v + 0.5 * 0.5 - 1.0 * 0.25, /* (1, 0) */
                          sig[3] + 1.0 * u + 0.25 * v - 2 * 0.5};                /* (1, 1) */
  for (int k = 0; k < 3; k++)
    ck_assert_close(uxx[k], want[k], NVMM_TEST_TOL2);
}

START_TEST(test_model_eta_closed) {
  const double sig[4] = {2.0, 0.3, 0.3, 1.0}, sig0[4] = {1.0, 0.0, 0.0, 1.0};
  double eta[16];
  int floors = -1;
  ck_assert_uint_eq(nvmm_stats_len(2), 6 + 4 + 3);
  /* Gaussian: u = v = 1, l = 0, gamma = 0 (check_eta's gamma terms then need gamma = 0). */
  nvmm_model *m = make(NVMM_FAMILY_GAUSS, (double[3]){0});
  ck_assert_ok(nvmm_model_eta(m, NULL, eta, &floors));
  ck_assert_int_eq(floors, 0);
  ck_assert(eta[NVMM_ST_U] == 1.0 && eta[NVMM_ST_V] == 1.0 && eta[NVMM_ST_L] == 0.0);
  ck_assert_close(eta[nvmm_stats_uxx(2)], 2.0 + 0.25, NVMM_TEST_TOL1);
  ck_assert_close(eta[nvmm_stats_uxx(2) + 2], 1.0 + 1.0, NVMM_TEST_TOL1);
  nvmm_model_free(&m);
  /* NIG (mu_IG 1.5, lambda 2): E[Y] = 1.5, E[1/Y] = 1/1.5 + 1/2; E[log Y] unused (0). */
  m = make(NVMM_FAMILY_NIG, (double[3]){1.5, 2.0});
  ck_assert_ok(nvmm_model_eta(m, NULL, eta, &floors));
  check_eta(eta, 1.0 / 1.5 + 0.5, 1.5, 0.0, sig);
  ck_assert_int_eq(floors, 0);
  /* A given Sigma0 replaces Sigma and nothing else. */
  ck_assert_ok(nvmm_model_eta(m, sig0, eta, NULL));
  check_eta(eta, 1.0 / 1.5 + 0.5, 1.5, 0.0, sig0);
  nvmm_model_free(&m);
  /* VG (alpha 3, beta 2): E[Y] = 1.5, E[1/Y] = beta/(alpha-1) = 1, E[log Y] = psi(3) - log 2
   * = 1.5 - gamma_E - log 2. */
  const double euler = 0.57721566490153286061, ln2 = 0.69314718055994530942;
  m = make(NVMM_FAMILY_VG, (double[3]){3.0, 2.0});
  ck_assert_ok(nvmm_model_eta(m, NULL, eta, &floors));
  check_eta(eta, 1.0, 1.5, 1.5 - euler - ln2, sig);
  ck_assert_int_eq(floors, 0);
  nvmm_model_free(&m);
  /* The prior-moment floor (src/numerics.md 12.4): VG alpha 0.8 (E 1/Y infinite) and 1.05 (finite
   * but beyond the margin) take beta / 0.1; E[Y] and E[log Y] stay exact. */
  m = make(NVMM_FAMILY_VG, (double[3]){0.8, 2.0});
  ck_assert_ok(nvmm_model_eta(m, NULL, eta, &floors));
  ck_assert_int_eq(floors, 1);
  ck_assert_close(eta[NVMM_ST_U], 20.0, NVMM_TEST_TOL0);
  ck_assert_close(eta[NVMM_ST_V], 0.4, NVMM_TEST_TOL0);
  nvmm_model_free(&m);
  m = make(NVMM_FAMILY_VG, (double[3]){1.05, 2.0});
  ck_assert_ok(nvmm_model_eta(m, NULL, eta, &floors));
  ck_assert_int_eq(floors, 1);
  ck_assert_close(eta[NVMM_ST_U], 20.0, NVMM_TEST_TOL0);
  nvmm_model_free(&m);
  /* NInvG (alpha 0.5, beta 1.5): E[Y] floored to 15, E[1/Y] = alpha/beta exact. */
  m = make(NVMM_FAMILY_NINVG, (double[3]){0.5, 1.5});
  ck_assert_ok(nvmm_model_eta(m, NULL, eta, &floors));
  ck_assert_int_eq(floors, 1);
  ck_assert_close(eta[NVMM_ST_V], 15.0, NVMM_TEST_TOL0);
  ck_assert_close(eta[NVMM_ST_U], 0.5 / 1.5, NVMM_TEST_TOL0);
  nvmm_model_free(&m);
}
END_TEST

/* Known truth: the mean over x of E[t | x] is E[t], so the E-step statistics of a large sample,
 * averaged, estimate the model's eta. 100,000 rows of a GH model, each statistic within 5
 * Monte-Carlo standard errors (from the sample's own spread), plus 1e-12 relative for rounding.
 * The sample and the posterior moments are computed by other code than nvmm_model_eta. */
START_TEST(test_model_eta_mc) {
  enum { N = 100000, LEN = 13 };
  nvmm_model *m = make(NVMM_FAMILY_GH, (double[3]){-0.7, 1.5, 0.8});
  double want[LEN];
  ck_assert_ok(nvmm_model_eta(m, NULL, want, NULL));
  gsl_rng *rng = NULL;
  ck_assert_ok(nvmm_rng_stream(20261206, 0, &rng));
  double *x = malloc((size_t)N * 2 * sizeof *x);
  ck_assert(x);
  ck_assert_ok(nvmm_model_sample(m, rng, N, x, NULL));
  double sum[LEN] = {0}, sum2[LEN] = {0}, row[LEN], scratch[4];
  for (int i = 0; i < N; i++) {
    memset(row, 0, sizeof row);
    ck_assert_ok(nvmm_estep(m, 1, x + 2 * i, row, scratch));
    for (int k = 0; k < LEN; k++) {
      sum[k] += row[k];
      sum2[k] += row[k] * row[k];
    }
  }
  for (int k = 0; k < LEN; k++) {
    if (k == NVMM_ST_LOGF || k == NVMM_ST_FLOOR)
      continue;
    double mean = sum[k] / N, se = sqrt(fmax(sum2[k] / N - mean * mean, 0.0) / N);
    ck_assert_msg(fabs(mean - want[k]) <= 5.0 * se + 1e-12 * fabs(want[k]),
                  "statistic %d: sample mean %.8g, model %.8g (5 se = %.3g)", k, mean, want[k],
                  5.0 * se);
  }
  free(x);
  gsl_rng_free(rng);
  nvmm_model_free(&m);
}
END_TEST

/* ---- the mini-batches ------------------------------------------------------------------------ */

/* Granules divide both the batch and the block (so never straddle two shards), at most 64. */
START_TEST(test_granule) {
  nvmm__batches b;
  const int64_t cases[][4] = {/* n, batch, block, granule */
                              {1000000, 1024, 4096, 64}, {50000, 100, 1000, 4}, {5000, 3, 4096, 1},
                              {5000, 256, 4096, 64},     {1000, 1000, 4096, 8}, {10, 10, 4096, 2}};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ck_assert_ok(nvmm__batches_init(&b, cases[i][0], cases[i][1], cases[i][2], 1));
    ck_assert_int_eq(b.granule, cases[i][3]);
    ck_assert_int_eq(b.ngran, (cases[i][0] + b.granule - 1) / b.granule);
    ck_assert_int_eq(b.per_batch * b.granule, cases[i][1]);
  }
  ck_assert_fails(nvmm__batches_init(&b, 100, 101, 4096, 1), NVMM_EINVAL, "batch_rows = 101");
  ck_assert_fails(nvmm__batches_init(&b, 100, 0, 4096, 1), NVMM_EINVAL, "batch_rows = 0");
}
END_TEST

/* Each epoch's permutation is a bijection of the granules, epochs and seeds differ, and an
 * epoch's batches cover every granule once (the last batch short where they do not divide). */
START_TEST(test_permutation) {
  const int64_t ns[] = {1, 2, 3, 7, 64, 1000, 4097, 100003};
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++) {
    nvmm__batches b;
    /* Granules of 4 rows, 3 to a batch (1 where there are fewer than 3). */
    ck_assert_ok(nvmm__batches_init(&b, ns[i] * 4, ns[i] >= 3 ? 12 : 4, 4096, 77));
    ck_assert_int_eq(b.ngran, ns[i]);
    unsigned char *seen = calloc((size_t)b.ngran, 1);
    ck_assert(seen);
    int64_t moved = 0;
    for (int64_t e = 0; e < 3; e++) {
      memset(seen, 0, (size_t)b.ngran);
      int64_t count = 0;
      for (int64_t s = e * b.nbatch; s < (e + 1) * b.nbatch; s++) {
        int64_t ep, p0, p1;
        nvmm__batches_span(&b, s, &ep, &p0, &p1);
        ck_assert_int_eq(ep, e);
        ck_assert(p1 - p0 == b.per_batch || (s == (e + 1) * b.nbatch - 1 && p1 == b.ngran));
        for (int64_t p = p0; p < p1; p++) {
          int64_t g = nvmm__batches_perm(&b, e, p);
          ck_assert(g >= 0 && g < b.ngran && !seen[g]);
          seen[g] = 1;
          count++;
          if (e == 1 && g != nvmm__batches_perm(&b, 0, p))
            moved++;
        }
      }
      ck_assert_int_eq(count, b.ngran);
    }
    /* Another epoch is another order (for more than a handful of granules). */
    if (b.ngran >= 64)
      ck_assert_msg(moved > b.ngran / 2, "epoch 1 moved only %lld of %lld granules",
                    (long long)moved, (long long)b.ngran);
    free(seen);
  }
  /* Seeds: another seed, another order. */
  nvmm__batches a, c;
  ck_assert_ok(nvmm__batches_init(&a, 4000, 4, 4096, 1));
  ck_assert_ok(nvmm__batches_init(&c, 4000, 4, 4096, 2));
  int same = 0;
  for (int64_t p = 0; p < a.ngran; p++)
    same += nvmm__batches_perm(&a, 0, p) == nvmm__batches_perm(&c, 0, p);
  ck_assert_msg(same < 20, "seeds 1 and 2 agree on %d of 1000 positions", same);
}
END_TEST

/* A loose uniformity check: over 20,000 epochs the granule drawn first is uniform on 10 values
 * (chi-square with 9 degrees of freedom below 33.7, its 0.9999 quantile: a keyed Feistel network
 * with a weak round function fails this by orders of magnitude). */
START_TEST(test_uniform) {
  nvmm__batches b;
  ck_assert_ok(nvmm__batches_init(&b, 10, 1, 4096, 12345));
  int count[10] = {0};
  const int E = 20000;
  for (int e = 0; e < E; e++)
    count[nvmm__batches_perm(&b, e, 0)]++;
  double chi2 = 0.0;
  for (int k = 0; k < 10; k++)
    chi2 += (count[k] - E / 10.0) * (count[k] - E / 10.0) / (E / 10.0);
  ck_assert_msg(chi2 < 33.7, "chi-square %.1f", chi2);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("incremental");
  TCase *tc = tcase_create("incremental");
  tcase_add_test(tc, test_rule_weights);
  tcase_add_test(tc, test_rule_parse);
  tcase_add_test(tc, test_update);
  tcase_add_test(tc, test_model_eta_closed);
  tcase_add_test(tc, test_model_eta_mc);
  tcase_add_test(tc, test_granule);
  tcase_add_test(tc, test_permutation);
  tcase_add_test(tc, test_uniform);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
