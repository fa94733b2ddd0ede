/* marginal.c: the univariate law of w'X in the program (src/numerics.md 9.4): the portfolio
 * weights `nvmm score` and `nvmm risk` share (--weights, --equal), lists of numbers, and
 * `nvmm score`'s marginal mode (the CDF of the data rows, and the CDF, quantiles and log-density
 * at given points). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_parse_reals(MPI_Comm comm, const char *flag, const char *v, double **out, size_t *count) {
  size_t k = 1;
  for (const char *c = v; *c; c++)
    k += *c == ',';
  *out = NULL;
  *count = 0;
  double *x = malloc(k * sizeof *x);
  if (cli_failed(comm, x ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "out of memory for %s", flag), flag)) {
    free(x);
    return -1;
  }
  const char *p = v;
  for (size_t i = 0; i < k; i++) {
    char *end;
    x[i] = strtod(p, &end);
    if (end == p || !isfinite(x[i]) || (i + 1 < k ? *end != ',' : *end != '\0')) {
      cli_error(comm, "%s needs comma-separated numbers, got '%s'", flag, v);
      free(x);
      return -1;
    }
    p = end + 1;
  }
  *out = x;
  *count = k;
  return 0;
}

/* Whether the field [s, s + len) is a number, stored in *x. Blanks around it are allowed. */
static int field_number(const char *s, size_t len, double *x) {
  char buf[128];
  while (len > 0 && isspace((unsigned char)*s)) {
    s++;
    len--;
  }
  while (len > 0 && isspace((unsigned char)s[len - 1]))
    len--;
  if (len == 0 || len >= sizeof buf)
    return 0;
  memcpy(buf, s, len);
  buf[len] = '\0';
  char *end;
  errno = 0;
  *x = strtod(buf, &end);
  return *end == '\0' && errno == 0;
}

/* Reads the weights file on one rank: 0 with d weights in w, else -1 with msg set. */
static int read_weights(const char *path, size_t d, double *w, char *msg, size_t msize) {
  FILE *f = fopen(path, "r");
  if (!f) {
    snprintf(msg, msize, "cannot read the weights file %s: %s", path, strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t cap = 0, count = 0;
  long lineno = 0, last = 0;
  int rc = 0, header_done = 0;
  while (rc == 0 && getline(&line, &cap, f) != -1) {
    lineno++;
    line[strcspn(line, "\r\n")] = '\0';
    const char *s = line;
    while (isspace((unsigned char)*s))
      s++;
    if (!*s)
      continue;
    /* The first non-blank line is a header when any of its fields is not a number: names,
     * which the model file cannot check (it keeps no column names), so they are skipped. */
    int numeric = 1;
    double x;
    for (const char *p = s; numeric; p += strcspn(p, ",") + 1) {
      numeric = field_number(p, strcspn(p, ","), &x);
      if (!p[strcspn(p, ",")])
        break;
    }
    if (!numeric && !header_done && count == 0) {
      header_done = 1;
      continue;
    }
    header_done = 1;
    int field = 0;
    for (const char *p = s;; p += strcspn(p, ",") + 1) {
      field++;
      size_t len = strcspn(p, ",");
      if (!field_number(p, len, &x) || !isfinite(x)) {
        snprintf(msg, msize, "%s line %ld, field %d: '%.*s' is not a finite number", path, lineno,
                 field, (int)(len < 60 ? len : 60), p);
        rc = -1;
        break;
      }
      if (count == d) {
        snprintf(msg, msize, "%s line %ld: more than d = %zu weights (the model's dimension)", path,
                 lineno, d);
        rc = -1;
        break;
      }
      w[count++] = x;
      last = lineno;
      if (!p[len])
        break;
    }
  }
  if (rc == 0 && ferror(f)) {
    snprintf(msg, msize, "error reading the weights file %s: %s", path, strerror(errno));
    rc = -1;
  }
  if (rc == 0 && count < d) {
    if (count == 0)
      snprintf(msg, msize, "%s holds no weights, the model has d = %zu", path, d);
    else
      snprintf(msg, msize, "%s holds %zu weights (the last on line %ld), the model has d = %zu",
               path, count, last, d);
    rc = -1;
  }
  free(line);
  fclose(f);
  return rc;
}

int cli_weights(MPI_Comm comm, const char *path, size_t d, double *w) {
  int rank, ok = 1;
  MPI_Comm_rank(comm, &rank);
  if (!path) {
    for (size_t j = 0; j < d; j++)
      w[j] = 1.0 / (double)d;
    return 0;
  }
  if (rank == 0) {
    char msg[512];
    ok = read_weights(path, d, w, msg, sizeof msg) == 0;
    if (!ok)
      cli_error(comm, "%s", msg);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  if (ok)
    MPI_Bcast(w, (int)d, MPI_DOUBLE, 0, comm);
  return ok ? 0 : -1;
}

/* The column --marginal names: a 0-based index, or a name of the data's "columns" attribute.
 * Returns the index, or -1 after printing why. */
static long long column_of(MPI_Comm comm, const char *spec, const nvmm_data *data, size_t d) {
  char *end;
  errno = 0;
  long long j = strtoll(spec, &end, 10);
  if (end != spec && *end == '\0' && errno == 0) {
    if (j >= 0 && (size_t)j < d)
      return j;
    cli_error(comm, "score: --marginal %s: the model has columns 0 to %zu", spec, d - 1);
    return -1;
  }
  if (!data) {
    cli_error(comm, "score: --marginal %s: a column name needs --data (its \"columns\" attribute)",
              spec);
    return -1;
  }
  for (size_t k = 0; k < d; k++) {
    const char *name = nvmm_data_column_name(data, (int64_t)k);
    if (name && !strcmp(name, spec))
      return (long long)k;
  }
  cli_error(comm, "score: --marginal %s: no column of that name in the data", spec);
  return -1;
}

/* Writes P(R <= w'x) of every row of data to outspec: each rank its shard of rows, in blocks of
 * the fit's shard (the rows and the file do not depend on the rank count). */
static nvmm_status write_cdf(MPI_Comm comm, nvmm_data *data, const nvmm_uv *u, const double *w,
                             const char *out, const char *dset) {
  int64_t n, d, first, nloc, bad_row;
  nvmm_data_dims(data, &n, &d);
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  nvmm_fit_shard(n, 4096, rank, size, &first, &nloc);
  size_t m = (size_t)(nloc > 0 ? nloc : 1);
  double *x = malloc(m * (size_t)d * sizeof *x), *p = malloc(m * sizeof *p);
  nvmm_status st = x && p ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "out of memory for %zu rows", m);
  st = nvmm_agree(comm, st);
  if (st == NVMM_OK)
    st = nvmm_data_read(data, first, nloc, x, &bad_row);
  for (int64_t i = 0; st == NVMM_OK && i < nloc; i++) {
    double r = 0;
    for (int64_t j = 0; j < d; j++)
      r += w[j] * x[i * d + j];
    st = nvmm_uv_cdf(u, r, &p[i], NULL);
  }
  st = nvmm_agree(comm, st);
  if (st == NVMM_OK) {
    nvmm_data_writer *wr = NULL;
    st = nvmm_data_writer_create(comm, out, dset, n, 1, &wr);
    if (st == NVMM_OK)
      st = nvmm_data_writer_write(wr, first, nloc, p);
    nvmm_status cs = nvmm_data_writer_close(&wr, st == NVMM_OK);
    if (st == NVMM_OK)
      st = cs;
  }
  free(x);
  free(p);
  return st;
}

/* The values at the points of one list: kind 0 the CDF, 1 the quantile, 2 the log-density. */
static nvmm_status law_values(const nvmm_uv *u, int kind, const double *pt, size_t k, double *v) {
  nvmm_status st = NVMM_OK;
  for (size_t i = 0; st == NVMM_OK && i < k; i++) {
    if (kind == 0)
      st = nvmm_uv_cdf(u, pt[i], &v[i], NULL);
    else if (kind == 1)
      st = pt[i] > 0 && pt[i] < 1
               ? nvmm_uv_quantile(u, pt[i], &v[i])
               : NVMM_RAISE(NVMM_EDOM, "--quantile: %.17g is not in (0, 1)", pt[i]);
    else
      st = nvmm_uv_logpdf(u, pt[i], &v[i]);
  }
  return st;
}

/* Prints the law and the lists' values on rank 0: text lines or one JSON object. */
static int print_law(MPI_Comm comm, const cli_score_law *o, const nvmm_model *m, const nvmm_uv *u,
                     long long col, const char *colname, const double *w, double *const pts[3],
                     double *const vals[3], const size_t k[3], const char *cdf_out) {
  static const char *kinds[3] = {"cdf", "quantile", "logpdf"};
  static const char *keys[3][2] = {{"x", "p"}, {"p", "x"}, {"x", "logpdf"}};
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank != 0)
    return 0;
  if (!o->json) {
    printf("# %s law of ", nvmm_family_name(m->family));
    if (col >= 0)
      printf("column %lld%s%s%s", col, colname ? " (" : "", colname ? colname : "",
             colname ? ")" : "");
    else {
      printf("w'X, w = (");
      for (size_t j = 0; j < m->d; j++)
        printf("%s%.17g", j ? ", " : "", w[j]);
      printf(")");
    }
    printf(": mu %.17g, gamma %.17g, s2 %.17g\n", u->mu, u->gamma, u->s2);
    if (cdf_out)
      printf("# wrote the CDF of the data rows to %s\n", cdf_out);
    for (int t = 0; t < 3; t++)
      for (size_t i = 0; i < k[t]; i++)
        printf("%s %.17g %.17g\n", kinds[t], pts[t][i], vals[t][i]);
    return 0;
  }
  json_t *root = json_object();
  int bad = !root;
  bad = bad || json_object_set_new(root, "family", json_string(nvmm_family_name(m->family)));
  if (col >= 0) {
    bad = bad || json_object_set_new(root, "column", json_integer(col));
    if (colname)
      bad = bad || json_object_set_new(root, "name", json_string(colname));
  }
  bad = bad || json_object_set_new(root, "weights", cli_json_vec(w, m->d));
  json_t *law = json_pack("{s:f,s:f,s:f}", "mu", u->mu, "gamma", u->gamma, "s2", u->s2);
  bad = bad || json_object_set_new(root, "law", law);
  if (cdf_out)
    bad = bad || json_object_set_new(root, "cdf_out", json_string(cdf_out));
  for (int t = 0; t < 3 && !bad; t++) {
    if (!k[t])
      continue;
    json_t *arr = json_array();
    bad = json_object_set_new(root, kinds[t], arr) != 0;
    for (size_t i = 0; !bad && i < k[t]; i++)
      bad = json_array_append_new(arr, json_pack("{s:o,s:o}", keys[t][0], cli_json_real(pts[t][i]),
                                                 keys[t][1], cli_json_real(vals[t][i]))) != 0;
  }
  char *txt = bad ? NULL : json_dumps(root, JSON_REAL_PRECISION(17) | JSON_INDENT(2));
  json_decref(root);
  if (!txt) {
    fprintf(stderr, "nvmm: error: score: out of memory writing JSON\n");
    return -1;
  }
  puts(txt);
  free(txt);
  return 0;
}

int cli_score_marginal(MPI_Comm comm, const cli_score_law *o) {
  int sel = (o->marginal != NULL) + (o->weights != NULL) + (o->equal != 0);
  if (sel != 1) {
    cli_error(comm, "score: %s",
              sel ? "give one of --marginal, --weights and --equal"
                  : "--family, --cdf, --at, --quantile, --logpdf-at and --json "
                    "need --marginal, --weights or --equal");
    return CLI_USAGE;
  }
  if (!o->spec.model == !o->spec.family || (o->spec.family && !o->spec.d)) {
    cli_error(comm, "score: needs either --model or --family with --d (see nvmm score --help)");
    return CLI_USAGE;
  }
  if (o->cdf != (o->out != NULL) || (o->cdf && !o->data)) {
    cli_error(comm, "score: --cdf needs --data and --out (and --out needs --cdf here)");
    return CLI_USAGE;
  }
  if (!o->cdf && !o->at && !o->quantile && !o->logpdf_at) {
    cli_error(comm, "score: nothing to do: give --cdf, --at, --quantile or --logpdf-at");
    return CLI_USAGE;
  }
  double *pts[3] = {NULL, NULL, NULL}, *vals[3] = {NULL, NULL, NULL};
  size_t k[3] = {0, 0, 0};
  const char *lists[3] = {o->at, o->quantile, o->logpdf_at};
  static const char *flags[3] = {"--at", "--quantile", "--logpdf-at"};
  int rc = CLI_OK;
  for (int t = 0; t < 3 && rc == CLI_OK; t++)
    if (lists[t] && cli_parse_reals(comm, flags[t], lists[t], &pts[t], &k[t]))
      rc = CLI_USAGE;
  char out[CLI_PATH_MAX], dset[256], cdf_out[CLI_PATH_MAX + 260];
  if (rc == CLI_OK && o->cdf) {
    cli_split_path(o->out, "/cdf", out, sizeof out, dset, sizeof dset);
    snprintf(cdf_out, sizeof cdf_out, "%s:%s", out, dset);
    if (cli_check_writable(comm, out))
      rc = CLI_FAIL;
  }
  nvmm_model *m = NULL;
  nvmm_data *data = NULL;
  if (rc == CLI_OK && cli_failed(comm, cli_model_load(comm, &o->spec, &m), "score"))
    rc = CLI_FAIL;
  if (rc == CLI_OK && o->data && cli_failed(comm, cli_open_data(comm, o->data, &data), "score"))
    rc = CLI_FAIL;
  if (rc == CLI_OK && data) {
    int64_t n, d;
    nvmm_data_dims(data, &n, &d);
    if ((size_t)d != m->d) {
      cli_error(comm, "score: %s has %lld columns but the model has d = %zu", o->data, (long long)d,
                m->d);
      rc = CLI_FAIL;
    }
  }
  double *w = rc == CLI_OK ? calloc(m->d, sizeof *w) : NULL;
  if (rc == CLI_OK &&
      cli_failed(comm, w ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "out of memory"), "score"))
    rc = CLI_FAIL;
  long long col = -1;
  if (rc == CLI_OK && o->marginal) {
    col = column_of(comm, o->marginal, data, m->d);
    if (col < 0)
      rc = CLI_FAIL;
    else
      w[col] = 1.0;
  } else if (rc == CLI_OK && cli_weights(comm, o->weights, m->d, w)) {
    rc = CLI_FAIL;
  }
  nvmm_uv u;
  if (rc == CLI_OK && cli_failed(comm, nvmm_uv_from_model(m, w, &u), "score"))
    rc = CLI_FAIL;
  if (rc == CLI_OK && o->cdf && cli_failed(comm, write_cdf(comm, data, &u, w, out, dset), "score"))
    rc = CLI_FAIL;
  /* Every rank computes the same values (the same law, the same points); rank 0 prints. */
  nvmm_status st = NVMM_OK;
  for (int t = 0; rc == CLI_OK && st == NVMM_OK && t < 3; t++) {
    if (!k[t])
      continue;
    vals[t] = malloc(k[t] * sizeof *vals[t]);
    st = vals[t] ? law_values(&u, t, pts[t], k[t], vals[t]) : NVMM_ENOMEM;
  }
  if (rc == CLI_OK && cli_failed(comm, st, "score"))
    rc = CLI_FAIL;
  if (rc == CLI_OK) {
    const char *colname = col >= 0 && data ? nvmm_data_column_name(data, col) : NULL;
    if (print_law(comm, o, m, &u, col, colname, w, pts, vals, k, o->cdf ? cdf_out : NULL))
      rc = CLI_FAIL;
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
  }
  for (int t = 0; t < 3; t++) {
    free(pts[t]);
    free(vals[t]);
  }
  free(w);
  nvmm_data_close(&data);
  nvmm_model_free(&m);
  return rc;
}
