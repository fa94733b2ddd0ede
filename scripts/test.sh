#!/usr/bin/env bash
# test.sh: installs what is missing, builds nvmm from scratch in build/ and runs every test;
# ends with the line "N passed, N failed". Usage: bash scripts/test.sh [meson test args...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
nvmm_install_deps

rm -rf build
meson setup build --wipe >/dev/null 2>&1 || meson setup build
ninja -C build
set +e
meson test -C build -v --print-errorlogs "$@"
rc=$?
set -e
# meson's own summary is not a line CI reads: count the results from its JSON log.
python3 - build/meson-logs/testlog.json <<'PY' || true
import json, sys
ok = fail = skip = 0
for line in open(sys.argv[1]):
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
