/* fit.c: one iteration of the distributed batch EM and its results: the E-step pass, the M-step
 * on rank 0 (regularized, broadcast with its counters), SQUAREM's cycle and its monotone
 * safeguard, the divergence guard, the history, and the fitted model in the user's units. The
 * other stages: fit_create.c, fit_start.c, reduce.c, fit_stop.c, fit_state.c, accel.c. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "family.h"
#include "fit_impl.h"
#include "nvmm/agree.h"
#include "nvmm/pchol.h"

/* Model broadcast: rank 0 packs (mu, gamma, Sigma, L, log|Sigma|, subordinator), the
 * iteration's change, its outcome and the M-step counters; everyone unpacks. A factor fit packs
 * (mu, gamma, F, D) of f->next and f->fnext instead, and every rank rebuilds M and log|Sigma|
 * from them alike. */
enum { PK_LOGDET = 0, PK_KIND, PK_P0, PK_P1, PK_P2, PK_RATE, PK_OUTCOME, PK_STATUS, PK_HEAD };

static void pack_model(nvmm_fit *f, const nvmm_model *m) {
  size_t d = f->d;
  double *p = f->pack;
  p[PK_LOGDET] = m->logdet;
  p[PK_KIND] = (double)m->sub.kind;
  for (int k = 0; k < 3; k++)
    p[PK_P0 + k] = m->sub.par[k];
  double *v = p + PK_HEAD + NVMM_NCOUNTERS;
  if (f->fac) {
    nvmm__factor_pack(m, f->fnext, v);
    return;
  }
  memcpy(v, m->mu, (2 * d + 2 * d * d) * sizeof *v); /* mu, gamma, sigma, chol contiguous */
}

static nvmm_status unpack_model(nvmm_fit *f, nvmm_model *m) {
  size_t d = f->d;
  const double *p = f->pack;
  m->logdet = p[PK_LOGDET];
  m->sub.kind = (nvmm_sub_kind)p[PK_KIND];
  for (int k = 0; k < 3; k++)
    m->sub.par[k] = p[PK_P0 + k];
  if (f->fac)
    return nvmm__factor_unpack(m, f->fnext, p + PK_HEAD + NVMM_NCOUNTERS);
  memcpy(m->mu, p + PK_HEAD + NVMM_NCOUNTERS, (2 * d + 2 * d * d) * sizeof(double));
  return NVMM_OK;
}

static nvmm_status bcast_pack(nvmm_fit *f) {
  if (MPI_Bcast(f->pack, (int)f->pack_len, MPI_DOUBLE, 0, f->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Bcast of the model failed");
  return NVMM_OK;
}

/* Mean log-likelihood in the user's units from the last E-step: the density of x = c + s x~
 * is the standardized density divided by prod s_j. */
double nvmm__loglik(const nvmm_fit *f) {
  double ls = 0.0;
  for (size_t j = 0; j < f->d; j++)
    ls += log(f->scale[j]);
  return f->stats[NVMM_ST_LOGF] / (double)f->n - ls;
}

int nvmm__model_finite(const nvmm_model *m) {
  size_t d = m->d;
  for (size_t i = 0; i < 2 * d + (m->sigma ? 2 * d * d : 0); i++) /* mu, gamma (sigma, chol) */
    if (!isfinite(m->mu[i]))
      return 0;
  return isfinite(m->logdet) && isfinite(m->sub.par[0]) && isfinite(m->sub.par[1]) &&
         isfinite(m->sub.par[2]);
}

/* Outcome of an M-step on rank 0: a numerical failure (singular Sigma, impossible moments) is a
 * divergence, kept as a reason; anything else is an error. */
int nvmm__diverging(nvmm_status st) {
  return st == NVMM_EFACTOR || st == NVMM_EDOM || st == NVMM_ENOCONV;
}

static void count_mstep(double *pack, const nvmm_mstep_counts *c) {
  double *k = pack + PK_HEAD;
  k[NVMM_CNT_D_FLOOR] += (double)c->d_floor;
  k[NVMM_CNT_SIGMA_RIDGE] += (double)c->sigma_ridge;
  k[NVMM_CNT_GIG_FALLBACK] += (double)c->gig_fallback;
  k[NVMM_CNT_GIG_RIDGE] += (double)c->gig_ridge;
  k[NVMM_CNT_ALPHA_CLAMP] += (double)c->alpha_clamp;
}

static nvmm_status pchol_factor(void *ctx, size_t d, const double *a, double *l, double *logdet) {
  (void)d;
  return nvmm_pchol_factor(ctx, a, l, logdet);
}

/* Rank 0 runs one M-step half and regularizes; the result is broadcast into f->next. part:
 * 0 full EM M-step, 1 the Gaussian block (MCECM), 2 the subordinator (MCECM). Above the
 * ScaLAPACK threshold every rank runs the Gaussian block alike, because factorizing Sigma is
 * then collective; only rank 0's result is broadcast. */
/* The gauge in force: the requested one, or |Sigma| = 1 once a = b has given way. */
static nvmm_regularization gauge(const nvmm_fit *f) {
  return f->gauge_switched ? NVMM_REG_DET_SIGMA_ONE : f->o.regularization;
}

/* a = b (GH) fixes the scale through the subordinator, and cannot hold where the optimum lies
 * on the Student-t boundary (a -> 0 at fixed b): there both go to sqrt(ab) -> 0, Y's law
 * degenerates and the posterior floors take over (a fit 25,000 nats short, tests/mpi/stop.sh).
 * Below A_EQ_B_MIN the fit fixes |Sigma| = 1 instead, for good; the law, and so the optimum, do
 * not depend on the gauge. 1e-4: interior GH optima have sqrt(ab) of order 0.1-10 in the
 * standardized units, the boundary fits of the GIG solve 1e-8. */
#define A_EQ_B_MIN 1e-4
/* Moves m to the fit's gauge: the regularization's, or with shrinkage the penalty's own. */
static nvmm_status fix_gauge(const nvmm_fit *f, nvmm_model *m, nvmm_regularization r) {
  if (f->o.shrink != NVMM_SHRINK_NONE)
    return nvmm__shrink_gauge(f, m);
  if (f->fac) /* m is f->next: its dispersion is f->fnext */
    return nvmm__factor_gauge(m, f->fnext, r, f->target_logdet);
  return nvmm_model_regularize(m, r, f->target_logdet);
}

static int a_eq_b_fails(const nvmm_fit *f, const nvmm_model *m) {
  return !f->gauge_switched && f->o.regularization == NVMM_REG_A_EQ_B &&
         m->sub.kind == NVMM_SUB_GIG && sqrt(m->sub.par[1] * m->sub.par[2]) < A_EQ_B_MIN;
}

static nvmm_status mstep_bcast(nvmm_fit *f, const nvmm_model *from, int part, int *diverged) {
  double t0 = MPI_Wtime();
  if (f->rank == 0 || (f->pchol && part != 2)) {
    nvmm_mstep_counts c = {0};
    nvmm_mstep_opts mo = {f->o.alpha_min, f->pchol ? pchol_factor : NULL, f->pchol, f->o.symmetric,
                          f->o.factor_d_floor};
    nvmm_status st;
    if (f->fac) { /* algorithm em: part 0, from f->model (src/numerics.md 5.12) */
      nvmm_factor_counts fc = {{0}, 0};
      st = nvmm_factor_mstep(f->stats, from, f->fac, f->next, f->fnext, &mo, &fc, f->fscratch);
      c = fc.mstep;
      c.d_floor += fc.dd_floor;
    } else if (part == 0)
      st = nvmm_mstep(f->stats, from, f->next, &mo, &c, f->scratch);
    else if (part == 1)
      st = nvmm_mstep_normal(f->stats, from, f->next, &mo, &c, f->scratch);
    else
      st = nvmm_mstep_sub(f->stats, from, f->next, &mo, &c);
    int sw = st == NVMM_OK && nvmm__model_finite(f->next) && a_eq_b_fails(f, f->next);
    /* The subordinator's half keeps |Sigma|, but not the penalty's optimum on the orbit. */
    if (st == NVMM_OK && (part != 2 || sw || f->o.shrink != NVMM_SHRINK_NONE))
      st = fix_gauge(f, f->next, sw ? NVMM_REG_DET_SIGMA_ONE : gauge(f));
    if (st == NVMM_OK && f->fault_nonfinite_at == f->iterations + 1)
      f->next->mu[0] = NAN;
    int bad = st != NVMM_OK || !nvmm__model_finite(f->next);
    if (part != 2 || !bad)
      count_mstep(f->pack, &c);
    if (sw && !bad)
      f->pack[PK_HEAD + NVMM_CNT_GAUGE_SWITCH] = 1.0;
    f->pack[PK_OUTCOME] = bad ? 1.0 : 0.0;
    f->pack[PK_STATUS] = st == NVMM_OK || nvmm__diverging(st) ? 0.0 : (double)st;
    if (!bad)
      pack_model(f, f->next);
  }
  NVMM_CALL(bcast_pack(f));
  NVMM_CHECK(f->pack[PK_STATUS] == 0.0, (nvmm_status)f->pack[PK_STATUS],
             "the M-step failed on rank 0: %s", nvmm_strerror((nvmm_status)f->pack[PK_STATUS]));
  *diverged = f->pack[PK_OUTCOME] != 0.0;
  if (!*diverged)
    NVMM_CALL(unpack_model(f, f->next));
  if (f->pack[PK_HEAD + NVMM_CNT_GAUGE_SWITCH] != 0.0)
    f->gauge_switched = 1;
  f->t_mstep += MPI_Wtime() - t0;
  return NVMM_OK;
}

static nvmm_status record(nvmm_fit *f, double change) {
  int i = f->iterations;  /* < max_iter: the fit stops there */
  if (i >= f->hist_cap) { /* doubling, up to max_iter: every rank grows at the same update */
    int cap = f->hist_cap > f->o.max_iter / 2 ? f->o.max_iter : 2 * f->hist_cap;
    NVMM_CALL(nvmm_agree(f->comm, nvmm__grow_history(f, cap > i ? cap : i + 1)));
  }
  f->h_change[i] = change;
  f->h_loglik[i] = NAN;
  f->h_elapsed[i] = f->elapsed = MPI_Wtime() - f->t0;
  for (int c = 0; c < NVMM_NCOUNTERS; c++) {
    f->h_counters[(size_t)i * NVMM_NCOUNTERS + c] = f->pack[PK_HEAD + c];
    f->totals[c] += f->pack[PK_HEAD + c];
  }
  if (f->h_pen)
    f->h_pen[i] = nvmm__penalty(f, f->model);
  f->last_change = change;
  f->iterations++;
  return NVMM_OK;
}

/* The plain map F: one EM (or MCECM) update of f->model into f->next, on every rank; with
 * shrinkage each M-step sees the target's pseudo-rows too. */
static nvmm_status em_map(nvmm_fit *f, int *diverged) {
  nvmm__shrink_stats(f);
  if (f->o.algorithm != NVMM_ALG_MCECM || !nvmm__latent(f->o.family))
    return mstep_bcast(f, f->model, 0, diverged);
  NVMM_CALL(mstep_bcast(f, f->model, 1, diverged));
  if (*diverged)
    return NVMM_OK;
  /* Second E-step with the new Gaussian block and the old subordinator (src/numerics.md 5.10). */
  double floors = f->pack[PK_HEAD + NVMM_CNT_BPOST_FLOOR];
  NVMM_CALL(nvmm__estep_all(f, f->next));
  f->pack[PK_HEAD + NVMM_CNT_BPOST_FLOOR] = floors + f->stats[NVMM_ST_FLOOR];
  nvmm__shrink_stats(f);
  return mstep_bcast(f, f->next, 2, diverged);
}

nvmm_status nvmm__mstep_eta(nvmm_fit *f, const double *eta, double floors, int *diverged,
                            double *counters) {
  memset(f->pack + PK_HEAD, 0, NVMM_NCOUNTERS * sizeof(double));
  f->pack[PK_HEAD + NVMM_CNT_BPOST_FLOOR] = floors;
  memcpy(f->stats, eta, f->len * sizeof *eta);
  NVMM_CALL(mstep_bcast(f, f->model, 0, diverged));
  memcpy(counters, f->pack + PK_HEAD, NVMM_NCOUNTERS * sizeof *counters);
  return NVMM_OK;
}

/* SQUAREM's coordinates of (m, fa): a factor fit's (src/numerics.md 8.7) or a dense one's. */
static void theta_of(const nvmm_fit *f, const nvmm_model *m, const nvmm_factor *fa, double *t) {
  if (f->fac)
    nvmm__factor_theta_get(m, fa, t);
  else
    nvmm__theta_get(m, t);
}

/* f->next (and a factor fit's f->fnext) back to theta2. */
static nvmm_status next_to_theta2(nvmm_fit *f) {
  NVMM_CALL(nvmm_model_copy(f->next, f->sq_m2));
  return f->fac ? nvmm_factor_copy(f->fnext, f->sq_f2) : NVMM_OK;
}

/* The parameter change from f->model to f->next. */
static double next_change(const nvmm_fit *f, int with_sub) {
  return f->fac ? nvmm__param_change_factor(f->next, f->fnext, f->model, f->fac, with_sub)
                : nvmm__param_change(f->next, f->model, with_sub);
}

/* SQUAREM's extrapolation, phase 1: f->model is theta1, f->next theta2 = F(theta1). Rank 0
 * forms theta' from (theta0, theta1, theta2) and broadcasts it in f->next; theta2 is kept in
 * sq_m2 for a rejection. The step falls back to theta2 (counted) when theta' is no valid model:
 * not finite, or a VG shape below alpha_min. The last update before max_iter does not
 * extrapolate: the fit then ends on an EM iterate. */
static nvmm_status extrapolate(nvmm_fit *f) {
  NVMM_CALL(nvmm_model_copy(f->sq_m2, f->next));
  if (f->fac)
    NVMM_CALL(nvmm_factor_copy(f->sq_f2, f->fnext));
  double t0 = MPI_Wtime();
  if (f->rank == 0) {
    double alpha = -1.0, lambda = NAN;
    int infeasible = 0;
    theta_of(f, f->model, f->fac, f->sq_t1);
    theta_of(f, f->next, f->fnext, f->sq_t2);
    alpha = nvmm__squarem_step(f->sq_p, f->sq_t0, f->sq_t1, f->sq_t2, f->sq_step_max, &lambda);
    /* No step on the last update, nor across a change of gauge (theta0 and theta2 would lie in
     * different gauges). */
    int switched =
        f->pack[PK_HEAD + NVMM_CNT_GAUGE_SWITCH] != 0.0 ||
        (f->iterations >= 1 &&
         f->h_counters[(size_t)(f->iterations - 1) * NVMM_NCOUNTERS + NVMM_CNT_GAUGE_SWITCH] !=
             0.0);
    if (f->iterations + 1 >= f->o.max_iter || switched)
      alpha = -1.0;
    /* A factor fit keeps the largest rate of its cycles: its EM rate is close to 1 (factor
     * analysis's slow modes) while one cycle's step ratio can fall far below it once an
     * extrapolation has stirred the fast modes, and the stopping rule would then stop short
     * (src/numerics.md 8.7). Dense fits use each cycle's own estimate. */
    f->pack[PK_RATE] =
        f->fac && isfinite(f->sq_rho) ? fmax(lambda * lambda, f->sq_rho) : lambda * lambda;
    if (alpha != -1.0) {
      nvmm_status st = f->fac ? nvmm__factor_theta_set(f->next, f->fnext, f->sq_t2, f->fscratch)
                              : nvmm__theta_set(f->next, f->sq_t2);
      if (st == NVMM_OK)
        st = fix_gauge(f, f->next, gauge(f));
      infeasible = st != NVMM_OK || !nvmm__model_finite(f->next) ||
                   (f->o.family == NVMM_FAMILY_VG && f->next->sub.par[0] < f->o.alpha_min);
      if (infeasible)
        NVMM_CALL(next_to_theta2(f));
    }
    f->pack[PK_OUTCOME] = infeasible ? 1.0 : alpha; /* a step length is <= -1 */
    pack_model(f, f->next);
  }
  NVMM_CALL(bcast_pack(f));
  NVMM_CALL(unpack_model(f, f->next));
  f->sq_rho = f->pack[PK_RATE];
  double a = f->pack[PK_OUTCOME];
  f->sq_alpha = a < 0.0 ? a : -1.0;
  if (a > 0.0)
    f->pack[PK_HEAD + NVMM_CNT_ACCEL_INFEASIBLE] += 1.0;
  if (f->sq_alpha < -1.0)
    f->pack[PK_HEAD + NVMM_CNT_ACCEL_STEP] += 1.0;
  f->t_mstep += MPI_Wtime() - t0;
  return NVMM_OK;
}

/* Moves the model to next (already checked finite), records the update and tests the stopping
 * rules that decide after an update. */
static nvmm_status advance(nvmm_fit *f, double change) {
  NVMM_CALL(nvmm_model_copy(f->model, f->next));
  if (f->fac)
    NVMM_CALL(nvmm_factor_copy(f->fac, f->fnext));
  NVMM_CALL(record(f, change));
  if (f->o.stop == NVMM_STOP_PARAMS && change < f->o.tol)
    f->reason = NVMM_FIT_CONVERGED_PARAMS;
  else if (f->iterations >= f->o.max_iter)
    f->reason = NVMM_FIT_MAX_ITER;
  return NVMM_OK;
}

/* The model is theta3 = F(theta') of a cycle that extrapolated: update t - 1 was the
 * extrapolation, update t the EM step from it. */
static int extrapolated_cycle(const nvmm_fit *f) {
  int t = f->iterations;
  return t >= 3 && f->h_counters[(size_t)(t - 2) * NVMM_NCOUNTERS + NVMM_CNT_ACCEL_STEP] != 0.0 &&
         nvmm__em_step(f, t);
}

/* SQUAREM's monotone safeguard, checked lazily in the pass that scores theta3 = F(theta'):
 * theta3 must score at least the cycle's start theta0 (up to rounding). Else this pass is
 * spent: the fit goes back to theta2 = F(F(theta0)), a rejection is counted, and the step bound
 * shrinks if the step was at it; an accepted step at the bound grows it. Both log-likelihoods
 * are reduced sums in the history, so every rank decides alike, and a resumed fit too. */
static nvmm_status safeguard(nvmm_fit *f, double ll, int *rejected) {
  int t = f->iterations;
  if (f->h_pen)
    ll += f->h_pen[t - 1]; /* the objective shrinkage maximizes (src/numerics.md 13.2) */
  double ll0 = nvmm__ll_after(f, t - 3);
  double noise = NVMM__LL_NOISE * DBL_EPSILON * (1.0 + fabs(ll + nvmm__log_scale_sum(f) / 2.0));
  int at_bound = f->sq_alpha == -f->sq_step_max;
  *rejected = !(ll >= ll0 - noise);
  if (!*rejected) {
    if (at_bound)
      f->sq_step_max *= 4.0;
    return NVMM_OK;
  }
  /* A rejected step longer than a quarter of the bound lowers the bound to a quarter of it:
   * on a curved ridge (GH's subordinator) a step rejected once fails again at that length. */
  f->sq_step_max = fmax(1.0, fmin(f->sq_step_max, -f->sq_alpha) / 4.0);
  memset(f->pack + PK_HEAD, 0, NVMM_NCOUNTERS * sizeof(double));
  f->pack[PK_HEAD + NVMM_CNT_BPOST_FLOOR] = f->stats[NVMM_ST_FLOOR];
  f->pack[PK_HEAD + NVMM_CNT_ACCEL_REJECT] = 1.0;
  NVMM_CALL(next_to_theta2(f));
  f->sq_phase = 0;
  return advance(f, next_change(f, f->o.stop == NVMM_STOP_MLE));
}

nvmm_status nvmm_fit_iterate(nvmm_fit *f) {
  NVMM_CHECK(f, NVMM_EINVAL, "fit is NULL");
  if (f->reason != NVMM_FIT_ITERATING)
    return NVMM_OK;
  if (f->inc_on)
    return nvmm__inc_step(f);
  NVMM_CALL(nvmm__estep_all(f, f->model));
  double ll = nvmm__loglik(f);
  if (f->iterations == 0) {
    f->loglik_init = ll;
    if (f->h_pen) /* the batch phase's start: after incremental EM's epochs, their last model */
      f->pen_init = nvmm__penalty(f, f->model);
    nvmm__inc_scored(f, ll);
  } else
    f->h_loglik[f->iterations - 1] = ll;
  if (f->stop_seen) {
    /* Every rank saw the same reduced flag: stop at this boundary with the current model,
     * whose log-likelihood this pass just gave. */
    f->reason = NVMM_FIT_STOPPED;
    f->loglik_final = ll;
    f->elapsed = MPI_Wtime() - f->t0;
    return NVMM_OK;
  }
  /* After a stop check: a stop request is honoured at this boundary whatever the safeguard
   * would decide, and a resumed fit re-scores this model and decides then, as the uninterrupted
   * fit does here. */
  if (f->sq_on && extrapolated_cycle(f)) {
    int rejected;
    NVMM_CALL(safeguard(f, ll, &rejected));
    if (rejected)
      return NVMM_OK;
  }
  if (f->o.stop == NVMM_STOP_MLE && nvmm__mle_converged(f)) {
    /* This pass scored the current model: it is the result, and no closing pass is needed. */
    f->reason = nvmm__unbounded_or(f, NVMM_FIT_CONVERGED);
    f->loglik_final = ll;
    f->elapsed = MPI_Wtime() - f->t0;
    return NVMM_OK;
  }
  memset(f->pack + PK_HEAD, 0, NVMM_NCOUNTERS * sizeof(double));
  f->pack[PK_HEAD + NVMM_CNT_BPOST_FLOOR] = f->stats[NVMM_ST_FLOOR];
  int with_sub = f->o.stop == NVMM_STOP_MLE;
  int phase = f->sq_phase;
  if (phase == 2) {
    f->sq_phase = 0; /* F(theta') starts the next cycle */
    /* A step clipped to the bound 1 is plain EM, accepted without a check: the bound grows. */
    if (f->sq_alpha == -1.0 && f->sq_step_max == 1.0 &&
        f->h_counters[(size_t)(f->iterations - 1) * NVMM_NCOUNTERS + NVMM_CNT_ACCEL_INFEASIBLE] ==
            0.0)
      f->sq_step_max = 4.0;
  }
  int diverged = 0;
  NVMM_CALL(em_map(f, &diverged));
  double change = diverged ? NAN : next_change(f, with_sub);
  if (diverged || !isfinite(change)) {
    /* The divergence guard (src/numerics.md 8.5): keep the last finite iterate and stop. */
    NVMM_CALL(record(f, change));
    f->reason = NVMM_FIT_DIVERGED;
    return NVMM_OK;
  }
  if (f->sq_on && phase == 0) {
    theta_of(f, f->model, f->fac, f->sq_t0);
    f->sq_phase = 1;
  } else if (f->sq_on && phase == 1) {
    NVMM_CALL(extrapolate(f));
    change = next_change(f, with_sub);
    f->sq_phase = 2;
    if (!isfinite(change)) { /* cannot happen for a finite theta'; kept as a guard */
      NVMM_CALL(record(f, change));
      f->reason = NVMM_FIT_DIVERGED;
      return NVMM_OK;
    }
  }
  return advance(f, change);
}

nvmm_status nvmm_fit_run(nvmm_fit *f) {
  NVMM_CHECK(f, NVMM_EINVAL, "fit is NULL");
  while (f->reason == NVMM_FIT_ITERATING)
    NVMM_CALL(nvmm_fit_iterate(f));
  if (f->reason == NVMM_FIT_STOPPED || f->reason == NVMM_FIT_CONVERGED ||
      f->reason == NVMM_FIT_UNBOUNDED)
    return NVMM_OK; /* the deciding pass already scored the current model */
  /* One closing pass for the final model's log-likelihood (the E-step of an iteration scores
   * the model entering it). */
  NVMM_CALL(nvmm__estep_all(f, f->model));
  f->loglik_final = nvmm__loglik(f);
  f->elapsed = MPI_Wtime() - f->t0;
  if (f->reason == NVMM_FIT_MAX_ITER || f->reason == NVMM_FIT_CONVERGED_PARAMS)
    f->reason = nvmm__unbounded_or(f, f->reason); /* this pass scored the final model */
  if (f->iterations > 0)
    f->h_loglik[f->iterations - 1] = f->loglik_final;
  else
    nvmm__inc_scored(f, f->loglik_final);
  return NVMM_OK;
}

nvmm_fit_reason nvmm_fit_reason_get(const nvmm_fit *f) { return f->reason; }

/* Standardized -> user units: x = center + scale * x~, so mu = c + s mu~, gamma = s gamma~,
 * Sigma = S Sigma~ S, L = S L~ (src/numerics.md 7.1: exact equivariance). */
static nvmm_status to_user(const nvmm_fit *f, const nvmm_model *std, nvmm_model *out) {
  NVMM_CALL(nvmm_model_copy(out, std));
  size_t d = f->d;
  double ld = std->logdet;
  for (size_t i = 0; i < d; i++) {
    out->mu[i] = f->center[i] + f->scale[i] * std->mu[i];
    out->gamma[i] = f->scale[i] * std->gamma[i];
    ld += 2.0 * log(f->scale[i]);
    for (size_t j = 0; j < d; j++) {
      out->sigma[i * d + j] = f->scale[i] * std->sigma[i * d + j] * f->scale[j];
      out->chol[i * d + j] = f->scale[i] * std->chol[i * d + j];
    }
  }
  out->logdet = ld;
  return NVMM_OK;
}

double nvmm__log_scale_sum(const nvmm_fit *f) {
  double s = 0.0;
  for (size_t j = 0; j < f->d; j++)
    s += 2.0 * log(f->scale[j]);
  return s;
}

nvmm_status nvmm_fit_model(const nvmm_fit *f, nvmm_model *out) {
  NVMM_CHECK(f && out, NVMM_EINVAL, "fit and model must not be NULL");
  if (f->fac)
    NVMM_CALL(nvmm__factor_to_user(f, f->model, f->fac, out));
  else
    NVMM_CALL(to_user(f, f->model, out));
  /* The penalty's gauge is the same point in either units: the standardization's Jacobian is a
   * constant of the penalty (src/numerics.md 13.2). */
  if (f->o.shrink != NVMM_SHRINK_NONE)
    return NVMM_OK;
  /* Honour the gauge in the user's units with one exact move along the orbit. */
  return nvmm_model_regularize(out, gauge(f), f->target_logdet + nvmm__log_scale_sum(f));
}

void nvmm_fit_summary_get(const nvmm_fit *f, nvmm_fit_summary *s) {
  s->iterations = f->iterations;
  s->reason = f->reason;
  s->loglik_init = f->loglik_init;
  s->loglik = f->loglik_final;
  s->change = f->last_change;
  s->elapsed = f->elapsed;
  s->n = f->n;
  s->ranks = f->size;
  memcpy(s->counters, f->totals, sizeof f->totals);
  s->t_estep = f->t_estep;
  s->t_reduce = f->t_reduce;
  s->t_moments = f->t_moments;
  s->t_total = f->t_startup + f->elapsed;
  s->reduce_bytes = f->reduce_bytes;
  s->t_mstep = f->t_mstep;
  s->passes = f->passes;
  s->steps = f->inc_step;
  s->data_passes = (double)f->passes + f->inc_rows / (double)f->n;
  s->inc_prior_floors = f->inc_prior_floors;
  s->penalty_init = f->h_pen ? f->pen_init : 0.0;
  s->penalty = f->h_pen ? nvmm__penalty(f, f->model) : 0.0;
  s->shrink_prior_floors = f->shr_floors;
  s->unbounded_rows = f->reason == NVMM_FIT_UNBOUNDED ? (int64_t)f->unb_rows : 0;
}

void nvmm_fit_history(const nvmm_fit *f, size_t *len, const double **loglik, const double **change,
                      const double **elapsed, const double **counters) {
  *len = (size_t)f->iterations;
  *loglik = f->h_loglik;
  *change = f->h_change;
  *elapsed = f->h_elapsed;
  *counters = f->h_counters;
}

void nvmm_fit_set_stop_flag(nvmm_fit *f, volatile const sig_atomic_t *flag) {
  if (f)
    f->stop_flag = flag;
}
