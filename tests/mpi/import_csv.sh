#!/usr/bin/env bash
# import_csv.sh: `nvmm import` on a real spreadsheet export: ';'-separated, decimal commas, NA
# and empty cells, a date column. With --missing error (the default) it must exit 1 with one
# message naming the line, the column (name and field number) and the token and suggesting
# --missing drop, leaving no output; with --missing drop it must say which delimiter and
# decimal separator it detected and how many rows it dropped, and `nvmm info --json` must show
# the count. A wrong --delimiter is named in the message, and bad option values are usage
# errors (status 2).
#
#   import_csv.sh NVMM WORK_DIR
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") work=$2
mkdir -p "$work"
cd "$work" || exit 1
rm -f ./*.csv ./*.h5 ./*.tmp out err

# run STATUS CMD...: runs CMD with stdout in out and stderr in err, and checks its exit status.
run() {
  local want=$1 rc=0
  shift
  "$@" > out 2> err || rc=$?
  [ "$rc" = "$want" ] || fail "$* exited $rc, not $want: $(cat err)"
}

{
  printf '\xef\xbb\xbfDatum;SMI;NOVN;CSGN\r\n'
  printf '02.01.2001;0,0123;-0,5;1,25e-2\r\n'
  printf '03.01.2001;NA;0,25;0,125\r\n'
  printf '04.01.2001;-0,0042;;0,5\r\n'
  printf '05.01.2001;0,001;0,75;-1\r\n'
  printf '06.01.2001;0,002;-0,125;N/A\r\n'
} > export.csv

# --missing error (the default): line 3, column SMI (field 2), token NA, the suggestion.
for args in "" "--missing error"; do
  # shellcheck disable=SC2086
  run 1 "$nvmm" import export.csv x.h5 $args
  [ "$(grep -c 'nvmm: error' err)" = 1 ] || fail "import $args: not one error message: $(cat err)"
  for want in "line 3" "column 'SMI'" "field 2 of 4" "'NA'" "--missing drop"; do
    grep -qF -- "$want" err || fail "import $args: the message lacks \"$want\": $(cat err)"
  done
  if [ -e x.h5 ] || [ -e x.h5.tmp ]; then fail "import $args: output left behind"; fi
  [ ! -s out ] || fail "import $args: stdout: $(cat out)"
done

# --missing drop: 3 of 5 rows dropped, the first on line 3; the values with decimal commas.
run 0 "$nvmm" import export.csv x.h5 --missing drop
for want in "Detected the delimiter ';'" "Detected decimal commas" \
  "Skipped 1 non-numeric column: Datum" "Dropped 3 rows with a missing value (the first on line 3)" \
  "Wrote 2 rows x 3 columns to x.h5:/X"; do
  grep -qF -- "$want" out || fail "import --missing drop: stdout lacks \"$want\": $(cat out)"
done
[ "$(info_json x.h5 '.objects[0].rows_dropped')" = 3 ] ||
  fail "nvmm info --json: rows_dropped is $(info_json x.h5 '.objects[0].rows_dropped')"
[ "$(info_json x.h5 '.objects[0].missing')" = drop ] || fail "nvmm info --json: missing"
[ "$(info_json x.h5 '.objects[0].shape | join("x")')" = 2x3 ] || fail "nvmm info --json: shape"
[ "$(info_json x.h5 '.objects[0].columns | join(",")')" = SMI,NOVN,CSGN ] ||
  fail "nvmm info --json: columns"
"$nvmm" info x.h5 | grep -qF 'missing: drop (3 rows dropped)' || fail "nvmm info: no dropped rows"
if command -v h5dump > /dev/null; then
  vals=$(h5dump -d /X -y -m %g x.h5 | sed -n '/DATA {/,/}/p' | tr -d ' \n' | cut -d'}' -f1)
  [ "$vals" = 'DATA{0.0123,-0.5,0.0125,0.001,0.75,-1' ] || fail "the values of /X: $vals"
fi

# An explicit --delimiter and --decimal-comma give the same file; a clean import has no
# missing attributes.
run 0 "$nvmm" import export.csv y.h5 --missing drop --delimiter ';' --decimal-comma
grep -q Detected out && fail "import --delimiter ';' --decimal-comma: still says Detected: $(cat out)"
grep -qF "Wrote 2 rows x 3 columns" out || fail "explicit options: $(cat out)"
printf 'a\tb\n1.5\t2\n' > tab.csv
run 0 "$nvmm" import tab.csv t.h5 --delimiter '\t'
[ "$(info_json t.h5 '.objects[0].rows_dropped')" = null ] || fail "clean import: rows_dropped"

# The wrong delimiter is named, with the likelier one.
run 1 "$nvmm" import export.csv z.h5 --delimiter ,
grep -qF "line 2 has 4 fields separated by ',' but the header has 1: is the delimiter ';'? (--delimiter)" err ||
  fail "--delimiter ,: $(cat err)"
[ ! -e z.h5 ] || fail "--delimiter ,: output left behind"

# Bad option values are usage errors.
run 2 "$nvmm" import export.csv z.h5 --missing skip
grep -qF -- "--missing takes error or drop, got 'skip'" err || fail "--missing skip: $(cat err)"
run 2 "$nvmm" import export.csv z.h5 --delimiter ::
grep -qF -- "--delimiter takes" err || fail "--delimiter ::: $(cat err)"
echo "import_csv: ok"
