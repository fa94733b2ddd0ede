#!/usr/bin/env bash
# factor_resume.sh: a factor fit's checkpoints (src/numerics.md 8.7), through the program: a
# NIG fit of smi_stocks (1769 x 6) with --factors 2 runs SQUAREM (JSON accel "squarem", some
# extrapolated steps counted) and checkpoints every 5 iterations; interrupted at a random
# iteration K (the NVMM_FAULT_HOLD hook, src/cli/fit.c, as in kill_resume.sh) it resumes
# bitwise the uninterrupted 2-rank fit:
#  (a) kill -9 of the held rank (K >= 5): the checkpoint of iteration 5*floor(K/5), resumed on
#      3 ranks;
#  (b) SIGUSR1 to mpirun: exit 75, the checkpoint stopped after K, resumed on 1 rank.
# "Bitwise": the JSON summary but for ranks, elapsed_s and passes, and the model file (F and D
# included) but for /history/elapsed and the ranks attribute (lib.sh).
#
#   factor_resume.sh NVMM DATA_DIR WORK_DIR      (NVMM_TEST_SEED=N repeats a run's choices)
set -euo pipefail
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/mpi/lib.sh
. "$here/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3
no_leak_check "the jobs are killed or signalled by design"
mkdir -p "$work"
cd "$work"
rm -f ./*.h5 ./*.h5.tmp ./*.json ./*.err ./hold*
seed=${NVMM_TEST_SEED:-$(((RANDOM << 15) | RANDOM))}
RANDOM=$seed
echo "random seed $seed (NVMM_TEST_SEED=$seed repeats this run's choices); timeouts x$TMUL"
trap kill_running EXIT

"$nvmm" import "$data/smi_stocks.csv" data.h5 > /dev/null
ckfit=(fit --data data.h5 --family nig --factors 2 --json 1 --out model.h5 --checkpoint ck.h5
  --checkpoint-every 5 --verbose 1)
timeout -k 5 "$(scaled 120)" mpirun -n 2 "$nvmm" "${ckfit[@]}" > ref.json 2> ref.err ||
  { tail -n 20 ref.err; fail "the reference fit failed"; }
mv model.h5 ref_model.h5
rm -f ck.h5
iters=$(sed -n 's/.*"iterations": \([0-9]*\).*/\1/p' ref.json)
grep -q '"accel": "squarem"' ref.json || fail "a factor fit's JSON does not say accel squarem"
grep -q '"factors": 2' ref.json || fail "the reference fit is not a factor fit"
steps=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["fallbacks"]["accel_step"]))' ref.json)
[ "$steps" -gt 0 ] || fail "the factor fit took no extrapolated step"
echo "reference: $iters iterations on 2 ranks, $steps extrapolated steps"
[ "$iters" -gt 10 ] || fail "the reference fit is too short ($iters iterations) to interrupt"

# interrupt NAME HOW: the checkpointed fit on 2 ranks from scratch, a random rank held after a
# random iteration K in [5, iters) and sent HOW (kill9: SIGKILL to it; USR1: to mpirun).
interrupt() {
  k=$((5 + RANDOM % (iters - 5)))
  victim=$((RANDOM % 2))
  interrupt_held "$1" "$2" "$victim" "$k" 120
  echo "($1) $2, rank $victim held after iteration $k"
}
resume() { resume_same "$1" "$2" 120; }

interrupt a kill9
[ "$rc" -ne 0 ] || fail "(a) mpirun exited 0 after a rank was killed"
[ "$(ck_state ck.h5)" = "$((k / 5 * 5)) iterating" ] ||
  fail "(a) the checkpoint is not that of iteration $((k / 5 * 5))"
resume a 3

interrupt b USR1
[ "$rc" -eq 75 ] || { tail -n 20 b.err; fail "(b) mpirun exited $rc after SIGUSR1, not 75"; }
[ "$(ck_state ck.h5)" = "$k stopped" ] || fail "(b) the checkpoint is not stopped after $k"
resume b 1
echo "factor_resume: all checks passed"
