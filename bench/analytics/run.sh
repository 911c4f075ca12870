#!/usr/bin/env bash
# kesher-analytics vs Python lifetimes 0.11.3 and DuckDB, same machine, same inputs.
# Installs the pinned peers into bench/analytics/out/venv, generates the synthetic logs with
# ../shared/data/gen_bgnbd.py (100,000 and 1,000,000 customers, seed 1) and CDNOW, builds the
# refresh example in release mode and prints the ratios (also saved to out/results.txt); then
# imports each log into SQLite and times `kesher analyze` end to end against lifetimes' compute.
# Usage: bench/analytics/run.sh [--skip-1m]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
shared="${KESHER_SHARED:-$repo/../shared/data}"
out="$here/out"
mkdir -p "$out/data"

if [ ! -x "$out/venv/bin/python" ]; then
    python3 -m venv "$out/venv"
fi
"$out/venv/bin/pip" install -q "lifetimes==0.11.3" "numpy==2.4.*" "scipy==1.17.*" \
    "pandas==3.1.*" "autograd==1.9.*" "duckdb==2.0.*"
py="$out/venv/bin/python"

gen() { # customers file
    [ -s "$out/data/$2" ] || python3 "$shared/gen_bgnbd.py" --customers "$1" --seed 1 > "$out/data/$2"
}
[ -s "$out/data/cdnow.csv" ] || python3 "$here/cdnow_to_csv.py" "$shared/cdnow/CDNOW_sample.txt" > "$out/data/cdnow.csv"
gen 100000 tx_100k.csv
datasets=("$out/data/cdnow.csv" "$out/data/tx_100k.csv")
if [ "${1:-}" != "--skip-1m" ]; then
    gen 1000000 tx_1m.csv
    datasets+=("$out/data/tx_1m.csv")
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-analytics}"
(cd "$repo" && cargo build --release -q -p kesher-analytics --example refresh && cargo build --release -q -p kesher)
KESHER_CLI="$CARGO_TARGET_DIR/release/kesher" "$py" "$here/compare.py" "$CARGO_TARGET_DIR/release/examples/refresh" "$py" "${datasets[@]}" \
    | tee "$out/results.txt"
