/* config.c: `nvmm fit` settings: one table of keys, filled from the configuration stored in a
 * checkpoint (JSON, for --resume), an INI file (libinih) and then command-line options (the
 * option wins), parsed and validated into the fit options. Every error names the key and where
 * its value came from (file:line, the checkpoint or the option). The same table is the options
 * table of `nvmm fit` (src/cli/opts.c). */
#include <errno.h>
#include <ini.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct setting {
  const char *key;
  const char *help;
  char value[CLI_PATH_MAX];
  char origin[CLI_PATH_MAX + 32];
  int set;
} setting;

/* The keys, in the order `nvmm fit --help` lists them. Defaults are not here: they come from
 * nvmm_fit_options_default (the one home of defaults) and cli_fit_config_default. */
static setting settings[] = {
    {"data",
     "FILE.h5[:/dataset][,FILE.h5[:/dataset]...]  data to fit; the files of a comma-separated "
     "list give their rows in order (default dataset /X)",
     "", "", 0},
    {"family", "gh|hyp|nig|vg|ninvg|gauss  mixture family (hyp: GH with p = (d+1)/2; default nig)",
     "", "", 0},
    {"symmetric",
     "0|1  1: gamma = 0, the family's symmetric law (--symmetric alone means 1; default 0)", "", "",
     0},
    {"factors",
     "R  0: a dense Sigma (default); R >= 1: a factor model, Sigma = F F^T + diag(D) with R "
     "factors (R < d), O(d R) work per row (algorithm em; no stderr or shrinkage yet)",
     "", "", 0},
    {"factor_d_floor",
     "X  factor fits: D_j >= X times column j's scale, 1e-8 <= X < 1 (default 1e-8; R "
     "factanal's bound on the uniquenesses is 0.005): a Heywood column (D_j -> 0) then stops on "
     "its bound instead of crawling towards 0",
     "", "", 0},
    {"out", "FILE.h5  where the fitted model goes (default model.h5)", "", "", 0},
    {"max_iter", "N  iteration cap (default 200)", "", "", 0},
    {"stop",
     "mle|params  convergence test (default mle): mle stops when the log-likelihood still to "
     "gain is below tol_ll and the parameter change (subordinator included) below tol, two "
     "iterations in a row; params is normix's rule, the (mu, gamma, L) change below tol",
     "", "", 0},
    {"accel",
     "squarem|none  acceleration (default squarem): SQUAREM extrapolates every third EM step "
     "from the two before it, with a monotone safeguard; none runs plain EM steps",
     "", "", 0},
    {"tol", "X  parameter change (relative RMS) below which the fit may stop (default 1e-3)", "",
     "", 0},
    {"tol_ll",
     "X  mle rule: total log-likelihood (nats, over all rows) still to gain below which the fit "
     "may stop (default 1e-3)",
     "", "", 0},
    {"regularization", "none|det_sigma_one|det_sigma_x|a_eq_b  (default det_sigma_one)", "", "", 0},
    {"algorithm",
     "em|mcecm|incremental  (default em); incremental: mini-batch EM for `epochs` passes, then "
     "batch EM to the MLE (finish)",
     "", "", 0},
    {"batch_rows", "N  incremental: rows per mini-batch (default 1024)", "", "", 0},
    {"epochs",
     "X  incremental: passes over the data in mini-batches, fractional allowed (default 1)", "", "",
     0},
    {"eta_update",
     "identity|robbins_monro[:tau0[:kappa]]|sample_weighted|ewma[:w]|affine:b:c  incremental: "
     "how each mini-batch's expectations enter the running ones (default robbins_monro:10:0.6)",
     "", "", 0},
    {"average",
     "tail|none  incremental: the epochs' model from the mean of the running expectations over "
     "the second half of the steps (Polyak-Ruppert), or from the last (default tail)",
     "", "", 0},
    {"seed", "S  incremental: seed of the mini-batches' permutation (default 0)", "", "", 0},
    {"finish",
     "batch|none  incremental: after the epochs, batch EM (accelerated) to the MLE, or stop "
     "(default batch)",
     "", "", 0},
    {"eval_every",
     "K  incremental: a full log-likelihood pass every K steps, counted in passes (default 0: "
     "none)",
     "", "", 0},
    {"shrinkage",
     "none|model|isotropic[:s2]|diagonal|MODEL.h5  shrink towards a target law: the fit "
     "maximizes the log-likelihood plus tau n times the target's expected complete-data "
     "log-density (a MAP fit; incremental EM too). The target is the start model (in the gauge "
     "|Sigma| = 1), with Sigma = s2 I (default s2 1) or the diagonal of its Sigma, or a model "
     "file of the same family. Sets regularization none: the penalty fixes the gauge (default "
     "none)",
     "", "", 0},
    {"shrinkage_tau",
     "T  shrinkage: the target's weight in rows per data row, T >= 0 (required with shrinkage)", "",
     "", 0},
    {"init", "moments|submodels|MODEL.h5  (default moments; submodels: gh only)", "", "", 0},
    {"alpha_min", "X  lower bound on the VG shape; 'density' = d/2 + 0.1 (default none)", "", "",
     0},
    {"block_rows", "N  rows per reduction block (default 4096)", "", "", 0},
    {"memory_limit",
     "BYTES[K|M|G]  a rank whose shard is larger streams it from the file every iteration "
     "(default: no limit)",
     "", "", 0},
    {"scalapack_min_d", "D  factor Sigma with ScaLAPACK on all ranks from this d on (default 2048)",
     "", "", 0},
    {"checkpoint", "FILE.h5  checkpoint file; resumed from automatically when it exists", "", "",
     0},
    {"checkpoint_every",
     "K  checkpoint every K iterations (default 10), on a stop signal and at the end", "", "", 0},
    {"checkpoint_every_steps",
     "K  incremental: checkpoint every K mini-batch steps during the epochs (default 1000)", "", "",
     0},
    {"resume", "CKPT.h5  continue a checkpointed fit (its stored configuration is the base)", "",
     "", 0},
    {"verbose",
     "0|1|2  silent, banner + summary, + one row per iteration and a time split in the JSON "
     "(default 1)",
     "", "", 0},
    {"json", "0|1  print a JSON summary on stdout (default 0)", "", "", 0},
    {"stderr",
     "0|1  1: standard errors of mu, gamma, Sigma and the subordinator's parameters after the "
     "fit, by one more pass (outer product of the scores, in the fit's gauge; --stderr alone "
     "means 1; default 0); not with shrinkage, nor incremental EM with finish = none",
     "", "", 0},
};
#define NSETTINGS (sizeof settings / sizeof *settings)

static setting *find(const char *key) {
  for (size_t i = 0; i < NSETTINGS; i++)
    if (!strcmp(settings[i].key, key))
      return &settings[i];
  return NULL;
}

void cli_config_reset(void) {
  for (size_t i = 0; i < NSETTINGS; i++) {
    settings[i].value[0] = '\0';
    settings[i].origin[0] = '\0';
    settings[i].set = 0;
  }
}

const cli_opt *cli_fit_opts(void) {
  /* The option names are the keys with '-' for '_'; the help strings start with the value's
   * form. Built once: the table is the program's. */
  static cli_opt opts[NSETTINGS + 1];
  static char names[NSETTINGS][32];
  if (!opts[0].name)
    for (size_t i = 0; i < NSETTINGS; i++) {
      snprintf(names[i], sizeof names[i], "%s", settings[i].key);
      for (char *c = names[i]; *c; c++)
        if (*c == '_')
          *c = '-';
      /* --json alone means --json 1 */
      opts[i] =
          (cli_opt){names[i], "", settings[i].help,
                    !strcmp(settings[i].key, "json") || !strcmp(settings[i].key, "symmetric") ||
                        !strcmp(settings[i].key, "stderr")};
    }
  return opts;
}

/* libinih reads a line into a fixed buffer (INI_MAX_LINE, 200 bytes in Debian's build) and
 * parses the rest of a longer line as a line of its own, which can silently set a key from the
 * middle of a long path. This reader stops the parse at such a line instead. */
typedef struct line_reader {
  FILE *f;
  int line;     /* lines read so far */
  int too_long; /* the first line longer than the buffer holds, or 0 */
  int max;      /* the longest line the buffer holds, in characters */
} line_reader;

static char *read_line(char *str, int num, void *stream) {
  line_reader *r = stream;
  if (!fgets(str, num, r->f))
    return NULL;
  r->line++;
  r->max = num - 1; /* room for the terminating null; the newline is read past */
  size_t len = strlen(str);
  if (len + 1 == (size_t)num && str[len - 1] != '\n') {
    int c = getc(r->f);
    if (c != '\n' && c != EOF) {
      r->too_long = r->line;
      return NULL;
    }
  }
  return str;
}

/* The first key the handler refused, with its line and section together. libinih goes on
 * parsing after an error and returns the line of the first one, so a report that took the line
 * from libinih and the names from the last refusal could name one line and another's key. The
 * names are held whole: a line (and so a name) is shorter than libinih's 200-byte buffer. */
typedef struct ini_ctx {
  const char *path;     /* the config file, for the origin of each value */
  const line_reader *r; /* the line being parsed is r->line when the handler runs */
  int line;             /* line of the first refused key, or 0 */
  int bad_section;      /* 1: refused for its section, 0: the key is unknown */
  char section[256];    /* section of the refused key ("" at the top) */
  char key[256];        /* the refused key */
} ini_ctx;

static int on_ini(void *user, const char *section, const char *name, const char *value) {
  ini_ctx *c = user;
  if (c->line)
    return 0; /* only the first refusal is reported, and nothing after it is applied */
  int bad_section = section[0] && strcmp(section, "fit") != 0;
  setting *s = bad_section ? NULL : find(name);
  if (!s) {
    c->line = c->r->line;
    c->bad_section = bad_section;
    snprintf(c->section, sizeof c->section, "%s", section);
    snprintf(c->key, sizeof c->key, "%s", name);
    return 0;
  }
  snprintf(s->value, sizeof s->value, "%s", value);
  snprintf(s->origin, sizeof s->origin, "%s (key '%s')", c->path, name);
  s->set = 1;
  return 1;
}

int cli_config_read(MPI_Comm comm, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    cli_error(comm, "cannot read config file %s: %s", path, strerror(errno));
    return -1;
  }
  line_reader r = {f, 0, 0, 0};
  ini_ctx c = {path, &r, 0, 0, "", ""};
  int line = ini_parse_stream(read_line, &r, on_ini, &c);
  fclose(f);
  if (line == 0 && r.too_long == 0)
    return 0;
  /* libinih's line is the first error of any kind, or 0 when the only error is the line too
   * long, which ended the parse: every earlier line was read. */
  if (line == 0)
    cli_error(comm, "%s:%d: line longer than %d characters", path, r.too_long, r.max);
  else if (line == c.line && c.bad_section)
    cli_error(comm, "%s:%d: unknown section [%s] (key '%s'; keys go at the top or under [fit])",
              path, line, c.section, c.key);
  else if (line == c.line && c.section[0])
    cli_error(comm, "%s:%d: unknown config key '%s' in section [%s] (see nvmm fit --help)", path,
              line, c.key, c.section);
  else if (line == c.line)
    cli_error(comm, "%s:%d: unknown config key '%s' at the top level (see nvmm fit --help)", path,
              line, c.key);
  else
    cli_error(comm, "%s:%d: syntax error (expected key = value)", path, line);
  return -1;
}

/* The stored configuration is what cli_config_text wrote: one JSON object, a member per key,
 * strings, integers and reals (17 significant digits) that read back to the same bits. */
int cli_config_read_text(MPI_Comm comm, const char *text, const char *origin) {
  json_error_t err;
  json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
  if (!root || !json_is_object(root)) {
    if (root)
      cli_error(comm, "%s: cannot use the stored configuration (not a JSON object)", origin);
    else
      cli_error(comm, "%s: cannot use the stored configuration (line %d: %s)", origin, err.line,
                err.text);
    json_decref(root);
    return -1;
  }
  const char *key;
  json_t *v;
  int rc = 0;
  json_object_foreach(root, key, v) {
    setting *s = find(key);
    char buf[64];
    const char *value =
        json_is_string(v) ? json_string_value(v)
        : json_is_integer(v)
            ? (snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v)), buf)
        : json_is_real(v) ? (snprintf(buf, sizeof buf, "%.17g", json_real_value(v)), buf)
                          : NULL;
    const char *why = !s                                 ? "unknown key '%s'"
                      : !value                           ? "key '%s' is not a string or a number"
                      : strlen(value) >= sizeof s->value ? "the value of key '%s' is too long"
                                                         : NULL;
    if (why) {
      char what[256];
      snprintf(what, sizeof what, why, key);
      cli_error(comm, "%s: cannot use the stored configuration (%s)", origin, what);
      rc = -1;
      break;
    }
    snprintf(s->value, sizeof s->value, "%s", value);
    snprintf(s->origin, sizeof s->origin, "%s (stored key '%s')", origin, key);
    s->set = 1;
  }
  json_decref(root);
  return rc;
}

int cli_config_flag(MPI_Comm comm, const char *flag, const char *value) {
  char key[128];
  snprintf(key, sizeof key, "%s", flag + 2);
  for (char *c = key; *c; c++)
    if (*c == '-')
      *c = '_';
  setting *s = find(key);
  if (!s) {
    cli_error(comm, "fit: unknown option '%s' (see nvmm fit --help)", flag);
    return -1;
  }
  snprintf(s->value, sizeof s->value, "%s", value);
  snprintf(s->origin, sizeof s->origin, "option %s", flag);
  s->set = 1;
  return 0;
}

int cli_config_set_opt(MPI_Comm comm, int k, const char *value) {
  char flag[64];
  snprintf(flag, sizeof flag, "--%s", cli_fit_opts()[k].name);
  return cli_config_flag(comm, flag, value ? value : "1");
}

int cli_config_is_flag(const char *flag) {
  char key[128];
  if (strncmp(flag, "--", 2) != 0)
    return 0;
  snprintf(key, sizeof key, "%s", flag + 2);
  for (char *c = key; *c; c++)
    if (*c == '-')
      *c = '_';
  return find(key) != NULL;
}

static int parse_long(MPI_Comm comm, const setting *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s->value, &end, 10);
  if (errno || end == s->value || *end || v < lo || v > hi) {
    cli_error(comm, "%s: '%s' must be an integer in [%ld, %ld]", s->origin, s->value, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

static int parse_double(MPI_Comm comm, const setting *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s->value, &end);
  if (errno || end == s->value || *end || !isfinite(v)) {
    cli_error(comm, "%s: '%s' is not a finite number", s->origin, s->value);
    return -1;
  }
  *out = v;
  return 0;
}

/* Key `key`, when set, as a finite non-negative number into *out. */
static int set_nonneg(MPI_Comm comm, const char *key, double *out) {
  const setting *s = find(key);
  if (!s->set)
    return 0;
  if (parse_double(comm, s, out))
    return -1;
  if (*out < 0) {
    cli_error(comm, "%s: %s = %s must be non-negative", s->origin, key, s->value);
    return -1;
  }
  return 0;
}

/* Key `key`, when set, as one of the n names (its index into *out); `what` names the kind. */
static int set_choice(MPI_Comm comm, const char *key, const char *what, const char *const *names,
                      int n, int *out) {
  const setting *s = find(key);
  if (!s->set)
    return 0;
  for (int i = 0; i < n; i++)
    if (!strcmp(s->value, names[i])) {
      *out = i;
      return 0;
    }
  char list[256] = "";
  for (int i = 0; i < n; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
             i == 0       ? ""
             : i == n - 1 ? " or "
                          : ", ",
             names[i]);
  cli_error(comm, "%s: unknown %s '%s' (expected %s)", s->origin, what, s->value, list);
  return -1;
}

const char *const cli_algorithm_names[NVMM_ALG_COUNT] = {"em", "mcecm", "incremental"};

/* The shortest of %.15g, %.16g, %.17g that reads back to the same bits. */
static void exact_g(double v, char *buf, size_t size) {
  for (int p = 15; p <= 17; p++) {
    snprintf(buf, size, "%.*g", p, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

void cli_eta_rule_text(const nvmm_eta_rule *r, char *buf, size_t size) {
  const char *name = nvmm_eta_rule_name(r->kind);
  char a[32], b[32];
  if (r->kind == NVMM_ETA_ROBBINS_MONRO || r->kind == NVMM_ETA_AFFINE) {
    exact_g(r->kind == NVMM_ETA_AFFINE ? r->b : r->tau0, a, sizeof a);
    exact_g(r->kind == NVMM_ETA_AFFINE ? r->c : r->kappa, b, sizeof b);
    snprintf(buf, size, "%s:%s:%s", name, a, b);
  } else if (r->kind == NVMM_ETA_EWMA) {
    exact_g(r->w, a, sizeof a);
    snprintf(buf, size, "%s:%s", name, a);
  } else {
    snprintf(buf, size, "%s", name);
  }
}

/* The incremental keys: refused with another algorithm (they would do nothing). */
static int apply_incremental(MPI_Comm comm, nvmm_fit_options *o) {
  static const char *const keys[] = {
      "batch_rows", "epochs", "eta_update", "average",
      "seed",       "finish", "eval_every", "checkpoint_every_steps"};
  const setting *s;
  long v;
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    if ((s = find(keys[i]))->set && o->algorithm != NVMM_ALG_INCREMENTAL) {
      cli_error(comm, "%s: %s is for algorithm = incremental (the algorithm is %s)", s->origin,
                keys[i], cli_algorithm_names[o->algorithm]);
      return -1;
    }
  if ((s = find("batch_rows"))->set) {
    if (parse_long(comm, s, 1, 1L << 40, &v))
      return -1;
    o->batch_rows = v;
  }
  if ((s = find("epochs"))->set) {
    if (parse_double(comm, s, &o->epochs))
      return -1;
    if (!(o->epochs > 0)) {
      cli_error(comm, "%s: epochs = %s must be positive", s->origin, s->value);
      return -1;
    }
  }
  if ((s = find("eta_update"))->set && nvmm_eta_rule_parse(s->value, &o->eta_rule) != NVMM_OK) {
    cli_error(comm, "%s: %s", s->origin, nvmm_last_error());
    return -1;
  }
  if ((s = find("seed"))->set) {
    char *end;
    errno = 0;
    unsigned long long u = strtoull(s->value, &end, 10);
    if (errno || end == s->value || *end || s->value[0] == '-') {
      cli_error(comm, "%s: seed '%s' must be an integer in [0, 2^64)", s->origin, s->value);
      return -1;
    }
    o->seed = (uint64_t)u;
  }
  static const char *const finishes[] = {"none", "batch"}, *const averages[] = {"none", "tail"};
  int fin = o->finish, avg = o->average;
  if (set_choice(comm, "finish", "finish", finishes, 2, &fin) ||
      set_choice(comm, "average", "average", averages, 2, &avg))
    return -1;
  o->finish = fin;
  o->average = avg;
  if ((s = find("eval_every"))->set) {
    if (parse_long(comm, s, 0, 1L << 40, &v))
      return -1;
    o->eval_every = v;
  }
  return 0;
}

void cli_shrink_text(const cli_fit_config *c, char *buf, size_t size) {
  static const char *const names[NVMM_SHRINK_COUNT] = {"none", "model", "isotropic", "diagonal",
                                                       ""};
  if (c->o.shrink == NVMM_SHRINK_GIVEN) {
    snprintf(buf, size, "%s", c->shrink_model);
  } else if (c->o.shrink == NVMM_SHRINK_ISOTROPIC) {
    char a[32];
    exact_g(c->o.shrink_s2, a, sizeof a);
    snprintf(buf, size, "isotropic:%s", a);
  } else {
    snprintf(buf, size, "%s", names[c->o.shrink]);
  }
}

/* The shrinkage keys (src/numerics.md 13.2). A value that is no keyword names a model file. */
static int apply_shrinkage(MPI_Comm comm, cli_fit_config *cfg) {
  nvmm_fit_options *o = &cfg->o;
  const setting *s = find("shrinkage"), *t = find("shrinkage_tau"), *r = find("regularization");
  if (s->set && strcmp(s->value, "none")) {
    const char *v = s->value;
    if (!strcmp(v, "model")) {
      o->shrink = NVMM_SHRINK_MODEL;
    } else if (!strcmp(v, "diagonal")) {
      o->shrink = NVMM_SHRINK_DIAGONAL;
    } else if (!strncmp(v, "isotropic", 9) && (v[9] == '\0' || v[9] == ':')) {
      o->shrink = NVMM_SHRINK_ISOTROPIC;
      char *end;
      if (v[9] == ':' &&
          (o->shrink_s2 = strtod(v + 10, &end),
           end == v + 10 || *end || !(o->shrink_s2 > 0) || !isfinite(o->shrink_s2))) {
        cli_error(comm, "%s: shrinkage '%s': s2 must be a positive number (isotropic:s2)",
                  s->origin, v);
        return -1;
      }
    } else {
      o->shrink = NVMM_SHRINK_GIVEN;
      snprintf(cfg->shrink_model, sizeof cfg->shrink_model, "%s", v);
    }
    if (!t->set) {
      cli_error(comm,
                "%s: shrinkage = %s needs shrinkage_tau (the target's weight in rows per "
                "data row)",
                s->origin, v);
      return -1;
    }
    if (parse_double(comm, t, &o->shrink_tau))
      return -1;
    if (!(o->shrink_tau >= 0) || !isfinite(o->shrink_tau)) {
      cli_error(comm, "%s: shrinkage_tau = %s must be finite and non-negative", t->origin,
                t->value);
      return -1;
    }
    /* The penalty picks the gauge; another one would lower the objective. */
    if (r->set && o->regularization != NVMM_REG_NONE) {
      cli_error(comm,
                "%s: regularization = %s cannot go with shrinkage (%s): the penalty fixes the "
                "gauge itself; leave regularization unset or set it to none",
                r->origin, r->value, s->origin);
      return -1;
    }
    o->regularization = NVMM_REG_NONE;
  } else if (t->set) {
    cli_error(comm, "%s: shrinkage_tau is for a shrinkage fit (shrinkage is %s)", t->origin,
              s->set ? s->value : "not set");
    return -1;
  }
  return 0;
}

/* Applies the table to the defaults. The family goes first: other defaults depend on it. */
int cli_config_apply(MPI_Comm comm, cli_fit_config *cfg) {
  setting *s;
  /* Values are text: the stored configuration is JSON, whose strings are UTF-8. */
  for (size_t i = 0; i < NSETTINGS; i++) {
    json_t *t = settings[i].set ? json_string(settings[i].value) : NULL;
    json_decref(t);
    if (settings[i].set && !t) {
      cli_error(comm, "%s: the value is not UTF-8 text", settings[i].origin);
      return -1;
    }
  }
  nvmm_family fam = NVMM_FAMILY_NIG;
  if ((s = find("family"))->set && nvmm_family_parse(s->value, &fam) != NVMM_OK) {
    cli_error(comm, "%s: %s", s->origin, nvmm_last_error());
    return -1;
  }
  cli_fit_config_default(fam, cfg);
  nvmm_fit_options *o = &cfg->o;
  long v;
  if ((s = find("data"))->set) {
    snprintf(cfg->data, sizeof cfg->data, "%s", s->value);
    char *colon = strrchr(cfg->data, ':');
    if (colon && colon[1] == '/') {
      snprintf(cfg->dataset, sizeof cfg->dataset, "%s", colon + 1);
      *colon = '\0';
    }
  }
  if ((s = find("out"))->set)
    snprintf(cfg->out, sizeof cfg->out, "%s", s->value);
  if ((s = find("max_iter"))->set) {
    if (parse_long(comm, s, 1, 100000000, &v))
      return -1;
    o->max_iter = (int)v;
  }
  static const char *const stops[] = {"mle", "params"}, *const accels[] = {"squarem", "none"};
  int choice = (int)o->stop, acc = (int)o->accel;
  if (set_nonneg(comm, "tol", &o->tol) || set_nonneg(comm, "tol_ll", &o->tol_ll) ||
      set_choice(comm, "stop", "stopping rule", stops, 2, &choice) ||
      set_choice(comm, "accel", "acceleration", accels, 2, &acc))
    return -1;
  o->stop = (nvmm_stop_rule)choice;
  o->accel = (nvmm_accel)acc;
  if ((s = find("regularization"))->set &&
      nvmm_regularization_parse(s->value, &o->regularization) != NVMM_OK) {
    cli_error(comm, "%s: %s", s->origin, nvmm_last_error());
    return -1;
  }
  choice = (int)o->algorithm;
  if (set_choice(comm, "algorithm", "algorithm", cli_algorithm_names, NVMM_ALG_COUNT, &choice))
    return -1;
  o->algorithm = (nvmm_algorithm)choice;
  if (apply_incremental(comm, o))
    return -1;
  if (apply_shrinkage(comm, cfg))
    return -1;
  static const char *const flags[] = {"0", "1"};
  if (set_choice(comm, "symmetric", "symmetric value", flags, 2, &o->symmetric))
    return -1;
  if ((s = find("init"))->set) {
    if (!strcmp(s->value, "moments"))
      o->init = NVMM_INIT_MOMENTS;
    else if (!strcmp(s->value, "submodels"))
      o->init = NVMM_INIT_SUBMODELS;
    else {
      o->init = NVMM_INIT_MODEL;
      snprintf(cfg->init_model, sizeof cfg->init_model, "%s", s->value);
    }
    if (o->init == NVMM_INIT_SUBMODELS && o->family != NVMM_FAMILY_GH) {
      cli_error(comm, "%s: init = submodels is for family gh only", s->origin);
      return -1;
    }
  }
  if ((s = find("alpha_min"))->set) {
    if (!strcmp(s->value, "density"))
      cfg->alpha_min_density = 1;
    else if (parse_double(comm, s, &o->alpha_min))
      return -1;
    if (o->alpha_min < 0) {
      cli_error(comm, "%s: alpha_min must be non-negative", s->origin);
      return -1;
    }
  }
  if ((s = find("block_rows"))->set) {
    if (parse_long(comm, s, 1, 1L << 30, &v))
      return -1;
    o->block_rows = v;
  }
  if ((s = find("memory_limit"))->set) {
    char *end;
    errno = 0;
    double v2 = strtod(s->value, &end);
    double mult = *end == 'K' ? 1024.0 : *end == 'M' ? 1048576.0 : *end == 'G' ? 1073741824.0 : 1.0;
    if (mult > 1.0)
      end++;
    if (errno || end == s->value || *end || !(v2 > 0) || v2 * mult > 9e18) {
      cli_error(comm, "%s: '%s' is not a positive size (bytes, or with K, M or G)", s->origin,
                s->value);
      return -1;
    }
    cfg->memory_limit = (int64_t)(v2 * mult);
  }
  if ((s = find("scalapack_min_d"))->set) {
    if (parse_long(comm, s, 1, 1L << 20, &v))
      return -1;
    o->scalapack_min_d = v;
  }
  if ((s = find("checkpoint"))->set)
    snprintf(cfg->checkpoint, sizeof cfg->checkpoint, "%s", s->value);
  if ((s = find("checkpoint_every"))->set) {
    if (parse_long(comm, s, 1, 100000000, &v))
      return -1;
    cfg->checkpoint_every = (int)v;
  }
  if ((s = find("checkpoint_every_steps"))->set) {
    if (parse_long(comm, s, 1, 1L << 40, &v))
      return -1;
    cfg->checkpoint_every_steps = v;
  }
  if ((s = find("resume"))->set)
    snprintf(cfg->resume, sizeof cfg->resume, "%s", s->value);
  if ((s = find("verbose"))->set) {
    if (parse_long(comm, s, 0, 2, &v))
      return -1;
    cfg->verbose = (int)v;
  }
  if ((s = find("json"))->set) {
    if (parse_long(comm, s, 0, 1, &v))
      return -1;
    cfg->json = (int)v;
  }
  if ((s = find("factors"))->set) {
    if (parse_long(comm, s, 0, 1L << 20, &v))
      return -1;
    o->factors = v;
  }
  if ((s = find("factor_d_floor"))->set) {
    if (parse_double(comm, s, &o->factor_d_floor))
      return -1;
    if (!(o->factor_d_floor >= NVMM_FACTOR_D_FLOOR && o->factor_d_floor < 1)) {
      cli_error(comm, "%s: factor_d_floor = %g must lie in [%g, 1)", s->origin, o->factor_d_floor,
                NVMM_FACTOR_D_FLOOR);
      return -1;
    }
  }
  if (set_choice(comm, "stderr", "stderr value", flags, 2, &cfg->std_errors))
    return -1;
  if (cfg->std_errors && o->shrink != NVMM_SHRINK_NONE) {
    cli_error(comm,
              "%s: stderr = 1 is refused with the key shrinkage: a shrinkage fit is a MAP, "
              "whose information is not the likelihood's",
              find("stderr")->origin);
    return -1;
  }
  if (cfg->std_errors && o->factors > 0) {
    cli_error(comm, "%s: stderr = 1 is not available for factor fits yet (factors = %lld)",
              find("stderr")->origin, (long long)o->factors);
    return -1;
  }
  if (cfg->std_errors && o->algorithm == NVMM_ALG_INCREMENTAL && !o->finish) {
    cli_error(comm,
              "%s: stderr = 1 needs finish = batch with algorithm = incremental (without "
              "the batch finish the fit does not end at the MLE)",
              find("stderr")->origin);
    return -1;
  }
  if (!cfg->data[0]) {
    cli_error(comm, "fit: no data given (set --data FILE.h5 or the config key 'data')");
    return -1;
  }
  return 0;
}

void cli_fit_config_default(nvmm_family family, cli_fit_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  nvmm_fit_options_default(family, &cfg->o);
  snprintf(cfg->dataset, sizeof cfg->dataset, "/X");
  snprintf(cfg->out, sizeof cfg->out, "model.h5");
  cfg->verbose = 1;
  /* 10 iterations: a checkpoint costs one small serial HDF5 write on rank 0, well under an
   * iteration of any fit worth checkpointing. */
  cfg->checkpoint_every = 10;
  /* 1000 steps: at the default 1024 rows a step, about a million rows between checkpoints. */
  cfg->checkpoint_every_steps = 1000;
}

const char *cli_init_name(const cli_fit_config *c) {
  return c->o.init == NVMM_INIT_MOMENTS     ? "moments"
         : c->o.init == NVMM_INIT_SUBMODELS ? "submodels"
                                            : c->init_model;
}

size_t cli_config_text(const cli_fit_config *c, char *buf, size_t size) {
  /* The effective configuration, every key, so that a resumed fit needs nothing else. */
  static const char *const stops[] = {"mle", "params"}, *const accels[] = {"squarem", "none"};
  char data[sizeof c->data + sizeof c->dataset + 1];
  snprintf(data, sizeof data, "%s:%s", c->data, c->dataset);
  json_t *o = json_object();
  int bad = !o;
  bad |= json_object_set_new(o, "data", json_string(data));
  bad |= json_object_set_new(o, "family", json_string(nvmm_family_name(c->o.family)));
  bad |= json_object_set_new(o, "out", json_string(c->out));
  bad |= json_object_set_new(o, "max_iter", json_integer(c->o.max_iter));
  bad |= json_object_set_new(o, "stop", json_string(stops[c->o.stop]));
  bad |= json_object_set_new(o, "accel", json_string(accels[c->o.accel]));
  bad |= json_object_set_new(o, "tol", json_real(c->o.tol));
  bad |= json_object_set_new(o, "tol_ll", json_real(c->o.tol_ll));
  bad |= json_object_set_new(o, "regularization",
                             json_string(nvmm_regularization_name(c->o.regularization)));
  bad |= json_object_set_new(o, "algorithm", json_string(cli_algorithm_names[c->o.algorithm]));
  if (c->o.symmetric) /* only here: other fits' stored configuration stays as it was */
    bad |= json_object_set_new(o, "symmetric", json_integer(1));
  if (c->std_errors) /* likewise */
    bad |= json_object_set_new(o, "stderr", json_integer(1));
  if (c->o.factors > 0) { /* likewise */
    bad |= json_object_set_new(o, "factors", json_integer(c->o.factors));
    bad |= json_object_set_new(o, "factor_d_floor", json_real(c->o.factor_d_floor));
  }
  if (c->o.algorithm == NVMM_ALG_INCREMENTAL) {
    /* Only here: the stored configuration of other fits stays as it was. */
    char rule[128];
    cli_eta_rule_text(&c->o.eta_rule, rule, sizeof rule);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)c->o.seed);
    bad |= json_object_set_new(o, "batch_rows", json_integer(c->o.batch_rows));
    bad |= json_object_set_new(o, "epochs", json_real(c->o.epochs));
    bad |= json_object_set_new(o, "eta_update", json_string(rule));
    bad |= json_object_set_new(o, "average", json_string(c->o.average ? "tail" : "none"));
    bad |= json_object_set_new(o, "seed", json_string(seed)); /* all 64 bits */
    bad |= json_object_set_new(o, "finish", json_string(c->o.finish ? "batch" : "none"));
    bad |= json_object_set_new(o, "eval_every", json_integer(c->o.eval_every));
  }
  if (c->o.shrink != NVMM_SHRINK_NONE) {
    char shr[CLI_PATH_MAX + 32];
    cli_shrink_text(c, shr, sizeof shr);
    bad |= json_object_set_new(o, "shrinkage", json_string(shr));
    bad |= json_object_set_new(o, "shrinkage_tau", json_real(c->o.shrink_tau));
  }
  bad |= json_object_set_new(o, "init", json_string(cli_init_name(c)));
  bad |= json_object_set_new(o, "alpha_min", json_real(c->o.alpha_min));
  bad |= json_object_set_new(o, "block_rows", json_integer(c->o.block_rows));
  bad |= json_object_set_new(o, "scalapack_min_d", json_integer(c->o.scalapack_min_d));
  bad |= json_object_set_new(o, "verbose", json_integer(c->verbose));
  bad |= json_object_set_new(o, "json", json_integer(c->json));
  if (c->memory_limit > 0)
    bad |= json_object_set_new(o, "memory_limit", json_integer(c->memory_limit));
  if (c->checkpoint[0]) {
    bad |= json_object_set_new(o, "checkpoint", json_string(c->checkpoint));
    bad |= json_object_set_new(o, "checkpoint_every", json_integer(c->checkpoint_every));
    if (c->o.algorithm == NVMM_ALG_INCREMENTAL)
      bad |=
          json_object_set_new(o, "checkpoint_every_steps", json_integer(c->checkpoint_every_steps));
  }
  /* A string that is not UTF-8 makes json_string return NULL and the set fail; the values were
   * checked by cli_config_apply, so only memory can run out here. */
  char *text = bad ? NULL : json_dumps(o, JSON_REAL_PRECISION(17) | JSON_INDENT(1));
  json_decref(o);
  if (!text) {
    if (size > 0)
      buf[0] = '\0';
    return 0;
  }
  size_t used = strlen(text);
  snprintf(buf, size, "%s", text);
  free(text);
  return used;
}
