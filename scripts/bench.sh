#!/usr/bin/env bash
# bench.sh: the per-iteration performance table of nvmm fit on one core, against the R ghyp peer
# (issue targets: <= 1/100 of ghyp per EM iteration) and against the hardware floor of the
# E-step (one DSYRK of the same block shape).
#
# Workloads are generated with `nvmm sample` (smi_stocks is the bundled real data). Each fit runs
# a fixed number of iterations (tol 0) on 1 rank, 5 times; the table shows medians of:
#   ms/iter  one E-step pass (kernel + exact reduction) plus one M-step: the steady-state cost
#            of an EM iteration (initialization excluded);
#   E ns/row the E-step kernel time per row and pass;
#   M us/it  the M-step (closed forms, subordinator solve, regularization, broadcast);
#   E/floor  E-step kernel time over one DSYRK on 4096 x d blocks (tests/bench_floor.c, timed
#            right before each fit), the median of the per-run ratios.
# Then the time-to-MLE table of scripts/bench_mle.sh (passes and ms of whole fits at default
# settings, plain EM vs SQUAREM, and the ratio to R ghyp's total fit time), appended.
# Usage: scripts/bench.sh [--build DIR] [--work DIR] [--reps N] [--quick] [TABLE_FILE]
#   --quick drops the two largest workloads (10^6 x 32 and 10^5 x 256).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=$here/build work=${TMPDIR:-/tmp}/nvmm-bench reps=5 quick=0 table=""
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "bench.sh: unknown option '$1'" >&2; exit 2 ;;
    *) table=$1; shift ;;
  esac
done
. "$here/scripts/deps.sh"
build=$(cd "$build" && pwd)
nvmm=$build/src/cli/nvmm floor=$build/tests/bench_floor
[ -x "$nvmm" ] && [ -x "$floor" ] || { echo "bench.sh: build first (meson setup $build && ninja -C $build)" >&2; exit 2; }
mkdir -p "$work"
cd "$work"

S3=1,0.3,0.1,0.3,1,0.2,0.1,0.2,1
gen() { # name family d n sub [gamma]
  [ -f "$1.h5" ] && return 0
  local g=${6:-} sig
  sig=$(python3 -c "d=$3; print(','.join('1' if i==j else '0.2' for i in range(d) for j in range(d)))")
  [ "$3" = 3 ] && sig=$S3
  [ -z "$g" ] && g=$(python3 -c "d=$3; print(','.join(str(round(0.3*((-1)**i)/(1+i%4),3)) for i in range(d)))")
  local sigarg=(--sigma "$sig")
  [ "$3" -gt 32 ] && sigarg=() # identity: a d x d list would not fit on a command line
  mpirun -n 2 "$nvmm" sample --family "$2" --d "$3" --n "$4" --sub "$5" --gamma "$g" \
    "${sigarg[@]}" --seed 17 --out "$1.h5" > /dev/null < /dev/null
}
gen nig5k nig 3 5000 1,1.5 0.4,-0.3,0.1
gen gh5k gh 3 5000 -1.2,1.5,1.5 0.4,-0.3,0.1
gen nig200k nig 3 200000 1,1.5 0.4,-0.3,0.1
gen nig50k10 nig 10 50000 1,1.5
[ -f smi.h5 ] || "$nvmm" import "$here/tests/data/smi_stocks.csv" smi.h5 > /dev/null
# workload file family iterations ghyp_ms target_ms
cases="NIG_5000x3 nig5k nig 40 35 0.3
GH_5000x3 gh5k gh 40 37 0.4
NIG_200000x3 nig200k nig 10 1116 10
NIG_50000x10 nig50k10 nig 20 397 4
GH_smi_1769x6 smi gh 40 11 0.15"
if [ $quick = 0 ]; then
  gen gh1m32 gh 32 1000000 -1.2,1.5,1.5
  gen gh100k256 gh 256 100000 -1.2,1.5,1.5
  cases="$cases
GH_1e6x32 gh1m32 gh 4 - -
GH_1e5x256 gh100k256 gh 3 - -"
fi
: > runs.txt
echo "$cases" | while read -r name file fam iters ghyp target; do
  d=$(h5dump -H -d /X "$file.h5" | sed -n 's/.*DATASPACE  SIMPLE { ( [0-9]*, \([0-9]*\) ).*/\1/p')
  for r in $(seq "$reps"); do
    # The floor is measured next to each fit: this machine's speed drifts by up to 1.5x over
    # minutes, and a ratio of timings taken minutes apart would carry that drift.
    fl=$("$floor" "$d" 11)
    mpirun -n 1 "$nvmm" fit --data "$file.h5" --family "$fam" --tol 0 --max-iter "$iters" \
      --init moments --out "m_$file.h5" --json 1 --verbose 2 2> /dev/null > "run.json" < /dev/null
    python3 - "$name" "$fam" "$ghyp" "$target" "$fl" run.json >> runs.txt <<'PY'
import json, sys
name, fam, ghyp, target, fl, path = sys.argv[1:]
r = json.load(open(path))
t = r["timing"]
it, n, passes = r["iterations"], r["n"], r["passes"]  # top level since issue 11
e = t["estep_s"] / passes
print(name, fam, r["d"], it, 1e3 * ((t["estep_s"] + t["reduce_s"]) / passes + t["mstep_s"] / it),
      1e9 * e / n, 1e6 * t["mstep_s"] / it, 1e9 * e / n / float(fl), ghyp, target)
PY
  done
done
python3 - runs.txt "$table" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault(f[0], []).append(f)
out = ["%-15s %-3s %4s %5s %9s %9s %9s %8s %9s %8s %6s" % ("workload", "fam", "d", "iters",
       "ms/iter", "E ns/row", "M us/it", "E/floor", "ghyp ms", "speedup", "target")]
for name, rs in rows.items():
    med = lambda k: statistics.median(float(r[k]) for r in rs)
    ms, ghyp, target = med(4), rs[0][8], rs[0][9]
    sp = "%.0fx" % (float(ghyp) / ms) if ghyp != "-" else "-"
    ok = "" if target == "-" else (" ok" if ms <= float(target) else " MISS")
    out.append("%-15s %-3s %4s %5s %9.3f %9.1f %9.1f %8.2f %9s %8s %6s%s" % (
        name, rs[0][1], rs[0][2], rs[0][3], ms, med(5), med(6), med(7), ghyp, sp, target, ok))
out.append("medians of %d runs, 1 rank, OPENBLAS_NUM_THREADS=1; ghyp = R ghyp per EM iteration "
           "on this machine (issue 5)" % len(next(iter(rows.values()))))
text = "\n".join(out)
print(text)
if sys.argv[2]:
    open(sys.argv[2], "w").write(text + "\n")
PY
echo
"$here/scripts/bench_mle.sh" --nvmm "$nvmm" --work "$work/mle" --reps "$reps" mle_table.txt \
  > /dev/null
cat mle_table.txt
if [ -n "$table" ]; then
  { echo; cat mle_table.txt; } >> "$table"
fi
