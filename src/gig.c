/* gig.c: the subordinators (Gamma, InverseGamma, InverseGaussian, GIG): validation, expectation
 * parameters, moments, the scale action Y -> sY and the inverse map eta -> parameters
 * (numerics.md sections 1.1-1.4, 3.2-3.6, 4.1 and A.4-A.5). */
#include "nvmm/gig.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

#include "nvmm/bessel.h"

/* digamma(x) - log(x) comes from the Stirling series at and above this x. Its truncation error
 * after the B_16 term is below 3e-18 at x = 10; GSL's psi(x) - log(x) would instead lose
 * log10(log(x)/|g(x)|) digits to cancellation (1e-11 relative at x = 1e4, numerics.md 3.2). */
#define DIGAMMA_SERIES_MIN 10.0
/* s = -target outside [1e-100, 1e100] means a shape outside about [1e-100, 5e99]: the data are
 * degenerate. Inside, trigamma(alpha) and 1/(2 alpha^2) stay far from overflow/underflow. */
#define DIGAMMA_S_MIN 1e-100
#define DIGAMMA_S_MAX 1e100
/* Minka's start converges in at most 5 Newton steps on [1e-3, 1e4]; 100 is a loose cap. */
#define DIGAMMA_MAX_ITER 100
/* A relative step this small is at the rounding floor of alpha. */
#define DIGAMMA_STEP_TOL (4.0 * DBL_EPSILON)
/* Below this relative step a step that fails to halve is rounding noise: in the quadratic
 * phase a step of 1e-10 is followed by one of ~1e-20. */
#define DIGAMMA_NOISE_STEP 1e-10
/* Accepted relative residual |f| / |target|: the computed g(alpha) is good to ~1e-14, so a
 * true root shows |f| of that order; 1e-12 leaves a 100x margin and still exposes a wrong root
 * (normix's bug of pitfall 5 left residuals of 1e4 and more). */
#define DIGAMMA_RESID_TOL 1e-12

/* Sanity bound on |p| (scale-free, section A.5): the Bessel module is accurate for |nu| <= 60
 * and the Hessian evaluates the orders p - 1 and p + 1; 50 is also normix's GIG_P_MAX, so a
 * rejected solve means the same in both systems. */
#define GIG_P_MAX 50.0
/* Range of omega = sqrt(ab) (scale-free): the Bessel module's accurate domain. Above 1e5 the
 * GIG has a coefficient of variation below 0.3% and is degenerate for any data set. */
#define GIG_OMEGA_MIN 1e-300
#define GIG_OMEGA_MAX 1e5
/* A solve whose max relative moment mismatch exceeds this is rejected (section A.4). The
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
/* Eigenvalues of the equilibrated (unit-diagonal) Hessian below this fraction of the largest
 * are raised to it: 1e-13 is ~500 ulps, below which the matrix is numerically singular and
 * the Newton step meaningless (modified Newton, section A.4; counted in info->ridge). */
#define GIG_EIG_FLOOR 1e-13
/* omega of the Gamma and InverseGamma seeds when the missing parameter is added (section 3.5):
 * small enough that the seed's log-density is close to the fitted limit law, large enough
 * that the seed is not on the boundary. */
#define GIG_SEED_OMEGA 0.1
/* Cold-start seeds: Gamma, InverseGamma, InverseGaussian and a p = 0 default. */
#define GIG_MAX_SEEDS 4

/* Stirling-series coefficients B_2k / (2k), k = 1..8 (A&S 6.3.18). */
static const double stirling_c[8] = {1.0 / 12.0,  -1.0 / 120.0,     1.0 / 252.0, -1.0 / 240.0,
                                     1.0 / 132.0, -691.0 / 32760.0, 1.0 / 12.0,  -3617.0 / 8160.0};

static const char *kind_name(nvmm_sub_kind kind) {
  switch (kind) {
  case NVMM_SUB_DEGENERATE:
    return "Degenerate";
  case NVMM_SUB_GAMMA:
    return "Gamma";
  case NVMM_SUB_INVGAMMA:
    return "InverseGamma";
  case NVMM_SUB_INVGAUSS:
    return "InverseGaussian";
  case NVMM_SUB_GIG:
    return "GIG";
  }
  return "unknown";
}

static bool pos_finite(double x) { return x > 0.0 && isfinite(x); }

static double dot3(const double u[3], const double v[3]) {
  return u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
}

/* digamma(x) - log(x) (< 0), accurate in relative terms also for large x where it is
 * ~ -1/(2x). Returns false if GSL fails. */
static bool digamma_minus_log(double x, double *g) {
  if (x >= DIGAMMA_SERIES_MIN) {
    double r = 1.0 / (x * x), sum = 0.0;
    for (int k = 7; k >= 0; k--)
      sum = sum * r + stirling_c[k];
    *g = -0.5 / x - sum * r;
    return true;
  }
  gsl_sf_result psi;
  if (gsl_sf_psi_e(x, &psi) != GSL_SUCCESS)
    return false;
  *g = psi.val - log(x);
  return true;
}

/* trigamma(x) - 1/x (> 0), the derivative of digamma_minus_log, with the same split. */
static bool trigamma_minus_inv(double x, double *dg) {
  if (x >= DIGAMMA_SERIES_MIN) {
    double r = 1.0 / (x * x), sum = 0.0;
    for (int k = 7; k >= 0; k--)
      sum = sum * r + 2.0 * (double)(k + 1) * stirling_c[k];
    *dg = 0.5 * r + sum * r / x;
    return true;
  }
  gsl_sf_result psi1;
  if (gsl_sf_psi_1_e(x, &psi1) != GSL_SUCCESS)
    return false;
  *dg = psi1.val - 1.0 / x;
  return true;
}

/* Minka's start for digamma(a) - log(a) = -s, written without cancellation for s > 3. */
static double minka_start(double s) {
  double q = sqrt((s - 3.0) * (s - 3.0) + 24.0 * s);
  if (s > 3.0)
    return 2.0 / (q + s - 3.0);
  return (3.0 - s + q) / (12.0 * s);
}

/* How a digamma solve ended; the public wrapper turns it into a message. */
typedef enum { DG_OK, DG_RANGE, DG_NOCONV } dg_result;

/* Solves digamma(alpha) - log(alpha) = target by safeguarded Newton from Minka's start
 * (section 3.2). The function is increasing and concave, so after the first step the
 * iterates approach the root from the left; the halving only guards alpha > 0. */
static dg_result digamma_log_solve(double target, double *alpha, int *iters, double *resid) {
  double s = -target;
  *iters = 0;
  *resid = INFINITY;
  if (!(s >= DIGAMMA_S_MIN && s <= DIGAMMA_S_MAX))
    return DG_RANGE;
  double x = minka_start(s), prev = INFINITY;
  for (int it = 0; it < DIGAMMA_MAX_ITER; it++) {
    double g, dg;
    if (!digamma_minus_log(x, &g) || !trigamma_minus_inv(x, &dg) || !(dg > 0.0))
      return DG_NOCONV;
    double step = (g - target) / dg;
    while (x - step <= 0.0)
      step *= 0.5;
    /* Newton's steps shrink quadratically until g's rounding (up to ~1e-14 relative between
     * x = 1 and 10, where psi(x) - log(x) cancels) drives them; a small step that no longer
     * halves is that noise, and so is one below the rounding of x. (Far from the root steps
     * may grow, e.g. doubling from x << 1; the residual check below judges the end.) */
    if (fabs(step) > 0.5 * prev && fabs(step) < DIGAMMA_NOISE_STEP * x)
      break;
    x -= step;
    *iters = it + 1;
    prev = fabs(step);
    if (fabs(step) <= DIGAMMA_STEP_TOL * x)
      break;
  }
  double g;
  if (!digamma_minus_log(x, &g))
    return DG_NOCONV;
  *resid = fabs(g - target) / fabs(target);
  *alpha = x;
  return *resid <= DIGAMMA_RESID_TOL ? DG_OK : DG_NOCONV;
}

/* The digamma solve with its failures reported; iters and resid describe the solve. */
static nvmm_status digamma_log_inverse_info(double target, double *alpha, int *iters,
                                            double *resid) {
  NVMM_CHECK(isfinite(target) && target < 0.0, NVMM_EDOM,
             "digamma_log_inverse: target = %g must be finite and < 0 (target >= 0 means "
             "degenerate data: E log Y = log E Y)",
             target);
  dg_result r = digamma_log_solve(target, alpha, iters, resid);
  NVMM_CHECK(r != DG_RANGE, NVMM_EDOM,
             "digamma_log_inverse: target = %g puts the shape outside [1e-100, 5e99] "
             "(degenerate data)",
             target);
  NVMM_CHECK(r == DG_OK, NVMM_ENOCONV,
             "digamma_log_inverse: Newton failed for target = %.17g (relative residual %g)", target,
             *resid);
  return NVMM_OK;
}

nvmm_status nvmm_digamma_log_inverse(double target, double *alpha) {
  NVMM_CHECK(alpha != NULL, NVMM_EINVAL, "digamma_log_inverse: alpha is NULL");
  int iters;
  double resid;
  return digamma_log_inverse_info(target, alpha, &iters, &resid);
}

nvmm_status nvmm_sub_validate(const nvmm_sub *s) {
  NVMM_CHECK(s != NULL, NVMM_EINVAL, "sub_validate: subordinator is NULL");
  const double *q = s->par;
  switch (s->kind) {
  case NVMM_SUB_DEGENERATE:
    return NVMM_OK;
  case NVMM_SUB_GAMMA:
  case NVMM_SUB_INVGAMMA:
    NVMM_CHECK(pos_finite(q[0]), NVMM_EDOM, "%s shape alpha = %g must be positive and finite",
               kind_name(s->kind), q[0]);
    NVMM_CHECK(pos_finite(q[1]), NVMM_EDOM, "%s rate beta = %g must be positive and finite",
               kind_name(s->kind), q[1]);
    return NVMM_OK;
  case NVMM_SUB_INVGAUSS:
    NVMM_CHECK(pos_finite(q[0]), NVMM_EDOM,
               "InverseGaussian mean mu = %g must be positive and finite", q[0]);
    NVMM_CHECK(pos_finite(q[1]), NVMM_EDOM,
               "InverseGaussian shape lambda = %g must be positive and finite", q[1]);
    return NVMM_OK;
  case NVMM_SUB_GIG:
    NVMM_CHECK(isfinite(q[0]), NVMM_EDOM, "GIG p = %g must be finite", q[0]);
    NVMM_CHECK(pos_finite(q[1]), NVMM_EDOM, "GIG a = %g must be positive and finite", q[1]);
    NVMM_CHECK(pos_finite(q[2]), NVMM_EDOM, "GIG b = %g must be positive and finite", q[2]);
    return NVMM_OK;
  }
  NVMM_ERROR(NVMM_EINVAL, "sub_validate: unknown subordinator kind %d", (int)s->kind);
}

/* Number of classical parameters of a kind (unused entries of par are 0). */
static int kind_npar(nvmm_sub_kind kind) {
  switch (kind) {
  case NVMM_SUB_DEGENERATE:
    return 0;
  case NVMM_SUB_GAMMA:
  case NVMM_SUB_INVGAMMA:
  case NVMM_SUB_INVGAUSS:
    return 2;
  case NVMM_SUB_GIG:
    return 3;
  }
  return -1;
}

nvmm_status nvmm_sub_make(nvmm_sub_kind kind, const double par[3], nvmm_sub *out) {
  NVMM_CHECK(out != NULL, NVMM_EINVAL, "sub_make: out is NULL");
  int np = kind_npar(kind);
  NVMM_CHECK(np >= 0, NVMM_EINVAL, "sub_make: unknown subordinator kind %d", (int)kind);
  NVMM_CHECK(np == 0 || par != NULL, NVMM_EINVAL, "sub_make: %s needs parameters, par is NULL",
             kind_name(kind));
  nvmm_sub s = {.kind = kind, .par = {0.0, 0.0, 0.0}};
  for (int i = 0; i < np; i++)
    s.par[i] = par[i];
  NVMM_CALL(nvmm_sub_validate(&s));
  *out = s;
  return NVMM_OK;
}

nvmm_status nvmm_sub_to_gig(const nvmm_sub *s, double *p, double *a, double *b) {
  NVMM_CALL(nvmm_sub_validate(s));
  NVMM_CHECK(p != NULL && a != NULL && b != NULL, NVMM_EINVAL, "sub_to_gig: NULL output");
  const double *q = s->par;
  switch (s->kind) {
  case NVMM_SUB_GAMMA:
    *p = q[0], *a = 2.0 * q[1], *b = 0.0;
    return NVMM_OK;
  case NVMM_SUB_INVGAMMA:
    *p = -q[0], *a = 0.0, *b = 2.0 * q[1];
    return NVMM_OK;
  case NVMM_SUB_INVGAUSS:
    /* lambda / mu^2 as (lambda / mu) / mu: no intermediate overflow (section 1.3). */
    *p = -0.5, *a = q[1] / q[0] / q[0], *b = q[1];
    return NVMM_OK;
  case NVMM_SUB_GIG:
    *p = q[0], *a = q[1], *b = q[2];
    return NVMM_OK;
  case NVMM_SUB_DEGENERATE:
    break;
  }
  NVMM_ERROR(NVMM_EINVAL, "sub_to_gig: the degenerate subordinator (Y = 1) has no GIG form");
}

/* E log Y, E 1/Y, E Y of GIG(p, a, b) from the Bessel ratios and d/dnu log K (section 1.4).
 * sqrt(b)/sqrt(a) rather than sqrt(b/a): no overflow for extreme a, b. */
static nvmm_status gig_eta(double p, double a, double b, double eta[3]) {
  double omega = sqrt(a) * sqrt(b), delta = sqrt(b) / sqrt(a);
  nvmm_bessel_k k;
  double d1;
  NVMM_CALL(nvmm_bessel_k_eval(p, omega, &k));
  NVMM_CALL(nvmm_bessel_dnu(p, omega, &d1, NULL));
  eta[0] = 0.5 * (log(b) - log(a)) + d1;
  eta[1] = k.rm / delta;
  eta[2] = delta * k.rp;
  return NVMM_OK;
}

nvmm_status nvmm_sub_eta(const nvmm_sub *s, double eta[3]) {
  NVMM_CALL(nvmm_sub_validate(s));
  NVMM_CHECK(eta != NULL, NVMM_EINVAL, "sub_eta: eta is NULL");
  const double *q = s->par;
  gsl_sf_result psi;
  switch (s->kind) {
  case NVMM_SUB_DEGENERATE:
    eta[0] = 0.0, eta[1] = 1.0, eta[2] = 1.0;
    return NVMM_OK;
  case NVMM_SUB_GAMMA:
    /* Section 1.1; E 1/Y = beta / (alpha - 1) exists only for alpha > 1. */
    NVMM_CHECK(gsl_sf_psi_e(q[0], &psi) == GSL_SUCCESS, NVMM_EDOM,
               "Gamma: digamma(alpha = %g) failed", q[0]);
    eta[0] = psi.val - log(q[1]);
    eta[1] = q[0] > 1.0 ? q[1] / (q[0] - 1.0) : INFINITY;
    eta[2] = q[0] / q[1];
    return NVMM_OK;
  case NVMM_SUB_INVGAMMA:
    /* Section 1.2; E Y = beta / (alpha - 1) exists only for alpha > 1. */
    NVMM_CHECK(gsl_sf_psi_e(q[0], &psi) == GSL_SUCCESS, NVMM_EDOM,
               "InverseGamma: digamma(alpha = %g) failed", q[0]);
    eta[0] = log(q[1]) - psi.val;
    eta[1] = q[0] / q[1];
    eta[2] = q[0] > 1.0 ? q[1] / (q[0] - 1.0) : INFINITY;
    return NVMM_OK;
  case NVMM_SUB_INVGAUSS: {
    /* Section 1.3: E Y, E 1/Y in closed form; E log Y through GIG(-1/2, lambda/mu^2, lambda),
     * whose omega = lambda / mu and delta = mu. */
    double d1;
    NVMM_CALL(nvmm_bessel_dnu(-0.5, q[1] / q[0], &d1, NULL));
    eta[0] = log(q[0]) + d1;
    eta[1] = 1.0 / q[0] + 1.0 / q[1];
    eta[2] = q[0];
    return NVMM_OK;
  }
  case NVMM_SUB_GIG:
    return gig_eta(q[0], q[1], q[2], eta);
  }
  NVMM_ERROR(NVMM_EINVAL, "sub_eta: unknown subordinator kind %d", (int)s->kind);
}

/* E[Y^r] = (b/a)^(r/2) K_{p+r}(omega) / K_p(omega) in log form (section 1.4). */
static nvmm_status gig_moment(double p, double a, double b, double r, double *m) {
  double omega = sqrt(a) * sqrt(b), l0, l1;
  NVMM_CALL(nvmm_bessel_lnk(p, omega, &l0));
  NVMM_CALL(nvmm_bessel_lnk(p + r, omega, &l1));
  *m = exp(0.5 * r * (log(b) - log(a)) + l1 - l0);
  return NVMM_OK;
}

/* Gamma(alpha, rate beta): E[Y^r] = Gamma(alpha + r) / (Gamma(alpha) beta^r), r > -alpha. */
static nvmm_status gamma_moment(double alpha, double beta, double r, double *m) {
  if (!(alpha + r > 0.0)) {
    *m = INFINITY;
    return NVMM_OK;
  }
  gsl_sf_result l1, l0;
  NVMM_CHECK(gsl_sf_lngamma_e(alpha + r, &l1) == GSL_SUCCESS &&
                 gsl_sf_lngamma_e(alpha, &l0) == GSL_SUCCESS,
             NVMM_EDOM, "sub_moment: lgamma failed at alpha = %g, r = %g", alpha, r);
  *m = exp(l1.val - l0.val - r * log(beta));
  return NVMM_OK;
}

nvmm_status nvmm_sub_moment(const nvmm_sub *s, double r, double *m) {
  NVMM_CALL(nvmm_sub_validate(s));
  NVMM_CHECK(m != NULL, NVMM_EINVAL, "sub_moment: m is NULL");
  NVMM_CHECK(isfinite(r), NVMM_EDOM, "sub_moment: order r = %g must be finite", r);
  if (r == 0.0) {
    *m = 1.0;
    return NVMM_OK;
  }
  const double *q = s->par;
  switch (s->kind) {
  case NVMM_SUB_DEGENERATE:
    *m = 1.0;
    return NVMM_OK;
  case NVMM_SUB_GAMMA:
    return gamma_moment(q[0], q[1], r, m);
  case NVMM_SUB_INVGAMMA:
    /* 1/Y ~ Gamma(alpha, beta), so E[Y^r] = E[(1/Y)^(-r)]. */
    return gamma_moment(q[0], q[1], -r, m);
  case NVMM_SUB_INVGAUSS:
    return gig_moment(-0.5, q[1] / q[0] / q[0], q[1], r, m);
  case NVMM_SUB_GIG:
    return gig_moment(q[0], q[1], q[2], r, m);
  }
  NVMM_ERROR(NVMM_EINVAL, "sub_moment: unknown subordinator kind %d", (int)s->kind);
}

nvmm_status nvmm_sub_rescale(nvmm_sub *sub, double s) {
  NVMM_CALL(nvmm_sub_validate(sub));
  NVMM_CHECK(pos_finite(s), NVMM_EDOM, "sub_rescale: scale s = %g must be positive and finite", s);
  nvmm_sub t = *sub;
  /* Pitfall 16: Y -> sY is Gamma beta/s, InverseGamma beta*s, IG (s mu, s lambda),
   * GIG (p, a/s, b*s). No clipping: an over/underflow is an error, not a silent clamp. */
  switch (sub->kind) {
  case NVMM_SUB_DEGENERATE:
    NVMM_ERROR(NVMM_EINVAL,
               "sub_rescale: the degenerate subordinator (Y = 1) cannot be "
               "rescaled (s = %g)",
               s);
  case NVMM_SUB_GAMMA:
    t.par[1] = sub->par[1] / s;
    break;
  case NVMM_SUB_INVGAMMA:
    t.par[1] = sub->par[1] * s;
    break;
  case NVMM_SUB_INVGAUSS:
    t.par[0] = sub->par[0] * s;
    t.par[1] = sub->par[1] * s;
    break;
  case NVMM_SUB_GIG:
    t.par[1] = sub->par[1] / s;
    t.par[2] = sub->par[2] * s;
    break;
  }
  nvmm_status st = nvmm_sub_validate(&t);
  NVMM_CHECK(st == NVMM_OK, NVMM_EDOM,
             "sub_rescale: %s rescaled by s = %g leaves the representable range",
             kind_name(sub->kind), s);
  *sub = t;
  return NVMM_OK;
}

/* One evaluated GIG point of the (rescaled) eta -> theta problem. theta = (p - 1, -b/2, -a/2)
 * and t(Y) = (log Y, 1/Y, Y) (section 1.4). */
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
  if (!(isfinite(p) && pos_finite(a) && pos_finite(b) && fabs(p) <= GIG_P_MAX))
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

/* Cov t(Y) from Bessel ratios and nu-derivatives (the brief's formulas, section 3.3):
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

/* Symmetric 3x3 eigen-decomposition by cyclic Jacobi rotations: A (row-major, destroyed)
 * = V diag(w) V^T. Converges quadratically; 50 sweeps is far beyond what 3x3 needs. */
static void sym3_eigen(double A[9], double V[9], double w[3]) {
  for (int i = 0; i < 9; i++)
    V[i] = (i % 4 == 0) ? 1.0 : 0.0;
  for (int sweep = 0; sweep < 50; sweep++) {
    double off = A[1] * A[1] + A[2] * A[2] + A[5] * A[5];
    double diag = A[0] * A[0] + A[4] * A[4] + A[8] * A[8];
    if (off <= DBL_EPSILON * DBL_EPSILON * diag)
      break;
    for (int p = 0; p < 2; p++) {
      for (int q = p + 1; q < 3; q++) {
        double apq = A[3 * p + q];
        if (apq == 0.0)
          continue;
        double th = (A[3 * q + q] - A[3 * p + p]) / (2.0 * apq);
        double t = (th >= 0.0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1.0));
        double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
        for (int k = 0; k < 3; k++) { /* A <- A J */
          double akp = A[3 * k + p], akq = A[3 * k + q];
          A[3 * k + p] = c * akp - s * akq;
          A[3 * k + q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; k++) { /* A <- J^T A */
          double apk = A[3 * p + k], aqk = A[3 * q + k];
          A[3 * p + k] = c * apk - s * aqk;
          A[3 * q + k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; k++) { /* V <- V J */
          double vkp = V[3 * k + p], vkq = V[3 * k + q];
          V[3 * k + p] = c * vkp - s * vkq;
          V[3 * k + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  for (int i = 0; i < 3; i++)
    w[i] = A[4 * i];
}

/* Cholesky factorization of a symmetric positive definite 3x3 matrix (row-major, lower
 * factor in L); false if a pivot is not positive. */
static bool chol3(const double M[9], double L[9]) {
  for (int i = 0; i < 9; i++)
    L[i] = 0.0;
  for (int j = 0; j < 3; j++) {
    double d = M[4 * j];
    for (int k = 0; k < j; k++)
      d -= L[3 * j + k] * L[3 * j + k];
    if (!(d > 0.0))
      return false;
    L[4 * j] = sqrt(d);
    for (int i = j + 1; i < 3; i++) {
      double t = M[3 * i + j];
      for (int k = 0; k < j; k++)
        t -= L[3 * i + k] * L[3 * j + k];
      L[3 * i + j] = t / L[4 * j];
    }
  }
  return true;
}

/* Solves L L^T x = r. */
static void chol3_solve(const double L[9], const double r[3], double x[3]) {
  double y[3];
  for (int i = 0; i < 3; i++) {
    double t = r[i];
    for (int k = 0; k < i; k++)
      t -= L[3 * i + k] * y[k];
    y[i] = t / L[4 * i];
  }
  for (int i = 2; i >= 0; i--) {
    double t = y[i];
    for (int k = i + 1; k < 3; k++)
      t -= L[3 * k + i] * x[k];
    x[i] = t / L[4 * i];
  }
}

/* A Newton system H d = -g prepared for damped (Levenberg-Marquardt) steps d(mu) =
 * -(H + mu S)^{-1} g with the damping metric S = diag(sc)^-2 (sc: the natural unit of each
 * coordinate). H is equilibrated to unit diagonal, A = D H D with D = diag(H)^{-1/2} (its
 * entries span many decades), and eigenvalues of A below GIG_EIG_FLOOR times the largest are
 * raised to it (modified Newton, section A.4). */
typedef struct newton_sys {
  double A[9];  /* equilibrated Hessian, eigenvalues floored (row-major) */
  double D[3];  /* diag(H)^{-1/2} */
  double m[3];  /* the damping metric in equilibrated units, (D_i / sc_i)^2 */
  double gs[3]; /* -D g */
  double g[3];  /* the gradient */
  double sc[3]; /* the natural units */
} newton_sys;

/* Prepares the system; false if H or g is not finite or diag(H) is not positive. Increments
 * *ridge if eigenvalues had to be floored (numerically not positive definite). */
static bool newton_prepare(const double H[9], const double g[3], const double sc[3], newton_sys *ns,
                           int *ridge) {
  for (int i = 0; i < 3; i++) {
    if (!(H[4 * i] > 0.0 && isfinite(H[4 * i]) && isfinite(g[i])))
      return false;
    ns->D[i] = 1.0 / sqrt(H[4 * i]);
    ns->g[i] = g[i];
    ns->gs[i] = -g[i] * ns->D[i];
    ns->sc[i] = sc[i];
    ns->m[i] = (ns->D[i] / sc[i]) * (ns->D[i] / sc[i]);
  }
  double E[9], V[9], w[3], wmax = 0.0;
  for (int i = 0; i < 9; i++) {
    E[i] = H[i] * ns->D[i / 3] * ns->D[i % 3];
    if (!isfinite(E[i]))
      return false;
  }
  sym3_eigen(E, V, w);
  for (int k = 0; k < 3; k++)
    wmax = fmax(wmax, w[k]);
  bool floored = false;
  for (int k = 0; k < 3; k++) {
    if (!(w[k] >= GIG_EIG_FLOOR * wmax)) {
      w[k] = GIG_EIG_FLOOR * wmax;
      floored = true;
    }
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double t = 0.0;
      for (int k = 0; k < 3; k++)
        t += V[3 * i + k] * w[k] * V[3 * j + k];
      ns->A[3 * i + j] = t;
    }
  *ridge += floored;
  return wmax > 0.0 && isfinite(wmax);
}

/* The damped step d(mu) (in the system's coordinates), its slope g.d (< 0: A + mu diag(m) is
 * positive definite, so every d(mu) is a descent direction), its S-norm, and in *dnorm2 the
 * derivative of the squared S-norm in mu. False if the factorization fails. */
static bool newton_step_mu(const newton_sys *ns, double mu, double d[3], double *slope,
                           double *norm, double *dnorm2) {
  double M[9], L[9], u[3], r[3], z[3];
  for (int i = 0; i < 9; i++)
    M[i] = ns->A[i];
  for (int i = 0; i < 3; i++)
    M[4 * i] += mu * ns->m[i];
  if (!chol3(M, L))
    return false;
  chol3_solve(L, ns->gs, u);
  double n2 = 0.0;
  for (int i = 0; i < 3; i++) {
    d[i] = ns->D[i] * u[i];
    n2 += ns->m[i] * u[i] * u[i];
    r[i] = ns->m[i] * u[i];
  }
  chol3_solve(L, r, z);
  *slope = dot3(ns->g, d);
  *norm = sqrt(n2);
  *dnorm2 = -2.0 * dot3(r, z);
  return true;
}

/* The damping mu >= 0 whose step has S-norm radius (< the Newton step's): Newton on the
 * secular equation 1/|d(mu)| = 1/radius, which is concave in mu and converges monotonically
 * from mu = 0 (More & Sorensen 1983). The radius only needs to be met roughly. Returns inf
 * on failure. */
static double newton_mu_for_radius(const newton_sys *ns, double radius) {
  double mu = 0.0, d[3], slope, n, dn2;
  for (int it = 0; it < 50; it++) {
    if (!newton_step_mu(ns, mu, d, &slope, &n, &dn2) || !(dn2 < 0.0))
      return INFINITY;
    if (fabs(n - radius) <= 1e-3 * radius)
      break;
    /* phi(mu) = 1/n - 1/radius; phi'(mu) = -dn2 / (2 n^3). */
    mu -= (1.0 / n - 1.0 / radius) * 2.0 * n * n * n / -dn2;
    if (!(mu >= 0.0) || !isfinite(mu))
      return INFINITY;
  }
  return mu;
}

/* The gradient of F in phi = (p, log b, log a): g_phi = J g with J = d theta / d phi =
 * diag(1, -b/2, -a/2), g = E t(Y) - eta. */
static void phi_gradient(const gig_point *x, const double g[3], double gphi[3]) {
  gphi[0] = g[0];
  gphi[1] = -0.5 * x->b * g[1];
  gphi[2] = -0.5 * x->a * g[2];
}

/* The modified Newton Hessian in phi (section A.4): J Cov t(Y) J, positive definite, plus the
 * chain-rule term diag(0, g_phi[1], g_phi[2]) (d^2 theta_i / d phi_i^2 = theta_i) where it is
 * positive. Its negative part is dropped: it is what makes the exact H_phi indefinite away
 * from the solution, and it vanishes there with g, so Newton stays quadratic. */
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
    return dot3(g, v->d);
  phi_gradient(y, g, gp);
  return dot3(gp, v->d);
}

/* Armijo backtracking on F along the Levenberg-Marquardt curve of one system: the first trial
 * is the full Newton step (its S-norm capped at GIG_RADIUS_MAX), each later one halves the
 * S-norm by raising the damping mu. The metric S measures relative changes of a and b and
 * absolute changes of p, so damping shrinks the nearly flat directions first (where the
 * quadratic model means nothing, e.g. log a when a is 1e-10 of its scale) and the step tends
 * to the scaled gradient. Every trial must pass F(x + d) <= F(x) + c g.d. Gives up when the
 * Armijo margin falls below F's rounding noise: F values can then no longer decide. */
static bool search_f(const gig_point *x, const double eta[3], const newton_sys *ns, bool phi,
                     gig_point *y) {
  double full, slope, dn2, d0[3];
  if (!newton_step_mu(ns, 0.0, d0, &slope, &full, &dn2))
    return false;
  double radius = fmin(full, GIG_RADIUS_MAX), mu = 0.0;
  for (int h = 0; h < GIG_MAX_HALVINGS; h++, radius *= 0.5) {
    gig_dir v = {.phi = phi};
    double n;
    if (radius < full)
      mu = newton_mu_for_radius(ns, radius);
    if (!isfinite(mu) || !newton_step_mu(ns, mu, v.d, &v.slope, &n, &dn2))
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
 * better (section 3.3; the brief's "iterate to the rounding floor"). */
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
static bool newton_step(const gig_point *x, const double eta[3], const newton_sys ns[2],
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
    bool small = newton_step_mu(&ns[i], 0.0, v[i].d, &v[i].slope, &n, &dn2) &&
                 -v[i].slope <= GIG_SIMPSON_LAMBDA2_MAX;
    dir_truncate(x, &v[i]);
    ok[i] = small && search_simpson(x, eta, &v[i], &c[i], &ch[i]);
  }
  if (!ok[0] && !ok[1])
    return false;
  *y = c[(ok[0] && (!ok[1] || ch[0] <= ch[1])) ? 0 : 1];
  return true;
}

/* Newton on F(theta) = psi(theta) - theta.eta, the convex Bregman objective of section 3.3,
 * from the point x (p, a, b set), which it overwrites with the result (section A.4: descent
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
    newton_sys ns[2];
    phi_gradient(x, g, gp);
    phi_hessian(x, gp, H);
    double sc_theta[3] = {1.0, 0.5 * x->b, 0.5 * x->a}, sc_phi[3] = {1.0, 1.0, 1.0};
    int floored = 0;
    if (!newton_prepare(x->cov, g, sc_theta, &ns[0], &floored) ||
        !newton_prepare(H, gp, sc_phi, &ns[1], &floored))
      break;
    run->ridge += floored > 0;
    double d[3], lam2, n, dn2;
    if (!newton_step_mu(&ns[0], 0.0, d, &lam2, &n, &dn2))
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

/* Cold-start seeds on the rescaled eta (section 3.5): the Gamma fit to (E log Y, E Y) with a
 * small b added, the InverseGamma fit to (E log Y, E 1/Y) with a small a added, the
 * InverseGaussian fit to (E 1/Y, E Y), and p = 0 with the IG's omega. Infeasible seeds are
 * skipped. Returns the number of seeds written to s[][3] as (p, a, b). */
static int gig_seeds(const double eta[3], double s[GIG_MAX_SEEDS][3]) {
  int n = 0, iters;
  double alpha, resid;
  if (digamma_log_solve(eta[0] - log(eta[2]), &alpha, &iters, &resid) == DG_OK) {
    double a = 2.0 * alpha / eta[2];
    double seed[3] = {alpha, a, GIG_SEED_OMEGA * GIG_SEED_OMEGA / a};
    if (gig_feasible(seed[0], seed[1], seed[2]))
      memcpy(s[n++], seed, sizeof seed);
  }
  if (digamma_log_solve(-eta[0] - log(eta[1]), &alpha, &iters, &resid) == DG_OK) {
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

/* Validates eta for the kinds that use it; `used` flags the entries the kind reads. */
static nvmm_status check_eta(nvmm_sub_kind kind, const double eta[3], const bool used[3]) {
  static const char *names[3] = {"E log Y", "E 1/Y", "E Y"};
  NVMM_CHECK(!used[0] || isfinite(eta[0]), NVMM_EDOM, "%s from_eta: %s = %g must be finite",
             kind_name(kind), names[0], eta[0]);
  for (int i = 1; i < 3; i++)
    NVMM_CHECK(!used[i] || pos_finite(eta[i]), NVMM_EDOM,
               "%s from_eta: %s = %g must be positive and finite", kind_name(kind), names[i],
               eta[i]);
  /* Jensen: -log E 1/Y < E log Y < log E Y and E 1/Y E Y > 1 for any non-degenerate law. */
  NVMM_CHECK(!(used[0] && used[2]) || eta[0] < log(eta[2]), NVMM_EDOM,
             "%s from_eta: E log Y = %.17g >= log E Y = %.17g (Jensen; degenerate data)",
             kind_name(kind), eta[0], log(eta[2]));
  NVMM_CHECK(!(used[0] && used[1]) || eta[0] > -log(eta[1]), NVMM_EDOM,
             "%s from_eta: E log Y = %.17g <= -log E 1/Y = %.17g (Jensen; degenerate data)",
             kind_name(kind), eta[0], -log(eta[1]));
  NVMM_CHECK(!(used[1] && used[2]) || fma(eta[1], eta[2], -1.0) > 0.0, NVMM_EDOM,
             "%s from_eta: E 1/Y * E Y - 1 = %g <= 0 (Jensen requires > 0; degenerate data)",
             kind_name(kind), fma(eta[1], eta[2], -1.0));
  return NVMM_OK;
}

/* Gamma (VG) from (E log Y, E Y), section 3.2; alpha_min (section 4.5) raises alpha before
 * beta = alpha / E Y is formed. */
static nvmm_status gamma_from_eta(const double eta[3], double alpha_min, nvmm_sub *out,
                                  nvmm_sub_info *info) {
  static const bool used[3] = {true, false, true};
  NVMM_CALL(check_eta(NVMM_SUB_GAMMA, eta, used));
  double target = eta[0] - log(eta[2]), alpha, resid;
  NVMM_CALL(digamma_log_inverse_info(target, &alpha, &info->iterations, &resid));
  info->grad_norm = resid;
  alpha = fmax(alpha, alpha_min);
  double par[3] = {alpha, alpha / eta[2], 0.0};
  return nvmm_sub_make(NVMM_SUB_GAMMA, par, out);
}

/* InverseGamma (NInvG) from (E log Y, E 1/Y), section 3.2: beta = alpha / E 1/Y. */
static nvmm_status invgamma_from_eta(const double eta[3], nvmm_sub *out, nvmm_sub_info *info) {
  static const bool used[3] = {true, true, false};
  NVMM_CALL(check_eta(NVMM_SUB_INVGAMMA, eta, used));
  double target = -eta[0] - log(eta[1]), alpha, resid;
  NVMM_CALL(digamma_log_inverse_info(target, &alpha, &info->iterations, &resid));
  info->grad_norm = resid;
  double par[3] = {alpha, alpha / eta[1], 0.0};
  return nvmm_sub_make(NVMM_SUB_INVGAMMA, par, out);
}

/* InverseGaussian (NIG) in closed form, section 3.2 and pitfall 23: mu = E Y,
 * lambda = E Y / (E 1/Y E Y - 1); check_eta has rejected E 1/Y E Y <= 1. */
static nvmm_status invgauss_from_eta(const double eta[3], nvmm_sub *out) {
  static const bool used[3] = {false, true, true};
  NVMM_CALL(check_eta(NVMM_SUB_INVGAUSS, eta, used));
  double par[3] = {eta[2], eta[2] / fma(eta[1], eta[2], -1.0), 0.0};
  return nvmm_sub_make(NVMM_SUB_INVGAUSS, par, out);
}

/* The GIG family is not steep (numerics.md 1.4): E 1/Y stays finite as b -> 0 for p > 1 and
 * E Y as a -> 0 for p < -1, so eta beyond those limits has no GIG. Along the curve of fixed
 * (E log Y, E Y), E 1/Y increases with theta_2 = -b/2 <= 0 (its derivative there is a Schur
 * complement of Cov t(Y), positive), so the supremum is the Gamma fit's E 1/Y; likewise for E Y
 * and the InverseGamma fit. Writes the limit's name and value if eta lies beyond it (by more
 * than the acceptance threshold), which is then exactly the KKT condition for the minimizer of
 * F over the closed domain to sit on that boundary. */
static bool gig_beyond_limit(const double eta[3], const char **which, double *limit,
                             double par[3]) {
  int iters;
  double alpha, resid;
  if (digamma_log_solve(eta[0] - log(eta[2]), &alpha, &iters, &resid) == DG_OK && alpha > 1.0) {
    *limit = alpha / (eta[2] * (alpha - 1.0)); /* beta / (alpha - 1), beta = alpha / E Y */
    *which = "E 1/Y of the Gamma";
    if (eta[1] > *limit * (1.0 + GIG_ACCEPT_MISMATCH)) {
      /* The Gamma(alpha, beta) fit: GIG(alpha, 2 beta, b -> 0). */
      par[0] = alpha, par[1] = 2.0 * alpha / eta[2];
      par[2] = GIG_BOUNDARY_OMEGA * GIG_BOUNDARY_OMEGA / par[1];
      return true;
    }
  }
  if (digamma_log_solve(-eta[0] - log(eta[1]), &alpha, &iters, &resid) == DG_OK && alpha > 1.0) {
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

/* Returns the warm GIG with info->fallback = 1 (the counted fallback of section 3.6). */
static nvmm_status gig_fallback(const double eta[3], double wp, double wa, double wb, nvmm_sub *out,
                                nvmm_sub_info *info) {
  double wpar[3] = {wp, wa, wb}, weta[3];
  NVMM_CALL(nvmm_sub_make(NVMM_SUB_GIG, wpar, out));
  NVMM_CALL(gig_eta(wp, wa, wb, weta));
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

/* GIG (GH) from (E log Y, E 1/Y, E Y), sections 3.3-3.6 and A.4-A.5. An eta beyond the Gamma
 * or InverseGamma limit has no GIG: the limit's fit is returned at once (info->boundary). Otherwise
 * the problem is solved for sY with s = 2^k ~ sqrt(E 1/Y / E Y): a power of two, so scaling eta and
 * unscaling (a, b) are exact, while E 1/(sY) and E sY agree within a factor 2 (the preconditioning
 * of section 3.3). The warm start is tried first; the cold seeds run if there is no warm start or
 * the warm run fails. The accepted run with the lowest F wins; if none is accepted the warm GIG is
 * returned with info->fallback = 1, or NVMM_ENOCONV without one. */
static nvmm_status gig_from_eta(const double eta[3], const nvmm_sub *warm, nvmm_sub *out,
                                nvmm_sub_info *info) {
  static const bool used[3] = {true, true, true};
  NVMM_CALL(check_eta(NVMM_SUB_GIG, eta, used));
  double wp = 0.0, wa = 0.0, wb = 0.0;
  if (warm != NULL) {
    NVMM_CHECK(warm->kind == NVMM_SUB_GIG || warm->kind == NVMM_SUB_INVGAUSS, NVMM_EINVAL,
               "GIG from_eta: warm start must be a GIG or InverseGaussian, not %s",
               kind_name(warm->kind));
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
    NVMM_CALL(gig_eta(bpar[0], bpar[1], bpar[2], eta_b));
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

nvmm_status nvmm_sub_from_eta(nvmm_sub_kind kind, const double eta[3], const nvmm_sub *warm,
                              double alpha_min, nvmm_sub *out, nvmm_sub_info *info) {
  NVMM_CHECK(eta != NULL && out != NULL, NVMM_EINVAL, "sub_from_eta: eta or out is NULL");
  NVMM_CHECK(alpha_min >= 0.0 && isfinite(alpha_min), NVMM_EDOM,
             "sub_from_eta: alpha_min = %g must be finite and >= 0", alpha_min);
  nvmm_sub_info local;
  if (info == NULL)
    info = &local;
  memset(info, 0, sizeof *info);
  switch (kind) {
  case NVMM_SUB_DEGENERATE:
    /* Nothing to estimate: Y = 1 is fixed. */
    out->kind = NVMM_SUB_DEGENERATE;
    out->par[0] = out->par[1] = out->par[2] = 0.0;
    return NVMM_OK;
  case NVMM_SUB_GAMMA:
    return gamma_from_eta(eta, alpha_min, out, info);
  case NVMM_SUB_INVGAMMA:
    return invgamma_from_eta(eta, out, info);
  case NVMM_SUB_INVGAUSS:
    return invgauss_from_eta(eta, out);
  case NVMM_SUB_GIG:
    return gig_from_eta(eta, warm, out, info);
  }
  NVMM_ERROR(NVMM_EINVAL, "sub_from_eta: unknown subordinator kind %d", (int)kind);
}
