#!/usr/bin/env bash
# ci.sh: the fuzz-short test (meson suite 'fuzz'): builds the libFuzzer targets with build.sh
# and runs each one for a short time on its committed corpus, which is only read (new inputs
# go to a scratch directory).
#
#   tests/fuzz/ci.sh BUILD_DIR [SECONDS]      # SECONDS per target, default 60
#
# Exit status: 0 when every target ran clean; 1 on a crash, leak, sanitizer report, timeout or
# invariant failure (the input is kept as BUILD_DIR/artifacts/<target>-crash-..., the log as
# BUILD_DIR/artifacts/fuzz_<target>.log), or on a build error; 77 (meson: skipped) only when
# clang or its libFuzzer runtime is missing.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$1
secs=${2:-60}

"$here/build.sh" "$build"
rc=$?
if [ $rc -eq 77 ]; then
  echo "fuzz-short: SKIP: clang with libFuzzer is not installed (scripts/deps.sh installs it)"
  exit 77
fi
[ $rc -eq 0 ] || exit 1
build=$(cd "$build" && pwd)

# mpirun is not used (each target starts MPI itself), but Open MPI as root still wants these.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
# Open MPI unloads its plugins at MPI_Finalize, which leaves their leak stacks anonymous; keep
# them loaded, and unwind malloc stacks through the frame-pointer-less system libraries, so
# that tests/lsan.supp can match Open MPI's start-up leaks.
export OMPI_MCA_mca_base_component_disable_dlclose=1
export ASAN_OPTIONS=fast_unwind_on_malloc=0:detect_leaks=1
export LSAN_OPTIONS="suppressions=$here/../lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for s in llvm-symbolizer /usr/lib/llvm-*/bin/llvm-symbolizer; do
  if command -v "$s" >/dev/null 2>&1; then
    export ASAN_SYMBOLIZER_PATH
    ASAN_SYMBOLIZER_PATH=$(command -v "$s")
    break
  fi
done

mkdir -p "$build/artifacts"
fail=0
for t in config csv h5; do
  work=$(mktemp -d "${TMPDIR:-/tmp}/nvmm-fuzz-$t.XXXXXX")
  log="$build/artifacts/fuzz_$t.log"
  start=$(date +%s)
  # libFuzzer's own exit codes (77 for a finding) would read as "skipped": use 1.
  # -close_fd_mask=2: the config target prints every rejected config as nvmm does; libFuzzer
  # and the sanitizers still report on their own descriptor.
  (cd "$work" && "$build/fuzz_$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
    -error_exitcode=1 -timeout_exitcode=1 -close_fd_mask=2 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" "$work" "$here/corpus/$t") >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz_$t: exit $rc, ${runs:-?} executions in $(($(date +%s) - start)) s (log: $log)"
  if [ $rc -ne 0 ]; then
    fail=1
    tail -n 60 "$log"
  fi
  rm -rf "$work"
done
exit $fail
