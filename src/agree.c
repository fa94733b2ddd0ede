/* agree.c: the one place a rank-local failure becomes every rank's (PETSc's "reduce failure
 * before branching"), so no rank goes on into a collective that the others left, and every
 * rank can say what failed. */
#include "nvmm/agree.h"
#include "comm.h"

#include <stdio.h>
#include <string.h>

/* Room for one message (nvmm_last_error keeps up to this). */
#define AGREE_MSG_LEN 1024

nvmm_status nvmm__agree_row(MPI_Comm comm, nvmm_status st, int64_t *row) {
  int loc = (int)st, glob = 0;
  if (MPI_Allreduce(&loc, &glob, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce failed while agreeing on a status");
  if (glob == NVMM_OK)
    return NVMM_OK;
  int rank = 0, size = 0;
  if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS || MPI_Comm_size(comm, &size) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_rank/MPI_Comm_size failed");
  int mine = loc == glob ? rank : size, owner = 0;
  if (MPI_Allreduce(&mine, &owner, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce failed while agreeing on a status");
  struct {
    int64_t row;
    char msg[AGREE_MSG_LEN];
  } pkt;
  memset(&pkt, 0, sizeof pkt);
  if (rank == owner) {
    pkt.row = row ? *row : -1;
    snprintf(pkt.msg, sizeof pkt.msg, "%s",
             nvmm_last_error()[0] ? nvmm_last_error() : nvmm_strerror(st));
  }
  if (MPI_Bcast(&pkt, (int)sizeof pkt, MPI_BYTE, owner, comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Bcast failed while agreeing on a status");
  if (loc == glob)
    return (nvmm_status)glob;
  if (row)
    *row = pkt.row;
  return NVMM_RAISE((nvmm_status)glob, "another rank (rank %d) failed: %s", owner, pkt.msg);
}

nvmm_status nvmm_agree(MPI_Comm comm, nvmm_status st) { return nvmm__agree_row(comm, st, NULL); }

nvmm_status nvmm__comm_dup(MPI_Comm comm, MPI_Comm *out) {
  *out = MPI_COMM_NULL;
  if (MPI_Comm_dup(comm, out) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_dup failed");
  if (MPI_Comm_set_errhandler(*out, MPI_ERRORS_RETURN) != MPI_SUCCESS) {
    MPI_Comm_free(out);
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_set_errhandler failed");
  }
  return NVMM_OK;
}
