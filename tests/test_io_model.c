/* test_io_model.c: model files of every family (io_model.c): the bitwise round trip with the
 * GIG embedding, the fit history and meta data, and bad files. What `nvmm info` says about them
 * is tested in test_info.c. */
#define _GNU_SOURCE
#include "nvmm_test_io.h"

/* A "high-entropy" model of family f and dimension 3 (as in test_model.c). */
static nvmm_model *make_model(nvmm_family f) {
  const size_t d = 3;
  nvmm_model *m;
  ck_assert_ok(nvmm_model_alloc(f, d, &m));
  double mu[3], gamma[3], sigma[9];
  for (size_t i = 0; i < d; i++) {
    mu[i] = 0.3 - 0.45 * (double)i + 1.0 / 3.0;
    gamma[i] = f == NVMM_FAMILY_GAUSS ? 0.0 : (i % 2 ? -0.31 : 0.43) / (1.0 + 0.2 * (double)i);
    for (size_t j = 0; j < d; j++) {
      double si = 0.8 + 0.15 * (double)i, sj = 0.8 + 0.15 * (double)j;
      sigma[i * d + j] = pow(0.55, fabs((double)i - (double)j)) * si * sj;
    }
  }
  static const double par[NVMM_FAMILY_COUNT][3] = {
      {0, 0, 0}, {3.1, 1.9, 0}, {3.5, 2.2, 0}, {1.3, 1.7, 0}, {-1.7, 1.3, 2.4}, {2.0, 1.3, 2.4}};
  nvmm_sub sub = {NVMM_SUB_DEGENERATE, {0, 0, 0}};
  if (f != NVMM_FAMILY_GAUSS)
    ck_assert_ok(nvmm_sub_make(nvmm_family_sub_kind(f), par[f], &sub));
  ck_assert_ok(nvmm_model_set(m, mu, gamma, sigma, &sub));
  return m;
}

static double read_scalar(hid_t file, const char *name) {
  double v = NAN;
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
  ck_assert_msg(dset >= 0, "dataset %s missing", name);
  ck_assert_int_ge(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), 0);
  H5Dclose(dset);
  return v;
}

START_TEST(test_model_roundtrip) {
  nvmm_family f = (nvmm_family)_i;
  char name[64];
  snprintf(name, sizeof name, "model_%s.h5", nvmm_family_name(f));
  const char *path = tpath(name);
  nvmm_model *m = make_model(f), *r = NULL;
  ck_assert_ok(nvmm_model_write(path, m, NULL, NULL));
  /* A second write replaces the file atomically. */
  ck_assert_ok(nvmm_model_write(path, m, NULL, NULL));
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  ck_assert(!exists(tmp));
  ck_assert_ok(nvmm_model_read(path, &r));
  ck_assert_int_eq(r->family, f);
  ck_assert_uint_eq(r->d, 3);
  ck_assert_mem_eq(r->mu, m->mu, 3 * sizeof(double));
  ck_assert_mem_eq(r->gamma, m->gamma, 3 * sizeof(double));
  ck_assert_mem_eq(r->sigma, m->sigma, 9 * sizeof(double));
  ck_assert_mem_eq(r->chol, m->chol, 9 * sizeof(double));
  ck_assert_int_eq(r->sub.kind, m->sub.kind);
  ck_assert_mem_eq(r->sub.par, m->sub.par, sizeof m->sub.par);

  /* The GIG embedding is stored alongside the natural parameters (absent for Gauss). */
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_int_ge(file, 0);
  ck_assert_int_eq(H5Lexists(file, "gig_p", H5P_DEFAULT) > 0, f != NVMM_FAMILY_GAUSS);
  if (f != NVMM_FAMILY_GAUSS) {
    double p, a, b;
    ck_assert_ok(nvmm_sub_to_gig(&m->sub, &p, &a, &b));
    ck_assert(read_scalar(file, "gig_p") == p);
    ck_assert(read_scalar(file, "gig_a") == a);
    ck_assert(read_scalar(file, "gig_b") == b);
  }
  H5Fclose(file);
  nvmm_model_free(&m);
  nvmm_model_free(&r);
}
END_TEST

/* The factor models' parameters (d = 5, r = 2). */
static const double fmu[5] = {0.31, -1.27, 0.58, 2.03, -0.44},
                    fg[5] = {0.12, -0.07, 0.33, 0.0, -0.21};
static const double ff[10] = {0.91, -0.23, 0.47, 0.81, -0.66, 0.35, 0.28, -0.92, 1.13, 0.17};
static const double fdd[5] = {0.43, 0.71, 0.29, 0.88, 0.52};

static nvmm_sub factor_sub(void) {
  nvmm_sub sub;
  ck_assert_ok(nvmm_sub_make(NVMM_SUB_INVGAUSS, (double[3]){1.3, 1.7, 0}, &sub));
  return sub;
}

/* A factor model (d = 5, r = 2) round-trips bitwise: F, D and the attribute factors, and the
 * dense Sigma = F F^T + diag(D) beside them; copy and rescale carry the factor part along, and
 * nvmm_model_set makes the model dense again. */
START_TEST(test_factor_roundtrip) {
  const char *path = tpath("model_factor.h5");
  nvmm_model *m, *r = NULL, *c;
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 5, &m));
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 5, &c));
  nvmm_sub sub = factor_sub();
  ck_assert_ok(nvmm_model_set_factor(m, fmu, fg, 2, ff, fdd, &sub));
  ck_assert_ptr_nonnull(m->factor);
  ck_assert(fabs(m->sigma[1 * 5 + 2] - (ff[2] * ff[4] + ff[3] * ff[5])) <= 1e-15);
  ck_assert(fabs(m->logdet - m->factor->logdet) <= 1e-13);
  ck_assert_ok(nvmm_model_write(path, m, NULL, NULL));
  ck_assert_ok(nvmm_model_read(path, &r));
  ck_assert_ptr_nonnull(r->factor);
  ck_assert_uint_eq(r->factor->r, 2);
  ck_assert_mem_eq(r->factor->f, ff, sizeof ff);
  ck_assert_mem_eq(r->factor->dd, fdd, sizeof fdd);
  ck_assert_mem_eq(r->sigma, m->sigma, 25 * sizeof(double));
  ck_assert_mem_eq(r->mu, m->mu, sizeof fmu);
  ck_assert_ok(nvmm_model_copy(c, r));
  ck_assert_ptr_nonnull(c->factor);
  ck_assert_mem_eq(c->factor->f, ff, sizeof ff);
  /* The scale orbit: Sigma / s, so F / sqrt(s) and D / s. */
  ck_assert_ok(nvmm_model_rescale(c, 2.5));
  ck_assert(fabs(c->factor->f[3] - ff[3] / sqrt(2.5)) <= 1e-15);
  ck_assert(fabs(c->factor->dd[4] - fdd[4] / 2.5) <= 1e-15);
  ck_assert(fabs(c->logdet - c->factor->logdet) <= 1e-12);
  ck_assert_ok(nvmm_model_set(c, fmu, fg, m->sigma, &sub));
  ck_assert_ptr_null(c->factor);
  ck_assert_ok(nvmm_model_copy(r, c)); /* a dense source drops the factor part */
  ck_assert_ptr_null(r->factor);
  nvmm_model_free(&m);
  nvmm_model_free(&r);
  nvmm_model_free(&c);
}
END_TEST

/* A factor-only model (nvmm_model_alloc_factor: no dense Sigma nor L) round-trips bitwise through
 * a file that holds F, D and the attribute factors but no dataset sigma (src/numerics.md 5.13);
 * its log-density (nvmm_factor_logpdf) is the dense model's with the same F and D (the Woodbury
 * kernel against the Cholesky one: agreement to 1e-12, a few roundings of terms of order 10); the
 * functions that need the dense Sigma refuse it, and so does a copy between the two kinds. */
START_TEST(test_factor_only_roundtrip) {
  const char *path = tpath("model_factor_only.h5");
  nvmm_model *m, *r = NULL, *dense, *c;
  ck_assert_ok(nvmm_model_alloc_factor(NVMM_FAMILY_NIG, 5, 2, &m));
  ck_assert_ptr_null(m->sigma);
  ck_assert_ptr_null(m->chol);
  ck_assert_ok(nvmm_model_alloc(NVMM_FAMILY_NIG, 5, &dense));
  nvmm_sub sub = factor_sub();
  ck_assert_ok(nvmm_model_set_factor(m, fmu, fg, 2, ff, fdd, &sub));
  ck_assert_ok(nvmm_model_set_factor(dense, fmu, fg, 2, ff, fdd, &sub));
  ck_assert(fabs(m->logdet - dense->logdet) <= 1e-13);
  ck_assert_ok(nvmm_model_write(path, m, NULL, NULL));
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_int_ge(file, 0);
  ck_assert_int_eq(H5Lexists(file, "sigma", H5P_DEFAULT), 0);
  ck_assert_int_gt(H5Lexists(file, "F", H5P_DEFAULT), 0);
  H5Fclose(file);
  ck_assert_ok(nvmm_model_read(path, &r));
  ck_assert_ptr_null(r->sigma);
  ck_assert_ptr_nonnull(r->factor);
  ck_assert_uint_eq(r->factor->r, 2);
  ck_assert_mem_eq(r->factor->f, ff, sizeof ff);
  ck_assert_mem_eq(r->factor->dd, fdd, sizeof fdd);
  ck_assert_mem_eq(r->mu, fmu, sizeof fmu);
  ck_assert_mem_eq(r->gamma, fg, sizeof fg);
  ck_assert_int_eq(r->sub.kind, m->sub.kind);
  ck_assert_mem_eq(r->sub.par, m->sub.par, sizeof m->sub.par);
  ck_assert(r->logdet == m->logdet);
  double x[10] = {0.2, -1.0, 0.9, 1.7, -0.1, 1.4, -2.2, 0.0, 2.5, -0.8}, a[2], b[2], scr[14];
  ck_assert_int_eq(nvmm_model_logpdf(r, 2, x, a, scr), NVMM_EINVAL); /* its scratch is 2 d */
  ck_assert_ok(nvmm_factor_logpdf(r, r->factor, 2, x, a, scr));
  ck_assert_ok(nvmm_model_logpdf(dense, 2, x, b, scr));
  for (int i = 0; i < 2; i++)
    ck_assert_msg(fabs(a[i] - b[i]) <= 1e-12, "row %d: %.17g vs %.17g", i, a[i], b[i]);
  /* The scale orbit on the factor part alone. */
  ck_assert_ok(nvmm_model_alloc_factor(NVMM_FAMILY_NIG, 5, 1, &c));
  ck_assert_ok(nvmm_model_copy(c, r)); /* reallocated for r = 2 */
  ck_assert_ok(nvmm_model_rescale(c, 2.5));
  ck_assert(fabs(c->factor->f[3] - ff[3] / sqrt(2.5)) <= 1e-15);
  ck_assert(fabs(c->factor->dd[4] - fdd[4] / 2.5) <= 1e-15);
  ck_assert(fabs(c->gamma[2] - fg[2] / 2.5) <= 1e-15);
  ck_assert(fabs(c->logdet - c->factor->logdet) <= 1e-12);
  /* The refusals. */
  double mean[5], cov[25];
  ck_assert_int_eq(nvmm_model_set(c, fmu, fg, dense->sigma, &sub), NVMM_EINVAL);
  ck_assert_int_eq(nvmm_model_moments(c, mean, cov), NVMM_EINVAL);
  ck_assert_int_eq(nvmm_model_init_moments(c, mean, dense->sigma), NVMM_EINVAL);
  ck_assert_int_eq(nvmm_model_logpdf_joint(c, x, 1.0, a, scr), NVMM_EINVAL);
  ck_assert_int_eq(nvmm_model_copy(dense, c), NVMM_EINVAL);
  ck_assert_int_eq(nvmm_model_copy(c, dense), NVMM_EINVAL);
  nvmm_model_free(&m);
  nvmm_model_free(&r);
  nvmm_model_free(&c);
  nvmm_model_free(&dense);
}
END_TEST

/* Reads a 1-D or 2-D float64 dataset of the history group. */
static void read_hist(hid_t file, const char *name, double *out) {
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
  ck_assert_msg(dset >= 0, "dataset %s missing", name);
  ck_assert_int_ge(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), 0);
  H5Dclose(dset);
}

START_TEST(test_model_history) {
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

  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_int_ge(file, 0);
  double got[8];
  read_hist(file, "history/loglik", got);
  ck_assert_mem_eq(got, loglik, sizeof loglik);
  read_hist(file, "history/param_change", got);
  ck_assert_mem_eq(got, change, sizeof change);
  read_hist(file, "history/elapsed", got);
  ck_assert_mem_eq(got, elapsed, sizeof elapsed);
  read_hist(file, "history/counters", got);
  ck_assert_mem_eq(got, counters, sizeof counters);
  hid_t cnt = H5Dopen2(file, "history/counters", H5P_DEFAULT), attr = H5Aopen(cnt, "names", 0);
  ck_assert_int_ge(attr, 0);
  hid_t vstr = H5Tcopy(H5T_C_S1);
  H5Tset_size(vstr, H5T_VARIABLE);
  H5Tset_cset(vstr, H5T_CSET_UTF8);
  char *rn[2] = {NULL, NULL};
  ck_assert_int_ge(H5Aread(attr, vstr, rn), 0);
  ck_assert_str_eq(rn[0], "gig_fallback");
  ck_assert_str_eq(rn[1], "sigma_floor");
  H5free_memory(rn[0]);
  H5free_memory(rn[1]);
  H5Aclose(attr);
  H5Dclose(cnt);
  hid_t g = H5Gopen2(file, "meta", H5P_DEFAULT);
  attr = H5Aopen(g, "reason", H5P_DEFAULT);
  char *reason = NULL;
  ck_assert_int_ge(H5Aread(attr, vstr, &reason), 0);
  ck_assert_str_eq(reason, "converged");
  H5free_memory(reason);
  H5Aclose(attr);
  attr = H5Aopen(g, "n", H5P_DEFAULT);
  int64_t n = 0;
  ck_assert_int_ge(H5Aread(attr, H5T_NATIVE_INT64, &n), 0);
  ck_assert_int_eq(n, 1003);
  H5Aclose(attr);
  H5Gclose(g);
  H5Tclose(vstr);
  H5Fclose(file);

  /* An empty history is written as zero-length datasets. */
  nvmm_history_view empty = {.len = 0,
                             .loglik = NULL,
                             .param_change = NULL,
                             .elapsed = NULL,
                             .counters = NULL,
                             .ncounters = 0,
                             .counter_names = NULL};
  ck_assert_ok(nvmm_model_write(path, m, &empty, NULL));
  nvmm_model *r = NULL;
  ck_assert_ok(nvmm_model_read(path, &r));
  nvmm_model_free(&r);
  nvmm_history_view broken = {.len = 2,
                              .loglik = loglik,
                              .param_change = NULL,
                              .elapsed = elapsed,
                              .counters = NULL,
                              .ncounters = 0,
                              .counter_names = NULL};
  ck_assert_fails(nvmm_model_write(tpath("broken.h5"), m, &broken, NULL), NVMM_EINVAL,
                  "param_change");
  assert_no_output(tpath("broken.h5"));
  nvmm_model_free(&m);
}
END_TEST

START_TEST(test_model_errors) {
  nvmm_model *m = make_model(NVMM_FAMILY_NIG), *r = (nvmm_model *)&r;
  ck_assert_fails(nvmm_model_read(tpath("none.h5"), &r), NVMM_EIO, "none.h5");
  ck_assert_ptr_null(r);
  write_text(tpath("plain.txt"), "mu = 1\n");
  ck_assert_fails(nvmm_model_read(tpath("plain.txt"), &r), NVMM_EIO, "not an HDF5 file");

  /* A data file is not a model file: the message says what is missing. */
  const char *data = tpath("data_only.h5");
  double v[6] = {1, 2, 3, 4, 5, 6};
  hsize_t dims[2] = {3, 2};
  h5_write(data, "/X", 2, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v);
  ck_assert_fails(nvmm_model_read(data, &r), NVMM_EIO, "data_only.h5", "not an nvmm model",
                  "'family'");
  ck_assert_ptr_null(r);

  /* A model file missing one dataset. */
  const char *path = tpath("no_sigma.h5");
  ck_assert_ok(nvmm_model_write(path, m, NULL, NULL));
  hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  ck_assert_int_ge(H5Ldelete(file, "sigma", H5P_DEFAULT), 0);
  ck_assert_int_ge(H5Ldelete(file, "lambda", H5P_DEFAULT), 0);
  H5Fclose(file);
  ck_assert_fails(nvmm_model_read(path, &r), NVMM_EIO, "no_sigma.h5", "'sigma'");

  /* Invalid parameters are caught by the model constructors. */
  path = tpath("bad_sub.h5");
  ck_assert_ok(nvmm_model_write(path, m, NULL, NULL));
  file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t dset = H5Dopen2(file, "mu_ig", H5P_DEFAULT);
  double neg = -1.5;
  ck_assert_int_ge(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &neg), 0);
  H5Dclose(dset);
  H5Fclose(file);
  ck_assert_fails(nvmm_model_read(path, &r), NVMM_EDOM, "bad_sub.h5");
  ck_assert_ptr_null(r);

  ck_assert_fails(nvmm_model_write("/nonexistent_dir/model.h5", m, NULL, NULL), NVMM_EIO,
                  "/nonexistent_dir/model.h5");
  assert_no_output("/nonexistent_dir/model.h5");
  ck_assert_fails(nvmm_model_write(NULL, m, NULL, NULL), NVMM_EINVAL, "NULL");
  nvmm_model_free(&m);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("io_model");
  TCase *tc = tcase_create("model");
  tcase_add_loop_test(tc, test_model_roundtrip, 0, NVMM_FAMILY_COUNT);
  tcase_add_test(tc, test_model_history);
  tcase_add_test(tc, test_factor_roundtrip);
  tcase_add_test(tc, test_factor_only_roundtrip);
  tcase_add_test(tc, test_model_errors);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_IO_MAIN(make_suite, "test_io_model")
