//! The KPIs over a small history crafted so that every figure can be counted by hand (SQLite,
//! a settable clock): two branches, two members (one full enrolment, one with nothing collected,
//! who leaves), two non-members, anonymous sales, a refund, a redemption and an adjustment.

use super::*;
use crate::clock::ManualClock;
use crate::test_support::{TestApp, app_named};
use kesher_core::{
    Consent, ConsentChannel, ConsentState, Customer, Email, Employee, Line, Phone, Transaction, TransactionId,
};
use kesher_loyalty::{EarnRate, EarningRule};
use kesher_store::{Actor, PointsRequest};
use std::sync::Arc;

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
    {"key": "gold", "name": "Gold", "threshold": "100000.00", "multiplier": "1.5"}
  ],
  "promotions": [{"key": "march", "name": "Double March", "multiplier": "2",
                  "from": "2026-03-01", "until": "2026-03-31"}],
  "bonuses": {"first_purchase": 50}
}"#;

struct World {
    t: TestApp,
    clock: Arc<ManualClock>,
    sales: std::cell::Cell<u128>,
}

impl World {
    fn app(&self) -> &App {
        &self.t.app
    }
    fn at(&self, when: &str) -> Actor {
        self.clock.set(ts(when));
        Actor::new("test", ts(when))
    }
    fn customer(&self, n: u128, full: bool) -> CustomerId {
        let mut c = Customer::bare(
            CustomerId(uid(100 + n)),
            Some(format!("C{n}")),
            ts("2025-01-01T00:00:00Z"),
        );
        if full {
            c.phone = Some(Phone::parse(&format!("+97250{n:07}"), kesher_core::Country::israel()).unwrap());
            c.email = Some(Email::parse(&format!("c{n}@example.com")).unwrap());
            c.demographics.birth_date = Some(jiff::civil::date(1985, 3, 4));
            c.consents.push(Consent {
                channel: ConsentChannel::Email,
                state: ConsentState::Granted,
                at: ts("2025-01-01T00:00:00Z"),
                source: "pos:B1".into(),
            });
        }
        self.app()
            .insert_customer(&c, &self.at("2025-01-01T00:00:00Z"))
            .unwrap();
        c.id
    }
    /// A sale (or, with `refund_of`, a refund) of `amount` minor units at `when`.
    fn sale(&self, c: Option<CustomerId>, branch: BranchId, amount: i64, when: &str, refund_of: Option<u128>) -> u128 {
        let n = self.sales.get() + 1;
        self.sales.set(n);
        let t = Transaction {
            id: TransactionId(uid(10_000 + n)),
            external_id: format!("S{n}"),
            customer_id: c,
            branch_id: branch,
            employee_id: None,
            occurred_at: ts(when),
            currency: ils(),
            lines: vec![Line {
                product_id: None,
                sku: None,
                quantity: if refund_of.is_some() { -1 } else { 1 },
                unit_price: amount,
                discount: 0,
            }],
            refund_of: refund_of.map(|o| TransactionId(uid(10_000 + o))),
        };
        self.app().record_sale(&t, &self.at(when)).unwrap();
        n
    }
    fn enrol(&self, c: CustomerId, branch: BranchId, employee: EmployeeId, when: &str) {
        let e = crate::loyalty::Enrolment {
            customer: c,
            branch: Some(branch),
            employee: Some(employee),
            invited_by: None,
            fee_paid: 0,
        };
        self.app().enrol_member(&e, &self.at(when)).unwrap();
    }
}

fn world() -> World {
    let mut t = app_named("kpis");
    let clock = Arc::new(ManualClock::new(ts("2025-01-01T00:00:00Z")));
    t.app = t.app.clone().with_clock(clock.clone());
    let (b1, b2) = (BranchId(uid(1)), BranchId(uid(2)));
    let (e1, e2) = (EmployeeId(uid(3)), EmployeeId(uid(4)));
    for (id, ext, name) in [(b1, "B1", "Tel Aviv"), (b2, "B2", "Haifa")] {
        t.app
            .insert_branch(&Branch {
                id,
                external_id: ext.into(),
                name: name.into(),
                region: None,
                time_zone: "Asia/Jerusalem".into(),
            })
            .unwrap();
    }
    for (id, ext, name, b) in [(e1, "E1", "Noa", b1), (e2, "E2", "Dan", b2)] {
        t.app
            .insert_employee(&Employee {
                id,
                external_id: ext.into(),
                name: name.into(),
                branch_id: Some(b),
            })
            .unwrap();
    }
    let w = World {
        t,
        clock,
        sales: std::cell::Cell::new(0),
    };
    let actor = w.at("2025-01-01T00:00:00Z");
    w.app()
        .set_earning_rule(
            &EarningRule::new().with(ils(), EarnRate::per_whole_unit(ils(), 1).unwrap()),
            &actor,
        )
        .unwrap();
    w.app().set_loyalty_program(PROGRAM, &actor).unwrap();

    let a = w.customer(1, true);
    let b = w.customer(2, false);
    let c = w.customer(3, true);
    let d = w.customer(4, true);
    w.sale(Some(a), b1, 10_000, "2026-01-10T10:00:00Z", None);
    w.sale(Some(c), b1, 10_000, "2026-01-15T10:00:00Z", None);
    w.sale(Some(b), b2, 5_000, "2026-01-20T10:00:00Z", None);
    w.sale(Some(d), b2, 8_000, "2026-01-25T10:00:00Z", None);
    w.enrol(a, b1, e1, "2026-02-05T10:00:00Z");
    w.enrol(b, b2, e2, "2026-02-10T10:00:00Z");
    w.sale(None, b1, 4_000, "2026-02-20T10:00:00Z", None);
    w.sale(Some(a), b1, 20_000, "2026-03-10T10:00:00Z", None); // 200 + 200 march + 50 first
    w.sale(Some(b), b2, 6_000, "2026-03-15T10:00:00Z", None); // 60 + 60 march + 50 first
    w.sale(Some(c), b1, 12_000, "2026-03-20T10:00:00Z", None);
    w.sale(Some(d), b2, 7_000, "2026-03-25T10:00:00Z", None);
    w.app()
        .leave_program(b, Some(b2), &w.at("2026-04-01T10:00:00Z"))
        .unwrap();
    w.sale(None, b2, 2_500, "2026-04-05T10:00:00Z", None);
    let april = w.sale(Some(a), b1, 10_000, "2026-04-10T10:00:00Z", None); // 100
    w.sale(Some(a), b1, 10_000, "2026-04-12T10:00:00Z", Some(april)); // -100
    w.sale(Some(b), b2, 3_000, "2026-04-20T10:00:00Z", None); // no longer a member
    let redeem = PointsRequest {
        points: 100,
        idempotency_key: Some("r1".into()),
        branch_id: Some(b1),
        ..PointsRequest::default()
    };
    w.app()
        .redeem_points(a, &redeem, &w.at("2026-04-15T10:00:00Z"))
        .unwrap();
    let adjust = PointsRequest {
        points: 10,
        reason: Some("goodwill".into()),
        ..PointsRequest::default()
    };
    w.app()
        .adjust_points(a, &adjust, &w.at("2026-05-01T10:00:00Z"))
        .unwrap();
    w.clock.set(ts("2026-06-15T12:00:00Z"));
    w
}

fn query(w: &World, branch: Option<&str>) -> KpiQuery {
    w.app()
        .loyalty_kpi_query(&KpiParams {
            from: Some("2026-01-01"),
            to: Some("2026-06-14"),
            branch,
            by: Some("month"),
            point_value: Some("0.05"),
            months: Some(1),
        })
        .unwrap()
}

fn field(e: &StoreError) -> Option<&'static str> {
    match e {
        StoreError::Invalid { field, .. } => Some(field),
        _ => None,
    }
}

fn moves(enrolled: u64, rejoined: u64, left: u64) -> Moves {
    Moves {
        enrolled,
        rejoined,
        left,
    }
}

#[test]
fn every_kpi_is_counted_by_hand() {
    let w = world();
    let r = w.app().loyalty_kpis(&query(&w, None)).unwrap();
    assert_eq!(r.window.time_zone, "Asia/Jerusalem");
    let months: Vec<&str> = r.enrolments.by_period.iter().map(|p| p.period.as_str()).collect();
    assert_eq!(
        months,
        ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    );

    // Enrolments: A at B1 by E1, B at B2 by E2 in February; B left at B2 in April.
    assert_eq!(r.enrolments.total, moves(2, 0, 1));
    assert_eq!(r.enrolments.by_period[1].moves, moves(2, 0, 0));
    assert_eq!(r.enrolments.by_period[3].moves, moves(0, 0, 1));
    let by_branch: Vec<(&str, &Moves)> = r
        .enrolments
        .by_branch
        .iter()
        .map(|k| (k.key.as_str(), &k.figures))
        .collect();
    assert_eq!(by_branch, [("B1", &moves(1, 0, 0)), ("B2", &moves(1, 0, 1))]);
    let by_employee: Vec<(&str, &Moves)> = r
        .enrolments
        .by_employee
        .iter()
        .map(|k| (k.key.as_str(), &k.figures))
        .collect();
    // Leaving names no employee.
    assert_eq!(
        by_employee,
        [("-", &moves(0, 0, 1)), ("E1", &moves(1, 0, 0)), ("E2", &moves(1, 0, 0))]
    );
    assert_eq!(r.enrolments.by_employee[1].name.as_deref(), Some("Noa"));

    // Data quality: A gave everything (100), B nothing (0).
    let q = &r.data_quality.total;
    assert_eq!((q.members, q.average_quality), (2, Some(50.0)));
    for item in QUALITY_ITEMS {
        assert_eq!(q.missing_share[item], 0.5, "{item}");
    }
    let e2 = &r.data_quality.by_employee[1];
    assert_eq!(
        (
            e2.key.as_str(),
            e2.figures.average_quality,
            e2.figures.missing_share["phone"]
        ),
        ("E2", Some(0.0), 1.0)
    );
    assert_eq!(r.data_quality.by_branch[0].figures.average_quality, Some(100.0));

    // Identified sales: members 3 sales (A March and April, B March), 200 + 60 + 100 − 100;
    // non-members 7 (four in January, C and D in March, B after leaving); anonymous 2.
    let s = &r.identified_sales.total[0];
    assert_eq!(s.currency, "ILS");
    assert_eq!((s.members.transactions, s.members.revenue.as_str()), (3, "260.00"));
    assert_eq!((s.non_members.transactions, s.non_members.revenue_minor), (7, 55_000));
    assert_eq!((s.anonymous.transactions, s.anonymous.revenue_minor), (2, 6_500));
    assert_eq!(s.member_share_of_transactions, Some(0.25));
    assert_eq!(s.member_share_of_revenue, Some(0.2971)); // 260 / 875
    assert_eq!(s.identified_share_of_transactions, Some(0.8333));
    let march = r
        .identified_sales
        .by_period
        .iter()
        .find(|p| p.period.as_deref() == Some("2026-03"))
        .unwrap();
    assert_eq!(
        (
            march.members.transactions,
            march.non_members.transactions,
            march.anonymous.transactions
        ),
        (2, 2, 0)
    );
    let b2 = r
        .identified_sales
        .by_branch
        .iter()
        .find(|p| p.branch.as_deref() == Some("B2"))
        .unwrap();
    assert_eq!(
        (
            b2.members.revenue_minor,
            b2.non_members.revenue_minor,
            b2.anonymous.revenue_minor
        ),
        (6_000, 23_000, 2_500)
    );

    // Points: 450 + 170 + 100 earned, 100 redeemed, 100 reversed, 10 adjusted.
    let p = &r.points;
    assert_eq!(
        (p.total.issued, p.total.redeemed, p.total.reversed, p.total.adjusted),
        (720, 100, 100, 10)
    );
    assert_eq!(p.total.expired, 0);
    assert_eq!(p.redemption_rate, Some(0.1389));
    assert_eq!(p.by_period[2].flow.issued, 620);
    assert_eq!(
        (
            p.by_period[3].flow.issued,
            p.by_period[3].flow.redeemed,
            p.by_period[3].flow.reversed
        ),
        (100, 100, 100)
    );
    assert_eq!(p.by_period[4].flow.adjusted, 10);
    // A: 450 + 100 − 100 − 100 + 10 = 360, B: 170; at 0.05 a point.
    assert_eq!(p.liability.points, 530);
    assert_eq!(
        (p.liability.point_value.as_str(), p.liability.value.as_deref()),
        ("0.05", Some("26.50"))
    );

    // New and returning: A and B bought first as members in March; A again in April.
    let nr: Vec<(u64, u64)> = r
        .new_vs_returning
        .by_period
        .iter()
        .map(|p| (p.new, p.returning))
        .collect();
    assert_eq!(nr, [(0, 0), (0, 0), (2, 0), (0, 1), (0, 0), (0, 0)]);
    assert_eq!(r.new_vs_returning.total_new, 2);

    // Benefits: March's promotion gave 200 + 60 on two sales, the first-purchase bonus 50 twice.
    let rules: Vec<(&str, i64, u64)> = r
        .benefits
        .rules
        .iter()
        .map(|k| (k.key.as_str(), k.figures.points, k.figures.sales))
        .collect();
    assert_eq!(rules, [("bonus:first_purchase", 100, 2), ("promotion:march", 260, 2)]);
    assert!(r.benefits.by_period.iter().all(|p| p.period == "2026-03"));

    // Members against non-members over the window: A and B (3 sales, 260.00) against C and D
    // (4 sales, 370.00).
    let f = &r.financial_impact;
    assert_eq!(
        (f.members.customers, f.members.transactions, f.members.revenue.as_str()),
        (2, 3, "260.00")
    );
    assert_eq!(
        (
            f.members.spend_per_customer,
            f.members.visits_per_customer,
            f.members.basket_size
        ),
        (Some(130.0), Some(1.5), Some(86.67))
    );
    assert_eq!(
        (
            f.non_members.customers,
            f.non_members.spend_per_customer,
            f.non_members.basket_size
        ),
        (2, Some(185.0), Some(92.5))
    );
    // Difference in differences, one month each side of February: A 100 → 200 (+100), B 50 → 60
    // (+10): +55; C 100 → 120 (+20), D 80 → 70 (−10): +5. Effect 50; standard error
    // √(4500²·2/1/2 + 1500²·2/1/2) = √22.5 = 4.743 (ILS), so 50 ± 92.97.
    let did = f.difference_in_differences.as_ref().unwrap();
    assert_eq!((did.members, did.non_members, did.cohorts, did.months), (2, 2, 1, 1));
    assert_eq!(
        (did.members_change, did.non_members_change, did.effect),
        (55.0, 5.0, 50.0)
    );
    assert_eq!(did.members_before, 75.0);
    assert_eq!((did.std_error, did.ci_low, did.ci_high), (47.43, -42.97, 142.97));
    assert!(f.method.contains("Difference in differences"), "{}", f.method);
}

#[test]
fn a_branch_keeps_its_own_figures() {
    let w = world();
    let r = w.app().loyalty_kpis(&query(&w, Some("B1"))).unwrap();
    assert_eq!(r.window.branch.as_deref(), Some("B1"));
    assert_eq!(r.enrolments.total, moves(1, 0, 0));
    assert_eq!(r.data_quality.total.members, 1);
    let s = &r.identified_sales.total[0];
    // A's March and April sales and April's refund; A in January, C twice; February's anonymous.
    assert_eq!((s.members.transactions, s.members.revenue_minor), (2, 20_000));
    assert_eq!((s.non_members.transactions, s.non_members.revenue_minor), (3, 32_000));
    assert_eq!((s.anonymous.transactions, s.anonymous.revenue_minor), (1, 4_000));
    // The adjustment names no branch.
    assert_eq!(
        (r.points.total.issued, r.points.total.redeemed, r.points.total.adjusted),
        (550, 100, 0)
    );
    assert_eq!(r.new_vs_returning.total_new, 1);
}

#[test]
fn bad_parameters_name_their_field() {
    let w = world();
    let bad = |p: KpiParams<'_>| w.app().loyalty_kpi_query(&p).unwrap_err();
    let e = bad(KpiParams {
        from: Some("2026-05-01"),
        to: Some("2026-04-01"),
        ..KpiParams::default()
    });
    assert_eq!((e.code(), field(&e)), ("loyalty.report.window.reversed", Some("from")));
    let e = bad(KpiParams {
        from: Some("2026-13-01"),
        ..KpiParams::default()
    });
    assert_eq!((e.code(), field(&e)), ("date.invalid", Some("from")));
    let e = bad(KpiParams {
        by: Some("year"),
        ..KpiParams::default()
    });
    assert_eq!((e.code(), field(&e)), ("value.unknown", Some("by")));
    let e = bad(KpiParams {
        branch: Some("B9"),
        ..KpiParams::default()
    });
    assert_eq!((e.code(), field(&e)), ("branch.unknown", Some("branch")));
    let e = bad(KpiParams {
        point_value: Some("0.001"),
        ..KpiParams::default()
    });
    assert_eq!((e.code(), field(&e)), ("money.amount.too_precise", Some("point_value")));
    let e = bad(KpiParams {
        months: Some(13),
        ..KpiParams::default()
    });
    assert_eq!(
        (e.code(), field(&e)),
        ("loyalty.report.months.out_of_range", Some("months"))
    );
    // The defaults: the 365 days ending today, by month, 0.05 a point, three months.
    let q = w.app().loyalty_kpi_query(&KpiParams::default()).unwrap();
    assert_eq!(
        (q.from.to_string(), q.to.to_string()),
        ("2025-06-16".into(), "2026-06-15".into())
    );
    assert_eq!((q.by, q.point_value, q.months), (Granularity::Month, 5, 3));
}
