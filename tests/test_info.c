/* test_info.c: what `nvmm info` says about a file (src/cli/info.c, cli_info_describe): the text
 * and the JSON object of data files, other HDF5 files, model files of every family (values
 * bitwise), their history, meta and checkpoint state, invalid models, non-UTF-8 names, and the
 * errors for a missing or non-HDF5 file. */
#define _GNU_SOURCE
#include "cli.h"
#include "nvmm_test_io.h"

/* The text and the JSON object of a file that describes without error. The text lives until
 * the next call; free the object with json_decref. */
static const char *describe(const char *path, json_t **json) {
  static char *text;
  size_t len = 0;
  free(text);
  FILE *f = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(f);
  nvmm_status st = cli_info_describe(path, f, json);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_msg(st == NVMM_OK, "%s: %s", path, nvmm_last_error());
  ck_assert_ptr_nonnull(*json);
  return text;
}

#define ck_assert_has(text, frag) ck_assert_msg(strstr(text, frag), "no '%s' in:\n%s", frag, text)

/* The string, integer and real members of a JSON object, checked for their type. */
static const char *jstring(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  ck_assert_msg(json_is_string(v), "'%s' is not a string", key);
  return json_string_value(v);
}

static json_int_t jint(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  ck_assert_msg(json_is_integer(v), "'%s' is not an integer", key);
  return json_integer_value(v);
}

static double jnum(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  ck_assert_msg(json_is_real(v), "'%s' is not a real", key);
  return json_real_value(v);
}

/* Bitwise: the JSON array a holds the n values v. */
static void ck_assert_vec(const json_t *a, const double *v, size_t n) {
  ck_assert(json_is_array(a));
  ck_assert_uint_eq(json_array_size(a), n);
  for (size_t i = 0; i < n; i++) {
    double x = json_real_value(json_array_get(a, i));
    ck_assert_msg(json_is_real(json_array_get(a, i)) && !memcmp(&x, &v[i], sizeof x),
                  "entry %zu: %.17g != %.17g", i, x, v[i]);
  }
}

static nvmm_model *make_model(nvmm_family f) {
  const size_t d = 3;
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(f, d, &m));
  double mu[3], gamma[3], sigma[9];
  for (size_t i = 0; i < d; i++) {
    mu[i] = 0.3 - 0.45 * (double)i + 1.0 / 3.0;
    gamma[i] = f == NVMM_FAMILY_GAUSS ? 0.0 : (i % 2 ? -0.31 : 0.43) / (1.0 + 0.2 * (double)i);
    for (size_t j = 0; j < d; j++)
      sigma[i * d + j] = (i == j ? 1.1 : 0.3) * (1.0 + 0.1 * (double)(i + j));
  }
  static const double par[NVMM_FAMILY_COUNT][3] = {
      {0, 0, 0}, {3.1, 1.9, 0}, {3.5, 2.2, 0}, {1.3, 1.7, 0}, {-1.7, 1.3, 2.4}, {2.0, 1.3, 2.4}};
  nvmm_sub sub = {NVMM_SUB_DEGENERATE, {0, 0, 0}};
  if (f != NVMM_FAMILY_GAUSS)
    ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(f), par[f], &sub));
  ck_assert_ok(nvmm_model_set(m, mu, gamma, sigma, &sub));
  return m;
}

START_TEST(test_data_file) {
  const char *csv = tpath("data.csv"), *path = tpath("data.h5");
  FILE *f = fopen(csv, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "date,SMI,x2,x3\n");
  for (int i = 0; i < 1003; i++)
    fprintf(f, "2001-01-%02d,%d.5,%d,-%d\n", 1 + i % 28, i, 2 * i, i % 7);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_ok(nvmm_import_csv(csv, path, "/X", NULL));
  json_t *j = NULL;
  const char *text = describe(path, &j);
  ck_assert_has(text, "data file '");
  ck_assert_has(text, "(1 2-D numeric dataset)\n");
  ck_assert_has(text, "\n  /X: 1003 x 3 float64 (rows x columns), columns: SMI, x2, x3\n");
  ck_assert_str_eq(jstring(j, "file"), path);
  ck_assert_str_eq(jstring(j, "kind"), "data");
  json_t *objects = json_object_get(j, "objects");
  ck_assert_uint_eq(json_array_size(objects), 1);
  json_t *x = json_array_get(objects, 0);
  ck_assert_str_eq(jstring(x, "path"), "/X");
  ck_assert_str_eq(jstring(x, "object"), "dataset");
  ck_assert_str_eq(jstring(x, "type"), "float64");
  ck_assert(json_is_true(json_object_get(x, "table")));
  json_t *shape = json_object_get(x, "shape"), *cols = json_object_get(x, "columns");
  ck_assert_uint_eq(json_array_size(shape), 2);
  ck_assert_int_eq(json_integer_value(json_array_get(shape, 0)), 1003);
  ck_assert_int_eq(json_integer_value(json_array_get(shape, 1)), 3);
  ck_assert_uint_eq(json_array_size(cols), 3);
  ck_assert_str_eq(json_string_value(json_array_get(cols, 0)), "SMI");
  ck_assert_str_eq(json_string_value(json_array_get(cols, 2)), "x3");
  ck_assert_ptr_null(json_object_get(j, "family"));
  json_decref(j);
}
END_TEST

/* Not a data file: a 1-D dataset, a scalar, a group and a dangling link, in path order. */
START_TEST(test_other_file) {
  const char *path = tpath("other.h5");
  hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(file, 0);
  double v[4] = {1, 2, 3, 4};
  hsize_t n = 4;
  hid_t space = H5Screate_simple(1, &n, NULL), scalar = H5Screate(H5S_SCALAR);
  hid_t dset = H5Dcreate2(file, "v", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
  H5Dclose(dset);
  H5Gclose(H5Gcreate2(file, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  dset = H5Dcreate2(file, "g/k", H5T_STD_U16LE, scalar, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(dset, 0);
  H5Dclose(dset);
  ck_assert_int_ge(H5Lcreate_soft("/nowhere", file, "l", H5P_DEFAULT, H5P_DEFAULT), 0);
  H5Sclose(space);
  H5Sclose(scalar);
  ck_assert_int_ge(H5Fclose(file), 0);
  json_t *j = NULL;
  const char *text = describe(path, &j);
  ck_assert_has(text, "(no 2-D numeric dataset, not an nvmm model)\n"
                      "  /g/ (group)\n"
                      "  /g/k: scalar uint16\n"
                      "  /l: (dangling or external link)\n"
                      "  /v: 4 float64\n");
  ck_assert_str_eq(jstring(j, "kind"), "hdf5");
  json_t *objects = json_object_get(j, "objects");
  static const char *const want[4][3] = {
      {"/g", "group"}, {"/g/k", "dataset", "uint16"}, {"/l", "link"}, {"/v", "dataset", "float64"}};
  ck_assert_uint_eq(json_array_size(objects), 4);
  for (size_t i = 0; i < 4; i++) {
    json_t *e = json_array_get(objects, i);
    ck_assert_str_eq(jstring(e, "path"), want[i][0]);
    ck_assert_str_eq(jstring(e, "object"), want[i][1]);
    if (want[i][2]) {
      ck_assert_str_eq(jstring(e, "type"), want[i][2]);
      ck_assert(json_is_false(json_object_get(e, "table")));
    }
  }
  ck_assert_uint_eq(json_array_size(json_object_get(json_array_get(objects, 1), "shape")), 0);
  json_decref(j);
}
END_TEST

START_TEST(test_model_file) {
  nvmm_family f = (nvmm_family)_i;
  char name[64];
  snprintf(name, sizeof name, "model_%s.h5", nvmm_family_name(f));
  const char *path = tpath(name);
  nvmm_model *m = make_model(f);
  ck_assert_ok(nvmm_model_write(path, m, NULL, NULL));
  json_t *j = NULL;
  const char *text = describe(path, &j);
  char want[128];
  snprintf(want, sizeof want, "\n  family: %s, d = 3\n  mu: [", nvmm_family_name(f));
  ck_assert_has(text, want);
  ck_assert_has(text, "nvmm model file '");
  ck_assert_msg(!strstr(text, "history:") && !strstr(text, "fit:"), "%s", text);
  ck_assert_str_eq(jstring(j, "kind"), "model");
  ck_assert_str_eq(jstring(j, "nvmm_version"), NVMM_VERSION);
  ck_assert_str_eq(jstring(j, "family"), nvmm_family_name(f));
  ck_assert_int_eq(jint(j, "d"), 3);
  ck_assert_vec(json_object_get(j, "mu"), m->mu, 3);
  ck_assert_vec(json_object_get(j, "gamma"), m->gamma, 3);
  json_t *sigma = json_object_get(j, "sigma");
  ck_assert_uint_eq(json_array_size(sigma), 3);
  for (size_t i = 0; i < 3; i++)
    ck_assert_vec(json_array_get(sigma, i), m->sigma + 3 * i, 3);
  double logdet = jnum(j, "logdet");
  ck_assert(!memcmp(&logdet, &m->logdet, sizeof logdet));
  /* The subordinator: its parameters by name, then the GIG embedding; none for the Gaussian. */
  json_t *sub = json_object_get(j, "subordinator");
  static const size_t nsub[NVMM_FAMILY_COUNT] = {0, 5, 5, 5, 6, 6};
  ck_assert_uint_eq(json_object_size(sub), nsub[f]);
  if (f == NVMM_FAMILY_NIG) {
    ck_assert(jnum(sub, "mu_ig") == m->sub.par[0] && jnum(sub, "lambda") == m->sub.par[1]);
    ck_assert_has(text, "\n  subordinator: mu_ig = 1.3, lambda = 1.7\n");
  }
  if (f == NVMM_FAMILY_GH)
    ck_assert(jnum(sub, "p") == -1.7 && jnum(sub, "gig_b") == 2.4);
  ck_assert_ptr_null(json_object_get(j, "history"));
  ck_assert_ptr_null(json_object_get(j, "fit"));
  ck_assert_ptr_null(json_object_get(j, "state"));
  json_decref(j);
  nvmm_model_free(&m);
}
END_TEST

/* History, meta and a checkpoint's state; a non-finite log-likelihood is null in the JSON. */
START_TEST(test_fit_record) {
  const char *path = tpath("fit.h5");
  nvmm_model *m = make_model(NVMM_FAMILY_GH);
  double loglik[4] = {-3.25, -2.9876543210123, -2.875, -2.87490001};
  double change[4] = {1.0 / 3.0, 0.0625, 1e-5, 2.2e-9};
  double elapsed[4] = {0.01, 0.0234, 0.035, 0.0471};
  double counters[8] = {0, 1, 2, 0, 3, 1, 0, 7};
  const char *names[2] = {"gig_fallback", "sigma_floor"};
  nvmm_history_view h = {.len = 4,
                         .loglik = loglik,
                         .param_change = change,
                         .elapsed = elapsed,
                         .counters = counters,
                         .ncounters = 2,
                         .counter_names = names};
  nvmm_fit_meta meta = {"converged", 4, 1003, 4, -2.87490001, "[fit]\nfamily = gh\n", "data.h5:/X"};
  ck_assert_ok(nvmm_model_write(path, m, &h, &meta));
  json_t *j = NULL;
  const char *text = describe(path, &j);
  ck_assert_has(text, "\n  history: 4 iterations, final mean log-likelihood -2.87490001\n"
                      "  fit: converged, 4 iterations, n = 1003 rows, 4 ranks, data data.h5:/X\n");
  ck_assert_str_eq(jstring(j, "kind"), "model");
  json_t *hist = json_object_get(j, "history"), *fit = json_object_get(j, "fit");
  ck_assert_int_eq(jint(hist, "iterations"), 4);
  ck_assert(jnum(hist, "final_loglik_mean") == -2.87490001);
  ck_assert_str_eq(jstring(fit, "reason"), "converged");
  ck_assert_int_eq(jint(fit, "iterations"), 4);
  ck_assert_int_eq(jint(fit, "n"), 1003);
  ck_assert_int_eq(jint(fit, "ranks"), 4);
  ck_assert_str_eq(jstring(fit, "data"), "data.h5:/X");
  ck_assert(jnum(fit, "loglik_mean") == -2.87490001);
  json_decref(j);

  /* A diverged record: the text prints what printf does, the JSON null. */
  loglik[3] = NAN;
  meta.loglik_mean = -INFINITY;
  meta.reason = "diverged";
  ck_assert_ok(nvmm_model_write(path, m, &h, &meta));
  text = describe(path, &j);
  ck_assert_has(text, "final mean log-likelihood nan\n  fit: diverged,");
  ck_assert(json_is_null(json_object_get(json_object_get(j, "history"), "final_loglik_mean")));
  ck_assert(json_is_null(json_object_get(json_object_get(j, "fit"), "loglik_mean")));
  json_decref(j);

  /* A checkpoint: the state it resumes from. */
  nvmm_fit_state s;
  ck_assert_ok(nvmm_fit_state_alloc(3, 2, &s));
  s.family = NVMM_FAMILY_GH;
  s.n = 1003;
  s.fingerprint = 0x0123456789abcdefu;
  s.iterations = 2;
  s.reason = NVMM_FIT_STOPPED;
  s.sub = m->sub;
  meta.reason = "stopped";
  const char *ck = tpath("ck.h5");
  ck_assert_ok(nvmm_checkpoint_write(ck, m, &h, &meta, &s));
  nvmm_fit_state_free(&s);
  text = describe(ck, &j);
  ck_assert_has(text, "\n  checkpoint: state after 2 iterations (stopped), data fingerprint "
                      "0123456789abcdef; resume with nvmm fit --resume\n");
  ck_assert_str_eq(jstring(j, "kind"), "checkpoint");
  json_t *state = json_object_get(j, "state");
  ck_assert_int_eq(jint(state, "iterations"), 2);
  ck_assert_str_eq(jstring(state, "reason"), "stopped");
  ck_assert_str_eq(jstring(state, "fingerprint"), "0123456789abcdef");
  json_decref(j);
  nvmm_model_free(&m);
}
END_TEST

/* A model file whose parameters are invalid says why, and gives no parameters. */
START_TEST(test_invalid_model) {
  const char *path = tpath("bad_sub.h5");
  nvmm_model *m = make_model(NVMM_FAMILY_NIG);
  ck_assert_ok(nvmm_model_write(path, m, NULL, NULL));
  nvmm_model_free(&m);
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t dset = H5Dopen2(file, "mu_ig", H5P_DEFAULT);
  double neg = -1.5;
  ck_assert_int_ge(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &neg), 0);
  H5Dclose(dset);
  H5Fclose(file);
  json_t *j = NULL;
  const char *text = describe(path, &j);
  ck_assert_has(text, "\n  invalid model: '");
  ck_assert_str_eq(jstring(j, "kind"), "model");
  ck_assert_msg(strstr(jstring(j, "error"), "bad_sub.h5"), "%s", jstring(j, "error"));
  ck_assert_ptr_null(json_object_get(j, "family"));
  ck_assert_ptr_null(json_object_get(j, "mu"));
  json_decref(j);
}
END_TEST

/* A column name that is not UTF-8 (a Latin-1 CSV header) is kept in the text and made valid,
 * '?' for each byte past ASCII, in the JSON. */
START_TEST(test_not_utf8) {
  const char *csv = tpath("latin1.csv"), *path = tpath("latin1.h5");
  write_text(csv, "caf\xe9,x\n1,2\n3,4\n");
  ck_assert_ok(nvmm_import_csv(csv, path, "/X", NULL));
  json_t *j = NULL;
  const char *text = describe(path, &j);
  ck_assert_has(text, "columns: caf\xe9, x\n");
  json_t *cols = json_object_get(json_array_get(json_object_get(j, "objects"), 0), "columns");
  ck_assert_str_eq(json_string_value(json_array_get(cols, 0)), "caf?");
  json_decref(j);
}
END_TEST

START_TEST(test_errors) {
  json_t *j = (json_t *)&j;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(f);
  ck_assert_int_eq(cli_info_describe(tpath("nothing.h5"), f, &j), NVMM_EIO);
  ck_assert_has(nvmm_last_error(), "nothing.h5");
  ck_assert_ptr_null(j);
  write_text(tpath("plain.csv"), "a,b\n1,2\n");
  j = (json_t *)&j;
  ck_assert_int_eq(cli_info_describe(tpath("plain.csv"), f, &j), NVMM_EIO);
  ck_assert_has(nvmm_last_error(), "not an HDF5 file");
  ck_assert_ptr_null(j);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_uint_eq(len, 0); /* nothing written */
  free(text);
  /* The text alone, no JSON asked for. */
  nvmm_model *m = make_model(NVMM_FAMILY_GAUSS);
  ck_assert_ok(nvmm_model_write(tpath("m.h5"), m, NULL, NULL));
  nvmm_model_free(&m);
  f = open_memstream(&text, &len);
  ck_assert_ptr_nonnull(f);
  ck_assert_ok(cli_info_describe(tpath("m.h5"), f, NULL));
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_has(text, "family: gauss, d = 3\n");
  ck_assert_msg(!strstr(text, "subordinator"), "%s", text);
  free(text);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("info");
  TCase *tc = tcase_create("describe");
  tcase_add_test(tc, test_data_file);
  tcase_add_test(tc, test_other_file);
  tcase_add_loop_test(tc, test_model_file, 0, NVMM_FAMILY_COUNT);
  tcase_add_test(tc, test_fit_record);
  tcase_add_test(tc, test_invalid_model);
  tcase_add_test(tc, test_not_utf8);
  tcase_add_test(tc, test_errors);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_IO_MAIN(make_suite, "test_info")
