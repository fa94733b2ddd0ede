#!/usr/bin/env bash
# bench_pchol.sh: ScaLAPACK Cholesky (nvmm_pchol_factor, redistribution from and to rank 0
# included) on 1 and 2 ranks against LAPACK dpotrf on rank 0, for d = 512 ... 4096, and the
# crossover d above which 2 ranks of ScaLAPACK beat LAPACK.
#
# LAPACK runs single-threaded (OPENBLAS_NUM_THREADS=1), as on rank 0 of an MPI fit; the
# "LAPACK 2thr" column lets OpenBLAS use 2 threads instead, for reference. Each of --reps
# interleaved rounds (default 5) runs every case once (tests/mpi/bench_pchol: a warm-up, then 3
# timed factorizations); the table gives the median and, since other load on a shared machine
# only ever adds time, the minimum. About 2 minutes per block size on 2 cores. Through meson:
# `meson test -C BUILD --benchmark -v bench-pchol`.
#
# Usage: scripts/bench_pchol.sh [--bench PATH] [--reps N] [--nb "NB ..."] [--dims "D ..."]
#                               [TABLE_FILE]
#   --bench  the bench_pchol executable (default: build/tests/mpi/bench_pchol)
#   --nb     block sizes to measure (default: 64; "32 64 128" compares them)
#   --dims   dimensions (default: "512 1024 2048 4096")
#   TABLE_FILE  also write the table there
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/build/tests/mpi/bench_pchol reps=5 nbs=64 dims="512 1024 2048 4096" table_file=""
while [ $# -gt 0 ]; do
  case $1 in
    --bench) bench=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --nb) nbs=$2; shift 2 ;;
    --dims) dims=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench_pchol.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) table_file=$1; shift ;;
  esac
done
[ -x "$bench" ] || { echo "bench_pchol.sh: no bench_pchol at '$bench' (build it)" >&2; exit 2; }
case $reps in
  ''|*[!0-9]*|0) echo "bench_pchol.sh: --reps must be a positive integer" >&2; exit 2 ;;
esac

# mpirun as root, oversubscribed, one BLAS thread (src/architecture.md 7.1).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Rounds are interleaved (every case once per round: a warm-up and 3 timed factorizations per
# process), so that load from other processes on a shared machine spreads over all the cases.
for ((round = 1; round <= reps; round++)); do
  # shellcheck disable=SC2086  # $dims is a list of words
  # Unbound: Open MPI binds a lone rank to one core, where OpenBLAS's 2 threads would share it.
  OPENBLAS_NUM_THREADS=2 mpirun --bind-to none -n 1 "$bench" --reps 3 --skip-pchol $dims \
    | sed 's/^lapack /lapack2 /' >> "$out"
  for nb in $nbs; do
    # shellcheck disable=SC2086
    mpirun -n 1 "$bench" --reps 3 --nb "$nb" $dims >> "$out"
    # shellcheck disable=SC2086
    mpirun -n 2 "$bench" --reps 3 --nb "$nb" --skip-lapack $dims >> "$out"
  done
done

# Each line carries a median and a minimum over one process's timed repetitions (bench_pchol.c);
# across rounds the table takes the median of the medians and the minimum of the minima.
table=$(awk -v nbs="$nbs" '
  function med(list,    v, n, i, j, x) {
    n = split(substr(list, 2), v, " ")
    for (i = 2; i <= n; i++) {  # insertion sort: a handful of values
      x = v[i] + 0
      for (j = i - 1; j >= 1 && v[j] + 0 > x; j--) v[j + 1] = v[j]
      v[j + 1] = x
    }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  function lo(key, x) { if (!(key in mn) || x + 0 < mn[key]) mn[key] = x + 0 }
  $1 == "lapack" {
    md["l1", $2] = md["l1", $2] " " $4; lo("l1" SUBSEP $2, $5)
    if (!($2 in seen)) { seen[$2] = 1; order[++nd] = $2 }
  }
  $1 == "lapack2" { md["l2", $2] = md["l2", $2] " " $4; lo("l2" SUBSEP $2, $5) }
  $1 == "pchol" {
    key = "p" $3 SUBSEP $4 SUBSEP $2
    md[key] = md[key] " " $5; lo(key, $6)
  }
  END {
    nn = split(nbs, nb, " ")
    for (s = 1; s <= 2; s++) {
      printf "%s over %s\n", s == 1 ? "Median" : "Minimum", "the rounds (seconds)"
      printf "%6s %4s %12s %12s %12s %12s %10s\n", "d", "nb", "LAPACK 1thr", "LAPACK 2thr",
        "pchol np1", "pchol np2", "np2 gain"
      for (k = 1; k <= nn; k++) {
        cross = ""
        for (i = 1; i <= nd; i++) {
          d = order[i]
          k1 = "p1" SUBSEP nb[k] SUBSEP d; k2 = "p2" SUBSEP nb[k] SUBSEP d
          if (s == 1) {
            a = med(md["l1", d]); b = med(md["l2", d]); c1 = med(md[k1]); c2 = med(md[k2])
          } else {
            a = mn["l1", d]; b = mn["l2", d]; c1 = mn[k1]; c2 = mn[k2]
          }
          printf "%6d %4d %12.4f %12.4f %12.4f %12.4f %9.2fx\n", d, nb[k], a, b, c1, c2, a / c2
          # The crossover is the smallest d from which 2 ranks win at every larger d too.
          if (c2 < a) { if (cross == "") cross = d } else cross = ""
        }
        if (cross == "")
          printf "nb %d: ScaLAPACK on 2 ranks does not beat 1-thread LAPACK at d = %d\n",
            nb[k], order[nd]
        else
          printf "nb %d: crossover: ScaLAPACK on 2 ranks beats 1-thread LAPACK from d = %d on\n",
            nb[k], cross
      }
      if (s == 1) printf "\n"
    }
  }' "$out")
echo "$table"
if [ -n "$table_file" ]; then
  mkdir -p "$(dirname "$table_file")"
  echo "$table" > "$table_file"
fi
