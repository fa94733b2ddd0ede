/* test_em.c: the E-step and M-step against independent references: posterior moments by
 * quadrature, the M-step as the exact inverse of the population expectations, the floors and
 * counters of numerics.md section 9, and EM monotonicity on heavy-tailed samples. */
#include <string.h>

#include <gsl/gsl_integration.h>
#include <gsl/gsl_sf_bessel.h>
#include <gsl/gsl_sf_psi.h>

#include "nvmm_test.h"

static const nvmm_family mix_families[] = {NVMM_FAMILY_VG, NVMM_FAMILY_NINVG, NVMM_FAMILY_NIG,
                                           NVMM_FAMILY_GH};

static nvmm_model *make_model(nvmm_family f, size_t d, const double par[3]) {
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(f, d, &m));
  double *mu = malloc(d * sizeof *mu), *gamma = malloc(d * sizeof *gamma);
  double *sigma = malloc(d * d * sizeof *sigma);
  ck_assert(mu && gamma && sigma);
  for (size_t i = 0; i < d; i++) {
    mu[i] = 0.2 + 0.35 * (double)i;
    gamma[i] = f == NVMM_FAMILY_GAUSS ? 0.0 : (i % 2 ? -0.27 : 0.38);
    for (size_t j = 0; j < d; j++)
      sigma[i * d + j] =
          (i == j ? 1.1 + 0.2 * (double)i : 0.25 / (1.0 + fabs((double)i - (double)j)));
  }
  nvmm_sub sub = {NVMM_SUB_DEGENERATE, {0, 0, 0}};
  if (f != NVMM_FAMILY_GAUSS)
    ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(f), par, &sub));
  ck_assert_ok(nvmm_model_set(m, mu, gamma, sigma, &sub));
  free(mu);
  free(gamma);
  free(sigma);
  return m;
}

static const double default_par[NVMM_FAMILY_COUNT][3] = {
    {0, 0, 0}, {2.6, 1.4, 0}, {3.2, 2.1, 0}, {1.2, 1.9, 0}, {-1.3, 1.6, 2.2}};

/* Posterior moment E[g(Y) | x] by quadrature over t = log y of the joint density (which does
 * not involve a Bessel function except through the constant normalizer, which cancels). */
typedef struct qctx {
  const nvmm_model *m;
  const double *x;
  int which; /* 0: 1, 1: 1/y, 2: y, 3: log y */
  double shift;
} qctx;

static double qf(double t, void *p) {
  qctx *c = p;
  double lj, scratch[16];
  if (!(exp(t) > 0 && isfinite(exp(t))))
    return 0.0; /* QAGI probes t = +-inf; the integrand vanishes there */
  ck_assert_ok(nvmm_model_logpdf_joint(c->m, c->x, exp(t), &lj, scratch));
  double g = c->which == 0 ? 1.0 : c->which == 1 ? exp(-t) : c->which == 2 ? exp(t) : t;
  return g * exp(lj + t - c->shift);
}

static double qint(qctx *c) {
  gsl_integration_workspace *w = gsl_integration_workspace_alloc(1000);
  gsl_function F = {qf, c};
  double res, err;
  int st = gsl_integration_qagi(&F, 0.0, 1e-13, 1000, w, &res, &err);
  gsl_integration_workspace_free(w);
  ck_assert_msg(st == GSL_SUCCESS || st == GSL_EROUND, "QAGI: %s", gsl_strerror(st));
  return res;
}

/* E-step statistics of single rows vs quadrature of the posterior, all families at d = 2:
 * E[1/Y|x], E[Y|x], E[log Y|x] to 1e-9 relative (QAGI at 1e-13; the E-step itself is accurate
 * to ~1e-12, so 1e-9 is the quadrature's reliable floor, not the kernel's). */
START_TEST(test_estep_vs_quadrature) {
  for (int fi = 0; fi < 4; fi++) {
    nvmm_model *m = make_model(mix_families[fi], 2, default_par[mix_families[fi]]);
    const double xs[3][2] = {{0.3, 0.5}, {2.9, -1.4}, {-4.2, 3.3}};
    for (int k = 0; k < 3; k++) {
      double stats[32] = {0}, scratch[8], lf;
      ck_assert_ok(nvmm_estep(m, 1, xs[k], stats, scratch));
      ck_assert_ok(nvmm_model_logpdf(m, 1, xs[k], &lf, scratch));
      ck_assert_close(stats[NVMM_ST_LOGF], lf, 1e-13);
      qctx c = {m, xs[k], 0, lf};
      double z = qint(&c);
      ck_assert_rel(z, 1.0, 1e-9); /* the marginal again, through the same quadrature */
      c.which = 1;
      ck_assert_rel(stats[NVMM_ST_U], qint(&c) / z, 1e-9);
      c.which = 2;
      ck_assert_rel(stats[NVMM_ST_V], qint(&c) / z, 1e-9);
      if (m->family != NVMM_FAMILY_NIG) {
        c.which = 3;
        ck_assert_close(stats[NVMM_ST_L], qint(&c) / z, 1e-9);
      }
      ck_assert_double_eq(stats[NVMM_ST_FLOOR], 0.0); /* dormant for these rows */
    }
    nvmm_model_free(&m);
  }
}
END_TEST

/* Statistics are plain sums: one call over n rows equals two calls over a split, and the
 * log-density sum equals the marginal log-density of the rows. Rounding differs only through
 * the order of additions: 1e-13 relative. */
START_TEST(test_estep_additive) {
  nvmm_model *m = make_model(NVMM_FAMILY_GH, 3, default_par[NVMM_FAMILY_GH]);
  double x[7 * 3], lf[7], scratch[8];
  for (int i = 0; i < 21; i++)
    x[i] = sin(1.7 * i + 0.3) * (1.0 + 0.1 * i);
  size_t len = nvmm_stats_len(3);
  ck_assert_uint_eq(len, NVMM_ST_HEAD + 6 + 6);
  double all[32] = {0}, split[32] = {0};
  ck_assert_ok(nvmm_estep(m, 7, x, all, scratch));
  ck_assert_ok(nvmm_estep(m, 3, x, split, scratch));
  ck_assert_ok(nvmm_estep(m, 4, x + 9, split, scratch));
  for (size_t i = 0; i < len; i++)
    ck_assert_close(split[i], all[i], 1e-13);
  ck_assert_ok(nvmm_model_logpdf(m, 7, x, lf, scratch));
  double s = 0;
  for (int i = 0; i < 7; i++)
    s += lf[i];
  ck_assert_close(all[NVMM_ST_LOGF], s, 1e-13);
  ck_assert_double_eq(all[NVMM_ST_N], 7.0);
  nvmm_model_free(&m);
}
END_TEST

/* The blocked kernels compute the same sums as the row-by-row reference: every family; d = 1, 3,
 * 5 (the register kernel: explicit L^-1, unrolled loops) and d = 6, 13, 40 (DTRMM with L^-1 and
 * DSYRK by chunks: 2500 rows are three chunks, one partial); rows 7 and 11 next to mu, where the
 * VG posterior b hits its floor (the per-row fallback; at x = mu itself the VG density is
 * infinite for alpha <= d/2). Both blocked kernels sum log K and
 * log(delta) through products of mantissas (one logarithm per chunk), the reference takes the
 * logarithms row by row: a genuinely different evaluation of the same sums.
 * 1e-13 relative to the sum of the terms' moduli (or 1): the order of floating additions and the
 * products' roundings differ (each product of 2500 factors carries at most 2500 ulp = 5.6e-13
 * relative, i.e. 5.6e-13 absolute in its logarithm, against log f sums of order 1e3-1e4);
 * observed at most 2.5e-14 of that scale (VG, d = 7, the sum of E[log Y|x]). */
START_TEST(test_estep_block_matches_reference) {
  static const size_t dims[] = {1, 3, 5, 6, 13, 40};
  for (int f = 0; f < NVMM_FAMILY_COUNT; f++)
    for (int di = 0; di < 6; di++) {
      size_t d = dims[di], n = 2500, len = nvmm_stats_len(d);
      nvmm_model *m = make_model((nvmm_family)f, d, default_par[f]);
      double *x = malloc(n * d * sizeof *x), *ref = calloc(len, sizeof *ref);
      double *fast = calloc(len, sizeof *fast), *scratch = malloc(2 * d * sizeof *scratch);
      for (size_t i = 0; i < n * d; i++)
        x[i] = 1.3 * sin(0.37 * (double)i + 0.1 * (double)f) + 0.2 * cos(1.7 * (double)i);
      for (size_t j = 0; j < d; j++) /* q ~ 1e-10: below the floor, log f still finite */
        x[7 * d + j] = x[11 * d + j] = m->mu[j] + 1e-5;
      nvmm_estep_ws *ws;
      ck_assert_ok(nvmm_estep_ws_alloc(d, &ws));
      ck_assert_ok(nvmm_estep(m, n, x, ref, scratch));
      ck_assert_ok(nvmm_estep_block(m, ws, n, x, fast));
      if (f == NVMM_FAMILY_VG)
        ck_assert(fast[NVMM_ST_FLOOR] >= 2.0); /* the rows at mu, perhaps others */
      for (size_t k = 0; k < len; k++) {
        /* Sums with cancellation are compared relative to the sum of their terms' moduli,
         * bounded by Cauchy-Schwarz: sum u |x_j x_k| <= sqrt(G_jj G_kk), sum u |x_j| <=
         * sqrt(U G_jj) with G = sum u x x^T, U = sum u. */
        const double *g = ref + nvmm_stats_uxx(d);
        double scale = fabs(ref[k]);
        if (k >= nvmm_stats_uxx(d)) {
          size_t e = k - nvmm_stats_uxx(d), j = 0;
          while ((j + 1) * (j + 2) / 2 <= e)
            j++;
          size_t c = e - j * (j + 1) / 2;
          scale = sqrt(g[j * (j + 1) / 2 + j] * g[c * (c + 1) / 2 + c]);
        } else if (k >= nvmm_stats_ux(d)) {
          size_t j = k - nvmm_stats_ux(d);
          scale = sqrt(ref[NVMM_ST_U] * g[j * (j + 1) / 2 + j]);
        }
        ck_assert_msg(fabs(fast[k] - ref[k]) <= 1e-13 * fmax(1.0, fmax(fabs(ref[k]), scale)),
                      "%s d=%zu stat %zu: %.17g vs %.17g", nvmm_family_name(m->family), d, k,
                      fast[k], ref[k]);
      }
      x[5 * d + (d - 1)] = NAN;
      ck_assert_int_eq(nvmm_estep_block(m, ws, n, x, fast), NVMM_EDOM);
      ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "row 5"));
      nvmm_estep_ws_free(&ws);
      free(x);
      free(ref);
      free(fast);
      free(scratch);
      nvmm_model_free(&m);
    }
}
END_TEST

/* Standardizing on the fly (the fit's path) gives bitwise the sums of the standardized copy:
 * the same expression (x - c) * r is evaluated either way. Both kernels (d = 3, 13). Exact
 * equality is the contract (rank-count independence and resume rely on it). */
START_TEST(test_estep_block_std_bitwise) {
  static const size_t dims[] = {3, 13};
  for (int di = 0; di < 2; di++) {
    size_t d = dims[di], n = 1500, len = nvmm_stats_len(d);
    nvmm_model *m = make_model(NVMM_FAMILY_GH, d, default_par[NVMM_FAMILY_GH]);
    double *x = malloc(n * d * sizeof *x), *xs = malloc(n * d * sizeof *xs);
    double *a = calloc(len, sizeof *a), *b = calloc(len, sizeof *b);
    double *c = malloc(d * sizeof *c), *r = malloc(d * sizeof *r);
    for (size_t j = 0; j < d; j++) {
      c[j] = 100.0 + 3.7 * (double)j; /* the raw data sit far from 0 and on other scales */
      r[j] = 1.0 / (0.01 * (1.0 + (double)j));
    }
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < d; j++) {
        double v = 1.3 * sin(0.37 * (double)(i * d + j)) + 0.2 * cos(1.7 * (double)(i * d + j));
        x[i * d + j] = c[j] + v / r[j];
        xs[i * d + j] = (x[i * d + j] - c[j]) * r[j];
      }
    nvmm_estep_ws *ws;
    ck_assert_ok(nvmm_estep_ws_alloc(d, &ws));
    ck_assert_ok(nvmm_estep_block(m, ws, n, xs, a));
    ck_assert_ok(nvmm_estep_block_std(m, ws, n, x, c, r, b));
    ck_assert_msg(memcmp(a, b, len * sizeof *a) == 0, "d = %zu: sums differ", d);
    ck_assert_int_eq(nvmm_estep_block_std(m, ws, n, x, c, NULL, b), NVMM_EINVAL);
    nvmm_estep_ws_free(&ws);
    free(x), free(xs), free(a), free(b), free(c), free(r);
    nvmm_model_free(&m);
  }
}
END_TEST

/* The M-step inverts the population expectations: feeding it eta(model) (numerics.md 1.5:
 * E[X] = mu + gamma E Y, E[X/Y] = mu E[1/Y] + gamma, E[XX^T/Y] = Sigma + mu mu^T E[1/Y] +
 * gamma gamma^T E Y + mu gamma^T + gamma mu^T) returns the model. 1e-9 relative: the GIG solve
 * stops at a relative moment mismatch ~1e-12 and the conditioning of p costs up to ~1e3. */
START_TEST(test_mstep_inverts_eta) {
  for (int f = 0; f < NVMM_FAMILY_COUNT; f++) {
    size_t d = 3;
    nvmm_model *m = make_model((nvmm_family)f, d, default_par[f]);
    nvmm_model *next = make_model((nvmm_family)f, d, default_par[f]);
    double eta[3] = {0, 1, 1};
    if (f != NVMM_FAMILY_GAUSS)
      ck_assert_ok(nvmm_sub_eta(&m->sub, eta));
    double st[32] = {0}, scratch[32];
    st[NVMM_ST_N] = 1.0;
    st[NVMM_ST_L] = eta[0];
    st[NVMM_ST_U] = eta[1];
    st[NVMM_ST_V] = eta[2];
    double *sx = st + nvmm_stats_x(d), *sux = st + nvmm_stats_ux(d), *suxx = st + nvmm_stats_uxx(d);
    for (size_t j = 0; j < d; j++) {
      sx[j] = m->mu[j] + m->gamma[j] * eta[2];
      sux[j] = m->mu[j] * eta[1] + m->gamma[j];
      for (size_t k = 0; k <= j; k++)
        suxx[j * (j + 1) / 2 + k] = m->sigma[j * d + k] + m->mu[j] * m->mu[k] * eta[1] +
                                    m->gamma[j] * m->gamma[k] * eta[2] + m->mu[j] * m->gamma[k] +
                                    m->gamma[j] * m->mu[k];
    }
    /* Perturb the warm start so the GIG solve has work to do. */
    if (f == NVMM_FAMILY_GH)
      next->sub.par[0] += 0.3;
    nvmm_mstep_counts counts = {0};
    ck_assert_ok(nvmm_mstep(st, next, next, NULL, &counts, scratch));
    for (size_t j = 0; j < d; j++) {
      ck_assert_close(next->mu[j], m->mu[j], 1e-9);
      ck_assert_close(next->gamma[j], m->gamma[j], 1e-9);
      for (size_t k = 0; k < d; k++)
        ck_assert_close(next->sigma[j * d + k], m->sigma[j * d + k], 1e-9);
    }
    for (int k = 0; k < 3; k++)
      ck_assert_close(next->sub.par[k], m->sub.par[k], 1e-9);
    ck_assert_int_eq(counts.gig_fallback, 0);
    ck_assert_int_eq(counts.d_floor, 0);
    ck_assert_int_eq(counts.sigma_ridge, 0);
    nvmm_model_free(&m);
    nvmm_model_free(&next);
  }
}
END_TEST

/* Pitfall 3: D = 1 - S_inv S_y <= 0; a tiny or round-off-positive D is floored to -1e-10 with
 * its sign kept, so mu and gamma keep the signs they have at D = -1e-8; the floor is counted. */
START_TEST(test_mstep_d_sign) {
  const double ds[4] = {-1e-8, -1e-12, -5e-11, 1e-13};
  double sign_mu = 0, sign_g = 0;
  for (int i = 0; i < 4; i++) {
    nvmm_model *m = make_model(NVMM_FAMILY_NIG, 1, default_par[NVMM_FAMILY_NIG]);
    double st[16] = {0}, scratch[8];
    double s_y = 1.3, s_inv = (1.0 - ds[i]) / s_y;
    st[NVMM_ST_N] = 1;
    st[NVMM_ST_U] = s_inv;
    st[NVMM_ST_V] = s_y;
    st[nvmm_stats_x(1)] = 0.7;
    st[nvmm_stats_ux(1)] = 0.7 * s_inv - 1e-6;
    st[nvmm_stats_uxx(1)] = 3.0;
    nvmm_mstep_counts c = {0};
    ck_assert_ok(nvmm_mstep_normal(st, m, m, NULL, &c, scratch));
    if (i == 0) {
      sign_mu = copysign(1.0, m->mu[0]);
      sign_g = copysign(1.0, m->gamma[0]);
      ck_assert_int_eq(c.d_floor, 0);
    } else {
      ck_assert_double_eq(copysign(1.0, m->mu[0]), sign_mu);
      ck_assert_double_eq(copysign(1.0, m->gamma[0]), sign_g);
      ck_assert_int_eq(c.d_floor, 1);
    }
    nvmm_model_free(&m);
  }
}
END_TEST

/* Pitfall 1: VG at x = mu with alpha = 0.7, d = 1, a_post = 2: E[1/Y|x] is capped by the
 * b_post floor at sqrt(a/b) K_{nu-1}/K_nu(sqrt(ab)), nu = alpha - 1/2 = 0.2, b = 1e-6: about
 * 2.99e4 (numerics.md 2.5). Reference from GSL's Bessel (independent code), 1e-10 relative.
 * The floor is counted; it stays dormant for GH, NIG and NInvG at x = mu. */
START_TEST(test_vg_floor) {
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_VG, 1, &m));
  double mu = 0.4, s = 1.0;
  nvmm_sub sub;
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_GAMMA, (double[3]){0.7, 1.0, 0}, &sub));
  ck_assert_ok(nvmm_model_set(m, &mu, NULL, &s, &sub));
  double st[16] = {0}, scratch[4];
  ck_assert_ok(nvmm_estep(m, 1, &mu, st, scratch));
  double b = NVMM_B_POST_FLOOR, a = 2.0, z = sqrt(a * b);
  double ref = sqrt(a / b) * exp(gsl_sf_bessel_lnKnu(0.8, z) - gsl_sf_bessel_lnKnu(0.2, z));
  ck_assert_rel(st[NVMM_ST_U], ref, 1e-10);
  ck_assert_rel(st[NVMM_ST_U], 2.99e4, 5e-3); /* the note quotes 3 digits */
  ck_assert_double_eq(st[NVMM_ST_FLOOR], 1.0);
  nvmm_model_free(&m);
  for (int fi = 1; fi < 4; fi++) {
    nvmm_model *g = make_model(mix_families[fi], 2, default_par[mix_families[fi]]);
    double st2[32] = {0}, sc2[8];
    ck_assert_ok(nvmm_estep(g, 1, g->mu, st2, sc2));
    ck_assert_double_eq(st2[NVMM_ST_FLOOR], 0.0);
    nvmm_model_free(&g);
  }
}
END_TEST

/* Pitfall 12: NInvG with gamma = 0 has a_post = 0; its posterior is InverseGamma(alpha + d/2,
 * beta + q/2) in closed form. The same row with gamma = 1e-9 (Bessel at an argument ~1e-9)
 * must agree to 1e-12: the perturbation is O(w2) ~ 1e-18. */
START_TEST(test_ninvg_zero_gamma) {
  size_t d = 3;
  nvmm_model *m = make_model(NVMM_FAMILY_NINVG, d, default_par[NVMM_FAMILY_NINVG]);
  const double x[3] = {1.3, -0.4, 2.2};
  for (int k = 0; k < 2; k++) {
    for (size_t i = 0; i < d; i++)
      m->gamma[i] = k ? 1e-9 : 0.0;
    double st[32] = {0}, scratch[8], z[3];
    ck_assert_ok(nvmm_estep(m, 1, x, st, scratch));
    for (size_t i = 0; i < d; i++)
      z[i] = x[i] - m->mu[i];
    /* q by an independent triangular solve */
    double q = 0;
    for (size_t i = 0; i < d; i++) {
      double s = z[i];
      for (size_t j = 0; j < i; j++)
        s -= m->chol[i * d + j] * z[j];
      z[i] = s / m->chol[i * d + i];
      q += z[i] * z[i];
    }
    double shape = m->sub.par[0] + 1.5, rate = m->sub.par[1] + 0.5 * q;
    ck_assert_rel(st[NVMM_ST_U], shape / rate, 1e-12);
    ck_assert_rel(st[NVMM_ST_V], rate / (shape - 1.0), 1e-12);
    ck_assert_close(st[NVMM_ST_L], log(rate) - gsl_sf_psi(shape), 1e-12);
  }
  nvmm_model_free(&m);
}
END_TEST

/* EM never decreases the likelihood (Dempster-Laird-Rubin). 100 iterations of E-step + M-step
 * on heavy-tailed samples: VG with alpha < d/2 (unbounded density at mu) and GH with p = -5.
 * Allowed decrease 1e-9 relative: the rounding of a sum of n = 3000 log-densities ~ 1e-13 plus
 * the GIG solve tolerance, far below any real decrease. */
static void check_monotone(nvmm_family f, size_t d, const double par[3], uint64_t seed) {
  const size_t n = 3000;
  nvmm_model *truth = make_model(f, d, par), *m;
  double *x = malloc(n * d * sizeof *x);
  gsl_rng *rng;
  ck_assert_ok(nvmm_rng_stream(seed, 0, &rng));
  ck_assert_ok(nvmm_model_sample(truth, rng, n, x, NULL));
  gsl_rng_free(rng);
  double mean[8] = {0}, cov[64] = {0};
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      mean[j] += x[i * d + j] / (double)n;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < d; j++)
      for (size_t k = 0; k < d; k++)
        cov[j * d + k] += (x[i * d + j] - mean[j]) * (x[i * d + k] - mean[k]) / (double)n;
  ck_assert_ok(nvmm_model_alloc(f, d, &m));
  ck_assert_ok(nvmm_model_init_moments(m, mean, cov));
  double st[64], scratch[128], prev = -INFINITY;
  nvmm_mstep_counts counts = {0};
  for (int it = 0; it < 100; it++) {
    memset(st, 0, sizeof st);
    ck_assert_ok(nvmm_estep(m, n, x, st, scratch));
    double ll = st[NVMM_ST_LOGF] / (double)n;
    ck_assert_msg(ll >= prev - 1e-9 * fabs(prev), "%s iteration %d: LL %.17g < previous %.17g",
                  nvmm_family_name(f), it, ll, prev);
    prev = ll;
    ck_assert_ok(nvmm_mstep(st, m, m, NULL, &counts, scratch));
    ck_assert_ok(nvmm_model_regularize(m, NVMM_REG_DET_SIGMA_ONE, 0.0));
  }
  ck_assert_int_eq(counts.gig_fallback, 0);
  free(x);
  nvmm_model_free(&m);
  nvmm_model_free(&truth);
}

START_TEST(test_em_monotone_vg) { check_monotone(NVMM_FAMILY_VG, 3, (double[3]){1.2, 1.0, 0}, 11); }
END_TEST

START_TEST(test_em_monotone_gh) {
  check_monotone(NVMM_FAMILY_GH, 3, (double[3]){-5.0, 1.0, 6.0}, 12);
}
END_TEST

/* Pitfall 2 / numerics.md 4.5: alpha_min bounds the VG shape before beta = alpha / E[Y] is
 * formed, and every time it binds it is counted. Statistics of a heavy-peaked Gamma (shape 0.4)
 * with alpha_min = d/2 + 0.1 = 0.6 at d = 1. */
START_TEST(test_alpha_min) {
  nvmm_model *m = make_model(NVMM_FAMILY_VG, 1, default_par[NVMM_FAMILY_VG]);
  nvmm_sub g;
  double eta[3];
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_GAMMA, (double[3]){0.4, 0.8, 0}, &g));
  ck_assert_ok(nvmm_sub_eta(&g, eta));
  double st[16] = {0};
  st[NVMM_ST_N] = 1;
  st[NVMM_ST_L] = eta[0];
  st[NVMM_ST_U] = 3.0; /* unused by the Gamma solve */
  st[NVMM_ST_V] = eta[2];
  nvmm_mstep_counts c = {0};
  ck_assert_ok(nvmm_mstep_sub(st, m, m, NULL, &c));
  ck_assert_rel(m->sub.par[0], 0.4, 1e-12);
  ck_assert_int_eq(c.alpha_clamp, 0);
  nvmm_mstep_opts o = {0.6, NULL, NULL};
  ck_assert_ok(nvmm_mstep_sub(st, m, m, &o, &c));
  ck_assert_double_eq(m->sub.par[0], 0.6);
  ck_assert_rel(m->sub.par[1], 0.6 / eta[2], 1e-15);
  ck_assert_int_eq(c.alpha_clamp, 1);
  nvmm_model_free(&m);
}
END_TEST

START_TEST(test_bad_input) {
  nvmm_model *m = make_model(NVMM_FAMILY_NIG, 2, default_par[NVMM_FAMILY_NIG]);
  double st[32] = {0}, scratch[32], x[2] = {NAN, 1.0};
  ck_assert_int_eq(nvmm_estep(m, 1, x, st, scratch), NVMM_EDOM);
  ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "row 0"));
  ck_assert_int_eq(nvmm_estep(NULL, 1, x, st, scratch), NVMM_EINVAL);
  memset(st, 0, sizeof st);
  ck_assert_int_eq(nvmm_mstep(st, m, m, NULL, NULL, scratch), NVMM_EDOM); /* n = 0 */
  ck_assert_ptr_nonnull(strstr(nvmm_last_error(), "n = 0"));
  st[NVMM_ST_N] = 1;
  st[NVMM_ST_U] = INFINITY;
  ck_assert_int_eq(nvmm_mstep(st, m, m, NULL, NULL, scratch), NVMM_EDOM);
  nvmm_mstep_opts o = {-1.0, NULL, NULL};
  st[NVMM_ST_U] = 1.2;
  st[NVMM_ST_V] = 1.1;
  ck_assert_int_ne(nvmm_mstep_sub(st, m, m, &o, NULL), NVMM_OK);
  nvmm_model_free(&m);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("em");
  TCase *tc = tcase_create("estep");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_estep_vs_quadrature);
  tcase_add_test(tc, test_estep_additive);
  tcase_add_test(tc, test_estep_block_matches_reference);
  tcase_add_test(tc, test_estep_block_std_bitwise);
  tcase_add_test(tc, test_vg_floor);
  tcase_add_test(tc, test_ninvg_zero_gamma);
  suite_add_tcase(s, tc);
  TCase *tm = tcase_create("mstep");
  tcase_add_test(tm, test_mstep_inverts_eta);
  tcase_add_test(tm, test_mstep_d_sign);
  tcase_add_test(tm, test_alpha_min);
  tcase_add_test(tm, test_bad_input);
  suite_add_tcase(s, tm);
  TCase *te = tcase_create("em");
  tcase_set_timeout(te, 600);
  tcase_add_test(te, test_em_monotone_vg);
  tcase_add_test(te, test_em_monotone_gh);
  suite_add_tcase(s, te);
  return s;
}

NVMM_TEST_MAIN(make_suite)
