//! Benefit grants and surprise draws on SQLite: their rows inside a unit of work (`Tx`).

use crate::convert::{Ctx, all, one};
use crate::ts;
use jiff::Timestamp;
use kesher_core::{BenefitGrantId, CustomerId, SurpriseDrawId};
use kesher_loyalty::benefits::Grant;
use kesher_store::rows::{self, DRAW_SELECT, GRANT_SELECT};
use kesher_store::{Result, SurpriseDraw};
use rusqlite::{Connection, params};

pub(crate) fn grant(c: &Connection, id: BenefitGrantId) -> Result<Option<Grant>> {
    one(c, &format!("{GRANT_SELECT} WHERE id = ?1"), [id.as_bytes()], |r| {
        rows::benefit_grant(r)
    })
}

pub(crate) fn grant_by_key(c: &Connection, customer: CustomerId, key: &str) -> Result<Option<Grant>> {
    one(
        c,
        &format!("{GRANT_SELECT} WHERE customer_id = ?1 AND idempotency_key = ?2"),
        params![customer.as_bytes(), key],
        |r| rows::benefit_grant(r),
    )
}

pub(crate) fn grants(c: &Connection, customer: CustomerId) -> Result<Vec<Grant>> {
    all(
        c,
        &format!("{GRANT_SELECT} WHERE customer_id = ?1 ORDER BY granted_at, id"),
        [customer.as_bytes()],
        |r| rows::benefit_grant(r),
    )
}

pub(crate) fn insert_grant(c: &Connection, g: &Grant) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO loyalty_benefit_grants (id, customer_id, benefit, state, granted_at, available_until, granted_by,
            source, used_at, honoured_by, honoured_branch, honour_key, points_seq, draw_id, idempotency_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )
    .be()?
    .execute(params![
        g.id.as_bytes(),
        g.customer_id.as_bytes(),
        g.benefit,
        g.state.as_str(),
        ts(g.granted_at),
        ts(g.available_until),
        g.granted_by,
        g.source.as_str(),
        g.used_at.map(ts),
        g.honoured_by,
        g.honoured_branch.map(|b| b.as_bytes().to_vec()),
        g.honour_key,
        g.points_seq,
        g.draw_id.map(|d| d.as_bytes().to_vec()),
        g.idempotency_key,
    ])
    .be()?;
    Ok(())
}

pub(crate) fn update_grant(c: &Connection, g: &Grant) -> Result<()> {
    c.prepare_cached(
        "UPDATE loyalty_benefit_grants SET state = ?2, used_at = ?3, honoured_by = ?4, honoured_branch = ?5,
            honour_key = ?6 WHERE id = ?1",
    )
    .be()?
    .execute(params![
        g.id.as_bytes(),
        g.state.as_str(),
        g.used_at.map(ts),
        g.honoured_by,
        g.honoured_branch.map(|b| b.as_bytes().to_vec()),
        g.honour_key,
    ])
    .be()?;
    Ok(())
}

pub(crate) fn grants_due(c: &Connection, now: Timestamp, limit: usize) -> Result<Vec<Grant>> {
    all(
        c,
        &format!(
            "{GRANT_SELECT} WHERE state = 'available' AND available_until <= ?1 ORDER BY available_until, id LIMIT ?2"
        ),
        params![ts(now), i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| rows::benefit_grant(r),
    )
}

pub(crate) fn recipients_since(c: &Connection, benefit: &str, since: Timestamp) -> Result<Vec<CustomerId>> {
    all(
        c,
        "SELECT DISTINCT customer_id FROM loyalty_benefit_grants
         WHERE source = 'surprise' AND benefit = ?1 AND granted_at >= ?2",
        params![benefit, ts(since)],
        |r| Ok(CustomerId::from_bytes(kesher_store::rows::Columns::id(r, 0)?)),
    )
}

pub(crate) fn insert_draw(c: &Connection, d: &SurpriseDraw) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO loyalty_surprise_draws (id, benefit, seed, parameters, actor, at, members)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .be()?
    .execute(params![
        d.id.as_bytes(),
        d.benefit,
        d.seed.to_string(),
        d.parameters,
        d.actor,
        ts(d.at),
        rows::draw_members_json(d),
    ])
    .be()?;
    Ok(())
}

pub(crate) fn draw(c: &Connection, id: SurpriseDrawId) -> Result<Option<SurpriseDraw>> {
    one(c, &format!("{DRAW_SELECT} WHERE id = ?1"), [id.as_bytes()], |r| {
        rows::surprise_draw(r)
    })
}
