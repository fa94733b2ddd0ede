/* sample.c: seeded random streams (xoshiro256** as a GSL generator type) and exact samplers for
 * the subordinators (Gamma, InverseGamma, InverseGaussian, GIG) and the mixtures built on them.
 * See src/numerics.md 9 and 12.24. */
#include "nvmm/sample.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "family.h"
#include "nvmm/factor.h"
#include "nvmm/gig.h"

/* ---- Random streams ----------------------------------------------------------------------
 * GSL's own generators take an unsigned long seed and most of them reduce it to 32 bits, so a
 * job with ~1e5 (seed, stream) pairs would see birthday collisions among its streams. Instead
 * we register xoshiro256** (Blackman and Vigna, "Scrambled linear pseudorandom number
 * generators", ACM TOMS 47(4), 2021) as a user-defined gsl_rng_type and fill its 256-bit state
 * from the 128-bit (seed, stream) with splitmix64 (Steele, Lea and Flood, OOPSLA 2014). */

typedef struct xoshiro_state {
  uint64_t s[4]; /* xoshiro256** state; never all zero (see xoshiro_seed) */
} xoshiro_state;

/* Golden-ratio increment of splitmix64 (the published constant). */
#define SPLITMIX_GAMMA UINT64_C(0x9e3779b97f4a7c15)
/* Offsets the stream chain from the seed chain so that (seed = k, stream = k) does not give
 * words 0 and 2 the same value; any nonzero constant would do (these are the first fractional
 * bits of sqrt(2)). */
#define STREAM_KEY UINT64_C(0x6a09e667f3bcc908)

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += SPLITMIX_GAMMA);
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t xoshiro_next(xoshiro_state *st) {
  uint64_t *s = st->s;
  const uint64_t result = rotl64(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl64(s[3], 45);
  return result;
}

/* Words 0 and 2 are splitmix64 outputs of the seed and of the stream alone; the splitmix64
 * output function is a bijection of its input, so the map (seed, stream) -> state is injective
 * and two distinct pairs never share a state. xoshiro256**'s first output reads only word 1,
 * so words 1 and 3 come from a third chain keyed by both halves: otherwise every stream of one
 * seed would start with the same number. Words 1 and 3 are two consecutive outputs of one
 * chain, hence distinct, so the state is never the forbidden all-zero state. */
static void xoshiro_seed(xoshiro_state *st, uint64_t seed, uint64_t stream) {
  uint64_t xs = seed, xt = stream ^ STREAM_KEY;
  st->s[0] = splitmix64(&xs);
  st->s[2] = splitmix64(&xt);
  uint64_t xm = st->s[0] ^ rotl64(st->s[2], 32);
  st->s[1] = splitmix64(&xm);
  st->s[3] = splitmix64(&xm);
}

/* gsl_rng_set(rng, s) behaves as stream 0 of seed s. */
static void xoshiro_set(void *state, unsigned long int seed) {
  xoshiro_seed(state, (uint64_t)seed, 0);
}

/* GSL's integer interface is 32 bits wide here (max below): the upper half of the output. */
static unsigned long int xoshiro_get(void *state) {
  return (unsigned long int)(xoshiro_next(state) >> 32);
}

/* The top 53 bits, scaled to [0, 1): every double of the form k 2^-53 is equally likely. */
static double xoshiro_get_double(void *state) {
  return (double)(xoshiro_next(state) >> 11) * 0x1.0p-53;
}

static const gsl_rng_type xoshiro_type = {.name = "nvmm_xoshiro256starstar",
                                          .max = 0xffffffffUL,
                                          .min = 0,
                                          .size = sizeof(xoshiro_state),
                                          .set = &xoshiro_set,
                                          .get = &xoshiro_get,
                                          .get_double = &xoshiro_get_double};

nvmm_status nvmm_rng_stream(uint64_t seed, uint64_t stream, gsl_rng **out) {
  NVMM_CHECK(out != NULL, NVMM_EINVAL, "nvmm_rng_stream: out is NULL");
  *out = NULL;
  gsl_rng *r = gsl_rng_alloc(&xoshiro_type);
  NVMM_CHECK(r != NULL, NVMM_ENOMEM, "nvmm_rng_stream: gsl_rng_alloc failed");
  xoshiro_seed(r->state, seed, stream);
  *out = r;
  return NVMM_OK;
}

void nvmm_rng_reseed(gsl_rng *rng, uint64_t seed, uint64_t stream) {
  if (rng == NULL)
    return;
  if (rng->type == &xoshiro_type) {
    xoshiro_seed(rng->state, seed, stream);
    return;
  }
  /* A foreign generator only takes an unsigned long: hash the pair into one (collisions are
   * then possible, which is why nvmm_rng_stream never hands one out). */
  uint64_t x = seed ^ rotl64(stream ^ STREAM_KEY, 32);
  gsl_rng_set(rng, (unsigned long int)splitmix64(&x));
}

/* ---- GIG: Devroye (2014) ------------------------------------------------------------------
 * L. Devroye, "Random variate generation for the generalized inverse Gaussian distribution",
 * Statistics and Computing 24 (2014) 239-246. With omega = sqrt(ab), Y = sqrt(b/a) V and
 * V ~ GIG(p, omega, omega); V ~ GIG(p) iff 1/V ~ GIG(-p), so we draw with q = |p| >= 0 and
 * invert for p < 0, which keeps the mode formula free of cancellation. W = log V has the
 * log-concave log-density g(w) = q w - omega cosh w with mode w0 = asinh(q/omega). Writing
 * w = w0 + x and using q = omega sinh w0,
 *   g(w0) - g(w0 + x) = h(x) = alpha (cosh x - 1) + q (e^x - 1 - x),
 *   alpha = omega e^{-w0} = omega^2 / (q + sqrt(q^2 + omega^2)),
 * a sum of two non-negative terms, so h is evaluated without cancellation however large q and
 * omega are (Devroye works with the same psi = -h, with lambda for q). The hat of exp(-h) is exp
 * of: 0 on [-s', t'], the tangent of -h at t > 0 right of t' and the tangent at -s < 0 left of -s'.
 * Since -h is concave, each tangent line and the constant 0 lie above -h everywhere, so the method
 * is exact for any t, s > 0. Placing the tangents where h(t) = h(-s) = 1, as Devroye does, keeps
 * the expected number of proposals bounded uniformly in (p, omega); the measured acceptance rate is
 * at least 0.84 over a grid of |p| <= 1e10 and omega in [1e-300, 1e300]. */

/* Below |x| = 1/2, e^x - 1 - x is summed from its Taylor series: expm1(x) - x would lose
 * log2(1/|x|) + 1 bits to cancellation. The first omitted term, x^17/17!, is below 2e-19 of the
 * sum x^2/2 at |x| = 1/2. */
#define EM1MX_SERIES_MAX 0.5
#define EM1MX_LAST_ORDER 16

/* Newton's iteration for the tangent points stops at this relative step. The tangent points
 * only set the acceptance rate (any t, s > 0 give an exact sampler), so 1e-10 is ample. */
#define TANGENT_RTOL 1e-10
/* Newton from above on a convex increasing function converges monotonically; from our starting
 * bounds it took at most 13 steps over |p| <= 1e10, omega in [1e-300, 1e300]. 200 only guards
 * against a bug. */
#define TANGENT_MAX_ITER 200
/* A proposal is accepted with probability 0.84 or more in every setting measured (see above);
 * even at 1/2, 1000 successive rejections have probability 1e-301. Reaching this count means
 * the hat is broken (a bug) and is reported as NVMM_ESANITY, never by returning an unaccepted
 * proposal (src/numerics.md 12.24). */
#define GIG_MAX_PROPOSALS 1000

typedef struct gig_hat {
  double q;         /* |p| */
  double alpha;     /* omega e^{-w0}; 0 when it underflows (then log_alpha is used) */
  double log_alpha; /* log alpha, finite even when alpha underflows */
  int alpha_tiny;   /* alpha < DBL_MIN: the alpha term is computed through log_alpha */
  double base;      /* log y = base + sign x: base = log sqrt(b/a) + sign w0 */
  double sign;      /* +1 for p >= 0, -1 for p < 0 (Y = sqrt(b/a) / V') */
  double t_flat;    /* t': right end of the flat part of the hat, >= 0 */
  double s_flat;    /* s': the flat part starts at -s', s' >= 0 */
  double zeta;      /* h'(t) > 0: decay rate of the right tail of the hat */
  double xi;        /* -h'(-s) > 0: decay rate of the left tail of the hat */
  double area_mid;  /* t' + s' */
  double area_mr;   /* area_mid + 1/zeta */
  double area_all;  /* area_mr + 1/xi */
} gig_hat;

/* 1/k! for k = 2..16, the Taylor coefficients of e^x - 1 - x. */
static const double em1mx_coef[EM1MX_LAST_ORDER - 1] = {1.0 / 2,
                                                        1.0 / 6,
                                                        1.0 / 24,
                                                        1.0 / 120,
                                                        1.0 / 720,
                                                        1.0 / 5040,
                                                        1.0 / 40320,
                                                        1.0 / 362880,
                                                        1.0 / 3628800,
                                                        1.0 / 39916800,
                                                        1.0 / 479001600,
                                                        1.0 / 6227020800,
                                                        1.0 / 87178291200,
                                                        1.0 / 1307674368000,
                                                        1.0 / 20922789888000};

/* e^x - 1 - x >= 0 with full relative accuracy. */
static double em1mx(double x) {
  if (fabs(x) < EM1MX_SERIES_MAX) {
    double sum = 0.0;
    for (int k = EM1MX_LAST_ORDER - 2; k >= 0; k--)
      sum = em1mx_coef[k] + x * sum;
    return x * x * sum;
  }
  return expm1(x) - x;
}

/* log sinh(u) for u > 0 without overflow: sinh u = e^u (1 - e^{-2u}) / 2. */
static double log_sinh(double u) {
  return u > 1.0 ? u - M_LN2 + log1p(-exp(-2.0 * u)) : log(sinh(u));
}

/* alpha (cosh x - 1) = 2 alpha sinh^2(x/2). */
static double gig_alpha_term(const gig_hat *g, double x) {
  if (!g->alpha_tiny) {
    const double sh = sinh(0.5 * x);
    return 2.0 * g->alpha * sh * sh;
  }
  if (x == 0.0)
    return 0.0;
  return exp(g->log_alpha + M_LN2 + 2.0 * log_sinh(0.5 * fabs(x)));
}

/* h(x) = g(w0) - g(w0 + x) >= 0; +inf far in the tails (where the density is 0). */
static double gig_h(const gig_hat *g, double x) {
  const double tq = g->q > 0.0 ? g->q * em1mx(x) : 0.0;
  return gig_alpha_term(g, x) + tq;
}

/* h'(x) = alpha sinh x + q expm1(x). */
static double gig_dh(const gig_hat *g, double x) {
  double ta;
  if (!g->alpha_tiny)
    ta = g->alpha * sinh(x);
  else if (x == 0.0)
    ta = 0.0;
  else
    ta = copysign(exp(g->log_alpha + log_sinh(fabs(x))), x);
  const double tq = g->q > 0.0 ? g->q * expm1(x) : 0.0;
  return ta + tq;
}

/* The u > 0 with h(dir u) = 1 (dir = +1 right, -1 left). phi(u) = h(dir u) - 1 is convex and
 * increasing on u > 0, so Newton's iteration started above the root decreases monotonically to
 * it. ub is an upper bound of the root; it is doubled until phi(ub) >= 0 because a bound that is
 * the exact root (p = 0, where h is its alpha term) may round to just below it. */
static nvmm_status gig_tangent_point(const gig_hat *g, double dir, double ub, double *root) {
  int guard = 0;
  if (!(ub > 0.0))
    ub = 1.0; /* cannot happen with the bounds below; keeps the doubling meaningful */
  while (!(gig_h(g, dir * ub) >= 1.0)) {
    ub *= 2.0;
    NVMM_CHECK(isfinite(ub) && ++guard < TANGENT_MAX_ITER, NVMM_ESANITY,
               "GIG sampler: no upper bound for the tangent point (q = %g, log alpha = %g)", g->q,
               g->log_alpha);
  }
  double u = ub;
  for (int it = 0; it < TANGENT_MAX_ITER; it++) {
    const double phi = gig_h(g, dir * u) - 1.0;
    const double dphi = dir * gig_dh(g, dir * u);
    if (!(dphi > 0.0) || !isfinite(phi))
      break;
    const double step = phi / dphi;
    if (!(u - step > 0.0))
      break; /* rounding at a root very close to 0: keep the current point, still valid */
    u -= step;
    if (fabs(step) <= TANGENT_RTOL * u)
      break;
  }
  *root = u;
  return NVMM_OK;
}

/* The root of alpha (cosh u - 1) = 1, an upper bound of both tangent points because h is at
 * least its alpha term: acosh(1 + y) with y = 1/alpha, written as log1p(y + sqrt(y (2 + y))) so
 * that it stays accurate when y is tiny (acosh(1 + y) would round 1 + y to 1 for alpha > 1e16).
 * For alpha below e^-36 ~ 2e-16, acosh(1 + y) = log(2y) + O(1/y), so ln 2 - log alpha + 1 is an
 * upper bound and needs no 1/alpha (which may overflow). */
static double gig_alpha_bound(const gig_hat *g) {
  if (g->log_alpha < -36.0)
    return M_LN2 - g->log_alpha + 1.0;
  const double y = 1.0 / g->alpha;
  return log1p(y + sqrt(y) * sqrt(2.0 + y));
}

/* Builds the hat for GIG(p, a, b) with a, b > 0. */
static nvmm_status gig_hat_init(double p, double a, double b, gig_hat *g) {
  /* Square roots and logs of a and b separately: ab and b/a may overflow or underflow. */
  const double log_omega = 0.5 * (log(a) + log(b));
  const double omega = sqrt(a) * sqrt(b);
  const double q = fabs(p);
  double w0;
  if (q == 0.0)
    w0 = 0.0;
  else if (omega > 0.0 && isfinite(q / omega))
    w0 = asinh(q / omega);
  else
    w0 = log(2.0 * q) - log_omega; /* asinh(y) = log(2y) + O(y^-2), exact in double here */
  g->q = q;
  if (q == 0.0)
    g->log_alpha = log_omega;
  else
    g->log_alpha = 2.0 * log_omega - log(q + hypot(q, omega));
  g->alpha_tiny = !(g->log_alpha > log(DBL_MIN));
  /* alpha = omega / (r + sqrt(1 + r^2)), r = q/omega: omega^2 itself could overflow. When alpha
   * is representable, r is finite (r <= omega / (2 alpha)). */
  const double r = q / omega;
  g->alpha = g->alpha_tiny ? 0.0 : omega / (r + hypot(r, 1.0));
  if (!(g->alpha > 0.0))
    g->alpha_tiny = 1; /* rounding at the DBL_MIN edge: use the log form */
  g->sign = p < 0.0 ? -1.0 : 1.0;
  g->base = 0.5 * (log(b) - log(a)) + g->sign * w0;

  /* Right tangent point: h(x) >= (alpha + q) x^2 / 2 for x > 0; for x >= 2.7,
   * e^x - 1 - x >= e^x / 2, so the root is below max(2.7, log(2/q)); and below the alpha
   * bound. */
  double ub_r = gig_alpha_bound(g);
  if (g->alpha + q > 0.0)
    ub_r = fmin(ub_r, sqrt(2.0 / (g->alpha + q)));
  if (q > 0.0)
    ub_r = fmin(ub_r, fmax(2.7, M_LN2 - log(q)));
  /* Left: e^-u - 1 + u >= u - 1, and >= u^2 / 3 for u <= 1; cosh u - 1 >= u^2 / 2. */
  double ub_l = gig_alpha_bound(g);
  if (q > 0.0) {
    ub_l = fmin(ub_l, 1.0 + 1.0 / q);
    if (3.0 / (g->alpha + q) <= 1.0)
      ub_l = fmin(ub_l, sqrt(3.0 / (g->alpha + q)));
  }
  double t, s;
  NVMM_CALL(gig_tangent_point(g, 1.0, ub_r, &t));
  NVMM_CALL(gig_tangent_point(g, -1.0, ub_l, &s));
  g->zeta = gig_dh(g, t);
  g->xi = -gig_dh(g, -s);
  /* The tangent at t, -h(t) - zeta (x - t), crosses 0 at t' = t - h(t)/zeta, which is in [0, t]
   * because h is convex with h(0) = 0. The clamps only absorb rounding; the hat stays valid for
   * any breakpoints because every piece bounds -h on the whole line. */
  g->t_flat = fmax(0.0, t - gig_h(g, t) / g->zeta);
  g->s_flat = fmax(0.0, s - gig_h(g, -s) / g->xi);
  g->area_mid = g->t_flat + g->s_flat;
  g->area_mr = g->area_mid + 1.0 / g->zeta;
  g->area_all = g->area_mr + 1.0 / g->xi;
  NVMM_CHECK(g->zeta > 0.0 && g->xi > 0.0 && isfinite(g->area_all), NVMM_ESANITY,
             "GIG sampler: degenerate hat (p = %g, a = %g, b = %g)", p, a, b);
  return NVMM_OK;
}

/* One draw of x = log V' - w0 by rejection from the three-piece hat, then y. */
static nvmm_status gig_draw(const gig_hat *g, gsl_rng *rng, double *y) {
  for (int k = 0; k < GIG_MAX_PROPOSALS; k++) {
    const double u = gsl_rng_uniform(rng) * g->area_all;
    double x, log_hat;
    if (u < g->area_mid) {
      /* Given that it fell in the flat part, u is uniform on [0, area_mid). */
      x = u - g->s_flat;
      log_hat = 0.0;
    } else {
      const double e = -log(gsl_rng_uniform_pos(rng)); /* Exp(1) */
      if (u < g->area_mr)
        x = g->t_flat + e / g->zeta;
      else
        x = -g->s_flat - e / g->xi;
      log_hat = -e;
    }
    /* Accept with probability exp(-h(x)) / hat(x) <= 1; NaN or +inf h rejects. */
    if (gsl_rng_uniform(rng) < exp(-gig_h(g, x) - log_hat)) {
      *y = exp(g->base + g->sign * x);
      return NVMM_OK;
    }
  }
  NVMM_ERROR(NVMM_ESANITY, "GIG sampler: %d proposals rejected (q = %g, log alpha = %g)",
             GIG_MAX_PROPOSALS, g->q, g->log_alpha);
}

/* ---- Subordinator dispatch ---------------------------------------------------------------- */

/* A subordinator law prepared for drawing: its draw and the constants it needs. GIG with a = 0 or
 * b = 0 is the InverseGamma or Gamma limit and is drawn as that law (src/numerics.md 9.2, 12.24:
 * the Devroye mode formula is not valid in those limits). */
struct nvmm__sampler {
  nvmm_status (*draw)(const nvmm__sampler *sm, gsl_rng *rng, double *y);
  double c1, c2; /* Gamma/InvGamma (alpha, beta), InvGauss (mu, lambda) */
  gig_hat gig;   /* GIG with a, b > 0 */
};

static nvmm_status degenerate_draw(const nvmm__sampler *sm, gsl_rng *rng, double *y) {
  (void)sm, (void)rng;
  *y = 1.0;
  return NVMM_OK;
}

/* Gamma(alpha, 1) / beta rather than GSL's scale argument 1/beta: the same draw, and 1/beta
 * cannot overflow for a subnormal rate. */
static nvmm_status gamma_draw(const nvmm__sampler *sm, gsl_rng *rng, double *y) {
  *y = gsl_ran_gamma(rng, sm->c1, 1.0) / sm->c2;
  return NVMM_OK;
}

static nvmm_status invgamma_draw(const nvmm__sampler *sm, gsl_rng *rng, double *y) {
  *y = sm->c2 / gsl_ran_gamma(rng, sm->c1, 1.0);
  return NVMM_OK;
}

/* Michael, Schucany and Haas (1976), "Generating random variates using transformations with
 * multiple roots", Am. Stat. 30: with t = mu nu^2 / (2 lambda), nu ~ N(0, 1), the two roots of
 * the chi-square transformation are mu r and mu / r with r = 1 + t - sqrt(t (2 + t)). The
 * textbook form (src/numerics.md 9.2) subtracts two numbers of size mu t; we use
 * r = 1 / (1 + t + sqrt(t) sqrt(2 + t)), which has no cancellation and no overflow of t^2. The
 * small root is taken with probability mu / (mu + mu r) = 1 / (1 + r). */
static double invgauss_draw(double mu, double lambda, gsl_rng *rng) {
  const double nu = gsl_ran_gaussian_ziggurat(rng, 1.0);
  const double t = mu * (nu * nu) / (2.0 * lambda);
  const double big = 1.0 + t + sqrt(t) * sqrt(2.0 + t); /* 1/r >= 1 */
  return gsl_rng_uniform(rng) * (1.0 + 1.0 / big) <= 1.0 ? mu / big : mu * big;
}

static nvmm_status invgauss_draw_sm(const nvmm__sampler *sm, gsl_rng *rng, double *y) {
  *y = invgauss_draw(sm->c1, sm->c2, rng);
  return NVMM_OK;
}

static nvmm_status gig_draw_sm(const nvmm__sampler *sm, gsl_rng *rng, double *y) {
  return gig_draw(&sm->gig, rng, y);
}

nvmm_status nvmm__degenerate_sampler(const nvmm_sub *s, nvmm__sampler *sm) {
  (void)s;
  sm->draw = degenerate_draw;
  return NVMM_OK;
}

/* The two-parameter kinds draw from their classical parameters as they are. */
static nvmm_status two_par_sampler(const nvmm_sub *s, nvmm__sampler *sm,
                                   nvmm_status (*draw)(const nvmm__sampler *, gsl_rng *,
                                                       double *)) {
  NVMM_CALL(nvmm_sub_validate(s));
  sm->draw = draw;
  sm->c1 = s->par[0];
  sm->c2 = s->par[1];
  return NVMM_OK;
}

nvmm_status nvmm__gamma_sampler(const nvmm_sub *s, nvmm__sampler *sm) {
  return two_par_sampler(s, sm, gamma_draw);
}

nvmm_status nvmm__invgamma_sampler(const nvmm_sub *s, nvmm__sampler *sm) {
  return two_par_sampler(s, sm, invgamma_draw);
}

nvmm_status nvmm__invgauss_sampler(const nvmm_sub *s, nvmm__sampler *sm) {
  return two_par_sampler(s, sm, invgauss_draw_sm);
}

/* GIG accepts the limits a = 0 and b = 0 that nvmm_sub_validate rejects, and draws them as the
 * InverseGamma(-p, b/2) and Gamma(p, a/2) they are. */
nvmm_status nvmm__gig_sampler(const nvmm_sub *s, nvmm__sampler *sm) {
  const double p = s->par[0], a = s->par[1], b = s->par[2];
  NVMM_CHECK(isfinite(p), NVMM_EDOM, "GIG: p = %g must be finite", p);
  NVMM_CHECK(a >= 0.0 && isfinite(a), NVMM_EDOM, "GIG: a = %g must be finite and >= 0", a);
  NVMM_CHECK(b >= 0.0 && isfinite(b), NVMM_EDOM, "GIG: b = %g must be finite and >= 0", b);
  NVMM_CHECK(a > 0.0 || b > 0.0, NVMM_EDOM, "GIG: a and b must not both be 0");
  if (a == 0.0) {
    NVMM_CHECK(p < 0.0, NVMM_EDOM, "GIG: a = 0 (inverse-gamma limit) needs p < 0, got p = %g", p);
    return nvmm__invgamma_sampler(&(nvmm_sub){NVMM_SUB_INVGAMMA, {-p, 0.5 * b, 0.0}}, sm);
  }
  if (b == 0.0) {
    NVMM_CHECK(p > 0.0, NVMM_EDOM, "GIG: b = 0 (gamma limit) needs p > 0, got p = %g", p);
    return nvmm__gamma_sampler(&(nvmm_sub){NVMM_SUB_GAMMA, {p, 0.5 * a, 0.0}}, sm);
  }
  sm->draw = gig_draw_sm;
  return gig_hat_init(p, a, b, &sm->gig);
}

/* The sampler of s's kind, from the family table. */
static nvmm_status sampler_init(const nvmm_sub *s, nvmm__sampler *sm) {
  NVMM_CHECK(s != NULL, NVMM_EINVAL, "subordinator is NULL");
  const nvmm__family *fd = nvmm__family_of_kind(s->kind);
  NVMM_CHECK(fd != NULL, NVMM_EINVAL, "unknown subordinator kind %d", (int)s->kind);
  return fd->sampler(s, sm);
}

nvmm_status nvmm_sub_sample(const nvmm_sub *s, gsl_rng *rng, size_t n, double *y) {
  NVMM_CHECK(rng != NULL, NVMM_EINVAL, "nvmm_sub_sample: rng is NULL");
  NVMM_CHECK(y != NULL || n == 0, NVMM_EINVAL, "nvmm_sub_sample: y is NULL");
  nvmm__sampler sm;
  NVMM_CALL(sampler_init(s, &sm));
  for (size_t i = 0; i < n; i++)
    NVMM_CALL(sm.draw(&sm, rng, &y[i]));
  return NVMM_OK;
}

/* A factor model's rows (src/numerics.md 9.3): X = mu + gamma Y + sqrt(Y) (F z + sqrt(D) e) with
 * z ~ N(0, I_r) and e ~ N(0, I_d), whose covariance given Y is Y (F F^T + D) = Y Sigma; O(d r)
 * per row, and Sigma is never formed. Per row the generator is called for Y, then z_0..z_{r-1},
 * then e_0..e_{d-1}, a fixed order. */
static nvmm_status factor_sample(const nvmm_model *m, nvmm__sampler *sm, gsl_rng *rng, size_t n,
                                 double *x, double *y) {
  const nvmm_factor *fa = m->factor;
  const size_t d = m->d, r = fa->r;
  NVMM_CHECK(fa->d == d, NVMM_EINVAL, "nvmm_model_sample: model dimension %zu, factor %zu", d,
             fa->d);
  enum { ZMAX = 64 }; /* z in blocks on the stack: r is unbounded, the row's draws are not */
  double zb[ZMAX];
  for (size_t i = 0; i < n; i++) {
    double yi;
    NVMM_CALL(sm->draw(sm, rng, &yi));
    double *xi = x + i * d;
    const double sy = sqrt(yi);
    for (size_t j = 0; j < d; j++)
      xi[j] = 0.0;
    /* F z accumulated over blocks of z, so that the draws keep the order z_0, z_1, ... */
    for (size_t k0 = 0; k0 < r; k0 += ZMAX) {
      size_t kn = r - k0 < ZMAX ? r - k0 : ZMAX;
      for (size_t k = 0; k < kn; k++)
        zb[k] = gsl_ran_gaussian_ziggurat(rng, 1.0);
      for (size_t j = 0; j < d; j++) {
        const double *fj = fa->f + j * r + k0;
        double acc = 0.0;
        for (size_t k = 0; k < kn; k++)
          acc += fj[k] * zb[k];
        xi[j] += acc;
      }
    }
    for (size_t j = 0; j < d; j++) {
      double e = gsl_ran_gaussian_ziggurat(rng, 1.0);
      xi[j] = m->mu[j] + m->gamma[j] * yi + sy * (xi[j] + sqrt(fa->dd[j]) * e);
    }
    if (y != NULL)
      y[i] = yi;
  }
  return NVMM_OK;
}

nvmm_status nvmm_model_sample(const nvmm_model *m, gsl_rng *rng, size_t n, double *x, double *y) {
  NVMM_CHECK(m != NULL, NVMM_EINVAL, "nvmm_model_sample: model is NULL");
  NVMM_CHECK(rng != NULL, NVMM_EINVAL, "nvmm_model_sample: rng is NULL");
  NVMM_CHECK(m->d > 0, NVMM_EINVAL, "nvmm_model_sample: dimension d = 0");
  NVMM_CHECK(m->mu != NULL && m->gamma != NULL && (m->chol != NULL || m->factor != NULL),
             NVMM_EINVAL, "nvmm_model_sample: model has a NULL mu, gamma or chol (and no factor)");
  NVMM_CHECK(x != NULL || n == 0, NVMM_EINVAL, "nvmm_model_sample: x is NULL");
  const size_t d = m->d;
  NVMM_CHECK(n <= SIZE_MAX / d, NVMM_EINVAL, "nvmm_model_sample: n d overflows (n = %zu)", n);
  nvmm__sampler sm;
  NVMM_CALL(sampler_init(&m->sub, &sm));
  if (m->factor)
    return factor_sample(m, &sm, rng, n, x, y);
  const double *L = m->chol;
  for (size_t i = 0; i < n; i++) {
    /* Y first, then Z_0..Z_{d-1}: a fixed order of generator calls per row. */
    double yi;
    NVMM_CALL(sm.draw(&sm, rng, &yi));
    double *xi = x + i * d;
    for (size_t j = 0; j < d; j++)
      xi[j] = gsl_ran_gaussian_ziggurat(rng, 1.0);
    /* (L Z)_j needs Z_0..Z_j only, so overwriting from the last row of L backwards never reads
     * an entry already replaced. */
    const double sy = sqrt(yi);
    for (size_t j = d; j-- > 0;) {
      const double *Lj = L + j * d;
      double acc = 0.0;
      for (size_t k = 0; k <= j; k++)
        acc += Lj[k] * xi[k];
      xi[j] = m->mu[j] + m->gamma[j] * yi + sy * acc;
    }
    if (y != NULL)
      y[i] = yi;
  }
  return NVMM_OK;
}
