#!/usr/bin/env bash
# factor_cli.sh: factor models (Sigma = F F^T + diag(D), issue 15) in the program besides
# `nvmm fit`, on a 6-D NIG sample whose Sigma has two factors (drawn here by `nvmm sample`).
#  (a) `nvmm select --families nig --factors 1,2,0` on 2 ranks: the 2-factor candidate's LL
#      and model file are bitwise those of a separate `nvmm fit --factors 2`; k is 2d + (d r + d
#      - r(r-1)/2) + 1 (d(d+1)/2 for the dense one); BIC picks r = 2 (the truth); nig against
#      nig-r2 is the interior test of 2 factors with ((d-r)^2 - (d+r))/2 = 4 df, nig-r2 against
#      nig-r1 the naive one with 5; the same JSON on 1 rank; refusals (a bad or repeated R, R >= d)
#      leave no directory behind.
#  (b) `nvmm score` on the factor model: per-row log-densities (factor path) the same total on 1
#      and 2 ranks; its marginal mode (CDF, quantiles, log-density of a coordinate and of the
#      equal-weight portfolio) within 1e-12 relative of the same law given with the dense Sigma
#      = F F^T + D (a family spec, the dense path; the 1e-12 of tests/test_factor_law.c).
#  (c) `nvmm sample --model` of the factor model: the same file on 1 and 3 ranks.
#  (d) `nvmm risk`: VaR and ES within 1e-12 of the dense spec's; the Monte Carlo check (rows
#      drawn by the factor sampler) the same JSON on 1 and 2 ranks, and within 4 standard errors
#      of the exact values (deterministic seeds; the bound of tests/mpi/risk.sh).
#  (e) `nvmm info`: r, F and D shown, no d x d Sigma in the JSON.
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") work=$2
command -v jq > /dev/null || fail "jq is not installed (scripts/deps.sh installs it)"
mkdir -p "$work"
cd "$work"
rm -rf ./*.json ./*.h5 ./*.err sel1 sel2 selr

# A two-factor Sigma for the sample: F (6 x 2) and D below, Sigma = F F^T + diag(D).
sigma=$(awk 'BEGIN { d = 6; split("0.9 0.1 -0.4 0.7 0.3 -0.5 1.1 0.2 -0.2 0.6 0.5 -0.8", f, " ")
  split("0.5 0.3 0.8 0.2 0.4 0.6", D, " "); s = ""
  for (i = 0; i < d; i++) for (j = 0; j < d; j++) {
    v = i == j ? D[i + 1] : 0; for (k = 0; k < 2; k++) v += f[i * 2 + k + 1] * f[j * 2 + k + 1]
    s = s (s == "" ? "" : ",") v }
  print s }')
mpirun -n 2 "$nvmm" sample --family nig --d 6 --mu 0.5,-1,0,1,0.2,0 \
  --gamma 0.3,-0.2,0.1,0,0.2,-0.1 --sigma "$sigma" --sub 1,1.5 --n 3000 --seed 7 \
  --out fx.h5 > /dev/null || fail "sample failed"
d=6

# ---- (a) select --factors ------------------------------------------------------------------------
opts=(--max-iter 300 --tol-ll 1e-4)
mpirun -n 2 "$nvmm" select --data fx.h5 --families nig --factors 1,2,0 --out sel2 "${opts[@]}" \
  --json --verbose 0 > sel2.json 2> sel2.err || { cat sel2.err; fail "(a) select failed"; }
mpirun -n 2 "$nvmm" fit --data fx.h5 --family nig --factors 2 --out f2.h5 "${opts[@]}" --json 1 \
  --verbose 0 > f2.json || fail "(a) nvmm fit --factors 2 failed"
e=$(jq -c '.families[] | select(.family == "nig" and .factors == 2)' sel2.json)
[ -n "$e" ] || fail "(a) no 2-factor candidate"
a=$(jq .loglik_total <<< "$e") b=$(jq .loglik_total f2.json)
[ "$a" = "$b" ] || fail "(a) select's 2-factor LL $a, nvmm fit --factors 2 LL $b"
[ "$(jq -r .model_file <<< "$e")" = sel2/nig-r2.h5 ] || fail "(a) the 2-factor model file"
same_h5 sel2/nig-r2.h5 f2.h5 --exclude-path /history/elapsed --exclude-attribute /meta
for r in 0 1 2; do
  k=$((2 * d + 1 + (r == 0 ? d * (d + 1) / 2 : d * r + d - r * (r - 1) / 2)))
  jq -e --argjson r "$r" --argjson k "$k" \
    '.families[] | select(.factors == $r) | .n_params == $k' sel2.json > /dev/null ||
    fail "(a) $r factors: n_params is not $k"
done
jq -e '.best == "nig" and .best_factors == 2 and .families[0].factors == 2' sel2.json \
  > /dev/null || fail "(a) BIC does not pick 2 factors"
jq -e '(.lr_tests[] | select(.big == "nig" and .small == "nig-r2") | .df == 4 and .nesting ==
  "interior" and .reference == "chi2(4)") and (.lr_tests[] | select(.big == "nig-r2" and .small
  == "nig-r1") | .df == 5 and .nesting == "limit" and (.reference | test("over-factored")))' \
  sel2.json > /dev/null || fail "(a) the LR tests between numbers of factors"
mpirun -n 1 "$nvmm" select --data fx.h5 --families nig --factors 1,2,0 --out sel1 "${opts[@]}" \
  --json --verbose 0 > sel1.json 2> /dev/null || fail "(a) select on 1 rank failed"
sed 's/sel1/sel2/' sel1.json | diff - sel2.json > /dev/null ||
  fail "(a) the JSON on 1 rank differs from 2 ranks'"
refuse() { # refuse EXIT PATTERN ARGS...: select exits EXIT with PATTERN on stderr, writes nothing
  local want=$1 pat=$2 rc=0
  shift 2
  "$nvmm" select --data fx.h5 --families nig --out selr "$@" > r.out 2> r.err || rc=$?
  if [ "$rc" -ne "$want" ] || ! grep -q -- "$pat" r.err; then
    cat r.err
    fail "(a) select $*: exit $rc, expected $want and '$pat'"
  fi
  [ ! -e selr ] || fail "(a) a refused select $* created its directory"
}
refuse 2 "got 'x'" --factors 1,x
refuse 2 "1 is listed twice" --factors 1,0,1
refuse 1 "fewer factors than d = 6" --factors 2,6
echo "(a) select --factors 1,2,0: LL and model file of nvmm fit --factors 2 bitwise; k; best r = 2;" \
  "LR tests; 1 and 2 ranks the same"

# ---- (b) score ----------------------------------------------------------------------------------
"$nvmm" info --json f2.h5 > i.json || fail "(b) info failed"
# The same law with the dense Sigma = F F^T + diag(D), as a family spec (the dense path).
mapfile -t spec < <(jq -r '"--family", "nig", "--d", "\(.d)", "--mu", (.mu | map(tostring) |
  join(",")), "--gamma", (.gamma | map(tostring) | join(",")), "--sub",
  "\(.subordinator.mu_ig),\(.subordinator.lambda)", "--sigma", ([range(.d) as $i | range(.d) as
  $j | ([range(.factors) as $k | .F[$i][$k] * .F[$j][$k]] | add) + (if $i == $j then .D[$i]
  else 0 end)] | map(tostring) | join(","))' i.json)
s1=$(mpirun -n 1 "$nvmm" score --model f2.h5 --data fx.h5) || fail "(b) score on 1 rank"
s2=$(mpirun -n 2 "$nvmm" score --model f2.h5 --data fx.h5) || fail "(b) score on 2 ranks"
[ "$s1" = "$s2" ] || fail "(b) score: 1 rank '$s1', 2 ranks '$s2'"
# Every number of the two JSON outputs, pairwise within 1e-12 relative to max(1, |dense|).
close_json() {
  paste <(jq -c '[paths(numbers) as $p | getpath($p)] | .[]' "$1") \
    <(jq -c '[paths(numbers) as $p | getpath($p)] | .[]' "$2") |
    awk '{ s = $2 < 0 ? -$2 : $2; s = s < 1 ? 1 : s; e = $1 - $2; e = e < 0 ? -e : e
           if (e > 1e-12 * s) { print "entry " NR ": " $1 " vs " $2; bad = 1 } ; n++ }
         END { exit bad || n < 8 }'
}
for w in "--marginal 2" "--equal"; do
  # shellcheck disable=SC2086
  "$nvmm" score --model f2.h5 $w --at -1,0,2 --quantile 0.001,0.5,0.99 --logpdf-at 0.5,3 \
    --json > mf.json || fail "(b) score $w (factor)"
  # shellcheck disable=SC2086
  "$nvmm" score "${spec[@]}" $w --at -1,0,2 --quantile 0.001,0.5,0.99 --logpdf-at 0.5,3 \
    --json > md.json || fail "(b) score $w (dense)"
  close_json mf.json md.json || fail "(b) score $w: the factor and dense laws differ"
done
echo "(b) score: rows the same on 1 and 2 ranks; marginal CDF, quantiles, logpdf within 1e-12 of dense"

# ---- (c) sample ---------------------------------------------------------------------------------
for np in 1 3; do
  mpirun -n "$np" "$nvmm" sample --model f2.h5 --n 9000 --seed 5 --block 1000 \
    --out "s$np.h5" > /dev/null || fail "(c) sample on $np ranks"
done
same_h5 s1.h5 s3.h5
echo "(c) sample --model of a factor model: the same rows on 1 and 3 ranks"

# ---- (d) risk -----------------------------------------------------------------------------------
"$nvmm" risk --model f2.h5 --equal --json > rf.json || fail "(d) risk (factor)"
"$nvmm" risk "${spec[@]}" --equal --json > rd.json || fail "(d) risk (dense)"
close_json rf.json rd.json || fail "(d) risk: the factor and dense VaR/ES differ"
for np in 1 2; do
  mpirun -n "$np" "$nvmm" risk --model f2.h5 --equal --mc 40000 --seed 3 --json \
    > "mc$np.json" || fail "(d) risk --mc on $np ranks"
done
diff mc1.json mc2.json > /dev/null || fail "(d) risk --mc: 1 and 2 ranks differ"
jq -e 'all(.levels[]; ((.mc_var - .var) | fabs) <= 4 * .mc_var_se and
  ((.mc_es - .es) | fabs) <= 4 * .mc_es_se)' mc1.json > /dev/null ||
  fail "(d) risk --mc: the factor sampler's tail is not the factor law's"
echo "(d) risk: VaR and ES within 1e-12 of dense; Monte Carlo the same on 1 and 2 ranks, within 4 SE"

# ---- (e) info -----------------------------------------------------------------------------------
"$nvmm" info f2.h5 > i.txt || fail "(e) info failed"
grep -q "factor model: 2 factors" i.txt || fail "(e) info shows no factors"
grep -q "^  F\[5\]: \[" i.txt || fail "(e) info shows no row F[5]"
jq -e '.factors == 2 and (.F | length) == 6 and all(.F[]; length == 2) and (.D | length) == 6
  and (has("sigma") | not)' i.json > /dev/null || fail "(e) info --json: factors, F, D, no sigma"
echo "(e) info: r, F and D, no d x d Sigma"
echo "factor_cli: all checks passed"
