//! Saved segments over time on SQLite: the members and history rows inside a unit of work
//! (`Tx`), and the `SegmentHistory` reads.

use crate::convert::{Ctx, all};
use crate::{SqliteStore, ts};
use jiff::Timestamp;
use kesher_core::{BranchId, CustomerId, SegmentRunId};
use kesher_store::rows::{self, Columns, SEGMENT_EVENT_SELECT, SEGMENT_MEMBER_SELECT};
use kesher_store::{Result, SegmentEvent, SegmentEventKind, SegmentMember};
use rusqlite::{Connection, params};

pub(crate) fn members(c: &Connection, segment: &str) -> Result<Vec<SegmentMember>> {
    all(
        c,
        &format!("{SEGMENT_MEMBER_SELECT} WHERE segment = ?1 ORDER BY customer_id"),
        [segment],
        |r| rows::segment_member(r),
    )
}

pub(crate) fn add_members(
    c: &Connection,
    segment: &str,
    customers: &[CustomerId],
    since: Timestamp,
) -> Result<Vec<CustomerId>> {
    let mut st = c
        .prepare_cached(
            "INSERT INTO segment_members (segment, customer_id, since)
             SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM customers WHERE id = ?2)
             ON CONFLICT (segment, customer_id) DO NOTHING",
        )
        .be()?;
    let mut added = Vec::new();
    for id in customers {
        if st.execute(params![segment, id.as_bytes(), ts(since)]).be()? > 0 {
            added.push(*id);
        }
    }
    Ok(added)
}

pub(crate) fn remove_members(c: &Connection, segment: &str, customers: &[CustomerId]) -> Result<Vec<CustomerId>> {
    let mut st = c
        .prepare_cached("DELETE FROM segment_members WHERE segment = ?1 AND customer_id = ?2")
        .be()?;
    let mut removed = Vec::new();
    for id in customers {
        if st.execute(params![segment, id.as_bytes()]).be()? > 0 {
            removed.push(*id);
        }
    }
    Ok(removed)
}

pub(crate) fn insert_events(
    c: &Connection,
    segment: &str,
    kind: SegmentEventKind,
    at: Timestamp,
    run: SegmentRunId,
    customers: &[CustomerId],
) -> Result<()> {
    let mut st = c
        .prepare_cached(
            "INSERT INTO segment_events (segment, customer_id, kind, at, run_id) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .be()?;
    for id in customers {
        st.execute(params![segment, id.as_bytes(), kind.as_str(), ts(at), run.as_bytes()])
            .be()?;
    }
    Ok(())
}

/// A customer's memberships (by segment) and history (in the order written), for the export.
pub(crate) fn of_customer(c: &Connection, customer: CustomerId) -> Result<(Vec<SegmentMember>, Vec<SegmentEvent>)> {
    let members = all(
        c,
        &format!("{SEGMENT_MEMBER_SELECT} WHERE customer_id = ?1 ORDER BY segment"),
        [customer.as_bytes()],
        |r| rows::segment_member(r),
    )?;
    let events = all(
        c,
        &format!("{SEGMENT_EVENT_SELECT} WHERE customer_id = ?1 ORDER BY seq"),
        [customer.as_bytes()],
        |r| rows::segment_event(r),
    )?;
    Ok((members, events))
}

impl kesher_store::SegmentHistory for SqliteStore {
    fn segment_events(
        &self,
        segment: &str,
        branch: Option<BranchId>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SegmentEvent>> {
        all(
            &*self.read()?,
            &format!(
                "{SEGMENT_EVENT_SELECT} WHERE segment = ?1
                 AND (?2 IS NULL OR customer_id IN (SELECT id FROM customers WHERE source_branch = ?2))
                 AND (?3 IS NULL OR seq < ?3) ORDER BY seq DESC LIMIT ?4"
            ),
            params![
                segment,
                branch.map(|b| b.as_bytes().to_vec()),
                before,
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            |r| rows::segment_event(r),
        )
    }

    fn segment_member_count(&self, segment: &str, branch: Option<BranchId>) -> Result<u64> {
        let n: i64 = self
            .read()?
            .prepare_cached(
                "SELECT count(*) FROM segment_members WHERE segment = ?1
                 AND (?2 IS NULL OR customer_id IN (SELECT id FROM customers WHERE source_branch = ?2))",
            )
            .be()?
            .query_row(params![segment, branch.map(|b| b.as_bytes().to_vec())], |r| r.get(0))
            .be()?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn segments_with_members(&self) -> Result<Vec<String>> {
        all(
            &*self.read()?,
            "SELECT DISTINCT segment FROM segment_members ORDER BY segment",
            [],
            |r| r.text(0),
        )
    }
}
