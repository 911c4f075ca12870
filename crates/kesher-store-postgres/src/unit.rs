//! The unit of work on PostgreSQL: one pooled connection held for the unit's life, `BEGIN` …
//! `COMMIT` under READ COMMITTED, the locks taken in `begin` (see `points` for why a row lock on
//! the balance serialises every writer of a customer's points), rolled back when dropped.

use crate::PgStore;
use crate::accounts::{erasure, records};
use crate::convert::{
    Ctx, check_identifiers_free, check_transaction_refs, count, insert_customer_row, insert_interaction_row,
    insert_transaction_rows, load_customer, load_transaction_by_external, lock_identifiers, one, update_customer_row,
    write_consents,
};
use crate::lock_customer;
use crate::loyalty;
use crate::points::{lock_balance, require_customer};
use kesher_core::{Consent, Currency, Customer, CustomerId, Interaction, ProductId, Transaction};
use kesher_loyalty::{EarningRule, Member, MemberEvent};
use kesher_store::rows::{self, INTERACTION_SELECT};
use kesher_store::{
    Activity, Actor, Dependents, ErasureReport, Inserted, Lock, MovedRows, ProductFacts, Result, StoreError, Tx,
    UnitOfWork,
};
use postgres::Client;

/// An open unit of work on its own connection.
pub(crate) struct PgTx<'a> {
    store: &'a PgStore,
    /// `None` once given back to the pool.
    client: Option<Client>,
    open: bool,
}

impl PgTx<'_> {
    fn rows_client(&mut self) -> Result<&mut Client> {
        self.client()
    }

    pub(crate) fn client(&mut self) -> Result<&mut Client> {
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Backend("the unit of work has ended".into()))
    }
}

impl UnitOfWork for PgStore {
    fn begin(&self, lock: Lock<'_>) -> Result<Box<dyn Tx + '_>> {
        let mut client = self.take()?;
        if let Err(e) = client.batch_execute("BEGIN") {
            self.give_back(client);
            return Err(e).be();
        }
        let mut tx = PgTx {
            store: self,
            client: Some(client),
            open: true,
        };
        let c = tx.client()?;
        match lock {
            Lock::Customers(ids) => {
                for id in ids {
                    require_customer(c, *id)?;
                }
                let mut ids = ids.to_vec();
                ids.sort();
                ids.dedup();
                for id in ids {
                    lock_balance(c, id)?;
                }
            }
            Lock::Identifiers => lock_identifiers(c)?,
            Lock::CustomerRecords(ids) => {
                // Identifier writers queue on one advisory lock; then the rows, in the order given
                // (no two holders of the advisory lock wait on each other).
                lock_identifiers(c)?;
                for id in ids {
                    lock_customer(c, *id)?;
                }
            }
            Lock::AllPoints => lock_all_points(c)?,
            Lock::EarningRule => c.batch_execute("LOCK TABLE points_rules IN EXCLUSIVE MODE").be()?,
            Lock::Writes => {}
        }
        Ok(Box::new(tx))
    }
}

impl Tx for PgTx<'_> {
    fn customer(&mut self, id: CustomerId) -> Result<Option<Customer>> {
        load_customer(self.client()?, id)
    }

    fn check_identifiers_free(&mut self, c: &Customer) -> Result<()> {
        check_identifiers_free(self.client()?, c)
    }

    fn insert_customer_row(&mut self, c: &Customer) -> Result<Inserted> {
        insert_customer_row(self.client()?, c, None)
    }

    fn customer_dependents(&mut self, id: CustomerId) -> Result<Dependents> {
        let c = self.client()?;
        let mut n = |sql: &str| -> Result<u64> { count(c, sql, &[&id.0]) };
        Ok(Dependents {
            transactions: n("SELECT count(*) FROM transactions WHERE customer_id = $1")?,
            points_entries: n("SELECT count(*) FROM points_ledger WHERE customer_id = $1")?,
            children: n("SELECT count(*) FROM customers WHERE parent_id = $1")?,
            memberships: n("SELECT (SELECT count(*) FROM loyalty_members WHERE customer_id = $1)
                               + (SELECT count(*) FROM loyalty_members WHERE invited_by = $1)")?,
        })
    }

    fn delete_customer_rows(&mut self, id: CustomerId) -> Result<()> {
        let c = self.client()?;
        for sql in [
            "DELETE FROM interactions WHERE customer_id = $1",
            "DELETE FROM consents WHERE customer_id = $1",
            "DELETE FROM customer_aliases WHERE customer_id = $1",
            "DELETE FROM points_balances WHERE customer_id = $1",
            "DELETE FROM loyalty_benefit_grants WHERE customer_id = $1",
            "DELETE FROM segment_members WHERE customer_id = $1",
            "DELETE FROM customers WHERE id = $1",
            // The history's guard lets a row go once its customer is gone (migration 17).
            "DELETE FROM segment_events WHERE customer_id = $1",
        ] {
            c.execute(sql, &[&id.0]).be()?;
        }
        crate::scores::forget(c, id.0)
    }

    fn is_erased(&mut self, id: CustomerId) -> Result<bool> {
        erasure::is_erased(self.client()?, id)
    }

    fn anonymise_customer(&mut self, id: CustomerId, at: jiff::Timestamp) -> Result<ErasureReport> {
        erasure::anonymise(self.client()?, id, at)
    }

    fn merged_into_customer(&mut self, kept: CustomerId) -> Result<Vec<CustomerId>> {
        erasure::merged_into(self.client()?, kept)
    }

    fn redact_audit(&mut self, entity_id: &str) -> Result<u64> {
        erasure::redact_audit(self.client()?, entity_id)
    }

    fn record_erasure(&mut self, id: CustomerId, at: jiff::Timestamp) -> Result<()> {
        erasure::record(self.client()?, id, at)
    }

    fn user(&mut self, id: kesher_core::UserId) -> Result<Option<kesher_store::User>> {
        records::user(self.client()?, id)
    }

    fn insert_user_row(&mut self, u: &kesher_store::User) -> Result<()> {
        records::insert_user(self.client()?, u)
    }

    fn update_user_row(&mut self, u: &kesher_store::User) -> Result<()> {
        records::update_user(self.client()?, u)
    }

    fn token(&mut self, id: kesher_core::TokenId) -> Result<Option<kesher_store::ApiToken>> {
        records::token(self.client()?, id)
    }

    fn insert_token_row(&mut self, t: &kesher_store::ApiToken) -> Result<()> {
        records::insert_token(self.client()?, t)
    }

    fn set_token_revoked(&mut self, id: kesher_core::TokenId, at: jiff::Timestamp) -> Result<()> {
        records::revoke_token(self.client()?, id, at)
    }

    fn setting(&mut self, key: &str) -> Result<Option<String>> {
        records::setting(self.client()?, key)
    }

    fn put_setting_row(&mut self, key: &str, value: &str) -> Result<()> {
        records::put_setting(self.client()?, key, value)
    }

    fn delete_setting_row(&mut self, key: &str) -> Result<()> {
        records::delete_setting(self.client()?, key)
    }

    fn interaction_by_external(&mut self, external_id: &str) -> Result<Option<Interaction>> {
        one(
            self.client()?,
            &format!("{INTERACTION_SELECT} WHERE external_id = $1"),
            &[&external_id],
            |r| rows::interaction(r),
        )
    }

    fn insert_interaction_row(&mut self, i: &Interaction) -> Result<Inserted> {
        insert_interaction_row(self.client()?, i, None)
    }

    fn update_customer_row(&mut self, cust: &Customer, consents_before: Option<&[Consent]>) -> Result<()> {
        let c = self.client()?;
        update_customer_row(c, cust)?;
        write_consents(c, cust.id, &cust.consents, consents_before)
    }

    fn move_customer_rows(&mut self, from: CustomerId, to: CustomerId) -> Result<MovedRows> {
        let c = self.client()?;
        let (to, from) = (to.0, from.0);
        let mut moved = |sql: &str| -> Result<u64> { c.execute(sql, &[&to, &from]).be() };
        let transactions = moved("UPDATE transactions SET customer_id = $1 WHERE customer_id = $2")?;
        // The lines carry their sale's customer (the key that distributes them by customer).
        moved("UPDATE transaction_lines SET customer_id = $1 WHERE customer_id = $2")?;
        let interactions = moved("UPDATE interactions SET customer_id = $1 WHERE customer_id = $2")?;
        let children = moved("UPDATE customers SET parent_id = $1 WHERE parent_id = $2")?;
        for sql in [
            "UPDATE customer_aliases SET customer_id = $1 WHERE customer_id = $2",
            "UPDATE consent_history SET customer_id = $1 WHERE customer_id = $2",
            "UPDATE merges SET kept_id = $1 WHERE kept_id = $2",
            "UPDATE points_ledger SET customer_id = $1 WHERE customer_id = $2",
            "UPDATE loyalty_member_events SET customer_id = $1 WHERE customer_id = $2",
            // A key both customers used stays with the kept customer's grant.
            "UPDATE loyalty_benefit_grants SET idempotency_key = NULL WHERE customer_id = $2 AND idempotency_key IN
             (SELECT idempotency_key FROM loyalty_benefit_grants WHERE customer_id = $1 AND idempotency_key IS NOT NULL)",
            "UPDATE loyalty_benefit_grants SET customer_id = $1 WHERE customer_id = $2",
            "UPDATE loyalty_members SET invited_by = $1 WHERE invited_by = $2",
            "UPDATE segment_events SET customer_id = $1 WHERE customer_id = $2",
            // In a segment both are in, the kept customer is a member since the earlier entry.
            "UPDATE segment_members k SET since = d.since FROM segment_members d
             WHERE k.customer_id = $1 AND d.customer_id = $2 AND d.segment = k.segment AND d.since < k.since",
            "DELETE FROM segment_members d WHERE d.customer_id = $2
             AND EXISTS (SELECT 1 FROM segment_members k WHERE k.customer_id = $1 AND k.segment = d.segment)",
            "UPDATE segment_members SET customer_id = $1 WHERE customer_id = $2",
            // The membership moves to a kept customer without one; otherwise the kept one's stays.
            "UPDATE loyalty_members SET customer_id = $1 WHERE customer_id = $2
             AND NOT EXISTS (SELECT 1 FROM loyalty_members WHERE customer_id = $1)",
        ] {
            moved(sql)?;
        }
        for sql in [
            "DELETE FROM consents WHERE customer_id = $1",
            "DELETE FROM points_balances WHERE customer_id = $1",
            "DELETE FROM loyalty_members WHERE customer_id = $1",
        ] {
            c.execute(sql, &[&from]).be()?;
        }
        // A member who invited the other one does not become their own inviter.
        c.execute(
            "UPDATE loyalty_members SET invited_by = NULL WHERE customer_id = $1 AND invited_by = $1",
            &[&to],
        )
        .be()?;
        // The analysis of `from` is stale: the next refresh scores the customer it went to.
        crate::scores::forget(c, from)?;
        Ok(MovedRows {
            transactions,
            interactions,
            children,
        })
    }

    fn delete_customer_row(&mut self, id: CustomerId) -> Result<()> {
        self.client()?
            .execute("DELETE FROM customers WHERE id = $1", &[&id.0])
            .be()?;
        Ok(())
    }

    fn set_alias(&mut self, kind: &str, value: &str, customer: CustomerId) -> Result<()> {
        self.client()?
            .execute(
                "INSERT INTO customer_aliases (kind, value, customer_id) VALUES ($1, $2, $3)
                 ON CONFLICT (kind, value) DO UPDATE SET customer_id = EXCLUDED.customer_id",
                &[&kind, &value, &customer.0],
            )
            .be()?;
        Ok(())
    }

    fn record_merge(&mut self, dropped: CustomerId, kept: CustomerId, at: jiff::Timestamp) -> Result<()> {
        self.client()?
            .execute(
                "INSERT INTO merges (dropped_id, kept_id, at) VALUES ($1, $2, $3)
                 ON CONFLICT (dropped_id) DO UPDATE SET kept_id = EXCLUDED.kept_id, at = EXCLUDED.at",
                &[&dropped.0, &kept.0, &at],
            )
            .be()?;
        Ok(())
    }

    fn has_points_entries(&mut self, customer: CustomerId) -> Result<bool> {
        Ok(crate::points::count_entries(self.client()?, customer)? > 0)
    }

    fn loyalty_member(&mut self, customer: CustomerId) -> Result<Option<Member>> {
        loyalty::member(self.client()?, customer)
    }

    fn put_loyalty_member(&mut self, m: &Member) -> Result<()> {
        loyalty::put_member(self.client()?, m)
    }

    fn insert_member_event(&mut self, e: &MemberEvent) -> Result<MemberEvent> {
        loyalty::insert_event(self.client()?, e)
    }

    fn segment_members(&mut self, segment: &str) -> Result<Vec<kesher_store::SegmentMember>> {
        crate::segments::members(self.client()?, segment)
    }

    fn add_segment_members(
        &mut self,
        segment: &str,
        customers: &[CustomerId],
        since: jiff::Timestamp,
    ) -> Result<Vec<CustomerId>> {
        crate::segments::add_members(self.client()?, segment, customers, since)
    }

    fn remove_segment_members(&mut self, segment: &str, customers: &[CustomerId]) -> Result<Vec<CustomerId>> {
        crate::segments::remove_members(self.client()?, segment, customers)
    }

    fn insert_segment_events(
        &mut self,
        segment: &str,
        kind: kesher_store::SegmentEventKind,
        at: jiff::Timestamp,
        run: kesher_core::SegmentRunId,
        customers: &[CustomerId],
    ) -> Result<()> {
        crate::segments::insert_events(self.client()?, segment, kind, at, run, customers)
    }

    fn benefit_grant(&mut self, id: kesher_core::BenefitGrantId) -> Result<Option<kesher_loyalty::benefits::Grant>> {
        crate::benefits::grant(self.client()?, id)
    }

    fn benefit_grant_by_key(
        &mut self,
        customer: CustomerId,
        key: &str,
    ) -> Result<Option<kesher_loyalty::benefits::Grant>> {
        crate::benefits::grant_by_key(self.client()?, customer, key)
    }

    fn benefit_grants(&mut self, customer: CustomerId) -> Result<Vec<kesher_loyalty::benefits::Grant>> {
        crate::benefits::grants(self.client()?, customer)
    }

    fn insert_benefit_grant(&mut self, g: &kesher_loyalty::benefits::Grant) -> Result<()> {
        crate::benefits::insert_grant(self.client()?, g)
    }

    fn update_benefit_grant(&mut self, g: &kesher_loyalty::benefits::Grant) -> Result<()> {
        crate::benefits::update_grant(self.client()?, g)
    }

    fn benefit_grants_due(
        &mut self,
        now: jiff::Timestamp,
        limit: usize,
    ) -> Result<Vec<kesher_loyalty::benefits::Grant>> {
        crate::benefits::grants_due(self.client()?, now, limit)
    }

    fn surprise_recipients_since(&mut self, benefit: &str, since: jiff::Timestamp) -> Result<Vec<CustomerId>> {
        crate::benefits::recipients_since(self.client()?, benefit, since)
    }

    fn insert_surprise_draw(&mut self, d: &kesher_store::SurpriseDraw) -> Result<()> {
        crate::benefits::insert_draw(self.client()?, d)
    }

    fn surprise_draw(&mut self, id: kesher_core::SurpriseDrawId) -> Result<Option<kesher_store::SurpriseDraw>> {
        crate::benefits::draw(self.client()?, id)
    }

    fn customer_activity(
        &mut self,
        customer: CustomerId,
        currency: Currency,
        since: jiff::Timestamp,
        until: jiff::Timestamp,
    ) -> Result<Activity> {
        loyalty::activity(self.client()?, customer, currency, since, until)
    }

    fn product_facts(&mut self, ids: &[ProductId]) -> Result<Vec<ProductFacts>> {
        loyalty::product_facts(self.client()?, ids)
    }

    fn transaction_by_external(&mut self, external_id: &str) -> Result<Option<Transaction>> {
        load_transaction_by_external(self.client()?, external_id)
    }

    fn insert_sale(&mut self, t: &Transaction) -> Result<Inserted> {
        let c = self.client()?;
        check_transaction_refs(c, t)?;
        insert_transaction_rows(c, t, None)
    }

    fn replace_earning_rule(&mut self, rule: &EarningRule) -> Result<()> {
        let c = self.client()?;
        c.execute("DELETE FROM points_rules", &[]).be()?;
        for (cur, r) in rule.rates() {
            c.execute(
                "INSERT INTO points_rules (currency, points, per_minor) VALUES ($1, $2, $3)",
                &[&cur.as_str(), &r.points(), &r.per_minor()],
            )
            .be()?;
        }
        Ok(())
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
        crate::audit(self.client()?, actor, action, entity, entity_id, before, after)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.client()?.batch_execute("COMMIT").be()?;
        self.open = false;
        Ok(())
    }
}

/// Every customer's points locked for the rest of the transaction: redemptions wait, reads go on.
pub(crate) fn lock_all_points(c: &mut Client) -> Result<()> {
    c.batch_execute("LOCK TABLE points_balances IN EXCLUSIVE MODE").be()
}

/// `PointsRows` for a unit with a `rows_client(&mut self) -> Result<&mut Client>` method (a
/// `PgTx`, an import unit): every operation is a function of `crate::points` on that client.
///
/// An import unit names its own `lock_all_points` (`$lock_all`, a function of the unit): its
/// award locks only the balances its sales earn into, see `crate::points::lock_scope_balances`.
macro_rules! points_rows_on_client {
    ($unit:ty) => {
        crate::unit::points_rows_on_client!($unit; |unit: &mut $unit| crate::unit::lock_all_points(unit.rows_client()?));
    };
    ($unit:ty; $lock_all:expr) => {
        impl kesher_store::PointsRows for $unit {
            fn earning_rule(&mut self) -> kesher_store::Result<kesher_loyalty::EarningRule> {
                crate::points::load_rule(self.rows_client()?)
            }
            fn points_balance(&mut self, customer: kesher_core::CustomerId) -> kesher_store::Result<i64> {
                crate::points::balance(self.rows_client()?, customer)
            }
            fn points_entries(
                &mut self,
                customer: kesher_core::CustomerId,
            ) -> kesher_store::Result<Vec<kesher_loyalty::LedgerEntry>> {
                crate::points::all_entries(self.rows_client()?, customer)
            }
            fn points_pending(
                &mut self,
                customer: kesher_core::CustomerId,
                now: jiff::Timestamp,
            ) -> kesher_store::Result<i64> {
                crate::points::pending(self.rows_client()?, customer, now)
            }
            fn lock_points(&mut self, customer: kesher_core::CustomerId) -> kesher_store::Result<()> {
                crate::points::lock_balance(self.rows_client()?, customer).map(|_| ())
            }
            fn lock_all_points(&mut self) -> kesher_store::Result<()> {
                let lock_all: fn(&mut Self) -> kesher_store::Result<()> = $lock_all;
                lock_all(self)
            }
            fn points_entry_by_key(
                &mut self,
                customer: kesher_core::CustomerId,
                key: &str,
            ) -> kesher_store::Result<Option<kesher_loyalty::LedgerEntry>> {
                crate::points::one_entry(
                    self.rows_client()?,
                    "customer_id = $1 AND idempotency_key = $2",
                    &[&customer.0, &key],
                )
            }
            fn points_entry_for_transaction(
                &mut self,
                transaction: kesher_core::TransactionId,
            ) -> kesher_store::Result<Option<kesher_loyalty::LedgerEntry>> {
                crate::points::entry_for_transaction(self.rows_client()?, transaction)
            }
            fn refund_facts(
                &mut self,
                sale: kesher_core::TransactionId,
                refund: kesher_core::TransactionId,
            ) -> kesher_store::Result<kesher_store::RefundFacts> {
                crate::points::refund_facts(self.rows_client()?, sale, refund)
            }
            fn insert_points_entry(
                &mut self,
                e: &kesher_store::NewLedgerEntry<'_>,
            ) -> kesher_store::Result<kesher_loyalty::LedgerEntry> {
                crate::points::write_entry(self.rows_client()?, e)
            }
            fn insert_points_entries(
                &mut self,
                entries: &[kesher_store::NewLedgerEntry<'_>],
            ) -> kesher_store::Result<()> {
                crate::points::write_entries(self.rows_client()?, entries)
            }
            fn unearned_sales(
                &mut self,
                scope: kesher_store::SaleScope<'_>,
                after: Option<&kesher_store::UnearnedSale>,
                limit: usize,
            ) -> kesher_store::Result<Vec<kesher_store::UnearnedSale>> {
                crate::points::unearned_sales(self.rows_client()?, scope, after, limit)
            }
            fn unreversed_refunds(
                &mut self,
                scope: kesher_store::SaleScope<'_>,
            ) -> kesher_store::Result<Vec<kesher_store::UnreversedRefund>> {
                crate::points::unreversed_refunds(self.rows_client()?, scope)
            }
        }
    };
}
pub(crate) use points_rows_on_client;

points_rows_on_client!(PgTx<'_>);

impl Drop for PgTx<'_> {
    fn drop(&mut self) {
        if let Some(mut client) = self.client.take() {
            // A connection whose rollback fails is closed rather than pooled: its state is unknown.
            if self.open && client.batch_execute("ROLLBACK").is_err() {
                return;
            }
            self.store.give_back(client);
        }
    }
}
