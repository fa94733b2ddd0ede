/* cli.h: what the subcommands of the nvmm program share: printing on rank 0, collective error
 * reports, the fit configuration, and the subcommand entry points. Only the program prints;
 * the library never does. */
#ifndef NVMM_CLI_H
#define NVMM_CLI_H

#include <jansson.h>
#include <mpi.h>
#include <stdio.h>

#include "nvmm.h"

#define CLI_PATH_MAX 4096

/* Exit codes of the program. */
/* CLI_STOPPED: a stop signal arrived; the checkpoint was written; run the same command (or
 * nvmm fit --resume CKPT) to continue. 75 is EX_TEMPFAIL of sysexits.h: "try again later". */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_STOPPED = 75 };

/* Prints an error message on rank 0 (stderr), prefixed with "nvmm: error: ". */
void cli_error(MPI_Comm comm, const char *fmt, ...) NVMM_PRINTF(2, 3);

/* Collective (nvmm_agree): if any rank's st is not OK, rank 0 prints the failing rank's message,
 * prefixed with what; returns 1 on failure on every rank, else 0. */
int cli_failed(MPI_Comm comm, nvmm_status st, const char *what);

/* Parses a positive integer option value; prints the error on rank 0. */
int cli_parse_count(MPI_Comm comm, const char *flag, const char *v, long long lo, long long *out);

/* Splits "FILE.h5[:/dataset]" into file and dataset (default_dataset when absent). */
void cli_split_path(const char *spec, const char *default_dataset, char *file, size_t fsize,
                    char *dataset, size_t dsize);

/* Opens the data set spec names: "FILE.h5[:/dataset]" or a comma-separated list of them, whose
 * rows follow one another in the order given (each dataset defaults to /X; a file name cannot
 * hold a comma). Collective; every rank gets the same status. Errors: those of
 * nvmm_data_open_many, NVMM_EINVAL (an empty item), NVMM_ENOMEM. */
nvmm_status cli_open_data(MPI_Comm comm, const char *spec, nvmm_data **out);

/* Checks on rank 0 that path can be created (its directory exists and is writable); the
 * verdict is broadcast. Returns 0 when writable. */
int cli_check_writable(MPI_Comm comm, const char *path);

/* One option of a subcommand: --name, with a value when arg is not NULL (arg names its form in
 * the help; "" when the help says it), optional when the value may be left out ("--json" for
 * "--json 1"). A table ends with a NULL name; -h and --help are always there. */
typedef struct cli_opt {
  const char *name;
  const char *arg;
  const char *help;
  int optional;
} cli_opt;

/* A parsed command line: the options in the order given (which: index into the table; value:
 * its value, NULL when left out), the positional arguments, and whether help was asked for. */
typedef struct cli_args {
  int n, npos, help;
  int *which;
  const char **value;
  const char **pos;
} cli_args;

/* Parses argv[1..argc) (argv[0] is the subcommand) against opts with getopt_long. On an unknown,
 * ambiguous or incomplete option prints one message on rank 0 ("CMD: unknown option '--x' (see
 * nvmm CMD --help)") and returns CLI_USAGE; CLI_FAIL when out of memory on any rank (collective
 * then); else CLI_OK and a is to be freed with cli_args_free. */
int cli_args_parse(MPI_Comm comm, const char *cmd, const cli_opt *opts, int argc, char **argv,
                   cli_args *a);
void cli_args_free(cli_args *a);
/* The options part of a --help: one line per option of the table, then -h, --help. */
void cli_opts_help(FILE *out, const cli_opt *opts);
/* When help was asked for, prints usage and (unless opts is NULL) "Options:" with the table on
 * rank 0's stdout and returns 1; else returns 0. */
int cli_help_wanted(MPI_Comm comm, const cli_args *a, const char *usage, const cli_opt *opts);
/* cli_args_parse, cli_help_wanted and the options as a table: vals[k] the last value of option k
 * (NULL when absent or left out; the strings are argv's), seen[k] whether it was given (both
 * zeroed by the caller, one entry per option). *help is set when help was printed. A positional
 * argument is refused ("CMD: unexpected argument 'x'", CLI_USAGE). */
int cli_args_table(MPI_Comm comm, const char *cmd, const cli_opt *opts, int argc, char **argv,
                   const char *usage, const char **vals, int *seen, int *help);

/* The `nvmm fit` configuration: the library's options plus what the program does around them. */
typedef struct cli_fit_config {
  nvmm_fit_options o;
  char data[CLI_PATH_MAX];         /* HDF5 file */
  char dataset[256];               /* dataset in it (default /X) */
  char out[CLI_PATH_MAX];          /* model file */
  char init_model[CLI_PATH_MAX];   /* initial model file when o.init is NVMM_INIT_MODEL */
  char shrink_model[CLI_PATH_MAX]; /* shrinkage target file when o.shrink is NVMM_SHRINK_GIVEN */
  int alpha_min_density;           /* alpha_min = d/2 + 0.1 once d is known */
  int64_t memory_limit;            /* bytes of shard a rank holds in memory (0: no limit) */
  char checkpoint[CLI_PATH_MAX];   /* checkpoint file ("" for none) */
  int checkpoint_every;            /* iterations between checkpoints */
  int64_t checkpoint_every_steps;  /* incremental EM: mini-batch steps between checkpoints */
  char resume[CLI_PATH_MAX];       /* checkpoint to resume from ("" for none) */
  int verbose;                     /* 0, 1, 2 */
  int json;                        /* 1: JSON summary on stdout */
  int std_errors;                  /* 1: standard errors after the fit (key stderr) */
} cli_fit_config;

void cli_fit_config_default(nvmm_family family, cli_fit_config *cfg);
/* Reads an INI file into the table (keys at the top or under [fit]). On failure prints one
 * message on rank 0 naming the file's first error with its line, and its section and key
 * where it has them ("FILE:LINE: unknown config key 'k' in section [fit] ..."), and returns -1. */
int cli_config_read(MPI_Comm comm, const char *path);
/* Forgets every key read or set so far (the table is the program's one configuration; the
 * config fuzzer, tests/fuzz/, parses many in one process). */
void cli_config_reset(void);
/* Sets the key of option flag ("--max-iter") to value; an unknown flag is an error. */
int cli_config_flag(MPI_Comm comm, const char *flag, const char *value);
int cli_config_is_flag(const char *flag);
/* The options of `nvmm fit`: one per key, in the table's order (k indexes both). */
const cli_opt *cli_fit_opts(void);
/* Sets the key of option k to value (NULL: an optional value left out, "1"). */
int cli_config_set_opt(MPI_Comm comm, int k, const char *value);
int cli_config_apply(MPI_Comm comm, cli_fit_config *cfg);
/* The effective configuration as a JSON object (every key), as snprintf into buf: returns its
 * length, 0 when out of memory. */
size_t cli_config_text(const cli_fit_config *c, char *buf, size_t size);
/* The algorithms' names as config values, indexed by nvmm_algorithm. */
extern const char *const cli_algorithm_names[NVMM_ALG_COUNT];
/* A rule as the eta_update key reads it back exactly ("robbins_monro:10:1"). */
/* The shrinkage setting as the shrinkage key reads it ("isotropic:2", "model", a file). */
void cli_shrink_text(const cli_fit_config *c, char *buf, size_t size);
void cli_eta_rule_text(const nvmm_eta_rule *r, char *buf, size_t size);
/* The init as a config value: moments, submodels or the initial model's path. */
const char *cli_init_name(const cli_fit_config *c);
/* Reads a stored configuration (what cli_config_text wrote) into the table; origin (the
 * checkpoint) names it in errors. */
int cli_config_read_text(MPI_Comm comm, const char *text, const char *origin);

/* Shared by `nvmm fit` and `nvmm select` (fit.c). Collective: opens c's data and reads this
 * rank's shard (rows [*first, *first + *nloc) of n x d, sharded by c->o.block_rows) into *x
 * (caller frees), or, when a shard exceeds c->memory_limit on any rank, leaves *x NULL and *data
 * open for streaming; every rank gets the same status. */
nvmm_status cli_open_shard(MPI_Comm comm, const cli_fit_config *c, int64_t *n, int64_t *d,
                           int64_t *first, int64_t *nloc, double **x, nvmm_data **data);
/* The model a fit with options o and dimension d returns into: factor-only for a factor fit
 * above NVMM_FACTOR_DENSE_MAX_D (no d x d array in memory or in the file), else dense. */
nvmm_status cli_result_model_alloc(const nvmm_fit_options *o, int64_t d, nvmm_model **m);
/* Not collective (rank 0): writes the fitted model m of f to c->out with the fit's history and
 * meta (summary s, c's configuration text), or, when ckpt is not NULL, a checkpoint there. */
nvmm_status cli_write_model(const cli_fit_config *c, const nvmm_fit *f, const nvmm_model *m,
                            const nvmm_fit_summary *s, const char *ckpt);

/* What `nvmm info` says about the HDF5 file path (src/cli/info.c): writes its text to text
 * (when not NULL) and, when json is not NULL, returns the same facts as a new JSON object (the
 * one `nvmm info --json` prints; free with json_decref). The text is written only once the file
 * has opened and its objects are listed; on failure *json is NULL. Not collective.
 * Errors: NVMM_EIO (a missing, unreadable or non-HDF5 file, or one whose objects cannot be
 * listed: the message names the path), NVMM_ENOMEM. */
nvmm_status cli_info_describe(const char *path, FILE *text, json_t **json);

/* JSON values shared by `nvmm fit --json` and `nvmm info --json` (common.c). JSON has no NaN or
 * infinity: a non-finite number is null. Each returns NULL only without memory. */
json_t *cli_json_real(double x);
json_t *cli_json_vec(const double *v, size_t n);
/* The subordinator: its parameters under the names model files store them (nvmm_family_info),
 * then its GIG embedding gig_p, gig_a, gig_b; {} for the Gaussian. */
json_t *cli_json_sub(const nvmm_model *m);

/* A model named on the command line: a model file, or a family with parameters given as
 * comma-separated lists (nvmm sample's --family, --d, --mu, --gamma, --sigma, --sub). */
typedef struct cli_model_spec {
  const char *model;                    /* model file, or NULL */
  const char *family;                   /* family name when model is NULL */
  const char *mu, *gamma, *sigma, *sub; /* the lists (NULL: the defaults 0, 0, I; sub needed) */
  long long d;                          /* dimension with family */
} cli_model_spec;

/* The option indices of a cli_model_spec's options: first in a command's option enum, in this
 * order, so that they index CLI_MODEL_SPEC_OPTS (risk, score) or the command's own table of the
 * same options (sample) and its parsed values. */
#define CLI_MODEL_SPEC_ENUM O_MODEL, O_FAMILY, O_D, O_MU, O_GAMMA, O_SIGMA, O_SUB

/* The option table entries of a cli_model_spec, in the order of CLI_MODEL_SPEC_ENUM. */
#define CLI_MODEL_SPEC_OPTS                                                                        \
  {"model", "M.h5", "the model (or --family with parameters)", 0},                                 \
      {"family", "F", "gh|hyp|nig|vg|ninvg|gauss, with --d and the parameters below", 0},          \
      {"d", "D", "dimension", 0}, {"mu", "V", "d numbers (default 0)", 0},                         \
      {"gamma", "V", "d numbers (default 0)", 0},                                                  \
      {"sigma", "M", "d*d numbers, row by row (default the identity)", 0}, {                       \
    "sub", "V", "the subordinator's parameters (as nvmm sample --help says)", 0                    \
  }

/* The cli_model_spec of the values vals parsed for the options of CLI_MODEL_SPEC_ENUM, with the
 * dimension d parsed from vals[O_D] (0 without it). */
#define CLI_MODEL_SPEC_OF(vals, d)                                                                 \
  ((cli_model_spec){(vals)[O_MODEL], (vals)[O_FAMILY], (vals)[O_MU], (vals)[O_GAMMA],              \
                    (vals)[O_SIGMA], (vals)[O_SUB], (d)})

/* Reads or builds the model spec names. Not collective (every rank builds the same model); the
 * caller agrees on the status. Errors: those of nvmm_model_read, nvmm_model_set, NVMM_EINVAL (a
 * list with the wrong count: printed on rank 0). */
nvmm_status cli_model_load(MPI_Comm comm, const cli_model_spec *spec, nvmm_model **m);

/* Parses a comma-separated list of one or more finite numbers into a new array (*out, free
 * it; *count values). Prints the error naming flag on rank 0 and returns -1 when v is not such
 * a list; collective (agrees on an allocation failure). */
int cli_parse_reals(MPI_Comm comm, const char *flag, const char *v, double **out, size_t *count);

/* The weights w (d values) of a portfolio: --equal (1/d each) when path is NULL, else read from
 * the CSV file path by rank 0 (one weight per line, or one comma-separated line; optionally a
 * header line of names first) and broadcast. Prints the error on rank 0 (naming the file and the
 * line at fault) and returns -1 on every rank when the file is missing or unreadable, holds
 * anything but numbers after the header, or does not hold exactly d weights. Collective. */
int cli_weights(MPI_Comm comm, const char *path, size_t d, double *w);

/* `nvmm score`'s marginal mode (src/cli/marginal.c): the options that select it. */
typedef struct cli_score_law {
  cli_model_spec spec;
  const char *data, *out;                /* D.h5[:/X] (for --cdf or a column name), CDF.h5[:/cdf] */
  const char *marginal;                  /* column index or name, or NULL */
  const char *weights;                   /* W.csv, or NULL */
  int equal, cdf, json;                  /* --equal, --cdf, --json */
  const char *at, *quantile, *logpdf_at; /* comma-separated lists, or NULL */
} cli_score_law;
int cli_score_marginal(MPI_Comm comm, const cli_score_law *o);

/* Subcommands. Each is collective over comm and returns an exit code. */
int cli_demo(MPI_Comm comm, int argc, char **argv);
int cli_fit(MPI_Comm comm, int argc, char **argv);
int cli_import(MPI_Comm comm, int argc, char **argv);
int cli_sample(MPI_Comm comm, int argc, char **argv);
int cli_score(MPI_Comm comm, int argc, char **argv);
int cli_info(MPI_Comm comm, int argc, char **argv);
int cli_select(MPI_Comm comm, int argc, char **argv);
int cli_risk(MPI_Comm comm, int argc, char **argv);

#endif
