/* test_io_import.c: CSV import in one process (io_import.c): values bitwise, column names,
 * skipped columns, quoting and line ends, wide files, and every error, with no output left
 * behind. Data sets are read in test_io_data.c, model files in test_io_model.c. */
#define _GNU_SOURCE
#include "nvmm_test_io.h"

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

static Suite *make_suite(void) {
  Suite *s = suite_create("io_import");
  TCase *tc = tcase_create("import");
  tcase_add_test(tc, test_import_roundtrip);
  tcase_add_test(tc, test_import_formats);
  tcase_add_test(tc, test_import_wide);
  tcase_add_test(tc, test_import_errors);
  tcase_add_test(tc, test_import_late_error);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_IO_MAIN(make_suite, "test_io_import")
