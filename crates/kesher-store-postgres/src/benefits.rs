//! Benefit grants and surprise draws on PostgreSQL: their rows inside a unit of work (`Tx`).

use crate::convert::{Ctx, all, one};
use jiff::Timestamp;
use kesher_core::{BenefitGrantId, CustomerId, SurpriseDrawId};
use kesher_loyalty::benefits::Grant;
use kesher_store::rows::{self, Columns, DRAW_SELECT, GRANT_SELECT};
use kesher_store::{Result, SurpriseDraw};
use postgres::GenericClient;

pub(crate) fn grant<C: GenericClient>(c: &mut C, id: BenefitGrantId) -> Result<Option<Grant>> {
    one(c, &format!("{GRANT_SELECT} WHERE id = $1"), &[&id.0], |r| {
        rows::benefit_grant(r)
    })
}

pub(crate) fn grant_by_key<C: GenericClient>(c: &mut C, customer: CustomerId, key: &str) -> Result<Option<Grant>> {
    one(
        c,
        &format!("{GRANT_SELECT} WHERE customer_id = $1 AND idempotency_key = $2"),
        &[&customer.0, &key],
        |r| rows::benefit_grant(r),
    )
}

pub(crate) fn grants<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<Vec<Grant>> {
    all(
        c,
        &format!("{GRANT_SELECT} WHERE customer_id = $1 ORDER BY granted_at, id"),
        &[&customer.0],
        |r| rows::benefit_grant(r),
    )
}

pub(crate) fn insert_grant<C: GenericClient>(c: &mut C, g: &Grant) -> Result<()> {
    c.execute(
        "INSERT INTO loyalty_benefit_grants (id, customer_id, benefit, state, granted_at, available_until, granted_by,
            source, used_at, honoured_by, honoured_branch, honour_key, points_seq, draw_id, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        &[
            &g.id.0,
            &g.customer_id.0,
            &g.benefit,
            &g.state.as_str(),
            &g.granted_at,
            &g.available_until,
            &g.granted_by,
            &g.source.as_str(),
            &g.used_at,
            &g.honoured_by,
            &g.honoured_branch.map(|b| b.0),
            &g.honour_key,
            &g.points_seq,
            &g.draw_id.map(|d| d.0),
            &g.idempotency_key,
        ],
    )
    .be()?;
    Ok(())
}

pub(crate) fn update_grant<C: GenericClient>(c: &mut C, g: &Grant) -> Result<()> {
    c.execute(
        "UPDATE loyalty_benefit_grants SET state = $2, used_at = $3, honoured_by = $4, honoured_branch = $5,
            honour_key = $6 WHERE id = $1",
        &[
            &g.id.0,
            &g.state.as_str(),
            &g.used_at,
            &g.honoured_by,
            &g.honoured_branch.map(|b| b.0),
            &g.honour_key,
        ],
    )
    .be()?;
    Ok(())
}

pub(crate) fn grants_due<C: GenericClient>(c: &mut C, now: Timestamp, limit: usize) -> Result<Vec<Grant>> {
    all(
        c,
        &format!(
            "{GRANT_SELECT} WHERE state = 'available' AND available_until <= $1 ORDER BY available_until, id LIMIT $2"
        ),
        &[&now, &i64::try_from(limit).unwrap_or(i64::MAX)],
        |r| rows::benefit_grant(r),
    )
}

pub(crate) fn recipients_since<C: GenericClient>(
    c: &mut C,
    benefit: &str,
    since: Timestamp,
) -> Result<Vec<CustomerId>> {
    all(
        c,
        "SELECT DISTINCT customer_id FROM loyalty_benefit_grants
         WHERE source = 'surprise' AND benefit = $1 AND granted_at >= $2",
        &[&benefit, &since],
        |r| Ok(CustomerId::from_bytes(r.id(0)?)),
    )
}

pub(crate) fn insert_draw<C: GenericClient>(c: &mut C, d: &SurpriseDraw) -> Result<()> {
    c.execute(
        "INSERT INTO loyalty_surprise_draws (id, benefit, seed, parameters, actor, at, members)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &d.id.0,
            &d.benefit,
            &d.seed.to_string(),
            &d.parameters,
            &d.actor,
            &d.at,
            &rows::draw_members_json(d),
        ],
    )
    .be()?;
    Ok(())
}

pub(crate) fn draw<C: GenericClient>(c: &mut C, id: SurpriseDrawId) -> Result<Option<SurpriseDraw>> {
    one(c, &format!("{DRAW_SELECT} WHERE id = $1"), &[&id.0], |r| {
        rows::surprise_draw(r)
    })
}
