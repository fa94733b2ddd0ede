/* fit_factor.c: a factor fit's own pieces (src/numerics.md 3.4, 5.12 and 5.13): its workspaces, the
 * PCA start (dense, or by randomized subspace iteration over the rows when d is large), the gauge
 * through F and D, the broadcast of (mu, gamma, F, D), the parameter change, and the fitted model
 * in the user's units. The loop itself is fit.c's, the pass reduce.c's. */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>

#include "fit_impl.h"
#include "lapack.h"
#include "model_impl.h"
#include "nvmm/agree.h"
#include "nvmm/sample.h"

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
  if (!f->fbig)
    return NVMM_OK;
  /* The randomized start's basis Q (d x k, after a status slot), its products with a chunk of
   * rows (cross_rows x k) and the diagonal of the standardized covariance. */
  size_t k = f->fk;
  f->fq = calloc(1 + d * k, sizeof(double));
  f->ft = calloc(f->cross_rows * k, sizeof(double));
  f->fvar = calloc(d, sizeof(double));
  NVMM_CHECK(f->fq && f->ft && f->fvar, NVMM_ENOMEM,
             "cannot allocate the randomized PCA start's basis (d = %zu, k = %zu)", d, k);
  return NVMM_OK;
}

size_t nvmm__factor_sketch_width(size_t d, size_t r) {
  return r + NVMM__SKETCH_OVERSAMPLE < d ? r + NVMM__SKETCH_OVERSAMPLE : d;
}

void nvmm__factor_free(nvmm_fit *f) {
  nvmm_factor_free(&f->fac);
  nvmm_factor_free(&f->fnext);
  nvmm_factor_free(&f->sq_f2);
  free(f->fscratch);
  free(f->fstate);
  free(f->fq);
  free(f->ft);
  free(f->fvar);
}

/* Probabilistic PCA from r eigenpairs in ascending order (w, and z column-major d x r) of a
 * covariance whose diagonal is diag[j * ds] (see pca below). */
static void ppca(size_t d, size_t r, const double *diag, size_t ds, const double *w,
                 const double *z, double *fo, double *dout) {
  double tr = 0.0, top = 0.0;
  for (size_t j = 0; j < d; j++)
    tr += diag[j * ds];
  for (size_t k = 0; k < r; k++)
    top += w[k];
  double s2 = fmax((tr - top) / (double)(d - r), 0.0);
  /* Ascending eigenvalues: F's column k is eigenpair r - 1 - k (largest first). */
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
    double dj = diag[j * ds];
    for (size_t k = 0; k < r; k++)
      dj -= fo[j * r + k] * fo[j * r + k];
    dout[j] = fmax(dj, NVMM_FACTOR_D_FLOOR * diag[j * ds]);
  }
}

/* The top r eigenpairs of the symmetric n x n a (lower triangle used, destroyed) by dsyevr:
 * ascending values in w (r), vectors column-major in z (n x r). */
static nvmm_status top_eigen(size_t n_, size_t r, double *a, double *w, double *z) {
  int n = (int)n_, nr = (int)r, il = n - nr + 1, iu = n, m = 0, info = 0, lwork = -1, liwork = -1,
      iwq = 0;
  int *isuppz = malloc(2 * r * sizeof *isuppz), *iwork = NULL;
  double *work = NULL, wq = 0.0, vl = 0.0, vu = 0.0, abstol = 0.0;
  nvmm_status st =
      isuppz ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "cannot allocate the PCA start's workspace");
  if (st == NVMM_OK) {
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
      st = NVMM_RAISE(NVMM_ENOMEM, "cannot allocate dsyevr's workspace (n = %zu)", n_);
  }
  if (st == NVMM_OK) {
    dsyevr_("V", "I", "L", &n, a, &n, &vl, &vu, &il, &iu, &abstol, &m, w, z, &n, isuppz, work,
            &lwork, iwork, &liwork, &info, 1, 1, 1);
    if (info < 0)
      st = NVMM_RAISE(NVMM_ESANITY, "dsyevr: argument %d invalid", -info);
    else if (info > 0 || m != nr)
      st = NVMM_RAISE(NVMM_EFACTOR, "dsyevr: the top %zu eigenpairs did not converge", r);
  }
  free(isuppz);
  free(work);
  free(iwork);
  return st;
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
  NVMM_CHECK(d <= 46340 && r <= d, NVMM_EINVAL, "the PCA start's d = %zu is too large", d);
  double *a = malloc(d * d * sizeof *a), *z = malloc(d * r * sizeof *z), *w = malloc(d * sizeof *w);
  nvmm_status st =
      a && z && w
          ? NVMM_OK
          : NVMM_RAISE(NVMM_ENOMEM, "cannot allocate the PCA start's workspace (d = %zu)", d);
  if (st == NVMM_OK) {
    memcpy(a, sigma, d * d * sizeof *a);
    st = top_eigen(d, r, a, w, z);
  }
  if (st == NVMM_OK)
    ppca(d, r, sigma, d + 1, w, z, fo, dout);
  free(a);
  free(z);
  free(w);
  return st;
}

/* Q = an orthonormal basis of the columns of the column-major d x k a (in place; Householder
 * QR, dgeqrf and dorgqr). Rank 0 alone: its result is broadcast. */
static nvmm_status orth(size_t d, size_t k, double *a) {
  /* k x 64: LAPACK's optimal workspace for block size 64, above both routines' minimum k. */
  int n = (int)d, kk = (int)k, info = 0, lwork = 64 * kk;
  double *tau = malloc(k * sizeof *tau), *work = malloc((size_t)lwork * sizeof *work);
  nvmm_status st =
      tau && work ? NVMM_OK : NVMM_RAISE(NVMM_ENOMEM, "cannot allocate the QR's workspace");
  if (st == NVMM_OK) {
    dgeqrf_(&n, &kk, a, &n, tau, work, &lwork, &info);
    if (info == 0)
      dorgqr_(&n, &kk, &kk, a, &n, tau, work, &lwork, &info);
    if (info != 0)
      st = NVMM_RAISE(NVMM_ESANITY, "the randomized PCA start's QR: info = %d", info);
  }
  free(tau);
  free(work);
  return st;
}

/* One sketch pass's block: out (d x k column-major) += sum over rows y y^T Q, y the standardized
 * row ((x - center) * rscale, as the E-step reads it), in chunks of cross_rows through two
 * matrix products (T = Y Q, then Y^T T). */
static nvmm_status block_sketch(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                                const double *xb, double *out) {
  (void)m;
  (void)row0;
  const size_t d = f->d, ch = f->cross_rows;
  const int id = (int)d, ik = (int)f->fk;
  const double one = 1.0, zero = 0.0, *q = f->fq + 1;
  for (size_t r = 0; r < rows; r += ch) {
    const size_t nr = rows - r < ch ? rows - r : ch;
    const int inr = (int)nr;
    const double *x = xb + r * d;
    for (size_t i = 0; i < nr; i++)
      for (size_t j = 0; j < d; j++)
        f->row[i * d + j] = (x[i * d + j] - f->center[j]) * f->rscale[j];
    /* f->row is row-major nr x d, i.e. column-major d x nr. */
    dgemm_("T", "N", &inr, &ik, &id, &one, f->row, &id, q, &id, &zero, f->ft, &inr, 1, 1);
    dgemm_("N", "N", &id, &ik, &inr, &one, f->row, &id, f->ft, &inr, &one, out, &id, 1, 1);
  }
  return NVMM_OK;
}

/* Rank 0's status in fq[0] and its basis Q after it, to every rank. */
static nvmm_status bcast_basis(nvmm_fit *f, nvmm_status st) {
  size_t len = 1 + f->d * f->fk;
  NVMM_CHECK(len <= INT_MAX, NVMM_EINVAL,
             "the PCA start's basis (%zu numbers) overflows an MPI count", len);
  if (f->rank == 0)
    f->fq[0] = (double)st;
  if (MPI_Bcast(f->fq, (int)len, MPI_DOUBLE, 0, f->comm) != MPI_SUCCESS)
    NVMM_ERROR(NVMM_EMPI, "MPI_Bcast of the PCA start's basis failed");
  if (f->fq[0] != 0.0) {
    if (f->rank == 0)
      return st;
    NVMM_ERROR((nvmm_status)f->fq[0], "the randomized PCA start failed on rank 0");
  }
  return NVMM_OK;
}

/* The randomized subspace iteration (src/numerics.md 5.13; Halko, Martinsson and Tropp 2011,
 * algorithm 4.4) on C = (1/n) sum y y^T, the standardized covariance, without forming it: Q =
 * orth(Omega), then NVMM__SKETCH_POWER + 1 passes Z = n C Q, each but the last followed by Q =
 * orth(Z). Each pass's sums go through the exact block reduction (bitwise the same on any number
 * of ranks), Q is orthonormalized on rank 0 and broadcast. Leaves Q in f->fq + 1 and Z = n C Q
 * in f->stats on every rank. Collective. */
static nvmm_status sketch(nvmm_fit *f) {
  size_t d = f->d, k = f->fk;
  double *q = f->fq + 1;
  nvmm_status st = NVMM_OK;
  if (f->rank == 0) {
    /* The test matrix: standard normals from a fixed stream (src/numerics.md 9.1), the same on
     * every run and every number of ranks. */
    gsl_rng *rng = NULL;
    st = nvmm_rng_stream(NVMM__SKETCH_SEED, 0, &rng);
    if (st == NVMM_OK) {
      for (size_t i = 0; i < d * k; i++)
        q[i] = gsl_ran_gaussian(rng, 1.0);
      gsl_rng_free(rng);
      st = orth(d, k, q);
    }
  }
  NVMM_CALL(bcast_basis(f, st));
  for (int it = 0; it <= NVMM__SKETCH_POWER; it++) {
    NVMM_CALL(nvmm__reduce_blocks(f, NULL, d * k, block_sketch, f->stats));
    if (it == NVMM__SKETCH_POWER)
      break;
    if (f->rank == 0) {
      memcpy(q, f->stats, d * k * sizeof *q);
      st = orth(d, k, q);
    }
    NVMM_CALL(bcast_basis(f, st));
  }
  return NVMM_OK;
}

/* Rayleigh-Ritz on rank 0 after sketch: the k x k T = Q^T C Q = Q^T Z / n, its top r eigenpairs
 * (w, U), the Ritz vectors V = Q U, and the probabilistic-PCA (F, D) from them with the trace of C
 * (the sum of the column variances f->fvar). */
static nvmm_status ritz_pca(nvmm_fit *f, double *fo, double *dout) {
  size_t d = f->d, k = f->fk, r = (size_t)f->o.factors;
  int id = (int)d, ik = (int)k, ir = (int)r;
  double rn = 1.0 / (double)f->n, zero = 0.0, one = 1.0;
  double *t = malloc(k * k * sizeof *t), *w = malloc(k * sizeof *w), *u = malloc(k * r * sizeof *u),
         *v = malloc(d * r * sizeof *v);
  nvmm_status st = t && w && u && v
                       ? NVMM_OK
                       : NVMM_RAISE(NVMM_ENOMEM, "cannot allocate the Rayleigh-Ritz workspace");
  if (st == NVMM_OK) {
    dgemm_("T", "N", &ik, &ik, &id, &rn, f->fq + 1, &id, f->stats, &id, &zero, t, &ik, 1, 1);
    for (size_t i = 0; i < k; i++) /* symmetric up to rounding: its mean */
      for (size_t j = 0; j < i; j++)
        t[j * k + i] = t[i * k + j] = 0.5 * (t[j * k + i] + t[i * k + j]);
    st = top_eigen(k, r, t, w, u);
  }
  if (st == NVMM_OK) {
    dgemm_("N", "N", &id, &ir, &ik, &one, f->fq + 1, &id, u, &ik, &zero, v, &id, 1, 1);
    ppca(d, r, f->fvar, 1, w, v, fo, dout);
  }
  free(t);
  free(w);
  free(u);
  free(v);
  return st;
}

/* Rank 0 computes (F, D) (from sigma by PCA, or given, or with neither by Rayleigh-Ritz on the
 * sketch) and broadcasts them with its status; every rank then sets f->fac from the same
 * numbers. */
static nvmm_status start_bcast(nvmm_fit *f, const double *sigma, const double *f0,
                               const double *d0) {
  size_t d = f->d, r = (size_t)f->o.factors;
  double *buf = f->fscratch, *fo = buf + 1, *dout = fo + d * r;
  nvmm_status st = NVMM_OK;
  if (f->rank == 0) {
    if (sigma)
      st = pca(d, r, sigma, fo, dout);
    else if (f0) {
      memcpy(fo, f0, d * r * sizeof *fo);
      memcpy(dout, d0, d * sizeof *dout);
    } else
      st = ritz_pca(f, fo, dout);
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
  return nvmm_factor_set(f->fac, fo, dout);
}

/* The PCA of a given dense model's Sigma in standardized coordinates, symmetrized as
 * nvmm_model_set symmetrizes (a d x d temporary: the caller's model is d x d already). */
static nvmm_status start_dense_user(nvmm_fit *f, const nvmm_model *user) {
  size_t d = f->d;
  double *sig = malloc(d * d * sizeof *sig);
  nvmm_status st =
      sig ? NVMM_OK
          : NVMM_RAISE(NVMM_ENOMEM, "cannot allocate the standardized Sigma (d = %zu)", d);
  for (size_t i = 0; i < d && sig; i++)
    for (size_t j = 0; j < d; j++)
      sig[i * d + j] = user->sigma[i * d + j] / (f->scale[i] * f->scale[j]);
  for (size_t i = 0; i < d && sig; i++)
    for (size_t j = 0; j < i; j++)
      sig[i * d + j] = sig[j * d + i] = 0.5 * (sig[i * d + j] + sig[j * d + i]);
  st = nvmm_agree(f->comm, st);
  if (st == NVMM_OK)
    st = start_bcast(f, sig, NULL, NULL);
  free(sig);
  return st;
}

nvmm_status nvmm__factor_start(nvmm_fit *f, const nvmm_model *user) {
  size_t d = f->d, r = (size_t)f->o.factors;
  /* mu, gamma and the subordinator in standardized coordinates (src/numerics.md 7.1); F and D
   * after them. f->scratch holds 3 d + d r. */
  double *mu = f->scratch, *g = mu + d, *fo = g + d, *dout = fo + d * r;
  nvmm_sub sub;
  if (user) {
    for (size_t j = 0; j < d; j++) {
      mu[j] = (user->mu[j] - f->center[j]) / f->scale[j];
      g[j] = user->gamma[j] / f->scale[j];
    }
    sub = user->sub;
  } else {
    memset(mu, 0, 2 * d * sizeof *mu);
    NVMM_CALL(nvmm__model_default_sub(f->o.family, d, &sub));
  }
  if (user && user->factor && user->factor->r == r) {
    /* A given factor model: its F and D in standardized coordinates, F~ = S^-1 F, D~ = S^-2 D. */
    for (size_t j = 0; j < d; j++) {
      for (size_t k = 0; k < r; k++)
        fo[j * r + k] = user->factor->f[j * r + k] / f->scale[j];
      dout[j] = user->factor->dd[j] / (f->scale[j] * f->scale[j]);
    }
    NVMM_CALL(start_bcast(f, NULL, fo, dout));
  } else if (user) {
    /* A given dense model (or a dense one with another r): the PCA of its Sigma. */
    NVMM_CHECK(user->sigma, NVMM_EINVAL,
               "the initial model is a factor-only model with %zu factors, the fit has %zu",
               user->factor ? user->factor->r : (size_t)0, r);
    NVMM_CALL(start_dense_user(f, user));
  } else if (!f->fbig)
    NVMM_CALL(start_bcast(f, f->corr, NULL, NULL)); /* the data's covariance, dense */
  else {
    NVMM_CALL(sketch(f)); /* randomized, over the rows (src/numerics.md 5.13) */
    NVMM_CALL(start_bcast(f, NULL, NULL, NULL));
  }
  /* Every rank alike: the fit's factor-only model from the broadcast numbers. */
  return nvmm_model_set_factor(f->model, mu, g, r, f->fac->f, f->fac->dd, &sub);
}

nvmm_status nvmm__factor_gauge(nvmm_model *m, nvmm_factor *fa, nvmm_regularization r,
                               double target_logdet) {
  double s;
  int apply;
  m->logdet = fa->logdet;
  NVMM_CALL(nvmm_model_regularize_scale(m, r, target_logdet, &s, &apply));
  if (!apply)
    return NVMM_OK;
  /* The fit's models are factor-only; their own factor parts are not the fit's dispersion
   * (f->fac, f->fnext are) and move along harmlessly. */
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
  double *mu = f->scratch, *g = mu + d, *fo = g + d, *dout = fo + d * r; /* 3 d + d r */
  for (size_t j = 0; j < d; j++) {
    mu[j] = f->center[j] + f->scale[j] * std->mu[j];
    g[j] = f->scale[j] * std->gamma[j];
    for (size_t k = 0; k < r; k++)
      fo[j * r + k] = f->scale[j] * fa->f[j * r + k];
    dout[j] = f->scale[j] * f->scale[j] * fa->dd[j];
  }
  /* A factor-only out stays O(d r); a dense one (small d) gets the dense Sigma too. */
  return nvmm_model_set_factor(out, mu, g, r, fo, dout, &std->sub);
}
