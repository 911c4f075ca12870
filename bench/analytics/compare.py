#!/usr/bin/env python3
"""Runs kesher's refresh example, lifetimes and DuckDB on the same inputs and prints ratios.
With KESHER_CLI set (the kesher binary), each log is also imported into a fresh SQLite database
and `kesher analyze` is timed end to end (read the sales from SQLite, summary, fits, scores, RFM,
tiers, ladder, every customer's results written back) against lifetimes' compute.
Usage: compare.py KESHER_BINARY PYTHON DATASET.csv... (called by run.sh)"""
import csv
import os
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
binary, python, datasets = sys.argv[1], sys.argv[2], sys.argv[3:]
KESHER_RUNS = int(os.environ.get("KESHER_RUNS", "5"))
KESHER_CLI = os.environ.get("KESHER_CLI")


def wall(cmd):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t


def end_to_end(path):
    """`kesher analyze` on the log imported into SQLite: (import s, [analyze s per run], as_of)."""
    with open(path, newline="") as f:
        as_of = max(row["occurred_at"][:10] for row in csv.DictReader(f))
    db = os.path.join(os.path.dirname(path), os.path.basename(path) + ".kesher.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    imp = wall([KESHER_CLI, "--db", db, "import", "transactions", path, "--create-missing"])
    # The first run of a month, then re-runs in the same month (the daily refresh).
    runs = [wall([KESHER_CLI, "--db", db, "analyze", "--as-of", as_of, "--period", "week"])
            for _ in range(KESHER_RUNS)]
    return imp, runs, as_of


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    vals = {}
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        vals[k] = v
    return vals


def best(cmd, n):
    """Best of n runs, phase by phase from the run with the best total."""
    runs = [run(cmd) for _ in range(n)]
    return min(runs, key=lambda r: float(r["compute_total"]))


phases = ["summary", "fit_bgnbd", "fit_gamma_gamma", "predictions_and_clv", "compute_total"]
print(f"machine: {os.cpu_count()} cores; kesher best of {KESHER_RUNS}, lifetimes 1 run, duckdb best of 3")
for path in datasets:
    name = os.path.basename(path)
    k = best([binary, path, "week"], KESHER_RUNS)
    lt = run([python, os.path.join(here, "lifetimes_refresh.py"), path, "week"])
    dd = run([python, os.path.join(here, "duckdb_summary.py"), path, "--repeat", "3"])
    print(f"\n## {name}: {k['customers']} customers, {k['transactions']} transactions, "
          f"{k['distinct_rows']} distinct (frequency, recency, T) rows")
    print(f"{'phase':<22}{'lifetimes s':>12}{'kesher s':>11}{'ratio':>9}")
    for p in phases:
        a, b = float(lt[p]), float(k[p])
        print(f"{p:<22}{a:>12.4f}{b:>11.4f}{a / b:>8.1f}x")
    ks = float(k["summary"]) + float(k.get("compress", 0))
    d = float(dd["summary"])
    print(f"{'summary vs duckdb':<22}{'duckdb ' + format(d, '.4f'):>12}{ks:>11.4f}{d / ks:>8.1f}x"
          "   (kesher: summary + compression)")
    print(f"kesher  bgnbd {k['bgnbd']} | gamma_gamma {k['gamma_gamma']} | total_clv {k['total_clv']}")
    print(f"lifetimes bgnbd {lt['bgnbd']} | gamma_gamma {lt['gamma_gamma']} | total_clv {lt['total_clv']}")
    print(f"kesher {k['checksum']}\nduckdb {dd['checksum']}")
    if KESHER_CLI:
        imp, runs, as_of = end_to_end(path)
        med = statistics.median(runs)
        lt_total = float(lt["compute_total"])
        print(f"kesher analyze end to end (SQLite, as of {as_of}, {len(runs)} runs: first of the month, "
              f"then re-runs): {' '.join(format(r, '.2f') for r in runs)} s, median {med:.2f} s; "
              f"lifetimes compute {lt_total:.2f} s: {lt_total / med:.1f}x  (import apart: {imp:.1f} s)")
