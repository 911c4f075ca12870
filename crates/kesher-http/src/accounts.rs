//! Sign-in and sign-out, the caller's own identity, users and API tokens.

use crate::auth::{Caller, Guard, SESSION_COOKIE, client_addr};
use crate::error::{AppError, Json};
use crate::{AppState, blocking};
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kesher_app::auth::{NewToken, NewUser, SignInError, UserChange};
use kesher_auth::{Action, Role};
use kesher_store::{ApiToken, User};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInInput {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct WhoDto {
    /// "user:dana" or "token:pos-1".
    pub name: String,
    pub role: String,
    pub branch_id: Option<String>,
    /// Actions a token is limited to (empty: all of its role's).
    pub scopes: Vec<String>,
}

impl From<&kesher_auth::Principal> for WhoDto {
    fn from(p: &kesher_auth::Principal) -> Self {
        WhoDto {
            name: p.name.clone(),
            role: p.role.to_string(),
            branch_id: p.branch.map(|b| b.to_string()),
            scopes: p.scopes.iter().map(|a| a.to_string()).collect(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SignedInDto {
    pub who: WhoDto,
    /// Send it back in the X-CSRF-Token header with every POST, PUT, PATCH and DELETE.
    pub csrf_token: String,
    pub expires_at: String,
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = SignInInput,
    responses((status = 200, description = "Signed in; the session cookie is set", body = SignedInDto),
              (status = 401, description = "Wrong user name or password", body = crate::error::ErrorBody),
              (status = 429, description = "Too many attempts", body = crate::error::ErrorBody)))]
pub async fn login(
    State(st): State<AppState>,
    Extension(g): Extension<Arc<Guard>>,
    req_ext: axum::http::Extensions,
    Json(i): Json<SignInInput>,
) -> Result<Response, AppError> {
    let ip = client_addr(&req_ext);
    let user = i.username.trim().to_lowercase();
    let now = st.now();
    // Per address (many names tried from one place), then per name at this address: wrong
    // passwords from one place slow that place down, never the user signing in from another.
    let failures_key = format!("{user}|{ip}");
    if let Err(wait) = g.limits.sign_in_per_ip.check(&format!("ip:{ip}"), now) {
        return Ok(crate::auth::too_many(wait, "sign-in attempts"));
    }
    if let Err(wait) = g.limits.sign_in_failures.check(&failures_key, now) {
        return Ok(crate::auth::too_many(
            wait,
            "wrong passwords for this user from this address",
        ));
    }
    let origin = ip.clone();
    let who = user.clone();
    let result = blocking(st, move |app| {
        let r = app.sign_in(&i.username, &i.password);
        let outcome = match &r {
            Ok(_) => "auth.sign_in",
            Err(SignInError::Wrong) => "auth.sign_in_failed",
            Err(SignInError::Disabled) => "auth.sign_in_disabled",
            Err(SignInError::Store(_)) => "auth.sign_in_error",
        };
        let actor = kesher_store::Actor::new(format!("user:{who}"), app.now()).from(origin);
        app.append_audit(&actor, outcome, "user", &who, None)?;
        Ok(r)
    })
    .await?;
    match result {
        Ok(s) => {
            g.limits.sign_in_failures.reset(&failures_key);
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={}",
                s.session.0,
                kesher_app::auth::SESSION_HOURS * 3600
            );
            let body = SignedInDto {
                who: WhoDto::from(&s.principal),
                csrf_token: s.csrf.0,
                expires_at: s.expires_at.to_string(),
            };
            let mut r = axum::Json(body).into_response();
            if let Ok(v) = cookie.parse() {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(r)
        }
        Err(e @ SignInError::Wrong) => {
            g.limits.sign_in_failures.failed(&failures_key, g.app.now());
            Err(AppError::new(
                StatusCode::UNAUTHORIZED,
                e.code(),
                None,
                e.params(),
                e.to_string(),
            ))
        }
        Err(e @ SignInError::Disabled) => Err(AppError::new(
            StatusCode::FORBIDDEN,
            e.code(),
            None,
            e.params(),
            e.to_string(),
        )),
        Err(SignInError::Store(e)) => Err(e.into()),
    }
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out; the session cookie is cleared")))]
pub async fn logout(State(st): State<AppState>, _c: Caller, headers: HeaderMap) -> Result<Response, AppError> {
    let secret = crate::auth::cookie(&headers, SESSION_COOKIE).map(str::to_owned);
    blocking(st, move |app| {
        if let Some(s) = secret {
            app.sign_out(&s)?;
        }
        Ok(())
    })
    .await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0").parse() {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, description = "Who the caller is", body = WhoDto)))]
pub async fn me(c: Caller) -> Json<WhoDto> {
    Json(WhoDto::from(&c.principal))
}

#[derive(Serialize, ToSchema)]
pub struct UserDto {
    pub id: String,
    pub username: String,
    pub display_name: Option<String>,
    pub role: String,
    pub branch_id: Option<String>,
    pub disabled: bool,
    pub created_at: String,
}

impl From<&User> for UserDto {
    fn from(u: &User) -> Self {
        UserDto {
            id: u.id.to_string(),
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.to_string(),
            branch_id: u.branch.map(|b| b.to_string()),
            disabled: u.disabled,
            created_at: u.created_at.to_string(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub username: String,
    pub display_name: Option<String>,
    /// admin, marketing_manager, branch_manager, clerk, analyst.
    pub role: String,
    /// The branch's id in the business's files (required for branch managers and clerks).
    pub branch: Option<String>,
    /// At least 10 characters.
    pub password: String,
}

fn role(s: &str, field: &str) -> Result<Role, AppError> {
    let r = Role::parse(s).map_err(|e| AppError::invalid(field, e).coded("role.unknown").param("value", s))?;
    if r == Role::PosDevice {
        return Err(
            AppError::invalid(field, "point-of-sale devices get API tokens, not user accounts")
                .coded("user.role.pos_device"),
        );
    }
    Ok(r)
}

#[utoipa::path(get, path = "/api/users", tag = "accounts",
    responses((status = 200, description = "Every user", body = Vec<UserDto>)))]
pub async fn list_users(State(st): State<AppState>) -> Result<Json<Vec<UserDto>>, AppError> {
    blocking(st, |app| {
        Ok(Json(app.list_users()?.iter().map(UserDto::from).collect()))
    })
    .await
}

#[utoipa::path(post, path = "/api/users", tag = "accounts", request_body = UserInput,
    responses((status = 201, description = "Created", body = UserDto), (status = 409, description = "The user name is taken", body = crate::error::ErrorBody)))]
pub async fn create_user(
    State(st): State<AppState>,
    c: Caller,
    Json(i): Json<UserInput>,
) -> Result<(StatusCode, Json<UserDto>), AppError> {
    let role = role(&i.role, "role")?;
    blocking(st, move |app| {
        let u = app.add_user(
            NewUser {
                username: i.username,
                display_name: i.display_name,
                role,
                branch: i.branch,
                password: i.password,
            },
            &c.actor(app),
        )?;
        Ok((StatusCode::CREATED, Json(UserDto::from(&u))))
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub display_name: Option<String>,
    pub role: Option<String>,
    /// A branch id, or null to clear it.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<String>)]
    pub branch: Option<Option<String>>,
    pub password: Option<String>,
    pub disabled: Option<bool>,
}

fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[utoipa::path(patch, path = "/api/users/{id}", tag = "accounts", params(("id" = String, Path, description = "User id or user name")),
    request_body = UserPatch,
    responses((status = 200, description = "Changed", body = UserDto), (status = 404, description = "No such user", body = crate::error::ErrorBody)))]
pub async fn update_user(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
    Json(p): Json<UserPatch>,
) -> Result<Json<UserDto>, AppError> {
    let role = p.role.as_deref().map(|r| role(r, "role")).transpose()?;
    blocking(st, move |app| {
        let u = app.change_user(
            &id,
            UserChange {
                display_name: p.display_name,
                role,
                branch: p.branch,
                password: p.password,
                disabled: p.disabled,
            },
            &c.actor(app),
        )?;
        Ok(Json(UserDto::from(&u)))
    })
    .await
}

#[derive(Serialize, ToSchema)]
pub struct TokenDto {
    pub id: String,
    pub name: String,
    pub role: String,
    pub branch_id: Option<String>,
    pub scopes: Vec<String>,
    /// The secret's first characters.
    pub hint: String,
    pub created_at: String,
    pub created_by: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&ApiToken> for TokenDto {
    fn from(t: &ApiToken) -> Self {
        TokenDto {
            id: t.id.to_string(),
            name: t.name.clone(),
            role: t.role.to_string(),
            branch_id: t.branch.map(|b| b.to_string()),
            scopes: t.scopes.iter().map(|a| a.to_string()).collect(),
            hint: t.hint.clone(),
            created_at: t.created_at.to_string(),
            created_by: t.created_by.clone(),
            expires_at: t.expires_at.map(|x| x.to_string()),
            revoked_at: t.revoked_at.map(|x| x.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NewTokenDto {
    pub token: TokenDto,
    /// Shown once: store it now, only its digest is kept.
    pub secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    pub name: String,
    /// Any role, pos_device for tills.
    pub role: String,
    pub branch: Option<String>,
    /// Actions to limit the token to, e.g. ["customers.lookup", "transactions.record"].
    #[serde(default)]
    pub scopes: Vec<String>,
    pub expires_in_days: Option<u32>,
}

#[utoipa::path(get, path = "/api/tokens", tag = "accounts",
    responses((status = 200, description = "Every API token (never the secrets)", body = Vec<TokenDto>)))]
pub async fn list_tokens(State(st): State<AppState>) -> Result<Json<Vec<TokenDto>>, AppError> {
    blocking(st, |app| {
        Ok(Json(app.list_tokens()?.iter().map(TokenDto::from).collect()))
    })
    .await
}

#[utoipa::path(post, path = "/api/tokens", tag = "accounts", request_body = TokenInput,
    responses((status = 201, description = "Created; the secret is in the body, once", body = NewTokenDto)))]
pub async fn create_token(
    State(st): State<AppState>,
    c: Caller,
    Json(i): Json<TokenInput>,
) -> Result<(StatusCode, Json<NewTokenDto>), AppError> {
    let role = Role::parse(&i.role).map_err(|e| {
        AppError::invalid("role", e)
            .coded("role.unknown")
            .param("value", i.role.as_str())
    })?;
    let scopes = i
        .scopes
        .iter()
        .map(|s| {
            Action::parse(s).map_err(|e| {
                AppError::invalid("scopes", e)
                    .coded("token.scope.unknown")
                    .param("value", s.as_str())
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    blocking(st, move |app| {
        let (t, secret) = app.create_token(
            NewToken {
                name: i.name,
                role,
                branch: i.branch,
                scopes,
                expires_in_days: i.expires_in_days,
            },
            &c.actor(app),
        )?;
        Ok((
            StatusCode::CREATED,
            Json(NewTokenDto {
                token: TokenDto::from(&t),
                secret: secret.0,
            }),
        ))
    })
    .await
}

#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "accounts", params(("id" = String, Path, description = "Token id or unique name")),
    responses((status = 200, description = "Revoked", body = TokenDto)))]
pub async fn revoke_token(
    State(st): State<AppState>,
    c: Caller,
    Path(id): Path<String>,
) -> Result<Json<TokenDto>, AppError> {
    blocking(st, move |app| {
        Ok(Json(TokenDto::from(&app.revoke_token(&id, &c.actor(app))?)))
    })
    .await
}
