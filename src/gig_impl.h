/* gig_impl.h: what the subordinator files (gig.c, gig_solve.c, newton3.c) share, and the GIG
 * integral of the log-densities and the E-step (library-internal). */
#ifndef NVMM_GIG_IMPL_H
#define NVMM_GIG_IMPL_H

#include <math.h>
#include <stdbool.h>

#include "nvmm/gig.h"
#include "nvmm/status.h"

/* The kind's name for messages ("Gamma", ...; "unknown" for a value outside the enum). */
const char *nvmm__sub_kind_name(nvmm_sub_kind kind);

/* x > 0 and finite: what every scale-type parameter and moment must be. */
static inline bool nvmm__pos_finite(double x) { return x > 0.0 && isfinite(x); }

/* u . v for 3-vectors, summed left to right. */
static inline double nvmm__dot3(const double u[3], const double v[3]) {
  return u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
}

/* eta = (E log Y, E 1/Y, E Y) of GIG(p, a, b), a, b > 0 (src/numerics.md 2.4). */
nvmm_status nvmm__gig_eta(double p, double a, double b, double eta[3]);

/* log of the integral over y > 0 of y^(nu-1) exp(-(a y + b / y) / 2), a, b >= 0, including the
 * limits a = 0 (needs nu < 0) and b = 0 (needs nu > 0); +inf where the integral diverges.
 * Both the GIG normalizer and the marginal density are this one function, so every term of a
 * log-density uses the same (unfloored) a and b (src/numerics.md 3.1, 12.6). */
nvmm_status nvmm__log_gig_integral(double nu, double a, double b, double *out);

/* A Newton system H d = -g prepared for damped (Levenberg-Marquardt) steps d(mu) =
 * -(H + mu S)^{-1} g with the damping metric S = diag(sc)^-2 (sc: the natural unit of each
 * coordinate). H is equilibrated to unit diagonal, A = D H D with D = diag(H)^{-1/2} (its
 * entries span many decades), and eigenvalues of A below GIG_EIG_FLOOR (newton3.c) times the
 * largest are raised to it (modified Newton, src/numerics.md 5.6). */
typedef struct nvmm__newton_sys {
  double A[9];  /* equilibrated Hessian, eigenvalues floored (row-major) */
  double D[3];  /* diag(H)^{-1/2} */
  double m[3];  /* the damping metric in equilibrated units, (D_i / sc_i)^2 */
  double gs[3]; /* -D g */
  double g[3];  /* the gradient */
  double sc[3]; /* the natural units */
} nvmm__newton_sys;

/* Prepares the system from the 3x3 row-major H, the gradient g and the units sc; false if H or
 * g is not finite or diag(H) is not positive. Increments *ridge if eigenvalues were floored. */
bool nvmm__newton_prepare(const double H[9], const double g[3], const double sc[3],
                          nvmm__newton_sys *ns, int *ridge);

/* The damped step d(mu), its slope g.d (< 0), its S-norm, and in *dnorm2 the derivative of the
 * squared S-norm in mu. False if the factorization fails. */
bool nvmm__newton_step_mu(const nvmm__newton_sys *ns, double mu, double d[3], double *slope,
                          double *norm, double *dnorm2);

/* The damping mu >= 0 whose step has S-norm radius (< the Newton step's), met to 1e-3
 * relative; inf on failure. */
double nvmm__newton_mu_for_radius(const nvmm__newton_sys *ns, double radius);

#endif
