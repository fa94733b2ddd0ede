/* xsum.c: exact accumulation of doubles in a long fixed-point integer (a Kulisch-style
 * accumulator), the basis of rank-count-independent reductions. */
#include "nvmm/xsum.h"

#include <math.h>
#include <string.h>

/* Digit i weighs 2^(32 i - EXP_BIAS): digit 0 holds the lowest subnormal bit 2^-1074. */
#define EXP_BIAS 1074
#define DIGIT_BITS 32

void nvmm_xsum_add(int64_t *acc, double x) {
  if (x == 0.0)
    return;
  int e;
  double f = frexp(x, &e); /* x = f 2^e, 0.5 <= |f| < 1 */
  /* 53-bit integer mantissa: x = m 2^(e - 53), exact for every double (subnormals included,
   * since frexp normalizes them and m then has trailing zero bits below 2^-1074). */
  int64_t m = (int64_t)ldexp(f, 53);
  int shift = e - 53 + EXP_BIAS; /* bit position of m's lowest bit */
  int neg = m < 0;
  uint64_t um = (uint64_t)(neg ? -m : m);
  if (shift < 0) {
    /* A subnormal: its bits below 2^-1074 are zero, so this shift is exact. */
    um >>= -shift;
    shift = 0;
  }
  int limb = shift / DIGIT_BITS, off = shift % DIGIT_BITS;
  /* um << off spans at most 53 + 31 = 84 bits: three digits. */
  uint64_t lo = (um << off) & 0xffffffffu;
  uint64_t mid = (off ? (um >> (DIGIT_BITS - off)) : (um >> DIGIT_BITS)) & 0xffffffffu;
  uint64_t hi = off ? um >> (2 * DIGIT_BITS - off) : 0;
  if (neg) {
    acc[limb] -= (int64_t)lo;
    acc[limb + 1] -= (int64_t)mid;
    acc[limb + 2] -= (int64_t)hi;
  } else {
    acc[limb] += (int64_t)lo;
    acc[limb + 1] += (int64_t)mid;
    acc[limb + 2] += (int64_t)hi;
  }
}

void nvmm_xsum_normalize(int64_t *acc) {
  for (int i = 0; i < NVMM_XSUM_LIMBS - 1; i++) {
    int64_t carry = acc[i] >> DIGIT_BITS; /* arithmetic shift: floor division by 2^32 */
    acc[i] -= carry * ((int64_t)1 << DIGIT_BITS);
    acc[i + 1] += carry;
  }
}

double nvmm_xsum_value(int64_t *acc) {
  nvmm_xsum_normalize(acc);
  /* A negative sum has a negative top limb over digits that are its two's complement; its
   * digits would overflow a double when summed. Negate into a canonical positive sum first. */
  int64_t tmp[NVMM_XSUM_LIMBS];
  const int64_t *a = acc;
  double sign = 1.0;
  if (acc[NVMM_XSUM_LIMBS - 1] < 0) {
    for (int i = 0; i < NVMM_XSUM_LIMBS; i++)
      tmp[i] = -acc[i];
    nvmm_xsum_normalize(tmp);
    a = tmp;
    sign = -1.0;
  }
  /* Non-negative canonical digits summed from the top down: the result is a fixed function of
   * the exact sum (within an ulp of it). */
  double v = 0.0;
  for (int i = NVMM_XSUM_LIMBS - 1; i >= 0; i--)
    if (a[i])
      v += ldexp((double)a[i], DIGIT_BITS * i - EXP_BIAS);
  return sign * v;
}

int nvmm_xsum_split(int64_t *acc, int *lo, int *hi) {
  int sign = 1;
  if (acc[NVMM_XSUM_LIMBS - 1] < 0) {
    /* Two's complement over the limbs: negate and carry again for the magnitude. */
    for (int i = 0; i < NVMM_XSUM_LIMBS; i++)
      acc[i] = -acc[i];
    nvmm_xsum_normalize(acc);
    sign = -1;
  }
  *lo = NVMM_XSUM_LIMBS;
  *hi = -1;
  for (int i = 0; i < NVMM_XSUM_LIMBS; i++)
    if (acc[i]) {
      if (*lo == NVMM_XSUM_LIMBS)
        *lo = i;
      *hi = i;
    }
  return sign;
}
