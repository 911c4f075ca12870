#!/usr/bin/env python3
"""The peer: DuckDB computes kesher's customer summary (weekly periods from Monday, UTC; sales of
identified customers, refunds left out; frequency = distinct purchase weeks after the first,
recency and T in weeks, monetary = mean spend of the repeat weeks, in minor units) straight from
the transactions CSV that kesher imports.

Usage: duckdb_summary.py FILE.csv OBSERVATION_END_RFC3339
Prints the seconds to load the CSV and to summarise, and a checksum to compare with kesher's.
"""
import sys
import time

import duckdb

path, end = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET TimeZone='UTC'")
t = time.perf_counter()
# Lines to sales, amounts in minor units (exact: decimals, not floats).
con.execute(f"""CREATE TABLE sale AS
    SELECT customer_id, CAST(occurred_at AS TIMESTAMPTZ) AS occurred_at,
           sum(CAST(round(CAST(quantity AS DECIMAL(18, 0)) * CAST(unit_price AS DECIMAL(18, 2)) * 100
                    - CAST(coalesce(discount, '0') AS DECIMAL(18, 2)) * 100) AS BIGINT)) AS amount
    FROM read_csv('{path}', header = true, all_varchar = true)
    WHERE customer_id IS NOT NULL AND customer_id <> '' AND (refund_of IS NULL OR refund_of = '')
    GROUP BY transaction_id, customer_id, occurred_at""")
load = time.perf_counter() - t
query = f"""
CREATE OR REPLACE TABLE summary AS
WITH p AS (
    SELECT customer_id, date_trunc('week', occurred_at) AS wk, sum(amount) AS amt
    FROM sale WHERE occurred_at < TIMESTAMPTZ '{end}' + INTERVAL 1 SECOND GROUP BY ALL
), c AS (
    SELECT customer_id, count(*) - 1 AS frequency, min(wk) AS first_wk, max(wk) AS last_wk,
           sum(amt) - arg_min(amt, wk) AS repeat_total
    FROM p GROUP BY ALL
)
SELECT customer_id, frequency,
       datediff('week', first_wk, last_wk) AS recency,
       datediff('week', first_wk, date_trunc('week', TIMESTAMPTZ '{end}')) AS T,
       CASE WHEN frequency > 0 THEN repeat_total / frequency ELSE 0 END AS monetary_value
FROM c
"""
t = time.perf_counter()
con.execute(query)
summary = time.perf_counter() - t
n, f, r, T, m = con.execute(
    "SELECT count(*), sum(frequency), sum(recency), sum(T), sum(monetary_value) FROM summary").fetchone()
print(f"load {load:.3f}")
print(f"summary {summary:.3f}")
print(f"checksum customers={n} frequency={f} recency={r} T={T} monetary={m:.0f}")
