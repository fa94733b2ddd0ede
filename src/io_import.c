/* io_import.c: streaming CSV -> chunked float64 HDF5 dataset conversion (`nvmm import`), with
 * each column judged numeric on its first non-missing value and every later value checked.
 *
 * The reader is hand-written rather than libcsv (Debian libcsv-dev), which was considered
 * for issue 16: libcsv's callbacks report no position (csv_error() gives a code only), so the
 * line and column every message here names would still need line-at-a-time feeding and our
 * own counting; it has no notion of blanks around unquoted fields, runs of spaces as one
 * separator or missing-value tokens; and the splitter it would replace is ~60 lines that
 * already handle quotes. One more build and CI dependency does not pay for that. Quoted
 * fields cannot span lines (numeric exports do not need them, and line numbers stay exact).
 *
 * Two passes over the top of the file: the first reads data rows until every column has a
 * non-missing value (usually just the first row) to judge the numeric columns and, when
 * asked to, the decimal separator; the second rewinds to the first data row and streams.
 * Memory stays independent of the file size; the input must be seekable. */
#include "nvmm/io.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "io_impl.h"

/* Rows per chunk: 4096 rows of a few columns is a chunk of tens of KiB, the size the row-block
 * reader wants. The chunk is also capped at CHUNK_MAX_BYTES (HDF5's default chunk cache is
 * 1 MiB; a larger chunk would bypass it), so wide files get fewer rows per chunk. */
#define CHUNK_ROWS 4096
#define CHUNK_MAX_BYTES (1u << 20)

/* Longest value quoted in an error message; longer ones are cut. */
#define MSG_VALUE_MAX 40

/* The fields of one CSV line: pointers into the line buffer, which split_line edits in place. */
typedef struct fields {
  char **v;   /* n field pointers */
  size_t n;   /* fields on the line */
  size_t cap; /* allocated pointers */
} fields;

/* Everything an import holds, so that one cleanup releases it on every path. */
typedef struct import_state {
  const char *csv_path;
  char delim;                  /* the field separator */
  char hint;                   /* another separator the header has (0: none), for messages */
  int dec_comma;               /* 1: numbers use ',' as the decimal separator */
  int dec_auto;                /* 1: dec_comma may still be switched on by the first values */
  nvmm_missing_policy missing; /* what a missing numeric cell does */
  int64_t dropped;             /* rows dropped for a missing numeric cell */
  int64_t first_dropped;       /* the line of the first of them */
  const char *out_path;
  const char *dataset;
  char *tmp_path;    /* out_path + ".tmp" */
  FILE *in;          /* the CSV */
  char *line;        /* getline buffer */
  size_t line_cap;   /* its capacity */
  int64_t lineno;    /* 1-based number of the line in line */
  fields f;          /* the current line's fields */
  size_t nheader;    /* fields in the header */
  char *header;      /* the header line, kept for the column names */
  char **names;      /* nheader header names (into header) */
  size_t *numeric;   /* header indices of the ncols numeric columns */
  char *kind;        /* nheader judgements: 'n' numeric, 't' text, 0 not yet */
  size_t ncols;      /* numeric columns */
  hid_t file;        /* the output (tmp) file */
  hid_t dset;        /* the dataset */
  double *buf;       /* chunk_rows x ncols row-major rows not yet written */
  size_t chunk_rows; /* rows per chunk and per write */
  size_t nbuf;       /* rows in buf */
  hsize_t written;   /* rows already in the dataset */
} import_state;

/* Strips the line terminator (LF or CRLF) and returns the remaining length. */
static size_t chomp(char *s, size_t len) {
  while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
    s[--len] = '\0';
  return len;
}

/* Blanks around a field are not part of it; the delimiter itself is never a blank. */
static int is_blank(const import_state *s, char c) {
  return (c == ' ' || c == '\t') && c != s->delim;
}

/* The delimiter in words, for messages. */
static const char *delim_name(char c) {
  switch (c) {
  case ',':
    return "','";
  case ';':
    return "';'";
  case '\t':
    return "tab";
  case '|':
    return "'|'";
  case ' ':
    return "space";
  default:
    return "?";
  }
}

/* Splits s in place on the delimiter. A field may be quoted ("SMI", "a,b", "say ""hi""");
 * unquoted fields lose surrounding blanks. Quoted fields cannot span lines. With the space
 * delimiter a run of spaces is one separator and spaces at either end of the line are not
 * fields. */
static nvmm_status split_line(import_state *s, char *p) {
  fields *f = &s->f;
  f->n = 0;
  const char delim = s->delim;
  if (delim == ' ') {
    size_t len = strlen(p);
    while (len > 0 && p[len - 1] == ' ')
      p[--len] = '\0';
    while (*p == ' ')
      p++;
  }
  for (;;) {
    if (f->n == f->cap) {
      size_t cap = f->cap ? 2 * f->cap : 64;
      char **v = realloc(f->v, cap * sizeof *v);
      NVMM_CHECK(v, NVMM_ENOMEM, "'%s' line %" PRId64 ": cannot allocate %zu fields", s->csv_path,
                 s->lineno, cap);
      f->v = v;
      f->cap = cap;
    }
    while (is_blank(s, *p) || (delim == ' ' && *p == ' '))
      p++;
    char *next; /* the separator ending this field: the delimiter or the terminating '\0' */
    if (*p == '"') {
      char *r = p + 1, *w = p;
      f->v[f->n++] = w;
      for (;;) {
        NVMM_CHECK(*r != '\0', NVMM_EINVAL, "'%s' line %" PRId64 ", field %zu: unterminated quote",
                   s->csv_path, s->lineno, f->n);
        if (*r == '"' && r[1] == '"') {
          *w++ = '"';
          r += 2;
        } else if (*r == '"') {
          r++;
          break;
        } else {
          *w++ = *r++;
        }
      }
      while (is_blank(s, *r))
        r++;
      NVMM_CHECK(*r == delim || *r == '\0', NVMM_EINVAL,
                 "'%s' line %" PRId64 ", field %zu: text after the closing quote", s->csv_path,
                 s->lineno, f->n);
      next = r;
      *w = '\0'; /* w is at least two characters (the quotes) behind r */
    } else {
      f->v[f->n++] = p;
      next = strchr(p, delim);
      if (!next)
        next = p + strlen(p);
      char *t = next;
      while (t > p && is_blank(s, t[-1]))
        t--;
      if (*next == '\0') {
        *t = '\0';
      } else {
        *t = '\0'; /* may overwrite the delimiter itself; next is remembered */
        p = next + 1;
        continue;
      }
    }
    if (*next == '\0')
      return NVMM_OK;
    p = next + 1;
  }
}

/* Reads the next non-empty line into s->line; *eof = 1 at the end of the file. */
static nvmm_status next_line(import_state *s, int *eof) {
  for (;;) {
    errno = 0;
    ssize_t len = getline(&s->line, &s->line_cap, s->in);
    if (len < 0) {
      NVMM_CHECK(!ferror(s->in), errno == ENOMEM ? NVMM_ENOMEM : NVMM_EIO,
                 "cannot read '%s' after line %" PRId64 ": %s", s->csv_path, s->lineno,
                 strerror(errno));
      *eof = 1;
      return NVMM_OK;
    }
    s->lineno++;
    /* Blank lines (typically one at the end of the file) carry no row. */
    if (chomp(s->line, (size_t)len) > 0) {
      *eof = 0;
      return NVMM_OK;
    }
  }
}

/* 1 when the whole of t (blanks around it allowed) is a number in strtod's syntax. */
static int parse_plain(const char *t, double *v) {
  char *end;
  errno = 0;
  double x = strtod(t, &end);
  if (end == t)
    return 0;
  while (*end == ' ' || *end == '\t')
    end++;
  if (*end != '\0')
    return 0;
  *v = x;
  return 1;
}

/* Parses t with the file's decimal separator: 1 a number, 0 not a number, -1 a number only
 * with the other separator ("0,5" in a decimal-point file, "1.5" in a decimal-comma file),
 * which is never accepted silently. t is edited and restored. */
static int parse_number(const import_state *s, char *t, double *v) {
  char *comma = strchr(t, ',');
  double x;
  if (!s->dec_comma) {
    if (parse_plain(t, v))
      return 1;
    if (!comma)
      return 0;
    *comma = '.';
    int other = parse_plain(t, &x);
    *comma = ',';
    return other ? -1 : 0;
  }
  if (strchr(t, '.') && parse_plain(t, &x))
    return -1;
  if (!comma)
    return parse_plain(t, v);
  *comma = '.';
  int ok = !strchr(comma + 1, '.') && parse_plain(t, v);
  *comma = ',';
  return ok;
}

/* 1 when t is a missing cell: empty, or one of the tokens below. */
static int is_missing(const char *t) {
  static const char *const tokens[] = {"NA", "N/A", "NaN", "nan", "null", "NULL", "."};
  if (*t == '\0')
    return 1;
  for (size_t i = 0; i < sizeof tokens / sizeof *tokens; i++)
    if (strcmp(t, tokens[i]) == 0)
      return 1;
  return 0;
}

/* Checks the current line's field count against the header's. */
static nvmm_status check_fields(const import_state *s) {
  const fields *f = &s->f;
  if (f->n == s->nheader)
    return NVMM_OK;
  char hint[64];
  if (s->hint)
    snprintf(hint, sizeof hint, ": is the delimiter %s? (--delimiter)", delim_name(s->hint));
  else
    snprintf(hint, sizeof hint, " (--delimiter sets the delimiter)");
  return NVMM_RAISE(NVMM_EINVAL,
                    "'%s' line %" PRId64 " has %zu field%s separated by %s but the header has "
                    "%zu%s%s%s%s",
                    s->csv_path, s->lineno, f->n, f->n == 1 ? "" : "s", delim_name(s->delim),
                    s->nheader, f->n < s->nheader ? " (column '" : "",
                    f->n < s->nheader ? s->names[f->n] : "", f->n < s->nheader ? "' missing)" : "",
                    hint);
}

/* The error for a value that is a number only with the other decimal separator. */
static nvmm_status wrong_decimal(const import_state *s, size_t k, const char *t) {
  return NVMM_RAISE(NVMM_EINVAL,
                    "'%s' line %" PRId64 ", column '%s': '%.*s' %s (--decimal-comma%s)",
                    s->csv_path, s->lineno, s->names[k], MSG_VALUE_MAX, t,
                    s->dec_comma ? "has a decimal point but the file's numbers use a decimal "
                                   "comma"
                                 : "is a number only with a decimal comma",
                    s->dec_comma ? " was given or detected" : " reads it so");
}

/* Picks the delimiter (given, or detected from the raw header line h) and a hint for
 * messages: another candidate separator that occurs in the header. */
static void choose_delimiter(import_state *s, const nvmm_import_options *opt, const char *h,
                             nvmm_import_report *report) {
  s->delim = opt->delimiter ? opt->delimiter : ',';
  if (!opt->delimiter && !strchr(h, ',')) {
    size_t semi = 0, tab = 0;
    for (const char *p = h; *p; p++) {
      semi += *p == ';';
      tab += *p == '\t';
    }
    if (semi || tab) {
      s->delim = semi >= tab ? ';' : '\t';
      report->delimiter_detected = 1;
    }
  }
  static const char candidates[] = {';', '\t', '|', ','};
  for (size_t i = 0; i < sizeof candidates && !s->hint; i++)
    if (candidates[i] != s->delim && strchr(h, candidates[i]))
      s->hint = candidates[i];
  report->delimiter = s->delim;
}

/* Reads the header and keeps its names, then reads data rows until every column has a
 * non-missing value, judging each column numeric or not on its first one (and switching to
 * decimal commas when allowed and a first value needs them); columns with no value at all
 * are skipped. Leaves the file at the first data row. */
static nvmm_status read_header(import_state *s, const nvmm_import_options *opt,
                               nvmm_import_report *report) {
  int eof = 0;
  NVMM_CALL(next_line(s, &eof));
  NVMM_CHECK(!eof, NVMM_EINVAL, "'%s' is empty (expected a header line)", s->csv_path);
  char *h = s->line;
  /* A UTF-8 byte-order mark (spreadsheet exports) is not part of the first name. */
  if ((unsigned char)h[0] == 0xEF && (unsigned char)h[1] == 0xBB && (unsigned char)h[2] == 0xBF)
    h += 3;
  choose_delimiter(s, opt, h, report);
  s->header = strdup(h);
  NVMM_CHECK(s->header, NVMM_ENOMEM, "out of memory copying the header of '%s'", s->csv_path);
  NVMM_CALL(split_line(s, s->header));
  s->nheader = s->f.n;
  s->names = malloc(s->nheader * sizeof *s->names);
  s->numeric = malloc(s->nheader * sizeof *s->numeric);
  s->kind = calloc(s->nheader, 1);
  NVMM_CHECK(s->names && s->numeric && s->kind, NVMM_ENOMEM,
             "cannot allocate %zu column names of '%s'", s->nheader, s->csv_path);
  memcpy(s->names, s->f.v, s->nheader * sizeof *s->names);

  errno = 0;
  off_t start = ftello(s->in);
  NVMM_CHECK(start >= 0, NVMM_EIO, "cannot tell the position in '%s': %s", s->csv_path,
             strerror(errno));
  int64_t start_line = s->lineno;
  size_t open = s->nheader; /* columns not judged yet */
  int64_t rows = 0;
  while (open > 0) {
    NVMM_CALL(next_line(s, &eof));
    if (eof)
      break;
    rows++;
    NVMM_CALL(split_line(s, s->line));
    NVMM_CALL(check_fields(s));
    for (size_t k = 0; k < s->nheader; k++) {
      char *t = s->f.v[k];
      if (s->kind[k] || is_missing(t))
        continue;
      double v;
      int r = parse_number(s, t, &v);
      if (r < 0 && s->dec_auto && s->delim != ',') {
        s->dec_comma = 1; /* the first value that needs a decimal comma decides */
        report->decimal_detected = 1;
        r = parse_number(s, t, &v);
      }
      if (r < 0)
        return wrong_decimal(s, k, t);
      NVMM_CHECK(r == 0 || isfinite(v), NVMM_EINVAL,
                 "'%s' line %" PRId64 ", column '%s': '%.*s' is not a finite number", s->csv_path,
                 s->lineno, s->names[k], MSG_VALUE_MAX, t);
      s->kind[k] = r ? 'n' : 't';
      open--;
    }
  }
  NVMM_CHECK(rows > 0, NVMM_EINVAL, "'%s' has a header but no data rows", s->csv_path);
  size_t used = 0, room = sizeof report->skipped_names;
  for (size_t k = 0; k < s->nheader; k++) {
    if (s->kind[k] == 'n') {
      s->numeric[s->ncols++] = k;
      continue;
    }
    report->skipped++;
    int w =
        snprintf(report->skipped_names + used, room - used, "%s%s", used ? "," : "", s->names[k]);
    if (w < 0 || (size_t)w >= room - used)
      used = room - 1; /* truncated: later names are dropped, the count stays exact */
    else
      used += (size_t)w;
  }
  NVMM_CHECK(s->ncols > 0, NVMM_EINVAL,
             "'%s' has no numeric column (each judged on its first non-missing value)%s%s%s",
             s->csv_path, s->hint ? ": is the delimiter " : "", s->hint ? delim_name(s->hint) : "",
             s->hint ? "? (--delimiter)" : "");
  report->decimal_comma = s->dec_comma;
  errno = 0;
  NVMM_CHECK(fseeko(s->in, start, SEEK_SET) == 0, NVMM_EIO,
             "cannot rewind '%s' to its first data row (the importer reads the first rows twice, "
             "so the input must be a regular file): %s",
             s->csv_path, strerror(errno));
  s->lineno = start_line;
  return NVMM_OK;
}

/* Creates the tmp output file and the empty, extendible dataset with its column names. */
static nvmm_status create_output(import_state *s) {
  nvmm_status st = NVMM_OK;
  hid_t fapl = H5I_INVALID_HID, space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
  hid_t lcpl = H5I_INVALID_HID;
  size_t rows = CHUNK_MAX_BYTES / (s->ncols * sizeof(double));
  s->chunk_rows = rows < 1 ? 1 : rows > CHUNK_ROWS ? CHUNK_ROWS : rows;
  s->buf = malloc(s->chunk_rows * s->ncols * sizeof *s->buf);
  const char **colnames = malloc(s->ncols * sizeof *colnames);
  if (!s->buf || !colnames) {
    st = NVMM_RAISE(NVMM_ENOMEM, "cannot allocate a %zu x %zu row buffer", s->chunk_rows, s->ncols);
    goto cleanup;
  }
  hsize_t dims[2] = {0, s->ncols}, maxdims[2] = {H5S_UNLIMITED, s->ncols};
  hsize_t chunk[2] = {s->chunk_rows, s->ncols};
  /* The 1.8 file format stores attributes densely, so the "columns" attribute of a file with
   * thousands of columns does not overflow the 64 KiB object header; h5py reads it. */
  if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
      H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
      (errno = 0, s->file = H5Fcreate(s->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
    /* errno still holds the failed open()'s reason: HDF5 makes no system call after it. */
    st = NVMM_RAISE(NVMM_EIO, "cannot create '%s' (the output '%s' is written there first)%s%s",
                    s->tmp_path, s->out_path, errno ? ": " : "", errno ? strerror(errno) : "");
    goto cleanup;
  }
  if ((space = H5Screate_simple(2, dims, maxdims)) < 0 ||
      (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, 2, chunk) < 0 ||
      (lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 || H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
      (s->dset = H5Dcreate2(s->file, s->dataset, H5T_IEEE_F64LE, space, lcpl, dcpl, H5P_DEFAULT)) <
          0) {
    st = NVMM_RAISE(NVMM_EIO, "cannot create dataset '%s' in '%s'", s->dataset, s->tmp_path);
    goto cleanup;
  }
  for (size_t j = 0; j < s->ncols; j++)
    colnames[j] = s->names[s->numeric[j]];
  char what[512];
  snprintf(what, sizeof what, "dataset '%s' of '%s'", s->dataset, s->tmp_path);
  st = nvmm__h5_write_strings(s->dset, "columns", what, colnames, s->ncols);
cleanup:
  free(colnames);
  if (lcpl >= 0)
    (void)H5Pclose(lcpl);
  if (dcpl >= 0)
    (void)H5Pclose(dcpl);
  if (space >= 0)
    (void)H5Sclose(space);
  if (fapl >= 0)
    (void)H5Pclose(fapl);
  return st;
}

/* Appends the buffered rows to the dataset, growing it. */
static nvmm_status flush_rows(import_state *s) {
  if (s->nbuf == 0)
    return NVMM_OK;
  nvmm_status st = NVMM_OK;
  hid_t fspace = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
  hsize_t dims[2] = {s->written + s->nbuf, s->ncols};
  hsize_t start[2] = {s->written, 0}, count[2] = {s->nbuf, s->ncols};
  if (H5Dset_extent(s->dset, dims) < 0 || (fspace = H5Dget_space(s->dset)) < 0 ||
      H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
      (mspace = H5Screate_simple(2, count, NULL)) < 0 ||
      H5Dwrite(s->dset, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, s->buf) < 0)
    st = NVMM_RAISE(NVMM_EIO, "cannot write rows %llu to %llu of dataset '%s' in '%s'",
                    (unsigned long long)s->written, (unsigned long long)(dims[0] - 1), s->dataset,
                    s->tmp_path);
  if (mspace >= 0)
    (void)H5Sclose(mspace);
  if (fspace >= 0)
    (void)H5Sclose(fspace);
  s->written = dims[0];
  s->nbuf = 0;
  return st;
}

/* Converts the numeric fields of the current line into the next buffered row, or drops the
 * row when a numeric cell is missing and the policy says so. */
static nvmm_status add_row(import_state *s) {
  NVMM_CALL(check_fields(s));
  double *row = s->buf + s->nbuf * s->ncols;
  for (size_t j = 0; j < s->ncols; j++) {
    size_t k = s->numeric[j];
    char *t = s->f.v[k];
    if (is_missing(t)) {
      if (s->missing == NVMM_MISSING_DROP) {
        if (s->dropped++ == 0)
          s->first_dropped = s->lineno;
        return NVMM_OK;
      }
      char token[MSG_VALUE_MAX + 8];
      snprintf(token, sizeof token, *t ? "'%s'" : "(an empty field)", t);
      return NVMM_RAISE(NVMM_EINVAL,
                        "'%s' line %" PRId64 ", column '%s' (field %zu of %zu): missing value "
                        "%s; --missing drop skips rows with a missing value",
                        s->csv_path, s->lineno, s->names[k], k + 1, s->nheader, token);
    }
    int r = parse_number(s, t, &row[j]);
    if (r < 0)
      return wrong_decimal(s, k, t);
    NVMM_CHECK(r, NVMM_EINVAL, "'%s' line %" PRId64 ", column '%s': '%.*s' is not a number",
               s->csv_path, s->lineno, s->names[k], MSG_VALUE_MAX, t);
    NVMM_CHECK(isfinite(row[j]), NVMM_EINVAL,
               "'%s' line %" PRId64 ", column '%s': '%.*s' is not a finite number (Inf is not "
               "allowed)",
               s->csv_path, s->lineno, s->names[k], MSG_VALUE_MAX, t);
  }
  if (++s->nbuf == s->chunk_rows)
    return flush_rows(s);
  return NVMM_OK;
}

/* Streams the data rows into the dataset, records what was dropped and closes it. */
static nvmm_status copy_rows(import_state *s) {
  int eof = 0;
  for (;;) {
    NVMM_CALL(next_line(s, &eof));
    if (eof)
      break;
    NVMM_CALL(split_line(s, s->line));
    NVMM_CALL(add_row(s));
  }
  NVMM_CALL(flush_rows(s));
  NVMM_CHECK(s->written > 0, NVMM_EINVAL,
             "'%s': every one of its %" PRId64 " data rows has a missing value in a numeric column",
             s->csv_path, s->dropped);
  if (s->missing == NVMM_MISSING_DROP) {
    NVMM_CALL(nvmm__h5_put_attr_str(s->dset, "missing", "drop", s->tmp_path));
    NVMM_CALL(nvmm__h5_put_attr(s->dset, "rows_dropped", H5T_STD_I64LE, H5T_NATIVE_INT64,
                                &s->dropped, s->tmp_path));
  }
  herr_t rc = H5Dclose(s->dset);
  s->dset = H5I_INVALID_HID;
  NVMM_CHECK(rc >= 0 && H5Fflush(s->file, H5F_SCOPE_GLOBAL) >= 0, NVMM_EIO, "cannot flush '%s'",
             s->tmp_path);
  rc = H5Fclose(s->file);
  s->file = H5I_INVALID_HID;
  NVMM_CHECK(rc >= 0, NVMM_EIO, "cannot close '%s'", s->tmp_path);
  return NVMM_OK;
}

nvmm_status nvmm_import_csv(const char *csv_path, const char *out_path, const char *dataset,
                            nvmm_import_report *report) {
  return nvmm_import_csv_opts(csv_path, out_path, dataset, NULL, report);
}

nvmm_status nvmm_import_csv_opts(const char *csv_path, const char *out_path, const char *dataset,
                                 const nvmm_import_options *opt, nvmm_import_report *report) {
  NVMM_CHECK(csv_path && out_path, NVMM_EINVAL, "CSV path or output path is NULL");
  const nvmm_import_options defaults = {0};
  if (!opt)
    opt = &defaults;
  const char d = opt->delimiter;
  NVMM_CHECK(d == 0 || d == ',' || d == ';' || d == '\t' || d == '|' || d == ' ', NVMM_EINVAL,
             "delimiter '%c' is not one of ',', ';', tab, '|', space", d);
  NVMM_CHECK(opt->missing == NVMM_MISSING_ERROR || opt->missing == NVMM_MISSING_DROP, NVMM_EINVAL,
             "unknown missing-value policy %d", (int)opt->missing);
  nvmm_import_report local;
  if (!report)
    report = &local;
  memset(report, 0, sizeof *report);
  import_state s = {.csv_path = csv_path,
                    .out_path = out_path,
                    .dataset = dataset ? dataset : "/X",
                    .dec_comma = opt->decimal_comma > 0,
                    .dec_auto = opt->decimal_comma == 0,
                    .missing = opt->missing,
                    .file = H5I_INVALID_HID,
                    .dset = H5I_INVALID_HID};
  nvmm_status st = NVMM_OK;
  int tmp_created = 0;
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  size_t len = strlen(out_path);
  if (!(s.tmp_path = malloc(len + sizeof ".tmp"))) {
    st = NVMM_RAISE(NVMM_ENOMEM, "out of memory importing '%s'", out_path);
    goto cleanup;
  }
  memcpy(s.tmp_path, out_path, len);
  memcpy(s.tmp_path + len, ".tmp", sizeof ".tmp");
  if (!(s.in = fopen(csv_path, "r"))) {
    st = NVMM_RAISE(NVMM_EIO, "cannot open '%s': %s", csv_path, strerror(errno));
    goto cleanup;
  }
  if ((st = read_header(&s, opt, report)) != NVMM_OK)
    goto cleanup;
  st = create_output(&s);
  tmp_created = s.file >= 0;
  if (st != NVMM_OK || (st = copy_rows(&s)) != NVMM_OK)
    goto cleanup;
  if ((st = nvmm__commit_file(s.tmp_path, out_path)) != NVMM_OK)
    goto cleanup;
  tmp_created = 0;
  report->rows = (int64_t)s.written;
  report->columns = (int64_t)s.ncols;
  report->rows_dropped = s.dropped;
  report->first_dropped = s.first_dropped;
cleanup:
  if (s.dset >= 0)
    (void)H5Dclose(s.dset);
  if (s.file >= 0)
    (void)H5Fclose(s.file);
  /* A failed import leaves no output behind, not even the partial tmp file. */
  if (tmp_created)
    (void)remove(s.tmp_path);
  if (s.in)
    (void)fclose(s.in);
  free(s.tmp_path);
  free(s.line);
  free(s.f.v);
  free(s.header);
  free(s.names);
  free(s.numeric);
  free(s.kind);
  free(s.buf);
  nvmm__h5_quiet_end(&q);
  return st;
}
