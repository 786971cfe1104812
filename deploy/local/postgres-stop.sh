#!/usr/bin/env bash
# Stop the project-local PostgreSQL started by postgres-start.sh.
#
#   postgres-stop.sh          stop (fast shutdown), keep the data
#   postgres-stop.sh --wipe   stop and delete the whole cluster
#
# Succeeds if nothing is running.
set -euo pipefail
LOG_TAG=postgres
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STATE="$SK_LOCAL_STATE/postgres"
DATA="$STATE/data"

wipe=false
case "${1:-}" in
    "") ;;
    --wipe) wipe=true ;;
    *) die "usage: $0 [--wipe]" ;;
esac

if pg_running "$DATA"; then
    PG_BIN="$(pg_bin_dir)" || die "PostgreSQL binaries not found"
    log "stopping PostgreSQL ($DATA) ..."
    # fast: roll back open transactions, disconnect clients, clean shutdown
    as_pg "$PG_BIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >&2
    log "stopped"
else
    log "not running"
fi

if $wipe; then
    log "deleting $STATE"
    rm -rf "$STATE"
fi
