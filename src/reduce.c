/* reduce.c: the passes over the data: this rank's rows block by block (in memory or streamed),
 * and the exact windowed reduction of the block sums across ranks (two small MPI_Allreduces per
 * pass), for one model's E-step or several models' at once. */
#include <string.h>

#include "fit_impl.h"
#include "nvmm/xsum.h"

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

static nvmm__block_fn block_estep, block_multi, block_festep;

/* The exact reduction of f->acc (len accumulators, this rank's sums; st its local status) into
 * out on every rank. Windowed: a statistic's exact sum needs 68 limbs in general, but its block
 * sums span only a few (~100 bits: 53 plus the magnitudes' spread plus the carries), so one
 * small Allreduce agrees on each statistic's window of non-zero limbs (and on errors and stop
 * requests) and a second sums just those limbs: about 40 instead of 544 bytes per statistic.
 * Integer sums, so the bits stay independent of the rank count. */
nvmm_status nvmm__reduce_acc(nvmm_fit *f, size_t len, nvmm_status st, double *out) {
  const size_t L = NVMM_XSUM_LIMBS;
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
  return NVMM_OK;
}

nvmm_status nvmm__reduce_blocks(nvmm_fit *f, const nvmm_model *m, size_t len, nvmm__block_fn *fn,
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
  NVMM_CALL(nvmm__reduce_acc(f, len, st, out));
  if (fn == block_estep || fn == block_multi || fn == block_festep) {
    f->t_estep += tk;
    f->t_reduce += MPI_Wtime() - t0 - tk;
  } else {
    f->t_moments += MPI_Wtime() - t0;
  }
  f->passes++;
  return NVMM_OK;
}

static nvmm_status block_estep(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                               const double *xb, double *out) {
  return nvmm_estep_block_std(m, f->ews, rows, xb, f->center, f->rscale, out);
}

/* A factor fit's E-step of one block (src/numerics.md 5.12), in calls of cross_rows rows (which
 * fix its sub-chunks): the rows standardized as the dense kernels do ((x - center) * rscale)
 * inside nvmm_factor_estep_std, then the factor sums; no d x d matrix. */
static nvmm_status block_festep(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                                const double *xb, double *out) {
  const size_t d = f->d, ch = f->cross_rows;
  for (size_t r = 0; r < rows; r += ch) {
    const size_t nr = rows - r < ch ? rows - r : ch;
    NVMM_CALL(
        nvmm_factor_estep_std(m, f->efac, nr, xb + r * d, f->center, f->rscale, out, f->fscratch));
  }
  return NVMM_OK;
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

nvmm_status nvmm__estep_all(nvmm_fit *f, const nvmm_model *m) {
  if (f->fac) {
    /* A factor fit E-steps its current model or the M-step's output. */
    f->efac = m == f->next ? f->fnext : f->fac;
    return nvmm__reduce_blocks(f, m, f->len, block_festep, f->stats);
  }
  return nvmm__reduce_blocks(f, m, f->len, block_estep, f->stats);
}

/* E-steps models[0..k) in shared passes, multi_cap at a time; calls use(f, j, stats, failed)
 * for each model in order. Collective. */
nvmm_status nvmm__estep_multi(nvmm_fit *f, nvmm_model *const *models, int k,
                              nvmm__multi_use_fn *use, void *ctx) {
  for (int g = 0; g < k; g += f->multi_cap) {
    int nm = k - g < f->multi_cap ? k - g : f->multi_cap;
    f->nmulti = nm;
    for (int j = 0; j < nm; j++)
      f->multi[j] = models[g + j];
    size_t len = f->len;
    NVMM_CALL(nvmm__reduce_blocks(f, NULL, (size_t)nm * (len + 1), block_multi, f->stats));
    for (int j = 0; j < nm; j++)
      NVMM_CALL(use(f, ctx, g + j, f->stats + (size_t)j * len,
                    f->stats[(size_t)nm * len + (size_t)j] != 0.0));
  }
  return NVMM_OK;
}
