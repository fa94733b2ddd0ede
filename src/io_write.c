/* io_write.c: writing a data set in row shards with parallel HDF5 (nvmm sample, nvmm score):
 * collective hyperslab writes into path.tmp, renamed over path only when every rank succeeded. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nvmm/io.h"

#include "comm.h"

struct nvmm_data_writer {
  MPI_Comm comm; /* private duplicate */
  int rank;
  hid_t file, dset;
  int64_t n, d;
  char path[4096], tmp[4110];
};

nvmm_status nvmm_data_writer_create(MPI_Comm comm, const char *path, const char *dataset, int64_t n,
                                    int64_t d, nvmm_data_writer **out) {
  NVMM_CHECK(path && dataset && out && n >= 0 && d >= 1, NVMM_EINVAL,
             "invalid arguments to create a data set (n = %lld, d = %lld)", (long long)n,
             (long long)d);
  *out = NULL;
  nvmm_data_writer *w = calloc(1, sizeof *w);
  nvmm_status st =
      nvmm_agree(comm, w ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "out of memory creating %s", path));
  if (st == NVMM_OK)
    st = nvmm__comm_dup(comm, &w->comm);
  if (st != NVMM_OK) {
    free(w);
    return st;
  }
  if (MPI_Comm_rank(w->comm, &w->rank) != MPI_SUCCESS) {
    MPI_Comm_free(&w->comm);
    free(w);
    NVMM_ERROR(NVMM_EMPI, "MPI_Comm_rank failed");
  }
  w->n = n;
  w->d = d;
  w->file = w->dset = H5I_INVALID_HID;
  snprintf(w->path, sizeof w->path, "%s", path);
  snprintf(w->tmp, sizeof w->tmp, "%s.tmp", path);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t space = H5I_INVALID_HID;
  H5E_BEGIN_TRY {
    H5Pset_fapl_mpio(fapl, w->comm, MPI_INFO_NULL);
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (w->file >= 0) {
      hsize_t dims[2] = {(hsize_t)n, (hsize_t)d};
      /* 4096-row chunks (or fewer for small data): the reader's default block. */
      hsize_t chunk[2] = {n < 4096 ? (n > 0 ? (hsize_t)n : 1) : 4096, (hsize_t)d};
      space = H5Screate_simple(2, dims, NULL);
      H5Pset_chunk(dcpl, 2, chunk);
      hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
      H5Pset_create_intermediate_group(lcpl, 1);
      w->dset = H5Dcreate2(w->file, dataset, H5T_IEEE_F64LE, space, lcpl, dcpl, H5P_DEFAULT);
      H5Pclose(lcpl);
    }
  }
  H5E_END_TRY;
  if (space >= 0)
    H5Sclose(space);
  H5Pclose(fapl);
  H5Pclose(dcpl);
  if (w->file < 0 || w->dset < 0)
    st = NVMM_RAISE(NVMM_EIO, "cannot create %s (dataset %s): is the directory writable?", path,
                    dataset);
  if ((st = nvmm_agree(w->comm, st)) != NVMM_OK) {
    nvmm_status cs = nvmm_data_writer_close(&w, 0); /* st says what went wrong */
    (void)cs;
    return st;
  }
  *out = w;
  return NVMM_OK;
}

nvmm_status nvmm_data_writer_write(nvmm_data_writer *w, int64_t row0, int64_t nrows,
                                   const double *buf) {
  NVMM_CHECK(w, NVMM_EINVAL, "writer is NULL");
  int bad = row0 < 0 || nrows < 0 || row0 + nrows > w->n || (nrows > 0 && !buf);
  herr_t e = 0;
  if (!bad) {
    hid_t fs = H5Dget_space(w->dset), dxpl = H5Pcreate(H5P_DATASET_XFER);
    hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)w->d};
    hsize_t mdims[2] = {(hsize_t)(nrows > 0 ? nrows : 1), (hsize_t)w->d};
    hid_t ms = H5Screate_simple(2, mdims, NULL);
    H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE);
    if (nrows > 0) {
      H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    } else {
      H5Sselect_none(fs);
      H5Sselect_none(ms);
    }
    H5E_BEGIN_TRY { e = H5Dwrite(w->dset, H5T_NATIVE_DOUBLE, ms, fs, dxpl, buf); }
    H5E_END_TRY;
    H5Sclose(ms);
    H5Sclose(fs);
    H5Pclose(dxpl);
  }
  nvmm_status st = NVMM_OK;
  if (bad || e < 0)
    st = NVMM_RAISE(bad ? NVMM_EINVAL : NVMM_EIO, "writing rows [%lld, %lld) of %s failed",
                    (long long)row0, (long long)(row0 + nrows), w->path);
  return nvmm_agree(w->comm, st);
}

nvmm_status nvmm_data_writer_close(nvmm_data_writer **pw, int commit) {
  if (!pw || !*pw)
    return NVMM_OK;
  nvmm_data_writer *w = *pw;
  herr_t e = 0;
  H5E_BEGIN_TRY {
    if (w->dset >= 0)
      e |= H5Dclose(w->dset);
    if (w->file >= 0)
      e |= H5Fclose(w->file);
  }
  H5E_END_TRY;
  int all_commit = 0;
  int mine = commit && e >= 0;
  /* A failed MPI call (the communicator returns errors) counts as a failure to commit. */
  if (MPI_Allreduce(&mine, &all_commit, 1, MPI_INT, MPI_MIN, w->comm) != MPI_SUCCESS)
    all_commit = 0;
  int renamed = 1;
  if (w->rank == 0) {
    if (all_commit)
      renamed = rename(w->tmp, w->path) == 0;
    else
      remove(w->tmp);
  }
  if (MPI_Bcast(&renamed, 1, MPI_INT, 0, w->comm) != MPI_SUCCESS)
    renamed = 0;
  MPI_Comm_free(&w->comm);
  char path[4096];
  snprintf(path, sizeof path, "%s", w->path);
  free(w);
  *pw = NULL;
  NVMM_CHECK(!commit || (all_commit && renamed), NVMM_EIO, "cannot finish writing %s", path);
  return NVMM_OK;
}
