/* minibatch.c: global mini-batches drawn by a keyed permutation of row granules: a 4-round
 * Feistel network on the smallest even power of two that holds the granules, walked until it
 * lands inside (Black and Rogaway, CT-RSA 2002). Stateless, so a checkpoint needs only the
 * batch counter, and every rank finds the same batch (src/numerics.md 13.4). */
#include "minibatch.h"

static int64_t gcd64(int64_t a, int64_t b) {
  while (b != 0) {
    int64_t t = a % b;
    a = b, b = t;
  }
  return a;
}

/* The splitmix64 finalizer (Steele, Lea and Flood, OOPSLA 2014): a bijective mixer. */
static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

nvmm_status nvmm__batches_init(nvmm__batches *b, int64_t n, int64_t batch_rows, int64_t block_rows,
                               uint64_t seed) {
  NVMM_CHECK(n >= 1, NVMM_EINVAL, "incremental EM needs rows (n = %lld)", (long long)n);
  NVMM_CHECK(batch_rows >= 1 && batch_rows <= n, NVMM_EINVAL,
             "batch_rows = %lld must lie in [1, n = %lld]", (long long)batch_rows, (long long)n);
  NVMM_CHECK(block_rows >= 1, NVMM_EINVAL, "block_rows = %lld must be positive",
             (long long)block_rows);
  b->n = n;
  /* A granule divides a block, so it never straddles two ranks' shards (whole blocks), and
   * divides the batch, so a batch is whole granules. */
  b->granule = gcd64(gcd64(batch_rows, block_rows), NVMM__GRANULE_MAX);
  b->ngran = (n + b->granule - 1) / b->granule;
  b->per_batch = batch_rows / b->granule;
  b->nbatch = (b->ngran + b->per_batch - 1) / b->per_batch;
  b->seed = seed;
  b->half = 1;
  while (b->half < 31 && ((int64_t)1 << (2 * b->half)) < b->ngran)
    b->half++;
  return NVMM_OK;
}

int64_t nvmm__batches_perm(const nvmm__batches *b, int64_t e, int64_t pos) {
  const unsigned h = b->half;
  const uint64_t mask = ((uint64_t)1 << h) - 1;
  uint64_t key = mix(b->seed ^ mix((uint64_t)e + 0x9e3779b97f4a7c15ULL));
  uint64_t x = (uint64_t)pos;
  /* Cycle walking: the domain holds fewer than 4 ngran values, so under 4 rounds of the
   * network on average; it ends because the network is a bijection of the domain. */
  do {
    uint64_t l = x >> h, r = x & mask;
    for (uint64_t k = 0; k < 4; k++) {
      uint64_t t = l ^ (mix(r ^ mix(key + k)) & mask);
      l = r, r = t;
    }
    x = (l << h) | r;
  } while (x >= (uint64_t)b->ngran);
  return (int64_t)x;
}

void nvmm__batches_span(const nvmm__batches *b, int64_t s, int64_t *e, int64_t *pos0,
                        int64_t *pos1) {
  *e = s / b->nbatch;
  int64_t t = s % b->nbatch;
  *pos0 = t * b->per_batch;
  *pos1 = *pos0 + b->per_batch < b->ngran ? *pos0 + b->per_batch : b->ngran;
}
