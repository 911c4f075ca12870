//! kesher's customer analytics: transaction summaries, buy-till-you-die models, CLV, RFM,
//! the lifecycle ladder and calibration checks, as pure functions.
//!
//! Nothing here does I/O, reads a clock or draws random numbers: data, `now` and settings come
//! in as arguments. The numbers follow the BTYD literature and Python `lifetimes` 0.11.3 so
//! that results can be checked against both (the tests reproduce the published CDNOW fits).
//!
//! # Usage
//!
//! From transactions grouped by customer, build summaries with [`summarize`], compress them
//! to distinct rows with [`compress`], fit a purchase model with [`Model::fit`] (or
//! [`fit_bgnbd`], [`fit_pareto_nbd`], [`fit_mbgnbd`]) and a spend model with
//! [`fit_gamma_gamma`], then score every customer with [`score_customers`]:
//!
//! ```
//! use kesher_analytics::*;
//! // CDNOW: columns ID,frequency,recency,T (weeks)
//! let csv = include_str!("../tests/fixtures/cdnow_customers_summary.csv");
//! let records = parse_summary_csv(csv)?;
//! let rows = compress(&records)?.rows;
//! let fit = Model::BgNbd.fit(&rows)?;
//! for (name, value) in fit.params() {
//!     println!("{name} = {value:.3}"); // r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
//! }
//! assert_eq!((fit.fit_log_likelihood() * 10.0).round() / 10.0, -9582.4);
//! let p_alive = fit.probability_alive(2.0, 30.43, 38.86)?;
//! assert!((0.0..=1.0).contains(&p_alive));
//! # Ok::<(), AnalyticsError>(())
//! ```
//!
//! `kesher models fit --model bgnbd|pareto-nbd|mbgnbd|gamma-gamma --summary FILE.csv` is
//! [`parse_summary_csv`] then [`fit_report`], printing its parameters and log-likelihood.
//! `kesher analyze` is [`summarize_slice`] (or the streaming [`summarize`]), [`compress`],
//! [`Model::fit`], [`fit_gamma_gamma`], [`score_compressed`], then [`rfm_scores`],
//! [`value_tiers`] and [`LadderRules::stage`] per customer. The ladder's monthly history is
//! [`stages_as_of`] at each month end, and [`TransitionMatrix::between`] gives the moves and
//! flows between two of them. [`holdout_table`] and [`assess_models`] check the models on a
//! calibration/holdout split ([`SummaryConfig::calibration_end`]).
//!
//! Definitions follow `lifetimes` 0.11.3 exactly (see [`summarize`]); time is in periods of
//! [`PeriodUnit`] divided by [`SummaryConfig::multiplier`]; money stays in integer minor units
//! up to the summary, whose means are `f64` in minor units (scale as you like before fitting
//! Gamma-Gamma: its `v` scales with the unit, `p` and `q` do not).

mod bgnbd;
mod calibration;
mod clv;
pub mod dashboard;
mod did;
mod error;
mod fit;
mod gamma_gamma;
mod ladder;
mod mbgnbd;
mod model;
mod optim;
mod pareto_nbd;
pub mod report;
mod rfm;
mod special;
mod summary;

pub use bgnbd::{BgNbd, fit_bgnbd, fit_bgnbd_within};
pub use calibration::{
    HoldoutRow, ModelAssessment, actual_cumulative_repeats, assess_models, expected_cumulative_repeats, holdout_table,
};
pub use clv::{
    ClvOptions, CustomerScore, ScoreOptions, customer_lifetime_value, discounted_expected_purchases, score_compressed,
    score_customers,
};
pub use did::{DidCohort, DidEstimate, difference_in_differences};
pub use error::AnalyticsError;
pub use fit::{Fit, FittedBgNbd, FittedGammaGamma, FittedMbgNbd, FittedParetoNbd};
pub use gamma_gamma::{GammaGamma, fit_gamma_gamma, fit_gamma_gamma_within};
pub use ladder::{LadderInput, LadderRules, Stage, TransitionMatrix, stages_as_of};
pub use mbgnbd::{ModifiedBgNbd, fit_mbgnbd, fit_mbgnbd_within};
pub use model::{
    FitReport, FittedModel, MAX_RELATIVE_SE, MODEL_NAMES, Model, RowPrediction, TransactionModel, fit_report,
    fit_report_within, predict_rows,
};
pub use optim::FitBudget;
pub use pareto_nbd::{ParetoNbd, fit_pareto_nbd, fit_pareto_nbd_within};
pub use rfm::{
    RfmInput, RfmScore, RfmSegment, ValueTier, ValueTiers, WalletShare, pareto_curve, rfm_grid, rfm_scores,
    segment_counts, share_of_wallet, value_tiers,
};
pub use special::{digamma, ln_gamma};
pub use summary::{
    Compressed, CompressedRow, CustomerSummary, HoldoutSummary, LeftOut, PeriodUnit, Summaries, SummaryConfig,
    SummaryRecord, Transaction, compress, group_by_customer, parse_summary_csv, summarize, summarize_reporting,
    summarize_slice, summarize_slice_reporting,
};
