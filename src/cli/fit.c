/* fit.c: `nvmm fit`: configuration, sharded data read, the EM loop with progress rows on rank 0
 * in the style of normix (src/numerics.md 1.3), the model file and the JSON summary. */
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "nvmm/factor.h"

static void fit_usage(FILE *out) {
  fputs("Usage: mpirun -n P nvmm fit [CONFIG.ini] [options]\n"
        "\n"
        "Fits a normal variance-mean mixture to an HDF5 data set by batch EM over P ranks.\n"
        "Every option is also a config key (INI, at the top or under [fit]; key = value);\n"
        "an option on the command line wins over the config file.\n"
        "\n"
        "Options:\n",
        out);
  cli_opts_help(out, cli_fit_opts());
  fprintf(out,
          "\nExit status: 0 fitted (converged, max_iter or diverged: see the summary),\n"
          "1 failed, or the likelihood is unbounded (reason \"unbounded\": the fit concentrates\n"
          "on a repeated data point; the model file and summary are still written), 2 usage\n"
          "error, %d stopped by SIGTERM/SIGINT/SIGUSR1 after writing the checkpoint (run the\n"
          "same command, or nvmm fit --resume CKPT, to continue).\n",
          CLI_STOPPED);
}

/* Where progress goes: stdout, or stderr when stdout carries the JSON summary. */
static FILE *rep;

static const char *status_word(nvmm_fit_reason r) {
  return r > 0                     ? "Converged"
         : r == NVMM_FIT_STOPPED   ? "Stopped"
         : r == NVMM_FIT_DIVERGED  ? "Diverged (non-finite iterate; kept last finite model)"
         : r == NVMM_FIT_EPOCHS    ? "Incremental epochs done (finish = none: not the MLE)"
         : r == NVMM_FIT_UNBOUNDED ? "NOT converged: the likelihood is unbounded"
                                   : "NOT converged";
}

static const char *family_title(nvmm_family f) { return nvmm_family_get(f)->title; }

/* A rule of 60 c, in one write (rep may be the unbuffered stderr). */
static void rule(char c) {
  char line[62];
  memset(line, c, 60);
  line[60] = '\n';
  line[61] = '\0';
  fputs(line, rep);
}

static void banner(const cli_fit_config *c, int64_t n, int64_t d, int ranks) {
  fputc('\n', rep);
  rule('=');
  int inc = c->o.algorithm == NVMM_ALG_INCREMENTAL;
  fprintf(rep, "  %s Fitting: %s%s\n",
          c->o.algorithm == NVMM_ALG_MCECM ? "MCECM"
          : inc                            ? "Incremental EM"
                                           : "EM",
          c->o.symmetric ? "symmetric " : "", family_title(c->o.family));
  rule('=');
  fprintf(rep, "  Data         : %s:%s (n = %lld, d = %lld)\n", c->data, c->dataset, (long long)n,
          (long long)d);
  fprintf(rep, "  Ranks        : %d\n", ranks);
  if (inc) {
    const nvmm_eta_rule *r = &c->o.eta_rule;
    char rule[128];
    snprintf(rule, sizeof rule, "%s", nvmm_eta_rule_name(r->kind));
    if (r->kind == NVMM_ETA_ROBBINS_MONRO)
      snprintf(rule, sizeof rule, "robbins_monro (tau0 %g, kappa %g)", r->tau0, r->kappa);
    else if (r->kind == NVMM_ETA_EWMA)
      snprintf(rule, sizeof rule, "ewma (w %g)", r->w);
    else if (r->kind == NVMM_ETA_AFFINE)
      snprintf(rule, sizeof rule, "affine (b %g, c %g)", r->b, r->c);
    fprintf(rep, "  Mini-batches : %lld rows, %g epoch%s, seed %llu\n", (long long)c->o.batch_rows,
            c->o.epochs, c->o.epochs == 1.0 ? "" : "s", (unsigned long long)c->o.seed);
    fprintf(rep, "  eta update   : %s%s\n", rule, c->o.average ? ", tail-averaged" : "");
  }
  if (!inc || c->o.finish)
    fprintf(rep, "  Algorithm    : %s%s%s\n", inc ? "mini-batches, then " : "",
            c->o.algorithm == NVMM_ALG_MCECM ? "MCECM" : "EM",
            c->o.accel == NVMM_ACCEL_SQUAREM && nvmm_family_get(c->o.family)->nsub > 0 &&
                    c->o.factors == 0
                ? " + SQUAREM"
                : "");
  if (c->o.factors > 0)
    fprintf(rep, "  Dispersion   : factor model, %lld factors (Sigma = F F^T + diag(D))\n",
            (long long)c->o.factors);
  if (c->o.shrink != NVMM_SHRINK_NONE) {
    char shr[CLI_PATH_MAX + 32];
    cli_shrink_text(c, shr, sizeof shr);
    fprintf(rep, "  Shrinkage    : %s, tau %g (gauge: the penalty's)\n", shr, c->o.shrink_tau);
  } else {
    fprintf(rep, "  Regularize   : %s\n", nvmm_regularization_name(c->o.regularization));
  }
  if (c->o.stop == NVMM_STOP_MLE)
    fprintf(rep, "  Stop         : mle (LL to gain < %.1e nats, change < %.1e)\n", c->o.tol_ll,
            c->o.tol);
  else
    fprintf(rep, "  Stop         : params (change < %.1e)\n", c->o.tol);
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
  /* One write per row: rep may be the unbuffered stderr, and each write is a system call inside
   * the timed fit. */
  char dll[16] = "    ---    ", line[128];
  if (isfinite(prev))
    snprintf(dll, sizeof dll, "%+.4e", ll[i] - prev);
  snprintf(line, sizeof line, "  %4zu  %.6f  %s  %.4e  %.3fs\n", i + 1, ll[i], dll, ch[i], dt);
  fputs(line, rep);
  fflush(rep);
}

/* The standard errors as JSON (src/numerics.md 14): method, gauge, mu, gamma (unless symmetric),
 * sigma and each estimated subordinator parameter under its name. */
static json_t *stderr_json(const nvmm_stderr *se) {
  size_t d = se->d;
  json_t *o = json_object();
  json_object_set_new(o, "method", json_string(se->method));
  json_object_set_new(o, "gauge", json_string(se->gauge_name));
  json_object_set_new(o, "mu", cli_json_vec(se->mu, d));
  if (se->gamma)
    json_object_set_new(o, "gamma", cli_json_vec(se->gamma, d));
  json_t *sig = json_array();
  for (size_t i = 0; i < d; i++)
    json_array_append_new(sig, cli_json_vec(se->sigma + i * d, d));
  json_object_set_new(o, "sigma", sig);
  const nvmm_family_info *fi = nvmm_family_get(se->family);
  for (int k = 0; k < fi->nsub; k++)
    if (nvmm_score_sub_free(se->family, k))
      json_object_set_new(o, fi->sub_par[k], cli_json_real(se->sub[k]));
  return o;
}

static void print_json(const cli_fit_config *c, const nvmm_model *m, const nvmm_fit_summary *s,
                       const nvmm_stderr *se) {
  size_t d = m->d;
  json_t *o = json_object();
  json_object_set_new(o, "family", json_string(nvmm_family_name(m->family)));
  json_object_set_new(o, "n", json_integer(s->n));
  json_object_set_new(o, "d", json_integer((json_int_t)d));
  json_object_set_new(o, "ranks", json_integer(s->ranks));
  json_object_set_new(o, "iterations", json_integer(s->iterations));
  /* Whole passes as an integer; incremental EM's mini-batches add fractions of one. */
  json_object_set_new(o, "passes",
                      s->data_passes == floor(s->data_passes)
                          ? json_integer((json_int_t)s->data_passes)
                          : cli_json_real(s->data_passes));
  json_object_set_new(o, "converged", json_boolean(s->reason > 0));
  json_object_set_new(o, "reason", json_string(nvmm_fit_reason_name(s->reason)));
  if (s->reason == NVMM_FIT_UNBOUNDED) {
    /* The repeated point (the fitted mu sits on it) and its rows (src/numerics.md 8.6). */
    json_t *u = json_object();
    json_object_set_new(u, "value", cli_json_vec(m->mu, d));
    json_object_set_new(u, "rows", json_integer((json_int_t)s->unbounded_rows));
    json_object_set_new(o, "unbounded", u);
  }
  json_object_set_new(o, "loglik_mean", cli_json_real(s->loglik));
  json_object_set_new(o, "loglik_total", cli_json_real(s->loglik * (double)s->n));
  json_object_set_new(o, "loglik_init", cli_json_real(s->loglik_init));
  json_object_set_new(o, "param_change", cli_json_real(s->change));
  json_object_set_new(o, "elapsed_s", cli_json_real(s->elapsed));
  if (c->verbose >= 2) {
    /* Rank 0's time split (verbose 2 only: it varies run to run, unlike everything else). */
    json_t *tm = json_object();
    json_object_set_new(tm, "estep_s", cli_json_real(s->t_estep));
    json_object_set_new(tm, "reduce_s", cli_json_real(s->t_reduce));
    json_object_set_new(tm, "mstep_s", cli_json_real(s->t_mstep));
    json_object_set_new(tm, "moments_s", cli_json_real(s->t_moments));
    json_object_set_new(tm, "total_s", cli_json_real(s->t_total));
    json_object_set_new(tm, "reduce_bytes", json_integer((json_int_t)s->reduce_bytes));
    json_object_set_new(o, "timing", tm);
  }
  json_object_set_new(o, "regularization",
                      json_string(nvmm_regularization_name(c->o.regularization)));
  /* The gauge the result is in: the requested one, or det_sigma_one where a = b gave way. */
  json_object_set_new(o, "gauge",
                      json_string(c->o.shrink != NVMM_SHRINK_NONE ? "penalty"
                                  : s->counters[NVMM_CNT_GAUGE_SWITCH] > 0
                                      ? "det_sigma_one"
                                      : nvmm_regularization_name(c->o.regularization)));
  if (c->o.shrink != NVMM_SHRINK_NONE) {
    /* The fit maximizes loglik + penalty (per row; src/numerics.md 13.2). */
    char shr[CLI_PATH_MAX + 32];
    cli_shrink_text(c, shr, sizeof shr);
    json_t *sh = json_object();
    json_object_set_new(sh, "target", json_string(shr));
    json_object_set_new(sh, "tau", cli_json_real(c->o.shrink_tau));
    json_object_set_new(sh, "penalty", cli_json_real(s->penalty));
    json_object_set_new(sh, "penalty_init", cli_json_real(s->penalty_init));
    json_object_set_new(sh, "objective", cli_json_real(s->loglik + s->penalty));
    json_object_set_new(sh, "prior_floors", json_integer(s->shrink_prior_floors));
    json_object_set_new(o, "shrinkage", sh);
  }
  json_object_set_new(o, "algorithm", json_string(cli_algorithm_names[c->o.algorithm]));
  json_object_set_new(o, "symmetric", json_boolean(c->o.symmetric));
  if (c->o.algorithm == NVMM_ALG_INCREMENTAL) {
    char rule[128];
    cli_eta_rule_text(&c->o.eta_rule, rule, sizeof rule);
    json_t *inc = json_object();
    json_object_set_new(inc, "steps", json_integer(s->steps));
    json_object_set_new(inc, "batch_rows", json_integer(c->o.batch_rows));
    json_object_set_new(inc, "epochs", cli_json_real(c->o.epochs));
    json_object_set_new(inc, "eta_update", json_string(rule));
    json_object_set_new(inc, "average", json_string(c->o.average ? "tail" : "none"));
    json_object_set_new(inc, "seed", json_integer((json_int_t)c->o.seed));
    json_object_set_new(inc, "finish", json_string(c->o.finish ? "batch" : "none"));
    json_object_set_new(inc, "eval_every", json_integer(c->o.eval_every));
    json_object_set_new(inc, "prior_floors", json_integer(s->inc_prior_floors));
    json_object_set_new(o, "incremental", inc);
  }
  json_object_set_new(o, "init", json_string(cli_init_name(c)));
  json_object_set_new(o, "stop", json_string(c->o.stop == NVMM_STOP_MLE ? "mle" : "params"));
  json_object_set_new(o, "accel",
                      json_string(c->o.accel == NVMM_ACCEL_SQUAREM ? "squarem" : "none"));
  json_object_set_new(o, "tol", cli_json_real(c->o.tol));
  json_object_set_new(o, "tol_ll", cli_json_real(c->o.tol_ll));
  json_object_set_new(o, "mu", cli_json_vec(m->mu, d));
  json_object_set_new(o, "gamma", cli_json_vec(m->gamma, d));
  if (m->sigma) { /* a factor-only result has F and D alone */
    json_t *sig = json_array();
    for (size_t i = 0; i < d; i++)
      json_array_append_new(sig, cli_json_vec(m->sigma + i * d, d));
    json_object_set_new(o, "sigma", sig);
  }
  if (m->factor) { /* only here: a dense fit's JSON stays as it was */
    size_t r = m->factor->r;
    json_t *fr = json_array();
    for (size_t i = 0; i < d; i++)
      json_array_append_new(fr, cli_json_vec(m->factor->f + i * r, r));
    json_object_set_new(o, "factors", json_integer((json_int_t)r));
    json_object_set_new(o, "F", fr);
    json_object_set_new(o, "D", cli_json_vec(m->factor->dd, d));
  }
  json_object_set_new(o, "subordinator", cli_json_sub(m));
  if (se)
    json_object_set_new(o, "stderr", stderr_json(se));
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

/* The configuration in layers, each over the one before: a resumed checkpoint's stored
 * configuration, then the config file, then the options in the order given. Returns 1 when help
 * was printed, -1 on an error (reported), 0 to fit. */
static int parse_args(MPI_Comm comm, int argc, char **argv, cli_fit_config *cfg) {
  const cli_opt *opts = cli_fit_opts();
  cli_args a;
  int prc = cli_args_parse(comm, "fit", opts, argc, argv, &a);
  if (prc != CLI_OK)
    return prc == CLI_FAIL ? -2 : -1; /* -2: out of memory, exit 1 */
  int rank, rc = 0;
  MPI_Comm_rank(comm, &rank);
  if (a.help) {
    if (rank == 0)
      fit_usage(stdout);
    cli_args_free(&a);
    return 1;
  }
  if (a.npos > 1) {
    cli_error(comm, "fit: unexpected argument '%s' (one config file at most)", a.pos[1]);
    rc = -1;
  }
  for (int k = 0; k < a.n && rc == 0; k++)
    if (!strcmp(opts[a.which[k]].name, "resume")) {
      static char text[16384];
      nvmm_fit_state st;
      if (cli_failed(comm, nvmm_checkpoint_read(a.value[k], &st, text, sizeof text),
                     "fit --resume"))
        rc = -1;
      else {
        nvmm_fit_state_free(&st);
        rc = cli_config_read_text(comm, text, a.value[k]);
      }
    }
  if (rc == 0 && a.npos == 1)
    rc = cli_config_read(comm, a.pos[0]);
  for (int k = 0; k < a.n && rc == 0; k++)
    rc = cli_config_set_opt(comm, a.which[k], a.value[k]);
  cli_args_free(&a);
  return rc ? -1 : cli_config_apply(comm, cfg);
}

/* Opens the data and either reads this rank's shard into *x, or, when the shard is larger than
 * memory_limit (on any rank), leaves *x NULL and *data open for streaming (cli.h). */
nvmm_status cli_open_shard(MPI_Comm comm, const cli_fit_config *c, int64_t *n, int64_t *d,
                           int64_t *first, int64_t *nloc, double **x, nvmm_data **data) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  *x = NULL;
  *data = NULL;
  /* cli_config_apply cut the data spec at its last ":/"; joined again, it is the spec as given
   * (one file or a comma-separated list; "FILE:/X" when no dataset was named). */
  char spec[sizeof c->data + sizeof c->dataset + 1];
  snprintf(spec, sizeof spec, "%s:%s", c->data, c->dataset);
  NVMM_CALL(cli_open_data(comm, spec, data));
  nvmm_data_dims(*data, n, d);
  nvmm_fit_shard(*n, c->o.block_rows, rank, size, first, nloc);
  int big = c->memory_limit > 0 && (double)*nloc * (double)*d * 8.0 > (double)c->memory_limit;
  int stream;
  MPI_Allreduce(&big, &stream, 1, MPI_INT, MPI_MAX, comm);
  if (stream)
    return NVMM_OK;
  *x = malloc((size_t)(*nloc > 0 ? *nloc : 1) * (size_t)*d * sizeof **x);
  int64_t bad_row;
  nvmm_status st = *x ? NVMM_OK : NVMM_ENOMEM;
  int nomem = st != NVMM_OK, any;
  MPI_Allreduce(&nomem, &any, 1, MPI_INT, MPI_MAX, comm);
  if (any)
    st = NVMM_RAISE(NVMM_ENOMEM,
                    "cannot hold %lld rows of %s in memory (set memory_limit to stream them)",
                    (long long)*nloc, c->data);
  else
    st = nvmm_data_read(*data, *first, *nloc, *x, &bad_row);
  nvmm_data_close(data);
  return st;
}

/* The fit's streaming reader: collective rows of the open data set. */
static nvmm_status read_rows(void *ctx, int64_t row0, int64_t nrows, double *buf) {
  int64_t bad_row;
  return nvmm_data_read(ctx, row0, nrows, buf, &bad_row);
}

/* The same for incremental EM's scattered mini-batch rows (independent reads). */
static nvmm_status read_ranges(void *ctx, size_t count, const int64_t *row0, const int64_t *nrows,
                               double *buf) {
  int64_t bad_row;
  return nvmm_data_read_ranges(ctx, count, row0, nrows, buf, &bad_row);
}

/* Writes the model file, or (path != NULL) a checkpoint with the fit's state (cli.h). */
nvmm_status cli_result_model_alloc(const nvmm_fit_options *o, int64_t d, nvmm_model **m) {
  return o->factors > 0 && d > NVMM_FACTOR_DENSE_MAX_D
             ? nvmm_model_alloc_factor(o->family, (size_t)d, (size_t)o->factors, m)
             : nvmm_model_alloc(o->family, (size_t)d, m);
}

nvmm_status cli_write_model(const cli_fit_config *c, const nvmm_fit *f, const nvmm_model *m,
                            const nvmm_fit_summary *s, const char *ckpt) {
  size_t len;
  const double *ll, *ch, *el, *cn;
  nvmm_fit_history(f, &len, &ll, &ch, &el, &cn);
  const char *names[NVMM_NCOUNTERS];
  for (int k = 0; k < NVMM_NCOUNTERS; k++)
    names[k] = nvmm_counter_name(k);
  nvmm_history_view h = {.len = len,
                         .loglik = ll,
                         .param_change = ch,
                         .elapsed = el,
                         .counters = cn,
                         .ncounters = NVMM_NCOUNTERS,
                         .counter_names = names};
  nvmm_fit_history_incremental(f, &h.inc_len, &h.inc_batch_ll, &h.inc_full_ll, &h.inc_change,
                               &h.inc_elapsed);
  h.penalty = nvmm_fit_history_penalty(f);
  char cfgtxt[16384], datapath[CLI_PATH_MAX + 300];
  size_t used = cli_config_text(c, cfgtxt, sizeof cfgtxt);
  NVMM_CHECK(used > 0 && used < sizeof cfgtxt, NVMM_ENOMEM,
             "cannot store the configuration (%zu bytes; at most %zu)", used, sizeof cfgtxt - 1);
  snprintf(datapath, sizeof datapath, "%s:%s", c->data, c->dataset);
  nvmm_fit_meta meta = {
      nvmm_fit_reason_name(s->reason), s->iterations, s->n, s->ranks, s->loglik, cfgtxt, datapath};
  if (!ckpt)
    return nvmm_model_write(c->out, m, &h, &meta);
  nvmm_fit_state state;
  nvmm_fit_state_get(f, &state);
  return nvmm_checkpoint_write(ckpt, m, &h, &meta, &state);
}

/* Set by SIGTERM, SIGINT and SIGUSR1; the fit reads it at each iteration boundary. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) {
  (void)sig;
  stop_requested = 1;
}

static void install_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
}

/* Collective: rank 0 writes a checkpoint of the current state; every rank gets the verdict. */
static int checkpoint(MPI_Comm comm, const cli_fit_config *c, nvmm_fit *f, nvmm_model *m,
                      const char *path) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  nvmm_status st = nvmm_fit_model(f, m);
  if (st == NVMM_OK && rank == 0) {
    nvmm_fit_summary s;
    nvmm_fit_summary_get(f, &s);
    st = cli_write_model(c, f, m, &s, path);
  }
  return cli_failed(comm, st, "fit: writing the checkpoint") ? -1 : 0;
}

/* Continues from a checkpoint when asked to (--resume) or when the configured one exists.
 * Returns NVMM_EIO when the failure was already reported. */
static nvmm_status restore(MPI_Comm comm, cli_fit_config *c, nvmm_fit *f, int *resumed) {
  const char *path = c->resume[0] ? c->resume : NULL;
  if (!path && c->checkpoint[0] && access(c->checkpoint, F_OK) == 0)
    path = c->checkpoint;
  int any = path != NULL, all;
  MPI_Allreduce(&any, &all, 1, MPI_INT, MPI_MIN, comm);
  *resumed = 0;
  if (!all)
    return NVMM_OK; /* a checkpoint visible to only some ranks is not one to resume from */
  nvmm_fit_state st;
  nvmm_status s = nvmm_checkpoint_read(path, &st, NULL, 0);
  if (cli_failed(comm, s, "fit: reading the checkpoint"))
    return NVMM_EIO;
  s = nvmm_fit_restore(f, &st);
  nvmm_fit_state_free(&st);
  if (s != NVMM_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", nvmm_last_error());
    s = NVMM_RAISE(s, "cannot resume from %s: %s", path, msg);
    return cli_failed(comm, s, "fit") ? NVMM_EIO : s;
  }
  *resumed = 1;
  if (!c->checkpoint[0])
    snprintf(c->checkpoint, sizeof c->checkpoint, "%s", path);
  return NVMM_OK;
}

/* Starts the fit: from a checkpoint, a model file, or the options' init. Collective; the
 * returned value is agreed (0 ok). */
static int start(MPI_Comm comm, cli_fit_config *c, nvmm_fit *f, int *resumed) {
  nvmm_status st = restore(comm, c, f, resumed);
  if (st == NVMM_EIO)
    return -1; /* already reported */
  if (st == NVMM_OK && !*resumed && c->o.shrink == NVMM_SHRINK_GIVEN) {
    /* A resumed fit has its target in the checkpoint. */
    nvmm_model *t = NULL;
    st = nvmm_model_read(c->shrink_model, &t);
    if (st == NVMM_OK)
      st = nvmm_fit_set_shrink_target(f, t);
    nvmm_model_free(&t);
    if (cli_failed(comm, st, "fit: the shrinkage target"))
      return -1;
  }
  if (st == NVMM_OK && !*resumed) {
    if (c->o.init == NVMM_INIT_MODEL) {
      nvmm_model *init = NULL;
      st = nvmm_model_read(c->init_model, &init);
      if (cli_failed(comm, st, "fit: reading the initial model")) {
        nvmm_model_free(&init);
        return -1;
      }
      st = nvmm_fit_set_model(f, init);
      nvmm_model_free(&init);
    } else {
      st = nvmm_fit_init(f);
    }
  }
  return cli_failed(comm, st, "fit: initialization") ? -1 : 0;
}

/* Why an unbounded fit failed and what to do about it (src/numerics.md 8.6): printed at every
 * verbosity, to stderr. */
static void unbounded_message(const cli_fit_config *c, const nvmm_model *m,
                              const nvmm_fit_summary *s) {
  fprintf(stderr, "nvmm fit: the likelihood is unbounded: the fit is concentrating on the point (");
  for (size_t j = 0; j < m->d; j++)
    fprintf(stderr, "%s%.17g", j ? ", " : "", m->mu[j]);
  fprintf(stderr,
          "),\n  held by %lld row(s) of the data, where the %s density grows without bound (%s).\n"
          "  The fitted model is not a maximum-likelihood estimate. Remedies:%s remove the\n"
          "  repeated rows, or jitter them (add noise below the data's resolution).\n",
          (long long)s->unbounded_rows, nvmm_family_name(c->o.family),
          c->o.family == NVMM_FAMILY_VG   ? "alpha < d/2"
          : c->o.family == NVMM_FAMILY_GH ? "b -> 0 with p < d/2"
                                          : "the law collapsing onto it, b -> 0",
          c->o.family == NVMM_FAMILY_VG
              ? " --alpha-min density (alpha >= d/2 + 0.1 keeps the VG density finite);"
          : c->o.family == NVMM_FAMILY_GH
              ? " --family hyp (its p = (d+1)/2 keeps the density at mu finite);"
              : "");
}

/* The closing lines on rank 0. */
/* A factor model's Heywood columns: specific variance below NVMM_HEYWOOD of the column's
 * variance F_j F_j^T + D_j (a ratio free of units and gauge). The likelihood's supremum then
 * lies on the boundary D_j = 0, which EM approaches sublinearly (src/numerics.md 5.12). */
#define NVMM_HEYWOOD 1e-3
static void heywood_message(const cli_fit_config *c, const nvmm_model *m) {
  if (!m->factor)
    return;
  size_t d = m->d, r = m->factor->r, k = 0;
  for (size_t j = 0; j < d; j++) {
    double s = m->factor->dd[j];
    for (size_t l = 0; l < r; l++)
      s += m->factor->f[j * r + l] * m->factor->f[j * r + l];
    double u = m->factor->dd[j] / s;
    if (u < NVMM_HEYWOOD) {
      fprintf(rep, "%s column %zu (D/Sigma_jj = %.2g)", k == 0 ? "  Heywood case:" : ",", j, u);
      k++;
    }
  }
  if (k > 0)
    fprintf(rep,
            "\n    the factors explain %s entirely and D_j heads to 0, where the likelihood's "
            "supremum lies; EM creeps there slowly. For the constrained MLE set "
            "--factor-d-floor 0.005 (R factanal's bound; now %g), or fit fewer factors\n",
            k == 1 ? "it" : "them", c->o.factor_d_floor);
}

static void summary(const cli_fit_config *c, const nvmm_fit *f, const nvmm_model *m,
                    const nvmm_fit_summary *s) {
  char steps[96] = "";
  if (c->o.algorithm == NVMM_ALG_INCREMENTAL)
    snprintf(steps, sizeof steps, "%lld mini-batch steps and ", (long long)s->steps);
  if (c->verbose >= 2 && s->iterations >= 1 && s->reason != NVMM_FIT_STOPPED)
    row(f, (size_t)s->iterations - 1, s->loglik_init);
  if (c->verbose >= 2) {
    rule('=');
    fprintf(rep, "  %s after %s%d iterations (%.2fs)\n", status_word(s->reason), steps,
            s->iterations, s->elapsed);
    fprintf(rep, "  Final log-likelihood : %.6f\n", s->loglik);
    if (c->o.shrink != NVMM_SHRINK_NONE)
      fprintf(rep, "  Penalty, objective   : %.6f, %.6f\n", s->penalty, s->loglik + s->penalty);
    fprintf(rep, "  Final |\xce\x94params|      : %.4e\n", s->change);
    rule('=');
  } else if (c->verbose == 1) {
    if (isfinite(s->loglik) && c->o.shrink != NVMM_SHRINK_NONE)
      fprintf(rep, "  %s after %s%d iterations (%.2fs), final LL=%.6f, objective=%.6f\n",
              status_word(s->reason), steps, s->iterations, s->elapsed, s->loglik,
              s->loglik + s->penalty);
    else if (isfinite(s->loglik))
      fprintf(rep, "  %s after %s%d iterations (%.2fs), final LL=%.6f\n", status_word(s->reason),
              steps, s->iterations, s->elapsed, s->loglik);
    else /* stopped during incremental EM's steps: no pass has scored the model */
      fprintf(rep, "  %s after %s%d iterations (%.2fs)\n", status_word(s->reason), steps,
              s->iterations, s->elapsed);
  }
  if (s->reason == NVMM_FIT_UNBOUNDED)
    unbounded_message(c, m, s);
  heywood_message(c, m);
  if (c->verbose >= 1) {
    double tot = 0;
    for (int k = 0; k < NVMM_NCOUNTERS; k++)
      tot += s->counters[k];
    if (tot > 0) {
      fprintf(rep, "  Floors/fallbacks :");
      for (int k = 0; k < NVMM_NCOUNTERS; k++)
        if (s->counters[k] > 0)
          fprintf(rep, " %s=%.0f", nvmm_counter_name(k), s->counters[k]);
      fputc('\n', rep);
    }
    if (s->inc_prior_floors + s->shrink_prior_floors > 0)
      fprintf(rep,
              "  Prior-moment floors : %d (a moment of the start's or the target's law that "
              "is infinite, taken at beta / 0.1)\n",
              s->inc_prior_floors + s->shrink_prior_floors);
    if (s->counters[NVMM_CNT_GAUGE_SWITCH] > 0)
      fprintf(rep, "  Gauge: a = b cannot hold at this optimum (a -> 0, the Student-t limit); the "
                   "fit fixed |Sigma| = 1 instead (the likelihood does not depend on the gauge)\n");
  }
}

/* The standard errors' table on rank 0: each estimate with its standard error. */
static void print_stderr(const nvmm_model *m, const nvmm_stderr *se) {
  size_t d = m->d;
  fprintf(rep, "  Standard errors (%s; gauge %s; one pass, %.2fs), estimate (SE):\n", se->method,
          se->gauge_name, se->elapsed);
  fprintf(rep, "    mu    :");
  for (size_t i = 0; i < d; i++)
    fprintf(rep, " %.6g (%.3g)", m->mu[i], se->mu[i]);
  fputc('\n', rep);
  if (se->gamma) {
    fprintf(rep, "    gamma :");
    for (size_t i = 0; i < d; i++)
      fprintf(rep, " %.6g (%.3g)", m->gamma[i], se->gamma[i]);
    fputc('\n', rep);
  }
  for (size_t i = 0; i < d; i++) {
    fprintf(rep, "    %s:", i == 0 ? "sigma " : "      ");
    for (size_t j = 0; j <= i; j++)
      fprintf(rep, " %.6g (%.3g)", m->sigma[i * d + j], se->sigma[i * d + j]);
    fputc('\n', rep);
  }
  const nvmm_family_info *fi = nvmm_family_get(m->family);
  for (int k = 0; k < fi->nsub; k++)
    if (nvmm_score_sub_free(m->family, k))
      fprintf(rep, "    %-6s: %.6g (%.3g)\n", fi->sub_par[k], m->sub.par[k], se->sub[k]);
}

/* Testing hook (tests/mpi/faults.sh, kill_resume.sh, tests/slurm/preempt.sh): with
 * NVMM_FAULT_HOLD=RANK:ITER:FILE in the environment, rank RANK, at the boundary after ITER
 * updates (incremental EM's mini-batch steps and then iterations; after that boundary's
 * checkpoint, before the next E-step), writes its PID to FILE
 * and waits there until a stop signal arrives or it is killed. The tests then send the real
 * signal (kill -9 of that PID, SIGTERM or SIGUSR1 to mpirun, Slurm's preempt signal) and know
 * exactly which state the fit stops or dies in, instead of guessing from wall-clock delays.
 * The other ranks wait in the next reduction meanwhile. One-shot: nothing happens when FILE
 * exists already, so a resumed or requeued run with the same environment goes through. After
 * 600 s without a signal the hold gives up and the fit goes on (a test that never signals then
 * fails on a finished fit instead of hanging). Compiled in every build but a release one. */
#define FAULT_HOLD_MAX_S 600

static void fault_hold(int rank, int iterations) {
#ifndef NVMM_FAULT_HOOKS
  (void)rank, (void)iterations; /* a release build has no test hooks */
  return;
#endif
  const char *v = getenv("NVMM_FAULT_HOLD");
  int r, it, pos = 0;
  if (!v || sscanf(v, "%d:%d:%n", &r, &it, &pos) != 2 || pos == 0 || r != rank ||
      it != iterations || access(v + pos, F_OK) == 0)
    return;
  char tmp[CLI_PATH_MAX + 8];
  snprintf(tmp, sizeof tmp, "%s.tmp", v + pos);
  FILE *fp = fopen(tmp, "w");
  if (!fp)
    return; /* the test waits for FILE in vain and fails, naming the hold */
  fprintf(fp, "%ld\n", (long)getpid());
  if (fclose(fp) != 0 || rename(tmp, v + pos) != 0)
    return;
  const struct timespec tick = {0, 5000000}; /* 5 ms */
  for (int i = 0; i < FAULT_HOLD_MAX_S * 200 && !stop_requested; i++)
    nanosleep(&tick, NULL);
}

/* Iterates with progress rows and periodic checkpoints until the fit stops. */
static int iterate(MPI_Comm comm, const cli_fit_config *c, nvmm_fit *f, nvmm_model *m) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  nvmm_fit_summary s;
  while (nvmm_fit_reason_get(f) == NVMM_FIT_ITERATING) {
    nvmm_fit_summary_get(f, &s);
    fault_hold(rank, (int)(s.steps + s.iterations)); /* updates: mini-batch steps, iterations */
    int64_t steps = s.steps;
    int iters = s.iterations;
    if (cli_failed(comm, nvmm_fit_iterate(f), "fit"))
      return -1;
    nvmm_fit_summary_get(f, &s);
    /* Row i once its log-likelihood is known: after update i + 2 (a deciding pass that adds
     * no update leaves the last row to the summary). */
    if (rank == 0 && c->verbose >= 2 && s.iterations > iters && s.iterations >= 2 &&
        s.reason != NVMM_FIT_STOPPED)
      row(f, (size_t)s.iterations - 2, s.loglik_init);
    /* A mini-batch step touches batch_rows rows, an iteration all n: separate cadences. */
    int due = s.steps > steps ? s.steps % c->checkpoint_every_steps == 0
                              : s.iterations % c->checkpoint_every == 0;
    if (c->checkpoint[0] && s.reason == NVMM_FIT_ITERATING && due &&
        checkpoint(comm, c, f, m, c->checkpoint))
      return -1;
  }
  return cli_failed(comm, nvmm_fit_run(f), "fit") ? -1 : 0;
}

static int run_fit(MPI_Comm comm, cli_fit_config *c) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  rep = c->json ? stderr : stdout;
  if (cli_check_writable(comm, c->out) ||
      (c->checkpoint[0] && cli_check_writable(comm, c->checkpoint)))
    return CLI_FAIL;
  int64_t n = 0, d = 0, first = 0, nloc = 0;
  double *x = NULL;
  nvmm_data *data = NULL;
  nvmm_status st = cli_open_shard(comm, c, &n, &d, &first, &nloc, &x, &data);
  if (cli_failed(comm, st, "fit")) {
    free(x);
    nvmm_data_close(&data);
    return CLI_FAIL;
  }
  if (c->alpha_min_density)
    c->o.alpha_min = 0.5 * (double)d + 0.1;
  nvmm_fit *f = NULL;
  nvmm_model *m = NULL;
  nvmm_stderr *se = NULL;
  int resumed = 0, rc = CLI_FAIL;
  if (x)
    st = nvmm_fit_create(comm, &c->o, n, d, first, nloc, x, &f);
  else /* chunks of memory_limit bytes */
    st = nvmm_fit_create_stream(comm, &c->o, n, d, first, nloc, read_rows, data,
                                c->memory_limit / (d * 8), &f);
  if (st == NVMM_OK && !x)
    nvmm_fit_set_ranges_reader(f, read_ranges);
  if (cli_failed(comm, st, "fit") ||
      cli_failed(comm, cli_result_model_alloc(&c->o, d, &m), "fit") || start(comm, c, f, &resumed))
    goto done;
  nvmm_fit_summary s;
  nvmm_fit_summary_get(f, &s);
  if (rank == 0 && c->verbose >= 1) {
    banner(c, n, d, size);
    if (!x)
      fprintf(rep, "  Streaming    : shards read every pass, %lld bytes at a time\n",
              (long long)c->memory_limit);
    if (resumed && c->o.algorithm == NVMM_ALG_INCREMENTAL)
      fprintf(rep, "  Resumed from %s after %lld mini-batch steps and %d iterations\n",
              c->resume[0] ? c->resume : c->checkpoint, (long long)s.steps, s.iterations);
    else if (resumed) /* restore() read --resume when given, else the checkpoint */
      fprintf(rep, "  Resumed from %s after %d iterations\n",
              c->resume[0] ? c->resume : c->checkpoint, s.iterations);
  }
  stop_requested = 0;
  install_signals();
  nvmm_fit_set_stop_flag(f, &stop_requested);
  if (iterate(comm, c, f, m) || cli_failed(comm, nvmm_fit_model(f, m), "fit"))
    goto done;
  nvmm_fit_summary_get(f, &s);
  if (s.reason == NVMM_FIT_STOPPED) {
    /* A stop signal: checkpoint and ask to be resumed (the exit status says so). */
    char path[CLI_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s", c->checkpoint[0] ? c->checkpoint : c->out);
    if (!c->checkpoint[0])
      strncat(path, ".ckpt.h5", sizeof path - strlen(path) - 1);
    if (checkpoint(comm, c, f, m, path))
      goto done;
    if (rank == 0) {
      summary(c, f, m, &s);
      fprintf(rep,
              "  Stopped by a signal; checkpoint written to %s (exit status %d: resume with "
              "nvmm fit --resume %s)\n",
              path, CLI_STOPPED, path);
      fflush(rep);
    }
    rc = CLI_STOPPED;
    goto done;
  }
  /* One more pass (collective): the standard errors of the model just fitted. */
  if (c->std_errors && cli_failed(comm, nvmm_fit_stderr(f, &se), "fit: standard errors"))
    goto done;
  st = rank == 0 ? cli_write_model(c, f, m, &s, NULL) : NVMM_OK;
  if (st == NVMM_OK && rank == 0 && se)
    st = nvmm_stderr_write(c->out, se);
  if (cli_failed(comm, st, "fit: writing the model") ||
      (c->checkpoint[0] && checkpoint(comm, c, f, m, c->checkpoint)))
    goto done;
  if (rank == 0) {
    summary(c, f, m, &s);
    if (c->verbose >= 1 && se)
      print_stderr(m, se);
    if (c->verbose >= 1)
      fprintf(rep, "  Model written to %s\n", c->out);
    if (c->json)
      print_json(c, m, &s, se);
    fflush(rep);
  }
  /* An unbounded likelihood is a failed fit, with its model and summary written (fit --help). */
  rc = s.reason == NVMM_FIT_UNBOUNDED ? CLI_FAIL : CLI_OK;
done:
  nvmm_stderr_free(&se);
  nvmm_model_free(&m);
  nvmm_fit_destroy(&f);
  nvmm_data_close(&data);
  free(x);
  return rc;
}

int cli_fit(MPI_Comm comm, int argc, char **argv) {
  cli_fit_config cfg;
  int pr = parse_args(comm, argc, argv, &cfg);
  if (pr)
    return pr > 0 ? CLI_OK : pr == -2 ? CLI_FAIL : CLI_USAGE;
  return run_fit(comm, &cfg);
}
