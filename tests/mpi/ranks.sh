#!/usr/bin/env bash
# ranks.sh: `nvmm fit` (model, history, JSON summary; dense and factor), `nvmm score` and `nvmm sample` give
# bitwise identical results on 1, 2, 3, 4 and 7 ranks (README "Reproducible reductions"),
# including rank counts that leave some ranks without a block; and `nvmm sample`'s block k of
# ROWS rows comes from random stream k of the seed, whatever n and P are.
#
#   ranks.sh NVMM WORK_DIR
#
# Files are compared whole: same objects, types and shapes (h5dump -H), then the same values bit
# for bit (h5diff without a tolerance). The only parts left out are those that describe the run
# rather than the result: /history/elapsed (wall-clock seconds per iteration), the /meta
# attribute "ranks" (checked to be P instead) and the JSON fields "ranks" and "elapsed_s".
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") work=$2
no_leak_check "the sample, fit and score paths fit-e2e checks for leaks, on many rank counts"
# Under the sanitizers 1, 2 and 7 ranks (7: ranks without a block); the normal pass runs all.
rank_counts="1 2 3 4 7"
if under_asan; then rank_counts="1 2 7"; fi
mkdir -p "$work"
cd "$work"
rm -rf np* ./*.h5 ./*.txt ./*.json ./*.out
# rows FILE DATASET R0 COUNT OUT: rows R0 .. R0+COUNT-1 of the 2-D FILE:DATASET at 17
# significant digits (exact for doubles), one value per line, into OUT; fails unless all
# COUNT x width values are there.
rows() {
  local d
  d=$(h5dump -H -d "$2" "$1" | sed -n 's/.*DATASPACE  SIMPLE { ( [0-9]*, \([0-9]*\) ).*/\1/p') ||
    fail "h5dump -H -d $2 $1"
  [ -n "$d" ] || fail "$1: cannot read the width of $2"
  h5dump -m %.17g -y -w 0 -d "$2" -s "$3,0" -c "$4,$d" -o "$5.raw" "$1" > /dev/null ||
    fail "h5dump rows $3.. of $1:$2"
  # The dump's last line has no newline, which wc -l would not count.
  { cat "$5.raw" && echo; } | sed -e 's/[, ]\+/\n/g' | sed '/^$/d' > "$5"
  [ "$(wc -l < "$5")" -eq $(($4 * d)) ] || fail "$1:$2: expected $(($4 * d)) values from row $3"
}

# The comparison itself must be able to fail: a copy of a model file whose Sigma[0][0] is one
# ulp away (flipped in the file's bytes) must not pass same_model.
flip_last_bit() {
  local v
  rows "$1" /sigma 0 1 flip.txt
  v=$(head -n 1 flip.txt)
  python3 - "$1" "$2" "$v" <<'PY'
import struct, sys
src, dst, v = sys.argv[1], sys.argv[2], float(sys.argv[3])
raw = open(src, "rb").read()
old = struct.pack("<d", v)
assert raw.count(old) == 1, "Sigma[0][0] = %r occurs %d times in %s" % (v, raw.count(old), src)
new = struct.pack("<q", struct.unpack("<q", old)[0] ^ 1)
open(dst, "wb").write(raw.replace(old, new))
PY
}

# The data: 24000 rows of a 4-D GH model, sampled on 1 rank in the default blocks of 4096 rows (6
# blocks, the last one of 3520 rows).
gh_model=(--family gh --d 4 --mu "0.1,0.2,-0.3,0" --gamma "0.3,-0.2,0.1,0.05"
  --sigma "1,0.2,0.1,0,0.2,1,0.3,0.1,0.1,0.3,1,0.2,0,0.1,0.2,1" --sub "-1.5,1.2,2.0")
"$nvmm" sample "${gh_model[@]}" --n 24000 --seed 11 --out gh.h5 > /dev/null

for np in $rank_counts; do
  mkdir "np$np"
  # Every run of one rank count works in its own directory with the same relative names, so
  # that the configuration stored in the model (/meta/config_text: data and out paths) is the
  # same text on every rank count.
  (
    cd "np$np"
    # sample: 6 blocks of 4096 rows; 7 ranks leave one rank without a block.
    mpirun -n "$np" "$nvmm" sample "${gh_model[@]}" --n 24000 --seed 11 --out gh.h5 > /dev/null
    # fit: block_rows 2048 makes 12 blocks, so 7 ranks hold 1 or 2 blocks each.
    mpirun -n "$np" "$nvmm" fit --data ../gh.h5 --family gh --tol 1e-7 --max-iter 300 \
      --block-rows 2048 --out m.h5 --json 1 --verbose 0 > fit.json
    # More ranks than blocks: 24000 rows in blocks of 20000 leave 5 of 7 ranks (1 of 3, 2 of 4)
    # empty.
    mpirun -n "$np" "$nvmm" fit --data ../gh.h5 --family nig --max-iter 50 --block-rows 20000 \
      --out e.h5 --json 1 --verbose 0 > e.json
    # A factor fit (issue 15: statistics, M-step, SQUAREM and gauge in F and D), 12 blocks.
    mpirun -n "$np" "$nvmm" fit --data ../gh.h5 --family nig --factors 2 --max-iter 60 \
      --block-rows 2048 --out f.h5 --json 1 --verbose 0 > f.json
    # score under the 1-rank model: 6 blocks of 4096 rows; on 7 ranks one rank is empty.
    mpirun -n "$np" "$nvmm" score --model ../np1/m.h5 --data ../gh.h5 --out score.h5 > score.txt
    # sample from a model file in blocks of 1000 rows, the last one partial (3 blocks: on 4 and 7
    # ranks 1 and 4 ranks hold none), and score that: one block of 4096, so on P ranks P - 1 are
    # empty.
    mpirun -n "$np" "$nvmm" sample --model ../np1/m.h5 --n 2500 --block 1000 --seed 5 \
      --out small.h5 > /dev/null
    mpirun -n "$np" "$nvmm" score --model ../np1/m.h5 --data small.h5 --out small_score.h5 \
      > small_score.txt
  )
  grep -q "\"ranks\": $np," "np$np/fit.json" || fail "np$np/fit.json does not say $np ranks"
  [ "$np" -gt 1 ] || continue
  same_h5 gh.h5 "np$np/gh.h5"
  same_h5 np1/small.h5 "np$np/small.h5"
  strip_json np1/fit.json > fit1.strip
  strip_json "np$np/fit.json" > fitn.strip
  diff fit1.strip fitn.strip ||
    fail "fit JSON: $np ranks differ from 1 rank"
  strip_json np1/e.json > fit1.strip
  strip_json "np$np/e.json" > fitn.strip
  diff fit1.strip fitn.strip ||
    fail "fit JSON with empty ranks: $np ranks differ from 1 rank"
  strip_json np1/f.json > fit1.strip
  strip_json "np$np/f.json" > fitn.strip
  diff fit1.strip fitn.strip ||
    fail "factor fit JSON: $np ranks differ from 1 rank"
  same_model np1/m.h5 "np$np/m.h5" "$np"
  same_model np1/f.h5 "np$np/f.h5" "$np"
  same_model np1/e.h5 "np$np/e.h5" "$np"
  same_h5 np1/score.h5 "np$np/score.h5"
  same_h5 np1/small_score.h5 "np$np/small_score.h5"
  # The printed mean and total are %.17g: equal text is equal bits.
  cmp np1/score.txt "np$np/score.txt" || fail "score output: $np ranks differ from 1 rank"
  cmp np1/small_score.txt "np$np/small_score.txt" || fail "score output: $np ranks differ"
  echo "ok   $np ranks: sample, fit (model, history, JSON; dense and 2 factors), score bitwise the 1-rank results"
done
grep -q '"converged": true' np1/fit.json || fail "the GH fit did not converge"
# The model files hold every part the README's h5py example reads.
for ds in /mu /gamma /sigma /gig_p /gig_a /gig_b /history/loglik /history/param_change; do
  h5dump -H -d "$ds" np1/m.h5 > /dev/null || fail "np1/m.h5 has no $ds"
done
h5dump -a /family np1/m.h5 > attr.txt || fail "np1/m.h5 has no attribute family"
grep -q '(0): "gh"' attr.txt || fail "np1/m.h5: family is not gh"
h5dump -a /d np1/m.h5 > attr.txt || fail "np1/m.h5 has no attribute d"
grep -q '(0): 4$' attr.txt || fail "np1/m.h5: d is not 4"

# score's total is the exact sum of the per-row log-densities it writes, rounded to double
# within an ulp (include/nvmm/xsum.h; a naive sum of 24000 terms is off by many ulps), and its
# mean is that total / n.
rows np1/score.h5 /logpdf 0 24000 score_rows.txt
python3 - score_rows.txt np1/score.txt <<'PY' || fail "score total is not the exact sum of its rows"
import math, re, sys
vals = [float(v) for v in open(sys.argv[1]).read().split()]
line = open(sys.argv[2]).read()
m = re.match(r"mean log-likelihood (\S+) \(total (\S+), n = (\d+),", line)
assert m, "unexpected score output: %r" % line
mean, total, n = float(m.group(1)), float(m.group(2)), int(m.group(3))
assert n == len(vals) == 24000, (n, len(vals))
exact = math.fsum(vals)
assert abs(total - exact) <= math.ulp(exact), (total, exact)
assert mean == total / n, (mean, total / n)
print("ok   score total %.17g, exact sum %.17g (%s), mean = total / n" %
      (total, exact, "equal" if total == exact else "1 ulp apart"))
PY

# sample's block structure: block k of ROWS rows uses random stream k of the seed, so the first
# blocks do not depend on n, and a partial last block is the start of that block's stream.
(
  cd np1
  "$nvmm" sample --model m.h5 --n 3000 --block 1000 --seed 5 --out n3000.h5 > /dev/null
  "$nvmm" sample --model m.h5 --n 2000 --block 1000 --seed 5 --out n2000.h5 > /dev/null
  "$nvmm" sample --model m.h5 --n 1000 --block 500 --seed 5 --out b500.h5 > /dev/null
  "$nvmm" sample --model m.h5 --n 2500 --block 1000 --seed 6 --out seed6.h5 > /dev/null
)
rows np1/small.h5 /X 0 2500 small.txt
rows np1/n3000.h5 /X 0 2500 n3000.txt
cmp -s small.txt n3000.txt || fail "sample: n = 2500 is not the first 2500 rows of n = 3000"
rows np1/n2000.h5 /X 0 2000 n2000.txt
cmp -s n2000.txt <(head -n 8000 small.txt) || fail "sample: n = 2000 is not a prefix of n = 2500"
# Blocks of 500 rows: block 0 is the first 500 draws of stream 0, as with blocks of 1000 rows;
# block 1 comes from stream 1, so rows 500-999 differ from the 1000-row block's.
rows np1/b500.h5 /X 0 1000 b500.txt
cmp -s <(head -n 2000 b500.txt) <(head -n 2000 small.txt) ||
  fail "sample: block 0 of 500 rows is not the start of stream 0"
! cmp -s <(sed -n 2001,4000p b500.txt) <(sed -n 2001,4000p small.txt) ||
  fail "sample: rows 500-999 do not depend on the block size"
rows np1/seed6.h5 /X 0 2500 seed6.txt
! cmp -s seed6.txt small.txt || fail "sample: seed 6 gives the rows of seed 5"
echo "ok   sample: block k of ROWS rows is stream k of the seed (prefixes agree across n)"

# The comparisons can fail: one ulp in Sigma[0][0], a dataset of another shape, a missing file.
flip_last_bit np1/m.h5 flipped.h5
! (same_model np1/m.h5 flipped.h5 1 2> /dev/null) || fail "same_model missed a 1-ulp change"
! (same_h5 np1/small.h5 np1/n3000.h5 2> /dev/null) || fail "same_h5 missed a shape change"
! (same_h5 np1/small.h5 missing.h5 2> /dev/null) || fail "same_h5 passed a missing file"
echo "ok   the comparisons reject a 1-ulp change, another shape and a missing file"
echo "identical on $rank_counts ranks"
