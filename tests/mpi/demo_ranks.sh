#!/usr/bin/env bash
# demo_ranks.sh: `nvmm demo` on 1, 2 and 4 ranks must print bitwise the same log-likelihoods
# (per-block random streams and block-ordered sums make them rank-count independent), and they
# must show the true model scoring higher than the perturbed one.
set -euo pipefail
nvmm=$1
ref=""
for np in 1 2 4; do
  out=$(mpirun -n "$np" "$nvmm" demo --n 50000 --block 1000 --seed 7)
  echo "$out"
  lines=$(echo "$out" | grep "mean log-likelihood")
  if [ -z "$ref" ]; then
    ref=$lines
  elif [ "$lines" != "$ref" ]; then
    echo "FAIL: $np ranks differ from 1 rank"
    exit 1
  fi
done
true_ll=$(echo "$ref" | awk -F: '/true model/ {print $2}')
pert_ll=$(echo "$ref" | awk -F: '/perturbed/ {split($2, a, " "); print a[1]}')
awk -v t="$true_ll" -v p="$pert_ll" 'BEGIN { exit !(t > p) }' || {
  echo "FAIL: true model LL $true_ll not above perturbed $pert_ll"
  exit 1
}
# Bad input: a clear message and a usage exit status, on every rank count.
set +e
msg=$(mpirun -n 2 "$nvmm" demo --n -5 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] && echo "$msg" | grep -q -- "--n must be a positive integer" || {
  echo "FAIL: bad --n gave rc=$rc: $msg"
  exit 1
}
echo "demo is rank-count independent"
