//! The benefits' workflows on SQLite with a settable clock: redeem (idempotent, never
//! overdrawn), honour once, expiry, the tier's grants once per entry, surprises under their
//! budget, without repeats, reproducible from their seed.

use super::*;
use crate::clock::ManualClock;
use crate::loyalty::Enrolment;
use crate::test_support::{TestApp, app_named};
use kesher_core::{Branch, Currency, Customer, Line, Money, Product, ProductId, Transaction, TransactionId};
use kesher_loyalty::{EarnRate, EarningRule, EntryKind};
use kesher_store::PointsRequest;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}
fn uid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}
fn ils() -> Currency {
    Currency::parse("ILS").unwrap()
}

const PROGRAM: &str = r#"{
  "name": "Kesher Club",
  "currency": "ILS",
  "qualification": {"by": "spend", "days": 365},
  "tiers": [
    {"key": "silver", "name": "Silver", "threshold": "0"},
    {"key": "gold", "name": "Gold", "threshold": "1000.00"}
  ],
  "benefits": [
    {"key": "coffee", "name": "Free coffee", "kind": "hard", "value": {"type": "gift_product", "sku": "COFFEE"},
     "cost_points": 100, "valid_days": 30, "tiers": ["gold"]},
    {"key": "credit", "name": "20 off", "kind": "hard", "value": {"type": "fixed_credit", "amount": "20.00"},
     "valid_days": 10},
    {"key": "vip", "name": "Priority service", "kind": "soft", "valid_days": 365},
    {"key": "bonus", "name": "50 points", "kind": "hard", "value": {"type": "points", "points": 50},
     "valid_days": 30}
  ]
}"#;

struct World {
    t: TestApp,
    clock: Arc<ManualClock>,
    branch: BranchId,
    product: ProductId,
}

fn world(now: &str) -> World {
    let mut t = app_named("benefits");
    let clock = Arc::new(ManualClock::new(ts(now)));
    t.app = t.app.clone().with_clock(clock.clone());
    let s = &t.app.store;
    let branch = BranchId(uid(1));
    s.insert_branch(&Branch {
        id: branch,
        external_id: "B1".into(),
        name: "Tel Aviv".into(),
        region: None,
        time_zone: "Asia/Jerusalem".into(),
    })
    .unwrap();
    let product = ProductId(uid(3));
    s.insert_product(&Product {
        id: product,
        sku: "BREAD".into(),
        name: "Bread".into(),
        category: None,
        list_price: Money::new(1000, ils()),
        unit_cost: Some(500),
    })
    .unwrap();
    let actor = Actor::new("test", ts(now));
    t.app
        .set_earning_rule(
            &EarningRule::new().with(ils(), EarnRate::per_whole_unit(ils(), 1).unwrap()),
            &actor,
        )
        .unwrap();
    t.app.set_loyalty_program(PROGRAM, &actor).unwrap();
    World {
        t,
        clock,
        branch,
        product,
    }
}

impl World {
    fn app(&self) -> &App {
        &self.t.app
    }
    fn actor(&self) -> Actor {
        Actor::new("user:clerk", self.app().now())
    }
    fn customer(&self, n: u128) -> CustomerId {
        let c = Customer::bare(
            CustomerId(uid(100 + n)),
            Some(format!("M{n}")),
            ts("2025-01-01T00:00:00Z"),
        );
        self.app().insert_customer(&c, &self.actor()).unwrap();
        c.id
    }
    fn member(&self, n: u128) -> CustomerId {
        let c = self.customer(n);
        self.app()
            .enrol_member(
                &Enrolment {
                    customer: c,
                    branch: Some(self.branch),
                    employee: None,
                    invited_by: None,
                    fee_paid: 0,
                },
                &self.actor(),
            )
            .unwrap();
        c
    }
    fn give(&self, c: CustomerId, points: i64) {
        self.app()
            .adjust_points(
                c,
                &PointsRequest {
                    points,
                    reason: Some("test".into()),
                    idempotency_key: None,
                    branch_id: None,
                },
                &self.actor(),
            )
            .unwrap();
    }
    fn sale(&self, n: u128, c: CustomerId, amount: i64) {
        let t = Transaction {
            id: TransactionId(uid(10_000 + n)),
            external_id: format!("S{n}"),
            customer_id: Some(c),
            branch_id: self.branch,
            employee_id: None,
            occurred_at: self.app().now(),
            currency: ils(),
            lines: vec![Line {
                product_id: Some(self.product),
                sku: None,
                quantity: 1,
                unit_price: amount,
                discount: 0,
            }],
            refund_of: None,
        };
        self.app().record_sale(&t, &self.actor()).unwrap();
    }
    fn redeem(&self, c: CustomerId, benefit: &str, key: &str) -> Result<Recorded<Redeemed>> {
        self.app().redeem_benefit(
            c,
            &RedeemBenefit {
                benefit: benefit.into(),
                idempotency_key: Some(key.into()),
                branch: Some(self.branch),
            },
            &self.actor(),
        )
    }
    fn honour(&self, g: BenefitGrantId, key: &str) -> Result<Recorded<Grant>> {
        self.app().honour_benefit(
            g,
            &HonourRequest {
                idempotency_key: Some(key.into()),
                branch: Some(self.branch),
            },
            &self.actor(),
        )
    }
}

#[test]
fn redeeming_points_for_a_benefit_is_idempotent_and_never_overdraws() {
    let w = world("2026-11-01T10:00:00Z");
    let c = w.customer(1);
    w.give(c, 150);
    let first = w.redeem(c, "coffee", "k1").unwrap();
    assert!(first.created);
    let r = &first.value;
    assert_eq!(r.entry.kind, EntryKind::Redeem);
    assert_eq!(r.entry.points, -100);
    assert_eq!(r.entry.reason.as_deref(), Some("benefit:coffee"));
    assert_eq!(r.grant.points_seq, Some(r.entry.seq));
    assert_eq!(r.grant.source, GrantSource::Redeemed);
    assert_eq!(r.grant.available_until, ts("2026-12-01T10:00:00Z"));
    assert_eq!(w.app().points_balance(c).unwrap(), 50);
    // The same key: the first result, nothing written.
    let again = w.redeem(c, "coffee", "k1").unwrap();
    assert!(!again.created);
    assert_eq!(again.value, first.value);
    assert_eq!(w.app().points_balance(c).unwrap(), 50);
    // The key for another benefit: a conflict.
    let e = w.redeem(c, "vip", "k1").unwrap_err();
    assert_eq!(e.code(), "loyalty.benefit.key_reused");
    // 50 points left: no second coffee, no grant written.
    let e = w.redeem(c, "coffee", "k2").unwrap_err();
    assert_eq!(e.code(), "points.insufficient");
    assert_eq!(w.app().points_balance(c).unwrap(), 50);
    assert_eq!(w.app().customer_benefits(c).unwrap().len(), 1);
    // A benefit without a points price, an unknown one, a missing key.
    assert_eq!(
        w.redeem(c, "vip", "k3").unwrap_err().code(),
        "loyalty.benefit.not_redeemable"
    );
    assert_eq!(w.redeem(c, "tea", "k3").unwrap_err().code(), "loyalty.benefit.unknown");
    let e = w
        .app()
        .redeem_benefit(
            c,
            &RedeemBenefit {
                benefit: "coffee".into(),
                idempotency_key: None,
                branch: None,
            },
            &w.actor(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "idempotency_key.missing");
}

#[test]
fn a_key_used_for_a_points_redemption_is_not_a_benefits_key() {
    let w = world("2026-11-01T10:00:00Z");
    let c = w.customer(1);
    w.give(c, 500);
    w.app()
        .redeem_points(
            c,
            &PointsRequest {
                points: 10,
                reason: None,
                idempotency_key: Some("k1".into()),
                branch_id: None,
            },
            &w.actor(),
        )
        .unwrap();
    assert_eq!(
        w.redeem(c, "coffee", "k1").unwrap_err().code(),
        "idempotency_key.reused"
    );
}

#[test]
fn a_grant_is_honoured_once() {
    let w = world("2026-11-01T10:00:00Z");
    let c = w.customer(1);
    let g = w
        .app()
        .grant_benefit(
            c,
            &GrantRequest {
                benefit: "vip".into(),
                idempotency_key: Some("g1".into()),
            },
            &w.actor(),
        )
        .unwrap()
        .value;
    assert_eq!(g.source, GrantSource::Manual);
    assert_eq!(g.granted_by, "user:clerk");
    let used = w.honour(g.id, "h1").unwrap();
    assert!(used.created);
    assert_eq!(used.value.state, GrantState::Used);
    assert_eq!(used.value.honoured_by.as_deref(), Some("user:clerk"));
    assert_eq!(used.value.honoured_branch, Some(w.branch));
    let again = w.honour(g.id, "h1").unwrap();
    assert!(!again.created);
    assert_eq!(again.value, used.value);
    let e = w.honour(g.id, "h2").unwrap_err();
    assert_eq!(e.code(), "loyalty.benefit.not_available");
    assert_eq!(e.params().get("state").map(|v| v.to_string()), Some("\"used\"".into()));
    let missing = BenefitGrantId(uid(999));
    assert!(matches!(
        w.honour(missing, "h1").unwrap_err(),
        StoreError::NotFound { .. }
    ));
}

#[test]
fn honouring_a_points_benefit_credits_its_points_once() {
    let w = world("2026-11-01T10:00:00Z");
    let c = w.member(1);
    w.give(c, 10);
    let g = w
        .app()
        .grant_benefit(
            c,
            &GrantRequest {
                benefit: "bonus".into(),
                idempotency_key: None,
            },
            &w.actor(),
        )
        .unwrap()
        .value;
    // Granting credits nothing: the points come when the grant is honoured.
    assert_eq!(w.app().points_balance(c).unwrap(), 10);
    assert!(w.honour(g.id, "h1").unwrap().created);
    assert_eq!(w.app().points_balance(c).unwrap(), 60);
    let history = w.app().points_ledger(c, 100, 0).unwrap();
    let credit = history
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("benefit:bonus"))
        .expect("the credit is in the ledger");
    assert_eq!(credit.points, 50);
    assert_eq!(credit.kind, kesher_loyalty::EntryKind::Adjust);
    assert_eq!(
        credit.idempotency_key.as_deref(),
        Some(crate::benefits::points_benefit_key(g.id).as_str())
    );
    // A retry of the honouring credits nothing more.
    assert!(!w.honour(g.id, "h1").unwrap().created);
    assert_eq!(w.app().points_balance(c).unwrap(), 60);
    // A soft benefit honoured credits nothing.
    let vip = w
        .app()
        .grant_benefit(
            c,
            &GrantRequest {
                benefit: "vip".into(),
                idempotency_key: None,
            },
            &w.actor(),
        )
        .unwrap()
        .value;
    w.honour(vip.id, "h2").unwrap();
    assert_eq!(w.app().points_balance(c).unwrap(), 60);
}

#[test]
fn grants_expire_after_their_days_and_cannot_be_honoured() {
    let w = world("2026-11-01T10:00:00Z");
    let c = w.customer(1);
    let grant = |b: &str| {
        w.app()
            .grant_benefit(
                c,
                &GrantRequest {
                    benefit: b.into(),
                    idempotency_key: None,
                },
                &w.actor(),
            )
            .unwrap()
            .value
    };
    let credit = grant("credit");
    let vip = grant("vip");
    assert_eq!(w.app().wallet(c).unwrap().available.len(), 2);
    w.clock.set(ts("2026-11-11T10:00:00Z"));
    // Past its time it reads as expired before the job runs, and is refused at the till.
    assert_eq!(w.app().customer_benefits(c).unwrap()[0].state, GrantState::Expired);
    assert_eq!(
        w.honour(credit.id, "h").unwrap_err().code(),
        "loyalty.benefit.not_available"
    );
    let r = w.app().expire_benefits(&w.actor()).unwrap();
    assert_eq!(r.expired, 1);
    assert_eq!(w.app().expire_benefits(&w.actor()).unwrap().expired, 0);
    assert_eq!(w.app().benefit_grant(credit.id).unwrap().state, GrantState::Expired);
    let wallet = w.app().wallet(c).unwrap();
    assert_eq!(wallet.available.iter().map(|g| g.id).collect::<Vec<_>>(), [vip.id]);
}

#[test]
fn entering_a_tier_grants_its_benefits_once() {
    let w = world("2026-11-01T10:00:00Z");
    let c = w.member(1);
    assert!(w.app().customer_benefits(c).unwrap().is_empty());
    w.sale(1, c, 60_000);
    assert!(w.app().customer_benefits(c).unwrap().is_empty());
    // 1000.00 reached: gold, and its coffee.
    w.sale(2, c, 60_000);
    let grants = w.app().customer_benefits(c).unwrap();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0].benefit, "coffee");
    assert_eq!(grants[0].source, GrantSource::Tier);
    // More sales in gold: no more grants.
    w.sale(3, c, 60_000);
    assert_eq!(w.app().customer_benefits(c).unwrap().len(), 1);
}

#[test]
fn a_surprise_keeps_to_its_budget_never_repeats_and_is_reproducible() {
    let w = world("2026-11-01T10:00:00Z");
    let members: Vec<CustomerId> = (1..=10).map(|n| w.member(n)).collect();
    let _not_a_member = w.customer(50);
    let req = |seed: u64| SurpriseRequest {
        benefit: "credit".into(),
        pool: SurprisePool::Random(100),
        budget: "70.00".into(),
        seed,
        no_repeat_days: 30,
    };
    let s = w.app().draw_surprise(&req(7), &w.actor()).unwrap();
    // 70.00 pays for three credits of 20.00.
    assert_eq!(s.draw.members.len(), 3);
    assert_eq!(s.grants.len(), 3);
    assert!(s.draw.members.iter().all(|m| members.contains(m)));
    assert!(
        s.grants
            .iter()
            .all(|g| g.draw_id == Some(s.draw.id) && g.source == GrantSource::Surprise)
    );
    assert_eq!(w.app().surprise_draw(s.draw.id).unwrap(), s.draw);
    // The same seed over the same candidates draws the same members (pure: kesher_loyalty).
    let excluded = BTreeSet::new();
    assert_eq!(
        kesher_loyalty::benefits::draw(7, &members, &excluded, Some(100), 7_000, 2_000),
        s.draw.members
    );
    // Within the no-repeat period the drawn ones are left out.
    let again = w.app().draw_surprise(&req(7), &w.actor()).unwrap();
    assert_eq!(again.draw.members.len(), 3);
    assert!(again.draw.members.iter().all(|m| !s.draw.members.contains(m)));
    // A segment: its active members only.
    let seg = w.app().draw_surprise(
        &SurpriseRequest {
            pool: SurprisePool::Segment("member_no = \"M50\"".into()),
            ..req(1)
        },
        &w.actor(),
    );
    if let Ok(seg) = seg {
        assert!(seg.draw.members.is_empty());
    }
    // A benefit without a value cannot be budgeted; a bad budget names the field.
    let e = w
        .app()
        .draw_surprise(
            &SurpriseRequest {
                benefit: "vip".into(),
                ..req(1)
            },
            &w.actor(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "loyalty.surprise.no_value");
    let e = w
        .app()
        .draw_surprise(
            &SurpriseRequest {
                budget: "lots".into(),
                ..req(1)
            },
            &w.actor(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "loyalty.surprise.budget");
    // After the period, the first ones may be drawn again.
    w.clock.set(ts("2026-12-02T10:00:00Z"));
    let later = w.app().draw_surprise(&req(7), &w.actor()).unwrap();
    assert_eq!(later.draw.members.len(), 3);
}

#[test]
fn the_kpis_count_each_benefits_grants_and_each_surprise() {
    use crate::loyalty::kpis::KpiParams;
    let w = world("2026-11-01T10:00:00Z");
    let members: Vec<CustomerId> = (1..=6).map(|n| w.member(n)).collect();
    // Two manual grants of the soft benefit: one honoured at the branch, one left to expire.
    let grant = |c: CustomerId, benefit: &str| {
        w.app()
            .grant_benefit(
                c,
                &GrantRequest {
                    benefit: benefit.into(),
                    idempotency_key: None,
                },
                &w.actor(),
            )
            .unwrap()
            .value
    };
    let vip = grant(members[0], "vip");
    grant(members[1], "vip");
    w.honour(vip.id, "h-vip").unwrap();
    // A surprise of 20.00 credits under 60.00: three members; one honours it.
    let s = w
        .app()
        .draw_surprise(
            &SurpriseRequest {
                benefit: "credit".into(),
                pool: SurprisePool::Random(100),
                budget: "60.00".into(),
                seed: 11,
                no_repeat_days: 30,
            },
            &w.actor(),
        )
        .unwrap();
    assert_eq!(s.grants.len(), 3);
    w.honour(s.grants[0].id, "h-credit").unwrap();
    // Eleven days later the other credits (valid 10 days) have expired; the vip grant has not.
    w.clock.set(ts("2026-11-12T10:00:00Z"));
    let q = w
        .app()
        .loyalty_kpi_query(&KpiParams {
            from: Some("2026-10-01"),
            to: Some("2026-11-30"),
            ..KpiParams::default()
        })
        .unwrap();
    let r = w.app().loyalty_kpis(&q).unwrap();
    let by = |key: &str| {
        r.benefits
            .grants
            .iter()
            .find(|g| g.key == key)
            .unwrap_or_else(|| panic!("{key} in {:?}", r.benefits.grants))
    };
    let v = by("vip");
    assert_eq!(v.name.as_deref(), Some("Priority service"));
    assert_eq!(v.figures.kind.as_deref(), Some("soft"));
    assert_eq!(
        (
            v.figures.granted,
            v.figures.used,
            v.figures.expired,
            v.figures.available
        ),
        (2, 1, 0, 1)
    );
    assert_eq!(v.figures.by_source.get("manual"), Some(&2));
    assert_eq!(v.figures.use_rate, Some(0.5));
    let c = by("credit");
    assert_eq!(
        (
            c.figures.granted,
            c.figures.used,
            c.figures.expired,
            c.figures.available
        ),
        (3, 1, 2, 0)
    );
    assert_eq!(c.figures.by_source.get("surprise"), Some(&3));
    assert_eq!(r.benefits.surprises.len(), 1);
    let d = &r.benefits.surprises[0];
    assert_eq!(d.draw, s.draw.id.to_string());
    assert_eq!((d.members, d.used, d.expired), (3, 1, 2));
    // At the branch: only what was honoured there.
    let q = w
        .app()
        .loyalty_kpi_query(&KpiParams {
            from: Some("2026-10-01"),
            to: Some("2026-11-30"),
            branch: Some("B1"),
            ..KpiParams::default()
        })
        .unwrap();
    let r = w.app().loyalty_kpis(&q).unwrap();
    let v = r.benefits.grants.iter().find(|g| g.key == "vip").unwrap();
    assert_eq!(v.figures.used_at_branch, Some(1));
    // A window before the grants holds none of them.
    let q = w
        .app()
        .loyalty_kpi_query(&KpiParams {
            from: Some("2026-09-01"),
            to: Some("2026-09-30"),
            ..KpiParams::default()
        })
        .unwrap();
    let r = w.app().loyalty_kpis(&q).unwrap();
    assert!(r.benefits.grants.is_empty() && r.benefits.surprises.is_empty());
}

#[test]
fn the_tills_answer_to_a_sale_lists_the_benefits_available() {
    let w = world("2026-11-01T10:00:00Z");
    let c = w.member(1);
    let g = w
        .app()
        .grant_benefit(
            c,
            &GrantRequest {
                benefit: "vip".into(),
                idempotency_key: None,
            },
            &w.actor(),
        )
        .unwrap()
        .value;
    let t = Transaction {
        id: TransactionId(uid(20_001)),
        external_id: "S-till".into(),
        customer_id: Some(c),
        branch_id: w.branch,
        employee_id: None,
        occurred_at: w.app().now(),
        currency: ils(),
        lines: vec![Line {
            product_id: Some(w.product),
            sku: None,
            quantity: 1,
            unit_price: 150_000,
            discount: 0,
        }],
        refund_of: None,
    };
    let r = w.app().record_sale(&t, &w.actor()).unwrap();
    let m = r.membership.expect("a member's standing");
    // The sale lifted the member to gold, whose coffee is granted on entry: both are listed.
    assert_eq!(m.tier.as_deref(), Some("gold"));
    let keys: Vec<&str> = m.benefits.iter().map(|g| g.benefit.as_str()).collect();
    assert_eq!(keys, ["vip", "coffee"], "{m:?}");
    assert_eq!(m.benefits[0].id, g.id);
    // A retry answers the same benefits; an honoured one is no longer listed.
    w.honour(g.id, "h1").unwrap();
    let again = w.app().record_sale(&t, &w.actor()).unwrap();
    let keys: Vec<String> = again
        .membership
        .unwrap()
        .benefits
        .into_iter()
        .map(|g| g.benefit)
        .collect();
    assert_eq!(keys, ["coffee"]);
}
