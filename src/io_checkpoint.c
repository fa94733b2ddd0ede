/* io_checkpoint.c: checkpoints: a model file plus the /state group that lets a fit continue
 * bit for bit (src/architecture.md 2.8: everything the next iteration depends on is in the
 * checkpoint, so resume == uninterrupted). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "io_impl.h"

/* What write_state stores: the state and the configuration text that /meta holds. */
typedef struct state_arg {
  const nvmm_fit_state *s; /* the fit's state */
  const char *config;      /* the configuration text, or NULL */
} state_arg;

/* FNV-1a (64 bits) over the little-endian bytes of each value: HDF5 keeps checksums of its
 * metadata but not of raw data, so without this a flipped bit in /state (a bad sector, a torn
 * copy) would resume a different fit without a word. */
#define FNV_OFFSET 14695981039346656037u
#define FNV_PRIME 1099511628211u

static uint64_t hash_u64(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; i++)
    h = (h ^ ((v >> (8 * i)) & 0xffu)) * FNV_PRIME;
  return h;
}

static uint64_t hash_doubles(uint64_t h, const double *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint64_t u;
    memcpy(&u, &v[i], sizeof u);
    h = hash_u64(h, u);
  }
  return h;
}

static uint64_t hash_text(const char *t) {
  uint64_t h = FNV_OFFSET;
  for (; *t; t++)
    h = (h ^ (unsigned char)*t) * FNV_PRIME;
  return h;
}

/* The checksum of everything in /state, as write_state stores it and read_state reads it. */
static uint64_t state_checksum(const nvmm_fit_state *s) {
  size_t d = (size_t)s->d, it = (size_t)s->iterations;
  uint64_t h = hash_text(nvmm_family_name(s->family));
  const int64_t ints[5] = {s->d, s->n, s->iterations, s->reason, (int64_t)s->sub.kind};
  for (int i = 0; i < 5; i++)
    h = hash_u64(h, (uint64_t)ints[i]);
  const double dbl[4] = {s->loglik_init, s->target_logdet, s->elapsed, s->logdet};
  h = hash_doubles(h, dbl, 4);
  h = hash_u64(h, s->fingerprint);
  h = hash_doubles(h, s->sub.par, 3);
  h = hash_doubles(h, s->mu, d);
  h = hash_doubles(h, s->gamma, d);
  if (s->factors == 0) { /* a factor fit's dispersion is in /state/factor */
    h = hash_doubles(h, s->sigma, d * d);
    h = hash_doubles(h, s->chol, d * d);
  } else {
    h = hash_u64(h, (uint64_t)s->factors);
    h = hash_doubles(h, s->factor, nvmm_fit_factor_len(s->d, s->factors));
  }
  h = hash_doubles(h, s->totals, NVMM_NCOUNTERS);
  h = hash_doubles(h, s->loglik, it);
  h = hash_doubles(h, s->change, it);
  h = hash_doubles(h, s->elapsed_hist, it);
  h = hash_doubles(h, s->counters, it * NVMM_NCOUNTERS);
  return hash_doubles(h, s->accel, nvmm_fit_accel_len_factor(s->d, s->factors));
}

/* Incremental EM's part of a state (/state/incremental), with its own checksum: other fits'
 * checkpoints stay as they were. */
static const char *const inc_cols[4] = {"batch_loglik", "loglik", "param_change", "elapsed"};

static uint64_t inc_checksum(const nvmm_fit_state *s) {
  size_t len = nvmm_stats_len((size_t)s->d), k = (size_t)s->inc_step;
  uint64_t h = FNV_OFFSET;
  const int64_t ints[4] = {s->inc_steps, s->inc_step, s->inc_on, s->inc_prior_floors};
  for (int i = 0; i < 4; i++)
    h = hash_u64(h, (uint64_t)ints[i]);
  h = hash_doubles(h, &s->inc_seen, 1);
  h = hash_doubles(h, s->inc_eta, len);
  h = hash_doubles(h, s->inc_avg, len);
  for (size_t c = 0; c < 4; c++)
    h = hash_doubles(h, s->inc_hist + c * (size_t)s->inc_steps, k);
  return h;
}

static nvmm_status write_incremental(hid_t state, const nvmm_fit_state *s, const char *path) {
  if (s->inc_steps == 0)
    return NVMM_OK;
  hid_t g = H5Gcreate2(state, "incremental", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  NVMM_CHECK(g >= 0, NVMM_EIO, "cannot create group /state/incremental in '%s'", path);
  const int64_t ints[4] = {s->inc_steps, s->inc_step, s->inc_on, s->inc_prior_floors};
  const char *const int_names[4] = {"steps", "step", "on", "prior_floors"};
  hsize_t len = nvmm_stats_len((size_t)s->d), k = (hsize_t)s->inc_step;
  nvmm_status st = NVMM_OK;
  for (int i = 0; i < 4 && st == NVMM_OK; i++)
    st = nvmm__h5_put_attr(g, int_names[i], H5T_STD_I64LE, H5T_NATIVE_INT64, &ints[i], path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(g, "seen", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s->inc_seen, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "eta", 1, &len, s->inc_eta, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "eta_avg", 1, &len, s->inc_avg, path);
  for (size_t c = 0; c < 4 && st == NVMM_OK; c++)
    st = nvmm__h5_put_array(g, inc_cols[c], 1, &k, s->inc_hist + c * (size_t)s->inc_steps, path);
  uint64_t sum = inc_checksum(s);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(g, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &sum, path);
  if (H5Gclose(g) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close /state/incremental in '%s'", path);
  return st;
}

static nvmm_status read_incremental(hid_t state, const char *path, nvmm_fit_state *s) {
  if (H5Lexists(state, "incremental", H5P_DEFAULT) <= 0)
    return NVMM_OK;
  hid_t g = H5Gopen2(state, "incremental", H5P_DEFAULT);
  NVMM_CHECK(g >= 0, NVMM_EIO, "cannot open /state/incremental in '%s'", path);
  int64_t ints[4];
  const char *const int_names[4] = {"steps", "step", "on", "prior_floors"};
  nvmm_status st = NVMM_OK;
  for (int i = 0; i < 4 && st == NVMM_OK; i++)
    st = nvmm__h5_get_attr(g, int_names[i], H5T_NATIVE_INT64, &ints[i], path);
  if (st == NVMM_OK && !(ints[0] >= 1 && ints[0] <= ((int64_t)1 << 40) && ints[1] >= 0 &&
                         ints[1] <= ints[0] && (ints[2] == 0 || ints[2] == 1)))
    st = NVMM_RAISE(NVMM_EIO,
                    "'%s': /state/incremental has invalid sizes (step %" PRId64 " of %" PRId64 ")",
                    path, ints[1], ints[0]);
  /* The history's shape before memory is sized from the step count. */
  hsize_t k = st == NVMM_OK ? (hsize_t)ints[1] : 0, len = nvmm_stats_len((size_t)s->d);
  for (size_t c = 0; c < 4 && st == NVMM_OK; c++)
    st = nvmm__h5_get_array(g, inc_cols[c], 1, &k, NULL, path);
  if (st == NVMM_OK)
    st = nvmm_fit_state_alloc_incremental(ints[0], s);
  if (st == NVMM_OK) {
    s->inc_step = ints[1];
    s->inc_on = (int)ints[2];
    s->inc_prior_floors = (int)ints[3];
    st = nvmm__h5_get_attr(g, "seen", H5T_NATIVE_DOUBLE, &s->inc_seen, path);
  }
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "eta", 1, &len, s->inc_eta, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "eta_avg", 1, &len, s->inc_avg, path);
  for (size_t c = 0; c < 4 && st == NVMM_OK; c++)
    st = nvmm__h5_get_array(g, inc_cols[c], 1, &k, s->inc_hist + c * (size_t)s->inc_steps, path);
  uint64_t sum = 0;
  if (st == NVMM_OK)
    st = nvmm__h5_get_attr(g, "checksum", H5T_NATIVE_UINT64, &sum, path);
  if (st == NVMM_OK && sum != inc_checksum(s))
    st = NVMM_RAISE(NVMM_EIO,
                    "checkpoint '%s' is corrupt: its /state/incremental does not match its "
                    "checksum",
                    path);
  (void)H5Gclose(g);
  return st;
}

/* A factor fit's part of a state (/state/factor; covered by /state's checksum): the attribute
 * factors and the two dispersion records, in place of /state's sigma and chol. */
static nvmm_status write_factor(hid_t state, const nvmm_fit_state *s, const char *path) {
  hid_t g = H5Gcreate2(state, "factor", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  NVMM_CHECK(g >= 0, NVMM_EIO, "cannot create group /state/factor in '%s'", path);
  hsize_t len = nvmm_fit_factor_len(s->d, s->factors);
  nvmm_status st =
      nvmm__h5_put_attr(g, "factors", H5T_STD_I64LE, H5T_NATIVE_INT64, &s->factors, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "record", 1, &len, s->factor, path);
  if (H5Gclose(g) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close /state/factor in '%s'", path);
  return st;
}

static nvmm_status read_factor(hid_t state, const char *path, nvmm_fit_state *s) {
  hid_t g = H5Gopen2(state, "factor", H5P_DEFAULT);
  NVMM_CHECK(g >= 0, NVMM_EIO, "cannot open /state/factor in '%s'", path);
  int64_t r = 0;
  nvmm_status st = nvmm__h5_get_attr(g, "factors", H5T_NATIVE_INT64, &r, path);
  if (st == NVMM_OK && !(r >= 1 && r < s->d))
    st = NVMM_RAISE(NVMM_EIO, "'%s': /state/factor has an invalid factors = %" PRId64, path, r);
  if (st == NVMM_OK)
    st = nvmm_fit_state_alloc_factor(r, s);
  hsize_t len = nvmm_fit_factor_len(s->d, r);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "record", 1, &len, s->factor, path);
  (void)H5Gclose(g);
  return st;
}

/* Shrinkage's part of a state (/state/shrinkage), with its own checksum: the target's eta (the
 * start it was built from is gone after a restart), tau, and the penalty's history. */
static uint64_t shrink_checksum(const nvmm_fit_state *s) {
  uint64_t h = hash_u64(FNV_OFFSET, (uint64_t)s->shrink);
  h = hash_u64(h, (uint64_t)s->shrink_prior_floors);
  const double dbl[2] = {s->shrink_tau, s->penalty_init};
  h = hash_doubles(h, dbl, 2);
  h = hash_doubles(h, s->shrink_eta0, nvmm_stats_len((size_t)s->d));
  return hash_doubles(h, s->penalty, (size_t)s->iterations);
}

static nvmm_status write_shrinkage(hid_t state, const nvmm_fit_state *s, const char *path) {
  if (s->shrink == NVMM_SHRINK_NONE)
    return NVMM_OK;
  hid_t g = H5Gcreate2(state, "shrinkage", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  NVMM_CHECK(g >= 0, NVMM_EIO, "cannot create group /state/shrinkage in '%s'", path);
  const int64_t ints[2] = {s->shrink, s->shrink_prior_floors};
  hsize_t len = nvmm_stats_len((size_t)s->d), it = (hsize_t)s->iterations;
  nvmm_status st = nvmm__h5_put_attr(g, "target", H5T_STD_I64LE, H5T_NATIVE_INT64, &ints[0], path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(g, "prior_floors", H5T_STD_I64LE, H5T_NATIVE_INT64, &ints[1], path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(g, "tau", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s->shrink_tau, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(g, "penalty_init", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &s->penalty_init,
                           path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "eta0", 1, &len, s->shrink_eta0, path);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "penalty", 1, &it, s->penalty, path);
  uint64_t sum = shrink_checksum(s);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(g, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &sum, path);
  if (H5Gclose(g) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close /state/shrinkage in '%s'", path);
  return st;
}

static nvmm_status read_shrinkage(hid_t state, const char *path, nvmm_fit_state *s) {
  if (H5Lexists(state, "shrinkage", H5P_DEFAULT) <= 0)
    return NVMM_OK;
  hid_t g = H5Gopen2(state, "shrinkage", H5P_DEFAULT);
  NVMM_CHECK(g >= 0, NVMM_EIO, "cannot open /state/shrinkage in '%s'", path);
  int64_t ints[2] = {0, 0};
  nvmm_status st = nvmm__h5_get_attr(g, "target", H5T_NATIVE_INT64, &ints[0], path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_attr(g, "prior_floors", H5T_NATIVE_INT64, &ints[1], path);
  if (st == NVMM_OK && !(ints[0] > NVMM_SHRINK_NONE && ints[0] < NVMM_SHRINK_COUNT))
    st = NVMM_RAISE(NVMM_EIO, "'%s': /state/shrinkage has an invalid target %" PRId64, path,
                    ints[0]);
  if (st == NVMM_OK)
    st = nvmm_fit_state_alloc_shrinkage(s);
  hsize_t len = nvmm_stats_len((size_t)s->d), it = (hsize_t)s->iterations;
  if (st == NVMM_OK) {
    s->shrink = (int)ints[0];
    s->shrink_prior_floors = (int)ints[1];
    st = nvmm__h5_get_attr(g, "tau", H5T_NATIVE_DOUBLE, &s->shrink_tau, path);
  }
  if (st == NVMM_OK)
    st = nvmm__h5_get_attr(g, "penalty_init", H5T_NATIVE_DOUBLE, &s->penalty_init, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "eta0", 1, &len, s->shrink_eta0, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "penalty", 1, &it, s->penalty, path);
  uint64_t sum = 0;
  if (st == NVMM_OK)
    st = nvmm__h5_get_attr(g, "checksum", H5T_NATIVE_UINT64, &sum, path);
  if (st == NVMM_OK && sum != shrink_checksum(s))
    st = NVMM_RAISE(NVMM_EIO,
                    "checkpoint '%s' is corrupt: its /state/shrinkage does not match its checksum",
                    path);
  (void)H5Gclose(g);
  return st;
}

/* Scalar attributes of /state (float64 unless noted), and the checksums of the state and of
 * the configuration text. */
static nvmm_status write_state(hid_t file, const void *varg, const char *path) {
  const state_arg *arg = varg;
  const nvmm_fit_state *s = arg->s;
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
  if (st == NVMM_OK && s->factors == 0)
    st = nvmm__h5_put_array(g, "sigma", 2, dims, s->sigma, path);
  if (st == NVMM_OK && s->factors == 0)
    st = nvmm__h5_put_array(g, "chol", 2, dims, s->chol, path);
  if (st == NVMM_OK && s->factors > 0)
    st = write_factor(g, s, path);
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
  hsize_t na = nvmm_fit_accel_len_factor(s->d, s->factors);
  if (st == NVMM_OK)
    st = nvmm__h5_put_array(g, "accel", 1, &na, s->accel, path);
  if (st == NVMM_OK)
    st = write_incremental(g, s, path);
  if (st == NVMM_OK)
    st = write_shrinkage(g, s, path);
  uint64_t sum = state_checksum(s);
  if (st == NVMM_OK)
    st = nvmm__h5_put_attr(g, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &sum, path);
  if (st == NVMM_OK && arg->config) {
    sum = hash_text(arg->config);
    st = nvmm__h5_put_attr(g, "config_checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, &sum, path);
  }
  if (H5Gclose(g) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close /state in '%s'", path);
  return st;
}

nvmm_status nvmm_checkpoint_write(const char *path, const nvmm_model *m,
                                  const nvmm_history_view *hist, const nvmm_fit_meta *meta,
                                  const nvmm_fit_state *state) {
  NVMM_CHECK(path && m && state, NVMM_EINVAL, "checkpoint path, model or state is NULL");
  NVMM_CHECK(state->d == (int64_t)m->d && state->iterations >= 0, NVMM_EINVAL,
             "checkpoint state does not match the model");
  state_arg arg = {state, meta ? meta->config_text : NULL};
  return nvmm__model_write_with(path, m, hist, meta, write_state, &arg);
}

static nvmm_status read_state(hid_t file, const char *path, nvmm_fit_state *s) {
  htri_t has_state = H5Lexists(file, "state", H5P_DEFAULT);
  char cause[256];
  nvmm__h5_cause(cause, sizeof cause);
  NVMM_CHECK(has_state >= 0, NVMM_EIO, "checkpoint '%s' is corrupt: cannot list its groups%s", path,
             cause);
  NVMM_CHECK(has_state > 0, NVMM_EIO,
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
    st = NVMM_RAISE(NVMM_EIO, "'%s': unknown family '%s'", path, fam);
  if (st == NVMM_OK && (ints[0] < 1 || ints[0] > (1 << 20) || ints[2] < 0 || ints[2] > 1 << 28))
    st = NVMM_RAISE(NVMM_EIO,
                    "'%s': /state has an invalid size (d = %" PRId64 ", %" PRId64 " iterations)",
                    path, ints[0], ints[2]);
  /* The shapes of /state/sigma and /state/loglik before memory is sized from d and the
   * iteration count: damaged ones (d = 2^20, 2^28 iterations) asked for 16 TB (tests/fuzz). */
  hsize_t dd[2] = {(hsize_t)ints[0], (hsize_t)ints[0]}, nit = (hsize_t)ints[2];
  int factor = H5Lexists(g, "factor", H5P_DEFAULT) > 0; /* a factor fit's: no sigma, chol */
  if (st == NVMM_OK)
    st = factor ? nvmm__h5_get_array(g, "mu", 1, dd, NULL, path)
                : nvmm__h5_get_array(g, "sigma", 2, dd, NULL, path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "loglik", 1, &nit, NULL, path);
  int64_t r = 0; /* a factor fit's state is sized by its factors: no d x d array */
  if (st == NVMM_OK && factor) {
    hid_t fg = H5Gopen2(g, "factor", H5P_DEFAULT);
    st = fg >= 0 ? nvmm__h5_get_attr(fg, "factors", H5T_NATIVE_INT64, &r, path)
                 : NVMM_RAISE(NVMM_EIO, "cannot open /state/factor in '%s'", path);
    if (fg >= 0)
      (void)H5Gclose(fg);
    if (st == NVMM_OK && !(r >= 1 && r < ints[0]))
      st = NVMM_RAISE(NVMM_EIO, "'%s': /state/factor has an invalid factors = %" PRId64, path, r);
  }
  if (st == NVMM_OK)
    st = nvmm_fit_state_alloc_sized(ints[0], (int)ints[2], r, s);
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
  if (st == NVMM_OK && !factor)
    st = nvmm__h5_get_array(g, "sigma", 2, dims, s->sigma, path);
  if (st == NVMM_OK && !factor)
    st = nvmm__h5_get_array(g, "chol", 2, dims, s->chol, path);
  if (st == NVMM_OK && factor)
    st = read_factor(g, path, s);
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
  hsize_t na = nvmm_fit_accel_len_factor(s->d, s->factors);
  if (st == NVMM_OK && H5Lexists(g, "accel", H5P_DEFAULT) <= 0)
    st = NVMM_RAISE(NVMM_EIO,
                    "checkpoint '%s' has no /state/accel (written by an nvmm before SQUAREM): "
                    "it cannot be resumed by this version",
                    path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_array(g, "accel", 1, &na, s->accel, path);
  uint64_t sum = 0;
  if (st == NVMM_OK && H5Aexists(g, "checksum") <= 0)
    st = NVMM_RAISE(NVMM_EIO,
                    "checkpoint '%s' has no checksum of /state (written by an older nvmm, or "
                    "damaged): it cannot be trusted to resume",
                    path);
  if (st == NVMM_OK)
    st = nvmm__h5_get_attr(g, "checksum", H5T_NATIVE_UINT64, &sum, path);
  if (st == NVMM_OK && sum != state_checksum(s))
    st = NVMM_RAISE(NVMM_EIO, "checkpoint '%s' is corrupt: its /state does not match its checksum",
                    path);
  if (st == NVMM_OK)
    st = read_incremental(g, path, s);
  if (st == NVMM_OK)
    st = read_shrinkage(g, path, s);
  (void)H5Gclose(g);
  if (st != NVMM_OK)
    nvmm_fit_state_free(s);
  return st;
}

/* Reads the configuration text /meta/config_text whole (nothing when there is none) and checks
 * it against the checksum in /state, then copies it into config (truncated to size). */
static nvmm_status read_config(hid_t file, const char *path, char *config, size_t size) {
  htri_t has_meta = H5Lexists(file, "meta", H5P_DEFAULT);
  if (has_meta == 0)
    return NVMM_OK;
  hid_t meta = has_meta > 0 ? H5Gopen2(file, "meta", H5P_DEFAULT) : H5I_INVALID_HID;
  NVMM_CHECK(meta >= 0, NVMM_EIO, "checkpoint '%s' is corrupt: cannot open /meta", path);
  char what[512], **text = NULL;
  size_t count = 0;
  snprintf(what, sizeof what, "/meta of '%s'", path);
  nvmm_status st = nvmm__h5_read_strings(meta, "config_text", what, &text, &count);
  (void)H5Gclose(meta);
  if (st != NVMM_OK || count == 0) {
    free(text);
    return st;
  }
  uint64_t sum = 0;
  hid_t g = H5Gopen2(file, "state", H5P_DEFAULT);
  if (count != 1)
    st = NVMM_RAISE(NVMM_EIO, "checkpoint '%s': /meta/config_text is not a single string", path);
  else if (g < 0 || H5Aexists(g, "config_checksum") <= 0)
    st = NVMM_RAISE(NVMM_EIO,
                    "checkpoint '%s' has no checksum of its configuration (written by an older "
                    "nvmm, or damaged): it cannot be trusted to resume",
                    path);
  else
    st = nvmm__h5_get_attr(g, "config_checksum", H5T_NATIVE_UINT64, &sum, path);
  if (st == NVMM_OK && sum != hash_text(text[0]))
    st = NVMM_RAISE(NVMM_EIO,
                    "checkpoint '%s' is corrupt: its configuration text does not match its "
                    "checksum",
                    path);
  if (st == NVMM_OK)
    snprintf(config, size, "%s", text[0]);
  if (g >= 0)
    (void)H5Gclose(g);
  free(text);
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
  char cause[256];
  nvmm__h5_cause(cause, sizeof cause);
  if (file < 0)
    st = NVMM_RAISE(NVMM_EIO, "cannot open checkpoint '%s'%s", path, cause);
  else
    st = read_state(file, path, state);
  if (st == NVMM_OK && config && size) {
    config[0] = '\0';
    st = read_config(file, path, config, size);
    if (st != NVMM_OK)
      nvmm_fit_state_free(state);
  }
  if (file >= 0)
    (void)H5Fclose(file);
  nvmm__h5_quiet_end(&q);
  return st;
}
