//! Contract checks of a loyalty program's storage: memberships and their history as written,
//! the facts a tier review and an accrual read, a ledger entry's breakdown, the listings, and
//! what merge, erasure, the export, deletion and `kesher copy` do with them.

use super::*;
use kesher_loyalty::{EntryKind, Member, MemberEvent, MemberEventKind, MemberStatus, Part, Posting};

/// Member of customer `c` with every optional field empty.
fn bare_member(c: CustomerId, enrolled: &str) -> Member {
    Member {
        customer_id: c,
        status: MemberStatus::Active,
        tier: None,
        tier_since: None,
        tier_review_at: None,
        enrolled_at: at(enrolled),
        branch_id: None,
        employee_id: None,
        quality: 0,
        quality_missing: Vec::new(),
        invited_by: None,
        fee_paid: 0,
        left_at: None,
    }
}

/// Member of customer `c` with every field set (`invited_by` the given customer).
fn full_member(c: CustomerId, b: BranchId, e: EmployeeId, inviter: CustomerId) -> Member {
    Member {
        customer_id: c,
        status: MemberStatus::Left,
        tier: Some("gold".into()),
        tier_since: Some(at("2025-01-02T03:04:05.678901Z")),
        tier_review_at: Some(at("2026-01-02T00:00:00Z")),
        enrolled_at: at("2024-12-01T09:30:00.000001Z"),
        branch_id: Some(b),
        employee_id: Some(e),
        quality: 100,
        quality_missing: vec!["phone".into(), "birth_date".into()],
        invited_by: Some(inviter),
        fee_paid: 2500,
        left_at: Some(at("2025-06-30T23:59:59Z")),
    }
}

fn event(c: CustomerId, kind: MemberEventKind, when: &str, detail: &str) -> MemberEvent {
    MemberEvent {
        seq: 0,
        customer_id: c,
        kind,
        at: at(when),
        branch_id: None,
        employee_id: None,
        actor: "user:noa".into(),
        detail: detail.into(),
    }
}

fn put(s: &App, m: &Member) {
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    tx.put_loyalty_member(m).unwrap();
    tx.commit().unwrap();
}

fn member_of(s: &App, c: CustomerId) -> Option<Member> {
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    tx.loyalty_member(c).unwrap()
}

fn append(s: &App, events: &[MemberEvent]) -> Vec<MemberEvent> {
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    let out = events.iter().map(|e| tx.insert_member_event(e).unwrap()).collect();
    tx.commit().unwrap();
    out
}

/// Customers M1..=Mn inserted.
fn customers(s: &App, n: u128) -> Vec<CustomerId> {
    (1..=n)
        .map(|i| {
            let c = customer(i, &format!("M{i}"), &format!("Member {i}"));
            s.insert_customer(&c, &actor()).unwrap();
            c.id
        })
        .collect()
}

pub fn a_membership_reads_back_as_written(s: &App) {
    let (b, e, _) = seed_reference(&*s.store);
    let ids = customers(s, 2);
    assert_eq!(member_of(s, ids[0]), None);
    // Every field set, then every optional one empty, then set again: each write replaces the row.
    let full = full_member(ids[0], b, e, ids[1]);
    put(s, &full);
    assert_eq!(member_of(s, ids[0]), Some(full.clone()));
    assert_eq!(
        s.store.loyalty_members(None, None, None, 10).unwrap(),
        vec![full.clone()]
    );
    let bare = bare_member(ids[0], "2025-07-01T00:00:00Z");
    put(s, &bare);
    assert_eq!(member_of(s, ids[0]), Some(bare.clone()));
    assert_eq!(s.store.loyalty_members(None, None, None, 10).unwrap(), vec![bare]);
    put(s, &full);
    assert_eq!(member_of(s, ids[0]), Some(full));
    // A write is the unit's until it commits.
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    tx.put_loyalty_member(&bare_member(ids[1], "2025-07-01T00:00:00Z"))
        .unwrap();
    assert!(tx.loyalty_member(ids[1]).unwrap().is_some());
    drop(tx);
    assert_eq!(member_of(s, ids[1]), None);
    // A membership is an existing customer's.
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    assert!(
        tx.put_loyalty_member(&bare_member(CustomerId(uid(4242)), "2025-07-01T00:00:00Z"))
            .is_err()
    );
}

pub fn membership_events_are_numbered_in_order(s: &App) {
    let (b, e, _) = seed_reference(&*s.store);
    let ids = customers(s, 2);
    put(s, &bare_member(ids[0], "2025-01-01T00:00:00Z"));
    let mut enrol = event(
        ids[0],
        MemberEventKind::Enrol,
        "2025-01-01T00:00:00Z",
        r#"{"quality":80}"#,
    );
    enrol.branch_id = Some(b);
    enrol.employee_id = Some(e);
    let written = append(
        s,
        &[
            enrol,
            event(
                ids[0],
                MemberEventKind::TierUp,
                "2025-02-01T00:00:00Z",
                r#"{"from":null,"to":"gold"}"#,
            ),
            event(ids[1], MemberEventKind::Enrol, "2025-02-02T00:00:00Z", "{}"),
            event(
                ids[0],
                MemberEventKind::TierDown,
                "2025-03-01T00:00:00Z",
                r#"{"from":"gold","to":"silver"}"#,
            ),
            event(
                ids[0],
                MemberEventKind::Leave,
                "2025-04-01T00:00:00Z",
                r#"{"reason":"moved away"}"#,
            ),
            event(ids[0], MemberEventKind::Rejoin, "2025-05-01T00:00:00Z", "{}"),
        ],
    );
    assert!(written.windows(2).all(|w| w[0].seq < w[1].seq), "{written:#?}");
    assert!(written[0].seq > 0);
    let mine: Vec<MemberEvent> = written.iter().filter(|w| w.customer_id == ids[0]).cloned().collect();
    assert_eq!(s.store.member_events(ids[0]).unwrap(), mine);
    assert_eq!(s.store.member_events(ids[1]).unwrap(), vec![written[2].clone()]);
    assert_eq!(s.store.member_events(CustomerId(uid(4242))).unwrap(), vec![]);
    // Each comes back exactly as written, but for its number.
    assert_eq!(
        MemberEvent {
            seq: 0,
            ..mine[0].clone()
        },
        {
            let mut x = event(
                ids[0],
                MemberEventKind::Enrol,
                "2025-01-01T00:00:00Z",
                r#"{"quality":80}"#,
            );
            x.branch_id = Some(b);
            x.employee_id = Some(e);
            x
        }
    );
    // Numbers go on after a unit that wrote one and was dropped.
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    tx.insert_member_event(&event(ids[1], MemberEventKind::Leave, "2025-06-01T00:00:00Z", "{}"))
        .unwrap();
    drop(tx);
    let next = append(
        s,
        &[event(ids[1], MemberEventKind::Leave, "2025-06-01T00:00:00Z", "{}")],
    );
    assert!(next[0].seq > written[5].seq);
    assert_eq!(s.store.member_events(ids[1]).unwrap().len(), 2);
}

fn entry(c: CustomerId, kind: EntryKind, points: i64, who: &Actor) -> NewLedgerEntry<'_> {
    NewLedgerEntry {
        customer: c,
        posting: Posting {
            kind,
            points,
            balance_after: 0,
        },
        reason: Some("test"),
        idempotency_key: None,
        transaction: None,
        branch: None,
        actor: who,
        breakdown: Vec::new(),
        available_at: None,
    }
}

pub fn customer_activity_sums_the_window(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let ids = customers(s, 2);
    let (c, other) = (ids[0], ids[1]);
    let (since, until) = (at("2025-03-01T00:00:00Z"), at("2025-04-01T00:00:00Z"));
    // 2 × 89.90 − 10.00 + 5.00 = 174.80 a sale.
    let total = 17_480;
    let sales = [
        sale(1, "T1", Some(c), b, p, "2025-03-01T00:00:00Z"), // at `since`: in
        sale(2, "T2", Some(c), b, p, "2025-03-15T10:00:00Z"), // in
        sale(3, "T3", Some(c), b, p, "2025-02-28T23:59:59.999999Z"), // before: out
        sale(4, "T4", Some(c), b, p, "2025-04-01T00:00:00Z"), // at `until`: out
        sale(5, "T5", Some(other), b, p, "2025-03-10T00:00:00Z"), // another customer
        sale(6, "T6", None, b, p, "2025-03-10T00:00:00Z"),    // anonymous
        Transaction {
            currency: Currency::parse("USD").unwrap(),
            ..sale(7, "T7", Some(c), b, p, "2025-03-20T00:00:00Z") // another currency
        },
    ];
    for t in &sales {
        s.record_transaction(t).unwrap();
    }
    // A refund of one unit of T1 inside the window, one of T2 after it.
    let refund = |n: u128, ext: &str, of: &Transaction, when: &str| Transaction {
        id: TransactionId(uid(6000 + n)),
        external_id: ext.into(),
        refund_of: Some(of.id),
        occurred_at: at(when),
        lines: vec![Line {
            product_id: Some(p),
            sku: Some("P1".into()),
            quantity: -1,
            unit_price: 8990,
            discount: 0,
        }],
        ..of.clone()
    };
    s.record_transaction(&refund(1, "R1", &sales[0], "2025-03-31T23:59:59.999999Z"))
        .unwrap();
    s.record_transaction(&refund(2, "R2", &sales[1], "2025-04-02T00:00:00Z"))
        .unwrap();
    // Ledger entries: earn and reverse count, others do not; the window's edges as for sales.
    let plan = [
        (c, EntryKind::Earn, 100, "2025-03-01T00:00:00Z"),
        (c, EntryKind::Reverse, -30, "2025-03-20T00:00:00Z"),
        (c, EntryKind::Earn, 7, "2025-03-31T23:59:59.999999Z"),
        (c, EntryKind::Redeem, -50, "2025-03-05T00:00:00Z"),
        (c, EntryKind::Adjust, 20, "2025-03-06T00:00:00Z"),
        (c, EntryKind::Earn, 1000, "2025-02-28T23:59:59.999999Z"),
        (c, EntryKind::Earn, 2000, "2025-04-01T00:00:00Z"),
        (other, EntryKind::Earn, 3000, "2025-03-10T00:00:00Z"),
    ];
    let actors: Vec<Actor> = plan.iter().map(|p| Actor::new("test", at(p.3))).collect();
    let entries: Vec<NewLedgerEntry<'_>> = plan
        .iter()
        .zip(&actors)
        .map(|(p, who)| entry(p.0, p.1, p.2, who))
        .collect();
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    tx.insert_points_entries(&entries).unwrap();
    let a = tx.customer_activity(c, ils(), since, until).unwrap();
    assert_eq!(
        a,
        Activity {
            spend: 2 * total - 8990,
            visits: 2,
            points: 77
        }
    );
    let usd = tx
        .customer_activity(c, Currency::parse("USD").unwrap(), since, until)
        .unwrap();
    assert_eq!(
        usd,
        Activity {
            spend: total,
            visits: 1,
            points: 77
        }
    );
    let none = tx
        .customer_activity(c, ils(), at("2020-01-01T00:00:00Z"), at("2020-02-01T00:00:00Z"))
        .unwrap();
    assert_eq!(none, Activity::default());
    // The whole history: every sale of the currency and every earn and reverse entry.
    let all = tx
        .customer_activity(c, ils(), at("2020-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z"))
        .unwrap();
    assert_eq!(
        all,
        Activity {
            spend: 4 * total - 2 * 8990,
            visits: 4,
            points: 3077
        }
    );
}

pub fn product_facts_name_the_known_products(s: &App) {
    let (_, _, p1) = seed_reference(&*s.store);
    let p2 = Product {
        id: ProductId(uid(4)),
        sku: "P2".into(),
        name: "Cup".into(),
        category: None,
        list_price: Money::new(1000, ils()),
        unit_cost: None,
    };
    s.store.insert_product(&p2).unwrap();
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    let mut facts = tx.product_facts(&[p2.id, ProductId(uid(4242)), p1]).unwrap();
    facts.sort_by_key(|f| f.id);
    assert_eq!(
        facts,
        vec![
            ProductFacts {
                id: p1,
                sku: "P1".into(),
                category: Some("Coffee".into())
            },
            ProductFacts {
                id: p2.id,
                sku: "P2".into(),
                category: None
            },
        ]
    );
    assert_eq!(tx.product_facts(&[]).unwrap(), vec![]);
    assert_eq!(tx.product_facts(&[ProductId(uid(4242))]).unwrap(), vec![]);
}

pub fn ledger_entries_keep_their_breakdown(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let ids = customers(s, 2);
    let t = sale(1, "T1", Some(ids[0]), b, p, "2025-03-01T10:00:00Z");
    s.record_transaction(&t).unwrap();
    let parts = vec![
        Part {
            rule: "base".into(),
            points: 174,
        },
        Part {
            rule: "category:Coffee".into(),
            points: 26,
        },
        Part {
            rule: "bonus:birthday".into(),
            points: 0,
        },
    ];
    let who = actor();
    let mut tx = s.store.begin(Lock::Customers(&ids)).unwrap();
    // One entry with a breakdown, one without.
    let earned = tx
        .insert_points_entry(&NewLedgerEntry {
            customer: ids[0],
            posting: Posting {
                kind: EntryKind::Earn,
                points: 200,
                balance_after: 200,
            },
            reason: None,
            idempotency_key: None,
            transaction: Some(t.id),
            branch: Some(b),
            actor: &who,
            breakdown: parts.clone(),
            available_at: None,
        })
        .unwrap();
    assert_eq!(earned.breakdown, parts);
    let plain = tx
        .insert_points_entry(&NewLedgerEntry {
            customer: ids[0],
            posting: Posting {
                kind: EntryKind::Adjust,
                points: 5,
                balance_after: 205,
            },
            reason: Some("goodwill"),
            idempotency_key: Some("k1"),
            transaction: None,
            branch: None,
            actor: &who,
            breakdown: Vec::new(),
            available_at: None,
        })
        .unwrap();
    assert_eq!(tx.points_entry_for_transaction(t.id).unwrap(), Some(earned.clone()));
    assert_eq!(tx.points_entry_by_key(ids[0], "k1").unwrap(), Some(plain.clone()));
    // In bulk: breakdowns kept entry by entry.
    let bulk: Vec<NewLedgerEntry<'_>> = [(10, parts[..1].to_vec()), (20, Vec::new()), (30, parts.clone())]
        .into_iter()
        .scan(0, |balance, (points, breakdown)| {
            *balance += points;
            Some(NewLedgerEntry {
                customer: ids[1],
                posting: Posting {
                    kind: EntryKind::Earn,
                    points,
                    balance_after: *balance,
                },
                reason: None,
                idempotency_key: None,
                transaction: None,
                branch: None,
                actor: &who,
                breakdown,
                available_at: None,
            })
        })
        .collect();
    tx.insert_points_entries(&bulk).unwrap();
    tx.commit().unwrap();
    let ledger = |c: CustomerId| {
        let mut l = all_pages(|o| s.points_ledger(c, 2, o)).unwrap();
        l.reverse();
        l
    };
    assert_eq!(ledger(ids[0]), vec![earned, plain]);
    let stored: Vec<(i64, Vec<Part>)> = ledger(ids[1]).into_iter().map(|e| (e.points, e.breakdown)).collect();
    assert_eq!(
        stored,
        vec![(10, parts[..1].to_vec()), (20, Vec::new()), (30, parts.clone())]
    );
}

pub fn members_are_listed_by_status_and_tier_in_pages(s: &App) {
    let ids = customers(s, 7);
    let tiers = [
        Some("gold"),
        None,
        Some("silver"),
        Some("gold"),
        Some("gold"),
        None,
        Some("silver"),
    ];
    let mut all = Vec::new();
    for (n, (c, tier)) in ids.iter().zip(tiers).enumerate() {
        let mut m = bare_member(*c, "2025-01-01T00:00:00Z");
        m.tier = tier.map(str::to_string);
        if n % 3 == 2 {
            m.status = MemberStatus::Left;
            m.left_at = Some(at("2025-02-01T00:00:00Z"));
        }
        put(s, &m);
        all.push(m);
    }
    all.sort_by_key(|m| m.customer_id);
    let pages = |status: Option<MemberStatus>, tier: Option<&str>, size: usize| {
        let mut out: Vec<Member> = Vec::new();
        loop {
            let page = s
                .store
                .loyalty_members(status, tier, out.last().map(|m| m.customer_id), size)
                .unwrap();
            assert!(page.len() <= size);
            let done = page.len() < size;
            out.extend(page);
            if done {
                return out;
            }
        }
    };
    for size in [1, 2, 3, 100] {
        assert_eq!(pages(None, None, size), all, "pages of {size}");
        for status in [MemberStatus::Active, MemberStatus::Left] {
            for tier in ["gold", "silver", "bronze"] {
                let want: Vec<Member> = all
                    .iter()
                    .filter(|m| m.status == status && m.tier.as_deref() == Some(tier))
                    .cloned()
                    .collect();
                assert_eq!(
                    pages(Some(status), Some(tier), size),
                    want,
                    "{status:?} {tier} by {size}"
                );
            }
            let want: Vec<Member> = all.iter().filter(|m| m.status == status).cloned().collect();
            assert_eq!(pages(Some(status), None, size), want);
        }
        let gold: Vec<Member> = all
            .iter()
            .filter(|m| m.tier.as_deref() == Some("gold"))
            .cloned()
            .collect();
        assert_eq!(pages(None, Some("gold"), size), gold);
    }
    assert_eq!(s.store.loyalty_members(None, None, None, 0).unwrap(), vec![]);
    assert_eq!(
        s.store
            .loyalty_members(None, None, Some(all[all.len() - 1].customer_id), 10)
            .unwrap(),
        vec![]
    );
}

pub fn members_due_for_review_are_active_ones_longest_due_first(s: &App) {
    let ids = customers(s, 6);
    let now = at("2025-06-01T00:00:00Z");
    let reviews = [
        Some("2025-05-01T00:00:00Z"),        // due
        Some("2025-06-01T00:00:00Z"),        // due: at now
        Some("2025-06-01T00:00:00.000001Z"), // not yet
        None,                                // never reviewed
        Some("2025-01-01T00:00:00Z"),        // due, but left the program
        Some("2025-05-01T00:00:00Z"),        // due, tie with the first: by customer id
    ];
    for (n, (c, review)) in ids.iter().zip(reviews).enumerate() {
        let mut m = bare_member(*c, "2024-01-01T00:00:00Z");
        m.tier = Some("gold".into());
        m.tier_review_at = review.map(at);
        if n == 4 {
            m.status = MemberStatus::Left;
        }
        put(s, &m);
    }
    let due: Vec<CustomerId> = s
        .store
        .members_due_for_review(now, 10)
        .unwrap()
        .into_iter()
        .map(|m| m.customer_id)
        .collect();
    assert_eq!(due, vec![ids[0], ids[5], ids[1]]);
    let first: Vec<CustomerId> = s
        .store
        .members_due_for_review(now, 2)
        .unwrap()
        .into_iter()
        .map(|m| m.customer_id)
        .collect();
    assert_eq!(first, vec![ids[0], ids[5]]);
    assert_eq!(
        s.store.members_due_for_review(at("2024-01-01T00:00:00Z"), 10).unwrap(),
        vec![]
    );
}

pub fn merge_moves_the_membership_to_a_kept_customer_without_one(s: &App) {
    let (b, e, _) = seed_reference(&*s.store);
    let ids = customers(s, 4);
    let (keep, drop, invited, inviter) = (ids[0], ids[1], ids[2], ids[3]);
    let mut dropped = full_member(drop, b, e, inviter);
    dropped.status = MemberStatus::Active;
    put(s, &dropped);
    let mut friend = bare_member(invited, "2025-02-01T00:00:00Z");
    friend.invited_by = Some(drop);
    put(s, &friend);
    let events = append(
        s,
        &[
            event(drop, MemberEventKind::Enrol, "2024-12-01T09:30:00Z", "{}"),
            event(invited, MemberEventKind::Enrol, "2025-02-01T00:00:00Z", "{}"),
            event(
                drop,
                MemberEventKind::TierUp,
                "2025-01-02T03:04:05Z",
                r#"{"to":"gold"}"#,
            ),
        ],
    );
    s.merge_customers(keep, drop, &actor()).unwrap();
    // The dropped customer's row is now the kept one's, every field as it was.
    assert_eq!(
        member_of(s, keep),
        Some(Member {
            customer_id: keep,
            ..dropped
        })
    );
    assert_eq!(member_of(s, drop), None);
    // Whom the dropped customer invited, the kept one did.
    assert_eq!(member_of(s, invited).unwrap().invited_by, Some(keep));
    let moved: Vec<MemberEvent> = [&events[0], &events[2]]
        .into_iter()
        .map(|e| MemberEvent {
            customer_id: keep,
            ..e.clone()
        })
        .collect();
    assert_eq!(s.store.member_events(keep).unwrap(), moved);
    assert_eq!(s.store.member_events(drop).unwrap(), vec![]);
    assert_eq!(s.store.member_events(invited).unwrap(), vec![events[1].clone()]);
    let listed: Vec<CustomerId> = s
        .store
        .loyalty_members(None, None, None, 10)
        .unwrap()
        .into_iter()
        .map(|m| m.customer_id)
        .collect();
    assert_eq!(listed.len(), 2);
    assert!(listed.contains(&keep) && listed.contains(&invited));
}

pub fn merge_keeps_the_kept_customers_membership(s: &App) {
    let (b, e, _) = seed_reference(&*s.store);
    let ids = customers(s, 3);
    let (keep, drop, other) = (ids[0], ids[1], ids[2]);
    // The kept member was invited by the dropped one: after the merge, by no one.
    let mut kept = full_member(keep, b, e, drop);
    kept.status = MemberStatus::Active;
    put(s, &kept);
    put(s, &full_member(drop, b, e, other));
    let events = append(
        s,
        &[
            event(keep, MemberEventKind::Enrol, "2024-01-01T00:00:00Z", "{}"),
            event(drop, MemberEventKind::Enrol, "2024-02-01T00:00:00Z", "{}"),
            event(
                drop,
                MemberEventKind::Leave,
                "2024-03-01T00:00:00Z",
                r#"{"reason":"duplicate"}"#,
            ),
            event(keep, MemberEventKind::TierUp, "2024-04-01T00:00:00Z", "{}"),
        ],
    );
    s.merge_customers(keep, drop, &actor()).unwrap();
    assert_eq!(
        member_of(s, keep),
        Some(Member {
            invited_by: None,
            ..kept
        })
    );
    assert_eq!(member_of(s, drop), None);
    // Both histories under the kept customer, in the order they were written.
    let merged: Vec<MemberEvent> = events
        .iter()
        .map(|e| MemberEvent {
            customer_id: keep,
            ..e.clone()
        })
        .collect();
    assert_eq!(s.store.member_events(keep).unwrap(), merged);
    assert_eq!(s.store.loyalty_members(None, None, None, 10).unwrap().len(), 1);
}

pub fn erasure_keeps_the_membership_and_redacts_its_history(s: &App) {
    let (b, e, _) = seed_reference(&*s.store);
    let ids = customers(s, 2);
    let m = full_member(ids[0], b, e, ids[1]);
    put(s, &m);
    let events = append(
        s,
        &[
            event(
                ids[0],
                MemberEventKind::Enrol,
                "2024-12-01T09:30:00Z",
                r#"{"note":"Dana, 050-1234567"}"#,
            ),
            event(
                ids[0],
                MemberEventKind::Leave,
                "2025-06-30T23:59:59Z",
                r#"{"reason":"moved to Haifa"}"#,
            ),
            event(
                ids[1],
                MemberEventKind::Enrol,
                "2025-01-01T00:00:00Z",
                r#"{"note":"kept"}"#,
            ),
        ],
    );
    s.erase_customer(ids[0], &actor()).unwrap();
    assert_eq!(member_of(s, ids[0]), Some(m));
    let redacted: Vec<MemberEvent> = events[..2]
        .iter()
        .map(|e| MemberEvent {
            detail: ERASED_MARKER.into(),
            ..e.clone()
        })
        .collect();
    assert_eq!(s.store.member_events(ids[0]).unwrap(), redacted);
    assert_eq!(s.store.member_events(ids[1]).unwrap(), vec![events[2].clone()]);
    // Erasing again changes nothing.
    s.erase_customer(ids[0], &actor()).unwrap();
    assert_eq!(s.store.member_events(ids[0]).unwrap(), redacted);
}

pub fn the_export_holds_the_membership_its_history_and_breakdowns(s: &App) {
    let (b, e, p) = seed_reference(&*s.store);
    let ids = customers(s, 2);
    let m = full_member(ids[0], b, e, ids[1]);
    put(s, &m);
    let events = append(
        s,
        &[
            event(
                ids[0],
                MemberEventKind::Enrol,
                "2024-12-01T09:30:00Z",
                r#"{"quality":100}"#,
            ),
            event(ids[1], MemberEventKind::Enrol, "2024-12-02T09:30:00Z", "{}"),
            event(
                ids[0],
                MemberEventKind::TierUp,
                "2025-01-02T03:04:05Z",
                r#"{"to":"gold"}"#,
            ),
        ],
    );
    let t = sale(1, "T1", Some(ids[0]), b, p, "2025-03-01T10:00:00Z");
    s.record_transaction(&t).unwrap();
    let who = actor();
    let mut tx = s.store.begin(Lock::Customers(&ids[..1])).unwrap();
    tx.insert_points_entry(&NewLedgerEntry {
        customer: ids[0],
        posting: Posting {
            kind: EntryKind::Earn,
            points: 180,
            balance_after: 180,
        },
        reason: None,
        idempotency_key: None,
        transaction: Some(t.id),
        branch: Some(b),
        actor: &who,
        breakdown: vec![
            Part {
                rule: "base".into(),
                points: 174,
            },
            Part {
                rule: "tier:gold".into(),
                points: 6,
            },
        ],
        available_at: None,
    })
    .unwrap();
    tx.commit().unwrap();
    let doc = s.export_customer(ids[0], &actor()).unwrap();
    let loyalty = &doc["loyalty"];
    assert_eq!(loyalty["member"]["status"], "left", "{doc}");
    assert_eq!(loyalty["member"]["tier"], "gold");
    assert_eq!(loyalty["member"]["invited_by"], ids[1].to_string());
    assert_eq!(
        loyalty["member"]["quality_missing"],
        serde_json::json!(["phone", "birth_date"])
    );
    assert_eq!(loyalty["member"]["fee_paid_minor"], 2500);
    let exported: Vec<(i64, String)> = loyalty["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["seq"].as_i64().unwrap(), e["kind"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        exported,
        vec![(events[0].seq, "enrol".into()), (events[2].seq, "tier_up".into())]
    );
    assert_eq!(loyalty["events"][1]["detail"]["to"], "gold");
    assert_eq!(
        doc["points"]["ledger"][0]["breakdown"],
        serde_json::json!([{"rule": "base", "points": 174}, {"rule": "tier:gold", "points": 6}])
    );
    // A customer who never joined has none.
    s.insert_customer(&customer(9, "M9", "Never"), &actor()).unwrap();
    let never = s.export_customer(CustomerId(uid(1009)), &actor()).unwrap();
    assert!(never["loyalty"].is_null(), "{never}");
}

pub fn a_member_or_an_inviter_cannot_be_deleted(s: &App) {
    let ids = customers(s, 3);
    let mut m = bare_member(ids[0], "2025-01-01T00:00:00Z");
    m.invited_by = Some(ids[1]);
    put(s, &m);
    for c in [ids[0], ids[1]] {
        match s.delete_customer(c, &actor()) {
            Err(e @ StoreError::Conflict { .. }) => assert_eq!(e.code(), "customer.delete.is_member"),
            other => panic!("{other:?}"),
        }
        assert!(s.store.get_customer(c).unwrap().is_some());
    }
    // A member who left is still one: the row stays.
    put(
        s,
        &Member {
            status: MemberStatus::Left,
            left_at: Some(at("2025-02-01T00:00:00Z")),
            invited_by: None,
            ..m
        },
    );
    assert!(s.delete_customer(ids[0], &actor()).is_err());
    // The others go as before.
    s.delete_customer(ids[1], &actor()).unwrap();
    s.delete_customer(ids[2], &actor()).unwrap();
}

/// Members, their history and breakdowns on one store; every table copied with `kesher copy`'s
/// bulk paths into a fresh one, where the rows, their checksums and the reads are the same, and
/// numbering goes on after the copied rows.
pub fn a_copy_keeps_memberships_history_and_breakdowns(s: &App, target: &App) {
    let (b, e, _) = seed_reference(&*s.store);
    let ids = customers(s, 3);
    put(s, &full_member(ids[0], b, e, ids[1]));
    put(s, &bare_member(ids[1], "2025-01-01T00:00:00Z"));
    append(
        s,
        &[
            event(
                ids[0],
                MemberEventKind::Enrol,
                "2024-12-01T09:30:00Z",
                r#"{"b":1,"a":[2,"x"]}"#,
            ),
            event(ids[1], MemberEventKind::Enrol, "2025-01-01T00:00:00Z", "{}"),
            event(
                ids[0],
                MemberEventKind::Leave,
                "2025-06-30T23:59:59Z",
                r#"{"reason":"moved"}"#,
            ),
        ],
    );
    let who = actor();
    let mut tx = s.store.begin(Lock::Customers(&ids[..1])).unwrap();
    tx.insert_points_entry(&NewLedgerEntry {
        customer: ids[0],
        posting: Posting {
            kind: EntryKind::Adjust,
            points: 12,
            balance_after: 12,
        },
        reason: Some("welcome"),
        idempotency_key: None,
        transaction: None,
        branch: None,
        actor: &who,
        breakdown: vec![Part {
            rule: "bonus:first_purchase".into(),
            points: 12,
        }],
        available_at: None,
    })
    .unwrap();
    tx.commit().unwrap();

    let mut w = target.store.begin_bulk_write().unwrap();
    for t in bulk::TABLES {
        let mut rows: Vec<Vec<bulk::Value>> = Vec::new();
        s.store.bulk_read(t, &mut |r| rows.push(r.to_vec())).unwrap();
        w.write_table(t, &mut rows.into_iter()).unwrap();
    }
    w.commit().unwrap();
    let sum = |a: &App, t: &'static bulk::TableSpec| {
        let mut sum = bulk::TableSum::default();
        a.store.bulk_read(t, &mut |r| sum.add(r)).unwrap();
        sum
    };
    for t in bulk::TABLES {
        assert_eq!(sum(s, t), sum(target, t), "{}", t.name);
    }
    for name in ["loyalty_members", "loyalty_member_events"] {
        let t = bulk::table(name).unwrap();
        assert!(sum(s, t).rows >= 2, "{name}");
    }
    assert_eq!(
        target.store.loyalty_members(None, None, None, 10).unwrap(),
        s.store.loyalty_members(None, None, None, 10).unwrap()
    );
    for c in &ids {
        assert_eq!(
            target.store.member_events(*c).unwrap(),
            s.store.member_events(*c).unwrap()
        );
        assert_eq!(
            target.store.points_ledger(*c, 10, 0).unwrap(),
            s.store.points_ledger(*c, 10, 0).unwrap()
        );
    }
    // The copy numbers new events after the copied ones.
    let last = s.store.member_events(ids[0]).unwrap().last().unwrap().seq;
    let next = append(
        target,
        &[event(ids[2], MemberEventKind::Enrol, "2025-07-01T00:00:00Z", "{}")],
    );
    assert!(next[0].seq > last, "{} after {last}", next[0].seq);
}

/// Expiry by lot on the backend: the whole ledger in order, the customers whose oldest lots may
/// be due (positive balance, an entry that added points at or before the cutoff), an `expire`
/// entry accepted and a second run writing nothing.
pub fn old_lots_are_found_and_expire_once(s: &App) {
    seed_reference(&*s.store);
    let ids = customers(s, 3);
    s.set_loyalty_program(
        r#"{"name": "Club", "currency": "ILS", "expiry": {"lifetime_days": 365}}"#,
        &actor(),
    )
    .unwrap();
    let adjust = |c: CustomerId, points: i64, when: &str| {
        let req = kesher_store::PointsRequest {
            points,
            reason: Some("test".into()),
            idempotency_key: None,
            branch_id: None,
        };
        s.adjust_points(c, &req, &Actor::new("test", at(when))).unwrap();
    };
    // Customer 1: 100 in January, 40 taken in March, 30 in August. Customer 2: a lot in July
    // only. Customer 3: a January lot spent whole (nothing left to expire).
    adjust(ids[0], 100, "2025-01-15T10:00:00Z");
    adjust(ids[0], -40, "2025-03-01T10:00:00Z");
    adjust(ids[0], 30, "2025-08-01T10:00:00Z");
    adjust(ids[1], 20, "2025-07-01T10:00:00Z");
    adjust(ids[2], 10, "2025-01-20T10:00:00Z");
    adjust(ids[2], -10, "2025-01-21T10:00:00Z");
    let ledger = s.store.points_entries(ids[0]).unwrap();
    assert_eq!(ledger.iter().map(|e| e.points).collect::<Vec<_>>(), [100, -40, 30]);
    assert!(ledger.windows(2).all(|w| w[0].seq < w[1].seq));
    let cutoff = at("2025-02-01T00:00:00Z");
    assert_eq!(
        s.store.customers_with_lots_before(cutoff, None, 10).unwrap(),
        vec![ids[0]]
    );
    assert_eq!(
        s.store.customers_with_lots_before(cutoff, Some(ids[0]), 10).unwrap(),
        vec![]
    );
    let mut all = s
        .store
        .customers_with_lots_before(at("2025-07-01T10:00:00Z"), None, 10)
        .unwrap();
    all.sort();
    let mut want = vec![ids[0], ids[1]];
    want.sort();
    assert_eq!(all, want);
    assert_eq!(s.store.customers_with_lots_before(cutoff, None, 0).unwrap(), vec![]);
    // A year after the first lot: its 60 points left expire, once.
    let as_of = at("2026-01-15T10:00:00Z");
    let r = s.expire_points(as_of, &actor()).unwrap();
    assert_eq!((r.customers, r.points), (1, 60));
    assert_eq!(s.expire_points(as_of, &actor()).unwrap().points, 0);
    let ledger = s.store.points_entries(ids[0]).unwrap();
    let last = ledger.last().unwrap();
    assert_eq!(
        (last.kind, last.points, last.balance_after),
        (EntryKind::Expire, -60, 30)
    );
    assert_eq!(s.store.points_balance(ids[0]).unwrap(), 30);
    assert_eq!(s.store.points_entries(ids[1]).unwrap().len(), 1);
}

/// Pending points on the backend: `available_at` written and read back (single entries), and the
/// pending sum of a customer's entries not yet available, before and at the instant.
pub fn pending_entries_read_back_and_sum_until_available(s: &App) {
    seed_reference(&*s.store);
    let ids = customers(s, 2);
    let who = actor();
    let until = at("2025-03-15T10:00:00.000001Z");
    let mut tx = s.store.begin(Lock::Customers(&ids)).unwrap();
    let mut balance = 0;
    for (points, available_at) in [(100, Some(until)), (-40, Some(until)), (25, None)] {
        balance += points;
        tx.insert_points_entry(&NewLedgerEntry {
            customer: ids[0],
            posting: Posting {
                kind: if points > 0 {
                    EntryKind::Earn
                } else {
                    EntryKind::Reverse
                },
                points,
                balance_after: balance,
            },
            reason: None,
            idempotency_key: None,
            transaction: None,
            branch: None,
            actor: &who,
            breakdown: Vec::new(),
            available_at,
        })
        .unwrap();
    }
    assert_eq!(tx.points_pending(ids[0], at("2025-03-01T00:00:00Z")).unwrap(), 60);
    assert_eq!(tx.points_pending(ids[0], until).unwrap(), 0);
    assert_eq!(tx.points_pending(ids[1], at("2025-03-01T00:00:00Z")).unwrap(), 0);
    tx.commit().unwrap();
    let entries = s.store.points_entries(ids[0]).unwrap();
    let got: Vec<Option<jiff::Timestamp>> = entries.iter().map(|e| e.available_at).collect();
    assert_eq!(got, [Some(until), Some(until), None]);
    assert_eq!(s.store.points_balance(ids[0]).unwrap(), 85);
}

/// The program's KPIs read every membership event before an instant, and the ledger entries and
/// sales (identified, anonymous, refunds) of a half-open window.
pub fn the_kpis_read_events_ledger_and_sales_over_a_window(s: &App) {
    let (b, _, p) = seed_reference(&*s.store);
    let ids = customers(s, 2);
    let written = append(
        s,
        &[
            event(ids[0], MemberEventKind::Enrol, "2025-01-01T00:00:00Z", "{}"),
            event(ids[1], MemberEventKind::Enrol, "2025-02-01T00:00:00Z", "{}"),
            event(ids[0], MemberEventKind::Leave, "2025-03-01T00:00:00Z", "{}"),
        ],
    );
    let before = s.store.member_events_before(at("2025-03-01T00:00:00Z")).unwrap();
    assert_eq!(before, written[..2].to_vec());
    assert_eq!(
        s.store.member_events_before(at("2030-01-01T00:00:00Z")).unwrap(),
        written
    );
    let (since, until) = (at("2025-03-01T00:00:00Z"), at("2025-04-01T00:00:00Z"));
    let first = sale(1, "T1", Some(ids[0]), b, p, "2025-03-01T00:00:00Z"); // at `since`: in
    let sales = [
        first.clone(),
        sale(2, "T2", None, b, p, "2025-03-15T10:00:00Z"), // anonymous: in
        sale(3, "T3", Some(ids[1]), b, p, "2025-02-28T23:59:59Z"), // before: out
        sale(4, "T4", Some(ids[1]), b, p, "2025-04-01T00:00:00Z"), // at `until`: out
    ];
    for t in &sales {
        s.record_transaction(t).unwrap();
    }
    let refund = Transaction {
        id: TransactionId(uid(7001)),
        external_id: "R1".into(),
        refund_of: Some(first.id),
        occurred_at: at("2025-03-20T00:00:00Z"),
        lines: vec![Line {
            product_id: None,
            sku: None,
            quantity: -1,
            unit_price: 500,
            discount: 0,
        }],
        ..first.clone()
    };
    s.record_transaction(&refund).unwrap();
    let mut read = Vec::new();
    s.store
        .for_each_sale_fact(since, until, &mut |f| {
            read.push(f.clone());
            Ok(())
        })
        .unwrap();
    read.sort_by_key(|f| f.occurred_at);
    let facts: Vec<(Option<CustomerId>, BranchId, i64, bool, &str)> = read
        .iter()
        .map(|f| (f.customer_id, f.branch_id, f.total, f.refund, f.currency.as_str()))
        .collect();
    assert_eq!(
        facts,
        [
            (Some(ids[0]), b, 17_480, false, "ILS"),
            (None, b, 17_480, false, "ILS"),
            (Some(ids[0]), b, -500, true, "ILS"),
        ]
    );
    assert_eq!(read[0].occurred_at, since);
    // An error from the callback stops the read and comes back.
    let mut calls = 0;
    let stopped = s.store.for_each_sale_fact(since, until, &mut |_| {
        calls += 1;
        Err(StoreError::Backend("stop".into()))
    });
    assert!(stopped.is_err());
    assert_eq!(calls, 1);
    // The ledger: entries at the window's edges.
    let adjust = |c: CustomerId, points: i64, when: &str| {
        let req = kesher_store::PointsRequest {
            points,
            reason: Some("test".into()),
            idempotency_key: None,
            branch_id: Some(b),
        };
        s.adjust_points(c, &req, &Actor::new("test", at(when))).unwrap();
    };
    adjust(ids[0], 10, "2025-02-28T23:59:59Z");
    adjust(ids[0], 20, "2025-03-01T00:00:00Z");
    adjust(ids[1], 30, "2025-03-31T23:59:59Z");
    adjust(ids[1], 40, "2025-04-01T00:00:00Z");
    let mut entries = Vec::new();
    s.store
        .for_each_ledger_entry(since, until, &mut |e| {
            entries.push((e.customer_id, e.kind, e.points, e.branch_id));
            Ok(())
        })
        .unwrap();
    assert_eq!(
        entries,
        [
            (ids[0], EntryKind::Adjust, 20, Some(b)),
            (ids[1], EntryKind::Adjust, 30, Some(b))
        ]
    );
}
