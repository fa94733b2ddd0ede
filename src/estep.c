/* estep.c: the E-step block kernel: posterior GIG of Y given each row, its moments, the
 * row's log-density, and the plain sums one reduction combines (numerics.md 2.1-2.3). */
#include "nvmm/estep.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
     * rather than through a Bessel function at a vanishing argument (pitfall 12). */
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
  int gauss, need_l;
} pass;

static nvmm_status pass_init(const nvmm_model *m, double *w, pass *c) {
  NVMM_CALL(nvmm__model_pre(m, w, &c->pre));
  c->gauss = m->family == NVMM_FAMILY_GAUSS;
  /* NIG's M-step uses only E[1/Y] and E[Y]: skip the order derivative (architecture.md). */
  c->need_l =
      m->family == NVMM_FAMILY_GH || m->family == NVMM_FAMILY_VG || m->family == NVMM_FAMILY_NINVG;
  c->nu = c->pre.p - 0.5 * (double)m->d;
  c->a_post = c->pre.a + c->pre.w2;
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
    /* Pitfall 1: near x = mu the VG posterior has b -> 0 and E[1/Y|x] -> inf. The moments
     * use the floor; the log-density below uses the true b. Counted. */
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
    double zw, q = nvmm__model_row(m, xi, w, z, &zw), logf;
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

/* Rows per chunk of the blocked kernel: enough right-hand sides for DTRSM and DSYRK to run at
 * BLAS-3 speed (measured: 1024 rows beat 256 by ~25% at d = 256), capped so one chunk buffer
 * stays near 2 MiB (L2-to-L3 sized) at large d; at least 64 rows. */
static size_t chunk_rows(size_t d) {
  size_t c = ((size_t)1 << 21) / (8 * d);
  return c > 1024 ? 1024 : c < 64 ? 64 : c;
}

struct nvmm_estep_ws {
  size_t d;
  double *w;    /* d: L^-1 gamma */
  size_t chunk; /* rows per chunk */
  double *z;    /* chunk x d: L^-1 (x - mu), later sqrt(u) x (column-major d x chunk) */
  double *u;    /* chunk: E[1/Y | x] */
  double *gram; /* d x d: the chunk's sum u x x^T */
};

nvmm_status nvmm_estep_ws_alloc(size_t d, nvmm_estep_ws **out) {
  NVMM_CHECK(out && d >= 1, NVMM_EINVAL, "invalid E-step workspace size d = %zu", d);
  *out = NULL;
  nvmm_estep_ws *ws = calloc(1, sizeof *ws);
  size_t ch = chunk_rows(d);
  double *buf = calloc(d + ch * d + ch + d * d, sizeof *buf);
  if (!ws || !buf) {
    free(ws);
    free(buf);
    NVMM_ERROR(NVMM_ENOMEM, "cannot allocate the E-step workspace (d = %zu)", d);
  }
  ws->d = d;
  ws->w = buf;
  ws->z = buf + d;
  ws->chunk = ch;
  ws->u = ws->z + ch * d;
  ws->gram = ws->u + ch;
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

/* BLAS (Fortran interfaces: OpenBLAS provides them; GSL's bundled CBLAS does not, so these
 * cannot resolve to it). Hidden CHARACTER lengths as gfortran passes them. */
void dtrsm_(const char *side, const char *uplo, const char *transa, const char *diag, const int *m,
            const int *n, const double *alpha, const double *a, const int *lda, double *b,
            const int *ldb, size_t, size_t, size_t, size_t);
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *beta, double *c, const int *ldc, size_t,
            size_t);

/* One chunk of at most ws->chunk rows (row0 is its index in the caller's block, for messages). */
static nvmm_status chunk(const nvmm_model *m, const pass *c, nvmm_estep_ws *ws, size_t rows,
                         size_t row0, const double *x, double *stats) {
  const size_t d = m->d;
  const int dn = (int)d, cn = (int)rows;
  const double one = 1.0, zero = 0.0;
  double *z = ws->z, *u = ws->u;
  /* Z = L^-1 (X - mu): the rows are the columns of a column-major d x rows matrix, and the
   * row-major lower L is a column-major upper U = L^T, so solve U^T Z = X - mu (BLAS-3). */
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < d; j++)
      z[i * d + j] = x[i * d + j] - m->mu[j];
  dtrsm_("L", "U", "T", "N", &dn, &cn, &one, m->chol, &dn, z, &dn, 1, 1, 1, 1);
  double *sx = stats + nvmm_stats_x(d), *sux = stats + nvmm_stats_ux(d);
  for (size_t i = 0; i < rows; i++) {
    const double *zi = z + i * d;
    double q = 0.0, zw = 0.0, logf;
    for (size_t j = 0; j < d; j++) {
      q += zi[j] * zi[j];
      zw += zi[j] * ws->w[j];
    }
    post r;
    NVMM_CALL(row_post(c, row0 + i, q, zw, &r, &logf, &stats[NVMM_ST_FLOOR]));
    stats[NVMM_ST_U] += r.u;
    stats[NVMM_ST_V] += r.v;
    stats[NVMM_ST_L] += r.l;
    stats[NVMM_ST_LOGF] += logf;
    u[i] = r.u;
  }
  /* The weighted Gram sum u x x^T = Y Y^T with Y = sqrt(u) x (DSYRK; u > 0), and the sums of x
   * and u x, reusing the buffer of Z. */
  for (size_t i = 0; i < rows; i++) {
    double su = sqrt(u[i]);
    for (size_t j = 0; j < d; j++) {
      double xj = x[i * d + j];
      sx[j] += xj;
      sux[j] += u[i] * xj;
      z[i * d + j] = su * xj;
    }
  }
  dsyrk_("U", "N", &dn, &cn, &one, z, &dn, &zero, ws->gram, &dn, 1, 1);
  /* Column-major upper (k <= j) is element gram[j * d + k]: add it to the packed lower sums. */
  double *suxx = stats + nvmm_stats_uxx(d);
  for (size_t j = 0; j < d; j++, suxx += j)
    for (size_t k = 0; k <= j; k++)
      suxx[k] += ws->gram[j * d + k];
  stats[NVMM_ST_N] += (double)rows;
  return NVMM_OK;
}

nvmm_status nvmm_estep_block(const nvmm_model *m, nvmm_estep_ws *ws, size_t n, const double *x,
                             double *stats) {
  NVMM_CHECK(m && ws && (x || n == 0) && stats, NVMM_EINVAL,
             "model, workspace, x and stats must not be NULL");
  NVMM_CHECK(ws->d == m->d && m->d <= INT_MAX, NVMM_EINVAL,
             "E-step workspace of dimension %zu used with a model of dimension %zu", ws->d, m->d);
  pass c;
  NVMM_CALL(pass_init(m, ws->w, &c));
  for (size_t r = 0; r < n; r += ws->chunk) {
    size_t rows = n - r < ws->chunk ? n - r : ws->chunk;
    NVMM_CALL(chunk(m, &c, ws, rows, r, x + r * m->d, stats));
  }
  return NVMM_OK;
}
