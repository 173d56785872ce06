#!/usr/bin/env bash
# Stop the private SLURM cluster started by scripts/slurm/start_local_slurm.sh.
#
# Cancels the jobs still on the cluster (SLURM_CANCEL_JOBS=0 keeps them), then stops slurmd, slurmctld
# and munged -- only the processes named in this script's pid files ($SLURM_RUN_DIR, default
# /run/pyimcom-slurm) and only when /proc/PID/comm matches the daemon's name (a reused pid is left
# alone). TERM first, KILL after 10 s. Idempotent: a daemon that is not running is reported as such.
set -euo pipefail

RUN_DIR=${SLURM_RUN_DIR:-/run/pyimcom-slurm}
CANCEL=${SLURM_CANCEL_JOBS:-1}

log() { printf '[stop_local_slurm] %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "[stop_local_slurm] error: must run as root" >&2; exit 1; }

pid_of() {  # pid_of NAME: the pid from NAME's pid file if that process is alive and is NAME
    local f="$RUN_DIR/$1.pid" pid
    [ -s "$f" ] || return 1
    pid=$(cat "$f")
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}

if [ "$CANCEL" = 1 ] && pid_of slurmctld >/dev/null; then
    jobs=$(squeue -h -o %i 2>/dev/null || true)
    if [ -n "$jobs" ]; then
        log "cancelling jobs: $(echo "$jobs" | tr '\n' ' ')"
        # shellcheck disable=SC2086
        scancel $jobs || true
        sleep 1
    fi
fi

for name in slurmd slurmctld munged; do
    if pid=$(pid_of "$name"); then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do pid_of "$name" >/dev/null || break; sleep 0.1; done
        if pid_of "$name" >/dev/null; then
            log "$name (pid $pid) ignored TERM; sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "$name stopped (pid $pid)"
    else
        log "$name not running"
    fi
    rm -f "$RUN_DIR/$name.pid"
done
