//! A loyalty program's members on SQLite: the membership rows and their history inside a unit
//! of work (`Tx`), the facts a tier review and an accrual read, and the `Loyalty` reads.

use crate::convert::{Ctx, SqlRow, all, one};
use crate::points::joined_sum;
use crate::{SqliteStore, ts};
use jiff::Timestamp;
use kesher_core::{Currency, CustomerId, ProductId};
use kesher_loyalty::{LedgerEntry, Member, MemberEvent, MemberStatus};
use kesher_store::rows::{
    self, LEDGER_SELECT, MEMBER_EVENT_SELECT, MEMBER_SELECT, PRODUCT_FACTS_SELECT, SALE_FACT_SELECT,
};
use kesher_store::{Activity, ProductFacts, Result, SaleFact};
use rusqlite::{Connection, params};

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(crate) fn member(c: &Connection, customer: CustomerId) -> Result<Option<Member>> {
    one(
        c,
        &format!("{MEMBER_SELECT} WHERE customer_id = ?1"),
        [customer.as_bytes()],
        |r| rows::member(r),
    )
}

pub(crate) fn put_member(c: &Connection, m: &Member) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO loyalty_members (customer_id, status, tier, tier_since, tier_review_at, enrolled_at, branch_id,
            employee_id, quality, quality_missing, invited_by, fee_paid, left_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         ON CONFLICT (customer_id) DO UPDATE SET status = excluded.status, tier = excluded.tier,
            tier_since = excluded.tier_since, tier_review_at = excluded.tier_review_at,
            enrolled_at = excluded.enrolled_at, branch_id = excluded.branch_id, employee_id = excluded.employee_id,
            quality = excluded.quality, quality_missing = excluded.quality_missing,
            invited_by = excluded.invited_by, fee_paid = excluded.fee_paid, left_at = excluded.left_at",
    )
    .be()?
    .execute(params![
        m.customer_id.as_bytes(),
        m.status.as_str(),
        m.tier,
        m.tier_since.map(ts),
        m.tier_review_at.map(ts),
        ts(m.enrolled_at),
        m.branch_id.map(|b| b.as_bytes().to_vec()),
        m.employee_id.map(|e| e.as_bytes().to_vec()),
        i64::from(m.quality),
        rows::quality_missing_json(m),
        m.invited_by.map(|i| i.as_bytes().to_vec()),
        m.fee_paid,
        m.left_at.map(ts),
    ])
    .be()?;
    Ok(())
}

pub(crate) fn insert_event(c: &Connection, e: &MemberEvent) -> Result<MemberEvent> {
    c.prepare_cached(
        "INSERT INTO loyalty_member_events (customer_id, kind, at, branch_id, employee_id, actor, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .be()?
    .execute(params![
        e.customer_id.as_bytes(),
        e.kind.as_str(),
        ts(e.at),
        e.branch_id.map(|b| b.as_bytes().to_vec()),
        e.employee_id.map(|x| x.as_bytes().to_vec()),
        e.actor,
        e.detail,
    ])
    .be()?;
    Ok(MemberEvent {
        seq: c.last_insert_rowid(),
        ..e.clone()
    })
}

pub(crate) fn events(c: &Connection, customer: CustomerId) -> Result<Vec<MemberEvent>> {
    all(
        c,
        &format!("{MEMBER_EVENT_SELECT} WHERE customer_id = ?1 ORDER BY seq"),
        [customer.as_bytes()],
        |r| rows::member_event(r),
    )
}

/// Sums are taken in halves (see `points::totals`): exact whatever the stored amounts.
pub(crate) fn activity(
    c: &Connection,
    customer: CustomerId,
    currency: Currency,
    since: Timestamp,
    until: Timestamp,
) -> Result<Activity> {
    let (hi, lo, visits): (i64, i64, i64) = c
        .prepare_cached(
            "SELECT coalesce(sum(total >> 32), 0), coalesce(sum(total & 4294967295), 0),
                    count(*) FILTER (WHERE refund_of IS NULL)
             FROM transactions
             WHERE customer_id = ?1 AND occurred_at >= ?2 AND occurred_at < ?3 AND currency = ?4",
        )
        .be()?
        .query_row(
            params![customer.as_bytes(), ts(since), ts(until), currency.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .be()?;
    let (points_hi, points_lo): (i64, i64) = c
        .prepare_cached(
            "SELECT coalesce(sum(points >> 32), 0), coalesce(sum(points & 4294967295), 0) FROM points_ledger
             WHERE customer_id = ?1 AND kind IN ('earn', 'reverse') AND at >= ?2 AND at < ?3",
        )
        .be()?
        .query_row(params![customer.as_bytes(), ts(since), ts(until)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .be()?;
    Ok(Activity {
        spend: joined_sum(hi, lo),
        visits: u64::try_from(visits).unwrap_or(0),
        points: joined_sum(points_hi, points_lo),
    })
}

pub(crate) fn product_facts(c: &Connection, ids: &[ProductId]) -> Result<Vec<ProductFacts>> {
    let mut out = Vec::with_capacity(ids.len());
    // One look-up by key per id (the list an accrual reads is a basket's).
    for id in ids {
        let found = one(
            c,
            &format!("{PRODUCT_FACTS_SELECT} WHERE id = ?1"),
            [id.as_bytes()],
            |r| rows::product_facts(r),
        )?;
        if let Some(f) = found.filter(|f| !out.iter().any(|o: &ProductFacts| o.id == f.id)) {
            out.push(f);
        }
    }
    Ok(out)
}

impl kesher_store::Loyalty for SqliteStore {
    fn loyalty_members(
        &self,
        status: Option<MemberStatus>,
        tier: Option<&str>,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Vec<Member>> {
        all(
            &*self.read()?,
            &format!(
                "{MEMBER_SELECT} WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR tier = ?2)
                 AND (?3 IS NULL OR customer_id > ?3) ORDER BY customer_id LIMIT ?4"
            ),
            params![
                status.map(MemberStatus::as_str),
                tier,
                after.map(|a| a.as_bytes().to_vec()),
                limit_param(limit)
            ],
            |r| rows::member(r),
        )
    }

    fn member_events(&self, customer: CustomerId) -> Result<Vec<MemberEvent>> {
        events(&*self.read()?, customer)
    }

    fn members_due_for_review(&self, now: Timestamp, limit: usize) -> Result<Vec<Member>> {
        all(
            &*self.read()?,
            &format!(
                "{MEMBER_SELECT} WHERE status = 'active' AND tier_review_at <= ?1
                 ORDER BY tier_review_at, customer_id LIMIT ?2"
            ),
            params![ts(now), limit_param(limit)],
            |r| rows::member(r),
        )
    }

    fn member_events_before(&self, until: Timestamp) -> Result<Vec<MemberEvent>> {
        all(
            &*self.read()?,
            &format!("{MEMBER_EVENT_SELECT} WHERE at < ?1 ORDER BY seq"),
            [ts(until)],
            |r| rows::member_event(r),
        )
    }

    fn for_each_ledger_entry(
        &self,
        since: Timestamp,
        until: Timestamp,
        f: &mut dyn FnMut(&LedgerEntry) -> Result<()>,
    ) -> Result<()> {
        let c = self.read()?;
        let mut st = c
            .prepare_cached(&format!("{LEDGER_SELECT} WHERE at >= ?1 AND at < ?2 ORDER BY seq"))
            .be()?;
        let mut rows = st.query(params![ts(since), ts(until)]).be()?;
        // Row by row: memory stays flat whatever the size of the ledger.
        while let Some(r) = rows.next().be()? {
            f(&rows::ledger_entry(&SqlRow(r))?)?;
        }
        Ok(())
    }

    fn for_each_sale_fact(
        &self,
        since: Timestamp,
        until: Timestamp,
        f: &mut dyn FnMut(&SaleFact) -> Result<()>,
    ) -> Result<()> {
        let c = self.read()?;
        let mut st = c
            .prepare_cached(&format!(
                "{SALE_FACT_SELECT} WHERE occurred_at >= ?1 AND occurred_at < ?2"
            ))
            .be()?;
        let mut rows = st.query(params![ts(since), ts(until)]).be()?;
        while let Some(r) = rows.next().be()? {
            f(&rows::sale_fact(&SqlRow(r))?)?;
        }
        Ok(())
    }
}
