//! Users, API tokens, sessions, erasure, retention and settings on PostgreSQL.

use crate::convert::*;
use crate::{PgStore, audit};
use jiff::Timestamp;
use kesher_core::{BranchId, CustomerId, TokenId, UserId};
use kesher_store::{
    Accounts, Actor, ApiToken, AuditEntry, CustomerRecords, ERASED_MARKER, ErasureReport, Privacy, Result, Session,
    StoreError, User,
    accounts::{
        erasure_audit_json, scopes_text, stored_role, stored_scopes, token_audit_json, user_audit_json, username_taken,
    },
};
use postgres::{GenericClient, Row};
use uuid::Uuid;

pub(crate) fn read_audit<C: GenericClient>(c: &mut C, tail: &str, p: &Params<'_>) -> Result<Vec<AuditEntry>> {
    c.query(
        &format!("SELECT seq, at, actor, action, entity, entity_id, before, after, origin FROM audit_log {tail}"),
        p,
    )
    .be()?
    .iter()
    .map(|r| {
        Ok(AuditEntry {
            seq: col(r, 0)?,
            at: col(r, 1)?,
            actor: col(r, 2)?,
            action: col(r, 3)?,
            entity: col(r, 4)?,
            entity_id: col(r, 5)?,
            before: col(r, 6)?,
            after: col(r, 7)?,
            origin: col(r, 8)?,
        })
    })
    .collect()
}

const USER_SELECT: &str =
    "SELECT id, username, display_name, role, branch_id, password_hash, disabled, created_at FROM users";

fn user_row(r: &Row) -> Result<User> {
    Ok(User {
        id: UserId(col(r, 0)?),
        username: col(r, 1)?,
        display_name: col(r, 2)?,
        role: stored_role(col(r, 3)?)?,
        branch: col::<Option<Uuid>>(r, 4)?.map(BranchId),
        password_hash: col(r, 5)?,
        disabled: col(r, 6)?,
        created_at: col(r, 7)?,
    })
}

fn users<C: GenericClient>(c: &mut C, tail: &str, p: &Params<'_>) -> Result<Vec<User>> {
    c.query(&format!("{USER_SELECT} {tail}"), p)
        .be()?
        .iter()
        .map(user_row)
        .collect()
}

const TOKEN_SELECT: &str = "SELECT id, name, role, branch_id, scopes, digest, hint, created_at, created_by, expires_at, revoked_at FROM api_tokens";

fn token_row(r: &Row) -> Result<ApiToken> {
    let scopes: &str = col(r, 4)?;
    Ok(ApiToken {
        id: TokenId(col(r, 0)?),
        name: col(r, 1)?,
        role: stored_role(col(r, 2)?)?,
        branch: col::<Option<Uuid>>(r, 3)?.map(BranchId),
        scopes: stored_scopes(scopes)?,
        digest: col(r, 5)?,
        hint: col(r, 6)?,
        created_at: col(r, 7)?,
        created_by: col(r, 8)?,
        expires_at: col(r, 9)?,
        revoked_at: col(r, 10)?,
    })
}

fn tokens<C: GenericClient>(c: &mut C, tail: &str, p: &Params<'_>) -> Result<Vec<ApiToken>> {
    c.query(&format!("{TOKEN_SELECT} {tail}"), p)
        .be()?
        .iter()
        .map(token_row)
        .collect()
}

impl Accounts for PgStore {
    fn insert_user(&self, u: &User, actor: &Actor) -> Result<()> {
        self.in_tx(|tx| {
            tx.execute(
                "INSERT INTO users (id, username, display_name, role, branch_id, password_hash, disabled, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &u.id.0,
                    &u.username,
                    &u.display_name,
                    &u.role.as_str(),
                    &u.branch.map(|b| b.0),
                    &u.password_hash,
                    &u.disabled,
                    &u.created_at,
                ],
            )
            .be()
            .map_err(|e| username_taken(e, &u.username))?;
            audit(
                tx,
                actor,
                "user.create",
                "user",
                &u.id.to_string(),
                None,
                Some(&user_audit_json(u)),
            )
        })
    }

    fn get_user(&self, id: UserId) -> Result<Option<User>> {
        self.with(|c| Ok(users(c, "WHERE id = $1", &[&id.0])?.pop()))
    }

    fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        self.with(|c| Ok(users(c, "WHERE username = $1", &[&username])?.pop()))
    }

    fn list_users(&self) -> Result<Vec<User>> {
        self.with(|c| users(c, "ORDER BY username COLLATE \"C\"", &[]))
    }

    fn count_users(&self) -> Result<u64> {
        self.with(|c| count(c, "SELECT count(*) FROM users", &[]))
    }

    fn update_user(&self, u: &User, actor: &Actor) -> Result<()> {
        self.in_tx(|tx| {
            let before = users(tx, "WHERE id = $1 FOR UPDATE", &[&u.id.0])?
                .pop()
                .ok_or_else(|| StoreError::not_found("user", u.id))?;
            tx.execute(
                "UPDATE users SET username = $2, display_name = $3, role = $4, branch_id = $5, password_hash = $6,
                 disabled = $7 WHERE id = $1",
                &[
                    &u.id.0,
                    &u.username,
                    &u.display_name,
                    &u.role.as_str(),
                    &u.branch.map(|b| b.0),
                    &u.password_hash,
                    &u.disabled,
                ],
            )
            .be()
            .map_err(|e| username_taken(e, &u.username))?;
            let mut after = user_audit_json(u);
            if before.password_hash != u.password_hash {
                after["password_changed"] = true.into();
            }
            audit(
                tx,
                actor,
                "user.update",
                "user",
                &u.id.to_string(),
                Some(&user_audit_json(&before)),
                Some(&after),
            )
        })
    }

    fn insert_token(&self, t: &ApiToken, actor: &Actor) -> Result<()> {
        let scopes = scopes_text(&t.scopes);
        self.in_tx(|tx| {
            tx.execute(
                "INSERT INTO api_tokens (id, name, role, branch_id, scopes, digest, hint, created_at, created_by, expires_at, revoked_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &[
                    &t.id.0,
                    &t.name,
                    &t.role.as_str(),
                    &t.branch.map(|b| b.0),
                    &scopes,
                    &t.digest,
                    &t.hint,
                    &t.created_at,
                    &t.created_by,
                    &t.expires_at,
                    &t.revoked_at,
                ],
            )
            .be()?;
            audit(tx, actor, "token.create", "token", &t.id.to_string(), None, Some(&token_audit_json(t)))
        })
    }

    fn token_by_digest(&self, digest: &str) -> Result<Option<ApiToken>> {
        self.with(|c| Ok(tokens(c, "WHERE digest = $1", &[&digest])?.pop()))
    }

    fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        self.with(|c| tokens(c, "ORDER BY created_at, name COLLATE \"C\"", &[]))
    }

    fn revoke_token(&self, id: TokenId, actor: &Actor) -> Result<ApiToken> {
        self.in_tx(|tx| {
            let before = tokens(tx, "WHERE id = $1 FOR UPDATE", &[&id.0])?
                .pop()
                .ok_or_else(|| StoreError::not_found("token", id))?;
            if before.revoked_at.is_some() {
                return Ok(before);
            }
            let mut after = before.clone();
            after.revoked_at = Some(actor.at);
            tx.execute(
                "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1",
                &[&id.0, &actor.at],
            )
            .be()?;
            audit(
                tx,
                actor,
                "token.revoke",
                "token",
                &id.to_string(),
                Some(&token_audit_json(&before)),
                Some(&token_audit_json(&after)),
            )?;
            Ok(after)
        })
    }

    fn insert_session(&self, s: &Session) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM sessions WHERE expires_at < $1", &[&s.created_at])
                .be()?;
            c.execute(
                "INSERT INTO sessions (digest, user_id, csrf_digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                &[&s.digest, &s.user_id.0, &s.csrf_digest, &s.created_at, &s.expires_at],
            )
            .be()?;
            Ok(())
        })
    }

    fn session_by_digest(&self, digest: &str, now: Timestamp) -> Result<Option<Session>> {
        self.with(|c| {
            query_opt(
                c,
                "SELECT user_id, csrf_digest, created_at, expires_at FROM sessions WHERE digest = $1 AND expires_at > $2",
                &[&digest, &now],
            )?
            .map(|r| {
                Ok(Session {
                    digest: digest.to_owned(),
                    user_id: UserId(col(&r, 0)?),
                    csrf_digest: col(&r, 1)?,
                    created_at: col(&r, 2)?,
                    expires_at: col(&r, 3)?,
                })
            })
            .transpose()
        })
    }

    fn delete_session(&self, digest: &str) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM sessions WHERE digest = $1", &[&digest]).be()?;
            Ok(())
        })
    }

    fn delete_user_sessions(&self, user: UserId) -> Result<u64> {
        self.with(|c| c.execute("DELETE FROM sessions WHERE user_id = $1", &[&user.0]).be())
    }
}

impl Privacy for PgStore {
    fn erase_customer(&self, id: CustomerId, actor: &Actor) -> Result<ErasureReport> {
        self.in_tx(|tx| {
            if !exists(tx, "SELECT 1 FROM customers WHERE id = $1 FOR UPDATE", &[&id.0])? {
                return Err(StoreError::not_found("customer", id));
            }
            if exists(tx, "SELECT 1 FROM erasures WHERE customer_id = $1", &[&id.0])? {
                return Ok(ErasureReport::default());
            }
            tx.execute(
                "UPDATE customers SET member_no = NULL, name = NULL, name_norm = NULL, phone = NULL, email = NULL,
                 card = NULL, language = NULL, birth_date = NULL, gender = NULL, city = NULL, region = NULL,
                 household_size = NULL, income_band = NULL, attributes = '{}' WHERE id = $1",
                &[&id.0],
            )
            .be()?;
            // The points keep their amounts (the balance is the business's liability); reasons
            // are free text and go.
            tx.execute(
                "UPDATE points_ledger SET reason = NULL WHERE customer_id = $1 AND reason IS NOT NULL",
                &[&id.0],
            )
            .be()?;
            let mut report = ErasureReport {
                interactions_cleared: tx
                    .execute(
                        "UPDATE interactions SET text = NULL WHERE customer_id = $1 AND text IS NOT NULL",
                        &[&id.0],
                    )
                    .be()?,
                aliases_removed: tx
                    .execute("DELETE FROM customer_aliases WHERE customer_id = $1", &[&id.0])
                    .be()?,
                consent_events_removed: tx
                    .execute("DELETE FROM consent_history WHERE customer_id = $1", &[&id.0])
                    .be()?,
                audit_entries_redacted: 0,
            };
            tx.execute(
                "UPDATE consents SET state = 'withdrawn', at = $2, source = 'erasure' WHERE customer_id = $1",
                &[&id.0, &actor.at],
            )
            .be()?;
            tx.execute(
                "INSERT INTO consent_history (customer_id, channel, state, at, source)
                 SELECT customer_id, channel, state, at, source FROM consents WHERE customer_id = $1",
                &[&id.0],
            )
            .be()?;
            let mut ids = vec![id.to_string()];
            for r in tx
                .query("SELECT dropped_id FROM merges WHERE kept_id = $1", &[&id.0])
                .be()?
            {
                ids.push(col::<Uuid>(&r, 0)?.to_string());
            }
            let marker: serde_json::Value =
                serde_json::from_str(ERASED_MARKER).map_err(|e| StoreError::Backend(e.to_string()))?;
            for k in &ids {
                let pat = format!("%{k}%");
                report.audit_entries_redacted += tx
                    .execute(
                        "UPDATE audit_log SET
                            before = CASE WHEN before IS NULL THEN NULL ELSE $3::jsonb END,
                            after  = CASE WHEN after IS NULL THEN NULL ELSE $3::jsonb END
                         WHERE (entity_id = $1 OR before::text LIKE $2 OR after::text LIKE $2)
                           AND ((before IS NOT NULL AND before <> $3::jsonb) OR (after IS NOT NULL AND after <> $3::jsonb))",
                        &[k, &pat, &marker],
                    )
                    .be()?;
            }
            tx.execute(
                "INSERT INTO erasures (customer_id, at) VALUES ($1, $2)",
                &[&id.0, &actor.at],
            )
            .be()?;
            audit(
                tx,
                actor,
                "customer.erase",
                "customer",
                &id.to_string(),
                None,
                Some(&erasure_audit_json(&report)),
            )?;
            Ok(report)
        })
    }

    fn erased_at(&self, id: CustomerId) -> Result<Option<Timestamp>> {
        self.with(|c| {
            query_opt(c, "SELECT at FROM erasures WHERE customer_id = $1", &[&id.0])?
                .map(|r| col(&r, 0))
                .transpose()
        })
    }

    fn customer_records(&self, id: CustomerId) -> Result<CustomerRecords> {
        self.with(|c| {
            let mut out = CustomerRecords::default();
            for r in c
                .query(
                    "SELECT kind, value FROM customer_aliases WHERE customer_id = $1 ORDER BY kind, value",
                    &[&id.0],
                )
                .be()?
            {
                out.aliases.push((col(&r, 0)?, col(&r, 1)?));
            }
            for r in c
                .query(
                    "SELECT dropped_id, at FROM merges WHERE kept_id = $1 ORDER BY at, dropped_id",
                    &[&id.0],
                )
                .be()?
            {
                out.merged_in.push((CustomerId(col(&r, 0)?), col(&r, 1)?));
            }
            for r in c
                .query(
                    "SELECT month, stage FROM customer_stages WHERE customer_id = $1 ORDER BY month",
                    &[&id.0],
                )
                .be()?
            {
                out.stages.push((col(&r, 0)?, col(&r, 1)?));
            }
            Ok(out)
        })
    }

    fn inactive_customers(&self, before: Timestamp) -> Result<Vec<CustomerId>> {
        self.with(|c| {
            c.query(
                "SELECT c.id FROM customers c
                 WHERE c.created_at < $1
                   AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.customer_id = c.id)
                   AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = c.id AND t.occurred_at >= $1)
                   AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.customer_id = c.id AND i.occurred_at >= $1)
                 ORDER BY c.id",
                &[&before],
            )
            .be()?
            .iter()
            .map(|r| Ok(CustomerId(col(r, 0)?)))
            .collect()
        })
    }

    fn audit_for_entity(&self, entity_id: &str) -> Result<Vec<AuditEntry>> {
        let pat = format!("%{entity_id}%");
        self.with(|c| {
            read_audit(
                c,
                "WHERE entity_id = $1 OR before::text LIKE $2 OR after::text LIKE $2 ORDER BY seq",
                &[&entity_id, &pat],
            )
        })
    }

    fn get_setting(&self, key: &str) -> Result<Option<String>> {
        self.with(|c| {
            query_opt(c, "SELECT value FROM settings WHERE key = $1", &[&key])?
                .map(|r| col(&r, 0))
                .transpose()
        })
    }

    fn put_setting(&self, key: &str, value: &str, actor: &Actor) -> Result<()> {
        self.in_tx(|tx| {
            let before: Option<String> = query_opt(tx, "SELECT value FROM settings WHERE key = $1 FOR UPDATE", &[&key])?
                .map(|r| col(&r, 0))
                .transpose()?;
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&key, &value],
            )
            .be()?;
            audit(
                tx,
                actor,
                "setting.update",
                "setting",
                key,
                before.map(|b| serde_json::json!({ "value": b })).as_ref(),
                Some(&serde_json::json!({ "value": value })),
            )
        })
    }

    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.with(|c| {
            c.query(
                "SELECT key, value FROM settings WHERE left(key, length($1)) = $1 ORDER BY key COLLATE \"C\"",
                &[&prefix],
            )
            .be()?
            .iter()
            .map(|r| Ok((col(r, 0)?, col(r, 1)?)))
            .collect()
        })
    }

    fn delete_setting(&self, key: &str, actor: &Actor) -> Result<bool> {
        self.in_tx(|tx| {
            let before: Option<String> =
                query_opt(tx, "SELECT value FROM settings WHERE key = $1 FOR UPDATE", &[&key])?
                    .map(|r| col(&r, 0))
                    .transpose()?;
            let Some(before) = before else { return Ok(false) };
            tx.execute("DELETE FROM settings WHERE key = $1", &[&key]).be()?;
            audit(
                tx,
                actor,
                "setting.delete",
                "setting",
                key,
                Some(&serde_json::json!({ "value": before })),
                None,
            )?;
            Ok(true)
        })
    }
}
