/* nvmm/dups.h: exact duplicate rows of a data set, counted in one distributed pass (nvmm info
 * reports them: a data set with many copies of one row, a padding or export artifact, misleads
 * a fit). */
#ifndef NVMM_DUPS_H
#define NVMM_DUPS_H

#include <mpi.h>
#include <stdint.h>

#include "nvmm/io.h"
#include "nvmm/status.h"

/* The duplicate rows of a data set. Rows are equal when every value is (-0.0 equals 0.0). */
typedef struct nvmm_dups_report {
  int64_t n;                 /* rows examined (the data set's) */
  int64_t d;                 /* columns: the length of max_row */
  int64_t distinct_repeated; /* distinct rows that occur more than once */
  int64_t rows;              /* rows in those groups, every copy counted (first one included) */
  int64_t max_multiplicity;  /* occurrences of the most repeated row: 1 when no row repeats,
                                0 when n = 0 */
  double *max_row; /* d values of that row (among ties the lexicographically smallest, so the
                      report is the same on any rank count; -0.0 shown as 0.0), NULL when no
                      row repeats; freed by nvmm_dups_report_free */
} nvmm_dups_report;

/* Counts the exact duplicate rows of data into *report (the same on every rank, and the same
 * on any number of ranks). comm must hold the ranks data was opened on.
 * Each rank reads its contiguous share of the rows (about n/P) in chunks of bounded size
 * (about 4 MiB of records), hashes each row, collapses its equal rows, and routes (hash,
 * count, row) records to rank hash mod P (MPI_Alltoallv); each rank keeps the distinct rows
 * routed to it, merged as they come (sorted by hash, then values: equal rows are found by
 * their values, never by their hashes alone). Memory per rank: the distinct rows routed to it,
 * about (distinct rows)/P records of (d + 3) * 8 bytes (twice that while it grows), plus a few
 * chunks. Rank-local failures are agreed before each collective step.
 * Collective on comm; every rank gets the same status.
 * Errors: those of nvmm_data_read (NVMM_EDOM: a non-finite value, named), NVMM_EINVAL (NULL
 * argument), NVMM_ENOMEM, NVMM_EMPI. On failure *report holds no row. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_data_duplicates(MPI_Comm comm, nvmm_data *data,
                                                            nvmm_dups_report *report);

/* Frees the report's row and zeroes it; no-op on NULL. Not collective. */
NVMM_EXTERN void nvmm_dups_report_free(nvmm_dups_report *report);

#endif
