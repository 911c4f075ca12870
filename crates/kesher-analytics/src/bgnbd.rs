//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): likelihood,
//! fit and predictions, with the formulas of `lifetimes` 0.11.3's `BetaGeoFitter`.

use crate::error::Result;
use crate::fit::{self, Fit, Prepared, check_inputs, finite, positive};
use crate::model::{Model, TransactionModel};
use crate::optim::FitBudget;
use crate::special::{Dual, Real, ln_gamma, ln_hyp2f1};
use crate::summary::CompressedRow;

/// BG/NBD parameters: purchase rate λ ~ Gamma(r, α), dropout probability p ~ Beta(a, b).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbd {
    fn check(&self) -> Result<()> {
        positive("r", self.r)?;
        positive("alpha", self.alpha)?;
        positive("a", self.a)?;
        positive("b", self.b)
    }
}

/// Total log-likelihood over prepared rows, generic over plain or dual numbers.
fn total_ll<T: Real>(p: [T; 4], d: &Prepared) -> Option<T> {
    let [r, alpha, a, b] = p;
    let ln_alpha = alpha.ln();
    let lg_r = r.ln_gamma();
    let lg_ab = (a + b).ln_gamma();
    let lg_b = b.ln_gamma();
    let ln_a = a.ln();
    let per_x: Vec<(T, T)> = d
        .xs
        .iter()
        .map(|&x| {
            let c1 =
                (r + x).ln_gamma() - lg_r + r * ln_alpha + lg_ab + (b + x).ln_gamma() - lg_b - (a + b + x).ln_gamma();
            let c4 = ln_a - (b + (x.max(1.0) - 1.0)).ln();
            (c1, c4)
        })
        .collect();
    let ln_at: Vec<T> = d.ages.iter().map(|&t| (alpha + t).ln()).collect();
    let ln_atx: Vec<T> = d.recencies.iter().map(|&t| (alpha + t).ln()).collect();
    fit::sum_rows(&d.rows, |row| {
        let (c1, c4) = *per_x.get(row.xi as usize)?;
        let rx = r + row.x;
        let a3 = -(rx * *ln_at.get(row.ti as usize)?);
        let ll = if row.x > 0.0 {
            let a4 = c4 - rx * *ln_atx.get(row.ri as usize)?;
            c1 + a3.log_add_exp(a4)
        } else {
            c1 + a3
        };
        Some(ll * row.w)
    })
}

/// Fits BG/NBD by maximum likelihood on compressed rows.
pub fn fit_bgnbd(rows: &[CompressedRow]) -> Result<Fit<BgNbd>> {
    fit_bgnbd_within(rows, &FitBudget::default())
}

/// As [`fit_bgnbd`] within `budget` (iterations and a deadline), from the best of a few starting
/// points drawn from the data's moments.
pub fn fit_bgnbd_within(rows: &[CompressedRow], budget: &FitBudget<'_>) -> Result<Fit<BgNbd>> {
    let data = Prepared::new(rows)?;
    let ll = |p: [Dual<4>; 4]| total_ll(p, &data);
    let (th, loglik, se, iterations) = fit::fit_ml(ll, data.total, &fit::purchase_model_starts(&data, false), budget)?;
    let mk = |v: [f64; 4]| BgNbd {
        r: v[0],
        alpha: v[1],
        a: v[2],
        b: v[3],
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

/// ln of the denominator term (a / (b + x − 1)) ((α+T)/(α+t_x))^(r+x).
fn ln_odds_dead(p: &BgNbd, x: f64, t_x: f64, t: f64) -> f64 {
    p.a.ln() - (p.b + x.max(1.0) - 1.0).ln() + (p.r + x) * ((p.alpha + t).ln() - (p.alpha + t_x).ln())
}

/// ln(1 + e^v), stable.
pub(crate) fn softplus(v: f64) -> f64 {
    v.max(0.0) + (-v.abs()).exp().ln_1p()
}

impl TransactionModel for BgNbd {
    fn model(&self) -> Model {
        Model::BgNbd
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        vec![("r", self.r), ("alpha", self.alpha), ("a", self.a), ("b", self.b)]
    }
    fn expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.check()?;
        check_inputs(x, t_x, t)?;
        if horizon <= 0.0 {
            return Ok(0.0);
        }
        let BgNbd { r, alpha, a, b } = *self;
        let z = horizon / (alpha + t + horizon);
        let lnh = ln_hyp2f1(r + x, b + x, a + b + x - 1.0, z).unwrap_or(f64::NAN);
        let first = (a + b + x - 1.0) / (a - 1.0);
        let second = -(lnh + (r + x) * ((alpha + t).ln() - (alpha + t + horizon).ln())).exp_m1();
        let ln_den = if x > 0.0 {
            softplus(ln_odds_dead(self, x, t_x, t))
        } else {
            0.0
        };
        finite("BG/NBD expected purchases", first * second * (-ln_den).exp())
    }
    fn probability_alive(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.check()?;
        check_inputs(x, t_x, t)?;
        if x == 0.0 {
            return Ok(1.0);
        }
        finite("BG/NBD P(alive)", (-softplus(ln_odds_dead(self, x, t_x, t))).exp())
    }
    fn expected_purchases_new(&self, horizon: f64) -> Result<f64> {
        self.check()?;
        let BgNbd { r, alpha, a, b } = *self;
        let lnh = ln_hyp2f1(r, b, a + b - 1.0, horizon / (alpha + horizon)).unwrap_or(f64::NAN);
        let v = (a + b - 1.0) / (a - 1.0) * -(lnh + r * (alpha.ln() - (alpha + horizon).ln())).exp_m1();
        finite("BG/NBD expected purchases of a new customer", v)
    }
    fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.check()?;
        check_inputs(x, t_x, t)?;
        let BgNbd { r, alpha, a, b } = *self;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + t).ln();
        let ll = if x > 0.0 {
            let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + t_x).ln();
            a1 + a2 + a3.log_add_exp(a4)
        } else {
            a1 + a2 + a3
        };
        finite("BG/NBD log-likelihood", ll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let data = Prepared::new(&fit::testing::sample_rows()).unwrap();
        let theta = [0.243, 4.414, 0.793, 2.426];
        fit::testing::assert_gradient_matches(theta, |p| total_ll(p, &data), |t| total_ll(t, &data));
    }
}
