/* test_status.c: the status table, the last-error buffer and the error handler. */
#include <string.h>

#include "nvmm_test.h"

static int handler_calls;
static nvmm_status handler_code;

static void counting_handler(const char *file, int line, const char *func, nvmm_status code,
                             const char *msg) {
  (void)file, (void)line, (void)func, (void)msg;
  handler_calls++;
  handler_code = code;
}

static nvmm_status raise_edom(double x) {
  NVMM_CHECK(x > 0, NVMM_EDOM, "x = %g must be positive", x);
  return NVMM_OK;
}

START_TEST(test_strerror) {
  ck_assert_str_eq(nvmm_strerror(NVMM_OK), "success");
  ck_assert_str_eq(nvmm_strerror(NVMM_EDOM), "argument outside the domain");
  ck_assert_str_eq(nvmm_strerror((nvmm_status)12345), "unknown status");
}
END_TEST

START_TEST(test_error_path) {
  nvmm_clear_error();
  ck_assert_str_eq(nvmm_last_error(), "");
  nvmm_error_handler *old = nvmm_set_error_handler(counting_handler);
  ck_assert_int_eq(raise_edom(2.5), NVMM_OK);
  ck_assert_int_eq(handler_calls, 0);
  ck_assert_int_eq(raise_edom(-2.5), NVMM_EDOM);
  ck_assert_int_eq(handler_calls, 1);
  ck_assert_int_eq(handler_code, NVMM_EDOM);
  ck_assert_str_eq(nvmm_last_error(), "x = -2.5 must be positive");
  ck_assert_ptr_eq(nvmm_set_error_handler(old), counting_handler);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("status");
  TCase *tc = tcase_create("status");
  tcase_add_test(tc, test_strerror);
  tcase_add_test(tc, test_error_path);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
