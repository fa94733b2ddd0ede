#!/usr/bin/env bash
# bench_scaling.sh: strong scaling of nvmm fit over MPI ranks on one machine (issue 5): the same
# NIG fit (default 10^7 x 10 rows, 10 iterations, tol 0) on each rank count, timed by the fit's
# own per-phase timers, REPS times in rotation (1, 2, ..., 1, 2, ...) so that drifts of the
# machine's speed hit every rank count alike.
#
# Columns: ranks; ms/iter = the steady-state EM iteration (E-step pass + exact reduction +
# M-step, initialization excluded), median over the repetitions; E ms = rank 0's E-step kernel
# per pass; red ms = rank 0's exact reduction plus any wait for the other ranks;
# speedup = ms/iter(first rank count) / ms/iter; efficiency = speedup / (ranks / first).
# Every fit's JSON must agree bitwise apart from timings (the rank-count-independence the fit
# guarantees); the script checks this and fails otherwise.
#
# Usage: scripts/bench_scaling.sh [--build DIR] [--work DIR] [--n N] [--d D] [--iters K]
#                                 [--reps R] [--ranks "1 2 4"] [TABLE_FILE]
# Ranks are bound to cores (--bind-to core); more ranks than cores oversubscribe and measure
# nothing useful.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build work=${TMPDIR:-/tmp}/nvmm-scaling n=10000000 d=10 iters=10 reps=3 ranks="1 2"
table=""
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --n) n=$2; shift 2 ;;
    --d) d=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --ranks) ranks=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "bench_scaling.sh: unknown option '$1'" >&2; exit 2 ;;
    *) table=$1; shift ;;
  esac
done
. "$here/scripts/deps.sh"
build=$(cd "$build" && pwd)
nvmm=$build/src/cli/nvmm
[ -x "$nvmm" ] || { echo "bench_scaling.sh: build first (meson setup $build && ninja -C $build)" >&2; exit 2; }
cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc) # nproc alone obeys OMP_NUM_THREADS
for r in $ranks; do
  [ "$r" -le "$cores" ] || { echo "bench_scaling.sh: $r ranks > $cores cores" >&2; exit 2; }
done
mkdir -p "$work"
cd "$work"
data=nig_${n}x${d}.h5
if [ ! -f "$data" ]; then
  g=$(python3 -c "print(','.join(str(round(0.3*((-1)**i)/(1+i%4),3)) for i in range($d)))")
  s=$(python3 -c "print(','.join('1' if i==j else '0.2' for i in range($d) for j in range($d)))")
  np=$((cores < 4 ? cores : 4))
  mpirun -n "$np" "$nvmm" sample --family nig --d "$d" --n "$n" --sub 1,1.5 --gamma "$g" \
    --sigma "$s" --seed 23 --out "$data" > /dev/null < /dev/null
fi
: > runs.txt
for rep in $(seq "$reps"); do
  for r in $ranks; do
    mpirun -n "$r" --bind-to core "$nvmm" fit --data "$data" --family nig --tol 0 \
      --max-iter "$iters" --init moments --out "m_$r.h5" --json 1 --verbose 2 \
      > "run_$r.json" 2> /dev/null < /dev/null
    python3 - "$r" "run_$r.json" >> runs.txt <<'PY'
import json, sys
r = json.load(open(sys.argv[2]))
t, it = r["timing"], r["iterations"]
p = t["passes"]
print(sys.argv[1], 1e3 * ((t["estep_s"] + t["reduce_s"]) / p + t["mstep_s"] / it),
      1e3 * t["estep_s"] / p, 1e3 * t["reduce_s"] / p)
PY
  done
  # Bitwise agreement across rank counts: everything but the timings and the rank count.
  python3 - $(for r in $ranks; do echo "run_$r.json"; done) <<'PY'
import json, sys
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if k not in ("timing", "ranks", "elapsed_s")}
    return o
runs = [strip(json.load(open(p))) for p in sys.argv[1:]]
bad = [p for p, r in zip(sys.argv[1:], runs) if r != runs[0]]
if bad:
    sys.exit("bench_scaling.sh: fits differ across rank counts: %s" % " ".join(bad))
PY
done
python3 - runs.txt "$table" "$n" "$d" "$iters" "$cores" <<'PY'
import statistics, sys
path, table, n, d, iters, cores = sys.argv[1:]
rows = {}
for line in open(path):
    f = line.split()
    rows.setdefault(int(f[0]), []).append([float(v) for v in f[1:]])
first = min(rows)
med = {r: [statistics.median(v[k] for v in vs) for k in range(3)] for r, vs in rows.items()}
out = ["%6s %10s %9s %9s %8s %10s" % ("ranks", "ms/iter", "E ms", "red ms", "speedup",
                                       "efficiency")]
for r in sorted(rows):
    sp = med[first][0] / med[r][0]
    out.append("%6d %10.2f %9.2f %9.2f %8.2f %9.0f%%" % (r, med[r][0], med[r][1], med[r][2], sp,
                                                          100 * sp / (r / first)))
out.append("NIG %s x %s, %s iterations, medians of %d runs, --bind-to core, "
           "OPENBLAS_NUM_THREADS=1, %s cores; fits bitwise equal across rank counts"
           % (n, d, iters, len(rows[first]), cores))
text = "\n".join(out)
print(text)
if table:
    open(table, "w").write(text + "\n")
PY
