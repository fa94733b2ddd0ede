#!/usr/bin/env bash
# incremental_resume.sh: incremental EM's checkpoints (src/numerics.md 13.6). A GH fit of 30000 x 3
# rows in 300 steps of 100 rows, then the batch finish, checkpointing every 50 steps and every 5
# iterations, against its uninterrupted 2-rank run. The NVMM_FAULT_HOLD hook holds a rank at a
# chosen update (mini-batch steps first, then iterations) until the signal arrives:
#  (a) SIGUSR1 to mpirun after step 137: exit 75, the checkpoint says "137 of 300 steps,
#      stopped"; the same command on 3 ranks resumes mid-epoch and ends bitwise the reference;
#  (b) kill -9 of a rank after step 260: the checkpoint is that of step 250; resumed on 1 rank,
#      bitwise the reference;
#  (c) SIGUSR1 after the epoch and 7 iterations of the finish: resumed on 2 ranks, bitwise;
#  (d) resuming with another batch size is refused, naming the steps.
# "Bitwise": the JSON summary but for ranks, elapsed_s and passes (a resumed run repeats the
# interrupted step's pass), and the model file but for the elapsed times (lib.sh).
set -euo pipefail
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/mpi/lib.sh
. "$here/lib.sh"
nvmm=$(realpath "$1") work=$2
no_leak_check "the jobs are killed or signalled by design"
mkdir -p "$work"
cd "$work"
rm -f ./*.h5 ./*.h5.tmp ./*.json ./*.err ./hold*

trap kill_running EXIT

mpirun -n 2 "$nvmm" sample --family gh --d 3 --mu 0.1,-0.2,0 --gamma 0.3,-0.1,0.2 \
  --sigma 1,0.3,0.1,0.3,1,0.2,0.1,0.2,1 --sub -0.8,1.2,0.9 --n 30000 --seed 3 --out d.h5 \
  > /dev/null || fail "nvmm sample failed"
ckfit=(fit --data d.h5 --family gh --algorithm incremental --batch-rows 100 --block-rows 1000
  --seed 5 --json 1 --verbose 1 --out model.h5 --checkpoint ck.h5 --checkpoint-every 5
  --checkpoint-every-steps 50)
timeout -k 5 "$(scaled 120)" mpirun -n 2 "$nvmm" "${ckfit[@]}" > ref.json 2> ref.err ||
  { cat ref.err; fail "the reference fit failed"; }
mv model.h5 ref_model.h5
grep -q '"converged": true' ref.json || fail "the reference fit did not converge"
iters=$(jq -r .iterations ref.json)
[ "$iters" -gt 8 ] || fail "the reference finish is too short ($iters iterations)"
echo "reference: 300 steps and $iters iterations on 2 ranks"

# interrupt NAME HOW RANK UPDATE: the checkpointed fit from scratch on 2 ranks, rank RANK held
# after UPDATE updates, then HOW: kill9 (that rank) or USR1 (to mpirun); sets rc
# (tests/mpi/lib.sh interrupt_held).
interrupt() {
  rm -f model.h5
  interrupt_held "$1" "$2" "$3" "$4" 120
  [ ! -s "$1.json" ] || fail "($1) an interrupted fit printed a summary"
}
# resume NAME NP WHAT: the same command on NP ranks resumes from the checkpoint, whose state is
# WHAT ("STEPS ITERATIONS REASON"), and ends bitwise the reference.
resume() {
  local s
  s=$(info_json ck.h5 '"\(.state.steps) \(.state.iterations) \(.state.reason)"')
  [ "$s" = "$3" ] || fail "($1) the checkpoint holds '$s', not '$3'"
  resume_same "$1" "$2" 120 "Resumed from ck.h5 after ${3%% *} mini-batch steps"
}

interrupt a USR1 1 137
[ "$rc" -eq 75 ] || { tail -n 20 a.err; fail "(a) mpirun exited $rc after SIGUSR1, not 75"; }
resume a 3 "137 0 stopped"

interrupt b kill9 0 260
[ "$rc" -ne 0 ] || fail "(b) mpirun exited 0 after a rank was killed"
resume b 1 "250 0 iterating"

interrupt c USR1 0 307
[ "$rc" -eq 75 ] || { tail -n 20 c.err; fail "(c) mpirun exited $rc after SIGUSR1, not 75"; }
resume c 2 "300 7 stopped"

interrupt d USR1 1 120
rc=0
mpirun -n 2 "$nvmm" "${ckfit[@]}" --batch-rows 200 > d.json 2> d.err || rc=$?
[ "$rc" -eq 1 ] || { cat d.err; fail "(d) resuming with another batch size exited $rc, not 1"; }
grep -q "takes 300 mini-batch steps, this fit 150" d.err || { cat d.err; fail "(d) no reason given"; }
echo "(d) resuming with another batch size refused: $(grep -o 'the checkpoint.s fit takes.*steps' d.err | head -1)"
echo "incremental-resume: all checks passed"
