#!/usr/bin/env bash
# A till during an import: `kesher serve` on a SQLite file, then `kesher import transactions` of
# the 10M-line file into it while a client posts sales (`POST /api/transactions`, a
# pos_device token) at a steady rate. Prints the import's wall time and, for the sales posted
# while it ran, how many per second got through and the p50/p99/max latency of each write.
# Before the import commits in slices, a sale waited for the whole import.
#
# Usage: bench/import/pos-during-import.sh [LINES] [SALES_PER_SECOND]   (defaults 10000000 10)
#   KESHER=path/to/kesher   use this binary (default: build the release one; a debug build is
#                           fine for a small run, e.g. `KESHER=target/debug/kesher ... 300000`,
#                           and then the demo generator is built in debug too)
#   CUSTOMERS=N             the demo business's size when its files are generated (1000000)
# Uses the files of bench/import/run.sh (bench/out/import), generating them when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
LINES=${1:-10000000}
RATE=${2:-10}
OUT=bench/out/import
DB=bench/out/pos/k.db
mkdir -p "$OUT" bench/out/pos

PROFILE=release
if [ -z "${KESHER:-}" ]; then
  cargo build --release -q -p kesher
  KESHER="${CARGO_TARGET_DIR:-target}/release/kesher"
else
  PROFILE=debug
fi
if [ ! -s "$OUT/customers.csv" ]; then
  if [ "$PROFILE" = release ]; then
    cargo build --release -q -p kesher-demo --example demo_gen
  else
    cargo build -q -p kesher-demo --example demo_gen
  fi
  echo "generating the demo business ..."
  "${CARGO_TARGET_DIR:-target}/$PROFILE/examples/demo_gen" "${CUSTOMERS:-1000000}" "$OUT" >/dev/null
fi
head -n $((LINES + 1)) "$OUT/transactions.csv" > bench/out/pos/tx.csv
lines=$(($(wc -l < bench/out/pos/tx.csv) - 1))

rm -f "$DB" "$DB"-*
for k in branches employees products customers; do "$KESHER" --db "$DB" import "$k" "$OUT/$k.csv" >/dev/null; done
BRANCH=$(sed -n 2p "$OUT/branches.csv" | cut -d, -f1)
MEMBER=$(sed -n 2p "$OUT/customers.csv" | cut -d, -f1)
TOKEN=$("$KESHER" --db "$DB" tokens create --name bench-till --role pos_device --branch "$BRANCH" 2>/dev/null)

PORT=${PORT:-$((20000 + RANDOM % 20000))}
KESHER_ADMIN_PASSWORD=bench-only-password "$KESHER" --db "$DB" serve --bind "127.0.0.1:$PORT" >bench/out/pos/serve.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  grep -q "serving on" bench/out/pos/serve.log 2>/dev/null && break
  sleep 0.1
done

STOP=bench/out/pos/stop
rm -f "$STOP"
python3 - "$PORT" "$TOKEN" "$BRANCH" "$MEMBER" "$RATE" "$STOP" >bench/out/pos/client.txt <<'PY' &
import http.client, json, os, sys, time
port, token, branch, member, rate, stop = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), sys.argv[6]
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
lat, errors, n = [], 0, 0
start = time.monotonic()
while not os.path.exists(stop):
    due = start + n / rate
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    body = json.dumps({"external_id": f"bench-pos-{os.getpid()}-{n}", "member_no": member, "branch": branch,
                       "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "currency": "ILS",
                       "lines": [{"quantity": 1, "unit_price": "12.50"}]})
    t0 = time.monotonic()
    try:
        conn.request("POST", "/api/transactions", body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = conn.getresponse(); r.read()
        ok = r.status in (200, 201)
    except Exception:
        ok = False
        conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=120)
    t1 = time.monotonic()
    if ok:
        lat.append(t1 - t0)
    else:
        errors += 1
    n += 1
took = time.monotonic() - start
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
print(f"sales posted during the import   {len(lat)} ok, {errors} failed, over {took:.1f} s: {len(lat) / took:.1f} sales/s (asked {rate:g}/s)")
print(f"POS write latency                p50 {q(0.50):.1f} ms   p99 {q(0.99):.1f} ms   max {q(1.0):.1f} ms")
PY
CLIENT=$!
sleep 1
t0=$(date +%s.%N)
"$KESHER" --db "$DB" import transactions bench/out/pos/tx.csv >/dev/null
t1=$(date +%s.%N)
touch "$STOP"
wait $CLIENT
awk -v r="$lines" -v a="$t0" -v b="$t1" \
  'BEGIN { s = b - a; printf "kesher import transactions beside a server   %d lines %8.2f s %10.0f lines/s\n", r, s, r / s }'
cat bench/out/pos/client.txt
