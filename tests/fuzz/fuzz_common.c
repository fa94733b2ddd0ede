/* fuzz_common.c: MPI start-up, the scratch directory and the failing assertion of the fuzz
 * targets (fuzz_common.h). */
#include "fuzz_common.h"

#include <dirent.h>
#include <gsl/gsl_errno.h>
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[256];

/* stderr as it was at start-up: libFuzzer's -close_fd_mask=2 (which ci.sh uses to silence the
 * program's own error messages) closes stderr after LLVMFuzzerInitialize. */
static int report_fd = 2;

void fuzz_fail(const char *file, int line, const char *what) {
  dprintf(report_fd, "fuzz: invariant violated at %s:%d: %s\n", file, line, what);
  abort();
}

/* Removes the scratch directory and what is left in it (one level: the targets make no
 * subdirectories), then ends MPI. */
static void fuzz_cleanup(void) {
  DIR *dir = scratch[0] ? opendir(scratch) : NULL;
  if (dir) {
    struct dirent *e;
    while ((e = readdir(dir))) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char *p = fuzz_path(e->d_name);
      (void)remove(p);
      free(p);
    }
    (void)closedir(dir);
    (void)rmdir(scratch);
  }
  int up = 0, down = 0;
  MPI_Initialized(&up);
  MPI_Finalized(&down);
  if (up && !down)
    MPI_Finalize();
}

/* The signals whose handlers MPI_Init replaces with Open MPI's backtrace printer (MCA
 * parameter opal_signal, "6,7,8,11" by default). Its handler would print and re-raise, and
 * libFuzzer, which keeps a handler it finds installed, would never save the crashing input. */
static const int crash_signals[] = {SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGILL};
#define NCRASH_SIGNALS (sizeof crash_signals / sizeof *crash_signals)

void fuzz_init(int *argc, char ***argv) {
  int fd = dup(2);
  if (fd >= 0)
    report_fd = fd;
  /* ASan's SEGV/BUS/FPE handlers are installed before main; keep them over MPI_Init. */
  struct sigaction saved[NCRASH_SIGNALS];
  for (size_t i = 0; i < NCRASH_SIGNALS; i++)
    sigaction(crash_signals[i], NULL, &saved[i]);
  MPI_Init(argc, argv);
  for (size_t i = 0; i < NCRASH_SIGNALS; i++)
    sigaction(crash_signals[i], &saved[i], NULL);
  gsl_set_error_handler_off();
  const char *exact = getenv("NVMM_FUZZ_EXACT_LEAKS");
  if (exact && exact[0] == '1' && H5set_free_list_limits(0, 0, 0, 0, 0, 0) < 0) {
    fprintf(stderr, "fuzz: H5set_free_list_limits failed\n");
    abort();
  }
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
  snprintf(scratch, sizeof scratch, "%s/nvmm-fuzz-XXXXXX", base && base[0] ? base : "/tmp");
  if (!mkdtemp(scratch)) {
    perror("fuzz: mkdtemp");
    abort();
  }
  atexit(fuzz_cleanup);
}

char *fuzz_path(const char *name) {
  size_t len = strlen(scratch) + strlen(name) + 2;
  char *p = malloc(len);
  FUZZ_ASSERT(p);
  snprintf(p, len, "%s/%s", scratch, name);
  return p;
}

char *fuzz_write_file(const char *name, const void *data, size_t size) {
  char *p = fuzz_path(name);
  FILE *f = fopen(p, "wb");
  FUZZ_ASSERT(f);
  FUZZ_ASSERT(fwrite(data, 1, size, f) == size);
  FUZZ_ASSERT(fclose(f) == 0);
  return p;
}

long fuzz_h5_open_ids(void) {
  /* HDF5 1.10 counts only these through its public API (H5Inmembers refuses library types). */
  ssize_t n = H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL);
  FUZZ_ASSERT(n >= 0);
  return (long)n;
}
