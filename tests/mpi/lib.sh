# shellcheck shell=bash
# lib.sh: shell helpers shared by the end-to-end tests (tests/mpi/*.sh, tests/slurm/preempt.sh):
# failing, bounded waits that scale with meson's timeout multiplier, reading a file's facts
# from `nvmm info --json` with jq (never from its text),
# comparing fits bit for bit (JSON summary and the whole model file), and the NVMM_FAULT_HOLD
# hook that stops a fit at a chosen iteration so a signal lands there and nowhere else.
# Sourced, not run; the caller sets `set -euo pipefail`.

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The timeout multiplier of the `meson test` running this script (meson does not export it): the
# NVMM_TIMEOUT_MULTIPLIER variable when set, else the -t/--timeout-multiplier argument of the
# nearest ancestor process that is a `meson test`, else 1. Inner bounds (a wait for a file, a
# `timeout` around one command) scale with it, so a sanitizer build's slower fits get the same
# head room as meson's own timeout gives the whole test.
nvmm_timeout_multiplier() {
  if [ -n "${NVMM_TIMEOUT_MULTIPLIER:-}" ]; then
    echo "$NVMM_TIMEOUT_MULTIPLIER"
    return 0
  fi
  local pid=$$ i args a prev
  for ((i = 0; i < 8; i++)); do
    pid=$(awk '/^PPid:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || break
    if [ -z "$pid" ] || [ "$pid" -le 1 ]; then break; fi
    mapfile -d '' -t args < "/proc/$pid/cmdline" 2>/dev/null || continue
    case " ${args[*]} " in *meson*" test "*) ;; *) continue ;; esac
    prev=""
    for a in "${args[@]}"; do
      case $a in
        --timeout-multiplier=*) echo "${a#*=}"; return 0 ;;
      esac
      if [ "$prev" = --timeout-multiplier ] || [ "$prev" = -t ]; then
        echo "$a"
        return 0
      fi
      prev=$a
    done
    break
  done
  echo 1
}
TMUL=$(nvmm_timeout_multiplier)
# A bound of S seconds, scaled (the multiplier may be fractional; at least 1 s).
scaled() { awk -v s="$1" -v m="$TMUL" 'BEGIN { v = int(s * m + 0.5); print (v < 1 ? 1 : v) }'; }

# info_json FILE FILTER: what jq's FILTER picks from `nvmm info --json FILE` (strings without
# quotes; "null" where the file lacks it), with $nvmm the program under test. jq is a test
# dependency (scripts/deps.sh).
info_json() {
  command -v jq > /dev/null || fail "jq is not installed (scripts/deps.sh installs it)"
  # shellcheck disable=SC2154 # nvmm: set by the test that sources this file
  "$nvmm" info --json "$1" | jq -r "$2"
}

# ck_state FILE: the state of the checkpoint FILE, "ITERATIONS REASON" ("null null" for none).
ck_state() { info_json "$1" '"\(.state.iterations) \(.state.reason)"'; }

# The JSON summary without the fields that legitimately differ between equal fits.
strip_json() { grep -v -E '"(ranks|elapsed_s|passes)"' "$1"; }

# same_h5 A B [H5DIFF-OPTION...]: A and B hold the same objects with the same types and shapes,
# and h5diff (exit 0 same, 1 different, 2 error) finds no difference in values. h5diff alone is
# not enough: it exits 0 for objects it calls "not comparable" (a dataset of another shape), so
# the headers are compared first and any "not comparable" report fails too, but for empty
# datasets (their shapes are in the headers). Scratch files
# h5.* go to the current directory.
same_h5() {
  local a=$1 b=$2 rc=0
  shift 2
  # The first header line names the file, which differs by design.
  h5dump -H "$a" > h5.ha || fail "h5dump -H $a"
  h5dump -H "$b" > h5.hb || fail "h5dump -H $b"
  [ "$(wc -l < h5.ha)" -gt 2 ] || fail "$a: no objects in the h5dump header"
  tail -n +2 h5.ha > h5.ta
  tail -n +2 h5.hb > h5.tb
  diff h5.ta h5.tb > h5.out ||
    { head -n 20 h5.out >&2; fail "$a and $b differ in structure (types, shapes, attributes)"; }
  h5diff -r -c "$@" "$a" "$b" > h5.out 2>&1 || rc=$?
  # An empty dataset is "not comparable" to h5diff even beside an equal one; the headers above
  # already showed both empty (an incremental fit without a batch finish has no iterations).
  if [ $rc -ne 0 ] || grep -i "not comparable" h5.out | grep -qv "is an empty dataset"; then
    grep -v -e '^0 differences found' -e '^dataset: ' -e '^attribute: ' h5.out > h5.why || true
    head -n 20 h5.why >&2
    fail "h5diff $a $b: exit status $rc (1: values differ, 2: error)"
  fi
}

# same_model A B [P]: two model files hold the same fit bit for bit: same_h5 without what
# measures the run rather than the fit (/history/elapsed and /history/incremental/elapsed,
# wall-clock seconds per iteration or mini-batch step, and
# /meta's attributes), then /meta's attributes other than "ranks" equal at 17 digits one by one
# (h5diff can only exclude all of an object's attributes); with P, B says it ran on P ranks.
same_model() {
  local a=$1 b=$2 np=${3:-} names n
  same_h5 "$a" "$b" --exclude-path /history/elapsed --exclude-path /history/incremental/elapsed \
    --exclude-attribute /meta
  names=$(h5dump -A -g /meta "$a" | sed -n 's/^ *ATTRIBUTE "\(.*\)" {/\1/p') ||
    fail "h5dump -A -g /meta $a"
  # What a fit writes (src/io_model.c write_meta): a missing one would compare nothing.
  for n in reason config_text data_path iterations n ranks loglik_mean; do
    grep -qx "$n" <<< "$names" || fail "$a: no /meta attribute $n"
  done
  for n in $names; do
    [ "$n" = ranks ] && continue
    h5dump -m %.17g -a "/meta/$n" "$a" | tail -n +2 > h5.ma || fail "h5dump /meta/$n of $a"
    h5dump -m %.17g -a "/meta/$n" "$b" | tail -n +2 > h5.mb || fail "h5dump /meta/$n of $b"
    cmp -s h5.ma h5.mb || { diff h5.ma h5.mb >&2 || true; fail "/meta attribute $n: $a vs $b"; }
  done
  if [ -n "$np" ]; then
    h5dump -a /meta/ranks "$b" > h5.mb || fail "h5dump /meta/ranks of $b"
    grep -q "(0): $np\$" h5.mb || fail "$b: /meta/ranks is not $np"
  fi
}

# kill_running: a test that runs a fit in the background keeps its PID (the timeout(1) around
# its mpirun) in $running while it runs; a failed test must not leave it behind, so the tests
# that do `trap kill_running EXIT`.
running=""
kill_running() {
  if [ -n "$running" ] && kill -0 "$running" 2>/dev/null; then
    pkill -9 -P "$(pgrep -P "$running" -x mpirun || echo 0)" 2>/dev/null || true
    pkill -9 -P "$running" 2>/dev/null || true
    kill -9 "$running" 2>/dev/null || true
  fi
  return 0
}

ppid_of() { awk '/^PPid:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

# wait_hold FILE PID SECONDS: waits until the NVMM_FAULT_HOLD rank has written its PID to FILE
# (it is then waiting at the chosen iteration) and prints that PID. Fails when PID (the
# background job that runs the fit: mpirun, or a `timeout` around it; "-" where the test cannot
# see it, as under Slurm) exits first or SECONDS (scaled) pass, or when FILE does not name a
# running nvmm rank descending from PID: a kill must never go to the wrong process or to nothing.
wait_hold() {
  local file=$1 pid=$2 bound i hp p
  bound=$(scaled "$3")
  for ((i = 0; i < bound * 100; i++)); do
    [ -s "$file" ] && break
    [ "$pid" = - ] || kill -0 "$pid" 2>/dev/null ||
      fail "the fit (PID $pid) ended before it reached the hold ($file)"
    sleep 0.01
  done
  [ -s "$file" ] || fail "no hold file $file within $bound s"
  hp=$(cat "$file")
  [ "$(cat "/proc/$hp/comm" 2>/dev/null)" = nvmm ] || fail "hold $file: PID '$hp' is not an nvmm rank"
  if [ "$pid" != - ]; then
    p=$hp
    for ((i = 0; i < 4 && p != pid && p > 1; i++)); do p=$(ppid_of "$p"); done
    [ "$p" = "$pid" ] || fail "hold $file: PID $hp does not descend from $pid"
  fi
  echo "$hp"
}

# The mpirun that started rank PID (its parent; fails unless that is an mpirun).
mpirun_of() {
  local p
  p=$(ppid_of "$1")
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = mpirun ] || fail "the parent of rank $1 is not mpirun"
  echo "$p"
}

# The checkpoint-and-resume tests (kill_resume.sh, factor_resume.sh, incremental_resume.sh) run
# one command, "$nvmm" "${ckfit[@]}", checkpointing to ck.h5, interrupted and resumed.
#
# interrupt_held NAME HOW RANK UPDATE LIMIT: the command from scratch on 2 ranks (NAME.json,
# NAME.err), rank RANK held after UPDATE updates (NVMM_FAULT_HOLD), then HOW: kill9 (SIGKILL to
# the held rank) or a signal name (to mpirun). Sets rc to mpirun's exit status; fails on a hang
# (no exit within LIMIT seconds, scaled). Needs `trap kill_running EXIT`.
interrupt_held() {
  local pid hp
  rm -f ck.h5 ck.h5.tmp hold
  timeout -k 5 "$(scaled "$5")" mpirun -n 2 -x NVMM_FAULT_HOLD="$3:$4:hold" "$nvmm" \
    "${ckfit[@]}" > "$1.json" 2> "$1.err" &
  pid=$!
  running=$pid
  hp=$(wait_hold hold "$pid" 60)
  if [ "$2" = kill9 ]; then
    kill -9 "$hp"
  else
    kill -s "$2" "$(mpirun_of "$hp")"
  fi
  rc=0
  wait "$pid" || rc=$?
  running=""
  [ $rc -ne 124 ] || fail "($1) the fit hung after the $2 (timeout)"
}

# resume_same NAME NP LIMIT [NEEDLE]: the command on NP ranks (NAME$NP.json, NAME$NP.err) says it
# resumed from ck.h5 (stderr has NEEDLE; default "Resumed from ck.h5 after I iterations", I the
# checkpoint's) and ends bitwise the reference: ref.json's summary, ref_model.h5's model file.
resume_same() {
  local needle=${4:-}
  [ -n "$needle" ] || needle="Resumed from ck.h5 after $(info_json ck.h5 .state.iterations) iterations"
  timeout -k 5 "$(scaled "$3")" mpirun -n "$2" "$nvmm" "${ckfit[@]}" > "$1$2.json" 2> "$1$2.err" ||
    { tail -n 20 "$1$2.err"; fail "($1) resume on $2 ranks failed"; }
  grep -q "$needle" "$1$2.err" || { cat "$1$2.err"; fail "($1) did not resume ($needle)"; }
  diff <(strip_json ref.json) <(strip_json "$1$2.json") ||
    fail "($1) resumed on $2 ranks: the summary differs"
  same_model ref_model.h5 model.h5 || fail "($1) resumed on $2 ranks: the model file differs"
  echo "($1) resumed on $2 ranks ($needle): summary and model file identical to the reference"
}

# The sanitizer pass of scripts/test.sh (ASan, UBSan, LSan) sets ASAN_OPTIONS; a process launch
# costs ~3 s there with leak checking (LSan walks Open MPI's thousands of start-up allocations
# at every exit) against ~0.5 s normally.
under_asan() { [ -n "${ASAN_OPTIONS:-}" ]; }

# no_leak_check REASON: in the sanitizer pass, leak checking off for the rest of this test (ASan
# and UBSan stay on; later ASAN_OPTIONS entries win), with REASON printed. For tests whose
# processes are killed or stopped by signals by design, and for those that only repeat the
# fit, score and sample paths fit-e2e and cli-bad-input check for leaks, many times over.
no_leak_check() {
  if under_asan; then
    export ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0"
    echo "sanitizer pass: leak checking off here ($*)"
  fi
}
