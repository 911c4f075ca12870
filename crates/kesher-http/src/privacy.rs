//! The customer's rights (export, erasure), the retention rule, and the audit log's export.

use crate::auth::Caller;
use crate::customers::home_branch;
use crate::dto::parse_id;
use crate::error::{AppError, Json};
use crate::{AppState, blocking};
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kesher_auth::Action;
use kesher_core::CustomerId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[utoipa::path(get, path = "/api/customers/{id}/export", tag = "privacy", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "Everything held about the customer (the right of access), as a JSON download", body = Object),
              (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn export(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> Result<Response, AppError> {
    let doc = blocking(st, move |app| {
        let id: CustomerId = parse_id(&id, "id")?;
        c.check(Action::CustomersExport, home_branch(app, id)?)?;
        Ok(app.export_customer(id, &c.actor(app))?)
    })
    .await?;
    let name = doc["customer"]["id"].as_str().unwrap_or("customer").to_owned();
    let mut r = axum::Json(doc).into_response();
    if let Ok(v) = format!("attachment; filename=\"kesher-customer-{name}.json\"").parse() {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

#[derive(Serialize, ToSchema)]
pub struct ErasureDto {
    pub customer_id: String,
    pub erased_at: Option<String>,
    pub interactions_cleared: u64,
    pub aliases_removed: u64,
    pub consent_events_removed: u64,
    pub audit_entries_redacted: u64,
}

#[utoipa::path(post, path = "/api/customers/{id}/erase", tag = "privacy", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "Personal data removed; transactions kept anonymised", body = ErasureDto),
              (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn erase(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> Result<Json<ErasureDto>, AppError> {
    blocking(st, move |app| {
        let id: CustomerId = parse_id(&id, "id")?;
        c.check(Action::CustomersErase, home_branch(app, id)?)?;
        let r = app.erase_customer(id, &c.actor(app))?;
        Ok(Json(ErasureDto {
            customer_id: id.to_string(),
            erased_at: app.erased_at(id)?.map(|t| t.to_string()),
            interactions_cleared: r.interactions_cleared,
            aliases_removed: r.aliases_removed,
            consent_events_removed: r.consent_events_removed,
            audit_entries_redacted: r.audit_entries_redacted,
        }))
    })
    .await
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionDto {
    /// Customers inactive for longer than this many years are anonymised; null keeps them.
    pub years: Option<u32>,
}

#[utoipa::path(get, path = "/api/privacy/retention", tag = "privacy",
    responses((status = 200, description = "The retention setting", body = RetentionDto)))]
pub async fn get_retention(State(st): State<AppState>) -> Result<Json<RetentionDto>, AppError> {
    blocking(st, |app| {
        Ok(Json(RetentionDto {
            years: app.retention_years()?,
        }))
    })
    .await
}

#[utoipa::path(put, path = "/api/privacy/retention", tag = "privacy", request_body = RetentionDto,
    responses((status = 200, description = "Saved", body = RetentionDto)))]
pub async fn put_retention(
    State(st): State<AppState>,
    c: Caller,
    Json(i): Json<RetentionDto>,
) -> Result<Json<RetentionDto>, AppError> {
    blocking(st, move |app| {
        app.set_retention_years(i.years, &c.actor(app))?;
        Ok(Json(i))
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRunInput {
    /// Only count who would be anonymised.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Serialize, ToSchema)]
pub struct RetentionRunDto {
    pub years: Option<u32>,
    /// Customers with no activity since this instant were anonymised.
    pub cutoff: Option<String>,
    pub candidates: u64,
    pub erased: u64,
}

#[utoipa::path(post, path = "/api/privacy/retention/run", tag = "privacy", request_body = RetentionRunInput,
    responses((status = 200, description = "Applied the retention rule now", body = RetentionRunDto)))]
pub async fn run_retention(
    State(st): State<AppState>,
    c: Caller,
    Json(i): Json<RetentionRunInput>,
) -> Result<Json<RetentionRunDto>, AppError> {
    blocking(st, move |app| {
        let r = app.apply_retention(None, i.dry_run, &c.actor(app))?;
        Ok(Json(RetentionRunDto {
            years: r.years,
            cutoff: r.cutoff.map(|t| t.to_string()),
            candidates: r.candidates,
            erased: r.erased,
        }))
    })
    .await
}

#[utoipa::path(get, path = "/api/audit/export", tag = "system",
    responses((status = 200, description = "The whole audit log, oldest first, one JSON object per line (NDJSON)", content_type = "application/x-ndjson", body = String)))]
pub async fn export_audit(State(st): State<AppState>, c: Caller) -> Result<Response, AppError> {
    let body = blocking(st, move |app| {
        let mut all = Vec::new();
        let mut offset = 0u64;
        loop {
            let page = app.audit_log(1000, offset)?;
            if page.is_empty() {
                break;
            }
            offset += page.len() as u64;
            all.extend(page);
        }
        all.reverse();
        let mut out = String::new();
        for a in &all {
            let line = serde_json::json!({"seq": a.seq, "at": a.at.to_string(), "actor": a.actor, "origin": a.origin,
                "action": a.action, "entity": a.entity, "entity_id": a.entity_id, "before": a.before, "after": a.after});
            out.push_str(&line.to_string());
            out.push('\n');
        }
        app.append_audit(
            &c.actor(app),
            "audit.export",
            "audit_log",
            "-",
            Some(&serde_json::json!({"entries": all.len()})),
        )?;
        Ok(out)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"kesher-audit.ndjson\"",
            ),
        ],
        body,
    )
        .into_response())
}
