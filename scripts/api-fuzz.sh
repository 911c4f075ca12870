#!/usr/bin/env bash
# The API against a client nobody here wrote: schemathesis (4.x, installed into a virtualenv
# under target/) generates requests from /api/openapi.json and checks that no answer is a 5xx,
# that every status is one the document lists for the operation, and that every body has the
# declared content type and matches its schema. It runs against a `kesher serve` of a fresh demo
# business (SQLite) with an admin API token, with a fixed seed, a bounded number of examples per
# operation and an overall time limit. Any failure fails the script (and scripts/test.sh).
# docs/api.md says how to run it.
# `DELETE /api/tokens/{id}` is left out: schemathesis finds the run's own token id in
# `GET /api/tokens` and would revoke it (tests/it/openapi.rs probes that operation).
#
# Settings (environment): KESHER_FUZZ_EXAMPLES (examples per operation, default 25),
# KESHER_FUZZ_SEED (default 20261207), KESHER_FUZZ_TIMEOUT (seconds for the whole run, default
# 900), KESHER_FUZZ_CUSTOMERS (the demo's size, default 300), KESHER_FUZZ_BIN (a kesher binary
# to use instead of building one). Extra arguments go to `schemathesis run` (e.g.
# --include-path-regex '^/api/customers').
set -euo pipefail
cd "$(dirname "$0")/.."

examples="${KESHER_FUZZ_EXAMPLES:-25}"
seed="${KESHER_FUZZ_SEED:-20261207}"
budget="${KESHER_FUZZ_TIMEOUT:-900}"
customers="${KESHER_FUZZ_CUSTOMERS:-300}"
target_dir="${CARGO_TARGET_DIR:-target}"
venv="$target_dir/schemathesis-venv"

if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q 'version 4\.'; then
    echo "== installing schemathesis 4.x into $venv"
    command -v python3 >/dev/null || { echo "api-fuzz.sh: python3 is needed" >&2; exit 1; }
    if ! python3 -m venv "$venv"; then
        # Debian's python3 keeps venv (and its pip) in a package of its own.
        [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null ||
            { echo "api-fuzz.sh: python3 -m venv failed; install python3-venv" >&2; exit 1; }
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q python3-venv >&2 || { apt-get update -q >&2 && apt-get install -y -q python3-venv >&2; }
        rm -rf "$venv"
        python3 -m venv "$venv"
    fi
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4.3,<5'
fi
"$venv/bin/schemathesis" --version

if [[ -n "${KESHER_FUZZ_BIN:-}" ]]; then
    kesher="$KESHER_FUZZ_BIN"
else
    cargo build -p kesher
    kesher="$target_dir/debug/kesher"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/kesher-api-fuzz.XXXXXX")"
server=""
cleanup() {
    if [[ -n "$server" ]] && kill -0 "$server" 2>/dev/null; then
        kill -INT "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

db="$work/fuzz.db"
"$kesher" --db "$db" demo --customers "$customers" --no-serve
token="$("$kesher" --db "$db" tokens create --name api-fuzz --role admin 2>/dev/null)"

: >"$work/serve.log"
KESHER_ADMIN_PASSWORD="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    "$kesher" --db "$db" serve --bind 127.0.0.1:0 >"$work/serve.log" 2>&1 &
server=$!
base=""
for _ in $(seq 1 100); do
    base="$(sed -n 's|^kesher is serving on \(http://[^/]*\)/.*|\1|p' "$work/serve.log")"
    [[ -n "$base" ]] && break
    kill -0 "$server" 2>/dev/null || { cat "$work/serve.log"; echo "kesher serve stopped" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$base" ]] || { cat "$work/serve.log"; echo "kesher serve did not start" >&2; exit 1; }
echo "== schemathesis against $base (seed $seed, $examples examples per operation, at most $budget s)"

status=0
timeout --signal=INT --kill-after=30 "$budget" \
    "$venv/bin/schemathesis" run "$base/api/openapi.json" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --header "Authorization: Bearer $token" \
    --seed "$seed" \
    --max-examples "$examples" \
    --phases examples,coverage,fuzzing \
    --workers 2 \
    --request-timeout 30 \
    --suppress-health-check all \
    --generation-database none \
    --exclude-operation-id revoke_token \
    --no-color \
    "$@" || status=$?
if [[ $status -eq 124 ]]; then
    echo "schemathesis did not finish within $budget s" >&2
fi
if [[ $status -ne 0 ]]; then
    echo "== the server's log (last 50 lines)" >&2
    tail -n 50 "$work/serve.log" >&2
fi
exit "$status"
