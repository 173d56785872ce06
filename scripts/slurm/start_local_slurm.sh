#!/usr/bin/env bash
# Bring up a private single-node SLURM cluster on this machine (for tests and CI).
#
# Needs root. No systemd: munged, slurmctld and slurmd are started by hand and write pid files under
# $SLURM_RUN_DIR. Idempotent: a daemon whose pid file names a live process of that name is left alone.
# Installs slurm-wlm and munge with apt-get when their binaries are missing.
#
# Environment (all optional):
#   SLURM_PARTITION     partition name                              (default: debug)
#   SLURM_CLUSTER       cluster name                                (default: pyimcomtest)
#   SLURM_MEM_PERCENT   share of the machine's memory given to jobs (default: 90)
#   SLURM_SELFTEST      1: run `srun hostname` once the node is idle (default: 1)
#   SLURM_RUN_DIR       pid files of the daemons started here       (default: /run/pyimcom-slurm)
#
# Stop with scripts/slurm/stop_local_slurm.sh (it stops only what this script started).
set -euo pipefail

PARTITION=${SLURM_PARTITION:-debug}
CLUSTER=${SLURM_CLUSTER:-pyimcomtest}
MEM_PERCENT=${SLURM_MEM_PERCENT:-90}
SELFTEST=${SLURM_SELFTEST:-1}
RUN_DIR=${SLURM_RUN_DIR:-/run/pyimcom-slurm}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARKER="# managed-by: pyimcom scripts/slurm/start_local_slurm.sh"

log() { printf '[start_local_slurm] %s\n' "$*"; }
die() { printf '[start_local_slurm] error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

# --- packages ---------------------------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || die "slurm-wlm/munge are missing and apt-get is not available"
    log "installing slurm-wlm and munge with apt-get"
    # keep the packages' init scripts from starting daemons during installation
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
    [ "$made_policy" = 1 ] && rm -f "$policy"
fi

# is_running NAME PIDFILE: the pid file names a live process whose command is NAME
is_running() {
    local pid
    [ -s "$2" ] || return 1
    pid=$(cat "$2")
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}

install -d -m 0755 "$RUN_DIR"

# --- munge ------------------------------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
    log "creating the munge key"
    install -d -o munge -g munge -m 0700 /etc/munge
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile=/etc/munge/munge.key
    else
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
fi
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
if is_running munged "$RUN_DIR/munged.pid"; then
    log "munged already running (pid $(cat "$RUN_DIR/munged.pid"))"
else
    rm -f /run/munge/munged.pid
    runuser -u munge -- /usr/sbin/munged --force
    for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
    cp /run/munge/munged.pid "$RUN_DIR/munged.pid"
    log "munged started (pid $(cat "$RUN_DIR/munged.pid"))"
fi
munge -n | unmunge >/dev/null || die "munge round trip failed (see /var/log/munge/munged.log)"

# --- slurm.conf -------------------------------------------------------------------------------
node=$(hostname -s)
if [ -e "$CONF" ] && ! grep -qF "$MARKER" "$CONF"; then
    die "$CONF exists and was not written by this script; move it away to use the private cluster"
fi
cpus=$(nproc)
mem_total_mb=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
mem_mb=$((mem_total_mb * MEM_PERCENT / 100))
install -d "$CONF_DIR"
new_conf=$(mktemp)
cat >"$new_conf" <<EOF
$MARKER
ClusterName=$CLUSTER
SlurmctldHost=$node(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=300
SlurmdTimeout=300
NodeName=$node CPUs=$cpus Boards=1 SocketsPerBoard=1 CoresPerSocket=$cpus ThreadsPerCore=1 RealMemory=$mem_mb NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
conf_changed=0
if ! cmp -s "$new_conf" "$CONF" 2>/dev/null; then
    install -m 0644 "$new_conf" "$CONF"
    conf_changed=1
    log "wrote $CONF (node $node: $cpus CPUs, $mem_mb MB)"
fi
rm -f "$new_conf"
install -d -o slurm -g slurm /var/spool/slurmctld /var/log/slurm
install -d /var/spool/slurmd

# --- daemons ----------------------------------------------------------------------------------
start_daemon() {  # start_daemon NAME: start /usr/sbin/NAME unless it runs; restart it after a conf change
    local name=$1 pidfile="$RUN_DIR/$1.pid"
    if is_running "$name" "$pidfile"; then
        if [ "$conf_changed" = 1 ]; then
            log "restarting $name (configuration changed)"
            kill "$(cat "$pidfile")"
            for _ in $(seq 100); do is_running "$name" "$pidfile" || break; sleep 0.1; done
        else
            log "$name already running (pid $(cat "$pidfile"))"
            return 0
        fi
    fi
    rm -f "$pidfile"
    "/usr/sbin/$name"
    for _ in $(seq 100); do is_running "$name" "$pidfile" && break; sleep 0.1; done
    is_running "$name" "$pidfile" || die "$name did not start (see /var/log/slurm/$name.log)"
    log "$name started (pid $(cat "$pidfile"))"
}
start_daemon slurmctld
start_daemon slurmd

# --- wait for the node ------------------------------------------------------------------------
state=unknown
for _ in $(seq 100); do
    state=$(sinfo -h -n "$node" -o %t 2>/dev/null | head -n1 || true)
    case "$state" in
        idle* | mix* | alloc*) break ;;
        down* | drain* | drng*) scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.2
done
case "$state" in
    idle* | mix* | alloc*) log "node $node is $state in partition $PARTITION" ;;
    *) die "node $node did not become idle (state '$state'; see /var/log/slurm/slurmd.log)" ;;
esac

if [ "$SELFTEST" = 1 ]; then
    srun -N1 -n1 hostname >/dev/null || die "srun self-test failed"
    log "self-test: srun hostname works"
fi
log "cluster up: munged $(cat "$RUN_DIR/munged.pid"), slurmctld $(cat "$RUN_DIR/slurmctld.pid"), slurmd $(cat "$RUN_DIR/slurmd.pid")"
