#!/usr/bin/env bash
# Runs every kesher test on a fresh machine: installs what the tests need, then format check,
# clippy with warnings as errors, and the whole workspace's tests.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE=1

echo "== toolchain"
cargo --version
rustup component list --installed 2>/dev/null | grep -E '^(rustfmt|clippy)' || true
command -v cargo-clippy >/dev/null || rustup component add clippy
command -v rustfmt >/dev/null || rustup component add rustfmt

echo "== format"
cargo fmt --all -- --check

echo "== clippy"
cargo clippy --workspace --all-targets -- -D warnings

mkdir -p target   # the test log is kept there, whatever CARGO_TARGET_DIR says
echo "== a real SMTP server for the outbox's crash test (Debian's python3-aiosmtpd)"
KESHER_TEST_SMTP_PYTHON="$(scripts/smtp.sh)"
export KESHER_TEST_SMTP_PYTHON
echo "== tests (SQLite and everything else)"
# The CLI's PostgreSQL tests (module `pg::`) run in the PostgreSQL section below, with a server.
cargo test --workspace -- --skip pg:: 2>&1 | tee target/test-output.txt
test "${PIPESTATUS[0]}" -eq 0

echo "== the API under schemathesis (a fresh demo business, bounded in time: docs/api.md)"
scripts/api-fuzz.sh

echo "== browser tests (headless Chromium over WebDriver)"
scripts/browser.sh
cargo clippy -p kesher-http --all-targets --features browser-tests -- -D warnings
cargo test -p kesher-http --features browser-tests --test it browser:: 2>&1 | tee -a target/test-output.txt
test "${PIPESTATUS[0]}" -eq 0

echo "== tests on PostgreSQL (a throw-away cluster on loopback)"
pg_env="$(scripts/postgres.sh start)"   # an assignment, so that a failed start stops the run
eval "$pg_env"
trap 'scripts/postgres.sh stop; scripts/postgres-sharded.sh stop' EXIT
cargo clippy -p kesher-store-postgres --all-targets --features pg-sharded-tests -- -D warnings
cargo test -p kesher-store-postgres --features pg-tests 2>&1 | tee -a target/test-output.txt
test "${PIPESTATUS[0]}" -eq 0
echo "== CLI tests on PostgreSQL (kesher copy, analytics pushed down)"
cargo test -p kesher --test it pg:: 2>&1 | tee -a target/test-output.txt
test "${PIPESTATUS[0]}" -eq 0
echo "== HTTP API tests on PostgreSQL"
KESHER_TEST_BACKEND=postgres cargo test -p kesher-http 2>&1 | tee -a target/test-output.txt
test "${PIPESTATUS[0]}" -eq 0
echo "== the store on a coordinator sharded by customer (postgres_fdw, three throw-away clusters)"
sharded_env="$(scripts/postgres-sharded.sh start)"
eval "$sharded_env"
cargo test -p kesher-store-postgres --features pg-sharded-tests sharded:: 2>&1 | tee -a target/test-output.txt
test "${PIPESTATUS[0]}" -eq 0
# One closing line for the whole run, counted over every test binary.
awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed\n", p, f }' target/test-output.txt
