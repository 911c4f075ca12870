//! Modified BG/NBD (Batislam, Denizel & Filiztekin 2007): likelihood, fit and predictions,
//! with the formulas of `lifetimes` 0.11.3's `ModifiedBetaGeoFitter`.

use crate::bgnbd::softplus;
use crate::error::Result;
use crate::fit::{self, Fit, Prepared, check_inputs, finite, positive};
use crate::model::{Model, TransactionModel};
use crate::optim::FitBudget;
use crate::special::{Dual, Real, ln_gamma, ln_hyp2f1};
use crate::summary::CompressedRow;

/// MBG/NBD parameters: as BG/NBD, but a customer may also drop out right after the first
/// purchase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModifiedBgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl ModifiedBgNbd {
    fn check(&self) -> Result<()> {
        positive("r", self.r)?;
        positive("alpha", self.alpha)?;
        positive("a", self.a)?;
        positive("b", self.b)
    }
}

fn total_ll<T: Real>(p: [T; 4], d: &Prepared) -> Option<T> {
    let [r, alpha, a, b] = p;
    let ln_alpha = alpha.ln();
    let lg_r = r.ln_gamma();
    let lg_ab = (a + b).ln_gamma();
    let lg_b = b.ln_gamma();
    let ln_a = a.ln();
    let per_x: Vec<(T, T)> =
        d.xs.iter()
            .map(|&x| {
                let c1 = (r + x).ln_gamma() - lg_r + r * ln_alpha + lg_ab + (b + (x + 1.0)).ln_gamma()
                    - lg_b
                    - (a + b + (x + 1.0)).ln_gamma();
                let c4 = ln_a - (b + x).ln();
                (c1, c4)
            })
            .collect();
    let ln_at: Vec<T> = d.ages.iter().map(|&t| (alpha + t).ln()).collect();
    let ln_atx: Vec<T> = d.recencies.iter().map(|&t| (alpha + t).ln()).collect();
    fit::sum_rows(&d.rows, |row| {
        let (c1, c4) = *per_x.get(row.xi as usize)?;
        let rx = r + row.x;
        let lt = *ln_at.get(row.ti as usize)?;
        let ltx = *ln_atx.get(row.ri as usize)?;
        let a3 = -(rx * lt);
        let a4 = c4 + rx * (lt - ltx);
        Some((c1 + a3 + a4.log_add_exp(T::zero())) * row.w)
    })
}

/// Fits MBG/NBD by maximum likelihood on compressed rows.
pub fn fit_mbgnbd(rows: &[CompressedRow]) -> Result<Fit<ModifiedBgNbd>> {
    fit_mbgnbd_within(rows, &FitBudget::default())
}

/// As [`fit_mbgnbd`] within `budget` (iterations and a deadline), from the best of a few starting
/// points drawn from the data's moments.
pub fn fit_mbgnbd_within(rows: &[CompressedRow], budget: &FitBudget<'_>) -> Result<Fit<ModifiedBgNbd>> {
    let data = Prepared::new(rows)?;
    let ll = |p: [Dual<4>; 4]| total_ll(p, &data);
    let (th, loglik, se, iterations) = fit::fit_ml(ll, data.total, &fit::purchase_model_starts(&data, false), budget)?;
    let mk = |v: [f64; 4]| ModifiedBgNbd {
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

fn ln_odds_dead(p: &ModifiedBgNbd, x: f64, t_x: f64, t: f64) -> f64 {
    p.a.ln() - (p.b + x).ln() + (p.r + x) * ((p.alpha + t).ln() - (p.alpha + t_x).ln())
}

impl TransactionModel for ModifiedBgNbd {
    fn model(&self) -> Model {
        Model::ModifiedBgNbd
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
        let ModifiedBgNbd { r, alpha, a, b } = *self;
        let z = horizon / (alpha + t + horizon);
        let lnh = ln_hyp2f1(r + x, b + x + 1.0, a + b + x, z).unwrap_or(f64::NAN);
        let first = (a + b + x) / (a - 1.0);
        let second = -(lnh + (r + x) * ((alpha + t).ln() - (alpha + t + horizon).ln())).exp_m1();
        let ln_den = softplus(ln_odds_dead(self, x, t_x, t));
        finite("MBG/NBD expected purchases", first * second * (-ln_den).exp())
    }
    fn probability_alive(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.check()?;
        check_inputs(x, t_x, t)?;
        finite("MBG/NBD P(alive)", (-softplus(ln_odds_dead(self, x, t_x, t))).exp())
    }
    fn expected_purchases_new(&self, horizon: f64) -> Result<f64> {
        self.check()?;
        let ModifiedBgNbd { r, alpha, a, b } = *self;
        let lnh = ln_hyp2f1(r, b + 1.0, a + b, horizon / (alpha + horizon)).unwrap_or(f64::NAN);
        let v = b / (a - 1.0) * -(lnh + r * (alpha.ln() - (alpha + horizon).ln())).exp_m1();
        finite("MBG/NBD expected purchases of a new customer", v)
    }
    fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.check()?;
        check_inputs(x, t_x, t)?;
        let ModifiedBgNbd { r, alpha, a, b } = *self;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x + 1.0) - ln_gamma(b) - ln_gamma(a + b + x + 1.0);
        let a3 = -(r + x) * (alpha + t).ln();
        let a4 = ln_odds_dead(self, x, t_x, t);
        finite("MBG/NBD log-likelihood", a1 + a2 + a3 + softplus(a4))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_finite_differences() {
        let data = Prepared::new(&fit::testing::sample_rows()).unwrap();
        let theta = [0.525, 6.183, 0.891, 1.614];
        fit::testing::assert_gradient_matches(theta, |p| total_ll(p, &data), |t| total_ll(t, &data));
    }
}
