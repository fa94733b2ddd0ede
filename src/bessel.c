/* bessel.c: log K_nu(z) and the order-neighbour ratios K_{nu+1}/K_nu, K_{nu-1}/K_nu for real nu,
 * by Temme's method at a reduced order mu in [-1/2, 1/2) (series for z <= 2, Steed's continued
 * fraction CF2 above, closed forms at mu = -1/2 and for z >= 2^53) followed by forward recurrence
 * in the order, all in log / scaled-ratio form. */
#include "nvmm/bessel.h"

#include <float.h>
#include <math.h>

/* Switch between Temme's series and CF2 (as in Numerical Recipes 2nd ed. section 6.7): the
 * series needs at most 13 terms up to z = 2 but its cancellation grows with z (about 40 ulp at
 * z = 2, 80 at z = 2.5), while CF2 is accurate to a few ulp down to z = 1 but needs 80 iterations
 * at z = 2 and 150 at z = 1. */
#define TEMME_Z_SWITCH 2.0

/* Both loops stop once a term is below half an ulp of the sum they are added to. */
#define SERIES_EPS (0.5 * DBL_EPSILON)

/* Iteration caps, never reached in practice: the series converges in <= 13 terms for z <= 2
 * and CF2 in <= 80 steps for z > 2 (counted over the reference grid); the caps only bound the
 * work should round-off ever stall a convergence test. */
#define TEMME_MAX_TERMS 100
#define CF2_MAX_STEPS 1000

/* Above this z (2^53 = 9.0e15), e^z sqrt(2z/pi) K_mu(z) = 1 + (4 mu^2 - 1)/(8z) + ...
 * (DLMF 10.40.2) is 1 to within 1.4e-17, and z K_{mu+-1}/K_mu = z + 1/2 +- mu + O(1/z) to within
 * an ulp, so the leading Hankel terms are exact in double; CF2's 2(1 + z) would overflow near
 * DBL_MAX. */
#define Z_HANKEL 0x1p53

/* Growth of the scaled recurrence values per step is at most 2 NU_MAX + 2 < 2^18, so 32 steps
 * stay below 2^576 and one renormalization every 32 steps suffices. */
#define RESCALE_STEPS 32

/* The order recurrence costs one step per unit of |nu|. Orders in the EM are |p - d/2|, a few
 * hundred at most; 1e5 steps (about 0.2 ms) bound the work for any finite input. */
#define NU_MAX 1e5

/* Taylor coefficients of 1/Gamma(1 + x) = sum_k c_k x^k, k = 0..22, from mpmath at 50 digits
 * (mpmath.taylor(lambda x: 1/mpmath.gamma(1 + x), 0, 22)). Terms beyond c_22 contribute below
 * 1e-21 at |x| = 1/2, the largest reduced order used. Even and odd coefficients are split. */
static const double INVGAMMA_EVEN[12] = {
    1.0,                          /* c_0 */
    -0.6558780715202538810770,    /* c_2 */
    0.1665386113822914895017,     /* c_4 */
    -0.009621971527876973562115,  /* c_6 */
    -0.001165167591859065112114,  /* c_8 */
    0.0001280502823881161861532,  /* c_10 */
    -1.250493482142670657345e-6,  /* c_12 */
    -2.056338416977607103450e-7,  /* c_14 */
    5.002007644469222930056e-9,   /* c_16 */
    1.043426711691100510492e-10,  /* c_18 */
    -3.696805618642205708188e-12, /* c_20 */
    -2.058326053566506783222e-14, /* c_22 */
};
static const double INVGAMMA_ODD[11] = {
    0.5772156649015328606065,      /* c_1 (Euler's gamma) */
    -0.04200263503409523552900,    /* c_3 */
    -0.04219773455554433674821,    /* c_5 */
    0.007218943246663099542395,    /* c_7 */
    -0.0002152416741149509728157,  /* c_9 */
    -0.00002013485478078823865569, /* c_11 */
    1.133027231981695882374e-6,    /* c_13 */
    6.116095104481415817862e-9,    /* c_15 */
    -1.181274570487020144588e-9,   /* c_17 */
    7.782263439905071254050e-12,   /* c_19 */
    5.100370287454475979015e-13,   /* c_21 */
};

/* K at one order v, with the ratios scaled by z so that they stay finite for any z > 0. */
typedef struct {
  double lnk; /* log K_v(z) */
  double zrp; /* z K_{v+1}(z) / K_v(z) */
  double zrm; /* z K_{v-1}(z) / K_v(z) */
} k_scaled;

/* Horner evaluation of sum_j c[j] y^j. */
static double poly(const double *c, int n, double y) {
  double s = c[n - 1];
  for (int j = n - 2; j >= 0; j--)
    s = s * y + c[j];
  return s;
}

/* Temme's series, z <= TEMME_Z_SWITCH (N. M. Temme, J. Comput. Phys. 19 (1975) 324, sec. 2).
 * With G1 = (1/Gamma(1-mu) - 1/Gamma(1+mu)) / (2 mu), G2 = (1/Gamma(1-mu) + 1/Gamma(1+mu)) / 2,
 * s = mu log(2/z) and c_k = (z^2/4)^k / k!:
 *   f_0 = (pi mu / sin(pi mu)) [cosh(s) G1 + (sinh(s)/s) log(2/z) G2],
 *   p_0 = (2/z)^mu Gamma(1+mu) / 2,  q_0 = (z/2)^mu Gamma(1-mu) / 2,
 *   f_k = (k f_{k-1} + p_{k-1} + q_{k-1}) / (k^2 - mu^2),
 *   p_k = p_{k-1} / (k - mu),  q_k = q_{k-1} / (k + mu),
 *   K_mu = sum c_k f_k,  K_{mu+1} = (2/z) sum c_k (p_k - k f_k).
 * The series at -mu has the same f_k with p and q exchanged, so the same pass gives
 * K_{mu-1} = K_{1-mu} = (2/z) sum c_k (q_k - k f_k), without the cancellation that the backward
 * recurrence K_{mu-1} = K_{mu+1} - (2 mu/z) K_mu suffers at small z. f_0 has no cancellation
 * when s is large, and every quantity stays below (2/z)^(1/2) ~ 1e150 at z = 1e-300. */
static void k_temme_series(double mu, double z, k_scaled *out) {
  const double lg = M_LN2 - log(z); /* log(2/z) without overflowing 2/z */
  const double sigma = mu * lg;
  const double pimu = M_PI * mu;
  const double fact = pimu == 0.0 ? 1.0 : pimu / sin(pimu);
  /* e^s gives cosh s and, for |s| >= 1, sinh s; below that sinh s = (m + m/(1+m))/2 with
   * m = expm1(s) avoids the cancellation of e^s - e^-s. */
  const double es = exp(sigma);
  double sinhc = 1.0; /* sinh(s)/s */
  if (fabs(sigma) >= 1.0) {
    sinhc = 0.5 * (es - 1.0 / es) / sigma;
  } else if (sigma != 0.0) {
    const double em = expm1(sigma);
    sinhc = 0.5 * (em + em / (1.0 + em)) / sigma;
  }
  const double g1 = -poly(INVGAMMA_ODD, 11, mu * mu);
  const double g2 = poly(INVGAMMA_EVEN, 12, mu * mu);
  double f = fact * (g1 * 0.5 * (es + 1.0 / es) + g2 * sinhc * lg);
  double p = 0.5 * es / (g2 - mu * g1);   /* 1/Gamma(1+mu) = G2 - mu G1 */
  double q = 0.5 / (es * (g2 + mu * g1)); /* 1/Gamma(1-mu) = G2 + mu G1 */
  double c = 1.0;
  const double y = 0.25 * z * z;
  double s0 = f, s1 = p, s1m = q;
  for (int k = 1; k <= TEMME_MAX_TERMS; k++) {
    const double inv = 1.0 / ((k - mu) * (k + mu)); /* one division serves f, p and q */
    f = (k * f + p + q) * inv;
    p *= (k + mu) * inv;
    q *= (k - mu) * inv;
    c *= y / k;
    s0 += c * f;
    s1 += c * (p - k * f);
    s1m += c * (q - k * f);
    /* All three sums are positive (they are K values); stop when the largest possible term
     * is below half an ulp of the smallest sum. */
    if (c * (k * fabs(f) + p + q) < SERIES_EPS * fmin(s0, fmin(s1, s1m)))
      break;
  }
  out->lnk = log(s0);
  out->zrp = 2.0 * s1 / s0;
  out->zrm = 2.0 * s1m / s0;
}

/* Steed's algorithm for CF2 (I. J. Thompson and A. R. Barnett, J. Comput. Phys. 64 (1986) 490;
 * Numerical Recipes 2nd ed. section 6.7), z > TEMME_Z_SWITCH: it sums e^z K_mu(z) and the
 * continued fraction h for K_{mu+1}/K_mu = (mu + z + 1/2 - h)/z. h depends on mu only through
 * mu^2, so K_{1-mu}/K_mu = (-mu + z + 1/2 - h)/z comes from the same pass. */
static void k_steed_cf2(double mu, double z, k_scaled *out) {
  const double a1 = 0.25 - mu * mu;
  double b = 2.0 * (1.0 + z);
  double d = 1.0 / b;
  double h = d, delh = d;
  double q1 = 0.0, q2 = 1.0;
  double q = a1, c = a1, a = -a1;
  double s = 1.0 + q * delh;
  for (int i = 2; i <= CF2_MAX_STEPS; i++) {
    a -= 2 * (i - 1);
    c = -a * c / i;
    const double qnew = (q1 - b * q2) / a;
    q1 = q2;
    q2 = qnew;
    q += c * qnew;
    b += 2.0;
    d = 1.0 / (b + a * d);
    delh = (b * d - 1.0) * delh;
    h += delh;
    const double dels = q * delh;
    s += dels;
    if (fabs(dels) < SERIES_EPS * s && fabs(delh) < SERIES_EPS * fabs(h))
      break;
  }
  h *= a1;
  out->lnk = 0.5 * log(M_PI_2 / z) - z - log(s);
  out->zrp = mu + z + 0.5 - h;
  out->zrm = -mu + z + 0.5 - h;
}

/* log K_mu(z), z K_{mu+1}/K_mu and z K_{mu-1}/K_mu at a reduced order mu in [-1/2, 1/2). */
static void k_reduced(double mu, double z, k_scaled *out) {
  if (mu == -0.5) {
    /* Closed form K_{1/2}(z) = sqrt(pi/(2z)) e^{-z}; K_{3/2}/K_{1/2} = 1 + 1/z (DLMF 10.39.2). */
    out->lnk = 0.5 * (log(M_PI_2) - log(z)) - z;
    out->zrp = z;
    out->zrm = z + 1.0;
  } else if (z >= Z_HANKEL) {
    out->lnk = 0.5 * (log(M_PI_2) - log(z)) - z;
    out->zrp = z + (0.5 + mu);
    out->zrm = z + (0.5 - mu);
  } else if (z <= TEMME_Z_SWITCH) {
    k_temme_series(mu, z, out);
  } else {
    k_steed_cf2(mu, z, out);
  }
}

/* Full evaluation at order a = |nu| >= 0: a = n + mu, then the forward recurrence
 * K_{v+1} = K_{v-1} + (2v/z) K_v (DLMF 10.29.1), run on V_k = w^k K_{mu+k}/K_mu with
 * w = min(z, 1): V_0 = 1, V_1 = w K_{mu+1}/K_mu, V_{k+1} = w^2 V_{k-1} + 2(mu+k)(w/z) V_k.
 * K is the dominant solution in increasing order and both terms are positive, so the relative
 * error does not grow. The scaling by w^k keeps each step's growth V_{k+1}/V_k between 1 and
 * 2k + 2 even at z = 1e-300, where K_{v+1}/K_v ~ 1e302 (w^2 V_{k-1} may then underflow, being
 * below 1e-300 of the term it is added to); for z >= 1 no scaling is needed, and none is applied
 * because the n log z it would add to log K cancels against log V_n (costing ulps times n log z).
 * V is renormalized by a power of two every RESCALE_STEPS steps, so it never overflows.
 * log K_a = log K_mu + log V_n - n log w, and the ratios are K_{a+1}/K_a = V_{n+1}/(w V_n),
 * K_{a-1}/K_a = w V_{n-1}/V_n. */
static void k_positive_order(double a, double z, nvmm_bessel_k *out) {
  const double n = floor(a + 0.5);
  const double mu = a - n; /* exact: a and n are within a factor 2 of each other */
  k_scaled kr;
  k_reduced(mu, z, &kr);
  out->lnk = kr.lnk;
  if (n == 0.0) {
    out->rp = kr.zrp / z;
    out->rm = kr.zrm / z;
    return;
  }
  const double w = fmin(z, 1.0);
  const double wz = w / z; /* 1 or 1/z */
  const double w2 = w * w;
  const long nn = (long)n; /* n <= NU_MAX + 1 */
  double vm = 1.0, v = kr.zrp * wz;
  long e2 = 0;
  for (long k = 1; k < nn; k++) {
    const double vp = w2 * vm + 2.0 * (mu + (double)k) * wz * v;
    vm = v;
    v = vp;
    if (k % RESCALE_STEPS == 0) {
      const int e = ilogb(v);
      v = scalbn(v, -e);
      vm = scalbn(vm, -e);
      e2 += e;
    }
  }
  out->lnk += log(v) + (double)e2 * M_LN2 - (w < 1.0 ? n * log(w) : 0.0);
  out->rm = w * (vm / v);
  out->rp = out->rm + 2.0 * a / z;
}

static nvmm_status check_args(double nu, double z) {
  NVMM_CHECK(isfinite(nu) && isfinite(z) && z > 0.0, NVMM_EDOM,
             "bessel K: need finite nu and 0 < z < inf (nu = %g, z = %g)", nu, z);
  NVMM_CHECK(fabs(nu) <= NU_MAX, NVMM_EDOM,
             "bessel K: |nu| = %g exceeds %g (the order recurrence costs |nu| steps)", fabs(nu),
             NU_MAX);
  return NVMM_OK;
}

nvmm_status nvmm_bessel_k_eval(double nu, double z, nvmm_bessel_k *out) {
  NVMM_CHECK(out != NULL, NVMM_EINVAL, "nvmm_bessel_k_eval: out is NULL (nu = %g, z = %g)", nu, z);
  NVMM_CALL(check_args(nu, z));
  nvmm_bessel_k k;
  k_positive_order(fabs(nu), z, &k);
  out->lnk = k.lnk;
  /* K_{-nu} = K_nu: for nu < 0, K_{nu+1}/K_nu = K_{|nu|-1}/K_{|nu|} and vice versa. The ratios
   * exceed DBL_MAX only where the true value does (z < 2|nu|/DBL_MAX). */
  out->rp = nu < 0.0 ? k.rm : k.rp;
  out->rm = nu < 0.0 ? k.rp : k.rm;
  return NVMM_OK;
}

nvmm_status nvmm_bessel_lnk(double nu, double z, double *lnk) {
  NVMM_CHECK(lnk != NULL, NVMM_EINVAL, "nvmm_bessel_lnk: lnk is NULL (nu = %g, z = %g)", nu, z);
  NVMM_CALL(check_args(nu, z));
  nvmm_bessel_k k;
  k_positive_order(fabs(nu), z, &k);
  *lnk = k.lnk;
  return NVMM_OK;
}
