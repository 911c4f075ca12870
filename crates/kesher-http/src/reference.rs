//! Health (liveness), the business's size, branches, employees, products, CSV import over HTTP, and the audit log.

use crate::dto::*;
use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kesher_app::ids;
use kesher_app::import::{ImportKind, ImportOptions};
use kesher_core::{Branch, Currency, Employee, Money, Product, parse_external_id};
use kesher_store::Inserted;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Liveness: what anyone may learn without signing in.
#[derive(Serialize, ToSchema)]
pub struct HealthDto {
    pub status: String,
}

#[utoipa::path(get, path = "/api/health", tag = "system",
    responses((status = 200, description = "Up (liveness only: the business's figures are at /api/stats)", body = HealthDto)))]
pub async fn health() -> Json<HealthDto> {
    Json(HealthDto { status: "ok".into() })
}

/// The size of the business: for a signed-in caller allowed to read analytics.
#[derive(Serialize, ToSchema)]
pub struct StatsDto {
    pub version: String,
    pub customers: u64,
    pub transactions: u64,
}

#[utoipa::path(get, path = "/api/stats", tag = "system",
    responses((status = 200, description = "How many customers and transactions", body = StatsDto),
              (status = 401, description = "Not signed in", body = crate::error::ErrorBody),
              (status = 403, description = "The role may not read analytics", body = crate::error::ErrorBody)))]
pub async fn stats(State(st): State<AppState>) -> Result<Json<StatsDto>, AppError> {
    blocking(st, |app| {
        let c = app.counts()?;
        Ok(Json(StatsDto {
            version: env!("CARGO_PKG_VERSION").into(),
            customers: c.customers,
            transactions: c.transactions,
        }))
    })
    .await
}

fn created<T>(r: Inserted, body: T) -> Result<(StatusCode, Json<T>), AppError> {
    match r {
        Inserted::New => Ok((StatusCode::CREATED, Json(body))),
        _ => Err(AppError::new(
            StatusCode::CONFLICT,
            "external_id.taken",
            Some("external_id".into()),
            kesher_core::Params::new(),
            "a record with this external id already exists",
        )),
    }
}

#[utoipa::path(get, path = "/api/branches", tag = "reference", responses((status = 200, description = "All branches", body = Vec<BranchDto>)))]
pub async fn list_branches(State(st): State<AppState>) -> Result<Json<Vec<BranchDto>>, AppError> {
    blocking(st, |app| {
        Ok(Json(app.list_branches()?.iter().map(BranchDto::from).collect()))
    })
    .await
}

#[utoipa::path(post, path = "/api/branches", tag = "reference", request_body = BranchInput,
    responses((status = 201, description = "Created", body = BranchDto), (status = 409, description = "Exists", body = crate::error::ErrorBody)))]
pub async fn create_branch(
    State(st): State<AppState>,
    Json(i): Json<BranchInput>,
) -> Result<(StatusCode, Json<BranchDto>), AppError> {
    blocking(st, move |app| {
        let tz = i.time_zone.unwrap_or_else(|| "UTC".into());
        jiff::tz::TimeZone::get(&tz).map_err(|_| {
            AppError::invalid("time_zone", format!("unknown time zone {tz:?}"))
                .coded("branch.time_zone.unknown")
                .param("value", tz.as_str())
        })?;
        if i.name.trim().is_empty() {
            return Err(AppError::invalid("name", "must not be empty").coded("value.empty"));
        }
        let b = Branch {
            id: ids::branch(),
            external_id: parse_external_id(&i.external_id, "external_id")?,
            name: i.name,
            region: i.region,
            time_zone: tz,
        };
        created(app.insert_branch(&b)?, BranchDto::from(&b))
    })
    .await
}

#[utoipa::path(get, path = "/api/employees", tag = "reference", responses((status = 200, description = "All employees", body = Vec<EmployeeDto>)))]
pub async fn list_employees(State(st): State<AppState>) -> Result<Json<Vec<EmployeeDto>>, AppError> {
    blocking(st, |app| {
        Ok(Json(app.list_employees()?.iter().map(EmployeeDto::from).collect()))
    })
    .await
}

#[utoipa::path(post, path = "/api/employees", tag = "reference", request_body = EmployeeInput,
    responses((status = 201, description = "Created", body = EmployeeDto), (status = 409, description = "Exists", body = crate::error::ErrorBody)))]
pub async fn create_employee(
    State(st): State<AppState>,
    Json(i): Json<EmployeeInput>,
) -> Result<(StatusCode, Json<EmployeeDto>), AppError> {
    blocking(st, move |app| {
        let branch_id = match &i.branch {
            Some(b) => Some(
                app.branch_by_external(b)?
                    .ok_or_else(|| {
                        AppError::invalid("branch", format!("unknown branch {b:?}"))
                            .coded("branch.unknown")
                            .param("branch", b.as_str())
                    })?
                    .id,
            ),
            None => None,
        };
        if i.name.trim().is_empty() {
            return Err(AppError::invalid("name", "must not be empty").coded("value.empty"));
        }
        let e = Employee {
            id: ids::employee(),
            external_id: parse_external_id(&i.external_id, "external_id")?,
            name: i.name,
            branch_id,
        };
        created(app.insert_employee(&e)?, EmployeeDto::from(&e))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct PageParams {
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

#[utoipa::path(get, path = "/api/products", tag = "reference", params(PageParams), responses((status = 200, description = "Products by sku", body = PageDto<ProductDto>)))]
pub async fn list_products(
    State(st): State<AppState>,
    Query(p): Query<PageParams>,
) -> Result<Json<PageDto<ProductDto>>, AppError> {
    blocking(st, move |app| {
        let limit = p.limit.unwrap_or(100).clamp(1, 1000);
        Ok(Json(PageDto::from_page(
            app.list_products(limit, p.offset.unwrap_or(0))?,
        )))
    })
    .await
}

#[utoipa::path(get, path = "/api/products/{sku}", tag = "reference", params(("sku" = String, Path, description = "Product sku")),
    responses((status = 200, description = "The product", body = ProductDto), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn get_product(State(st): State<AppState>, Path(sku): Path<String>) -> Result<Json<ProductDto>, AppError> {
    blocking(st, move |app| {
        let p = app.product_by_sku(&sku)?.ok_or_else(|| {
            AppError::not_found(format!("product not found: {sku}"))
                .coded("product.not_found")
                .param("sku", sku.as_str())
        })?;
        Ok(Json(ProductDto::from(&p)))
    })
    .await
}

#[utoipa::path(post, path = "/api/products", tag = "reference", request_body = ProductInput,
    responses((status = 201, description = "Created", body = ProductDto), (status = 409, description = "Exists", body = crate::error::ErrorBody)))]
pub async fn create_product(
    State(st): State<AppState>,
    Json(i): Json<ProductInput>,
) -> Result<(StatusCode, Json<ProductDto>), AppError> {
    blocking(st, move |app| {
        let cur = Currency::parse(&i.currency)?;
        let price = cur.parse_amount(&i.list_price, "list_price")?;
        let cost = i
            .unit_cost
            .as_deref()
            .map(|c| cur.parse_amount(c, "unit_cost"))
            .transpose()?;
        if price < 0 || cost.is_some_and(|c| c < 0) {
            return Err(if price < 0 {
                AppError::invalid("list_price", "must not be negative").coded("product.list_price.negative")
            } else {
                AppError::invalid("unit_cost", "must not be negative").coded("product.unit_cost.negative")
            });
        }
        if i.name.trim().is_empty() {
            return Err(AppError::invalid("name", "must not be empty").coded("value.empty"));
        }
        let p = Product {
            id: ids::product(),
            sku: parse_external_id(&i.sku, "sku")?,
            name: i.name,
            category: i.category,
            list_price: Money::new(price, cur),
            unit_cost: cost,
        };
        p.validate()?;
        match app.insert_product(&p)? {
            Inserted::New => Ok((StatusCode::CREATED, Json(ProductDto::from(&p)))),
            _ => Err(AppError::new(
                StatusCode::CONFLICT,
                "product.sku.taken",
                Some("sku".into()),
                kesher_core::params!(sku = p.sku.as_str()),
                format!("sku {:?} exists", p.sku),
            )),
        }
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct ImportParams {
    /// Import the valid rows and report the rejected ones (default false: all or nothing).
    pub skip_invalid: Option<bool>,
    /// Create bare customers, branches and employees the file names but the store lacks.
    pub create_missing: Option<bool>,
    /// Transactions: the sales earn loyalty points by the earning rule (default false).
    pub award_points: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct RejectDto {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
    /// The reason's stable code (docs/error-codes.md) and its named arguments.
    pub code: String,
    #[schema(value_type = Object)]
    pub params: kesher_core::Params,
}

#[derive(Serialize, ToSchema)]
pub struct ImportDto {
    pub rows_read: u64,
    pub inserted: u64,
    pub already_present: u64,
    pub rejected: u64,
    pub created_customers: u64,
    pub created_branches: u64,
    pub created_employees: u64,
    /// The first 1000 rejected rows.
    pub rejects: Vec<RejectDto>,
}

#[utoipa::path(post, path = "/api/import/{kind}", tag = "import",
    params(("kind" = String, Path, description = "branches, employees, products, customers, transactions or interactions"), ImportParams),
    request_body(content = String, content_type = "text/csv", description = "The CSV file, formats in docs/import-formats.md"),
    responses((status = 200, description = "Imported", body = ImportDto),
              (status = 422, description = "The file was rejected; nothing was written", body = crate::error::ErrorBody)))]
pub async fn import(
    State(st): State<AppState>,
    caller: crate::auth::Caller,
    Path(kind): Path<String>,
    Query(p): Query<ImportParams>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<ImportDto>, AppError> {
    let body = body.map_err(|e| crate::error::body_rejection(e, crate::IMPORT_BODY_LIMIT))?;
    let kind = ImportKind::parse(&kind).ok_or_else(|| {
        AppError::not_found(format!(
            "unknown import kind {kind:?}: branches, employees, products, customers, transactions, interactions"
        ))
        .coded("import.kind.unknown")
        .param("kind", kind.as_str())
    })?;
    blocking(st, move |app| {
        let opts = ImportOptions {
            skip_invalid: p.skip_invalid.unwrap_or(false),
            create_missing: p.create_missing.unwrap_or(false),
            award_points: p.award_points.unwrap_or(false),
        };
        let mut rejects = Vec::new();
        let name = format!("{}.csv", kind.as_str());
        let s = app
            .import_csv(kind, &body[..], &name, opts, &mut |r| {
                if rejects.len() < 1000 {
                    rejects.push(RejectDto {
                        line: r.line,
                        column: r.column,
                        reason: r.reason,
                        code: r.code.to_string(),
                        params: r.params,
                    });
                }
            })
            .map_err(|e| {
                let (code, params) = (e.code(), e.params());
                match e {
                    kesher_app::import::ImportError::Row {
                        line, column, reason, ..
                    } => AppError::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        code,
                        column,
                        params,
                        format!("line {line}: {reason}"),
                    ),
                    kesher_app::import::ImportError::File { reason, .. } => {
                        AppError::invalid("body", reason).coded(code).params(params)
                    }
                    kesher_app::import::ImportError::Store { source, .. } => AppError::from(source),
                }
            })?;
        app.audit_import(&caller.actor(app), kind, &name, &s)?;
        Ok(Json(ImportDto {
            rows_read: s.rows_read,
            inserted: s.inserted,
            already_present: s.already_present,
            rejected: s.rejected,
            created_customers: s.created_customers,
            created_branches: s.created_branches,
            created_employees: s.created_employees,
            rejects,
        }))
    })
    .await
}

#[derive(Serialize, ToSchema)]
pub struct AuditDto {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    /// Where from: the client's address, "cli", ...
    pub origin: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

#[utoipa::path(get, path = "/api/audit", tag = "system", params(PageParams), responses((status = 200, description = "Newest first", body = Vec<AuditDto>)))]
pub async fn audit(State(st): State<AppState>, Query(p): Query<PageParams>) -> Result<Json<Vec<AuditDto>>, AppError> {
    blocking(st, move |app| {
        let rows = app.audit_log(p.limit.unwrap_or(100).clamp(1, 1000), p.offset.unwrap_or(0))?;
        Ok(Json(
            rows.into_iter()
                .map(|a| AuditDto {
                    seq: a.seq,
                    at: a.at.to_string(),
                    actor: a.actor,
                    origin: a.origin,
                    action: a.action,
                    entity: a.entity,
                    entity_id: a.entity_id,
                    before: a.before,
                    after: a.after,
                })
                .collect(),
        ))
    })
    .await
}
