/* h5util.h: small HDF5 helpers shared by the io module's files and the nvmm program's `info`:
 * silencing HDF5's error printing, the innermost HDF5 error, the HDF5 file probe, string-array
 * attributes, scalar attributes and float64 datasets (library-internal: hidden in the shared
 * library; the program links its own copy of h5util.c). */
#ifndef NVMM_H5UTIL_H
#define NVMM_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>

#include "nvmm/status.h"

/* HDF5's automatic error printing, saved while the library has it switched off. */
typedef struct nvmm__h5_quiet {
  H5E_auto2_t func; /* the caller's handler (usually H5Eprint2) */
  void *data;       /* its client data */
} nvmm__h5_quiet;

/* Switches HDF5's automatic error printing off for this thread and saves the caller's
 * setting in q; nvmm__h5_quiet_end restores it. The library never prints. */
void nvmm__h5_quiet_begin(nvmm__h5_quiet *q);
void nvmm__h5_quiet_end(const nvmm__h5_quiet *q);

/* Writes ": " and the innermost message of HDF5's error stack into buf (the cause HDF5 found,
 * such as a truncated file or a metadata checksum mismatch), or "" when the stack is empty.
 * Call it right after the failed HDF5 call: the next call clears the stack. */
void nvmm__h5_cause(char *buf, size_t size);

/* NVMM_OK when path names a readable HDF5 file, else NVMM_EIO naming the path and why
 * (missing, unreadable, not HDF5). */
nvmm_status nvmm__h5_probe(const char *path);

/* Reads the 1-D string attribute name of obj (variable or fixed length) into one allocation
 * holding *count pointers followed by the strings; *names = NULL and *count = 0 when the
 * attribute does not exist. Free with free(*names). what names obj in messages.
 * Errors: NVMM_EIO (unreadable or not a string array), NVMM_ENOMEM. */
nvmm_status nvmm__h5_read_strings(hid_t obj, const char *name, const char *what, char ***names,
                                  size_t *count);

/* Writes names (count strings) as a 1-D variable-length UTF-8 string attribute of obj, the
 * form h5py reads as a list of str. Errors: NVMM_EIO naming what and the attribute. */
nvmm_status nvmm__h5_write_strings(hid_t obj, const char *name, const char *what,
                                   const char *const *names, size_t count);

/* Scalar attributes and float64 datasets (rank 0, 1 or 2) of the files the io module writes;
 * errors name the object and path. The getters check the shape and say what is missing;
 * nvmm__h5_get_array with out == NULL checks the shape only. */
nvmm_status nvmm__h5_put_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype,
                              const void *buf, const char *path);
nvmm_status nvmm__h5_put_attr_str(hid_t obj, const char *name, const char *value, const char *path);
nvmm_status nvmm__h5_put_array(hid_t loc, const char *name, int rank, const hsize_t *dims,
                               const double *v, const char *path);
nvmm_status nvmm__h5_get_attr(hid_t obj, const char *name, hid_t mtype, void *buf,
                              const char *path);
nvmm_status nvmm__h5_get_attr_str(hid_t obj, const char *name, char *buf, size_t size,
                                  const char *path);
nvmm_status nvmm__h5_get_array(hid_t loc, const char *name, int rank, const hsize_t *dims,
                               double *out, const char *path);

#endif
