//! `analyze`: the customer-analytics refresh. Reads every sale, builds the customer summary,
//! fits the purchase model (BG/NBD, Pareto/NBD or MBG/NBD) and the Gamma-Gamma spend model,
//! scores every customer (P(alive), expected purchases, CLV), assigns RFM scores and segments,
//! value tiers and the lifecycle stage, and stores the results with the month's stage history.

use crate::App;
use kesher_analytics::{
    ClvOptions, CustomerSummary, FitBudget, FittedModel, HoldoutSummary, LadderInput, LadderRules, LeftOut, Model,
    PeriodUnit, RfmInput, RfmSegment, ScoreOptions, Summaries, SummaryConfig, SummaryRecord, Transaction as Purchase,
    TransactionModel, ValueTier, compress, fit_gamma_gamma_within, group_by_customer, rfm_scores, score_compressed,
    summarize_slice_reporting, value_tiers,
};
use kesher_core::CustomerId;
use kesher_store::{Actor, CustomerScore, PROSPECT, PurchaseSummary, StoreError, SummaryPeriod, SummaryRequest};
use rayon::prelude::*;
use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    pub as_of: jiff::Timestamp,
    pub unit: PeriodUnit,
    pub model: Model,
    /// Horizon of "expected purchases", in periods (default a year: 52 weeks or 365 days).
    pub horizon: f64,
    /// CLV: months ahead, monthly discount rate, and the share of spend that is profit.
    pub clv_months: u32,
    pub monthly_discount_rate: f64,
    pub margin: f64,
    pub ladder: LadderRules,
    /// Also compute the stage history of every past month since the first purchase (month-end
    /// stages, as the rules would have placed customers then) and record it.
    pub backfill_history: bool,
    /// What the model fits may spend together: wall-clock time (Gamma-Gamma, fitted first, may
    /// take a quarter; the purchase models share what is left, each taking the rest divided by
    /// the models left when its turn comes) and optimiser iterations per fit.
    pub fit_budget: FitLimits,
    /// Told the name of each step as it begins (the CLI shows a spinner for a slow one).
    pub progress: Progress,
    /// The job running this refresh, when one does: each step is then also recorded for the
    /// analytics page (`report::PROGRESS_KEY`).
    pub progress_job: Option<String>,
}

/// The model fits' budget: see [`AnalyzeOptions::fit_budget`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitLimits {
    pub wall_clock: std::time::Duration,
    pub iterations_per_fit: usize,
}

impl Default for FitLimits {
    /// 20 s in all, 1000 iterations per fit.
    fn default() -> Self {
        FitLimits {
            wall_clock: std::time::Duration::from_secs(20),
            iterations_per_fit: 1000,
        }
    }
}

/// A callback told the name of each analyze step as it begins.
#[derive(Clone, Default)]
pub struct Progress(Option<std::sync::Arc<dyn Fn(&'static str) + Send + Sync>>);

impl Progress {
    pub fn new(f: impl Fn(&'static str) + Send + Sync + 'static) -> Self {
        Progress(Some(std::sync::Arc::new(f)))
    }
    /// Reports that `step` begins.
    pub fn step(&self, step: &'static str) {
        if let Some(f) = &self.0 {
            f(step);
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Progress(..)"
        } else {
            "Progress(none)"
        })
    }
}

/// How one model's fit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitOutcome {
    /// Converged, identified, and every customer scored: the model used.
    Converged,
    /// Its share of the budget (time or iterations) ran out first.
    BudgetExhausted,
    /// Converged (or not) to a point that does not determine the parameters: no finite optimum,
    /// a Hessian that is not positive definite, or huge standard errors.
    NotIdentifiable,
    /// Anything else: the optimiser did not converge, a numerical failure, scoring failed.
    Failed,
}

impl FitOutcome {
    pub fn name(self) -> &'static str {
        match self {
            FitOutcome::Converged => "converged",
            FitOutcome::BudgetExhausted => "budget_exhausted",
            FitOutcome::NotIdentifiable => "not_identifiable",
            FitOutcome::Failed => "failed",
        }
    }
}

/// One model tried by the refresh.
#[derive(Debug, Clone, PartialEq)]
pub struct FitAttempt {
    /// `bgnbd`, `pareto-nbd`, `mbgnbd` or `gamma-gamma`.
    pub model: &'static str,
    pub outcome: FitOutcome,
    /// When the optimiser reached a point (converged or not identifiable).
    pub log_likelihood: Option<f64>,
    pub iterations: usize,
    pub seconds: f64,
    /// The error, when the fit was not used.
    pub reason: Option<String>,
}

fn outcome_of(e: &kesher_analytics::AnalyticsError) -> (FitOutcome, usize) {
    use kesher_analytics::AnalyticsError as E;
    match e {
        E::BudgetExhausted { iterations } => (FitOutcome::BudgetExhausted, *iterations),
        E::NotIdentifiable { .. } => (FitOutcome::NotIdentifiable, 0),
        E::DidNotConverge { iterations, .. } => (FitOutcome::Failed, *iterations),
        _ => (FitOutcome::Failed, 0),
    }
}

/// The customer attribute holding the estimated spend per year on what the business sells: a
/// decimal amount in major units of the sales' currency, as a JSON string ("12000.00") or a
/// number. Share of wallet = the customer's sales of the year up to `as_of` / this estimate.
pub const WALLET_ATTRIBUTE: &str = "estimated_annual_spend";

/// The window of actual spend that share of wallet compares with the annual estimate.
const WALLET_WINDOW_SECONDS: i64 = 365 * 86_400;

impl AnalyzeOptions {
    pub fn new(as_of: jiff::Timestamp, unit: PeriodUnit, model: Model) -> Self {
        let (horizon, ladder) = match unit {
            PeriodUnit::Week => (52.0, LadderRules::default()),
            PeriodUnit::Day => {
                let w = LadderRules::default();
                (
                    365.0,
                    LadderRules {
                        one_time_at_risk_after: w.one_time_at_risk_after * 7.0,
                        one_time_defected_after: 365.0,
                        ..w
                    },
                )
            }
        };
        AnalyzeOptions {
            as_of,
            unit,
            model,
            horizon,
            clv_months: 12,
            monthly_discount_rate: 0.01,
            margin: 1.0,
            ladder,
            backfill_history: false,
            fit_budget: FitLimits::default(),
            progress: Progress::default(),
            progress_job: None,
        }
    }
}

/// What a refresh did, for the person who ran it.
#[derive(Debug, Clone)]
pub struct AnalyzeReport {
    pub customers: usize,
    pub buyers: usize,
    pub transactions: usize,
    /// The purchase model used (`none` when no model could be fitted on these sales).
    pub model: &'static str,
    pub params: Vec<(&'static str, f64)>,
    /// `None` when no purchase model could be fitted.
    pub log_likelihood: Option<f64>,
    /// Why the model asked for was not used (it could not be fitted on these sales: too few
    /// customers, or no repeat purchases), and what was done instead.
    pub model_note: Option<String>,
    /// What the value tiers rank by: `clv`, or `revenue` (past sales) when no CLV is known.
    pub tiers_by: &'static str,
    /// Every model fit tried, in order (purchase models, then gamma-gamma).
    pub attempts: Vec<FitAttempt>,
    /// Gamma-Gamma p, q, v when it could be fitted.
    pub spend_params: Option<Vec<(&'static str, f64)>>,
    /// What the spend model left out (repeat customers whose mean spend is not positive), or
    /// why it could not be fitted.
    pub spend_note: Option<String>,
    /// Customers per stage, in ladder order.
    pub stages: Vec<(&'static str, usize)>,
    /// (tier, customers, share of total CLV).
    pub tiers: Vec<(&'static str, usize, f64)>,
    /// Customers with a usable wallet estimate (share of wallet known).
    pub wallets: usize,
    /// Customers whose figures cannot be represented (sums of sales written before kesher's
    /// bounds that pass i64), with the figure: `revenue` — the customer is left out of this run
    /// —, `margin` — their margin is left empty. The run goes on without them.
    pub left_out: Vec<(CustomerId, &'static str)>,
    /// Past months whose stage history was computed (`backfill_history`).
    pub backfilled_months: usize,
    /// (step, seconds).
    pub timings: Vec<(&'static str, f64)>,
    /// The saved segments evaluated again on the new scores (`App::refresh_segment_history`);
    /// `Err` with the reason when that failed (the analysis itself stands).
    pub segments: Result<crate::segments::history::SegmentRefresh, String>,
}

/// Why a customer was left out of a run, for the figure [`AnalyzeReport::left_out`] names.
pub fn left_out_reason(figure: &str) -> &'static str {
    match figure {
        "margin" => "the margin of their sales does not fit in 64 bits (sales from before kesher's bounds): left empty",
        _ => "the sum of their sales does not fit in 64 bits (sales from before kesher's bounds): left out of this run",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("analytics: {0}")]
    Analytics(#[from] kesher_analytics::AnalyticsError),
    #[error("no sales by identified customers up to {0}: nothing to analyse")]
    NoSales(jiff::Timestamp),
}

impl AnalyzeError {
    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            AnalyzeError::Store(e) => e.code(),
            AnalyzeError::Analytics(e) => e.code(),
            AnalyzeError::NoSales(_) => "analyze.no_sales",
        }
    }
    /// The message's named arguments.
    pub fn params(&self) -> kesher_core::Params {
        match self {
            AnalyzeError::Store(e) => e.params(),
            AnalyzeError::Analytics(e) => e.params(),
            AnalyzeError::NoSales(as_of) => kesher_core::params!(as_of = as_of.to_string()),
        }
    }
}

/// What [`fit_purchase_model`] did: the fit used and what `apply` made of it, the note for the
/// person who ran it, and every model tried.
pub struct PurchaseFit<T> {
    pub fitted: Option<(FittedModel, T)>,
    pub note: Option<String>,
    pub attempts: Vec<FitAttempt>,
}

/// Fits `wanted` and hands the fit to `apply` (scoring every customer); when either fails on
/// these sales (no repeat purchases yet, a handful of customers, a likelihood without a finite
/// optimum, the budget spent), the other purchase models are tried in [`Model::ALL`]'s order.
/// The models share `wall_clock` (each gets the rest divided by the models left) and each may
/// take `limits.iterations_per_fit` iterations. The note says what failed and what was done
/// instead; without any model the refresh still runs: P(alive), expected purchases and CLV stay
/// empty, the ladder follows each customer's purchase rhythm alone and the value tiers rank
/// past revenue.
pub fn fit_purchase_model<T>(
    wanted: Model,
    rows: &[kesher_analytics::CompressedRow],
    limits: &FitLimits,
    wall_clock: std::time::Duration,
    apply: impl Fn(&FittedModel) -> Result<T, kesher_analytics::AnalyticsError>,
) -> PurchaseFit<T> {
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut attempts = Vec::new();
    let order: Vec<Model> = std::iter::once(wanted)
        .chain(Model::ALL.into_iter().filter(|m| *m != wanted))
        .collect();
    for (k, &m) in order.iter().enumerate() {
        let t = Instant::now();
        let share = wall_clock.saturating_sub(started.elapsed()) / (order.len() - k) as u32;
        let deadline = move || t.elapsed() >= share;
        let budget = FitBudget::iterations(limits.iterations_per_fit).with_deadline(&deadline);
        let fit = m.fit_within(rows, &budget);
        let (ll, iterations) = fit
            .as_ref()
            .map_or((None, 0), |f| (Some(f.fit_log_likelihood()), f.iterations()));
        let done = fit.and_then(|f| {
            f.check_identified()?;
            apply(&f).map(|t| (f, t))
        });
        let (outcome, reason, iterations) = match &done {
            Ok(_) => (FitOutcome::Converged, None, iterations),
            Err(e) => {
                let (outcome, its) = outcome_of(e);
                (outcome, Some(e.to_string()), iterations.max(its))
            }
        };
        attempts.push(FitAttempt {
            model: m.name(),
            outcome,
            log_likelihood: ll,
            iterations,
            seconds: t.elapsed().as_secs_f64(),
            reason,
        });
        match done {
            Ok(done) => {
                let note =
                    (!failures.is_empty()).then(|| format!("{}; {} used instead", failures.join("; "), m.name()));
                return PurchaseFit {
                    fitted: Some(done),
                    note,
                    attempts,
                };
            }
            Err(e) => failures.push(format!("{} could not be fitted on these sales ({e})", m.name())),
        }
    }
    let note = format!(
        "{}; without a purchase model P(alive), expected purchases and CLV are left empty, the \
         ladder follows each customer's purchase rhythm alone and value tiers rank past revenue",
        failures.join("; ")
    );
    PurchaseFit {
        fitted: None,
        note: Some(note),
        attempts,
    }
}

fn tier_name(t: ValueTier) -> &'static str {
    match t {
        ValueTier::Top => "top",
        ValueTier::Middle => "middle",
        ValueTier::Rest => "rest",
    }
}

impl App {
    /// Run the whole refresh and store the results.
    pub fn analyze(&self, o: &AnalyzeOptions) -> Result<AnalyzeReport, AnalyzeError> {
        let mut timings = Vec::new();
        let clock = Instant::now();
        let ran_at = self.now();
        let end = o.as_of.as_second();
        let cfg = SummaryConfig {
            unit: o.unit,
            multiplier: 1.0,
            observation_end: end,
            calibration_end: None,
        };
        // The database folds the sales itself when it can (PostgreSQL). Share of wallet and the
        // history backfill need the sales themselves, so they are read whenever those are wanted.
        let mut txs: Vec<Purchase<CustomerId>> = Vec::new();
        let mut currency = None;
        self.analyze_step(o, ran_at, "reading sales");
        let pushed = if o.backfill_history {
            None
        } else {
            self.pushed_down_summary(&cfg)?
        };
        // The customers' wallet estimates, read once: the pushdown is used only without any.
        let mut raw_wallets = None;
        let pushed = match pushed {
            Some(s) => {
                let raw = self.store.customer_wallets()?;
                let none = raw.is_empty();
                raw_wallets = Some(raw);
                none.then_some(s)
            }
            None => None,
        };
        let (
            Summaries {
                customers: summaries,
                left_out,
            },
            n_tx,
        ) = match pushed {
            Some(s) => {
                timings.push(("summary in the database", clock.elapsed().as_secs_f64()));
                let n = s.customers.iter().map(|s| s.visits as usize).sum();
                (s, n)
            }
            None => {
                // In the store's fastest order, then grouped by customer on every core.
                self.store.for_each_purchase_any_order(&mut |p| {
                    let at = p.occurred_at.as_second();
                    if at <= end {
                        currency.get_or_insert(p.currency);
                        txs.push(Purchase {
                            customer: p.customer_id,
                            at,
                            amount_minor: p.amount,
                            cost_minor: p.cost,
                        });
                    }
                })?;
                group_by_customer(&mut txs);
                timings.push(("read sales", clock.elapsed().as_secs_f64()));
                self.analyze_step(o, ran_at, "summarising customers");
                let t = Instant::now();
                let summaries = summarize_slice_reporting(&txs, &cfg)?;
                timings.push(("summary", t.elapsed().as_secs_f64()));
                (summaries, txs.len())
            }
        };
        if summaries.is_empty() {
            return Err(AnalyzeError::NoSales(o.as_of));
        }
        let records: Vec<SummaryRecord> = summaries.iter().map(|s| s.record()).collect();

        let t = Instant::now();
        let compressed = compress(&records)?;
        // Gamma-Gamma is fitted on repeat buyers with a positive mean repeat spend (the others
        // are left out and counted); without any, CLV is unknown.
        self.analyze_step(o, ran_at, "fitting the spend model");
        let spend_clock = o.fit_budget.wall_clock / 4;
        let spend_deadline = move || t.elapsed() >= spend_clock;
        let spend_budget = FitBudget::iterations(o.fit_budget.iterations_per_fit).with_deadline(&spend_deadline);
        let spend_fit = fit_gamma_gamma_within(&records, &spend_budget);
        let spend_attempt = FitAttempt {
            model: "gamma-gamma",
            outcome: match &spend_fit {
                Ok(_) => FitOutcome::Converged,
                Err(e) => outcome_of(e).0,
            },
            log_likelihood: spend_fit.as_ref().ok().map(|f| f.log_likelihood),
            iterations: match &spend_fit {
                Ok(f) => f.iterations,
                Err(e) => outcome_of(e).1,
            },
            seconds: t.elapsed().as_secs_f64(),
            reason: spend_fit.as_ref().err().map(ToString::to_string),
        };
        let (spend, spend_note) = match spend_fit {
            Ok(f) => {
                let note = (f.excluded > 0).then(|| {
                    format!(
                        "gamma-gamma left out {} repeat customers whose mean repeat spend is not \
                         positive (free items, refunds); their expected spend is the population's, \
                         shrunk toward 0",
                        f.excluded
                    )
                });
                (Some(f), note)
            }
            Err(e) => (
                None,
                Some(format!(
                    "gamma-gamma could not be fitted on these sales ({e}); CLV is left empty"
                )),
            ),
        };
        let periods_per_month = periods_per_month(o.unit);
        let opts = ScoreOptions {
            horizon: o.horizon,
            clv: ClvOptions {
                months: o.clv_months,
                monthly_discount_rate: o.monthly_discount_rate,
                margin: o.margin,
                periods_per_month,
            },
        };
        let spend_model = spend.as_ref().map(|f| &f.params);
        // A model counts as fitted once every customer could be scored with it.
        let scoring = std::cell::Cell::new(0.0);
        self.analyze_step(o, ran_at, "fitting the purchase model");
        let purchase_clock = o.fit_budget.wall_clock.saturating_sub(t.elapsed());
        let PurchaseFit {
            fitted,
            note: model_note,
            mut attempts,
        } = fit_purchase_model(o.model, &compressed.rows, &o.fit_budget, purchase_clock, |f| {
            let t = Instant::now();
            let scores = score_compressed(f, spend_model, &records, &compressed, &opts);
            scoring.set(scoring.get() + t.elapsed().as_secs_f64());
            scores
        });
        attempts.push(spend_attempt);
        timings.push(("fit", t.elapsed().as_secs_f64() - scoring.get()));
        self.analyze_step(o, ran_at, "scoring customers");
        let t = Instant::now();
        let (fitted, scores) = match fitted {
            Some((f, scores)) => (Some(f), scores),
            None => (None, Vec::new()),
        };
        let rfm = rfm_scores(
            &summaries
                .iter()
                .map(|s| RfmInput {
                    since_last: (s.t - s.recency).max(0.0),
                    frequency: f64::from(s.frequency) + 1.0,
                    monetary: s.total_revenue_minor.max(0) as f64,
                })
                .collect::<Vec<_>>(),
        )?;
        // Value tiers rank by CLV; when nobody's CLV is known (no purchase or no spend model),
        // by what each customer has spent so far.
        let clv_known = scores.iter().any(|s| s.clv.is_some_and(f64::is_finite));
        let value: Vec<f64> = if clv_known {
            scores
                .iter()
                .map(|s| s.clv.filter(|v| v.is_finite()).unwrap_or(0.0).max(0.0))
                .collect()
        } else {
            summaries.iter().map(|s| s.total_revenue_minor.max(0) as f64).collect()
        };
        let tiers = value_tiers(&value)?;
        let tiers_by = if clv_known { "clv" } else { "revenue" };
        timings.push(("score", t.elapsed().as_secs_f64() + scoring.get()));

        let t = Instant::now();
        let model_name = fitted.as_ref().map_or("none", |f| f.model().name());
        // Each scored customer's rung, then one row per customer, both on every core (the rows
        // borrow their names: no allocation per row).
        let stages: Vec<&'static str> = summaries
            .par_iter()
            .enumerate()
            .map(|(i, s)| {
                let p_alive = scores.get(i).map(|sc| sc.probability_alive);
                let input = LadderInput::from_summary(s.frequency, s.recency, s.t, p_alive);
                o.ladder.stage(&input).map(|st| st.name())
            })
            .collect::<Result<_, kesher_analytics::AnalyticsError>>()?;
        let mut stage_count: HashMap<&'static str, usize> = HashMap::new();
        for stage in &stages {
            *stage_count.entry(stage).or_default() += 1;
        }
        let mut rows: Vec<CustomerScore> = summaries
            .par_iter()
            .zip(stages.par_iter())
            .enumerate()
            .map(|(i, (s, stage))| {
                let sc = scores.get(i);
                let r = rfm[i];
                CustomerScore {
                    customer_id: s.customer,
                    as_of: o.as_of,
                    model: Cow::Borrowed(model_name),
                    stage: Cow::Borrowed(stage),
                    frequency: f64::from(s.frequency),
                    recency: s.recency,
                    t: s.t,
                    monetary: s.monetary_value,
                    revenue: s.total_revenue_minor,
                    margin: s.total_margin_minor,
                    p_alive: sc.map(|sc| sc.probability_alive),
                    expected_purchases: sc.map(|sc| sc.expected_purchases),
                    clv: sc.and_then(|sc| sc.clv.filter(|v| v.is_finite())),
                    rfm: r.code().map(Cow::Borrowed),
                    segment: Some(Cow::Borrowed(RfmSegment::of(r).name())),
                    tier: Some(Cow::Borrowed(tier_name(tiers.tiers[i]))),
                    wallet: None,
                    share_of_wallet: None,
                }
            })
            .collect();
        drop(stages);
        let buyers = rows.len();
        // Share of wallet: the year's actual spend against the customer's estimate.
        let raw_wallets = match raw_wallets {
            Some(raw) => raw,
            None if currency.is_some() => self.store.customer_wallets()?,
            None => Vec::new(),
        };
        let wallets = wallets(currency, raw_wallets);
        let year_spend = if wallets.is_empty() {
            Vec::new()
        } else {
            window_spend(&txs, end - WALLET_WINDOW_SECONDS)
        };
        for r in &mut rows {
            if let Ok(i) = wallets.binary_search_by_key(&r.customer_id, |w| w.0) {
                let wallet = wallets[i].1;
                let actual = year_spend
                    .binary_search_by_key(&r.customer_id, |s| s.0)
                    .map_or(0, |j| year_spend[j].1);
                r.wallet = Some(wallet);
                r.share_of_wallet = Some(actual as f64 / wallet as f64);
            }
        }
        drop(year_spend);
        // Prospects (customers without a sale up to the date) are implicit: the store reports
        // every customer without a row as one. Only those with a wallet estimate (a share of 0)
        // get a row of their own.
        let mut bought: Vec<CustomerId> = rows.iter().map(|r| r.customer_id).collect();
        bought.sort_unstable();
        for &(id, wallet) in &wallets {
            if bought.binary_search(&id).is_err() {
                *stage_count.entry(PROSPECT).or_default() += 1;
                rows.push(CustomerScore {
                    wallet: Some(wallet),
                    share_of_wallet: Some(0.0),
                    ..CustomerScore::prospect(id, o.as_of, model_name)
                });
            }
        }
        drop(bought);
        self.analyze_step(o, ran_at, "storing results");
        let implicit = self.store.replace_customer_scores(o.as_of, model_name, &rows)?;
        let implicit = usize::try_from(implicit).unwrap_or(usize::MAX);
        *stage_count.entry(PROSPECT).or_default() += implicit;
        timings.push(("store results", t.elapsed().as_secs_f64()));

        // The dashboard's figures, read by its page instead of a million rows.
        let t = Instant::now();
        self.store_dashboard(&crate::dashboard::Inputs {
            as_of: o.as_of,
            zone: self.business_time_zone()?,
            currency: currency.map(|c| c.to_string()),
            model: model_name,
            rows: &rows,
            implicit_prospects: implicit as u64,
            value: &value,
            tiers: tiers
                .summary
                .iter()
                .map(|(t, n, share)| (tier_name(*t), *n, *share))
                .collect(),
            purchases: &txs,
        })?;
        timings.push(("dashboard", t.elapsed().as_secs_f64()));

        // The analytics page's checks on the sales already read: the model on a holdout (the
        // last quarter of the observed span), and the strongest basket rules.
        self.analyze_step(o, ran_at, "checking the model on a holdout");
        let t = Instant::now();
        let first_purchase = summaries.iter().map(|s| s.first_purchase).min().unwrap_or(end);
        let holdout_model = fitted.as_ref().map_or(o.model, |f| f.model());
        let holdout = self.holdout_of_refresh(&txs, first_purchase, o.as_of, o.unit, holdout_model, &o.fit_budget);
        timings.push(("holdout", t.elapsed().as_secs_f64()));
        self.analyze_step(o, ran_at, "mining basket rules");
        let t = Instant::now();
        let basket_figures = self.basket_figures(o.as_of);
        timings.push(("basket rules", t.elapsed().as_secs_f64()));

        let mut backfilled_months = 0;
        if o.backfill_history {
            self.analyze_step(o, ran_at, "backfilling the stage history");
            let t = Instant::now();
            backfilled_months = self.backfill_history(o, &txs)?;
            timings.push(("backfill history", t.elapsed().as_secs_f64()));
        }

        let stages = kesher_analytics::Stage::ALL
            .iter()
            .map(|s| (s.name(), stage_count.get(s.name()).copied().unwrap_or(0)))
            .collect();
        // The segment editor's sample holds the previous run's scores.
        self.reload_segment_sample();
        // Who entered and left each saved segment on the new scores.
        self.analyze_step(o, ran_at, "refreshing the saved segments");
        let t = Instant::now();
        let actor = Actor::new("system:analyze", self.now());
        let segments = self.refresh_segment_history(&actor).map_err(|e| e.to_string());
        // Triggered campaigns fire on the entries just recorded.
        let segments = segments.and_then(|r| {
            self.fire_triggered_campaigns(&actor)
                .map(|_| r)
                .map_err(|e| format!("triggered campaigns: {e}"))
        });
        timings.push(("segments", t.elapsed().as_secs_f64()));
        let named = |p: Vec<(&'static str, f64)>| p.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Vec<_>>();
        let (holdout, holdout_note) = match holdout {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(e)),
        };
        let (baskets, baskets_note) = match basket_figures {
            Ok(b) => (Some(b), None),
            Err(e) => (None, Some(e)),
        };
        self.store_analytics_report(&kesher_analytics::report::Report {
            as_of: o.as_of.to_string(),
            ran_at: ran_at.to_string(),
            seconds: clock.elapsed().as_secs_f64(),
            unit: match o.unit {
                PeriodUnit::Week => "week",
                PeriodUnit::Day => "day",
            }
            .to_string(),
            customers: rows.len().saturating_add(implicit) as u64,
            buyers: buyers as u64,
            transactions: n_tx as u64,
            currency: currency.map(|c| c.to_string()),
            model: model_name.to_string(),
            params: named(fitted.as_ref().map(|f| f.params()).unwrap_or_default()),
            log_likelihood: fitted.as_ref().map(|f| f.fit_log_likelihood()),
            model_note: model_note.clone(),
            spend_params: spend.as_ref().map(|f| named(f.params.params())),
            attempts: report::attempts_of(&attempts),
            holdout,
            holdout_note,
            rfm: report::rfm_of(&rows),
            tiers_by: tiers_by.to_string(),
            tiers: tiers
                .summary
                .iter()
                .map(|(t, n, share)| kesher_analytics::dashboard::TierFigures {
                    tier: tier_name(*t).to_string(),
                    customers: *n as u64,
                    share_of_value: *share,
                })
                .collect(),
            baskets,
            baskets_note,
        })?;
        Ok(AnalyzeReport {
            customers: rows.len().saturating_add(implicit),
            buyers,
            transactions: n_tx,
            model: model_name,
            params: fitted.as_ref().map(|f| f.params()).unwrap_or_default(),
            log_likelihood: fitted.as_ref().map(|f| f.fit_log_likelihood()),
            model_note,
            tiers_by,
            attempts,
            spend_params: spend.as_ref().map(|f| f.params.params()),
            spend_note,
            stages,
            tiers: tiers
                .summary
                .iter()
                .map(|(t, n, share)| (tier_name(*t), *n, *share))
                .collect(),
            wallets: wallets.len(),
            left_out: left_out.into_iter().map(|l| (l.customer, l.figure)).collect(),
            backfilled_months,
            timings,
            segments,
        })
    }

    /// Each past month's stages, from the month of the first purchase to the month before
    /// `as_of`: the summary of the sales up to the month's last second, the purchase model fitted
    /// on it for P(alive) (left out when it cannot be fitted, e.g. on a first month without
    /// repeat buyers), and the ladder's rules. Customers who had not bought yet are not recorded
    /// (prospects enter the history with the runs themselves). Returns the months recorded.
    fn backfill_history(&self, o: &AnalyzeOptions, txs: &[Purchase<CustomerId>]) -> Result<usize, AnalyzeError> {
        use jiff::ToSpan;
        let utc = jiff::tz::TimeZone::UTC;
        let Some(first) = txs.iter().map(|t| t.at).min() else {
            return Ok(0);
        };
        let first =
            jiff::Timestamp::from_second(first).map_err(|e| AnalyzeError::Store(StoreError::Backend(e.to_string())))?;
        let month_start = |t: jiff::Timestamp| t.to_zoned(utc.clone()).date().first_of_month();
        let stop = month_start(o.as_of);
        let mut month = month_start(first);
        let mut n = 0;
        // The months' fits share one fit budget: each takes what is left over the months left.
        let months_total = {
            let (mut m, mut k) = (month, 0u32);
            while m < stop {
                k += 1;
                m = m
                    .checked_add(1.month())
                    .map_err(|e| AnalyzeError::Store(StoreError::Backend(e.to_string())))?;
            }
            k
        };
        let fits_started = Instant::now();
        while month < stop {
            let months_left = months_total.saturating_sub(u32::try_from(n).unwrap_or(u32::MAX)).max(1);
            let month_clock = o.fit_budget.wall_clock.saturating_sub(fits_started.elapsed()) / months_left;
            let next = month
                .checked_add(1.month())
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            let cutoff = next
                .to_zoned(utc.clone())
                .map_err(|e| StoreError::Backend(e.to_string()))?
                .timestamp()
                .as_second()
                - 1;
            let cfg = SummaryConfig {
                unit: o.unit,
                multiplier: 1.0,
                observation_end: cutoff,
                calibration_end: None,
            };
            let upto: Vec<Purchase<CustomerId>> = txs.iter().filter(|t| t.at <= cutoff).copied().collect();
            // Customers whose figures cannot be represented are left out, as in the run itself.
            let summaries = summarize_slice_reporting(&upto, &cfg)?.customers;
            let records: Vec<SummaryRecord> = summaries.iter().map(|s| s.record()).collect();
            let p_alive: Option<Vec<f64>> = compress(&records).ok().and_then(|c| {
                let opts = ScoreOptions {
                    horizon: o.horizon,
                    clv: ClvOptions {
                        months: o.clv_months,
                        monthly_discount_rate: o.monthly_discount_rate,
                        margin: o.margin,
                        periods_per_month: periods_per_month(o.unit),
                    },
                };
                let (_, scores) = fit_purchase_model(o.model, &c.rows, &o.fit_budget, month_clock, |f| {
                    score_compressed(f, None, &records, &c, &opts)
                })
                .fitted?;
                Some(scores.iter().map(|s| s.probability_alive).collect())
            });
            let mut stages = Vec::with_capacity(summaries.len());
            for (i, s) in summaries.iter().enumerate() {
                let p = p_alive.as_ref().and_then(|v| v.get(i).copied());
                let stage = o
                    .ladder
                    .stage(&LadderInput::from_summary(s.frequency, s.recency, s.t, p))?
                    .name();
                stages.push((s.customer, stage));
            }
            self.store
                .record_stage_history(&month.strftime("%Y-%m").to_string(), &stages)?;
            n += 1;
            month = next;
        }
        Ok(n)
    }
}

fn periods_per_month(unit: PeriodUnit) -> f64 {
    match unit {
        PeriodUnit::Week => 4.345,
        PeriodUnit::Day => 30.0,
    }
}
/// Usable wallet estimates by customer id, from the raw attribute values: positive amounts in the
/// sales' currency. Anything else (not a number, negative, too many decimals) leaves the share
/// unknown.
fn wallets(currency: Option<kesher_core::Currency>, raw: Vec<(CustomerId, String)>) -> Vec<(CustomerId, i64)> {
    let Some(currency) = currency else {
        return Vec::new();
    };
    let mut out: Vec<(CustomerId, i64)> = raw
        .into_iter()
        .filter_map(|(id, v)| {
            let minor = currency.parse_amount(&v, WALLET_ATTRIBUTE).ok()?;
            (minor > 0).then_some((id, minor))
        })
        .collect();
    out.sort_unstable_by_key(|w| w.0);
    out
}

/// Each customer's spend (sum of sale totals) after `since`, by customer id, from sales grouped
/// by customer.
fn window_spend(txs: &[Purchase<CustomerId>], since: i64) -> Vec<(CustomerId, i64)> {
    let mut out: Vec<(CustomerId, i64)> = Vec::new();
    for t in txs.iter().filter(|t| t.at > since) {
        match out.last_mut() {
            Some((c, sum)) if *c == t.customer => *sum = sum.saturating_add(t.amount_minor),
            _ => out.push((t.customer, t.amount_minor)),
        }
    }
    out.sort_unstable_by_key(|s| s.0);
    out.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 = a.1.saturating_add(b.1);
            true
        } else {
            false
        }
    });
    out
}

impl App {
    /// The customer summary computed by the store (`Store::purchase_summaries`), equal to
    /// `summarize` over the sales at or before the observation end; `None` when the store cannot.
    pub fn pushed_down_summary(&self, cfg: &SummaryConfig) -> Result<Option<Summaries<CustomerId>>, AnalyzeError> {
        let req = SummaryRequest {
            period: match cfg.unit {
                PeriodUnit::Day => SummaryPeriod::Day,
                PeriodUnit::Week => SummaryPeriod::Week,
            },
            observation_end: cfg.observation_end,
            calibration_end: cfg.calibration_end,
        };
        let mut out = Summaries {
            customers: Vec::new(),
            left_out: Vec::new(),
        };
        let supported = self.store.purchase_summaries(&req, &mut |p| {
            if p.unrepresentable {
                out.left_out.push(LeftOut {
                    customer: p.customer_id,
                    figure: "revenue",
                });
            } else {
                out.customers.push(summary_from_store(p, cfg));
            }
        })?;
        Ok(supported.then_some(out))
    }
}

/// One customer's summary from the parts the store folded, with `summarize`'s arithmetic.
pub fn summary_from_store(p: &PurchaseSummary, cfg: &SummaryConfig) -> CustomerSummary<CustomerId> {
    let obs_period = cfg.unit.period_of(cfg.observation_end);
    let end_period = cfg.calibration_end.map_or(obs_period, |c| cfg.unit.period_of(c));
    let frequency = p.periods.saturating_sub(1);
    CustomerSummary {
        customer: p.customer_id,
        frequency,
        recency: (p.last_period - p.first_period) as f64 / cfg.multiplier,
        t: (end_period - p.first_period) as f64 / cfg.multiplier,
        monetary_value: if frequency > 0 {
            p.repeat_spend as f64 / f64::from(frequency)
        } else {
            0.0
        },
        total_revenue_minor: p.revenue,
        total_margin_minor: p.margin,
        visits: p.visits,
        first_purchase: p.first_purchase,
        last_purchase: p.last_purchase,
        holdout: cfg.calibration_end.map(|_| HoldoutSummary {
            frequency: p.holdout_periods,
            monetary_value: if p.holdout_visits > 0 {
                p.holdout_spend as f64 / f64::from(p.holdout_visits)
            } else {
                0.0
            },
            duration: (obs_period - end_period) as f64 / cfg.multiplier,
        }),
    }
}

impl App {
    /// Tell the options' callback, and record for the analytics page when a job runs the refresh,
    /// that `step` (one of `report::STEPS`) begins.
    fn analyze_step(&self, o: &AnalyzeOptions, started_at: jiff::Timestamp, step: &'static str) {
        o.progress.step(step);
        if let Some(job) = &o.progress_job {
            self.note_analyze_step(job, started_at, step);
        }
    }
}

/// Calibration vs holdout, as a marketer reads it: actual against model-expected repeat
/// purchases in the holdout by calibration frequency, the cumulative repeat-purchase curve,
/// and every model's fit and holdout error.
#[derive(Debug, Clone)]
pub struct CalibrationReport {
    pub model: &'static str,
    /// The model's parameters fitted on the calibration window.
    pub params: Vec<(&'static str, f64)>,
    /// (calibration frequency, customers, mean actual holdout purchases, mean expected).
    pub table: Vec<(u32, u64, f64, f64)>,
    /// (periods since the first first purchase, actual cumulative repeats, expected).
    pub cumulative: Vec<(f64, f64, f64)>,
    /// (model, log-likelihood, AIC, BIC, holdout mean absolute error), best AIC first.
    pub models: Vec<(&'static str, f64, f64, f64, f64)>,
    pub customers: usize,
}

impl App {
    /// Fit on the sales up to `calibration_end`, compare with what customers did up to `end`.
    pub fn calibration(
        &self,
        calibration_end: jiff::Timestamp,
        end: jiff::Timestamp,
        unit: PeriodUnit,
        model: Model,
    ) -> Result<CalibrationReport, AnalyzeError> {
        let (cal, obs) = (calibration_end.as_second(), end.as_second());
        if cal >= obs {
            return Err(AnalyzeError::Analytics(
                kesher_analytics::AnalyticsError::InvalidArgument {
                    name: "calibration_end",
                    reason: "must be before the end of the observation".into(),
                },
            ));
        }
        let mut txs: Vec<Purchase<CustomerId>> = Vec::new();
        self.store.for_each_purchase(&mut |p| {
            let at = p.occurred_at.as_second();
            if at <= obs {
                txs.push(Purchase {
                    customer: p.customer_id,
                    at,
                    amount_minor: p.amount,
                    cost_minor: p.cost,
                });
            }
        })?;
        if txs.is_empty() {
            return Err(AnalyzeError::NoSales(end));
        }
        report::calibration_of(&txs, cal, obs, unit, model, &FitLimits::default())
    }
}

pub mod report;
#[cfg(test)]
mod tests;
