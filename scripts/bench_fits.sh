#!/usr/bin/env bash
# bench_fits.sh: fit-speed benchmark of `nvmm fit` on 1 and 2 ranks, against the R ghyp peer.
#
#   (a) nig_5000x3 (5000 x 3) fit as NIG at tol 1e-8: mean and total log-likelihood, iterations,
#       fit time, wall time, and time per EM iteration (the JSON's elapsed_s / iterations), with
#       its ratio to R ghyp's ~35 ms per EM iteration on the same 5000 x 3 data;
#   (b) smi_stocks (1769 x 6, the date column skipped) fit as nig, gh, vg and ninvg at the
#       default tol and at tol 1e-8: log-likelihood, iterations, fit time, wall time.
#
# Each fit runs --reps times (default 5), the repetitions interleaved so that drift on a noisy
# machine spreads over every case; times are medians. "fit s" is the fit's own elapsed_s (from
# the start of the fit to its last log-likelihood pass); "wall s" is the whole mpirun command
# (launch, reading the data, writing the model). The log-likelihoods of all repetitions and of
# both rank counts must agree bitwise (nvmm's reductions are exact); the script fails if not.
# About 1 minute on 2 cores. Run it through meson with `meson test -C BUILD --benchmark -v`.
#
# Usage: scripts/bench_fits.sh [--nvmm PATH] [--data DIR] [--work DIR] [--reps N] [TABLE_FILE]
#   --nvmm   the nvmm executable (default: build/src/cli/nvmm of the source tree)
#   --data   the directory with nig_5000x3.csv and smi_stocks.csv (default: tests/data)
#   --work   where data, models and JSON go (default: a fresh temporary directory, removed)
#   TABLE_FILE  also write the table there
set -euo pipefail
prog=bench_fits.sh
# shellcheck source=scripts/bench_fit_setup.sh
. "$(dirname "$0")/bench_fit_setup.sh"

# case name | data file | family | --tol value ("" for the default)
cases=("a:nig_5000x3|nig.h5|nig|1e-8")
for fam in nig gh vg ninvg; do
  cases+=("b:smi_stocks|smi.h5|$fam|" "b:smi_stocks|smi.h5|$fam|1e-8")
done

: > runs.tsv
for ((rep = 1; rep <= reps; rep++)); do
  for c in "${cases[@]}"; do
    IFS='|' read -r name file fam tol <<< "$c"
    for np in 1 2; do
      json="${name#*:}_${fam}_${tol:-default}_np${np}_r${rep}.json"
      t0=$EPOCHREALTIME
      if ! mpirun -n "$np" "$nvmm" fit --data "$file" --family "$fam" ${tol:+--tol "$tol"} \
          --out model.h5 --verbose 0 --json 1 > "$json" 2> fit.err; then
        cat fit.err >&2
        echo "bench_fits.sh: fit failed: ${name#*:} $fam tol=${tol:-default} on $np ranks" >&2
        exit 1
      fi
      t1=$EPOCHREALTIME
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$fam" "${tol:-default}" "$np" "$json" \
        "$t0" "$t1" >> runs.tsv
    done
  done
done

rc=0 ncpu=$(getconf _NPROCESSORS_ONLN) version=$("$nvmm" --version)
python3 - runs.tsv "$reps" "$ncpu" "$version" > table.txt <<'PY' || rc=$?
import json, statistics, sys

GHYP_MS = 35.0  # R ghyp's time per EM iteration on 5000 x 3 NIG data
runs, reps, ncpu, version = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
groups = {}
for line in open(runs):
    name, fam, tol, np_, path, t0, t1 = line.rstrip("\n").split("\t")
    groups.setdefault((name, fam, tol, int(np_)), []).append(
        (json.load(open(path)), float(t1) - float(t0)))

bad = []
lls = {}  # (name, fam, tol) -> every loglik_total seen, over reps and ranks
for (name, fam, tol, np_), rs in groups.items():
    lls.setdefault((name, fam, tol), set()).update(r["loglik_total"] for r, _ in rs)
    if len({r["iterations"] for r, _ in rs}) != 1:
        bad.append(f"{name} {fam} tol={tol} np={np_}: iterations differ between repetitions")
for k, v in lls.items():
    if len(v) != 1:
        bad.append(f"{k[0]} {k[1]} tol={k[2]}: log-likelihood differs between runs: {sorted(v)}")


def row(key):
    rs = groups[key]
    r = rs[0][0]
    fit_s = statistics.median(x["elapsed_s"] for x, _ in rs)
    wall_s = statistics.median(w for _, w in rs)
    ms_iter = statistics.median(1e3 * x["elapsed_s"] / x["iterations"] for x, _ in rs)
    return r, fit_s, wall_s, ms_iter


try:
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
except OSError:
    load = "unknown"
out = [f"nvmm fit benchmark: {version}, {ncpu} CPUs (load {load} at the end), medians of {reps} "
       "runs;", "fit s = the JSON's elapsed_s, wall s = the whole mpirun command"]
out.append("")
out.append("(a) nig_5000x3 (5000 x 3), family nig, tol 1e-8")
hdr = (f"{'ranks':>5} {'iters':>5} {'reason':<10} {'mean LL':>15} {'total LL':>17} "
       f"{'fit s':>8} {'wall s':>7} {'ms/iter':>8} {'vs ghyp 35 ms/iter':>19}")
out += [hdr, "-" * len(hdr)]
for np_ in (1, 2):
    r, fit_s, wall_s, ms = row(("a:nig_5000x3", "nig", "1e-8", np_))
    out.append(f"{np_:>5} {r['iterations']:>5} {r['reason']:<10} {r['loglik_mean']:>15.10f} "
               f"{r['loglik_total']:>17.6f} {fit_s:>8.4f} {wall_s:>7.3f} {ms:>8.3f} "
               f"{GHYP_MS / ms:>10.1f}x faster")
out.append("(R ghyp's maximum-likelihood fit at tight tolerance: total -20519.774689)")
out.append("")
out.append("(b) smi_stocks (1769 x 6)")
hdr = (f"{'family':<6} {'tol':>7} {'ranks':>5} {'iters':>5} {'reason':<10} {'mean LL':>15} "
       f"{'total LL':>17} {'fit s':>8} {'wall s':>7} {'ms/iter':>8}")
out += [hdr, "-" * len(hdr)]
for fam in ("nig", "gh", "vg", "ninvg"):
    for tol in ("default", "1e-8"):
        for np_ in (1, 2):
            r, fit_s, wall_s, ms = row(("b:smi_stocks", fam, tol, np_))
            shown = tol if tol != "default" else f"{r['tol']:g}*"
            out.append(f"{fam:<6} {shown:>7} {np_:>5} {r['iterations']:>5} {r['reason']:<10} "
                       f"{r['loglik_mean']:>15.10f} {r['loglik_total']:>17.6f} {fit_s:>8.4f} "
                       f"{wall_s:>7.3f} {ms:>8.3f}")
out.append("* the default tolerance (no --tol given), as the fit's JSON reports it")
out.append("ms/iter is elapsed_s / iterations and includes initialization, so it overstates")
out.append("the cost of an iteration when the iterations are few")
print("\n".join(out))
for b in bad:
    print("bench_fits.sh: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
cat table.txt
if [ -n "$table_file" ]; then
  [ table.txt -ef "$table_file" ] || cp table.txt "$table_file"
  echo "Table written to $table_file"
fi
exit $rc
