/* opts.c: the program's one option parser. Every subcommand lists its options in a table of
 * cli_opt; getopt_long parses them (--name VALUE or --name=VALUE, an unambiguous prefix of a
 * name, -h), and the same table prints the options part of the subcommand's --help. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* getopt_long's value for table entry k: past every character value. */
#define OPT_BASE 256

static int count_opts(const cli_opt *opts) {
  int n = 0;
  while (opts[n].name)
    n++;
  return n;
}

/* An argument getopt_long refused: "--name[=value]" unknown, ambiguous, or given a value it does
 * not take; or a short option other than -h. Reported once, on rank 0. */
static void refused(MPI_Comm comm, const char *cmd, const cli_opt *opts, const char *arg) {
  if (strncmp(arg, "--", 2) != 0) {
    cli_error(comm, "%s: unknown option '%s' (see nvmm %s --help)", cmd, arg, cmd);
    return;
  }
  size_t len = strcspn(arg + 2, "=");
  int matches = 0, exact = 0;
  char list[512] = "";
  for (int k = 0; opts[k].name; k++)
    if (!strncmp(opts[k].name, arg + 2, len)) {
      exact |= strlen(opts[k].name) == len;
      matches++;
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s--%s", matches > 1 ? ", " : "",
               opts[k].name);
    }
  if (!strncmp("help", arg + 2, len)) {
    exact |= len == 4;
    matches++;
  }
  if (matches == 1 || exact)
    cli_error(comm, "%s: option '%.*s' takes no value (see nvmm %s --help)", cmd, (int)len + 2, arg,
              cmd);
  else if (matches > 1)
    cli_error(comm, "%s: ambiguous option '%.*s' (%s)", cmd, (int)len + 2, arg, list);
  else
    cli_error(comm, "%s: unknown option '%.*s' (see nvmm %s --help)", cmd, (int)len + 2, arg, cmd);
}

int cli_args_parse(MPI_Comm comm, const char *cmd, const cli_opt *opts, int argc, char **argv,
                   cli_args *a) {
  memset(a, 0, sizeof *a);
  int n = count_opts(opts);
  struct option *lo = calloc((size_t)n + 2, sizeof *lo);
  a->which = calloc((size_t)argc + 1, sizeof *a->which);
  a->value = calloc((size_t)argc + 1, sizeof *a->value);
  a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
  /* The one rank-local failure here: agreed on, so that no rank goes on alone. (The rest is
   * the same on every rank: they parse the same argv.) */
  nvmm_status st = lo && a->which && a->value && a->pos
                       ? NVMM_OK
                       : NVMM_RAISE(NVMM_ENOMEM, "out of memory parsing the command line");
  if (cli_failed(comm, st, cmd)) {
    free(lo);
    cli_args_free(a);
    return CLI_FAIL;
  }
  for (int k = 0; k < n; k++)
    lo[k] = (struct option){opts[k].name,
                            !opts[k].arg       ? no_argument
                            : opts[k].optional ? optional_argument
                                               : required_argument,
                            NULL, OPT_BASE + k};
  lo[n] = (struct option){"help", no_argument, NULL, 'h'};
  /* "+": stop at each non-option instead of permuting argv, which this loop takes as a
   * positional argument in place; ':' reports a missing value apart from an unknown option;
   * optind = 0 re-initializes GNU getopt for a new argv. */
  opterr = 0;
  optind = 0;
  int rc = CLI_OK;
  for (;;) {
    int before = optind > 0 ? optind : 1;
    int c = getopt_long(argc, argv, "+:h", lo, NULL);
    if (c == -1) {
      if (optind == before + 1 && !strcmp(argv[before], "--")) {
        while (optind < argc) /* "--" ends the options: the rest is positional */
          a->pos[a->npos++] = argv[optind++];
        break;
      }
      if (optind >= argc)
        break;
      a->pos[a->npos++] = argv[optind++];
      continue;
    }
    if (c == 'h') {
      a->help = 1;
      continue;
    }
    if (c == ':') {
      const char *name = optopt >= OPT_BASE ? opts[optopt - OPT_BASE].name : "?";
      cli_error(comm, "%s: option '--%s' needs a value (see nvmm %s --help)", cmd, name, cmd);
      rc = CLI_USAGE;
      break;
    }
    if (c == '?') {
      refused(comm, cmd, opts, argv[optind - 1]);
      rc = CLI_USAGE;
      break;
    }
    int k = c - OPT_BASE;
    const char *v = optarg;
    /* An optional value may also follow as the next argument ("--json 1"), unless that
     * looks like an option. */
    if (!v && opts[k].optional && optind < argc && argv[optind][0] != '-')
      v = argv[optind++];
    a->which[a->n] = k;
    a->value[a->n++] = v;
  }
  free(lo);
  if (rc != CLI_OK)
    cli_args_free(a);
  return rc;
}

void cli_args_free(cli_args *a) {
  free(a->which);
  free(a->value);
  free(a->pos);
  a->which = NULL;
  a->value = NULL;
  a->pos = NULL;
  a->n = a->npos = 0;
}

void cli_opts_help(FILE *out, const cli_opt *opts) {
  for (int k = 0; opts[k].name; k++) {
    char flag[64];
    snprintf(flag, sizeof flag, "--%s", opts[k].name);
    const char *arg = opts[k].arg ? opts[k].arg : "";
    fprintf(out, "  %-17s %s%s%s\n", flag, arg, *arg ? "  " : "", opts[k].help);
  }
  fputs("  -h, --help        show this help\n", out);
}

int cli_help_wanted(MPI_Comm comm, const cli_args *a, const char *usage, const cli_opt *opts) {
  if (!a->help)
    return 0;
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    fputs(usage, stdout);
    if (opts) {
      fputs("\nOptions:\n", stdout);
      cli_opts_help(stdout, opts);
    }
  }
  return 1;
}

int cli_args_table(MPI_Comm comm, const char *cmd, const cli_opt *opts, int argc, char **argv,
                   const char *usage, const char **vals, int *seen, int *help) {
  cli_args a;
  int rc = cli_args_parse(comm, cmd, opts, argc, argv, &a);
  if (rc != CLI_OK)
    return rc;
  *help = cli_help_wanted(comm, &a, usage, opts);
  for (int k = 0; k < a.n; k++) {
    vals[a.which[k]] = a.value[k];
    seen[a.which[k]] = 1;
  }
  const char *extra = !*help && a.npos > 0 ? a.pos[0] : NULL;
  if (extra)
    cli_error(comm, "%s: unexpected argument '%s'", cmd, extra);
  cli_args_free(&a);
  return extra ? CLI_USAGE : CLI_OK;
}
