/* fit_factor.c: a factor fit's own pieces (src/numerics.md 3.4, 5.12): its workspaces, the PCA
 * start, the gauge through F and D, the broadcast of (mu, gamma, F, D), the parameter change,
 * and the fitted model in the user's units. The loop itself is fit.c's, the pass reduce.c's. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit_impl.h"
#include "lapack.h"
#include "nvmm/agree.h"

nvmm_status nvmm__factor_alloc(nvmm_fit *f) {
  if (f->o.factors == 0)
    return NVMM_OK;
  size_t d = f->d, r = (size_t)f->o.factors;
  NVMM_CALL(nvmm_factor_alloc(d, r, &f->fac));
  NVMM_CALL(nvmm_factor_alloc(d, r, &f->fnext));
  NVMM_CALL(nvmm_factor_alloc(d, r, &f->sq_f2)); /* SQUAREM's theta2 */
  /* The M-step's scratch is the largest (it also holds the start's broadcast, 1 + d r + d). */
  size_t n = nvmm_factor_mstep_scratch_len(d, r), e = nvmm_factor_estep_scratch_len(d, r);
  f->fscratch = calloc(n > e ? n : e, sizeof(double));
  f->fstate = calloc(nvmm_fit_factor_len((int64_t)d, (int64_t)r), sizeof(double));
  NVMM_CHECK(f->fscratch && f->fstate, NVMM_ENOMEM,
             "cannot allocate the factor fit's scratch (d = %zu)", d);
  return NVMM_OK;
}

void nvmm__factor_free(nvmm_fit *f) {
  nvmm_factor_free(&f->fac);
  nvmm_factor_free(&f->fnext);
  nvmm_factor_free(&f->sq_f2);
  free(f->fscratch);
  free(f->fstate);
}

/* The probabilistic-PCA start of Sigma's factor form (Tipping and Bishop's closed-form MLE of
 * a Gaussian with isotropic noise): the top r eigenpairs (lambda_k, v_k) of sigma, F's column k
 * v_k sqrt(lambda_k - s2) with s2 the mean of the other d - r eigenvalues (their sum is the
 * trace less the top r), and D = diag(sigma - F F^T). sigma - F F^T = s2 V_r V_r^T + the rest
 * is positive semi-definite, so D > 0 except by rounding where s2 ~ 0; the floor
 * NVMM_FACTOR_D_FLOOR relative to sigma_jj is the M-step's (src/numerics.md 5.12). Each column's
 * largest entry is made positive, so the start does not depend on the eigensolver's signs. The
 * dense eigensolver costs O(d^3) once (seconds at d = 2000); for d in the tens of thousands a
 * randomized range finder on the distributed rows (Halko, Martinsson and Tropp 2011, one or two
 * extra passes, O(n d r) work) would replace it here. */
static nvmm_status pca(size_t d, size_t r, const double *sigma, double *fo, double *dout) {
  int n, nr, il, iu, m = 0, info = 0, lwork = -1, liwork = -1, iwq = 0;
  NVMM_CHECK(d <= 46340 && r <= d, NVMM_EINVAL, "the PCA start's d = %zu is too large", d);
  n = (int)d;
  nr = (int)r;
  il = n - nr + 1;
  iu = n;
  double *a = malloc(d * d * sizeof *a), *z = malloc(d * r * sizeof *z), *w = malloc(d * sizeof *w);
  int *isuppz = malloc(2 * r * sizeof *isuppz);
  double *work = NULL, wq = 0.0, vl = 0.0, vu = 0.0, abstol = 0.0;
  int *iwork = NULL;
  nvmm_status st = NVMM_OK;
  if (!a || !z || !w || !isuppz)
    st = NVMM_RAISE(NVMM_ENOMEM, "cannot allocate the PCA start's workspace (d = %zu)", d);
  if (st == NVMM_OK) {
    memcpy(a, sigma, d * d * sizeof *a);
    dsyevr_("V", "I", "L", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m, w, z, &n, isuppz, &wq,
            &lwork, &iwq, &liwork, &info, 1, 1, 1);
    if (info != 0)
      st = NVMM_RAISE(NVMM_ESANITY, "dsyevr's workspace query: info = %d", info);
  }
  if (st == NVMM_OK) {
    lwork = (int)wq;
    liwork = iwq;
    work = malloc((size_t)lwork * sizeof *work);
    iwork = malloc((size_t)liwork * sizeof *iwork);
    if (!work || !iwork)
      st = NVMM_RAISE(NVMM_ENOMEM, "cannot allocate dsyevr's workspace (d = %zu)", d);
  }
  if (st == NVMM_OK) {
    dsyevr_("V", "I", "L", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m, w, z, &n, isuppz, work,
            &lwork, iwork, &liwork, &info, 1, 1, 1);
    if (info < 0)
      st = NVMM_RAISE(NVMM_ESANITY, "dsyevr: argument %d invalid", -info);
    else if (info > 0 || m != nr)
      st = NVMM_RAISE(NVMM_EFACTOR, "dsyevr: the top %zu eigenpairs of Sigma did not converge", r);
  }
  if (st == NVMM_OK) {
    double tr = 0.0, top = 0.0;
    for (size_t j = 0; j < d; j++)
      tr += sigma[j * d + j];
    for (size_t k = 0; k < r; k++)
      top += w[k];
    double s2 = fmax((tr - top) / (double)(d - r), 0.0);
    /* dsyevr returns ascending eigenvalues: F's column k is eigenpair r - 1 - k (largest first). */
    for (size_t k = 0; k < r; k++) {
      const double *v = z + (r - 1 - k) * d;
      size_t jm = 0;
      for (size_t j = 1; j < d; j++)
        if (fabs(v[j]) > fabs(v[jm]))
          jm = j;
      double c = sqrt(fmax(w[r - 1 - k] - s2, 0.0)) * (v[jm] < 0 ? -1.0 : 1.0);
      for (size_t j = 0; j < d; j++)
        fo[j * r + k] = c * v[j];
    }
    for (size_t j = 0; j < d; j++) {
      double dj = sigma[j * d + j];
      for (size_t k = 0; k < r; k++)
        dj -= fo[j * r + k] * fo[j * r + k];
      dout[j] = fmax(dj, NVMM_FACTOR_D_FLOOR * sigma[j * d + j]);
    }
  }
  free(a);
  free(z);
  free(w);
  free(isuppz);
  free(work);
  free(iwork);
  return st;
}

/* Rank 0 computes (F, D) (from sigma by PCA, or given) and broadcasts them with its status; every
 * rank then sets f->fac from the same numbers, and f->model's log|Sigma| from it. */
static nvmm_status start_bcast(nvmm_fit *f, const double *sigma, const double *f0,
                               const double *d0) {
  size_t d = f->d, r = (size_t)f->o.factors;
  double *buf = f->fscratch, *fo = buf + 1, *dout = fo + d * r;
  nvmm_status st = NVMM_OK;
  if (f->rank == 0) {
    if (sigma)
      st = pca(d, r, sigma, fo, dout);
    else {
      memcpy(fo, f0, d * r * sizeof *fo);
      memcpy(dout, d0, d * sizeof *dout);
    }
    buf[0] = (double)st;
  }
  NVMM_CHECK(1 + d * r + d <= INT_MAX, NVMM_EINVAL,
             "the factor start's %zu numbers overflow an "
             "MPI count",
             1 + d * r + d);
  if (MPI_Bcast(buf, (int)(1 + d * r + d), MPI_DOUBLE, 0, f->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Bcast of the factor start failed");
  if (buf[0] != 0.0) {
    if (f->rank == 0)
      return st;
    NVMM_ERROR((nvmm_status)buf[0], "the factor start failed on rank 0");
  }
  NVMM_CALL(nvmm_factor_set(f->fac, fo, dout));
  f->model->logdet = f->fac->logdet;
  return NVMM_OK;
}

nvmm_status nvmm__factor_start(nvmm_fit *f, const nvmm_model *user) {
  size_t d = f->d, r = (size_t)f->o.factors;
  if (user && user->factor && user->factor->r == r) {
    /* A given factor model: its F and D in standardized coordinates, F~ = S^-1 F, D~ = S^-2 D. */
    double *fo = f->scratch, *dout = fo + d * r; /* d * d + 2 d >= d r + d */
    for (size_t j = 0; j < d; j++) {
      for (size_t k = 0; k < r; k++)
        fo[j * r + k] = user->factor->f[j * r + k] / f->scale[j];
      dout[j] = user->factor->dd[j] / (f->scale[j] * f->scale[j]);
    }
    return start_bcast(f, NULL, fo, dout);
  }
  /* Else the PCA of the start's Sigma (standardized): the data's covariance, or a given dense
   * model's (or a factor model's with another r). */
  return start_bcast(f, f->model->sigma, NULL, NULL);
}

nvmm_status nvmm__factor_gauge(nvmm_model *m, nvmm_factor *fa, nvmm_regularization r,
                               double target_logdet) {
  double s;
  int apply;
  m->logdet = fa->logdet;
  NVMM_CALL(nvmm_model_regularize_scale(m, r, target_logdet, &s, &apply));
  if (!apply)
    return NVMM_OK;
  /* The dense Sigma and L of a factor fit's models are not kept: rescaling them too is
   * harmless (d^2 work; the fit's own models carry no factor part). */
  NVMM_CALL(nvmm_model_rescale(m, s));
  NVMM_CALL(nvmm_factor_rescale(fa, s));
  m->logdet = fa->logdet;
  return NVMM_OK;
}

size_t nvmm__factor_pack_len(size_t d, size_t r) { return 3 * d + d * r; }

void nvmm__factor_pack(const nvmm_model *m, const nvmm_factor *fa, double *p) {
  size_t d = m->d, r = fa->r;
  memcpy(p, m->mu, 2 * d * sizeof *p); /* mu, gamma contiguous */
  memcpy(p + 2 * d, fa->f, d * r * sizeof *p);
  memcpy(p + 2 * d + d * r, fa->dd, d * sizeof *p);
}

nvmm_status nvmm__factor_unpack(nvmm_model *m, nvmm_factor *fa, const double *p) {
  size_t d = m->d, r = fa->r;
  NVMM_CALL(nvmm_factor_set(fa, p + 2 * d, p + 2 * d + d * r));
  memcpy(m->mu, p, 2 * d * sizeof *p);
  m->logdet = fa->logdet;
  return NVMM_OK;
}

nvmm_status nvmm__factor_to_user(const nvmm_fit *f, const nvmm_model *std, const nvmm_factor *fa,
                                 nvmm_model *out) {
  size_t d = f->d, r = fa->r;
  NVMM_CHECK(out->family == std->family && out->d == d, NVMM_EINVAL,
             "the output model is %s of dimension %zu, the fit %s of dimension %zu",
             nvmm_family_name(out->family), out->d, nvmm_family_name(std->family), d);
  /* x = c + S x~: mu = c + S mu~, gamma = S gamma~, F = S F~, D = S^2 D~ (src/numerics.md 7.1). */
  double *mu = f->scratch, *g = mu + d, *fo = g + d,
         *dout = fo + d * r; /* 3 d + d r <= d^2 + 2 d */
  for (size_t j = 0; j < d; j++) {
    mu[j] = f->center[j] + f->scale[j] * std->mu[j];
    g[j] = f->scale[j] * std->gamma[j];
    for (size_t k = 0; k < r; k++)
      fo[j * r + k] = f->scale[j] * fa->f[j * r + k];
    dout[j] = f->scale[j] * f->scale[j] * fa->dd[j];
  }
  return nvmm_model_set_factor(out, mu, g, r, fo, dout, &std->sub);
}
