/* minibatch.h: the global mini-batches of incremental EM (library-internal): the rows in
 * granules, a keyed permutation of the granules per epoch, and batch t of an epoch as a run of
 * that permutation. Nothing here depends on the rank count (src/numerics.md 13.4). */
#ifndef NVMM_MINIBATCH_H
#define NVMM_MINIBATCH_H

#include <stdint.h>

#include "nvmm/status.h"

/* Largest granule: rows drawn together. Smaller granules give a mini-batch closer to a sample
 * of rows; each granule costs one E-step call and one exact accumulation of its sums. */
#define NVMM__GRANULE_MAX 64

typedef struct nvmm__batches {
  int64_t n;         /* rows */
  int64_t granule;   /* rows per granule: gcd(batch_rows, block_rows, NVMM__GRANULE_MAX) */
  int64_t ngran;     /* granules, ceil(n / granule) (the last one may be short) */
  int64_t per_batch; /* granules per batch (the epoch's last batch may have fewer) */
  int64_t nbatch;    /* batches per epoch, ceil(ngran / per_batch) */
  uint64_t seed;
  unsigned half; /* bits in each half of the Feistel network's domain (4^half >= ngran) */
} nvmm__batches;

/* Errors: NVMM_EINVAL (batch_rows < 1 or > n, block_rows < 1, n < 1). */
nvmm_status nvmm__batches_init(nvmm__batches *b, int64_t n, int64_t batch_rows, int64_t block_rows,
                               uint64_t seed);

/* The granule at position pos (0 <= pos < ngran) of epoch e's permutation: a bijection of
 * [0, ngran) for each (seed, e), computed in O(1) memory. */
int64_t nvmm__batches_perm(const nvmm__batches *b, int64_t e, int64_t pos);

/* Batch s of the whole run (0-based, across epochs): its epoch and its positions
 * [*pos0, *pos1) in that epoch's permutation. */
void nvmm__batches_span(const nvmm__batches *b, int64_t s, int64_t *e, int64_t *pos0,
                        int64_t *pos1);

#endif
