# bench_fit_setup.sh: the common start of the fit benchmarks (bench_fits.sh, bench_mle.sh),
# sourced after `set -euo pipefail` with the caller's name in $prog: parses
#   [--nvmm PATH] [--data DIR] [--work DIR] [--reps N] [TABLE_FILE]   (-h prints the caller's
# header comment), checks them, enters the work directory (a fresh temporary one, removed at
# exit, unless --work is given), sets mpirun's environment for root on one node with one BLAS
# thread (as scripts/deps.sh does), and imports nig_5000x3 and smi_stocks as nig.h5 and smi.h5.
export LC_ALL=C # $EPOCHREALTIME with a decimal point
root=$(cd "$(dirname "$0")/.." && pwd)
nvmm=$root/build/src/cli/nvmm data=$root/tests/data work="" reps=5 table_file=""
while [ $# -gt 0 ]; do
  case $1 in
    --nvmm) nvmm=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "$prog: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) table_file=$1; shift ;;
  esac
done
[ -x "$nvmm" ] || { echo "$prog: no nvmm at '$nvmm' (build it, or pass --nvmm)" >&2; exit 2; }
case $reps in ''|*[!0-9]*|0) echo "$prog: --reps must be a positive integer" >&2; exit 2 ;; esac
nvmm=$(cd "$(dirname "$nvmm")" && pwd)/$(basename "$nvmm")
if [ -n "$table_file" ]; then
  mkdir -p "$(dirname "$table_file")"
  table_file=$(cd "$(dirname "$table_file")" && pwd)/$(basename "$table_file")
fi
if [ -z "$work" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work"
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 > /dev/null
"$nvmm" import "$data/smi_stocks.csv" smi.h5 > /dev/null
