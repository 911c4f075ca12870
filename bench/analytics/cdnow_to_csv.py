#!/usr/bin/env python3
"""CDNOW_sample.txt (whitespace-separated: id, id in sample, YYYYMMDD, CDs, dollars) to kesher's
transactions CSV, one row per line. Usage: cdnow_to_csv.py CDNOW_sample.txt > cdnow.csv"""
import sys

print("transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency")
rows = []
for line in open(sys.argv[1]):
    f = line.split()
    if f:
        rows.append((int(f[1]), f[2], f[4]))
rows.sort(key=lambda r: r[0])
for n, (c, d, dollars) in enumerate(rows, 1):
    print(f"T{n},C{c},B1,,{d[:4]}-{d[4:6]}-{d[6:]}T00:00:00Z,,1,{float(dollars):.2f},0.00,USD")
