//! Customer analytics over HTTP: run the refresh, each customer's score, the lifecycle ladder
//! (counts per month, transitions), and value differentiation (RFM segments and grid, value
//! tiers, the Pareto curve).

use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::extract::{Path, State};
use kesher_analytics::{Model, PeriodUnit};
use kesher_app::analyze::{AnalyzeError, AnalyzeOptions};
use kesher_core::CustomerId;
use kesher_store::CustomerScore;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct ScoreDto {
    pub customer_id: String,
    pub as_of: String,
    pub model: String,
    /// prospect, first_time, core, at_risk or defected.
    pub stage: String,
    pub frequency: f64,
    pub recency: f64,
    pub t: f64,
    pub monetary_minor: f64,
    pub revenue_minor: i64,
    pub margin_minor: Option<i64>,
    pub p_alive: Option<f64>,
    pub expected_purchases: Option<f64>,
    pub clv_minor: Option<f64>,
    pub rfm: Option<String>,
    pub segment: Option<String>,
    pub tier: Option<String>,
    /// Estimated annual spend (the `estimated_annual_spend` attribute), minor units; null when unknown.
    pub wallet_minor: Option<i64>,
    /// The year's actual spend / `wallet_minor`; null when unknown (no estimate).
    pub share_of_wallet: Option<f64>,
}

impl From<&CustomerScore> for ScoreDto {
    fn from(s: &CustomerScore) -> Self {
        ScoreDto {
            customer_id: s.customer_id.to_string(),
            as_of: s.as_of.to_string(),
            model: s.model.to_string(),
            stage: s.stage.to_string(),
            frequency: s.frequency,
            recency: s.recency,
            t: s.t,
            monetary_minor: s.monetary,
            revenue_minor: s.revenue,
            margin_minor: s.margin,
            p_alive: s.p_alive,
            expected_purchases: s.expected_purchases,
            clv_minor: s.clv,
            rfm: s.rfm.as_deref().map(str::to_string),
            segment: s.segment.as_deref().map(str::to_string),
            tier: s.tier.as_deref().map(str::to_string),
            wallet_minor: s.wallet,
            share_of_wallet: s.share_of_wallet,
        }
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeInput {
    /// RFC 3339 instant; default now.
    pub as_of: Option<String>,
    /// week (default) or day.
    pub period: Option<String>,
    /// bgnbd (default), pareto-nbd or mbgnbd.
    pub model: Option<String>,
    /// Share of spend that is profit, 0 to 1 (default 1).
    pub margin: Option<f64>,
    /// Also compute and record the stage history of every past month (default false).
    pub backfill_history: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct AnalyzeDto {
    pub as_of: String,
    pub customers: usize,
    pub buyers: usize,
    pub transactions: usize,
    /// The purchase model used: the one asked for, another when that one could not be fitted
    /// on these sales (see `model_note`), or `none`.
    pub model: String,
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// Null when no purchase model could be fitted.
    pub log_likelihood: Option<f64>,
    /// Why the model asked for was not used and what was done instead.
    pub model_note: Option<String>,
    /// What the value tiers rank: `clv`, or `revenue` when no customer's CLV is known.
    pub tiers_by: String,
    #[schema(value_type = Object)]
    pub stages: serde_json::Value,
    /// Customers whose figures cannot be represented (sums of sales from before kesher's
    /// bounds): left out of the run (`revenue`) or with their margin left empty (`margin`).
    pub left_out: Vec<LeftOutDto>,
}

#[derive(Serialize, ToSchema)]
pub struct LeftOutDto {
    pub customer_id: String,
    /// `revenue` or `margin`.
    pub figure: String,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/analytics/run", tag = "analytics", request_body = AnalyzeInput,
    responses((status = 200, description = "The refresh ran and its results are stored", body = AnalyzeDto),
              (status = 422, description = "Bad option, or no sales to analyse", body = crate::error::ErrorBody)))]
pub async fn run(State(st): State<AppState>, Json(i): Json<AnalyzeInput>) -> Result<Json<AnalyzeDto>, AppError> {
    blocking(st, move |app| {
        let as_of = match &i.as_of {
            Some(t) => kesher_core::parse_instant(t, "as_of")?,
            None => app.now(),
        };
        let (unit, model) = unit_and_model(i.period.as_deref(), i.model.as_deref())?;
        let mut o = AnalyzeOptions::new(as_of, unit, model);
        if let Some(m) = i.margin {
            if !(0.0..=1.0).contains(&m) {
                return Err(AppError::invalid("margin", "must be 0 to 1").coded("analyze.margin.out_of_range"));
            }
            o.margin = m;
        }
        o.backfill_history = i.backfill_history.unwrap_or(false);
        let r = app.analyze(&o).map_err(|e| match e {
            AnalyzeError::Store(s) => AppError::from(s),
            AnalyzeError::NoSales(_) => AppError::invalid("as_of", e.to_string())
                .coded(e.code())
                .params(e.params()),
            AnalyzeError::Analytics(a) => AppError::invalid("model", a.to_string())
                .coded(a.code())
                .params(a.params()),
        })?;
        Ok(Json(AnalyzeDto {
            as_of: as_of.to_string(),
            customers: r.customers,
            buyers: r.buyers,
            transactions: r.transactions,
            model: r.model.to_string(),
            params: r
                .params
                .iter()
                .map(|(k, v)| ((*k).to_string(), serde_json::json!(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            log_likelihood: r.log_likelihood,
            model_note: r.model_note,
            tiers_by: r.tiers_by.to_string(),
            stages: r
                .stages
                .iter()
                .map(|(k, v)| ((*k).to_string(), serde_json::json!(v)))
                .collect::<serde_json::Map<_, _>>()
                .into(),
            left_out: r
                .left_out
                .iter()
                .map(|(c, figure)| LeftOutDto {
                    customer_id: c.to_string(),
                    figure: (*figure).to_string(),
                    reason: kesher_app::analyze::left_out_reason(figure).to_string(),
                })
                .collect(),
        }))
    })
    .await
}

#[utoipa::path(get, path = "/api/customers/{id}/score", tag = "analytics", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "The customer's latest analysis", body = ScoreDto),
              (status = 404, description = "Not analysed yet (run kesher analyze)", body = crate::error::ErrorBody)))]
pub async fn score(
    State(st): State<AppState>,
    caller: crate::auth::Caller,
    Path(id): Path<String>,
) -> Result<Json<ScoreDto>, AppError> {
    blocking(st, move |app| {
        let id: CustomerId = crate::dto::parse_id(&id, "id")?;
        caller.check(
            kesher_auth::Action::CustomersRead,
            crate::customers::home_branch(app, id)?,
        )?;
        let s = app.customer_score(id)?.ok_or_else(|| {
            AppError::not_found(format!("no analysis for customer {id}; run kesher analyze"))
                .coded("analysis.customer.missing")
        })?;
        Ok(Json(ScoreDto::from(&s)))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct LadderParams {
    /// Month "YYYY-MM" to show transitions from (with `to`).
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TransitionDto {
    pub from: String,
    pub to: String,
    pub customers: u64,
}

#[derive(Serialize, ToSchema)]
pub struct FlowDto {
    pub stage: String,
    /// Customers who entered this stage between the months.
    pub inflow: u64,
    /// Customers who left it.
    pub outflow: u64,
}

#[derive(Serialize, ToSchema)]
pub struct LadderDto {
    /// Month → stage → customers.
    #[schema(value_type = Object)]
    pub months: BTreeMap<String, BTreeMap<String, u64>>,
    pub transitions: Vec<TransitionDto>,
    pub flows: Vec<FlowDto>,
}

#[utoipa::path(get, path = "/api/analytics/ladder", tag = "analytics", params(LadderParams),
    responses((status = 200, description = "Customers per stage per month, and the moves between two months", body = LadderDto)))]
pub async fn ladder(State(st): State<AppState>, Query(p): Query<LadderParams>) -> Result<Json<LadderDto>, AppError> {
    blocking(st, move |app| {
        let mut months: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (m, stage, n) in app.stage_counts()? {
            months.entry(m).or_default().insert(stage, n);
        }
        let (transitions, flows) = match (&p.from, &p.to) {
            (Some(f), Some(t)) => {
                let tr = app.stage_transitions(f, t)?;
                let mut flows: BTreeMap<String, (u64, u64)> = BTreeMap::new();
                for (a, b, n) in &tr {
                    if a != b {
                        flows.entry(b.clone()).or_default().0 += n;
                        flows.entry(a.clone()).or_default().1 += n;
                    }
                }
                (
                    tr.into_iter()
                        .map(|(from, to, customers)| TransitionDto { from, to, customers })
                        .collect(),
                    flows
                        .into_iter()
                        .map(|(stage, (inflow, outflow))| FlowDto { stage, inflow, outflow })
                        .collect(),
                )
            }
            (None, None) => (Vec::new(), Vec::new()),
            _ => {
                return Err(
                    AppError::bad_request(Some("to".into()), "give both from and to").coded("query.period.incomplete")
                );
            }
        };
        Ok(Json(LadderDto {
            months,
            transitions,
            flows,
        }))
    })
    .await
}

#[derive(Serialize, ToSchema)]
pub struct TierDto {
    pub tier: String,
    pub customers: usize,
    pub share_of_value: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ValueDto {
    pub buyers: usize,
    /// Named RFM segment → customers.
    #[schema(value_type = Object)]
    pub segments: BTreeMap<String, u64>,
    /// grid[r-1][f-1]: customers with recency score r and frequency score f.
    pub rfm_grid: Vec<Vec<u64>>,
    pub tiers: Vec<TierDto>,
    /// (share of customers, share of CLV), best customers first: the Pareto curve.
    pub pareto_curve: Vec<(f64, f64)>,
}

#[utoipa::path(get, path = "/api/analytics/value", tag = "analytics",
    responses((status = 200, description = "RFM segments and grid, value tiers and the Pareto curve of the latest analysis", body = ValueDto),
              (status = 404, description = "Not analysed yet", body = crate::error::ErrorBody)))]
pub async fn value(State(st): State<AppState>) -> Result<Json<ValueDto>, AppError> {
    blocking(st, move |app| {
        let scores: Vec<CustomerScore> = app
            .list_customer_scores()?
            .into_iter()
            .filter(|s| s.rfm.is_some())
            .collect();
        if scores.is_empty() {
            return Err(AppError::not_found("no analysis yet; run kesher analyze").coded("analysis.missing"));
        }
        let mut segments = BTreeMap::new();
        let mut grid = vec![vec![0u64; 5]; 5];
        let mut tiers: BTreeMap<String, (usize, f64)> = BTreeMap::new();
        let total: f64 = scores.iter().filter_map(|s| s.clv).map(|v| v.max(0.0)).sum();
        for s in &scores {
            if let Some(seg) = &s.segment {
                *segments.entry(seg.to_string()).or_insert(0) += 1;
            }
            if let Some(rfm) = &s.rfm {
                let b = rfm.as_bytes();
                if b.len() == 3 {
                    let (r, f) = (
                        usize::from(b[0].saturating_sub(b'1')),
                        usize::from(b[1].saturating_sub(b'1')),
                    );
                    if r < 5 && f < 5 {
                        grid[r][f] += 1;
                    }
                }
            }
            if let Some(t) = &s.tier {
                let e = tiers.entry(t.to_string()).or_default();
                e.0 += 1;
                e.1 += s.clv.unwrap_or(0.0).max(0.0);
            }
        }
        let values: Vec<f64> = scores.iter().map(|s| s.clv.unwrap_or(0.0).max(0.0)).collect();
        let curve = kesher_analytics::pareto_curve(&values, 20).unwrap_or_default();
        let order = ["top", "middle", "rest"];
        let mut tier_list: Vec<TierDto> = tiers
            .into_iter()
            .map(|(tier, (customers, v))| TierDto {
                tier,
                customers,
                share_of_value: if total > 0.0 { v / total } else { 0.0 },
            })
            .collect();
        tier_list.sort_by_key(|t| order.iter().position(|o| *o == t.tier).unwrap_or(9));
        Ok(Json(ValueDto {
            buyers: scores.len(),
            segments,
            rfm_grid: grid,
            tiers: tier_list,
            pareto_curve: curve,
        }))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct CalibrationParams {
    /// End of the calibration window (RFC 3339 or a date).
    pub calibration_end: String,
    /// End of the holdout window; default now.
    pub end: Option<String>,
    /// week (default) or day.
    pub period: Option<String>,
    /// bgnbd (default), pareto-nbd or mbgnbd: the model the table and curve show.
    pub model: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HoldoutRowDto {
    /// Repeat purchases in the calibration window (the last row: this many or more).
    pub frequency: u32,
    pub customers: u64,
    /// Mean repeat purchases in the holdout: actual and model-expected.
    pub actual: f64,
    pub expected: f64,
}

#[derive(Serialize, ToSchema)]
pub struct CurvePointDto {
    pub period: f64,
    pub actual: f64,
    pub expected: f64,
}

#[derive(Serialize, ToSchema)]
pub struct ModelFitDto {
    pub model: String,
    pub log_likelihood: f64,
    pub aic: f64,
    pub bic: f64,
    /// Mean absolute error of holdout purchases per customer.
    pub holdout_mae: f64,
}

#[derive(Serialize, ToSchema)]
pub struct CalibrationDto {
    pub model: String,
    pub customers: usize,
    pub table: Vec<HoldoutRowDto>,
    pub cumulative: Vec<CurvePointDto>,
    /// Best AIC first.
    pub models: Vec<ModelFitDto>,
}

#[utoipa::path(get, path = "/api/analytics/calibration", tag = "analytics", params(CalibrationParams),
    responses((status = 200, description = "Calibration vs holdout report", body = CalibrationDto),
              (status = 422, description = "Bad parameter or no sales", body = crate::error::ErrorBody)))]
pub async fn calibration(
    State(st): State<AppState>,
    Query(p): Query<CalibrationParams>,
) -> Result<Json<CalibrationDto>, AppError> {
    blocking(st, move |app| {
        let cal = kesher_core::parse_instant(&p.calibration_end, "calibration_end")?;
        let end = match &p.end {
            Some(e) => kesher_core::parse_instant(e, "end")?,
            None => app.now(),
        };
        let (unit, model) = unit_and_model(p.period.as_deref(), p.model.as_deref())?;
        let r = app.calibration(cal, end, unit, model).map_err(|e| match e {
            AnalyzeError::Store(s) => AppError::from(s),
            AnalyzeError::NoSales(_) => AppError::invalid("end", e.to_string())
                .coded(e.code())
                .params(e.params()),
            AnalyzeError::Analytics(a) => AppError::invalid("calibration_end", a.to_string())
                .coded(a.code())
                .params(a.params()),
        })?;
        Ok(Json(CalibrationDto {
            model: r.model.to_string(),
            customers: r.customers,
            table: r
                .table
                .into_iter()
                .map(|(frequency, customers, actual, expected)| HoldoutRowDto {
                    frequency,
                    customers,
                    actual,
                    expected,
                })
                .collect(),
            cumulative: r
                .cumulative
                .into_iter()
                .map(|(period, actual, expected)| CurvePointDto {
                    period,
                    actual,
                    expected,
                })
                .collect(),
            models: r
                .models
                .into_iter()
                .map(|(m, ll, aic, bic, mae)| ModelFitDto {
                    model: m.to_string(),
                    log_likelihood: ll,
                    aic,
                    bic,
                    holdout_mae: mae,
                })
                .collect(),
        }))
    })
    .await
}

/// The period unit (week by default) and purchase model (BG/NBD by default) a request names.
fn unit_and_model(period: Option<&str>, model: Option<&str>) -> Result<(PeriodUnit, Model), AppError> {
    let unit = match period {
        None | Some("week") => PeriodUnit::Week,
        Some("day") => PeriodUnit::Day,
        Some(_) => return Err(AppError::invalid("period", "must be week or day").coded("analytics.period.unknown")),
    };
    let model = match model {
        None => Model::BgNbd,
        Some(m) => Model::parse(m).ok_or_else(|| {
            AppError::invalid("model", "must be bgnbd, pareto-nbd or mbgnbd").coded("analytics.model.unknown")
        })?,
    };
    Ok((unit, model))
}
