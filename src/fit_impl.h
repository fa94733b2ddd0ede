/* fit_impl.h: the fit object (library-internal layout). */
#ifndef NVMM_FIT_IMPL_H
#define NVMM_FIT_IMPL_H

#include "minibatch.h"
#include "nvmm/factor.h"
#include "nvmm/fit.h"
#include "nvmm/mstep.h"
#include "nvmm/pchol.h"

struct nvmm_fit {
  MPI_Comm comm; /* private duplicate of the caller's communicator */
  int rank, size;
  nvmm_fit_options o;
  int64_t n, first_row, n_local;
  size_t d;
  const double *x;         /* this rank's rows, n_local x d row-major (borrowed), or NULL when
                              they are streamed through the reader */
  nvmm_fit_reader *reader; /* streaming: reads rows of the shard (collective) */
  void *reader_ctx;
  double *stream;        /* streaming buffer, stream_rows x d */
  int64_t stream_rows;   /* rows per read (a multiple of block_rows) */
  int64_t stream_chunks; /* reads per pass, the same on every rank */
  uint64_t fp_local;     /* this rank's part of the fingerprint */
  double *center;        /* d: global column means (0 without standardization) */
  double *scale;         /* d: global column standard deviations (1 without) */
  double *rscale;        /* d: 1 / scale, refreshed at every pass (a product is cheaper) */
  double *corr;          /* d x d: covariance of the standardized data (NULL when fbig) */
  nvmm_model *model;     /* current model, standardized coordinates */
  nvmm_model *next;      /* M-step output */
  double target_logdet;  /* det_sigma_x target, standardized coordinates */
  size_t len;            /* statistics length */
  double *row;           /* cross_rows x d: centred rows (the moments pass) */
  double *cross;         /* d x d: one block's cross products (the moments pass) */
  size_t cross_rows;
  double *bstats;      /* one block's statistics (len) */
  int64_t *acc;        /* len exact accumulators (NVMM_XSUM_LIMBS each) */
  int64_t *packed;     /* the limbs inside the statistics' windows, for the Allreduce */
  int32_t *win;        /* error, stop, then -lo, hi of each statistic's window */
  int8_t *sign;        /* each statistic's local sign (nvmm_xsum_split) */
  double reduce_bytes; /* bytes of the last reduction's two Allreduces */
  double *stats;       /* reduced statistics (len) */
  double *scratch;     /* d*d + 2d for the M-step */
  nvmm_estep_ws *ews;  /* the blocked E-step's workspace */
  nvmm_pchol *pchol;   /* ScaLAPACK factorizer when d >= scalapack_min_d, else NULL */
  double *pack;        /* broadcast buffer of a model and the iteration's outcome */
  size_t pack_len;
  /* history, allocated for max_iter entries */
  double *h_loglik, *h_change, *h_elapsed, *h_counters;
  int iterations;
  nvmm_fit_reason reason;
  double loglik_init, loglik_final, last_change;
  double unb_rows; /* NVMM_FIT_UNBOUNDED: the deciding pass's floored rows (src/numerics.md 8.6) */
  double t0;       /* MPI_Wtime at init */
  double elapsed;  /* seconds from init to the last iteration or closing pass */
  double totals[NVMM_NCOUNTERS];
  int hist_cap;                           /* rows allocated in the history arrays */
  volatile const sig_atomic_t *stop_flag; /* set by a signal handler; NULL for none */
  uint64_t fingerprint;                   /* checksum of the data (nvmm_fit_fingerprint) */
  double t_estep, t_reduce, t_mstep;      /* timers (nvmm_fit_summary) */
  double t_moments;
  double t_create, t_startup; /* MPI_Wtime at create; seconds from it to the first iteration */
  int passes;
  /* Several models E-stepped in one pass (the GH start's candidates): up to multi_cap at once,
   * the reduction buffers sized for that many statistics vectors plus a failure count each. */
  int multi_cap, nmulti;
  /* SQUAREM (src/accel.c): a cycle E-steps theta0, theta1 = F(theta0) and the extrapolation
   * theta' of (theta0, theta1, theta2 = F(theta1)); phase says which the model is (0, 1, 2). */
  int sq_on, sq_phase;
  int gauge_switched;     /* a_eq_b gave way to det_sigma_one (NVMM_CNT_GAUGE_SWITCH) */
  int fault_nonfinite_at; /* test hook NVMM_FAULT_NONFINITE_AT (fault.h), 0 = off */
  double sq_step_max, sq_alpha;
  double sq_rho; /* EM's LL contraction ratio estimated by the last cycle (NAN: none yet) */
  size_t sq_p;
  double *sq_t0, *sq_t1, *sq_t2; /* coordinates (sq_p each); t0 kept from phase 0 to 1 */
  nvmm_model *sq_m2;             /* theta2: what a rejected theta' gives way to */
  nvmm_factor *sq_f2;            /* a factor fit's theta2 dispersion (NULL otherwise) */
  double *sq_state;              /* the accelerator's record for nvmm_fit_state_get */
  const nvmm_model *multi[4];
  nvmm_estep_ws *multi_ws[4];
  int stop_seen; /* the last reduction carried a stop request */
  /* Incremental EM (src/fit_incremental.c). */
  int inc_on;               /* the mini-batch phase is running */
  nvmm__batches batches;    /* the mini-batches (set at create) */
  int64_t inc_steps;        /* steps asked for: ceil(epochs x batches per epoch) */
  int64_t inc_step;         /* steps done */
  double inc_seen;          /* rows of the steps done (the sample-weighted rule's count) */
  double inc_rows;          /* rows E-stepped in mini-batches (steps redone after a resume too) */
  int inc_prior_floors;     /* prior-moment floors in the start's eta (src/numerics.md 12.4) */
  double *inc_eta;          /* the running eta (len) */
  double *inc_avg;          /* its mean over the second half of the steps (average) */
  int64_t *inc_gran;        /* this rank's granules of the current batch (per_batch) */
  int64_t *inc_group;       /* where each group of granules read together starts */
  int64_t *inc_r0, *inc_nr; /* the merged row ranges of one group */
  nvmm_fit_ranges_reader *ranges_reader; /* streaming: reads a batch's scattered rows */
  double *h_inc; /* the steps' history, column after column of inc_steps values: batch
                    LL, full LL, change, elapsed (NVMM__INC_COLS) */
  /* Shrinkage (src/fit_shrink.c; NULL arrays without it). */
  double *shr_eta0;      /* len: the target's eta, standardized coordinates */
  double *shr_buf;       /* len: incremental EM's shrunk eta */
  double *shr_scratch;   /* d * d + 2 * d */
  nvmm_model *shr_given; /* NVMM_SHRINK_GIVEN: the target, user units */
  int shr_floors;        /* prior-moment floors in eta0 (src/numerics.md 12.4) */
  double pen_init;       /* the initial model's penalty */
  double *h_pen;         /* history: the penalty after each update (hist_cap) */
  /* Factor fits (o.factors > 0, src/fit_factor.c; NULL otherwise): the dispersions of model and
   * next as F F^T + diag(D), standardized coordinates. The models' own Sigma and L are not kept
   * up to date in a factor fit, only their log|Sigma| (the factor's); nvmm_fit_model forms the
   * dense Sigma once. */
  nvmm_factor *fac, *fnext;
  const nvmm_factor *efac; /* the factor of the model the current pass E-steps */
  double *fscratch;        /* the factor E-step's and M-step's scratch; the start's broadcast */
  double *fstate;          /* the checkpoint's factor record (nvmm_fit_factor_len) */
  int fbig;                /* factors > 0 and d > NVMM__FACTOR_DENSE_MAX_D: no d x d anywhere */
  size_t fk;               /* the randomized start's width k = r + oversampling (fbig) */
  double *fq;              /* fbig: status slot, then the start's basis Q (d x k column-major) */
  double *ft;              /* fbig: a chunk's products with Q (cross_rows x k) */
  double *fvar;            /* fbig: the standardized covariance's diagonal (d) */
};
enum {
  NVMM__INC_BATCH_LL = 0,
  NVMM__INC_FULL_LL,
  NVMM__INC_CHANGE,
  NVMM__INC_ELAPSED,
  NVMM__INC_COLS
};

/* The passes over the data (src/reduce.c). A block function adds the sums of rows
 * [row0, row0 + rows) (xb, unstandardized) to out (len). */
typedef nvmm_status nvmm__block_fn(nvmm_fit *f, const nvmm_model *m, int64_t row0, size_t rows,
                                   const double *xb, double *out);
/* Exact, rank-count-independent sums over this rank's blocks of a per-block vector of length
 * len computed by fn, into out on every rank; two small MPI_Allreduces (the limbs' windows with
 * the error and stop flags, then the limbs inside them). Counts a pass. */
nvmm_status nvmm__reduce_blocks(nvmm_fit *f, const nvmm_model *m, size_t len, nvmm__block_fn *fn,
                                double *out);
/* One E-step pass of model m into f->stats. */
nvmm_status nvmm__estep_all(nvmm_fit *f, const nvmm_model *m);
/* E-steps models[0..k) in shared passes, multi_cap at a time; calls use(f, ctx, j, stats, failed)
 * for each model in order. Collective. */
typedef nvmm_status nvmm__multi_use_fn(nvmm_fit *f, void *ctx, int j, const double *stats,
                                       int failed);
nvmm_status nvmm__estep_multi(nvmm_fit *f, nvmm_model *const *models, int k,
                              nvmm__multi_use_fn *use, void *ctx);

/* The start (src/fit_start.c): the moment pass and the standardization. */
nvmm_status nvmm__moments(nvmm_fit *f);

/* The data fingerprint (src/fit_state.c): a row's hash, and the reduction of the rows' hashes. */
uint64_t nvmm__row_hash(const double *row, size_t d, int64_t index);
nvmm_status nvmm__fingerprint(nvmm_fit *f);

/* The history arrays start at NVMM__HIST_START rows (or max_iter, if fewer) and grow to at least
 * cap rows (src/fit_state.c; rank-local: agree on the status): sized by max_iter up front, a fit
 * run with --max-iter 5000 would first-touch some 90 pages it never uses. */
#define NVMM__HIST_START 64
nvmm_status nvmm__grow_history(nvmm_fit *f, int cap);

/* The stopping rules (src/fit_stop.c). A change of the log-likelihood within NVMM__LL_NOISE
 * ulps of each row's log-density is rounding, not a gain. */
#define NVMM__LL_NOISE 64.0
double nvmm__param_change(const nvmm_model *new, const nvmm_model *old, int with_sub);
/* The objective after s updates: the mean LL, plus the penalty with shrinkage. */
double nvmm__ll_after(const nvmm_fit *f, int s);
int nvmm__em_step(const nvmm_fit *f, int s); /* update s was a plain EM (or MCECM) step */
int nvmm__mle_converged(const nvmm_fit *f);
/* A fit about to stop with reason r (converged, converged_params or max_iter), f->stats from the
 * pass that scored its final model: r, or NVMM_FIT_UNBOUNDED with f->unb_rows set where the
 * likelihood is unbounded (src/numerics.md 8.6). */
nvmm_fit_reason nvmm__unbounded_or(nvmm_fit *f, nvmm_fit_reason r);

/* The exact reduction of this rank's accumulators f->acc (len; st the local status) into out on
 * every rank (src/reduce.c). Does not count a pass. */
nvmm_status nvmm__reduce_acc(nvmm_fit *f, size_t len, nvmm_status st, double *out);

/* Incremental EM (src/fit_incremental.c): the workspaces (at create), the start of the phase (at
 * every start), one step. */
nvmm_status nvmm__inc_alloc(nvmm_fit *f);
nvmm_status nvmm__inc_start(nvmm_fit *f);
nvmm_status nvmm__inc_step(nvmm_fit *f);
/* The full mean log-likelihood ll of the epochs' final model, once a pass has scored it. */
void nvmm__inc_scored(nvmm_fit *f, double ll);

/* Shrinkage (src/fit_shrink.c): the workspaces (at create); the target and the initial model's
 * gauge (at every start); the penalty per row in the user's units (NAN where not finite); the
 * penalty's gauge for m; the batch M-step's sums (f->stats += tau n eta0); incremental EM's
 * M-step input (eta itself without shrinkage). */
nvmm_status nvmm__shrink_alloc(nvmm_fit *f);
nvmm_status nvmm__shrink_start(nvmm_fit *f);
double nvmm__penalty(const nvmm_fit *f, const nvmm_model *m);
nvmm_status nvmm__shrink_gauge(const nvmm_fit *f, nvmm_model *m);
void nvmm__shrink_stats(nvmm_fit *f);
const double *nvmm__shrink_eta(nvmm_fit *f, const double *eta);
/* A model in the user's units into standardized coordinates (sigma replaces m's Sigma when not
 * NULL); uses f->scratch. */
nvmm_status nvmm__from_user(nvmm_fit *f, const nvmm_model *m, const double *sigma, nvmm_model *out);

/* The iteration (src/fit.c). */
int nvmm__model_finite(const nvmm_model *m);
int nvmm__diverging(nvmm_status st); /* an M-step failure that is a divergence, not an error */
double nvmm__log_scale_sum(const nvmm_fit *f); /* 2 sum log scale_j: log|S|^2 */
double nvmm__loglik(const nvmm_fit *f);        /* mean LL in the user's units from f->stats */
/* One M-step from an eta vector (the rows' counts floor: its posterior floors), regularized and
 * broadcast into f->next with its counters in *counters (NVMM_NCOUNTERS). Collective. */
nvmm_status nvmm__mstep_eta(nvmm_fit *f, const double *eta, double floors, int *diverged,
                            double *counters);

/* Factor fits (src/fit_factor.c): the workspaces (at create) and their release; the start of
 * f->fac from a given factor model with the fit's r (user units), else by PCA of f->model's
 * Sigma (rank 0, broadcast; collective); the gauge of (m, fa) (rank 0); the broadcast's layout
 * (mu, gamma, F, D: nvmm__factor_pack_len numbers); the model in the user's units. */
/* Factor fits with d above this take the O(d) moments pass and the randomized PCA start
 * (src/numerics.md 5.13); at and below it the dense moments and eigensolver, as before. */
#define NVMM__FACTOR_DENSE_MAX_D NVMM_FACTOR_DENSE_MAX_D
/* The randomized start: oversampling p (k = r + p columns), power iterations, test-matrix seed. */
#define NVMM__SKETCH_OVERSAMPLE 10
#define NVMM__SKETCH_POWER 2
#define NVMM__SKETCH_SEED 0x6e766d6d5043412bull
size_t nvmm__factor_sketch_width(size_t d, size_t r);
nvmm_status nvmm__factor_alloc(nvmm_fit *f);
void nvmm__factor_free(nvmm_fit *f);
nvmm_status nvmm__factor_start(nvmm_fit *f, const nvmm_model *user);
nvmm_status nvmm__factor_gauge(nvmm_model *m, nvmm_factor *fa, nvmm_regularization r,
                               double target_logdet);
size_t nvmm__factor_pack_len(size_t d, size_t r);
void nvmm__factor_pack(const nvmm_model *m, const nvmm_factor *fa, double *p);
nvmm_status nvmm__factor_unpack(nvmm_model *m, nvmm_factor *fa, const double *p);
nvmm_status nvmm__factor_to_user(const nvmm_fit *f, const nvmm_model *std, const nvmm_factor *fa,
                                 nvmm_model *out);
/* The parameter change of a factor fit (src/fit_stop.c): as nvmm__param_change with F and D in
 * place of L. */
double nvmm__param_change_factor(const nvmm_model *new, const nvmm_factor *fnew,
                                 const nvmm_model *old, const nvmm_factor *fold, int with_sub);

/* SQUAREM's coordinates and step (src/accel.c). */
size_t nvmm__theta_len(const nvmm_model *m);
void nvmm__theta_get(const nvmm_model *m, double *t);
nvmm_status nvmm__theta_set(nvmm_model *m, const double *t);
/* A factor fit's (src/numerics.md 8.7): mu, gamma, F, log D, the subordinator; set validates
 * through nvmm_factor_set (scratch: d doubles) and sets m's mu, gamma, log|Sigma| and
 * subordinator. Errors: NVMM_EDOM, NVMM_EFACTOR (no valid model). */
size_t nvmm__factor_theta_len(size_t d, size_t r, nvmm_sub_kind k);
void nvmm__factor_theta_get(const nvmm_model *m, const nvmm_factor *fa, double *t);
nvmm_status nvmm__factor_theta_set(nvmm_model *m, nvmm_factor *fa, const double *t,
                                   double *scratch);
double nvmm__squarem_step(size_t p, const double *t0, const double *t1, double *t2, double step_max,
                          double *lambda);

#endif
