#!/usr/bin/env bash
# kesher-baskets vs mlxtend 0.25 (fpgrowth + association_rules) on the same files, one run.
#
# Datasets: T10I4D20K (../shared/data/baskets) and 1,000,000 baskets from
# `gen_baskets.py --baskets 1000000` (generated once into $WORK); min support 0.005, 0.002,
# 0.001; rules at min confidence $MIN_CONF (default 0.5). Each side is one process that reads
# the FIMI file and mines; wall time and peak RSS come from /usr/bin/time, phase times from
# the programs (kesher: examples/mine.rs; mlxtend: mlxtend_mine.py, dense one-hot frame).
#
# Environment: SIZES="20k 1m" (datasets), SUPPORTS="0.005 0.002 0.001", MIN_CONF=0.5,
# WORK=/tmp/kesher-bench-baskets, CARGO_TARGET_DIR (default /work/target-baskets).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DATA=${DATA:-$ROOT/../shared/data}
WORK=${WORK:-/tmp/kesher-bench-baskets}
SIZES=${SIZES:-"20k 1m"}
SUPPORTS=${SUPPORTS:-"0.005 0.002 0.001"}
MIN_CONF=${MIN_CONF:-0.5}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-baskets}
mkdir -p "$WORK"

echo "== installing mlxtend 0.25.0 (pip) and building kesher's example in release" >&2
python3 -m pip install --quiet --disable-pip-version-check mlxtend==0.25.0 pandas 2>&1 | grep -v "as the 'root' user" >&2 || true
(cd "$ROOT" && cargo build --quiet --release -p kesher-baskets --example mine)
KESHER="$CARGO_TARGET_DIR/release/examples/mine"
python3 -c "import sys, mlxtend, pandas, numpy; print(f'python {sys.version.split()[0]}, mlxtend {mlxtend.__version__}, pandas {pandas.__version__}, numpy {numpy.__version__}')"
echo "cpus: $(nproc), kesher mines the top-level items on all of them (rayon); mlxtend is single-threaded"

dataset() {
  case "$1" in
    20k) echo "$DATA/baskets/T10I4D20K.dat" ;;
    1m)
      local f="$WORK/baskets_1000000.dat"
      if [ ! -s "$f" ]; then
        echo "== generating $f" >&2
        python3 "$DATA/gen_baskets.py" --baskets 1000000 > "$f.tmp" && mv "$f.tmp" "$f"
      fi
      echo "$f" ;;
    *) echo "unknown size $1" >&2; exit 1 ;;
  esac
}

# run REPEAT CMD... -> best (smallest) of REPEAT runs: T_TOTAL, T_MINE (program's own
# timers), CPU (user + sys, /usr/bin/time), and the largest peak RSS in MB; LINE = output
run() {
  local repeat=$1; shift
  local out="$WORK/out.txt" tim="$WORK/time.txt" i wall user sys rss_kb
  T_TOTAL=""; T_MINE=""; CPU=""; RSS_MB=0
  for ((i = 0; i < repeat; i++)); do
    /usr/bin/time -f "%e %U %S %M" -o "$tim" "$@" > "$out"
    LINE=$(tail -1 "$out")
    read -r wall user sys rss_kb < "$tim"
    T_TOTAL=$(min "$T_TOTAL" "$(field "$LINE" total_s)")
    T_MINE=$(min "$T_MINE" "$(field "$LINE" mine_s)")
    CPU=$(min "$CPU" "$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')")
    RSS_MB=$(awk -v k="$rss_kb" -v m="$RSS_MB" 'BEGIN { r = k / 1024; printf "%.0f", (r > m ? r : m) }')
  done
}
min() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 < a + 0) print b; else print a }'; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
ratio2() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

echo "load average before the run: $(cut -d' ' -f1-3 /proc/loadavg) (the timings are noisy when other work runs)"
printf "\n%-4s %-6s %5s %6s | %8s %9s %7s | %8s %8s %7s | %7s %8s %7s | %6s %6s %6s\n" \
  data supp sets rules "kesher s" "mlxtend s" ratio "k mine" "m mine" ratio "k cpu" "m cpu" ratio \
  "k MB" "m MB" "mem"
for size in $SIZES; do
  file=$(dataset "$size")
  repeat=$([ "$size" = 20k ] && echo "${REPEAT_20K:-3}" || echo "${REPEAT_1M:-1}")
  for s in $SUPPORTS; do
    run "$repeat" "$KESHER" --input "$file" --min-support "$s" --min-confidence "$MIN_CONF"
    k_line=$LINE k_total=$T_TOTAL k_mine=$T_MINE k_cpu=$CPU k_rss=$RSS_MB
    run "$repeat" python3 "$HERE/mlxtend_mine.py" --input "$file" --min-support "$s" --min-confidence "$MIN_CONF"
    m_line=$LINE m_total=$T_TOTAL m_mine=$T_MINE m_cpu=$CPU m_rss=$RSS_MB
    k_sets=$(field "$k_line" itemsets); m_sets=$(field "$m_line" itemsets)
    k_rules=$(field "$k_line" rules); m_rules=$(field "$m_line" rules)
    if [ "$k_sets" != "$m_sets" ] || [ "$k_rules" != "$m_rules" ]; then
      echo "MISMATCH $size $s: kesher $k_sets itemsets / $k_rules rules, mlxtend $m_sets / $m_rules" >&2
    fi
    printf "%-4s %-6s %5s %6s | %8s %9s %7s | %8s %8s %7s | %7s %8s %7s | %6s %6s %6s\n" \
      "$size" "$s" "$k_sets" "$k_rules" "$k_total" "$m_total" "$(ratio "$m_total" "$k_total")" \
      "$k_mine" "$m_mine" "$(ratio "$m_mine" "$k_mine")" "$k_cpu" "$m_cpu" "$(ratio "$m_cpu" "$k_cpu")" \
      "$k_rss" "$m_rss" "$(ratio2 "$k_rss" "$m_rss")"
  done
done
echo
echo "kesher s / mlxtend s: read the file, encode (mlxtend), mine itemsets and rules, timed inside"
echo "  each program (interpreter start-up and imports excluded); best of REPEAT_20K=${REPEAT_20K:-3} /"
echo "  REPEAT_1M=${REPEAT_1M:-1} runs. mine: itemsets + rules only. cpu: user + sys seconds of the"
echo "  whole process (kesher uses every core). MB: peak RSS; mem = kesher / mlxtend."
