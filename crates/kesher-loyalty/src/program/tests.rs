use super::*;
use jiff::civil::date;
use kesher_core::{Consent, ConsentChannel, CustomerId, Email, Phone};

const CLUB: &str = r#"{
  "name": "Kesher Club",
  "positioning": "popular",
  "currency": "ILS",
  "joining": {"fee": "25.00", "min_spend": {"amount": "300.00", "days": 365},
              "min_visits": {"count": 2, "days": 180}, "min_tenure_days": 7},
  "earning": {"base": {"points": 1, "per": "1.00"},
              "categories": {"wine": {"points": 2, "per": "1.00"}},
              "products": {"GIFT-1": {"points": 0, "per": "1.00"}}},
  "qualification": {"by": "spend", "days": 365},
  "tiers": [
    {"key": "silver", "name": "Silver", "threshold": "0"},
    {"key": "gold", "name": "Gold", "threshold": "2000.00", "multiplier": "1.5", "benefits": ["priority service"]},
    {"key": "platinum", "name": "Platinum", "threshold": "5000.00", "multiplier": "2"}
  ],
  "promotions": [
    {"key": "wine-week", "name": "Double points on wine", "multiplier": "2",
     "from": "2026-12-01", "until": "2026-12-07", "categories": ["wine"], "branches": ["B1"]}
  ],
  "bonuses": {"first_purchase": 100, "birthday_month_multiplier": "2", "nth_visit": {"every": 10, "points": 50}},
  "expiry": {"lifetime_days": 365}
}"#;

fn club() -> Program {
    Program::parse(CLUB).unwrap()
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

fn line(net: i64, sku: &str, category: Option<&str>) -> SaleLine {
    SaleLine {
        net,
        sku: Some(sku.to_string()),
        category: category.map(str::to_string),
    }
}

fn ctx<'a>(lines: &'a [SaleLine], day: Date, member: Option<MemberFacts>) -> SaleContext<'a> {
    SaleContext {
        currency: Currency::parse("ILS").unwrap(),
        lines,
        branch: Some("B1"),
        local_date: day,
        base: None,
        member,
    }
}

fn parts(a: &Accrual) -> Vec<(&str, i64)> {
    a.parts.iter().map(|p| (p.rule.as_str(), p.points)).collect()
}

#[test]
fn a_definition_reads_and_prints_back_the_same() {
    let p = club();
    assert_eq!(p.name(), "Kesher Club");
    assert_eq!(p.fee(), 2500);
    assert_eq!(p.tiers().len(), 3);
    assert_eq!(p.tiers()[1].threshold, 200_000);
    assert_eq!(p.tiers()[1].multiplier, 150);
    assert_eq!(p.points_lifetime(), Some(jiff::SignedDuration::from_hours(24 * 365)));
    let again = Program::parse(&p.to_json()).unwrap();
    assert_eq!(again, p);
}

#[test]
fn errors_name_the_key() {
    let cases: &[(&str, &str)] = &[
        (r#"{"name": "x", "currency": "ILS", "colour": 1}"#, ""),
        (r#"{"name": "x", "currency": "ils"}"#, "currency"),
        (r#"{"name": "", "currency": "ILS"}"#, "name"),
        (
            r#"{"name": "x", "currency": "ILS", "joining": {"fee": "12.345"}}"#,
            "joining.fee",
        ),
        (
            r#"{"name": "x", "currency": "ILS", "joining": {"min_spend": {"amount": "1", "days": 0}}}"#,
            "joining.min_spend.days",
        ),
        (
            r#"{"name": "x", "currency": "ILS", "tiers": [{"key": "a", "name": "A", "threshold": "0"}]}"#,
            "qualification",
        ),
        (
            r#"{"name": "x", "currency": "ILS", "qualification": {"by": "spend", "days": 30},
               "tiers": [{"key": "a", "name": "A", "threshold": "0"}, {"key": "b", "name": "B", "threshold": "0"}]}"#,
            "tiers[1].threshold",
        ),
        (
            r#"{"name": "x", "currency": "ILS", "qualification": {"by": "points", "days": 30},
               "tiers": [{"key": "a", "name": "A", "threshold": "0"}, {"key": "b", "name": "B", "threshold": "10", "multiplier": "0.5"}]}"#,
            "tiers[1].multiplier",
        ),
        (
            r#"{"name": "x", "currency": "ILS", "qualification": {"by": "points", "days": 30},
               "tiers": [{"key": "a", "name": "A", "threshold": "5"}]}"#,
            "tiers[0].threshold",
        ),
        (
            r#"{"name": "x", "currency": "ILS", "promotions": [{"key": "p", "name": "P", "multiplier": "2", "from": "2026-02-01", "until": "2026-01-01"}]}"#,
            "promotions[0].until",
        ),
        (
            r#"{"name": "x", "currency": "ILS", "earning": {"categories": {"wine": {"points": -1, "per": "1"}}}}"#,
            "earning.categories.wine.points",
        ),
        (
            r#"{"name": "x", "currency": "ILS", "bonuses": {"nth_visit": {"every": 1, "points": 5}}}"#,
            "bonuses.nth_visit.every",
        ),
        (
            r#"{"name": "x", "currency": "ILS", "expiry": {"lifetime_days": 0}}"#,
            "expiry.lifetime_days",
        ),
    ];
    for (json, key) in cases {
        let e = Program::parse(json).unwrap_err();
        assert_eq!(e.code(), "loyalty.program.invalid", "{json}");
        assert!(key_of(&e).contains(key), "{json}: {e} (key {})", key_of(&e));
    }
    // A wrong type deep inside names its path.
    let e =
        Program::parse(r#"{"name": "x", "currency": "ILS", "joining": {"min_visits": {"count": "two", "days": 3}}}"#)
            .unwrap_err();
    assert_eq!(key_of(&e), "joining.min_visits.count", "{e}");
    // Unknown keys are refused, not ignored: a misspelt condition must not go unnoticed.
    let e = Program::parse(r#"{"name": "x", "currency": "ILS", "joining": {"min_spnd": {}}}"#).unwrap_err();
    assert!(e.to_string().contains("min_spnd"), "{e}");
}

#[test]
fn joining_conditions_each_say_which_failed() {
    let p = club();
    let ok = JoiningFacts {
        spend: 30_000,
        visits: 2,
        tenure_days: 7,
        invited: false,
        fee_paid: 2500,
    };
    p.check_joining(&ok).unwrap();
    let fails = [
        (JoiningFacts { fee_paid: 2499, ..ok }, "loyalty.join.fee_unpaid"),
        (JoiningFacts { spend: 29_999, ..ok }, "loyalty.join.min_spend"),
        (JoiningFacts { visits: 1, ..ok }, "loyalty.join.min_visits"),
        (JoiningFacts { tenure_days: 6, ..ok }, "loyalty.join.min_tenure"),
    ];
    for (f, code) in fails {
        assert_eq!(p.check_joining(&f).unwrap_err().code(), code);
    }
    let invite = Program::parse(r#"{"name": "x", "currency": "ILS", "joining": {"invitation_only": true}}"#).unwrap();
    assert_eq!(
        invite.check_joining(&JoiningFacts::default()).unwrap_err().code(),
        "loyalty.join.invitation_required"
    );
    invite
        .check_joining(&JoiningFacts {
            invited: true,
            ..JoiningFacts::default()
        })
        .unwrap();
}

#[test]
fn tiers_upgrade_at_once_and_show_the_way_to_the_next() {
    let p = club();
    assert_eq!(p.tier_for(0).unwrap().key, "silver");
    assert_eq!(p.tier_for(199_999).unwrap().key, "silver");
    assert_eq!(p.tier_for(200_000).unwrap().key, "gold");
    assert_eq!(p.upgrade(Some("silver"), 200_000).unwrap().key, "gold");
    assert_eq!(p.upgrade(Some("gold"), 200_000), None);
    // A value that fell does not move a member down outside the review.
    assert_eq!(p.upgrade(Some("platinum"), 0), None);
    assert_eq!(p.upgrade(None, 10).unwrap().key, "silver");
    let pr = p.progress(Some("silver"), 150_000);
    assert_eq!(pr.tier.as_deref(), Some("silver"));
    let next = pr.next.unwrap();
    assert_eq!((next.key.as_str(), next.remaining), ("gold", 50_000));
    assert_eq!(p.progress(Some("platinum"), 900_000).next, None);
}

#[test]
fn a_sale_earns_by_product_then_category_then_base_with_its_breakdown() {
    let p = club();
    let lines = [
        line(10_050, "BREAD", Some("bakery")),
        line(5_000, "MERLOT", Some("wine")),
        line(9_900, "GIFT-1", Some("wine")),
    ];
    let member = MemberFacts {
        tier: Some("silver".into()),
        visits_before: 3,
        purchases_since_enrolment: 2,
        ..MemberFacts::default()
    };
    let a = p.accrue(&ctx(&lines, date(2026, 11, 1), Some(member))).unwrap();
    // bread: 100 (100.50 ILS, whole shekels), wine: 2 × 50; the gift product earns nothing.
    assert_eq!(parts(&a), vec![("base", 100), ("category:wine", 100)]);
    assert_eq!(a.points, 200);
}

#[test]
fn tier_promotion_and_bonuses_each_add_their_part() {
    let p = club();
    let lines = [
        line(10_000, "BREAD", Some("bakery")),
        line(5_000, "MERLOT", Some("wine")),
    ];
    let member = MemberFacts {
        tier: Some("gold".into()),
        birth_date: Some(date(1990, 12, 24)),
        visits_before: 9,
        purchases_since_enrolment: 0,
    };
    let a = p.accrue(&ctx(&lines, date(2026, 12, 7), Some(member))).unwrap();
    assert_eq!(
        parts(&a),
        vec![
            ("base", 100),
            ("category:wine", 100),
            ("tier:gold", 100),           // ×1.5 of the rule's 200
            ("promotion:wine-week", 100), // ×2 of wine's 100
            ("bonus:birthday", 200),      // ×2 of the rule's 200
            ("bonus:first_purchase", 100),
            ("bonus:nth_visit", 50), // the 10th visit
        ]
    );
    assert_eq!(a.points, 750);
}

#[test]
fn a_promotion_holds_on_its_edge_days_only_and_at_its_branches() {
    let p = club();
    let lines = [line(5_000, "MERLOT", Some("wine"))];
    let member = || {
        Some(MemberFacts {
            tier: Some("silver".into()),
            visits_before: 1,
            purchases_since_enrolment: 1,
            ..MemberFacts::default()
        })
    };
    let has = |day: Date, branch: Option<&str>| {
        let mut c = ctx(&lines, day, member());
        c.branch = branch;
        p.accrue(&c)
            .unwrap()
            .parts
            .iter()
            .any(|x| x.rule == "promotion:wine-week")
    };
    assert!(!has(date(2026, 11, 30), Some("B1")));
    assert!(has(date(2026, 12, 1), Some("B1")));
    assert!(has(date(2026, 12, 7), Some("B1")));
    assert!(!has(date(2026, 12, 8), Some("B1")));
    assert!(!has(date(2026, 12, 3), Some("B2")));
    assert!(!has(date(2026, 12, 3), None));
}

#[test]
fn non_members_earn_only_when_the_program_says_so_and_by_the_rule_only() {
    let p = club();
    let lines = [line(5_000, "MERLOT", Some("wine"))];
    assert_eq!(
        p.accrue(&ctx(&lines, date(2026, 12, 3), None)).unwrap(),
        Accrual::default()
    );
    let open = Program::parse(&CLUB.replace("\"positioning\": \"popular\",", "\"non_members_earn\": true,")).unwrap();
    let a = open.accrue(&ctx(&lines, date(2026, 12, 3), None)).unwrap();
    assert_eq!(parts(&a), vec![("category:wine", 100)]);
}

#[test]
fn another_currency_earns_by_its_own_base_rate() {
    let p = club();
    let lines = [line(1_000, "X", Some("wine"))];
    let mut c = ctx(&lines, date(2026, 12, 3), Some(MemberFacts::default()));
    c.currency = Currency::parse("USD").unwrap();
    assert_eq!(p.accrue(&c).unwrap(), Accrual::default());
    c.base = Some(EarnRate::new(3, 100).unwrap());
    assert_eq!(parts(&p.accrue(&c).unwrap()), vec![("base", 30)]);
}

#[test]
fn with_no_overrides_a_sale_earns_what_the_plain_rule_gives_on_its_total() {
    let p = Program::parse(r#"{"name": "x", "currency": "ILS"}"#).unwrap();
    // Two lines of 0.60 each: 1.20 earns one point by the rule on the total (per-line rounding
    // would give none).
    let lines = [line(60, "A", None), line(60, "B", None)];
    let mut c = ctx(&lines, date(2026, 12, 3), Some(MemberFacts::default()));
    c.base = Some(EarnRate::new(1, 100).unwrap());
    assert_eq!(p.accrue(&c).unwrap().points, 1);
}

#[test]
fn refunds_take_back_each_part_and_a_whole_refund_takes_back_exactly_what_was_earned() {
    let earned = vec![
        Part {
            rule: "base".into(),
            points: 101,
        },
        Part {
            rule: "tier:gold".into(),
            points: 50,
        },
        Part {
            rule: "promotion:p".into(),
            points: 7,
        },
    ];
    // Three partial refunds of a sale of 100.00, then the rest.
    let mut taken: BTreeMap<String, i64> = BTreeMap::new();
    let mut refunded = 0;
    for amount in [3_333, 3_333, 1_000, 2_334] {
        let parts = reverse_parts(&earned, 10_000, refunded, amount);
        for p in &parts {
            assert!(p.points < 0);
            *taken.entry(p.rule.clone()).or_default() -= p.points;
        }
        refunded += amount;
        for e in &earned {
            assert!(taken.get(&e.rule).copied().unwrap_or(0) <= e.points);
        }
    }
    for e in &earned {
        assert_eq!(taken[&e.rule], e.points, "{}", e.rule);
    }
    // Refunding beyond the sale takes nothing more.
    assert!(reverse_parts(&earned, 10_000, 10_000, 500).is_empty());
}

#[test]
fn data_quality_scores_what_was_collected() {
    let mut c = Customer::bare(CustomerId::from_bytes([1; 16]), None, Timestamp::UNIX_EPOCH);
    let today = date(2026, 12, 7);
    assert_eq!(
        data_quality(&c, today),
        (
            0,
            vec!["phone".into(), "email".into(), "birth_date".into(), "consent".into()]
        )
    );
    c.phone = Some(Phone::parse("+972501234567", kesher_core::Country::parse("IL").unwrap()).unwrap());
    c.email = Some(Email::parse("a@example.com").unwrap());
    c.demographics.birth_date = Some(date(2030, 1, 1));
    assert_eq!(data_quality(&c, today).0, 50);
    c.demographics.birth_date = Some(date(1980, 1, 1));
    c.consents.push(Consent {
        channel: ConsentChannel::Email,
        state: ConsentState::Granted,
        at: Timestamp::UNIX_EPOCH,
        source: "pos:B1".into(),
    });
    assert_eq!(data_quality(&c, today), (100, vec![]));
}

#[test]
fn days_between_counts_whole_days() {
    let a: Timestamp = "2026-01-01T10:00:00Z".parse().unwrap();
    let b: Timestamp = "2026-01-08T09:59:59Z".parse().unwrap();
    assert_eq!(days_between(a, b), 6);
    assert_eq!(days_between(b, a), 0);
}
