//! Transactions (idempotent on their external id) and interactions.

use crate::auth::Caller;
use crate::dto::*;
use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kesher_app::ids;
use kesher_auth::Action;
use kesher_core::{
    Channel, Currency, CustomerId, Interaction, InteractionKind, InteractionStatus, Line, Transaction, TransactionId,
    parse_external_id, parse_instant,
};
use kesher_store::Identifier;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
pub struct ListParams {
    /// Only this customer's records.
    pub customer_id: Option<String>,
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

fn list_args(p: &ListParams) -> Result<(Option<CustomerId>, u32, u64), AppError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request(Some("limit".into()), "limit must be 1 to 500")
            .coded("query.limit.out_of_range")
            .param("max", 500));
    }
    let c = p
        .customer_id
        .as_deref()
        .map(|c| parse_id::<CustomerId>(c, "customer_id"))
        .transpose()?;
    Ok((c, limit, p.offset.unwrap_or(0)))
}

#[utoipa::path(post, path = "/api/transactions", tag = "transactions", request_body = TransactionInput,
    responses((status = 201, description = "Recorded", body = TransactionDto),
              (status = 200, description = "Already recorded under this external_id: the first result, nothing created", body = TransactionDto),
              (status = 409, description = "This external_id was recorded for a different sale (customer, branch, employee, time, currency, lines or refund_of)", body = crate::error::ErrorBody),
              (status = 422, description = "Invalid field", body = crate::error::ErrorBody)))]
pub async fn create_transaction(
    State(st): State<AppState>,
    caller: Caller,
    Json(i): Json<TransactionInput>,
) -> Result<(StatusCode, Json<TransactionDto>), AppError> {
    blocking(st, move |app| {
        let external_id = parse_external_id(&i.external_id, "external_id")?;
        let currency = Currency::parse(&i.currency)?;
        let customer_id = match (&i.customer_id, &i.member_no) {
            (Some(_), Some(_)) => {
                return Err(
                    AppError::invalid("member_no", "give customer_id or member_no, not both")
                        .coded("transaction.customer.ambiguous"),
                );
            }
            (Some(id), None) => Some(parse_id::<CustomerId>(id, "customer_id")?),
            (None, Some(m)) => Some(
                app
                    .lookup_customer(&Identifier::Member(m.trim().to_string()))?
                    .ok_or_else(|| {
                        AppError::invalid("member_no", format!("unknown member {m:?}"))
                            .coded("member.unknown")
                            .param("value", m.as_str())
                    })?
                    .id,
            ),
            (None, None) => None,
        };
        let branch = app.branch_by_external(&i.branch)?.ok_or_else(|| {
            AppError::invalid("branch", format!("unknown branch {:?}", i.branch))
                .coded("branch.unknown")
                .param("branch", i.branch.as_str())
        })?;
        let employee_id = match &i.employee {
            Some(e) => Some(
                app
                    .employee_by_external(e)?
                    .ok_or_else(|| {
                        AppError::invalid("employee", format!("unknown employee {e:?}"))
                            .coded("employee.unknown")
                            .param("employee", e.as_str())
                    })?
                    .id,
            ),
            None => None,
        };
        let refund_of = match &i.refund_of {
            Some(r) => Some(
                app
                    .transaction_by_external(r)?
                    .ok_or_else(|| {
                        AppError::invalid("refund_of", format!("unknown transaction {r:?}"))
                            .coded("transaction.unknown")
                            .param("value", r.as_str())
                    })?
                    .id,
            ),
            None => None,
        };
        let mut lines = Vec::with_capacity(i.lines.len());
        for (n, l) in i.lines.iter().enumerate() {
            let field = |f: &str| format!("lines[{n}].{f}");
            let unit_price = currency
                .parse_amount(&l.unit_price, "unit_price")
                .map_err(|e| AppError::from(e).at(field("unit_price")))?;
            let discount = match &l.discount {
                Some(d) => currency
                    .parse_amount(d, "discount")
                    .map_err(|e| AppError::from(e).at(field("discount")))?,
                None => 0,
            };
            let (product_id, sku) = match l.sku.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(sku) => {
                    let p = app.product_by_sku(sku)?.ok_or_else(|| {
                        AppError::invalid(field("sku"), format!("unknown product {sku:?}"))
                            .coded("product.unknown")
                            .param("sku", sku)
                    })?;
                    p.check_sale_currency(currency, "sku")
                        .map_err(|e| AppError::from(e).at(field("sku")))?;
                    (Some(p.id), Some(sku.to_string()))
                }
                None => (None, None),
            };
            lines.push(Line {
                product_id,
                sku,
                quantity: l.quantity,
                unit_price,
                discount,
            });
        }
        let t = Transaction {
            id: ids::transaction(),
            external_id,
            customer_id,
            branch_id: branch.id,
            employee_id,
            occurred_at: parse_instant(&i.occurred_at, "occurred_at")?,
            currency,
            lines,
            refund_of,
        };
        caller.check(Action::TransactionsRecord, Some(t.branch_id))?;
        // Points are earned (or taken back by a refund) in the sale's own database transaction.
        let r = app.record_sale(&t, &caller.actor(app))?;
        let status = if r.transaction.created {
            StatusCode::CREATED
        } else {
            // The key was used before: a retry of the same sale answers with the first result
            // and writes nothing; another sale under the same key is refused.
            if let Some(what) = differs(&r.transaction.value, &t) {
                return Err(AppError::new(
                    StatusCode::CONFLICT,
                    "transaction.external_id.reused",
                    Some("external_id".into()),
                    kesher_core::params!(external_id = t.external_id.as_str(), differs = what),
                    format!(
                        "external_id {:?} was recorded for another sale (its {what} differs); a retry must repeat the first request",
                        t.external_id
                    ),
                ));
            }
            StatusCode::OK
        };
        Ok((status, Json(sale_dto(&r))))
    })
    .await
}

/// What makes `retry` another sale than `first`, recorded under the same external id: the
/// customer, branch, employee, time (to the stored microsecond), currency, lines or the sale a
/// refund is of. `None` when it is the same request again.
pub fn differs(first: &Transaction, retry: &Transaction) -> Option<&'static str> {
    let line = |l: &Line| (l.product_id, l.quantity, l.unit_price, l.discount);
    if first.customer_id != retry.customer_id {
        Some("customer")
    } else if first.branch_id != retry.branch_id {
        Some("branch")
    } else if first.employee_id != retry.employee_id {
        Some("employee")
    } else if first.occurred_at.as_microsecond() != retry.occurred_at.as_microsecond() {
        Some("occurred_at")
    } else if first.currency != retry.currency {
        Some("currency")
    } else if first.refund_of != retry.refund_of {
        Some("refund_of")
    } else if first.lines.len() != retry.lines.len()
        || first.lines.iter().zip(&retry.lines).any(|(a, b)| line(a) != line(b))
    {
        Some("lines")
    } else {
        None
    }
}

fn sale_dto(r: &kesher_store::RecordedSale) -> TransactionDto {
    let mut d = TransactionDto::from(&r.transaction.value);
    d.points = r.points.as_ref().map(crate::points::LedgerEntryDto::from);
    d.membership = r.membership.as_ref().map(crate::loyalty::MembershipDto::from);
    d
}

#[utoipa::path(get, path = "/api/transactions", tag = "transactions", params(ListParams),
    responses((status = 200, description = "Newest first", body = PageDto<TransactionDto>)))]
pub async fn list_transactions(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> Result<Json<PageDto<TransactionDto>>, AppError> {
    blocking(st, move |app| {
        let (c, limit, offset) = list_args(&p)?;
        scope_list(app, &caller, Action::TransactionsRead, c)?;
        Ok(Json(PageDto::from_page(app.list_transactions(c, limit, offset)?)))
    })
    .await
}

#[utoipa::path(get, path = "/api/transactions/{id}", tag = "transactions", params(("id" = String, Path, description = "Transaction id")),
    responses((status = 200, description = "The transaction", body = TransactionDto), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn get_transaction(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<TransactionDto>, AppError> {
    blocking(st, move |app| {
        let id: TransactionId = parse_id(&id, "id")?;
        let t = app.get_transaction(id)?.ok_or_else(|| {
            AppError::not_found(format!("transaction not found: {id}")).coded("transaction.not_found")
        })?;
        caller.check(Action::TransactionsRead, Some(t.branch_id))?;
        Ok(Json(TransactionDto::from(&t)))
    })
    .await
}

#[utoipa::path(post, path = "/api/interactions", tag = "interactions", request_body = InteractionInput,
    responses((status = 201, description = "Recorded", body = InteractionDto),
              (status = 200, description = "Already recorded under this external_id", body = InteractionDto),
              (status = 422, description = "Invalid field", body = crate::error::ErrorBody)))]
pub async fn create_interaction(
    State(st): State<AppState>,
    caller: Caller,
    Json(i): Json<InteractionInput>,
) -> Result<(StatusCode, Json<InteractionDto>), AppError> {
    blocking(st, move |app| {
        let customer_id: CustomerId = parse_id(&i.customer_id, "customer_id")?;
        let home = app
            .get_customer(customer_id)?
            .ok_or_else(|| {
                AppError::invalid("customer_id", format!("no customer {customer_id}")).coded("customer.unknown")
            })?
            .source_branch;
        caller.check(Action::InteractionsRecord, home)?;
        let kind = InteractionKind::parse(&i.kind)?;
        let status = i.status.as_deref().map(InteractionStatus::parse).transpose()?;
        let employee_id = match &i.employee {
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
        let it = Interaction {
            id: ids::interaction(),
            external_id: i
                .external_id
                .as_deref()
                .map(|e| parse_external_id(e, "external_id"))
                .transpose()?,
            customer_id,
            channel: Channel::parse(&i.channel)?,
            kind,
            occurred_at: match &i.occurred_at {
                Some(t) => parse_instant(t, "occurred_at")?,
                None => app.now(),
            },
            text: i.text,
            employee_id,
            satisfaction: i.satisfaction,
            status: status.or((kind == InteractionKind::Complaint).then_some(InteractionStatus::Open)),
        };
        let r = app.record_interaction(&it, &caller.actor(app))?;
        let code = if r.created { StatusCode::CREATED } else { StatusCode::OK };
        Ok((code, Json(InteractionDto::from(&r.value))))
    })
    .await
}

#[utoipa::path(get, path = "/api/interactions", tag = "interactions", params(ListParams),
    responses((status = 200, description = "Newest first", body = PageDto<InteractionDto>)))]
pub async fn list_interactions(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> Result<Json<PageDto<InteractionDto>>, AppError> {
    blocking(st, move |app| {
        let (c, limit, offset) = list_args(&p)?;
        scope_list(app, &caller, Action::InteractionsRead, c)?;
        let mut page = PageDto::<InteractionDto>::from_page(app.list_interactions(c, limit, offset)?);
        if caller.anonymised(Action::InteractionsRead) {
            for i in &mut page.items {
                i.text = None;
            }
        }
        Ok(Json(page))
    })
    .await
}

/// Own-branch roles list one customer's records at a time, of a customer of their branch.
fn scope_list(app: &kesher_app::App, caller: &Caller, action: Action, c: Option<CustomerId>) -> Result<(), AppError> {
    if caller.branch_filter(action)?.is_none() {
        return Ok(());
    }
    let Some(id) = c else {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "auth.out_of_branch.customer_required",
            Some("customer_id".into()),
            kesher_core::params!(action = action.as_str()),
            format!("{action} is limited to your own branch: give a customer_id of your branch"),
        ));
    };
    caller
        .check(action, crate::customers::home_branch(app, id)?)
        .map(|_| ())
}
