#!/usr/bin/env bash
# stderr.sh: `nvmm fit --stderr` (src/numerics.md 14): the standard errors in the model file's
# /stderr group and the JSON summary are bitwise identical on 1, 2 and 3 ranks and for a streamed
# fit; the summary prints them; the refusals name their key.
#
#   stderr.sh NVMM DATA_DIR WORK_DIR
set -euo pipefail
# shellcheck source=tests/mpi/lib.sh
. "$(dirname "$(realpath "$0")")/lib.sh"
nvmm=$(realpath "$1") data=$(realpath "$2") work=$3
no_leak_check "the fit paths fit-e2e checks for leaks"
command -v jq > /dev/null || fail "jq is not installed (scripts/deps.sh installs it)"
mkdir -p "$work"
cd "$work"
rm -rf np* stream ./*.h5 ./*.json ./*.out ./*.err
"$nvmm" import "$data/nig_5000x3.csv" nig.h5 > /dev/null || fail "import nig_5000x3.csv"

# 512-row blocks: 10 blocks, so 2 and 3 ranks each hold several (and sum them in another order).
# Each run in its own directory with the same --out: the stored configuration names it.
fit=(fit --data ../nig.h5 --family nig --block-rows 512 --stderr --json --out m.h5)
for np in 1 2 3; do
  mkdir "np$np"
  (cd "np$np" && mpirun -n "$np" "$nvmm" "${fit[@]}" > m.json 2> m.err) ||
    { cat "np$np/m.err" >&2; fail "fit --stderr on $np ranks"; }
  jq -S .stderr "np$np/m.json" > "np$np.se.json"
done
# A streamed fit (shards read every pass, 2 ranks, 2048-row chunks) is the in-memory one.
mkdir stream
(cd stream && mpirun -n 2 "$nvmm" "${fit[@]}" --memory-limit 49152 > m.json 2> m.err) ||
  { cat stream/m.err >&2; fail "streamed fit --stderr"; }
grep -q "Streaming" stream/m.err || fail "the fit with --memory-limit did not stream"
jq -S .stderr stream/m.json > stream.se.json

# The JSON's standard errors: every entry there, finite and positive, in the default gauge.
jq -e '.stderr | .method == "opg-fisher-identity" and .gauge == "log_det_sigma"
  and (.mu | length) == 3 and (.gamma | length) == 3 and (.sigma | length) == 3
  and ([.mu[], .gamma[], .sigma[][], .mu_ig, .lambda] | all(. > 0))' np1/m.json > /dev/null ||
  fail "np1/m.json: stderr incomplete: $(jq -c .stderr np1/m.json)"
for r in np2 np3 stream; do
  cmp -s np1.se.json "$r.se.json" || fail "$r: JSON stderr differs from 1 rank's"
  h5diff -r np1/m.h5 "$r/m.h5" /stderr /stderr > h5.out 2>&1 ||
    { head -n 20 h5.out >&2; fail "$r/m.h5: /stderr differs from 1 rank's"; }
done
# The whole files too (the streamed fit's stored configuration names its memory_limit).
for np in 2 3; do same_model np1/m.h5 "np$np/m.h5" "$np"; done
[ "$(h5dump -H -g /stderr np1/m.h5 | grep -c 'DATASET')" -eq 6 ] ||
  fail "np1/m.h5: /stderr holds $(h5dump -H -g /stderr np1/m.h5 | grep -c DATASET) datasets, want 6"

# nvmm info shows them, the same numbers as the JSON summary (jq prints both at 17 digits).
[ "$(info_json np1/m.h5 '.stderr | [.mu[0], .sigma[1][0], .lambda] | map(tostring) | join(" ")')" = \
  "$(jq -r '.stderr | [.mu[0], .sigma[1][0], .lambda] | map(tostring) | join(" ")' np1/m.json)" ] ||
  fail "nvmm info --json np1/m.h5: stderr differs from the fit's JSON"
"$nvmm" info np1/m.h5 | grep -q "standard errors (opg-fisher-identity, gauge log_det_sigma)" ||
  fail "nvmm info np1/m.h5 shows no standard errors"

# The text summary's table.
mpirun -n 2 "$nvmm" fit --data nig.h5 --family nig --stderr --out text.h5 > text.out 2>&1 ||
  fail "fit --stderr (text)"
grep -q "Standard errors (opg-fisher-identity; gauge log_det_sigma; one pass" text.out ||
  fail "no standard errors table: $(cat text.out)"
grep -q "^    lambda: " text.out || fail "no lambda row in the table: $(cat text.out)"

# A symmetric fit has no gamma; a_eq_b on NIG fixes mu_ig (standard error 0).
"$nvmm" fit --data nig.h5 --family nig --symmetric --regularization a_eq_b --stderr --json \
  --out sym.h5 > sym.json 2> sym.err || fail "symmetric fit --stderr"
jq -e '.stderr | .gauge == "mu_ig" and (has("gamma") | not) and .mu_ig == 0 and .lambda > 0' \
  sym.json > /dev/null || fail "sym.json: $(jq -c .stderr sym.json)"

# Refusals: exit status 2, the message naming the key.
rc=0
"$nvmm" fit --data nig.h5 --stderr --shrinkage model --shrinkage-tau 0.5 \
  --regularization none --out x.h5 > x.out 2> x.err || rc=$?
[ $rc -eq 2 ] && grep -q "shrinkage" x.err || fail "stderr with shrinkage: exit $rc, $(cat x.err)"
rc=0
"$nvmm" fit --data nig.h5 --stderr --algorithm incremental --finish none --out x.h5 \
  > x.out 2> x.err || rc=$?
[ $rc -eq 2 ] && grep -q "finish" x.err || fail "stderr without finish: exit $rc, $(cat x.err)"
echo "stderr: identical on 1, 2, 3 ranks and streamed; table, symmetric and refusals checked"
