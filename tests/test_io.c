/* test_io.c: placeholder suite until the module lands. */
#include "nvmm_test.h"

START_TEST(test_placeholder) { ck_assert_int_eq(nvmm_strerror(NVMM_OK)[0], 's'); }
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("placeholder");
  tcase_add_test(tc, test_placeholder);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_MAIN(make_suite)
