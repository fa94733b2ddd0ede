/* gig_fixp.c: the GIG inverse map (E 1/Y, E Y) -> (a, b) with the order p fixed, by a root of the
 * one-dimensional moment-product equation in log omega (Brent's method; src/numerics.md 5.11). */
#include "gig_fixp.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "family.h"
#include "gig_impl.h"
#include "nvmm/bessel.h"

/* Range of omega = sqrt(ab) searched. Above: R(omega) - 1 ~ 1/omega, so 1e8 resolves
 * E Y E 1/Y - 1 down to 1e-8, where its rounding (2 eps) is already 1e-8 relative; the Bessel
 * ratios stay within a few ulps there (checked against the large-z expansion up to 1e9), though
 * the 3-parameter solve (gig_solve.c) stops at 1e5 because it needs more than the ratios. Below:
 * b ~ omega^2 E Y / (2p) must stay a normal double, and a root under 1e-100 needs E Y E 1/Y
 * within rounding of the Gamma/InverseGamma limit (|p| >= 3/2; 1 < |p| < 3/2 may clamp there,
 * counted) or, for |p| <= 1, moments whose product exceeds R(1e-100) > 460. */
#define FIXP_OMEGA_MIN 1e-100
#define FIXP_OMEGA_MAX 1e8
/* sqrt(ab) of the GIG that stands for the Gamma or InverseGamma limit (as gig_solve.c). */
#define FIXP_BOUNDARY_OMEGA 1e-8
/* Brent's absolute tolerance in u = log omega (its own 2 eps |u| adds to it): omega to ~1e-14
 * relative, below the resolution the moments give it anywhere in the range. */
#define FIXP_U_TOL 2e-14
/* Brent's iteration cap. Whole solves have taken at most 16 evaluations of R (the test grid) and
 * 13 in 2e5 random ones (|p| <= 20, T - 1 in [1e-9, 1e3]); the cap only stops a pathological
 * run, counted. */
#define FIXP_MAX_ITER 300

/* Steps of the outward search for a bracket: each at least doubles the last, so 64 cover the
 * range (~250 in log omega) from a first step as small as g's rounding level (~1e-15). */
#define FIXP_MAX_STEPS 64

typedef struct fixp_point {
  double u, g, rp, rm;
  double noise; /* rounding level of g */
} fixp_point;

/* One evaluation at u = log omega: the residual g = log(R(omega) - 1) - log(T - 1) and the ratios
 * K_{p+1}/K_p, K_{p-1}/K_p that give the scale. g decreases strictly: a root of R = T with its
 * scale matches both moments, so it is the unique maximizer of the strictly concave M-step
 * objective; R takes each value at most once and, being continuous, is monotone. R - 1 rather
 * than R: R - 1 = 1/(omega + h) with -0.05 <= h <= max(0.16, |p| - 1) (measured, |p| <= 128.5),
 * so g is nearly linear in u at large omega, and for |p| <= 1 at small omega
 * (R - 1 ~ omega^(2|p| - 2)); the fused R - 1 keeps its rounding at eps where R ~ 1, not eps R.
 * In [1e-100, 1e8], R - 1 lies between ~1e-8 and ~1e200: no overflow or zero. */
static nvmm_status fixp_eval(double p, double u, double log_tm1, fixp_point *x) {
  nvmm_bessel_k k;
  NVMM_CALL(nvmm_bessel_k_eval(p, exp(u), &k));
  x->u = u, x->rp = k.rp, x->rm = k.rm;
  double r = k.rp * k.rm, lr1 = log(fma(k.rp, k.rm, -1.0));
  x->g = lr1 - log_tm1;
  /* The ratios' few ulps make R - 1 uncertain by ~8 eps R; the logs round once each. */
  x->noise = DBL_EPSILON * (8.0 * r / (r - 1.0) + fabs(lr1) + fabs(log_tm1));
  return NVMM_OK;
}

/* Checks that a and b are doubles, and sets grad_norm: the max relative moment mismatch of
 * GIG(p, a, b), s = sqrt(b/a), whose ratios are rp, rm. */
static nvmm_status fixp_check(double p, double e_inv, double e_y, double s, double rp, double rm,
                              const double *a, const double *b, nvmm_sub_info *info) {
  NVMM_CHECK(nvmm__pos_finite(*a) && nvmm__pos_finite(*b), NVMM_EDOM,
             "GIG fixed-p from_eta: p = %g, E 1/Y = %g, E Y = %g give a = %g, b = %g outside the "
             "double range",
             p, e_inv, e_y, *a, *b);
  info->grad_norm = fmax(fabs(s * rp / e_y - 1.0), fabs(rm / (s * e_inv) - 1.0));
  return NVMM_OK;
}

/* (a, b) from omega and the ratios there: s = sqrt(b/a) is the geometric mean of the two scales
 * that match E Y (s = e_y / rp) and E 1/Y (s = rm / e_inv), which agree at a root and otherwise
 * split the remaining mismatch evenly. Each square root is taken alone so that the product
 * cannot overflow. */
static nvmm_status fixp_finish(double p, double e_inv, double e_y, double omega, double rp,
                               double rm, double *a, double *b, nvmm_sub_info *info) {
  double s = sqrt(e_y / e_inv) * sqrt(rm / rp);
  *a = omega / s, *b = omega * s;
  return fixp_check(p, e_inv, e_y, s, rp, rm, a, b, info);
}

/* Brent's method (R. P. Brent, Algorithms for Minimization without Derivatives, 1973, ch. 4) on
 * g(u) over a bracket with g(lo) > 0 > g(hi); *x ends at the best point. The root is unique:
 * each root with its scale is a stationary point of the strictly concave M-step objective.
 * Running out of iterations (never seen) keeps the best point and is counted as a fallback. */
static nvmm_status fixp_brent(double p, double log_tm1, fixp_point lo, fixp_point hi, fixp_point *x,
                              nvmm_sub_info *info) {
  fixp_point a = lo, b = hi, c = lo;
  double d = b.u - a.u, e = d;
  int it = 0;
  for (; it < FIXP_MAX_ITER; it++) {
    if ((b.g > 0.0) == (c.g > 0.0))
      c = a, d = e = b.u - a.u;
    if (fabs(c.g) < fabs(b.g))
      a = b, b = c, c = a;
    double tol = 2.0 * DBL_EPSILON * fabs(b.u) + 0.5 * FIXP_U_TOL, xm = 0.5 * (c.u - b.u);
    /* Below g's rounding level its sign says nothing: the remaining steps would be bisections
     * of a bracket that u's conditioning already fills (omega beyond ~1e4, |p| > 1 near the
     * limit). */
    if (fabs(xm) <= tol || fabs(b.g) <= b.noise)
      break;
    if (fabs(e) >= tol && fabs(a.g) > fabs(b.g)) {
      /* Secant (a == c) or inverse quadratic interpolation, kept if it stays well inside. */
      double s = b.g / a.g, num, den;
      if (a.u == c.u) {
        num = 2.0 * xm * s, den = 1.0 - s;
      } else {
        double q = a.g / c.g, r = b.g / c.g;
        num = s * (2.0 * xm * q * (q - r) - (b.u - a.u) * (r - 1.0));
        den = (q - 1.0) * (r - 1.0) * (s - 1.0);
      }
      if (num > 0.0)
        den = -den;
      num = fabs(num);
      if (2.0 * num < fmin(3.0 * xm * den - fabs(tol * den), fabs(e * den)))
        e = d, d = num / den;
      else
        d = e = xm;
    } else {
      d = e = xm;
    }
    a = b;
    NVMM_CALL(fixp_eval(p, b.u + (fabs(d) > tol ? d : copysign(tol, xm)), log_tm1, &b));
    info->iterations++;
  }
  if (it == FIXP_MAX_ITER)
    info->fallback = 1;
  *x = b;
  return NVMM_OK;
}

/* A bracket lo < hi with g(lo) > 0 > g(hi), searched outward from u0 = -log(T - 1) (the root for
 * |p| = 1/2, log(1 + h / omega) from it otherwise): the first step is 1.1 g(u0) toward the root
 * (the Newton step for slope -1, g's slope at large omega, with a margin to pass the root), the
 * later ones 1.5 times the secant's estimate of the remaining distance and at least twice the
 * last step, clipped to the omega range. Returns 0 with the bracket, or -1 / +1 with *lo / *hi
 * at the end of the range when the root lies beyond it, or 0 with lo = hi at a root to
 * rounding. A search that runs out of steps (never seen) is counted as a fallback. */
static nvmm_status fixp_bracket(double p, double log_tm1, fixp_point *lo, fixp_point *hi,
                                int *where, nvmm_sub_info *info) {
  const double umin = log(FIXP_OMEGA_MIN), umax = log(FIXP_OMEGA_MAX);
  fixp_point x, y;
  NVMM_CALL(fixp_eval(p, fmin(fmax(-log_tm1, umin), umax), log_tm1, &x));
  info->iterations++;
  double step = 1.1 * x.g;
  *where = 0;
  for (int k = 0; k < FIXP_MAX_STEPS && fabs(x.g) > x.noise; k++) {
    double end = x.g > 0.0 ? umax : umin;
    if (x.u == end) {
      *where = x.g > 0.0 ? 1 : -1;
      break;
    }
    double u = x.g > 0.0 ? fmin(x.u + step, umax) : fmax(x.u + step, umin);
    NVMM_CALL(fixp_eval(p, u, log_tm1, &y));
    info->iterations++;
    if ((y.g > 0.0) != (x.g > 0.0) || y.g == 0.0) {
      *lo = x.g > 0.0 ? x : y, *hi = x.g > 0.0 ? y : x;
      return NVMM_OK;
    }
    /* Same sign: the secant through x and y extrapolates to the root (g decreases). */
    double sec = y.g < x.g || y.g > x.g ? -y.g * (y.u - x.u) / (y.g - x.g) : 0.0;
    step = copysign(fmax(1.5 * fabs(sec), 2.0 * fabs(step)), step);
    x = y;
  }
  if (*where == 0 && fabs(x.g) > x.noise)
    info->fallback = 1;
  *lo = *hi = x;
  return NVMM_OK;
}

nvmm_status nvmm__gig_fixp_from_eta(double p, double e_inv, double e_y, double *a, double *b,
                                    nvmm_sub_info *info) {
  NVMM_CHECK(a != NULL && b != NULL, NVMM_EINVAL, "GIG fixed-p from_eta: a or b is NULL");
  NVMM_CHECK(isfinite(p), NVMM_EDOM, "GIG fixed-p from_eta: p = %g must be finite", p);
  NVMM_CHECK(nvmm__pos_finite(e_inv) && nvmm__pos_finite(e_y), NVMM_EDOM,
             "GIG fixed-p from_eta: E 1/Y = %g and E Y = %g must be positive and finite", e_inv,
             e_y);
  nvmm_sub_info local;
  if (info == NULL)
    info = &local;
  memset(info, 0, sizeof *info);
  /* T - 1 with one rounding: near omega = 1e8 it is ~1e-8, and forming T first would cost it
   * 1e-8 relative. T beyond DBL_MAX: its log from the factors. */
  double tm1 = fma(e_y, e_inv, -1.0), ap = fabs(p);
  double log_tm1 = isfinite(tm1) ? log(tm1) : log(e_y) + log(e_inv);
  fixp_point lo, hi, x;
  if (ap > 1.0 && tm1 >= 1.0 / (ap - 1.0)) {
    /* T >= |p| / (|p| - 1), the omega -> 0 limit of R: no interior root, and the objective's
     * derivative toward the interior is negative at the limit law (its E 1/Y, resp. E Y, is below
     * the target), so the maximizer over the closed domain is the Gamma fit a = 2p / e_y (b -> 0)
     * for p > 1, the InverseGamma fit b = -2p / e_inv (a -> 0) for p < -1, stood for by a GIG with
     * sqrt(ab) = 1e-8 whose moments differ from the limit's by O(omega^(2 min(1, |p| - 1))). */
    double w = FIXP_BOUNDARY_OMEGA;
    nvmm_bessel_k k;
    NVMM_CALL(nvmm_bessel_k_eval(p, w, &k));
    *a = p > 0.0 ? 2.0 * p / e_y : w * w * e_inv / (-2.0 * p);
    *b = p > 0.0 ? w * w * e_y / (2.0 * p) : -2.0 * p / e_inv;
    info->boundary = info->fallback = 1;
    return fixp_check(p, e_inv, e_y, sqrt(*b) / sqrt(*a), k.rp, k.rm, a, b, info);
  }
  if (!(tm1 > 0.0)) {
    /* T <= 1: impossible by Jensen (rounding of near-degenerate moments), R - 1 > 0 everywhere;
     * the largest omega matches best. */
    NVMM_CALL(fixp_eval(p, log(FIXP_OMEGA_MAX), 0.0, &x));
    info->iterations++;
    info->fallback = 1;
    return fixp_finish(p, e_inv, e_y, FIXP_OMEGA_MAX, x.rp, x.rm, a, b, info);
  }
  int where;
  NVMM_CALL(fixp_bracket(p, log_tm1, &lo, &hi, &where, info));
  if (where != 0) {
    /* The root lies beyond the omega range (T - 1 < R(1e8) - 1 ~ 1e-8, or T above R(1e-100)
     * below the limit): the range's end, counted. */
    info->fallback = 1;
    x = where > 0 ? hi : lo;
    double w = where > 0 ? FIXP_OMEGA_MAX : FIXP_OMEGA_MIN; /* exactly, not exp(log(w)) */
    return fixp_finish(p, e_inv, e_y, w, x.rp, x.rm, a, b, info);
  }
  if (lo.u == hi.u)
    x = lo;
  else
    NVMM_CALL(fixp_brent(p, log_tm1, lo, hi, &x, info));
  return fixp_finish(p, e_inv, e_y, exp(x.u), x.rp, x.rm, a, b, info);
}

/* The hyperbolic family's inverse map: p is the warm start's, which the start set to (d + 1) / 2
 * (family.c) and every update keeps; E log Y is not used (src/numerics.md 5.11). */
nvmm_status nvmm__hyp_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                               nvmm_sub *out, nvmm_sub_info *info) {
  (void)alpha_min;
  NVMM_CHECK(warm != NULL && warm->kind == NVMM_SUB_GIG, NVMM_EINVAL,
             "hyperbolic from_eta: needs the current GIG as warm start (it holds the fixed p)");
  double p = warm->par[0], a, b;
  NVMM_CALL(nvmm__gig_fixp_from_eta(p, eta[1], eta[2], &a, &b, info));
  return nvmm_sub_make(NVMM_SUB_GIG, (double[3]){p, a, b}, out);
}
