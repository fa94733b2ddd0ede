#!/usr/bin/env bash
# faults.sh: randomized crash trials against the checkpoints of a GH fit (30000 x 3, or more
# rows on a fast machine; tol 1e-9, ~200 iterations, checkpoint every 3). Each trial interrupts the checkpointed fit on 2-4 ranks
# with one of
#   kill9  kill -9 of a random rank at a random time after the first checkpoint;
#   term   SIGTERM to mpirun at a random time (now and then before any checkpoint exists);
#   abort  a crash inside the K-th checkpoint write (random K >= 2): NVMM_FAULT_CKPT_ABORT=K
#          makes rank 0 abort() with the temporary file half written, before the rename;
# then checks that the last good checkpoint reads back (`nvmm info` shows its state; for abort
# exactly the (K-1)-th, iteration 3(K-1)) and that the same command on a random 1-4 ranks resumes
# and ends with a JSON summary bitwise the uninterrupted fit's (but for "ranks", "elapsed_s").
#
#   faults.sh NVMM WORK_DIR [TRIALS]   (NVMM_TEST_SEED=N: other random choices; default fixed)
set -euo pipefail
nvmm=$(realpath "$1") work=$2 trials=${3:-20}
mkdir -p "$work"
cd "$work"
rm -f ./*.h5 ./*.h5.tmp ./*.json ./*.err core core.*
ulimit -c 0 # abort() is expected here: no core files

seed=${NVMM_TEST_SEED:-20240611}
RANDOM=$seed
echo "random seed $seed (NVMM_TEST_SEED=$seed repeats this run's choices)"
fail() { echo "FAIL: $*" >&2; exit 1; }
strip() { grep -v -E '"(ranks|elapsed_s)"' "$1"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
msleep() { sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"; }

running=""
# The rank processes: mpirun's children running nvmm.
ranks_of() {
  local p
  for p in $(pgrep -P "$1"); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = nvmm ] && echo "$p"
  done
  return 0
}
cleanup() {
  local p
  if [ -n "$running" ] && [ "$(cat "/proc/$running/comm" 2>/dev/null)" = mpirun ]; then
    for p in $(ranks_of "$running"); do kill -9 "$p" 2>/dev/null || true; done
    kill -9 "$running" 2>/dev/null || true
  fi
  return 0
}
trap cleanup EXIT

fit=(fit --data data.h5 --family gh --tol 1e-9 --max-iter 2000 --json 1 --out model.h5)
ckfit=("${fit[@]}" --checkpoint ck.h5 --checkpoint-every 3)
# calibrate N: the data (N x 3 GH rows), the uninterrupted 2-rank reference, and how long the
# checkpointed run goes on after its first checkpoint (span): the window the signals are spread
# over. SIGTERM takes ~1 s to reach the ranks through mpirun, so the run should go on for
# 1.4 s or more after its first checkpoint; where it does not (30000 rows took 0.3 to 2.4 s on
# the 2 shared cores this was written on), N grows, at most 4 times per try.
calibrate() {
  n=$1
  "$nvmm" sample --family gh --d 3 --mu 0,0,0 --gamma 0.3,-0.2,0.1 \
    --sigma 1,0.2,0,0.2,1,0.1,0,0.1,1 --sub 1.5,2,0.5 --n "$n" --seed 11 --out data.h5 > /dev/null
  local t t1 i
  t=$(ms_now)
  mpirun -n 2 "$nvmm" "${fit[@]}" --verbose 0 > ref.json
  iters=$(sed -n 's/.*"iterations": \([0-9]*\).*/\1/p' ref.json)
  echo "reference: $n x 3 GH, 2 ranks, $iters iterations, $(($(ms_now) - t)) ms"
  [ "$iters" -ge 60 ] || fail "the reference fit is too short ($iters iterations) to interrupt"
  rm -f ck.h5
  t=$(ms_now)
  mpirun -n 2 "$nvmm" "${ckfit[@]}" --verbose 0 > full.json &
  pid=$!
  running=$pid
  for ((i = 0; i < 6000; i++)); do # up to 60 s
    [ -f ck.h5 ] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.01
  done
  t1=$(ms_now)
  wait "$pid" || fail "the checkpointed fit failed"
  running=""
  span=$(($(ms_now) - t1))
  first=$((t1 - t))
  diff <(strip ref.json) <(strip full.json) > /dev/null ||
    fail "the checkpointed fit differs from the reference"
  echo "checkpointed run: first checkpoint after $first ms, then $span ms to the end"
}
calibrate 30000
for try in 1 2; do
  [ "$span" -lt 1400 ] || break
  f=$(((1800 + span - 1) / (span > 0 ? span : 1)))
  calibrate $((n * (f > 4 ? 4 : f) / 10000 * 10000))
done
[ "$span" -ge 200 ] || fail "the checkpointed run is too short to interrupt"

ck_iter() { "$nvmm" info ck.h5 | sed -n 's/.*checkpoint: state after \([0-9]*\) iterations (\([a-z_]*\)).*/\1 \2/p'; }
# interrupt KIND NP DIV: runs the checkpointed fit on NP ranks in the background and interrupts it
# (kill9, term, or abort with $k); sets rc, finished (1: a summary was printed, the fit ended
# before the signal took effect) and what. The signal time is random: for kill9 within the
# first 3/4 of the run after the first checkpoint, for term within the run counted from the
# start, less the ~1 s Open MPI's mpirun takes to pass SIGTERM on to the ranks (measured:
# 1.0 s). DIV ($3) scales the window down on a retry.
interrupt() {
  local kind=$1 np=$2 div=$3 env=() ms i rp victim
  rm -f ck.h5 ck.h5.tmp model.h5 run.json run.err
  [ "$kind" = abort ] && env=(-x NVMM_FAULT_CKPT_ABORT="$k")
  local t_start
  t_start=$(ms_now)
  mpirun -n "$np" "${env[@]}" "$nvmm" "${ckfit[@]}" --verbose 1 > run.json 2> run.err &
  pid=$!
  running=$pid
  if [ "$kind" = kill9 ]; then
    for ((i = 0; i < 6000; i++)); do # up to 60 s for the first checkpoint
      [ -f ck.h5 ] || ! kill -0 "$pid" 2>/dev/null && break
      sleep 0.01
    done
    ms=$(((RANDOM * 32768 + RANDOM) % (span * 3 / 4 / div + 1)))
    msleep "$ms"
    mapfile -t rp < <(ranks_of "$pid")
    victim="?"
    if [ ${#rp[@]} -gt 0 ]; then
      victim=$((RANDOM % ${#rp[@]}))
      kill -9 "${rp[victim]}" 2>/dev/null || true
    fi
    what="kill -9 of rank $victim of $np, $ms ms after the first checkpoint"
  elif [ "$kind" = term ]; then
    local window=$(((first + span - 1100) / div))
    [ $window -ge 50 ] || window=50
    ms=$(((RANDOM * 32768 + RANDOM) % window))
    msleep $((ms - ($(ms_now) - t_start) > 0 ? ms - ($(ms_now) - t_start) : 0))
    kill -TERM "$pid" 2>/dev/null || true
    what="SIGTERM to mpirun $ms ms after its start"
  else
    what="abort in checkpoint $k"
  fi
  rc=0
  wait "$pid" || rc=$?
  running=""
  finished=0
  [ -s run.json ] && finished=1
  return 0
}

# The plan (kind, ranks, resume ranks, K) is drawn first, so the seed fixes it whatever the
# timing-dependent draws (signal times, victims, retries) do later. The kinds take turns in an
# order shuffled per round, so each gets a third of the trials.
kinds=(kill9 term abort)
plan=()
for ((trial = 1; trial <= trials; trial++)); do
  if [ $(((trial - 1) % 3)) = 0 ]; then
    r=$((RANDOM % 6))
    round=("${kinds[r % 3]}" "${kinds[(r % 3 + 1 + r / 3) % 3]}" "${kinds[(r % 3 + 2 - r / 3) % 3]}")
  fi
  plan+=("${round[(trial - 1) % 3]} $((2 + RANDOM % 3)) $((1 + RANDOM % 4)) $((2 + RANDOM % (iters / 3 - 2)))")
done
declare -A tally=()
retries=0
for ((trial = 1; trial <= trials; trial++)); do
  t0=$(ms_now)
  read -r kind np rnp k <<< "${plan[trial - 1]}"
  for div in 1 4 16; do
    interrupt "$kind" "$np" "$div"
    [ $finished = 0 ] || [ "$kind" = abort ] && break
    echo "  (trial $trial: the fit ended before the $kind took effect; again, sooner)"
    retries=$((retries + 1))
  done
  if [ "$kind" = abort ]; then
    [ $rc -ne 0 ] || fail "trial $trial: $what: mpirun exited 0"
    grep -q "aborted\|signal 6" run.err || { tail -n 5 run.err; fail "trial $trial: $what: no abort seen"; }
    [ -f ck.h5.tmp ] || fail "trial $trial: $what: no half-written ck.h5.tmp"
  fi
  if [ $rc -eq 0 ] && [ $finished = 0 ]; then
    fail "trial $trial: $what: mpirun exited 0 without a summary"
  fi
  # The last good checkpoint reads back.
  state="none"
  if [ -f ck.h5 ]; then
    read -r it why < <(ck_iter) || true
    [ -n "${it:-}" ] || { "$nvmm" info ck.h5; fail "trial $trial: $what: ck.h5 shows no state"; }
    state="$it ($why)"
    if [ "$kind" = term ] && [ $finished = 0 ] && [ "$why" != stopped ]; then
      fail "trial $trial: $what: the checkpoint says $why, not stopped"
    fi
    if [ "$kind" = abort ] && [ "$it" -ne $((3 * (k - 1))) ]; then
      fail "trial $trial: $what: the checkpoint is at iteration $it, not $((3 * (k - 1)))"
    fi
    if [ "$kind" != term ] && [ $finished = 0 ] && [ $((it % 3)) -ne 0 ]; then
      fail "trial $trial: $what: a checkpoint at iteration $it, off the schedule"
    fi
  elif [ "$kind" != term ]; then
    fail "trial $trial: $what: no checkpoint at all"
  fi
  # Resume on rnp ranks: bitwise the reference.
  mpirun -n "$rnp" "$nvmm" "${ckfit[@]}" --verbose 1 > res.json 2> res.err ||
    { tail -n 20 res.err; fail "trial $trial: $what: the resume on $rnp ranks failed"; }
  if [ "$state" != none ]; then
    grep -q "Resumed from ck.h5 after $it iterations" res.err ||
      { cat res.err; fail "trial $trial: $what: did not resume from iteration $it"; }
  fi
  diff <(strip ref.json) <(strip res.json) > /dev/null ||
    fail "trial $trial: $what: the resumed fit on $rnp ranks differs from the reference"
  [ ! -e ck.h5.tmp ] || fail "trial $trial: $what: the resumed fit left ck.h5.tmp"
  note=""
  [ $finished = 1 ] && note=" (the fit had finished first)"
  printf 'trial %2d: %-5s %d ranks, %s; mpirun exited %d; checkpoint state %s; resumed on %d ranks: identical (%d ms)%s\n' \
    "$trial" "$kind" "$np" "$what" "$rc" "$state" "$rnp" $(($(ms_now) - t0)) "$note"
  tally[$kind]=$((${tally[$kind]:-0} + 1))
done
echo "all $trials trials passed: kill9 ${tally[kill9]:-0}, term ${tally[term]:-0}, abort ${tally[abort]:-0}" \
  "($retries retries of a fit that ended first)"
