/* info.c: `nvmm info`: what a data, model or checkpoint file holds, in words or (--json) as one
 * JSON object. One walk over the file writes both, each fact into the text and the object side
 * by side, so the two cannot drift apart. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <jansson.h>

#include "cli.h"
#include "nvmm/factor.h"
#include "src/h5util.h"

/* Vector entries and column names the text shows before "..." (the JSON has them all). */
#define SHOW_MAX 8

/* Where a description goes: the text (or NULL), and whether a JSON value could not be made. */
typedef struct desc {
  FILE *text;
  int oom;
} desc;

static void put(desc *ds, const char *fmt, ...) NVMM_PRINTF(2, 3);
static void put(desc *ds, const char *fmt, ...) {
  if (!ds->text)
    return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(ds->text, fmt, ap);
  va_end(ap);
}

/* "[v0, v1, ...]" with at most SHOW_MAX entries. */
static void put_list(desc *ds, size_t n, const double *v) {
  put(ds, "[");
  for (size_t i = 0; i < n && i < SHOW_MAX; i++)
    put(ds, "%s%.6g", i ? ", " : "", v[i]);
  put(ds, "%s]", n > SHOW_MAX ? ", ..." : "");
}

/* o[key] = v and a.append(v), taking v as jansson's *_new calls do (freed on failure, so a value
 * is filled before it is attached); a NULL o, a or v (no memory) or a failed call is remembered
 * and harmless. */
static void jset(desc *ds, json_t *o, const char *key, json_t *v) {
  if (json_object_set_new(o, key, v) != 0)
    ds->oom = 1;
}

static void jpush(desc *ds, json_t *a, json_t *v) {
  if (json_array_append_new(a, v) != 0)
    ds->oom = 1;
}

/* A JSON string of s; HDF5 strings need not be UTF-8 (an ASCII attribute holding Latin-1
 * bytes): then each byte past ASCII becomes '?'. NULL only without memory. */
static json_t *jstr(const char *s) {
  json_t *j = json_string(s);
  if (j)
    return j;
  char *t = strdup(s);
  if (!t)
    return NULL;
  for (char *p = t; *p; p++)
    if ((unsigned char)*p >= 0x80)
      *p = '?';
  j = json_string(t);
  free(t);
  return j;
}

/* Whether obj has attribute name, without raising an error when it does not. */
static int has_attr(hid_t obj, const char *name) { return H5Aexists(obj, name) > 0; }

/* The last entry of the 1-D dataset GROUP/NAME into *last; its length into *len. Returns 0
 * when there is no such dataset, 1 when only the length is known, 2 with both. */
static int history_last(hid_t file, const char *group, const char *name, hsize_t *len,
                        double *last) {
  hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
  int got = 0;
  char path[64];
  snprintf(path, sizeof path, "%s/%s", group, name);
  if (H5Lexists(file, "history", H5P_DEFAULT) > 0 &&
      (strcmp(group, "history") == 0 || H5Lexists(file, group, H5P_DEFAULT) > 0) &&
      H5Lexists(file, path, H5P_DEFAULT) > 0 && (dset = H5Dopen2(file, path, H5P_DEFAULT)) >= 0 &&
      (space = H5Dget_space(dset)) >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
      H5Sget_simple_extent_dims(space, len, NULL) == 1) {
    got = 1;
    hsize_t start = *len - 1, one = 1;
    hid_t mspace = *len > 0 ? H5Screate_simple(1, &one, NULL) : H5I_INVALID_HID;
    if (*len > 0 && mspace >= 0 &&
        H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &one, NULL) >= 0 &&
        H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, space, H5P_DEFAULT, last) >= 0)
      got = 2;
    if (mspace >= 0)
      (void)H5Sclose(mspace);
  }
  if (space >= 0)
    (void)H5Sclose(space);
  if (dset >= 0)
    (void)H5Dclose(dset);
  return got;
}

/* The /state group of a checkpoint: the point a resumed fit continues from. */
static void describe_state(hid_t file, desc *ds, json_t *o) {
  if (H5Lexists(file, "state", H5P_DEFAULT) <= 0)
    return;
  hid_t st = H5Gopen2(file, "state", H5P_DEFAULT);
  if (st < 0)
    return;
  int64_t it = 0, rs = 0;
  uint64_t fp = 0;
  if (nvmm__h5_get_attr(st, "iterations", H5T_NATIVE_INT64, &it, "state") == NVMM_OK &&
      nvmm__h5_get_attr(st, "reason", H5T_NATIVE_INT64, &rs, "state") == NVMM_OK &&
      nvmm__h5_get_attr(st, "fingerprint", H5T_NATIVE_UINT64, &fp, "state") == NVMM_OK) {
    const char *reason = nvmm_fit_reason_name((nvmm_fit_reason)rs);
    char hex[17];
    snprintf(hex, sizeof hex, "%016" PRIx64, fp);
    /* Incremental EM's checkpoints also count mini-batch steps (/state/incremental). */
    int64_t steps = -1, step = 0;
    hid_t inc = H5Lexists(st, "incremental", H5P_DEFAULT) > 0
                    ? H5Gopen2(st, "incremental", H5P_DEFAULT)
                    : H5I_INVALID_HID;
    if (inc >= 0) {
      if (nvmm__h5_get_attr(inc, "steps", H5T_NATIVE_INT64, &steps, "state") != NVMM_OK ||
          nvmm__h5_get_attr(inc, "step", H5T_NATIVE_INT64, &step, "state") != NVMM_OK)
        steps = -1;
      (void)H5Gclose(inc);
    }
    char steps_text[96] = "";
    if (steps >= 0)
      snprintf(steps_text, sizeof steps_text, "%" PRId64 " of %" PRId64 " mini-batch steps and ",
               step, steps);
    put(ds,
        "  checkpoint: state after %s%" PRId64
        " iterations (%s), data fingerprint %s; resume with nvmm fit --resume\n",
        steps_text, it, reason, hex);
    json_t *s = json_object();
    if (steps >= 0) {
      jset(ds, s, "steps", json_integer(step));
      jset(ds, s, "steps_total", json_integer(steps));
    }
    jset(ds, s, "iterations", json_integer(it));
    jset(ds, s, "reason", json_string(reason));
    jset(ds, s, "fingerprint", json_string(hex));
    jset(ds, o, "state", s);
  }
  (void)H5Gclose(st);
}

/* The history (incremental EM's steps, then the iterations), meta and state part of a model
 * description; missing pieces are simply not
 * shown (the state only with the meta it comes with). */
static void describe_fit(hid_t file, desc *ds, json_t *o) {
  hsize_t len = 0;
  double last = 0.0;
  int got = history_last(file, "history", "loglik", &len, &last);
  /* Incremental EM's steps come first (/history/incremental). */
  hsize_t steps = 0;
  double inc_last = 0.0;
  int inc = history_last(file, "history/incremental", "loglik", &steps, &inc_last) > 0;
  /* A shrinkage fit's penalty after each iteration (/history/penalty). */
  hsize_t plen = 0;
  double pen = 0.0;
  int shrunk = history_last(file, "history", "penalty", &plen, &pen) == 2 && plen == len;
  if (got > 0) {
    if (inc)
      put(ds, "  history: %llu mini-batch steps, then", (unsigned long long)steps);
    else
      put(ds, "  history:");
    if (got == 2 && shrunk)
      put(ds,
          " %llu iterations, final mean log-likelihood %.10g, penalty %.10g (shrinkage), "
          "objective %.10g\n",
          (unsigned long long)len, last, pen, last + pen);
    else if (got == 2)
      put(ds, " %llu iterations, final mean log-likelihood %.10g\n", (unsigned long long)len, last);
    else
      put(ds, " %llu iterations\n", (unsigned long long)len);
    json_t *h = json_object();
    if (inc)
      jset(ds, h, "steps", json_integer((json_int_t)steps));
    jset(ds, h, "iterations", json_integer((json_int_t)len));
    if (got == 2)
      jset(ds, h, "final_loglik_mean", cli_json_real(last));
    if (got == 2 && shrunk)
      jset(ds, h, "final_penalty", cli_json_real(pen));
    jset(ds, o, "history", h);
  }
  if (H5Lexists(file, "meta", H5P_DEFAULT) <= 0)
    return;
  hid_t meta = H5Gopen2(file, "meta", H5P_DEFAULT);
  if (meta < 0)
    return;
  json_t *f = json_object();
  char reason[64] = "", data_path[512] = "";
  int64_t iterations = 0, n = 0, ranks = 0;
  double loglik = 0.0;
  int have_reason = has_attr(meta, "reason") &&
                    nvmm__h5_get_attr_str(meta, "reason", reason, sizeof reason, "meta") == NVMM_OK;
  put(ds, "  fit: %s", have_reason ? reason : "(no stop reason)");
  jset(ds, f, "reason", have_reason ? jstr(reason) : json_null());
  if (has_attr(meta, "iterations") && has_attr(meta, "n") && has_attr(meta, "ranks") &&
      nvmm__h5_get_attr(meta, "iterations", H5T_NATIVE_INT64, &iterations, "meta") == NVMM_OK &&
      nvmm__h5_get_attr(meta, "n", H5T_NATIVE_INT64, &n, "meta") == NVMM_OK &&
      nvmm__h5_get_attr(meta, "ranks", H5T_NATIVE_INT64, &ranks, "meta") == NVMM_OK) {
    put(ds, ", %" PRId64 " iterations, n = %" PRId64 " rows, %" PRId64 " ranks", iterations, n,
        ranks);
    jset(ds, f, "iterations", json_integer(iterations));
    jset(ds, f, "n", json_integer(n));
    jset(ds, f, "ranks", json_integer(ranks));
  }
  if (has_attr(meta, "data_path") &&
      nvmm__h5_get_attr_str(meta, "data_path", data_path, sizeof data_path, "meta") == NVMM_OK) {
    put(ds, ", data %s", data_path);
    jset(ds, f, "data", jstr(data_path));
  }
  put(ds, "\n");
  /* Not in the text line: the final mean log-likelihood the fit reported. */
  if (has_attr(meta, "loglik_mean") &&
      nvmm__h5_get_attr(meta, "loglik_mean", H5T_NATIVE_DOUBLE, &loglik, "meta") == NVMM_OK)
    jset(ds, f, "loglik_mean", cli_json_real(loglik));
  jset(ds, o, "fit", f);
  (void)H5Gclose(meta);
  describe_state(file, ds, o);
}

/* The standard errors of `nvmm fit --stderr` (/stderr, src/numerics.md 14), where the file has
 * them; a group that does not read as written is not shown. */
static void describe_stderr(hid_t file, const nvmm_model *m, desc *ds, json_t *o) {
  if (H5Lexists(file, "stderr", H5P_DEFAULT) <= 0)
    return;
  hid_t g = H5Gopen2(file, "stderr", H5P_DEFAULT);
  if (g < 0)
    return;
  size_t d = m->d;
  hsize_t dv[1] = {d}, dm[2] = {d, d};
  char method[64] = "", gauge[128] = "";
  double *v = malloc((2 * d + d * d) * sizeof *v), sub[3];
  const nvmm_family_info *fi = nvmm_family_get(m->family);
  int gam = H5Lexists(g, "gamma", H5P_DEFAULT) > 0, ok = v != NULL;
  ok = ok && nvmm__h5_get_attr_str(g, "method", method, sizeof method, "stderr") == NVMM_OK &&
       nvmm__h5_get_attr_str(g, "gauge", gauge, sizeof gauge, "stderr") == NVMM_OK &&
       nvmm__h5_get_array(g, "mu", 1, dv, v, "stderr") == NVMM_OK &&
       (!gam || nvmm__h5_get_array(g, "gamma", 1, dv, v + d, "stderr") == NVMM_OK) &&
       nvmm__h5_get_array(g, "sigma", 2, dm, v + 2 * d, "stderr") == NVMM_OK;
  for (int k = 0; ok && k < fi->nsub; k++) {
    sub[k] = NAN;
    if (H5Lexists(g, fi->sub_par[k], H5P_DEFAULT) > 0)
      ok = nvmm__h5_get_array(g, fi->sub_par[k], 0, dv, &sub[k], "stderr") == NVMM_OK;
  }
  if (ok) {
    json_t *j = json_object();
    jset(ds, j, "method", jstr(method));
    jset(ds, j, "gauge", jstr(gauge));
    put(ds, "  standard errors (%s, gauge %s): mu ", method, gauge);
    put_list(ds, d, v);
    jset(ds, j, "mu", cli_json_vec(v, d));
    if (gam) {
      put(ds, ", gamma ");
      put_list(ds, d, v + d);
      jset(ds, j, "gamma", cli_json_vec(v + d, d));
    }
    double diag[SHOW_MAX] = {0};
    for (size_t i = 0; i < d && i < SHOW_MAX; i++)
      diag[i] = v[2 * d + i * d + i];
    put(ds, ", sigma diagonal ");
    put_list(ds, d, diag);
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < d; i++)
      jpush(ds, rows, cli_json_vec(v + 2 * d + i * d, d));
    jset(ds, j, "sigma", rows);
    for (int k = 0; k < fi->nsub; k++)
      if (!isnan(sub[k])) {
        put(ds, ", %s %.6g", fi->sub_par[k], sub[k]);
        jset(ds, j, fi->sub_par[k], cli_json_real(sub[k]));
      }
    put(ds, "\n");
    jset(ds, o, "stderr", j);
  }
  free(v);
  (void)H5Gclose(g);
}

static void describe_model(hid_t file, const char *path, desc *ds, json_t *o) {
  char version[64] = "?";
  int have_version =
      has_attr(file, "nvmm_version") &&
      nvmm__h5_get_attr_str(file, "nvmm_version", version, sizeof version, path) == NVMM_OK;
  put(ds, "nvmm model file '%s' (written by nvmm %s)\n", path, version);
  jset(ds, o, "nvmm_version", have_version ? jstr(version) : json_null());
  /* nvmm_model_read opens the file once more (HDF5 shares the open file) and validates. */
  nvmm_model *m = NULL;
  if (nvmm_model_read(path, &m) != NVMM_OK) {
    put(ds, "  invalid model: %s\n", nvmm_last_error());
    jset(ds, o, "error", jstr(nvmm_last_error()));
    return;
  }
  size_t d = m->d;
  put(ds, "  family: %s, d = %zu\n", nvmm_family_name(m->family), d);
  jset(ds, o, "family", json_string(nvmm_family_name(m->family)));
  jset(ds, o, "d", json_integer((json_int_t)d));
  put(ds, "  mu: ");
  put_list(ds, d, m->mu);
  put(ds, "\n  gamma: ");
  put_list(ds, d, m->gamma);
  jset(ds, o, "mu", cli_json_vec(m->mu, d));
  jset(ds, o, "gamma", cli_json_vec(m->gamma, d));
  double diag[SHOW_MAX] = {0};
  if (m->factor) {
    /* A factor model: Sigma = F F^T + diag(D) (src/numerics.md 3.4), shown through F and D in
     * O(d r) (its dense Sigma, where the file has one, is not read: d x d for a large d). */
    const nvmm_factor *fa = m->factor;
    size_t r = fa->r;
    for (size_t i = 0; i < d && i < SHOW_MAX; i++) {
      diag[i] = fa->dd[i];
      for (size_t k = 0; k < r; k++)
        diag[i] += fa->f[i * r + k] * fa->f[i * r + k];
    }
    put(ds, "\n  sigma: %zu x %zu, log det %.6g, diagonal ", d, d, fa->logdet);
    put_list(ds, d, diag);
    put(ds, "\n  factor model: %zu factors, Sigma = F F^T + diag(D); D ", r);
    put_list(ds, d, fa->dd);
    put(ds, "\n");
    for (size_t i = 0; i < d && i < SHOW_MAX; i++) {
      put(ds, "  F[%zu]: ", i);
      put_list(ds, r, fa->f + i * r);
      put(ds, "\n");
    }
    if (d > SHOW_MAX)
      put(ds, "  F: %zu more rows\n", d - SHOW_MAX);
    json_t *frows = json_array();
    for (size_t i = 0; frows && i < d; i++)
      jpush(ds, frows, cli_json_vec(fa->f + i * r, r));
    jset(ds, o, "logdet", cli_json_real(fa->logdet));
    jset(ds, o, "factors", json_integer((json_int_t)r));
    jset(ds, o, "F", frows);
    jset(ds, o, "D", cli_json_vec(fa->dd, d));
  } else {
    for (size_t i = 0; i < d && i < SHOW_MAX; i++)
      diag[i] = m->sigma[i * d + i];
    put(ds, "\n  sigma: %zu x %zu, log det %.6g, diagonal ", d, d, m->logdet);
    put_list(ds, d, diag);
    put(ds, "\n");
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < d; i++)
      jpush(ds, rows, cli_json_vec(m->sigma + i * d, d));
    jset(ds, o, "sigma", rows);
    jset(ds, o, "logdet", cli_json_real(m->logdet));
  }
  /* The subordinator as `nvmm fit --json` gives it: natural names, then the GIG embedding. */
  const nvmm_family_info *fi = nvmm_family_get(m->family);
  if (fi->nsub > 0) {
    put(ds, "  subordinator:");
    for (int i = 0; i < fi->nsub; i++)
      put(ds, "%s %s = %.6g", i ? "," : "", fi->sub_par[i], m->sub.par[i]);
    put(ds, "\n");
  }
  jset(ds, o, "subordinator", cli_json_sub(m));
  describe_stderr(file, m, ds, o);
  nvmm_model_free(&m);
  describe_fit(file, ds, o);
}

/* State of the walk over a non-model file's objects. */
typedef struct walk {
  desc *ds;
  json_t *objects; /* the "objects" array, or NULL when only counting */
  size_t tables;   /* 2-D numeric datasets seen */
} walk;

static const char *type_word(hid_t type, char *buf, size_t size) {
  H5T_class_t cls = H5Tget_class(type);
  size_t bits = 8 * H5Tget_size(type);
  if (cls == H5T_FLOAT)
    snprintf(buf, size, "float%zu", bits);
  else if (cls == H5T_INTEGER)
    snprintf(buf, size, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits);
  else if (cls == H5T_STRING)
    snprintf(buf, size, "string");
  else
    snprintf(buf, size, "non-numeric");
  return buf;
}

/* A new entry {"path": "/name", "object": kind} for the objects array (NULL without memory). */
static json_t *object_entry(desc *ds, const char *name, const char *kind) {
  json_t *e = json_object();
  size_t len = strlen(name);
  char *slashed = malloc(len + 2);
  if (slashed) {
    slashed[0] = '/';
    memcpy(slashed + 1, name, len + 1);
    jset(ds, e, "path", jstr(slashed));
    free(slashed);
  } else {
    ds->oom = 1;
  }
  jset(ds, e, "object", json_string(kind));
  return e;
}

static void visit_dataset(hid_t dset, const char *name, walk *w) {
  hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
  hsize_t dims[H5S_MAX_RANK];
  int ndims = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
  H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
  int table = ndims == 2 && (cls == H5T_FLOAT || cls == H5T_INTEGER);
  w->tables += (size_t)table;
  if (w->objects) {
    desc *ds = w->ds;
    json_t *e = object_entry(ds, name, "dataset");
    char word[32];
    const char *tw = type >= 0 ? type_word(type, word, sizeof word) : "?";
    put(ds, "  /%s: ", name);
    json_t *shape = ndims >= 0 ? json_array() : json_null();
    for (int i = 0; i < ndims; i++) {
      put(ds, "%s%llu", i ? " x " : "", (unsigned long long)dims[i]);
      jpush(ds, shape, json_integer((json_int_t)dims[i]));
    }
    put(ds, "%s%s", ndims == 0 ? "scalar " : " ", tw);
    if (table)
      put(ds, " (rows x columns)");
    jset(ds, e, "shape", shape);
    jset(ds, e, "type", type >= 0 ? json_string(tw) : json_null());
    jset(ds, e, "table", json_boolean(table));
    char **names = NULL;
    size_t count = 0;
    if (nvmm__h5_read_strings(dset, "columns", name, &names, &count) == NVMM_OK && count > 0) {
      put(ds, ", columns:");
      for (size_t j = 0; j < count && j < SHOW_MAX; j++)
        put(ds, "%s %s", j ? "," : "", names[j]);
      if (count > SHOW_MAX)
        put(ds, ", ... (%zu in all)", count);
      json_t *cols = json_array();
      for (size_t j = 0; j < count; j++)
        jpush(ds, cols, jstr(names[j]));
      jset(ds, e, "columns", cols);
    }
    free(names);
    /* nvmm import --missing drop: how many incomplete rows the import skipped. */
    char missing[16];
    int64_t dropped = 0;
    if (has_attr(dset, "missing") && has_attr(dset, "rows_dropped") &&
        nvmm__h5_get_attr_str(dset, "missing", missing, sizeof missing, name) == NVMM_OK &&
        nvmm__h5_get_attr(dset, "rows_dropped", H5T_NATIVE_INT64, &dropped, name) == NVMM_OK) {
      put(ds, ", missing: %s (%lld row%s dropped)", missing, (long long)dropped,
          dropped == 1 ? "" : "s");
      jset(ds, e, "missing", jstr(missing));
      jset(ds, e, "rows_dropped", json_integer((json_int_t)dropped));
    }
    put(ds, "\n");
    jpush(ds, w->objects, e);
  }
  if (space >= 0)
    (void)H5Sclose(space);
  if (type >= 0)
    (void)H5Tclose(type);
}

static void visit_link(hid_t group, const char *name, walk *w) {
  hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
  if (obj < 0) {
    if (w->objects) {
      put(w->ds, "  /%s: (dangling or external link)\n", name);
      jpush(w->ds, w->objects, object_entry(w->ds, name, "link"));
    }
    return;
  }
  H5I_type_t kind = H5Iget_type(obj);
  if (kind == H5I_DATASET)
    visit_dataset(obj, name, w);
  else if (kind == H5I_GROUP && w->objects) {
    put(w->ds, "  /%s/ (group)\n", name);
    jpush(w->ds, w->objects, object_entry(w->ds, name, "group"));
  }
  (void)H5Oclose(obj);
}

/* The link paths of a file, in the order HDF5 gives them. */
typedef struct paths {
  char **v;   /* n paths (each malloc'ed) */
  size_t n;   /* paths */
  size_t cap; /* allocated pointers */
} paths;

static herr_t collect_path(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  paths *l = data;
  (void)group;
  (void)info;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    char **v = realloc(l->v, cap * sizeof *v);
    if (!v)
      return -1;
    l->v = v;
    l->cap = cap;
  }
  if (!(l->v[l->n] = strdup(name)))
    return -1;
  l->n++;
  return 0;
}

/* Component by component ('/' before any other character): H5Lvisit's H5_ITER_INC order. */
static int path_cmp(const void *a, const void *b) {
  const unsigned char *x = *(const unsigned char *const *)a, *y = *(const unsigned char *const *)b;
  for (; *x && *x == *y; x++, y++)
    ;
  return (*x == '/' ? 1 : *x) - (*y == '/' ? 1 : *y);
}

/* A file that is not a model: its objects in path order, after a line saying what it is. */
static nvmm_status describe_objects(hid_t file, const char *path, desc *ds, json_t *o) {
  paths l = {NULL, 0, 0};
  nvmm_status st = NVMM_OK;
  /* The paths are listed in HDF5's native order and sorted here. Asked for name order, HDF5
   * 1.10.8 first copies a group's links into a table, and when a link of a large (dense)
   * group does not decode, it frees table entries it never filled: a damaged file crashed
   * `nvmm info` (found by tests/fuzz/fuzz_h5). The native order walks the group's index. */
  if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, collect_path, &l) < 0) {
    st = NVMM_RAISE(NVMM_EIO, "cannot list the objects of '%s'", path);
    goto cleanup;
  }
  qsort(l.v, l.n, sizeof *l.v, path_cmp);
  walk w = {ds, NULL, 0};
  for (size_t i = 0; i < l.n; i++)
    visit_link(file, l.v[i], &w);
  jset(ds, o, "kind", json_string(w.tables > 0 ? "data" : "hdf5"));
  if (w.tables > 0)
    put(ds, "data file '%s' (%zu 2-D numeric dataset%s)\n", path, w.tables,
        w.tables == 1 ? "" : "s");
  else
    put(ds, "HDF5 file '%s' (no 2-D numeric dataset, not an nvmm model)\n", path);
  /* The listing pass: visit_link tests w.objects to tell it from the counting pass. */
  if (!(w.objects = json_array())) {
    ds->oom = 1;
    goto cleanup;
  }
  for (size_t i = 0; i < l.n; i++)
    visit_link(file, l.v[i], &w);
  jset(ds, o, "objects", w.objects);
cleanup:
  for (size_t i = 0; i < l.n; i++)
    free(l.v[i]);
  free(l.v);
  return st;
}

nvmm_status cli_info_describe(const char *path, FILE *text, json_t **json) {
  if (json)
    *json = NULL;
  NVMM_CHECK(path, NVMM_EINVAL, "file path is NULL");
  NVMM_CALL(nvmm__h5_probe(path));
  json_t *o = json_object();
  NVMM_CHECK(o, NVMM_ENOMEM, "out of memory describing '%s'", path);
  desc ds = {text, 0};
  jset(&ds, o, "file", jstr(path));
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  nvmm_status st = NVMM_OK;
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) {
    st = NVMM_RAISE(NVMM_EIO, "cannot open '%s'", path);
  } else if (has_attr(file, "family")) {
    jset(&ds, o, "kind",
         json_string(H5Lexists(file, "state", H5P_DEFAULT) > 0 ? "checkpoint" : "model"));
    describe_model(file, path, &ds, o);
  } else {
    st = describe_objects(file, path, &ds, o);
  }
  if (file >= 0)
    (void)H5Fclose(file);
  nvmm__h5_quiet_end(&q);
  if (st == NVMM_OK && json && ds.oom)
    st = NVMM_RAISE(NVMM_ENOMEM, "out of memory describing '%s' in JSON", path);
  if (st == NVMM_OK && json)
    *json = o;
  else
    json_decref(o);
  return st;
}

static const char help[] =
    "Usage: nvmm info [--json] [--no-duplicates] FILE.h5\n"
    "\n"
    "Describes a data, model or checkpoint file in words, or with --json as one JSON\n"
    "object. Its keys (numbers in full; a non-finite one is null; what the file lacks\n"
    "is left out):\n"
    "  file          the path given\n"
    "  kind          \"data\" (a 2-D numeric dataset), \"model\", \"checkpoint\" (a model\n"
    "                file with the /state a fit resumes from) or \"hdf5\" (other)\n"
    "  objects       data and other files: [{path, object (dataset, group or link),\n"
    "                shape, type, table (2-D numeric), columns, missing and\n"
    "                rows_dropped (nvmm import --missing drop)}], in path order\n"
    "  nvmm_version, family, d, mu, gamma, sigma (d rows), logdet\n"
    "                models and checkpoints\n"
    "  subordinator  {its parameters by name, gig_p, gig_a, gig_b}\n"
    "  error         why a model's parameters are invalid (then they are left out)\n"
    "  history       {steps (incremental EM), iterations, final_loglik_mean, final_penalty\n"
    "                (shrinkage)}\n"
    "  stderr        {method, gauge, mu, gamma, sigma, the subordinator's parameters by\n"
    "                name}: the standard errors of nvmm fit --stderr\n"
    "  fit           {reason, iterations, n, ranks, data, loglik_mean}: the /meta\n"
    "  state         checkpoints: {iterations, reason, fingerprint; incremental EM's steps and\n"
    "                steps_total}\n"
    "  duplicates    data files: {dataset, distinct_repeated (distinct rows that occur\n"
    "                more than once), rows (the rows that are copies of them, every copy\n"
    "                counted), max_multiplicity, max_row (that row; among ties the\n"
    "                smallest; null when no row repeats)}: exact equality (-0.0 equals\n"
    "                0.0) in /X, or the file's only 2-D numeric dataset\n"
    "\n"
    "Counting duplicates reads every row once (in parallel under mpirun, each rank\n"
    "holding about 1/P of the distinct rows); --no-duplicates skips it.\n";

/* The table of a data file's facts whose duplicate rows `nvmm info` counts: /X (where nvmm fit
 * reads by default) when it is a table, else the only table; "" when there is none of these. */
static void dups_table(json_t *facts, char *name, size_t size) {
  json_t *objects = json_object_get(facts, "objects"), *e;
  size_t i, tables = 0;
  const char *only = NULL;
  name[0] = '\0';
  json_array_foreach(objects, i, e) {
    const char *p = json_string_value(json_object_get(e, "path"));
    if (!p || !json_is_true(json_object_get(e, "table")))
      continue;
    tables++;
    only = p;
    if (strcmp(p, "/X") == 0) {
      snprintf(name, size, "%s", p);
      return;
    }
  }
  if (tables == 1 && strlen(only) < size)
    snprintf(name, size, "%s", only);
}

/* The duplicates line of the text and the "duplicates" object of the facts. */
static void describe_dups(const nvmm_dups_report *r, const char *table, desc *ds, json_t *o) {
  int other = strcmp(table, "/X") != 0;
  put(ds, "  duplicates%s%s: ", other ? " in " : "", other ? table : "");
  json_t *j = json_object();
  jset(ds, j, "dataset", jstr(table));
  jset(ds, j, "distinct_repeated", json_integer((json_int_t)r->distinct_repeated));
  jset(ds, j, "rows", json_integer((json_int_t)r->rows));
  jset(ds, j, "max_multiplicity", json_integer((json_int_t)r->max_multiplicity));
  if (r->max_row) {
    /* The row in full precision: rows one ulp apart are different rows. */
    put(ds,
        "%" PRId64 " rows are copies of %" PRId64 " distinct row%s; the most repeated (%" PRId64
        " times): (",
        r->rows, r->distinct_repeated, r->distinct_repeated == 1 ? "" : "s", r->max_multiplicity);
    for (int64_t k = 0; k < r->d && k < SHOW_MAX; k++)
      put(ds, "%s%.17g", k ? ", " : "", r->max_row[k]);
    put(ds, "%s)\n", r->d > SHOW_MAX ? ", ..." : "");
    jset(ds, j, "max_row", cli_json_vec(r->max_row, (size_t)r->d));
  } else {
    put(ds, "none\n");
    jset(ds, j, "max_row", json_null());
  }
  jset(ds, o, "duplicates", j);
}

/* Collective: counts the duplicate rows of table of path on every rank of comm into *r. */
static nvmm_status count_dups(MPI_Comm comm, const char *path, const char *table,
                              nvmm_dups_report *r) {
  nvmm_data *data = NULL;
  nvmm_status st = nvmm_data_open(comm, path, table, &data);
  if (st == NVMM_OK)
    st = nvmm_data_duplicates(comm, data, r);
  nvmm_data_close(&data);
  if (st != NVMM_OK) {
    /* The cause without the "another rank (rank R) failed: " prefix (cli_failed drops it only
     * at the start of the message). */
    char why[1024];
    const char *msg = nvmm_last_error();
    int off = 0, who;
    if (sscanf(msg, "another rank (rank %d) failed: %n", &who, &off) == 1 && off > 0)
      msg += off;
    snprintf(why, sizeof why, "%s", msg);
    st = NVMM_RAISE(st,
                    "counting the duplicate rows of '%s' dataset '%s': %s (--no-duplicates "
                    "skips this)",
                    path, table, why);
  }
  return st;
}

int cli_info(MPI_Comm comm, int argc, char **argv) {
  static const cli_opt opts[] = {
      {"json", NULL, "print the JSON object instead of the text", 0},
      {"no-duplicates", NULL, "do not read a data file's rows to count duplicate rows", 0},
      {0}};
  cli_args a;
  int rc = cli_args_parse(comm, "info", opts, argc, argv, &a);
  if (rc != CLI_OK)
    return rc;
  if (cli_help_wanted(comm, &a, help, opts)) {
    cli_args_free(&a);
    return CLI_OK;
  }
  int rank, json = 0, dups = 1;
  for (int i = 0; i < a.n; i++) {
    if (a.which[i] == 0)
      json = 1;
    else
      dups = 0;
  }
  MPI_Comm_rank(comm, &rank);
  const char *path = a.npos == 1 ? a.pos[0] : NULL;
  cli_args_free(&a);
  if (!path) {
    cli_error(comm, "info: needs exactly one FILE.h5 (see nvmm info --help)");
    return CLI_USAGE;
  }
  json_t *facts = NULL;
  char *out = NULL, table[512] = "";
  size_t len = 0;
  FILE *text = NULL;
  nvmm_status st = NVMM_OK;
  /* Rank 0 describes the file (the text into memory: it goes out once the duplicate rows are
   * counted, so a failure prints nothing but the error) and names the table to count. */
  if (rank == 0) {
    if (!json && !(text = open_memstream(&out, &len)))
      st = NVMM_RAISE(NVMM_ENOMEM, "out of memory describing '%s'", path);
    else
      st = cli_info_describe(path, text, &facts);
    if (st == NVMM_OK && dups)
      dups_table(facts, table, sizeof table);
  }
  MPI_Bcast(table, sizeof table, MPI_CHAR, 0, comm);
  if (table[0]) {
    nvmm_dups_report r = {0};
    st = count_dups(comm, path, table, &r);
    if (st == NVMM_OK && rank == 0) {
      desc ds = {text, 0};
      describe_dups(&r, table, &ds, facts);
      if (ds.oom && json)
        st = NVMM_RAISE(NVMM_ENOMEM, "out of memory describing '%s' in JSON", path);
    }
    nvmm_dups_report_free(&r);
  }
  if (text && fclose(text) != 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_ENOMEM, "out of memory describing '%s'", path);
  if (st == NVMM_OK && json && rank == 0 &&
      !(out = json_dumps(facts, JSON_REAL_PRECISION(17) | JSON_INDENT(2))))
    st = NVMM_RAISE(NVMM_ENOMEM, "out of memory writing the JSON description of '%s'", path);
  json_decref(facts);
  if (cli_failed(comm, st, "info")) {
    free(out);
    return CLI_FAIL;
  }
  if (out)
    fputs(out, stdout);
  if (out && json)
    fputs("\n", stdout);
  free(out);
  return CLI_OK;
}
