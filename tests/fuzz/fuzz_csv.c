/* fuzz_csv.c: libFuzzer target for `nvmm import`: the input is a CSV file, imported with
 * nvmm_import_csv to an HDF5 file and, when the import succeeds, read back with
 * nvmm_data_open / nvmm_data_read as `nvmm fit` reads data.
 *
 * Checked on every input:
 *  - a failed import leaves neither the output nor its temporary file and says why;
 *  - a successful one wrote one row per non-blank line after the header (counted here
 *    independently of the importer) and at least one numeric column;
 *  - the file reads back with that shape, a name for every column, and only finite values;
 *  - no HDF5 handle stays open after the import or after the data set is closed. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "nvmm.h"

/* Lines that carry a row or the header: not empty once their CR/LF terminators are removed
 * (the importer skips the others). */
static int64_t nonblank_lines(const uint8_t *data, size_t size) {
  int64_t count = 0;
  size_t start = 0;
  for (size_t i = 0; i <= size; i++) {
    if (i < size && data[i] != '\n')
      continue;
    size_t end = i;
    while (end > start && (data[end - 1] == '\r' || data[end - 1] == '\n'))
      end--;
    count += end > start;
    start = i + 1;
  }
  return count;
}

static char *csv_path, *h5_path, *tmp_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  fuzz_init(argc, argv);
  csv_path = fuzz_path("in.csv");
  h5_path = fuzz_path("out.h5");
  tmp_path = fuzz_path("out.h5.tmp");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  free(fuzz_write_file("in.csv", data, size));
  (void)remove(h5_path);
  nvmm_import_report rep;
  nvmm_clear_error();
  nvmm_status st = nvmm_import_csv(csv_path, h5_path, "/X", &rep);
  FUZZ_ASSERT(access(tmp_path, F_OK) != 0);
  FUZZ_ASSERT(fuzz_h5_open_ids() == 0);
  if (st != NVMM_OK) {
    FUZZ_ASSERT(st == NVMM_EINVAL || st == NVMM_EIO || st == NVMM_ENOMEM);
    FUZZ_ASSERT(nvmm_last_error()[0] != '\0');
    FUZZ_ASSERT(access(h5_path, F_OK) != 0);
    return 0;
  }
  FUZZ_ASSERT(rep.rows == nonblank_lines(data, size) - 1);
  FUZZ_ASSERT(rep.rows >= 1 && rep.columns >= 1 && rep.skipped >= 0);
  FUZZ_ASSERT(memchr(rep.skipped_names, '\0', sizeof rep.skipped_names));

  nvmm_data *x = NULL;
  st = nvmm_data_open(MPI_COMM_SELF, h5_path, "/X", &x);
  FUZZ_ASSERT(st == NVMM_OK);
  int64_t n = 0, d = 0;
  nvmm_data_dims(x, &n, &d);
  FUZZ_ASSERT(n == rep.rows && d == rep.columns);
  for (int64_t j = 0; j < d; j++)
    FUZZ_ASSERT(nvmm_data_column_name(x, j) != NULL);
  FUZZ_ASSERT(nvmm_data_column_name(x, d) == NULL);
  double *buf = malloc((size_t)(n * d) * sizeof *buf);
  FUZZ_ASSERT(buf);
  int64_t bad_row = 0;
  st = nvmm_data_read(x, 0, n, buf, &bad_row);
  FUZZ_ASSERT(st == NVMM_OK && bad_row == -1);
  for (int64_t i = 0; i < n * d; i++)
    FUZZ_ASSERT(isfinite(buf[i]));
  free(buf);
  nvmm_data_close(&x);
  FUZZ_ASSERT(x == NULL && fuzz_h5_open_ids() == 0);
  (void)remove(h5_path);
  return 0;
}
