//! The CDNOW summary rebuilt from the raw CDNOW_sample.txt transactions.

use kesher_analytics::*;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn date(s: &str) -> i64 {
    let n: i64 = s.parse().unwrap();
    days_from_civil(n / 10_000, n / 100 % 100, n % 100) * 86_400
}

pub fn cdnow_transactions() -> Vec<Transaction<u32>> {
    let mut v: Vec<Transaction<u32>> = include_str!("../fixtures/CDNOW_sample.txt")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            let dollars: f64 = c[4].parse().unwrap();
            Transaction {
                customer: c[1].parse().unwrap(),
                at: date(c[2]),
                amount_minor: (dollars * 100.0).round() as i64,
                cost_minor: None,
            }
        })
        .collect();
    v.sort_by_key(|t| t.customer);
    v
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[test]
fn civil_dates() {
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(days_from_civil(1997, 9, 30), 10_134);
    assert_eq!(days_from_civil(2000, 3, 1), 11_017);
}

#[test]
fn cdnow_summary_from_transactions_equals_published_summary() {
    let cfg = SummaryConfig {
        unit: PeriodUnit::Day,
        multiplier: 7.0,
        observation_end: date("19980630"),
        calibration_end: Some(date("19970930")),
    };
    let s = summarize(cdnow_transactions(), &cfg).unwrap();
    let want = parse_summary_csv(include_str!("../fixtures/cdnow_customers_summary.csv")).unwrap();
    let spend = parse_summary_csv(include_str!(
        "../fixtures/cdnow_customers_summary_with_transactions.csv"
    ))
    .unwrap();
    assert_eq!(s.len(), 2357);
    assert_eq!(want.len(), 2357);
    for (i, (got, w)) in s.iter().zip(&want).enumerate() {
        assert_eq!(got.customer as usize, i + 1);
        assert_eq!(got.frequency, w.frequency, "customer {}", i + 1);
        assert_eq!(round2(got.recency), w.recency, "customer {}", i + 1);
        assert_eq!(round2(got.t), w.t, "customer {}", i + 1);
        let zbar = spend[i].monetary_value.unwrap();
        assert!(
            (got.monetary_value / 100.0 - zbar).abs() <= 0.005 + 1e-9,
            "customer {}: {} vs {zbar}",
            i + 1,
            got.monetary_value / 100.0
        );
        let h = got.holdout.unwrap();
        assert_eq!(h.duration, 273.0 / 7.0);
    }
    let repeaters = s.iter().filter(|c| c.frequency > 0).count();
    assert_eq!(repeaters, 946);
}
