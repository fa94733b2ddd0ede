/* io_model.c: model files (a model, its fit history and metadata) built with serial HDF5 and
 * written atomically (io_commit.c), and read back through the model constructors. */
#include "nvmm/io.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "fault.h"
#include "io_impl.h"
#include "nvmm/factor.h"
#include "nvmm/version.h"

/* Largest dimension a model file may claim; the same bound as nvmm_model_alloc. */
#define MODEL_D_MAX (1 << 20)

/* The GIG embedding, stored beside the natural parameters (nvmm_family_info.sub_par). */
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
  NVMM_CHECK(h->inc_len == 0 ||
                 (h->inc_batch_ll && h->inc_full_ll && h->inc_change && h->inc_elapsed),
             NVMM_EINVAL, "incremental history of length %zu has a NULL array", h->inc_len);
  return NVMM_OK;
}

/* /history/incremental: one dataset per column of incremental EM's steps. */
static nvmm_status write_incremental(hid_t history, const nvmm_history_view *h, const char *path) {
  if (h->inc_len == 0)
    return NVMM_OK;
  hid_t group = H5Gcreate2(history, "incremental", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  NVMM_CHECK(group >= 0, NVMM_EIO, "cannot create group /history/incremental in '%s'", path);
  const char *const names[4] = {"batch_loglik", "loglik", "param_change", "elapsed"};
  const double *cols[4] = {h->inc_batch_ll, h->inc_full_ll, h->inc_change, h->inc_elapsed};
  hsize_t dims[1] = {h->inc_len};
  nvmm_status st = NVMM_OK;
  for (int k = 0; k < 4 && st == NVMM_OK; k++)
    st = nvmm__h5_put_array(group, names[k], 1, dims, cols[k], path);
  if (H5Gclose(group) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close group /history/incremental in '%s'", path);
  return st;
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
  if (st == NVMM_OK && h->penalty)
    st = nvmm__h5_put_array(group, "penalty", 1, dims, h->penalty, path);
  if (st == NVMM_OK)
    st = write_incremental(group, h, path);
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
  if (m->sigma) /* a factor-only model has none: F and D alone, O(d r) (src/numerics.md 5.13) */
    NVMM_CALL(nvmm__h5_put_array(file, "sigma", 2, dims, m->sigma, path));
  if (m->factor) {
    /* A factor model: F (d x r) and D (d), next to the dense Sigma = F F^T + diag(D) where the
     * model has it, and the attribute factors = r that says so (src/numerics.md 3.4). */
    int64_t r = (int64_t)m->factor->r;
    hsize_t fdims[2] = {m->d, m->factor->r};
    NVMM_CALL(nvmm__h5_put_attr(file, "factors", H5T_STD_I64LE, H5T_NATIVE_INT64, &r, path));
    NVMM_CALL(nvmm__h5_put_array(file, "F", 2, fdims, m->factor->f, path));
    NVMM_CALL(nvmm__h5_put_array(file, "D", 1, fdims, m->factor->dd, path));
  }
  const nvmm_family_info *fi = nvmm_family_get(m->family);
  if (fi->nsub > 0) {
    double gig[3];
    NVMM_CALL(nvmm_sub_to_gig(&m->sub, &gig[0], &gig[1], &gig[2]));
    for (int i = 0; i < 3; i++) {
      if (i < fi->nsub)
        NVMM_CALL(nvmm__h5_put_array(file, fi->sub_par[i], 0, NULL, &m->sub.par[i], path));
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
  NVMM_CHECK(nvmm_family_get(m->family) && m->d >= 1, NVMM_EINVAL,
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
  /* A factor-only model's file (attribute factors, no sigma) is read without any d x d array. */
  int dense = H5Aexists(file, "factors") <= 0 || H5Lexists(file, "sigma", H5P_DEFAULT) > 0;
  if (dense)
    NVMM_CALL(nvmm__h5_get_array(file, "sigma", 2, dims, NULL, path));
  double *buf = malloc((2 * d + (dense ? d * d : 0)) * sizeof *buf);
  NVMM_CHECK(buf, NVMM_ENOMEM, "'%s': cannot allocate a model of dimension %zu", path, d);
  double *mu = buf, *gamma = buf + d, *sigma = buf + 2 * d;
  const nvmm_family_info *fi = nvmm_family_get(family);
  nvmm_sub sub = {.kind = fi->sub_kind, .par = {0, 0, 0}};
  nvmm_model *m = NULL;
  nvmm_status st = nvmm__h5_get_array(file, "mu", 1, dims, mu, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(file, "gamma", 1, dims, gamma, path);
  if (st == NVMM_OK && dense)
    st = nvmm__h5_get_array(file, "sigma", 2, dims, sigma, path);
  if (fi->nsub > 0) {
    double par[3] = {0, 0, 0};
    for (int i = 0; i < fi->nsub && st == NVMM_OK; i++)
      st = nvmm__h5_get_array(file, fi->sub_par[i], 0, NULL, &par[i], path);
    if (st == NVMM_OK && (st = nvmm_sub_make(fi->sub_kind, par, &sub)) != NVMM_OK)
      st = with_path(st, path);
  }
  /* A factor model (attribute factors = r): its F and D define Sigma (the stored dense Sigma is
   * their product, for readers that know no factors). */
  int64_t r = 0;
  double *fd = NULL;
  if (st == NVMM_OK && H5Aexists(file, "factors") > 0) {
    st = nvmm__h5_get_attr(file, "factors", H5T_NATIVE_INT64, &r, path);
    if (st == NVMM_OK && !(r >= 1 && r <= d64))
      st = NVMM_RAISE(NVMM_EINVAL, "'%s': factors = %" PRId64 " is outside [1, d = %zu]", path, r,
                      d);
    hsize_t fdims[2] = {d, (hsize_t)r};
    /* F's shape before its memory, as sigma's above. */
    if (st == NVMM_OK)
      st = nvmm__h5_get_array(file, "F", 2, fdims, NULL, path);
    if (st == NVMM_OK) {
      fd = malloc((d * (size_t)r + d) * sizeof *fd);
      st = fd ? NVMM_OK
              : NVMM_RAISE(NVMM_ENOMEM, "'%s': cannot allocate F and D (d = %zu, r = %" PRId64 ")",
                           path, d, r);
    }
    if (st == NVMM_OK)
      st = nvmm__h5_get_array(file, "F", 2, fdims, fd, path);
    if (st == NVMM_OK)
      st = nvmm__h5_get_array(file, "D", 1, fdims, fd + d * (size_t)r, path);
  }
  if (st == NVMM_OK)
    st =
        dense ? nvmm_model_alloc(family, d, &m) : nvmm_model_alloc_factor(family, d, (size_t)r, &m);
  if (st == NVMM_OK) {
    st = r > 0 ? nvmm_model_set_factor(m, mu, gamma, (size_t)r, fd, fd + d * (size_t)r, &sub)
               : nvmm_model_set(m, mu, gamma, sigma, &sub);
    if (st != NVMM_OK) {
      st = with_path(st, path);
      nvmm_model_free(&m);
    }
  }
  free(fd);
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
