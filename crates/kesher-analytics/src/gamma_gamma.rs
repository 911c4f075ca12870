//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005; Fader & Hardie 2013): fit on customers
//! with repeat purchases and the conditional expected average spend, as `lifetimes` 0.11.3.

use rayon::prelude::*;

use crate::error::{AnalyticsError, Result};
use crate::fit::{self, Fit, finite, positive};
use crate::optim::FitBudget;
use crate::special::{Dual, Real, ln_gamma};
use crate::summary::SummaryRecord;

/// Gamma-Gamma parameters: transaction values ~ Gamma(p, ν), ν ~ Gamma(q, γ); `v` is γ.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

struct GgRow {
    m: f64,
    w: f64,
}

/// Rows with the same frequency, and the frequency-only sums of the likelihood.
struct XGroup {
    x: f64,
    start: usize,
    end: usize,
    /// Σ w and Σ w ln m over the group.
    w: f64,
    w_ln_m: f64,
}

/// Σ w ln(x m + v) and its derivative in v, per frequency group, at the value of `v`.
fn log_terms(groups: &[XGroup], rows: &[GgRow], v: f64) -> Vec<(f64, f64)> {
    let sums = |x: f64, rs: &[GgRow]| {
        let mut a = 0.0;
        let mut b = 0.0;
        for r in rs {
            let u = x * r.m + v;
            a += r.w * u.ln();
            b += r.w / u;
        }
        (a, b)
    };
    groups
        .iter()
        .map(|g| {
            let rs = rows.get(g.start..g.end).unwrap_or(&[]);
            if rs.len() < 16_384 {
                sums(g.x, rs)
            } else {
                rs.par_chunks(8_192)
                    .map(|c| sums(g.x, c))
                    .reduce(|| (0.0, 0.0), |p, q| (p.0 + q.0, p.1 + q.1))
            }
        })
        .collect()
}

/// Total log-likelihood: per-row work is one logarithm in plain `f64`, lifted to `T` by its
/// first-order expansion in v (exact in value and first derivatives).
fn total_ll<T: Real>(th: [T; 3], groups: &[XGroup], rows: &[GgRow]) -> Option<T> {
    let [p, q, v] = th;
    let lg_q = q.ln_gamma();
    let q_ln_v = q * v.ln();
    let vv = v.val();
    let logs = log_terms(groups, rows, vv);
    let mut acc = T::zero();
    for (g, &(a, b)) in groups.iter().zip(&logs) {
        let px = p * g.x;
        let per_row = (px + q).ln_gamma() - px.ln_gamma() - lg_q + q_ln_v + px * g.x.ln();
        let sum_ln = (v - vv) * b + a;
        acc = acc + per_row * g.w + (px - 1.0) * g.w_ln_m - (px + q) * sum_ln;
    }
    if acc.val().is_finite() { Some(acc) } else { None }
}

/// Fits Gamma-Gamma on the records with at least one repeat purchase and a positive mean
/// repeat spend, as Fader, Hardie & Lee prescribe ("RFM and CLV", 2005); their
/// `monetary_value` is required. Repeat customers whose mean spend is zero or negative (free
/// items, refunds netting to zero) are left out and counted in [`Fit::excluded`]; customers
/// without repeat purchases are skipped.
pub fn fit_gamma_gamma(records: &[SummaryRecord]) -> Result<Fit<GammaGamma>> {
    fit_gamma_gamma_within(records, &FitBudget::default())
}

/// As [`fit_gamma_gamma`] within `budget`, from the best of a few starting points with the
/// population mean spend p γ / (q − 1) equal to the sample's.
pub fn fit_gamma_gamma_within(records: &[SummaryRecord], budget: &FitBudget<'_>) -> Result<Fit<GammaGamma>> {
    let (mut groups, mut rows, customers, excluded) = prepare(records)?;
    let total = customers as f64;
    // Spend is fitted in units of the mean spend: p and q do not depend on the unit, γ scales
    // with it, and each customer's log-likelihood moves by −ln(unit). In minor units (spend in
    // the thousands) the optimiser needed several times the iterations for the same optimum.
    let unit = rows.iter().map(|r| r.m * r.w).sum::<f64>() / total;
    if !(unit.is_finite() && unit > 0.0) {
        return Err(AnalyticsError::InvalidArgument {
            name: "monetary_value",
            reason: "the mean spend of repeat customers must be a positive number".into(),
        });
    }
    let ln_unit = unit.ln();
    for r in &mut rows {
        r.m /= unit;
    }
    for g in &mut groups {
        g.w_ln_m -= g.w * ln_unit;
    }
    let ll = |th: [Dual<3>; 3]| total_ll(th, &groups, &rows);
    let (th, loglik, se, iterations) = fit::fit_ml(ll, total, &spend_starts(), budget)?;
    let mk = |v: [f64; 3]| GammaGamma {
        p: v[0],
        q: v[1],
        v: v[2] * unit,
    };
    Ok(Fit {
        params: mk(th),
        std_errors: se.map(mk),
        log_likelihood: loglik - total * ln_unit,
        customers: customers as u64,
        rows: rows.len(),
        iterations,
        excluded,
    })
}

/// Starting points (log scale) in units of the mean spend: p γ / (q − 1) = 1, the method of
/// moments' mean, with p (how tightly a customer's purchases cluster around their own mean) and
/// q (how much customers' means vary) on a grid; the all-ones point first.
fn spend_starts() -> Vec<[f64; 3]> {
    let mut starts = vec![[0.0; 3]];
    // Few candidates: at a million customers each costs one logarithm per repeat customer.
    for p in [1.0_f64, 5.0] {
        for q in [2.0_f64, 5.0] {
            starts.push([p.ln(), q.ln(), ((q - 1.0) / p).ln()]);
        }
    }
    starts
}

/// Repeat customers' (frequency, mean spend) as distinct rows grouped by frequency, the number
/// of repeat customers fitted, and the number left out for a spend that is not positive.
fn prepare(records: &[SummaryRecord]) -> Result<(Vec<XGroup>, Vec<GgRow>, usize, u64)> {
    let mut keys: Vec<(u32, u64)> = Vec::with_capacity(records.len());
    let mut excluded = 0u64;
    for (i, r) in records.iter().enumerate() {
        r.validate(i + 1)?;
        if r.frequency == 0 {
            continue;
        }
        let m = r.monetary_value.ok_or_else(|| AnalyticsError::Invalid {
            line: i + 1,
            column: 4,
            field: "monetary_value".into(),
            reason: "required for the Gamma-Gamma model".into(),
        })?;
        if m <= 0.0 {
            excluded += 1;
            continue;
        }
        keys.push((r.frequency, (m + 0.0).to_bits()));
    }
    if keys.is_empty() {
        return Err(AnalyticsError::NoData);
    }
    keys.par_sort_unstable();
    let mut rows: Vec<GgRow> = Vec::new();
    let mut groups: Vec<XGroup> = Vec::new();
    let mut prev = None;
    for &(f, mb) in &keys {
        let m = f64::from_bits(mb);
        if groups.last().is_none_or(|g| g.x != f64::from(f)) {
            groups.push(XGroup {
                x: f64::from(f),
                start: rows.len(),
                end: rows.len(),
                w: 0.0,
                w_ln_m: 0.0,
            });
        }
        if let Some(g) = groups.last_mut() {
            g.w += 1.0;
            g.w_ln_m += m.ln();
        }
        if prev == Some((f, mb)) {
            if let Some(last) = rows.last_mut() {
                last.w += 1.0;
            }
            continue;
        }
        prev = Some((f, mb));
        rows.push(GgRow { m, w: 1.0 });
        if let Some(g) = groups.last_mut() {
            g.end = rows.len();
        }
    }
    Ok((groups, rows, keys.len(), excluded))
}

impl GammaGamma {
    /// Parameter names and values.
    pub fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("p", self.p), ("q", self.q), ("v", self.v)]
    }

    fn check(&self) -> Result<()> {
        positive("p", self.p)?;
        positive("q", self.q)?;
        positive("v", self.v)?;
        if self.q <= 1.0 {
            return Err(AnalyticsError::InvalidArgument {
                name: "q",
                reason: "the mean spend is infinite when q ≤ 1".into(),
            });
        }
        Ok(())
    }

    /// Mean spend per transaction across the population, p v / (q − 1).
    pub fn population_mean(&self) -> Result<f64> {
        self.check()?;
        finite("Gamma-Gamma population mean", self.v * self.p / (self.q - 1.0))
    }

    /// Expected average spend of a customer with `frequency` repeat purchases averaging
    /// `monetary_value` (ignored when `frequency` is 0): lifetimes'
    /// `conditional_expected_average_profit`, the population mean shrunk towards the
    /// customer's own. A mean below zero (refunds exceeding sales) counts as 0: the model's
    /// spend is never negative.
    pub fn expected_average_spend(&self, frequency: f64, monetary_value: f64) -> Result<f64> {
        let pop = self.population_mean()?;
        if frequency <= 0.0 {
            return Ok(pop);
        }
        if !monetary_value.is_finite() {
            return Err(AnalyticsError::InvalidArgument {
                name: "monetary_value",
                reason: "must be a finite number".into(),
            });
        }
        let monetary_value = monetary_value.max(0.0);
        let w = self.p * frequency / (self.p * frequency + self.q - 1.0);
        finite("Gamma-Gamma expected spend", (1.0 - w) * pop + w * monetary_value)
    }

    /// Log-likelihood of one customer's mean spend.
    pub fn log_likelihood(&self, frequency: f64, monetary_value: f64) -> Result<f64> {
        self.check()?;
        let (p, q, v, x, m) = (self.p, self.q, self.v, frequency, monetary_value);
        let ll =
            ln_gamma(p * x + q) - ln_gamma(p * x) - ln_gamma(q) + q * v.ln() + (p * x - 1.0) * m.ln() + p * x * x.ln()
                - (p * x + q) * (x * m + v).ln();
        finite("Gamma-Gamma log-likelihood", ll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_positive_mean_spend_is_left_out_and_counted() {
        let rec = |frequency, m| SummaryRecord {
            frequency,
            recency: if frequency > 0 { 1.0 } else { 0.0 },
            t: 2.0,
            monetary_value: Some(m),
        };
        let records = [
            rec(1, 12.0),
            rec(2, 0.0),
            rec(3, -4.0),
            rec(0, 0.0),
            rec(9, 100.0),
            rec(2, 30.0),
        ];
        let (_, _, n, excluded) = prepare(&records).unwrap();
        assert_eq!((n, excluded), (3, 2));
        let gg = GammaGamma {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        };
        // lifetimes' conditional_expected_average_profit at m = 0: the population mean shrunk.
        let w = 6.25 * 2.0 / (6.25 * 2.0 + 3.74 - 1.0);
        let pop = gg.population_mean().unwrap();
        assert!((gg.expected_average_spend(2.0, 0.0).unwrap() - (1.0 - w) * pop).abs() < 1e-12);
        assert_eq!(
            gg.expected_average_spend(2.0, -4.0),
            gg.expected_average_spend(2.0, 0.0)
        );
    }

    #[test]
    fn likelihood_and_gradient_are_exact() {
        let records: Vec<SummaryRecord> = [(1, 12.0), (1, 12.0), (2, 30.5), (5, 8.25), (0, 0.0), (9, 100.0)]
            .iter()
            .map(|&(frequency, m)| SummaryRecord {
                frequency,
                recency: if frequency > 0 { 1.0 } else { 0.0 },
                t: 2.0,
                monetary_value: Some(m),
            })
            .collect();
        let (groups, rows, n, excluded) = prepare(&records).unwrap();
        assert_eq!((n, excluded), (5, 0));
        let theta = [6.25, 3.74, 15.44];
        let gg = GammaGamma {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        };
        let direct: f64 = records
            .iter()
            .filter(|r| r.frequency > 0)
            .map(|r| {
                gg.log_likelihood(f64::from(r.frequency), r.monetary_value.unwrap())
                    .unwrap()
            })
            .sum();
        let f = |t: [f64; 3]| total_ll(t, &groups, &rows).unwrap();
        assert!((f(theta) - direct).abs() < 1e-10 * direct.abs());
        let ll = |p: [Dual<3>; 3]| total_ll(p, &groups, &rows);
        let (_, g) = fit::value_and_grad(&theta, &ll).unwrap();
        for i in 0..3 {
            let h = 1e-6 * theta[i];
            let (mut up, mut dn) = (theta, theta);
            up[i] += h;
            dn[i] -= h;
            let num = (f(up) - f(dn)) / (2.0 * h);
            assert!(
                (g[i] - num).abs() < 1e-5 * num.abs().max(1.0),
                "param {i}: {} vs {num}",
                g[i]
            );
        }
    }
}
