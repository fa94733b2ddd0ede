/* agree.c: the one place a rank-local failure becomes every rank's (PETSc's "reduce failure
 * before branching"), so no rank goes on into a collective that the others left. */
#include "agree.h"

nvmm_status nvmm__agree(MPI_Comm comm, nvmm_status st) {
  int mine = -(int)st, worst;
  if (MPI_Allreduce(&mine, &worst, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce failed while agreeing on a status");
  if (worst != 0 && st == NVMM_OK)
    NVMM_ERROR((nvmm_status)-worst, "another rank failed: %s", nvmm_strerror((nvmm_status)-worst));
  return (nvmm_status)-worst;
}
