/* cli.h: what the subcommands of the nvmm program share: the rank-0 printing helpers and the
 * subcommand entry points. Only the program prints; the library never does. */
#ifndef NVMM_CLI_H
#define NVMM_CLI_H

#include <mpi.h>

#include "nvmm.h"

/* Prints an error message on rank 0 (stderr), prefixed with "nvmm: error: ". */
void cli_error(MPI_Comm comm, const char *fmt, ...) NVMM_PRINTF(2, 3);

/* Exit codes of the program. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* nvmm demo: samples an NIG dataset across the ranks and scores it. Collective. */
int cli_demo(MPI_Comm comm, int argc, char **argv);

#endif
