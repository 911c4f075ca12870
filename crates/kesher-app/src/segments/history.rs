//! Saved segments over time: every saved segment evaluated again (`App::refresh_segment_history`,
//! the job `segments.refresh` and the end of each `kesher analyze`), the difference from the
//! members stored last time written as `entered` and `left` events with the run's instant, and a
//! segment's history read back page by page (`App::segment_history`). Triggered campaigns fire
//! on entry: an entry is recorded once, by the run that found it.
//!
//! What ends a segment's history: deleting the saved segment (`App::delete_segment`) records a
//! `left` event for each member in the same unit of work; a segment found with members but no
//! longer saved (its setting removed some other way) is ended the same way by the next refresh.
//! The history of a deleted segment stays readable by its name; saving a segment under that name
//! again starts a new stretch of the same history (its members enter again at the next refresh).
//! A segment's expression changed under the same name keeps its history: the next refresh records
//! who entered and left because of the change. There is no rename: a segment saved under a new
//! name is a new segment, and the old one's deletion ends the old history.

use super::{SEGMENT_KEY_PREFIX, SavedSegment, SegmentError};
use crate::App;
use jiff::Timestamp;
use kesher_core::{BranchId, CustomerId, SegmentRunId};
use kesher_segment::Segment;
use kesher_store::{Actor, Lock, SegmentEvent, SegmentEventKind, StoreError, Tx};

/// The most events one page of a segment's history holds.
pub const MAX_HISTORY_PAGE: usize = 1000;

/// What a refresh did to one segment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SegmentRefreshed {
    pub name: String,
    /// Members after the run.
    pub members: u64,
    pub entered: u64,
    pub left: u64,
    /// Why the segment was not refreshed (its stored expression no longer parses, or it was
    /// changed or deleted while the run evaluated it); its members are then left as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What one refresh run did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SegmentRefresh {
    /// The run's id, on every event it wrote.
    pub run_id: SegmentRunId,
    /// The run's instant: every event's `at`, every new member's `since`.
    pub at: Timestamp,
    /// Each saved segment, by name.
    pub segments: Vec<SegmentRefreshed>,
    /// Segments found with members but no longer saved, whose members this run saw leave.
    pub ended: Vec<SegmentRefreshed>,
}

/// One page of a segment's history, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentHistoryPage {
    pub segment: String,
    /// Whether the segment is saved now (a deleted one's history stays readable).
    pub saved: bool,
    /// Its members now (of the branch, when the history is read for one).
    pub members: u64,
    pub events: Vec<SegmentEvent>,
    /// The `before` of the next page, when there is one.
    pub next_before: Option<i64>,
}

/// An instant as the stores keep it: to the microsecond.
pub(crate) fn instant(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

/// End the time of every member of `segment` in it (a `left` event each, at `at`); returns how
/// many left.
pub(crate) fn end_memberships(
    tx: &mut dyn Tx,
    segment: &str,
    at: Timestamp,
    run: SegmentRunId,
) -> Result<u64, StoreError> {
    let members: Vec<CustomerId> = tx
        .segment_members(segment)?
        .into_iter()
        .map(|m| m.customer_id)
        .collect();
    let left = tx.remove_segment_members(segment, &members)?;
    tx.insert_segment_events(segment, SegmentEventKind::Left, at, run, &left)?;
    Ok(left.len() as u64)
}

/// Who is in `now` but not in `before`, and who is in `before` but not in `now` (both sorted).
fn difference(before: &[CustomerId], now: &[CustomerId]) -> (Vec<CustomerId>, Vec<CustomerId>) {
    let (mut entered, mut left) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < before.len() || j < now.len() {
        match (before.get(i), now.get(j)) {
            (Some(b), Some(n)) if b == n => {
                i += 1;
                j += 1;
            }
            (Some(b), Some(n)) if b < n => {
                left.push(*b);
                i += 1;
            }
            (Some(_), Some(n)) | (None, Some(n)) => {
                entered.push(*n);
                j += 1;
            }
            (Some(b), None) => {
                left.push(*b);
                i += 1;
            }
            (None, None) => break,
        }
    }
    (entered, left)
}

impl App {
    /// Evaluate every saved segment (in one pass over the customers: `evaluate_segments`) and,
    /// one unit of work per segment, write who entered and who left since the members stored
    /// last time, with the run's instant (`actor.at`, to the microsecond) and id; then end the
    /// memberships of segments no longer saved. A segment whose stored expression no longer
    /// parses, or that was changed or deleted while the run evaluated it, is skipped and named in
    /// the report. Store failures end the run (the segments done so far stay done).
    pub fn refresh_segment_history(&self, actor: &Actor) -> Result<SegmentRefresh, SegmentError> {
        let at = instant(actor.at);
        let run = crate::ids::segment_run();
        let saved = self.list_segments()?;
        let mut report = SegmentRefresh {
            run_id: run,
            at,
            segments: Vec::new(),
            ended: Vec::new(),
        };
        let mut parsed: Vec<(&SavedSegment, Segment)> = Vec::new();
        for s in &saved {
            match Segment::parse(&s.expression) {
                Ok(seg) => parsed.push((s, seg)),
                Err(e) => report.segments.push(SegmentRefreshed {
                    name: s.name.clone(),
                    members: 0,
                    entered: 0,
                    left: 0,
                    skipped: Some(format!("the stored expression no longer parses: {e}")),
                }),
            }
        }
        let segments: Vec<&Segment> = parsed.iter().map(|(_, seg)| seg).collect();
        let found = self.evaluate_segments(&segments)?;
        for ((s, _), members) in parsed.iter().zip(found) {
            report.segments.push(self.write_segment_members(s, &members, at, run)?);
        }
        report.segments.sort_by(|a, b| a.name.cmp(&b.name));
        for name in self.store.segments_with_members()? {
            if saved.iter().any(|s| s.name == name) {
                continue;
            }
            let mut tx = self.store.begin(Lock::Writes)?;
            // Saved again meanwhile: the next run evaluates it.
            if tx.setting(&format!("{SEGMENT_KEY_PREFIX}{name}"))?.is_some() {
                continue;
            }
            let left = end_memberships(&mut *tx, &name, at, run)?;
            tx.commit()?;
            report.ended.push(SegmentRefreshed {
                name,
                members: 0,
                entered: 0,
                left,
                skipped: None,
            });
        }
        Ok(report)
    }

    /// One segment's new members written against the stored ones, in one unit of work that
    /// holds the saved segment's setting (so that a deletion or a concurrent run of the same
    /// segment waits for it).
    fn write_segment_members(
        &self,
        saved: &SavedSegment,
        members: &[CustomerId],
        at: Timestamp,
        run: SegmentRunId,
    ) -> Result<SegmentRefreshed, SegmentError> {
        let name = saved.name.as_str();
        let mut report = SegmentRefreshed {
            name: name.to_string(),
            members: 0,
            entered: 0,
            left: 0,
            skipped: None,
        };
        let mut tx = self.store.begin(Lock::Writes)?;
        let now: Option<SavedSegment> = tx
            .setting(&format!("{SEGMENT_KEY_PREFIX}{name}"))?
            .and_then(|v| serde_json::from_str(&v).ok());
        match now {
            None => {
                report.skipped = Some("deleted while the run evaluated it".into());
                return Ok(report);
            }
            Some(now) if now.expression != saved.expression => {
                report.skipped = Some("changed while the run evaluated it".into());
                return Ok(report);
            }
            Some(_) => {}
        }
        let mut before: Vec<CustomerId> = tx.segment_members(name)?.into_iter().map(|m| m.customer_id).collect();
        before.sort();
        let (entered, left) = difference(&before, members);
        let left = tx.remove_segment_members(name, &left)?;
        tx.insert_segment_events(name, SegmentEventKind::Left, at, run, &left)?;
        let entered = tx.add_segment_members(name, &entered, at)?;
        tx.insert_segment_events(name, SegmentEventKind::Entered, at, run, &entered)?;
        tx.commit()?;
        report.entered = entered.len() as u64;
        report.left = left.len() as u64;
        report.members = (before.len() as u64 + report.entered).saturating_sub(report.left);
        Ok(report)
    }

    /// A segment's history, newest first: the events before `before` (a `seq`; the previous
    /// page's `next_before`) when given, only of customers registered at `branch` when given, at
    /// most `limit` (1 to `MAX_HISTORY_PAGE`). `NotFound` when the segment is neither saved nor
    /// has any history.
    pub fn segment_history(
        &self,
        name: &str,
        branch: Option<BranchId>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<SegmentHistoryPage, SegmentError> {
        super::check_name(name)?;
        let limit = limit.clamp(1, MAX_HISTORY_PAGE);
        let saved = match self.get_segment(name) {
            Ok(_) => true,
            Err(SegmentError::NotFound(_)) => false,
            Err(e) => return Err(e),
        };
        if !saved && self.store.segment_events(name, None, None, 1)?.is_empty() {
            return Err(SegmentError::NotFound(name.to_string()));
        }
        let mut events = self.store.segment_events(name, branch, before, limit + 1)?;
        let next_before = if events.len() > limit {
            events.truncate(limit);
            events.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(SegmentHistoryPage {
            segment: name.to_string(),
            saved,
            members: self.store.segment_member_count(name, branch)?,
            events,
            next_before,
        })
    }
}

#[cfg(test)]
mod tests;
