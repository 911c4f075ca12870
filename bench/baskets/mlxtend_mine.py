#!/usr/bin/env python3
"""mlxtend 0.25 side of bench/baskets/run.sh: the same work as kesher's `examples/mine.rs`.

Reads a FIMI file, one-hot encodes it (TransactionEncoder, dense bool DataFrame, as in
mlxtend's documentation), runs fpgrowth(min_support, use_colnames=True) and
association_rules(metric="confidence", min_threshold=C). Prints one line:
  mlxtend read_s=… mine_s=… total_s=… baskets=… itemsets=… rules=…
where read_s covers reading and encoding, mine_s fpgrowth + association_rules.
"""
import argparse
import time

import pandas as pd
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--input", required=True)
    ap.add_argument("--min-support", type=float, required=True)
    ap.add_argument("--min-confidence", type=float, default=0.8)
    args = ap.parse_args()

    start = time.perf_counter()
    with open(args.input) as f:
        baskets = [line.split() for line in f if line.strip()]
    te = TransactionEncoder()
    df = pd.DataFrame(te.fit(baskets).transform(baskets), columns=te.columns_)
    read = time.perf_counter() - start

    t = time.perf_counter()
    itemsets = fpgrowth(df, min_support=args.min_support, use_colnames=True)
    if len(itemsets):
        rules = association_rules(itemsets, metric="confidence", min_threshold=args.min_confidence)
    else:
        rules = []
    mined = time.perf_counter() - t
    print(f"mlxtend read_s={read:.4f} mine_s={mined:.4f} total_s={time.perf_counter() - start:.4f} "
          f"baskets={len(baskets)} itemsets={len(itemsets)} rules={len(rules)}")


if __name__ == "__main__":
    main()
