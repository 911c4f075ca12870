//! Contract checks of the campaigns' storage: a campaign and its outbox as written (the definition
//! byte for byte, a seed over i64's range), a resumed launch writing nothing twice, claims under a
//! lease that never hand one message to two senders, and what merge, erasure, deletion and
//! `kesher copy` do with the outbox.

use super::*;
use kesher_store::{CampaignRow, CampaignState, MessageState, OutboxMessage};

fn customers(s: &App, n: u128) -> Vec<CustomerId> {
    (1..=n)
        .map(|i| {
            let c = customer(i, &format!("C{i}"), &format!("Customer {i}"));
            s.insert_customer(&c, &actor()).unwrap();
            c.id
        })
        .collect()
}

fn campaign(id: u128, state: CampaignState) -> CampaignRow {
    CampaignRow {
        id: CampaignId(uid(id)),
        name: format!("Campaign {id}"),
        // Spaces and key order kept as given: the text is stored, not re-serialised.
        definition: "{ \"name\" : \"שלום\",  \"b\": 1, \"a\": [ ] }".into(),
        state,
        seed: u64::MAX - id as u64,
        created_by: "user:noa".into(),
        created_at: at(&format!("2025-03-0{}T10:00:00.000001Z", id % 9 + 1)),
        launched_at: None,
    }
}

fn message(c: CampaignId, customer: CustomerId, state: MessageState, due: &str) -> OutboxMessage {
    OutboxMessage {
        campaign_id: c,
        customer_id: customer,
        arm: "variant:0".into(),
        channel: Some("email".into()),
        state,
        suppression: None,
        language: Some("he".into()),
        subject: Some("שלום Customer".into()),
        body: Some("<p dir=\"rtl\">שלום</p>".into()),
        message_id: format!("<{}.{}@kesher>", c, customer),
        attempts: 0,
        next_attempt_at: Some(at(due)),
        sent_at: None,
        last_error: None,
        created_at: at("2025-03-01T10:00:00Z"),
        occurrence: 0,
    }
}

fn write(s: &App, f: impl FnOnce(&mut dyn Tx)) {
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    f(tx.as_mut());
    tx.commit().unwrap();
}

fn messages_of(s: &App, c: CampaignId) -> Vec<OutboxMessage> {
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    tx.campaign_messages(c, None, 1_000).unwrap()
}

pub fn campaigns_and_messages_read_back_as_written(s: &App) {
    let ids = customers(s, 3);
    let (one, two) = (campaign(1, CampaignState::Draft), campaign(2, CampaignState::Launched));
    let sent = OutboxMessage {
        state: MessageState::Sent,
        attempts: 2,
        next_attempt_at: None,
        sent_at: Some(at("2025-03-01T11:00:00.5Z")),
        last_error: Some("451 try later".into()),
        ..message(one.id, ids[0], MessageState::Sent, "2025-03-01T10:00:00Z")
    };
    let suppressed = OutboxMessage {
        arm: "control".into(),
        channel: None,
        state: MessageState::Suppressed,
        suppression: Some("control".into()),
        language: None,
        subject: None,
        body: None,
        next_attempt_at: None,
        ..message(one.id, ids[1], MessageState::Suppressed, "2025-03-01T10:00:00Z")
    };
    let queued = message(one.id, ids[2], MessageState::Queued, "2025-03-02T09:00:00Z");
    write(s, |tx| {
        tx.insert_campaign(&one).unwrap();
        tx.insert_campaign(&two).unwrap();
        assert_eq!(
            tx.insert_campaign_messages(&[sent.clone(), suppressed.clone(), queued.clone()])
                .unwrap(),
            3
        );
    });
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    assert_eq!(tx.campaign(one.id).unwrap(), Some(one.clone()));
    assert_eq!(tx.campaign(CampaignId(uid(99))).unwrap(), None);
    assert_eq!(
        tx.campaigns().unwrap(),
        vec![two.clone(), one.clone()],
        "the newest first"
    );
    // A resumed launch writes nothing twice and changes nothing written.
    let again = OutboxMessage {
        body: Some("other".into()),
        ..queued.clone()
    };
    assert_eq!(tx.insert_campaign_messages(&[again]).unwrap(), 0);
    assert_eq!(tx.campaign_message(one.id, ids[2], 0).unwrap(), Some(queued.clone()));
    let mut all = vec![sent.clone(), suppressed.clone(), queued.clone()];
    all.sort_by_key(|m| m.customer_id);
    assert_eq!(tx.campaign_messages(one.id, None, 10).unwrap(), all);
    // Pages by customer id.
    let first = tx.campaign_messages(one.id, None, 2).unwrap();
    assert_eq!(first, all[..2]);
    assert_eq!(tx.campaign_messages(one.id, Some(first[1].key()), 2).unwrap(), all[2..]);
    assert_eq!(tx.customer_campaign_messages(ids[0]).unwrap(), vec![sent.clone()]);
    let counts = tx.campaign_message_counts(one.id).unwrap();
    assert_eq!(counts.of(MessageState::Sent), 1);
    assert_eq!(counts.of(MessageState::Suppressed), 1);
    assert!(
        counts
            .rows
            .contains(&(MessageState::Suppressed, Some("control".into()), 1))
    );
    // What a frequency cap counts: the sent one by its sending, the queued one by its due time.
    assert_eq!(
        tx.recent_message_times(ids[0], at("2025-03-01T00:00:00Z")).unwrap(),
        vec![at("2025-03-01T11:00:00.5Z")]
    );
    assert_eq!(
        tx.recent_message_times(ids[0], at("2025-03-01T11:00:00.5Z")).unwrap(),
        vec![],
        "the period is half-open"
    );
    assert_eq!(
        tx.recent_message_times(ids[2], at("2025-03-01T00:00:00Z")).unwrap(),
        vec![at("2025-03-02T09:00:00Z")]
    );
    assert_eq!(
        tx.recent_message_times(ids[1], at("2000-01-01T00:00:00Z")).unwrap(),
        vec![]
    );
    // State changes; a launch instant is kept once set.
    tx.set_campaign_state(one.id, CampaignState::Launched, Some(at("2025-03-01T10:00:00Z")))
        .unwrap();
    tx.set_campaign_state(one.id, CampaignState::Paused, None).unwrap();
    let read = tx.campaign(one.id).unwrap().unwrap();
    assert_eq!(read.state, CampaignState::Paused);
    assert_eq!(read.launched_at, Some(at("2025-03-01T10:00:00Z")));
    let updated = OutboxMessage {
        state: MessageState::Failed,
        attempts: 5,
        next_attempt_at: None,
        last_error: Some("550 no such user".into()),
        ..queued.clone()
    };
    tx.update_campaign_message(&updated).unwrap();
    assert_eq!(tx.campaign_message(one.id, ids[2], 0).unwrap(), Some(updated));
}

pub fn claims_take_due_messages_of_launched_campaigns_once(s: &App) {
    let ids = customers(s, 6);
    let (live, paused) = (campaign(1, CampaignState::Launched), campaign(2, CampaignState::Paused));
    write(s, |tx| {
        tx.insert_campaign(&live).unwrap();
        tx.insert_campaign(&paused).unwrap();
        let mut rows: Vec<OutboxMessage> = ids[..5]
            .iter()
            .map(|c| message(live.id, *c, MessageState::Queued, "2025-03-01T10:00:00Z"))
            .collect();
        rows.push(message(live.id, ids[5], MessageState::Queued, "2025-03-09T10:00:00Z"));
        rows.push(message(paused.id, ids[0], MessageState::Queued, "2025-03-01T10:00:00Z"));
        tx.insert_campaign_messages(&rows).unwrap();
    });
    let now = at("2025-03-02T00:00:00Z");
    let lease = at("2025-03-02T00:05:00Z");
    // Senders in parallel: each due message of the launched campaign goes to one of them.
    let claimed: Vec<OutboxMessage> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(move || {
                    let mut tx = s.store.begin(Lock::Writes).unwrap();
                    let got = tx.claim_campaign_messages(now, lease, 2).unwrap();
                    tx.commit().unwrap();
                    got
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut who: Vec<CustomerId> = claimed.iter().map(|m| m.customer_id).collect();
    who.sort();
    let mut due = ids[..5].to_vec();
    due.sort();
    assert_eq!(
        who, due,
        "every due message once, none of a paused campaign, none not yet due"
    );
    assert!(claimed.iter().all(|m| m.campaign_id == live.id
        && m.state == MessageState::Sending
        && m.attempts == 1
        && m.next_attempt_at == Some(lease)));
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    assert_eq!(
        tx.campaign_message(live.id, ids[0], 0).unwrap().unwrap().state,
        MessageState::Sending
    );
    // Nothing more until a lease ends; then the abandoned sends are taken again.
    assert!(tx.claim_campaign_messages(now, lease, 10).unwrap().is_empty());
    let later = at("2025-03-02T00:05:00Z");
    let again = tx
        .claim_campaign_messages(later, at("2025-03-02T00:10:00Z"), 10)
        .unwrap();
    assert_eq!(again.len(), 5);
    assert!(again.iter().all(|m| m.attempts == 2));
    // Taken again after a lease ended unrecorded: marked, in the row too, as maybe delivered.
    assert!(
        again
            .iter()
            .all(|m| m.last_error.as_deref() == Some(kesher_store::campaigns::LEASE_EXPIRED))
    );
    assert_eq!(
        tx.campaign_message(live.id, ids[0], 0)
            .unwrap()
            .unwrap()
            .last_error
            .as_deref(),
        Some(kesher_store::campaigns::LEASE_EXPIRED)
    );
    tx.commit().unwrap();
}

/// A row that waited for an A/B test's winner is given the winner's texts and a due time; its
/// keys, channel, message id and creation stay; a row that does not wait (any more) is not
/// written.
pub fn a_waiting_message_is_released_with_its_texts(s: &App) {
    let ids = customers(s, 2);
    let c = campaign(4, CampaignState::Launched);
    let waiting = OutboxMessage {
        arm: "rest".into(),
        next_attempt_at: None,
        ..message(c.id, ids[0], MessageState::Queued, "2025-03-01T10:00:00Z")
    };
    let other = message(c.id, ids[1], MessageState::Queued, "2025-03-01T10:00:00Z");
    write(s, |tx| {
        tx.insert_campaign(&c).unwrap();
        tx.insert_campaign_messages(&[waiting.clone(), other.clone()]).unwrap();
    });
    let released = OutboxMessage {
        arm: "rest:variant:1".into(),
        language: Some("fa".into()),
        subject: Some("سلام".into()),
        body: Some("<p dir=\"rtl\">سلام</p>".into()),
        next_attempt_at: Some(at("2025-03-02T09:00:00.25Z")),
        last_error: Some("the winner: variant 1".into()),
        // What the rewrite must not change.
        channel: Some("sms".into()),
        message_id: "<other>".into(),
        created_at: at("2030-01-01T00:00:00Z"),
        ..waiting.clone()
    };
    write(s, |tx| {
        assert!(tx.release_campaign_message(&released).unwrap());
        // Released already: a second release (another server's) writes nothing.
        assert!(
            !tx.release_campaign_message(&OutboxMessage {
                subject: Some("late".into()),
                ..released.clone()
            })
            .unwrap()
        );
        // A row that never waited is not released.
        assert!(
            !tx.release_campaign_message(&OutboxMessage {
                customer_id: ids[1],
                ..released.clone()
            })
            .unwrap()
        );
    });
    let rows = messages_of(s, c.id);
    let got = rows.iter().find(|m| m.customer_id == ids[0]).unwrap();
    assert_eq!(
        got,
        &OutboxMessage {
            channel: waiting.channel.clone(),
            message_id: waiting.message_id.clone(),
            created_at: waiting.created_at,
            ..released
        }
    );
    assert_eq!(rows.iter().find(|m| m.customer_id == ids[1]).unwrap(), &other);
}

pub fn merge_moves_messages_and_erasure_clears_their_texts(s: &App) {
    let ids = customers(s, 3);
    let (one, two) = (
        campaign(1, CampaignState::Launched),
        campaign(2, CampaignState::Launched),
    );
    write(s, |tx| {
        tx.insert_campaign(&one).unwrap();
        tx.insert_campaign(&two).unwrap();
        tx.insert_campaign_messages(&[
            message(one.id, ids[0], MessageState::Sent, "2025-03-01T10:00:00Z"),
            message(one.id, ids[1], MessageState::Queued, "2025-03-01T10:00:00Z"),
            message(two.id, ids[1], MessageState::Queued, "2025-03-01T10:00:00Z"),
            message(two.id, ids[2], MessageState::Queued, "2025-03-01T10:00:00Z"),
        ])
        .unwrap();
    });
    s.merge_customers(ids[0], ids[1], &actor()).unwrap();
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    let kept = tx.customer_campaign_messages(ids[0]).unwrap();
    assert_eq!(kept.len(), 2, "{kept:?}");
    // The kept customer's own message of campaign one stays; campaign two's moves, its id with it.
    assert_eq!(kept[0].state, MessageState::Sent);
    assert_eq!(
        tx.campaign_message(two.id, ids[0], 0).unwrap().unwrap().message_id,
        format!("<{}.{}@kesher>", two.id, ids[1])
    );
    assert!(tx.customer_campaign_messages(ids[1]).unwrap().is_empty());
    drop(tx);
    s.erase_customer(ids[0], &actor()).unwrap();
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    let erased = tx.customer_campaign_messages(ids[0]).unwrap();
    assert_eq!(erased.len(), 2);
    assert!(
        erased
            .iter()
            .all(|m| m.subject.is_none() && m.body.as_deref() == Some(ERASED_MARKER) && m.last_error.is_none()),
        "{erased:?}"
    );
    assert_eq!(erased[0].state, MessageState::Sent, "the states stay");
    drop(tx);
    // A customer without sales is deleted with their outbox.
    s.delete_customer(ids[2], &actor()).unwrap();
    assert_eq!(messages_of(s, two.id).len(), 1);
}

/// A recurring campaign's outbox holds one message per customer and occurrence (the
/// anniversary's year): a second year's message is a new row, the same year's again is none;
/// pages run by (customer, occurrence); a claim, an update and a release touch one occurrence
/// only; a merge keeps the kept customer's row of an occurrence and moves the others.
pub fn the_outbox_key_includes_the_occurrence(s: &App) {
    let ids = customers(s, 3);
    let c = campaign(5, CampaignState::Launched);
    let year = |customer: CustomerId, occurrence: i64, due: &str| OutboxMessage {
        occurrence,
        message_id: format!("<{}.{}.{occurrence}@kesher>", c.id, customer),
        ..message(c.id, customer, MessageState::Queued, due)
    };
    let first = year(ids[0], 2025, "2025-03-01T10:00:00Z");
    let second = year(ids[0], 2026, "2026-03-01T10:00:00Z");
    write(s, |tx| {
        tx.insert_campaign(&c).unwrap();
        assert_eq!(tx.insert_campaign_messages(std::slice::from_ref(&first)).unwrap(), 1);
        // The same year again (a run repeated, retried after a crash): nothing new.
        let again = OutboxMessage {
            body: Some("again".into()),
            ..first.clone()
        };
        assert_eq!(tx.insert_campaign_messages(&[again]).unwrap(), 0);
        // The next year: a new row.
        assert_eq!(tx.insert_campaign_messages(std::slice::from_ref(&second)).unwrap(), 1);
        assert_eq!(
            tx.insert_campaign_messages(&[
                year(ids[1], 2025, "2025-03-01T10:00:00Z"),
                year(ids[2], 2026, "2026-03-01T10:00:00Z"),
            ])
            .unwrap(),
            2
        );
    });
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    assert_eq!(tx.campaign_message(c.id, ids[0], 2025).unwrap(), Some(first.clone()));
    assert_eq!(tx.campaign_message(c.id, ids[0], 2026).unwrap(), Some(second.clone()));
    assert_eq!(tx.campaign_message(c.id, ids[0], 2027).unwrap(), None);
    assert_eq!(tx.campaign_message(c.id, ids[0], 0).unwrap(), None);
    // Pages by (customer, occurrence): a page may end between two years of one customer.
    let all = tx.campaign_messages(c.id, None, 10).unwrap();
    let keys: Vec<(CustomerId, i64)> = all.iter().map(|m| m.key()).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(all.len(), 4);
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = tx.campaign_messages(c.id, after, 1).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.key());
        paged.extend(page);
    }
    assert_eq!(paged, all);
    assert_eq!(tx.campaign_message_counts(c.id).unwrap().of(MessageState::Queued), 4);
    // A claim takes the due year only; the update of one year leaves the other.
    let claimed = tx
        .claim_campaign_messages(at("2025-03-02T00:00:00Z"), at("2025-03-02T00:05:00Z"), 10)
        .unwrap();
    let mut claimed_keys: Vec<(CustomerId, i64)> = claimed.iter().map(|m| m.key()).collect();
    claimed_keys.sort();
    let mut expected = vec![(ids[0], 2025), (ids[1], 2025)];
    expected.sort();
    assert_eq!(claimed_keys, expected);
    let sent = OutboxMessage {
        state: MessageState::Sent,
        sent_at: Some(at("2025-03-02T00:01:00Z")),
        next_attempt_at: None,
        attempts: 1,
        ..first.clone()
    };
    tx.update_campaign_message(&sent).unwrap();
    assert_eq!(tx.campaign_message(c.id, ids[0], 2025).unwrap(), Some(sent.clone()));
    assert_eq!(tx.campaign_message(c.id, ids[0], 2026).unwrap(), Some(second.clone()));
    // A waiting row of one year is released; the same customer's other year is not touched.
    let waiting = OutboxMessage {
        arm: "rest".into(),
        next_attempt_at: None,
        ..year(ids[2], 2027, "2027-03-01T10:00:00Z")
    };
    assert_eq!(tx.insert_campaign_messages(std::slice::from_ref(&waiting)).unwrap(), 1);
    let released = OutboxMessage {
        arm: "rest:variant:0".into(),
        next_attempt_at: Some(at("2027-03-01T10:00:00Z")),
        ..waiting.clone()
    };
    assert!(tx.release_campaign_message(&released).unwrap());
    assert_eq!(
        tx.campaign_message(c.id, ids[2], 2026).unwrap().unwrap().arm,
        "variant:0"
    );
    tx.commit().unwrap();
    // A merge of ids[1] into ids[0]: ids[0] keeps its own 2025, gets nothing of ids[1]'s 2025.
    // ids[2] into ids[0]: its 2026 clashes with ids[0]'s (dropped), its 2027 moves.
    s.merge_customers(ids[0], ids[1], &actor()).unwrap();
    s.merge_customers(ids[0], ids[2], &actor()).unwrap();
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    let kept: Vec<(i64, String)> = tx
        .customer_campaign_messages(ids[0])
        .unwrap()
        .into_iter()
        .map(|m| (m.occurrence, m.message_id))
        .collect();
    let mut kept_sorted = kept.clone();
    kept_sorted.sort();
    assert_eq!(
        kept_sorted,
        vec![
            (2025, first.message_id.clone()),
            (2026, second.message_id.clone()),
            (2027, waiting.message_id.clone()),
        ]
    );
}

/// Clicks are one row per (message, link) with every click counted, the last instant kept the
/// latest; a merge moves them with their message; a deletion removes them.
pub fn clicks_count_once_per_link_and_follow_their_message(s: &App) {
    let ids = customers(s, 3);
    let c = campaign(6, CampaignState::Launched);
    write(s, |tx| {
        tx.insert_campaign(&c).unwrap();
        tx.insert_campaign_messages(&[
            message(c.id, ids[0], MessageState::Sent, "2025-03-01T10:00:00Z"),
            OutboxMessage {
                occurrence: 2026,
                ..message(c.id, ids[1], MessageState::Sent, "2026-03-01T10:00:00Z")
            },
        ])
        .unwrap();
        assert!(
            tx.record_campaign_click(c.id, ids[0], 0, 0, at("2025-03-01T12:00:00Z"))
                .unwrap()
        );
        assert!(
            !tx.record_campaign_click(c.id, ids[0], 0, 0, at("2025-03-01T13:00:00Z"))
                .unwrap()
        );
        // A click recorded late with an earlier instant keeps the latest.
        assert!(
            !tx.record_campaign_click(c.id, ids[0], 0, 0, at("2025-03-01T11:00:00Z"))
                .unwrap()
        );
        assert!(
            tx.record_campaign_click(c.id, ids[0], 0, 1, at("2025-03-01T12:30:00Z"))
                .unwrap()
        );
        assert!(
            tx.record_campaign_click(c.id, ids[1], 2026, 0, at("2026-03-01T12:00:00Z"))
                .unwrap()
        );
    });
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    let clicks = tx.campaign_clicks(c.id).unwrap();
    assert_eq!(clicks.len(), 3, "{clicks:?}");
    let first = clicks.iter().find(|k| k.customer_id == ids[0] && k.link == 0).unwrap();
    assert_eq!(
        (first.clicks, first.first_at, first.last_at),
        (3, at("2025-03-01T12:00:00Z"), at("2025-03-01T13:00:00Z"))
    );
    assert_eq!(tx.customer_campaign_clicks(ids[1]).unwrap().len(), 1);
    drop(tx);
    // ids[1] merged into ids[2] (who has no message): the 2026 message moves, its click with it.
    s.merge_customers(ids[2], ids[1], &actor()).unwrap();
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    assert!(tx.customer_campaign_clicks(ids[1]).unwrap().is_empty());
    let moved = tx.customer_campaign_clicks(ids[2]).unwrap();
    assert_eq!((moved.len(), moved[0].occurrence, moved[0].clicks), (1, 2026, 1));
    drop(tx);
    s.delete_customer(ids[2], &actor()).unwrap();
    let mut tx = s.store.begin(Lock::Writes).unwrap();
    assert_eq!(tx.campaign_clicks(c.id).unwrap().len(), 2);
}

pub fn a_copy_keeps_campaigns_and_messages(s: &App, target: &App) {
    let ids = customers(s, 2);
    let one = CampaignRow {
        launched_at: Some(at("2025-03-01T10:00:00.000001Z")),
        ..campaign(1, CampaignState::Launched)
    };
    write(s, |tx| {
        tx.insert_campaign(&one).unwrap();
        tx.insert_campaign_messages(&[
            OutboxMessage {
                sent_at: Some(at("2025-03-01T11:00:00Z")),
                attempts: 1,
                ..message(one.id, ids[0], MessageState::Sent, "2025-03-01T10:00:00Z")
            },
            message(one.id, ids[1], MessageState::Queued, "2025-03-01T10:00:00Z"),
            OutboxMessage {
                occurrence: 2026,
                ..message(one.id, ids[1], MessageState::Queued, "2026-03-01T10:00:00Z")
            },
        ])
        .unwrap();
    });
    let mut w = target.store.begin_bulk_write().unwrap();
    for t in bulk::TABLES {
        let mut rows: Vec<Vec<bulk::Value>> = Vec::new();
        s.store.bulk_read(t, &mut |r| rows.push(r.to_vec())).unwrap();
        w.write_table(t, &mut rows.into_iter()).unwrap();
    }
    w.commit().unwrap();
    assert_eq!(messages_of(target, one.id), messages_of(s, one.id));
    let mut tx = target.store.begin(Lock::Writes).unwrap();
    assert_eq!(tx.campaign(one.id).unwrap(), Some(one));
}
