//! kesher's HTTP shell: the JSON API under `/api`, built with axum over `kesher_app::App`.
//!
//! Handlers parse and validate input into domain values, call the app on a blocking thread
//! (the store is synchronous), and map results to DTOs. Errors are `AppError`s: a JSON body
//! `{ "error": { "code", "message", "field" } }` with the right 4xx status. The OpenAPI
//! document at `/api/openapi.json` is generated from the handlers' annotations.

pub mod analytics;
pub mod baskets;
pub mod customers;
pub mod dto;
pub mod error;
pub mod reference;
pub mod sales;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use error::AppError;
use kesher_app::App;
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::OpenApi;

pub type AppState = Arc<App>;

/// Run `f` on a blocking thread (the store is synchronous).
pub async fn blocking<T: Send + 'static>(
    st: AppState,
    f: impl FnOnce(&App) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(move || f(&st))
        .await
        .map_err(|e| AppError::internal(format!("worker failed: {e}")))?
}

#[derive(OpenApi)]
#[openapi(
    info(title = "kesher", description = "Customer relationship and customer-centric marketing engine"),
    paths(
        reference::health, reference::audit,
        customers::search, customers::create, customers::get, customers::replace, customers::delete,
        customers::lookup, customers::merge, customers::duplicates, customers::overview, customers::next_offers,
        sales::create_transaction, sales::list_transactions, sales::get_transaction,
        sales::create_interaction, sales::list_interactions,
        reference::list_branches, reference::create_branch, reference::list_employees, reference::create_employee,
        reference::list_products, reference::get_product, reference::create_product, reference::import,
        baskets::rules, baskets::cross_sell, analytics::run, analytics::score, analytics::ladder, analytics::value, analytics::calibration,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    tags((name = "customers"), (name = "transactions"), (name = "interactions"), (name = "reference"), (name = "import"), (name = "baskets"), (name = "analytics"), (name = "system"))
)]
pub struct ApiDoc;

/// Largest CSV accepted by `POST /api/import/{kind}`; bigger files go through `kesher import`.
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// Largest JSON body elsewhere.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

pub fn router(app: App) -> Router {
    let state: AppState = Arc::new(app);
    let import = Router::new()
        .route("/api/import/{kind}", post(reference::import))
        .layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT));
    Router::new()
        .route("/api/health", get(reference::health))
        .route("/api/openapi.json", get(openapi))
        .route("/api/audit", get(reference::audit))
        .route("/api/customers", get(customers::search).post(customers::create))
        .route("/api/customers/lookup", get(customers::lookup))
        .route("/api/customers/merge", post(customers::merge))
        .route("/api/customers/duplicates", get(customers::duplicates))
        .route(
            "/api/customers/{id}",
            get(customers::get).put(customers::replace).delete(customers::delete),
        )
        .route("/api/customers/{id}/overview", get(customers::overview))
        .route("/api/customers/{id}/offers", get(customers::next_offers))
        .route(
            "/api/transactions",
            get(sales::list_transactions).post(sales::create_transaction),
        )
        .route("/api/transactions/{id}", get(sales::get_transaction))
        .route(
            "/api/interactions",
            get(sales::list_interactions).post(sales::create_interaction),
        )
        .route(
            "/api/branches",
            get(reference::list_branches).post(reference::create_branch),
        )
        .route(
            "/api/employees",
            get(reference::list_employees).post(reference::create_employee),
        )
        .route(
            "/api/products",
            get(reference::list_products).post(reference::create_product),
        )
        .route("/api/products/{sku}", get(reference::get_product))
        .route("/api/baskets/rules", get(baskets::rules))
        .route("/api/baskets/cross-sell", get(baskets::cross_sell))
        .route("/api/analytics/run", post(analytics::run))
        .route("/api/analytics/ladder", get(analytics::ladder))
        .route("/api/analytics/value", get(analytics::value))
        .route("/api/analytics/calibration", get(analytics::calibration))
        .route("/api/customers/{id}/score", get(analytics::score))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .merge(import)
        .route("/", get(index))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(refuse_oversized))
        .with_state(state)
}

/// Refuse a body whose declared length is over the route's limit at once, with a JSON 413,
/// before any of it is read.
async fn refuse_oversized(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = if req.uri().path().starts_with("/api/import/") {
        IMPORT_BODY_LIMIT
    } else {
        JSON_BODY_LIMIT
    };
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return AppError {
            status: axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            message: format!("the body is larger than the limit of {limit} bytes"),
            field: None,
        }
        .into_response();
    }
    next.run(req).await
}

async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

async fn not_found(uri: axum::http::Uri) -> AppError {
    AppError::not_found(format!("no route {}", uri.path()))
}

async fn index() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("index.html"))
}

/// Bind `addr` and serve until Ctrl-C. Returns the bound address through `on_bound` first.
pub async fn serve(app: App, addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
