//! Basket analysis over HTTP: association rules over the store's sales.

use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::extract::State;
use kesher_app::baskets::{BasketsError, Level, Scope};
use kesher_baskets::MineParams;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct RulesParams {
    /// Minimum support (share of baskets), default 0.01.
    pub min_support: Option<f64>,
    /// Minimum confidence, default 0.3.
    pub min_confidence: Option<f64>,
    pub min_lift: Option<f64>,
    /// Longest itemset, default 3.
    pub max_len: Option<usize>,
    /// product (default) or category.
    pub level: Option<String>,
    /// External id of one branch.
    pub branch: Option<String>,
    /// Sales at or after this instant (RFC 3339 or a date).
    pub since: Option<String>,
    /// Sales before this instant.
    pub until: Option<String>,
    /// Rules returned, default 100.
    pub limit: Option<usize>,
    /// Only the sales of a segment's members: a saved segment's name or an expression.
    pub segment: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RuleDto {
    pub antecedents: Vec<String>,
    pub consequents: Vec<String>,
    pub support: f64,
    pub confidence: f64,
    pub lift: f64,
    pub leverage: f64,
    /// null when confidence is 1 (infinite conviction).
    pub conviction: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct RulesDto {
    pub baskets: usize,
    pub itemsets: usize,
    pub rules_total: usize,
    pub rules: Vec<RuleDto>,
}

#[utoipa::path(get, path = "/api/baskets/rules", tag = "baskets", params(RulesParams),
    responses((status = 200, description = "Rules, strongest confidence first", body = RulesDto),
              (status = 400, description = "Bad parameter", body = crate::error::ErrorBody)))]
pub async fn rules(State(st): State<AppState>, Query(p): Query<RulesParams>) -> Result<Json<RulesDto>, AppError> {
    let (level, params) = params_of(&p)?;
    let limit = p.limit.unwrap_or(100);
    let scope = scope(&p)?;
    blocking(st, move |app| {
        let scope = with_segment(app, scope, p.segment.as_deref())?;
        let r = app.basket_rules(level, &scope, &params).map_err(|e| match e {
            BasketsError::Store(s) => AppError::from(s),
            BasketsError::Mining(m) => AppError::bad_request(None, m.to_string())
                .coded(m.code())
                .params(m.params()),
        })?;
        let names = |ids: &[u32]| ids.iter().map(|i| r.item_name(*i).to_string()).collect::<Vec<_>>();
        Ok(Json(RulesDto {
            baskets: r.baskets,
            itemsets: r.itemsets.len(),
            rules_total: r.rules.len(),
            rules: r
                .rules
                .iter()
                .take(limit)
                .map(|x| RuleDto {
                    antecedents: names(&x.antecedents),
                    consequents: names(&x.consequents),
                    support: x.support,
                    confidence: x.confidence,
                    lift: x.lift,
                    leverage: x.leverage,
                    conviction: x.conviction.is_finite().then_some(x.conviction),
                })
                .collect(),
        }))
    })
    .await
}

/// Narrow the scope to a segment's members when one is named.
fn with_segment(app: &kesher_app::App, mut scope: Scope, segment: Option<&str>) -> Result<Scope, AppError> {
    if let Some(seg) = segment.map(str::trim).filter(|s| !s.is_empty()) {
        let seg = app
            .resolve_segment(seg)
            .map_err(|e| crate::segments::segment_error(e, "segment"))?;
        scope.customers = Some(
            app.segment_members(&seg)
                .map_err(|e| crate::segments::segment_error(e, "segment"))?,
        );
    }
    Ok(scope)
}

fn scope(p: &RulesParams) -> Result<Scope, AppError> {
    let at = |v: &Option<String>, f: &'static str| v.as_deref().map(|t| kesher_core::parse_instant(t, f)).transpose();
    Ok(Scope {
        branch: p.branch.clone(),
        since: at(&p.since, "since")?,
        until: at(&p.until, "until")?,
        customers: None,
    })
}

fn params_of(p: &RulesParams) -> Result<(Level, MineParams), AppError> {
    let level = match p.level.as_deref() {
        None => Level::Product,
        Some(l) => Level::parse(l).ok_or_else(|| {
            AppError::bad_request(Some("level".into()), "level must be product or category")
                .coded("baskets.level.unknown")
        })?,
    };
    let mut params = MineParams::new(p.min_support.unwrap_or(0.01));
    params.min_confidence = p.min_confidence.unwrap_or(0.3);
    params.min_lift = p.min_lift;
    params.max_len = Some(p.max_len.unwrap_or(3));
    Ok((level, params))
}

#[derive(Serialize, ToSchema)]
pub struct CrossSellDto {
    pub antecedents: Vec<String>,
    pub consequents: Vec<String>,
    pub confidence: f64,
    pub lift: f64,
    /// Customers who bought every antecedent.
    pub with_antecedents: usize,
    /// Of those, customers who never bought a consequent.
    pub missing_consequents: usize,
    /// missing × confidence × the consequents' list price, minor units.
    pub expected_incremental_minor: i64,
}

#[utoipa::path(get, path = "/api/baskets/cross-sell", tag = "baskets", params(RulesParams),
    responses((status = 200, description = "Rules by expected incremental revenue", body = Vec<CrossSellDto>),
              (status = 400, description = "Bad parameter", body = crate::error::ErrorBody)))]
pub async fn cross_sell(
    State(st): State<AppState>,
    Query(p): Query<RulesParams>,
) -> Result<Json<Vec<CrossSellDto>>, AppError> {
    let (level, params) = params_of(&p)?;
    let scope = scope(&p)?;
    let limit = p.limit.unwrap_or(100);
    blocking(st, move |app| {
        let scope = with_segment(app, scope, p.segment.as_deref())?;
        let rows = app.cross_sell(level, &scope, &params).map_err(|e| match e {
            BasketsError::Store(s) => AppError::from(s),
            BasketsError::Mining(m) => AppError::bad_request(None, m.to_string())
                .coded(m.code())
                .params(m.params()),
        })?;
        Ok(Json(rows.into_iter().take(limit).map(cross_sell_dto).collect()))
    })
    .await
}

#[derive(Serialize, ToSchema)]
pub struct CrossSellGroupDto {
    /// The branch's external id.
    pub branch: String,
    pub branch_name: String,
    /// The category of what the rules offer.
    pub category: String,
    /// Expected incremental revenue of the rules shown, minor units.
    pub expected_incremental_minor: i64,
    pub rules: Vec<CrossSellDto>,
}

#[utoipa::path(get, path = "/api/baskets/cross-sell/by-branch", tag = "baskets", params(RulesParams),
    responses((status = 200, description = "For every branch, its rules grouped by the category of what they offer; `limit` rules per group (default 5), groups by expected incremental revenue", body = Vec<CrossSellGroupDto>),
              (status = 400, description = "Bad parameter", body = crate::error::ErrorBody)))]
pub async fn cross_sell_by_branch(
    State(st): State<AppState>,
    Query(p): Query<RulesParams>,
) -> Result<Json<Vec<CrossSellGroupDto>>, AppError> {
    let (level, params) = params_of(&p)?;
    if p.branch.is_some() {
        return Err(AppError::bad_request(
            Some("branch".into()),
            "this report covers every branch; use /api/baskets/cross-sell for one",
        )
        .coded("baskets.report.every_branch"));
    }
    let scope = scope(&p)?;
    let top = p.limit.unwrap_or(5);
    blocking(st, move |app| {
        let scope = with_segment(app, scope, p.segment.as_deref())?;
        let groups = app
            .cross_sell_by_branch_and_category(level, &scope, &params, top)
            .map_err(|e| match e {
                BasketsError::Store(s) => AppError::from(s),
                BasketsError::Mining(m) => AppError::bad_request(None, m.to_string())
                    .coded(m.code())
                    .params(m.params()),
            })?;
        Ok(Json(
            groups
                .into_iter()
                .map(|g| CrossSellGroupDto {
                    branch: g.branch,
                    branch_name: g.branch_name,
                    category: g.category,
                    expected_incremental_minor: g.expected_incremental_minor,
                    rules: g.rows.into_iter().map(cross_sell_dto).collect(),
                })
                .collect(),
        ))
    })
    .await
}

fn cross_sell_dto(r: kesher_app::baskets::CrossSellView) -> CrossSellDto {
    CrossSellDto {
        antecedents: r.antecedents,
        consequents: r.consequents,
        confidence: r.confidence,
        lift: r.lift,
        with_antecedents: r.with_antecedents,
        missing_consequents: r.missing_consequents,
        expected_incremental_minor: r.expected_incremental_minor,
    }
}
