//! Customer lifetime value (lifetimes' `customer_lifetime_value`: monthly steps, discounted
//! monthly) and per-customer scores computed once per distinct row and in parallel.

use rayon::prelude::*;

use crate::error::{AnalyticsError, Result};
use crate::gamma_gamma::GammaGamma;
use crate::model::TransactionModel;
use crate::summary::{Compressed, PeriodUnit, SummaryRecord, compress};

/// CLV settings. `periods_per_month` converts months to model time units (lifetimes uses
/// 4.345 weeks or 30 days a month).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvOptions {
    pub months: u32,
    pub monthly_discount_rate: f64,
    /// Share of spend that is profit (1.0 = revenue).
    pub margin: f64,
    pub periods_per_month: f64,
}

impl ClvOptions {
    /// lifetimes' defaults (12 months, 1 % a month, margin 1) for a model in `unit`s.
    pub fn lifetimes_default(unit: PeriodUnit) -> Self {
        ClvOptions {
            months: 12,
            monthly_discount_rate: 0.01,
            margin: 1.0,
            periods_per_month: match unit {
                PeriodUnit::Day => 30.0,
                PeriodUnit::Week => 4.345,
            },
        }
    }

    fn check(&self) -> Result<()> {
        let bad = |name, reason: &str| {
            Err(AnalyticsError::InvalidArgument {
                name,
                reason: reason.into(),
            })
        };
        if !(self.monthly_discount_rate.is_finite() && self.monthly_discount_rate > -1.0) {
            return bad("monthly_discount_rate", "must be a finite number > -1");
        }
        if !(self.margin.is_finite() && self.margin >= 0.0) {
            return bad("margin", "must be a finite number ≥ 0");
        }
        if !(self.periods_per_month.is_finite() && self.periods_per_month > 0.0) {
            return bad("periods_per_month", "must be a positive number");
        }
        Ok(())
    }
}

/// Σ over months i of (E[purchases to i] − E[purchases to i−1]) / (1 + d)^i: the discounted
/// expected purchases that CLV multiplies by spend and margin.
pub fn discounted_expected_purchases(
    model: &dyn TransactionModel,
    x: f64,
    t_x: f64,
    t: f64,
    opts: &ClvOptions,
) -> Result<f64> {
    opts.check()?;
    let f = opts.periods_per_month;
    let mut total = 0.0;
    let mut prev = 0.0;
    for step in 1..=opts.months {
        let i = f64::from(step) * f;
        let cur = model.expected_purchases(i, x, t_x, t)?;
        total += (cur - prev) / (1.0 + opts.monthly_discount_rate).powf(f64::from(step));
        prev = cur;
    }
    Ok(total)
}

/// One customer's CLV: margin × Gamma-Gamma expected spend × discounted expected purchases.
pub fn customer_lifetime_value(
    model: &dyn TransactionModel,
    spend: &GammaGamma,
    record: &SummaryRecord,
    opts: &ClvOptions,
) -> Result<f64> {
    let x = f64::from(record.frequency);
    let s = spend.expected_average_spend(x, record.monetary_value.unwrap_or(0.0))?;
    let d = discounted_expected_purchases(model, x, record.recency, record.t, opts)?;
    Ok(opts.margin * s * d)
}

/// What to score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreOptions {
    /// Horizon for expected purchases, in model time units.
    pub horizon: f64,
    pub clv: ClvOptions,
}

/// One customer's scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerScore {
    pub expected_purchases: f64,
    pub probability_alive: f64,
    /// Present when a spend model was given.
    pub expected_spend: Option<f64>,
    /// Present when a spend model was given.
    pub clv: Option<f64>,
}

/// Scores every customer: the purchase model is evaluated once per distinct
/// (frequency, recency, T) and in parallel, then spread to the customers.
pub fn score_customers(
    model: &dyn TransactionModel,
    spend: Option<&GammaGamma>,
    records: &[SummaryRecord],
    opts: &ScoreOptions,
) -> Result<Vec<CustomerScore>> {
    let c = compress(records)?;
    score_compressed(model, spend, records, &c, opts)
}

/// As [`score_customers`] with the records already compressed by [`compress`] (saves a pass
/// when the caller fitted on the same rows).
pub fn score_compressed(
    model: &dyn TransactionModel,
    spend: Option<&GammaGamma>,
    records: &[SummaryRecord],
    c: &Compressed,
    opts: &ScoreOptions,
) -> Result<Vec<CustomerScore>> {
    opts.clv.check()?;
    if c.row_of.len() != records.len() {
        return Err(AnalyticsError::InvalidArgument {
            name: "compressed",
            reason: "was not built from these records".into(),
        });
    }
    let per_row: Vec<(f64, f64, f64)> = c
        .rows
        .par_iter()
        .map(|r| {
            let x = f64::from(r.frequency);
            let e = model.expected_purchases(opts.horizon, x, r.recency, r.t)?;
            let pa = model.probability_alive(x, r.recency, r.t)?;
            let d = if spend.is_some() {
                discounted_expected_purchases(model, x, r.recency, r.t, &opts.clv)?
            } else {
                0.0
            };
            Ok((e, pa, d))
        })
        .collect::<Result<_>>()?;
    // Validate once so that the per-customer pass below cannot fail and collects straight
    // into an indexed vector.
    let weights = match spend {
        Some(gg) => {
            let pop = gg.population_mean()?;
            if let Some(i) = records
                .par_iter()
                .position_any(|r| r.frequency > 0 && !r.monetary_value.is_some_and(f64::is_finite))
            {
                return Err(AnalyticsError::Invalid {
                    line: i + 1,
                    column: 4,
                    field: "monetary_value".into(),
                    reason: "a finite number is required for a customer with repeat purchases".into(),
                });
            }
            Some((gg.p, gg.q, pop))
        }
        None => None,
    };
    if c.row_of.iter().any(|&ri| ri as usize >= per_row.len()) {
        return Err(AnalyticsError::InvalidArgument {
            name: "compressed",
            reason: "row index out of range".into(),
        });
    }
    let margin = opts.clv.margin;
    let scores: Vec<CustomerScore> = records
        .par_iter()
        .zip(c.row_of.par_iter())
        .map(|(rec, &ri)| {
            let (e, pa, d) = per_row[ri as usize];
            let (expected_spend, clv) = match weights {
                Some((p, q, pop)) => {
                    let x = f64::from(rec.frequency);
                    let s = if rec.frequency == 0 {
                        pop
                    } else {
                        let w = p * x / (p * x + q - 1.0);
                        // As GammaGamma::expected_average_spend: a negative mean counts as 0.
                        (1.0 - w) * pop + w * rec.monetary_value.unwrap_or(pop).max(0.0)
                    };
                    (Some(s), Some(margin * s * d))
                }
                None => (None, None),
            };
            CustomerScore {
                expected_purchases: e,
                probability_alive: pa,
                expected_spend,
                clv,
            }
        })
        .collect();
    if scores
        .par_iter()
        .any(|s| s.expected_spend.is_some_and(|v| !v.is_finite()) || s.clv.is_some_and(|v| !v.is_finite()))
    {
        return Err(AnalyticsError::Numerical {
            what: "customer scores",
        });
    }
    Ok(scores)
}
