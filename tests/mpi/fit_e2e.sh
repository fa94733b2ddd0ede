#!/usr/bin/env bash
# fit_e2e.sh: every subcommand end to end on the bundled NIG sample: import, fit on 1, 2 and 4
# ranks (bitwise-identical results, the maximum-likelihood value of the reference fit), score
# (agrees with the fit), sample (rank-count independent), info.
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3
mkdir -p "$work"
cd "$work"
rm -f nig.h5 m1.h5 m2.h5 m4.h5 s2.h5 s4.h5
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 | tee import.out
grep -q "Wrote 5000 rows x 3 columns" import.out

for np in 1 2 4; do
  mpirun -n $np "$nvmm" fit --data nig.h5 --family nig --tol 1e-8 --max-iter 1000 \
    --out m$np.h5 --json 1 --verbose 0 > fit$np.json
done
# Exact reductions: the fitted model and its log-likelihood are bitwise the same on 1, 2 and 4
# ranks: the JSON summaries but for "ranks" and "elapsed_s", and the model files whole (lib.sh)
# but for /history/elapsed and /meta, whose stored configuration names each run's out file
# (ranks-bitwise compares /meta too).
for np in 1 2 4; do strip_json fit$np.json > fit$np.strip; done
diff fit1.strip fit2.strip || fail "fit JSON: 2 ranks differ from 1 rank"
diff fit1.strip fit4.strip || fail "fit JSON: 4 ranks differ from 1 rank"
same_h5 m1.h5 m2.h5 --exclude-path /history/elapsed --exclude-attribute /meta
same_h5 m1.h5 m4.h5 --exclude-path /history/elapsed --exclude-attribute /meta
# The MLE: R ghyp at tight tolerance reaches -20519.774689 in total (-4.10395493780 per row).
# EM at tol 1e-8 is within 1e-7 of it per row (the change rule stops within ~tol of the
# optimum and the LL is quadratic there).
python3 - fit2.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ll = r["loglik_mean"]
assert r["converged"] and r["reason"] == "converged", r["reason"]
assert abs(ll - (-20519.774689 / 5000)) < 1e-7, ll
g = r["gamma"]
assert abs(g[0] - 0.40) < 0.1 and abs(g[1] + 0.28) < 0.1 and abs(g[2] - 0.09) < 0.1, g
print("NIG fit: mean LL %.10f, total %.6f, %d iterations, gamma %s" %
      (ll, r["loglik_total"], r["iterations"], g))
PY

# score: the fitted model's mean log-likelihood, the same bits as the fit's closing pass.
for np in 1 3; do
  mpirun -n $np "$nvmm" score --model m2.h5 --data nig.h5 | tee score$np.out
done
diff score1.out score3.out
python3 - fit2.json score1.out <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = float(open(sys.argv[2]).read().split()[2])
assert abs(s - r["loglik_mean"]) <= 1e-12 * abs(s), (s, r["loglik_mean"])
PY

# sample: 2 and 4 ranks write identical files.
mpirun -n 2 "$nvmm" sample --model m2.h5 --n 10000 --seed 5 --block 1000 --out s2.h5
mpirun -n 4 "$nvmm" sample --model m2.h5 --n 10000 --seed 5 --block 1000 --out s4.h5
same_h5 s2.h5 s4.h5
h5dump -H -d /X s2.h5 > s2.txt || fail "s2.h5 has no /X"
grep -q "( 10000, 3 )" s2.txt || fail "s2.h5:/X is not 10000 x 3"

# info: a model file and a data file, in words (src/cli/info.c): the family, the dimensions and
# the fit's record, as the files hold them.
"$nvmm" info m2.h5 | tee info_model.out
grep -q "^  family: nig, d = 3$" info_model.out || fail "info: no 'family: nig, d = 3'"
it=$(jq .iterations fit2.json)
grep -q "^  fit: converged, $it iterations, n = 5000 rows, 2 ranks, data nig.h5:/X$" \
  info_model.out || fail "info: the fit line does not match fit2.json ($it iterations)"
"$nvmm" info nig.h5 | tee info_data.out
grep -q "^  /X: 5000 x 3 float64 (rows x columns), columns: x1, x2, x3$" info_data.out ||
  fail "info: the data file's /X is not described as 5000 x 3 with its column names"
# The same facts as one JSON object (info --json): the parameters bit for bit those of the fit's
# own summary (both print every double with 17 digits) but Sigma, which the model reader
# symmetrizes (the fit's differs by a rounding across the diagonal), mu's d numbers those the
# text shows (%.6g, as awk prints the same doubles), and the fit's record and the data's shape.
info_json m2.h5 . > info_model.json
[ "$(jq -r '[.kind, .family, .d, (.mu | length)] | join(" ")' info_model.json)" = "model nig 3 3" ] ||
  fail "info --json: not a model of family nig, d = 3 with 3 mu entries"
jq -e --slurpfile f fit2.json '[.mu, .gamma, .subordinator] == [$f[0].mu, $f[0].gamma,
  $f[0].subordinator] and .sigma == (.sigma | transpose) and ([range(3) as $i | range(3) as $j |
  (.sigma[$i][$j] - $f[0].sigma[$i][$j]) as $e | ($e * $e <= 1e-30 * .sigma[$i][$j] *
  .sigma[$i][$j])] | all)' info_model.json > /dev/null ||
  fail "info --json: the parameters differ from the fit's summary fit2.json"
mu_text=$(jq -r '.mu[]' info_model.json | awk '{ printf "%s%.6g", (NR > 1 ? ", " : ""), $1 }')
grep -qxF "  mu: [$mu_text]" info_model.out || fail "info --json: mu [$mu_text] is not the text's"
[ "$(jq -r '[.fit.reason, .fit.iterations, .fit.n, .fit.ranks, .fit.data, .history.iterations,
  .fit.loglik_mean == $f[0].loglik_mean] | join(" ")' --slurpfile f fit2.json info_model.json)" = \
  "converged $it 5000 2 nig.h5:/X $it true" ] || fail "info --json: the fit's record is not fit2.json's"
[ "$(info_json nig.h5 '[.kind, (.objects[] | .path, .shape[], .type, .columns[])] | join(" ")')" = \
  "data /X 5000 3 float64 x1 x2 x3" ] || fail "info --json: the data file's /X is not 5000 x 3 float64"

# A data set of two files (nvmm fit/score --data a.h5,b.h5): the first 2000 rows and the last
# 3000. Rows are reduced in fixed global blocks, so the fit is bitwise the single-file one.
rm -f part_a.h5 part_b.h5 m_ab.h5
head -n 2001 "$data/nig_5000x3.csv" > part_a.csv
{ head -n 1 "$data/nig_5000x3.csv"; tail -n +2002 "$data/nig_5000x3.csv"; } > part_b.csv
"$nvmm" import part_a.csv part_a.h5 > import_a.out
"$nvmm" import part_b.csv part_b.h5 > import_b.out
grep -q "Wrote 2000 rows x 3 columns" import_a.out
grep -q "Wrote 3000 rows x 3 columns" import_b.out
mpirun -n 2 "$nvmm" fit --data part_a.h5,part_b.h5 --family nig --tol 1e-8 --max-iter 1000 \
  --out m_ab.h5 --json 1 --verbose 0 > fit_ab.json
strip_json fit_ab.json > fit_ab.strip
diff fit2.strip fit_ab.strip || fail "fit on two files differs from the fit on one"
# The model file too, but for /meta, whose configuration names the other data.
same_h5 m2.h5 m_ab.h5 --exclude-path /history/elapsed --exclude-attribute /meta
# score takes a list too (here with explicit datasets): the same line as on the single file.
mpirun -n 3 "$nvmm" score --model m2.h5 --data part_a.h5:/X,part_b.h5:/X > score_ab.out
diff score1.out score_ab.out
echo "all subcommands passed"
