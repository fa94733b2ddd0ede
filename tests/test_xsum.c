/* test_xsum.c: the exact accumulator: exact on sums with catastrophic cancellation, independent
 * of the order of the terms and of how they are split between partial accumulators (the
 * property rank-count-independent fits rest on). */
#include <stdint.h>
#include <string.h>

#include "nvmm_test.h"

/* Terms spanning the whole exponent range, with cancellation: the exact sum is known. */
START_TEST(test_exact) {
  int64_t a[NVMM_XSUM_LIMBS] = {0};
  const double t[] = {1e300, 1.5, -1e300, -2.25, 3e-5, 7.1e-310, -7.1e-310, 1e-320, -0.75};
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    nvmm_xsum_add(a, t[i]);
  /* 1.5 - 2.25 + 3e-5 - 0.75 + 1e-320: the subnormal is below half an ulp of the result. */
  ck_assert_double_eq(nvmm_xsum_value(a), (1.5 - 2.25 - 0.75) + 3e-5);
  int64_t b[NVMM_XSUM_LIMBS] = {0};
  nvmm_xsum_add(b, -0.3);
  ck_assert_double_eq(nvmm_xsum_value(b), -0.3);
  int64_t c[NVMM_XSUM_LIMBS] = {0};
  nvmm_xsum_add(c, 4.9406564584124654e-324);
  nvmm_xsum_add(c, 4.9406564584124654e-324);
  ck_assert_double_eq(nvmm_xsum_value(c), 2 * 4.9406564584124654e-324);
  int64_t z[NVMM_XSUM_LIMBS] = {0};
  ck_assert_double_eq(nvmm_xsum_value(z), 0.0);
  int64_t big[NVMM_XSUM_LIMBS] = {0};
  nvmm_xsum_add(big, 1.7976931348623157e308);
  nvmm_xsum_add(big, -1.7976931348623157e308 / 2);
  ck_assert_double_eq(nvmm_xsum_value(big), 1.7976931348623157e308 / 2);
}
END_TEST

/* 10^5 terms of mixed sign and magnitude: the same bits in forward, reverse and strided order
 * and when split into 7 partial accumulators combined limb by limb (an MPI_SUM of limbs). */
START_TEST(test_order_independent) {
  enum { N = 100000, P = 7 };
  static double t[N];
  uint64_t s = 88172645463325252ull;
  for (int i = 0; i < N; i++) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    double u = (double)(s >> 11) / 9007199254740992.0;
    t[i] = (u - 0.5) * pow(10.0, (double)(int)(s % 41) - 20);
  }
  int64_t f[NVMM_XSUM_LIMBS] = {0}, r[NVMM_XSUM_LIMBS] = {0}, st[NVMM_XSUM_LIMBS] = {0};
  int64_t part[P][NVMM_XSUM_LIMBS], comb[NVMM_XSUM_LIMBS] = {0};
  memset(part, 0, sizeof part);
  for (int i = 0; i < N; i++) {
    nvmm_xsum_add(f, t[i]);
    nvmm_xsum_add(r, t[N - 1 - i]);
    nvmm_xsum_add(st, t[(i * 7919) % N]);
    nvmm_xsum_add(part[i % P], t[i]);
  }
  for (int p = 0; p < P; p++) {
    nvmm_xsum_normalize(part[p]);
    for (int k = 0; k < NVMM_XSUM_LIMBS; k++)
      comb[k] += part[p][k];
  }
  double v = nvmm_xsum_value(f);
  ck_assert_double_eq(nvmm_xsum_value(r), v);
  ck_assert_double_eq(nvmm_xsum_value(st), v);
  ck_assert_double_eq(nvmm_xsum_value(comb), v);
  /* An independent check of the value (not of the bits): Neumaier's compensated sum in double,
   * whose error is at most ~2 eps |S| + n eps^2 sum |t| (valgrind emulates long double as double,
   * so long double cannot serve here). */
  double sum = 0, c = 0, abs_sum = 0;
  for (int i = 0; i < N; i++) {
    double tt = sum + t[i];
    c += fabs(sum) >= fabs(t[i]) ? (sum - tt) + t[i] : (t[i] - tt) + sum;
    sum = tt;
    abs_sum += fabs(t[i]);
  }
  sum += c;
  ck_assert_msg(fabs(v - sum) <= 4.5e-16 * fabs(sum) + 1e-20 * abs_sum, "%.17g vs %.17g", v, sum);
}
END_TEST

/* The windowed combination the fit's reduction uses: partial accumulators turned into sign and
 * magnitude (nvmm_xsum_split), only the limbs inside the union of their windows summed (signed),
 * give bitwise the value of the direct sum: for totals of either sign, parts of mixed signs,
 * an all-zero part, and a total of exactly zero. The windows are narrow (the point of it). */
START_TEST(test_windowed) {
  enum { P = 5, N = 20000 };
  const double scales[] = {1.0, -1e-3, 1e12, -7.5};
  for (int c = 0; c < 5; c++) {
    int64_t part[P][NVMM_XSUM_LIMBS], direct[NVMM_XSUM_LIMBS] = {0}, comb[NVMM_XSUM_LIMBS] = {0};
    memset(part, 0, sizeof part);
    uint64_t s = 0x9E3779B97F4A7C15ull + (uint64_t)c;
    for (int i = 0; i < N; i++) {
      s ^= s << 13, s ^= s >> 7, s ^= s << 17;
      double u = (double)(s >> 11) / 9007199254740992.0;
      double t = c < 4 ? scales[c] * (u - 0.3) * (1.0 + (double)(i % 7)) : (i % 2 ? 0.1 : -0.1);
      nvmm_xsum_add(direct, t);
      nvmm_xsum_add(part[i % (P - 1)], t); /* part P-1 stays zero */
    }
    int lo = NVMM_XSUM_LIMBS, hi = -1, sign[P];
    for (int p = 0; p < P; p++) {
      int l, h;
      nvmm_xsum_normalize(part[p]);
      sign[p] = nvmm_xsum_split(part[p], &l, &h);
      ck_assert(sign[p] == 1 || sign[p] == -1);
      lo = l < lo ? l : lo;
      hi = h > hi ? h : hi;
    }
    for (int p = 0; p < P; p++)
      for (int i = lo; i <= hi; i++)
        comb[i] += sign[p] * part[p][i];
    double v = nvmm_xsum_value(direct);
    ck_assert_msg(nvmm_xsum_value(comb) == v, "case %d: %.17g vs %.17g", c, nvmm_xsum_value(comb),
                  v);
    if (c == 4)
      ck_assert(v == 0.0); /* the parts are not zero, their total is */
    else
      ck_assert_msg(hi - lo + 1 <= 5, "case %d: window of %d limbs", c, hi - lo + 1);
  }
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("xsum");
  TCase *tc = tcase_create("xsum");
  tcase_add_test(tc, test_exact);
  tcase_add_test(tc, test_windowed);
  tcase_add_test(tc, test_order_independent);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
