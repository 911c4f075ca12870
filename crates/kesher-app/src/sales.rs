//! Recording a sale, written once over the store's unit of work: the transaction and its lines,
//! idempotent on the external id, and in the same unit the points it earns by the earning rule
//! — or, for a refund, its share of what the refunded sale earned (docs/loyalty.md).

use crate::App;
use crate::points::loyalty_error;
use kesher_core::{BranchId, Transaction, TransactionId};
use kesher_loyalty::{EntryKind, LedgerEntry, Refund, SaleMembership};
use kesher_store::{Actor, Inserted, Lock, NewLedgerEntry, PointsRows, Recorded, RecordedSale, Result, StoreError, Tx};

impl App {
    /// Record a sale or a refund. A second call with the same external id returns the first
    /// transaction and its points entry and writes nothing. A sale of an identified customer
    /// earns points by the earning rule; a refund takes back its share of what the sale earned
    /// (once per sale or refund, ever: the store's unique indexes back this up).
    pub fn record_sale(&self, t: &Transaction, actor: &Actor) -> Result<RecordedSale> {
        t.validate().map_err(StoreError::from)?;
        kesher_core::check_instant(t.occurred_at, self.now(), "occurred_at").map_err(StoreError::from)?;
        let mut tx = self.store.begin(Lock::Writes)?;
        if let Some(existing) = tx.transaction_by_external(&t.external_id)? {
            // The answer names this sale: it must outlive an import that may have written it.
            tx.keep_sale(existing.id)?;
            let recorded = already_recorded(self, tx.as_mut(), existing)?;
            tx.commit()?;
            return Ok(recorded);
        }
        match tx.insert_sale(t)? {
            Inserted::New => {}
            // A concurrent call with the same external id committed first: return its result.
            Inserted::AlreadyPresent | Inserted::Repeated => {
                let existing = tx
                    .transaction_by_external(&t.external_id)?
                    .ok_or_else(|| StoreError::Backend(format!("transaction {} vanished", t.external_id)))?;
                return already_recorded(self, tx.as_mut(), existing);
            }
        }
        let (points, membership) = accrue(self, tx.as_mut(), t, actor)?;
        tx.commit()?;
        Ok(RecordedSale {
            transaction: Recorded {
                value: t.clone(),
                created: true,
            },
            points,
            membership,
        })
    }

    /// Accrue recorded sales that have not earned yet, and take back recorded refunds' shares, in
    /// the order given, each at its own time as if the program had run then (the clock of the
    /// accrual and of any tier upgrade is the sale's instant), in one unit of work. An accrual
    /// already made is left as it is. What `kesher demo` gives its history under its program.
    pub fn replay_accruals(&self, sales: &[TransactionId], actor_name: &str) -> Result<kesher_store::AwardReport> {
        let clock = std::sync::Arc::new(crate::clock::ManualClock::new(self.now()));
        let at_sale = self.clone().with_clock(clock.clone());
        let mut report = kesher_store::AwardReport::default();
        let mut tx = self.store.begin(Lock::Writes)?;
        for id in sales {
            if tx.points_entry_for_transaction(*id)?.is_some() {
                continue;
            }
            let Some(t) = self.store.get_transaction(*id)? else {
                continue;
            };
            clock.set(t.occurred_at);
            let actor = Actor::new(actor_name, t.occurred_at);
            if let (Some(e), _) = accrue(&at_sale, tx.as_mut(), &t, &actor)? {
                if e.kind == EntryKind::Reverse {
                    report.reversed += 1;
                } else {
                    report.earned += 1;
                }
                report.points = report.points.saturating_add(e.points);
            }
        }
        tx.commit()?;
        Ok(report)
    }

    /// [`App::record_sale`] by the system (no person to name), at the sale's own time.
    pub fn record_transaction(&self, t: &Transaction) -> Result<Recorded<Transaction>> {
        Ok(self.record_sale(t, &Actor::new("system", t.occurred_at))?.transaction)
    }
}

fn already_recorded(app: &App, tx: &mut dyn Tx, existing: Transaction) -> Result<RecordedSale> {
    let points = tx.points_entry_for_transaction(existing.id)?;
    let membership = crate::loyalty::membership_now(app, tx, existing.customer_id)?;
    Ok(RecordedSale {
        transaction: Recorded {
            value: existing,
            created: false,
        },
        points,
        membership,
    })
}

/// What a just-inserted sale earns, or a refund takes back: the entry written, if any, and the
/// customer's standing in the program after it. Under a loyalty program a sale earns by the
/// program (its breakdown kept) and may lift the member's tier; without one, by the earning rule.
fn accrue(
    app: &App,
    tx: &mut dyn Tx,
    t: &Transaction,
    actor: &Actor,
) -> Result<(Option<LedgerEntry>, Option<SaleMembership>)> {
    let total = t.total().ok_or_else(|| {
        StoreError::invalid_coded(
            "transaction.total.overflow",
            "lines",
            kesher_core::Params::new(),
            "transaction total overflows",
        )
    })?;
    if let Some(sale) = t.refund_of {
        let entry = reverse_refund(tx, t.id, sale, total, t.branch_id, actor, app.now())?;
        let membership = crate::loyalty::membership_now(app, tx, t.customer_id)?;
        return Ok((entry, membership));
    }
    let Some(customer) = t.customer_id else {
        return Ok((None, None));
    };
    if let Some(pa) = crate::loyalty::program_accrual(app, tx, t, customer, total)? {
        let entry = if pa.accrual.points > 0 {
            tx.lock_points(customer)?;
            let balance = tx.points_balance(customer)?;
            let posting = kesher_loyalty::earn_points(pa.accrual.points, balance).map_err(loyalty_error)?;
            // Held for the program's return window from the sale's time (a sale older than the
            // window is spendable at once).
            let available_at = pa
                .program
                .pending_window()
                .and_then(|w| t.occurred_at.checked_add(w).ok())
                .filter(|a| *a > app.now());
            Some(tx.insert_points_entry(&NewLedgerEntry {
                customer,
                posting,
                reason: None,
                idempotency_key: None,
                transaction: Some(t.id),
                branch: Some(t.branch_id),
                actor,
                breakdown: pa.accrual.parts.clone(),
                available_at,
            })?)
        } else {
            None
        };
        if let Some(r) = pa.referral {
            crate::loyalty::pay_referral(tx, customer, r, t, actor)?;
        }
        let at = app.now().max(t.occurred_at);
        let membership = crate::loyalty::upgrade_after_sale(tx, &pa, at, actor)?;
        return Ok((entry, membership));
    }
    let rule = tx.earning_rule()?;
    if rule.points_for(t.currency, total).map_err(loyalty_error)? == 0 {
        return Ok((None, None));
    }
    tx.lock_points(customer)?;
    let balance = tx.points_balance(customer)?;
    let Some(posting) = kesher_loyalty::earn(&rule, t.currency, total, balance).map_err(loyalty_error)? else {
        return Ok((None, None));
    };
    let entry = tx.insert_points_entry(&NewLedgerEntry {
        customer,
        posting,
        reason: None,
        idempotency_key: None,
        transaction: Some(t.id),
        branch: Some(t.branch_id),
        actor,
        breakdown: Vec::new(),
        available_at: None,
    })?;
    Ok((Some(entry), None))
}

/// A refund's reversal: its share of what the refunded sale earned, taken from whoever holds
/// that sale's points now (a merge moves them); nothing when the sale earned nothing or the
/// share was taken back already. Written once for a recorded refund and the bulk award.
pub(crate) fn reverse_refund(
    rows: &mut dyn PointsRows,
    refund: TransactionId,
    sale: TransactionId,
    refund_total: i64,
    branch: BranchId,
    actor: &Actor,
    now: jiff::Timestamp,
) -> Result<Option<LedgerEntry>> {
    let Some(earned) = rows
        .points_entry_for_transaction(sale)?
        .filter(|e| e.kind == EntryKind::Earn)
    else {
        return Ok(None);
    };
    // Lock first: the sale's other refunds and their reversals are read after it.
    rows.lock_points(earned.customer_id)?;
    let facts = rows.refund_facts(sale, refund)?;
    let balance = rows.points_balance(earned.customer_id)?;
    let facts = Refund {
        earned: earned.points,
        sale_total: facts.sale_total,
        refunded_before: facts.refunded_before,
        reversed_before: facts.reversed_before,
        amount: refund_total.saturating_neg(),
    };
    // An accrual with a breakdown is taken back part by part (the parts sum to the entry).
    let (posting, breakdown) = if earned.breakdown.is_empty() {
        let Some(posting) = kesher_loyalty::reverse(&facts, balance).map_err(loyalty_error)? else {
            return Ok(None);
        };
        (posting, Vec::new())
    } else {
        let parts = kesher_loyalty::program::reverse_parts(
            &earned.breakdown,
            facts.sale_total,
            facts.refunded_before,
            facts.amount,
        );
        let Some(posting) = kesher_loyalty::reverse_points(&parts, balance).map_err(loyalty_error)? else {
            return Ok(None);
        };
        (posting, parts)
    };
    rows.insert_points_entry(&NewLedgerEntry {
        customer: earned.customer_id,
        posting,
        reason: None,
        idempotency_key: None,
        transaction: Some(refund),
        branch: Some(branch),
        actor,
        breakdown,
        // Taken back while the sale's points are still pending: from the pending points, so the
        // spendable balance is never touched.
        available_at: earned.available_at.filter(|a| *a > now),
    })
    .map(Some)
}
