/* digamma.c: digamma(x), and the inverse of digamma(x) - log(x) that the Gamma and InverseGamma
 * fits and the GIG solve's seeds use: the Stirling series or GSL, Minka's start and safeguarded
 * Newton (src/numerics.md 5.3). */
#include "digamma.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_psi.h>

#include "nvmm/gig.h"

/* digamma(x) - log(x) comes from the Stirling series at and above this x. Its truncation error
 * after the B_16 term is below 3e-18 at x = 10; GSL's psi(x) - log(x) would instead lose
 * log10(log(x)/|g(x)|) digits to cancellation (1e-11 relative at x = 1e4, src/numerics.md 5.3). */
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
 * (normix's bug, src/numerics.md 12.5, left residuals of 1e4 and more). */
#define DIGAMMA_RESID_TOL 1e-12

/* Stirling-series coefficients B_2k / (2k), k = 1..8 (A&S 6.3.18). */
static const double stirling_c[8] = {1.0 / 12.0,  -1.0 / 120.0,     1.0 / 252.0, -1.0 / 240.0,
                                     1.0 / 132.0, -691.0 / 32760.0, 1.0 / 12.0,  -3617.0 / 8160.0};

bool nvmm__digamma_minus_log(double x, double *g) {
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

/* Solves digamma(alpha) - log(alpha) = target by safeguarded Newton from Minka's start
 * (src/numerics.md 5.3). The function is increasing and concave, so after the first step the
 * iterates approach the root from the left; the halving only guards alpha > 0. */
nvmm__dg_result nvmm__digamma_log_solve(double target, double *alpha, int *iters, double *resid) {
  double s = -target;
  *iters = 0;
  *resid = INFINITY;
  if (!(s >= DIGAMMA_S_MIN && s <= DIGAMMA_S_MAX))
    return NVMM__DG_RANGE;
  double x = minka_start(s), prev = INFINITY;
  for (int it = 0; it < DIGAMMA_MAX_ITER; it++) {
    double g, dg;
    if (!nvmm__digamma_minus_log(x, &g) || !trigamma_minus_inv(x, &dg) || !(dg > 0.0))
      return NVMM__DG_NOCONV;
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
  if (!nvmm__digamma_minus_log(x, &g))
    return NVMM__DG_NOCONV;
  *resid = fabs(g - target) / fabs(target);
  *alpha = x;
  return *resid <= DIGAMMA_RESID_TOL ? NVMM__DG_OK : NVMM__DG_NOCONV;
}

/* The digamma solve with its failures reported; iters and resid describe the solve. */
nvmm_status nvmm__digamma_log_inverse_info(double target, double *alpha, int *iters,
                                           double *resid) {
  NVMM_CHECK(isfinite(target) && target < 0.0, NVMM_EDOM,
             "digamma_log_inverse: target = %g must be finite and < 0 (target >= 0 means "
             "degenerate data: E log Y = log E Y)",
             target);
  nvmm__dg_result r = nvmm__digamma_log_solve(target, alpha, iters, resid);
  NVMM_CHECK(r != NVMM__DG_RANGE, NVMM_EDOM,
             "digamma_log_inverse: target = %g puts the shape outside [1e-100, 5e99] "
             "(degenerate data)",
             target);
  NVMM_CHECK(r == NVMM__DG_OK, NVMM_ENOCONV,
             "digamma_log_inverse: Newton failed for target = %.17g (relative residual %g)", target,
             *resid);
  return NVMM_OK;
}

nvmm_status nvmm_digamma_log_inverse(double target, double *alpha) {
  NVMM_CHECK(alpha != NULL, NVMM_EINVAL, "digamma_log_inverse: alpha is NULL");
  int iters;
  double resid;
  return nvmm__digamma_log_inverse_info(target, alpha, &iters, &resid);
}

double nvmm__digamma(double x) {
  gsl_sf_result r;
  return gsl_sf_psi_e(x, &r) == GSL_SUCCESS ? r.val : NAN;
}
