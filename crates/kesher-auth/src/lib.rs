//! Who may do what in kesher: roles, the actions they act on, the one permission matrix that
//! decides (role × action → grant), the principal a request runs as, password and token
//! hashing, and the rate limiter. Pure: randomness and time are passed in.
//!
//! The matrix is documented in docs/permissions.md; `matrix_markdown()` prints it from the code
//! and a test keeps the document equal to it.

mod limit;
mod matrix;
mod secret;

pub use limit::{Backoff, Rate, RateLimiter};
pub use matrix::{Action, Grant, Role, grant, matrix_markdown};
pub use secret::{
    PasswordError, SessionSecret, TokenSecret, hash_password, hash_secret, validate_password, verify_password,
};

use kesher_core::{BranchId, TokenId, UserId};
use serde::Serialize;

/// Who a request runs as: a signed-in user (session), or an API token (integration or
/// point-of-sale device), with the role, home branch and scopes that bound what it may do.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Principal {
    pub kind: PrincipalKind,
    /// "user:dana" or "token:pos-ta-1": the name written in the audit log.
    pub name: String,
    pub role: Role,
    /// The branch a branch manager, clerk or device works at.
    pub branch: Option<BranchId>,
    /// For tokens: the actions it was limited to (empty: everything its role may do).
    pub scopes: Vec<Action>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum PrincipalKind {
    User(UserId),
    Token(TokenId),
}

/// How much of a resource a permitted principal sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Full,
    /// Personal identifiers and free text removed (analysts).
    Anonymised,
}

/// Why a principal may not act.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("the role {role} may not {action}")]
    Role { role: Role, action: Action },
    #[error("this token's scopes do not include {action}")]
    Scope { action: Action },
    #[error("{action} is limited to your own branch")]
    OtherBranch { action: Action },
}

impl Denied {
    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            Denied::Role { .. } => "auth.forbidden.role",
            Denied::Scope { .. } => "auth.forbidden.scope",
            Denied::OtherBranch { .. } => "auth.out_of_branch",
        }
    }
    /// The message's named arguments.
    pub fn params(&self) -> kesher_core::Params {
        match self {
            Denied::Role { role, action } => kesher_core::params!(role = role.as_str(), action = action.as_str()),
            Denied::Scope { action } | Denied::OtherBranch { action } => kesher_core::params!(action = action.as_str()),
        }
    }
}

impl Principal {
    /// What the matrix and the token's scopes grant for `action`, before any branch is known.
    pub fn grant(&self, action: Action) -> Grant {
        if !self.scopes.is_empty() && !self.scopes.contains(&action) {
            return Grant::Deny;
        }
        grant(self.role, action)
    }

    /// The role-level check (done for every route before its handler runs).
    pub fn may(&self, action: Action) -> Result<Grant, Denied> {
        if !self.scopes.is_empty() && !self.scopes.contains(&action) {
            return Err(Denied::Scope { action });
        }
        match grant(self.role, action) {
            Grant::Deny => Err(Denied::Role {
                role: self.role,
                action,
            }),
            g => Ok(g),
        }
    }

    /// The full check for acting on something that belongs to `branch` (None: to no branch, or
    /// to every branch, as a list across the business).
    pub fn check(&self, action: Action, branch: Option<BranchId>) -> Result<Access, Denied> {
        match self.may(action)? {
            Grant::Allow => Ok(Access::Full),
            Grant::Anonymised => Ok(Access::Anonymised),
            Grant::OwnBranch => match (self.branch, branch) {
                (Some(mine), Some(theirs)) if mine == theirs => Ok(Access::Full),
                _ => Err(Denied::OtherBranch { action }),
            },
            Grant::Deny => Err(Denied::Role {
                role: self.role,
                action,
            }),
        }
    }

    /// The branch a list must be narrowed to, if the grant is own-branch only.
    pub fn branch_filter(&self, action: Action) -> Result<Option<BranchId>, Denied> {
        match self.may(action)? {
            Grant::OwnBranch => self.branch.map(Some).ok_or(Denied::OtherBranch { action }),
            _ => Ok(None),
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self.kind {
            PrincipalKind::User(u) => Some(u),
            PrincipalKind::Token(_) => None,
        }
    }
}

#[cfg(test)]
mod tests;
