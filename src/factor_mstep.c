/* factor_mstep.c: the closed-form ECM M-step of a factor dispersion Sigma = F F^T + diag(D):
 * (mu, gamma) given F, then (F, D) given (mu, gamma), then the subordinator, from the factor
 * E-step's sums (src/numerics.md 5.12). */
#include <math.h>
#include <string.h>

#include "family.h"
#include "linalg.h"
#include "nvmm/factor.h"

/* Floor on |1 - S_inv S_y|, as the dense M-step's (src/numerics.md 5.1, 12.3). */
#define D_FLOOR 1e-10

size_t nvmm_factor_mstep_scratch_len(size_t d, size_t r) { return d * r + 3 * d + 2 * r * r + r; }

/* Solves L L^T x = b in place for the row-major lower r x r L. */
static void chol_solve(size_t r, const double *l, double *b) {
  nvmm__trsv_lower(r, l, b);
  for (size_t i = r; i-- > 0;) {
    double s = b[i];
    for (size_t j = i + 1; j < r; j++)
      s -= l[j * r + i] * b[j];
    b[i] = s / l[i * r + i];
  }
}

nvmm_status nvmm_factor_mstep(const double *stats, const nvmm_model *cur, const nvmm_factor *fcur,
                              nvmm_model *next, nvmm_factor *fnext, const nvmm_mstep_opts *opts,
                              nvmm_factor_counts *counts, double *scratch) {
  NVMM_CHECK(stats && cur && fcur && next && fnext && scratch, NVMM_EINVAL,
             "stats, models, factors and scratch must not be NULL");
  NVMM_CHECK(cur->d == next->d && cur->family == next->family, NVMM_EINVAL,
             "current and next model differ in family or dimension");
  NVMM_CHECK(fcur->d == cur->d && fnext->d == cur->d && fcur->r == fnext->r, NVMM_EINVAL,
             "model dimension %zu, factors of dimension %zu and %zu with %zu and %zu factors",
             cur->d, fcur->d, fnext->d, fcur->r, fnext->r);
  const size_t d = cur->d, r = fcur->r, len = nvmm_factor_stats_off(d, r, NVMM_FST_LEN);
  NVMM_CHECK(stats[NVMM_ST_N] > 0, NVMM_EDOM, "factor M-step on empty statistics (n = 0)");
  for (size_t i = 0; i < len; i++)
    NVMM_CHECK(isfinite(stats[i]), NVMM_EDOM, "statistic %zu of the factor M-step is not finite",
               i);
  const double alpha_min = opts ? opts->alpha_min : 0.0;
  const double dfloor =
      opts ? fmax(opts->factor_d_floor, NVMM_FACTOR_D_FLOOR) : NVMM_FACTOR_D_FLOOR;
  NVMM_CHECK(dfloor < 1, NVMM_EDOM, "factor_d_floor = %g must be below 1", dfloor);
  NVMM_CHECK(alpha_min >= 0 && isfinite(alpha_min), NVMM_EDOM,
             "alpha_min = %g must be finite and >= 0", alpha_min);
  const double n = stats[NVMM_ST_N], su = stats[NVMM_ST_U], sv = stats[NVMM_ST_V];
  const double *sx = stats + nvmm_factor_stats_off(d, r, NVMM_FST_X);
  const double *sux = stats + nvmm_factor_stats_off(d, r, NVMM_FST_UX);
  const double *suxx = stats + nvmm_factor_stats_off(d, r, NVMM_FST_UXX);
  const double *sz = stats + nvmm_factor_stats_off(d, r, NVMM_FST_Z);
  const double *szy = stats + nvmm_factor_stats_off(d, r, NVMM_FST_ZY);
  const double *szz = stats + nvmm_factor_stats_off(d, r, NVMM_FST_ZZ);
  const double *sxzy = stats + nvmm_factor_stats_off(d, r, NVMM_FST_XZY);
  double *fn = scratch, *dn = fn + d * r, *mu = dn + d, *gamma = mu + d;
  double *zz = gamma + d, *lz = zz + r * r, *b = lz + r * r;
  long d_floor = 0, dd_floor = 0;

  /* CM-step 1: (mu, gamma) given the current F. Per coordinate j, the score equations of
   * Q in (mu_j, gamma_j) are [U n; n V] (mu_j, gamma_j) = (sum u x_j - F_j sum ezy,
   * sum x_j - F_j sum ez); D_j does not enter. */
  const int latent = nvmm__latent(cur->family), sym = !latent || (opts && opts->symmetric);
  double den = 1.0 - (su / n) * (sv / n);
  if (!sym && !(den <= -D_FLOOR)) {
    den = -fmax(fabs(den), D_FLOOR);
    d_floor = 1;
  }
  for (size_t j = 0; j < d; j++) {
    const double *fj = fcur->f + j * r;
    double b1 = sux[j], b2 = sx[j];
    for (size_t k = 0; k < r; k++) {
      b1 -= fj[k] * szy[k];
      b2 -= fj[k] * sz[k];
    }
    if (sym) {
      /* gamma = 0: mu_j from the first equation alone (for the Gaussian u = v = 1). */
      mu[j] = b1 / su;
      gamma[j] = 0.0;
    } else {
      /* Averages, as the dense closed form of src/numerics.md 5.1. */
      b1 /= n, b2 /= n;
      mu[j] = (b2 - (sv / n) * b1) / den;
      gamma[j] = (b1 - (su / n) * b2) / den;
    }
  }

  /* CM-step 2: (F, D) given (mu, gamma). With B_j = sum E[(x_j - mu_j - gamma_j Y) z^T / Y]
   * = sum x_j ezy^T - mu_j sum ezy^T - gamma_j sum ez^T, F_j = B_j S_zz^-1 for every D, and
   * D_j = (A_j - F_j B_j^T) / n with A_j = sum E[(x_j - mu_j - gamma_j Y)^2 / Y]. */
  for (size_t k = 0; k < r; k++)
    for (size_t l = 0; l <= k; l++)
      zz[k * r + l] = zz[l * r + k] = szz[k * (k + 1) / 2 + l];
  double logdet_zz;
  NVMM_CHECK(nvmm__cholesky(r, zz, lz, &logdet_zz) == NVMM_OK, NVMM_EFACTOR,
             "the factor M-step's sum of E[z z^T / Y | x] is not positive definite");
  for (size_t j = 0; j < d; j++) {
    double *fj = fn + j * r;
    for (size_t k = 0; k < r; k++)
      b[k] = fj[k] = sxzy[j * r + k] - mu[j] * szy[k] - gamma[j] * sz[k];
    chol_solve(r, lz, fj);
    double a = suxx[j] - 2.0 * mu[j] * sux[j] - 2.0 * gamma[j] * sx[j] + mu[j] * mu[j] * su +
               2.0 * mu[j] * gamma[j] * n + gamma[j] * gamma[j] * sv;
    NVMM_CHECK(a > 0 && isfinite(a), NVMM_EDOM,
               "column %zu has no residual scale (sum E[(x - mu - gamma Y)^2 / Y] = %g): a "
               "constant column?",
               j, a);
    double fb = 0.0;
    for (size_t k = 0; k < r; k++)
      fb += fj[k] * b[k];
    double dj = (a - fb) / n, lo = dfloor * a / n;
    if (!(dj >= lo)) {
      dj = lo;
      dd_floor++;
    }
    dn[j] = dj;
  }

  /* The subordinator from eta = (S_log, S_inv, S_y), as nvmm_mstep_sub. */
  nvmm_sub sub = cur->sub;
  nvmm_sub_info info = {0};
  if (latent) {
    const double eta[3] = {stats[NVMM_ST_L] / n, su / n, sv / n};
    NVMM_CALL(nvmm__family_from_eta(cur->family, eta, &cur->sub, alpha_min, &sub, &info));
  }
  /* Commit: fnext first (it validates), then next's Gaussian block and subordinator. */
  NVMM_CALL(nvmm_factor_set(fnext, fn, dn));
  memcpy(next->mu, mu, d * sizeof *mu);
  memcpy(next->gamma, gamma, d * sizeof *gamma);
  next->sub = sub;
  if (counts) {
    counts->mstep.d_floor += d_floor;
    counts->mstep.gig_fallback += info.fallback;
    counts->mstep.gig_ridge += info.ridge;
    if (latent && sub.kind == NVMM_SUB_GAMMA && alpha_min > 0 && sub.par[0] <= alpha_min)
      counts->mstep.alpha_clamp++;
    counts->dd_floor += dd_floor;
  }
  return NVMM_OK;
}
