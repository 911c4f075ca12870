use super::*;
use crate::program::Program;
use crate::{LoyaltyError, Result};

const CATALOGUE: &str = r#"{
  "name": "Club", "currency": "ILS",
  "qualification": {"by": "spend", "days": 365},
  "tiers": [{"key": "silver", "name": "Silver", "threshold": "0"},
            {"key": "gold", "name": "Gold", "threshold": "2000.00"}],
  "benefits": [
    {"key": "coffee", "name": "Free coffee", "kind": "hard",
     "value": {"type": "gift_product", "sku": "COFFEE"}, "cost_points": 100, "valid_days": 30, "tiers": ["gold"]},
    {"key": "credit", "name": "20 off", "kind": "hard", "value": {"type": "fixed_credit", "amount": "20.00"},
     "valid_days": 60},
    {"key": "tenpc", "name": "10% off", "kind": "hard", "value": {"type": "percent_discount", "percent": "12.5"},
     "valid_days": 14},
    {"key": "bonus", "name": "200 points", "kind": "hard", "value": {"type": "points", "points": 200}, "valid_days": 7},
    {"key": "vip", "name": "Priority service", "kind": "soft", "valid_days": 365, "tiers": ["gold", "silver"]}
  ]
}"#;

fn parse(s: &str) -> Result<Program> {
    Program::parse(s)
}

fn key_of(e: &LoyaltyError) -> String {
    match e {
        LoyaltyError::Invalid { params, .. } => params
            .get("key")
            .map(|v| v.to_string().trim_matches('"').to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn with_benefit(b: &str) -> String {
    CATALOGUE.replace(r#""benefits": ["#, &format!(r#""benefits": [{b}, "#))
}

fn err_key(b: &str) -> String {
    key_of(&parse(&with_benefit(b)).unwrap_err())
}

#[test]
fn the_catalogue_is_read_with_its_values() {
    let p = parse(CATALOGUE).unwrap();
    assert_eq!(p.benefits().len(), 5);
    let coffee = p.benefit("coffee").unwrap();
    assert_eq!(coffee.kind, BenefitKind::Hard);
    assert_eq!(coffee.value, Some(BenefitValue::GiftProduct { sku: "COFFEE".into() }));
    assert_eq!(coffee.cost_points, Some(100));
    assert_eq!(
        p.benefit("credit").unwrap().value,
        Some(BenefitValue::FixedCredit { minor: 2000 })
    );
    assert_eq!(
        p.benefit("tenpc").unwrap().value,
        Some(BenefitValue::PercentDiscount { hundredths: 1250 })
    );
    assert_eq!(p.benefit("vip").unwrap().value, None);
    let gold: Vec<&str> = p.tier_benefits("gold").map(|b| b.key.as_str()).collect();
    assert_eq!(gold, ["coffee", "vip"]);
    // The definition comes back as it was given.
    assert_eq!(Program::parse(&p.to_json()).unwrap(), p);
}

#[test]
fn a_bad_benefit_is_named_by_its_key() {
    let b = |s: &str| err_key(s);
    assert_eq!(
        b(r#"{"key": "coffee", "name": "x", "kind": "soft", "valid_days": 1}"#),
        "benefits[1].key"
    );
    assert_eq!(
        b(r#"{"key": "a b", "name": "x", "kind": "soft", "valid_days": 1}"#),
        "benefits[0].key"
    );
    assert_eq!(
        b(r#"{"key": "a", "name": "", "kind": "soft", "valid_days": 1}"#),
        "benefits[0].name"
    );
    assert_eq!(
        b(r#"{"key": "a", "name": "x", "kind": "soft", "valid_days": 1, "value": {"type": "points", "points": 5}}"#),
        "benefits[0].value"
    );
    assert_eq!(
        b(r#"{"key": "a", "name": "x", "kind": "hard", "valid_days": 1}"#),
        "benefits[0].value"
    );
    assert_eq!(
        b(
            r#"{"key": "a", "name": "x", "kind": "hard", "valid_days": 1, "value": {"type": "fixed_credit", "amount": "1.234"}}"#
        ),
        "benefits[0].value.amount"
    );
    assert_eq!(
        b(
            r#"{"key": "a", "name": "x", "kind": "hard", "valid_days": 1, "value": {"type": "fixed_credit", "amount": "0"}}"#
        ),
        "benefits[0].value.amount"
    );
    assert_eq!(
        b(
            r#"{"key": "a", "name": "x", "kind": "hard", "valid_days": 1, "value": {"type": "percent_discount", "percent": "101"}}"#
        ),
        "benefits[0].value.percent"
    );
    assert_eq!(
        b(r#"{"key": "a", "name": "x", "kind": "hard", "valid_days": 1, "value": {"type": "points", "points": 0}}"#),
        "benefits[0].value.points"
    );
    assert_eq!(
        b(r#"{"key": "a", "name": "x", "kind": "soft", "valid_days": 1, "cost_points": -1}"#),
        "benefits[0].cost_points"
    );
    assert_eq!(
        b(r#"{"key": "a", "name": "x", "kind": "soft", "valid_days": 0}"#),
        "benefits[0].valid_days"
    );
    assert_eq!(
        b(r#"{"key": "a", "name": "x", "kind": "soft", "valid_days": 1, "tiers": ["bronze"]}"#),
        "benefits[0].tiers[0]"
    );
    // Serde's own refusals name the key too.
    assert_eq!(
        b(r#"{"key": "a", "name": "x", "kind": "warm", "valid_days": 1}"#),
        "benefits[0].kind"
    );
    assert_eq!(
        b(r#"{"key": "a", "name": "x", "kind": "soft", "valid_days": 1, "colour": "red"}"#),
        "benefits[0].colour"
    );
    assert!(
        b(r#"{"key": "a", "name": "x", "kind": "hard", "valid_days": 1, "value": {"type": "cash", "amount": "1"}}"#)
            .starts_with("benefits[0].value")
    );
}

fn grant(until: Timestamp) -> Grant {
    Grant {
        id: BenefitGrantId::from_bytes([0; 16]),
        customer_id: CustomerId::from_bytes([0; 16]),
        benefit: "coffee".into(),
        state: GrantState::Available,
        granted_at: Timestamp::UNIX_EPOCH,
        available_until: until,
        granted_by: "user:dana".into(),
        source: GrantSource::Manual,
        used_at: None,
        honoured_by: None,
        honoured_branch: None,
        honour_key: None,
        points_seq: None,
        draw_id: None,
        idempotency_key: None,
    }
}

#[test]
fn a_grant_is_available_until_its_time_then_expired() {
    let until = Timestamp::from_second(1_000).unwrap();
    let g = grant(until);
    assert!(g.is_available(Timestamp::from_second(999).unwrap()));
    assert_eq!(g.state_at(until), GrantState::Expired);
    assert_eq!(g.expired(Timestamp::from_second(999).unwrap()), None);
    assert_eq!(g.expired(until).unwrap().state, GrantState::Expired);
    let rule = parse(CATALOGUE).unwrap().benefit("coffee").unwrap().clone();
    assert_eq!(
        rule.available_until(Timestamp::UNIX_EPOCH),
        Timestamp::from_second(30 * 86_400).unwrap()
    );
}

#[test]
fn a_grant_is_honoured_once() {
    let g = grant(Timestamp::from_second(1_000).unwrap());
    let now = Timestamp::from_second(10).unwrap();
    let Honour::Use(used) = honour(&g, now, "user:clerk", None, "k1") else {
        panic!("not honoured")
    };
    assert_eq!(used.state, GrantState::Used);
    assert_eq!(used.used_at, Some(now));
    assert_eq!(used.honoured_by.as_deref(), Some("user:clerk"));
    assert_eq!(honour(&used, now, "user:clerk", None, "k1"), Honour::Already);
    assert_eq!(
        honour(&used, now, "user:clerk", None, "k2"),
        Honour::Refused(GrantState::Used)
    );
    let late = Timestamp::from_second(1_000).unwrap();
    assert_eq!(
        honour(&g, late, "user:clerk", None, "k1"),
        Honour::Refused(GrantState::Expired)
    );
}

#[test]
fn budget_units_follow_the_value() {
    let p = parse(CATALOGUE).unwrap();
    assert_eq!(
        p.benefit("credit").unwrap().budget_unit(),
        Some(BudgetUnit::Money(2000))
    );
    assert_eq!(p.benefit("bonus").unwrap().budget_unit(), Some(BudgetUnit::Points(200)));
    assert_eq!(
        p.benefit("coffee").unwrap().budget_unit(),
        Some(BudgetUnit::Points(100))
    );
    assert_eq!(p.benefit("vip").unwrap().budget_unit(), None);
    assert_eq!(affordable(5_000, 2_000), 2);
    assert_eq!(affordable(-1, 2_000), 0);
}

fn ids(n: u128) -> Vec<CustomerId> {
    (1..=n).map(|i| CustomerId::from_bytes(i.to_be_bytes())).collect()
}

#[test]
fn splitmix64_matches_its_reference_values() {
    // The reference implementation's first outputs for seed 1234567.
    let mut r = SplitMix64::new(1_234_567);
    assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
    assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
}

#[test]
fn the_same_seed_and_candidates_give_the_same_draw() {
    let c = ids(50);
    let none = BTreeSet::new();
    let a = draw(42, &c, &none, Some(10), i64::MAX, 1);
    let mut reversed = c.clone();
    reversed.reverse();
    assert_eq!(draw(42, &reversed, &none, Some(10), i64::MAX, 1), a);
    assert_ne!(draw(43, &c, &none, Some(10), i64::MAX, 1), a);
    assert_eq!(a.len(), 10);
    assert_eq!(a.iter().collect::<BTreeSet<_>>().len(), 10);
}

#[test]
fn a_draw_keeps_to_its_budget_and_leaves_out_the_excluded() {
    let c = ids(20);
    let excluded: BTreeSet<CustomerId> = c[..15].iter().copied().collect();
    let d = draw(7, &c, &excluded, None, 10_000, 2_000);
    assert_eq!(d.len(), 5);
    assert!(d.iter().all(|x| !excluded.contains(x)));
    assert_eq!(draw(7, &c, &BTreeSet::new(), None, 9_999, 2_000).len(), 4);
    assert_eq!(draw(7, &c, &BTreeSet::new(), Some(3), 1_000_000, 2_000).len(), 3);
}

#[test]
fn a_shuffle_is_a_permutation() {
    let mut v: Vec<u32> = (0..100).collect();
    shuffle(9, &mut v);
    let mut sorted = v.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    assert_ne!(v, sorted);
}
