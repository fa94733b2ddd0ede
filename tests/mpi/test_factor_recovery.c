/* test_factor_recovery.c: factor fits at the size of issue 15's target (src/numerics.md 3.4,
 * 5.12), run under mpirun: on n = 50000 draws of a known factor NIG and of a known factor GH
 * (d = 200, r = 5) the fit ends at or above the truth's log-likelihood, and F F^T's column space
 * and D are recovered within Monte-Carlo bounds derived from the truth's own F, D and n; the same
 * checks reject a fit whose subspace is turned, or whose D is moved, by a few times the bound. The
 * log-likelihoods are the dense log-density's of every row, not the fit's history. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "../nvmm_test_mpi.h"
#include "factor_test.h"
#include "fit_test.h"
#include "nvmm.h"
#include "nvmm/factor.h"

enum { D = 200, R = 5 };
static const int64_t N = 50000;

/* The Monte-Carlo scale of the largest principal angle between the fitted and the true column
 * space of F. Whitened, the loadings' errors are about sqrt(D_j / n) per entry; the angle is the
 * spectral norm of their component orthogonal to span(F) (a d x r matrix of such entries: at most
 * sqrt(max D / n) (sqrt(d) + sqrt(r)), the largest singular value of a Gaussian matrix) divided
 * by F's smallest singular value (the weakest factor's signal). For the truths here (F ~ N(0, 1),
 * D in [0.2, 1]) this is about 0.005 rad. */
static double angle_scale(const nvmm_model *t) {
  double ev[R], dmax = 0.0;
  factor_cross_eig(D, R, t->factor->f, t->factor->f, ev);
  for (int j = 0; j < D; j++)
    dmax = fmax(dmax, t->factor->dd[j]);
  return sqrt(dmax / (double)N) * (sqrt((double)D) + sqrt((double)R)) / sqrt(ev[0]);
}

/* Bounds. Angle: 4 times its scale, for the normal-variance mixture's weights (the rows' 1/Y
 * spread the information unevenly, about a factor 1.5 on the NIG and GH here) and a margin.
 * D: each D_j's relative error has standard deviation about sqrt(2 / n) = 0.0063 (a variance
 * estimated from n draws), inflated by the same weights and by the loadings' error (D_j is what
 * the factors leave, so errors in F_j pass into it: about a factor 2 where the communality is
 * high, as here); the largest of d = 200 such errors is about 3 standard deviations, so the
 * bound is 5 sqrt(2 / n) times 2 = 0.063. */
#define ANGLE_FACTOR 4.0
#define D_BOUND (5.0 * sqrt(2.0 / (double)N) * 2.0)

/* Largest relative error of d against the truth's D. */
static double d_error(const double *d, const nvmm_model *t) {
  double e = 0.0;
  for (int j = 0; j < D; j++)
    e = fmax(e, fabs(d[j] / t->factor->dd[j] - 1.0));
  return e;
}

static void recover(nvmm_family fam, uint64_t truth_seed, uint64_t data_seed) {
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  nvmm_model *t = factor_truth(fam, D, R, truth_seed);
  int64_t first, nloc;
  double *x = draw(t, N, data_seed, &first, &nloc);
  nvmm_fit_options o;
  nvmm_fit_options_default(fam, &o);
  o.factors = R;
  o.init = NVMM_INIT_MOMENTS; /* GH's sub-model start is refused for factor fits */
  /* Plain EM on factor models creeps (one ECM cycle per pass, slow where the communalities are
   * high, as here): at the default tol_ll of 1e-3 nats the NIG fit was still iterating after
   * 2300 iterations. tol_ll = 1 nat in all (2e-5 per row) stops it with at most about sqrt(2)
   * standard errors left along its slowest direction, and far closer to its optimum than the
   * ~(free parameters) / (2 n) = 1606 / 1e5 = 0.016 nats per row by which the MLE beats the
   * truth; about 800 iterations for the NIG, 500-1000 for the GH. tol (1e-3) is met long
   * before. */
  o.max_iter = 3000;
  o.tol_ll = 1.0;
  nvmm_fit *f = fit_data(&o, N, D, first, nloc, x);
  nvmm_fit_summary s;
  nvmm_fit_summary_get(f, &s);
  ck_assert_msg(s.reason == NVMM_FIT_CONVERGED, "%s: reason %s after %d iterations",
                nvmm_family_name(fam), nvmm_fit_reason_name(s.reason), s.iterations);
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(fam, D, &m));
  ck_assert_ok(nvmm_fit_model(f, m));
  ck_assert_ptr_nonnull(m->factor);
  ck_assert_uint_eq(m->factor->r, R);

  /* The fitted LL, from the dense log-density of its F F^T + D, is its summary's (to rounding
   * of 50000 log-densities, 1e-10 relative) and at least the truth's. */
  double llf = factor_mean_ll(m, N, nloc, x), llt = factor_mean_ll(t, N, nloc, x);
  ck_assert_msg(fabs(llf - s.loglik) <= 1e-10 * fabs(llf), "dense LL %.17g, the fit's %.17g", llf,
                s.loglik);
  ck_assert_msg(llf >= llt, "%s: fitted LL %.10g below the truth's %.10g", nvmm_family_name(fam),
                llf, llt);
  double bound = ANGLE_FACTOR * angle_scale(t);
  double ang = factor_largest_angle(D, R, m->factor->f, t->factor->f);
  double derr = d_error(m->factor->dd, t);
  if (rank == 0)
    printf("factor %s d = %d, r = %d, n = %lld: %d iterations, LL %.6f (truth %.6f), largest "
           "principal angle %.4g rad (bound %.4g), max |D/D0 - 1| = %.4g (bound %.4g)\n",
           nvmm_family_name(fam), D, R, (long long)N, s.iterations, llf, llt, ang, bound, derr,
           D_BOUND);
  fflush(stdout);
  ck_assert_msg(ang < bound, "%s: largest principal angle %g rad, bound %g", nvmm_family_name(fam),
                ang, bound);
  ck_assert_msg(derr < D_BOUND, "%s: max relative error of D %g, bound %g", nvmm_family_name(fam),
                derr, D_BOUND);

  /* The checks can fail: the fitted subspace turned by 3 bounds (its first orthonormal direction
   * rotated towards a unit vector orthogonal to it, so the turn is exactly that angle) lies at
   * least 3 - 1 = 2 bounds from the truth's; D with its first entry moved by 3 bounds is at least
   * 2 bounds off; and the fit with every D_j 20% too large loses about
   * d (0.2 - log 1.2) / 2 = 1.8 nats per row, far more than the MLE's gain over the truth. */
  double *q = malloc(D * R * sizeof *q), u[D], th = 3.0 * bound;
  factor_orthonormal(D, R, m->factor->f, q);
  for (int j = 0; j < D; j++)
    u[j] = j == 0 ? 1.0 : 0.0;
  for (int k = 0; k < R; k++) {
    double s1 = q[k];
    for (int j = 0; j < D; j++)
      u[j] -= s1 * q[j * R + k];
  }
  double un = 0.0;
  for (int j = 0; j < D; j++)
    un += u[j] * u[j];
  for (int j = 0; j < D; j++)
    q[j * R] = cos(th) * q[j * R] + sin(th) * u[j] / sqrt(un);
  ck_assert_msg(factor_largest_angle(D, R, q, t->factor->f) >= 2.0 * bound,
                "a subspace turned by %g rad passes the angle check", th);
  double dd[D];
  memcpy(dd, m->factor->dd, sizeof dd);
  dd[0] *= 1.0 + 3.0 * D_BOUND;
  ck_assert_msg(d_error(dd, t) >= 2.0 * D_BOUND, "a moved D_0 passes the D check");
  for (int j = 0; j < D; j++)
    dd[j] = 1.2 * m->factor->dd[j];
  nvmm_model *p;
  ck_assert_ok(nvmm_model_alloc(fam, D, &p));
  ck_assert_ok(nvmm_model_set_factor(p, m->mu, m->gamma, R, m->factor->f, dd, &m->sub));
  double llp = factor_mean_ll(p, N, nloc, x);
  ck_assert_msg(llp < llt, "D 20%% too large passes the LL check: %.10g vs %.10g", llp, llt);
  nvmm_model_free(&p);
  free(q);
  nvmm_model_free(&m);
  nvmm_fit_destroy(&f);
  nvmm_model_free(&t);
  free(x);
}

START_TEST(test_nig) { recover(NVMM_FAMILY_NIG, 78, 6); }
END_TEST

START_TEST(test_gh) { recover(NVMM_FAMILY_GH, 79, 7); }
END_TEST

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  gsl_set_error_handler_off();
  Suite *s = suite_create("factor_recovery");
  TCase *tc = tcase_create("factor_recovery");
  tcase_set_timeout(tc, 1200);
  tcase_add_test(tc, test_nig);
  tcase_add_test(tc, test_gh);
  suite_add_tcase(s, tc);
  int all = nvmm_test_run_mpi(s);
  MPI_Finalize();
  return all == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
