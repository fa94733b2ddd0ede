/* nvmm_test.h: shared helpers for the Check unit tests: the tolerance ladder, relative-error
 * assertions, the assertion of a failing call and its message, reference-table location and a
 * main() that runs one suite. */
#ifndef NVMM_TEST_H
#define NVMM_TEST_H

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "nvmm.h"

/* Tolerance ladder in multiples of machine epsilon; looser tolerances carry a comment. */
#define NVMM_TEST_TOL0 (2.0 * DBL_EPSILON)
#define NVMM_TEST_TOL1 (16.0 * DBL_EPSILON)
#define NVMM_TEST_TOL2 (256.0 * DBL_EPSILON)
#define NVMM_TEST_TOL3 (2048.0 * DBL_EPSILON)

/* |a - b| <= tol * max(1, |b|), printing both values on failure. */
#define ck_assert_close(a, b, tol)                                                                 \
  do {                                                                                             \
    double ca_ = (a), cb_ = (b), ct_ = (tol);                                                      \
    double cs_ = fabs(cb_) > 1.0 ? fabs(cb_) : 1.0;                                                \
    ck_assert_msg(isfinite(ca_) && fabs(ca_ - cb_) <= ct_ * cs_,                                   \
                  "%s = %.17g, expected %.17g (tol %.3g, err %.3g)", #a, ca_, cb_, ct_,            \
                  fabs(ca_ - cb_) / cs_);                                                          \
  } while (0)

/* |a - b| <= tol * |b| (pure relative). */
#define ck_assert_rel(a, b, tol)                                                                   \
  do {                                                                                             \
    double ca_ = (a), cb_ = (b), ct_ = (tol);                                                      \
    ck_assert_msg(isfinite(ca_) && fabs(ca_ - cb_) <= ct_ * fabs(cb_),                             \
                  "%s = %.17g, expected %.17g (rel tol %.3g, rel err %.3g)", #a, ca_, cb_, ct_,    \
                  fabs(ca_ - cb_) / fabs(cb_));                                                    \
  } while (0)

#define ck_assert_ok(expr)                                                                         \
  do {                                                                                             \
    nvmm_status cs_ = (expr);                                                                      \
    ck_assert_msg(cs_ == NVMM_OK, "%s -> %s: %s", #expr, nvmm_strerror(cs_), nvmm_last_error());   \
  } while (0)

/* Asserts a failing call: its status, and that its message contains every given fragment. */
#define ck_assert_fails(expr, code, ...)                                                           \
  do {                                                                                             \
    nvmm_clear_error();                                                                            \
    nvmm_status fs_ = (expr);                                                                      \
    ck_assert_msg(fs_ == (code), "%s -> %s (expected %s): %s", #expr, nvmm_strerror(fs_),          \
                  nvmm_strerror(code), nvmm_last_error());                                         \
    const char *frags_[] = {__VA_ARGS__};                                                          \
    for (size_t k_ = 0; k_ < sizeof frags_ / sizeof *frags_; k_++)                                 \
      ck_assert_msg(strstr(nvmm_last_error(), frags_[k_]) != NULL,                                 \
                    "message '%s' does not mention '%s'", nvmm_last_error(), frags_[k_]);          \
  } while (0)

/* Opens a committed reference table from the directory in $NVMM_TEST_DATA. */
static inline FILE *nvmm_test_open_data(const char *name) {
  const char *dir = getenv("NVMM_TEST_DATA");
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", name);
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "cannot open reference table %s", path);
  return f;
}

/* main() for a test executable holding one suite. */
#define NVMM_TEST_MAIN(make_suite)                                                                 \
  int main(void) {                                                                                 \
    gsl_set_error_handler_off();                                                                   \
    SRunner *sr = srunner_create(make_suite());                                                    \
    srunner_run_all(sr, CK_NORMAL);                                                                \
    int nf = srunner_ntests_failed(sr);                                                            \
    srunner_free(sr);                                                                              \
    return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                                  \
  }

#endif
