/* main.c: the nvmm program: MPI setup, subcommand dispatch, --help and --version. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "cli.h"

/* OpenBLAS's thread count (declared in its cblas.h, which would also declare a CBLAS that GSL's
 * headers declare differently). */
void openblas_set_num_threads(int num_threads);

static const char usage[] =
    "Usage: nvmm [--help] [--version] <command> [options]\n"
    "\n"
    "Fits normal variance-mean mixtures (GH, hyperbolic, NIG, VG, NInvG, Gaussian) by batch\n"
    "EM, distributed over MPI ranks. Run under mpirun, e.g. mpirun -n 2 nvmm demo.\n"
    "\n"
    "Commands (each has --help):\n"
    "  fit       fit a family to an HDF5 data set: nvmm fit [CONFIG.ini] [--data F.h5] ...\n"
    "  select    fit several families to one data set (read once), rank them by AIC/BIC\n"
    "            and test the nested pairs by likelihood ratio\n"
    "  import    convert a CSV file with a header line to an HDF5 data set\n"
    "  sample    draw rows from a model into an HDF5 data set\n"
    "  score     mean log-likelihood of a data set under a model; --marginal J: the CDF,\n"
    "            quantiles and density of a margin or portfolio\n"
    "  risk      value at risk and expected shortfall of a portfolio, with a Monte Carlo check\n"
    "  info      describe a data, model or checkpoint file, in words or as JSON\n"
    "  demo      sample an NIG data set across the ranks and score it under the true and a\n"
    "            perturbed model\n"
    "\n"
    "Options:\n"
    "  -h, --help     show this help and exit\n"
    "  -V, --version  print the version and exit\n"
    "\n"
    "Environment:\n"
    "  OPENBLAS_NUM_THREADS  BLAS threads per rank; unset, nvmm uses 1 (ranks are the unit of\n"
    "                        parallelism: one rank per core)\n";

static int dispatch(MPI_Comm comm, int argc, char **argv) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (argc < 2) {
    if (rank == 0)
      fputs(usage, stderr);
    return CLI_USAGE;
  }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
    if (rank == 0)
      fputs(usage, stdout);
    return CLI_OK;
  }
  if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
    if (rank == 0)
      printf("nvmm %s\n", NVMM_VERSION);
    return CLI_OK;
  }
  static const struct {
    const char *name;
    int (*run)(MPI_Comm, int, char **);
  } cmds[] = {{"fit", cli_fit},       {"import", cli_import}, {"sample", cli_sample},
              {"score", cli_score},   {"info", cli_info},     {"demo", cli_demo},
              {"select", cli_select}, {"risk", cli_risk}};
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
    if (!strcmp(cmd, cmds[i].name))
      return cmds[i].run(comm, argc - 1, argv + 1);
  cli_error(comm, "unknown command '%s' (see nvmm --help)", cmd);
  return CLI_USAGE;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  /* GSL's default handler aborts; the library checks every GSL status itself. */
  gsl_set_error_handler_off();
  /* Past a file size limit (ulimit -f) a write then fails with EFBIG, which the writers report
   * naming the file, instead of SIGXFSZ killing the rank with a core dump. */
  signal(SIGXFSZ, SIG_IGN);
  /* OpenBLAS would start one thread per core in every rank: with one rank per core that
   * oversubscribes each core rank-count times. An explicit setting is the user's choice. */
  if (!getenv("OPENBLAS_NUM_THREADS"))
    openblas_set_num_threads(1);
  MPI_Comm comm;
  MPI_Comm_dup(MPI_COMM_WORLD, &comm);
  int rc = dispatch(comm, argc, argv);
  MPI_Comm_free(&comm);
  MPI_Finalize();
  return rc;
}
