/* io_impl.h: what the files of the io module share beyond the HDF5 helpers of h5util.h: the
 * atomic write of a file built in memory and the fsync-and-rename commit (io_commit.c), and the
 * model file writer the checkpoint writer extends (io_model.c). Library-internal. */
#ifndef NVMM_IO_IMPL_H
#define NVMM_IO_IMPL_H

#include <hdf5.h>

#include "h5util.h"
#include "nvmm/io.h"
#include "nvmm/status.h"

/* Makes the closed file tmp durable and atomically visible as path: fsync tmp, rename it over
 * path, fsync the directory (design: checkpoint atomicity). Errors: NVMM_EIO naming the
 * paths; tmp is left in place for the caller to remove. */
nvmm_status nvmm__commit_file(const char *tmp, const char *path);

/* Writes the groups, attributes and datasets of a file into the open file; path names the file
 * in messages. */
typedef nvmm_status nvmm__h5_fill(hid_t file, const void *arg, const char *path);

/* Writes the HDF5 file path atomically: fill(file, arg, path) writes its contents into a file
 * built in memory, the image is checked to reopen, written to path.tmp and committed with
 * nvmm__commit_file. On failure path is untouched and no path.tmp is left. fault is the test
 * hook NVMM_FAULT_CKPT_ABORT: half of path.tmp is written, then the process aborts.
 * Not collective. Errors: those of fill, NVMM_EIO naming the path, NVMM_ENOMEM. */
nvmm_status nvmm__h5_write_file(const char *path, nvmm__h5_fill *fill, const void *arg, int fault);

/* nvmm_model_write with an extra writer (the checkpoint's /state) called after the model,
 * history and meta are written, before the file is committed. */
nvmm_status nvmm__model_write_with(const char *path, const nvmm_model *m,
                                   const nvmm_history_view *hist, const nvmm_fit_meta *meta,
                                   nvmm__h5_fill *extra, const void *arg);

#endif
