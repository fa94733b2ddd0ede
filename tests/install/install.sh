#!/usr/bin/env bash
# install.sh: the library as others use it. `meson install` of the build (staged under a
# temporary DESTDIR, as a packager does) must give the public headers under include/nvmm/ (every
# header of the source tree's include/nvmm/, and nvmm.h), libnvmm.so with the soname
# libnvmm.so.0, and nvmm.pc; a program (example.c) then compiles with nothing but
# `pkg-config --cflags --libs nvmm` (-Wall -Wextra -Werror, against the staged copy: nvmm.pc's
# prefix is pointed at it, as for a relocated install), links, and fits on 2 ranks.
# Usage: install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
meson install -C "$build" --no-rebuild --destdir "$work/stage" --quiet > "$work/install.log" 2>&1 ||
  { cat "$work/install.log" >&2; fail "meson install failed"; }
pc=$(find "$work/stage" -name nvmm.pc)
[ -n "$pc" ] || fail "no nvmm.pc installed"
prefix=$(sed -n 's/^prefix=//p' "$pc")
root=$work/stage$prefix
inc=$root/include
for h in "$src"/include/nvmm/*.h; do
  [ -f "$inc/nvmm/$(basename "$h")" ] || fail "header nvmm/$(basename "$h") not installed"
done
[ -f "$inc/nvmm.h" ] && [ -f "$inc/nvmm/version.h" ] || fail "nvmm.h or nvmm/version.h not installed"
lib=$(dirname "$(dirname "$pc")")
real=$(find "$lib" -name 'libnvmm.so.*.*.*' -type f)
[ -n "$real" ] || fail "no versioned libnvmm.so.X.Y.Z in $lib"
soname=$(readelf -d "$real" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libnvmm.so.0 ] || fail "soname '$soname', want libnvmm.so.0"
[ -L "$lib/libnvmm.so" ] && [ -L "$lib/libnvmm.so.0" ] || fail "libnvmm.so or .so.0 link missing"
echo "installed: $(cd "$work/stage" && find . -path '*nvmm*' -type f | sort | tr '\n' ' ')"
# The staged copy stands where nvmm.pc says the library is.
mkdir -p "$work/pc"
sed "s|^prefix=.*|prefix=$root|" "$pc" > "$work/pc/nvmm.pc"
export PKG_CONFIG_PATH=$work/pc
flags=$(pkg-config --cflags --libs nvmm) || fail "pkg-config --cflags --libs nvmm failed"
echo "pkg-config --cflags --libs nvmm: $flags"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror "$src/tests/install/example.c" $flags -o "$work/example" ||
  fail "example.c does not compile against the installed library"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl=self,vader OPENBLAS_NUM_THREADS=1
out=$(mpirun -n 2 -x LD_LIBRARY_PATH="$lib" "$work/example") || fail "the example failed"
echo "$out"
# grep reads all of ldd's output: grep -q would stop early, and ldd's SIGPIPE would fail the
# pipeline under pipefail now and then.
LD_LIBRARY_PATH=$lib ldd "$work/example" | grep "$lib/libnvmm.so.0" > /dev/null || fail "the example did not load the installed libnvmm.so.0"
grep -q "^nvmm $(sed -n "s/^Version: //p" "$pc"): converged after" <<< "$out" ||
  fail "unexpected output from the example"
