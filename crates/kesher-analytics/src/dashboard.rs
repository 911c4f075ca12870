//! The dashboard's figures, computed once by the analytics refresh and stored, so that a page
//! reads them instead of recomputing them per request: customers, revenue and margin per
//! lifecycle stage, the moves between stages since the previous month, the value Pareto curve,
//! the CLV distribution, value tiers, and the monthly cohorts' retention.

use serde::{Deserialize, Serialize};

/// One rung of the lifecycle ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageFigures {
    pub stage: String,
    pub customers: u64,
    /// Revenue of the stage's customers up to the analysis, minor units (i128: legacy data
    /// cannot overflow the sum).
    pub revenue_minor: i128,
    /// Margin, when costs are known for any of them.
    pub margin_minor: Option<i128>,
}

/// Customers who moved from one stage to another between two months.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub from: String,
    pub to: String,
    pub customers: u64,
}

/// A class of the CLV distribution: customers whose CLV lies in `[from_minor, to_minor)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClvBin {
    pub from_minor: f64,
    pub to_minor: f64,
    pub customers: u64,
}

/// A value tier: its customers and their share of the total CLV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TierFigures {
    pub tier: String,
    pub customers: u64,
    pub share_of_value: f64,
}

/// A monthly cohort (customers whose first purchase fell in `month`): its size and, for each
/// month since, the share of them who bought in that month (`retention[0]` is 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cohort {
    pub month: String,
    pub customers: u64,
    pub retention: Vec<f64>,
}

/// Everything the dashboard shows, as of one analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Snapshot {
    /// The analysis instant (RFC 3339).
    pub as_of: String,
    /// The month of the analysis and the one before it ("2026-03"), between which `flows` count.
    pub month: String,
    pub previous_month: Option<String>,
    /// Whether the previous month was analysed (its stages recorded), so that `flows` count
    /// real moves; without it every customer would count as "new".
    #[serde(default)]
    pub previous_recorded: bool,
    /// The currency of the amounts (the sales' currency).
    pub currency: Option<String>,
    pub customers: u64,
    pub buyers: u64,
    pub model: String,
    pub stages: Vec<StageFigures>,
    pub flows: Vec<Flow>,
    /// (share of customers, share of CLV), best customers first.
    pub pareto: Vec<(f64, f64)>,
    pub clv_bins: Vec<ClvBin>,
    pub tiers: Vec<TierFigures>,
    pub cohorts: Vec<Cohort>,
}

/// Share of the value that the best `top` share of customers holds, read off the curve.
pub fn share_held_by(pareto: &[(f64, f64)], top: f64) -> Option<f64> {
    let mut prev = (0.0, 0.0);
    for &(x, y) in pareto {
        if x >= top {
            if x - prev.0 <= f64::EPSILON {
                return Some(y);
            }
            return Some(prev.1 + (y - prev.1) * (top - prev.0) / (x - prev.0));
        }
        prev = (x, y);
    }
    pareto.last().map(|p| p.1)
}

/// The CLV distribution in `classes` classes of equal width from 0 to the 99th percentile
/// (the last class also holds everything above it; negative CLVs count in the first). Empty
/// without any finite CLV.
pub fn clv_distribution(values: &[f64], classes: usize) -> Vec<ClvBin> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() || classes == 0 {
        return Vec::new();
    }
    v.sort_by(f64::total_cmp);
    let p99 = v[((v.len() - 1) as f64 * 0.99) as usize].max(0.0);
    let top = if p99 > 0.0 { p99 } else { v[v.len() - 1].max(1.0) };
    let width = top / classes as f64;
    let mut bins: Vec<ClvBin> = (0..classes)
        .map(|i| ClvBin {
            from_minor: width * i as f64,
            to_minor: width * (i + 1) as f64,
            customers: 0,
        })
        .collect();
    for x in v {
        let i = if x <= 0.0 {
            0
        } else {
            ((x / width) as usize).min(classes - 1)
        };
        bins[i].customers += 1;
    }
    bins
}

/// Monthly cohorts from each buyer's purchase months. `months_of[c]` lists the indexes of the
/// months (into `month_names`, oldest first) in which customer c bought, in any order and with
/// repeats; the cohort is the earliest. Cohorts older than `keep` months before the last are
/// left out; each row runs to the last month.
pub fn cohorts(months_of: &[Vec<u32>], month_names: &[String], keep: usize) -> Vec<Cohort> {
    let n = month_names.len();
    if n == 0 {
        return Vec::new();
    }
    // active[cohort][offset] = customers of the cohort active `offset` months after it.
    let mut size = vec![0u64; n];
    let mut active: Vec<Vec<u64>> = (0..n).map(|c| vec![0u64; n - c]).collect();
    let mut seen = Vec::new();
    for ms in months_of {
        let Some(&first) = ms.iter().min() else { continue };
        let first = first as usize;
        if first >= n {
            continue;
        }
        size[first] += 1;
        seen.clear();
        seen.extend(ms.iter().map(|&m| m as usize).filter(|&m| m < n && m >= first));
        seen.sort_unstable();
        seen.dedup();
        for &m in &seen {
            active[first][m - first] += 1;
        }
    }
    let start = n.saturating_sub(keep);
    (start..n)
        .filter(|&c| size[c] > 0)
        .map(|c| Cohort {
            month: month_names[c].clone(),
            customers: size[c],
            retention: active[c].iter().map(|&a| a as f64 / size[c] as f64).collect(),
        })
        .collect()
}

/// Monthly cohorts from counts already aggregated: `counts` holds (cohort month, purchase
/// month, customers) with month indexes into `month_names` as in [`cohorts`].
pub fn cohorts_from_counts(counts: &[(u32, u32, u64)], month_names: &[String], keep: usize) -> Vec<Cohort> {
    let n = month_names.len();
    if n == 0 {
        return Vec::new();
    }
    let mut active: Vec<Vec<u64>> = (0..n).map(|c| vec![0u64; n - c]).collect();
    for &(first, month, customers) in counts {
        let (first, month) = (first as usize, month as usize);
        if first < n && month < n && month >= first {
            active[first][month - first] += customers;
        }
    }
    let start = n.saturating_sub(keep);
    (start..n)
        .filter(|&c| active[c][0] > 0)
        .map(|c| Cohort {
            month: month_names[c].clone(),
            customers: active[c][0],
            retention: active[c].iter().map(|&a| a as f64 / active[c][0] as f64).collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cohorts_count_each_customer_once_per_month_from_their_first() {
        let names: Vec<String> = ["2026-01", "2026-02", "2026-03"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let months = vec![
            vec![0, 0, 2], // January cohort, back in March
            vec![0, 1],    // January, February
            vec![1],       // February only
            vec![],        // never bought
        ];
        let c = cohorts(&months, &names, 12);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].month, "2026-01");
        assert_eq!(c[0].customers, 2);
        assert_eq!(c[0].retention, vec![1.0, 0.5, 0.5]);
        assert_eq!(c[1].customers, 1);
        assert_eq!(c[1].retention, vec![1.0, 0.0]);
        // Only the last month's cohorts when asked to keep one.
        assert!(cohorts(&months, &names, 1).is_empty());
        assert_eq!(cohorts(&months, &names, 2).len(), 1);
        // The same cohorts from the counts a database aggregates.
        let counts = [(0, 0, 2), (0, 1, 1), (0, 2, 1), (1, 1, 1)];
        assert_eq!(cohorts_from_counts(&counts, &names, 12), c);
    }

    #[test]
    fn the_clv_distribution_holds_every_customer_once() {
        let values: Vec<f64> = (0..1000).map(f64::from).chain([-5.0, 1e12, f64::NAN]).collect();
        let bins = clv_distribution(&values, 10);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins.iter().map(|b| b.customers).sum::<u64>(), 1002);
        // The outlier is in the last class, the negative value in the first.
        assert!(bins[9].customers >= 1);
        assert!(bins[0].customers >= 100);
    }

    #[test]
    fn share_held_by_interpolates_the_curve() {
        let curve = [(0.1, 0.5), (0.2, 0.7), (1.0, 1.0)];
        assert!((share_held_by(&curve, 0.2).unwrap_or(0.0) - 0.7).abs() < 1e-12);
        assert!((share_held_by(&curve, 0.15).unwrap_or(0.0) - 0.6).abs() < 1e-12);
        assert!((share_held_by(&curve, 0.05).unwrap_or(0.0) - 0.25).abs() < 1e-12);
    }
}
