#!/usr/bin/env bash
# cli_basic.sh: what `nvmm` prints and returns before any work starts: --version (the meson
# project version), --help (every subcommand and its key options), and usage errors (unknown
# command or option: exit status 2 and a message naming it). Output and status are both
# checked, on one rank and under mpirun, where only rank 0 may print. And the example configs:
# configs/nig.ini documents every key of `nvmm fit --help` (README), and every shipped config
# is read without a config error.
#
#   cli_basic.sh NVMM CASE [VERSION | CONFIG_DIR]
#   CASE: version | help | unknown-command | unknown-option | config-doc (takes CONFIG_DIR)
set -euo pipefail
nvmm=$1 case=$2 version=${3:-}
fail() {
  echo "FAIL [$case]: $*" >&2
  exit 1
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run WANT_RC CMD...: runs CMD with stdout and stderr in $work/out and $work/err; fails unless
# its exit status is WANT_RC (a crash or a signal gives another one).
run() {
  local want=$1 rc=0
  shift
  "$@" > "$work/out" 2> "$work/err" || rc=$?
  [ $rc -eq "$want" ] || {
    head -n 5 "$work/out" "$work/err" >&2
    fail "'${*#"$nvmm "}': exit status $rc, want $want"
  }
}
# Only the nvmm lines of stderr: mpirun adds its own report when a rank exits non-zero.
nvmm_err() { grep '^nvmm' "$work/err" || true; }
no_stderr() { [ ! -s "$work/err" ] || fail "'$*' wrote to stderr: $(head -c 300 "$work/err")"; }
no_stdout() { [ ! -s "$work/out" ] || fail "'$*' wrote to stdout: $(head -c 300 "$work/out")"; }
# has_line REGEX WHAT: some line of stdout matches the extended REGEX.
has_line() { grep -q -E -- "$1" "$work/out" || fail "$2: no line matching '$1'"; }

commands="fit select import sample score risk info demo"

case $case in
  version)
    [ -n "$version" ] || fail "no expected version given"
    for flag in --version -V; do
      run 0 "$nvmm" "$flag"
      no_stderr "$flag"
      [ "$(cat "$work/out")" = "nvmm $version" ] ||
        fail "$flag printed '$(cat "$work/out")', want 'nvmm $version'"
    done
    run 0 mpirun -n 2 "$nvmm" --version
    [ "$(cat "$work/out")" = "nvmm $version" ] ||
      fail "2 ranks printed '$(cat "$work/out")', want one line 'nvmm $version'"
    ;;
  help)
    for flag in --help -h; do
      run 0 "$nvmm" "$flag"
      no_stderr "$flag"
      has_line '^Usage: nvmm \[--help\] \[--version\] <command> \[options\]$' "$flag"
      for c in $commands; do has_line "^  $c +[a-z]" "$flag: command $c"; done
      has_line '^  -h, --help ' "$flag"
      has_line '^  -V, --version ' "$flag"
    done
    # No command at all: the usage on stderr, and a usage exit status.
    run 2 "$nvmm"
    no_stdout "nvmm"
    grep -q '^Usage: nvmm ' "$work/err" || fail "nvmm without a command: no usage on stderr"
    run 0 mpirun -n 2 "$nvmm" --help
    [ "$(grep -c '^Usage: nvmm' "$work/out")" -eq 1 ] || fail "2 ranks: the usage is not printed once"
    # Each subcommand's help: its usage line and the options the README and configs use.
    declare -A opts=(
      [fit]="--data --family --out --max-iter --tol --regularization --algorithm --init
             --alpha-min --block-rows --memory-limit --scalapack-min-d --checkpoint
             --checkpoint-every --resume --verbose --json --help"
      [select]="--data --families --symmetric --out --json --max-iter --tol --tol-ll --verbose --help"
      [import]="--dataset --missing --delimiter --decimal-comma"
      [sample]="--model --family --d --mu --gamma --sigma --sub --n --out --seed --block"
      [score]="--model --data --out --marginal --cdf --at --quantile --weights --equal"
      [risk]="--model --weights --equal --level --mc --seed --json"
      [info]="--json"
      [demo]="--n --seed --block --help"
    )
    # -h for fit, demo and info, which parse it themselves, and for one of the three that share
    # want_help (src/cli/tools.c): each run starts MPI, a second or so.
    for c in $commands "fit -h" "demo -h" "info -h" "sample -h"; do
      read -r c flag <<< "$c"
      flag=${flag:---help}
      run 0 "$nvmm" "$c" "$flag"
      no_stderr "$c $flag"
      has_line "^Usage: (mpirun -n P )?nvmm $c( |$)" "$c $flag"
      for o in ${opts[$c]}; do has_line "(^|[ [(|])$o( |\]|$)" "$c $flag: option $o"; done
    done
    # fit --help states the exit statuses the README lists.
    run 0 "$nvmm" fit --help
    has_line '^Exit status: 0 fitted' "fit --help"
    has_line '^1 failed, or the likelihood is unbounded' "fit --help"
    has_line '^error, 75 stopped by SIGTERM/SIGINT/SIGUSR1' "fit --help"
    ;;
  unknown-command)
    run 2 "$nvmm" frobnicate
    no_stdout "frobnicate"
    [ "$(cat "$work/err")" = "nvmm: error: unknown command 'frobnicate' (see nvmm --help)" ] ||
      fail "message: $(cat "$work/err")"
    # Under mpirun: the same status, and the message once (rank 0 prints it).
    run 2 mpirun -n 2 "$nvmm" frobnicate
    [ "$(nvmm_err)" = "nvmm: error: unknown command 'frobnicate' (see nvmm --help)" ] ||
      fail "2 ranks: message: $(nvmm_err)"
    ;;
  unknown-option)
    # Every subcommand names the unknown option (info through getopt_long, the others by hand).
    for c in fit select import sample score risk info demo; do
      run 2 "$nvmm" "$c" --frobnicate 1
      no_stdout "$c --frobnicate 1"
      [ "$(cat "$work/err")" = "nvmm: error: $c: unknown option '--frobnicate' (see nvmm $c --help)" ] ||
        fail "$c: message: $(cat "$work/err")"
    done
    run 2 mpirun -n 2 "$nvmm" sample --frobnicate 1
    [ "$(nvmm_err)" = "nvmm: error: sample: unknown option '--frobnicate' (see nvmm sample --help)" ] ||
      fail "2 ranks: message: $(nvmm_err)"
    ;;
  config-doc)
    dir=$version
    [ -f "$dir/nig.ini" ] || fail "no $dir/nig.ini"
    run 0 "$nvmm" fit --help
    keys=$(sed -n 's/^  --\([a-z-]*\) .*/\1/p' "$work/out" | grep -v '^help$' | tr - _)
    [ "$(wc -w <<< "$keys")" -ge 17 ] || fail "fit --help lists only: $keys"
    # Each key has a line "key = value" in nig.ini, set or commented out ("# key = value").
    for k in $keys; do
      grep -q -E "^(# )?$k = " "$dir/nig.ini" || fail "configs/nig.ini does not document key $k"
    done
    # Every shipped config is read whole: with --data naming a missing file, the fit gets past
    # the configuration (a config error exits 2) and fails at that file (exit 1).
    for ini in "$dir"/*.ini; do
      run 1 "$nvmm" fit "$ini" --data "$work/none.h5" --out "$work/m.h5" --verbose 0
      [ "$(cat "$work/err")" = "nvmm: error: fit: cannot open '$work/none.h5': No such file or directory" ] ||
        fail "$(basename "$ini"): $(cat "$work/err")"
    done
    echo "ok   nig.ini documents the $(wc -w <<< "$keys") keys of nvmm fit; $(find "$dir" -maxdepth 1 -name "*.ini" | wc -l) configs read"
    ;;
  *)
    fail "unknown case (version, help, unknown-command, unknown-option, config-doc)"
    ;;
esac
echo "ok   [$case]"
