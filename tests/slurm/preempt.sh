#!/usr/bin/env bash
# preempt.sh: a Slurm preemption end to end on a local single-node cluster. A 2-rank GH fit runs
# as scripts/slurm/fit.sbatch; at a random iteration K after its first checkpoint (a rank held
# there by NVMM_FAULT_HOLD) it gets the preempt signal (`scancel --signal=USR1 --batch`), stops
# with a checkpoint of exactly iteration K, requeues its own job, comes back
# (SLURM_RESTART_COUNT=1) and resumes; its final JSON summary (minus "ranks" and "elapsed_s")
# and its whole model file (minus /history/elapsed and the ranks attribute) must be bitwise
# those of the reference fit (an uninterrupted mpirun run with the same options).
#
#   preempt.sh NVMM SOURCE_ROOT WORK_DIR
# Skips (exit 77) only when the Slurm packages are not installed. Needs root, like cluster.sh.
set -euo pipefail
nvmm=$(realpath "$1") src=$(realpath "$2") work=$3

for b in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/munged sbatch scontrol squeue sacct; do
  if ! command -v "$b" >/dev/null 2>&1; then
    echo "SKIP: Slurm is not installed ($b missing):" \
      "apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
    exit 77
  fi
done

# shellcheck source=tests/mpi/lib.sh
. "$src/tests/mpi/lib.sh"
mkdir -p "$work"
work=$(realpath "$work")
cd "$work"
rm -rf cluster ck.h5 model.h5 ref_model.h5 job.out job.err ref.json ref.err final.json hold
cluster=$src/scripts/slurm/cluster.sh
sbatch_script=$src/scripts/slurm/fit.sbatch
t0=$(date +%s.%N)
elapsed() { python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$1"; }
now() { date +%s.%N; }

# ---- Data and the uninterrupted reference fit ------------------------------------------------
# GH with p = 1.5 converges slowly at tol 1e-10: ~150 iterations. The reference runs the same
# options as the job (the model file stores them), then its model is set aside.
fit_args=(--data gh.h5 --family gh --tol 1e-10 --max-iter 2000 --json 1 --verbose 1
  --out model.h5 --checkpoint ck.h5 --checkpoint-every 5)
"$nvmm" sample --family gh --d 4 --mu 0,0,0,0 --gamma 0.3,-0.2,0.1,0 \
  --sigma 1,0.2,0,0,0.2,1,0.1,0,0,0.1,1,0.3,0,0,0.3,1 --sub 1.5,2,0.5 \
  --n 50000 --seed 7 --out gh.h5
t=$(now)
timeout -k 5 "$(scaled 300)" mpirun -n 2 "$nvmm" fit "${fit_args[@]}" > ref.json 2> ref.err
mv model.h5 ref_model.h5
rm -f ck.h5
iters=$(sed -n 's/.*"iterations": \([0-9]*\).*/\1/p' ref.json)
echo "reference fit (mpirun -n 2, 50000 rows): $(elapsed "$t") s, $iters iterations"
grep -q '"converged": true' ref.json || fail "the reference fit did not converge"
[ "$iters" -gt 20 ] || fail "the reference fit is too short ($iters iterations)"
# The preemption lands while a random rank waits after a random iteration K >= 5 (after the
# first checkpoint; the NVMM_FAULT_HOLD hook in src/cli/fit.c); the hold file makes it
# one-shot, so the requeued run goes through.
seed=${NVMM_TEST_SEED:-$(((RANDOM << 15) | RANDOM))}
RANDOM=$seed
k=$((5 + RANDOM % (iters - 5))) victim=$((RANDOM % 2))
echo "random seed $seed (NVMM_TEST_SEED=$seed repeats it): rank $victim held after iteration $k"

# ---- The cluster; always stopped again ---------------------------------------------------------
cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "---- job output (job.out, job.err) and cluster state after a failure:" >&2
    cat job.out job.err >&2 2>/dev/null || true
    # shellcheck source=/dev/null
    [ -f cluster/env ] && (. cluster/env; squeue -t all; sacct -c) >&2 2>/dev/null
    tail -n 30 cluster/log/slurmctld.log >&2 2>/dev/null || true
  fi
  "$cluster" stop "$work/cluster" || true
  exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM
t=$(now)
"$cluster" start "$work/cluster"
echo "cluster start: $(elapsed "$t") s"
# shellcheck source=/dev/null
. cluster/env

# Job state (PENDING, RUNNING, COMPLETED, ...) and restart count, from scontrol.
job_field() { scontrol -o show job "$jid" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# ---- Submit (2 tasks on however many cores: --overcommit) ------------------------------------
t_submit=$(now)
jid=$(NVMM=$nvmm NVMM_FAULT_HOLD="$victim:$k:$work/hold" sbatch --parsable -n 2 --overcommit \
  -t 10 -J nvmm-preempt-test -o "$work/job.out" -e "$work/job.err" --chdir "$work" \
  "$sbatch_script" "${fit_args[@]}")
echo "submitted job $jid"

# ---- Wait for the held iteration, then preempt ----------------------------------------------
# The job is running until the hold file appears (its rank waits there); Slurm's state is
# checked so that a job that fails to start does not cost the whole bound.
bound=$(scaled 120)
for ((i = 0; i < bound * 5; i++)); do
  [ -s hold ] && break
  case $(job_field JobState) in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL)
    fail "job $jid ended before it reached iteration $k" ;;
  esac
  sleep 0.2
done
wait_hold hold - 1 > /dev/null
[ "$(job_field JobState)" = RUNNING ] || fail "job $jid is $(job_field JobState), not RUNNING"
t_sig=$(now)
scancel --signal=USR1 --batch "$jid"
echo "rank $victim held after iteration $k, $(elapsed "$t_submit") s after the submission;" \
  "sent USR1 to the batch shell of job $jid"

# ---- Wait for the requeue; skip the 120 s requeue delay ---------------------------------------
for ((i = 0; i < $(scaled 120) * 5; i++)); do
  [ "$(job_field Restarts)" = 1 ] && [ "$(job_field JobState)" = PENDING ] && break
  sleep 0.2
done
[ "$(job_field Restarts)" = 1 ] || fail "job $jid was not requeued (Restarts=$(job_field Restarts))"
ck=$(ck_state ck.h5)
echo "requeued $(elapsed "$t_sig") s after the signal: checkpoint state '$ck'"
[ "$ck" = "$k stopped" ] || fail "the checkpoint does not say stopped after $k iterations"
t_req=$(now)
for ((i = 0; i < 30; i++)); do                       # retried: the update may race the requeue
  [ "$(job_field JobState)" = PENDING ] || break
  scontrol update JobId="$jid" StartTime=now || true
  sleep 2
done

# ---- Wait for the job to complete -------------------------------------------------------------
state=""
for ((i = 0; i < $(scaled 300) * 5; i++)); do
  state=$(job_field JobState)
  case $state in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY) break ;; esac
  sleep 0.2
done
echo "job $jid $state $(elapsed "$t_req") s after the requeue ($(elapsed "$t_submit") s in all)"
sacct -c -j "$jid" || true
[ "$state" = COMPLETED ] || fail "job $jid ended $state"
[ "$(job_field ExitCode)" = 0:0 ] || fail "job $jid exit code $(job_field ExitCode)"

# ---- The job ran twice, the first run stopped with 75 and requeued ----------------------------
echo "---- job.out"
cat job.out
[ "$(grep -c 'fit.sbatch .* run [0-9]* (SLURM_RESTART_COUNT=' job.out)" = 2 ] ||
  fail "job.out does not show two runs"
grep -q 'run 2 (SLURM_RESTART_COUNT=1)' job.out || fail "no run with SLURM_RESTART_COUNT=1"
grep -q 'received SIGUSR1' job.out || fail "the batch script did not get USR1"
grep -q 'the fit exited with status 75' job.out || fail "the first run did not exit 75"
grep -q 'requeued job' job.out || fail "the first run did not requeue"
grep -q 'the fit finished' job.out || fail "the second run did not finish"
grep -q "Resumed from ck.h5 after $k iterations" job.err || fail "the second run did not resume"

# ---- Bitwise the reference result ---------------------------------------------------------------
sed -n '/^{$/,/^}$/p' job.out > final.json
[ "$(grep -c '^{$' final.json)" = 1 ] || fail "expected one JSON summary in job.out"
diff <(strip_json ref.json) <(strip_json final.json) || fail "the preempted fit's summary differs from the reference"
same_model ref_model.h5 model.h5 || fail "the preempted fit's model file differs from the reference"
echo "checkpoint state '$(ck_state ck.h5)'"
echo "preempted and requeued fit == uninterrupted fit (bitwise); test took $(elapsed "$t0") s"
