//! Benefits: the catalogue's entries as read from a program ([`BenefitRule`]: hard benefits with
//! a money or points value, soft ones without), a grant of a benefit to a customer ([`Grant`])
//! and its states (available → used or expired), what honouring a grant at the till decides
//! ([`honour`]), and the surprise draw ([`draw`]: a seeded shuffle of the candidates under a
//! budget, reproducible from its seed). Pure: the app passes `now`, the seed and the candidates.
//! docs/loyalty.md ("Benefits") says the same for people.

use jiff::{SignedDuration, Timestamp};
use kesher_core::{BenefitGrantId, BranchId, CustomerId, SurpriseDrawId};
use std::collections::BTreeSet;

/// Whether a benefit can be valued in money (a discount, a credit, a gift, points) or not
/// (priority service, special treatment, an invitation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenefitKind {
    Hard,
    Soft,
}

impl BenefitKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BenefitKind::Hard => "hard",
            BenefitKind::Soft => "soft",
        }
    }
}

/// A hard benefit's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenefitValue {
    /// A discount on a purchase, in hundredths of a percent (1250 is 12.5%).
    PercentDiscount { hundredths: i64 },
    /// A credit of this many minor units of the program's currency.
    FixedCredit { minor: i64 },
    /// A product given, by SKU.
    GiftProduct { sku: String },
    /// Points credited.
    Points { points: i64 },
}

impl BenefitValue {
    pub fn type_name(&self) -> &'static str {
        match self {
            BenefitValue::PercentDiscount { .. } => "percent_discount",
            BenefitValue::FixedCredit { .. } => "fixed_credit",
            BenefitValue::GiftProduct { .. } => "gift_product",
            BenefitValue::Points { .. } => "points",
        }
    }
}

/// One benefit of the catalogue, its values read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitRule {
    pub key: String,
    pub name: String,
    pub kind: BenefitKind,
    /// Hard benefits only.
    pub value: Option<BenefitValue>,
    /// What a member pays in points to redeem it (`None`: it cannot be redeemed for points).
    pub cost_points: Option<i64>,
    /// How long a grant stays available (days).
    pub valid_days: i64,
    /// The tiers whose members are granted it on entering them.
    pub tiers: Vec<String>,
}

/// What one grant of a benefit counts against a surprise's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetUnit {
    /// Minor units of the program's currency.
    Money(i64),
    /// Points.
    Points(i64),
}

impl BenefitRule {
    /// Until when a grant made at `granted_at` is available.
    pub fn available_until(&self, granted_at: Timestamp) -> Timestamp {
        granted_at
            .checked_add(SignedDuration::from_hours(24 * self.valid_days))
            .unwrap_or(Timestamp::MAX)
    }

    /// What one grant costs against a budget: its money value (a fixed credit), its points (a
    /// points benefit), else its price in points when it has one; `None` for a benefit with
    /// neither (a percentage, a gift or a soft benefit without a points price).
    pub fn budget_unit(&self) -> Option<BudgetUnit> {
        match &self.value {
            Some(BenefitValue::FixedCredit { minor }) => Some(BudgetUnit::Money(*minor)),
            Some(BenefitValue::Points { points }) => Some(BudgetUnit::Points(*points)),
            _ => self.cost_points.map(BudgetUnit::Points),
        }
    }
}

/// Where a grant stands. A grant is available from the moment it is granted until
/// `available_until`; then it is used (honoured at the till) or expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantState {
    Available,
    Used,
    Expired,
}

impl GrantState {
    pub const ALL: [GrantState; 3] = [GrantState::Available, GrantState::Used, GrantState::Expired];
    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Available => "available",
            GrantState::Used => "used",
            GrantState::Expired => "expired",
        }
    }
    pub fn parse(s: &str) -> Option<GrantState> {
        GrantState::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How a grant came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantSource {
    /// The member paid points for it.
    Redeemed,
    /// The member entered a tier that lists it.
    Tier,
    /// A surprise draw picked the member.
    Surprise,
    /// Staff granted it.
    Manual,
}

impl GrantSource {
    pub const ALL: [GrantSource; 4] = [
        GrantSource::Redeemed,
        GrantSource::Tier,
        GrantSource::Surprise,
        GrantSource::Manual,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            GrantSource::Redeemed => "redeemed",
            GrantSource::Tier => "tier",
            GrantSource::Surprise => "surprise",
            GrantSource::Manual => "manual",
        }
    }
    pub fn parse(s: &str) -> Option<GrantSource> {
        GrantSource::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A benefit granted to a customer, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: BenefitGrantId,
    pub customer_id: CustomerId,
    /// The catalogue's key.
    pub benefit: String,
    /// As stored: an available grant past `available_until` is expired in effect
    /// ([`Grant::state_at`]) until the expiry job writes it.
    pub state: GrantState,
    pub granted_at: Timestamp,
    pub available_until: Timestamp,
    /// Who granted it (`user:…`, `token:…`, `cli:…`, or the job).
    pub granted_by: String,
    pub source: GrantSource,
    pub used_at: Option<Timestamp>,
    /// Who honoured it, and at which branch.
    pub honoured_by: Option<String>,
    pub honoured_branch: Option<BranchId>,
    /// The idempotency key the honouring was made with.
    pub honour_key: Option<String>,
    /// The points ledger entry that paid for it (redeemed).
    pub points_seq: Option<i64>,
    /// The surprise draw that granted it.
    pub draw_id: Option<SurpriseDrawId>,
    /// Unique per customer when set: a retried grant returns this one.
    pub idempotency_key: Option<String>,
}

impl Grant {
    /// The state at `now`: an available grant whose time has passed is expired.
    pub fn state_at(&self, now: Timestamp) -> GrantState {
        match self.state {
            GrantState::Available if now >= self.available_until => GrantState::Expired,
            s => s,
        }
    }

    /// Whether the customer may use it at `now`.
    pub fn is_available(&self, now: Timestamp) -> bool {
        self.state_at(now) == GrantState::Available
    }

    /// The grant as the expiry job writes it, when its time has passed (`None` otherwise).
    pub fn expired(&self, now: Timestamp) -> Option<Grant> {
        (self.state == GrantState::Available && self.state_at(now) == GrantState::Expired).then(|| Grant {
            state: GrantState::Expired,
            ..self.clone()
        })
    }
}

/// What honouring a grant at the till decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Honour {
    /// Mark it used: the grant as it is to be written.
    Use(Box<Grant>),
    /// It was honoured with this key already: answer with it, write nothing.
    Already,
    /// It cannot be honoured: its state (used with another key, or expired).
    Refused(GrantState),
}

/// Honour `grant` at `now` by `who` at `branch` with the idempotency `key`.
pub fn honour(grant: &Grant, now: Timestamp, who: &str, branch: Option<BranchId>, key: &str) -> Honour {
    match grant.state_at(now) {
        GrantState::Available => Honour::Use(Box::new(Grant {
            state: GrantState::Used,
            used_at: Some(now),
            honoured_by: Some(who.to_string()),
            honoured_branch: branch,
            honour_key: Some(key.to_string()),
            ..grant.clone()
        })),
        GrantState::Used if grant.honour_key.as_deref() == Some(key) => Honour::Already,
        state => Honour::Refused(state),
    }
}

/// A small, seeded generator (splitmix64): the same seed gives the same numbers on every
/// machine.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `0..bound` (`bound` > 0), without modulo bias (rejection).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound <= 1 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % bound;
            }
        }
    }
}

/// Shuffle `items` in place (Fisher–Yates) with the generator seeded by `seed`.
pub fn shuffle<T>(seed: u64, items: &mut [T]) {
    let mut rng = SplitMix64::new(seed);
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// How many members a budget pays for at `unit` each (all when the unit costs nothing).
pub fn affordable(budget: i64, unit: i64) -> usize {
    if unit <= 0 {
        return usize::MAX;
    }
    usize::try_from((budget.max(0)) / unit).unwrap_or(usize::MAX)
}

/// A surprise draw: the candidates (in any order, duplicates ignored) less the excluded ones
/// (who had the same surprise within the no-repeat period), in the order the seed shuffles
/// them, at most `limit` of them (`None`: no limit) and as many as `budget` pays for at
/// `unit` each. The same seed and the same candidates give the same draw.
pub fn draw(
    seed: u64,
    candidates: &[CustomerId],
    excluded: &BTreeSet<CustomerId>,
    limit: Option<usize>,
    budget: i64,
    unit: i64,
) -> Vec<CustomerId> {
    let mut pool: Vec<CustomerId> = candidates
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|c| !excluded.contains(c))
        .collect();
    shuffle(seed, &mut pool);
    let n = affordable(budget, unit)
        .min(limit.unwrap_or(usize::MAX))
        .min(pool.len());
    pool.truncate(n);
    pool
}

#[cfg(test)]
mod tests;
