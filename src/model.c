/* model.c: the five families as one model type: names, construction and validation, the
 * marginal and joint log-densities, the scale orbit and its regularizations, moments and the
 * moment-based initialization (src/numerics.md 1.2, 2.6, 3.2, 3.3, 6 and 7.3). */
#include "nvmm/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "family.h"
#include "gig_impl.h"
#include "linalg.h"
#include "model_impl.h"
#include "nvmm/factor.h"

static const char *const reg_names[NVMM_REG_COUNT] = {"none", "det_sigma_one", "det_sigma_x",
                                                      "a_eq_b"};

/* Relative asymmetry of Sigma tolerated on input (it is symmetrized): a few roundings of a
 * matrix that was computed as symmetric, far below any statistical meaning. */
#define SYMMETRY_RTOL 1e-10

const char *nvmm_family_name(nvmm_family f) {
  const nvmm__family *fd = nvmm__family_of(f);
  return fd ? fd->info.name : "unknown";
}

nvmm_status nvmm_family_parse(const char *name, nvmm_family *f) {
  NVMM_CHECK(name && f, NVMM_EINVAL, "family name is NULL");
  char expected[128] = "";
  for (int i = 0; i < NVMM_FAMILY_COUNT; i++) {
    if (strcmp(name, nvmm__families[i].info.name) == 0) {
      *f = (nvmm_family)i;
      return NVMM_OK;
    }
    size_t used = strlen(expected);
    snprintf(expected + used, sizeof expected - used, "%s%s",
             i == 0                      ? ""
             : i + 1 < NVMM_FAMILY_COUNT ? ", "
                                         : " or ",
             nvmm__families[i].info.name);
  }
  NVMM_ERROR(NVMM_EINVAL, "unknown family '%s' (expected %s)", name, expected);
}

nvmm_sub_kind nvmm_family_sub_kind(nvmm_family f) {
  const nvmm__family *fd = nvmm__family_of(f);
  return fd ? fd->info.sub_kind : NVMM_SUB_DEGENERATE;
}

const char *nvmm_regularization_name(nvmm_regularization r) {
  return (unsigned)r < NVMM_REG_COUNT ? reg_names[r] : "unknown";
}

nvmm_status nvmm_regularization_parse(const char *name, nvmm_regularization *r) {
  NVMM_CHECK(name && r, NVMM_EINVAL, "regularization name is NULL");
  for (int i = 0; i < NVMM_REG_COUNT; i++)
    if (strcmp(name, reg_names[i]) == 0) {
      *r = (nvmm_regularization)i;
      return NVMM_OK;
    }
  NVMM_ERROR(NVMM_EINVAL,
             "unknown regularization '%s' (expected none, det_sigma_one, det_sigma_x or "
             "a_eq_b)",
             name);
}

/* The family's default subordinator, scaled to E[Y] = 1 so that Sigma is the covariance of X
 * when gamma = 0 (normix used unscaled defaults, src/numerics.md 7.3; with E[Y] = 1 the moment init
 * reproduces the sample covariance exactly). */
static nvmm_status default_sub(nvmm_family family, size_t d, nvmm_sub *sub) {
  const nvmm__family *fd = nvmm__family_of(family);
  double q[3] = {fd->start[0], fd->start[1], fd->start[2]};
  if (fd->fixed_par0)
    q[0] = fd->fixed_par0(d);
  NVMM_CALL(nvmm_sub_make(fd->info.sub_kind, q, sub));
  if (fd->start_unit_mean) {
    double m1;
    NVMM_CALL(nvmm_sub_moment(sub, 1.0, &m1));
    NVMM_CALL(nvmm_sub_rescale(sub, 1.0 / m1));
  }
  return NVMM_OK;
}

nvmm_status nvmm_model_alloc(nvmm_family family, size_t d, nvmm_model **out) {
  NVMM_CHECK(out, NVMM_EINVAL, "output pointer is NULL");
  *out = NULL;
  NVMM_CHECK((unsigned)family < NVMM_FAMILY_COUNT, NVMM_EINVAL, "invalid family %d", (int)family);
  NVMM_CHECK(d >= 1 && d <= 1u << 20, NVMM_EINVAL, "dimension d = %zu must be in [1, 2^20]", d);
  nvmm_model *m = calloc(1, sizeof *m);
  double *buf = calloc(2 * d + 3 * d * d, sizeof *buf);
  if (!m || !buf) {
    free(m);
    free(buf);
    NVMM_ERROR(NVMM_ENOMEM, "cannot allocate a model of dimension %zu", d);
  }
  m->family = family;
  m->d = d;
  m->mu = buf;
  m->gamma = buf + d;
  m->sigma = buf + 2 * d;
  m->chol = buf + 2 * d + d * d;
  for (size_t i = 0; i < d; i++)
    m->sigma[i * d + i] = m->chol[i * d + i] = 1.0;
  m->logdet = 0.0;
  nvmm_status st = default_sub(family, d, &m->sub);
  if (st != NVMM_OK) {
    nvmm_model_free(&m);
    return st;
  }
  *out = m;
  return NVMM_OK;
}

nvmm_status nvmm_model_alloc_factor(nvmm_family family, size_t d, size_t r, nvmm_model **out) {
  NVMM_CHECK(out, NVMM_EINVAL, "output pointer is NULL");
  *out = NULL;
  NVMM_CHECK((unsigned)family < NVMM_FAMILY_COUNT, NVMM_EINVAL, "invalid family %d", (int)family);
  NVMM_CHECK(d >= 1 && d <= 1u << 20, NVMM_EINVAL, "dimension d = %zu must be in [1, 2^20]", d);
  nvmm_model *m = calloc(1, sizeof *m);
  double *buf = calloc(2 * d, sizeof *buf);
  nvmm_status st =
      m && buf ? NVMM_OK
               : NVMM_RAISE(NVMM_ENOMEM, "cannot allocate a factor model of dimension %zu", d);
  if (m) {
    m->family = family;
    m->d = d;
    m->mu = buf;
    m->gamma = buf ? buf + d : NULL;
  } else
    free(buf);
  /* No dense Sigma nor L: F = 0 and D = 1 (Sigma = I), log|Sigma| = 0 (src/numerics.md 3.4). */
  if (st == NVMM_OK)
    st = nvmm_factor_alloc(d, r, &m->factor);
  if (st == NVMM_OK)
    st = default_sub(family, d, &m->sub);
  if (st != NVMM_OK) {
    nvmm_model_free(&m);
    return st;
  }
  *out = m;
  return NVMM_OK;
}

nvmm_status nvmm__model_dense(const nvmm_model *m, const char *what) {
  NVMM_CHECK(m, NVMM_EINVAL, "%s: model is NULL", what);
  NVMM_CHECK(m->sigma, NVMM_EINVAL,
             "%s needs a dense Sigma, and this is a factor-only model (d = %zu, %zu factors; "
             "src/numerics.md 3.4): use the factor kernels (nvmm/factor.h)",
             what, m->d, m->factor ? m->factor->r : (size_t)0);
  return NVMM_OK;
}

nvmm_status nvmm__model_default_sub(nvmm_family family, size_t d, nvmm_sub *sub) {
  return default_sub(family, d, sub);
}

void nvmm_model_free(nvmm_model **m) {
  if (!m || !*m)
    return;
  free((*m)->mu);
  nvmm_factor_free(&(*m)->factor);
  free(*m);
  *m = NULL;
}

static nvmm_status check_vector(const char *name, size_t d, const double *v) {
  for (size_t i = 0; i < d; i++)
    NVMM_CHECK(isfinite(v[i]), NVMM_EDOM, "%s[%zu] = %g is not finite", name, i, v[i]);
  return NVMM_OK;
}

static nvmm_status check_sigma(size_t d, const double *s) {
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++) {
      double a = s[i * d + j], b = s[j * d + i];
      NVMM_CHECK(isfinite(a) && isfinite(b), NVMM_EDOM, "sigma[%zu][%zu] is not finite", i, j);
      NVMM_CHECK(fabs(a - b) <= SYMMETRY_RTOL * (fabs(a) + fabs(b)), NVMM_EDOM,
                 "sigma is not symmetric: sigma[%zu][%zu] = %g but sigma[%zu][%zu] = %g", i, j, a,
                 j, i, b);
    }
  return NVMM_OK;
}

/* nvmm_model_set without touching the factor part. */
/* The checks of mu, gamma and the subordinator that every setter makes. */
static nvmm_status check_params(const nvmm_model *m, const double *mu, const double *gamma,
                                const nvmm_sub *sub) {
  size_t d = m->d;
  NVMM_CALL(check_vector("mu", d, mu));
  if (gamma) {
    NVMM_CALL(check_vector("gamma", d, gamma));
    if (!nvmm__latent(m->family))
      for (size_t i = 0; i < d; i++)
        NVMM_CHECK(gamma[i] == 0.0, NVMM_EINVAL, "the Gaussian family has gamma = 0");
  }
  const nvmm_family_info *fi = &nvmm__family_of(m->family)->info;
  NVMM_CHECK(sub->kind == fi->sub_kind, NVMM_EINVAL,
             "family %s needs subordinator kind %d (%s), got %d", fi->name, (int)fi->sub_kind,
             fi->sub_title, (int)sub->kind);
  NVMM_CALL(nvmm_sub_validate(sub));
  const nvmm__family *fd = nvmm__family_of(m->family);
  NVMM_CHECK(!fd->fixed_par0 || sub->par[0] == fd->fixed_par0(d), NVMM_EINVAL,
             "family %s fixes %s = %g at d = %zu, got %.17g", fi->name, fd->par_msg[0],
             fd->fixed_par0(d), d, sub->par[0]);
  return NVMM_OK;
}

static nvmm_status set_dense(nvmm_model *m, const double *mu, const double *gamma,
                             const double *sigma, const nvmm_sub *sub) {
  NVMM_CHECK(m && mu && sigma && sub, NVMM_EINVAL, "model, mu, sigma and sub must not be NULL");
  NVMM_CALL(nvmm__model_dense(m, "nvmm_model_set"));
  NVMM_CALL(check_params(m, mu, gamma, sub));
  size_t d = m->d;
  NVMM_CALL(check_sigma(d, sigma));
  /* Factorize a symmetrized copy in the model's scratch first, so that on failure the model
   * is unchanged. */
  double *w = m->chol + d * d, logdet;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++)
      w[i * d + j] = 0.5 * (sigma[i * d + j] + sigma[j * d + i]);
  NVMM_CHECK(nvmm__cholesky(d, w, w, &logdet) == NVMM_OK, NVMM_EFACTOR,
             "sigma is not positive definite");
  memcpy(m->chol, w, d * d * sizeof *w);
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++)
      m->sigma[i * d + j] = 0.5 * (sigma[i * d + j] + sigma[j * d + i]);
  memcpy(m->mu, mu, d * sizeof *mu);
  if (gamma)
    memcpy(m->gamma, gamma, d * sizeof *gamma);
  else
    memset(m->gamma, 0, d * sizeof *m->gamma);
  m->logdet = logdet;
  m->sub = *sub;
  return NVMM_OK;
}

nvmm_status nvmm_model_set(nvmm_model *m, const double *mu, const double *gamma,
                           const double *sigma, const nvmm_sub *sub) {
  NVMM_CALL(set_dense(m, mu, gamma, sigma, sub));
  nvmm_factor_free(&m->factor); /* a dense Sigma: the model is no factor model any more */
  return NVMM_OK;
}

nvmm_status nvmm_model_set_factor(nvmm_model *m, const double *mu, const double *gamma, size_t r,
                                  const double *f, const double *dd, const nvmm_sub *sub) {
  NVMM_CHECK(m && mu && f && dd && sub, NVMM_EINVAL, "model, mu, F, D and sub must not be NULL");
  size_t d = m->d;
  nvmm_factor *fa = NULL;
  if (!m->sigma) {
    /* A factor-only model: F and D are its dispersion, O(d r^2) work and no d x d memory. */
    NVMM_CALL(check_params(m, mu, gamma, sub));
    if (m->factor->r != r) {
      NVMM_CALL(nvmm_factor_alloc(d, r, &fa));
      nvmm_status st = nvmm_factor_set(fa, f, dd);
      if (st != NVMM_OK) {
        nvmm_factor_free(&fa);
        return st;
      }
      nvmm_factor_free(&m->factor);
      m->factor = fa;
    } else
      NVMM_CALL(nvmm_factor_set(m->factor, f, dd));
    memcpy(m->mu, mu, d * sizeof *mu);
    if (gamma)
      memcpy(m->gamma, gamma, d * sizeof *gamma);
    else
      memset(m->gamma, 0, d * sizeof *m->gamma);
    m->logdet = m->factor->logdet;
    m->sub = *sub;
    return NVMM_OK;
  }
  double *sigma = NULL;
  nvmm_status st = nvmm_factor_alloc(d, r, &fa);
  if (st == NVMM_OK)
    st = nvmm_factor_set(fa, f, dd);
  if (st == NVMM_OK) {
    sigma = malloc(d * d * sizeof *sigma);
    st = sigma ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "cannot allocate a %zu x %zu Sigma", d, d);
  }
  if (st == NVMM_OK)
    st = nvmm_factor_dense(fa, sigma);
  if (st == NVMM_OK)
    st = set_dense(m, mu, gamma, sigma, sub);
  free(sigma);
  if (st != NVMM_OK) {
    nvmm_factor_free(&fa);
    return st;
  }
  nvmm_factor_free(&m->factor);
  m->factor = fa;
  return NVMM_OK;
}

nvmm_status nvmm_model_copy(nvmm_model *dst, const nvmm_model *src) {
  NVMM_CHECK(dst && src, NVMM_EINVAL, "model is NULL");
  NVMM_CHECK(dst->d == src->d && dst->family == src->family, NVMM_EINVAL,
             "cannot copy a %s model of dimension %zu into a %s model of dimension %zu",
             nvmm_family_name(src->family), src->d, nvmm_family_name(dst->family), dst->d);
  if (dst == src)
    return NVMM_OK;
  size_t d = src->d;
  NVMM_CHECK(!src->sigma == !dst->sigma, NVMM_EINVAL,
             "cannot copy a %s model into a %s one (d = %zu): set it with "
             "nvmm_model_set_factor instead",
             src->sigma ? "dense" : "factor-only", dst->sigma ? "dense" : "factor-only", d);
  if (src->factor && (!dst->factor || dst->factor->r != src->factor->r)) {
    nvmm_factor *fa;
    NVMM_CALL(nvmm_factor_alloc(d, src->factor->r, &fa));
    nvmm_factor_free(&dst->factor);
    dst->factor = fa;
  }
  if (src->factor)
    NVMM_CALL(nvmm_factor_copy(dst->factor, src->factor));
  else
    nvmm_factor_free(&dst->factor);
  /* mu, gamma (and sigma, chol) contiguous */
  memcpy(dst->mu, src->mu, (2 * d + (src->sigma ? 2 * d * d : 0)) * sizeof *dst->mu);
  dst->logdet = src->logdet;
  dst->sub = src->sub;
  return NVMM_OK;
}

nvmm_status nvmm__model_pre(const nvmm_model *m, double *w, nvmm__pre *pre) {
  size_t d = m->d;
  pre->c0 = -0.5 * (double)d * log(2.0 * M_PI) - 0.5 * m->logdet;
  memcpy(w, m->gamma, d * sizeof *w);
  nvmm__trsv_lower(d, m->chol, w);
  double w2 = 0.0;
  for (size_t i = 0; i < d; i++)
    w2 += w[i] * w[i];
  pre->w2 = w2;
  return nvmm__model_pre_sub(m, pre);
}

nvmm_status nvmm__model_pre_sub(const nvmm_model *m, nvmm__pre *pre) {
  if (!nvmm__latent(m->family)) {
    pre->p = pre->a = pre->b = pre->lnorm = 0.0;
    return NVMM_OK;
  }
  NVMM_CALL(nvmm_sub_to_gig(&m->sub, &pre->p, &pre->a, &pre->b));
  return nvmm__log_gig_integral(pre->p, pre->a, pre->b, &pre->lnorm);
}

nvmm_status nvmm__model_logf(const nvmm_model *m, const nvmm__pre *pre, double q, double zw,
                             double *logf) {
  if (!nvmm__latent(m->family)) {
    *logf = pre->c0 - 0.5 * q;
    return NVMM_OK;
  }
  /* log f = c0 + zw + I(p - d/2, a + w2, b + q) - I(p, a, b) (src/numerics.md 3.1-3.2): one
   * formula for the four families through their GIG embeddings. */
  double lpost;
  NVMM_CALL(
      nvmm__log_gig_integral(pre->p - 0.5 * (double)m->d, pre->a + pre->w2, pre->b + q, &lpost));
  *logf = pre->c0 + zw + lpost - pre->lnorm;
  return NVMM_OK;
}

double nvmm__model_row(const nvmm_model *m, const double *x, const double *w, double *z,
                       double *zw) {
  size_t d = m->d;
  for (size_t i = 0; i < d; i++)
    z[i] = x[i] - m->mu[i];
  nvmm__trsv_lower(d, m->chol, z);
  double q = 0.0, s = 0.0;
  for (size_t i = 0; i < d; i++) {
    q += z[i] * z[i];
    s += z[i] * w[i];
  }
  *zw = s;
  return q;
}

nvmm_status nvmm_model_logpdf(const nvmm_model *m, size_t n, const double *x, double *out,
                              double *scratch) {
  NVMM_CHECK(m && (x || n == 0) && (out || n == 0) && scratch, NVMM_EINVAL,
             "model, x, out and scratch must not be NULL");
  /* A factor-only model's Woodbury kernel needs 2 (d + r) doubles of scratch, more than this
   * function's contract of 2 d: its callers call nvmm_factor_logpdf (src/numerics.md 3.4). */
  NVMM_CALL(nvmm__model_dense(m, "nvmm_model_logpdf"));
  size_t d = m->d;
  double *w = scratch, *z = scratch + d;
  nvmm__pre pre;
  NVMM_CALL(nvmm__model_pre(m, w, &pre));
  for (size_t i = 0; i < n; i++) {
    double zw, q = nvmm__model_row(m, x + i * d, w, z, &zw);
    NVMM_CHECK(isfinite(q), NVMM_EDOM, "row %zu of x is not finite", i);
    NVMM_CALL(nvmm__model_logf(m, &pre, q, zw, &out[i]));
  }
  return NVMM_OK;
}

nvmm_status nvmm_model_logpdf_joint(const nvmm_model *m, const double *x, double y, double *out,
                                    double *scratch) {
  NVMM_CHECK(m && x && out && scratch, NVMM_EINVAL, "model, x, out and scratch must not be NULL");
  NVMM_CHECK(nvmm__latent(m->family), NVMM_EINVAL, "the Gaussian family has no latent variable");
  NVMM_CHECK(y > 0 && isfinite(y), NVMM_EDOM, "y = %g must be positive and finite", y);
  NVMM_CALL(nvmm__model_dense(m, "nvmm_model_logpdf_joint"));
  size_t d = m->d;
  double *w = scratch, *z = scratch + d;
  nvmm__pre pre;
  NVMM_CALL(nvmm__model_pre(m, w, &pre));
  double zw, q = nvmm__model_row(m, x, w, z, &zw);
  double ly = log(y);
  /* log N(x; mu + gamma y, y Sigma) + log f_Y(y) (src/numerics.md 3.3). */
  double cond = pre.c0 - 0.5 * (double)d * ly - 0.5 * q / y + zw - 0.5 * y * pre.w2;
  double prior = (pre.p - 1.0) * ly - 0.5 * (pre.a * y + pre.b / y) - pre.lnorm;
  *out = cond + prior;
  return NVMM_OK;
}

nvmm_status nvmm_model_rescale(nvmm_model *m, double s) {
  NVMM_CHECK(m, NVMM_EINVAL, "model is NULL");
  NVMM_CHECK(s > 0 && isfinite(s), NVMM_EDOM, "scale s = %g must be positive and finite", s);
  NVMM_CHECK(nvmm__latent(m->family), NVMM_EINVAL, "the Gaussian family has no scale orbit");
  /* (mu, gamma / s, Sigma / s, sY) has the law of (mu, gamma, Sigma, Y) (src/numerics.md 6.1). */
  nvmm_sub sub = m->sub;
  NVMM_CALL(nvmm_sub_rescale(&sub, s));
  size_t d = m->d;
  double rs = 1.0 / sqrt(s);
  for (size_t i = 0; i < d; i++) {
    m->gamma[i] /= s;
    for (size_t j = 0; j < d && m->sigma; j++) {
      m->sigma[i * d + j] /= s;
      m->chol[i * d + j] *= rs;
    }
  }
  m->logdet -= (double)d * log(s);
  m->sub = sub;
  return m->factor ? nvmm_factor_rescale(m->factor, s) : NVMM_OK;
}

nvmm_status nvmm_model_regularize_scale(const nvmm_model *m, nvmm_regularization r,
                                        double target_logdet, double *s, int *apply) {
  NVMM_CHECK(m && s && apply, NVMM_EINVAL, "model, s and apply must not be NULL");
  NVMM_CHECK((unsigned)r < NVMM_REG_COUNT, NVMM_EINVAL, "invalid regularization %d", (int)r);
  NVMM_CHECK(isfinite(target_logdet), NVMM_EDOM, "target log-determinant %g is not finite",
             target_logdet);
  *s = 1.0;
  *apply = 0;
  /* The Gaussian law is identified: every gauge fix is the identity. */
  if (r == NVMM_REG_NONE || !nvmm__latent(m->family))
    return NVMM_OK;
  double d = (double)m->d;
  switch (r) {
  case NVMM_REG_DET_SIGMA_ONE:
    *s = exp(m->logdet / d);
    break;
  case NVMM_REG_DET_SIGMA_X:
    *s = exp((m->logdet - target_logdet) / d);
    break;
  case NVMM_REG_A_EQ_B: {
    /* GH: a = b; NIG: mu_ig = 1; the identity where the family has no such gauge. */
    double (*scale)(const double q[3]) = nvmm__family_of(m->family)->a_eq_b_scale;
    if (!scale)
      return NVMM_OK;
    *s = scale(m->sub.par);
    break;
  }
  default:
    return NVMM_OK;
  }
  *apply = 1;
  return NVMM_OK;
}

nvmm_status nvmm_model_regularize(nvmm_model *m, nvmm_regularization r, double target_logdet) {
  double s;
  int apply;
  NVMM_CALL(nvmm_model_regularize_scale(m, r, target_logdet, &s, &apply));
  return apply ? nvmm_model_rescale(m, s) : NVMM_OK;
}

nvmm_status nvmm_model_init_moments(nvmm_model *m, const double *mean, const double *cov) {
  NVMM_CHECK(m && mean && cov, NVMM_EINVAL, "model, mean and cov must not be NULL");
  nvmm_sub sub;
  NVMM_CALL(default_sub(m->family, m->d, &sub));
  nvmm_status st = nvmm_model_set(m, mean, NULL, cov, &sub);
  NVMM_CHECK(st != NVMM_EFACTOR, NVMM_EFACTOR,
             "the data covariance is singular (a constant column, or columns that are linear "
             "combinations of others)");
  return st;
}

nvmm_status nvmm_model_moments(const nvmm_model *m, double *mean, double *cov) {
  NVMM_CHECK(m && mean && cov, NVMM_EINVAL, "model, mean and cov must not be NULL");
  NVMM_CALL(nvmm__model_dense(m, "nvmm_model_moments"));
  double m1 = 1.0, var = 0.0;
  if (nvmm__latent(m->family)) {
    double m2;
    NVMM_CALL(nvmm_sub_moment(&m->sub, 1.0, &m1));
    NVMM_CALL(nvmm_sub_moment(&m->sub, 2.0, &m2));
    NVMM_CHECK(isfinite(m1) && isfinite(m2), NVMM_EDOM,
               "the subordinator has no finite second moment, so Cov[X] is infinite");
    var = m2 - m1 * m1;
  }
  size_t d = m->d;
  /* E[X] = mu + gamma E[Y]; Cov[X] = E[Y] Sigma + Var[Y] gamma gamma^T (src/numerics.md 2.6). */
  for (size_t i = 0; i < d; i++) {
    mean[i] = m->mu[i] + m->gamma[i] * m1;
    for (size_t j = 0; j < d; j++)
      cov[i * d + j] = m1 * m->sigma[i * d + j] + var * m->gamma[i] * m->gamma[j];
  }
  return NVMM_OK;
}
