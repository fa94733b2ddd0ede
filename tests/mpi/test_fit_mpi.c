/* test_fit_mpi.c: the distributed fit against known truth, run under mpirun: parameter
 * recovery over replicated simulations, EM and MCECM reaching the same optimum, monotone
 * log-likelihood histories, the gauges in the user's units and the Gaussian closed form. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "../nvmm_test_mpi.h"
#include "fit_test.h"
#include "nvmm.h"

/* Gauge-free summaries of an NIG model: mu (3), gamma E[Y] (3), Sigma E[Y] (6, lower), and the
 * shape sqrt(ab) = lambda / mu_ig. */
static void invariants(const nvmm_model *m, double *v) {
  double ey = m->sub.par[0];
  int k = 0;
  for (int i = 0; i < 3; i++)
    v[k++] = m->mu[i];
  for (int i = 0; i < 3; i++)
    v[k++] = m->gamma[i] * ey;
  for (int i = 0; i < 3; i++)
    for (int j = 0; j <= i; j++)
      v[k++] = m->sigma[i * 3 + j] * ey;
  v[k] = m->sub.par[1] / m->sub.par[0];
}

/* Recovery: R replications of n = 2000 rows; for each gauge-free quantity the mean over the
 * replications lies within 4 of its own standard errors (SD / sqrt(R)) of the truth. The MLE's
 * bias is O(1/n) while SD / sqrt(R) is O(1 / sqrt(nR)) = O(1/245): a bias the size of the
 * bound would need a constant ~8x the SD, which no regular MLE has at n = 2000. */
START_TEST(test_recovery) {
  enum { R = 30, NQ = 13 };
  const int64_t n = 2000;
  nvmm_model *truth = truth_model(NVMM_FAMILY_NIG, 3), *fitted;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 3, &fitted));
  double tv[NQ], v[NQ], sum[NQ] = {0}, sum2[NQ] = {0};
  invariants(truth, tv);
  for (int r = 0; r < R; r++) {
    int64_t first, nloc;
    double *x = draw(truth, n, 1000 + (uint64_t)r, &first, &nloc);
    nvmm_fit_options o;
    nvmm_fit_options_default(NVMM_FAMILY_NIG, &o);
    o.tol = 1e-7;
    o.max_iter = 2000;
    nvmm_fit *f = fit_data(&o, n, 3, first, nloc, x);
    ck_assert_int_eq(nvmm_fit_reason_get(f), NVMM_FIT_CONVERGED);
    ck_assert_ok(nvmm_fit_model(f, fitted));
    invariants(fitted, v);
    for (int k = 0; k < NQ; k++) {
      sum[k] += v[k];
      sum2[k] += v[k] * v[k];
    }
    nvmm_fit_destroy(&f);
    free(x);
  }
  for (int k = 0; k < NQ; k++) {
    double mean = sum[k] / R, sd = sqrt((sum2[k] - R * mean * mean) / (R - 1));
    ck_assert_msg(fabs(mean - tv[k]) <= 4.0 * sd / sqrt((double)R),
                  "quantity %d: mean %.6g over %d fits, truth %.6g, SE %.3g", k, mean, R, tv[k],
                  sd / sqrt((double)R));
  }
  nvmm_model_free(&truth);
  nvmm_model_free(&fitted);
}
END_TEST

/* EM and MCECM, plain and accelerated by SQUAREM, maximize the same likelihood: fitted to tol
 * 1e-9 from the same start they reach the same mean log-likelihood to 1e-9 (the LL is flat to
 * second order at the optimum, so a parameter difference of ~1e-5 moves it by ~1e-10) and the
 * same mu, gamma E[Y] to 1e-4. Every update that is an EM (or ECM) step does not lower the LL,
 * up to 1e-12 relative rounding: under SQUAREM that is every update but the extrapolations (a
 * rejection goes back to theta2, which beats the rejected theta3 that fell below theta0). SQUAREM
 * extrapolates at least once and needs fewer updates than plain EM here. */
START_TEST(test_em_vs_mcecm) {
  const int64_t n = 6000;
  nvmm_model *truth = truth_model(NVMM_FAMILY_GH, 2), *m[4];
  for (int k = 0; k < 4; k++)
    ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_GH, 2, &m[k]));
  int64_t first, nloc;
  double *x = draw(truth, n, 77, &first, &nloc);
  nvmm_fit_summary s[4];
  static const char *const name[4] = {"em", "mcecm", "em+squarem", "mcecm+squarem"};
  for (int k = 0; k < 4; k++) {
    nvmm_fit_options o;
    nvmm_fit_options_default(NVMM_FAMILY_GH, &o);
    o.algorithm = k % 2 ? NVMM_ALG_MCECM : NVMM_ALG_EM;
    o.accel = k >= 2 ? NVMM_ACCEL_SQUAREM : NVMM_ACCEL_NONE;
    o.tol = 1e-9;
    o.max_iter = 20000;
    o.init = NVMM_INIT_MOMENTS;
    nvmm_fit *f = fit_data(&o, n, 2, first, nloc, x);
    ck_assert_int_eq(nvmm_fit_reason_get(f), NVMM_FIT_CONVERGED);
    nvmm_fit_summary_get(f, &s[k]);
    ck_assert_ok(nvmm_fit_model(f, m[k]));
    size_t len;
    const double *ll, *ch, *el, *cn;
    nvmm_fit_history(f, &len, &ll, &ch, &el, &cn);
    double prev = s[k].loglik_init;
    for (size_t i = 0; i < len; i++) {
      int extrapolated = cn[i * NVMM_NCOUNTERS + NVMM_CNT_ACCEL_STEP] != 0.0;
      ck_assert_msg(extrapolated || ll[i] >= prev - 1e-12 * fabs(prev),
                    "%s iteration %zu: LL %.17g < %.17g", name[k], i + 1, ll[i], prev);
      prev = ll[i];
    }
    ck_assert_double_eq(s[k].counters[NVMM_CNT_GIG_FALLBACK], 0.0);
    ck_assert(k >= 2 ? s[k].counters[NVMM_CNT_ACCEL_STEP] > 0
                     : s[k].counters[NVMM_CNT_ACCEL_STEP] == 0);
    if (k >= 2)
      ck_assert_msg(s[k].iterations < s[k - 2].iterations, "%s: %d iterations, plain %d", name[k],
                    s[k].iterations, s[k - 2].iterations);
    nvmm_fit_destroy(&f);
  }
  double e0;
  ck_assert_ok(nvmm_sub_moment(&m[0]->sub, 1.0, &e0));
  for (int k = 1; k < 4; k++) {
    ck_assert_msg(fabs(s[0].loglik - s[k].loglik) <= 1e-9 * fabs(s[0].loglik),
                  "%s: %.17g vs em %.17g", name[k], s[k].loglik, s[0].loglik);
    double ek;
    ck_assert_ok(nvmm_sub_moment(&m[k]->sub, 1.0, &ek));
    for (int i = 0; i < 2; i++) {
      ck_assert_msg(fabs(m[0]->mu[i] - m[k]->mu[i]) < 1e-4, "%s: mu %g vs %g", name[k], m[k]->mu[i],
                    m[0]->mu[i]);
      ck_assert_msg(fabs(m[0]->gamma[i] * e0 - m[k]->gamma[i] * ek) < 1e-4, "%s: gamma", name[k]);
    }
  }
  nvmm_model_free(&truth);
  for (int k = 0; k < 4; k++)
    nvmm_model_free(&m[k]);
  free(x);
}
END_TEST

/* The requested gauge holds in the user's units (src/numerics.md 7.1), and moving between gauges
 * leaves the fitted law unchanged: the same final log-likelihood to 1e-10. */
START_TEST(test_gauges) {
  const int64_t n = 3000;
  nvmm_model *truth = truth_model(NVMM_FAMILY_GH, 3), *m;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_GH, 3, &m));
  int64_t first, nloc;
  double *x = draw(truth, n, 99, &first, &nloc);
  /* Data in large units, so the user-unit gauge differs from the standardized one. */
  for (int64_t i = 0; i < nloc * 3; i++)
    x[i] = 250.0 * x[i] + 1e4;
  double ll_ref = NAN;
  for (int r = 0; r < NVMM_REG_COUNT; r++) {
    nvmm_fit_options o;
    nvmm_fit_options_default(NVMM_FAMILY_GH, &o);
    o.regularization = (nvmm_regularization)r;
    o.tol = 1e-10;
    o.max_iter = 20000;
    nvmm_fit *f = fit_data(&o, n, 3, first, nloc, x);
    ck_assert_ok(nvmm_fit_model(f, m));
    nvmm_fit_summary s;
    nvmm_fit_summary_get(f, &s);
    if (r == NVMM_REG_DET_SIGMA_ONE)
      ck_assert_msg(fabs(m->logdet) < 1e-10, "log|Sigma| = %g", m->logdet);
    if (r == NVMM_REG_A_EQ_B)
      ck_assert_msg(fabs(m->sub.par[1] / m->sub.par[2] - 1) < 1e-12, "a/b");
    if (isnan(ll_ref))
      ll_ref = s.loglik;
    ck_assert_msg(fabs(s.loglik - ll_ref) < 1e-8 * fabs(ll_ref), "%s: %.17g vs %.17g",
                  nvmm_regularization_name((nvmm_regularization)r), s.loglik, ll_ref);
    nvmm_fit_destroy(&f);
  }
  nvmm_model_free(&truth);
  nvmm_model_free(&m);
  free(x);
}
END_TEST

/* Fits the Gaussian to n rows drawn from the baseline (seed), every value shifted by offset and,
 * with far, the first row's first value by a further offset. The fit must stop converged after
 * at most three iterations and 1 + moment_passes + iterations passes, with the sample mean and
 * biased covariance of a two-pass long-double reference: mean within tol (the data's SD is
 * about 1), each covariance entry within tol sqrt(c_jj c_kk). */
static void check_gauss(int64_t n, uint64_t seed, double offset, int far, int moment_passes,
                        long double tol) {
  nvmm_model *truth = truth_model(NVMM_FAMILY_GAUSS, 3), *m;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_GAUSS, 3, &m));
  int64_t first, nloc;
  double *x = draw(truth, n, seed, &first, &nloc);
  for (int64_t i = 0; i < nloc * 3; i++)
    x[i] += offset;
  if (far && first == 0 && nloc > 0)
    x[0] += offset;
  nvmm_fit_options o;
  nvmm_fit_options_default(NVMM_FAMILY_GAUSS, &o);
  o.tol = 1e-12;
  nvmm_fit *f = fit_data(&o, n, 3, first, nloc, x);
  ck_assert_ok(nvmm_fit_model(f, m));
  nvmm_fit_summary s;
  nvmm_fit_summary_get(f, &s);
  ck_assert_int_le(s.iterations, 3);
  ck_assert_int_eq(s.reason, NVMM_FIT_CONVERGED);
  ck_assert_int_eq(s.passes, moment_passes + s.iterations + 1);
  long double sx[3] = {0}, sxx[9] = {0}, tot[9], mean[3];
  for (int64_t i = 0; i < nloc; i++)
    for (int j = 0; j < 3; j++)
      sx[j] += x[i * 3 + j];
  MPI_Allreduce(sx, tot, 3, MPI_LONG_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  for (int j = 0; j < 3; j++) {
    mean[j] = tot[j] / n;
    ck_assert_msg(fabsl(m->mu[j] - mean[j]) <= tol, "mean %d: %.17g vs %.17Lg", j, m->mu[j],
                  mean[j]);
  }
  for (int64_t i = 0; i < nloc; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 3; k++)
        sxx[j * 3 + k] += (x[i * 3 + j] - mean[j]) * (x[i * 3 + k] - mean[k]);
  MPI_Allreduce(sxx, tot, 9, MPI_LONG_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  for (int j = 0; j < 9; j++) {
    long double c = tot[j] / n, scale = sqrtl(tot[j / 3 * 4] * tot[j % 3 * 4]) / n;
    ck_assert_msg(fabsl(m->sigma[j] - c) <= tol * scale, "cov %d: %.17g vs %.17Lg", j, m->sigma[j],
                  c);
  }
  nvmm_fit_destroy(&f);
  nvmm_model_free(&truth);
  nvmm_model_free(&m);
  free(x);
}

/* The Gaussian baseline: one M-step is the closed-form MLE (sample mean, biased covariance),
 * the second iteration changes nothing; the MLE rule asks for two iterations without gain, so
 * the fit stops after the third. 1e-12: a few hundred roundings of O(1) values. */
START_TEST(test_gauss) { check_gauss(4000, 5, 0.0, 0, 1, 1e-12L); }
END_TEST

/* The moment pass (src/numerics.md 7.2): sums shifted by the data's first row. Columns
 * with mean 1e6 and SD 1, where raw moments would lose 12 digits (an error ~1e-4): the fit
 * matches the reference to 1e-9 after one moment pass (each value of ~1e6 carries an absolute
 * rounding of 6e-11, so x - mean is good to ~1e-10 relative, and the shifted sums add ~n eps =
 * 2e-12). With the first row moved 1e6 SDs out the shift cancels: its distance from the mean
 * is then sqrt(n) = 141 SDs of the data, a ratio m^2 / var = n = 20000 above MOMENT_SHIFT_MAX =
 * 1e4, so a second pass about the mean is taken and the result is as accurate. */
START_TEST(test_moment_pass) {
  check_gauss(20000, 9, 1e6, 0, 1, 1e-9L);
  check_gauss(20000, 9, 1e6, 1, 2, 1e-9L);
}
END_TEST

/* The moment pass's cross products, read off the Gaussian start (mean and covariance, before
 * any iteration; every later iteration would erase an error in them, the first M-step being the
 * closed form) against long-double two-pass sums: both ways of summing them, the scalar loop of
 * d <= NVMM__SMALL_D (d = 3, 8) and DSYRK (d = 9), on columns with mean 1e6 (the shifted sums).
 * x_ij = 1e6 + sin((0.31 + 0.13 j) i) + 0.2 cos((0.07 + 0.05 j) i) (global row i): each column
 * its own frequencies, so no column is a combination of the others.
 * 1e-9, as test_moment_pass: each value of ~1e6 carries a rounding of 6e-11 absolute. */
START_TEST(test_moment_start) {
  static const size_t dims[] = {3, 8, 9};
  const int64_t n = 3000;
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (int di = 0; di < 3; di++) {
    const size_t d = dims[di];
    int64_t first, nloc;
    nvmm_fit_shard(n, BLOCK, rank, size, &first, &nloc);
    double *x = malloc((size_t)(nloc > 0 ? nloc : 1) * d * sizeof *x);
    for (int64_t i = 0; i < nloc; i++)
      for (size_t j = 0; j < d; j++) {
        double g = (double)(first + i);
        x[i * d + j] =
            1e6 + sin((0.31 + 0.13 * (double)j) * g) + 0.2 * cos((0.07 + 0.05 * (double)j) * g);
      }
    nvmm_fit_options o;
    nvmm_fit_options_default(NVMM_FAMILY_GAUSS, &o);
    o.block_rows = BLOCK;
    nvmm_fit *f;
    nvmm_model *m;
    ck_assert_ok(nvmm_fit_create(MPI_COMM_WORLD, &o, n, (int64_t)d, first, nloc, x, &f));
    ck_assert_ok(nvmm_fit_init(f));
    ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_GAUSS, d, &m));
    ck_assert_ok(nvmm_fit_model(f, m));
    long double sx[9] = {0}, sxx[81] = {0}, tot[81], mean[9];
    for (int64_t i = 0; i < nloc; i++)
      for (size_t j = 0; j < d; j++)
        sx[j] += x[i * d + j];
    MPI_Allreduce(sx, tot, (int)d, MPI_LONG_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    for (size_t j = 0; j < d; j++) {
      mean[j] = tot[j] / n;
      ck_assert_msg(fabsl(m->mu[j] - mean[j]) <= 1e-9L, "d %zu mean %zu: %.17g vs %.17Lg", d, j,
                    m->mu[j], mean[j]);
    }
    for (int64_t i = 0; i < nloc; i++)
      for (size_t j = 0; j < d; j++)
        for (size_t k = 0; k < d; k++)
          sxx[j * d + k] += (x[i * d + j] - mean[j]) * (x[i * d + k] - mean[k]);
    MPI_Allreduce(sxx, tot, (int)(d * d), MPI_LONG_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    for (size_t j = 0; j < d * d; j++) {
      long double c = tot[j] / n, scale = sqrtl(tot[j / d * (d + 1)] * tot[j % d * (d + 1)]) / n;
      ck_assert_msg(fabsl(m->sigma[j] - c) <= 1e-9L * scale, "d %zu cov %zu: %.17g vs %.17Lg", d, j,
                    m->sigma[j], c);
    }
    nvmm_fit_destroy(&f);
    nvmm_model_free(&m);
    free(x);
  }
}
END_TEST

#ifdef NVMM_FAULT_HOOKS
/* Divergence guard (src/numerics.md 8.5, 12.15): a NaN forced into the M-step of iteration 3
 * (the test hook NVMM_FAULT_NONFINITE_AT, in every build but a release one)
 * stops the fit as diverged after 3 counted iterations, with the NaN change in the history and
 * the finite model of iteration 2 kept (its LL recomputed by the closing pass). */
START_TEST(test_divergence) {
  const int64_t n = 2000;
  nvmm_model *truth = truth_model(NVMM_FAMILY_NIG, 3), *m;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 3, &m));
  int64_t first, nloc;
  double *x = draw(truth, n, 31, &first, &nloc);
  nvmm_fit_options o;
  nvmm_fit_options_default(NVMM_FAMILY_NIG, &o);
  o.tol = 1e-12;
  setenv("NVMM_FAULT_NONFINITE_AT", "3", 1); /* the hook (src/fault.h): read at creation */
  nvmm_fit *f = fit_data(&o, n, 3, first, nloc, x);
  unsetenv("NVMM_FAULT_NONFINITE_AT");
  nvmm_fit_summary s;
  nvmm_fit_summary_get(f, &s);
  ck_assert_int_eq(s.reason, NVMM_FIT_DIVERGED);
  ck_assert_int_eq(s.iterations, 3);
  size_t len;
  const double *ll, *ch, *el, *cn;
  nvmm_fit_history(f, &len, &ll, &ch, &el, &cn);
  ck_assert_uint_eq(len, 3);
  ck_assert(isfinite(ch[0]) && isfinite(ch[1]) && isnan(ch[2]));
  ck_assert(isfinite(s.loglik));
  ck_assert_double_eq(s.loglik, ll[1]); /* the kept model is iteration 2's */
  ck_assert_ok(nvmm_fit_model(f, m));
  for (int i = 0; i < 3; i++)
    ck_assert(isfinite(m->mu[i]));
  nvmm_fit_destroy(&f);
  nvmm_model_free(&truth);
  nvmm_model_free(&m);
  free(x);
}
END_TEST
#endif

/* The ScaLAPACK path (forced at d = 5 with scalapack_min_d = 1) gives the LAPACK fit: both are
 * backward-stable Choleskys of the same Sigma, differing by rounding (~1e-15 relative); EM is a
 * contraction near the optimum, so the fits agree to 1e-12 in log-likelihood and 1e-8 in the
 * parameters (the optimum's conditioning amplifies rounding in the parameters, not in the LL). */
START_TEST(test_scalapack_path) {
  const int64_t n = 4000;
  nvmm_model *truth = truth_model(NVMM_FAMILY_NIG, 3), *a, *b;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 3, &a));
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 3, &b));
  int64_t first, nloc;
  double *x = draw(truth, n, 41, &first, &nloc);
  nvmm_fit_summary s[2];
  for (int k = 0; k < 2; k++) {
    nvmm_fit_options o;
    nvmm_fit_options_default(NVMM_FAMILY_NIG, &o);
    o.tol = 1e-9;
    o.max_iter = 2000;
    o.scalapack_min_d = k ? 1 : 1 << 20;
    nvmm_fit *f = fit_data(&o, n, 3, first, nloc, x);
    nvmm_fit_summary_get(f, &s[k]);
    ck_assert_ok(nvmm_fit_model(f, k ? b : a));
    nvmm_fit_destroy(&f);
  }
  ck_assert_msg(fabs(s[0].loglik - s[1].loglik) <= 1e-12 * fabs(s[0].loglik), "%.17g vs %.17g",
                s[0].loglik, s[1].loglik);
  for (int i = 0; i < 9; i++)
    ck_assert_msg(fabs(a->sigma[i] - b->sigma[i]) <= 1e-8 * fabs(a->sigma[i]) + 1e-12, "sigma");
  for (int i = 0; i < 3; i++)
    ck_assert_msg(fabs(a->gamma[i] - b->gamma[i]) <= 1e-8, "gamma");
  nvmm_model_free(&truth);
  nvmm_model_free(&a);
  nvmm_model_free(&b);
  free(x);
}
END_TEST

/* Bad input is agreed on by every rank (no hang): n <= d, a negative tol, a rank with a range
 * that does not start on a block. */
START_TEST(test_bad_input) {
  nvmm_fit_options o;
  nvmm_fit_options_default(NVMM_FAMILY_NIG, &o);
  nvmm_fit *f = NULL;
  double x[9] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9, 1.3, 2.2};
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  ck_assert_int_eq(nvmm_fit_create(MPI_COMM_WORLD, &o, 3, 3, 0, rank ? 0 : 3, x, &f), NVMM_EDOM);
  ck_assert_ptr_null(f);
  o.tol = -1;
  ck_assert_int_eq(nvmm_fit_create(MPI_COMM_WORLD, &o, 30, 3, 0, 0, x, &f), NVMM_EBADTOL);
  nvmm_fit_options_default(NVMM_FAMILY_NIG, &o);
  int64_t bad_first = rank ? 7 : 0;
  ck_assert_int_ne(nvmm_fit_create(MPI_COMM_WORLD, &o, 5000, 3, bad_first, rank ? 3 : 0, x, &f),
                   NVMM_OK);
  ck_assert_ptr_null(f);
}
END_TEST

/* A chunk reader that must never be called past the moment pass (in-memory rows of a static
 * buffer, rows [row0, row0 + nrows) of a 600 x 2 data set). */
static double stream_rows[600 * 2];
static nvmm_status chunk_reader(void *ctx, int64_t row0, int64_t nrows, double *buf) {
  (void)ctx;
  memcpy(buf, stream_rows + row0 * 2, (size_t)nrows * 2 * sizeof *buf);
  return NVMM_OK;
}

/* Incremental EM on streamed shards needs the ranges reader: without it the start is refused on
 * every rank with a message naming it, not a slow or crashing read. */
START_TEST(test_incremental_stream_reader) {
  for (int i = 0; i < 1200; i++)
    stream_rows[i] = sin(0.37 * i) + 0.1 * (i % 7);
  nvmm_fit_options o;
  nvmm_fit_options_default(NVMM_FAMILY_NIG, &o);
  o.algorithm = NVMM_ALG_INCREMENTAL;
  o.block_rows = 100;
  o.batch_rows = 50;
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int64_t first, nloc;
  nvmm_fit_shard(600, o.block_rows, rank, size, &first, &nloc);
  nvmm_fit *f = NULL;
  ck_assert_int_eq(
      nvmm_fit_create_stream(MPI_COMM_WORLD, &o, 600, 2, first, nloc, chunk_reader, NULL, 200, &f),
      NVMM_OK);
  nvmm_clear_error();
  ck_assert_int_eq(nvmm_fit_init(f), NVMM_EINVAL);
  ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "nvmm_fit_set_ranges_reader"));
  nvmm_fit_destroy(&f);
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  gsl_set_error_handler_off();
  Suite *s = suite_create("fit_mpi");
  TCase *tc = tcase_create("fit");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_recovery);
  tcase_add_test(tc, test_em_vs_mcecm);
  tcase_add_test(tc, test_gauges);
  tcase_add_test(tc, test_gauss);
  tcase_add_test(tc, test_moment_pass);
  tcase_add_test(tc, test_moment_start);
#ifdef NVMM_FAULT_HOOKS
  tcase_add_test(tc, test_divergence);
#endif
  tcase_add_test(tc, test_scalapack_path);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_incremental_stream_reader);
  suite_add_tcase(s, tc);
  int all = nvmm_test_run_mpi(s);
  MPI_Finalize();
  return all == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
