//! Accounts and sign-in: the first admin, users, API tokens, sessions, and turning a presented
//! credential (bearer token or session cookie) into a `Principal`. The rules of who may do what
//! are in `kesher_auth`; this module only stores and checks credentials.

use crate::App;
use jiff::{SignedDuration, Timestamp};
use kesher_auth::{Action, Principal, PrincipalKind, Role, SessionSecret, TokenSecret};
use kesher_core::{BranchId, Params, TokenId, UserId};
use kesher_store::{Actor, ApiToken, Result, Session, StoreError, User};
use std::sync::OnceLock;

/// How long a browser session lasts.
pub const SESSION_HOURS: i64 = 12;

/// 32 random bytes from the operating system.
pub fn random32() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
    Ok(b)
}

/// A new random password: 20 characters from an alphabet without look-alikes (~115 bits).
pub fn generate_password() -> Result<String> {
    const A: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let r = random32()?;
    Ok(r[..20].iter().map(|b| A[*b as usize % A.len()] as char).collect())
}

fn salt() -> Result<[u8; 16]> {
    let r = random32()?;
    let mut s = [0u8; 16];
    s.copy_from_slice(&r[..16]);
    Ok(s)
}

fn invalid_coded(code: &'static str, field: &'static str, params: Params, reason: impl Into<String>) -> StoreError {
    StoreError::invalid_coded(code, field, params, reason)
}

fn hash(password: &str) -> Result<String> {
    kesher_auth::hash_password(password, salt()?)
        .map_err(|e| invalid_coded(e.code(), "password", e.params(), e.to_string()))
}

/// A new user's details.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    /// External id of the branch (required for branch managers and clerks).
    pub branch: Option<String>,
    pub password: String,
}

/// A change to a user: every field optional.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// Some(None) clears the branch.
    pub branch: Option<Option<String>>,
    pub password: Option<String>,
    pub disabled: Option<bool>,
}

/// A new API token's details.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub branch: Option<String>,
    pub scopes: Vec<Action>,
    pub expires_in_days: Option<u32>,
}

/// A successful sign-in: the cookie secret and the CSRF token, shown once.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    pub session: SessionSecret,
    pub csrf: SessionSecret,
    pub expires_at: Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown user or wrong password: one message for both, so names cannot be probed.
    #[error("wrong user name or password")]
    Wrong,
    #[error("this account is disabled")]
    Disabled,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SignInError {
    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            SignInError::Wrong => "auth.wrong_credentials",
            SignInError::Disabled => "auth.disabled",
            SignInError::Store(e) => e.code(),
        }
    }
    /// The message's named arguments.
    pub fn params(&self) -> Params {
        match self {
            SignInError::Store(e) => e.params(),
            _ => Params::new(),
        }
    }
}

fn normalize_username(s: &str) -> Result<String> {
    let u = s.trim().to_lowercase();
    if u.is_empty() || u.len() > 64 {
        return Err(invalid_coded(
            "user.username.length",
            "username",
            Params::new(),
            "must be 1 to 64 characters",
        ));
    }
    if !u
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
    {
        return Err(invalid_coded(
            "user.username.characters",
            "username",
            Params::new(),
            "may hold letters, digits and . _ - @ only",
        ));
    }
    Ok(u)
}

impl App {
    fn branch_id(&self, ext: Option<&str>, role: Role) -> Result<Option<BranchId>> {
        let id = match ext.map(str::trim).filter(|s| !s.is_empty()) {
            Some(e) => Some(
                self.store
                    .branch_by_external(e)?
                    .ok_or_else(|| {
                        invalid_coded(
                            "branch.unknown",
                            "branch",
                            kesher_core::params!(branch = e),
                            format!("unknown branch {e:?}"),
                        )
                    })?
                    .id,
            ),
            None => None,
        };
        if role.needs_branch() && id.is_none() {
            return Err(invalid_coded(
                "user.branch.missing",
                "branch",
                kesher_core::params!(role = role.as_str()),
                format!("a {role} works at one branch: give its id"),
            ));
        }
        Ok(id)
    }

    /// Create the first admin when there are no users yet. The password comes from
    /// `password` (e.g. KESHER_ADMIN_PASSWORD) or is generated; returns (user name, password
    /// when generated) if a user was created.
    pub fn ensure_first_admin(&self, password: Option<&str>) -> Result<Option<(String, Option<String>)>> {
        if self.store.count_users()? > 0 {
            return Ok(None);
        }
        let (pw, generated) = match password.filter(|p| !p.is_empty()) {
            Some(p) => (p.to_owned(), false),
            None => (generate_password()?, true),
        };
        let actor = Actor::new("system", self.now()).from("first start");
        self.add_user(
            NewUser {
                username: "admin".into(),
                display_name: Some("Administrator".into()),
                role: Role::Admin,
                branch: None,
                password: pw.clone(),
            },
            &actor,
        )?;
        Ok(Some(("admin".into(), generated.then_some(pw))))
    }

    pub fn add_user(&self, n: NewUser, actor: &Actor) -> Result<User> {
        let username = normalize_username(&n.username)?;
        let branch = self.branch_id(n.branch.as_deref(), n.role)?;
        let u = User {
            id: UserId(uuid::Uuid::now_v7()),
            username,
            display_name: n.display_name.filter(|d| !d.trim().is_empty()),
            role: n.role,
            branch,
            password_hash: hash(&n.password)?,
            disabled: false,
            created_at: self.now(),
        };
        self.insert_user(&u, actor)?;
        Ok(u)
    }

    /// Find a user by id or user name.
    pub fn find_user(&self, key: &str) -> Result<User> {
        let by_id = key
            .parse::<UserId>()
            .ok()
            .map(|id| self.store.get_user(id))
            .transpose()?
            .flatten();
        match by_id {
            Some(u) => Ok(u),
            None => self
                .store
                .user_by_name(&key.trim().to_lowercase())?
                .ok_or_else(|| StoreError::not_found("user", key)),
        }
    }

    /// Change a user; disabling or a new password ends their sessions.
    pub fn change_user(&self, key: &str, ch: UserChange, actor: &Actor) -> Result<User> {
        let mut u = self.find_user(key)?;
        if let Some(d) = ch.display_name {
            u.display_name = Some(d).filter(|d| !d.trim().is_empty());
        }
        if let Some(r) = ch.role {
            u.role = r;
        }
        let branch_ext = match ch.branch {
            Some(b) => b,
            None => match u.branch {
                Some(id) => self.store.get_branch(id)?.map(|b| b.external_id),
                None => None,
            },
        };
        u.branch = self.branch_id(branch_ext.as_deref(), u.role)?;
        let mut end_sessions = false;
        if let Some(p) = ch.password {
            u.password_hash = hash(&p)?;
            end_sessions = true;
        }
        if let Some(d) = ch.disabled {
            end_sessions |= d && !u.disabled;
            u.disabled = d;
        }
        if u.role != Role::Admin || u.disabled {
            // Never leave the business without an admin who can sign in.
            let admins = self
                .store
                .list_users()?
                .into_iter()
                .filter(|o| o.id != u.id && o.role == Role::Admin && !o.disabled)
                .count();
            let was_admin = self
                .store
                .get_user(u.id)?
                .is_some_and(|o| o.role == Role::Admin && !o.disabled);
            if was_admin && admins == 0 {
                return Err(invalid_coded(
                    "user.last_admin",
                    "role",
                    Params::new(),
                    "this is the last active admin",
                ));
            }
        }
        self.update_user(&u, actor)?;
        if end_sessions {
            self.store.delete_user_sessions(u.id)?;
        }
        Ok(u)
    }

    /// Create an API token; the secret is returned once and only its digest is stored.
    pub fn create_token(&self, n: NewToken, actor: &Actor) -> Result<(ApiToken, TokenSecret)> {
        let name = n.name.trim().to_owned();
        if name.is_empty() || name.len() > 100 {
            return Err(invalid_coded(
                "token.name.length",
                "name",
                Params::new(),
                "must be 1 to 100 characters",
            ));
        }
        let branch = self.branch_id(n.branch.as_deref(), n.role)?;
        for a in &n.scopes {
            if kesher_auth::grant(n.role, *a) == kesher_auth::Grant::Deny {
                return Err(invalid_coded(
                    "token.scope.not_granted",
                    "scopes",
                    kesher_core::params!(role = n.role.as_str(), scope = a.as_str()),
                    format!("the role {} may not {a}", n.role),
                ));
            }
        }
        let secret = TokenSecret::from_random(random32()?);
        let now = self.now();
        let t = ApiToken {
            id: TokenId(uuid::Uuid::now_v7()),
            name,
            role: n.role,
            branch,
            scopes: n.scopes,
            digest: secret.digest(),
            hint: secret.hint(),
            created_at: now,
            created_by: actor.who.clone(),
            expires_at: n
                .expires_in_days
                .map(|d| now + SignedDuration::from_hours(24 * i64::from(d))),
            revoked_at: None,
        };
        self.insert_token(&t, actor)?;
        Ok((t, secret))
    }

    /// Revoke a token by id or by name (when the name is unique).
    pub fn revoke_token(&self, key: &str, actor: &Actor) -> Result<ApiToken> {
        let id = match key.parse::<TokenId>() {
            Ok(id) => id,
            Err(_) => {
                let all: Vec<ApiToken> = self
                    .store
                    .list_tokens()?
                    .into_iter()
                    .filter(|t| t.name == key && t.revoked_at.is_none())
                    .collect();
                match all.as_slice() {
                    [t] => t.id,
                    [] => return Err(StoreError::not_found("token", key)),
                    _ => {
                        return Err(invalid_coded(
                            "token.name.ambiguous",
                            "token",
                            kesher_core::params!(count = all.len(), name = key),
                            format!("{} live tokens are named {key:?}: give the id", all.len()),
                        ));
                    }
                }
            }
        };
        self.revoke_token_id(id, actor)
    }

    /// The principal a bearer token stands for, if it is known, live and unexpired.
    pub fn principal_for_token(&self, presented: &str) -> Result<Option<Principal>> {
        if !TokenSecret::looks_valid(presented) {
            return Ok(None);
        }
        let Some(t) = self.store.token_by_digest(&kesher_auth::hash_secret(presented))? else {
            return Ok(None);
        };
        let now = self.now();
        if t.revoked_at.is_some() || t.expires_at.is_some_and(|e| e <= now) {
            return Ok(None);
        }
        Ok(Some(Principal {
            kind: PrincipalKind::Token(t.id),
            name: format!("token:{}", t.name),
            role: t.role,
            branch: t.branch,
            scopes: t.scopes,
        }))
    }

    fn principal_for_user(u: &User) -> Principal {
        Principal {
            kind: PrincipalKind::User(u.id),
            name: format!("user:{}", u.username),
            role: u.role,
            branch: u.branch,
            scopes: Vec::new(),
        }
    }

    /// Check a user name and password and open a session.
    pub fn sign_in(&self, username: &str, password: &str) -> std::result::Result<SignedIn, SignInError> {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let user = self.store.user_by_name(&username.trim().to_lowercase())?;
        let Some(u) = user else {
            // Spend the same time as a real check, so that names cannot be probed by timing.
            let dummy =
                DUMMY.get_or_init(|| kesher_auth::hash_password("not a real password", [0; 16]).unwrap_or_default());
            let _ = kesher_auth::verify_password(password, dummy);
            return Err(SignInError::Wrong);
        };
        match kesher_auth::verify_password(password, &u.password_hash) {
            Ok(true) => {}
            Ok(false) => return Err(SignInError::Wrong),
            Err(e) => return Err(SignInError::Store(StoreError::Backend(e.to_string()))),
        }
        if u.disabled {
            return Err(SignInError::Disabled);
        }
        let session = SessionSecret::from_random(random32()?);
        let csrf = session.csrf_token();
        let now = self.now();
        let expires_at = now + SignedDuration::from_hours(SESSION_HOURS);
        self.store.insert_session(&Session {
            digest: session.digest(),
            user_id: u.id,
            csrf_digest: csrf.digest(),
            created_at: now,
            expires_at,
        })?;
        Ok(SignedIn {
            principal: Self::principal_for_user(&u),
            session,
            csrf,
            expires_at,
        })
    }

    /// The principal behind a session cookie, with the session (for its CSRF digest).
    pub fn principal_for_session(&self, presented: &str) -> Result<Option<(Principal, Session)>> {
        if !SessionSecret::looks_valid(presented) {
            return Ok(None);
        }
        let Some(s) = self
            .store
            .session_by_digest(&kesher_auth::hash_secret(presented), self.now())?
        else {
            return Ok(None);
        };
        match self.store.get_user(s.user_id)? {
            Some(u) if !u.disabled => Ok(Some((Self::principal_for_user(&u), s))),
            _ => Ok(None),
        }
    }

    pub fn sign_out(&self, presented: &str) -> Result<()> {
        if SessionSecret::looks_valid(presented) {
            self.store.delete_session(&kesher_auth::hash_secret(presented))?;
        }
        Ok(())
    }
}
