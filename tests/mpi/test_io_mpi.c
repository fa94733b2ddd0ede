/* test_io_mpi.c: the parallel data reader under mpirun at 1, 2 and 4 ranks: every rank reads an
 * uneven contiguous shard (one rank empty at 4 ranks) of an imported CSV and checks every value;
 * a NaN in one rank's shard, a file missing on one rank and a bad range on one rank give every
 * rank the same status without a hang. The same for a data set of four files (one empty) read
 * under many splits (ranges inside files, at and across their boundaries, empty), for a
 * virtual dataset over them, and for a width mismatch.
 * Usage: test_io_mpi PREFIX (temporary files PREFIX-*). */
#include <inttypes.h>
#include <mpi.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "nvmm_test.h"
#include "nvmm_test_mpi.h"

#define N_ROWS 1003
#define N_COLS 3

/* Set in main before the suite runs. */
static const char *prefix;
static int rank, size;

static const char *tpath(const char *name) {
  static char buf[4][1024];
  static int next;
  char *p = buf[next++ % 4];
  snprintf(p, sizeof buf[0], "%s-%s", prefix, name);
  return p;
}

/* x[i][j] = i + j/10: every value distinct, so a shifted or transposed shard shows. */
static double value(int64_t i, int64_t j) { return (double)i + (double)j / 10.0; }

/* Rank r's rows [first[r], first[r + 1]): cut at n r^2 / P^2, so shards grow with the rank;
 * at 4 ranks rank 1 gets no rows (its cut is merged with rank 2's). */
static void shard(int r, int64_t *row0, int64_t *nrows) {
  int64_t cut[5];
  for (int k = 0; k <= size; k++)
    cut[k] = (int64_t)N_ROWS * k * k / ((int64_t)size * size);
  if (size == 4)
    cut[2] = cut[1];
  *row0 = cut[r];
  *nrows = cut[r + 1] - cut[r];
}

/* Rank 0 imports a CSV of the known values (a chunked dataset with column names). */
static void make_csv_file(const char *h5) {
  if (rank == 0) {
    const char *csv = tpath("values.csv");
    FILE *f = fopen(csv, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "a,b,c\n");
    for (int64_t i = 0; i < N_ROWS; i++)
      fprintf(f, "%.17g,%.17g,%.17g\n", value(i, 0), value(i, 1), value(i, 2));
    ck_assert_int_eq(fclose(f), 0);
    nvmm_import_report rep;
    ck_assert_ok(nvmm_import_csv(csv, h5, "/X", &rep));
    ck_assert_int_eq(rep.rows, N_ROWS);
  }
  ck_assert_int_eq(MPI_Barrier(MPI_COMM_WORLD), MPI_SUCCESS);
}

/* Rank 0 writes the values with serial HDF5 (a contiguous dataset), with a NaN at
 * (nan_row, nan_col) if nan_row >= 0. */
static void make_h5_file(const char *h5, int64_t nan_row, int64_t nan_col) {
  if (rank == 0) {
    double *x = malloc(N_ROWS * N_COLS * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (int64_t i = 0; i < N_ROWS; i++)
      for (int64_t j = 0; j < N_COLS; j++)
        x[i * N_COLS + j] = value(i, j);
    if (nan_row >= 0)
      x[nan_row * N_COLS + nan_col] = NAN;
    hsize_t dims[2] = {N_ROWS, N_COLS};
    hid_t file = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(file, 0);
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dset =
        H5Dcreate2(file, "/X", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
    H5Dclose(dset);
    H5Sclose(space);
    ck_assert_int_ge(H5Fclose(file), 0);
    free(x);
  }
  ck_assert_int_eq(MPI_Barrier(MPI_COMM_WORLD), MPI_SUCCESS);
}

/* Every rank returned the same status. */
static void assert_same_everywhere(nvmm_status st) {
  int mine = (int)st, lo, hi;
  MPI_Allreduce(&mine, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&mine, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  ck_assert_msg(lo == hi, "ranks disagree: statuses from %d to %d", lo, hi);
}

START_TEST(test_read_shards) {
  const char *h5 = tpath("values.h5");
  make_csv_file(h5);
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open(MPI_COMM_WORLD, h5, "/X", &data));
  int64_t n, d, row0, nrows;
  nvmm_data_dims(data, &n, &d);
  ck_assert_int_eq(n, N_ROWS);
  ck_assert_int_eq(d, N_COLS);
  ck_assert_str_eq(nvmm_data_column_name(data, 2), "c");
  shard(rank, &row0, &nrows);
  double *x = malloc((size_t)(nrows > 0 ? nrows : 1) * N_COLS * sizeof *x);
  ck_assert_ptr_nonnull(x);
  int64_t bad = 0;
  ck_assert_ok(nvmm_data_read(data, row0, nrows, nrows > 0 ? x : NULL, &bad));
  ck_assert_int_eq(bad, -1);
  for (int64_t i = 0; i < nrows; i++)
    for (int64_t j = 0; j < N_COLS; j++)
      ck_assert_msg(x[i * N_COLS + j] == value(row0 + i, j),
                    "rank %d row %" PRId64 " column %" PRId64 ": %.17g", rank, row0 + i, j,
                    x[i * N_COLS + j]);
  /* The shards cover the rows exactly once. */
  int64_t total = 0;
  MPI_Allreduce(&nrows, &total, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
  ck_assert_int_eq(total, N_ROWS);

  /* A second read of a different (overlapping, reversed) split through the same handle. */
  shard(size - 1 - rank, &row0, &nrows);
  double *y = realloc(x, (size_t)(nrows > 0 ? nrows : 1) * N_COLS * sizeof *x);
  ck_assert_ptr_nonnull(y);
  ck_assert_ok(nvmm_data_read(data, row0, nrows, y, NULL));
  for (int64_t i = 0; i < nrows; i++)
    ck_assert(y[i * N_COLS + 1] == value(row0 + i, 1));
  free(y);
  nvmm_data_close(&data);
}
END_TEST

START_TEST(test_nan_in_one_shard) {
  const char *h5 = tpath("nan.h5");
  /* Row 700 lies in the last rank's shard at 2 and 4 ranks, rank 0's at 1 rank. */
  const int64_t nan_row = 700, nan_col = 2;
  make_h5_file(h5, nan_row, nan_col);
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open(MPI_COMM_WORLD, h5, "/X", &data));
  int64_t row0, nrows, bad = 0;
  shard(rank, &row0, &nrows);
  int owner = nan_row >= row0 && nan_row < row0 + nrows;
  double *x = malloc((size_t)(nrows > 0 ? nrows : 1) * N_COLS * sizeof *x);
  ck_assert_ptr_nonnull(x);
  nvmm_clear_error();
  nvmm_status st = nvmm_data_read(data, row0, nrows, x, &bad);
  assert_same_everywhere(st);
  ck_assert_msg(st == NVMM_EDOM, "rank %d: %s: %s", rank, nvmm_strerror(st), nvmm_last_error());
  ck_assert_int_eq(bad, nan_row);
  const char *msg = nvmm_last_error();
  ck_assert_msg(strstr(msg, "row 700") && strstr(msg, "column 2") && strstr(msg, "nan.h5"),
                "rank %d: %s", rank, msg);
  if (!owner)
    ck_assert_msg(strstr(msg, "another rank"), "rank %d: %s", rank, msg);
  else
    ck_assert_msg(!strstr(msg, "another rank"), "rank %d: %s", rank, msg);
  int owners = 0;
  MPI_Allreduce(&owner, &owners, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  ck_assert_int_eq(owners, 1);

  /* Rows before the NaN read fine afterwards: the failure left the handle usable. */
  ck_assert_ok(nvmm_data_read(data, 0, rank == 0 ? 10 : 0, x, &bad));
  ck_assert_int_eq(bad, -1);
  free(x);
  nvmm_data_close(&data);
}
END_TEST

START_TEST(test_missing_on_one_rank) {
  const char *good = tpath("good.h5");
  make_h5_file(good, -1, 0);
  /* The last rank names a file that does not exist: all ranks must fail, none may hang. */
  const char *path = rank == size - 1 ? tpath("absent.h5") : good;
  nvmm_data *data = (nvmm_data *)&data;
  nvmm_clear_error();
  nvmm_status st = nvmm_data_open(MPI_COMM_WORLD, path, "/X", &data);
  assert_same_everywhere(st);
  ck_assert_msg(st == NVMM_EIO, "rank %d: %s", rank, nvmm_strerror(st));
  ck_assert_ptr_null(data);
  ck_assert_msg(strstr(nvmm_last_error(), "absent.h5"), "rank %d: %s", rank, nvmm_last_error());

  /* A range past the end on one rank: every rank gets NVMM_EINVAL. */
  ck_assert_ok(nvmm_data_open(MPI_COMM_WORLD, good, "/X", &data));
  double x[2 * N_COLS];
  st = nvmm_data_read(data, rank == 0 ? N_ROWS - 1 : 0, rank == 0 ? 2 : 1, x, NULL);
  assert_same_everywhere(st);
  ck_assert_int_eq(st, NVMM_EINVAL);
  ck_assert_msg(strstr(nvmm_last_error(), "[1002, 1004)"), "rank %d: %s", rank, nvmm_last_error());
  nvmm_data_close(&data);
}
END_TEST

/* A data set of several files: 337, 0, 500 and 166 rows (1003 in all, the first N_ROWS of
 * value()), numbered globally. */
#define MANY 4
static const int64_t many_rows[MANY] = {337, 0, 500, 166};

/* Rank 0 writes tag-0.h5 .. tag-3.h5 (dataset /X; file 3 one column wider if wide) with a NaN
 * at global row nan_row, column 2, if nan_row >= 0; names[k] receives the paths. */
static void make_many(const char *tag, int64_t nan_row, int wide, char names[MANY][1024]) {
  int64_t first = 0;
  for (int k = 0; k < MANY; k++) {
    char name[64];
    snprintf(name, sizeof name, "%s-%d.h5", tag, k);
    snprintf(names[k], 1024, "%s", tpath(name));
    int64_t rows = many_rows[k], cols = N_COLS + (wide && k == 3);
    if (rank == 0) {
      double *x = malloc((size_t)(rows > 0 ? rows : 1) * (size_t)cols * sizeof *x);
      ck_assert_ptr_nonnull(x);
      for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
          x[i * cols + j] = first + i == nan_row && j == 2 ? NAN : value(first + i, j);
      hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
      hid_t file = H5Fcreate(names[k], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
      ck_assert_int_ge(file, 0);
      hid_t space = H5Screate_simple(2, dims, NULL);
      hid_t dset =
          H5Dcreate2(file, "/X", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      ck_assert_int_ge(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
      H5Dclose(dset);
      H5Sclose(space);
      ck_assert_int_ge(H5Fclose(file), 0);
      free(x);
    }
    first += rows;
  }
  ck_assert_int_eq(MPI_Barrier(MPI_COMM_WORLD), MPI_SUCCESS);
}

/* Rank 0 writes the virtual dataset /X of vds mapping the /X of every non-empty file in order
 * (by base name: HDF5 finds them next to vds). */
static void make_vds(const char *vds, char names[MANY][1024]) {
  if (rank == 0) {
    hsize_t vdims[2] = {N_ROWS, N_COLS}, first = 0;
    hid_t vspace = H5Screate_simple(2, vdims, NULL), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    for (int k = 0; k < MANY; k++) {
      if (many_rows[k] == 0)
        continue;
      hsize_t start[2] = {first, 0}, dims[2] = {(hsize_t)many_rows[k], N_COLS};
      hid_t src = H5Screate_simple(2, dims, NULL);
      ck_assert_int_ge(H5Sselect_hyperslab(vspace, H5S_SELECT_SET, start, NULL, dims, NULL), 0);
      const char *base = strrchr(names[k], '/');
      ck_assert_int_ge(H5Pset_virtual(dcpl, vspace, base ? base + 1 : names[k], "/X", src), 0);
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
  ck_assert_int_eq(MPI_Barrier(MPI_COMM_WORLD), MPI_SUCCESS);
}

/* Splits of the 1003 rows: P ranks cut at P - 1 of the three points of a row (1 rank: none;
 * 2 ranks: the middle one), so ranges start and end inside files, at their boundaries (337
 * is also where the empty file sits), span several files, or are empty. */
static const int64_t splits[][3] = {{62, 62, 564},  {337, 337, 837}, {336, 838, 1002},
                                    {1, 700, 1003}, {0, 0, 0},       {2, 500, 836}};
#define NSPLITS (sizeof splits / sizeof *splits)

static void split_range(size_t s, int r, int64_t *row0, int64_t *nrows) {
  int64_t cut[5] = {0};
  for (int k = 1; k < size; k++)
    cut[k] = size == 2 ? splits[s][1] : splits[s][k - 1];
  cut[size] = N_ROWS;
  *row0 = cut[r];
  *nrows = cut[r + 1] - cut[r];
}

/* Reads [row0, row0 + nrows) on this rank (collectively) and checks every value. */
static void read_and_check(nvmm_data *data, int64_t row0, int64_t nrows) {
  double *x = malloc((size_t)(nrows > 0 ? nrows : 1) * N_COLS * sizeof *x);
  ck_assert_ptr_nonnull(x);
  int64_t bad = 0;
  ck_assert_ok(nvmm_data_read(data, row0, nrows, x, &bad));
  ck_assert_int_eq(bad, -1);
  for (int64_t i = 0; i < nrows; i++)
    for (int64_t j = 0; j < N_COLS; j++)
      ck_assert_msg(x[i * N_COLS + j] == value(row0 + i, j),
                    "rank %d rows [%" PRId64 ", %" PRId64 "): row %" PRId64 " column %" PRId64
                    " is %.17g",
                    rank, row0, row0 + nrows, row0 + i, j, x[i * N_COLS + j]);
  free(x);
}

/* Every split, the squared shards, and every rank reading all rows (overlapping ranges). */
static void check_splits(nvmm_data *data) {
  int64_t n, d, row0, nrows;
  nvmm_data_dims(data, &n, &d);
  ck_assert_int_eq(n, N_ROWS);
  ck_assert_int_eq(d, N_COLS);
  for (size_t s = 0; s < NSPLITS; s++) {
    split_range(s, rank, &row0, &nrows);
    read_and_check(data, row0, nrows);
  }
  shard(rank, &row0, &nrows);
  read_and_check(data, row0, nrows);
  read_and_check(data, 0, N_ROWS);
}

START_TEST(test_many_files) {
  char names[MANY][1024];
  make_many("many", -1, 0, names);
  const char *files[MANY] = {names[0], names[1], names[2], names[3]};
  const char *dsets[MANY] = {"/X", "/X", "/X", "/X"};
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data));
  check_splits(data);
  nvmm_data_close(&data);

  /* The same files through one virtual dataset, and a virtual dataset followed by a regular
   * dataset in one data set (the file of the last rows twice: in the VDS and after it). */
  const char *vds = tpath("many-vds.h5");
  make_vds(vds, names);
  ck_assert_ok(nvmm_data_open(MPI_COMM_WORLD, vds, "/X", &data));
  check_splits(data);
  nvmm_data_close(&data);
  const char *mixed[2] = {vds, names[3]};
  ck_assert_ok(nvmm_data_open_many(MPI_COMM_WORLD, 2, mixed, dsets, &data));
  int64_t n;
  nvmm_data_dims(data, &n, NULL);
  ck_assert_int_eq(n, N_ROWS + many_rows[3]);
  int64_t row0 = N_ROWS * rank / size, nrows = (N_ROWS + many_rows[3]) * (rank + 1) / size - row0;
  double *x = malloc((size_t)nrows * N_COLS * sizeof *x);
  ck_assert_ptr_nonnull(x);
  ck_assert_ok(nvmm_data_read(data, row0, nrows, x, NULL));
  for (int64_t i = 0; i < nrows; i++) {
    int64_t g = row0 + i < N_ROWS ? row0 + i : row0 + i - many_rows[3];
    ck_assert(x[i * N_COLS + 1] == value(g, 1));
  }
  free(x);
  nvmm_data_close(&data);
}
END_TEST

START_TEST(test_many_errors) {
  char names[MANY][1024], wide[MANY][1024];
  /* Global row 700 is row 363 of the third file (the second with rows); it lies in the last
   * rank's shard at 2 and 4 ranks. */
  const int64_t nan_row = 700;
  make_many("many-nan", nan_row, 0, names);
  const char *files[MANY] = {names[0], names[1], names[2], names[3]};
  const char *dsets[MANY] = {"/X", "/X", "/X", "/X"};
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data));
  int64_t row0, nrows, bad = 0;
  shard(rank, &row0, &nrows);
  int owner = nan_row >= row0 && nan_row < row0 + nrows;
  double *x = malloc((size_t)(nrows > 0 ? nrows : 1) * N_COLS * sizeof *x);
  ck_assert_ptr_nonnull(x);
  nvmm_clear_error();
  nvmm_status st = nvmm_data_read(data, row0, nrows, x, &bad);
  assert_same_everywhere(st);
  ck_assert_msg(st == NVMM_EDOM, "rank %d: %s: %s", rank, nvmm_strerror(st), nvmm_last_error());
  ck_assert_int_eq(bad, nan_row);
  const char *msg = nvmm_last_error();
  ck_assert_msg(strstr(msg, "many-nan-2.h5") && strstr(msg, "row 363 (global row 700)") &&
                    strstr(msg, "column 2") && strstr(msg, "NaN"),
                "rank %d: %s", rank, msg);
  ck_assert_msg((strstr(msg, "another rank") == NULL) == owner, "rank %d: %s", rank, msg);
  free(x);
  nvmm_data_close(&data);

  /* The last file is one column wider: every rank fails, naming both files and widths. */
  make_many("many-wide", -1, 1, wide);
  files[3] = wide[3];
  data = (nvmm_data *)&data;
  nvmm_clear_error();
  st = nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data);
  assert_same_everywhere(st);
  ck_assert_int_eq(st, NVMM_EINVAL);
  ck_assert_ptr_null(data);
  msg = nvmm_last_error();
  ck_assert_msg(strstr(msg, "many-wide-3.h5") && strstr(msg, "4 columns") &&
                    strstr(msg, "many-nan-0.h5") && strstr(msg, "has 3"),
                "rank %d: %s", rank, msg);

  /* The last file of the list is missing on the last rank only. */
  files[3] = rank == size - 1 ? tpath("absent.h5") : names[3];
  st = nvmm_data_open_many(MPI_COMM_WORLD, MANY, files, dsets, &data);
  assert_same_everywhere(st);
  ck_assert_int_eq(st, NVMM_EIO);
  ck_assert_msg(strstr(nvmm_last_error(), "absent.h5"), "rank %d: %s", rank, nvmm_last_error());
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("io-mpi");
  TCase *tc = tcase_create("shards");
  tcase_add_test(tc, test_read_shards);
  tcase_add_test(tc, test_nan_in_one_shard);
  tcase_add_test(tc, test_missing_on_one_rank);
  tcase_add_test(tc, test_many_files);
  tcase_add_test(tc, test_many_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  gsl_set_error_handler_off();
  if (argc != 2 || size > 4) {
    if (rank == 0)
      fprintf(stderr, "usage: mpirun -n {1..4} %s PREFIX\n", argv[0]);
    MPI_Finalize();
    return EXIT_FAILURE;
  }
  prefix = argv[1];
  int total = nvmm_test_run_mpi(make_suite());
  if (rank == 0 && total == 0) {
    const char *names[] = {"values.csv", "values.h5", "nan.h5", "good.h5", "many-vds.h5"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++)
      (void)remove(tpath(names[k]));
    const char *tags[] = {"many", "many-nan", "many-wide"};
    for (size_t t = 0; t < sizeof tags / sizeof *tags; t++)
      for (int k = 0; k < MANY; k++) {
        char name[64];
        snprintf(name, sizeof name, "%s-%d.h5", tags[t], k);
        (void)remove(tpath(name));
      }
  }
  MPI_Finalize();
  return total == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
