//! Loyalty points: a customer's balance and ledger, redemptions at the till, adjustments by
//! marketing, the earning rule, and the program's totals.

use crate::auth::Caller;
use crate::dto::parse_id;
use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use kesher_auth::Action;
use kesher_core::{BranchId, Currency, CustomerId};
use kesher_loyalty::{EarnRate, EarningRule, LedgerEntry};
use kesher_store::PointsRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One line of a customer's points ledger.
#[derive(Serialize, ToSchema)]
pub struct LedgerEntryDto {
    pub seq: i64,
    /// earn, redeem, adjust, reverse or merge.
    pub kind: String,
    /// Signed: positive earns, negative spends.
    pub points: i64,
    pub balance_after: i64,
    pub reason: Option<String>,
    pub idempotency_key: Option<String>,
    /// The sale (earn) or refund (reverse).
    pub transaction_id: Option<String>,
    pub branch_id: Option<String>,
    pub actor: String,
    pub at: String,
    /// Which rule gave how many of the points (under a loyalty program; empty otherwise).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breakdown: Vec<crate::loyalty::PartDto>,
    /// When the points become spendable (a sale's points held for the return window).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_at: Option<String>,
}

impl From<&LedgerEntry> for LedgerEntryDto {
    fn from(e: &LedgerEntry) -> Self {
        LedgerEntryDto {
            seq: e.seq,
            kind: e.kind.as_str().to_string(),
            points: e.points,
            balance_after: e.balance_after,
            reason: e.reason.clone(),
            idempotency_key: e.idempotency_key.clone(),
            transaction_id: e.transaction_id.map(|t| t.to_string()),
            branch_id: e.branch_id.map(|b| b.to_string()),
            actor: e.actor.clone(),
            at: e.at.to_string(),
            breakdown: e.breakdown.iter().map(crate::loyalty::PartDto::from).collect(),
            available_at: e.available_at.map(|t| t.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PointsDto {
    pub customer_id: String,
    pub balance: i64,
    /// Newest first.
    pub ledger: crate::dto::PageDto<LedgerEntryDto>,
}

#[derive(Deserialize, IntoParams)]
pub struct LedgerParams {
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

#[utoipa::path(get, path = "/api/customers/{id}/points", tag = "points", params(("id" = String, Path, description = "Customer id"), LedgerParams),
    responses((status = 200, description = "Balance and ledger", body = PointsDto), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn get_points(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<LedgerParams>,
) -> Result<Json<PointsDto>, AppError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request(Some("limit".into()), "limit must be 1 to 500")
            .coded("query.limit.out_of_range")
            .param("max", 500));
    }
    blocking(st, move |app| {
        let id: CustomerId = parse_id(&id, "id")?;
        caller.check(Action::PointsRead, None)?;
        let ledger = app.points_ledger(id, limit, p.offset.unwrap_or(0))?;
        let balance = app.points_balance(id)?;
        Ok(Json(PointsDto {
            customer_id: id.to_string(),
            balance,
            ledger: crate::dto::PageDto::from_page(ledger),
        }))
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemInput {
    /// Points to spend: positive, no more than the balance.
    pub points: i64,
    /// Or the `Idempotency-Key` header: a retry with the same key returns the first result.
    pub idempotency_key: Option<String>,
    pub reason: Option<String>,
    /// The branch (external id) the points are spent at; own-branch callers default to theirs.
    pub branch: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustInput {
    /// Points to add (positive) or take away (negative); the balance may not go below zero.
    pub points: i64,
    /// Why: required.
    pub reason: Option<String>,
    /// Optional; or the `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
}

/// The key from the header or the body (the same if both are sent).
pub(crate) fn idempotency_key(headers: &HeaderMap, body: Option<String>) -> Result<Option<String>, AppError> {
    let header = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    AppError::invalid("idempotency_key", "the Idempotency-Key header is not text")
                        .coded("idempotency_key.not_text")
                })?
                .to_string(),
        ),
        None => None,
    };
    match (header, body) {
        (Some(h), Some(b)) if h.trim() != b.trim() => Err(AppError::invalid(
            "idempotency_key",
            "the Idempotency-Key header and the idempotency_key field differ",
        )
        .coded("idempotency_key.differs")),
        (h, b) => Ok(h.or(b)),
    }
}

fn entry_response(r: kesher_store::Recorded<LedgerEntry>) -> (StatusCode, Json<LedgerEntryDto>) {
    let status = if r.created { StatusCode::CREATED } else { StatusCode::OK };
    (status, Json(LedgerEntryDto::from(&r.value)))
}

#[utoipa::path(post, path = "/api/customers/{id}/points/redeem", tag = "points", request_body = RedeemInput,
    params(("id" = String, Path, description = "Customer id"), ("Idempotency-Key" = Option<String>, Header, description = "Required here or in the body")),
    responses((status = 201, description = "Redeemed", body = LedgerEntryDto),
              (status = 200, description = "Already redeemed under this key: the first result, nothing written", body = LedgerEntryDto),
              (status = 409, description = "The balance is short (field `points`), or the key was used for another request", body = crate::error::ErrorBody),
              (status = 422, description = "Invalid field", body = crate::error::ErrorBody)))]
pub async fn redeem(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(i): Json<RedeemInput>,
) -> Result<(StatusCode, Json<LedgerEntryDto>), AppError> {
    let key = idempotency_key(&headers, i.idempotency_key)?;
    blocking(st, move |app| {
        let id: CustomerId = parse_id(&id, "id")?;
        let branch: Option<BranchId> = match &i.branch {
            Some(b) => Some(
                app.branch_by_external(b)?
                    .ok_or_else(|| {
                        AppError::invalid("branch", format!("unknown branch {b:?}"))
                            .coded("branch.unknown")
                            .param("branch", b.as_str())
                    })?
                    .id,
            ),
            None => caller.principal.branch,
        };
        caller.check(Action::PointsRedeem, branch)?;
        let req = PointsRequest {
            points: i.points,
            reason: i.reason,
            idempotency_key: key,
            branch_id: branch,
        };
        Ok(entry_response(app.redeem_points(id, &req, &caller.actor(app))?))
    })
    .await
}

#[utoipa::path(post, path = "/api/customers/{id}/points/adjust", tag = "points", request_body = AdjustInput,
    params(("id" = String, Path, description = "Customer id"), ("Idempotency-Key" = Option<String>, Header, description = "Optional")),
    responses((status = 201, description = "Adjusted", body = LedgerEntryDto),
              (status = 200, description = "Already adjusted under this key", body = LedgerEntryDto),
              (status = 409, description = "The balance would go below zero (field `points`)", body = crate::error::ErrorBody),
              (status = 422, description = "Invalid field (a reason is required)", body = crate::error::ErrorBody)))]
pub async fn adjust(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(i): Json<AdjustInput>,
) -> Result<(StatusCode, Json<LedgerEntryDto>), AppError> {
    let key = idempotency_key(&headers, i.idempotency_key)?;
    blocking(st, move |app| {
        let id: CustomerId = parse_id(&id, "id")?;
        caller.check(Action::PointsAdjust, None)?;
        let req = PointsRequest {
            points: i.points,
            reason: i.reason,
            idempotency_key: key,
            branch_id: None,
        };
        Ok(entry_response(app.adjust_points(id, &req, &caller.actor(app))?))
    })
    .await
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateDto {
    /// ISO currency code.
    pub currency: String,
    /// Points for every `per_minor` minor units of a sale's net amount (0: none).
    pub points: i64,
    /// Default: one whole unit of the currency (100 for ILS).
    pub per_minor: Option<i64>,
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EarningRuleDto {
    /// One rate per currency; a currency not listed earns nothing.
    pub rates: Vec<RateDto>,
}

impl From<&EarningRule> for EarningRuleDto {
    fn from(r: &EarningRule) -> Self {
        EarningRuleDto {
            rates: r
                .rates()
                .map(|(c, r)| RateDto {
                    currency: c.to_string(),
                    points: r.points(),
                    per_minor: Some(r.per_minor()),
                })
                .collect(),
        }
    }
}

impl EarningRuleDto {
    fn parse(&self) -> Result<EarningRule, AppError> {
        let mut rule = EarningRule::new();
        for (n, r) in self.rates.iter().enumerate() {
            let field = |f: &str| format!("rates[{n}].{f}");
            let cur = Currency::parse(&r.currency).map_err(|e| AppError::from(e).at(field("currency")))?;
            if rule.rate(cur).is_some() {
                return Err(AppError::invalid(field("currency"), format!("{cur} is listed twice"))
                    .coded("points.rule.currency.repeated")
                    .param("currency", cur.as_str()));
            }
            let rate = match r.per_minor {
                Some(per) => EarnRate::new(r.points, per),
                None => EarnRate::per_whole_unit(cur, r.points),
            }
            .map_err(|e| {
                AppError::invalid(field(e.field()), e.to_string())
                    .coded(e.code())
                    .params(e.params())
            })?;
            rule.set(cur, Some(rate));
        }
        Ok(rule)
    }
}

#[utoipa::path(get, path = "/api/points/rule", tag = "points",
    responses((status = 200, description = "How sales earn points", body = EarningRuleDto)))]
pub async fn get_rule(State(st): State<AppState>) -> Result<Json<EarningRuleDto>, AppError> {
    blocking(st, move |app| Ok(Json(EarningRuleDto::from(&app.earning_rule()?)))).await
}

#[utoipa::path(put, path = "/api/points/rule", tag = "points", request_body = EarningRuleDto,
    responses((status = 200, description = "The rule now in force (audited)", body = EarningRuleDto),
              (status = 422, description = "Invalid field", body = crate::error::ErrorBody)))]
pub async fn put_rule(
    State(st): State<AppState>,
    caller: Caller,
    Json(i): Json<EarningRuleDto>,
) -> Result<Json<EarningRuleDto>, AppError> {
    let rule = i.parse()?;
    blocking(st, move |app| {
        caller.check(Action::PointsConfigure, None)?;
        app.set_earning_rule(&rule, &caller.actor(app))?;
        Ok(Json(EarningRuleDto::from(&rule)))
    })
    .await
}

#[derive(Serialize, ToSchema)]
pub struct KindTotalDto {
    pub kind: String,
    pub entries: u64,
    pub points: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PointsTotalsDto {
    /// Customers with a balance other than zero.
    pub customers: u64,
    /// The points the business owes: the sum of every balance.
    pub outstanding: i64,
    pub by_kind: Vec<KindTotalDto>,
}

#[utoipa::path(get, path = "/api/points/totals", tag = "points",
    responses((status = 200, description = "The program's totals (no customer named)", body = PointsTotalsDto)))]
pub async fn totals(State(st): State<AppState>) -> Result<Json<PointsTotalsDto>, AppError> {
    blocking(st, move |app| {
        let t = app.points_totals()?;
        Ok(Json(PointsTotalsDto {
            customers: t.customers,
            outstanding: t.outstanding,
            by_kind: t
                .by_kind
                .into_iter()
                .map(|(k, n, p)| KindTotalDto {
                    kind: k.as_str().to_string(),
                    entries: n,
                    points: p,
                })
                .collect(),
        }))
    })
    .await
}
