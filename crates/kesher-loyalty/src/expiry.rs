//! Points expire by lot, oldest first. Every entry that adds points (an accrual, a positive
//! adjustment) is a lot that expires one lifetime after it was written; every entry that takes
//! points (a redemption, a refund's reversal, a negative adjustment, an expiry) takes them from
//! the oldest lots first. What is left of the lots whose time has come expires, in one `expire`
//! entry per customer and run. Pure: the ledger is read by the app under the customer's lock.
//!
//! Because every taking consumes the oldest lots first, a second run at the same instant finds
//! nothing left to expire (the first run's entry consumed it): the run is idempotent. A balance
//! in debt (a reversal after the points were spent) holds no lot, so nothing expires from it.

use crate::{EntryKind, LedgerEntry, Posting, Result, add};
use jiff::{SignedDuration, Timestamp};

/// One lot: the points an entry added, what is left of them, and when they expire.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lot {
    /// The entry that added the points.
    pub seq: i64,
    pub earned_at: Timestamp,
    pub expires_at: Timestamp,
    pub points: i64,
    pub remaining: i64,
}

/// The lots of a ledger (entries in the order they were written), with what is left of each
/// after every taking so far, oldest first.
pub fn lots(entries: &[LedgerEntry], lifetime: SignedDuration) -> Vec<Lot> {
    let mut lots: Vec<Lot> = Vec::new();
    // Points taken while no lot held any (a debt): later lots pay it first.
    let mut debt: i64 = 0;
    let mut first = 0usize;
    for e in entries {
        if e.points > 0 {
            let paid = debt.min(e.points);
            debt -= paid;
            lots.push(Lot {
                seq: e.seq,
                earned_at: e.at,
                expires_at: e.at.checked_add(lifetime).unwrap_or(Timestamp::MAX),
                points: e.points,
                remaining: e.points - paid,
            });
        } else if e.points < 0 {
            let mut take = e.points.saturating_neg();
            while take > 0 && first < lots.len() {
                let lot = &mut lots[first];
                let t = take.min(lot.remaining);
                lot.remaining -= t;
                take -= t;
                if lot.remaining == 0 {
                    first += 1;
                }
            }
            debt = debt.saturating_add(take);
        }
    }
    lots
}

/// The lots still holding points, oldest first.
pub fn open_lots(entries: &[LedgerEntry], lifetime: SignedDuration) -> Vec<Lot> {
    lots(entries, lifetime)
        .into_iter()
        .filter(|l| l.remaining > 0)
        .collect()
}

/// What expires at `as_of`: the points left in the lots whose expiry is at or before it, as an
/// `expire` posting on `balance` (never below zero); `None` when nothing expires.
pub fn expiry(
    entries: &[LedgerEntry],
    lifetime: SignedDuration,
    as_of: Timestamp,
    balance: i64,
) -> Result<Option<Posting>> {
    let due: i64 = lots(entries, lifetime)
        .iter()
        .filter(|l| l.expires_at <= as_of)
        .map(|l| l.remaining)
        .fold(0i64, i64::saturating_add);
    let take = due.min(balance.max(0));
    if take <= 0 {
        return Ok(None);
    }
    Ok(Some(Posting {
        kind: EntryKind::Expire,
        points: -take,
        balance_after: add(balance, -take)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kesher_core::CustomerId;

    fn entry(seq: i64, points: i64, day: i64) -> LedgerEntry {
        LedgerEntry {
            seq,
            customer_id: CustomerId::from_bytes([7; 16]),
            kind: if points >= 0 {
                EntryKind::Earn
            } else {
                EntryKind::Redeem
            },
            points,
            balance_after: 0,
            reason: None,
            idempotency_key: None,
            transaction_id: None,
            branch_id: None,
            actor: "t".into(),
            origin: None,
            at: Timestamp::from_second(day * 86_400).unwrap(),
            breakdown: Vec::new(),
        }
    }
    fn day(d: i64) -> Timestamp {
        Timestamp::from_second(d * 86_400).unwrap()
    }
    const YEAR: SignedDuration = SignedDuration::from_hours(24 * 365);

    #[test]
    fn takings_consume_the_oldest_lots_first() {
        let l = lots(
            &[entry(1, 100, 0), entry(2, 50, 10), entry(3, -120, 20), entry(4, 30, 30)],
            YEAR,
        );
        let left: Vec<i64> = l.iter().map(|l| l.remaining).collect();
        assert_eq!(left, [0, 30, 30]);
        assert_eq!(l[1].expires_at, day(375));
        assert_eq!(open_lots(&[entry(1, 100, 0), entry(3, -100, 5)], YEAR), vec![]);
    }

    #[test]
    fn what_is_left_of_an_old_lot_expires_once_and_never_below_zero() {
        let mut ledger = vec![entry(1, 100, 0), entry(2, 50, 200), entry(3, -30, 300)];
        // Day 364: nothing is due yet; day 365 the first lot (70 left) is.
        assert_eq!(expiry(&ledger, YEAR, day(364), 120).unwrap(), None);
        let p = expiry(&ledger, YEAR, day(365), 120).unwrap().unwrap();
        assert_eq!((p.kind, p.points, p.balance_after), (EntryKind::Expire, -70, 50));
        // Written, it consumed the lot: a second run finds nothing.
        ledger.push(LedgerEntry {
            kind: EntryKind::Expire,
            ..entry(4, -70, 365)
        });
        assert_eq!(expiry(&ledger, YEAR, day(365), 50).unwrap(), None);
        // The second lot expires in its turn.
        assert_eq!(expiry(&ledger, YEAR, day(565), 50).unwrap().unwrap().points, -50);
    }

    #[test]
    fn a_debt_holds_no_lot_and_is_paid_by_the_next_earnings() {
        // Spent 100, then a refund's reversal of 40: the balance is −40.
        let ledger = vec![entry(1, 100, 0), entry(2, -100, 1), entry(3, -40, 2), entry(4, 60, 3)];
        let l = lots(&ledger, YEAR);
        assert_eq!(l[1].remaining, 20);
        assert_eq!(expiry(&ledger, YEAR, day(400), 20).unwrap().unwrap().points, -20);
        assert_eq!(expiry(&ledger[..3], YEAR, day(400), -40).unwrap(), None);
    }
}
