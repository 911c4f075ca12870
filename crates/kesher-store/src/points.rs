//! The points ledger's part of the storage contract: balances, the ledger, the earning rule,
//! the bulk award, and what the backends and the workflows share in writing them. Redemptions,
//! adjustments and rule changes are workflows in `kesher-app` over a unit of work
//! ([`crate::unit`]).
//!
//! The guarantees every backend keeps, atomically, in its own way (docs/loyalty.md):
//! one accrual per sale ever (a unique index on the earn entry's transaction), one reversal per
//! refund, idempotency keys unique per customer (a unique index; a retry returns the first
//! entry), no redemption beyond the balance under any concurrency (the unit of work's
//! `Lock::Customers`: SQLite takes the write transaction up front; PostgreSQL locks the
//! customer's balance row `FOR UPDATE`), and the balance row equal to the sum of the ledger.

use crate::{Page, Result, StoreError};
use kesher_core::{BranchId, CustomerId};
use kesher_loyalty::{EarningRule, EntryKind, LedgerEntry};

/// A redemption or an adjustment as asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointsRequest {
    /// Positive for a redemption; either sign for an adjustment.
    pub points: i64,
    /// Required for an adjustment.
    pub reason: Option<String>,
    /// Required for a redemption: a retry with the same key returns the first entry.
    pub idempotency_key: Option<String>,
    /// Where it happened (the branch a redemption was made at).
    pub branch_id: Option<BranchId>,
}

/// Totals over every customer's points: what analysts may read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PointsTotals {
    /// Customers with a balance other than zero.
    pub customers: u64,
    /// Sum of every balance: the points the business owes. Sums are exact, saturated to i64's
    /// range (only balances from before kesher's bounds can reach it).
    pub outstanding: i64,
    /// Per entry kind present: (kind, entries, sum of points, saturated as `outstanding`).
    pub by_kind: Vec<(EntryKind, u64, i64)>,
}

/// What a bulk award wrote (`kesher_app`'s `App::award_points`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AwardReport {
    pub earned: u64,
    pub reversed: u64,
    pub points: i64,
}

pub trait Points {
    /// How sales earn points (empty: they earn nothing).
    fn earning_rule(&self) -> Result<EarningRule>;
    /// A customer's balance (0 before any entry); `NotFound` when there is no such customer.
    fn points_balance(&self, customer: CustomerId) -> Result<i64>;
    /// A customer's ledger, newest first.
    fn points_ledger(&self, customer: CustomerId, limit: u32, offset: u64) -> Result<Page<LedgerEntry>>;
    fn points_totals(&self) -> Result<PointsTotals>;
    /// A customer's whole ledger, in the order it was written.
    fn points_entries(&self, customer: CustomerId) -> Result<Vec<LedgerEntry>>;
    /// Customers with a positive balance and an entry that added points at or before `cutoff`
    /// (those whose oldest lots may have expired), by id after `after`, at most `limit`.
    fn customers_with_lots_before(
        &self,
        cutoff: jiff::Timestamp,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Vec<CustomerId>>;
}

/// A stored entry kind back to an `EntryKind`.
pub fn stored_kind(s: &str) -> Result<EntryKind> {
    EntryKind::parse(s).map_err(|e| StoreError::Backend(format!("stored ledger kind: {e}")))
}

/// A stored rate back to a rule entry.
pub fn stored_rate(
    currency: &str,
    points: i64,
    per_minor: i64,
) -> Result<(kesher_core::Currency, kesher_loyalty::EarnRate)> {
    let c = kesher_core::Currency::from_stored(currency)
        .map_err(|e| StoreError::Backend(format!("stored currency: {e}")))?;
    Ok((c, kesher_loyalty::EarnRate::stored(points, per_minor)))
}
