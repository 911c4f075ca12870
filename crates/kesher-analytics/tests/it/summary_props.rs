//! Summary invariants on random transaction logs, and the parallel summary equal to the
//! streaming one.

use kesher_analytics::*;
use proptest::prelude::*;

fn config(unit: PeriodUnit, cal: bool) -> SummaryConfig {
    SummaryConfig {
        unit,
        multiplier: 1.0,
        observation_end: 400 * 86_400,
        calibration_end: cal.then_some(200 * 86_400),
    }
}

proptest! {
    #[test]
    fn summary_invariants(
        mut txs in proptest::collection::vec((0u32..50, 0i64..500 * 86_400, 1i64..100_000), 1..300),
        week in any::<bool>(),
        cal in any::<bool>(),
    ) {
        let unit = if week { PeriodUnit::Week } else { PeriodUnit::Day };
        let cfg = config(unit, cal);
        let to_tx = |&(c, at, a): &(u32, i64, i64)| Transaction { customer: c, at, amount_minor: a, cost_minor: (a % 3 != 0).then_some(a / 2) };
        // Read in any order and grouped in memory: the same summary as sorted input.
        let mut grouped: Vec<Transaction<u32>> = txs.iter().map(to_tx).collect();
        group_by_customer(&mut grouped);
        txs.sort_by_key(|t| t.0);
        let txs: Vec<Transaction<u32>> = txs.iter().map(to_tx).collect();
        let s = summarize(txs.iter().copied(), &cfg).unwrap();
        prop_assert_eq!(&s, &summarize_slice(&txs, &cfg).unwrap());
        prop_assert_eq!(&s, &summarize_slice(&grouped, &cfg).unwrap());
        for c in &s {
            prop_assert!(c.recency >= 0.0 && c.recency <= c.t);
            prop_assert!(c.frequency < c.visits);
            prop_assert!(c.frequency > 0 || c.recency == 0.0);
            prop_assert!(c.first_purchase <= c.last_purchase);
            prop_assert!((c.frequency == 0) == (c.monetary_value == 0.0));
            prop_assert!(c.monetary_value <= c.total_revenue_minor as f64);
            prop_assert_eq!(c.holdout.is_some(), cal);
        }
        let records: Vec<SummaryRecord> = s.iter().map(CustomerSummary::record).collect();
        if records.is_empty() {
            // Every purchase fell after the window.
            prop_assert_eq!(compress(&records), Err(AnalyticsError::NoData));
            return Ok(());
        }
        let comp = compress(&records).unwrap();
        prop_assert_eq!(comp.rows.iter().map(|r| r.count).sum::<u64>(), records.len() as u64);
        for (r, &i) in records.iter().zip(&comp.row_of) {
            let row = comp.rows[i as usize];
            prop_assert_eq!((row.frequency, row.recency, row.t), (r.frequency, r.recency, r.t));
        }
    }
}

#[test]
fn parallel_summary_equals_streaming_on_a_large_log() {
    // 300,000 transactions: several pieces for the parallel path.
    let mut state = 12_345u64;
    let mut next = || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        state >> 33
    };
    let mut txs: Vec<Transaction<u64>> = (0..300_000)
        .map(|_| Transaction {
            customer: next() % 40_000,
            at: (next() % (400 * 86_400)) as i64,
            amount_minor: (next() % 10_000) as i64 + 1,
            cost_minor: None,
        })
        .collect();
    txs.sort_by_key(|t| t.customer);
    let cfg = config(PeriodUnit::Week, true);
    let a = summarize(txs.iter().copied(), &cfg).unwrap();
    let b = summarize_slice(&txs, &cfg).unwrap();
    assert_eq!(a, b);
    txs.swap(0, 299_999);
    assert!(matches!(
        summarize_slice(&txs, &cfg),
        Err(AnalyticsError::Unsorted { .. })
    ));
}
