#!/usr/bin/env bash
# risk.sh: `nvmm score`'s marginal mode and `nvmm risk` end to end (src/numerics.md 9.4).
#  (a) Round trip: `score --quantile P` then `score --at` that quantile gives P back within 1e-9,
#      for each margin (by index and by name) and the equal-weights portfolio of a 3-D NIG law.
#  (b) Calibration: the marginal CDF values (--cdf) of the rows of nig_5000x3, under the true
#      NIG law (tests/data/README.md) and under an NIG fit on 2 ranks, look uniform: the
#      Kolmogorov-Smirnov statistic is below the 1% critical value 1.63/sqrt(n) for every margin
#      and the equal-weights portfolio; the --cdf file is the same on 1 and 2 ranks.
#  (c) Monte Carlo: `risk --mc 200000` agrees with the exact VaR and ES within 4 standard errors
#      for an NIG and a GH model at levels 0.99 and 0.975, and its JSON is the same bits on 1 and
#      2 ranks (the draws are those of `nvmm sample`, block by block, whatever the rank count).
#  (d) Refusals: too few and too many weights (file and line named), levels 0, 1 and 1.5, a
#      missing model file, a missing weights file, --marginal out of range.
#  (e) Reference: `nvmm risk` on one-column NIG and GH models against tests/data/risk_ref.tsv
#      (mpmath at 30 digits, scripts/gen_risk_table.py), relative 1e-9 in VaR and ES: the
#      header's accuracy (quantile to 1e-10 relative in its probability, ES to 1e-10 relative)
#      with a factor 10 to spare; observed 1e-16 to 1.2e-11 (the heavy-tailed NIG at 0.99).
# Usage: risk.sh NVMM DATA_DIR WORK_DIR
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3
mkdir -p "$work"
cd "$work"
rm -f ./*.json ./*.h5 ./*.err ./*.txt ./*.csv
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 > /dev/null || fail "import failed"

# The law nig_5000x3 was drawn from, and a GH law, as nvmm sample's options.
sig=1,.3,.1,.3,1,.2,.1,.2,1
nig=(--family nig --d 3 --gamma "0.4,-0.3,0.1" --sigma "$sig" --sub "1,1.5")
gh=(--family gh --d 3 --mu "0.1,0,-0.2" --gamma "0.3,-0.2,0.5" --sigma "$sig" --sub "-0.8,1.2,1.5")

# ---- (a) quantile and CDF round trip ------------------------------------------------------------
for sel in "--marginal 0" "--marginal x2" "--marginal 2" "--equal"; do
  # shellcheck disable=SC2086 # $sel is two words by design
  "$nvmm" score "${nig[@]}" $sel --data nig.h5 --quantile 0.001,0.3,0.975 --json > q.json ||
    fail "(a) $sel: --quantile failed"
  at=$(jq -r '[.quantile[].x | tostring] | join(",")' q.json)
  # shellcheck disable=SC2086
  "$nvmm" score "${nig[@]}" $sel --data nig.h5 --at "$at" --json > p.json ||
    fail "(a) $sel: --at failed"
  err=$(jq -n --slurpfile q q.json --slurpfile p p.json \
    '[range(3) as $i | ($q[0].quantile[$i].p - $p[0].cdf[$i].p) | fabs] | max')
  jq -e -n "$err <= 1e-9" > /dev/null || fail "(a) $sel: CDF(quantile(p)) - p = $err"
  echo "(a) $sel: quantiles $at; max |CDF(quantile(p)) - p| = $err"
done
# Without --data a column goes by index, and the text output has one line per point.
"$nvmm" score "${nig[@]}" --marginal 1 --at 0 --quantile 0.5 --logpdf-at 0 > t.txt ||
  fail "(a) text output failed"
grep -q '^cdf 0 0\.6099' t.txt && grep -q '^quantile 0\.5 ' t.txt && grep -q '^logpdf 0 ' t.txt ||
  { cat t.txt; fail "(a) text output"; }

# ---- (b) calibration: KS statistics of the --cdf values ---------------------------------------
# ks FILE.h5: the Kolmogorov-Smirnov distance of the /cdf values from the uniform law.
ks() {
  h5dump -d /cdf -m %.17g -y -w 1 -o ks.txt "$1" > /dev/null || fail "h5dump $1"
  tr -d ' ,' < ks.txt | grep -v '^$' | sort -g | awk '{ u[++n] = $1 }
    END { d = 0; for (i = 1; i <= n; i++) { a = i / n - u[i]; b = u[i] - (i - 1) / n;
          if (a > d) d = a; if (b > d) d = b }; if (n != 5000) d = 99; print d }'
}
mpirun -n 2 "$nvmm" fit --data nig.h5 --family nig --out fit.h5 --verbose 0 > /dev/null ||
  fail "(b) the fit failed"
crit=$(awk 'BEGIN { print 1.63 / sqrt(5000) }')
for model in true fit; do
  for sel in "--marginal 0" "--marginal 1" "--marginal x3" "--equal"; do
    if [ "$model" = true ]; then spec=("${nig[@]}"); else spec=(--model fit.h5); fi
    # shellcheck disable=SC2086
    mpirun -n 2 "$nvmm" score "${spec[@]}" $sel --data nig.h5 --cdf --out c2.h5 > /dev/null ||
      fail "(b) $model $sel: --cdf failed"
    d=$(ks c2.h5)
    jq -e -n "$d < $crit" > /dev/null || fail "(b) $model $sel: KS statistic $d >= $crit"
    echo "(b) $model model, $sel: KS statistic $d (1% critical value $crit)"
  done
done
# shellcheck disable=SC2086
"$nvmm" score --model fit.h5 --equal --data nig.h5 --cdf --out c1.h5 > /dev/null ||
  fail "(b) --cdf on 1 rank failed"
h5diff c1.h5 c2.h5 /cdf /cdf > /dev/null || fail "(b) the --cdf files of 1 and 2 ranks differ"

# ---- (c) Monte Carlo ------------------------------------------------------------------------------
printf 'x1,x2,x3\n0.5,-0.2,0.7\n' > w.csv
for m in nig gh; do
  if [ "$m" = nig ]; then spec=("${nig[@]}" --equal); else spec=("${gh[@]}" --weights w.csv); fi
  for np in 1 2; do
    mpirun -n "$np" "$nvmm" risk "${spec[@]}" --level 0.99,0.975 --mc 200000 --seed 11 --json \
      > "mc-$m-$np.json" || fail "(c) $m on $np ranks failed"
  done
  cmp -s "mc-$m-1.json" "mc-$m-2.json" || fail "(c) $m: the JSON of 1 and 2 ranks differ"
  jq -r '.levels[] | "\(.level) \(.var) \(.mc_var) \(.mc_var_se) \(.es) \(.mc_es) \(.mc_es_se)"' \
    "mc-$m-1.json" | while read -r a v mv vse e me ese; do
    zv=$(jq -n "($mv - $v) / $vse") ze=$(jq -n "($me - $e) / $ese")
    jq -e -n "($zv | fabs) < 4 and ($ze | fabs) < 4" > /dev/null ||
      fail "(c) $m level $a: VaR $v vs MC $mv (z $zv), ES $e vs MC $me (z $ze)"
    echo "(c) $m level $a: VaR $v, MC $mv +- $vse (z $zv); ES $e, MC $me +- $ese (z $ze)"
  done
done
echo "(c) the Monte Carlo JSON is the same bits on 1 and 2 ranks"

# ---- (d) refusals ---------------------------------------------------------------------------------
# refuse WANT_RC PATTERN ARGS...: nvmm exits WANT_RC on 2 ranks, with one error line matching.
refuse() {
  local want=$1 pattern=$2 rc=0
  shift 2
  mpirun -n 2 "$nvmm" "$@" > /dev/null 2> d.err || rc=$?
  [ "$rc" -eq "$want" ] && grep -q -- "$pattern" d.err && [ "$(grep -c 'error' d.err)" -eq 1 ] ||
    { cat d.err; fail "(d) $*: exit $rc, want $want and '$pattern'"; }
  echo "(d) $*: $(cat d.err)"
}
printf '0.5\n0.5\n' > short.csv
printf 'w\n0.2\n0.3\n0.4\n0.1\n' > long.csv
printf 'x1,x2,x3\n0.2,abc,0.3\n' > junk.csv
refuse 1 "short.csv holds 2 weights (the last on line 2), the model has d = 3" \
  risk "${nig[@]}" --weights short.csv
refuse 1 "long.csv line 5: more than d = 3 weights" risk "${nig[@]}" --weights long.csv
refuse 1 "junk.csv line 2, field 2: 'abc'" score "${nig[@]}" --weights junk.csv --at 0
for lev in 0 1 1.5; do
  refuse 2 "risk: --level $lev is not in (0, 1)" risk "${nig[@]}" --equal --level "0.99,$lev"
done
refuse 1 "no_such_model.h5" risk --model no_such_model.h5 --equal
refuse 1 "cannot read the weights file no_such.csv" risk "${nig[@]}" --weights no_such.csv
refuse 1 "marginal 3: the model has columns 0 to 2" score "${nig[@]}" --marginal 3 --at 0
refuse 1 "marginal x9: no column of that name" score "${nig[@]}" --marginal x9 --data nig.h5 --at 0

# ---- (e) the mpmath reference -----------------------------------------------------------------
n=0
while read -r fam mu g s2 p1 p2 p3 lev var es; do
  case $fam in '#'*) continue ;; esac
  if [ "$fam" = nig ]; then sub=$p1,$p2; else sub=$p1,$p2,$p3; fi
  "$nvmm" risk --family "$fam" --d 1 --mu "$mu" --gamma "$g" --sigma "$s2" --sub "$sub" --equal \
    --level "$lev" --json > e.json || fail "(e) $fam $sub at $lev failed"
  rel=$(jq "[((.levels[0].var - $var) / $var | fabs), ((.levels[0].es - $es) / $es | fabs)] | max" \
    e.json)
  jq -e -n "$rel <= 1e-9" > /dev/null || fail "(e) $fam $mu $g $s2 $sub at $lev: relative $rel"
  echo "(e) $fam (mu $mu, gamma $g, s2 $s2, sub $sub) at $lev: VaR and ES within $rel"
  n=$((n + 1))
done < "$data/risk_ref.tsv"
[ "$n" -ge 8 ] || fail "(e) only $n reference rows"
echo "risk: OK"
