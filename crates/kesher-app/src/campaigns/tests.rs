//! The campaigns' workflows on SQLite with a settable clock: create (the definition and the
//! audience checked), preview in the customer's language, a launch that writes every row once
//! (the control group exact, suppressions with their reasons, a resumed launch writing nothing
//! twice), pause, and a template naming what the data lacks refused; recurring campaigns greeting
//! each customer once a year on their day (the outbox's occurrence key).

use super::*;
use crate::clock::ManualClock;
use crate::test_support::{TestApp, app_named};
use kesher_core::{Consent, ConsentChannel, ConsentState, Customer, Email};
use std::sync::Arc;

fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn actor() -> Actor {
    Actor::new("user:marketing", ts("2025-03-01T08:00:00Z"))
}

const DEFINITION: &str = r#"{
  "name": "Spring",
  "kind": {"type": "scheduled", "at": "2025-02-28T10:00"},
  "audience": "visits >= 0",
  "channels": ["email"],
  "default_language": "en",
  "templates": {
    "he": {"subject": "שלום {{ customer.first_name }}", "body": "<p dir=\"rtl\">שלום {{ customer.first_name }}</p>"},
    "fa": {"subject": "سلام {{ customer.first_name }}", "body": "<p dir=\"rtl\">سلام {{ customer.first_name }}</p>"},
    "en": {"subject": "Hello {{ customer.first_name }}", "body": "<p>Hello {{ customer.first_name }} & co</p>"}
  },
  "control_bp": 2000
}"#;

/// Customers 1..=n: every one named; the e-mail consent granted to all but every fifth, the
/// address missing on every seventh; languages he, fa, en, pt-BR in turn.
fn world(n: u128) -> (TestApp, Vec<CustomerId>) {
    let mut t = app_named("campaigns");
    let clock = Arc::new(ManualClock::new(ts("2025-03-01T08:00:00Z")));
    t.app = t.app.clone().with_clock(clock);
    let languages = ["he", "fa", "en", "pt-BR"];
    let ids = (1..=n)
        .map(|i| {
            let mut c = Customer::bare(
                CustomerId(uuid::Uuid::from_u128(i)),
                Some(format!("M{i}")),
                ts("2025-01-01T00:00:00Z"),
            );
            c.name = Some(format!("Dana{i} Levi"));
            c.language = Some(languages[(i % 4) as usize].into());
            if i % 7 != 0 {
                c.email = Some(Email::parse(&format!("c{i}@example.com")).unwrap());
            }
            c.consents.push(Consent {
                channel: ConsentChannel::Email,
                state: if i % 5 == 0 {
                    ConsentState::Withdrawn
                } else {
                    ConsentState::Granted
                },
                at: ts("2025-01-01T00:00:00Z"),
                source: "test".into(),
            });
            t.app.insert_customer(&c, &actor()).unwrap();
            c.id
        })
        .collect();
    (t, ids)
}

#[test]
fn a_campaign_is_created_as_a_draft_with_its_text_kept() {
    let (t, _) = world(1);
    let row = t.app.create_campaign(DEFINITION, &actor()).unwrap();
    assert_eq!(row.state, CampaignState::Draft);
    assert_eq!(row.name, "Spring");
    let view = t.app.campaign(row.id).unwrap();
    assert_eq!(view.row.definition, DEFINITION);
    assert_eq!(t.app.list_campaigns().unwrap().len(), 1);
    // A definition that does not parse, an audience the segment language refuses.
    let e = t.app.create_campaign(r#"{"name": "x"}"#, &actor()).unwrap_err();
    assert!(
        e.to_string().contains("kind") || e.to_string().contains("missing"),
        "{e}"
    );
    let bad = DEFINITION.replace("visits >= 0", "visits >=");
    assert!(t.app.create_campaign(&bad, &actor()).is_err());
}

#[test]
fn a_preview_is_in_the_customers_language() {
    let (t, ids) = world(4);
    let row = t.app.create_campaign(DEFINITION, &actor()).unwrap();
    let he = t.app.preview_campaign(row.id, ids[0], None).unwrap();
    assert_eq!(he.language, "fa", "customer 1 speaks fa");
    assert_eq!(he.subject.as_deref(), Some("سلام Dana1"));
    assert_eq!(he.channel, Ok(Channel::Email));
    let en = t.app.preview_campaign(row.id, ids[2], None).unwrap();
    assert_eq!(en.language, "en", "pt-BR falls back to the default");
    let he = t.app.preview_campaign(row.id, ids[3], None).unwrap();
    assert_eq!(he.language, "he");
    assert_eq!(he.body.as_deref(), Some("<p dir=\"rtl\">שלום Dana4</p>"));
    let en = t.app.preview_campaign(row.id, ids[1], None).unwrap();
    assert_eq!(en.language, "en");
    assert_eq!(en.body.as_deref(), Some("<p>Hello Dana2 & co</p>"));
}

#[test]
fn a_template_naming_what_the_data_lacks_is_refused_at_preview_and_launch() {
    let (t, ids) = world(3);
    let def = DEFINITION.replace("Hello {{ customer.first_name }}\"", "Hello {{ customer.nickname }}\"");
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    let e = t.app.preview_campaign(row.id, ids[1], None).unwrap_err();
    assert!(e.to_string().contains("customer.nickname"), "{e}");
    assert!(t.app.launch_campaign(row.id, &actor()).is_err());
    assert!(
        t.app.campaign(row.id).unwrap().counts.rows.is_empty(),
        "nothing written"
    );
    // A value the customer lacks is an error where it is printed, never "none".
    let mut c = Customer::bare(CustomerId(uuid::Uuid::from_u128(99)), None, ts("2025-01-01T00:00:00Z"));
    c.language = Some("en".into());
    t.app.insert_customer(&c, &actor()).unwrap();
    let plain = t.app.create_campaign(DEFINITION, &actor()).unwrap();
    assert!(t.app.preview_campaign(plain.id, c.id, None).is_err());
}

#[test]
fn a_launch_writes_every_row_once_with_its_reason() {
    let (t, ids) = world(50);
    let row = t.app.create_campaign(DEFINITION, &actor()).unwrap();
    let report = t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!(report.audience, 50);
    assert_eq!(report.written, 50);
    // Every customer is a prospect (no analysis): one stratum, exactly 20 % of 50.
    assert_eq!(report.control, 10);
    let total: u64 = report.suppressed.values().sum::<u64>() + report.control + report.queued;
    assert_eq!(total, 50, "{report:?}");
    assert!(
        report.suppressed.get("no_consent").copied().unwrap_or(0) > 0,
        "{report:?}"
    );
    assert!(
        report.suppressed.get("no_address").copied().unwrap_or(0) > 0,
        "{report:?}"
    );
    let view = t.app.campaign(row.id).unwrap();
    assert_eq!(view.row.state, CampaignState::Launched);
    assert_eq!(view.row.launched_at, Some(ts("2025-03-01T08:00:00Z")));
    let mut tx = t.app.store.begin(Lock::Writes).unwrap();
    let rows = tx.campaign_messages(row.id, None, 100).unwrap();
    drop(tx);
    assert_eq!(rows.len(), 50);
    for m in &rows {
        let i = m.customer_id.0.as_u128();
        assert_eq!(m.message_id, message_id(row.id, m.customer_id));
        match m.state {
            MessageState::Queued => {
                assert_eq!(m.channel.as_deref(), Some("email"));
                assert!(i % 5 != 0 && i % 7 != 0, "{m:?}");
                assert!(m.subject.as_deref().unwrap().contains(&format!("Dana{i}")));
                assert_eq!(m.next_attempt_at, Some(ts("2025-03-01T08:00:00Z")));
            }
            MessageState::Suppressed => assert!(m.suppression.is_some()),
            other => panic!("{other:?}"),
        }
    }
    // Launching again (a resumed launch) writes nothing twice; the draw is the same.
    let again = t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!(again.written, 0);
    assert_eq!(again.control, 10);
    assert_eq!(again.queued, report.queued);
    let _ = ids;
}

#[test]
fn the_frequency_cap_counts_other_campaigns_messages() {
    let (t, _) = world(10);
    let capped = DEFINITION.replace(
        "\"control_bp\": 2000",
        "\"control_bp\": 0, \"frequency_cap\": {\"messages\": 1, \"days\": 7}",
    );
    let first = t.app.create_campaign(&capped, &actor()).unwrap();
    let r1 = t.app.launch_campaign(first.id, &actor()).unwrap();
    assert!(r1.queued > 0);
    let second = t.app.create_campaign(&capped, &actor()).unwrap();
    let r2 = t.app.launch_campaign(second.id, &actor()).unwrap();
    assert_eq!(r2.queued, 0, "{r2:?}");
    assert_eq!(r2.suppressed.get("frequency_cap").copied(), Some(r1.queued));
}

#[test]
fn pause_stops_a_launched_campaign_only() {
    let (t, _) = world(3);
    let row = t.app.create_campaign(DEFINITION, &actor()).unwrap();
    let e = t.app.pause_campaign(row.id, &actor()).unwrap_err();
    assert!(e.to_string().contains("draft"), "{e}");
    t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!(
        t.app.pause_campaign(row.id, &actor()).unwrap().state,
        CampaignState::Paused
    );
    // Launching again resumes.
    t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!(t.app.campaign(row.id).unwrap().row.state, CampaignState::Launched);
    assert!(t.app.campaign(CampaignId(uuid::Uuid::from_u128(7))).is_err());
}

/// A sender that records what it was handed, or refuses every message as `fail` says.
#[derive(Default)]
struct Recording {
    sent: std::sync::Mutex<Vec<(String, String)>>,
    fail: Option<SendError>,
}

impl Sender for Arc<Recording> {
    fn send(&self, message: &OutboxMessage, to: &Customer) -> Result<(), SendError> {
        if let Some(e) = &self.fail {
            return Err(e.clone());
        }
        let address = to.email.as_ref().map(|e| e.to_string()).unwrap_or_default();
        self.sent.lock().unwrap().push((address, message.message_id.clone()));
        Ok(())
    }
}

#[test]
fn delivery_sends_each_message_once_and_honours_an_unsubscribe_at_send_time() {
    let (t, ids) = world(20);
    let row = t.app.create_campaign(DEFINITION, &actor()).unwrap();
    let launched = t.app.launch_campaign(row.id, &actor()).unwrap();
    // One recipient unsubscribes after the launch: their queued message is not sent.
    let queued: Vec<CustomerId> = {
        let mut tx = t.app.store.begin(Lock::Writes).unwrap();
        tx.campaign_messages(row.id, None, 100)
            .unwrap()
            .into_iter()
            .filter(|m| m.state == MessageState::Queued)
            .map(|m| m.customer_id)
            .collect()
    };
    assert_eq!(queued.len() as u64, launched.queued);
    let mut gone = t.app.store.get_customer(queued[0]).unwrap().unwrap();
    gone.consents[0].state = ConsentState::Withdrawn;
    gone.consents[0].at = ts("2025-03-01T08:00:00Z");
    t.app.update_customer(&gone, &actor()).unwrap();
    let recording = Arc::new(Recording::default());
    let senders = Senders {
        email: Some(Box::new(recording.clone())),
        sms: None,
        links: None,
    };
    let r = t.app.deliver_campaign_messages(&senders, 1_000).unwrap();
    assert_eq!(r.claimed, launched.queued);
    assert_eq!(r.suppressed, 1);
    assert_eq!(r.sent, launched.queued - 1);
    let sent = recording.sent.lock().unwrap().clone();
    assert_eq!(sent.len() as u64, r.sent);
    assert!(sent.iter().all(|(_, id)| id.starts_with('<')));
    // Nothing is due any more: a second round sends nothing.
    let again = t.app.deliver_campaign_messages(&senders, 1_000).unwrap();
    assert_eq!(again.claimed, 0);
    let view = t.app.campaign(row.id).unwrap();
    assert_eq!(view.counts.of(MessageState::Sent), r.sent);
    assert!(view.counts.rows.contains(&(
        MessageState::Suppressed,
        Some("no_consent".into()),
        1 + launched.suppressed["no_consent"]
    )));
    let report = t.app.campaign_report(row.id).unwrap();
    assert_eq!(report.sent, r.sent);
    assert_eq!(report.control, launched.control);
    assert!(!report.complete, "the attribution window has not ended");
    let _ = ids;
}

/// A sender that stopped between handing messages over and recording them (a `kill -9`): the
/// rows stay `sending` until their lease ends, are then sent again with the same Message-ID, and
/// the report counts exactly those as possible duplicates, through a failed attempt in between.
#[test]
fn messages_sent_again_after_a_lease_ended_are_counted_as_possible_duplicates() {
    let (t, _) = world(10);
    let clock = Arc::new(ManualClock::new(ts("2025-03-01T08:00:00Z")));
    let app = t.app.clone().with_clock(clock.clone());
    let def = DEFINITION.replace("\"control_bp\": 2000", "\"control_bp\": 0");
    let row = app.create_campaign(&def, &actor()).unwrap();
    let queued = app.launch_campaign(row.id, &actor()).unwrap().queued;
    assert!(queued >= 4, "{queued}");
    // The crash: three messages claimed (and handed over), nothing recorded.
    let lost: Vec<OutboxMessage> = {
        let mut tx = app.store.begin(Lock::Writes).unwrap();
        let now = app.now();
        let got = tx.claim_campaign_messages(now, now + SEND_LEASE, 3).unwrap();
        tx.commit().unwrap();
        got
    };
    assert_eq!(lost.len(), 3);
    let recording = Arc::new(Recording::default());
    let senders = Senders {
        email: Some(Box::new(recording.clone())),
        sms: None,
        links: None,
    };
    // Before the lease ends, only the others go.
    let first = app.deliver_campaign_messages(&senders, 1_000).unwrap();
    assert_eq!(first.sent, queued - 3);
    assert_eq!(app.campaign_report(row.id).unwrap().possible_duplicates, 0);
    // The lease ends; one of the three fails once on the way, then all are sent.
    clock.advance(SEND_LEASE);
    let busy = Senders {
        email: Some(Box::new(Arc::new(Recording {
            fail: Some(SendError::Transient("421 busy".into())),
            ..Recording::default()
        }))),
        sms: None,
        links: None,
    };
    assert_eq!(app.deliver_campaign_messages(&busy, 1).unwrap().retried, 1);
    clock.advance(send_backoff(2));
    let last = app.deliver_campaign_messages(&senders, 1_000).unwrap();
    assert_eq!(last.sent, 3);
    let sent = recording.sent.lock().unwrap().clone();
    for m in &lost {
        assert_eq!(
            sent.iter().filter(|(_, id)| *id == m.message_id).count(),
            1,
            "sent again with the same Message-ID"
        );
    }
    let report = app.campaign_report(row.id).unwrap();
    assert_eq!((report.sent, report.possible_duplicates), (queued, 3));
}

/// A campaign that carries a benefit of the loyalty program: the benefit must exist (at
/// creation), is in every template's data as `offer`, and is granted once to each customer whose
/// message goes — before it goes, never to the control group, not again when the message is
/// sent again.
#[test]
fn a_campaigns_benefit_is_in_its_texts_and_granted_once_to_each_recipient() {
    let (t, ids) = world(10);
    let clock = Arc::new(ManualClock::new(ts("2025-03-01T08:00:00Z")));
    let app = t.app.clone().with_clock(clock.clone());
    let program = r#"{"name": "Club", "currency": "ILS",
      "qualification": {"by": "spend", "days": 365},
      "tiers": [{"key": "silver", "name": "Silver", "threshold": "0"}],
      "benefits": [{"key": "credit20", "name": "20 off", "kind": "hard",
                    "value": {"type": "fixed_credit", "amount": "20.00"}, "valid_days": 14},
                   {"key": "tenpct", "name": "10% off", "kind": "hard",
                    "value": {"type": "percent_discount", "percent": "12.5"}, "valid_days": 7}]}"#;
    let with_offer = |benefit: &str| {
        DEFINITION
            .replace("\"control_bp\": 2000", &format!("\"control_bp\": 2000, \"offer\": {{\"benefit\": \"{benefit}\"}}"))
            .replace(
                "<p>Hello {{ customer.first_name }} & co</p>",
                "<p>Hello {{ customer.first_name }}: {{ offer.name }}, {{ offer.value.credit }} {{ offer.value.currency }} for {{ offer.valid_days }} days</p>",
            )
    };
    // No program, or no such benefit: refused naming `offer`.
    let e = app.create_campaign(&with_offer("credit20"), &actor()).unwrap_err();
    assert_eq!(e.code(), "campaign.offer.unknown", "{e}");
    app.set_loyalty_program(program, &actor()).unwrap();
    let e = app.create_campaign(&with_offer("nothing"), &actor()).unwrap_err();
    assert_eq!(e.code(), "campaign.offer.unknown", "{e}");
    let row = app.create_campaign(&with_offer("credit20"), &actor()).unwrap();
    let en = app.preview_campaign(row.id, ids[1], None).unwrap();
    assert_eq!(
        en.body.as_deref(),
        Some("<p>Hello Dana2: 20 off, 20.00 ILS for 14 days</p>")
    );
    let launched = app.launch_campaign(row.id, &actor()).unwrap();
    assert!(launched.queued > 0 && launched.control > 0, "{launched:?}");
    // Nothing is granted at the launch: only what goes.
    assert!(ids.iter().all(|c| app.customer_benefits(*c).unwrap().is_empty()));
    // The first round is cut short (claimed, not recorded); the rest goes after the lease.
    {
        let mut tx = app.store.begin(Lock::Writes).unwrap();
        let now = app.now();
        tx.claim_campaign_messages(now, now + SEND_LEASE, 2).unwrap();
        tx.commit().unwrap();
    }
    let recording = Arc::new(Recording::default());
    let senders = Senders {
        email: Some(Box::new(recording.clone())),
        sms: None,
        links: None,
    };
    app.deliver_campaign_messages(&senders, 1_000).unwrap();
    clock.advance(SEND_LEASE);
    let r = app.deliver_campaign_messages(&senders, 1_000).unwrap();
    assert_eq!(r.sent, 2);
    let report = app.campaign_report(row.id).unwrap();
    assert_eq!(report.sent, launched.queued);
    let mut tx = app.store.begin(Lock::Writes).unwrap();
    let rows = tx.campaign_messages(row.id, None, 100).unwrap();
    drop(tx);
    for m in rows {
        let grants = app.customer_benefits(m.customer_id).unwrap();
        if m.state == MessageState::Sent {
            assert_eq!(grants.len(), 1, "one grant for {}", m.customer_id);
            assert_eq!(grants[0].benefit, "credit20");
            assert_eq!(
                grants[0].idempotency_key.as_deref(),
                Some(offers::grant_key(row.id, 0).as_str())
            );
        } else {
            assert!(grants.is_empty(), "{:?} {:?}: {grants:?}", m.state, m.suppression);
        }
    }
    // Its cost: the e-mails at 1.00 ILS each, and 20.00 ILS for each benefit granted with them.
    app.set_campaign_costs(r#"{"currency": "ILS", "per_thousand": {"email": "1000.00"}}"#, &actor())
        .unwrap();
    let economics = app.campaign_economics().unwrap();
    let sent = i64::try_from(report.sent).unwrap();
    assert_eq!(economics.economics.cost, sent * 100 + sent * 2_000, "{economics:?}");
    // A percentage prints as a person writes it.
    let pct = DEFINITION
        .replace(
            "\"control_bp\": 2000",
            "\"control_bp\": 0, \"offer\": {\"benefit\": \"tenpct\"}",
        )
        .replace("& co", "{{ offer.value.percent }}%");
    let row = app.create_campaign(&pct, &actor()).unwrap();
    let en = app.preview_campaign(row.id, ids[1], None).unwrap();
    assert_eq!(en.body.as_deref(), Some("<p>Hello Dana2 12.5%</p>"));
}

/// The next best offer as the campaign's offer: a customer the baskets give nothing is
/// suppressed as `no_offer` (the preview says so) instead of stopping the launch.
#[test]
fn a_customer_without_a_next_best_offer_is_suppressed_not_a_failed_launch() {
    let (t, ids) = world(5);
    let def = DEFINITION
        .replace(
            "\"control_bp\": 2000",
            "\"control_bp\": 0, \"offer\": \"next_best_offer\"",
        )
        .replace("& co", "{{ offer.name }}");
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    let p = t.app.preview_campaign(row.id, ids[1], None).unwrap();
    assert_eq!(p.channel, Err(Suppression::NoOffer));
    assert_eq!(p.body, None);
    let launched = t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!(launched.queued, 0);
    assert_eq!(launched.suppressed.get("no_offer"), Some(&5), "{launched:?}");
}

/// `rate_per_minute`: the queued rows are spread evenly from the send's start, so that no more
/// than the rate leave in any minute; without a rate every row is due at once.
#[test]
fn a_rate_limit_spreads_the_due_times() {
    let (t, _) = world(40);
    let def = DEFINITION.replace("\"control_bp\": 2000", "\"control_bp\": 0, \"rate_per_minute\": 10");
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    let launched = t.app.launch_campaign(row.id, &actor()).unwrap();
    let start = launched.due.unwrap();
    let mut tx = t.app.store.begin(Lock::Writes).unwrap();
    let mut due: Vec<jiff::Timestamp> = tx
        .campaign_messages(row.id, None, 100)
        .unwrap()
        .into_iter()
        .filter(|m| m.state == MessageState::Queued)
        .filter_map(|m| m.next_attempt_at)
        .collect();
    drop(tx);
    due.sort();
    assert_eq!(due.len() as u64, launched.queued);
    assert!(due.len() > 20, "{}", due.len());
    for (k, at) in due.iter().enumerate() {
        // 10 a minute: one every 6 s from the start.
        assert_eq!(*at, start + jiff::SignedDuration::from_secs(6 * k as i64), "row {k}");
    }
    // Any minute holds at most 10.
    for w in due.windows(11) {
        assert!(w[10].duration_since(w[0]) >= jiff::SignedDuration::from_secs(60));
    }
    // Without a rate: all due at the start.
    let row = t
        .app
        .create_campaign(&DEFINITION.replace("Spring", "Fast"), &actor())
        .unwrap();
    t.app.launch_campaign(row.id, &actor()).unwrap();
    let mut tx = t.app.store.begin(Lock::Writes).unwrap();
    let fast = tx.campaign_messages(row.id, None, 100).unwrap();
    let dues: BTreeSet<_> = fast
        .iter()
        .filter(|m| m.state == MessageState::Queued)
        .map(|m| m.next_attempt_at)
        .collect();
    assert_eq!(dues.len(), 1, "{dues:?}");
}

#[test]
fn a_refused_send_is_retried_with_backoff_then_fails() {
    let (t, _) = world(3);
    let clock = Arc::new(ManualClock::new(ts("2025-03-01T08:00:00Z")));
    let app = t.app.clone().with_clock(clock.clone());
    let def = DEFINITION.replace("\"control_bp\": 2000", "\"control_bp\": 0");
    let row = app.create_campaign(&def, &actor()).unwrap();
    let queued = app.launch_campaign(row.id, &actor()).unwrap().queued;
    assert!(queued > 0);
    let refusing = Senders {
        email: Some(Box::new(Arc::new(Recording {
            fail: Some(SendError::Transient("421 busy".into())),
            ..Recording::default()
        }))),
        sms: None,
        links: None,
    };
    for attempt in 1..=MAX_SEND_ATTEMPTS {
        let r = app.deliver_campaign_messages(&refusing, 100).unwrap();
        assert_eq!(r.claimed, queued, "attempt {attempt}");
        // Not due again before its backoff.
        assert_eq!(app.deliver_campaign_messages(&refusing, 100).unwrap().claimed, 0);
        clock.advance(send_backoff(attempt));
    }
    let view = app.campaign(row.id).unwrap();
    assert_eq!(view.counts.of(MessageState::Failed), queued);
    assert_eq!(send_backoff(1), jiff::SignedDuration::from_secs(30));
    assert_eq!(send_backoff(3), jiff::SignedDuration::from_secs(120));
    assert_eq!(send_backoff(20), jiff::SignedDuration::from_secs(3_600));
}

#[test]
fn the_log_channel_records_what_would_have_been_sent() {
    let (t, _) = world(10);
    let def = DEFINITION
        .replace("[\"email\"]", "[\"log\"]")
        .replace("\"control_bp\": 2000", "\"control_bp\": 1000");
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    let launched = t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!(launched.control, 1);
    assert_eq!(launched.queued, 9, "the log channel needs no consent nor address");
    let r = t.app.deliver_campaign_messages(&Senders::default(), 100).unwrap();
    assert_eq!(r.sent, 9);
    let mut tx = t.app.store.begin(Lock::Writes).unwrap();
    let rows = tx.campaign_messages(row.id, None, 100).unwrap();
    assert!(
        rows.iter()
            .filter(|m| m.state == MessageState::Sent)
            .all(|m| m.body.is_some() && m.sent_at.is_some() && m.channel.as_deref() == Some("log"))
    );
}

/// A minimal SMTP server on loopback that keeps every message it accepts (the raw DATA).
fn smtp_sink() -> (u16, Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let keep = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut out) = stream else { return };
            let keep = keep.clone();
            std::thread::spawn(move || {
                let mut input = BufReader::new(out.try_clone().unwrap());
                out.write_all(b"220 sink ESMTP\r\n").unwrap();
                let mut line = String::new();
                loop {
                    line.clear();
                    if input.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-sink\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            out.write_all(b"354 go on\r\n").unwrap();
                            let mut data = String::new();
                            loop {
                                let mut l = String::new();
                                if input.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                                    break;
                                }
                                data.push_str(&l);
                            }
                            keep.lock().unwrap().push(data);
                            b"250 queued\r\n"
                        }
                        "QUIT" => {
                            let _ = out.write_all(b"221 bye\r\n");
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    out.write_all(reply).unwrap();
                }
            });
        }
    });
    (port, got)
}

#[test]
fn e_mail_goes_over_smtp_with_a_stable_id_and_a_one_click_unsubscribe_that_is_honoured() {
    let (t, _) = world(10);
    let (port, got) = smtp_sink();
    let def = DEFINITION.replace("\"control_bp\": 2000", "\"control_bp\": 0");
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    let queued = t.app.launch_campaign(row.id, &actor()).unwrap().queued;
    let smtp = email::SmtpSender::new(
        &format!("smtp://127.0.0.1:{port}"),
        "Shop <shop@example.com>",
        "https://shop.example/",
        t.app.unsubscribe_secret().unwrap(),
    )
    .unwrap();
    let senders = Senders {
        email: Some(Box::new(smtp)),
        sms: None,
        links: None,
    };
    let r = t.app.deliver_campaign_messages(&senders, 100).unwrap();
    assert_eq!(r.sent, queued, "{r:?}");
    let messages = got.lock().unwrap().clone();
    assert_eq!(messages.len() as u64, queued);
    let mut tx = t.app.store.begin(Lock::Writes).unwrap();
    let rows = tx.campaign_messages(row.id, None, 100).unwrap();
    drop(tx);
    let first = rows.iter().find(|m| m.state == MessageState::Sent).unwrap();
    let raw = messages
        .iter()
        .find(|m| m.contains(&format!("Message-ID: {}", first.message_id)))
        .unwrap_or_else(|| panic!("no message with id {}: {messages:?}", first.message_id));
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );
    let token = t.app.unsubscribe_token(first.customer_id, Channel::Email).unwrap();
    assert!(
        raw.contains(&format!("List-Unsubscribe: <https://shop.example/u/{token}>")),
        "{raw}"
    );
    // The link withdraws the consent at once; a forged one is refused.
    assert!(t.app.unsubscribe(&token.replace('.', "x"), "test").is_err());
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('0') { '1' } else { '0' });
    assert!(t.app.unsubscribe(&forged, "test").is_err());
    assert_eq!(t.app.unsubscribe(&token, "test").unwrap(), Channel::Email);
    let c = t.app.store.get_customer(first.customer_id).unwrap().unwrap();
    assert_eq!(
        c.consent(kesher_core::ConsentChannel::Email).map(|k| k.state),
        Some(ConsentState::Withdrawn)
    );
    // Again: nothing changes, no error.
    assert_eq!(t.app.unsubscribe(&token, "test").unwrap(), Channel::Email);
}

/// Wait (up to ten seconds) until `done` holds.
fn eventually(what: &str, done: impl Fn() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(std::time::Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn the_servers_delivery_loop_sends_a_launched_campaign_without_being_asked() {
    let (t, _) = world(30);
    let def = DEFINITION
        .replace("[\"email\"]", "[\"log\"]")
        .replace("\"control_bp\": 2000", "\"control_bp\": 1000");
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    let steps: Arc<std::sync::Mutex<Vec<DeliveryStep>>> = Arc::default();
    let heard = steps.clone();
    let delivery = DeliveryLoop::start(
        t.app.clone(),
        std::time::Duration::from_millis(5),
        Box::new(move |s| heard.lock().unwrap().push(s.clone())),
    )
    .unwrap();
    // Idle while nothing is launched: no step reported, nothing sent.
    std::thread::sleep(std::time::Duration::from_millis(50));
    assert!(steps.lock().unwrap().is_empty());
    let launched = t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!(launched.queued, 27);
    eventually("the loop to send every queued message", || {
        t.app.campaign(row.id).unwrap().counts.of(MessageState::Sent) == 27
    });
    delivery.stop();
    let steps = steps.lock().unwrap().clone();
    let sent: u64 = steps
        .iter()
        .map(|s| match s {
            DeliveryStep::Delivered(r) => r.sent,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(sent, 27, "each message sent once: {steps:?}");
    let view = t.app.campaign(row.id).unwrap();
    assert_eq!(view.counts.of(MessageState::Queued), 0);
    assert_eq!(view.counts.of(MessageState::Sending), 0);
    assert_eq!(t.app.campaign_report(row.id).unwrap().sent, 27);
}

#[test]
fn a_delivery_step_that_fails_is_reported_and_the_loop_goes_on() {
    let (t, _) = world(3);
    // A sender that panics: the step reports a failure, the panic goes no further.
    let mut senders = Some(Senders {
        email: Some(Box::new(Panicking)),
        sms: None,
        links: None,
    });
    let row = t.app.create_campaign(DEFINITION, &actor()).unwrap();
    let queued = t.app.launch_campaign(row.id, &actor()).unwrap().queued;
    assert!(queued > 0);
    match delivery_step(&t.app, &mut senders) {
        DeliveryStep::Failed(e) => assert!(e.contains("panicked"), "{e}"),
        other => panic!("{other:?}"),
    }
    // The claimed messages wait for their lease; after it they are sent by a working sender.
    let mut working = Some(Senders::default());
    working.as_mut().unwrap().email = Some(Box::new(Arc::new(Recording::default())));
    assert_eq!(delivery_step(&t.app, &mut working), DeliveryStep::Idle);
}

struct Panicking;

impl Sender for Panicking {
    fn send(&self, _: &OutboxMessage, _: &Customer) -> Result<(), SendError> {
        panic!("a sender bug")
    }
}

#[test]
fn a_scheduled_campaign_goes_at_its_local_time_and_not_before() {
    let (mut t, _) = world(10);
    let clock = Arc::new(ManualClock::new(ts("2025-03-01T08:00:00Z")));
    t.app = t.app.clone().with_clock(clock.clone());
    t.app.settings.time_zone = Some(jiff::tz::TimeZone::get("Asia/Jerusalem").unwrap());
    // 12:00 in Jerusalem (UTC+2 in March) is 10:00 UTC.
    let def = DEFINITION
        .replace("2025-02-28T10:00", "2025-03-01T12:00")
        .replace("[\"email\"]", "[\"log\"]")
        .replace("\"control_bp\": 2000", "\"control_bp\": 0");
    let noon = t.app.create_campaign(&def, &actor()).unwrap();
    // The same at 12:00, but its send window opens at 14:00 local (12:00 UTC).
    let windowed = def.replace(
        "\"control_bp\": 0",
        "\"control_bp\": 0, \"send_window\": {\"from_hour\": 14, \"to_hour\": 20}",
    );
    let late = t.app.create_campaign(&windowed, &actor()).unwrap();
    let r = t.app.launch_campaign(noon.id, &actor()).unwrap();
    assert_eq!(r.due, Some(ts("2025-03-01T10:00:00Z")));
    assert_eq!(r.queued, 10);
    let r = t.app.launch_campaign(late.id, &actor()).unwrap();
    assert_eq!(r.due, Some(ts("2025-03-01T12:00:00Z")));
    let due_times = |id| {
        let mut tx = t.app.store.begin(Lock::Writes).unwrap();
        tx.campaign_messages(id, None, 100)
            .unwrap()
            .into_iter()
            .map(|m| m.next_attempt_at)
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(due_times(noon.id), BTreeSet::from([Some(ts("2025-03-01T10:00:00Z"))]));
    assert_eq!(due_times(late.id), BTreeSet::from([Some(ts("2025-03-01T12:00:00Z"))]));
    let senders = Senders::default();
    // Nothing goes before its instant.
    assert_eq!(t.app.deliver_campaign_messages(&senders, 100).unwrap().claimed, 0);
    clock.set(ts("2025-03-01T09:59:59Z"));
    assert_eq!(t.app.deliver_campaign_messages(&senders, 100).unwrap().claimed, 0);
    clock.set(ts("2025-03-01T10:00:00Z"));
    let r = t.app.deliver_campaign_messages(&senders, 100).unwrap();
    assert_eq!(r.sent, 10);
    assert_eq!(t.app.campaign(noon.id).unwrap().counts.of(MessageState::Sent), 10);
    assert_eq!(t.app.campaign(late.id).unwrap().counts.of(MessageState::Sent), 0);
    clock.set(ts("2025-03-01T12:00:00Z"));
    assert_eq!(t.app.deliver_campaign_messages(&senders, 100).unwrap().sent, 10);
    let mut tx = t.app.store.begin(Lock::Writes).unwrap();
    let sent_at: BTreeSet<_> = tx
        .campaign_messages(late.id, None, 100)
        .unwrap()
        .into_iter()
        .map(|m| m.sent_at)
        .collect();
    assert_eq!(sent_at, BTreeSet::from([Some(ts("2025-03-01T12:00:00Z"))]));
    // A scheduled instant already past goes at once (the other tests' campaigns).
}

/// A branch and a product to sell (ILS), for responses.
fn shop(t: &TestApp) -> (kesher_core::BranchId, kesher_core::ProductId) {
    use kesher_core::{Branch, BranchId, Currency, Money, Product, ProductId};
    let branch = BranchId(uuid::Uuid::from_u128(0xb1));
    t.app
        .store
        .insert_branch(&Branch {
            id: branch,
            external_id: "B1".into(),
            name: "Tel Aviv".into(),
            region: None,
            time_zone: "Asia/Jerusalem".into(),
        })
        .unwrap();
    let product = ProductId(uuid::Uuid::from_u128(0x91));
    t.app
        .store
        .insert_product(&Product {
            id: product,
            sku: "BREAD".into(),
            name: "Bread".into(),
            category: None,
            list_price: Money::new(1000, Currency::parse("ILS").unwrap()),
            unit_cost: None,
        })
        .unwrap();
    (branch, product)
}

/// A purchase by `customer` now.
fn buy(t: &TestApp, shop: (kesher_core::BranchId, kesher_core::ProductId), customer: CustomerId, n: u128) {
    use kesher_core::{Currency, Line, Transaction, TransactionId};
    let sale = Transaction {
        id: TransactionId(uuid::Uuid::from_u128(0x5a1e_0000 + n)),
        external_id: format!("S{n}"),
        customer_id: Some(customer),
        branch_id: shop.0,
        employee_id: None,
        occurred_at: t.app.now(),
        currency: Currency::parse("ILS").unwrap(),
        lines: vec![Line {
            product_id: Some(shop.1),
            sku: None,
            quantity: 1,
            unit_price: 1000,
            discount: 0,
        }],
        refund_of: None,
    };
    t.app.record_sale(&sale, &actor()).unwrap();
}

fn rows_of(t: &TestApp, id: CampaignId) -> Vec<OutboxMessage> {
    let mut tx = t.app.store.begin(Lock::Writes).unwrap();
    tx.campaign_messages(id, None, 1_000).unwrap()
}

#[test]
fn the_ab_winner_is_chosen_after_the_test_and_sent_to_those_who_waited() {
    let (mut t, _) = world(40);
    let clock = Arc::new(ManualClock::new(ts("2025-03-01T08:00:00Z")));
    t.app = t.app.clone().with_clock(clock.clone());
    let shop = shop(&t);
    let def = DEFINITION.replace("[\"email\"]", "[\"log\"]").replace(
        "\"control_bp\": 2000",
        r#""control_bp": 0, "variants_test_hours": 6, "variants": [
                {"key": "plain", "share_bp": 2500},
                {"key": "warm", "share_bp": 2500, "templates": {
                    "en": {"subject": "Dear {{ customer.first_name }}"},
                    "he": {"subject": "יקר {{ customer.first_name }}"},
                    "fa": {"subject": "عزیز {{ customer.first_name }}"}}}]"#,
    );
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    let launched = t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!(launched.waiting, 20, "{launched:?}");
    let senders = Senders::default();
    assert_eq!(t.app.deliver_campaign_messages(&senders, 100).unwrap().sent, 20);
    let arm = |m: &OutboxMessage| m.arm.clone();
    let rows = rows_of(&t, row.id);
    let warm: Vec<CustomerId> = rows
        .iter()
        .filter(|m| arm(m) == "variant:1")
        .map(|m| m.customer_id)
        .collect();
    let plain: Vec<CustomerId> = rows
        .iter()
        .filter(|m| arm(m) == "variant:0")
        .map(|m| m.customer_id)
        .collect();
    assert_eq!((warm.len(), plain.len()), (10, 10));
    // An hour later, 3 of the warm variant's recipients and 1 of the plain one's buy.
    clock.set(ts("2025-03-01T09:00:00Z"));
    for (n, c) in warm.iter().take(3).chain(plain.iter().take(1)).enumerate() {
        buy(&t, shop, *c, n as u128);
    }
    // The test lasts six hours after the last variant message was sent: nothing chosen yet.
    clock.set(ts("2025-03-01T13:59:59Z"));
    let r = t.app.pick_campaign_winners(&actor()).unwrap();
    assert_eq!((r.chosen.len(), r.released, r.testing), (0, 0, 1));
    assert!(t.app.campaign(row.id).unwrap().winner.is_none());
    assert_eq!(
        t.app.deliver_campaign_messages(&senders, 100).unwrap().claimed,
        0,
        "the rest waits"
    );
    clock.set(ts("2025-03-01T14:00:00Z"));
    let r = t.app.pick_campaign_winners(&actor()).unwrap();
    assert_eq!(r.released, 20);
    let choice = t.app.campaign(row.id).unwrap().winner.unwrap();
    assert_eq!((choice.variant, choice.key.as_deref()), (Some(1), Some("warm")));
    assert_eq!(choice.chosen_at, ts("2025-03-01T14:00:00Z"));
    assert_eq!(choice.released_at, Some(ts("2025-03-01T14:00:00Z")));
    assert_eq!(
        choice.results,
        vec![
            VariantResult {
                key: "plain".into(),
                recipients: 10,
                responders: 1
            },
            VariantResult {
                key: "warm".into(),
                recipients: 10,
                responders: 3
            },
        ]
    );
    // The run reports the choice as made, before its release.
    let made = WinnerChoice {
        released_at: None,
        ..choice.clone()
    };
    assert_eq!(r.chosen, vec![(row.id.to_string(), made)]);
    // The waiting rows carry the winner's texts in their language and are due now.
    for m in rows_of(&t, row.id).iter().filter(|m| m.arm == "rest") {
        assert_eq!(m.state, MessageState::Queued);
        assert_eq!(m.next_attempt_at, Some(ts("2025-03-01T14:00:00Z")));
        let subject = m.subject.clone().unwrap();
        let i = m.customer_id.0.as_u128();
        let expected = match m.language.as_deref() {
            Some("en") => format!("Dear Dana{i}"),
            Some("he") => format!("יקר Dana{i}"),
            Some("fa") => format!("عزیز Dana{i}"),
            other => panic!("{other:?}"),
        };
        assert_eq!(subject, expected);
    }
    assert_eq!(t.app.deliver_campaign_messages(&senders, 100).unwrap().sent, 20);
    // Recorded: the report shows it, the audit log has it, and a second run changes nothing.
    let report = t.app.campaign_report(row.id).unwrap();
    assert_eq!(report.winner.as_ref().and_then(|w| w.variant), Some(1));
    assert_eq!(report.sent, 40);
    let again = t.app.pick_campaign_winners(&actor()).unwrap();
    assert_eq!(again, WinnersReport::default());
    let audit = t.app.store.audit_log(1_000, 0).unwrap();
    let recorded = audit
        .iter()
        .find(|e| e.action == "campaign.winner" && e.entity_id == row.id.to_string())
        .unwrap_or_else(|| panic!("{audit:?}"));
    assert_eq!(recorded.after.as_ref().unwrap()["key"], "warm");
}

/// A row that waited for the A/B winner meets the frequency cap again at its release: another
/// campaign sent to the customer meanwhile suppresses it as `frequency_cap`.
#[test]
fn a_released_ab_row_is_held_to_the_frequency_cap_again() {
    let (mut t, _) = world(20);
    let clock = Arc::new(ManualClock::new(ts("2025-03-01T08:00:00Z")));
    t.app = t.app.clone().with_clock(clock.clone());
    let def = DEFINITION.replace("[\"email\"]", "[\"log\"]").replace(
        "\"control_bp\": 2000",
        r#""control_bp": 0, "variants_test_hours": 6, "frequency_cap": {"messages": 1, "days": 7},
           "variants": [{"key": "a", "share_bp": 2500}, {"key": "b", "share_bp": 2500}]"#,
    );
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    let launched = t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!(launched.waiting, 10, "{launched:?}");
    let senders = Senders::default();
    assert_eq!(t.app.deliver_campaign_messages(&senders, 100).unwrap().sent, 10);
    // Meanwhile another campaign reaches everyone.
    let other = DEFINITION
        .replace("[\"email\"]", "[\"log\"]")
        .replace("\"control_bp\": 2000", "\"control_bp\": 0")
        .replace("Spring", "Other");
    let other = t.app.create_campaign(&other, &actor()).unwrap();
    t.app.launch_campaign(other.id, &actor()).unwrap();
    clock.set(ts("2025-03-01T09:00:00Z"));
    assert_eq!(t.app.deliver_campaign_messages(&senders, 100).unwrap().sent, 20);
    clock.set(ts("2025-03-01T15:00:00Z"));
    let r = t.app.pick_campaign_winners(&actor()).unwrap();
    assert_eq!(r.released, 0, "{r:?}");
    let rest: Vec<OutboxMessage> = rows_of(&t, row.id).into_iter().filter(|m| m.arm == "rest").collect();
    assert_eq!(rest.len(), 10);
    assert!(
        rest.iter()
            .all(|m| m.state == MessageState::Suppressed && m.suppression.as_deref() == Some("frequency_cap")),
        "{rest:?}"
    );
    assert_eq!(t.app.deliver_campaign_messages(&senders, 100).unwrap().claimed, 0);
}

/// Move customers to Haifa (into the saved segment `haifa`) or away from it.
fn move_to(t: &TestApp, ids: &[CustomerId], city: Option<&str>) {
    for id in ids {
        let mut c = t.app.store.get_customer(*id).unwrap().unwrap();
        c.demographics.city = city.map(str::to_string);
        t.app.update_customer(&c, &actor()).unwrap();
    }
}

#[test]
fn a_triggered_campaign_writes_a_row_for_each_customer_entering_its_segment_after_the_launch() {
    let (mut t, ids) = world(40);
    let clock = Arc::new(ManualClock::new(ts("2025-03-01T08:00:00Z")));
    t.app = t.app.clone().with_clock(clock.clone());
    t.app.save_segment("haifa", "city = \"Haifa\"", None, &actor()).unwrap();
    // Five customers are in the segment before the launch.
    move_to(&t, &ids[..5], Some("Haifa"));
    t.app.refresh_segment_history(&actor()).unwrap();
    let def = DEFINITION
        .replace(
            r#"{"type": "scheduled", "at": "2025-02-28T10:00"}"#,
            r#"{"type": "triggered", "segment": "haifa"}"#,
        )
        .replace("\"visits >= 0\"", "\"haifa\"")
        .replace("[\"email\"]", "[\"log\"]");
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    // A triggered campaign on a segment nobody saved cannot launch.
    let orphan = t
        .app
        .create_campaign(
            &def.replace("\"segment\": \"haifa\"", "\"segment\": \"nowhere\""),
            &actor(),
        )
        .unwrap();
    assert!(t.app.launch_campaign(orphan.id, &actor()).is_err());
    clock.set(ts("2025-03-01T09:00:00Z"));
    let launched = t.app.launch_campaign(row.id, &actor()).unwrap();
    assert_eq!((launched.audience, launched.written), (0, 0), "nothing at the launch");
    assert_eq!(
        t.app.campaign(row.id).unwrap().row.launched_at,
        Some(ts("2025-03-01T09:00:00Z"))
    );
    // Twenty enter after the launch; the hourly job records them and fires the campaign.
    clock.set(ts("2025-03-01T09:50:00Z"));
    move_to(&t, &ids[5..25], Some("Haifa"));
    let worker = crate::jobs::Worker::new("w", jiff::SignedDuration::from_mins(5));
    match t
        .app
        .run_job_now("segments.refresh", serde_json::json!({}), &worker)
        .unwrap()
    {
        crate::jobs::JobOutcome::Completed { job } => {
            let fired = &job.result.as_ref().unwrap()["triggered"]["campaigns"];
            assert_eq!(fired[0]["entered"], 20, "{fired}");
            assert_eq!(fired[0]["written"], 20, "{fired}");
        }
        other => panic!("{other:?}"),
    }
    let rows = rows_of(&t, row.id);
    let written: BTreeSet<CustomerId> = rows.iter().map(|m| m.customer_id).collect();
    assert_eq!(written, ids[5..25].iter().copied().collect::<BTreeSet<_>>());
    // The control group is drawn customer by customer from the campaign's seed.
    for m in &rows {
        let control = draw::in_control(row.seed, m.customer_id, 2000);
        assert_eq!(m.suppression.as_deref() == Some("control"), control, "{m:?}");
        if !control {
            assert_eq!(m.state, MessageState::Queued);
            assert_eq!(m.next_attempt_at, Some(ts("2025-03-01T09:50:00Z")));
            assert!(
                m.body
                    .as_deref()
                    .unwrap()
                    .contains(&format!("Dana{}", m.customer_id.0.as_u128()))
            );
        }
    }
    let control = rows.iter().filter(|m| m.arm == "control").count();
    assert!(control < 20, "some are sent: {control}");
    // Again: nobody is written twice.
    let again = t.app.fire_triggered_campaigns(&actor()).unwrap();
    assert_eq!(again.campaigns[0].entered, 0);
    assert_eq!(rows_of(&t, row.id).len(), 20);
    // One more enters, and one of the first five leaves and comes back: both are entries after
    // the launch.
    clock.set(ts("2025-03-01T10:50:00Z"));
    move_to(&t, &ids[25..26], Some("Haifa"));
    move_to(&t, &ids[0..1], None);
    // A refresh's events carry its actor's instant: the clock's, as the job's.
    let now = || Actor::new("test", t.app.now());
    t.app.refresh_segment_history(&now()).unwrap();
    clock.set(ts("2025-03-01T11:50:00Z"));
    move_to(&t, &ids[0..1], Some("Haifa"));
    t.app.refresh_segment_history(&now()).unwrap();
    let fired = t.app.fire_triggered_campaigns(&now()).unwrap();
    assert_eq!((fired.campaigns[0].entered, fired.campaigns[0].written), (2, 2));
    let written: BTreeSet<CustomerId> = rows_of(&t, row.id).iter().map(|m| m.customer_id).collect();
    assert!(written.contains(&ids[25]) && written.contains(&ids[0]));
    assert!(!written.contains(&ids[1]), "in the segment since before the launch");
    // The delivery sends them.
    let sent = t.app.deliver_campaign_messages(&Senders::default(), 100).unwrap().sent;
    assert_eq!(
        sent as usize,
        22 - rows_of(&t, row.id).iter().filter(|m| m.arm == "control").count()
    );
}

/// The next best offers (a mining of every basket) are computed only for texts that name them.
#[test]
fn offers_are_loaded_only_for_texts_that_name_them() {
    let plain = Campaign::parse(DEFINITION).unwrap();
    assert!(!needs_offers(&plain));
    let with_nbo = DEFINITION.replace(
        "\"body\": \"<p>Hello {{ customer.first_name }} & co</p>\"",
        "\"body\": \"<p>{% if nbo %}{{ nbo.name }}{% endif %}</p>\"",
    );
    assert_ne!(with_nbo, DEFINITION);
    assert!(needs_offers(&Campaign::parse(&with_nbo).unwrap()));
    // A preview of a text naming nbo has it in its data (null without an offer, never missing).
    let (t, ids) = world(2);
    let row = t.app.create_campaign(&with_nbo, &actor()).unwrap();
    let p = t.app.preview_campaign(row.id, ids[1], None).unwrap();
    assert_eq!(p.language, "en");
    assert_eq!(p.body.as_deref(), Some("<p></p>"));
}

const BIRTHDAY: &str = r#"{
  "name": "Birthday",
  "kind": {"type": "recurring", "on": "birthday", "days_before": 2, "local_time": "09:00"},
  "audience": "visits >= 0",
  "channels": ["email"],
  "default_language": "en",
  "templates": {"en": {"subject": "Happy birthday {{ customer.first_name }}", "body": "<p>Happy birthday</p>"}}
}"#;

/// A business in Jerusalem whose clock reads 00:20 local on 3 March 2025 (22:20 UTC the day
/// before): customers 1 and 2 born on 5 March (greeted today, two days ahead), 3 on 1 July, 4 on
/// 29 February; all with the e-mail consent.
fn birthdays() -> (TestApp, Arc<ManualClock>, Vec<CustomerId>) {
    let mut t = app_named("recurring");
    let clock = Arc::new(ManualClock::new(ts("2025-03-02T22:20:00Z")));
    t.app = t.app.clone().with_clock(clock.clone());
    t.app.settings.time_zone = Some(jiff::tz::TimeZone::get("Asia/Jerusalem").unwrap());
    let born = [
        jiff::civil::date(1990, 3, 5),
        jiff::civil::date(1992, 3, 5),
        jiff::civil::date(1985, 7, 1),
        jiff::civil::date(2000, 2, 29),
    ];
    let ids = born
        .iter()
        .enumerate()
        .map(|(i, birth)| {
            let n = i as u128 + 1;
            let mut c = Customer::bare(
                CustomerId(uuid::Uuid::from_u128(n)),
                Some(format!("M{n}")),
                ts("2024-01-01T00:00:00Z"),
            );
            c.name = Some(format!("Dana{n} Levi"));
            c.language = Some("en".into());
            c.email = Some(Email::parse(&format!("c{n}@example.com")).unwrap());
            c.demographics.birth_date = Some(*birth);
            c.consents.push(Consent {
                channel: ConsentChannel::Email,
                state: ConsentState::Granted,
                at: ts("2024-01-01T00:00:00Z"),
                source: "test".into(),
            });
            t.app.insert_customer(&c, &actor()).unwrap();
            c.id
        })
        .collect();
    (t, clock, ids)
}

fn recurring_rows(t: &TestApp, id: CampaignId) -> Vec<OutboxMessage> {
    let mut tx = t.app.store.begin(Lock::Writes).unwrap();
    tx.campaign_messages(id, None, 1_000).unwrap()
}

#[test]
fn a_birthday_is_greeted_once_a_year_however_often_the_day_is_run() {
    let (t, clock, ids) = birthdays();
    let row = t.app.create_campaign(BIRTHDAY, &actor()).unwrap();
    // The launch activates it and writes nothing.
    assert_eq!(
        t.app.launch_campaign(row.id, &actor()).unwrap(),
        LaunchReport::default()
    );
    let view = t.app.campaign(row.id).unwrap();
    assert_eq!(view.row.state, CampaignState::Launched);
    assert!(view.counts.rows.is_empty());

    let run = t.app.run_recurring_campaigns(None, &actor()).unwrap();
    assert_eq!(run.day, "2025-03-03", "the business's local day, not UTC's");
    assert_eq!((run.campaigns[0].due, run.campaigns[0].written), (2, 2));
    let rows = recurring_rows(&t, row.id);
    assert_eq!(rows.iter().map(|m| m.customer_id).collect::<Vec<_>>(), ids[..2]);
    for m in &rows {
        assert_eq!(m.occurrence, 2025);
        assert_eq!(m.state, MessageState::Queued);
        // 09:00 in Jerusalem (UTC+2 in March before the change).
        assert_eq!(m.next_attempt_at, Some(ts("2025-03-03T07:00:00Z")));
        assert_eq!(m.message_id, occurrence_message_id(row.id, m.customer_id, 2025));
        assert_eq!(
            m.subject.as_deref(),
            Some(format!("Happy birthday Dana{}", m.customer_id.0.as_u128()).as_str())
        );
    }
    // The same day again: nothing new.
    let again = t.app.run_recurring_campaigns(None, &actor()).unwrap();
    assert_eq!((again.campaigns[0].due, again.campaigns[0].written), (0, 0));

    // A crash part-way: customer 2's page never committed. The job retried writes it, and
    // customer 1's row stays as it was.
    {
        let mut tx = t.app.store.begin(Lock::Writes).unwrap();
        tx.delete_campaign_messages(ids[1]).unwrap();
        tx.commit().unwrap();
    }
    clock.set(ts("2025-03-03T05:00:00Z"));
    let worker = crate::jobs::Worker::new("w", jiff::SignedDuration::from_mins(5));
    match t
        .app
        .run_job_now(crate::jobs::kinds::CAMPAIGNS_RECURRING, serde_json::json!({}), &worker)
        .unwrap()
    {
        crate::jobs::JobOutcome::Completed { job } => {
            let result = job.result.unwrap();
            assert_eq!(result["campaigns"][0]["written"], 1, "{result}");
        }
        other => panic!("{other:?}"),
    }
    let after_crash = recurring_rows(&t, row.id);
    assert_eq!(after_crash.len(), 2);
    assert_eq!(after_crash[0], rows[0], "customer 1's row untouched");

    // A year later: each is greeted again, with the new year's key and message id.
    clock.set(ts("2026-03-02T22:20:00Z"));
    let next = t.app.run_recurring_campaigns(None, &actor()).unwrap();
    assert_eq!(next.day, "2026-03-03");
    assert_eq!(next.campaigns[0].written, 2);
    let rows = recurring_rows(&t, row.id);
    assert_eq!(rows.len(), 4);
    let keys: Vec<(CustomerId, i64)> = rows.iter().map(|m| m.key()).collect();
    assert_eq!(
        keys,
        vec![(ids[0], 2025), (ids[0], 2026), (ids[1], 2025), (ids[1], 2026)]
    );
    let mut message_ids: Vec<&str> = rows.iter().map(|m| m.message_id.as_str()).collect();
    message_ids.dedup();
    assert_eq!(message_ids.len(), 4);
    assert_eq!(
        t.app.run_recurring_campaigns(None, &actor()).unwrap().campaigns[0].written,
        0
    );
}

#[test]
fn a_leap_day_birthday_is_greeted_on_28_february_and_a_past_day_is_caught_up() {
    let (t, _clock, ids) = birthdays();
    let def = BIRTHDAY.replace(r#""days_before": 2"#, r#""days_before": 0"#);
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    t.app.launch_campaign(row.id, &actor()).unwrap();
    // 28 February 2025, run late (on 3 March): customer 4 is greeted at once.
    let run = t
        .app
        .run_recurring_campaigns(Some(jiff::civil::date(2025, 2, 28)), &actor())
        .unwrap();
    assert_eq!(run.campaigns[0].written, 1);
    let rows = recurring_rows(&t, row.id);
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].customer_id, rows[0].occurrence), (ids[3], 2025));
    assert_eq!(
        rows[0].next_attempt_at,
        Some(ts("2025-03-02T22:20:00Z")),
        "now: a catch-up"
    );
    // 1 March is nobody's day in 2025.
    let none = t
        .app
        .run_recurring_campaigns(Some(jiff::civil::date(2025, 3, 1)), &actor())
        .unwrap();
    assert_eq!(none.campaigns[0].due, 0);
}

#[test]
fn a_customer_without_consent_is_suppressed_and_a_withdrawal_stops_a_queued_greeting() {
    let (t, clock, ids) = birthdays();
    let row = t.app.create_campaign(BIRTHDAY, &actor()).unwrap();
    t.app.launch_campaign(row.id, &actor()).unwrap();
    // Customer 2 withdrew the e-mail consent before the day.
    let mut two = t.app.store.get_customer(ids[1]).unwrap().unwrap();
    two.consents = vec![Consent {
        channel: ConsentChannel::Email,
        state: ConsentState::Withdrawn,
        at: ts("2025-03-01T00:00:00Z"),
        source: "test".into(),
    }];
    t.app.update_customer(&two, &actor()).unwrap();
    t.app.run_recurring_campaigns(None, &actor()).unwrap();
    let rows = recurring_rows(&t, row.id);
    assert_eq!(rows[0].state, MessageState::Queued);
    assert_eq!(
        (rows[1].state, rows[1].suppression.as_deref()),
        (MessageState::Suppressed, Some("no_consent"))
    );
    // Customer 1 withdraws after the row was queued: the delivery suppresses it.
    let mut one = t.app.store.get_customer(ids[0]).unwrap().unwrap();
    one.consents = vec![Consent {
        channel: ConsentChannel::Email,
        state: ConsentState::Withdrawn,
        at: ts("2025-03-03T06:00:00Z"),
        source: "test".into(),
    }];
    t.app.update_customer(&one, &actor()).unwrap();
    clock.set(ts("2025-03-03T07:00:00Z"));
    let r = t.app.deliver_campaign_messages(&Senders::default(), 100).unwrap();
    assert_eq!((r.claimed, r.suppressed, r.sent), (1, 1, 0));
    let report = t.app.campaign_report(row.id).unwrap();
    assert_eq!(report.sent, 0);
    assert_eq!(report.suppressed.get("no_consent"), Some(&2));
}

#[test]
fn each_year_draws_its_own_control_group_and_the_report_adds_the_years() {
    let mut t = app_named("recurring-control");
    let clock = Arc::new(ManualClock::new(ts("2025-06-01T06:00:00Z")));
    t.app = t.app.clone().with_clock(clock.clone());
    for n in 1..=60u128 {
        let mut c = Customer::bare(CustomerId(uuid::Uuid::from_u128(n)), None, ts("2024-01-01T00:00:00Z"));
        c.name = Some(format!("Dana{n} Levi"));
        c.language = Some("en".into());
        c.demographics.birth_date = Some(jiff::civil::date(1980 + (n % 20) as i16, 6, 1));
        c.consents.push(Consent {
            channel: ConsentChannel::Email,
            state: ConsentState::Granted,
            at: ts("2024-01-01T00:00:00Z"),
            source: "test".into(),
        });
        c.email = Some(Email::parse(&format!("c{n}@example.com")).unwrap());
        t.app.insert_customer(&c, &actor()).unwrap();
    }
    let def = BIRTHDAY
        .replace(r#""days_before": 2"#, r#""days_before": 0"#)
        .replace(r#"["email"]"#, r#"["log"]"#)
        .replace(r#""audience""#, r#""control_bp": 5000, "audience""#);
    let row = t.app.create_campaign(&def, &actor()).unwrap();
    t.app.launch_campaign(row.id, &actor()).unwrap();
    let control_of = |year: i64| -> BTreeSet<CustomerId> {
        recurring_rows(&t, row.id)
            .into_iter()
            .filter(|m| m.occurrence == year && m.arm == "control")
            .map(|m| m.customer_id)
            .collect()
    };
    t.app.run_recurring_campaigns(None, &actor()).unwrap();
    clock.set(ts("2025-06-01T09:00:00Z"));
    assert!(t.app.deliver_campaign_messages(&Senders::default(), 100).unwrap().sent > 0);
    clock.set(ts("2026-06-01T06:00:00Z"));
    t.app.run_recurring_campaigns(None, &actor()).unwrap();
    clock.set(ts("2026-06-01T09:00:00Z"));
    t.app.deliver_campaign_messages(&Senders::default(), 100).unwrap();
    let (first, second) = (control_of(2025), control_of(2026));
    assert!(!first.is_empty() && !second.is_empty());
    assert_ne!(first, second, "drawn afresh each year");
    let report = t.app.campaign_report(row.id).unwrap();
    assert_eq!(report.sent + report.control, 120);
    assert_eq!(report.occurrences.len(), 2);
    assert_eq!(report.occurrences[0].occurrence, 2025);
    assert_eq!(report.occurrences[0].control, first.len() as u64);
    assert_eq!(report.occurrences[1].control, second.len() as u64);
    assert_eq!(report.occurrences.iter().map(|o| o.sent).sum::<u64>(), report.sent);
}
