#!/usr/bin/env bash
# SQLite vs PostgreSQL vs DuckDB on the same demo business: `kesher import` of the customers and
# transaction lines into each store (rows/s), then the customer summary that feeds the analytics
# (kesher analyze: on SQLite every sale is read and summarised in process; on PostgreSQL the
# summary is one aggregate query inside the database), and DuckDB computing the same summary
# from the same CSV. The three summaries' checksums are printed side by side.
#
# PostgreSQL is loaded twice: with `kesher copy` from the SQLite file (binary COPY), which the
# summary is then computed on, and with `kesher import` of the same CSV files into a database of
# its own (customers in batches of 256, sales in batches with their lines through COPY).
# PG_IMPORT_CUSTOMERS=N times `kesher import` on PostgreSQL on a smaller demo business instead.
#
# Usage: bench/postgres/run.sh [CUSTOMERS] [LINES]     (defaults 1000000 10000000)
# The PostgreSQL server is a throw-away cluster from scripts/postgres.sh (KESHER_PG_PORT,
# default 25349) with fsync off, as in the tests: import figures are those of a server that does
# not wait for its disk.
set -euo pipefail
cd "$(dirname "$0")/../.."
CUSTOMERS=${1:-1000000}
LINES=${2:-10000000}
OUT=bench/out/postgres
AS_OF=2026-06-30
mkdir -p "$OUT"
export KESHER_PG_PORT="${KESHER_PG_PORT:-25349}" KESHER_PG_DIR="${KESHER_PG_DIR:-$PWD/$OUT/pg}"

command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; } || true
if [ ! -x "$OUT/venv/bin/python" ] || ! "$OUT/venv/bin/python" -c 'import duckdb' 2>/dev/null; then
  python3 -m venv "$OUT/venv"
  "$OUT/venv/bin/pip" install -q "duckdb==2.0.*"
fi

cargo build --release -q -p kesher
cargo build --release -q -p kesher-demo --example demo_gen
T="${CARGO_TARGET_DIR:-target}/release"
K="$T/kesher"

if [ ! -s "$OUT/tx.csv" ] || [ "$(cat "$OUT/size" 2>/dev/null)" != "$CUSTOMERS $LINES" ]; then
  echo "generating $CUSTOMERS customers ..."
  "$T/examples/demo_gen" "$CUSTOMERS" "$OUT" >/dev/null
  head -n $((LINES + 1)) "$OUT/transactions.csv" > "$OUT/tx.csv"
  echo "$CUSTOMERS $LINES" > "$OUT/size"
fi
lines=$(($(wc -l < "$OUT/tx.csv") - 1))

pg_env="$(scripts/postgres.sh start)"
eval "$pg_env"
trap 'scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
PG="${KESHER_TEST_POSTGRES_URL%/*}/bench"
psql -X -q -d "$KESHER_TEST_POSTGRES_URL" -c "CREATE DATABASE bench"

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
row() { # label rows seconds
  awk -v l="$1" -v r="$2" -v s="$3" 'BEGIN { printf "%-44s %11d rows %8.2f s %10.0f rows/s\n", l, r, s, (s > 0 ? r / s : 0) }'
}
timed() { # label rows command... (stderr kept in $OUT/last.err)
  local label=$1 rows=$2 t0 t1; shift 2
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>"$OUT/last.err" || { cat "$OUT/last.err" >&2; exit 1; }
  t1=$(date +%s.%N)
  row "$label" "$rows" "$(secs "$t0" "$t1")"
}
# The seconds of analyze's steps whose names match $2, from its "timings:" line.
step_secs() {
  sed -n 's/^timings: //p' "$1" | tr ',' '\n' | grep -E "$2" | sed 's/.* \([0-9.]*\)s$/\1/' | awk '{ s += $1 } END { printf "%.2f", s }'
}
checksum_sql="SELECT count(*), sum(frequency), sum(recency), sum(t), round(sum(monetary)) FROM customer_scores WHERE stage <> 'prospect'"

analyze_on() { # name db
  timed "$1: kesher analyze (whole refresh)" "$CUSTOMERS" $K --db "$2" analyze --as-of "$AS_OF"
  cp "$OUT/last.err" "$OUT/analyze-$1.err"
  row "$1: customer summary (inside analyze)" "$lines" "$(step_secs "$OUT/analyze-$1.err" '^ *(read sales|summary)')"
  grep '^timings' "$OUT/analyze-$1.err" | sed 's/^/   /'
}

echo "== $CUSTOMERS customers, $lines transaction lines (as of $AS_OF); summary rows/s count lines"
rm -f "$OUT"/k.db*
for k in branches employees products; do $K --db "$OUT/k.db" import "$k" "$OUT/$k.csv" >/dev/null 2>&1; done
timed "SQLite: kesher import customers" "$CUSTOMERS" $K --db "$OUT/k.db" import customers "$OUT/customers.csv"
timed "SQLite: kesher import transactions (lines)" "$lines" $K --db "$OUT/k.db" import transactions "$OUT/tx.csv"
analyze_on SQLite "$OUT/k.db"
echo "   checksum $(sqlite3 "$OUT/k.db" "$checksum_sql")"

# PostgreSQL gets the same business through `kesher copy` (binary COPY per table); the
# importer's rate on PostgreSQL is measured below on a smaller business of its own.
total=$(sqlite3 "$OUT/k.db" "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM transactions)
  + (SELECT count(*) FROM transaction_lines) + (SELECT count(*) FROM customer_scores) + (SELECT count(*) FROM customer_stages)
  + (SELECT count(*) FROM consents) + (SELECT count(*) FROM consent_history) + (SELECT count(*) FROM interactions)")
timed "PostgreSQL: kesher copy from SQLite (all rows)" "$total" $K copy --from "sqlite:$OUT/k.db" --to "$PG"
grep -E '^(copied|committed)' "$OUT/last.err" | sed 's/^/   /'
analyze_on PostgreSQL "$PG"
echo "   checksum $(psql -X -A -t -F'|' -d "$PG" -c "$checksum_sql")"

small=${PG_IMPORT_CUSTOMERS:-$CUSTOMERS}
if [ "$small" = "$CUSTOMERS" ]; then
  SRC="$OUT"; src_tx="$OUT/tx.csv"; small_lines=$lines
else
  SRC="$OUT/small"; src_tx="$OUT/small/transactions.csv"
  mkdir -p "$SRC"
  "$T/examples/demo_gen" "$small" "$SRC" >/dev/null
  small_lines=$(($(wc -l < "$src_tx") - 1))
fi
psql -X -q -d "$KESHER_TEST_POSTGRES_URL" -c "CREATE DATABASE bench_import"
PGI="${KESHER_TEST_POSTGRES_URL%/*}/bench_import"
for k in branches employees products; do $K --db "$PGI" import "$k" "$SRC/$k.csv" >/dev/null 2>&1; done
timed "PostgreSQL: kesher import customers ($small)" "$small" $K --db "$PGI" import customers "$SRC/customers.csv"
timed "PostgreSQL: kesher import transactions (lines)" "$small_lines" $K --db "$PGI" import transactions "$src_tx"
if [ "$SRC" != "$OUT" ]; then
  rm -f "$OUT/small.db"*
  for k in branches employees products; do $K --db "$OUT/small.db" import "$k" "$OUT/small/$k.csv" >/dev/null 2>&1; done
  timed "SQLite: kesher import customers ($small)" "$small" $K --db "$OUT/small.db" import customers "$OUT/small/customers.csv"
  timed "SQLite: kesher import transactions (lines)" "$small_lines" $K --db "$OUT/small.db" import transactions "$OUT/small/transactions.csv"
fi

out=$("$OUT/venv/bin/python" bench/postgres/duckdb_summary.py "$OUT/tx.csv" "${AS_OF}T23:59:59Z")
row "DuckDB: load the CSV (lines)" "$lines" "$(sed -n 's/^load //p' <<<"$out")"
row "DuckDB: customer summary" "$lines" "$(sed -n 's/^summary //p' <<<"$out")"
echo "   $(sed -n 's/^checksum //p' <<<"$out")"
echo "(checksums: buyers | Σ frequency | Σ recency | Σ T | Σ monetary)"
