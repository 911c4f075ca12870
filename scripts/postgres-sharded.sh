#!/usr/bin/env bash
# kesher sharded by customer on PostgreSQL's own machinery: three throw-away clusters on loopback
# (a coordinator and two shards, each started by scripts/postgres.sh), joined by postgres_fdw.
#
#   scripts/postgres-sharded.sh start   start the three clusters, create kesher's schema on the
#                                       coordinator (the store's own migrations, via `kesher migrate`)
#                                       and turn the customer-keyed tables into tables hash-partitioned
#                                       by customer id whose partitions are foreign tables on the
#                                       shards; print on stdout:
#                                         export KESHER_TEST_SHARDED_URL=postgres://postgres@127.0.0.1:PORT/postgres
#   scripts/postgres-sharded.sh stop    stop the three clusters and remove their directories
#
# Layout (docs/scaling.md): every table keyed by customer lives on the shards, partition i of 2 on
# shard i: customers (by id), and by customer_id transactions, transaction_lines (whose
# customer_id the store fills, migration 9), interactions, consents, consent_history,
# customer_scores, customer_stages, points_ledger and points_balances. Branches, employees,
# products and the points rules stay on the coordinator (reference tables), as do the identifier
# aliases and merges (keyed by identifier), the audit log, accounts and settings. Anonymous sales
# (customer_id NULL) hash like a NULL key does in PostgreSQL: to remainder 0, the first shard.
#
# KESHER_SHARDED_PORT (default 25360) is the coordinator's port, the shards take the next two
# (or the next free ones: scripts/postgres.sh moves on from a taken port and says where it went);
# KESHER_SHARDED_DIR (default $TMPDIR/kesher-sharded-PORT) holds the three clusters.
# KESHER_BIN names a built kesher binary (default: `cargo run -q -p kesher --`).
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${KESHER_SHARDED_PORT:-25360}"
DIR="${KESHER_SHARDED_DIR:-${TMPDIR:-/tmp}/kesher-sharded-$PORT}"
PORTS=("$PORT" "$((PORT + 1))" "$((PORT + 2))")
NAMES=(coordinator shard0 shard1)
url() { echo "postgres://postgres@127.0.0.1:$1/postgres"; }
say() { echo "postgres-sharded.sh: $*" >&2; }

# The customer-keyed tables and the column each is partitioned by.
SHARDED=(customers:id transactions:customer_id transaction_lines:customer_id interactions:customer_id
    consents:customer_id consent_history:customer_id customer_scores:customer_id customer_stages:customer_id
    points_ledger:customer_id points_balances:customer_id)
# Those of them numbered by an identity column `seq`.
NUMBERED=(consent_history points_ledger)

cluster() { # cluster start|stop INDEX; a start records the port the cluster ended up on
    if [[ "$1" == start ]]; then
        local out
        out="$(KESHER_PG_PORT="${PORTS[$2]}" KESHER_PG_DIR="$DIR/${NAMES[$2]}" scripts/postgres.sh start)" || return 1
        local url="${out#*=}"
        url="${url%/postgres}"
        PORTS[$2]="${url##*:}"
        # The next cluster starts looking above this one.
        if (($2 < 2)) && ((PORTS[$2 + 1] <= PORTS[$2])); then PORTS[$2 + 1]=$((PORTS[$2] + 1)); fi
    else
        KESHER_PG_PORT="${PORTS[$2]}" KESHER_PG_DIR="$DIR/${NAMES[$2]}" scripts/postgres.sh stop
    fi
}

psql_at() { # psql_at PORT [psql args...]
    local port="$1"
    shift
    psql -X -q -v ON_ERROR_STOP=1 -w -d "$(url "$port")" "$@"
}

stop() {
    local i ok=0
    for i in 2 1 0; do
        cluster stop "$i" >/dev/null || ok=1
    done
    rm -rf "$DIR" || ok=1
    return "$ok"
}

start() {
    command -v psql >/dev/null || { say "psql not found"; exit 1; }
    command -v pg_dump >/dev/null || { say "pg_dump not found"; exit 1; }
    mkdir -p "$DIR"
    # A failed start leaves nothing running.
    trap 'say "set-up failed; stopping the clusters"; stop || true' ERR
    local i
    for i in 0 1 2; do
        cluster start "$i" || { say "cannot start the ${NAMES[$i]} cluster"; stop || true; exit 1; }
    done
    local coord="${PORTS[0]}"
    # kesher's schema, by kesher itself.
    if [[ -n "${KESHER_BIN:-}" ]]; then
        "$KESHER_BIN" migrate --db "$(url "$coord")" >&2
    else
        cargo run -q -p kesher -- migrate --db "$(url "$coord")" >&2
    fi
    local tables=() t
    for t in "${SHARDED[@]}"; do tables+=(-t "public.${t%%:*}"); done
    # The shards hold the same tables (definitions only: no keys to tables they do not have),
    # keyed as on a single server and indexed for access by customer. Sequence numbers come from
    # the coordinator, so the shards' `seq` columns are plain columns.
    local ddl
    ddl="$(pg_dump -s --section=pre-data --no-owner "${tables[@]}" -d "$(url "$coord")")"
    for i in 1 2; do
        printf '%s\n' "$ddl" | psql_at "${PORTS[$i]}" >/dev/null
        psql_at "${PORTS[$i]}" <<'SQL'
ALTER TABLE consent_history ALTER COLUMN seq DROP IDENTITY;
ALTER TABLE points_ledger ALTER COLUMN seq DROP IDENTITY;
ALTER TABLE customers ADD PRIMARY KEY (id);
ALTER TABLE transactions ADD PRIMARY KEY (id);
ALTER TABLE transaction_lines ADD PRIMARY KEY (transaction_id, line_no);
ALTER TABLE interactions ADD PRIMARY KEY (id);
ALTER TABLE consents ADD PRIMARY KEY (customer_id, channel);
ALTER TABLE consent_history ADD PRIMARY KEY (seq);
ALTER TABLE customer_scores ADD PRIMARY KEY (customer_id);
ALTER TABLE customer_stages ADD PRIMARY KEY (month, customer_id);
ALTER TABLE points_ledger ADD PRIMARY KEY (seq);
ALTER TABLE points_balances ADD PRIMARY KEY (customer_id);
CREATE INDEX ON transactions (customer_id, occurred_at);
CREATE INDEX ON interactions (customer_id, occurred_at);
CREATE INDEX ON consent_history (customer_id);
CREATE INDEX ON points_ledger (customer_id, seq);
SQL
    done
    # On the coordinator: the shards as foreign servers, and each customer-keyed table replaced by
    # one hash-partitioned by customer whose partitions are the shards' tables.
    {
        echo "SET client_min_messages = warning;"
        echo "CREATE EXTENSION postgres_fdw;"
        for i in 1 2; do
            local s="${NAMES[$i]}"
            # Rows priced as the network transfer they are (the default 0.01 is that of a local
            # row): the planner then prefers running the per-customer aggregates on the shards
            # and fetching their results to fetching every sale. (Estimates come from ANALYZE of
            # the foreign partitions on the coordinator; use_remote_estimate would ask shards that
            # autovacuum may not have analysed yet.)
            echo "CREATE SERVER $s FOREIGN DATA WRAPPER postgres_fdw
                  OPTIONS (host '127.0.0.1', port '${PORTS[$i]}', dbname 'postgres', fetch_size '10000',
                           async_capable 'true', fdw_tuple_cost '0.2');"
            echo "CREATE USER MAPPING FOR PUBLIC SERVER $s OPTIONS (user 'postgres');"
        done
        for t in "${SHARDED[@]}"; do
            local name="${t%%:*}" key="${t##*:}"
            echo "ALTER TABLE $name RENAME TO ${name}_unsharded;"
            echo "CREATE TABLE $name (LIKE ${name}_unsharded INCLUDING DEFAULTS) PARTITION BY HASH ($key);"
            for i in 1 2; do
                echo "CREATE FOREIGN TABLE ${name}_p$((i - 1)) PARTITION OF $name
                      FOR VALUES WITH (MODULUS 2, REMAINDER $((i - 1)))
                      SERVER ${NAMES[$i]} OPTIONS (table_name '$name');"
            done
        done
        for t in "${SHARDED[@]}"; do echo "DROP TABLE ${t%%:*}_unsharded CASCADE;"; done
        # The coordinator numbers the rows of the numbered tables (their identity went with the
        # unsharded tables); a sequence owned by the column is what `kesher copy` moves on.
        for t in "${NUMBERED[@]}"; do
            echo "CREATE SEQUENCE ${t}_seq_seq OWNED BY $t.seq;"
            echo "ALTER TABLE $t ALTER COLUMN seq SET DEFAULT nextval('${t}_seq_seq');"
        done
        # Plan per partition: aggregates and joins grouped by the customer run on the shards.
        echo "ALTER DATABASE postgres SET enable_partitionwise_aggregate = on;"
        echo "ALTER DATABASE postgres SET enable_partitionwise_join = on;"
    } | psql_at "$coord" >/dev/null
    trap - ERR
    say "coordinator on ${PORTS[0]}, shards on ${PORTS[1]} and ${PORTS[2]} (postgres_fdw)"
    echo "export KESHER_TEST_SHARDED_URL=$(url "$coord")"
}

case "${1:-}" in
    start) start ;;
    stop)
        if stop; then say "stopped; $DIR removed"; else say "could not stop cleanly"; exit 1; fi
        ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
