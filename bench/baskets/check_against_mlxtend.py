#!/usr/bin/env python3
"""Checks a `kesher baskets mine --json` document against mlxtend 0.25 on the same input.

Usage: check_against_mlxtend.py --input FILE [--format fimi|csv] --min-support S
                                [--min-confidence C] [--max-len K] --json KESHER.json
C defaults to 0.8 like kesher's and mlxtend's. Exit status 0 when itemsets, supports and
rules with their metrics agree (relative 1e-9; conviction "inf" = mlxtend's inf).
"""
import argparse
import csv
import json
import math
import sys

import pandas as pd
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder


def read(path, fmt):
    if fmt == "fimi":
        with open(path) as f:
            return [line.split() for line in f if line.strip()]
    baskets, index = [], {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row["transaction_id"] not in index:
                index[row["transaction_id"]] = len(baskets)
                baskets.append([])
            baskets[index[row["transaction_id"]]].append(row["sku"])
    return baskets


def num(v):
    return math.inf if v == "inf" else float(v)


def close(a, b):
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) or abs(a - b) < 1e-15


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--format", choices=["fimi", "csv"], default="fimi")
    ap.add_argument("--min-support", type=float, required=True)
    ap.add_argument("--min-confidence", type=float, default=0.8)
    ap.add_argument("--max-len", type=int)
    ap.add_argument("--json", required=True)
    args = ap.parse_args()

    baskets = read(args.input, args.format)
    te = TransactionEncoder()
    df = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    sets = fpgrowth(df, min_support=args.min_support, use_colnames=True, max_len=args.max_len)
    want_sets = {frozenset(s): v for s, v in zip(sets.itemsets, sets.support)}
    want_rules = {}
    if len(sets):
        rules = association_rules(sets, metric="confidence", min_threshold=args.min_confidence)
        for r in rules.itertuples(index=False):
            want_rules[(r.antecedents, r.consequents)] = [
                r.support, r.confidence, r.lift, r.leverage, r.conviction]

    with open(args.json) as f:
        doc = json.load(f)
    got_sets = {frozenset(s["items"]): num(s["support"]) for s in doc["itemsets"]}
    got_rules = {(frozenset(r["antecedents"]), frozenset(r["consequents"])):
                 [num(r[k]) for k in ("support", "confidence", "lift", "leverage", "conviction")]
                 for r in doc["rules"]}
    problems = []
    if set(got_sets) != set(want_sets):
        problems.append(f"itemsets differ: {len(set(got_sets) - set(want_sets))} extra, "
                        f"{len(set(want_sets) - set(got_sets))} missing")
    problems += [f"support of {sorted(k)}: {got_sets[k]} vs {v}"
                 for k, v in want_sets.items() if k in got_sets and abs(got_sets[k] - v) >= 1e-9]
    if set(got_rules) != set(want_rules):
        problems.append(f"rules differ: {len(set(got_rules) - set(want_rules))} extra, "
                        f"{len(set(want_rules) - set(got_rules))} missing")
    problems += [f"metrics of {sorted(a)} -> {sorted(c)}: {got_rules[(a, c)]} vs {v}"
                 for (a, c), v in want_rules.items()
                 if (a, c) in got_rules and not all(map(close, got_rules[(a, c)], v))]
    for p in problems[:20]:
        print(p, file=sys.stderr)
    print(f"{'MISMATCH' if problems else 'equal'}: {len(want_sets)} itemsets, "
          f"{len(want_rules)} rules (mlxtend), {len(got_sets)} / {len(got_rules)} (kesher)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
