#!/usr/bin/env bash
# bad_input.sh: every bad input of `nvmm fit` on 2 ranks exits non-zero with exactly one
# message naming the cause, leaves no output file, and neither crashes nor hangs.
set -uo pipefail
nvmm=$1 work=$2
mkdir -p "$work"
cd "$work" || exit 1
rm -f ./*.h5 ./*.csv ./*.ini ./*.txt
fails=0

printf 'a,b,c\n1.5,2.25,3\n4,5.5,6.125\n7.75,8,9\n0.5,1,1.5\n' > ok.csv
"$nvmm" import ok.csv ok.h5 > /dev/null || { echo "FAIL: setup import"; exit 1; }
printf 'a,b,c\n1,2,3\n4,5,6\n7,8,9.5\n' > small.csv
"$nvmm" import small.csv small.h5 > /dev/null
printf 'a,b\n1,3\n2,3\n4,3\n5,3\n6,3\n' > const.csv
"$nvmm" import const.csv const.h5 > /dev/null
echo "this is not HDF5" > text.h5
# A NaN at row 2, column 1 of an otherwise fine dataset (h5import reads "nan" with fscanf).
printf '1 2\n3 4\n5 nan\n7 8\n9 10\n' > nan.txt
printf 'PATH /X\nINPUT-CLASS TEXTFP\nRANK 2\nDIMENSION-SIZES 5 2\nOUTPUT-CLASS FP\nOUTPUT-SIZE 64\n' > nan.cfg
h5import nan.txt -c nan.cfg -o nan.h5 > /dev/null 2>&1 || { echo "FAIL: setup h5import"; exit 1; }
printf '[fit]\nfamily = nig\n\ntolerance = 1e-3\n' > badkey.ini

# case NAME EXPECTED-TEXT ARGS...: runs `nvmm fit ARGS --out out_NAME.h5` on 2 ranks.
case_() {
  local name=$1 expect=$2
  shift 2
  local out="out_$name.h5" extra=(--out "out_$name.h5")
  case " $* " in *" --out "*) out=""; extra=() ;; esac
  local err
  err=$(timeout 120 mpirun -n 2 "$nvmm" fit "$@" "${extra[@]}" --verbose 0 2>&1 >/dev/null)
  local rc=$?
  local nmsg
  nmsg=$(printf '%s\n' "$err" | grep -c "nvmm: error")
  if [ $rc -eq 0 ] || [ $rc -eq 124 ] || [ $rc -ge 128 ]; then
    echo "FAIL [$name]: exit status $rc (want a clean non-zero exit)"; fails=$((fails + 1))
  elif ! printf '%s\n' "$err" | grep -q -- "$expect"; then
    echo "FAIL [$name]: message does not mention '$expect': $err"; fails=$((fails + 1))
  elif [ "$nmsg" -ne 1 ]; then
    echo "FAIL [$name]: $nmsg error messages (want 1): $err"; fails=$((fails + 1))
  elif [ -n "$out" ] && ls "$out" "$out.tmp" > /dev/null 2>&1; then
    echo "FAIL [$name]: output file left behind"; fails=$((fails + 1))
  else
    echo "ok   [$name] rc=$rc: $err"
  fi
}

case_ missing-file "missing.h5" --data missing.h5
case_ not-hdf5 "text.h5" --data text.h5
case_ missing-dataset "/Y" --data ok.h5:/Y
case_ nan "row 2" --data nan.h5
case_ nan-column "column 1" --data nan.h5
case_ n-le-d "not more than d" --data small.h5
case_ constant-column "column 1 is constant" --data const.h5
case_ unknown-family "unknown family 'student'" --data ok.h5 --family student
case_ unknown-regularization "det_sigma_two" --data ok.h5 --regularization det_sigma_two
case_ unknown-key "badkey.ini:4: unknown config key 'tolerance'" badkey.ini --data ok.h5
case_ unknown-option "--tolerance" --data ok.h5 --tolerance 1
case_ negative-tol "tol = -1 must be non-negative" --data ok.h5 --tol -1
case_ unwritable-dir "not writable" --data ok.h5 --out /nonexistent-dir/m.h5
# A 1-D dataset: the mu of a model file.
mpirun -n 1 "$nvmm" fit --data ok.h5 --family gauss --out gauss.h5 --verbose 0 > /dev/null 2>&1
case_ not-2d "expected 2" --data gauss.h5:/mu

echo "$fails failing case(s)"
[ $fails -eq 0 ]
