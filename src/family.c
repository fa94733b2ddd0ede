/* family.c: the family table (src/numerics.md 1.2): one row per family with its subordinator's
 * names, parameters, start, closed forms (src/numerics.md 2.1-2.4), inverse map and sampler. */
#include "family.h"

#include <math.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

#include "gig_impl.h"
#include "nvmm/bessel.h"

/* One row serves a family and its subordinator kind (family.h); the hyperbolic family is the one
 * family past the kinds. */
_Static_assert(NVMM_FAMILY_GAUSS == (int)NVMM_SUB_DEGENERATE &&
                   NVMM_FAMILY_VG == (int)NVMM_SUB_GAMMA &&
                   NVMM_FAMILY_NINVG == (int)NVMM_SUB_INVGAMMA &&
                   NVMM_FAMILY_NIG == (int)NVMM_SUB_INVGAUSS &&
                   NVMM_FAMILY_GH == (int)NVMM_SUB_GIG && NVMM_FAMILY_HYP == NVMM_FAMILY_GH + 1 &&
                   NVMM_FAMILY_COUNT == NVMM_FAMILY_HYP + 1,
               "each family but the hyperbolic one is numbered as its subordinator kind");

/* ---- Degenerate: Y = 1 ------------------------------------------------------------------- */

static nvmm_status degenerate_eta(const double q[3], double eta[3]) {
  (void)q;
  eta[0] = 0.0, eta[1] = 1.0, eta[2] = 1.0;
  return NVMM_OK;
}

static nvmm_status degenerate_moment(const double q[3], double r, double *m) {
  (void)q, (void)r;
  *m = 1.0;
  return NVMM_OK;
}

/* ---- Gamma(alpha, rate beta): VG --------------------------------------------------------- */

static void gamma_to_gig(const double q[3], double g[3]) {
  g[0] = q[0], g[1] = 2.0 * q[1], g[2] = 0.0;
}

/* src/numerics.md 2.1; E 1/Y = beta / (alpha - 1) exists only for alpha > 1. */
static nvmm_status gamma_eta(const double q[3], double eta[3]) {
  gsl_sf_result psi;
  NVMM_CHECK(gsl_sf_psi_e(q[0], &psi) == GSL_SUCCESS, NVMM_EDOM,
             "Gamma: digamma(alpha = %g) failed", q[0]);
  eta[0] = psi.val - log(q[1]);
  eta[1] = q[0] > 1.0 ? q[1] / (q[0] - 1.0) : INFINITY;
  eta[2] = q[0] / q[1];
  return NVMM_OK;
}

/* E[Y^r] = Gamma(alpha + r) / (Gamma(alpha) beta^r), r > -alpha. */
static nvmm_status gamma_moment_r(double alpha, double beta, double r, double *m) {
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

static nvmm_status gamma_moment(const double q[3], double r, double *m) {
  return gamma_moment_r(q[0], q[1], r, m);
}

/* ---- InverseGamma(alpha, beta): NInvG ----------------------------------------------------- */

static void invgamma_to_gig(const double q[3], double g[3]) {
  g[0] = -q[0], g[1] = 0.0, g[2] = 2.0 * q[1];
}

/* src/numerics.md 2.2; E Y = beta / (alpha - 1) exists only for alpha > 1. */
static nvmm_status invgamma_eta(const double q[3], double eta[3]) {
  gsl_sf_result psi;
  NVMM_CHECK(gsl_sf_psi_e(q[0], &psi) == GSL_SUCCESS, NVMM_EDOM,
             "InverseGamma: digamma(alpha = %g) failed", q[0]);
  eta[0] = log(q[1]) - psi.val;
  eta[1] = q[0] / q[1];
  eta[2] = q[0] > 1.0 ? q[1] / (q[0] - 1.0) : INFINITY;
  return NVMM_OK;
}

/* 1/Y ~ Gamma(alpha, beta), so E[Y^r] = E[(1/Y)^(-r)]. */
static nvmm_status invgamma_moment(const double q[3], double r, double *m) {
  return gamma_moment_r(q[0], q[1], -r, m);
}

/* ---- InverseGaussian(mu, lambda): NIG ------------------------------------------------------ */

/* lambda / mu^2 as (lambda / mu) / mu: no intermediate overflow (src/numerics.md 2.3). */
static void invgauss_to_gig(const double q[3], double g[3]) {
  g[0] = -0.5, g[1] = q[1] / q[0] / q[0], g[2] = q[1];
}

/* src/numerics.md 2.3: E Y, E 1/Y in closed form; E log Y through GIG(-1/2, lambda/mu^2, lambda),
 * whose omega = lambda / mu and delta = mu. */
static nvmm_status invgauss_eta(const double q[3], double eta[3]) {
  double d1;
  NVMM_CALL(nvmm_bessel_dnu(-0.5, q[1] / q[0], &d1, NULL));
  eta[0] = log(q[0]) + d1;
  eta[1] = 1.0 / q[0] + 1.0 / q[1];
  eta[2] = q[0];
  return NVMM_OK;
}

/* E[Y^r] = (b/a)^(r/2) K_{p+r}(omega) / K_p(omega) in log form (src/numerics.md 2.4). */
static nvmm_status gig_moment_r(double p, double a, double b, double r, double *m) {
  double omega = sqrt(a) * sqrt(b), l0, l1;
  NVMM_CALL(nvmm_bessel_lnk(p, omega, &l0));
  NVMM_CALL(nvmm_bessel_lnk(p + r, omega, &l1));
  *m = exp(0.5 * r * (log(b) - log(a)) + l1 - l0);
  return NVMM_OK;
}

static nvmm_status invgauss_moment(const double q[3], double r, double *m) {
  return gig_moment_r(-0.5, q[1] / q[0] / q[0], q[1], r, m);
}

/* mu_ig = 1, hence a = b = lambda (src/numerics.md 6.2). */
static double invgauss_a_eq_b(const double q[3]) { return 1.0 / q[0]; }

/* ---- GIG(p, a, b): GH -------------------------------------------------------------------- */

static void gig_to_gig(const double q[3], double g[3]) { g[0] = q[0], g[1] = q[1], g[2] = q[2]; }

static nvmm_status gig_eta(const double q[3], double eta[3]) {
  return nvmm__gig_eta(q[0], q[1], q[2], eta);
}

static nvmm_status gig_moment(const double q[3], double r, double *m) {
  return gig_moment_r(q[0], q[1], q[2], r, m);
}

/* a / s = b s (src/numerics.md 6.2). */
static double gig_a_eq_b(const double q[3]) { return sqrt(q[1] / q[2]); }

/* ---- GIG((d + 1) / 2, a, b): hyperbolic ------------------------------------------------------
 * The order at which the d-dimensional GH law is the hyperbolic one: its log-density is then
 * linear in sqrt(b + q(x)) (Barndorff-Nielsen 1977), src/numerics.md 1.2. */

static double hyp_p(size_t d) { return 0.5 * (double)(d + 1); }

/* ---- The table ------------------------------------------------------------------------------
 * Starts: E[Y] = 1 for Gamma(2, 2), InverseGamma(3, 2) and InverseGaussian(1, 1) exactly;
 * GIG(1, 1, 1) and the hyperbolic GIG((d + 1) / 2, 1, 1) are rescaled to it, as
 * src/numerics.md 7.3 says. */

const nvmm__family nvmm__families[NVMM_FAMILY_COUNT] = {
    [NVMM_FAMILY_GAUSS] =
        {
            .info = {"gauss", "Gaussian", "Degenerate", NVMM_SUB_DEGENERATE, 0, {NULL}},
            .eta = degenerate_eta,
            .moment = degenerate_moment,
            .from_eta = nvmm__degenerate_from_eta,
            .sampler = nvmm__degenerate_sampler,
        },
    [NVMM_FAMILY_VG] =
        {
            .info = {"vg", "VarianceGamma", "Gamma", NVMM_SUB_GAMMA, 2, {"alpha", "beta", NULL}},
            .par_msg = {"shape alpha", "rate beta", NULL},
            .par_positive = {true, true, false},
            .par_scale = {0, -1, 0},
            .eta_used = {true, false, true},
            .start = {2.0, 2.0, 0.0},
            .to_gig = gamma_to_gig,
            .eta = gamma_eta,
            .moment = gamma_moment,
            .from_eta = nvmm__gamma_from_eta,
            .sampler = nvmm__gamma_sampler,
        },
    [NVMM_FAMILY_NINVG] =
        {
            .info = {"ninvg",
                     "NormalInverseGamma",
                     "InverseGamma",
                     NVMM_SUB_INVGAMMA,
                     2,
                     {"alpha", "beta", NULL}},
            .par_msg = {"shape alpha", "rate beta", NULL},
            .par_positive = {true, true, false},
            .par_scale = {0, +1, 0},
            .eta_used = {true, true, false},
            .start = {3.0, 2.0, 0.0},
            .to_gig = invgamma_to_gig,
            .eta = invgamma_eta,
            .moment = invgamma_moment,
            .from_eta = nvmm__invgamma_from_eta,
            .sampler = nvmm__invgamma_sampler,
        },
    [NVMM_FAMILY_NIG] =
        {
            .info = {"nig",
                     "NormalInverseGaussian",
                     "InverseGaussian",
                     NVMM_SUB_INVGAUSS,
                     2,
                     {"mu_ig", "lambda", NULL}},
            .par_msg = {"mean mu", "shape lambda", NULL},
            .par_positive = {true, true, false},
            .par_scale = {+1, +1, 0},
            .eta_used = {false, true, true},
            .start = {1.0, 1.0, 0.0},
            .to_gig = invgauss_to_gig,
            .eta = invgauss_eta,
            .moment = invgauss_moment,
            .from_eta = nvmm__invgauss_from_eta,
            .a_eq_b_scale = invgauss_a_eq_b,
            .sampler = nvmm__invgauss_sampler,
        },
    [NVMM_FAMILY_GH] =
        {
            .info = {"gh", "GeneralizedHyperbolic", "GIG", NVMM_SUB_GIG, 3, {"p", "a", "b"}},
            .par_msg = {"p", "a", "b"},
            .par_positive = {false, true, true},
            .par_scale = {0, -1, +1},
            .eta_used = {true, true, true},
            .start = {1.0, 1.0, 1.0},
            .start_unit_mean = true,
            .to_gig = gig_to_gig,
            .eta = gig_eta,
            .moment = gig_moment,
            .from_eta = nvmm__gig_from_eta,
            .a_eq_b_scale = gig_a_eq_b,
            .sampler = nvmm__gig_sampler,
        },
    /* The GIG kind's closed forms, with p fixed: the inverse map uses only E 1/Y and E Y. */
    [NVMM_FAMILY_HYP] =
        {
            .info = {"hyp", "Hyperbolic", "GIG", NVMM_SUB_GIG, 3, {"p", "a", "b"}},
            .par_msg = {"p", "a", "b"},
            .par_positive = {false, true, true},
            .par_scale = {0, -1, +1},
            .eta_used = {false, true, true},
            .start = {1.0, 1.0, 1.0},
            .start_unit_mean = true,
            .fixed_par0 = hyp_p,
            .to_gig = gig_to_gig,
            .eta = gig_eta,
            .moment = gig_moment,
            .from_eta = nvmm__hyp_from_eta,
            .a_eq_b_scale = gig_a_eq_b,
            .sampler = nvmm__gig_sampler,
        },
};

const nvmm_family_info *nvmm_family_get(nvmm_family f) {
  const nvmm__family *fd = nvmm__family_of(f);
  return fd ? &fd->info : NULL;
}
