//! The program's workflows on SQLite with a settable clock: enrolment and its conditions, the
//! accrual's breakdown and the till's answer, upgrades at once and downgrades at the review,
//! refunds part by part, promotions at their edges in the branch's time zone.

use super::*;
use crate::clock::ManualClock;
use crate::test_support::{TestApp, app_named};
use kesher_core::{
    Branch, Consent, ConsentChannel, ConsentState, Currency, Customer, Email, Employee, Line, Money, Phone, Product,
    TransactionId,
};
use kesher_loyalty::{EarnRate, EarningRule, EntryKind};
use kesher_store::RecordedSale;

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
  "joining": {"min_visits": {"count": 1, "days": 365}},
  "earning": {"categories": {"wine": {"points": 2, "per": "1.00"}}},
  "qualification": {"by": "spend", "days": 365},
  "tiers": [
    {"key": "silver", "name": "Silver", "threshold": "0"},
    {"key": "gold", "name": "Gold", "threshold": "1000.00", "multiplier": "1.5"}
  ],
  "promotions": [{"key": "wine-week", "name": "Wine week", "multiplier": "2",
                  "from": "2026-12-01", "until": "2026-12-07", "categories": ["wine"]}],
  "bonuses": {"first_purchase": 50}
}"#;

struct World {
    t: TestApp,
    clock: Arc<ManualClock>,
    branch: BranchId,
    employee: EmployeeId,
    bread: ProductId,
    wine: ProductId,
}

fn world(now: &str) -> World {
    let mut t = app_named("loyalty");
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
    let employee = EmployeeId(uid(2));
    s.insert_employee(&Employee {
        id: employee,
        external_id: "E1".into(),
        name: "Noa".into(),
        branch_id: Some(branch),
    })
    .unwrap();
    let (bread, wine) = (ProductId(uid(3)), ProductId(uid(4)));
    for (id, sku, cat) in [(bread, "BREAD", "bakery"), (wine, "MERLOT", "wine")] {
        s.insert_product(&Product {
            id,
            sku: sku.into(),
            name: sku.into(),
            category: Some(cat.into()),
            list_price: Money::new(1000, ils()),
            unit_cost: Some(500),
        })
        .unwrap();
    }
    let actor = Actor::new("test", ts(now));
    t.app
        .set_earning_rule(
            &EarningRule::new().with(ils(), EarnRate::per_whole_unit(ils(), 1).unwrap()),
            &actor,
        )
        .unwrap();
    World {
        t,
        clock,
        branch,
        employee,
        bread,
        wine,
    }
}

impl World {
    fn app(&self) -> &App {
        &self.t.app
    }
    fn actor(&self) -> Actor {
        Actor::new("test", self.app().now())
    }
    fn customer(&self, n: u128, full: bool) -> CustomerId {
        let mut c = Customer::bare(
            CustomerId(uid(100 + n)),
            Some(format!("M{n}")),
            ts("2025-01-01T00:00:00Z"),
        );
        if full {
            c.phone = Some(Phone::parse(&format!("+97250{:07}", n), kesher_core::Country::israel()).unwrap());
            c.email = Some(Email::parse(&format!("c{n}@example.com")).unwrap());
            c.demographics.birth_date = Some(jiff::civil::date(1985, 3, 4));
            c.consents.push(Consent {
                channel: ConsentChannel::Email,
                state: ConsentState::Granted,
                at: ts("2025-01-01T00:00:00Z"),
                source: "pos:B1".into(),
            });
        }
        self.app().insert_customer(&c, &self.actor()).unwrap();
        c.id
    }
    /// A sale of `bread` and `wine` minor units (0 leaves the line out), at `when`.
    fn sale(&self, n: u128, c: CustomerId, bread: i64, wine: i64, when: &str) -> RecordedSale {
        let mut lines = Vec::new();
        for (p, amount) in [(self.bread, bread), (self.wine, wine)] {
            if amount > 0 {
                lines.push(Line {
                    product_id: Some(p),
                    sku: None,
                    quantity: 1,
                    unit_price: amount,
                    discount: 0,
                });
            }
        }
        let t = Transaction {
            id: TransactionId(uid(10_000 + n)),
            external_id: format!("S{n}"),
            customer_id: Some(c),
            branch_id: self.branch,
            employee_id: None,
            occurred_at: ts(when),
            currency: ils(),
            lines,
            refund_of: None,
        };
        self.app().record_sale(&t, &self.actor()).unwrap()
    }
    fn refund(&self, n: u128, of: u128, c: CustomerId, wine: i64, bread: i64, when: &str) -> RecordedSale {
        let mut lines = Vec::new();
        for (p, amount) in [(self.bread, bread), (self.wine, wine)] {
            if amount > 0 {
                lines.push(Line {
                    product_id: Some(p),
                    sku: None,
                    quantity: -1,
                    unit_price: amount,
                    discount: 0,
                });
            }
        }
        let t = Transaction {
            id: TransactionId(uid(10_000 + n)),
            external_id: format!("S{n}"),
            customer_id: Some(c),
            branch_id: self.branch,
            employee_id: None,
            occurred_at: ts(when),
            currency: ils(),
            lines,
            refund_of: Some(TransactionId(uid(10_000 + of))),
        };
        self.app().record_sale(&t, &self.actor()).unwrap()
    }
    fn enrol(&self, c: CustomerId) -> Result<Enrolled> {
        self.app().enrol_member(
            &Enrolment {
                customer: c,
                branch: Some(self.branch),
                employee: Some(self.employee),
                invited_by: None,
                fee_paid: 0,
            },
            &self.actor(),
        )
    }
}

fn rules(e: &kesher_loyalty::LedgerEntry) -> Vec<(&str, i64)> {
    e.breakdown.iter().map(|p| (p.rule.as_str(), p.points)).collect()
}

#[test]
fn a_program_is_set_checked_and_shown() {
    let w = world("2026-11-01T10:00:00Z");
    assert!(w.app().loyalty_program().unwrap().is_none());
    let e = w
        .app()
        .set_loyalty_program(
            r#"{"name": "x", "currency": "ILS", "tiers": [{"key": "a", "name": "A", "threshold": "0"}]}"#,
            &w.actor(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "loyalty.program.invalid");
    assert!(e.to_string().contains("qualification"), "{e}");
    let p = w.app().set_loyalty_program(PROGRAM, &w.actor()).unwrap();
    assert_eq!(p.tiers().len(), 2);
    assert_eq!(w.app().loyalty_program().unwrap().unwrap(), p);
}

#[test]
fn enrolment_checks_the_conditions_scores_the_data_and_records_who_and_where() {
    let w = world("2026-11-01T10:00:00Z");
    let c = w.customer(1, true);
    assert_eq!(w.enrol(c).unwrap_err().code(), "loyalty.program.missing");
    w.app().set_loyalty_program(PROGRAM, &w.actor()).unwrap();
    // No visit yet: the condition that failed is named.
    assert_eq!(w.enrol(c).unwrap_err().code(), "loyalty.join.min_visits");
    // Before joining, a sale earns nothing: the program lets only members earn.
    let r = w.sale(1, c, 5_000, 0, "2026-10-30T10:00:00Z");
    assert!(r.points.is_none() && r.membership.is_none());
    let m = w.enrol(c).unwrap();
    assert!(!m.rejoined);
    assert_eq!(m.member.quality, 100);
    assert_eq!(m.member.tier.as_deref(), Some("silver"));
    assert_eq!(m.member.branch_id, Some(w.branch));
    assert_eq!(m.member.employee_id, Some(w.employee));
    assert_eq!(m.member.tier_review_at, Some(ts("2026-11-01T10:00:00Z") + days(365)));
    assert_eq!(w.enrol(c).unwrap_err().code(), "loyalty.member.already");
    // Poor data is scored as such.
    let poor = w.customer(2, false);
    w.sale(2, poor, 1_000, 0, "2026-10-30T11:00:00Z");
    let m = w.enrol(poor).unwrap().member;
    assert_eq!((m.quality, m.quality_missing.len()), (0, 4));
    // Leaving and joining again are recorded.
    w.app().leave_program(c, Some(w.branch), &w.actor()).unwrap();
    assert_eq!(
        w.app().leave_program(c, None, &w.actor()).unwrap_err().code(),
        "loyalty.member.not_member"
    );
    w.clock.advance(SignedDuration::from_hours(1));
    let again = w.enrol(c).unwrap();
    assert!(again.rejoined);
    assert!(again.member.left_at.is_some());
    let kinds: Vec<&str> = w
        .app()
        .member_events(c)
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(kinds, ["enrol", "leave", "rejoin"]);
}

#[test]
fn a_members_sale_earns_with_its_breakdown_and_upgrades_at_once() {
    let w = world("2026-11-01T10:00:00Z");
    w.app().set_loyalty_program(PROGRAM, &w.actor()).unwrap();
    let c = w.customer(1, true);
    w.sale(1, c, 1_000, 0, "2026-10-30T10:00:00Z");
    w.enrol(c).unwrap();
    w.clock.set(ts("2026-11-10T10:00:00Z"));
    // 50.00 of bread (base: 50) and 30.00 of wine (2 a shekel: 60), the first purchase (+50).
    let r = w.sale(2, c, 5_000, 3_000, "2026-11-10T09:00:00Z");
    let e = r.points.clone().unwrap();
    assert_eq!(
        rules(&e),
        vec![("base", 50), ("category:wine", 60), ("bonus:first_purchase", 50)]
    );
    assert_eq!((e.points, e.balance_after), (160, 160));
    let m = r.membership.unwrap();
    assert_eq!((m.tier.as_deref(), m.tier_change), (Some("silver"), None));
    // A big sale crosses 1,000.00 over the year: gold at once, told at the till.
    let r = w.sale(3, c, 95_000, 0, "2026-11-10T09:30:00Z");
    assert_eq!(rules(r.points.as_ref().unwrap()), vec![("base", 950)]);
    let m = r.membership.unwrap();
    assert_eq!(m.tier.as_deref(), Some("gold"));
    assert_eq!(m.tier_change.unwrap().from.as_deref(), Some("silver"));
    // The next sale earns the gold multiplier.
    let r = w.sale(4, c, 10_000, 0, "2026-11-10T09:45:00Z");
    assert_eq!(
        rules(r.points.as_ref().unwrap()),
        vec![("base", 100), ("tier:gold", 50)]
    );
    // A retry answers the first entry and the tier now, and writes nothing.
    let again = w.sale(4, c, 10_000, 0, "2026-11-10T09:45:00Z");
    assert!(!again.transaction.created);
    assert_eq!(again.points, r.points);
    assert_eq!(again.membership.unwrap().tier.as_deref(), Some("gold"));
    let wallet = w.app().wallet(c).unwrap();
    assert_eq!(wallet.balance, 160 + 950 + 150);
    assert_eq!(wallet.progress.unwrap().next, None);
    assert_eq!(w.app().store.points_balance(c).unwrap(), wallet.balance);
}

#[test]
fn a_promotion_holds_on_its_edge_days_in_the_branchs_time_zone() {
    let w = world("2026-12-10T10:00:00Z");
    w.app().set_loyalty_program(PROGRAM, &w.actor()).unwrap();
    let c = w.customer(1, true);
    w.sale(1, c, 1_000, 0, "2026-11-01T10:00:00Z");
    w.enrol(c).unwrap();
    let promo = |n: u128, when: &str| {
        let r = w.sale(n, c, 0, 1_000, when);
        r.points
            .unwrap()
            .breakdown
            .iter()
            .any(|p| p.rule == "promotion:wine-week")
    };
    // 22:30 UTC on 30 November is 00:30 on 1 December in Jerusalem: inside.
    assert!(promo(3, "2026-11-30T22:30:00Z"));
    assert!(!promo(4, "2026-11-30T21:30:00Z"));
    // 21:30 UTC on 7 December is 23:30 local: the last day; an hour later it is over.
    assert!(promo(5, "2026-12-07T21:30:00Z"));
    assert!(!promo(6, "2026-12-07T22:30:00Z"));
}

#[test]
fn a_refund_takes_back_each_part_of_what_the_sale_earned() {
    let w = world("2026-12-03T08:00:00Z");
    w.app().set_loyalty_program(PROGRAM, &w.actor()).unwrap();
    let c = w.customer(1, true);
    w.sale(1, c, 100_000, 0, "2026-11-01T10:00:00Z"); // 1,000.00: gold at enrolment
    let m = w.enrol(c).unwrap().member;
    assert_eq!(m.tier.as_deref(), Some("gold"));
    w.clock.set(ts("2026-12-03T10:00:00Z"));
    // Gold ×1.5, wine week ×2, first purchase.
    let r = w.sale(2, c, 2_000, 3_000, "2026-12-03T09:00:00Z");
    let earned = r.points.unwrap();
    assert_eq!(
        rules(&earned),
        vec![
            ("base", 20),
            ("category:wine", 60),
            ("tier:gold", 40),
            ("promotion:wine-week", 60),
            ("bonus:first_purchase", 50)
        ]
    );
    // The wine back first (30.00 of 50.00), then the bread.
    let first = w.refund(3, 2, c, 3_000, 0, "2026-12-03T09:30:00Z").points.unwrap();
    assert_eq!(first.kind, EntryKind::Reverse);
    assert_eq!(first.points, first.breakdown.iter().map(|p| p.points).sum::<i64>());
    let second = w.refund(4, 2, c, 0, 2_000, "2026-12-03T09:40:00Z").points.unwrap();
    let mut back: BTreeMapish = BTreeMapish::default();
    for p in first.breakdown.iter().chain(&second.breakdown) {
        back.add(&p.rule, -p.points);
    }
    for p in &earned.breakdown {
        assert_eq!(back.get(&p.rule), p.points, "{}", p.rule);
    }
    assert_eq!(first.points + second.points, -earned.points);
}

#[derive(Default)]
struct BTreeMapish(std::collections::BTreeMap<String, i64>);
impl BTreeMapish {
    fn add(&mut self, k: &str, v: i64) {
        *self.0.entry(k.to_string()).or_default() += v;
    }
    fn get(&self, k: &str) -> i64 {
        self.0.get(k).copied().unwrap_or(0)
    }
}

#[test]
fn a_downgrade_waits_for_the_end_of_the_period() {
    let w = world("2025-06-01T10:00:00Z");
    w.app().set_loyalty_program(PROGRAM, &w.actor()).unwrap();
    let c = w.customer(1, true);
    w.sale(1, c, 120_000, 0, "2025-05-31T10:00:00Z");
    let m = w.enrol(c).unwrap().member;
    assert_eq!(m.tier.as_deref(), Some("gold"));
    // Half a year later the spend of the window is still there: the review is not due.
    w.clock.set(ts("2025-12-01T10:00:00Z"));
    assert_eq!(w.app().review_tiers(&w.actor()).unwrap(), ReviewReport::default());
    // A year and a day later the big sale has left the window: down to silver, once.
    w.clock.set(ts("2026-06-02T10:00:00Z"));
    let r = w.app().review_tiers(&w.actor()).unwrap();
    assert_eq!((r.reviewed, r.downgraded, r.upgraded), (1, 1, 0));
    let m = w.app().wallet(c).unwrap().member.unwrap();
    assert_eq!(m.tier.as_deref(), Some("silver"));
    assert_eq!(m.tier_review_at, Some(ts("2026-06-02T10:00:00Z") + days(365)));
    assert_eq!(w.app().review_tiers(&w.actor()).unwrap().reviewed, 0);
    let kinds: Vec<&str> = w
        .app()
        .member_events(c)
        .unwrap()
        .iter()
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(kinds, ["enrol", "tier_down"]);
}

#[test]
fn the_review_runs_as_a_scheduled_job() {
    assert!(
        crate::jobs::schedules::SCHEDULES
            .iter()
            .any(|s| s.kind == crate::jobs::kinds::TIER_REVIEW)
    );
    assert!(crate::jobs::kinds::kind(crate::jobs::kinds::TIER_REVIEW).is_some());
}

#[test]
fn points_expire_by_lot_oldest_first_once() {
    let w = world("2025-01-10T10:00:00Z");
    let program = PROGRAM.replace(
        r#""bonuses": {"first_purchase": 50}"#,
        r#""bonuses": {}, "expiry": {"lifetime_days": 365}"#,
    );
    w.app().set_loyalty_program(&program, &w.actor()).unwrap();
    let c = w.customer(1, true);
    w.sale(1, c, 1_000, 0, "2025-01-09T10:00:00Z");
    w.enrol(c).unwrap();
    // Lots of 100 (January) and 50 (June); 30 spent in July from the oldest.
    w.sale(2, c, 10_000, 0, "2025-01-10T10:00:00Z");
    w.clock.set(ts("2025-06-01T10:00:00Z"));
    w.sale(3, c, 5_000, 0, "2025-06-01T09:00:00Z");
    w.clock.set(ts("2025-07-01T10:00:00Z"));
    let req = kesher_store::PointsRequest {
        points: 30,
        reason: None,
        idempotency_key: Some("r1".into()),
        branch_id: Some(w.branch),
    };
    w.app().redeem_points(c, &req, &w.actor()).unwrap();
    let lots = w.app().wallet(c).unwrap().lots;
    assert_eq!(lots.iter().map(|l| l.remaining).collect::<Vec<_>>(), [70, 50]);
    assert_eq!(lots[0].expires_at, ts("2025-01-10T10:00:00Z") + days(365));
    // A day before the first lot's end nothing expires; on it, its 70 points do, once.
    let as_of = ts("2026-01-10T10:00:00Z");
    assert_eq!(w.app().expire_points(as_of - days(1), &w.actor()).unwrap().points, 0);
    w.clock.set(as_of);
    let r = w.app().expire_points(as_of, &w.actor()).unwrap();
    assert_eq!((r.customers, r.points), (1, 70));
    assert_eq!(w.app().expire_points(as_of, &w.actor()).unwrap().points, 0);
    let wallet = w.app().wallet(c).unwrap();
    assert_eq!(wallet.balance, 50);
    assert_eq!(wallet.lots.len(), 1);
    let ledger = w.app().points_ledger(c, 10, 0).unwrap();
    assert_eq!((ledger.items[0].kind, ledger.items[0].points), (EntryKind::Expire, -70));
    // The balance is still the sum of the ledger.
    let all = w.app().store.points_entries(c).unwrap();
    assert_eq!(all.iter().map(|e| e.points).sum::<i64>(), 50);
}

#[test]
fn the_inviter_earns_the_referral_once_at_the_newcomers_first_purchase() {
    let w = world("2026-11-01T10:00:00Z");
    let program = PROGRAM.replace(
        r#""bonuses": {"first_purchase": 50}"#,
        r#""bonuses": {"referral": 200}"#,
    );
    w.app().set_loyalty_program(&program, &w.actor()).unwrap();
    let (a, b) = (w.customer(1, true), w.customer(2, true));
    w.sale(1, a, 1_000, 0, "2026-10-30T10:00:00Z");
    w.sale(2, b, 1_000, 0, "2026-10-30T11:00:00Z");
    w.enrol(a).unwrap();
    let invited = |c: CustomerId| {
        w.app().enrol_member(
            &Enrolment {
                customer: c,
                branch: Some(w.branch),
                employee: None,
                invited_by: Some(a),
                fee_paid: 0,
            },
            &w.actor(),
        )
    };
    // Only a member may invite: b invites no one yet.
    let e = w
        .app()
        .enrol_member(
            &Enrolment {
                customer: a,
                branch: None,
                employee: None,
                invited_by: Some(b),
                fee_paid: 0,
            },
            &w.actor(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "loyalty.member.already");
    invited(b).unwrap();
    let before = w.app().points_balance(a).unwrap();
    w.clock.set(ts("2026-11-02T10:00:00Z"));
    w.sale(3, b, 2_000, 0, "2026-11-02T09:00:00Z");
    assert_eq!(w.app().points_balance(a).unwrap(), before + 200);
    let last = &w.app().points_ledger(a, 1, 0).unwrap().items[0];
    assert_eq!(
        (last.reason.as_deref(), last.breakdown[0].rule.as_str()),
        (Some("referral"), "bonus:referral")
    );
    // The second purchase pays nothing; nor does the first after leaving and joining again.
    w.sale(4, b, 2_000, 0, "2026-11-02T09:10:00Z");
    w.app().leave_program(b, None, &w.actor()).unwrap();
    invited(b).unwrap();
    w.sale(5, b, 2_000, 0, "2026-11-02T10:20:00Z");
    assert_eq!(w.app().points_balance(a).unwrap(), before + 200);
}

#[test]
fn pending_points_are_spendable_after_the_window_and_a_refund_inside_it_never_touches_the_spendable_balance() {
    let w = world("2026-11-01T10:00:00Z");
    let program = PROGRAM.replace(
        r#""bonuses": {"first_purchase": 50}"#,
        r#""bonuses": {}, "pending": {"days": 14}"#,
    );
    w.app().set_loyalty_program(&program, &w.actor()).unwrap();
    let c = w.customer(1, true);
    w.sale(1, c, 1_000, 0, "2026-10-30T10:00:00Z");
    w.enrol(c).unwrap();
    // Some spendable points first, then a sale whose 100 points are held for 14 days.
    w.app()
        .adjust_points(
            c,
            &kesher_store::PointsRequest {
                points: 20,
                reason: Some("welcome".into()),
                idempotency_key: None,
                branch_id: None,
            },
            &w.actor(),
        )
        .unwrap();
    let e = w.sale(2, c, 10_000, 0, "2026-11-01T09:00:00Z").points.unwrap();
    assert_eq!(e.available_at, Some(ts("2026-11-15T09:00:00Z")));
    let wallet = w.app().wallet(c).unwrap();
    assert_eq!((wallet.balance, wallet.pending), (120, 100));
    let redeem = |n: i64, key: &str| {
        w.app().redeem_points(
            c,
            &kesher_store::PointsRequest {
                points: n,
                reason: None,
                idempotency_key: Some(key.into()),
                branch_id: Some(w.branch),
            },
            &w.actor(),
        )
    };
    // Only the 20 are spendable.
    assert_eq!(redeem(21, "k1").unwrap_err().code(), "points.insufficient");
    // Half the sale comes back inside the window: its 50 points leave the pending ones only.
    let r = w.refund(3, 2, c, 0, 5_000, "2026-11-02T10:00:00Z").points.unwrap();
    assert_eq!((r.points, r.available_at), (-50, Some(ts("2026-11-15T09:00:00Z"))));
    let wallet = w.app().wallet(c).unwrap();
    assert_eq!((wallet.balance, wallet.pending), (70, 50));
    redeem(20, "k2").unwrap();
    assert_eq!(redeem(1, "k3").unwrap_err().code(), "points.insufficient");
    // After the window the rest is spendable; a refund then takes from the balance as ever.
    w.clock.set(ts("2026-11-15T09:00:01Z"));
    assert_eq!(w.app().wallet(c).unwrap().pending, 0);
    redeem(30, "k4").unwrap();
    let r = w.refund(4, 2, c, 0, 5_000, "2026-11-15T10:00:00Z").points.unwrap();
    assert_eq!((r.points, r.available_at), (-50, None));
    assert_eq!(w.app().points_balance(c).unwrap(), -30);
}
