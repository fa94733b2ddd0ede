/* nvmm/gig.h: the subordinators (Gamma, InverseGamma, InverseGaussian, GIG): parameters,
 * expectation parameters eta = (E log Y, E 1/Y, E Y), the inverse map from_expectation, and the
 * scale action Y -> sY. See src/numerics.md 2 and 5.3-5.7. */
#ifndef NVMM_GIG_H
#define NVMM_GIG_H

#include "nvmm/status.h"

typedef enum nvmm_sub_kind {
  NVMM_SUB_DEGENERATE = 0, /* Y = 1 almost surely (the Gaussian baseline) */
  NVMM_SUB_GAMMA,          /* par = (alpha shape, beta rate); GIG(alpha, 2 beta, 0) */
  NVMM_SUB_INVGAMMA,       /* par = (alpha shape, beta rate); GIG(-alpha, 0, 2 beta) */
  NVMM_SUB_INVGAUSS,       /* par = (mu mean, lambda shape); GIG(-1/2, lambda/mu^2, lambda) */
  NVMM_SUB_GIG             /* par = (p, a, b); density ~ y^(p-1) exp(-(a y + b/y)/2) */
} nvmm_sub_kind;

/* A subordinator: its kind and classical parameters (unused entries are 0). Plain data. */
typedef struct nvmm_sub {
  nvmm_sub_kind kind;
  double par[3];
} nvmm_sub;

/* What one from_expectation solve did (numerical kinds only). */
typedef struct nvmm_sub_info {
  int iterations;   /* Newton iterations taken */
  int fallback;     /* 1 if no interior GIG was found: the boundary fit or the warm start */
  int boundary;     /* 1 if eta lies beyond the Gamma (b -> 0) or InverseGamma (a -> 0) limit
                     * and that limit's fit was returned (as a GIG with sqrt(ab) = 1e-8) */
  int ridge;        /* Newton steps whose Hessian needed an eigenvalue floor */
  double grad_norm; /* max relative moment mismatch at the returned parameters */
} nvmm_sub_info;

/* Builds and validates a subordinator. Errors: NVMM_EDOM naming the bad parameter. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_sub_make(nvmm_sub_kind kind, const double par[3],
                                                     nvmm_sub *out);

/* Checks kind and parameters (positive, finite). Errors: NVMM_EDOM, NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_sub_validate(const nvmm_sub *s);

/* The GIG(p, a, b) embedding (a = 0 for InverseGamma, b = 0 for Gamma). Degenerate: EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_sub_to_gig(const nvmm_sub *s, double *p, double *a,
                                                       double *b);

/* eta = (E log Y, E 1/Y, E Y). An infinite moment (Gamma E 1/Y with alpha <= 1, InverseGamma
 * E Y with alpha <= 1) is returned as +inf. Errors: NVMM_EDOM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_sub_eta(const nvmm_sub *s, double eta[3]);

/* Raw moment E[Y^r] (+inf where it does not exist). Errors: NVMM_EDOM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_sub_moment(const nvmm_sub *s, double r, double *m);

/* The law of sY for s > 0 (src/numerics.md 2.5, 12.16). Exact, no clipping. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_sub_rescale(nvmm_sub *sub, double s);

/* The parameters of kind whose expectation matches eta. Which entries are used: Gamma
 * (E log Y, E Y); InverseGamma (E log Y, E 1/Y); InverseGaussian (E 1/Y, E Y); GIG all three.
 * warm (may be NULL) is the previous GIG, used as Newton start and as the counted fallback.
 * A GIG eta beyond the Gamma or InverseGamma limit (no GIG has it) returns that limit's fit
 * (info->boundary, info->fallback). alpha_min (0 for none) is a lower bound on the Gamma shape
 * (VG's alpha_min). info may be NULL. Errors: NVMM_EDOM (eta inconsistent: E 1/Y E Y < 1,
 * non-finite), NVMM_ENOCONV (GIG solve failed and no warm start was given). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_sub_from_eta(nvmm_sub_kind kind, const double eta[3],
                                                         const nvmm_sub *warm, double alpha_min,
                                                         nvmm_sub *out, nvmm_sub_info *info);

/* Solves digamma(alpha) - log(alpha) = target (target < 0) for alpha > 0 (Minka's start,
 * safeguarded Newton; src/numerics.md 5.3). Errors: NVMM_EDOM, NVMM_ENOCONV. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_digamma_log_inverse(double target, double *alpha);

#endif
