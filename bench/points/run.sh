#!/usr/bin/env bash
# Redemptions at the till under load: bursts of parallel `POST /api/customers/{id}/points/redeem`
# (each with its own Idempotency-Key, spread over ten tills' tokens: one till may send 60 at once)
# against `kesher serve` on a demo database, timed from the
# first request sent to the last answer. With two binaries the bursts alternate A B A B on two
# servers over two copies of the same database, and the script prints each one's median and the
# ratio: how a change to the points path compares with the build before it.
#
#   bench/points/run.sh                      # this tree's release build
#   bench/points/run.sh OLD_BINARY           # OLD_BINARY against this tree's build
#   BURST=100 ROUNDS=9 CUSTOMERS=5000 bench/points/run.sh
#
# Needs curl. Writes under bench/out/points (or $OUT). Nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/../.."
BURST="${BURST:-100}"
ROUNDS="${ROUNDS:-9}"
CUSTOMERS="${CUSTOMERS:-5000}"
OUT="${OUT:-bench/out/points}"
mkdir -p "$OUT"
command -v curl >/dev/null || { apt-get install -y -q curl >&2; }

cargo build --release -q -p kesher
NEW="${CARGO_TARGET_DIR:-target}/release/kesher"
OLD="${1:-}"
TILLS=10

# One demo database, copied for each server; made by the older build when there are two (the
# newer one migrates its copy when it opens it).
rm -f "$OUT"/base.db*
"${OLD:-$NEW}" demo --customers "$CUSTOMERS" --no-serve --db "$OUT/base.db" >/dev/null 2>"$OUT/demo.log"

start_server() { # $1 binary, $2 name, $3 port -> prints the tills' tokens; the server's pid in $OUT/$2.pid
    local bin="$1" name="$2" port="$3" db="$OUT/$2.db"
    rm -f "$db"*
    cp "$OUT/base.db" "$db"
    "$bin" --db "$db" points adjust "$MEMBER" --points 100000000 --reason "bench opening balance" >/dev/null
    local tokens=()
    for t in $(seq "$TILLS"); do
        tokens+=("$("$bin" --db "$db" tokens create --name "bench-$name-$t" --role admin 2>/dev/null | tail -n 1)")
    done
    KESHER_ADMIN_PASSWORD=bench-password-$$ "$bin" --db "$db" serve --bind "127.0.0.1:$port" >"$OUT/$name.log" 2>&1 &
    echo $! >"$OUT/$name.pid"
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$port/api/health" && break
        sleep 0.1
    done
    echo "${tokens[*]}"
}

# The customer every burst redeems from: the first member number of the demo.
command -v sqlite3 >/dev/null || apt-get install -y -q sqlite3 >&2
MEMBER="$(sqlite3 "$OUT/base.db" "SELECT member_no FROM customers WHERE member_no IS NOT NULL ORDER BY member_no LIMIT 1")"
CUSTOMER_ID="$(sqlite3 "$OUT/base.db" "SELECT lower(hex(id)) FROM customers WHERE member_no = '$MEMBER'")"
CUSTOMER_ID="${CUSTOMER_ID:0:8}-${CUSTOMER_ID:8:4}-${CUSTOMER_ID:12:4}-${CUSTOMER_ID:16:4}-${CUSTOMER_ID:20:12}"

cleanup() { for f in "$OUT"/*.pid; do [[ -f "$f" ]] && kill "$(cat "$f")" 2>/dev/null; rm -f "$f"; done; }
trap cleanup EXIT

# One burst: BURST redemptions of one point at once; prints the wall milliseconds and checks
# that every answer was a 201.
burst() { # $1 port, $2 the tills' tokens (space-separated), $3 tag
    local t0 t1 codes tokens
    read -r -a tokens <<<"$2"
    : >"$OUT/burst.args"
    for i in $(seq "$BURST"); do echo "${tokens[$((i % ${#tokens[@]}))]} $i" >>"$OUT/burst.args"; done
    t0=$(date +%s%N)
    codes="$(xargs -P "$BURST" -L 1 sh -c 'curl -s -o /dev/null -w "%{http_code}\n" -X POST \
        -H "Authorization: Bearer $0" -H "Idempotency-Key: bench-'"$3"'-$1" -H "Content-Type: application/json" \
        -d "{\"points\":1}" "http://127.0.0.1:'"$1"'/api/customers/'"$CUSTOMER_ID"'/points/redeem"' <"$OUT/burst.args")"
    t1=$(date +%s%N)
    local bad
    bad="$(grep -vc '^201$' <<<"$codes" || true)"
    if [[ "$bad" != 0 ]]; then
        echo "burst $3: $bad of $BURST answers were not 201: $(sort <<<"$codes" | uniq -c | tr '\n' ' ')" >&2
    fi
    echo $(((t1 - t0) / 1000000))
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

TOKEN_NEW="$(start_server "$NEW" new 25471)"
if [[ -n "$OLD" ]]; then TOKEN_OLD="$(start_server "$OLD" old 25472)"; fi
burst 25471 "$TOKEN_NEW" warm-new >/dev/null
[[ -n "$OLD" ]] && burst 25472 "$TOKEN_OLD" warm-old >/dev/null
: >"$OUT/new.ms"; : >"$OUT/old.ms"; : >"$OUT/ratio"
for r in $(seq "$ROUNDS"); do
    if [[ -n "$OLD" ]]; then
        a=$(burst 25472 "$TOKEN_OLD" "old-$r"); echo "$a" >>"$OUT/old.ms"
    fi
    b=$(burst 25471 "$TOKEN_NEW" "new-$r"); echo "$b" >>"$OUT/new.ms"
    if [[ -n "$OLD" ]]; then awk -v a="$a" -v b="$b" 'BEGIN {printf "%.3f\n", b / a}' >>"$OUT/ratio"; fi
done
new_ms=$(median <"$OUT/new.ms")
echo "kesher (this tree): $BURST parallel redemptions, median of $ROUNDS bursts: ${new_ms} ms ($(awk -v m="$new_ms" -v n="$BURST" 'BEGIN {printf "%.0f", n * 1000 / m}') redemptions/s)"
if [[ -n "$OLD" ]]; then
    old_ms=$(median <"$OUT/old.ms")
    echo "kesher ($OLD): median ${old_ms} ms ($(awk -v m="$old_ms" -v n="$BURST" 'BEGIN {printf "%.0f", n * 1000 / m}') redemptions/s)"
    echo "ratio this tree / old, burst by burst: median $(median <"$OUT/ratio") (min $(sort -n "$OUT/ratio" | head -1), max $(sort -n "$OUT/ratio" | tail -1))"
fi
