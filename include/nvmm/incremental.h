/* nvmm/incremental.h: the pieces of incremental (mini-batch) EM that act on expectation
 * parameters: the eta-update rules, the expectation parameters of a model (the start of the
 * running eta and the shrinkage targets), and the update eta_t = rule(eta_{t-1}, eta_hat)
 * shrunk towards a target. See src/numerics.md 13. */
#ifndef NVMM_INCREMENTAL_H
#define NVMM_INCREMENTAL_H

#include <stddef.h>
#include <stdint.h>

#include "nvmm/model.h"
#include "nvmm/stats.h"
#include "nvmm/status.h"

/* An expectation-parameter vector eta is laid out as the statistics (nvmm/stats.h) divided by
 * their row count: eta[NVMM_ST_N] = 1, then the means of u, v, l, ..., so the M-step takes it as
 * it takes summed statistics. */

/* The affine rules eta_t = b eta_{t-1} + c eta_hat (src/numerics.md 13.1); step t is 0-based. */
typedef enum nvmm_eta_rule_kind {
  NVMM_ETA_IDENTITY = 0,    /* b = 0, c = 1: each batch alone */
  NVMM_ETA_ROBBINS_MONRO,   /* c = (tau0 + t)^-kappa, b = 1 - c */
  NVMM_ETA_SAMPLE_WEIGHTED, /* c = m / (seen + m), b = 1 - c: the mean of every row seen */
  NVMM_ETA_EWMA,            /* c = w, b = 1 - w */
  NVMM_ETA_AFFINE,          /* constant b, c */
  NVMM_ETA_COUNT
} nvmm_eta_rule_kind;

typedef struct nvmm_eta_rule {
  nvmm_eta_rule_kind kind;
  double tau0, kappa; /* Robbins-Monro (tau0 >= 1, 1/2 < kappa <= 1) */
  double w;           /* EWMA (0 < w <= 1) */
  double b, c;        /* affine (finite) */
} nvmm_eta_rule;

/* Robbins-Monro with tau0 = 10 and kappa = 0.6 (the reference system has kappa = 1:
 * src/numerics.md 13.5), w = 0.1 for EWMA, b = 0, c = 1 for affine. */
NVMM_EXTERN void nvmm_eta_rule_default(nvmm_eta_rule *r);

/* Checks a rule's kind and constants. Errors: NVMM_EINVAL naming the constant. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_eta_rule_check(const nvmm_eta_rule *r);

/* Parses "identity", "robbins_monro[:tau0[:kappa]]", "sample_weighted", "ewma[:w]" or
 * "affine:b:c" into r (unset constants keep nvmm_eta_rule_default's values). Errors:
 * NVMM_EINVAL naming what is wrong. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_eta_rule_parse(const char *text, nvmm_eta_rule *r);

/* The rule's name as nvmm_eta_rule_parse reads it ("robbins_monro"). */
NVMM_EXTERN const char *nvmm_eta_rule_name(nvmm_eta_rule_kind k);

/* The weights (b, c) of step t (0-based) for a batch of m rows after `seen` rows. */
NVMM_EXTERN void nvmm_eta_rule_weights(const nvmm_eta_rule *r, int64_t t, double seen, double m,
                                       double *b, double *c);

/* Shrinkage towards a target (src/numerics.md 13.2): eta_t = (tau eta0 + base) / (1 + tau) per
 * statistic, base the rule's update. tau_vec (nvmm_stats_len(d) values) overrides the scalar
 * tau where given (a weight only on the u x x^T entries shrinks Sigma alone). */
typedef struct nvmm_shrinkage {
  const double *eta0;    /* the target (eta layout); NULL for no shrinkage */
  double tau;            /* >= 0 */
  const double *tau_vec; /* NULL, or per-statistic weights >= 0 */
} nvmm_shrinkage;

/* out = (tau eta0 + eta) / (1 + tau) per statistic (tau_vec's where given); out[NVMM_ST_N] = 1
 * and the entries that are not expectations (NVMM_ST_LOGF, NVMM_ST_FLOOR) are eta's own. out
 * may alias eta. The fit shrinks the M-step's input this way, not the running eta
 * (src/numerics.md 13.2). */
NVMM_EXTERN void nvmm_eta_shrink(const nvmm_shrinkage *s, size_t len, const double *eta,
                                 double *out);

/* out = shrink(b prev + c hat) over len = nvmm_stats_len(d) entries, with (b, c) from
 * nvmm_eta_rule_weights; out[NVMM_ST_N] = 1 (out may alias prev). shrink may be NULL. The
 * entries that are not expectations (NVMM_ST_LOGF, NVMM_ST_FLOOR) are the batch's own. */
NVMM_EXTERN void nvmm_eta_update(const nvmm_eta_rule *r, int64_t t, double seen, double m,
                                 size_t len, const double *prev, const double *hat,
                                 const nvmm_shrinkage *shrink, double *out);

/* The expectation parameters of model m (src/numerics.md 13.3): E[1/Y], E[Y], E[log Y] (0 where
 * the family's M-step does not use it, as in the E-step), E[X] = mu + gamma E[Y],
 * E[X/Y] = mu E[1/Y] + gamma and E[X X^T / Y] = Sigma + mu mu^T E[1/Y] + gamma gamma^T E[Y] +
 * mu gamma^T + gamma mu^T, with Sigma replaced by sigma0 (d x d, row-major) when it is given.
 * A moment that is infinite (VG's E[1/Y], NInvG's E[Y] for alpha <= 1) is taken at the prior
 * moment floor beta / max(alpha - 1, 0.1), and *floors (may be NULL) counts the floors applied.
 * eta holds nvmm_stats_len(d) values. Errors: NVMM_EINVAL, NVMM_EDOM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_eta(const nvmm_model *m, const double *sigma0,
                                                      double *eta, int *floors);

/* The floor on alpha - 1 in the prior moments (src/numerics.md 13.3). */
#define NVMM_ALPHA_MOMENT_MARGIN 0.1

#endif
