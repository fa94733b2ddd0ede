/* estep.c: the E-step block kernel: posterior GIG of Y given each row, its moments, the
 * row's log-density, and the plain sums one reduction combines (src/numerics.md 4). */
#include "nvmm/estep.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bessel_impl.h"
#include "digamma.h"
#include "family.h"
#include "gig_impl.h"
#include "lapack.h"
#include "linalg.h"
#include "model_impl.h"
#include "nvmm/bessel.h"

size_t nvmm_stats_x(size_t d) { return NVMM_ST_HEAD; }
size_t nvmm_stats_ux(size_t d) { return NVMM_ST_HEAD + d; }
size_t nvmm_stats_uxx(size_t d) { return NVMM_ST_HEAD + 2 * d; }
size_t nvmm_stats_len(size_t d) { return NVMM_ST_HEAD + 2 * d + d * (d + 1) / 2; }

/* Posterior moments of Y ~ GIG(nu, a, b): u = E[1/Y], v = E[Y], l = E[log Y] (when need_l),
 * and the log of the GIG integral I(nu, a, b) that the row's log-density needs. */
typedef struct post {
  double u, v, l, lint;
} post;

static nvmm_status posterior(double nu, double a, double b, int need_l, post *r) {
  if (a == 0.0) {
    /* Inverse-gamma posterior (NInvG with gamma = 0): shape -nu, rate b/2, in closed form
     * rather than through a Bessel function at a vanishing argument
     * (src/numerics.md 4.2, 12.12). */
    double k = -nu, rate = 0.5 * b;
    r->u = k / rate;
    r->v = k > 1.0 ? rate / (k - 1.0) : INFINITY;
    r->l = need_l ? log(rate) - nvmm__digamma(k) : 0.0;
    r->lint = lgamma(k) - k * log(rate);
    return NVMM_OK;
  }
  nvmm_bessel_k k;
  double sa = sqrt(a), sb = sqrt(b);
  double delta = sb / sa; /* sqrt(b / a) */
  r->l = 0.0;
  if (need_l) {
    /* One call shares the work of the ratios and the order derivative. */
    double dnu;
    NVMM_CALL(nvmm_bessel_k_eval_dnu(nu, sa * sb, &k, &dnu));
    r->l = log(delta) + dnu;
  } else {
    NVMM_CALL(nvmm_bessel_k_eval(nu, sa * sb, &k));
  }
  r->v = delta * k.rp;
  r->u = k.rm / delta;
  r->lint = M_LN2 + nu * log(delta) + k.lnk;
  return NVMM_OK;
}

/* What every row of one E-step pass shares. */
typedef struct pass {
  nvmm__pre pre;
  double nu, a_post; /* posterior order p - d/2 and a + w2 */
  double sa, la;     /* sqrt(a_post) and log(a_post) (0 where a_post = 0) */
  int gauss, need_l;
} pass;

/* The pass's derived fields from c->pre. */
static void pass_derive(const nvmm_model *m, pass *c) {
  c->gauss = !nvmm__latent(m->family);
  /* NIG's M-step uses only E[1/Y] and E[Y]: skip the order derivative (src/numerics.md 4.2). */
  c->need_l = nvmm__family_of(m->family)->eta_used[0];
  c->nu = c->pre.p - 0.5 * (double)m->d;
  c->a_post = c->pre.a + c->pre.w2;
  c->sa = sqrt(c->a_post);
  c->la = c->a_post > 0.0 ? log(c->a_post) : 0.0;
}

static nvmm_status pass_init(const nvmm_model *m, double *w, pass *c) {
  NVMM_CALL(nvmm__model_dense(m, "the dense E-step"));
  NVMM_CALL(nvmm__model_pre(m, w, &c->pre));
  pass_derive(m, c);
  return NVMM_OK;
}

/* The posterior moments and log-density of row i from its q = z^T z and zw = z^T w. */
static nvmm_status row_post(const pass *c, size_t i, double q, double zw, post *r, double *logf,
                            double *floors) {
  NVMM_CHECK(isfinite(q) && isfinite(zw), NVMM_EDOM, "row %zu of the block is not finite", i);
  *r = (post){1.0, 1.0, 0.0, 0.0};
  if (c->gauss) {
    *logf = c->pre.c0 - 0.5 * q;
    return NVMM_OK;
  }
  double b_post = c->pre.b + q;
  if (b_post < NVMM_B_POST_FLOOR) {
    /* src/numerics.md 4.3, 12.1: near x = mu the VG posterior has b -> 0 and E[1/Y|x] -> inf. The
     * moments use the floor; the log-density below uses the true b. Counted. */
    *floors += 1.0;
    NVMM_CALL(posterior(c->nu, c->a_post, NVMM_B_POST_FLOOR, c->need_l, r));
    NVMM_CALL(nvmm__log_gig_integral(c->nu, c->a_post, b_post, &r->lint));
  } else {
    NVMM_CALL(posterior(c->nu, c->a_post, b_post, c->need_l, r));
  }
  *logf = c->pre.c0 + zw + r->lint - c->pre.lnorm;
  NVMM_CHECK(isfinite(r->u) && isfinite(r->v) && isfinite(r->l) && isfinite(*logf), NVMM_EDOM,
             "row %zu: non-finite E-step statistic (E[1/Y|x] = %g, E[Y|x] = %g, "
             "E[log Y|x] = %g, log f = %g)",
             i, r->u, r->v, r->l, *logf);
  return NVMM_OK;
}

nvmm_status nvmm__estep_row(const nvmm_model *m, const nvmm__pre *pre, size_t i, double q,
                            double zw, double out[4], double *floors) {
  pass c;
  c.pre = *pre;
  pass_derive(m, &c);
  post r;
  double logf = 0.0;
  NVMM_CALL(row_post(&c, i, q, zw, &r, &logf, floors));
  out[0] = r.u;
  out[1] = r.v;
  out[2] = r.l;
  out[3] = logf;
  return NVMM_OK;
}

/* A product of positive doubles as m 2^e, renormalized so that it never over- or underflows:
 * the sum of their logarithms with one logarithm at the end. */
typedef struct lprod {
  double m;
  long e;
} lprod;

#define LPROD_BIG 0x1p400
#define LPROD_SMALL 0x1p-400

static inline void lprod_mul(lprod *p, double x) {
  int e;
  if (!(x >= LPROD_SMALL && x <= LPROD_BIG)) {
    x = frexp(x, &e);
    p->e += e;
  }
  p->m *= x;
  if (!(p->m >= LPROD_SMALL && p->m <= LPROD_BIG)) {
    p->m = frexp(p->m, &e);
    p->e += e;
  }
}

static inline double lprod_log(const lprod *p) { return log(p->m) + (double)p->e * M_LN2; }

/* The blocked kernels' per-chunk sums. Per row, log f = c0 + zw + log 2 + nu log(delta) +
 * log K_nu(z) - lnorm and E[log Y|x] = log(delta) + d/dnu log K_nu(z) with
 * log(delta) = (log b_post - log a_post) / 2 (posterior()). Every term enters only through its
 * sum over rows, so b_post and the mantissa of K (nvmm__bessel_k_split) are multiplied into
 * products and the chunk takes two logarithms where the rows would take two or three each (a
 * third of a GH row's cost at d = 6). Rows off the common path (floored b_post, the
 * inverse-gamma posterior, the Gaussian) add their terms directly. */
typedef struct acc {
  double u, v, l, logf; /* plain sums */
  lprod kmant, bpost;   /* products over the split rows */
  double nsplit;        /* number of split rows */
} acc;

static void acc_init(acc *s) { *s = (acc){0.0, 0.0, 0.0, 0.0, {1.0, 0}, {1.0, 0}, 0.0}; }

/* acc_row's common path after its Bessel evaluation k (split: log K = k->lnk + log mant). */
static inline nvmm_status acc_split(const pass *c, size_t i, double b_post, double sb, double zw,
                                    const nvmm_bessel_k *kk, double mant, double dnu, acc *s,
                                    double *u, double *v) {
  const nvmm_bessel_k k = *kk;
  double ru = k.rm * c->sa / sb, rv = k.rp * sb / c->sa;
  NVMM_CHECK(isfinite(ru) && isfinite(rv) && isfinite(dnu) && isfinite(k.lnk), NVMM_EDOM,
             "row %zu: non-finite E-step statistic (E[1/Y|x] = %g, E[Y|x] = %g, "
             "d/dnu log K = %g, log K - log(mantissa) = %g)",
             i, ru, rv, dnu, k.lnk);
  s->u += ru;
  s->v += rv;
  s->l += dnu;
  s->logf += zw + k.lnk;
  lprod_mul(&s->kmant, mant);
  lprod_mul(&s->bpost, b_post);
  s->nsplit += 1.0;
  *u = ru;
  if (v)
    *v = rv;
  return NVMM_OK;
}

/* Row i's contributions; *u = E[1/Y | x_i] and, where v is not NULL, *v = E[Y | x_i]. */
static inline nvmm_status acc_row(const pass *c, size_t i, double q, double zw, acc *s, double *u,
                                  double *v, double *floors) {
  double b_post = c->pre.b + q;
  if (c->gauss || c->a_post == 0.0 || !(b_post >= NVMM_B_POST_FLOOR)) {
    post r;
    double logf = 0.0; /* set by row_post on success; gcc -O3 cannot tell */
    NVMM_CALL(row_post(c, i, q, zw, &r, &logf, floors));
    s->u += r.u;
    s->v += r.v;
    s->l += r.l;
    s->logf += logf;
    *u = r.u;
    if (v)
      *v = r.v;
    return NVMM_OK;
  }
  NVMM_CHECK(isfinite(b_post) && isfinite(zw), NVMM_EDOM, "row %zu of the block is not finite", i);
  double sb = sqrt(b_post), mant, dnu;
  nvmm_bessel_k k;
  NVMM_CALL(nvmm__bessel_k_split(c->nu, c->sa * sb, c->need_l, &k, &mant, &dnu));
  return acc_split(c, i, b_post, sb, zw, &k, mant, dnu, s, u, v);
}

/* NVMM__BESSEL_LANES rows by acc_row, which on the common path (every row's b_post finite and
 * above the floor) share one Bessel evaluation over lanes: the same bits, row by row, as that
 * many acc_row calls. */
static inline nvmm_status acc_rows_lanes(const pass *c, size_t i, const double *q, const double *zw,
                                         acc *s, double *u, double *v, double *floors) {
  enum { L = NVMM__BESSEL_LANES };
  double b_post[L], sb[L], z[L];
  int common = !c->gauss && c->a_post != 0.0;
  for (int l = 0; l < L && common; l++) {
    b_post[l] = c->pre.b + q[l];
    common = b_post[l] >= NVMM_B_POST_FLOOR && isfinite(b_post[l]) && isfinite(zw[l]);
  }
  if (!common) {
    for (int l = 0; l < L; l++)
      NVMM_CALL(acc_row(c, i + l, q[l], zw[l], s, &u[l], v ? &v[l] : NULL, floors));
    return NVMM_OK;
  }
  for (int l = 0; l < L; l++) {
    sb[l] = sqrt(b_post[l]);
    z[l] = c->sa * sb[l];
  }
  nvmm_bessel_k k[L];
  double mant[L], dnu[L];
  NVMM_CALL(nvmm__bessel_k_split_lanes(c->nu, z, c->need_l, k, mant, dnu));
  for (int l = 0; l < L; l++)
    NVMM_CALL(acc_split(c, i + l, b_post[l], sb[l], zw[l], &k[l], mant[l], dnu[l], s, &u[l],
                        v ? &v[l] : NULL));
  return NVMM_OK;
}

/* Rows row0 .. row0 + n - 1 from their q and zw: acc_rows_lanes over whole groups of lanes, then
 * acc_row for the rest; u (and v, where not NULL) indexed from 0. */
static nvmm_status acc_rows(const pass *c, size_t row0, size_t n, const double *q, const double *zw,
                            acc *s, double *u, double *v, double *floors) {
  size_t i = 0;
  for (; i + NVMM__BESSEL_LANES <= n; i += NVMM__BESSEL_LANES)
    NVMM_CALL(acc_rows_lanes(c, row0 + i, q + i, zw + i, s, u + i, v ? v + i : NULL, floors));
  for (; i < n; i++)
    NVMM_CALL(acc_row(c, row0 + i, q[i], zw[i], s, &u[i], v ? &v[i] : NULL, floors));
  return NVMM_OK;
}

/* Adds the chunk's sums to stats. */
static nvmm_status acc_finish(const pass *c, const acc *s, double *stats) {
  double l = s->l, logf = s->logf;
  if (s->nsplit > 0.0) {
    double sld = 0.5 * (lprod_log(&s->bpost) - s->nsplit * c->la); /* sum of log(delta) */
    logf += s->nsplit * (c->pre.c0 + M_LN2 - c->pre.lnorm) + c->nu * sld + lprod_log(&s->kmant);
    if (c->need_l)
      l += sld;
  }
  NVMM_CHECK(isfinite(logf) && isfinite(l), NVMM_EDOM,
             "non-finite E-step sums over a chunk (log f: %g, E[log Y|x]: %g)", logf, l);
  stats[NVMM_ST_U] += s->u;
  stats[NVMM_ST_V] += s->v;
  stats[NVMM_ST_L] += l;
  stats[NVMM_ST_LOGF] += logf;
  return NVMM_OK;
}

nvmm_status nvmm__estep_rows(const nvmm_model *m, const nvmm__pre *pre, size_t row0, size_t n,
                             const double *q, const double *zw, double *u, double *v,
                             double *stats) {
  pass c;
  c.pre = *pre;
  pass_derive(m, &c);
  acc s;
  acc_init(&s);
  NVMM_CALL(acc_rows(&c, row0, n, q, zw, &s, u, v, &stats[NVMM_ST_FLOOR]));
  NVMM_CALL(acc_finish(&c, &s, stats));
  stats[NVMM_ST_N] += (double)n;
  return NVMM_OK;
}

nvmm_status nvmm_estep(const nvmm_model *m, size_t n, const double *x, double *stats,
                       double *scratch) {
  NVMM_CHECK(m && (x || n == 0) && stats && scratch, NVMM_EINVAL,
             "model, x, stats and scratch must not be NULL");
  size_t d = m->d;
  double *w = scratch, *z = scratch + d;
  pass c;
  NVMM_CALL(pass_init(m, w, &c));
  double *sx = stats + nvmm_stats_x(d), *sux = stats + nvmm_stats_ux(d);
  double *suxx = stats + nvmm_stats_uxx(d);
  for (size_t i = 0; i < n; i++) {
    const double *xi = x + i * d;
    double zw, q = nvmm__model_row(m, xi, w, z, &zw), logf = 0.0;
    post r;
    NVMM_CALL(row_post(&c, i, q, zw, &r, &logf, &stats[NVMM_ST_FLOOR]));
    stats[NVMM_ST_N] += 1.0;
    stats[NVMM_ST_U] += r.u;
    stats[NVMM_ST_V] += r.v;
    stats[NVMM_ST_L] += r.l;
    stats[NVMM_ST_LOGF] += logf;
    double *row = suxx;
    for (size_t j = 0; j < d; j++) {
      double uxj = r.u * xi[j];
      sx[j] += xi[j];
      sux[j] += uxj;
      for (size_t k = 0; k <= j; k++)
        row[k] += uxj * xi[k];
      row += j + 1;
    }
  }
  return NVMM_OK;
}

/* Rows per chunk of the blocked kernel: enough right-hand sides for DTRMM and DSYRK to run at
 * BLAS-3 speed (measured: 1024 rows beat 256 by ~25% at d = 256), capped so one chunk buffer
 * stays near 2 MiB (L2-to-L3 sized) at large d; at least 64 rows. */
static size_t chunk_rows(size_t d) {
  size_t c = ((size_t)1 << 21) / (8 * d);
  return c > 1024 ? 1024 : c < 64 ? 64 : c;
}

/* Up to this dimension a block runs eight rows at a time with everything in registers: the solve
 * as d dot products with the cached L^-1, the Gram by scalar multiply-adds into local sums, the
 * Bessel work shared over the eight lanes. The BLAS calls' fixed costs (packing, dispatch)
 * dominate at such d. Measured, E-step ns per row (tests/bench_estep, 200000 rows, one core, two
 * runs on a machine whose speed drifts by up to 1.5x), this kernel vs DTRMM + DSYRK, both with
 * the lanes: d = 6: NIG 33.6, 42.7 vs 57.8, 40.6; GH 51.4, 71.6 vs 62.0, 87.9; d = 7: NIG 42.9,
 * 63.4 vs 58.7, 77.4; GH 54.3, 71.7 vs 70.2, 102.9; d = 8: NIG 54.0, 54.5 vs 47.4, 59.4; GH 69.9,
 * 86.0 vs 85.3, 88.4. */
#define SMALL_D NVMM__SMALL_D

struct nvmm_estep_ws {
  size_t d;
  double *w;            /* d: L^-1 gamma */
  double *linv;         /* d x d: L^-1, row-major lower (= U^-1 column-major upper, U = L^T) */
  double *zeros, *ones; /* d each: the identity standardization (register kernel) */
  double *xs;           /* chunk x d: the chunk's standardized rows */
  double *key;          /* d x d: the factor linv was computed from (valid when have_inv) */
  int have_inv;
  size_t chunk; /* rows per chunk */
  double *z;    /* chunk x d: L^-1 (x - mu), later sqrt(u) x (column-major d x chunk) */
  double *u;    /* chunk: E[1/Y | x] */
  double *q;    /* 2 chunk: each row's q and zw */
  double *gram; /* d x d: the chunk's sum u x x^T */
};

nvmm_status nvmm_estep_ws_alloc(size_t d, nvmm_estep_ws **out) {
  NVMM_CHECK(out && d >= 1, NVMM_EINVAL, "invalid E-step workspace size d = %zu", d);
  *out = NULL;
  nvmm_estep_ws *ws = calloc(1, sizeof *ws);
  /* The register kernel keeps its rows in locals: no chunk buffers (some 120 KB at d = 6, each
   * page of it a fault on first touch). */
  size_t ch = d <= SMALL_D ? 0 : chunk_rows(d);
  double *buf = calloc(3 * d + 2 * d * d + 2 * ch * d + 3 * ch + d * d, sizeof *buf);
  if (!ws || !buf) {
    free(ws);
    free(buf);
    NVMM_ERROR(NVMM_ENOMEM, "cannot allocate the E-step workspace (d = %zu)", d);
  }
  ws->d = d;
  ws->w = buf;
  ws->zeros = buf + d;
  ws->ones = ws->zeros + d;
  for (size_t j = 0; j < d; j++)
    ws->ones[j] = 1.0;
  ws->linv = ws->ones + d;
  ws->key = ws->linv + d * d;
  ws->z = ws->key + d * d;
  ws->chunk = ch;
  ws->xs = ws->z + ch * d;
  ws->u = ws->xs + ch * d;
  ws->q = ws->u + ch;
  ws->gram = ws->q + 2 * ch;
  *out = ws;
  return NVMM_OK;
}

void nvmm_estep_ws_free(nvmm_estep_ws **ws) {
  if (!ws || !*ws)
    return;
  free((*ws)->w);
  free(*ws);
  *ws = NULL;
}

/* z = x - mu row by row (standardizing first into xs where c, rs are given: the expression
 * the fit always used, so that the fits keep their bits); and z = sqrt(u) x with the sums of x
 * and u x. Separate functions so that restrict tells the compiler the arrays do not overlap: it
 * then keeps mu, sx and sux out of the store-to-load chains and pairs the loops into vector
 * operations (the two loops took 40% of the kernel's own time at d = 32 before). The
 * standardized chunk is kept (2 MiB at most, cache-resident) rather than recomputed in the
 * second loop: measured 10 ns per row cheaper at d = 32. */
static void center_rows(size_t rows, size_t d, const double *restrict x, const double *restrict mu,
                        double *restrict z) {
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < d; j++)
      z[i * d + j] = x[i * d + j] - mu[j];
}

static void std_rows(size_t rows, size_t d, const double *restrict x, const double *restrict c,
                     const double *restrict rs, double *restrict xs) {
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < d; j++)
      xs[i * d + j] = (x[i * d + j] - c[j]) * rs[j];
}

static void scale_rows(size_t rows, size_t d, const double *restrict x, const double *restrict u,
                       double *restrict z, double *restrict sx, double *restrict sux) {
  for (size_t i = 0; i < rows; i++) {
    const double ui = u[i], su = sqrt(ui);
    for (size_t j = 0; j < d; j++) {
      const double xj = x[i * d + j];
      sx[j] += xj;
      sux[j] += ui * xj;
      z[i * d + j] = su * xj;
    }
  }
}

/* One chunk of at most ws->chunk rows (row0 is its index in the caller's block, for messages). */
static nvmm_status chunk(const nvmm_model *m, const pass *c, nvmm_estep_ws *ws, size_t rows,
                         size_t row0, const double *x, const double *xc, const double *xr,
                         double *stats) {
  const size_t d = m->d;
  const int dn = (int)d, cn = (int)rows;
  const double one = 1.0;
  double *z = ws->z, *u = ws->u;
  /* Z = L^-1 (X - mu): the rows are the columns of a column-major d x rows matrix, and the
   * row-major lower L^-1 is the column-major upper U^-1 (U = L^T), so Z = U^-T (X - mu) is one
   * DTRMM with the cached inverse (BLAS-3). */
  if (xc) {
    std_rows(rows, d, x, xc, xr, ws->xs);
    x = ws->xs;
  }
  center_rows(rows, d, x, m->mu, z);
  dtrmm_("L", "U", "T", "N", &dn, &cn, &one, ws->linv, &dn, z, &dn, 1, 1, 1, 1);
  double *sx = stats + nvmm_stats_x(d), *sux = stats + nvmm_stats_ux(d);
  acc s;
  acc_init(&s);
  for (size_t i = 0; i < rows; i++) {
    /* Four partial sums each: independent chains the compiler can pair into vectors. */
    const double *zi = z + i * d, *w = ws->w;
    double q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0, s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t j = 0;
    for (; j + 4 <= d; j += 4) {
      q0 += zi[j] * zi[j];
      q1 += zi[j + 1] * zi[j + 1];
      q2 += zi[j + 2] * zi[j + 2];
      q3 += zi[j + 3] * zi[j + 3];
      s0 += zi[j] * w[j];
      s1 += zi[j + 1] * w[j + 1];
      s2 += zi[j + 2] * w[j + 2];
      s3 += zi[j + 3] * w[j + 3];
    }
    for (; j < d; j++) {
      q0 += zi[j] * zi[j];
      s0 += zi[j] * w[j];
    }
    ws->q[i] = (q0 + q1) + (q2 + q3);
    ws->q[rows + i] = (s0 + s1) + (s2 + s3);
  }
  NVMM_CALL(acc_rows(c, row0, rows, ws->q, ws->q + rows, &s, u, NULL, &stats[NVMM_ST_FLOOR]));
  NVMM_CALL(acc_finish(c, &s, stats));
  /* The weighted Gram sum u x x^T = Y Y^T with Y = sqrt(u) x (DSYRK; u > 0), and the sums of x
   * and u x, reusing the buffer of Z. */
  scale_rows(rows, d, x, u, z, sx, sux);
  nvmm__gram(d, rows, z, 0.0, ws->gram);
  nvmm__add_packed(d, ws->gram, stats + nvmm_stats_uxx(d));
  stats[NVMM_ST_N] += (double)rows;
  return NVMM_OK;
}

/* ws->linv = L^-1 by LAPACK dtrtri, kept while the model's factor stays the same: the model
 * changes once per iteration while a pass makes one call per block of rows, and the inverse
 * costs d^3/3 multiply-adds (a few per cent of a block's work at d = 256 and 4096 rows). The
 * product with the inverse (DTRMM) is faster than the solve (DTRSM) in OpenBLAS (measured per
 * row: 30 vs 52 ns at d = 32, 1300 vs 1510 ns at d = 256) and for small d it turns the solve's
 * chain of dependent substitutions into d independent dot products. */
/* x = L^-1 for the row-major lower l, column j as the solve of L x_j = e_j (nvmm__trsv_lower);
 * returns 0, or j + 1 where l_jj = 0, as dtrtri's info. */
static int inverse_small(size_t d, const double *l, double *x) {
  for (size_t j = 0; j < d; j++) {
    if (l[j * d + j] == 0.0)
      return (int)j + 1;
    double e[SMALL_D] = {0};
    e[j] = 1.0;
    nvmm__trsv_lower(d, l, e);
    for (size_t i = 0; i < d; i++)
      x[i * d + j] = e[i];
  }
  return 0;
}

static nvmm_status factor_inverse(const nvmm_model *m, nvmm_estep_ws *ws) {
  const size_t d = m->d, dd = d * d;
  if (ws->have_inv && memcmp(ws->key, m->chol, dd * sizeof *ws->key) == 0)
    return NVMM_OK;
  ws->have_inv = 0;
  memcpy(ws->key, m->chol, dd * sizeof *ws->key);
  memcpy(ws->linv, m->chol, dd * sizeof *ws->linv);
  const int dn = (int)d;
  int info = 0;
  if (d <= SMALL_D) /* no BLAS for small d (linalg.h) */
    info = inverse_small(d, m->chol, ws->linv);
  else
    dtrtri_("U", "N", &dn, ws->linv, &dn, &info, 1, 1);
  NVMM_CHECK(info == 0, NVMM_EDOM,
             "the model's Cholesky factor is singular (diagonal entry %d is 0)", info);
  ws->have_inv = 1;
  return NVMM_OK;
}

/* One block for d <= SMALL_D, in groups of NVMM__BESSEL_LANES rows: the same sums as chunk(),
 * in registers, each group's Bessel work shared over lanes (acc_rows, the same bits as row by
 * row). Inlined for each d below (chunk_small), so that the loops have constant trip counts and
 * unroll, and the running sums live in locals rather than in stats, which the compiler must
 * assume the Bessel calls could change. */
#if defined(__GNUC__)
#define UNROLL _Pragma("GCC unroll 8")
__attribute__((always_inline))
#else
#define UNROLL
#endif
static inline nvmm_status
chunk_small_d(const size_t d, const nvmm_model *m, const pass *c, const nvmm_estep_ws *ws,
              size_t rows, const double *x, const double *xc, const double *xr, double *stats) {
  enum { L = NVMM__BESSEL_LANES };
  const double *li = ws->linv, *w = ws->w, *mu = m->mu;
  double sx[SMALL_D] = {0}, sux[SMALL_D] = {0}, g[SMALL_D * (SMALL_D + 1) / 2] = {0};
  acc s;
  acc_init(&s);
  for (size_t i0 = 0; i0 < rows; i0 += L) {
    const size_t nb = rows - i0 < L ? rows - i0 : L;
    double xs[L][SMALL_D], q[L], zw[L], u[L];
    for (size_t l = 0; l < nb; l++) {
      const double *xi = x + (i0 + l) * d;
      double t[SMALL_D], ql = 0.0, zl = 0.0;
      UNROLL
      for (size_t j = 0; j < d; j++) {
        xs[l][j] = (xi[j] - xc[j]) * xr[j];
        t[j] = xs[l][j] - mu[j];
      }
      /* z = L^-1 (x - mu) by products with the explicit inverse: the d dot products are
       * independent, where substitution would chain every z_j to the previous ones. */
      UNROLL
      for (size_t j = 0; j < d; j++) {
        const double *lj = li + j * d;
        double zj = 0.0;
        UNROLL
        for (size_t k = 0; k <= j; k++)
          zj += lj[k] * t[k];
        ql += zj * zj;
        zl += zj * w[j];
      }
      q[l] = ql;
      zw[l] = zl;
    }
    NVMM_CALL(acc_rows(c, i0, nb, q, zw, &s, u, NULL, &stats[NVMM_ST_FLOOR]));
    for (size_t l = 0; l < nb; l++) {
      UNROLL
      for (size_t j = 0, o = 0; j < d; o += ++j) {
        double uxj = u[l] * xs[l][j];
        sx[j] += xs[l][j];
        sux[j] += uxj;
        UNROLL
        for (size_t k = 0; k <= j; k++)
          g[o + k] += uxj * xs[l][k];
      }
    }
  }
  NVMM_CALL(acc_finish(c, &s, stats));
  double *ssx = stats + nvmm_stats_x(d), *ssux = stats + nvmm_stats_ux(d);
  double *ssuxx = stats + nvmm_stats_uxx(d);
  UNROLL
  for (size_t j = 0; j < d; j++) {
    ssx[j] += sx[j];
    ssux[j] += sux[j];
  }
  UNROLL
  for (size_t k = 0; k < d * (d + 1) / 2; k++)
    ssuxx[k] += g[k];
  stats[NVMM_ST_N] += (double)rows;
  return NVMM_OK;
}

_Static_assert(SMALL_D == 8, "chunk_small needs a case for every d up to SMALL_D, and no more");
static nvmm_status chunk_small(const nvmm_model *m, const pass *c, const nvmm_estep_ws *ws,
                               size_t rows, const double *x, const double *xc, const double *xr,
                               double *stats) {
  switch (m->d) {
#define CASE(D)                                                                                    \
  case D:                                                                                          \
    return chunk_small_d(D, m, c, ws, rows, x, xc, xr, stats);
    CASE(1) CASE(2) CASE(3) CASE(4) CASE(5) CASE(6) CASE(7) CASE(8)
#undef CASE
  }
  NVMM_ERROR(NVMM_EINVAL, "no small-d E-step kernel for d = %zu", m->d);
}

nvmm_status nvmm_estep_block(const nvmm_model *m, nvmm_estep_ws *ws, size_t n, const double *x,
                             double *stats) {
  return nvmm_estep_block_std(m, ws, n, x, NULL, NULL, stats);
}

nvmm_status nvmm_estep_block_std(const nvmm_model *m, nvmm_estep_ws *ws, size_t n, const double *x,
                                 const double *center, const double *rscale, double *stats) {
  NVMM_CHECK(m && ws && (x || n == 0) && stats, NVMM_EINVAL,
             "model, workspace, x and stats must not be NULL");
  NVMM_CHECK(ws->d == m->d && m->d <= INT_MAX, NVMM_EINVAL,
             "E-step workspace of dimension %zu used with a model of dimension %zu", ws->d, m->d);
  pass c;
  NVMM_CALL(pass_init(m, ws->w, &c));
  const size_t d = m->d;
  NVMM_CHECK(!center == !rscale, NVMM_EINVAL, "center and rscale must both be given or both NULL");
  /* The register kernel standardizes with 0 and 1 where none is asked for (exact: x - 0 and
   * x * 1 change no bit); the big-d path skips it. */
  const double *xc = center, *xr = rscale; /* NULL: none (the big-d path skips it) */
  NVMM_CALL(factor_inverse(m, ws));
  if (d <= SMALL_D)
    return chunk_small(m, &c, ws, n, x, xc ? xc : ws->zeros, xr ? xr : ws->ones, stats);
  for (size_t r = 0; r < n; r += ws->chunk) {
    size_t rows = n - r < ws->chunk ? n - r : ws->chunk;
    NVMM_CALL(chunk(m, &c, ws, rows, r, x + r * d, xc, xr, stats));
  }
  return NVMM_OK;
}
