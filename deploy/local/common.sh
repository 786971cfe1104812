# shellcheck shell=bash
# Shared settings and helpers for the deploy/local/*.sh scripts.
# Sourced, not executed. Callers already run with `set -euo pipefail`.
#
# Environment knobs (all optional):
#   SK_LOCAL_STATE   where the servers keep data, logs and pid files
#                    (default: <repo>/.local-servers)
#   SK_LOCAL_CACHE   where downloaded jars are cached across runs
#                    (default: $HOME/.cache/servicekontor)

LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$LOCAL_DIR/../.." && pwd)"

SK_LOCAL_STATE="${SK_LOCAL_STATE:-$REPO_ROOT/.local-servers}"
SK_LOCAL_CACHE="${SK_LOCAL_CACHE:-${HOME:-/root}/.cache/servicekontor}"

# Progress messages go to stderr; stdout is reserved for the `export ...`
# lines so that `eval "$(deploy/local/start-all.sh)"` works.
log() { printf '[%s] %s\n' "${LOG_TAG:-local}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Create the state dir; it holds runtime data only, so keep git away from it.
ensure_state_dir() {
    mkdir -p "$SK_LOCAL_STATE"
    if [[ ! -e "$SK_LOCAL_STATE/.gitignore" ]]; then
        printf '# created by deploy/local: runtime data of local servers\n*\n' \
            >"$SK_LOCAL_STATE/.gitignore"
    fi
}

# port_open PORT -> success if something accepts TCP connections on 127.0.0.1:PORT
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pid_alive PIDFILE PATTERN -> prints the pid and succeeds if the process in
# PIDFILE is alive and its command line contains PATTERN (guards against a
# stale pid file whose pid was reused by some other program).
pid_alive() {
    local pidfile=$1 pattern=$2 pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(<"$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    proc_running "$pid" || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern" || return 1
    echo "$pid"
}

# proc_running PID -> success if PID exists and is not a zombie (an exited
# child that nobody reaped yet still answers `kill -0`).
proc_running() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" || return 1
    [[ -n "$state" && "$state" != Z ]]
}

# now_s -> seconds since the epoch (for deadlines)
now_s() { date +%s; }

# --- PostgreSQL helpers (postgres-start.sh / postgres-stop.sh) -----------------

# pg_bin_dir -> newest /usr/lib/postgresql/<v>/bin (Debian keeps them off PATH)
pg_bin_dir() {
    local d newest=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" ]] && newest="$(printf '%s\n%s\n' "$newest" "$d" | sort -V | tail -n 1)"
    done
    [[ -n "$newest" ]] && echo "$newest"
}

# As root the server runs as the `postgres` user (PostgreSQL refuses to run as
# root); as any other user it runs as that user.
# shellcheck disable=SC2034  # PG_OS_USER is used by postgres-start.sh
if [[ $EUID -eq 0 ]]; then
    PG_OS_USER=postgres
    as_pg() { runuser -u postgres -- "$@"; }
else
    PG_OS_USER="$(id -un)"
    as_pg() { "$@"; }
fi

# pg_running DATADIR -> success if the postmaster of DATADIR is alive.
# Not just `pg_ctl status`: where PID 1 does not reap orphans (as in some
# containers) a killed postmaster stays a zombie that `pg_ctl status` and
# postgres itself still count as running. Such a stale postmaster.pid is removed.
pg_running() {
    local data=$1 pid
    [[ -f "$data/postmaster.pid" ]] || return 1
    pid="$(sed -n 1p "$data/postmaster.pid")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && proc_running "$pid"; then
        return 0
    fi
    log "removing stale $data/postmaster.pid (pid $pid is gone)"
    rm -f "$data/postmaster.pid"
    return 1
}
