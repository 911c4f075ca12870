#!/usr/bin/env bash
# Campaigns at scale (issue #17):
#  1. render and enqueue: `kesher campaigns launch` of a campaign to every customer of the demo
#     business (a personalised message in each customer's language, a 10 % control group drawn,
#     every outbox row written) — target < 30 s for 1,000,000 recipients;
#  2. delivery over SMTP to a loopback sink: `kesher campaigns deliver` with the outbox's
#     guarantees on (each message claimed under a lease, the consent read again, the outcome
#     recorded), beside the same number of messages sent by a plain loop with lettre
#     (crates/kesher-app/examples/plain_smtp.rs): the ratio is the outbox's cost.
#
#   bench/campaigns/run.sh [CUSTOMERS] [MESSAGES]     # default 100,000 customers, 5,000 e-mails
#
# Writes under bench/out/campaigns (or $OUT). Needs python3 (the SMTP sink: smtp_sink.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
CUSTOMERS="${1:-100000}"
MESSAGES="${2:-5000}"
OUT="${OUT:-bench/out/campaigns}"
mkdir -p "$OUT"
cargo build --release -q -p kesher
cargo build --release -q -p kesher-app --example plain_smtp
T="${CARGO_TARGET_DIR:-target}/release"
K="$T/kesher"
DB="$OUT/k.db"
rm -f "$DB"*
now() { date +%s.%N; }
calc() { python3 -c "print(round($1, 2))"; }
t0=$(now)
"$K" demo --customers "$CUSTOMERS" --no-serve --db "$DB" >/dev/null 2>"$OUT/demo.log"
echo "demo business of $CUSTOMERS customers in $(calc "$(now) - $t0") s"

cat >"$OUT/all.json" <<'JSON'
{"name": "Everyone", "kind": {"type": "scheduled", "at": "2020-01-01T10:00"},
 "audience": "visits >= 0", "channels": ["log"], "default_language": "en", "control_bp": 1000,
 "templates": {
  "en": {"subject": "{% if customer.first_name %}{{ customer.first_name }}, {% endif %}spring is here", "body": "<p>{% if customer.first_name %}Dear {{ customer.first_name }}, {% endif %}our spring collection is in the shops.</p>"},
  "he": {"subject": "{% if customer.first_name %}{{ customer.first_name }}, {% endif %}האביב כאן", "body": "<p dir=\"rtl\">{% if customer.first_name %}{{ customer.first_name }} היקר/ה, {% endif %}קולקציית האביב בחנויות.</p>"},
  "fa": {"subject": "{% if customer.first_name %}{{ customer.first_name }}، {% endif %}بهار آمد", "body": "<p dir=\"rtl\">{% if customer.first_name %}{{ customer.first_name }} عزیز، {% endif %}مجموعه بهاری در فروشگاه‌هاست.</p>"}}}
JSON
id=$("$K" --db "$DB" campaigns create "$OUT/all.json")
t0=$(now)
"$K" --db "$DB" campaigns launch "$id" >"$OUT/launch.json"
launch=$(calc "$(now) - $t0")
written=$(python3 -c "import json; print(json.load(open('$OUT/launch.json'))['written'])")
echo "render and enqueue: $written outbox rows (control and suppressed included) in $launch s: $(calc "$written / $launch") rows/s"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 bench/campaigns/smtp_sink.py "$PORT" "$OUT/sink.count" &
SINK=$!
trap 'kill $SINK 2>/dev/null || true' EXIT
sleep 1
sed -e 's/"Everyone"/"E-mail"/' -e 's/"visits >= 0"/"email is set"/' -e 's/\["log"\]/["email"]/' \
  "$OUT/all.json" >"$OUT/email.json"
id=$("$K" --db "$DB" campaigns create "$OUT/email.json")
"$K" --db "$DB" campaigns launch "$id" >"$OUT/launch-email.json"
t0=$(now)
KESHER_SMTP_URL="smtp://127.0.0.1:$PORT" "$K" --db "$DB" campaigns deliver --limit "$MESSAGES" >"$OUT/deliver.json"
deliver=$(calc "$(now) - $t0")
sent=$(python3 -c "import json; print(json.load(open('$OUT/deliver.json'))['sent'])")
kesher_rate=$(calc "$sent / $deliver")
echo "kesher: $sent e-mails through the outbox in $deliver s: $kesher_rate messages/s"
plain=$("$T/examples/plain_smtp" "smtp://127.0.0.1:$PORT" "$sent")
echo "plain lettre loop: $plain"
plain_rate=$(echo "$plain" | sed -E 's/.*: ([0-9]+) messages\/s/\1/')
sleep 1.5
echo "sink: $(cat "$OUT/sink.count") (messages, distinct Message-IDs, duplicates)"
echo "outbox / plain: $(calc "$kesher_rate / $plain_rate")"
