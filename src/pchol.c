/* pchol.c: Cholesky factor of a d x d matrix held on rank 0, computed by ScaLAPACK pdpotrf on a
 * block-cyclic grid of all ranks of a communicator; the matrix moves between rank 0 and the grid
 * as MPI messages typed by MPI_Type_create_darray. */
#include "nvmm/pchol.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "comm.h"
#include "lapack.h"

/* Length of a ScaLAPACK array descriptor. */
enum { DLEN = 9 };

/* Default block size. ScaLAPACK's users' guide recommends 32 to 64 for pdpotrf: a block must be
 * wide enough that the trailing update (pdsyrk on nb-wide panels) runs at BLAS-3 speed, and
 * narrow enough that the last panels still spread over the grid. scripts/bench_pchol.sh on the
 * 2-core development machine (best of 15 runs, 2 ranks, d = 1024 / 2048 / 4096): nb = 32 took
 * 9.1 / 60 / 668 ms, nb = 64 8.3 / 52 / 391 ms, nb = 128 8.8 / 57 / 514 ms (in a quieter run
 * 7.7 / 47 / 333 ms against 64's 6.9 / 47 / 375 ms). 32 is clearly slower; 64 is never far
 * behind and the better of the two nearest the crossover with LAPACK (d ~ 2048). */
enum { PCHOL_NB_DEFAULT = 64 };

/* BLACS marks a context that is not held with -1. */
enum { PCHOL_NONE = -1 };

/* Message tag of the scatter and the gather; the communicator is private, so any tag will do. */
enum { PCHOL_TAG = 1 };

struct nvmm_pchol {
  MPI_Comm comm;      /* duplicate of the caller's communicator; MPI_COMM_NULL if not made */
  int rank, size;     /* rank in comm and its size; rank 0 holds the whole matrix */
  int n;              /* the dimension d as a ScaLAPACK int (n * n <= INT_MAX) */
  int nb;             /* block size of the block-cyclic distribution (square nb x nb blocks) */
  int ctxt;           /* BLACS context of the nprow x npcol grid of all ranks, or PCHOL_NONE */
  int nprow, npcol;   /* grid shape, nprow <= npcol, nprow * npcol = size */
  int myrow, mycol;   /* this rank's grid coordinates: rank = myrow * npcol + mycol */
  int desc[DLEN];     /* ScaLAPACK descriptor of the distributed matrix */
  double *aloc;       /* this rank's blocks, column-major, lld = max(1, local rows) = desc[8] */
  int nloc;           /* doubles in this rank's blocks (local rows x local columns) */
  MPI_Datatype *part; /* rank 0: part[r] selects rank r's blocks from the whole column-major
                       * matrix, in r's local column-major order; NULL elsewhere */
  int nparts;         /* entries of part committed (to be freed) */
  MPI_Request *reqs;  /* size + 1 requests for the scatter and the gather */
};

/* size_t to a ScaLAPACK int, failing instead of wrapping. */
static nvmm_status int_cast(size_t v, const char *what, int *out) {
  if (v > INT_MAX)
    NVMM_ERROR(NVMM_EINVAL, "%s = %zu does not fit a ScaLAPACK int", what, v);
  *out = (int)v;
  return NVMM_OK;
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

/* Grid, descriptor, datatypes and buffers; p->comm, rank, size, n, nb are set. Local status,
 * agreed by the caller. */
static nvmm_status setup(nvmm_pchol *p) {
  static const int zero = 0;
  int info = 0;
  grid_shape(p->size, &p->nprow, &p->npcol);
  /* Cblacs_gridinit replaces a system handle by a new context; every rank must take part. The
   * grid holds its own communicators, so the system handle is given back at once: BLACS
   * compacts its handle table when handles are freed, which would renumber a handle kept
   * across calls. */
  int sys = Csys2blacs_handle(p->comm);
  p->ctxt = sys;
  Cblacs_gridinit(&p->ctxt, "Row", p->nprow, p->npcol);
  Cfree_blacs_system_handle(sys);
  int nprow, npcol;
  Cblacs_gridinfo(p->ctxt, &nprow, &npcol, &p->myrow, &p->mycol);
  /* MPI_Type_create_darray numbers the process grid row-major, as BLACS's "Row" layout does. */
  if (p->ctxt < 0 || nprow != p->nprow || npcol != p->npcol || p->myrow != p->rank / p->npcol ||
      p->mycol != p->rank % p->npcol)
    NVMM_ERROR(NVMM_ESANITY, "Cblacs_gridinit: rank %d at (%d, %d) of the %d x %d grid", p->rank,
               p->myrow, p->mycol, p->nprow, p->npcol);
  int mloc = numroc_(&p->n, &p->nb, &p->myrow, &zero, &p->nprow);
  int nloc = numroc_(&p->n, &p->nb, &p->mycol, &zero, &p->npcol);
  /* lld = mloc makes the local blocks one contiguous run, the receive buffer of the scatter. */
  int lld = mloc > 1 ? mloc : 1;
  descinit_(p->desc, &p->n, &p->n, &p->nb, &p->nb, &zero, &zero, &p->ctxt, &lld, &info);
  if (info != 0)
    NVMM_ERROR(NVMM_ESANITY, "descinit: argument %d invalid", -info);
  NVMM_CALL(int_cast((size_t)mloc * (size_t)nloc, "local block size", &p->nloc));
  p->aloc = malloc((p->nloc > 0 ? (size_t)p->nloc : 1) * sizeof *p->aloc);
  p->reqs = malloc(((size_t)p->size + 1) * sizeof *p->reqs);
  if (p->aloc == NULL || p->reqs == NULL)
    NVMM_ERROR(NVMM_ENOMEM, "out of memory for the %d x %d local block", mloc, nloc);
  if (p->rank != 0)
    return NVMM_OK;
  p->part = malloc((size_t)p->size * sizeof *p->part);
  if (p->part == NULL)
    NVMM_ERROR(NVMM_ENOMEM, "out of memory for %d datatypes", p->size);
  /* ScaLAPACK's block-cyclic layout (source process 0, 0) is MPI's cyclic(nb) distribution in
   * both dimensions, Fortran order: the darray type of rank r lists r's entries of the whole
   * matrix in the order of r's column-major local array with lld = mloc. */
  int gsizes[2] = {p->n, p->n}, dargs[2] = {p->nb, p->nb}, psizes[2] = {p->nprow, p->npcol};
  int distribs[2] = {MPI_DISTRIBUTE_CYCLIC, MPI_DISTRIBUTE_CYCLIC};
  for (int r = 0; r < p->size; r++) {
    if (MPI_Type_create_darray(p->size, r, 2, gsizes, distribs, dargs, psizes, MPI_ORDER_FORTRAN,
                               MPI_DOUBLE, &p->part[r]) != MPI_SUCCESS)
      NVMM_ERROR(NVMM_EMPI, "MPI_Type_create_darray failed for rank %d", r);
    if (MPI_Type_commit(&p->part[r]) != MPI_SUCCESS) {
      MPI_Type_free(&p->part[r]);
      NVMM_ERROR(NVMM_EMPI, "MPI_Type_commit failed for rank %d", r);
    }
    p->nparts = r + 1;
  }
  return NVMM_OK;
}

/* Rank 0's whole column-major matrix w to every rank's blocks (gather = 0), or back (gather = 1):
 * one message per rank, rank 0 included, typed by part[r] on rank 0 and contiguous on r. */
static nvmm_status move(nvmm_pchol *p, double *w, int gather) {
  int k = 0, rc = MPI_SUCCESS;
  if (gather)
    rc = MPI_Isend(p->aloc, p->nloc, MPI_DOUBLE, 0, PCHOL_TAG, p->comm, &p->reqs[k++]);
  else
    rc = MPI_Irecv(p->aloc, p->nloc, MPI_DOUBLE, 0, PCHOL_TAG, p->comm, &p->reqs[k++]);
  for (int r = 0; p->rank == 0 && r < p->size && rc == MPI_SUCCESS; r++) {
    if (gather)
      rc = MPI_Irecv(w, 1, p->part[r], r, PCHOL_TAG, p->comm, &p->reqs[k++]);
    else
      rc = MPI_Isend(w, 1, p->part[r], r, PCHOL_TAG, p->comm, &p->reqs[k++]);
  }
  if (rc == MPI_SUCCESS)
    rc = MPI_Waitall(k, p->reqs, MPI_STATUSES_IGNORE);
  if (rc != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI %s of the distributed matrix failed", gather ? "gather" : "scatter");
  return NVMM_OK;
}

nvmm_status nvmm_pchol_create(MPI_Comm comm, size_t d, int nb, nvmm_pchol **out) {
  NVMM_CHECK(out != NULL, NVMM_EINVAL, "out is NULL");
  *out = NULL;
  /* Library traffic, argument agreement included, runs on a duplicate (src/architecture.md 2.7). */
  MPI_Comm dup;
  NVMM_CALL(nvmm__comm_dup(comm, &dup));
  int rank, size;
  if (MPI_Comm_rank(dup, &rank) != MPI_SUCCESS || MPI_Comm_size(dup, &size) != MPI_SUCCESS) {
    MPI_Comm_free(&dup);
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_rank/MPI_Comm_size failed");
  }
  nvmm_status st = NVMM_OK;
  int n = 0;
  if (nb < 0)
    st = NVMM_RAISE(NVMM_EINVAL, "block size nb = %d < 0", nb);
  else if (d == 0)
    st = NVMM_RAISE(NVMM_EINVAL, "dimension d = 0");
  else if (d > INT_MAX / d)
    /* MPI's darray types and ScaLAPACK's local indexing address d x d entries with an int. */
    st = NVMM_RAISE(NVMM_EINVAL, "dimension d = %zu: d * d exceeds int indexing", d);
  else
    st = int_cast(d, "d", &n);
  nvmm_pchol *p = NULL;
  if (st == NVMM_OK) {
    p = calloc(1, sizeof *p);
    if (p == NULL)
      st = NVMM_RAISE(NVMM_ENOMEM, "out of memory");
  }
  st = nvmm_agree(dup, st);
  if (st != NVMM_OK) {
    free(p);
    MPI_Comm_free(&dup);
    return st;
  }
  p->comm = dup;
  p->rank = rank;
  p->size = size;
  p->n = n;
  p->nb = nb > 0 ? nb : PCHOL_NB_DEFAULT;
  p->ctxt = PCHOL_NONE;
  st = nvmm_agree(p->comm, setup(p));
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
    st = NVMM_RAISE(NVMM_EINVAL, "a or l is NULL on rank 0");
  NVMM_CALL(nvmm_agree(p->comm, st));
  size_t d = (size_t)p->n;
  /* l is the staging buffer of the whole matrix on rank 0. The row-major a, read column-major,
   * is a^T = a; its column-major upper triangle (the row-major lower one) is all pdpotrf reads. */
  if (p->rank == 0 && l != a)
    memcpy(l, a, d * d * sizeof *l);
  NVMM_CALL(move(p, l, 0));
  /* A = U^T U with U upper column-major; read row-major, U is the lower factor L = U^T, so the
   * gathered buffer needs no transpose (the same trick as nvmm__cholesky). */
  int info = 0;
  pdpotrf_("U", &p->n, p->aloc, &one, &one, p->desc, &info, 1);
  /* The outcome decides the path of every rank, so info is reduced rather than trusted to be the
   * same everywhere: the largest and the smallest info in one call. */
  int mine[2] = {info, -info}, all[2];
  if (MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MAX, p->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce of the pdpotrf status failed");
  if (all[1] > 0)
    NVMM_ERROR(NVMM_ESANITY, "pdpotrf: argument %d invalid", all[1]);
  if (all[0] > 0)
    return NVMM_EFACTOR; /* a numerical outcome: the caller retries with a ridge, unreported */
  NVMM_CALL(move(p, l, 1));
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
  /* The grid exit frees the grid's communicators. Cblacs_exit is never called: it would tear
   * down BLACS for the whole process. */
  if (p->ctxt >= 0)
    Cblacs_gridexit(p->ctxt);
  for (int r = 0; r < p->nparts; r++)
    MPI_Type_free(&p->part[r]);
  if (p->comm != MPI_COMM_NULL)
    MPI_Comm_free(&p->comm);
  free(p->part);
  free(p->reqs);
  free(p->aloc);
  free(p);
  *pp = NULL;
}
