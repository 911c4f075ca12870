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

use crate::{Page, Recorded, Result, StoreError};
use kesher_core::{BranchId, CustomerId, Params};
use kesher_loyalty::{EarningRule, EntryKind, LedgerEntry, LoyaltyError};

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
    /// Sum of every balance: the points the business owes.
    pub outstanding: i64,
    /// Per entry kind present: (kind, entries, sum of points).
    pub by_kind: Vec<(EntryKind, u64, i64)>,
}

/// What `Points::award_points` wrote.
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
}

/// A loyalty decision's refusal as a store error: short balance is a conflict on `points`.
pub fn loyalty_error(e: LoyaltyError) -> StoreError {
    match e {
        LoyaltyError::InsufficientBalance { .. } => {
            StoreError::conflict_coded(e.code(), "points", e.params(), e.to_string())
        }
        LoyaltyError::Invalid {
            code,
            field,
            reason,
            params,
        } => StoreError::Invalid {
            field,
            reason,
            code,
            params,
        },
    }
}

/// The request's idempotency key checked, and required when `required`.
pub fn request_key(req: &PointsRequest, required: bool) -> Result<Option<String>> {
    match req.idempotency_key.as_deref() {
        Some(k) => kesher_loyalty::parse_idempotency_key(k)
            .map(Some)
            .map_err(loyalty_error),
        None if required => Err(StoreError::invalid_coded(
            "idempotency_key.missing",
            "idempotency_key",
            Params::new(),
            "required: send the Idempotency-Key header or an idempotency_key field",
        )),
        None => Ok(None),
    }
}

/// A request retried with a key already used: the first entry when it asked for the same thing,
/// a conflict on the key otherwise.
pub fn retried(existing: LedgerEntry, kind: EntryKind, points: i64) -> Result<Recorded<LedgerEntry>> {
    if existing.kind == kind && existing.points == points {
        Ok(Recorded {
            value: existing,
            created: false,
        })
    } else {
        Err(StoreError::conflict_coded(
            "idempotency_key.reused",
            "idempotency_key",
            kesher_core::params!(kind = existing.kind.as_str(), points = existing.points),
            format!(
                "the key was used for another request ({} of {} points)",
                existing.kind.as_str(),
                existing.points
            ),
        ))
    }
}

/// A redemption's or adjustment's audit entry: `points.redeem` / `points.adjust` about the
/// customer (so that erasure redacts it), with the balance before and after.
pub fn points_audit(e: &LedgerEntry) -> (String, serde_json::Value, serde_json::Value) {
    let before = serde_json::json!({ "balance": e.balance_after - e.points });
    let after = serde_json::json!({
        "balance": e.balance_after, "points": e.points, "reason": e.reason, "seq": e.seq,
        "idempotency_key": e.idempotency_key, "branch_id": e.branch_id.map(|b| b.to_string()),
    });
    (format!("points.{}", e.kind.as_str()), before, after)
}

/// The earning rule as written in the audit log.
pub fn rule_audit_json(rule: &EarningRule) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (c, r) in rule.rates() {
        m.insert(
            c.as_str().to_string(),
            serde_json::json!({ "points": r.points(), "per_minor": r.per_minor() }),
        );
    }
    serde_json::Value::Object(m)
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
    let c = kesher_core::Currency::parse(currency).map_err(|e| StoreError::Backend(format!("stored currency: {e}")))?;
    let r = kesher_loyalty::EarnRate::new(points, per_minor)
        .map_err(|e| StoreError::Backend(format!("stored earning rate: {e}")))?;
    Ok((c, r))
}
