/* select.c: `nvmm select`: fits several candidates (family x symmetric x factors) to one data set
 * on the same ranks from one read of the shard, writes each model as `nvmm fit` would, ranks them
 * by BIC and tests the nested pairs by likelihood ratio (the arithmetic: include/nvmm/select.h).
 * Each candidate's options come from the `nvmm fit` configuration table (config.c) with its
 * family, symmetric flag and model file set, so a candidate is the fit `nvmm fit` would run. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage[] =
    "Usage: mpirun -n P nvmm select --data F.h5[:/X] --out DIR [options]\n"
    "\n"
    "Fits each candidate family (and, with --symmetric, its symmetric law) to one data set on\n"
    "P ranks, reading the data once; writes each model to DIR/<family>[-sym].h5 as nvmm fit\n"
    "does (history included), prints a table sorted by BIC (AIC = -2 LL + 2k, BIC = -2 LL +\n"
    "k log n, k the free parameters net of the scale gauge), names the best (lowest BIC) and\n"
    "gives the likelihood-ratio test of every directly nested pair fitted: a family against\n"
    "its symmetric law (gamma = 0, chi^2 with d df), GH against NIG (p = -1/2) and hyp (p =\n"
    "(d+1)/2) (chi^2, 1 df), GH against VG (b -> 0) and NInvG (a -> 0), where the restriction\n"
    "lies on the boundary of the parameter space and the reference law is the 50:50 mixture\n"
    "of chi^2 with df-1 and df degrees of freedom, and each latent family against the\n"
    "Gaussian, a limit that is not even a boundary point: the test is non-standard and its\n"
    "chi^2 p-value naive (flagged). With --factors R1,R2,... every candidate is fitted once\n"
    "per R as a factor model Sigma = F F^T + diag(D) with R factors (0: the dense Sigma), to\n"
    "DIR/<family>[-sym]-rR.h5 (DIR/<family>[-sym].h5 for 0); k counts d R + d - R(R-1)/2 for\n"
    "the dispersion (F up to a rotation), and pick R by the lowest BIC. A family with R\n"
    "factors is tested against the same with more: against the dense Sigma by the classical\n"
    "chi^2 test of R factors, against R2 > R factors naively (the R2-factor model is\n"
    "over-factored under the R-factor one: flagged). The other options are those of nvmm fit,\n"
    "applied to every candidate. With --json the table goes to stderr and a JSON object to\n"
    "stdout: families (sorted by BIC), best, best_symmetric (best_factors with --factors),\n"
    "lr_tests. Exit status: 0 done (see each candidate's reason), 1 failed, 2 usage error.\n";

/* The `nvmm fit` keys that mean the same for every candidate, passed through to each one's
 * configuration (the family, the symmetric flag and the model file are set per candidate). */
static const char *const passed[] = {"data",    "max_iter",   "stop",           "accel",
                                     "tol",     "tol_ll",     "algorithm",      "regularization",
                                     "verbose", "block_rows", "scalapack_min_d"};
#define NPASSED (sizeof passed / sizeof *passed)
enum { OPT_FAMILIES, OPT_SYMMETRIC, OPT_FACTORS, OPT_OUT, OPT_JSON, NOWN };
enum { MAX_FACTOR_LIST = 16 }; /* values of --factors */

static const cli_opt *select_opts(void) {
  static cli_opt opts[NOWN + NPASSED + 1];
  if (opts[0].name)
    return opts;
  opts[OPT_FAMILIES] = (cli_opt){"families", "F[,F...]",
                                 "the candidate families, any of gh, hyp, nig, vg, ninvg and "
                                 "gauss the library has (default all of them)",
                                 0};
  opts[OPT_SYMMETRIC] =
      (cli_opt){"symmetric", "no|yes|both",
                "skewed fits, symmetric ones (gamma = 0) or both (default no; the Gaussian is "
                "fitted once)",
                0};
  opts[OPT_FACTORS] = (cli_opt){"factors", "R[,R...]",
                                "fit each candidate as a factor model with R factors, once per R "
                                "listed (0: the dense Sigma; default the dense Sigma only)",
                                0};
  opts[OPT_OUT] = (cli_opt){"out", "DIR",
                            "directory for the models, DIR/<family>[-sym].h5 (created when "
                            "missing; its parent must exist)",
                            0};
  opts[OPT_JSON] = (cli_opt){"json", "0|1", "print a JSON summary on stdout (--json alone: 1)", 1};
  const cli_opt *fit = cli_fit_opts();
  int k = NOWN;
  for (size_t i = 0; i < NPASSED; i++)
    for (const cli_opt *o = fit; o->name; o++) {
      char key[64];
      snprintf(key, sizeof key, "%s", o->name);
      for (char *c = key; *c; c++)
        if (*c == '-')
          *c = '_';
      if (!strcmp(key, passed[i]))
        opts[k++] = *o;
    }
  return opts;
}

typedef struct candidate {
  nvmm_family family;
  int symmetric;
  size_t factors;          /* 0: the dense Sigma */
  char label[48];          /* "nig", "nig-sym", "nig-sym-r2" */
  char path[CLI_PATH_MAX]; /* its model file */
  double loglik;           /* total over the n rows */
  int64_t k;               /* free parameters */
  double aic, bic, elapsed;
  int iterations;
  nvmm_fit_reason reason;
} candidate;

typedef struct lr_row {
  int big, small; /* indices into the candidates */
  nvmm_lr_test t;
} lr_row;

/* What `nvmm select` was asked for. */
typedef struct select_args {
  nvmm_family families[NVMM_FAMILY_COUNT];
  int nfam;
  int sym_no, sym_yes; /* which flavours to fit */
  size_t factors[MAX_FACTOR_LIST];
  int nfactors;                /* 0: --factors not given (the dense Sigma only) */
  char out[CLI_PATH_MAX - 64]; /* room for "/<family>-sym.h5" */
  int json;
} select_args;

static int parse_families(MPI_Comm comm, const char *list, select_args *sa) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", list);
  sa->nfam = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    nvmm_family f;
    if (nvmm_family_parse(tok, &f) != NVMM_OK) {
      cli_error(comm, "select: --families: %s", nvmm_last_error());
      return -1;
    }
    for (int i = 0; i < sa->nfam; i++)
      if (sa->families[i] == f) {
        cli_error(comm, "select: --families: family '%s' is listed twice", tok);
        return -1;
      }
    sa->families[sa->nfam++] = f;
  }
  if (sa->nfam == 0) {
    cli_error(comm, "select: --families '%s' names no family", list);
    return -1;
  }
  return 0;
}

static int parse_factors(MPI_Comm comm, const char *list, select_args *sa) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", list);
  sa->nfactors = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    long long r;
    if (sa->nfactors == MAX_FACTOR_LIST) {
      cli_error(comm, "select: --factors: at most %d values", MAX_FACTOR_LIST);
      return -1;
    }
    if (cli_parse_count(comm, "--factors", tok, 0, &r))
      return -1;
    for (int i = 0; i < sa->nfactors; i++)
      if (sa->factors[i] == (size_t)r) {
        cli_error(comm, "select: --factors: %lld is listed twice", r);
        return -1;
      }
    sa->factors[sa->nfactors++] = (size_t)r;
  }
  if (sa->nfactors == 0) {
    cli_error(comm, "select: --factors '%s' names no number of factors", list);
    return -1;
  }
  return 0;
}

/* Parses the command line into sa and the fit configuration table. Returns 1 when help was
 * printed, -1 on a usage error (reported), -2 out of memory, 0 to go on. */
static int parse_args(MPI_Comm comm, int argc, char **argv, select_args *sa) {
  const cli_opt *opts = select_opts();
  cli_args a;
  int prc = cli_args_parse(comm, "select", opts, argc, argv, &a);
  if (prc != CLI_OK)
    return prc == CLI_FAIL ? -2 : -1;
  if (cli_help_wanted(comm, &a, usage, opts)) {
    cli_args_free(&a);
    return 1;
  }
  int rc = 0;
  if (a.npos > 0) {
    cli_error(comm, "select: unexpected argument '%s'", a.pos[0]);
    rc = -1;
  }
  memset(sa, 0, sizeof *sa);
  for (int f = 0; f < NVMM_FAMILY_COUNT; f++) /* default: every family the library has */
    sa->families[sa->nfam++] = (nvmm_family)f;
  sa->sym_no = 1;
  for (int k = 0; k < a.n && rc == 0; k++) {
    const char *v = a.value[k];
    switch (a.which[k]) {
    case OPT_FAMILIES:
      rc = parse_families(comm, v, sa);
      break;
    case OPT_SYMMETRIC:
      sa->sym_no = !strcmp(v, "no") || !strcmp(v, "both");
      sa->sym_yes = !strcmp(v, "yes") || !strcmp(v, "both");
      if (!sa->sym_no && !sa->sym_yes) {
        cli_error(comm, "select: unknown --symmetric value '%s' (expected no, yes or both)", v);
        rc = -1;
      }
      break;
    case OPT_FACTORS:
      rc = parse_factors(comm, v, sa);
      break;
    case OPT_OUT:
      if (strlen(v) >= sizeof sa->out) {
        cli_error(comm, "select: --out %.64s...: path longer than %zu characters", v,
                  sizeof sa->out - 1);
        rc = -1;
      }
      snprintf(sa->out, sizeof sa->out, "%s", v);
      break;
    case OPT_JSON:
      if (v && strcmp(v, "0") && strcmp(v, "1")) {
        cli_error(comm, "select: --json '%s' must be 0 or 1", v);
        rc = -1;
      }
      sa->json = !v || !strcmp(v, "1");
      break;
    default: { /* an `nvmm fit` key */
      char flag[64];
      snprintf(flag, sizeof flag, "--%s", opts[a.which[k]].name);
      rc = cli_config_flag(comm, flag, v ? v : "1");
    }
    }
  }
  cli_args_free(&a);
  if (rc == 0 && !sa->out[0]) {
    cli_error(comm, "select: no output directory (--out DIR)");
    rc = -1;
  }
  return rc;
}

/* The configuration of candidate c: the fit table with its family, symmetric flag, factors
 * (only with --factors, so that a dense run's configuration is the one it always was) and file. */
static int candidate_config(MPI_Comm comm, const select_args *sa, const candidate *c,
                            cli_fit_config *cfg) {
  char r[32];
  snprintf(r, sizeof r, "%zu", c->factors);
  if (cli_config_flag(comm, "--family", nvmm_family_name(c->family)) ||
      cli_config_flag(comm, "--symmetric", c->symmetric ? "1" : "0") ||
      (sa->nfactors > 0 && cli_config_flag(comm, "--factors", r)) ||
      cli_config_flag(comm, "--out", c->path))
    return -1;
  return cli_config_apply(comm, cfg);
}

/* Creates DIR when missing (rank 0) and checks that the first model file can be written there. */
static int prepare_out(MPI_Comm comm, const char *dir, const char *first_path) {
  int rank, ok = 1;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    struct stat st;
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
      cli_error(MPI_COMM_SELF, "select: --out %s is not a directory", dir);
      ok = 0;
    } else if (stat(dir, &st) != 0 && mkdir(dir, 0777) != 0) {
      cli_error(MPI_COMM_SELF, "select: cannot create the output directory %s: %s", dir,
                strerror(errno));
      ok = 0;
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  return ok ? cli_check_writable(comm, first_path) : -1;
}

/* Fits candidate c on the shard x; rank 0 writes its model. Collective; 0 or -1 (reported). */
static int fit_candidate(MPI_Comm comm, cli_fit_config *cfg, int64_t n, int64_t d, int64_t first,
                         int64_t nloc, const double *x, candidate *c) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  nvmm_fit *f = NULL;
  nvmm_model *m = NULL;
  int rc = -1;
  char what[64];
  snprintf(what, sizeof what, "select: %s", c->label);
  if (cli_failed(comm, nvmm_fit_create(comm, &cfg->o, n, d, first, nloc, x, &f), what) ||
      cli_failed(comm, cli_result_model_alloc(&cfg->o, d, &m), what) ||
      cli_failed(comm, nvmm_fit_init(f), what) || cli_failed(comm, nvmm_fit_run(f), what) ||
      cli_failed(comm, nvmm_fit_model(f, m), what))
    goto done;
  nvmm_fit_summary s;
  nvmm_fit_summary_get(f, &s);
  if (cli_failed(comm, rank == 0 ? cli_write_model(cfg, f, m, &s, NULL) : NVMM_OK, what) ||
      cli_failed(comm,
                 nvmm_select_n_params_factor(c->family, (size_t)d, c->symmetric, c->factors, &c->k),
                 what))
    goto done;
  c->loglik = s.loglik * (double)s.n; /* as nvmm fit's JSON loglik_total */
  c->aic = nvmm_select_aic(c->loglik, c->k);
  c->bic = nvmm_select_bic(c->loglik, c->k, n);
  c->iterations = s.iterations;
  c->reason = s.reason;
  c->elapsed = s.elapsed;
  rc = 0;
done:
  nvmm_model_free(&m);
  nvmm_fit_destroy(&f);
  return rc;
}

/* BIC ascending; a candidate without a finite BIC last; ties keep the fitting order. */
static int by_bic(const void *pa, const void *pb) {
  const candidate *a = pa, *b = pb;
  int fa = isfinite(a->bic), fb = isfinite(b->bic);
  if (fa != fb)
    return fb - fa;
  if (fa && a->bic != b->bic)
    return a->bic < b->bic ? -1 : 1;
  return 0;
}

/* Whether a test compares two numbers of factors (src/numerics.md 15.2). */
static int factor_pair(const candidate *c, const lr_row *l) {
  return c[l->big].factors != c[l->small].factors;
}

/* The reference law of a test, in words. */
static void reference(const nvmm_lr_test *t, int factors, char *buf, size_t size) {
  if (t->nesting == NVMM_NEST_BOUNDARY)
    snprintf(buf, size, "0.5 chi2(%lld) + 0.5 chi2(%lld) (boundary)", (long long)t->df - 1,
             (long long)t->df);
  else if (t->nesting == NVMM_NEST_LIMIT && factors)
    snprintf(buf, size, "chi2(%lld), naive (non-standard: the bigger model is over-factored)",
             (long long)t->df);
  else if (t->nesting == NVMM_NEST_LIMIT)
    snprintf(buf, size, "chi2(%lld), naive (non-standard: a limit, not a boundary point)",
             (long long)t->df);
  else
    snprintf(buf, size, "chi2(%lld)", (long long)t->df);
}

/* The dispersion column of the table: the number of factors, or "dense". */
static const char *dispersion(const candidate *c, char *buf, size_t size) {
  if (c->factors == 0)
    return "dense";
  snprintf(buf, size, "%zu", c->factors);
  return buf;
}

/* factors: whether --factors was given (the table then has a factors column). */
static void print_table(FILE *out, const candidate *c, int nc, const lr_row *lr, int nlr, int64_t n,
                        int64_t d, int factors) {
  char rb[32];
  fprintf(out, "\nCandidates on n = %lld rows, d = %lld, sorted by BIC:\n", (long long)n,
          (long long)d);
  fprintf(out, "  %-10s %-9s ", "family", "symmetric");
  if (factors)
    fprintf(out, "%7s ", "factors");
  fprintf(out, "%16s %5s %16s %16s %5s  %s\n", "LL total", "k", "AIC", "BIC", "iter", "reason");
  for (int i = 0; i < nc; i++) {
    fprintf(out, "  %-10s %-9s ", nvmm_family_name(c[i].family),
            c[i].family == NVMM_FAMILY_GAUSS ? "-"
            : c[i].symmetric                 ? "yes"
                                             : "no");
    if (factors)
      fprintf(out, "%7s ", dispersion(&c[i], rb, sizeof rb));
    fprintf(out, "%16.6f %5lld %16.6f %16.6f %5d  %s\n", c[i].loglik, (long long)c[i].k, c[i].aic,
            c[i].bic, c[i].iterations, nvmm_fit_reason_name(c[i].reason));
  }
  fprintf(out, "Best (lowest BIC): %s%s", nvmm_family_name(c[0].family),
          c[0].symmetric ? " (symmetric)" : "");
  if (factors && c[0].factors > 0)
    fprintf(out, " with %zu factors", c[0].factors);
  else if (factors)
    fprintf(out, " with the dense Sigma");
  fprintf(out, "\n");
  if (nlr == 0)
    return;
  fprintf(out, "\nLikelihood-ratio tests of the nested pairs (statistic 2 (LL_big - LL_small)):\n");
  fprintf(out, "  %-10s %-10s %14s %4s %12s  %s\n", "big", "small", "statistic", "df", "p-value",
          "reference");
  for (int i = 0; i < nlr; i++) {
    char ref[128];
    reference(&lr[i].t, factor_pair(c, &lr[i]), ref, sizeof ref);
    fprintf(out, "  %-10s %-10s %14.6f %4lld %12.4e  %s\n", c[lr[i].big].label,
            c[lr[i].small].label, lr[i].t.statistic, (long long)lr[i].t.df, lr[i].t.p_value, ref);
  }
  int flagged = 0, over = 0;
  for (int i = 0; i < nlr; i++) {
    flagged |= lr[i].t.nesting == NVMM_NEST_LIMIT && !factor_pair(c, &lr[i]);
    over |= lr[i].t.nesting == NVMM_NEST_LIMIT && factor_pair(c, &lr[i]);
  }
  if (flagged)
    fprintf(out, "  (the Gaussian is the limit of a latent family as its subordinator "
                 "degenerates: no chi^2 law holds there; the p-values shown are naive)\n");
  if (over)
    fprintf(out, "  (with fewer factors than the bigger model's, that model's extra loadings are "
                 "unidentified: the chi^2 p-values between two numbers of factors are naive)\n");
}

static void print_json(const candidate *c, int nc, const lr_row *lr, int nlr, int factors) {
  json_t *o = json_object(), *fam = json_array(), *tests = json_array();
  for (int i = 0; i < nc; i++) {
    json_t *e = json_object();
    json_object_set_new(e, "family", json_string(nvmm_family_name(c[i].family)));
    json_object_set_new(e, "symmetric", json_boolean(c[i].symmetric));
    if (factors) /* only here: a dense run's JSON stays as it was */
      json_object_set_new(e, "factors", json_integer((json_int_t)c[i].factors));
    json_object_set_new(e, "loglik_total", cli_json_real(c[i].loglik));
    json_object_set_new(e, "n_params", json_integer(c[i].k));
    json_object_set_new(e, "aic", cli_json_real(c[i].aic));
    json_object_set_new(e, "bic", cli_json_real(c[i].bic));
    json_object_set_new(e, "iterations", json_integer(c[i].iterations));
    json_object_set_new(e, "reason", json_string(nvmm_fit_reason_name(c[i].reason)));
    json_object_set_new(e, "model_file", json_string(c[i].path));
    json_array_append_new(fam, e);
  }
  json_object_set_new(o, "families", fam);
  json_object_set_new(o, "best", json_string(nvmm_family_name(c[0].family)));
  json_object_set_new(o, "best_symmetric", json_boolean(c[0].symmetric));
  if (factors)
    json_object_set_new(o, "best_factors", json_integer((json_int_t)c[0].factors));
  for (int i = 0; i < nlr; i++) {
    char ref[128];
    reference(&lr[i].t, factor_pair(c, &lr[i]), ref, sizeof ref);
    json_t *e = json_object();
    json_object_set_new(e, "big", json_string(c[lr[i].big].label));
    json_object_set_new(e, "small", json_string(c[lr[i].small].label));
    json_object_set_new(e, "statistic", cli_json_real(lr[i].t.statistic));
    json_object_set_new(e, "df", json_integer(lr[i].t.df));
    json_object_set_new(e, "p_value", cli_json_real(lr[i].t.p_value));
    json_object_set_new(e, "nesting", json_string(nvmm_nesting_name(lr[i].t.nesting)));
    json_object_set_new(e, "reference", json_string(ref));
    json_array_append_new(tests, e);
  }
  json_object_set_new(o, "lr_tests", tests);
  char *txt = json_dumps(o, JSON_REAL_PRECISION(17) | JSON_INDENT(2));
  if (txt)
    puts(txt);
  free(txt);
  json_decref(o);
}

int cli_select(MPI_Comm comm, int argc, char **argv) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  select_args sa;
  int pr = parse_args(comm, argc, argv, &sa);
  if (pr)
    return pr > 0 ? CLI_OK : pr == -2 ? CLI_FAIL : CLI_USAGE;
  /* The candidates in fitting order: each family skewed, then symmetric (the Gaussian once), each
   * with every number of factors in the order listed. */
  int nr = sa.nfactors > 0 ? sa.nfactors : 1;
  int ncmax = 2 * NVMM_FAMILY_COUNT * nr;
  candidate *cand = calloc((size_t)ncmax, sizeof *cand);
  lr_row *lr = malloc((size_t)ncmax * (size_t)ncmax * sizeof *lr);
  if (cli_failed(comm, cand && lr ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "out of memory"), "select")) {
    free(cand);
    free(lr);
    return CLI_FAIL;
  }
  int nc = 0;
  for (int i = 0; i < sa.nfam; i++)
    for (int sym = 0; sym <= 1; sym++)
      for (int j = 0; j < nr; j++) {
        nvmm_family f = sa.families[i];
        int gauss = f == NVMM_FAMILY_GAUSS;
        if (gauss ? sym == 1 : !(sym ? sa.sym_yes : sa.sym_no))
          continue;
        candidate *c = &cand[nc++];
        c->family = f;
        c->symmetric = sym;
        c->factors = sa.nfactors > 0 ? sa.factors[j] : 0;
        char rs[32] = "";
        if (c->factors > 0)
          snprintf(rs, sizeof rs, "-r%zu", c->factors);
        snprintf(c->label, sizeof c->label, "%s%s%s", nvmm_family_name(f), sym ? "-sym" : "", rs);
        snprintf(c->path, sizeof c->path, "%s/%s.h5", sa.out, c->label);
      }
  /* Every candidate's configuration is checked before anything is read or written. */
  cli_fit_config cfg;
  int rc = CLI_FAIL;
  int64_t n = 0, d = 0, first = 0, nloc = 0;
  double *x = NULL;
  for (int i = nc - 1; i >= 0; i--)
    if (candidate_config(comm, &sa, &cand[i], &cfg)) {
      rc = CLI_USAGE;
      goto done;
    }
  FILE *rep = sa.json ? stderr : stdout;
  /* One read of the shard for every candidate (memory_limit is not passed: no streaming). */
  double t0 = MPI_Wtime();
  nvmm_data *data = NULL;
  if (cli_failed(comm, cli_open_shard(comm, &cfg, &n, &d, &first, &nloc, &x, &data), "select")) {
    nvmm_data_close(&data);
    goto done;
  }
  nvmm_data_close(&data);               /* memory_limit 0: the shard is in x */
  for (int j = 0; j < sa.nfactors; j++) /* what each fit would refuse, before anything is written */
    if (sa.factors[j] >= (size_t)d) {
      cli_error(comm, "select: --factors %zu: a factor model needs fewer factors than d = %lld",
                sa.factors[j], (long long)d);
      goto done;
    }
  /* The directory only once the data have been read: a refusal leaves nothing behind. */
  if (prepare_out(comm, sa.out, cand[0].path))
    goto done;
  if (rank == 0 && cfg.verbose >= 1) {
    fprintf(rep,
            "nvmm select: %s:%s (n = %lld, d = %lld) on %d rank%s, read in %.3f s; %d "
            "candidate%s\n",
            cfg.data, cfg.dataset, (long long)n, (long long)d, size, size == 1 ? "" : "s",
            MPI_Wtime() - t0, nc, nc == 1 ? "" : "s");
    fflush(rep);
  }
  for (int i = 0; i < nc; i++) {
    if (candidate_config(comm, &sa, &cand[i], &cfg) ||
        fit_candidate(comm, &cfg, n, d, first, nloc, x, &cand[i]))
      goto done;
    if (rank == 0 && cfg.verbose >= 1) {
      fprintf(rep, "  %-10s LL = %.6f after %d iterations (%s, %.2f s) -> %s\n", cand[i].label,
              cand[i].loglik, cand[i].iterations, nvmm_fit_reason_name(cand[i].reason),
              cand[i].elapsed, cand[i].path);
      fflush(rep);
    }
  }
  int nlr = 0;
  qsort(cand, (size_t)nc, sizeof *cand, by_bic);
  for (int b = 0; b < nc; b++)
    for (int s = 0; s < nc; s++) {
      /* The same family table as nvmm_select_lr_test for one dispersion (src/numerics.md 15.2). */
      nvmm_select_cand B = {cand[b].family, cand[b].symmetric, cand[b].factors, cand[b].loglik};
      nvmm_select_cand S = {cand[s].family, cand[s].symmetric, cand[s].factors, cand[s].loglik};
      if (nvmm_select_nesting_factor(&B, &S, (size_t)d) == NVMM_NEST_NONE || !isfinite(B.loglik) ||
          !isfinite(S.loglik))
        continue;
      lr[nlr].big = b;
      lr[nlr].small = s;
      if (cli_failed(comm, nvmm_select_lr_test_factor(&B, &S, (size_t)d, &lr[nlr].t), "select"))
        goto done;
      nlr++;
    }
  if (rank == 0) {
    if (!sa.json || cfg.verbose >= 1)
      print_table(rep, cand, nc, lr, nlr, n, d, sa.nfactors > 0);
    if (cfg.verbose >= 1)
      fprintf(rep, "Total %.2f s\n", MPI_Wtime() - t0);
    fflush(rep);
    if (sa.json)
      print_json(cand, nc, lr, nlr, sa.nfactors > 0);
    fflush(stdout);
  }
  rc = CLI_OK;
done:
  free(x);
  free(cand);
  free(lr);
  return rc;
}
