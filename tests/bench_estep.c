/* bench_estep.c: the E-step kernel against its floor, for meson benchmark() and by hand:
 * nanoseconds per row of nvmm_estep_block_std over N rows of dimension D (blocks of 4096 rows,
 * standardized on the fly as in a fit), and of one DSYRK on the same 4096 x D blocks, timed in
 * alternation (this machine's speed drifts; the ratio of a pair is what carries information).
 * Prints the medians over REPS pairs and the median of the per-pair ratios.
 * Usage: bench_estep FAMILY D N [REPS] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "nvmm/estep.h"
#include "nvmm/gig.h"
#include "nvmm/model.h"
#include "src/lapack.h"

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp);
  return v[n / 2];
}

int main(int argc, char **argv) {
  nvmm_family fam;
  if (argc < 4 || nvmm_family_parse(argv[1], &fam) != NVMM_OK) {
    fprintf(stderr, "usage: bench_estep FAMILY D N [REPS]\n");
    return 2;
  }
  const int di = atoi(argv[2]), reps = argc > 4 ? atoi(argv[4]) : 9, blk = 4096;
  const long ni = atol(argv[3]);
  if (di < 1 || ni < blk || reps < 1 || reps > 99) {
    fprintf(stderr, "bench_estep: need D >= 1, N >= %d, 1 <= REPS <= 99\n", blk);
    return 2;
  }
  const size_t d = (size_t)di, n = (size_t)ni;
  /* A model like the bench workloads': GIG(-1.2, 1.5, 1.5) or NIG(1, 1.5), Sigma with 0.2
   * off the diagonal, gamma alternating; rows from N(center, diag(1/rscale)^2). */
  double *mu = calloc(d, sizeof *mu), *g = calloc(d, sizeof *g), *s = calloc(d * d, sizeof *s);
  double *c = calloc(d, sizeof *c), *r = calloc(d, sizeof *r), *x = malloc(n * d * sizeof *x);
  double *gram = malloc(d * d * sizeof *gram), *zero_g = calloc(d, sizeof *zero_g);
  double te[99], tf[99], rt[99];
  nvmm_model *m = NULL;
  nvmm_estep_ws *ws = NULL;
  double *st = calloc(nvmm_stats_len(d), sizeof *st);
  if (!mu || !g || !s || !c || !r || !x || !gram || !zero_g || !st)
    return 1;
  for (size_t i = 0; i < d; i++) {
    mu[i] = 0.01 * (double)i;
    g[i] = i % 2 ? -0.1 : 0.1;
    c[i] = 3.0 + (double)i;
    r[i] = 1.0 / (0.5 + 0.1 * (double)i);
    for (size_t j = 0; j < d; j++)
      s[i * d + j] = i == j ? 1.0 : 0.2;
  }
  double par[3] = {-1.2, 1.5, 1.5};
  if (fam == NVMM_FAMILY_NIG || fam == NVMM_FAMILY_VG || fam == NVMM_FAMILY_NINVG)
    par[0] = 2.0, par[1] = 1.5;
  nvmm_sub sub = {NVMM_SUB_DEGENERATE, {0, 0, 0}};
  srand(1);
  for (size_t i = 0; i < n * d; i++) {
    double u1 = (rand() + 1.0) / ((double)RAND_MAX + 2.0), u2 = rand() / (double)RAND_MAX;
    x[i] = c[i % d] + sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2) / r[i % d];
  }
  if (nvmm_model_alloc(fam, d, &m) != NVMM_OK ||
      (fam != NVMM_FAMILY_GAUSS && nvmm_sub_make(nvmm_family_sub_kind(fam), par, &sub)) ||
      nvmm_model_set(m, mu, fam == NVMM_FAMILY_GAUSS ? zero_g : g, s, &sub) ||
      nvmm_estep_ws_alloc(d, &ws) != NVMM_OK) {
    fprintf(stderr, "bench_estep: %s\n", nvmm_last_error());
    return 1;
  }
  const int dn = di, bn = blk;
  const double one = 1.0, zero = 0.0;
  const size_t full = n / (size_t)blk * (size_t)blk;
  for (int k = 0; k < reps; k++) {
    double t0 = now();
    for (size_t b = 0; b < n; b += (size_t)blk) {
      size_t rows = n - b < (size_t)blk ? n - b : (size_t)blk;
      if (nvmm_estep_block_std(m, ws, rows, x + b * d, c, r, st) != NVMM_OK) {
        fprintf(stderr, "bench_estep: %s\n", nvmm_last_error());
        return 1;
      }
    }
    te[k] = (now() - t0) / (double)n;
    t0 = now();
    for (size_t b = 0; b < full; b += (size_t)blk)
      dsyrk_("U", "N", &dn, &bn, &one, x + b * d, &dn, &zero, gram, &dn, 1, 1);
    tf[k] = (now() - t0) / (double)full;
    rt[k] = te[k] / tf[k];
  }
  printf("%s d=%d n=%ld: E-step %.1f ns/row, DSYRK floor %.1f ns/row, ratio %.2f (median of %d "
         "pairs; checksum %.6e)\n",
         nvmm_family_name(fam), di, ni, 1e9 * median(te, reps), 1e9 * median(tf, reps),
         median(rt, reps), reps, st[NVMM_ST_LOGF]);
  nvmm_estep_ws_free(&ws);
  nvmm_model_free(&m);
  free(mu), free(g), free(s), free(c), free(r), free(x), free(gram), free(zero_g), free(st);
  return 0;
}
