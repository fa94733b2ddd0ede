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

/* Rows per BLAS-3 sub-chunk of nvmm_factor_estep: as many as keep its nr x d rows within 2^17
 * doubles (1 MiB, cache-sized), at most 64 (measured a few per cent faster than 128 at d = 200,
 * r = 5 and d = 1000, r = 20). A function of d alone, and the sub-chunks start
 * at the first row of each call, so the same rows are grouped alike whatever the caller's shard
 * (the grouping decides the last bits of the DGEMM sums). */
static size_t estep_chunk(size_t d) {
  size_t k = ((size_t)1 << 17) / d;
  return k < 1 ? 1 : k > 64 ? 64 : k;
}

/* The fast form of q (below) is used where the row's |x~|^2 is at most this multiple of q: its
 * rounding, a few ulps of |x~|^2, is then a few dozen ulps of q at most. */
#define FACTOR_Q_SPLIT 64.0

/* The DGEMMs' small dimensions, r + 1 and r + 2 columns, padded with zero columns to a multiple of
 * 4: OpenBLAS's micro-kernels work on 4 x 8 tiles, and the partial tiles' edge kernels cost more
 * than the zeros (measured: 7% of the pass at d = 200, r = 5). */
static size_t pad4(size_t k) { return (k + 3) & ~(size_t)3; }

size_t nvmm_factor_estep_scratch_len(size_t d, size_t r) {
  /* factor_rows, M^-1, D^-1/2 F (d x r), [D^-1/2 F | D^1/2 g] (d x (r + 1)), D^-1/2, the
   * sub-chunk's sums T (d x (r + 2)), then per sub-chunk the standardized rows and the scaled
   * rows X~ (K x d each), X~ [D^-1/2 F | D^1/2 g] (K x (r + 1)), C (K x r), the weights
   * W (K x (r + 2)) and each row's q, gamma^T Sigma^-1 (x - mu), u and v; then the call's sums
   * of c and u c c^T. */
  const size_t r1 = pad4(r + 1), r2 = pad4(r + 2);
  return nvmm_factor_scratch_len(d, r) + r * r + d * (r + r1 + r2 + 1) +
         estep_chunk(d) * (2 * d + r + r1 + r2 + 4) + r * (r + 3) / 2;
}

/* What nvmm_factor_estep's sub-chunks share: D^-1/2 F (d x r), [D^-1/2 F | D^1/2 g]
 * (d x (r + 1)), M^-1 and D^-1/2, and the sub-chunk's buffers (nvmm_factor_estep_scratch_len). */
typedef struct {
  double *minv, *sf, *fz, *sdinv, *t, *xs, *e, *bz, *c, *wt, *q, *zw, *u, *v;
} estep_bufs;

/* One sweep over the nr raw rows y, the pass's only read of them from memory: the standardized
 * rows xs = (y - center) o rscale and the scaled ones e = (xs - mu) o sdinv. */
NVMM__SIMD_CLONES static void scale_rows(size_t nr, size_t d, const double *restrict y,
                                         const double *restrict ce, const double *restrict rs,
                                         const double *restrict mu, const double *restrict sd,
                                         double *restrict xs, double *restrict e) {
  for (size_t i = 0; i < nr; i++) {
    const double *restrict yi = y + i * d;
    double *restrict xi = xs + i * d, *restrict ei = e + i * d;
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
      NVMM__PREFETCH(yi + j + 512); /* 4 KiB ahead: the next rows */
      for (size_t t = j; t < j + 4; t++) {
        xi[t] = (yi[t] - ce[t]) * rs[t];
        ei[t] = (xi[t] - mu[t]) * sd[t];
      }
    }
    for (; j < d; j++) {
      xi[j] = (yi[j] - ce[j]) * rs[j];
      ei[j] = (xi[j] - mu[j]) * sd[j];
    }
  }
}

/* The Woodbury forms of nr rows x at once (src/numerics.md 3.4) in the coordinates scaled by
 * D^-1/2, x~ = D^-1/2 (x - mu), with the O(d r) products as one DGEMM: B = X~ D^-1/2 F (each
 * row's b = F^T D^-1 (x - mu)) beside X~ D^1/2 g (each row's zw = gamma^T Sigma^-1 (x - mu),
 * g = Sigma^-1 gamma); c = M^-1 b, and q = |x~|^2 - 2 c^T b + c^T M c, the value at c of
 * |x~ - F~ c|^2 + |c|^2, whose minimum q is: stationary in c, so c's rounding enters at second
 * order. Where |x~|^2 exceeds FACTOR_Q_SPLIT q (a small D_j: x~ is large where q is not) that
 * difference would lose digits, and the row takes row_forms' sums of squares instead,
 * e = x~ - F~ c, q = e^T e + c^T c and zw = (D^1/2 g)^T e + c_g^T c. With center, the rows are
 * first standardized, (x - center) o rscale, into b->xs. Returns the (standardized) rows. */
static const double *chunk_forms(const nvmm_model *m, const nvmm_factor *fa, const factor_rows *w,
                                 const estep_bufs *b, size_t nr, const double *x,
                                 const double *center, const double *rscale) {
  const size_t d = fa->d, r = fa->r, r1 = pad4(r + 1);
  const int di = (int)d, r1i = (int)r1, nri = (int)nr, inc = 1;
  const double one = 1.0, zero = 0.0;
  double *e = b->e;
  if (center) {
    scale_rows(nr, d, x, center, rscale, m->mu, b->sdinv, b->xs, e);
    x = b->xs;
  } else {
    for (size_t i = 0; i < nr; i++)
      for (size_t j = 0; j < d; j++)
        e[i * d + j] = (x[i * d + j] - m->mu[j]) * b->sdinv[j];
  }
  /* Row-major arrays are the column-major transposes: B^T = [D^-1/2 F | D^1/2 g]^T X~^T. */
  dgemm_("N", "N", &r1i, &nri, &di, &one, b->fz, &r1i, e, &di, &zero, b->bz, &r1i, 1, 1);
  const double *minv = b->minv, *mm = fa->m, *sf = b->sf, *fz = b->fz, *cg = w->cg;
  for (size_t i = 0; i < nr; i++) {
    const double *bi = b->bz + i * r1, *ei = e + i * d;
    double *ci = b->c + i * r;
    double cb = 0.0, cmc = 0.0;
    for (size_t k = 0; k < r; k++) {
      double s = 0.0;
      for (size_t l = 0; l < r; l++)
        s += minv[k * r + l] * bi[l];
      ci[k] = s;
    }
    for (size_t k = 0; k < r; k++) {
      double s = 0.0;
      for (size_t l = 0; l < r; l++)
        s += mm[k * r + l] * ci[l];
      cb += ci[k] * bi[k];
      cmc += ci[k] * s;
    }
    double ss = ddot_(&di, ei, &inc, ei, &inc);
    double q = (ss - 2.0 * cb) + cmc, zw = bi[r];
    if (!(ss <= FACTOR_Q_SPLIT * q)) {
      double ee = 0.0, ez = 0.0, cc = 0.0, sc = 0.0;
      for (size_t j = 0; j < d; j++) {
        double t = ei[j];
        for (size_t k = 0; k < r; k++)
          t -= sf[j * r + k] * ci[k];
        ee += t * t;
        ez += fz[j * r1 + r] * t;
      }
      for (size_t k = 0; k < r; k++) {
        cc += ci[k] * ci[k];
        sc += cg[k] * ci[k];
      }
      q = ee + cc;
      zw = ez + sc;
    }
    b->q[i] = q;
    b->zw[i] = zw;
  }
  return x;
}

/* s_j += u_0 x_0j^2 + u_1 x_1j^2 + u_2 x_2j^2 + u_3 x_3j^2 for four rows x_k (one sweep of
 * add_uxx). */
NVMM__SIMD_CLONES static void uxx4(size_t d, const double *restrict x0, const double *restrict x1,
                                   const double *restrict x2, const double *restrict x3,
                                   const double u[4], double *restrict s) {
  const double u0 = u[0], u1 = u[1], u2 = u[2], u3 = u[3];
  size_t j = 0;
  for (; j + 4 <= d; j += 4)
    for (size_t t = j; t < j + 4; t++)
      s[t] += (u0 * x0[t] * x0[t] + u1 * x1[t] * x1[t]) + (u2 * x2[t] * x2[t] + u3 * x3[t] * x3[t]);
  for (; j < d; j++)
    s[j] += (u0 * x0[j] * x0[j] + u1 * x1[j] * x1[j]) + (u2 * x2[j] * x2[j] + u3 * x3[j] * x3[j]);
}

/* suxx_j += sum_i u_i x_ij^2 over the nr rows x, with u_i = wt[i * ld]: four rows per sweep over
 * j, so that the accumulators are loaded and stored once per four rows (the last rows padded
 * with a zero weight on a repeated row). */
static void add_uxx(size_t d, size_t nr, const double *x, const double *wt, size_t ld,
                    double *suxx) {
  for (size_t i = 0; i < nr; i += 4) {
    const double *xr[4];
    double u[4];
    for (size_t k = 0; k < 4; k++) {
      xr[k] = x + (i + k < nr ? i + k : i) * d;
      u[k] = i + k < nr ? wt[(i + k) * ld] : 0.0;
    }
    uxx4(d, xr[0], xr[1], xr[2], xr[3], u, suxx);
  }
}

nvmm_status nvmm_factor_estep(const nvmm_model *m, const nvmm_factor *fa, size_t n, const double *x,
                              double *stats, double *scratch) {
  return nvmm_factor_estep_std(m, fa, n, x, NULL, NULL, stats, scratch);
}

nvmm_status nvmm_factor_estep_std(const nvmm_model *m, const nvmm_factor *fa, size_t n,
                                  const double *x, const double *center, const double *rscale,
                                  double *stats, double *scratch) {
  NVMM_CHECK(m && fa && (x || n == 0) && stats && scratch, NVMM_EINVAL,
             "model, factor, x, stats and scratch must not be NULL");
  NVMM_CHECK(!center == !rscale, NVMM_EINVAL, "center and rscale must be both given or both NULL");
  size_t d = fa->d, r = fa->r, kc = estep_chunk(d), r1p = pad4(r + 1), r2 = pad4(r + 2);
  factor_rows w;
  NVMM_CALL(factor_rows_init(m, fa, scratch, &w));
  estep_bufs b;
  b.minv = scratch + nvmm_factor_scratch_len(d, r);
  b.sf = b.minv + r * r;
  b.fz = b.sf + d * r;
  b.sdinv = b.fz + d * r1p;
  b.t = b.sdinv + d;
  b.xs = b.t + d * r2;
  b.e = b.xs + kc * d;
  b.bz = b.e + kc * d;
  b.c = b.bz + kc * r1p;
  b.wt = b.c + kc * r;
  b.q = b.wt + kc * r2;
  b.zw = b.q + kc;
  b.u = b.zw + kc;
  b.v = b.u + kc;
  double *minv = b.minv, *sc = b.v + kc, *succ = sc + r, sv = 0.0;
  memset(sc, 0, (r + r * (r + 1) / 2) * sizeof *sc);
  const double *cg = w.cg;
  double *sx = stats + nvmm_factor_stats_off(d, r, NVMM_FST_X);
  double *sux = stats + nvmm_factor_stats_off(d, r, NVMM_FST_UX);
  double *suxx = stats + nvmm_factor_stats_off(d, r, NVMM_FST_UXX);
  double *sz = stats + nvmm_factor_stats_off(d, r, NVMM_FST_Z);
  double *szy = stats + nvmm_factor_stats_off(d, r, NVMM_FST_ZY);
  double *szz = stats + nvmm_factor_stats_off(d, r, NVMM_FST_ZZ);
  double *sxzy = stats + nvmm_factor_stats_off(d, r, NVMM_FST_XZY);
  /* M^-1 (the posterior covariance part of every row's E[z z^T / Y | x], and the solve folded
   * into the first DGEMM): columns by two triangular solves with M's Cholesky factor. */
  for (size_t k = 0; k < r; k++) {
    double *col = minv + k * r; /* symmetric: row k of M^-1 */
    memset(col, 0, r * sizeof *col);
    col[k] = 1.0;
    nvmm__trsv_lower(r, fa->mchol, col);
    trsv_lower_t(r, fa->mchol, col);
  }
  for (size_t j = 0; j < d; j++) {
    b.sdinv[j] = sqrt(fa->dinv[j]);
    for (size_t k = 0; k < r; k++)
      b.fz[j * r1p + k] = b.sf[j * r + k] = fa->f[j * r + k] * b.sdinv[j];
    b.fz[j * r1p + r] = w.g[j] / b.sdinv[j];
    for (size_t k = r + 1; k < r1p; k++)
      b.fz[j * r1p + k] = 0.0;
  }
  for (size_t i0 = 0; i0 < n; i0 += kc) {
    const size_t nr = n - i0 < kc ? n - i0 : kc;
    const double *xc = chunk_forms(m, fa, &w, &b, nr, x + i0 * d, center, rscale);
    NVMM_CALL(nvmm__estep_rows(m, &w.pre, i0, nr, b.q, b.zw, b.u, b.v, stats));
    for (size_t i = 0; i < nr; i++) {
      const double *ci = b.c + i * r;
      const double u = b.u[i];
      /* E[z / Y | x] = u c - c_g: the row's weights [E[z / Y | x], 1, u] for the sums with x;
       * E[z | x] and E[z z^T / Y | x] through the call's sums of c, v and u c c^T (below). */
      double *wi = b.wt + i * r2;
      for (size_t k = 0; k < r; k++) {
        const double uc = u * ci[k];
        wi[k] = uc - cg[k];
        szy[k] += wi[k];
        sc[k] += ci[k];
        for (size_t l = 0; l <= k; l++)
          succ[k * (k + 1) / 2 + l] += uc * ci[l];
      }
      sv += b.v[i];
      wi[r] = 1.0;
      wi[r + 1] = u;
      for (size_t k = r + 2; k < r2; k++)
        wi[k] = 0.0;
    }
    /* sum x ezy^T, sum x and sum u x over the sub-chunk in one DGEMM, T = X^T W (its transpose
     * W^T X in column-major terms), then added to the statistics; then sum u x_j^2. */
    const int di = (int)d, r2i = (int)r2, nri = (int)nr;
    const double one = 1.0, zero = 0.0;
    dgemm_("N", "T", &r2i, &di, &nri, &one, b.wt, &r2i, xc, &di, &zero, b.t, &r2i, 1, 1);
    add_uxx(d, nr, xc, b.wt + r + 1, r2, suxx);
    for (size_t j = 0; j < d; j++) {
      const double *tj = b.t + j * r2;
      for (size_t k = 0; k < r; k++)
        sxzy[j * r + k] += tj[k];
      sx[j] += tj[r];
      sux[j] += tj[r + 1];
    }
  }
  /* Summed over the rows (src/numerics.md 3.4): E[z | x] = c - v c_g and
   * E[z z^T / Y | x] = M^-1 + u c c^T - c c_g^T - c_g c^T + v c_g c_g^T. */
  for (size_t k = 0; k < r; k++) {
    sz[k] += sc[k] - sv * cg[k];
    for (size_t l = 0; l <= k; l++)
      szz[k * (k + 1) / 2 + l] += (double)n * minv[k * r + l] + succ[k * (k + 1) / 2 + l] -
                                  sc[k] * cg[l] - cg[k] * sc[l] + sv * cg[k] * cg[l];
  }
  return NVMM_OK;
}
