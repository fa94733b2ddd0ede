/* io_checkpoint.c: checkpoints: a model file plus the /state group that lets a fit continue
 * bit for bit (architecture.md: everything the next iteration depends on is in the
 * checkpoint, so resume == uninterrupted). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "io_impl.h"

/* Scalar attributes of /state (float64 unless noted). */
static nvmm_status write_state(hid_t file, const void *arg, const char *path) {
  const nvmm_fit_state *s = arg;
  hid_t g = H5Gcreate2(file, "state", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  NVMM_CHECK(g >= 0, NVMM_EIO, "cannot create group /state in '%s'", path);
  size_t d = (size_t)s->d, it = (size_t)s->iterations;
  int64_t ints[5] = {s->d, s->n, s->iterations, s->reason, (int64_t)s->sub.kind};
  const char *const int_names[5] = {"d", "n", "iterations", "reason", "sub_kind"};
  double dbl[5] = {s->loglik_init, s->target_logdet, s->elapsed, s->logdet, 0.0};
  const char *const dbl_names[4] = {"loglik_init", "target_logdet", "elapsed", "logdet"};
  hsize_t dims[2] = {d, d}, hd[2] = {it, NVMM_NCOUNTERS}, three = 3, nc = NVMM_NCOUNTERS;
  nvmm_status st = nvmm__h5_put_attr_str(g, "family", nvmm_family_name(s->family), path);
  for (int i = 0; i < 5 && st == NVMM_OK; i++)
    st = nvmm__h5_put_attr(g, int_names[i], H5T_STD_I64LE, H5T_NATIVE_INT64, &ints[i], path);
  for (int i = 0; i < 4 && st == NVMM_OK; i++)
    st = nvmm__h5_put_attr(g, dbl_names[i], H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &dbl[i], path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(g, "fingerprint", H5T_STD_U64LE, H5T_NATIVE_UINT64, &s->fingerprint,
                           path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "sub_par", 1, &three, s->sub.par, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "mu", 1, dims, s->mu, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "gamma", 1, dims, s->gamma, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "sigma", 2, dims, s->sigma, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "chol", 2, dims, s->chol, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "totals", 1, &nc, s->totals, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "loglik", 1, hd, s->loglik, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "change", 1, hd, s->change, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "elapsed_hist", 1, hd, s->elapsed_hist, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "counters", 2, hd, s->counters, path);
  if (H5Gclose(g) < 0 && st == NVMM_OK)
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO, "cannot close /state in '%s'", path);
  return st;
}

nvmm_status nvmm_checkpoint_write(const char *path, const nvmm_model *m,
                                  const nvmm_history_view *hist, const nvmm_fit_meta *meta,
                                  const nvmm_fit_state *state) {
  NVMM_CHECK(path && m && state, NVMM_EINVAL, "checkpoint path, model or state is NULL");
  NVMM_CHECK(state->d == (int64_t)m->d && state->iterations >= 0, NVMM_EINVAL,
             "checkpoint state does not match the model");
  return nvmm__model_write_with(path, m, hist, meta, write_state, state);
}

static nvmm_status read_state(hid_t file, const char *path, nvmm_fit_state *s) {
  NVMM_CHECK(H5Lexists(file, "state", H5P_DEFAULT) > 0, NVMM_EIO,
             "'%s' is not an nvmm checkpoint: it has no /state group (a model file cannot be "
             "resumed; use it as --init instead)",
             path);
  hid_t g = H5Gopen2(file, "state", H5P_DEFAULT);
  NVMM_CHECK(g >= 0, NVMM_EIO, "cannot open /state in '%s'", path);
  char fam[64];
  int64_t ints[5];
  const char *const int_names[5] = {"d", "n", "iterations", "reason", "sub_kind"};
  nvmm_status st = nvmm__h5_get_attr_str(g, "family", fam, sizeof fam, path);
  for (int i = 0; i < 5 && st == NVMM_OK; i++)
    st = nvmm__h5_get_attr(g, int_names[i], H5T_NATIVE_INT64, &ints[i], path);
  nvmm_family family = NVMM_FAMILY_GAUSS;
  if (st == NVMM_OK && nvmm_family_parse(fam, &family) != NVMM_OK)
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO, "'%s': unknown family '%s'", path, fam);
  if (st == NVMM_OK && (ints[0] < 1 || ints[0] > (1 << 20) || ints[2] < 0 || ints[2] > 1 << 28))
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO,
                    "'%s': /state has an invalid size (d = %" PRId64 ", %" PRId64 " iterations)",
                    path, ints[0], ints[2]);
  if (st == NVMM_OK)
    st = nvmm_fit_state_alloc(ints[0], (int)ints[2], s);
  if (st != NVMM_OK) {
    (void)H5Gclose(g);
    return st;
  }
  s->family = family;
  s->n = ints[1];
  s->reason = (int)ints[3];
  s->sub.kind = (nvmm_sub_kind)ints[4];
  size_t d = (size_t)s->d;
  hsize_t dims[2] = {d, d}, hd[2] = {(hsize_t)s->iterations, NVMM_NCOUNTERS}, three = 3,
          nc = NVMM_NCOUNTERS;
  double *dst[4] = {&s->loglik_init, &s->target_logdet, &s->elapsed, &s->logdet};
  const char *const dbl_names[4] = {"loglik_init", "target_logdet", "elapsed", "logdet"};
  for (int i = 0; i < 4 && st == NVMM_OK; i++)
    st = nvmm__h5_get_attr(g, dbl_names[i], H5T_NATIVE_DOUBLE, dst[i], path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_attr(g, "fingerprint", H5T_NATIVE_UINT64, &s->fingerprint, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "sub_par", 1, &three, s->sub.par, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "mu", 1, dims, s->mu, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "gamma", 1, dims, s->gamma, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "sigma", 2, dims, s->sigma, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "chol", 2, dims, s->chol, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "totals", 1, &nc, s->totals, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "loglik", 1, hd, s->loglik, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "change", 1, hd, s->change, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "elapsed_hist", 1, hd, s->elapsed_hist, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "counters", 2, hd, s->counters, path);
  (void)H5Gclose(g);
  if (st != NVMM_OK)
    nvmm_fit_state_free(s);
  return st;
}

nvmm_status nvmm_checkpoint_read(const char *path, nvmm_fit_state *state, char *config,
                                 size_t size) {
  NVMM_CHECK(path && state, NVMM_EINVAL, "checkpoint path or state is NULL");
  memset(state, 0, sizeof *state);
  NVMM_CALL(nvmm__h5_probe(path));
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  nvmm_status st = NVMM_OK;
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO, "cannot open checkpoint '%s'", path);
  else
    st = read_state(file, path, state);
  if (st == NVMM_OK && config && size) {
    config[0] = '\0';
    hid_t meta = H5Lexists(file, "meta", H5P_DEFAULT) > 0 ? H5Gopen2(file, "meta", H5P_DEFAULT)
                                                          : H5I_INVALID_HID;
    if (meta >= 0) {
      if (H5Aexists(meta, "config_text") > 0)
        st = nvmm__h5_get_attr_str(meta, "config_text", config, size, path);
      (void)H5Gclose(meta);
    }
    if (st != NVMM_OK)
      nvmm_fit_state_free(state);
  }
  if (file >= 0)
    (void)H5Fclose(file);
  nvmm__h5_quiet_end(&q);
  return st;
}
