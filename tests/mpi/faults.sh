#!/usr/bin/env bash
# faults.sh: randomized crash trials against the checkpoints of a GH fit (20000 x 3 rows, tol
# 1e-9, ~100 iterations, checkpoint every 3). Each trial interrupts the checkpointed fit on 2-4
# ranks at a chosen point, with one of
#   kill9  kill -9 of a random rank held at a random iteration K (NVMM_FAULT_HOLD, see
#          src/cli/fit.c): the last checkpoint is then exactly the one of iteration 3*floor(K/3),
#          or none when K < 3;
#   term   SIGTERM, to mpirun or to the held rank (a random choice), while a random rank is held
#          at a random iteration K >= 0 (K < 3: before any checkpoint exists): the fit stops at
#          that boundary, the checkpoint says "state after K iterations (stopped)";
#   int    the same with SIGINT; usr1 the same with SIGUSR1. The job exits 75 ("checkpointed"),
#          but after SIGTERM or SIGINT to mpirun, which Open MPI 4.1 reports as 1 (README);
#   abort  a crash inside the K-th checkpoint write (random K >= 2): NVMM_FAULT_CKPT_ABORT=K
#          makes rank 0 abort() with the temporary file half written, before the rename: the
#          checkpoint must be exactly the (K-1)-th, iteration 3(K-1);
# then the same command on a random 1-4 ranks resumes and must end bitwise the uninterrupted fit:
# the JSON summary (but for "ranks", "elapsed_s") and the whole model file, /history included.
# No wall-clock window decides where a trial lands: a trial that interrupted nothing fails.
#
#   faults.sh NVMM WORK_DIR [TRIALS]   (NVMM_TEST_SEED=N repeats the choices of a run; by default they are fresh)
set -euo pipefail
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/mpi/lib.sh
. "$here/lib.sh"
nvmm=$(realpath "$1") work=$2 trials=${3:-20}
no_leak_check "every trial kills or signals a job; LeakSanitizer's stop-the-world tracer can crash in a process exiting so"
# Under the sanitizers each launch is slow: one trial of each kind there; the normal pass runs 20.
if under_asan && [ $# -lt 3 ]; then trials=5; fi
mkdir -p "$work"
cd "$work"
rm -f ./*.h5 ./*.h5.tmp ./*.json ./*.err ./hold* core core.*
ulimit -c 0 # abort() is expected here: no core files

seed=${NVMM_TEST_SEED:-$(((RANDOM << 15) | RANDOM))}
RANDOM=$seed
echo "random seed $seed (NVMM_TEST_SEED=$seed repeats this run's choices); timeouts x$TMUL"
ms_now() { echo $(($(date +%s%N) / 1000000)); }

trap kill_running EXIT

fit=(fit --data data.h5 --family gh --tol 1e-9 --max-iter 2000 --json 1 --out model.h5
  --checkpoint ck.h5 --checkpoint-every 3 --verbose 1)
"$nvmm" sample --family gh --d 3 --mu 0,0,0 --gamma 0.3,-0.2,0.1 \
  --sigma 1,0.2,0,0.2,1,0.1,0,0.1,1 --sub 1.5,2,0.5 --n 20000 --seed 11 --out data.h5 > /dev/null
t=$(ms_now)
timeout -k 5 "$(scaled 120)" mpirun -n 2 "$nvmm" "${fit[@]}" > ref.json 2> ref.err
mv model.h5 ref_model.h5
iters=$(sed -n 's/.*"iterations": \([0-9]*\).*/\1/p' ref.json)
grep -q '"converged": true' ref.json || fail "the reference fit did not converge"
[ "$iters" -ge 30 ] || fail "the reference fit is too short ($iters iterations) to interrupt"
echo "reference: 20000 x 3 GH, 2 ranks, $iters iterations, $(($(ms_now) - t)) ms"

# interrupt KIND NP K VICTIM TARGET: runs the checkpointed fit on NP ranks and interrupts it (see the
# top); sets rc (mpirun's exit status) and what.
interrupt() {
  local kind=$1 np=$2 k=$3 victim=$4 target=$5 env=() hp mp
  rm -f ck.h5 ck.h5.tmp model.h5 run.json run.err hold
  case $kind in
    abort) env=(-x NVMM_FAULT_CKPT_ABORT="$k") ;;
    *) env=(-x NVMM_FAULT_HOLD="$victim:$k:hold") ;;
  esac
  timeout -k 5 "$(scaled 120)" mpirun -n "$np" "${env[@]}" "$nvmm" "${fit[@]}" \
    > run.json 2> run.err &
  pid=$!
  running=$pid
  case $kind in
    kill9)
      hp=$(wait_hold hold "$pid" 60)
      kill -9 "$hp"
      what="kill -9 of rank $victim of $np held after iteration $k"
      ;;
    term | int | usr1)
      hp=$(wait_hold hold "$pid" 60)
      mp=$(mpirun_of "$hp")
      if [ "$target" = rank ]; then
        kill -s "${kind^^}" "$hp"
        what="SIG${kind^^} to rank $victim of $np, held after iteration $k"
      else
        kill -s "${kind^^}" "$mp"
        what="SIG${kind^^} to mpirun, rank $victim of $np held after iteration $k"
      fi
      ;;
    abort) what="abort in checkpoint write $k" ;;
  esac
  rc=0
  wait "$pid" || rc=$?
  running=""
  return 0
}

# The plan (kind, ranks, resume ranks, K, victim, signal target) is drawn first from the seed.
# The kinds take turns in an order shuffled per round, so each gets a fifth of the trials.
kinds=(kill9 term int usr1 abort)
nk=${#kinds[@]}
plan=()
for ((trial = 1; trial <= trials; trial++)); do
  if [ $(((trial - 1) % nk)) = 0 ]; then
    round=("${kinds[@]}")
    for ((i = nk - 1; i > 0; i--)); do # Fisher-Yates
      j=$((RANDOM % (i + 1)))
      tmp=${round[i]} round[i]=${round[j]} round[j]=$tmp
    done
  fi
  kind=${round[(trial - 1) % nk]}
  np=$((2 + RANDOM % 3))
  case $kind in
    abort) k=$((2 + RANDOM % (iters / 3 - 2))) ;; # a checkpoint write that happens
    kill9) k=$((1 + RANDOM % (iters - 1))) ;;     # a boundary the fit reaches
    *) k=$((RANDOM % iters)) ;;
  esac
  targets=(mpirun rank)
  plan+=("$kind $np $((1 + RANDOM % 4)) $k $((RANDOM % np)) ${targets[RANDOM % 2]}")
done
declare -A tally=()
for ((trial = 1; trial <= trials; trial++)); do
  t0=$(ms_now)
  read -r kind np rnp k victim target <<< "${plan[trial - 1]}"
  interrupt "$kind" "$np" "$k" "$victim" "$target"
  [ ! -s run.json ] || fail "trial $trial: $what: the interrupted fit printed a summary"
  [ $rc -ne 0 ] || fail "trial $trial: $what: mpirun exited 0"
  # timeout(1) exits 124 (137 when its KILL was needed; also mpirun's status after kill -9).
  [ $rc -ne 124 ] || fail "trial $trial: $what: the fit hung (timeout)"
  [ $rc -ne 137 ] || [ "$kind" = kill9 ] || fail "trial $trial: $what: the fit hung (timeout)"
  case $kind in
    kill9) want=$((k / 3 * 3)) why=iterating ;;
    term | int | usr1) want=$k why=stopped ;;
    abort)
      want=$((3 * (k - 1))) why=iterating
      grep -q "aborted\|signal 6" run.err || { tail -n 5 run.err; fail "trial $trial: $what: no abort seen"; }
      [ -f ck.h5.tmp ] || fail "trial $trial: $what: no half-written ck.h5.tmp"
      ;;
  esac
  case $kind/$target in
    usr1/* | term/rank | int/rank)
      [ $rc -eq 75 ] || fail "trial $trial: $what: mpirun exited $rc, not 75" ;;
  esac
  # The last good checkpoint reads back and holds exactly the expected state.
  state=none
  if [ "$kind" = kill9 ] && [ "$want" -eq 0 ]; then
    [ ! -e ck.h5 ] || fail "trial $trial: $what: a checkpoint before the first scheduled one"
  else
    [ -f ck.h5 ] || fail "trial $trial: $what: no checkpoint"
    state=$(ck_state ck.h5)
    [ "$state" = "$want $why" ] ||
      { "$nvmm" info ck.h5; fail "trial $trial: $what: checkpoint '$state', expected '$want $why'"; }
  fi
  # Resume on rnp ranks: bitwise the reference.
  timeout -k 5 "$(scaled 120)" mpirun -n "$rnp" "$nvmm" "${fit[@]}" > res.json 2> res.err ||
    { tail -n 20 res.err; fail "trial $trial: $what: the resume on $rnp ranks failed"; }
  if [ "$state" != none ]; then
    grep -q "Resumed from ck.h5 after $want iterations" res.err ||
      { cat res.err; fail "trial $trial: $what: did not resume from iteration $want"; }
  fi
  diff <(strip_json ref.json) <(strip_json res.json) > /dev/null ||
    fail "trial $trial: $what: the resumed summary on $rnp ranks differs from the reference"
  same_model ref_model.h5 model.h5 ||
    fail "trial $trial: $what: the resumed model file on $rnp ranks differs from the reference"
  [ ! -e ck.h5.tmp ] || fail "trial $trial: $what: the resumed fit left ck.h5.tmp"
  printf 'trial %2d: %-5s %d ranks, %s; mpirun exited %d; checkpoint %s; resumed on %d ranks: identical (%d ms)\n' \
    "$trial" "$kind" "$np" "$what" "$rc" "$state" "$rnp" $(($(ms_now) - t0))
  tally[$kind]=$((${tally[$kind]:-0} + 1))
done
echo "all $trials trials passed: kill9 ${tally[kill9]:-0}, term ${tally[term]:-0}," \
  "int ${tally[int]:-0}, usr1 ${tally[usr1]:-0}, abort ${tally[abort]:-0}"
