//! The analytics page's figures, computed once by the analytics refresh and stored, so that the
//! page reads one row instead of a million: the refresh itself (when, how long, the model and
//! its parameters, every model tried), the calibration-vs-holdout check, the RFM grid with each
//! cell's customers and mean revenue, the value tiers and the strongest basket rules with their
//! products' names.

use crate::dashboard::TierFigures;
use serde::{Deserialize, Serialize};

/// Everything the analytics page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The instant the analysis describes (RFC 3339).
    pub as_of: String,
    /// When the refresh ran, and how long it took in seconds.
    pub ran_at: String,
    pub seconds: f64,
    /// `week` or `day`: the period the models count in.
    pub unit: String,
    pub customers: u64,
    pub buyers: u64,
    pub transactions: u64,
    pub currency: Option<String>,
    /// The purchase model used (`none` when none could be fitted), its parameters and fit.
    pub model: String,
    pub params: Vec<(String, f64)>,
    pub log_likelihood: Option<f64>,
    pub model_note: Option<String>,
    /// Gamma-Gamma p, q, v when it could be fitted.
    pub spend_params: Option<Vec<(String, f64)>>,
    /// Every fit the refresh tried, in order.
    pub attempts: Vec<Attempt>,
    /// The calibration-vs-holdout check; `None` with `holdout_note` saying why.
    pub holdout: Option<Holdout>,
    pub holdout_note: Option<String>,
    /// 25 cells, recency score 5 (most recent) first, then frequency score 1 to 5.
    pub rfm: Vec<RfmCell>,
    /// `clv` or `revenue`: what the tiers rank by.
    pub tiers_by: String,
    pub tiers: Vec<TierFigures>,
    pub baskets: Option<BasketFigures>,
    pub baskets_note: Option<String>,
}

/// One model fit the refresh tried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub model: String,
    /// `converged`, `budget_exhausted`, `not_identifiable` or `failed`.
    pub outcome: String,
    pub log_likelihood: Option<f64>,
    pub iterations: u64,
    pub seconds: f64,
}

/// The purchase model fitted on the sales up to `calibration_end` and compared with what
/// customers did up to `end`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holdout {
    pub calibration_end: String,
    pub end: String,
    /// The holdout's length in the report's periods.
    pub periods: u32,
    pub model: String,
    /// The chosen model's parameters fitted on the calibration window.
    pub params: Vec<(String, f64)>,
    /// Customers of the calibration window.
    pub customers: u64,
    /// By calibration frequency: customers, mean actual and expected holdout repeat purchases.
    pub table: Vec<HoldoutCell>,
    /// Cumulative repeat purchases over time (periods since the first first purchase); empty
    /// when the database summarised the sales itself (the sales were not read).
    pub cumulative: Vec<CumulativePoint>,
    /// Every model fitted on the calibration window, best AIC first.
    pub models: Vec<ModelFit>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldoutCell {
    pub frequency: u32,
    pub customers: u64,
    pub actual: f64,
    pub expected: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CumulativePoint {
    pub period: f64,
    pub actual: f64,
    pub expected: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFit {
    pub model: String,
    pub log_likelihood: f64,
    pub aic: f64,
    pub bic: f64,
    pub holdout_mae: f64,
}

/// One cell of the RFM grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RfmCell {
    /// Recency score 1 (longest ago) to 5 (most recent).
    pub r: u8,
    /// Frequency score 1 (fewest purchases) to 5 (most).
    pub f: u8,
    pub customers: u64,
    /// The cell's mean revenue per customer, minor units, rounded toward zero; 0 when empty.
    pub mean_revenue_minor: i64,
}

/// The basket rules mined over every sale's products.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasketFigures {
    pub baskets: u64,
    pub rules_total: u64,
    /// The thresholds the rules were mined with.
    pub min_support: f64,
    pub min_confidence: f64,
    /// The strongest rules (confidence, then lift, then support).
    pub rules: Vec<RuleRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRow {
    pub antecedents: Vec<Item>,
    pub consequents: Vec<Item>,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
}

/// A product of a rule: its SKU and, when the catalogue knows it, its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub sku: String,
    pub name: Option<String>,
}

/// The RFM grid of customers given as (RFM code such as `"453"`, revenue in minor units):
/// each (R, F) cell's customers and mean revenue. Codes that are not three scores 1–5 are left
/// out. Cells in reading order: recency 5 first, frequency 1 to 5 within it.
pub fn rfm_cells<'a>(customers: impl IntoIterator<Item = (&'a str, i64)>) -> Vec<RfmCell> {
    let mut count = [[0u64; 5]; 5];
    let mut sum = [[0i128; 5]; 5];
    for (code, revenue) in customers {
        let b = code.as_bytes();
        if b.len() != 3 || !b.iter().all(|c| (b'1'..=b'5').contains(c)) {
            continue;
        }
        let (r, f) = (usize::from(b[0] - b'1'), usize::from(b[1] - b'1'));
        count[r][f] += 1;
        sum[r][f] += i128::from(revenue);
    }
    let mut out = Vec::with_capacity(25);
    for r in (0..5).rev() {
        for f in 0..5 {
            let n = count[r][f];
            let mean = if n == 0 { 0 } else { sum[r][f] / i128::from(n) };
            out.push(RfmCell {
                r: r as u8 + 1,
                f: f as u8 + 1,
                customers: n,
                mean_revenue_minor: i64::try_from(mean).unwrap_or(if mean < 0 { i64::MIN } else { i64::MAX }),
            });
        }
    }
    out
}

/// The holdout the refresh checks its model on: the last quarter of the observed span (from the
/// first purchase to the analysis), in whole periods, at least one; `None` when the span is
/// shorter than four periods (nothing would be left to calibrate on).
pub fn holdout_periods(first_purchase_period: i64, end_period: i64) -> Option<u32> {
    let span = end_period.checked_sub(first_purchase_period)?;
    if span < 4 {
        return None;
    }
    u32::try_from(span / 4).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfm_cells_count_and_average_each_cell_and_skip_bad_codes() {
        let cells = rfm_cells([("541", 1000), ("545", 3001), ("111", -50), ("61x", 7), ("", 9)]);
        assert_eq!(cells.len(), 25);
        // Recency 5 first: (5, 1) … (5, 5), then recency 4.
        assert_eq!((cells[0].r, cells[0].f), (5, 1));
        assert_eq!((cells[5].r, cells[5].f), (4, 1));
        let at = |r: u8, f: u8| cells.iter().find(|c| c.r == r && c.f == f).copied().unwrap();
        assert_eq!(at(5, 4).customers, 2);
        // (1000 + 3001) / 2, rounded toward zero.
        assert_eq!(at(5, 4).mean_revenue_minor, 2000);
        assert_eq!(at(1, 1).customers, 1);
        assert_eq!(at(1, 1).mean_revenue_minor, -50);
        assert_eq!(at(3, 3).customers, 0);
        assert_eq!(at(3, 3).mean_revenue_minor, 0);
        assert_eq!(cells.iter().map(|c| c.customers).sum::<u64>(), 3);
    }

    #[test]
    fn rfm_cells_agree_with_the_grid_of_scores() {
        let scores = [
            crate::RfmScore { r: 2, f: 3, m: 1 },
            crate::RfmScore { r: 2, f: 3, m: 5 },
            crate::RfmScore { r: 5, f: 1, m: 2 },
        ];
        let grid = crate::rfm_grid(&scores);
        let codes: Vec<&str> = scores.iter().filter_map(|s| s.code()).collect();
        let cells = rfm_cells(codes.iter().map(|c| (*c, 100)));
        for c in &cells {
            assert_eq!(c.customers, grid[usize::from(c.r) - 1][usize::from(c.f) - 1]);
        }
    }

    #[test]
    fn the_holdout_is_the_last_quarter_of_the_span() {
        assert_eq!(holdout_periods(0, 104), Some(26));
        assert_eq!(holdout_periods(10, 17), Some(1));
        assert_eq!(holdout_periods(10, 13), None);
        assert_eq!(holdout_periods(10, 5), None);
    }

    #[test]
    fn a_report_reads_back_what_was_stored() {
        let r = Report {
            as_of: "2025-06-30T23:59:59Z".into(),
            ran_at: "2025-07-01T00:00:00Z".into(),
            seconds: 1.5,
            unit: "week".into(),
            customers: 3,
            buyers: 2,
            transactions: 5,
            currency: Some("ILS".into()),
            model: "bgnbd".into(),
            params: vec![("r".into(), 0.25)],
            log_likelihood: Some(-10.0),
            model_note: None,
            spend_params: None,
            attempts: Vec::new(),
            holdout: None,
            holdout_note: Some("too short".into()),
            rfm: rfm_cells([("555", 1)]),
            tiers_by: "clv".into(),
            tiers: Vec::new(),
            baskets: None,
            baskets_note: None,
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Report>(&json).unwrap(), r);
    }
}
