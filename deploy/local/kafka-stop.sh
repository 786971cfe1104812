#!/usr/bin/env bash
# Stop the local Kafka broker started by kafka-start.sh.
#
#   kafka-stop.sh          stop, keep topics/offsets for the next start
#   kafka-stop.sh --wipe   stop and delete all Kafka data and logs
#
# Sends SIGTERM (controlled shutdown), waits up to SK_LOCAL_KAFKA_STOP_TIMEOUT
# seconds (default 30), then SIGKILL. Succeeds if nothing is running.
set -euo pipefail
LOG_TAG=kafka
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STATE="$SK_LOCAL_STATE/kafka"
PIDFILE="$STATE/kafka.pid"
STOP_TIMEOUT="${SK_LOCAL_KAFKA_STOP_TIMEOUT:-30}"

wipe=false
case "${1:-}" in
    "") ;;
    --wipe) wipe=true ;;
    *) die "usage: $0 [--wipe]" ;;
esac

if pid="$(pid_alive "$PIDFILE" kafka.Kafka)"; then
    log "stopping broker (pid $pid) ..."
    kill -TERM "$pid"
    deadline=$(( $(now_s) + STOP_TIMEOUT ))
    while proc_running "$pid" && (( $(now_s) < deadline )); do
        sleep 0.5
    done
    if proc_running "$pid"; then
        log "still running after ${STOP_TIMEOUT}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        while proc_running "$pid"; do sleep 0.2; done
    fi
    log "stopped"
else
    log "not running"
fi
rm -f "$PIDFILE" "$STATE/port" "$STATE/ready"

if $wipe; then
    log "deleting $STATE"
    rm -rf "$STATE"
fi
