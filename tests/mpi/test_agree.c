/* test_agree.c: nvmm_agree (nvmm/agree.h), the one way a rank-local failure becomes every
 * rank's, under mpirun at 1, 2 and 4 ranks: no failure leaves every rank OK and untouched; a
 * failure on any one rank (each in turn, the last included) reaches every rank; several ranks
 * failing with different statuses all return the worst (the most negative code, as agree.h
 * documents); ranks that failed with it keep their own message and raise nothing more, the
 * others get "another rank (rank R) failed: MESSAGE" with the message of the lowest such rank R,
 * raised once; sub-communicators agree only among their members.
 * The test finishing is the proof that no pattern hangs (meson's timeout catches a hang). */
#include <check.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "../nvmm_test.h"
#include "../nvmm_test_mpi.h"
#include "nvmm/agree.h"

/* Statuses a rank may fail with, in no particular order of badness. */
static const nvmm_status FAILURES[] = {NVMM_EINVAL, NVMM_EIO, NVMM_EFACTOR, NVMM_EBADTOL,
                                       NVMM_EDOM};
enum { NFAILURES = sizeof FAILURES / sizeof FAILURES[0] };

static int errors_raised; /* errors seen by the counting handler on this rank */

static void count_errors(const char *file, int line, const char *func, nvmm_status code,
                         const char *msg) {
  errors_raised++;
}

/* The failure message a failing rank raised itself before agreeing. */
static void own_message(char *buf, size_t size, int rank, nvmm_status st) {
  snprintf(buf, size, "rank %d failed on purpose with %s", rank, nvmm_strerror(st));
}

/* Every rank of comm passes st_of[its rank in comm] to nvmm_agree and checks what agree.h
 * promises: the status returned is the worst of all (the lowest code; OK is 0, errors are
 * negative), the same on every rank; a rank that failed with it keeps its own message and
 * raises no further error; every other rank, when one failed, has the message "another rank
 * (rank R) failed: TEXT" with R the lowest rank that failed with the worst status and TEXT its
 * message, raised once through the handler; with no failure nothing is raised. Every rank of the
 * world calls this at once (with comm its own part of the world), and the verdicts are combined
 * over the world before asserting, so a failed check ends the test on every rank alike and none
 * waits in a collective. */
static void check_agree(MPI_Comm comm, const nvmm_status *st_of, const char *label) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  nvmm_status mine = st_of[rank], worst = NVMM_OK;
  int owner = 0;
  for (int r = 0; r < size; r++)
    if (st_of[r] < worst) {
      worst = st_of[r];
      owner = r;
    }
  char own[256], want[320];
  own_message(own, sizeof own, rank, mine);
  nvmm_clear_error();
  if (mine != NVMM_OK)
    (void)NVMM_RAISE(mine, "%s", own);
  errors_raised = 0;
  nvmm_status got = nvmm_agree(comm, mine);

  int v[2] = {(int)got, -(int)got}, m[2];
  MPI_Allreduce(v, m, 2, MPI_INT, MPI_MAX, comm);
  char why[512] = "";
  if (m[0] != -m[1])
    snprintf(why, sizeof why, "%s: ranks disagree: statuses from %d to %d", label, -m[1], m[0]);
  else if (got != worst)
    snprintf(why, sizeof why, "%s: rank %d got %s, expected the worst, %s", label, rank,
             nvmm_strerror(got), nvmm_strerror(worst));
  else if (mine != NVMM_OK && mine == worst &&
           (strcmp(nvmm_last_error(), own) != 0 || errors_raised != 0))
    snprintf(why, sizeof why, "%s: failed rank %d: message '%s' (want its own '%s'), %d raised",
             label, rank, nvmm_last_error(), own, errors_raised);
  else if (mine != worst) {
    char theirs[256];
    own_message(theirs, sizeof theirs, owner, worst);
    snprintf(want, sizeof want, "another rank (rank %d) failed: %s", owner, theirs);
    if (strcmp(nvmm_last_error(), want) != 0 || errors_raised != 1)
      snprintf(why, sizeof why, "%s: fine rank %d: message '%s' (want '%s'), %d raised (want 1)",
               label, rank, nvmm_last_error(), want, errors_raised);
  } else if (worst == NVMM_OK && (nvmm_last_error()[0] || errors_raised != 0))
    snprintf(why, sizeof why, "%s: rank %d: message '%s' and %d raised with no failure", label,
             rank, nvmm_last_error(), errors_raised);
  int ok = why[0] == '\0', all_ok;
  MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  ck_assert_msg(ok, "%s", why);
  ck_assert_msg(all_ok, "%s: another rank's check failed", label);
  nvmm_clear_error();
}

static int comm_size(MPI_Comm comm) {
  int s;
  MPI_Comm_size(comm, &s);
  return s;
}

/* The statuses of a pattern are indexed by rank; the runs use at most 4 ranks. */
enum { MAX_RANKS = 64 };

START_TEST(no_failure) {
  nvmm_status st[MAX_RANKS] = {NVMM_OK};
  for (int round = 0; round < 3; round++)
    check_agree(MPI_COMM_WORLD, st, "no failure");
}
END_TEST

/* One rank fails, each in turn (the first, the middle ones and the last), with each status. */
START_TEST(one_rank_fails) {
  int size = comm_size(MPI_COMM_WORLD);
  for (int f = 0; f < size; f++)
    for (int k = 0; k < NFAILURES; k++) {
      nvmm_status st[MAX_RANKS] = {NVMM_OK};
      st[f] = FAILURES[k];
      char label[64];
      snprintf(label, sizeof label, "rank %d fails with %s", f, nvmm_strerror(FAILURES[k]));
      check_agree(MPI_COMM_WORLD, st, label);
    }
}
END_TEST

/* Several ranks fail with different statuses, the worst on each rank in turn, some ranks fine:
 * every rank gets the worst; then every rank fails, with one status and with different ones. */
START_TEST(several_fail_worst_wins) {
  int size = comm_size(MPI_COMM_WORLD);
  const nvmm_status mix[] = {NVMM_EINVAL, NVMM_OK, NVMM_EIO, NVMM_EBADTOL, NVMM_OK, NVMM_EDOM};
  const int nmix = sizeof mix / sizeof mix[0];
  for (int shift = 0; shift < nmix; shift++) {
    nvmm_status st[MAX_RANKS];
    for (int r = 0; r < size; r++)
      st[r] = mix[(r + shift) % nmix];
    char label[64];
    snprintf(label, sizeof label, "mixed failures, shift %d", shift);
    check_agree(MPI_COMM_WORLD, st, label);
  }
  nvmm_status same[MAX_RANKS], all[MAX_RANKS];
  for (int r = 0; r < size; r++) {
    same[r] = NVMM_EFACTOR;
    all[r] = FAILURES[r % NFAILURES];
  }
  check_agree(MPI_COMM_WORLD, same, "every rank fails alike");
  check_agree(MPI_COMM_WORLD, all, "every rank fails differently");
}
END_TEST

/* Agreement is among the ranks of the communicator given: MPI_COMM_SELF returns each rank's
 * own status untouched, and of the even and odd halves of the world only the half holding the
 * failing rank fails. */
START_TEST(sub_communicators) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  nvmm_status self[1] = {rank == size - 1 ? NVMM_EIO : NVMM_OK};
  check_agree(MPI_COMM_SELF, self, "MPI_COMM_SELF");

  MPI_Comm half;
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
  /* The last world rank fails; in its half it is the last rank too. */
  int hsize = comm_size(half);
  nvmm_status st[MAX_RANKS] = {NVMM_OK};
  if (rank % 2 == (size - 1) % 2)
    st[hsize - 1] = NVMM_EBADTOL;
  check_agree(half, st, "half of the world");
  MPI_Comm_free(&half);
}
END_TEST

/* Many rounds of patterns from a fixed-seed generator every rank runs alike: no round may hang
 * or disagree, whatever went before. */
START_TEST(many_rounds) {
  int size = comm_size(MPI_COMM_WORLD);
  unsigned long x = 2385;
  for (int round = 0; round < 300; round++) {
    nvmm_status st[MAX_RANKS];
    for (int r = 0; r < size; r++) {
      x = x * 6364136223846793005UL + 1442695040888963407UL;
      unsigned pick = (unsigned)(x >> 33) % (2 * NFAILURES); /* fine half of the time */
      st[r] = pick < NFAILURES ? FAILURES[pick] : NVMM_OK;
    }
    char label[64];
    snprintf(label, sizeof label, "round %d", round);
    check_agree(MPI_COMM_WORLD, st, label);
  }
}
END_TEST

static Suite *agree_suite(void) {
  Suite *s = suite_create("agree");
  TCase *tc = tcase_create("agree");
  tcase_add_test(tc, no_failure);
  tcase_add_test(tc, one_rank_fails);
  tcase_add_test(tc, several_fail_worst_wins);
  tcase_add_test(tc, sub_communicators);
  tcase_add_test(tc, many_rounds);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  gsl_set_error_handler_off();
  nvmm_set_error_handler(count_errors);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > MAX_RANKS) {
    if (rank == 0)
      fprintf(stderr, "test_agree: at most %d ranks\n", MAX_RANKS);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  int all = nvmm_test_run_mpi(agree_suite());
  MPI_Finalize();
  return all == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
