//! The lifecycle ladder (prospect, first-time, core, at-risk, defected) from explicit,
//! configurable rules, and transition matrices between two assignments.
//!
//! # Rules
//! Evaluated in this order for a customer with `purchases` purchase periods, `since_last`
//! time since the last one, their own mean gap between purchases (recency / repeat purchases,
//! when there are repeats) and optionally the model's P(alive):
//!
//! 1. no purchase → **prospect**;
//! 2. **defected** when P(alive) < `p_alive_defected`, or when `since_last` exceeds
//!    `defected_gaps` × the customer's own mean gap (repeat buyers) or
//!    `one_time_defected_after` (one-time buyers);
//! 3. **at-risk** on the same tests with `p_alive_at_risk`, `at_risk_gaps` and
//!    `one_time_at_risk_after`;
//! 4. **core** when `purchases ≥ core_min_purchases`;
//! 5. otherwise **first-time**.
//!
//! The mean gap is floored at `min_gap` so that a burst of purchases in consecutive periods
//! does not make a customer "late" one period later.

use crate::error::{AnalyticsError, Result};
use crate::model::TransactionModel;
use crate::summary::{PeriodUnit, SummaryConfig, Transaction, summarize_slice};

/// A rung of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    Prospect,
    FirstTime,
    Core,
    AtRisk,
    Defected,
}

impl Stage {
    pub const ALL: [Stage; 5] = [
        Stage::Prospect,
        Stage::FirstTime,
        Stage::Core,
        Stage::AtRisk,
        Stage::Defected,
    ];

    /// Stable name (`prospect`, `first_time`, `core`, `at_risk`, `defected`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prospect => "prospect",
            Stage::FirstTime => "first_time",
            Stage::Core => "core",
            Stage::AtRisk => "at_risk",
            Stage::Defected => "defected",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The ladder's thresholds; times are in model units (e.g. weeks).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LadderRules {
    /// Purchase periods needed to be core (default 2: the customer came back).
    pub core_min_purchases: u32,
    /// At risk beyond this many own mean gaps since the last purchase (default 2).
    pub at_risk_gaps: f64,
    /// Defected beyond this many own mean gaps (default 4).
    pub defected_gaps: f64,
    /// One-time buyers are at risk after this long (default 13, a quarter in weeks).
    pub one_time_at_risk_after: f64,
    /// One-time buyers are defected after this long (default 52, a year in weeks).
    pub one_time_defected_after: f64,
    /// At risk below this P(alive) (default 0.5).
    pub p_alive_at_risk: f64,
    /// Defected below this P(alive) (default 0.1).
    pub p_alive_defected: f64,
    /// Floor of the mean gap (default 1 period).
    pub min_gap: f64,
}

impl Default for LadderRules {
    fn default() -> Self {
        LadderRules {
            core_min_purchases: 2,
            at_risk_gaps: 2.0,
            defected_gaps: 4.0,
            one_time_at_risk_after: 13.0,
            one_time_defected_after: 52.0,
            p_alive_at_risk: 0.5,
            p_alive_defected: 0.1,
            min_gap: 1.0,
        }
    }
}

/// What the ladder needs to know about a customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LadderInput {
    /// Distinct purchase periods (frequency + 1; 0 for a prospect).
    pub purchases: u32,
    /// Time since the last purchase (T − recency).
    pub since_last: f64,
    /// Time from the first to the last purchase (recency).
    pub active_span: f64,
    pub p_alive: Option<f64>,
}

impl LadderInput {
    /// From a summary's frequency, recency and T, plus an optional P(alive).
    pub fn from_summary(frequency: u32, recency: f64, t: f64, p_alive: Option<f64>) -> Self {
        LadderInput {
            purchases: frequency.saturating_add(1),
            since_last: (t - recency).max(0.0),
            active_span: recency,
            p_alive,
        }
    }
}

impl LadderRules {
    fn check(&self) -> Result<()> {
        let ok = self.at_risk_gaps > 0.0
            && self.defected_gaps >= self.at_risk_gaps
            && self.one_time_at_risk_after >= 0.0
            && self.one_time_defected_after >= self.one_time_at_risk_after
            && (0.0..=1.0).contains(&self.p_alive_at_risk)
            && (0.0..=self.p_alive_at_risk).contains(&self.p_alive_defected)
            && self.min_gap > 0.0;
        if ok {
            Ok(())
        } else {
            Err(AnalyticsError::InvalidArgument {
                name: "ladder rules",
                reason: "thresholds must be positive and ordered (at-risk before defected)".into(),
            })
        }
    }

    /// The stage of one customer.
    pub fn stage(&self, c: &LadderInput) -> Result<Stage> {
        self.check()?;
        if c.purchases == 0 {
            return Ok(Stage::Prospect);
        }
        let late_by = |gaps: f64, one_time: f64| {
            if c.purchases > 1 {
                let gap = (c.active_span / f64::from(c.purchases - 1)).max(self.min_gap);
                c.since_last > gaps * gap
            } else {
                c.since_last > one_time
            }
        };
        let p = c.p_alive.filter(|p| p.is_finite());
        if p.is_some_and(|p| p < self.p_alive_defected) || late_by(self.defected_gaps, self.one_time_defected_after) {
            return Ok(Stage::Defected);
        }
        if p.is_some_and(|p| p < self.p_alive_at_risk) || late_by(self.at_risk_gaps, self.one_time_at_risk_after) {
            return Ok(Stage::AtRisk);
        }
        if c.purchases >= self.core_min_purchases {
            return Ok(Stage::Core);
        }
        Ok(Stage::FirstTime)
    }

    /// Stages of many customers.
    pub fn stages(&self, customers: &[LadderInput]) -> Result<Vec<Stage>> {
        customers.iter().map(|c| self.stage(c)).collect()
    }
}

/// Every customer's stage as of the instant `as_of`: the summary of the transactions up to then
/// (time in `unit`s), P(alive) from `model` when given, then `rules`. Customers without a
/// purchase by then are absent (they are prospects). Sorted by customer key.
///
/// Called once per month end, this is the ladder's stage history; consecutive results feed
/// [`TransitionMatrix::between`].
pub fn stages_as_of<K>(
    transactions: &[Transaction<K>],
    unit: PeriodUnit,
    as_of: i64,
    model: Option<&dyn TransactionModel>,
    rules: &LadderRules,
) -> Result<Vec<(K, Stage)>>
where
    K: Ord + Clone + Send + Sync,
{
    let cfg = SummaryConfig {
        unit,
        multiplier: 1.0,
        observation_end: as_of,
        calibration_end: Some(as_of),
    };
    let summaries = summarize_slice(transactions, &cfg)?;
    summaries
        .into_iter()
        .map(|c| {
            let p = match model {
                Some(m) => Some(m.probability_alive(f64::from(c.frequency), c.recency, c.t)?),
                None => None,
            };
            let stage = rules.stage(&LadderInput::from_summary(c.frequency, c.recency, c.t, p))?;
            Ok((c.customer, stage))
        })
        .collect()
}

/// Movement between two stage assignments of the same customers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionMatrix {
    /// `counts[from][to]`, indexed in the order of [`Stage::ALL`].
    pub counts: [[u64; 5]; 5],
}

impl TransitionMatrix {
    /// Counts the pairs `(before, after)`; a customer absent before should be given as a
    /// prospect.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Stage, Stage)>) -> Self {
        let mut counts = [[0u64; 5]; 5];
        for (a, b) in pairs {
            counts[a.index()][b.index()] += 1;
        }
        TransitionMatrix { counts }
    }

    /// Compares two keyed assignments sorted by key (as [`stages_as_of`] returns them); a
    /// customer absent from `before` counts as a prospect there, one absent from `after` is
    /// left out.
    pub fn between<K: Ord>(before: &[(K, Stage)], after: &[(K, Stage)]) -> Self {
        let mut i = 0;
        let pairs = after.iter().map(|(k, s)| {
            while i < before.len() && before[i].0 < *k {
                i += 1;
            }
            let old = match before.get(i) {
                Some((bk, bs)) if bk == k => *bs,
                _ => Stage::Prospect,
            };
            (old, *s)
        });
        let mut counts = [[0u64; 5]; 5];
        for (a, b) in pairs {
            counts[a.index()][b.index()] += 1;
        }
        TransitionMatrix { counts }
    }

    /// Customers moving from `from` to `to`.
    pub fn count(&self, from: Stage, to: Stage) -> u64 {
        self.counts[from.index()][to.index()]
    }

    /// Customers on the rung before.
    pub fn before(&self, s: Stage) -> u64 {
        self.counts[s.index()].iter().sum()
    }

    /// Customers on the rung after.
    pub fn after(&self, s: Stage) -> u64 {
        self.counts.iter().map(|row| row[s.index()]).sum()
    }

    /// Customers who arrived on the rung from another one.
    pub fn inflow(&self, s: Stage) -> u64 {
        self.after(s) - self.count(s, s)
    }

    /// Customers who left the rung for another one.
    pub fn outflow(&self, s: Stage) -> u64 {
        self.before(s) - self.count(s, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(purchases: u32, since_last: f64, span: f64, p: Option<f64>) -> LadderInput {
        LadderInput {
            purchases,
            since_last,
            active_span: span,
            p_alive: p,
        }
    }

    #[test]
    fn rules_in_order() {
        let r = LadderRules::default();
        assert_eq!(r.stage(&input(0, 0.0, 0.0, None)).unwrap(), Stage::Prospect);
        assert_eq!(r.stage(&input(1, 2.0, 0.0, None)).unwrap(), Stage::FirstTime);
        assert_eq!(r.stage(&input(1, 20.0, 0.0, None)).unwrap(), Stage::AtRisk);
        assert_eq!(r.stage(&input(1, 60.0, 0.0, None)).unwrap(), Stage::Defected);
        // 4 purchases over 30 weeks: a 10-week rhythm.
        assert_eq!(r.stage(&input(4, 15.0, 30.0, Some(0.9))).unwrap(), Stage::Core);
        assert_eq!(r.stage(&input(4, 25.0, 30.0, Some(0.9))).unwrap(), Stage::AtRisk);
        assert_eq!(r.stage(&input(4, 45.0, 30.0, Some(0.9))).unwrap(), Stage::Defected);
        assert_eq!(r.stage(&input(4, 5.0, 30.0, Some(0.3))).unwrap(), Stage::AtRisk);
        assert_eq!(r.stage(&input(4, 5.0, 30.0, Some(0.05))).unwrap(), Stage::Defected);
        let strict = LadderRules {
            core_min_purchases: 5,
            ..LadderRules::default()
        };
        assert_eq!(strict.stage(&input(4, 5.0, 30.0, None)).unwrap(), Stage::FirstTime);
    }

    #[test]
    fn bad_rules_are_rejected() {
        let r = LadderRules {
            at_risk_gaps: 5.0,
            defected_gaps: 2.0,
            ..LadderRules::default()
        };
        assert!(r.stage(&input(1, 1.0, 0.0, None)).is_err());
    }

    #[test]
    fn history_between_two_dates() {
        const DAY: i64 = 86_400;
        let tx = |c: u32, day: i64| Transaction {
            customer: c,
            at: day * DAY,
            amount_minor: 100,
            cost_minor: None,
        };
        // Customer 1 buys weekly, customer 2 once early, customer 3 only later.
        let mut txs: Vec<Transaction<u32>> = (0..10).map(|w| tx(1, 7 * w)).collect();
        txs.push(tx(2, 3));
        txs.push(tx(3, 100));
        let rules = LadderRules::default();
        let a = stages_as_of(&txs, PeriodUnit::Week, 60 * DAY, None, &rules).unwrap();
        let b = stages_as_of(&txs, PeriodUnit::Week, 180 * DAY, None, &rules).unwrap();
        assert_eq!(a, vec![(1, Stage::Core), (2, Stage::FirstTime)]);
        // A one-time buyer 25 weeks on is at risk (defected after 52).
        assert_eq!(b, vec![(1, Stage::Defected), (2, Stage::AtRisk), (3, Stage::FirstTime)]);
        let m = TransitionMatrix::between(&a, &b);
        assert_eq!(m.count(Stage::Core, Stage::Defected), 1);
        assert_eq!(m.count(Stage::FirstTime, Stage::AtRisk), 1);
        assert_eq!(m.count(Stage::Prospect, Stage::FirstTime), 1);
        assert_eq!(m.inflow(Stage::Defected), 1);
        assert_eq!(m.outflow(Stage::Core), 1);
    }

    #[test]
    fn transitions_and_flows() {
        use Stage::*;
        let m = TransitionMatrix::from_pairs([
            (Prospect, FirstTime),
            (FirstTime, Core),
            (Core, Core),
            (Core, AtRisk),
            (AtRisk, Defected),
        ]);
        assert_eq!(m.count(Core, AtRisk), 1);
        assert_eq!(m.before(Core), 2);
        assert_eq!(m.after(Core), 2);
        assert_eq!(m.inflow(Core), 1);
        assert_eq!(m.outflow(Core), 1);
        assert_eq!(m.inflow(Defected), 1);
        assert_eq!(m.outflow(Prospect), 1);
    }
}
