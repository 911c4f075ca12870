//! Shared maximum-likelihood machinery: prepared data tables, the fit driver (BFGS on log
//! parameters with exact gradients from dual numbers) and standard errors from the Hessian.

use rayon::prelude::*;

use crate::error::{AnalyticsError, Result};
use crate::optim;
use crate::special::{Dual, Real};
use crate::summary::CompressedRow;

/// A fitted model: parameters, standard errors, log-likelihood and fit statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit<P> {
    pub params: P,
    /// Asymptotic standard errors from the inverse Hessian of the log-likelihood
    /// (natural scale); `None` when the Hessian is not positive definite.
    pub std_errors: Option<P>,
    /// Total log-likelihood over all customers.
    pub log_likelihood: f64,
    /// Number of customers (sum of row counts) the fit used.
    pub customers: u64,
    /// Number of distinct rows the fit ran on.
    pub rows: usize,
    pub iterations: usize,
    /// Customers left out of the fit: for Gamma-Gamma, the repeat customers whose mean repeat
    /// spend is not positive (Fader, Hardie & Lee 2005 fit it on positive spend only); 0 for
    /// the purchase models, which use every customer.
    pub excluded: u64,
}

impl<P> Fit<P> {
    /// Akaike information criterion, 2k − 2 LL.
    pub fn aic(&self, k: usize) -> f64 {
        2.0 * k as f64 - 2.0 * self.log_likelihood
    }
    /// Bayesian information criterion, k ln n − 2 LL.
    pub fn bic(&self, k: usize) -> f64 {
        k as f64 * (self.customers.max(1) as f64).ln() - 2.0 * self.log_likelihood
    }
}

/// A fitted BG/NBD model.
pub type FittedBgNbd = Fit<crate::BgNbd>;
/// A fitted Pareto/NBD model.
pub type FittedParetoNbd = Fit<crate::ParetoNbd>;
/// A fitted MBG/NBD model.
pub type FittedMbgNbd = Fit<crate::ModifiedBgNbd>;
/// A fitted Gamma-Gamma model.
pub type FittedGammaGamma = Fit<crate::GammaGamma>;

/// A compressed row with indices into the tables of distinct values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PRow {
    pub xi: u32,
    pub ri: u32,
    pub ti: u32,
    pub x: f64,
    pub tx: f64,
    pub t: f64,
    pub w: f64,
}

/// Rows plus their distinct frequencies, recencies and ages, so that terms depending on one
/// of them are computed once per distinct value.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub xs: Vec<f64>,
    pub recencies: Vec<f64>,
    pub ages: Vec<f64>,
    pub rows: Vec<PRow>,
    pub total: f64,
}

fn distinct(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v.dedup();
    v
}

fn index_of(table: &[f64], v: f64) -> u32 {
    table.partition_point(|&x| x < v) as u32
}

impl Prepared {
    pub fn new(rows: &[CompressedRow]) -> Result<Self> {
        if rows.is_empty() {
            return Err(AnalyticsError::NoData);
        }
        for (i, r) in rows.iter().enumerate() {
            crate::summary::SummaryRecord {
                frequency: r.frequency,
                recency: r.recency,
                t: r.t,
                monetary_value: None,
            }
            .validate(i + 1)?;
        }
        let xs = distinct(rows.iter().map(|r| f64::from(r.frequency)).collect());
        let recencies = distinct(rows.iter().map(|r| r.recency + 0.0).collect());
        let ages = distinct(rows.iter().map(|r| r.t + 0.0).collect());
        let prows: Vec<PRow> = rows
            .iter()
            .filter(|r| r.count > 0)
            .map(|r| {
                let x = f64::from(r.frequency);
                PRow {
                    xi: index_of(&xs, x),
                    ri: index_of(&recencies, r.recency + 0.0),
                    ti: index_of(&ages, r.t + 0.0),
                    x,
                    tx: r.recency,
                    t: r.t,
                    w: r.count as f64,
                }
            })
            .collect();
        let total: f64 = prows.iter().map(|r| r.w).sum();
        if prows.is_empty() {
            return Err(AnalyticsError::NoData);
        }
        // Without a single repeat purchase the likelihood grows without bound towards "nobody
        // ever buys again" (r → 0): an optimiser stops somewhere on that slope and predicts
        // nonsense, so it is refused here.
        if prows.iter().all(|r| r.x == 0.0) {
            return Err(AnalyticsError::NotIdentifiable {
                reason: "no customer has made a repeat purchase yet".into(),
            });
        }
        Ok(Prepared {
            xs,
            recencies,
            ages,
            rows: prows,
            total,
        })
    }
}

/// Candidate starting points (log scale) for the four-parameter purchase models, from the
/// data's moments: the mean purchase rate λ̄ = Σx / ΣT fixes α = r / λ̄ (BG/NBD, MBG/NBD:
/// `dropout` false) and, for Pareto/NBD (`dropout` true), the last two are (s, β) with the
/// mean lifetime β / s spread around the mean age. The all-ones point is always a candidate.
pub(crate) fn purchase_model_starts(data: &Prepared, dropout: bool) -> Vec<[f64; 4]> {
    let (mut x, mut t) = (0.0, 0.0);
    for r in &data.rows {
        x += r.w * r.x;
        t += r.w * r.t;
    }
    let mut starts = vec![[0.0; 4]];
    let rate = x / t;
    let mean_t = t / data.total;
    if !(rate.is_finite() && rate > 0.0 && mean_t.is_finite() && mean_t > 0.0) {
        return starts;
    }
    // Each candidate costs one pass over the data, about one optimiser iteration: a few
    // well-spread ones, the rate always matched to the data's.
    for (r, c, d) in [(1.0, 0.5, 0.5), (1.0, 1.0, 3.0), (0.25, 1.0, 10.0), (4.0, 3.0, 1.0)] {
        let alpha: f64 = r / rate;
        let (c, d): (f64, f64) = if dropout { (c, c * d * mean_t) } else { (c, d) };
        starts.push([f64::ln(r), alpha.ln(), c.ln(), d.ln()]);
    }
    starts
}

/// Sums `f(row)` over rows, in parallel when there are many; `None` if any row fails.
pub(crate) fn sum_rows<T, R, F>(rows: &[R], f: F) -> Option<T>
where
    T: Real,
    R: Sync,
    F: Fn(&R) -> Option<T> + Sync,
{
    const CHUNK: usize = 4096;
    let chunk_sum = |c: &[R]| -> Option<T> {
        let mut acc = T::zero();
        for r in c {
            acc = acc + f(r)?;
        }
        Some(acc)
    };
    if rows.len() <= 2 * CHUNK {
        return chunk_sum(rows);
    }
    let parts: Option<Vec<T>> = rows.par_chunks(CHUNK).map(chunk_sum).collect();
    Some(parts?.into_iter().fold(T::zero(), |a, b| a + b))
}

/// Total log-likelihood and its gradient with respect to the natural parameters.
pub(crate) fn value_and_grad<const N: usize, F>(theta: &[f64; N], ll: &F) -> Result<(f64, [f64; N])>
where
    F: Fn([Dual<N>; N]) -> Option<Dual<N>>,
{
    let p: [Dual<N>; N] = std::array::from_fn(|i| Dual::var(theta[i], i));
    let v = ll(p).ok_or(AnalyticsError::Numerical { what: "log-likelihood" })?;
    if !v.v.is_finite() || v.d.iter().any(|g| !g.is_finite()) {
        return Err(AnalyticsError::Numerical { what: "log-likelihood" });
    }
    Ok((v.v, v.d))
}

/// The raw outcome of [`fit_ml`]: natural parameters, log-likelihood, standard errors and
/// iterations.
pub(crate) type MlFit<const N: usize> = ([f64; N], f64, Option<[f64; N]>, usize);

/// Fits by maximum likelihood: BFGS on log parameters from the best of `starts` (log scale,
/// natural parameters' logarithms), within `budget`. `ll` is the total log-likelihood at
/// natural parameters; `total` the customer count.
pub(crate) fn fit_ml<const N: usize, F>(
    ll: F,
    total: f64,
    starts: &[[f64; N]],
    budget: &optim::FitBudget<'_>,
) -> Result<MlFit<N>>
where
    F: Fn([Dual<N>; N]) -> Option<Dual<N>>,
{
    let objective = |phi: &[f64; N]| -> Result<(f64, [f64; N])> {
        if phi.iter().any(|v| v.abs() > 50.0) {
            return Err(AnalyticsError::Numerical {
                what: "parameters out of range",
            });
        }
        let theta = phi.map(f64::exp);
        let (v, g) = value_and_grad(&theta, &ll)?;
        let grad: [f64; N] = std::array::from_fn(|i| -g[i] * theta[i] / total);
        Ok((-v / total, grad))
    };
    // The start: the candidate with the highest likelihood (one evaluation each).
    let mut start = starts.first().copied().unwrap_or([0.0; N]);
    let mut best = f64::INFINITY;
    for candidate in starts {
        if budget.expired() {
            return Err(AnalyticsError::BudgetExhausted { iterations: 0 });
        }
        if let Ok((v, _)) = objective(candidate)
            && v < best
        {
            best = v;
            start = *candidate;
        }
    }
    // A start near a flat ridge can stall where the first candidate (the all-ones point) does
    // not: on a failure to converge, that one is tried too.
    let first = starts.first().copied().unwrap_or(start);
    let m = match optim::minimize(objective, start, budget) {
        Err(AnalyticsError::DidNotConverge { .. }) if first != start => optim::minimize(objective, first, budget)?,
        other => other?,
    };
    let theta = m.x.map(f64::exp);
    let (loglik, _) = value_and_grad(&theta, &ll)?;
    let neg_grad = |th: &[f64; N]| -> Result<[f64; N]> {
        let (_, g) = value_and_grad(th, &ll)?;
        Ok(g.map(|v| -v))
    };
    let se = optim::hessian_from_gradient(neg_grad, &theta)
        .ok()
        .and_then(|h| optim::spd_inverse(&h))
        .map(|inv| std::array::from_fn(|i| inv[i][i].sqrt()))
        .filter(|se: &[f64; N]| se.iter().all(|v| v.is_finite()));
    Ok((theta, loglik, se, m.iterations))
}

/// Validates a parameter: finite and > 0.
pub(crate) fn positive(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(AnalyticsError::InvalidArgument {
            name,
            reason: format!("must be a positive finite number, got {v}"),
        })
    }
}

/// Validates prediction inputs.
pub(crate) fn check_inputs(x: f64, t_x: f64, t: f64) -> Result<()> {
    let ok = x.is_finite()
        && x >= 0.0
        && t_x.is_finite()
        && t_x >= 0.0
        && t.is_finite()
        && t >= t_x
        && (x > 0.0 || t_x == 0.0);
    if ok {
        Ok(())
    } else {
        Err(AnalyticsError::InvalidArgument {
            name: "frequency, recency, T",
            reason: format!("need 0 ≤ recency ≤ T and recency = 0 when frequency = 0, got ({x}, {t_x}, {t})"),
        })
    }
}

/// Returns `v` if finite, else a numerical error naming `what`.
pub(crate) fn finite(what: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(AnalyticsError::Numerical { what })
    }
}

/// Test helpers shared by the model modules.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A small CDNOW-like set of compressed rows, extremes included.
    pub(crate) fn sample_rows() -> Vec<CompressedRow> {
        [
            (0, 0.0, 38.86, 1400),
            (1, 1.71, 38.86, 30),
            (2, 30.43, 38.86, 12),
            (7, 30.0, 32.0, 3),
            (30, 38.0, 38.0, 1),
        ]
        .iter()
        .map(|&(frequency, recency, t, count)| CompressedRow {
            frequency,
            recency,
            t,
            count,
        })
        .collect()
    }

    /// The analytic value and gradient of a log-likelihood at `theta` equal the plain
    /// evaluation and central finite differences.
    pub(crate) fn assert_gradient_matches(
        theta: [f64; 4],
        ll: impl Fn([Dual<4>; 4]) -> Option<Dual<4>>,
        f: impl Fn([f64; 4]) -> Option<f64>,
    ) {
        let f = |t: [f64; 4]| f(t).unwrap();
        let (v, g) = value_and_grad(&theta, &ll).unwrap();
        assert!((v - f(theta)).abs() < 1e-9 * v.abs());
        for i in 0..4 {
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
