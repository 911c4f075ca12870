#![allow(clippy::unwrap_used)]

use super::*;
use proptest::prelude::*;

fn ils() -> Currency {
    Currency::parse("ILS").unwrap()
}

fn rule() -> EarningRule {
    EarningRule::new().with(ils(), EarnRate::per_whole_unit(ils(), 1).unwrap())
}

#[test]
fn a_sale_earns_per_whole_unit_of_its_net_amount() {
    assert_eq!(rule().points_for(ils(), 12_399).unwrap(), 123);
    assert_eq!(rule().points_for(ils(), 99).unwrap(), 0);
    assert_eq!(rule().points_for(ils(), -500).unwrap(), 0);
    let usd = Currency::parse("USD").unwrap();
    assert_eq!(rule().points_for(usd, 10_000).unwrap(), 0, "no rate, no points");
    let jpy = Currency::parse("JPY").unwrap();
    let r = EarningRule::new().with(jpy, EarnRate::new(3, 100).unwrap());
    assert_eq!(r.points_for(jpy, 1_050).unwrap(), 30);
    assert_eq!(earn(&rule(), ils(), 50, 7).unwrap(), None);
    assert_eq!(
        earn(&rule(), ils(), 1_000, 7).unwrap(),
        Some(Posting {
            kind: EntryKind::Earn,
            points: 10,
            balance_after: 17
        })
    );
    // A rule stored before the bounds existed still reads; it earns until the balance bound.
    let huge = EarningRule::new().with(ils(), EarnRate::stored(i64::MAX, 1));
    let e = huge.points_for(ils(), 2).unwrap_err();
    assert_eq!((e.code(), e.field()), ("points.earn.too_large", "lines"));
}

#[test]
fn an_earning_rule_beyond_the_bounds_is_refused() {
    let e = EarnRate::new(i64::MAX, 100).unwrap_err();
    assert_eq!((e.code(), e.field()), ("points.rule.points.too_large", "points"));
    assert_eq!(
        e.params(),
        kesher_core::params!(value = i64::MAX, max = MAX_RATE_POINTS)
    );
    let e = EarnRate::per_whole_unit(ils(), MAX_RATE_POINTS + 1).unwrap_err();
    assert_eq!(e.code(), "points.rule.points.too_large");
    let e = EarnRate::new(1, MAX_RATE_PER_MINOR + 1).unwrap_err();
    assert_eq!((e.code(), e.field()), ("points.rule.per_minor.too_large", "per_minor"));
    // A generous rate (a hundred points a shekel) on the largest sale earns well within the
    // largest balance; the largest rate on it would pass it, and is refused with a code.
    let generous = EarningRule::new().with(ils(), EarnRate::per_whole_unit(ils(), 100).unwrap());
    let points = generous.points_for(ils(), kesher_core::MAX_SALE_TOTAL).unwrap();
    assert!(points <= MAX_BALANCE / 100, "{points}");
    let most = EarningRule::new().with(ils(), EarnRate::new(MAX_RATE_POINTS, 1).unwrap());
    let e = most.points_for(ils(), kesher_core::MAX_SALE_TOTAL).unwrap_err();
    assert_eq!(e.code(), "points.earn.too_large");
}

#[test]
fn no_entry_takes_a_balance_beyond_the_bound() {
    let e = adjust(MAX_BALANCE - 5, 6, Some("gift")).unwrap_err();
    assert_eq!((e.code(), e.field()), ("points.balance.too_large", "points"));
    assert_eq!(
        e.params(),
        kesher_core::params!(balance = MAX_BALANCE - 5, points = 6, max = MAX_BALANCE)
    );
    assert_eq!(
        adjust(MAX_BALANCE - 5, 5, Some("gift")).unwrap().balance_after,
        MAX_BALANCE
    );
    let big = adjust(0, MAX_POINTS_PER_ENTRY + 1, Some("gift")).unwrap_err();
    assert_eq!((big.code(), big.field()), ("points.too_large", "points"));
    assert_eq!(
        adjust(i64::MAX, i64::MIN, Some("x")).unwrap_err().code(),
        "points.too_large"
    );
    assert_eq!(redeem(i64::MAX, i64::MAX).unwrap_err().code(), "points.too_large");
    assert_eq!(
        earn(&rule(), ils(), 1_000, MAX_BALANCE).unwrap_err().code(),
        "points.balance.too_large"
    );
    assert_eq!(merge(MAX_BALANCE, 1).unwrap_err().code(), "points.balance.too_large");
    // A balance above the bound from before it existed can still be spent.
    assert_eq!(redeem(i64::MAX, 10).unwrap().balance_after, i64::MAX - 10);
    assert_eq!(adjust(i64::MAX, -10, Some("fix")).unwrap().balance_after, i64::MAX - 10);
}

#[test]
fn rates_are_checked() {
    assert_eq!(EarnRate::new(-1, 100).unwrap_err().field(), "points");
    assert_eq!(EarnRate::new(1, 0).unwrap_err().field(), "per_minor");
    assert!(EarnRate::new(0, 1).is_ok());
}

#[test]
fn redemption_needs_a_positive_amount_within_the_balance() {
    assert_eq!(redeem(100, 0).unwrap_err().field(), "points");
    assert_eq!(redeem(100, -5).unwrap_err().field(), "points");
    assert_eq!(
        redeem(100, 101).unwrap_err(),
        LoyaltyError::InsufficientBalance {
            balance: 100,
            requested: 101
        }
    );
    assert_eq!(redeem(100, 100).unwrap().balance_after, 0);
    assert_eq!(redeem(-4, 1).unwrap_err().field(), "points");
}

#[test]
fn adjustments_need_a_reason_and_stay_above_zero() {
    assert_eq!(adjust(10, 5, None).unwrap_err().field(), "reason");
    assert_eq!(adjust(10, 5, Some("  ")).unwrap_err().field(), "reason");
    assert_eq!(adjust(10, 0, Some("x")).unwrap_err().field(), "points");
    assert!(matches!(
        adjust(10, -11, Some("x")).unwrap_err(),
        LoyaltyError::InsufficientBalance { .. }
    ));
    let p = adjust(10, -10, Some("goodwill reversed")).unwrap();
    assert_eq!((p.kind, p.points, p.balance_after), (EntryKind::Adjust, -10, 0));
    assert_eq!(
        parse_reason(Some(&"x".repeat(MAX_REASON + 1)), true)
            .unwrap_err()
            .field(),
        "reason"
    );
}

#[test]
fn a_refund_takes_back_its_share_and_never_more() {
    // A 100.00 sale earned 100 points; refunded 30.00 then 70.00.
    let first = Refund {
        earned: 100,
        sale_total: 10_000,
        refunded_before: 0,
        reversed_before: 0,
        amount: 3_000,
    };
    let p = reverse(&first, 100).unwrap().unwrap();
    assert_eq!((p.kind, p.points, p.balance_after), (EntryKind::Reverse, -30, 70));
    let second = Refund {
        refunded_before: 3_000,
        reversed_before: 30,
        amount: 7_000,
        ..first
    };
    assert_eq!(reverse(&second, 70).unwrap().unwrap().points, -70);
    // A refund larger than what is left of the sale takes back only what is left.
    let third = Refund {
        refunded_before: 10_000,
        reversed_before: 100,
        amount: 500,
        ..first
    };
    assert_eq!(reverse(&third, 0).unwrap(), None);
    // After a redemption the balance may go below zero.
    assert_eq!(reverse(&first, 10).unwrap().unwrap().balance_after, -20);
    // Nothing earned, nothing taken back.
    assert_eq!(reverse(&Refund { earned: 0, ..first }, 5).unwrap(), None);
}

#[test]
fn kinds_round_trip() {
    for k in EntryKind::ALL {
        assert_eq!(EntryKind::parse(k.as_str()).unwrap(), k);
    }
    assert!(EntryKind::parse("gift").is_err());
}

#[test]
fn idempotency_keys_are_checked() {
    assert_eq!(parse_idempotency_key(" abc-1 ").unwrap(), "abc-1");
    assert!(parse_idempotency_key("").is_err());
    assert!(parse_idempotency_key("a b").is_err());
    assert!(parse_idempotency_key(&"k".repeat(MAX_IDEMPOTENCY_KEY + 1)).is_err());
}

#[derive(Debug, Clone)]
enum Op {
    Sale(i64),
    Refund(usize, i64),
    Redeem(i64),
    Adjust(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..50_000).prop_map(Op::Sale),
        (0usize..8, 1i64..50_000).prop_map(|(i, a)| Op::Refund(i, a)),
        (-5i64..400).prop_map(Op::Redeem),
        (-300i64..300).prop_map(Op::Adjust),
    ]
}

proptest! {
    /// Whatever happens, the balance is the sum of the postings; only a reversal may take it
    /// below zero; a sale's reversals never exceed what it earned, and a full refund takes back
    /// exactly that.
    #[test]
    fn the_balance_is_the_sum_of_the_postings(ops in proptest::collection::vec(op(), 0..60)) {
        let rule = rule();
        let mut balance = 0i64;
        let mut sum = 0i64;
        // Per sale: (total, earned, refunded, reversed).
        let mut sales: Vec<(i64, i64, i64, i64)> = Vec::new();
        for o in ops {
            let before = balance;
            let posting = match o {
                Op::Sale(total) => {
                    let p = earn(&rule, ils(), total, balance).unwrap();
                    sales.push((total, p.map_or(0, |p| p.points), 0, 0));
                    p
                }
                Op::Refund(i, amount) => {
                    let Some(s) = sales.get_mut(i) else { continue };
                    let amount = amount.min(s.0 - s.2);
                    if amount <= 0 { continue }
                    let r = Refund { earned: s.1, sale_total: s.0, refunded_before: s.2, reversed_before: s.3, amount };
                    let p = reverse(&r, balance).unwrap();
                    s.2 += amount;
                    s.3 += p.map_or(0, |p| -p.points);
                    prop_assert!(s.3 <= s.1);
                    if s.2 == s.0 { prop_assert_eq!(s.3, s.1); }
                    p
                }
                Op::Redeem(n) => redeem(balance, n).ok(),
                Op::Adjust(n) => adjust(balance, n, Some("correction")).ok(),
            };
            if let Some(p) = posting {
                prop_assert_eq!(p.balance_after, before + p.points);
                if p.kind != EntryKind::Reverse {
                    prop_assert!(p.balance_after >= 0 || p.balance_after >= before);
                }
                if p.kind == EntryKind::Redeem || p.kind == EntryKind::Adjust {
                    prop_assert!(p.balance_after >= 0);
                }
                balance = p.balance_after;
                sum += p.points;
            }
            prop_assert_eq!(balance, sum);
        }
    }
}

#[test]
fn refusals_carry_their_code_and_the_amounts_as_params() {
    let short = redeem(120, 400).unwrap_err();
    assert_eq!(short.code(), "points.insufficient");
    assert_eq!(short.params(), kesher_core::params!(balance = 120, asked = 400));
    // The English text is unchanged.
    assert_eq!(
        short.to_string(),
        "points: the balance is 120 points, 400 were asked for"
    );
    let long = parse_reason(Some(&"x".repeat(MAX_REASON + 1)), true).unwrap_err();
    assert_eq!((long.code(), long.field()), ("points.reason.too_long", "reason"));
    assert_eq!(long.params(), kesher_core::params!(max = MAX_REASON));
    for e in [
        short,
        long,
        redeem(1, 0).unwrap_err(),
        adjust(1, 0, Some("x")).unwrap_err(),
    ] {
        let entry = kesher_core::codes::lookup(e.code()).unwrap_or_else(|| panic!("{} not catalogued", e.code()));
        assert!(entry.params.iter().all(|p| e.params().contains_key(*p)), "{e:?}");
    }
}
