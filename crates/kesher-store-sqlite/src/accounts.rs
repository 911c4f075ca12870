//! Users, API tokens, sessions, erasure, retention and settings on SQLite.

use crate::convert::*;
use crate::{SqliteStore, from_ts, ts};
use jiff::Timestamp;
use kesher_core::{CustomerId, TokenId, UserId};
use kesher_store::rows::{self, AUDIT_SELECT, Columns, TOKEN_SELECT, USER_SELECT};
use kesher_store::{
    Accounts, ApiToken, AuditEntry, AuditQuery, CustomerRecords, ERASED_MARKER, ErasureReport, Privacy, Result,
    Session, User,
    accounts::{scopes_text, username_taken},
};
use rusqlite::{Connection, OptionalExtension, params};

/// Audit entries matching `tail` (a WHERE/ORDER/LIMIT clause over `audit_log`).
pub(crate) fn read_audit(c: &Connection, tail: &str, p: impl rusqlite::Params) -> Result<Vec<AuditEntry>> {
    all(c, &format!("{AUDIT_SELECT} {tail}"), p, |r| rows::audit_entry(r))
}

/// A page of the audit log (`Store::audit_page`): one index chosen by the filters
/// (`INDEXED BY`, so that the planner never sorts a large range), read newest first from the
/// previous page's last entry.
pub(crate) fn audit_page(c: &Connection, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
    use rusqlite::types::Value;
    let mut conditions: Vec<String> = Vec::new();
    let mut values: Vec<Value> = Vec::new();
    let index = if q.actor.is_some() {
        "audit_log_actor_at"
    } else if q.action.is_some() {
        "audit_log_action_at"
    } else {
        "audit_log_at"
    };
    let bind = |values: &mut Vec<Value>, v: Value| {
        values.push(v);
        values.len()
    };
    if let Some(a) = &q.actor {
        let n = bind(&mut values, Value::Text(a.clone()));
        conditions.push(format!("actor = ?{n}"));
    }
    if let Some(a) = &q.action {
        let n = bind(&mut values, Value::Text(a.clone()));
        conditions.push(format!("action = ?{n}"));
    }
    if let Some(t) = q.from {
        let n = bind(&mut values, Value::Integer(ts(t)));
        conditions.push(format!("at >= ?{n}"));
    }
    if let Some(t) = q.until {
        let n = bind(&mut values, Value::Integer(ts(t)));
        conditions.push(format!("at < ?{n}"));
    }
    if let Some(before) = q.before {
        let at: Option<i64> = c
            .query_row("SELECT at FROM audit_log WHERE seq = ?1", [before], |r| r.get(0))
            .optional()
            .be()?;
        match at {
            Some(at) => {
                let a = bind(&mut values, Value::Integer(at));
                let b = bind(&mut values, Value::Integer(before));
                conditions.push(format!("(at, seq) < (?{a}, ?{b})"));
            }
            None => {
                let b = bind(&mut values, Value::Integer(before));
                conditions.push(format!("seq < ?{b}"));
            }
        }
    }
    let limit = bind(&mut values, Value::Integer(i64::from(q.limit)));
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    read_audit(
        c,
        &format!("INDEXED BY {index} {filter} ORDER BY at DESC, seq DESC LIMIT ?{limit}"),
        rusqlite::params_from_iter(values),
    )
}

fn users(c: &Connection, tail: &str, p: impl rusqlite::Params) -> Result<Vec<User>> {
    all(c, &format!("{USER_SELECT} {tail}"), p, |r| rows::user(r))
}

fn tokens(c: &Connection, tail: &str, p: impl rusqlite::Params) -> Result<Vec<ApiToken>> {
    all(c, &format!("{TOKEN_SELECT} {tail}"), p, |r| rows::token(r))
}

impl Accounts for SqliteStore {
    fn get_user(&self, id: UserId) -> Result<Option<User>> {
        Ok(users(&*self.read()?, "WHERE id = ?1", [id.as_bytes()])?.pop())
    }

    fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        Ok(users(&*self.read()?, "WHERE username = ?1", [username])?.pop())
    }

    fn list_users(&self) -> Result<Vec<User>> {
        users(&*self.read()?, "ORDER BY username", [])
    }

    fn count_users(&self) -> Result<u64> {
        let n: i64 = self
            .read()?
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .be()?;
        Ok(n as u64)
    }

    fn token_by_digest(&self, digest: &str) -> Result<Option<ApiToken>> {
        Ok(tokens(&*self.read()?, "WHERE digest = ?1", [digest])?.pop())
    }

    fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        tokens(&*self.read()?, "ORDER BY created_at, name", [])
    }

    fn insert_session(&self, s: &Session) -> Result<()> {
        let conn = self.write()?;
        conn.execute("DELETE FROM sessions WHERE expires_at < ?1", [ts(s.created_at)])
            .be()?;
        conn.execute(
            "INSERT INTO sessions (digest, user_id, csrf_digest, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                s.digest,
                s.user_id.as_bytes(),
                s.csrf_digest,
                ts(s.created_at),
                ts(s.expires_at)
            ],
        )
        .be()?;
        Ok(())
    }

    fn session_by_digest(&self, digest: &str, now: Timestamp) -> Result<Option<Session>> {
        let c = self.read()?;
        let row = c
            .query_row(
                "SELECT user_id, csrf_digest, created_at, expires_at FROM sessions WHERE digest = ?1 AND expires_at > ?2",
                params![digest, ts(now)],
                |r| {
                    Ok((
                        r.get::<_, Vec<u8>>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()
            .be()?;
        row.map(|(u, csrf, created, expires)| {
            Ok(Session {
                digest: digest.to_owned(),
                user_id: UserId::from_bytes(blob16(&u)?),
                csrf_digest: csrf,
                created_at: from_ts(created)?,
                expires_at: from_ts(expires)?,
            })
        })
        .transpose()
    }

    fn delete_session(&self, digest: &str) -> Result<()> {
        self.write()?
            .execute("DELETE FROM sessions WHERE digest = ?1", [digest])
            .be()?;
        Ok(())
    }

    fn delete_user_sessions(&self, user: UserId) -> Result<u64> {
        let n = self
            .write()?
            .execute("DELETE FROM sessions WHERE user_id = ?1", [user.as_bytes()])
            .be()?;
        Ok(n as u64)
    }
}

impl Privacy for SqliteStore {
    fn erased_at(&self, id: CustomerId) -> Result<Option<Timestamp>> {
        one(
            &*self.read()?,
            "SELECT at FROM erasures WHERE customer_id = ?1",
            [id.as_bytes()],
            |r| r.time(0),
        )
    }

    fn customer_records(&self, id: CustomerId) -> Result<CustomerRecords> {
        let c = self.read()?;
        let key = [id.as_bytes()];
        let (segments, segment_events) = crate::segments::of_customer(&c, id)?;
        Ok(CustomerRecords {
            aliases: all(
                &c,
                "SELECT kind, value FROM customer_aliases WHERE customer_id = ?1 ORDER BY kind, value",
                key,
                |r| Ok((r.text(0)?, r.text(1)?)),
            )?,
            merged_in: all(
                &c,
                "SELECT dropped_id, at FROM merges WHERE kept_id = ?1 ORDER BY at, dropped_id",
                key,
                |r| Ok((CustomerId::from_bytes(r.id(0)?), r.time(1)?)),
            )?,
            stages: all(
                &c,
                "SELECT month, stage FROM customer_stages WHERE customer_id = ?1 ORDER BY month",
                key,
                |r| Ok((r.text(0)?, r.text(1)?)),
            )?,
            membership: crate::loyalty::member(&c, id)?,
            member_events: crate::loyalty::events(&c, id)?,
            segments,
            segment_events,
        })
    }

    fn inactive_customers(&self, before: Timestamp) -> Result<Vec<CustomerId>> {
        let c = self.read()?;
        let mut st = c
            .prepare(
                "SELECT c.id FROM customers c
                 WHERE c.created_at < ?1
                   AND NOT EXISTS (SELECT 1 FROM erasures e WHERE e.customer_id = c.id)
                   AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = c.id AND t.occurred_at >= ?1)
                   AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.customer_id = c.id AND i.occurred_at >= ?1)
                 ORDER BY c.id",
            )
            .be()?;
        let mut rows = st.query([ts(before)]).be()?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().be()? {
            out.push(CustomerId::from_bytes(SqlRow(r).id(0)?));
        }
        Ok(out)
    }

    fn audit_for_entity(&self, entity_id: &str) -> Result<Vec<AuditEntry>> {
        read_audit(
            &*self.read()?,
            "WHERE entity_id = ?1 OR before LIKE ?2 OR after LIKE ?2 ORDER BY seq",
            params![entity_id, format!("%{entity_id}%")],
        )
    }

    fn get_setting(&self, key: &str) -> Result<Option<String>> {
        self.read()?
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .be()
    }

    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        let sql = "SELECT key, value FROM settings WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key";
        all(&*self.read()?, sql, [prefix], |r| Ok((r.text(0)?, r.text(1)?)))
    }
}

/// The erasure's row operations on SQLite (`Tx::anonymise_customer` and its neighbours).
pub(crate) mod erasure {
    use super::*;

    pub(crate) fn is_erased(c: &Connection, id: CustomerId) -> Result<bool> {
        c.prepare_cached("SELECT 1 FROM erasures WHERE customer_id = ?1")
            .be()?
            .exists([id.as_bytes()])
            .be()
    }

    pub(crate) fn anonymise(c: &Connection, id: CustomerId, at: Timestamp) -> Result<ErasureReport> {
        let idb = id.as_bytes();
        c.execute(
            "UPDATE customers SET member_no = NULL, name = NULL, name_norm = NULL, phone = NULL, email = NULL,
             card = NULL, language = NULL, birth_date = NULL, gender = NULL, city = NULL, region = NULL,
             household_size = NULL, income_band = NULL, attributes = '{}' WHERE id = ?1",
            [idb],
        )
        .be()?;
        // The points keep their amounts (the balance is the business's liability); reasons are
        // free text and go.
        c.execute(
            "UPDATE points_ledger SET reason = NULL WHERE customer_id = ?1 AND reason IS NOT NULL",
            [idb],
        )
        .be()?;
        // The membership and its history stay (statistics): they hold no identifier, but an
        // event's detail is free text (a reason) and goes.
        c.execute(
            "UPDATE loyalty_member_events SET detail = ?2 WHERE customer_id = ?1 AND detail <> ?2",
            params![idb, ERASED_MARKER],
        )
        .be()?;
        // Segment memberships and their history stay (statistics): a segment's name, dates and
        // the run, no identifier and no free text.
        // Granted benefits keep their dates and states (statistics); the keys a client chose are
        // free text and go.
        c.execute(
            "UPDATE loyalty_benefit_grants SET idempotency_key = NULL, honour_key = NULL
             WHERE customer_id = ?1 AND (idempotency_key IS NOT NULL OR honour_key IS NOT NULL)",
            [idb],
        )
        .be()?;
        // The outbox keeps who was sent what when (the campaigns' statistics); the rendered texts
        // name the customer and go, the last error may quote the address and goes too.
        c.execute(
            "UPDATE campaign_messages SET subject = NULL, body = ?2, last_error = NULL
             WHERE customer_id = ?1 AND body IS NOT NULL AND body <> ?2",
            params![idb, ERASED_MARKER],
        )
        .be()?;
        c.execute(
            "UPDATE campaign_messages SET subject = NULL, last_error = NULL
             WHERE customer_id = ?1 AND (subject IS NOT NULL OR last_error IS NOT NULL)",
            [idb],
        )
        .be()?;
        let report = ErasureReport {
            interactions_cleared: c
                .execute(
                    "UPDATE interactions SET text = NULL WHERE customer_id = ?1 AND text IS NOT NULL",
                    [idb],
                )
                .be()? as u64,
            aliases_removed: c
                .execute("DELETE FROM customer_aliases WHERE customer_id = ?1", [idb])
                .be()? as u64,
            consent_events_removed: c
                .execute("DELETE FROM consent_history WHERE customer_id = ?1", [idb])
                .be()? as u64,
            audit_entries_redacted: 0,
        };
        c.execute(
            "UPDATE consents SET state = 'withdrawn', at = ?2, source = 'erasure' WHERE customer_id = ?1",
            params![idb, ts(at)],
        )
        .be()?;
        c.execute(
            "INSERT INTO consent_history (customer_id, channel, state, at, source)
             SELECT customer_id, channel, state, at, source FROM consents WHERE customer_id = ?1",
            [idb],
        )
        .be()?;
        Ok(report)
    }

    pub(crate) fn merged_into(c: &Connection, kept: CustomerId) -> Result<Vec<CustomerId>> {
        let sql = "SELECT dropped_id FROM merges WHERE kept_id = ?1";
        all(c, sql, [kept.as_bytes()], |r| Ok(CustomerId::from_bytes(r.id(0)?)))
    }

    pub(crate) fn redact_audit(c: &Connection, entity_id: &str) -> Result<u64> {
        let pat = format!("%{entity_id}%");
        Ok(c.execute(
            "UPDATE audit_log SET
                before = CASE WHEN before IS NULL THEN NULL ELSE ?3 END,
                after  = CASE WHEN after IS NULL THEN NULL ELSE ?3 END
             WHERE (entity_id = ?1 OR before LIKE ?2 OR after LIKE ?2)
               AND ((before IS NOT NULL AND before <> ?3) OR (after IS NOT NULL AND after <> ?3))",
            params![entity_id, pat, ERASED_MARKER],
        )
        .be()? as u64)
    }

    pub(crate) fn record(c: &Connection, id: CustomerId, at: Timestamp) -> Result<()> {
        c.execute(
            "INSERT INTO erasures (customer_id, at) VALUES (?1, ?2)",
            params![id.as_bytes(), ts(at)],
        )
        .be()?;
        Ok(())
    }
}

/// The rows of users, tokens and settings inside a unit of work (`Tx`).
pub(crate) mod records {
    use super::*;

    pub(crate) fn user(c: &Connection, id: UserId) -> Result<Option<User>> {
        Ok(users(c, "WHERE id = ?1", [id.as_bytes()])?.pop())
    }

    pub(crate) fn insert_user(c: &Connection, u: &User) -> Result<()> {
        c.execute(
            "INSERT INTO users (id, username, display_name, role, branch_id, password_hash, disabled, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                u.id.as_bytes(),
                u.username,
                u.display_name,
                u.role.as_str(),
                u.branch.map(|b| b.as_bytes().to_vec()),
                u.password_hash,
                u.disabled as i64,
                ts(u.created_at)
            ],
        )
        .be()
        .map_err(|e| username_taken(e, &u.username))?;
        Ok(())
    }

    pub(crate) fn update_user(c: &Connection, u: &User) -> Result<()> {
        c.execute(
            "UPDATE users SET username = ?2, display_name = ?3, role = ?4, branch_id = ?5, password_hash = ?6,
             disabled = ?7 WHERE id = ?1",
            params![
                u.id.as_bytes(),
                u.username,
                u.display_name,
                u.role.as_str(),
                u.branch.map(|b| b.as_bytes().to_vec()),
                u.password_hash,
                u.disabled as i64
            ],
        )
        .be()
        .map_err(|e| username_taken(e, &u.username))?;
        Ok(())
    }

    pub(crate) fn token(c: &Connection, id: TokenId) -> Result<Option<ApiToken>> {
        Ok(tokens(c, "WHERE id = ?1", [id.as_bytes()])?.pop())
    }

    pub(crate) fn insert_token(c: &Connection, t: &ApiToken) -> Result<()> {
        c.execute(
            "INSERT INTO api_tokens (id, name, role, branch_id, scopes, digest, hint, created_at, created_by, expires_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                t.id.as_bytes(),
                t.name,
                t.role.as_str(),
                t.branch.map(|b| b.as_bytes().to_vec()),
                scopes_text(&t.scopes),
                t.digest,
                t.hint,
                ts(t.created_at),
                t.created_by,
                t.expires_at.map(ts),
                t.revoked_at.map(ts)
            ],
        )
        .be()?;
        Ok(())
    }

    pub(crate) fn revoke_token(c: &Connection, id: TokenId, at: Timestamp) -> Result<()> {
        c.execute(
            "UPDATE api_tokens SET revoked_at = ?2 WHERE id = ?1",
            params![id.as_bytes(), ts(at)],
        )
        .be()?;
        Ok(())
    }

    pub(crate) fn setting(c: &Connection, key: &str) -> Result<Option<String>> {
        c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .be()
    }

    pub(crate) fn put_setting(c: &Connection, key: &str, value: &str) -> Result<()> {
        c.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )
        .be()?;
        Ok(())
    }

    pub(crate) fn delete_setting(c: &Connection, key: &str) -> Result<()> {
        c.execute("DELETE FROM settings WHERE key = ?1", [key]).be()?;
        Ok(())
    }
}
