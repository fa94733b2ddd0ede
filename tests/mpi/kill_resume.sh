#!/usr/bin/env bash
# kill_resume.sh: checkpoints survive crashes and stop signals, on a GH fit of 30000 x 4 rows
# (~150 iterations at tol 1e-10, checkpoint every 5) against its uninterrupted 2-rank run. Each
# interruption lands at a random iteration K chosen in advance: the NVMM_FAULT_HOLD hook
# (src/cli/fit.c) holds a random rank at that boundary until the signal arrives, so what the
# checkpoint must hold is known exactly and no wall-clock window can make a case vacuous.
#  (a) kill -9 of the held rank (K >= 5): the job dies; the checkpoint is that of iteration
#      5*floor(K/5); the same command on 3 ranks resumes from it -> bitwise the reference;
#  (b) SIGTERM to mpirun: the checkpoint says "state after K iterations (stopped)"; resumed on
#      1 rank -> bitwise the same;
#  (c) SIGUSR1 to mpirun: mpirun exits 75, the checkpoint says stopped after K; resumed on 2
#      ranks -> bitwise the same;
#  (d) resuming with other data (same shape, one value changed) is refused naming the
#      fingerprint, and with --family nig on the gh checkpoint naming both families;
#  (e) without a configured checkpoint, SIGINT to the held rank: exit 75, the checkpoint goes
#      to OUT.ckpt.h5 (model.h5.ckpt.h5), and `fit --resume` of it ends bitwise the same.
# "Bitwise the same": the JSON summary but for "ranks" and "elapsed_s", and the whole model
# file, /history included, but for /history/elapsed and the ranks attribute (lib.sh).
#
#   kill_resume.sh NVMM WORK_DIR      (NVMM_TEST_SEED=N repeats a run's random choices)
set -euo pipefail
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/mpi/lib.sh
. "$here/lib.sh"
nvmm=$(realpath "$1") work=$2
no_leak_check "the jobs are killed or signalled by design"
mkdir -p "$work"
cd "$work"
rm -f ./*.h5 ./*.h5.tmp ./*.json ./*.err ./*.bin ./hold*

seed=${NVMM_TEST_SEED:-$(((RANDOM << 15) | RANDOM))}
RANDOM=$seed
echo "random seed $seed (NVMM_TEST_SEED=$seed repeats this run's choices); timeouts x$TMUL"
now() { date +%s.%N; }
since() { python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$1"; }
# The state of ck.h5, "ITERATIONS REASON", shown and returned.
ck_shown() {
  local s
  s=$(ck_state ck.h5)
  echo "checkpoint: state after ${s% *} iterations (${s#* })" >&2
  echo "$s"
}

trap kill_running EXIT

ckfit=(fit --data data.h5 --family gh --tol 1e-10 --max-iter 2000 --json 1 --out model.h5
  --checkpoint ck.h5 --checkpoint-every 5 --verbose 1)
"$nvmm" sample --family gh --d 4 --mu 0,0,0,0 --gamma 0.3,-0.2,0.1,0 \
  --sigma 1,0.2,0,0,0.2,1,0.1,0,0,0.1,1,0.3,0,0,0.3,1 --sub 1.5,2,0.5 \
  --n 30000 --seed 11 --out data.h5 > /dev/null
t=$(now)
timeout -k 5 "$(scaled 180)" mpirun -n 2 "$nvmm" "${ckfit[@]}" > ref.json 2> ref.err
mv model.h5 ref_model.h5
rm -f ck.h5
iters=$(sed -n 's/.*"iterations": \([0-9]*\).*/\1/p' ref.json)
grep -q '"converged": true' ref.json || fail "the reference fit did not converge"
echo "reference: 30000 rows, 2 ranks, $iters iterations, $(since "$t") s"
[ "$iters" -gt 30 ] || fail "the reference fit is too short ($iters iterations) to interrupt"

# interrupt NAME HOW: runs the checkpointed fit on 2 ranks from scratch (output NAME.json,
# NAME.err), holds a random rank after a random iteration K in [5, iters) and sends HOW there:
# kill9 (SIGKILL to the held rank), TERM or USR1 (to mpirun); sets k, victim, and rc to
# mpirun's exit status (tests/mpi/lib.sh interrupt_held).
interrupt() {
  k=$((5 + RANDOM % (iters - 5)))
  victim=$((RANDOM % 2))
  interrupt_held "$1" "$2" "$victim" "$k" 180
  echo "($1) $2 at rank $victim (or its mpirun), held after iteration $k"
  [ ! -s "$1.json" ] || fail "($1) an interrupted fit printed a summary"
}
# resume NAME NP: the same command on NP ranks; it must resume from the checkpoint's iteration
# and end bitwise the reference.
resume() { resume_same "$1" "$2" 180; }

# ---- (a) kill -9 of one rank; resume on 3 ranks ----------------------------------------------
t=$(now)
interrupt a kill9
echo "(a) mpirun exited $rc"
[ "$rc" -ne 0 ] || fail "(a) mpirun exited 0 after a rank was killed"
[ "$(ck_shown)" = "$((k / 5 * 5)) iterating" ] ||
  fail "(a) the checkpoint is not that of iteration $((k / 5 * 5))"
resume a 3
echo "(a) done ($(since "$t") s)"

# ---- (b) SIGTERM to mpirun; resume on 1 rank -----------------------------------------------------
t=$(now)
interrupt b TERM
echo "(b) SIGTERM to mpirun: mpirun exited $rc (Open MPI 4.1 exits 1 after forwarding TERM)"
[ "$rc" -ne 0 ] || fail "(b) mpirun exited 0 after SIGTERM"
[ "$(ck_shown)" = "$k stopped" ] || fail "(b) the checkpoint is not stopped after $k"
resume b 1
echo "(b) done ($(since "$t") s)"

# ---- (c) SIGUSR1 to mpirun: exit status 75; resume on 2 ranks --------------------------------
t=$(now)
interrupt c USR1
echo "(c) SIGUSR1 to mpirun: mpirun exited $rc"
[ "$rc" -eq 75 ] || { tail -n 20 c.err; fail "(c) mpirun exited $rc after SIGUSR1, not 75"; }
[ "$(ck_shown)" = "$k stopped" ] || fail "(c) the checkpoint is not stopped after $k"
resume c 2
echo "(c) done ($(since "$t") s)"

# (d) needs a stopped checkpoint to refuse to resume: (c)'s again.
interrupt d0 USR1
[ "$rc" -eq 75 ] || fail "(d) mpirun exited $rc after SIGUSR1, not 75"

# ---- (d) resuming on other data or another family is refused --------------------------------
# other.h5: data.h5 with the one value X[row,2] changed, patched in place (the dataset is
# stored unfiltered, so the 8 bytes of the value occur in the file as they are). The data
# fingerprint hashes every value with its position, so any one changed value is caught; the row
# is deliberately not a multiple of anything.
row=$((30000 / 3 + 17))
cp data.h5 other.h5
cp ck.h5 ck_before.h5
h5dump -d /X -s "$row,2" -c 1,1 -b LE -o x17.bin data.h5 > /dev/null
python3 - other.h5 x17.bin <<'PY'
import struct, sys
path, vpath = sys.argv[1], sys.argv[2]
old = open(vpath, "rb").read()
assert len(old) == 8, len(old)
buf = bytearray(open(path, "rb").read())
assert buf.count(old) == 1, "the value's bytes are not unique in the file"
new = struct.pack("<d", struct.unpack("<d", old)[0] + 1e-3)
i = buf.find(old)
buf[i:i + 8] = new
open(path, "wb").write(bytes(buf))
PY
h5diff -r data.h5 other.h5 > d.diff || true
grep -Eq "^1 differences? found" d.diff || { cat d.diff; fail "(d) other.h5 should differ in exactly one value"; }

rc=0
mpirun -n 2 "$nvmm" "${ckfit[@]/data.h5/other.h5}" > d1.json 2> d1.err || rc=$?
[ "$rc" -ne 0 ] || fail "(d) resuming on changed data was not refused"
grep "nvmm: error" d1.err | head -n 1
grep "nvmm: error" d1.err | grep -qi fingerprint || { cat d1.err; fail "(d) no fingerprint in the message"; }

rc=0
nigfit=()
for a in "${ckfit[@]}"; do [ "$a" = gh ] && a=nig; nigfit+=("$a"); done
mpirun -n 2 "$nvmm" "${nigfit[@]}" > d2.json 2> d2.err || rc=$?
[ "$rc" -ne 0 ] || fail "(d) resuming a gh checkpoint as nig was not refused"
grep "nvmm: error" d2.err | head -n 1
grep "nvmm: error" d2.err | grep -w gh | grep -qw nig || { cat d2.err; fail "(d) the message does not name gh and nig"; }
if [ -s d1.json ] || [ -s d2.json ]; then fail "(d) a refused resume printed a summary"; fi
cmp -s ck.h5 ck_before.h5 || fail "(d) a refused resume changed the checkpoint"
echo "(d) other data and another family refused; the checkpoint is untouched"
echo "all kill/resume checks passed"

# ---- (e) no checkpoint configured: SIGINT to a rank writes OUT.ckpt.h5; --resume continues ----
# The signal goes to the held rank itself, not to mpirun: the stop request rides in the next
# reduction to every rank, all write nothing but rank 0's checkpoint and exit 75.
t=$(now)
plainfit=(fit --data data.h5 --family gh --tol 1e-10 --max-iter 2000 --json 1 --out model.h5
  --verbose 1)
rm -f model.h5 model.h5.ckpt.h5 hold
k=$((5 + RANDOM % (iters - 5)))
victim=$((RANDOM % 2))
timeout -k 5 "$(scaled 180)" mpirun -n 2 -x NVMM_FAULT_HOLD="$victim:$k:hold" "$nvmm" \
  "${plainfit[@]}" > e.json 2> e.err &
pid=$!
running=$pid
hp=$(wait_hold hold "$pid" 60)
kill -s INT "$hp"
rc=0
wait "$pid" || rc=$?
running=""
echo "(e) SIGINT to rank $victim (PID $hp), held after iteration $k: mpirun exited $rc"
[ "$rc" -eq 75 ] || { tail -n 20 e.err; fail "(e) mpirun exited $rc after SIGINT to a rank, not 75"; }
[ ! -s e.json ] || fail "(e) the stopped fit printed a summary"
[ ! -e model.h5 ] || fail "(e) the stopped fit wrote its model file"
[ "$(ck_state model.h5.ckpt.h5)" = "$k stopped" ] ||
  fail "(e) model.h5.ckpt.h5 is not the stopped state after $k iterations"
timeout -k 5 "$(scaled 180)" mpirun -n 2 "$nvmm" fit --resume model.h5.ckpt.h5 > e2.json 2> e2.err ||
  { tail -n 20 e2.err; fail "(e) --resume model.h5.ckpt.h5 failed"; }
grep -q "Resumed from model.h5.ckpt.h5 after $k iterations" e2.err || { cat e2.err; fail "(e) did not resume"; }
# The fit without a checkpoint key stores another configuration (/meta), nothing else differs.
diff <(strip_json ref.json) <(strip_json e2.json) || fail "(e) the resumed summary differs"
same_h5 ref_model.h5 model.h5 --exclude-path /history/elapsed --exclude-attribute /meta
echo "(e) resumed from model.h5.ckpt.h5: summary and model identical to the reference ($(since "$t") s)"
