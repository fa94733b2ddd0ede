/* fit_shrink.c: shrinkage inside the fit (src/numerics.md 13.2): the target's expectation
 * parameters eta0, built once from the start model or a given one; the penalized M-step's input
 * (batch: tau n pseudo-rows of the target added to the sums; incremental: the running eta blended
 * with the target); the penalty's own gauge; and the penalty tau E_eta0[log p(X, Y | theta)]
 * that the stopping rule and SQUAREM's safeguard add to the log-likelihood. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "family.h"
#include "fit_impl.h"
#include "nvmm/penalty.h"

nvmm_status nvmm__shrink_alloc(nvmm_fit *f) {
  if (f->o.shrink == NVMM_SHRINK_NONE)
    return NVMM_OK;
  size_t d = f->d;
  f->shr_eta0 = calloc(2 * f->len, sizeof(double));
  f->shr_scratch = calloc(d * d + 2 * d, sizeof(double));
  f->h_pen = calloc((size_t)f->hist_cap, sizeof(double));
  NVMM_CHECK(f->shr_eta0 && f->shr_scratch && f->h_pen, NVMM_ENOMEM,
             "cannot allocate the shrinkage target (d = %zu)", d);
  f->shr_buf = f->shr_eta0 + f->len;
  return NVMM_OK;
}

nvmm_status nvmm_fit_set_shrink_target(nvmm_fit *f, const nvmm_model *t) {
  NVMM_CHECK(f && t, NVMM_EINVAL, "fit and target model must not be NULL");
  NVMM_CHECK(f->o.shrink == NVMM_SHRINK_GIVEN, NVMM_EINVAL,
             "a shrinkage target model is for the shrinkage target 'given' only");
  NVMM_CHECK(t->family == f->o.family && t->d == f->d, NVMM_EINVAL,
             "the shrinkage target is %s of dimension %zu, the fit is %s of dimension %zu",
             nvmm_family_name(t->family), t->d, nvmm_family_name(f->o.family), f->d);
  if (!f->shr_given)
    NVMM_CALL(nvmm_model_alloc(f->o.family, f->d, &f->shr_given));
  return nvmm_model_copy(f->shr_given, t);
}

/* The penalty per row in the user's units: the density of x = c + s x~ is the standardized
 * one over prod s_j, a constant along the fit that keeps the objective comparable with the
 * log-likelihood it is added to. NAN where the model has no finite penalty. */
double nvmm__penalty(const nvmm_fit *f, const nvmm_model *m) {
  double p;
  if (nvmm_model_penalty(m, f->shr_eta0, f->shr_scratch, &p) != NVMM_OK)
    return NAN;
  return f->o.shrink_tau * (p - nvmm__log_scale_sum(f) / 2.0);
}

/* The log-likelihood does not change along the scale orbit, the penalty does: the point of the
 * orbit that maximizes it maximizes the objective there (src/numerics.md 13.2). */
nvmm_status nvmm__shrink_gauge(const nvmm_fit *f, nvmm_model *m) {
  if (!nvmm__latent(f->o.family))
    return NVMM_OK; /* the Gaussian has no orbit */
  double s;
  NVMM_CALL(nvmm_model_penalty_scale(m, f->shr_eta0, f->shr_scratch, &s));
  return nvmm_model_rescale(m, s);
}

void nvmm__shrink_stats(nvmm_fit *f) {
  if (f->o.shrink == NVMM_SHRINK_NONE)
    return;
  /* The penalized M-step is the plain one on the sums plus tau n rows of the target's moments
   * (its N entry is 1); the log-likelihood and the floor count stay the data's own. */
  const double w = f->o.shrink_tau * (double)f->n;
  for (size_t k = 0; k < f->len; k++)
    if (k != NVMM_ST_LOGF && k != NVMM_ST_FLOOR)
      f->stats[k] += w * f->shr_eta0[k];
}

const double *nvmm__shrink_eta(nvmm_fit *f, const double *eta) {
  if (f->o.shrink == NVMM_SHRINK_NONE)
    return eta;
  const nvmm_shrinkage s = {f->shr_eta0, f->o.shrink_tau, NULL};
  nvmm_eta_shrink(&s, f->len, eta, f->shr_buf);
  return f->shr_buf;
}

/* The target in the user's units: the given model, or the start model in the gauge |Sigma| = 1
 * with its Sigma replaced as the option names, so that s2 = 1 keeps the start's |Sigma|. */
static nvmm_status build_target(nvmm_fit *f, nvmm_model *t, double *sigma0) {
  size_t d = f->d;
  if (f->o.shrink == NVMM_SHRINK_GIVEN) {
    NVMM_CHECK(f->shr_given, NVMM_EINVAL,
               "the shrinkage target 'given' needs a model (nvmm_fit_set_shrink_target)");
    NVMM_CALL(nvmm_model_copy(t, f->shr_given));
  } else {
    NVMM_CALL(nvmm_fit_model(f, t));
    NVMM_CALL(nvmm_model_regularize(t, NVMM_REG_DET_SIGMA_ONE, 0.0));
  }
  memcpy(sigma0, t->sigma, d * d * sizeof *sigma0);
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      if (f->o.shrink == NVMM_SHRINK_ISOTROPIC)
        sigma0[i * d + j] = i == j ? f->o.shrink_s2 : 0.0;
      else if (f->o.shrink == NVMM_SHRINK_DIAGONAL && i != j)
        sigma0[i * d + j] = 0.0;
    }
  return NVMM_OK;
}

nvmm_status nvmm__shrink_start(nvmm_fit *f) {
  f->shr_floors = 0;
  f->pen_init = 0.0;
  if (f->o.shrink == NVMM_SHRINK_NONE)
    return NVMM_OK;
  nvmm_model *t = NULL;
  double *sigma0 = calloc(f->d * f->d, sizeof *sigma0);
  nvmm_status st =
      sigma0 ? nvmm_model_alloc(f->o.family, f->d, &t)
             : NVMM_RAISE(NVMM_ENOMEM, "cannot allocate the shrinkage target (d = %zu)", f->d);
  if (st == NVMM_OK)
    st = build_target(f, t, sigma0);
  /* f->next is free at the start: the target, standardized, passes through it. */
  if (st == NVMM_OK)
    st = nvmm__from_user(f, t, sigma0, f->next);
  if (st == NVMM_OK)
    st = nvmm_model_eta(f->next, NULL, f->shr_eta0, &f->shr_floors);
  nvmm_model_free(&t);
  free(sigma0);
  if (st != NVMM_OK)
    return st; /* raised where it failed, with its reason */
  /* The initial model in the penalty's gauge, as every update will be. */
  NVMM_CALL(nvmm__shrink_gauge(f, f->model));
  f->pen_init = nvmm__penalty(f, f->model);
  NVMM_CHECK(isfinite(f->pen_init), NVMM_EDOM, "the initial model has no finite penalty");
  return NVMM_OK;
}

const double *nvmm_fit_history_penalty(const nvmm_fit *f) { return f ? f->h_pen : NULL; }
