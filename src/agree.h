/* agree.h: making a rank-local status collective before anyone branches on it
 * (library-internal; style.md rule 12). */
#ifndef NVMM_AGREE_H
#define NVMM_AGREE_H

#include <mpi.h>

#include "nvmm/status.h"

/* Every rank of comm returns the worst status any rank passed in; ranks that were fine get an
 * error message saying another rank failed. Collective. */
nvmm_status nvmm__agree(MPI_Comm comm, nvmm_status st);

#endif
