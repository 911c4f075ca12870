//! Contract checks of the benefits' storage: grants and surprise draws as written, the grants
//! due to expire and a surprise's past recipients, redemption of points for a benefit under
//! concurrency, and what merge, erasure and `kesher copy` do with them.

use super::*;
use crate::benefits::{GrantRequest, HonourRequest, RedeemBenefit};
use kesher_loyalty::benefits::{Grant, GrantSource, GrantState};

const PROGRAM: &str = r#"{"name": "Club", "currency": "ILS", "benefits": [
  {"key": "coffee", "name": "Free coffee", "kind": "hard", "value": {"type": "gift_product", "sku": "COFFEE"},
   "cost_points": 10, "valid_days": 30},
  {"key": "vip", "name": "Priority service", "kind": "soft", "valid_days": 365}]}"#;

fn customers(s: &App, n: u128) -> Vec<CustomerId> {
    (1..=n)
        .map(|i| {
            let c = customer(i, &format!("M{i}"), &format!("Member {i}"));
            s.insert_customer(&c, &actor()).unwrap();
            c.id
        })
        .collect()
}

fn bare_grant(id: u128, c: CustomerId, benefit: &str, granted: &str, until: &str) -> Grant {
    Grant {
        id: BenefitGrantId(uid(id)),
        customer_id: c,
        benefit: benefit.into(),
        state: GrantState::Available,
        granted_at: at(granted),
        available_until: at(until),
        granted_by: "user:noa".into(),
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

fn draw(id: u128, members: &[CustomerId]) -> SurpriseDraw {
    SurpriseDraw {
        id: SurpriseDrawId(uid(id)),
        benefit: "coffee".into(),
        seed: u64::MAX,
        parameters: r#"{"random":3,"budget":"30"}"#.into(),
        actor: "user:marketing".into(),
        at: at("2025-03-01T10:00:00.000001Z"),
        members: members.to_vec(),
    }
}

fn full_grant(id: u128, c: CustomerId, b: BranchId, d: SurpriseDrawId) -> Grant {
    Grant {
        state: GrantState::Used,
        source: GrantSource::Surprise,
        used_at: Some(at("2025-03-02T11:00:00.5Z")),
        honoured_by: Some("user:clerk".into()),
        honoured_branch: Some(b),
        honour_key: Some("h-1".into()),
        points_seq: Some(42),
        draw_id: Some(d),
        idempotency_key: Some("surprise:1".into()),
        ..bare_grant(id, c, "coffee", "2025-03-01T10:00:00.000001Z", "2025-03-31T10:00:00Z")
    }
}

fn write(s: &App, f: impl FnOnce(&mut dyn Tx)) {
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    f(tx.as_mut());
    tx.commit().unwrap();
}

fn grants_of(s: &App, c: CustomerId) -> Vec<Grant> {
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    tx.benefit_grants(c).unwrap()
}

pub fn grants_and_draws_read_back_as_written(s: &App) {
    let (b, _, _) = seed_reference(&*s.store);
    let ids = customers(s, 2);
    let d = draw(900, &[ids[1], ids[0]]);
    let full = full_grant(1, ids[0], b, d.id);
    let early = bare_grant(2, ids[0], "vip", "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z");
    let other = bare_grant(3, ids[1], "vip", "2025-01-02T00:00:00Z", "2025-01-20T00:00:00Z");
    write(s, |tx| {
        tx.insert_surprise_draw(&d).unwrap();
        for g in [&full, &early, &other] {
            tx.insert_benefit_grant(g).unwrap();
        }
    });
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    assert_eq!(tx.surprise_draw(d.id).unwrap(), Some(d.clone()));
    assert_eq!(tx.surprise_draw(SurpriseDrawId(uid(901))).unwrap(), None);
    assert_eq!(tx.benefit_grant(full.id).unwrap(), Some(full.clone()));
    assert_eq!(tx.benefit_grant(early.id).unwrap(), Some(early.clone()));
    assert_eq!(tx.benefit_grant(BenefitGrantId(uid(99))).unwrap(), None);
    assert_eq!(
        tx.benefit_grant_by_key(ids[0], "surprise:1").unwrap(),
        Some(full.clone())
    );
    assert_eq!(tx.benefit_grant_by_key(ids[1], "surprise:1").unwrap(), None);
    // Oldest first.
    assert_eq!(tx.benefit_grants(ids[0]).unwrap(), [early.clone(), full.clone()]);
    // Due: available ones whose time has come, earliest first.
    assert_eq!(
        tx.benefit_grants_due(at("2025-06-01T00:00:00Z"), 10).unwrap(),
        [other.clone(), early.clone()]
    );
    assert_eq!(
        tx.benefit_grants_due(at("2025-06-01T00:00:00Z"), 1).unwrap(),
        std::slice::from_ref(&other)
    );
    assert!(
        tx.benefit_grants_due(at("2025-01-20T00:00:00Z") - jiff::SignedDuration::from_micros(1), 10)
            .unwrap()
            .is_empty()
    );
    // A surprise's recipients since an instant.
    assert_eq!(
        tx.surprise_recipients_since("coffee", at("2025-03-01T10:00:00.000001Z"))
            .unwrap(),
        [ids[0]]
    );
    assert!(
        tx.surprise_recipients_since("coffee", at("2025-03-01T10:00:00.000002Z"))
            .unwrap()
            .is_empty()
    );
    assert!(
        tx.surprise_recipients_since("vip", at("2000-01-01T00:00:00Z"))
            .unwrap()
            .is_empty()
    );
    // An update writes the state and the honouring.
    let used = Grant {
        state: GrantState::Used,
        used_at: Some(at("2025-01-05T00:00:00Z")),
        honoured_by: Some("token:till".into()),
        honoured_branch: Some(b),
        honour_key: Some("k".into()),
        ..early.clone()
    };
    tx.update_benefit_grant(&used).unwrap();
    assert_eq!(tx.benefit_grant(early.id).unwrap(), Some(used));
    // The key is unique per customer.
    assert!(
        tx.insert_benefit_grant(&Grant {
            id: BenefitGrantId(uid(4)),
            ..full.clone()
        })
        .is_err()
    );
}

pub fn benefit_redemptions_in_parallel_never_overdraw(s: &App) {
    let ids = customers(s, 1);
    let c = ids[0];
    s.set_loyalty_program(PROGRAM, &actor()).unwrap();
    s.adjust_points(
        c,
        &PointsRequest {
            points: 35,
            reason: Some("opening".into()),
            idempotency_key: None,
            branch_id: None,
        },
        &actor(),
    )
    .unwrap();
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|t| {
                scope.spawn(move || {
                    s.redeem_benefit(
                        c,
                        &RedeemBenefit {
                            benefit: "coffee".into(),
                            idempotency_key: Some(format!("r-{t}")),
                            branch: None,
                        },
                        &actor(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.code(), "points.insufficient", "{e:?}");
        }
    }
    assert_eq!(ok, 3);
    assert_eq!(s.points_balance(c).unwrap(), 5);
    assert_eq!(grants_of(s, c).len(), 3);
    // The same key again, in parallel: one redemption.
    s.adjust_points(
        c,
        &PointsRequest {
            points: 100,
            reason: Some("top up".into()),
            idempotency_key: None,
            branch_id: None,
        },
        &actor(),
    )
    .unwrap();
    let created: Vec<bool> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(move || {
                    s.redeem_benefit(
                        c,
                        &RedeemBenefit {
                            benefit: "coffee".into(),
                            idempotency_key: Some("same".into()),
                            branch: None,
                        },
                        &actor(),
                    )
                    .unwrap()
                    .created
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(created.iter().filter(|c| **c).count(), 1);
    assert_eq!(s.points_balance(c).unwrap(), 95);
}

pub fn merge_moves_grants_and_erasure_clears_their_keys(s: &App) {
    let ids = customers(s, 2);
    s.set_loyalty_program(PROGRAM, &actor()).unwrap();
    let grant = |c: CustomerId, key: &str| {
        s.grant_benefit(
            c,
            &GrantRequest {
                benefit: "vip".into(),
                idempotency_key: Some(key.into()),
            },
            &actor(),
        )
        .unwrap()
        .value
    };
    let kept_own = grant(ids[0], "same");
    let dropped_same = grant(ids[1], "same");
    let dropped_other = grant(ids[1], "other");
    s.honour_benefit(
        dropped_other.id,
        &HonourRequest {
            idempotency_key: Some("h".into()),
            branch: None,
        },
        &actor(),
    )
    .unwrap();
    s.merge_customers(ids[0], ids[1], &actor()).unwrap();
    let moved = grants_of(s, ids[0]);
    assert_eq!(moved.len(), 3);
    // The kept customer's key stays its own grant's; the dropped one's other key moves along.
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    assert_eq!(
        tx.benefit_grant_by_key(ids[0], "same").unwrap().map(|g| g.id),
        Some(kept_own.id)
    );
    assert_eq!(
        tx.benefit_grant_by_key(ids[0], "other").unwrap().map(|g| g.id),
        Some(dropped_other.id)
    );
    assert_eq!(
        tx.benefit_grant(dropped_same.id).unwrap().map(|g| g.customer_id),
        Some(ids[0])
    );
    drop(tx);
    s.erase_customer(ids[0], &actor()).unwrap();
    let after = grants_of(s, ids[0]);
    assert_eq!(after.len(), 3);
    assert!(
        after
            .iter()
            .all(|g| g.idempotency_key.is_none() && g.honour_key.is_none()),
        "{after:?}"
    );
    assert_eq!(
        after.iter().filter(|g| g.state == GrantState::Used).count(),
        1,
        "the states stay"
    );
}

pub fn a_copy_keeps_grants_and_draws(s: &App, target: &App) {
    let (b, _, _) = seed_reference(&*s.store);
    let ids = customers(s, 2);
    let d = draw(900, &[ids[0]]);
    write(s, |tx| {
        tx.insert_surprise_draw(&d).unwrap();
        tx.insert_benefit_grant(&full_grant(1, ids[0], b, d.id)).unwrap();
        tx.insert_benefit_grant(&bare_grant(
            2,
            ids[1],
            "vip",
            "2025-01-01T00:00:00Z",
            "2025-02-01T00:00:00Z",
        ))
        .unwrap();
    });
    let mut w = target.store.begin_bulk_write().unwrap();
    for t in bulk::TABLES {
        let mut rows: Vec<Vec<bulk::Value>> = Vec::new();
        s.store.bulk_read(t, &mut |r| rows.push(r.to_vec())).unwrap();
        w.write_table(t, &mut rows.into_iter()).unwrap();
    }
    w.commit().unwrap();
    for c in &ids {
        assert_eq!(grants_of(target, *c), grants_of(s, *c));
    }
    let mut tx = target.store.begin(Lock::Writes).unwrap();
    assert_eq!(tx.surprise_draw(d.id).unwrap(), Some(d));
}
