/* fit.c: the distributed batch EM: standardization (numerics.md A.1; src/numerics.md, start-up),
 * exact block reductions (two small MPI_Allreduces per pass), the M-step on rank 0 with a
 * broadcast, regularization, the stopping rules (src/numerics.md), SQUAREM's cycle, the
 * divergence guard (5.4), history and results. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "fault.h"
#include "fit_impl.h"
#include "linalg.h"
#include "nvmm/pchol.h"
#include "nvmm/xsum.h"

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
  default:
    return "iterating";
  }
}

void nvmm_fit_options_default(nvmm_family family, nvmm_fit_options *o) {
  /* numerics.md A.10: det_sigma_one for every family, max_iter 200, tol 1e-3, em. */
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
   * which the reference optima must be reached (src/numerics.md, stopping). */
  o->tol_ll = 1e-3;
  o->alpha_min = 0.0;
  /* The moment start for GH too: with SQUAREM it reaches the same optima as the sub-model start
   * in fewer passes (src/numerics.md, the GH start). */
  o->init = NVMM_INIT_MOMENTS;
  /* 4096 rows: block sums cost one exact accumulation per statistic per block, negligible
   * next to 4096 E-step rows, and a block of d = 100 doubles still fits in L2. */
  o->block_rows = 4096;
  o->standardize = 1;
  /* Measured crossover of ScaLAPACK over LAPACK for the M-step's Cholesky (README, ScaLAPACK). */
  o->scalapack_min_d = 2048;
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
  NVMM_CHECK(o->init != NVMM_INIT_SUBMODELS || o->family == NVMM_FAMILY_GH, NVMM_EINVAL,
             "the sub-model initialization is for the GH family only");
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

/* Exact, rank-count-independent sums over this rank's blocks of a per-block vector of length
 * len computed by fn; two small MPI_Allreduces (the limbs' windows with the error and stop
 * flags, then the limbs inside them: see below). */
typedef nvmm_status block_fn(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                             const double *xb, double *out);

/* This rank's rows as chunks: the whole shard when it is in memory; else chunk c of
 * stream_rows rows read through the reader. Every rank makes the same number of reader calls
 * (stream_chunks, agreed at create), because the reads are collective. */
static nvmm_status shard_chunk(nvmm_fit *f, int64_t c, int64_t *r0, int64_t *rows,
                               const double **src) {
  int64_t size = f->x ? f->n_local : f->stream_rows;
  *r0 = c * size;
  *rows = f->n_local - *r0 < size ? f->n_local - *r0 : size;
  if (*rows < 0)
    *rows = 0;
  if (f->x) {
    *src = f->x + (size_t)*r0 * f->d;
    return NVMM_OK;
  }
  *src = f->stream;
  return f->reader(f->reader_ctx, f->first_row + (*rows > 0 ? *r0 : 0), *rows, f->stream);
}

static block_fn block_estep, block_multi;

static nvmm_status reduce_blocks(nvmm_fit *f, const nvmm_model *m, size_t len, block_fn *fn,
                                 double *out) {
  const size_t L = NVMM_XSUM_LIMBS, d = f->d;
  memset(f->acc, 0, len * L * sizeof *f->acc);
  for (size_t j = 0; j < d; j++)
    f->rscale[j] = 1.0 / f->scale[j];
  nvmm_status st = NVMM_OK;
  double t0 = MPI_Wtime(), tk = 0.0;
  int64_t nchunks = f->x ? 1 : f->stream_chunks;
  for (int64_t c = 0; c < nchunks; c++) {
    int64_t r0, nr;
    const double *src;
    nvmm_status rs = shard_chunk(f, c, &r0, &nr, &src);
    if (rs != NVMM_OK) { /* readers agree on failures across ranks: everyone stops here */
      st = st == NVMM_OK ? rs : st;
      break;
    }
    /* After a local failure the loop goes on reading (collective) but computes nothing. */
    for (int64_t r = 0; r < nr && st == NVMM_OK; r += f->o.block_rows) {
      size_t rows = (size_t)(nr - r < f->o.block_rows ? nr - r : f->o.block_rows);
      /* The block functions standardize as they read ((x - center) * rscale): no copy. */
      const double *xr = src + (size_t)r * d;
      memset(f->bstats, 0, len * sizeof *f->bstats);
      double t1 = MPI_Wtime();
      st = fn(f, m, f->first_row + r0 + r, rows, xr, f->bstats);
      tk += MPI_Wtime() - t1;
      for (size_t k = 0; k < len && st == NVMM_OK; k++)
        nvmm_xsum_add(f->acc + k * L, f->bstats[k]);
    }
  }
  /* Windowed exact reduction. A statistic's exact sum needs 68 limbs in general, but its block
   * sums span only a few (~100 bits: 53 plus the magnitudes' spread plus the carries), so one
   * small Allreduce agrees on each statistic's window of non-zero limbs (and on errors and stop
   * requests) and a second sums just those limbs: about 40 instead of 544 bytes per statistic.
   * Integer sums, so the bits stay independent of the rank count. */
  int32_t *win = f->win; /* [error, stop, then -lo, hi per statistic]: one MPI_MAX */
  win[0] = st != NVMM_OK;
  win[1] = f->stop_flag && *f->stop_flag;
  for (size_t k = 0; k < len; k++) {
    int lo, hi;
    nvmm_xsum_normalize(f->acc + k * L);
    f->sign[k] = (int8_t)nvmm_xsum_split(f->acc + k * L, &lo, &hi);
    win[2 + 2 * k] = -lo;
    win[3 + 2 * k] = hi;
  }
  if (MPI_Allreduce(MPI_IN_PLACE, win, (int)(2 * len + 2), MPI_INT32_T, MPI_MAX, f->comm) !=
      MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce of the E-step statistics' windows failed");
  if (win[0] != 0) {
    if (st == NVMM_OK)
      NVMM_ERROR(NVMM_EDOM, "another rank failed in the E-step");
    return st;
  }
  size_t m_limbs = 0;
  for (size_t k = 0; k < len; k++) {
    int64_t *a = f->acc + k * L;
    for (int i = -win[2 + 2 * k]; i <= win[3 + 2 * k]; i++)
      f->packed[m_limbs++] = f->sign[k] * a[i];
  }
  if (m_limbs > 0 && MPI_Allreduce(MPI_IN_PLACE, f->packed, (int)m_limbs, MPI_INT64_T, MPI_SUM,
                                   f->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce of the E-step statistics failed");
  m_limbs = 0;
  for (size_t k = 0; k < len; k++) {
    int64_t *a = f->acc + k * L;
    memset(a, 0, L * sizeof *a);
    for (int i = -win[2 + 2 * k]; i <= win[3 + 2 * k]; i++)
      a[i] = f->packed[m_limbs++];
    out[k] = nvmm_xsum_value(a);
  }
  f->reduce_bytes = (double)(m_limbs * sizeof(int64_t) + (2 * len + 2) * sizeof(int32_t));
  f->stop_seen = win[1] != 0;
  if (fn == block_estep || fn == block_multi) {
    f->t_estep += tk;
    f->t_reduce += MPI_Wtime() - t0 - tk;
  } else {
    f->t_moments += MPI_Wtime() - t0;
  }
  f->passes++;
  return NVMM_OK;
}

static uint64_t row_hash(const double *row, size_t d, int64_t index);

static nvmm_status block_moments(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                                 const double *xb, double *out) {
  /* Sums of x - c (c = f->center, the shift; scale is still 1), the row count, then the cross
   * products of x - c, lower triangle packed by rows: DSYRK on chunks of shifted rows rather
   * than d^2/2 scalar multiply-adds per row. The same pass hashes every row for the data
   * fingerprint (about a nanosecond per value). */
  const size_t d = f->d, ch = f->cross_rows;
  memset(f->cross, 0, d * d * sizeof *f->cross);
  for (size_t r = 0; r < rows; r += ch) {
    const size_t nr = rows - r < ch ? rows - r : ch;
    for (size_t i = 0; i < nr; i++) {
      const double *x = xb + (r + i) * d;
      for (size_t j = 0; j < d; j++) {
        double y = x[j] - f->center[j];
        f->row[i * d + j] = y;
        out[j] += y;
      }
      f->fp_local += row_hash(x, d, row0 + (int64_t)(r + i));
    }
    nvmm__gram(d, nr, f->row, 1.0, f->cross);
  }
  out[d] += (double)rows;
  nvmm__add_packed(d, f->cross, out + d + 1);
  return NVMM_OK;
}

static nvmm_status block_estep(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                               const double *xb, double *out) {
  return nvmm_estep_block_std(m, f->ews, rows, xb, f->center, f->rscale, out);
}

/* The E-steps of f->nmulti models on one block (each with its own workspace, which caches its
 * model's inverse factor): model k's statistics at out + k len, then one failure count per
 * model. A model whose statistics are not finite (NVMM_EDOM) drops this block's sums and counts
 * a failure, so one bad candidate does not end the pass for the others. */
static nvmm_status block_multi(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                               const double *xb, double *out) {
  (void)m;
  const size_t len = f->len, nm = (size_t)f->nmulti;
  for (size_t k = 0; k < nm; k++) {
    nvmm_status st = nvmm_estep_block_std(f->multi[k], f->multi_ws[k], rows, xb, f->center,
                                          f->rscale, out + k * len);
    if (st == NVMM_EDOM) {
      memset(out + k * len, 0, len * sizeof *out);
      out[nm * len + k] += 1.0;
    } else if (st != NVMM_OK) {
      return st;
    }
  }
  return NVMM_OK;
}

/* The data's first row, on every rank: the shift of the moments pass. Collective, one (one-row
 * or empty) read on every rank where the rows are streamed. */
static nvmm_status first_row(nvmm_fit *f, double *s) {
  const size_t d = f->d;
  int mine = f->first_row == 0 && f->n_local > 0;
  nvmm_status st = NVMM_OK;
  memset(s, 0, d * sizeof *s);
  if (f->x && mine)
    memcpy(s, f->x, d * sizeof *s);
  if (!f->x) {
    st = f->reader(f->reader_ctx, f->first_row, mine ? 1 : 0, f->stream);
    if (st == NVMM_OK && mine)
      memcpy(s, f->stream, d * sizeof *s);
  }
  NVMM_CALL(nvmm_agree(f->comm, st));
  /* One rank holds row 0, the others add zeros: an exact sum. */
  if (MPI_Allreduce(MPI_IN_PLACE, s, (int)d, MPI_DOUBLE, MPI_SUM, f->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce of the data's first row failed");
  return NVMM_OK;
}

/* Shifted sums lose about log10(1 + m^2 / var) digits of a variance, m the mean's distance from
 * the shift; beyond this ratio (1e-12 relative left) the moments take a second pass about the
 * mean. */
#define MOMENT_SHIFT_MAX 1e4

/* Global mean and covariance in one exact pass over the rows shifted by the data's first row
 * (src/numerics.md, start-up): raw moments would cancel (A.1), and a shift to a data point leaves
 * only the cancellation of its distance from the mean. The rare data whose first row lies
 * hundreds of standard deviations out take a second pass about the mean (counted in passes).
 * Then the standardization. */
static nvmm_status moments(nvmm_fit *f) {
  const size_t d = f->d;
  double *tmp = f->stats; /* len >= np + d + 1 */
  const double *c2 = tmp + d + 1;
  const double n = (double)f->n;
  NVMM_CALL(first_row(f, f->center));
  uint64_t fp = f->fp_local;
  for (int pass = 0; pass < 2; pass++) {
    f->fp_local = fp; /* a second pass must not hash the rows twice */
    NVMM_CALL(reduce_blocks(f, NULL, d + 1 + d * (d + 1) / 2, block_moments, tmp));
    NVMM_CHECK(tmp[d] == n, NVMM_EINVAL, "the ranks' row ranges cover %.0f rows, not n = %lld",
               tmp[d], (long long)f->n);
    int cancels = 0;
    for (size_t j = 0; j < d; j++) {
      double m = tmp[j] / n, v = c2[j * (j + 1) / 2 + j] / n - m * m;
      cancels |= !(m * m <= MOMENT_SHIFT_MAX * v);
    }
    for (size_t j = 0; j < d; j++)
      f->center[j] += tmp[j] / n;
    if (!cancels)
      break;
  }
  for (size_t j = 0; j < d; j++) {
    double m = tmp[j] / n;
    f->scale[j] = sqrt(c2[j * (j + 1) / 2 + j] / n - m * m);
  }
  for (size_t j = 0; j < d; j++)
    NVMM_CHECK(f->scale[j] > 0 && isfinite(f->scale[j]), NVMM_EDOM,
               "column %zu is constant (its variance is %g): Sigma would be singular", j,
               f->scale[j] * f->scale[j]);
  for (size_t j = 0; j < d; j++)
    for (size_t k = 0; k <= j; k++) {
      double c = c2[j * (j + 1) / 2 + k] / n - (tmp[j] / n) * (tmp[k] / n);
      f->corr[j * d + k] = f->corr[k * d + j] =
          f->o.standardize ? c / (f->scale[j] * f->scale[k]) : c;
    }
  if (!f->o.standardize)
    for (size_t j = 0; j < d; j++)
      f->scale[j] = 1.0;
  return NVMM_OK;
}

static nvmm_status fingerprint(nvmm_fit *f);

/* Bytes per rank the GH start may spend to share passes among its candidates. */
#define MULTI_BUDGET ((size_t)256 << 20)

static nvmm_status fit_alloc(nvmm_fit *f) {
  size_t d = f->d, len = f->len, L = NVMM_XSUM_LIMBS;
  size_t need = len > d * (d + 1) / 2 + d + 1 ? len : d * (d + 1) / 2 + d + 1;
  size_t hist = (size_t)f->o.max_iter;
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
  f->hist_cap = f->o.max_iter;
  f->len = len;
  f->pack_len = 2 * d + 2 * d * d + 8 + NVMM_NCOUNTERS;
  if (!f->x)
    f->stream = calloc((size_t)f->stream_rows * d, sizeof(double));
  NVMM_CHECK(f->x || f->stream, NVMM_ENOMEM, "cannot allocate a streaming buffer of %lld rows",
             (long long)f->stream_rows);
  f->center = calloc(d, sizeof(double));
  f->scale = calloc(d, sizeof(double));
  f->rscale = calloc(d, sizeof(double));
  f->corr = calloc(d * d, sizeof(double));
  /* Chunks of centred rows for the cross products: up to 256 rows or 2 MiB. */
  f->cross_rows = (size_t)f->o.block_rows < 256 ? (size_t)f->o.block_rows : 256;
  while (f->cross_rows > 1 && f->cross_rows * d > ((size_t)1 << 18))
    f->cross_rows /= 2;
  f->row = calloc(f->cross_rows * d, sizeof(double));
  f->cross = calloc(d * d, sizeof(double));
  f->bstats = calloc(need, sizeof(double));
  f->acc = calloc(need * L, sizeof(int64_t));
  f->packed = calloc(need * L, sizeof(int64_t));
  f->win = calloc(2 * need + 2, sizeof(int32_t));
  f->sign = calloc(need, sizeof(int8_t));
  f->stats = calloc(need, sizeof(double));
  f->scratch = calloc(d * d + 2 * d, sizeof(double));
  f->pack = calloc(f->pack_len, sizeof(double));
  f->h_loglik = calloc(hist, sizeof(double));
  f->h_change = calloc(hist, sizeof(double));
  f->h_elapsed = calloc(hist, sizeof(double));
  f->h_counters = calloc(hist * NVMM_NCOUNTERS, sizeof(double));
  NVMM_CHECK(f->center && f->scale && f->rscale && f->corr && f->row && f->cross && f->bstats &&
                 f->acc && f->packed && f->win && f->sign && f->stats && f->scratch && f->pack &&
                 f->h_loglik && f->h_change && f->h_elapsed && f->h_counters,
             NVMM_ENOMEM, "cannot allocate the fit workspaces (d = %zu, block_rows = %lld)", d,
             (long long)f->o.block_rows);
  NVMM_CALL(nvmm_estep_ws_alloc(d, &f->ews));
  NVMM_CALL(nvmm_model_alloc(f->o.family, d, &f->model));
  NVMM_CALL(nvmm_model_alloc(f->o.family, d, &f->next));
  /* The Gaussian's M-step is its MLE: nothing to accelerate. */
  f->sq_on = f->o.accel == NVMM_ACCEL_SQUAREM && f->o.family != NVMM_FAMILY_GAUSS;
  f->sq_p = nvmm__theta_len(f->model);
  f->sq_t0 = calloc(3 * f->sq_p, sizeof(double));
  NVMM_CHECK(f->sq_t0, NVMM_ENOMEM, "cannot allocate SQUAREM's coordinates (%zu)", f->sq_p);
  f->sq_t1 = f->sq_t0 + f->sq_p;
  f->sq_state = calloc(nvmm_fit_accel_len((int64_t)d), sizeof(double));
  NVMM_CHECK(f->sq_state, NVMM_ENOMEM, "cannot allocate SQUAREM's state record");
  f->sq_t2 = f->sq_t1 + f->sq_p;
  return nvmm_model_alloc(f->o.family, d, &f->sq_m2);
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
  f->len = nvmm_stats_len(f->d);
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
  if (st == NVMM_OK && (int64_t)f->d >= o->scalapack_min_d && f->size > 1)
    st = nvmm_pchol_create(f->comm, f->d, 0, &f->pchol); /* agrees on its own failures */
  if (st == NVMM_OK) {
    for (size_t j = 0; j < f->d; j++)
      f->scale[j] = 1.0;
    st = moments(f);
  }
  if (st == NVMM_OK)
    st = fingerprint(f);
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
  free(f);
  *pf = NULL;
}

/* Model broadcast: rank 0 packs (mu, gamma, Sigma, L, log|Sigma|, subordinator), the
 * iteration's change, its outcome and the M-step counters; everyone unpacks. */
enum { PK_LOGDET = 0, PK_KIND, PK_P0, PK_P1, PK_P2, PK_RATE, PK_OUTCOME, PK_STATUS, PK_HEAD };

static void pack_model(nvmm_fit *f, const nvmm_model *m) {
  size_t d = f->d;
  double *p = f->pack;
  p[PK_LOGDET] = m->logdet;
  p[PK_KIND] = (double)m->sub.kind;
  for (int k = 0; k < 3; k++)
    p[PK_P0 + k] = m->sub.par[k];
  double *v = p + PK_HEAD + NVMM_NCOUNTERS;
  memcpy(v, m->mu, (2 * d + 2 * d * d) * sizeof *v); /* mu, gamma, sigma, chol contiguous */
}

static void unpack_model(nvmm_fit *f, nvmm_model *m) {
  size_t d = f->d;
  const double *p = f->pack;
  m->logdet = p[PK_LOGDET];
  m->sub.kind = (nvmm_sub_kind)p[PK_KIND];
  for (int k = 0; k < 3; k++)
    m->sub.par[k] = p[PK_P0 + k];
  memcpy(m->mu, p + PK_HEAD + NVMM_NCOUNTERS, (2 * d + 2 * d * d) * sizeof(double));
}

static nvmm_status bcast_pack(nvmm_fit *f) {
  if (MPI_Bcast(f->pack, (int)f->pack_len, MPI_DOUBLE, 0, f->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Bcast of the model failed");
  return NVMM_OK;
}

/* Mean log-likelihood in the user's units from the last E-step: the density of x = c + s x~
 * is the standardized density divided by prod s_j. */
static double loglik(const nvmm_fit *f) {
  double ls = 0.0;
  for (size_t j = 0; j < f->d; j++)
    ls += log(f->scale[j]);
  return f->stats[NVMM_ST_LOGF] / (double)f->n - ls;
}

static nvmm_status estep_all(nvmm_fit *f, const nvmm_model *m) {
  return reduce_blocks(f, m, f->len, block_estep, f->stats);
}

static double rms_change(size_t k, const double *a, const double *b) {
  double dd = 0.0, bb = 0.0;
  for (size_t i = 0; i < k; i++) {
    dd += (a[i] - b[i]) * (a[i] - b[i]);
    bb += b[i] * b[i];
  }
  return sqrt(dd / (double)k) / (1.0 + sqrt(bb / (double)k));
}

/* The subordinator's change in scale-free coordinates: log of each positive parameter (a
 * relative change), and GH's p relative to 1 + |p|. The fit iterates in a fixed gauge, so the
 * parameters are comparable from one iteration to the next. */
static double sub_change(const nvmm_sub *new, const nvmm_sub *old) {
  double m = 0.0;
  for (int k = 0; k < 3; k++) {
    double a = new->par[k], b = old->par[k], c;
    if (a == b)
      continue; /* unused entries are 0 in both */
    if (new->kind == NVMM_SUB_GIG && k == 0)
      c = fabs(a - b) / (1.0 + fabs(b));
    else
      c = a > 0 && b > 0 ? fabs(log(a / b)) : NAN;
    if (!isfinite(c))
      return NAN;
    m = fmax(m, c);
  }
  return m;
}

/* numerics.md 5.2: max over mu, gamma, L of rms(new - old) / (1 + rms(old)); L over all d^2
 * entries. normix's rule (NVMM_STOP_PARAMS) excludes the subordinator (pitfall 22); the MLE rule
 * includes it, because on real data the subordinator keeps moving after (mu, gamma, L) settle. */
static double param_change(const nvmm_model *new, const nvmm_model *old, int with_sub) {
  size_t d = new->d;
  double c[4] = {rms_change(d, new->mu, old->mu), rms_change(d, new->gamma, old->gamma),
                 rms_change(d * d, new->chol, old->chol),
                 with_sub ? sub_change(&new->sub, &old->sub) : 0.0};
  double m = 0.0;
  for (int k = 0; k < 4; k++) {
    if (!isfinite(c[k]))
      return NAN; /* fmax would drop a NaN */
    m = fmax(m, c[k]);
  }
  return m;
}

/* The MLE rule (src/numerics.md, stopping), from the history only, so a resumed fit decides
 * exactly as the uninterrupted one. ll(s) is the mean LL of the model after s updates and
 * g_s = n (ll(s) - ll(s-1)) the total gain of update s. EM converges linearly, so the gains of
 * consecutive EM steps shrink by a ratio rho = g_s / g_{s-1} and what is still to gain is about
 * g_s rho / (1 - rho). A gain within the log-likelihood's rounding (LL_NOISE ulps of each row's
 * log-density, whose size the standardized mean LL gives) is no gain: there the ratio is noise,
 * and a fit held to a tight tol stops on its parameter change. A growing gain means no estimate.
 * Only EM steps count: SQUAREM's extrapolations and their rejections are not (their gains say
 * nothing of EM's rate), which the history's accel counters tell. */
#define LL_NOISE 64.0
static double log_scale_sum(const nvmm_fit *f);

static double ll_after(const nvmm_fit *f, int s) {
  return s >= 1 ? f->h_loglik[s - 1] : f->loglik_init;
}

static double gain(const nvmm_fit *f, int s) {
  return (double)f->n * (ll_after(f, s) - ll_after(f, s - 1));
}

/* Update s (1-based) was a plain EM (or MCECM) step. */
static int em_step(const nvmm_fit *f, int s) {
  const double *c = f->h_counters + (size_t)(s - 1) * NVMM_NCOUNTERS;
  return c[NVMM_CNT_ACCEL_STEP] == 0.0 && c[NVMM_CNT_ACCEL_REJECT] == 0.0;
}

/* Update s: an EM step with a change below tol and a gain within tol_ll. */
static int small_step(const nvmm_fit *f, int s) {
  double g = gain(f, s);
  return s >= 1 && em_step(f, s) && f->h_change[s - 1] < f->o.tol && isfinite(g) &&
         fabs(g) <= f->o.tol_ll;
}

static int mle_met_at(const nvmm_fit *f, int s) {
  if (!small_step(f, s))
    return 0;
  double n = (double)f->n, g = gain(f, s);
  double noise = LL_NOISE * DBL_EPSILON * n * (1.0 + fabs(ll_after(f, s) + log_scale_sum(f) / 2.0));
  if (g <= noise)
    return 1; /* no gain left within tol_ll (rounding, or a clamp's small loss) */
  /* Two consecutive EM gains give the rate, unless the earlier one is the first EM step after an
   * extrapolation (it falls fast while the stirred-up fast modes decay). Under SQUAREM the
   * last cycle's estimate (sq_rho) bounds it from below. */
  double rho = NAN;
  if (s >= 2 && em_step(f, s - 1) && (s < 3 || em_step(f, s - 2))) {
    double gp = gain(f, s - 1);
    if (!(gp > g))
      return 0; /* gains not shrinking: no rate to trust */
    rho = g / gp;
  }
  if (f->sq_on && isfinite(f->sq_rho))
    rho = isfinite(rho) ? fmax(rho, f->sq_rho) : f->sq_rho;
  if (!(rho < 1.0))
    return 0; /* no rate, or no contraction */
  return g * rho / (1.0 - rho) <= f->o.tol_ll;
}

/* The last NVMM_STOP_WINDOW updates meet the rule. Under SQUAREM an earlier update of the window
 * may follow an extrapolation, so that it has no rate of its own: it must then be a small EM
 * step, while the latest update's rate certifies the remainder. */
static int mle_converged(const nvmm_fit *f) {
  int t = f->iterations;
  if (t < NVMM_STOP_WINDOW || !mle_met_at(f, t))
    return 0;
  for (int k = 1; k < NVMM_STOP_WINDOW; k++) {
    int s = t - k;
    if (s >= 2 && !em_step(f, s - 1) ? !small_step(f, s) : !mle_met_at(f, s))
      return 0;
  }
  return 1;
}

static int model_finite(const nvmm_model *m) {
  size_t d = m->d;
  for (size_t i = 0; i < 2 * d + 2 * d * d; i++)
    if (!isfinite(m->mu[i]))
      return 0;
  return isfinite(m->logdet) && isfinite(m->sub.par[0]) && isfinite(m->sub.par[1]) &&
         isfinite(m->sub.par[2]);
}

/* Outcome of an M-step on rank 0: a numerical failure (singular Sigma, impossible moments) is a
 * divergence, kept as a reason; anything else is an error. */
static int diverging(nvmm_status st) {
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
static int a_eq_b_fails(const nvmm_fit *f, const nvmm_model *m) {
  return !f->gauge_switched && f->o.regularization == NVMM_REG_A_EQ_B &&
         m->family == NVMM_FAMILY_GH && sqrt(m->sub.par[1] * m->sub.par[2]) < A_EQ_B_MIN;
}

static nvmm_status mstep_bcast(nvmm_fit *f, const nvmm_model *from, int part, int *diverged) {
  double t0 = MPI_Wtime();
  if (f->rank == 0 || (f->pchol && part != 2)) {
    nvmm_mstep_counts c = {0};
    nvmm_mstep_opts mo = {f->o.alpha_min, f->pchol ? pchol_factor : NULL, f->pchol};
    nvmm_status st;
    if (part == 0)
      st = nvmm_mstep(f->stats, from, f->next, &mo, &c, f->scratch);
    else if (part == 1)
      st = nvmm_mstep_normal(f->stats, from, f->next, &mo, &c, f->scratch);
    else
      st = nvmm_mstep_sub(f->stats, from, f->next, &mo, &c);
    int sw = st == NVMM_OK && model_finite(f->next) && a_eq_b_fails(f, f->next);
    if (st == NVMM_OK && (part != 2 || sw))
      st = nvmm_model_regularize(f->next, sw ? NVMM_REG_DET_SIGMA_ONE : gauge(f), f->target_logdet);
    if (st == NVMM_OK && f->fault_nonfinite_at == f->iterations + 1)
      f->next->mu[0] = NAN;
    int bad = st != NVMM_OK || !model_finite(f->next);
    if (part != 2 || !bad)
      count_mstep(f->pack, &c);
    if (sw && !bad)
      f->pack[PK_HEAD + NVMM_CNT_GAUGE_SWITCH] = 1.0;
    f->pack[PK_OUTCOME] = bad ? 1.0 : 0.0;
    f->pack[PK_STATUS] = st == NVMM_OK || diverging(st) ? 0.0 : (double)st;
    if (!bad)
      pack_model(f, f->next);
  }
  NVMM_CALL(bcast_pack(f));
  NVMM_CHECK(f->pack[PK_STATUS] == 0.0, (nvmm_status)f->pack[PK_STATUS],
             "the M-step failed on rank 0: %s", nvmm_strerror((nvmm_status)f->pack[PK_STATUS]));
  *diverged = f->pack[PK_OUTCOME] != 0.0;
  if (!*diverged)
    unpack_model(f, f->next);
  if (f->pack[PK_HEAD + NVMM_CNT_GAUGE_SWITCH] != 0.0)
    f->gauge_switched = 1;
  f->t_mstep += MPI_Wtime() - t0;
  return NVMM_OK;
}

static void record(nvmm_fit *f, double change) {
  int i = f->iterations; /* < hist_cap: the fit stops at max_iter <= hist_cap */
  f->h_change[i] = change;
  f->h_loglik[i] = NAN;
  f->h_elapsed[i] = f->elapsed = MPI_Wtime() - f->t0;
  for (int c = 0; c < NVMM_NCOUNTERS; c++) {
    f->h_counters[(size_t)i * NVMM_NCOUNTERS + c] = f->pack[PK_HEAD + c];
    f->totals[c] += f->pack[PK_HEAD + c];
  }
  f->last_change = change;
  f->iterations++;
}

/* The plain map F: one EM (or MCECM) update of f->model into f->next, on every rank. */
static nvmm_status em_map(nvmm_fit *f, int *diverged) {
  if (f->o.algorithm == NVMM_ALG_EM || f->o.family == NVMM_FAMILY_GAUSS)
    return mstep_bcast(f, f->model, 0, diverged);
  NVMM_CALL(mstep_bcast(f, f->model, 1, diverged));
  if (*diverged)
    return NVMM_OK;
  /* Second E-step with the new Gaussian block and the old subordinator (6.2). */
  double floors = f->pack[PK_HEAD + NVMM_CNT_BPOST_FLOOR];
  NVMM_CALL(estep_all(f, f->next));
  f->pack[PK_HEAD + NVMM_CNT_BPOST_FLOOR] = floors + f->stats[NVMM_ST_FLOOR];
  return mstep_bcast(f, f->next, 2, diverged);
}

/* SQUAREM's extrapolation, phase 1: f->model is theta1, f->next theta2 = F(theta1). Rank 0
 * forms theta' from (theta0, theta1, theta2) and broadcasts it in f->next; theta2 is kept in
 * sq_m2 for a rejection. The step falls back to theta2 (counted) when theta' is no valid model:
 * not finite, or a VG shape below alpha_min. The last update before max_iter does not
 * extrapolate: the fit then ends on an EM iterate. */
static nvmm_status extrapolate(nvmm_fit *f) {
  NVMM_CALL(nvmm_model_copy(f->sq_m2, f->next));
  double t0 = MPI_Wtime();
  if (f->rank == 0) {
    double alpha = -1.0, lambda = NAN;
    int infeasible = 0;
    nvmm__theta_get(f->model, f->sq_t1);
    nvmm__theta_get(f->next, f->sq_t2);
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
    f->pack[PK_RATE] = lambda * lambda;
    if (alpha != -1.0) {
      nvmm_status st = nvmm__theta_set(f->next, f->sq_t2);
      if (st == NVMM_OK)
        st = nvmm_model_regularize(f->next, gauge(f), f->target_logdet);
      infeasible = st != NVMM_OK || !model_finite(f->next) ||
                   (f->o.family == NVMM_FAMILY_VG && f->next->sub.par[0] < f->o.alpha_min);
      if (infeasible)
        NVMM_CALL(nvmm_model_copy(f->next, f->sq_m2));
    }
    f->pack[PK_OUTCOME] = infeasible ? 1.0 : alpha; /* a step length is <= -1 */
    pack_model(f, f->next);
  }
  NVMM_CALL(bcast_pack(f));
  unpack_model(f, f->next);
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
  record(f, change);
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
         em_step(f, t);
}

/* SQUAREM's monotone safeguard, checked lazily in the pass that scores theta3 = F(theta'):
 * theta3 must score at least the cycle's start theta0 (up to rounding). Else this pass is
 * spent: the fit goes back to theta2 = F(F(theta0)), a rejection is counted, and the step bound
 * shrinks if the step was at it; an accepted step at the bound grows it. Both log-likelihoods
 * are reduced sums in the history, so every rank decides alike, and a resumed fit too. */
static nvmm_status safeguard(nvmm_fit *f, double ll, int *rejected) {
  int t = f->iterations;
  double ll0 = ll_after(f, t - 3);
  double noise = LL_NOISE * DBL_EPSILON * (1.0 + fabs(ll + log_scale_sum(f) / 2.0));
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
  NVMM_CALL(nvmm_model_copy(f->next, f->sq_m2));
  f->sq_phase = 0;
  return advance(f, param_change(f->next, f->model, f->o.stop == NVMM_STOP_MLE));
}

nvmm_status nvmm_fit_iterate(nvmm_fit *f) {
  NVMM_CHECK(f, NVMM_EINVAL, "fit is NULL");
  if (f->reason != NVMM_FIT_ITERATING)
    return NVMM_OK;
  NVMM_CALL(estep_all(f, f->model));
  double ll = loglik(f);
  if (f->iterations == 0)
    f->loglik_init = ll;
  else
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
  if (f->o.stop == NVMM_STOP_MLE && mle_converged(f)) {
    /* This pass scored the current model: it is the result, and no closing pass is needed. */
    f->reason = NVMM_FIT_CONVERGED;
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
  double change = diverged ? NAN : param_change(f->next, f->model, with_sub);
  if (diverged || !isfinite(change)) {
    /* 5.4: keep the last finite iterate and stop. */
    record(f, change);
    f->reason = NVMM_FIT_DIVERGED;
    return NVMM_OK;
  }
  if (f->sq_on && phase == 0) {
    nvmm__theta_get(f->model, f->sq_t0);
    f->sq_phase = 1;
  } else if (f->sq_on && phase == 1) {
    NVMM_CALL(extrapolate(f));
    change = param_change(f->next, f->model, with_sub);
    f->sq_phase = 2;
    if (!isfinite(change)) { /* cannot happen for a finite theta'; kept as a guard */
      record(f, change);
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
  if (f->reason == NVMM_FIT_STOPPED || f->reason == NVMM_FIT_CONVERGED)
    return NVMM_OK; /* the deciding pass already scored the current model */
  /* One closing pass for the final model's log-likelihood (the E-step of an iteration scores
   * the model entering it). */
  NVMM_CALL(estep_all(f, f->model));
  f->loglik_final = loglik(f);
  f->elapsed = MPI_Wtime() - f->t0;
  if (f->iterations > 0)
    f->h_loglik[f->iterations - 1] = f->loglik_final;
  return NVMM_OK;
}

nvmm_fit_reason nvmm_fit_reason_get(const nvmm_fit *f) { return f->reason; }

/* Standardized -> user units: x = center + scale * x~, so mu = c + s mu~, gamma = s gamma~,
 * Sigma = S Sigma~ S, L = S L~ (numerics.md A.1: exact equivariance). */
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

static double log_scale_sum(const nvmm_fit *f) {
  double s = 0.0;
  for (size_t j = 0; j < f->d; j++)
    s += 2.0 * log(f->scale[j]);
  return s;
}

nvmm_status nvmm_fit_model(const nvmm_fit *f, nvmm_model *out) {
  NVMM_CHECK(f && out, NVMM_EINVAL, "fit and model must not be NULL");
  NVMM_CALL(to_user(f, f->model, out));
  /* Honour the gauge in the user's units with one exact move along the orbit. */
  return nvmm_model_regularize(out, gauge(f), f->target_logdet + log_scale_sum(f));
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
}

void nvmm_fit_history(const nvmm_fit *f, size_t *len, const double **loglik, const double **change,
                      const double **elapsed, const double **counters) {
  *len = (size_t)f->iterations;
  *loglik = f->h_loglik;
  *change = f->h_change;
  *elapsed = f->h_elapsed;
  *counters = f->h_counters;
}

/* Starts the fit from the model currently in f->model (standardized coordinates). */
static nvmm_status start(nvmm_fit *f) {
  NVMM_CALL(nvmm_model_regularize(
      f->model, f->o.regularization == NVMM_REG_DET_SIGMA_X ? NVMM_REG_NONE : f->o.regularization,
      0.0));
  f->target_logdet = f->model->logdet;
  f->iterations = 0;
  f->gauge_switched = 0;
  f->sq_phase = 0;
  f->sq_step_max = 1.0; /* the first cycle is plain EM; accepted steps at the bound grow it */
  f->sq_alpha = -1.0;
  f->sq_rho = NAN;
  f->t_startup = MPI_Wtime() - f->t_create;
  f->reason = NVMM_FIT_ITERATING;
  f->loglik_init = f->loglik_final = NAN;
  memset(f->totals, 0, sizeof f->totals);
  f->t0 = MPI_Wtime();
  return NVMM_OK;
}

nvmm_status nvmm_fit_set_model(nvmm_fit *f, const nvmm_model *m) {
  NVMM_CHECK(f && m, NVMM_EINVAL, "fit and model must not be NULL");
  NVMM_CHECK(m->family == f->o.family && m->d == f->d, NVMM_EINVAL,
             "the initial model is %s of dimension %zu, the fit is %s of dimension %zu",
             nvmm_family_name(m->family), m->d, nvmm_family_name(f->o.family), f->d);
  /* User units -> standardized: mu~ = (mu - c) / s, gamma~ = gamma / s, Sigma~ = S^-1 Sigma
   * S^-1; re-validated (and re-factorized) through nvmm_model_set. */
  size_t d = f->d;
  double *sig = f->scratch; /* d*d */
  for (size_t i = 0; i < d; i++) {
    f->next->mu[i] = (m->mu[i] - f->center[i]) / f->scale[i];
    f->next->gamma[i] = m->gamma[i] / f->scale[i];
    for (size_t j = 0; j < d; j++)
      sig[i * d + j] = m->sigma[i * d + j] / (f->scale[i] * f->scale[j]);
  }
  NVMM_CALL(nvmm_model_set(f->model, f->next->mu, f->next->gamma, sig, &m->sub));
  return start(f);
}

/* E-steps models[0..k) in shared passes, multi_cap at a time; calls use(f, j, stats, failed)
 * for each model in order. Collective. */
typedef nvmm_status multi_use_fn(nvmm_fit *f, void *ctx, int j, const double *stats, int failed);
static nvmm_status estep_multi(nvmm_fit *f, nvmm_model *const *models, int k, multi_use_fn *use,
                               void *ctx) {
  for (int g = 0; g < k; g += f->multi_cap) {
    int nm = k - g < f->multi_cap ? k - g : f->multi_cap;
    f->nmulti = nm;
    for (int j = 0; j < nm; j++)
      f->multi[j] = models[g + j];
    size_t len = f->len;
    NVMM_CALL(reduce_blocks(f, NULL, (size_t)nm * (len + 1), block_multi, f->stats));
    for (int j = 0; j < nm; j++)
      NVMM_CALL(use(f, ctx, g + j, f->stats + (size_t)j * len,
                    f->stats[(size_t)nm * len + (size_t)j] != 0.0));
  }
  return NVMM_OK;
}

/* The GH start (numerics.md 5.6): the moment init and the GH embeddings of NIG, VG and NInvG
 * after five EM iterations each, best GH log-likelihood first found wins. The three short fits
 * share their passes (and the moment init's score rides in the first), so the start costs 6
 * passes instead of 19, with the same sums and so the same start bit for bit. Every rank runs
 * the same deterministic arithmetic on the same reduced statistics: no broadcast. */
typedef struct gh_start {
  nvmm_model *cand[4]; /* passes 1-5: [0] the GH moment init (first pass only), [1..3] subs */
  int alive[4];
  int map[4]; /* the candidate of each model of the current pass */
  int win;    /* the scored embedding that wins so far (-1: the moment init) */
  double best;
} gh_start;

static nvmm_status start_use(nvmm_fit *f, void *ctx, int j, const double *st, int failed) {
  gh_start *g = ctx;
  int k = g->map[j];
  if (failed) {
    g->alive[k] = 0;
    return NVMM_OK;
  }
  if (k == 0) {
    g->best = st[NVMM_ST_LOGF];
    return NVMM_OK;
  }
  nvmm_status ms = nvmm_mstep(st, g->cand[k], g->cand[k], NULL, NULL, f->scratch);
  if (ms != NVMM_OK) {
    if (!diverging(ms))
      return ms;
    g->alive[k] = 0; /* a sub-model whose short fit fails is skipped */
  }
  return NVMM_OK;
}

static nvmm_status score_use(nvmm_fit *f, void *ctx, int j, const double *st, int failed) {
  gh_start *g = ctx;
  if (!failed && st[NVMM_ST_LOGF] > g->best) {
    g->best = st[NVMM_ST_LOGF];
    g->win = j;
  }
  return NVMM_OK;
}

/* The GH embedding of a fitted sub-model (*ok = 0 when it has none). */
static nvmm_status embed(const nvmm_model *m, nvmm_model *gh, int *ok) {
  /* b (VG) or a (NInvG) of the embedding, relative to the scale of Y: small enough that the GIG
   * is the Gamma / InverseGamma to ~1e-4 in its moments, large enough for a finite Bessel
   * argument. */
  const double rel = 1e-4;
  double p, a, b, ey;
  *ok = 0;
  nvmm_status st = nvmm_sub_to_gig(&m->sub, &p, &a, &b);
  if (st == NVMM_OK)
    st = nvmm_sub_moment(&m->sub, 1.0, &ey);
  if (st == NVMM_OK) {
    if (!isfinite(ey))
      ey = 1.0;
    if (b == 0.0)
      b = rel * ey;
    if (a == 0.0)
      a = rel / ey;
    nvmm_sub sub;
    st = nvmm_sub_make(NVMM_SUB_GIG, (double[3]){p, a, b}, &sub);
    if (st == NVMM_OK && model_finite(m))
      st = nvmm_model_set(gh, m->mu, m->gamma, m->sigma, &sub);
    *ok = st == NVMM_OK && model_finite(m);
  }
  return diverging(st) || st == NVMM_EINVAL ? NVMM_OK : st;
}

static nvmm_status gh_submodel_start(nvmm_fit *f) {
  /* 5 iterations: normix's choice; enough to separate the tail shapes, cheap next to the fit. */
  const int iters = 5;
  static const nvmm_family subs[3] = {NVMM_FAMILY_NIG, NVMM_FAMILY_VG, NVMM_FAMILY_NINVG};
  gh_start g = {{f->model}, {1, 1, 1, 1}, {0}, -1, 0.0};
  nvmm_model *emb[3] = {NULL}, *pass[4];
  nvmm_status st = NVMM_OK;
  f->multi_ws[0] = f->ews;
  for (int k = 1; k < f->multi_cap && st == NVMM_OK; k++)
    st = nvmm_estep_ws_alloc(f->d, &f->multi_ws[k]);
  double *mean = f->bstats; /* d zeros */
  memset(mean, 0, f->d * sizeof *mean);
  for (int k = 0; k < 3 && st == NVMM_OK; k++) {
    st = nvmm_model_alloc(subs[k], f->d, &g.cand[k + 1]);
    if (st == NVMM_OK)
      st = nvmm_model_init_moments(g.cand[k + 1], mean, f->corr);
    if (st == NVMM_OK)
      st = nvmm_model_alloc(NVMM_FAMILY_GH, f->d, &emb[k]);
  }
  st = nvmm_agree(f->comm, st);
  /* Pass 1 scores the moment init too; each pass E-steps the sub-models still alive. */
  for (int it = 0; it < iters && st == NVMM_OK; it++) {
    int k = 0;
    for (int c = it == 0 ? 0 : 1; c < 4; c++)
      if (g.alive[c]) {
        g.map[k] = c;
        pass[k++] = g.cand[c];
      }
    st = estep_multi(f, pass, k, start_use, &g);
  }
  int nemb = 0, which[3];
  nvmm_model *scored[3];
  for (int k = 0; k < 3 && st == NVMM_OK; k++) {
    int ok = 0;
    if (g.alive[k + 1])
      st = embed(g.cand[k + 1], emb[k], &ok);
    if (ok) {
      which[nemb] = k;
      scored[nemb++] = emb[k];
    }
  }
  if (st == NVMM_OK && nemb > 0) {
    st = estep_multi(f, scored, nemb, score_use, &g);
    if (st == NVMM_OK && g.win >= 0)
      st = nvmm_model_copy(f->model, emb[which[g.win]]);
  }
  for (int k = 0; k < 3; k++) {
    nvmm_model_free(&g.cand[k + 1]);
    nvmm_model_free(&emb[k]);
  }
  for (int k = 1; k < f->multi_cap; k++)
    nvmm_estep_ws_free(&f->multi_ws[k]);
  return st;
}

nvmm_status nvmm_fit_init(nvmm_fit *f) {
  NVMM_CHECK(f, NVMM_EINVAL, "fit is NULL");
  NVMM_CHECK(f->o.init != NVMM_INIT_MODEL, NVMM_EINVAL,
             "the options ask for a given initial model: use nvmm_fit_set_model");
  double *mean = f->bstats;
  memset(mean, 0, f->d * sizeof *mean);
  NVMM_CALL(nvmm_model_init_moments(f->model, mean, f->corr));
  if (f->o.init == NVMM_INIT_SUBMODELS)
    NVMM_CALL(gh_submodel_start(f));
  return start(f);
}

void nvmm_fit_set_stop_flag(nvmm_fit *f, volatile const sig_atomic_t *flag) {
  if (f)
    f->stop_flag = flag;
}

/* A 64-bit hash of one row and its global index: each value's bits, offset by its position,
 * through the splitmix64 finalizer (a bijection with full avalanche), summed. */
static uint64_t row_hash(const double *row, size_t d, int64_t index) {
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
static nvmm_status fingerprint(nvmm_fit *f) {
  uint64_t all = 0;
  if (MPI_Allreduce(&f->fp_local, &all, 1, MPI_UINT64_T, MPI_SUM, f->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce of the data fingerprint failed");
  f->fingerprint = all ^ ((uint64_t)f->n * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)f->d << 48);
  return NVMM_OK;
}

uint64_t nvmm_fit_fingerprint(const nvmm_fit *f) { return f->fingerprint; }

static void accel_save(const nvmm_fit *f, double *a);

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
}

/* The accelerator's record in a state: phase, step bound, last step length, rate estimate,
 * then theta0's coordinates (room for the largest subordinator) and theta2 (log|Sigma|, the
 * subordinator's kind and parameters, mu, gamma, Sigma, L): all bit for bit. */
enum { AC_PHASE = 0, AC_STEP_MAX, AC_ALPHA, AC_RHO, AC_ON, AC_HEAD };

static size_t theta_max(size_t d) { return 2 * d + d * (d + 1) / 2 + 3; }

size_t nvmm_fit_accel_len(int64_t d) {
  size_t dd = d > 0 ? (size_t)d : 0;
  return AC_HEAD + theta_max(dd) + 5 + 2 * dd + 2 * dd * dd;
}

static void accel_save(const nvmm_fit *f, double *a) {
  size_t d = f->d, tm = theta_max(d);
  memset(a, 0, nvmm_fit_accel_len((int64_t)d) * sizeof *a);
  a[AC_PHASE] = f->sq_phase;
  a[AC_STEP_MAX] = f->sq_step_max;
  a[AC_ALPHA] = f->sq_alpha;
  a[AC_RHO] = f->sq_rho;
  a[AC_ON] = f->sq_on;
  memcpy(a + AC_HEAD, f->sq_t0, f->sq_p * sizeof *a);
  double *m = a + AC_HEAD + tm;
  m[0] = f->sq_m2->logdet;
  m[1] = (double)f->sq_m2->sub.kind;
  memcpy(m + 2, f->sq_m2->sub.par, 3 * sizeof *m);
  memcpy(m + 5, f->sq_m2->mu, (2 * d + 2 * d * d) * sizeof *m); /* mu, gamma, sigma, chol */
}

static nvmm_status accel_restore(nvmm_fit *f, const double *a) {
  size_t d = f->d, tm = theta_max(d);
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
  const double *m = a + AC_HEAD + tm;
  f->sq_m2->logdet = m[0];
  f->sq_m2->sub.kind = (nvmm_sub_kind)m[1];
  memcpy(f->sq_m2->sub.par, m + 2, 3 * sizeof *m);
  memcpy(f->sq_m2->mu, m + 5, (2 * d + 2 * d * d) * sizeof *m);
  return NVMM_OK;
}

nvmm_status nvmm_fit_state_alloc(int64_t d, int iterations, nvmm_fit_state *s) {
  NVMM_CHECK(s && d >= 1 && iterations >= 0, NVMM_EINVAL, "invalid state size");
  memset(s, 0, sizeof *s);
  size_t dd = (size_t)d, it = (size_t)(iterations > 0 ? iterations : 1);
  s->d = d;
  s->mu = calloc(2 * dd + 2 * dd * dd, sizeof(double));
  s->loglik = calloc(it * (3 + NVMM_NCOUNTERS), sizeof(double));
  s->accel = calloc(nvmm_fit_accel_len(d), sizeof(double));
  if (!s->mu || !s->loglik || !s->accel) {
    nvmm_fit_state_free(s);
    NVMM_ERROR(NVMM_ENOMEM, "cannot allocate a fit state (d = %lld, %d iterations)", (long long)d,
               iterations);
  }
  s->gamma = s->mu + dd;
  s->sigma = s->mu + 2 * dd;
  s->chol = s->sigma + dd * dd;
  s->iterations = iterations;
  s->change = s->loglik + it;
  s->elapsed_hist = s->loglik + 2 * it;
  s->counters = s->loglik + 3 * it;
  return NVMM_OK;
}

void nvmm_fit_state_free(nvmm_fit_state *s) {
  if (!s)
    return;
  free(s->mu);
  free(s->loglik);
  free(s->accel);
  s->accel = NULL;
  s->mu = s->gamma = s->sigma = s->chol = NULL;
  s->loglik = s->change = s->elapsed_hist = s->counters = NULL;
}

static nvmm_status grow_history(nvmm_fit *f, int cap) {
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
  NVMM_CHECK(l && c && e && k, NVMM_ENOMEM, "cannot allocate a history of %d iterations", cap);
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
  return NVMM_OK;
}

nvmm_status nvmm_fit_restore(nvmm_fit *f, const nvmm_fit_state *s) {
  NVMM_CHECK(f && s, NVMM_EINVAL, "fit and state must not be NULL");
  NVMM_CALL(check_state(f, s));
  NVMM_CALL(accel_restore(f, s->accel));
  int cap = s->iterations > f->o.max_iter ? s->iterations : f->o.max_iter;
  NVMM_CALL(nvmm_agree(f->comm, grow_history(f, cap)));
  size_t d = f->d, it = (size_t)s->iterations;
  /* Bit-exact copies (not a re-factorization): the continued iterations must see exactly the
   * numbers the uninterrupted fit saw. */
  memcpy(f->model->mu, s->mu, d * sizeof(double));
  memcpy(f->model->gamma, s->gamma, d * sizeof(double));
  memcpy(f->model->sigma, s->sigma, d * d * sizeof(double));
  memcpy(f->model->chol, s->chol, d * d * sizeof(double));
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
  f->elapsed = s->elapsed;
  f->t0 = MPI_Wtime() - s->elapsed;
  f->t_startup = MPI_Wtime() - f->t_create;
  /* A stopped fit continues; so does one that hit an iteration cap the new options raise. */
  f->reason = (nvmm_fit_reason)s->reason;
  if (f->reason == NVMM_FIT_STOPPED || f->reason == NVMM_FIT_MAX_ITER)
    f->reason = f->iterations >= f->o.max_iter ? NVMM_FIT_MAX_ITER : NVMM_FIT_ITERATING;
  return NVMM_OK;
}
