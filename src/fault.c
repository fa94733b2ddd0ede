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

#else

int nvmm__fault_nonfinite_at(void) { return 0; }

int nvmm__fault_ckpt_abort(void) { return 0; }

#endif
