#!/usr/bin/env bash
# example.sh: the README's worked example on the bundled daily returns (tests/data/smi_stocks.csv,
# 1769 days x 6 Swiss stocks): choose a family (nvmm select), fit it with standard errors
# (nvmm fit --stderr), check the fit (scripts/plot_fit.py) and the risk of an equally weighted
# portfolio (nvmm risk, with its Monte Carlo check). Installs what is missing and builds like
# scripts/demo.sh. Usage: bash scripts/example.sh [OUTDIR] (default build/example).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
nvmm_install_and_build
out=${1:-build/example}
mkdir -p "$out"
nvmm=$PWD/build/src/cli/nvmm
set -x
"$nvmm" import tests/data/smi_stocks.csv "$out/smi.h5"
# 11 candidates (6 families, skewed and symmetric), ranked by BIC, nested pairs tested.
mpirun -n 2 "$nvmm" select --data "$out/smi.h5" --symmetric both --out "$out/models"
# The skewed NIG with standard errors: is any gamma significant?
mpirun -n 2 "$nvmm" fit --data "$out/smi.h5" --family nig --stderr --out "$out/nig.h5"
# The chosen model (symmetric NIG, lowest BIC) against the data, margin by margin.
/usr/bin/python3 scripts/plot_fit.py "$out/models/nig-sym.h5" "$out/smi.h5" "$out/smi_fit.png" \
  --nvmm "$nvmm"
# VaR and expected shortfall of the equally weighted portfolio, checked on 10^6 draws.
mpirun -n 2 "$nvmm" risk --model "$out/models/nig-sym.h5" --equal --level 0.99,0.975 \
  --mc 1000000
