//! The campaigns' workflows on SQLite with a settable clock: create (the definition and the
//! audience checked), preview in the customer's language, a launch that writes every row once
//! (the control group exact, suppressions with their reasons, a resumed launch writing nothing
//! twice), pause, and a template naming what the data lacks refused.

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
  "kind": {"type": "scheduled", "at": "2025-03-01T10:00"},
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
