/* fuzz_config.c: libFuzzer target for the `nvmm fit` configuration path: INI text -> the
 * settings table (libinih) -> the fit options (cli_config_apply), and the stored configuration
 * of a checkpoint (cli_config_text -> cli_config_read_text), which `nvmm fit --resume` reads.
 *
 * Each input is read three times: as a config file (cli_config_read, what `nvmm fit FILE.ini`
 * does), as a stored configuration (cli_config_read_text), and as command-line options (each
 * line "key=value" given as --key value through cli_config_flag; values keep every byte).
 * Checked on every input:
 *  - accepted options are in the ranges cli_config_apply promises;
 *  - the stored configuration of accepted options reads back to the same options (a resumed
 *    fit must run with the configuration it was checkpointed with). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "src/cli/cli.h"

/* The text stored in a checkpoint: the size `nvmm fit` uses (src/cli/fit.c, write_model). */
#define STORED_TEXT_SIZE 16384

/* Checks the promises of cli_config_apply for an accepted configuration. */
static void check_ranges(const cli_fit_config *c) {
  const nvmm_fit_options *o = &c->o;
  FUZZ_ASSERT(memchr(c->data, '\0', sizeof c->data) && c->data[0]);
  FUZZ_ASSERT(memchr(c->dataset, '\0', sizeof c->dataset));
  FUZZ_ASSERT(memchr(c->out, '\0', sizeof c->out));
  FUZZ_ASSERT(memchr(c->init_model, '\0', sizeof c->init_model));
  FUZZ_ASSERT(memchr(c->checkpoint, '\0', sizeof c->checkpoint));
  FUZZ_ASSERT(memchr(c->resume, '\0', sizeof c->resume));
  FUZZ_ASSERT((unsigned)o->family < NVMM_FAMILY_COUNT);
  FUZZ_ASSERT(o->max_iter >= 1 && o->max_iter <= 100000000);
  FUZZ_ASSERT(isfinite(o->tol) && o->tol >= 0);
  FUZZ_ASSERT(isfinite(o->alpha_min) && o->alpha_min >= 0);
  FUZZ_ASSERT(o->block_rows >= 1 && o->block_rows <= (int64_t)1 << 30);
  FUZZ_ASSERT(o->scalapack_min_d >= 1 && o->scalapack_min_d <= (int64_t)1 << 20);
  FUZZ_ASSERT(c->memory_limit >= 0);
  FUZZ_ASSERT(c->checkpoint_every >= 1);
  FUZZ_ASSERT(c->verbose >= 0 && c->verbose <= 2);
  FUZZ_ASSERT(c->json == 0 || c->json == 1);
  FUZZ_ASSERT(nvmm_fit_options_check(o) == NVMM_OK);
}

/* The options two configurations must share to be the same fit. */
static void check_same(const cli_fit_config *a, const cli_fit_config *b) {
  FUZZ_ASSERT(a->o.family == b->o.family);
  FUZZ_ASSERT(a->o.algorithm == b->o.algorithm);
  FUZZ_ASSERT(a->o.regularization == b->o.regularization);
  FUZZ_ASSERT(a->o.max_iter == b->o.max_iter);
  FUZZ_ASSERT(memcmp(&a->o.tol, &b->o.tol, sizeof a->o.tol) == 0);
  FUZZ_ASSERT(memcmp(&a->o.alpha_min, &b->o.alpha_min, sizeof a->o.alpha_min) == 0);
  FUZZ_ASSERT(a->o.init == b->o.init);
  FUZZ_ASSERT(a->o.block_rows == b->o.block_rows);
  FUZZ_ASSERT(a->o.scalapack_min_d == b->o.scalapack_min_d);
  FUZZ_ASSERT(!strcmp(a->data, b->data));
  FUZZ_ASSERT(!strcmp(a->dataset, b->dataset));
  FUZZ_ASSERT(!strcmp(a->out, b->out));
  FUZZ_ASSERT(a->o.init != NVMM_INIT_MODEL || !strcmp(a->init_model, b->init_model));
  FUZZ_ASSERT(a->memory_limit == b->memory_limit);
  FUZZ_ASSERT(!strcmp(a->checkpoint, b->checkpoint));
  FUZZ_ASSERT(!a->checkpoint[0] || a->checkpoint_every == b->checkpoint_every);
  FUZZ_ASSERT(a->verbose == b->verbose);
  FUZZ_ASSERT(a->json == b->json);
}

/* Static: two configurations of ~21 KB each are too much for libFuzzer's default stack budget
 * under ASan. */
static cli_fit_config first, resumed;
static char stored[STORED_TEXT_SIZE];

/* Checks an accepted configuration, then stores and reads it back as `nvmm fit` does around a
 * checkpoint: alpha_min = d/2 + 0.1 for a made-up d = 3 is resolved before the text is
 * written, then `nvmm fit --resume` reads the stored text. */
static void check_accepted(cli_fit_config *c) {
  check_ranges(c);
  if (c->alpha_min_density)
    c->o.alpha_min = 0.5 * 3 + 0.1;
  size_t used = cli_config_text(c, stored, sizeof stored);
  FUZZ_ASSERT(used < sizeof stored);
  FUZZ_ASSERT(strlen(stored) == used);
  cli_config_reset();
  FUZZ_ASSERT(cli_config_read_text(MPI_COMM_SELF, stored, "stored") == 0);
  FUZZ_ASSERT(cli_config_apply(MPI_COMM_SELF, &resumed) == 0);
  check_same(c, &resumed);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fuzz_init(argc, argv);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *path = fuzz_write_file("config.ini", data, size);
  cli_config_reset();
  if (cli_config_read(MPI_COMM_SELF, path) == 0 && cli_config_apply(MPI_COMM_SELF, &first) == 0)
    check_accepted(&first);

  /* A C string ends at the first NUL byte; so does the attribute it is stored in. */
  size_t len = strnlen((const char *)data, size);
  char *text = malloc(len + 1);
  FUZZ_ASSERT(text);
  memcpy(text, data, len);
  text[len] = '\0';
  cli_config_reset();
  if (cli_config_read_text(MPI_COMM_SELF, text, "fuzz") == 0 &&
      cli_config_apply(MPI_COMM_SELF, &first) == 0)
    check_accepted(&first);

  /* Each line "key=value" as the option --key with the value as the shell passes it. */
  cli_config_reset();
  int flags_ok = 1;
  for (char *line = text; flags_ok && *line;) {
    char *end = line + strcspn(line, "\n"), *eq = memchr(line, '=', (size_t)(end - line));
    char next = *end;
    *end = '\0';
    if (eq) {
      char flag[130];
      *eq = '\0';
      snprintf(flag, sizeof flag, "--%s", line);
      if (cli_config_is_flag(flag))
        flags_ok = cli_config_flag(MPI_COMM_SELF, flag, eq + 1) == 0;
    }
    line = next ? end + 1 : end;
  }
  if (flags_ok && cli_config_apply(MPI_COMM_SELF, &first) == 0)
    check_accepted(&first);
  cli_config_reset();
  (void)remove(path);
  free(path);
  free(text);
  return 0;
}
