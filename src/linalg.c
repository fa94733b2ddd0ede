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

/* The Cholesky-Crout loop of LAPACK's unblocked dpotf2 on the row-major lower triangle of l, in
 * place; returns 0, or j + 1 where pivot j is not positive (or NaN), as dpotf2's info. */
static int chol_small(size_t d, double *l) {
  for (size_t j = 0; j < d; j++) {
    double *lj = l + j * d, s = lj[j];
    for (size_t k = 0; k < j; k++)
      s -= lj[k] * lj[k];
    if (!(s > 0.0))
      return (int)j + 1;
    lj[j] = sqrt(s);
    for (size_t i = j + 1; i < d; i++) {
      double *li = l + i * d, t = li[j];
      for (size_t k = 0; k < j; k++)
        t -= li[k] * lj[k];
      li[j] = t / lj[j];
    }
  }
  return 0;
}

nvmm_status nvmm__cholesky(size_t d, const double *a, double *l, double *logdet) {
  NVMM_CHECK(d >= 1 && d <= INT_MAX, NVMM_EINVAL, "dimension d = %zu out of range", d);
  int n = (int)d, info = 0;
  if (l != a)
    memcpy(l, a, d * d * sizeof *l);
  /* Up to NVMM__SMALL_D a plain loop: the bits then depend on no BLAS kernel (OpenBLAS picks its
   * dot products by CPU), and a small fit never touches OpenBLAS. Above, a row-major lower factor
   * is, read column-major, an upper factor: ask LAPACK for "U". */
  if (d <= NVMM__SMALL_D)
    info = chol_small(d, l);
  else
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
