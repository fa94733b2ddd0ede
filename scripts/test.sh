#!/usr/bin/env bash
# test.sh: installs what is missing, builds nvmm from scratch and runs every test, in three passes:
#   1. normal   build/ (-Werror): every suite (unit, mpi, cli, slurm, install, fuzz, docs);
#   2. asan     build-asan/: the unit, MPI and CLI suites again under AddressSanitizer,
#               UndefinedBehaviorSanitizer and LeakSanitizer (tests/lsan.supp: Open MPI's and
#               HDF5's own allocations only);
#   3. valgrind the serial unit tests of build/ under memcheck (no MPI start-up: Open MPI's is
#               not valgrind-clean), with Check not forking so valgrind sees the tests.
# Ends with one line per pass, then the plain line "N passed, N failed" over all passes: a test
# counts once in each pass that runs it. A pass whose build fails counts each of its tests as
# failed (one failure when not even its test list exists). Skipped tests are reported; with
# --require-all (what .ci/run passes) a skipped test counts as failed, since this script has
# installed everything every test needs.
# Usage: bash scripts/test.sh [--require-all] [--no-sanitize] [meson test args...]
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=1 require_all=0
while [ $# -gt 0 ]; do
  case $1 in
    --no-sanitize) sanitize=0 ;;
    --require-all) require_all=1 ;;
    *) break ;;
  esac
  shift
done
. scripts/deps.sh
nvmm_install_deps

summary=() # one "name|log|status" per pass; status: ok, or the number of tests a failed build kept from running
rc=0

# build_pass NAME DIR MESON_SETUP_ARGS...: configures and builds DIR from scratch; on failure
# records the pass as not run and returns 1.
build_pass() {
  local name=$1 dir=$2
  shift 2
  rm -rf "$dir"
  local log
  log=$(mktemp)
  if meson setup "$dir" -Dwerror=true "$@" > "$log" 2>&1 && ninja -C "$dir"; then
    rm -f "$log"
    return 0
  fi
  cat "$log" >&2
  rm -f "$log"
  local n
  n=$(meson introspect --tests "$dir" 2>/dev/null | python3 -c \
    'import json, sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 1)
  echo "test.sh: the $name build failed: its $n tests count as failed" >&2
  summary+=("$name||$n")
  rc=1
  return 1
}
# log_of DIR BASE: the JSON log meson wrote for logbase BASE in DIR (meson 1.0 adds the wrapper's
# name to it: valgrind-valgrind.json); exactly one, so no pass is counted twice.
log_of() {
  local f
  f=$(ls -t "$1"/meson-logs/"$2"*.json 2>/dev/null | head -n 1)
  echo "$f"
}

if build_pass normal build; then
  meson test -C build -v --print-errorlogs "$@" || rc=1
  summary+=("normal (build/, every suite)|$(log_of build testlog)|ok")
fi

if [ $sanitize = 1 ]; then
  if build_pass asan build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug; then
    # Leak checking: Open MPI unloads its plugins at MPI_Finalize, leaving their leak stacks
    # anonymous; keeping them loaded and unwinding through the frame-pointer-less system
    # libraries (fast_unwind_on_malloc=0) lets tests/lsan.supp match them by entry point.
    (
      export OMPI_MCA_mca_base_component_disable_dlclose=1
      export ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=1
      # use_tls=0: LeakSanitizer's stop-the-world tracer can crash (signal 11, "LeakSanitizer has
      # encountered a fatal error") reading the static TLS of Open MPI's threads at the exit of
      # a singleton nvmm; nvmm keeps no heap pointer in thread-local storage, so no leak of
      # ours hides behind it (a pointer held only there would be reported, not suppressed).
      export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0:use_tls=0"
      export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
      meson test -C build-asan -v --print-errorlogs --suite unit --suite mpi --suite cli \
        --timeout-multiplier 4
    ) || rc=1
    summary+=("asan (build-asan/, unit+mpi+cli under ASan, UBSan, LSan)|$(log_of build-asan testlog)|ok")
  fi
  if [ -f build/build.ninja ]; then
    # valgrind: invalid reads/writes, uninitialized values and definite leaks in the library,
    # through the serial unit tests (CK_FORK=no: Check runs the tests in its own process, so
    # valgrind sees them instead of their forked children).
    CK_FORK=no meson test -C build -v --print-errorlogs --suite unit --no-suite mpiinit \
      --timeout-multiplier 20 --test-args= --wrapper "valgrind --error-exitcode=3 \
      --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite -q" \
      --logbase valgrind || rc=1
    summary+=("valgrind (build/, serial unit tests under memcheck)|$(log_of build valgrind)|ok")
  fi
fi

# meson's own summary is not a line CI reads: count the results from its JSON logs.
echo
python3 - "$require_all" "${summary[@]}" <<'PY' || rc=1
import json, os, sys
require_all = sys.argv[1] == "1"
tot = {"ok": 0, "fail": 0, "skip": 0}
for entry in sys.argv[2:]:
    name, path, status = entry.split("|")
    ok = fail = 0
    skipped = []
    if status != "ok":
        fail = int(status)
        print(f"{name}: build failed, {fail} failed")
    elif not path or not os.path.exists(path):
        fail = 1
        print(f"{name}: no test log (meson test did not run), 1 failed")
    else:
        for line in open(path):
            r = json.loads(line)
            res = r.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                ok += 1
            elif res == "SKIP":
                skipped.append(r.get("name", "?"))
            else:
                fail += 1
        note = ""
        if skipped:
            note = f", {len(skipped)} skipped ({', '.join(skipped)})"
            if require_all:
                note += ": counted as failed (--require-all)"
                fail += len(skipped)
        print(f"{name}: {ok} passed, {fail} failed{note}")
    tot["ok"] += ok
    tot["fail"] += fail
    tot["skip"] += len(skipped) if status == "ok" and not require_all else 0
print("(a test counts once in each pass that runs it)")
line = f"{tot['ok']} passed, {tot['fail']} failed"
if tot["skip"]:
    line += f", {tot['skip']} skipped"
print(line)
sys.exit(1 if tot["fail"] else 0)
PY
exit $rc
