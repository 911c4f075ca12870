//! Benchmark driver: reads a kesher transactions CSV, then times the in-memory refresh
//! (summary, compression, BG/NBD and Gamma-Gamma fits, per-customer predictions and CLV).
//!
//! Usage: `cargo run --release -p kesher-analytics --example refresh -- FILE.csv [day|week]
//! [bgnbd|pareto-nbd|mbgnbd]` (default week, bgnbd)
//! Prints one `name seconds` line per phase and a final `compute_total` line.

use std::collections::HashMap;
use std::time::Instant;

use kesher_analytics::*;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` to Unix seconds.
fn parse_instant(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    let secs = if b.len() >= 19 {
        num(11..13)? * 3600 + num(14..16)? * 60 + num(17..19)?
    } else {
        0
    };
    Some(days * 86_400 + secs)
}

/// "12.34" to 1234 (two decimals).
fn parse_cents(s: &str) -> Option<i64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let w: i64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let f: i64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        2 => frac.parse().ok()?,
        _ => return None,
    };
    Some(w * 100 + if w < 0 { -f } else { f })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: refresh FILE.csv [day|week]")?;
    let unit = match args.get(2).map(String::as_str) {
        Some("day") => PeriodUnit::Day,
        _ => PeriodUnit::Week,
    };

    let t0 = Instant::now();
    let text = std::fs::read_to_string(path)?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split(',').collect();
    let col = |n: &str| header.iter().position(|h| *h == n).ok_or(format!("no column {n}"));
    let (ci, ti, qi, pi, di) = (
        col("customer_id")?,
        col("occurred_at")?,
        col("quantity")?,
        col("unit_price")?,
        col("discount")?,
    );
    // Intern customer ids by first appearance: a file grouped by customer gives ascending keys.
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let mut txs: Vec<Transaction<u32>> = Vec::new();
    for (n, line) in lines.enumerate() {
        let c: Vec<&str> = line.split(',').collect();
        let bad = || format!("line {}: bad row", n + 2);
        let next = ids.len() as u32;
        let customer = *ids.entry(c.get(ci).ok_or_else(bad)?).or_insert(next);
        let qty: i64 = c.get(qi).ok_or_else(bad)?.parse().unwrap_or(1);
        let price = parse_cents(c.get(pi).ok_or_else(bad)?).ok_or_else(bad)?;
        let discount = c.get(di).and_then(|d| parse_cents(d)).unwrap_or(0);
        txs.push(Transaction {
            customer,
            at: parse_instant(c.get(ti).ok_or_else(bad)?).ok_or_else(bad)?,
            amount_minor: qty * price - discount,
            cost_minor: None,
        });
    }
    let load = t0.elapsed().as_secs_f64();
    println!("load_csv {load:.4}");
    println!("transactions {}", txs.len());

    let start = Instant::now();
    let mut t = Instant::now();
    let mut lap = |name: &str| {
        println!("{name} {:.4}", t.elapsed().as_secs_f64());
        t = Instant::now();
    };
    let obs_end = txs.iter().map(|t| t.at).max().ok_or("no transactions")?;
    let cfg = SummaryConfig {
        unit,
        multiplier: 1.0,
        observation_end: obs_end,
        calibration_end: None,
    };
    let summaries = summarize_slice(&txs, &cfg)?;
    lap("summary");
    // Spend in major units, as lifetimes is given it.
    let records: Vec<SummaryRecord> = summaries
        .iter()
        .map(|s| SummaryRecord {
            monetary_value: Some(s.monetary_value / 100.0),
            ..s.record()
        })
        .collect();
    let compressed = compress(&records)?;
    lap("compress");
    let model = args
        .get(3)
        .map(|m| Model::parse(m).ok_or(format!("unknown model {m}")))
        .transpose()?
        .unwrap_or(Model::BgNbd);
    let bg = model.fit(&compressed.rows)?;
    lap("fit_bgnbd");
    let gg = fit_gamma_gamma(&records)?;
    lap("fit_gamma_gamma");
    let opts = ScoreOptions {
        horizon: match unit {
            PeriodUnit::Week => 39.0,
            PeriodUnit::Day => 273.0,
        },
        clv: ClvOptions::lifetimes_default(unit),
    };
    if std::env::var_os("KESHER_BENCH_DETAIL").is_some() {
        let t1 = Instant::now();
        let _ = predict_rows(&bg, &compressed.rows, opts.horizon)?;
        println!("detail_predict_rows {:.4}", t1.elapsed().as_secs_f64());
        let t1 = Instant::now();
        let n: f64 = compressed
            .rows
            .iter()
            .map(|r| {
                discounted_expected_purchases(&bg, f64::from(r.frequency), r.recency, r.t, &opts.clv).unwrap_or(0.0)
            })
            .sum();
        println!("detail_clv_rows_sequential {:.4} {n}", t1.elapsed().as_secs_f64());
        lap("detail_excluded");
    }
    let scores = score_compressed(&bg, Some(&gg.params), &records, &compressed, &opts)?;
    lap("predictions_and_clv");
    println!("compute_total {:.4}", start.elapsed().as_secs_f64());
    let total_clv: f64 = scores.iter().filter_map(|s| s.clv).sum();
    println!("customers {}", summaries.len());
    println!("distinct_rows {}", compressed.rows.len());
    println!(
        "{} {}",
        model.name(),
        bg.params()
            .iter()
            .map(|(k, v)| format!("{k}={v:.4}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "gamma_gamma p={:.4} q={:.4} v={:.4}",
        gg.params.p, gg.params.q, gg.params.v
    );
    println!("total_clv {total_clv:.2}");
    let (f, r, big_t, m) = summaries.iter().fold((0u64, 0.0, 0.0, 0.0), |a, s| {
        (
            a.0 + u64::from(s.frequency),
            a.1 + s.recency,
            a.2 + s.t,
            a.3 + s.monetary_value / 100.0,
        )
    });
    println!("checksum frequency={f} recency={r} T={big_t} monetary={m:.2}");
    Ok(())
}
