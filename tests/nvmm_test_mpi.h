/* nvmm_test_mpi.h: the main() of a Check suite that runs under MPI (the tests that start MPI,
 * tests/mpi/test_*.c and the unit tests of the mpiinit suite): Check must not fork there (a
 * forked child cannot use the parent's MPI), only rank 0 reports, and the failures of all ranks
 * decide the exit status. Also a scratch directory for the tests that write files. */
#ifndef NVMM_TEST_MPI_H
#define NVMM_TEST_MPI_H

#include <check.h>
#include <dirent.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs suite s (Check frees it) without forking, printing on rank 0 only; returns the largest
 * number of failed tests on any rank, the same on every rank. */
static inline int nvmm_test_run_mpi(Suite *s) {
  int rank, nf, all;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  SRunner *sr = srunner_create(s);
  srunner_set_fork_status(sr, CK_NOFORK);
  srunner_run_all(sr, rank == 0 ? CK_NORMAL : CK_SILENT);
  nf = srunner_ntests_failed(sr);
  srunner_free(sr);
  MPI_Allreduce(&nf, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return all;
}

/* A fresh directory PREFIX_XXXXXX in the working directory (meson runs a test in the build
 * tree) into dir; a test that cannot make one cannot run, so this aborts. */
static inline void nvmm_test_mkdtemp(char *dir, size_t size, const char *prefix) {
  snprintf(dir, size, "%s_XXXXXX", prefix);
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
}

/* Removes dir and the files in it (the tests make no subdirectories), after a passing run; a
 * failing one keeps its files to look at. */
static inline void nvmm_test_rmtree(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  char path[4096];
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    (void)remove(path);
  }
  closedir(d);
  (void)rmdir(dir);
}

#endif
