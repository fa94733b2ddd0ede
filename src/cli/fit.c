/* fit.c: `nvmm fit`: configuration, sharded data read, the EM loop with normix-style progress on
 * rank 0, the model file and the JSON summary. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void fit_usage(FILE *out) {
  fputs("Usage: mpirun -n P nvmm fit [CONFIG.ini] [options]\n"
        "\n"
        "Fits a normal variance-mean mixture to an HDF5 data set by batch EM over P ranks.\n"
        "Every option is also a config key (INI, at the top or under [fit]; key = value);\n"
        "an option on the command line wins over the config file.\n"
        "\n"
        "Options:\n",
        out);
  cli_fit_keys_help(out);
  fputs("  -h, --help        show this help\n", out);
}

/* Where progress goes: stdout, or stderr when stdout carries the JSON summary. */
static FILE *rep;

static const char *status_word(nvmm_fit_reason r) {
  return r == NVMM_FIT_CONVERGED  ? "Converged"
         : r == NVMM_FIT_DIVERGED ? "Diverged (non-finite iterate; kept last finite model)"
                                  : "NOT converged";
}

static const char *family_title(nvmm_family f) {
  static const char *t[NVMM_FAMILY_COUNT] = {"Gaussian", "VarianceGamma", "NormalInverseGamma",
                                             "NormalInverseGaussian", "GeneralizedHyperbolic"};
  return t[f];
}

static void rule(char c) {
  for (int i = 0; i < 60; i++)
    fputc(c, rep);
  fputc('\n', rep);
}

static void banner(const cli_fit_config *c, int64_t n, int64_t d, int ranks) {
  fputc('\n', rep);
  rule('=');
  fprintf(rep, "  %s Fitting: %s\n", c->o.algorithm == NVMM_ALG_MCECM ? "MCECM" : "EM",
          family_title(c->o.family));
  rule('=');
  fprintf(rep, "  Data         : %s:%s (n = %lld, d = %lld)\n", c->data, c->dataset, (long long)n,
          (long long)d);
  fprintf(rep, "  Ranks        : %d\n", ranks);
  fprintf(rep, "  Algorithm    : %s\n", c->o.algorithm == NVMM_ALG_MCECM ? "MCECM" : "EM");
  fprintf(rep, "  Regularize   : %s\n", nvmm_regularization_name(c->o.regularization));
  fprintf(rep, "  Tolerance    : %.1e\n", c->o.tol);
  fprintf(rep, "  Max iters    : %d\n", c->o.max_iter);
  if (c->verbose >= 2) {
    rule('-');
    fprintf(rep, "  Iter    Log-Lik       \xce\x94LL        |\xce\x94params|   Time\n");
    rule('-');
  }
  fflush(rep);
}

/* Prints history row i (0-based) once its log-likelihood is known. */
static void row(const nvmm_fit *f, size_t i, double ll_init) {
  size_t len;
  const double *ll, *ch, *el, *cn;
  nvmm_fit_history(f, &len, &ll, &ch, &el, &cn);
  double prev = i ? ll[i - 1] : ll_init, dt = el[i] - (i ? el[i - 1] : 0.0);
  fprintf(rep, "  %4zu  %.6f  ", i + 1, ll[i]);
  if (isfinite(prev))
    fprintf(rep, "%+.4e", ll[i] - prev);
  else
    fprintf(rep, "    ---    ");
  fprintf(rep, "  %.4e  %.3fs\n", ch[i], dt);
  fflush(rep);
}

/* JSON has no NaN or infinity: a non-finite value (a diverged change) is written as null. */
static json_t *jreal(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *vec(const double *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, jreal(v[i]));
  return a;
}

static void print_json(const cli_fit_config *c, const nvmm_model *m, const nvmm_fit_summary *s) {
  size_t d = m->d;
  json_t *o = json_object();
  json_object_set_new(o, "family", json_string(nvmm_family_name(m->family)));
  json_object_set_new(o, "n", json_integer(s->n));
  json_object_set_new(o, "d", json_integer((json_int_t)d));
  json_object_set_new(o, "ranks", json_integer(s->ranks));
  json_object_set_new(o, "iterations", json_integer(s->iterations));
  json_object_set_new(o, "converged", json_boolean(s->reason == NVMM_FIT_CONVERGED));
  json_object_set_new(o, "reason", json_string(nvmm_fit_reason_name(s->reason)));
  json_object_set_new(o, "loglik_mean", jreal(s->loglik));
  json_object_set_new(o, "loglik_total", jreal(s->loglik * (double)s->n));
  json_object_set_new(o, "loglik_init", jreal(s->loglik_init));
  json_object_set_new(o, "param_change", jreal(s->change));
  json_object_set_new(o, "elapsed_s", jreal(s->elapsed));
  json_object_set_new(o, "regularization",
                      json_string(nvmm_regularization_name(c->o.regularization)));
  json_object_set_new(o, "algorithm", json_string(c->o.algorithm ? "mcecm" : "em"));
  json_object_set_new(o, "tol", jreal(c->o.tol));
  json_object_set_new(o, "mu", vec(m->mu, d));
  json_object_set_new(o, "gamma", vec(m->gamma, d));
  json_t *sig = json_array();
  for (size_t i = 0; i < d; i++)
    json_array_append_new(sig, vec(m->sigma + i * d, d));
  json_object_set_new(o, "sigma", sig);
  json_t *sub = json_object();
  static const char *names[5][3] = {
      {0}, {"alpha", "beta", 0}, {"alpha", "beta", 0}, {"mu_ig", "lambda", 0}, {"p", "a", "b"}};
  if (m->family != NVMM_FAMILY_GAUSS) {
    double p, a, b;
    for (int k = 0; k < 3 && names[m->family][k]; k++)
      json_object_set_new(sub, names[m->family][k], jreal(m->sub.par[k]));
    if (nvmm_sub_to_gig(&m->sub, &p, &a, &b) == NVMM_OK) {
      json_object_set_new(sub, "gig_p", jreal(p));
      json_object_set_new(sub, "gig_a", jreal(a));
      json_object_set_new(sub, "gig_b", jreal(b));
    }
  }
  json_object_set_new(o, "subordinator", sub);
  json_t *fb = json_object();
  for (int k = 0; k < NVMM_NCOUNTERS; k++)
    json_object_set_new(fb, nvmm_counter_name(k), json_integer((json_int_t)s->counters[k]));
  json_object_set_new(o, "fallbacks", fb);
  char *txt = json_dumps(o, JSON_REAL_PRECISION(17) | JSON_INDENT(2));
  if (txt)
    puts(txt);
  free(txt);
  json_decref(o);
}

static int parse_args(MPI_Comm comm, int argc, char **argv, cli_fit_config *cfg) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int i = 1;
  for (int k = 1; k < argc; k++)
    if (!strcmp(argv[k], "-h") || !strcmp(argv[k], "--help")) {
      if (rank == 0)
        fit_usage(stdout);
      return 1;
    }
  if (i < argc && strncmp(argv[i], "--", 2) != 0) {
    if (cli_config_read(comm, argv[i]))
      return -1;
    i++;
  }
  for (; i < argc; i++) {
    if (strncmp(argv[i], "--", 2) != 0) {
      cli_error(comm, "fit: unexpected argument '%s' (the config file goes first)", argv[i]);
      return -1;
    }
    if (!cli_config_is_flag(argv[i])) {
      cli_error(comm, "fit: unknown option '%s' (see nvmm fit --help)", argv[i]);
      return -1;
    }
    if (!strcmp(argv[i], "--json") && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))) {
      if (cli_config_flag(comm, argv[i], "1")) /* --json alone means --json 1 */
        return -1;
      continue;
    }
    if (i + 1 >= argc) {
      cli_error(comm, "fit: option '%s' needs a value", argv[i]);
      return -1;
    }
    if (cli_config_flag(comm, argv[i], argv[i + 1]))
      return -1;
    i++;
  }
  return cli_config_apply(comm, cfg);
}

/* Reads this rank's shard; returns its rows in *x (caller frees). */
static nvmm_status read_shard(MPI_Comm comm, const cli_fit_config *c, int64_t *n, int64_t *d,
                              int64_t *first, int64_t *nloc, double **x) {
  nvmm_data *data = NULL;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  *x = NULL;
  NVMM_CALL(nvmm_data_open(comm, c->data, c->dataset, &data));
  nvmm_data_dims(data, n, d);
  nvmm_fit_shard(*n, c->o.block_rows, rank, size, first, nloc);
  *x = malloc((size_t)(*nloc > 0 ? *nloc : 1) * (size_t)*d * sizeof **x);
  int64_t bad_row;
  nvmm_status st = *x ? NVMM_OK : NVMM_ENOMEM;
  int nomem = st != NVMM_OK, any;
  MPI_Allreduce(&nomem, &any, 1, MPI_INT, MPI_MAX, comm);
  if (any)
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_ENOMEM,
                    "cannot hold %lld rows of %s in memory", (long long)*nloc, c->data);
  else
    st = nvmm_data_read(data, *first, *nloc, *x, &bad_row);
  nvmm_data_close(&data);
  return st;
}

static nvmm_status write_model(const cli_fit_config *c, const nvmm_fit *f, const nvmm_model *m,
                               const nvmm_fit_summary *s) {
  size_t len;
  const double *ll, *ch, *el, *cn;
  nvmm_fit_history(f, &len, &ll, &ch, &el, &cn);
  const char *names[NVMM_NCOUNTERS];
  for (int k = 0; k < NVMM_NCOUNTERS; k++)
    names[k] = nvmm_counter_name(k);
  nvmm_history_view h = {len, ll, ch, el, cn, NVMM_NCOUNTERS, names};
  char cfgtxt[8192], datapath[CLI_PATH_MAX + 300];
  cli_config_text(cfgtxt, sizeof cfgtxt);
  snprintf(datapath, sizeof datapath, "%s:%s", c->data, c->dataset);
  nvmm_fit_meta meta = {
      nvmm_fit_reason_name(s->reason), s->iterations, s->n, s->ranks, s->loglik, cfgtxt, datapath};
  return nvmm_model_write(c->out, m, &h, &meta);
}

static int run_fit(MPI_Comm comm, cli_fit_config *c) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  rep = c->json ? stderr : stdout;
  if (cli_check_writable(comm, c->out))
    return CLI_FAIL;
  int64_t n = 0, d = 0, first = 0, nloc = 0;
  double *x = NULL;
  nvmm_status st = read_shard(comm, c, &n, &d, &first, &nloc, &x);
  if (cli_failed(comm, st, "fit")) {
    free(x);
    return CLI_FAIL;
  }
  if (c->alpha_min_density)
    c->o.alpha_min = 0.5 * (double)d + 0.1;
  nvmm_fit *f = NULL;
  nvmm_model *init = NULL, *m = NULL;
  st = nvmm_fit_create(comm, &c->o, n, d, first, nloc, x, &f);
  if (!cli_failed(comm, st, "fit")) {
    if (c->o.init == NVMM_INIT_MODEL) {
      st = nvmm_model_read(c->init_model, &init);
      if (!cli_failed(comm, st, "fit: reading the initial model"))
        st = nvmm_fit_set_model(f, init);
      else
        st = NVMM_EIO;
    } else {
      st = nvmm_fit_init(f);
    }
  }
  int ok = st == NVMM_OK && !cli_failed(comm, st, "fit: initialization");
  if (ok && rank == 0 && c->verbose >= 1)
    banner(c, n, d, size);
  nvmm_fit_summary s;
  while (ok && nvmm_fit_reason_get(f) == NVMM_FIT_ITERATING) {
    st = nvmm_fit_iterate(f);
    ok = !cli_failed(comm, st, "fit");
    nvmm_fit_summary_get(f, &s);
    if (ok && rank == 0 && c->verbose >= 2 && s.iterations >= 2)
      row(f, (size_t)s.iterations - 2, s.loglik_init);
  }
  if (ok)
    ok = !cli_failed(comm, nvmm_fit_run(f), "fit");
  if (ok)
    ok = !cli_failed(comm, nvmm_model_alloc(c->o.family, (size_t)d, &m), "fit");
  if (ok)
    ok = !cli_failed(comm, nvmm_fit_model(f, m), "fit");
  if (ok) {
    nvmm_fit_summary_get(f, &s);
    st = rank == 0 ? write_model(c, f, m, &s) : NVMM_OK;
    ok = !cli_failed(comm, st, "fit: writing the model");
  }
  if (ok && rank == 0) {
    if (c->verbose >= 2 && s.iterations >= 1)
      row(f, (size_t)s.iterations - 1, s.loglik_init);
    if (c->verbose >= 2) {
      rule('=');
      fprintf(rep, "  %s after %d iterations (%.2fs)\n", status_word(s.reason), s.iterations,
              s.elapsed);
      fprintf(rep, "  Final log-likelihood : %.6f\n", s.loglik);
      fprintf(rep, "  Final |\xce\x94params|      : %.4e\n", s.change);
      rule('=');
    } else if (c->verbose == 1) {
      fprintf(rep, "  %s after %d iterations (%.2fs), final LL=%.6f\n", status_word(s.reason),
              s.iterations, s.elapsed, s.loglik);
    }
    if (c->verbose >= 1) {
      double tot = 0;
      for (int k = 0; k < NVMM_NCOUNTERS; k++)
        tot += s.counters[k];
      if (tot > 0) {
        fprintf(rep, "  Floors/fallbacks :");
        for (int k = 0; k < NVMM_NCOUNTERS; k++)
          if (s.counters[k] > 0)
            fprintf(rep, " %s=%.0f", nvmm_counter_name(k), s.counters[k]);
        fputc('\n', rep);
      }
      fprintf(rep, "  Model written to %s\n", c->out);
    }
    if (c->json)
      print_json(c, m, &s);
    fflush(rep);
  }
  nvmm_model_free(&m);
  nvmm_model_free(&init);
  nvmm_fit_destroy(&f);
  free(x);
  return ok ? CLI_OK : CLI_FAIL;
}

int cli_fit(MPI_Comm comm, int argc, char **argv) {
  cli_fit_config cfg;
  int pr = parse_args(comm, argc, argv, &cfg);
  if (pr)
    return pr > 0 ? CLI_OK : CLI_USAGE;
  return run_fit(comm, &cfg);
}
