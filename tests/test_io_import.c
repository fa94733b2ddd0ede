/* test_io_import.c: CSV import in one process (io_import.c): values bitwise, column names,
 * skipped columns, quoting and line ends, wide files, missing cells (error and drop), the
 * delimiters and decimal commas, and every error, with no output left behind. Data sets are read in
 * test_io_data.c, model files in test_io_model.c. */
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

/* Reads the int64 attribute "rows_dropped" and the string attribute "missing" of dataset. */
static int64_t dropped_attr(const char *path, const char *name, char *missing, size_t size) {
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert_int_ge(file, 0);
  hid_t dset = H5Dopen2(file, name, H5P_DEFAULT);
  ck_assert_int_ge(dset, 0);
  int64_t n = -1;
  hid_t a = H5Aopen(dset, "rows_dropped", H5P_DEFAULT);
  ck_assert_int_ge(a, 0);
  ck_assert_int_ge(H5Aread(a, H5T_NATIVE_INT64, &n), 0);
  H5Aclose(a);
  a = H5Aopen(dset, "missing", H5P_DEFAULT);
  ck_assert_int_ge(a, 0);
  hid_t t = H5Aget_type(a), mt = H5Tcopy(H5T_C_S1);
  if (H5Tis_variable_str(t) > 0) {
    char *v = NULL;
    H5Tset_size(mt, H5T_VARIABLE);
    ck_assert_int_ge(H5Aread(a, mt, &v), 0);
    snprintf(missing, size, "%s", v);
    H5free_memory(v);
  } else {
    H5Tset_size(mt, size);
    ck_assert_int_ge(H5Aread(a, mt, missing), 0);
  }
  H5Tclose(mt);
  H5Tclose(t);
  H5Aclose(a);
  ck_assert_int_eq(H5Aexists(dset, "nothing"), 0);
  H5Dclose(dset);
  H5Fclose(file);
  return n;
}

START_TEST(test_import_missing) {
  /* Each missing token in a numeric column: an error naming line, column, field index and
   * token by default; dropped and counted with NVMM_MISSING_DROP. */
  static const char *const tokens[] = {"", "NA", "N/A", "NaN", "nan", "null", "NULL", "."};
  const char *csv = tpath("miss.csv"), *out = tpath("miss.h5");
  nvmm_import_options drop = {.missing = NVMM_MISSING_DROP};
  for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++) {
    char text[256];
    snprintf(text, sizeof text, "id,a,b\nr1,1.5,2\nr2,3,%s\nr3,4,5\n", tokens[i]);
    write_text(csv, text);
    remove(out);
    char token[32];
    snprintf(token, sizeof token, *tokens[i] ? "'%s'" : "(an empty field)", tokens[i]);
    ck_assert_fails(nvmm_import_csv(csv, out, NULL, NULL), NVMM_EINVAL, "line 3", "column 'b'",
                    "field 3 of 3", token, "--missing drop");
    assert_no_output(out);
    nvmm_import_report rep;
    ck_assert_ok(nvmm_import_csv_opts(csv, out, NULL, &drop, &rep));
    ck_assert_int_eq(rep.rows, 2);
    ck_assert_int_eq(rep.rows_dropped, 1);
    ck_assert_int_eq(rep.first_dropped, 3);
    hsize_t dims[2];
    double *x = read_all(out, "/X", dims);
    const double want[4] = {1.5, 2, 4, 5};
    ck_assert_uint_eq(dims[0], 2);
    ck_assert_mem_eq(x, want, sizeof want);
    free(x);
    char missing[16];
    ck_assert_int_eq(dropped_attr(out, "/X", missing, sizeof missing), 1);
    ck_assert_str_eq(missing, "drop");
  }

  /* Missing cells in a skipped (text) column are ignored; a column is judged on its first
   * non-missing value even when the first data rows lack it; a column with no value at all is
   * skipped; counts with blank lines keep file line numbers. */
  write_text(csv, "a,b,note,empty\n"
                  ",NA,,\n"
                  "1,2,x,\n"
                  "\n"
                  "3,.,NA,\n"
                  "5,6,,\n"
                  "7,8,y,\n");
  ck_assert_fails(nvmm_import_csv(csv, out, NULL, NULL), NVMM_EINVAL, "line 2", "column 'a'",
                  "field 1 of 4", "(an empty field)");
  nvmm_import_report rep;
  ck_assert_ok(nvmm_import_csv_opts(csv, out, "/D", &drop, &rep));
  ck_assert_int_eq(rep.rows, 3);
  ck_assert_int_eq(rep.columns, 2);
  ck_assert_int_eq(rep.skipped, 2);
  ck_assert_str_eq(rep.skipped_names, "note,empty");
  ck_assert_int_eq(rep.rows_dropped, 2);
  ck_assert_int_eq(rep.first_dropped, 2);
  hsize_t dims[2];
  double *x = read_all(out, "/D", dims);
  const double want[6] = {1, 2, 5, 6, 7, 8};
  ck_assert_uint_eq(dims[0], 3);
  ck_assert_mem_eq(x, want, sizeof want);
  free(x);
  char missing[16];
  ck_assert_int_eq(dropped_attr(out, "/D", missing, sizeof missing), 2);

  /* Dropping every row is an error; a clean file under drop records 0. */
  remove(out);
  write_text(csv, "a,b\n1,NA\nNA,2\n");
  ck_assert_fails(nvmm_import_csv_opts(csv, out, NULL, &drop, NULL), NVMM_EINVAL,
                  "every one of its 2 data rows");
  assert_no_output(out);
  write_text(csv, "a,b\n1,2\n");
  ck_assert_ok(nvmm_import_csv_opts(csv, out, NULL, &drop, &rep));
  ck_assert_int_eq(rep.rows_dropped, 0);
  ck_assert_int_eq(rep.first_dropped, 0);
  ck_assert_int_eq(dropped_attr(out, "/X", missing, sizeof missing), 0);
}
END_TEST

START_TEST(test_import_delimiters) {
  /* Each delimiter given, and ';' and tab detected from a header without commas; quoted
   * fields containing the delimiter; blanks around fields that are not the delimiter. */
  static const struct {
    char given;       /* option (0: detect) */
    char used;        /* expected delimiter */
    int detected;     /* expected detection flag */
    const char *text; /* the file */
  } cases[] = {
      {0, ',', 0, "name,a,b\n\"x,y\",1.5,-2\nz, 3 ,4e1\n"},
      {',', ',', 0, "name,a,b\n\"x,y\",1.5,-2\nz, 3 ,4e1\n"},
      {0, ';', 1, "name;a;b\n\"x;y\";1.5;-2\nz; 3 ;4e1\n"},
      {';', ';', 0, "name;a;b\n\"x;y\";1.5;-2\nz; 3 ;4e1\n"},
      {0, '\t', 1, "name\ta\tb\n\"x\ty\"\t1.5\t-2\nz\t 3 \t4e1\n"},
      {'\t', '\t', 0, "name\ta\tb\n\"x\ty\"\t1.5\t-2\nz\t 3 \t4e1\n"},
      {'|', '|', 0, "name|a|b\n\"x|y\"|1.5|-2\nz| 3 |4e1\n"},
      {' ', ' ', 0, "  name   a  b  \n\"x y\" 1.5    -2\nz 3 4e1   \n"},
  };
  const char *csv = tpath("delim.csv"), *out = tpath("delim.h5");
  const double want[4] = {1.5, -2, 3, 40};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    write_text(csv, cases[i].text);
    nvmm_import_options opt = {.delimiter = cases[i].given};
    nvmm_import_report rep;
    ck_assert_ok(nvmm_import_csv_opts(csv, out, NULL, &opt, &rep));
    ck_assert_int_eq(rep.delimiter, cases[i].used);
    ck_assert_int_eq(rep.delimiter_detected, cases[i].detected);
    ck_assert_int_eq(rep.decimal_comma, 0);
    ck_assert_int_eq(rep.columns, 2);
    ck_assert_int_eq(rep.skipped, 1);
    ck_assert_str_eq(rep.skipped_names, "name");
    hsize_t dims[2];
    double *x = read_all(out, "/X", dims);
    ck_assert_uint_eq(dims[0], 2);
    ck_assert_mem_eq(x, want, sizeof want);
    free(x);
  }

  /* A wrong field count names the delimiter in use, the line and a likelier delimiter. */
  remove(out);
  write_text(csv, "a;b;c\n0,5;1,5;2\n");
  nvmm_import_options comma = {.delimiter = ','};
  ck_assert_fails(nvmm_import_csv_opts(csv, out, NULL, &comma, NULL), NVMM_EINVAL, "line 2",
                  "has 3 fields separated by ','", "the header has 1",
                  "is the delimiter ';'? (--delimiter)");
  assert_no_output(out);
  write_text(csv, "a;b\n1;2\n");
  ck_assert_fails(nvmm_import_csv_opts(csv, out, NULL, &comma, NULL), NVMM_EINVAL,
                  "no numeric column", "is the delimiter ';'?");
  write_text(csv, "a\tb\n1\t2\n3\t4\t5\n");
  ck_assert_fails(nvmm_import_csv(csv, out, NULL, NULL), NVMM_EINVAL, "line 3",
                  "3 fields separated by tab but the header has 2");
  write_text(csv, "a,b\n1,2\n3;4\n");
  ck_assert_fails(nvmm_import_csv(csv, out, NULL, NULL), NVMM_EINVAL, "line 3",
                  "1 field separated by ','", "(column 'b' missing)", "--delimiter");
  nvmm_import_options bad = {.delimiter = ':'};
  ck_assert_fails(nvmm_import_csv_opts(csv, out, NULL, &bad, NULL), NVMM_EINVAL, "delimiter");
  assert_no_output(out);
}
END_TEST

START_TEST(test_import_decimal_comma) {
  /* ';' files with decimal commas: detected from the first values, or given; quoted values
   * with a comma in a ',' file need the option; the other separator is never misread. */
  const char *csv = tpath("dec.csv"), *out = tpath("dec.h5");
  write_text(csv, "Datum;A;B\n"
                  "2001-01-01;0,0123;-1,5e-2\n"
                  "2001-01-02;2;NA\n"
                  "2001-01-03;-0,5;3\n");
  nvmm_import_options drop = {.missing = NVMM_MISSING_DROP};
  nvmm_import_report rep;
  ck_assert_ok(nvmm_import_csv_opts(csv, out, NULL, &drop, &rep));
  ck_assert_int_eq(rep.delimiter, ';');
  ck_assert_int_eq(rep.delimiter_detected, 1);
  ck_assert_int_eq(rep.decimal_comma, 1);
  ck_assert_int_eq(rep.decimal_detected, 1);
  ck_assert_int_eq(rep.rows, 2);
  ck_assert_int_eq(rep.rows_dropped, 1);
  ck_assert_int_eq(rep.first_dropped, 3);
  hsize_t dims[2];
  double *x = read_all(out, "/X", dims);
  const double want[4] = {0.0123, -1.5e-2, -0.5, 3};
  ck_assert_mem_eq(x, want, sizeof want);
  free(x);

  nvmm_import_options given = {.decimal_comma = 1};
  write_text(csv, "a,b\n\"1,5\",2\n\"-0,25\",\"1e3\"\n");
  ck_assert_ok(nvmm_import_csv_opts(csv, out, NULL, &given, &rep));
  ck_assert_int_eq(rep.decimal_comma, 1);
  ck_assert_int_eq(rep.decimal_detected, 0);
  x = read_all(out, "/X", dims);
  const double want2[4] = {1.5, 2, -0.25, 1e3};
  ck_assert_mem_eq(x, want2, sizeof want2);
  free(x);
  /* In a ',' file the comma is not detected: an error, not a skipped column. */
  remove(out);
  ck_assert_fails(nvmm_import_csv(csv, out, NULL, NULL), NVMM_EINVAL, "line 2", "column 'a'",
                  "'1,5' is a number only with a decimal comma", "--decimal-comma");
  assert_no_output(out);
  /* A decimal comma after decimal-point first values, and a decimal point in a decimal-comma
   * file. */
  write_text(csv, "a;b\n1.5;2\n3;0,5\n");
  ck_assert_fails(nvmm_import_csv(csv, out, NULL, NULL), NVMM_EINVAL, "line 3", "column 'b'",
                  "'0,5'");
  assert_no_output(out);
  write_text(csv, "a;b\n1,5;2\n3;0.5\n");
  ck_assert_fails(nvmm_import_csv(csv, out, NULL, NULL), NVMM_EINVAL, "line 3", "column 'b'",
                  "'0.5' has a decimal point");
  assert_no_output(out);
  write_text(csv, "a;b\n1;2\n1.234,5;3\n");
  ck_assert_fails(nvmm_import_csv_opts(csv, out, NULL, &given, NULL), NVMM_EINVAL, "line 3",
                  "'1.234,5'");
  nvmm_import_options never = {.decimal_comma = -1};
  write_text(csv, "a;b\n1,5;2\n");
  ck_assert_fails(nvmm_import_csv_opts(csv, out, NULL, &never, NULL), NVMM_EINVAL, "line 2",
                  "decimal comma");
  assert_no_output(out);
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
  tcase_add_test(tc, test_import_missing);
  tcase_add_test(tc, test_import_delimiters);
  tcase_add_test(tc, test_import_decimal_comma);
  suite_add_tcase(s, tc);
  return s;
}

NVMM_TEST_IO_MAIN(make_suite, "test_io_import")
