/* fit_state.c: what a checkpoint holds of a fit and how a fit resumes from it bit for bit, and
 * the data fingerprint that ties a checkpoint to its data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_impl.h"
#include "nvmm/agree.h"

/* A 64-bit hash of one row and its global index: each value's bits, offset by its position,
 * through the splitmix64 finalizer (a bijection with full avalanche), summed. */
uint64_t nvmm__row_hash(const double *row, size_t d, int64_t index) {
  uint64_t h = 0;
  for (size_t j = 0; j < d; j++) {
    uint64_t b;
    memcpy(&b, &row[j], sizeof b);
    uint64_t z = b + 0x9e3779b97f4a7c15ull * ((uint64_t)index * d + j + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    h += z ^ (z >> 31);
  }
  return h;
}

/* Sum (mod 2^64) of the hashes of every row, taken in the first moments pass: order-free, so
 * the same on any rank count and any split into files or streamed chunks. */
nvmm_status nvmm__fingerprint(nvmm_fit *f) {
  uint64_t all = 0;
  if (MPI_Allreduce(&f->fp_local, &all, 1, MPI_UINT64_T, MPI_SUM, f->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce of the data fingerprint failed");
  f->fingerprint = all ^ ((uint64_t)f->n * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)f->d << 48);
  return NVMM_OK;
}

uint64_t nvmm_fit_fingerprint(const nvmm_fit *f) { return f->fingerprint; }

static void accel_save(const nvmm_fit *f, double *a);

/* One dispersion's record in a state: F, D, D^-1, M and its Cholesky factor (contiguous in an
 * nvmm_factor), then log|Sigma|; copied bit for bit both ways, so that a resumed fit sees
 * exactly the numbers the uninterrupted one saw (nvmm_factor_set would recompute M from a
 * rescaled F and D, not always to the same bits). */
static size_t fac_len(size_t d, size_t r) { return d * r + 2 * d + 2 * r * r + 1; }

size_t nvmm_fit_factor_len(int64_t d, int64_t r) {
  return d > 0 && r > 0 ? 2 * fac_len((size_t)d, (size_t)r) : 0;
}

static void fac_save(const nvmm_factor *fa, double *p) {
  size_t n = fac_len(fa->d, fa->r) - 1;
  memcpy(p, fa->f, n * sizeof *p);
  p[n] = fa->logdet;
}

static void fac_restore(nvmm_factor *fa, const double *p) {
  size_t n = fac_len(fa->d, fa->r) - 1;
  memcpy(fa->f, p, n * sizeof *p);
  fa->logdet = p[n];
}

void nvmm_fit_state_get(const nvmm_fit *f, nvmm_fit_state *s) {
  memset(s, 0, sizeof *s);
  s->family = f->o.family;
  s->d = (int64_t)f->d;
  s->n = f->n;
  s->fingerprint = f->fingerprint;
  s->iterations = f->iterations;
  s->reason = f->reason;
  s->loglik_init = f->loglik_init;
  s->target_logdet = f->target_logdet;
  s->elapsed = f->elapsed;
  memcpy(s->totals, f->totals, sizeof s->totals);
  s->mu = f->model->mu;
  s->gamma = f->model->gamma;
  s->sigma = f->model->sigma;
  s->chol = f->model->chol;
  s->logdet = f->model->logdet;
  s->sub = f->model->sub;
  s->loglik = f->h_loglik;
  s->change = f->h_change;
  s->elapsed_hist = f->h_elapsed;
  s->counters = f->h_counters;
  accel_save(f, f->sq_state);
  s->accel = f->sq_state;
  s->inc_steps = f->inc_steps;
  s->inc_step = f->inc_step;
  s->inc_on = f->inc_on;
  s->inc_prior_floors = f->inc_prior_floors;
  s->inc_seen = f->inc_seen;
  s->inc_eta = f->inc_eta;
  s->inc_avg = f->inc_avg;
  s->inc_hist = f->h_inc;
  s->shrink = f->o.shrink;
  s->shrink_tau = f->o.shrink_tau;
  s->shrink_prior_floors = f->shr_floors;
  s->penalty_init = f->pen_init;
  s->shrink_eta0 = f->shr_eta0;
  s->penalty = f->h_pen;
  if (f->fac) {
    s->factors = f->o.factors;
    s->factor = f->fstate;
    fac_save(f->fac, f->fstate);
    fac_save(f->sq_f2, f->fstate + fac_len(f->d, f->fac->r));
    s->sigma = s->chol = NULL; /* a factor fit keeps no dense Sigma */
  }
}

/* The accelerator's record in a state: phase, step bound, last step length, rate estimate,
 * then theta0's coordinates (room for the largest subordinator) and theta2 (log|Sigma|, the
 * subordinator's kind and parameters, mu, gamma, Sigma, L): all bit for bit. A factor fit's
 * theta0 has its own length, theta2 follows it directly and holds mu and gamma only (its
 * dispersion is in the state's factor record); it fits in the dense record's length. */
enum { AC_PHASE = 0, AC_STEP_MAX, AC_ALPHA, AC_RHO, AC_ON, AC_HEAD };

static size_t theta_max(size_t d) { return 2 * d + d * (d + 1) / 2 + 3; }

size_t nvmm_fit_accel_len(int64_t d) {
  size_t dd = d > 0 ? (size_t)d : 0;
  return AC_HEAD + theta_max(dd) + 5 + 2 * dd + 2 * dd * dd;
}

size_t nvmm_fit_accel_len_factor(int64_t d, int64_t r) {
  if (r <= 0)
    return nvmm_fit_accel_len(d);
  size_t dd = d > 0 ? (size_t)d : 0;
  /* theta0 (3 d + d r + at most 3), then theta2's head (5) and mu, gamma: O(d r), no d x d. */
  return AC_HEAD + 3 * dd + dd * (size_t)r + 3 + 5 + 2 * dd;
}

/* Where theta2 starts in the record, and how many of mu, gamma, Sigma, L it holds. */
static size_t m2_off(const nvmm_fit *f) { return AC_HEAD + (f->fac ? f->sq_p : theta_max(f->d)); }
static size_t m2_len(const nvmm_fit *f) { return 2 * f->d + (f->fac ? 0 : 2 * f->d * f->d); }

static void accel_save(const nvmm_fit *f, double *a) {
  size_t d = f->d;
  memset(a, 0, nvmm_fit_accel_len_factor((int64_t)d, f->fac ? f->o.factors : 0) * sizeof *a);
  a[AC_PHASE] = f->sq_phase;
  a[AC_STEP_MAX] = f->sq_step_max;
  a[AC_ALPHA] = f->sq_alpha;
  a[AC_RHO] = f->sq_rho;
  a[AC_ON] = f->sq_on;
  memcpy(a + AC_HEAD, f->sq_t0, f->sq_p * sizeof *a);
  double *m = a + m2_off(f);
  m[0] = f->sq_m2->logdet;
  m[1] = (double)f->sq_m2->sub.kind;
  memcpy(m + 2, f->sq_m2->sub.par, 3 * sizeof *m);
  memcpy(m + 5, f->sq_m2->mu, m2_len(f) * sizeof *m); /* mu, gamma, sigma, chol */
}

static nvmm_status accel_restore(nvmm_fit *f, const double *a) {
  NVMM_CHECK(a[AC_ON] == (double)f->sq_on, NVMM_EINVAL,
             "the checkpoint's fit %s SQUAREM, this fit %s (accel must match to resume)",
             a[AC_ON] != 0.0 ? "used" : "did not use", f->sq_on ? "does" : "does not");
  NVMM_CHECK(a[AC_PHASE] >= 0 && a[AC_PHASE] <= 2, NVMM_EINVAL,
             "the checkpoint's SQUAREM phase %g is invalid", a[AC_PHASE]);
  f->sq_phase = (int)a[AC_PHASE];
  f->sq_step_max = a[AC_STEP_MAX];
  f->sq_alpha = a[AC_ALPHA];
  f->sq_rho = a[AC_RHO];
  memcpy(f->sq_t0, a + AC_HEAD, f->sq_p * sizeof *a);
  const double *m = a + m2_off(f);
  f->sq_m2->logdet = m[0];
  f->sq_m2->sub.kind = (nvmm_sub_kind)m[1];
  memcpy(f->sq_m2->sub.par, m + 2, 3 * sizeof *m);
  memcpy(f->sq_m2->mu, m + 5, m2_len(f) * sizeof *m);
  return NVMM_OK;
}

nvmm_status nvmm_fit_state_alloc(int64_t d, int iterations, nvmm_fit_state *s) {
  return nvmm_fit_state_alloc_sized(d, iterations, 0, s);
}

nvmm_status nvmm_fit_state_alloc_sized(int64_t d, int iterations, int64_t factors,
                                       nvmm_fit_state *s) {
  NVMM_CHECK(s && d >= 1 && iterations >= 0 && factors >= 0 && factors < d, NVMM_EINVAL,
             "invalid state size");
  memset(s, 0, sizeof *s);
  size_t dd = (size_t)d, it = (size_t)(iterations > 0 ? iterations : 1);
  s->d = d;
  /* A factor fit's state keeps its dispersion in the factor record: no d x d array. */
  s->mu = calloc(2 * dd + (factors > 0 ? 0 : 2 * dd * dd), sizeof(double));
  s->loglik = calloc(it * (3 + NVMM_NCOUNTERS), sizeof(double));
  s->accel = calloc(nvmm_fit_accel_len_factor(d, factors), sizeof(double));
  if (!s->mu || !s->loglik || !s->accel) {
    nvmm_fit_state_free(s);
    NVMM_ERROR(NVMM_ENOMEM, "cannot allocate a fit state (d = %lld, %d iterations)", (long long)d,
               iterations);
  }
  s->gamma = s->mu + dd;
  s->sigma = factors > 0 ? NULL : s->mu + 2 * dd;
  s->chol = factors > 0 ? NULL : s->sigma + dd * dd;
  s->iterations = iterations;
  s->change = s->loglik + it;
  s->elapsed_hist = s->loglik + 2 * it;
  s->counters = s->loglik + 3 * it;
  return NVMM_OK;
}

nvmm_status nvmm_fit_state_alloc_incremental(int64_t inc_steps, nvmm_fit_state *s) {
  NVMM_CHECK(s && s->d >= 1 && inc_steps >= 1 && inc_steps <= ((int64_t)1 << 40), NVMM_EINVAL,
             "invalid incremental state size (%lld steps)", (long long)inc_steps);
  size_t len = nvmm_stats_len((size_t)s->d);
  s->inc_eta = calloc(2 * len, sizeof(double));
  s->inc_hist = calloc((size_t)inc_steps * 4, sizeof(double));
  if (!s->inc_eta || !s->inc_hist) {
    free(s->inc_eta);
    free(s->inc_hist);
    s->inc_eta = s->inc_hist = NULL;
    NVMM_ERROR(NVMM_ENOMEM, "cannot allocate an incremental state of %lld steps",
               (long long)inc_steps);
  }
  s->inc_avg = s->inc_eta + len;
  s->inc_steps = inc_steps;
  return NVMM_OK;
}

nvmm_status nvmm_fit_state_alloc_factor(int64_t r, nvmm_fit_state *s) {
  NVMM_CHECK(s && s->d >= 2 && r >= 1 && r < s->d, NVMM_EINVAL,
             "invalid factor state size (r = %lld)", (long long)r);
  s->factor = calloc(nvmm_fit_factor_len(s->d, r), sizeof(double));
  NVMM_CHECK(s->factor, NVMM_ENOMEM, "cannot allocate a factor state (d = %lld, r = %lld)",
             (long long)s->d, (long long)r);
  s->factors = r;
  return NVMM_OK;
}

nvmm_status nvmm_fit_state_alloc_shrinkage(nvmm_fit_state *s) {
  NVMM_CHECK(s && s->d >= 1 && s->iterations >= 0, NVMM_EINVAL, "invalid shrinkage state size");
  size_t len = nvmm_stats_len((size_t)s->d), it = (size_t)(s->iterations > 0 ? s->iterations : 1);
  s->shrink_eta0 = calloc(len + it, sizeof(double));
  NVMM_CHECK(s->shrink_eta0, NVMM_ENOMEM, "cannot allocate a shrinkage state (d = %lld)",
             (long long)s->d);
  s->penalty = s->shrink_eta0 + len;
  return NVMM_OK;
}

void nvmm_fit_state_free(nvmm_fit_state *s) {
  if (!s)
    return;
  free(s->shrink_eta0);
  s->shrink_eta0 = s->penalty = NULL;
  free(s->factor);
  s->factor = NULL;
  s->factors = 0;
  free(s->mu);
  free(s->loglik);
  free(s->accel);
  free(s->inc_eta);
  free(s->inc_hist);
  s->inc_eta = s->inc_avg = s->inc_hist = NULL;
  s->accel = NULL;
  s->mu = s->gamma = s->sigma = s->chol = NULL;
  s->loglik = s->change = s->elapsed_hist = s->counters = NULL;
}

nvmm_status nvmm__grow_history(nvmm_fit *f, int cap) {
  if (cap <= f->hist_cap)
    return NVMM_OK;
  double *l = realloc(f->h_loglik, (size_t)cap * sizeof *l);
  if (l)
    f->h_loglik = l;
  double *c = realloc(f->h_change, (size_t)cap * sizeof *c);
  if (c)
    f->h_change = c;
  double *e = realloc(f->h_elapsed, (size_t)cap * sizeof *e);
  if (e)
    f->h_elapsed = e;
  double *k = realloc(f->h_counters, (size_t)cap * NVMM_NCOUNTERS * sizeof *k);
  if (k)
    f->h_counters = k;
  double *p = f->h_pen ? realloc(f->h_pen, (size_t)cap * sizeof *p) : NULL;
  if (p)
    f->h_pen = p;
  NVMM_CHECK(l && c && e && k && (p || !f->h_pen), NVMM_ENOMEM,
             "cannot allocate a history of %d iterations", cap);
  f->hist_cap = cap;
  return NVMM_OK;
}

/* Checks a saved state against this fit's data and options; the same verdict on every rank
 * (all ranks hold the same state and the same reduced fingerprint). */
static nvmm_status check_state(const nvmm_fit *f, const nvmm_fit_state *s) {
  NVMM_CHECK(s->family == f->o.family, NVMM_EINVAL, "the checkpoint is a %s fit, this fit is %s",
             nvmm_family_name(s->family), nvmm_family_name(f->o.family));
  NVMM_CHECK(s->d == (int64_t)f->d && s->n == f->n, NVMM_EINVAL,
             "the checkpoint was taken on %lld x %lld data, these data are %lld x %zu",
             (long long)s->n, (long long)s->d, (long long)f->n, f->d);
  NVMM_CHECK(s->fingerprint == f->fingerprint, NVMM_EINVAL,
             "the data differ from the checkpoint's (fingerprint %016llx, data %016llx)",
             (unsigned long long)s->fingerprint, (unsigned long long)f->fingerprint);
  NVMM_CHECK(s->iterations >= 0 && s->sub.kind == nvmm_family_sub_kind(f->o.family), NVMM_EINVAL,
             "the checkpoint state is inconsistent");
  for (int64_t j = 0; j < s->d && f->o.symmetric; j++)
    NVMM_CHECK(s->gamma[j] == 0.0, NVMM_EINVAL,
               "this fit is symmetric (gamma = 0), the checkpoint's is not (gamma[%lld] = %g)",
               (long long)j, s->gamma[j]);
  NVMM_CHECK(s->inc_steps == f->inc_steps, NVMM_EINVAL,
             "the checkpoint's fit takes %lld mini-batch steps, this fit %lld (algorithm, "
             "batch_rows and epochs must match to resume)",
             (long long)s->inc_steps, (long long)f->inc_steps);
  NVMM_CHECK(s->inc_steps == 0 || (s->inc_step >= 0 && s->inc_step <= s->inc_steps && s->inc_eta &&
                                   s->inc_avg && s->inc_hist),
             NVMM_EINVAL, "the checkpoint's incremental state is inconsistent");
  /* The objective must be the same one: target kind and weight (the target itself is restored). */
  NVMM_CHECK(s->shrink == (int)f->o.shrink &&
                 (s->shrink == NVMM_SHRINK_NONE || s->shrink_tau == f->o.shrink_tau),
             NVMM_EINVAL,
             "the checkpoint's fit has shrinkage %d with tau %g, this fit %d with tau %g "
             "(shrinkage and shrinkage_tau must match to resume)",
             s->shrink, s->shrink_tau, (int)f->o.shrink, f->o.shrink_tau);
  NVMM_CHECK(s->shrink == NVMM_SHRINK_NONE || (s->shrink_eta0 && s->penalty), NVMM_EINVAL,
             "the checkpoint's shrinkage state is inconsistent");
  NVMM_CHECK(s->factors == f->o.factors && (s->factors == 0 || s->factor), NVMM_EINVAL,
             "the checkpoint's fit has factors = %lld, this fit %lld (factors must match to "
             "resume)",
             (long long)s->factors, (long long)f->o.factors);
  return NVMM_OK;
}

/* Incremental EM's part of a state: the step counter, the running eta and its tail mean bit for
 * bit (the mini-batches themselves are a function of the step: nothing to store). */
static void inc_restore(nvmm_fit *f, const nvmm_fit_state *s) {
  if (s->inc_steps == 0)
    return;
  const size_t col = (size_t)s->inc_steps, k = (size_t)s->inc_step;
  f->inc_step = s->inc_step;
  f->inc_on = s->inc_on;
  f->inc_prior_floors = s->inc_prior_floors;
  f->inc_seen = s->inc_seen;
  memcpy(f->inc_eta, s->inc_eta, f->len * sizeof(double));
  memcpy(f->inc_avg, s->inc_avg, f->len * sizeof(double));
  for (size_t c = 0; c < NVMM__INC_COLS; c++)
    memcpy(f->h_inc + c * col, s->inc_hist + c * col, k * sizeof(double));
  if (k > 0 && s->iterations == 0)
    f->last_change = s->inc_hist[NVMM__INC_CHANGE * col + k - 1];
}

nvmm_status nvmm_fit_restore(nvmm_fit *f, const nvmm_fit_state *s) {
  NVMM_CHECK(f && s, NVMM_EINVAL, "fit and state must not be NULL");
  NVMM_CALL(check_state(f, s));
  NVMM_CALL(accel_restore(f, s->accel));
  NVMM_CALL(nvmm_agree(f->comm, nvmm__grow_history(f, s->iterations))); /* record grows it on */
  size_t d = f->d, it = (size_t)s->iterations;
  /* Bit-exact copies (not a re-factorization): the continued iterations must see exactly the
   * numbers the uninterrupted fit saw. */
  memcpy(f->model->mu, s->mu, d * sizeof(double));
  memcpy(f->model->gamma, s->gamma, d * sizeof(double));
  if (f->fac) {
    fac_restore(f->fac, s->factor);
    fac_restore(f->sq_f2, s->factor + fac_len(d, f->fac->r));
  } else {
    memcpy(f->model->sigma, s->sigma, d * d * sizeof(double));
    memcpy(f->model->chol, s->chol, d * d * sizeof(double));
  }
  f->model->logdet = s->logdet;
  f->model->sub = s->sub;
  memcpy(f->h_loglik, s->loglik, it * sizeof(double));
  memcpy(f->h_change, s->change, it * sizeof(double));
  memcpy(f->h_elapsed, s->elapsed_hist, it * sizeof(double));
  memcpy(f->h_counters, s->counters, it * NVMM_NCOUNTERS * sizeof(double));
  memcpy(f->totals, s->totals, sizeof f->totals);
  f->gauge_switched = f->totals[NVMM_CNT_GAUGE_SWITCH] != 0.0;
  f->iterations = s->iterations;
  f->target_logdet = s->target_logdet;
  f->loglik_init = s->loglik_init;
  /* A fit the MLE rule finished has its final model's log-likelihood in the history. */
  f->loglik_final = s->reason == NVMM_FIT_CONVERGED && it ? s->loglik[it - 1] : NAN;
  f->last_change = it ? s->change[it - 1] : NAN;
  inc_restore(f, s);
  if (f->h_pen) {
    memcpy(f->shr_eta0, s->shrink_eta0, f->len * sizeof(double));
    memcpy(f->h_pen, s->penalty, it * sizeof(double));
    f->pen_init = s->penalty_init;
    f->shr_floors = s->shrink_prior_floors;
  }
  f->elapsed = s->elapsed;
  f->t0 = MPI_Wtime() - s->elapsed;
  f->t_startup = MPI_Wtime() - f->t_create;
  /* A stopped fit continues; so does one that hit an iteration cap the new options raise. An
   * unbounded one re-scores its final model and decides again (src/numerics.md 8.6): its
   * floored-row count is no part of the state. */
  f->reason = (nvmm_fit_reason)s->reason;
  if (f->reason == NVMM_FIT_STOPPED || f->reason == NVMM_FIT_MAX_ITER ||
      f->reason == NVMM_FIT_UNBOUNDED)
    f->reason = f->iterations >= f->o.max_iter ? NVMM_FIT_MAX_ITER : NVMM_FIT_ITERATING;
  return NVMM_OK;
}
