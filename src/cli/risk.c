/* risk.c: `nvmm risk`: value at risk and expected shortfall of a portfolio's loss -w'X under a
 * model, exact (nvmm_uv_var_es, src/numerics.md 9.4) and, on request, by Monte Carlo on the
 * ranks as a check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Monte Carlo estimates at one level. */
typedef struct mc_level {
  double var, var_se; /* the order statistic and sqrt(a (1 - a) / N) / f(VaR) */
  double es, es_se;   /* the tail's mean and its standard error */
  int64_t tail;       /* losses beyond the VaR */
} mc_level;

static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

/* The index k (1-based, ascending) of the empirical alpha-quantile of N losses: the smallest
 * k with k / N >= alpha. The product alpha N is rounded (0.99 * 200000 need not be 198000
 * exactly), so a tolerance of 1e-9 rows keeps k where the exact product puts it. */
static int64_t quantile_rank(double alpha, int64_t n) {
  int64_t k = (int64_t)ceil(alpha * (double)n - 1e-9);
  return k < 1 ? 1 : k > n - 1 ? n - 1 : k;
}

/* Draws N rows of m as `nvmm sample --n N --seed S` does (block k of 4096 rows from random
 * stream k of the seed, so the draws do not depend on the rank count), and estimates VaR and ES
 * of the loss -w'x at each level. Every rank keeps its largest losses; rank 0 gathers them,
 * and the global tail is among them. The estimates are computed on rank 0 from the tail in
 * sorted order, so they are bitwise the same on any number of ranks. */
static nvmm_status monte_carlo(MPI_Comm comm, const nvmm_model *m, const nvmm_uv *u,
                               const double *w, long long n, long long seed, size_t nlev,
                               const double *level, const double *var_exact, mc_level *mc) {
  const int64_t block = 4096;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int64_t first, nloc, keep = 0;
  nvmm_fit_shard(n, block, rank, size, &first, &nloc);
  for (size_t l = 0; l < nlev; l++) {
    int64_t t = n - quantile_rank(level[l], n) + 1; /* the tail and the order statistic */
    keep = t > keep ? t : keep;
  }
  size_t d = m->d;
  nvmm_status st = NVMM_OK;
  if ((double)keep * size > 2147483647.0)
    st = NVMM_RAISE(NVMM_EINVAL,
                    "--mc %lld: the tail of %lld rows per rank is too large to "
                    "gather on %d ranks",
                    n, (long long)keep, size);
  double *loss = malloc((size_t)(nloc > 0 ? nloc : 1) * sizeof *loss);
  double *x = malloc((size_t)block * d * sizeof *x), *all = NULL;
  gsl_rng *rng = NULL;
  if (st == NVMM_OK)
    st = loss && x ? nvmm_rng_stream((uint64_t)seed, 0, &rng)
                   : NVMM_RAISE(NVMM_ENOMEM, "out of memory for %lld rows", (long long)nloc);
  for (int64_t r = 0; st == NVMM_OK && r < nloc; r += block) {
    size_t rows = (size_t)(nloc - r < block ? nloc - r : block);
    nvmm_rng_reseed(rng, (uint64_t)seed, (uint64_t)((first + r) / block));
    st = nvmm_model_sample(m, rng, rows, x, NULL);
    for (size_t i = 0; st == NVMM_OK && i < rows; i++) {
      double s = 0;
      for (size_t j = 0; j < d; j++)
        s += w[j] * x[i * d + j];
      loss[r + (int64_t)i] = -s;
    }
  }
  int mine = (int)(nloc < keep ? nloc : keep);
  int *counts = NULL, *displs = NULL;
  if (st == NVMM_OK) {
    qsort(loss, (size_t)nloc, sizeof *loss, cmp_desc);
    if (rank == 0) {
      counts = malloc((size_t)size * sizeof *counts);
      displs = malloc((size_t)size * sizeof *displs);
      all = malloc((size_t)keep * (size_t)size * sizeof *all);
      if (!counts || !displs || !all)
        st = NVMM_RAISE(NVMM_ENOMEM, "out of memory for the tails of %d ranks", size);
    }
  }
  st = nvmm_agree(comm, st);
  int total = 0;
  if (st == NVMM_OK) {
    MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, comm);
    for (int k = 0; rank == 0 && k < size; k++) {
      displs[k] = total;
      total += counts[k];
    }
    MPI_Gatherv(loss, mine, MPI_DOUBLE, all, counts, displs, MPI_DOUBLE, 0, comm);
  }
  for (size_t l = 0; st == NVMM_OK && rank == 0 && l < nlev; l++) {
    double a = level[l];
    if (l == 0)
      qsort(all, (size_t)total, sizeof *all, cmp_desc);
    int64_t k = quantile_rank(a, n), t = n - k; /* all[t] is the k-th smallest loss */
    mc_level *e = &mc[l];
    e->var = all[t];
    e->tail = t;
    int64_t acc[NVMM_XSUM_LIMBS] = {0};
    for (int64_t i = 0; i < t; i++)
      nvmm_xsum_add(acc, all[i]);
    e->es = nvmm_xsum_value(acc) / (double)t;
    double ss = 0;
    for (int64_t i = 0; i < t; i++)
      ss += (all[i] - e->es) * (all[i] - e->es);
    double s2 = t > 1 ? ss / (double)(t - 1) : NAN;
    /* The tail mean's variance has two parts: the spread of the tail losses, and the
     * VaR's own error moving the tail's edge, a (ES - VaR)^2 / (N (1 - a)) (the asymptotic
     * variance of the sample ES; the first part alone understates it by up to ~40% here). */
    e->es_se = sqrt((s2 + a * (e->es - e->var) * (e->es - e->var)) / (double)t);
    double lf;
    st = nvmm_uv_logpdf(u, -var_exact[l], &lf);
    e->var_se = sqrt(a * (1 - a) / (double)n) / exp(lf);
  }
  st = nvmm_agree(comm, st);
  if (rng)
    gsl_rng_free(rng);
  free(loss);
  free(x);
  free(all);
  free(counts);
  free(displs);
  return st;
}

/* The mean and standard deviation of R = w'X: mu + gamma E Y and s2 E Y + gamma^2 Var Y (the
 * law of total variance); NaN where infinite. */
static void portfolio_moments(const nvmm_uv *u, double *mean, double *sd) {
  double ey = NAN, ey2 = NAN;
  *mean = *sd = NAN;
  if (nvmm_sub_moment(&u->sub, 1, &ey) != NVMM_OK || !isfinite(ey))
    return;
  *mean = u->mu + u->gamma * ey;
  if (u->gamma == 0) {
    *sd = sqrt(u->s2 * ey);
    return;
  }
  if (nvmm_sub_moment(&u->sub, 2, &ey2) == NVMM_OK && isfinite(ey2))
    *sd = sqrt(u->s2 * ey + u->gamma * u->gamma * fmax(ey2 - ey * ey, 0));
}

static int print_json(const nvmm_model *m, const double *w, double mean, double sd, size_t nlev,
                      const double *level, const double *var, const double *es, const mc_level *mc,
                      long long n_mc, long long seed) {
  json_t *root = json_object(), *levels = json_array();
  int bad = !root || !levels;
  bad = bad || json_object_set_new(root, "family", json_string(nvmm_family_name(m->family)));
  bad = bad || json_object_set_new(root, "d", json_integer((json_int_t)m->d));
  bad = bad || json_object_set_new(root, "weights", cli_json_vec(w, m->d));
  bad = bad || json_object_set_new(root, "mean", cli_json_real(mean));
  bad = bad || json_object_set_new(root, "sd", cli_json_real(sd));
  if (n_mc)
    bad = bad ||
          json_object_set_new(
              root, "mc", json_pack("{s:I,s:I}", "n", (json_int_t)n_mc, "seed", (json_int_t)seed));
  for (size_t l = 0; !bad && l < nlev; l++) {
    json_t *o = json_pack("{s:f,s:o,s:o}", "level", level[l], "var", cli_json_real(var[l]), "es",
                          cli_json_real(es[l]));
    if (o && n_mc)
      bad = json_object_set_new(o, "mc_var", cli_json_real(mc[l].var)) ||
            json_object_set_new(o, "mc_var_se", cli_json_real(mc[l].var_se)) ||
            json_object_set_new(o, "mc_es", cli_json_real(mc[l].es)) ||
            json_object_set_new(o, "mc_es_se", cli_json_real(mc[l].es_se)) ||
            json_object_set_new(o, "mc_tail", json_integer((json_int_t)mc[l].tail));
    bad = bad || !o || json_array_append_new(levels, o);
  }
  if (!bad)
    bad = json_object_set(root, "levels", levels) != 0;
  json_decref(levels);
  char *txt = bad ? NULL : json_dumps(root, JSON_REAL_PRECISION(17) | JSON_INDENT(2));
  json_decref(root);
  if (!txt)
    return -1;
  puts(txt);
  free(txt);
  return 0;
}

static void print_text(const nvmm_model *m, const double *w, double mean, double sd, size_t nlev,
                       const double *level, const double *var, const double *es, const mc_level *mc,
                       long long n_mc, long long seed) {
  printf("Loss L = -w'X of a %s model (d = %zu), w = (", nvmm_family_name(m->family), m->d);
  for (size_t j = 0; j < m->d; j++)
    printf("%s%.10g", j ? ", " : "", w[j]);
  printf(")\n");
  if (isfinite(mean))
    printf("w'X: mean %.10g", mean);
  if (isfinite(mean) && isfinite(sd))
    printf(", sd %.10g", sd);
  if (isfinite(mean))
    printf("\n");
  if (n_mc)
    printf("Monte Carlo: %lld rows (seed %lld), standard errors in brackets\n", n_mc, seed);
  printf("%-8s %-18s %s%s\n", "level", "VaR", n_mc ? "ES                " : "ES",
         n_mc ? " MC VaR (se)  MC ES (se)" : "");
  for (size_t l = 0; l < nlev; l++) {
    printf("%-8.6g %-18.12g %-*.12g", level[l], var[l], n_mc ? 18 : 1, es[l]);
    if (n_mc)
      printf(" %.8g (%.2g)  %.8g (%.2g)", mc[l].var, mc[l].var_se, mc[l].es, mc[l].es_se);
    printf("\n");
  }
}

int cli_risk(MPI_Comm comm, int argc, char **argv) {
  static const char help[] =
      "Usage: mpirun -n P nvmm risk (--model M.h5 | --family F --d D ... --sub V)\n"
      "                             (--weights W.csv | --equal) [--level A1,A2,...] [--json]\n"
      "                             [--mc N [--seed S]]\n"
      "\n"
      "Value at risk and expected shortfall of the portfolio's loss L = -w'X at each level a\n"
      "(default 0.99,0.975): VaR = -q with P(w'X <= q) = 1 - a, ES = E[L | L >= VaR], from the\n"
      "univariate law of w'X (src/numerics.md 9.4), with the mean and standard deviation of w'X\n"
      "where they are finite. W.csv holds the d weights, one per line or one comma-separated\n"
      "line, optionally after a header line of names; --equal: 1/d each. The model is a file or,\n"
      "as nvmm sample takes it, a family with parameters.\n"
      "\n"
      "Accuracy: the quantile is solved to relative 1e-10 in its probability 1 - a (so VaR to\n"
      "1e-10 (1 - a) / f(q), f the density), and ES to relative 1e-10 given that quantile, by\n"
      "adaptive Gauss-Kronrod quadrature at relative 1e-12 (nvmm/marginal.h). ES needs E|w'X|\n"
      "finite (an NInvG or GH law with a heavy tail may have none: refused).\n"
      "\n"
      "--mc N checks them by Monte Carlo: N rows drawn on the P ranks exactly as nvmm sample\n"
      "--n N --seed S draws them (the same rows on any P), VaR the empirical a-quantile of the\n"
      "losses (the ceil(a N)-th smallest), ES the mean of the N - ceil(a N) losses above it.\n"
      "Standard errors: VaR sqrt(a (1 - a) / N) / f(VaR); ES sqrt((s^2 + a (ES - VaR)^2) / t),\n"
      "s the sd of the t tail losses (the second term is the VaR's error moving the tail's\n"
      "edge). The estimates are the same bits on any P.\n";
  enum { CLI_MODEL_SPEC_ENUM, O_WEIGHTS, O_EQUAL, O_LEVEL, O_JSON, O_MC, O_SEED, O_COUNT };
  static const cli_opt opts[] = {CLI_MODEL_SPEC_OPTS,
                                 {"weights", "W.csv", "the portfolio's d weights", 0},
                                 {"equal", NULL, "weights 1/d", 0},
                                 {"level", "A1,...", "levels in (0, 1) (default 0.99,0.975)", 0},
                                 {"json", NULL, "print one JSON object", 0},
                                 {"mc", "N", "Monte Carlo check with N rows", 0},
                                 {"seed", "S", "its random seed (default 1)", 0},
                                 {0}};
  const char *vals[O_COUNT] = {NULL};
  int seen[O_COUNT] = {0}, helped = 0;
  int rc = cli_args_table(comm, "risk", opts, argc, argv, help, vals, seen, &helped);
  if (rc != CLI_OK || helped)
    return rc;
  long long d = 0, n_mc = 0, seed = 1;
  if ((vals[O_D] && cli_parse_count(comm, "--d", vals[O_D], 1, &d)) ||
      (vals[O_MC] && cli_parse_count(comm, "--mc", vals[O_MC], 2, &n_mc)) ||
      (vals[O_SEED] && cli_parse_count(comm, "--seed", vals[O_SEED], 0, &seed)))
    return CLI_USAGE;
  cli_model_spec spec = CLI_MODEL_SPEC_OF(vals, d);
  if (!spec.model == !spec.family || (spec.family && !d) ||
      (vals[O_WEIGHTS] != NULL) + seen[O_EQUAL] != 1) {
    cli_error(comm, "risk: needs --model (or --family with --d) and one of --weights and --equal "
                    "(see nvmm risk --help)");
    return CLI_USAGE;
  }
  double *level = NULL;
  size_t nlev = 0;
  if (cli_parse_reals(comm, "--level", vals[O_LEVEL] ? vals[O_LEVEL] : "0.99,0.975", &level, &nlev))
    return CLI_USAGE;
  for (size_t l = 0; l < nlev; l++)
    if (!(level[l] > 0 && level[l] < 1)) {
      cli_error(comm, "risk: --level %.17g is not in (0, 1)", level[l]);
      free(level);
      return CLI_USAGE;
    }
  nvmm_model *m = NULL;
  double *w = NULL, *res = NULL;
  mc_level *mc = NULL;
  nvmm_uv u;
  rc = CLI_FAIL;
  if (cli_failed(comm, cli_model_load(comm, &spec, &m), "risk"))
    goto done;
  w = malloc(m->d * sizeof *w);
  res = malloc(2 * nlev * sizeof *res);
  mc = calloc(nlev, sizeof *mc);
  if (cli_failed(comm, w && res && mc ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "out of memory"),
                 "risk") ||
      cli_weights(comm, seen[O_EQUAL] ? NULL : vals[O_WEIGHTS], m->d, w) ||
      cli_failed(comm, nvmm_uv_from_model(m, w, &u), "risk"))
    goto done;
  /* Every rank computes the same exact values (the Monte Carlo check needs the density at
   * the exact VaR on rank 0, and the status is the same everywhere). */
  nvmm_status st = NVMM_OK;
  double *var = res, *es = res + nlev;
  for (size_t l = 0; st == NVMM_OK && l < nlev; l++)
    st = nvmm_uv_var_es(&u, level[l], &var[l], &es[l]);
  if (cli_failed(comm, st, "risk"))
    goto done;
  if (n_mc && cli_failed(comm, monte_carlo(comm, m, &u, w, n_mc, seed, nlev, level, var, mc),
                         "risk Monte Carlo"))
    goto done;
  int rank;
  MPI_Comm_rank(comm, &rank);
  rc = CLI_OK;
  if (rank == 0) {
    double mean, sd;
    portfolio_moments(&u, &mean, &sd);
    if (seen[O_JSON]) {
      if (print_json(m, w, mean, sd, nlev, level, var, es, mc, n_mc, seed)) {
        fprintf(stderr, "nvmm: error: risk: out of memory writing JSON\n");
        rc = CLI_FAIL;
      }
    } else {
      print_text(m, w, mean, sd, nlev, level, var, es, mc, n_mc, seed);
    }
  }
  MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
done:
  free(level);
  free(w);
  free(res);
  free(mc);
  nvmm_model_free(&m);
  return rc;
}
