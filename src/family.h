/* family.h: the family table (library-internal): one descriptor per family and its subordinator
 * (names, parameters, start, closed forms, inverse map, sampler). Code that needs to know what
 * a family is asks its row here instead of branching on the family (src/architecture.md 3.4). */
#ifndef NVMM_FAMILY_H
#define NVMM_FAMILY_H

#include <stdbool.h>

#include "nvmm/model.h"

/* A subordinator law prepared for drawing (sample.c owns the layout). */
typedef struct nvmm__sampler nvmm__sampler;

typedef struct nvmm__family {
  nvmm_family_info info; /* the public part: names, subordinator kind and parameter names */
  /* The parameters in nvmm_sub.par order, for messages ("shape alpha"). */
  const char *par_msg[3];
  /* Positive (and then SQUAREM and the stopping rule work with its log) or any finite value
   * (GH's p, src/numerics.md 8.2 and 8.4). */
  bool par_positive[3];
  /* Y -> sY maps the parameter to par / s (-1), par * s (+1) or leaves it (0)
   * (src/numerics.md 2.5). */
  signed char par_scale[3];
  /* Which of eta = (E log Y, E 1/Y, E Y) the inverse map uses (src/numerics.md 5.3-5.5); the
   * E-step skips E log Y where it is not used (src/numerics.md 4.2). */
  bool eta_used[3];
  /* The start before the moment initialization (src/numerics.md 7.3), rescaled to E[Y] = 1 where
   * start_unit_mean is set (where it does not already hold exactly). */
  double start[3];
  bool start_unit_mean;
  /* The value at which a family fixes its first subordinator parameter, given d: the hyperbolic
   * family's p = (d + 1) / 2 (src/numerics.md 1.2); NULL where every parameter is free. The start
   * sets it, the inverse map keeps the warm start's value, and nvmm_model_set refuses any other
   * (so the accelerator and the stopping rule see it constant: src/numerics.md 5.11). */
  double (*fixed_par0)(size_t d);
  /* Closed forms of the classical parameters q (validated by the caller): the GIG embedding,
   * eta (src/numerics.md 2.1-2.4) and the raw moment E[Y^r], r != 0 (+inf where infinite).
   * to_gig is NULL for the degenerate subordinator, which has no GIG form. */
  void (*to_gig)(const double q[3], double g[3]);
  nvmm_status (*eta)(const double q[3], double eta[3]);
  nvmm_status (*moment)(const double q[3], double r, double *m);
  /* The inverse map eta -> parameters (gig_solve.c), arguments as nvmm_sub_from_eta's; info
   * has been zeroed and is never NULL. */
  nvmm_status (*from_eta)(const double eta[3], const nvmm_sub *warm, double alpha_min,
                          nvmm_sub *out, nvmm_sub_info *info);
  /* The scale s with which the a = b gauge (src/numerics.md 6.2) rescales the model; NULL where
   * that gauge is the identity. */
  double (*a_eq_b_scale)(const double q[3]);
  /* Prepares s (of this family's kind) for drawing (sample.c, src/numerics.md 9.2). */
  nvmm_status (*sampler)(const nvmm_sub *s, nvmm__sampler *sm);
} nvmm__family;

/* The table, indexed by nvmm_family. The subordinator kinds are numbered as the first families
 * that use them (static assertions in family.c), so one row serves both; the hyperbolic family
 * shares the GIG kind with GH and has a row of its own after them. */
extern const nvmm__family nvmm__families[NVMM_FAMILY_COUNT];

/* The row of a family or of a subordinator kind; NULL outside the enum. */
static inline const nvmm__family *nvmm__family_of(nvmm_family f) {
  return (unsigned)f < NVMM_FAMILY_COUNT ? &nvmm__families[f] : NULL;
}
static inline const nvmm__family *nvmm__family_of_kind(nvmm_sub_kind k) {
  return (unsigned)k <= (unsigned)NVMM_SUB_GIG ? &nvmm__families[k] : NULL;
}

/* Whether the family has a latent variable Y (all but the Gaussian baseline). */
static inline bool nvmm__latent(nvmm_family f) { return nvmm__families[f].info.nsub > 0; }

/* The inverse maps of gig_solve.c, one per kind. */
nvmm_status nvmm__degenerate_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                                      nvmm_sub *out, nvmm_sub_info *info);
nvmm_status nvmm__gamma_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                                 nvmm_sub *out, nvmm_sub_info *info);
nvmm_status nvmm__invgamma_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                                    nvmm_sub *out, nvmm_sub_info *info);
nvmm_status nvmm__invgauss_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                                    nvmm_sub *out, nvmm_sub_info *info);
nvmm_status nvmm__gig_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                               nvmm_sub *out, nvmm_sub_info *info);
/* The hyperbolic family's: a GIG with the warm start's p (gig_fixp.c); warm is required. */
nvmm_status nvmm__hyp_from_eta(const double eta[3], const nvmm_sub *warm, double alpha_min,
                               nvmm_sub *out, nvmm_sub_info *info);
/* The M-step's inverse map of a family (its row's, unlike nvmm_sub_from_eta, which goes by the
 * subordinator kind): arguments and checks as nvmm_sub_from_eta's. */
nvmm_status nvmm__family_from_eta(nvmm_family family, const double eta[3], const nvmm_sub *warm,
                                  double alpha_min, nvmm_sub *out, nvmm_sub_info *info);

/* The samplers of sample.c, one per kind. */
nvmm_status nvmm__degenerate_sampler(const nvmm_sub *s, nvmm__sampler *sm);
nvmm_status nvmm__gamma_sampler(const nvmm_sub *s, nvmm__sampler *sm);
nvmm_status nvmm__invgamma_sampler(const nvmm_sub *s, nvmm__sampler *sm);
nvmm_status nvmm__invgauss_sampler(const nvmm_sub *s, nvmm__sampler *sm);
nvmm_status nvmm__gig_sampler(const nvmm_sub *s, nvmm__sampler *sm);

#endif
