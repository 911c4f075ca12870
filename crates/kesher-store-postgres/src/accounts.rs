//! Users, API tokens, sessions, erasure, retention and settings on PostgreSQL.

use crate::PgStore;
use crate::convert::*;
use jiff::Timestamp;
use kesher_core::{CustomerId, TokenId, UserId};
use kesher_store::rows::{self, AUDIT_SELECT, TOKEN_SELECT, USER_SELECT};
use kesher_store::{
    Accounts, ApiToken, AuditEntry, AuditQuery, CustomerRecords, ERASED_MARKER, ErasureReport, Privacy, Result,
    Session, StoreError, User,
    accounts::{scopes_text, username_taken},
};
use postgres::GenericClient;
use uuid::Uuid;

pub(crate) fn read_audit<C: GenericClient>(c: &mut C, tail: &str, p: &Params<'_>) -> Result<Vec<AuditEntry>> {
    all(c, &format!("{AUDIT_SELECT} {tail}"), p, |r| rows::audit_entry(r))
}

/// A page of the audit log (`Store::audit_page`): newest first by `(at, seq)` along the index
/// of its filters, from the previous page's last entry.
pub(crate) fn audit_page<C: GenericClient>(c: &mut C, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Box<dyn postgres::types::ToSql + Sync>> = Vec::new();
    let mut bind = |v: Box<dyn postgres::types::ToSql + Sync>| {
        values.push(v);
        values.len()
    };
    if let Some(a) = &q.actor {
        let n = bind(Box::new(a.clone()));
        conditions.push(format!("actor = ${n}"));
    }
    if let Some(a) = &q.action {
        let n = bind(Box::new(a.clone()));
        conditions.push(format!("action = ${n}"));
    }
    if let Some(t) = q.from {
        let n = bind(Box::new(t));
        conditions.push(format!("at >= ${n}"));
    }
    if let Some(t) = q.until {
        let n = bind(Box::new(t));
        conditions.push(format!("at < ${n}"));
    }
    if let Some(before) = q.before {
        let at: Option<Timestamp> = c
            .query_opt("SELECT at FROM audit_log WHERE seq = $1", &[&before])
            .be()?
            .map(|r| r.get(0));
        match at {
            Some(at) => {
                let a = bind(Box::new(at));
                let b = bind(Box::new(before));
                conditions.push(format!("(at, seq) < (${a}, ${b})"));
            }
            None => {
                let b = bind(Box::new(before));
                conditions.push(format!("seq < ${b}"));
            }
        }
    }
    let limit = bind(Box::new(i64::from(q.limit)));
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let params: Vec<&(dyn postgres::types::ToSql + Sync)> = values.iter().map(|v| v.as_ref()).collect();
    read_audit(
        c,
        &format!("{filter} ORDER BY at DESC, seq DESC LIMIT ${limit}"),
        &params,
    )
}

fn users<C: GenericClient>(c: &mut C, tail: &str, p: &Params<'_>) -> Result<Vec<User>> {
    all(c, &format!("{USER_SELECT} {tail}"), p, |r| rows::user(r))
}

fn tokens<C: GenericClient>(c: &mut C, tail: &str, p: &Params<'_>) -> Result<Vec<ApiToken>> {
    all(c, &format!("{TOKEN_SELECT} {tail}"), p, |r| rows::token(r))
}

impl Accounts for PgStore {
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

    fn token_by_digest(&self, digest: &str) -> Result<Option<ApiToken>> {
        self.with(|c| Ok(tokens(c, "WHERE digest = $1", &[&digest])?.pop()))
    }

    fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        self.with(|c| tokens(c, "ORDER BY created_at, name COLLATE \"C\"", &[]))
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
            out.membership = crate::loyalty::member(c, id)?;
            out.member_events = crate::loyalty::events(c, id)?;
            (out.segments, out.segment_events) = crate::segments::of_customer(c, id)?;
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
}

/// The erasure's row operations on PostgreSQL (`Tx::anonymise_customer` and its neighbours).
pub(crate) mod erasure {
    use super::*;

    pub(crate) fn is_erased<C: GenericClient>(c: &mut C, id: CustomerId) -> Result<bool> {
        exists(c, "SELECT 1 FROM erasures WHERE customer_id = $1", &[&id.0])
    }

    pub(crate) fn anonymise<C: GenericClient>(c: &mut C, id: CustomerId, at: Timestamp) -> Result<ErasureReport> {
        c.execute(
            "UPDATE customers SET member_no = NULL, name = NULL, name_norm = NULL, phone = NULL, email = NULL,
             card = NULL, language = NULL, birth_date = NULL, gender = NULL, city = NULL, region = NULL,
             household_size = NULL, income_band = NULL, attributes = '{}' WHERE id = $1",
            &[&id.0],
        )
        .be()?;
        // The points keep their amounts (the balance is the business's liability); reasons are
        // free text and go.
        c.execute(
            "UPDATE points_ledger SET reason = NULL WHERE customer_id = $1 AND reason IS NOT NULL",
            &[&id.0],
        )
        .be()?;
        // The membership and its history stay (statistics): they hold no identifier, but an
        // event's detail is free text (a reason) and goes.
        c.execute(
            "UPDATE loyalty_member_events SET detail = $2 WHERE customer_id = $1 AND detail <> $2",
            &[&id.0, &ERASED_MARKER],
        )
        .be()?;
        // Segment memberships and their history stay (statistics): a segment's name, dates and
        // the run, no identifier and no free text.
        // Granted benefits keep their dates and states (statistics); the keys a client chose are
        // free text and go.
        c.execute(
            "UPDATE loyalty_benefit_grants SET idempotency_key = NULL, honour_key = NULL
             WHERE customer_id = $1 AND (idempotency_key IS NOT NULL OR honour_key IS NOT NULL)",
            &[&id.0],
        )
        .be()?;
        // The outbox keeps who was sent what when (the campaigns' statistics); the rendered texts
        // name the customer and go, the last error may quote the address and goes too.
        c.execute(
            "UPDATE campaign_messages SET subject = NULL, body = $2, last_error = NULL
             WHERE customer_id = $1 AND body IS NOT NULL AND body <> $2",
            &[&id.0, &ERASED_MARKER],
        )
        .be()?;
        c.execute(
            "UPDATE campaign_messages SET subject = NULL, last_error = NULL
             WHERE customer_id = $1 AND (subject IS NOT NULL OR last_error IS NOT NULL)",
            &[&id.0],
        )
        .be()?;
        let report = ErasureReport {
            interactions_cleared: c
                .execute(
                    "UPDATE interactions SET text = NULL WHERE customer_id = $1 AND text IS NOT NULL",
                    &[&id.0],
                )
                .be()?,
            aliases_removed: c
                .execute("DELETE FROM customer_aliases WHERE customer_id = $1", &[&id.0])
                .be()?,
            consent_events_removed: c
                .execute("DELETE FROM consent_history WHERE customer_id = $1", &[&id.0])
                .be()?,
            audit_entries_redacted: 0,
        };
        c.execute(
            "UPDATE consents SET state = 'withdrawn', at = $2, source = 'erasure' WHERE customer_id = $1",
            &[&id.0, &at],
        )
        .be()?;
        c.execute(
            "INSERT INTO consent_history (customer_id, channel, state, at, source)
             SELECT customer_id, channel, state, at, source FROM consents WHERE customer_id = $1",
            &[&id.0],
        )
        .be()?;
        Ok(report)
    }

    pub(crate) fn merged_into<C: GenericClient>(c: &mut C, kept: CustomerId) -> Result<Vec<CustomerId>> {
        c.query("SELECT dropped_id FROM merges WHERE kept_id = $1", &[&kept.0])
            .be()?
            .iter()
            .map(|r| Ok(CustomerId(col::<Uuid>(r, 0)?)))
            .collect()
    }

    pub(crate) fn redact_audit<C: GenericClient>(c: &mut C, entity_id: &str) -> Result<u64> {
        let marker: serde_json::Value =
            serde_json::from_str(ERASED_MARKER).map_err(|e| StoreError::Backend(e.to_string()))?;
        let pat = format!("%{entity_id}%");
        c.execute(
            "UPDATE audit_log SET
                before = CASE WHEN before IS NULL THEN NULL ELSE $3::jsonb END,
                after  = CASE WHEN after IS NULL THEN NULL ELSE $3::jsonb END
             WHERE (entity_id = $1 OR before::text LIKE $2 OR after::text LIKE $2)
               AND ((before IS NOT NULL AND before <> $3::jsonb) OR (after IS NOT NULL AND after <> $3::jsonb))",
            &[&entity_id, &pat, &marker],
        )
        .be()
    }

    pub(crate) fn record<C: GenericClient>(c: &mut C, id: CustomerId, at: Timestamp) -> Result<()> {
        c.execute("INSERT INTO erasures (customer_id, at) VALUES ($1, $2)", &[&id.0, &at])
            .be()?;
        Ok(())
    }
}

/// The rows of users, tokens and settings inside a unit of work (`Tx`); reads lock the row.
pub(crate) mod records {
    use super::*;

    pub(crate) fn user<C: GenericClient>(c: &mut C, id: UserId) -> Result<Option<User>> {
        Ok(users(c, "WHERE id = $1 FOR UPDATE", &[&id.0])?.pop())
    }

    pub(crate) fn insert_user<C: GenericClient>(c: &mut C, u: &User) -> Result<()> {
        c.execute(
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
        Ok(())
    }

    pub(crate) fn update_user<C: GenericClient>(c: &mut C, u: &User) -> Result<()> {
        c.execute(
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
        Ok(())
    }

    pub(crate) fn token<C: GenericClient>(c: &mut C, id: TokenId) -> Result<Option<ApiToken>> {
        Ok(tokens(c, "WHERE id = $1 FOR UPDATE", &[&id.0])?.pop())
    }

    pub(crate) fn insert_token<C: GenericClient>(c: &mut C, t: &ApiToken) -> Result<()> {
        c.execute(
            "INSERT INTO api_tokens (id, name, role, branch_id, scopes, digest, hint, created_at, created_by, expires_at, revoked_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                &t.id.0,
                &t.name,
                &t.role.as_str(),
                &t.branch.map(|b| b.0),
                &scopes_text(&t.scopes),
                &t.digest,
                &t.hint,
                &t.created_at,
                &t.created_by,
                &t.expires_at,
                &t.revoked_at,
            ],
        )
        .be()?;
        Ok(())
    }

    pub(crate) fn revoke_token<C: GenericClient>(c: &mut C, id: TokenId, at: Timestamp) -> Result<()> {
        c.execute("UPDATE api_tokens SET revoked_at = $2 WHERE id = $1", &[&id.0, &at])
            .be()?;
        Ok(())
    }

    pub(crate) fn setting<C: GenericClient>(c: &mut C, key: &str) -> Result<Option<String>> {
        query_opt(c, "SELECT value FROM settings WHERE key = $1 FOR UPDATE", &[&key])?
            .map(|r| col(&r, 0))
            .transpose()
    }

    pub(crate) fn put_setting<C: GenericClient>(c: &mut C, key: &str, value: &str) -> Result<()> {
        c.execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .be()?;
        Ok(())
    }

    pub(crate) fn delete_setting<C: GenericClient>(c: &mut C, key: &str) -> Result<()> {
        c.execute("DELETE FROM settings WHERE key = $1", &[&key]).be()?;
        Ok(())
    }
}
