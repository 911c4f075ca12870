//! The random draws of a campaign, reproducible from a seed the app stores with the campaign:
//! the control group, stratified by lifecycle stage ([`control_group`]), and the variants'
//! arms ([`assign_arms`]). Both sort the customers by id first, so the draw depends on the
//! seed and the set of customers only, never on the order the store returned them in.
//!
//! The generator is a small SplitMix64 of our own (the same algorithm as
//! `kesher_loyalty::benefits::SplitMix64`, copied rather than depended on: a campaign crate
//! depending on the loyalty crate for eight lines would tie two engines together).

use kesher_core::CustomerId;
use std::collections::{BTreeMap, BTreeSet};

/// A basis point: 1/100 of a percent; 10 000 is the whole.
pub const WHOLE_BP: u32 = 10_000;

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

    /// A number in `0..bound`, without modulo bias (rejection); 0 when `bound` ≤ 1.
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

/// Shuffle `items` in place (Fisher–Yates) with `rng`.
fn shuffle<T>(rng: &mut SplitMix64, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0);
        items.swap(i, j);
    }
}

/// The seed of one stratum: the campaign's seed mixed with the stratum's name (FNV-1a), so
/// that each stratum's draw is independent of which other strata exist.
fn stratum_seed(seed: u64, stratum: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in stratum.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    SplitMix64::new(seed ^ hash).next_u64()
}

/// The seed of one occurrence of a recurring campaign (its year): the campaign's seed mixed
/// with it, so that each year's control group is drawn afresh yet reproducibly.
pub fn occurrence_seed(seed: u64, occurrence: i64) -> u64 {
    stratum_seed(seed, &format!("occurrence:{occurrence}"))
}

/// `share_bp` of `n`, rounded half up: round(share × n).
pub fn share_of(n: usize, share_bp: u32) -> usize {
    let n = n as u128;
    let share = u128::from(share_bp.min(WHOLE_BP));
    usize::try_from((n * share + u128::from(WHOLE_BP / 2)) / u128::from(WHOLE_BP)).unwrap_or(usize::MAX)
}

/// The control group: within each stratum (lifecycle stage) of the `members` (customer,
/// stratum; a customer listed twice counts once, under the stratum listed first after sorting),
/// exactly `round(share_bp / 10 000 × n)` customers drawn at random, `n` being the stratum's
/// size. The same seed and the same members give the same group whatever their order.
pub fn control_group<S: AsRef<str>>(seed: u64, members: &[(CustomerId, S)], share_bp: u32) -> BTreeSet<CustomerId> {
    let mut sorted: Vec<(CustomerId, &str)> = members.iter().map(|(id, s)| (*id, s.as_ref())).collect();
    sorted.sort();
    sorted.dedup_by_key(|(id, _)| *id);
    let mut strata: BTreeMap<&str, Vec<CustomerId>> = BTreeMap::new();
    for (id, stratum) in sorted {
        strata.entry(stratum).or_default().push(id);
    }
    let mut control = BTreeSet::new();
    for (stratum, mut ids) in strata {
        let take = share_of(ids.len(), share_bp);
        let mut rng = SplitMix64::new(stratum_seed(seed, stratum));
        shuffle(&mut rng, &mut ids);
        control.extend(ids.into_iter().take(take));
    }
    control
}

/// Where a recipient goes in an A/B test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arm {
    /// Variant `i` of the campaign's list.
    Variant(usize),
    /// Waits for the winner: sent once the variants' response is measured.
    Rest,
}

/// How many of `n` each share gets, exactly: the floors of `share × n`, then the units left
/// (of the shares' rounded total) to the largest remainders, earlier variants first on ties.
/// The counts add up to `round(sum of shares × n)`.
pub fn counts(n: usize, shares_bp: &[u32]) -> Vec<usize> {
    let whole = u128::from(WHOLE_BP);
    let exact: Vec<u128> = shares_bp.iter().map(|&s| n as u128 * u128::from(s)).collect();
    let mut out: Vec<usize> = exact.iter().map(|e| usize::try_from(e / whole).unwrap_or(0)).collect();
    let total_share: u32 = shares_bp.iter().copied().fold(0u32, u32::saturating_add).min(WHOLE_BP);
    let target = share_of(n, total_share);
    let mut order: Vec<usize> = (0..shares_bp.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(exact[i] % whole), i));
    let given: usize = out.iter().sum();
    for i in order.into_iter().take(target.saturating_sub(given)) {
        out[i] += 1;
    }
    out
}

/// The arms of the `recipients` (the audience less the control group): sorted by id, shuffled
/// with `seed`, then the first [`counts`]`(n, shares)[0]` to variant 0, the next to variant 1
/// …, and whoever is left (when the shares add up to less than the whole) to [`Arm::Rest`].
/// No variants: everybody is [`Arm::Rest`] (the one message).
pub fn assign_arms(seed: u64, recipients: &[CustomerId], shares_bp: &[u32]) -> BTreeMap<CustomerId, Arm> {
    let mut ids: Vec<CustomerId> = recipients.to_vec();
    ids.sort();
    ids.dedup();
    let mut rng = SplitMix64::new(stratum_seed(seed, "\u{0}variants"));
    shuffle(&mut rng, &mut ids);
    let arm_counts = counts(ids.len(), shares_bp);
    let mut out = BTreeMap::new();
    let mut iter = ids.into_iter();
    for (variant, count) in arm_counts.into_iter().enumerate() {
        for id in iter.by_ref().take(count) {
            out.insert(id, Arm::Variant(variant));
        }
    }
    for id in iter {
        out.insert(id, Arm::Rest);
    }
    out
}

/// A number in `0..WHOLE_BP` drawn for one customer from the seed and the customer's id alone
/// (the seed mixed with `purpose` and the id's bytes by FNV-1a, then one SplitMix64 step).
fn customer_draw(seed: u64, purpose: &str, customer: CustomerId) -> u32 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in purpose.bytes().chain(customer.as_bytes().iter().copied()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let draw = SplitMix64::new(seed ^ hash).below(u64::from(WHOLE_BP));
    u32::try_from(draw).unwrap_or(0)
}

/// Whether `customer` is in the control group of a campaign whose audience arrives one customer
/// at a time (a triggered campaign: customers entering a segment over weeks): each customer
/// drawn on their own with probability `share_bp / 10 000`, from the seed and their id only, so
/// that the answer never depends on who else arrived in the same batch. (An exact draw per
/// batch, as [`control_group`], would round a batch of one to nobody at a 10 % share.)
pub fn in_control(seed: u64, customer: CustomerId, share_bp: u32) -> bool {
    customer_draw(seed, "\u{0}control", customer) < share_bp.min(WHOLE_BP)
}

/// The arm of a recipient arriving one at a time (see [`in_control`]): variant i with
/// probability `shares_bp[i] / 10 000`, [`Arm::Rest`] otherwise; from the seed and the id only.
pub fn arm_of(seed: u64, customer: CustomerId, shares_bp: &[u32]) -> Arm {
    let draw = customer_draw(seed, "\u{0}variants", customer);
    let mut upper = 0u32;
    for (i, share) in shares_bp.iter().enumerate() {
        upper = upper.saturating_add(*share);
        if draw < upper {
            return Arm::Variant(i);
        }
    }
    Arm::Rest
}

/// The winning variant: the highest response rate (responders, recipients) among variants with
/// recipients; ties go to the earlier variant. `None` when no variant has recipients.
pub fn pick_winner(results: &[(u64, u64)]) -> Option<usize> {
    let mut best: Option<(usize, u64, u64)> = None;
    for (i, &(responders, recipients)) in results.iter().enumerate() {
        if recipients == 0 {
            continue;
        }
        let better = match best {
            None => true,
            // responders / recipients > best_r / best_n, compared exactly.
            Some((_, best_r, best_n)) => {
                u128::from(responders) * u128::from(best_n) > u128::from(best_r) * u128::from(recipients)
            }
        };
        if better {
            best = Some((i, responders, recipients));
        }
    }
    best.map(|(i, _, _)| i)
}
