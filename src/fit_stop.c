/* fit_stop.c: the stopping rules: the parameter change (subordinator included in the MLE rule)
 * and the MLE rule's estimate of the log-likelihood still to gain (src/numerics.md 8.3). */
#include <float.h>
#include <math.h>

#include "family.h"
#include "fit_impl.h"
#include "nvmm/estep.h"

static double rms_change(size_t k, const double *a, const double *b) {
  double dd = 0.0, bb = 0.0;
  for (size_t i = 0; i < k; i++) {
    dd += (a[i] - b[i]) * (a[i] - b[i]);
    bb += b[i] * b[i];
  }
  return sqrt(dd / (double)k) / (1.0 + sqrt(bb / (double)k));
}

/* The subordinator's change in scale-free coordinates: log of each positive parameter (a
 * relative change), and GH's p relative to 1 + |p|. The fit iterates in a fixed gauge, so the
 * parameters are comparable from one iteration to the next. */
static double sub_change(const nvmm_sub *new, const nvmm_sub *old) {
  double m = 0.0;
  for (int k = 0; k < 3; k++) {
    double a = new->par[k], b = old->par[k], c;
    if (a == b)
      continue; /* unused entries are 0 in both */
    if (!nvmm__family_of_kind(new->kind)->par_positive[k])
      c = fabs(a - b) / (1.0 + fabs(b));
    else
      c = a > 0 && b > 0 ? fabs(log(a / b)) : NAN;
    if (!isfinite(c))
      return NAN;
    m = fmax(m, c);
  }
  return m;
}

/* src/numerics.md 8.2: max over mu, gamma, L of rms(new - old) / (1 + rms(old)); L over all d^2
 * entries. normix's rule (NVMM_STOP_PARAMS, src/numerics.md 8.3) excludes the subordinator
 * (src/numerics.md 12.22); the MLE rule includes it, because on real data the subordinator keeps
 * moving after (mu, gamma, L) settle. */
double nvmm__param_change(const nvmm_model *new, const nvmm_model *old, int with_sub) {
  size_t d = new->d;
  double c[4] = {rms_change(d, new->mu, old->mu), rms_change(d, new->gamma, old->gamma),
                 rms_change(d * d, new->chol, old->chol),
                 with_sub ? sub_change(&new->sub, &old->sub) : 0.0};
  double m = 0.0;
  for (int k = 0; k < 4; k++) {
    if (!isfinite(c[k]))
      return NAN; /* fmax would drop a NaN */
    m = fmax(m, c[k]);
  }
  return m;
}

/* F's entries stand in for L's: the EM map commutes with F's rotations (F Q maps to F' Q), so
 * the iterates do not drift along the rotation orbit and F's change goes to 0 with the fit's.
 * D enters relative to its own size through its square root, a scale like F's and L's. */
double nvmm__param_change_factor(const nvmm_model *new, const nvmm_factor *fnew,
                                 const nvmm_model *old, const nvmm_factor *fold, int with_sub) {
  size_t d = new->d, r = fnew->r;
  double c[5] = {rms_change(d, new->mu, old->mu), rms_change(d, new->gamma, old->gamma),
                 rms_change(d * r, fnew->f, fold->f), 0.0,
                 with_sub ? sub_change(&new->sub, &old->sub) : 0.0};
  double dd = 0.0, bb = 0.0;
  for (size_t j = 0; j < d; j++) {
    double a = sqrt(fnew->dd[j]), b = sqrt(fold->dd[j]);
    dd += (a - b) * (a - b);
    bb += b * b;
  }
  c[3] = sqrt(dd / (double)d) / (1.0 + sqrt(bb / (double)d));
  double m = 0.0;
  for (int k = 0; k < 5; k++) {
    if (!isfinite(c[k]))
      return NAN;
    m = fmax(m, c[k]);
  }
  return m;
}

/* The MLE rule (src/numerics.md 8.3), from the history only, so a resumed fit decides
 * exactly as the uninterrupted one. ll(s) is the mean LL of the model after s updates and
 * g_s = n (ll(s) - ll(s-1)) the total gain of update s. EM converges linearly, so the gains of
 * consecutive EM steps shrink by a ratio rho = g_s / g_{s-1} and what is still to gain is about
 * g_s rho / (1 - rho). A gain within the log-likelihood's rounding (NVMM__LL_NOISE ulps of each
 * row's log-density, whose size the standardized mean LL gives) is no gain: there the ratio is
 * noise, and a fit held to a tight tol stops on its parameter change. A growing gain means no
 * estimate. Only EM steps count: SQUAREM's extrapolations and their rejections are not (their gains
 * say nothing of EM's rate), which the history's accel counters tell. */

double nvmm__ll_after(const nvmm_fit *f, int s) {
  /* With shrinkage the objective: the log-likelihood plus the penalty (src/numerics.md 13.2). */
  if (f->h_pen)
    return s >= 1 ? f->h_loglik[s - 1] + f->h_pen[s - 1] : f->loglik_init + f->pen_init;
  return s >= 1 ? f->h_loglik[s - 1] : f->loglik_init;
}

static double gain(const nvmm_fit *f, int s) {
  return (double)f->n * (nvmm__ll_after(f, s) - nvmm__ll_after(f, s - 1));
}

/* Update s (1-based) was a plain EM (or MCECM) step. */
int nvmm__em_step(const nvmm_fit *f, int s) {
  const double *c = f->h_counters + (size_t)(s - 1) * NVMM_NCOUNTERS;
  return c[NVMM_CNT_ACCEL_STEP] == 0.0 && c[NVMM_CNT_ACCEL_REJECT] == 0.0;
}

/* Update s: an EM step with a change below tol and a gain within tol_ll. */
static int small_step(const nvmm_fit *f, int s) {
  double g = gain(f, s);
  return s >= 1 && nvmm__em_step(f, s) && f->h_change[s - 1] < f->o.tol && isfinite(g) &&
         fabs(g) <= f->o.tol_ll;
}

static int mle_met_at(const nvmm_fit *f, int s) {
  if (!small_step(f, s))
    return 0;
  double n = (double)f->n, g = gain(f, s);
  double noise = NVMM__LL_NOISE * DBL_EPSILON * n *
                 (1.0 + fabs(nvmm__ll_after(f, s) + nvmm__log_scale_sum(f) / 2.0));
  if (f->fac && g < -noise)
    return 0; /* a factor fit's D floor moves with A_j (src/numerics.md 8.7): a loss is no rate */
  if (g <= noise)
    return 1; /* no gain left within tol_ll (rounding, or a clamp's small loss) */
  /* Two consecutive EM gains give the rate, unless the earlier one is the first EM step after an
   * extrapolation (it falls fast while the stirred-up fast modes decay). Under SQUAREM the
   * last cycle's estimate (sq_rho) bounds it from below. */
  double rho = NAN;
  if (s >= 2 && nvmm__em_step(f, s - 1) && (s < 3 || nvmm__em_step(f, s - 2))) {
    double gp = gain(f, s - 1);
    if (!(gp > g))
      return 0; /* gains not shrinking: no rate to trust */
    rho = g / gp;
  }
  if (f->sq_on && isfinite(f->sq_rho))
    rho = isfinite(rho) ? fmax(rho, f->sq_rho) : f->sq_rho;
  if (!(rho < 1.0))
    return 0; /* no rate, or no contraction */
  return g * rho / (1.0 - rho) <= f->o.tol_ll;
}

/* The last NVMM_STOP_WINDOW updates meet the rule. Under SQUAREM an earlier update of the window
 * may follow an extrapolation, so that it has no rate of its own: it must then be a small EM
 * step, while the latest update's rate certifies the remainder. */
int nvmm__mle_converged(const nvmm_fit *f) {
  int t = f->iterations;
  if (t < NVMM_STOP_WINDOW || !mle_met_at(f, t))
    return 0;
  for (int k = 1; k < NVMM_STOP_WINDOW; k++) {
    int s = t - k;
    if (s >= 2 && !nvmm__em_step(f, s - 1) ? !small_step(f, s) : !mle_met_at(f, s))
      return 0;
  }
  return 1;
}

/* src/numerics.md 8.6: the final model theta_t sits on a degenerate point: its subordinator's
 * GIG embedding (p, a, b) has p < d/2, so a row's posterior order p - d/2 is negative and its
 * moments blow up as b + q -> 0, and b is already below the posterior floor (VG: b = 0), and the
 * floor bound both in the pass that scored theta_t and in the one that scored theta_{t-1}: rows
 * sit within the floor's reach of mu (b + q below NVMM_B_POST_FLOOR, so q below it), and the EM
 * map's fixed point there is the floor's, not the likelihood's, which rises without bound as
 * the law collapses onto them. Every input is a reduced sum or the broadcast model, so every
 * rank decides alike. */
nvmm_fit_reason nvmm__unbounded_or(nvmm_fit *f, nvmm_fit_reason r) {
  const nvmm__family *fd = nvmm__family_of(f->o.family);
  double g[3] = {0.0, 0.0, 0.0};
  if (fd->to_gig)
    fd->to_gig(f->model->sub.par, g);
  int regime = fd->to_gig && g[0] < 0.5 * (double)f->d && g[2] < NVMM_B_POST_FLOOR;
  int t = f->iterations;
  if (!regime || t < 1 || !(f->stats[NVMM_ST_FLOOR] > 0.0) ||
      !(f->h_counters[(size_t)(t - 1) * NVMM_NCOUNTERS + NVMM_CNT_BPOST_FLOOR] > 0.0))
    return r;
  f->unb_rows = f->stats[NVMM_ST_FLOOR];
  return NVMM_FIT_UNBOUNDED;
}
