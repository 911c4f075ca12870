//! kesher's HTTP shell: the JSON API under `/api`, built with axum over `kesher_app::App`.
//!
//! Handlers parse and validate input into domain values, call the app on a blocking thread
//! (the store is synchronous), and map results to DTOs. Errors are `AppError`s: a JSON body
//! `{ "error": { "code", "params", "message", "field" } }` with the right 4xx status. The OpenAPI
//! document at `/api/openapi.json` is generated from the handlers' annotations, completed by
//! `openapi::CommonResponses` with the statuses every operation of a kind can answer.

pub mod accounts;
pub mod analytics;
pub mod auth;
pub mod baskets;
pub mod campaigns;
pub mod customers;
pub mod dto;
pub mod error;
pub mod jobs;
pub mod limits;
pub mod loyalty;
pub mod openapi;
pub mod points;
pub mod privacy;
pub mod reference;
pub mod sales;
pub mod segments;
pub mod web;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use error::AppError;
use kesher_app::App;
use kesher_auth::Action;
use openapi::CommonResponses;
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
        reference::health, reference::stats, reference::audit,
        customers::search, customers::create, customers::get, customers::replace, customers::patch, customers::delete,
        customers::lookup, customers::merge, customers::duplicates, customers::overview, customers::next_offers,
        sales::create_transaction, sales::list_transactions, sales::get_transaction,
        sales::create_interaction, sales::list_interactions,
        reference::list_branches, reference::create_branch, reference::list_employees, reference::create_employee,
        reference::list_products, reference::get_product, reference::create_product, reference::import,
        baskets::rules, baskets::cross_sell, baskets::cross_sell_by_branch, analytics::run, analytics::score, analytics::ladder, analytics::value, analytics::calibration,
        accounts::login, accounts::logout, accounts::me, accounts::list_users, accounts::create_user, accounts::update_user,
        accounts::list_tokens, accounts::create_token, accounts::revoke_token,
        privacy::export, privacy::erase, privacy::get_retention, privacy::put_retention, privacy::run_retention, privacy::export_audit,
        segments::fields, segments::list, segments::save, segments::get, segments::delete, segments::check,
        segments::members_adhoc, segments::members, segments::history, segments::messages,
        points::get_points, points::redeem, points::adjust, points::get_rule, points::put_rule, points::totals,
        jobs::list, jobs::enqueue, jobs::cancel,
        loyalty::get_program, loyalty::put_program, loyalty::enrol, loyalty::leave, loyalty::members, loyalty::member,
        loyalty::wallet, loyalty::design, loyalty::kpis, loyalty::benefits, loyalty::grant_benefit,
        loyalty::redeem_benefit, loyalty::honour_benefit, loyalty::draw_surprise, loyalty::surprise,
        campaigns::list, campaigns::create, campaigns::get, campaigns::preview, campaigns::launch, campaigns::pause,
        campaigns::report, campaigns::deliver, campaigns::plan, campaigns::get_costs, campaigns::put_costs,
        campaigns::economics, campaigns::sms_reply,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail)),
    tags((name = "customers"), (name = "transactions"), (name = "interactions"), (name = "reference"), (name = "import"), (name = "baskets"), (name = "analytics"), (name = "auth"), (name = "accounts"), (name = "privacy"), (name = "segments"), (name = "points"), (name = "loyalty"), (name = "campaigns"), (name = "system")),
    modifiers(&Security, &CommonResponses)
)]
pub struct ApiDoc;

/// Largest CSV accepted by `POST /api/import/{kind}`; bigger files go through `kesher import`.
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// Largest JSON body elsewhere.
pub const JSON_BODY_LIMIT: usize = 1024 * 1024;

/// The route table and the router built from it, entry by entry: a route cannot be added
/// without naming the action it performs.
struct Api {
    router: Router<AppState>,
    rules: Vec<auth::RouteRule>,
}

impl Api {
    fn at(mut self, method: Method, path: &'static str, action: Action, route: MethodRouter<AppState>) -> Api {
        self.router = self.router.route(path, route);
        self.rules.push(auth::RouteRule { method, path, action });
        self
    }
}

fn api() -> Api {
    use Action as A;
    let (get_, post_, put_, patch_, delete_) = (Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE);
    Api {
        router: Router::new(),
        rules: Vec::new(),
    }
    // The web interface's pages (`web`); forms post to them with the session's CSRF token.
    .at(get_.clone(), "/", A::Session, get(web::dashboard))
    .at(get_.clone(), "/login", A::Public, get(web::login_form))
    .at(post_.clone(), "/login", A::Public, post(web::login))
    .at(post_.clone(), "/logout", A::Session, post(web::logout))
    .at(post_.clone(), "/lang", A::Public, post(web::set_lang))
    .at(get_.clone(), "/static/{file}", A::Public, get(web::asset))
    // A campaign e-mail's unsubscribe link: its token is the credential (RFC 8058 one-click).
    .at(get_.clone(), "/u/{token}", A::Public, get(campaigns::unsubscribe_form))
    .at(post_.clone(), "/u/{token}", A::Public, post(campaigns::unsubscribe))
    .at(post_.clone(), "/api/sms/replies", A::Public, post(campaigns::sms_reply))
    // A campaign e-mail's tracked link: records the click, redirects to the message's own link.
    .at(get_.clone(), "/c/{token}", A::Public, get(campaigns::follow_click))
    .at(get_.clone(), "/customers", A::CustomersRead, get(web::customers))
    .at(get_.clone(), "/loyalty", A::LoyaltyRead, get(web::loyalty))
    .at(post_.clone(), "/loyalty/enrol", A::LoyaltyEnrol, post(web::enrol))
    // The campaigns' pages (`web::campaigns`).
    .at(get_.clone(), "/campaigns", A::CampaignsRead, get(web::campaigns::list))
    .at(
        post_.clone(),
        "/campaigns",
        A::CampaignsManage,
        post(web::campaigns::create),
    )
    .at(
        get_.clone(),
        "/campaigns/{id}",
        A::CampaignsRead,
        get(web::campaigns::show),
    )
    .at(
        post_.clone(),
        "/campaigns/{id}/launch",
        A::CampaignsManage,
        post(web::campaigns::launch),
    )
    .at(
        post_.clone(),
        "/campaigns/{id}/pause",
        A::CampaignsManage,
        post(web::campaigns::pause),
    )
    .at(
        post_.clone(),
        "/campaigns/{id}/preview",
        A::CampaignsManage,
        post(web::campaigns::preview),
    )
    // The administration pages (`web::admin`).
    .at(get_.clone(), "/admin/users", A::UsersManage, get(web::admin::users))
    .at(
        post_.clone(),
        "/admin/users",
        A::UsersManage,
        post(web::admin::add_user),
    )
    .at(
        post_.clone(),
        "/admin/users/{id}",
        A::UsersManage,
        post(web::admin::change_user),
    )
    .at(get_.clone(), "/admin/roles", A::UsersManage, get(web::admin::roles))
    .at(get_.clone(), "/admin/tokens", A::TokensManage, get(web::admin::tokens))
    .at(
        post_.clone(),
        "/admin/tokens",
        A::TokensManage,
        post(web::admin::create_token),
    )
    .at(
        post_.clone(),
        "/admin/tokens/{id}/revoke",
        A::TokensManage,
        post(web::admin::revoke_token),
    )
    .at(get_.clone(), "/admin/audit", A::AuditRead, get(web::admin::audit))
    .at(
        get_.clone(),
        "/admin/retention",
        A::PrivacyManage,
        get(web::admin::retention),
    )
    .at(
        post_.clone(),
        "/admin/retention",
        A::PrivacyManage,
        post(web::admin::save_retention),
    )
    .at(
        post_.clone(),
        "/admin/retention/run",
        A::PrivacyManage,
        post(web::admin::run_retention),
    )
    .at(get_.clone(), "/customers/{id}", A::CustomersRead, get(web::customer))
    .at(
        post_.clone(),
        "/customers/{id}/edit",
        A::CustomersUpdate,
        post(web::edit_customer),
    )
    .at(
        post_.clone(),
        "/customers/{id}/contacts",
        A::InteractionsRecord,
        post(web::add_contact),
    )
    .at(
        post_.clone(),
        "/customers/{id}/benefits/redeem",
        A::BenefitsRedeem,
        post(web::redeem_form),
    )
    .at(
        post_.clone(),
        "/customers/{id}/benefits/{grant}/honour",
        A::BenefitsRedeem,
        post(web::honour_form),
    )
    .at(get_.clone(), "/segments", A::SegmentsRead, get(web::segments))
    .at(post_.clone(), "/segments", A::SegmentsRead, post(web::save_segment))
    .at(get_.clone(), "/segments/live", A::SegmentsRead, get(web::segment_live))
    .at(
        get_.clone(),
        "/segments/{name}/members.csv",
        A::SegmentsRead,
        get(web::segment_csv),
    )
    .at(
        post_.clone(),
        "/analytics/run",
        A::AnalyticsRun,
        post(web::run_analysis),
    )
    // The analytics page (`web::analytics`): figures the refresh stored, a refresh as a job.
    .at(get_.clone(), "/analytics", A::AnalyticsRead, get(web::analytics::page))
    .at(
        get_.clone(),
        "/analytics/progress",
        A::AnalyticsRead,
        get(web::analytics::progress),
    )
    .at(
        post_.clone(),
        "/analytics/refresh",
        A::AnalyticsRun,
        post(web::analytics::refresh),
    )
    .at(get_.clone(), "/api/health", A::Public, get(reference::health))
    .at(get_.clone(), "/api/stats", A::AnalyticsRead, get(reference::stats))
    .at(get_.clone(), "/api/openapi.json", A::Public, get(openapi))
    .at(post_.clone(), "/api/auth/login", A::Public, post(accounts::login))
    .at(post_.clone(), "/api/auth/logout", A::Session, post(accounts::logout))
    .at(get_.clone(), "/api/auth/me", A::Session, get(accounts::me))
    .at(get_.clone(), "/api/users", A::UsersManage, get(accounts::list_users))
    .at(post_.clone(), "/api/users", A::UsersManage, post(accounts::create_user))
    .at(
        patch_.clone(),
        "/api/users/{id}",
        A::UsersManage,
        patch(accounts::update_user),
    )
    .at(get_.clone(), "/api/tokens", A::TokensManage, get(accounts::list_tokens))
    .at(
        post_.clone(),
        "/api/tokens",
        A::TokensManage,
        post(accounts::create_token),
    )
    .at(
        delete_.clone(),
        "/api/tokens/{id}",
        A::TokensManage,
        delete(accounts::revoke_token),
    )
    .at(get_.clone(), "/api/audit", A::AuditRead, get(reference::audit))
    .at(
        get_.clone(),
        "/api/audit/export",
        A::AuditRead,
        get(privacy::export_audit),
    )
    .at(
        get_.clone(),
        "/api/privacy/retention",
        A::PrivacyManage,
        get(privacy::get_retention),
    )
    .at(
        put_.clone(),
        "/api/privacy/retention",
        A::PrivacyManage,
        put(privacy::put_retention),
    )
    .at(
        post_.clone(),
        "/api/privacy/retention/run",
        A::PrivacyManage,
        post(privacy::run_retention),
    )
    .at(get_.clone(), "/api/customers", A::CustomersRead, get(customers::search))
    .at(
        post_.clone(),
        "/api/customers",
        A::CustomersEnrol,
        post(customers::create),
    )
    .at(
        get_.clone(),
        "/api/customers/lookup",
        A::CustomersLookup,
        get(customers::lookup),
    )
    .at(
        post_.clone(),
        "/api/customers/merge",
        A::CustomersMerge,
        post(customers::merge),
    )
    .at(
        get_.clone(),
        "/api/customers/duplicates",
        A::CustomersMerge,
        get(customers::duplicates),
    )
    .at(
        get_.clone(),
        "/api/customers/{id}",
        A::CustomersRead,
        get(customers::get),
    )
    .at(
        put_.clone(),
        "/api/customers/{id}",
        A::CustomersUpdate,
        put(customers::replace),
    )
    .at(
        patch_.clone(),
        "/api/customers/{id}",
        A::CustomersUpdate,
        patch(customers::patch),
    )
    .at(
        delete_.clone(),
        "/api/customers/{id}",
        A::CustomersDelete,
        delete(customers::delete),
    )
    .at(
        get_.clone(),
        "/api/customers/{id}/overview",
        A::CustomersRead,
        get(customers::overview),
    )
    .at(
        get_.clone(),
        "/api/customers/{id}/offers",
        A::CustomersRead,
        get(customers::next_offers),
    )
    .at(
        get_.clone(),
        "/api/customers/{id}/score",
        A::CustomersRead,
        get(analytics::score),
    )
    .at(
        get_.clone(),
        "/api/customers/{id}/points",
        A::PointsRead,
        get(points::get_points),
    )
    .at(
        post_.clone(),
        "/api/customers/{id}/points/redeem",
        A::PointsRedeem,
        post(points::redeem),
    )
    .at(
        get_.clone(),
        "/api/customers/{id}/wallet",
        A::PointsRead,
        get(loyalty::wallet),
    )
    .at(
        get_.clone(),
        "/api/customers/{id}/benefits",
        A::PointsRead,
        get(loyalty::benefits),
    )
    .at(
        post_.clone(),
        "/api/customers/{id}/benefits",
        A::BenefitsGrant,
        post(loyalty::grant_benefit),
    )
    .at(
        post_.clone(),
        "/api/customers/{id}/benefits/redeem",
        A::BenefitsRedeem,
        post(loyalty::redeem_benefit),
    )
    .at(
        post_.clone(),
        "/api/benefits/{grant_id}/honour",
        A::BenefitsRedeem,
        post(loyalty::honour_benefit),
    )
    .at(
        post_.clone(),
        "/api/loyalty/surprises",
        A::BenefitsGrant,
        post(loyalty::draw_surprise),
    )
    .at(
        get_.clone(),
        "/api/loyalty/surprises/{id}",
        A::BenefitsGrant,
        get(loyalty::surprise),
    )
    .at(
        get_.clone(),
        "/api/loyalty/program",
        A::LoyaltyRead,
        get(loyalty::get_program),
    )
    .at(
        put_.clone(),
        "/api/loyalty/program",
        A::LoyaltyConfigure,
        put(loyalty::put_program),
    )
    .at(
        get_.clone(),
        "/api/loyalty/members",
        A::LoyaltyRead,
        get(loyalty::members),
    )
    .at(
        post_.clone(),
        "/api/loyalty/members",
        A::LoyaltyEnrol,
        post(loyalty::enrol),
    )
    .at(
        get_.clone(),
        "/api/loyalty/members/{id}",
        A::LoyaltyRead,
        get(loyalty::member),
    )
    .at(get_.clone(), "/api/loyalty/kpis", A::AnalyticsRead, get(loyalty::kpis))
    .at(
        post_.clone(),
        "/api/loyalty/members/{id}/leave",
        A::LoyaltyEnrol,
        post(loyalty::leave),
    )
    .at(
        get_.clone(),
        "/api/loyalty/design",
        A::AnalyticsRead,
        get(loyalty::design),
    )
    .at(
        post_.clone(),
        "/api/customers/{id}/points/adjust",
        A::PointsAdjust,
        post(points::adjust),
    )
    .at(
        get_.clone(),
        "/api/points/rule",
        A::ReferenceRead,
        get(points::get_rule),
    )
    .at(
        put_.clone(),
        "/api/points/rule",
        A::PointsConfigure,
        put(points::put_rule),
    )
    .at(
        get_.clone(),
        "/api/points/totals",
        A::AnalyticsRead,
        get(points::totals),
    )
    .at(
        get_.clone(),
        "/api/customers/{id}/export",
        A::CustomersExport,
        get(privacy::export),
    )
    .at(
        post_.clone(),
        "/api/customers/{id}/erase",
        A::CustomersErase,
        post(privacy::erase),
    )
    .at(
        get_.clone(),
        "/api/transactions",
        A::TransactionsRead,
        get(sales::list_transactions),
    )
    .at(
        post_.clone(),
        "/api/transactions",
        A::TransactionsRecord,
        post(sales::create_transaction),
    )
    .at(
        get_.clone(),
        "/api/transactions/{id}",
        A::TransactionsRead,
        get(sales::get_transaction),
    )
    .at(
        get_.clone(),
        "/api/interactions",
        A::InteractionsRead,
        get(sales::list_interactions),
    )
    .at(
        post_.clone(),
        "/api/interactions",
        A::InteractionsRecord,
        post(sales::create_interaction),
    )
    .at(
        get_.clone(),
        "/api/branches",
        A::ReferenceRead,
        get(reference::list_branches),
    )
    .at(
        post_.clone(),
        "/api/branches",
        A::ReferenceWrite,
        post(reference::create_branch),
    )
    .at(
        get_.clone(),
        "/api/employees",
        A::ReferenceRead,
        get(reference::list_employees),
    )
    .at(
        post_.clone(),
        "/api/employees",
        A::ReferenceWrite,
        post(reference::create_employee),
    )
    .at(
        get_.clone(),
        "/api/products",
        A::ReferenceRead,
        get(reference::list_products),
    )
    .at(
        post_.clone(),
        "/api/products",
        A::ReferenceWrite,
        post(reference::create_product),
    )
    .at(
        get_.clone(),
        "/api/products/{sku}",
        A::ReferenceRead,
        get(reference::get_product),
    )
    .at(
        get_.clone(),
        "/api/baskets/rules",
        A::AnalyticsRead,
        get(baskets::rules),
    )
    .at(
        get_.clone(),
        "/api/baskets/cross-sell",
        A::AnalyticsRead,
        get(baskets::cross_sell),
    )
    .at(
        get_.clone(),
        "/api/baskets/cross-sell/by-branch",
        A::AnalyticsRead,
        get(baskets::cross_sell_by_branch),
    )
    .at(
        post_.clone(),
        "/api/analytics/run",
        A::AnalyticsRun,
        post(analytics::run),
    )
    .at(
        get_.clone(),
        "/api/analytics/ladder",
        A::AnalyticsRead,
        get(analytics::ladder),
    )
    .at(
        get_.clone(),
        "/api/analytics/value",
        A::AnalyticsRead,
        get(analytics::value),
    )
    .at(
        get_.clone(),
        "/api/analytics/calibration",
        A::AnalyticsRead,
        get(analytics::calibration),
    )
    .at(get_.clone(), "/api/campaigns", A::CampaignsRead, get(campaigns::list))
    .at(
        post_.clone(),
        "/api/campaigns",
        A::CampaignsManage,
        post(campaigns::create),
    )
    .at(
        get_.clone(),
        "/api/campaigns/plan",
        A::CampaignsRead,
        get(campaigns::plan),
    )
    .at(
        get_.clone(),
        "/api/campaigns/costs",
        A::CampaignsRead,
        get(campaigns::get_costs),
    )
    .at(
        put_.clone(),
        "/api/campaigns/costs",
        A::CampaignsManage,
        put(campaigns::put_costs),
    )
    .at(
        get_.clone(),
        "/api/campaigns/economics",
        A::CampaignsRead,
        get(campaigns::economics),
    )
    .at(
        post_.clone(),
        "/api/campaigns/deliver",
        A::CampaignsManage,
        post(campaigns::deliver),
    )
    .at(
        get_.clone(),
        "/api/campaigns/{id}",
        A::CampaignsRead,
        get(campaigns::get),
    )
    .at(
        get_.clone(),
        "/api/campaigns/{id}/preview",
        A::CampaignsManage,
        get(campaigns::preview),
    )
    .at(
        post_.clone(),
        "/api/campaigns/{id}/launch",
        A::CampaignsManage,
        post(campaigns::launch),
    )
    .at(
        post_.clone(),
        "/api/campaigns/{id}/pause",
        A::CampaignsManage,
        post(campaigns::pause),
    )
    .at(
        get_.clone(),
        "/api/campaigns/{id}/report",
        A::CampaignsRead,
        get(campaigns::report),
    )
    .at(get_.clone(), "/api/segments", A::SegmentsRead, get(segments::list))
    .at(post_.clone(), "/api/segments", A::SegmentsManage, post(segments::save))
    .at(
        get_.clone(),
        "/api/segments/fields",
        A::SegmentsRead,
        get(segments::fields),
    )
    .at(
        post_.clone(),
        "/api/segments/check",
        A::SegmentsRead,
        post(segments::check),
    )
    .at(
        get_.clone(),
        "/api/segments/members",
        A::SegmentsRead,
        get(segments::members_adhoc),
    )
    .at(
        get_.clone(),
        "/api/segments/{name}",
        A::SegmentsRead,
        get(segments::get),
    )
    .at(
        delete_.clone(),
        "/api/segments/{name}",
        A::SegmentsManage,
        delete(segments::delete),
    )
    .at(
        get_.clone(),
        "/api/segments/{name}/members",
        A::SegmentsRead,
        get(segments::members),
    )
    .at(
        get_.clone(),
        "/api/segments/{name}/history",
        A::SegmentsRead,
        get(segments::history),
    )
    .at(
        post_.clone(),
        "/api/segments/{name}/messages",
        A::SegmentsManage,
        post(segments::messages),
    )
    .at(get_.clone(), "/api/jobs", A::JobsRead, get(jobs::list))
    .at(post_.clone(), "/api/jobs", A::JobsManage, post(jobs::enqueue))
    .at(
        post_.clone(),
        "/api/jobs/{id}/cancel",
        A::JobsManage,
        post(jobs::cancel),
    )
    .at(
        post_,
        "/api/import/{kind}",
        A::Import,
        post(reference::import).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
    )
}

/// Every route with the action it performs: the other half of the permission matrix.
pub fn route_table() -> Vec<auth::RouteRule> {
    api().rules
}

/// The route table as a Markdown table (docs/permissions.md embeds it; a test keeps them equal).
pub fn route_table_markdown() -> String {
    let mut s = String::from("| method | path | action |\n|---|---|---|\n");
    for r in route_table() {
        s.push_str(&format!("| {} | `{}` | `{}` |\n", r.method, r.path, r.action));
    }
    s
}

pub fn router(app: App) -> Router {
    router_with_limits(app, auth::Limits::default())
}

pub fn router_with_limits(app: App, limits: auth::Limits) -> Router {
    let state: AppState = Arc::new(app);
    let Api { router, rules } = api();
    let guard = Arc::new(auth::Guard {
        app: state.clone(),
        rules: rules.into_iter().map(|r| ((r.method, r.path), r.action)).collect(),
        limits,
    });
    router
        .layer(axum::middleware::from_fn_with_state(guard.clone(), auth::authenticate))
        .layer(axum::Extension(guard))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(web::html_errors))
        .layer(axum::middleware::from_fn(refuse_oversized))
        .layer(axum::middleware::from_fn(refuse_bad_path))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ksr_…")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(auth::SESSION_COOKIE))),
        );
    }
}

/// Headers that keep browsers from sniffing types, framing the pages, or loading anything but
/// kesher's own scripts, and from caching API answers that hold personal data.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let api = req.uri().path().starts_with("/api/");
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
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
        return AppError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "body.too_large",
            None,
            kesher_core::params!(limit = limit),
            format!("the body is larger than the limit of {limit} bytes"),
        )
        .into_response();
    }
    next.run(req).await
}

/// Refuse a path that does not decode to UTF-8 (`/api/customers/%FF`) with a JSON 400, and one
/// over `limits::PATH_MAX_BYTES` with a 414, before routing: no extractor answers in plain text.
async fn refuse_bad_path(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    if req.uri().path().len() > limits::PATH_MAX_BYTES {
        return AppError::new(
            axum::http::StatusCode::URI_TOO_LONG,
            "path.too_long",
            None,
            kesher_core::params!(max = limits::PATH_MAX_BYTES),
            format!("the path is longer than {} bytes", limits::PATH_MAX_BYTES),
        )
        .into_response();
    }
    if percent_decoded(req.uri().path()).is_none() {
        return AppError::bad_request(None, "the path is not valid UTF-8 once percent-decoded")
            .coded("path.not_utf8")
            .into_response();
    }
    next.run(req).await
}

/// `path` with its %XX escapes decoded, when that is UTF-8 (a malformed escape stays as it is).
fn percent_decoded(path: &str) -> Option<String> {
    let b = path.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|c| hex(*c)),
            b.get(i + 2).and_then(|c| hex(*c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The OpenAPI document, made once.
static OPENAPI: std::sync::LazyLock<utoipa::openapi::OpenApi> = std::sync::LazyLock::new(ApiDoc::openapi);

async fn openapi() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(OPENAPI.clone())
}

async fn not_found(uri: axum::http::Uri) -> AppError {
    AppError::not_found(format!("no route {}", uri.path()))
        .coded("route.not_found")
        .param("path", uri.path())
}

/// Bind `addr` and serve until Ctrl-C. Returns the bound address through `on_bound` first.
pub async fn serve(app: App, addr: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_bound(listener.local_addr()?);
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
