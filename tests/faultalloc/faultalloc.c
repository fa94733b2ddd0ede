/* faultalloc.c: an LD_PRELOAD shim for the allocation-failure sweep (tests/mpi/alloc_sweep.sh).
 * It fails the K-th allocation that nvmm's own code makes on one rank: malloc, calloc, realloc,
 * posix_memalign, aligned_alloc and strdup called from the nvmm program or from libnvmm (told
 * by the caller's return address, against those objects' executable segments); allocations
 * of MPI, HDF5 and the other libraries pass through uncounted.
 *   NVMM_FAULT_ALLOC=RANK:K   on rank RANK (OMPI_COMM_WORLD_RANK, 0 without mpirun) the K-th
 *                             counted allocation returns NULL with errno ENOMEM (K = 0: none)
 *   NVMM_FAULT_ALLOC_COUNT=F  at exit, that rank writes its count of allocations to F
 *   NVMM_FAULT_ALLOC_TRACE=1  the failed allocation prints its call stack (stderr)
 * Not part of nvmm: a test tool, built only for the tests. */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

#define MAX_RANGES 16
static struct { uintptr_t lo, hi; } ranges[MAX_RANGES];
static int nranges;
static int active;    /* this process is the rank that counts */
static long fail_at;  /* the allocation to fail (0: none) */
static long count;    /* counted allocations so far */
static char out[512]; /* NVMM_FAULT_ALLOC_COUNT */

static int is_ours(const char *name, int first) {
  /* The main program is the first object (empty name); libnvmm by its file name. */
  const char *b = strrchr(name, '/');
  b = b ? b + 1 : name;
  return (first && name[0] == '\0') || strncmp(b, "libnvmm.so", 10) == 0;
}

static int note_object(struct dl_phdr_info *info, size_t size, void *data) {
  int *first = data;
  if (is_ours(info->dlpi_name, *first))
    for (int i = 0; i < info->dlpi_phnum && nranges < MAX_RANGES; i++) {
      const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
      if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
        ranges[nranges].lo = info->dlpi_addr + ph->p_vaddr;
        ranges[nranges].hi = ranges[nranges].lo + ph->p_memsz;
        nranges++;
      }
    }
  *first = 0;
  return 0;
}

__attribute__((constructor)) static void init(void) {
  const char *v = getenv("NVMM_FAULT_ALLOC"), *r = getenv("OMPI_COMM_WORLD_RANK");
  /* Only in nvmm itself: a singleton's MPI start-up spawns helpers that inherit the variable. */
  if (!v || strcmp(program_invocation_short_name, "nvmm") != 0)
    return;
  char *end;
  long rank = strtol(v, &end, 10);
  if (*end != ':')
    return;
  fail_at = strtol(end + 1, NULL, 10);
  active = rank == (r ? strtol(r, NULL, 10) : 0);
  const char *c = getenv("NVMM_FAULT_ALLOC_COUNT");
  if (c)
    snprintf(out, sizeof out, "%s", c);
  int first = 1;
  dl_iterate_phdr(note_object, &first);
}

__attribute__((destructor)) static void fini(void) {
  if (!active || !out[0])
    return;
  FILE *f = fopen(out, "w");
  if (f) {
    fprintf(f, "%ld\n", count);
    fclose(f);
  }
}

/* 1 when this allocation, made from `caller`, is the one to fail. */
static int fail_now(void *caller) {
  if (!active)
    return 0;
  uintptr_t a = (uintptr_t)caller;
  for (int i = 0; i < nranges; i++)
    if (a >= ranges[i].lo && a < ranges[i].hi) {
      if (++count == fail_at) {
        if (getenv("NVMM_FAULT_ALLOC_TRACE")) { /* where: for a person chasing a failure */
          void *bt[32];
          backtrace_symbols_fd(bt, backtrace(bt, 32), 2);
        }
        errno = ENOMEM;
        return 1;
      }
      return 0;
    }
  return 0;
}

EXPORT void *malloc(size_t n) {
  return fail_now(__builtin_return_address(0)) ? NULL : __libc_malloc(n);
}

EXPORT void *calloc(size_t k, size_t n) {
  return fail_now(__builtin_return_address(0)) ? NULL : __libc_calloc(k, n);
}

EXPORT void *realloc(void *p, size_t n) {
  return fail_now(__builtin_return_address(0)) ? NULL : __libc_realloc(p, n);
}

EXPORT void *aligned_alloc(size_t align, size_t n) {
  return fail_now(__builtin_return_address(0)) ? NULL : __libc_memalign(align, n);
}

EXPORT int posix_memalign(void **p, size_t align, size_t n) {
  if (fail_now(__builtin_return_address(0)))
    return ENOMEM;
  void *q = __libc_memalign(align, n);
  if (!q)
    return ENOMEM;
  *p = q;
  return 0;
}

EXPORT char *strdup(const char *s) {
  if (fail_now(__builtin_return_address(0)))
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = __libc_malloc(n);
  return d ? memcpy(d, s, n) : NULL;
}
