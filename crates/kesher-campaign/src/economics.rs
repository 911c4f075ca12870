//! Retention economics: what keeping a customer cost, campaign by campaign, beside what winning
//! a new one costs (MISSION.md §5: keeping a customer costs up to six times less than winning
//! one). A customer *kept* is an incremental responder: one who bought within the attribution
//! window because of the campaign — the recipients' response rate above the control group's,
//! times the recipients. The cost is what the campaign spent: its messages at the business's
//! price per thousand for each channel, and the benefits it gave.
//!
//! Pure: the workflows read the outbox and the reports and hand the figures here.

use crate::stats::Interval;
use serde::Serialize;
use std::collections::BTreeMap;

/// The business's prices, in minor units of its currency.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Costs {
    /// Per 1,000 messages sent, by channel (`email`, `sms`, `log`); a channel absent costs 0.
    pub per_thousand: BTreeMap<String, i64>,
    /// What winning one new customer costs (advertising, first-purchase offers), when known.
    pub acquisition: Option<i64>,
}

impl Costs {
    /// What `messages` (sent, by channel) cost, in minor units (rounded to the nearest).
    pub fn of_messages(&self, messages: &BTreeMap<String, u64>) -> i64 {
        let thousandths: i128 = messages
            .iter()
            .map(|(channel, n)| i128::from(*n) * i128::from(self.per_thousand.get(channel).copied().unwrap_or(0)))
            .sum();
        i64::try_from((thousandths + 500) / 1000).unwrap_or(i64::MAX)
    }
}

/// One campaign's figures, as measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    pub name: String,
    /// Messages sent, by channel.
    pub messages: BTreeMap<String, u64>,
    /// What the benefits it granted cost, minor units.
    pub benefits: i64,
    /// Recipients (sent messages) measured.
    pub recipients: u64,
    /// The response rates' difference (recipients − control) and its 95 % interval; `None`
    /// while it cannot be measured (no control group, the window still open, …).
    pub lift: Option<(f64, Interval)>,
}

/// One campaign's economics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub name: String,
    /// Minor units: messages and benefits.
    pub cost: i64,
    pub recipients: u64,
    /// Customers kept: the lift times the recipients (may be negative), with its interval.
    pub kept: Option<f64>,
    pub kept_ci: Option<Interval>,
    /// Minor units per customer kept, when the lift's interval is above 0; the interval is the
    /// cost over the kept interval's bounds (its upper bound is infinite when the lower bound
    /// of the kept customers is not above 0, so it is then absent).
    pub cost_per_kept: Option<f64>,
    pub cost_per_kept_ci: Option<Interval>,
    /// The acquisition cost over the cost per customer kept: how many times cheaper keeping was.
    pub acquisition_ratio: Option<f64>,
    /// Why there is no cost per customer kept.
    pub note: Option<&'static str>,
}

/// Every campaign's row, the cheapest customer kept first, and the total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Economics {
    pub rows: Vec<Row>,
    pub cost: i64,
    pub kept: f64,
    pub cost_per_kept: Option<f64>,
    pub acquisition: Option<i64>,
    pub acquisition_ratio: Option<f64>,
    /// The campaign where the next unit of money keeps the most customers: the lowest cost per
    /// customer kept among those whose lift is significant.
    pub best: Option<String>,
}

fn row(m: &Measured, costs: &Costs) -> Row {
    let cost = costs.of_messages(&m.messages).saturating_add(m.benefits.max(0));
    let n = m.recipients as f64;
    let mut r = Row {
        name: m.name.clone(),
        cost,
        recipients: m.recipients,
        kept: None,
        kept_ci: None,
        cost_per_kept: None,
        cost_per_kept_ci: None,
        acquisition_ratio: None,
        note: None,
    };
    let Some((lift, ci)) = m.lift else {
        r.note = Some("not measured: no control group or the window is open");
        return r;
    };
    let kept = lift * n;
    let kept_ci = Interval {
        low: ci.low * n,
        high: ci.high * n,
    };
    r.kept = Some(kept);
    r.kept_ci = Some(kept_ci);
    if kept_ci.low <= 0.0 {
        r.note = Some("no significant lift: nobody was measurably kept");
        return r;
    }
    let per = cost as f64 / kept;
    r.cost_per_kept = Some(per);
    r.cost_per_kept_ci = Some(Interval {
        low: cost as f64 / kept_ci.high,
        high: cost as f64 / kept_ci.low,
    });
    r.acquisition_ratio = costs.acquisition.filter(|_| per > 0.0).map(|a| a as f64 / per);
    r
}

/// The economics of `measured` campaigns at the business's `costs`.
pub fn evaluate(measured: &[Measured], costs: &Costs) -> Economics {
    let mut rows: Vec<Row> = measured.iter().map(|m| row(m, costs)).collect();
    rows.sort_by(|a, b| match (a.cost_per_kept, b.cost_per_kept) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.name.cmp(&b.name),
    });
    let cost = rows.iter().fold(0i64, |s, r| s.saturating_add(r.cost));
    let kept: f64 = rows.iter().filter_map(|r| r.kept).sum();
    let cost_per_kept = (kept > 0.0).then(|| cost as f64 / kept);
    Economics {
        best: rows.iter().find(|r| r.cost_per_kept.is_some()).map(|r| r.name.clone()),
        acquisition_ratio: costs
            .acquisition
            .zip(cost_per_kept)
            .filter(|(_, p)| *p > 0.0)
            .map(|(a, p)| a as f64 / p),
        acquisition: costs.acquisition,
        rows,
        cost,
        kept,
        cost_per_kept,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn costs() -> Costs {
        Costs {
            per_thousand: [("email".to_string(), 200), ("sms".to_string(), 8_000)].into(),
            acquisition: Some(4_500),
        }
    }

    fn measured(name: &str, email: u64, sms: u64, recipients: u64, lift: Option<(f64, f64, f64)>) -> Measured {
        Measured {
            name: name.into(),
            messages: [("email".to_string(), email), ("sms".to_string(), sms)].into(),
            benefits: 0,
            recipients,
            lift: lift.map(|(d, low, high)| (d, Interval { low, high })),
        }
    }

    #[test]
    fn messages_cost_their_price_per_thousand_rounded() {
        let c = costs();
        // 1,500 e-mails at ₪2 per thousand (200 agorot) and 10 SMS at ₪80 per thousand.
        let m: BTreeMap<String, u64> = [
            ("email".to_string(), 1_500),
            ("sms".to_string(), 10),
            ("log".to_string(), 99),
        ]
        .into();
        assert_eq!(c.of_messages(&m), 300 + 80);
        let one: BTreeMap<String, u64> = [("email".to_string(), 1)].into();
        assert_eq!(c.of_messages(&one), 0, "0.2 agora rounds to 0");
        let huge: BTreeMap<String, u64> = [("sms".to_string(), u64::MAX)].into();
        assert_eq!(c.of_messages(&huge), i64::MAX, "saturates, never wraps");
    }

    #[test]
    fn a_significant_lift_gives_a_cost_per_customer_kept_beside_acquisition() {
        // 4,000 SMS (₪320) to 4,000 recipients, +5 points (2 to 8): 200 kept (80 to 320).
        let e = evaluate(
            &[measured("win-back", 0, 4_000, 4_000, Some((0.05, 0.02, 0.08)))],
            &costs(),
        );
        let r = &e.rows[0];
        assert_eq!(r.cost, 32_000);
        assert!((r.kept.unwrap() - 200.0).abs() < 1e-9);
        assert!(
            (r.cost_per_kept.unwrap() - 160.0).abs() < 1e-9,
            "₪1.60 per customer kept"
        );
        let ci = r.cost_per_kept_ci.unwrap();
        assert!(
            (ci.low - 100.0).abs() < 1e-9 && (ci.high - 400.0).abs() < 1e-9,
            "{ci:?}"
        );
        assert!((r.acquisition_ratio.unwrap() - 4_500.0 / 160.0).abs() < 1e-9);
        assert_eq!(e.best.as_deref(), Some("win-back"));
    }

    #[test]
    fn campaigns_are_ranked_and_the_insignificant_or_unmeasured_say_why() {
        let e = evaluate(
            &[
                measured("holiday", 5_000, 0, 5_000, Some((0.004, -0.01, 0.018))),
                measured("pilot", 0, 1_000, 1_000, None),
                measured("sms win-back", 0, 2_000, 2_000, Some((0.06, 0.03, 0.09))),
                measured("mail win-back", 2_000, 0, 2_000, Some((0.03, 0.01, 0.05))),
            ],
            &costs(),
        );
        let names: Vec<&str> = e.rows.iter().map(|r| r.name.as_str()).collect();
        // E-mail is so cheap that a smaller lift still keeps customers for less.
        assert_eq!(names, ["mail win-back", "sms win-back", "holiday", "pilot"]);
        assert_eq!(e.best.as_deref(), Some("mail win-back"));
        assert!(e.rows[2].cost_per_kept.is_none() && e.rows[2].note.unwrap().contains("no significant"));
        assert!(e.rows[3].kept.is_none() && e.rows[3].note.unwrap().contains("not measured"));
        // The totals: every campaign's cost over every measured kept customer.
        assert_eq!(e.cost, 400 + 16_000 + 1_000 + 8_000);
        assert!((e.kept - (20.0 + 120.0 + 60.0)).abs() < 1e-9);
    }

    #[test]
    fn without_an_acquisition_cost_there_is_no_ratio() {
        let c = Costs {
            acquisition: None,
            ..costs()
        };
        let e = evaluate(&[measured("w", 0, 100, 100, Some((0.2, 0.1, 0.3)))], &c);
        assert!(e.rows[0].acquisition_ratio.is_none() && e.acquisition_ratio.is_none());
        assert!(e.rows[0].cost_per_kept.is_some());
    }
}
