/* h5util.c: small HDF5 helpers of the io module and the program's `info`: HDF5's error
 * printing switched off and its innermost error, the HDF5 file probe, string-array attributes,
 * scalar attributes and float64 datasets with errors that name the file and the object. */
#include "h5util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* The innermost entry of HDF5's error stack (what the library found, e.g. "truncated file:
 * eof = 1000, ... stored_eof = 107064" or "incorrect metadata checksum"). */
static herr_t innermost(unsigned n, const H5E_error2_t *e, void *data) {
  if (n == 0 && e->desc)
    snprintf(data, 256, "%s", e->desc);
  return 0;
}

void nvmm__h5_cause(char *buf, size_t size) {
  char desc[256] = "";
  (void)H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, desc);
  snprintf(buf, size, "%s%s", desc[0] ? ": " : "", desc);
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
    st = NVMM_RAISE(NVMM_EIO, "cannot query attribute '%s' of %s", name, what);
    goto cleanup;
  }
  if (exists == 0)
    goto cleanup;
  if ((attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (ftype = H5Aget_type(attr)) < 0 ||
      (space = H5Aget_space(attr)) < 0) {
    st = NVMM_RAISE(NVMM_EIO, "cannot open attribute '%s' of %s", name, what);
    goto cleanup;
  }
  int ndims = H5Sget_simple_extent_ndims(space);
  hssize_t npoints = H5Sget_simple_extent_npoints(space);
  htri_t is_var = H5Tis_variable_str(ftype);
  if (H5Tget_class(ftype) != H5T_STRING || ndims < 0 || ndims > 1 || npoints < 0 || is_var < 0) {
    st = NVMM_RAISE(NVMM_EIO, "attribute '%s' of %s is not a 1-D string array", name, what);
    goto cleanup;
  }
  n = (size_t)npoints;
  /* HDF5 converts no strings between character sets: read in the file's (ASCII or UTF-8). */
  H5T_cset_t cset = H5Tget_cset(ftype);
  if ((mtype = H5Tcopy(H5T_C_S1)) < 0 || cset < 0 || H5Tset_cset(mtype, cset) < 0) {
    st = NVMM_RAISE(NVMM_EIO, "cannot make a string type for attribute '%s' of %s", name, what);
    goto cleanup;
  }
  herr_t rc;
  if (is_var) {
    raw = calloc(n ? n : 1, sizeof *raw);
    if (!raw) {
      st = NVMM_RAISE(NVMM_ENOMEM, "cannot allocate %zu names for attribute '%s' of %s", n, name,
                      what);
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
      st = NVMM_RAISE(fixed ? NVMM_EIO : NVMM_ENOMEM, "cannot read attribute '%s' of %s", name,
                      what);
      goto cleanup;
    }
    rc = H5Tset_size(mtype, width);
    if (rc >= 0)
      rc = H5Tset_strpad(mtype, H5T_STR_NULLTERM);
    if (rc >= 0)
      rc = H5Aread(attr, mtype, fixed);
  }
  if (rc < 0) {
    st = NVMM_RAISE(NVMM_EIO, "cannot read attribute '%s' of %s", name, what);
    goto cleanup;
  }
  size_t bytes = 0;
  for (size_t i = 0; i < n; i++) {
    const char *s = is_var ? raw[i] : fixed + i * width;
    bytes += (s ? strlen(s) : 0) + 1;
  }
  char **out = malloc(n * sizeof *out + bytes + 1);
  if (!out) {
    st = NVMM_RAISE(NVMM_ENOMEM, "cannot allocate the names of attribute '%s' of %s", name, what);
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
    st = NVMM_RAISE(NVMM_EIO, "cannot write the %zu-name attribute '%s' of %s", count, name, what);
  if (attr >= 0 && H5Aclose(attr) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close attribute '%s' of %s", name, what);
  if (space >= 0)
    (void)H5Sclose(space);
  if (type >= 0)
    (void)H5Tclose(type);
  nvmm__h5_quiet_end(&q);
  return st;
}

/* Writes a scalar attribute of file type ftype from buf (memory type mtype). */
nvmm_status nvmm__h5_put_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype,
                              const void *buf, const char *path) {
  nvmm_status st = NVMM_OK;
  hid_t space = H5Screate(H5S_SCALAR), attr = H5I_INVALID_HID;
  if (space < 0 || (attr = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
      H5Awrite(attr, mtype, buf) < 0)
    st = NVMM_RAISE(NVMM_EIO, "cannot write attribute '%s' in '%s'", name, path);
  if (attr >= 0 && H5Aclose(attr) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close attribute '%s' in '%s'", name, path);
  if (space >= 0)
    (void)H5Sclose(space);
  return st;
}

/* A variable-length UTF-8 string attribute, which h5py returns as str. */
nvmm_status nvmm__h5_put_attr_str(hid_t obj, const char *name, const char *value,
                                  const char *path) {
  hid_t type = H5Tcopy(H5T_C_S1);
  if (type < 0 || H5Tset_size(type, H5T_VARIABLE) < 0 || H5Tset_cset(type, H5T_CSET_UTF8) < 0) {
    if (type >= 0)
      (void)H5Tclose(type);
    NVMM_ERROR(NVMM_EIO, "cannot make a string type for attribute '%s' in '%s'", name, path);
  }
  nvmm_status st = nvmm__h5_put_attr(obj, name, type, type, &value, path);
  (void)H5Tclose(type);
  return st;
}

/* A float64 dataset of rank 0 (scalar), 1 or 2 with the given dims. */
nvmm_status nvmm__h5_put_array(hid_t loc, const char *name, int rank, const hsize_t *dims,
                               const double *v, const char *path) {
  nvmm_status st = NVMM_OK;
  hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, NULL);
  hid_t dset = H5I_INVALID_HID;
  hsize_t count = 1;
  for (int i = 0; i < rank; i++)
    count *= dims[i];
  /* An empty history has nothing to write; HDF5 creates the zero-size dataset regardless. */
  if (space < 0 ||
      (dset = H5Dcreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) <
          0 ||
      (count > 0 && H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0))
    st = NVMM_RAISE(NVMM_EIO, "cannot write dataset '%s' in '%s'", name, path);
  if (dset >= 0 && H5Dclose(dset) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close dataset '%s' in '%s'", name, path);
  if (space >= 0)
    (void)H5Sclose(space);
  return st;
}

/* Reads a scalar numeric attribute (converted to mtype). */
nvmm_status nvmm__h5_get_attr(hid_t obj, const char *name, hid_t mtype, void *buf,
                              const char *path) {
  nvmm_status st = NVMM_OK;
  hid_t attr = H5I_INVALID_HID, space = H5I_INVALID_HID;
  htri_t exists = H5Aexists(obj, name);
  NVMM_CHECK(exists >= 0, NVMM_EIO, "'%s' is damaged: cannot look up attribute '%s'", path, name);
  NVMM_CHECK(exists > 0, NVMM_EIO, "'%s' is not an nvmm model file: attribute '%s' is missing",
             path, name);
  if ((attr = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (space = H5Aget_space(attr)) < 0 ||
      H5Sget_simple_extent_npoints(space) != 1 || H5Aread(attr, mtype, buf) < 0)
    st = NVMM_RAISE(NVMM_EIO, "'%s': attribute '%s' is not a single number", path, name);
  if (space >= 0)
    (void)H5Sclose(space);
  if (attr >= 0)
    (void)H5Aclose(attr);
  return st;
}

/* Reads a scalar string attribute into buf (size bytes). */
nvmm_status nvmm__h5_get_attr_str(hid_t obj, const char *name, char *buf, size_t size,
                                  const char *path) {
  char **names = NULL;
  size_t count = 0;
  char what[512];
  snprintf(what, sizeof what, "'%s'", path);
  NVMM_CALL(nvmm__h5_read_strings(obj, name, what, &names, &count));
  if (count != 1) {
    free(names);
    NVMM_ERROR(NVMM_EIO, "'%s' is not an nvmm model file: attribute '%s' is %s", path, name,
               count ? "not a single string" : "missing");
  }
  snprintf(buf, size, "%s", names[0]);
  free(names);
  return NVMM_OK;
}

/* Reads the float64 dataset name of rank 0, 1 or 2, whose shape must be dims. */
nvmm_status nvmm__h5_get_array(hid_t loc, const char *name, int rank, const hsize_t *dims,
                               double *out, const char *path) {
  nvmm_status st = NVMM_OK;
  hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
  hsize_t got[2] = {0, 0};
  htri_t exists = H5Lexists(loc, name, H5P_DEFAULT);
  NVMM_CHECK(exists >= 0, NVMM_EIO, "'%s' is damaged: cannot look up dataset '%s'", path, name);
  NVMM_CHECK(exists > 0, NVMM_EIO, "'%s' is not an nvmm model file: dataset '%s' is missing", path,
             name);
  if ((dset = H5Dopen2(loc, name, H5P_DEFAULT)) < 0 || (space = H5Dget_space(dset)) < 0) {
    st = NVMM_RAISE(NVMM_EIO, "'%s': cannot open dataset '%s'", path, name);
    goto cleanup;
  }
  int ndims = H5Sget_simple_extent_ndims(space);
  int same = ndims == rank && H5Sget_simple_extent_dims(space, got, NULL) == rank;
  for (int i = 0; same && i < rank; i++)
    same = got[i] == dims[i];
  if (!same) {
    st = NVMM_RAISE(NVMM_EIO,
                    "'%s': dataset '%s' has rank %d shape (%llu, %llu); expected rank %d shape "
                    "(%llu, %llu)",
                    path, name, ndims, (unsigned long long)got[0], (unsigned long long)got[1], rank,
                    (unsigned long long)(rank > 0 ? dims[0] : 0),
                    (unsigned long long)(rank > 1 ? dims[1] : 0));
    goto cleanup;
  }
  if (out && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
    st = NVMM_RAISE(NVMM_EIO, "'%s': cannot read dataset '%s'", path, name);
cleanup:
  if (space >= 0)
    (void)H5Sclose(space);
  if (dset >= 0)
    (void)H5Dclose(dset);
  return st;
}
