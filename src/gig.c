/* gig.c: the subordinators (Gamma, InverseGamma, InverseGaussian, GIG): validation, the GIG
 * embedding, expectation parameters, moments, the scale action Y -> sY
 * (src/numerics.md 2.1-2.5), and the GIG integral of the log-densities (src/numerics.md 3.1).
 * The inverse map eta -> parameters is gig_solve.c's. */
#include "nvmm/gig.h"

#include <math.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sf_psi.h>

#include "gig_impl.h"
#include "nvmm/bessel.h"

const char *nvmm__sub_kind_name(nvmm_sub_kind kind) {
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

nvmm_status nvmm_sub_validate(const nvmm_sub *s) {
  NVMM_CHECK(s != NULL, NVMM_EINVAL, "sub_validate: subordinator is NULL");
  const double *q = s->par;
  switch (s->kind) {
  case NVMM_SUB_DEGENERATE:
    return NVMM_OK;
  case NVMM_SUB_GAMMA:
  case NVMM_SUB_INVGAMMA:
    NVMM_CHECK(nvmm__pos_finite(q[0]), NVMM_EDOM, "%s shape alpha = %g must be positive and finite",
               nvmm__sub_kind_name(s->kind), q[0]);
    NVMM_CHECK(nvmm__pos_finite(q[1]), NVMM_EDOM, "%s rate beta = %g must be positive and finite",
               nvmm__sub_kind_name(s->kind), q[1]);
    return NVMM_OK;
  case NVMM_SUB_INVGAUSS:
    NVMM_CHECK(nvmm__pos_finite(q[0]), NVMM_EDOM,
               "InverseGaussian mean mu = %g must be positive and finite", q[0]);
    NVMM_CHECK(nvmm__pos_finite(q[1]), NVMM_EDOM,
               "InverseGaussian shape lambda = %g must be positive and finite", q[1]);
    return NVMM_OK;
  case NVMM_SUB_GIG:
    NVMM_CHECK(isfinite(q[0]), NVMM_EDOM, "GIG p = %g must be finite", q[0]);
    NVMM_CHECK(nvmm__pos_finite(q[1]), NVMM_EDOM, "GIG a = %g must be positive and finite", q[1]);
    NVMM_CHECK(nvmm__pos_finite(q[2]), NVMM_EDOM, "GIG b = %g must be positive and finite", q[2]);
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
             nvmm__sub_kind_name(kind));
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
    /* lambda / mu^2 as (lambda / mu) / mu: no intermediate overflow (src/numerics.md 2.3). */
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

/* E log Y, E 1/Y, E Y of GIG(p, a, b) from the Bessel ratios and d/dnu log K (src/numerics.md 2.4).
 * sqrt(b)/sqrt(a) rather than sqrt(b/a): no overflow for extreme a, b. */
nvmm_status nvmm__gig_eta(double p, double a, double b, double eta[3]) {
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
    /* src/numerics.md 2.1; E 1/Y = beta / (alpha - 1) exists only for alpha > 1. */
    NVMM_CHECK(gsl_sf_psi_e(q[0], &psi) == GSL_SUCCESS, NVMM_EDOM,
               "Gamma: digamma(alpha = %g) failed", q[0]);
    eta[0] = psi.val - log(q[1]);
    eta[1] = q[0] > 1.0 ? q[1] / (q[0] - 1.0) : INFINITY;
    eta[2] = q[0] / q[1];
    return NVMM_OK;
  case NVMM_SUB_INVGAMMA:
    /* src/numerics.md 2.2; E Y = beta / (alpha - 1) exists only for alpha > 1. */
    NVMM_CHECK(gsl_sf_psi_e(q[0], &psi) == GSL_SUCCESS, NVMM_EDOM,
               "InverseGamma: digamma(alpha = %g) failed", q[0]);
    eta[0] = log(q[1]) - psi.val;
    eta[1] = q[0] / q[1];
    eta[2] = q[0] > 1.0 ? q[1] / (q[0] - 1.0) : INFINITY;
    return NVMM_OK;
  case NVMM_SUB_INVGAUSS: {
    /* src/numerics.md 2.3: E Y, E 1/Y in closed form; E log Y through GIG(-1/2, lambda/mu^2,
     * lambda), whose omega = lambda / mu and delta = mu. */
    double d1;
    NVMM_CALL(nvmm_bessel_dnu(-0.5, q[1] / q[0], &d1, NULL));
    eta[0] = log(q[0]) + d1;
    eta[1] = 1.0 / q[0] + 1.0 / q[1];
    eta[2] = q[0];
    return NVMM_OK;
  }
  case NVMM_SUB_GIG:
    return nvmm__gig_eta(q[0], q[1], q[2], eta);
  }
  NVMM_ERROR(NVMM_EINVAL, "sub_eta: unknown subordinator kind %d", (int)s->kind);
}

/* E[Y^r] = (b/a)^(r/2) K_{p+r}(omega) / K_p(omega) in log form (src/numerics.md 2.4). */
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
  NVMM_CHECK(nvmm__pos_finite(s), NVMM_EDOM,
             "sub_rescale: scale s = %g must be positive and finite", s);
  nvmm_sub t = *sub;
  /* src/numerics.md 2.5, 12.16: Y -> sY is Gamma beta/s, InverseGamma beta*s, IG (s mu, s lambda),
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
             nvmm__sub_kind_name(sub->kind), s);
  *sub = t;
  return NVMM_OK;
}

nvmm_status nvmm__log_gig_integral(double nu, double a, double b, double *out) {
  NVMM_CHECK(a >= 0 && b >= 0 && isfinite(a) && isfinite(b) && isfinite(nu), NVMM_EDOM,
             "GIG integral needs finite nu and a, b >= 0 (nu = %g, a = %g, b = %g)", nu, a, b);
  if (a == 0.0 && b == 0.0) {
    *out = INFINITY;
  } else if (a == 0.0) {
    /* Inverse-gamma kernel: Gamma(-nu) (b/2)^nu, finite only for nu < 0. */
    *out = nu < 0 ? lgamma(-nu) + nu * log(0.5 * b) : INFINITY;
  } else if (b == 0.0) {
    /* Gamma kernel: Gamma(nu) (2/a)^nu, finite only for nu > 0. */
    *out = nu > 0 ? lgamma(nu) - nu * log(0.5 * a) : INFINITY;
  } else {
    /* 2 (b/a)^(nu/2) K_nu(sqrt(ab)); the logs of a and b are taken separately so that neither
     * the ratio nor the product can overflow. */
    double lk;
    NVMM_CALL(nvmm_bessel_lnk(nu, sqrt(a) * sqrt(b), &lk));
    *out = M_LN2 + 0.5 * nu * (log(b) - log(a)) + lk;
  }
  return NVMM_OK;
}
