/* test_linalg.c: the library's internal kernels (src/linalg.h; nvmm__digamma of src/digamma.h,
 * the GIG integral of src/gig_impl.h, the split log K of src/bessel_impl.h) against naive loops
 * and closed forms written here: the Gram sums and their packed layout, the triangular solve, the
 * Cholesky factor and log-determinant, digamma, the GIG integral and the split log K. Edge sizes
 * (d = 1, rows = 0, odd d) and every documented failure are provoked. */
#include <math.h>
#include <string.h>

#include <gsl/gsl_rng.h>

#include "nvmm_test.h"
#include "src/bessel_impl.h"
#include "src/digamma.h"
#include "src/gig_impl.h"
#include "src/linalg.h"

/* Dimensions and row counts: 1 and odd sizes, a size past OpenBLAS's small-matrix paths (33),
 * and rows = 0 (an empty block of the E-step). */
static const size_t DIMS[] = {1, 2, 3, 5, 8, 17, 33};
enum { NDIMS = sizeof DIMS / sizeof DIMS[0] };
static const size_t ROWS[] = {0, 1, 2, 7, 130};
enum { NROWS = sizeof ROWS / sizeof ROWS[0] };

/* Uniform on [-2.385, 2.385]: "high entropy" values, never 0 or 1 exactly. */
static double uniform(gsl_rng *r) { return 2.385 * (2.0 * gsl_rng_uniform(r) - 1.0); }

/* A dot product of n terms in any order is within gamma_n = n u / (1 - n u) <= n eps of the
 * exact sum, relative to the sum of the absolute products (Higham, ASNA 2nd ed., eq. 3.5), and
 * so is the naive reference: two such errors are at most (n + 1) eps apart with u = eps / 2,
 * counting one more rounding for beta c. Used for the Gram sums. */
static double dot_bound(size_t n, double abs_sum) {
  return (double)(n + 1) * DBL_EPSILON * abs_sum;
}

START_TEST(gram_matches_naive_sums) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 2385);
  const double betas[] = {0.0, 1.0, 0.625};
  for (size_t id = 0; id < NDIMS; id++)
    for (size_t ir = 0; ir < NROWS; ir++)
      for (size_t ib = 0; ib < 3; ib++) {
        size_t d = DIMS[id], rows = ROWS[ir];
        double beta = betas[ib];
        /* y: rows x d row-major; c: d x d column-major, its upper triangle (k <= j) is
         * c[j * d + k]. */
        double *y = malloc((rows * d + 1) * sizeof *y), *c = malloc(d * d * sizeof *c);
        double *c0 = malloc(d * d * sizeof *c0);
        ck_assert(y && c && c0);
        for (size_t i = 0; i < rows * d; i++)
          y[i] = uniform(r);
        /* With beta = 0 the old values must not matter: huge ones would show through. */
        for (size_t i = 0; i < d * d; i++)
          c0[i] = c[i] = beta == 0.0 ? 1e300 : uniform(r);
        nvmm__gram(d, rows, y, beta, c);
        for (size_t j = 0; j < d; j++)
          for (size_t k = 0; k < d; k++) {
            if (k > j) {
              /* The strict lower triangle (column-major) is left exactly as it was. */
              ck_assert_msg(memcmp(&c[j * d + k], &c0[j * d + k], sizeof *c) == 0,
                            "d %zu rows %zu: lower element (%zu, %zu) changed", d, rows, k, j);
              continue;
            }
            double s = beta == 0.0 ? 0.0 : beta * c0[j * d + k];
            double abs_sum = fabs(s);
            for (size_t i = 0; i < rows; i++) {
              s += y[i * d + k] * y[i * d + j];
              abs_sum += fabs(y[i * d + k] * y[i * d + j]);
            }
            ck_assert_msg(fabs(c[j * d + k] - s) <= dot_bound(rows, abs_sum),
                          "d %zu rows %zu beta %g: c(%zu, %zu) = %.17g, naive %.17g", d, rows, beta,
                          k, j, c[j * d + k], s);
          }
        free(y);
        free(c);
        free(c0);
      }
  gsl_rng_free(r);
}
END_TEST

/* One addition per element: bitwise the naive result. The lower triangle of c is NaN, so a
 * read of it would show. */
START_TEST(add_packed_adds_the_upper_triangle) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 173);
  for (size_t id = 0; id < NDIMS; id++) {
    size_t d = DIMS[id], np = d * (d + 1) / 2;
    double *c = malloc(d * d * sizeof *c), *p = malloc(np * sizeof *p);
    double *want = malloc(np * sizeof *want);
    ck_assert(c && p && want);
    for (size_t j = 0; j < d; j++)
      for (size_t k = 0; k < d; k++)
        c[j * d + k] = k <= j ? uniform(r) : NAN;
    for (size_t i = 0; i < np; i++)
      p[i] = uniform(r);
    /* Packed lower triangle by rows: element (j, k), k <= j, at j (j + 1) / 2 + k; it is the
     * column-major upper element (k, j) of c. */
    for (size_t j = 0; j < d; j++)
      for (size_t k = 0; k <= j; k++)
        want[j * (j + 1) / 2 + k] = p[j * (j + 1) / 2 + k] + c[j * d + k];
    nvmm__add_packed(d, c, p);
    ck_assert_msg(memcmp(p, want, np * sizeof *p) == 0, "d %zu: packed sums differ", d);
    free(c);
    free(p);
    free(want);
  }
  /* d = 0 touches nothing. */
  double sentinel = 2.385;
  nvmm__add_packed(0, NULL, &sentinel);
  ck_assert(sentinel == 2.385);
  gsl_rng_free(r);
}
END_TEST

/* A random lower-triangular L (diagonal in [1, 3.385], row-major, the strict upper triangle
 * NaN so that a read of it would show). */
static void random_lower(gsl_rng *r, size_t d, double *l) {
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++)
      l[i * d + j] = j < i ? uniform(r) : j == i ? 1.0 + fabs(uniform(r)) : NAN;
}

/* Forward substitution is backward stable: the computed z solves (L + dL) z = b with
 * |dL| <= gamma_d |L| (Higham, ASNA Thm 8.5), so |b - L z| <= gamma_d |L| |z|, plus gamma_d for
 * forming the residual here: (2 d + 2) eps |L| |z| per row bounds both. */
START_TEST(trsv_lower_solves) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 4242);
  for (size_t id = 0; id < NDIMS; id++) {
    size_t d = DIMS[id];
    double *l = malloc(d * d * sizeof *l), *b = malloc(d * sizeof *b), *z = malloc(d * sizeof *z);
    ck_assert(l && b && z);
    random_lower(r, d, l);
    for (size_t i = 0; i < d; i++)
      z[i] = b[i] = uniform(r);
    nvmm__trsv_lower(d, l, z);
    for (size_t i = 0; i < d; i++) {
      double res = b[i], abs_sum = 0.0;
      for (size_t j = 0; j <= i; j++) {
        res -= l[i * d + j] * z[j];
        abs_sum += fabs(l[i * d + j] * z[j]);
      }
      ck_assert_msg(fabs(res) <= (2.0 * (double)d + 2.0) * DBL_EPSILON * abs_sum,
                    "d %zu: residual %.3g in row %zu (|L||z| = %.3g)", d, res, i, abs_sum);
    }
    free(l);
    free(b);
    free(z);
  }
  gsl_rng_free(r);
}
END_TEST

/* Integer L with power-of-two diagonal and an integer x: b = L x and every step of the
 * substitution are exact, so z must be x exactly. */
START_TEST(trsv_lower_exact) {
  enum { D = 5 };
  const double l[D * D] = {2,   NAN, NAN, NAN, NAN, -3, 4,   NAN, NAN, NAN, 1, 5, 0.5,
                           NAN, NAN, 7,   -2,  3,   1,  NAN, -1,  6,   -4,  2, 8};
  const double x[D] = {3, -7, 11, 2, -5};
  double b[D];
  for (size_t i = 0; i < D; i++) {
    b[i] = 0.0;
    for (size_t j = 0; j <= i; j++)
      b[i] += l[i * D + j] * x[j];
  }
  nvmm__trsv_lower(D, l, b);
  for (size_t i = 0; i < D; i++)
    ck_assert_msg(b[i] == x[i], "z[%zu] = %.17g, expected %g", i, b[i], x[i]);
}
END_TEST

/* A = B B^T + d I for a random B: symmetric positive definite with condition number of a few
 * units (row-major; the strict upper triangle is set to NaN afterwards when asked, since only
 * the lower one is read). */
static void random_spd(gsl_rng *r, size_t d, double *a, int nan_upper) {
  double *bm = malloc(d * d * sizeof *bm);
  ck_assert(bm);
  for (size_t i = 0; i < d * d; i++)
    bm[i] = uniform(r) / 2.385;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++) {
      double s = i == j ? (double)d : 0.0;
      for (size_t k = 0; k < d; k++)
        s += bm[i * d + k] * bm[j * d + k];
      a[i * d + j] = a[j * d + i] = s;
    }
  if (nan_upper)
    for (size_t i = 0; i < d; i++)
      for (size_t j = i + 1; j < d; j++)
        a[i * d + j] = NAN;
  free(bm);
}

/* Cholesky is backward stable: L L^T = A + dA with |dA| <= gamma_{d+1} |L| |L|^T (Higham, ASNA
 * Thm 10.3); forming L L^T here adds gamma_d: (2 d + 2) eps (|L| |L|^T)_ij bounds the residual.
 * log|A| against Gaussian elimination without pivoting (safe for SPD) written here: each
 * computed log-determinant is that of a matrix within c d eps |A| of A, and for these
 * well-conditioned A (eigenvalues between d and about 2.4 d) that moves log|A| = tr log A by
 * |tr(A^-1 dA)| <= cond sqrt(d) |dA|_F, about 5 d^2 eps; 16 d^2 eps leaves a margin. */
START_TEST(cholesky_matches_naive) {
  gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(r, 1009);
  for (size_t id = 0; id < NDIMS; id++)
    for (int in_place = 0; in_place < 2; in_place++) {
      size_t d = DIMS[id];
      double *a = malloc(d * d * sizeof *a), *a0 = malloc(d * d * sizeof *a0);
      double *l = malloc(d * d * sizeof *l), *u = malloc(d * d * sizeof *u);
      ck_assert(a && a0 && l && u);
      random_spd(r, d, a, 1);
      memcpy(a0, a, d * d * sizeof *a);
      double logdet = NAN;
      double *out = in_place ? a : l;
      ck_assert_ok(nvmm__cholesky(d, a, out, &logdet));
      if (!in_place)
        ck_assert_msg(memcmp(a, a0, d * d * sizeof *a) == 0, "d %zu: the input changed", d);
      for (size_t i = 0; i < d; i++) {
        ck_assert_msg(out[i * d + i] > 0.0, "d %zu: L(%zu, %zu) = %g", d, i, i, out[i * d + i]);
        for (size_t j = i + 1; j < d; j++)
          ck_assert_msg(out[i * d + j] == 0.0, "d %zu: upper L(%zu, %zu) = %g", d, i, j,
                        out[i * d + j]);
      }
      for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j <= i; j++) {
          double s = a0[i * d + j], abs_sum = 0.0;
          for (size_t k = 0; k <= j; k++) {
            s -= out[i * d + k] * out[j * d + k];
            abs_sum += fabs(out[i * d + k] * out[j * d + k]);
          }
          ck_assert_msg(fabs(s) <= (2.0 * (double)d + 2.0) * DBL_EPSILON * abs_sum,
                        "d %zu: (A - L L^T)(%zu, %zu) = %.3g", d, i, j, s);
        }
      /* Gaussian elimination on the full symmetric matrix: log|A| = sum of log pivots. */
      for (size_t i = 0; i < d; i++)
        for (size_t j = i + 1; j < d; j++)
          a0[i * d + j] = a0[j * d + i];
      memcpy(u, a0, d * d * sizeof *u);
      double want = 0.0;
      for (size_t k = 0; k < d; k++) {
        want += log(u[k * d + k]);
        for (size_t i = k + 1; i < d; i++) {
          double m = u[i * d + k] / u[k * d + k];
          for (size_t j = k; j < d; j++)
            u[i * d + j] -= m * u[k * d + j];
        }
      }
      ck_assert_msg(fabs(logdet - want) <= 16.0 * (double)(d * d) * DBL_EPSILON,
                    "d %zu: logdet %.17g, elimination %.17g", d, logdet, want);
      free(a);
      free(a0);
      free(l);
      free(u);
    }
  gsl_rng_free(r);
}
END_TEST

/* A = L0 L0^T for an integer L0 with power-of-two diagonal: every step of any Cholesky
 * ordering is exact (small dyadic numbers, square roots of exact squares), so L = L0 bitwise
 * and log|A| = 2 log 2 (sum of the diagonal's exponents) to the rounding of d logarithms. */
START_TEST(cholesky_exact) {
  enum { D = 4 };
  const double l0[D * D] = {2, 0, 0, 0, -3, 0.5, 0, 0, 1, 5, 4, 0, 6, -2, 3, 1};
  const int expo[D] = {1, -1, 2, 0};
  double a[D * D], l[D * D], logdet;
  for (size_t i = 0; i < D; i++)
    for (size_t j = 0; j < D; j++) {
      a[i * D + j] = 0.0;
      for (size_t k = 0; k < D; k++)
        a[i * D + j] += l0[i * D + k] * l0[j * D + k];
    }
  ck_assert_ok(nvmm__cholesky(D, a, l, &logdet));
  ck_assert_msg(memcmp(l, l0, sizeof l) == 0, "L is not L0");
  int sum = 0;
  for (size_t i = 0; i < D; i++)
    sum += expo[i];
  ck_assert_close(logdet, 2.0 * sum * M_LN2, NVMM_TEST_TOL1);
  /* d = 1: the square root. */
  double one = 5.29, l1, ld1;
  ck_assert_ok(nvmm__cholesky(1, &one, &l1, &ld1));
  ck_assert(l1 == sqrt(5.29));
  ck_assert_close(ld1, log(5.29), NVMM_TEST_TOL0);
}
END_TEST

/* Not positive definite: NVMM_EFACTOR, and no error raised (the caller decides what it means);
 * d = 0: NVMM_EINVAL with a message. */
START_TEST(cholesky_failures) {
  const double indefinite[4] = {1.0, NAN, 2.385, 1.0};          /* eigenvalues 1 +- 2.385 */
  const double singular[9] = {4, NAN, NAN, 2, 1, NAN, 1, 1, 3}; /* L22 = 1 - 1 = 0 exactly */
  const double negative = -0.173;
  double l[9], logdet;
  nvmm_clear_error();
  ck_assert_int_eq(nvmm__cholesky(2, indefinite, l, &logdet), NVMM_EFACTOR);
  ck_assert_int_eq(nvmm__cholesky(3, singular, l, &logdet), NVMM_EFACTOR);
  ck_assert_int_eq(nvmm__cholesky(1, &negative, l, &logdet), NVMM_EFACTOR);
  ck_assert_str_eq(nvmm_last_error(), "");
  ck_assert_int_eq(nvmm__cholesky(0, &negative, l, &logdet), NVMM_EINVAL);
  ck_assert_msg(strstr(nvmm_last_error(), "d = 0") != NULL, "message: %s", nvmm_last_error());
  nvmm_clear_error();
}
END_TEST

/* digamma against psi(1) = -gamma, psi(1/2) = -gamma - 2 log 2 (A&S 6.3.2, 6.3.3), the
 * recurrence psi(x + 1) = psi(x) + 1/x (A&S 6.3.5), and the asymptotic series at large x
 * (A&S 6.3.18, truncated after x^-6: the next term is below 1e-40 at x = 1e6). GSL's psi is
 * accurate to a few eps; TOL1 = 16 eps relative to max(1, |psi|). At the pole x = 0: NaN. */
START_TEST(digamma_values) {
  const double euler = 0.57721566490153286061;
  ck_assert_close(nvmm__digamma(1.0), -euler, NVMM_TEST_TOL1);
  ck_assert_close(nvmm__digamma(0.5), -euler - 2.0 * M_LN2, NVMM_TEST_TOL1);
  const double xs[] = {0.0173, 0.385, 2.385, 17.3, 238.5};
  for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
    double x = xs[i];
    /* Small x: psi(x) ~ -1/x cancels against 1/x, so the bound is on the terms' sizes. */
    double p1 = nvmm__digamma(x + 1.0), p0 = nvmm__digamma(x);
    ck_assert_msg(fabs(p1 - p0 - 1.0 / x) <= NVMM_TEST_TOL1 * (fabs(p1) + fabs(p0) + 1.0 / x),
                  "x %g: psi(x + 1) %.17g, psi(x) + 1/x %.17g", x, p1, p0 + 1.0 / x);
  }
  double x = 1e6, x2 = x * x;
  ck_assert_close(nvmm__digamma(x),
                  log(x) - 0.5 / x - 1.0 / (12.0 * x2) + 1.0 / (120.0 * x2 * x2) -
                      1.0 / (252.0 * x2 * x2 * x2),
                  NVMM_TEST_TOL1);
  ck_assert(isnan(nvmm__digamma(0.0)));
}
END_TEST

/* The GIG integral I = int_0^inf y^(nu-1) exp(-(a y + b/y) / 2) dy by the trapezoid rule in
 * t = log y: the integrand exp(g(t)), g(t) = nu t - (a e^t + b e^-t) / 2, is concave and
 * analytic, so the rule with a step of 1/16 of its width at the peak converges to rounding.
 * The sum runs to 9.5 widths on each side (g falls by 45 there), about 300 positive terms, so
 * its relative error, and the absolute error of log I, is below 300 u = 3.3e-14 (1.7e-15 seen).
 * Returns log I; +inf where the integral diverges. */
static double gig_quadrature(double nu, double a, double b) {
  if ((a == 0.0 && nu >= 0.0) || (b == 0.0 && nu <= 0.0))
    return INFINITY;
  /* The peak: g'(t) = 0 is a e^2t - 2 nu e^t - b = 0; the root taken so as to avoid
   * cancellation. */
  double s = sqrt(nu * nu + a * b);
  double et = nu >= 0.0 ? (nu + s) / a : b / (s - nu);
  double t0 = log(et), g0 = nu * t0 - 0.5 * (a * et + b / et);
  double h = 1.0 / (16.0 * sqrt(0.5 * (a * et + b / et)));
  double sum = 1.0;
  /* Out to where the integrand is below e^-45 of its peak, on each side. */
  for (int dir = -1; dir <= 1; dir += 2)
    for (int k = 1;; k++) {
      double t = t0 + dir * k * h, g = nu * t - 0.5 * (a * exp(t) + b * exp(-t)) - g0;
      if (g < -45.0)
        break;
      sum += exp(g);
    }
  return g0 + log(h * sum);
}

/* log I against the quadrature: the library's log K is good to TOL2 max(1, |log K|)
 * (test_bessel), the quadrature to 3.3e-14 absolute on log I: TOL3 = 4.5e-13 relative to
 * max(1, |log I|) covers their sum with a margin (errors up to 1.7e-15 relative are seen). The
 * a = 0 and b = 0 limits are closed forms (Gamma integrals). */
#define GIG_TOL NVMM_TEST_TOL3

START_TEST(gig_integral_matches_quadrature) {
  static const double cases[][3] = {
      {0.5, 2.385, 0.173}, {-1.7, 0.31, 5.2}, {3.2, 1e-3, 40.0},   {0.0, 1.0, 1.0},
      {-0.5, 3.1, 0.7},    {12.5, 0.9, 2.2},  {-8.3, 2.2, 0.02},   {0.7, 1e-4, 1e4},
      {-2.1, 0.0, 1.3},    {1.4, 0.6, 0.0},   {-0.25, 0.0, 7.5},   {5.5, 0.04, 0.0},
      {40.0, 2.0, 3.0},    {-30.0, 0.5, 0.5}, {0.1, 100.0, 100.0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    double nu = cases[i][0], a = cases[i][1], b = cases[i][2], got;
    ck_assert_ok(nvmm__log_gig_integral(nu, a, b, &got));
    double want = gig_quadrature(nu, a, b);
    ck_assert_msg(fabs(got - want) <= GIG_TOL * fmax(1.0, fabs(want)),
                  "nu %g a %g b %g: %.17g, quadrature %.17g", nu, a, b, got, want);
  }
  /* nu = 1/2 in closed form: K_1/2(z) = sqrt(pi / (2 z)) e^-z (A&S 10.2.17), z = sqrt(a b). */
  double a = 2.385, b = 0.173, z = sqrt(a * b), got;
  ck_assert_ok(nvmm__log_gig_integral(0.5, a, b, &got));
  ck_assert_close(got, M_LN2 + 0.25 * log(b / a) + 0.5 * log(M_PI / (2.0 * z)) - z, NVMM_TEST_TOL2);
  /* The limits as closed forms: Gamma(-nu) (b/2)^nu and Gamma(nu) (2/a)^nu. */
  ck_assert_ok(nvmm__log_gig_integral(-2.1, 0.0, 1.3, &got));
  ck_assert_close(got, lgamma(2.1) - 2.1 * log(0.65), NVMM_TEST_TOL1);
  ck_assert_ok(nvmm__log_gig_integral(1.4, 0.6, 0.0, &got));
  ck_assert_close(got, lgamma(1.4) - 1.4 * log(0.3), NVMM_TEST_TOL1);
  /* Divergent: +inf, not an error. */
  const double divergent[][3] = {
      {0.0, 0.0, 0.0}, {0.3, 0.0, 1.0}, {0.0, 0.0, 1.0}, {-0.3, 1.0, 0.0}, {0.0, 1.0, 0.0}};
  for (size_t i = 0; i < sizeof divergent / sizeof divergent[0]; i++) {
    got = 0.0;
    ck_assert_ok(nvmm__log_gig_integral(divergent[i][0], divergent[i][1], divergent[i][2], &got));
    ck_assert_msg(got == INFINITY, "case %zu: %g", i, got);
    ck_assert(gig_quadrature(divergent[i][0], divergent[i][1], divergent[i][2]) == INFINITY);
  }
}
END_TEST

START_TEST(gig_integral_domain) {
  const double bad[][3] = {{0.5, -1.0, 1.0},     {0.5, 1.0, -1e-300}, {NAN, 1.0, 1.0},
                           {0.5, INFINITY, 1.0}, {0.5, 1.0, NAN},     {INFINITY, 1.0, 1.0}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    double out = 2.385;
    nvmm_clear_error();
    ck_assert_int_eq(nvmm__log_gig_integral(bad[i][0], bad[i][1], bad[i][2], &out), NVMM_EDOM);
    ck_assert_msg(strstr(nvmm_last_error(), "GIG integral") != NULL, "case %zu: %s", i,
                  nvmm_last_error());
    ck_assert(out == 2.385);
  }
  nvmm_clear_error();
}
END_TEST

/* The split log K against the public evaluators it promises to match: out->lnk + log(*mant) is
 * log K (rounding of one logarithm and one addition: TOL1 relative to max(1, |log K|)), the
 * ratios those of nvmm_bessel_k_eval and d1 that of nvmm_bessel_k_eval_dnu to a few roundings
 * (TOL1), d1 = 0 without need_d. Orders of both signs, half-integers (the no-logarithm path
 * above z = 1) and z on both sides of 1. */
START_TEST(bessel_k_split_matches_eval) {
  const double nus[] = {-7.5, -2.385, -0.5, 0.0, 0.173, 0.5, 1.5, 3.0, 12.5, 40.2};
  const double zs[] = {1e-8, 0.0173, 0.9, 1.0, 1.7, 23.85, 700.0};
  for (size_t i = 0; i < sizeof nus / sizeof nus[0]; i++)
    for (size_t j = 0; j < sizeof zs / sizeof zs[0]; j++)
      for (int need_d = 0; need_d < 2; need_d++) {
        double nu = nus[i], z = zs[j], mant = NAN, d1 = NAN, want_d1 = 0.0;
        nvmm_bessel_k split, want;
        ck_assert_ok(nvmm__bessel_k_split(nu, z, need_d, &split, &mant, &d1));
        if (need_d)
          ck_assert_ok(nvmm_bessel_k_eval_dnu(nu, z, &want, &want_d1));
        else
          ck_assert_ok(nvmm_bessel_k_eval(nu, z, &want));
        ck_assert_msg(isfinite(mant) && mant > 0.0, "nu %g z %g: mantissa %g", nu, z, mant);
        ck_assert_close(split.lnk + log(mant), want.lnk, NVMM_TEST_TOL1);
        ck_assert_rel(split.rp, want.rp, NVMM_TEST_TOL1);
        ck_assert_rel(split.rm, want.rm, NVMM_TEST_TOL1);
        if (need_d)
          ck_assert_close(d1, want_d1, NVMM_TEST_TOL1);
        else
          ck_assert_msg(d1 == 0.0, "nu %g z %g: d1 = %g without need_d", nu, z, d1);
      }
  nvmm_bessel_k k;
  double mant, d1;
  ck_assert_int_eq(nvmm__bessel_k_split(0.5, 0.0, 0, &k, &mant, &d1), NVMM_EDOM);
  ck_assert_int_eq(nvmm__bessel_k_split(NAN, 1.0, 1, &k, &mant, &d1), NVMM_EDOM);
  ck_assert_int_eq(nvmm__bessel_k_split(0.5, INFINITY, 0, &k, &mant, &d1), NVMM_EDOM);
  nvmm_clear_error();
}
END_TEST

/* The split over lanes evaluates each lane exactly as nvmm__bessel_k_split: bitwise, every
 * output, for orders of both signs (n = 0, 1, 2 and odd and even step counts; half-integers;
 * above 1000 with the derivative, by quadrature), different z per call across the regimes
 * (series, Chebyshev pieces, the no-logarithm half-integer path), and lanes that rescale
 * (order 600 at z = 1e-3 grows past 2^500) beside lanes that do not. */
START_TEST(bessel_k_split_lanes_matches_split) {
  enum { L = NVMM__BESSEL_LANES };
  const double nus[] = {-600.5, -101.5, -100.5, -7.5, -2.385, -0.5, 0.0,   0.173,  1.0,
                        1.5,    2.0,    3.0,    12.5, 40.2,   97.0, 600.0, 1200.25};
  const double zs[] = {1e-3, 0.0173, 0.9, 1.7, 23.85, 700.0, 1.0,    3.9,
                       1e-8, 250.0,  6.0, 0.5, 130.0, 131.5, 129.25, 140.0};
  const size_t nz = sizeof zs / sizeof zs[0];
  ck_assert_uint_eq(nz % L, 0);
  for (size_t i = 0; i < sizeof nus / sizeof nus[0]; i++)
    for (size_t j = 0; j < nz; j += L)
      for (int need_d = 0; need_d < 2; need_d++) {
        nvmm_bessel_k kl[L], k1;
        double ml[L], dl[L], m1, d1;
        ck_assert_ok(nvmm__bessel_k_split_lanes(nus[i], zs + j, need_d, kl, ml, dl));
        for (int l = 0; l < L; l++) {
          ck_assert_ok(nvmm__bessel_k_split(nus[i], zs[j + l], need_d, &k1, &m1, &d1));
          const double a[5] = {kl[l].lnk, kl[l].rp, kl[l].rm, ml[l], dl[l]};
          const double b[5] = {k1.lnk, k1.rp, k1.rm, m1, d1};
          ck_assert_msg(memcmp(a, b, sizeof a) == 0,
                        "nu %g z %g need_d %d: lane %d differs (log K %.17g vs %.17g, mant %.17g "
                        "vs %.17g)",
                        nus[i], zs[j + l], need_d, l, a[0], b[0], a[3], b[3]);
        }
      }
  nvmm_bessel_k k[L];
  double mant[L], d1[L], z[L];
  for (int l = 0; l < L; l++)
    z[l] = l == 2 ? 0.0 : 1.0 + l;
  ck_assert_int_eq(nvmm__bessel_k_split_lanes(0.5, z, 0, k, mant, d1), NVMM_EDOM);
  nvmm_clear_error();
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("linalg");
  TCase *gram = tcase_create("gram");
  tcase_add_test(gram, gram_matches_naive_sums);
  tcase_add_test(gram, add_packed_adds_the_upper_triangle);
  suite_add_tcase(s, gram);
  TCase *tri = tcase_create("triangular");
  tcase_add_test(tri, trsv_lower_solves);
  tcase_add_test(tri, trsv_lower_exact);
  tcase_add_test(tri, cholesky_matches_naive);
  tcase_add_test(tri, cholesky_exact);
  tcase_add_test(tri, cholesky_failures);
  suite_add_tcase(s, tri);
  TCase *special = tcase_create("special");
  tcase_add_test(special, digamma_values);
  tcase_add_test(special, gig_integral_matches_quadrature);
  tcase_add_test(special, gig_integral_domain);
  tcase_add_test(special, bessel_k_split_matches_eval);
  tcase_add_test(special, bessel_k_split_lanes_matches_split);
  suite_add_tcase(s, special);
  return s;
}

NVMM_TEST_MAIN(make_suite)
