/* fit_start.c: the start of a fit: the moment pass (mean, covariance, standardization), the
 * moment initialization, the GH sub-model start, and a given initial model. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_impl.h"
#include "linalg.h"
#include "nvmm/agree.h"

static nvmm_status block_moments(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                                 const double *xb, double *out) {
  /* Sums of x - c (c = f->center, the shift; scale is still 1), the row count, then the cross
   * products of x - c, lower triangle packed by rows: above NVMM__SMALL_D by DSYRK on chunks of
   * shifted rows rather than d^2/2 scalar multiply-adds per row. The same pass hashes every row for
   * the data fingerprint (about a nanosecond per value). */
  const size_t d = f->d, ch = f->cross_rows;
  if (d <= NVMM__SMALL_D) { /* scalar sums, straight into the packed layout */
    double *g = out + d + 1;
    for (size_t i = 0; i < rows; i++) {
      const double *x = xb + i * d;
      double y[NVMM__SMALL_D];
      for (size_t j = 0, o = 0; j < d; o += ++j) {
        y[j] = x[j] - f->center[j];
        out[j] += y[j];
        for (size_t k = 0; k <= j; k++)
          g[o + k] += y[j] * y[k];
      }
      f->fp_local += nvmm__row_hash(x, d, row0 + (int64_t)i);
    }
    out[d] += (double)rows;
    return NVMM_OK;
  }
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
      f->fp_local += nvmm__row_hash(x, d, row0 + (int64_t)(r + i));
    }
    nvmm__gram(d, nr, f->row, 1.0, f->cross);
  }
  out[d] += (double)rows;
  nvmm__add_packed(d, f->cross, out + d + 1);
  return NVMM_OK;
}

/* A large factor fit's moments (src/numerics.md 5.12): the sums of x - c, the row count and
 * the sums of squares of x - c, O(d) numbers in place of the d(d+1)/2 cross products. */
static nvmm_status block_moments_diag(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                                      const double *xb, double *out) {
  (void)m;
  const size_t d = f->d;
  double *sq = out + d + 1;
  for (size_t i = 0; i < rows; i++) {
    const double *x = xb + i * d;
    for (size_t j = 0; j < d; j++) {
      double y = x[j] - f->center[j];
      out[j] += y;
      sq[j] += y * y;
    }
    f->fp_local += nvmm__row_hash(x, d, row0 + (int64_t)i);
  }
  out[d] += (double)rows;
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
 * (src/numerics.md 7.2): raw moments would cancel (src/numerics.md 7.1, 12.25), and a shift to a
 * data point leaves only the cancellation of its distance from the mean. The rare data whose first
 * row lies hundreds of standard deviations out take a second pass about the mean (counted in
 * passes). Then the standardization. */
nvmm_status nvmm__moments(nvmm_fit *f) {
  const size_t d = f->d;
  double *tmp = f->stats; /* len >= np + d + 1 */
  const double *c2 = tmp + d + 1;
  const double n = (double)f->n;
  /* A large factor fit keeps the diagonal alone (c2[j], at dg(j) = j), else packed rows. */
  const int diag = f->fbig;
#define DG(j) (diag ? (j) : (j) * ((j) + 1) / 2 + (j))
  NVMM_CALL(first_row(f, f->center));
  uint64_t fp = f->fp_local;
  for (int pass = 0; pass < 2; pass++) {
    f->fp_local = fp; /* a second pass must not hash the rows twice */
    if (diag)
      NVMM_CALL(nvmm__reduce_blocks(f, NULL, 2 * d + 1, block_moments_diag, tmp));
    else
      NVMM_CALL(nvmm__reduce_blocks(f, NULL, d + 1 + d * (d + 1) / 2, block_moments, tmp));
    NVMM_CHECK(tmp[d] == n, NVMM_EINVAL, "the ranks' row ranges cover %.0f rows, not n = %lld",
               tmp[d], (long long)f->n);
    int cancels = 0;
    for (size_t j = 0; j < d; j++) {
      double m = tmp[j] / n, v = c2[DG(j)] / n - m * m;
      cancels |= !(m * m <= MOMENT_SHIFT_MAX * v);
    }
    for (size_t j = 0; j < d; j++)
      f->center[j] += tmp[j] / n;
    if (!cancels)
      break;
  }
  for (size_t j = 0; j < d; j++) {
    double m = tmp[j] / n;
    f->scale[j] = sqrt(c2[DG(j)] / n - m * m);
  }
#undef DG
  for (size_t j = 0; j < d; j++)
    NVMM_CHECK(f->scale[j] > 0 && isfinite(f->scale[j]), NVMM_EDOM,
               "column %zu is constant (its variance is %g): Sigma would be singular", j,
               f->scale[j] * f->scale[j]);
  for (size_t j = 0; j < d && diag; j++) /* the diagonal of the standardized covariance */
    f->fvar[j] = f->o.standardize ? 1.0 : f->scale[j] * f->scale[j];
  for (size_t j = 0; j < d && !diag; j++)
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

/* Starts the fit from the model currently in f->model (standardized coordinates). */
static nvmm_status start(nvmm_fit *f) {
  nvmm_regularization r0 =
      f->o.regularization == NVMM_REG_DET_SIGMA_X ? NVMM_REG_NONE : f->o.regularization;
  if (f->fac) /* every rank alike, from the broadcast start */
    NVMM_CALL(nvmm__factor_gauge(f->model, f->fac, r0, 0.0));
  else
    NVMM_CALL(nvmm_model_regularize(f->model, r0, 0.0));
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
  /* Its allocations can fail on one rank alone: agreed before the first pass. */
  NVMM_CALL(nvmm_agree(f->comm, nvmm__shrink_start(f)));
  return nvmm__inc_start(f);
}

/* User units -> standardized (mu~ = (mu - c) / s, gamma~ = gamma / s, Sigma~ = S^-1 Sigma S^-1),
 * with sigma in place of m's Sigma when given; re-validated through nvmm_model_set. */
nvmm_status nvmm__from_user(nvmm_fit *f, const nvmm_model *m, const double *sigma,
                            nvmm_model *out) {
  size_t d = f->d;
  double *sig = f->scratch, *mu = sig + d * d, *g = mu + d; /* d*d + 2d */
  const double *s = sigma ? sigma : m->sigma;
  for (size_t i = 0; i < d; i++) {
    mu[i] = (m->mu[i] - f->center[i]) / f->scale[i];
    g[i] = m->gamma[i] / f->scale[i];
    for (size_t j = 0; j < d; j++)
      sig[i * d + j] = s[i * d + j] / (f->scale[i] * f->scale[j]);
  }
  return nvmm_model_set(out, mu, g, sig, &m->sub);
}

nvmm_status nvmm_fit_set_model(nvmm_fit *f, const nvmm_model *m) {
  NVMM_CHECK(f && m, NVMM_EINVAL, "fit and model must not be NULL");
  NVMM_CHECK(m->family == f->o.family && m->d == f->d, NVMM_EINVAL,
             "the initial model is %s of dimension %zu, the fit is %s of dimension %zu",
             nvmm_family_name(m->family), m->d, nvmm_family_name(f->o.family), f->d);
  for (size_t j = 0; j < f->d && f->o.symmetric; j++)
    NVMM_CHECK(m->gamma[j] == 0.0, NVMM_EINVAL,
               "the fit is symmetric (gamma = 0) but the initial model has gamma[%zu] = %g", j,
               m->gamma[j]);
  if (f->fac) /* the factor-only f->model takes (mu, gamma, F, D) from the start */
    NVMM_CALL(nvmm__factor_start(f, m));
  else
    NVMM_CALL(nvmm__from_user(f, m, NULL, f->model));
  return start(f);
}

/* The GH start (src/numerics.md 7.4): the moment init and the GH embeddings of NIG, VG and NInvG
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
  const nvmm_mstep_opts mo = {.symmetric = f->o.symmetric};
  nvmm_status ms = nvmm_mstep(st, g->cand[k], g->cand[k], &mo, NULL, f->scratch);
  if (ms != NVMM_OK) {
    if (!nvmm__diverging(ms))
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
    if (st == NVMM_OK && nvmm__model_finite(m))
      st = nvmm_model_set(gh, m->mu, m->gamma, m->sigma, &sub);
    *ok = st == NVMM_OK && nvmm__model_finite(m);
  }
  return nvmm__diverging(st) || st == NVMM_EINVAL ? NVMM_OK : st;
}

static nvmm_status gh_submodel_start(nvmm_fit *f) {
  /* 5 iterations: normix's choice (src/numerics.md 7.4); enough to separate the tail shapes, cheap
   * next to the fit. */
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
    st = nvmm__estep_multi(f, pass, k, start_use, &g);
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
    st = nvmm__estep_multi(f, scored, nemb, score_use, &g);
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
  if (f->fac) { /* mu = gamma = 0, the default subordinator, (F, D) by PCA (fit_factor.c) */
    NVMM_CALL(nvmm__factor_start(f, NULL));
    return start(f);
  }
  double *mean = f->bstats;
  memset(mean, 0, f->d * sizeof *mean);
  NVMM_CALL(nvmm_model_init_moments(f->model, mean, f->corr));
  if (f->o.init == NVMM_INIT_SUBMODELS)
    NVMM_CALL(gh_submodel_start(f));
  return start(f);
}
