/* fault.c: the library's test hooks (fault.h), on only in builds with NVMM_FAULT_HOOKS. */
#include "fault.h"

#include <stdlib.h>

#ifdef NVMM_FAULT_HOOKS

int nvmm__fault_nonfinite_at(void) {
  const char *v = getenv("NVMM_FAULT_NONFINITE_AT");
  int k = v ? atoi(v) : 0;
  return k > 0 ? k : 0;
}

static int ckpt_count; /* checkpoints this process has started to write */

int nvmm__fault_ckpt_abort(void) {
  ckpt_count++;
  const char *v = getenv("NVMM_FAULT_CKPT_ABORT");
  return v && atoi(v) == ckpt_count;
}

int nvmm__fault_dups_hash_bits(void) {
  const char *v = getenv("NVMM_FAULT_DUPS_HASH_BITS");
  int b = v ? atoi(v) : 64;
  return b >= 0 && b < 64 ? b : 64;
}

long nvmm__fault_dups_chunk_rows(void) {
  const char *v = getenv("NVMM_FAULT_DUPS_CHUNK_ROWS");
  long r = v ? atol(v) : 0;
  return r > 0 ? r : 0;
}

#else

int nvmm__fault_nonfinite_at(void) { return 0; }

int nvmm__fault_ckpt_abort(void) { return 0; }

int nvmm__fault_dups_hash_bits(void) { return 64; }

long nvmm__fault_dups_chunk_rows(void) { return 0; }

#endif
