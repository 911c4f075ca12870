//! The loyalty program over HTTP: its definition, enrolment and leaving, the members, and a
//! customer's wallet at the till (docs/loyalty.md).

use crate::auth::Caller;
use crate::dto::parse_id;
use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kesher_app::App;
use kesher_app::loyalty::kpis::{KpiParams, KpiReport};
use kesher_app::loyalty::{Enrolment, Wallet};
use kesher_auth::Action;
use kesher_core::{BranchId, CustomerId, EmployeeId};
use kesher_loyalty::{Member, MemberEvent, MemberStatus, Part};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// One rule's share of an accrual or a reversal.
#[derive(Serialize, ToSchema)]
pub struct PartDto {
    /// `base`, `category:…`, `product:…`, `tier:…`, `promotion:…`, `bonus:birthday`,
    /// `bonus:first_purchase`, `bonus:nth_visit`.
    pub rule: String,
    pub points: i64,
}

impl From<&Part> for PartDto {
    fn from(p: &Part) -> Self {
        PartDto {
            rule: p.rule.clone(),
            points: p.points,
        }
    }
}

/// A membership.
#[derive(Serialize, ToSchema)]
pub struct MemberDto {
    pub customer_id: String,
    /// active or left.
    pub status: String,
    pub tier: Option<String>,
    pub tier_since: Option<String>,
    /// When the tier is next reviewed (a downgrade happens only then).
    pub tier_review_at: Option<String>,
    pub enrolled_at: String,
    pub branch_id: Option<String>,
    pub employee_id: Option<String>,
    /// The enrolment's data quality, 0 to 100.
    pub quality: u8,
    /// What was missing: phone, email, birth_date, consent.
    pub quality_missing: Vec<String>,
    pub invited_by: Option<String>,
    /// Minor units of the program's currency.
    pub fee_paid: i64,
    pub left_at: Option<String>,
}

impl From<&Member> for MemberDto {
    fn from(m: &Member) -> Self {
        MemberDto {
            customer_id: m.customer_id.to_string(),
            status: m.status.as_str().to_string(),
            tier: m.tier.clone(),
            tier_since: m.tier_since.map(|t| t.to_string()),
            tier_review_at: m.tier_review_at.map(|t| t.to_string()),
            enrolled_at: m.enrolled_at.to_string(),
            branch_id: m.branch_id.map(|b| b.to_string()),
            employee_id: m.employee_id.map(|e| e.to_string()),
            quality: m.quality,
            quality_missing: m.quality_missing.clone(),
            invited_by: m.invited_by.map(|c| c.to_string()),
            fee_paid: m.fee_paid,
            left_at: m.left_at.map(|t| t.to_string()),
        }
    }
}

/// One line of a membership's history.
#[derive(Serialize, ToSchema)]
pub struct MemberEventDto {
    pub seq: i64,
    /// enrol, leave, rejoin, tier_up, tier_down.
    pub kind: String,
    pub at: String,
    pub branch_id: Option<String>,
    pub employee_id: Option<String>,
    pub actor: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&MemberEvent> for MemberEventDto {
    fn from(e: &MemberEvent) -> Self {
        MemberEventDto {
            seq: e.seq,
            kind: e.kind.as_str().to_string(),
            at: e.at.to_string(),
            branch_id: e.branch_id.map(|b| b.to_string()),
            employee_id: e.employee_id.map(|x| x.to_string()),
            actor: e.actor.clone(),
            detail: serde_json::from_str(&e.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// A membership and its history.
#[derive(Serialize, ToSchema)]
pub struct MemberDetailDto {
    pub member: MemberDto,
    /// Oldest first.
    pub events: Vec<MemberEventDto>,
}

/// A tier and the way to the next one.
#[derive(Serialize, ToSchema)]
pub struct ProgressDto {
    pub tier: Option<String>,
    pub tier_name: Option<String>,
    /// The qualifying value over the window: minor units (spend) or points.
    pub value: i64,
    pub next_tier: Option<String>,
    pub next_threshold: Option<i64>,
    pub remaining: Option<i64>,
}

/// A lot of points: what an entry added, what is left, when it expires.
#[derive(Serialize, ToSchema)]
pub struct LotDto {
    pub seq: i64,
    pub earned_at: String,
    pub expires_at: String,
    pub points: i64,
    pub remaining: i64,
}

/// What a customer holds: at the till and in the customer view.
#[derive(Serialize, ToSchema)]
pub struct WalletDto {
    pub customer_id: String,
    pub balance: i64,
    /// The lots still holding points, oldest first (when the program's points expire).
    pub lots: Vec<LotDto>,
    /// Points held for the program's return window: part of the balance, not spendable yet.
    pub pending: i64,
    /// When the last pending points become spendable.
    pub pending_until: Option<String>,
    pub member: Option<MemberDto>,
    pub progress: Option<ProgressDto>,
    /// The tier's benefits.
    pub benefits: Vec<String>,
    /// The benefits granted and available now, oldest first.
    pub available_benefits: Vec<GrantDto>,
}

impl From<&Wallet> for WalletDto {
    fn from(w: &Wallet) -> Self {
        WalletDto {
            customer_id: w.customer.to_string(),
            balance: w.balance,
            pending: w.pending,
            pending_until: w.pending_until.map(|t| t.to_string()),
            lots: w
                .lots
                .iter()
                .map(|l| LotDto {
                    seq: l.seq,
                    earned_at: l.earned_at.to_string(),
                    expires_at: l.expires_at.to_string(),
                    points: l.points,
                    remaining: l.remaining,
                })
                .collect(),
            member: w.member.as_ref().map(MemberDto::from),
            progress: w.progress.as_ref().map(|p| ProgressDto {
                tier: p.tier.clone(),
                tier_name: w.tier_name.clone(),
                value: p.value,
                next_tier: p.next.as_ref().map(|n| n.key.clone()),
                next_threshold: p.next.as_ref().map(|n| n.threshold),
                remaining: p.next.as_ref().map(|n| n.remaining),
            }),
            benefits: w.benefits.clone(),
            available_benefits: w.available.iter().map(GrantDto::from).collect(),
        }
    }
}

/// The member's standing after a sale, in the answer to `POST /api/transactions`.
#[derive(Serialize, ToSchema)]
pub struct MembershipDto {
    pub tier: Option<String>,
    /// The upgrade this sale made.
    pub tier_change: Option<TierChangeDto>,
    /// The member's benefits available after the sale, oldest first.
    pub available_benefits: Vec<GrantDto>,
}

#[derive(Serialize, ToSchema)]
pub struct TierChangeDto {
    pub from: Option<String>,
    pub to: Option<String>,
}

impl From<&kesher_loyalty::SaleMembership> for MembershipDto {
    fn from(m: &kesher_loyalty::SaleMembership) -> Self {
        MembershipDto {
            tier: m.tier.clone(),
            tier_change: m.tier_change.as_ref().map(|c| TierChangeDto {
                from: c.from.clone(),
                to: c.to.clone(),
            }),
            available_benefits: m.benefits.iter().map(GrantDto::from).collect(),
        }
    }
}

fn missing_program() -> AppError {
    AppError::not_found("no loyalty program is set").coded("loyalty.program.missing")
}

#[utoipa::path(get, path = "/api/loyalty/program", tag = "loyalty",
    responses((status = 200, description = "The program's definition (docs/loyalty.md)", body = Object),
              (status = 404, description = "No program is set", body = crate::error::ErrorBody)))]
pub async fn get_program(State(st): State<AppState>, caller: Caller) -> Result<Json<serde_json::Value>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::LoyaltyRead, None)?;
        let p = app.loyalty_program()?.ok_or_else(missing_program)?;
        Ok(Json(
            serde_json::to_value(p.definition()).map_err(|e| AppError::internal(e.to_string()))?,
        ))
    })
    .await
}

#[utoipa::path(put, path = "/api/loyalty/program", tag = "loyalty", request_body(content = Object, description = "The program's definition (docs/loyalty.md)"),
    responses((status = 200, description = "The program as stored", body = Object),
              (status = 422, description = "The definition is invalid: `params.key` names the key", body = crate::error::ErrorBody)))]
pub async fn put_program(
    State(st): State<AppState>,
    caller: Caller,
    Json(body): Json<serde_json::Value>,
) -> Result<Json<serde_json::Value>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::LoyaltyConfigure, None)?;
        let p = app.set_loyalty_program(&body.to_string(), &caller.actor(app))?;
        Ok(Json(
            serde_json::to_value(p.definition()).map_err(|e| AppError::internal(e.to_string()))?,
        ))
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolInput {
    pub customer_id: String,
    /// The branch (external id) the enrolment is made at; own-branch callers default to theirs.
    pub branch: Option<String>,
    /// The employee (external id) who enrolled the member.
    pub employee: Option<String>,
    /// The member (customer id) who invited this customer.
    pub invited_by: Option<String>,
    /// The enrolment fee paid, a decimal amount in the program's currency ("25.00").
    pub fee_paid: Option<String>,
}

fn branch_of(app: &App, caller: &Caller, b: &Option<String>) -> Result<Option<BranchId>, AppError> {
    Ok(match b {
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
    })
}

#[utoipa::path(post, path = "/api/loyalty/members", tag = "loyalty", request_body = EnrolInput,
    responses((status = 201, description = "Enrolled (or joined again)", body = MemberDto),
              (status = 404, description = "No program is set, or no such customer", body = crate::error::ErrorBody),
              (status = 409, description = "Already a member", body = crate::error::ErrorBody),
              (status = 422, description = "A joining condition failed (the code names it) or a field is invalid", body = crate::error::ErrorBody)))]
pub async fn enrol(
    State(st): State<AppState>,
    caller: Caller,
    Json(i): Json<EnrolInput>,
) -> Result<(StatusCode, Json<MemberDto>), AppError> {
    blocking(st, move |app| {
        let customer: CustomerId = parse_id(&i.customer_id, "customer_id")?;
        let branch = branch_of(app, &caller, &i.branch)?;
        caller.check(Action::LoyaltyEnrol, branch)?;
        let employee: Option<EmployeeId> = match &i.employee {
            Some(e) => Some(
                app.employee_by_external(e)?
                    .ok_or_else(|| {
                        AppError::invalid("employee", format!("unknown employee {e:?}"))
                            .coded("employee.unknown")
                            .param("employee", e.as_str())
                    })?
                    .id,
            ),
            None => None,
        };
        let invited_by: Option<CustomerId> = match &i.invited_by {
            Some(s) => Some(parse_id(s, "invited_by")?),
            None => None,
        };
        let program = app.loyalty_program()?.ok_or_else(missing_program)?;
        let fee_paid = match &i.fee_paid {
            Some(f) => program.currency().parse_amount(f, "fee_paid").map_err(AppError::from)?,
            None => 0,
        };
        let r = app.enrol_member(
            &Enrolment {
                customer,
                branch,
                employee,
                invited_by,
                fee_paid,
            },
            &caller.actor(app),
        )?;
        Ok((StatusCode::CREATED, Json(MemberDto::from(&r.member))))
    })
    .await
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LeaveInput {
    /// The branch (external id) where the member asked to leave.
    pub branch: Option<String>,
}

#[utoipa::path(post, path = "/api/loyalty/members/{id}/leave", tag = "loyalty", request_body = LeaveInput,
    params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "Left the program", body = MemberDto),
              (status = 409, description = "Not a member", body = crate::error::ErrorBody)))]
pub async fn leave(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(i): Json<LeaveInput>,
) -> Result<Json<MemberDto>, AppError> {
    blocking(st, move |app| {
        let customer: CustomerId = parse_id(&id, "id")?;
        let branch = branch_of(app, &caller, &i.branch)?;
        caller.check(Action::LoyaltyEnrol, branch)?;
        let m = app.leave_program(customer, branch, &caller.actor(app))?;
        Ok(Json(MemberDto::from(&m)))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct MembersParams {
    /// active or left.
    pub status: Option<String>,
    pub tier: Option<String>,
    /// The last customer id of the previous page.
    pub after: Option<String>,
    /// 1 to 1000, default 100.
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/loyalty/members", tag = "loyalty", params(MembersParams),
    responses((status = 200, description = "Members by customer id", body = Vec<MemberDto>)))]
pub async fn members(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<MembersParams>,
) -> Result<Json<Vec<MemberDto>>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::LoyaltyRead, None)?;
        let status = match p.status.as_deref() {
            Some(s) => Some(MemberStatus::parse(s).ok_or_else(|| {
                AppError::invalid("status", "active or left")
                    .coded("value.unknown")
                    .param("value", s)
                    .param("expected", "active, left")
            })?),
            None => None,
        };
        let limit = p.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(AppError::bad_request(Some("limit".into()), "limit must be 1 to 1000")
                .coded("query.limit.out_of_range")
                .param("max", 1000));
        }
        let after: Option<CustomerId> = match &p.after {
            Some(a) => Some(parse_id(a, "after")?),
            None => None,
        };
        let list = app.loyalty_members(status, p.tier.as_deref(), after, limit)?;
        Ok(Json(list.iter().map(MemberDto::from).collect()))
    })
    .await
}

#[utoipa::path(get, path = "/api/loyalty/members/{id}", tag = "loyalty", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "The membership and its history", body = MemberDetailDto),
              (status = 404, description = "Not a member, now or before", body = crate::error::ErrorBody)))]
pub async fn member(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MemberDetailDto>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::LoyaltyRead, None)?;
        let customer: CustomerId = parse_id(&id, "id")?;
        let w = app.wallet(customer)?;
        let m = w
            .member
            .ok_or_else(|| AppError::not_found("not a member").coded("loyalty.member.not_member"))?;
        let events = app.member_events(customer)?;
        Ok(Json(MemberDetailDto {
            member: MemberDto::from(&m),
            events: events.iter().map(MemberEventDto::from).collect(),
        }))
    })
    .await
}

#[utoipa::path(get, path = "/api/customers/{id}/wallet", tag = "loyalty", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "Balance, membership, tier and progress, benefits", body = WalletDto),
              (status = 404, description = "No such customer", body = crate::error::ErrorBody)))]
pub async fn wallet(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<WalletDto>, AppError> {
    blocking(st, move |app| {
        let customer: CustomerId = parse_id(&id, "id")?;
        caller.check(Action::PointsRead, None)?;
        Ok(Json(WalletDto::from(&app.wallet(customer)?)))
    })
    .await
}

// `GET /api/loyalty/design`: designing a program from the business's data (aggregates only).

#[derive(Deserialize, IntoParams)]
pub struct DesignParams {
    /// ISO code; default: the program's currency, else the one most sales were made in.
    pub currency: Option<String>,
    /// Share of the issued points assumed redeemed, 0 to 1 (default 0.6).
    pub redemption_rate: Option<String>,
    /// Months of history the simulation replays, 1 to 120 (default 12).
    pub months: Option<String>,
    /// Share of the gross margin given back, above 0 up to 1 (default 0.1).
    pub margin_share: Option<String>,
    /// A point's value in the currency (default one minor unit).
    pub point_value: Option<String>,
}

#[utoipa::path(get, path = "/api/loyalty/design", tag = "loyalty", params(DesignParams),
    responses((status = 200, description = "Repeat buying, thresholds and tiers, the affordable benefit rate, the suggested program and its replay over the history (amounts in minor units; no customer named; docs/loyalty.md)", body = Object),
              (status = 400, description = "A parameter out of range, or no sales to design from", body = crate::error::ErrorBody)))]
pub async fn design(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<DesignParams>,
) -> Result<Json<serde_json::Value>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::AnalyticsRead, None)?;
        let d = app.loyalty_design(&kesher_app::loyalty_design::DesignRequest {
            currency: p.currency,
            redemption_rate: p.redemption_rate,
            months: p.months,
            margin_share: p.margin_share,
            point_value: p.point_value,
        })?;
        let body = serde_json::to_value(&d).map_err(|e| AppError::internal(format!("the design as JSON: {e}")))?;
        Ok(Json(body))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct KpiParamsDto {
    /// First local date of the window (YYYY-MM-DD); default 364 days before `to`.
    pub from: Option<String>,
    /// Last local date of the window, included; default today in the business's time zone.
    pub to: Option<String>,
    /// One branch (external id); default every branch.
    pub branch: Option<String>,
    /// day, week (from Monday) or month (default).
    pub by: Option<String>,
    /// A point's value in major units of the program's currency, default 0.05.
    pub point_value: Option<String>,
    /// Months before and after enrolment the difference in differences compares, 1 to 12, default 3.
    pub months: Option<u32>,
}

#[utoipa::path(get, path = "/api/loyalty/kpis", tag = "loyalty", params(KpiParamsDto),
    responses((status = 200, description = "The program's KPIs, one key each (docs/loyalty.md, \"KPIs\"): enrolments, data_quality, identified_sales, points, new_vs_returning, benefits, financial_impact; aggregates only", body = Object),
              (status = 422, description = "A parameter is not valid (the error names it)", body = crate::error::ErrorBody)))]
pub async fn kpis(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<KpiParamsDto>,
) -> Result<Json<KpiReport>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::AnalyticsRead, None)?;
        let q = app.loyalty_kpi_query(&KpiParams {
            from: p.from.as_deref(),
            to: p.to.as_deref(),
            branch: p.branch.as_deref(),
            by: p.by.as_deref(),
            point_value: p.point_value.as_deref(),
            months: p.months,
        })?;
        Ok(Json(app.loyalty_kpis(&q)?))
    })
    .await
}

// --- Benefits: the catalogue's grants, redemption for points, honouring at the till, surprises.

/// A benefit granted to a customer.
#[derive(Serialize, ToSchema)]
pub struct GrantDto {
    pub id: String,
    pub customer_id: String,
    /// The catalogue's key.
    pub benefit: String,
    /// available, used or expired (as of now).
    pub state: String,
    /// redeemed, tier, surprise or manual.
    pub source: String,
    pub granted_at: String,
    pub available_until: String,
    pub granted_by: String,
    pub used_at: Option<String>,
    pub honoured_by: Option<String>,
    pub honoured_branch_id: Option<String>,
    /// The points entry that paid for it (redeemed).
    pub points_seq: Option<i64>,
    pub draw_id: Option<String>,
}

impl From<&kesher_loyalty::benefits::Grant> for GrantDto {
    fn from(g: &kesher_loyalty::benefits::Grant) -> Self {
        GrantDto {
            id: g.id.to_string(),
            customer_id: g.customer_id.to_string(),
            benefit: g.benefit.clone(),
            state: g.state.as_str().to_string(),
            source: g.source.as_str().to_string(),
            granted_at: g.granted_at.to_string(),
            available_until: g.available_until.to_string(),
            granted_by: g.granted_by.clone(),
            used_at: g.used_at.map(|t| t.to_string()),
            honoured_by: g.honoured_by.clone(),
            honoured_branch_id: g.honoured_branch.map(|b| b.to_string()),
            points_seq: g.points_seq,
            draw_id: g.draw_id.map(|d| d.to_string()),
        }
    }
}

/// A redemption of points for a benefit: the grant and the ledger entry that paid for it.
#[derive(Serialize, ToSchema)]
pub struct RedeemedDto {
    pub grant: GrantDto,
    pub entry: crate::points::LedgerEntryDto,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    /// The catalogue's key.
    pub benefit: String,
    /// Or the `Idempotency-Key` header: a retry with the same key returns the first grant.
    pub idempotency_key: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemBenefitInput {
    /// The catalogue's key (a benefit with `cost_points`).
    pub benefit: String,
    /// Or the `Idempotency-Key` header (required in one of them).
    pub idempotency_key: Option<String>,
    /// The branch (external id) it is redeemed at; own-branch callers default to theirs.
    pub branch: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct HonourInput {
    /// Or the `Idempotency-Key` header (required in one of them).
    pub idempotency_key: Option<String>,
    /// The branch (external id) it is honoured at; own-branch callers default to theirs.
    pub branch: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurpriseInput {
    /// The catalogue's key (a benefit with a money or points value, or a points price).
    pub benefit: String,
    /// A saved segment's name or an expression (or `random`).
    pub segment: Option<String>,
    /// Draw at most this many active members at random (or `segment`).
    pub random: Option<u64>,
    /// A decimal amount in the program's currency, or a number of points.
    pub budget: String,
    /// The draw is reproducible from it.
    pub seed: u64,
    /// No member gets the same surprise twice within this many days (default 365).
    pub no_repeat_days: Option<i64>,
}

/// A surprise draw.
#[derive(Serialize, ToSchema)]
pub struct SurpriseDto {
    pub id: String,
    pub benefit: String,
    /// As a string: a seed may exceed what a JSON number holds exactly.
    pub seed: String,
    pub parameters: serde_json::Value,
    pub actor: String,
    pub at: String,
    /// The members drawn, in the order drawn.
    pub members: Vec<String>,
}

impl From<&kesher_store::SurpriseDraw> for SurpriseDto {
    fn from(d: &kesher_store::SurpriseDraw) -> Self {
        SurpriseDto {
            id: d.id.to_string(),
            benefit: d.benefit.clone(),
            seed: d.seed.to_string(),
            parameters: serde_json::from_str(&d.parameters).unwrap_or(serde_json::Value::Null),
            actor: d.actor.clone(),
            at: d.at.to_string(),
            members: d.members.iter().map(|m| m.to_string()).collect(),
        }
    }
}

fn branch_or_own(app: &App, caller: &Caller, b: Option<&str>) -> Result<Option<BranchId>, AppError> {
    match b {
        Some(b) => Ok(Some(
            app.branch_by_external(b)?
                .ok_or_else(|| {
                    AppError::invalid("branch", format!("unknown branch {b:?}"))
                        .coded("branch.unknown")
                        .param("branch", b)
                })?
                .id,
        )),
        None => Ok(caller.principal.branch),
    }
}

#[utoipa::path(get, path = "/api/customers/{id}/benefits", tag = "loyalty", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "The customer's granted benefits, oldest first, each with its state now", body = [GrantDto]),
              (status = 404, description = "No such customer", body = crate::error::ErrorBody)))]
pub async fn benefits(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<GrantDto>>, AppError> {
    blocking(st, move |app| {
        let customer: CustomerId = parse_id(&id, "id")?;
        caller.check(Action::PointsRead, None)?;
        Ok(Json(
            app.customer_benefits(customer)?.iter().map(GrantDto::from).collect(),
        ))
    })
    .await
}

#[utoipa::path(post, path = "/api/customers/{id}/benefits", tag = "loyalty", request_body = GrantInput,
    params(("id" = String, Path, description = "Customer id"), ("Idempotency-Key" = Option<String>, Header, description = "Optional")),
    responses((status = 201, description = "Granted", body = GrantDto),
              (status = 200, description = "Already granted under this key", body = GrantDto),
              (status = 404, description = "No such customer", body = crate::error::ErrorBody),
              (status = 409, description = "The key was used for another request", body = crate::error::ErrorBody)))]
pub async fn grant_benefit(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(i): Json<GrantInput>,
) -> Result<(StatusCode, Json<GrantDto>), AppError> {
    let key = crate::points::idempotency_key(&headers, i.idempotency_key)?;
    blocking(st, move |app| {
        let customer: CustomerId = parse_id(&id, "id")?;
        caller.check(Action::BenefitsGrant, None)?;
        let r = app.grant_benefit(
            customer,
            &kesher_app::benefits::GrantRequest {
                benefit: i.benefit,
                idempotency_key: key,
            },
            &caller.actor(app),
        )?;
        let status = if r.created { StatusCode::CREATED } else { StatusCode::OK };
        Ok((status, Json(GrantDto::from(&r.value))))
    })
    .await
}

#[utoipa::path(post, path = "/api/customers/{id}/benefits/redeem", tag = "loyalty", request_body = RedeemBenefitInput,
    params(("id" = String, Path, description = "Customer id"), ("Idempotency-Key" = Option<String>, Header, description = "Required here or in the body")),
    responses((status = 201, description = "Redeemed: the points spent and the benefit granted", body = RedeemedDto),
              (status = 200, description = "Already redeemed under this key: the first result, nothing written", body = RedeemedDto),
              (status = 404, description = "No such customer", body = crate::error::ErrorBody),
              (status = 409, description = "The balance is short (field `points`), or the key was used for another request", body = crate::error::ErrorBody)))]
pub async fn redeem_benefit(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(i): Json<RedeemBenefitInput>,
) -> Result<(StatusCode, Json<RedeemedDto>), AppError> {
    let key = crate::points::idempotency_key(&headers, i.idempotency_key)?;
    blocking(st, move |app| {
        let customer: CustomerId = parse_id(&id, "id")?;
        let branch = branch_or_own(app, &caller, i.branch.as_deref())?;
        caller.check(Action::BenefitsRedeem, branch)?;
        let r = app.redeem_benefit(
            customer,
            &kesher_app::benefits::RedeemBenefit {
                benefit: i.benefit,
                idempotency_key: key,
                branch,
            },
            &caller.actor(app),
        )?;
        let status = if r.created { StatusCode::CREATED } else { StatusCode::OK };
        Ok((
            status,
            Json(RedeemedDto {
                grant: GrantDto::from(&r.value.grant),
                entry: crate::points::LedgerEntryDto::from(&r.value.entry),
            }),
        ))
    })
    .await
}

#[utoipa::path(post, path = "/api/benefits/{grant_id}/honour", tag = "loyalty", request_body = HonourInput,
    params(("grant_id" = String, Path, description = "Grant id"), ("Idempotency-Key" = Option<String>, Header, description = "Required here or in the body")),
    responses((status = 201, description = "Honoured: marked used, by whom and where", body = GrantDto),
              (status = 200, description = "Already honoured under this key", body = GrantDto),
              (status = 404, description = "No such grant", body = crate::error::ErrorBody),
              (status = 409, description = "The grant is used or expired (field `state`)", body = crate::error::ErrorBody)))]
pub async fn honour_benefit(
    State(st): State<AppState>,
    caller: Caller,
    Path(grant_id): Path<String>,
    headers: axum::http::HeaderMap,
    Json(i): Json<HonourInput>,
) -> Result<(StatusCode, Json<GrantDto>), AppError> {
    let key = crate::points::idempotency_key(&headers, i.idempotency_key)?;
    blocking(st, move |app| {
        let id: kesher_core::BenefitGrantId = parse_id(&grant_id, "grant_id")?;
        let branch = branch_or_own(app, &caller, i.branch.as_deref())?;
        caller.check(Action::BenefitsRedeem, branch)?;
        let r = app.honour_benefit(
            id,
            &kesher_app::benefits::HonourRequest {
                idempotency_key: key,
                branch,
            },
            &caller.actor(app),
        )?;
        let status = if r.created { StatusCode::CREATED } else { StatusCode::OK };
        Ok((status, Json(GrantDto::from(&r.value))))
    })
    .await
}

#[utoipa::path(post, path = "/api/loyalty/surprises", tag = "loyalty", request_body = SurpriseInput,
    responses((status = 201, description = "Drawn: the members granted the benefit", body = SurpriseDto),
              (status = 404, description = "No saved segment by that name", body = crate::error::ErrorBody)))]
pub async fn draw_surprise(
    State(st): State<AppState>,
    caller: Caller,
    Json(i): Json<SurpriseInput>,
) -> Result<(StatusCode, Json<SurpriseDto>), AppError> {
    blocking(st, move |app| {
        caller.check(Action::BenefitsGrant, None)?;
        let pool = match (i.segment, i.random) {
            (Some(s), None) => kesher_app::benefits::SurprisePool::Segment(s),
            (None, Some(n)) => kesher_app::benefits::SurprisePool::Random(usize::try_from(n).unwrap_or(usize::MAX)),
            _ => {
                return Err(
                    AppError::invalid("segment", "give either segment or random").coded("loyalty.surprise.pool")
                );
            }
        };
        let s = app
            .draw_surprise(
                &kesher_app::benefits::SurpriseRequest {
                    benefit: i.benefit,
                    pool,
                    budget: i.budget,
                    seed: i.seed,
                    no_repeat_days: i.no_repeat_days.unwrap_or(365),
                },
                &caller.actor(app),
            )
            .map_err(|e| crate::segments::segment_error(e, "segment"))?;
        Ok((StatusCode::CREATED, Json(SurpriseDto::from(&s.draw))))
    })
    .await
}

#[utoipa::path(get, path = "/api/loyalty/surprises/{id}", tag = "loyalty", params(("id" = String, Path, description = "Draw id")),
    responses((status = 200, description = "The draw: benefit, seed, parameters, who, when, the members", body = SurpriseDto),
              (status = 404, description = "No such draw", body = crate::error::ErrorBody)))]
pub async fn surprise(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<SurpriseDto>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::BenefitsGrant, None)?;
        let id: kesher_core::SurpriseDrawId = parse_id(&id, "id")?;
        Ok(Json(SurpriseDto::from(&app.surprise_draw(id)?)))
    })
    .await
}
