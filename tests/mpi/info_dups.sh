#!/usr/bin/env bash
# info_dups.sh: `nvmm info` counts exact duplicate rows of a data file (src/dups.c). nig_5000x3
# with 300 rows replaced by one row (1.5, -2.25, 0.125) reports exactly 300 rows, 1 distinct row,
# that row 300 times, in the text and in the JSON, on 1 and 2 ranks; the unmodified file reports
# none; --no-duplicates leaves the key out; a model file is described as before (no
# "duplicates", the same text on 1 and 2 ranks); a NaN fails with the cause and the way around.
#
#   info_dups.sh NVMM DATA_DIR WORK_DIR
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3
mkdir -p "$work"
cd "$work" || exit 1
rm -f ./*.csv ./*.h5 ./*.tmp out err

# Every 16th data row from the 6th on, 300 of them, becomes the same row.
awk -F, 'NR > 1 && (NR - 2) % 16 == 5 && c < 300 { print "1.5,-2.25,0.125"; c++; next } { print }' \
  "$data/nig_5000x3.csv" > dup.csv
[ "$(grep -c '^1.5,-2.25,0.125$' dup.csv)" = 300 ] || fail "dup.csv: not 300 copies"
"$nvmm" import dup.csv dup.h5 > /dev/null || fail "import dup.csv"
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 > /dev/null || fail "import nig_5000x3.csv"

want='  duplicates: 300 rows are copies of 1 distinct row; the most repeated (300 times): (1.5, -2.25, 0.125)'
want_json='{"dataset":"/X","distinct_repeated":1,"rows":300,"max_multiplicity":300,"max_row":[1.5,-2.25,0.125]}'
for np in 1 2; do
  mpirun -n "$np" "$nvmm" info dup.h5 > out 2> err || fail "info dup.h5 on $np ranks: $(cat err)"
  grep -qxF -- "$want" out || fail "info dup.h5 on $np ranks: $(cat out)"
  [ "$(grep -c duplicates out)" = 1 ] || fail "info dup.h5 on $np ranks: not one line: $(cat out)"
  mpirun -n "$np" "$nvmm" info --json dup.h5 > out 2> err || fail "info --json on $np ranks: $(cat err)"
  [ "$(jq -c .duplicates out)" = "$want_json" ] || fail "info --json dup.h5 on $np ranks: $(jq -c .duplicates out)"
  mpirun -n "$np" "$nvmm" info nig.h5 > out 2> err || fail "info nig.h5 on $np ranks: $(cat err)"
  [ "$(grep duplicates out)" = "  duplicates: none" ] || fail "info nig.h5 on $np ranks: $(cat out)"
  mpirun -n "$np" "$nvmm" info --json nig.h5 > out || fail "info --json nig.h5"
  [ "$(jq -c .duplicates out)" = \
    '{"dataset":"/X","distinct_repeated":0,"rows":0,"max_multiplicity":1,"max_row":null}' ] ||
    fail "info --json nig.h5 on $np ranks: $(jq -c .duplicates out)"
done

# --no-duplicates: no pass, no key, no line; the rest as with it.
[ "$(info_json dup.h5 '.objects[0].shape | join("x")')" = 5000x3 ] || fail "info dup.h5: shape"
"$nvmm" info --no-duplicates --json dup.h5 | jq -e 'has("duplicates") | not' > /dev/null ||
  fail "info --no-duplicates --json still has duplicates"
"$nvmm" info --no-duplicates dup.h5 | grep -q duplicates && fail "info --no-duplicates: a duplicates line"

# A model file: described as before on 1 and 2 ranks, no duplicates.
"$nvmm" fit --data nig.h5 --max-iter 2 --out model.h5 > /dev/null 2>&1 || fail "fit"
"$nvmm" info model.h5 > one || fail "info model.h5"
mpirun -n 2 "$nvmm" info model.h5 > two || fail "info model.h5 on 2 ranks"
cmp -s one two || fail "info model.h5: 1 and 2 ranks differ"
grep -q '^nvmm model file' one || fail "info model.h5: $(cat one)"
grep -q duplicates one && fail "info model.h5: a duplicates line"
[ "$(info_json model.h5 'has("duplicates")')" = false ] || fail "info --json model.h5: duplicates"

# A NaN (a file nvmm import never writes; h5import, of the HDF5 tools h5dump comes with): the
# error names the value and --no-duplicates, and prints nothing else.
if command -v h5import > /dev/null; then
  printf '1 2\n3 4\n5 nan\n7 8\n' > nan.txt
  printf 'PATH X\nINPUT-CLASS TEXTFP\nRANK 2\nDIMENSION-SIZES 4 2\nOUTPUT-CLASS FP\nOUTPUT-SIZE 64\n' \
    > nan.cfg
  h5import nan.txt -c nan.cfg -o nan.h5 || fail "h5import nan.h5"
  rc=0
  mpirun -n 2 "$nvmm" info nan.h5 > out 2> err || rc=$?
  [ "$rc" = 1 ] || fail "info nan.h5 exited $rc"
  [ ! -s out ] || fail "info nan.h5 printed: $(cat out)"
  grep -qF 'row 2, column 1' err || fail "info nan.h5: $(cat err)"
  grep -qF -- '--no-duplicates' err || fail "info nan.h5: $(cat err)"
  "$nvmm" info --no-duplicates nan.h5 > /dev/null || fail "info --no-duplicates nan.h5"
fi
echo "info_dups: ok"
