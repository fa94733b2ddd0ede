/* fit_options.c: the fit's option defaults and checks, the names of its counters and reasons,
 * and the split of the rows into the ranks' shards. */
#include <math.h>
#include <string.h>

#include "fit_impl.h"

static const char *const counter_names[NVMM_NCOUNTERS] = {
    "bpost_floor", "d_floor",    "sigma_ridge",  "gig_fallback",     "gig_ridge",
    "alpha_clamp", "accel_step", "accel_reject", "accel_infeasible", "gauge_switch"};

const char *nvmm_counter_name(int c) {
  return c >= 0 && c < NVMM_NCOUNTERS ? counter_names[c] : "unknown";
}

const char *nvmm_fit_reason_name(nvmm_fit_reason r) {
  switch (r) {
  case NVMM_FIT_CONVERGED:
    return "converged";
  case NVMM_FIT_CONVERGED_PARAMS:
    return "converged_params";
  case NVMM_FIT_MAX_ITER:
    return "max_iter";
  case NVMM_FIT_DIVERGED:
    return "diverged";
  case NVMM_FIT_STOPPED:
    return "stopped";
  case NVMM_FIT_EPOCHS:
    return "epochs";
  case NVMM_FIT_UNBOUNDED:
    return "unbounded";
  default:
    return "iterating";
  }
}

void nvmm_fit_options_default(nvmm_family family, nvmm_fit_options *o) {
  /* src/numerics.md 8.1: det_sigma_one for every family, max_iter 200, tol 1e-3, em. */
  memset(o, 0, sizeof *o);
  o->family = family;
  o->algorithm = NVMM_ALG_EM;
  o->regularization = NVMM_REG_DET_SIGMA_ONE;
  o->max_iter = 200;
  o->stop = NVMM_STOP_MLE;
  o->accel = NVMM_ACCEL_SQUAREM;
  o->tol = 1e-3;
  /* 1e-3 nats in total: a parameter off the MLE by delta standard errors costs about delta^2/2
   * nats whatever n is, so this is ~0.05 standard errors, and well inside the 0.005 nats by
   * which the reference optima must be reached (src/numerics.md 8.3). */
  o->tol_ll = 1e-3;
  o->alpha_min = 0.0;
  /* The numerical floor only: a Heywood column (D_j -> 0) is the likelihood's own supremum on
   * the boundary, which a larger floor (R factanal's 0.005) would move (src/numerics.md 5.12). */
  o->factor_d_floor = NVMM_FACTOR_D_FLOOR;
  /* The moment start for GH too: with SQUAREM it reaches the same optima as the sub-model start
   * in fewer passes (src/numerics.md 7.4). */
  o->init = NVMM_INIT_MOMENTS;
  /* 4096 rows: block sums cost one exact accumulation per statistic per block, negligible
   * next to 4096 E-step rows, and a block of d = 100 doubles still fits in L2. */
  o->block_rows = 4096;
  o->standardize = 1;
  /* Measured crossover of ScaLAPACK over LAPACK for the M-step's Cholesky (README, ScaLAPACK). */
  o->scalapack_min_d = 2048;
  /* Incremental EM (src/numerics.md 13.5): one epoch, then the batch finish. */
  o->epochs = 1.0;
  o->batch_rows = 1024;
  nvmm_eta_rule_default(&o->eta_rule);
  o->seed = 0;
  o->finish = 1;
  o->eval_every = 0;
  o->average = 1;
  /* No shrinkage; an isotropic target keeps the start's |Sigma| (src/numerics.md 13.2). */
  o->shrink = NVMM_SHRINK_NONE;
  o->shrink_tau = 0.0;
  o->shrink_s2 = 1.0;
}

nvmm_status nvmm_fit_options_check(const nvmm_fit_options *o) {
  NVMM_CHECK(o, NVMM_EINVAL, "options are NULL");
  NVMM_CHECK((unsigned)o->family < NVMM_FAMILY_COUNT, NVMM_EINVAL, "invalid family %d",
             (int)o->family);
  NVMM_CHECK((unsigned)o->algorithm < NVMM_ALG_COUNT, NVMM_EINVAL, "invalid algorithm %d",
             (int)o->algorithm);
  NVMM_CHECK((unsigned)o->regularization < NVMM_REG_COUNT, NVMM_EINVAL, "invalid regularization %d",
             (int)o->regularization);
  NVMM_CHECK(o->max_iter >= 1, NVMM_EINVAL, "max_iter = %d must be at least 1", o->max_iter);
  NVMM_CHECK(isfinite(o->tol) && o->tol >= 0, NVMM_EBADTOL,
             "tol = %g must be finite and non-negative", o->tol);
  NVMM_CHECK(isfinite(o->tol_ll) && o->tol_ll >= 0, NVMM_EBADTOL,
             "tol_ll = %g must be finite and non-negative", o->tol_ll);
  NVMM_CHECK((unsigned)o->stop < NVMM_STOP_COUNT, NVMM_EINVAL, "invalid stopping rule %d",
             (int)o->stop);
  NVMM_CHECK((unsigned)o->accel < NVMM_ACCEL_COUNT, NVMM_EINVAL, "invalid acceleration %d",
             (int)o->accel);
  NVMM_CHECK(isfinite(o->alpha_min) && o->alpha_min >= 0, NVMM_EINVAL,
             "alpha_min = %g must be finite and non-negative", o->alpha_min);
  NVMM_CHECK(o->scalapack_min_d >= 1, NVMM_EINVAL, "scalapack_min_d = %lld must be positive",
             (long long)o->scalapack_min_d);
  NVMM_CHECK(o->block_rows >= 1, NVMM_EINVAL, "block_rows = %lld must be positive",
             (long long)o->block_rows);
  NVMM_CHECK(o->symmetric == 0 || o->symmetric == 1, NVMM_EINVAL, "symmetric = %d must be 0 or 1",
             o->symmetric);
  NVMM_CHECK(o->init != NVMM_INIT_SUBMODELS || o->family == NVMM_FAMILY_GH, NVMM_EINVAL,
             "the sub-model initialization is for the GH family only");
  if (o->algorithm == NVMM_ALG_INCREMENTAL) {
    NVMM_CHECK(isfinite(o->epochs) && o->epochs > 0, NVMM_EINVAL,
               "epochs = %g must be finite and positive", o->epochs);
    NVMM_CHECK(o->batch_rows >= 1, NVMM_EINVAL, "batch_rows = %lld must be positive",
               (long long)o->batch_rows);
    NVMM_CHECK(o->eval_every >= 0, NVMM_EINVAL, "eval_every = %lld must not be negative",
               (long long)o->eval_every);
    NVMM_CALL(nvmm_eta_rule_check(&o->eta_rule));
  }
  NVMM_CHECK(o->factor_d_floor >= NVMM_FACTOR_D_FLOOR && o->factor_d_floor < 1, NVMM_EINVAL,
             "factor_d_floor = %g must lie in [%g, 1)", o->factor_d_floor, NVMM_FACTOR_D_FLOOR);
  NVMM_CHECK(o->factors >= 0, NVMM_EINVAL, "factors = %lld must not be negative",
             (long long)o->factors);
  if (o->factors > 0) {
    /* What the factor path covers so far (src/numerics.md 5.12): batch EM from the PCA start or
     * a given model. */
    NVMM_CHECK(o->algorithm == NVMM_ALG_EM, NVMM_EINVAL,
               "a factor fit (factors = %lld) runs algorithm em, not %s", (long long)o->factors,
               o->algorithm == NVMM_ALG_MCECM ? "mcecm" : "incremental");
    NVMM_CHECK(o->init != NVMM_INIT_SUBMODELS, NVMM_EINVAL,
               "a factor fit starts from the moments (PCA) or a given model, not the GH "
               "sub-model start");
    NVMM_CHECK(o->shrink == NVMM_SHRINK_NONE, NVMM_EINVAL,
               "a factor fit does not take shrinkage (yet)");
  }
  NVMM_CHECK((unsigned)o->shrink < NVMM_SHRINK_COUNT, NVMM_EINVAL, "invalid shrinkage target %d",
             (int)o->shrink);
  if (o->shrink != NVMM_SHRINK_NONE) {
    NVMM_CHECK(isfinite(o->shrink_tau) && o->shrink_tau >= 0, NVMM_EINVAL,
               "shrinkage tau = %g must be finite and non-negative", o->shrink_tau);
    NVMM_CHECK(isfinite(o->shrink_s2) && o->shrink_s2 > 0, NVMM_EINVAL,
               "shrinkage s2 = %g must be finite and positive", o->shrink_s2);
    /* The penalty is not constant along the scale orbit: it picks the gauge itself, and moving
     * the model elsewhere on the orbit would lower the objective (src/numerics.md 13.2). */
    NVMM_CHECK(o->regularization == NVMM_REG_NONE, NVMM_EINVAL,
               "a shrinkage fit fixes its own gauge (the point of each orbit the penalty prefers): "
               "regularization must be none, not %s",
               nvmm_regularization_name(o->regularization));
  }
  return NVMM_OK;
}

void nvmm_fit_shard(int64_t n, int64_t block_rows, int rank, int size, int64_t *first_row,
                    int64_t *n_local) {
  int64_t nb = (n + block_rows - 1) / block_rows;
  int64_t b0 = nb * rank / size, b1 = nb * (rank + 1) / size;
  int64_t r0 = b0 * block_rows, r1 = b1 * block_rows < n ? b1 * block_rows : n;
  *first_row = r0 < n ? r0 : n;
  *n_local = r1 > r0 ? r1 - r0 : 0;
}
