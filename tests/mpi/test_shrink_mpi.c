/* test_shrink_mpi.c: shrinkage in the distributed fit (src/numerics.md 13.2), run under mpirun:
 * the fitted point maximizes the penalized log-likelihood l + tau n E_eta0[log p] (every
 * coordinate and the scale orbit moved both ways lowers it, while the MLE does not maximize
 * it), the limits tau = 0 (the MLE) and tau large (the target; each target the start builds),
 * the same optimum by EM, MCECM and incremental EM, and the refused configurations. The objective
 * is evaluated here from the marginal log-density of every row and the penalty of the target's
 * expectation parameters, both in the user's units, not from the fit's own history. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "../nvmm_test_mpi.h"
#include "fit_test.h"
#include "nvmm.h"
#include "nvmm/penalty.h"

static const int64_t N = 4000;
static const double TAU = 0.05;

/* The target: the sample's model with mu shifted by 0.5, gamma = 0 and Sigma = 2 I, so that
 * the penalty pulls every block of the parameters. */
static nvmm_model *target_model(nvmm_family fam) {
  nvmm_model *t = truth_model(fam, 3), *u;
  ck_assert_ok(nvmm_model_alloc(fam, 3, &u));
  double mu[3], g[3] = {0, 0, 0}, s[9] = {2, 0, 0, 0, 2, 0, 0, 0, 2};
  for (int j = 0; j < 3; j++)
    mu[j] = t->mu[j] + 0.5;
  ck_assert_ok(nvmm_model_set(u, mu, g, s, &t->sub));
  nvmm_model_free(&t);
  return u;
}

typedef struct objective {
  const double *x; /* this rank's rows */
  int64_t nloc;
  double *eta0; /* the target's expectation parameters, user units */
  double *lp, *scratch;
} objective;

/* Mean log-likelihood over all rows and the penalty tau E_eta0[log p(X, Y | m)] per row. */
static void evaluate(objective *o, const nvmm_model *m, double tau, double *ll, double *pen) {
  ck_assert_ok(nvmm_model_logpdf(m, (size_t)o->nloc, o->x, o->lp, o->scratch));
  double loc = 0.0, all = 0.0;
  for (int64_t i = 0; i < o->nloc; i++)
    loc += o->lp[i];
  MPI_Allreduce(&loc, &all, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  *ll = all / (double)N;
  double p;
  ck_assert_ok(nvmm_model_penalty(m, o->eta0, o->scratch, &p));
  *pen = tau * p;
}

static double objective_of(objective *o, const nvmm_model *m, double tau) {
  double ll, pen;
  evaluate(o, m, tau, &ll, &pen);
  return ll + pen;
}

/* Converged far below the perturbations' second-order change (h^2 ~ 1e-6 per row). */
static void mle_options(nvmm_family fam, nvmm_fit_options *o) {
  nvmm_fit_options_default(fam, o);
  o->tol = 1e-10;
  o->tol_ll = 1e-8;
  o->max_iter = 20000;
  o->block_rows = BLOCK;
}

static void shrink_options(nvmm_family fam, nvmm_fit_options *o, double tau) {
  mle_options(fam, o);
  o->regularization = NVMM_REG_NONE;
  o->shrink = NVMM_SHRINK_GIVEN;
  o->shrink_tau = tau;
}

static nvmm_fit *shrink_fit(const nvmm_fit_options *o, const nvmm_model *t, int64_t first,
                            int64_t nloc, const double *x) {
  nvmm_fit *f;
  ck_assert_ok(nvmm_fit_create(MPI_COMM_WORLD, o, N, 3, first, nloc, x, &f));
  ck_assert_ok(nvmm_fit_set_shrink_target(f, t));
  ck_assert_ok(nvmm_fit_init(f));
  ck_assert_ok(nvmm_fit_run(f));
  ck_assert_int_eq(nvmm_fit_reason_get(f), NVMM_FIT_CONVERGED);
  return f;
}

/* m with one coordinate moved by h: k < 3 mu_k, k < 6 gamma, k < 12 the Cholesky factor's lower
 * entries, then the subordinator's parameters (positive ones relatively), last the scale orbit.
 * Returns 0 when the family has no such coordinate. */
static int perturb(const nvmm_model *m, int k, double h, nvmm_model *out) {
  double mu[3], g[3], l[9], s[9];
  memcpy(mu, m->mu, sizeof mu);
  memcpy(g, m->gamma, sizeof g);
  memcpy(l, m->chol, sizeof l);
  nvmm_sub sub = m->sub;
  const nvmm_family_info *fi = nvmm_family_get(m->family);
  int latent = fi->nsub > 0;
  if (k < 3) {
    mu[k] += h;
  } else if (k < 6) {
    if (!latent)
      return 0;
    g[k - 3] += h;
  } else if (k < 12) {
    static const int lower[6][2] = {{0, 0}, {1, 0}, {1, 1}, {2, 0}, {2, 1}, {2, 2}};
    l[lower[k - 6][0] * 3 + lower[k - 6][1]] += h;
  } else if (k < 12 + fi->nsub) {
    int q = k - 12;
    if (m->family == NVMM_FAMILY_GH && q == 0)
      sub.par[0] += h; /* GH's p may have either sign */
    else
      sub.par[q] *= 1.0 + h;
  } else if (k == 12 + fi->nsub) {
    if (!latent)
      return 0;
    ck_assert_ok(nvmm_model_copy(out, m));
    ck_assert_ok(nvmm_model_rescale(out, 1.0 + h));
    return 1;
  } else {
    return 0;
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double v = 0.0;
      for (int q = 0; q < 3; q++)
        v += l[i * 3 + q] * l[j * 3 + q];
      s[i * 3 + j] = v;
    }
  ck_assert_ok(nvmm_model_set(out, mu, g, s, &sub));
  return 1;
}

/* The fitted point maximizes the objective: each of the 12 + nsub + 1 directions, moved by
 * +-1e-3, lowers it. At the optimum the change is second order, ~1e-7 per row and more; a
 * first-order error (a missing penalty term, a wrong gauge) would raise it by ~h tau = 5e-5 on
 * one side. The tolerance 1e-11 covers the rounding of a mean of 4000 log-densities (~1e-13).
 * The MLE does not maximize it (its objective is lower by more than 1e-6, its log-likelihood
 * higher): the test tells the two apart. */
START_TEST(test_shrink_maximizes) {
  static const nvmm_family fams[] = {NVMM_FAMILY_NIG, NVMM_FAMILY_GH, NVMM_FAMILY_GAUSS};
  for (size_t c = 0; c < sizeof fams / sizeof *fams; c++) {
    nvmm_family fam = fams[c];
    nvmm_model *truth = truth_model(fam, 3), *t = target_model(fam), *m, *p;
    int64_t first, nloc;
    double *x = draw(truth, N, 17 + c, &first, &nloc);
    objective ob = {x, nloc, calloc(nvmm_stats_len(3), sizeof(double)),
                    calloc((size_t)(nloc > 0 ? nloc : 1), sizeof(double)),
                    calloc(9 + 6, sizeof(double))};
    ck_assert_ok(nvmm_model_eta(t, NULL, ob.eta0, NULL));
    nvmm_fit_options o;
    shrink_options(fam, &o, TAU);
    nvmm_fit *f = shrink_fit(&o, t, first, nloc, x);
    ck_assert_ok(nvmm_model_alloc(fam, 3, &m));
    ck_assert_ok(nvmm_model_alloc(fam, 3, &p));
    ck_assert_ok(nvmm_fit_model(f, m));
    double ll, pen;
    evaluate(&ob, m, TAU, &ll, &pen);
    nvmm_fit_summary s;
    nvmm_fit_summary_get(f, &s);
    /* The fit's own figures are these (rounding of the standardization and of the sums). */
    ck_assert_msg(fabs(s.penalty - pen) < 1e-10, "%s: penalty %.15g, here %.15g",
                  nvmm_family_name(fam), s.penalty, pen);
    ck_assert_msg(fabs(s.loglik - ll) < 1e-10, "%s: loglik %.15g, here %.15g",
                  nvmm_family_name(fam), s.loglik, ll);
    const double best = ll + pen;
    int dirs = 0;
    for (int k = 0; k < 20; k++)
      for (int sgn = -1; sgn <= 1; sgn += 2) {
        if (!perturb(m, k, sgn * 1e-3, p))
          continue;
        double v = objective_of(&ob, p, TAU);
        ck_assert_msg(v < best + 1e-11,
                      "%s: direction %d (%+d) raises the objective %.15g -> %.15g",
                      nvmm_family_name(fam), k, sgn, best, v);
        dirs++;
      }
    ck_assert_int_ge(dirs, fam == NVMM_FAMILY_GAUSS ? 18 : 26);
    /* The MLE: a higher log-likelihood, a lower objective. */
    nvmm_fit_options om;
    mle_options(fam, &om);
    nvmm_fit *fm = fit_data(&om, N, 3, first, nloc, x);
    ck_assert_ok(nvmm_fit_model(fm, p));
    double llm, penm;
    evaluate(&ob, p, TAU, &llm, &penm);
    ck_assert_msg(llm > ll + 1e-6 && llm + penm < best - 1e-6,
                  "%s: MLE LL %.12g objective %.12g, shrunk LL %.12g objective %.12g",
                  nvmm_family_name(fam), llm, llm + penm, ll, best);
    nvmm_fit_destroy(&fm);
    nvmm_fit_destroy(&f);
    nvmm_model_free(&m);
    nvmm_model_free(&p);
    nvmm_model_free(&t);
    nvmm_model_free(&truth);
    free(ob.eta0);
    free(ob.lp);
    free(ob.scratch);
    free(x);
  }
}
END_TEST

/* tau = 0 is the MLE (the same log-likelihood within 1e-9 per row: both fits stop 1e-8 nats in
 * total from their optimum, so 1e-12 apart, plus rounding); tau = 1e4 is the target's law: mu and
 * Cov X within 1e-2 of the target's, where the data's pull is O(1/tau) = 1e-4. */
START_TEST(test_shrink_limits) {
  nvmm_model *truth = truth_model(NVMM_FAMILY_NIG, 3), *t = target_model(NVMM_FAMILY_NIG), *m;
  int64_t first, nloc;
  double *x = draw(truth, N, 23, &first, &nloc);
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 3, &m));
  nvmm_fit_options o;
  shrink_options(NVMM_FAMILY_NIG, &o, 0.0);
  nvmm_fit *f0 = shrink_fit(&o, t, first, nloc, x);
  nvmm_fit_options om;
  mle_options(NVMM_FAMILY_NIG, &om);
  nvmm_fit *fm = fit_data(&om, N, 3, first, nloc, x);
  nvmm_fit_summary s0, sm;
  nvmm_fit_summary_get(f0, &s0);
  nvmm_fit_summary_get(fm, &sm);
  ck_assert_double_eq(s0.penalty, 0.0);
  ck_assert_msg(fabs(s0.loglik - sm.loglik) < 1e-9, "tau = 0: %.15g, the MLE %.15g", s0.loglik,
                sm.loglik);
  shrink_options(NVMM_FAMILY_NIG, &o, 1e4);
  nvmm_fit *fb = shrink_fit(&o, t, first, nloc, x);
  ck_assert_ok(nvmm_fit_model(fb, m));
  double mean[3], cov[9], tmean[3], tcov[9];
  ck_assert_ok(nvmm_model_moments(m, mean, cov));
  ck_assert_ok(nvmm_model_moments(t, tmean, tcov));
  for (int j = 0; j < 3; j++)
    ck_assert_msg(fabs(m->mu[j] - t->mu[j]) < 1e-2, "tau = 1e4: mu[%d] %g, target %g", j, m->mu[j],
                  t->mu[j]);
  for (int k = 0; k < 9; k++)
    ck_assert_msg(fabs(cov[k] - tcov[k]) < 1e-2 * (1.0 + fabs(tcov[k])),
                  "tau = 1e4: Cov X [%d] %g, target %g", k, cov[k], tcov[k]);
  nvmm_fit_destroy(&f0);
  nvmm_fit_destroy(&fm);
  nvmm_fit_destroy(&fb);
  nvmm_model_free(&m);
  nvmm_model_free(&t);
  nvmm_model_free(&truth);
  free(x);
}
END_TEST

/* The targets built from the start (the moment start: the sample's mean and covariance S,
 * gamma = 0, E[Y] = 1), seen through tau = 1e4, where the fit is the target's law up to the
 * data's O(1/tau) pull: Cov X = S for `model`, diag(S) for `diagonal`, s2 |S|^(1/3) I for
 * `isotropic` (Sigma = s2 I in the start's gauge |Sigma| = 1, where Y carries |S|^(1/3)); mu
 * the sample mean. Tolerance 2e-3 relative: the pull (1e-4) and the start's 1/n covariance
 * (2.5e-4) with room. */
START_TEST(test_shrink_targets) {
  nvmm_model *truth = truth_model(NVMM_FAMILY_NIG, 3), *m;
  int64_t first, nloc;
  double *x = draw(truth, N, 37, &first, &nloc);
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 3, &m));
  double loc[12] = {0}, sum[12], mean[3], S[9];
  for (int64_t i = 0; i < nloc; i++)
    for (int j = 0; j < 3; j++) {
      loc[j] += x[i * 3 + j];
      for (int k = 0; k < 3; k++)
        loc[3 + j * 3 + k] += x[i * 3 + j] * x[i * 3 + k];
    }
  MPI_Allreduce(loc, sum, 12, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  for (int j = 0; j < 3; j++)
    mean[j] = sum[j] / (double)N;
  for (int j = 0; j < 3; j++)
    for (int k = 0; k < 3; k++)
      S[j * 3 + k] = sum[3 + j * 3 + k] / (double)N - mean[j] * mean[k];
  const double detS = S[0] * (S[4] * S[8] - S[5] * S[7]) - S[1] * (S[3] * S[8] - S[5] * S[6]) +
                      S[2] * (S[3] * S[7] - S[4] * S[6]);
  static const nvmm_shrink_target kinds[] = {NVMM_SHRINK_MODEL, NVMM_SHRINK_DIAGONAL,
                                             NVMM_SHRINK_ISOTROPIC};
  for (int c = 0; c < 3; c++) {
    nvmm_fit_options o;
    mle_options(NVMM_FAMILY_NIG, &o);
    o.regularization = NVMM_REG_NONE;
    o.shrink = kinds[c];
    o.shrink_tau = 1e4;
    o.shrink_s2 = 2.0;
    nvmm_fit *f = fit_data(&o, N, 3, first, nloc, x);
    ck_assert_int_eq(nvmm_fit_reason_get(f), NVMM_FIT_CONVERGED);
    ck_assert_ok(nvmm_fit_model(f, m));
    double mu[3], cov[9];
    ck_assert_ok(nvmm_model_moments(m, mu, cov));
    for (int j = 0; j < 3; j++) {
      ck_assert_msg(fabs(mu[j] - mean[j]) < 2e-3 * (1.0 + fabs(mean[j])),
                    "target %d: E X[%d] %g, sample mean %g", c, j, mu[j], mean[j]);
      for (int k = 0; k < 3; k++) {
        double want = kinds[c] == NVMM_SHRINK_MODEL      ? S[j * 3 + k]
                      : j != k                           ? 0.0
                      : kinds[c] == NVMM_SHRINK_DIAGONAL ? S[j * 3 + k]
                                                         : 2.0 * cbrt(detS);
        ck_assert_msg(fabs(cov[j * 3 + k] - want) < 2e-3 * sqrt(S[j * 3 + j] * S[k * 3 + k]),
                      "target %d: Cov X[%d][%d] %g, want %g", c, j, k, cov[j * 3 + k], want);
      }
    }
    nvmm_fit_destroy(&f);
  }
  nvmm_model_free(&m);
  nvmm_model_free(&truth);
  free(x);
}
END_TEST

/* EM, MCECM and incremental EM with the batch finish maximize the same objective: their final
 * objectives agree within 1e-4 nats in total (each stops within tol_ll = 1e-6 of the optimum by
 * the MLE rule's estimate; 100x room for the estimate's error). */
START_TEST(test_shrink_paths) {
  nvmm_model *truth = truth_model(NVMM_FAMILY_NIG, 3), *t = target_model(NVMM_FAMILY_NIG);
  int64_t first, nloc;
  double *x = draw(truth, N, 29, &first, &nloc);
  double obj[3];
  for (int a = 0; a < 3; a++) {
    nvmm_fit_options o;
    shrink_options(NVMM_FAMILY_NIG, &o, TAU);
    o.tol = 1e-3;
    o.tol_ll = 1e-6;
    o.algorithm = a == 0 ? NVMM_ALG_EM : a == 1 ? NVMM_ALG_MCECM : NVMM_ALG_INCREMENTAL;
    o.batch_rows = 256;
    nvmm_fit *f = shrink_fit(&o, t, first, nloc, x);
    nvmm_fit_summary s;
    nvmm_fit_summary_get(f, &s);
    obj[a] = (s.loglik + s.penalty) * (double)N;
    if (a == 2)
      ck_assert_int_eq(s.steps, 16);
    nvmm_fit_destroy(&f);
  }
  ck_assert_msg(fabs(obj[1] - obj[0]) < 1e-4 && fabs(obj[2] - obj[0]) < 1e-4,
                "objectives: em %.10f, mcecm %.10f, incremental %.10f", obj[0], obj[1], obj[2]);
  nvmm_model_free(&t);
  nvmm_model_free(&truth);
  free(x);
}
END_TEST

/* Refused: a regularization with shrinkage, a negative tau, the target 'given' without a model,
 * a target of another family; each names what is wrong. */
START_TEST(test_shrink_errors) {
  nvmm_model *truth = truth_model(NVMM_FAMILY_NIG, 3), *g = truth_model(NVMM_FAMILY_GH, 3);
  int64_t first, nloc;
  double *x = draw(truth, 1000, 31, &first, &nloc);
  nvmm_fit_options o;
  shrink_options(NVMM_FAMILY_NIG, &o, TAU);
  o.regularization = NVMM_REG_DET_SIGMA_ONE;
  ck_assert_int_eq(nvmm_fit_options_check(&o), NVMM_EINVAL);
  ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "regularization must be none"));
  shrink_options(NVMM_FAMILY_NIG, &o, -1.0);
  ck_assert_int_eq(nvmm_fit_options_check(&o), NVMM_EINVAL);
  ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "tau"));
  shrink_options(NVMM_FAMILY_NIG, &o, TAU);
  nvmm_fit *f;
  ck_assert_ok(nvmm_fit_create(MPI_COMM_WORLD, &o, 1000, 3, first, nloc, x, &f));
  ck_assert_int_eq(nvmm_fit_set_shrink_target(f, g), NVMM_EINVAL);
  ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "shrinkage target is gh"));
  ck_assert_int_eq(nvmm_fit_init(f), NVMM_EINVAL);
  ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "nvmm_fit_set_shrink_target"));
  nvmm_fit_destroy(&f);
  nvmm_model_free(&g);
  nvmm_model_free(&truth);
  free(x);
}
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  gsl_set_error_handler_off();
  Suite *s = suite_create("shrink_mpi");
  TCase *tc = tcase_create("shrink");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_shrink_maximizes);
  tcase_add_test(tc, test_shrink_limits);
  tcase_add_test(tc, test_shrink_targets);
  tcase_add_test(tc, test_shrink_paths);
  tcase_add_test(tc, test_shrink_errors);
  suite_add_tcase(s, tc);
  int all = nvmm_test_run_mpi(s);
  MPI_Finalize();
  return all == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
