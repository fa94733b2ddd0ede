/* newton3.c: the damped Newton systems of the GIG solve (gig_solve.c): a 3x3 Hessian
 * equilibrated and its eigenvalues floored (modified Newton), and the Levenberg-Marquardt steps
 * d(mu) with the damping mu for a given step length (src/numerics.md 5.6). */
#include "gig_impl.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>

/* Eigenvalues of the equilibrated (unit-diagonal) Hessian below this fraction of the largest
 * are raised to it: 1e-13 is ~500 ulps, below which the matrix is numerically singular and
 * the Newton step meaningless (modified Newton, src/numerics.md 5.6; counted in info->ridge). */
#define GIG_EIG_FLOOR 1e-13

/* Symmetric 3x3 eigen-decomposition by cyclic Jacobi rotations: A (row-major, destroyed)
 * = V diag(w) V^T. Converges quadratically; 50 sweeps is far beyond what 3x3 needs. */
static void sym3_eigen(double A[9], double V[9], double w[3]) {
  for (int i = 0; i < 9; i++)
    V[i] = (i % 4 == 0) ? 1.0 : 0.0;
  for (int sweep = 0; sweep < 50; sweep++) {
    double off = A[1] * A[1] + A[2] * A[2] + A[5] * A[5];
    double diag = A[0] * A[0] + A[4] * A[4] + A[8] * A[8];
    if (off <= DBL_EPSILON * DBL_EPSILON * diag)
      break;
    for (int p = 0; p < 2; p++) {
      for (int q = p + 1; q < 3; q++) {
        double apq = A[3 * p + q];
        if (apq == 0.0)
          continue;
        double th = (A[3 * q + q] - A[3 * p + p]) / (2.0 * apq);
        double t = (th >= 0.0 ? 1.0 : -1.0) / (fabs(th) + sqrt(th * th + 1.0));
        double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
        for (int k = 0; k < 3; k++) { /* A <- A J */
          double akp = A[3 * k + p], akq = A[3 * k + q];
          A[3 * k + p] = c * akp - s * akq;
          A[3 * k + q] = s * akp + c * akq;
        }
        for (int k = 0; k < 3; k++) { /* A <- J^T A */
          double apk = A[3 * p + k], aqk = A[3 * q + k];
          A[3 * p + k] = c * apk - s * aqk;
          A[3 * q + k] = s * apk + c * aqk;
        }
        for (int k = 0; k < 3; k++) { /* V <- V J */
          double vkp = V[3 * k + p], vkq = V[3 * k + q];
          V[3 * k + p] = c * vkp - s * vkq;
          V[3 * k + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  for (int i = 0; i < 3; i++)
    w[i] = A[4 * i];
}

/* Cholesky factorization of a symmetric positive definite 3x3 matrix (row-major, lower
 * factor in L); false if a pivot is not positive. */
static bool chol3(const double M[9], double L[9]) {
  for (int i = 0; i < 9; i++)
    L[i] = 0.0;
  for (int j = 0; j < 3; j++) {
    double d = M[4 * j];
    for (int k = 0; k < j; k++)
      d -= L[3 * j + k] * L[3 * j + k];
    if (!(d > 0.0))
      return false;
    L[4 * j] = sqrt(d);
    for (int i = j + 1; i < 3; i++) {
      double t = M[3 * i + j];
      for (int k = 0; k < j; k++)
        t -= L[3 * i + k] * L[3 * j + k];
      L[3 * i + j] = t / L[4 * j];
    }
  }
  return true;
}

/* Solves L L^T x = r. */
static void chol3_solve(const double L[9], const double r[3], double x[3]) {
  double y[3];
  for (int i = 0; i < 3; i++) {
    double t = r[i];
    for (int k = 0; k < i; k++)
      t -= L[3 * i + k] * y[k];
    y[i] = t / L[4 * i];
  }
  for (int i = 2; i >= 0; i--) {
    double t = y[i];
    for (int k = i + 1; k < 3; k++)
      t -= L[3 * k + i] * x[k];
    x[i] = t / L[4 * i];
  }
}

/* Prepares the system; false if H or g is not finite or diag(H) is not positive. Increments
 * *ridge if eigenvalues had to be floored (numerically not positive definite). */
bool nvmm__newton_prepare(const double H[9], const double g[3], const double sc[3],
                          nvmm__newton_sys *ns, int *ridge) {
  for (int i = 0; i < 3; i++) {
    if (!(H[4 * i] > 0.0 && isfinite(H[4 * i]) && isfinite(g[i])))
      return false;
    ns->D[i] = 1.0 / sqrt(H[4 * i]);
    ns->g[i] = g[i];
    ns->gs[i] = -g[i] * ns->D[i];
    ns->sc[i] = sc[i];
    ns->m[i] = (ns->D[i] / sc[i]) * (ns->D[i] / sc[i]);
  }
  double E[9], V[9], w[3], wmax = 0.0;
  for (int i = 0; i < 9; i++) {
    E[i] = H[i] * ns->D[i / 3] * ns->D[i % 3];
    if (!isfinite(E[i]))
      return false;
  }
  sym3_eigen(E, V, w);
  for (int k = 0; k < 3; k++)
    wmax = fmax(wmax, w[k]);
  bool floored = false;
  for (int k = 0; k < 3; k++) {
    if (!(w[k] >= GIG_EIG_FLOOR * wmax)) {
      w[k] = GIG_EIG_FLOOR * wmax;
      floored = true;
    }
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double t = 0.0;
      for (int k = 0; k < 3; k++)
        t += V[3 * i + k] * w[k] * V[3 * j + k];
      ns->A[3 * i + j] = t;
    }
  *ridge += floored;
  return wmax > 0.0 && isfinite(wmax);
}

/* The damped step d(mu) (in the system's coordinates), its slope g.d (< 0: A + mu diag(m) is
 * positive definite, so every d(mu) is a descent direction), its S-norm, and in *dnorm2 the
 * derivative of the squared S-norm in mu. False if the factorization fails. */
bool nvmm__newton_step_mu(const nvmm__newton_sys *ns, double mu, double d[3], double *slope,
                          double *norm, double *dnorm2) {
  double M[9], L[9], u[3], r[3], z[3];
  for (int i = 0; i < 9; i++)
    M[i] = ns->A[i];
  for (int i = 0; i < 3; i++)
    M[4 * i] += mu * ns->m[i];
  if (!chol3(M, L))
    return false;
  chol3_solve(L, ns->gs, u);
  double n2 = 0.0;
  for (int i = 0; i < 3; i++) {
    d[i] = ns->D[i] * u[i];
    n2 += ns->m[i] * u[i] * u[i];
    r[i] = ns->m[i] * u[i];
  }
  chol3_solve(L, r, z);
  *slope = nvmm__dot3(ns->g, d);
  *norm = sqrt(n2);
  *dnorm2 = -2.0 * nvmm__dot3(r, z);
  return true;
}

/* The damping mu >= 0 whose step has S-norm radius (< the Newton step's): Newton on the
 * secular equation 1/|d(mu)| = 1/radius, which is concave in mu and converges monotonically
 * from mu = 0 (More & Sorensen 1983). The radius only needs to be met roughly. Returns inf
 * on failure. */
double nvmm__newton_mu_for_radius(const nvmm__newton_sys *ns, double radius) {
  double mu = 0.0, d[3], slope, n, dn2;
  for (int it = 0; it < 50; it++) {
    if (!nvmm__newton_step_mu(ns, mu, d, &slope, &n, &dn2) || !(dn2 < 0.0))
      return INFINITY;
    if (fabs(n - radius) <= 1e-3 * radius)
      break;
    /* phi(mu) = 1/n - 1/radius; phi'(mu) = -dn2 / (2 n^3). */
    mu -= (1.0 / n - 1.0 / radius) * 2.0 * n * n * n / -dn2;
    if (!(mu >= 0.0) || !isfinite(mu))
      return INFINITY;
  }
  return mu;
}
