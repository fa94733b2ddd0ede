/* test_penalty.c: a model's expected complete-data log-density under a target's eta against
 * quadrature over y of the target's subordinator density times the model's log f_Y plus the
 * Gaussian cross-entropy (every family, d = 1 and 2), Gibbs' inequality, the maximizing scale on
 * the orbit (a local maximum, zero derivative in log s, both branches of the root), bad input.
 * The references use the test's own parameters and densities (GIG through GSL's Bessel K, Gamma
 * and InverseGamma through its log-gamma, InverseGaussian in closed form) and explicit 1x1/2x2
 * inverses, never the model's derived fields or nvmm's subordinator code. */
#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_gamma.h>

#include "nvmm/penalty.h"
#include "nvmm_test.h"

static const nvmm_family families[] = {NVMM_FAMILY_GAUSS, NVMM_FAMILY_VG, NVMM_FAMILY_NINVG,
                                       NVMM_FAMILY_NIG, NVMM_FAMILY_GH};

/* The parameters a test model is built from, kept by the test. */
typedef struct tparams {
  nvmm_family f;
  size_t d;
  double mu[2], gamma[2], sigma[4], par[3];
} tparams;

/* which = 0: the target T; 1: a different model M of the same family. VG's and NInvG's targets
 * have alpha > 1 (E[1/Y], E[Y] finite); M's VG alpha 2.2 > d/2 gives c3 = d/2 - p < 0, every
 * other M has c3 > 0. */
static void params(nvmm_family f, size_t d, int which, tparams *t) {
  static const double par[NVMM_FAMILY_COUNT][2][3] = {{{0, 0, 0}, {0, 0, 0}},
                                                      {{3.1, 1.9, 0}, {2.2, 1.4, 0}},
                                                      {{3.5, 2.2, 0}, {2.5, 1.6, 0}},
                                                      {{1.5, 2.0, 0}, {1.1, 2.6, 0}},
                                                      {{-0.7, 1.5, 0.8}, {0.4, 2.0, 1.1}}};
  static const double mu[2][2] = {{0.3, -0.45}, {-0.2, 0.1}}, g[2][2] = {{0.43, -0.26}, {0.1, 0.3}};
  static const double s2[2][4] = {{1.0, 0.35, 0.35, 0.8}, {1.6, -0.2, -0.2, 0.5}};
  *t = (tparams){.f = f, .d = d};
  for (size_t i = 0; i < d; i++) {
    t->mu[i] = mu[which][i];
    t->gamma[i] = f == NVMM_FAMILY_GAUSS ? 0.0 : g[which][i];
    for (size_t j = 0; j < d; j++)
      t->sigma[i * d + j] = s2[which][i * 2 + j];
  }
  memcpy(t->par, par[f][which], sizeof t->par);
}

static nvmm_model *model_from(const tparams *t) {
  nvmm_model *m;
  nvmm_sub sub;
  ck_assert_ok(nvmm_model_alloc(t->f, t->d, &m));
  ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(t->f), t->par, &sub));
  ck_assert_ok(nvmm_model_set(m, t->mu, t->gamma, t->sigma, &sub));
  return m;
}

/* log f_Y(y) of the subordinator, from its textbook density. */
static double log_fy(nvmm_family f, const double *q, double y) {
  switch (f) {
  case NVMM_FAMILY_VG: /* Gamma(alpha, rate beta) */
    return q[0] * log(q[1]) - gsl_sf_lngamma(q[0]) + (q[0] - 1.0) * log(y) - q[1] * y;
  case NVMM_FAMILY_NINVG: /* InverseGamma(alpha, beta) */
    return q[0] * log(q[1]) - gsl_sf_lngamma(q[0]) - (q[0] + 1.0) * log(y) - q[1] / y;
  case NVMM_FAMILY_NIG: /* InverseGaussian(mean mu, shape lambda) */
    return 0.5 * log(q[1] / (2.0 * M_PI)) - 1.5 * log(y) -
           q[1] * (y - q[0]) * (y - q[0]) / (2.0 * q[0] * q[0] * y);
  default: /* GIG(p, a, b): Z = 2 (b/a)^(p/2) K_p(sqrt(ab)), K_p = K_-p */
    return (q[0] - 1.0) * log(y) - 0.5 * (q[1] * y + q[2] / y) -
           (M_LN2 + 0.5 * q[0] * log(q[2] / q[1]) +
            gsl_sf_bessel_lnKnu(fabs(q[0]), sqrt(q[1] * q[2])));
  }
}

/* E log N(X; m', V') for X ~ N(m, V), V = y Sigma_T, V' = y Sigma_M, m = mu_T + gamma_T y, ... */
static double cross_entropy(const tparams *T, const tparams *M, double y) {
  double e[2], V[3], W[3]; /* e = m - m'; V, V' as (00, 10, 11) */
  for (size_t i = 0; i < T->d; i++)
    e[i] = T->mu[i] - M->mu[i] + (T->gamma[i] - M->gamma[i]) * y;
  if (T->d == 1) {
    V[0] = y * T->sigma[0], W[0] = y * M->sigma[0];
    return -0.5 * (log(2.0 * M_PI) + log(W[0]) + V[0] / W[0] + e[0] * e[0] / W[0]);
  }
  V[0] = y * T->sigma[0], V[1] = y * T->sigma[2], V[2] = y * T->sigma[3];
  W[0] = y * M->sigma[0], W[1] = y * M->sigma[2], W[2] = y * M->sigma[3];
  double det = W[0] * W[2] - W[1] * W[1]; /* W^-1 = [W11, -W10; -W10, W00] / det */
  double tr = (W[2] * V[0] - 2.0 * W[1] * V[1] + W[0] * V[2]) / det;
  double qf = (W[2] * e[0] * e[0] - 2.0 * W[1] * e[0] * e[1] + W[0] * e[1] * e[1]) / det;
  return -0.5 * (2.0 * log(2.0 * M_PI) + log(det) + tr + qf);
}

typedef struct ictx {
  const tparams *T, *M; /* M = NULL: integrate log y (E_T log Y) */
} ictx;

/* y f_T(y) g(y) at y = e^t: the log substitution makes both tails smooth exponential decays. */
static double integrand(double t, void *p) {
  const ictx *c = p;
  double y = exp(t), w = exp(t + log_fy(c->T->f, c->T->par, y));
  if (!(w > 0.0)) /* far in a tail (y under- or overflows): the weight is 0, g may be inf */
    return 0.0;
  return w * (c->M ? log_fy(c->M->f, c->M->par, y) + cross_entropy(c->T, c->M, y) : t);
}

static double expect_T(const tparams *T, const tparams *M) {
  if (T->f == NVMM_FAMILY_GAUSS) /* Y = 1 */
    return M ? cross_entropy(T, M, 1.0) : 0.0;
  gsl_integration_workspace *ws = gsl_integration_workspace_alloc(2000);
  ictx c = {T, M};
  gsl_function F = {integrand, &c};
  double res, err;
  int st = gsl_integration_qagi(&F, 0.0, 1e-12, 2000, ws, &res, &err);
  gsl_integration_workspace_free(ws);
  ck_assert_msg(st == GSL_SUCCESS && err <= 1e-12 * fmax(1.0, fabs(res)),
                "quadrature: status %d, %g +- %g", st, res, err);
  return res;
}

static double penalty(const nvmm_model *m, const double *eta) {
  double scratch[8], v;
  ck_assert_ok(nvmm_model_penalty(m, eta, scratch, &v));
  return v;
}

/* The penalty of m moved along its orbit by s. */
static double penalty_at(const nvmm_model *m, const double *eta, double s) {
  nvmm_model *c;
  ck_assert_ok(nvmm_model_alloc(m->family, m->d, &c));
  ck_assert_ok(nvmm_model_copy(c, m));
  ck_assert_ok(nvmm_model_rescale(c, s));
  double v = penalty(c, eta);
  nvmm_model_free(&c);
  return v;
}

/* The two tests' setup: a target T (variant 0) and a model M (variant 1) of family f in
 * dimension d, both built, and T's eta. */
static void target_and_model(nvmm_family f, size_t d, tparams *T, tparams *M, nvmm_model **mt,
                             nvmm_model **mm, double eta[16]) {
  params(f, d, 0, T);
  params(f, d, 1, M);
  *mt = model_from(T);
  *mm = model_from(M);
  ck_assert_ok(nvmm_model_eta(*mt, NULL, eta, NULL));
}

/* Against quadrature, 1e-10 relative: the reference is asked for 1e-12 (its error estimate is
 * asserted below that), GSL's K_nu and lngamma are good to ~1e-15, and the library's side
 * (nvmm_model_eta's Bessel ratios and d/dnu log K to ~6e-14, the closed forms to rounding) adds
 * ~1e-13 more; 1e-10 leaves a margin of 100 over the sum (seen: 2e-15). Then Gibbs' inequality. */
START_TEST(test_penalty_quadrature) {
  for (size_t d = 1; d <= 2; d++)
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
      tparams T, M;
      nvmm_model *mt, *mm;
      double eta[16];
      target_and_model(families[i], d, &T, &M, &mt, &mm, eta);
      if (T.f == NVMM_FAMILY_NIG) {
        /* E[log Y] is left 0: both models' values move by (p - 1 - d/2) E log Y, p = -1/2. */
        double el = expect_T(&T, NULL), pt = penalty(mt, eta), pm = penalty(mm, eta);
        eta[NVMM_ST_L] = el;
        ck_assert_close(pt - penalty(mt, eta), (1.5 + 0.5 * (double)d) * el, 1e-12);
        ck_assert_close(pm - penalty(mm, eta), (1.5 + 0.5 * (double)d) * el, 1e-12);
      }
      double pt = penalty(mt, eta), pm = penalty(mm, eta);
      ck_assert_close(pt, expect_T(&T, &T), 1e-10);
      ck_assert_close(pm, expect_T(&T, &M), 1e-10);
      ck_assert_msg(pt > pm, "%s d = %zu: Gibbs' inequality %.17g <= %.17g", nvmm_family_name(T.f),
                    d, pt, pm);
      nvmm_model_free(&mt);
      nvmm_model_free(&mm);
    }
}
END_TEST

/* s* is a local maximum (P lower at s* (1 +- 1e-3)) with zero derivative in t = log s. The
 * centred difference with step h = 1e-3 errs by h^2/6 |P'''| + eps |P| / h; on the orbit
 * P = const + c3 t - c1 e^t - c2 e^-t, so |P'''| = |c1 s - c2/s| <= c1 s + c2/s = |P''|, and the
 * test asks |P'| <= 1e-6 |P''| + 1e-11 max(1, |P|) (a margin of 6 on the truncation, ~50 on
 * rounding), P'' estimated by the second difference. Returns the branch: c3 = d/2 - p < 0. */
static int check_scale(const nvmm_model *m, const double *eta, double p) {
  double s, scratch[8];
  ck_assert_ok(nvmm_model_penalty_scale(m, eta, scratch, &s));
  double p0 = penalty_at(m, eta, s), h = 1e-3;
  ck_assert(penalty_at(m, eta, s * (1.0 + 1e-3)) < p0);
  ck_assert(penalty_at(m, eta, s * (1.0 - 1e-3)) < p0);
  double pp = penalty_at(m, eta, s * exp(h)), pm = penalty_at(m, eta, s * exp(-h));
  double d1 = (pp - pm) / (2.0 * h), d2 = (pp - 2.0 * p0 + pm) / (h * h);
  ck_assert_msg(d2 < 0.0 && fabs(d1) <= 1e-6 * fabs(d2) + 1e-11 * fmax(1.0, fabs(p0)),
                "s* = %.17g: P' = %.3g, P'' = %.3g", s, d1, d2);
  return 0.5 * (double)m->d - p < 0.0;
}

START_TEST(test_penalty_scale) {
  int branch[2] = {0, 0};
  double scratch[8], s;
  for (size_t d = 1; d <= 2; d++)
    for (size_t i = 0; i < sizeof families / sizeof *families; i++) {
      tparams T, M;
      nvmm_model *mt, *mm;
      double eta[16];
      target_and_model(families[i], d, &T, &M, &mt, &mm, eta);
      if (T.f == NVMM_FAMILY_GAUSS) { /* no orbit */
        ck_assert_ok(nvmm_model_penalty_scale(mm, eta, scratch, &s));
        ck_assert(s == 1.0);
      } else {
        double p = M.f == NVMM_FAMILY_NINVG ? -M.par[0] : M.f == NVMM_FAMILY_NIG ? -0.5 : M.par[0];
        branch[check_scale(mm, eta, p)]++;
      }
      /* NInvG with gamma = 0: c2 = 0 and the root is c3/c1. */
      if (T.f == NVMM_FAMILY_NINVG) {
        M.gamma[0] = M.gamma[1] = 0.0;
        nvmm_model *m0 = model_from(&M);
        branch[check_scale(m0, eta, -M.par[0])]++;
        nvmm_model_free(&m0);
      }
      nvmm_model_free(&mt);
      nvmm_model_free(&mm);
    }
  ck_assert(branch[0] > 0 && branch[1] > 0);
}
END_TEST

START_TEST(test_penalty_errors) {
  tparams M;
  params(NVMM_FAMILY_VG, 1, 1, &M); /* alpha 2.2 > d/2: c3 < 0 */
  nvmm_model *m = model_from(&M);
  double eta[16], scratch[8], v;
  ck_assert_ok(nvmm_model_eta(m, NULL, eta, NULL));
  ck_assert_fails(nvmm_model_penalty(NULL, eta, scratch, &v), NVMM_EINVAL, "must not be NULL");
  ck_assert_fails(nvmm_model_penalty(m, NULL, scratch, &v), NVMM_EINVAL, "must not be NULL");
  ck_assert_fails(nvmm_model_penalty(m, eta, NULL, &v), NVMM_EINVAL, "must not be NULL");
  ck_assert_fails(nvmm_model_penalty(m, eta, scratch, NULL), NVMM_EINVAL, "must not be NULL");
  ck_assert_fails(nvmm_model_penalty_scale(NULL, eta, scratch, &v), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_model_penalty_scale(m, NULL, scratch, &v), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_model_penalty_scale(m, eta, NULL, &v), NVMM_EINVAL, "NULL");
  ck_assert_fails(nvmm_model_penalty_scale(m, eta, scratch, NULL), NVMM_EINVAL, "NULL");
  /* E[Y] = 0: c2 = 0 with c3 < 0 sends s to 0. */
  double e0[16];
  memcpy(e0, eta, sizeof e0);
  e0[NVMM_ST_V] = 0.0;
  ck_assert_fails(nvmm_model_penalty_scale(m, e0, scratch, &v), NVMM_EDOM, "s = 0");
  /* No 1/Y moments at all and mu = E[X/Y] = 0: c1 = 0 (a Gamma has no b). */
  memset(e0, 0, sizeof e0);
  e0[NVMM_ST_N] = 1.0, e0[NVMM_ST_V] = 1.0;
  M.mu[0] = 0.0;
  nvmm_model *m0 = model_from(&M);
  ck_assert_fails(nvmm_model_penalty_scale(m0, e0, scratch, &v), NVMM_EDOM, "c1 = 0");
  e0[nvmm_stats_x(1)] = NAN;
  ck_assert_fails(nvmm_model_penalty(m0, e0, scratch, &v), NVMM_EDOM, "not finite");
  nvmm_model_free(&m0);
  nvmm_model_free(&m);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("penalty");
  TCase *tc = tcase_create("penalty");
  tcase_add_test(tc, test_penalty_quadrature);
  tcase_add_test(tc, test_penalty_scale);
  tcase_add_test(tc, test_penalty_errors);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
