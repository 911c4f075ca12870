//! Loyalty decisions: the earning rule, refund reversal, redemption and adjustment checks, and the
//! points ledger's entries. Pure: the store reads the facts (balance, the sale, what a refund's
//! original earned) inside its own database transaction, asks these functions what to write, and
//! writes it; nothing here does I/O or reads a clock.
//!
//! The rules (docs/loyalty.md says the same for people):
//! - **Earning**: a sale with a customer earns `points` for every whole `per_minor` minor units of
//!   its net amount (after discounts), per currency ([`EarningRule`]). A currency without a rate
//!   earns nothing; so does an anonymous sale. One accrual per sale, ever (the store enforces it).
//! - **Reversal**: a refund takes back the share of the original sale's points that the refunded
//!   amount is of the sale's total, cumulatively over every refund of that sale, rounded down, so
//!   that partial refunds never take back more than the sale earned and a full refund takes back
//!   exactly what it earned. A reversal may take the balance below zero: points earned on goods
//!   later returned may already have been redeemed, and the debt is settled by the next earnings.
//! - **Redemption**: a positive number of points, no more than the balance. Redemption never makes
//!   a balance negative.
//! - **Adjustment**: a non-zero number of points with a reason; it may not take the balance below
//!   zero either (a correction that would is refused: adjust what the customer holds).
//! - **Merge**: the kept customer's balance becomes the sum of both; the ledger entries move with
//!   the customer they belong to and one zero-point `merge` entry records the new balance.

use jiff::Timestamp;
use kesher_core::{BranchId, Currency, CustomerId, Params, TransactionId};
use std::collections::BTreeMap;

pub mod benefits;
pub mod design;
pub mod expiry;
pub mod member;
pub mod program;

pub use member::{Member, MemberEvent, MemberEventKind, MemberStatus, Part, SaleMembership, TierChange};

#[cfg(test)]
mod tests;

/// What a loyalty decision refused, naming the field a caller sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoyaltyError {
    #[error("{field}: {reason}")]
    Invalid {
        /// Stable code (kesher_core::codes::CATALOGUE).
        code: &'static str,
        field: &'static str,
        reason: String,
        params: Params,
    },
    /// A redemption (or a negative adjustment) larger than the balance.
    #[error("points: the balance is {balance} points, {requested} were asked for")]
    InsufficientBalance { balance: i64, requested: i64 },
}

impl LoyaltyError {
    fn invalid(code: &'static str, field: &'static str, reason: impl Into<String>) -> Self {
        LoyaltyError::Invalid {
            code,
            field,
            reason: reason.into(),
            params: Params::new(),
        }
    }
    fn with(mut self, name: &str, value: impl Into<kesher_core::error::Value>) -> Self {
        if let LoyaltyError::Invalid { params, .. } = &mut self {
            params.insert(name.to_string(), value.into());
        }
        self
    }
    /// The field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            LoyaltyError::Invalid { field, .. } => field,
            LoyaltyError::InsufficientBalance { .. } => "points",
        }
    }
    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            LoyaltyError::Invalid { code, .. } => code,
            LoyaltyError::InsufficientBalance { .. } => "points.insufficient",
        }
    }
    /// The message's named arguments.
    pub fn params(&self) -> Params {
        match self {
            LoyaltyError::Invalid { params, .. } => params.clone(),
            LoyaltyError::InsufficientBalance { balance, requested } => {
                kesher_core::params!(balance = *balance, asked = *requested)
            }
        }
    }
}

pub type Result<T, E = LoyaltyError> = std::result::Result<T, E>;

/// The kind of a ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKind {
    /// Points earned by a sale (one per sale).
    Earn,
    /// Points spent by the customer.
    Redeem,
    /// A correction by staff, with a reason.
    Adjust,
    /// Points taken back by a refund (one per refund).
    Reverse,
    /// Another customer's record merged into this one: zero points, the new balance.
    Merge,
    /// Points of lots older than the program's lifetime, taken away ([`expiry`]).
    Expire,
}

impl EntryKind {
    pub const ALL: [EntryKind; 6] = [
        EntryKind::Earn,
        EntryKind::Redeem,
        EntryKind::Adjust,
        EntryKind::Reverse,
        EntryKind::Merge,
        EntryKind::Expire,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Earn => "earn",
            EntryKind::Redeem => "redeem",
            EntryKind::Adjust => "adjust",
            EntryKind::Reverse => "reverse",
            EntryKind::Merge => "merge",
            EntryKind::Expire => "expire",
        }
    }
    pub fn parse(s: &str) -> Result<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            LoyaltyError::invalid(
                "points.entry_kind.unknown",
                "kind",
                format!("unknown ledger entry kind {s:?}"),
            )
            .with("value", s)
        })
    }
}

/// The most points a rate may give per unit (a million).
pub const MAX_RATE_POINTS: i64 = 1_000_000;
/// The largest unit a rate may count in, minor units (10^12, the largest line).
pub const MAX_RATE_PER_MINOR: i64 = kesher_core::money::MAX_LINE_AMOUNT;
/// The most points one redemption or adjustment may move (10^12).
pub const MAX_POINTS_PER_ENTRY: i64 = 1_000_000_000_000;
/// The largest balance a customer may hold (10^15 points): an earning, an adjustment or a merge
/// that would take a balance beyond it is refused. Sums of bounded balances fit in i64.
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;

/// Points for every whole `per_minor` minor units of a sale's net amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarnRate {
    points: i64,
    per_minor: i64,
}

impl EarnRate {
    /// `points` ≥ 0 (0 switches earning off for the currency) for every `per_minor` ≥ 1.
    pub fn new(points: i64, per_minor: i64) -> Result<EarnRate> {
        if points < 0 {
            return Err(LoyaltyError::invalid(
                "points.rule.points.negative",
                "points",
                "must not be negative",
            ));
        }
        if per_minor < 1 {
            return Err(LoyaltyError::invalid(
                "points.rule.per_minor.too_small",
                "per_minor",
                "must be at least 1",
            ));
        }
        if points > MAX_RATE_POINTS {
            return Err(LoyaltyError::invalid(
                "points.rule.points.too_large",
                "points",
                format!("{points} points a unit is more than the largest rate accepted, {MAX_RATE_POINTS}"),
            )
            .with("value", points)
            .with("max", MAX_RATE_POINTS));
        }
        if per_minor > MAX_RATE_PER_MINOR {
            return Err(LoyaltyError::invalid(
                "points.rule.per_minor.too_large",
                "per_minor",
                format!("a unit of {per_minor} minor units is more than the largest accepted, {MAX_RATE_PER_MINOR}"),
            )
            .with("value", per_minor)
            .with("max", MAX_RATE_PER_MINOR));
        }
        Ok(EarnRate { points, per_minor })
    }
    /// A rate read back from the database, without the upper bounds (a rule set before they
    /// existed still reads; what it would earn is bounded by [`MAX_BALANCE`]). `per_minor` is
    /// at least 1 and `points` not negative, as the database's checks keep them.
    pub fn stored(points: i64, per_minor: i64) -> EarnRate {
        EarnRate {
            points: points.max(0),
            per_minor: per_minor.max(1),
        }
    }
    /// `points` for every whole unit of the currency (every shekel, every dollar).
    pub fn per_whole_unit(currency: Currency, points: i64) -> Result<EarnRate> {
        EarnRate::new(points, 10i64.pow(currency.exponent()))
    }
    pub fn points(&self) -> i64 {
        self.points
    }
    pub fn per_minor(&self) -> i64 {
        self.per_minor
    }
    /// The points a net amount of `net` minor units earns (0 for nothing or a negative amount);
    /// more than [`MAX_BALANCE`] (only a rule stored before the bounds can ask for it) is
    /// refused.
    pub fn points_for(&self, net: i64) -> Result<i64> {
        if net <= 0 {
            return Ok(0);
        }
        let points = i128::from(net / self.per_minor) * i128::from(self.points);
        if points > i128::from(MAX_BALANCE) {
            return Err(LoyaltyError::invalid(
                "points.earn.too_large",
                "lines",
                format!("the sale would earn more than {MAX_BALANCE} points, the largest balance"),
            )
            .with("max", MAX_BALANCE));
        }
        // Bounded by MAX_BALANCE just above.
        Ok(points as i64)
    }
}

/// How sales earn points: one rate per currency; a currency without a rate earns nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EarningRule {
    rates: BTreeMap<Currency, EarnRate>,
}

impl EarningRule {
    pub fn new() -> EarningRule {
        EarningRule::default()
    }
    pub fn with(mut self, currency: Currency, rate: EarnRate) -> EarningRule {
        self.rates.insert(currency, rate);
        self
    }
    pub fn set(&mut self, currency: Currency, rate: Option<EarnRate>) {
        match rate {
            Some(r) => self.rates.insert(currency, r),
            None => self.rates.remove(&currency),
        };
    }
    pub fn rate(&self, currency: Currency) -> Option<EarnRate> {
        self.rates.get(&currency).copied()
    }
    /// Every currency's rate, by currency code.
    pub fn rates(&self) -> impl Iterator<Item = (Currency, EarnRate)> + '_ {
        self.rates.iter().map(|(c, r)| (*c, *r))
    }
    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }
    /// The points a sale of `net` minor units in `currency` earns.
    pub fn points_for(&self, currency: Currency, net: i64) -> Result<i64> {
        match self.rate(currency) {
            Some(r) => r.points_for(net),
            None => Ok(0),
        }
    }
}

/// One entry a decision asks the store to write: its kind, its points (signed) and the balance
/// after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub kind: EntryKind,
    pub points: i64,
    pub balance_after: i64,
}

/// `balance + points`, refused when a gain takes the balance beyond [`MAX_BALANCE`] (a loss is
/// always allowed: a balance above the bound from before it existed can still be spent).
pub(crate) fn add(balance: i64, points: i64) -> Result<i64> {
    let after = i128::from(balance) + i128::from(points);
    if points > 0 && after > i128::from(MAX_BALANCE) {
        return Err(LoyaltyError::invalid(
            "points.balance.too_large",
            "points",
            format!("{points} more points would take the balance of {balance} beyond the largest, {MAX_BALANCE}"),
        )
        .with("balance", balance)
        .with("points", points)
        .with("max", MAX_BALANCE));
    }
    i64::try_from(after)
        .map_err(|_| LoyaltyError::invalid("points.balance.overflow", "points", "the balance would overflow"))
}

/// A number of points a redemption or an adjustment moves: at most [`MAX_POINTS_PER_ENTRY`].
fn check_entry_size(points: i64) -> Result<()> {
    if points.unsigned_abs() > MAX_POINTS_PER_ENTRY.unsigned_abs() {
        return Err(LoyaltyError::invalid(
            "points.too_large",
            "points",
            format!("{points} points is more than one entry may move, {MAX_POINTS_PER_ENTRY}"),
        )
        .with("value", points)
        .with("max", MAX_POINTS_PER_ENTRY));
    }
    Ok(())
}

/// What a sale earns, given the customer's balance; `None` when it earns nothing.
pub fn earn(rule: &EarningRule, currency: Currency, net: i64, balance: i64) -> Result<Option<Posting>> {
    let points = rule.points_for(currency, net)?;
    if points == 0 {
        return Ok(None);
    }
    Ok(Some(Posting {
        kind: EntryKind::Earn,
        points,
        balance_after: add(balance, points)?,
    }))
}

/// An accrual of `points` (the program decided them, at most [`MAX_BALANCE`]), given the
/// customer's balance.
pub fn earn_points(points: i64, balance: i64) -> Result<Posting> {
    if !(0..=MAX_BALANCE).contains(&points) {
        return Err(LoyaltyError::invalid(
            "points.earn.too_large",
            "lines",
            format!("the sale would earn more than {MAX_BALANCE} points, the largest balance"),
        )
        .with("max", MAX_BALANCE));
    }
    Ok(Posting {
        kind: EntryKind::Earn,
        points,
        balance_after: add(balance, points)?,
    })
}

/// The reversal made of `parts` (each negative, from [`program::reverse_parts`]); `None` when
/// they take back nothing. May take the balance below zero, as [`reverse`].
pub fn reverse_points(parts: &[Part], balance: i64) -> Result<Option<Posting>> {
    let take: i64 = parts.iter().map(|p| p.points.min(0)).fold(0i64, i64::saturating_add);
    if take == 0 {
        return Ok(None);
    }
    Ok(Some(Posting {
        kind: EntryKind::Reverse,
        points: take,
        balance_after: add(balance, take)?,
    }))
}

/// What one refund of a sale takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refund {
    /// The points the original sale earned.
    pub earned: i64,
    /// The original sale's total, minor units (positive).
    pub sale_total: i64,
    /// The amount of this sale refunded (and reversed) before this refund, minor units (positive).
    pub refunded_before: i64,
    /// The points those earlier refunds took back (positive).
    pub reversed_before: i64,
    /// This refund's amount, minor units (positive; a refund's total is negative, pass its size).
    pub amount: i64,
}

/// The reversal of a refund, given the customer's balance; `None` when there is nothing to take
/// back. Cumulative and rounded down: the sum over every refund of a sale never exceeds what the
/// sale earned, and equals it once the whole sale is refunded. May take the balance below zero.
pub fn reverse(r: &Refund, balance: i64) -> Result<Option<Posting>> {
    if r.earned <= 0 || r.sale_total <= 0 || r.amount <= 0 {
        return Ok(None);
    }
    let refunded = (i128::from(r.refunded_before) + i128::from(r.amount)).clamp(0, i128::from(r.sale_total));
    let target = i128::from(r.earned) * refunded / i128::from(r.sale_total);
    let take = target - i128::from(r.reversed_before.max(0));
    if take <= 0 {
        return Ok(None);
    }
    // target ≤ earned, so `take` fits in i64.
    let take = i64::try_from(take)
        .map_err(|_| LoyaltyError::invalid("points.reversal.out_of_range", "points", "reversal out of range"))?;
    Ok(Some(Posting {
        kind: EntryKind::Reverse,
        points: -take,
        balance_after: add(balance, -take)?,
    }))
}

/// A redemption of `points` from `balance`: positive, and no more than the balance.
pub fn redeem(balance: i64, points: i64) -> Result<Posting> {
    if points <= 0 {
        return Err(LoyaltyError::invalid(
            "points.not_positive",
            "points",
            "must be a positive number of points",
        ));
    }
    check_entry_size(points)?;
    if points > balance {
        return Err(LoyaltyError::InsufficientBalance {
            balance,
            requested: points,
        });
    }
    Ok(Posting {
        kind: EntryKind::Redeem,
        points: -points,
        balance_after: balance - points,
    })
}

/// A correction of `points` (either sign, not zero) with a reason; never below zero.
pub fn adjust(balance: i64, points: i64, reason: Option<&str>) -> Result<Posting> {
    if points == 0 {
        return Err(LoyaltyError::invalid("points.zero", "points", "must not be zero"));
    }
    check_entry_size(points)?;
    parse_reason(reason, true)?;
    let after = add(balance, points)?;
    if after < 0 {
        return Err(LoyaltyError::InsufficientBalance {
            balance,
            requested: -points,
        });
    }
    Ok(Posting {
        kind: EntryKind::Adjust,
        points,
        balance_after: after,
    })
}

/// A redemption (`kind` Redeem) or an adjustment (any other kind) of `points` from `balance`,
/// with its reason as stored (required for an adjustment): what both backends post.
pub fn spend_or_adjust(
    kind: EntryKind,
    balance: i64,
    points: i64,
    reason: Option<&str>,
) -> Result<(Posting, Option<String>)> {
    let reason = parse_reason(reason, kind == EntryKind::Adjust)?;
    let posting = match kind {
        EntryKind::Redeem => redeem(balance, points)?,
        _ => adjust(balance, points, reason.as_deref())?,
    };
    Ok((posting, reason))
}

/// [`spend_or_adjust`] on a balance of which `pending` points are not spendable yet: the checks
/// (no more than the balance, never below zero) hold against the spendable part, and the entry's
/// balance after is the whole balance's.
pub fn spend_or_adjust_pending(
    kind: EntryKind,
    balance: i64,
    pending: i64,
    points: i64,
    reason: Option<&str>,
) -> Result<(Posting, Option<String>)> {
    let spendable = balance.saturating_sub(pending.max(0));
    let (mut posting, reason) = spend_or_adjust(kind, spendable, points, reason)?;
    posting.balance_after = add(balance, posting.points)?;
    Ok((posting, reason))
}

/// The merge of a dropped customer's balance into the kept one's: a zero-point entry on the kept
/// customer with the sum (the dropped customer's entries move with it).
pub fn merge(kept_balance: i64, dropped_balance: i64) -> Result<Posting> {
    Ok(Posting {
        kind: EntryKind::Merge,
        points: 0,
        balance_after: add(kept_balance, dropped_balance)?,
    })
}

/// Longest reason kept.
pub const MAX_REASON: usize = 500;
/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;

/// A reason as stored: trimmed, at most [`MAX_REASON`] characters; required when `required`.
pub fn parse_reason(reason: Option<&str>, required: bool) -> Result<Option<String>> {
    let r = reason.map(str::trim).filter(|r| !r.is_empty());
    match r {
        None if required => Err(LoyaltyError::invalid(
            "points.reason.missing",
            "reason",
            "a reason is required",
        )),
        None => Ok(None),
        Some(r) if r.chars().count() > MAX_REASON => Err(LoyaltyError::invalid(
            "points.reason.too_long",
            "reason",
            format!("at most {MAX_REASON} characters"),
        )
        .with("max", MAX_REASON)),
        Some(r) => Ok(Some(r.to_string())),
    }
}

/// An idempotency key as stored: 1 to [`MAX_IDEMPOTENCY_KEY`] visible ASCII characters.
pub fn parse_idempotency_key(key: &str) -> Result<String> {
    let k = key.trim();
    if k.is_empty() {
        return Err(LoyaltyError::invalid(
            "idempotency_key.empty",
            "idempotency_key",
            "must not be empty",
        ));
    }
    if k.len() > MAX_IDEMPOTENCY_KEY || !k.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(LoyaltyError::invalid(
            "idempotency_key.invalid",
            "idempotency_key",
            format!("1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
        )
        .with("max", MAX_IDEMPOTENCY_KEY));
    }
    Ok(k.to_string())
}

/// One line of a customer's points ledger, as stored. Append-only: entries are never changed
/// (erasure clears the reason text; a merge moves entries to the kept customer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// Order of writing (database sequence).
    pub seq: i64,
    pub customer_id: CustomerId,
    pub kind: EntryKind,
    /// Signed: positive earns, negative spends.
    pub points: i64,
    /// The balance of the record the entry was written to, right after it.
    pub balance_after: i64,
    pub reason: Option<String>,
    /// Unique per customer when set: a retried request returns this entry.
    pub idempotency_key: Option<String>,
    /// The sale (earn) or refund (reverse) the entry is for.
    pub transaction_id: Option<TransactionId>,
    /// Where it happened: the sale's branch, the branch a redemption was made at.
    pub branch_id: Option<BranchId>,
    /// Who (`user:…`, `token:…`, `cli:…`) and from where.
    pub actor: String,
    pub origin: Option<String>,
    pub at: Timestamp,
    /// Which rule gave how many of the points (earn and reverse entries under a program; empty
    /// for other entries and for entries from before breakdowns).
    pub breakdown: Vec<Part>,
    /// When the points become spendable: a pending accrual (and a refund's reversal of it) under
    /// a program with a return window; `None`: at once.
    pub available_at: Option<Timestamp>,
}

/// The balance a ledger adds up to: the sum of its points (`None` when it does not fit in i64,
/// which only entries written before the bounds can cause).
pub fn sum_points(entries: &[LedgerEntry]) -> Option<i64> {
    let sum: i128 = entries.iter().map(|e| i128::from(e.points)).sum();
    i64::try_from(sum).ok()
}
