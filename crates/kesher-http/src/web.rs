//! The web interface's pages: each handler gathers its data through the JSON API's own handlers
//! (so a page shows exactly what the API answers, under the same permission checks and
//! anonymisation) and has `kesher-web` write it in the reader's language. Forms post with the
//! session's CSRF token as a field; a page that needs a signed-in user sends a visitor to the
//! sign-in page; errors come back as a page in the reader's language (`html_errors`).

use crate::accounts::{SignInInput, WhoDto};
use crate::auth::{Caller, Guard, SESSION_COOKIE, cookie};
use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use kesher_auth::{Action, SessionSecret};
use kesher_web::{Lang, Web};
use minijinja::context;
use serde::Deserialize;
use std::sync::{Arc, OnceLock};

pub mod admin;
pub mod analytics;
pub mod campaigns;

/// The cookie that keeps a visitor's language choice (a signed-in user's is also stored).
pub const LANG_COOKIE: &str = "kesher_lang";

/// The renderer, built once (its templates and messages are embedded; tests render every one).
pub(crate) fn web() -> Result<&'static Web, AppError> {
    static WEB: OnceLock<Result<Web, String>> = OnceLock::new();
    WEB.get_or_init(|| Web::new().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| AppError::internal(format!("the web pages do not build: {e}")))
}

fn setting_key(user: &str) -> String {
    format!("ui.language.{user}")
}

/// The language of a request: the signed-in user's setting, the visitor's cookie, then
/// `Accept-Language`.
pub(crate) fn lang_for(app: &kesher_app::App, user: Option<&str>, headers: &HeaderMap) -> Lang {
    let setting = user.and_then(|u| app.setting(&setting_key(u)).ok().flatten());
    let pref = setting.or_else(|| cookie(headers, LANG_COOKIE).map(str::to_string));
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    Lang::negotiate(pref.as_deref(), accept)
}

/// The CSRF token of the browser's session: derived from the session cookie, as sign-in did.
fn csrf_of(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
        .filter(|s| SessionSecret::looks_valid(s))
        .map(|s| SessionSecret(s.to_string()).csrf_token().0)
}

/// What every signed-in page has: who, the language, the CSRF token, what the role may do.
struct Ctx {
    lang: Lang,
    csrf: Option<String>,
    me: WhoDto,
    may: minijinja::Value,
    time_zone: String,
}

fn ctx(app: &kesher_app::App, caller: &Caller, headers: &HeaderMap) -> Ctx {
    let p = &caller.principal;
    let may = |a| p.may(a).is_ok();
    let me = WhoDto::from(p);
    let user = p.name.strip_prefix("user:");
    Ctx {
        lang: lang_for(app, user, headers),
        csrf: csrf_of(headers),
        may: context! {
            analyze => may(Action::AnalyticsRun),
            analytics => may(Action::AnalyticsRead),
            segments => may(Action::SegmentsRead),
            save_segments => may(Action::SegmentsManage),
            edit => may(Action::CustomersUpdate),
            contact => may(Action::InteractionsRecord),
            loyalty => may(Action::LoyaltyRead),
            enrol => may(Action::LoyaltyEnrol),
            wallet => may(Action::PointsRead),
            benefits => may(Action::BenefitsRedeem),
            campaigns => may(Action::CampaignsRead),
            manage_campaigns => may(Action::CampaignsManage),
            users => may(Action::UsersManage),
            tokens => may(Action::TokensManage),
            audit => may(Action::AuditRead),
            privacy => may(Action::PrivacyManage),
            admin => admin_home(p),
        },
        time_zone: app
            .business_time_zone()
            .ok()
            .and_then(|z| z.iana_name().map(str::to_string))
            .unwrap_or_else(|| "UTC".into()),
        me: WhoDto {
            name: me.name.strip_prefix("user:").unwrap_or(&me.name).to_string(),
            ..me
        },
    }
}

/// The first administration page (`/admin/{page}`) the principal may open, when there is one:
/// the nav's entry.
fn admin_home(p: &kesher_auth::Principal) -> Option<&'static str> {
    [
        (Action::UsersManage, "users"),
        (Action::TokensManage, "tokens"),
        (Action::AuditRead, "audit"),
        (Action::PrivacyManage, "retention"),
    ]
    .into_iter()
    .find(|(a, _)| p.may(*a).is_ok())
    .map(|(_, page)| page)
}

fn render(template: &str, c: &Ctx, section: &str, page: minijinja::Value) -> Result<Html<String>, AppError> {
    let base = context! {
        me => &c.me,
        csrf => c.csrf.clone().unwrap_or_default(),
        may => &c.may,
        section => section,
        time_zone => &c.time_zone,
    };
    web()?
        .render(template, c.lang, context! { ..base, ..page })
        .map(Html)
        .map_err(|e| AppError::internal(e.to_string()))
}

/// The JSON error a page answered with, kept on the response so that a client that did not ask
/// for HTML gets the same body as from the API (`html_errors`).
#[derive(Clone)]
struct PageError(serde_json::Value);

fn error_json(e: &AppError) -> serde_json::Value {
    serde_json::json!({ "error": { "code": e.code, "params": &e.params, "message": &e.message, "field": &e.field } })
}

/// A page shown with an error: its status, and the error for a client that wants JSON.
pub(crate) fn errored(status: StatusCode, page: Html<String>, e: &AppError) -> Response {
    let mut r = (status, page).into_response();
    r.extensions_mut().insert(PageError(error_json(e)));
    r
}

/// An error body for a template.
fn error_value(e: &AppError) -> minijinja::Value {
    context! { code => e.code, params => &e.params, message => &e.message, field => &e.field }
}

/// A flash message carried over a redirect in the query (`?done=saved`), by key: no text from
/// the request reaches the page.
fn flash(c: &Ctx, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "saved" => "flash-saved",
        "contact" => "flash-contact-added",
        "analyzed" => "flash-analyzed",
        "refreshing" => "flash-refresh-started",
        "enrolled" => "flash-enrolled",
        "redeemed" => "flash-redeemed",
        "honoured" => "flash-honoured",
        _ => return None,
    };
    web().ok().map(|w| w.t(c.lang, key, &[("buyers", "".into())]))
}

#[derive(Deserialize, Default)]
pub struct DoneParams {
    done: Option<String>,
}

/// `GET /`: the dashboard, from the figures the latest analysis stored.
pub async fn dashboard(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(d): Query<DoneParams>,
) -> Result<Html<String>, AppError> {
    blocking(st, move |app| {
        let c = ctx(app, &caller, &headers);
        let may_read = caller.principal.may(Action::AnalyticsRead).is_ok();
        let snapshot = if may_read { app.dashboard()? } else { None };
        // The counts only for the empty state: on a large business they cost a scan.
        let counts = match &snapshot {
            None => Some(app.counts()?),
            Some(_) => None,
        };
        let view = match &snapshot {
            Some(s) => Some(kesher_web::dashboard::view(web()?.messages(), c.lang, s)),
            None => None,
        };
        render(
            "dashboard.html",
            &c,
            "dashboard",
            context! {
                snapshot => snapshot,
                view => view,
                counts => counts.map(|c| context! { customers => c.customers, transactions => c.transactions }),
                flash => flash(&c, d.done.as_deref()),
            },
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct LoginParams {
    next: Option<String>,
}

/// Where to go after signing in: a path of this site only (never `//host` or a URL).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && n.len() < 500 => n.to_string(),
        _ => "/".into(),
    }
}

fn login_page(lang: Lang, next: &str, username: &str, error: Option<&AppError>) -> Result<Html<String>, AppError> {
    web()?
        .render(
            "login.html",
            lang,
            context! { next => next, username => username, error => error.map(error_value), path => "/login" },
        )
        .map(Html)
        .map_err(|e| AppError::internal(e.to_string()))
}

/// `GET /login`.
pub async fn login_form(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(p): Query<LoginParams>,
) -> Result<Html<String>, AppError> {
    let next = safe_next(p.next.as_deref());
    blocking(st, move |app| {
        login_page(lang_for(app, None, &headers), &next, "", None)
    })
    .await
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// `POST /login`: the JSON sign-in (its throttling, audit and session cookie), then a redirect.
pub async fn login(
    State(st): State<AppState>,
    Extension(g): Extension<Arc<Guard>>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: LoginForm = form(&body)?;
    let next = safe_next(f.next.as_deref());
    let username = f.username.clone();
    let r = match crate::accounts::login(
        State(st.clone()),
        Extension(g),
        ext,
        Json(SignInInput {
            username: f.username,
            password: f.password,
        }),
    )
    .await
    {
        Ok(r) => r,
        Err(e) if e.status.is_client_error() => {
            let status = e.status;
            let body = error_json(&e);
            let page = blocking(st, move |app| {
                login_page(lang_for(app, None, &headers), &next, &username, Some(&e))
            })
            .await?;
            let mut r = (status, page).into_response();
            r.extensions_mut().insert(PageError(body));
            return Ok(r);
        }
        Err(e) => return Err(e),
    };
    if r.status().is_success() {
        let mut out = Redirect::to(&next).into_response();
        if let Some(c) = r.headers().get(header::SET_COOKIE) {
            out.headers_mut().insert(header::SET_COOKIE, c.clone());
        }
        return Ok(out);
    }
    // A refusal (wrong password, throttled): the form again with the reason.
    let status = r.status();
    let bytes = axum::body::to_bytes(r.into_body(), 64 * 1024)
        .await
        .map_err(|e| AppError::internal(e.to_string()))?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let e = &v["error"];
    let err = AppError::new(
        status,
        match e["code"].as_str() {
            Some("auth.wrong_credentials") => "auth.wrong_credentials",
            Some("auth.disabled") => "auth.disabled",
            Some("rate_limited") => "rate_limited",
            _ => "auth.unauthenticated",
        },
        None,
        serde_json::from_value(e["params"].clone()).unwrap_or_default(),
        e["message"].as_str().unwrap_or("sign-in refused").to_string(),
    );
    let body = error_json(&err);
    let page = blocking(st, move |app| {
        login_page(lang_for(app, None, &headers), &next, &username, Some(&err))
    })
    .await?;
    let mut r = (status, page).into_response();
    r.extensions_mut().insert(PageError(body));
    Ok(r)
}

/// `POST /logout`.
pub async fn logout(State(st): State<AppState>, caller: Caller, headers: HeaderMap) -> Result<Response, AppError> {
    let r = crate::accounts::logout(State(st), caller, headers).await?;
    let mut out = Redirect::to("/login").into_response();
    if let Some(c) = r.headers().get(header::SET_COOKIE) {
        out.headers_mut().insert(header::SET_COOKIE, c.clone());
    }
    Ok(out)
}

#[derive(Deserialize)]
pub struct LangForm {
    lang: String,
    back: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /lang`: a visitor's choice goes into a cookie; a signed-in user's is also stored, so
/// that it follows them to another browser.
pub async fn set_lang(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> Result<Response, AppError> {
    let f: LangForm = form(&body)?;
    let Some(lang) = Lang::from_tag(&f.lang) else {
        return Err(AppError::invalid("lang", "choose en, he or fa").coded("ui.language.unknown"));
    };
    let back = safe_next(f.back.as_deref());
    let session = cookie(&headers, SESSION_COOKIE).map(str::to_string);
    let presented = f.csrf.clone();
    blocking(st, move |app| {
        if let Some(s) = session
            && let Some((p, _)) = app.principal_for_session(&s)?
            && let Some(user) = p.name.strip_prefix("user:")
        {
            // A signed-in user's setting changes only with the page's own token.
            let expected = SessionSecret(s).csrf_token().0;
            if presented.as_deref() != Some(expected.as_str()) {
                return Err(AppError::new(
                    StatusCode::FORBIDDEN,
                    "auth.csrf",
                    Some("csrf".into()),
                    kesher_core::params!(header = crate::auth::CSRF_HEADER),
                    "a signed-in browser must send its CSRF token",
                ));
            }
            let actor = kesher_store::Actor::new(p.name.clone(), app.now());
            app.put_setting(&setting_key(user), lang.code(), &actor)?;
        }
        Ok(())
    })
    .await?;
    let mut r = Redirect::to(&back).into_response();
    let c = format!("{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000", lang.code());
    if let Ok(v) = c.parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

/// A form body (`application/x-www-form-urlencoded`), its errors naming the field.
fn form<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        let msg = e.to_string();
        let msg = msg.chars().take(200).collect::<String>();
        let field = msg
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_string);
        AppError::invalid(
            field.as_deref().unwrap_or("form"),
            format!("the form is not valid: {msg}"),
        )
        .coded("form.invalid")
        .param("detail", msg.clone())
    })
}

#[derive(Deserialize)]
pub struct SearchPage {
    q: Option<String>,
}

/// `GET /customers`: the search.
pub async fn customers(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(p): Query<SearchPage>,
) -> Result<Html<String>, AppError> {
    let q = p.q.clone().map(|q| q.trim().to_string()).filter(|q| !q.is_empty());
    let found = match &q {
        Some(q) => Some(
            crate::customers::search(
                State(st.clone()),
                caller.clone(),
                Query(crate::customers::SearchParams {
                    q: Some(q.clone()),
                    limit: Some(50),
                    offset: None,
                }),
            )
            .await?
            .0,
        ),
        None => None,
    };
    blocking(st, move |app| {
        let c = ctx(app, &caller, &headers);
        let (results, total, capped) = match found {
            Some(p) => (Some(p.items), p.total, p.total_capped),
            None => (None, 0, false),
        };
        render(
            "customers.html",
            &c,
            "customers",
            context! { q => q.unwrap_or_default(), results => results, total => total, capped => capped, path => "/customers" },
        )
    })
    .await
}

/// A sale or a contact on the customer's timeline, newest first.
#[derive(serde::Serialize)]
struct Event {
    at: String,
    kind: &'static str,
    total: Option<crate::dto::MoneyDto>,
    lines: usize,
    contact_kind: Option<String>,
    channel: Option<String>,
    satisfaction: Option<u8>,
    text: Option<String>,
}

async fn customer_page(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    id: String,
    done: Option<String>,
    error: Option<AppError>,
) -> Result<Response, AppError> {
    let o = crate::customers::overview(State(st.clone()), caller.clone(), Path(id.clone()))
        .await?
        .0;
    let score = if caller.principal.may(Action::AnalyticsRead).is_ok() {
        crate::analytics::score(State(st.clone()), caller.clone(), Path(id))
            .await
            .ok()
            .map(|j| j.0)
    } else {
        None
    };
    // The loyalty standing, where a program is set and the caller may read wallets.
    let wallet = if caller.principal.may(Action::PointsRead).is_ok() {
        crate::loyalty::wallet(State(st.clone()), caller.clone(), Path(o.customer.id.clone()))
            .await
            .ok()
            .map(|j| j.0)
    } else {
        None
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let body = error.as_ref().map(error_json);
    let page = blocking(st, move |app| {
        let program = app.loyalty_program().ok().flatten();
        let wallet = match &program {
            Some(_) => wallet,
            None => None,
        };
        // The catalogue, for the benefits' names and the redemption form; each form carries a
        // fresh idempotency key, so that a form sent twice redeems or honours once.
        let catalogue: Vec<minijinja::Value> = program
            .as_ref()
            .map(|p| p.benefits().iter().map(benefit_view).collect())
            .unwrap_or_default();
        let form_key = format!("web-{}", uuid::Uuid::now_v7());
        let c = ctx(app, &caller, &headers);
        let mut timeline: Vec<Event> = o
            .transactions
            .iter()
            .map(|t| Event {
                at: t.occurred_at.clone(),
                kind: if t.refund_of.is_some() { "refund" } else { "sale" },
                total: Some(t.total.clone()),
                lines: t.lines.len(),
                contact_kind: None,
                channel: None,
                satisfaction: None,
                text: None,
            })
            .chain(o.interactions.iter().map(|i| Event {
                at: i.occurred_at.clone(),
                kind: "contact",
                total: None,
                lines: 0,
                contact_kind: Some(i.kind.clone()),
                channel: Some(i.channel.clone()),
                satisfaction: i.satisfaction,
                text: i.text.clone(),
            }))
            .collect();
        timeline.sort_by(|a, b| b.at.cmp(&a.at));
        let currency = o
            .stats
            .spend_shown
            .first()
            .map(|s| s.currency.clone())
            .unwrap_or_else(|| "ILS".into());
        let path = format!("/customers/{}", o.customer.id);
        render(
            "customer.html",
            &c,
            "customers",
            context! {
                o => &o, score => score, timeline => timeline, currency => currency, path => path, wallet => wallet,
                catalogue => catalogue, form_key => form_key,
                flash => flash(&c, done.as_deref()), error => error.as_ref().map(error_value),
            },
        )
    })
    .await?;
    let mut r = (status, page).into_response();
    if let Some(b) = body {
        r.extensions_mut().insert(PageError(b));
    }
    Ok(r)
}

/// `GET /customers/{id}`: the one-page customer view.
pub async fn customer(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(d): Query<DoneParams>,
) -> Result<Response, AppError> {
    customer_page(st, caller, headers, id, d.done, None).await
}

#[derive(Deserialize)]
pub struct EditForm {
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    city: Option<String>,
}

/// `POST /customers/{id}/edit`: a JSON merge patch of the fields the form shows (a field left
/// empty is cleared; the others are never touched), through `PATCH /api/customers/{id}`.
pub async fn edit_customer(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: EditForm = form(&body)?;
    let mut patch = serde_json::Map::new();
    for (k, v) in [
        ("name", f.name),
        ("phone", f.phone),
        ("email", f.email),
        ("city", f.city),
    ] {
        if let Some(v) = v {
            let v = v.trim().to_string();
            patch.insert(
                k.into(),
                if v.is_empty() {
                    serde_json::Value::Null
                } else {
                    serde_json::Value::String(v)
                },
            );
        }
    }
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/merge-patch+json"),
    );
    let bytes = serde_json::to_vec(&serde_json::Value::Object(patch)).map_err(|e| AppError::internal(e.to_string()))?;
    match crate::customers::patch(
        State(st.clone()),
        caller.clone(),
        Path(id.clone()),
        h,
        Ok(Bytes::from(bytes)),
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}?done=saved")).into_response()),
        Err(e)
            if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND && e.status != StatusCode::FORBIDDEN =>
        {
            customer_page(st, caller, headers, id, None, Some(e)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct RedeemForm {
    benefit: String,
    key: String,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /customers/{id}/benefits/redeem`: points for a benefit of the catalogue, through
/// `POST /api/customers/{id}/benefits/redeem` with the form's key.
pub async fn redeem_form(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: RedeemForm = form(&body)?;
    let r = crate::loyalty::redeem_benefit(
        State(st.clone()),
        caller.clone(),
        Path(id.clone()),
        HeaderMap::new(),
        crate::error::Json(crate::loyalty::RedeemBenefitInput {
            benefit: f.benefit.trim().to_string(),
            idempotency_key: Some(f.key),
            branch: None,
        }),
    )
    .await;
    benefit_done(st, caller, headers, id, r.map(|_| ()), "redeemed").await
}

#[derive(Deserialize)]
pub struct HonourForm {
    key: String,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /customers/{id}/benefits/{grant}/honour`: a grant honoured at the till, through
/// `POST /api/benefits/{grant_id}/honour` with the form's key.
pub async fn honour_form(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path((id, grant)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: HonourForm = form(&body)?;
    let r = crate::loyalty::honour_benefit(
        State(st.clone()),
        caller.clone(),
        Path(grant),
        HeaderMap::new(),
        crate::error::Json(crate::loyalty::HonourInput {
            idempotency_key: Some(f.key),
            branch: None,
        }),
    )
    .await;
    benefit_done(st, caller, headers, id, r.map(|_| ()), "honoured").await
}

/// After a benefit's form: back to the customer with a flash, or the page with the error.
async fn benefit_done(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    id: String,
    r: Result<(), AppError>,
    done: &str,
) -> Result<Response, AppError> {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/customers/{id}?done={done}")).into_response()),
        Err(e)
            if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND && e.status != StatusCode::FORBIDDEN =>
        {
            customer_page(st, caller, headers, id, None, Some(e)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ContactForm {
    channel: String,
    kind: String,
    text: Option<String>,
    satisfaction: Option<String>,
}

/// `POST /customers/{id}/contacts`: through `POST /api/interactions`.
pub async fn add_contact(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: ContactForm = form(&body)?;
    let satisfaction = match f.satisfaction.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(s) => Some(s.parse::<u8>().map_err(|_| {
            AppError::invalid(
                "satisfaction",
                format!("invalid satisfaction {s:?}: expected a whole number 1 to 5"),
            )
            .coded("interaction.satisfaction.invalid")
            .param("value", s)
        })?),
    };
    let input = crate::dto::InteractionInput {
        external_id: None,
        customer_id: id.clone(),
        channel: f.channel,
        kind: f.kind,
        occurred_at: None,
        text: f.text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()),
        employee: None,
        satisfaction,
        status: None,
    };
    match crate::sales::create_interaction(State(st.clone()), caller.clone(), Json(input)).await {
        Ok(_) => Ok(Redirect::to(&format!("/customers/{id}?done=contact")).into_response()),
        Err(e)
            if e.status.is_client_error() && e.status != StatusCode::NOT_FOUND && e.status != StatusCode::FORBIDDEN =>
        {
            customer_page(st, caller, headers, id, None, Some(e)).await
        }
        Err(e) => Err(e),
    }
}

/// `POST /analytics/run`: refresh the analysis now, then back to the dashboard.
pub async fn run_analysis(State(st): State<AppState>, caller: Caller) -> Result<Response, AppError> {
    let _ = caller;
    crate::analytics::run(State(st), Json(crate::analytics::AnalyzeInput::default())).await?;
    Ok(Redirect::to("/?done=analyzed").into_response())
}

#[derive(Deserialize, Default)]
pub struct SegmentForm {
    name: Option<String>,
    expression: Option<String>,
    action: Option<String>,
}

/// The live count and sample of an expression, or its error.
/// With `estimate`, the count as one types (estimated on the sample for a big business).
async fn check_segment(
    st: &AppState,
    caller: &Caller,
    expression: &str,
    estimate: bool,
) -> (minijinja::Value, Option<AppError>) {
    let r = crate::segments::members_adhoc(
        State(st.clone()),
        caller.clone(),
        Query(crate::segments::MembersParams {
            segment: Some(expression.to_string()),
            limit: Some(10),
            offset: None,
            estimate: Some(estimate),
        }),
    )
    .await;
    match r {
        Ok(m) => {
            let m = m.0;
            let (low, high) = m.estimate.as_ref().map(|e| (e.low, e.high)).unzip();
            (
                context! { count => m.count, low => low, high => high, sample => m.members },
                None,
            )
        }
        Err(e) => (context! { error => error_value(&e) }, Some(e)),
    }
}

async fn segments_page(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    f: SegmentForm,
    check: Option<minijinja::Value>,
    flash_text: Option<String>,
) -> Result<Html<String>, AppError> {
    let saved = crate::segments::list(State(st.clone())).await?.0;
    let fields = crate::segments::fields().await.0;
    blocking(st, move |app| {
        let c = ctx(app, &caller, &headers);
        render(
            "segments.html",
            &c,
            "segments",
            context! {
                form => context! { name => f.name.unwrap_or_default(), expression => f.expression.unwrap_or_default() },
                check => check, saved => saved, fields => fields, flash => flash_text, path => "/segments",
            },
        )
    })
    .await
}

/// `GET /segments`: the editor and the saved segments.
pub async fn segments(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Html<String>, AppError> {
    segments_page(st, caller, headers, SegmentForm::default(), None, None).await
}

/// `POST /segments`: check (count and sample) or save.
pub async fn save_segment(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: SegmentForm = form(&body)?;
    let expression = f.expression.clone().unwrap_or_default();
    let (check, problem) = check_segment(&st, &caller, &expression, false).await;
    if f.action.as_deref() == Some("save") && problem.is_none() {
        if let Err(d) = caller.principal.may(Action::SegmentsManage) {
            return Err(crate::auth::denied(d));
        }
        let name = f.name.clone().unwrap_or_default();
        let saved = crate::segments::save(
            State(st.clone()),
            caller.clone(),
            Json(crate::segments::SegmentInput {
                name: name.clone(),
                expression,
                description: None,
            }),
        )
        .await;
        return match saved {
            Ok(_) => {
                let lang = blocking(st.clone(), {
                    let caller = caller.clone();
                    let headers = headers.clone();
                    move |app| Ok(ctx(app, &caller, &headers).lang)
                })
                .await?;
                let text = web()?.t(lang, "flash-segment-saved", &[("name", name.into())]);
                Ok(segments_page(st, caller, headers, f, Some(check), Some(text))
                    .await?
                    .into_response())
            }
            Err(e) => {
                let status = e.status;
                let page = segments_page(
                    st,
                    caller,
                    headers,
                    f,
                    Some(context! { error => error_value(&e) }),
                    None,
                )
                .await?;
                Ok(errored(status, page, &e))
            }
        };
    }
    let page = segments_page(st, caller, headers, f, Some(check), None).await?;
    Ok(match problem {
        Some(e) => errored(StatusCode::UNPROCESSABLE_ENTITY, page, &e),
        None => page.into_response(),
    })
}

#[derive(Deserialize)]
pub struct LiveParams {
    expression: Option<String>,
}

/// `GET /segments/live?expression=…`: the count (or the error) as an HTML fragment, for the
/// editor's script.
pub async fn segment_live(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(p): Query<LiveParams>,
) -> Result<Html<String>, AppError> {
    let expression = p.expression.unwrap_or_default();
    let (check, _) = check_segment(&st, &caller, &expression, true).await;
    blocking(st, move |app| {
        let c = ctx(app, &caller, &headers);
        let w = web()?;
        let number = |k: &str| check.get_attr(k).ok().and_then(|v| v.as_i64());
        let text = match (number("count"), number("low"), number("high")) {
            (Some(n), Some(low), Some(high)) => w.t(
                c.lang,
                "seg-estimate",
                &[("count", n.into()), ("low", low.into()), ("high", high.into())],
            ),
            (Some(n), _, _) => w.t(c.lang, "seg-count", &[("count", n.into())]),
            (None, _, _) => {
                let e = check.get_attr("error").unwrap_or_default();
                let page = w
                    .render("error.html", c.lang, context! { error => e })
                    .map_err(|e| AppError::internal(e.to_string()))?;
                // Only the error's sentence, from the rendered page's alert.
                let start = page.find("id=\"error\">").map(|i| i + "id=\"error\">".len());
                let sentence = start
                    .and_then(|s| page[s..].find("</p>").map(|e| page[s..s + e].to_string()))
                    .unwrap_or_default();
                return Ok(Html(format!("<span class=\"error\">{sentence}</span>")));
            }
        };
        Ok(Html(kesher_web::chart::esc(&text)))
    })
    .await
}

/// `GET /segments/{name}/members.csv`: every member of a saved segment (id, member number, name,
/// as the caller may see them).
pub async fn segment_csv(
    State(st): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    let mut out = String::from("id,member_no,name\n");
    let mut offset = 0u64;
    loop {
        let page = crate::segments::members(
            State(st.clone()),
            caller.clone(),
            Path(name.clone()),
            Query(crate::segments::MembersParams {
                segment: None,
                limit: Some(500),
                offset: Some(offset),
                estimate: None,
            }),
        )
        .await?
        .0;
        for m in &page.members {
            let cell = |s: Option<&str>| {
                let s = s.unwrap_or("");
                // Quoted, and a leading formula character neutralised for spreadsheets.
                let s = if s.starts_with(['=', '+', '-', '@']) {
                    format!("'{s}")
                } else {
                    s.to_string()
                };
                format!("\"{}\"", s.replace('"', "\"\""))
            };
            out.push_str(&format!(
                "{},{},{}\n",
                m.id,
                cell(m.member_no.as_deref()),
                cell(m.name.as_deref())
            ));
        }
        offset += page.members.len() as u64;
        if page.members.is_empty() || offset >= page.count {
            break;
        }
    }
    let mut r = out.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = format!("attachment; filename=\"{}.csv\"", kesher_web::slug(&name)).parse() {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// `GET /static/{file}`: the embedded style sheet and script.
pub async fn asset(Path(file): Path<String>) -> Response {
    match kesher_web::asset(&file) {
        Some((ty, bytes)) => (
            [
                (header::CONTENT_TYPE, ty),
                (header::CACHE_CONTROL, "public, max-age=3600"),
            ],
            bytes,
        )
            .into_response(),
        None => AppError::not_found(format!("no asset {file}"))
            .coded("route.not_found")
            .param("path", file)
            .into_response(),
    }
}

/// Pages answer a browser's errors as pages: a visitor without a session is sent to the sign-in
/// page, any other error (JSON from the access layer or a handler) becomes the error page in the
/// reader's language. A client that does not ask for HTML (`Accept` without `text/html`: scripts,
/// API clients) gets the JSON error as everywhere else; the API (`/api/…`) and the assets are
/// left alone.
pub async fn html_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let path = req.uri().path().to_string();
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if path.starts_with("/api/") || path.starts_with("/static/") {
        return next.run(req).await;
    }
    if !wants_html {
        let mut r = next.run(req).await;
        return match r.extensions_mut().remove::<PageError>() {
            Some(PageError(body)) => (r.status(), axum::Json(body)).into_response(),
            None => r,
        };
    }
    let headers = req.headers().clone();
    let query = req.uri().query().map(str::to_string);
    let is_get = req.method() == axum::http::Method::GET;
    let r = next.run(req).await;
    let status = r.status();
    let json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status.is_success() || status.is_redirection() || !json {
        return r;
    }
    if status == StatusCode::UNAUTHORIZED && path != "/login" {
        let here = match (&query, is_get) {
            (Some(q), true) => format!("{path}?{q}"),
            (None, true) => path.clone(),
            _ => "/".into(),
        };
        let mut enc = String::new();
        for b in here.bytes() {
            if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
                enc.push(b as char);
            } else {
                enc.push_str(&format!("%{b:02X}"));
            }
        }
        return Redirect::to(&format!("/login?next={enc}")).into_response();
    }
    let allow = r.headers().get(header::ALLOW).cloned();
    let bytes = axum::body::to_bytes(r.into_body(), 256 * 1024)
        .await
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let lang = Lang::negotiate(
        cookie(&headers, LANG_COOKIE),
        headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
    );
    let page = web().and_then(|w| {
        w.render(
            "error.html",
            lang,
            context! { status => status.as_u16(), error => minijinja::Value::from_serialize(&v["error"]), path => path },
        )
        .map_err(|e| AppError::internal(e.to_string()))
    });
    let mut out = match page {
        Ok(html) => (status, Html(html)).into_response(),
        Err(_) => (status, Bytes::from(bytes.to_vec())).into_response(),
    };
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out
}

/// The program's definition as a page shows it: tiers with their thresholds read.
/// The loyalty page's KPI panel: the headline figures of `kesher loyalty report`.
fn kpi_view(q: &kesher_app::loyalty::kpis::KpiQuery, r: &kesher_app::loyalty::kpis::KpiReport) -> minijinja::Value {
    let scale = 10f64.powi(q.currency.exponent() as i32);
    let sales = r
        .identified_sales
        .total
        .iter()
        .find(|s| s.currency == q.currency.as_str());
    let did = r.financial_impact.difference_in_differences.as_ref().map(|d| {
        context! {
            months => d.months, effect => d.effect * scale, low => d.ci_low * scale, high => d.ci_high * scale,
        }
    });
    context! {
        from => r.window.from, to => r.window.to, currency => q.currency.as_str(),
        enrolled => r.enrolments.total.enrolled + r.enrolments.total.rejoined, left => r.enrolments.total.left,
        quality => r.data_quality.total.average_quality,
        member_share_tx => sales.and_then(|s| s.member_share_of_transactions),
        member_share_rev => sales.and_then(|s| s.member_share_of_revenue),
        issued => r.points.total.issued, redeemed => r.points.total.redeemed,
        redemption_rate => r.points.redemption_rate,
        liability_points => r.points.liability.points,
        liability_minor => r.points.liability.points.checked_mul(q.point_value),
        new_members => r.new_vs_returning.total_new, did => did,
        grants => r.benefits.grants.iter().map(|g| context! {
            key => &g.key, name => &g.name, kind => &g.figures.kind, granted => g.figures.granted,
            used => g.figures.used, expired => g.figures.expired, available => g.figures.available,
            use_rate => g.figures.use_rate,
        }).collect::<Vec<_>>(),
        surprises => r.benefits.surprises.iter().map(|d| context! {
            benefit => &d.benefit, at => &d.at, members => d.members, used => d.used, expired => d.expired,
        }).collect::<Vec<_>>(),
    }
}

fn program_view(p: &kesher_loyalty::program::Program) -> minijinja::Value {
    let d = p.definition();
    let tiers: Vec<minijinja::Value> = p
        .tiers()
        .iter()
        .map(|t| {
            context! {
                key => &t.key, name => &t.name, threshold => t.threshold, threshold_minor => t.threshold,
                multiplier => format!("{}.{:02}", t.multiplier / 100, t.multiplier % 100).trim_end_matches('0').trim_end_matches('.').to_string(),
                benefits => &t.benefits,
            }
        })
        .collect();
    let by = p.qualification().map(|q| match q.by {
        kesher_loyalty::program::QualifyBy::Spend => "spend",
        kesher_loyalty::program::QualifyBy::Points => "points",
    });
    let promotions: Vec<minijinja::Value> = d
        .promotions
        .iter()
        .map(|x| context! { name => &x.name, multiplier => &x.multiplier, from => x.from.to_string(), until => x.until.to_string() })
        .collect();
    let benefits: Vec<minijinja::Value> = p.benefits().iter().map(benefit_view).collect();
    context! {
        name => &d.name, currency => p.currency().as_str(), tiers => tiers,
        qualification => context! { by => by }, promotions => promotions, benefits => benefits,
    }
}

/// One benefit of the catalogue as a page shows it: its value in the terms a template formats.
fn benefit_view(b: &kesher_loyalty::benefits::BenefitRule) -> minijinja::Value {
    use kesher_loyalty::benefits::BenefitValue as V;
    let (value_type, percent, minor, sku, points) = match &b.value {
        Some(V::PercentDiscount { hundredths }) => (
            Some("percent_discount"),
            Some(*hundredths as f64 / 10_000.0),
            None,
            None,
            None,
        ),
        Some(V::FixedCredit { minor }) => (Some("fixed_credit"), None, Some(*minor), None, None),
        Some(V::GiftProduct { sku }) => (Some("gift_product"), None, None, Some(sku.clone()), None),
        Some(V::Points { points }) => (Some("points"), None, None, None, Some(*points)),
        None => (None, None, None, None, None),
    };
    context! {
        key => &b.key, name => &b.name, kind => b.kind.as_str(), value_type => value_type, percent => percent,
        minor => minor, sku => sku, points => points, cost_points => b.cost_points, valid_days => b.valid_days,
        tiers => &b.tiers,
    }
}

async fn loyalty_page(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    done: Option<String>,
    error: Option<AppError>,
) -> Result<Response, AppError> {
    let status = error.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    blocking(st, move |app| {
        caller.check(Action::LoyaltyRead, None)?;
        let c = ctx(app, &caller, &headers);
        let program = app.loyalty_program()?;
        let members: Vec<crate::loyalty::MemberDto> = match &program {
            Some(_) => app
                .loyalty_members(Some(kesher_loyalty::MemberStatus::Active), None, None, 50)?
                .iter()
                .map(crate::loyalty::MemberDto::from)
                .collect(),
            None => Vec::new(),
        };
        // The program's KPIs over the last 365 days, for those who may read aggregates.
        let kpis = match &program {
            Some(_) if caller.principal.may(Action::AnalyticsRead).is_ok() => {
                let q = app.loyalty_kpi_query(&kesher_app::loyalty::kpis::KpiParams::default())?;
                Some(kpi_view(&q, &app.loyalty_kpis(&q)?))
            }
            _ => None,
        };
        let page = render(
            "loyalty.html",
            &c,
            "loyalty",
            context! {
                program => program.as_ref().map(program_view), members => members, kpis => kpis,
                flash => flash(&c, done.as_deref()), error => error.as_ref().map(error_value), path => "/loyalty",
            },
        )?;
        Ok(match &error {
            Some(e) => errored(status, page, e),
            None => page.into_response(),
        })
    })
    .await
}

/// `GET /loyalty`: the program, its tiers and promotions, the members, the enrolment form.
pub async fn loyalty(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(d): Query<DoneParams>,
) -> Result<Response, AppError> {
    loyalty_page(st, caller, headers, d.done, None).await
}

#[derive(Deserialize)]
struct EnrolForm {
    who: String,
    employee: Option<String>,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /loyalty/enrol`: enrol the customer found by an identifier, at the caller's branch.
pub async fn enrol(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: EnrolForm = form(&body)?;
    let who = f.who.trim().to_string();
    let employee = f.employee.map(|e| e.trim().to_string()).filter(|e| !e.is_empty());
    let found = {
        let (caller, who) = (caller.clone(), who.clone());
        blocking(st.clone(), move |app| {
            caller.check(Action::LoyaltyEnrol, caller.principal.branch)?;
            let id = app
                .resolve_customer(&who, caller.principal.branch)?
                .ok_or_else(|| AppError::not_found("no such customer").coded("customer.not_found"))?;
            Ok(id)
        })
        .await
    };
    let id = match found {
        Ok(id) => id,
        Err(e) => return loyalty_page(st, caller, headers, None, Some(e)).await,
    };
    let r = crate::loyalty::enrol(
        State(st.clone()),
        caller.clone(),
        crate::error::Json(crate::loyalty::EnrolInput {
            customer_id: id.to_string(),
            branch: None,
            employee,
            invited_by: None,
            fee_paid: None,
        }),
    )
    .await;
    match r {
        Ok(_) => Ok(Redirect::to("/loyalty?done=enrolled").into_response()),
        Err(e) => loyalty_page(st, caller, headers, None, Some(e)).await,
    }
}
