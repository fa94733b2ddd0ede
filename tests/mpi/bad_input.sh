#!/usr/bin/env bash
# bad_input.sh: the bad-input matrix of `nvmm fit`. Every bad input (on 2 ranks, or on 4 where
# only one rank's shard holds the problem) must
#   - exit non-zero with a status below 128 (no crash, no core dump) within 30 s (times meson's
#     timeout multiplier: tests/mpi/lib.sh),
#   - print exactly one "nvmm: error" message, and that message names the cause,
#   - leave the output file that was there before byte for byte as it was, and no .tmp file.
# Two inputs that look odd but are fine (float32 and int32 datasets) must fit, exactly as the
# same values stored as float64.
#
#   bad_input.sh NVMM WORK_DIR [DATA_DIR]      (DATA_DIR: tests/data, for nig_5000x3.csv)
set -uo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
limit=$(scaled 30)
nvmm=$(realpath "$1") work=$2
data=$(realpath "${3:-$(dirname "$0")/../data}")
mkdir -p "$work"
cd "$work" || exit 1
tiny=$PWD/tiny
umount "$tiny" 2>/dev/null
rm -rf ./*.h5 ./*.tmp ./*.csv ./*.ini ./*.txt ./*.cfg ./*.json ./*.bin "$tiny" core core.*
fails=0
cleanup() {
  if [ "${mounted:-0}" = 1 ]; then umount "$tiny" 2>/dev/null; fi
  return 0
}
trap cleanup EXIT
# A crash must not leave a core file behind here either (the exit status check catches it).
ulimit -c 0

# ---- the inputs ------------------------------------------------------------------------------
printf 'a,b,c\n1.5,2.25,3\n4,5.5,6.125\n7.75,8,9\n0.5,1,1.5\n' > ok.csv
"$nvmm" import ok.csv ok.h5 > /dev/null || { echo "FAIL: setup import"; exit 1; }
printf 'a,b,c\n1,2,3\n4,5,6\n7,8,9.5\n' > small.csv
"$nvmm" import small.csv small.h5 > /dev/null
printf 'a,b\n1,3\n2,3\n4,3\n5,3\n6,3\n' > const.csv
"$nvmm" import const.csv const.h5 > /dev/null
printf 'a,b,c\n' > same.csv
for i in 1 2 3 4 5 6 7 8; do echo '2.5,-1.25,7' >> same.csv; done
"$nvmm" import same.csv same.h5 > /dev/null
echo "this is not HDF5" > text.h5
mkdir -p adir.h5
# truncated.h5: a valid data file cut to half its length.
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 > /dev/null ||
  { echo "FAIL: setup import of nig_5000x3.csv"; exit 1; }
cp nig.h5 truncated.h5
truncate -s $(($(stat -c %s nig.h5) / 2)) truncated.h5

# h5import FILE.txt ROWS COLS CLASS SIZE OUT.h5: a 2-D /X from whitespace-separated text
# (h5import reads "nan" and "inf" with fscanf).
h5imp() {
  local in=IN
  [ "$4" = FP ] && in=FP
  printf 'PATH /X\nINPUT-CLASS TEXT%s\nINPUT-SIZE %s\nRANK 2\nDIMENSION-SIZES %s %s\nOUTPUT-CLASS %s\nOUTPUT-SIZE %s\n' \
    "$in" "$5" "$2" "$3" "$4" "$5" > "$6.cfg"
  h5import "$1" -c "$6.cfg" -o "$6" > /dev/null 2>&1 || { echo "FAIL: setup h5import $6"; exit 1; }
}
# One rank's problem: 12 rows in blocks of 2 rows (--block-rows 2) on 4 ranks put rows 8-11 on
# the last rank alone (nvmm_fit_shard: blocks [4, 6) of 6). The NaN is at row 10, column 1;
# the Inf at row 9, column 0. The shard ranges are checked here, not assumed.
python3 - <<'PY' || { echo "FAIL: the bad row is not on the last rank only"; exit 1; }
import random
r = random.Random(3)
rows = [[round(r.gauss(0, 1), 3), round(r.gauss(0, 2), 3)] for _ in range(12)]
for name, (i, j, v) in (("nan", (10, 1, "nan")), ("inf", (9, 0, "inf"))):
    with open(name + ".txt", "w") as f:
        for k, row in enumerate(rows):
            f.write(" ".join(v if (k, c) == (i, j) else repr(x) for c, x in enumerate(row)) + "\n")
n, br, size = 12, 2, 4
nb = (n + br - 1) // br
last = (nb * (size - 1) // size * br, n)
for i in (10, 9):
    assert last[0] <= i < last[1], (i, last)
    for rank in range(size - 1):
        assert not (nb * rank // size * br <= i < nb * (rank + 1) // size * br)
PY
h5imp nan.txt 12 2 FP 64 nan.h5
h5imp inf.txt 12 2 FP 64 inf.h5

printf '[fit]\nfamily = nig\n\ntolerance = 1e-3\n' > badkey.ini
printf '[fit]\nfamily = nig\nmax_iter 20\n' > malformed.ini
printf 'family = nig\nmax_iter = 0\n' > maxiter0.ini

# Checkpoints: a NIG fit of nig.h5 stopped after 6 iterations; other data of the same shape
# (the rows in reverse order); a GH checkpoint; a model file; a truncated and a patched copy.
mpirun -n 2 "$nvmm" fit --data nig.h5 --family nig --max-iter 6 --checkpoint ck_nig.h5 \
  --checkpoint-every 3 --out ck_model.h5 --verbose 0 > /dev/null 2>&1 ||
  { echo "FAIL: setup checkpoint"; exit 1; }
python3 - "$data/nig_5000x3.csv" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
open("rev.csv", "w").write("\n".join(lines[:1] + lines[:0:-1]) + "\n")
PY
"$nvmm" import rev.csv rev.h5 > /dev/null
cp ck_nig.h5 ck_trunc.h5
truncate -s $(($(stat -c %s ck_nig.h5) * 2 / 3)) ck_trunc.h5
# ck_patched.h5: the first value of /state/mu changed in place (raw data carries no HDF5
# checksum; nvmm's own checksum over /state must catch it).
cp ck_nig.h5 ck_patched.h5
h5dump -d /state/mu -b LE -o mu.bin ck_nig.h5 > /dev/null
python3 - ck_patched.h5 mu.bin <<'PY' || { echo "FAIL: setup patched checkpoint"; exit 1; }
import struct, sys
buf = bytearray(open(sys.argv[1], "rb").read())
old = open(sys.argv[2], "rb").read()
assert len(old) == 24 and buf.count(old) == 1, "the bytes of /state/mu are not unique"
i = buf.find(old)
buf[i:i + 8] = struct.pack("<d", struct.unpack("<d", old[:8])[0] + 1e-6)
open(sys.argv[1], "wb").write(bytes(buf))
PY
cp ck_patched.h5 ck_auto.h5

# ---- the checks ------------------------------------------------------------------------------
# run_case NAME NP EXPECT ARGS...: `timeout $limit mpirun -n NP nvmm fit ARGS --out out_NAME.h5`
# (ARGS may name --out itself: then that file is the one checked). The output file exists
# beforehand with known bytes.
run_case() {
  local name=$1 np=$2 expect=$3
  shift 3
  local out="out_$name.h5" extra=() a prev=""
  for a in "$@"; do [ "$prev" = --out ] && out=$a; prev=$a; done
  [ "$out" = "out_$name.h5" ] && extra=(--out "$out")
  local keep=""
  if [ -d "$(dirname "$out")" ] && [ -w "$(dirname "$out")" ]; then
    printf 'previous output of %s\n' "$name" > "$out" 2>/dev/null && keep=$(mktemp) && cp "$out" "$keep"
  fi
  local t0 t1 err rc
  t0=$(date +%s%N)
  err=$(timeout -k 5 "$limit" mpirun -n "$np" "$nvmm" fit "$@" "${extra[@]}" --verbose 0 2>&1 >/dev/null)
  rc=$?
  t1=$(date +%s%N)
  local ms=$(((t1 - t0) / 1000000)) msgs nmsg
  msgs=$(printf '%s\n' "$err" | grep "nvmm: error")
  nmsg=$(printf '%s\n' "$err" | grep -c "nvmm: error")
  local why=""
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then why="did not finish within $limit s"
  elif [ $rc -eq 0 ]; then why="exit status 0"
  elif [ $rc -ge 128 ]; then why="exit status $rc: killed by a signal (crash)"
  elif [ "$nmsg" -ne 1 ]; then why="$nmsg error messages (want 1)"
  elif ! printf '%s\n' "$msgs" | grep -q -- "$expect"; then why="the message does not say '$expect'"
  elif [ -n "$keep" ] && ! cmp -s "$keep" "$out"; then why="the previous $out was changed"
  elif [ -z "$keep" ] && [ -e "$out" ]; then why="$out was created"
  elif [ -e "$out.tmp" ]; then why="$out.tmp was left behind"
  elif compgen -G 'core*' > /dev/null; then why="a core file was written"
  fi
  [ -n "$keep" ] && rm -f "$keep"
  if [ -n "$why" ]; then
    echo "FAIL [$name] ($np ranks, ${ms} ms): $why"
    printf '%s\n' "$err" | grep -v -e '^-*$' -e 'Primary job' -e 'non-zero exit' -e 'aborted' | head -n 8 | sed 's/^/    /'
    fails=$((fails + 1))
  else
    echo "ok   [$name] ($np ranks, rc $rc, ${ms} ms) $msgs"
  fi
  rm -f "$out"
}

run_case missing-file 2 "missing.h5" --data missing.h5
run_case not-hdf5 2 "'text.h5' is not an HDF5 file" --data text.h5
if [ "$(id -u)" = 0 ]; then
  echo "skip [unreadable-chmod]: running as root, which ignores file permissions (chmod 000);" \
    "the unreadable case below uses a directory instead"
else
  cp ok.h5 noperm.h5 && chmod 000 noperm.h5
  run_case unreadable-chmod 2 "noperm.h5': Permission denied" --data noperm.h5
fi
run_case unreadable-dir 2 "cannot read 'adir.h5' (a directory" --data adir.h5
run_case truncated-hdf5 2 "'truncated.h5'.*truncated file" --data truncated.h5
run_case missing-dataset 2 "'ok.h5' has no dataset '/Y'" --data ok.h5:/Y
run_case nan-one-rank 4 "'nan.h5' dataset '/X': the value at row 10, column 1 is NaN" \
  --data nan.h5 --block-rows 2
run_case inf-one-rank 4 "'inf.h5' dataset '/X': the value at row 9, column 0 is infinite" \
  --data inf.h5 --block-rows 2
run_case n-le-d 2 "not more than d" --data small.h5
run_case constant-column 2 "column 1 is constant" --data const.h5
run_case identical-rows 2 "column 0 is constant" --data same.h5
run_case unknown-family 2 "unknown family 'student'" --data ok.h5 --family student
run_case unknown-regularization 2 "det_sigma_two" --data ok.h5 --regularization det_sigma_two
run_case unknown-key 2 "badkey.ini:4: unknown config key 'tolerance'" badkey.ini --data ok.h5
run_case malformed-ini 2 "malformed.ini:3: syntax error (expected key = value)" malformed.ini \
  --data ok.h5
run_case unknown-option 2 "--tolerance" --data ok.h5 --tolerance 1
run_case negative-tol 2 "tol = -1 must be non-negative" --data ok.h5 --tol -1
run_case max-iter-0 2 "option --max-iter: '0' must be an integer in \[1," --data ok.h5 --max-iter 0
run_case max-iter-0-ini 2 "maxiter0.ini (key 'max_iter'): '0' must be an integer" maxiter0.ini \
  --data ok.h5
run_case unwritable-dir 2 "not writable" --data ok.h5 --out /nonexistent-dir/m.h5
run_case not-2d 2 "expected 2" --data ck_model.h5:/mu
run_case resume-other-data 2 "fingerprint" --resume ck_nig.h5 --data rev.h5
run_case resume-other-shape 2 "taken on 5000 x 3 data, these data are 4 x 3" --resume ck_nig.h5 \
  --data ok.h5
run_case resume-other-family 2 "the checkpoint is a nig fit, this fit is gh" --resume ck_nig.h5 \
  --family gh
run_case resume-model-file 2 "'ck_model.h5' is not an nvmm checkpoint: it has no /state group" \
  --resume ck_model.h5
run_case ckpt-truncated 2 "cannot open checkpoint 'ck_trunc.h5': truncated file" \
  --resume ck_trunc.h5
run_case ckpt-patched 2 "checkpoint 'ck_patched.h5' is corrupt: its /state does not match" \
  --resume ck_patched.h5
# The same corrupt file met as the --checkpoint of a fit (automatic resume): refused, and left
# as it is for inspection.
cp ck_auto.h5 ck_auto.orig
run_case ckpt-auto-patched 2 "checkpoint 'ck_auto.h5' is corrupt" --data nig.h5 \
  --checkpoint ck_auto.h5
cmp -s ck_auto.h5 ck_auto.orig || { echo "FAIL [ckpt-auto-patched]: the checkpoint was changed"; fails=$((fails + 1)); }

# A full disk: a 64 KiB tmpfs with 8 KiB left (the model file is ~13 KiB), where mount works;
# a file size limit (ulimit -f) always. Under the limit the shared-memory transport of Open MPI
# cannot start (its segment files exceed it), so that case runs on 1 rank with the self
# transport, the limit set for the rank alone.
mounted=0
mkdir -p "$tiny"
if mount -t tmpfs -o size=64k tmpfs "$tiny" 2>/dev/null; then
  mounted=1
  head -c $((56 * 1024)) /dev/zero > "$tiny/fill"
  run_case full-disk-model 2 "cannot write '$tiny/m.h5.tmp' (the file '$tiny/m.h5' is written there first): No space left" \
    --data nig.h5 --out "$tiny/m.h5"
  run_case full-disk-checkpoint 2 "writing the checkpoint: cannot write '$tiny/ck.h5.tmp'.*No space left" \
    --data nig.h5 --checkpoint "$tiny/ck.h5" --checkpoint-every 2
  [ -e "$tiny/ck.h5" ] && { echo "FAIL [full-disk-checkpoint]: a checkpoint was left"; fails=$((fails + 1)); }
  umount "$tiny" && mounted=0
else
  echo "skip [full-disk-model, full-disk-checkpoint]: cannot mount a tmpfs here (not root?);" \
    "the file size limit case below stands for them"
fi
cat > fsize.sh <<EOF
#!/bin/sh
ulimit -f 8
exec "$nvmm" "\$@"
EOF
chmod +x fsize.sh
nvmm_real=$nvmm
nvmm=$PWD/fsize.sh
OMPI_MCA_btl=self run_case file-size-limit 1 "cannot write 'out_file-size-limit.h5.tmp' (the file 'out_file-size-limit.h5' is written there first): File too large" \
  --data nig.h5
nvmm=$nvmm_real

# ---- float32 and int32 data are converted, not refused -----------------------------------------
# Each fit must equal (bitwise, but for "ranks" and "elapsed_s") the fit of the same values
# stored as float64: f64.txt holds the float32 values exactly (repr of the rounded doubles).
python3 - <<'PY'
import random, struct
r = random.Random(5)
with open("f32.txt", "w") as a, open("f64.txt", "w") as b, open("int.txt", "w") as c:
    for _ in range(400):
        row = [r.gauss(0, 1), r.gauss(1, 2), r.expovariate(1)]
        f32 = [struct.unpack("f", struct.pack("f", x))[0] for x in row]
        a.write(" ".join(repr(x) for x in f32) + "\n")
        b.write(" ".join(repr(x) for x in f32) + "\n")
        c.write("%d %d %d\n" % (r.randint(-50, 50), r.randint(0, 1000), r.randint(-7, 9)))
PY
h5imp f32.txt 400 3 FP 32 f32.h5
h5imp f64.txt 400 3 FP 64 f64.h5
h5imp int.txt 400 3 IN 32 i32.h5
h5imp int.txt 400 3 FP 64 i64.h5
for pair in "f32 f64 float32" "i32 i64 int32"; do
  read -r -a words <<< "$pair"
  set -- "${words[@]}"
  [ "$(info_json "$1.h5" '.objects[] | select(.path == "/X") | .type')" = "$3" ] ||
    { echo "FAIL [$3]: $1.h5 is not $3"; fails=$((fails + 1)); }
  t0=$(date +%s%N)
  timeout -k 5 "$limit" mpirun -n 2 "$nvmm" fit --data "$1.h5" --out "m_$1.h5" --verbose 0 --json 1 > "$1.json" 2> "$1.err"
  rc=$?
  timeout -k 5 "$limit" mpirun -n 2 "$nvmm" fit --data "$2.h5" --out "m_$2.h5" --verbose 0 --json 1 > "$2.json" 2>> "$1.err"
  ms=$((($(date +%s%N) - t0) / 1000000))
  if [ $rc -ne 0 ] || [ -s "$1.err" ] || [ ! -s "$1.json" ]; then
    echo "FAIL [$3-data]: exit status $rc: $(head -n 3 "$1.err")"; fails=$((fails + 1))
  elif ! diff <(strip_json "$1.json") <(strip_json "$2.json") > /dev/null; then
    echo "FAIL [$3-data]: the fit differs from the fit of the same values as float64"; fails=$((fails + 1))
  else
    echo "ok   [$3-data] (2 ranks, rc 0, ${ms} ms for both fits) fitted, bitwise the float64 fit:" \
      "$(grep -E '"(reason|loglik_mean)"' "$1.json" | tr -d ' \n')"
  fi
done

echo "$fails failing case(s)"
[ $fails -eq 0 ]
