#!/usr/bin/env bash
# Import benchmark: 1,000,000 customers and 10,000,000 transaction lines into SQLite through
# `kesher import`, with rows per second and peak memory (RSS). A baseline on the same files:
# the sqlite3 shell's own `.import` into bare tables (no parsing of money, phones or times, no
# validation, no idempotency), which is the floor any importer on SQLite can reach.
#
# Usage: bench/import/run.sh [CUSTOMERS] [LINES]     (defaults 1000000 10000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
CUSTOMERS=${1:-1000000}
LINES=${2:-10000000}
OUT=bench/out/import
mkdir -p "$OUT"
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3 >/dev/null; } || true

cargo build --release -q -p kesher
cargo build --release -q -p kesher-demo --example demo_gen
K="${CARGO_TARGET_DIR:-target}/release/kesher"

if [ ! -s "$OUT/customers.csv" ] || [ "$(($(wc -l < "$OUT/customers.csv") - 1))" != "$CUSTOMERS" ]; then
  echo "generating $CUSTOMERS customers ..."
  "${CARGO_TARGET_DIR:-target}/release/examples/demo_gen" "$CUSTOMERS" "$OUT" >/dev/null
  head -n $((LINES + 1)) "$OUT/transactions.csv" > "$OUT/tx.csv"
fi
lines=$(($(wc -l < "$OUT/tx.csv") - 1))
rm -f "$OUT"/k.db*

measure() { # label rows command...
  local label=$1 rows=$2; shift 2
  local t0 t1 rss
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$OUT/rss" "$@" >/dev/null
  t1=$(date +%s.%N)
  rss=$(cat "$OUT/rss")
  awk -v l="$label" -v r="$rows" -v a="$t0" -v b="$t1" -v m="$rss" \
    'BEGIN { s = b - a; printf "%-34s %11d rows %8.2f s %10.0f rows/s  peak RSS %6.1f MB\n", l, r, s, r / s, m / 1024 }'
}

for k in branches employees products; do $K --db "$OUT/k.db" import "$k" "$OUT/$k.csv" >/dev/null; done
measure "kesher import customers" "$CUSTOMERS" $K --db "$OUT/k.db" import customers "$OUT/customers.csv"
measure "kesher import transactions" "$lines" $K --db "$OUT/k.db" import transactions "$OUT/tx.csv"
measure "kesher re-import (idempotent)" "$lines" $K --db "$OUT/k.db" import transactions "$OUT/tx.csv"
ls -la "$OUT/k.db" | awk '{ printf "database size: %.0f MB\n", $5 / 1048576 }'

if command -v sqlite3 >/dev/null; then
  rm -f "$OUT/raw.db"
  measure "sqlite3 .import customers (raw)" "$CUSTOMERS" sqlite3 "$OUT/raw.db" ".import --csv $OUT/customers.csv customers"
  measure "sqlite3 .import transactions (raw)" "$lines" sqlite3 "$OUT/raw.db" ".import --csv $OUT/tx.csv lines"
fi
