/* test_io.c: the io module in one process: CSV import (values, names, skipped columns and every
 * error), opening and reading data sets (shapes, conversions, non-finite values, bad files; data
 * sets of several files, virtual datasets) and model files of every family (bitwise round trip,
 * history, bad files). What `nvmm info` says about them is tested in test_info.c. */
#define _GNU_SOURCE
#include <mpi.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hdf5.h>

#include "nvmm_test.h"
#include "nvmm_test_mpi.h"

/* Every file of the suite lives in a fresh directory under the working directory (the build
 * tree under meson), removed at the end. */
static char tmp_dir[256];

/* A path in tmp_dir. The result lives until 64 later calls, more than any one test makes. */
static const char *tpath(const char *name) {
  static char buf[64][512];
  static unsigned next;
  char *p = buf[next++ % 64];
  snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
  return p;
}

static int exists(const char *path) { return access(path, F_OK) == 0; }

static void assert_no_output(const char *out) {
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", out);
  ck_assert_msg(!exists(out), "output '%s' was left behind", out);
  ck_assert_msg(!exists(tmp), "temporary '%s' was left behind", tmp);
}

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

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_ge(fputs(text, f), 0);
  ck_assert_int_eq(fclose(f), 0);
}

/* The value of row i, numeric column j of the generated CSV: irrational-looking, of mixed
 * signs and magnitudes, so a lost digit or a swapped column shows. */
static double csv_value(size_t i, size_t j) {
  return sin(0.37 * (double)i + 1.3 * (double)j) * pow(10.0, (double)j - 1.0) + (double)i / 7.0;
}

/* n rows: a date column (skipped), then "SMI" quoted in the header, then x2, x3; CRLF line
 * ends; values printed with %.17g so they round-trip bitwise. */
static void write_csv(const char *path, size_t n) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "date,\"SMI\",x2, x3\r\n");
  for (size_t i = 0; i < n; i++)
    fprintf(f, "2001-%02zu-%02zu,%.17g,%.17g,%.17g\r\n", 1 + i % 12, 1 + i % 28, csv_value(i, 0),
            csv_value(i, 1), csv_value(i, 2));
  ck_assert_int_eq(fclose(f), 0);
}

/* Reads a whole 2-D float64 dataset with serial HDF5 (independent of the module's reader). */
static double *read_all(const char *path, const char *name, hsize_t dims[2]) {
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_int_ge(file, 0);
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT), space = H5Dget_space(dset);
  ck_assert_int_eq(H5Sget_simple_extent_ndims(space), 2);
  H5Sget_simple_extent_dims(space, dims, NULL);
  double *x = malloc(dims[0] * dims[1] * sizeof *x + 1);
  ck_assert_ptr_nonnull(x);
  ck_assert_int_ge(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
  H5Sclose(space);
  H5Dclose(dset);
  H5Fclose(file);
  return x;
}

START_TEST(test_import_roundtrip) {
  /* 9000 rows span three 4096-row chunks, so the extend-and-append path runs. */
  const size_t n = 9000;
  const char *csv = tpath("smi.csv"), *out = tpath("smi.h5");
  write_csv(csv, n);
  nvmm_import_report rep;
  ck_assert_ok(nvmm_import_csv(csv, out, NULL, &rep));
  ck_assert_int_eq(rep.rows, (int64_t)n);
  ck_assert_int_eq(rep.columns, 3);
  ck_assert_int_eq(rep.skipped, 1);
  ck_assert_str_eq(rep.skipped_names, "date");
  ck_assert(!exists(tpath("smi.h5.tmp")));

  hsize_t dims[2];
  double *x = read_all(out, "/X", dims);
  ck_assert_uint_eq(dims[0], n);
  ck_assert_uint_eq(dims[1], 3);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < 3; j++) {
      double want = csv_value(i, j);
      ck_assert_msg(memcmp(&x[i * 3 + j], &want, sizeof want) == 0,
                    "row %zu column %zu: %.17g != %.17g", i, j, x[i * 3 + j], want);
    }
  free(x);

  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open(MPI_COMM_WORLD, out, "/X", &data));
  int64_t nn, d;
  nvmm_data_dims(data, &nn, &d);
  ck_assert_int_eq(nn, (int64_t)n);
  ck_assert_int_eq(d, 3);
  ck_assert_str_eq(nvmm_data_column_name(data, 0), "SMI");
  ck_assert_str_eq(nvmm_data_column_name(data, 1), "x2");
  ck_assert_str_eq(nvmm_data_column_name(data, 2), "x3");
  ck_assert_ptr_null(nvmm_data_column_name(data, 3));
  ck_assert_ptr_null(nvmm_data_column_name(data, -1));
  double rows[2 * 3];
  int64_t bad = 0;
  ck_assert_ok(nvmm_data_read(data, 4095, 2, rows, &bad));
  ck_assert_int_eq(bad, -1);
  for (size_t k = 0; k < 6; k++)
    ck_assert(rows[k] == csv_value(4095 + k / 3, k % 3));
  nvmm_data_close(&data);
  ck_assert_ptr_null(data);
}
END_TEST

START_TEST(test_import_formats) {
  /* Quoted fields with commas and doubled quotes, blanks around values, a blank line, an
   * unterminated last line, LF endings, a nested dataset path. */
  const char *csv = tpath("fmt.csv"), *out = tpath("fmt.h5");
  write_text(csv, "\"name, full\",\"a \"\"q\"\"\",b,  c  \n"
                  "\"Smith, J\", 2.5 ,-3e-2,\"7\"\n"
                  "\n"
                  "x,1e300,  -0 ,4.25\n"
                  "y,0.125,6,-1e-310");
  nvmm_import_report rep;
  ck_assert_ok(nvmm_import_csv(csv, out, "/grp/Y", &rep));
  ck_assert_int_eq(rep.rows, 3);
  ck_assert_int_eq(rep.columns, 3);
  ck_assert_int_eq(rep.skipped, 1);
  ck_assert_str_eq(rep.skipped_names, "name, full");
  hsize_t dims[2];
  double *x = read_all(out, "/grp/Y", dims);
  const double want[9] = {2.5, -3e-2, 7, 1e300, -0.0, 4.25, 0.125, 6, -1e-310};
  ck_assert_uint_eq(dims[0], 3);
  ck_assert_uint_eq(dims[1], 3);
  ck_assert_mem_eq(x, want, sizeof want);
  free(x);
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open(MPI_COMM_SELF, out, "/grp/Y", &data));
  ck_assert_str_eq(nvmm_data_column_name(data, 0), "a \"q\"");
  ck_assert_str_eq(nvmm_data_column_name(data, 2), "c");
  nvmm_data_close(&data);
}
END_TEST

START_TEST(test_import_wide) {
  /* 5000 columns: lines of ~100 kB and a name attribute larger than an HDF5 object header. */
  const size_t ncol = 5000, n = 3;
  const char *csv = tpath("wide.csv"), *out = tpath("wide.h5");
  FILE *f = fopen(csv, "w");
  ck_assert_ptr_nonnull(f);
  for (size_t j = 0; j < ncol; j++)
    fprintf(f, "%scolumn_%zu", j ? "," : "", j);
  fputc('\n', f);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < ncol; j++)
      fprintf(f, "%s%.17g", j ? "," : "", csv_value(i, j % 5) + (double)j);
    fputc('\n', f);
  }
  ck_assert_int_eq(fclose(f), 0);
  nvmm_import_report rep;
  ck_assert_ok(nvmm_import_csv(csv, out, "X", &rep));
  ck_assert_int_eq(rep.columns, (int64_t)ncol);
  ck_assert_int_eq(rep.skipped, 0);
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open(MPI_COMM_SELF, out, "/X", &data));
  ck_assert_str_eq(nvmm_data_column_name(data, 4999), "column_4999");
  double *x = malloc(n * ncol * sizeof *x);
  ck_assert_ok(nvmm_data_read(data, 0, (int64_t)n, x, NULL));
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < ncol; j += 499)
      ck_assert(x[i * ncol + j] == csv_value(i, j % 5) + (double)j);
  free(x);
  nvmm_data_close(&data);
}
END_TEST

START_TEST(test_import_errors) {
  char out[512];
  snprintf(out, sizeof out, "%s", tpath("bad.h5"));
  nvmm_import_report rep;
  ck_assert_fails(nvmm_import_csv(tpath("nope.csv"), out, NULL, &rep), NVMM_EIO, "nope.csv",
                  "No such file");
  assert_no_output(out);

  write_text(tpath("empty.csv"), "");
  ck_assert_fails(nvmm_import_csv(tpath("empty.csv"), out, NULL, &rep), NVMM_EINVAL, "empty.csv",
                  "empty");
  assert_no_output(out);

  write_text(tpath("header.csv"), "a,b\r\n\r\n");
  ck_assert_fails(nvmm_import_csv(tpath("header.csv"), out, NULL, &rep), NVMM_EINVAL,
                  "no data rows");
  assert_no_output(out);

  write_text(tpath("text.csv"), "a,b\nx,y\n");
  ck_assert_fails(nvmm_import_csv(tpath("text.csv"), out, NULL, &rep), NVMM_EINVAL,
                  "no numeric column");
  assert_no_output(out);

  write_text(tpath("word.csv"), "d,a,b\n"
                                "2001-01-02,1.5,2.5\n"
                                "2001-01-03,1.25,2.5\n"
                                "2001-01-04,1.5,2.75\n"
                                "2001-01-05,1.5,n/a\n"
                                "2001-01-06,1.5,2.5\n");
  ck_assert_fails(nvmm_import_csv(tpath("word.csv"), out, NULL, &rep), NVMM_EINVAL, "line 5",
                  "column 'b'", "n/a");
  assert_no_output(out);

  write_text(tpath("short.csv"), "a,b,c\n1,2,3\n4,5,6\n7,8\n");
  ck_assert_fails(nvmm_import_csv(tpath("short.csv"), out, NULL, &rep), NVMM_EINVAL, "line 4",
                  "2 fields", "column 'c'");
  assert_no_output(out);

  write_text(tpath("long.csv"), "a,b\n1,2\n3,4,5\n");
  ck_assert_fails(nvmm_import_csv(tpath("long.csv"), out, NULL, &rep), NVMM_EINVAL, "line 3",
                  "3 fields");
  assert_no_output(out);

  write_text(tpath("nan.csv"), "a,b\n1,2\n3,nan\n");
  ck_assert_fails(nvmm_import_csv(tpath("nan.csv"), out, NULL, &rep), NVMM_EINVAL, "line 3",
                  "column 'b'", "nan");
  assert_no_output(out);

  write_text(tpath("inf.csv"), "a,b\n-Inf,2\n3,4\n");
  ck_assert_fails(nvmm_import_csv(tpath("inf.csv"), out, NULL, &rep), NVMM_EINVAL, "line 2",
                  "column 'a'");
  assert_no_output(out);

  write_text(tpath("quote.csv"), "a,b\n1,\"2\n");
  ck_assert_fails(nvmm_import_csv(tpath("quote.csv"), out, NULL, &rep), NVMM_EINVAL, "line 2",
                  "unterminated quote");
  assert_no_output(out);

  write_csv(tpath("ok.csv"), 10);
  ck_assert_fails(nvmm_import_csv(tpath("ok.csv"), "/nonexistent_dir/out.h5", NULL, &rep), NVMM_EIO,
                  "/nonexistent_dir/out.h5");
  assert_no_output("/nonexistent_dir/out.h5");
}
END_TEST

START_TEST(test_import_late_error) {
  /* A bad value after two chunks were written: the partial tmp file must go too, and an
   * existing output must survive. */
  const char *csv = tpath("late.csv"), *out = tpath("late.h5");
  write_csv(csv, 9000);
  FILE *f = fopen(csv, "a");
  ck_assert_ptr_nonnull(f);
  fputs("2002-01-01,1.0,2.0,x\r\n", f);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_fails(nvmm_import_csv(csv, out, NULL, NULL), NVMM_EINVAL, "line 9002", "column 'x3'");
  assert_no_output(out);
  write_text(out, "previous contents");
  ck_assert_fails(nvmm_import_csv(csv, out, NULL, NULL), NVMM_EINVAL, "line 9002");
  ck_assert(exists(out));
  ck_assert(!exists(tpath("late.h5.tmp")));
}
END_TEST

/* Writes dataset name of rank ndims and shape dims with the values v (memory type mtype, file
 * type ftype) into path, creating or extending the file. */
static void h5_write(const char *path, const char *name, int ndims, const hsize_t *dims,
                     hid_t ftype, hid_t mtype, const void *v) {
  hid_t file = exists(path) ? H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT)
                            : H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(file, 0);
  hid_t space = H5Screate_simple(ndims, dims, NULL);
  hid_t dset = H5Dcreate2(file, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ck_assert_int_ge(dset, 0);
  ck_assert_int_ge(H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), 0);
  H5Dclose(dset);
  H5Sclose(space);
  ck_assert_int_ge(H5Fclose(file), 0);
}

START_TEST(test_data_open_errors) {
  nvmm_data *data = (nvmm_data *)&data;
  ck_assert_fails(nvmm_data_open(MPI_COMM_WORLD, tpath("missing.h5"), "/X", &data), NVMM_EIO,
                  "missing.h5", "No such file");
  ck_assert_ptr_null(data);

  write_text(tpath("text.h5"), "this is not HDF5\n");
  ck_assert_fails(nvmm_data_open(MPI_COMM_WORLD, tpath("text.h5"), "/X", &data), NVMM_EIO,
                  "text.h5", "not an HDF5 file");

  const char *path = tpath("shapes.h5");
  double v[24];
  for (size_t i = 0; i < 24; i++)
    v[i] = 2.385 * (double)i;
  hsize_t d1[1] = {24}, d3[3] = {2, 3, 4};
  h5_write(path, "/one", 1, d1, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v);
  h5_write(path, "/three", 3, d3, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v);
  ck_assert_fails(nvmm_data_open(MPI_COMM_WORLD, path, "/X", &data), NVMM_EIO, "shapes.h5", "'/X'");
  ck_assert_fails(nvmm_data_open(MPI_COMM_WORLD, path, "/one", &data), NVMM_EINVAL, "'/one'",
                  "not 2-D", "1 dimension");
  ck_assert_fails(nvmm_data_open(MPI_COMM_WORLD, path, "/three", &data), NVMM_EINVAL, "'/three'",
                  "3 dimensions");
  ck_assert_ptr_null(data);

  /* A 2-D dataset of strings is not numeric. */
  hid_t str = H5Tcopy(H5T_C_S1);
  H5Tset_size(str, 4);
  char s[6][4] = {"abc", "def", "ghi", "jkl", "mno", "pqr"};
  hsize_t d2[2] = {3, 2};
  h5_write(path, "/words", 2, d2, str, str, s);
  H5Tclose(str);
  ck_assert_fails(nvmm_data_open(MPI_COMM_WORLD, path, "/words", &data), NVMM_EINVAL, "'/words'",
                  "not numeric");
  ck_assert_fails(nvmm_data_open(MPI_COMM_WORLD, NULL, "/X", &data), NVMM_EINVAL, "NULL");
}
END_TEST

START_TEST(test_data_read_values) {
  const char *path = tpath("types.h5");
  /* Values exact in float32 and int32, so conversion to double must reproduce them exactly. */
  float f[5][2];
  int32_t k[5][2];
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 2; j++) {
      f[i][j] = (float)(i * 2.375 - j * 0.5);
      k[i][j] = -7 * i + 1000 * j;
    }
  hsize_t dims[2] = {5, 2};
  h5_write(path, "/f", 2, dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, f);
  h5_write(path, "/i", 2, dims, H5T_STD_I32BE, H5T_NATIVE_INT32, k);
  nvmm_data *df = NULL, *di = NULL;
  ck_assert_ok(nvmm_data_open(MPI_COMM_WORLD, path, "/f", &df));
  ck_assert_ok(nvmm_data_open(MPI_COMM_SELF, path, "/i", &di));
  ck_assert_ptr_null(nvmm_data_column_name(df, 0));
  double x[10];
  int64_t bad = 0;
  ck_assert_ok(nvmm_data_read(df, 1, 4, x, &bad));
  ck_assert_int_eq(bad, -1);
  for (int r = 0; r < 4; r++)
    for (int j = 0; j < 2; j++)
      ck_assert(x[r * 2 + j] == (double)f[r + 1][j]);
  ck_assert_ok(nvmm_data_read(di, 0, 5, x, NULL));
  for (int r = 0; r < 5; r++)
    for (int j = 0; j < 2; j++)
      ck_assert(x[r * 2 + j] == (double)k[r][j]);
  ck_assert_ok(nvmm_data_read(di, 5, 0, NULL, NULL));
  ck_assert_fails(nvmm_data_read(di, 3, 3, x, NULL), NVMM_EINVAL, "[3, 6)", "5 rows");
  ck_assert_fails(nvmm_data_read(di, -1, 1, x, NULL), NVMM_EINVAL, "types.h5");
  ck_assert_fails(nvmm_data_read(di, 0, 2, NULL, NULL), NVMM_EINVAL, "NULL buffer");
  nvmm_data_close(&df);
  nvmm_data_close(&di);
  nvmm_data_close(&di);
  nvmm_data_close(NULL);
}
END_TEST

START_TEST(test_data_nonfinite) {
  const char *path = tpath("nan.h5");
  double v[5][2];
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 2; j++)
      v[i][j] = 1.5 * i - 0.25 * j;
  v[3][1] = NAN;
  v[4][0] = -INFINITY;
  hsize_t dims[2] = {5, 2};
  h5_write(path, "/X", 2, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v);
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open(MPI_COMM_WORLD, path, "/X", &data));
  double x[10];
  int64_t bad = -5;
  ck_assert_ok(nvmm_data_read(data, 0, 3, x, &bad));
  ck_assert_int_eq(bad, -1);
  ck_assert_fails(nvmm_data_read(data, 0, 5, x, &bad), NVMM_EDOM, "nan.h5", "'/X'", "row 3",
                  "column 1", "NaN");
  ck_assert_int_eq(bad, 3);
  ck_assert_fails(nvmm_data_read(data, 4, 1, x, &bad), NVMM_EDOM, "row 4", "column 0", "infinite");
  ck_assert_int_eq(bad, 4);
  nvmm_data_close(&data);
}
END_TEST

/* A data set made of several files: 337, 0, 500 and 166 rows (HDF5 allows a 0-row dataset),
 * 1003 in all, whose global row i holds csv_value(i, j). */
#define MANY 4
#define MANY_N 1003
static const int64_t many_rows[MANY] = {337, 0, 500, 166};

/* Writes the files tag-0.h5 .. tag-3.h5 (dataset /X, ncols columns; file 3 has extra_col
 * more), with a NaN at global row nan_row, column 1, if nan_row >= 0. */
static void write_many(const char *tag, int64_t nan_row, int extra_col, char paths[MANY][512]) {
  int64_t first = 0;
  for (int k = 0; k < MANY; k++) {
    char name[64];
    snprintf(name, sizeof name, "%s-%d.h5", tag, k);
    snprintf(paths[k], 512, "%s", tpath(name));
    size_t cols = 3 + (k == 3 ? (size_t)extra_col : 0), rows = (size_t)many_rows[k];
    double *v = malloc((rows > 0 ? rows : 1) * cols * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < rows; i++)
      for (size_t j = 0; j < cols; j++)
        v[i * cols + j] =
            (int64_t)i + first == nan_row && j == 1 ? NAN : csv_value((size_t)first + i, j);
    hsize_t dims[2] = {rows, cols};
    h5_write(paths[k], "/X", 2, dims, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, v);
    free(v);
    first += many_rows[k];
  }
}

/* Writes the virtual dataset /X of vds (rows x 3) mapping the /X of each non-empty file in
 * order, by base name (HDF5 then finds them next to vds). */
static void write_vds(const char *vds, char paths[MANY][512], const int64_t *rows) {
  hsize_t total = 0;
  for (int k = 0; k < MANY; k++)
    total += (hsize_t)rows[k];
  hsize_t vdims[2] = {total, 3};
  hid_t vspace = H5Screate_simple(2, vdims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  ck_assert_int_ge(vspace, 0);
  hsize_t first = 0;
  for (int k = 0; k < MANY; k++) {
    if (rows[k] == 0)
      continue;
    hsize_t start[2] = {first, 0}, dims[2] = {(hsize_t)rows[k], 3};
    hid_t src = H5Screate_simple(2, dims, NULL);
    ck_assert_int_ge(H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start, NULL, dims, NULL), 0);
    const char *base = strrchr(paths[k], '/');
    ck_assert_int_ge(H5Pset_virtual(dcpl, vspace, base ? base + 1 : paths[k], "/X", src), 0);
    H5Sclose(src);
    first += dims[0];
  }
  ck_assert_int_ge(H5Sselect_all(vspace), 0);
  hid_t file = H5Fcreate(vds, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t dset = H5Dcreate2(file, "/X", H5T_IEEE_F64LE, vspace, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  ck_assert_int_ge(dset, 0);
  H5Dclose(dset);
  H5Pclose(dcpl);
  H5Sclose(vspace);
  ck_assert_int_ge(H5Fclose(file), 0);
}

/* Reads rows [row0, row0 + nrows) and checks every value against csv_value. */
static void check_rows(nvmm_data *data, int64_t row0, int64_t nrows) {
  double *x = malloc((size_t)(nrows > 0 ? nrows : 1) * 3 * sizeof *x);
  ck_assert_ptr_nonnull(x);
  int64_t bad = 0;
  ck_assert_ok(nvmm_data_read(data, row0, nrows, x, &bad));
  ck_assert_int_eq(bad, -1);
  for (int64_t i = 0; i < nrows; i++)
    for (size_t j = 0; j < 3; j++)
      ck_assert_msg(x[i * 3 + (int64_t)j] == csv_value((size_t)(row0 + i), j),
                    "rows [%lld, %lld): row %lld column %zu is %.17g", (long long)row0,
                    (long long)(row0 + nrows), (long long)(row0 + i), j, x[i * 3 + (int64_t)j]);
  free(x);
}

/* Ranges within one file, ending or starting at a boundary, and spanning the empty file and
 * several files. */
static void check_many_ranges(nvmm_data *data) {
  static const int64_t ranges[][2] = {{0, 1003}, {0, 337},  {337, 500}, {336, 2},
                                      {330, 20}, {836, 2},  {837, 166}, {300, 600},
                                      {1, 1001}, {1002, 1}, {337, 0},   {1003, 0}};
  for (size_t r = 0; r < sizeof ranges / sizeof *ranges; r++)
    check_rows(data, ranges[r][0], ranges[r][1]);
}

START_TEST(test_data_many) {
  char paths[MANY][512];
  write_many("many", -1, 0, paths);
  const char *files[MANY] = {paths[0], paths[1], paths[2], paths[3]};
  const char *dsets[MANY] = {"/X", "/X", "/X", "/X"};
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data));
  int64_t n, d;
  nvmm_data_dims(data, &n, &d);
  ck_assert_int_eq(n, MANY_N);
  ck_assert_int_eq(d, 3);
  check_many_ranges(data);
  ck_assert_fails(nvmm_data_read(data, 1000, 4, (double[12]){0}, NULL), NVMM_EINVAL, "[1000, 1004)",
                  "1003 rows", "many-0.h5", "3 more files");
  nvmm_data_close(&data);

  /* One file through open_many is the same as nvmm_data_open. */
  ck_assert_ok(nvmm_data_open_many(MPI_COMM_SELF, 1, files + 2, dsets, &data));
  nvmm_data_dims(data, &n, &d);
  ck_assert_int_eq(n, 500);
  nvmm_data_close(&data);

  /* The empty file alone is an empty data set. */
  ck_assert_ok(nvmm_data_open_many(MPI_COMM_WORLD, 1, files + 1, dsets, &data));
  nvmm_data_dims(data, &n, &d);
  ck_assert_int_eq(n, 0);
  ck_assert_ok(nvmm_data_read(data, 0, 0, NULL, NULL));
  nvmm_data_close(&data);
}
END_TEST

START_TEST(test_data_many_errors) {
  char paths[MANY][512], wide[MANY][512];
  write_many("bad", 700, 0, paths);
  const char *files[MANY] = {paths[0], paths[1], paths[2], paths[3]};
  const char *dsets[MANY] = {"/X", "/X", "/X", "/X"};
  nvmm_data *data = (nvmm_data *)&data;

  /* A NaN at global row 700: row 363 of the third file (the second with rows). */
  ck_assert_ok(nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data));
  double x[MANY_N * 3];
  int64_t bad = 0;
  ck_assert_ok(nvmm_data_read(data, 0, 700, x, &bad));
  ck_assert_fails(nvmm_data_read(data, 300, 500, x, &bad), NVMM_EDOM, "bad-2.h5", "'/X'",
                  "row 363 (global row 700)", "column 1", "NaN");
  ck_assert_int_eq(bad, 700);
  nvmm_data_close(&data);

  /* The last file is one column wider: both files and both widths are named. */
  write_many("wide", -1, 1, wide);
  files[3] = wide[3];
  ck_assert_fails(nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data), NVMM_EINVAL,
                  "wide-3.h5", "4 columns", "bad-0.h5", "has 3");
  ck_assert_ptr_null(data);

  /* A missing file or dataset in the list; a NULL name; no file at all. */
  files[3] = tpath("absent.h5");
  ck_assert_fails(nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data), NVMM_EIO,
                  "absent.h5", "No such file");
  files[3] = paths[3];
  dsets[2] = "/Y";
  ck_assert_fails(nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data), NVMM_EIO,
                  "bad-2.h5", "'/Y'");
  dsets[2] = NULL;
  ck_assert_fails(nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data), NVMM_EINVAL,
                  "NULL");
  ck_assert_fails(nvmm_data_open_many(MPI_COMM_WORLD, 0, files, dsets, &data), NVMM_EINVAL,
                  "at least one file");
  ck_assert_ptr_null(data);
}
END_TEST

START_TEST(test_data_vds) {
  char paths[MANY][512];
  write_many("vsrc", -1, 0, paths);
  const char *vds = tpath("vds.h5");
  write_vds(vds, paths, many_rows);
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open(MPI_COMM_WORLD, vds, "/X", &data));
  int64_t n, d;
  nvmm_data_dims(data, &n, &d);
  ck_assert_int_eq(n, MANY_N);
  ck_assert_int_eq(d, 3);
  check_many_ranges(data);
  nvmm_data_close(&data);

  /* A virtual dataset and a regular one in one data set. */
  const int64_t rows3[MANY] = {337, 0, 500, 0};
  const char *vds3 = tpath("vds3.h5");
  write_vds(vds3, paths, rows3);
  const char *files[2] = {vds3, paths[3]}, *dsets[2] = {"/X", "/X"};
  ck_assert_ok(nvmm_data_open_many(MPI_COMM_WORLD, 2, files, dsets, &data));
  check_many_ranges(data);
  nvmm_data_close(&data);

  /* A missing source would read as fill values (zeros): refused, naming it. (The check leaves
   * the search to HDF5 when $HDF5_VDS_PREFIX is set.) */
  unsetenv("HDF5_VDS_PREFIX");
  ck_assert_int_eq(rename(paths[2], tpath("vsrc-moved.h5")), 0);
  ck_assert_fails(nvmm_data_open(MPI_COMM_WORLD, vds, "/X", &data), NVMM_EIO, "vds.h5",
                  "missing file", "vsrc-2.h5");
  ck_assert_int_eq(rename(tpath("vsrc-moved.h5"), paths[2]), 0);
  /* So would a missing source dataset. */
  hid_t file = H5Fopen(paths[3], H5F_ACC_RDWR, H5P_DEFAULT);
  ck_assert_int_ge(file, 0);
  ck_assert_int_ge(H5Lmove(file, "/X", file, "/Z", H5P_DEFAULT, H5P_DEFAULT), 0);
  ck_assert_int_ge(H5Fclose(file), 0);
  ck_assert_fails(nvmm_data_open(MPI_COMM_WORLD, vds, "/X", &data), NVMM_EIO, "missing dataset",
                  "'/X'", "vsrc-3.h5");
  ck_assert_ptr_null(data);
}
END_TEST

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
      {0, 0, 0}, {3.1, 1.9, 0}, {3.5, 2.2, 0}, {1.3, 1.7, 0}, {-1.7, 1.3, 2.4}};
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
  nvmm_history_view h = {4, loglik, change, elapsed, counters, 2, names};
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
  nvmm_history_view empty = {0, NULL, NULL, NULL, NULL, 0, NULL};
  ck_assert_ok(nvmm_model_write(path, m, &empty, NULL));
  nvmm_model *r = NULL;
  ck_assert_ok(nvmm_model_read(path, &r));
  nvmm_model_free(&r);
  nvmm_history_view broken = {2, loglik, NULL, elapsed, NULL, 0, NULL};
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
  Suite *s = suite_create("io");
  TCase *tc = tcase_create("import");
  tcase_add_test(tc, test_import_roundtrip);
  tcase_add_test(tc, test_import_formats);
  tcase_add_test(tc, test_import_wide);
  tcase_add_test(tc, test_import_errors);
  tcase_add_test(tc, test_import_late_error);
  suite_add_tcase(s, tc);
  tc = tcase_create("data");
  tcase_add_test(tc, test_data_open_errors);
  tcase_add_test(tc, test_data_read_values);
  tcase_add_test(tc, test_data_nonfinite);
  tcase_add_test(tc, test_data_many);
  tcase_add_test(tc, test_data_many_errors);
  tcase_add_test(tc, test_data_vds);
  suite_add_tcase(s, tc);
  tc = tcase_create("model");
  tcase_add_loop_test(tc, test_model_roundtrip, 0, NVMM_FAMILY_COUNT);
  tcase_add_test(tc, test_model_history);
  tcase_add_test(tc, test_model_errors);
  suite_add_tcase(s, tc);
  return s;
}

/* Not NVMM_TEST_MAIN: the data reader needs MPI, and Check must not fork under MPI. */
int main(void) {
  MPI_Init(NULL, NULL);
  gsl_set_error_handler_off();
  nvmm_test_mkdtemp(tmp_dir, sizeof tmp_dir, "test_io");
  int nf = nvmm_test_run_mpi(make_suite());
  if (nf == 0)
    nvmm_test_rmtree(tmp_dir);
  MPI_Finalize();
  return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
