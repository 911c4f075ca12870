//! The unit of work on SQLite: the writer connection held for the unit's life, a transaction
//! begun `IMMEDIATE` (the write lock taken before anything is read, so no other process can
//! slip a write in between a check and the write it decides), rolled back when dropped.

use crate::accounts::{erasure, records};
use crate::convert::{
    Ctx, check_identifiers_free, check_transaction_refs, insert_customer_row, insert_interaction_row,
    insert_transaction_rows, load_customer, load_transaction_by_external, one, product_cost, update_customer_row,
    write_consents,
};
use crate::loyalty;
use crate::points::store_rule;
use kesher_core::{Consent, Currency, Customer, CustomerId, Interaction, ProductId, Transaction};
use kesher_loyalty::{EarningRule, Member, MemberEvent};
use kesher_store::rows::{self, INTERACTION_SELECT};
use kesher_store::{
    Activity, Actor, Dependents, ErasureReport, Inserted, Lock, MovedRows, ProductFacts, Result, Tx, UnitOfWork,
};
use rusqlite::Connection;

/// An open unit of work on the writer connection.
pub(crate) struct SqliteTx<'a> {
    pub(crate) conn: crate::Writer<'a>,
    open: bool,
}

impl UnitOfWork for crate::SqliteStore {
    fn begin(&self, lock: Lock<'_>) -> Result<Box<dyn Tx + '_>> {
        let conn = self.write()?;
        conn.execute_batch("BEGIN IMMEDIATE").be()?;
        let tx = SqliteTx { conn, open: true };
        // The write lock covers every lock; what remains is to check the customers exist.
        if let Lock::Customers(ids) | Lock::CustomerRecords(ids) = lock {
            for id in ids {
                crate::points::require_customer(&tx.conn, *id)?;
            }
        }
        Ok(Box::new(tx))
    }
}

impl Tx for SqliteTx<'_> {
    fn customer(&mut self, id: CustomerId) -> Result<Option<Customer>> {
        load_customer(&self.conn, id)
    }

    fn check_identifiers_free(&mut self, c: &Customer) -> Result<()> {
        check_identifiers_free(&self.conn, c)
    }

    fn insert_customer_row(&mut self, c: &Customer) -> Result<Inserted> {
        insert_customer_row(&self.conn, c)
    }

    fn customer_dependents(&mut self, id: CustomerId) -> Result<Dependents> {
        let count = |sql: &str| -> Result<u64> {
            let n: i64 = self.conn.query_row(sql, [id.as_bytes()], |r| r.get(0)).be()?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        Ok(Dependents {
            transactions: count("SELECT count(*) FROM transactions WHERE customer_id = ?1")?,
            points_entries: count("SELECT count(*) FROM points_ledger WHERE customer_id = ?1")?,
            children: count("SELECT count(*) FROM customers WHERE parent_id = ?1")?,
            memberships: count(
                "SELECT (SELECT count(*) FROM loyalty_members WHERE customer_id = ?1)
                      + (SELECT count(*) FROM loyalty_members WHERE invited_by = ?1)",
            )?,
        })
    }

    fn delete_customer_rows(&mut self, id: CustomerId) -> Result<()> {
        for sql in [
            "DELETE FROM interactions WHERE customer_id = ?1",
            "DELETE FROM consents WHERE customer_id = ?1",
            "DELETE FROM customer_aliases WHERE customer_id = ?1",
            "DELETE FROM customer_scores WHERE customer_id = ?1",
            // Keyed by month first: one look-up per month of the history.
            "DELETE FROM customer_stages WHERE month IN (SELECT month FROM stage_months) AND customer_id = ?1",
            "DELETE FROM points_balances WHERE customer_id = ?1",
            "DELETE FROM loyalty_benefit_grants WHERE customer_id = ?1",
            "DELETE FROM segment_members WHERE customer_id = ?1",
            "DELETE FROM customers WHERE id = ?1",
            // The history's guard lets a row go once its customer is gone (migration 17).
            "DELETE FROM segment_events WHERE customer_id = ?1",
        ] {
            self.conn.execute(sql, [id.as_bytes()]).be()?;
        }
        Ok(())
    }

    fn is_erased(&mut self, id: CustomerId) -> Result<bool> {
        erasure::is_erased(&self.conn, id)
    }

    fn anonymise_customer(&mut self, id: CustomerId, at: jiff::Timestamp) -> Result<ErasureReport> {
        erasure::anonymise(&self.conn, id, at)
    }

    fn merged_into_customer(&mut self, kept: CustomerId) -> Result<Vec<CustomerId>> {
        erasure::merged_into(&self.conn, kept)
    }

    fn redact_audit(&mut self, entity_id: &str) -> Result<u64> {
        erasure::redact_audit(&self.conn, entity_id)
    }

    fn record_erasure(&mut self, id: CustomerId, at: jiff::Timestamp) -> Result<()> {
        erasure::record(&self.conn, id, at)
    }

    fn user(&mut self, id: kesher_core::UserId) -> Result<Option<kesher_store::User>> {
        records::user(&self.conn, id)
    }

    fn insert_user_row(&mut self, u: &kesher_store::User) -> Result<()> {
        records::insert_user(&self.conn, u)
    }

    fn update_user_row(&mut self, u: &kesher_store::User) -> Result<()> {
        records::update_user(&self.conn, u)
    }

    fn token(&mut self, id: kesher_core::TokenId) -> Result<Option<kesher_store::ApiToken>> {
        records::token(&self.conn, id)
    }

    fn insert_token_row(&mut self, t: &kesher_store::ApiToken) -> Result<()> {
        records::insert_token(&self.conn, t)
    }

    fn set_token_revoked(&mut self, id: kesher_core::TokenId, at: jiff::Timestamp) -> Result<()> {
        records::revoke_token(&self.conn, id, at)
    }

    fn setting(&mut self, key: &str) -> Result<Option<String>> {
        records::setting(&self.conn, key)
    }

    fn put_setting_row(&mut self, key: &str, value: &str) -> Result<()> {
        records::put_setting(&self.conn, key, value)
    }

    fn delete_setting_row(&mut self, key: &str) -> Result<()> {
        records::delete_setting(&self.conn, key)
    }

    fn interaction_by_external(&mut self, external_id: &str) -> Result<Option<Interaction>> {
        one(
            &self.conn,
            &format!("{INTERACTION_SELECT} WHERE external_id = ?1"),
            [external_id],
            |r| rows::interaction(r),
        )
    }

    fn insert_interaction_row(&mut self, i: &Interaction) -> Result<Inserted> {
        insert_interaction_row(&self.conn, i)
    }

    fn update_customer_row(&mut self, c: &Customer, consents_before: Option<&[Consent]>) -> Result<()> {
        update_customer_row(&self.conn, c)?;
        write_consents(&self.conn, c.id, &c.consents, consents_before)
    }

    fn move_customer_rows(&mut self, from: CustomerId, to: CustomerId) -> Result<MovedRows> {
        let c: &Connection = &self.conn;
        let (to, from) = (to.as_bytes(), from.as_bytes());
        let moved = |sql: &str| -> Result<u64> { Ok(c.execute(sql, [to, from]).be()? as u64) };
        let transactions = moved("UPDATE transactions SET customer_id = ?1 WHERE customer_id = ?2")?;
        let interactions = moved("UPDATE interactions SET customer_id = ?1 WHERE customer_id = ?2")?;
        let children = moved("UPDATE customers SET parent_id = ?1 WHERE parent_id = ?2")?;
        for sql in [
            "UPDATE customer_aliases SET customer_id = ?1 WHERE customer_id = ?2",
            "UPDATE consent_history SET customer_id = ?1 WHERE customer_id = ?2",
            "UPDATE merges SET kept_id = ?1 WHERE kept_id = ?2",
            "UPDATE points_ledger SET customer_id = ?1 WHERE customer_id = ?2",
            "UPDATE loyalty_member_events SET customer_id = ?1 WHERE customer_id = ?2",
            // A key both customers used stays with the kept customer's grant.
            "UPDATE loyalty_benefit_grants SET idempotency_key = NULL WHERE customer_id = ?2 AND idempotency_key IN
             (SELECT idempotency_key FROM loyalty_benefit_grants WHERE customer_id = ?1 AND idempotency_key IS NOT NULL)",
            "UPDATE loyalty_benefit_grants SET customer_id = ?1 WHERE customer_id = ?2",
            "UPDATE loyalty_members SET invited_by = ?1 WHERE invited_by = ?2",
            "UPDATE segment_events SET customer_id = ?1 WHERE customer_id = ?2",
            // In a segment both are in, the kept customer is a member since the earlier entry.
            "UPDATE segment_members SET since = (SELECT d.since FROM segment_members d
                 WHERE d.segment = segment_members.segment AND d.customer_id = ?2)
             WHERE customer_id = ?1 AND since > (SELECT d.since FROM segment_members d
                 WHERE d.segment = segment_members.segment AND d.customer_id = ?2)",
            "DELETE FROM segment_members WHERE customer_id = ?2
             AND segment IN (SELECT segment FROM segment_members WHERE customer_id = ?1)",
            "UPDATE segment_members SET customer_id = ?1 WHERE customer_id = ?2",
            // The membership moves to a kept customer without one; otherwise the kept one's stays.
            "UPDATE loyalty_members SET customer_id = ?1 WHERE customer_id = ?2
             AND NOT EXISTS (SELECT 1 FROM loyalty_members WHERE customer_id = ?1)",
        ] {
            moved(sql)?;
        }
        for sql in [
            "DELETE FROM consents WHERE customer_id = ?1",
            "DELETE FROM points_balances WHERE customer_id = ?1",
            "DELETE FROM loyalty_members WHERE customer_id = ?1",
            // The analysis of `from` is stale: the next refresh scores the customer it went to.
            "DELETE FROM customer_scores WHERE customer_id = ?1",
            "DELETE FROM customer_stages WHERE month IN (SELECT month FROM stage_months) AND customer_id = ?1",
        ] {
            c.execute(sql, [from]).be()?;
        }
        // A member who invited the other one does not become their own inviter.
        c.execute(
            "UPDATE loyalty_members SET invited_by = NULL WHERE customer_id = ?1 AND invited_by = ?1",
            [to],
        )
        .be()?;
        Ok(MovedRows {
            transactions,
            interactions,
            children,
        })
    }

    fn delete_customer_row(&mut self, id: CustomerId) -> Result<()> {
        self.conn
            .execute("DELETE FROM customers WHERE id = ?1", [id.as_bytes()])
            .be()?;
        Ok(())
    }

    fn set_alias(&mut self, kind: &str, value: &str, customer: CustomerId) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO customer_aliases (kind, value, customer_id) VALUES (?1, ?2, ?3)",
                rusqlite::params![kind, value, customer.as_bytes()],
            )
            .be()?;
        Ok(())
    }

    fn record_merge(&mut self, dropped: CustomerId, kept: CustomerId, at: jiff::Timestamp) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO merges (dropped_id, kept_id, at) VALUES (?1, ?2, ?3)",
                rusqlite::params![dropped.as_bytes(), kept.as_bytes(), crate::ts(at)],
            )
            .be()?;
        Ok(())
    }

    fn has_points_entries(&mut self, customer: CustomerId) -> Result<bool> {
        Ok(crate::points::count_entries(&self.conn, customer)? > 0)
    }

    fn loyalty_member(&mut self, customer: CustomerId) -> Result<Option<Member>> {
        loyalty::member(&self.conn, customer)
    }

    fn put_loyalty_member(&mut self, m: &Member) -> Result<()> {
        loyalty::put_member(&self.conn, m)
    }

    fn insert_member_event(&mut self, e: &MemberEvent) -> Result<MemberEvent> {
        loyalty::insert_event(&self.conn, e)
    }

    fn segment_members(&mut self, segment: &str) -> Result<Vec<kesher_store::SegmentMember>> {
        crate::segments::members(&self.conn, segment)
    }

    fn add_segment_members(
        &mut self,
        segment: &str,
        customers: &[CustomerId],
        since: jiff::Timestamp,
    ) -> Result<Vec<CustomerId>> {
        crate::segments::add_members(&self.conn, segment, customers, since)
    }

    fn remove_segment_members(&mut self, segment: &str, customers: &[CustomerId]) -> Result<Vec<CustomerId>> {
        crate::segments::remove_members(&self.conn, segment, customers)
    }

    fn insert_segment_events(
        &mut self,
        segment: &str,
        kind: kesher_store::SegmentEventKind,
        at: jiff::Timestamp,
        run: kesher_core::SegmentRunId,
        customers: &[CustomerId],
    ) -> Result<()> {
        crate::segments::insert_events(&self.conn, segment, kind, at, run, customers)
    }

    fn benefit_grant(&mut self, id: kesher_core::BenefitGrantId) -> Result<Option<kesher_loyalty::benefits::Grant>> {
        crate::benefits::grant(&self.conn, id)
    }

    fn benefit_grant_by_key(
        &mut self,
        customer: CustomerId,
        key: &str,
    ) -> Result<Option<kesher_loyalty::benefits::Grant>> {
        crate::benefits::grant_by_key(&self.conn, customer, key)
    }

    fn benefit_grants(&mut self, customer: CustomerId) -> Result<Vec<kesher_loyalty::benefits::Grant>> {
        crate::benefits::grants(&self.conn, customer)
    }

    fn insert_benefit_grant(&mut self, g: &kesher_loyalty::benefits::Grant) -> Result<()> {
        crate::benefits::insert_grant(&self.conn, g)
    }

    fn update_benefit_grant(&mut self, g: &kesher_loyalty::benefits::Grant) -> Result<()> {
        crate::benefits::update_grant(&self.conn, g)
    }

    fn benefit_grants_due(
        &mut self,
        now: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<kesher_loyalty::benefits::Grant>> {
        crate::benefits::grants_due(&self.conn, now, limit)
    }

    fn surprise_recipients_since(&mut self, benefit: &str, since: jiff::Timestamp) -> Result<Vec<CustomerId>> {
        crate::benefits::recipients_since(&self.conn, benefit, since)
    }

    fn insert_surprise_draw(&mut self, d: &kesher_store::SurpriseDraw) -> Result<()> {
        crate::benefits::insert_draw(&self.conn, d)
    }

    fn surprise_draw(&mut self, id: kesher_core::SurpriseDrawId) -> Result<Option<kesher_store::SurpriseDraw>> {
        crate::benefits::draw(&self.conn, id)
    }

    fn customer_activity(
        &mut self,
        customer: CustomerId,
        currency: Currency,
        since: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<Activity> {
        loyalty::activity(&self.conn, customer, currency, since, until)
    }

    fn product_facts(&mut self, ids: &[ProductId]) -> Result<Vec<ProductFacts>> {
        loyalty::product_facts(&self.conn, ids)
    }

    fn transaction_by_external(&mut self, external_id: &str) -> Result<Option<Transaction>> {
        load_transaction_by_external(&self.conn, external_id)
    }

    fn keep_sale(&mut self, sale: kesher_core::TransactionId) -> Result<()> {
        // Only a sale in a committed slice of an import still listed needs it (see
        // `import::remove_import`); `import_slices` holds a few rows per running import.
        self.conn
            .prepare_cached(
                "INSERT OR IGNORE INTO import_pinned_sales (seq)
                 SELECT t.seq FROM transactions t JOIN import_slices s
                   ON s.tbl = 'transactions' AND t.seq > s.lo AND t.seq <= s.hi
                 WHERE t.id = ?1",
            )
            .be()?
            .execute([sale.as_bytes()])
            .be()?;
        Ok(())
    }

    fn insert_sale(&mut self, t: &Transaction) -> Result<Inserted> {
        let c: &Connection = &self.conn;
        check_transaction_refs(c, t)?;
        insert_transaction_rows(c, t, &mut |p| product_cost(c, p))
    }

    fn replace_earning_rule(&mut self, rule: &EarningRule) -> Result<()> {
        store_rule(&self.conn, rule)
    }

    fn append_audit(
        &mut self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: &str,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
    ) -> Result<()> {
        crate::audit(&self.conn, actor, action, entity, entity_id, before, after)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.conn.execute_batch("COMMIT").be()?;
        self.open = false;
        Ok(())
    }
}

/// `PointsRows` for a unit that holds the writer connection in its `conn` field (a `SqliteTx`,
/// an import unit): every operation is a function of `crate::points` on that connection.
macro_rules! points_rows_on_conn {
    ($unit:ty $(; $($extra:tt)*)?) => {
        impl kesher_store::PointsRows for $unit {
            $($($extra)*)?
            fn earning_rule(&mut self) -> kesher_store::Result<kesher_loyalty::EarningRule> {
                crate::points::load_rule(&self.conn)
            }
            fn points_balance(&mut self, customer: kesher_core::CustomerId) -> kesher_store::Result<i64> {
                crate::points::balance(&self.conn, customer)
            }
            fn points_entries(
                &mut self,
                customer: kesher_core::CustomerId,
            ) -> kesher_store::Result<Vec<kesher_loyalty::LedgerEntry>> {
                crate::points::all_entries(&self.conn, customer)
            }
            fn points_pending(
                &mut self,
                customer: kesher_core::CustomerId,
                now: jiff::Timestamp,
            ) -> kesher_store::Result<i64> {
                crate::points::pending(&self.conn, customer, now)
            }
            fn lock_points(&mut self, _customer: kesher_core::CustomerId) -> kesher_store::Result<()> {
                // The unit holds SQLite's write lock: every customer is locked already.
                Ok(())
            }
            fn lock_all_points(&mut self) -> kesher_store::Result<()> {
                Ok(())
            }
            fn points_entry_by_key(
                &mut self,
                customer: kesher_core::CustomerId,
                key: &str,
            ) -> kesher_store::Result<Option<kesher_loyalty::LedgerEntry>> {
                crate::points::entry_by_key(&self.conn, customer, key)
            }
            fn points_entry_for_transaction(
                &mut self,
                transaction: kesher_core::TransactionId,
            ) -> kesher_store::Result<Option<kesher_loyalty::LedgerEntry>> {
                crate::points::entry_for_transaction(&self.conn, transaction)
            }
            fn refund_facts(
                &mut self,
                sale: kesher_core::TransactionId,
                refund: kesher_core::TransactionId,
            ) -> kesher_store::Result<kesher_store::RefundFacts> {
                crate::points::refund_facts(&self.conn, sale, refund)
            }
            fn insert_points_entry(
                &mut self,
                e: &kesher_store::NewLedgerEntry<'_>,
            ) -> kesher_store::Result<kesher_loyalty::LedgerEntry> {
                crate::points::write_entry(&self.conn, e)
            }
            fn insert_points_entries(
                &mut self,
                entries: &[kesher_store::NewLedgerEntry<'_>],
            ) -> kesher_store::Result<()> {
                crate::points::write_entries(&self.conn, entries)
            }
            fn unearned_sales(
                &mut self,
                scope: kesher_store::SaleScope<'_>,
                after: Option<&kesher_store::UnearnedSale>,
                limit: usize,
            ) -> kesher_store::Result<Vec<kesher_store::UnearnedSale>> {
                crate::points::unearned_sales(&self.conn, scope, after, limit)
            }
            fn unreversed_refunds(
                &mut self,
                scope: kesher_store::SaleScope<'_>,
            ) -> kesher_store::Result<Vec<kesher_store::UnreversedRefund>> {
                crate::points::unreversed_refunds(&self.conn, scope)
            }
        }
    };
}
pub(crate) use points_rows_on_conn;

points_rows_on_conn!(SqliteTx<'_>);

impl Drop for SqliteTx<'_> {
    fn drop(&mut self) {
        if self.open && !self.conn.is_autocommit() {
            // No caller is left to tell of a failed rollback; the next `BEGIN` on this
            // connection would fail and say so.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
