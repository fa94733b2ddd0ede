#!/usr/bin/env bash
# demo.sh: installs what is missing, builds nvmm and runs the demo on 2 MPI ranks.
# Usage: bash scripts/demo.sh [nvmm demo options...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
nvmm_install_deps
[ -f build/build.ninja ] || meson setup build
ninja -C build >/dev/null
mpirun -n 2 build/src/cli/nvmm demo "$@"
