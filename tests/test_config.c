/* test_config.c: the `nvmm fit` configuration reader (src/cli/config.c): INI files with every
 * key, comments, CRLF, [fit] and top-level keys; flags over file values; each error with its
 * exact message, which names the first error's line together with its section and key; values
 * of each type out of range; and the stored configuration of a checkpoint read back to the same
 * options. The reader prints its errors on rank 0 through cli_error: each message is taken from
 * stderr, redirected to a temporary file around the call. */
#include <ini.h>
#include <mpi.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "nvmm_test.h"
#include "nvmm_test_mpi.h"

static char tmp_dir[64];    /* this run's scratch directory */
static char path[256];      /* the config file of the current case */
static char captured[8192]; /* what the last captured call wrote on stderr */
static cli_fit_config cfg;  /* static: ~21 KB */
static cli_fit_config cfg2; /* the stored configuration read back */
static char stored[16384];  /* the stored configuration text (the size fit.c uses) */

/* Writes text to the file `name` in the scratch directory; its path goes to path. */
static void write_config(const char *name, const char *text) {
  snprintf(path, sizeof path, "%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(fputs(text, f) >= 0, 1);
  ck_assert_int_eq(fclose(f), 0);
}

/* stderr goes to a temporary file from begin_capture to end_capture, which reads it into
 * captured. No assertion between the two: Check does not fork here, and a failing one would
 * leave stderr redirected. */
static int saved_stderr = -1;
static FILE *capture_file;

static void begin_capture(void) {
  fflush(stderr);
  capture_file = tmpfile();
  ck_assert_ptr_nonnull(capture_file);
  saved_stderr = dup(STDERR_FILENO);
  ck_assert_int_ge(saved_stderr, 0);
  ck_assert_int_ge(dup2(fileno(capture_file), STDERR_FILENO), 0);
}

static void end_capture(void) {
  fflush(stderr);
  ck_assert_int_ge(dup2(saved_stderr, STDERR_FILENO), 0);
  close(saved_stderr);
  rewind(capture_file);
  size_t n = fread(captured, 1, sizeof captured - 1, capture_file);
  captured[n] = '\0';
  fclose(capture_file);
}

/* Reads text as a config file from a clean table; returns cli_config_read's result with its
 * stderr in captured. */
static int read_text_as_file(const char *text) {
  write_config("case.ini", text);
  cli_config_reset();
  begin_capture();
  int rc = cli_config_read(MPI_COMM_WORLD, path);
  end_capture();
  return rc;
}

static int apply(cli_fit_config *c) {
  begin_capture();
  int rc = cli_config_apply(MPI_COMM_WORLD, c);
  end_capture();
  return rc;
}

/* Asserts that captured is exactly one error line: "nvmm: error: " prefix, then body. */
static void assert_message(const char *body) {
  char want[8192];
  snprintf(want, sizeof want, "nvmm: error: %s\n", body);
  ck_assert_str_eq(captured, want);
}

/* The reader refuses text, and says "PATH:" + where_what, and nothing else. */
static void assert_read_error(const char *text, const char *where_what) {
  ck_assert_int_eq(read_text_as_file(text), -1);
  char body[4096];
  snprintf(body, sizeof body, "%s:%s", path, where_what);
  assert_message(body);
}

/* The reader accepts text, and the apply step refuses it with "PATH (key 'KEY'): " + what. */
static void assert_apply_error(const char *text, const char *key, const char *what) {
  ck_assert_int_eq(read_text_as_file(text), 0);
  ck_assert_str_eq(captured, "");
  ck_assert_int_eq(apply(&cfg), -1);
  char body[4096];
  snprintf(body, sizeof body, "%s (key '%s'): %s", path, key, what);
  assert_message(body);
}

/* Every key under [fit], with comments of both kinds, an inline comment, blank lines and
 * blanks around '='. */
START_TEST(every_key_in_fit_section) {
  ck_assert_int_eq(read_text_as_file("; nvmm fit configuration\n"
                                     "# both comment characters\n"
                                     "\n"
                                     "[fit]\n"
                                     "data = /tmp/a b.h5:/grp/Y\n"
                                     "family=gh\n"
                                     "out   =   m 1.h5   ; inline comment\n"
                                     "max_iter = 17\n"
                                     "tol = 2.385e-7\n"
                                     "regularization = a_eq_b\n"
                                     "algorithm = mcecm\n"
                                     "init = submodels\n"
                                     "alpha_min = 0.173\n"
                                     "block_rows = 1000\n"
                                     "memory_limit = 1.5G\n"
                                     "scalapack_min_d = 64\n"
                                     "checkpoint = ck.h5\n"
                                     "checkpoint_every = 3\n"
                                     "resume = old.h5\n"
                                     "verbose = 2\n"
                                     "json = 1\n"),
                   0);
  ck_assert_str_eq(captured, "");
  ck_assert_int_eq(apply(&cfg), 0);
  ck_assert_str_eq(captured, "");
  ck_assert_str_eq(cfg.data, "/tmp/a b.h5");
  ck_assert_str_eq(cfg.dataset, "/grp/Y");
  ck_assert_int_eq(cfg.o.family, NVMM_FAMILY_GH);
  ck_assert_str_eq(cfg.out, "m 1.h5");
  ck_assert_int_eq(cfg.o.max_iter, 17);
  ck_assert(cfg.o.tol == 2.385e-7);
  ck_assert_int_eq(cfg.o.regularization, NVMM_REG_A_EQ_B);
  ck_assert_int_eq(cfg.o.algorithm, NVMM_ALG_MCECM);
  ck_assert_int_eq(cfg.o.init, NVMM_INIT_SUBMODELS);
  ck_assert(cfg.o.alpha_min == 0.173);
  ck_assert_int_eq(cfg.alpha_min_density, 0);
  ck_assert_int_eq(cfg.o.block_rows, 1000);
  ck_assert_int_eq(cfg.memory_limit, 1610612736); /* 1.5 * 2^30 */
  ck_assert_int_eq(cfg.o.scalapack_min_d, 64);
  ck_assert_str_eq(cfg.checkpoint, "ck.h5");
  ck_assert_int_eq(cfg.checkpoint_every, 3);
  ck_assert_str_eq(cfg.resume, "old.h5");
  ck_assert_int_eq(cfg.verbose, 2);
  ck_assert_int_eq(cfg.json, 1);
}
END_TEST

/* Top-level keys (no section) with CRLF line ends, a model file as init, alpha_min = density,
 * and a key given twice (the later line wins, as in any INI reader). Unset keys keep the
 * defaults of nvmm_fit_options_default and cli_fit_config_default. */
START_TEST(top_level_keys_crlf) {
  ck_assert_int_eq(read_text_as_file("data = x.h5\r\n"
                                     "; comment\r\n"
                                     "family = vg\r\n"
                                     "init = start.h5\r\n"
                                     "alpha_min = density\r\n"
                                     "memory_limit = 512K\r\n"
                                     "max_iter = 5\r\n"
                                     "max_iter = 9\r\n"),
                   0);
  ck_assert_int_eq(apply(&cfg), 0);
  ck_assert_str_eq(cfg.data, "x.h5");
  ck_assert_str_eq(cfg.dataset, "/X");
  ck_assert_int_eq(cfg.o.family, NVMM_FAMILY_VG);
  ck_assert_int_eq(cfg.o.init, NVMM_INIT_MODEL);
  ck_assert_str_eq(cfg.init_model, "start.h5");
  ck_assert_int_eq(cfg.alpha_min_density, 1);
  ck_assert_int_eq(cfg.memory_limit, 524288);
  ck_assert_int_eq(cfg.o.max_iter, 9);
  nvmm_fit_options def;
  nvmm_fit_options_default(NVMM_FAMILY_VG, &def);
  ck_assert(cfg.o.tol == def.tol);
  ck_assert_int_eq(cfg.o.regularization, def.regularization);
  ck_assert_int_eq(cfg.o.block_rows, def.block_rows);
  ck_assert_str_eq(cfg.out, "model.h5");
  ck_assert_int_eq(cfg.checkpoint_every, 10);
  ck_assert_int_eq(cfg.verbose, 1);
  ck_assert_int_eq(cfg.json, 0);
  /* An empty file and a file of comments set nothing. */
  ck_assert_int_eq(read_text_as_file(""), 0);
  ck_assert_int_eq(read_text_as_file("; a\n# b\n\n[fit]\n; c\n"), 0);
  ck_assert_str_eq(captured, "");
}
END_TEST

/* Flags win over the file (the order `nvmm fit FILE --flag value` applies them), keep the
 * file's other values, and name themselves in their errors. */
START_TEST(flags_override_file) {
  ck_assert_int_eq(read_text_as_file("[fit]\ndata = f.h5\nfamily = gh\ntol = 1e-3\nverbose = 2\n"),
                   0);
  ck_assert_int_eq(cli_config_is_flag("--max-iter"), 1);
  ck_assert_int_eq(cli_config_is_flag("--tol"), 1);
  ck_assert_int_eq(cli_config_is_flag("--tolerance"), 0);
  ck_assert_int_eq(cli_config_is_flag("max-iter"), 0);
  begin_capture();
  int rc = cli_config_flag(MPI_COMM_WORLD, "--tol", "2.385e-9") |
           cli_config_flag(MPI_COMM_WORLD, "--family", "nig") |
           cli_config_flag(MPI_COMM_WORLD, "--checkpoint-every", "4");
  end_capture();
  ck_assert_int_eq(rc, 0);
  ck_assert_str_eq(captured, "");
  ck_assert_int_eq(apply(&cfg), 0);
  ck_assert(cfg.o.tol == 2.385e-9);
  ck_assert_int_eq(cfg.o.family, NVMM_FAMILY_NIG);
  ck_assert_int_eq(cfg.checkpoint_every, 4);
  ck_assert_str_eq(cfg.data, "f.h5");
  ck_assert_int_eq(cfg.verbose, 2);

  begin_capture();
  rc = cli_config_flag(MPI_COMM_WORLD, "--tolerance", "1");
  end_capture();
  ck_assert_int_eq(rc, -1);
  assert_message("fit: unknown option '--tolerance' (see nvmm fit --help)");
  begin_capture();
  rc = cli_config_flag(MPI_COMM_WORLD, "--max-iter", "0");
  end_capture();
  ck_assert_int_eq(rc, 0);
  ck_assert_int_eq(apply(&cfg), -1);
  assert_message("option --max-iter: '0' must be an integer in [1, 100000000]");
}
END_TEST

/* Unknown keys and sections: the message names the first one, with its own line. */
START_TEST(unknown_key_and_section) {
  assert_read_error("[fit]\nfamily = nig\n\ntolerance = 1e-3\n",
                    "4: unknown config key 'tolerance' in section [fit] (see nvmm fit --help)");
  assert_read_error("family = nig\nfoo = 2\n",
                    "2: unknown config key 'foo' at the top level (see nvmm fit --help)");
  assert_read_error("family = nig\n[bar]\nx = 1\n",
                    "3: unknown section [bar] (key 'x'; keys go at the top or under [fit])");
}
END_TEST

/* Several errors: the first one in the file, its line, section and key together (libinih goes
 * on after an error and returns the first error's line). */
START_TEST(first_error_wins) {
  /* Two unknown sections: the first, on the line of its first key. */
  assert_read_error("[alpha]\n; c\na = 1\n[beta]\nb = 2\n[gamma]\nc = 3\n",
                    "3: unknown section [alpha] (key 'a'; keys go at the top or under [fit])");
  /* Two unknown keys. */
  assert_read_error("[fit]\nfoo = 1\nbar = 2\n",
                    "2: unknown config key 'foo' in section [fit] (see nvmm fit --help)");
  /* An unknown section, then an unknown key under [fit]. */
  assert_read_error("[bar]\nx = 1\n[fit]\nfoo = 2\n",
                    "2: unknown section [bar] (key 'x'; keys go at the top or under [fit])");
  /* An unknown key, then an unknown section. */
  assert_read_error("data = d.h5\nfoo = 1\n[bar]\nx = 1\n",
                    "2: unknown config key 'foo' at the top level (see nvmm fit --help)");
  /* A syntax error, then an unknown key. */
  assert_read_error("[fit]\nmax_iter 20\nfoo = 1\n", "2: syntax error (expected key = value)");
  /* An unknown key, then a syntax error. */
  assert_read_error("foo = 1\nmax_iter 20\n",
                    "1: unknown config key 'foo' at the top level (see nvmm fit --help)");
  /* An unknown key, then a line too long. */
  char text[1024];
  snprintf(text, sizeof text, "[fit]\nfoo = 1\nout = %0300d\n", 7);
  assert_read_error(text, "2: unknown config key 'foo' in section [fit] (see nvmm fit --help)");
}
END_TEST

START_TEST(syntax_errors) {
  assert_read_error("[fit]\nfamily = nig\nmax_iter 20\n", "3: syntax error (expected key = value)");
  assert_read_error("[fit\nfamily = nig\n", "1: syntax error (expected key = value)");
  assert_read_error("family = nig\r\njust words\r\n", "2: syntax error (expected key = value)");
  snprintf(path, sizeof path, "%s/missing.ini", tmp_dir);
  cli_config_reset();
  begin_capture();
  int rc = cli_config_read(MPI_COMM_WORLD, path);
  end_capture();
  ck_assert_int_eq(rc, -1);
  char want[512];
  snprintf(want, sizeof want, "cannot read config file %s: No such file or directory", path);
  assert_message(want);
}
END_TEST

/* libinih's line buffer holds INI_MAX_LINE - 1 characters (Debian: 199); a longer line stops
 * the parse instead of being read as two lines. Exactly that many is whole, with or without a
 * newline after it. */
START_TEST(line_too_long) {
  const int max = INI_MAX_LINE - 1;
  char text[1024], value[512];
  /* "out = " and a value, max characters in all. */
  snprintf(value, sizeof value, "%0*d", max - 6, 2385);
  snprintf(text, sizeof text, "[fit]\nout = %s\ndata = d.h5\n", value);
  ck_assert_int_eq(read_text_as_file(text), 0);
  ck_assert_int_eq(apply(&cfg), 0);
  ck_assert_str_eq(cfg.out, value);
  snprintf(text, sizeof text, "data = d.h5\nout = %s", value);
  ck_assert_int_eq(read_text_as_file(text), 0);
  ck_assert_int_eq(apply(&cfg), 0);
  ck_assert_str_eq(cfg.out, value);
  /* One more character. */
  snprintf(text, sizeof text, "[fit]\ndata = d.h5\nout = %s7\nfamily = gh\n", value);
  char want[128];
  snprintf(want, sizeof want, "3: line longer than %d characters", max);
  assert_read_error(text, want);
  /* A long comment is as long. */
  snprintf(text, sizeof text, "; %0300d\n", 1);
  snprintf(want, sizeof want, "1: line longer than %d characters", max);
  assert_read_error(text, want);
}
END_TEST

/* Values of each type out of their range or not parseable, with the apply step's message. */
START_TEST(bad_values) {
  const char *lim = "must be an integer in";
  char what[256];
  assert_apply_error("data = d.h5\ntol = -1\n", "tol", "tol = -1 must be non-negative");
  assert_apply_error("data = d.h5\ntol = 1e-3x\n", "tol", "'1e-3x' is not a finite number");
  assert_apply_error("data = d.h5\ntol = inf\n", "tol", "'inf' is not a finite number");
  assert_apply_error("data = d.h5\ntol = 1e999\n", "tol", "'1e999' is not a finite number");
  snprintf(what, sizeof what, "'0' %s [1, 100000000]", lim);
  assert_apply_error("data = d.h5\nmax_iter = 0\n", "max_iter", what);
  snprintf(what, sizeof what, "'12.5' %s [1, 100000000]", lim);
  assert_apply_error("data = d.h5\nmax_iter = 12.5\n", "max_iter", what);
  snprintf(what, sizeof what, "'99999999999999999999' %s [1, 100000000]", lim);
  assert_apply_error("data = d.h5\nmax_iter = 99999999999999999999\n", "max_iter", what);
  snprintf(what, sizeof what, "'3' %s [0, 2]", lim);
  assert_apply_error("data = d.h5\nverbose = 3\n", "verbose", what);
  snprintf(what, sizeof what, "'yes' %s [0, 1]", lim);
  assert_apply_error("data = d.h5\njson = yes\n", "json", what);
  snprintf(what, sizeof what, "'0' %s [1, 1073741824]", lim);
  assert_apply_error("data = d.h5\nblock_rows = 0\n", "block_rows", what);
  snprintf(what, sizeof what, "'2000000' %s [1, 1048576]", lim);
  assert_apply_error("data = d.h5\nscalapack_min_d = 2000000\n", "scalapack_min_d", what);
  snprintf(what, sizeof what, "'-1' %s [1, 100000000]", lim);
  assert_apply_error("data = d.h5\ncheckpoint_every = -1\n", "checkpoint_every", what);
  assert_apply_error("data = d.h5\nalpha_min = -0.5\n", "alpha_min",
                     "alpha_min must be non-negative");
  assert_apply_error("data = d.h5\nalpha_min = dense\n", "alpha_min",
                     "'dense' is not a finite number");
  const char *sizes[] = {"0", "12Q", "-5M", "1.5GB", "K", "1e30G"};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char text[128];
    snprintf(text, sizeof text, "data = d.h5\nmemory_limit = %s\n", sizes[i]);
    snprintf(what, sizeof what, "'%s' is not a positive size (bytes, or with K, M or G)", sizes[i]);
    assert_apply_error(text, "memory_limit", what);
  }
  assert_apply_error("data = d.h5\nalgorithm = newton\n", "algorithm",
                     "unknown algorithm 'newton' (expected em, mcecm or incremental)");
  assert_apply_error("data = d.h5\ninit = submodels\n", "init",
                     "init = submodels is for family gh only");
  /* The library's own message for a name it does not know. */
  nvmm_family fam;
  ck_assert_int_eq(nvmm_family_parse("student", &fam), NVMM_EINVAL);
  snprintf(what, sizeof what, "%s", nvmm_last_error());
  assert_apply_error("data = d.h5\nfamily = student\n", "family", what);
  nvmm_regularization reg;
  ck_assert_int_eq(nvmm_regularization_parse("det_sigma_two", &reg), NVMM_EINVAL);
  snprintf(what, sizeof what, "%s", nvmm_last_error());
  assert_apply_error("data = d.h5\nregularization = det_sigma_two\n", "regularization", what);
  nvmm_clear_error();
  /* No data at all. */
  ck_assert_int_eq(read_text_as_file("family = nig\n"), 0);
  ck_assert_int_eq(apply(&cfg), -1);
  assert_message("fit: no data given (set --data FILE.h5 or the config key 'data')");
}
END_TEST

/* The configuration a checkpoint stores (cli_config_text) reads back (cli_config_read_text) to
 * the same options, bit for bit, even where libinih would have changed a value: " ; " in a
 * path, blanks at its ends. */
START_TEST(stored_round_trip) {
  ck_assert_int_eq(read_text_as_file("[fit]\ndata = in.h5:/g/X\nfamily = gh\nmax_iter = 31\n"
                                     "tol = 0.1\nregularization = det_sigma_x\nalgorithm = mcecm\n"
                                     "init = submodels\nalpha_min = 0.3\nblock_rows = 777\n"
                                     "memory_limit = 3M\nscalapack_min_d = 99\n"
                                     "checkpoint = c.h5\ncheckpoint_every = 6\nverbose = 0\n"
                                     "json = 1\n"),
                   0);
  ck_assert_int_eq(apply(&cfg), 0);
  /* Values no INI file can carry. */
  snprintf(cfg.out, sizeof cfg.out, " out ; x.h5 ");
  cfg.o.tol = 1.0 / 3.0;
  size_t used = cli_config_text(&cfg, stored, sizeof stored);
  ck_assert_uint_lt(used, sizeof stored);
  ck_assert_uint_eq(strlen(stored), used);
  cli_config_reset();
  begin_capture();
  int rc = cli_config_read_text(MPI_COMM_WORLD, stored, "ck.h5");
  end_capture();
  ck_assert_int_eq(rc, 0);
  ck_assert_str_eq(captured, "");
  ck_assert_int_eq(apply(&cfg2), 0);
  ck_assert_str_eq(cfg2.data, cfg.data);
  ck_assert_str_eq(cfg2.dataset, "/g/X");
  ck_assert_str_eq(cfg2.out, " out ; x.h5 ");
  ck_assert_int_eq(cfg2.o.family, cfg.o.family);
  ck_assert_int_eq(cfg2.o.max_iter, 31);
  ck_assert(memcmp(&cfg2.o.tol, &cfg.o.tol, sizeof cfg.o.tol) == 0);
  ck_assert_int_eq(cfg2.o.regularization, NVMM_REG_DET_SIGMA_X);
  ck_assert_int_eq(cfg2.o.algorithm, NVMM_ALG_MCECM);
  ck_assert_int_eq(cfg2.o.init, NVMM_INIT_SUBMODELS);
  ck_assert(cfg2.o.alpha_min == 0.3);
  ck_assert_int_eq(cfg2.o.block_rows, 777);
  ck_assert_int_eq(cfg2.memory_limit, 3 * 1048576);
  ck_assert_int_eq(cfg2.o.scalapack_min_d, 99);
  ck_assert_str_eq(cfg2.checkpoint, "c.h5");
  ck_assert_int_eq(cfg2.checkpoint_every, 6);
  ck_assert_int_eq(cfg2.verbose, 0);
  ck_assert_int_eq(cfg2.json, 1);

  /* The stored text is JSON (one object, a member per key): an unknown key, a value that is
   * neither a string nor a number, text that is not JSON, and a value longer than the table
   * holds are refused, naming the checkpoint. */
  ck_assert_ptr_nonnull(strstr(stored, "\"tol\": 0.33333333333333331"));
  static const char *const bad[][2] = {
      {"{\"family\": \"gh\", \"foo\": 1}", "(unknown key 'foo')"},
      {"{\"tol\": [1]}", "(key 'tol' is not a string or a number)"},
      {"[\"family\"]", "(not a JSON object)"},
      {"family = gh\n", "(line 1: '[' or '{' expected near 'family')"},
  };
  for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
    cli_config_reset();
    begin_capture();
    rc = cli_config_read_text(MPI_COMM_WORLD, bad[k][0], "ck.h5");
    end_capture();
    ck_assert_int_eq(rc, -1);
    char want[256];
    snprintf(want, sizeof want, "ck.h5: cannot use the stored configuration %s", bad[k][1]);
    assert_message(want);
  }
  char *text = malloc(CLI_PATH_MAX + 64);
  ck_assert_ptr_nonnull(text);
  snprintf(text, CLI_PATH_MAX + 64, "{\"out\": \"%0*d\"}", CLI_PATH_MAX, 1);
  cli_config_reset();
  begin_capture();
  rc = cli_config_read_text(MPI_COMM_WORLD, text, "ck.h5");
  end_capture();
  free(text);
  ck_assert_int_eq(rc, -1);
  assert_message("ck.h5: cannot use the stored configuration (the value of key 'out' is too "
                 "long)");
  /* A value that is not UTF-8 cannot be stored: refused when the options are applied. */
  cli_config_reset();
  ck_assert_int_eq(cli_config_flag(MPI_COMM_WORLD, "--data", "x.h5"), 0);
  ck_assert_int_eq(cli_config_flag(MPI_COMM_WORLD, "--out", "m\xff.h5"), 0);
  ck_assert_int_eq(apply(&cfg2), -1);
  assert_message("option --out: the value is not UTF-8 text");
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("config");
  TCase *valid = tcase_create("valid");
  tcase_add_test(valid, every_key_in_fit_section);
  tcase_add_test(valid, top_level_keys_crlf);
  tcase_add_test(valid, flags_override_file);
  tcase_add_test(valid, stored_round_trip);
  suite_add_tcase(s, valid);
  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, unknown_key_and_section);
  tcase_add_test(errors, first_error_wins);
  tcase_add_test(errors, syntax_errors);
  tcase_add_test(errors, line_too_long);
  tcase_add_test(errors, bad_values);
  suite_add_tcase(s, errors);
  return s;
}

/* Not NVMM_TEST_MAIN: cli_error asks MPI for the rank, and Check must not fork under MPI. */
int main(void) {
  MPI_Init(NULL, NULL);
  gsl_set_error_handler_off();
  nvmm_test_mkdtemp(tmp_dir, sizeof tmp_dir, "test_config");
  int nf = nvmm_test_run_mpi(make_suite());
  if (nf == 0)
    nvmm_test_rmtree(tmp_dir);
  MPI_Finalize();
  return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
