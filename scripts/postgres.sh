#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for kesher's tests, on 127.0.0.1 with trust auth for loopback.
#
#   scripts/postgres.sh start   install the server if missing (Debian packages), initdb a fresh
#                               cluster in a temp dir, start it, wait until it accepts
#                               connections, and print on stdout:
#                                 export KESHER_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:25329/postgres
#   scripts/postgres.sh stop    stop that cluster and remove its directory
#
# Typical use (the assignment keeps `set -e` effective; `eval "$(...)"` alone would hide a failure):
#   pg_env="$(scripts/postgres.sh start)"; eval "$pg_env"; trap 'scripts/postgres.sh stop' EXIT
#   cargo test -p kesher-store-postgres --features pg-tests
# Everything but the export line goes to stderr. Any problem exits non-zero with a message.
# KESHER_PG_PORT (default 25329) and KESHER_PG_DIR (default $TMPDIR/kesher-pg-PORT) override.
# The default port lies below Linux's ephemeral range (32768-60999), where an outgoing connection
# may hold any port; if the port is taken all the same, the next ones are tried (up to 20) and the
# URL printed names the port the server listens on.
set -euo pipefail

PORT="${KESHER_PG_PORT:-25329}"
DIR="${KESHER_PG_DIR:-${TMPDIR:-/tmp}/kesher-pg-$PORT}"
DATA="$DIR/data"
LOG="$DIR/server.log"
URL="postgres://postgres@127.0.0.1:$PORT/postgres"

say() { echo "postgres.sh: $*" >&2; }
fail() {
    say "PostgreSQL could not be started: $*"
    if [[ -f "$LOG" ]]; then
        say "last lines of $LOG:"
        tail -n 30 "$LOG" >&2 || true
    fi
    exit 1
}

# The directory holding initdb/pg_ctl/postgres, newest Debian version first, then PATH.
find_bindir() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
            echo "$d"
            return 0
        fi
    done
    local i
    if i="$(command -v initdb 2>/dev/null)"; then
        i="$(readlink -f "$i")"
        if [[ -x "$(dirname "$i")/pg_ctl" && -x "$(dirname "$i")/postgres" ]]; then
            dirname "$i"
            return 0
        fi
    fi
    return 1
}

ensure_server_binaries() {
    if BIN="$(find_bindir)"; then
        return 0
    fi
    command -v apt-get >/dev/null || fail "initdb not found and apt-get is not available to install PostgreSQL"
    [[ "$(id -u)" == 0 ]] || fail "initdb not found; installing PostgreSQL needs root (apt-get install postgresql)"
    say "PostgreSQL server binaries not found; installing the Debian package postgresql"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q postgresql >&2; then
        say "install failed; running apt-get update and trying again"
        apt-get update -q >&2 || fail "apt-get update failed"
        apt-get install -y -q postgresql >&2 || fail "apt-get install postgresql failed"
    fi
    BIN="$(find_bindir)" || fail "postgresql is installed but initdb/pg_ctl/postgres were not found"
}

# Run a server binary as the cluster's owner: PostgreSQL refuses to run as root.
RUN_AS=()
choose_user() {
    if [[ "$(id -u)" != 0 ]]; then
        RUN_AS=()
        OWNER="$(id -un)"
        return 0
    fi
    OWNER=postgres
    if ! id -u "$OWNER" >/dev/null 2>&1; then
        OWNER=kesherpg
        if ! id -u "$OWNER" >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER" >&2 ||
                fail "cannot create the user $OWNER to own the cluster"
        fi
    fi
    command -v runuser >/dev/null || fail "runuser not found (needed to run PostgreSQL as $OWNER, not root)"
    RUN_AS=(runuser -u "$OWNER" --)
}

as_owner() {
    if ((${#RUN_AS[@]})); then
        "${RUN_AS[@]}" "$@"
    else
        "$@"
    fi
}

stop_cluster() {
    # Stops a cluster left in $DIR (by an earlier start) and removes the directory.
    if [[ -f "$DATA/postmaster.pid" ]]; then
        local bin
        bin="$(find_bindir)" || {
            say "cannot stop the cluster in $DIR: pg_ctl not found"
            return 1
        }
        choose_user
        if ! as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >&2; then
            # pg_ctl fails when the server is already gone; only a live server is a problem.
            if as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
                say "cannot stop the PostgreSQL server in $DATA"
                return 1
            fi
        fi
    fi
    if [[ -e "$DIR" ]]; then
        rm -rf "$DIR" || {
            say "cannot remove $DIR"
            return 1
        }
    fi
}

start() {
    ensure_server_binaries
    choose_user
    say "using $BIN (cluster owner: $OWNER, dir: $DIR, port: $PORT)"
    if [[ -e "$DIR" ]]; then
        say "removing a cluster left in $DIR by an earlier run"
        stop_cluster || fail "the earlier cluster in $DIR could not be stopped"
    fi
    mkdir -p "$DIR" || fail "cannot create $DIR"
    chmod 700 "$DIR"
    if [[ "$(id -u)" == 0 ]]; then
        chown "$OWNER" "$DIR" || fail "cannot give $DIR to $OWNER"
    fi
    # The owner must be able to reach the directory through its parents.
    as_owner test -w "$DIR" || fail "$OWNER cannot write to $DIR (check its parent directories)"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 ||
        as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >"$DIR/initdb.log" 2>&1 ||
        {
            cat "$DIR/initdb.log" >&2 || true
            fail "initdb failed"
        }
    # A throw-away cluster: durability settings off for speed; loopback and a private socket only.
    local opts attempt
    for ((attempt = 0; ; attempt++)); do
        if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
            opts="-p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$DIR"
            opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            if as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -o "$opts" -w -t 60 start >&2; then
                break
            fi
            # Only a port someone else holds is worth another try; anything else is a failure.
            grep -q "Address already in use" "$LOG" 2>/dev/null || fail "pg_ctl start failed"
        fi
        ((attempt < 20)) || fail "no free port from ${KESHER_PG_PORT:-25329} to $PORT on 127.0.0.1"
        say "port $PORT on 127.0.0.1 is taken; trying $((PORT + 1))"
        PORT=$((PORT + 1))
        URL="postgres://postgres@127.0.0.1:$PORT/postgres"
        : >"$LOG"
    done
    local i
    for ((i = 0; i < 60; i++)); do
        if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres; then
            break
        fi
        sleep 0.5
    done
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres || fail "the server did not become ready on 127.0.0.1:$PORT"
    if command -v psql >/dev/null || [[ -x "$BIN/psql" ]]; then
        local psql="$BIN/psql"
        [[ -x "$psql" ]] || psql="$(command -v psql)"
        "$psql" -X -q -w -d "$URL" -c "SELECT 1" >/dev/null || fail "cannot connect to $URL"
    fi
    say "PostgreSQL is ready at $URL"
    echo "export KESHER_TEST_POSTGRES_URL=$URL"
}

case "${1:-}" in
    start) start ;;
    stop)
        if stop_cluster; then
            say "stopped; $DIR removed"
        else
            say "PostgreSQL could not be stopped cleanly"
            exit 1
        fi
        ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
