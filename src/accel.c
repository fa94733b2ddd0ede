/* accel.c: SQUAREM's coordinates and extrapolation (src/numerics.md 8.4): a model as
 * a vector of unconstrained coordinates and back, and the S3 step from three EM iterates. */
#include <math.h>
#include <string.h>

#include "family.h"
#include "fit_impl.h"

/* Subordinator coordinates: the log of each positive parameter, the others (GH's p) as they
 * are (family.h: par_positive). */
static size_t sub_len(nvmm_sub_kind k) { return (size_t)nvmm__family_of_kind(k)->info.nsub; }

static void sub_get(const nvmm_sub *sub, double *t) {
  const nvmm__family *fd = nvmm__family_of_kind(sub->kind);
  size_t ns = sub_len(sub->kind);
  for (size_t s = 0; s < ns; s++)
    t[s] = fd->par_positive[s] ? log(sub->par[s]) : sub->par[s];
}

static nvmm_status sub_set(nvmm_sub *sub, const double *t) {
  const nvmm__family *fd = nvmm__family_of_kind(sub->kind);
  size_t ns = sub_len(sub->kind);
  double par[3] = {0.0, 0.0, 0.0};
  for (size_t s = 0; s < ns; s++)
    par[s] = fd->par_positive[s] ? exp(t[s]) : t[s];
  if (ns == 0)
    return NVMM_OK;
  return nvmm_sub_make(sub->kind, par, sub);
}

size_t nvmm__theta_len(const nvmm_model *m) {
  size_t d = m->d;
  return 2 * d + d * (d + 1) / 2 + sub_len(m->sub.kind);
}

/* mu, gamma, the rows of L's lower triangle with log of its diagonal, the subordinator. */
void nvmm__theta_get(const nvmm_model *m, double *t) {
  size_t d = m->d, k = 0;
  for (size_t i = 0; i < d; i++)
    t[k++] = m->mu[i];
  for (size_t i = 0; i < d; i++)
    t[k++] = m->gamma[i];
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++)
      t[k++] = i == j ? log(m->chol[i * d + i]) : m->chol[i * d + j];
  sub_get(&m->sub, t + k);
}

/* The model of coordinates t (family and d of m): L from t, Sigma = L L^T, log|Sigma| from L's
 * diagonal; no factorization, so every coordinate vector gives a valid model unless a value
 * overflows. Errors: NVMM_EDOM (a non-finite or invalid parameter). */
nvmm_status nvmm__theta_set(nvmm_model *m, const double *t) {
  size_t d = m->d, k = 0;
  for (size_t i = 0; i < d; i++)
    m->mu[i] = t[k++];
  for (size_t i = 0; i < d; i++)
    m->gamma[i] = t[k++];
  double *L = m->chol, logdet = 0.0;
  memset(L, 0, d * d * sizeof *L);
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++) {
      double v = t[k++];
      L[i * d + j] = i == j ? exp(v) : v;
      if (i == j)
        logdet += 2.0 * v;
    }
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++) {
      double s = 0.0;
      for (size_t l = 0; l <= j; l++)
        s += L[i * d + l] * L[j * d + l];
      m->sigma[i * d + j] = m->sigma[j * d + i] = s;
    }
  m->logdet = logdet;
  for (size_t i = 0; i < 2 * d + 2 * d * d; i++)
    NVMM_CHECK(isfinite(m->mu[i]), NVMM_EDOM, "the extrapolated model is not finite");
  NVMM_CHECK(isfinite(logdet), NVMM_EDOM, "the extrapolated model is not finite");
  return sub_set(&m->sub, t + k);
}

/* A factor fit's coordinates (src/numerics.md 8.7): mu, gamma, F's entries, log D_j, the
 * subordinator's. */
size_t nvmm__factor_theta_len(size_t d, size_t r, nvmm_sub_kind k) {
  return 3 * d + d * r + sub_len(k);
}

void nvmm__factor_theta_get(const nvmm_model *m, const nvmm_factor *fa, double *t) {
  size_t d = m->d, r = fa->r;
  memcpy(t, m->mu, 2 * d * sizeof *t); /* mu, gamma contiguous */
  memcpy(t + 2 * d, fa->f, d * r * sizeof *t);
  for (size_t j = 0; j < d; j++)
    t[2 * d + d * r + j] = log(fa->dd[j]);
  sub_get(&m->sub, t + 3 * d + d * r);
}

nvmm_status nvmm__factor_theta_set(nvmm_model *m, nvmm_factor *fa, const double *t,
                                   double *scratch) {
  size_t d = m->d, r = fa->r;
  for (size_t j = 0; j < d; j++)
    scratch[j] = exp(t[2 * d + d * r + j]);
  for (size_t i = 0; i < 2 * d; i++)
    NVMM_CHECK(isfinite(t[i]), NVMM_EDOM, "the extrapolated model is not finite");
  /* Validates F and D (finite, D > 0, M positive definite); fa is unchanged on failure. */
  NVMM_CALL(nvmm_factor_set(fa, t + 2 * d, scratch));
  memcpy(m->mu, t, 2 * d * sizeof *t);
  m->logdet = fa->logdet;
  return sub_set(&m->sub, t + 3 * d + d * r);
}

/* S3 (Varadhan & Roland 2008): r = t1 - t0, v = t2 - 2 t1 + t0, alpha = -|r| / |v| clipped to
 * [-step_max, -1], t' = t0 - 2 alpha r + alpha^2 v (written into t2's place). alpha = -1 gives
 * t2 itself: the plain EM step. Returns alpha, and in *lambda an estimate of EM's contraction
 * rate: for a linear map of rate lambda, |t2 - t1| = lambda |r| and |alpha| = 1 / (1 - lambda);
 * the larger of the two (before alpha's clipping), because the fast modes that an
 * extrapolation stirs up make the step ratio alone too small. */
double nvmm__squarem_step(size_t p, const double *t0, const double *t1, double *t2, double step_max,
                          double *lambda) {
  double rr = 0.0, vv = 0.0, ss = 0.0;
  for (size_t i = 0; i < p; i++) {
    double r = t1[i] - t0[i], v = t2[i] - 2.0 * t1[i] + t0[i];
    rr += r * r;
    vv += v * v;
    ss += (r + v) * (r + v);
  }
  double alpha = vv > 0.0 && isfinite(rr) && isfinite(vv) ? -sqrt(rr / vv) : -1.0;
  double lam = rr > 0.0 ? sqrt(ss / rr) : 0.0;
  if (alpha < -1.0)
    lam = fmax(lam, 1.0 + 1.0 / alpha);
  *lambda = isfinite(lam) ? fmin(lam, 1.0) : 1.0;
  if (!(alpha <= -1.0))
    alpha = -1.0;
  if (alpha < -step_max)
    alpha = -step_max;
  if (alpha == -1.0)
    return alpha;
  for (size_t i = 0; i < p; i++) {
    double r = t1[i] - t0[i], v = t2[i] - 2.0 * t1[i] + t0[i];
    t2[i] = t0[i] - 2.0 * alpha * r + alpha * alpha * v;
  }
  return alpha;
}
