/* fuzz_h5.c: libFuzzer target for the HDF5 readers of model and checkpoint files: the input
 * bytes are written as a file and read with nvmm_model_read (`nvmm score`, `nvmm sample`,
 * `nvmm fit --init`), nvmm_checkpoint_read (`nvmm fit --resume`) and the program's
 * cli_info_describe (`nvmm info`, src/cli/info.c).
 *
 * Checked on every input: each reader either fails with a status and a message, or returns
 * what its header promises (a valid model: finite parameters, a positive-definite Sigma with
 * its factor; a checkpoint state of a known family and a positive size; a description whose
 * text is not empty and whose JSON object has a known kind and prints; no text on failure);
 * nothing leaks on either path, memory or HDF5 handles. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "nvmm.h"
#include "src/cli/cli.h"

/* Config text buffer of a checkpoint read: the size `nvmm fit --resume` uses. */
#define CONFIG_SIZE 16384
static char *h5_path;
static char config[CONFIG_SIZE];

static int all_finite(const double *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return 0;
  return 1;
}

static void check_model(const nvmm_model *m) {
  FUZZ_ASSERT((unsigned)m->family < NVMM_FAMILY_COUNT && m->d >= 1);
  size_t d = m->d;
  FUZZ_ASSERT(all_finite(m->mu, d) && all_finite(m->gamma, d) && all_finite(m->sigma, d * d));
  FUZZ_ASSERT(all_finite(m->chol, d * d) && isfinite(m->logdet));
  for (size_t i = 0; i < d; i++)
    FUZZ_ASSERT(m->chol[i * d + i] > 0);
  FUZZ_ASSERT(m->sub.kind == nvmm_family_sub_kind(m->family));
  FUZZ_ASSERT(all_finite(m->sub.par, 3));
}

/* Describes the input as `nvmm info` and `nvmm info --json` do; returns the status. */
static nvmm_status check_describe(void) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  FUZZ_ASSERT(f != NULL);
  json_t *json = NULL;
  nvmm_clear_error();
  nvmm_status st = cli_info_describe(h5_path, f, &json);
  FUZZ_ASSERT(fclose(f) == 0);
  if (st == NVMM_OK) {
    FUZZ_ASSERT(json != NULL && len > 0 && strlen(text) == len);
    const char *kind = json_string_value(json_object_get(json, "kind"));
    FUZZ_ASSERT(kind && (!strcmp(kind, "data") || !strcmp(kind, "hdf5") || !strcmp(kind, "model") ||
                         !strcmp(kind, "checkpoint")));
    char *dump = json_dumps(json, JSON_REAL_PRECISION(17) | JSON_INDENT(2));
    FUZZ_ASSERT(dump != NULL);
    free(dump);
    json_decref(json);
  } else {
    FUZZ_ASSERT(json == NULL && len == 0 && nvmm_last_error()[0] != '\0');
  }
  free(text);
  return st;
}

/* HDF5 1.10.8 trusts the object layout of a global heap collection (where variable-length
 * strings live; H5HGcache.c checks it only in debug-build assertions): a free-space object
 * (index 0) of size 0 makes H5HG__cache_heap_deserialize loop forever, and an object larger
 * than its collection makes H5HG_read copy past the heap (ASan: memcpy-param-overlap or a
 * heap-buffer-overflow read). No check in nvmm can prevent either short of parsing the file
 * format itself, so inputs with such a collection are not run (tests/fuzz/README.md, "HDF5").
 * A collection is "GCOL", version, 3 reserved bytes, its size (a length), then objects: index
 * (2 bytes), reference count (2), reserved (4), size (a length), data padded to 8 bytes; the
 * free-space object's size includes its header; past the end of the file HDF5 reads zeros.
 * A length has the superblock's size-of-lengths bytes. */
static uint64_t le(const uint8_t *data, size_t size, uint64_t at, unsigned len) {
  uint64_t v = 0;
  for (unsigned i = 0; i < len && i < 8; i++)
    if (at + i < size)
      v |= (uint64_t)data[at + i] << (8 * i);
  return v;
}

/* The size-of-lengths of the superblock HDF5 would find (at 0, 512, 1024, ...), or 0. */
static unsigned size_of_lengths(const uint8_t *data, size_t size) {
  for (size_t at = 0; at + 16 <= size; at = at ? 2 * at : 512) {
    if (memcmp(data + at, "\211HDF\r\n\032\n", 8) != 0)
      continue;
    /* Versions 0 and 1 keep it at byte 14, versions 2 and 3 at byte 10. */
    return data[at + 8] < 2 ? data[at + 14] : data[at + 10];
  }
  return 0;
}

/* 1 when a collection's objects do not tile it exactly (the assertion HDF5 leaves out). */
static int bad_global_heap(const uint8_t *data, size_t size) {
  unsigned len = size_of_lengths(data, size);
  if (len == 0)
    return 0;
  for (size_t at = 0; at + 4 <= size; at++) {
    if (memcmp(data + at, "GCOL", 4) != 0)
      continue;
    uint64_t heap = le(data, size, at + 8, len), obj = 8 + (uint64_t)len, p = 8 + (uint64_t)len;
    /* Each step advances by at least one object header unless the layout is bad; the cap only
     * bounds the scan of huge zero-filled collections, which end at their first object. */
    for (int step = 0; p < heap && step < (1 << 16); step++) {
      if (p + obj > heap)
        break; /* a tail too short for a header is free space */
      uint64_t idx = le(data, size, at + p, 2), osize = le(data, size, at + p + 8, len);
      uint64_t need = idx > 0 ? obj + ((osize + 7) & ~(uint64_t)7) : osize;
      if (need < obj || need > heap - p || (idx > 0 && osize > heap))
        return 1;
      p += need;
    }
  }
  return 0;
}

/* NVMM_FUZZ_UNFILTERED=1: run the inputs bad_global_heap excludes (to reproduce the HDF5
 * failures in tests/fuzz/hdf5-known/). */
static int unfiltered;

/* Open HDF5 objects between inputs (fuzz_h5_open_ids). */
static long ids_baseline;

/* Runs the three readers once on a valid model file, so that every HDF5 package they use is
 * started before the baseline count is taken. */
static void warm_up(void) {
  static const double mu[2] = {0.5, -1.25}, gamma[2] = {0.25, 0.125};
  static const double sigma[4] = {2.0, 0.5, 0.5, 1.5}, par[3] = {1.0, 1.5, 0.0};
  nvmm_model *m = NULL;
  nvmm_sub sub;
  FUZZ_ASSERT(nvmm_sub_make(nvmm_family_sub_kind(NVMM_FAMILY_NIG), par, &sub) == NVMM_OK);
  FUZZ_ASSERT(nvmm_model_alloc(NVMM_FAMILY_NIG, 2, &m) == NVMM_OK);
  FUZZ_ASSERT(nvmm_model_set(m, mu, gamma, sigma, &sub) == NVMM_OK);
  const char *names[1] = {"n"};
  double h[1] = {-1.5}, counters[1] = {0};
  nvmm_history_view hist = {.len = 1,
                            .loglik = h,
                            .param_change = h,
                            .elapsed = h,
                            .counters = counters,
                            .ncounters = 1,
                            .counter_names = names};
  nvmm_fit_meta meta = {"max_iter", 1, 10, 1, -1.5, "family = nig\n", "x.h5:/X"};
  FUZZ_ASSERT(nvmm_model_write(h5_path, m, &hist, &meta) == NVMM_OK);
  nvmm_model_free(&m);
  FUZZ_ASSERT(nvmm_model_read(h5_path, &m) == NVMM_OK);
  nvmm_model_free(&m);
  nvmm_fit_state state;
  FUZZ_ASSERT(nvmm_checkpoint_read(h5_path, &state, config, sizeof config) != NVMM_OK);
  FUZZ_ASSERT(check_describe() == NVMM_OK);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fuzz_init(argc, argv);
  const char *u = getenv("NVMM_FUZZ_UNFILTERED");
  unfiltered = u && u[0] == '1';
  h5_path = fuzz_path("in.h5");
  warm_up();
  ids_baseline = fuzz_h5_open_ids();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!unfiltered && bad_global_heap(data, size))
    return -1; /* not run, and kept out of the corpus */
  free(fuzz_write_file("in.h5", data, size));

  nvmm_model *m = NULL;
  nvmm_clear_error();
  nvmm_status st = nvmm_model_read(h5_path, &m);
  if (st == NVMM_OK) {
    FUZZ_ASSERT(m != NULL);
    check_model(m);
    nvmm_model_free(&m);
  } else {
    FUZZ_ASSERT(m == NULL && nvmm_last_error()[0] != '\0');
  }

  nvmm_fit_state state;
  nvmm_clear_error();
  st = nvmm_checkpoint_read(h5_path, &state, config, sizeof config);
  if (st == NVMM_OK) {
    FUZZ_ASSERT((unsigned)state.family < NVMM_FAMILY_COUNT);
    FUZZ_ASSERT(state.d >= 1 && state.iterations >= 0);
    FUZZ_ASSERT(state.mu && state.gamma && state.sigma && state.chol && state.loglik);
    FUZZ_ASSERT(memchr(config, '\0', sizeof config));
    nvmm_fit_state_free(&state);
  } else {
    FUZZ_ASSERT(state.mu == NULL && state.loglik == NULL && nvmm_last_error()[0] != '\0');
  }

  FUZZ_ASSERT(fuzz_h5_open_ids() == ids_baseline);

  (void)check_describe();
  FUZZ_ASSERT(fuzz_h5_open_ids() == ids_baseline);
  return 0;
}
