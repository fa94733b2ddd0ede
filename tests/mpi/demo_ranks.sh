#!/usr/bin/env bash
# demo_ranks.sh: `nvmm demo` on 1, 2 and 4 ranks prints bitwise the same log-likelihoods (per-block
# random streams and block-ordered sums make them rank-count independent; the demo prints them
# with %.17g, so equal text is equal bits), the true model scores higher than the perturbed one,
# and a bad option is a usage error (exit status 2) with a message naming it.
#
#   demo_ranks.sh NVMM
set -euo pipefail
nvmm=$1
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The value after "LABEL :" in the demo output $1: a finite number with at least 15 significant
# digits. The demo prints %.17g, which drops trailing zeros, so a few values have fewer than 17;
# the former %.10f gave 11 here and could hide a last-bit difference between rank counts.
value() {
  local v
  v=$(sed -n "s/^  $2 *: \([^ ]*\).*/\1/p" <<< "$1")
  [ -n "$v" ] || fail "no '$2' line in the demo output"
  awk -v v="$v" 'BEGIN {
    if (v !~ /^-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?$/) exit 1
    m = v; sub(/e.*/, "", m); gsub(/[-.]/, "", m); sub(/^0+/, "", m)
    exit !(length(m) >= 15) }' || fail "'$2' is $v, not a finite %.17g number"
  echo "$v"
}

ref=""
for np in 1 2 4; do
  out=$(mpirun -n "$np" "$nvmm" demo --n 50000 --block 1000 --seed 7) ||
    fail "nvmm demo on $np ranks failed"
  echo "$out"
  ranks=$([ "$np" -gt 1 ] && echo "$np ranks" || echo "1 rank")
  grep -q "^nvmm demo: NIG, d = 3, n = 50000 rows on $ranks (blocks of 1000 rows, seed 7)$" \
    <<< "$out" || fail "$np ranks: unexpected first line"
  # Everything the demo computes; the first line (rank count) and the elapsed time may differ.
  # One assignment per value: set -e sees only the last command substitution of an assignment.
  t=$(value "$out" "mean log-likelihood, true model")
  p=$(value "$out" "mean log-likelihood, perturbed model")
  dl=$(value "$out" "true - perturbed")
  vals="$t $p $dl"
  if [ -z "$ref" ]; then
    ref=$vals
  elif [ "$vals" != "$ref" ]; then
    fail "$np ranks print $vals, 1 rank $ref"
  fi
done
read -r true_ll pert_ll diff_ll <<< "$ref"
awk -v t="$true_ll" -v p="$pert_ll" -v d="$diff_ll" 'BEGIN { exit !(t > p && d > 0) }' ||
  fail "true model LL $true_ll not above perturbed $pert_ll (difference $diff_ll)"

# Bad input: exit status 2 and a message naming the option, on more than one rank.
rc=0
msg=$(mpirun -n 2 "$nvmm" demo --n -5 2>&1) || rc=$?
[ $rc -eq 2 ] || fail "bad --n: exit status $rc, want 2: $msg"
grep -q -- "nvmm: error: demo: --n must be a positive integer, got '-5'" <<< "$msg" ||
  fail "bad --n: $msg"
echo "demo is rank-count independent (to the last bit)"
