/* model_impl.h: per-model quantities shared by the log-density and the E-step
 * (library-internal). */
#ifndef NVMM_MODEL_IMPL_H
#define NVMM_MODEL_IMPL_H

#include "nvmm/model.h"

/* What every row of one pass needs, computed once per pass. */
typedef struct nvmm__pre {
  double c0; /* -(d/2) log(2 pi) - (1/2) log|Sigma| */
  double w2; /* gamma^T Sigma^-1 gamma */
  double p;  /* GIG embedding of the subordinator (p, a, b) */
  double a;
  double b;
  double lnorm; /* log of the prior's GIG integral: log int y^(p-1) e^{-(ay+b/y)/2} dy */
} nvmm__pre;

/* Fills pre and w = L^-1 gamma (d doubles). */
nvmm_status nvmm__model_pre(const nvmm_model *m, double *w, nvmm__pre *pre);

/* Fills the subordinator's part of pre (p, a, b, lnorm; zeros for the Gaussian). */
nvmm_status nvmm__model_pre_sub(const nvmm_model *m, nvmm__pre *pre);

/* The marginal log-density of a row from q = (x - mu)^T Sigma^-1 (x - mu) and
 * zw = gamma^T Sigma^-1 (x - mu) (src/numerics.md 3.2), as nvmm_model_logpdf computes it. */
nvmm_status nvmm__model_logf(const nvmm_model *m, const nvmm__pre *pre, double q, double zw,
                             double *logf);

/* The E-step's per-row posterior moments u = E[1/Y|x], v = E[Y|x], l = E[log Y|x] and
 * log-density from the same two scalars (src/numerics.md 4.2-4.3), as nvmm_estep computes them;
 * *floors is incremented when the posterior floor binds. i names the row in messages. */
nvmm_status nvmm__estep_row(const nvmm_model *m, const nvmm__pre *pre, size_t i, double q,
                            double zw, double out[4], double *floors);

/* The E-step of n rows from their q and zw (as nvmm__estep_row): each row's u = E[1/Y|x] and
 * v = E[Y|x] into u[i], v[i], and the rows' sums of 1, u, v, l, log f and floors added to stats
 * (NVMM_ST_*) as the dense block kernel adds them (products for the logarithms, src/estep.c).
 * Rows are named row0 + i in messages. */
nvmm_status nvmm__estep_rows(const nvmm_model *m, const nvmm__pre *pre, size_t row0, size_t n,
                             const double *q, const double *zw, double *u, double *v,
                             double *stats);

/* z = L^-1 (x - mu) into z (d doubles); returns q = z^T z and sets *zw = z^T w. */
double nvmm__model_row(const nvmm_model *m, const double *x, const double *w, double *z,
                       double *zw);

/* NVMM_EINVAL naming what (a function) where m is a factor-only model (no dense Sigma, L). */
nvmm_status nvmm__model_dense(const nvmm_model *m, const char *what);

/* The family's default subordinator at dimension d, scaled to E[Y] = 1 (src/numerics.md 7.3). */
nvmm_status nvmm__model_default_sub(nvmm_family family, size_t d, nvmm_sub *sub);

#endif
