//! The audited writes of accounts and settings, written once over the store's unit of work:
//! users, API tokens and business settings, each with its audit entry in the same unit.

use crate::App;
use kesher_core::TokenId;
use kesher_store::accounts::{token_audit_json, user_audit_json};
use kesher_store::{Actor, ApiToken, Lock, Result, StoreError, User};
use serde_json::json;

impl App {
    /// Store a new user; `Conflict` on `username` when taken. Audited (never the hash).
    pub fn insert_user(&self, u: &User, actor: &Actor) -> Result<()> {
        let mut tx = self.store.begin(Lock::Writes)?;
        tx.insert_user_row(u)?;
        tx.append_audit(
            actor,
            "user.create",
            "user",
            &u.id.to_string(),
            None,
            Some(&user_audit_json(u)),
        )?;
        tx.commit()
    }

    /// Replace a user's record; audited with before and after (a changed password is said, the
    /// hash never written).
    pub fn update_user(&self, u: &User, actor: &Actor) -> Result<()> {
        let mut tx = self.store.begin(Lock::Writes)?;
        let before = tx.user(u.id)?.ok_or_else(|| StoreError::not_found("user", u.id))?;
        tx.update_user_row(u)?;
        let mut after = user_audit_json(u);
        if before.password_hash != u.password_hash {
            after["password_changed"] = true.into();
        }
        tx.append_audit(
            actor,
            "user.update",
            "user",
            &u.id.to_string(),
            Some(&user_audit_json(&before)),
            Some(&after),
        )?;
        tx.commit()
    }

    /// Store a new API token (its digest, never the secret); audited.
    pub fn insert_token(&self, t: &ApiToken, actor: &Actor) -> Result<()> {
        let mut tx = self.store.begin(Lock::Writes)?;
        tx.insert_token_row(t)?;
        tx.append_audit(
            actor,
            "token.create",
            "token",
            &t.id.to_string(),
            None,
            Some(&token_audit_json(t)),
        )?;
        tx.commit()
    }

    /// Revoke a token by id (idempotent: revoking twice keeps the first time); audited.
    pub fn revoke_token_id(&self, id: TokenId, actor: &Actor) -> Result<ApiToken> {
        let mut tx = self.store.begin(Lock::Writes)?;
        let before = tx.token(id)?.ok_or_else(|| StoreError::not_found("token", id))?;
        if before.revoked_at.is_some() {
            return Ok(before);
        }
        let mut after = before.clone();
        after.revoked_at = Some(actor.at);
        tx.set_token_revoked(id, actor.at)?;
        tx.append_audit(
            actor,
            "token.revoke",
            "token",
            &id.to_string(),
            Some(&token_audit_json(&before)),
            Some(&token_audit_json(&after)),
        )?;
        tx.commit()?;
        Ok(after)
    }

    /// Set a business setting; audited with the value before and after.
    pub fn put_setting(&self, key: &str, value: &str, actor: &Actor) -> Result<()> {
        let mut tx = self.store.begin(Lock::Writes)?;
        let before = tx.setting(key)?;
        tx.put_setting_row(key, value)?;
        tx.append_audit(
            actor,
            "setting.update",
            "setting",
            key,
            before.map(|b| json!({ "value": b })).as_ref(),
            Some(&json!({ "value": value })),
        )?;
        tx.commit()
    }

    /// Delete a business setting; `false` when there was none. Audited.
    pub fn delete_setting(&self, key: &str, actor: &Actor) -> Result<bool> {
        let mut tx = self.store.begin(Lock::Writes)?;
        let Some(before) = tx.setting(key)? else {
            return Ok(false);
        };
        tx.delete_setting_row(key)?;
        tx.append_audit(
            actor,
            "setting.delete",
            "setting",
            key,
            Some(&json!({ "value": before })),
            None,
        )?;
        tx.commit()?;
        Ok(true)
    }
}
