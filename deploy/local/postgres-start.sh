#!/usr/bin/env bash
# Start a project-local PostgreSQL cluster on 127.0.0.1 without Docker.
# Uses the Debian packages (installed with apt-get when missing) but its own
# data directory, so the system cluster (/var/lib/postgresql) is not touched.
#
# Prints on stdout (everything else goes to stderr):
#   export SK_DATABASE_URL=postgresql+asyncpg://servicekontor:servicekontor@127.0.0.1:<port>/servicekontor
# so it can be used as:  eval "$(deploy/local/postgres-start.sh)"
#
# Environment (all optional):
#   SK_LOCAL_PG_PORT           port (default 55432)
#   SK_LOCAL_PG_START_TIMEOUT  seconds to wait for pg_isready (default 60)
#   SK_LOCAL_STATE             see common.sh
#
# Idempotent: if the cluster is already running it only ensures the role and
# database exist and prints the settings.
set -euo pipefail
LOG_TAG=postgres
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PORT="${SK_LOCAL_PG_PORT:-55432}"
START_TIMEOUT="${SK_LOCAL_PG_START_TIMEOUT:-60}"
DB_USER=servicekontor
DB_PASSWORD=servicekontor
DB_NAME=servicekontor

STATE="$SK_LOCAL_STATE/postgres"
DATA="$STATE/data"
SOCKET_DIR="$STATE/run"
LOGFILE="$STATE/postgres.log"

# --- binaries: Debian packages, installed on first use ----------------------------
if ! PG_BIN="$(pg_bin_dir)"; then
    [[ $EUID -eq 0 ]] || die "PostgreSQL is not installed; run as root or: apt-get install -y postgresql"
    log "installing PostgreSQL from Debian packages ..."
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
    PG_BIN="$(pg_bin_dir)" || die "apt-get installed postgresql but no initdb was found"
fi

psql_admin() {  # superuser session over the private unix socket
    as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PORT" \
        -U "$PG_OS_USER" -d postgres
}

# Port of the running server (line 4 of postmaster.pid), empty if not running.
running_port() { sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true; }

print_settings() {
    echo "export SK_DATABASE_URL=postgresql+asyncpg://$DB_USER:$DB_PASSWORD@127.0.0.1:$1/$DB_NAME"
}

# --- create the cluster once ----------------------------------------------------
ensure_state_dir
if [[ ! -f "$DATA/PG_VERSION" ]]; then
    mkdir -p "$STATE"
    [[ $EUID -eq 0 ]] && chown postgres:postgres "$STATE"
    as_pg test -w "$STATE" \
        || die "$PG_OS_USER cannot write $STATE (every parent directory must be searchable by $PG_OS_USER; set SK_LOCAL_STATE elsewhere)"
    log "initdb $DATA ($("$PG_BIN/postgres" --version))"
    as_pg "$PG_BIN/initdb" -D "$DATA" -U "$PG_OS_USER" -E UTF8 --locale=C.UTF-8 \
        --auth-local=peer --auth-host=scram-sha-256 >"$STATE/initdb.log" 2>&1 \
        || { cat "$STATE/initdb.log" >&2; die "initdb failed"; }
    # Listen on loopback only, private socket dir (no /var/run/postgresql needed).
    cat >>"$DATA/postgresql.conf" <<EOF

# --- added by deploy/local/postgres-start.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCKET_DIR'
EOF
fi
as_pg mkdir -p "$SOCKET_DIR"

# --- start ----------------------------------------------------------------------
if pg_running "$DATA"; then
    PORT_NOW="$(running_port)"
    [[ "$PORT_NOW" == "$PORT" ]] \
        || log "note: already running on port $PORT_NOW (requested $PORT); stop it first to change ports"
    PORT="$PORT_NOW"
    log "already running on 127.0.0.1:$PORT"
else
    port_open "$PORT" && die "port $PORT on 127.0.0.1 is already in use by another program"
    log "starting PostgreSQL on 127.0.0.1:$PORT"
    # The port is given at start time, so SK_LOCAL_PG_PORT can change between runs.
    # pg_ctl -w returns once the server accepts connections (or fails).
    as_pg "$PG_BIN/pg_ctl" start -D "$DATA" -l "$LOGFILE" -w -t "$START_TIMEOUT" \
        -o "-p $PORT" >&2 \
        || { tail -n 20 "$LOGFILE" >&2; die "PostgreSQL did not start (see $LOGFILE)"; }
fi

deadline=$(( $(now_s) + START_TIMEOUT ))
until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; do
    (( $(now_s) < deadline )) || die "pg_isready does not answer on 127.0.0.1:$PORT (see $LOGFILE)"
    sleep 0.5
done

# --- role and database (idempotent) ----------------------------------------------
psql_admin <<EOF
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', '$DB_USER', '$DB_PASSWORD')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') \gexec
-- CREATEROLE: the tests create the read-only BI role (servicekontor reporting-bi-role).
SELECT format('ALTER ROLE %I CREATEDB CREATEROLE', '$DB_USER') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', '$DB_NAME', '$DB_USER')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB_NAME') \gexec
EOF

log "ready (data in $DATA, log $LOGFILE)"
print_settings "$PORT"
