/* test_factor_mstep.c: the factor E-step's statistics and the factor ECM M-step
 * (src/numerics.md 5.12): the sums against the per-row posterior moments; the M-step inverts the
 * population expectations of a factor law, in the model's own latent basis and in a linearly
 * transformed one; factor EM on a simulated factor NIG never decreases the log-likelihood and
 * ends above the truth's; the refusals. */
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_expint.h>
#include <gsl/gsl_sf_psi.h>

#include "nvmm_test.h"

#define DMAX 8
#define RMAX 3
/* Doubles of scratch for d <= DMAX, r <= RMAX: nvmm_factor_estep's BLAS-3 sub-chunks hold up to
 * 64 rows of some 2 d + 3 r + 12 numbers (asserted where used). */
#define SCRATCH 4096

static double urand(gsl_rng *rng, double lo, double hi) {
  return lo + (hi - lo) * gsl_rng_uniform(rng);
}

/* A model of family fam with (mu, gamma, subordinator par) and the dense Sigma of fa. */
static nvmm_model *make_model(nvmm_family fam, const nvmm_factor *fa, const double *mu,
                              const double *gamma, const double par[3]) {
  double *sigma = malloc(fa->d * fa->d * sizeof *sigma);
  nvmm_model *m;
  nvmm_sub sub;
  ck_assert_ptr_nonnull(sigma);
  ck_assert_ok(nvmm_factor_dense(fa, sigma));
  ck_assert_ok(nvmm_model_alloc(fam, fa->d, &m));
  ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(fam), par, &sub));
  ck_assert_ok(nvmm_model_set(m, mu, fam == NVMM_FAMILY_GAUSS ? NULL : gamma, sigma, &sub));
  free(sigma);
  return m;
}

static nvmm_factor *make_factor(size_t d, size_t r, const double *f, const double *dd) {
  nvmm_factor *fa;
  ck_assert_ok(nvmm_factor_alloc(d, r, &fa));
  ck_assert_ok(nvmm_factor_set(fa, f, dd));
  return fa;
}

/* The factor statistics of n rows (d dimensions, r <= RMAX factors), in two calls of n1 and
 * n - n1 rows, against sums of nvmm_factor_posterior's per-row moments (the row kernel),
 * E[z z^T / Y | x] formed by the formula of src/numerics.md 3.4 with M^-1 from GSL's Cholesky
 * inverse of fa->m. The E-step forms q and zw in D^-1/2-scaled coordinates by DGEMMs over
 * sub-chunks of rows, the row kernel by loops: the same sums of squares and products of numbers
 * of order 1 in another order, so 1e-12 relative to the sum of absolute values, while a missing
 * row, a wrong weight or a sub-chunk counted twice shows at order 1. */
static void check_estep_sums(size_t d, size_t r, size_t n, size_t n1, unsigned long seed) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  double *f = malloc(d * r * sizeof *f), *dd = malloc(d * sizeof *dd);
  double *mu = malloc(d * sizeof *mu), *gamma = malloc(d * sizeof *gamma);
  double *x = malloc(n * d * sizeof *x);
  ck_assert(f && dd && mu && gamma && x);
  for (size_t j = 0; j < d; j++) {
    for (size_t k = 0; k < r; k++)
      f[j * r + k] = gsl_ran_gaussian(rng, 1.0);
    dd[j] = urand(rng, 0.1, 2.0), mu[j] = gsl_ran_gaussian(rng, 1.0);
    gamma[j] = gsl_ran_gaussian(rng, 0.5);
  }
  for (size_t i = 0; i < n * d; i++)
    x[i] = gsl_ran_gaussian(rng, 2.0);
  nvmm_factor *fa = make_factor(d, r, f, dd);
  nvmm_model *m = make_model(NVMM_FAMILY_NIG, fa, mu, gamma, (double[3]){1.2, 1.5, 0});
  size_t len = nvmm_factor_stats_off(d, r, NVMM_FST_LEN);
  ck_assert_uint_eq(len, 6 + 3 * d + 2 * r + r * (r + 1) / 2 + d * r);
  size_t ns = nvmm_factor_estep_scratch_len(d, r);
  ck_assert_uint_ge(ns, nvmm_factor_scratch_len(d, r));
  double *st = calloc(len, sizeof *st), *ref = calloc(len, sizeof *ref);
  double *abs_ = calloc(len, sizeof *abs_), *scratch = malloc(ns * sizeof *scratch);
  double *post = malloc(n * NVMM_FPOST_LEN * sizeof *post), *ez = malloc(n * r * sizeof *ez);
  double *ezy = malloc(n * r * sizeof *ezy);
  ck_assert(st && ref && abs_ && scratch && post && ez && ezy);
  /* Two calls: the sums add across calls. */
  ck_assert_ok(nvmm_factor_estep(m, fa, n1, x, st, scratch));
  ck_assert_ok(nvmm_factor_estep(m, fa, n - n1, x + n1 * d, st, scratch));
  ck_assert_ok(nvmm_factor_posterior(m, fa, n, x, post, ez, ezy, scratch));
  gsl_matrix *minv = gsl_matrix_alloc(r, r);
  for (size_t k = 0; k < r; k++)
    for (size_t l = 0; l < r; l++)
      gsl_matrix_set(minv, k, l, fa->m[k * r + l]);
  ck_assert_int_eq(gsl_linalg_cholesky_decomp1(minv), 0);
  ck_assert_int_eq(gsl_linalg_cholesky_invert(minv), 0);
  size_t ox = nvmm_factor_stats_off(d, r, NVMM_FST_X),
         oux = nvmm_factor_stats_off(d, r, NVMM_FST_UX);
  size_t ouxx = nvmm_factor_stats_off(d, r, NVMM_FST_UXX),
         oz = nvmm_factor_stats_off(d, r, NVMM_FST_Z);
  size_t ozy = nvmm_factor_stats_off(d, r, NVMM_FST_ZY),
         ozz = nvmm_factor_stats_off(d, r, NVMM_FST_ZZ);
  size_t oxzy = nvmm_factor_stats_off(d, r, NVMM_FST_XZY);
  ck_assert_uint_eq(ox, NVMM_ST_HEAD);
  ck_assert_uint_eq(oxzy + d * r, len);
#define ADD(idx, val) (ref[idx] += (val), abs_[idx] += fabs(val))
  for (size_t i = 0; i < n; i++) {
    const double *p = post + i * NVMM_FPOST_LEN, *xi = x + i * d;
    double u = p[NVMM_FPOST_U], v = p[NVMM_FPOST_V];
    ADD(NVMM_ST_N, 1.0), ADD(NVMM_ST_U, u), ADD(NVMM_ST_V, v), ADD(NVMM_ST_L, p[NVMM_FPOST_L]);
    ADD(NVMM_ST_LOGF, p[NVMM_FPOST_LOGF]), ADD(NVMM_ST_FLOOR, p[NVMM_FPOST_FLOOR]);
    /* c and c_g from E[z|x] and E[z/Y|x]: c = (ez - v ezy) / (1 - u v), c_g = u c - ezy. */
    double c[RMAX], cg[RMAX];
    for (size_t k = 0; k < r; k++) {
      c[k] = (ez[i * r + k] - v * ezy[i * r + k]) / (1.0 - u * v);
      cg[k] = u * c[k] - ezy[i * r + k];
    }
    for (size_t j = 0; j < d; j++) {
      ADD(ox + j, xi[j]), ADD(oux + j, u * xi[j]), ADD(ouxx + j, u * xi[j] * xi[j]);
      for (size_t k = 0; k < r; k++)
        ADD(oxzy + j * r + k, xi[j] * ezy[i * r + k]);
    }
    for (size_t k = 0; k < r; k++) {
      ADD(oz + k, ez[i * r + k]), ADD(ozy + k, ezy[i * r + k]);
      for (size_t l = 0; l <= k; l++)
        ADD(ozz + k * (k + 1) / 2 + l, gsl_matrix_get(minv, k, l) + u * c[k] * c[l] - c[k] * cg[l] -
                                           cg[k] * c[l] + v * cg[k] * cg[l]);
    }
  }
#undef ADD
  for (size_t i = 0; i < len; i++)
    ck_assert_msg(fabs(st[i] - ref[i]) <= 1e-12 * fmax(abs_[i], 1e-300),
                  "entry %zu: %.17g vs %.17g", i, st[i], ref[i]);
  /* The standardizing entry: raw rows y with x = (y - center) o rscale, the formula the kernel
   * uses, give the same bits as the standardized rows themselves, in the same calls. */
  double *y = malloc(n * d * sizeof *y), *xs = malloc(n * d * sizeof *xs);
  double *ce = malloc(d * sizeof *ce), *rs = malloc(d * sizeof *rs);
  double *st2 = calloc(len, sizeof *st2), *st3 = calloc(len, sizeof *st3);
  ck_assert(y && xs && ce && rs && st2 && st3);
  for (size_t j = 0; j < d; j++)
    ce[j] = gsl_ran_gaussian(rng, 3.0), rs[j] = urand(rng, 0.2, 5.0);
  for (size_t i = 0; i < n * d; i++) {
    y[i] = gsl_ran_gaussian(rng, 2.0);
    xs[i] = (y[i] - ce[i % d]) * rs[i % d];
  }
  ck_assert_ok(nvmm_factor_estep(m, fa, n1, xs, st2, scratch));
  ck_assert_ok(nvmm_factor_estep(m, fa, n - n1, xs + n1 * d, st2, scratch));
  ck_assert_ok(nvmm_factor_estep_std(m, fa, n1, y, ce, rs, st3, scratch));
  ck_assert_ok(nvmm_factor_estep_std(m, fa, n - n1, y + n1 * d, ce, rs, st3, scratch));
  ck_assert_int_eq(st2[NVMM_ST_N], (double)n);
  ck_assert_mem_eq(st2, st3, len * sizeof *st2);
  ck_assert_int_eq(nvmm_factor_estep_std(m, fa, n, y, ce, NULL, st3, scratch), NVMM_EINVAL);
  free(y), free(xs), free(ce), free(rs), free(st2), free(st3);
  gsl_matrix_free(minv);
  free(st), free(ref), free(abs_), free(scratch), free(post), free(ez), free(ezy);
  free(f), free(dd), free(mu), free(gamma), free(x);
  nvmm_model_free(&m);
  nvmm_factor_free(&fa);
  gsl_rng_free(rng);
}

/* A few rows: one sub-chunk per call. */
START_TEST(test_factor_estep_sums) { check_estep_sums(6, 2, 7, 3, 11); }
END_TEST

/* d = 40: nvmm_factor_estep's BLAS-3 sub-chunks hold 64 rows, so 300 rows in calls of 150 each
 * span a full sub-chunk and a partial one. */
START_TEST(test_factor_estep_chunks) { check_estep_sums(40, 3, 300, 150, 2027); }
END_TEST

/* eta = (E log Y, E 1/Y, E Y) in closed form (src/numerics.md 2.1-2.3). */
static void closed_eta(nvmm_family f, const double q[3], double eta[3]) {
  switch (f) {
  case NVMM_FAMILY_VG:
    eta[0] = gsl_sf_psi(q[0]) - log(q[1]), eta[1] = q[1] / (q[0] - 1.0), eta[2] = q[0] / q[1];
    break;
  case NVMM_FAMILY_NINVG:
    eta[0] = log(q[1]) - gsl_sf_psi(q[0]), eta[1] = q[0] / q[1], eta[2] = q[1] / (q[0] - 1.0);
    break;
  case NVMM_FAMILY_NIG:
    eta[0] = log(q[0]) - gsl_sf_expint_E1_scaled(2.0 * q[1] / q[0]);
    eta[1] = 1.0 / q[0] + 1.0 / q[1], eta[2] = q[0];
    break;
  default: /* the Gaussian: Y = 1 */
    eta[0] = 0.0, eta[1] = 1.0, eta[2] = 1.0;
  }
}

/* The M-step inverts population expectations (src/numerics.md 5.12). For a latent z~ = A z + h Y
 * (A invertible, h in R^r), X = mu + (gamma - F~ h) Y + F~ z~ + e with F~ = F A^-1, and the
 * population sums are, with U = E 1/Y, V = E Y: n = 1, sum x = mu + gamma V,
 * sum u x = mu U + gamma, sum u x_j^2 = Sigma_jj + mu_j^2 U + gamma_j^2 V + 2 mu_j gamma_j,
 * sum ez = h V, sum ezy = h, sum Ezz = A A^T + V h h^T, sum x ezy^T = mu h^T + V gamma h^T + F A^T.
 * Case 1 (A = I, h = 0, the current F a random other one): the M-step returns (mu, gamma, F, D)
 * (F itself, so also F F^T). Case 2 (random A and h, current F = F~, which CM-step 1 needs to
 * be exact): it returns (mu, gamma - F~ h, F~, D). All closed-form arithmetic on numbers of
 * order 1 with r = 2 solves: 1e-12 to max(1, |.|) (about 1e-15 seen); the subordinator's
 * closed-form or digamma maps likewise. */
START_TEST(test_factor_mstep_inverts) {
  const size_t d = 5, r = 2;
  const nvmm_family fams[4] = {NVMM_FAMILY_NIG, NVMM_FAMILY_VG, NVMM_FAMILY_NINVG,
                               NVMM_FAMILY_GAUSS};
  const double pars[4][3] = {{1.3, 2.1, 0}, {2.5, 1.7, 0}, {3.1, 2.2, 0}, {0, 0, 0}};
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 5);
  for (int fi = 0; fi < 4; fi++)
    for (int cas = 0; cas < 2; cas++) {
      nvmm_family fam = fams[fi];
      double f[DMAX * RMAX], dd[DMAX], mu[DMAX], gamma[DMAX], eta[3], a[4], ainv[4], h[2];
      double ft[DMAX * RMAX], gt[DMAX], fcur[DMAX * RMAX];
      for (size_t j = 0; j < d; j++) {
        for (size_t k = 0; k < r; k++)
          f[j * r + k] = gsl_ran_gaussian(rng, 1.0), fcur[j * r + k] = gsl_ran_gaussian(rng, 1.0);
        dd[j] = urand(rng, 0.2, 2.0), mu[j] = gsl_ran_gaussian(rng, 1.0);
        gamma[j] = fam == NVMM_FAMILY_GAUSS ? 0.0 : gsl_ran_gaussian(rng, 0.5);
      }
      if (cas == 0) {
        a[0] = a[3] = 1.0, a[1] = a[2] = 0.0, h[0] = h[1] = 0.0;
      } else {
        a[0] = 1.3, a[1] = 0.4, a[2] = -0.7, a[3] = 0.9;
        h[0] = fam == NVMM_FAMILY_GAUSS ? 0.0 : 0.6, h[1] = fam == NVMM_FAMILY_GAUSS ? 0.0 : -0.8;
      }
      double det = a[0] * a[3] - a[1] * a[2];
      ainv[0] = a[3] / det, ainv[1] = -a[1] / det, ainv[2] = -a[2] / det, ainv[3] = a[0] / det;
      for (size_t j = 0; j < d; j++) {
        for (size_t k = 0; k < r; k++)
          ft[j * r + k] = f[j * r] * ainv[k] + f[j * r + 1] * ainv[2 + k];
        gt[j] = gamma[j] - ft[j * r] * h[0] - ft[j * r + 1] * h[1];
        if (cas == 1)
          for (size_t k = 0; k < r; k++)
            fcur[j * r + k] = ft[j * r + k];
      }
      closed_eta(fam, pars[fi], eta);
      const double uu = eta[1], vv = eta[2];
      double st[128] = {0};
      st[NVMM_ST_N] = 1.0, st[NVMM_ST_L] = eta[0], st[NVMM_ST_U] = uu, st[NVMM_ST_V] = vv;
      double *sx = st + nvmm_factor_stats_off(d, r, NVMM_FST_X);
      double *sux = st + nvmm_factor_stats_off(d, r, NVMM_FST_UX);
      double *suxx = st + nvmm_factor_stats_off(d, r, NVMM_FST_UXX);
      double *sz = st + nvmm_factor_stats_off(d, r, NVMM_FST_Z);
      double *szy = st + nvmm_factor_stats_off(d, r, NVMM_FST_ZY);
      double *szz = st + nvmm_factor_stats_off(d, r, NVMM_FST_ZZ);
      double *sxzy = st + nvmm_factor_stats_off(d, r, NVMM_FST_XZY);
      for (size_t j = 0; j < d; j++) {
        double sjj = dd[j] + f[j * r] * f[j * r] + f[j * r + 1] * f[j * r + 1];
        sx[j] = mu[j] + gamma[j] * vv;
        sux[j] = mu[j] * uu + gamma[j];
        suxx[j] = sjj + mu[j] * mu[j] * uu + gamma[j] * gamma[j] * vv + 2.0 * mu[j] * gamma[j];
        for (size_t k = 0; k < r; k++) /* (F A^T)_jk = sum_l F_jl A_kl */
          sxzy[j * r + k] = mu[j] * h[k] + vv * gamma[j] * h[k] + f[j * r] * a[k * 2] +
                            f[j * r + 1] * a[k * 2 + 1];
      }
      for (size_t k = 0; k < r; k++) {
        sz[k] = h[k] * vv, szy[k] = h[k];
        for (size_t l = 0; l <= k; l++) /* (A A^T)_kl = sum_m A_km A_lm */
          szz[k * (k + 1) / 2 + l] =
              a[k * 2] * a[l * 2] + a[k * 2 + 1] * a[l * 2 + 1] + vv * h[k] * h[l];
      }
      double ones[DMAX] = {1, 1, 1, 1, 1};
      nvmm_factor *fa = make_factor(d, r, fcur, ones);
      double par0[3] = {pars[fi][0], pars[fi][1], 0};
      if (fam != NVMM_FAMILY_GAUSS)
        par0[0] *= 1.4, par0[1] *= 0.8; /* a warm start away from the answer */
      nvmm_model *m = make_model(fam, fa, mu, gamma, par0);
      for (size_t j = 0; j < d; j++)
        m->mu[j] += 0.3; /* the current mu and gamma do not enter */
      double scratch[128];
      ck_assert_uint_le(nvmm_factor_mstep_scratch_len(d, r), 128);
      nvmm_factor_counts counts = {0};
      ck_assert_ok(nvmm_factor_mstep(st, m, fa, m, fa, NULL, &counts, scratch));
      for (size_t j = 0; j < d; j++) {
        ck_assert_close(m->mu[j], mu[j], 1e-12);
        ck_assert_close(m->gamma[j], gt[j], 1e-12);
        ck_assert_close(fa->dd[j], dd[j], 1e-12);
        for (size_t k = 0; k < r; k++)
          ck_assert_close(fa->f[j * r + k], ft[j * r + k], 1e-12);
        if (cas == 0)
          for (size_t l = 0; l < d; l++) {
            double got = 0, want = 0;
            for (size_t k = 0; k < r; k++)
              got += fa->f[j * r + k] * fa->f[l * r + k], want += f[j * r + k] * f[l * r + k];
            ck_assert_close(got, want, 1e-12);
          }
      }
      if (fam != NVMM_FAMILY_GAUSS)
        for (int k = 0; k < 2; k++)
          ck_assert_close(m->sub.par[k], pars[fi][k], 1e-12);
      ck_assert_int_eq(counts.dd_floor, 0);
      ck_assert_int_eq(counts.mstep.d_floor, 0);
      ck_assert_int_eq(counts.mstep.gig_fallback, 0);
      nvmm_model_free(&m);
      nvmm_factor_free(&fa);
    }
  gsl_rng_free(rng);
}
END_TEST

/* Sum of nvmm_factor_logpdf over the rows. */
static double total_ll(const nvmm_model *m, const nvmm_factor *fa, size_t n, const double *x,
                       double *lf, double *scratch) {
  ck_assert_ok(nvmm_factor_logpdf(m, fa, n, x, lf, scratch));
  double s = 0.0;
  for (size_t i = 0; i < n; i++)
    s += lf[i];
  return s;
}

/* Gauge-free comparison of dispersions: E[Y] Sigma is invariant under Y -> sY
 * (src/numerics.md 6.1); returns || E[Y] Sigma - E[Y_t] Sigma_t ||_F / || E[Y_t] Sigma_t ||_F. */
static double sigma_err(const nvmm_factor *fa, double ey, const nvmm_factor *ft, double eyt) {
  size_t d = fa->d;
  double s[DMAX * DMAX], t[DMAX * DMAX], num = 0, den = 0;
  ck_assert_ok(nvmm_factor_dense(fa, s));
  ck_assert_ok(nvmm_factor_dense(ft, t));
  for (size_t i = 0; i < d * d; i++)
    num += pow(ey * s[i] - eyt * t[i], 2), den += pow(eyt * t[i], 2);
  return sqrt(num / den);
}

/* Factor EM (nvmm_factor_estep then nvmm_factor_mstep) on n = 20000 rows of a factor NIG with
 * d = 8, r = 2 drawn by nvmm_model_sample with the dense Sigma = F F^T + D, from a start at the
 * sample mean, gamma = 0, F = 0.1 (columns of alternating sign), D = the sample variances and
 * NIG(1, 1). ECM maximizes the expected complete-data log-likelihood over each block in turn,
 * so the log-likelihood never decreases; the sums are plain double sums of 20000 terms of order
 * 10, so rounding moves the total by ~1e-10 relative: a decrease of more than 1e-9 |LL| fails.
 * After 30 iterations the log-likelihood must exceed the truth's minus 1 nat (the MLE is above
 * the truth by about half a chi-square with 40 degrees of freedom: 8 + 8 + 15 + 8 + 2
 * parameters less the gauge), and E[Y] Sigma must be within 10% of the truth's (Frobenius,
 * relative; the sampling error at n = 20000 is a few %). Seen: every step up (the smallest, the
 * last, 0.013 nats; 25.3 nats above the truth; E[Y] Sigma within 1.4%). */
START_TEST(test_factor_em_monotone) {
  const size_t d = 8, r = 2, n = 20000;
  const double ftrue[8 * 2] = {0.9,  0.0, 0.8, 0.3,  0.7, -0.4, 0.6, 0.5,
                               -0.5, 0.6, 0.4, -0.7, 0.3, 0.8,  0.2, -0.2};
  const double dtrue[8] = {0.3, 0.4, 0.5, 0.2, 0.6, 0.35, 0.45, 0.25};
  const double mtrue[8] = {0.1, -0.2, 0.3, 0.0, 0.5, -0.4, 0.2, 0.1};
  const double gtrue[8] = {0.3, -0.2, 0.1, 0.4, 0.0, -0.3, 0.2, 0.1};
  const double ptrue[3] = {1.0, 1.5, 0};
  nvmm_factor *ft = make_factor(d, r, ftrue, dtrue);
  nvmm_model *mt = make_model(NVMM_FAMILY_NIG, ft, mtrue, gtrue, ptrue);
  gsl_rng *rng;
  ck_assert_ok(nvmm_rng_stream(2026, 0, &rng));
  double *x = malloc(n * d * sizeof *x), *lf = malloc(n * sizeof *lf);
  ck_assert_ptr_nonnull(x);
  ck_assert_ptr_nonnull(lf);
  ck_assert_ok(nvmm_model_sample(mt, rng, n, x, NULL));
  double scratch[SCRATCH];
  ck_assert_uint_le(nvmm_factor_estep_scratch_len(d, r), SCRATCH);
  const double ll_true = total_ll(mt, ft, n, x, lf, scratch);

  double mean[8] = {0}, var[8] = {0}, f0[16], gz[8] = {0};
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      mean[j] += x[i * d + j] / (double)n;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      var[j] += pow(x[i * d + j] - mean[j], 2) / (double)n;
  for (size_t j = 0; j < d; j++)
    f0[j * r] = 0.1, f0[j * r + 1] = j % 2 ? 0.1 : -0.1;
  nvmm_factor *fa = make_factor(d, r, f0, var);
  nvmm_model *m = make_model(NVMM_FAMILY_NIG, fa, mean, gz, (double[3]){1.0, 1.0, 0});
  size_t len = nvmm_factor_stats_off(d, r, NVMM_FST_LEN);
  double st[256];
  ck_assert_uint_le(len, 256);
  double ll_prev = -INFINITY, ll = 0, min_step = INFINITY;
  nvmm_factor_counts counts = {0};
  for (int it = 0; it <= 30; it++) {
    memset(st, 0, len * sizeof *st);
    ck_assert_ok(nvmm_factor_estep(m, fa, n, x, st, scratch));
    ll = st[NVMM_ST_LOGF];
    ck_assert_rel(ll, total_ll(m, fa, n, x, lf, scratch), 1e-12);
    ck_assert_msg(ll >= ll_prev - 1e-9 * fabs(ll), "iteration %d: LL %.12g < previous %.12g", it,
                  ll, ll_prev);
    if (it > 0)
      min_step = fmin(min_step, ll - ll_prev);
    if (it == 30)
      break;
    ll_prev = ll;
    ck_assert_ok(nvmm_factor_mstep(st, m, fa, m, fa, NULL, &counts, scratch));
  }
  double err = sigma_err(fa, m->sub.par[0], ft, ptrue[0]);
  fprintf(stderr,
          "factor EM: LL %.6f, truth %.6f, gap %.4f; smallest step %.3g, last %.3g; E[Y] Sigma "
          "rel err %.4f\n",
          ll, ll_true, ll - ll_true, min_step, ll - ll_prev, err);
  ck_assert_msg(ll >= ll_true - 1.0, "LL %.9g below the truth's %.9g", ll, ll_true);
  ck_assert_msg(err < 0.1, "E[Y] Sigma relative error %g", err);
  ck_assert_int_eq(counts.dd_floor, 0);
  ck_assert_int_eq(counts.mstep.d_floor, 0);
  free(x), free(lf);
  gsl_rng_free(rng);
  nvmm_model_free(&m), nvmm_model_free(&mt);
  nvmm_factor_free(&fa), nvmm_factor_free(&ft);
}
END_TEST

/* The refusals of nvmm_factor_estep and nvmm_factor_mstep, with the D floor counted. */
START_TEST(test_factor_mstep_refusals) {
  const size_t d = 3, r = 1;
  double f[3] = {0.5, -0.2, 0.3}, dd[3] = {1, 1, 1}, mu[3] = {0}, gamma[3] = {0.1, 0, 0};
  nvmm_factor *fa = make_factor(d, r, f, dd), *f2, *f3;
  ck_assert_ok(nvmm_factor_alloc(d + 1, r, &f2));
  ck_assert_ok(nvmm_factor_alloc(d, 2, &f3));
  nvmm_model *m = make_model(NVMM_FAMILY_NIG, fa, mu, gamma, (double[3]){1, 1, 0});
  nvmm_model *g = make_model(NVMM_FAMILY_GAUSS, fa, mu, gamma, (double[3]){0});
  double st[64] = {0}, scratch[SCRATCH], x[6] = {0.1, 0.2, 0.3, NAN, 0, 0};
  ck_assert_uint_le(nvmm_factor_estep_scratch_len(d, r), SCRATCH);
  ck_assert_uint_eq(nvmm_factor_stats_off(d, r, (nvmm_factor_stats_block)99), 0);
  ck_assert_fails(nvmm_factor_estep(NULL, fa, 1, x, st, scratch), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_factor_estep(m, fa, 1, x, NULL, scratch), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_factor_estep(m, f2, 1, x, st, scratch), NVMM_EINVAL, "dimension");
  ck_assert_fails(nvmm_factor_estep(m, fa, 2, x, st, scratch), NVMM_EDOM, "row 1");
  memset(st, 0, sizeof st);
  nvmm_factor_counts c = {0};
  ck_assert_fails(nvmm_factor_mstep(NULL, m, fa, m, fa, NULL, &c, scratch), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_factor_mstep(st, m, fa, m, fa, NULL, &c, NULL), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_factor_mstep(st, m, fa, g, fa, NULL, &c, scratch), NVMM_EINVAL, "family");
  ck_assert_fails(nvmm_factor_mstep(st, m, fa, m, f3, NULL, &c, scratch), NVMM_EINVAL, "factors");
  ck_assert_fails(nvmm_factor_mstep(st, m, fa, m, fa, NULL, &c, scratch), NVMM_EDOM, "n = 0");
  /* Statistics of three rows; then a non-finite entry, a constant column. */
  double xs[9] = {0.1, 0.2, 0.3, -0.4, 0.5, 0.1, 0.7, -0.1, 0.9};
  ck_assert_ok(nvmm_factor_estep(m, fa, 3, xs, st, scratch));
  double keep = st[NVMM_ST_V];
  st[NVMM_ST_V] = INFINITY;
  ck_assert_fails(nvmm_factor_mstep(st, m, fa, m, fa, NULL, &c, scratch), NVMM_EDOM, "statistic 2");
  st[NVMM_ST_V] = keep;
  ck_assert_fails(
      nvmm_factor_mstep(st, m, fa, m, fa, &(nvmm_mstep_opts){.alpha_min = -1}, &c, scratch),
      NVMM_EDOM, "alpha_min");
  /* A column with no residual scale: sum u x_1^2 set to 0 makes A_1 < 0; nothing is written. */
  size_t ouxx = nvmm_factor_stats_off(d, r, NVMM_FST_UXX);
  double saved[64], mu_before = m->mu[0], d_before = fa->dd[0];
  memcpy(saved, st, sizeof st);
  st[ouxx + 1] = 0.0;
  ck_assert_fails(nvmm_factor_mstep(st, m, fa, m, fa, NULL, &c, scratch), NVMM_EDOM, "column 1");
  ck_assert_double_eq(m->mu[0], mu_before);
  ck_assert_double_eq(fa->dd[0], d_before);
  /* The D floor: D_0 = (A_0 - F_0 B_0^T) / n moves one for one with sum u x_0^2, so lowering that
   * sum by 1.001 n D_0 makes the raw D_0 negative (-0.001 D_0) while A_0 stays positive; D_0 is
   * then NVMM_FACTOR_D_FLOOR A_0 / n, and counted once. */
  nvmm_factor *fb = make_factor(d, r, f, dd);
  nvmm_model *mb = make_model(NVMM_FAMILY_NIG, fa, mu, gamma, (double[3]){1, 1, 0});
  ck_assert_ok(nvmm_factor_mstep(saved, m, fa, mb, fb, NULL, &c, scratch));
  ck_assert_int_eq(c.dd_floor, 0);
  double d0 = fb->dd[0], n = saved[NVMM_ST_N];
  saved[ouxx] -= 1.001 * n * d0;
  ck_assert_ok(nvmm_factor_mstep(saved, m, fa, mb, fb, NULL, &c, scratch));
  ck_assert_int_eq(c.dd_floor, 1);
  ck_assert_double_gt(fb->dd[0], 0.0);
  ck_assert_double_lt(fb->dd[0], 1e-6 * d0);
  /* The option factor_d_floor scales the same floor: D_0 = X A_0 / n, so D_0 moves by
   * X / NVMM_FACTOR_D_FLOOR exactly up to the rounding of two products (a few ulps). */
  double lo8 = fb->dd[0];
  ck_assert_ok(nvmm_factor_mstep(saved, m, fa, mb, fb, &(nvmm_mstep_opts){.factor_d_floor = 0.25},
                                 &c, scratch));
  ck_assert_int_eq(c.dd_floor, 2);
  ck_assert_double_le(fabs(fb->dd[0] / lo8 - 0.25 / NVMM_FACTOR_D_FLOOR),
                      4 * DBL_EPSILON * (0.25 / NVMM_FACTOR_D_FLOOR));
  ck_assert_fails(nvmm_factor_mstep(saved, m, fa, mb, fb, &(nvmm_mstep_opts){.factor_d_floor = 1.0},
                                    &c, scratch),
                  NVMM_EDOM, "factor_d_floor");
  nvmm_model_free(&mb);
  nvmm_factor_free(&fb);
  nvmm_model_free(&m), nvmm_model_free(&g);
  nvmm_factor_free(&fa), nvmm_factor_free(&f2), nvmm_factor_free(&f3);
}
END_TEST

static Suite *factor_mstep_suite(void) {
  Suite *s = suite_create("factor_mstep");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_factor_estep_sums);
  tcase_add_test(tc, test_factor_estep_chunks);
  tcase_add_test(tc, test_factor_mstep_inverts);
  tcase_add_test(tc, test_factor_em_monotone);
  tcase_add_test(tc, test_factor_mstep_refusals);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(factor_mstep_suite)
