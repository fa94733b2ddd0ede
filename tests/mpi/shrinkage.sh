#!/usr/bin/env bash
# shrinkage.sh: shrinkage fits end to end (src/numerics.md 13.2).
#  (a) Rank-count independence: a GH MAP fit (isotropic target, s2 = 0.5, tau = 0.02) of a
#      30000 x 3 sample on 1, 2 and 3 ranks, and an incremental one with the batch finish on 1
#      and 3 ranks: summaries and model files bitwise the same; the incremental fit's objective
#      (loglik + penalty) within 0.005 nats in total of the batch fit's, the same optimum; the
#      model file's /history/penalty ends at the summary's penalty (nvmm info).
#  (b) A model file as the target: the MLE itself. The penalty E_target[log p] is largest at the
#      target (Gibbs) and the log-likelihood too, so the MAP fit lands on the MLE: the same
#      log-likelihood within 0.005 nats in total, whatever tau.
#  (c) The orbit step: on smi_stocks (NIG, tau = 0.001) the fit converges in at most 20
#      iterations (measured 10; without moving each update to the penalty's point of its orbit,
#      200 and still not converged: src/numerics.md 13.2).
#  (d) Refusals, each exit 2 or 1 naming the key: shrinkage without shrinkage_tau, shrinkage_tau
#      without shrinkage, a regularization other than none, a bad s2, a target of another family
#      or a missing file, and (hooks) resuming with another tau.
#  (e) (hooks) Checkpoint and resume: SIGUSR1 at iteration 6 of the GH MAP fit (exit 75), resumed
#      on 3 ranks: summary and model file bitwise the uninterrupted fit's.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/mpi/lib.sh
. "$here/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3 hooks=$4
mkdir -p "$work"
cd "$work"
rm -f ./*.json ./*.h5 ./*.h5.tmp ./*.err ./hold*
trap kill_running EXIT

# ---- (a) ranks --------------------------------------------------------------------------------
mpirun -n 2 "$nvmm" sample --family gh --d 3 --mu 0.1,-0.2,0 --gamma 0.3,-0.1,0.2 \
  --sigma 1,0.3,0.1,0.3,1,0.2,0.1,0.2,1 --sub -0.8,1.2,0.9 --n 30000 --seed 3 --out d.h5 \
  > /dev/null || fail "nvmm sample failed"
shr=(fit --data d.h5 --family gh --shrinkage isotropic:0.5 --shrinkage-tau 0.02 --block-rows 1000
  --json 1 --verbose 1 --out m.h5)
for np in 1 2 3; do
  mpirun -n "$np" "$nvmm" "${shr[@]}" > "b$np.json" 2> "b$np.err" ||
    { cat "b$np.err"; fail "the MAP fit on $np ranks failed"; }
  mv m.h5 "b$np.h5"
done
grep -q '"reason": "converged"' b1.json || fail "the MAP fit did not converge"
grep -q '"gauge": "penalty"' b1.json || fail "the MAP fit does not report the penalty's gauge"
grep -q "Shrinkage    : isotropic:0.5, tau 0.02" b1.err || { cat b1.err; fail "no shrinkage banner"; }
for np in 2 3; do
  diff <(strip_json b1.json) <(strip_json "b$np.json") || fail "the summary on $np ranks differs"
  same_model b1.h5 "b$np.h5" "$np"
done
# /history/penalty ends at the summary's penalty, and nvmm info reports it.
[ "$(info_json b1.h5 .history.final_penalty)" = "$(jq .shrinkage.penalty b1.json)" ] ||
  fail "nvmm info's final penalty $(info_json b1.h5 .history.final_penalty) is not the fit's"
for np in 1 3; do
  mpirun -n "$np" "$nvmm" "${shr[@]}" --algorithm incremental --batch-rows 250 > "i$np.json" ||
    fail "the incremental MAP fit on $np ranks failed"
  mv m.h5 "i$np.h5"
done
diff <(strip_json i1.json) <(strip_json i3.json) || fail "the incremental summary on 3 ranks differs"
same_model i1.h5 i3.h5 3
gap=$(jq -n --slurpfile b b1.json --slurpfile i i1.json \
  '($b[0].shrinkage.objective - $i[0].shrinkage.objective) * $b[0].n | fabs')
jq -e -n "$gap < 0.005" > /dev/null || fail "incremental and batch objectives differ by $gap nats"
echo "(a) MAP fit bitwise on 1, 2, 3 ranks; incremental on 1, 3; objectives $gap nats apart"

# ---- (b) a model file as the target -------------------------------------------------------------
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 > /dev/null || fail "import failed"
"$nvmm" fit --data nig.h5 --family nig --json 1 --verbose 0 --out mle.h5 > mle.json ||
  fail "the MLE fit failed"
for tau in 0.1 10; do
  mpirun -n 2 "$nvmm" fit --data nig.h5 --family nig --shrinkage mle.h5 --shrinkage-tau "$tau" \
    --json 1 --verbose 0 --out t.h5 > "t$tau.json" || fail "the fit towards mle.h5 failed"
  gap=$(jq -n --slurpfile a mle.json --slurpfile b "t$tau.json" \
    '($a[0].loglik_mean - $b[0].loglik_mean) * $a[0].n | fabs')
  jq -e -n "$gap < 0.005" > /dev/null || fail "tau $tau towards the MLE: $gap nats from it"
  jq -e '.shrinkage.target == "mle.h5"' "t$tau.json" > /dev/null || fail "target not reported"
  echo "(b) tau $tau towards the MLE's own file: the MLE within $gap nats"
done

# ---- (c) the orbit step -------------------------------------------------------------------------
"$nvmm" import "$data/smi_stocks.csv" smi.h5 > /dev/null || fail "import failed"
"$nvmm" fit --data smi.h5 --family nig --shrinkage model --shrinkage-tau 0.001 --json 1 \
  --verbose 0 --out s.h5 > smi.json || fail "the smi_stocks MAP fit failed"
it=$(jq .iterations smi.json)
jq -e '.converged and .iterations <= 20' smi.json > /dev/null ||
  fail "smi_stocks NIG tau 0.001: $it iterations, $(jq -r .reason smi.json)"
echo "(c) smi_stocks NIG, tau 0.001: converged in $it iterations"

# ---- (d) refusals -------------------------------------------------------------------------------
# refuse NAME STATUS TEXT ARGS...: the fit exits STATUS with TEXT in its message.
refuse() {
  local name=$1 want=$2 text=$3 rc=0
  shift 3
  mpirun -n 2 "$nvmm" fit --data nig.h5 --family nig --verbose 0 --out r.h5 "$@" \
    > /dev/null 2> "$name.err" || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$name.err"; fail "($name) exit $rc, not $want"; }
  grep -q -- "$text" "$name.err" || { cat "$name.err"; fail "($name) no '$text' in the message"; }
  [ ! -e r.h5 ] || fail "($name) a refused fit wrote a model"
}
refuse no-tau 2 "needs shrinkage_tau" --shrinkage model
refuse tau-alone 2 "shrinkage_tau is for a shrinkage fit" --shrinkage-tau 0.1
refuse reg 2 "regularization = det_sigma_one cannot go with shrinkage" --shrinkage model \
  --shrinkage-tau 0.1 --regularization det_sigma_one
refuse s2 2 "s2 must be a positive number" --shrinkage isotropic:-1 --shrinkage-tau 0.1
refuse neg-tau 2 "shrinkage_tau = -1 must be finite and non-negative" --shrinkage model \
  --shrinkage-tau -1
refuse family 1 "the shrinkage target is nig of dimension 3, the fit is gh" --family gh \
  --shrinkage mle.h5 --shrinkage-tau 0.1
refuse missing 1 "nope.h5" --shrinkage nope.h5 --shrinkage-tau 0.1
echo "(d) refusals: each names its key"

# ---- (e) checkpoint and resume (the NVMM_FAULT_HOLD hook) ---------------------------------------
if [ "$hooks" != hooks ]; then
  echo "(e) skipped: a build without the test hooks"
  echo "shrinkage: all checks passed"
  exit 0
fi
no_leak_check "the jobs are signalled by design"
ck=("${shr[@]}" --checkpoint ck.h5 --checkpoint-every 2)
rm -f ck.h5
mpirun -n 2 "$nvmm" "${ck[@]}" > ref.json 2> ref.err || { cat ref.err; fail "the reference failed"; }
mv m.h5 ref.h5
rm -f ck.h5 hold
timeout -k 5 "$(scaled 120)" mpirun -n 2 -x NVMM_FAULT_HOLD="1:6:hold" "$nvmm" "${ck[@]}" \
  > e.json 2> e.err &
pid=$!
running=$pid
hp=$(wait_hold hold "$pid" 60)
kill -s USR1 "$(mpirun_of "$hp")"
rc=0
wait "$pid" || rc=$?
running=""
[ "$rc" -eq 75 ] || { tail -n 20 e.err; fail "(e) exit $rc after SIGUSR1, not 75"; }
[ "$(ck_state ck.h5)" = "6 stopped" ] || fail "(e) the checkpoint holds '$(ck_state ck.h5)'"
rc=0
mpirun -n 2 "$nvmm" "${ck[@]/0.02/0.03}" > /dev/null 2> tau.err || rc=$?
[ "$rc" -eq 1 ] && grep -q "shrinkage and shrinkage_tau must match to resume" tau.err ||
  { cat tau.err; fail "(d) resuming with another tau: exit $rc"; }
mpirun -n 3 "$nvmm" "${ck[@]}" > e3.json 2> e3.err || { cat e3.err; fail "(e) resume failed"; }
grep -q "Resumed from ck.h5 after 6 iterations" e3.err || { cat e3.err; fail "(e) did not resume"; }
diff <(strip_json ref.json) <(strip_json e3.json) || fail "(e) the resumed summary differs"
same_model ref.h5 m.h5 3
echo "(e) stopped at iteration 6, resumed on 3 ranks: bitwise the uninterrupted fit"
echo "shrinkage: all checks passed"
