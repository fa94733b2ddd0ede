#!/usr/bin/env bash
# stop.sh: the default stopping rule lands on the MLE (src/numerics.md 8.3), and the pass
# accounting of the JSON is exact.
#
#  (a) Default settings reach the optimum within 0.005 nats of total log-likelihood (the target
#      of the rule; measured gaps are below 0.001) with reason "converged": smi_stocks for gh,
#      nig, vg and ninvg, nig_5000x3 for nig and gh. The optimum is independent where one is
#      known: R ghyp's tight fits, smi_stocks GH 33816.8864 and nig_5000x3 NIG -20519.774689 (the
#      data README). Where none is, the same EM run 1000 iterations with tol = tol_ll = 0 (so the
#      rule never fires) is the reference: it checks the stopping rule, not the EM, which the
#      ghyp optima check. (The tight fits' LLs do not move in the 7th digit from 1000 to 20000
#      iterations.) It must also reach the ghyp optima, from above: they are maxima.
#  (b) --stop params is normix's rule (src/numerics.md 8.3): reason "converged_params", and on
#      smi_stocks GH it stops more than 1 nat short (after 4 iterations from the moment start, 1
#      from the sub-model start: what the MLE rule exists for).
#  (c) passes = 1 moment pass + the GH sub-model start's 6 (init = submodels, also checked on
#      smi_stocks GH, where it must reach the same optimum) + one E-step pass per iteration +
#      the pass that scored the final model (the deciding pass of the MLE rule, or the
#      parameter rule's closing pass).
#  (d) SQUAREM (the default) against plain EM (--accel none, max_iter 5000 so that every plain
#      fit converges), both stopped by the MLE rule: the same optimum (accelerated LL at least
#      plain LL - 0.005 nats), at most 1.1x plain EM's passes on the fast smi_stocks fits, at
#      most 1/2 on the slow ones (nig_5000x3 GH, and its column x2, d = 1, GH and NIG), and
#      at least one extrapolation in each. Pass counts are deterministic (exact reductions).
#  (e) The gauge does not change the optimum: on a sample of a Student-t (NInvG, alpha = beta = 1,
#      d = 3, 20000 rows) fitted as GH, whose optimum lies next to the Student-t boundary
#      (p = -0.98, sqrt(ab) = 0.008), em and mcecm with none, det_sigma_one, det_sigma_x and
#      a_eq_b all end "converged" within 0.005 nats of the best of the ten fits, a_eq_b held.
#      From the sub-model start (the NInvG embedding: on the boundary, a -> 0) a_eq_b cannot hold
#      and must say it switched (counter gauge_switch = 1, "gauge": "det_sigma_one"; before the
#      switch existed it ran to max_iter 25,000 nats short), then reach the same optimum. On
#      nig_5000x3 GH, an interior optimum, a_eq_b holds.
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3
mkdir -p "$work"
cd "$work"
rm -f ./*.json ./*.h5
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 > /dev/null
"$nvmm" import "$data/smi_stocks.csv" smi.h5 > /dev/null

run() { # NAME DATA FAMILY [OPTION...]
  local name=$1 file=$2 fam=$3
  shift 3
  mpirun -n 2 "$nvmm" fit --data "$file" --family "$fam" --out "$name.h5" --json 1 --verbose 0 \
    "$@" > "$name.json" || fail "[$name] the fit failed"
}
for c in smi:gh smi:nig smi:vg smi:ninvg nig:nig nig:gh; do
  f=${c%%:*} fam=${c#*:}
  run "$f-$fam" "$f.h5" "$fam"
  run "$f-$fam-tight" "$f.h5" "$fam" --tol 0 --tol-ll 0 --max-iter 1000
done
run smi-gh-params smi.h5 gh --stop params
run smi-gh-sub smi.h5 gh --init submodels
cut -d, -f2 "$data/nig_5000x3.csv" > nig1.csv
"$nvmm" import nig1.csv nig1.h5 > /dev/null
mpirun -n 2 "$nvmm" sample --family ninvg --d 3 --sigma 1,0.3,0.1,0.3,1,0.2,0.1,0.2,1 --sub 1,1 \
  --n 20000 --seed 5 --out t.h5 > /dev/null || fail "nvmm sample failed"
for alg in em mcecm; do
  for reg in none det_sigma_one det_sigma_x a_eq_b; do
    run "t-$alg-$reg" t.h5 gh --algorithm "$alg" --regularization "$reg" --max-iter 3000
  done
  run "t-$alg-a_eq_b-sub" t.h5 gh --algorithm "$alg" --regularization a_eq_b --init submodels \
    --max-iter 3000
done
run nig-gh-aeqb nig.h5 gh --regularization a_eq_b
for c in smi:gh smi:nig smi:vg smi:ninvg nig:gh nig1:gh nig1:nig; do
  f=${c%%:*} fam=${c#*:}
  [ -f "$f-$fam.json" ] || run "$f-$fam" "$f.h5" "$fam"
  run "$f-$fam-plain" "$f.h5" "$fam" --accel none --max-iter 5000
done

python3 - <<'PY' || fail "see above"
import json, sys
ghyp = {"smi-gh": 33816.8864, "nig-nig": -20519.774689}
bad = 0
def load(name):
    return json.load(open(name + ".json"))
def passes_ok(j, name):
    start = 6 if j["init"] == "submodels" else 0
    want = 1 + start + j["iterations"] + 1
    if j["passes"] != want:
        print("FAIL [%s] passes %d, want 1 + %d + %d + 1 = %d" %
              (name, j["passes"], start, j["iterations"], want))
        return False
    return True
for name in ("smi-gh", "smi-nig", "smi-vg", "smi-ninvg", "nig-nig", "nig-gh", "smi-gh-sub"):
    j, t = load(name), load(name.replace("-sub", "") + "-tight")
    ok = j["reason"] == "converged" and j["converged"] and t["reason"] == "max_iter"
    gap = t["loglik_total"] - j["loglik_total"]
    ok = ok and -1e-6 <= gap <= 0.005 and passes_ok(j, name) and passes_ok(t, name + "-tight")
    line = "[%s] default: %s after %d iterations, %d passes, LL %.4f; %.5f below the tight fit" % (
        name, j["reason"], j["iterations"], j["passes"], j["loglik_total"], gap)
    if name in ghyp:
        g = ghyp[name] - j["loglik_total"]
        ok = ok and g <= 0.005 and t["loglik_total"] >= ghyp[name] - 1e-4
        line += ", %.5f below R ghyp's %.6f" % (g, ghyp[name])
    print(("ok   " if ok else "FAIL ") + line)
    bad += not ok
p = load("smi-gh-params")
ok = (p["reason"] == "converged_params" and
      load("smi-gh-tight")["loglik_total"] - p["loglik_total"] > 1.0 and passes_ok(p, "params"))
print(("ok   " if ok else "FAIL ") + "[smi-gh --stop params] %s after %d iteration(s), LL %.4f" %
      (p["reason"], p["iterations"], p["loglik_total"]))
bad += not ok
slow = ("nig-gh", "nig1-gh", "nig1-nig")
for name in ("smi-gh", "smi-nig", "smi-vg", "smi-ninvg") + slow:
    a, p = load(name), load(name + "-plain")
    limit = 0.5 if name in slow else 1.1
    ok = (a["reason"] == p["reason"] == "converged" and a["accel"] == "squarem" and
          p["accel"] == "none" and a["loglik_total"] >= p["loglik_total"] - 0.005 and
          a["passes"] <= limit * p["passes"] and a["fallbacks"]["accel_step"] > 0 and
          p["fallbacks"]["accel_step"] == 0)
    print(("ok   " if ok else "FAIL ") +
          "[%s] SQUAREM %d passes (%d extrapolations, %d rejected), LL %.4f; plain EM %d passes, "
          "LL %.4f; ratio %.2f (at most %.1f)" % (
              name, a["passes"], a["fallbacks"]["accel_step"], a["fallbacks"]["accel_reject"],
              a["loglik_total"], p["passes"], p["loglik_total"], a["passes"] / p["passes"], limit))
    bad += not ok
fits = {"%s-%s" % (a, r): load("t-%s-%s" % (a, r)) for a in ("em", "mcecm")
        for r in ("none", "det_sigma_one", "det_sigma_x", "a_eq_b", "a_eq_b-sub")}
best = max(j["loglik_total"] for j in fits.values())
for name, j in fits.items():
    switch = name.endswith("-sub")  # from the Student-t embedding a = b cannot hold
    ok = (j["reason"] == "converged" and best - j["loglik_total"] <= 0.005 and
          j["fallbacks"]["gauge_switch"] == (1 if switch else 0) and
          j["gauge"] == ("det_sigma_one" if switch else j["regularization"]))
    print(("ok   " if ok else "FAIL ") + "[student-t as gh, %s] %s after %d iterations, LL %.4f "
          "(%.5f below the best), gauge %s" % (name, j["reason"], j["iterations"],
                                               j["loglik_total"], best - j["loglik_total"],
                                               j["gauge"]))
    bad += not ok
j = load("nig-gh-aeqb")
ok = (j["reason"] == "converged" and j["fallbacks"]["gauge_switch"] == 0 and
      j["gauge"] == "a_eq_b" and abs(j["subordinator"]["a"] - j["subordinator"]["b"]) <=
      1e-12 * j["subordinator"]["a"] and load("nig-gh")["loglik_total"] - j["loglik_total"] <= 0.005)
print(("ok   " if ok else "FAIL ") + "[nig-gh a_eq_b] interior optimum: a = b = %.6g held, LL %.4f" %
      (j["subordinator"]["a"], j["loglik_total"]))
bad += not ok
sys.exit(1 if bad else 0)
PY
echo "all stopping-rule checks passed"
