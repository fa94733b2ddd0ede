#!/usr/bin/env bash
# preempt.sh: a Slurm preemption end to end on a local single-node cluster. A 2-rank GH fit runs
# as scripts/slurm/fit.sbatch; once it has written a checkpoint it gets the preempt signal
# (`scancel --signal=USR1 --batch`), stops at the checkpoint, requeues its own job, comes back
# (SLURM_RESTART_COUNT=1) and resumes; its final JSON summary must be bitwise the reference fit's
# (an uninterrupted mpirun run), minus "ranks" and "elapsed_s".
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

mkdir -p "$work"
work=$(realpath "$work")
cd "$work"
rm -rf cluster ck.h5 model.h5 ref_model.h5 job.out job.err ref.json final.json
cluster=$src/scripts/slurm/cluster.sh
sbatch_script=$src/scripts/slurm/fit.sbatch
t0=$(date +%s.%N)
elapsed() { python3 -c "import sys,time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$1"; }
now() { date +%s.%N; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- Data and the uninterrupted reference fit (about 20-40 s on 2 ranks) ---------------------
# GH with p = 1.5 converges slowly at tol 1e-10: ~150 iterations. 300000 x 4 rows took 21 s on
# 2 ranks on 2 cores; a machine (or a build) where the fit takes under 15 s gets proportionally
# more rows (at most 2 million), so that the preemption lands well inside the fit.
fit_args=(--data gh.h5 --family gh --tol 1e-10 --max-iter 2000 --json 1 --verbose 1)
reference() {
  "$nvmm" sample --family gh --d 4 --mu 0,0,0,0 --gamma 0.3,-0.2,0.1,0 \
    --sigma 1,0.2,0,0,0.2,1,0.1,0,0,0.1,1,0.3,0,0,0.3,1 --sub 1.5,2,0.5 \
    --n "$1" --seed 7 --out gh.h5
  t=$(now)
  mpirun -n 2 "$nvmm" fit "${fit_args[@]}" --out ref_model.h5 > ref.json
  ref_s=$(elapsed "$t")
  echo "reference fit (mpirun -n 2, $1 rows): $ref_s s, $(grep '"iterations"' ref.json)"
}
n=300000
reference $n
n2=$(python3 -c "import sys; t = float(sys.argv[1]); n = int(sys.argv[2])
print(n if t >= 15 else min(2000000, int(n * 25 / max(t, 0.5)) // 10000 * 10000))" "$ref_s" $n)
[ "$n2" = "$n" ] || reference "$n2"

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
jid=$(NVMM=$nvmm sbatch --parsable -n 2 --overcommit -t 10 -J nvmm-preempt-test \
  -o "$work/job.out" -e "$work/job.err" --chdir "$work" "$sbatch_script" \
  "${fit_args[@]}" --out model.h5 --checkpoint ck.h5 --checkpoint-every 5)
echo "submitted job $jid"

# ---- Wait for the first checkpoint, then preempt --------------------------------------------
for ((i = 0; i < 600; i++)); do                      # up to 120 s
  [ -f ck.h5 ] && break
  case $(job_field JobState) in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL)
    fail "job $jid ended before it wrote a checkpoint" ;;
  esac
  sleep 0.2
done
[ -f ck.h5 ] || fail "no checkpoint after 120 s"
[ "$(job_field JobState)" = RUNNING ] || fail "job $jid is $(job_field JobState), not RUNNING"
t_sig=$(now)
scancel --signal=USR1 --batch "$jid"
echo "first checkpoint after $(elapsed "$t_submit") s; sent USR1 to the batch shell of job $jid"
"$nvmm" info ck.h5 | grep checkpoint:

# ---- Wait for the requeue; skip the 120 s requeue delay ---------------------------------------
for ((i = 0; i < 600; i++)); do                      # up to 120 s
  [ "$(job_field Restarts)" = 1 ] && [ "$(job_field JobState)" = PENDING ] && break
  sleep 0.2
done
[ "$(job_field Restarts)" = 1 ] || fail "job $jid was not requeued (Restarts=$(job_field Restarts))"
echo "requeued $(elapsed "$t_sig") s after the signal: $("$nvmm" info ck.h5 | grep checkpoint:)"
"$nvmm" info ck.h5 | grep -q "checkpoint: state after [0-9]* iterations (stopped)" ||
  fail "the checkpoint does not say stopped"
t_req=$(now)
for ((i = 0; i < 30; i++)); do                       # retried: the update may race the requeue
  [ "$(job_field JobState)" = PENDING ] || break
  scontrol update JobId="$jid" StartTime=now || true
  sleep 2
done

# ---- Wait for the job to complete -------------------------------------------------------------
state=""
for ((i = 0; i < 1500; i++)); do                     # up to 300 s
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
grep -q 'Resumed from ck.h5 after [0-9]* iterations' job.err || fail "the second run did not resume"

# ---- Bitwise the reference result ---------------------------------------------------------------
sed -n '/^{$/,/^}$/p' job.out > final.json
[ "$(grep -c '^{$' final.json)" = 1 ] || fail "expected one JSON summary in job.out"
strip() { grep -v -E '"(ranks|elapsed_s)"' "$1"; }
diff <(strip ref.json) <(strip final.json) || fail "the preempted fit differs from the reference"
"$nvmm" info ck.h5 | grep checkpoint:
echo "preempted and requeued fit == uninterrupted fit (bitwise); test took $(elapsed "$t0") s"
