/* nvmm/fit.h: the distributed batch EM fit: options with their defaults, the fit object over a
 * communicator and this rank's rows, INITIALIZE / ITERATE / TEST, history and results.
 * See src/numerics.md 5.10, 7 and 8, and src/architecture.md 1. */
#ifndef NVMM_FIT_H
#define NVMM_FIT_H

#include <mpi.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "nvmm/estep.h"
#include "nvmm/incremental.h"
#include "nvmm/model.h"
#include "nvmm/status.h"

typedef enum nvmm_algorithm {
  NVMM_ALG_EM = 0,      /* E-step, full M-step, regularize */
  NVMM_ALG_MCECM,       /* E, M(mu, gamma, Sigma), regularize, E, M(subordinator)
                           (src/numerics.md 5.10) */
  NVMM_ALG_INCREMENTAL, /* mini-batch steps on a running eta for `epochs` passes, then (finish)
                           batch EM to the MLE (src/numerics.md 13) */
  NVMM_ALG_COUNT
} nvmm_algorithm;

/* The convergence test (src/numerics.md 8.3). */
typedef enum nvmm_stop_rule {
  NVMM_STOP_MLE = 0, /* the log-likelihood still to gain (estimated from the linear rate of the
                        gains) below tol_ll nats in total, and the parameter change including
                        the subordinator below tol, at NVMM_STOP_WINDOW consecutive iterations */
  NVMM_STOP_PARAMS,  /* normix's hybrid rule (src/numerics.md 8.3): RMS change of
                        (mu, gamma, L) below tol */
  NVMM_STOP_COUNT
} nvmm_stop_rule;

/* Consecutive iterations that must meet the MLE rule. Measured on the 13 reference fits
 * (src/numerics.md 8.3): with 1 every fit ends within 0.001 nats of its optimum, with 2
 * within 0.0009 for one more pass, with 3 within 0.0008; 2 keeps a single stalled EM step
 * (a tiny gain after a good start) from stopping a fit. */
#define NVMM_STOP_WINDOW 2

/* Why a fit stopped: positive converged, 0 still iterating, negative stopped otherwise. */
typedef enum nvmm_fit_reason {
  NVMM_FIT_ITERATING = 0,
  NVMM_FIT_CONVERGED = 1,        /* the MLE rule certified the optimum */
  NVMM_FIT_CONVERGED_PARAMS = 2, /* the parameter rule (NVMM_STOP_PARAMS) was met */
  NVMM_FIT_MAX_ITER = -1,        /* max_iter reached */
  NVMM_FIT_DIVERGED = -2,        /* a non-finite or failed update; the last finite model is kept */
  NVMM_FIT_STOPPED = -3,         /* a stop was requested (signal); resumable from a checkpoint */
  NVMM_FIT_EPOCHS = -4,          /* incremental EM without a batch finish ran its epochs */
  NVMM_FIT_UNBOUNDED = -5        /* the likelihood is unbounded: the fit is concentrating on a
                                    repeated point (src/numerics.md 8.6); the model's mu sits on
                                    it, the summary's unbounded_rows counts its rows */
} nvmm_fit_reason;

/* Acceleration of the EM map (src/numerics.md 8.4). */
typedef enum nvmm_accel {
  NVMM_ACCEL_SQUAREM = 0, /* SQUAREM, scheme S3 with step bounds and a monotone safeguard */
  NVMM_ACCEL_NONE,        /* plain EM (or MCECM) steps */
  NVMM_ACCEL_COUNT
} nvmm_accel;

typedef enum nvmm_init_kind {
  NVMM_INIT_MOMENTS = 0, /* mean and covariance of the data, gamma = 0 (src/numerics.md 7.3) */
  NVMM_INIT_SUBMODELS,   /* GH: best of NIG, VG, NInvG short fits and the moments
                            (src/numerics.md 7.4) */
  NVMM_INIT_MODEL        /* a given model (nvmm_fit_set_model) */
} nvmm_init_kind;

/* Shrinkage targets (src/numerics.md 13.2): the fit maximizes the penalized log-likelihood
 * l(theta) + tau n E_eta0[log p(X, Y | theta)], eta0 the expectation parameters of a target law
 * built from the start model (in the user's units, in the gauge |Sigma| = 1) with its Sigma
 * replaced as named, or a given model (nvmm_fit_set_shrink_target). */
typedef enum nvmm_shrink_target {
  NVMM_SHRINK_NONE = 0,  /* the maximum-likelihood fit */
  NVMM_SHRINK_MODEL,     /* the start model itself */
  NVMM_SHRINK_ISOTROPIC, /* Sigma0 = s2 I (s2 = shrink_s2) */
  NVMM_SHRINK_DIAGONAL,  /* Sigma0 = the diagonal of the start's Sigma */
  NVMM_SHRINK_GIVEN,     /* the model given by nvmm_fit_set_shrink_target */
  NVMM_SHRINK_COUNT
} nvmm_shrink_target;

/* Options. Defaults live only in nvmm_fit_options_default. */
typedef struct nvmm_fit_options {
  nvmm_family family;
  nvmm_algorithm algorithm;
  nvmm_regularization regularization;
  int max_iter;        /* iteration cap (default 200) */
  nvmm_stop_rule stop; /* convergence test (default NVMM_STOP_MLE) */
  nvmm_accel accel;    /* acceleration (default NVMM_ACCEL_SQUAREM; the Gaussian needs none) */
  double tol;          /* parameter change below which the fit may stop (default 1e-3): with the
                          MLE rule over (mu, gamma, L) and the subordinator's log-parameters, with
                          the parameter rule over (mu, gamma, L) alone */
  double tol_ll;       /* MLE rule: total log-likelihood (nats, summed over the n rows) still to
                          gain below which the fit may stop (default 1e-3) */
  double alpha_min;    /* lower bound on the VG shape (0: none) */
  nvmm_init_kind init;
  int symmetric;           /* 1: gamma = 0, the symmetric law of the family (default 0) */
  int64_t block_rows;      /* rows per reduction block (default 4096; results do not depend on the
                              rank count for a fixed value) */
  int standardize;         /* 1: run EM on scaled data (src/numerics.md 7.1; default 1); data
                              are always centred */
  int64_t scalapack_min_d; /* from this dimension on, and with more than one rank, Sigma is
                              factored by ScaLAPACK on a process grid of all ranks (default 2048,
                              the measured crossover) */
  /* Incremental EM (algorithm NVMM_ALG_INCREMENTAL; src/numerics.md 13). */
  double epochs;          /* passes over the data in mini-batches, fractional allowed (default 1) */
  int64_t batch_rows;     /* rows per mini-batch (default 1024) */
  nvmm_eta_rule eta_rule; /* default Robbins-Monro, tau0 = 10, kappa = 0.6 */
  uint64_t seed;          /* the mini-batches' permutation (default 0) */
  int finish;             /* 1: batch EM (accelerated) to the MLE after the epochs (default);
                             0: stop there (reason NVMM_FIT_EPOCHS) */
  int64_t eval_every;     /* steps between full log-likelihood passes during the epochs (each
                             counted as a pass; default 0: none) */
  int average;            /* 1: the last step's model comes from the mean of the running eta over
                             the second half of the steps (Polyak-Ruppert; default); 0: from the
                             running eta */
  /* Shrinkage (src/numerics.md 13.2), for batch EM (a MAP fit) and incremental EM alike. The
   * penalty fixes the scale orbit's gauge itself (every update ends at the point of its orbit the
   * penalty prefers), so regularization must be NVMM_REG_NONE. */
  nvmm_shrink_target shrink; /* default NVMM_SHRINK_NONE */
  double shrink_tau;         /* tau >= 0: the target's weight in rows per data row (default 0) */
  double shrink_s2;          /* NVMM_SHRINK_ISOTROPIC: s2 > 0, in the user's units and the start
                                model's gauge |Sigma| = 1 (default 1: the start's |Sigma|) */
  /* Factor models (src/numerics.md 3.4, 5.12): Sigma = F F^T + diag(D) with F d x factors. */
  int64_t factors;       /* 0: a dense Sigma (default); R in [1, d): R factors, E-step and M-step in
                            O(d R) per row (algorithm em, moments or a given initial model, no
                            shrinkage; accel in F's coordinates: src/numerics.md 8.7) */
  double factor_d_floor; /* factor fits: D_j >= factor_d_floor times column j's scale A_j / n,
                            in [NVMM_FACTOR_D_FLOOR, 1) (default NVMM_FACTOR_D_FLOOR; R factanal
                            bounds uniquenesses by 0.005: src/numerics.md 5.12) */
} nvmm_fit_options;

/* Fills o with the defaults for a family: max_iter 200, the MLE stopping rule with tol 1e-3
 * and tol_ll 1e-3, SQUAREM, det_sigma_one, em, moments init, block_rows
 * 4096, standardize; for incremental EM 1 epoch of 1024-row batches, Robbins-Monro
 * (tau0 = 10, kappa = 0.6) with tail averaging, seed 0, the batch finish. */
NVMM_EXTERN void nvmm_fit_options_default(nvmm_family family, nvmm_fit_options *o);

/* Checks the options. Errors: NVMM_EBADTOL (tol or tol_ll < 0 or not finite), NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_options_check(const nvmm_fit_options *o);

/* Names of the per-iteration counters kept in the history. */
enum {
  NVMM_CNT_BPOST_FLOOR = 0,  /* E-step rows whose posterior b hit the floor */
  NVMM_CNT_D_FLOOR,          /* M-step D floors (factor fits: also the specific variances D_j
                                floored, src/numerics.md 5.12) */
  NVMM_CNT_SIGMA_RIDGE,      /* Sigma factorizations that needed a relative ridge */
  NVMM_CNT_GIG_FALLBACK,     /* GIG solves rejected (previous GIG kept) */
  NVMM_CNT_GIG_RIDGE,        /* GIG Newton steps with an eigenvalue floor */
  NVMM_CNT_ALPHA_CLAMP,      /* VG shapes raised to alpha_min */
  NVMM_CNT_ACCEL_STEP,       /* SQUAREM: updates that were an extrapolation (step length > 1) */
  NVMM_CNT_ACCEL_REJECT,     /* SQUAREM: extrapolated models whose log-likelihood fell below the
                                cycle's (replaced by the plain EM iterate) */
  NVMM_CNT_ACCEL_INFEASIBLE, /* SQUAREM: extrapolations with no valid model (not finite, below
                                alpha_min): the plain EM iterate taken instead */
  NVMM_CNT_GAUGE_SWITCH,     /* GH with a_eq_b: the fit headed for a -> 0 (the Student-t limit),
                                where a = b cannot hold; from this update on it fixes |Sigma| = 1 */
  NVMM_NCOUNTERS
};
NVMM_EXTERN const char *nvmm_counter_name(int counter);

typedef struct nvmm_fit nvmm_fit;

/* Rows [first_row, first_row + n_local) of an n x d data set, on this rank (x is n_local x d
 * row-major, borrowed until nvmm_fit_destroy; ranks hold disjoint ranges that cover all n
 * rows). first_row must be a multiple of o->block_rows unless n_local is 0 or this is the last
 * range (nvmm_fit_shard gives such ranges). Computes the global mean and scale (one exact
 * pass over the rows, two where the first row lies far out: src/numerics.md 7.2).
 * Collective on comm. Errors: NVMM_EINVAL (bad options, ranges), NVMM_EDOM (n <= d,
 * constant column), NVMM_ENOMEM. Every rank gets the same status. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_create(MPI_Comm comm, const nvmm_fit_options *o,
                                                       int64_t n, int64_t d, int64_t first_row,
                                                       int64_t n_local, const double *x,
                                                       nvmm_fit **out);

/* Reads rows [row0, row0 + nrows) of the data set (global indices; nrows may be 0) into buf
 * (nrows x d row-major). Collective over the fit's ranks: every rank calls it the same number of
 * times per pass; a failure must be agreed across ranks (every rank gets the same status). */
typedef nvmm_status nvmm_fit_reader(void *ctx, int64_t row0, int64_t nrows, double *buf);

/* As nvmm_fit_create, for a shard too large for memory: every pass over the data reads it
 * through reader in chunks of chunk_rows rows (rounded down to whole blocks), so the fit holds
 * O(chunk_rows d + d^2) doubles; the results are bitwise those of the in-memory fit. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_create_stream(
    MPI_Comm comm, const nvmm_fit_options *o, int64_t n, int64_t d, int64_t first_row,
    int64_t n_local, nvmm_fit_reader *reader, void *ctx, int64_t chunk_rows, nvmm_fit **out);

/* Reads count sorted, disjoint row ranges [row0[i], row0[i] + nrows[i]) of the data set into
 * buf, one after the other (at most the chunk_rows of nvmm_fit_create_stream in all). Collective
 * over the fit's ranks: every rank calls it the same number of times, with its own ranges
 * (count may be 0); failures agreed, as nvmm_fit_reader. */
typedef nvmm_status nvmm_fit_ranges_reader(void *ctx, size_t count, const int64_t *row0,
                                           const int64_t *nrows, double *buf);

/* For a streaming fit: incremental EM reads each mini-batch's scattered rows through fn (same
 * ctx as the chunk reader), a few calls per step. Required before nvmm_fit_init or
 * nvmm_fit_set_model of a streamed incremental fit (they fail with NVMM_EINVAL without it).
 * Not collective; call it on every rank alike. */
NVMM_EXTERN void nvmm_fit_set_ranges_reader(nvmm_fit *f, nvmm_fit_ranges_reader *fn);

/* The row range of rank `rank` of `size`: whole blocks of block_rows, as even as possible. */
NVMM_EXTERN void nvmm_fit_shard(int64_t n, int64_t block_rows, int rank, int size,
                                int64_t *first_row, int64_t *n_local);

/* Frees the fit; no-op on NULL; sets *f = NULL. Collective. */
NVMM_EXTERN void nvmm_fit_destroy(nvmm_fit **f);

/* INITIALIZE: from the options' init (moments or GH sub-models), or from a model in the user's
 * units (family and d must match). Collective. Errors: NVMM_EFACTOR (singular covariance),
 * NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_init(nvmm_fit *f);
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_set_model(nvmm_fit *f, const nvmm_model *m);

/* NVMM_SHRINK_GIVEN: the target model in the user's units (family and d must match; copied).
 * Call before nvmm_fit_init or nvmm_fit_set_model, alike on every rank. Errors: NVMM_EINVAL,
 * NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_set_shrink_target(nvmm_fit *f,
                                                                  const nvmm_model *target);

/* ITERATE: one EM (or MCECM) iteration; sets the reason when the fit stops (converged,
 * max_iter, diverged). A divergence is a reason, not an error. Collective.
 * Errors: NVMM_EDOM (non-finite data statistics), NVMM_EMPI, NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_iterate(nvmm_fit *f);

/* Runs ITERATE until a reason is set, then, unless the final model's log-likelihood is already
 * known (the MLE rule and a stop decide in the E-step pass that scores it), one closing E-step
 * pass for it. Collective. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_run(nvmm_fit *f);

/* TEST: the current reason. */
NVMM_EXTERN nvmm_fit_reason nvmm_fit_reason_get(const nvmm_fit *f);
NVMM_EXTERN const char *nvmm_fit_reason_name(nvmm_fit_reason r);

/* The current model in the user's units, with the requested gauge honoured there
 * (src/numerics.md 7.1). Identical on every rank. A factor fit's model is a factor model
 * (out->factor: F and D in the user's units), allocating out's factor part: a factor-only out
 * (nvmm_model_alloc_factor) stays O(d r), a dense one also gets the dense Sigma = F F^T +
 * diag(D) with its Cholesky factor (O(d^3) once, src/numerics.md 5.13). A dense fit needs a
 * dense out. Errors: NVMM_EINVAL, NVMM_EFACTOR, NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_model(const nvmm_fit *f, nvmm_model *out);

/* Asks the fit to stop at the next iteration boundary when *flag is nonzero on any rank (a
 * signal handler sets it). The flag rides in the E-step's reduction, so every rank stops at the
 * same iteration; the fit then has reason NVMM_FIT_STOPPED and the model of the last completed
 * iteration. NULL removes it. Not collective. */
NVMM_EXTERN void nvmm_fit_set_stop_flag(nvmm_fit *f, volatile const sig_atomic_t *flag);

/* Everything the next iteration depends on, for checkpoints (arrays in standardized
 * coordinates, as the fit iterates). Owned by the fit when obtained from nvmm_fit_state_get;
 * owned by the caller (free with nvmm_fit_state_free) when read from a checkpoint. */
typedef struct nvmm_fit_state {
  nvmm_family family;
  int64_t d, n;
  uint64_t fingerprint; /* nvmm_fit_fingerprint of the data */
  int iterations;       /* completed updates */
  int reason;           /* nvmm_fit_reason */
  double loglik_init, target_logdet, elapsed;
  double totals[NVMM_NCOUNTERS];
  double *mu, *gamma, *sigma, *chol; /* d, d, d x d, d x d (row-major); a factor fit's sigma
                                        and chol are unused (NULL from nvmm_fit_state_get) */
  double logdet;
  nvmm_sub sub;
  double *loglik, *change, *elapsed_hist, *counters; /* history, length iterations
                                                        (counters: x NVMM_NCOUNTERS) */
  double *accel; /* the accelerator's state, nvmm_fit_accel_len(d) values */
  /* Incremental EM (inc_steps = 0 and NULL arrays for other fits). */
  int64_t inc_steps;    /* mini-batch steps the fit asks for */
  int64_t inc_step;     /* steps done */
  int inc_on;           /* the mini-batch phase is running */
  int inc_prior_floors; /* prior-moment floors in the running eta's start */
  double inc_seen;      /* rows of the steps done */
  double *inc_eta;      /* nvmm_stats_len(d): the running eta */
  double *inc_avg;      /* nvmm_stats_len(d): its tail mean */
  double *inc_hist;     /* the steps' history: batch LL, full LL, change, elapsed, each a
                           column of inc_steps values of which the first inc_step are set */
  /* Shrinkage (shrink = NVMM_SHRINK_NONE and NULL arrays for other fits). */
  int shrink;              /* nvmm_shrink_target */
  double shrink_tau;       /* tau */
  double penalty_init;     /* the penalty of the model entering the batch iterations */
  int shrink_prior_floors; /* prior-moment floors in the target's eta */
  double *shrink_eta0;     /* nvmm_stats_len(d): the target, standardized coordinates */
  double *penalty;         /* iterations: the penalty after each update */
  /* Factor fits (factors = 0 and NULL for dense ones): the dispersion records of the current
   * model and of SQUAREM's theta2, each F, D, D^-1, M, M's Cholesky factor and log|Sigma|
   * (nvmm_fit_factor_len values in all). The dense sigma and chol are not used. */
  int64_t factors;
  double *factor;
} nvmm_fit_state;

/* Length of a factor fit's state record (both dispersions) for dimension d and r factors. */
NVMM_EXTERN size_t nvmm_fit_factor_len(int64_t d, int64_t r);

/* Length of a state's accelerator record for dimension d. */
NVMM_EXTERN size_t nvmm_fit_accel_len(int64_t d);
/* The accelerator record's length of a fit with r factors (r = 0: nvmm_fit_accel_len(d)); at
 * most nvmm_fit_accel_len(d), so a state allocated for d holds it. */
NVMM_EXTERN size_t nvmm_fit_accel_len_factor(int64_t d, int64_t r);

/* A view of the fit's state (valid until the next iterate). Not collective. */
NVMM_EXTERN void nvmm_fit_state_get(const nvmm_fit *f, nvmm_fit_state *s);

/* Allocates the arrays of a state of dimension d with iterations history rows (zeroed), for a
 * fit with factors factors (nvmm_fit_state_alloc_sized; 0: a dense fit's, with sigma and chol;
 * else no d x d array and the accelerator record of nvmm_fit_accel_len_factor, the factor record
 * to add with nvmm_fit_state_alloc_factor). Errors: NVMM_ENOMEM, NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_state_alloc_sized(int64_t d, int iterations,
                                                                  int64_t factors,
                                                                  nvmm_fit_state *s);
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_state_alloc(int64_t d, int iterations,
                                                            nvmm_fit_state *s);
/* Allocates a state's incremental EM arrays for inc_steps steps (zeroed) and sets
 * s->inc_steps. Errors: NVMM_ENOMEM, NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_state_alloc_incremental(int64_t inc_steps,
                                                                        nvmm_fit_state *s);
/* Allocates a state's shrinkage arrays (for its d and iterations, zeroed). Errors:
 * NVMM_ENOMEM, NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_state_alloc_shrinkage(nvmm_fit_state *s);
/* Frees the arrays of a state allocated by nvmm_fit_state_alloc (and
 * nvmm_fit_state_alloc_incremental, nvmm_fit_state_alloc_shrinkage). */
NVMM_EXTERN void nvmm_fit_state_free(nvmm_fit_state *s);
/* Allocates a state's factor record for r factors (zeroed) and sets s->factors. Errors:
 * NVMM_ENOMEM, NVMM_EINVAL. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_state_alloc_factor(int64_t r, nvmm_fit_state *s);

/* Continues from a saved state instead of nvmm_fit_init: the data must be the same (family, d,
 * n and fingerprint), the options may differ only in max_iter, tol and the checkpoint
 * schedule (incremental EM: the same number of mini-batch steps). A state that stopped
 * (NVMM_FIT_STOPPED) resumes iterating; a finished one stays finished. The continued fit is bitwise
 * the one that was never interrupted, on any number of ranks. Collective. Errors: NVMM_EINVAL
 * naming what does not match, NVMM_ENOMEM. */
NVMM_EXTERN NVMM_NODISCARD nvmm_status nvmm_fit_restore(nvmm_fit *f, const nvmm_fit_state *s);

/* A checksum of the data (n, d and every value with its position), the same on any number of
 * ranks. Computed at create, in the first pass over the data. */
NVMM_EXTERN uint64_t nvmm_fit_fingerprint(const nvmm_fit *f);

/* Results. */
typedef struct nvmm_fit_summary {
  int iterations; /* completed updates, including the one that met tol */
  nvmm_fit_reason reason;
  double loglik_init; /* mean log-likelihood of the initial model */
  double loglik;      /* mean log-likelihood of the final model (NAN until known) */
  double change;      /* last parameter change */
  double elapsed;     /* seconds */
  int64_t n;          /* rows */
  int ranks;
  double counters[NVMM_NCOUNTERS]; /* totals over the iterations */
  double t_estep;      /* seconds this rank spent in E-step kernels (all E-step passes) */
  double t_reduce;     /* seconds in their exact accumulation and Allreduce */
  double t_mstep;      /* seconds in the M-step and its broadcast */
  double t_moments;    /* seconds in the pass for the mean and covariance (at create) */
  double t_total;      /* seconds from create to the end: start-up (moments, init) included */
  double reduce_bytes; /* bytes each rank sent into the last E-step reduction's Allreduces */
  int passes;    /* passes over the data: the moment pass at create (two where the first row lies
                    far out: see src/numerics.md 7.2) and every E-step pass (start, iterations,
                    MCECM's second pass, a closing pass, incremental EM's evaluations) */
  int64_t steps; /* incremental EM: mini-batch steps taken */
  double data_passes;   /* passes plus the rows the mini-batch steps E-stepped, over n */
  int inc_prior_floors; /* prior-moment floors in the running eta's start (src/numerics.md 12.4) */
  /* Shrinkage: the penalty tau E_eta0[log p(X, Y | theta)] per row of the initial and final
   * models (user units), 0 without shrinkage; the fit maximizes loglik + penalty. */
  double penalty_init, penalty;
  int shrink_prior_floors; /* prior-moment floors in the target's eta (src/numerics.md 12.4) */
  int64_t unbounded_rows;  /* reason NVMM_FIT_UNBOUNDED: the rows whose posterior floor bound in
                              the pass that scored the final model (src/numerics.md 8.6); else 0 */
} nvmm_fit_summary;
NVMM_EXTERN void nvmm_fit_summary_get(const nvmm_fit *f, nvmm_fit_summary *s);

/* History: arrays of length *len owned by the fit (valid until the next iterate):
 * loglik[i] = mean LL after update i+1 (NAN while unknown), change[i], elapsed[i], and
 * counters[i * NVMM_NCOUNTERS + c]. */
NVMM_EXTERN void nvmm_fit_history(const nvmm_fit *f, size_t *len, const double **loglik,
                                  const double **change, const double **elapsed,
                                  const double **counters);

/* Shrinkage: penalty[i] = the penalty per row after update i+1 (the fit's objective is
 * loglik[i] + penalty[i]); NULL without shrinkage. Length as nvmm_fit_history's. */
NVMM_EXTERN const double *nvmm_fit_history_penalty(const nvmm_fit *f);

/* The history of incremental EM's steps: arrays of length *len owned by the fit (valid until
 * the next iterate): batch_ll[i] = mean LL of step i+1's mini-batch under the model entering it,
 * full_ll[i] = mean LL over all rows of the model after step i+1 where it was evaluated
 * (eval_every) and NAN elsewhere, change[i], elapsed[i]. */
NVMM_EXTERN void nvmm_fit_history_incremental(const nvmm_fit *f, size_t *len,
                                              const double **batch_ll, const double **full_ll,
                                              const double **change, const double **elapsed);

#endif
