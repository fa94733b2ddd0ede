#!/usr/bin/env bash
# symmetric.sh: symmetric fits (gamma = 0; src/numerics.md 5.1) end to end on smi_stocks.
#  (a) The optimum: for GH, NIG, VG and NInvG, symmetric fits by EM with SQUAREM, by MCECM and by
#      plain EM, each held to tol_ll = 1e-7, end within 1e-4 nats (total) of one another (R ghyp
#      is not in Debian's archive, so its symmetric optima cannot be compared here; three
#      algorithms agreeing on a maximum held this tightly certify it the same way), every gamma
#      exactly 0, and the log-likelihood at most the skewed fit's (a restriction of it).
#  (b) Rank-count independence: the symmetric GH fit on 1 and 3 ranks, bitwise; `--symmetric`
#      alone means 1; the model file's stored configuration says symmetric.
#  (c) Refusals: symmetric = 2 (exit 2, the key named); an initial model with gamma != 0 (exit 1).
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3
mkdir -p "$work"
cd "$work"
rm -f ./*.json ./*.h5 ./*.err
"$nvmm" import "$data/smi_stocks.csv" smi.h5 > /dev/null || fail "import failed"

# ---- (a) the optimum --------------------------------------------------------------------------
for fam in gh nig vg ninvg; do
  "$nvmm" fit --data smi.h5 --family "$fam" --json 1 --verbose 0 --out s.h5 > "$fam-skew.json" ||
    fail "$fam: the skewed fit failed"
  for alg in em:squarem mcecm:squarem em:none; do
    "$nvmm" fit --data smi.h5 --family "$fam" --symmetric 1 --algorithm "${alg%:*}" \
      --accel "${alg#*:}" --tol-ll 1e-7 --max-iter 20000 --json 1 --verbose 0 --out s.h5 \
      > "$fam-${alg%:*}-${alg#*:}.json" || fail "$fam $alg: the symmetric fit failed"
  done
  jq -e -s '(map(.converged and .symmetric and (.gamma | all(. == 0))) | all)' \
    "$fam"-em-squarem.json "$fam"-mcecm-squarem.json "$fam"-em-none.json > /dev/null ||
    fail "$fam: a symmetric fit did not converge or has gamma != 0"
  spread=$(jq -s 'map(.loglik_total) | max - min' "$fam"-em-squarem.json "$fam"-mcecm-squarem.json \
    "$fam"-em-none.json)
  jq -e -n "$spread < 1e-4" > /dev/null || fail "$fam: symmetric optima $spread nats apart"
  lr=$(jq -n --slurpfile a "$fam-skew.json" --slurpfile b "$fam-em-squarem.json" \
    '2 * ($a[0].loglik_total - $b[0].loglik_total)')
  jq -e -n "$lr > -1e-6" > /dev/null || fail "$fam: the symmetric fit beats the skewed one ($lr)"
  echo "(a) $fam: symmetric LL $(jq .loglik_total "$fam-em-squarem.json") by 3 algorithms within $spread nats; LR statistic against the skewed fit $lr"
done

# ---- (b) ranks --------------------------------------------------------------------------------
for np in 1 3; do
  mpirun -n "$np" "$nvmm" fit --data smi.h5 --family gh --symmetric --block-rows 512 --json \
    --verbose 0 --out m.h5 > "r$np.json" || fail "the symmetric fit on $np ranks failed"
  mv m.h5 "r$np.h5"
done
diff <(strip_json r1.json) <(strip_json r3.json) || fail "the summary on 3 ranks differs"
same_model r1.h5 r3.h5 3
h5dump -a /meta/config_text r1.h5 | grep -q '"symmetric": 1' ||
  fail "the stored configuration does not say symmetric"
echo "(b) 1 and 3 ranks bitwise; --symmetric alone means 1"

# ---- (c) refusals -------------------------------------------------------------------------------
rc=0
"$nvmm" fit --data smi.h5 --symmetric 2 --out x.h5 2> c1.err || rc=$?
[ "$rc" -eq 2 ] && grep -q "unknown symmetric value '2'" c1.err ||
  { cat c1.err; fail "(c) symmetric = 2: exit $rc"; }
rc=0
"$nvmm" fit --data smi.h5 --family gh --symmetric --init r1.h5 --out x.h5 --verbose 0 \
  2> c2.err > /dev/null || rc=$?
[ "$rc" -eq 0 ] || { cat c2.err; fail "(c) a symmetric start for a symmetric fit was refused"; }
"$nvmm" fit --data smi.h5 --family gh --out skew.h5 --verbose 0 > /dev/null || fail "skewed fit"
rc=0
"$nvmm" fit --data smi.h5 --family gh --symmetric --init skew.h5 --out y.h5 --verbose 0 \
  2> c3.err > /dev/null || rc=$?
[ "$rc" -eq 1 ] && grep -q "the fit is symmetric (gamma = 0) but the initial model has gamma" \
  c3.err || { cat c3.err; fail "(c) a skewed start: exit $rc"; }
[ ! -e y.h5 ] || fail "(c) a refused fit wrote a model"
echo "(c) refusals name the key or the model"
echo "symmetric: all checks passed"
