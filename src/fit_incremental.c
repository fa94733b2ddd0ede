/* fit_incremental.c: incremental (mini-batch) EM inside the fit: each step E-steps one global
 * mini-batch (every rank the granules of it that it holds), reduces the sums exactly, blends
 * their eta into the running eta by the rule, and runs the M-step on the blend; after the
 * requested epochs the fit goes on with batch EM, or stops. See src/numerics.md 13. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_impl.h"
#include "nvmm/xsum.h"

nvmm_status nvmm__inc_alloc(nvmm_fit *f) {
  if (f->o.algorithm != NVMM_ALG_INCREMENTAL)
    return NVMM_OK;
  NVMM_CALL(nvmm__batches_init(&f->batches, f->n, f->o.batch_rows, f->o.block_rows, f->o.seed));
  double steps = ceil(f->o.epochs * (double)f->batches.nbatch);
  NVMM_CHECK(steps >= 1 && steps <= 1e12, NVMM_EINVAL,
             "epochs = %g gives %.0f mini-batch steps of %lld rows (at least 1, at most 1e12)",
             f->o.epochs, steps, (long long)f->o.batch_rows);
  f->inc_steps = (int64_t)steps;
  f->inc_eta = calloc(f->len, sizeof *f->inc_eta);
  f->inc_avg = calloc(f->len, sizeof *f->inc_avg);
  /* Granules, group bounds and merged ranges of one batch: per_batch (+1) each. */
  f->inc_gran = calloc(4 * (size_t)f->batches.per_batch + 1, sizeof *f->inc_gran);
  f->inc_group = f->inc_gran + f->batches.per_batch;
  f->inc_r0 = f->inc_group + f->batches.per_batch + 1;
  f->inc_nr = f->inc_r0 + f->batches.per_batch;
  f->h_inc = calloc((size_t)f->inc_steps * NVMM__INC_COLS, sizeof *f->h_inc);
  NVMM_CHECK(f->inc_eta && f->inc_avg && f->inc_gran && f->h_inc, NVMM_ENOMEM,
             "cannot allocate incremental EM's workspace and history (%lld steps)",
             (long long)f->inc_steps);
  return NVMM_OK;
}

/* The chunk reader's collective reads of a few rows each would cost a pass's collective
 * buffering per granule (src/numerics.md 13.4): streamed mini-batches need the ranges reader,
 * set alike on every rank, so every rank agrees. Checked at the start and at every step (a
 * resumed fit has no start). */
static nvmm_status check_reader(const nvmm_fit *f) {
  NVMM_CHECK(f->x || f->ranges_reader, NVMM_EINVAL,
             "incremental EM on a streamed fit needs a ranges reader (nvmm_fit_set_ranges_reader)");
  return NVMM_OK;
}

/* The running eta starts at the start model's own (regularized, standardized), as in the
 * reference system; a prior moment that does not exist there is floored (src/numerics.md 12.4). */
nvmm_status nvmm__inc_start(nvmm_fit *f) {
  f->inc_on = f->o.algorithm == NVMM_ALG_INCREMENTAL;
  f->inc_step = 0;
  f->inc_seen = 0.0;
  f->inc_prior_floors = 0;
  if (!f->inc_on)
    return NVMM_OK;
  NVMM_CALL(check_reader(f));
  return nvmm_model_eta(f->model, NULL, f->inc_eta, &f->inc_prior_floors);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Rows of granule g (the data's last granule may be short). */
static int64_t granule_rows(const nvmm_fit *f, int64_t g) {
  int64_t gr = f->batches.granule, left = f->n - g * gr;
  return left < gr ? left : gr;
}

/* E-steps this rank's granules gran[i0, i1) of the batch into f->acc: their rows lie in the
 * shard in memory, or one after the other in f->stream. */
static nvmm_status estep_granules(nvmm_fit *f, int64_t i0, int64_t i1, double *tk) {
  const size_t L = NVMM_XSUM_LIMBS, d = f->d, len = f->len;
  size_t off = 0;
  nvmm_status st = NVMM_OK;
  for (int64_t i = i0; i < i1 && st == NVMM_OK; i++) {
    int64_t r0 = f->inc_gran[i] * f->batches.granule, nr = granule_rows(f, f->inc_gran[i]);
    const double *src = f->x ? f->x + (size_t)(r0 - f->first_row) * d : f->stream + off * d;
    off += (size_t)nr;
    memset(f->bstats, 0, len * sizeof *f->bstats);
    double t1 = MPI_Wtime();
    st = nvmm_estep_block_std(f->model, f->ews, (size_t)nr, src, f->center, f->rscale, f->bstats);
    *tk += MPI_Wtime() - t1;
    for (size_t q = 0; q < len && st == NVMM_OK; q++)
      nvmm_xsum_add(f->acc + q * L, f->bstats[q]);
  }
  return st;
}

/* Reads the granules gran[i0, i1) into f->stream with one call of the ranges reader, adjacent
 * granules merged into one range (none when i0 = i1). Collective. */
static nvmm_status read_granules(nvmm_fit *f, int64_t i0, int64_t i1) {
  size_t c = 0;
  for (int64_t i = i0; i < i1; i++) {
    int64_t r0 = f->inc_gran[i] * f->batches.granule, nr = granule_rows(f, f->inc_gran[i]);
    if (c > 0 && f->inc_r0[c - 1] + f->inc_nr[c - 1] == r0) {
      f->inc_nr[c - 1] += nr;
    } else {
      f->inc_r0[c] = r0;
      f->inc_nr[c++] = nr;
    }
  }
  return f->ranges_reader(f->reader_ctx, c, f->inc_r0, f->inc_nr, f->stream);
}

/* This rank's part of the mini-batch of step s: the E-step sums of its granules into f->acc.
 * Streamed rows are read in groups that fill the streaming buffer, and every rank makes as many
 * (collective) reads as the rank with the most groups, the others reading nothing. */
static nvmm_status batch_sums(nvmm_fit *f, int64_t s, double *tk) {
  const nvmm__batches *b = &f->batches;
  int64_t e, p0, p1, k = 0, lo = f->first_row, hi = f->first_row + f->n_local;
  nvmm__batches_span(b, s, &e, &p0, &p1);
  for (int64_t p = p0; p < p1; p++) {
    int64_t g = nvmm__batches_perm(b, e, p), r0 = g * b->granule;
    if (r0 >= lo && r0 < hi)
      f->inc_gran[k++] = g;
  }
  /* In file order: the sums are exact in any order, and streamed reads go forward. */
  qsort(f->inc_gran, (size_t)k, sizeof *f->inc_gran, cmp_i64);
  memset(f->acc, 0, f->len * NVMM_XSUM_LIMBS * sizeof *f->acc);
  for (size_t j = 0; j < f->d; j++)
    f->rscale[j] = 1.0 / f->scale[j];
  if (f->x)
    return estep_granules(f, 0, k, tk);
  /* Groups of granules that fit the buffer (a granule, at most 64 rows, always does). */
  int64_t ng = 0, rows = 0;
  for (int64_t i = 0; i < k; i++) {
    int64_t nr = granule_rows(f, f->inc_gran[i]);
    if (i == 0 || rows + nr > f->stream_rows) {
      f->inc_group[ng++] = i;
      rows = 0;
    }
    rows += nr;
  }
  f->inc_group[ng] = k;
  int64_t reads = ng;
  if (MPI_Allreduce(&ng, &reads, 1, MPI_INT64_T, MPI_MAX, f->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce of the mini-batch's read count failed");
  nvmm_status st = NVMM_OK;
  for (int64_t j = 0; j < reads; j++) {
    int64_t i0 = j < ng ? f->inc_group[j] : k, i1 = j < ng ? f->inc_group[j + 1] : k;
    nvmm_status rs = read_granules(f, i0, i1);
    if (rs != NVMM_OK) /* readers agree on failures across ranks: everyone stops here */
      return st == NVMM_OK ? rs : st;
    if (st == NVMM_OK) /* after a local failure the reads go on (collective), computing nothing */
      st = estep_granules(f, i0, i1, tk);
  }
  return st;
}

/* Records step inc_step's row of the history and its counters. */
static void record_step(nvmm_fit *f, double batch_ll, double change, const double *counters) {
  double *h = f->h_inc + f->inc_step;
  const size_t col = (size_t)f->inc_steps;
  h[NVMM__INC_BATCH_LL * col] = batch_ll;
  h[NVMM__INC_FULL_LL * col] = NAN;
  h[NVMM__INC_CHANGE * col] = change;
  h[NVMM__INC_ELAPSED * col] = f->elapsed = MPI_Wtime() - f->t0;
  for (int c = 0; c < NVMM_NCOUNTERS; c++)
    f->totals[c] += counters[c];
  f->last_change = change;
  f->inc_step++;
}

nvmm_status nvmm__inc_step(nvmm_fit *f) {
  NVMM_CALL(check_reader(f));
  double t0 = MPI_Wtime(), tk = 0.0;
  nvmm_status st = batch_sums(f, f->inc_step, &tk);
  NVMM_CALL(nvmm__reduce_acc(f, f->len, st, f->stats));
  f->t_estep += tk;
  f->t_reduce += MPI_Wtime() - t0 - tk;
  const double m = f->stats[NVMM_ST_N];
  f->inc_rows += m;
  if (f->stop_seen) {
    /* Every rank saw the same reduced flag: stop before this step's update; a resumed fit
     * draws the same batch again (the permutation is stateless). */
    f->reason = NVMM_FIT_STOPPED;
    f->elapsed = MPI_Wtime() - f->t0;
    return NVMM_OK;
  }
  /* Every rank blends the same reduced sums by the same arithmetic: the running eta is
   * identical everywhere without a broadcast. */
  const double floors = f->stats[NVMM_ST_FLOOR];
  const double batch_ll = f->stats[NVMM_ST_LOGF] / m - nvmm__log_scale_sum(f) / 2.0;
  for (size_t k = 0; k < f->len; k++)
    f->stats[k] /= m;
  nvmm_eta_update(&f->o.eta_rule, f->inc_step, f->inc_seen, m, f->len, f->inc_eta, f->stats, NULL,
                  f->inc_eta);
  f->inc_seen += m;
  int diverged = 0;
  double counters[NVMM_NCOUNTERS];
  /* Tail averaging (Polyak and Juditsky 1992; src/numerics.md 13.1): the running mean of eta over
   * the second half of the steps; the last step's model comes from it. */
  const int64_t h0 = f->inc_steps / 2;
  if (f->o.average && f->inc_step >= h0) {
    double k = (double)(f->inc_step - h0);
    for (size_t q = 0; q < f->len; q++)
      f->inc_avg[q] =
          k == 0.0 ? f->inc_eta[q] : f->inc_avg[q] + (f->inc_eta[q] - f->inc_avg[q]) / (k + 1.0);
  }
  const int last = f->inc_step + 1 == f->inc_steps;
  /* Shrinkage acts on the M-step's input, not on the running eta: shrinking the running eta at
   * every step would compound, and with a decreasing weight c its fixed point would be the target
   * itself (src/numerics.md 13.2). */
  const double *eta = nvmm__shrink_eta(f, f->o.average && last ? f->inc_avg : f->inc_eta);
  NVMM_CALL(nvmm__mstep_eta(f, eta, floors, &diverged, counters));
  double change = diverged ? NAN : nvmm__param_change(f->next, f->model, 1);
  record_step(f, batch_ll, change, counters);
  if (diverged || !isfinite(change)) {
    /* The divergence guard (src/numerics.md 8.5): keep the last finite model and stop. */
    f->reason = NVMM_FIT_DIVERGED;
    return NVMM_OK;
  }
  NVMM_CALL(nvmm_model_copy(f->model, f->next));
  /* A full evaluation costs a pass; the last step's model is scored anyway, by the batch
   * finish's first E-step or the closing pass (nvmm__inc_scored). */
  if (f->o.eval_every > 0 && f->inc_step % f->o.eval_every == 0 && !last) {
    NVMM_CALL(nvmm__estep_all(f, f->model));
    f->h_inc[NVMM__INC_FULL_LL * (size_t)f->inc_steps + (size_t)f->inc_step - 1] = nvmm__loglik(f);
  }
  if (last) {
    f->inc_on = 0;
    if (!f->o.finish)
      f->reason = NVMM_FIT_EPOCHS;
  }
  return NVMM_OK;
}

void nvmm_fit_set_ranges_reader(nvmm_fit *f, nvmm_fit_ranges_reader *fn) {
  if (f)
    f->ranges_reader = fn;
}

void nvmm__inc_scored(nvmm_fit *f, double ll) {
  if (f->h_inc && f->inc_step > 0 && f->inc_step == f->inc_steps)
    f->h_inc[NVMM__INC_FULL_LL * (size_t)f->inc_steps + (size_t)f->inc_step - 1] = ll;
}

void nvmm_fit_history_incremental(const nvmm_fit *f, size_t *len, const double **batch_ll,
                                  const double **full_ll, const double **change,
                                  const double **elapsed) {
  const size_t col = (size_t)f->inc_steps;
  *len = f->h_inc ? (size_t)f->inc_step : 0;
  if (!f->h_inc) {
    *batch_ll = *full_ll = *change = *elapsed = NULL;
    return;
  }
  *batch_ll = f->h_inc + NVMM__INC_BATCH_LL * col;
  *full_ll = f->h_inc + NVMM__INC_FULL_LL * col;
  *change = f->h_inc + NVMM__INC_CHANGE * col;
  *elapsed = f->h_inc + NVMM__INC_ELAPSED * col;
}
