/* nvmm_test_sample.h: what the sampler tests (test_sample.c, test_sample_sub.c) share: the seed
 * and stream of each case, the exact raw moments of the subordinators, and the z-test of an
 * estimate against its exact value. */
#ifndef NVMM_TEST_SAMPLE_H
#define NVMM_TEST_SAMPLE_H

#include <stdint.h>

#include <gsl/gsl_sf_bessel.h>

#include "nvmm_test.h"

/* Every test is deterministic: a fixed seed, and one stream per case. */
#define SEED UINT64_C(20240917)
/* Draws per moment check: standard errors are 1e-3 standard deviations. */
#define N_MOMENT 1000000
/* Statistical checks accept |estimate - exact| <= Z_MAX standard errors. Under the normal
 * approximation a correct sampler fails one check with probability 6.3e-5; the two sample
 * suites (test_sample.c, test_sample_sub.c) make about 130 such checks, so a false alarm has
 * probability about 1%, while a bias of a few standard errors (0.5% of a standard deviation at
 * n = 1e6) is caught. */
#define Z_MAX 4.0

static inline int verbose(void) { return getenv("NVMM_TEST_VERBOSE") != NULL; }

static inline gsl_rng *stream_rng(uint64_t stream) {
  gsl_rng *rng = NULL;
  ck_assert_ok(nvmm_rng_stream(SEED, stream, &rng));
  return rng;
}

static inline double ln_bessel_k(double nu, double x) {
  gsl_sf_result r;
  int st = gsl_sf_bessel_lnKnu_e(fabs(nu), x, &r); /* K_{-nu} = K_nu */
  ck_assert_msg(st == GSL_SUCCESS, "lnKnu(%g, %g): %s", nu, x, gsl_strerror(st));
  return r.val;
}

/* log E[Y^r] for GIG(p, a, b), a, b > 0: (b/a)^{r/2} K_{p+r}(omega) / K_p(omega). */
static inline double gig_log_moment(double p, double a, double b, double r) {
  const double omega = sqrt(a) * sqrt(b);
  return 0.5 * r * (log(b) - log(a)) + ln_bessel_k(p + r, omega) - ln_bessel_k(p, omega);
}

/* log E[Y^r], +inf where the moment does not exist (src/numerics.md 2.1-2.4). */
static inline double log_moment(const nvmm_sub *s, double r) {
  const double *c = s->par;
  switch (s->kind) {
  case NVMM_SUB_GAMMA:
    return r > -c[0] ? lgamma(c[0] + r) - lgamma(c[0]) - r * log(c[1]) : INFINITY;
  case NVMM_SUB_INVGAMMA:
    return r < c[0] ? r * log(c[1]) + lgamma(c[0] - r) - lgamma(c[0]) : INFINITY;
  case NVMM_SUB_INVGAUSS:
    return gig_log_moment(-0.5, c[1] / (c[0] * c[0]), c[1], r);
  case NVMM_SUB_GIG:
    if (c[1] == 0.0) {
      const nvmm_sub ig = {NVMM_SUB_INVGAMMA, {-c[0], 0.5 * c[2], 0.0}};
      return log_moment(&ig, r);
    }
    if (c[2] == 0.0) {
      const nvmm_sub ga = {NVMM_SUB_GAMMA, {c[0], 0.5 * c[1], 0.0}};
      return log_moment(&ga, r);
    }
    return gig_log_moment(c[0], c[1], c[2], r);
  case NVMM_SUB_DEGENERATE:
    break;
  }
  return 0.0;
}

/* Mean, variance and 4th central moment of Y^k (k = +1 or -1) from the raw moments, written
 * relative to E[Y^k]^j to keep the cancellation in the central moments visible: with
 * rho_j = E[Y^{kj}] / E[Y^k]^j, var = m^2 (rho_2 - 1), mu4 = m^4 (rho_4 - 4 rho_3 + 6 rho_2 - 3).
 * Infinite entries mean the moment does not exist. */
static inline void exact_moments(const nvmm_sub *s, double k, double *mean, double *var,
                                 double *mu4) {
  const double l1 = log_moment(s, k);
  double rho[5];
  for (int j = 2; j <= 4; j++)
    rho[j] = exp(log_moment(s, k * j) - j * l1);
  *mean = exp(l1);
  *var = *mean * *mean * (rho[2] - 1.0);
  *mu4 = pow(*mean, 4) * (rho[4] - 4.0 * rho[3] + 6.0 * rho[2] - 3.0);
}

/* Asserts |est - exact| <= Z_MAX se. */
static inline void check_z(const char *label, const char *what, double est, double exact,
                           double se) {
  const double z = (est - exact) / se;
  if (verbose())
    printf("  %-28s %-6s est %-14.8g exact %-14.8g z %+.2f\n", label, what, est, exact, z);
  ck_assert_msg(isfinite(z) && fabs(z) <= Z_MAX, "%s: %s = %.10g, exact %.10g, se %.3g, z = %.2f",
                label, what, est, exact, se, z);
}

#endif
