//! Access control for every route, in one place: the route table (method, path → action), the
//! middleware that authenticates the caller (API token or session cookie + CSRF header), checks
//! the permission matrix, applies rate limits, and hands the handler a `Caller`.
//!
//! A route that is not in the table is refused (fail closed), and a test walks every entry of
//! the table for every role against `kesher_auth::grant`.

use crate::error::AppError;
use crate::{AppState, blocking};
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kesher_app::App;
use kesher_auth::{Access, Action, Backoff, Denied, Principal, Rate, RateLimiter};
use kesher_core::{BranchId, Params};
use kesher_store::Actor;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

pub const SESSION_COOKIE: &str = "kesher_session";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// One entry of the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRule {
    pub method: Method,
    pub path: &'static str,
    pub action: Action,
}

/// Rate limits: sign-in attempts per client address, wrong passwords per user name at one
/// address (growing delays: whoever guesses from one place cannot lock the user out from
/// another), point-of-sale calls (lookups, sales) per caller, and lookups alone per caller (so
/// that a till cannot walk the member numbers).
pub struct Limits {
    pub sign_in_per_ip: RateLimiter,
    pub sign_in_failures: Backoff,
    pub pos: RateLimiter,
    pub lookup: RateLimiter,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sign_in_per_ip: RateLimiter::new(Rate {
                burst: 20,
                per_second: 0.2,
            }),
            sign_in_failures: Backoff::new(5, 1, 15 * 60),
            pos: RateLimiter::new(Rate {
                burst: 60,
                per_second: 20.0,
            }),
            lookup: RateLimiter::new(Rate {
                burst: 30,
                per_second: 0.5,
            }),
        }
    }
}

/// What the middleware needs: the app, the table, the limits.
pub struct Guard {
    pub app: AppState,
    pub rules: HashMap<(Method, &'static str), Action>,
    pub limits: Limits,
}

impl Guard {
    /// The methods the route table has for `path` (HEAD wherever GET), sorted.
    pub fn allowed_methods(&self, path: &str) -> Vec<String> {
        let mut m: Vec<String> = self
            .rules
            .keys()
            .filter(|(_, p)| *p == path)
            .map(|(m, _)| m.to_string())
            .collect();
        if m.iter().any(|x| x == "GET") {
            m.push("HEAD".into());
        }
        m.sort();
        m.dedup();
        m
    }
}

/// HTTP 405 with `Allow`: the path exists, the method does not (whoever asks).
fn method_not_allowed(method: &Method, path: &str, allowed: &[String]) -> Response {
    let allow = allowed.join(", ");
    let mut r = AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "route.method_not_allowed",
        None,
        kesher_core::params!(path = path, method = method.as_str(), allow = allow.as_str()),
        format!("{path} does not answer {method}; it answers {allow}"),
    )
    .into_response();
    if let Ok(v) = allow.parse() {
        r.headers_mut().insert(header::ALLOW, v);
    }
    r
}

/// The authenticated caller of a request, for handlers.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    /// The client's address.
    pub origin: String,
    /// Set when the caller came with a session cookie.
    pub session: bool,
}

impl Caller {
    /// The audit log's "who, when, from where".
    pub fn actor(&self, app: &App) -> Actor {
        Actor::new(self.principal.name.clone(), app.now()).from(self.origin.clone())
    }

    /// May the caller do `action` on something of `branch`? How much may they see?
    pub fn check(&self, action: Action, branch: Option<BranchId>) -> Result<Access, AppError> {
        self.principal.check(action, branch).map_err(denied)
    }

    /// The branch a list must be narrowed to (own-branch roles), or None for all.
    pub fn branch_filter(&self, action: Action) -> Result<Option<BranchId>, AppError> {
        self.principal.branch_filter(action).map_err(denied)
    }

    pub fn anonymised(&self, action: Action) -> bool {
        self.principal.grant(action) == kesher_auth::Grant::Anonymised
    }
}

pub fn denied(d: Denied) -> AppError {
    AppError::new(StatusCode::FORBIDDEN, d.code(), None, d.params(), d.to_string())
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(unauthenticated)
    }
}

fn unauthenticated() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        "auth.unauthenticated",
        None,
        Params::new(),
        "sign in (POST /api/auth/login) or send an API token as Authorization: Bearer ksr_…",
    )
}

/// HTTP 429 with Retry-After: `what` ("sign-in attempts", ...) came too fast.
pub(crate) fn too_many(wait: u64, what: &str) -> Response {
    let mut r = AppError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        None,
        kesher_core::params!(retry_after = wait),
        format!("too many {what}; try again in {wait} s"),
    )
    .into_response();
    if let Ok(v) = wait.to_string().parse() {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

pub fn client_addr(req_ext: &axum::http::Extensions) -> String {
    req_ext
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of `name` in a form body (`a=1&csrf=…`), percent-decoded.
fn form_urlencoded_field(body: &[u8], name: &str) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The middleware: every request passes here after routing.
pub async fn authenticate(State(g): State<Arc<Guard>>, mut req: Request, next: Next) -> Response {
    let Some(path) = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()) else {
        // No route matched: the fallback answers 404.
        return next.run(req).await;
    };
    let method = if req.method() == Method::HEAD {
        Method::GET
    } else {
        req.method().clone()
    };
    let Some(action) = g.rules.get(&(method.clone(), path.as_str())).copied() else {
        let allowed = g.allowed_methods(&path);
        if !allowed.is_empty() {
            return method_not_allowed(&method, &path, &allowed);
        }
        return AppError::new(
            StatusCode::FORBIDDEN,
            "route.unlisted",
            None,
            kesher_core::params!(method = method.as_str(), path = path.as_str()),
            format!("{method} {path} has no entry in the permission table"),
        )
        .into_response();
    };
    if action == Action::Public {
        return next.run(req).await;
    }
    let origin = client_addr(req.extensions());
    let headers = req.headers().clone();
    let app = g.app.clone();
    let unsafe_method = !matches!(method, Method::GET | Method::OPTIONS);
    // A page's form sends the token as its `csrf` field (a form cannot set a header): read it
    // from the body, which is then handed on unchanged.
    let mut form_token = None;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/x-www-form-urlencoded"));
    if unsafe_method && is_form && headers.get(CSRF_HEADER).is_none() {
        let (parts, body) = req.into_parts();
        let bytes = match axum::body::to_bytes(body, crate::JSON_BODY_LIMIT).await {
            Ok(b) => b,
            Err(_) => {
                return AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body.too_large",
                    None,
                    kesher_core::params!(limit = crate::JSON_BODY_LIMIT),
                    format!("the body is larger than the limit of {} bytes", crate::JSON_BODY_LIMIT),
                )
                .into_response();
            }
        };
        form_token = form_urlencoded_field(&bytes, "csrf");
        req = Request::from_parts(parts, axum::body::Body::from(bytes));
    }
    let found = blocking(app, move |app| {
        if let Some(t) = bearer(&headers) {
            return Ok(app.principal_for_token(t)?.map(|p| (p, false)));
        }
        if let Some(s) = cookie(&headers, SESSION_COOKIE) {
            let Some((p, session)) = app.principal_for_session(s)? else {
                return Ok(None);
            };
            if unsafe_method {
                let presented = headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .or(form_token.as_deref())
                    .unwrap_or("");
                if kesher_auth::hash_secret(presented) != session.csrf_digest {
                    return Err(AppError::new(
                        StatusCode::FORBIDDEN,
                        "auth.csrf",
                        None,
                        kesher_core::params!(header = CSRF_HEADER),
                        format!("a signed-in browser must send its CSRF token in the {CSRF_HEADER} header"),
                    ));
                }
            }
            return Ok(Some((p, true)));
        }
        Ok(None)
    })
    .await;
    let (principal, session) = match found {
        Ok(Some(p)) => p,
        Ok(None) => return unauthenticated().into_response(),
        Err(e) => return e.into_response(),
    };
    if let Err(d) = principal.may(action) {
        return denied(d).into_response();
    }
    if matches!(
        action,
        Action::TransactionsRecord | Action::CustomersLookup | Action::PointsRedeem
    ) && let Err(wait) = g.limits.pos.check(&principal.name, g.app.now())
    {
        return too_many(wait, "point-of-sale requests");
    }
    if action == Action::CustomersLookup
        && let Err(wait) = g.limits.lookup.check(&principal.name, g.app.now())
    {
        return too_many(wait, "customer lookups");
    }
    req.extensions_mut().insert(Caller {
        principal,
        origin,
        session,
    });
    next.run(req).await
}
