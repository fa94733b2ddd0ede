/* nvmm_test_gig.h: what the subordinator tests (test_gig.c, test_gig_solve.c) share: a
 * constructor that asserts its parameters valid, and the accuracy asked of the quadratures that
 * give their independent references. */
#ifndef NVMM_TEST_GIG_H
#define NVMM_TEST_GIG_H

#include "nvmm_test.h"

/* Relative accuracy asked of GSL's adaptive quadrature for the tests' references (GSL's floor
 * is 50 ulps, 1.1e-14, with epsabs = 0). */
#define QUAD_EPSREL 1e-13

/* The subordinator of the given kind and parameters, which must be valid. */
static inline nvmm_sub make(nvmm_sub_kind kind, double p0, double p1, double p2) {
  double par[3] = {p0, p1, p2};
  nvmm_sub s;
  ck_assert_ok(nvmm_sub_make(kind, par, &s));
  return s;
}

#endif
