//! A loyalty program's members on PostgreSQL: the membership rows and their history inside a
//! unit of work (`Tx`), the facts a tier review and an accrual read, and the `Loyalty` reads.

use crate::PgStore;
use crate::convert::{Ctx, PgRow, all, col, one};
use jiff::Timestamp;
use kesher_core::{Currency, CustomerId, ProductId};
use kesher_loyalty::{LedgerEntry, Member, MemberEvent, MemberStatus};
use kesher_store::rows::{
    self, LEDGER_SELECT, MEMBER_EVENT_SELECT, MEMBER_SELECT, PRODUCT_FACTS_SELECT, SALE_FACT_SELECT,
};
use kesher_store::{Activity, ProductFacts, Result, SaleFact};
use postgres::GenericClient;
use uuid::Uuid;

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

pub(crate) fn member<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<Option<Member>> {
    one(
        c,
        &format!("{MEMBER_SELECT} WHERE customer_id = $1"),
        &[&customer.0],
        |r| rows::member(r),
    )
}

pub(crate) fn put_member<C: GenericClient>(c: &mut C, m: &Member) -> Result<()> {
    c.execute(
        "INSERT INTO loyalty_members (customer_id, status, tier, tier_since, tier_review_at, enrolled_at, branch_id,
            employee_id, quality, quality_missing, invited_by, fee_paid, left_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (customer_id) DO UPDATE SET status = EXCLUDED.status, tier = EXCLUDED.tier,
            tier_since = EXCLUDED.tier_since, tier_review_at = EXCLUDED.tier_review_at,
            enrolled_at = EXCLUDED.enrolled_at, branch_id = EXCLUDED.branch_id, employee_id = EXCLUDED.employee_id,
            quality = EXCLUDED.quality, quality_missing = EXCLUDED.quality_missing,
            invited_by = EXCLUDED.invited_by, fee_paid = EXCLUDED.fee_paid, left_at = EXCLUDED.left_at",
        &[
            &m.customer_id.0,
            &m.status.as_str(),
            &m.tier,
            &m.tier_since,
            &m.tier_review_at,
            &m.enrolled_at,
            &m.branch_id.map(|b| b.0),
            &m.employee_id.map(|e| e.0),
            &i32::from(m.quality),
            &rows::quality_missing_json(m),
            &m.invited_by.map(|i| i.0),
            &m.fee_paid,
            &m.left_at,
        ],
    )
    .be()?;
    Ok(())
}

pub(crate) fn insert_event<C: GenericClient>(c: &mut C, e: &MemberEvent) -> Result<MemberEvent> {
    let r = c
        .query_one(
            "INSERT INTO loyalty_member_events (customer_id, kind, at, branch_id, employee_id, actor, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
            &[
                &e.customer_id.0,
                &e.kind.as_str(),
                &e.at,
                &e.branch_id.map(|b| b.0),
                &e.employee_id.map(|x| x.0),
                &e.actor,
                &e.detail,
            ],
        )
        .be()?;
    Ok(MemberEvent {
        seq: col(&r, 0)?,
        ..e.clone()
    })
}

pub(crate) fn events<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<Vec<MemberEvent>> {
    all(
        c,
        &format!("{MEMBER_EVENT_SELECT} WHERE customer_id = $1 ORDER BY seq"),
        &[&customer.0],
        |r| rows::member_event(r),
    )
}

/// Sums are exact (numeric) and saturated to bigint's range.
pub(crate) fn activity<C: GenericClient>(
    c: &mut C,
    customer: CustomerId,
    currency: Currency,
    since: Timestamp,
    until: Timestamp,
) -> Result<Activity> {
    let sales = c
        .query_one(
            "SELECT greatest(least(coalesce(sum(total), 0), 9223372036854775807), -9223372036854775808)::bigint,
                    count(*) FILTER (WHERE refund_of IS NULL)
             FROM transactions
             WHERE customer_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND currency = $4",
            &[&customer.0, &since, &until, &currency.as_str()],
        )
        .be()?;
    let points = c
        .query_one(
            "SELECT greatest(least(coalesce(sum(points), 0), 9223372036854775807), -9223372036854775808)::bigint
             FROM points_ledger
             WHERE customer_id = $1 AND kind IN ('earn', 'reverse') AND at >= $2 AND at < $3",
            &[&customer.0, &since, &until],
        )
        .be()?;
    let visits: i64 = col(&sales, 1)?;
    Ok(Activity {
        spend: col(&sales, 0)?,
        visits: u64::try_from(visits).unwrap_or(0),
        points: col(&points, 0)?,
    })
}

pub(crate) fn product_facts<C: GenericClient>(c: &mut C, ids: &[ProductId]) -> Result<Vec<ProductFacts>> {
    let ids: Vec<Uuid> = ids.iter().map(|p| p.0).collect();
    all(c, &format!("{PRODUCT_FACTS_SELECT} WHERE id = ANY($1)"), &[&ids], |r| {
        rows::product_facts(r)
    })
}

impl kesher_store::Loyalty for PgStore {
    fn loyalty_members(
        &self,
        status: Option<MemberStatus>,
        tier: Option<&str>,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Vec<Member>> {
        let status = status.map(MemberStatus::as_str);
        let after = after.map(|a| a.0);
        let limit = limit_param(limit);
        self.with(|c| {
            all(
                c,
                &format!(
                    "{MEMBER_SELECT} WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR tier = $2)
                     AND ($3::uuid IS NULL OR customer_id > $3) ORDER BY customer_id LIMIT $4"
                ),
                &[&status, &tier, &after, &limit],
                |r| rows::member(r),
            )
        })
    }

    fn member_events(&self, customer: CustomerId) -> Result<Vec<MemberEvent>> {
        self.with(|c| events(c, customer))
    }

    fn members_due_for_review(&self, now: Timestamp, limit: usize) -> Result<Vec<Member>> {
        let limit = limit_param(limit);
        self.with(|c| {
            all(
                c,
                &format!(
                    "{MEMBER_SELECT} WHERE status = 'active' AND tier_review_at <= $1
                     ORDER BY tier_review_at, customer_id LIMIT $2"
                ),
                &[&now, &limit],
                |r| rows::member(r),
            )
        })
    }

    fn member_events_before(&self, until: Timestamp) -> Result<Vec<MemberEvent>> {
        self.with(|c| {
            all(
                c,
                &format!("{MEMBER_EVENT_SELECT} WHERE at < $1 ORDER BY seq"),
                &[&until],
                |r| rows::member_event(r),
            )
        })
    }

    fn for_each_ledger_entry(
        &self,
        since: Timestamp,
        until: Timestamp,
        f: &mut dyn FnMut(&LedgerEntry) -> Result<()>,
    ) -> Result<()> {
        self.with(|c| {
            // Row by row: memory stays flat whatever the size of the ledger.
            let params: [&(dyn postgres::types::ToSql + Sync); 2] = [&since, &until];
            let mut rows = c
                .query_raw(
                    &format!("{LEDGER_SELECT} WHERE at >= $1 AND at < $2 ORDER BY seq"),
                    params,
                )
                .be()?;
            while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut rows).be()? {
                f(&rows::ledger_entry(&PgRow(&r))?)?;
            }
            Ok(())
        })
    }

    fn for_each_sale_fact(
        &self,
        since: Timestamp,
        until: Timestamp,
        f: &mut dyn FnMut(&SaleFact) -> Result<()>,
    ) -> Result<()> {
        self.with(|c| {
            let params: [&(dyn postgres::types::ToSql + Sync); 2] = [&since, &until];
            let mut rows = c
                .query_raw(
                    &format!("{SALE_FACT_SELECT} WHERE occurred_at >= $1 AND occurred_at < $2"),
                    params,
                )
                .be()?;
            while let Some(r) = postgres::fallible_iterator::FallibleIterator::next(&mut rows).be()? {
                f(&rows::sale_fact(&PgRow(&r))?)?;
            }
            Ok(())
        })
    }
}
