#!/usr/bin/env bash
# bench_factor.sh: speed of factor fits (nvmm fit --factors R, src/numerics.md 3.4, 5.12) on one
# rank, one BLAS thread:
#
#   (a) seconds per EM iteration (one E-step pass and one M-step) of the factor fit against the
#       dense fit on the same data, at d = 200, r = 5, n = 50000 (issue 15's target: the factor
#       fit at least 5x faster per pass) and d = 256, r = 20, n = 20000;
#   (b) the factor fit alone at d = 1000, 2000, 5000 (r = 20): its E-step's time per row against
#       the DGEMM floor of the same flop count (one n x d by d x (2 r + 3) product: the E-step's
#       two products, X~ [D^-1/2 F | D^1/2 g] and the accumulation X~^T W, of r + 1 and r + 2
#       columns; target: within 3x), the start-up (moment pass and PCA start, still
#       O(n d^2 + d^3)) and the peak resident memory of the process (/usr/bin/time -v).
#
# Both fits run plain EM (no SQUAREM) for a fixed number of iterations with the stopping rule off
# (tests/mpi/bench_factor.c draws the data by the factor form). Each of --reps interleaved rounds
# (default 3) runs every case once; the table gives medians over the rounds. About 8 minutes on
# 2 cores with the default sizes. Through meson: `meson test -C BUILD --benchmark -v bench-factor`.
#
# Usage: scripts/bench_factor.sh [--bench PATH] [--reps N] [--large "D:N ..."] [TABLE_FILE]
#   --bench  the bench_factor executable (default: build/tests/mpi/bench_factor)
#   --large  the factor-only cases as d:n pairs (default "1000:10000 2000:5000 5000:6000")
#   TABLE_FILE  also write the table there
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/build/tests/mpi/bench_factor reps=3 large="1000:10000 2000:5000 5000:6000"
table_file=""
while [ $# -gt 0 ]; do
  case $1 in
    --bench) bench=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --large) large=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "bench_factor.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) table_file=$1; shift ;;
  esac
done
[ -x "$bench" ] || { echo "bench_factor.sh: no bench_factor at '$bench' (build it)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench_factor.sh: needs /usr/bin/time (GNU time)" >&2; exit 2; }
case $reps in
  ''|*[!0-9]*|0) echo "bench_factor.sh: --reps must be a positive integer" >&2; exit 2 ;;
esac

# mpirun as root, oversubscribed, one BLAS thread (src/architecture.md 7.1).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out=$work/lines

# One case: the bench's line, then the process's peak resident set in kB.
run() {
  # Unbound: Open MPI would pin the lone rank to core 0, whatever else runs there.
  if ! mpirun --bind-to none -n 1 /usr/bin/time -v -o "$work/time" "$bench" "$@" \
      > "$work/line" 2> "$work/err"; then
    cat "$work/err" "$work/time" >&2
    echo "bench_factor.sh: bench_factor $* failed" >&2
    exit 1
  fi
  printf '%s %s\n' "$(cat "$work/line")" \
    "$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")" >> "$out"
}

: > "$out"
for ((round = 1; round <= reps; round++)); do
  for c in 200:5:50000 256:20:20000; do
    IFS=: read -r d r n <<< "$c"
    run fit "$d" "$r" "$n" 3
    run fit "$d" 0 "$n" 3
  done
  for c in $large; do
    IFS=: read -r d n <<< "$c"
    run fit "$d" 20 "$n" 2
    run dgemm "$d" 43 "$n" 5
  done
done

table=$(python3 - "$out" "$reps" <<'PY'
import statistics, sys

groups = {}
for line in open(sys.argv[1]):
    w = line.split()
    groups.setdefault((w[0], int(w[1]), int(w[2]), int(w[3])), []).append([float(v) for v in w[4:]])
reps = sys.argv[2]


def med(key, col):
    return statistics.median(v[col] for v in groups[key])


print(f"Factor vs dense fit, 1 rank, plain EM, medians of {reps} rounds")
print(f"{'d':>5} {'r':>3} {'n':>6} {'dense s/iter':>13} {'factor s/iter':>14} {'speed-up':>9}"
      f" {'dense MB':>9} {'factor MB':>10}")
for d, r, n in [(200, 5, 50000), (256, 20, 20000)]:
    fk, dk = ("fit", d, r, n), ("fit", d, 0, n)
    a, b = med(dk, 1), med(fk, 1)
    print(f"{d:5d} {r:3d} {n:6d} {a:13.4f} {b:14.4f} {a / b:8.1f}x"
          f" {med(dk, 4) / 1024:9.0f} {med(fk, 4) / 1024:10.0f}")
print()
print("Factor fit alone (r = 20): E-step per row against the DGEMM floor of its d (2 r + 3) "
      "multiply-adds")
print(f"{'d':>5} {'n':>6} {'s/iter':>8} {'E-step s/pass':>14} {'us/row':>8} {'floor us/row':>13}"
      f" {'ratio':>6} {'start-up s':>11} {'peak MB':>8}")
for key in sorted(k for k in groups if k[0] == "fit" and k[1] > 256):
    _, d, r, n = key
    gk = ("dgemm", d, 2 * r + 3, n)
    row = med(key, 2) / n * 1e6
    floor = med(gk, 0) / n * 1e6
    print(f"{d:5d} {n:6d} {med(key, 1):8.3f} {med(key, 2):14.3f} {row:8.2f} {floor:13.2f}"
          f" {row / floor:5.1f}x {med(key, 3):11.2f} {med(key, 4) / 1024:8.0f}")
PY
)
echo "$table"
if [ -n "$table_file" ]; then
  mkdir -p "$(dirname "$table_file")"
  echo "$table" > "$table_file"
fi
