/* io_data.c: a data set of one or more 2-D numeric HDF5 datasets (their rows concatenated) read
 * in row shards with parallel HDF5 (MPI-IO file access, collective hyperslab reads; virtual
 * datasets are read by each rank alone). */
#include "nvmm/io.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "comm.h"
#include "io_impl.h"

/* One dataset of a data set. A regular dataset is opened on the data set's communicator with
 * the MPI-IO driver and read collectively; a virtual dataset is opened by each rank alone with
 * the default driver and read independently (see open_part). */
typedef struct data_part {
  hid_t file;    /* the file */
  hid_t dset;    /* the dataset */
  hid_t fspace;  /* its file dataspace; the selection is reset by every read */
  int alone;     /* 1: opened by this rank alone (a virtual dataset), 0: collectively */
  int64_t n;     /* rows */
  int64_t d;     /* columns */
  int64_t first; /* global index of its first row */
  char *path;    /* file name, for messages */
  char *dataset; /* dataset name, for messages */
} data_part;

struct nvmm_data {
  MPI_Comm comm;    /* duplicate of the caller's communicator; freed at close */
  int count;        /* datasets */
  data_part *parts; /* count datasets, their rows in this order */
  hid_t dxpl;       /* collective transfer property list (parts read through MPI-IO) */
  hid_t dxpl_ind;   /* independent transfer list: nvmm_data_read_ranges' small scattered reads */
  int64_t n;        /* rows, all datasets together */
  int64_t d;        /* columns */
  char **names;     /* d column names from the first dataset's "columns" attribute, or NULL */
};

/* Names a data set in messages: its file and dataset, or the first of them and how many more. */
static void describe(const nvmm_data *data, char *buf, size_t size) {
  const data_part *p = &data->parts[0];
  if (data->count == 1)
    snprintf(buf, size, "'%s' dataset '%s'", p->path, p->dataset);
  else
    snprintf(buf, size, "'%s' dataset '%s' and %d more file%s", p->path, p->dataset,
             data->count - 1, data->count == 2 ? "" : "s");
}

/* Opens the file of p read-only: alone with the default driver, or collectively on comm with
 * the MPI-IO driver (the probe before it makes a one-rank failure of the collective open
 * unlikely; should H5Fopen still fail on some ranks only, the collective close of the others
 * would wait). The handle is stored in p and closed by part_close. */
static nvmm_status open_file(MPI_Comm comm, data_part *p, int alone) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0)
    NVMM_ERROR(NVMM_EIO, "H5Pcreate(H5P_FILE_ACCESS) failed");
  if (!alone && H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) < 0) {
    (void)H5Pclose(fapl);
    NVMM_ERROR(NVMM_EIO, "H5Pset_fapl_mpio failed for '%s'", p->path);
  }
  p->alone = alone;
  p->file = H5Fopen(p->path, H5F_ACC_RDONLY, fapl);
  char cause[256];
  nvmm__h5_cause(cause, sizeof cause);
  (void)H5Pclose(fapl);
  NVMM_CHECK(p->file >= 0, NVMM_EIO, "cannot open '%s'%s%s", p->path,
             alone ? "" : " with the MPI-IO driver", cause);
  return NVMM_OK;
}

/* Opens the dataset of p, checks its shape and type and tells whether it is virtual. Handles
 * are stored in p and closed by part_close. */
static nvmm_status open_dataset(data_part *p, int *virt) {
  nvmm_status st = NVMM_OK;
  hid_t type = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
  const char *path = p->path, *name = p->dataset;
  htri_t exists = H5Lexists(p->file, name, H5P_DEFAULT);
  if (exists <= 0 || (p->dset = H5Dopen2(p->file, name, H5P_DEFAULT)) < 0) {
    st = NVMM_RAISE(NVMM_EIO, "'%s' has no dataset '%s'", path, name);
    goto cleanup;
  }
  H5D_layout_t layout = H5D_LAYOUT_ERROR;
  if ((type = H5Dget_type(p->dset)) < 0 || (p->fspace = H5Dget_space(p->dset)) < 0 ||
      (dcpl = H5Dget_create_plist(p->dset)) < 0 || (layout = H5Pget_layout(dcpl)) < 0) {
    st = NVMM_RAISE(NVMM_EIO, "cannot query dataset '%s' of '%s'", name, path);
    goto cleanup;
  }
  *virt = layout == H5D_VIRTUAL;
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
    st = NVMM_RAISE(NVMM_EINVAL, "dataset '%s' of '%s' is not numeric (float or integer)", name,
                    path);
    goto cleanup;
  }
  int ndims = H5Sget_simple_extent_ndims(p->fspace);
  if (ndims != 2) {
    st = NVMM_RAISE(NVMM_EINVAL,
                    "dataset '%s' of '%s' is not 2-D: it has %d dimension%s; expected 2 (rows x "
                    "columns)",
                    name, path, ndims, ndims == 1 ? "" : "s");
    goto cleanup;
  }
  hsize_t dims[2];
  if (H5Sget_simple_extent_dims(p->fspace, dims, NULL) != 2 || dims[0] > INT64_MAX ||
      dims[1] > INT64_MAX) {
    st = NVMM_RAISE(NVMM_EIO, "cannot read the shape of dataset '%s' of '%s'", name, path);
    goto cleanup;
  }
  if (dims[1] == 0) {
    st = NVMM_RAISE(NVMM_EINVAL, "dataset '%s' of '%s' has no columns", name, path);
    goto cleanup;
  }
  p->n = (int64_t)dims[0];
  p->d = (int64_t)dims[1];
cleanup:
  if (dcpl >= 0)
    (void)H5Pclose(dcpl);
  if (type >= 0)
    (void)H5Tclose(type);
  return st;
}

/* Closes the handles of p. The close of a file opened with the MPI-IO driver is collective, so
 * every rank must get here together (they do: every open is agreed before the next step). */
static void part_close(data_part *p) {
  if (p->fspace >= 0)
    (void)H5Sclose(p->fspace);
  if (p->dset >= 0)
    (void)H5Dclose(p->dset);
  if (p->file >= 0)
    (void)H5Fclose(p->file);
  p->file = p->dset = p->fspace = H5I_INVALID_HID;
}

/* Writes dir (the part of path before its last '/', "" if none) joined with name into buf and
 * tells whether that file is readable. */
static int readable_in(const char *path, const char *name, char *buf, size_t size) {
  const char *slash = path ? strrchr(path, '/') : NULL;
  if (slash)
    snprintf(buf, size, "%.*s/%s", (int)(slash - path), path, name);
  else
    snprintf(buf, size, "%s", name);
  return access(buf, R_OK) == 0;
}

/* Where HDF5 looks for the source file name of a virtual dataset in the file vds
 * (H5F_prefix_open_file): an absolute name as given, then its base name (or the relative
 * name) under the prefixes of $HDF5_VDS_PREFIX, next to vds, in the working directory and next
 * to vds with its links resolved. Writes the first that exists into found and returns 1;
 * returns 0 if none does, and -1 (do not know) when $HDF5_VDS_PREFIX is set: its list and
 * "${ORIGIN}" expansion are left to HDF5. */
static int find_source(const char *vds, const char *name, char *found, size_t size) {
  if (getenv("HDF5_VDS_PREFIX"))
    return -1;
  if (name[0] == '/') {
    if (readable_in(NULL, name, found, size))
      return 1;
    name = strrchr(name, '/') + 1;
  }
  if (readable_in(vds, name, found, size) || readable_in(NULL, name, found, size))
    return 1;
  char *real = realpath(vds, NULL);
  int ok = real && readable_in(real, name, found, size);
  free(real);
  if (!ok)
    snprintf(found, size, "%s", name);
  return ok;
}

/* Checks that the source dataset name of source file file of the virtual dataset p exists. */
static nvmm_status check_source(const data_part *p, const char *file, const char *name) {
  hid_t src = p->file;
  char found[4096];
  if (strcmp(file, ".") != 0) {
    int where = find_source(p->path, file, found, sizeof found);
    if (where < 0)
      return NVMM_OK;
    NVMM_CHECK(where > 0, NVMM_EIO,
               "virtual dataset '%s' of '%s' maps the missing file '%s' (HDF5 would read fill "
               "values there)",
               p->dataset, p->path, file);
    src = H5Fopen(found, H5F_ACC_RDONLY, H5P_DEFAULT);
    NVMM_CHECK(src >= 0, NVMM_EIO,
               "virtual dataset '%s' of '%s' maps '%s', which is not a readable HDF5 file",
               p->dataset, p->path, found);
  }
  htri_t exists = H5Lexists(src, name, H5P_DEFAULT);
  if (src != p->file)
    (void)H5Fclose(src);
  NVMM_CHECK(exists > 0, NVMM_EIO,
             "virtual dataset '%s' of '%s' maps the missing dataset '%s' of '%s' (HDF5 would read "
             "fill values there)",
             p->dataset, p->path, name, strcmp(file, ".") != 0 ? found : p->path);
  return NVMM_OK;
}

/* Where a source file or dataset of a virtual dataset is missing, HDF5 reads the fill value (0
 * unless the creator set one) without an error: a fit would silently use made-up rows. This
 * checks that every source named in the mappings exists; printf-style names ("%b") are left
 * to HDF5. */
static nvmm_status check_sources(const data_part *p) {
  nvmm_status st = NVMM_OK;
  size_t count = 0;
  hid_t dcpl = H5Dget_create_plist(p->dset);
  if (dcpl < 0 || H5Pget_virtual_count(dcpl, &count) < 0)
    st = NVMM_RAISE(NVMM_EIO, "cannot read the mappings of virtual dataset '%s' of '%s'",
                    p->dataset, p->path);
  for (size_t i = 0; i < count && st == NVMM_OK; i++) {
    ssize_t flen = H5Pget_virtual_filename(dcpl, i, NULL, 0);
    ssize_t dlen = H5Pget_virtual_dsetname(dcpl, i, NULL, 0);
    char *file = flen >= 0 ? malloc((size_t)flen + 1) : NULL;
    char *name = dlen >= 0 ? malloc((size_t)dlen + 1) : NULL;
    if (!file || !name || H5Pget_virtual_filename(dcpl, i, file, (size_t)flen + 1) < 0 ||
        H5Pget_virtual_dsetname(dcpl, i, name, (size_t)dlen + 1) < 0)
      st = NVMM_RAISE(flen >= 0 && dlen >= 0 && !(file && name) ? NVMM_ENOMEM : NVMM_EIO,
                      "cannot read mapping %zu of virtual dataset '%s' of '%s'", i, p->dataset,
                      p->path);
    else if (!strchr(file, '%') && !strchr(name, '%'))
      st = check_source(p, file, name);
    free(file);
    free(name);
  }
  if (dcpl >= 0)
    (void)H5Pclose(dcpl);
  return st;
}

/* Opens dataset k of data on every rank; each step's outcome is agreed before the next. */
static nvmm_status open_part(nvmm_data *data, int k) {
  data_part *p = &data->parts[k];
  int virt = 0;
  nvmm_status st = nvmm__agree_row(data->comm, open_file(data->comm, p, 0), NULL);
  if (st == NVMM_OK)
    st = nvmm__agree_row(data->comm, open_dataset(p, &virt), NULL);
  if (st != NVMM_OK || !virt)
    return st;
  /* HDF5 1.10 refuses every read of a virtual dataset through the MPI-IO driver: collective
   * and independent transfers both fail with "parallel reads not supported on virtual
   * datasets" (1.10.8, tried at 1, 2 and 4 ranks), so falling back to independent transfer is
   * no way out. Instead each rank reopens the file alone with the default driver and reads
   * its own rows with POSIX I/O; HDF5 opens the source files the same way. virt is the same
   * on every rank (one file's metadata), so all close the collective handles together. */
  part_close(p);
  st = open_file(data->comm, p, 1);
  if (st == NVMM_OK)
    st = open_dataset(p, &virt);
  if ((st = nvmm__agree_row(data->comm, st, NULL)) != NVMM_OK)
    return st;
  int rank = 0;
  if (MPI_Comm_rank(data->comm, &rank) != MPI_SUCCESS)
    st = NVMM_RAISE(NVMM_EMPI, "MPI_Comm_rank failed");
  /* One rank looks at the sources, so a many-rank job does not open them all everywhere. */
  else if (rank == 0)
    st = check_sources(p);
  return nvmm__agree_row(data->comm, st, NULL);
}

/* Closes whatever data holds (collectively, see part_close) and frees it. */
static void data_release(nvmm_data *data) {
  for (int k = 0; data->parts && k < data->count; k++) {
    part_close(&data->parts[k]);
    free(data->parts[k].path);
    free(data->parts[k].dataset);
  }
  free(data->parts);
  if (data->dxpl >= 0)
    (void)H5Pclose(data->dxpl);
  if (data->dxpl_ind >= 0)
    (void)H5Pclose(data->dxpl_ind);
  if (data->comm != MPI_COMM_NULL)
    (void)MPI_Comm_free(&data->comm);
  free(data->names);
  free(data);
}

/* Allocates the data set and copies the names; every part starts with no open handle. */
static nvmm_status data_alloc(MPI_Comm dup, int count, const char *const *paths,
                              const char *const *datasets, nvmm_data **out) {
  nvmm_data *data = calloc(1, sizeof *data);
  if (!data)
    NVMM_ERROR(NVMM_ENOMEM, "cannot allocate a data set");
  *out = data;
  data->comm = dup;
  data->count = count;
  data->dxpl = H5I_INVALID_HID;
  data->dxpl_ind = H5I_INVALID_HID;
  data->parts = calloc((size_t)count, sizeof *data->parts);
  NVMM_CHECK(data->parts, NVMM_ENOMEM, "cannot allocate a data set of %d files", count);
  for (int k = 0; k < count; k++)
    data->parts[k].file = data->parts[k].dset = data->parts[k].fspace = H5I_INVALID_HID;
  for (int k = 0; k < count; k++) {
    data_part *p = &data->parts[k];
    NVMM_CHECK(paths[k] && datasets[k], NVMM_EINVAL, "file path or dataset name %d of %d is NULL",
               k + 1, count);
    p->path = strdup(paths[k]);
    p->dataset = strdup(datasets[k]);
    NVMM_CHECK(p->path && p->dataset, NVMM_ENOMEM, "out of memory opening '%s'", paths[k]);
  }
  return NVMM_OK;
}

/* The checks that span datasets, once dataset k is open: the same width as the first, and a
 * total row count that fits int64_t. The shapes come from the files' metadata, the same on
 * every rank, so these outcomes need no agreement. */
static nvmm_status add_part(nvmm_data *data, int k) {
  data_part *p = &data->parts[k], *p0 = &data->parts[0];
  NVMM_CHECK(p->d == p0->d, NVMM_EINVAL,
             "'%s' dataset '%s' has %" PRId64 " columns but '%s' dataset '%s' has %" PRId64
             "; the datasets of a data set must have the same width",
             p->path, p->dataset, p->d, p0->path, p0->dataset, p0->d);
  NVMM_CHECK(p->n <= INT64_MAX - data->n, NVMM_EINVAL,
             "too many rows: '%s' dataset '%s' takes the data set past %" PRId64 " rows", p->path,
             p->dataset, INT64_MAX);
  p->first = data->n;
  data->n += p->n;
  data->d = p->d;
  return NVMM_OK;
}

nvmm_status nvmm_data_open_many(MPI_Comm comm, int count, const char *const *paths,
                                const char *const *datasets, nvmm_data **out) {
  NVMM_CHECK(out, NVMM_EINVAL, "output pointer is NULL");
  *out = NULL;
  NVMM_CHECK(comm != MPI_COMM_NULL, NVMM_EINVAL, "communicator is MPI_COMM_NULL");
  NVMM_CHECK(count >= 1 && paths && datasets, NVMM_EINVAL,
             "a data set needs at least one file (count = %d, paths %s, datasets %s)", count,
             paths ? "given" : "NULL", datasets ? "given" : "NULL");
  MPI_Comm dup = MPI_COMM_NULL;
  NVMM_CALL(nvmm__comm_dup(comm, &dup));
  nvmm_data *data = NULL;
  nvmm_status st = data_alloc(dup, count, paths, datasets, &data);
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  /* Probe serially first: a file missing on one rank only (node-local paths) then fails on
   * every rank instead of leaving the others inside the collective open. */
  for (int k = 0; k < count && st == NVMM_OK; k++)
    st = nvmm__h5_probe(paths[k]);
  if ((st = nvmm__agree_row(dup, st, NULL)) != NVMM_OK)
    goto cleanup;
  for (int k = 0; k < count && st == NVMM_OK; k++)
    if ((st = open_part(data, k)) == NVMM_OK)
      st = add_part(data, k);
  if (st != NVMM_OK)
    goto cleanup;
  const data_part *p0 = &data->parts[0];
  char what[512];
  snprintf(what, sizeof what, "dataset '%s' of '%s'", p0->dataset, p0->path);
  size_t nnames = 0;
  st = nvmm__h5_read_strings(p0->dset, "columns", what, &data->names, &nnames);
  /* The names are optional decoration: an attribute of the wrong length is ignored rather
   * than making the data unreadable. */
  if (st == NVMM_OK && nnames != (size_t)data->d) {
    free(data->names);
    data->names = NULL;
  }
  if (st == NVMM_OK && ((data->dxpl = H5Pcreate(H5P_DATASET_XFER)) < 0 ||
                        H5Pset_dxpl_mpio(data->dxpl, H5FD_MPIO_COLLECTIVE) < 0 ||
                        (data->dxpl_ind = H5Pcreate(H5P_DATASET_XFER)) < 0 ||
                        H5Pset_dxpl_mpio(data->dxpl_ind, H5FD_MPIO_INDEPENDENT) < 0))
    st = NVMM_RAISE(NVMM_EIO, "cannot create the transfer lists for '%s'", p0->path);
  st = nvmm__agree_row(dup, st, NULL);
cleanup:
  if (st == NVMM_OK) {
    *out = data;
  } else if (data) {
    data_release(data);
  } else {
    (void)MPI_Comm_free(&dup);
  }
  nvmm__h5_quiet_end(&q);
  return st;
}

nvmm_status nvmm_data_open(MPI_Comm comm, const char *path, const char *dataset, nvmm_data **out) {
  return nvmm_data_open_many(comm, 1, &path, &dataset, out);
}

void nvmm_data_dims(const nvmm_data *data, int64_t *n, int64_t *d) {
  if (n)
    *n = data ? data->n : 0;
  if (d)
    *d = data ? data->d : 0;
}

const char *nvmm_data_column_name(const nvmm_data *data, int64_t j) {
  if (!data || !data->names || j < 0 || j >= data->d)
    return NULL;
  return data->names[j];
}

/* Finds the first non-finite value of the rows just read (row-major order); the message names
 * the dataset holding it and the row there, and the global row when there are several. */
static nvmm_status check_finite(const nvmm_data *data, int64_t row0, int64_t nrows,
                                const double *buf, int64_t *bad_row) {
  size_t d = (size_t)data->d, rows = (size_t)nrows;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < d; j++) {
      double v = buf[i * d + j];
      if (isfinite(v))
        continue;
      int64_t row = row0 + (int64_t)i, col = (int64_t)j;
      const data_part *p = &data->parts[0];
      for (int k = 1; k < data->count && data->parts[k].first <= row; k++)
        p = &data->parts[k];
      char global[64] = "";
      if (data->count > 1)
        snprintf(global, sizeof global, " (global row %" PRId64 ")", row);
      const char *name = nvmm_data_column_name(data, col);
      *bad_row = row;
      NVMM_ERROR(NVMM_EDOM,
                 "'%s' dataset '%s': the value at row %" PRId64 "%s, column %" PRId64
                 "%s%s%s is %s",
                 p->path, p->dataset, row - p->first, global, col, name ? " ('" : "",
                 name ? name : "", name ? "')" : "", isnan(v) ? "NaN" : "infinite");
    }
  return NVMM_OK;
}

/* Reads rows [row0, row0 + nrows) of p (its own numbering) into buf; nrows may be 0. A
 * collectively opened part takes the collective transfer list, so every rank must call this
 * for it, those with no rows there with an empty selection. */
static nvmm_status read_part(const nvmm_data *data, data_part *p, int64_t row0, int64_t nrows,
                             double *buf) {
  hid_t mspace = H5I_INVALID_HID;
  double dummy = 0.0; /* target of a rank that reads nothing: HDF5 wants a buffer */
  hsize_t start[2] = {(hsize_t)row0, 0};
  hsize_t count[2] = {nrows > 0 ? (hsize_t)nrows : 1, (hsize_t)data->d};
  herr_t rc = nrows > 0 ? H5Sselect_hyperslab(p->fspace, H5S_SELECT_SET, start, NULL, count, NULL)
                        : H5Sselect_none(p->fspace);
  if (rc >= 0 && (mspace = H5Screate_simple(2, count, NULL)) >= 0 && nrows == 0)
    rc = H5Sselect_none(mspace);
  if (rc >= 0 && mspace >= 0)
    rc = H5Dread(p->dset, H5T_NATIVE_DOUBLE, mspace, p->fspace, p->alone ? H5P_DEFAULT : data->dxpl,
                 nrows > 0 ? (void *)buf : (void *)&dummy);
  if (mspace >= 0)
    (void)H5Sclose(mspace);
  char global[96] = "";
  if (data->count > 1)
    snprintf(global, sizeof global, " (global rows [%" PRId64 ", %" PRId64 "))", p->first + row0,
             p->first + row0 + nrows);
  NVMM_CHECK(rc >= 0 && mspace >= 0, NVMM_EIO,
             "'%s' dataset '%s': reading rows [%" PRId64 ", %" PRId64 ")%s failed", p->path,
             p->dataset, row0, row0 + nrows, global);
  return NVMM_OK;
}

nvmm_status nvmm_data_read(nvmm_data *data, int64_t row0, int64_t nrows, double *buf,
                           int64_t *bad_row) {
  if (bad_row)
    *bad_row = -1;
  NVMM_CHECK(data, NVMM_EINVAL, "data set is NULL");
  nvmm_status st = NVMM_OK;
  int64_t bad = -1;
  int in_range = row0 >= 0 && nrows >= 0 && row0 <= data->n && nrows <= data->n - row0 &&
                 (nrows == 0 || buf != NULL);
  if (!in_range) {
    char what[600];
    describe(data, what, sizeof what);
    st = NVMM_RAISE(
        NVMM_EINVAL, "%s: cannot read rows [%" PRId64 ", %" PRId64 ") of %" PRId64 " rows%s", what,
        row0, row0 + nrows, data->n, in_range || nrows == 0 || buf ? "" : " into a NULL buffer");
  }
  int reading = in_range && nrows > 0;
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  /* Every rank visits every dataset in the same order. A rank with nothing to read in one
   * (or a bad range, reported below) still takes part in its collective read, with an empty
   * selection; an empty dataset is skipped by all ranks alike. */
  for (int k = 0; k < data->count; k++) {
    data_part *p = &data->parts[k];
    int64_t lo = row0 > p->first ? row0 : p->first;
    int64_t hi = row0 + nrows < p->first + p->n ? row0 + nrows : p->first + p->n;
    int64_t rows = reading && hi > lo ? hi - lo : 0;
    if (p->n == 0 || (p->alone && rows == 0))
      continue;
    nvmm_status rs = read_part(data, p, rows > 0 ? lo - p->first : 0, rows,
                               rows > 0 ? buf + (size_t)(lo - row0) * (size_t)data->d : NULL);
    if (st == NVMM_OK)
      st = rs;
  }
  nvmm__h5_quiet_end(&q);
  if (st == NVMM_OK && reading)
    st = check_finite(data, row0, nrows, buf, &bad);
  st = nvmm__agree_row(data->comm, st, &bad);
  if (bad_row && st == NVMM_EDOM)
    *bad_row = bad;
  return st;
}

/* The ranges' rows that lie in part p, as one union selection of its file space, read
 * independently into buf (the first of them at buf, in file order). Ranges are sorted and
 * disjoint. *got receives the rows read. */
static nvmm_status read_part_ranges(const nvmm_data *data, data_part *p, size_t count,
                                    const int64_t *row0, const int64_t *nrows, double *buf,
                                    int64_t *got) {
  int64_t rows = 0;
  herr_t rc = H5Sselect_none(p->fspace);
  for (size_t i = 0; i < count && rc >= 0; i++) {
    int64_t lo = row0[i] > p->first ? row0[i] : p->first;
    int64_t hi = row0[i] + nrows[i] < p->first + p->n ? row0[i] + nrows[i] : p->first + p->n;
    if (hi <= lo)
      continue;
    hsize_t start[2] = {(hsize_t)(lo - p->first), 0},
            cnt[2] = {(hsize_t)(hi - lo), (hsize_t)data->d};
    rc = H5Sselect_hyperslab(p->fspace, H5S_SELECT_OR, start, NULL, cnt, NULL);
    rows += hi - lo;
  }
  *got = rows;
  if (rows == 0 || rc < 0)
    return rc < 0 ? NVMM_RAISE(NVMM_EIO, "'%s' dataset '%s': cannot select the rows to read",
                               p->path, p->dataset)
                  : NVMM_OK;
  hsize_t mdims[2] = {(hsize_t)rows, (hsize_t)data->d};
  hid_t mspace = H5Screate_simple(2, mdims, NULL);
  rc = mspace < 0 ? -1
                  : H5Dread(p->dset, H5T_NATIVE_DOUBLE, mspace, p->fspace,
                            p->alone ? H5P_DEFAULT : data->dxpl_ind, buf);
  if (mspace >= 0)
    (void)H5Sclose(mspace);
  NVMM_CHECK(rc >= 0, NVMM_EIO, "'%s' dataset '%s': reading %" PRId64 " scattered rows failed",
             p->path, p->dataset, rows);
  return NVMM_OK;
}

nvmm_status nvmm_data_read_ranges(nvmm_data *data, size_t count, const int64_t *row0,
                                  const int64_t *nrows, double *buf, int64_t *bad_row) {
  if (bad_row)
    *bad_row = -1;
  NVMM_CHECK(data, NVMM_EINVAL, "data set is NULL");
  nvmm_status st = NVMM_OK;
  int64_t bad = -1, prev = 0;
  for (size_t i = 0; i < count && st == NVMM_OK; i++) {
    if (nrows[i] < 0 || row0[i] < prev || row0[i] > data->n || nrows[i] > data->n - row0[i] ||
        (nrows[i] > 0 && !buf)) {
      char what[600];
      describe(data, what, sizeof what);
      st = NVMM_RAISE(NVMM_EINVAL,
                      "%s: cannot read rows [%" PRId64 ", %" PRId64 ") of %" PRId64
                      " rows (range %zu of %zu: ranges must be sorted, disjoint and inside)",
                      what, row0[i], row0[i] + nrows[i], data->n, i, count);
    }
    prev = row0[i] + (nrows[i] > 0 ? nrows[i] : 0);
  }
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  /* Independent reads: a rank with nothing to read here does nothing, and no rank waits for
   * another's small scattered rows (a collective read of a few rows costs the collective
   * buffering of a whole pass, tens of megabytes, every time). */
  int64_t done = 0;
  for (int k = 0; k < data->count && st == NVMM_OK; k++) {
    int64_t got = 0;
    st = read_part_ranges(data, &data->parts[k], count, row0, nrows,
                          buf ? buf + (size_t)done * (size_t)data->d : NULL, &got);
    done += got;
  }
  nvmm__h5_quiet_end(&q);
  /* The rows in buf follow the ranges' order; check each range's finiteness in place. */
  for (size_t i = 0, off = 0; i < count && st == NVMM_OK; off += (size_t)nrows[i], i++)
    st = check_finite(data, row0[i], nrows[i], buf + off * (size_t)data->d, &bad);
  st = nvmm__agree_row(data->comm, st, &bad);
  if (bad_row && st == NVMM_EDOM)
    *bad_row = bad;
  return st;
}

void nvmm_data_close(nvmm_data **data) {
  if (!data || !*data)
    return;
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  data_release(*data);
  nvmm__h5_quiet_end(&q);
  *data = NULL;
}
