/* test_pchol.c: the ScaLAPACK Cholesky (nvmm_pchol) under mpirun against LAPACK dpotrf on one
 * rank, with block sizes small enough to spread the matrix over 2 and 4 ranks, failures that
 * every rank agrees on, sub-communicators and create/destroy cycles that leak no contexts. */
#include <check.h>
#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_rng.h>

#include "../nvmm_test.h"
#include "../nvmm_test_mpi.h"
#include "nvmm.h"
#include "src/lapack.h"

/* pdpotrf and dpotrf are both backward stable and do the same operations on each entry: L_ij
 * is a_ij minus a sum of j products, divided by L_jj. They differ only in the order in which
 * those ~d products are summed (block size, process grid, BLAS kernel), so the entries differ
 * by rounding of order d * eps * |L_i,:| |L_j,:| / L_jj; for the well conditioned
 * A = B B^T + d I below (cond about 9) and d <= 130 that is below 130 * 2.2e-16 * 10 = 3e-13, so
 * 1e-12 relative to the row scale |L_i,:| = sqrt(a_ii) holds with margin, as does 1e-12
 * relative on log|A|. Looser than the ladder's second rung for that reason (the errors seen
 * on 1, 2 and 4 ranks stay below 16 eps). */
#define PCHOL_TOL 1e-12

static const size_t DIMS[] = {1, 2, 7, 33, 130};
enum { NDIMS = sizeof DIMS / sizeof DIMS[0] };
/* Small blocks spread even d = 7 over a 2 x 2 grid; 0 is the library default. */
static const int NBS[] = {2, 4, 16, 0};
enum { NNBS = sizeof NBS / sizeof NBS[0] };

static int errors_raised; /* errors seen by the counting handler on this rank */

static void count_errors(const char *file, int line, const char *func, nvmm_status code,
                         const char *msg) {
  errors_raised++;
}

static int world_rank(void) {
  int r;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

/* The largest v over the ranks of comm: assertions on it fail on every rank alike, so a failed
 * check never leaves some ranks behind in a collective. */
static double max_over(MPI_Comm comm, double v) {
  double m;
  MPI_Allreduce(&v, &m, 1, MPI_DOUBLE, MPI_MAX, comm);
  return m;
}

/* Asserts that every rank of comm holds the same status st and that it equals want. */
static void assert_same_status(MPI_Comm comm, nvmm_status st, nvmm_status want) {
  int v[2] = {(int)st, -(int)st}, m[2];
  MPI_Allreduce(v, m, 2, MPI_INT, MPI_MAX, comm);
  ck_assert_msg(m[0] == -m[1], "ranks disagree: statuses from %d to %d", -m[1], m[0]);
  ck_assert_msg(m[0] == (int)want, "status %s, expected %s", nvmm_strerror((nvmm_status)m[0]),
                nvmm_strerror(want));
}

/* A = B B^T + d I, row-major, from a fixed-seed B with entries uniform in (-2.385, 2.385)
 * (variance 1.9): symmetric positive definite with eigenvalues from d up to about
 * d + 4 * 1.9 d (the Marchenko-Pastur edge of a square B), so cond(A) is about 8.6. */
static double *spd(size_t d, unsigned long seed) {
  gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
  gsl_rng_set(rng, seed);
  double *b = malloc(d * d * sizeof *b), *a = malloc(d * d * sizeof *a);
  ck_assert(rng && b && a);
  for (size_t i = 0; i < d * d; i++)
    b[i] = 2.385 * (2.0 * gsl_rng_uniform(rng) - 1.0);
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j <= i; j++) {
      double s = i == j ? (double)d : 0.0;
      for (size_t k = 0; k < d; k++)
        s += b[i * d + k] * b[j * d + k];
      a[i * d + j] = a[j * d + i] = s;
    }
  free(b);
  gsl_rng_free(rng);
  return a;
}

/* LAPACK's factor of a (row-major lower, upper zero) and log|a|. */
static void reference(size_t d, const double *a, double *r, double *logdet) {
  int n = (int)d, info;
  memcpy(r, a, d * d * sizeof *r);
  dpotrf_("U", &n, r, &n, &info, 1); /* column-major upper = row-major lower */
  ck_assert_int_eq(info, 0);
  double s = 0.0;
  for (size_t i = 0; i < d; i++) {
    for (size_t j = i + 1; j < d; j++)
      r[i * d + j] = 0.0;
    s += log(r[i * d + i]);
  }
  *logdet = 2.0 * s;
}

/* max_ij |l_ij - r_ij| / sqrt(a_ii) over the lower triangle; +inf if an upper entry of l is not
 * exactly zero or an entry is not finite. */
static double factor_error(size_t d, const double *a, const double *l, const double *r) {
  double e = 0.0;
  for (size_t i = 0; i < d; i++)
    for (size_t j = 0; j < d; j++) {
      double lij = l[i * d + j];
      if (j > i ? lij != 0.0 : !isfinite(lij))
        return INFINITY;
      double eij = fabs(lij - r[i * d + j]) / sqrt(a[i * d + i]);
      e = eij > e ? eij : e;
    }
  return e;
}

/* Factors an SPD matrix of dimension d through p on comm (whose rank 0 holds it) and checks L
 * and log|A| against LAPACK on that rank, and that every rank got the same logdet bits. The
 * upper triangle handed to nvmm_pchol_factor is NaN: only the lower one may be read. */
static void check_factor(MPI_Comm comm, nvmm_pchol *p, size_t d, unsigned long seed) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  double err = 0.0, lerr = 0.0, logdet = NAN, ref_logdet = NAN;
  double *a = NULL, *in = NULL, *l = NULL, *r = NULL;
  if (rank == 0) {
    a = spd(d, seed);
    in = malloc(d * d * sizeof *in);
    l = malloc(d * d * sizeof *l);
    r = malloc(d * d * sizeof *r);
    ck_assert(in && l && r);
    for (size_t i = 0; i < d; i++)
      for (size_t j = 0; j < d; j++)
        in[i * d + j] = j > i ? NAN : a[i * d + j];
    reference(d, a, r, &ref_logdet);
  }
  nvmm_status st = nvmm_pchol_factor(p, in, l, &logdet);
  assert_same_status(comm, st, NVMM_OK);
  if (rank == 0) {
    err = factor_error(d, a, l, r);
    lerr = fabs(logdet - ref_logdet) / fabs(ref_logdet);
  }
  err = max_over(comm, err);
  lerr = max_over(comm, lerr);
  ck_assert_msg(err <= PCHOL_TOL, "d = %zu: L differs from dpotrf's by %.3g (row-scaled)", d, err);
  ck_assert_msg(lerr <= PCHOL_TOL, "d = %zu: log|A| differs from dpotrf's by %.3g relative", d,
                lerr);
  ck_assert_msg(max_over(comm, logdet) == -max_over(comm, -logdet),
                "d = %zu: ranks got different logdet bits", d);
  free(a);
  free(in);
  free(l);
  free(r);
}

START_TEST(test_matches_lapack) {
  for (int k = 0; k < NNBS; k++)
    for (int i = 0; i < NDIMS; i++) {
      nvmm_pchol *p;
      ck_assert_ok(nvmm_pchol_create(MPI_COMM_WORLD, DIMS[i], NBS[k], &p));
      /* Two different matrices through the same object: nothing is left over from the first. */
      check_factor(MPI_COMM_WORLD, p, DIMS[i], 1000u + (unsigned long)i);
      check_factor(MPI_COMM_WORLD, p, DIMS[i], 2000u + (unsigned long)i);
      nvmm_pchol_destroy(&p);
      ck_assert_ptr_null(p);
    }
}
END_TEST

/* l may be a itself on rank 0. */
START_TEST(test_in_place) {
  const size_t d = 33;
  nvmm_pchol *p;
  ck_assert_ok(nvmm_pchol_create(MPI_COMM_WORLD, d, 4, &p));
  double err = 0.0, logdet, ref_logdet;
  double *a = NULL, *l = NULL, *r = NULL;
  if (world_rank() == 0) {
    a = spd(d, 7);
    l = malloc(d * d * sizeof *l);
    r = malloc(d * d * sizeof *r);
    ck_assert(l && r);
    memcpy(l, a, d * d * sizeof *l);
    reference(d, a, r, &ref_logdet);
  }
  assert_same_status(MPI_COMM_WORLD, nvmm_pchol_factor(p, l, l, &logdet), NVMM_OK);
  if (world_rank() == 0) {
    err = factor_error(d, a, l, r);
    ck_assert_msg(fabs(logdet - ref_logdet) <= PCHOL_TOL * fabs(ref_logdet), "logdet");
  }
  ck_assert_msg(max_over(MPI_COMM_WORLD, err) <= PCHOL_TOL, "in-place L off by %.3g", err);
  nvmm_pchol_destroy(&p);
  free(a);
  free(l);
  free(r);
}
END_TEST

/* Factors a non-positive-definite variant of the d x d SPD matrix (bad = 0: a_kk negated, so
 * the leading minor of order k + 1 is negative; bad = 1: a NaN at (k, 0)) and expects
 * NVMM_EFACTOR on every rank without a raised error; the same object then factors a good
 * matrix. */
static void check_not_spd(size_t d, int nb, size_t k, int bad) {
  nvmm_pchol *p;
  ck_assert_ok(nvmm_pchol_create(MPI_COMM_WORLD, d, nb, &p));
  double *a = NULL, *l = NULL, logdet = 1.25;
  if (world_rank() == 0) {
    a = spd(d, 11);
    l = malloc(d * d * sizeof *l);
    ck_assert(l != NULL);
    if (bad == 0)
      a[k * d + k] = -a[k * d + k];
    else
      a[k * d] = NAN;
  }
  nvmm_error_handler *old = nvmm_set_error_handler(count_errors);
  errors_raised = 0;
  nvmm_status st = nvmm_pchol_factor(p, a, l, &logdet);
  nvmm_set_error_handler(old);
  assert_same_status(MPI_COMM_WORLD, st, NVMM_EFACTOR);
  ck_assert_msg(max_over(MPI_COMM_WORLD, errors_raised) == 0, "EFACTOR raised an error");
  ck_assert_double_eq(logdet, 1.25); /* untouched on failure */
  check_factor(MPI_COMM_WORLD, p, d, 12);
  nvmm_pchol_destroy(&p);
  free(a);
  free(l);
}

START_TEST(test_not_spd) {
  check_not_spd(33, 4, 20, 0);   /* fails inside the block row owned by grid row 1 (2 x 2) */
  check_not_spd(33, 4, 0, 0);    /* fails on the first pivot */
  check_not_spd(130, 0, 129, 0); /* fails on the last pivot, default nb */
  check_not_spd(7, 2, 5, 1);     /* a NaN in the lower triangle */
  check_not_spd(1, 0, 0, 0);
}
END_TEST

/* Invalid arguments: the same raised NVMM_EINVAL on every rank, and nothing is left allocated
 * (the leak test below runs after this one). */
START_TEST(test_bad_args) {
  nvmm_pchol *p = (nvmm_pchol *)&p;
  nvmm_error_handler *old = nvmm_set_error_handler(count_errors);
  errors_raised = 0;
  assert_same_status(MPI_COMM_WORLD, nvmm_pchol_create(MPI_COMM_WORLD, 10, -1, &p), NVMM_EINVAL);
  ck_assert_ptr_null(p);
  assert_same_status(MPI_COMM_WORLD, nvmm_pchol_create(MPI_COMM_WORLD, 0, 0, &p), NVMM_EINVAL);
  /* 46341^2 > INT_MAX: rejected before anything is allocated. */
  assert_same_status(MPI_COMM_WORLD, nvmm_pchol_create(MPI_COMM_WORLD, 46341, 0, &p), NVMM_EINVAL);
  ck_assert_int_eq(errors_raised, 3);
  ck_assert_ok(nvmm_pchol_create(MPI_COMM_WORLD, 3, 0, &p));
  double logdet, l[9];
  /* a missing on rank 0 only: every rank fails, the others with "another rank failed". */
  assert_same_status(MPI_COMM_WORLD, nvmm_pchol_factor(p, NULL, l, &logdet), NVMM_EINVAL);
  ck_assert_int_eq(errors_raised, 4);
  nvmm_set_error_handler(old);
  nvmm_pchol_destroy(&p);
  nvmm_pchol_destroy(&p); /* no-op on NULL */
  nvmm_pchol_destroy(NULL);
}
END_TEST

/* Handles that a fresh BLACS grid and communicator get: BLACS and Open MPI reuse the lowest
 * free slot, so the same numbers before and after many create/destroy cycles mean that no
 * context or communicator was leaked. (Open MPI numbers datatypes only when MPI_Type_c2f asks,
 * so leaked datatypes are left to the sanitizer build.) */
static void probe(int out[3]) {
  int size;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm c;
  MPI_Comm_dup(MPI_COMM_WORLD, &c);
  int sys = Csys2blacs_handle(c), ctxt = sys;
  Cblacs_gridinit(&ctxt, "Row", 1, size);
  out[0] = sys;
  out[1] = ctxt;
  out[2] = (int)MPI_Comm_c2f(c);
  Cblacs_gridexit(ctxt);
  Cfree_blacs_system_handle(sys);
  MPI_Comm_free(&c);
}

START_TEST(test_cycles) {
  int before[3], after[3];
  nvmm_pchol *warm;
  /* One cycle first, so that BLACS's one-time tables exist before the baseline is taken. */
  ck_assert_ok(nvmm_pchol_create(MPI_COMM_WORLD, 5, 2, &warm));
  nvmm_pchol_destroy(&warm);
  probe(before);
  for (int c = 0; c < 50; c++) {
    nvmm_pchol *p;
    size_t d = 3 + (size_t)c % 11;
    ck_assert_ok(nvmm_pchol_create(MPI_COMM_WORLD, d, 1 + c % 3, &p));
    if (c % 10 == 0)
      check_factor(MPI_COMM_WORLD, p, d, 3000u + (unsigned long)c);
    nvmm_pchol_destroy(&p);
  }
  probe(after);
  for (int i = 0; i < 3; i++)
    ck_assert_msg(before[i] == after[i], "%s handle %d before the cycles, %d after",
                  i == 0   ? "BLACS system"
                  : i == 1 ? "BLACS context"
                           : "MPI communicator",
                  before[i], after[i]);
}
END_TEST

/* Sub-communicators whose rank 0 is not world rank 0, two of them factoring at once beside an
 * object on the world communicator: each object keeps to its own BLACS grid. */
START_TEST(test_subcomm) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm sub;
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, size - rank, &sub);
  nvmm_pchol *world, *p;
  ck_assert_ok(nvmm_pchol_create(MPI_COMM_WORLD, 33, 4, &world));
  ck_assert_ok(nvmm_pchol_create(sub, 33, 2, &p));
  check_factor(sub, p, 33, 4000u + (unsigned long)(rank % 2));
  check_factor(MPI_COMM_WORLD, world, 33, 5000u);
  check_factor(sub, p, 33, 6000u);
  nvmm_pchol_destroy(&p);
  nvmm_pchol_destroy(&world);
  MPI_Comm_free(&sub);
}
END_TEST

static Suite *pchol_suite(void) {
  Suite *s = suite_create("pchol");
  TCase *tc = tcase_create("factor");
  tcase_add_test(tc, test_matches_lapack);
  tcase_add_test(tc, test_in_place);
  tcase_add_test(tc, test_subcomm);
  suite_add_tcase(s, tc);
  tc = tcase_create("errors");
  tcase_add_test(tc, test_not_spd);
  tcase_add_test(tc, test_bad_args);
  suite_add_tcase(s, tc);
  tc = tcase_create("lifecycle");
  tcase_add_test(tc, test_cycles);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  gsl_set_error_handler_off();
  int all = nvmm_test_run_mpi(pchol_suite());
  MPI_Finalize();
  return all == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
