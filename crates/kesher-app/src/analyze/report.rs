//! The analytics page's stored figures (`kesher_analytics::report::Report`), built at the end of
//! each refresh from what it computed — the fits, the scores' RFM codes and tiers — plus two
//! checks it runs on the sales it has already read: the purchase model fitted on all but the last
//! quarter of the observed span and compared with what customers did in that quarter, and the
//! strongest basket rules with their products' names. Kept as one JSON row in the settings table
//! (`report.analytics`), so that the page reads one row instead of a million. A refresh run as a
//! job also records the step it is at (`report.analytics.progress`) for the page to show.

use super::{AnalyzeError, CalibrationReport, FitLimits};
use crate::App;
use crate::baskets::{Level, Scope};
use kesher_analytics::report::{
    self, Attempt, BasketFigures, CumulativePoint, Holdout, HoldoutCell, Item, ModelFit, Report, RfmCell,
};
use kesher_analytics::{
    CustomerSummary, FitBudget, FittedModel, Model, PeriodUnit, SummaryConfig, SummaryRecord, Transaction as Purchase,
    TransactionModel, compress, summarize_slice_reporting,
};
use kesher_core::CustomerId;
use kesher_store::{Lock, Result, StoreError};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// The settings key the page's figures are stored under.
pub const KEY: &str = "report.analytics";
/// The settings key of the running refresh's step.
pub const PROGRESS_KEY: &str = "report.analytics.progress";
/// Basket rules kept for the page.
pub const RULES_SHOWN: usize = 20;
/// The thresholds the page's rules are mined with: those of `GET /api/baskets/rules` by default.
pub const RULES_MIN_SUPPORT: f64 = 0.01;
pub const RULES_MIN_CONFIDENCE: f64 = 0.3;
pub const RULES_MAX_LEN: usize = 3;

/// Every step a refresh reports, in order (a run may skip some: the database's own summary has
/// no separate summarising step, the backfill runs only when asked).
pub const STEPS: &[&str] = &[
    "reading sales",
    "summarising customers",
    "fitting the spend model",
    "fitting the purchase model",
    "scoring customers",
    "storing results",
    "checking the model on a holdout",
    "mining basket rules",
    "backfilling the stage history",
    "refreshing the saved segments",
];

/// The step a running refresh is at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressRow {
    /// The job running the refresh.
    pub job: Option<String>,
    pub step: String,
    /// 1-based position of the step in [`STEPS`].
    pub step_no: u32,
    pub steps: u32,
    pub started_at: String,
    pub updated_at: String,
}

impl App {
    /// Record that the refresh run by `job` begins `step` (what the analytics page shows while
    /// it runs). A failure to write it does not stop the refresh.
    pub(crate) fn note_analyze_step(&self, job: &str, started_at: jiff::Timestamp, step: &'static str) {
        let step_no = STEPS.iter().position(|s| *s == step).map_or(0, |i| i + 1);
        let row = ProgressRow {
            job: Some(job.to_string()),
            step: step.to_string(),
            step_no: step_no as u32,
            steps: STEPS.len() as u32,
            started_at: started_at.to_string(),
            updated_at: self.now().to_string(),
        };
        let write = || -> Result<()> {
            let json = serde_json::to_string(&row).map_err(|e| StoreError::Backend(e.to_string()))?;
            let mut tx = self.store.begin(Lock::Writes)?;
            tx.put_setting_row(PROGRESS_KEY, &json)?;
            tx.commit()
        };
        // The page then shows the previous step a little longer; the refresh itself goes on.
        let _ = write();
    }

    /// The step the latest refresh run as a job recorded; `None` when none did.
    pub fn analyze_progress(&self) -> Result<Option<ProgressRow>> {
        Ok(self
            .store
            .get_setting(PROGRESS_KEY)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// The analytics page's figures of the latest refresh; `None` before the first.
    pub fn analytics_report(&self) -> Result<Option<Report>> {
        let Some(json) = self.store.get_setting(KEY)? else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| StoreError::Backend(format!("the stored analytics report does not read: {e}")))
    }

    pub(crate) fn store_analytics_report(&self, r: &Report) -> Result<()> {
        let json = serde_json::to_string(r).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut tx = self.store.begin(Lock::Writes)?;
        tx.put_setting_row(KEY, &json)?;
        tx.commit()
    }

    /// The holdout check of a refresh: on the sales it read (`txs`, grouped by customer), or,
    /// when the database summarised them itself, on its summary with a calibration end (then
    /// without the cumulative curve, which needs each repeat purchase's time). `Err` with the
    /// reason when it cannot be made (too short a history, a model that cannot be fitted).
    pub(crate) fn holdout_of_refresh(
        &self,
        txs: &[Purchase<CustomerId>],
        first_purchase: i64,
        as_of: jiff::Timestamp,
        unit: PeriodUnit,
        model: Model,
        limits: &FitLimits,
    ) -> std::result::Result<Holdout, String> {
        let end = as_of.as_second();
        let periods = report::holdout_periods(unit.period_of(first_purchase), unit.period_of(end))
            .ok_or_else(|| "the sales span fewer than four periods: no holdout to check the model on".to_string())?;
        let seconds_per_period: i64 = match unit {
            PeriodUnit::Week => 7 * 86_400,
            PeriodUnit::Day => 86_400,
        };
        let cal = end - i64::from(periods) * seconds_per_period;
        let r = if txs.is_empty() {
            let cfg = SummaryConfig {
                unit,
                multiplier: 1.0,
                observation_end: end,
                calibration_end: Some(cal),
            };
            let summaries = self
                .pushed_down_summary(&cfg)
                .map_err(|e| e.to_string())?
                .map(|s| s.customers)
                .unwrap_or_default();
            calibration_of_summaries(&summaries, model, limits)
        } else {
            calibration_of(txs, cal, end, unit, model, limits)
        }
        .map_err(|e| e.to_string())?;
        let at = |s: i64| jiff::Timestamp::from_second(s).map_or_else(|_| s.to_string(), |t| t.to_string());
        Ok(Holdout {
            calibration_end: at(cal),
            end: at(end),
            periods,
            model: r.model.to_string(),
            params: r.params.iter().map(|(k, v)| ((*k).to_string(), *v)).collect(),
            customers: r.customers as u64,
            table: r
                .table
                .iter()
                .map(|&(frequency, customers, actual, expected)| HoldoutCell {
                    frequency,
                    customers,
                    actual,
                    expected,
                })
                .collect(),
            cumulative: r
                .cumulative
                .iter()
                .map(|&(period, actual, expected)| CumulativePoint {
                    period,
                    actual,
                    expected,
                })
                .collect(),
            models: r
                .models
                .iter()
                .map(|&(m, log_likelihood, aic, bic, holdout_mae)| ModelFit {
                    model: m.to_string(),
                    log_likelihood,
                    aic,
                    bic,
                    holdout_mae,
                })
                .collect(),
        })
    }

    /// The strongest product rules over the sales up to `as_of`, with the products' names, mined
    /// with the thresholds `GET /api/baskets/rules` uses by default.
    pub(crate) fn basket_figures(&self, as_of: jiff::Timestamp) -> std::result::Result<BasketFigures, String> {
        let mut params = kesher_baskets::MineParams::new(RULES_MIN_SUPPORT);
        params.min_confidence = RULES_MIN_CONFIDENCE;
        params.max_len = Some(RULES_MAX_LEN);
        let scope = Scope {
            until: as_of.checked_add(jiff::SignedDuration::from_secs(1)).ok(),
            ..Scope::default()
        };
        let mined = self
            .basket_rules(Level::Product, &scope, &params)
            .map_err(|e| e.to_string())?;
        let names: std::collections::HashMap<String, String> = self
            .all_products()
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|p| (p.sku, p.name))
            .collect();
        let items = |ids: &[u32]| -> Vec<Item> {
            ids.iter()
                .map(|&i| {
                    let sku = mined.item_name(i).to_string();
                    let name = names.get(&sku).cloned();
                    Item { sku, name }
                })
                .collect()
        };
        Ok(BasketFigures {
            baskets: mined.baskets as u64,
            rules_total: mined.rules.len() as u64,
            min_support: RULES_MIN_SUPPORT,
            min_confidence: RULES_MIN_CONFIDENCE,
            rules: mined
                .rules
                .iter()
                .take(RULES_SHOWN)
                .map(|r| report::RuleRow {
                    antecedents: items(&r.antecedents),
                    consequents: items(&r.consequents),
                    support: r.support,
                    confidence: r.confidence,
                    lift: r.lift,
                })
                .collect(),
        })
    }
}

/// The RFM grid of the scored customers.
pub(crate) fn rfm_of(rows: &[kesher_store::CustomerScore]) -> Vec<RfmCell> {
    report::rfm_cells(rows.iter().filter_map(|r| r.rfm.as_deref().map(|c| (c, r.revenue))))
}

/// The fits a refresh tried, as the page lists them.
pub(crate) fn attempts_of(attempts: &[super::FitAttempt]) -> Vec<Attempt> {
    attempts
        .iter()
        .map(|a| Attempt {
            model: a.model.to_string(),
            outcome: a.outcome.name().to_string(),
            log_likelihood: a.log_likelihood,
            iterations: a.iterations as u64,
            seconds: a.seconds,
        })
        .collect()
}

/// The models fitted on the calibration window of `summaries` (each within its share of
/// `limits`), `model`'s holdout table, and every model's fit and holdout error.
fn holdout_fits(
    summaries: &[CustomerSummary<CustomerId>],
    model: Model,
    limits: &FitLimits,
) -> std::result::Result<(FittedModel, CalibrationReport), AnalyzeError> {
    let pairs: Vec<(SummaryRecord, kesher_analytics::HoldoutSummary)> = summaries
        .iter()
        .filter_map(|s| s.holdout.map(|h| (s.record(), h)))
        .collect();
    let records: Vec<SummaryRecord> = pairs.iter().map(|p| p.0).collect();
    let compressed = compress(&records)?;
    let share = limits.wall_clock / 3;
    let within = |m: Model| {
        let t = Instant::now();
        let deadline = move || t.elapsed() >= share;
        m.fit_within(
            &compressed.rows,
            &FitBudget::iterations(limits.iterations_per_fit).with_deadline(&deadline),
        )
    };
    let mut fits = Vec::new();
    let mut chosen = None;
    for m in [Model::BgNbd, Model::ParetoNbd, Model::ModifiedBgNbd] {
        match within(m) {
            Ok(f) => fits.push(f),
            Err(e) if m == model => chosen = Some(e),
            Err(_) => {}
        }
    }
    let chosen = match (fits.iter().find(|f| f.model() == model).cloned(), chosen) {
        (Some(f), _) => f,
        (None, Some(e)) => return Err(e.into()),
        (None, None) => within(model)?,
    };
    let table = kesher_analytics::holdout_table(&chosen, &pairs, 7)?
        .into_iter()
        .map(|r| (r.frequency, r.customers, r.actual, r.expected))
        .collect();
    let models = kesher_analytics::assess_models(&fits, &pairs)?
        .into_iter()
        .map(|a| (a.model.name(), a.log_likelihood, a.aic, a.bic, a.holdout_mae))
        .collect();
    let report = CalibrationReport {
        model: model.name(),
        params: chosen.params(),
        table,
        cumulative: Vec::new(),
        models,
        customers: pairs.len(),
    };
    Ok((chosen, report))
}

fn calibration_of_summaries(
    summaries: &[CustomerSummary<CustomerId>],
    model: Model,
    limits: &FitLimits,
) -> std::result::Result<CalibrationReport, AnalyzeError> {
    holdout_fits(summaries, model, limits).map(|(_, r)| r)
}

/// The calibration-vs-holdout report over `txs` (sales up to `end`, grouped by customer in any
/// order within a customer): the models fitted on the sales up to `cal`, compared with what the
/// customers of that window did up to `end`.
pub(crate) fn calibration_of(
    txs: &[Purchase<CustomerId>],
    cal: i64,
    end: i64,
    unit: PeriodUnit,
    model: Model,
    limits: &FitLimits,
) -> std::result::Result<CalibrationReport, AnalyzeError> {
    // Each customer's distinct purchase periods: the first, then the repeats, of the customers
    // who first bought by `cal` (the calibration cohort).
    let mut firsts: Vec<i64> = Vec::new();
    let mut repeats: Vec<i64> = Vec::new();
    let mut periods: Vec<i64> = Vec::new();
    let mut i = 0;
    while i < txs.len() {
        let c = txs[i].customer;
        periods.clear();
        let mut earliest = i64::MAX;
        while i < txs.len() && txs[i].customer == c {
            earliest = earliest.min(txs[i].at);
            periods.push(unit.period_of(txs[i].at));
            i += 1;
        }
        if earliest <= cal {
            periods.sort_unstable();
            periods.dedup();
            if let Some((first, rest)) = periods.split_first() {
                firsts.push(*first);
                repeats.extend_from_slice(rest);
            }
        }
    }
    let origin = firsts.iter().copied().min().unwrap_or(0);
    let cfg = SummaryConfig {
        unit,
        multiplier: 1.0,
        observation_end: end,
        calibration_end: Some(cal),
    };
    // Customers whose figures cannot be represented are left out, as in `analyze`.
    let summaries = summarize_slice_reporting(txs, &cfg)?.customers;
    let (chosen, mut report) = holdout_fits(&summaries, model, limits)?;
    let span = (unit.period_of(end) - origin).max(1);
    let step = (span / 40).max(1);
    let at: Vec<f64> = (0..=span).step_by(step as usize).map(|t| t as f64).collect();
    let first_f: Vec<f64> = firsts.iter().map(|f| (f - origin) as f64).collect();
    let rep_f: Vec<f64> = repeats.iter().map(|r| (r - origin) as f64).collect();
    let expected = kesher_analytics::expected_cumulative_repeats(&chosen, &first_f, &at)?;
    let actual = kesher_analytics::actual_cumulative_repeats(&rep_f, &at);
    report.cumulative = at
        .iter()
        .zip(actual)
        .zip(expected)
        .map(|((t, a), e)| (*t, a, e))
        .collect();
    Ok(report)
}
