/* test_stderr.c: the standard errors of nvmm/stderr.h (src/numerics.md 14): the Fisher-identity
 * score against finite differences of the log-likelihood for every family, its orthogonality to
 * the scale orbit, a zero score at the fitted MLE, the free-parameter counts, the refusals, and
 * the calibration of the reported errors against the spread of replicate fits. It starts MPI
 * (the fits run on MPI_COMM_WORLD, one process). */
#include "nvmm_test.h"
#include "nvmm_test_mpi.h"

#include <mpi.h>

/* Non-optimal models of every family (d = 1 or 2), "high-entropy" values. */
static nvmm_model *make_model(nvmm_family fam, size_t d, int symmetric) {
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(fam, d, &m));
  double mu[2] = {0.31, -0.73}, gamma[2] = {0.52, -0.38};
  double s1[1] = {1.37}, s2[4] = {1.37, 0.41, 0.41, 0.83};
  nvmm_sub sub = {NVMM_SUB_DEGENERATE, {0, 0, 0}};
  switch (fam) {
  case NVMM_FAMILY_VG:
    ck_assert_ok(nvmm_sub_make(NVMM_SUB_GAMMA, (double[3]){2.71, 1.93, 0}, &sub));
    break;
  case NVMM_FAMILY_NINVG:
    ck_assert_ok(nvmm_sub_make(NVMM_SUB_INVGAMMA, (double[3]){3.37, 2.19, 0}, &sub));
    break;
  case NVMM_FAMILY_NIG:
    ck_assert_ok(nvmm_sub_make(NVMM_SUB_INVGAUSS, (double[3]){1.29, 1.71, 0}, &sub));
    break;
  case NVMM_FAMILY_GH:
    ck_assert_ok(nvmm_sub_make(NVMM_SUB_GIG, (double[3]){-0.83, 1.41, 2.29}, &sub));
    break;
  case NVMM_FAMILY_HYP: /* p = (d + 1) / 2, fixed */
    ck_assert_ok(nvmm_sub_make(NVMM_SUB_GIG, (double[3]){0.5 * (double)(d + 1), 1.41, 2.29}, &sub));
    break;
  default:
    break;
  }
  int skew = fam != NVMM_FAMILY_GAUSS && !symmetric;
  ck_assert_ok(nvmm_model_set(m, mu, skew ? gamma : NULL, d == 1 ? s1 : s2, &sub));
  return m;
}

/* theta's entry k of m, or m with entry k moved by h (Sigma's off-diagonal entries on both
 * sides), in theta's layout (src/numerics.md 14.1). */
static double theta_move(nvmm_model *m, const nvmm_model *base, int symmetric, size_t k, double h) {
  size_t d = base->d, nsig = d * (d + 1) / 2;
  size_t ngam = base->family != NVMM_FAMILY_GAUSS && !symmetric ? d : 0;
  double mu[2], gamma[2], sigma[4];
  memcpy(mu, base->mu, d * sizeof *mu);
  memcpy(gamma, base->gamma, d * sizeof *gamma);
  memcpy(sigma, base->sigma, d * d * sizeof *sigma);
  nvmm_sub sub = base->sub;
  double *p;
  if (k < d) {
    p = &mu[k];
  } else if (k < d + ngam) {
    p = &gamma[k - d];
  } else if (k < d + ngam + nsig) {
    size_t r = k - d - ngam, i = 0;
    while ((i + 1) * (i + 2) / 2 <= r)
      i++;
    size_t j = r - i * (i + 1) / 2;
    p = &sigma[i * d + j];
    sigma[j * d + i] += h;
    if (i == j)
      sigma[j * d + i] -= h;
  } else { /* the free subordinator parameters: the hyperbolic family's p is not one */
    size_t s = k - d - ngam - nsig + (base->family == NVMM_FAMILY_HYP);
    p = &sub.par[s];
  }
  double v = *p;
  *p += h;
  if (m)
    ck_assert_ok(nvmm_model_set(m, mu, gamma, sigma, &sub));
  return v;
}

static double total_logpdf(const nvmm_model *m, size_t n, const double *x, double *out) {
  double scratch[4];
  ck_assert_ok(nvmm_model_logpdf(m, n, x, out, scratch));
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += out[i];
  return s;
}

/* (a) The summed score at a non-optimal model equals the central difference of the total
 * log-likelihood in every entry of theta, for every family, d = 1 and 2, skewed and symmetric;
 * each row's score is orthogonal to the orbit's tangent. */
static void check_fd(nvmm_family fam, size_t d, int symmetric) {
  nvmm_model *m = make_model(fam, d, symmetric), *mv = make_model(fam, d, symmetric);
  enum { N = 40 };
  double x[N * 2], lp[N];
  gsl_rng *rng;
  ck_assert_ok(nvmm_rng_stream(20261207, (uint64_t)(fam * 10 + (int)d), &rng));
  ck_assert_ok(nvmm_model_sample(m, rng, N, x, NULL));
  gsl_rng_free(rng);
  size_t P = nvmm_score_len(fam, d, symmetric);
  double *s = malloc(N * P * sizeof *s), *v = malloc(P * sizeof *v);
  ck_assert_ok(nvmm_score_rows(m, symmetric, N, x, s));
  ck_assert_ok(nvmm_score_tangent(m, symmetric, v));
  for (size_t k = 0; k < P; k++) {
    double sum = 0.0;
    for (size_t i = 0; i < N; i++)
      sum += s[i * P + k];
    /* h = 1e-5 max(|theta_k|, 1): the truncation error h^2 f'''/6 stays near 1e-9 of the
     * gradient, and the rounding of the total log-density (40 rows, log K to ~1e-15,
     * src/numerics.md 10.5) divided by h near 1e-8; 1e-6 of max(1, |gradient|) leaves a
     * margin of 100 over both. */
    double t = theta_move(NULL, m, symmetric, k, 0.0);
    double h = 1e-5 * (fabs(t) > 1.0 ? fabs(t) : 1.0);
    theta_move(mv, m, symmetric, k, h);
    double fp = total_logpdf(mv, N, x, lp);
    theta_move(mv, m, symmetric, k, -h);
    double fm = total_logpdf(mv, N, x, lp);
    char name[32];
    ck_assert_ok(nvmm_score_name(fam, d, symmetric, k, name, sizeof name));
    double fd = (fp - fm) / (2.0 * h);
    ck_assert_msg(fabs(sum - fd) <= 1e-6 * fmax(1.0, fabs(fd)),
                  "%s d=%zu sym=%d %s: score %.12g, finite difference %.12g", nvmm_family_name(fam),
                  d, symmetric, name, sum, fd);
  }
  for (size_t i = 0; i < N; i++) {
    /* The orbit leaves each row's log-density unchanged, so s_i'v = 0 exactly in theory; in
     * floating point it holds to the posterior moments' accuracy (Bessel ratios to ~1e-13,
     * src/numerics.md 10.5) times the terms' size: 1e-10 of sum |s_ik v_k|. */
    double dot = 0.0, mag = 0.0;
    for (size_t k = 0; k < P; k++) {
      dot += s[i * P + k] * v[k];
      mag += fabs(s[i * P + k] * v[k]);
    }
    ck_assert_msg(fabs(dot) <= 1e-10 * mag + 1e-300, "%s d=%zu row %zu: s'v = %g of %g",
                  nvmm_family_name(fam), d, i, dot, mag);
  }
  free(s);
  free(v);
  nvmm_model_free(&m);
  nvmm_model_free(&mv);
}

START_TEST(test_score_fd) {
  for (int fam = 0; fam < NVMM_FAMILY_COUNT; fam++)
    for (size_t d = 1; d <= 2; d++) {
      check_fd((nvmm_family)fam, d, 0);
      if (fam != NVMM_FAMILY_GAUSS)
        check_fd((nvmm_family)fam, d, 1);
    }
}
END_TEST

/* The free-parameter counts: 2d + d(d+1)/2 + 2 for GH, + 1 for NIG, VG, NInvG and hyp,
 * d + d(d+1)/2 for the Gaussian, d fewer when symmetric. */
START_TEST(test_counts) {
  for (size_t d = 1; d <= 3; d++)
    for (int sym = 0; sym <= 1; sym++)
      for (int fam = 0; fam < NVMM_FAMILY_COUNT; fam++) {
        size_t tri = d * (d + 1) / 2, want;
        if (fam == NVMM_FAMILY_GAUSS)
          want = d + tri;
        else
          want = 2 * d + tri + (fam == NVMM_FAMILY_GH ? 2 : 1) - (sym ? d : 0);
        nvmm_model *m = make_model((nvmm_family)fam, d > 2 ? 2 : d, sym);
        size_t P = nvmm_score_len((nvmm_family)fam, d, sym);
        size_t gauge = fam == NVMM_FAMILY_GAUSS ? 0 : 1;
        ck_assert_uint_eq(P - gauge, want);
        nvmm_model_free(&m);
      }
}
END_TEST

static double *draw(const nvmm_model *m, size_t n, uint64_t seed) {
  double *x = malloc(n * m->d * sizeof *x);
  gsl_rng *rng;
  ck_assert_ok(nvmm_rng_stream(seed, 0, &rng));
  ck_assert_ok(nvmm_model_sample(m, rng, n, x, NULL));
  gsl_rng_free(rng);
  return x;
}

static nvmm_fit *fit(nvmm_fit_options *o, size_t n, size_t d, const double *x) {
  nvmm_fit *f;
  ck_assert_ok(nvmm_fit_create(MPI_COMM_WORLD, o, (int64_t)n, (int64_t)d, 0, (int64_t)n, x, &f));
  ck_assert_ok(nvmm_fit_init(f));
  ck_assert_ok(nvmm_fit_run(f));
  return f;
}

/* At the fitted MLE the summed score vanishes along the free directions: s' Cov s / 2, the
 * Newton estimate (with the OPG for the Hessian) of the log-likelihood still to gain, stays
 * below 1e-3 nats for fits stopped within tol_ll = 1e-6 nats (the OPG and the Hessian differ
 * by a factor of order one at n = 3000, so 1e-3 leaves a margin of ~100 over that). Away from the
 * MLE (the truth) the same quantity is large. */
START_TEST(test_mle_score) {
  const size_t n = 3000, d = 2;
  for (int fam = 0; fam < NVMM_FAMILY_COUNT; fam++) {
    for (int reg = 0; reg < 2; reg++) {
      nvmm_model *m = make_model((nvmm_family)fam, d, 0);
      double *x = draw(m, n, 77 + (uint64_t)fam);
      nvmm_fit_options o;
      nvmm_fit_options_default((nvmm_family)fam, &o);
      o.tol_ll = 1e-6;
      o.tol = 1e-6;
      o.max_iter = 2000;
      o.block_rows = 512;
      if (reg)
        o.regularization = NVMM_REG_A_EQ_B;
      nvmm_fit *f = fit(&o, n, d, x);
      nvmm_stderr *se;
      ck_assert_ok(nvmm_fit_stderr(f, &se));
      ck_assert_int_eq(se->n, (int64_t)n);
      double q = 0.0;
      for (size_t i = 0; i < se->npar; i++)
        for (size_t j = 0; j < se->npar; j++)
          q += se->score[i] * se->cov[i * se->npar + j] * se->score[j];
      ck_assert_msg(q / 2 < 1e-3, "%s reg %d: s'Cov s / 2 = %g at the MLE",
                    nvmm_family_name((nvmm_family)fam), reg, q / 2);
      for (size_t k = 0; k < d; k++)
        ck_assert(se->mu[k] > 0.0 && isfinite(se->mu[k]));
      if (fam == NVMM_FAMILY_NIG && reg) {
        ck_assert_str_eq(se->gauge_name, "mu_ig");
        ck_assert(se->sub[0] == 0.0); /* the gauge fixes mu_ig */
      }
      if ((fam == NVMM_FAMILY_VG || fam == NVMM_FAMILY_NINVG) && reg)
        ck_assert(strstr(se->gauge_name, "fixes no gauge") != NULL);
      if ((fam == NVMM_FAMILY_GH || fam == NVMM_FAMILY_HYP) && reg)
        ck_assert_str_eq(se->gauge_name, "log_a_minus_log_b");
      nvmm_stderr_free(&se);
      nvmm_fit_destroy(&f);
      free(x);
      nvmm_model_free(&m);
    }
  }
}
END_TEST

START_TEST(test_refusals) {
  const size_t n = 600, d = 2;
  nvmm_model *m = make_model(NVMM_FAMILY_NIG, d, 0);
  double *x = draw(m, n, 5);
  nvmm_fit_options o;
  nvmm_fit_options_default(NVMM_FAMILY_NIG, &o);
  o.block_rows = 512;
  o.shrink = NVMM_SHRINK_MODEL;
  o.shrink_tau = 0.1;
  o.regularization = NVMM_REG_NONE;
  nvmm_fit *f = fit(&o, n, d, x);
  nvmm_stderr *se = NULL;
  ck_assert_fails(nvmm_fit_stderr(f, &se), NVMM_EINVAL, "shrink");
  ck_assert_ptr_null(se);
  nvmm_fit_destroy(&f);
  nvmm_fit_options_default(NVMM_FAMILY_NIG, &o);
  o.block_rows = 512;
  o.algorithm = NVMM_ALG_INCREMENTAL;
  o.finish = 0;
  o.batch_rows = 100;
  f = fit(&o, n, d, x);
  ck_assert_fails(nvmm_fit_stderr(f, &se), NVMM_EINVAL, "finish");
  nvmm_fit_destroy(&f);
  free(x);
  nvmm_model_free(&m);
}
END_TEST

/* (b) Calibration: R replicate samples of n rows from a known model, each fitted (gauge
 * det_sigma_one in every replicate) with its standard errors; for every parameter the spread of
 * the R estimates over the mean reported error lies in [0.8, 1.25]. With R = 100 the sample SD's
 * own relative error is about 1/sqrt(2 (R - 1)) = 7%, so the band is about 3 of those wide on
 * either side. Prints the ratios. */
static void calibrate(nvmm_family fam, const double *subpar, size_t n, int R) {
  const size_t d = 2;
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(fam, d, &m));
  nvmm_sub sub;
  ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(fam), subpar, &sub));
  double mu[2] = {0.31, -0.73}, gamma[2] = {0.52, -0.38}, sigma[4] = {1.37, 0.41, 0.41, 0.83};
  ck_assert_ok(nvmm_model_set(m, mu, gamma, sigma, &sub));
  size_t P = nvmm_score_len(fam, d, 0);
  double *est = calloc((size_t)R * P, sizeof *est), *sesum = calloc(P, sizeof *sesum);
  nvmm_model *fm;
  ck_assert_ok(nvmm_model_alloc(fam, d, &fm));
  for (int r = 0; r < R; r++) {
    double *x = draw(m, n, 1000 + (uint64_t)r);
    nvmm_fit_options o;
    nvmm_fit_options_default(fam, &o);
    o.block_rows = 512;
    o.regularization = NVMM_REG_DET_SIGMA_ONE;
    o.tol_ll = 1e-6;
    o.max_iter = 2000;
    nvmm_fit *f = fit(&o, n, d, x);
    ck_assert_int_gt(nvmm_fit_reason_get(f), 0);
    ck_assert_ok(nvmm_fit_model(f, fm));
    nvmm_stderr *se;
    ck_assert_ok(nvmm_fit_stderr(f, &se));
    for (size_t k = 0; k < P; k++) {
      est[(size_t)r * P + k] = theta_move(NULL, fm, 0, k, 0.0);
      sesum[k] += sqrt(se->cov[k * P + k]);
    }
    nvmm_stderr_free(&se);
    nvmm_fit_destroy(&f);
    free(x);
  }
  for (size_t k = 0; k < P; k++) {
    double mean = 0.0, ss = 0.0;
    for (int r = 0; r < R; r++)
      mean += est[(size_t)r * P + k];
    mean /= R;
    for (int r = 0; r < R; r++)
      ss += (est[(size_t)r * P + k] - mean) * (est[(size_t)r * P + k] - mean);
    double sd = sqrt(ss / (R - 1)), ratio = sd / (sesum[k] / R);
    char name[32];
    ck_assert_ok(nvmm_score_name(fam, d, 0, k, name, sizeof name));
    printf("calibration %s n=%zu R=%d %-12s mean %9.5f sd %8.5f mean SE %8.5f ratio %.3f\n",
           nvmm_family_name(fam), n, R, name, mean, sd, sesum[k] / R, ratio);
    ck_assert_msg(ratio >= 0.8 && ratio <= 1.25, "%s %s: sd / mean SE = %.3f",
                  nvmm_family_name(fam), name, ratio);
  }
  free(est);
  free(sesum);
  nvmm_model_free(&fm);
  nvmm_model_free(&m);
}

START_TEST(test_calibration_nig) {
  calibrate(NVMM_FAMILY_NIG, (double[3]){1.29, 1.71, 0}, 2000, 100);
}
END_TEST

START_TEST(test_calibration_gh) {
  calibrate(NVMM_FAMILY_GH, (double[3]){-0.83, 1.41, 2.29}, 5000, 100);
}
END_TEST

static Suite *stderr_suite(void) {
  Suite *s = suite_create("stderr");
  TCase *tc = tcase_create("score");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_score_fd);
  tcase_add_test(tc, test_counts);
  tcase_add_test(tc, test_mle_score);
  tcase_add_test(tc, test_refusals);
  suite_add_tcase(s, tc);
  TCase *tcal = tcase_create("calibration");
  tcase_set_timeout(tcal, 600);
  tcase_add_test(tcal, test_calibration_nig);
  tcase_add_test(tcal, test_calibration_gh);
  suite_add_tcase(s, tcal);
  return s;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  gsl_set_error_handler_off();
  int all = nvmm_test_run_mpi(stderr_suite());
  MPI_Finalize();
  return all == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
