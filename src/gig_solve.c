/* gig_solve.c: the inverse map eta = (E log Y, E 1/Y, E Y) -> parameters of the subordinators:
 * InverseGaussian in closed form, Gamma and InverseGamma through the digamma inversion, and the
 * GIG by Newton on its convex Bregman objective from warm or cold starts, with the boundary
 * limits where no GIG has eta (src/numerics.md 5.3-5.7). */
#include "nvmm/gig.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "digamma.h"
#include "family.h"
#include "gig_impl.h"
#include "nvmm/bessel.h"

/* Sanity bound on |p| (scale-free, src/numerics.md 5.7): the Bessel module is accurate for |nu| <=
 * 60 and the Hessian evaluates the orders p - 1 and p + 1; 50 is also normix's GIG_P_MAX, so a
 * rejected solve means the same in both systems. */
#define GIG_P_MAX 50.0
/* Range of omega = sqrt(ab) (scale-free): the Bessel module's accurate domain. Above 1e5 the
 * GIG has a coefficient of variation below 0.3% and is degenerate for any data set. */
#define GIG_OMEGA_MIN 1e-300
#define GIG_OMEGA_MAX 1e5
/* A solve whose max relative moment mismatch exceeds this is rejected (src/numerics.md 5.6). The
 * converged mismatch is ~1e-15; sampling noise in eta is ~1/sqrt(n) >> 1e-8 for any n. */
#define GIG_ACCEPT_MISMATCH 1e-8

/* sqrt(ab) of the GIG that stands for a Gamma (b -> 0) or InverseGamma (a -> 0) limit. */
#define GIG_BOUNDARY_OMEGA 1e-8
/* Armijo sufficient-decrease constant (the usual 1e-4 of Nocedal & Wright, 3.1). */
#define GIG_ARMIJO_C 1e-4
/* A Newton step below this (relative in a and b, relative to max(1, |p|) in p) is at the
 * rounding floor of the parameters: the solve has converged. */
#define GIG_STEP_TOL (4.0 * DBL_EPSILON)
/* Halvings of the trial step per search: 2^-60 ~ 1e-18 of the first trial is below any useful
 * step (the search gives up earlier once F's rounding noise hides the Armijo margin). */
#define GIG_MAX_HALVINGS 60
/* Newton iterations per start. Converged solves take 2-15 on the test grid; the cap only
 * stops a crawl toward the boundary when eta has no GIG (the Gamma or InverseGamma limit). */
#define GIG_MAX_ITER 100
/* Rounding noise of F, in ulps of the sum of the magnitudes of its terms (log K itself is
 * accurate to a few ulps, the other terms to one each). */
#define GIG_F_NOISE_ULPS 64.0
/* Near the solution F's change falls below its rounding noise; the Armijo test then measures
 * the change by Simpson's rule on dF/dt. That is used only once lambda^2 is this small: a
 * failure of the F-based search at a larger decrement is a genuine failure. */
#define GIG_SIMPSON_LAMBDA2_MAX 1e-6
/* Halvings of the Simpson-rule search: each costs a moment evaluation, and near the solution
 * the full Newton step passes; 10 failures (step 1e-3) mean the gradient is rounding noise. */
#define GIG_SIMPSON_HALVINGS 10
/* Largest first trial step, in the damping metric (absolute in p, relative in a and b): a
 * change of p by 8 or of a, b by a factor e^8 ~ 3000 is beyond any quadratic model of F. */
#define GIG_RADIUS_MAX 8.0
/* Fraction-to-boundary rule for the Newton step in theta: a step may shrink a or b at most to
 * 1% of its value, the common interior-point choice (tau = 0.99). */
#define GIG_BOUNDARY_FRACTION 0.99
/* The moments E t(Y) are computed to a few ulps (Bessel ratios and d/dnu log K); a mismatch
 * below this many ulps is rounding, and Newton stops there. */
#define GIG_GRAD_ULPS 32.0
/* Stall test: once lambda^2 < 1e-10 it can only grow again through rounding noise (Newton on
 * a convex F decreases it monotonically in its quadratic and its boundary-limited phase). */
#define GIG_STALL_LAMBDA2 1e-10
/* omega of the Gamma and InverseGamma seeds when the missing parameter is added
 * (src/numerics.md 5.7): small enough that the seed's log-density is close to the fitted limit
 * law, large enough that the seed is not on the boundary. */
#define GIG_SEED_OMEGA 0.1
/* Cold-start seeds: Gamma, InverseGamma, InverseGaussian and a p = 0 default. */
#define GIG_MAX_SEEDS 4

/* One evaluated GIG point of the (rescaled) eta -> theta problem. theta = (p - 1, -b/2, -a/2)
 * and t(Y) = (log Y, 1/Y, Y) (src/numerics.md 2.4). */
typedef struct gig_point {
  double p, a, b; /* classical parameters */
  double omega;   /* sqrt(ab) */
  double delta;   /* sqrt(b/a) */
  double lnk;     /* log K_p(omega) */
  double d1;      /* d/dnu log K_nu(omega) at nu = p */
  double rp, rm;  /* K_{p+1}/K_p, K_{p-1}/K_p */
  double mom[3];  /* E t(Y) = (E log Y, E 1/Y, E Y) */
  double cov[9];  /* Cov t(Y), row-major: the Hessian of psi in theta */
  double f;       /* objective F = psi - theta . eta */
  double f_noise; /* rounding level of f */
} gig_point;

/* Inside the region where the solve evaluates Bessel functions (scale-free bounds only). */
static bool gig_feasible(double p, double a, double b) {
  if (!(isfinite(p) && nvmm__pos_finite(a) && nvmm__pos_finite(b) && fabs(p) <= GIG_P_MAX))
    return false;
  double omega = sqrt(a) * sqrt(b);
  return omega >= GIG_OMEGA_MIN && omega <= GIG_OMEGA_MAX;
}

/* F = psi(theta) - theta . eta with psi = log 2 + log K_p(omega) + p log delta, and the
 * rounding level of F (the sum of its terms' magnitudes in ulps). */
static void gig_objective(gig_point *x, const double eta[3]) {
  double ld = 0.5 * (log(x->b) - log(x->a));
  double t[6] = {
      M_LN2, x->lnk, x->p * ld, -(x->p - 1.0) * eta[0], 0.5 * x->b * eta[1], 0.5 * x->a * eta[2]};
  double f = 0.0, mag = 0.0;
  for (int i = 0; i < 6; i++)
    f += t[i], mag += fabs(t[i]);
  x->f = f;
  x->f_noise = GIG_F_NOISE_ULPS * DBL_EPSILON * mag;
}

/* Sets the point and evaluates F only (one log K): what a line-search trial needs. */
static bool gig_eval_f(gig_point *x, double p, double a, double b, const double eta[3]) {
  if (!gig_feasible(p, a, b))
    return false;
  x->p = p, x->a = a, x->b = b;
  x->omega = sqrt(a) * sqrt(b);
  x->delta = sqrt(b) / sqrt(a);
  if (nvmm_bessel_lnk(p, x->omega, &x->lnk) != NVMM_OK)
    return false;
  gig_objective(x, eta);
  return isfinite(x->f);
}

/* The moments E t(Y) at a point whose p, a, b, omega, delta are set. */
static bool gig_eval_moments(gig_point *x) {
  nvmm_bessel_k k;
  if (nvmm_bessel_k_eval(x->p, x->omega, &k) != NVMM_OK ||
      nvmm_bessel_dnu(x->p, x->omega, &x->d1, NULL) != NVMM_OK)
    return false;
  x->lnk = k.lnk, x->rp = k.rp, x->rm = k.rm;
  x->mom[0] = 0.5 * (log(x->b) - log(x->a)) + x->d1;
  x->mom[1] = x->rm / x->delta;
  x->mom[2] = x->delta * x->rp;
  return isfinite(x->mom[0]) && isfinite(x->mom[1]) && isfinite(x->mom[2]);
}

/* Cov t(Y) from Bessel ratios and nu-derivatives (src/numerics.md 2.4):
 *   Var log Y = d2/dnu2 log K at p,
 *   Cov(log Y, Y) = E Y (d1(p+1) - d1(p)),  Cov(log Y, 1/Y) = E 1/Y (d1(p-1) - d1(p)),
 *   Var Y = delta^2 R+(p) (R+(p+1) - R+(p)),  Var 1/Y = delta^-2 R-(p) (R-(p-1) - R-(p)),
 *   Cov(1/Y, Y) = 1 - R+(p) R-(p).
 * R+(p+1) = 1/R+(p) + 2(p+1)/omega is a sum of positive terms for p >= -1, and
 * R-(p-1) = 1/R-(p) - 2(p-1)/omega for p <= 1; otherwise the recurrence cancels (R-(p-1) ~
 * omega/(2p) for small omega and large p) and one more Bessel evaluation is used instead. */
static bool gig_eval_covariance(gig_point *x) {
  double d1, d2, d1p, d1m, rpp, rmm;
  if (nvmm_bessel_dnu(x->p, x->omega, &d1, &d2) != NVMM_OK ||
      nvmm_bessel_dnu(x->p + 1.0, x->omega, &d1p, NULL) != NVMM_OK ||
      nvmm_bessel_dnu(x->p - 1.0, x->omega, &d1m, NULL) != NVMM_OK)
    return false;
  nvmm_bessel_k k;
  if (x->p >= -1.0) {
    rpp = 1.0 / x->rp + 2.0 * (x->p + 1.0) / x->omega;
  } else {
    if (nvmm_bessel_k_eval(x->p + 1.0, x->omega, &k) != NVMM_OK)
      return false;
    rpp = k.rp;
  }
  if (x->p <= 1.0) {
    rmm = 1.0 / x->rm - 2.0 * (x->p - 1.0) / x->omega;
  } else {
    if (nvmm_bessel_k_eval(x->p - 1.0, x->omega, &k) != NVMM_OK)
      return false;
    rmm = k.rm;
  }
  double *c = x->cov;
  c[0] = d2;
  c[1] = c[3] = x->mom[1] * (d1m - x->d1);
  c[2] = c[6] = x->mom[2] * (d1p - x->d1);
  c[4] = x->rm * (rmm - x->rm) / (x->delta * x->delta);
  c[5] = c[7] = 1.0 - x->rp * x->rm;
  c[8] = x->delta * x->delta * x->rp * (rpp - x->rp);
  for (int i = 0; i < 9; i++)
    if (!isfinite(c[i]))
      return false;
  return c[0] > 0.0 && c[4] > 0.0 && c[8] > 0.0;
}

/* The gradient of F in phi = (p, log b, log a): g_phi = J g with J = d theta / d phi =
 * diag(1, -b/2, -a/2), g = E t(Y) - eta. */
static void phi_gradient(const gig_point *x, const double g[3], double gphi[3]) {
  gphi[0] = g[0];
  gphi[1] = -0.5 * x->b * g[1];
  gphi[2] = -0.5 * x->a * g[2];
}

/* The modified Newton Hessian in phi (src/numerics.md 5.6): J Cov t(Y) J, positive definite, plus
 * the chain-rule term diag(0, g_phi[1], g_phi[2]) (d^2 theta_i / d phi_i^2 = theta_i) where it is
 * positive. Its negative part is dropped: it is what makes the exact H_phi indefinite away from the
 * solution, and it vanishes there with g, so Newton stays quadratic. */
static void phi_hessian(const gig_point *x, const double gphi[3], double H[9]) {
  double j[3] = {1.0, -0.5 * x->b, -0.5 * x->a};
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 3; k++)
      H[3 * i + k] = j[i] * x->cov[3 * i + k] * j[k];
  H[4] += fmax(gphi[1], 0.0);
  H[8] += fmax(gphi[2], 0.0);
}

/* A step in theta = (p - 1, -b/2, -a/2) (moves a, b linearly) or in phi = (p, log b, log a). */
typedef struct gig_dir {
  bool phi;     /* coordinates of d */
  double d[3];  /* the step */
  double slope; /* dF/dt at t = 0 along x + t d (< 0) */
} gig_dir;

/* The point x + t d as (p, a, b). */
static void dir_point(const gig_point *x, const gig_dir *v, double t, double q[3]) {
  q[0] = x->p + t * v->d[0];
  if (v->phi) {
    q[1] = x->a * exp(t * v->d[2]);
    q[2] = x->b * exp(t * v->d[1]);
  } else {
    q[1] = x->a - 2.0 * t * v->d[2];
    q[2] = x->b - 2.0 * t * v->d[1];
  }
}

/* Fraction-to-boundary rule for a theta step: scales d (and its slope) so that a and b keep
 * at least 1 - tau of their values, so a, b > 0 always. A phi step needs no rule. */
static void dir_truncate(const gig_point *x, gig_dir *v) {
  if (v->phi)
    return;
  double t = 1.0;
  if (v->d[1] > 0.0)
    t = fmin(t, GIG_BOUNDARY_FRACTION * x->b / (2.0 * v->d[1]));
  if (v->d[2] > 0.0)
    t = fmin(t, GIG_BOUNDARY_FRACTION * x->a / (2.0 * v->d[2]));
  for (int i = 0; i < 3; i++)
    v->d[i] *= t;
  v->slope *= t;
}

/* dF/dt at a point y on the line (its moments evaluated). */
static double dir_slope(const gig_point *y, const gig_dir *v, const double eta[3]) {
  double g[3] = {y->mom[0] - eta[0], y->mom[1] - eta[1], y->mom[2] - eta[2]}, gp[3];
  if (!v->phi)
    return nvmm__dot3(g, v->d);
  phi_gradient(y, g, gp);
  return nvmm__dot3(gp, v->d);
}

/* Armijo backtracking on F along the Levenberg-Marquardt curve of one system: the first trial
 * is the full Newton step (its S-norm capped at GIG_RADIUS_MAX), each later one halves the
 * S-norm by raising the damping mu. The metric S measures relative changes of a and b and
 * absolute changes of p, so damping shrinks the nearly flat directions first (where the
 * quadratic model means nothing, e.g. log a when a is 1e-10 of its scale) and the step tends
 * to the scaled gradient. Every trial must pass F(x + d) <= F(x) + c g.d. Gives up when the
 * Armijo margin falls below F's rounding noise: F values can then no longer decide. */
static bool search_f(const gig_point *x, const double eta[3], const nvmm__newton_sys *ns, bool phi,
                     gig_point *y) {
  double full, slope, dn2, d0[3];
  if (!nvmm__newton_step_mu(ns, 0.0, d0, &slope, &full, &dn2))
    return false;
  double radius = fmin(full, GIG_RADIUS_MAX), mu = 0.0;
  for (int h = 0; h < GIG_MAX_HALVINGS; h++, radius *= 0.5) {
    gig_dir v = {.phi = phi};
    double n;
    if (radius < full)
      mu = nvmm__newton_mu_for_radius(ns, radius);
    if (!isfinite(mu) || !nvmm__newton_step_mu(ns, mu, v.d, &v.slope, &n, &dn2))
      return false;
    dir_truncate(x, &v);
    double margin = -GIG_ARMIJO_C * v.slope, q[3];
    if (!(margin > 2.0 * x->f_noise))
      return false;
    dir_point(x, &v, 1.0, q);
    if (gig_eval_f(y, q[0], q[1], q[2], eta) && y->f <= x->f - margin && margin > 2.0 * y->f_noise)
      return true;
  }
  return false;
}

/* Backtracking Armijo search along the Newton line that measures F's change by Simpson's rule
 * on dF/dt (values at t/2 and t, exact for cubics): used near the solution, where the change
 * is below F's rounding noise and dF/dt has no such cancellation. Each halving reuses the
 * midpoint as the new end. On success *y is the accepted point (moments evaluated) and
 * *change the estimated change of F. */
static bool search_simpson(const gig_point *x, const double eta[3], const gig_dir *v, gig_point *y,
                           double *change) {
  double t = 1.0, q[3];
  gig_point end, mid;
  dir_point(x, v, t, q);
  if (!gig_eval_f(&end, q[0], q[1], q[2], eta) || !gig_eval_moments(&end))
    return false;
  for (int h = 0; h < GIG_SIMPSON_HALVINGS; h++, t *= 0.5) {
    dir_point(x, v, 0.5 * t, q);
    if (!gig_eval_f(&mid, q[0], q[1], q[2], eta) || !gig_eval_moments(&mid))
      return false;
    double est = t / 6.0 * (v->slope + 4.0 * dir_slope(&mid, v, eta) + dir_slope(&end, v, eta));
    if (est <= GIG_ARMIJO_C * t * v->slope) {
      *y = end;
      *change = est;
      return true;
    }
    end = mid;
  }
  return false;
}

/* Max relative moment mismatch: E log Y absolutely (it is already a relative scale), the
 * other two relative to their targets. */
static double moment_mismatch(const double mom[3], const double eta[3]) {
  double r = fabs(mom[0] - eta[0]);
  r = fmax(r, fabs(mom[1] - eta[1]) / eta[1]);
  r = fmax(r, fabs(mom[2] - eta[2]) / eta[2]);
  return r;
}

/* True when every moment mismatch is at the rounding level of the moments: Newton can do no
 * better (src/numerics.md 5.6, 5.8: Newton iterates to the rounding floor). */
static bool at_rounding_floor(const double g[3], const double eta[3]) {
  double tol = GIG_GRAD_ULPS * DBL_EPSILON;
  return fabs(g[0]) <= tol * (1.0 + fabs(eta[0])) && fabs(g[1]) <= tol * eta[1] &&
         fabs(g[2]) <= tol * eta[2];
}

/* What one Newton run did. */
typedef struct gig_run {
  int iterations;  /* accepted Newton steps */
  int ridge;       /* Newton steps whose Hessian needed the eigenvalue floor */
  double mismatch; /* max relative moment mismatch at the end (inf if evaluation failed) */
} gig_run;

/* One step from x. Newton systems in theta and in phi are both searched and the better
 * accepted point wins (lower F; larger estimated decrease near the solution). Newton in theta
 * is exact where F is analytic in a, b near 0 (the Gamma side for p > 1: E 1/Y ~ const + c b),
 * where Newton in log b crawls by one unit per step; Newton in phi handles the power-law side
 * (E 1/Y ~ b^(p-1) for p < 1), where Newton in theta crawls along the fraction-to-boundary
 * rule. */
static bool newton_step(const gig_point *x, const double eta[3], const nvmm__newton_sys ns[2],
                        gig_point *y) {
  gig_point c[2];
  bool ok[2];
  for (int i = 0; i < 2; i++)
    ok[i] = search_f(x, eta, &ns[i], i == 1, &c[i]);
  if (ok[0] || ok[1]) {
    *y = c[(ok[0] && (!ok[1] || c[0].f <= c[1].f)) ? 0 : 1];
    return gig_eval_moments(y);
  }
  gig_dir v[2] = {{.phi = false}, {.phi = true}};
  double ch[2];
  for (int i = 0; i < 2; i++) {
    double n, dn2;
    bool small = nvmm__newton_step_mu(&ns[i], 0.0, v[i].d, &v[i].slope, &n, &dn2) &&
                 -v[i].slope <= GIG_SIMPSON_LAMBDA2_MAX;
    dir_truncate(x, &v[i]);
    ok[i] = small && search_simpson(x, eta, &v[i], &c[i], &ch[i]);
  }
  if (!ok[0] && !ok[1])
    return false;
  *y = c[(ok[0] && (!ok[1] || ch[0] <= ch[1])) ? 0 : 1];
  return true;
}

/* Newton on F(theta) = psi(theta) - theta.eta, the convex Bregman objective of src/numerics.md 5.5,
 * from the point x (p, a, b set), which it overwrites with the result (src/numerics.md 5.6: descent
 * directions only, Armijo on every step). The Hessian in theta is Cov t(Y), positive definite,
 * so F has one stationary point, its minimizer, in both coordinate systems. Stops when the
 * moment mismatch or the Newton step is at its rounding floor, when the decrement lambda^2
 * grows again below GIG_STALL_LAMBDA2 (rounding noise), when no step passes Armijo, or at
 * GIG_MAX_ITER; the caller judges the result by run->mismatch. */
static void gig_newton(const double eta[3], gig_point *x, gig_run *run) {
  run->iterations = 0, run->ridge = 0, run->mismatch = INFINITY;
  if (!gig_eval_f(x, x->p, x->a, x->b, eta) || !gig_eval_moments(x))
    return;
  double lam2_prev = INFINITY;
  for (int it = 0; it < GIG_MAX_ITER; it++) {
    double g[3] = {x->mom[0] - eta[0], x->mom[1] - eta[1], x->mom[2] - eta[2]}, gp[3], H[9];
    run->mismatch = moment_mismatch(x->mom, eta);
    if (!gig_eval_covariance(x))
      break;
    nvmm__newton_sys ns[2];
    phi_gradient(x, g, gp);
    phi_hessian(x, gp, H);
    double sc_theta[3] = {1.0, 0.5 * x->b, 0.5 * x->a}, sc_phi[3] = {1.0, 1.0, 1.0};
    int floored = 0;
    if (!nvmm__newton_prepare(x->cov, g, sc_theta, &ns[0], &floored) ||
        !nvmm__newton_prepare(H, gp, sc_phi, &ns[1], &floored))
      break;
    run->ridge += floored > 0;
    double d[3], lam2, n, dn2;
    if (!nvmm__newton_step_mu(&ns[0], 0.0, d, &lam2, &n, &dn2))
      break;
    lam2 = -lam2;
    if (!(lam2 > 0.0 && isfinite(lam2)))
      break;
    if (at_rounding_floor(g, eta))
      break;
    if (fabs(d[0]) <= GIG_STEP_TOL * fmax(1.0, fabs(x->p)) &&
        2.0 * fabs(d[1]) <= GIG_STEP_TOL * x->b && 2.0 * fabs(d[2]) <= GIG_STEP_TOL * x->a)
      break;
    if (lam2 < GIG_STALL_LAMBDA2 && lam2 > lam2_prev && run->mismatch <= GIG_ACCEPT_MISMATCH)
      break;
    gig_point y;
    if (!newton_step(x, eta, ns, &y))
      break;
    *x = y;
    run->iterations++;
    lam2_prev = lam2;
  }
  run->mismatch = moment_mismatch(x->mom, eta);
}

/* Cold-start seeds on the rescaled eta (src/numerics.md 5.7): the Gamma fit to (E log Y, E Y) with
 * a small b added, the InverseGamma fit to (E log Y, E 1/Y) with a small a added, the
 * InverseGaussian fit to (E 1/Y, E Y), and p = 0 with the IG's omega. Infeasible seeds are skipped.
 * Returns the number of seeds written to s[][3] as (p, a, b). */
static int gig_seeds(const double eta[3], double s[GIG_MAX_SEEDS][3]) {
  int n = 0, iters;
  double alpha, resid;
  if (nvmm__digamma_log_solve(eta[0] - log(eta[2]), &alpha, &iters, &resid) == NVMM__DG_OK) {
    double a = 2.0 * alpha / eta[2];
    double seed[3] = {alpha, a, GIG_SEED_OMEGA * GIG_SEED_OMEGA / a};
    if (gig_feasible(seed[0], seed[1], seed[2]))
      memcpy(s[n++], seed, sizeof seed);
  }
  if (nvmm__digamma_log_solve(-eta[0] - log(eta[1]), &alpha, &iters, &resid) == NVMM__DG_OK) {
    double b = 2.0 * alpha / eta[1];
    double seed[3] = {-alpha, GIG_SEED_OMEGA * GIG_SEED_OMEGA / b, b};
    if (gig_feasible(seed[0], seed[1], seed[2]))
      memcpy(s[n++], seed, sizeof seed);
  }
  /* lambda = 1 / (E 1/Y - 1/E Y) = E Y / (E 1/Y E Y - 1); fma rounds the difference once. */
  double mu = eta[2], lambda = eta[2] / fma(eta[1], eta[2], -1.0);
  double ig[3] = {-0.5, lambda / mu / mu, lambda};
  if (gig_feasible(ig[0], ig[1], ig[2]))
    memcpy(s[n++], ig, sizeof ig);
  double omega = lambda / mu, delta = sqrt(eta[2] / eta[1]);
  double p0[3] = {0.0, omega / delta, omega * delta};
  if (gig_feasible(p0[0], p0[1], p0[2]))
    memcpy(s[n++], p0, sizeof p0);
  return n;
}

/* Validates the entries of eta that the kind's inverse map uses (family.h: eta_used). */
static nvmm_status check_eta(nvmm_sub_kind kind, const double eta[3]) {
  const bool *used = nvmm__family_of_kind(kind)->eta_used;
  static const char *names[3] = {"E log Y", "E 1/Y", "E Y"};
  NVMM_CHECK(!used[0] || isfinite(eta[0]), NVMM_EDOM, "%s from_eta: %s = %g must be finite",
             nvmm__sub_kind_name(kind), names[0], eta[0]);
  for (int i = 1; i < 3; i++)
    NVMM_CHECK(!used[i] || nvmm__pos_finite(eta[i]), NVMM_EDOM,
               "%s from_eta: %s = %g must be positive and finite", nvmm__sub_kind_name(kind),
               names[i], eta[i]);
  /* Jensen: -log E 1/Y < E log Y < log E Y and E 1/Y E Y > 1 for any non-degenerate law. */
  NVMM_CHECK(!(used[0] && used[2]) || eta[0] < log(eta[2]), NVMM_EDOM,
             "%s from_eta: E log Y = %.17g >= log E Y = %.17g (Jensen; degenerate data)",
             nvmm__sub_kind_name(kind), eta[0], log(eta[2]));
  NVMM_CHECK(!(used[0] && used[1]) || eta[0] > -log(eta[1]), NVMM_EDOM,
             "%s from_eta: E log Y = %.17g <= -log E 1/Y = %.17g (Jensen; degenerate data)",
             nvmm__sub_kind_name(kind), eta[0], -log(eta[1]));
  NVMM_CHECK(!(used[1] && used[2]) || fma(eta[1], eta[2], -1.0) > 0.0, NVMM_EDOM,
             "%s from_eta: E 1/Y * E Y - 1 = %g <= 0 (Jensen requires > 0; degenerate data)",
             nvmm__sub_kind_name(kind), fma(eta[1], eta[2], -1.0));
  return NVMM_OK;
}

/* Gamma (VG) from (E log Y, E Y), src/numerics.md 5.3; alpha_min (src/numerics.md 5.9) raises alpha
 * before beta = alpha / E Y is formed. */
nvmm_status nvmm__gamma_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                                 nvmm_sub *out, nvmm_sub_info *info) {
  (void)warm;
  NVMM_CALL(check_eta(NVMM_SUB_GAMMA, eta));
  double target = eta[0] - log(eta[2]), alpha, resid;
  NVMM_CALL(nvmm__digamma_log_inverse_info(target, &alpha, &info->iterations, &resid));
  info->grad_norm = resid;
  alpha = fmax(alpha, alpha_min);
  double par[3] = {alpha, alpha / eta[2], 0.0};
  return nvmm_sub_make(NVMM_SUB_GAMMA, par, out);
}

/* InverseGamma (NInvG) from (E log Y, E 1/Y), src/numerics.md 5.3: beta = alpha / E 1/Y. */
nvmm_status nvmm__invgamma_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                                    nvmm_sub *out, nvmm_sub_info *info) {
  (void)warm, (void)alpha_min;
  NVMM_CALL(check_eta(NVMM_SUB_INVGAMMA, eta));
  double target = -eta[0] - log(eta[1]), alpha, resid;
  NVMM_CALL(nvmm__digamma_log_inverse_info(target, &alpha, &info->iterations, &resid));
  info->grad_norm = resid;
  double par[3] = {alpha, alpha / eta[1], 0.0};
  return nvmm_sub_make(NVMM_SUB_INVGAMMA, par, out);
}

/* InverseGaussian (NIG) in closed form, src/numerics.md 5.4 and 12.23: mu = E Y,
 * lambda = E Y / (E 1/Y E Y - 1); check_eta has rejected E 1/Y E Y <= 1. */
nvmm_status nvmm__invgauss_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                                    nvmm_sub *out, nvmm_sub_info *info) {
  (void)warm, (void)alpha_min, (void)info;
  NVMM_CALL(check_eta(NVMM_SUB_INVGAUSS, eta));
  double par[3] = {eta[2], eta[2] / fma(eta[1], eta[2], -1.0), 0.0};
  return nvmm_sub_make(NVMM_SUB_INVGAUSS, par, out);
}

/* Whether eta may lie beyond the Gamma or InverseGamma limit below (false: certainly not), from
 * one evaluation of g = digamma - log instead of the two solves. Both limits say c > a / (a - 1)
 * with c = E 1/Y E Y / (1 + GIG_ACCEPT_MISMATCH) and a the fit's shape, g(a) = t1 = E log Y -
 * log E Y (Gamma) or t2 = -E log Y - log E 1/Y (InverseGamma); since g increases, that is t > g(a*)
 * with a* = c / (c - 1). The screen clears only t below g(a*) by LIMIT_SCREEN relative (a shape
 * below a* by about that much, far beyond the solves' 1e-12 and the test's rounding for any a* up
 * to 1e9), so it never clears what the solves would flag; every other eta takes the solves. An
 * interior GIG of the EM is cleared, its M-step spared two Newton solves of some 5 digamma and
 * trigamma evaluations each. */
#define LIMIT_SCREEN 1e-6
static bool gig_near_limit(const double eta[3]) {
  double c = eta[1] * eta[2] / (1.0 + GIG_ACCEPT_MISMATCH), gs;
  if (!(c > 1.0 + 1e-9)) /* c <= 1 is never beyond (a > 1 gives a / (a - 1) > 1) */
    return !(c < 1.0 - 1e-9);
  if (!nvmm__digamma_minus_log(c / (c - 1.0), &gs))
    return true;
  double thr = gs - LIMIT_SCREEN * fabs(gs);
  return !(eta[0] - log(eta[2]) < thr && -eta[0] - log(eta[1]) < thr);
}

/* The GIG family is not steep (src/numerics.md 2.4): E 1/Y stays finite as b -> 0 for p > 1 and
 * E Y as a -> 0 for p < -1, so eta beyond those limits has no GIG. Along the curve of fixed
 * (E log Y, E Y), E 1/Y increases with theta_2 = -b/2 <= 0 (its derivative there is a Schur
 * complement of Cov t(Y), positive), so the supremum is the Gamma fit's E 1/Y; likewise for E Y
 * and the InverseGamma fit. Writes the limit's name and value if eta lies beyond it (by more
 * than the acceptance threshold), which is then exactly the KKT condition for the minimizer of
 * F over the closed domain to sit on that boundary. */
static bool gig_beyond_limit(const double eta[3], const char **which, double *limit,
                             double par[3]) {
  if (!gig_near_limit(eta))
    return false;
  int iters;
  double alpha, resid;
  if (nvmm__digamma_log_solve(eta[0] - log(eta[2]), &alpha, &iters, &resid) == NVMM__DG_OK &&
      alpha > 1.0) {
    *limit = alpha / (eta[2] * (alpha - 1.0)); /* beta / (alpha - 1), beta = alpha / E Y */
    *which = "E 1/Y of the Gamma";
    if (eta[1] > *limit * (1.0 + GIG_ACCEPT_MISMATCH)) {
      /* The Gamma(alpha, beta) fit: GIG(alpha, 2 beta, b -> 0). */
      par[0] = alpha, par[1] = 2.0 * alpha / eta[2];
      par[2] = GIG_BOUNDARY_OMEGA * GIG_BOUNDARY_OMEGA / par[1];
      return true;
    }
  }
  if (nvmm__digamma_log_solve(-eta[0] - log(eta[1]), &alpha, &iters, &resid) == NVMM__DG_OK &&
      alpha > 1.0) {
    *limit = alpha / (eta[1] * (alpha - 1.0)); /* beta / (alpha - 1), beta = alpha / E 1/Y */
    *which = "E Y of the InverseGamma";
    if (eta[2] > *limit * (1.0 + GIG_ACCEPT_MISMATCH)) {
      /* The InverseGamma(alpha, beta) fit: GIG(-alpha, a -> 0, 2 beta). */
      par[0] = -alpha, par[2] = 2.0 * alpha / eta[1];
      par[1] = GIG_BOUNDARY_OMEGA * GIG_BOUNDARY_OMEGA / par[2];
      return true;
    }
  }
  return false;
}

/* Returns the warm GIG with info->fallback = 1 (the counted fallback of src/numerics.md 5.7). */
static nvmm_status gig_fallback(const double eta[3], double wp, double wa, double wb, nvmm_sub *out,
                                nvmm_sub_info *info) {
  double wpar[3] = {wp, wa, wb}, weta[3];
  NVMM_CALL(nvmm_sub_make(NVMM_SUB_GIG, wpar, out));
  NVMM_CALL(nvmm__gig_eta(wp, wa, wb, weta));
  info->fallback = 1;
  info->grad_norm = moment_mismatch(weta, eta);
  return NVMM_OK;
}

/* Keeps the run's result in *best if it is accepted and has the lowest F so far. */
static void keep_best(const gig_point *x, const gig_run *run, gig_point *best, bool *have,
                      nvmm_sub_info *info) {
  info->iterations += run->iterations;
  info->ridge += run->ridge;
  if (!(run->mismatch <= GIG_ACCEPT_MISMATCH))
    return;
  if (!*have || x->f < best->f) {
    *best = *x;
    *have = true;
    info->grad_norm = run->mismatch;
  }
}

/* GIG (GH) from (E log Y, E 1/Y, E Y), src/numerics.md 5.5-5.7. An eta beyond the Gamma
 * or InverseGamma limit has no GIG: the limit's fit is returned at once (info->boundary). Otherwise
 * the problem is solved for sY with s = 2^k ~ sqrt(E 1/Y / E Y): a power of two, so scaling eta and
 * unscaling (a, b) are exact, while E 1/(sY) and E sY agree within a factor 2 (the preconditioning
 * of src/numerics.md 5.5). The warm start is tried first; the cold seeds run if there is no warm
 * start or the warm run fails. The accepted run with the lowest F wins; if none is accepted the
 * warm GIG is returned with info->fallback = 1, or NVMM_ENOCONV without one. */
nvmm_status nvmm__gig_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                               nvmm_sub *out, nvmm_sub_info *info) {
  (void)alpha_min;
  NVMM_CALL(check_eta(NVMM_SUB_GIG, eta));
  double wp = 0.0, wa = 0.0, wb = 0.0;
  if (warm != NULL) {
    NVMM_CHECK(warm->kind == NVMM_SUB_GIG || warm->kind == NVMM_SUB_INVGAUSS, NVMM_EINVAL,
               "GIG from_eta: warm start must be a GIG or InverseGaussian, not %s",
               nvmm__sub_kind_name(warm->kind));
    NVMM_CALL(nvmm_sub_to_gig(warm, &wp, &wa, &wb));
  }
  const char *which;
  double limit, bpar[3];
  if (gig_beyond_limit(eta, &which, &limit, bpar)) {
    /* No GIG has eta, and F's infimum over the closed domain lies on that boundary (the KKT
     * condition above): the boundary family's fit maximizes the M-step's objective, so EM stays
     * monotone, where keeping the warm GIG would stall the subordinator (GH on data with a
     * 3000-sigma outlier ended below the NInvG fit it nests). A GIG with sqrt(ab) = 1e-8
     * stands for the limit: its moments differ from the limit's by O(ab) ~ 1e-16 relative.
     * Counted as a fallback. */
    NVMM_CALL(nvmm_sub_make(NVMM_SUB_GIG, bpar, out));
    double eta_b[3];
    NVMM_CALL(nvmm__gig_eta(bpar[0], bpar[1], bpar[2], eta_b));
    info->fallback = 1;
    info->boundary = 1;
    info->grad_norm = moment_mismatch(eta_b, eta);
    return NVMM_OK;
  }
  int k = (int)lround(0.5 * (log2(eta[1]) - log2(eta[2])));
  double es[3] = {eta[0] + (double)k * M_LN2, ldexp(eta[1], -k), ldexp(eta[2], k)};
  gig_point best = {0}, x = {0};
  gig_run run;
  bool have = false;
  if (warm != NULL) {
    x.p = wp, x.a = ldexp(wa, -k), x.b = ldexp(wb, k);
    gig_newton(es, &x, &run);
    keep_best(&x, &run, &best, &have, info);
  }
  if (!have) {
    double seeds[GIG_MAX_SEEDS][3];
    int ns = gig_seeds(es, seeds);
    for (int i = 0; i < ns; i++) {
      x.p = seeds[i][0], x.a = seeds[i][1], x.b = seeds[i][2];
      gig_newton(es, &x, &run);
      keep_best(&x, &run, &best, &have, info);
    }
  }
  if (have) {
    double par[3] = {best.p, ldexp(best.a, k), ldexp(best.b, -k)};
    return nvmm_sub_make(NVMM_SUB_GIG, par, out);
  }
  NVMM_CHECK(warm != NULL, NVMM_ENOCONV,
             "GIG from_eta: no start reached a moment mismatch <= %g for eta = (%.17g, %.17g, "
             "%.17g) within |p| <= %g and sqrt(ab) in [%g, %g]",
             GIG_ACCEPT_MISMATCH, eta[0], eta[1], eta[2], GIG_P_MAX, GIG_OMEGA_MIN, GIG_OMEGA_MAX);
  return gig_fallback(eta, wp, wa, wb, out, info);
}

/* The checks both entry points share, then the row's inverse map. */
static nvmm_status row_from_eta(const nvmm__family *fd, const double eta[3], const nvmm_sub *warm,
                                double alpha_min, nvmm_sub *out, nvmm_sub_info *info) {
  NVMM_CHECK(eta != NULL && out != NULL, NVMM_EINVAL, "sub_from_eta: eta or out is NULL");
  NVMM_CHECK(alpha_min >= 0.0 && isfinite(alpha_min), NVMM_EDOM,
             "sub_from_eta: alpha_min = %g must be finite and >= 0", alpha_min);
  nvmm_sub_info local;
  if (info == NULL)
    info = &local;
  memset(info, 0, sizeof *info);
  return fd->from_eta(eta, warm, alpha_min, out, info);
}

nvmm_status nvmm_sub_from_eta(nvmm_sub_kind kind, const double eta[3], const nvmm_sub *warm,
                              double alpha_min, nvmm_sub *out, nvmm_sub_info *info) {
  const nvmm__family *fd = nvmm__family_of_kind(kind);
  NVMM_CHECK(fd != NULL, NVMM_EINVAL, "sub_from_eta: unknown subordinator kind %d", (int)kind);
  return row_from_eta(fd, eta, warm, alpha_min, out, info);
}

nvmm_status nvmm__family_from_eta(nvmm_family family, const double eta[3], const nvmm_sub *warm,
                                  double alpha_min, nvmm_sub *out, nvmm_sub_info *info) {
  const nvmm__family *fd = nvmm__family_of(family);
  NVMM_CHECK(fd != NULL, NVMM_EINVAL, "sub_from_eta: unknown family %d", (int)family);
  return row_from_eta(fd, eta, warm, alpha_min, out, info);
}

/* Nothing to estimate: Y = 1 is fixed. */
nvmm_status nvmm__degenerate_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                                      nvmm_sub *out, nvmm_sub_info *info) {
  (void)eta, (void)warm, (void)alpha_min, (void)info;
  out->kind = NVMM_SUB_DEGENERATE;
  out->par[0] = out->par[1] = out->par[2] = 0.0;
  return NVMM_OK;
}
