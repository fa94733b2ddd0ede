/* io_data.c: a 2-D numeric HDF5 dataset read in row shards with parallel HDF5 (MPI-IO file
 * access, collective hyperslab reads), plus the HDF5 helpers the io module shares. */
#include "nvmm/io.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "io_impl.h"

struct nvmm_data {
  MPI_Comm comm; /* duplicate of the caller's communicator; freed at close */
  hid_t file;    /* the file, opened read-only with the MPI-IO driver on comm */
  hid_t dset;    /* the dataset */
  hid_t fspace;  /* its file dataspace; the selection is reset by every read */
  hid_t dxpl;    /* collective transfer property list */
  int64_t n;     /* rows */
  int64_t d;     /* columns */
  char *path;    /* file name, for messages */
  char *dataset; /* dataset name, for messages */
  char **names;  /* d column names from the "columns" attribute, or NULL */
};

/* Size of the message carried from the failing rank to the others: the length of the
 * library's last-error buffer (status.c), so no message is cut twice. */
#define AGREE_MSG_LEN 1024

void nvmm__h5_quiet_begin(nvmm__h5_quiet *q) {
  /* If the query fails the saved handler stays NULL and "restoring" keeps HDF5 silent, which
   * errs on the side of the library-never-prints rule. */
  q->func = NULL;
  q->data = NULL;
  if (H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data) < 0) {
    q->func = NULL;
    q->data = NULL;
  }
  (void)H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void nvmm__h5_quiet_end(const nvmm__h5_quiet *q) {
  (void)H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

nvmm_status nvmm__h5_probe(const char *path) {
  /* access() first: it distinguishes a missing file from an unreadable one with errno,
   * which H5Fis_hdf5 does not report. */
  if (access(path, R_OK) != 0)
    NVMM_ERROR(NVMM_EIO, "cannot open '%s': %s", path, strerror(errno));
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  htri_t is = H5Fis_hdf5(path);
  nvmm__h5_quiet_end(&q);
  NVMM_CHECK(is >= 0, NVMM_EIO, "cannot read '%s' (a directory or an unreadable file)", path);
  NVMM_CHECK(is > 0, NVMM_EIO, "'%s' is not an HDF5 file", path);
  return NVMM_OK;
}

nvmm_status nvmm__h5_read_strings(hid_t obj, const char *name, const char *what, char ***names,
                                  size_t *count) {
  nvmm_status st = NVMM_OK;
  hid_t attr = H5I_INVALID_HID, ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID;
  hid_t space = H5I_INVALID_HID;
  char **raw = NULL;  /* variable-length strings as HDF5 returns them */
  char *fixed = NULL; /* fixed-length strings, n x (size + 1) */
  int vlen_held = 0;  /* raw holds HDF5-allocated strings to reclaim */
  size_t width = 0, n = 0;
  *names = NULL;
  *count = 0;
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  htri_t exists = H5Aexists(obj, name);
  if (exists < 0) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO, "cannot query attribute '%s' of %s",
                    name, what);
    goto cleanup;
  }
  if (exists == 0)
    goto cleanup;
  if ((attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (ftype = H5Aget_type(attr)) < 0 ||
      (space = H5Aget_space(attr)) < 0) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO, "cannot open attribute '%s' of %s",
                    name, what);
    goto cleanup;
  }
  int ndims = H5Sget_simple_extent_ndims(space);
  hssize_t npoints = H5Sget_simple_extent_npoints(space);
  htri_t is_var = H5Tis_variable_str(ftype);
  if (H5Tget_class(ftype) != H5T_STRING || ndims < 0 || ndims > 1 || npoints < 0 || is_var < 0) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO,
                    "attribute '%s' of %s is not a 1-D string array", name, what);
    goto cleanup;
  }
  n = (size_t)npoints;
  /* HDF5 converts no strings between character sets: read in the file's (ASCII or UTF-8). */
  H5T_cset_t cset = H5Tget_cset(ftype);
  if ((mtype = H5Tcopy(H5T_C_S1)) < 0 || cset < 0 || H5Tset_cset(mtype, cset) < 0) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO,
                    "cannot make a string type for attribute '%s' of %s", name, what);
    goto cleanup;
  }
  herr_t rc;
  if (is_var) {
    raw = calloc(n ? n : 1, sizeof *raw);
    if (!raw) {
      st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_ENOMEM,
                      "cannot allocate %zu names for attribute '%s' of %s", n, name, what);
      goto cleanup;
    }
    rc = H5Tset_size(mtype, H5T_VARIABLE);
    if (rc >= 0)
      rc = H5Aread(attr, mtype, raw);
    vlen_held = rc >= 0;
  } else {
    /* One byte more than the file's width, null-terminated, so every name is a C string
     * whatever padding the writer used. */
    width = H5Tget_size(ftype) + 1;
    fixed = calloc(n ? n : 1, width);
    if (!fixed || width < 2) {
      st = nvmm_error(__FILE__, __LINE__, __func__, fixed ? NVMM_EIO : NVMM_ENOMEM,
                      "cannot read attribute '%s' of %s", name, what);
      goto cleanup;
    }
    rc = H5Tset_size(mtype, width);
    if (rc >= 0)
      rc = H5Tset_strpad(mtype, H5T_STR_NULLTERM);
    if (rc >= 0)
      rc = H5Aread(attr, mtype, fixed);
  }
  if (rc < 0) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO, "cannot read attribute '%s' of %s",
                    name, what);
    goto cleanup;
  }
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = is_var ? raw[i] : fixed + i * width;
    bytes += (s ? strlen(s) : 0) + 1;
  }
  char **out = malloc(n * sizeof *out + bytes + 1);
  if (!out) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_ENOMEM,
                    "cannot allocate the names of attribute '%s' of %s", name, what);
    goto cleanup;
  }
  char *p = (char *)(out + n);
  for (size_t i = 0; i < n; i++) {
    const char *s = is_var ? raw[i] : fixed + i * width;
    size_t len = s ? strlen(s) : 0;
    memcpy(p, s ? s : "", len);
    p[len] = '\0';
    out[i] = p;
    p += len + 1;
  }
  *names = out;
  *count = n;
cleanup:
  if (vlen_held) {
    /* HDF5 1.10 exports only the older name (1.12 deprecates it for H5Treclaim). */
#if H5_VERSION_GE(1, 12, 0)
    (void)H5Treclaim(mtype, space, H5P_DEFAULT, raw);
#else
    (void)H5Dvlen_reclaim(mtype, space, H5P_DEFAULT, raw);
#endif
  }
  free(raw);
  free(fixed);
  if (mtype >= 0)
    (void)H5Tclose(mtype);
  if (space >= 0)
    (void)H5Sclose(space);
  if (ftype >= 0)
    (void)H5Tclose(ftype);
  if (attr >= 0)
    (void)H5Aclose(attr);
  nvmm__h5_quiet_end(&q);
  return st;
}

nvmm_status nvmm__h5_write_strings(hid_t obj, const char *name, const char *what,
                                   const char *const *names, size_t count) {
  nvmm_status st = NVMM_OK;
  hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, attr = H5I_INVALID_HID;
  hsize_t dims[1] = {count};
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  if ((type = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 ||
      H5Tset_cset(type, H5T_CSET_UTF8) < 0 || (space = H5Screate_simple(1, dims, NULL)) < 0 ||
      (attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
      (count > 0 && H5Awrite(attr, type, names) < 0))
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO,
                    "cannot write the %zu-name attribute '%s' of %s", count, name, what);
  if (attr >= 0 && H5Aclose(attr) < 0 && st == NVMM_OK)
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO, "cannot close attribute '%s' of %s",
                    name, what);
  if (space >= 0)
    (void)H5Sclose(space);
  if (type >= 0)
    (void)H5Tclose(type);
  nvmm__h5_quiet_end(&q);
  return st;
}

/* Makes a rank-local outcome collective (design invariant: reduce failure before branching).
 * One Allreduce on the success path. On failure every rank returns the same status, the most
 * negative code raised anywhere; a rank that raised it keeps its own message (and *row), the
 * others receive those of the lowest-numbered such rank, so every rank can report the cause.
 * row may be NULL. */
static nvmm_status agree(MPI_Comm comm, nvmm_status st, int64_t *row) {
  int loc = (int)st, glob = 0;
  if (MPI_Allreduce(&loc, &glob, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce failed while agreeing on a status");
  if (glob == NVMM_OK)
    return NVMM_OK;
  int rank = 0, size = 0;
  if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS || MPI_Comm_size(comm, &size) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_rank/MPI_Comm_size failed");
  int mine = loc == glob ? rank : size, owner = 0;
  if (MPI_Allreduce(&mine, &owner, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Allreduce failed while agreeing on a status");
  struct {
    int64_t row;
    char msg[AGREE_MSG_LEN];
  } pkt;
  memset(&pkt, 0, sizeof pkt);
  if (rank == owner) {
    pkt.row = row ? *row : -1;
    snprintf(pkt.msg, sizeof pkt.msg, "%s", nvmm_last_error());
  }
  if (MPI_Bcast(&pkt, (int)sizeof pkt, MPI_BYTE, owner, comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Bcast failed while agreeing on a status");
  if (loc == glob)
    return (nvmm_status)glob;
  if (row)
    *row = pkt.row;
  return nvmm_error(__FILE__, __LINE__, __func__, (nvmm_status)glob,
                    "another rank (rank %d) failed: %s", owner, pkt.msg);
}

/* Opens the file collectively (the probe before it makes a one-rank failure here unlikely;
 * should H5Fopen still fail on some ranks only, the collective close of the others would wait).
 * The handle is stored in data and closed by data_release. */
static nvmm_status open_file(nvmm_data *data) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0)
    NVMM_ERROR(NVMM_EIO, "H5Pcreate(H5P_FILE_ACCESS) failed");
  if (H5Pset_fapl_mpio(fapl, data->comm, MPI_INFO_NULL) < 0) {
    (void)H5Pclose(fapl);
    NVMM_ERROR(NVMM_EIO, "H5Pset_fapl_mpio failed for '%s'", data->path);
  }
  data->file = H5Fopen(data->path, H5F_ACC_RDONLY, fapl);
  (void)H5Pclose(fapl);
  NVMM_CHECK(data->file >= 0, NVMM_EIO, "cannot open '%s' with the MPI-IO driver", data->path);
  return NVMM_OK;
}

/* Opens the dataset, checks its shape and type, caches the column names and makes the
 * collective transfer list. Handles are stored in data and closed by data_release. */
static nvmm_status open_dataset(nvmm_data *data) {
  nvmm_status st = NVMM_OK;
  hid_t type = H5I_INVALID_HID;
  const char *path = data->path, *name = data->dataset;
  htri_t exists = H5Lexists(data->file, name, H5P_DEFAULT);
  if (exists <= 0 || (data->dset = H5Dopen2(data->file, name, H5P_DEFAULT)) < 0) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO, "'%s' has no dataset '%s'", path, name);
    goto cleanup;
  }
  if ((type = H5Dget_type(data->dset)) < 0 || (data->fspace = H5Dget_space(data->dset)) < 0) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO, "cannot query dataset '%s' of '%s'",
                    name, path);
    goto cleanup;
  }
  H5T_class_t cls = H5Tget_class(type);
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EINVAL,
                    "dataset '%s' of '%s' is not numeric (float or integer)", name, path);
    goto cleanup;
  }
  int ndims = H5Sget_simple_extent_ndims(data->fspace);
  if (ndims != 2) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EINVAL,
                    "dataset '%s' of '%s' is not 2-D: it has %d dimension%s; expected 2 (rows x "
                    "columns)",
                    name, path, ndims, ndims == 1 ? "" : "s");
    goto cleanup;
  }
  hsize_t dims[2];
  if (H5Sget_simple_extent_dims(data->fspace, dims, NULL) != 2 || dims[0] > INT64_MAX ||
      dims[1] > INT64_MAX) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO,
                    "cannot read the shape of dataset '%s' of '%s'", name, path);
    goto cleanup;
  }
  if (dims[1] == 0) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EINVAL,
                    "dataset '%s' of '%s' has no columns", name, path);
    goto cleanup;
  }
  data->n = (int64_t)dims[0];
  data->d = (int64_t)dims[1];
  char what[512];
  snprintf(what, sizeof what, "dataset '%s' of '%s'", name, path);
  size_t count = 0;
  st = nvmm__h5_read_strings(data->dset, "columns", what, &data->names, &count);
  /* The names are optional decoration: an attribute of the wrong length is ignored rather
   * than making the data unreadable. */
  if (st == NVMM_OK && count != dims[1]) {
    free(data->names);
    data->names = NULL;
  }
  if (st == NVMM_OK) {
    if ((data->dxpl = H5Pcreate(H5P_DATASET_XFER)) < 0 ||
        H5Pset_dxpl_mpio(data->dxpl, H5FD_MPIO_COLLECTIVE) < 0)
      st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO,
                      "cannot create a collective transfer list for '%s'", path);
  }
cleanup:
  if (type >= 0)
    (void)H5Tclose(type);
  return st;
}

/* Closes whatever data holds; H5Fclose is collective, so every rank must get here together. */
static void data_release(nvmm_data *data) {
  if (data->dxpl >= 0)
    (void)H5Pclose(data->dxpl);
  if (data->fspace >= 0)
    (void)H5Sclose(data->fspace);
  if (data->dset >= 0)
    (void)H5Dclose(data->dset);
  if (data->file >= 0)
    (void)H5Fclose(data->file);
  if (data->comm != MPI_COMM_NULL)
    (void)MPI_Comm_free(&data->comm);
  free(data->names);
  free(data->path);
  free(data->dataset);
  free(data);
}

nvmm_status nvmm_data_open(MPI_Comm comm, const char *path, const char *dataset, nvmm_data **out) {
  NVMM_CHECK(out, NVMM_EINVAL, "output pointer is NULL");
  *out = NULL;
  NVMM_CHECK(comm != MPI_COMM_NULL, NVMM_EINVAL, "communicator is MPI_COMM_NULL");
  MPI_Comm dup = MPI_COMM_NULL;
  if (MPI_Comm_dup(comm, &dup) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_dup failed");
  nvmm_status st = NVMM_OK;
  nvmm_data *data = calloc(1, sizeof *data);
  if (!data) {
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_ENOMEM, "cannot allocate a data set");
  } else {
    data->comm = dup;
    data->file = data->dset = data->fspace = data->dxpl = H5I_INVALID_HID;
    if (!path || !dataset)
      st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EINVAL,
                      "file path or dataset name is NULL");
    else if (!(data->path = strdup(path)) || !(data->dataset = strdup(dataset)))
      st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_ENOMEM, "cannot copy '%s'", path);
  }
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  /* Probe serially first: a file missing on one rank only (node-local paths) then fails on
   * every rank instead of leaving the others inside the collective open. */
  if (st == NVMM_OK)
    st = nvmm__h5_probe(path);
  if ((st = agree(dup, st, NULL)) != NVMM_OK)
    goto cleanup;
  st = agree(dup, open_file(data), NULL);
  if (st != NVMM_OK)
    goto cleanup;
  st = agree(dup, open_dataset(data), NULL);
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

/* Finds the first non-finite value of the rows just read (row-major order). */
static nvmm_status check_finite(const nvmm_data *data, int64_t row0, int64_t nrows,
                                const double *buf, int64_t *bad_row) {
  size_t d = (size_t)data->d, rows = (size_t)nrows;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < d; j++) {
      double v = buf[i * d + j];
      if (isfinite(v))
        continue;
      int64_t row = row0 + (int64_t)i, col = (int64_t)j;
      const char *name = nvmm_data_column_name(data, col);
      *bad_row = row;
      NVMM_ERROR(NVMM_EDOM,
                 "'%s' dataset '%s': the value at row %" PRId64 ", column %" PRId64 "%s%s%s is %s",
                 data->path, data->dataset, row, col, name ? " ('" : "", name ? name : "",
                 name ? "')" : "", isnan(v) ? "NaN" : "infinite");
    }
  return NVMM_OK;
}

nvmm_status nvmm_data_read(nvmm_data *data, int64_t row0, int64_t nrows, double *buf,
                           int64_t *bad_row) {
  if (bad_row)
    *bad_row = -1;
  NVMM_CHECK(data, NVMM_EINVAL, "data set is NULL");
  nvmm_status st = NVMM_OK;
  int64_t bad = -1;
  hid_t mspace = H5I_INVALID_HID;
  double dummy = 0.0; /* target of a rank that reads nothing: HDF5 wants a buffer */
  int in_range = row0 >= 0 && nrows >= 0 && row0 <= data->n && nrows <= data->n - row0 &&
                 (nrows == 0 || buf != NULL);
  if (!in_range)
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EINVAL,
                    "'%s' dataset '%s': cannot read rows [%" PRId64 ", %" PRId64 ") of %" PRId64
                    " rows%s",
                    data->path, data->dataset, row0, row0 + nrows, data->n,
                    in_range || nrows == 0 || buf ? "" : " into a NULL buffer");
  int reading = in_range && nrows > 0;
  /* A rank with nothing to read (or a bad range, reported below) still takes part in the
   * collective read, with an empty selection. */
  hsize_t start[2] = {reading ? (hsize_t)row0 : 0, 0};
  hsize_t count[2] = {reading ? (hsize_t)nrows : 1, (hsize_t)data->d};
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  herr_t rc = reading ? H5Sselect_hyperslab(data->fspace, H5S_SELECT_SET, start, NULL, count, NULL)
                      : H5Sselect_none(data->fspace);
  if (rc >= 0 && (mspace = H5Screate_simple(2, count, NULL)) >= 0 && !reading)
    rc = H5Sselect_none(mspace);
  if (rc >= 0 && mspace >= 0)
    rc = H5Dread(data->dset, H5T_NATIVE_DOUBLE, mspace, data->fspace, data->dxpl,
                 reading ? (void *)buf : (void *)&dummy);
  if ((rc < 0 || mspace < 0) && st == NVMM_OK)
    st = nvmm_error(__FILE__, __LINE__, __func__, NVMM_EIO,
                    "'%s' dataset '%s': reading rows [%" PRId64 ", %" PRId64 ") failed", data->path,
                    data->dataset, row0, row0 + nrows);
  if (mspace >= 0)
    (void)H5Sclose(mspace);
  nvmm__h5_quiet_end(&q);
  if (st == NVMM_OK && reading)
    st = check_finite(data, row0, nrows, buf, &bad);
  st = agree(data->comm, st, &bad);
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
