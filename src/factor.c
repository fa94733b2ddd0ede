/* factor.c: factor dispersions Sigma = F F^T + diag(D): construction, validation, the
 * determinant lemma, and the row kernels (log-density, posterior moments of Y and of the latent
 * factor) by Woodbury in O(d r) per row (src/numerics.md 3.4). */
#include "nvmm/factor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "family.h"
#include "lapack.h"
#include "linalg.h"
#include "model_impl.h"

nvmm_status nvmm_factor_alloc(size_t d, size_t r, nvmm_factor **out) {
  NVMM_CHECK(out, NVMM_EINVAL, "output pointer is NULL");
  *out = NULL;
  NVMM_CHECK(d >= 1 && d <= 1u << 20, NVMM_EINVAL, "dimension d = %zu must be in [1, 2^20]", d);
  NVMM_CHECK(r >= 1 && r <= d, NVMM_EINVAL, "number of factors r = %zu must be in [1, d = %zu]", r,
             d);
  nvmm_factor *fa = calloc(1, sizeof *fa);
  double *buf = calloc(d * r + 2 * d + 4 * r * r, sizeof *buf);
  if (!fa || !buf) {
    free(fa);
    free(buf);
    NVMM_ERROR(NVMM_ENOMEM, "cannot allocate a factor dispersion of dimension %zu, rank %zu", d, r);
  }
  fa->d = d;
  fa->r = r;
  fa->f = buf;
  fa->dd = buf + d * r;
  fa->dinv = fa->dd + d;
  fa->m = fa->dinv + d;
  fa->mchol = fa->m + r * r;
  for (size_t j = 0; j < d; j++)
    fa->dd[j] = fa->dinv[j] = 1.0;
  for (size_t k = 0; k < r; k++)
    fa->m[k * r + k] = fa->mchol[k * r + k] = 1.0;
  fa->logdet = 0.0;
  *out = fa;
  return NVMM_OK;
}

void nvmm_factor_free(nvmm_factor **fa) {
  if (!fa || !*fa)
    return;
  free((*fa)->f);
  free(*fa);
  *fa = NULL;
}

nvmm_status nvmm_factor_set(nvmm_factor *fa, const double *f, const double *dd) {
  NVMM_CHECK(fa && f && dd, NVMM_EINVAL, "factor, F and D must not be NULL");
  size_t d = fa->d, r = fa->r;
  for (size_t j = 0; j < d; j++) {
    for (size_t k = 0; k < r; k++)
      NVMM_CHECK(isfinite(f[j * r + k]), NVMM_EDOM, "F[%zu][%zu] = %g is not finite", j, k,
                 f[j * r + k]);
    NVMM_CHECK(dd[j] > 0.0 && isfinite(dd[j]), NVMM_EDOM, "D[%zu] = %g must be positive and finite",
               j, dd[j]);
  }
  /* M = I + F^T D^-1 F and its factor into the scratch first, so that on failure fa is
   * unchanged. M >= I, so the factorization fails only where the sums overflow. */
  double *mw = fa->mchol + r * r, *lw = mw + r * r, slogd = 0.0, logdet_m;
  memset(mw, 0, r * r * sizeof *mw);
  for (size_t j = 0; j < d; j++) {
    const double *fj = f + j * r;
    double dinv = 1.0 / dd[j];
    slogd += log(dd[j]);
    for (size_t k = 0; k < r; k++)
      for (size_t l = 0; l <= k; l++)
        mw[k * r + l] += fj[k] * dinv * fj[l];
  }
  for (size_t k = 0; k < r; k++) {
    mw[k * r + k] += 1.0;
    for (size_t l = 0; l < k; l++)
      mw[l * r + k] = mw[k * r + l];
  }
  NVMM_CHECK(nvmm__cholesky(r, mw, lw, &logdet_m) == NVMM_OK && isfinite(logdet_m), NVMM_EFACTOR,
             "M = I + F^T D^-1 F is not numerically positive definite (F / sqrt(D) overflows)");
  memcpy(fa->f, f, d * r * sizeof *f);
  memcpy(fa->dd, dd, d * sizeof *dd);
  for (size_t j = 0; j < d; j++)
    fa->dinv[j] = 1.0 / dd[j];
  memcpy(fa->m, mw, r * r * sizeof *mw);
  memcpy(fa->mchol, lw, r * r * sizeof *lw);
  /* Matrix determinant lemma: |D + F F^T| = |D| |I + F^T D^-1 F| (src/numerics.md 3.4). */
  fa->logdet = logdet_m + slogd;
  return NVMM_OK;
}

nvmm_status nvmm_factor_copy(nvmm_factor *dst, const nvmm_factor *src) {
  NVMM_CHECK(dst && src, NVMM_EINVAL, "factor is NULL");
  NVMM_CHECK(dst->d == src->d && dst->r == src->r, NVMM_EINVAL,
             "cannot copy a factor of dimension %zu with %zu factors into one of %zu with %zu",
             src->d, src->r, dst->d, dst->r);
  if (dst == src)
    return NVMM_OK;
  size_t d = src->d, r = src->r;
  memcpy(dst->f, src->f, (d * r + 2 * d + 2 * r * r) * sizeof *dst->f); /* f, dd, dinv, m, L */
  dst->logdet = src->logdet;
  return NVMM_OK;
}

nvmm_status nvmm_factor_rescale(nvmm_factor *fa, double s) {
  NVMM_CHECK(fa, NVMM_EINVAL, "factor is NULL");
  NVMM_CHECK(s > 0 && isfinite(s), NVMM_EDOM, "scale s = %g must be positive and finite", s);
  size_t d = fa->d, r = fa->r;
  double rs = 1.0 / sqrt(s);
  for (size_t i = 0; i < d * r; i++)
    fa->f[i] *= rs;
  for (size_t j = 0; j < d; j++) {
    fa->dd[j] /= s;
    fa->dinv[j] *= s;
  }
  fa->logdet -= (double)d * log(s);
  return NVMM_OK;
}

nvmm_status nvmm_factor_dense(const nvmm_factor *fa, double *sigma) {
  NVMM_CHECK(fa && sigma, NVMM_EINVAL, "factor and sigma must not be NULL");
  size_t d = fa->d, r = fa->r;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++) {
      double s = i == j ? fa->dd[i] : 0.0;
      for (size_t k = 0; k < r; k++)
        s += fa->f[i * r + k] * fa->f[j * r + k];
      sigma[i * d + j] = sigma[j * d + i] = s;
    }
  return NVMM_OK;
}

size_t nvmm_factor_scratch_len(size_t d, size_t r) { return 2 * (d + r); }

/* Solves L^T x = b in place for the row-major lower-triangular r x r L. */
static void trsv_lower_t(size_t r, const double *l, double *b) {
  for (size_t i = r; i-- > 0;) {
    double s = b[i];
    for (size_t j = i + 1; j < r; j++)
      s -= l[j * r + i] * b[j];
    b[i] = s / l[i * r + i];
  }
}

/* Woodbury (src/numerics.md 3.4): for v (d), c = M^-1 F^T D^-1 v into c (r) and the residual
 * e = v - F c over v; returns v^T Sigma^-1 v = e^T D^-1 e + c^T c, a sum of squares (then
 * Sigma^-1 v = D^-1 e). O(d r + r^2). */
static double woodbury(const nvmm_factor *fa, double *v, double *c) {
  size_t d = fa->d, r = fa->r;
  memset(c, 0, r * sizeof *c);
  for (size_t j = 0; j < d; j++) {
    const double *fj = fa->f + j * r;
    double t = v[j] * fa->dinv[j];
    for (size_t k = 0; k < r; k++)
      c[k] += fj[k] * t;
  }
  nvmm__trsv_lower(r, fa->mchol, c);
  trsv_lower_t(r, fa->mchol, c);
  double q = 0.0, cc = 0.0;
  for (size_t j = 0; j < d; j++) {
    const double *fj = fa->f + j * r;
    double e = v[j];
    for (size_t k = 0; k < r; k++)
      e -= fj[k] * c[k];
    v[j] = e;
    q += e * e * fa->dinv[j];
  }
  for (size_t k = 0; k < r; k++)
    cc += c[k] * c[k];
  return q + cc;
}

/* What every row of a call shares, split from the caller's scratch (nvmm_factor_scratch_len):
 * pre (c0, w2 and the subordinator's GIG), g = Sigma^-1 gamma = D^-1 (gamma - F c_g) (d),
 * c_g = M^-1 F^T D^-1 gamma (r); and each row's work, e (d) and c (r) as in woodbury. */
typedef struct {
  double *g, *cg, *e, *c;
  nvmm__pre pre;
} factor_rows;

static nvmm_status factor_rows_init(const nvmm_model *m, const nvmm_factor *fa, double *scratch,
                                    factor_rows *w) {
  NVMM_CHECK(m->d == fa->d, NVMM_EINVAL, "model dimension %zu but factor dimension %zu", m->d,
             fa->d);
  size_t d = fa->d, r = fa->r;
  w->g = scratch;
  w->cg = w->g + d;
  w->e = w->cg + r;
  w->c = w->e + d;
  w->pre.c0 = -0.5 * (double)d * log(2.0 * M_PI) - 0.5 * fa->logdet;
  memcpy(w->g, m->gamma, d * sizeof *w->g);
  w->pre.w2 = woodbury(fa, w->g, w->cg);
  for (size_t j = 0; j < d; j++)
    w->g[j] *= fa->dinv[j];
  return nvmm__model_pre_sub(m, &w->pre);
}

/* Row x's q = (x - mu)^T Sigma^-1 (x - mu) and *zw = gamma^T Sigma^-1 (x - mu), leaving c in
 * w->c. */
static double row_forms(const nvmm_model *m, const nvmm_factor *fa, const double *x, factor_rows *w,
                        double *zw) {
  size_t d = fa->d, r = fa->r;
  double *e = w->e, *c = w->c;
  for (size_t j = 0; j < d; j++)
    e[j] = x[j] - m->mu[j];
  double q = woodbury(fa, e, c);
  /* gamma^T D^-1 (v - F c) + c_g^T c: the same split as q, since F^T D^-1 (v - F c) = c. */
  double s = 0.0;
  for (size_t j = 0; j < d; j++)
    s += w->g[j] * e[j];
  for (size_t k = 0; k < r; k++)
    s += w->cg[k] * c[k];
  *zw = s;
  return q;
}

nvmm_status nvmm_factor_logpdf(const nvmm_model *m, const nvmm_factor *fa, size_t n,
                               const double *x, double *out, double *scratch) {
  NVMM_CHECK(m && fa && (x || n == 0) && (out || n == 0) && scratch, NVMM_EINVAL,
             "model, factor, x, out and scratch must not be NULL");
  size_t d = fa->d;
  factor_rows w;
  NVMM_CALL(factor_rows_init(m, fa, scratch, &w));
  for (size_t i = 0; i < n; i++) {
    double zw, q = row_forms(m, fa, x + i * d, &w, &zw);
    NVMM_CHECK(isfinite(q) && isfinite(zw), NVMM_EDOM, "row %zu of x is not finite", i);
    NVMM_CALL(nvmm__model_logf(m, &w.pre, q, zw, &out[i]));
  }
  return NVMM_OK;
}

nvmm_status nvmm_factor_posterior(const nvmm_model *m, const nvmm_factor *fa, size_t n,
                                  const double *x, double *post, double *ez, double *ezy,
                                  double *scratch) {
  NVMM_CHECK(m && fa && (x || n == 0) && (post || n == 0) && scratch, NVMM_EINVAL,
             "model, factor, x, post and scratch must not be NULL");
  size_t d = fa->d, r = fa->r;
  factor_rows w;
  NVMM_CALL(factor_rows_init(m, fa, scratch, &w));
  const double *c = w.c, *cg = w.cg;
  for (size_t i = 0; i < n; i++) {
    double zw, q = row_forms(m, fa, x + i * d, &w, &zw), floors = 0.0;
    double *pi = post + i * NVMM_FPOST_LEN;
    NVMM_CALL(nvmm__estep_row(m, &w.pre, i, q, zw, pi, &floors));
    pi[NVMM_FPOST_FLOOR] = floors;
    double u = pi[NVMM_FPOST_U], v = pi[NVMM_FPOST_V];
    /* z | x, y ~ N(c - y c_g, y M^-1): average the linear mean over Y | x (include/nvmm/factor.h).
     */
    for (size_t k = 0; k < r; k++) {
      if (ez)
        ez[i * r + k] = c[k] - v * cg[k];
      if (ezy)
        ezy[i * r + k] = u * c[k] - cg[k];
    }
  }
  return NVMM_OK;
}

size_t nvmm_factor_stats_off(size_t d, size_t r, nvmm_factor_stats_block block) {
  /* The layout of include/nvmm/factor.h, block after block (src/numerics.md 5.12). */
  const size_t len[NVMM_FST_LEN] = {d, d, d, r, r, r * (r + 1) / 2, d * r};
  if ((int)block < 0 || block > NVMM_FST_LEN)
    return 0;
  size_t off = NVMM_ST_HEAD;
  for (int k = 0; k < (int)block; k++)
    off += len[k];
  return off;
}

/* Rows per BLAS-3 sub-chunk of nvmm_factor_estep: as many as keep its nr x d residuals within
 * 2^17 doubles (1 MiB, cache-sized), at most 128. A function of d alone, and the sub-chunks start
 * at the first row of each call, so the same rows are grouped alike whatever the caller's shard
 * (the grouping decides the last bits of the DGEMM sums). */
static size_t estep_chunk(size_t d) {
  size_t k = ((size_t)1 << 17) / d;
  return k < 1 ? 1 : k > 128 ? 128 : k;
}

size_t nvmm_factor_estep_scratch_len(size_t d, size_t r) {
  /* factor_rows, M^-1, D^-1/2 F, D^-1/2, D^1/2 g, the sub-chunk's sums T (d x (r + 2)), then per
   * sub-chunk the scaled residuals E and the squares X o X (K x d each), C (K x r), the weights
   * W (K x (r + 2)) and each row's q and gamma^T Sigma^-1 (x - mu). */
  return nvmm_factor_scratch_len(d, r) + r * r + d * r + 2 * d + d * (r + 2) +
         estep_chunk(d) * (2 * d + 2 * r + 4);
}

/* What nvmm_factor_estep's sub-chunks share: D^-1/2 F (d x r), D^-1/2 and D^1/2 g (d), and the
 * sub-chunk's buffers (nvmm_factor_estep_scratch_len). */
typedef struct {
  double *sf, *sdinv, *sg, *t, *e, *x2, *c, *wt, *q, *zw;
} estep_bufs;

/* The Woodbury forms of nr rows x at once (src/numerics.md 3.4), row_forms' mathematics in the
 * coordinates scaled by D^-1/2 and with its O(d r) products as DGEMMs: E = (X - mu) D^-1/2,
 * C = E D^-1/2 F, then per row c = M^-1 (that row of C) by M's Cholesky factor, E -= C F^T D^-1/2;
 * q_i = e_i^T e_i + c_i^T c_i and zw_i = (D^1/2 g)^T e_i + c_g^T c_i, the same sums of squares
 * and products as row_forms'. Also X o X for the sum of u x_j^2. */
static void chunk_forms(const nvmm_model *m, const nvmm_factor *fa, const factor_rows *w,
                        const estep_bufs *b, size_t nr, const double *x) {
  const size_t d = fa->d, r = fa->r;
  const int di = (int)d, ri = (int)r, nri = (int)nr, inc = 1;
  const double one = 1.0, zero = 0.0, mone = -1.0;
  double *e = b->e, *c = b->c;
  for (size_t i = 0; i < nr; i++)
    for (size_t j = 0; j < d; j++) {
      double xij = x[i * d + j];
      e[i * d + j] = (xij - m->mu[j]) * b->sdinv[j];
      b->x2[i * d + j] = xij * xij;
    }
  /* Row-major arrays are the column-major transposes: C^T = (D^-1/2 F)^T E^T. */
  dgemm_("N", "N", &ri, &nri, &di, &one, b->sf, &ri, e, &di, &zero, c, &ri, 1, 1);
  for (size_t i = 0; i < nr; i++) {
    nvmm__trsv_lower(r, fa->mchol, c + i * r);
    trsv_lower_t(r, fa->mchol, c + i * r);
  }
  /* E^T -= (D^-1/2 F) C^T; then E's rows against D^1/2 g. */
  dgemm_("T", "N", &di, &nri, &ri, &mone, b->sf, &ri, c, &ri, &one, e, &di, 1, 1);
  dgemv_("T", &di, &nri, &one, e, &di, b->sg, &inc, &zero, b->zw, &inc, 1);
  for (size_t i = 0; i < nr; i++) {
    const double *ci = c + i * r;
    double cc = 0.0, sc = 0.0;
    for (size_t k = 0; k < r; k++) {
      cc += ci[k] * ci[k];
      sc += w->cg[k] * ci[k];
    }
    b->q[i] = ddot_(&di, e + i * d, &inc, e + i * d, &inc) + cc;
    b->zw[i] += sc;
  }
}

nvmm_status nvmm_factor_estep(const nvmm_model *m, const nvmm_factor *fa, size_t n, const double *x,
                              double *stats, double *scratch) {
  NVMM_CHECK(m && fa && (x || n == 0) && stats && scratch, NVMM_EINVAL,
             "model, factor, x, stats and scratch must not be NULL");
  size_t d = fa->d, r = fa->r, kc = estep_chunk(d);
  factor_rows w;
  NVMM_CALL(factor_rows_init(m, fa, scratch, &w));
  double *minv = scratch + nvmm_factor_scratch_len(d, r);
  estep_bufs b;
  b.sf = minv + r * r;
  b.sdinv = b.sf + d * r;
  b.sg = b.sdinv + d;
  b.t = b.sg + d;
  b.e = b.t + d * (r + 2);
  b.x2 = b.e + kc * d;
  b.c = b.x2 + kc * d;
  b.wt = b.c + kc * r;
  b.q = b.wt + kc * (r + 2);
  b.zw = b.q + kc;
  const size_t r2 = r + 2;
  const double *cg = w.cg;
  double *sx = stats + nvmm_factor_stats_off(d, r, NVMM_FST_X);
  double *sux = stats + nvmm_factor_stats_off(d, r, NVMM_FST_UX);
  double *suxx = stats + nvmm_factor_stats_off(d, r, NVMM_FST_UXX);
  double *sz = stats + nvmm_factor_stats_off(d, r, NVMM_FST_Z);
  double *szy = stats + nvmm_factor_stats_off(d, r, NVMM_FST_ZY);
  double *szz = stats + nvmm_factor_stats_off(d, r, NVMM_FST_ZZ);
  double *sxzy = stats + nvmm_factor_stats_off(d, r, NVMM_FST_XZY);
  for (size_t j = 0; j < d; j++) {
    b.sdinv[j] = sqrt(fa->dinv[j]);
    b.sg[j] = w.g[j] / b.sdinv[j];
    for (size_t k = 0; k < r; k++)
      b.sf[j * r + k] = fa->f[j * r + k] * b.sdinv[j];
  }
  for (size_t i0 = 0; i0 < n; i0 += kc) {
    const size_t nr = n - i0 < kc ? n - i0 : kc;
    const double *xc = x + i0 * d;
    chunk_forms(m, fa, &w, &b, nr, xc);
    for (size_t i = 0; i < nr; i++) {
      const double *ci = b.c + i * r, *q = b.q, *zw = b.zw;
      double floors = 0.0, pi[NVMM_FPOST_LEN];
      NVMM_CHECK(isfinite(q[i]) && isfinite(zw[i]), NVMM_EDOM, "row %zu of x is not finite",
                 i0 + i);
      NVMM_CALL(nvmm__estep_row(m, &w.pre, i0 + i, q[i], zw[i], pi, &floors));
      double u = pi[NVMM_FPOST_U], v = pi[NVMM_FPOST_V];
      stats[NVMM_ST_N] += 1.0;
      stats[NVMM_ST_U] += u;
      stats[NVMM_ST_V] += v;
      stats[NVMM_ST_L] += pi[NVMM_FPOST_L];
      stats[NVMM_ST_LOGF] += pi[NVMM_FPOST_LOGF];
      stats[NVMM_ST_FLOOR] += floors;
      /* E[z | x] = c - v c_g, E[z z^T / Y | x] less M^-1 and E[z / Y | x] = u c - c_g
       * (src/numerics.md 3.4); the row's weights [E[z / Y | x], 1, u] for the sums with x. */
      double *wi = b.wt + i * r2;
      for (size_t k = 0; k < r; k++) {
        sz[k] += ci[k] - v * cg[k];
        for (size_t l = 0; l <= k; l++)
          szz[k * (k + 1) / 2 + l] +=
              u * ci[k] * ci[l] - ci[k] * cg[l] - cg[k] * ci[l] + v * cg[k] * cg[l];
        wi[k] = u * ci[k] - cg[k];
        szy[k] += wi[k];
      }
      wi[r] = 1.0;
      wi[r + 1] = u;
    }
    /* sum x ezy^T, sum x and sum u x over the sub-chunk in one DGEMM, T = X^T W (its transpose
     * W^T X in column-major terms), then added to the statistics; sum u x_j^2 = (X o X)^T u. */
    const int di = (int)d, r2i = (int)r2, nri = (int)nr;
    const double one = 1.0, zero = 0.0;
    dgemm_("N", "T", &r2i, &di, &nri, &one, b.wt, &r2i, xc, &di, &zero, b.t, &r2i, 1, 1);
    dgemv_("N", &di, &nri, &one, b.x2, &di, b.wt + r + 1, &r2i, &one, suxx, &(int){1}, 1);
    for (size_t j = 0; j < d; j++) {
      const double *tj = b.t + j * r2;
      for (size_t k = 0; k < r; k++)
        sxzy[j * r + k] += tj[k];
      sx[j] += tj[r];
      sux[j] += tj[r + 1];
    }
  }
  /* The posterior covariance part M^-1 of every row's E[z z^T / Y | x], once per call: columns
   * of M^-1 by two triangular solves with M's Cholesky factor. */
  for (size_t k = 0; k < r; k++) {
    double *col = minv + k * r; /* symmetric: row k of M^-1 */
    memset(col, 0, r * sizeof *col);
    col[k] = 1.0;
    nvmm__trsv_lower(r, fa->mchol, col);
    trsv_lower_t(r, fa->mchol, col);
  }
  for (size_t k = 0; k < r; k++)
    for (size_t l = 0; l <= k; l++)
      szz[k * (k + 1) / 2 + l] += (double)n * minv[k * r + l];
  return NVMM_OK;
}
