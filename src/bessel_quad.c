/* bessel_quad.c: d/dnu log K_nu(z) and d^2/dnu^2 log K_nu(z) by the trapezoid rule on the
 * integral representation K_nu(z) = (1/2) int_{-inf}^{inf} exp(nu t - z cosh t) dt (DLMF 10.32.9).
 *
 * With the weight w(t) = exp(a t - z cosh t), a = |nu|, the order derivatives are moments:
 * d/da log K_a = E_w[t] and d^2/da^2 log K_a = Var_w[t]. w is entire and decays
 * double-exponentially, so the trapezoid rule on the whole line converges geometrically in 1/h
 * (Trefethen and Weideman, SIAM Rev. 56 (2014) 385, thm 5.1). The grid is anchored at t = 0 and
 * folded onto t >= 0 (nodes t and -t together), and only the nodes within a fixed log-distance
 * of the peak of w are visited.
 *
 * bessel.c (nvmm_bessel_dnu) uses it for d^2/dnu^2 and, at orders above 1000, for d/dnu; below
 * that d/dnu comes from bessel.c's order recurrence, which is about 20 times faster. */
#include "nvmm/bessel.h"

#include <math.h>

#include "bessel_impl.h"

/* Discretization target: the trapezoid error relative to the integral is below
 * 2 exp(-QUAD_LOG_EPS) = 8.5e-18 (see quad_step), under the rounding of the sums themselves. */
#define QUAD_LOG_EPS 40.0

/* Cap on the half-width d of the strip |Im t| < d used in the error bound. The bound costs
 * s log(sec d) (see quad_step); at d = 1.4, sec d = 5.9 and the cost is still small for s of
 * order 1, while d -> pi/2 would gain at most 12 % in step size at small s. */
#define QUAD_STRIP_MAX 1.4

/* Nodes whose log-weight is more than QUAD_LOG_CUT below the peak are dropped. exp(-46) = 1e-20;
 * the log-weight is concave, so the dropped tail is a geometric-or-faster series whose sum, even
 * times the (t - c)^2 factor of the second moment and the longest tails (hundreds of nodes at
 * z = 1e-300), stays below 1e-17 of the peak node's weight. */
#define QUAD_LOG_CUT 46.0

/* Running moment sums: S0 = sum w, B = sum t w, S2 = sum (t - c)^2 w, over the unfolded grid. */
typedef struct {
  double s0; /* sum of weights */
  double b;  /* sum of t times weight (first moment) */
  double s2; /* sum of (t - c)^2 times weight (second moment about c) */
} quad_sums;

/* Parameters of one quadrature: the peak t* of w and the centre c = t* of the second moment. */
typedef struct {
  double a;    /* order |nu| */
  double z;    /* argument */
  double tpk;  /* t* = asinh(a/z), where w peaks */
  double s_mz; /* sqrt(a^2 + z^2) - z, without cancellation */
  double h;    /* step */
} quad_par;

/* Step h from the strip bound. On x + i y, |w| = exp(a x - z cos(y) cosh x), whose integral is
 * 2 K_a(z cos y). Since -d/dz log K_a(z) = K_{a+1}/K_a - a/z < s/z with
 * s = 1/2 + sqrt((a + 1/2)^2 + z^2) (Segura's bound on K_{a+1}/K_a, J. Math. Anal. Appl. 374
 * (2011) 516), the strip integral exceeds the real one by at most exp(s log sec d), and the
 * trapezoid error 2 M/(exp(2 pi d/h) - 1) (Trefethen and Weideman, thm 5.1) is below
 * 2 exp(-2 pi d/h + s log sec d) relative to K_a(z); solving for the target E gives
 * h = 2 pi d/(E + s log sec d). For small d, s log sec d ~ s d^2/2 and h is largest at
 * d = sqrt(2E/s): h ~ 0.7/sqrt(s), the peak width (a^2 + z^2)^(-1/4) times a constant, so the
 * node count stays flat as z -> 1e5. The factors t and (t - c)^2 of the moments change the
 * bound by modest factors only (checked against the mpmath table: d1 good to 1e-14). */
static double quad_step(double a, double z) {
  const double s = 0.5 + hypot(a + 0.5, z);
  const double d = fmin(sqrt(2.0 * QUAD_LOG_EPS / s), QUAD_STRIP_MAX);
  return 2.0 * M_PI * d / (QUAD_LOG_EPS - s * log(cos(d)));
}

/* Adds the folded node t = k h (the pair t, -t; t = 0 once) and returns its log-weight relative
 * to the peak. log w(t) - log w(t*) = a (t - t*) - 2 z sinh^2(t/2) + (sqrt(a^2+z^2) - z): the
 * constant z cancels exactly and z (cosh t - 1) = 2 z sinh^2(t/2) has no cancellation, so the
 * exponent stays accurate at z = 1e5 where z cosh t itself is huge. The mirrored node has
 * weight w(-t) = w(t) e^{-2 a t}; w(t) - w(-t) uses expm1 so small a t does not cancel. */
static double quad_node(const quad_par *qp, double k, quad_sums *acc) {
  const double t = k * qp->h;
  const double em = expm1(0.5 * t);
  /* sinh(t/2), finite while em is; z sh 2 sh is grouped so that no factor overflows first. */
  const double sh = 0.5 * (em + em / (1.0 + em));
  const double lw = qp->a * (t - qp->tpk) - (qp->z * sh) * (2.0 * sh) + qp->s_mz;
  const double wp = exp(lw);
  const double c = qp->tpk;
  if (k == 0.0) {
    acc->s0 += wp;
    acc->s2 += c * c * wp;
    return lw;
  }
  /* w(-t)/w(t) - 1; once w(-t) <= exp(-2 a t) is below the cut, the mirror node is dropped. */
  const double x = 2.0 * qp->a * t > QUAD_LOG_CUT ? -1.0 : expm1(-2.0 * qp->a * t);
  const double wm = wp * (1.0 + x);
  acc->s0 += wp + wm;
  acc->b += t * (-wp * x);
  acc->s2 += (t - c) * (t - c) * wp + (t + c) * (t + c) * wm;
  return lw;
}

/* d/da log K_a(z) and d^2/da^2 log K_a(z) for a >= 0. The walk starts at the grid node nearest
 * t* and goes outwards; log w is concave (its second derivative is -z cosh t), so each side
 * stops for good at the first node below the cut. Cost: the nodes within the cut, about
 * (width of the region where log w > -46) / h, at about 20 ns each: 15-70 nodes for z in
 * [1e-3, 1e4] (median 25), flat as z grows, and at worst about 3200 (65 us) for a ~ 0 at
 * z = 1e-300, where w is flat over |t| < log(2/z) = 691. */
static void dnu_positive_order(double a, double z, double *d1, double *d2) {
  quad_par qp = {.a = a, .z = z, .h = quad_step(a, z)};
  /* asinh(a/z) without overflowing a/z at tiny z. */
  qp.tpk = a <= z ? asinh(a / z) : log(a) - log(z) + log1p(sqrt(1.0 + (z / a) * (z / a)));
  const double hyp = hypot(a, z);
  qp.s_mz = a * a / (hyp + z);
  quad_sums acc = {0.0, 0.0, 0.0};
  const double k0 = round(qp.tpk / qp.h);
  for (double k = k0; quad_node(&qp, k, &acc) >= -QUAD_LOG_CUT; k += 1.0) {
  }
  for (double k = k0 - 1.0; k >= 0.0 && quad_node(&qp, k, &acc) >= -QUAD_LOG_CUT; k -= 1.0) {
  }
  const double mean = acc.b / acc.s0;
  const double m1 = mean - qp.tpk; /* mean about the centre c = t* */
  *d1 = mean;
  *d2 = acc.s2 / acc.s0 - m1 * m1;
}

void nvmm__bessel_dnu_quad(double a, double z, double *d1, double *d2) {
  dnu_positive_order(a, z, d1, d2);
}
