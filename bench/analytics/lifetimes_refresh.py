#!/usr/bin/env python3
"""The peer: Python lifetimes 0.11.3's refresh on a kesher transactions CSV.

Times (CSV load apart) summary_data_from_transaction_data + BetaGeoFitter + GammaGammaFitter +
conditional expected purchases, P(alive) and CLV for every customer, with the same settings as
crates/kesher-analytics/examples/refresh.rs. Prints `name seconds` lines.
Usage: lifetimes_refresh.py FILE.csv [week|day]
"""
import sys
import time
import warnings

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

warnings.simplefilter("ignore")
path = sys.argv[1]
freq = "D" if len(sys.argv) > 2 and sys.argv[2] == "day" else "W"
horizon = 273 if freq == "D" else 39

t0 = time.perf_counter()
tx = pd.read_csv(path, usecols=["customer_id", "occurred_at", "quantity", "unit_price", "discount"])
tx["occurred_at"] = pd.to_datetime(tx["occurred_at"], utc=True).dt.tz_localize(None)
tx["amount"] = tx["quantity"] * tx["unit_price"] - tx["discount"].fillna(0)
print(f"load_csv {time.perf_counter() - t0:.4f}")

start = time.perf_counter()
lap = start
def mark(name):
    global lap
    now = time.perf_counter()
    print(f"{name} {now - lap:.4f}", flush=True)
    lap = now

s = summary_data_from_transaction_data(tx, "customer_id", "occurred_at", monetary_value_col="amount", freq=freq)
mark("summary")
bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
mark("fit_bgnbd")
rep = s[s["frequency"] > 0]
ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
mark("fit_gamma_gamma")
e = bgf.conditional_expected_number_of_purchases_up_to_time(horizon, s["frequency"], s["recency"], s["T"])
p = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
spend = ggf.conditional_expected_average_profit(s["frequency"], s["monetary_value"])
clv = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                  time=12, discount_rate=0.01, freq=freq)
mark("predictions_and_clv")
print(f"compute_total {time.perf_counter() - start:.4f}")
print(f"customers {len(s)}")
print("bgnbd " + " ".join(f"{k}={v:.4f}" for k, v in bgf.params_.items()))
print("gamma_gamma " + " ".join(f"{k}={v:.4f}" for k, v in ggf.params_.items()))
print(f"total_clv {clv.sum():.2f}")
