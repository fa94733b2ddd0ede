/* fit_create.c: the fit object's life: argument checks agreed across ranks, the private
 * communicator, the workspaces (allocated once per fit), the ScaLAPACK factorizer, the moment
 * pass and the data fingerprint; and its destruction. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "family.h"
#include "fault.h"
#include "fit_impl.h"
#include "linalg.h"
#include "nvmm/xsum.h"

/* Bytes per rank the GH start may spend to share passes among its candidates. */
#define MULTI_BUDGET ((size_t)256 << 20)

static nvmm_status fit_alloc(nvmm_fit *f) {
  size_t d = f->d, len = f->len, L = NVMM_XSUM_LIMBS, r = (size_t)f->o.factors;
  /* A large factor fit holds no d x d array (src/numerics.md 5.13): its moments pass sums 2 d + 1
   * numbers and its start's passes d k. */
  f->fbig = r > 0 && d > NVMM__FACTOR_DENSE_MAX_D;
  f->fk = f->fbig ? nvmm__factor_sketch_width(d, r) : 0;
  size_t mom = f->fbig ? (2 * d + 1 > d * f->fk ? 2 * d + 1 : d * f->fk) : d * (d + 1) / 2 + d + 1;
  size_t need = len > mom ? len : mom;
  size_t hist = (size_t)(f->o.max_iter < NVMM__HIST_START ? f->o.max_iter : NVMM__HIST_START);
  /* The GH start E-steps its four candidates in shared passes when their reduction buffers
   * (about 1.1 KB per statistic, mostly the exact accumulators) fit in MULTI_BUDGET; else in
   * fewer at a time, down to one (the same sums either way: each model's own). */
  f->multi_cap = 1;
  if (f->o.init == NVMM_INIT_SUBMODELS) {
    size_t per = (len + 1) * (2 * L * sizeof(int64_t) + 2 * sizeof(double) + 9);
    f->multi_cap = (int)(MULTI_BUDGET / per < 4 ? MULTI_BUDGET / per : 4);
    if (f->multi_cap < 1)
      f->multi_cap = 1;
    if (need < (len + 1) * (size_t)f->multi_cap)
      need = (len + 1) * (size_t)f->multi_cap;
  }
  f->hist_cap = (int)hist;
  f->len = len;
  /* The broadcast model: (mu, gamma, Sigma, L), or a factor fit's (mu, gamma, F, D). */
  f->pack_len =
      (f->o.factors > 0 ? nvmm__factor_pack_len(d, (size_t)f->o.factors) : 2 * d + 2 * d * d) + 8 +
      NVMM_NCOUNTERS;
  if (!f->x)
    f->stream = calloc((size_t)f->stream_rows * d, sizeof(double));
  NVMM_CHECK(f->x || f->stream, NVMM_ENOMEM, "cannot allocate a streaming buffer of %lld rows",
             (long long)f->stream_rows);
  f->center = calloc(d, sizeof(double));
  f->scale = calloc(d, sizeof(double));
  f->rscale = calloc(d, sizeof(double));
  if (!f->fbig)
    f->corr = calloc(d * d, sizeof(double));
  /* Chunks of centred rows for the cross products: up to 256 rows or 2 MiB. */
  f->cross_rows = (size_t)f->o.block_rows < 256 ? (size_t)f->o.block_rows : 256;
  while (f->cross_rows > 1 && f->cross_rows * d > ((size_t)1 << 18))
    f->cross_rows /= 2;
  /* At d <= NVMM__SMALL_D the dense moment pass sums in registers and needs no rows. */
  int rows_used = d > NVMM__SMALL_D || r > 0;
  if (rows_used)
    f->row = calloc(f->cross_rows * d, sizeof(double));
  if (!f->fbig)
    f->cross = calloc(d * d, sizeof(double));
  f->bstats = calloc(need, sizeof(double));
  f->acc = calloc(need * L, sizeof(int64_t));
  f->packed = calloc(need * L, sizeof(int64_t));
  f->win = calloc(2 * need + 2, sizeof(int32_t));
  f->sign = calloc(need, sizeof(int8_t));
  f->stats = calloc(need, sizeof(double));
  /* The dense M-step's d^2 + 2 d; a factor fit's start and output, 3 d + d r. */
  f->scratch = calloc(r > 0 ? 3 * d + d * r : d * d + 2 * d, sizeof(double));
  f->pack = calloc(f->pack_len, sizeof(double));
  f->h_loglik = calloc(hist, sizeof(double));
  f->h_change = calloc(hist, sizeof(double));
  f->h_elapsed = calloc(hist, sizeof(double));
  f->h_counters = calloc(hist * NVMM_NCOUNTERS, sizeof(double));
  NVMM_CHECK(f->center && f->scale && f->rscale && (f->fbig || (f->corr && f->cross)) &&
                 (f->row || !rows_used) && f->bstats && f->acc && f->packed && f->win && f->sign &&
                 f->stats && f->scratch && f->pack && f->h_loglik && f->h_change && f->h_elapsed &&
                 f->h_counters,
             NVMM_ENOMEM, "cannot allocate the fit workspaces (d = %zu, block_rows = %lld)", d,
             (long long)f->o.block_rows);
  /* A factor fit E-steps through the factor kernels (no dense workspace) and its models are
   * factor-only: (mu, gamma, subordinator) beside f->fac, f->fnext. */
  if (r == 0)
    NVMM_CALL(nvmm_estep_ws_alloc(d, &f->ews));
  NVMM_CALL(r > 0 ? nvmm_model_alloc_factor(f->o.family, d, r, &f->model)
                  : nvmm_model_alloc(f->o.family, d, &f->model));
  NVMM_CALL(r > 0 ? nvmm_model_alloc_factor(f->o.family, d, r, &f->next)
                  : nvmm_model_alloc(f->o.family, d, &f->next));
  /* The dense Gaussian's M-step is its MLE: nothing to accelerate; a factor Gaussian's is
   * factor analysis's EM, as slow as any. A factor fit's coordinates are its own
   * (src/numerics.md 8.7). */
  f->sq_on = f->o.accel == NVMM_ACCEL_SQUAREM && (nvmm__latent(f->o.family) || f->o.factors > 0);
  f->sq_p = f->o.factors > 0
                ? nvmm__factor_theta_len(d, (size_t)f->o.factors, nvmm_family_sub_kind(f->o.family))
                : nvmm__theta_len(f->model);
  f->sq_t0 = calloc(3 * f->sq_p, sizeof(double));
  NVMM_CHECK(f->sq_t0, NVMM_ENOMEM, "cannot allocate SQUAREM's coordinates (%zu)", f->sq_p);
  f->sq_t1 = f->sq_t0 + f->sq_p;
  /* The accelerator's record holds a dense theta2 (d x d): not for factor fits, which neither
   * accelerate nor checkpoint yet. */
  f->sq_state = calloc(nvmm_fit_accel_len_factor((int64_t)d, (int64_t)r), sizeof(double));
  NVMM_CHECK(f->sq_state, NVMM_ENOMEM, "cannot allocate SQUAREM's state record");
  f->sq_t2 = f->sq_t1 + f->sq_p;
  NVMM_CALL(nvmm__inc_alloc(f));
  NVMM_CALL(nvmm__shrink_alloc(f));
  NVMM_CALL(nvmm__factor_alloc(f));
  return r > 0 ? nvmm_model_alloc_factor(f->o.family, d, r, &f->sq_m2)
               : nvmm_model_alloc(f->o.family, d, &f->sq_m2);
}

/* The rows come from x (in memory) or, when x is NULL, from reader in chunks of stream_rows. */
static nvmm_status create(MPI_Comm comm, const nvmm_fit_options *o, int64_t n, int64_t d,
                          int64_t first_row, int64_t n_local, const double *x,
                          nvmm_fit_reader *reader, void *ctx, int64_t stream_rows, nvmm_fit **out) {
  NVMM_CHECK(out, NVMM_EINVAL, "output pointer is NULL");
  *out = NULL;
  nvmm_status st = nvmm_fit_options_check(o);
  if (st == NVMM_OK && !(d >= 1 && d <= (1 << 20)))
    st = NVMM_RAISE(NVMM_EINVAL, "dimension d = %lld invalid", (long long)d);
  if (st == NVMM_OK && n <= d)
    st = NVMM_RAISE(NVMM_EDOM,
                    "n = %lld rows is not more than d = %lld columns: Sigma cannot be "
                    "estimated",
                    (long long)n, (long long)d);
  if (st == NVMM_OK && (n_local < 0 || first_row < 0 || first_row + n_local > n ||
                        (n_local > 0 && !x && !reader) || (!x && stream_rows < 1)))
    st = NVMM_RAISE(NVMM_EINVAL, "invalid row range [%lld, %lld) of n = %lld", (long long)first_row,
                    (long long)(first_row + n_local), (long long)n);
  if (st == NVMM_OK && o->factors >= d)
    st = NVMM_RAISE(NVMM_EINVAL, "factors = %lld must be below d = %lld", (long long)o->factors,
                    (long long)d);
  if (st == NVMM_OK && n_local > 0 && first_row % o->block_rows != 0)
    st = NVMM_RAISE(NVMM_EINVAL, "first_row = %lld is not a multiple of block_rows = %lld",
                    (long long)first_row, (long long)o->block_rows);
  nvmm_fit *f = NULL;
  if (st == NVMM_OK) {
    f = calloc(1, sizeof *f);
    st = f ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "out of memory");
  }
  /* Every rank must reach MPI_Comm_dup, so argument errors are agreed on first. */
  st = nvmm_agree(comm, st);
  if (st != NVMM_OK) {
    free(f);
    return st;
  }
  f->o = *o;
  f->fault_nonfinite_at = nvmm__fault_nonfinite_at();
  f->t_create = MPI_Wtime();
  f->n = n;
  f->d = (size_t)d;
  f->first_row = first_row;
  f->n_local = n_local;
  f->x = x;
  f->reader = x ? NULL : reader;
  f->reader_ctx = ctx;
  f->len = o->factors > 0 ? nvmm_factor_stats_off(f->d, (size_t)o->factors, NVMM_FST_LEN)
                          : nvmm_stats_len(f->d);
  f->loglik_init = f->loglik_final = NAN;
  if ((st = nvmm__comm_dup(comm, &f->comm)) != NVMM_OK) {
    free(f);
    return st;
  }
  if (MPI_Comm_rank(f->comm, &f->rank) != MPI_SUCCESS ||
      MPI_Comm_size(f->comm, &f->size) != MPI_SUCCESS) {
    MPI_Comm_free(&f->comm);
    free(f);
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_rank/MPI_Comm_size failed");
  }
  if (!x) {
    /* Whole blocks per read, and the same number of (collective) reads on every rank. */
    int64_t b = o->block_rows, rows = stream_rows < b ? b : stream_rows / b * b;
    int64_t mine = (n_local + rows - 1) / rows;
    f->stream_rows = rows;
    if (MPI_Allreduce(&mine, &f->stream_chunks, 1, MPI_INT64_T, MPI_MAX, f->comm) != MPI_SUCCESS) {
      MPI_Comm_free(&f->comm);
      free(f);
      NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce of the streamed chunk counts failed");
    }
  }
  /* fit_alloc is rank-local and may fail on one rank only (at the large d where memory runs
   * out): the ranks agree before the collective ScaLAPACK set-up, which a failed rank would
   * never reach. On one rank ScaLAPACK only adds overhead (measured 1.5-2x slower than
   * LAPACK), so it needs company. */
  st = nvmm_agree(f->comm, fit_alloc(f));
  if (st == NVMM_OK && (int64_t)f->d >= o->scalapack_min_d && f->size > 1 && o->factors == 0)
    st = nvmm_pchol_create(f->comm, f->d, 0, &f->pchol); /* agrees on its own failures */
  if (st == NVMM_OK) {
    for (size_t j = 0; j < f->d; j++)
      f->scale[j] = 1.0;
    st = nvmm__moments(f);
  }
  if (st == NVMM_OK)
    st = nvmm__fingerprint(f);
  if (st != NVMM_OK) {
    nvmm_fit_destroy(&f);
    return st;
  }
  *out = f;
  return NVMM_OK;
}

nvmm_status nvmm_fit_create(MPI_Comm comm, const nvmm_fit_options *o, int64_t n, int64_t d,
                            int64_t first_row, int64_t n_local, const double *x, nvmm_fit **out) {
  static const double none[1] = {0.0}; /* an empty shard needs no rows, only a non-NULL x */
  return create(comm, o, n, d, first_row, n_local, x || n_local > 0 ? x : none, NULL, NULL, 0, out);
}

nvmm_status nvmm_fit_create_stream(MPI_Comm comm, const nvmm_fit_options *o, int64_t n, int64_t d,
                                   int64_t first_row, int64_t n_local, nvmm_fit_reader *reader,
                                   void *ctx, int64_t chunk_rows, nvmm_fit **out) {
  NVMM_CHECK(reader, NVMM_EINVAL, "the streaming reader is NULL");
  return create(comm, o, n, d, first_row, n_local, NULL, reader, ctx, chunk_rows, out);
}

void nvmm_fit_destroy(nvmm_fit **pf) {
  if (!pf || !*pf)
    return;
  nvmm_fit *f = *pf;
  if (f->comm != MPI_COMM_NULL)
    MPI_Comm_free(&f->comm);
  nvmm_model_free(&f->model);
  nvmm_model_free(&f->next);
  nvmm_model_free(&f->sq_m2);
  free(f->sq_t0);
  free(f->sq_state);
  nvmm_estep_ws_free(&f->ews);
  nvmm_pchol_destroy(&f->pchol);
  free(f->stream);
  free(f->center);
  free(f->scale);
  free(f->rscale);
  free(f->corr);
  free(f->row);
  free(f->cross);
  free(f->bstats);
  free(f->acc);
  free(f->packed);
  free(f->win);
  free(f->sign);
  free(f->stats);
  free(f->scratch);
  free(f->pack);
  free(f->h_loglik);
  free(f->h_change);
  free(f->h_elapsed);
  free(f->h_counters);
  free(f->inc_eta);
  free(f->inc_avg);
  free(f->inc_gran);
  free(f->h_inc);
  free(f->shr_eta0);
  free(f->shr_scratch);
  free(f->h_pen);
  nvmm_model_free(&f->shr_given);
  nvmm__factor_free(f);
  free(f);
  *pf = NULL;
}
