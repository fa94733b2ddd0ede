#!/usr/bin/env bash
# select.sh: `nvmm select` end to end on nig_5000x3 (3-D NIG draws; tests/data/README.md).
#  (a) NIG, VG, GH and Gauss, skewed, on 2 ranks: each candidate's loglik_total is bitwise that
#      of a separate `nvmm fit --family F` with the same options, and its model file is that
#      fit's (h5diff, all but /meta's attributes, which name the file, and the wall-clock
#      /history/elapsed); n_params is the formula's; AIC and BIC recomputed here from LL, k and n
#      agree; the list is sorted by BIC and the best is NIG or GH (the data are NIG). The wall
#      time of select against the sum of the separate fits is printed.
#  (b) The JSON (it holds no timings) and the NIG and GH model files are bitwise the same on 1
#      and 3 ranks as on 2.
#  (c) --symmetric both doubles the latent candidates; the LR test of NIG against symmetric NIG
#      has df = 3 and the chi^2 reference; GH against VG is a boundary test, each family against
#      the Gaussian a flagged limit.
#  (d) Refusals, each naming what it refuses: an unknown family, a bad --symmetric value, an
#      --out that cannot be a directory, missing data.
#  (e) The hyperbolic family as a candidate: k = 2d + d(d+1)/2 + 1, its LL that of a separate
#      `nvmm fit --family hyp`, below GH's, and GH against it an interior test with df 1.
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3
command -v jq > /dev/null || fail "jq is not installed (scripts/deps.sh installs it)"
mkdir -p "$work"
cd "$work"
rm -rf ./*.json ./*.err ./*.h5 sel* fits
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 > /dev/null || fail "import failed"
now() { date +%s.%N; }

# ---- (a) against separate fits ------------------------------------------------------------------
opts=(--max-iter 300 --tol-ll 1e-4)
t0=$(now)
mpirun -n 2 "$nvmm" select --data nig.h5 --families nig,vg,gh,gauss --symmetric no --out sel2 \
  "${opts[@]}" --json > sel2.json 2> sel2.err || { cat sel2.err; fail "(a) select failed"; }
t1=$(now)
mkdir -p fits
for f in nig vg gh gauss; do
  mpirun -n 2 "$nvmm" fit --data nig.h5 --family "$f" --out "fits/$f.h5" "${opts[@]}" --json 1 \
    --verbose 0 > "fit-$f.json" || fail "(a) nvmm fit --family $f failed"
done
t2=$(now)
[ "$(jq '.families | length' sel2.json)" -eq 4 ] || fail "(a) not 4 candidates"
n=5000 d=3
for f in nig vg gh gauss; do
  e=$(jq -c ".families[] | select(.family == \"$f\")" sel2.json)
  [ -n "$e" ] || fail "(a) $f missing from the JSON"
  [ "$(jq -r .symmetric <<< "$e")" = false ] || fail "(a) $f: symmetric"
  a=$(jq .loglik_total <<< "$e") b=$(jq .loglik_total "fit-$f.json")
  [ "$a" = "$b" ] || fail "(a) $f: select LL $a, nvmm fit LL $b"
  [ "$(jq -r .iterations <<< "$e")" = "$(jq -r .iterations "fit-$f.json")" ] ||
    fail "(a) $f: iterations differ from nvmm fit's"
  file=$(jq -r .model_file <<< "$e")
  [ "$file" = "sel2/$f.h5" ] && [ -s "$file" ] || fail "(a) $f: no model file $file"
  same_h5 "$file" "fits/$f.h5" --exclude-path /history/elapsed --exclude-attribute /meta
  case $f in
    gh) k=$((2 * d + d * (d + 1) / 2 + 2)) ;;
    gauss) k=$((d + d * (d + 1) / 2)) ;;
    *) k=$((2 * d + d * (d + 1) / 2 + 1)) ;;
  esac
  [ "$(jq .n_params <<< "$e")" -eq "$k" ] || fail "(a) $f: n_params $(jq .n_params <<< "$e"), not $k"
  jq -e --argjson k "$k" --argjson n "$n" '
    (.aic - (-2 * .loglik_total + 2 * $k) | fabs) < 1e-9 * (.aic | fabs) and
    (.bic - (-2 * .loglik_total + $k * ($n | log)) | fabs) < 1e-9 * (.bic | fabs)' <<< "$e" \
    > /dev/null || fail "(a) $f: AIC or BIC is not -2 LL + 2k, -2 LL + k log n"
done
jq -e '[.families[].bic] as $b | $b == ($b | sort)' sel2.json > /dev/null ||
  fail "(a) the candidates are not sorted by BIC"
jq -e '.best == .families[0].family and (.best == "nig" or .best == "gh")' sel2.json \
  > /dev/null || fail "(a) best is $(jq -r .best sel2.json), not NIG or GH"
grep -q "^Best (lowest BIC): $(jq -r .best sel2.json)\$" sel2.err || fail "(a) the table names no best"
ts=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
tf=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.2f", b - a }')
echo "(a) LL, iterations and model files bitwise nvmm fit's; k, AIC, BIC; best $(jq -r .best sel2.json)"
echo "(a) wall time: select $ts s, the 4 separate fits $tf s (2 ranks)"

# ---- (b) ranks ------------------------------------------------------------------------------------
for np in 1 3; do
  mpirun -n "$np" "$nvmm" select --data nig.h5 --families nig,vg,gh,gauss --symmetric no \
    --out "sel$np" "${opts[@]}" --json --verbose 0 > "sel$np.json" ||
    fail "(b) select on $np ranks failed"
  sed "s/sel$np/sel2/" "sel$np.json" | diff - sel2.json > /dev/null ||
    fail "(b) the JSON on $np ranks differs from 2 ranks'"
  for f in nig gh; do # /meta names the file and the rank count
    same_h5 "sel$np/$f.h5" "sel2/$f.h5" --exclude-path /history/elapsed --exclude-attribute /meta
  done
done
echo "(b) the same JSON, NIG and GH model files on 1, 2 and 3 ranks"

# ---- (c) --symmetric both ---------------------------------------------------------------------------
mpirun -n 2 "$nvmm" select --data nig.h5 --families nig,vg,gh,gauss --symmetric both \
  --out selb "${opts[@]}" --json --verbose 0 > selb.json || fail "(c) select failed"
[ "$(jq '.families | length' selb.json)" -eq 7 ] || fail "(c) not 3 x 2 + 1 candidates"
for f in nig vg gh; do [ -s "selb/$f-sym.h5" ] || fail "(c) no selb/$f-sym.h5"; done
jq -e '.lr_tests[] | select(.big == "nig" and .small == "nig-sym") |
  .df == 3 and .reference == "chi2(3)" and .p_value >= 0 and .p_value <= 1' selb.json \
  > /dev/null || fail "(c) no LR test nig vs nig-sym with df 3"
jq -e '.lr_tests[] | select(.big == "gh" and .small == "vg") | .df == 1 and .nesting ==
  "boundary" and (.reference | test("0.5 chi2\\(0\\) \\+ 0.5 chi2\\(1\\)"))' selb.json \
  > /dev/null || fail "(c) GH vs VG is not a boundary test"
jq -e '[.lr_tests[] | select(.small == "gauss")] | length == 6 and
  all(.nesting == "limit" and (.reference | test("non-standard")))' selb.json > /dev/null ||
  fail "(c) the latent families against the Gaussian are not flagged non-standard"
[ "$(jq '.families[] | select(.family == "nig" and .symmetric == false) | .loglik_total' \
  selb.json)" = "$(jq .loglik_total fit-nig.json)" ] || fail "(c) NIG's LL moved"
echo "(c) 7 candidates; nig vs nig-sym: df 3, chi2(3); GH vs VG a boundary test; Gauss limits flagged"

# ---- (d) refusals ---------------------------------------------------------------------------------
refuse() { # refuse EXIT PATTERN ARGS...: exits EXIT with PATTERN on stderr, writes no model
  local want=$1 pat=$2 rc=0
  shift 2
  mpirun -n 2 "$nvmm" select "$@" > d.out 2> d.err || rc=$?
  [ "$rc" -eq "$want" ] && grep -q -- "$pat" d.err ||
    { cat d.err; fail "(d) select $*: exit $rc, expected $want and '$pat'"; }
}
refuse 2 "unknown family 'laplace'" --data nig.h5 --families nig,laplace --out seld
[ ! -e seld ] || fail "(d) a refused select created its directory"
refuse 2 "unknown --symmetric value 'maybe'" --data nig.h5 --symmetric maybe --out seld
: > notadir
refuse 1 "notadir is not a directory" --data nig.h5 --families gauss --out notadir
refuse 1 "cannot create the output directory /proc/nvmm-select" --data nig.h5 \
  --families gauss --out /proc/nvmm-select
refuse 1 "cannot open 'missing.h5'" --data missing.h5 --families gauss --out seld
[ ! -e seld ] || fail "(d) a select without data created its directory"
refuse 2 "no data given" --families gauss --out seld
refuse 2 "no output directory" --data nig.h5 --families gauss
echo "(d) refusals name the family, the value, the directory and the data"

# ---- (e) the hyperbolic family ------------------------------------------------------------------
mpirun -n 2 "$nvmm" select --data nig.h5 --families gh,hyp --out sele "${opts[@]}" --json \
  --verbose 0 > sele.json || fail "(e) select gh,hyp failed"
mpirun -n 2 "$nvmm" fit --data nig.h5 --family hyp --out fits/hyp.h5 "${opts[@]}" --json 1 \
  --verbose 0 > fit-hyp.json || fail "(e) nvmm fit --family hyp failed"
jq -e --slurpfile h fit-hyp.json --slurpfile g fit-gh.json '
  (.families[] | select(.family == "hyp") | .n_params == 13 and
    .loglik_total == $h[0].loglik_total and .loglik_total <= $g[0].loglik_total) and
  (.lr_tests[] | select(.big == "gh" and .small == "hyp") | .df == 1 and .nesting == "interior")' \
  sele.json > /dev/null || fail "(e) the hyperbolic candidate"
echo "(e) hyp: k = 13, LL that of nvmm fit, below GH's; GH vs hyp interior, df 1"
echo "select: all checks passed"
