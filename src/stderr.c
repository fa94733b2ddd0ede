/* stderr.c: standard errors after a fit: per-row scores by Fisher's identity from the exact
 * posterior moments of Y, their outer product summed in one exact pass over the fit's blocks,
 * and the covariance in the fit's gauge (src/numerics.md 14). */
#include "nvmm/stderr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "digamma.h"
#include "family.h"
#include "fit_impl.h"
#include "h5util.h"
#include "linalg.h"
#include "model_impl.h"
#include "nvmm/agree.h"
#include "nvmm/bessel.h"
#include "nvmm/xsum.h"

/* The subordinator parameters a family holds fixed, one bit per nvmm_sub.par entry: the
 * hyperbolic family's p = (d+1)/2. */
static const unsigned char sub_fixed[NVMM_FAMILY_COUNT] = {[NVMM_FAMILY_HYP] = 1u << 0};

int nvmm_score_sub_free(nvmm_family family, int k) {
  const nvmm__family *fd = nvmm__family_of(family);
  return fd && k >= 0 && k < fd->info.nsub && !(sub_fixed[family] >> k & 1u);
}

/* The layout of theta (src/numerics.md 14.1). */
typedef struct layout {
  size_t d, nmu, ngam, nsig, nsub, npar;
  int sub_idx[3]; /* nvmm_sub.par index of theta's k-th subordinator entry */
} layout;

static int layout_of(nvmm_family family, size_t d, int symmetric, layout *l) {
  const nvmm__family *fd = nvmm__family_of(family);
  if (!fd || d == 0)
    return 0;
  l->d = d;
  l->nmu = d;
  l->ngam = nvmm__latent(family) && !symmetric ? d : 0;
  l->nsig = d * (d + 1) / 2;
  l->nsub = 0;
  for (int k = 0; k < fd->info.nsub; k++)
    if (nvmm_score_sub_free(family, k))
      l->sub_idx[l->nsub++] = k;
  l->npar = l->nmu + l->ngam + l->nsig + l->nsub;
  return 1;
}

size_t nvmm_score_len(nvmm_family family, size_t d, int symmetric) {
  layout l;
  return layout_of(family, d, symmetric, &l) ? l.npar : 0;
}

nvmm_status nvmm_score_name(nvmm_family family, size_t d, int symmetric, size_t k, char *buf,
                            size_t size) {
  layout l;
  NVMM_CHECK(layout_of(family, d, symmetric, &l) && k < l.npar && buf && size > 0, NVMM_EINVAL,
             "score entry %zu: bad family, dimension or index", k);
  if (k < l.nmu) {
    snprintf(buf, size, "mu[%zu]", k);
    return NVMM_OK;
  }
  k -= l.nmu;
  if (k < l.ngam) {
    snprintf(buf, size, "gamma[%zu]", k);
    return NVMM_OK;
  }
  k -= l.ngam;
  if (k < l.nsig) {
    size_t i = 0;
    while ((i + 1) * (i + 2) / 2 <= k)
      i++;
    snprintf(buf, size, "sigma[%zu,%zu]", i, k - i * (i + 1) / 2);
    return NVMM_OK;
  }
  k -= l.nsig;
  snprintf(buf, size, "%s", nvmm__family_of(family)->info.sub_par[l.sub_idx[k]]);
  return NVMM_OK;
}

/* d theta / d q_k of the subordinator's natural parameter theta for t(Y) = (log Y, 1/Y, Y)
 * (src/numerics.md 14.3). */
static void dtheta(const nvmm_sub *s, int k, double dt[3]) {
  const double *q = s->par;
  dt[0] = dt[1] = dt[2] = 0.0;
  switch (s->kind) {
  case NVMM_SUB_GAMMA: /* theta = (alpha - 1, 0, -beta) */
    dt[k == 0 ? 0 : 2] = k == 0 ? 1.0 : -1.0;
    break;
  case NVMM_SUB_INVGAMMA: /* theta = (-alpha - 1, -beta, 0) */
    dt[k == 0 ? 0 : 1] = -1.0;
    break;
  case NVMM_SUB_INVGAUSS: /* theta = (-3/2 fixed, -lambda/2, -lambda/(2 mu^2)) */
    if (k == 0) {
      dt[2] = q[1] / (q[0] * q[0] * q[0]);
    } else {
      dt[1] = -0.5;
      dt[2] = -0.5 / (q[0] * q[0]);
    }
    break;
  case NVMM_SUB_GIG: /* theta = (p - 1, -b/2, -a/2) */
    if (k == 0)
      dt[0] = 1.0;
    else
      dt[k == 1 ? 2 : 1] = -0.5;
    break;
  default:
    break;
  }
}

/* What every row's score needs, computed once per model. */
typedef struct prep {
  layout l;
  const nvmm_model *m;
  nvmm__pre pre;
  double nu, a_post;
  int latent, need_l;
  double *lam;     /* d x d: Sigma^-1 */
  double *g;       /* d: Sigma^-1 gamma */
  double *z;       /* d: scratch */
  double *a;       /* d: Sigma^-1 (x - mu) */
  double dt[3][3]; /* d theta / d q for theta's subordinator entries */
  double eta_q[3]; /* E_q t(Y) */
} prep;

static void prep_free(prep *p) {
  free(p->lam);
  p->lam = NULL;
}

/* Solves L' y = b in place for row-major lower-triangular L. */
static void trsv_lower_t(size_t d, const double *l, double *b) {
  for (size_t i = d; i-- > 0;) {
    double s = b[i];
    for (size_t j = i + 1; j < d; j++)
      s -= l[j * d + i] * b[j];
    b[i] = s / l[i * d + i];
  }
}

static nvmm_status prep_init(const nvmm_model *m, int symmetric, prep *p) {
  memset(p, 0, sizeof *p);
  NVMM_CHECK(m && layout_of(m->family, m->d, symmetric, &p->l), NVMM_EINVAL, "stderr: bad model");
  size_t d = m->d;
  p->m = m;
  p->lam = malloc((d * d + 3 * d) * sizeof *p->lam);
  NVMM_CHECK(p->lam, NVMM_ENOMEM, "stderr: out of memory (d = %zu)", d);
  p->g = p->lam + d * d;
  p->z = p->g + d;
  p->a = p->z + d;
  nvmm_status st = nvmm__model_pre(m, p->z, &p->pre); /* z = w = L^-1 gamma */
  if (st != NVMM_OK) {
    prep_free(p);
    return st;
  }
  memcpy(p->g, p->z, d * sizeof *p->g);
  trsv_lower_t(d, m->chol, p->g);
  for (size_t j = 0; j < d; j++) { /* column j of Sigma^-1 = L^-T L^-1 e_j */
    memset(p->z, 0, d * sizeof *p->z);
    p->z[j] = 1.0;
    nvmm__trsv_lower(d, m->chol, p->z);
    trsv_lower_t(d, m->chol, p->z);
    for (size_t i = 0; i < d; i++)
      p->lam[i * d + j] = p->z[i];
  }
  for (size_t i = 0; i < d; i++) /* exactly symmetric */
    for (size_t j = 0; j < i; j++)
      p->lam[j * d + i] = p->lam[i * d + j] = 0.5 * (p->lam[i * d + j] + p->lam[j * d + i]);
  p->latent = nvmm__latent(m->family);
  p->nu = p->pre.p - 0.5 * (double)d;
  p->a_post = p->pre.a + p->pre.w2;
  if (p->l.nsub > 0) {
    st = nvmm_sub_eta(&m->sub, p->eta_q);
    if (st != NVMM_OK) {
      prep_free(p);
      return st;
    }
  }
  for (size_t k = 0; k < p->l.nsub; k++) {
    dtheta(&m->sub, p->l.sub_idx[k], p->dt[k]);
    p->need_l |= p->dt[k][0] != 0.0;
  }
  return NVMM_OK;
}

/* The exact posterior moments u = E[1/Y|x], v = E[Y|x], l = E[log Y|x] (l only when need_l) of
 * the posterior GIG(nu, a_post, b_post) (src/numerics.md 4.1-4.2), without the E-step's floor on
 * b_post: the score is the likelihood's derivative (src/numerics.md 14.2). */
static nvmm_status posterior(const prep *p, double q, size_t row, double *u, double *v, double *l) {
  double b = p->pre.b + q;
  *l = 0.0;
  if (p->a_post == 0.0) { /* inverse-gamma posterior (src/numerics.md 4.2) */
    double k = -p->nu, rate = 0.5 * b;
    *u = k / rate;
    *v = k > 1.0 ? rate / (k - 1.0) : INFINITY;
    if (p->need_l)
      *l = log(rate) - nvmm__digamma(k);
  } else {
    double sa = sqrt(p->a_post), sb = sqrt(b), delta = sb / sa;
    nvmm_bessel_k k;
    if (p->need_l) {
      double d1;
      NVMM_CALL(nvmm_bessel_k_eval_dnu(p->nu, sa * sb, &k, &d1));
      *l = log(delta) + d1;
    } else {
      NVMM_CALL(nvmm_bessel_k_eval(p->nu, sa * sb, &k));
    }
    *u = k.rm / delta;
    *v = delta * k.rp;
  }
  /* E[Y|x] may be +inf only for the inverse-gamma posterior with gamma = 0, where nothing uses
   * it (score_row). */
  NVMM_CHECK(isfinite(*u) && isfinite(*l) && !isnan(*v), NVMM_EDOM,
             "stderr: row %zu: posterior moments not finite (E[1/Y|x] = %g, E[Y|x] = %g, "
             "E[log Y|x] = %g)",
             row, *u, *v, *l);
  return NVMM_OK;
}

/* One row's score s (npar) by Fisher's identity (src/numerics.md 14.2-14.3). */
static nvmm_status score_row(prep *p, const double *x, size_t row, double *s) {
  const size_t d = p->l.d;
  const nvmm_model *m = p->m;
  double *z = p->z, *a = p->a, *g = p->g;
  for (size_t i = 0; i < d; i++)
    z[i] = x[i] - m->mu[i];
  nvmm__trsv_lower(d, m->chol, z);
  double q = 0.0;
  for (size_t i = 0; i < d; i++)
    q += z[i] * z[i];
  NVMM_CHECK(isfinite(q), NVMM_EDOM, "stderr: row %zu is not finite", row);
  memcpy(a, z, d * sizeof *a);
  trsv_lower_t(d, m->chol, a); /* a = Sigma^-1 (x - mu) */
  double u = 1.0, v = 1.0, l = 0.0;
  if (p->latent)
    NVMM_CALL(posterior(p, q, row, &u, &v, &l));
  /* gamma = 0 makes g = 0: its products with v are 0 even where v is +inf. */
  double gv = p->pre.w2 > 0.0 ? v : 0.0;
  size_t o = 0;
  for (size_t i = 0; i < d; i++) /* d/dmu = Sigma^-1 E[r/Y] = a u - g */
    s[o++] = a[i] * u - g[i];
  for (size_t i = 0; i < p->l.ngam; i++) /* d/dgamma = Sigma^-1 E[r] = a - g v */
    s[o++] = a[i] - g[i] * gv;
  /* d/dSigma_ij: G_ii, and G_ij + G_ji = 2 G_ij below the diagonal, with
   * G = (Sigma^-1 E[r r'/Y] Sigma^-1 - Sigma^-1) / 2. */
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++) {
      double gij = 0.5 * (a[i] * a[j] * u - a[i] * g[j] - g[i] * a[j] + g[i] * g[j] * gv -
                          p->lam[i * d + j]);
      s[o++] = i == j ? gij : 2.0 * gij;
    }
  const double t[3] = {l, u, v};
  for (size_t k = 0; k < p->l.nsub; k++) { /* sum_j dtheta_j/dq (E[t_j|x] - E_q t_j) */
    double sk = 0.0;
    for (int j = 0; j < 3; j++)
      if (p->dt[k][j] != 0.0)
        sk += p->dt[k][j] * (t[j] - p->eta_q[j]);
    s[o++] = sk;
  }
  return NVMM_OK;
}

nvmm_status nvmm_score_rows(const nvmm_model *m, int symmetric, size_t n, const double *x,
                            double *scores) {
  NVMM_CHECK(x && scores, NVMM_EINVAL, "stderr: NULL rows or scores");
  NVMM_CALL(nvmm__model_dense(m, "nvmm_score_rows"));
  prep p;
  NVMM_CALL(prep_init(m, symmetric, &p));
  nvmm_status st = NVMM_OK;
  for (size_t i = 0; i < n && st == NVMM_OK; i++)
    st = score_row(&p, x + i * m->d, i, scores + i * p.l.npar);
  prep_free(&p);
  return st;
}

nvmm_status nvmm_score_tangent(const nvmm_model *m, int symmetric, double *v) {
  layout l;
  NVMM_CHECK(m && v && layout_of(m->family, m->d, symmetric, &l), NVMM_EINVAL, "stderr: bad model");
  NVMM_CALL(nvmm__model_dense(m, "nvmm_score_tangent"));
  size_t o = 0, d = m->d;
  memset(v, 0, l.npar * sizeof *v);
  if (!nvmm__latent(m->family))
    return NVMM_OK; /* no orbit */
  o += l.nmu;
  for (size_t i = 0; i < l.ngam; i++)
    v[o++] = -m->gamma[i];
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++)
      v[o++] = -m->sigma[i * d + j];
  const nvmm__family *fd = nvmm__family_of(m->family);
  for (size_t k = 0; k < l.nsub; k++)
    v[o++] = fd->par_scale[l.sub_idx[k]] * m->sub.par[l.sub_idx[k]];
  return NVMM_OK;
}

nvmm_status nvmm_score_constraint(const nvmm_model *m, int symmetric, nvmm_se_gauge g, double *c) {
  layout l;
  NVMM_CHECK(m && c && layout_of(m->family, m->d, symmetric, &l), NVMM_EINVAL, "stderr: bad model");
  NVMM_CALL(nvmm__model_dense(m, "nvmm_score_constraint"));
  memset(c, 0, l.npar * sizeof *c);
  size_t d = m->d, o = l.nmu + l.ngam;
  int latent = nvmm__latent(m->family);
  switch (g) {
  case NVMM_SE_GAUGE_NONE:
    NVMM_CHECK(!latent, NVMM_EINVAL, "stderr: the %s family needs a gauge",
               nvmm_family_name(m->family));
    return NVMM_OK;
  case NVMM_SE_GAUGE_LOGDET: { /* d log|Sigma| = tr(Sigma^-1 dSigma) */
    NVMM_CHECK(latent, NVMM_EINVAL, "stderr: the Gaussian has no gauge");
    prep p;
    NVMM_CALL(prep_init(m, symmetric, &p));
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j <= i; j++)
        c[o++] = (i == j ? 1.0 : 2.0) * p.lam[i * d + j];
    prep_free(&p);
    return NVMM_OK;
  }
  case NVMM_SE_GAUGE_AB: /* d (log a - log b) */
    NVMM_CHECK(m->sub.kind == NVMM_SUB_GIG && nvmm_score_sub_free(m->family, 1) &&
                   nvmm_score_sub_free(m->family, 2),
               NVMM_EINVAL, "stderr: the gauge log a - log b is the GIG's (GH, hyp)");
    for (size_t k = 0; k < l.nsub; k++) {
      int j = l.sub_idx[k];
      c[o + l.nsig + k] = j == 1 ? 1.0 / m->sub.par[1] : j == 2 ? -1.0 / m->sub.par[2] : 0.0;
    }
    return NVMM_OK;
  case NVMM_SE_GAUGE_MU_IG:
    NVMM_CHECK(m->family == NVMM_FAMILY_NIG, NVMM_EINVAL, "stderr: the gauge mu_ig is NIG's");
    c[o + l.nsig] = 1.0;
    return NVMM_OK;
  default:
    NVMM_ERROR(NVMM_EINVAL, "stderr: unknown gauge %d", (int)g);
  }
}

/* C = op(A) op(B) (n x m, row-major), summed over k in increasing order from 0.0: op(A) is A
 * (n x k) or, with ta, the transpose of A (k x n); op(B) is B (k x m) or, with tb, the transpose
 * of B (m x k). The matrices are small (the free parameters): plain loops, no BLAS. */
static void mat_mul(size_t n, size_t m, size_t k, const double *A, int ta, const double *B, int tb,
                    double *C) {
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < m; j++) {
      double s = 0.0;
      for (size_t r = 0; r < k; r++)
        s += (ta ? A[r * n + i] : A[i * k + r]) * (tb ? B[j * k + r] : B[r * m + j]);
      C[i * m + j] = s;
    }
}

static const char *gauge_base_name(nvmm_se_gauge g) {
  static const char *const names[NVMM_SE_GAUGE_COUNT] = {"none", "log_det_sigma",
                                                         "log_a_minus_log_b", "mu_ig"};
  return (unsigned)g < NVMM_SE_GAUGE_COUNT ? names[g] : "?";
}

void nvmm_stderr_free(nvmm_stderr **se) {
  if (!se || !*se)
    return;
  free((*se)->mu);
  free(*se);
  *se = NULL;
}

/* Inverts the symmetric positive definite k x k matrix a (row-major) in place, after Jacobi
 * scaling (theta's entries differ in units by orders of magnitude); work holds k * k + 2 k. */
static nvmm_status spd_inverse(size_t k, double *a, double *work) {
  double *l = work, *scale = work + k * k, *col = scale + k;
  for (size_t i = 0; i < k; i++) {
    if (!(a[i * k + i] > 0.0) || !isfinite(a[i * k + i]))
      return NVMM_EFACTOR;
    scale[i] = 1.0 / sqrt(a[i * k + i]);
  }
  for (size_t i = 0; i < k; i++)
    for (size_t j = 0; j < k; j++)
      a[i * k + j] *= scale[i] * scale[j];
  double logdet;
  NVMM_CALL(nvmm__cholesky(k, a, a, &logdet));
  /* Columns of L^-1 into l (row-major: l[i k + j] = (L^-1)_ij). */
  for (size_t j = 0; j < k; j++) {
    memset(col, 0, k * sizeof *col);
    col[j] = 1.0;
    nvmm__trsv_lower(k, a, col);
    for (size_t i = 0; i < k; i++)
      l[i * k + j] = col[i];
  }
  /* a^-1 = D L^-T L^-1 D. */
  for (size_t i = 0; i < k; i++)
    for (size_t j = 0; j <= i; j++) {
      double s = 0.0;
      for (size_t r = i; r < k; r++)
        s += l[r * k + i] * l[r * k + j];
      a[i * k + j] = a[j * k + i] = s * scale[i] * scale[j];
    }
  return NVMM_OK;
}

nvmm_status nvmm_stderr_from_opg(const nvmm_model *m, int symmetric, nvmm_se_gauge g,
                                 const double *J, const double *score, int64_t n,
                                 nvmm_stderr **out) {
  layout l;
  NVMM_CHECK(m && J && out && layout_of(m->family, m->d, symmetric, &l), NVMM_EINVAL,
             "stderr: bad arguments");
  NVMM_CALL(nvmm__model_dense(m, "nvmm_stderr_from_opg"));
  const size_t P = l.npar, d = m->d;
  const size_t nfree = g == NVMM_SE_GAUGE_NONE ? P : P - 1;
  nvmm_stderr *se = calloc(1, sizeof *se);
  double *buf = NULL;
  NVMM_CHECK(se, NVMM_ENOMEM, "stderr: out of memory");
  /* One allocation: mu, gamma, sigma, cov, score (owned by se->mu), then scratch. */
  size_t nres = 2 * d + d * d + P * P + P;
  se->mu = malloc(nres * sizeof *se->mu);
  buf = malloc((4 * P + 3 * P * P) * sizeof *buf);
  nvmm_status st = NVMM_OK;
  if (!se->mu || !buf) {
    st = NVMM_RAISE(NVMM_ENOMEM, "stderr: out of memory (%zu parameters)", P);
    goto fail;
  }
  se->family = m->family;
  se->d = d;
  se->symmetric = symmetric != 0;
  se->npar = P;
  se->nfree = nfree;
  se->n = n;
  se->method = "opg-fisher-identity";
  se->gauge = g;
  se->gauge_name = gauge_base_name(g);
  se->gamma = l.ngam ? se->mu + d : NULL;
  se->sigma = se->mu + 2 * d;
  se->cov = se->sigma + d * d;
  se->score = se->cov + P * P;
  if (score)
    memcpy(se->score, score, P * sizeof *score);
  else
    memset(se->score, 0, P * sizeof *se->score);
  /* W holds P x nfree, and spd_inverse's nfree^2 + 2 nfree <= P^2 + 2P. */
  double *c = buf, *v = buf + P, *M = buf + 2 * P, *W = M + P * P, *Z = W + P * P + 2 * P;
  /* Z (P x nfree, row-major): the identity, or e_j - (c_j / c_k) e_k for j != k with k the
   * entry that moves most along the orbit, |c_k v_k| largest (c'v != 0, src/numerics.md 14.4). */
  memset(Z, 0, P * nfree * sizeof *Z);
  if (g == NVMM_SE_GAUGE_NONE) {
    for (size_t j = 0; j < P; j++)
      Z[j * nfree + j] = 1.0;
  } else {
    if ((st = nvmm_score_constraint(m, symmetric, g, c)) != NVMM_OK ||
        (st = nvmm_score_tangent(m, symmetric, v)) != NVMM_OK)
      goto fail;
    size_t kk = 0;
    for (size_t j = 1; j < P; j++)
      if (fabs(c[j] * v[j]) > fabs(c[kk] * v[kk]))
        kk = j;
    if (!(fabs(c[kk] * v[kk]) > 0.0)) {
      st = NVMM_RAISE(NVMM_EINVAL, "stderr: the gauge %s does not cut the scale orbit",
                      gauge_base_name(g));
      goto fail;
    }
    for (size_t j = 0, col = 0; j < P; j++) {
      if (j == kk)
        continue;
      Z[j * nfree + col] = 1.0;
      Z[kk * nfree + col] = -c[j] / c[kk];
      col++;
    }
  }
  /* W = J Z (P x nfree), M = Z' W (nfree x nfree). */
  mat_mul(P, nfree, P, J, 0, Z, 0, W);
  mat_mul(nfree, nfree, P, Z, 1, W, 0, M);
  for (size_t i = 0; i < nfree; i++) /* exactly symmetric */
    for (size_t j = 0; j < i; j++)
      M[i * nfree + j] = M[j * nfree + i] = 0.5 * (M[i * nfree + j] + M[j * nfree + i]);
  st = spd_inverse(nfree, M, W);
  if (st == NVMM_EFACTOR) {
    st = NVMM_RAISE(NVMM_EFACTOR,
                    "stderr: the information matrix is singular in the gauge %s (too few rows, "
                    "or a parameter the data do not identify)",
                    gauge_base_name(g));
    goto fail;
  }
  if (st != NVMM_OK)
    goto fail;
  /* Cov = Z M^-1 Z': W = Z M^-1 (P x nfree), then Cov = W Z'. */
  mat_mul(P, nfree, nfree, Z, 0, M, 0, W);
  mat_mul(P, P, nfree, W, 0, Z, 1, se->cov);
  size_t o = 0;
  for (size_t i = 0; i < d; i++, o++)
    se->mu[i] = sqrt(se->cov[o * P + o]);
  for (size_t i = 0; i < l.ngam; i++, o++)
    se->gamma[i] = sqrt(se->cov[o * P + o]);
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++, o++)
      se->sigma[i * d + j] = se->sigma[j * d + i] = sqrt(se->cov[o * P + o]);
  se->sub[0] = se->sub[1] = se->sub[2] = NAN;
  for (size_t k = 0; k < l.nsub; k++, o++)
    se->sub[l.sub_idx[k]] = sqrt(se->cov[o * P + o]);
  free(buf);
  *out = se;
  return NVMM_OK;
fail:
  free(buf);
  nvmm_stderr_free(&se);
  return st;
}

/* The pass (src/numerics.md 14.5): the block function receives the model pointer, which points
 * at the first member of this context (a valid conversion), so it finds its workspace without a
 * field in the fit. */
typedef struct pass_ctx {
  nvmm_model m; /* the user-unit model (first member) */
  prep p;
  double *S;    /* chunk x npar scores */
  double *C;    /* npar x npar Gram (column-major upper) */
  size_t chunk; /* rows per Gram update */
} pass_ctx;

/* Rows per DSYRK of the scores: 256 x npar doubles stay in cache for small npar; the sums
 * depend only on the block (fixed), not on the rank. */
#define SCORE_CHUNK 256

/* One block's sums: [rows, sum s (P), sum s s' (P(P+1)/2, lower by rows)]. */
static nvmm_status block_score(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                               const double *xb, double *out) {
  pass_ctx *cx = (pass_ctx *)(void *)m;
  const size_t P = cx->p.l.npar, d = f->d;
  out[0] += (double)rows;
  for (size_t r = 0; r < rows; r += cx->chunk) {
    size_t nr = rows - r < cx->chunk ? rows - r : cx->chunk;
    for (size_t i = 0; i < nr; i++) {
      nvmm_status st = score_row(&cx->p, xb + (r + i) * d, (size_t)row0 + r + i, cx->S + i * P);
      if (st != NVMM_OK)
        return st;
      for (size_t k = 0; k < P; k++)
        out[1 + k] += cx->S[i * P + k];
    }
    nvmm__gram(P, nr, cx->S, 0.0, cx->C);
    nvmm__add_packed(P, cx->C, out + 1 + P);
  }
  return NVMM_OK;
}

/* 256 MiB: the same ceiling the start's shared passes put on the reduction buffers. */
#define ACC_BYTES_MAX (256.0 * 1024.0 * 1024.0)

static nvmm_se_gauge fit_gauge(const nvmm_fit *f, const char **note) {
  *note = NULL;
  if (!nvmm__latent(f->o.family))
    return NVMM_SE_GAUGE_NONE;
  nvmm_regularization r = f->gauge_switched ? NVMM_REG_DET_SIGMA_ONE : f->o.regularization;
  if (r == NVMM_REG_DET_SIGMA_ONE || r == NVMM_REG_DET_SIGMA_X)
    return NVMM_SE_GAUGE_LOGDET;
  if (r == NVMM_REG_A_EQ_B && nvmm_family_sub_kind(f->o.family) == NVMM_SUB_GIG)
    return NVMM_SE_GAUGE_AB;
  if (r == NVMM_REG_A_EQ_B && f->o.family == NVMM_FAMILY_NIG)
    return NVMM_SE_GAUGE_MU_IG;
  *note = r == NVMM_REG_NONE ? "log_det_sigma (default: regularization none fixes no gauge)"
                             : "log_det_sigma (default: a_eq_b fixes no gauge for this family)";
  return NVMM_SE_GAUGE_LOGDET;
}

nvmm_status nvmm_fit_stderr(nvmm_fit *f, nvmm_stderr **out) {
  NVMM_CHECK(f && out, NVMM_EINVAL, "stderr: fit and output must not be NULL");
  *out = NULL;
  NVMM_CHECK(f->o.factors == 0, NVMM_EINVAL,
             "stderr: not for a factor fit (factors = %lld) yet: its model has no dense Sigma",
             (long long)f->o.factors);
  NVMM_CHECK(f->o.shrink == NVMM_SHRINK_NONE, NVMM_EINVAL,
             "stderr: not with shrinkage (option shrink, config key shrinkage): a MAP fit's "
             "information is not the "
             "likelihood's");
  NVMM_CHECK(f->o.algorithm != NVMM_ALG_INCREMENTAL || f->o.finish, NVMM_EINVAL,
             "stderr: incremental EM without its batch finish (option finish = 0) does not end "
             "at the MLE");
  double t0 = MPI_Wtime();
  pass_ctx cx;
  memset(&cx, 0, sizeof cx);
  layout l;
  NVMM_CHECK(layout_of(f->o.family, f->d, f->o.symmetric, &l), NVMM_EINVAL, "stderr: bad fit");
  const size_t P = l.npar, len = 1 + P + P * (P + 1) / 2, L = NVMM_XSUM_LIMBS;
  NVMM_CHECK((double)len * (double)L * 8.0 <= ACC_BYTES_MAX, NVMM_EINVAL,
             "stderr: %zu parameters need %.0f MiB of exact accumulators (at most 256)", P,
             (double)len * (double)L * 8.0 / 1048576.0);
  /* Local failures (memory) are agreed before the pass, so no rank waits in it alone. */
  nvmm_model *um = NULL;
  int64_t *acc = NULL;
  int32_t *win = NULL;
  int8_t *sign = NULL;
  double *dbuf = NULL;
  nvmm_status st = nvmm_model_alloc(f->o.family, f->d, &um);
  if (st == NVMM_OK)
    st = nvmm_fit_model(f, um);
  if (st == NVMM_OK) {
    cx.m = *um; /* shallow: um owns the arrays */
    st = prep_init(&cx.m, f->o.symmetric, &cx.p);
  }
  cx.chunk = SCORE_CHUNK;
  if (st == NVMM_OK) {
    /* The reduction's buffers, sized for len statistics, stand in for the fit's for this pass. */
    acc = malloc(2 * len * L * sizeof *acc);
    win = malloc((2 * len + 2) * sizeof *win);
    sign = malloc(len * sizeof *sign);
    dbuf = malloc((2 * len + cx.chunk * P + P * P + P * P) * sizeof *dbuf);
    if (!acc || !win || !sign || !dbuf)
      st = NVMM_RAISE(NVMM_ENOMEM, "stderr: out of memory (%zu parameters)", P);
  }
  st = nvmm_agree(f->comm, st);
  if (st == NVMM_OK) {
    double *bstats = dbuf, *sums = dbuf + len, *J = sums + len + cx.chunk * P + P * P;
    cx.S = sums + len;
    cx.C = cx.S + cx.chunk * P;
    int64_t *f_acc = f->acc, *f_packed = f->packed;
    int32_t *f_win = f->win;
    int8_t *f_sign = f->sign;
    double *f_bstats = f->bstats, f_tm = f->t_moments, f_rb = f->reduce_bytes;
    int f_passes = f->passes, f_stop = f->stop_seen;
    f->acc = acc;
    f->packed = acc + len * L;
    f->win = win;
    f->sign = sign;
    f->bstats = bstats;
    st = nvmm__reduce_blocks(f, &cx.m, len, block_score, sums);
    f->acc = f_acc, f->packed = f_packed, f->win = f_win, f->sign = f_sign, f->bstats = f_bstats;
    /* The fit's summary describes the fit: this pass is the result's (se->elapsed). */
    f->t_moments = f_tm, f->reduce_bytes = f_rb, f->passes = f_passes, f->stop_seen = f_stop;
    if (st == NVMM_OK) {
      const double *pk = sums + 1 + P;
      for (size_t j = 0; j < P; j++)
        for (size_t k = 0; k <= j; k++)
          J[j * P + k] = J[k * P + j] = pk[j * (j + 1) / 2 + k];
      const char *note;
      nvmm_se_gauge g = fit_gauge(f, &note);
      /* The same inputs on every rank: the same result, but for a local lack of memory. */
      st = nvmm_agree(
          f->comm, nvmm_stderr_from_opg(um, f->o.symmetric, g, J, sums + 1, (int64_t)sums[0], out));
      if (st == NVMM_OK && note)
        (*out)->gauge_name = note;
      else if (st != NVMM_OK)
        nvmm_stderr_free(out);
    }
  }
  free(acc);
  free(win);
  free(sign);
  free(dbuf);
  prep_free(&cx.p);
  nvmm_model_free(&um);
  if (st == NVMM_OK)
    (*out)->elapsed = MPI_Wtime() - t0;
  return st;
}

static nvmm_status write_group(hid_t grp, const nvmm_stderr *se, const char *path) {
  hsize_t d = se->d, dims2[2] = {d, d}, dimsc[2] = {se->npar, se->npar}, one = 1;
  NVMM_CALL(nvmm__h5_put_attr_str(grp, "method", se->method, path));
  NVMM_CALL(nvmm__h5_put_attr_str(grp, "gauge", se->gauge_name, path));
  NVMM_CALL(nvmm__h5_put_array(grp, "mu", 1, &d, se->mu, path));
  if (se->gamma)
    NVMM_CALL(nvmm__h5_put_array(grp, "gamma", 1, &d, se->gamma, path));
  NVMM_CALL(nvmm__h5_put_array(grp, "sigma", 2, dims2, se->sigma, path));
  const nvmm__family *fd = nvmm__family_of(se->family);
  for (int k = 0; k < fd->info.nsub; k++)
    if (nvmm_score_sub_free(se->family, k))
      NVMM_CALL(nvmm__h5_put_array(grp, fd->info.sub_par[k], 0, &one, &se->sub[k], path));
  NVMM_CALL(nvmm__h5_put_array(grp, "cov", 2, dimsc, se->cov, path));
  char **names = malloc(se->npar * (sizeof(char *) + 32));
  NVMM_CHECK(names, NVMM_ENOMEM, "stderr: out of memory");
  char *txt = (char *)(names + se->npar);
  nvmm_status st = NVMM_OK;
  for (size_t k = 0; k < se->npar && st == NVMM_OK; k++) {
    names[k] = txt + 32 * k;
    st = nvmm_score_name(se->family, se->d, se->symmetric, k, names[k], 32);
  }
  if (st == NVMM_OK) {
    hid_t ds = H5Dopen2(grp, "cov", H5P_DEFAULT);
    if (ds < 0) {
      st = NVMM_RAISE(NVMM_EIO, "cannot reopen /stderr/cov in '%s'", path);
    } else {
      char what[512];
      snprintf(what, sizeof what, "/stderr/cov of '%s'", path);
      st = nvmm__h5_write_strings(ds, "names", what, (const char *const *)names, se->npar);
      (void)H5Dclose(ds);
    }
  }
  free(names);
  return st;
}

nvmm_status nvmm_stderr_write(const char *path, const nvmm_stderr *se) {
  NVMM_CHECK(path && se, NVMM_EINVAL, "stderr: NULL path or result");
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  nvmm_status st = NVMM_OK;
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) {
    char cause[256];
    nvmm__h5_cause(cause, sizeof cause);
    st = NVMM_RAISE(NVMM_EIO, "cannot open model file '%s' to add /stderr%s", path, cause);
  } else {
    H5E_BEGIN_TRY { (void)H5Ldelete(file, "stderr", H5P_DEFAULT); }
    H5E_END_TRY;
    hid_t grp = H5Gcreate2(file, "stderr", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (grp < 0) {
      st = NVMM_RAISE(NVMM_EIO, "cannot create group /stderr in '%s'", path);
    } else {
      st = write_group(grp, se, path);
      if (H5Gclose(grp) < 0 && st == NVMM_OK)
        st = NVMM_RAISE(NVMM_EIO, "cannot close group /stderr in '%s'", path);
    }
    if (H5Fclose(file) < 0 && st == NVMM_OK)
      st = NVMM_RAISE(NVMM_EIO, "cannot close '%s' after adding /stderr", path);
  }
  nvmm__h5_quiet_end(&q);
  return st;
}
