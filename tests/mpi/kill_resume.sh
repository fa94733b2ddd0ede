#!/usr/bin/env bash
# kill_resume.sh: checkpoints survive crashes and stop signals, on a GH fit of 60000 x 4 rows (or
# more on a fast machine; ~150 iterations, checkpoint every 5) against its uninterrupted 2-rank
#  (a) kill -9 of one rank at a random iteration after the first checkpoint: the job dies;
#      the same command on 3 ranks resumes from the last checkpoint -> bitwise the reference;
#  (b) SIGTERM to mpirun: the checkpoint says "stopped"; resumed on 1 rank -> bitwise the same;
#  (c) SIGUSR1 to mpirun: mpirun exits 75;
#  (d) resuming with other data (same shape, one value changed) is refused naming the
#      fingerprint, and with --family nig on the gh checkpoint naming both families.
#
#   kill_resume.sh NVMM WORK_DIR      (NVMM_TEST_SEED=N repeats a run's random choices)
set -euo pipefail
nvmm=$(realpath "$1") work=$2
mkdir -p "$work"
cd "$work"
rm -f ./*.h5 ./*.h5.tmp ./*.json ./*.err ./*.bin

seed=${NVMM_TEST_SEED:-$$}
RANDOM=$seed
echo "random seed $seed (NVMM_TEST_SEED=$seed repeats this run's choices)"
fail() { echo "FAIL: $*" >&2; exit 1; }
now() { date +%s.%N; }
since() { python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$1"; }
strip() { grep -v -E '"(ranks|elapsed_s)"' "$1"; }
ck_line() { "$nvmm" info ck.h5 | grep 'checkpoint:'; }

# A failed test must not leave a background fit running (running: its mpirun, while it runs;
# its ranks go down with it).
running=""
cleanup() {
  local p
  if [ -n "$running" ] && [ "$(cat "/proc/$running/comm" 2>/dev/null)" = mpirun ]; then
    for p in $(ranks_of "$running"); do kill -9 "$p" 2>/dev/null || true; done
    kill -9 "$running" 2>/dev/null || true
  fi
  return 0
}
trap cleanup EXIT

fit=(fit --data data.h5 --family gh --tol 1e-10 --max-iter 2000 --json 1 --out model.h5)
ckfit=("${fit[@]}" --checkpoint ck.h5 --checkpoint-every 5)
# The data and the uninterrupted 2-rank reference. 60000 rows took 5 s on 2 cores (3.4 s of EM
# iterations); where the iterations take under 2.5 s, more rows (at most 4 times as many per
# try, 600000 in all) give the signals time to land: SIGTERM reaches the ranks through mpirun
# up to ~1 s late.
reference() {
  n=$1
  "$nvmm" sample --family gh --d 4 --mu 0,0,0,0 --gamma 0.3,-0.2,0.1,0 \
    --sigma 1,0.2,0,0,0.2,1,0.1,0,0,0.1,1,0.3,0,0,0.3,1 --sub 1.5,2,0.5 \
    --n "$n" --seed 11 --out data.h5
  t=$(now)
  mpirun -n 2 "$nvmm" "${fit[@]}" --verbose 0 > ref.json
  ref_s=$(since "$t")
  iters=$(sed -n 's/.*"iterations": \([0-9]*\).*/\1/p' ref.json)
  fit_s=$(sed -n 's/.*"elapsed_s": \([0-9.e+-]*\).*/\1/p' ref.json)
  fit_ms=$(python3 -c "import sys; print(int(float(sys.argv[1]) * 1000))" "$fit_s")
  echo "reference: $n rows, 2 ranks, $iters iterations in $fit_ms ms, $ref_s s in all"
}
reference 60000
for try in 1 2 3; do
  n2=$(python3 -c "import sys; t = float(sys.argv[1]); n = int(sys.argv[2])
print(n if t >= 2.5 else min(600000, int(n * min(4, 4 / max(t, 0.1))) // 10000 * 10000))" \
    "$fit_s" "$n")
  [ "$n2" = "$n" ] && break
  echo "calibration $try: more rows"
  reference "$n2"
done
[ "$iters" -gt 60 ] || fail "the reference fit is too short ($iters iterations) to interrupt"

# Starts the checkpointed fit on 2 ranks in the background (stdout $1.json, stderr $1.err);
# sets mpirun_pid.
start_fit() {
  mpirun -n 2 "$nvmm" "${ckfit[@]}" --verbose 1 > "$1.json" 2> "$1.err" &
  mpirun_pid=$!
  running=$mpirun_pid
}
# Waits for the background fit; sets rc to its exit status.
wait_fit() {
  rc=0
  wait "$mpirun_pid" || rc=$?
  running=""
}
# Waits (bounded) for the first checkpoint (iteration 5), then a random time within the first
# 1/$1 of the reference's EM iterations: the signal lands at a random iteration well before the
# end. Returns 1 when the fit ended first. (Counting the rows of --verbose 2 does not work: they
# reach the file through mpirun's I/O forwarding tens of iterations late.)
wait_random_iter() {
  local i ms
  for ((i = 0; i < 3000; i++)); do                # up to 60 s
    kill -0 "$mpirun_pid" 2>/dev/null || return 1
    [ -f ck.h5 ] && break
    sleep 0.02
  done
  [ -f ck.h5 ] || fail "no checkpoint within 60 s"
  ms=$(((RANDOM * 32768 + RANDOM) % (fit_ms / $1 + 1)))
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -0 "$mpirun_pid" 2>/dev/null || return 1
  echo "signal $ms ms after the first checkpoint"
}
# The rank processes: mpirun's children running nvmm.
ranks_of() {
  local p
  for p in $(pgrep -P "$1"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = nvmm ] && echo "$p"
  done
  return 0
}

# Runs the checkpointed fit on 2 ranks from scratch (output $1.json, $1.err) and interrupts it
# at a random iteration with $2: kill9 (SIGKILL to one of the two ranks, at random), TERM or
# USR1 (to mpirun); sets rc to mpirun's exit status. A busy machine can make the fit finish
# before the signal takes effect: then it tries again, signalling sooner (3 tries).
interrupt() {
  local try div=5 victim rank_pids
  for try in 1 2 3; do
    rm -f ck.h5 ck.h5.tmp
    start_fit "$1"
    if wait_random_iter $div; then
      if [ "$2" = kill9 ]; then
        mapfile -t rank_pids < <(ranks_of "$mpirun_pid")
        [ ${#rank_pids[@]} -eq 2 ] || fail "expected 2 ranks under mpirun: ${rank_pids[*]:-none}"
        victim=${rank_pids[RANDOM % 2]}
        kill -9 "$victim"
        echo "($1) kill -9 of rank PID $victim"
      else
        kill -s "$2" "$mpirun_pid"
      fi
    fi
    wait_fit
    # Finished anyway: a summary on stdout, a converged checkpoint.
    if [ ! -s "$1.json" ] && ! ck_line | grep -q "(converged)"; then
      return 0
    fi
    echo "($1) try $try: the fit finished before the $2 took effect; again, sooner"
    div=$((div * 4))
  done
  fail "($1) the fit finished before the $2 took effect, 3 times"
}

# ---- (a) kill -9 of one rank; resume on 3 ranks ----------------------------------------------
t=$(now)
interrupt a kill9
echo "(a) mpirun exited $rc"
[ "$rc" -ne 0 ] || fail "(a) mpirun exited 0 after a rank was killed"
[ ! -s a.json ] || fail "(a) a killed fit printed a summary"
ck_line
ck_iter=$(ck_line | sed -n 's/.*state after \([0-9]*\) iterations.*/\1/p')
if [ -z "$ck_iter" ] || [ "$ck_iter" -lt 5 ] || [ "$ck_iter" -ge "$iters" ]; then
  fail "(a) the checkpoint is not an intermediate state"
fi
mpirun -n 3 "$nvmm" "${ckfit[@]}" --verbose 1 > a3.json 2> a3.err || fail "(a) resume on 3 ranks failed"
grep -q "Resumed from ck.h5 after $ck_iter iterations" a3.err || { cat a3.err; fail "(a) did not resume"; }
diff <(strip ref.json) <(strip a3.json) || fail "(a) resumed on 3 ranks differs from the reference"
echo "(a) resumed on 3 ranks from iteration $ck_iter: identical to the reference ($(since "$t") s)"

# ---- (b) SIGTERM to mpirun; resume on 1 rank -----------------------------------------------------
t=$(now)
interrupt b TERM
echo "(b) SIGTERM to mpirun: mpirun exited $rc (Open MPI 4.1 exits 1 after forwarding TERM)"
[ "$rc" -ne 0 ] || fail "(b) mpirun exited 0 after SIGTERM"
ck_line
ck_line | grep -q "state after [0-9]* iterations (stopped)" || fail "(b) the checkpoint does not say stopped"
ck_iter=$(ck_line | sed -n 's/.*state after \([0-9]*\) iterations.*/\1/p')
mpirun -n 1 "$nvmm" "${ckfit[@]}" --verbose 1 > b1.json 2> b1.err || fail "(b) resume on 1 rank failed"
grep -q "Resumed from ck.h5 after $ck_iter iterations" b1.err || { cat b1.err; fail "(b) did not resume"; }
diff <(strip ref.json) <(strip b1.json) || fail "(b) resumed on 1 rank differs from the reference"
echo "(b) resumed on 1 rank from iteration $ck_iter: identical to the reference ($(since "$t") s)"

# ---- (c) SIGUSR1 to mpirun: exit status 75 -------------------------------------------------------
t=$(now)
interrupt c USR1
echo "(c) SIGUSR1 to mpirun: mpirun exited $rc"
[ "$rc" -eq 75 ] || { tail -n 20 c.err; fail "(c) mpirun exited $rc after SIGUSR1, not 75"; }
ck_line | grep -q "(stopped)" || fail "(c) the checkpoint does not say stopped"
echo "(c) exit status 75, $(ck_line | sed 's/^ *//') ($(since "$t") s)"

# ---- (d) resuming on other data or another family is refused --------------------------------
# other.h5: data.h5 with the one value X[row,2] changed, patched in place (the dataset is
# stored unfiltered, so the 8 bytes of the value occur in the file as they are). The data
# fingerprint hashes every value with its position, so any one changed value is caught; the row
# is deliberately not a multiple of anything.
row=$((n / 3 + 17))
cp data.h5 other.h5
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
mpirun -n 2 "$nvmm" "${ckfit[@]/data.h5/other.h5}" --verbose 0 > d1.json 2> d1.err || rc=$?
[ "$rc" -ne 0 ] || fail "(d) resuming on changed data was not refused"
grep "nvmm: error" d1.err | head -n 1
grep "nvmm: error" d1.err | grep -qi fingerprint || { cat d1.err; fail "(d) no fingerprint in the message"; }

rc=0
nigfit=()
for a in "${ckfit[@]}"; do [ "$a" = gh ] && a=nig; nigfit+=("$a"); done
mpirun -n 2 "$nvmm" "${nigfit[@]}" --verbose 0 > d2.json 2> d2.err || rc=$?
[ "$rc" -ne 0 ] || fail "(d) resuming a gh checkpoint as nig was not refused"
grep "nvmm: error" d2.err | head -n 1
grep "nvmm: error" d2.err | grep -w gh | grep -qw nig || { cat d2.err; fail "(d) the message does not name gh and nig"; }
if [ -s d1.json ] || [ -s d2.json ]; then fail "(d) a refused resume printed a summary"; fi
ck_line | grep -q "(stopped)" || fail "(d) a refused resume changed the checkpoint"
echo "(d) other data and another family refused; the checkpoint is untouched"
echo "all kill/resume checks passed"
