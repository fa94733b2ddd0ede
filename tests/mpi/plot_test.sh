#!/usr/bin/env bash
# plot_test.sh: scripts/plot_history.py on a real fit. Imports the bundled NIG sample, fits it on
# 2 ranks at tol 1e-8, draws the history and checks the result is a PNG of the expected size
# with real content; the same for an incremental fit of a sampled NIG data set, with the batch
# finish and with --finish none (no batch iterations: the mini-batch steps alone are drawn); then
# checks the script fails cleanly (exit 1, one error line naming the file, no traceback, no
# output) on a data file without /history and on a missing file. Then scripts/plot_fit.py (next to
# PLOT_SCRIPT) on the same fit and data: a PNG of d + 1 rows of panels, one KS line per margin
# with D below the 1% critical value, and a clean failure on a missing data file; skipped, saying
# so, when /usr/bin/python3 lacks h5py, numpy or matplotlib.
# Usage: plot_test.sh NVMM DATA_DIR WORK_DIR PLOT_SCRIPT
set -euo pipefail
nvmm=$1 data=$2 work=$3 plot=$4
py=/usr/bin/python3
mkdir -p "$work"
cd "$work"
rm -f nig.h5 m.h5 m.png bad.png missing.png inc.h5 inc_batch.h5 inc_none.h5 inc_batch.png \
  inc_none.png

"$nvmm" import "$data/nig_5000x3.csv" nig.h5
mpirun -n 2 "$nvmm" fit --data nig.h5 --family nig --tol 1e-8 --out m.h5 --verbose 0

# Draws MODEL into OUT and checks it is a PNG: the 8-byte signature, then an IHDR chunk whose
# width and height are the 12 x 4.4 inch figure at 100 dpi; and at least MIN_BYTES, a size only
# drawn curves reach. The script must say nothing on a good model file.
check_plot() {
  local model=$1 out=$2 min_bytes=$3
  "$py" "$plot" "$model" "$out" 2> plot.err
  cat plot.err
  [ ! -s plot.err ] || { echo "FAIL: unexpected messages on good model file $model"; exit 1; }
  "$py" - "$out" "$min_bytes" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG: %r" % b[:8]
assert b[12:16] == b"IHDR", b[12:16]
w, h = struct.unpack(">II", b[16:24])
assert (w, h) == (1200, 440), (w, h)
assert len(b) > int(sys.argv[2]), "PNG %s only %d bytes" % (sys.argv[1], len(b))
print("PNG %s %dx%d, %d bytes" % (sys.argv[1], w, h, len(b)))
PY
}

# Blank: ~3 KB, empty titled axes: ~16 KB, this fit: ~54 KB.
check_plot m.h5 m.png 30000

# Incremental EM: 400 mini-batch steps of 50 rows make one epoch, with a full-data evaluation
# every 40. The pictures carry legends, so empty axes already reach ~37 KB; the noisy per-step
# curves bring these to ~74 KB (batch finish) and ~120 KB (--finish none).
"$nvmm" sample --family nig --d 3 --sub 1,0.8 --n 20000 --seed 3 --out inc.h5
for finish in batch none; do
  mpirun -n 2 "$nvmm" fit --data inc.h5 --family nig --algorithm incremental --batch-rows 50 \
    --eval-every 40 --finish "$finish" --out "inc_$finish.h5" --verbose 0
  check_plot "inc_$finish.h5" "inc_$finish.png" 50000
done

# Fails cleanly: exit status 1, an error line naming the file, no traceback, no PNG written.
expect_fail() {
  local what=$1 model=$2 pattern=$3 out=$4 rc=0
  "$py" "$plot" "$model" "$out" > fail.out 2> fail.err || rc=$?
  cat fail.err
  [ "$rc" -eq 1 ] || { echo "FAIL ($what): exit status $rc, want 1"; exit 1; }
  grep -q "^plot_history: error: .*$pattern" fail.err || { echo "FAIL ($what): message"; exit 1; }
  ! grep -q Traceback fail.err || { echo "FAIL ($what): traceback"; exit 1; }
  [ ! -e "$out" ] || { echo "FAIL ($what): wrote $out"; exit 1; }
}
expect_fail "no history" nig.h5 "'nig.h5' has no /history group" bad.png
expect_fail "missing file" no_such_model.h5 "'no_such_model.h5': no such file" missing.png

fit_plot=$(dirname "$plot")/plot_fit.py
if "$py" -c 'import h5py, numpy, matplotlib' 2> /dev/null; then
  rm -f fit.png fit_missing.png
  "$py" "$fit_plot" m.h5 nig.h5 fit.png --nvmm "$nvmm" > fit.out 2> fit.err ||
    { cat fit.err; echo "FAIL (plot_fit): exit status"; exit 1; }
  cat fit.out fit.err
  [ ! -s fit.err ] || { echo "FAIL (plot_fit): unexpected messages"; exit 1; }
  # 13 x 12.8 inches at 80 dpi; the three margins' KS statistics below 1.63 / sqrt(5000).
  "$py" - fit.png fit.out <<'PY'
import re, struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", "not a PNG"
assert struct.unpack(">II", b[16:24]) == (1040, 1024), struct.unpack(">II", b[16:24])
assert len(b) > 100000, "PNG only %d bytes" % len(b)
ks = [float(v) for v in re.findall(r"KS D = ([0-9.]+)", open(sys.argv[2]).read())]
assert len(ks) == 3 and max(ks) < 1.63 / 5000 ** 0.5, ks
print("plot_fit: PNG %d bytes, KS %s" % (len(b), ks))
PY
  rc=0
  "$py" "$fit_plot" m.h5 no_such_data.h5 fit_missing.png --nvmm "$nvmm" > /dev/null 2> fail.err ||
    rc=$?
  [ "$rc" -eq 1 ] && grep -q "^plot_fit: error: 'no_such_data.h5': no such file" fail.err &&
    ! grep -q Traceback fail.err && [ ! -e fit_missing.png ] ||
    { cat fail.err; echo "FAIL (plot_fit, missing data): exit status $rc"; exit 1; }
else
  echo "plot_fit: SKIPPED (/usr/bin/python3 lacks h5py, numpy or matplotlib)"
fi
echo "plot-history: OK"
