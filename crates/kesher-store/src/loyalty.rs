//! A loyalty program's members as stored: the reads of the `Store` ([`Loyalty`]). Their rows
//! are written inside a unit of work (`Tx::put_loyalty_member`, `Tx::insert_member_event`); the
//! workflows that decide what to write live in `kesher-app`.

use crate::Result;
use jiff::Timestamp;
use kesher_core::{BranchId, Currency, CustomerId, TransactionId};
use kesher_loyalty::{LedgerEntry, Member, MemberEvent, MemberStatus};

/// One sale or refund as the program's KPIs read it: who (none: anonymous), where, when, and its
/// total (a refund's is negative) in its currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleFact {
    pub id: TransactionId,
    /// The customer who holds the sale now (after a merge, the kept one); `None`: anonymous.
    pub customer_id: Option<CustomerId>,
    pub branch_id: BranchId,
    pub occurred_at: Timestamp,
    pub currency: Currency,
    /// Minor units: the sale's total, negative for a refund.
    pub total: i64,
    /// A refund of an earlier sale.
    pub refund: bool,
}

pub trait Loyalty {
    /// Members by customer id, after `after` when given (keyset paging: pass the last id of the
    /// previous page), with this status and this tier when given; at most `limit`.
    fn loyalty_members(
        &self,
        status: Option<MemberStatus>,
        tier: Option<&str>,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Vec<Member>>;
    /// A membership's history, in the order it was written.
    fn member_events(&self, customer: CustomerId) -> Result<Vec<MemberEvent>>;
    /// Active members whose tier review is due (`tier_review_at <= now`), the longest due first
    /// (ties by customer id); at most `limit`.
    fn members_due_for_review(&self, now: Timestamp, limit: usize) -> Result<Vec<Member>>;
    /// Every membership event (of every customer) before `until`, in the order written: the
    /// memberships' history the program's KPIs read.
    fn member_events_before(&self, until: Timestamp) -> Result<Vec<MemberEvent>>;
    /// Every points entry at or after `since` and before `until`, in the order written, one call
    /// of `f` each (an error from `f` stops the read and is returned).
    fn for_each_ledger_entry(
        &self,
        since: Timestamp,
        until: Timestamp,
        f: &mut dyn FnMut(&LedgerEntry) -> Result<()>,
    ) -> Result<()>;
    /// Every sale and refund that occurred at or after `since` and before `until` (identified or
    /// anonymous, any branch, any currency), in no particular order, one call of `f` each.
    fn for_each_sale_fact(
        &self,
        since: Timestamp,
        until: Timestamp,
        f: &mut dyn FnMut(&SaleFact) -> Result<()>,
    ) -> Result<()>;
}

/// A surprise draw as stored: which benefit, the seed and parameters it was drawn with, who
/// drew it and when, and the members it drew (in the order drawn).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurpriseDraw {
    pub id: kesher_core::SurpriseDrawId,
    pub benefit: String,
    pub seed: u64,
    /// JSON: the segment or the random size, the budget, the no-repeat period, the counts.
    pub parameters: String,
    pub actor: String,
    pub at: Timestamp,
    pub members: Vec<CustomerId>,
}
