/* mstep.c: the M-step: the closed-form Gaussian block (mu, gamma, Sigma) and the subordinator's
 * from_expectation, with every floor and fallback counted (src/numerics.md 5.1-5.2). */
#include "nvmm/mstep.h"

#include <math.h>
#include <string.h>

#include "family.h"
#include "linalg.h"
#include "model_impl.h"

/* Floor on |D| = |1 - S_inv S_y| (src/numerics.md 5.1, 12.3): D <= 0 always by Jensen, and
 * the floor keeps its sign. 1e-10 is normix's SAFE_DENOMINATOR: below it the data carry no
 * information on the (mu, gamma) split. */
#define D_FLOOR 1e-10

/* Relative ridges tried, in units of tr(Sigma)/d, when Sigma fails to factorize
 * (src/numerics.md 5.2): only ever applied on failure, smallest first, and counted. */
static const double ridge_ladder[] = {1e-14, 1e-12, 1e-10, 1e-8};

static nvmm_status check_stats(const double *stats, size_t d) {
  size_t len = nvmm_stats_len(d);
  NVMM_CHECK(stats[NVMM_ST_N] > 0, NVMM_EDOM, "M-step on empty statistics (n = 0)");
  for (size_t i = 0; i < len; i++)
    NVMM_CHECK(isfinite(stats[i]), NVMM_EDOM, "statistic %zu of the M-step is not finite", i);
  return NVMM_OK;
}

/* Factorizes Sigma in place into next, adding the smallest relative ridge that works. */
static nvmm_status lapack_factor(void *ctx, size_t d, const double *a, double *l, double *logdet) {
  (void)ctx;
  return nvmm__cholesky(d, a, l, logdet);
}

static nvmm_status factor_sigma(nvmm_model *next, double *sigma, const nvmm_mstep_opts *opts,
                                nvmm_mstep_counts *counts) {
  size_t d = next->d;
  double *l = next->chol + d * d, logdet; /* the model's validation scratch */
  nvmm_factor_fn *factor = opts && opts->factor ? opts->factor : lapack_factor;
  void *ctx = opts ? opts->factor_ctx : NULL;
  if (factor(ctx, d, sigma, l, &logdet) != NVMM_OK) {
    double tr = 0.0;
    for (size_t i = 0; i < d; i++)
      tr += sigma[i * d + i];
    size_t k, nr = sizeof ridge_ladder / sizeof *ridge_ladder;
    for (k = 0; k < nr; k++) {
      double add = ridge_ladder[k] * tr / (double)d;
      for (size_t i = 0; i < d; i++)
        sigma[i * d + i] += add;
      if (factor(ctx, d, sigma, l, &logdet) == NVMM_OK)
        break;
      for (size_t i = 0; i < d; i++)
        sigma[i * d + i] -= add;
    }
    NVMM_CHECK(k < nr, NVMM_EFACTOR,
               "the M-step Sigma is not positive definite, even with a relative ridge of %g "
               "(degenerate data: fewer distinct rows than dimensions, or a constant column?)",
               ridge_ladder[nr - 1]);
    if (counts)
      counts->sigma_ridge++;
  }
  memcpy(next->sigma, sigma, d * d * sizeof *sigma);
  memcpy(next->chol, l, d * d * sizeof *l);
  next->logdet = logdet;
  return NVMM_OK;
}

nvmm_status nvmm_mstep_normal(const double *stats, const nvmm_model *cur, nvmm_model *next,
                              const nvmm_mstep_opts *opts, nvmm_mstep_counts *counts,
                              double *scratch) {
  NVMM_CHECK(stats && cur && next && scratch, NVMM_EINVAL,
             "stats, models and scratch must not be NULL");
  NVMM_CALL(nvmm__model_dense(cur, "the dense M-step"));
  NVMM_CALL(nvmm__model_dense(next, "the dense M-step"));
  NVMM_CHECK(cur->d == next->d && cur->family == next->family, NVMM_EINVAL,
             "current and next model differ in family or dimension");
  size_t d = cur->d;
  NVMM_CALL(check_stats(stats, d));
  const double n = stats[NVMM_ST_N];
  const double s_inv = stats[NVMM_ST_U] / n, s_y = stats[NVMM_ST_V] / n;
  const double *sx = stats + nvmm_stats_x(d), *sux = stats + nvmm_stats_ux(d);
  const double *suxx = stats + nvmm_stats_uxx(d);
  double *sigma = scratch, *mu = scratch + d * d, *gamma = mu + d;
  if (!nvmm__latent(cur->family)) {
    for (size_t j = 0; j < d; j++) {
      mu[j] = sx[j] / n;
      gamma[j] = 0.0;
    }
  } else if (opts && opts->symmetric) {
    /* gamma = 0: the complete-data likelihood's mu is the mean of x weighted by E[1/Y | x]. */
    for (size_t j = 0; j < d; j++) {
      mu[j] = sux[j] / stats[NVMM_ST_U];
      gamma[j] = 0.0;
    }
  } else {
    double dd = 1.0 - s_inv * s_y;
    if (!(dd <= -D_FLOOR)) {
      dd = -fmax(fabs(dd), D_FLOOR);
      if (counts)
        counts->d_floor++;
    }
    for (size_t j = 0; j < d; j++) {
      double ex = sx[j] / n, exinv = sux[j] / n;
      mu[j] = (ex - s_y * exinv) / dd;
      gamma[j] = (exinv - s_inv * ex) / dd;
    }
  }
  /* Sigma = S_xxinv - S_xinv mu^T - mu S_xinv^T + S_inv mu mu^T - S_y gamma gamma^T
   * (src/numerics.md 5.1). For the Gaussian u = 1, so this is the biased covariance. Only the
   * lower triangle is packed. */
  const double *row = suxx;
  for (size_t j = 0; j < d; j++, row += j) {
    for (size_t k = 0; k <= j; k++) {
      double v = row[k] / n - (sux[j] * mu[k] + mu[j] * sux[k]) / n + s_inv * mu[j] * mu[k] -
                 s_y * gamma[j] * gamma[k];
      sigma[j * d + k] = sigma[k * d + j] = v;
    }
  }
  NVMM_CALL(factor_sigma(next, sigma, opts, counts));
  memcpy(next->mu, mu, d * sizeof *mu);
  memcpy(next->gamma, gamma, d * sizeof *gamma);
  if (next != cur)
    next->sub = cur->sub;
  return NVMM_OK;
}

nvmm_status nvmm_mstep_sub(const double *stats, const nvmm_model *cur, nvmm_model *next,
                           const nvmm_mstep_opts *opts, nvmm_mstep_counts *counts) {
  NVMM_CHECK(stats && cur && next, NVMM_EINVAL, "stats and models must not be NULL");
  NVMM_CHECK(cur->d == next->d && cur->family == next->family, NVMM_EINVAL,
             "current and next model differ in family or dimension");
  if (!nvmm__latent(cur->family)) {
    next->sub = cur->sub;
    return NVMM_OK;
  }
  NVMM_CALL(check_stats(stats, cur->d));
  const double n = stats[NVMM_ST_N];
  const double eta[3] = {stats[NVMM_ST_L] / n, stats[NVMM_ST_U] / n, stats[NVMM_ST_V] / n};
  const double alpha_min = opts ? opts->alpha_min : 0.0;
  NVMM_CHECK(alpha_min >= 0 && isfinite(alpha_min), NVMM_EDOM,
             "alpha_min = %g must be finite and >= 0", alpha_min);
  nvmm_sub sub;
  nvmm_sub_info info = {0};
  NVMM_CALL(nvmm__family_from_eta(cur->family, eta, &cur->sub, alpha_min, &sub, &info));
  if (counts) {
    counts->gig_fallback += info.fallback;
    counts->gig_ridge += info.ridge;
    if (sub.kind == NVMM_SUB_GAMMA && alpha_min > 0 && sub.par[0] <= alpha_min)
      counts->alpha_clamp++;
  }
  next->sub = sub;
  return NVMM_OK;
}

nvmm_status nvmm_mstep(const double *stats, const nvmm_model *cur, nvmm_model *next,
                       const nvmm_mstep_opts *opts, nvmm_mstep_counts *counts, double *scratch) {
  /* Both blocks use the same statistics (EM, not MCECM). The Gaussian block runs first: it
   * leaves the subordinator alone, so the warm start below is the current GIG even when next
   * aliases cur. */
  NVMM_CALL(nvmm_mstep_normal(stats, cur, next, opts, counts, scratch));
  return nvmm_mstep_sub(stats, next, next, opts, counts);
}
