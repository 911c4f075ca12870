#!/usr/bin/env bash
# The web interface's pages at scale: each main page's server response time (median, p95, max
# over N requests, measured by curl from the request to the last byte) on the demo business of
# bench/import/run.sh (1M customers, 10M lines in SQLite), after `kesher analyze`. Target: every
# page under 100 ms; the dashboard reads the figures analyze stored, never recomputes them.
#
# Usage: bench/web/run.sh [REQUESTS]   (default 30)
#   Uses bench/out/import/k.db (runs bench/import/run.sh first when it is missing) on a copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-30}
OUT=bench/out/web
mkdir -p "$OUT"
cargo build --release -q -p kesher
K="${CARGO_TARGET_DIR:-target}/release/kesher"
[ -s bench/out/import/k.db ] || bash bench/import/run.sh
cp bench/out/import/k.db "$OUT/k.db"
rm -f "$OUT"/k.db-wal "$OUT"/k.db-shm
echo "analyze (stores the dashboard's and the analytics page's figures) ..."
/usr/bin/time -f "analyze: %e s, peak RSS %M KB" "$K" --db "$OUT/k.db" analyze --as-of 2026-01-01 >/dev/null
printf 'bench password 1\n' | "$K" --db "$OUT/k.db" users add bench --role marketing_manager --password-stdin >/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
KESHER_ADMIN_PASSWORD=unused-admin-password "$K" --db "$OUT/k.db" serve --bind "127.0.0.1:$PORT" >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/api/health" && break; sleep 0.1; done
BASE="http://127.0.0.1:$PORT"
JAR="$OUT/cookies"
rm -f "$JAR"
curl -s -o /dev/null -c "$JAR" -H 'Accept: text/html' --data-urlencode username=bench \
  --data-urlencode 'password=bench password 1' "$BASE/login"
ID=$(sqlite3 "$OUT/k.db" "SELECT lower(hex(id)) FROM customers c WHERE EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = c.id) LIMIT 1" 2>/dev/null || true)
if [ -n "$ID" ]; then
  ID="${ID:0:8}-${ID:8:4}-${ID:12:4}-${ID:16:4}-${ID:20:12}"
fi
MEMBER=$(sqlite3 "$OUT/k.db" "SELECT member_no FROM customers WHERE member_no IS NOT NULL LIMIT 1 OFFSET 500000" 2>/dev/null || echo M0500000)
time_page() { # label path
  local label=$1 path=$2 f="$OUT/times"
  : > "$f"
  for _ in $(seq "$N"); do
    curl -s -o /dev/null -b "$JAR" -H 'Accept: text/html' -w '%{http_code} %{time_total}\n' "$BASE$path" >> "$f"
  done
  sort -k2 -n "$f" | awk -v l="$label" -v n="$N" '
    { s[NR] = $2 * 1000; c[$1]++ }
    END { codes = ""; for (k in c) codes = codes k "×" c[k] " ";
          printf "%-28s median %7.1f ms  p95 %7.1f ms  max %7.1f ms  (%s)\n", l, s[int((n + 1) / 2)], s[int(n * 0.95 + 0.5)], s[n], codes }'
}
echo "pages, $N requests each (target: under 100 ms):"
time_page "dashboard /" "/"
time_page "analytics" "/analytics"
time_page "customer search (member)" "/customers?q=$MEMBER"
time_page "customer search (name)" "/customers?q=cohen"
[ -n "$ID" ] && time_page "customer view" "/customers/$ID"
time_page "segments" "/segments"
time_page "segment live count" "/segments/live?expression=stage%20%3D%20%22core%22"
# The administration pages, as an admin, over an audit log grown to 1M more entries (planted
# below the app, 1000 actors and 50 actions spread over two years): a page and each filter
# read about one page of an index, never the table.
sqlite3 "$OUT/k.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
  INSERT INTO audit_log (at, actor, action, entity, entity_id, after)
  SELECT 1704067200000000 + i * 63072000, 'user:u' || (i % 1000), 'bench.action' || (i % 50), 'bench', i, '{\"i\":' || i || '}' FROM n" \
  || echo "(sqlite3 is missing: the audit log keeps its own size)"
printf 'bench password 1\n' | "$K" --db "$OUT/k.db" users add benchadmin --role admin --password-stdin >/dev/null
JAR="$OUT/admin-cookies"
rm -f "$JAR"
curl -s -o /dev/null -c "$JAR" -H 'Accept: text/html' --data-urlencode username=benchadmin \
  --data-urlencode 'password=bench password 1' "$BASE/login"
time_page "admin users" "/admin/users"
time_page "admin roles" "/admin/roles"
time_page "admin tokens" "/admin/tokens"
time_page "admin audit (newest)" "/admin/audit"
time_page "admin audit (by actor)" "/admin/audit?actor=u7"
time_page "admin audit (by action)" "/admin/audit?action=bench.action7"
time_page "admin audit (a day)" "/admin/audit?from=2024-06-01&until=2024-06-01"
time_page "admin audit (older page)" "/admin/audit?before=500000"
time_page "admin retention" "/admin/retention"
