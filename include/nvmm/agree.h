/* nvmm/agree.h: making a rank-local status collective before anyone branches on it: the one
 * failure protocol of the library and the program (src/architecture.md 2.3, 4.2), public so
 * that a program can put its own rank-local failures through it before a collective call of the
 * library. */
#ifndef NVMM_AGREE_H
#define NVMM_AGREE_H

#include <mpi.h>

#include "nvmm/status.h"

/* Every rank of comm returns the same status: the most negative code any rank passed in. A rank
 * that passed that code keeps its own message; the others get the message of the lowest such
 * rank, as "another rank (rank R) failed: MESSAGE", so every rank can report the cause. One
 * MPI_Allreduce when every rank is fine. Collective. */
NVMM_EXTERN nvmm_status nvmm_agree(MPI_Comm comm, nvmm_status st);

#endif
