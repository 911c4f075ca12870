//! Identify: likely duplicates with a score and reason, and merging two records — the merge
//! written once over the store's unit of work.

use crate::App;
use crate::points::loyalty_error;
use kesher_core::{CustomerId, DuplicatePair, find_duplicates};
use kesher_store::{Actor, Lock, MergeReport, NewLedgerEntry, Result, StoreError, customer_json};

impl App {
    /// Likely duplicate pairs with a score of at least `min_score`, best first.
    pub fn duplicates(&self, min_score: f64) -> Result<Vec<DuplicatePair>> {
        let cands = self.store.duplicate_candidates()?;
        Ok(find_duplicates(&cands, min_score))
    }

    /// Merge `drop` into `keep` from the command line.
    pub fn merge(&self, keep: CustomerId, drop: CustomerId, who: &str) -> Result<MergeReport> {
        self.merge_customers(keep, drop, &Actor::new(who, self.now()).from("cli"))
    }

    /// Move every sale, contact, child account, identifier, consent change and point of `drop`
    /// to `keep`, fill the kept record's gaps from the dropped one, delete `drop` (its
    /// identifiers stay as aliases that find `keep`), and audit it: one unit of work.
    pub fn merge_customers(&self, keep: CustomerId, drop: CustomerId, actor: &Actor) -> Result<MergeReport> {
        if keep == drop {
            return Err(StoreError::invalid_coded(
                "customer.merge.self",
                "drop",
                kesher_core::Params::new(),
                "cannot merge a customer into itself",
            ));
        }
        let mut tx = self.store.begin(Lock::CustomerRecords(&[keep, drop]))?;
        let kept_before = tx
            .customer(keep)?
            .ok_or_else(|| StoreError::not_found("customer", keep))?;
        let dropped = tx
            .customer(drop)?
            .ok_or_else(|| StoreError::not_found("customer", drop))?;
        if kept_before.parent_id == Some(drop) {
            return Err(StoreError::invalid_coded(
                "customer.merge.kept_is_child",
                "drop",
                kesher_core::Params::new(),
                "the kept customer is attached to the dropped one as its parent",
            ));
        }
        let mut kept = kept_before.clone();
        let identifiers_moved = kept.absorb(&dropped);
        // Points: the balances as they stand under the customers' locks, then one zero-point
        // entry on the kept customer with the sum (the dropped entries move with the rows).
        let balances = if tx.has_points_entries(drop)? {
            let (first, second) = if keep < drop { (keep, drop) } else { (drop, keep) };
            tx.lock_points(first)?;
            tx.lock_points(second)?;
            Some((tx.points_balance(keep)?, tx.points_balance(drop)?))
        } else {
            None
        };
        let moved = tx.move_customer_rows(drop, keep)?;
        // The outbox: a campaign the kept customer was written to keeps the kept one's message.
        tx.move_campaign_messages(drop, keep)?;
        let points_moved = match balances {
            Some((kept_balance, dropped_balance)) => {
                let posting = kesher_loyalty::merge(kept_balance, dropped_balance).map_err(loyalty_error)?;
                let reason = format!("merged customer {drop} ({dropped_balance} points)");
                tx.insert_points_entry(&NewLedgerEntry {
                    customer: keep,
                    posting,
                    reason: Some(&reason),
                    idempotency_key: None,
                    transaction: None,
                    branch: None,
                    actor,
                    breakdown: Vec::new(),
                    available_at: None,
                })?;
                dropped_balance
            }
            None => 0,
        };
        tx.delete_customer_row(drop)?;
        for identifier in &identifiers_moved {
            let (kind, value) = identifier.split_once(':').unwrap_or(("member", identifier));
            tx.set_alias(kind, value, keep)?;
        }
        tx.update_customer_row(&kept, Some(&kept_before.consents))?;
        tx.record_merge(drop, keep, actor.at)?;
        let before = serde_json::json!({ "kept": customer_json(&kept_before), "dropped": customer_json(&dropped) });
        let after = serde_json::json!({
            "kept": customer_json(&kept),
            "transactions_moved": moved.transactions,
            "interactions_moved": moved.interactions,
            "children_moved": moved.children,
            "identifiers_moved": identifiers_moved,
            "points_moved": points_moved,
        });
        tx.append_audit(
            actor,
            "customer.merge",
            "customer",
            &keep.to_string(),
            Some(&before),
            Some(&after),
        )?;
        tx.commit()?;
        Ok(MergeReport {
            kept,
            dropped_id: drop,
            transactions_moved: moved.transactions,
            interactions_moved: moved.interactions,
            children_moved: moved.children,
            identifiers_moved,
            points_moved,
        })
    }
}
