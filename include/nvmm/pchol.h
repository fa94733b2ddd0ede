/* nvmm/pchol.h: the Cholesky factor of a d x d matrix held on rank 0, computed by ScaLAPACK
 * (pdpotrf) on a 2-D block-cyclic process grid of all ranks of a communicator: the M-step's
 * d x d work above a dimension threshold. */
#ifndef NVMM_PCHOL_H
#define NVMM_PCHOL_H

#include <mpi.h>
#include <stddef.h>

#include "nvmm/status.h"

typedef struct nvmm_pchol nvmm_pchol;

/* Sets up the process grid (as square as the rank count allows), the block size nb (0 for the
 * default, 64) and every buffer and MPI datatype for dimension d: nvmm allocates nothing per
 * factorization (the PBLAS inside pdpotrf allocate their own work space). d * d must not exceed
 * INT_MAX (d <= 46340): the whole matrix is addressed with an int. Collective on comm; comm is
 * duplicated, so any communicator will do. Errors: NVMM_EINVAL (d = 0, d too large, nb < 0),
 * NVMM_ENOMEM, NVMM_EMPI, NVMM_ESANITY; every rank gets the same status. The caller frees *out
 * with nvmm_pchol_destroy. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_pchol_create(MPI_Comm comm, size_t d, int nb,
                                                         nvmm_pchol **out);

/* Factors the symmetric positive definite a (d x d row-major, significant on rank 0 only; only
 * its lower triangle is read): on rank 0, l receives the lower factor L with a = L L^T
 * (row-major, upper part zero; l may equal a); every rank receives the same logdet = log|a|,
 * bit for bit. a and l may be NULL on other ranks. Collective. Errors: NVMM_EFACTOR (a is not
 * positive definite, or not finite; every rank gets it, nothing is raised through the error
 * handler, so callers can retry with a ridge; l is then unspecified), NVMM_EINVAL, NVMM_EMPI,
 * NVMM_ESANITY. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_pchol_factor(nvmm_pchol *p, const double *a, double *l,
                                                         double *logdet);

/* Frees the grid and buffers; no-op on NULL; sets *p = NULL. Collective. */
NVMM_EXTERN void nvmm_pchol_destroy(nvmm_pchol **p);

#endif
