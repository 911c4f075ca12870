//! A loyalty program's members as stored: who joined, when, where, by whom, with what data, in
//! which tier; and the append-only history of joining, leaving and tier changes. Pure records:
//! the workflows in `kesher-app` decide (with [`crate::program`]) and the store keeps them.

use jiff::Timestamp;
use kesher_core::{BranchId, CustomerId, EmployeeId};

/// Whether a customer is in the program now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberStatus {
    Active,
    /// Left the program (may join again: a `rejoin` event).
    Left,
}

impl MemberStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Left => "left",
        }
    }
    /// A status as stored; `None` for a word the schema does not allow.
    pub fn parse(s: &str) -> Option<MemberStatus> {
        match s {
            "active" => Some(MemberStatus::Active),
            "left" => Some(MemberStatus::Left),
            _ => None,
        }
    }
}

/// One customer's membership (one row per customer, kept when they leave).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub customer_id: CustomerId,
    pub status: MemberStatus,
    /// The tier's key in the program (`None` when the program has no tiers).
    pub tier: Option<String>,
    /// When the member entered the current tier.
    pub tier_since: Option<Timestamp>,
    /// When the tier is next reviewed (a downgrade happens only then).
    pub tier_review_at: Option<Timestamp>,
    /// The latest (re)joining.
    pub enrolled_at: Timestamp,
    /// Where and by whom the latest (re)joining was made.
    pub branch_id: Option<BranchId>,
    pub employee_id: Option<EmployeeId>,
    /// The enrolment's data quality, 0 to 100 ([`crate::program::data_quality`]).
    pub quality: u8,
    /// What was missing or invalid at enrolment (`phone`, `email`, `birth_date`, `consent`).
    pub quality_missing: Vec<String>,
    /// The member who invited (referred) this one.
    pub invited_by: Option<CustomerId>,
    /// The enrolment fee paid, minor units of the program's currency (0 when none).
    pub fee_paid: i64,
    /// When the member last left (`None` while they never did).
    pub left_at: Option<Timestamp>,
}

/// What happened to a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberEventKind {
    Enrol,
    Leave,
    Rejoin,
    TierUp,
    TierDown,
}

impl MemberEventKind {
    pub const ALL: [MemberEventKind; 5] = [
        MemberEventKind::Enrol,
        MemberEventKind::Leave,
        MemberEventKind::Rejoin,
        MemberEventKind::TierUp,
        MemberEventKind::TierDown,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            MemberEventKind::Enrol => "enrol",
            MemberEventKind::Leave => "leave",
            MemberEventKind::Rejoin => "rejoin",
            MemberEventKind::TierUp => "tier_up",
            MemberEventKind::TierDown => "tier_down",
        }
    }
    pub fn parse(s: &str) -> Option<MemberEventKind> {
        MemberEventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One line of a membership's history (append-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEvent {
    /// Order of writing (database sequence; 0 before it is written).
    pub seq: i64,
    pub customer_id: CustomerId,
    pub kind: MemberEventKind,
    pub at: Timestamp,
    pub branch_id: Option<BranchId>,
    pub employee_id: Option<EmployeeId>,
    /// Who (`user:…`, `token:…`, `cli:…`, `system`).
    pub actor: String,
    /// The tier before and after, the quality, the reason: a JSON object as text.
    pub detail: String,
}

/// One rule's share of an accrual (or of its reversal): `base`, `category:wine`,
/// `product:SKU-1`, `tier:gold`, `promotion:KEY`, `bonus:birthday`, `bonus:first_purchase`,
/// `bonus:nth_visit`. The parts of an entry add up to its points.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part {
    pub rule: String,
    pub points: i64,
}

/// A breakdown as stored: a JSON array of `{rule, points}` (`None` for an empty one).
pub fn breakdown_json(parts: &[Part]) -> Option<String> {
    if parts.is_empty() {
        return None;
    }
    serde_json::to_string(parts).ok()
}

/// A stored breakdown read back; text that is not one reads as empty (an entry from before
/// breakdowns had none).
pub fn breakdown_from_json(text: Option<&str>) -> Vec<Part> {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or_default()
}

/// A member's move between tiers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TierChange {
    pub from: Option<String>,
    pub to: Option<String>,
}

/// A member's standing after a sale, as the till is told.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SaleMembership {
    /// The tier after the sale.
    pub tier: Option<String>,
    /// The upgrade the sale made, if any (a retried sale answers none).
    pub tier_change: Option<TierChange>,
    /// The member's benefits available after the sale (a tier entered by it grants its own).
    pub benefits: Vec<crate::benefits::Grant>,
}
