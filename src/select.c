/* select.c: model choice among fitted families (include/nvmm/select.h): parameter counts net of
 * the scale gauge, AIC and BIC, the nesting table and the likelihood-ratio test's reference laws.
 * The tables key on family names, so that a family joins with one row each. */
#include "nvmm/select.h"

#include <math.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

/* Per family: whether it has a skewness gamma, and how many of its subordinator's parameters
 * the scale gauge leaves free (the orbit (mu, gamma/s, Sigma/s, sY) takes one). */
static const struct {
  const char *name;
  int skew;     /* 1: gamma is a parameter (0 for the Gaussian) */
  int sub_free; /* subordinator parameters net of the gauge */
} families[] = {
    {"gauss", 0, 0}, /* Y = 1 */
    {"vg", 1, 1},    /* Gamma(alpha, beta) */
    {"ninvg", 1, 1}, /* InverseGamma(alpha, beta) */
    {"nig", 1, 1},   /* InverseGaussian(mu_ig, lambda) */
    {"gh", 1, 2},    /* GIG(p, a, b) */
    {"hyp", 1, 1},   /* GIG((d+1)/2, a, b): p fixed */
};

/* The GH's sub-families: the restriction and where it sits (src/numerics.md 1.2). */
static const struct {
  const char *big, *small;
  nvmm_nesting nesting;
} nested[] = {
    {"gh", "nig", NVMM_NEST_INTERIOR},   /* p = -1/2 */
    {"gh", "hyp", NVMM_NEST_INTERIOR},   /* p = (d+1)/2 */
    {"gh", "vg", NVMM_NEST_BOUNDARY},    /* b -> 0 (p > 0) */
    {"gh", "ninvg", NVMM_NEST_BOUNDARY}, /* a -> 0 (p < 0) */
};

static int row_of(nvmm_family f) {
  const char *name = nvmm_family_name(f);
  for (size_t i = 0; name && i < sizeof families / sizeof *families; i++)
    if (!strcmp(name, families[i].name))
      return (int)i;
  return -1;
}

const char *nvmm_nesting_name(nvmm_nesting k) {
  static const char *const names[NVMM_NEST_COUNT] = {"none", "interior", "boundary", "limit"};
  return (unsigned)k < NVMM_NEST_COUNT ? names[k] : "unknown";
}

nvmm_status nvmm_select_n_params(nvmm_family f, size_t d, int symmetric, int64_t *k) {
  NVMM_CHECK(k, NVMM_EINVAL, "n_params: no output");
  int r = row_of(f);
  NVMM_CHECK(d > 0, NVMM_EINVAL, "n_params: d = 0");
  NVMM_CHECK(r >= 0, NVMM_EINVAL, "n_params: no parameter count for family %d", (int)f);
  int64_t dd = (int64_t)d;
  *k = dd + dd * (dd + 1) / 2 + families[r].sub_free + (families[r].skew && !symmetric ? dd : 0);
  return NVMM_OK;
}

nvmm_status nvmm_select_n_params_factor(nvmm_family f, size_t d, int symmetric, size_t r,
                                        int64_t *k) {
  NVMM_CALL(nvmm_select_n_params(f, d, symmetric, k));
  NVMM_CHECK(r <= d, NVMM_EINVAL, "n_params: r = %zu factors exceed d = %zu", r, d);
  if (r > 0) { /* src/numerics.md 15.2: F modulo rotations of its columns, and D */
    int64_t dd = (int64_t)d, rr = (int64_t)r;
    *k += dd * rr + dd - rr * (rr - 1) / 2 - dd * (dd + 1) / 2;
  }
  return NVMM_OK;
}

double nvmm_select_aic(double loglik, int64_t k) { return -2.0 * loglik + 2.0 * (double)k; }

double nvmm_select_bic(double loglik, int64_t k, int64_t n) {
  return -2.0 * loglik + (double)k * log((double)n);
}

nvmm_nesting nvmm_select_nesting(nvmm_family big, int big_symmetric, nvmm_family small,
                                 int small_symmetric) {
  int rb = row_of(big), rs = row_of(small);
  if (rb < 0 || rs < 0)
    return NVMM_NEST_NONE;
  big_symmetric = big_symmetric && families[rb].skew;
  small_symmetric = small_symmetric && families[rs].skew;
  if (!families[rs].skew) /* the Gaussian: the limit of every latent family, skewed or not */
    return families[rb].skew ? NVMM_NEST_LIMIT : NVMM_NEST_NONE;
  if (rb == rs) /* gamma = 0 */
    return !big_symmetric && small_symmetric ? NVMM_NEST_INTERIOR : NVMM_NEST_NONE;
  if (big_symmetric != small_symmetric)
    return NVMM_NEST_NONE; /* two restrictions at once: not a direct one */
  for (size_t i = 0; i < sizeof nested / sizeof *nested; i++)
    if (!strcmp(nested[i].big, families[rb].name) && !strcmp(nested[i].small, families[rs].name))
      return nested[i].nesting;
  return NVMM_NEST_NONE;
}

/* P(chi^2_df > x) for x > 0; chi^2_0 is the point mass at 0. */
static double chisq_tail(double x, int64_t df) {
  return df == 0 ? 0.0 : gsl_cdf_chisq_Q(x, (double)df);
}

nvmm_status nvmm_select_lr_pvalue(double x, int64_t df, nvmm_nesting k, double *p) {
  NVMM_CHECK(p, NVMM_EINVAL, "lr_pvalue: no output");
  NVMM_CHECK(df >= 1, NVMM_EINVAL, "lr_pvalue: df = %lld (at least 1)", (long long)df);
  NVMM_CHECK(k > NVMM_NEST_NONE && k < NVMM_NEST_COUNT, NVMM_EINVAL,
             "lr_pvalue: the models are not nested");
  NVMM_CHECK(isfinite(x), NVMM_EDOM, "lr_pvalue: the statistic is not finite");
  if (x <= 0) {
    *p = 1.0;
    return NVMM_OK;
  }
  /* Self and Liang (1987), Case 5: one parameter on the boundary, the others interior. */
  *p = k == NVMM_NEST_BOUNDARY ? 0.5 * chisq_tail(x, df - 1) + 0.5 * chisq_tail(x, df)
                               : chisq_tail(x, df);
  NVMM_CHECK(isfinite(*p), NVMM_EDOM, "lr_pvalue: chi^2 tail of %g with %lld df is not finite", x,
             (long long)df);
  return NVMM_OK;
}

nvmm_status nvmm_select_lr_test(nvmm_family big, int big_symmetric, double ll_big,
                                nvmm_family small, int small_symmetric, double ll_small, size_t d,
                                nvmm_lr_test *out) {
  NVMM_CHECK(out, NVMM_EINVAL, "lr_test: no output");
  nvmm_nesting k = nvmm_select_nesting(big, big_symmetric, small, small_symmetric);
  NVMM_CHECK(k != NVMM_NEST_NONE, NVMM_EINVAL, "lr_test: %s%s is not nested in %s%s",
             nvmm_family_name(small), small_symmetric ? " (symmetric)" : "", nvmm_family_name(big),
             big_symmetric ? " (symmetric)" : "");
  NVMM_CHECK(isfinite(ll_big) && isfinite(ll_small), NVMM_EDOM,
             "lr_test: a log-likelihood is not finite");
  int64_t kb, ks;
  NVMM_CALL(nvmm_select_n_params(big, d, big_symmetric, &kb));
  NVMM_CALL(nvmm_select_n_params(small, d, small_symmetric, &ks));
  out->statistic = 2.0 * (ll_big - ll_small);
  out->df = kb - ks;
  out->nesting = k;
  return nvmm_select_lr_pvalue(out->statistic, out->df, k, &out->p_value);
}

/* Free parameters of a candidate; -1 where it has none (not a family of the table, r > d). */
static int64_t cand_params(const nvmm_select_cand *c, size_t d) {
  int64_t k;
  return nvmm_select_n_params_factor(c->family, d, c->symmetric, c->factors, &k) == NVMM_OK ? k
                                                                                            : -1;
}

nvmm_nesting nvmm_select_nesting_factor(const nvmm_select_cand *big, const nvmm_select_cand *small,
                                        size_t d) {
  if (!big || !small)
    return NVMM_NEST_NONE;
  if (big->factors == small->factors) /* one dispersion: the family table */
    return nvmm_select_nesting(big->family, big->symmetric, small->family, small->symmetric);
  int bs = big->symmetric && big->family != NVMM_FAMILY_GAUSS;
  int ss = small->symmetric && small->family != NVMM_FAMILY_GAUSS;
  if (big->family != small->family || bs != ss)
    return NVMM_NEST_NONE; /* two restrictions at once: not a direct one */
  int64_t kb = cand_params(big, d), ks = cand_params(small, d);
  if (kb < 0 || ks < 0 || kb <= ks)
    return NVMM_NEST_NONE; /* r factors with r near d: no restriction of the dense Sigma */
  if (big->factors == 0)
    return NVMM_NEST_INTERIOR;
  return small->factors > 0 && small->factors < big->factors ? NVMM_NEST_LIMIT : NVMM_NEST_NONE;
}

nvmm_status nvmm_select_lr_test_factor(const nvmm_select_cand *big, const nvmm_select_cand *small,
                                       size_t d, nvmm_lr_test *out) {
  NVMM_CHECK(out && big && small, NVMM_EINVAL, "lr_test: no candidate or output");
  nvmm_nesting k = nvmm_select_nesting_factor(big, small, d);
  NVMM_CHECK(k != NVMM_NEST_NONE, NVMM_EINVAL,
             "lr_test: %s%s with %zu factors is not nested in %s%s with %zu (0: dense)",
             nvmm_family_name(small->family), small->symmetric ? " (symmetric)" : "",
             small->factors, nvmm_family_name(big->family), big->symmetric ? " (symmetric)" : "",
             big->factors);
  NVMM_CHECK(isfinite(big->loglik) && isfinite(small->loglik), NVMM_EDOM,
             "lr_test: a log-likelihood is not finite");
  int64_t kb, ks;
  NVMM_CALL(nvmm_select_n_params_factor(big->family, d, big->symmetric, big->factors, &kb));
  NVMM_CALL(nvmm_select_n_params_factor(small->family, d, small->symmetric, small->factors, &ks));
  out->statistic = 2.0 * (big->loglik - small->loglik);
  out->df = kb - ks;
  out->nesting = k;
  return nvmm_select_lr_pvalue(out->statistic, out->df, k, &out->p_value);
}
