/* tools.c: `nvmm import`, `nvmm sample` and `nvmm score`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_import(MPI_Comm comm, int argc, char **argv) {
  static const char help[] =
      "Usage: nvmm import DATA.csv OUT.h5 [--dataset /X] [--missing error|drop]\n"
      "                   [--delimiter C] [--decimal-comma]\n"
      "\n"
      "Converts a CSV file with a header line into a chunked 2-D float64 HDF5 dataset,\n"
      "streaming (memory does not grow with the file). A column is numeric when its first\n"
      "non-missing value is a number; other columns (e.g. dates) are skipped and named;\n"
      "column names are kept as the attribute 'columns' of the dataset. A failed import\n"
      "leaves no output file.\n"
      "\n"
      "A missing cell is an empty field or one of NA, N/A, NaN, nan, null, NULL, '.'.\n"
      "--missing error (the default) stops at the first one in a numeric column, naming\n"
      "its line, column and token; --missing drop skips such rows, says how many, and\n"
      "stores the count as the attributes rows_dropped and missing=\"drop\" of the dataset\n"
      "(nvmm info shows them).\n"
      "\n"
      "--delimiter takes ',' (the default), ';', tab (or \\t), '|' or space (a run of\n"
      "spaces is one separator). Without it a header line with no ',' but with ';' or tabs\n"
      "selects that delimiter (the output says so). --decimal-comma reads numbers such as\n"
      "0,0123; without it a decimal comma is detected when the delimiter is not ',' and a\n"
      "column's first value is a number only with a comma (the output says so). A number\n"
      "with the other separator than the file's is an error, never misread.\n";
  static const cli_opt opts[] = {
      {"dataset", "NAME", "dataset to write (default /X)", 0},
      {"missing", "MODE", "missing numeric cells: error (default) or drop the row", 0},
      {"delimiter", "C", "field separator: , ; tab \\t | space (default ',' or detected)", 0},
      {"decimal-comma", NULL, "numbers use a decimal comma (0,5)", 0},
      {0}};
  cli_args a;
  int rc = cli_args_parse(comm, "import", opts, argc, argv, &a);
  if (rc != CLI_OK)
    return rc;
  if (cli_help_wanted(comm, &a, help, opts)) {
    cli_args_free(&a);
    return CLI_OK;
  }
  const char *in = a.npos > 0 ? a.pos[0] : NULL, *out = a.npos > 1 ? a.pos[1] : NULL;
  const char *dataset = "/X", *extra = a.npos > 2 ? a.pos[2] : NULL;
  nvmm_import_options opt = {0};
  const char *bad = NULL, *bad_flag = NULL;
  for (int k = 0; k < a.n; k++) {
    const char *v = a.value[k], *flag = opts[a.which[k]].name;
    if (strcmp(flag, "dataset") == 0) {
      dataset = v;
    } else if (strcmp(flag, "missing") == 0) {
      if (strcmp(v, "error") == 0)
        opt.missing = NVMM_MISSING_ERROR;
      else if (strcmp(v, "drop") == 0)
        opt.missing = NVMM_MISSING_DROP;
      else
        bad = v, bad_flag = "--missing takes error or drop";
    } else if (strcmp(flag, "delimiter") == 0) {
      if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0 || strcmp(v, "\t") == 0)
        opt.delimiter = '\t';
      else if (strcmp(v, "space") == 0 || strcmp(v, " ") == 0)
        opt.delimiter = ' ';
      else if (strlen(v) == 1 && strchr(",;|", v[0]))
        opt.delimiter = v[0];
      else
        bad = v, bad_flag = "--delimiter takes ',', ';', tab (or \\t), '|' or space";
    } else {
      opt.decimal_comma = 1;
    }
  }
  if (bad) {
    cli_error(comm, "import: %s, got '%s'", bad_flag, bad);
    cli_args_free(&a);
    return CLI_USAGE;
  }
  cli_args_free(&a);
  if (extra) {
    cli_error(comm, "import: unexpected argument '%s'", extra);
    return CLI_USAGE;
  }
  if (!in || !out) {
    cli_error(comm, "import: needs DATA.csv and OUT.h5 (see nvmm import --help)");
    return CLI_USAGE;
  }
  int rank;
  MPI_Comm_rank(comm, &rank);
  nvmm_import_report rep;
  memset(&rep, 0, sizeof rep);
  nvmm_status st = rank == 0 ? nvmm_import_csv_opts(in, out, dataset, &opt, &rep) : NVMM_OK;
  if (cli_failed(comm, st, "import"))
    return CLI_FAIL;
  if (rank == 0) {
    if (rep.delimiter_detected)
      printf("Detected the delimiter %s from the header line (--delimiter overrides)\n",
             rep.delimiter == '\t'  ? "tab"
             : rep.delimiter == ';' ? "';'"
                                    : "?");
    if (rep.decimal_detected)
      printf("Detected decimal commas (e.g. 0,5) from the first values\n");
    if (rep.skipped)
      printf("Skipped %lld non-numeric column%s: %s\n", (long long)rep.skipped,
             rep.skipped > 1 ? "s" : "", rep.skipped_names);
    if (opt.missing == NVMM_MISSING_DROP && rep.rows_dropped)
      printf("Dropped %lld row%s with a missing value (the first on line %lld)\n",
             (long long)rep.rows_dropped, rep.rows_dropped == 1 ? "" : "s",
             (long long)rep.first_dropped);
    else if (opt.missing == NVMM_MISSING_DROP)
      printf("Dropped 0 rows (no missing values)\n");
    printf("Wrote %lld rows x %lld columns to %s:%s\n", (long long)rep.rows, (long long)rep.columns,
           out, dataset);
  }
  return CLI_OK;
}

/* Parses a comma-separated list of exactly k numbers. */
static int parse_list(MPI_Comm comm, const char *flag, const char *v, double *out, size_t k) {
  const char *p = v;
  for (size_t i = 0; i < k; i++) {
    char *end;
    out[i] = strtod(p, &end);
    if (end == p || !isfinite(out[i]) || (i + 1 < k && *end != ',') || (i + 1 == k && *end)) {
      cli_error(comm, "%s needs %zu comma-separated numbers, got '%s'", flag, k, v);
      return -1;
    }
    p = end + 1;
  }
  return 0;
}

typedef struct sample_opts {
  cli_model_spec spec;
  char dataset[256];
  long long n, seed, block;
} sample_opts;

nvmm_status cli_model_load(MPI_Comm comm, const cli_model_spec *o, nvmm_model **m) {
  if (o->model)
    return nvmm_model_read(o->model, m);
  nvmm_family fam;
  NVMM_CALL(nvmm_family_parse(o->family, &fam));
  size_t d = (size_t)o->d;
  double *buf = calloc(2 * d + d * d, sizeof *buf), par[3] = {0, 0, 0};
  NVMM_CHECK(buf, NVMM_ENOMEM, "out of memory");
  double *mu = buf, *gamma = buf + d, *sigma = buf + 2 * d;
  for (size_t i = 0; i < d; i++)
    sigma[i * d + i] = 1.0;
  const nvmm_family_info *fi = nvmm_family_get(fam);
  int bad = 0;
  bad |= o->mu && parse_list(comm, "--mu", o->mu, mu, d);
  bad |= o->gamma && parse_list(comm, "--gamma", o->gamma, gamma, d);
  bad |= o->sigma && parse_list(comm, "--sigma", o->sigma, sigma, d * d);
  bad |= fi->nsub > 0 &&
         (!o->sub || parse_list(comm, "--sub", o->sub ? o->sub : "", par, (size_t)fi->nsub));
  nvmm_sub sub = {fi->sub_kind, {0, 0, 0}};
  nvmm_status st =
      bad ? NVMM_RAISE(NVMM_EINVAL, "invalid model parameters (see nvmm sample --help)") : NVMM_OK;
  if (st == NVMM_OK)
    st = nvmm_sub_make(fi->sub_kind, par, &sub);
  if (st == NVMM_OK)
    st = nvmm_model_alloc(fam, d, m);
  if (st == NVMM_OK)
    st = nvmm_model_set(*m, mu, gamma, sigma, &sub);
  free(buf);
  return st;
}

int cli_sample(MPI_Comm comm, int argc, char **argv) {
  static const char help[] =
      "Usage: mpirun -n P nvmm sample (--model M.h5 | --family F --d D [--mu V] [--gamma V]\n"
      "                               [--sigma M] --sub V) --n N --out DATA.h5[:/X]\n"
      "                               [--seed S] [--block ROWS]\n"
      "\n"
      "Draws N rows from a model (a model file, or a family with parameters given as comma-\n"
      "separated lists: --mu and --gamma d numbers, --sigma d*d numbers row by row, --sub the\n"
      "subordinator: nig mu_ig,lambda; vg and ninvg alpha,beta; gh p,a,b; hyp (d+1)/2,a,b).\n"
      "Each rank writes its own rows; block k of ROWS rows (default 4096) uses random stream k\n"
      "of the seed, so the file does not depend on P. Defaults: mu 0, gamma 0, sigma I, seed 1.\n";
  enum { CLI_MODEL_SPEC_ENUM, O_N, O_OUT, O_SEED, O_BLOCK };
  static const cli_opt opts[] = {
      {"model", "M.h5", "the model to sample (or --family with parameters)", 0},
      {"family", "F", "gh|hyp|nig|vg|ninvg|gauss, with --d and the parameters below", 0},
      {"d", "D", "dimension", 0},
      {"mu", "V", "d numbers (default 0)", 0},
      {"gamma", "V", "d numbers (default 0)", 0},
      {"sigma", "M", "d*d numbers, row by row (default the identity)", 0},
      {"sub", "V", "the subordinator's parameters", 0},
      {"n", "N", "rows to draw", 0},
      {"out", "DATA.h5[:/X]", "where the rows go", 0},
      {"seed", "S", "random seed (default 1)", 0},
      {"block", "ROWS", "rows per random stream (default 4096)", 0},
      {0}};
  cli_args a;
  int rc0 = cli_args_parse(comm, "sample", opts, argc, argv, &a);
  if (rc0 != CLI_OK)
    return rc0;
  if (cli_help_wanted(comm, &a, help, opts)) {
    cli_args_free(&a);
    return CLI_OK;
  }
  sample_opts o = {0};
  o.seed = 1;
  o.block = 4096;
  const char *outspec = NULL;
  int bad = a.npos > 0;
  if (bad)
    cli_error(comm, "sample: unexpected argument '%s'", a.pos[0]);
  for (int k = 0; k < a.n && !bad; k++) {
    const char *v = a.value[k], *flag = opts[a.which[k]].name;
    char f[16];
    snprintf(f, sizeof f, "--%s", flag);
    switch (a.which[k]) {
    case O_MODEL:
      o.spec.model = v;
      break;
    case O_FAMILY:
      o.spec.family = v;
      break;
    case O_MU:
      o.spec.mu = v;
      break;
    case O_GAMMA:
      o.spec.gamma = v;
      break;
    case O_SIGMA:
      o.spec.sigma = v;
      break;
    case O_SUB:
      o.spec.sub = v;
      break;
    case O_OUT:
      outspec = v;
      break;
    case O_N:
      bad = cli_parse_count(comm, f, v, 1, &o.n);
      break;
    case O_D:
      bad = cli_parse_count(comm, f, v, 1, &o.spec.d);
      break;
    case O_SEED:
      bad = cli_parse_count(comm, f, v, 0, &o.seed);
      break;
    default:
      bad = cli_parse_count(comm, f, v, 1, &o.block);
    }
  }
  cli_args_free(&a);
  if (bad)
    return CLI_USAGE;
  if (!outspec || !o.n || (!o.spec.model == !o.spec.family) || (o.spec.family && !o.spec.d)) {
    cli_error(comm, "sample: needs --out, --n and either --model or --family with --d");
    return CLI_USAGE;
  }
  char out[CLI_PATH_MAX];
  cli_split_path(outspec, "/X", out, sizeof out, o.dataset, sizeof o.dataset);
  if (cli_check_writable(comm, out))
    return CLI_FAIL;
  nvmm_model *m = NULL;
  nvmm_status st = cli_model_load(comm, &o.spec, &m);
  if (cli_failed(comm, st, "sample")) {
    nvmm_model_free(&m);
    return CLI_FAIL;
  }
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int64_t first, nloc;
  nvmm_fit_shard(o.n, o.block, rank, size, &first, &nloc);
  size_t d = m->d, bs = (size_t)o.block;
  double *x = malloc((size_t)(nloc > 0 ? nloc : 1) * d * sizeof *x);
  gsl_rng *rng = NULL;
  st = x ? nvmm_rng_stream((uint64_t)o.seed, 0, &rng)
         : NVMM_RAISE(NVMM_ENOMEM, "out of memory for this rank's %lld rows", (long long)nloc);
  for (int64_t r = 0; st == NVMM_OK && r < nloc; r += (int64_t)bs) {
    size_t rows = (size_t)(nloc - r < (int64_t)bs ? nloc - r : (int64_t)bs);
    nvmm_rng_reseed(rng, (uint64_t)o.seed, (uint64_t)((first + r) / o.block));
    st = nvmm_model_sample(m, rng, rows, x + (size_t)r * d, NULL);
  }
  nvmm_data_writer *w = NULL;
  int rc = CLI_OK;
  if (cli_failed(comm, st, "sample")) {
    rc = CLI_FAIL;
  } else {
    st = nvmm_data_writer_create(comm, out, o.dataset, o.n, (int64_t)d, &w);
    if (st == NVMM_OK)
      st = nvmm_data_writer_write(w, first, nloc, x);
    nvmm_status cs = nvmm_data_writer_close(&w, st == NVMM_OK);
    if (st == NVMM_OK)
      st = cs;
    if (cli_failed(comm, st, "sample"))
      rc = CLI_FAIL;
  }
  if (rc == CLI_OK && rank == 0)
    printf("Wrote %lld rows x %zu columns of a %s sample to %s:%s (seed %lld)\n", o.n, d,
           nvmm_family_name(m->family), out, o.dataset, o.seed);
  if (rng)
    gsl_rng_free(rng);
  free(x);
  nvmm_model_free(&m);
  return rc;
}

int cli_score(MPI_Comm comm, int argc, char **argv) {
  static const char help[] =
      "Usage: mpirun -n P nvmm score --model M.h5 --data D.h5[:/X] [--out LOGPDF.h5[:/logpdf]]\n"
      "       mpirun -n P nvmm score MODEL (--marginal J | --weights W.csv | --equal)\n"
      "                  [--cdf --data D.h5[:/X] --out CDF.h5[:/cdf]] [--at X1,X2,...]\n"
      "                  [--quantile P1,P2,...] [--logpdf-at X1,X2,...] [--json]\n"
      "\n"
      "Prints the mean and total log-likelihood of the data under the model (exact sums: the\n"
      "same bits on any P); --out writes the per-row log-densities as an n x 1 dataset.\n"
      "\n"
      "With --marginal J (a 0-based column index, or the column's name in the data's \"columns\"\n"
      "attribute), --weights or --equal, works on the univariate law of R = w'X instead\n"
      "(src/numerics.md 9.4): w = e_J, the weights of W.csv (one per line or one comma-separated\n"
      "line, optionally after a header line of names; exactly d of them), or 1/d each. --cdf\n"
      "writes P(R <= w'x) of every data row as an n x 1 dataset (default /cdf); --at, --quantile\n"
      "and --logpdf-at print the CDF, the quantiles and the log-density at the given points, one\n"
      "\"cdf X P\", \"quantile P X\" or \"logpdf X LOGPDF\" line each after a \"#\" line naming\n"
      "the law (--json: one JSON object). MODEL is --model M.h5, or a family with parameters as\n"
      "nvmm sample takes them (--family F --d D [--mu V] [--gamma V] [--sigma M] --sub V).\n"
      "Accuracy: CDF relative 1e-10 on min(P, 1 - P), quantiles relative 1e-10 in P.\n";
  enum {
    CLI_MODEL_SPEC_ENUM,
    O_DATA,
    O_OUT,
    O_MARGINAL,
    O_WEIGHTS,
    O_EQUAL,
    O_CDF,
    O_AT,
    O_QUANTILE,
    O_LOGPDF_AT,
    O_JSON,
    O_COUNT
  };
  static const cli_opt opts[] = {
      CLI_MODEL_SPEC_OPTS,
      {"data", "D.h5[:/X]", "the data (a comma-separated list too)", 0},
      {"out", "F.h5[:/D]", "per-row log-densities (default /logpdf), or CDFs with --cdf (/cdf)", 0},
      {"marginal", "J", "the margin of column J (index from 0, or name)", 0},
      {"weights", "W.csv", "the portfolio w'X of these d weights", 0},
      {"equal", NULL, "the portfolio of weights 1/d", 0},
      {"cdf", NULL, "write the CDF of each data row's w'x (needs --data, --out)", 0},
      {"at", "X1,...", "print the CDF at these points", 0},
      {"quantile", "P1,...", "print the quantiles at these probabilities", 0},
      {"logpdf-at", "X1,...", "print the log-density at these points", 0},
      {"json", NULL, "print one JSON object (marginal mode)", 0},
      {0}};
  const char *vals[O_COUNT] = {NULL};
  int seen[O_COUNT] = {0}, helped = 0;
  int rc0 = cli_args_table(comm, "score", opts, argc, argv, help, vals, seen, &helped);
  if (rc0 != CLI_OK || helped)
    return rc0;
  long long dim = 0;
  if (vals[O_D] && cli_parse_count(comm, "--d", vals[O_D], 1, &dim))
    return CLI_USAGE;
  cli_model_spec spec = CLI_MODEL_SPEC_OF(vals, dim);
  int marginal = 0;
  for (int k = O_MARGINAL; k <= O_JSON; k++)
    marginal |= seen[k];
  if (marginal || spec.family) {
    cli_score_law o = {
        spec,        vals[O_DATA], vals[O_OUT], vals[O_MARGINAL], vals[O_WEIGHTS],  seen[O_EQUAL],
        seen[O_CDF], seen[O_JSON], vals[O_AT],  vals[O_QUANTILE], vals[O_LOGPDF_AT]};
    return cli_score_marginal(comm, &o);
  }
  const char *model = vals[O_MODEL], *dataspec = vals[O_DATA], *outspec = vals[O_OUT];
  if (!model || !dataspec) {
    cli_error(comm, "score: needs --model and --data (see nvmm score --help)");
    return CLI_USAGE;
  }
  char out[CLI_PATH_MAX], odset[256];
  if (outspec) {
    cli_split_path(outspec, "/logpdf", out, sizeof out, odset, sizeof odset);
    if (cli_check_writable(comm, out))
      return CLI_FAIL;
  }
  nvmm_model *m = NULL;
  nvmm_data *data = NULL;
  nvmm_status st = nvmm_model_read(model, &m);
  if (cli_failed(comm, st, "score")) {
    nvmm_model_free(&m);
    return CLI_FAIL;
  }
  st = cli_open_data(comm, dataspec, &data);
  if (cli_failed(comm, st, "score")) {
    nvmm_model_free(&m);
    return CLI_FAIL;
  }
  int64_t n, d, first, nloc, bad_row;
  nvmm_data_dims(data, &n, &d);
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  nvmm_fit_shard(n, 4096, rank, size, &first, &nloc);
  double *x = malloc((size_t)(nloc > 0 ? nloc : 1) * (size_t)d * sizeof *x);
  double *lf = malloc((size_t)(nloc > 0 ? nloc : 1) * sizeof *lf);
  /* A factor model's log-density by Woodbury in O(d r) per row, never reading sigma or chol
   * (src/numerics.md 3.4). */
  size_t nscratch = m->factor ? nvmm_factor_scratch_len(m->d, m->factor->r) : 2 * (size_t)d;
  double *scratch = malloc((nscratch > 0 ? nscratch : 1) * sizeof *scratch);
  st = x && lf && scratch ? NVMM_OK : NVMM_ENOMEM;
  if ((size_t)d != m->d)
    st = NVMM_RAISE(NVMM_EINVAL, "%s has %lld columns but the model has d = %zu", dataspec,
                    (long long)d, m->d);
  int rc = CLI_FAIL;
  if (!cli_failed(comm, st, "score") &&
      !cli_failed(comm, nvmm_data_read(data, first, nloc, x, &bad_row), "score")) {
    st = m->factor ? nvmm_factor_logpdf(m, m->factor, (size_t)nloc, x, lf, scratch)
                   : nvmm_model_logpdf(m, (size_t)nloc, x, lf, scratch);
    int64_t acc[NVMM_XSUM_LIMBS] = {0};
    for (int64_t i = 0; st == NVMM_OK && i < nloc; i++)
      nvmm_xsum_add(acc, lf[i]);
    nvmm_xsum_normalize(acc);
    MPI_Allreduce(MPI_IN_PLACE, acc, NVMM_XSUM_LIMBS, MPI_INT64_T, MPI_SUM, comm);
    double total = nvmm_xsum_value(acc);
    if (!cli_failed(comm, st, "score")) {
      rc = CLI_OK;
      if (outspec) {
        nvmm_data_writer *w = NULL;
        st = nvmm_data_writer_create(comm, out, odset, n, 1, &w);
        if (st == NVMM_OK)
          st = nvmm_data_writer_write(w, first, nloc, lf);
        nvmm_status cs = nvmm_data_writer_close(&w, st == NVMM_OK);
        rc = cli_failed(comm, st == NVMM_OK ? cs : st, "score") ? CLI_FAIL : CLI_OK;
      }
      if (rc == CLI_OK && rank == 0)
        printf("mean log-likelihood %.17g (total %.17g, n = %lld, %s)\n", total / (double)n, total,
               (long long)n, nvmm_family_name(m->family));
    }
  }
  nvmm_data_close(&data);
  nvmm_model_free(&m);
  free(x);
  free(lf);
  free(scratch);
  return rc;
}
