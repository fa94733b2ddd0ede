/* comm.h: the library's private MPI helpers (library-internal): the communicators it works on
 * and the agreement that carries a row. */
#ifndef NVMM_COMM_H
#define NVMM_COMM_H

#include <stdint.h>

#include <mpi.h>

#include "nvmm/agree.h"

/* Duplicates comm for the library's own traffic (src/architecture.md 2.7) with MPI_ERRORS_RETURN as
 * its error handler, so that a failed MPI call on it returns a code the library turns into a
 * status instead of aborting the job. Collective. */
nvmm_status nvmm__comm_dup(MPI_Comm comm, MPI_Comm *out);

/* nvmm_agree, and *row (may be NULL) of the rank whose message wins (the row of a bad value the
 * data reader names). Collective. */
nvmm_status nvmm__agree_row(MPI_Comm comm, nvmm_status st, int64_t *row);

#endif
