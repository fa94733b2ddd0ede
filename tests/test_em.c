/* test_em.c: the E-step and M-step against independent references: posterior moments by
 * quadrature of a joint density written here from its formula, the M-step as the exact inverse
 * of the population expectations, the floors and counters of src/numerics.md 12, and EM
 * monotonicity on heavy-tailed samples. References use the parameters the test chose, the
 * test's own Cholesky factor (GSL) and the subordinators' closed forms, never the model's
 * derived fields (chol, logdet) or the library's density and subordinator functions. */
#include <string.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_expint.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

#include "nvmm_test.h"
#include "ref_gauss.h"

static const nvmm_family mix_families[] = {NVMM_FAMILY_VG, NVMM_FAMILY_NINVG, NVMM_FAMILY_NIG,
                                           NVMM_FAMILY_GH};

/* The test's parameters: mu, gamma (d) and Sigma (d x d row-major) into caller arrays. */
static void test_params(nvmm_family f, size_t d, double *mu, double *gamma, double *sigma) {
  for (size_t i = 0; i < d; i++) {
    mu[i] = 0.2 + 0.35 * (double)i;
    gamma[i] = f == NVMM_FAMILY_GAUSS ? 0.0 : (i % 2 ? -0.27 : 0.38);
    for (size_t j = 0; j < d; j++)
      sigma[i * d + j] =
          (i == j ? 1.1 + 0.2 * (double)i : 0.25 / (1.0 + fabs((double)i - (double)j)));
  }
}

static nvmm_model *make_model(nvmm_family f, size_t d, const double par[3]) {
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(f, d, &m));
  double *mu = malloc(d * sizeof *mu), *gamma = malloc(d * sizeof *gamma);
  double *sigma = malloc(d * d * sizeof *sigma);
  ck_assert(mu && gamma && sigma);
  test_params(f, d, mu, gamma, sigma);
  nvmm_sub sub = {NVMM_SUB_DEGENERATE, {0, 0, 0}};
  if (f != NVMM_FAMILY_GAUSS)
    ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(f), par, &sub));
  ck_assert_ok(nvmm_model_set(m, mu, gamma, sigma, &sub));
  free(mu);
  free(gamma);
  free(sigma);
  return m;
}

static const double default_par[NVMM_FAMILY_COUNT][3] = {
    {0, 0, 0}, {2.6, 1.4, 0}, {3.2, 2.1, 0}, {1.2, 1.9, 0}, {-1.3, 1.6, 2.2}, {0, 1.6, 2.2}};

/* default_par of a family at dimension d: the hyperbolic row's p is (d + 1) / 2. */
static const double *family_par(int f, size_t d, double buf[3]) {
  buf[0] = f == NVMM_FAMILY_HYP ? 0.5 * (double)(d + 1) : default_par[f][0];
  buf[1] = default_par[f][1], buf[2] = default_par[f][2];
  return buf;
}

/* The joint density of (X, Y) written from its definition (src/numerics.md 1.2, 2 and 3.3):
 * log f(x, y) = log N(x; mu + gamma y, y Sigma) + log f_Y(y), with the subordinator densities in
 * closed form: Gamma(alpha, beta) beta^alpha / Gamma(alpha) y^(alpha-1) e^(-beta y);
 * InverseGamma(alpha, beta) beta^alpha / Gamma(alpha) y^(-alpha-1) e^(-beta/y);
 * InverseGaussian(mu, lambda) sqrt(lambda / (2 pi y^3)) e^(-lambda (y-mu)^2 / (2 mu^2 y));
 * GIG(p, a, b) (a/b)^(p/2) / (2 K_p(sqrt(ab))) y^(p-1) e^(-(a y + b/y)/2), K from GSL. */
typedef struct joint {
  nvmm_family f;
  size_t d;
  const double *x, *mu, *gamma; /* the row and the test's parameters (d each) */
  const double *par;            /* the subordinator's classical parameters */
  gsl_matrix *chol;             /* test_chol of the test's Sigma */
  double logdet;                /* its log|Sigma| */
  double lconst;                /* log-normalizer of f_Y (everything not depending on y) */
} joint;

/* d = 0 gives the subordinator's density alone (x, mu, gamma, sigma unused). The caller frees
 * j->chol. */
static void joint_init(joint *j, nvmm_family f, size_t d, const double *x, const double *mu,
                       const double *gamma, const double *sigma, const double *par) {
  double logdet = 0.0;
  gsl_matrix *chol = d > 0 ? test_chol(d, sigma, &logdet) : NULL;
  *j = (joint){f, d, x, mu, gamma, par, chol, logdet, 0.0};
  const double *q = par;
  switch (f) {
  case NVMM_FAMILY_VG:
  case NVMM_FAMILY_NINVG:
    j->lconst = q[0] * log(q[1]) - gsl_sf_lngamma(q[0]);
    break;
  case NVMM_FAMILY_NIG:
    j->lconst = 0.5 * log(q[1] / (2.0 * M_PI));
    break;
  case NVMM_FAMILY_GH:
  case NVMM_FAMILY_HYP: {
    gsl_sf_result k;
    ck_assert_int_eq(gsl_sf_bessel_lnKnu_e(fabs(q[0]), sqrt(q[1] * q[2]), &k), GSL_SUCCESS);
    j->lconst = 0.5 * q[0] * log(q[1] / q[2]) - M_LN2 - k.val;
    break;
  }
  default:
    ck_abort_msg("joint density of family %d", (int)f);
  }
}

static double log_joint(const joint *j, double y) {
  const double *q = j->par;
  double ly = log(y), lp;
  switch (j->f) {
  case NVMM_FAMILY_VG:
    lp = (q[0] - 1.0) * ly - q[1] * y;
    break;
  case NVMM_FAMILY_NINVG:
    lp = -(q[0] + 1.0) * ly - q[1] / y;
    break;
  case NVMM_FAMILY_NIG:
    lp = -1.5 * ly - q[1] * (y - q[0]) * (y - q[0]) / (2.0 * q[0] * q[0] * y);
    break;
  default:
    lp = (q[0] - 1.0) * ly - 0.5 * (q[1] * y + q[2] / y);
  }
  if (j->d == 0) /* the subordinator alone */
    return j->lconst + lp;
  double r[8];
  for (size_t i = 0; i < j->d; i++)
    r[i] = j->x[i] - j->mu[i] - j->gamma[i] * y;
  double qf = test_quad_form(j->chol, r);
  return -0.5 * (double)j->d * log(2.0 * M_PI * y) - 0.5 * j->logdet - 0.5 * qf / y + j->lconst +
         lp;
}

/* Integration over t = log y of g(t) exp(log f(x, e^t) + t - shift), g = 1, e^-t, e^t or t. */
typedef struct qctx {
  const joint *j;
  int which; /* 0: 1, 1: 1/y, 2: y, 3: log y */
  double shift;
} qctx;

static double log_integrand(double t, const qctx *c) {
  double k = c->which == 1 ? -1.0 : c->which == 2 ? 1.0 : 0.0;
  return log_joint(c->j, exp(t)) + (1.0 + k) * t - c->shift;
}

static double qf(double t, void *p) {
  const qctx *c = p;
  double v = exp(log_integrand(t, c));
  return c->which == 3 ? t * v : v;
}

/* Requested relative accuracy of each integral (GSL's floor is 50 ulp, 1.1e-14). */
#define QUAD_EPSREL 1e-13

/* The integrals I_0, I_{1/y}, I_y, I_{log y} over t, all with the same shift (the peak of
 * log f(x, e^t) + t, found on a grid of step 0.01, so that the integrands are <= ~1), and the
 * largest of GSL's error estimates relative to its integral. Each integral runs over the range
 * where its integrand (without the factor t for log y) is within e^-60 = 1e-26 of its peak:
 * the log-integrands are concave in t, so the cut tails are invisible at QUAD_EPSREL. */
static void posterior_integrals(const joint *j, double *shift, double res[4], double *relerr) {
  qctx c = {j, 0, 0.0};
  double tpk = 0.0, fpk = -INFINITY;
  for (double t = -40.0; t <= 40.0; t += 0.01) {
    double v = log_integrand(t, &c);
    if (v > fpk)
      fpk = v, tpk = t;
  }
  *shift = c.shift = fpk;
  *relerr = 0.0;
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(2000);
  for (int k = 0; k < 4; k++) {
    c.which = k;
    double top = log_integrand(tpk, &c), lo = tpk, hi = tpk;
    while (log_integrand(lo, &c) > top - 60.0 || log_integrand(lo - 1.0, &c) > top - 60.0)
      lo -= 0.25;
    while (log_integrand(hi, &c) > top - 60.0 || log_integrand(hi + 1.0, &c) > top - 60.0)
      hi += 0.25;
    gsl_function f = {qf, &c};
    double err;
    int st = gsl_integration_qag(&f, lo, hi, 0.0, QUAD_EPSREL, 2000, GSL_INTEG_GAUSS61, w, &res[k],
                                 &err);
    ck_assert_msg(st == GSL_SUCCESS, "QAG (moment %d): %s", k, gsl_strerror(st));
    *relerr = fmax(*relerr, err / fabs(res[k]));
  }
  gsl_integration_workspace_free(w);
}

/* Posterior statistics of single rows, row-by-row (nvmm_estep) and blocked (nvmm_estep_block),
 * against quadrature of the joint density above, all families at d = 2 and 3, three rows each
 * (near mu, and two farther out on opposite sides):
 *   E[g(Y) | x] = int g f(x, y) dy / int f(x, y) dy,  log f(x) = log int f(x, y) dy.
 * Tolerances. The reference: QAG is asked for 1e-13 relative, and its error estimate must say it
 * got there (the largest is printed; 7.4e-14 seen); a ratio of two integrals doubles that, and
 * the log-integrand carries the rounding of terms of size <= ~50, ~1e-14 relative on the
 * integrand. The library: a few ulp (Bessel ratios and order derivative, test_bessel). So 1e-12,
 * relative for E[1/Y|x], E[Y|x] and to max(1, |.|) for E[log Y|x] (which can be near 0) and
 * log f(x): five times the reference's error bound; the agreement seen is 1.6e-15 at worst.
 * Gaussian: u = v = 1, l = 0 exactly and log f(x) = log N(x; mu, Sigma) by the test's factor. */
#define TOL_POST 1e-12
START_TEST(test_estep_vs_quadrature) {
  static const size_t dims[] = {2, 3};
  const double xs[3][3] = {{0.3, 0.5, 0.9}, {2.9, -1.4, 0.1}, {-4.2, 3.3, -2.5}};
  double worst_relerr = 0.0;
  for (int di = 0; di < 2; di++) {
    size_t d = dims[di];
    double mu[3], gamma[3], sigma[9];
    for (int f = 0; f < NVMM_FAMILY_COUNT; f++) {
      double parbuf[3];
      const double *par = family_par(f, d, parbuf);
      test_params((nvmm_family)f, d, mu, gamma, sigma);
      nvmm_model *m = make_model((nvmm_family)f, d, par);
      nvmm_estep_ws *ws;
      ck_assert_ok(nvmm_estep_ws_alloc(d, &ws));
      for (int k = 0; k < 3; k++) {
        double stats[2][32] = {{0}}, scratch[8];
        ck_assert_ok(nvmm_estep(m, 1, xs[k], stats[0], scratch));
        ck_assert_ok(nvmm_estep_block(m, ws, 1, xs[k], stats[1]));
        double ref_u, ref_v, ref_l, ref_lf;
        if (f == NVMM_FAMILY_GAUSS) {
          double r[3], logdet;
          gsl_matrix *l = test_chol(d, sigma, &logdet);
          for (size_t i = 0; i < d; i++)
            r[i] = xs[k][i] - mu[i];
          ref_lf = -0.5 * (double)d * log(2.0 * M_PI) - 0.5 * logdet - 0.5 * test_quad_form(l, r);
          gsl_matrix_free(l);
          ref_u = ref_v = 1.0;
          ref_l = 0.0;
        } else {
          joint j;
          joint_init(&j, (nvmm_family)f, d, xs[k], mu, gamma, sigma, par);
          double shift, in[4], relerr;
          posterior_integrals(&j, &shift, in, &relerr);
          gsl_matrix_free(j.chol);
          worst_relerr = fmax(worst_relerr, relerr);
          ck_assert_msg(relerr <= QUAD_EPSREL, "quadrature error estimate %.3g", relerr);
          ref_lf = shift + log(in[0]);
          ref_u = in[1] / in[0];
          ref_v = in[2] / in[0];
          ref_l = in[3] / in[0];
        }
        for (int b = 0; b < 2; b++) {
          const double *st = stats[b];
          ck_assert_msg(fabs(st[NVMM_ST_U] - ref_u) <= TOL_POST * ref_u &&
                            fabs(st[NVMM_ST_V] - ref_v) <= TOL_POST * ref_v &&
                            fabs(st[NVMM_ST_LOGF] - ref_lf) <= TOL_POST * fmax(1.0, fabs(ref_lf)),
                        "%s d=%zu row %d (%s): E[1/Y|x] %.17g vs %.17g, E[Y|x] %.17g vs %.17g, "
                        "log f %.17g vs %.17g",
                        nvmm_family_name((nvmm_family)f), d, k, b ? "block" : "estep",
                        st[NVMM_ST_U], ref_u, st[NVMM_ST_V], ref_v, st[NVMM_ST_LOGF], ref_lf);
          /* NIG's and the hyperbolic M-steps need no E[log Y|x]; estep.h documents the entry as
           * 0 then. */
          double want_l = f == NVMM_FAMILY_NIG || f == NVMM_FAMILY_HYP ? 0.0 : ref_l;
          ck_assert_msg(fabs(st[NVMM_ST_L] - want_l) <= TOL_POST * fmax(1.0, fabs(want_l)),
                        "%s d=%zu row %d (%s): E[log Y|x] %.17g vs %.17g",
                        nvmm_family_name((nvmm_family)f), d, k, b ? "block" : "estep",
                        st[NVMM_ST_L], want_l);
          ck_assert_double_eq(st[NVMM_ST_FLOOR], 0.0); /* dormant for these rows */
          ck_assert_double_eq(st[NVMM_ST_N], 1.0);
        }
      }
      nvmm_estep_ws_free(&ws);
      nvmm_model_free(&m);
    }
  }
  printf("estep vs quadrature: largest QAG error estimate %.3g (relative)\n", worst_relerr);
}
END_TEST

/* Statistics are plain sums: one call over n rows equals two calls over a split, and the
 * log-density sum equals the marginal log-density of the rows. Rounding differs only through
 * the order of additions: 1e-13 relative. */
START_TEST(test_estep_additive) {
  nvmm_model *m = make_model(NVMM_FAMILY_GH, 3, default_par[NVMM_FAMILY_GH]);
  double x[7 * 3], lf[7], scratch[8];
  for (int i = 0; i < 21; i++)
    x[i] = sin(1.7 * i + 0.3) * (1.0 + 0.1 * i);
  size_t len = nvmm_stats_len(3);
  ck_assert_uint_eq(len, NVMM_ST_HEAD + 6 + 6);
  double all[32] = {0}, split[32] = {0};
  ck_assert_ok(nvmm_estep(m, 7, x, all, scratch));
  ck_assert_ok(nvmm_estep(m, 3, x, split, scratch));
  ck_assert_ok(nvmm_estep(m, 4, x + 9, split, scratch));
  for (size_t i = 0; i < len; i++)
    ck_assert_close(split[i], all[i], 1e-13);
  ck_assert_ok(nvmm_model_logpdf(m, 7, x, lf, scratch));
  double s = 0;
  for (int i = 0; i < 7; i++)
    s += lf[i];
  ck_assert_close(all[NVMM_ST_LOGF], s, 1e-13);
  ck_assert_double_eq(all[NVMM_ST_N], 7.0);
  nvmm_model_free(&m);
}
END_TEST

/* The blocked kernels compute the same sums as the row-by-row reference: every family; d = 1, 3,
 * 5, 6, 8 (the register kernel: its own L^-1, unrolled loops, groups of eight rows sharing their
 * Bessel work, 2500 rows ending in a partial group of four) and d = 9, 13, 40 (DTRMM with L^-1
 * and DSYRK by chunks: 2500 rows are three chunks, one partial); rows 7 and 11 next to mu, where
 * the VG posterior b hits its floor (the per-row fallback; at x = mu itself the VG density is
 * infinite for alpha <= d/2). Both blocked kernels sum log K and
 * log(delta) through products of mantissas (one logarithm per chunk), the reference takes the
 * logarithms row by row: a genuinely different evaluation of the same sums.
 * 1e-13 relative to the sum of the terms' moduli (or 1): the order of floating additions and the
 * products' roundings differ (each product of 2500 factors carries at most 2500 ulp = 5.6e-13
 * relative, i.e. 5.6e-13 absolute in its logarithm, against log f sums of order 1e3-1e4);
 * observed at most 2.5e-14 of that scale (VG, d = 7, the sum of E[log Y|x]). */
START_TEST(test_estep_block_matches_reference) {
  static const size_t dims[] = {1, 3, 5, 6, 8, 9, 13, 40};
  for (int f = 0; f < NVMM_FAMILY_COUNT; f++)
    for (int di = 0; di < 8; di++) {
      size_t d = dims[di], n = 2500, len = nvmm_stats_len(d);
      double parbuf[3];
      nvmm_model *m = make_model((nvmm_family)f, d, family_par(f, d, parbuf));
      double *x = malloc(n * d * sizeof *x), *ref = calloc(len, sizeof *ref);
      double *fast = calloc(len, sizeof *fast), *scratch = malloc(2 * d * sizeof *scratch);
      for (size_t i = 0; i < n * d; i++)
        x[i] = 1.3 * sin(0.37 * (double)i + 0.1 * (double)f) + 0.2 * cos(1.7 * (double)i);
      for (size_t j = 0; j < d; j++) /* q ~ 1e-10: below the floor, log f still finite */
        x[7 * d + j] = x[11 * d + j] = m->mu[j] + 1e-5;
      nvmm_estep_ws *ws;
      ck_assert_ok(nvmm_estep_ws_alloc(d, &ws));
      ck_assert_ok(nvmm_estep(m, n, x, ref, scratch));
      ck_assert_ok(nvmm_estep_block(m, ws, n, x, fast));
      if (f == NVMM_FAMILY_VG)
        ck_assert(fast[NVMM_ST_FLOOR] >= 2.0); /* the rows at mu, perhaps others */
      for (size_t k = 0; k < len; k++) {
        /* Sums with cancellation are compared relative to the sum of their terms' moduli,
         * bounded by Cauchy-Schwarz: sum u |x_j x_k| <= sqrt(G_jj G_kk), sum u |x_j| <=
         * sqrt(U G_jj) with G = sum u x x^T, U = sum u. */
        const double *g = ref + nvmm_stats_uxx(d);
        double scale = fabs(ref[k]);
        if (k >= nvmm_stats_uxx(d)) {
          size_t e = k - nvmm_stats_uxx(d), j = 0;
          while ((j + 1) * (j + 2) / 2 <= e)
            j++;
          size_t c = e - j * (j + 1) / 2;
          scale = sqrt(g[j * (j + 1) / 2 + j] * g[c * (c + 1) / 2 + c]);
        } else if (k >= nvmm_stats_ux(d)) {
          size_t j = k - nvmm_stats_ux(d);
          scale = sqrt(ref[NVMM_ST_U] * g[j * (j + 1) / 2 + j]);
        }
        ck_assert_msg(fabs(fast[k] - ref[k]) <= 1e-13 * fmax(1.0, fmax(fabs(ref[k]), scale)),
                      "%s d=%zu stat %zu: %.17g vs %.17g", nvmm_family_name(m->family), d, k,
                      fast[k], ref[k]);
      }
      x[5 * d + (d - 1)] = NAN;
      ck_assert_int_eq(nvmm_estep_block(m, ws, n, x, fast), NVMM_EDOM);
      ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "row 5"));
      nvmm_estep_ws_free(&ws);
      free(x);
      free(ref);
      free(fast);
      free(scratch);
      nvmm_model_free(&m);
    }
}
END_TEST

/* Standardizing on the fly (the fit's path) gives bitwise the sums of the standardized copy:
 * the same expression (x - c) * r is evaluated either way. Both kernels (d = 3, 13). Exact
 * equality is the contract (rank-count independence and resume rely on it). */
START_TEST(test_estep_block_std_bitwise) {
  static const size_t dims[] = {3, 13};
  for (int di = 0; di < 2; di++) {
    size_t d = dims[di], n = 1500, len = nvmm_stats_len(d);
    nvmm_model *m = make_model(NVMM_FAMILY_GH, d, default_par[NVMM_FAMILY_GH]);
    double *x = malloc(n * d * sizeof *x), *xs = malloc(n * d * sizeof *xs);
    double *a = calloc(len, sizeof *a), *b = calloc(len, sizeof *b);
    double *c = malloc(d * sizeof *c), *r = malloc(d * sizeof *r);
    for (size_t j = 0; j < d; j++) {
      c[j] = 100.0 + 3.7 * (double)j; /* the raw data sit far from 0 and on other scales */
      r[j] = 1.0 / (0.01 * (1.0 + (double)j));
    }
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < d; j++) {
        double v = 1.3 * sin(0.37 * (double)(i * d + j)) + 0.2 * cos(1.7 * (double)(i * d + j));
        x[i * d + j] = c[j] + v / r[j];
        xs[i * d + j] = (x[i * d + j] - c[j]) * r[j];
      }
    nvmm_estep_ws *ws;
    ck_assert_ok(nvmm_estep_ws_alloc(d, &ws));
    ck_assert_ok(nvmm_estep_block(m, ws, n, xs, a));
    ck_assert_ok(nvmm_estep_block_std(m, ws, n, x, c, r, b));
    ck_assert_msg(memcmp(a, b, len * sizeof *a) == 0, "d = %zu: sums differ", d);
    ck_assert_int_eq(nvmm_estep_block_std(m, ws, n, x, c, NULL, b), NVMM_EINVAL);
    nvmm_estep_ws_free(&ws);
    free(x), free(xs), free(a), free(b), free(c), free(r);
    nvmm_model_free(&m);
  }
}
END_TEST

/* eta = (E log Y, E 1/Y, E Y) of the family's subordinator, from the test's formulas: the
 * closed forms of src/numerics.md 2.1-2.3 (GSL digamma; the InverseGaussian's E log Y =
 * log mu - e^{2 lambda/mu} E1(2 lambda/mu)), and for the GIG quadrature of its density above
 * (relative error ~1e-13). The Gaussian's Y = 1 gives (0, 1, 1); a moment that does not exist
 * is +inf. */
static void test_eta(nvmm_family f, const double q[3], double eta[3]) {
  switch (f) {
  case NVMM_FAMILY_GAUSS:
    eta[0] = 0.0, eta[1] = 1.0, eta[2] = 1.0;
    break;
  case NVMM_FAMILY_VG:
    eta[0] = gsl_sf_psi(q[0]) - log(q[1]), eta[2] = q[0] / q[1];
    eta[1] = q[0] > 1.0 ? q[1] / (q[0] - 1.0) : INFINITY;
    break;
  case NVMM_FAMILY_NINVG:
    eta[0] = log(q[1]) - gsl_sf_psi(q[0]), eta[1] = q[0] / q[1];
    eta[2] = q[0] > 1.0 ? q[1] / (q[0] - 1.0) : INFINITY;
    break;
  case NVMM_FAMILY_NIG:
    eta[0] = log(q[0]) - gsl_sf_expint_E1_scaled(2.0 * q[1] / q[0]);
    eta[1] = 1.0 / q[0] + 1.0 / q[1], eta[2] = q[0];
    break;
  default: {
    joint j;
    double shift, in[4], relerr;
    joint_init(&j, f, 0, NULL, NULL, NULL, NULL, q);
    posterior_integrals(&j, &shift, in, &relerr);
    eta[0] = in[3] / in[0], eta[1] = in[1] / in[0], eta[2] = in[2] / in[0];
  }
  }
}

/* The M-step inverts the population expectations: feeding it the statistics of the test's
 * parameters (src/numerics.md 3.3: E[X] = mu + gamma E Y, E[X/Y] = mu E[1/Y] + gamma,
 * E[XX^T/Y] = Sigma + mu mu^T E[1/Y] + gamma gamma^T E Y + mu gamma^T + gamma mu^T, with the
 * subordinator's eta from test_eta) returns those parameters. Tolerances (to max(1, |.|)):
 * the Gaussian block is closed-form arithmetic on numbers of order 1 (7e-16 seen): 1e-12. The
 * subordinator: Gamma, InverseGamma and InverseGaussian are a digamma Newton or closed forms
 * (1e-15 seen): 1e-12; the GIG solve stops at a relative moment mismatch ~1e-12, the quadrature
 * eta is good to ~1e-13, and the conditioning of p at this point costs up to ~1e2 (4e-14 seen):
 * 1e-10. */
START_TEST(test_mstep_inverts_eta) {
  for (int f = 0; f < NVMM_FAMILY_COUNT; f++) {
    const size_t d = 3;
    double parbuf[3];
    const double *par = family_par(f, d, parbuf);
    double mu[3], gamma[3], sigma[9], eta[3];
    test_params((nvmm_family)f, d, mu, gamma, sigma);
    test_eta((nvmm_family)f, par, eta);
    nvmm_model *next = make_model((nvmm_family)f, d, par);
    double st[32] = {0}, scratch[32];
    st[NVMM_ST_N] = 1.0;
    st[NVMM_ST_L] = eta[0];
    st[NVMM_ST_U] = eta[1];
    st[NVMM_ST_V] = eta[2];
    double *sx = st + nvmm_stats_x(d), *sux = st + nvmm_stats_ux(d), *suxx = st + nvmm_stats_uxx(d);
    for (size_t j = 0; j < d; j++) {
      sx[j] = mu[j] + gamma[j] * eta[2];
      sux[j] = mu[j] * eta[1] + gamma[j];
      for (size_t k = 0; k <= j; k++)
        suxx[j * (j + 1) / 2 + k] = sigma[j * d + k] + mu[j] * mu[k] * eta[1] +
                                    gamma[j] * gamma[k] * eta[2] + mu[j] * gamma[k] +
                                    gamma[j] * mu[k];
    }
    /* Perturb the warm start so the GIG solve has work to do. */
    if (f == NVMM_FAMILY_GH)
      next->sub.par[0] += 0.3;
    if (f == NVMM_FAMILY_HYP) /* p is fixed: move the scale instead */
      ck_assert_ok(nvmm_sub_rescale(&next->sub, 1.7));
    nvmm_mstep_counts counts = {0};
    ck_assert_ok(nvmm_mstep(st, next, next, NULL, &counts, scratch));
    for (size_t j = 0; j < d; j++) {
      ck_assert_close(next->mu[j], mu[j], 1e-12);
      ck_assert_close(next->gamma[j], gamma[j], 1e-12);
      for (size_t k = 0; k < d; k++)
        ck_assert_close(next->sigma[j * d + k], sigma[j * d + k], 1e-12);
    }
    for (int k = 0; k < 3; k++)
      ck_assert_close(next->sub.par[k], par[k], next->sub.kind == NVMM_SUB_GIG ? 1e-10 : 1e-12);
    ck_assert_int_eq(counts.gig_fallback, 0);
    ck_assert_int_eq(counts.d_floor, 0);
    ck_assert_int_eq(counts.sigma_ridge, 0);
    nvmm_model_free(&next);
  }
}
END_TEST

/* src/numerics.md 5.1, 12.3: D = 1 - S_inv S_y <= 0; a tiny or round-off-positive D is floored to
 * -1e-10 with its sign kept, so mu and gamma keep the signs they have at D = -1e-8; the floor is
 * counted. */
START_TEST(test_mstep_d_sign) {
  const double ds[4] = {-1e-8, -1e-12, -5e-11, 1e-13};
  double sign_mu = 0, sign_g = 0;
  for (int i = 0; i < 4; i++) {
    nvmm_model *m = make_model(NVMM_FAMILY_NIG, 1, default_par[NVMM_FAMILY_NIG]);
    double st[16] = {0}, scratch[8];
    double s_y = 1.3, s_inv = (1.0 - ds[i]) / s_y;
    st[NVMM_ST_N] = 1;
    st[NVMM_ST_U] = s_inv;
    st[NVMM_ST_V] = s_y;
    st[nvmm_stats_x(1)] = 0.7;
    st[nvmm_stats_ux(1)] = 0.7 * s_inv - 1e-6;
    st[nvmm_stats_uxx(1)] = 3.0;
    nvmm_mstep_counts c = {0};
    ck_assert_ok(nvmm_mstep_normal(st, m, m, NULL, &c, scratch));
    if (i == 0) {
      sign_mu = copysign(1.0, m->mu[0]);
      sign_g = copysign(1.0, m->gamma[0]);
      ck_assert_int_eq(c.d_floor, 0);
    } else {
      ck_assert_double_eq(copysign(1.0, m->mu[0]), sign_mu);
      ck_assert_double_eq(copysign(1.0, m->gamma[0]), sign_g);
      ck_assert_int_eq(c.d_floor, 1);
    }
    nvmm_model_free(&m);
  }
}
END_TEST

/* src/numerics.md 4.3, 12.1: VG at x = mu with alpha = 0.7, d = 1, a_post = 2: E[1/Y|x] is capped
 * by the b_post floor at sqrt(a/b) K_{nu-1}/K_nu(sqrt(ab)), nu = alpha - 1/2 = 0.2, b = 1e-6: about
 * 2.99e4 (src/numerics.md 4.3). Reference from GSL's Bessel (independent code), 1e-10 relative. The
 * floor is counted; it stays dormant for GH, NIG and NInvG at x = mu. */
START_TEST(test_vg_floor) {
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_VG, 1, &m));
  double mu = 0.4, s = 1.0;
  nvmm_sub sub;
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_GAMMA, (double[3]){0.7, 1.0, 0}, &sub));
  ck_assert_ok(nvmm_model_set(m, &mu, NULL, &s, &sub));
  double st[16] = {0}, scratch[4];
  ck_assert_ok(nvmm_estep(m, 1, &mu, st, scratch));
  double b = NVMM_B_POST_FLOOR, a = 2.0, z = sqrt(a * b);
  double ref = sqrt(a / b) * exp(gsl_sf_bessel_lnKnu(0.8, z) - gsl_sf_bessel_lnKnu(0.2, z));
  ck_assert_rel(st[NVMM_ST_U], ref, 1e-10);
  ck_assert_rel(st[NVMM_ST_U], 2.99e4, 5e-3); /* src/numerics.md 4.3 quotes 3 digits */
  ck_assert_double_eq(st[NVMM_ST_FLOOR], 1.0);
  nvmm_model_free(&m);
  for (int fi = 1; fi < 4; fi++) {
    nvmm_model *g = make_model(mix_families[fi], 2, default_par[mix_families[fi]]);
    double st2[32] = {0}, sc2[8];
    ck_assert_ok(nvmm_estep(g, 1, g->mu, st2, sc2));
    ck_assert_double_eq(st2[NVMM_ST_FLOOR], 0.0);
    nvmm_model_free(&g);
  }
}
END_TEST

/* src/numerics.md 4.2, 12.12: NInvG with gamma = 0 has a_post = 0; its posterior is
 * InverseGamma(alpha + d/2, beta + q/2) in closed form, with q = (x - mu)^T Sigma^-1 (x - mu) from
 * the test's own factor. The same row with gamma = 1e-9 (Bessel at an argument ~1e-9) must agree to
 * 1e-12: the perturbation is O(w2) ~ 1e-18. */
START_TEST(test_ninvg_zero_gamma) {
  const size_t d = 3;
  const double *par = default_par[NVMM_FAMILY_NINVG];
  double mu[3], gamma[3], sigma[9], z[3], logdet;
  test_params(NVMM_FAMILY_NINVG, d, mu, gamma, sigma);
  nvmm_model *m = make_model(NVMM_FAMILY_NINVG, d, par);
  nvmm_sub sub;
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_INVGAMMA, par, &sub));
  const double x[3] = {1.3, -0.4, 2.2};
  gsl_matrix *l = test_chol(d, sigma, &logdet);
  for (size_t i = 0; i < d; i++)
    z[i] = x[i] - mu[i];
  double q = test_quad_form(l, z);
  gsl_matrix_free(l);
  double shape = par[0] + 0.5 * (double)d, rate = par[1] + 0.5 * q;
  for (int k = 0; k < 2; k++) {
    for (size_t i = 0; i < d; i++)
      gamma[i] = k ? 1e-9 : 0.0;
    ck_assert_ok(nvmm_model_set(m, mu, gamma, sigma, &sub));
    double st[32] = {0}, scratch[8];
    ck_assert_ok(nvmm_estep(m, 1, x, st, scratch));
    ck_assert_rel(st[NVMM_ST_U], shape / rate, 1e-12);
    ck_assert_rel(st[NVMM_ST_V], rate / (shape - 1.0), 1e-12);
    ck_assert_close(st[NVMM_ST_L], log(rate) - gsl_sf_psi(shape), 1e-12);
  }
  nvmm_model_free(&m);
}
END_TEST

/* EM never decreases the likelihood (Dempster-Laird-Rubin). 100 iterations of E-step + M-step
 * on heavy-tailed samples: VG with alpha < d/2 (unbounded density at mu) and GH with p = -5.
 * Allowed decrease 1e-9 relative: the rounding of a sum of n = 3000 log-densities ~ 1e-13 plus
 * the GIG solve tolerance, far below any real decrease. */
static void check_monotone(nvmm_family f, size_t d, const double par[3], uint64_t seed) {
  const size_t n = 3000;
  nvmm_model *truth = make_model(f, d, par), *m;
  double *x = malloc(n * d * sizeof *x);
  gsl_rng *rng;
  ck_assert_ok(nvmm_rng_stream(seed, 0, &rng));
  ck_assert_ok(nvmm_model_sample(truth, rng, n, x, NULL));
  gsl_rng_free(rng);
  double mean[8] = {0}, cov[64] = {0};
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      mean[j] += x[i * d + j] / (double)n;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      for (size_t k = 0; k < d; k++)
        cov[j * d + k] += (x[i * d + j] - mean[j]) * (x[i * d + k] - mean[k]) / (double)n;
  ck_assert_ok(nvmm_model_alloc(f, d, &m));
  ck_assert_ok(nvmm_model_init_moments(m, mean, cov));
  double st[64], scratch[128], prev = -INFINITY;
  nvmm_mstep_counts counts = {0};
  for (int it = 0; it < 100; it++) {
    memset(st, 0, sizeof st);
    ck_assert_ok(nvmm_estep(m, n, x, st, scratch));
    double ll = st[NVMM_ST_LOGF] / (double)n;
    ck_assert_msg(ll >= prev - 1e-9 * fabs(prev), "%s iteration %d: LL %.17g < previous %.17g",
                  nvmm_family_name(f), it, ll, prev);
    prev = ll;
    ck_assert_ok(nvmm_mstep(st, m, m, NULL, &counts, scratch));
    ck_assert_ok(nvmm_model_regularize(m, NVMM_REG_DET_SIGMA_ONE, 0.0));
  }
  ck_assert_int_eq(counts.gig_fallback, 0);
  free(x);
  nvmm_model_free(&m);
  nvmm_model_free(&truth);
}

START_TEST(test_em_monotone_vg) { check_monotone(NVMM_FAMILY_VG, 3, (double[3]){1.2, 1.0, 0}, 11); }
END_TEST

START_TEST(test_em_monotone_gh) {
  check_monotone(NVMM_FAMILY_GH, 3, (double[3]){-5.0, 1.0, 6.0}, 12);
}
END_TEST

/* src/numerics.md 5.9, 12.2: alpha_min bounds the VG shape before beta = alpha / E[Y] is
 * formed, and every time it binds it is counted. Statistics of a heavy-peaked Gamma (shape 0.4)
 * with alpha_min = d/2 + 0.1 = 0.6 at d = 1. */
START_TEST(test_alpha_min) {
  nvmm_model *m = make_model(NVMM_FAMILY_VG, 1, default_par[NVMM_FAMILY_VG]);
  double eta[3];
  test_eta(NVMM_FAMILY_VG, (double[3]){0.4, 0.8, 0}, eta);
  double st[16] = {0};
  st[NVMM_ST_N] = 1;
  st[NVMM_ST_L] = eta[0];
  st[NVMM_ST_U] = 3.0; /* unused by the Gamma solve */
  st[NVMM_ST_V] = eta[2];
  nvmm_mstep_counts c = {0};
  ck_assert_ok(nvmm_mstep_sub(st, m, m, NULL, &c));
  ck_assert_rel(m->sub.par[0], 0.4, 1e-12);
  ck_assert_rel(m->sub.par[1], 0.8, 1e-12);
  ck_assert_int_eq(c.alpha_clamp, 0);
  nvmm_mstep_opts o = {.alpha_min = 0.6};
  ck_assert_ok(nvmm_mstep_sub(st, m, m, &o, &c));
  ck_assert_double_eq(m->sub.par[0], 0.6);
  ck_assert_rel(m->sub.par[1], 0.6 / eta[2], 1e-15);
  ck_assert_int_eq(c.alpha_clamp, 1);
  nvmm_model_free(&m);
}
END_TEST

START_TEST(test_bad_input) {
  nvmm_model *m = make_model(NVMM_FAMILY_NIG, 2, default_par[NVMM_FAMILY_NIG]);
  double st[32] = {0}, scratch[32], x[2] = {NAN, 1.0};
  ck_assert_int_eq(nvmm_estep(m, 1, x, st, scratch), NVMM_EDOM);
  ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "row 0"));
  ck_assert_int_eq(nvmm_estep(NULL, 1, x, st, scratch), NVMM_EINVAL);
  memset(st, 0, sizeof st);
  ck_assert_int_eq(nvmm_mstep(st, m, m, NULL, NULL, scratch), NVMM_EDOM); /* n = 0 */
  ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "n = 0"));
  st[NVMM_ST_N] = 1;
  st[NVMM_ST_U] = INFINITY;
  ck_assert_int_eq(nvmm_mstep(st, m, m, NULL, NULL, scratch), NVMM_EDOM);
  nvmm_mstep_opts o = {.alpha_min = -1.0};
  st[NVMM_ST_U] = 1.2;
  st[NVMM_ST_V] = 1.1;
  ck_assert_int_ne(nvmm_mstep_sub(st, m, m, &o, NULL), NVMM_OK);
  nvmm_model_free(&m);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("em");
  TCase *tc = tcase_create("estep");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_estep_vs_quadrature);
  tcase_add_test(tc, test_estep_additive);
  tcase_add_test(tc, test_estep_block_matches_reference);
  tcase_add_test(tc, test_estep_block_std_bitwise);
  tcase_add_test(tc, test_vg_floor);
  tcase_add_test(tc, test_ninvg_zero_gamma);
  suite_add_tcase(s, tc);
  TCase *tm = tcase_create("mstep");
  tcase_add_test(tm, test_mstep_inverts_eta);
  tcase_add_test(tm, test_mstep_d_sign);
  tcase_add_test(tm, test_alpha_min);
  tcase_add_test(tm, test_bad_input);
  suite_add_tcase(s, tm);
  TCase *te = tcase_create("em");
  tcase_set_timeout(te, 600);
  tcase_add_test(te, test_em_monotone_vg);
  tcase_add_test(te, test_em_monotone_gh);
  suite_add_tcase(s, te);
  return s;
}

NVMM_TEST_MAIN(make_suite)
