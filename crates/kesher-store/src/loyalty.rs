//! A loyalty program's members as stored: the reads of the `Store` ([`Loyalty`]). Their rows
//! are written inside a unit of work (`Tx::put_loyalty_member`, `Tx::insert_member_event`); the
//! workflows that decide what to write live in `kesher-app`.

use crate::Result;
use jiff::Timestamp;
use kesher_core::CustomerId;
use kesher_loyalty::{Member, MemberEvent, MemberStatus};

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
