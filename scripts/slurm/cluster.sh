#!/usr/bin/env bash
# cluster.sh: a throwaway single-node Slurm cluster (munge + slurmctld + slurmd) for tests and
# for trying scripts/slurm/fit.sbatch on one machine. Follows src/architecture.md 7.2:
# no systemd, every daemon started and stopped by PID.
#
#   cluster.sh start  STATE_DIR   start the daemons, wait (bounded) until the node is idle
#   cluster.sh stop   STATE_DIR   cancel this cluster's jobs, stop the daemons by PID
#   cluster.sh status STATE_DIR   say whether the daemons are running (exit 0 when all are)
#
# Everything lives in STATE_DIR (slurm.conf, slurmctld's state, slurmd's spool, the daemon
# logs, the PID files, and an env file to source for the clients: `. STATE_DIR/env` sets
# SLURM_CONF) except munge's: its socket /run/munge/nvmm-<id>.socket (munged insists on a 0755
# munge-owned directory for it) and its key, seed, log and PID file in /run/munge/nvmm-<id>.d,
# which user munge can reach whatever the permissions of STATE_DIR's parents.
# Each cluster gets its own munge socket and its own pair of free TCP ports, so two clusters
# (two build directories testing at once) do not collide with each other or with a system
# Slurm on the default ports.
#
# Needs root (munged runs as user munge, slurmd as root) and the Debian packages
#   apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
# Environment: NVMM_SLURM_PORT (first port to try; default 6817 + 2 * (hash of STATE_DIR mod
# 1000)), NVMM_SLURM_WAIT (seconds to wait for each daemon and for the node; default 60).
set -euo pipefail

usage() { echo "usage: $0 start|stop|status STATE_DIR" >&2; exit 2; }
die() { echo "cluster.sh: error: $*" >&2; exit 1; }
log() { echo "cluster.sh: $*"; }

[ $# -eq 2 ] || usage
action=$1
S=$(realpath -m -- "$2")
wait_s=${NVMM_SLURM_WAIT:-60}
conf=$S/slurm.conf

# The munge socket: one per state directory (a short hash keeps it within the 108-byte limit).
id=$(printf '%s' "$S" | cksum | cut -d' ' -f1)
munge_socket=/run/munge/nvmm-$id.socket
# munged runs as user munge and must reach its key, seed, log and PID file: they go in a
# munge-owned directory under /run/munge too, not in STATE_DIR (whose parents may be 0700).
munge_dir=/run/munge/nvmm-$id.d

# True when PID file $1 names a live process whose command name is $2 (so a recycled PID of
# some other program is never signalled).
alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]
}

# Stops the daemon of PID file $1 (command name $2): TERM, a bounded wait, then KILL.
stop_daemon() {
  local pidfile=$1 name=$2 pid i
  if ! alive "$pidfile" "$name"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do           # up to 15 s
    alive "$pidfile" "$name" || break
    # A daemonized child of PID 1 lingers as <defunct> until PID 1 reaps it: that is gone too.
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && break
    sleep 0.1
  done
  if alive "$pidfile" "$name" && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
    log "$name (PID $pid) ignored TERM for 15 s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile"
  log "stopped $name (PID $pid)"
}

# True when nothing listens on 127.0.0.1:$1 (a connect attempt is refused).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

show_logs() {
  local f
  for f in "$S/log/slurmctld.log" "$S/log/slurmd.log" "$munge_dir/munged.log"; do
    [ -s "$f" ] && { echo "---- last lines of $f" >&2; tail -n 15 "$f" >&2; }
  done
  return 0
}

start() {
  local missing=() b
  for b in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd sbatch scontrol sinfo squeue; do
    command -v "$b" >/dev/null 2>&1 || missing+=("$b")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    die "Slurm is not installed (missing: ${missing[*]}); install it with
  apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge"
  fi
  [ "$(id -u)" -eq 0 ] || die "must run as root (munged runs as user munge, slurmd as root)"
  id munge >/dev/null 2>&1 || die "there is no user 'munge' (is the munge package installed?)"
  if alive "$S/slurmctld.pid" slurmctld || alive "$S/slurmd.pid" slurmd ||
     alive "$munge_dir/munged.pid" munged; then
    die "a cluster is already running in $S (run: $0 stop $S)"
  fi

  # Fresh state: no jobs or node state from an earlier run come back.
  rm -rf "$S/ctld" "$S/spool" "$S/log" "$munge_dir"
  mkdir -p "$S" "$S/ctld" "$S/spool" "$S/log"

  # munge: the socket directory must be 0755 and owned by munge (munged refuses otherwise);
  # the key, seed, log and PID file live in a munge-owned 0700 directory beside it.
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 "$munge_dir"
  dd if=/dev/urandom of="$munge_dir/munge.key" bs=1024 count=1 status=none
  chown munge:munge "$munge_dir/munge.key"
  chmod 400 "$munge_dir/munge.key"
  rm -f "$munge_socket" "$munge_socket.lock"
  runuser -u munge -- /usr/sbin/munged --key-file="$munge_dir/munge.key" \
    --socket="$munge_socket" --pid-file="$munge_dir/munged.pid" \
    --log-file="$munge_dir/munged.log" --seed-file="$munge_dir/munged.seed" --num-threads=10 ||
    { show_logs; die "munged did not start"; }
  local i
  for ((i = 0; i < wait_s * 10; i++)); do
    [ -S "$munge_socket" ] && alive "$munge_dir/munged.pid" munged && break
    sleep 0.1
  done
  [ -S "$munge_socket" ] || { show_logs; stop; die "munged did not create $munge_socket"; }

  # Two free ports for slurmctld and slurmd, searched from a start that depends on STATE_DIR
  # (two clusters starting at once rarely probe the same ports).
  local port=${NVMM_SLURM_PORT:-$((6817 + 2 * (id % 1000)))}
  for ((i = 0; i < 200; i++)); do
    port_free "$port" && port_free $((port + 1)) && break
    port=$((port + 2))
  done
  if ! port_free "$port" || ! port_free $((port + 1)); then
    stop
    die "found no two free TCP ports"
  fi

  # The node line comes from `slurmd -C` (the real CPUs and memory: a node that claims more
  # than it has is drained), addressed on the loopback interface.
  local host node
  host=$(hostname -s)
  node=$(/usr/sbin/slurmd -C | grep '^NodeName=' | sed -E "s/^NodeName=[^ ]+/NodeName=$host/")
  [ -n "$node" ] || { stop; die "slurmd -C printed no NodeName line"; }

  # slurm.conf (an ABSOLUTE path in SLURM_CONF: with a relative one slurmctld dies on re-read).
  # OverSubscribe=FORCE:4 with --overcommit in the jobs lets 2-4 tasks share 2 cores.
  cat > "$conf" <<EOF
# Written by scripts/slurm/cluster.sh; a single-node test cluster, all state in $S.
ClusterName=nvmm
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_socket
StateSaveLocation=$S/ctld
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/filetxt
JobCompLoc=$S/log/jobcomp.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=sched_interval=2
ReturnToService=2
InactiveLimit=0
KillWait=5
MinJobAge=300
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=60 State=UP OverSubscribe=FORCE:4
EOF
  printf 'export SLURM_CONF=%q\n' "$conf" > "$S/env"
  export SLURM_CONF=$conf

  # Both daemons fork into the background and write the PID files named in slurm.conf.
  /usr/sbin/slurmctld || { show_logs; stop; die "slurmctld did not start"; }
  /usr/sbin/slurmd -N "$host" || { show_logs; stop; die "slurmd did not start"; }

  # Bounded wait for the node to come up idle.
  local state=""
  for ((i = 0; i < wait_s * 5; i++)); do
    state=$(sinfo -h -N -o %T 2>/dev/null | head -n 1) || true
    [ "$state" = idle ] && break
    case $state in drain* | down* | fail* | inval*) break ;; esac
    alive "$S/slurmctld.pid" slurmctld || [ $i -lt 25 ] || break
    sleep 0.2
  done
  if [ "$state" != idle ]; then
    sinfo -R >&2 2>/dev/null || true
    show_logs
    stop
    die "the node did not become idle within ${wait_s} s (state: '${state:-none}')"
  fi
  log "cluster up in $S: node $host idle, slurmctld port $port, munge socket $munge_socket"
  log "use it with: . $S/env"
}

stop() {
  # Cancel this cluster's jobs first (their slurmstepd would outlive slurmd), bounded.
  if [ -f "$conf" ] && alive "$S/slurmctld.pid" slurmctld; then
    local jobs i
    export SLURM_CONF=$conf
    jobs=$(squeue -h -o %i 2>/dev/null | tr '\n' ' ') || true
    if [ -n "${jobs// /}" ]; then
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null || true
      for ((i = 0; i < 100; i++)); do                     # up to 20 s
        [ -z "$(squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
        sleep 0.2
      done
    fi
  fi
  stop_daemon "$S/slurmd.pid" slurmd
  stop_daemon "$S/slurmctld.pid" slurmctld
  stop_daemon "$munge_dir/munged.pid" munged
  rm -f "$munge_socket" "$munge_socket.lock"
  rm -rf "$munge_dir"
  rmdir /run/munge 2>/dev/null || true                    # only when no other munged uses it
  return 0
}

status() {
  local rc=0 p
  for p in "slurmctld:$S/slurmctld.pid" "slurmd:$S/slurmd.pid" "munged:$munge_dir/munged.pid"; do
    if alive "${p#*:}" "${p%%:*}"; then
      echo "${p%%:*}: running (PID $(cat "${p#*:}"))"
    else
      echo "${p%%:*}: not running"; rc=1
    fi
  done
  return $rc
}

case $action in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
