/* nvmm/mstep.h: the M-step: a new model from reduced statistics (nvmm/stats.h), whole or in
 * the two halves MCECM alternates, with every floor, clamp and fallback counted. See
 * src/numerics.md 5. */
#ifndef NVMM_MSTEP_H
#define NVMM_MSTEP_H

#include <stddef.h>

#include "nvmm/model.h"
#include "nvmm/stats.h"
#include "nvmm/status.h"

/* Counters of every floor, clamp and fallback the M-step applied. */
typedef struct nvmm_mstep_counts {
  long d_floor;      /* times D = 1 - S_inv S_y was floored to -1e-10 (src/numerics.md 5.1, 12.3) */
  long sigma_ridge;  /* times Sigma needed a relative ridge to factorize (src/numerics.md 5.2) */
  long gig_fallback; /* GIG solves without an interior solution: the Gamma or InverseGamma
                      * limit's fit taken (eta beyond it), or the previous GIG kept
                      * (src/numerics.md 5.7, 12.8) */
  long gig_ridge;    /* GIG Newton steps whose Hessian needed an eigenvalue floor */
  long alpha_clamp;  /* times the VG shape was raised to alpha_min */
} nvmm_mstep_counts;

/* A Cholesky factorization of the d x d row-major a into the row-major lower l with
 * *logdet = log|a|; returns NVMM_EFACTOR (not positive definite) without raising an error.
 * A collective factorizer (ScaLAPACK) must then be called by every rank alike. */
typedef nvmm_status nvmm_factor_fn(void *ctx, size_t d, const double *a, double *l, double *logdet);

typedef struct nvmm_mstep_opts {
  double alpha_min;       /* lower bound on the VG shape alpha (0: none; src/numerics.md 5.9) */
  nvmm_factor_fn *factor; /* Sigma's factorizer; NULL for LAPACK on this rank */
  void *factor_ctx;       /* its context */
  int symmetric;          /* 1: gamma = 0, mu the 1/Y-weighted mean (src/numerics.md 5.1) */
  double factor_d_floor;  /* the factor M-step's floor on D_j relative to A_j / n; 0 (or below
                             NVMM_FACTOR_D_FLOOR): NVMM_FACTOR_D_FLOOR (src/numerics.md 5.12) */
} nvmm_mstep_opts;

/* Full M-step (src/numerics.md 5): the Gaussian block in closed form and the subordinator
 * from its expectation parameters; cur is the current model (warm start, fallback); next
 * receives the new model (may alias cur). counts may be NULL; opts may be NULL (defaults).
 * scratch holds d*d + 2d doubles. Errors: NVMM_EDOM (empty or non-finite statistics),
 * NVMM_EFACTOR (Sigma not positive definite even after the counted ridge). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_mstep(const double *stats, const nvmm_model *cur,
                                                  nvmm_model *next, const nvmm_mstep_opts *opts,
                                                  nvmm_mstep_counts *counts, double *scratch);

/* The two halves of the M-step (used by MCECM): the Gaussian block only, keeping the
 * subordinator; and the subordinator only, keeping mu, gamma and Sigma. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_mstep_normal(const double *stats, const nvmm_model *cur,
                                                         nvmm_model *next,
                                                         const nvmm_mstep_opts *opts,
                                                         nvmm_mstep_counts *counts,
                                                         double *scratch);
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_mstep_sub(const double *stats, const nvmm_model *cur,
                                                      nvmm_model *next, const nvmm_mstep_opts *opts,
                                                      nvmm_mstep_counts *counts);

#endif
