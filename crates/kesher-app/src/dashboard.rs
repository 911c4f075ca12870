//! The dashboard's stored figures: built at the end of each analytics refresh from what it has
//! just computed (scores, stages, the sales it read) and kept as one JSON row in the settings
//! table (`report.dashboard`), so that the dashboard page reads one row instead of a million.

use crate::App;
use kesher_analytics::Transaction as Purchase;
use kesher_analytics::dashboard::{self, Cohort, Flow, Snapshot, StageFigures, TierFigures};
use kesher_core::CustomerId;
use kesher_store::{CustomerScore, Lock, Result, StoreError};

/// The settings key the snapshot is stored under.
pub const KEY: &str = "report.dashboard";
/// Monthly cohorts shown.
pub const COHORT_MONTHS: usize = 18;
/// Classes of the CLV distribution.
pub const CLV_CLASSES: usize = 12;

/// What the refresh hands over to the snapshot.
pub(crate) struct Inputs<'a> {
    pub as_of: jiff::Timestamp,
    pub zone: jiff::tz::TimeZone,
    pub currency: Option<String>,
    pub model: &'a str,
    /// Scored buyers (and prospects with a row of their own).
    pub rows: &'a [CustomerScore],
    /// Prospects without a row.
    pub implicit_prospects: u64,
    /// The value each buyer is ranked by (CLV, or revenue without a model), for the curve.
    pub value: &'a [f64],
    pub tiers: Vec<(&'static str, usize, f64)>,
    /// The sales read, grouped by customer; empty when the database summarised them itself.
    pub purchases: &'a [Purchase<CustomerId>],
}

/// The first instant of each of the `n` months up to and including the one holding `as_of`, in
/// `zone`, oldest first, with their names ("2026-03").
fn month_starts(as_of: jiff::Timestamp, zone: &jiff::tz::TimeZone, n: usize) -> Vec<(i64, String)> {
    let mut out = Vec::with_capacity(n);
    let mut first = as_of.to_zoned(zone.clone()).date().first_of_month();
    for _ in 0..n {
        let start = first
            .to_zoned(zone.clone())
            .map(|z| z.timestamp().as_second())
            .unwrap_or(i64::MIN);
        out.push((start, first.strftime("%Y-%m").to_string()));
        match first.checked_sub(jiff::Span::new().months(1)) {
            Ok(d) => first = d,
            Err(_) => break,
        }
    }
    out.reverse();
    out
}

/// The monthly cohorts: from the sales the refresh read, else counted by the database.
fn cohorts(app: &App, i: &Inputs) -> Result<Vec<Cohort>> {
    let starts = month_starts(i.as_of, &i.zone, COHORT_MONTHS);
    // Index 0 holds every purchase before the window, so that a customer who first bought
    // before it is not counted in a cohort inside it.
    let mut names = vec!["before".to_string()];
    names.extend(starts.iter().map(|(_, n)| n.clone()));
    let bounds: Vec<i64> = starts.iter().map(|(s, _)| *s).collect();
    if i.purchases.is_empty() {
        return Ok(match app.store.cohort_counts(&bounds, i.as_of.as_second())? {
            Some(counts) => dashboard::cohorts_from_counts(&counts, &names, COHORT_MONTHS),
            None => Vec::new(),
        });
    }
    let month_index = |at: i64| -> u32 { bounds.partition_point(|&s| s <= at) as u32 };
    let mut months_of: Vec<Vec<u32>> = Vec::new();
    let mut current: Option<CustomerId> = None;
    for p in i.purchases {
        if current != Some(p.customer) {
            current = Some(p.customer);
            months_of.push(Vec::new());
        }
        if let Some(v) = months_of.last_mut() {
            v.push(month_index(p.at));
        }
    }
    Ok(dashboard::cohorts(&months_of, &names, COHORT_MONTHS))
}

impl App {
    /// Build and store the dashboard's figures of a refresh that has just stored its scores.
    pub(crate) fn store_dashboard(&self, i: &Inputs) -> Result<()> {
        let utc = jiff::tz::TimeZone::UTC;
        let month_start = i.as_of.to_zoned(utc.clone()).date().first_of_month();
        let month = month_start.strftime("%Y-%m").to_string();
        let previous = month_start
            .checked_sub(jiff::Span::new().months(1))
            .ok()
            .map(|d| d.strftime("%Y-%m").to_string());
        let mut stages: Vec<StageFigures> = kesher_analytics::Stage::ALL
            .iter()
            .map(|s| StageFigures {
                stage: s.name().to_string(),
                customers: 0,
                revenue_minor: 0,
                margin_minor: None,
            })
            .collect();
        let mut buyers = 0u64;
        for r in i.rows {
            if r.stage != "prospect" {
                buyers += 1;
            }
            if let Some(s) = stages.iter_mut().find(|s| s.stage == r.stage) {
                s.customers += 1;
                s.revenue_minor += i128::from(r.revenue);
                if let Some(m) = r.margin {
                    *s.margin_minor.get_or_insert(0) += i128::from(m);
                }
            }
        }
        if let Some(s) = stages.iter_mut().find(|s| s.stage == "prospect") {
            s.customers += i.implicit_prospects;
        }
        // Moves between rungs need the previous month's recorded stages: known from the stored
        // snapshot (one row), so that a first analysis does not join a million stage rows to
        // find that everyone is new.
        let prior = self.dashboard().ok().flatten();
        let previous_recorded = match (&prior, &previous) {
            (Some(p), Some(prev)) if &p.month == prev => true,
            (Some(p), _) if p.month == month => p.previous_recorded,
            _ => false,
        };
        let flows = match &previous {
            Some(p) if previous_recorded => self
                .store
                .stage_transitions(p, &month)?
                .into_iter()
                .filter(|(a, b, _)| a != b)
                .map(|(from, to, customers)| Flow { from, to, customers })
                .collect(),
            _ => Vec::new(),
        };
        let clv: Vec<f64> = i.rows.iter().filter_map(|r| r.clv).collect();
        let snapshot = Snapshot {
            as_of: i.as_of.to_string(),
            month,
            previous_month: previous,
            previous_recorded,
            currency: i.currency.clone(),
            customers: i.rows.len() as u64 + i.implicit_prospects,
            buyers,
            model: i.model.to_string(),
            stages,
            flows,
            pareto: kesher_analytics::pareto_curve(i.value, 20).unwrap_or_default(),
            clv_bins: dashboard::clv_distribution(&clv, CLV_CLASSES),
            tiers: i
                .tiers
                .iter()
                .map(|(t, n, share)| TierFigures {
                    tier: (*t).to_string(),
                    customers: *n as u64,
                    share_of_value: *share,
                })
                .collect(),
            cohorts: cohorts(self, i)?,
        };
        let json = serde_json::to_string(&snapshot).map_err(|e| StoreError::Backend(e.to_string()))?;
        let mut tx = self.store.begin(Lock::Writes)?;
        tx.put_setting_row(KEY, &json)?;
        tx.commit()
    }

    /// The dashboard's figures of the latest refresh; `None` before the first.
    pub fn dashboard(&self) -> Result<Option<Snapshot>> {
        let Some(json) = self.store.get_setting(KEY)? else {
            return Ok(None);
        };
        serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| StoreError::Backend(format!("the stored dashboard does not read: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_starts_follow_the_business_zone() {
        let zone = jiff::tz::TimeZone::get("Asia/Jerusalem").unwrap();
        // 2026-03-31 22:30 UTC is already April 1st in Jerusalem.
        let at: jiff::Timestamp = "2026-03-31T22:30:00Z".parse().unwrap();
        let m = month_starts(at, &zone, 3);
        let names: Vec<&str> = m.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["2026-02", "2026-03", "2026-04"]);
        let april: jiff::Timestamp = "2026-03-31T21:00:00Z".parse().unwrap();
        assert_eq!(m[2].0, april.as_second());
    }
}
