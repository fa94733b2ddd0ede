/* nvmm_test_io.h: what the unit tests of files (test_io_import.c, test_io_data.c,
 * test_io_model.c, and test_info.c) share: the scratch directory and paths in it, small file
 * writers, the generated values, and their main(), which starts MPI. */
#ifndef NVMM_TEST_IO_H
#define NVMM_TEST_IO_H

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
static inline const char *tpath(const char *name) {
  static char buf[64][512];
  static unsigned next;
  char *p = buf[next++ % 64];
  snprintf(p, sizeof buf[0], "%s/%s", tmp_dir, name);
  return p;
}

static inline int exists(const char *path) { return access(path, F_OK) == 0; }

static inline void assert_no_output(const char *out) {
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", out);
  ck_assert_msg(!exists(out), "output '%s' was left behind", out);
  ck_assert_msg(!exists(tmp), "temporary '%s' was left behind", tmp);
}

static inline void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_ge(fputs(text, f), 0);
  ck_assert_int_eq(fclose(f), 0);
}

/* The value of row i, numeric column j of the generated CSV: irrational-looking, of mixed
 * signs and magnitudes, so a lost digit or a swapped column shows. */
static inline double csv_value(size_t i, size_t j) {
  return sin(0.37 * (double)i + 1.3 * (double)j) * pow(10.0, (double)j - 1.0) + (double)i / 7.0;
}

/* Writes dataset name of rank ndims and shape dims with the values v (memory type mtype, file
 * type ftype) into path, creating or extending the file. */
static inline void h5_write(const char *path, const char *name, int ndims, const hsize_t *dims,
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

/* main() of these test programs: not NVMM_TEST_MAIN, since the data reader (and test_info.c's
 * helpers, which ask MPI for the rank) need MPI, and Check must not fork under MPI. The files go
 * to a fresh directory prefix_XXXXXX, removed after a passing run. */
#define NVMM_TEST_IO_MAIN(make_suite, prefix)                                                      \
  int main(void) {                                                                                 \
    MPI_Init(NULL, NULL);                                                                          \
    gsl_set_error_handler_off();                                                                   \
    nvmm_test_mkdtemp(tmp_dir, sizeof tmp_dir, prefix);                                            \
    int nf = nvmm_test_run_mpi(make_suite());                                                      \
    if (nf == 0)                                                                                   \
      nvmm_test_rmtree(tmp_dir);                                                                   \
    MPI_Finalize();                                                                                \
    return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                                  \
  }

#endif
