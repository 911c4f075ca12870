//! The points workflows, written once over the store's unit of work: redeem, adjust, change
//! the earning rule, the bulk award. Each decides with `kesher_loyalty` under the lock it begins
//! with, writes the entry and its audit record, and commits once (docs/loyalty.md).

use crate::App;
use kesher_core::{CustomerId, Params};
use kesher_loyalty::{EarningRule, EntryKind, LedgerEntry, LoyaltyError};
use kesher_store::{
    Actor, AwardReport, Lock, NewLedgerEntry, Page, PointsRequest, PointsRows, PointsTotals, Recorded, Result,
    SaleScope, StoreError, UnearnedSale,
};

impl App {
    /// Redeem points: positive, no more than the balance (`Conflict` on `points` otherwise), with
    /// an idempotency key; a retry with the same key returns the first entry and writes nothing,
    /// the same key for another request is a `Conflict` on the key. Audited in the same unit.
    pub fn redeem_points(
        &self,
        customer: CustomerId,
        req: &PointsRequest,
        actor: &Actor,
    ) -> Result<Recorded<LedgerEntry>> {
        self.spend_or_adjust(EntryKind::Redeem, customer, req, actor)
    }

    /// Adjust points (either sign, with a reason; never below zero); idempotent on the key when
    /// one is given. Audited in the same unit.
    pub fn adjust_points(
        &self,
        customer: CustomerId,
        req: &PointsRequest,
        actor: &Actor,
    ) -> Result<Recorded<LedgerEntry>> {
        self.spend_or_adjust(EntryKind::Adjust, customer, req, actor)
    }

    fn spend_or_adjust(
        &self,
        kind: EntryKind,
        customer: CustomerId,
        req: &PointsRequest,
        actor: &Actor,
    ) -> Result<Recorded<LedgerEntry>> {
        let key = request_key(req, kind == EntryKind::Redeem)?;
        let mut tx = self.store.begin(Lock::Customers(&[customer]))?;
        if let Some(k) = &key
            && let Some(existing) = tx.points_entry_by_key(customer, k)?
        {
            let points = if kind == EntryKind::Redeem {
                req.points.saturating_neg()
            } else {
                req.points
            };
            // Nothing written: the unit rolls back as it is dropped.
            return retried(existing, kind, points);
        }
        let balance = tx.points_balance(customer)?;
        // Pending points (a sale's, inside the program's return window) are not spendable yet.
        let pending = tx.points_pending(customer, self.now())?;
        let (posting, reason) =
            kesher_loyalty::spend_or_adjust_pending(kind, balance, pending, req.points, req.reason.as_deref())
                .map_err(loyalty_error)?;
        let entry = tx.insert_points_entry(&NewLedgerEntry {
            customer,
            posting,
            reason: reason.as_deref(),
            idempotency_key: key.as_deref(),
            transaction: None,
            branch: req.branch_id,
            actor,
            breakdown: Vec::new(),
            available_at: None,
        })?;
        let (action, before, after) = points_audit(&entry);
        tx.append_audit(
            actor,
            &action,
            "customer",
            &customer.to_string(),
            Some(&before),
            Some(&after),
        )?;
        tx.commit()?;
        Ok(Recorded {
            value: entry,
            created: true,
        })
    }

    /// Replace the earning rule; audited with the rule before and after, one change at a time.
    pub fn set_earning_rule(&self, rule: &EarningRule, actor: &Actor) -> Result<()> {
        let mut tx = self.store.begin(Lock::EarningRule)?;
        let before = tx.earning_rule()?;
        tx.replace_earning_rule(rule)?;
        tx.append_audit(
            actor,
            "points.rule",
            "points_rule",
            "earning",
            Some(&rule_audit_json(&before)),
            Some(&rule_audit_json(rule)),
        )?;
        tx.commit()
    }

    /// How sales earn points (empty: they earn nothing).
    pub fn earning_rule(&self) -> Result<EarningRule> {
        self.store.earning_rule()
    }

    /// A customer's balance (0 before any entry); `NotFound` when there is no such customer.
    pub fn points_balance(&self, customer: CustomerId) -> Result<i64> {
        self.store.points_balance(customer)
    }

    /// A customer's ledger, newest first.
    pub fn points_ledger(&self, customer: CustomerId, limit: u32, offset: u64) -> Result<Page<LedgerEntry>> {
        self.store.points_ledger(customer, limit, offset)
    }

    /// Earn for every sale of an identified customer not yet earned (at or after `since`), then
    /// take back for the refunds of earned sales not yet reversed: the bulk path of the demo and
    /// `kesher points award`, one unit of work. Redemptions wait while it runs.
    pub fn award_points(&self, since: Option<jiff::Timestamp>, actor: &Actor) -> Result<AwardReport> {
        let mut tx = self.store.begin(Lock::AllPoints)?;
        let report = award(tx.as_mut(), SaleScope::Since(since), actor)?;
        tx.commit()?;
        Ok(report)
    }

    pub fn points_totals(&self) -> Result<PointsTotals> {
        self.store.points_totals()
    }
}

/// Sales read per page by [`award`].
const AWARD_PAGE: usize = 4096;

/// The bulk award inside a unit (an analyst's `award_points`, an import's `--award-points`):
/// every unearned sale in scope earns by the earning rule, customer by customer in time order
/// (each entry's balance runs on from the last), then every refund in scope whose sale earned
/// takes back its share. The rule is applied here and only here (`kesher_loyalty::earn`).
pub(crate) fn award(rows: &mut dyn PointsRows, scope: SaleScope<'_>, actor: &Actor) -> Result<AwardReport> {
    let rule = rows.earning_rule()?;
    let mut report = AwardReport::default();
    if rule.is_empty() {
        return Ok(report);
    }
    rows.lock_all_points()?;
    // An import's own sales come in one page: their ids are in memory already, and paging would
    // sort them again for every page (the import defers the (customer, time) index to commit).
    // A unit that commits between pages (an import in slices, which keeps its indexes) reads
    // pages of the usual size, so that each commit comes soon.
    let page_size = match scope {
        SaleScope::Only(ids) if !rows.commits_between_pages() => ids.len().max(1),
        _ => AWARD_PAGE,
    };
    let mut after: Option<UnearnedSale> = None;
    loop {
        let page = rows.unearned_sales(scope, after.as_ref(), page_size)?;
        let mut entries = Vec::with_capacity(page.len());
        // The balance the last entry of the page's current customer left (the stored one
        // before that: entries of earlier pages are stored already).
        let mut running: Option<(CustomerId, i64)> = None;
        for sale in &page {
            let balance = match running {
                Some((customer, balance)) if customer == sale.customer => balance,
                _ => sale.balance,
            };
            let posting = kesher_loyalty::earn(&rule, sale.currency, sale.total, balance).map_err(loyalty_error)?;
            running = Some((sale.customer, posting.map_or(balance, |p| p.balance_after)));
            if let Some(posting) = posting {
                report.earned += 1;
                report.points = report.points.saturating_add(posting.points);
                entries.push(NewLedgerEntry {
                    customer: sale.customer,
                    posting,
                    reason: None,
                    idempotency_key: None,
                    transaction: Some(sale.id),
                    branch: Some(sale.branch),
                    actor,
                    breakdown: Vec::new(),
                    available_at: None,
                });
            }
        }
        rows.insert_points_entries(&entries)?;
        let full = page.len() == page_size;
        after = page.last().copied();
        if !full {
            break;
        }
        rows.between_pages()?;
    }
    for (n, refund) in rows.unreversed_refunds(scope)?.into_iter().enumerate() {
        if n % AWARD_PAGE == AWARD_PAGE - 1 {
            rows.between_pages()?;
        }
        if let Some(e) = crate::sales::reverse_refund(
            rows,
            refund.id,
            refund.sale,
            refund.total,
            refund.branch,
            actor,
            actor.at,
        )? {
            report.reversed += 1;
            report.points = report.points.saturating_add(e.points);
        }
    }
    Ok(report)
}

/// A loyalty decision's refusal as a store error: short balance is a conflict on `points`.
pub(crate) fn loyalty_error(e: LoyaltyError) -> StoreError {
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
pub(crate) fn request_key(req: &PointsRequest, required: bool) -> Result<Option<String>> {
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
pub(crate) fn retried(existing: LedgerEntry, kind: EntryKind, points: i64) -> Result<Recorded<LedgerEntry>> {
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
pub(crate) fn points_audit(e: &LedgerEntry) -> (String, serde_json::Value, serde_json::Value) {
    let before = serde_json::json!({ "balance": e.balance_after - e.points });
    let after = serde_json::json!({
        "balance": e.balance_after, "points": e.points, "reason": e.reason, "seq": e.seq,
        "idempotency_key": e.idempotency_key, "branch_id": e.branch_id.map(|b| b.to_string()),
    });
    (format!("points.{}", e.kind.as_str()), before, after)
}

/// The earning rule as written in the audit log.
pub(crate) fn rule_audit_json(rule: &EarningRule) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (c, r) in rule.rates() {
        m.insert(
            c.as_str().to_string(),
            serde_json::json!({ "points": r.points(), "per_minor": r.per_minor() }),
        );
    }
    serde_json::Value::Object(m)
}
