#!/usr/bin/env bash
# alloc_sweep.sh: no allocation failure hangs, crashes or leaves partial output. With the shim
# tests/faultalloc (LD_PRELOAD), a run of each command first counts the allocations nvmm's own
# code makes on rank R (malloc, calloc, realloc, strdup, ... from the program or libnvmm), then
# the command runs once for every k, with the k-th of them failing on rank R only:
#   import (1 process), fit (2 ranks, GH with checkpoints every 2 iterations and the
#   ScaLAPACK factorization, whose set-up is collective), sample and score (2 ranks), each with
#   R = 0 and R = 1.
# Every such run must end within its bound with exit status 1 (never a signal, never 0: a
# failed allocation is never silently survived), print one "nvmm: error:" line that says memory
# ran out ("allocate" or "memory"), and leave no temporary file and no damaged output (the
# output exists only where it was complete before the failure: a fit's model when the final
# checkpoint then fails).
# Usage: alloc_sweep.sh NVMM SHIM DATA_DIR WORK_DIR
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") shim=$(realpath "$2") data=$(realpath "$3") work=$4
mkdir -p "$work"
cd "$work"
rm -rf ./*
head -n 301 "$data/nig_5000x3.csv" > small.csv
"$nvmm" import small.csv x.h5 > /dev/null
mpirun -n 2 "$nvmm" fit --data x.h5 --family gh --out m.h5 --max-iter 4 --verbose 0 > /dev/null ||
  fail "the reference fit failed"

# run_case NAME RANK OUT CMD...: CMD with the shim counting, then failing each allocation.
runs=0 bad=0
run_case() {
  local name=$1 rank=$2 out=$3
  shift 3
  rm -f "$out" "$out".tmp ck.h5 ck.h5.tmp count
  NVMM_FAULT_ALLOC=$rank:0 NVMM_FAULT_ALLOC_COUNT=$PWD/count "$@" > /dev/null 2> err ||
    { cat err >&2; fail "[$name rank $rank] the counting run failed"; }
  local n
  n=$(cat count)
  [ "$n" -gt 0 ] || fail "[$name rank $rank] no allocation counted: the shim saw nothing"
  for ((k = 1; k <= n; k++)); do
    rm -f "$out" "$out".tmp ck.h5 ck.h5.tmp
    local rc=0
    NVMM_FAULT_ALLOC=$rank:$k NVMM_FAULT_ALLOC_COUNT="" timeout -k 5 "$(scaled 60)" "$@" > /dev/null 2> err || rc=$?
    local what="[$name rank $rank, allocation $k of $n]" why=""
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
      why="hung (killed after $(scaled 60) s)"
    elif [ "$rc" -ne 1 ]; then
      why="exit status $rc, want 1"
    elif [ "$(grep -c '^nvmm: error:' err)" -ne 1 ]; then
      why="not one 'nvmm: error:' line"
    elif ! grep -q -i -E 'allocat|memory' err; then
      why="the error does not say memory ran out"
    elif [ -e "$out.tmp" ] || [ -e ck.h5.tmp ]; then
      why="left a temporary file behind"
    elif [ -e "$out" ] && ! h5ls "$out" > /dev/null 2>&1; then
      why="left a damaged $out"
    fi
    if [ -n "$why" ]; then
      echo "FAIL $what $why: $(grep -m 1 -v '^$' err || true)"
      bad=$((bad + 1))
    fi
    runs=$((runs + 1))
  done
  echo "done [$name rank $rank] $n allocations, each failed once"
}
mpi=(mpirun -n 2 -x LD_PRELOAD="$shim" -x NVMM_FAULT_ALLOC -x NVMM_FAULT_ALLOC_COUNT)
for r in 0 1; do
  [ "$r" = 0 ] && run_case import 0 y.h5 env LD_PRELOAD="$shim" "$nvmm" import small.csv y.h5
  run_case fit "$r" f.h5 "${mpi[@]}" "$nvmm" fit --data x.h5 --family gh --out f.h5 --checkpoint ck.h5 \
    --checkpoint-every 2 --max-iter 4 --scalapack-min-d 2 --verbose 0
  run_case sample "$r" s.h5 "${mpi[@]}" "$nvmm" sample --model m.h5 --n 1000 --out s.h5
  run_case score "$r" l.h5 "${mpi[@]}" "$nvmm" score --model m.h5 --data x.h5 --out l.h5
done
[ "$bad" -eq 0 ] || fail "$bad of $runs runs did not end cleanly (see above)"
echo "ok: $runs runs, every one ended with exit 1, one clear error and no output"
