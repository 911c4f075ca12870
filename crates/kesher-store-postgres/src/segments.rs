//! Saved segments over time on PostgreSQL: the members and history rows inside a unit of work
//! (`Tx`), written a chunk of customers per statement (`unnest`), and the `SegmentHistory`
//! reads.

use crate::PgStore;
use crate::convert::{Ctx, all, col, count};
use jiff::Timestamp;
use kesher_core::{BranchId, CustomerId, SegmentRunId};
use kesher_store::rows::{self, SEGMENT_EVENT_SELECT, SEGMENT_MEMBER_SELECT};
use kesher_store::{Result, SegmentEvent, SegmentEventKind, SegmentMember};
use postgres::GenericClient;
use uuid::Uuid;

/// Customers per statement.
const CHUNK: usize = 8192;

fn uuids(customers: &[CustomerId]) -> Vec<Uuid> {
    customers.iter().map(|c| c.0).collect()
}

/// The customers of `chunk` that `returned` names, in the chunk's order.
fn in_order(chunk: &[CustomerId], returned: Vec<Uuid>) -> Vec<CustomerId> {
    let returned: std::collections::HashSet<Uuid> = returned.into_iter().collect();
    chunk.iter().filter(|c| returned.contains(&c.0)).copied().collect()
}

pub(crate) fn members<C: GenericClient>(c: &mut C, segment: &str) -> Result<Vec<SegmentMember>> {
    all(
        c,
        &format!("{SEGMENT_MEMBER_SELECT} WHERE segment = $1 ORDER BY customer_id"),
        &[&segment],
        |r| rows::segment_member(r),
    )
}

pub(crate) fn add_members<C: GenericClient>(
    c: &mut C,
    segment: &str,
    customers: &[CustomerId],
    since: Timestamp,
) -> Result<Vec<CustomerId>> {
    let mut added = Vec::new();
    for chunk in customers.chunks(CHUNK) {
        let ids = uuids(chunk);
        let returned = c
            .query(
                "INSERT INTO segment_members (segment, customer_id, since)
                 SELECT $1, u, $3 FROM unnest($2::uuid[]) AS u WHERE EXISTS (SELECT 1 FROM customers WHERE id = u)
                 ON CONFLICT (segment, customer_id) DO NOTHING RETURNING customer_id",
                &[&segment, &ids, &since],
            )
            .be()?
            .iter()
            .map(|r| col(r, 0))
            .collect::<Result<Vec<Uuid>>>()?;
        added.extend(in_order(chunk, returned));
    }
    Ok(added)
}

pub(crate) fn remove_members<C: GenericClient>(
    c: &mut C,
    segment: &str,
    customers: &[CustomerId],
) -> Result<Vec<CustomerId>> {
    let mut removed = Vec::new();
    for chunk in customers.chunks(CHUNK) {
        let ids = uuids(chunk);
        let returned = c
            .query(
                "DELETE FROM segment_members WHERE segment = $1 AND customer_id = ANY($2::uuid[]) RETURNING customer_id",
                &[&segment, &ids],
            )
            .be()?
            .iter()
            .map(|r| col(r, 0))
            .collect::<Result<Vec<Uuid>>>()?;
        removed.extend(in_order(chunk, returned));
    }
    Ok(removed)
}

pub(crate) fn insert_events<C: GenericClient>(
    c: &mut C,
    segment: &str,
    kind: SegmentEventKind,
    at: Timestamp,
    run: SegmentRunId,
    customers: &[CustomerId],
) -> Result<()> {
    for chunk in customers.chunks(CHUNK) {
        let ids = uuids(chunk);
        // Numbered in the order given: the rows are inserted in the array's order.
        c.execute(
            "INSERT INTO segment_events (segment, customer_id, kind, at, run_id)
             SELECT $1, u.id, $3, $4, $5 FROM unnest($2::uuid[]) WITH ORDINALITY AS u(id, n) ORDER BY u.n",
            &[&segment, &ids, &kind.as_str(), &at, &run.0],
        )
        .be()?;
    }
    Ok(())
}

/// A customer's memberships (by segment) and history (in the order written), for the export.
pub(crate) fn of_customer<C: GenericClient>(
    c: &mut C,
    customer: CustomerId,
) -> Result<(Vec<SegmentMember>, Vec<SegmentEvent>)> {
    let members = all(
        c,
        &format!("{SEGMENT_MEMBER_SELECT} WHERE customer_id = $1 ORDER BY segment"),
        &[&customer.0],
        |r| rows::segment_member(r),
    )?;
    let events = all(
        c,
        &format!("{SEGMENT_EVENT_SELECT} WHERE customer_id = $1 ORDER BY seq"),
        &[&customer.0],
        |r| rows::segment_event(r),
    )?;
    Ok((members, events))
}

impl kesher_store::SegmentHistory for PgStore {
    fn segment_events(
        &self,
        segment: &str,
        branch: Option<BranchId>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SegmentEvent>> {
        let branch = branch.map(|b| b.0);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            all(
                c,
                &format!(
                    "{SEGMENT_EVENT_SELECT} WHERE segment = $1
                     AND ($2::uuid IS NULL OR customer_id IN (SELECT id FROM customers WHERE source_branch = $2))
                     AND ($3::bigint IS NULL OR seq < $3) ORDER BY seq DESC LIMIT $4"
                ),
                &[&segment, &branch, &before, &limit],
                |r| rows::segment_event(r),
            )
        })
    }

    fn segment_member_count(&self, segment: &str, branch: Option<BranchId>) -> Result<u64> {
        let branch = branch.map(|b| b.0);
        self.with(|c| {
            count(
                c,
                "SELECT count(*) FROM segment_members WHERE segment = $1
                 AND ($2::uuid IS NULL OR customer_id IN (SELECT id FROM customers WHERE source_branch = $2))",
                &[&segment, &branch],
            )
        })
    }

    fn segments_with_members(&self) -> Result<Vec<String>> {
        self.with(|c| {
            c.query("SELECT DISTINCT segment FROM segment_members ORDER BY segment", &[])
                .be()?
                .iter()
                .map(|r| col(r, 0))
                .collect()
        })
    }
}
