//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987): likelihood in log space with a careful
//! Gauss 2F1, fit and predictions, with the formulas of `lifetimes` 0.11.3's `ParetoNBDFitter`.

use crate::error::{AnalyticsError, Result};
use crate::fit::{self, Fit, Prepared, check_inputs, finite, positive};
use crate::model::{Model, TransactionModel};
use crate::optim::FitBudget;
use crate::special::{Dual, FIT_TERMS, PREDICTION_TERMS, Real, ln_gamma, ln_hyp2f1_capped};
use crate::summary::CompressedRow;

/// Pareto/NBD parameters: purchase rate λ ~ Gamma(r, α), dropout rate μ ~ Gamma(s, β).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbd {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

impl ParetoNbd {
    fn check(&self) -> Result<()> {
        positive("r", self.r)?;
        positive("alpha", self.alpha)?;
        positive("s", self.s)?;
        positive("beta", self.beta)
    }
}

/// ln A0 of Fader & Hardie's note (the integral over the dropout time before T); `None`
/// when A0 = 0 (last purchase at T) or on numerical failure.
#[allow(clippy::too_many_arguments)]
fn ln_a0<T: Real>(r: T, alpha: T, s: T, beta: T, x: f64, t_x: f64, t: f64, terms: usize) -> Option<Option<T>> {
    if t <= t_x {
        return Some(None);
    }
    let (mn, mx, up) = if alpha.val() < beta.val() {
        (alpha, beta, r + x)
    } else {
        (beta, alpha, s + 1.0)
    };
    let rsf = r + s + x;
    let diff = mx - mn;
    let q1 = mx + t_x;
    let q2 = mx + t;
    if terms < PREDICTION_TERMS && (diff / q1).val() > 0.95 {
        // Inside a fit, near z = 1 the series is slow: integrate instead.
        return Some(Some(rsf.ln() + ln_a0_integral(r, alpha, s, beta, x, t_x, t)?));
    }
    let l1 = ln_hyp2f1_capped(rsf, up, rsf + 1.0, diff / q1, terms)? - rsf * q1.ln();
    let l2 = ln_hyp2f1_capped(rsf, up, rsf + 1.0, diff / q2, terms)? - rsf * q2.ln();
    if l2.val() >= l1.val() {
        // Round-off when t_x ≈ t: the difference is nil at this precision.
        return Some(None);
    }
    Some(Some(l1.log_sub_exp(l2)))
}

const GL_NODES: [f64; 5] = [
    0.148_874_338_981_631_2,
    0.433_395_394_129_247_2,
    0.679_409_568_299_024_4,
    0.865_063_366_688_984_5,
    0.973_906_528_517_171_7,
];
const GL_WEIGHTS: [f64; 5] = [
    0.295_524_224_714_752_9,
    0.269_266_719_309_996_3,
    0.219_086_362_515_982,
    0.149_451_349_150_580_6,
    0.066_671_344_308_688_1,
];

/// ln ∫ from t_x to t of (α+τ)^−(r+x) (β+τ)^−(s+1) dτ (= ln A0 − ln(r+s+x)) by composite
/// 10-point Gauss-Legendre in v = ln(min(α, β) + τ), summed in log space.
#[allow(clippy::too_many_arguments)]
fn ln_a0_integral<T: Real>(r: T, alpha: T, s: T, beta: T, x: f64, t_x: f64, t: f64) -> Option<T> {
    let (mn, beta_is_min) = if beta.val() <= alpha.val() {
        (beta, true)
    } else {
        (alpha, false)
    };
    let d = if beta_is_min { alpha - beta } else { beta - alpha };
    let v0 = (mn + t_x).ln();
    let v1 = (mn + t).ln();
    let width = (v1 - v0).val();
    if !(width.is_finite() && width > 0.0) {
        return None;
    }
    let rate = (r.val() + x + s.val() + 1.0).sqrt();
    let panels = ((width * 4.0 * (1.0 + rate / 8.0)).ceil() as usize).clamp(4, 256);
    let h = (v1 - v0) / panels as f64;
    // ln of the integrand in v (the Jacobian e^v folded in).
    let ln_g = |v: T| -> T {
        let ln_d_ev = (d + v.exp()).ln();
        if beta_is_min {
            -((r + x) * ln_d_ev) - s * v
        } else {
            -((r + (x - 1.0)) * v) - (s + 1.0) * ln_d_ev
        }
    };
    let mut terms: Vec<T> = Vec::with_capacity(panels * 10);
    for k in 0..panels {
        let mid = v0 + h * (k as f64 + 0.5);
        for (node, w) in GL_NODES.iter().zip(GL_WEIGHTS) {
            for sign in [-1.0, 1.0] {
                let v = mid + h * (0.5 * sign * node);
                terms.push(ln_g(v) + (h * (0.5 * w)).ln());
            }
        }
    }
    let m = terms.iter().map(|t| t.val()).fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return None;
    }
    let mut acc = T::zero();
    for t in &terms {
        acc = acc + (*t - m).exp();
    }
    Some(acc.ln() + m)
}

/// One customer's log-likelihood minus A1's x-only part, i.e. ln(L) − A1.
fn ll_tail<T: Real>(p: [T; 4], x: f64, t_x: f64, t: f64, terms: usize) -> Option<T> {
    let [r, alpha, s, beta] = p;
    let first = -((r + x) * (alpha + t).ln()) - s * (beta + t).ln();
    match ln_a0(r, alpha, s, beta, x, t_x, t, terms)? {
        None => Some(first),
        Some(la0) => Some(first.log_add_exp(s.ln() + la0 - (r + s + x).ln())),
    }
}

fn total_ll<T: Real>(p: [T; 4], d: &Prepared) -> Option<T> {
    let [r, alpha, s, beta] = p;
    let base = -r.ln_gamma() + r * alpha.ln() + s * beta.ln();
    let per_x: Vec<T> = d.xs.iter().map(|&x| (r + x).ln_gamma() + base).collect();
    fit::sum_rows(&d.rows, |row| {
        let a1 = *per_x.get(row.xi as usize)?;
        Some((a1 + ll_tail(p, row.x, row.tx, row.t, FIT_TERMS)?) * row.w)
    })
}

/// Fits Pareto/NBD by maximum likelihood on compressed rows.
pub fn fit_pareto_nbd(rows: &[CompressedRow]) -> Result<Fit<ParetoNbd>> {
    fit_pareto_nbd_within(rows, &FitBudget::default())
}

/// As [`fit_pareto_nbd`] within `budget` (iterations and a deadline), from the best of a few starting
/// points drawn from the data's moments.
pub fn fit_pareto_nbd_within(rows: &[CompressedRow], budget: &FitBudget<'_>) -> Result<Fit<ParetoNbd>> {
    let data = Prepared::new(rows)?;
    let ll = |p: [Dual<4>; 4]| total_ll(p, &data);
    let (th, loglik, se, iterations) = fit::fit_ml(ll, data.total, &fit::purchase_model_starts(&data, true), budget)?;
    let mk = |v: [f64; 4]| ParetoNbd {
        r: v[0],
        alpha: v[1],
        s: v[2],
        beta: v[3],
    };
    Ok(Fit {
        params: mk(th),
        std_errors: se.map(mk),
        log_likelihood: loglik,
        customers: data.total as u64,
        rows: data.rows.len(),
        iterations,
        excluded: 0,
    })
}

/// (1 − e^(k u)) / k, with its limit −u at k = 0.
fn one_minus_exp_over(k: f64, u: f64) -> f64 {
    if k.abs() < 1e-12 { -u } else { -(k * u).exp_m1() / k }
}

impl TransactionModel for ParetoNbd {
    fn model(&self) -> Model {
        Model::ParetoNbd
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("r", self.r), ("alpha", self.alpha), ("s", self.s), ("beta", self.beta)]
    }
    fn expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> Result<f64> {
        let ll = self.log_likelihood(x, t_x, t)?;
        if horizon <= 0.0 {
            return Ok(0.0);
        }
        let ParetoNbd { r, alpha, s, beta } = *self;
        let first = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
            - (r + x) * (alpha + t).ln()
            - s * (beta + t).ln();
        let second = (r + x).ln() + (beta + t).ln() - (alpha + t).ln();
        let u = (beta + t).ln() - (beta + t + horizon).ln();
        let third = one_minus_exp_over(s - 1.0, u).ln();
        finite("Pareto/NBD expected purchases", (first + second + third - ll).exp())
    }
    fn probability_alive(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.check()?;
        check_inputs(x, t_x, t)?;
        let ParetoNbd { r, alpha, s, beta } = *self;
        let la0 = ln_a0(r, alpha, s, beta, x, t_x, t, PREDICTION_TERMS).ok_or(AnalyticsError::Numerical {
            what: "Pareto/NBD hypergeometric term",
        })?;
        let Some(la0) = la0 else {
            return Ok(1.0);
        };
        let v = s.ln() - (r + s + x).ln() + (r + x) * (alpha + t).ln() + s * (beta + t).ln() + la0;
        finite("Pareto/NBD P(alive)", (-crate::bgnbd::softplus(v)).exp())
    }
    fn expected_purchases_new(&self, horizon: f64) -> Result<f64> {
        self.check()?;
        let ParetoNbd { r, alpha, s, beta } = *self;
        let u = beta.ln() - (beta + horizon).ln();
        finite(
            "Pareto/NBD expected purchases of a new customer",
            r * beta / alpha * one_minus_exp_over(s - 1.0, u),
        )
    }
    fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.check()?;
        check_inputs(x, t_x, t)?;
        let ParetoNbd { r, alpha, s, beta } = *self;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
        let tail = ll_tail([r, alpha, s, beta], x, t_x, t, PREDICTION_TERMS).ok_or(AnalyticsError::Numerical {
            what: "Pareto/NBD log-likelihood",
        })?;
        finite("Pareto/NBD log-likelihood", a1 + tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_agrees_with_the_series() {
        for (r, alpha, s, beta, x, t_x, t) in [
            (0.553, 10.578, 0.606, 11.669, 2.0, 30.43, 38.86),
            (0.553, 10.578, 0.606, 11.669, 0.0, 0.0, 38.86),
            (0.7, 40.0, 1.3, 2.0, 5.0, 3.0, 80.0),
            (0.7, 0.5, 1.3, 200.0, 30.0, 10.0, 20.0),
            // z = 0.9999: hundreds of thousands of series terms.
            (0.5, 100.0, 0.5, 0.01, 0.0, 0.0, 50.0),
            (0.5, 100.0, 0.5, 0.01, 3.0, 0.0, 50.0),
        ] {
            let series = ln_a0(r, alpha, s, beta, x, t_x, t, PREDICTION_TERMS).unwrap().unwrap();
            let integral = (r + s + x).ln() + ln_a0_integral(r, alpha, s, beta, x, t_x, t).unwrap();
            assert!(
                (series - integral).abs() < 1e-10 * series.abs().max(1.0),
                "{series} vs {integral}"
            );
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let data = Prepared::new(&fit::testing::sample_rows()).unwrap();
        for theta in [[0.553, 10.578, 0.606, 11.669], [0.553, 14.0, 1.6, 3.0]] {
            fit::testing::assert_gradient_matches(theta, |p| total_ll(p, &data), |t| total_ll(t, &data));
        }
    }
}
