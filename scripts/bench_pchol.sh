#!/usr/bin/env bash
# bench_pchol.sh: ScaLAPACK Cholesky (nvmm_pchol_factor, redistribution from and to rank 0
# included) on 1 and 2 ranks against LAPACK dpotrf on rank 0, for d = 512 ... 4096, and the
# crossover d above which 2 ranks of ScaLAPACK beat LAPACK.
#
# LAPACK runs single-threaded (OPENBLAS_NUM_THREADS=1), as on rank 0 of an MPI fit; the
# "LAPACK 2thr" column lets OpenBLAS use 2 threads instead, for reference. Times are medians of
# --reps repetitions (default 3) of tests/mpi/bench_pchol. About 1 minute per block size on
# 2 cores. Run it through meson with `meson test -C BUILD --benchmark -v bench-pchol`.
#
# Usage: scripts/bench_pchol.sh [--bench PATH] [--reps N] [--nb "NB ..."] [--dims "D ..."]
#                               [TABLE_FILE]
#   --bench  the bench_pchol executable (default: build/tests/mpi/bench_pchol)
#   --nb     block sizes to measure (default: 64; "32 64 128" compares them)
#   --dims   dimensions (default: "512 1024 2048 4096")
#   TABLE_FILE  also write the table there
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/build/tests/mpi/bench_pchol reps=3 nbs=64 dims="512 1024 2048 4096" table_file=""
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
case $reps in ''|*[!0-9]*|0) echo "bench_pchol.sh: --reps must be a positive integer" >&2; exit 2 ;; esac

# mpirun as root, oversubscribed, one BLAS thread (toolchain.md section 3).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2086  # $dims is a list of words
OPENBLAS_NUM_THREADS=2 mpirun -n 1 "$bench" --reps "$reps" --skip-pchol $dims \
  | sed 's/^lapack \([0-9]*\) 1 /lapack2 \1 1 /' >> "$out"
for nb in $nbs; do
  # shellcheck disable=SC2086
  mpirun -n 1 "$bench" --reps "$reps" --nb "$nb" $dims >> "$out"
  # shellcheck disable=SC2086
  mpirun -n 2 "$bench" --reps "$reps" --nb "$nb" --skip-lapack $dims >> "$out"
done

table=$(awk -v nbs="$nbs" '
  $1 == "lapack"  { l1[$2] = $4; if (!($2 in seen)) { seen[$2] = 1; order[++nd] = $2 } }
  $1 == "lapack2" { l2[$2] = $4 }
  $1 == "pchol"   { pc[$2, $3, $4] = $5 }
  END {
    nn = split(nbs, nb, " ")
    printf "%6s %4s %12s %12s %12s %12s %10s\n", "d", "nb", "LAPACK 1thr", "LAPACK 2thr",
      "pchol np1", "pchol np2", "np2 gain"
    for (k = 1; k <= nn; k++) {
      cross = ""
      for (i = 1; i <= nd; i++) {
        d = order[i]; p2 = pc[d, 2, nb[k]]
        printf "%6d %4d %11.4fs %11.4fs %11.4fs %11.4fs %9.2fx\n", d, nb[k], l1[d], l2[d],
          pc[d, 1, nb[k]], p2, l1[d] / p2
        if (cross == "" && p2 < l1[d]) cross = d
      }
      if (cross == "")
        printf "nb %d: ScaLAPACK on 2 ranks never beats single-threaded LAPACK up to d = %d\n",
          nb[k], order[nd]
      else
        printf "nb %d: crossover: ScaLAPACK on 2 ranks beats single-threaded LAPACK from d = %d\n",
          nb[k], cross
    }
  }' "$out")
echo "$table"
if [ -n "$table_file" ]; then
  mkdir -p "$(dirname "$table_file")"
  echo "$table" > "$table_file"
fi
