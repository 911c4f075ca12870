//! The administration pages: users (add, change role or branch, disable and enable, a new
//! password), the permission matrix as a table, API tokens (create — the secret shown once, on
//! the answer to the form, never again — and revoke), the audit log (newest first, filtered by
//! actor, action and dates, keyset-paged with `before=`) and the retention rule (change it, see
//! what a run would remove, then run it). Every change goes through the JSON API's own handler
//! (`accounts::create_user`, `update_user`, `create_token`, `revoke_token`,
//! `privacy::put_retention`, `run_retention`), so a page refuses what the API refuses, with the
//! same error codes; the route table names each page's action (`users.manage`,
//! `tokens.manage`, `audit.read`, `privacy.manage`), which only an admin has.

use super::{Ctx, DoneParams, ctx, error_value, errored, form, render, web};
use crate::accounts::{TokenInput, UserInput, UserPatch};
use crate::auth::Caller;
use crate::error::{AppError, Json, Query};
use crate::privacy::{RetentionDto, RetentionRunInput};
use crate::{AppState, blocking};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use kesher_app::App;
use kesher_auth::{Action, Grant, Role, grant};
use kesher_store::AuditQuery;
use minijinja::context;
use serde::Deserialize;

/// Entries on one page of the audit log.
pub const AUDIT_PAGE: u32 = 50;

/// The message key part of a role: a point-of-sale device is a till.
fn role_key(r: &str) -> &str {
    if r == Role::PosDevice.as_str() { "till" } else { r }
}

/// The roles a form offers, each with its message key and whether it works at one branch.
fn roles_view(with_devices: bool) -> Vec<minijinja::Value> {
    Role::ALL
        .iter()
        .filter(|r| with_devices || **r != Role::PosDevice)
        .map(|r| context! { code => r.as_str(), key => role_key(r.as_str()), branch => r.needs_branch() })
        .collect()
}

/// The branches a form offers (external id and name), and the external id of each branch id.
fn branches(app: &App) -> Result<(Vec<minijinja::Value>, std::collections::HashMap<String, String>), AppError> {
    let list = app.list_branches()?;
    let by_id = list.iter().map(|b| (b.id.to_string(), b.external_id.clone())).collect();
    let view = list
        .iter()
        .map(|b| context! { id => &b.external_id, name => &b.name })
        .collect();
    Ok((view, by_id))
}

/// The page `page` answered with: 200, or the error's status with the error for a JSON client;
/// never stored by a cache (the pages list accounts, and one shows a token's secret).
fn answer(page: Html<String>, error: Option<&AppError>) -> Response {
    let mut r = match error {
        Some(e) => errored(e.status, page, e),
        None => page.into_response(),
    };
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A refusal shown beside the form (a bad value, a name taken, the last admin); anything else
/// (forbidden, a failure) is the error page.
fn shown_on_page(e: &AppError) -> bool {
    e.status.is_client_error() && e.status != StatusCode::FORBIDDEN && e.status != StatusCode::UNAUTHORIZED
}

fn flash(c: &Ctx, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "user-added" => "flash-user-added",
        "user-changed" => "flash-user-changed",
        "token-revoked" => "flash-token-revoked",
        "saved" => "flash-saved",
        _ => return None,
    };
    web().ok().map(|w| w.t(c.lang, key, &[]))
}

/// What the add-user form held when it was refused (never the password).
#[derive(Default, serde::Serialize)]
struct UserDraft {
    username: String,
    display_name: String,
    role: String,
    branch: String,
}

async fn users_page(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    done: Option<String>,
    draft: UserDraft,
    error: Option<AppError>,
) -> Result<Response, AppError> {
    let users = crate::accounts::list_users(State(st.clone())).await?.0;
    blocking(st, move |app| {
        caller.check(Action::UsersManage, None)?;
        let c = ctx(app, &caller, &headers);
        let (branch_list, branch_of) = branches(app)?;
        let users: Vec<minijinja::Value> = users
            .iter()
            .map(|u| {
                let branch = u.branch_id.as_ref().and_then(|b| branch_of.get(b)).cloned();
                context! {
                    id => &u.id, username => &u.username, display_name => &u.display_name,
                    role => &u.role, role_key => role_key(&u.role), branch => branch,
                    disabled => u.disabled, created_at => &u.created_at,
                    is_me => c.me.name == u.username,
                }
            })
            .collect();
        let page = render(
            "admin_users.html",
            &c,
            "admin",
            context! {
                tab => "users", users => users, roles => roles_view(false), branches => branch_list,
                draft => draft, flash => flash(&c, done.as_deref()), error => error.as_ref().map(error_value),
                path => "/admin/users",
            },
        )?;
        Ok(answer(page, error.as_ref()))
    })
    .await
}

/// `GET /admin/users`: every user, the form that adds one, and each one's changes.
pub async fn users(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(d): Query<DoneParams>,
) -> Result<Response, AppError> {
    users_page(st, caller, headers, d.done, UserDraft::default(), None).await
}

/// An optional form field: absent or blank is none.
fn filled(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[derive(Deserialize)]
struct NewUserForm {
    username: String,
    display_name: Option<String>,
    role: String,
    branch: Option<String>,
    password: String,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /admin/users`: add a user through `POST /api/users`; a refusal is shown with the form
/// as it was sent (but the password).
pub async fn add_user(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: NewUserForm = form(&body)?;
    let draft = UserDraft {
        username: f.username.clone(),
        display_name: f.display_name.clone().unwrap_or_default(),
        role: f.role.clone(),
        branch: f.branch.clone().unwrap_or_default(),
    };
    let role = Role::parse(&f.role).ok();
    let input = UserInput {
        username: f.username,
        display_name: filled(f.display_name),
        role: f.role,
        // A branch chosen for a role that works everywhere is left out, not refused.
        branch: filled(f.branch).filter(|_| role.is_some_and(Role::needs_branch)),
        password: f.password,
    };
    match crate::accounts::create_user(State(st.clone()), caller.clone(), Json(input)).await {
        Ok(_) => Ok(Redirect::to("/admin/users?done=user-added").into_response()),
        Err(e) if shown_on_page(&e) => users_page(st, caller, headers, None, draft, Some(e)).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct ChangeUserForm {
    role: Option<String>,
    branch: Option<String>,
    /// "true" to disable, "false" to enable.
    disabled: Option<String>,
    password: Option<String>,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /admin/users/{id}`: one of the user's forms — role and branch, disable or enable, a
/// new password — through `PATCH /api/users/{id}` with the fields that form sent.
pub async fn change_user(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: ChangeUserForm = form(&body)?;
    let disabled = match f.disabled.as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(AppError::invalid("disabled", "expected true or false")
                .coded("form.invalid")
                .param("detail", "disabled"));
        }
    };
    let role = f.role.as_deref().and_then(|r| Role::parse(r).ok());
    // With a role, the branch goes with it: kept for a branch role, cleared for the others.
    let branch = match (&f.role, role) {
        (Some(_), Some(r)) if !r.needs_branch() => Some(None),
        (Some(_), _) => Some(filled(f.branch)),
        (None, _) => None,
    };
    let patch = UserPatch {
        display_name: None,
        role: f.role,
        branch,
        password: f.password,
        disabled,
    };
    match crate::accounts::update_user(State(st.clone()), caller.clone(), Path(id), Json(patch)).await {
        Ok(_) => Ok(Redirect::to("/admin/users?done=user-changed").into_response()),
        Err(e) if shown_on_page(&e) => users_page(st, caller, headers, None, UserDraft::default(), Some(e)).await,
        Err(e) => Err(e),
    }
}

/// The message key part of a grant.
fn grant_key(g: Grant) -> &'static str {
    match g {
        Grant::Allow => "allow",
        Grant::OwnBranch => "own-branch",
        Grant::Anonymised => "anonymised",
        Grant::Deny => "deny",
    }
}

/// `GET /admin/roles`: the permission matrix (`kesher_auth::grant`), an action a row, a role a
/// column; read-only.
pub async fn roles(State(st): State<AppState>, caller: Caller, headers: HeaderMap) -> Result<Response, AppError> {
    blocking(st, move |app| {
        caller.check(Action::UsersManage, None)?;
        let c = ctx(app, &caller, &headers);
        let rows: Vec<minijinja::Value> = Action::ALL
            .iter()
            .filter(|a| !matches!(a, Action::Public | Action::Session))
            .map(|a| {
                let cells: Vec<&str> = Role::ALL.iter().map(|r| grant_key(grant(*r, *a))).collect();
                context! { action => a.as_str(), key => a.as_str().replace('.', "-"), cells => cells }
            })
            .collect();
        let page = render(
            "admin_roles.html",
            &c,
            "admin",
            context! { tab => "roles", roles => roles_view(true), rows => rows, path => "/admin/roles" },
        )?;
        Ok(answer(page, None))
    })
    .await
}

/// What the token form held when it was refused.
#[derive(Default, serde::Serialize)]
struct TokenDraft {
    name: String,
    role: String,
    branch: String,
    scopes: String,
    expires_in_days: String,
}

async fn tokens_page(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    done: Option<String>,
    created: Option<crate::accounts::NewTokenDto>,
    draft: TokenDraft,
    error: Option<AppError>,
) -> Result<Response, AppError> {
    let tokens = crate::accounts::list_tokens(State(st.clone())).await?.0;
    blocking(st, move |app| {
        caller.check(Action::TokensManage, None)?;
        let c = ctx(app, &caller, &headers);
        let (branch_list, branch_of) = branches(app)?;
        let now = app.now();
        let tokens: Vec<minijinja::Value> = tokens
            .iter()
            .rev()
            .map(|t| {
                let expired = t
                    .expires_at
                    .as_deref()
                    .and_then(|x| x.parse::<jiff::Timestamp>().ok())
                    .is_some_and(|x| x <= now);
                let state = match (&t.revoked_at, expired) {
                    (Some(_), _) => "revoked",
                    (None, true) => "expired",
                    (None, false) => "live",
                };
                context! {
                    id => &t.id, name => &t.name, role => &t.role, role_key => role_key(&t.role),
                    branch => t.branch_id.as_ref().and_then(|b| branch_of.get(b)).cloned(),
                    scopes => &t.scopes, hint => &t.hint, created_at => &t.created_at,
                    created_by => t.created_by.strip_prefix("user:").unwrap_or(&t.created_by),
                    expires_at => &t.expires_at, revoked_at => &t.revoked_at, state => state,
                }
            })
            .collect();
        let created = created.map(|n| context! { name => n.token.name, secret => n.secret });
        let page = render(
            "admin_tokens.html",
            &c,
            "admin",
            context! {
                tab => "tokens", tokens => tokens, roles => roles_view(true), branches => branch_list,
                created => created, draft => draft, flash => flash(&c, done.as_deref()),
                error => error.as_ref().map(error_value), path => "/admin/tokens",
            },
        )?;
        Ok(answer(page, error.as_ref()))
    })
    .await
}

/// `GET /admin/tokens`: every API token (never a secret), the form that creates one and a
/// button that revokes each live one.
pub async fn tokens(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(d): Query<DoneParams>,
) -> Result<Response, AppError> {
    tokens_page(st, caller, headers, d.done, None, TokenDraft::default(), None).await
}

#[derive(Deserialize)]
struct NewTokenForm {
    name: String,
    role: String,
    branch: Option<String>,
    /// Actions separated by commas or spaces; empty: all of the role's.
    scopes: Option<String>,
    expires_in_days: Option<String>,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /admin/tokens`: create a token through `POST /api/tokens` and answer with the list and
/// the secret, once: it is in this answer only (not in an address, not stored).
pub async fn create_token(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: NewTokenForm = form(&body)?;
    let draft = TokenDraft {
        name: f.name.clone(),
        role: f.role.clone(),
        branch: f.branch.clone().unwrap_or_default(),
        scopes: f.scopes.clone().unwrap_or_default(),
        expires_in_days: f.expires_in_days.clone().unwrap_or_default(),
    };
    let expires_in_days = match filled(f.expires_in_days) {
        None => None,
        Some(d) => match d.parse::<u32>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                let e = AppError::invalid("expires_in_days", format!("{d:?} is not a whole number of days"))
                    .coded("form.number.invalid")
                    .param("field", "expires_in_days")
                    .param("value", d.chars().take(40).collect::<String>());
                return tokens_page(st, caller, headers, None, None, draft, Some(e)).await;
            }
        },
    };
    let role = Role::parse(&f.role).ok();
    let input = TokenInput {
        name: f.name,
        role: f.role,
        branch: filled(f.branch).filter(|_| role.is_some_and(Role::needs_branch)),
        scopes: f
            .scopes
            .unwrap_or_default()
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        expires_in_days,
    };
    match crate::accounts::create_token(State(st.clone()), caller.clone(), Json(input)).await {
        Ok((_, Json(created))) => {
            tokens_page(st, caller, headers, None, Some(created), TokenDraft::default(), None).await
        }
        Err(e) if shown_on_page(&e) => tokens_page(st, caller, headers, None, None, draft, Some(e)).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct PlainForm {
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /admin/tokens/{id}/revoke`: through `DELETE /api/tokens/{id}`.
pub async fn revoke_token(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let _: PlainForm = form(&body)?;
    match crate::accounts::revoke_token(State(st.clone()), caller.clone(), Path(id)).await {
        Ok(_) => Ok(Redirect::to("/admin/tokens?done=token-revoked").into_response()),
        Err(e) if shown_on_page(&e) => {
            tokens_page(st, caller, headers, None, None, TokenDraft::default(), Some(e)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub struct AuditParams {
    actor: Option<String>,
    action: Option<String>,
    /// A local date (YYYY-MM-DD), the first day shown.
    from: Option<String>,
    /// A local date, the last day shown.
    until: Option<String>,
    /// The `seq` of the previous page's last entry.
    before: Option<String>,
}

/// A filter's date, the start of that day in the business's zone (`next_day`: of the next
/// day, so that the last day is shown whole).
fn day_start(
    field: &'static str,
    v: Option<&str>,
    zone: &jiff::tz::TimeZone,
    next_day: bool,
) -> Result<Option<jiff::Timestamp>, AppError> {
    let Some(v) = v.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let bad = || {
        AppError::invalid(field, format!("{v:?} is not a date (YYYY-MM-DD)"))
            .coded("form.date.invalid")
            .param("field", field)
            .param("value", v.chars().take(40).collect::<String>())
    };
    let date: jiff::civil::Date = v.parse().map_err(|_| bad())?;
    let date = if next_day {
        date.tomorrow().map_err(|_| bad())?
    } else {
        date
    };
    Ok(Some(date.to_zoned(zone.clone()).map_err(|_| bad())?.timestamp()))
}

/// The store's query for the page's filters (a filter left empty filters nothing; a user name
/// alone means that user's entries, which are written as "user:name").
fn audit_query(p: &AuditParams, zone: &jiff::tz::TimeZone) -> Result<AuditQuery, AppError> {
    let before = match filled(p.before.clone()) {
        None => None,
        Some(b) => Some(b.parse::<i64>().map_err(|_| {
            AppError::invalid("before", "not an entry's number")
                .coded("form.number.invalid")
                .param("field", "before")
                .param("value", b.chars().take(40).collect::<String>())
        })?),
    };
    let actor = filled(p.actor.clone()).map(|a| a.chars().take(200).collect::<String>());
    Ok(AuditQuery {
        actor: actor.map(|a| if a.contains(':') { a } else { format!("user:{a}") }),
        action: filled(p.action.clone()).map(|a| a.chars().take(100).collect()),
        from: day_start("from", p.from.as_deref(), zone, false)?,
        until: day_start("until", p.until.as_deref(), zone, true)?,
        before,
        limit: AUDIT_PAGE + 1,
    })
}

/// A JSON value as the page shows it: indented, or none.
fn pretty(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().and_then(|v| serde_json::to_string_pretty(v).ok())
}

/// `GET /admin/audit`: the audit log, newest first, a page of `AUDIT_PAGE` entries read along
/// an index from the previous page's last entry (`before=`), filtered by actor, action and
/// dates (local days); each entry's details; the export's link.
pub async fn audit(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(p): Query<AuditParams>,
) -> Result<Response, AppError> {
    blocking(st, move |app| {
        caller.check(Action::AuditRead, None)?;
        let c = ctx(app, &caller, &headers);
        let zone = app.business_time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
        let query = audit_query(&p, &zone);
        // The next page's query (the filters kept, `before` the last entry shown).
        let (entries, more, error) = match query {
            Ok(q) => {
                let mut rows = app.audit_page(&q)?;
                let more = rows.len() > AUDIT_PAGE as usize;
                rows.truncate(AUDIT_PAGE as usize);
                (rows, more, None)
            }
            Err(e) => (Vec::new(), false, Some(e)),
        };
        let next = match (more, entries.last()) {
            (true, Some(last)) => {
                let seq = last.seq.to_string();
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                for (k, v) in [
                    ("actor", &p.actor),
                    ("action", &p.action),
                    ("from", &p.from),
                    ("until", &p.until),
                ] {
                    if let Some(v) = v.as_deref().filter(|v| !v.trim().is_empty()) {
                        pairs.push((k, v));
                    }
                }
                pairs.push(("before", seq.as_str()));
                serde_urlencoded::to_string(&pairs).ok()
            }
            _ => None,
        };
        let entries: Vec<minijinja::Value> = entries
            .iter()
            .map(|a| {
                context! {
                    seq => a.seq, at => a.at.to_string(), actor => &a.actor, origin => &a.origin,
                    action => &a.action, entity => &a.entity, entity_id => &a.entity_id,
                    before => pretty(&a.before), after => pretty(&a.after),
                }
            })
            .collect();
        let page = render(
            "admin_audit.html",
            &c,
            "admin",
            context! {
                tab => "audit", entries => entries, next => next,
                filter => context! {
                    actor => p.actor.as_deref().unwrap_or_default(), action => p.action.as_deref().unwrap_or_default(),
                    from => p.from.as_deref().unwrap_or_default(), until => p.until.as_deref().unwrap_or_default(),
                },
                paged => p.before.is_some(),
                error => error.as_ref().map(error_value), path => "/admin/audit",
            },
        )?;
        Ok(answer(page, error.as_ref()))
    })
    .await
}

/// What a run of the retention rule found or did, for the page.
struct RetentionShown {
    /// The years field as it was sent, when refused.
    years: Option<String>,
    /// A dry run's figures (the confirm step) or a run's.
    run: Option<(crate::privacy::RetentionRunDto, bool)>,
}

async fn retention_page(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    done: Option<String>,
    shown: RetentionShown,
    error: Option<AppError>,
) -> Result<Response, AppError> {
    let current = crate::privacy::get_retention(State(st.clone())).await?.0;
    blocking(st, move |app| {
        caller.check(Action::PrivacyManage, None)?;
        let c = ctx(app, &caller, &headers);
        let run = shown.run.map(|(r, dry)| {
            context! { dry => dry, years => r.years, cutoff => r.cutoff, candidates => r.candidates, erased => r.erased }
        });
        let page = render(
            "admin_retention.html",
            &c,
            "admin",
            context! {
                tab => "retention", years => current.years,
                field => shown.years.unwrap_or_else(|| current.years.map(|y| y.to_string()).unwrap_or_default()),
                max => kesher_app::privacy::MAX_RETENTION_YEARS,
                run => run, flash => flash(&c, done.as_deref()), error => error.as_ref().map(error_value),
                path => "/admin/retention",
            },
        )?;
        Ok(answer(page, error.as_ref()))
    })
    .await
}

/// `GET /admin/retention`: the rule, the form that changes it, and the run's first step.
pub async fn retention(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(d): Query<DoneParams>,
) -> Result<Response, AppError> {
    let shown = RetentionShown { years: None, run: None };
    retention_page(st, caller, headers, d.done, shown, None).await
}

#[derive(Deserialize)]
struct RetentionForm {
    /// Whole years; empty keeps customers forever (the field is always sent: a body without it
    /// is not this form's).
    years: String,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /admin/retention`: save the rule through `PUT /api/privacy/retention`; a value out of
/// range or not a number is shown beside the field, and nothing changes.
pub async fn save_retention(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: RetentionForm = form(&body)?;
    let sent = f.years.clone();
    let years = match filled(Some(f.years)) {
        None => Ok(None),
        Some(y) => y.parse::<u32>().map(Some).map_err(|_| {
            AppError::invalid("years", format!("{y:?} is not a number of years"))
                .coded("privacy.retention.out_of_range")
                .param("max", kesher_app::privacy::MAX_RETENTION_YEARS)
        }),
    };
    let saved = match years {
        Ok(years) => crate::privacy::put_retention(State(st.clone()), caller.clone(), Json(RetentionDto { years }))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    match saved {
        Ok(()) => Ok(Redirect::to("/admin/retention?done=saved").into_response()),
        Err(e) if shown_on_page(&e) => {
            let shown = RetentionShown {
                years: Some(sent.chars().take(40).collect()),
                run: None,
            };
            retention_page(st, caller, headers, None, shown, Some(e)).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct RunForm {
    /// "yes" once the dry run's figures were seen; else only count.
    confirm: Option<String>,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /admin/retention/run`: first a dry run (how many customers it would anonymise, and
/// the cutoff), with a button that confirms; then the run, through
/// `POST /api/privacy/retention/run`.
pub async fn run_retention(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: RunForm = form(&body)?;
    let dry_run = f.confirm.as_deref() != Some("yes");
    match crate::privacy::run_retention(State(st.clone()), caller.clone(), Json(RetentionRunInput { dry_run })).await {
        Ok(Json(r)) => {
            let shown = RetentionShown {
                years: None,
                run: Some((r, dry_run)),
            };
            retention_page(st, caller, headers, None, shown, None).await
        }
        Err(e) if shown_on_page(&e) => {
            let shown = RetentionShown { years: None, run: None };
            retention_page(st, caller, headers, None, shown, Some(e)).await
        }
        Err(e) => Err(e),
    }
}
