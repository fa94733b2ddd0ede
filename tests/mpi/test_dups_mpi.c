/* test_dups_mpi.c: nvmm_data_duplicates under mpirun at 1 and 3 ranks: on hand-made data with a
 * known duplicate structure (copies spread over every rank's share, -0.0 beside 0.0, rows that
 * differ in the last bit of one value, a tie for the most repeated row) the report is exactly
 * the known one on every rank and every rank count, also read in many small chunks and, with
 * the test hook that shortens the hash, when every row's hash collides; data with no copies
 * report none, an empty data set nothing, and a NaN NVMM_EDOM on every rank.
 * Usage: test_dups_mpi PREFIX (temporary files PREFIX-*). */
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "nvmm_test.h"
#include "nvmm_test_mpi.h"

#define D 3
#define FILLER 211 /* distinct rows besides the copies; prime, so copies scatter over it */

/* Set in main before the suite runs. */
static const char *prefix;
static int rank, size;

static const char *tpath(const char *name) {
  static char buf[2][1024];
  static int next;
  char *p = buf[next++ % 2];
  snprintf(p, sizeof buf[0], "%s-%s", prefix, name);
  return p;
}

/* Rank 0 writes x (n x D) as /X of h5 with serial HDF5; every rank waits for it. */
static void write_h5(const char *h5, const double *x, size_t n) {
  if (rank == 0) {
    hsize_t dims[2] = {n, D};
    hid_t file = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(file, 0);
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dset =
        H5Dcreate2(file, "/X", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(dset, 0);
    if (n > 0)
      ck_assert_int_ge(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
  }
  ck_assert_int_eq(MPI_Barrier(MPI_COMM_WORLD), MPI_SUCCESS);
}

/* Filler row i: distinct from every other row and from the copies below. */
static void filler(size_t i, double *r) {
  for (int j = 0; j < D; j++)
    r[j] = 10.0 + (double)i * 1.375 + (double)j / 7.0;
}

/* The copies: A = (2.385, -1.25, 0.5) 7 times, Z = (0, 1.5, -3.75) 4 times (two with -0.0
 * first), C = (1.0625, 2, 3) twice and C' (its last value one ulp up) once, E = (-5.5, 1, 1)
 * 7 times (ties A; smaller, so it is the most repeated row), and F (E's first value one ulp up)
 * once. Expected: 4 distinct rows repeat, 7 + 4 + 2 + 7 = 20 rows, max 7 times, E. */
#define NCOPIES 22
static void copy_row(int k, double *r) {
  static const double rows[][D] = {
      {2.385, -1.25, 0.5}, {0.0, 1.5, -3.75}, {1.0625, 2.0, 3.0}, {-5.5, 1.0, 1.0}};
  static const int which[NCOPIES] = {0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1,
                                     2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  memcpy(r, rows[which[k]], sizeof rows[0]);
  if (k == 7 || k == 9)
    r[0] = -0.0;
  if (k == 13)
    r[2] = nextafter(3.0, 4.0);
  if (k == 21)
    r[0] = nextafter(-5.5, 0.0);
}

/* FILLER + NCOPIES rows: copy k at row 10 k + 3 (so at 3 ranks copies sit in every share),
 * filler rows elsewhere; into a new array (caller frees). */
static double *known_data(size_t *n) {
  *n = FILLER + NCOPIES;
  double *x = malloc(*n * D * sizeof *x);
  ck_assert_ptr_nonnull(x);
  size_t f = 0;
  for (size_t i = 0; i < *n; i++) {
    if (i % 10 == 3 && i / 10 < NCOPIES)
      copy_row((int)(i / 10), x + i * D);
    else
      filler(f++, x + i * D);
  }
  ck_assert_uint_eq(f, FILLER);
  return x;
}

/* Opens h5 and counts; checks that every rank got the same report. */
static nvmm_status count(const char *h5, nvmm_dups_report *rep) {
  nvmm_data *data = NULL;
  ck_assert_ok(nvmm_data_open(MPI_COMM_WORLD, h5, "/X", &data));
  nvmm_status st = nvmm_data_duplicates(MPI_COMM_WORLD, data, rep);
  nvmm_data_close(&data);
  int64_t v[5] = {st, rep->distinct_repeated, rep->rows, rep->max_multiplicity,
                  rep->max_row != NULL},
          lo[5], hi[5];
  MPI_Allreduce(v, lo, 5, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(v, hi, 5, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
  for (int k = 0; k < 5; k++)
    ck_assert_int_eq(lo[k], hi[k]);
  return st;
}

static void check_known(void) {
  nvmm_dups_report rep;
  ck_assert_ok(count(tpath("known.h5"), &rep));
  ck_assert_int_eq(rep.n, FILLER + NCOPIES);
  ck_assert_int_eq(rep.d, D);
  ck_assert_int_eq(rep.distinct_repeated, 4);
  ck_assert_int_eq(rep.rows, 20);
  ck_assert_int_eq(rep.max_multiplicity, 7);
  ck_assert_ptr_nonnull(rep.max_row);
  /* Bitwise E: -5.5, 1, 1. */
  const double e[D] = {-5.5, 1.0, 1.0};
  ck_assert_mem_eq(rep.max_row, e, sizeof e);
  nvmm_dups_report_free(&rep);
  ck_assert_ptr_null(rep.max_row);
}

START_TEST(test_known) {
  size_t n;
  double *x = known_data(&n);
  write_h5(tpath("known.h5"), x, n);
  free(x);
  check_known();
  /* Many rounds: 5 rows per chunk (47 rounds at 1 rank; the store grows and merges). */
  setenv("NVMM_FAULT_DUPS_CHUNK_ROWS", "5", 1);
  check_known();
  unsetenv("NVMM_FAULT_DUPS_CHUNK_ROWS");
}
END_TEST

/* With the hash cut to 0 bits every row collides (and goes to rank 0), with 1 bit half do:
 * the runs are told by the values, so the report is the same. */
START_TEST(test_collisions) {
#ifdef NVMM_FAULT_HOOKS
  size_t n;
  double *x = known_data(&n);
  write_h5(tpath("known.h5"), x, n);
  free(x);
  for (int bits = 0; bits <= 1; bits++) {
    setenv("NVMM_FAULT_DUPS_HASH_BITS", bits ? "1" : "0", 1);
    setenv("NVMM_FAULT_DUPS_CHUNK_ROWS", "9", 1);
    check_known();
    unsetenv("NVMM_FAULT_DUPS_CHUNK_ROWS");
    check_known();
  }
  unsetenv("NVMM_FAULT_DUPS_HASH_BITS");
#endif
}
END_TEST

/* All copies of one row: one group of n; and no copies at all: none. */
START_TEST(test_all_and_none) {
  size_t n = 97;
  double *x = malloc(n * D * sizeof *x);
  ck_assert_ptr_nonnull(x);
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < D; j++)
      x[i * D + j] = (i % 2 && j == 1) ? -0.0 : 0.0;
  write_h5(tpath("same.h5"), x, n);
  nvmm_dups_report rep;
  ck_assert_ok(count(tpath("same.h5"), &rep));
  ck_assert_int_eq(rep.distinct_repeated, 1);
  ck_assert_int_eq(rep.rows, 97);
  ck_assert_int_eq(rep.max_multiplicity, 97);
  const double zero[D] = {0.0, 0.0, 0.0}; /* +0.0, never -0.0 */
  ck_assert_mem_eq(rep.max_row, zero, sizeof zero);
  nvmm_dups_report_free(&rep);
  for (size_t i = 0; i < n; i++)
    filler(i, x + i * D);
  write_h5(tpath("none.h5"), x, n);
  free(x);
  ck_assert_ok(count(tpath("none.h5"), &rep));
  ck_assert_int_eq(rep.n, 97);
  ck_assert_int_eq(rep.distinct_repeated, 0);
  ck_assert_int_eq(rep.rows, 0);
  ck_assert_int_eq(rep.max_multiplicity, 1);
  ck_assert_ptr_null(rep.max_row);
  write_h5(tpath("empty.h5"), NULL, 0);
  ck_assert_ok(count(tpath("empty.h5"), &rep));
  ck_assert_int_eq(rep.n, 0);
  ck_assert_int_eq(rep.max_multiplicity, 0);
  ck_assert_ptr_null(rep.max_row);
}
END_TEST

/* A NaN in the last rank's share: NVMM_EDOM on every rank, no row. */
START_TEST(test_nan) {
  size_t n;
  double *x = known_data(&n);
  x[(n - 2) * D + 1] = NAN;
  write_h5(tpath("nan.h5"), x, n);
  free(x);
  nvmm_dups_report rep;
  ck_assert_int_eq(count(tpath("nan.h5"), &rep), NVMM_EDOM);
  ck_assert_ptr_null(rep.max_row);
  ck_assert_int_eq(nvmm_data_duplicates(MPI_COMM_WORLD, NULL, &rep), NVMM_EINVAL);
}
END_TEST

static Suite *make_suite(void) {
  Suite *s = suite_create("dups-mpi");
  TCase *tc = tcase_create("duplicates");
  tcase_add_test(tc, test_known);
  tcase_add_test(tc, test_collisions);
  tcase_add_test(tc, test_all_and_none);
  tcase_add_test(tc, test_nan);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc != 2) {
    if (rank == 0)
      fprintf(stderr, "usage: mpirun -n P %s PREFIX\n", argv[0]);
    MPI_Finalize();
    return EXIT_FAILURE;
  }
  prefix = argv[1];
  int total = nvmm_test_run_mpi(make_suite());
  if (rank == 0 && total == 0) {
    const char *names[] = {"known.h5", "same.h5", "none.h5", "empty.h5", "nan.h5"};
    for (size_t k = 0; k < sizeof names / sizeof *names; k++)
      (void)remove(tpath(names[k]));
  }
  MPI_Finalize();
  return total == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
