/* test_factor.c: factor dispersions Sigma = F F^T + diag(D) (src/factor.c): the Woodbury row
 * kernels against the dense path (nvmm_model_logpdf, nvmm_estep on one row) for every family
 * over random F, D, mu, gamma; the determinant lemma against the dense Cholesky; the latent
 * factor's posterior means against F^T Sigma^-1 by a dense solve; the refusals. */
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "nvmm_test.h"

/* Tolerance of factor path against dense path: both compute the same three scalars q, zw, w2
 * from numbers of order 1 by O(d r) (Woodbury) or O(d^2) (triangular solves) roundings, with
 * d <= 12, and then call the same GIG-integral and Bessel code, so they differ by a few hundred
 * roundings amplified by the conditioning of Sigma (D down to 1e-3); 1e-12 (about 4500 eps)
 * covers that with margin while any error in a formula (a missing term, a wrong sign) shows up
 * at order 1. Relative to max(1, |value|) for log f and E[log Y|x], which may cross zero;
 * purely relative for E[1/Y|x] and E[Y|x] (> 0). */
#define FACTOR_TOL 1e-12

/* The latent factor's posterior means against a reference by a dense solve: F^T Sigma^-1 v
 * sums terms F_jk (Sigma^-1 v)_j that cancel (Sigma^-1 v grows like 1/D), so the reference is
 * only as good as eps cond(Sigma) times the size of those terms; errors are taken relative to
 * sum_j |F_jk (Sigma^-1 v)_j| (and likewise for gamma, weighted as in the mean). */
#define FACTOR_Z_TOL FACTOR_TOL

#define DMAX 12
#define RMAX 4
#define NROWS 8

static double urand(gsl_rng *rng, double lo, double hi) {
  return lo + (hi - lo) * gsl_rng_uniform(rng);
}

/* Random valid classical parameters of the family's subordinator (gig.h order). */
static void draw_sub(gsl_rng *rng, nvmm_family f, size_t d, double par[3]) {
  par[0] = par[1] = par[2] = 0.0;
  switch (f) {
  case NVMM_FAMILY_VG: /* alpha, beta */
  case NVMM_FAMILY_NINVG:
    par[0] = urand(rng, 1.2, 4.0);
    par[1] = urand(rng, 0.5, 3.0);
    break;
  case NVMM_FAMILY_NIG: /* mu_ig, lambda */
    par[0] = urand(rng, 0.5, 2.0);
    par[1] = urand(rng, 0.3, 3.0);
    break;
  case NVMM_FAMILY_GH: /* p, a, b */
  case NVMM_FAMILY_HYP:
    par[0] = f == NVMM_FAMILY_HYP ? 0.5 * (double)(d + 1) : urand(rng, -3.0, 3.0);
    par[1] = urand(rng, 0.3, 3.0);
    par[2] = urand(rng, 0.3, 3.0);
    break;
  default:
    break;
  }
}

typedef struct maxerr {
  double logpdf, logf, u, v, l, ez, logdet;
} maxerr;

static double relerr(double a, double b, double floor1) {
  double s = fabs(b);
  if (floor1 && s < 1.0)
    s = 1.0;
  return fabs(a - b) / s;
}

/* Checks one (family, d, r) draw. */
static void check_draw(gsl_rng *rng, nvmm_family fam, size_t d, size_t r, maxerr *me) {
  double f[DMAX * RMAX], dd[DMAX], mu[DMAX], gamma[DMAX], sigma[DMAX * DMAX], par[3];
  double x[NROWS * DMAX];
  for (size_t j = 0; j < d; j++) {
    for (size_t k = 0; k < r; k++)
      f[j * r + k] = gsl_ran_gaussian(rng, 1.0);
    dd[j] = pow(10.0, urand(rng, -3.0, 1.0)); /* D spread over 1e-3 .. 10 */
    mu[j] = gsl_ran_gaussian(rng, 1.0);
    gamma[j] = fam == NVMM_FAMILY_GAUSS ? 0.0 : gsl_ran_gaussian(rng, 0.5);
  }
  draw_sub(rng, fam, d, par);
  nvmm_factor *fa;
  ck_assert_ok(nvmm_factor_alloc(d, r, &fa));
  ck_assert_ok(nvmm_factor_set(fa, f, dd));
  ck_assert_ok(nvmm_factor_dense(fa, sigma));
  nvmm_model *m;
  nvmm_sub sub;
  ck_assert_ok(nvmm_model_alloc(fam, d, &m));
  ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(fam), par, &sub));
  ck_assert_ok(nvmm_model_set(m, mu, gamma, sigma, &sub));

  /* Determinant lemma against the dense Cholesky. */
  ck_assert_close(fa->logdet, m->logdet, FACTOR_TOL);
  me->logdet = fmax(me->logdet, relerr(fa->logdet, m->logdet, 1));

  /* Rows x = mu + gamma y + F z + sqrt(D) e, y > 0, z and e standard normal. */
  for (size_t i = 0; i < NROWS; i++) {
    double y = urand(rng, 0.2, 3.0);
    for (size_t j = 0; j < d; j++) {
      double s = mu[j] + gamma[j] * y + sqrt(dd[j]) * gsl_ran_gaussian(rng, 1.0);
      for (size_t k = 0; k < r; k++)
        s += f[j * r + k] * gsl_ran_gaussian(rng, 1.0);
      x[i * d + j] = s;
    }
  }

  double scratch[2 * (DMAX + RMAX)], dscratch[2 * DMAX], lf[NROWS], lfd[NROWS];
  double post[NROWS * NVMM_FPOST_LEN], ez[NROWS * RMAX], ezy[NROWS * RMAX];
  ck_assert_uint_le(nvmm_factor_scratch_len(d, r), sizeof scratch / sizeof *scratch);
  ck_assert_ok(nvmm_factor_logpdf(m, fa, NROWS, x, lf, scratch));
  ck_assert_ok(nvmm_model_logpdf(m, NROWS, x, lfd, dscratch));
  ck_assert_ok(nvmm_factor_posterior(m, fa, NROWS, x, post, ez, ezy, scratch));

  /* Dense F^T Sigma^-1 (push-through: M^-1 F^T D^-1 = F^T Sigma^-1) for the factor means. */
  gsl_matrix *chol = gsl_matrix_alloc(d, d);
  gsl_vector *rhs = gsl_vector_alloc(d), *sol = gsl_vector_alloc(d), *sg = gsl_vector_alloc(d);
  for (size_t j = 0; j < d; j++)
    for (size_t k = 0; k < d; k++)
      gsl_matrix_set(chol, j, k, sigma[j * d + k]);
  ck_assert_int_eq(gsl_linalg_cholesky_decomp1(chol), GSL_SUCCESS);
  for (size_t j = 0; j < d; j++)
    gsl_vector_set(rhs, j, gamma[j]);
  gsl_linalg_cholesky_solve(chol, rhs, sg);

  double stats[6 + 2 * DMAX + DMAX * (DMAX + 1) / 2];
  for (size_t i = 0; i < NROWS; i++) {
    const double *xi = x + i * d, *pi = post + i * NVMM_FPOST_LEN;
    ck_assert_close(lf[i], lfd[i], FACTOR_TOL);
    me->logpdf = fmax(me->logpdf, relerr(lf[i], lfd[i], 1));

    memset(stats, 0, nvmm_stats_len(d) * sizeof *stats);
    ck_assert_ok(nvmm_estep(m, 1, xi, stats, dscratch));
    ck_assert_close(pi[NVMM_FPOST_LOGF], stats[NVMM_ST_LOGF], FACTOR_TOL);
    ck_assert_rel(pi[NVMM_FPOST_U], stats[NVMM_ST_U], FACTOR_TOL);
    ck_assert_rel(pi[NVMM_FPOST_V], stats[NVMM_ST_V], FACTOR_TOL);
    ck_assert_close(pi[NVMM_FPOST_L], stats[NVMM_ST_L], FACTOR_TOL);
    ck_assert_double_eq(pi[NVMM_FPOST_FLOOR], stats[NVMM_ST_FLOOR]);
    me->logf = fmax(me->logf, relerr(pi[NVMM_FPOST_LOGF], stats[NVMM_ST_LOGF], 1));
    me->u = fmax(me->u, relerr(pi[NVMM_FPOST_U], stats[NVMM_ST_U], 0));
    me->v = fmax(me->v, relerr(pi[NVMM_FPOST_V], stats[NVMM_ST_V], 0));
    me->l = fmax(me->l, relerr(pi[NVMM_FPOST_L], stats[NVMM_ST_L], 1));

    /* E[z|x] = F^T Sigma^-1 (x - mu) - E[Y|x] F^T Sigma^-1 gamma, E[z/Y|x] likewise. */
    for (size_t j = 0; j < d; j++)
      gsl_vector_set(rhs, j, xi[j] - mu[j]);
    gsl_linalg_cholesky_solve(chol, rhs, sol);
    double u = pi[NVMM_FPOST_U], v = pi[NVMM_FPOST_V];
    for (size_t k = 0; k < r; k++) {
      double c = 0.0, cg = 0.0, ac = 0.0, acg = 0.0;
      for (size_t j = 0; j < d; j++) {
        c += f[j * r + k] * gsl_vector_get(sol, j);
        cg += f[j * r + k] * gsl_vector_get(sg, j);
        ac += fabs(f[j * r + k] * gsl_vector_get(sol, j));
        acg += fabs(f[j * r + k] * gsl_vector_get(sg, j));
      }
      double s1 = ac + v * acg, s2 = u * ac + acg;
      double e1 = fabs(ez[i * r + k] - (c - v * cg)) / s1;
      double e2 = fabs(ezy[i * r + k] - (u * c - cg)) / s2;
      ck_assert_msg(e1 <= FACTOR_Z_TOL && e2 <= FACTOR_Z_TOL,
                    "%s d = %zu r = %zu row %zu factor %zu: E[z|x] err %.3g, E[z/Y|x] err %.3g",
                    nvmm_family_name(fam), d, r, i, k, e1, e2);
      me->ez = fmax(me->ez, fmax(e1, e2));
    }
  }
  /* NULL factor outputs are allowed. */
  ck_assert_ok(nvmm_factor_posterior(m, fa, NROWS, x, post, NULL, NULL, scratch));
  gsl_vector_free(sg);
  gsl_vector_free(sol);
  gsl_vector_free(rhs);
  gsl_matrix_free(chol);
  nvmm_model_free(&m);
  nvmm_factor_free(&fa);
}

START_TEST(test_factor_vs_dense) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, 20261207);
  maxerr me = {0};
  for (int fam = 0; fam < NVMM_FAMILY_COUNT; fam++)
    for (size_t d = 1; d <= DMAX; d++)
      for (size_t r = 1; r <= (d < RMAX ? d : RMAX); r++)
        for (int rep = 0; rep < 3; rep++)
          check_draw(rng, (nvmm_family)fam, d, r, &me);
  printf("factor vs dense, largest relative differences: logpdf %.3g, E-step log f %.3g, "
         "E[1/Y|x] %.3g, E[Y|x] %.3g, E[log Y|x] %.3g, E[z|x] and E[z/Y|x] %.3g, log|Sigma| %.3g\n",
         me.logpdf, me.logf, me.u, me.v, me.l, me.ez, me.logdet);
  gsl_rng_free(rng);
}
END_TEST

/* VG near x = mu: b_post = q below the floor; both paths floor the moments and count the row. */
START_TEST(test_factor_vg_floor) {
  enum { d = 3, r = 2 };
  const double f[d * r] = {0.9, -0.3, 0.2, 1.1, -0.7, 0.4}, dd[d] = {0.5, 0.25, 1.3};
  const double mu[d] = {0.3, -0.2, 0.1}, gamma[d] = {0.2, -0.1, 0.35}, par[3] = {2.7, 1.4, 0};
  double x[d], sigma[d * d], post[NVMM_FPOST_LEN], scratch[2 * (d + r)], dscratch[2 * d];
  double stats[6 + 2 * d + d * (d + 1) / 2] = {0};
  for (size_t j = 0; j < d; j++)
    x[j] = mu[j] + 1e-5 * (double)(j + 1);
  nvmm_factor *fa;
  nvmm_model *m;
  nvmm_sub sub;
  ck_assert_ok(nvmm_factor_alloc(d, r, &fa));
  ck_assert_ok(nvmm_factor_set(fa, f, dd));
  ck_assert_ok(nvmm_factor_dense(fa, sigma));
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_VG, d, &m));
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_GAMMA, par, &sub));
  ck_assert_ok(nvmm_model_set(m, mu, gamma, sigma, &sub));
  ck_assert_ok(nvmm_factor_posterior(m, fa, 1, x, post, NULL, NULL, scratch));
  ck_assert_ok(nvmm_estep(m, 1, x, stats, dscratch));
  ck_assert_double_eq(post[NVMM_FPOST_FLOOR], 1.0);
  ck_assert_double_eq(stats[NVMM_ST_FLOOR], 1.0);
  ck_assert_rel(post[NVMM_FPOST_U], stats[NVMM_ST_U], FACTOR_TOL);
  ck_assert_rel(post[NVMM_FPOST_V], stats[NVMM_ST_V], FACTOR_TOL);
  ck_assert_close(post[NVMM_FPOST_L], stats[NVMM_ST_L], FACTOR_TOL);
  ck_assert_close(post[NVMM_FPOST_LOGF], stats[NVMM_ST_LOGF], FACTOR_TOL);
  nvmm_model_free(&m);
  nvmm_factor_free(&fa);
}
END_TEST

START_TEST(test_factor_refusals) {
  enum { d = 3, r = 2 };
  nvmm_factor *fa = NULL;
  ck_assert_fails(nvmm_factor_alloc(d, d + 1, &fa), NVMM_EINVAL, "r = 4", "d = 3");
  ck_assert_ptr_null(fa);
  ck_assert_fails(nvmm_factor_alloc(d, 0, &fa), NVMM_EINVAL, "r = 0");
  ck_assert_fails(nvmm_factor_alloc(0, 1, &fa), NVMM_EINVAL, "d = 0");
  ck_assert_ok(nvmm_factor_alloc(d, r, &fa));
  const double f[d * r] = {0.9, -0.3, 0.2, 1.1, -0.7, 0.4}, dd[d] = {0.5, 0.25, 1.3};
  ck_assert_ok(nvmm_factor_set(fa, f, dd));
  double logdet = fa->logdet;
  double fbad[d * r], dbad[d];
  memcpy(fbad, f, sizeof fbad);
  fbad[1 * r + 0] = NAN;
  ck_assert_fails(nvmm_factor_set(fa, fbad, dd), NVMM_EDOM, "F[1][0]");
  fbad[1 * r + 0] = INFINITY;
  ck_assert_fails(nvmm_factor_set(fa, fbad, dd), NVMM_EDOM, "F[1][0]");
  memcpy(dbad, dd, sizeof dbad);
  dbad[2] = 0.0;
  ck_assert_fails(nvmm_factor_set(fa, f, dbad), NVMM_EDOM, "D[2]", "positive");
  dbad[2] = -0.5;
  ck_assert_fails(nvmm_factor_set(fa, f, dbad), NVMM_EDOM, "D[2]");
  dbad[2] = NAN;
  ck_assert_fails(nvmm_factor_set(fa, f, dbad), NVMM_EDOM, "D[2]");
  /* F / sqrt(D) overflowing M. */
  memcpy(fbad, f, sizeof fbad);
  fbad[0] = 1e200;
  ck_assert_fails(nvmm_factor_set(fa, fbad, dd), NVMM_EFACTOR, "M");
  /* A refused set leaves the factor unchanged. */
  ck_assert_double_eq(fa->logdet, logdet);
  ck_assert_double_eq(fa->dd[2], dd[2]);
  ck_assert_double_eq(fa->f[2], f[2]);
  ck_assert_fails(nvmm_factor_set(fa, NULL, dd), NVMM_EINVAL, "NULL");
  /* Dimension mismatch between the model and the factor. */
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, d + 1, &m));
  double x[d + 1] = {0}, out[1], post[NVMM_FPOST_LEN], scratch[2 * (d + 1 + r)];
  ck_assert_fails(nvmm_factor_logpdf(m, fa, 1, x, out, scratch), NVMM_EINVAL, "dimension");
  ck_assert_fails(nvmm_factor_posterior(m, fa, 1, x, post, NULL, NULL, scratch), NVMM_EINVAL,
                  "dimension");
  nvmm_model_free(&m);
  /* A non-finite row. */
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, d, &m));
  x[1] = NAN;
  ck_assert_fails(nvmm_factor_logpdf(m, fa, 1, x, out, scratch), NVMM_EDOM, "row 0");
  ck_assert_fails(nvmm_factor_posterior(m, fa, 1, x, post, NULL, NULL, scratch), NVMM_EDOM,
                  "row 0");
  nvmm_model_free(&m);
  nvmm_factor_free(&fa);
  nvmm_factor_free(&fa); /* no-op on NULL */
  ck_assert_ptr_null(fa);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("factor");
  TCase *tc = tcase_create("woodbury");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_factor_vs_dense);
  tcase_add_test(tc, test_factor_vg_floor);
  suite_add_tcase(s, tc);
  TCase *tb = tcase_create("bad_input");
  tcase_add_test(tb, test_factor_refusals);
  suite_add_tcase(s, tb);
  return s;
}

NVMM_TEST_MAIN(make_suite)
