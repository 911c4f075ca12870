//! RFM quintile scores and named segments, CLV value tiers and the Pareto (Lorenz) curve.
//!
//! # Scores
//! Each of recency, frequency and monetary value is scored 1..=5 by rank: customers are
//! ordered from worst to best (longest time since the last purchase first; fewest purchases
//! first; least spend first) and a customer whose value is at 0-based position `k` of `n`
//! gets `1 + ⌊5k/n⌋`, where `k` is the position of the first customer holding the same value,
//! so equal values always get equal scores and the result does not depend on input order.
//!
//! # Segments
//! From the recency score R and the frequency score F (the usual RFM grid):
//!
//! | R \ F | 1 | 2 | 3 | 4 | 5 |
//! |---|---|---|---|---|---|
//! | 5 | new | potential loyalist | potential loyalist | champions | champions |
//! | 4 | promising | potential loyalist | potential loyalist | loyal | loyal |
//! | 3 | about to sleep | about to sleep | need attention | loyal | loyal |
//! | 2 | hibernating | hibernating | at risk | at risk | can't lose them |
//! | 1 | hibernating (lost if M ≤ 2) | hibernating (lost if M ≤ 2) | at risk | at risk | can't lose them |

use crate::error::{AnalyticsError, Result};
use rayon::prelude::*;

/// One customer's raw RFM values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RfmInput {
    /// Time since the last purchase (lower is better).
    pub since_last: f64,
    /// Number of purchases (or purchase periods).
    pub frequency: f64,
    /// Spend (total or mean; the caller chooses).
    pub monetary: f64,
}

/// Scores 1..=5 (5 best).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RfmScore {
    pub r: u8,
    pub f: u8,
    pub m: u8,
}

/// Every three-digit code "111" to "555", the bytes of code `rfm` at `((r-1)·25 + (f-1)·5 + (m-1))·3`.
static RFM_CODES: [u8; 375] = {
    let mut out = [0u8; 375];
    let mut i = 0;
    while i < 125 {
        out[i * 3] = b'1' + (i / 25) as u8;
        out[i * 3 + 1] = b'1' + (i / 5 % 5) as u8;
        out[i * 3 + 2] = b'1' + (i % 5) as u8;
        i += 1;
    }
    out
};

impl RfmScore {
    /// The scores as one code, "545": R, F and M. Borrowed from a fixed table (no allocation:
    /// an analysis writes a million of them); `None` when a score is outside 1..=5.
    pub fn code(self) -> Option<&'static str> {
        let ok = |v: u8| (1..=5).contains(&v);
        if !(ok(self.r) && ok(self.f) && ok(self.m)) {
            return None;
        }
        let i = (usize::from(self.r - 1) * 25 + usize::from(self.f - 1) * 5 + usize::from(self.m - 1)) * 3;
        std::str::from_utf8(&RFM_CODES[i..i + 3]).ok()
    }
}

/// The named RFM segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RfmSegment {
    Champions,
    Loyal,
    PotentialLoyalist,
    New,
    Promising,
    NeedAttention,
    AboutToSleep,
    AtRisk,
    CantLoseThem,
    Hibernating,
    Lost,
}

impl RfmSegment {
    pub const ALL: [RfmSegment; 11] = [
        RfmSegment::Champions,
        RfmSegment::Loyal,
        RfmSegment::PotentialLoyalist,
        RfmSegment::New,
        RfmSegment::Promising,
        RfmSegment::NeedAttention,
        RfmSegment::AboutToSleep,
        RfmSegment::AtRisk,
        RfmSegment::CantLoseThem,
        RfmSegment::Hibernating,
        RfmSegment::Lost,
    ];

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            RfmSegment::Champions => "champions",
            RfmSegment::Loyal => "loyal",
            RfmSegment::PotentialLoyalist => "potential loyalist",
            RfmSegment::New => "new",
            RfmSegment::Promising => "promising",
            RfmSegment::NeedAttention => "need attention",
            RfmSegment::AboutToSleep => "about to sleep",
            RfmSegment::AtRisk => "at risk",
            RfmSegment::CantLoseThem => "can't lose them",
            RfmSegment::Hibernating => "hibernating",
            RfmSegment::Lost => "lost",
        }
    }

    /// The segment of a score, per the table in the module documentation.
    pub fn of(s: RfmScore) -> RfmSegment {
        match (s.r, s.f) {
            (5, 1) => RfmSegment::New,
            (4..=5, 2 | 3) => RfmSegment::PotentialLoyalist,
            (5, _) => RfmSegment::Champions,
            (4, 1) => RfmSegment::Promising,
            (3 | 4, 4 | 5) => RfmSegment::Loyal,
            (3, 3) => RfmSegment::NeedAttention,
            (3, _) => RfmSegment::AboutToSleep,
            (_, 5) => RfmSegment::CantLoseThem,
            (_, 3 | 4) => RfmSegment::AtRisk,
            (1, _) if s.m <= 2 => RfmSegment::Lost,
            _ => RfmSegment::Hibernating,
        }
    }
}

/// Rank scores 1..=5 for `values`, best = highest value (ties share the lower score).
fn quintiles(values: &[f64]) -> Vec<u8> {
    let n = values.len();
    // (value, position) pairs sorted in place on every core: a score depends only on where
    // each run of equal values starts, so the order among equals does not matter.
    let mut sorted: Vec<(f64, usize)> = values.iter().copied().zip(0..).collect();
    sorted.par_sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = vec![1u8; n];
    let mut first = 0;
    for (pos, &(v, i)) in sorted.iter().enumerate() {
        if pos > 0 && v.total_cmp(&sorted[pos - 1].0).is_ne() {
            first = pos;
        }
        out[i] = (1 + (5 * first) / n) as u8;
    }
    out
}

/// Scores every customer.
pub fn rfm_scores(inputs: &[RfmInput]) -> Result<Vec<RfmScore>> {
    if inputs.is_empty() {
        return Err(AnalyticsError::NoData);
    }
    if let Some(i) = inputs
        .iter()
        .position(|v| !(v.since_last.is_finite() && v.frequency.is_finite() && v.monetary.is_finite()))
    {
        return Err(AnalyticsError::InvalidArgument {
            name: "rfm input",
            reason: format!("customer at index {i} has a non-finite value"),
        });
    }
    let recency: Vec<f64> = inputs.iter().map(|v| -v.since_last).collect();
    let frequency: Vec<f64> = inputs.iter().map(|v| v.frequency).collect();
    let monetary: Vec<f64> = inputs.iter().map(|v| v.monetary).collect();
    let (r, (f, m)) = rayon::join(
        || quintiles(&recency),
        || rayon::join(|| quintiles(&frequency), || quintiles(&monetary)),
    );
    Ok((0..inputs.len())
        .map(|i| RfmScore {
            r: r[i],
            f: f[i],
            m: m[i],
        })
        .collect())
}

/// Customers per (R, F) cell: `grid[r - 1][f - 1]`, the usual RFM grid.
pub fn rfm_grid(scores: &[RfmScore]) -> [[u64; 5]; 5] {
    let mut grid = [[0u64; 5]; 5];
    for s in scores {
        let (r, f) = (usize::from(s.r.clamp(1, 5)) - 1, usize::from(s.f.clamp(1, 5)) - 1);
        grid[r][f] += 1;
    }
    grid
}

/// Customers per named segment, in the order of [`RfmSegment::ALL`].
pub fn segment_counts(scores: &[RfmScore]) -> Vec<(RfmSegment, u64)> {
    RfmSegment::ALL
        .iter()
        .map(|&seg| (seg, scores.iter().filter(|s| RfmSegment::of(**s) == seg).count() as u64))
        .collect()
}

/// Value tier by CLV rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueTier {
    /// The top 20 % of customers by value.
    Top,
    /// The next 30 %.
    Middle,
    /// The remaining 50 %.
    Rest,
}

/// Tiers plus each tier's customer count and share of the total value.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueTiers {
    /// Per customer, in input order.
    pub tiers: Vec<ValueTier>,
    /// (tier, customers, share of total value) for Top, Middle, Rest.
    pub summary: Vec<(ValueTier, usize, f64)>,
}

fn rank_desc(values: &[f64]) -> Vec<usize> {
    let mut sorted: Vec<(f64, usize)> = values.iter().copied().zip(0..).collect();
    // Highest value first; ties by input position, so the order is deterministic (a total
    // order: sorted unstably on every core, the same result).
    sorted.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    sorted.into_iter().map(|(_, i)| i).collect()
}

fn check_values(values: &[f64]) -> Result<()> {
    if values.is_empty() {
        return Err(AnalyticsError::NoData);
    }
    if values.iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(AnalyticsError::InvalidArgument {
            name: "values",
            reason: "every value must be finite and ≥ 0".into(),
        });
    }
    Ok(())
}

/// Splits customers into top 20 % / next 30 % / rest by value (e.g. CLV), counts rounded up.
pub fn value_tiers(values: &[f64]) -> Result<ValueTiers> {
    check_values(values)?;
    let n = values.len();
    let top_n = (n * 20).div_ceil(100);
    let mid_end = (n * 50).div_ceil(100);
    let total: f64 = values.iter().sum();
    let mut tiers = vec![ValueTier::Rest; n];
    let mut sums = [0.0f64; 3];
    let mut counts = [0usize; 3];
    for (pos, i) in rank_desc(values).into_iter().enumerate() {
        let (tier, k) = if pos < top_n {
            (ValueTier::Top, 0)
        } else if pos < mid_end {
            (ValueTier::Middle, 1)
        } else {
            (ValueTier::Rest, 2)
        };
        tiers[i] = tier;
        sums[k] += values[i];
        counts[k] += 1;
    }
    let share = |s: f64| if total > 0.0 { s / total } else { 0.0 };
    Ok(ValueTiers {
        tiers,
        summary: vec![
            (ValueTier::Top, counts[0], share(sums[0])),
            (ValueTier::Middle, counts[1], share(sums[1])),
            (ValueTier::Rest, counts[2], share(sums[2])),
        ],
    })
}

/// The Pareto curve: `(share of customers, share of value)` for the most valuable customers
/// first, at `points + 1` evenly spaced customer shares from 0 to 1.
pub fn pareto_curve(values: &[f64], points: usize) -> Result<Vec<(f64, f64)>> {
    check_values(values)?;
    if points == 0 {
        return Err(AnalyticsError::InvalidArgument {
            name: "points",
            reason: "must be at least 1".into(),
        });
    }
    let n = values.len();
    let order = rank_desc(values);
    let mut cum = Vec::with_capacity(n + 1);
    cum.push(0.0);
    let mut acc = 0.0;
    for &i in &order {
        acc += values[i];
        cum.push(acc);
    }
    let total = acc;
    Ok((0..=points)
        .map(|k| {
            let share = k as f64 / points as f64;
            let m = ((share * n as f64).round() as usize).min(n);
            let v = if total > 0.0 { cum[m] / total } else { 0.0 };
            (m as f64 / n as f64, v)
        })
        .collect())
}

/// A customer's share of wallet: our revenue from them over their estimated spend in the
/// category, when that estimate is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WalletShare {
    /// Share in 0..=1 (capped at 1 when we sold more than the estimate).
    Known(f64),
    /// No (usable) category-spend estimate for this customer.
    Unknown,
}

/// Share of wallet from our revenue and the customer's estimated category spend over the same
/// period (both in minor units); unknown when the estimate is absent or not positive.
pub fn share_of_wallet(revenue_minor: i64, category_spend_minor: Option<i64>) -> WalletShare {
    match category_spend_minor {
        Some(c) if c > 0 => WalletShare::Known((revenue_minor.max(0) as f64 / c as f64).min(1.0)),
        _ => WalletShare::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quintiles_are_rank_based_and_ties_share_scores() {
        let v: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(quintiles(&v), vec![1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
        assert_eq!(quintiles(&[3.0, 3.0, 3.0]), vec![1, 1, 1]);
        assert_eq!(quintiles(&[1.0, 2.0, 2.0, 2.0, 9.0]), vec![1, 2, 2, 2, 5]);
    }

    #[test]
    fn every_score_has_its_three_digit_code() {
        for r in 1..=5u8 {
            for f in 1..=5u8 {
                for m in 1..=5u8 {
                    assert_eq!(RfmScore { r, f, m }.code(), Some(format!("{r}{f}{m}").as_str()));
                }
            }
        }
        assert_eq!(RfmScore { r: 0, f: 1, m: 1 }.code(), None);
        assert_eq!(RfmScore { r: 1, f: 6, m: 1 }.code(), None);
    }

    #[test]
    fn every_grid_cell_has_one_segment_and_all_segments_occur() {
        let mut seen = std::collections::HashSet::new();
        for r in 1..=5 {
            for f in 1..=5 {
                for m in 1..=5 {
                    seen.insert(RfmSegment::of(RfmScore { r, f, m }));
                }
            }
        }
        assert_eq!(seen.len(), RfmSegment::ALL.len());
        let s = |r, f, m| RfmSegment::of(RfmScore { r, f, m });
        assert_eq!(s(5, 5, 5), RfmSegment::Champions);
        assert_eq!(s(1, 1, 1), RfmSegment::Lost);
        assert_eq!(s(1, 1, 5), RfmSegment::Hibernating);
        assert_eq!(s(2, 5, 1), RfmSegment::CantLoseThem);
        assert_eq!(s(5, 1, 1), RfmSegment::New);
    }

    #[test]
    fn recency_scores_reward_recent_customers() {
        let inputs: Vec<RfmInput> = (0..5)
            .map(|i| RfmInput {
                since_last: f64::from(i),
                frequency: 1.0,
                monetary: 1.0,
            })
            .collect();
        let s = rfm_scores(&inputs).unwrap();
        assert_eq!(s.iter().map(|s| s.r).collect::<Vec<_>>(), vec![5, 4, 3, 2, 1]);
        let grid = rfm_grid(&s);
        assert_eq!(grid.iter().flatten().sum::<u64>(), 5);
        assert_eq!(grid[4][0], 1);
        let counts = segment_counts(&s);
        assert_eq!(counts.iter().map(|c| c.1).sum::<u64>(), 5);
    }

    #[test]
    fn wallet_share_known_or_unknown() {
        assert_eq!(share_of_wallet(250, Some(1000)), WalletShare::Known(0.25));
        assert_eq!(share_of_wallet(2000, Some(1000)), WalletShare::Known(1.0));
        assert_eq!(share_of_wallet(250, None), WalletShare::Unknown);
        assert_eq!(share_of_wallet(250, Some(0)), WalletShare::Unknown);
    }

    #[test]
    fn tiers_and_pareto_curve() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let t = value_tiers(&v).unwrap();
        assert_eq!(t.tiers[9], ValueTier::Top);
        assert_eq!(t.tiers[8], ValueTier::Top);
        assert_eq!(t.tiers[7], ValueTier::Middle);
        assert_eq!(t.tiers[4], ValueTier::Rest);
        assert!((t.summary[0].2 - 19.0 / 55.0).abs() < 1e-12);
        let shares: f64 = t.summary.iter().map(|s| s.2).sum();
        assert!((shares - 1.0).abs() < 1e-12);
        let c = pareto_curve(&v, 5).unwrap();
        assert_eq!(c[0], (0.0, 0.0));
        assert_eq!(c[5], (1.0, 1.0));
        assert!((c[1].1 - 19.0 / 55.0).abs() < 1e-12);
    }
}
