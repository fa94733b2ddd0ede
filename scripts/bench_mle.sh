#!/usr/bin/env bash
# bench_mle.sh: time to the MLE. Default settings (the MLE stopping rule), plain EM (--accel
# none) against SQUAREM (the default), on 1 rank: passes over the data and milliseconds to the
# optimum, and the ratio of R ghyp's total fit time at its defaults on the same data to nvmm's.
#
#   ms       the fit's own time from start to end, start-up included (the moment pass, the
#            GH start): the JSON's timing.total_s; launching mpirun and reading the file are
#            not in it (ghyp's figure has no such costs either); median of --reps runs;
#   passes   every pass over the data (deterministic);
#   LL       total log-likelihood at the end (must agree between runs and within 0.005 nats
#            between plain and SQUAREM; the script fails if not);
#   ghyp     R ghyp 1.6.5's total fit time at its defaults on this machine (issue 11: about 1.1 s
#            for nig_5000x3 NIG and 0.37 s for smi_stocks GH; no R here to rerun it), and
#            ghyp / nvmm for SQUAREM.
# Usage: scripts/bench_mle.sh [--nvmm PATH] [--data DIR] [--work DIR] [--reps N] [TABLE_FILE]
set -euo pipefail
prog=bench_mle.sh
# shellcheck source=scripts/bench_fit_setup.sh
. "$(dirname "$0")/bench_fit_setup.sh"
cut -d, -f2 "$data/nig_5000x3.csv" > x2.csv
"$nvmm" import x2.csv x2.h5 > /dev/null

# name | file | family | ghyp seconds ("" when not measured)
cases=("nig_5000x3|nig.h5|nig|1.1" "nig_5000x3|nig.h5|gh|" "smi_stocks|smi.h5|gh|0.37"
       "smi_stocks|smi.h5|nig|" "smi_stocks|smi.h5|vg|" "smi_stocks|smi.h5|ninvg|"
       "nig_5000x3_x2|x2.h5|nig|" "nig_5000x3_x2|x2.h5|gh|")
: > runs.tsv
for ((rep = 1; rep <= reps; rep++)); do
  for c in "${cases[@]}"; do
    IFS='|' read -r name file fam ghyp <<< "$c"
    for accel in none squarem; do
      json="${name}_${fam}_${accel}_r$rep.json"
      mpirun -n 1 "$nvmm" fit --data "$file" --family "$fam" --accel "$accel" --max-iter 5000 \
        --out model.h5 --verbose 2 --json 1 > "$json" 2> fit.err ||
        { cat fit.err >&2; echo "bench_mle.sh: fit failed: $name $fam $accel" >&2; exit 1; }
      printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$fam" "$accel" "$ghyp" "$json" >> runs.tsv
    done
  done
done

python3 - runs.tsv "$reps" > table.txt <<'PY'
import json, statistics, sys
runs = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
reps = int(sys.argv[2])
keys = []
for name, fam, accel, ghyp, _ in runs:
    if (name, fam) not in keys:
        keys.append((name, fam))
print("%-15s %-6s %7s %9s %16s %7s %9s %16s %7s %9s" % (
    "data", "family", "passes", "ms", "LL", "passes", "ms", "LL", "ghyp s", "ghyp/nvmm"))
print("%-15s %-6s %34s %34s" % ("", "", "---------- plain EM ----------",
                               "---------- SQUAREM -----------"))
bad = 0
for name, fam in keys:
    row, ghyp = {}, ""
    for accel in ("none", "squarem"):
        js = [json.load(open(r[4])) for r in runs if r[:3] == [name, fam, accel]]
        ghyp = [r[3] for r in runs if r[:2] == [name, fam]][0]
        lls = {j["loglik_total"] for j in js}
        if len(lls) != 1 or any(j["reason"] != "converged" for j in js):
            print("bench_mle.sh: %s %s %s: runs disagree or did not converge" % (name, fam, accel),
                  file=sys.stderr)
            bad = 1
        row[accel] = (js[0]["passes"], 1e3 * statistics.median(j["timing"]["total_s"] for j in js),
                      js[0]["loglik_total"])
    if row["squarem"][2] < row["none"][2] - 0.005:
        print("bench_mle.sh: %s %s: SQUAREM's optimum is below plain EM's" % (name, fam),
              file=sys.stderr)
        bad = 1
    ratio = "%.0fx" % (float(ghyp) / (row["squarem"][1] / 1e3)) if ghyp else "-"
    print("%-15s %-6s %7d %9.2f %16.6f %7d %9.2f %16.6f %7s %9s" % (
        name, fam, *row["none"], *row["squarem"], ghyp or "-", ratio))
print("1 rank, OPENBLAS_NUM_THREADS=1, medians of %d runs; default stopping (MLE rule), "
      "max_iter 5000" % reps)
sys.exit(bad)
PY
cat table.txt
if [ -n "$table_file" ]; then cp table.txt "$table_file"; fi
