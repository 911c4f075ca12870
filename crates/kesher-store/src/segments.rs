//! Saved segments over time as stored: who is in each saved segment now and when each customer
//! entered and left it. The reads are the `Store`'s ([`SegmentHistory`]); the rows are written
//! inside a unit of work (`Tx::segment_members`, `add_segment_members`, `remove_segment_members`,
//! `insert_segment_events`) by the workflows in `kesher-app` (`App::refresh_segment_history`,
//! `App::delete_segment`).

use crate::Result;
use jiff::Timestamp;
use kesher_core::{BranchId, CustomerId, SegmentRunId};

/// Whether a customer entered or left a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentEventKind {
    Entered,
    Left,
}

impl SegmentEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentEventKind::Entered => "entered",
            SegmentEventKind::Left => "left",
        }
    }
    pub fn parse(s: &str) -> Option<SegmentEventKind> {
        match s {
            "entered" => Some(SegmentEventKind::Entered),
            "left" => Some(SegmentEventKind::Left),
            _ => None,
        }
    }
}

/// One line of a segment's history (append-only, numbered in the order written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentEvent {
    pub seq: i64,
    pub segment: String,
    pub customer_id: CustomerId,
    pub kind: SegmentEventKind,
    pub at: Timestamp,
    /// The refresh run that found it (or the deletion of the saved segment).
    pub run_id: SegmentRunId,
}

/// A customer in a segment now, since the run that found them entering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentMember {
    pub segment: String,
    pub customer_id: CustomerId,
    pub since: Timestamp,
}

pub trait SegmentHistory {
    /// The segment's events, newest first (by `seq`), those before `before` when given (keyset
    /// paging: pass the last `seq` of the previous page), only of customers registered at
    /// `branch` when given; at most `limit`.
    fn segment_events(
        &self,
        segment: &str,
        branch: Option<BranchId>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SegmentEvent>>;
    /// How many customers are in the segment now (those registered at `branch` when given).
    fn segment_member_count(&self, segment: &str, branch: Option<BranchId>) -> Result<u64>;
    /// The names of the segments that have members now, by name (a refresh ends the
    /// memberships of a segment no longer saved).
    fn segments_with_members(&self) -> Result<Vec<String>>;
}
