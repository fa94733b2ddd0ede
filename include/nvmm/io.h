/* nvmm/io.h: HDF5 files: data sets read in row shards with parallel HDF5, CSV import, and
 * model files (a model, its fit history and metadata; readable with h5py). */
#ifndef NVMM_IO_H
#define NVMM_IO_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "nvmm/fit.h"
#include "nvmm/model.h"
#include "nvmm/status.h"

/* An open 2-D numeric data set (rows = observations). Opaque. */
typedef struct nvmm_data nvmm_data;

/* Opens dataset (e.g. "/X") of the HDF5 file path on every rank of comm with the MPI-IO
 * driver. Checks that the file exists and is HDF5, that the dataset exists, is 2-D and
 * numeric (float or integer; converted to double on read).
 * Collective on comm; every rank gets the same status.
 * Errors: NVMM_EIO (missing or non-HDF5 file, missing dataset), NVMM_EINVAL (not 2-D, not
 * numeric), NVMM_ENOMEM. Messages name the file and the dataset. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_data_open(MPI_Comm comm, const char *path,
                                                      const char *dataset, nvmm_data **out);

/* Opens count datasets of the same width as one data set whose rows are theirs in order
 * (file k's rows follow file k-1's); each may be a regular 2-D dataset or an HDF5 virtual
 * dataset. nvmm_data_read ranges may span files. Same checks, collectivity and errors as
 * nvmm_data_open, plus NVMM_EINVAL when the widths differ (naming both files). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_data_open_many(MPI_Comm comm, int count,
                                                           const char *const *paths,
                                                           const char *const *datasets,
                                                           nvmm_data **out);

/* Number of rows n and columns d. Not collective. */
NVMM_EXTERN void nvmm_data_dims(const nvmm_data *data, int64_t *n, int64_t *d);

/* Name of column j from the "columns" attribute if present (else NULL). Not collective. */
NVMM_EXTERN const char *nvmm_data_column_name(const nvmm_data *data, int64_t j);

/* Reads rows [row0, row0 + nrows) into buf (nrows x d row-major, double). Collective on the
 * data's communicator (each rank its own range; nrows may be 0). Checks every value is finite;
 * on the first non-finite value the status is NVMM_EDOM and the message names the file, the
 * dataset, the global row and column (0-based), and *bad_row receives the global row
 * (-1 if none). The status is agreed across ranks: a rank whose rows are fine returns
 * NVMM_EDOM too when another rank found a bad value (its message then says so).
 * Errors: NVMM_EIO, NVMM_EDOM, NVMM_EINVAL (range outside the dataset). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_data_read(nvmm_data *data, int64_t row0, int64_t nrows,
                                                      double *buf, int64_t *bad_row);

/* Reads count row ranges [row0[i], row0[i] + nrows[i]) (sorted, disjoint) into buf, one after
 * the other: the scattered rows of a mini-batch. The reads are independent (no collective
 * buffering), the call is collective for the agreement only: every rank calls it once, with
 * its own ranges (count may be 0). Checks and errors as nvmm_data_read. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_data_read_ranges(nvmm_data *data, size_t count,
                                                             const int64_t *row0,
                                                             const int64_t *nrows, double *buf,
                                                             int64_t *bad_row);

/* Closes the data set; no-op on NULL; sets *data = NULL. Collective. */
NVMM_EXTERN void nvmm_data_close(nvmm_data **data);

/* A data set being written in row shards by the ranks of a communicator. Opaque. */
typedef struct nvmm_data_writer nvmm_data_writer;

/* Creates path.tmp with a chunked n x d float64 dataset (e.g. "/X") through the MPI-IO driver.
 * Collective; every rank gets the same status. Errors: NVMM_EIO naming the path. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_data_writer_create(MPI_Comm comm, const char *path,
                                                               const char *dataset, int64_t n,
                                                               int64_t d, nvmm_data_writer **out);

/* Writes rows [row0, row0 + nrows) from buf (nrows x d row-major). Collective (nrows may be 0).
 * Errors: NVMM_EIO, NVMM_EINVAL (range). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_data_writer_write(nvmm_data_writer *w, int64_t row0,
                                                              int64_t nrows, const double *buf);

/* Closes the file; if commit is nonzero on every rank, renames path.tmp over path (atomic),
 * else removes path.tmp. Collective; no-op on NULL; sets *w = NULL.
 * Errors: NVMM_EIO. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_data_writer_close(nvmm_data_writer **w, int commit);

/* What an import did. */
typedef struct nvmm_import_report {
  int64_t rows;             /* data rows written */
  int64_t columns;          /* numeric columns written */
  int64_t skipped;          /* non-numeric columns skipped */
  char skipped_names[1024]; /* their header names, comma-separated (truncated if long) */
  int64_t rows_dropped;     /* rows skipped for a missing numeric cell (NVMM_MISSING_DROP) */
  int64_t first_dropped;    /* 1-based file line of the first of them (0: none) */
  char delimiter;           /* the field separator used */
  int delimiter_detected;   /* 1 when it was detected from the header, not given */
  int decimal_comma;        /* 1 when numbers were read with ',' as the decimal separator */
  int decimal_detected;     /* 1 when that was detected from the first values, not given */
} nvmm_import_report;

/* What to do with a row that has a missing cell in a numeric column. */
typedef enum nvmm_missing_policy {
  NVMM_MISSING_ERROR = 0, /* fail, naming the line, the column and the token */
  NVMM_MISSING_DROP = 1   /* skip the row, count it */
} nvmm_missing_policy;

/* How to read the CSV; all zero is the default (nvmm_import_csv). */
typedef struct nvmm_import_options {
  char delimiter;              /* ',', ';', '\t', '|' or ' '; 0: ',' unless the header line has
                                  no ',' but has ';' or a tab (then that one) */
  int decimal_comma;           /* 1: numbers use a decimal comma ("0,0123"); -1: never; 0: on
                                  when the delimiter is not ',' and a value of the first data
                                  rows parses only with a decimal comma */
  nvmm_missing_policy missing; /* rows with a missing numeric cell: error (default) or drop */
} nvmm_import_options;

/* Converts a CSV file with a header line into a 2-D float64 chunked dataset (default "/X")
 * of the HDF5 file out_path, streaming (memory does not grow with the file). A column is
 * numeric when its first non-missing value parses as a number; non-numeric columns (and
 * columns with no value at all) are skipped and reported. A missing cell is an empty field
 * or one of NA, N/A, NaN, nan, null, NULL, "."; missing cells of skipped columns are
 * ignored. Column names are kept as the string-array attribute "columns" of the dataset;
 * with NVMM_MISSING_DROP the dataset also gets the attributes "missing" = "drop" and
 * "rows_dropped" (int64). The output is written to a temporary file and renamed into place
 * only on success, so a failed import leaves no output file. Not collective (call on one
 * rank). opt may be NULL (the defaults).
 * Errors: NVMM_EIO (cannot read the CSV, cannot write the output: the message names the
 * path), NVMM_EINVAL (empty file, no numeric column, a row with a wrong number of fields
 * (naming the delimiter), a missing cell under NVMM_MISSING_ERROR, a non-numeric value in a
 * numeric column: the message names the line and the column). */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_import_csv_opts(const char *csv_path,
                                                            const char *out_path,
                                                            const char *dataset,
                                                            const nvmm_import_options *opt,
                                                            nvmm_import_report *report);

/* nvmm_import_csv_opts with the default options. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_import_csv(const char *csv_path, const char *out_path,
                                                       const char *dataset,
                                                       nvmm_import_report *report);

/* Per-iteration fit history (arrays of length len; any pointer may be NULL when len is 0). */
typedef struct nvmm_history_view {
  size_t len;
  const double *loglik;       /* mean log-likelihood of the model entering each iteration */
  const double *param_change; /* hybrid RMS parameter change of each iteration */
  const double *elapsed;      /* seconds since the start of the fit, after each iteration */
  const double *counters;     /* len x ncounters row-major: floors/clamps/fallbacks */
  size_t ncounters;
  const char *const *counter_names; /* ncounters names */
  /* Incremental EM's steps (nvmm_fit_history_incremental), written to /history/incremental
   * when inc_len > 0: batch_loglik, loglik (NaN where not evaluated), param_change, elapsed. */
  size_t inc_len;
  const double *inc_batch_ll, *inc_full_ll, *inc_change, *inc_elapsed;
  /* Shrinkage (nvmm_fit_history_penalty): the penalty after each iteration, written to
   * /history/penalty when not NULL (len values). */
  const double *penalty;
} nvmm_history_view;

/* Fit metadata stored with a model (any field may be NULL / 0). */
typedef struct nvmm_fit_meta {
  const char *reason; /* "converged", "max_iter", "diverged" */
  int64_t iterations;
  int64_t n; /* rows fitted */
  int ranks;
  double loglik_mean;      /* final mean log-likelihood */
  const char *config_text; /* the effective configuration */
  const char *data_path;   /* "file.h5:/dataset" */
} nvmm_fit_meta;

/* Writes a model file: root attributes family (string), d, nvmm_version; datasets /mu, /gamma,
 * /sigma (d x d), subordinator parameters under their natural names (/mu_ig, /lambda;
 * /alpha, /beta; /p, /a, /b) and always /gig_p, /gig_a, /gig_b (the GIG embedding; a or b may
 * be 0); if hist != NULL a group /history with datasets loglik, param_change, elapsed and
 * counters (len x ncounters with a "names" attribute), and incremental EM's steps in the group
 * /history/incremental where there are any; if meta != NULL attributes of the
 * group /meta. Written to path.tmp, flushed, fsynced and renamed over path (atomic).
 * Not collective (call on one rank). Errors: NVMM_EIO naming the path. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_write(const char *path, const nvmm_model *m,
                                                        const nvmm_history_view *hist,
                                                        const nvmm_fit_meta *meta);

/* Reads a model file written by nvmm_model_write into a new model (*out; free with
 * nvmm_model_free). Not collective. Errors: NVMM_EIO (missing file, not HDF5, not a model
 * file: the message names the path and the missing item), NVMM_EINVAL/NVMM_EDOM/NVMM_EFACTOR
 * (invalid parameters), NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_model_read(const char *path, nvmm_model **out);

/* Writes a checkpoint: a model file (the user-unit model, history and meta, as
 * nvmm_model_write) plus a group /state holding everything nvmm_fit_restore needs, bit for bit
 * (standardized model with its Cholesky factor, iteration count, reason, regularization
 * target, counters, data fingerprint). Atomic (temp file, fsync, rename): a crash at any moment
 * leaves the previous checkpoint readable. Not collective (call on one rank).
 * Errors: NVMM_EIO naming the path, NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_checkpoint_write(const char *path, const nvmm_model *m,
                                                             const nvmm_history_view *hist,
                                                             const nvmm_fit_meta *meta,
                                                             const nvmm_fit_state *state);

/* Reads the /state group of a checkpoint into state (arrays allocated; free with
 * nvmm_fit_state_free) and, if config is not NULL, the stored configuration text (truncated
 * to size). The state and the configuration text are checked against the checksums the
 * writer stored (HDF5 keeps none over raw data). Not collective. Errors: NVMM_EIO (missing
 * file, not HDF5, truncated, not a checkpoint, a checksum mismatch: the message names the path
 * and what is wrong), NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_checkpoint_read(const char *path, nvmm_fit_state *state,
                                                            char *config, size_t size);

#endif
