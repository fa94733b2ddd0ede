#!/usr/bin/env bash
# bench_incremental.sh: incremental EM's rules against the passes they spend (src/numerics.md 13).
# On a 10^6-row sample of a GH model (d = 3; --rows changes it), 1 rank:
#   MLE       a batch fit held to tol_ll = 1e-6 (the reference optimum);
#   batch     the default batch fit (moment start, SQUAREM, the MLE rule): its passes;
#   per rule  one epoch of 1024-row batches without the finish, the full mean log-likelihood
#             evaluated at 1/4, 1/2, 3/4 and 1 epoch (eval_every: those passes are not counted
#             in the "epochs" columns, which are data passes of the steps alone), as the gap
#             below the MLE's mean log-likelihood; then the same rule with the batch finish:
#             its passes in all (moment pass, the epoch, the finish's E-steps), their ratio to
#             the batch fit's, and how far (nats, total) below the MLE it ends.
# Pass counts and log-likelihoods are deterministic (exact reductions); nothing is timed.
# Usage: scripts/bench_incremental.sh [--nvmm PATH] [--work DIR] [--rows N] [--seeds "1 2 3"]
#        [TABLE_FILE]
set -euo pipefail
prog=bench_incremental.sh
root=$(cd "$(dirname "$0")/.." && pwd)
nvmm=$root/build/src/cli/nvmm work="" rows=1000000 seeds="1 2 3" table_file=""
while [ $# -gt 0 ]; do
  case $1 in
    --nvmm) nvmm=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "$prog: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) table_file=$1; shift ;;
  esac
done
[ -x "$nvmm" ] || { echo "$prog: no nvmm at '$nvmm' (build it, or pass --nvmm)" >&2; exit 2; }
command -v jq > /dev/null || { echo "$prog: needs jq (scripts/deps.sh)" >&2; exit 2; }
nvmm=$(cd "$(dirname "$nvmm")" && pwd)/$(basename "$nvmm")
if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

"$nvmm" sample --family gh --d 3 --mu 0.1,-0.2,0 --gamma 0.3,-0.1,0.2 \
  --sigma 1,0.3,0.1,0.3,1,0.2,0.1,0.2,1 --sub -0.8,1.2,0.9 --n "$rows" --seed 7 --out gh.h5 \
  > /dev/null
fit() { # OUT.json OPTION...
  local out=$1
  shift
  "$nvmm" fit --data gh.h5 --family gh --json 1 --verbose 0 --out m.h5 "$@" > "$out"
}
fit mle.json --tol-ll 1e-6 --max-iter 2000
fit batch.json
mle=$(jq -r .loglik_mean mle.json) mle_total=$(jq -r .loglik_total mle.json)
bp=$(jq -r .passes batch.json)
steps=$(((rows + 1023) / 1024))
quarter=$(((steps + 3) / 4))

# The full log-likelihoods of the model file's incremental history (NaN where not evaluated).
evaluated() {
  h5dump -d /history/incremental/loglik -y -w 0 -m %.17g m.h5 | sed -n '/DATA {/,/}/p' |
    sed '1d;$d;s/[ ,]//g' | grep -v nan
}
{
  printf '%-32s %4s %9s %9s %9s %9s %7s %6s %10s\n' "rule (1024-row batches)" seed \
    "1/4 ep" "1/2 ep" "3/4 ep" "1 epoch" passes ratio "end nats"
  for rule in identity robbins_monro:10:1 robbins_monro:10:0.6 sample_weighted ewma:0.05; do
    for avg in tail none; do
      [ "$avg" = none ] && [ "$rule" != robbins_monro:10:0.6 ] && continue
      for seed in $seeds; do
        fit epoch.json --algorithm incremental --eta-update "$rule" --average "$avg" \
          --seed "$seed" --finish none --eval-every "$quarter"
        mapfile -t ll < <(evaluated)
        fit both.json --algorithm incremental --eta-update "$rule" --average "$avg" --seed "$seed"
        name=$rule
        [ "$avg" = tail ] && name="$rule, tail-avg"
        printf '%-32s %4s' "$name" "$seed"
        for v in "${ll[@]}"; do
          awk -v a="$mle" -v b="$v" 'BEGIN { printf " %9.2e", a - b }'
        done
        awk -v p="$(jq -r .passes both.json)" -v bp="$bp" -v t="$mle_total" \
          -v l="$(jq -r .loglik_total both.json)" \
          'BEGIN { printf " %7.4g %6.2f %10.2e\n", p, p / bp, t - l }'
      done
    done
  done
  echo "GH $rows x 3, 1 rank; MLE mean LL $mle (tol_ll 1e-6); default batch fit: $bp passes;"
  echo "gaps are the MLE's mean LL minus the model's after that much of an epoch"
} | tee table.txt
[ -z "$table_file" ] || cp table.txt "$table_file"
