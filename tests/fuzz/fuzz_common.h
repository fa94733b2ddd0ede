/* fuzz_common.h: what the libFuzzer targets of tests/fuzz/ share: MPI started once per
 * process (the library's collective calls run on MPI_COMM_SELF), a private scratch directory
 * for the files an input becomes, and an assertion that fails loudly under the fuzzer. */
#ifndef NVMM_FUZZ_COMMON_H
#define NVMM_FUZZ_COMMON_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's entry points, which each target defines. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: on failure prints where and aborts, which libFuzzer
 * reports as a crash and saves the input. Not assert(): it must survive NDEBUG. */
#define FUZZ_ASSERT(cond)                                                                          \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      fuzz_fail(__FILE__, __LINE__, #cond);                                                        \
  } while (0)

_Noreturn void fuzz_fail(const char *file, int line, const char *what);

/* Starts MPI, switches GSL's abort-on-error off (as the nvmm program does), and makes the
 * scratch directory (under /dev/shm when it is writable: HDF5 files and fsync cost nothing
 * there), removed again at exit. Call from LLVMFuzzerInitialize.
 * NVMM_FUZZ_EXACT_LEAKS=1 in the environment switches HDF5's free lists off. HDF5 recycles
 * freed blocks through them, so a block it leaks is reported with the stack of whoever
 * malloc'ed it first; without them LeakSanitizer names the real allocation, at 10-20 times
 * the cost per input. For triage only (tests/lsan.supp covers the free-list blocks by name). */
void fuzz_init(int *argc, char ***argv);

/* The path of name in the scratch directory (malloc'ed; the caller frees it). */
char *fuzz_path(const char *name);

/* Writes size bytes to name in the scratch directory; returns its path (caller frees). */
char *fuzz_write_file(const char *name, const void *data, size_t size);

/* HDF5 objects open now in any file (files, groups, datasets, named datatypes, attributes).
 * A reader that returns with more open than before it ran has leaked a handle: the file stays
 * open in the library (and locked) for the rest of the process. */
long fuzz_h5_open_ids(void);

#endif
