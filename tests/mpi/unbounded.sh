#!/usr/bin/env bash
# unbounded.sh: a fit whose likelihood is unbounded says so (src/numerics.md 8.6).
#
#  Data: nig_5000x3 (a sample of a known NIG model) with 1500 of its rows (30%, three in every
#  ten, so every rank holds some) set to one point near the mean, 0.25,-0.5,1.125.
#  (a) VG and GH: reason "unbounded", converged false, exit status 1 with the model file and JSON
#      written; the named value equals the repeated point within 1e-6 relative (max norm), and
#      its row count is exactly 1500; stderr names the remedies (--alpha-min density, removing
#      or jittering the rows). The same on 1 and 3 ranks, bitwise (JSON and model file).
#  (b) NInvG and NIG on the same data stop "unbounded" too (their laws collapse onto the point,
#      b -> 0; src/numerics.md 8.6), with the 1500 rows and the remedies; the hyperbolic family,
#      whose p = (d+1)/2 > d/2 keeps the density at mu finite, converges.
#  (c) VG with --alpha-min density converges to a finite fit (reason "converged").
#  (d) The ordinary data, smi_stocks and nig_5000x3, never stop "unbounded", for any family.
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3
mkdir -p "$work"
cd "$work"
rm -rf ./*.json ./*.h5 ./*.err r1 r3
mkdir r1 r3
point=0.25,-0.5,1.125
awk -F, -v p="$point" 'NR == 1 { print; next } { print ((NR - 2) % 10 < 3 ? p : $0) }' \
  "$data/nig_5000x3.csv" > rep.csv
[ "$(grep -cx -- "$point" rep.csv)" = 1500 ] || fail "rep.csv: not 1500 repeated rows"
"$nvmm" import rep.csv rep.h5 > /dev/null
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 > /dev/null
"$nvmm" import "$data/smi_stocks.csv" smi.h5 > /dev/null

fit() { # NP DIR NAME DATA FAMILY [OPTION...]: the fit's exit status in $rc
  local np=$1 dir=$2 name=$3 file=$4 fam=$5
  shift 5
  rc=0
  (cd "$dir" && mpirun -n "$np" "$nvmm" fit --data "../$file" --family "$fam" --out "$name.h5" \
    --json 1 --verbose 0 "$@" > "$name.json" 2> "$name.err") || rc=$?
}
check() { # DIR NAME JQ-EXPR: the JSON's EXPR must be true
  jq -e "$3" "$1/$2.json" > /dev/null || fail "[$1/$2] not $3: $(jq -c '{reason,unbounded}' "$1/$2.json")"
}

for fam in vg gh; do
  for np in 1 3; do
    fit "$np" "r$np" "$fam" rep.h5 "$fam"
    [ "$rc" = 1 ] || fail "[$fam on $np ranks] exit status $rc, not 1"
    [ -s "r$np/$fam.h5" ] || fail "[$fam on $np ranks] no model file"
    check "r$np" "$fam" '.reason == "unbounded" and .converged == false'
    check "r$np" "$fam" '.unbounded.rows == 1500'
    check "r$np" "$fam" '[.unbounded.value, [0.25, -0.5, 1.125]] | transpose
      | (map(.[0] - .[1] | fabs) | max) <= 1e-6 * 1.125'
    check "r$np" "$fam" '.unbounded.value == .mu'
    grep -q -- 'unbounded' "r$np/$fam.err" || fail "[$fam] stderr does not say unbounded"
    grep -q -- 'held by 1500 row(s)' "r$np/$fam.err" || fail "[$fam] stderr: no row count"
    grep -q -- 'jitter' "r$np/$fam.err" || fail "[$fam] stderr: no remedy"
  done
  grep -q -- '--alpha-min density' r1/vg.err || fail "[vg] stderr does not name --alpha-min density"
  diff <(strip_json "r1/$fam.json") <(strip_json "r3/$fam.json") ||
    fail "[$fam] the JSON differs between 1 and 3 ranks"
  same_model "r1/$fam.h5" "r3/$fam.h5" 3
done

for fam in ninvg nig; do
  fit 2 r1 "$fam" rep.h5 "$fam"
  [ "$rc" = 1 ] || fail "[$fam] exit status $rc, not 1"
  check r1 "$fam" '.reason == "unbounded" and .unbounded.rows == 1500'
  grep -q -- 'jitter' "r1/$fam.err" || fail "[$fam] stderr: no remedy"
done
fit 2 r1 hyp rep.h5 hyp
[ "$rc" = 0 ] || fail "[hyp] exit status $rc"
check r1 hyp '.reason == "converged" and (has("unbounded") | not)'

fit 2 r1 vg-density rep.h5 vg --alpha-min density
[ "$rc" = 0 ] || fail "[vg --alpha-min density] exit status $rc"
check r1 vg-density '.reason == "converged" and (.loglik_total | isfinite)'
check r1 vg-density '.subordinator.alpha >= 1.6 - 1e-12'

for file in nig smi; do
  for fam in gauss vg ninvg nig gh hyp; do
    fit 2 r1 "$file-$fam" "$file.h5" "$fam"
    [ "$rc" = 0 ] || fail "[$file $fam] exit status $rc"
    check r1 "$file-$fam" '.reason == "converged" and (has("unbounded") | not)'
  done
done
echo "unbounded: ok"
