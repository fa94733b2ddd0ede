/* nvmm/stats.h: the sufficient-statistic vector that the E-step produces, the ranks reduce and
 * the M-step consumes. Its entries are plain sums over rows, so the ranks combine them with one
 * (exact) reduction. See src/numerics.md 4.4 and 11. */
#ifndef NVMM_STATS_H
#define NVMM_STATS_H

#include <stddef.h>

#include "nvmm/status.h"

/* Layout of the statistics vector for dimension d (all entries are sums over rows):
 *   [NVMM_ST_N]     number of rows
 *   [NVMM_ST_U]     sum u_i = E[1/Y | x_i]
 *   [NVMM_ST_V]     sum v_i = E[Y | x_i]
 *   [NVMM_ST_L]     sum l_i = E[log Y | x_i] (0 for families that do not need it)
 *   [NVMM_ST_LOGF]  sum log f(x_i) under the model the E-step used
 *   [NVMM_ST_FLOOR] rows whose posterior b hit the B_POST floor (counted, src/numerics.md 4.3)
 *   then sum x_i (d), sum u_i x_i (d), sum u_i x_i x_i^T (lower triangle packed by rows,
 *   d(d+1)/2: entry (j, k), k <= j, at j(j+1)/2 + k). */
enum {
  NVMM_ST_N = 0,
  NVMM_ST_U,
  NVMM_ST_V,
  NVMM_ST_L,
  NVMM_ST_LOGF,
  NVMM_ST_FLOOR,
  NVMM_ST_HEAD /* number of scalar entries before the vectors */
};

/* Length of the statistics vector for dimension d. */
NVMM_EXTERN size_t nvmm_stats_len(size_t d);
/* Offsets of the vector blocks. */
NVMM_EXTERN size_t nvmm_stats_x(size_t d);
NVMM_EXTERN size_t nvmm_stats_ux(size_t d);
NVMM_EXTERN size_t nvmm_stats_uxx(size_t d);

#endif
