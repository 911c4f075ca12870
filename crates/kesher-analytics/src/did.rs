//! Difference in differences: the change in an outcome of a treated group between a period
//! before and a period after its treatment, minus the same change in a comparison group over the
//! same calendar periods, with a 95% confidence interval from the per-unit differences. The
//! loyalty program's financial impact (`kesher loyalty report`, docs/loyalty.md) is this estimate
//! over members' monthly spend before and after they enrolled.
//!
//! Units come in cohorts: all units of a cohort share their calendar periods (members who enrolled
//! in the same month, and the non-members observed over those months). Within a cohort, each
//! unit's difference is `post − pre`; the cohort's estimate is the mean difference of its treated
//! units minus that of its comparison units; the overall estimate is the cohorts' estimates
//! weighted by their treated units. Its variance is `Σ w² (s²_t / n_t + s²_c / n_c)` with each
//! group's sample variance of the differences (independent units, a Welch-style standard error),
//! and the interval is the estimate ± 1.96 standard errors.

/// One cohort's units: `(pre, post)` outcomes per unit (e.g. average monthly spend in minor
/// units over the months before and after).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DidCohort {
    pub treated: Vec<(f64, f64)>,
    pub comparison: Vec<(f64, f64)>,
}

/// The estimate and what it is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DidEstimate {
    /// Treated change minus comparison change.
    pub effect: f64,
    pub std_error: f64,
    /// The 95% confidence interval (normal approximation).
    pub ci_low: f64,
    pub ci_high: f64,
    /// The treated units' mean change and the comparison units' (weighted as the effect).
    pub treated_change: f64,
    pub comparison_change: f64,
    /// The treated units' mean outcome before (weighted as the effect).
    pub treated_pre: f64,
    /// Units and cohorts used (a cohort needs at least one unit in each group).
    pub treated: usize,
    pub comparison: usize,
    pub cohorts: usize,
}

/// The normal distribution's 97.5th percentile.
const Z_975: f64 = 1.959_963_984_540_054;

/// Mean and variance of the mean (sample variance / n; 0 for a single unit).
fn mean_and_variance(units: &[(f64, f64)]) -> (f64, f64) {
    let n = units.len() as f64;
    let mean = units.iter().map(|(pre, post)| post - pre).sum::<f64>() / n;
    if units.len() < 2 {
        return (mean, 0.0);
    }
    let ss = units
        .iter()
        .map(|(pre, post)| {
            let d = post - pre - mean;
            d * d
        })
        .sum::<f64>();
    (mean, ss / (n - 1.0) / n)
}

/// The difference-in-differences estimate over `cohorts`; `None` when no cohort has units in
/// both groups.
pub fn difference_in_differences(cohorts: &[DidCohort]) -> Option<DidEstimate> {
    let used: Vec<&DidCohort> = cohorts
        .iter()
        .filter(|c| !c.treated.is_empty() && !c.comparison.is_empty())
        .collect();
    let treated: usize = used.iter().map(|c| c.treated.len()).sum();
    if treated == 0 {
        return None;
    }
    let mut est = DidEstimate {
        effect: 0.0,
        std_error: 0.0,
        ci_low: 0.0,
        ci_high: 0.0,
        treated_change: 0.0,
        comparison_change: 0.0,
        treated_pre: 0.0,
        treated,
        comparison: used.iter().map(|c| c.comparison.len()).sum(),
        cohorts: used.len(),
    };
    let mut variance = 0.0;
    for c in used {
        let w = c.treated.len() as f64 / treated as f64;
        let (mean_t, var_t) = mean_and_variance(&c.treated);
        let (mean_c, var_c) = mean_and_variance(&c.comparison);
        est.treated_change += w * mean_t;
        est.comparison_change += w * mean_c;
        est.treated_pre += w * c.treated.iter().map(|u| u.0).sum::<f64>() / c.treated.len() as f64;
        variance += w * w * (var_t + var_c);
    }
    est.effect = est.treated_change - est.comparison_change;
    est.std_error = variance.sqrt();
    est.ci_low = est.effect - Z_975 * est.std_error;
    est.ci_high = est.effect + Z_975 * est.std_error;
    Some(est)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` units starting at `base`, changing by `change`, each with its own deterministic noise
    /// (mean zero over every 4 units) on both periods.
    fn units(n: usize, base: f64, change: f64) -> Vec<(f64, f64)> {
        const NOISE: [f64; 4] = [-30.0, 10.0, 25.0, -5.0];
        (0..n)
            .map(|i| {
                let pre = base + (i % 7) as f64 * 20.0;
                (pre, pre + change + NOISE[i % 4])
            })
            .collect()
    }

    #[test]
    fn a_known_effect_of_40_is_found_within_its_interval() {
        // Members' spend rises by 50 after enrolment, non-members' by 10 over the same months.
        let cohorts = [
            DidCohort {
                treated: units(40, 200.0, 50.0),
                comparison: units(80, 150.0, 10.0),
            },
            DidCohort {
                treated: units(20, 300.0, 50.0),
                comparison: units(60, 120.0, 10.0),
            },
        ];
        let e = difference_in_differences(&cohorts).unwrap();
        assert!((e.effect - 40.0).abs() < 1e-9, "{e:?}");
        assert!((e.treated_change - 50.0).abs() < 1e-9);
        assert!((e.comparison_change - 10.0).abs() < 1e-9);
        assert!(e.ci_low < 40.0 && 40.0 < e.ci_high, "{e:?}");
        assert!(e.std_error > 0.0);
        assert_eq!((e.treated, e.comparison, e.cohorts), (60, 140, 2));
    }

    #[test]
    fn the_interval_shrinks_with_more_customers() {
        let small = difference_in_differences(&[DidCohort {
            treated: units(8, 200.0, 50.0),
            comparison: units(8, 150.0, 10.0),
        }])
        .unwrap();
        let large = difference_in_differences(&[DidCohort {
            treated: units(800, 200.0, 50.0),
            comparison: units(800, 150.0, 10.0),
        }])
        .unwrap();
        assert!((small.effect - 40.0).abs() < 1e-9 && (large.effect - 40.0).abs() < 1e-9);
        let width = |e: &DidEstimate| e.ci_high - e.ci_low;
        assert!(width(&large) < width(&small) / 5.0, "{small:?} {large:?}");
    }

    #[test]
    fn no_effect_gives_an_interval_containing_zero() {
        let e = difference_in_differences(&[DidCohort {
            treated: units(32, 200.0, 10.0),
            comparison: units(48, 150.0, 10.0),
        }])
        .unwrap();
        assert!(e.effect.abs() < 1e-9);
        assert!(e.ci_low < 0.0 && 0.0 < e.ci_high, "{e:?}");
    }

    #[test]
    fn cohorts_without_both_groups_are_left_out() {
        assert!(difference_in_differences(&[]).is_none());
        let only_treated = DidCohort {
            treated: units(5, 100.0, 1.0),
            comparison: vec![],
        };
        assert!(difference_in_differences(std::slice::from_ref(&only_treated)).is_none());
        let e = difference_in_differences(&[
            only_treated,
            DidCohort {
                treated: vec![(10.0, 20.0)],
                comparison: vec![(10.0, 15.0)],
            },
        ])
        .unwrap();
        assert_eq!((e.effect, e.std_error, e.treated, e.cohorts), (5.0, 0.0, 1, 1));
    }
}
