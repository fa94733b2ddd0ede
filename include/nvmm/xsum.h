/* nvmm/xsum.h: exact, order-independent sums of doubles. A sum is kept as an integer multiple
 * of 2^-1074 spread over 32-bit digits held in 64-bit limbs, so adding the same terms in any
 * order, on any number of ranks, gives the same bits; one MPI_Allreduce of the limbs with
 * MPI_INT64_T / MPI_SUM combines ranks exactly (src/numerics.md 11.2-11.3). */
#ifndef NVMM_XSUM_H
#define NVMM_XSUM_H

#include <stddef.h>
#include <stdint.h>

#include "nvmm/status.h"

/* Limbs per accumulated value: 32-bit digits covering 2^-1074 .. 2^1024 plus 64 bits of
 * headroom for carries ((1074 + 1024 + 64) / 32 rounded up). */
#define NVMM_XSUM_LIMBS 68

/* Adds x (finite) to the accumulator acc (NVMM_XSUM_LIMBS limbs). Each limb grows by less than
 * 2^32 per call, so up to 2^30 calls are safe between normalizations. */
NVMM_EXTERN void nvmm_xsum_add(int64_t *acc, double x);

/* Carries every limb but the last into [0, 2^32): the canonical form, whose limbs are below
 * 2^32 so that up to 2^30 accumulators can be added limb by limb without overflow. */
NVMM_EXTERN void nvmm_xsum_normalize(int64_t *acc);

/* The accumulated value rounded to double (deterministic: depends only on the exact sum).
 * Normalizes acc first. */
NVMM_EXTERN double nvmm_xsum_value(int64_t *acc);

/* For a windowed reduction (only the limbs some rank uses travel): turns a normalized acc into
 * its magnitude (canonical, non-negative) and returns its sign (+1 or -1); *lo and *hi are the
 * first and last non-zero limbs of the magnitude (*lo > *hi for zero). The magnitude's limbs
 * times the sign, summed limb by limb over ranks in any order, are the limbs of the exact total
 * (each in (-2^32, 2^32): safe for up to 2^31 ranks); nvmm_xsum_value of them rounds it. */
NVMM_EXTERN int nvmm_xsum_split(int64_t *acc, int *lo, int *hi);

#endif
