#!/usr/bin/env bash
# deps.sh: installs the Debian 12 packages nvmm needs to build and test, when any is missing.
# Sourced by scripts/test.sh, scripts/demo.sh and scripts/example.sh (and the benchmarks, for the
# environment below); safe to run on its own (as root, or via sudo).
set -euo pipefail

NVMM_PACKAGES=(
  build-essential pkg-config meson ninja-build time valgrind
  libopenmpi-dev openmpi-bin
  libhdf5-openmpi-dev hdf5-tools
  libscalapack-openmpi-dev libopenblas-dev liblapack-dev
  libgsl-dev check libinih-dev libjansson-dev clang libclang-rt-14-dev
  python3-h5py python3-matplotlib jq
  slurmctld slurmd slurm-client munge
)

nvmm_missing_packages() {
  local p
  for p in "${NVMM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

nvmm_install_deps() {
  local missing
  missing=$(nvmm_missing_packages)
  [ -z "$missing" ] && return 0
  echo "Installing missing Debian packages:" $missing
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -q
  # shellcheck disable=SC2086
  $sudo apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 $missing
}

# What scripts/demo.sh and scripts/example.sh do first, from the source root: install what is
# missing, then build build/ quietly (configured with the defaults when it is not yet).
nvmm_install_and_build() {
  nvmm_install_deps
  [ -f build/build.ninja ] || meson setup build > /dev/null
  ninja -C build > /dev/null
}

# mpirun as root (CI machines) and more ranks than cores need these (see the README).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  nvmm_install_deps
fi
