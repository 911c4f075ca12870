//! Accounts (users, API tokens, sign-in sessions) and privacy (erasure, retention, settings):
//! the parts of the storage contract that access control and data protection stand on.

use crate::{AuditEntry, Result, StoreError};
use jiff::Timestamp;
use kesher_auth::{Action, Role};
use kesher_core::{BranchId, CustomerId, TokenId, UserId};

/// A person who signs in.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    /// Unique, lower-case.
    pub username: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub branch: Option<BranchId>,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Timestamp,
}

/// An API token for an integration or a point-of-sale device; only its digest is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    pub branch: Option<BranchId>,
    /// Empty: everything the role may do.
    pub scopes: Vec<Action>,
    /// SHA-256 of the secret, hex.
    pub digest: String,
    /// The secret's first characters, to recognise it in a list.
    pub hint: String,
    pub created_at: Timestamp,
    pub created_by: String,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A signed-in browser session; the cookie's secret and the CSRF token are stored as digests.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub digest: String,
    pub user_id: UserId,
    pub csrf_digest: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErasureReport {
    pub interactions_cleared: u64,
    pub aliases_removed: u64,
    pub consent_events_removed: u64,
    pub audit_entries_redacted: u64,
}

/// The rows kept about one customer besides the record, its sales, contacts, consents, scores
/// and points: what the customer's export adds from the store's other customer-keyed tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerRecords {
    /// Identifiers of customers merged into this one that still find it: (kind, value).
    pub aliases: Vec<(String, String)>,
    /// Customers merged into this one, and when.
    pub merged_in: Vec<(CustomerId, Timestamp)>,
    /// The customer's lifecycle stage per month: (month, stage), oldest first.
    pub stages: Vec<(String, String)>,
    /// The customer's loyalty membership, if they ever joined.
    pub membership: Option<kesher_loyalty::Member>,
    /// The membership's history, in the order it was written.
    pub member_events: Vec<kesher_loyalty::MemberEvent>,
    /// The saved segments the customer is in now, by segment name.
    pub segments: Vec<crate::SegmentMember>,
    /// The customer's entries into and exits from saved segments, in the order written.
    pub segment_events: Vec<crate::SegmentEvent>,
}

/// What an audit entry's before/after become when the customer it is about is erased.
pub const ERASED_MARKER: &str = r#"{"erased":true}"#;

pub trait Accounts {
    fn get_user(&self, id: UserId) -> Result<Option<User>>;
    fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    fn list_users(&self) -> Result<Vec<User>>;
    fn count_users(&self) -> Result<u64>;

    fn token_by_digest(&self, digest: &str) -> Result<Option<ApiToken>>;
    fn list_tokens(&self) -> Result<Vec<ApiToken>>;

    fn insert_session(&self, s: &Session) -> Result<()>;
    /// The session with this digest if it has not expired at `now`.
    fn session_by_digest(&self, digest: &str, now: Timestamp) -> Result<Option<Session>>;
    fn delete_session(&self, digest: &str) -> Result<()>;
    /// End every session of a user (disabled, password changed); returns how many.
    fn delete_user_sessions(&self, user: UserId) -> Result<u64>;
}

pub trait Privacy {
    fn erased_at(&self, id: CustomerId) -> Result<Option<Timestamp>>;
    /// The aliases, merges, monthly stages, loyalty membership and segment history kept about a
    /// customer (for the export).
    fn customer_records(&self, id: CustomerId) -> Result<CustomerRecords>;
    /// Customers not yet erased with no purchase, contact or registration since `before`.
    fn inactive_customers(&self, before: Timestamp) -> Result<Vec<CustomerId>>;
    /// Audit entries about one entity (its id as entity_id, or named in a merge), oldest first.
    fn audit_for_entity(&self, entity_id: &str) -> Result<Vec<AuditEntry>>;
    fn get_setting(&self, key: &str) -> Result<Option<String>>;
    /// Every setting whose key starts with `prefix`, by key (saved segments live under
    /// `segment.`).
    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>>;
}

// What both backends write and read the same way.

/// The audit record of a recorded contact: what, not the free text (erasure clears texts, the
/// audit log keeps this).
pub fn interaction_audit_json(i: &kesher_core::Interaction) -> serde_json::Value {
    serde_json::json!({
        "interaction_id": i.id.to_string(),
        "channel": i.channel.as_str(),
        "kind": i.kind.as_str(),
        "occurred_at": i.occurred_at.to_string(),
        "satisfaction": i.satisfaction,
        "status": i.status.map(|s| s.as_str()),
    })
}

/// A stored role name back to a `Role`.
pub fn stored_role(s: &str) -> Result<Role> {
    Role::parse(s).map_err(|e| StoreError::Backend(format!("stored role: {e}")))
}

/// A token's scopes as stored: action names joined by commas ("" for every action of the role).
pub fn scopes_text(scopes: &[Action]) -> String {
    scopes.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",")
}

/// Stored scopes back to actions.
pub fn stored_scopes(s: &str) -> Result<Vec<Action>> {
    s.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| Action::parse(s).map_err(|e| StoreError::Backend(format!("stored scope: {e}"))))
        .collect()
}

/// A user as written in the audit log: everything but the password hash.
pub fn user_audit_json(u: &User) -> serde_json::Value {
    serde_json::json!({
        "username": u.username, "display_name": u.display_name, "role": u.role.as_str(),
        "branch": u.branch.map(|b| b.to_string()), "disabled": u.disabled,
    })
}

/// A token as written in the audit log: never its digest.
pub fn token_audit_json(t: &ApiToken) -> serde_json::Value {
    serde_json::json!({
        "name": t.name, "role": t.role.as_str(), "branch": t.branch.map(|b| b.to_string()),
        "scopes": t.scopes.iter().map(|a| a.as_str()).collect::<Vec<_>>(), "hint": t.hint,
        "expires_at": t.expires_at.map(|x| x.to_string()), "revoked_at": t.revoked_at.map(|x| x.to_string()),
    })
}

/// An erasure as written in the audit log: counts only.
pub fn erasure_audit_json(r: &ErasureReport) -> serde_json::Value {
    serde_json::json!({
        "interactions_cleared": r.interactions_cleared, "aliases_removed": r.aliases_removed,
        "consent_events_removed": r.consent_events_removed, "audit_entries_redacted": r.audit_entries_redacted,
    })
}

/// A unique-key conflict on insert or update of a user: the user name is taken.
pub fn username_taken(e: StoreError, name: &str) -> StoreError {
    match e {
        StoreError::Conflict { .. } => StoreError::conflict_coded(
            "user.username.taken",
            "username",
            kesher_core::params!(username = name),
            format!("the user name {name:?} is taken"),
        ),
        e => e,
    }
}
