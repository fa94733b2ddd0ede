/* pchol.c: Cholesky factor of a d x d matrix held on rank 0, computed by ScaLAPACK pdpotrf on a
 * block-cyclic grid of all ranks of a communicator, with the matrix moved by pdgemr2d. */
#include "nvmm/pchol.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* BLACS and ScaLAPACK prototypes: Debian ships no header for them (toolchain.md section 2). The
 * C BLACS take contexts by value and have no trailing underscore; the Fortran routines take
 * every argument by reference, and gfortran appends the length of each CHARACTER argument as a
 * trailing size_t. */
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *ctxt, const char *layout, int nprow, int npcol);
void Cblacs_gridinfo(int ctxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int ctxt);
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb,
               const int *irsrc, const int *icsrc, const int *ctxt, const int *lld, int *info);
void pdpotrf_(const char *uplo, const int *n, double *a, const int *ia, const int *ja,
              const int *desca, int *info, size_t uplo_len);
void pdgemr2d_(const int *m, const int *n, const double *a, const int *ia, const int *ja,
               const int *desca, double *b, const int *ib, const int *jb, const int *descb,
               const int *ctxt);

/* ScaLAPACK array descriptor: 9 integers; entry 1 (CTXT_) is the BLACS context, -1 on the
 * ranks outside the descriptor's grid. */
enum { DLEN = 9, CTXT_ = 1 };

/* Default block size. ScaLAPACK's users' guide recommends 32 to 64 for pdpotrf: a block must be
 * wide enough that the trailing update (pdsyrk/pdgemm on nb-wide panels) runs at BLAS-3 speed,
 * and narrow enough that the last panels still spread over the grid. scripts/bench_pchol.sh
 * compares 32, 64 and 128 (--nb "32 64 128"). */
enum { PCHOL_NB_DEFAULT = 64 };

/* BLACS marks a handle or context that is not held with -1. */
enum { PCHOL_NONE = -1 };

struct nvmm_pchol {
  MPI_Comm comm;    /* duplicate of the caller's communicator; MPI_COMM_NULL if not made */
  int rank;         /* rank in comm; rank 0 holds the whole matrix */
  int n;            /* the dimension d as a ScaLAPACK int (n * n <= INT_MAX) */
  int nb;           /* block size of the block-cyclic distribution (square nb x nb blocks) */
  int ctxt;         /* BLACS context of the nprow x npcol grid of all ranks, or PCHOL_NONE */
  int ctxt0;        /* BLACS context of the 1 x 1 grid of rank 0; PCHOL_NONE on other ranks */
  int ctxt_line;    /* BLACS context of a 1 x size grid of all ranks, for pdgemr2d */
  int nprow, npcol; /* grid shape, nprow <= npcol, nprow * npcol = size of comm */
  int myrow, mycol; /* this rank's grid coordinates (grid layout "Row": rank = row * npcol + col) */
  int desc[DLEN];   /* descriptor of the distributed matrix */
  int desc0[DLEN];  /* descriptor of the whole matrix on rank 0 (CTXT_ = -1 elsewhere) */
  double *aloc;     /* local blocks of the distributed matrix, column-major, lld = desc[8] */
  size_t aloc_len;  /* doubles in aloc (at least 1) */
};

/* size_t to a ScaLAPACK int, failing instead of wrapping. */
static nvmm_status int_cast(size_t v, const char *what, int *out) {
  if (v > INT_MAX)
    NVMM_ERROR(NVMM_EINVAL, "%s = %zu does not fit a ScaLAPACK int", what, v);
  *out = (int)v;
  return NVMM_OK;
}

/* Makes a rank-local status collective: every rank returns the worst status, and ranks that
 * were fine get a message saying another rank failed (style.md rule 12). */
static nvmm_status agree(MPI_Comm comm, nvmm_status st) {
  int mine = -(int)st, worst;
  if (MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce failed while agreeing on a status");
  if (worst != 0 && st == NVMM_OK)
    NVMM_ERROR((nvmm_status)-worst, "another rank failed: %s", nvmm_strerror((nvmm_status)-worst));
  return (nvmm_status)-worst;
}

/* The most nearly square grid: nprow the largest divisor of size not above sqrt(size). The
 * factorization runs with uplo "U" (see nvmm_pchol_factor), whose panels are block rows spread
 * over the process columns, so the wider side goes to the columns. */
static void grid_shape(int size, int *nprow, int *npcol) {
  int r = 1;
  for (int i = 1; (long)i * i <= size; i++)
    if (size % i == 0)
      r = i;
  *nprow = r;
  *npcol = size / r;
}

/* Validation, grid and buffers; p->comm, rank are set. Local status, agreed by the caller. */
static nvmm_status setup(nvmm_pchol *p, int size) {
  static const int zero = 0;
  int info = 0;
  grid_shape(size, &p->nprow, &p->npcol);
  /* Cblacs_gridinit replaces a system handle by a new context; every rank must take part. The
   * grids hold their own communicators, so the system handle is given back at once: BLACS
   * compacts its handle table when handles are freed, which would renumber a handle kept
   * across calls. */
  int sys = Csys2blacs_handle(p->comm);
  p->ctxt = sys;
  Cblacs_gridinit(&p->ctxt, "Row", p->nprow, p->npcol);
  p->ctxt0 = sys;
  Cblacs_gridinit(&p->ctxt0, "Row", 1, 1);
  if (p->rank != 0)
    p->ctxt0 = PCHOL_NONE;
  /* pdgemr2d needs a context spanning both grids. Given one with more than one process row it
   * builds (MPI_Comm_create, dup and two splits) and exits a 1 x size grid on every call, and
   * leaks a BLACS system handle (REDIST/SRC/pdgemr.c, gridreshape): handing it a 1 x size grid
   * made once avoids both. */
  p->ctxt_line = sys;
  Cblacs_gridinit(&p->ctxt_line, "Row", 1, size);
  Cfree_blacs_system_handle(sys);
  int nprow, npcol;
  Cblacs_gridinfo(p->ctxt, &nprow, &npcol, &p->myrow, &p->mycol);
  if (p->ctxt < 0 || nprow != p->nprow || npcol != p->npcol || p->myrow < 0 || p->mycol < 0 ||
      (p->rank == 0 && p->ctxt0 < 0) || p->ctxt_line < 0)
    NVMM_ERROR(NVMM_ESANITY, "Cblacs_gridinit: rank %d is not in the %d x %d grid", p->rank,
               p->nprow, p->npcol);
  int mloc = numroc_(&p->n, &p->nb, &p->myrow, &zero, &p->nprow);
  int nloc = numroc_(&p->n, &p->nb, &p->mycol, &zero, &p->npcol);
  int lld = mloc > 1 ? mloc : 1;
  descinit_(p->desc, &p->n, &p->n, &p->nb, &p->nb, &zero, &zero, &p->ctxt, &lld, &info);
  if (info != 0)
    NVMM_ERROR(NVMM_ESANITY, "descinit: argument %d invalid", -info);
  if (p->rank == 0) {
    descinit_(p->desc0, &p->n, &p->n, &p->nb, &p->nb, &zero, &zero, &p->ctxt0, &p->n, &info);
    if (info != 0)
      NVMM_ERROR(NVMM_ESANITY, "descinit (rank 0 matrix): argument %d invalid", -info);
  } else {
    /* pdgemr2d reads only CTXT_ = -1 on ranks outside the source grid; the rest is filled in
     * for clarity. */
    int d0[DLEN] = {1, PCHOL_NONE, p->n, p->n, p->nb, p->nb, 0, 0, p->n};
    memcpy(p->desc0, d0, sizeof d0);
  }
  p->aloc_len = (size_t)lld * (size_t)nloc;
  if (p->aloc_len == 0)
    p->aloc_len = 1;
  p->aloc = malloc(p->aloc_len * sizeof *p->aloc);
  if (p->aloc == NULL)
    NVMM_ERROR(NVMM_ENOMEM, "out of memory for the %d x %d local block", lld, nloc);
  return NVMM_OK;
}

nvmm_status nvmm_pchol_create(MPI_Comm comm, size_t d, int nb, nvmm_pchol **out) {
  NVMM_CHECK(out != NULL, NVMM_EINVAL, "out is NULL");
  *out = NULL;
  /* Library traffic, argument agreement included, runs on a duplicate (style.md rule 11). */
  MPI_Comm dup;
  if (MPI_Comm_dup(comm, &dup) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_dup failed");
  int rank, size;
  if (MPI_Comm_rank(dup, &rank) != MPI_SUCCESS || MPI_Comm_size(dup, &size) != MPI_SUCCESS) {
    MPI_Comm_free(&dup);
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_rank/MPI_Comm_size failed");
  }
  nvmm_status st = NVMM_OK;
  int n = 0;
  if (nb < 0)
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EINVAL, "block size nb = %d < 0", nb);
  else if (d == 0)
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EINVAL, "dimension d = 0");
  else if (d > INT_MAX / d)
    /* pdgemr2d and the rank-0 descriptor address the whole d x d matrix with one int. */
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EINVAL,
                    "dimension d = %zu: d * d exceeds ScaLAPACK's int indexing", d);
  else
    st = int_cast(d, "d", &n);
  nvmm_pchol *p = NULL;
  if (st == NVMM_OK) {
    p = calloc(1, sizeof *p);
    if (p == NULL)
      st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_ENOMEM, "out of memory");
  }
  st = agree(dup, st);
  if (st != NVMM_OK) {
    free(p);
    MPI_Comm_free(&dup);
    return st;
  }
  p->comm = dup;
  p->rank = rank;
  p->n = n;
  p->nb = nb > 0 ? nb : PCHOL_NB_DEFAULT;
  p->ctxt = p->ctxt0 = p->ctxt_line = PCHOL_NONE;
  st = agree(p->comm, setup(p, size));
  if (st != NVMM_OK) {
    nvmm_pchol_destroy(&p);
    return st;
  }
  *out = p;
  return NVMM_OK;
}

nvmm_status nvmm_pchol_factor(nvmm_pchol *p, const double *a, double *l, double *logdet) {
  static const int one = 1;
  NVMM_CHECK(p != NULL && logdet != NULL, NVMM_EINVAL, "p or logdet is NULL");
  nvmm_status st = NVMM_OK;
  if (p->rank == 0 && (a == NULL || l == NULL))
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EINVAL, "a or l is NULL on rank 0");
  NVMM_CALL(agree(p->comm, st));
  size_t d = (size_t)p->n;
  /* l is the staging buffer of the whole matrix on rank 0. The row-major a, read column-major,
   * is a^T = a; its column-major upper triangle (the row-major lower one) is all pdpotrf reads. */
  if (p->rank == 0 && l != a)
    memcpy(l, a, d * d * sizeof *l);
  /* Outside the 1 x 1 grid pdgemr2d ignores the rank-0 buffer; any valid pointer will do. */
  double *whole = p->rank == 0 ? l : p->aloc;
  pdgemr2d_(&p->n, &p->n, whole, &one, &one, p->desc0, p->aloc, &one, &one, p->desc, &p->ctxt_line);
  /* A = U^T U with U upper column-major; read row-major, U is the lower factor L = U^T, so the
   * gathered buffer needs no transpose (the same trick as nvmm__cholesky). */
  int info = 0;
  pdpotrf_("U", &p->n, p->aloc, &one, &one, p->desc, &info, 1);
  /* pdpotrf reports info on every rank of the grid, but the outcome decides the path of every
   * rank, so it is reduced anyway: the largest and the smallest info in one call. */
  int mine[2] = {info, -info}, all[2];
  if (MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MAX, p->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce of the pdpotrf status failed");
  if (all[1] > 0)
    NVMM_ERROR(NVMM_ESANITY, "pdpotrf: argument %d invalid", all[1]);
  if (all[0] > 0)
    return NVMM_EFACTOR; /* a numerical outcome: the caller retries with a ridge, unreported */
  pdgemr2d_(&p->n, &p->n, p->aloc, &one, &one, p->desc, whole, &one, &one, p->desc0, &p->ctxt_line);
  /* logdet from the gathered L on rank 0 in index order, then broadcast: every rank gets the
   * same bits, and they match nvmm__cholesky's sum for the same L. */
  double ld = 0.0;
  if (p->rank == 0) {
    double s = 0.0;
    for (size_t i = 0; i < d; i++) {
      for (size_t j = i + 1; j < d; j++)
        l[i * d + j] = 0.0;
      s += log(l[i * d + i]);
    }
    ld = 2.0 * s;
  }
  if (MPI_Bcast(&ld, 1, MPI_DOUBLE, 0, p->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Bcast of log|a| failed");
  /* Unlike dpotrf, pdpotrf tests a pivot only with "<= 0", so a NaN in a runs through to a NaN
   * factor with info = 0. A NaN or infinity anywhere in L reaches a later diagonal entry
   * (L_ii^2 = a_ii - sum_j L_ij^2), so a non-finite logdet catches it, on every rank alike. */
  if (!isfinite(ld))
    return NVMM_EFACTOR;
  *logdet = ld;
  return NVMM_OK;
}

void nvmm_pchol_destroy(nvmm_pchol **pp) {
  if (pp == NULL || *pp == NULL)
    return;
  nvmm_pchol *p = *pp;
  /* Grid exits free the grids' communicators. Cblacs_exit is never called: it would tear down
   * BLACS for the whole process. */
  if (p->ctxt_line >= 0)
    Cblacs_gridexit(p->ctxt_line);
  if (p->ctxt0 >= 0)
    Cblacs_gridexit(p->ctxt0);
  if (p->ctxt >= 0)
    Cblacs_gridexit(p->ctxt);
  if (p->comm != MPI_COMM_NULL)
    MPI_Comm_free(&p->comm);
  free(p->aloc);
  free(p);
  *pp = NULL;
}
