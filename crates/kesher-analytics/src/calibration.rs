//! Calibration vs holdout: actual against model-expected holdout purchases by calibration
//! frequency, the cumulative repeat-purchase curve, and a model-selection summary.

use rayon::prelude::*;

use crate::error::{AnalyticsError, Result};
use crate::model::{FittedModel, Model, TransactionModel};
use crate::summary::{HoldoutSummary, SummaryRecord};

/// One line of the holdout table: customers with `frequency` repeat purchases in the
/// calibration period (the last line holds `frequency` or more).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutRow {
    pub frequency: u32,
    pub customers: u64,
    /// Mean repeat purchases in the holdout, observed.
    pub actual: f64,
    /// Mean repeat purchases in the holdout, expected by the model.
    pub expected: f64,
}

fn expected_holdout(model: &dyn TransactionModel, customers: &[(SummaryRecord, HoldoutSummary)]) -> Result<Vec<f64>> {
    if customers.is_empty() {
        return Err(AnalyticsError::NoData);
    }
    customers
        .par_iter()
        .map(|(r, h)| model.expected_purchases(h.duration, f64::from(r.frequency), r.recency, r.t))
        .collect()
}

/// The holdout table by calibration frequency 0..=`max_frequency` (the last line is
/// "`max_frequency` or more"; lifetimes' plot uses 7).
pub fn holdout_table(
    model: &dyn TransactionModel,
    customers: &[(SummaryRecord, HoldoutSummary)],
    max_frequency: u32,
) -> Result<Vec<HoldoutRow>> {
    let expected = expected_holdout(model, customers)?;
    let k = max_frequency as usize + 1;
    let mut n = vec![0u64; k];
    let mut act = vec![0.0; k];
    let mut exp = vec![0.0; k];
    for ((r, h), e) in customers.iter().zip(&expected) {
        let b = r.frequency.min(max_frequency) as usize;
        n[b] += 1;
        act[b] += f64::from(h.frequency);
        exp[b] += e;
    }
    Ok((0..k)
        .filter(|&b| n[b] > 0)
        .map(|b| HoldoutRow {
            frequency: b as u32,
            customers: n[b],
            actual: act[b] / n[b] as f64,
            expected: exp[b] / n[b] as f64,
        })
        .collect())
}

/// Expected cumulative repeat purchases of a cohort at each time in `at`, given each
/// customer's first-purchase time (all in model units from the same origin).
pub fn expected_cumulative_repeats(
    model: &dyn TransactionModel,
    first_purchases: &[f64],
    at: &[f64],
) -> Result<Vec<f64>> {
    let mut firsts: Vec<f64> = first_purchases.to_vec();
    firsts.sort_by(f64::total_cmp);
    // Distinct first-purchase times with counts.
    let mut groups: Vec<(f64, f64)> = Vec::new();
    for f in firsts {
        match groups.last_mut() {
            Some((v, c)) if *v == f => *c += 1.0,
            _ => groups.push((f, 1.0)),
        }
    }
    at.par_iter()
        .map(|&t| {
            groups
                .iter()
                .filter(|(f, _)| *f < t)
                .map(|&(f, c)| Ok(c * model.expected_purchases_new(t - f)?))
                .sum::<Result<f64>>()
        })
        .collect()
}

/// Observed cumulative repeat purchases at each time in `at`, from the times of the repeat
/// purchases.
pub fn actual_cumulative_repeats(repeat_times: &[f64], at: &[f64]) -> Vec<f64> {
    let mut times = repeat_times.to_vec();
    times.sort_by(f64::total_cmp);
    at.iter().map(|&t| times.partition_point(|&x| x <= t) as f64).collect()
}

/// How a fitted model does in and out of sample.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAssessment {
    pub model: Model,
    pub params: Vec<(&'static str, f64)>,
    pub log_likelihood: f64,
    pub aic: f64,
    pub bic: f64,
    /// Mean over customers of |actual − expected| holdout purchases.
    pub holdout_mae: f64,
    pub holdout_actual_total: f64,
    pub holdout_expected_total: f64,
}

/// Log-likelihood, AIC, BIC and holdout error of each fitted model, best AIC first.
pub fn assess_models(
    fits: &[FittedModel],
    customers: &[(SummaryRecord, HoldoutSummary)],
) -> Result<Vec<ModelAssessment>> {
    let mut out = Vec::with_capacity(fits.len());
    for fit in fits {
        let expected = expected_holdout(fit, customers)?;
        let mut abs = 0.0;
        let mut act_total = 0.0;
        let mut exp_total = 0.0;
        for ((_, h), e) in customers.iter().zip(&expected) {
            let a = f64::from(h.frequency);
            abs += (a - e).abs();
            act_total += a;
            exp_total += e;
        }
        out.push(ModelAssessment {
            model: fit.model(),
            params: fit.params(),
            log_likelihood: fit.fit_log_likelihood(),
            aic: fit.aic(),
            bic: fit.bic(),
            holdout_mae: abs / customers.len() as f64,
            holdout_actual_total: act_total,
            holdout_expected_total: exp_total,
        });
    }
    out.sort_by(|a, b| a.aic.total_cmp(&b.aic));
    Ok(out)
}
