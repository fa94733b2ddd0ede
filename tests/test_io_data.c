/* test_io_data.c: opening and reading data sets in one process (io_data.c): shapes, type
 * conversions, non-finite values, bad files, data sets of several files and virtual datasets.
 * The reads under several ranks are tests/mpi/test_io_mpi.c's. */
#define _GNU_SOURCE
#include "nvmm_test_io.h"

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

static Suite *make_suite(void) {
  Suite *s = suite_create("io_data");
  TCase *tc = tcase_create("data");
  tcase_add_test(tc, test_data_open_errors);
  tcase_add_test(tc, test_data_read_values);
  tcase_add_test(tc, test_data_nonfinite);
  tcase_add_test(tc, test_data_many);
  tcase_add_test(tc, test_data_many_errors);
  tcase_add_test(tc, test_data_vds);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_IO_MAIN(make_suite, "test_io_data")
