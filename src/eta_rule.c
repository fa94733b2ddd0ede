/* eta_rule.c: incremental EM on expectation parameters: the eta-update rules and their
 * weights, the shrunk update, and the expectation parameters of a model (the running eta's
 * start and the shrinkage targets). See src/numerics.md 13. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "family.h"
#include "model_impl.h"
#include "nvmm/incremental.h"

static const char *const rule_names[NVMM_ETA_COUNT] = {"identity", "robbins_monro",
                                                       "sample_weighted", "ewma", "affine"};

const char *nvmm_eta_rule_name(nvmm_eta_rule_kind k) {
  return (unsigned)k < NVMM_ETA_COUNT ? rule_names[k] : "unknown";
}

void nvmm_eta_rule_default(nvmm_eta_rule *r) {
  /* tau0 = 10 as the reference system, but kappa = 0.6 where it has 1: with tail averaging,
   * one epoch of a 10^6-row GH sample lands 3e-5 below the MLE's mean log-likelihood instead
   * of 1.8e-3 (src/numerics.md 13.5). */
  *r = (nvmm_eta_rule){NVMM_ETA_ROBBINS_MONRO, 10.0, 0.6, 0.1, 0.0, 1.0};
}

nvmm_status nvmm_eta_rule_check(const nvmm_eta_rule *r) {
  NVMM_CHECK(r && (unsigned)r->kind < NVMM_ETA_COUNT, NVMM_EINVAL, "invalid eta-update rule");
  switch (r->kind) {
  case NVMM_ETA_ROBBINS_MONRO:
    /* tau0 >= 1 keeps the first weight c = tau0^-kappa within (0, 1]; kappa in (1/2, 1] is
     * where stochastic approximation converges (sum c = inf, sum c^2 < inf). */
    NVMM_CHECK(isfinite(r->tau0) && r->tau0 >= 1.0, NVMM_EINVAL,
               "robbins_monro: tau0 = %g must be finite and at least 1", r->tau0);
    NVMM_CHECK(r->kappa > 0.5 && r->kappa <= 1.0, NVMM_EINVAL,
               "robbins_monro: kappa = %g must lie in (0.5, 1]", r->kappa);
    break;
  case NVMM_ETA_EWMA:
    NVMM_CHECK(r->w > 0.0 && r->w <= 1.0, NVMM_EINVAL, "ewma: w = %g must lie in (0, 1]", r->w);
    break;
  case NVMM_ETA_AFFINE:
    NVMM_CHECK(isfinite(r->b) && isfinite(r->c), NVMM_EINVAL,
               "affine: b = %g and c = %g must be finite", r->b, r->c);
    break;
  default:
    break;
  }
  return NVMM_OK;
}

/* Reads up to max ':'-separated numbers after the name; returns how many, or -1. */
static int parse_numbers(const char *s, double *v, int max) {
  int k = 0;
  while (*s == ':') {
    if (k == max)
      return -1;
    char *end;
    v[k++] = strtod(s + 1, &end);
    if (end == s + 1)
      return -1;
    s = end;
  }
  return *s == '\0' ? k : -1;
}

nvmm_status nvmm_eta_rule_parse(const char *text, nvmm_eta_rule *r) {
  NVMM_CHECK(text && r, NVMM_EINVAL, "rule text and rule must not be NULL");
  nvmm_eta_rule_default(r);
  int kind = -1;
  size_t len = 0;
  for (int k = 0; k < NVMM_ETA_COUNT; k++) {
    size_t l = strlen(rule_names[k]);
    if (strncmp(text, rule_names[k], l) == 0 && (text[l] == '\0' || text[l] == ':'))
      kind = k, len = l;
  }
  NVMM_CHECK(kind >= 0, NVMM_EINVAL,
             "unknown eta-update rule '%s' (identity, robbins_monro[:tau0[:kappa]], "
             "sample_weighted, ewma[:w], affine:b:c)",
             text);
  static const int max_args[NVMM_ETA_COUNT] = {0, 2, 0, 1, 2};
  double v[2];
  int nv = parse_numbers(text + len, v, max_args[kind]);
  NVMM_CHECK(nv >= 0, NVMM_EINVAL, "eta-update rule '%s': bad or too many numbers after '%s'", text,
             rule_names[kind]);
  r->kind = (nvmm_eta_rule_kind)kind;
  if (kind == NVMM_ETA_ROBBINS_MONRO) {
    if (nv >= 1)
      r->tau0 = v[0];
    if (nv >= 2)
      r->kappa = v[1];
  } else if (kind == NVMM_ETA_EWMA && nv == 1) {
    r->w = v[0];
  } else if (kind == NVMM_ETA_AFFINE) {
    NVMM_CHECK(nv == 2, NVMM_EINVAL, "eta-update rule '%s': affine needs b and c (affine:b:c)",
               text);
    r->b = v[0], r->c = v[1];
  }
  return nvmm_eta_rule_check(r);
}

void nvmm_eta_rule_weights(const nvmm_eta_rule *r, int64_t t, double seen, double m, double *b,
                           double *c) {
  switch (r->kind) {
  case NVMM_ETA_IDENTITY:
    *b = 0.0, *c = 1.0;
    break;
  case NVMM_ETA_ROBBINS_MONRO:
    /* 0-based t, as the reference system: the first batch gets 1/tau0 (src/numerics.md 12.18). */
    *c = r->kappa == 1.0 ? 1.0 / (r->tau0 + (double)t) : pow(r->tau0 + (double)t, -r->kappa);
    *b = 1.0 - *c;
    break;
  case NVMM_ETA_SAMPLE_WEIGHTED:
    /* The running mean of every row seen: the first batch replaces the start. */
    *c = m / (seen + m);
    *b = seen / (seen + m);
    break;
  case NVMM_ETA_EWMA:
    *c = r->w, *b = 1.0 - r->w;
    break;
  default:
    *b = r->b, *c = r->c;
    break;
  }
}

void nvmm_eta_shrink(const nvmm_shrinkage *s, size_t len, const double *eta, double *out) {
  for (size_t k = 0; k < len; k++) {
    double tau = s->tau_vec ? s->tau_vec[k] : s->tau;
    out[k] = k == NVMM_ST_LOGF || k == NVMM_ST_FLOOR ? eta[k]
                                                     : (tau * s->eta0[k] + eta[k]) / (1.0 + tau);
  }
  out[NVMM_ST_N] = 1.0;
}

void nvmm_eta_update(const nvmm_eta_rule *r, int64_t t, double seen, double m, size_t len,
                     const double *prev, const double *hat, const nvmm_shrinkage *shrink,
                     double *out) {
  double b, c;
  nvmm_eta_rule_weights(r, t, seen, m, &b, &c);
  for (size_t k = 0; k < len; k++)
    out[k] = b * prev[k] + c * hat[k];
  out[NVMM_ST_N] = 1.0;
  out[NVMM_ST_LOGF] = hat[NVMM_ST_LOGF];
  out[NVMM_ST_FLOOR] = hat[NVMM_ST_FLOOR];
  if (shrink && shrink->eta0)
    nvmm_eta_shrink(shrink, len, out, out);
}

nvmm_status nvmm_model_eta(const nvmm_model *m, const double *sigma0, double *eta, int *floors) {
  NVMM_CHECK(m && eta, NVMM_EINVAL, "model and eta must not be NULL");
  NVMM_CALL(nvmm__model_dense(m, "nvmm_model_eta"));
  size_t d = m->d;
  const nvmm__family *fam = nvmm__family_of(m->family);
  NVMM_CHECK(fam, NVMM_EINVAL, "invalid family %d", (int)m->family);
  double se[3];
  NVMM_CALL(nvmm_sub_eta(&m->sub, se));
  int nf = 0;
  /* src/numerics.md 12.4: the infinite prior moment beta / (alpha - 1) of VG (E 1/Y) and NInvG
   * (E Y) at alpha <= 1 is taken at beta / max(alpha - 1, 0.1); the other two stay exact. */
  for (int k = 1; k <= 2; k++) {
    int floored =
        (m->sub.kind == NVMM_SUB_GAMMA && k == 1) || (m->sub.kind == NVMM_SUB_INVGAMMA && k == 2);
    if (floored && m->sub.par[0] - 1.0 < NVMM_ALPHA_MOMENT_MARGIN) {
      se[k] = m->sub.par[1] / NVMM_ALPHA_MOMENT_MARGIN;
      nf++;
    }
  }
  double u = se[1], v = se[2];
  eta[NVMM_ST_N] = 1.0;
  eta[NVMM_ST_U] = u;
  eta[NVMM_ST_V] = v;
  eta[NVMM_ST_L] = fam->eta_used[0] ? se[0] : 0.0; /* as the E-step leaves it */
  eta[NVMM_ST_LOGF] = 0.0;
  eta[NVMM_ST_FLOOR] = 0.0;
  double *ex = eta + nvmm_stats_x(d), *eux = eta + nvmm_stats_ux(d);
  double *euxx = eta + nvmm_stats_uxx(d);
  const double *mu = m->mu, *g = m->gamma, *s = sigma0 ? sigma0 : m->sigma;
  for (size_t j = 0; j < d; j++) {
    ex[j] = mu[j] + g[j] * v;
    eux[j] = mu[j] * u + g[j];
    for (size_t k = 0; k <= j; k++)
      *euxx++ = s[j * d + k] + mu[j] * mu[k] * u + g[j] * g[k] * v + mu[j] * g[k] + g[j] * mu[k];
  }
  if (floors)
    *floors = nf;
  for (size_t k = 0; k < nvmm_stats_len(d); k++)
    NVMM_CHECK(isfinite(eta[k]), NVMM_EDOM, "expectation parameter %zu of the model is not finite",
               k);
  return NVMM_OK;
}
