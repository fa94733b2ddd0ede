/* linalg.c: the dense kernels the model, the E-step and the M-step share: the Gram sums by
 * DSYRK, Cholesky through LAPACK and triangular solves. */
#include "linalg.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#include "lapack.h"

void nvmm__gram(size_t d, size_t rows, const double *y, double beta, double *c) {
  /* The rows are the columns of a column-major d x rows matrix: C = Y Y^T ("N"). */
  const int dn = (int)d, cn = (int)rows;
  const double one = 1.0;
  dsyrk_("U", "N", &dn, &cn, &one, y, &dn, &beta, c, &dn, 1, 1);
}

void nvmm__add_packed(size_t d, const double *c, double *packed) {
  /* Column-major upper (k <= j) is element c[j * d + k]. */
  for (size_t j = 0; j < d; j++, packed += j)
    for (size_t k = 0; k <= j; k++)
      packed[k] += c[j * d + k];
}

nvmm_status nvmm__cholesky(size_t d, const double *a, double *l, double *logdet) {
  NVMM_CHECK(d >= 1 && d <= INT_MAX, NVMM_EINVAL, "dimension d = %zu out of range", d);
  int n = (int)d, info = 0;
  if (l != a)
    memcpy(l, a, d * d * sizeof *l);
  /* A row-major lower factor is, read column-major, an upper factor: ask LAPACK for "U". */
  dpotrf_("U", &n, l, &n, &info, 1);
  NVMM_CHECK(info >= 0, NVMM_ESANITY, "dpotrf: argument %d invalid", -info);
  if (info > 0)
    return NVMM_EFACTOR;
  double s = 0.0;
  for (size_t i = 0; i < d; i++) {
    for (size_t j = i + 1; j < d; j++)
      l[i * d + j] = 0.0;
    s += log(l[i * d + i]);
  }
  *logdet = 2.0 * s;
  return NVMM_OK;
}

void nvmm__trsv_lower(size_t d, const double *l, double *b) {
  for (size_t i = 0; i < d; i++) {
    const double *li = l + i * d;
    double s = b[i];
    for (size_t j = 0; j < i; j++)
      s -= li[j] * b[j];
    b[i] = s / li[i];
  }
}
