#!/usr/bin/env bash
# demo.sh: installs what is missing, builds nvmm, draws a 3-D NIG data set of 200000 rows on 2
# MPI ranks (the model of the bundled nig_5000x3 sample) and fits it back on 2 ranks with
# configs/demo.ini. Usage: bash scripts/demo.sh [extra nvmm fit options...]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
nvmm_install_and_build
mkdir -p build/demo
nvmm=build/src/cli/nvmm
mpirun -n 2 "$nvmm" sample --family nig --d 3 --mu 0,0,0 --gamma 0.4,-0.3,0.1 \
  --sigma 1,0.3,0.1,0.3,1,0.2,0.1,0.2,1 --sub 1,1.5 --n 200000 --seed 2026 \
  --out build/demo/nig_demo.h5
mpirun -n 2 "$nvmm" fit configs/demo.ini "$@"
echo
echo "True model: mu = (0, 0, 0), gamma = (0.4, -0.3, 0.1), InverseGaussian(1, 1.5)."
"$nvmm" info build/demo/nig_demo_model.h5
