/* common.c: helpers every subcommand uses: collective error reports, option values, paths. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_error(MPI_Comm comm, const char *fmt, ...) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank != 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  fputs("nvmm: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

int cli_failed(MPI_Comm comm, nvmm_status st, const char *what) {
  /* The library's agreement (nvmm_agree) brings every rank the failing rank's message; rank 0
   * prints it without the "another rank (rank R) failed: " prefixes, which say where it came
   * from, not what failed. */
  if (nvmm_agree(comm, st) == NVMM_OK)
    return 0;
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank != 0)
    return 1;
  const char *msg = nvmm_last_error();
  int off = 0, r;
  while (sscanf(msg, "another rank (rank %d) failed: %n", &r, &off) == 1 && off > 0) {
    msg += off;
    off = 0;
  }
  fprintf(stderr, "nvmm: error: %s: %s\n", what, msg[0] ? msg : nvmm_strerror(st));
  return 1;
}

int cli_parse_count(MPI_Comm comm, const char *flag, const char *v, long long lo, long long *out) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end || x < lo) {
    cli_error(comm, "%s must be an integer >= %lld, got '%s'", flag, lo, v);
    return -1;
  }
  *out = x;
  return 0;
}

void cli_split_path(const char *spec, const char *default_dataset, char *file, size_t fsize,
                    char *dataset, size_t dsize) {
  snprintf(file, fsize, "%s", spec);
  snprintf(dataset, dsize, "%s", default_dataset);
  char *colon = strrchr(file, ':');
  if (colon && colon[1] == '/') {
    snprintf(dataset, dsize, "%s", colon + 1);
    *colon = '\0';
  }
}

nvmm_status cli_open_data(MPI_Comm comm, const char *spec, nvmm_data **out) {
  *out = NULL;
  size_t len = strlen(spec);
  int count = 1;
  for (const char *c = spec; *c; c++)
    count += *c == ',';
  /* Each item, and so each of its two parts, is shorter than spec; "/X" fits in len + 3. The
   * store holds the item being split, then a file and a dataset name per item. */
  size_t part = len + 3;
  char *store = malloc((2 * (size_t)count + 1) * part);
  const char **files = malloc((size_t)count * sizeof *files);
  const char **dsets = malloc((size_t)count * sizeof *dsets);
  nvmm_status st = NVMM_OK;
  if (!store || !files || !dsets)
    st = NVMM_RAISE(NVMM_ENOMEM, "out of memory splitting the data list '%s'", spec);
  const char *item = spec;
  for (int k = 0; st == NVMM_OK && k < count; k++) {
    size_t n = strcspn(item, ",");
    char *file = store + (2 * (size_t)k + 1) * part, *dset = file + part;
    snprintf(store, part, "%.*s", (int)n, item);
    cli_split_path(store, "/X", file, part, dset, part);
    if (!file[0])
      st = NVMM_RAISE(NVMM_EINVAL, "item %d of the data list '%s' names no file", k + 1, spec);
    files[k] = file;
    dsets[k] = dset;
    item += n + 1;
  }
  /* Every rank reaches the collective open, or none does. */
  st = nvmm_agree(comm, st);
  if (st == NVMM_OK)
    st = nvmm_data_open_many(comm, count, files, dsets, out);
  free(store);
  free(files);
  free(dsets);
  return st;
}

int cli_check_writable(MPI_Comm comm, const char *path) {
  int rank, ok = 1;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    char copy[CLI_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    if (access(dir, W_OK | X_OK) != 0) {
      fprintf(stderr, "nvmm: error: cannot write %s: directory %s is not writable (%s)\n", path,
              dir, strerror(errno));
      ok = 0;
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  return ok ? 0 : -1;
}

json_t *cli_json_real(double x) { return isfinite(x) ? json_real(x) : json_null(); }

json_t *cli_json_vec(const double *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new(a, cli_json_real(v[i])) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

json_t *cli_json_sub(const nvmm_model *m) {
  const nvmm_family_info *fi = nvmm_family_get(m->family);
  json_t *sub = json_object();
  double g[3];
  int bad = sub == NULL;
  for (int k = 0; !bad && k < fi->nsub; k++)
    bad = json_object_set_new(sub, fi->sub_par[k], cli_json_real(m->sub.par[k])) != 0;
  if (!bad && fi->nsub > 0 && nvmm_sub_to_gig(&m->sub, &g[0], &g[1], &g[2]) == NVMM_OK)
    bad = json_object_set_new(sub, "gig_p", cli_json_real(g[0])) != 0 ||
          json_object_set_new(sub, "gig_a", cli_json_real(g[1])) != 0 ||
          json_object_set_new(sub, "gig_b", cli_json_real(g[2])) != 0;
  if (bad) {
    json_decref(sub);
    return NULL;
  }
  return sub;
}
