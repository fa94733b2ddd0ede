/* io_import.c: streaming CSV -> chunked float64 HDF5 dataset conversion (`nvmm import`), with
 * the numeric columns judged on the first data row and every later value checked. */
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

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* Splits s in place on commas. A field may be quoted ("SMI", "a,b", "say ""hi"""); unquoted
 * fields lose surrounding blanks. Quoted fields cannot span lines. */
static nvmm_status split_line(import_state *s, char *p) {
  fields *f = &s->f;
  f->n = 0;
  for (;;) {
    if (f->n == f->cap) {
      size_t cap = f->cap ? 2 * f->cap : 64;
      char **v = realloc(f->v, cap * sizeof *v);
      NVMM_CHECK(v, NVMM_ENOMEM, "'%s' line %" PRId64 ": cannot allocate %zu fields", s->csv_path,
                 s->lineno, cap);
      f->v = v;
      f->cap = cap;
    }
    while (is_blank(*p))
      p++;
    char *next; /* the separator ending this field: ',' or the terminating '\0' */
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
      while (is_blank(*r))
        r++;
      NVMM_CHECK(*r == ',' || *r == '\0', NVMM_EINVAL,
                 "'%s' line %" PRId64 ", field %zu: text after the closing quote", s->csv_path,
                 s->lineno, f->n);
      next = r;
      *w = '\0'; /* w is at least two characters (the quotes) behind r */
    } else {
      f->v[f->n++] = p;
      next = strchr(p, ',');
      if (!next)
        next = p + strlen(p);
      char *t = next;
      while (t > p && is_blank(t[-1]))
        t--;
      if (*next == '\0') {
        *t = '\0';
      } else {
        *t = '\0'; /* may overwrite the comma itself; next is remembered */
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
static int parse_number(const char *t, double *v) {
  char *end;
  errno = 0;
  double x = strtod(t, &end);
  if (end == t)
    return 0;
  while (is_blank(*end))
    end++;
  if (*end != '\0')
    return 0;
  *v = x;
  return 1;
}

/* Reads the header, keeps its names, then judges each column numeric or not on the first
 * data row. */
static nvmm_status read_header(import_state *s, nvmm_import_report *report) {
  int eof = 0;
  NVMM_CALL(next_line(s, &eof));
  NVMM_CHECK(!eof, NVMM_EINVAL, "'%s' is empty (expected a header line)", s->csv_path);
  char *h = s->line;
  /* A UTF-8 byte-order mark (spreadsheet exports) is not part of the first name. */
  if ((unsigned char)h[0] == 0xEF && (unsigned char)h[1] == 0xBB && (unsigned char)h[2] == 0xBF)
    h += 3;
  s->header = strdup(h);
  NVMM_CHECK(s->header, NVMM_ENOMEM, "out of memory copying the header of '%s'", s->csv_path);
  NVMM_CALL(split_line(s, s->header));
  s->nheader = s->f.n;
  s->names = malloc(s->nheader * sizeof *s->names);
  s->numeric = malloc(s->nheader * sizeof *s->numeric);
  NVMM_CHECK(s->names && s->numeric, NVMM_ENOMEM, "cannot allocate %zu column names of '%s'",
             s->nheader, s->csv_path);
  memcpy(s->names, s->f.v, s->nheader * sizeof *s->names);

  NVMM_CALL(next_line(s, &eof));
  NVMM_CHECK(!eof, NVMM_EINVAL, "'%s' has a header but no data rows", s->csv_path);
  NVMM_CALL(split_line(s, s->line));
  NVMM_CHECK(s->f.n == s->nheader, NVMM_EINVAL,
             "'%s' line %" PRId64 " has %zu fields but the header has %zu%s%s%s", s->csv_path,
             s->lineno, s->f.n, s->nheader, s->f.n < s->nheader ? " (column '" : "",
             s->f.n < s->nheader ? s->names[s->f.n] : "", s->f.n < s->nheader ? "' missing)" : "");
  size_t used = 0, room = sizeof report->skipped_names;
  for (size_t k = 0; k < s->nheader; k++) {
    double v;
    const char *t = s->f.v[k];
    /* An empty first value cannot tell a numeric column from a text one, and guessing either
     * way could silently drop or break a column. */
    NVMM_CHECK(*t != '\0', NVMM_EINVAL,
               "'%s' line %" PRId64 ", column '%s': empty value in the first data row, which "
               "decides the numeric columns",
               s->csv_path, s->lineno, s->names[k]);
    if (parse_number(t, &v)) {
      NVMM_CHECK(isfinite(v), NVMM_EINVAL,
                 "'%s' line %" PRId64 ", column '%s': '%.*s' is not a finite number", s->csv_path,
                 s->lineno, s->names[k], MSG_VALUE_MAX, t);
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
             "'%s' has no numeric column (judged on the first data row, line %" PRId64 ")",
             s->csv_path, s->lineno);
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

/* Converts the numeric fields of the current line into the next buffered row. */
static nvmm_status add_row(import_state *s) {
  NVMM_CHECK(s->f.n == s->nheader, NVMM_EINVAL,
             "'%s' line %" PRId64 " has %zu fields but the header has %zu%s%s%s", s->csv_path,
             s->lineno, s->f.n, s->nheader, s->f.n < s->nheader ? " (column '" : "",
             s->f.n < s->nheader ? s->names[s->f.n] : "", s->f.n < s->nheader ? "' missing)" : "");
  double *row = s->buf + s->nbuf * s->ncols;
  for (size_t j = 0; j < s->ncols; j++) {
    size_t k = s->numeric[j];
    const char *t = s->f.v[k];
    NVMM_CHECK(parse_number(t, &row[j]), NVMM_EINVAL,
               "'%s' line %" PRId64 ", column '%s': '%.*s' is not a number", s->csv_path, s->lineno,
               s->names[k], MSG_VALUE_MAX, t);
    NVMM_CHECK(isfinite(row[j]), NVMM_EINVAL,
               "'%s' line %" PRId64 ", column '%s': '%.*s' is not a finite number (NaN and "
               "Inf are not allowed)",
               s->csv_path, s->lineno, s->names[k], MSG_VALUE_MAX, t);
  }
  if (++s->nbuf == s->chunk_rows)
    return flush_rows(s);
  return NVMM_OK;
}

/* Streams the data rows (the first one is already split) into the dataset and closes it. */
static nvmm_status copy_rows(import_state *s) {
  int eof = 0;
  for (;;) {
    NVMM_CALL(add_row(s));
    NVMM_CALL(next_line(s, &eof));
    if (eof)
      break;
    NVMM_CALL(split_line(s, s->line));
  }
  NVMM_CALL(flush_rows(s));
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
  NVMM_CHECK(csv_path && out_path, NVMM_EINVAL, "CSV path or output path is NULL");
  nvmm_import_report local;
  if (!report)
    report = &local;
  memset(report, 0, sizeof *report);
  import_state s = {.csv_path = csv_path,
                    .out_path = out_path,
                    .dataset = dataset ? dataset : "/X",
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
  if ((st = read_header(&s, report)) != NVMM_OK)
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
  free(s.buf);
  nvmm__h5_quiet_end(&q);
  return st;
}
