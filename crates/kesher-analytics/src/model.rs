//! The transaction (purchase-count) models behind one trait, and a `Model` switch for callers.

use rayon::prelude::*;

use crate::bgnbd::BgNbd;
use crate::error::{AnalyticsError, Result};
use crate::fit::Fit;
use crate::mbgnbd::ModifiedBgNbd;
use crate::optim::FitBudget;
use crate::pareto_nbd::ParetoNbd;
use crate::summary::CompressedRow;

/// Which purchase-count model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Model {
    /// Fader, Hardie & Lee (2005).
    BgNbd,
    /// Schmittlein, Morrison & Colombo (1987).
    ParetoNbd,
    /// Batislam, Denizel & Filiztekin (2007).
    ModifiedBgNbd,
}

impl Model {
    pub const ALL: [Model; 3] = [Model::BgNbd, Model::ParetoNbd, Model::ModifiedBgNbd];

    /// The CLI spelling: `bgnbd`, `pareto-nbd`, `mbgnbd`.
    pub fn name(self) -> &'static str {
        match self {
            Model::BgNbd => "bgnbd",
            Model::ParetoNbd => "pareto-nbd",
            Model::ModifiedBgNbd => "mbgnbd",
        }
    }

    /// Parses the CLI spelling.
    pub fn parse(s: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.name() == s)
    }

    /// Fits this model on compressed rows.
    pub fn fit(self, rows: &[CompressedRow]) -> Result<FittedModel> {
        self.fit_within(rows, &FitBudget::default())
    }

    /// Fits this model on compressed rows within `budget` (iterations and a deadline).
    pub fn fit_within(self, rows: &[CompressedRow], budget: &FitBudget<'_>) -> Result<FittedModel> {
        Ok(match self {
            Model::BgNbd => FittedModel::BgNbd(crate::bgnbd::fit_bgnbd_within(rows, budget)?),
            Model::ParetoNbd => FittedModel::ParetoNbd(crate::pareto_nbd::fit_pareto_nbd_within(rows, budget)?),
            Model::ModifiedBgNbd => FittedModel::ModifiedBgNbd(crate::mbgnbd::fit_mbgnbd_within(rows, budget)?),
        })
    }
}

/// Predictions of a purchase-count model for one customer with `x` repeat purchases, last at
/// `t_x`, observed for `t` (model time units). Every method returns a finite number or an error.
pub trait TransactionModel: Send + Sync {
    fn model(&self) -> Model;
    /// Parameter names and values, in the literature's order.
    fn params(&self) -> Vec<(&'static str, f64)>;
    /// Expected repeat purchases in the next `horizon` given the customer's history.
    fn expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> Result<f64>;
    /// Probability the customer is still active.
    fn probability_alive(&self, x: f64, t_x: f64, t: f64) -> Result<f64>;
    /// Expected repeat purchases of a new customer over `horizon`.
    fn expected_purchases_new(&self, horizon: f64) -> Result<f64>;
    /// Log-likelihood of one customer's history.
    fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> Result<f64>;
}

impl<P: TransactionModel> TransactionModel for Fit<P> {
    fn model(&self) -> Model {
        self.params.model()
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        self.params.params()
    }
    fn expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.params.expected_purchases(horizon, x, t_x, t)
    }
    fn probability_alive(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.params.probability_alive(x, t_x, t)
    }
    fn expected_purchases_new(&self, horizon: f64) -> Result<f64> {
        self.params.expected_purchases_new(horizon)
    }
    fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.params.log_likelihood(x, t_x, t)
    }
}

/// The largest standard error, relative to the parameter, of a fit that
/// [`FittedModel::check_identified`] accepts: beyond it the 95 % interval of the parameter spans
/// many orders of magnitude.
pub const MAX_RELATIVE_SE: f64 = 10.0;

/// Any fitted purchase-count model.
#[derive(Debug, Clone, PartialEq)]
pub enum FittedModel {
    BgNbd(Fit<BgNbd>),
    ParetoNbd(Fit<ParetoNbd>),
    ModifiedBgNbd(Fit<ModifiedBgNbd>),
}

impl FittedModel {
    fn inner(&self) -> &dyn TransactionModel {
        match self {
            FittedModel::BgNbd(f) => f,
            FittedModel::ParetoNbd(f) => f,
            FittedModel::ModifiedBgNbd(f) => f,
        }
    }
    /// Total log-likelihood of the fit.
    pub fn fit_log_likelihood(&self) -> f64 {
        match self {
            FittedModel::BgNbd(f) => f.log_likelihood,
            FittedModel::ParetoNbd(f) => f.log_likelihood,
            FittedModel::ModifiedBgNbd(f) => f.log_likelihood,
        }
    }
    /// Standard errors in the order of `params()`, when available.
    pub fn std_errors(&self) -> Option<Vec<(&'static str, f64)>> {
        match self {
            FittedModel::BgNbd(f) => f.std_errors.map(|p| p.params()),
            FittedModel::ParetoNbd(f) => f.std_errors.map(|p| p.params()),
            FittedModel::ModifiedBgNbd(f) => f.std_errors.map(|p| p.params()),
        }
    }
    /// Whether the data determine every parameter: the log-likelihood's Hessian is positive
    /// definite at the optimum (an interior maximum, not a slope running off to a boundary) and
    /// no parameter's standard error exceeds [`MAX_RELATIVE_SE`] times its value. A fit that
    /// fails this (typically a handful of customers, or almost no repeat purchases) still has
    /// finite numbers, but its predictions are arbitrary.
    pub fn check_identified(&self) -> Result<()> {
        let Some(se) = self.std_errors() else {
            return Err(AnalyticsError::NotIdentifiable {
                reason: "the likelihood has no proper maximum (its Hessian is not positive definite)".into(),
            });
        };
        for ((name, v), (_, e)) in self.params().iter().zip(&se) {
            if !e.is_finite() || *e > MAX_RELATIVE_SE * v {
                return Err(AnalyticsError::NotIdentifiable {
                    reason: format!("{name} = {v:.4e} has a standard error of {e:.3e}"),
                });
            }
        }
        Ok(())
    }
    /// Optimiser iterations the fit took.
    pub fn iterations(&self) -> usize {
        match self {
            FittedModel::BgNbd(f) => f.iterations,
            FittedModel::ParetoNbd(f) => f.iterations,
            FittedModel::ModifiedBgNbd(f) => f.iterations,
        }
    }
    /// Customers the fit used.
    pub fn customers(&self) -> u64 {
        match self {
            FittedModel::BgNbd(f) => f.customers,
            FittedModel::ParetoNbd(f) => f.customers,
            FittedModel::ModifiedBgNbd(f) => f.customers,
        }
    }
    /// AIC (all three models have four parameters).
    pub fn aic(&self) -> f64 {
        8.0 - 2.0 * self.fit_log_likelihood()
    }
    /// BIC.
    pub fn bic(&self) -> f64 {
        4.0 * (self.customers().max(1) as f64).ln() - 2.0 * self.fit_log_likelihood()
    }
}

impl TransactionModel for FittedModel {
    fn model(&self) -> Model {
        self.inner().model()
    }
    fn params(&self) -> Vec<(&'static str, f64)> {
        self.inner().params()
    }
    fn expected_purchases(&self, horizon: f64, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.inner().expected_purchases(horizon, x, t_x, t)
    }
    fn probability_alive(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.inner().probability_alive(x, t_x, t)
    }
    fn expected_purchases_new(&self, horizon: f64) -> Result<f64> {
        self.inner().expected_purchases_new(horizon)
    }
    fn log_likelihood(&self, x: f64, t_x: f64, t: f64) -> Result<f64> {
        self.inner().log_likelihood(x, t_x, t)
    }
}

/// One compressed row's predictions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowPrediction {
    pub expected_purchases: f64,
    pub probability_alive: f64,
}

/// Expected purchases over `horizon` and P(alive) for every row, in parallel.
pub fn predict_rows(model: &dyn TransactionModel, rows: &[CompressedRow], horizon: f64) -> Result<Vec<RowPrediction>> {
    if !(horizon.is_finite() && horizon >= 0.0) {
        return Err(AnalyticsError::InvalidArgument {
            name: "horizon",
            reason: "must be a finite number ≥ 0".into(),
        });
    }
    rows.par_iter()
        .map(|r| {
            let x = f64::from(r.frequency);
            Ok(RowPrediction {
                expected_purchases: model.expected_purchases(horizon, x, r.recency, r.t)?,
                probability_alive: model.probability_alive(x, r.recency, r.t)?,
            })
        })
        .collect()
}

impl Model {
    /// The model at given parameters (by name, in any order; e.g. read back from
    /// `kesher models fit --json`), for predictions without fitting. Every parameter the model
    /// has must be present, finite and > 0; unknown names are refused.
    pub fn at_params(self, params: &[(String, f64)]) -> Result<Box<dyn TransactionModel>> {
        let names: &[&'static str] = match self {
            Model::BgNbd | Model::ModifiedBgNbd => &["r", "alpha", "a", "b"],
            Model::ParetoNbd => &["r", "alpha", "s", "beta"],
        };
        let v = named_params(names, params)?;
        let [p0, p1, p2, p3] = [v[0], v[1], v[2], v[3]];
        Ok(match self {
            Model::BgNbd => Box::new(BgNbd {
                r: p0,
                alpha: p1,
                a: p2,
                b: p3,
            }),
            Model::ParetoNbd => Box::new(ParetoNbd {
                r: p0,
                alpha: p1,
                s: p2,
                beta: p3,
            }),
            Model::ModifiedBgNbd => Box::new(ModifiedBgNbd {
                r: p0,
                alpha: p1,
                a: p2,
                b: p3,
            }),
        })
    }
}

impl crate::gamma_gamma::GammaGamma {
    /// Gamma-Gamma at given parameters `p`, `q`, `v` (by name, in any order).
    pub fn at_params(params: &[(String, f64)]) -> Result<crate::gamma_gamma::GammaGamma> {
        let v = named_params(&["p", "q", "v"], params)?;
        let gg = crate::gamma_gamma::GammaGamma {
            p: v[0],
            q: v[1],
            v: v[2],
        };
        gg.population_mean()?;
        Ok(gg)
    }
}

/// The values of `names`, in that order, from (name, value) pairs; each present once, finite
/// and > 0, no other name.
fn named_params(names: &[&'static str], params: &[(String, f64)]) -> Result<Vec<f64>> {
    if let Some((k, _)) = params.iter().find(|(k, _)| !names.contains(&k.as_str())) {
        return Err(AnalyticsError::InvalidArgument {
            name: "params",
            reason: format!("unknown parameter {k:?}; expected {}", names.join(", ")),
        });
    }
    names
        .iter()
        .map(|&n| {
            let v = params.iter().find(|(k, _)| k == n).map(|(_, v)| *v).ok_or_else(|| {
                AnalyticsError::InvalidArgument {
                    name: "params",
                    reason: format!("missing parameter {n}"),
                }
            })?;
            crate::fit::positive(n, v)?;
            Ok(v)
        })
        .collect()
}

/// A fit as the CLI prints it: `kesher models fit --model NAME --summary FILE.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct FitReport {
    /// `bgnbd`, `pareto-nbd`, `mbgnbd` or `gamma-gamma`.
    pub model: &'static str,
    pub params: Vec<(&'static str, f64)>,
    pub std_errors: Option<Vec<(&'static str, f64)>>,
    pub log_likelihood: f64,
    /// Customers the fit used (for gamma-gamma, those with repeat purchases and a positive
    /// mean repeat spend).
    pub customers: u64,
    /// Customers left out (gamma-gamma: repeat customers whose mean spend is not positive).
    pub excluded: u64,
}

/// Model names accepted by [`fit_report`].
pub const MODEL_NAMES: [&str; 4] = ["bgnbd", "pareto-nbd", "mbgnbd", "gamma-gamma"];

/// Fits the model named `model` (one of [`MODEL_NAMES`]) on summary records, e.g. from
/// [`crate::parse_summary_csv`].
pub fn fit_report(model: &str, records: &[crate::SummaryRecord]) -> Result<FitReport> {
    fit_report_within(model, records, &FitBudget::default())
}

/// As [`fit_report`] within `budget`.
pub fn fit_report_within(model: &str, records: &[crate::SummaryRecord], budget: &FitBudget<'_>) -> Result<FitReport> {
    if model == "gamma-gamma" {
        let f = crate::gamma_gamma::fit_gamma_gamma_within(records, budget)?;
        return Ok(FitReport {
            model: "gamma-gamma",
            params: f.params.params(),
            std_errors: f.std_errors.map(|p| p.params()),
            log_likelihood: f.log_likelihood,
            customers: f.customers,
            excluded: f.excluded,
        });
    }
    let m = Model::parse(model).ok_or_else(|| AnalyticsError::InvalidArgument {
        name: "model",
        reason: format!("unknown model {model:?}; expected one of {}", MODEL_NAMES.join(", ")),
    })?;
    let rows = crate::summary::compress(records)?.rows;
    let f = m.fit_within(&rows, budget)?;
    Ok(FitReport {
        model: m.name(),
        params: f.params(),
        std_errors: f.std_errors(),
        log_likelihood: f.fit_log_likelihood(),
        customers: f.customers(),
        excluded: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(v: &[(&str, f64)]) -> Vec<(String, f64)> {
        v.iter().map(|(k, x)| ((*k).to_owned(), *x)).collect()
    }

    #[test]
    fn a_model_at_given_parameters_predicts_and_bad_parameters_are_refused() {
        let bg = named(&[("b", 2.426), ("a", 0.793), ("alpha", 4.414), ("r", 0.243)]);
        let m = Model::BgNbd.at_params(&bg).unwrap();
        assert_eq!(
            m.params(),
            vec![("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)]
        );
        assert!((0.0..=1.0).contains(&m.probability_alive(2.0, 30.43, 38.86).unwrap()));
        let refused = |p: &[(&str, f64)]| Model::ParetoNbd.at_params(&named(p)).is_err();
        assert!(refused(&[("r", 1.0), ("alpha", 1.0), ("s", 1.0)]));
        assert!(refused(&[("r", 1.0), ("alpha", 1.0), ("s", 1.0), ("beta", -1.0)]));
        assert!(refused(&[
            ("r", 1.0),
            ("alpha", 1.0),
            ("s", 1.0),
            ("beta", 1.0),
            ("a", 1.0)
        ]));
        assert!(!refused(&[("r", 1.0), ("alpha", 1.0), ("s", 1.0), ("beta", 1.0)]));
        assert!(crate::GammaGamma::at_params(&named(&[("p", 6.0), ("q", 3.7), ("v", 15.0)])).is_ok());
        // q ≤ 1: the mean spend is infinite.
        assert!(crate::GammaGamma::at_params(&named(&[("p", 6.0), ("q", 0.5), ("v", 15.0)])).is_err());
    }
}
