/* io_commit.c: how every file the io module finishes reaches the disk: model and checkpoint
 * files are built in memory, checked to reopen, written to a temporary file, fsynced and renamed
 * over their name (the rename and the directory fsync are shared with the CSV import), so a
 * reader only ever sees a complete file and a crash leaves the previous one. It also holds the
 * work-around for HDF5's stale superblock checksum in a file image (the lookup3 section). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "io_impl.h"

nvmm_status nvmm__commit_file(const char *tmp, const char *path) {
  /* The directory's name first: nothing may fail between the rename and its sync but the sync. */
  size_t len = strlen(path);
  char *dir = malloc(len + 2);
  NVMM_CHECK(dir, NVMM_ENOMEM, "out of memory committing '%s'", path);
  nvmm_status st = NVMM_OK;
  int fd = open(tmp, O_RDONLY | O_CLOEXEC), rc, err;
  if (fd < 0)
    st = NVMM_RAISE(NVMM_EIO, "cannot open '%s' to sync it: %s", tmp, strerror(errno));
  if (st == NVMM_OK) {
    rc = fsync(fd), err = errno;
    (void)close(fd);
    if (rc != 0)
      st = NVMM_RAISE(NVMM_EIO, "cannot fsync '%s': %s", tmp, strerror(err));
  }
  if (st == NVMM_OK && rename(tmp, path) != 0)
    st = NVMM_RAISE(NVMM_EIO, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
  if (st != NVMM_OK) {
    free(dir);
    return st;
  }
  /* The rename is durable only once the directory entry is: fsync the directory too. */
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  if (!slash)
    strcpy(dir, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  err = errno;
  rc = dfd >= 0 ? fsync(dfd) : -1;
  if (dfd >= 0) {
    err = errno;
    (void)close(dfd);
  }
  /* Some file systems cannot fsync a directory (EINVAL); the file itself is already durable
   * there and the rename is as safe as that file system allows. */
  if (rc != 0 && err != EINVAL && err != ENOTSUP)
    st = NVMM_RAISE(NVMM_EIO, "'%s' was written but its directory '%s' cannot be synced: %s", path,
                    dir, strerror(err));
  free(dir);
  return st;
}

/* A file access list for the files this module creates: the 1.8 format, whose dense attribute
 * storage lifts the 64 KiB object-header limit on attributes (long column and counter name
 * lists); every h5py build reads it. The file is built in memory (core driver, no backing
 * store) and written out by write_image: HDF5 never touches the disk, so a full disk or a
 * file size limit is one failed write() we report and clean up, instead of an HDF5 file that
 * can neither flush nor close (its handle then crashed the library's shutdown in
 * MPI_Finalize). The image grows in 1 MiB steps, a few model files of d = 100. */
static hid_t create_fapl(void) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl >= 0 && (H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18) < 0 ||
                    H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0)) {
    (void)H5Pclose(fapl);
    fapl = H5I_INVALID_HID;
  }
  return fapl;
}

/* Writes the len bytes of image to tmp (created or truncated) and fsyncs it; a failure (ENOSPC,
 * EFBIG under a file size limit, EIO) names tmp and the file it stands for. With fault set (the
 * test hook NVMM_FAULT_CKPT_ABORT) it writes half of the image, fsyncs it and aborts. */
static nvmm_status write_image(const char *tmp, const char *path, const unsigned char *image,
                               size_t len, int fault) {
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  NVMM_CHECK(fd >= 0, NVMM_EIO, "cannot create '%s' (the file '%s' is written there first): %s",
             tmp, path, strerror(errno));
  size_t done = 0, stop = fault ? len / 2 : len;
  int err = 0;
  while (done < stop && !err) {
    ssize_t w = write(fd, image + done, stop - done);
    if (w > 0)
      done += (size_t)w;
    else if (w < 0 && errno != EINTR)
      err = errno;
    else if (w == 0)
      err = EIO;
  }
  if (fault && !err) {
    (void)fsync(fd);
    abort();
  }
  /* The stop signals are installed without SA_RESTART: retry what they interrupt. */
  while (!err && fsync(fd) != 0)
    if (errno != EINTR)
      err = errno;
  if (close(fd) != 0 && !err)
    err = errno;
  NVMM_CHECK(!err, NVMM_EIO, "cannot write '%s' (the file '%s' is written there first): %s", tmp,
             path, strerror(err));
  return NVMM_OK;
}

/* ---- Work-around: HDF5 1.10.8 leaves a stale superblock checksum in a file image ----
 *
 * H5Fget_file_image clears the status flags of a version 2 or 3 superblock in the image it
 * returns without updating the superblock's checksum, so the image would not open again
 * ("incorrect metadata checksum"), and a model file written from it would not be readable.
 * fix_superblock recomputes that checksum with HDF5's own hash, Jenkins' lookup3. It is the one
 * place the library edits the bytes of the HDF5 format itself; build_image calls it on every
 * image before check_image proves the image opens. With an HDF5 that keeps the checksum right
 * it rewrites the same four bytes, so it can stay until the oldest supported HDF5 is fixed. */

/* Jenkins' lookup3 hash (hashlittle, public domain), HDF5's metadata checksum. */
static uint32_t rot32(uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }

static uint32_t lookup3(const unsigned char *k, size_t len) {
  uint32_t a, b, c;
  a = b = c = 0xdeadbeefu + (uint32_t)len;
  for (; len > 12; len -= 12, k += 12) {
    uint32_t w[3];
    for (int i = 0; i < 3; i++)
      w[i] = (uint32_t)k[4 * i] | (uint32_t)k[4 * i + 1] << 8 | (uint32_t)k[4 * i + 2] << 16 |
             (uint32_t)k[4 * i + 3] << 24;
    a += w[0], b += w[1], c += w[2];
    a -= c, a ^= rot32(c, 4), c += b;
    b -= a, b ^= rot32(a, 6), a += c;
    c -= b, c ^= rot32(b, 8), b += a;
    a -= c, a ^= rot32(c, 16), c += b;
    b -= a, b ^= rot32(a, 19), a += c;
    c -= b, c ^= rot32(b, 4), b += a;
  }
  if (len == 0)
    return c;
  unsigned char t[12] = {0};
  memcpy(t, k, len);
  a += (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
  b += (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
  c += (uint32_t)t[8] | (uint32_t)t[9] << 8 | (uint32_t)t[10] << 16 | (uint32_t)t[11] << 24;
  c ^= b, c -= rot32(b, 14);
  a ^= c, a -= rot32(c, 11);
  b ^= a, b -= rot32(a, 25);
  c ^= b, c -= rot32(b, 16);
  a ^= c, a -= rot32(c, 4);
  b ^= a, b -= rot32(a, 14);
  c ^= b, c -= rot32(b, 24);
  return c;
}

/* The superblock is signature (8 bytes), version, offset size, length size, flags, four
 * addresses and a lookup3 checksum of everything before it (HDF5 file format spec, "Version 2
 * superblock"); this rewrites the checksum. Other images are left. */
static void fix_superblock(unsigned char *image, size_t len) {
  static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  if (len < 12 || memcmp(image, sig, 8) != 0 || (image[8] != 2 && image[8] != 3))
    return;
  size_t body = 12 + 4 * (size_t)image[9];
  if (len < body + 4)
    return;
  uint32_t sum = lookup3(image, body);
  for (int i = 0; i < 4; i++)
    image[body + (size_t)i] = (unsigned char)(sum >> (8 * i));
}

/* ---- End of the work-around ---- */

/* Opens the image in memory and closes it again: a file that HDF5 cannot read back is never
 * written. The name is a label that cannot exist on disk (the core driver refuses an image
 * under the name of an existing file). */
static nvmm_status check_image(const unsigned char *image, size_t len, const char *path) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), file = H5I_INVALID_HID;
  if (fapl >= 0 && H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) >= 0 &&
      H5Pset_file_image(fapl, (void *)image, len) >= 0)
    file = H5Fopen("/dev/null/nvmm-image", H5F_ACC_RDONLY, fapl);
  if (fapl >= 0)
    (void)H5Pclose(fapl);
  NVMM_CHECK(file >= 0, NVMM_EIO, "the in-memory image of '%s' does not reopen", path);
  NVMM_CHECK(H5Fclose(file) >= 0, NVMM_EIO, "the in-memory image of '%s' does not close", path);
  return NVMM_OK;
}

/* Builds the file in memory (fill writes its contents) and returns its image (caller frees). */
static nvmm_status build_image(nvmm__h5_fill *fill, const void *arg, const char *path,
                               unsigned char **image, size_t *len) {
  *image = NULL;
  *len = 0;
  hid_t fapl = create_fapl(), file = H5I_INVALID_HID;
  if (fapl < 0 || (file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0) {
    if (fapl >= 0)
      (void)H5Pclose(fapl);
    NVMM_ERROR(NVMM_EIO, "cannot create the in-memory image of '%s'", path);
  }
  (void)H5Pclose(fapl);
  nvmm_status st = fill(file, arg, path);
  if (st == NVMM_OK && H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
    st = NVMM_RAISE(NVMM_EIO, "cannot flush '%s'", path);
  ssize_t size = st == NVMM_OK ? H5Fget_file_image(file, NULL, 0) : -1;
  if (st == NVMM_OK && size > 0) {
    *image = malloc((size_t)size);
    if (!*image)
      st = NVMM_RAISE(NVMM_ENOMEM, "cannot allocate the %zd-byte image of '%s'", size, path);
    else if (H5Fget_file_image(file, *image, (size_t)size) != size)
      st = NVMM_RAISE(NVMM_EIO, "cannot copy the image of '%s'", path);
    else {
      *len = (size_t)size;
      fix_superblock(*image, *len); /* the HDF5 1.10.8 work-around above */
    }
  } else if (st == NVMM_OK) {
    st = NVMM_RAISE(NVMM_EIO, "cannot size the image of '%s'", path);
  }
  if (H5Fclose(file) < 0 && st == NVMM_OK)
    st = NVMM_RAISE(NVMM_EIO, "cannot close the image of '%s'", path);
  if (st == NVMM_OK)
    st = check_image(*image, *len, path);
  if (st != NVMM_OK) {
    free(*image);
    *image = NULL;
    *len = 0;
  }
  return st;
}

nvmm_status nvmm__h5_write_file(const char *path, nvmm__h5_fill *fill, const void *arg, int fault) {
  size_t len = strlen(path);
  char *tmp = malloc(len + sizeof ".tmp");
  NVMM_CHECK(tmp, NVMM_ENOMEM, "out of memory writing '%s'", path);
  memcpy(tmp, path, len);
  memcpy(tmp + len, ".tmp", sizeof ".tmp");
  unsigned char *image = NULL;
  size_t size = 0;
  nvmm__h5_quiet q;
  nvmm__h5_quiet_begin(&q);
  nvmm_status st = build_image(fill, arg, path, &image, &size);
  nvmm__h5_quiet_end(&q);
  if (st == NVMM_OK)
    st = write_image(tmp, path, image, size, fault);
  if (st == NVMM_OK)
    st = nvmm__commit_file(tmp, path);
  /* Readers of path only ever see a complete file; a failed write leaves no tmp behind. */
  if (st != NVMM_OK)
    (void)remove(tmp);
  free(image);
  free(tmp);
  return st;
}
