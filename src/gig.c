/* gig.c: the subordinators' public entry points over the family table (family.c): validation,
 * the GIG embedding, expectation parameters, moments, the scale action Y -> sY
 * (src/numerics.md 2.1-2.5); GIG's eta and the GIG integral of the log-densities
 * (src/numerics.md 3.1). The inverse map eta -> parameters is gig_solve.c's. */
#include "nvmm/gig.h"

#include <math.h>

#include "family.h"
#include "gig_impl.h"
#include "nvmm/bessel.h"

const char *nvmm__sub_kind_name(nvmm_sub_kind kind) {
  const nvmm__family *fd = nvmm__family_of_kind(kind);
  return fd ? fd->info.sub_title : "unknown";
}

nvmm_status nvmm_sub_validate(const nvmm_sub *s) {
  NVMM_CHECK(s != NULL, NVMM_EINVAL, "sub_validate: subordinator is NULL");
  const nvmm__family *fd = nvmm__family_of_kind(s->kind);
  NVMM_CHECK(fd != NULL, NVMM_EINVAL, "sub_validate: unknown subordinator kind %d", (int)s->kind);
  for (int i = 0; i < fd->info.nsub; i++) {
    double q = s->par[i];
    if (fd->par_positive[i])
      NVMM_CHECK(nvmm__pos_finite(q), NVMM_EDOM, "%s %s = %g must be positive and finite",
                 fd->info.sub_title, fd->par_msg[i], q);
    else
      NVMM_CHECK(isfinite(q), NVMM_EDOM, "%s %s = %g must be finite", fd->info.sub_title,
                 fd->par_msg[i], q);
  }
  return NVMM_OK;
}

nvmm_status nvmm_sub_make(nvmm_sub_kind kind, const double par[3], nvmm_sub *out) {
  NVMM_CHECK(out != NULL, NVMM_EINVAL, "sub_make: out is NULL");
  const nvmm__family *fd = nvmm__family_of_kind(kind);
  NVMM_CHECK(fd != NULL, NVMM_EINVAL, "sub_make: unknown subordinator kind %d", (int)kind);
  int np = fd->info.nsub;
  NVMM_CHECK(np == 0 || par != NULL, NVMM_EINVAL, "sub_make: %s needs parameters, par is NULL",
             fd->info.sub_title);
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
  const nvmm__family *fd = nvmm__family_of_kind(s->kind);
  NVMM_CHECK(fd->to_gig != NULL, NVMM_EINVAL,
             "sub_to_gig: the degenerate subordinator (Y = 1) has no GIG form");
  double g[3];
  fd->to_gig(s->par, g);
  *p = g[0], *a = g[1], *b = g[2];
  return NVMM_OK;
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
  return nvmm__family_of_kind(s->kind)->eta(s->par, eta);
}

nvmm_status nvmm_sub_moment(const nvmm_sub *s, double r, double *m) {
  NVMM_CALL(nvmm_sub_validate(s));
  NVMM_CHECK(m != NULL, NVMM_EINVAL, "sub_moment: m is NULL");
  NVMM_CHECK(isfinite(r), NVMM_EDOM, "sub_moment: order r = %g must be finite", r);
  if (r == 0.0) {
    *m = 1.0;
    return NVMM_OK;
  }
  return nvmm__family_of_kind(s->kind)->moment(s->par, r, m);
}

nvmm_status nvmm_sub_rescale(nvmm_sub *sub, double s) {
  NVMM_CALL(nvmm_sub_validate(sub));
  NVMM_CHECK(nvmm__pos_finite(s), NVMM_EDOM,
             "sub_rescale: scale s = %g must be positive and finite", s);
  const nvmm__family *fd = nvmm__family_of_kind(sub->kind);
  NVMM_CHECK(fd->info.nsub > 0, NVMM_EINVAL,
             "sub_rescale: the degenerate subordinator (Y = 1) cannot be rescaled (s = %g)", s);
  /* src/numerics.md 2.5, 12.16: Y -> sY is Gamma beta/s, InverseGamma beta*s, IG (s mu, s lambda),
   * GIG (p, a/s, b*s). No clipping: an over/underflow is an error, not a silent clamp. */
  nvmm_sub t = *sub;
  for (int i = 0; i < fd->info.nsub; i++)
    t.par[i] = fd->par_scale[i] < 0   ? sub->par[i] / s
               : fd->par_scale[i] > 0 ? sub->par[i] * s
                                      : sub->par[i];
  nvmm_status st = nvmm_sub_validate(&t);
  NVMM_CHECK(st == NVMM_OK, NVMM_EDOM,
             "sub_rescale: %s rescaled by s = %g leaves the representable range",
             fd->info.sub_title, s);
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
