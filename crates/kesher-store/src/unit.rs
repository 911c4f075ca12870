//! The narrow backend API that workflows are written on: a unit of work begun with the locks it
//! needs ([`UnitOfWork::begin`]), row-level operations on the [`Tx`] handle it returns, and one
//! `commit`. Dropping a `Tx` without committing rolls it back.
//!
//! The workflows themselves (record a sale with its points, redeem, adjust, merge, the bulk
//! award, the earning rule's change, and every new one) live once in `kesher-app`; a backend
//! only reads and writes rows. Each backend keeps the guarantee a lock promises in its own way,
//! inside `begin`:
//! - SQLite: `BEGIN IMMEDIATE` on the single writer connection (the whole database is locked for
//!   writing, so every lock holds at once).
//! - PostgreSQL: `Lock::Customers` creates the customers' points balance rows at zero when
//!   missing and locks them `FOR UPDATE` in id order; `Lock::CustomerRecords` takes the
//!   identifier writers' advisory lock, then the customer rows `FOR UPDATE`; `Lock::AllPoints`
//!   locks the balance table `EXCLUSIVE` (reads go on); `Lock::EarningRule` the rule's table.
//!
//! The points operations are a trait of their own, [`PointsRows`], which a bulk import unit
//! (`ImportTx`) implements too, so that the award of an import's sales runs in its unit.

use crate::{Actor, Inserted, Result};
use jiff::Timestamp;
use kesher_core::{
    BranchId, Consent, Currency, Customer, CustomerId, Interaction, ProductId, Transaction, TransactionId,
};
use kesher_loyalty::{EarningRule, LedgerEntry, Member, MemberEvent, Posting};

/// What a unit of work must hold for the rest of its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock<'a> {
    /// Nothing up front: the unit takes what it needs as it goes ([`PointsRows::lock_points`]);
    /// on SQLite the write lock as ever.
    Writes,
    /// These customers' points: no other unit changes their balance until this one ends. Every
    /// customer must exist, checked in the order given (`NotFound` naming the first missing).
    Customers(&'a [CustomerId]),
    /// The customers' identifiers: no other unit takes an identifier until this one ends (a new
    /// customer).
    Identifiers,
    /// These customers' records and identifiers: no other unit changes a customer's record or
    /// takes an identifier until this one ends (merge). Every customer must exist, checked in
    /// the order given.
    CustomerRecords(&'a [CustomerId]),
    /// Every customer's points (the bulk award): redemptions wait, reads go on.
    AllPoints,
    /// The earning rule: one change at a time.
    EarningRule,
}

/// A ledger entry to append, with the posting a `kesher_loyalty` decision made.
#[derive(Debug, Clone)]
pub struct NewLedgerEntry<'a> {
    pub customer: CustomerId,
    pub posting: Posting,
    pub reason: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub transaction: Option<TransactionId>,
    pub branch: Option<BranchId>,
    pub actor: &'a Actor,
    /// Which rule gave how many of the points (empty when one rule gave them all).
    pub breakdown: Vec<kesher_loyalty::Part>,
    /// When the points become spendable (`None`: at once): pending points.
    pub available_at: Option<Timestamp>,
}

impl NewLedgerEntry<'_> {
    /// The entry as stored under its sequence number.
    pub fn stored(&self, seq: i64) -> LedgerEntry {
        LedgerEntry {
            seq,
            customer_id: self.customer,
            kind: self.posting.kind,
            points: self.posting.points,
            balance_after: self.posting.balance_after,
            reason: self.reason.map(str::to_string),
            idempotency_key: self.idempotency_key.map(str::to_string),
            transaction_id: self.transaction,
            branch_id: self.branch,
            actor: self.actor.who.clone(),
            origin: self.actor.origin.clone(),
            at: self.actor.at,
            breakdown: self.breakdown.clone(),
            available_at: self.available_at,
        }
    }
}

/// What a refund's reversal needs to know about the sale it refunds (`kesher_loyalty::Refund`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundFacts {
    /// The refunded sale's total, minor units.
    pub sale_total: i64,
    /// What the sale's other refunds took back, minor units (positive).
    pub refunded_before: i64,
    /// Points the sale's other refunds reversed (positive).
    pub reversed_before: i64,
}

/// Which sales the bulk award looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleScope<'a> {
    /// Every sale (at or after the instant, when given).
    Since(Option<Timestamp>),
    /// These transactions only (an import unit's).
    Only(&'a [TransactionId]),
}

/// A sale of an identified customer that has not earned points yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnearnedSale {
    pub id: TransactionId,
    pub customer: CustomerId,
    pub branch: BranchId,
    pub occurred_at: Timestamp,
    pub currency: Currency,
    /// The sale's net total, minor units.
    pub total: i64,
    /// The customer's balance as stored when the page was read.
    pub balance: i64,
    /// Where the sale stands in the store's own (customer, time) order, for the next page
    /// (SQLite: its row number, the index's tie-break; PostgreSQL: unused, 0).
    pub position: i64,
}

/// A refund whose sale earned and that has not been reversed yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreversedRefund {
    pub id: TransactionId,
    pub sale: TransactionId,
    /// The refund's total (negative), minor units.
    pub total: i64,
    pub branch: BranchId,
}

/// What refers to a customer and keeps it from being deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dependents {
    pub transactions: u64,
    pub points_entries: u64,
    /// Accounts whose parent the customer is.
    pub children: u64,
    /// The customer's loyalty membership (0 or 1; kept when they leave the program).
    pub memberships: u64,
}

/// A customer's activity over a window (`Tx::customer_activity`), what a tier review reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    /// Sum of the sales' totals, refunds negative, minor units (exact, saturated to i64).
    pub spend: i64,
    /// Sales that are not refunds.
    pub visits: u64,
    /// Sum of the customer's earn and reverse entries (saturated to i64).
    pub points: i64,
}

/// What an accrual's rules need to know of a product (`Tx::product_facts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFacts {
    pub id: ProductId,
    pub sku: String,
    pub category: Option<String>,
}

/// What [`Tx::move_customer_rows`] moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MovedRows {
    pub transactions: u64,
    pub interactions: u64,
    /// Accounts whose parent was the customer moved from.
    pub children: u64,
}

/// The points ledger's rows inside a unit of work (a [`Tx`] or a bulk import unit).
pub trait PointsRows {
    fn earning_rule(&mut self) -> Result<EarningRule>;
    /// Whether the unit may commit what it wrote so far at [`PointsRows::between_pages`] (an
    /// import committing in slices on SQLite): a bulk award then reads its sales page by page.
    fn commits_between_pages(&self) -> bool {
        false
    }
    /// A point between two pages of a bulk award, where every entry written is whole; a unit
    /// that commits once does nothing here.
    fn between_pages(&mut self) -> Result<()> {
        Ok(())
    }
    /// The customer's points balance (0 before any entry).
    fn points_balance(&mut self, customer: CustomerId) -> Result<i64>;
    /// The points of a customer's entries not spendable yet at `now` (`available_at` after it).
    fn points_pending(&mut self, customer: CustomerId, now: Timestamp) -> Result<i64>;
    /// A customer's whole ledger, in the order it was written (expiry by lot reads it under the
    /// customer's lock).
    fn points_entries(&mut self, customer: CustomerId) -> Result<Vec<LedgerEntry>>;
    /// Lock a customer's points for the rest of the unit (when the customer was not known at
    /// `begin`: the holder of a refunded sale's points).
    fn lock_points(&mut self, customer: CustomerId) -> Result<()>;
    /// Lock every customer's points for the rest of the unit (the bulk award).
    fn lock_all_points(&mut self) -> Result<()>;
    /// The customer's entry made with this idempotency key, if any.
    fn points_entry_by_key(&mut self, customer: CustomerId, key: &str) -> Result<Option<LedgerEntry>>;
    /// The entry a sale earned or a refund reversed, if any.
    fn points_entry_for_transaction(&mut self, transaction: TransactionId) -> Result<Option<LedgerEntry>>;
    /// What the other refunds of `sale` took back so far (`refund` itself left out).
    fn refund_facts(&mut self, sale: TransactionId, refund: TransactionId) -> Result<RefundFacts>;
    /// Append an entry and set the customer's balance to its `balance_after`; the stored entry
    /// (with its sequence number) comes back.
    fn insert_points_entry(&mut self, entry: &NewLedgerEntry<'_>) -> Result<LedgerEntry>;
    /// Append entries in order and set each customer's balance to the `balance_after` of its last
    /// entry among them (the bulk award).
    fn insert_points_entries(&mut self, entries: &[NewLedgerEntry<'_>]) -> Result<()>;
    /// Up to `limit` sales in `scope` of identified customers, not refunds, in a currency the
    /// rule rates, without an earn entry, ordered by customer then time (ties in the store's
    /// own order), after the sale `after` in that order when given (keyset paging: each page
    /// starts where the last one ended, along an index), each with its customer's stored balance.
    fn unearned_sales(
        &mut self,
        scope: SaleScope<'_>,
        after: Option<&UnearnedSale>,
        limit: usize,
    ) -> Result<Vec<UnearnedSale>>;
    /// The refunds in `scope` whose sale earned and that have no reversal, by time then id.
    fn unreversed_refunds(&mut self, scope: SaleScope<'_>) -> Result<Vec<UnreversedRefund>>;
}

/// One open unit of work: reads see its own writes; nothing is visible to others before
/// `commit`, and nothing lands if it is dropped.
pub trait Tx: PointsRows + crate::CampaignRows {
    /// The transaction with this external id, lines included.
    fn transaction_by_external(&mut self, external_id: &str) -> Result<Option<Transaction>>;
    /// A till was answered with this sale (a retry, or another sale with its external id): it
    /// stays whatever becomes of an unfinished import that wrote it (SQLite, where an import
    /// beside a server commits in slices; elsewhere an import's sales are never seen before
    /// it commits, and this does nothing).
    fn keep_sale(&mut self, _sale: TransactionId) -> Result<()> {
        Ok(())
    }
    /// Insert a validated transaction with its lines (each line's unit cost taken from its
    /// product). Every id it references must exist (`Invalid` naming the field otherwise).
    /// `AlreadyPresent` when its external id is taken (by a unit that committed first).
    fn insert_sale(&mut self, t: &Transaction) -> Result<Inserted>;
    /// A customer's record, consents included.
    fn customer(&mut self, id: CustomerId) -> Result<Option<Customer>>;
    /// `Conflict` naming the field when another customer (or an alias a merge left) holds one of
    /// `c`'s identifiers (member number, phone, e-mail, card).
    fn check_identifiers_free(&mut self, c: &Customer) -> Result<()>;
    /// Insert a customer row with its consents; `AlreadyPresent` when the member number exists.
    fn insert_customer_row(&mut self, c: &Customer) -> Result<Inserted>;
    /// What refers to the customer.
    fn customer_dependents(&mut self, id: CustomerId) -> Result<Dependents>;
    /// Delete a customer with what describes only them: contacts, consents, aliases, scores and
    /// stage history, the points balance row, their saved segments' memberships and history
    /// (never a member: see [`Dependents::memberships`]).
    fn delete_customer_rows(&mut self, id: CustomerId) -> Result<()>;
    /// Whether the customer has been erased.
    fn is_erased(&mut self, id: CustomerId) -> Result<bool>;
    /// Remove a customer's personal data from every row about them (the erasure's rows): profile
    /// identifiers and attributes, free texts (contacts, points reasons, the details of
    /// membership events, replaced by the erased marker), aliases; consent history replaced by
    /// one withdrawal of every consent at `at`. Amounts, dates and the membership stay.
    /// The report's `audit_entries_redacted` is left at 0.
    fn anonymise_customer(&mut self, id: CustomerId, at: Timestamp) -> Result<crate::ErasureReport>;
    /// The customers merged into `kept`.
    fn merged_into_customer(&mut self, kept: CustomerId) -> Result<Vec<CustomerId>>;
    /// Replace the before and after of every audit entry about `entity_id` (or naming it) with
    /// the erased marker; returns how many.
    fn redact_audit(&mut self, entity_id: &str) -> Result<u64>;
    /// Record the customer as erased at `at`.
    fn record_erasure(&mut self, id: CustomerId, at: Timestamp) -> Result<()>;
    /// A user, locked for the rest of the unit.
    fn user(&mut self, id: kesher_core::UserId) -> Result<Option<crate::User>>;
    /// `Conflict` on `username` when taken.
    fn insert_user_row(&mut self, u: &crate::User) -> Result<()>;
    /// Write a user's record as given; `Conflict` on `username` when taken.
    fn update_user_row(&mut self, u: &crate::User) -> Result<()>;
    /// A token, locked for the rest of the unit.
    fn token(&mut self, id: kesher_core::TokenId) -> Result<Option<crate::ApiToken>>;
    fn insert_token_row(&mut self, t: &crate::ApiToken) -> Result<()>;
    fn set_token_revoked(&mut self, id: kesher_core::TokenId, at: Timestamp) -> Result<()>;
    /// A setting's value, locked for the rest of the unit.
    fn setting(&mut self, key: &str) -> Result<Option<String>>;
    fn put_setting_row(&mut self, key: &str, value: &str) -> Result<()>;
    fn delete_setting_row(&mut self, key: &str) -> Result<()>;
    /// The contact with this external id.
    fn interaction_by_external(&mut self, external_id: &str) -> Result<Option<Interaction>>;
    /// Insert a validated contact; `AlreadyPresent` when its external id is taken.
    fn insert_interaction_row(&mut self, i: &Interaction) -> Result<Inserted>;
    /// Write a customer's record (the row as given) and make `c.consents` the current consents,
    /// every change against `consents_before` appended to the consent history. No identifier
    /// checks: the caller holds `Lock::CustomerRecords` and has freed what it takes.
    fn update_customer_row(&mut self, c: &Customer, consents_before: Option<&[Consent]>) -> Result<()>;
    /// Give everything keyed by customer `from` to `to`: sales (and their lines), contacts,
    /// child accounts, identifier aliases, consent history, earlier merges into `from`, points
    /// ledger entries, loyalty membership events, the members `from` invited, segment events;
    /// `from`'s membership row too when `to` has none (otherwise `to`'s stays and `from`'s is
    /// deleted), and `from`'s segment memberships (in a segment both are in, `to` is a member
    /// since the earlier of the two).
    /// What describes only `from` is deleted: its current consents, its points balance row, its
    /// analysis scores and this month's stage. The customer row itself stays (see
    /// [`Tx::delete_customer_row`]).
    fn move_customer_rows(&mut self, from: CustomerId, to: CustomerId) -> Result<MovedRows>;
    /// Delete a customer row that nothing refers to any more.
    fn delete_customer_row(&mut self, id: CustomerId) -> Result<()>;
    /// Make an identifier (`kind` phone, email, member or card) of a merged-away customer find
    /// `customer` (replacing an alias of the same identifier).
    fn set_alias(&mut self, kind: &str, value: &str, customer: CustomerId) -> Result<()>;
    /// Record that `dropped` was merged into `kept` (replacing an earlier record for `dropped`).
    fn record_merge(&mut self, dropped: CustomerId, kept: CustomerId, at: Timestamp) -> Result<()>;
    /// Whether the customer has any points entry.
    fn has_points_entries(&mut self, customer: CustomerId) -> Result<bool>;
    /// The customer's loyalty membership, if they ever joined.
    fn loyalty_member(&mut self, customer: CustomerId) -> Result<Option<Member>>;
    /// Insert the customer's membership row, or replace it whole.
    fn put_loyalty_member(&mut self, m: &Member) -> Result<()>;
    /// Append a line to a membership's history (its `seq` is ignored); it comes back with the
    /// sequence number it was stored under.
    fn insert_member_event(&mut self, e: &MemberEvent) -> Result<MemberEvent>;
    /// The segment's members now, by customer id.
    fn segment_members(&mut self, segment: &str) -> Result<Vec<crate::SegmentMember>>;
    /// Make `customers` members of the segment since `since`; those already members are left as
    /// they are, and those that no longer exist (merged away or deleted since the evaluation)
    /// are skipped. Returns the customers this added (in the order given), whose entry the caller
    /// records: a unit that raced another one to the same change writes no second event.
    fn add_segment_members(
        &mut self,
        segment: &str,
        customers: &[CustomerId],
        since: Timestamp,
    ) -> Result<Vec<CustomerId>>;
    /// End the membership of `customers` in the segment. Returns those that were members (in the
    /// order given), whose exit the caller records.
    fn remove_segment_members(&mut self, segment: &str, customers: &[CustomerId]) -> Result<Vec<CustomerId>>;
    /// Append one event per customer to the segment's history, numbered in the order given.
    fn insert_segment_events(
        &mut self,
        segment: &str,
        kind: crate::SegmentEventKind,
        at: Timestamp,
        run: kesher_core::SegmentRunId,
        customers: &[CustomerId],
    ) -> Result<()>;
    /// The customer's sales and refunds in `currency` with `since <= occurred_at < until`
    /// (spend: their stored totals summed, refunds negative; visits: the sales that are not
    /// refunds), and their earn and reverse entries with `since <= at < until` (points).
    /// A benefit grant, by id.
    fn benefit_grant(&mut self, id: kesher_core::BenefitGrantId) -> Result<Option<kesher_loyalty::benefits::Grant>>;
    /// The customer's grant made with this idempotency key, if any.
    fn benefit_grant_by_key(
        &mut self,
        customer: CustomerId,
        key: &str,
    ) -> Result<Option<kesher_loyalty::benefits::Grant>>;
    /// The customer's grants, oldest first (by granted_at, then id).
    fn benefit_grants(&mut self, customer: CustomerId) -> Result<Vec<kesher_loyalty::benefits::Grant>>;
    /// Insert a grant (the caller looked its idempotency key up under the customer's lock; the
    /// unique index refuses a second one).
    fn insert_benefit_grant(&mut self, g: &kesher_loyalty::benefits::Grant) -> Result<()>;
    /// Write a grant's state and its honouring (state, used_at, honoured_by, honoured_branch,
    /// honour_key); nothing else of it changes.
    fn update_benefit_grant(&mut self, g: &kesher_loyalty::benefits::Grant) -> Result<()>;
    /// Grants stored as available whose `available_until <= now`, the earliest first (ties by
    /// id); at most `limit`.
    fn benefit_grants_due(&mut self, now: Timestamp, limit: usize) -> Result<Vec<kesher_loyalty::benefits::Grant>>;
    /// The customers granted `benefit` by a surprise at or after `since`.
    fn surprise_recipients_since(&mut self, benefit: &str, since: Timestamp) -> Result<Vec<CustomerId>>;
    fn insert_surprise_draw(&mut self, d: &crate::SurpriseDraw) -> Result<()>;
    fn surprise_draw(&mut self, id: kesher_core::SurpriseDrawId) -> Result<Option<crate::SurpriseDraw>>;
    fn customer_activity(
        &mut self,
        customer: CustomerId,
        currency: Currency,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Activity>;
    /// The sku and category of each known product among `ids` (unknown ids are left out), in
    /// no particular order.
    fn product_facts(&mut self, ids: &[ProductId]) -> Result<Vec<ProductFacts>>;
    fn replace_earning_rule(&mut self, rule: &EarningRule) -> Result<()>;
    /// Append to the audit log.
    fn append_audit(
        &mut self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: &str,
        before: Option<&serde_json::Value>,
        after: Option<&serde_json::Value>,
    ) -> Result<()>;
    /// Make every write of the unit durable and visible, at once.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// Begin units of work.
pub trait UnitOfWork {
    /// Open a unit of work holding `lock` (waiting for it when another unit holds it).
    fn begin(&self, lock: Lock<'_>) -> Result<Box<dyn Tx + '_>>;
}
