#!/usr/bin/env bash
# test.sh: installs what is missing, builds nvmm from scratch and runs every test: the normal
# build (build/), then the unit and MPI suites again under AddressSanitizer and
# UndefinedBehaviorSanitizer (build-asan/), then a valgrind pass over the serial unit tests.
# Ends with the line "N passed, N failed" over all of them.
# Usage: bash scripts/test.sh [--no-sanitize] [meson test args...]
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=1
if [ "${1:-}" = "--no-sanitize" ]; then
  sanitize=0
  shift
fi
. scripts/deps.sh
nvmm_install_deps

rc=0
logs=()
rm -rf build
meson setup build > /dev/null
ninja -C build
meson test -C build -v --print-errorlogs "$@" || rc=1
logs+=(build/meson-logs/testlog.json)

if [ $sanitize = 1 ]; then
  # Open MPI's and HDF5's own allocations outlive MPI_Finalize by design: leak checking is left
  # to the valgrind pass below, which runs the serial tests, where nothing is MPI-initialized.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  rm -rf build-asan
  meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debug > /dev/null
  ninja -C build-asan
  meson test -C build-asan -v --print-errorlogs --suite unit --suite mpi --suite cli \
    --timeout-multiplier 4 || rc=1
  logs+=(build-asan/meson-logs/testlog.json)
  unset ASAN_OPTIONS UBSAN_OPTIONS
  # valgrind: invalid reads/writes, uninitialized values and definite leaks in the library,
  # through the serial unit tests (Check not forking, so valgrind sees the tests themselves).
  meson test -C build -v --print-errorlogs --suite unit --no-suite mpiinit --timeout-multiplier 20 \
    --test-args= --wrapper "valgrind --error-exitcode=3 --leak-check=full \
      --errors-for-leak-kinds=definite --show-leak-kinds=definite -q" \
    --logbase valgrind || rc=1
  # meson names the log after the base and the wrapper (valgrind-valgrind.json in meson 1.0).
  for f in build/meson-logs/valgrind*.json; do logs+=("$f"); done
fi

# meson's own summary is not a line CI reads: count the results from its JSON logs.
python3 - "${logs[@]}" <<'PY' || true
import json, sys
ok = fail = skip = 0
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            ok += 1
        elif r == "SKIP":
            skip += 1
        else:
            fail += 1
print(f"{ok} passed, {fail} failed" + (f", {skip} skipped" if skip else ""))
PY
exit $rc
