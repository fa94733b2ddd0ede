/* io_model.c: model files (a model, its fit history and metadata) built with serial HDF5 and
 * written atomically (io_commit.c), read back through the model constructors, and the
 * `nvmm info` description of any HDF5 file. */
#include "nvmm/io.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "fault.h"
#include "io_impl.h"
#include "nvmm/version.h"

/* Largest dimension a model file may claim; the same bound as nvmm_model_alloc. */
#define MODEL_D_MAX (1 << 20)

/* Vector entries shown per parameter by nvmm_file_describe before "...". */
#define DESCRIBE_MAX_ENTRIES 8

/* The subordinator's classical parameters under their natural names, in nvmm_sub.par order
 * (include/nvmm/gig.h); NULL where a family has fewer. */
static const char *const sub_names[NVMM_FAMILY_COUNT][3] = {
    {NULL, NULL, NULL},        /* gauss: no subordinator */
    {"alpha", "beta", NULL},   /* vg: Gamma(alpha, beta) */
    {"alpha", "beta", NULL},   /* ninvg: InverseGamma(alpha, beta) */
    {"mu_ig", "lambda", NULL}, /* nig: InverseGaussian(mu_ig, lambda) */
    {"p", "a", "b"},           /* gh: GIG(p, a, b) */
};
static const char *const gig_names[3] = {"gig_p", "gig_a", "gig_b"};

static nvmm_status check_history(const nvmm_history_view *h) {
  if (h->len == 0)
    return NVMM_OK;
  NVMM_CHECK(h->loglik && h->param_change && h->elapsed, NVMM_EINVAL,
             "history of length %zu has a NULL loglik, param_change or elapsed array", h->len);
  NVMM_CHECK(h->ncounters == 0 || (h->counters && h->counter_names), NVMM_EINVAL,
             "history with %zu counters has NULL counters or counter names", h->ncounters);
  for (size_t k = 0; k < h->ncounters; k++)
    NVMM_CHECK(h->counter_names[k], NVMM_EINVAL, "history counter name %zu is NULL", k);
  return NVMM_OK;
}

static nvmm_status write_history(hid_t file, const nvmm_history_view *h, const char *path) {
  hid_t group = H5Gcreate2(file, "history", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  NVMM_CHECK(group >= 0, NVMM_EIO, "cannot create group /history in '%s'", path);
  hsize_t dims[2] = {h->len, h->ncounters};
  nvmm_status st = nvmm__h5_put_array(group, "loglik", 1, dims, h->loglik, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(group, "param_change", 1, dims, h->param_change, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(group, "elapsed", 1, dims, h->elapsed, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(group, "counters", 2, dims, h->counters, path);
  if (st == NVMM_OK) {
    hid_t dset = H5Dopen2(group, "counters", H5P_DEFAULT);
    if (dset < 0)
      st = NVMM_RAISE(NVMM_EIO, "cannot reopen /history/counters in '%s'", path);
    else {
      char what[512];
      snprintf(what, sizeof what, "/history/counters of '%s'", path);
      st = nvmm__h5_write_strings(dset, "names", what, h->counter_names, h->ncounters);
      (void)H5Dclose(dset);
    }
  }
  if (H5Gclose(group) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close group /history in '%s'", path);
  return st;
}

static nvmm_status write_meta(hid_t file, const nvmm_fit_meta *meta, const char *path) {
  hid_t group = H5Gcreate2(file, "meta", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  NVMM_CHECK(group >= 0, NVMM_EIO, "cannot create group /meta in '%s'", path);
  nvmm_status st = NVMM_OK;
  int64_t ranks = meta->ranks;
  const char *const str_names[3] = {"reason", "config_text", "data_path"};
  const char *const str_values[3] = {meta->reason, meta->config_text, meta->data_path};
  for (int i = 0; i < 3 && st == NVMM_OK; i++)
    if (str_values[i])
      st = nvmm__h5_put_attr_str(group, str_names[i], str_values[i], path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(group, "iterations", H5T_STD_I64LE, H5T_NATIVE_INT64, &meta->iterations,
                           path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(group, "n", H5T_STD_I64LE, H5T_NATIVE_INT64, &meta->n, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(group, "ranks", H5T_STD_I64LE, H5T_NATIVE_INT64, &ranks, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(group, "loglik_mean", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE,
                           &meta->loglik_mean, path);
  if (H5Gclose(group) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close group /meta in '%s'", path);
  return st;
}

/* What write_contents writes: the model, its history and meta, and the extra groups. */
typedef struct contents {
  const nvmm_model *m;
  const nvmm_history_view *hist; /* or NULL */
  const nvmm_fit_meta *meta;     /* or NULL */
  nvmm__h5_fill *extra;          /* or NULL */
  const void *arg;               /* extra's argument */
} contents;

/* Everything but the commit: the model's attributes and datasets, history, meta and extra. */
static nvmm_status write_contents(hid_t file, const void *varg, const char *path) {
  const contents *c = varg;
  const nvmm_model *m = c->m;
  int64_t d = (int64_t)m->d;
  hsize_t dims[2] = {m->d, m->d};
  NVMM_CALL(nvmm__h5_put_attr_str(file, "family", nvmm_family_name(m->family), path));
  NVMM_CALL(nvmm__h5_put_attr(file, "d", H5T_STD_I64LE, H5T_NATIVE_INT64, &d, path));
  NVMM_CALL(nvmm__h5_put_attr_str(file, "nvmm_version", NVMM_VERSION, path));
  NVMM_CALL(nvmm__h5_put_array(file, "mu", 1, dims, m->mu, path));
  NVMM_CALL(nvmm__h5_put_array(file, "gamma", 1, dims, m->gamma, path));
  NVMM_CALL(nvmm__h5_put_array(file, "sigma", 2, dims, m->sigma, path));
  if (m->family != NVMM_FAMILY_GAUSS) {
    double gig[3];
    NVMM_CALL(nvmm_sub_to_gig(&m->sub, &gig[0], &gig[1], &gig[2]));
    for (int i = 0; i < 3; i++) {
      if (sub_names[m->family][i])
        NVMM_CALL(nvmm__h5_put_array(file, sub_names[m->family][i], 0, NULL, &m->sub.par[i], path));
      NVMM_CALL(nvmm__h5_put_array(file, gig_names[i], 0, NULL, &gig[i], path));
    }
  }
  if (c->hist)
    NVMM_CALL(write_history(file, c->hist, path));
  if (c->meta)
    NVMM_CALL(write_meta(file, c->meta, path));
  if (c->extra)
    NVMM_CALL(c->extra(file, c->arg, path));
  return NVMM_OK;
}

/* The test hook NVMM_FAULT_CKPT_ABORT (fault.h): this process calls abort() in the middle of
 * writing its K-th checkpoint (a file with extra groups), half of the temporary file written,
 * not renamed. */
static int fault_abort_now(int is_checkpoint) { return is_checkpoint && nvmm__fault_ckpt_abort(); }

nvmm_status nvmm_model_write(const char *path, const nvmm_model *m, const nvmm_history_view *hist,
                             const nvmm_fit_meta *meta) {
  return nvmm__model_write_with(path, m, hist, meta, NULL, NULL);
}

nvmm_status nvmm__model_write_with(const char *path, const nvmm_model *m,
                                   const nvmm_history_view *hist, const nvmm_fit_meta *meta,
                                   nvmm__h5_fill *extra, const void *arg) {
  NVMM_CHECK(path && m, NVMM_EINVAL, "model file path or model is NULL");
  NVMM_CHECK((unsigned)m->family < NVMM_FAMILY_COUNT && m->d >= 1, NVMM_EINVAL,
             "cannot write an invalid model (family %d, d = %zu) to '%s'", (int)m->family, m->d,
             path);
  if (hist)
    NVMM_CALL(check_history(hist));
  int fault = fault_abort_now(extra != NULL);
  contents c = {m, hist, meta, extra, arg};
  return nvmm__h5_write_file(path, write_contents, &c, fault);
}

/* Re-raises the last error with the file name in front, for errors from the model module,
 * whose messages cannot know the file. */
static nvmm_status with_path(nvmm_status st, const char *path) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", nvmm_last_error());
  return NVMM_RAISE(st, "'%s': %s", path, msg);
}

/* Reads the model stored in the open file into a new validated model. */
static nvmm_status read_model(hid_t file, const char *path, nvmm_model **out) {
  char name[64];
  nvmm_family family;
  int64_t d64 = 0;
  NVMM_CALL(nvmm__h5_get_attr_str(file, "family", name, sizeof name, path));
  if (nvmm_family_parse(name, &family) != NVMM_OK)
    return with_path(NVMM_EINVAL, path);
  NVMM_CALL(nvmm__h5_get_attr(file, "d", H5T_NATIVE_INT64, &d64, path));
  NVMM_CHECK(d64 >= 1 && d64 <= MODEL_D_MAX, NVMM_EINVAL,
             "'%s': dimension d = %" PRId64 " is outside [1, %d]", path, d64, MODEL_D_MAX);
  size_t d = (size_t)d64;
  hsize_t dims[2] = {d, d};
  /* The shape of sigma before memory is sized from d: a damaged d attribute (d = 100000 in a
   * d = 3 file) asked for 80 GB before the file was found inconsistent (tests/fuzz). */
  NVMM_CALL(nvmm__h5_get_array(file, "sigma", 2, dims, NULL, path));
  double *buf = malloc((2 * d + d * d) * sizeof *buf);
  NVMM_CHECK(buf, NVMM_ENOMEM, "'%s': cannot allocate a model of dimension %zu", path, d);
  double *mu = buf, *gamma = buf + d, *sigma = buf + 2 * d;
  nvmm_sub sub = {.kind = NVMM_SUB_DEGENERATE, .par = {0, 0, 0}};
  nvmm_model *m = NULL;
  nvmm_status st = nvmm__h5_get_array(file, "mu", 1, dims, mu, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(file, "gamma", 1, dims, gamma, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(file, "sigma", 2, dims, sigma, path);
  if (family != NVMM_FAMILY_GAUSS) {
    double par[3] = {0, 0, 0};
    for (int i = 0; i < 3 && st == NVMM_OK; i++)
      if (sub_names[family][i])
        st = nvmm__h5_get_array(file, sub_names[family][i], 0, NULL, &par[i], path);
    if (st == NVMM_OK && (st = nvmm_sub_make(nvmm_family_sub_kind(family), par, &sub)) != NVMM_OK)
      st = with_path(st, path);
  }
  if (st == NVMM_OK)
    st = nvmm_model_alloc(family, d, &m);
  if (st == NVMM_OK) {
    st = nvmm_model_set(m, mu, gamma, sigma, &sub);
    if (st != NVMM_OK) {
      st = with_path(st, path);
      nvmm_model_free(&m);
    }
  }
  free(buf);
  *out = m;
  return st;
}

nvmm_status nvmm_model_read(const char *path, nvmm_model **out) {
  NVMM_CHECK(out, NVMM_EINVAL, "output pointer is NULL");
  *out = NULL;
  NVMM_CHECK(path, NVMM_EINVAL, "model file path is NULL");
  NVMM_CALL(nvmm__h5_probe(path));
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  nvmm_status st = NVMM_OK;
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    st = NVMM_RAISE(NVMM_EIO, "cannot open '%s'", path);
  else
    st = read_model(file, path, out);
  if (file >= 0)
    (void)H5Fclose(file);
  nvmm__h5_quiet_end(&q);
  return st;
}

/* Text being written into a caller's buffer; output past its end is dropped. */
typedef struct text {
  char *buf;   /* the caller's buffer, always null-terminated */
  size_t size; /* its size */
  size_t used; /* characters written (at most size - 1) */
} text;

static void put(text *t, const char *fmt, ...) NVMM_PRINTF(2, 3);
static void put(text *t, const char *fmt, ...) {
  if (t->used + 1 >= t->size)
    return;
  va_list ap;
  va_start(ap, fmt);
  int w = vsnprintf(t->buf + t->used, t->size - t->used, fmt, ap);
  va_end(ap);
  if (w > 0)
    t->used += (size_t)w < t->size - t->used ? (size_t)w : t->size - t->used - 1;
}

/* "[v0, v1, ...]" with at most DESCRIBE_MAX_ENTRIES entries. */
static void put_list(text *t, size_t n, const double *v) {
  put(t, "[");
  for (size_t i = 0; i < n && i < DESCRIBE_MAX_ENTRIES; i++)
    put(t, "%s%.6g", i ? ", " : "", v[i]);
  put(t, "%s]", n > DESCRIBE_MAX_ENTRIES ? ", ..." : "");
}

/* Whether obj has attribute name, without raising an error when it does not. */
static int has_attr(hid_t obj, const char *name) { return H5Aexists(obj, name) > 0; }

/* The history and meta part of a model description; missing pieces are simply not shown. */
static void describe_fit(hid_t file, text *t) {
  hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
  hsize_t len = 0;
  if (H5Lexists(file, "history", H5P_DEFAULT) > 0 &&
      H5Lexists(file, "history/loglik", H5P_DEFAULT) > 0 &&
      (dset = H5Dopen2(file, "history/loglik", H5P_DEFAULT)) >= 0 &&
      (space = H5Dget_space(dset)) >= 0 && H5Sget_simple_extent_ndims(space) == 1 &&
      H5Sget_simple_extent_dims(space, &len, NULL) == 1) {
    double last = 0.0;
    hsize_t start = len - 1, one = 1;
    hid_t mspace = len > 0 ? H5Screate_simple(1, &one, NULL) : H5I_INVALID_HID;
    if (len > 0 && mspace >= 0 &&
        H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, NULL, &one, NULL) >= 0 &&
        H5Dread(dset, H5T_NATIVE_DOUBLE, mspace, space, H5P_DEFAULT, &last) >= 0)
      put(t, "  history: %llu iterations, final mean log-likelihood %.10g\n",
          (unsigned long long)len, last);
    else
      put(t, "  history: %llu iterations\n", (unsigned long long)len);
    if (mspace >= 0)
      (void)H5Sclose(mspace);
  }
  if (space >= 0)
    (void)H5Sclose(space);
  if (dset >= 0)
    (void)H5Dclose(dset);
  if (H5Lexists(file, "meta", H5P_DEFAULT) <= 0)
    return;
  hid_t meta = H5Gopen2(file, "meta", H5P_DEFAULT);
  if (meta < 0)
    return;
  char reason[64] = "", data_path[512] = "";
  int64_t iterations = 0, n = 0, ranks = 0;
  int have_reason = has_attr(meta, "reason") &&
                    nvmm__h5_get_attr_str(meta, "reason", reason, sizeof reason, "meta") == NVMM_OK;
  put(t, "  fit: %s", have_reason ? reason : "(no stop reason)");
  if (has_attr(meta, "iterations") && has_attr(meta, "n") && has_attr(meta, "ranks") &&
      nvmm__h5_get_attr(meta, "iterations", H5T_NATIVE_INT64, &iterations, "meta") == NVMM_OK &&
      nvmm__h5_get_attr(meta, "n", H5T_NATIVE_INT64, &n, "meta") == NVMM_OK &&
      nvmm__h5_get_attr(meta, "ranks", H5T_NATIVE_INT64, &ranks, "meta") == NVMM_OK)
    put(t, ", %" PRId64 " iterations, n = %" PRId64 " rows, %" PRId64 " ranks", iterations, n,
        ranks);
  if (has_attr(meta, "data_path") &&
      nvmm__h5_get_attr_str(meta, "data_path", data_path, sizeof data_path, "meta") == NVMM_OK)
    put(t, ", data %s", data_path);
  put(t, "\n");
  (void)H5Gclose(meta);
  if (H5Lexists(file, "state", H5P_DEFAULT) <= 0)
    return;
  hid_t st = H5Gopen2(file, "state", H5P_DEFAULT);
  if (st < 0)
    return;
  int64_t it = 0, rs = 0;
  uint64_t fp = 0;
  if (nvmm__h5_get_attr(st, "iterations", H5T_NATIVE_INT64, &it, "state") == NVMM_OK &&
      nvmm__h5_get_attr(st, "reason", H5T_NATIVE_INT64, &rs, "state") == NVMM_OK &&
      nvmm__h5_get_attr(st, "fingerprint", H5T_NATIVE_UINT64, &fp, "state") == NVMM_OK)
    put(t,
        "  checkpoint: state after %" PRId64 " iterations (%s), data fingerprint %016" PRIx64
        "; resume with nvmm fit --resume\n",
        it, nvmm_fit_reason_name((nvmm_fit_reason)rs), fp);
  (void)H5Gclose(st);
}

static void describe_model(hid_t file, const char *path, text *t) {
  char version[64] = "?";
  nvmm_model *m = NULL;
  if (has_attr(file, "nvmm_version"))
    (void)nvmm__h5_get_attr_str(file, "nvmm_version", version, sizeof version, path);
  put(t, "nvmm model file '%s' (written by nvmm %s)\n", path, version);
  if (read_model(file, path, &m) != NVMM_OK) {
    put(t, "  invalid model: %s\n", nvmm_last_error());
    return;
  }
  put(t, "  family: %s, d = %zu\n", nvmm_family_name(m->family), m->d);
  put(t, "  mu: ");
  put_list(t, m->d, m->mu);
  put(t, "\n  gamma: ");
  put_list(t, m->d, m->gamma);
  double diag[DESCRIBE_MAX_ENTRIES];
  for (size_t i = 0; i < m->d && i < DESCRIBE_MAX_ENTRIES; i++)
    diag[i] = m->sigma[i * m->d + i];
  put(t, "\n  sigma: %zu x %zu, log det %.6g, diagonal ", m->d, m->d, m->logdet);
  put_list(t, m->d, diag);
  put(t, "\n");
  if (m->family != NVMM_FAMILY_GAUSS) {
    put(t, "  subordinator:");
    for (int i = 0; i < 3; i++)
      if (sub_names[m->family][i])
        put(t, "%s %s = %.6g", i ? "," : "", sub_names[m->family][i], m->sub.par[i]);
    put(t, "\n");
  }
  nvmm_model_free(&m);
  describe_fit(file, t);
}

/* State of the walk over a non-model file's objects. */
typedef struct walk {
  text *t;       /* output, or NULL when only counting */
  size_t tables; /* 2-D numeric datasets seen */
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

static herr_t visit_dataset(hid_t dset, const char *name, walk *w) {
  hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
  hsize_t dims[H5S_MAX_RANK];
  int ndims = space >= 0 ? H5Sget_simple_extent_dims(space, dims, NULL) : -1;
  H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
  int table = ndims == 2 && (cls == H5T_FLOAT || cls == H5T_INTEGER);
  w->tables += (size_t)table;
  if (w->t) {
    char word[32];
    put(w->t, "  /%s: ", name);
    for (int i = 0; i < ndims; i++)
      put(w->t, "%s%llu", i ? " x " : "", (unsigned long long)dims[i]);
    put(w->t, "%s%s", ndims == 0 ? "scalar " : " ",
        type >= 0 ? type_word(type, word, sizeof word) : "?");
    if (table)
      put(w->t, " (rows x columns)");
    char **names = NULL;
    size_t count = 0;
    if (nvmm__h5_read_strings(dset, "columns", name, &names, &count) == NVMM_OK && count > 0) {
      put(w->t, ", columns:");
      for (size_t j = 0; j < count && j < DESCRIBE_MAX_ENTRIES; j++)
        put(w->t, "%s %s", j ? "," : "", names[j]);
      if (count > DESCRIBE_MAX_ENTRIES)
        put(w->t, ", ... (%zu in all)", count);
    }
    free(names);
    put(w->t, "\n");
  }
  if (space >= 0)
    (void)H5Sclose(space);
  if (type >= 0)
    (void)H5Tclose(type);
  return 0;
}

static herr_t visit_link(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  walk *w = data;
  (void)info;
  hid_t obj = H5Oopen(group, name, H5P_DEFAULT);
  if (obj < 0) {
    if (w->t)
      put(w->t, "  /%s: (dangling or external link)\n", name);
    return 0;
  }
  H5I_type_t kind = H5Iget_type(obj);
  if (kind == H5I_DATASET)
    (void)visit_dataset(obj, name, w);
  else if (kind == H5I_GROUP && w->t)
    put(w->t, "  /%s/ (group)\n", name);
  (void)H5Oclose(obj);
  return 0;
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

nvmm_status nvmm_file_describe(const char *path, char *buf, size_t size) {
  NVMM_CHECK(path && buf && size > 0, NVMM_EINVAL, "path or output buffer is NULL or empty");
  buf[0] = '\0';
  NVMM_CALL(nvmm__h5_probe(path));
  text t = {buf, size, 0};
  paths l = {NULL, 0, 0};
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  nvmm_status st = NVMM_OK;
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) {
    st = NVMM_RAISE(NVMM_EIO, "cannot open '%s'", path);
    goto cleanup;
  }
  if (has_attr(file, "family")) {
    describe_model(file, path, &t);
    goto cleanup;
  }
  /* The paths are listed in HDF5's native order and sorted here. Asked for name order, HDF5
   * 1.10.8 first copies a group's links into a table, and when a link of a large (dense)
   * group does not decode, it frees table entries it never filled: a damaged file crashed
   * `nvmm info` (found by tests/fuzz/fuzz_h5). The native order walks the group's index. */
  if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, collect_path, &l) < 0) {
    st = NVMM_RAISE(NVMM_EIO, "cannot list the objects of '%s'", path);
    goto cleanup;
  }
  qsort(l.v, l.n, sizeof *l.v, path_cmp);
  walk w = {NULL, 0};
  for (size_t i = 0; i < l.n; i++)
    (void)visit_link(file, l.v[i], NULL, &w);
  if (w.tables > 0)
    put(&t, "data file '%s' (%zu 2-D numeric dataset%s)\n", path, w.tables,
        w.tables == 1 ? "" : "s");
  else
    put(&t, "HDF5 file '%s' (no 2-D numeric dataset, not an nvmm model)\n", path);
  w.t = &t;
  for (size_t i = 0; i < l.n; i++)
    (void)visit_link(file, l.v[i], NULL, &w);
cleanup:
  for (size_t i = 0; i < l.n; i++)
    free(l.v[i]);
  free(l.v);
  if (file >= 0)
    (void)H5Fclose(file);
  nvmm__h5_quiet_end(&q);
  return st;
}
