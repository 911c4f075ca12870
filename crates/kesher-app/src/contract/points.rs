//! Contract checks of the points ledger: earning and reversal, redemption and adjustment with
//! their audit entries, merge and erasure, the bulk award, and the guarantees under concurrency.

use super::*;
use kesher_loyalty::{EarnRate, EarningRule, EntryKind, LedgerEntry};

/// One point per whole shekel.
pub fn shekel_rule() -> EarningRule {
    EarningRule::new().with(ils(), EarnRate::per_whole_unit(ils(), 1).unwrap())
}

fn ledger(s: &App, c: CustomerId) -> Vec<LedgerEntry> {
    all_pages(|o| s.points_ledger(c, 7, o)).unwrap()
}

/// The balance equals the sum of the ledger and the newest entry's balance_after.
pub fn assert_consistent(s: &App, c: CustomerId) -> i64 {
    let entries = ledger(s, c);
    let balance = s.points_balance(c).unwrap();
    assert_eq!(kesher_loyalty::sum_points(&entries), Some(balance), "{entries:#?}");
    if let Some(newest) = entries.first() {
        assert_eq!(newest.balance_after, balance);
    }
    balance
}

fn request(points: i64, key: Option<&str>, reason: Option<&str>) -> PointsRequest {
    PointsRequest {
        points,
        reason: reason.map(str::to_string),
        idempotency_key: key.map(str::to_string),
        branch_id: None,
    }
}

pub fn sales_earn_by_the_rule_once(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    assert!(s.earning_rule().unwrap().is_empty());
    // Before a rule exists, sales earn nothing.
    let early = s
        .record_sale(&sale(1, "T1", Some(c.id), b, p, "2025-03-01T10:00:00Z"), &actor())
        .unwrap();
    assert_eq!(early.points, None);
    s.set_earning_rule(&shekel_rule(), &actor()).unwrap();
    assert_eq!(s.earning_rule().unwrap(), shekel_rule());
    let rule_audit = s.store.audit_log(10, 0).unwrap();
    assert!(rule_audit.iter().any(|a| a.action == "points.rule"));
    // 2 × 89.90 − 10.00 + 5.00 = 174.80: 174 points.
    let t = sale(2, "T2", Some(c.id), b, p, "2025-03-02T10:00:00Z");
    let first = s.record_sale(&t, &actor()).unwrap();
    assert!(first.transaction.created);
    let earned = first.points.clone().unwrap();
    assert_eq!(
        (earned.kind, earned.points, earned.balance_after, earned.transaction_id),
        (EntryKind::Earn, 174, 174, Some(t.id))
    );
    assert_eq!((earned.actor.as_str(), earned.branch_id), ("test", Some(b)));
    // A retry, even with another id, earns nothing more and returns the first entry.
    let retry = s
        .record_sale(
            &Transaction {
                id: TransactionId(uid(7777)),
                ..t.clone()
            },
            &actor(),
        )
        .unwrap();
    assert!(!retry.transaction.created);
    assert_eq!(retry.points, Some(earned.clone()));
    assert_eq!(s.points_balance(c.id).unwrap(), 174);
    // Anonymous sales earn nothing; neither do currencies without a rate.
    assert_eq!(
        s.record_sale(&sale(3, "T3", None, b, p, "2025-03-03T10:00:00Z"), &actor())
            .unwrap()
            .points,
        None
    );
    let usd = Transaction {
        currency: Currency::parse("USD").unwrap(),
        ..sale(4, "T4", Some(c.id), b, p, "2025-03-04T10:00:00Z")
    };
    assert_eq!(s.record_sale(&usd, &actor()).unwrap().points, None);
    assert_eq!(assert_consistent(s, c.id), 174);
}

pub fn refunds_take_back_their_share_of_the_points(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    s.set_earning_rule(&shekel_rule(), &actor()).unwrap();
    let t = sale(2, "T2", Some(c.id), b, p, "2025-03-02T10:00:00Z");
    assert_eq!(s.record_sale(&t, &actor()).unwrap().points.unwrap().points, 174);
    // A refund of one unit (89.90 of 174.80) takes back floor(174 × 8990 / 17480) = 89 points;
    // the rest of the sale refunded later takes back the remaining 85.
    let refund = |n: u128, ext: &str, qty: i64, price: i64| Transaction {
        id: TransactionId(uid(6000 + n)),
        external_id: ext.into(),
        refund_of: Some(t.id),
        customer_id: None,
        lines: vec![Line {
            product_id: None,
            sku: None,
            quantity: qty,
            unit_price: price,
            discount: 0,
        }],
        ..t.clone()
    };
    let r1 = s.record_sale(&refund(1, "R1", -1, 8990), &actor()).unwrap();
    let rev = r1.points.unwrap();
    assert_eq!(
        (rev.kind, rev.points, rev.balance_after, rev.customer_id),
        (EntryKind::Reverse, -89, 85, c.id)
    );
    let r2 = s.record_sale(&refund(2, "R2", -1, 8490), &actor()).unwrap();
    assert_eq!(r2.points.unwrap().points, -85);
    // A refund beyond the sale takes back nothing more.
    assert_eq!(s.record_sale(&refund(3, "R3", -1, 100), &actor()).unwrap().points, None);
    assert_eq!(assert_consistent(s, c.id), 0);
    assert_eq!(ledger(s, c.id).len(), 3);
}

/// A refund after a redemption may take the balance below zero (docs/loyalty.md).
pub fn a_refund_after_a_redemption_may_take_the_balance_below_zero(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    s.set_earning_rule(&shekel_rule(), &actor()).unwrap();
    let t5 = sale(5, "T5", Some(c.id), b, p, "2025-03-05T10:00:00Z");
    s.record_sale(&t5, &actor()).unwrap();
    s.redeem_points(c.id, &request(174, Some("k-1"), None), &actor())
        .unwrap();
    let full = Transaction {
        id: TransactionId(uid(6010)),
        external_id: "R5".into(),
        refund_of: Some(t5.id),
        lines: vec![Line {
            product_id: None,
            sku: None,
            quantity: -1,
            unit_price: 17480,
            discount: 0,
        }],
        ..t5.clone()
    };
    assert_eq!(
        s.record_sale(&full, &actor()).unwrap().points.unwrap().balance_after,
        -174
    );
    assert_eq!(assert_consistent(s, c.id), -174);
}

pub fn an_unknown_customer_has_no_balance(s: &App) {
    assert!(matches!(
        s.points_balance(CustomerId(uid(4242))),
        Err(StoreError::NotFound { .. })
    ));
}

pub fn adjustments_need_a_reason_and_never_overdraw(s: &App) {
    seed_reference(&*s.store);
    let c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    // Adjustments need a reason and may not take the balance below zero.
    assert!(matches!(
        s.adjust_points(c.id, &request(100, None, None), &actor()),
        Err(StoreError::Invalid { field: "reason", .. })
    ));
    assert!(matches!(
        s.adjust_points(c.id, &request(-1, None, Some("typo")), &actor()),
        Err(StoreError::Conflict { field: "points", .. })
    ));
    let adj = s
        .adjust_points(c.id, &request(500, None, Some("welcome gift")), &actor())
        .unwrap();
    assert!(adj.created);
    assert_eq!((adj.value.kind, adj.value.balance_after), (EntryKind::Adjust, 500));
    assert!(matches!(
        s.adjust_points(c.id, &request(-501, None, Some("typo")), &actor()),
        Err(StoreError::Conflict { field: "points", .. })
    ));
    assert_eq!(assert_consistent(s, c.id), 500);
}

/// Customer M1 with a welcome gift of 500 points; returns the branch and the customer.
fn with_500_points(s: &App) -> (BranchId, Customer) {
    let (b, _, _) = seed_reference(&*s.store);
    let c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    s.adjust_points(c.id, &request(500, None, Some("welcome gift")), &actor())
        .unwrap();
    (b, c)
}

/// Redeems 200 of M1's 500 points at the till of branch `b` with key `till-7-0001`.
fn redeem_at_till(s: &App, b: BranchId, c: CustomerId) -> (PointsRequest, Recorded<LedgerEntry>) {
    let mut at_till = request(200, Some("till-7-0001"), None);
    at_till.branch_id = Some(b);
    let r = s.redeem_points(c, &at_till, &actor()).unwrap();
    (at_till, r)
}

pub fn redemption_never_overdraws(s: &App) {
    let (b, c) = with_500_points(s);
    // Redemptions need a key, a positive amount, and no more than the balance.
    assert!(matches!(
        s.redeem_points(c.id, &request(10, None, None), &actor()),
        Err(StoreError::Invalid {
            field: "idempotency_key",
            ..
        })
    ));
    assert!(matches!(
        s.redeem_points(c.id, &request(0, Some("a"), None), &actor()),
        Err(StoreError::Invalid { field: "points", .. })
    ));
    match s.redeem_points(c.id, &request(501, Some("a"), None), &actor()) {
        Err(e @ StoreError::Conflict { field: "points", .. }) => {
            assert_eq!(e.code(), "points.insufficient");
            assert_eq!(e.params(), kesher_core::params!(balance = 500, asked = 501));
        }
        other => panic!("expected a short balance, got {other:?}"),
    }
    let mut at_till = request(200, Some("till-7-0001"), None);
    at_till.branch_id = Some(b);
    let r = s.redeem_points(c.id, &at_till, &actor()).unwrap();
    assert!(r.created);
    assert_eq!(
        (r.value.kind, r.value.points, r.value.balance_after, r.value.branch_id),
        (EntryKind::Redeem, -200, 300, Some(b))
    );
    assert!(matches!(
        s.redeem_points(c.id, &request(301, Some("b"), None), &actor()),
        Err(StoreError::Conflict { field: "points", .. })
    ));
    assert_eq!(assert_consistent(s, c.id), 300);
    assert!(matches!(
        s.redeem_points(CustomerId(uid(4242)), &request(1, Some("x"), None), &actor()),
        Err(StoreError::NotFound { .. })
    ));
}

pub fn a_retried_redemption_returns_the_first_entry(s: &App) {
    let (b, c) = with_500_points(s);
    let (at_till, r) = redeem_at_till(s, b, c.id);
    // The retry returns the first entry and writes nothing; the same key for something else is refused.
    let again = s.redeem_points(c.id, &at_till, &actor()).unwrap();
    assert!(!again.created);
    assert_eq!(again.value, r.value);
    assert!(matches!(
        s.redeem_points(c.id, &request(201, Some("till-7-0001"), None), &actor()),
        Err(StoreError::Conflict {
            field: "idempotency_key",
            ..
        })
    ));
    // The key is per customer.
    let d = customer(2, "M2", "Noa");
    s.insert_customer(&d, &actor()).unwrap();
    s.adjust_points(d.id, &request(300, Some("till-7-0001"), Some("gift")), &actor())
        .unwrap();
    assert_eq!(assert_consistent(s, c.id), 300);
    assert_eq!(ledger(s, c.id).len(), 2);
    assert_eq!(assert_consistent(s, d.id), 300);
}

pub fn redemptions_and_adjustments_are_audited_and_totalled(s: &App) {
    let (b, c) = with_500_points(s);
    redeem_at_till(s, b, c.id);
    let d = customer(2, "M2", "Noa");
    s.insert_customer(&d, &actor()).unwrap();
    s.adjust_points(d.id, &request(300, Some("till-7-0001"), Some("gift")), &actor())
        .unwrap();
    // Every adjustment and redemption is in the audit log with the balance before and after.
    let audit = s.store.audit_for_entity(&c.id.to_string()).unwrap();
    let points: Vec<_> = audit.iter().filter(|a| a.action.starts_with("points.")).collect();
    assert_eq!(
        points.iter().map(|a| a.action.as_str()).collect::<Vec<_>>(),
        vec!["points.adjust", "points.redeem"]
    );
    let redeem = points[1];
    assert_eq!(redeem.before.as_ref().unwrap()["balance"], 500);
    assert_eq!(redeem.after.as_ref().unwrap()["balance"], 300);
    assert_eq!(redeem.after.as_ref().unwrap()["idempotency_key"], "till-7-0001");
    assert_eq!(
        (redeem.actor.as_str(), redeem.origin.as_deref()),
        ("test", Some("127.0.0.1"))
    );
    let totals = s.points_totals().unwrap();
    assert_eq!((totals.customers, totals.outstanding), (2, 600));
    assert!(totals.by_kind.contains(&(EntryKind::Redeem, 1, -200)));
}

/// Customers M1 (a sale: 174 points) and M2 (a sale, T2, and an adjustment: 200 points), with
/// the shekel rule; returns M1, M2 and T2.
fn two_customers_with_points(s: &App) -> (CustomerId, CustomerId, Transaction) {
    let (b, _, p) = seed_reference(&*s.store);
    s.set_earning_rule(&shekel_rule(), &actor()).unwrap();
    let c = customer(1, "M1", "Dana");
    let d = customer(2, "M2", "Dana C");
    s.insert_customer(&c, &actor()).unwrap();
    s.insert_customer(&d, &actor()).unwrap();
    s.record_sale(&sale(1, "T1", Some(c.id), b, p, "2025-03-01T10:00:00Z"), &actor())
        .unwrap();
    let t2 = sale(2, "T2", Some(d.id), b, p, "2025-03-02T10:00:00Z");
    s.record_sale(&t2, &actor()).unwrap();
    s.adjust_points(
        d.id,
        &request(26, None, Some("Dana asked on the phone 050-1234567")),
        &actor(),
    )
    .unwrap();
    (c.id, d.id, t2)
}

pub fn a_customer_with_points_cannot_be_deleted(s: &App) {
    let (_, d, _) = two_customers_with_points(s);
    assert!(matches!(
        s.delete_customer(d, &actor()),
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(assert_consistent(s, d), 200);
}

/// M2 merged into M1, then T2 (M2's sale) refunded in full, checking the balances on the way;
/// returns M1.
fn merged_and_refunded(s: &App) -> CustomerId {
    let (c, d, t2) = two_customers_with_points(s);
    let report = s.merge_customers(c, d, &actor()).unwrap();
    assert_eq!(report.points_moved, 200);
    assert_eq!(assert_consistent(s, c), 374);
    let entries = ledger(s, c);
    assert_eq!(entries.len(), 4);
    assert_eq!((entries[0].kind, entries[0].points), (EntryKind::Merge, 0));
    // A refund of the dropped customer's sale takes back from the kept one.
    let refund = Transaction {
        id: TransactionId(uid(6100)),
        external_id: "R2".into(),
        refund_of: Some(t2.id),
        customer_id: Some(c),
        lines: vec![Line {
            product_id: None,
            sku: None,
            quantity: -1,
            unit_price: 17480,
            discount: 0,
        }],
        ..t2
    };
    let rev = s.record_sale(&refund, &actor()).unwrap().points.unwrap();
    assert_eq!((rev.customer_id, rev.points), (c, -174));
    assert_eq!(assert_consistent(s, c), 200);
    c
}

pub fn merge_sums_the_balances_and_refunds_take_back_from_the_kept_customer(s: &App) {
    merged_and_refunded(s);
}

pub fn erasure_keeps_the_points_and_clears_the_reasons(s: &App) {
    let c = merged_and_refunded(s);
    s.adjust_points(c, &request(-50, None, Some("Dana's complaint of 3 March")), &actor())
        .unwrap();
    // Erasure keeps every amount and clears the reasons.
    s.erase_customer(c, &actor()).unwrap();
    let after = ledger(s, c);
    assert_eq!(after.len(), 6);
    assert!(after.iter().all(|e| e.reason.is_none()), "{after:#?}");
    assert_eq!(assert_consistent(s, c), 150);
    let audited: Vec<_> = s
        .store
        .audit_for_entity(&c.to_string())
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "points.adjust")
        .collect();
    assert!(!audited.is_empty());
    assert!(
        audited
            .iter()
            .all(|a| a.after.as_ref().is_some_and(|v| v["erased"] == true)),
        "{audited:#?}"
    );
}

pub fn the_bulk_award_earns_by_the_rule_once(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let c = customer(1, "M1", "Dana");
    let d = customer(2, "M2", "Noa");
    s.insert_customer(&c, &actor()).unwrap();
    s.insert_customer(&d, &actor()).unwrap();
    // History recorded before the program existed.
    let t1 = sale(1, "T1", Some(c.id), b, p, "2025-01-01T10:00:00Z");
    for t in [
        t1.clone(),
        sale(2, "T2", Some(c.id), b, p, "2025-02-01T10:00:00Z"),
        sale(3, "T3", Some(d.id), b, p, "2025-02-01T11:00:00Z"),
        sale(4, "T4", None, b, p, "2025-02-01T12:00:00Z"),
    ] {
        s.record_transaction(&t).unwrap();
    }
    let refund = Transaction {
        id: TransactionId(uid(6200)),
        external_id: "R1".into(),
        refund_of: Some(t1.id),
        lines: vec![Line {
            product_id: None,
            sku: None,
            quantity: -1,
            unit_price: 8740,
            discount: 0,
        }],
        ..t1.clone()
    };
    s.record_transaction(&refund).unwrap();
    assert_eq!(s.award_points(None, &actor()).unwrap(), AwardReport::default());
    s.set_earning_rule(&shekel_rule(), &actor()).unwrap();
    s.adjust_points(d.id, &request(10, None, Some("gift")), &actor())
        .unwrap();
    // Since February: T2 and T3 only; the refund's sale did not earn.
    let feb = s.award_points(Some(at("2025-02-01T00:00:00Z")), &actor()).unwrap();
    assert_eq!((feb.earned, feb.reversed, feb.points), (2, 0, 348));
    // Then everything: T1 earns 174 and its half refund takes back 87.
    let all = s.award_points(None, &actor()).unwrap();
    assert_eq!((all.earned, all.reversed, all.points), (1, 1, 174 - 87));
    assert_eq!(s.award_points(None, &actor()).unwrap(), AwardReport::default());
    assert_eq!(assert_consistent(s, c.id), 174 + 87);
    assert_eq!(assert_consistent(s, d.id), 184);
    // The same as the sale-by-sale path: each earn entry is what the rule gives the sale.
    for e in ledger(s, c.id).iter().filter(|e| e.kind == EntryKind::Earn) {
        assert_eq!(e.points, 174);
    }
}

pub fn an_import_awards_its_own_sales_only_when_asked(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let d = customer(2, "M2", "Noa");
    s.insert_customer(&d, &actor()).unwrap();
    s.set_earning_rule(&shekel_rule(), &actor()).unwrap();
    let mut imp = s.store.begin_import().unwrap();
    let t5 = sale(5, "T5", Some(d.id), b, p, "2025-03-01T10:00:00Z");
    let t6 = sale(6, "T6", Some(d.id), b, p, "2025-03-02T10:00:00Z");
    imp.insert_transaction(&t5).unwrap();
    imp.insert_transaction(&t6).unwrap();
    let r = crate::points::award(imp.as_mut(), SaleScope::Only(&[t5.id]), &actor()).unwrap();
    assert_eq!((r.earned, r.points), (1, 174));
    imp.commit().unwrap();
    assert_eq!(assert_consistent(s, d.id), 174);
    assert_eq!(ledger(s, d.id).len(), 1, "T6 earned nothing");
}

/// Threads per parallel check.
const THREADS: usize = 8;

/// The seeded reference data, the shekel rule and customer M1 (no points yet).
fn rule_and_customer(s: &App) -> (BranchId, ProductId, Customer) {
    let (b, _, p) = seed_reference(&*s.store);
    s.set_earning_rule(&shekel_rule(), &actor()).unwrap();
    let c = customer(1, "M1", "Dana");
    s.insert_customer(&c, &actor()).unwrap();
    (b, p, c)
}

/// Redemptions fired in parallel never take the balance below zero.
pub fn parallel_redemptions_never_overdraw(s: &App) {
    const EACH: usize = 20;
    const AMOUNT: i64 = 7;
    let (_, _, c) = rule_and_customer(s);
    // 500 points cover 71 redemptions of 7 out of 160.
    s.adjust_points(c.id, &request(500, None, Some("opening balance")), &actor())
        .unwrap();
    let results: Vec<Result<Recorded<LedgerEntry>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    (0..EACH)
                        .map(|i| s.redeem_points(c.id, &request(AMOUNT, Some(&format!("r-{t}-{i}")), None), &actor()))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        match r {
            Ok(e) => assert!(e.created && e.value.balance_after >= 0),
            Err(StoreError::Conflict { field: "points", .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(ok, (500 / AMOUNT) as usize);
    assert_eq!(assert_consistent(s, c.id), 500 % AMOUNT);
}

pub fn a_redemption_retried_in_parallel_lands_once(s: &App) {
    let (_, _, c) = rule_and_customer(s);
    s.adjust_points(c.id, &request(100, None, Some("top up")), &actor())
        .unwrap();
    let retried: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| scope.spawn(move || s.redeem_points(c.id, &request(30, Some("same"), None), &actor())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap().unwrap().created)
            .collect()
    });
    assert_eq!(retried.iter().filter(|c| **c).count(), 1);
    assert_eq!(assert_consistent(s, c.id), 70);
}

/// The same sale posted in parallel (a till retrying) is recorded and earns once.
pub fn a_sale_posted_in_parallel_earns_once(s: &App) {
    let (b, p, c) = rule_and_customer(s);
    let before = s.points_balance(c.id).unwrap();
    let t = sale(1, "T-par", Some(c.id), b, p, "2025-03-01T10:00:00Z");
    let created: Vec<(bool, Option<i64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|i| {
                let t = Transaction {
                    id: TransactionId(uid(8000 + i as u128)),
                    ..t.clone()
                };
                scope.spawn(move || {
                    let r = s.record_sale(&t, &actor()).unwrap();
                    (r.transaction.created, r.points.map(|e| e.seq))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(created.iter().filter(|c| c.0).count(), 1);
    // Every caller is told of the one entry.
    let seqs: std::collections::BTreeSet<_> = created.iter().map(|c| c.1).collect();
    assert_eq!(seqs.len(), 1);
    assert!(seqs.iter().all(Option::is_some));
    assert_eq!(s.store.counts().unwrap().transactions, 1);
    assert_eq!(assert_consistent(s, c.id), before + 174);
}

/// Sales and redemptions of one customer interleaved: the balance still adds up.
pub fn interleaved_sales_and_redemptions_keep_the_balance_equal_to_the_ledger(s: &App) {
    let (b, p, c) = rule_and_customer(s);
    std::thread::scope(|scope| {
        for t in 0..4u128 {
            scope.spawn(move || {
                for i in 0..5u128 {
                    let n = 100 + t * 10 + i;
                    s.record_sale(
                        &sale(n, &format!("T-{n}"), Some(c.id), b, p, "2025-03-02T10:00:00Z"),
                        &actor(),
                    )
                    .unwrap();
                    let _ = s.redeem_points(c.id, &request(100, Some(&format!("mix-{n}")), None), &actor());
                }
            });
        }
    });
    assert!(assert_consistent(s, c.id) >= 0);
}
