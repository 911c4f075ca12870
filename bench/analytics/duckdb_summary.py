#!/usr/bin/env python3
"""The SQL peer: DuckDB computes the RFM summary (frequency, recency, T, monetary value per
customer, weekly periods, lifetimes' definitions) from transactions already loaded in memory.
Prints `summary seconds` (best of --repeat runs) and the customer count.
Usage: duckdb_summary.py FILE.csv [--repeat 3]
"""
import sys
import time

import duckdb

path = sys.argv[1]
repeat = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--repeat" else 3
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
con.execute(f"""CREATE TABLE tx AS
    SELECT customer_id, CAST(occurred_at AS TIMESTAMPTZ) AS occurred_at,
           quantity * unit_price - coalesce(discount, 0) AS amount
    FROM read_csv('{path}', header = true)""")
query = """
CREATE OR REPLACE TABLE summary AS
WITH p AS (
    SELECT customer_id, date_trunc('week', occurred_at) AS wk, sum(amount) AS amt
    FROM tx GROUP BY ALL
), c AS (
    SELECT customer_id, count(*) - 1 AS frequency, min(wk) AS first_wk, max(wk) AS last_wk,
           sum(amt) - arg_min(amt, wk) AS repeat_total
    FROM p GROUP BY ALL
)
SELECT customer_id, frequency,
       datediff('week', first_wk, last_wk) AS recency,
       datediff('week', first_wk, (SELECT date_trunc('week', max(occurred_at)) FROM tx)) AS T,
       CASE WHEN frequency > 0 THEN repeat_total / frequency ELSE 0 END AS monetary_value
FROM c
"""
best = float("inf")
for _ in range(repeat):
    t = time.perf_counter()
    con.execute(query)
    best = min(best, time.perf_counter() - t)
print(f"summary {best:.4f}")
n, f, r, T, m = con.execute(
    "SELECT count(*), sum(frequency), sum(recency), sum(T), sum(monetary_value) FROM summary").fetchone()
print(f"customers {n}")
print(f"checksum frequency={f} recency={r} T={T} monetary={m:.2f}")
