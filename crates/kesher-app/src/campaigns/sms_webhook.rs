//! The SMS channel through the business's SMS provider's HTTP webhook (`KESHER_SMS_WEBHOOK`),
//! and the replies coming back (`App::sms_reply`): an opt-out word withdraws the customer's SMS
//! consent at once.
//!
//! Each outbox row is one `POST` of JSON to the webhook:
//!
//! ```json
//! {"id": "<message id>", "to": "+972501234567", "text": "…", "from": "KESHER",
//!  "encoding": "ucs2", "segments": 2, "campaign_id": "…", "customer_id": "…"}
//! ```
//!
//! with `Idempotency-Key: <message id>` (stable per campaign and customer, so that a send
//! repeated after a crash is recognisably the same one and a provider that honours the header
//! drops it) and, when `KESHER_SMS_WEBHOOK_AUTH` is set, `Authorization: <that value>`. A 2xx is
//! sent; 408, 425, 429, a 5xx and a connection that fails are tried again later (the outbox's
//! backoff); any other 4xx is a refusal for good. The text's encoding and segments are the
//! network's count (`kesher_campaign::sms`): Hebrew and Persian go as UCS-2, 70 characters in
//! one message, 67 per segment.

use super::{SendError, Sender};
use crate::App;
use crate::segments::SegmentError;
use kesher_campaign::sms;
use kesher_core::{Consent, ConsentChannel, ConsentState, Customer};
use kesher_store::{Actor, Identifier, OutboxMessage, StoreError};

/// How long one webhook call may take before it counts as a failure to try again.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// An SMS sender posting to the provider's webhook.
pub struct WebhookSender {
    agent: ureq::Agent,
    url: String,
    authorization: Option<String>,
    from: Option<String>,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender")
            .field("url", &self.url)
            .field("authorization", &self.authorization.as_ref().map(|_| "***"))
            .field("from", &self.from)
            .finish()
    }
}

/// Whether `host` is this machine (where a plain `http://` webhook is acceptable).
fn loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl WebhookSender {
    /// A sender to `url` (`https://host[:port]/path`; `http://` only to this machine, since the
    /// texts and the credentials would cross the network in clear), with `authorization` the
    /// `Authorization` header's value (`Bearer …`, `Basic …`) and `from` the sender name or
    /// number the provider shows. Errors never repeat the credentials.
    pub fn new(url: &str, authorization: Option<&str>, from: Option<&str>) -> Result<WebhookSender, String> {
        let shown = super::email::redact(url);
        let refuse = |why: &str| format!("KESHER_SMS_WEBHOOK {shown:?}: {why}");
        let (secure, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            _ => return Err(refuse("expected https://host/path")),
        };
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if authority.contains('@') {
            return Err(refuse("put the credentials in KESHER_SMS_WEBHOOK_AUTH, not in the URL"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((h, after)) => (h, after.strip_prefix(':')),
                None => return Err(refuse("an IPv6 address in brackets")),
            },
            None => match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            },
        };
        if let Some(p) = port
            && p.parse::<u16>().is_err()
        {
            return Err(refuse("the port is not a number"));
        }
        if host.is_empty() {
            return Err(refuse("the host is missing"));
        }
        if !secure && !loopback(host) {
            return Err(refuse(
                "plain http:// is only for a webhook on this machine; use https://",
            ));
        }
        if url.len() > 2_000 || url.chars().any(char::is_whitespace) {
            return Err(refuse("not a URL"));
        }
        if let Some(a) = authorization
            && (a.is_empty() || a.len() > 4_096 || a.chars().any(|c| c.is_control()))
        {
            return Err("KESHER_SMS_WEBHOOK_AUTH: an Authorization header value on one line".into());
        }
        if let Some(f) = from
            && (f.trim().is_empty() || f.chars().count() > 20)
        {
            return Err("KESHER_SMS_FROM: a sender name or number of 1 to 20 characters".into());
        }
        let agent = ureq::AgentBuilder::new()
            .timeout(TIMEOUT)
            .redirects(0)
            .user_agent(concat!("kesher/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(WebhookSender {
            agent,
            url: url.to_string(),
            authorization: authorization.map(str::to_string),
            from: from.map(|f| f.trim().to_string()),
        })
    }
}

/// Whether the provider's reply means "try again later".
fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429) || status >= 500
}

impl Sender for WebhookSender {
    fn send(&self, message: &OutboxMessage, to: &Customer) -> Result<(), SendError> {
        let phone = to
            .phone
            .as_ref()
            .ok_or_else(|| SendError::Permanent("no phone number".into()))?;
        let text = message.body.clone().unwrap_or_default();
        let length = sms::measure(&text);
        let body = serde_json::json!({
            "id": message.message_id,
            "to": phone.to_string(),
            "text": text,
            "from": self.from,
            "encoding": length.encoding.as_str(),
            "segments": length.segments,
            "campaign_id": message.campaign_id.to_string(),
            "customer_id": message.customer_id.to_string(),
        });
        let mut request = self.agent.post(&self.url).set("Idempotency-Key", &message.message_id);
        if let Some(a) = &self.authorization {
            request = request.set("Authorization", a);
        }
        match request.send_json(body) {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(status, response)) => {
                let said: String = response.into_string().unwrap_or_default().chars().take(300).collect();
                let why = format!("the SMS provider answered {status}: {said}");
                if transient_status(status) {
                    Err(SendError::Transient(why))
                } else {
                    Err(SendError::Permanent(why))
                }
            }
            Err(ureq::Error::Transport(t)) => Err(SendError::Transient(format!("the SMS provider: {t}"))),
        }
    }
}

/// What a reply did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SmsReply {
    /// The reply was an opt-out word.
    pub opt_out: bool,
    /// A customer holds the number.
    pub known: bool,
    /// The customer's SMS consent was withdrawn now (false when it already was).
    pub withdrawn: bool,
}

/// The key of the replies' address: 128 bits of SHA-256 over the campaigns' secret (the one the
/// unsubscribe links are signed with), so it needs no setting of its own and changes with it.
fn reply_key(secret: &str) -> String {
    kesher_auth::hash_secret(&format!("kesher-sms-replies\n{secret}"))
        .chars()
        .take(32)
        .collect()
}

impl App {
    /// The key the SMS provider must send with each reply it passes on (`?key=…` on the address,
    /// or the `X-Kesher-Sms-Key` header): `kesher campaigns sms-replies` prints the whole address.
    pub fn sms_reply_key(&self) -> Result<String, SegmentError> {
        Ok(reply_key(&self.unsubscribe_secret()?))
    }

    /// `sms_reply` for a caller holding `key`; a missing or wrong key is refused
    /// (`campaign.sms.reply.key`) before anything is read. Compared in full, whatever the first
    /// difference.
    pub fn sms_reply_with_key(
        &self,
        key: Option<&str>,
        from: &str,
        text: &str,
        origin: &str,
    ) -> Result<SmsReply, SegmentError> {
        let expected = self.sms_reply_key()?;
        if !super::email::same_secret(&expected, key.unwrap_or("")) {
            return Err(SegmentError::Store(StoreError::invalid_coded(
                "campaign.sms.reply.key",
                "key",
                kesher_core::params!(),
                "the SMS replies' key is missing or wrong",
            )));
        }
        self.sms_reply(from, text, origin)
    }

    /// A reply the SMS provider passes on: from `from` (any notation, read in the business's
    /// default country), saying `text`. An opt-out word (`kesher_campaign::sms::is_opt_out`)
    /// withdraws the SMS consent of the customer holding the number at once, recorded with the
    /// source `sms:opt-out`; every later SMS to them, queued ones included, is suppressed at
    /// sending. Any other reply, and a number nobody holds, changes nothing.
    pub fn sms_reply(&self, from: &str, text: &str, origin: &str) -> Result<SmsReply, SegmentError> {
        let phone = kesher_core::Phone::parse(from, self.phone_country(None)?).map_err(|mut e| {
            e.field = "from";
            SegmentError::Store(StoreError::from(e))
        })?;
        let opt_out = sms::is_opt_out(text);
        let Some(mut c) = self.store.lookup_customer(&Identifier::Phone(phone))? else {
            return Ok(SmsReply {
                opt_out,
                known: false,
                withdrawn: false,
            });
        };
        let already = c
            .consent(ConsentChannel::Sms)
            .is_some_and(|k| k.state == ConsentState::Withdrawn);
        if !opt_out || already {
            return Ok(SmsReply {
                opt_out,
                known: true,
                withdrawn: false,
            });
        }
        let now = self.now();
        c.consents.retain(|k| k.channel != ConsentChannel::Sms);
        c.consents.push(Consent {
            channel: ConsentChannel::Sms,
            state: ConsentState::Withdrawn,
            at: now,
            source: "sms:opt-out".into(),
        });
        let actor = Actor::new("customer:sms-opt-out", now).from(origin.to_string());
        self.update_customer(&c, &actor)?;
        Ok(SmsReply {
            opt_out,
            known: true,
            withdrawn: true,
        })
    }
}

#[cfg(test)]
mod tests {
    //! The webhook against a small HTTP server on loopback that records what arrived and answers
    //! as it is told.

    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    /// One request as the server read it.
    struct Seen {
        head: String,
        body: serde_json::Value,
    }

    /// A server answering each request with the next of `statuses`, handing what it read over.
    fn server(statuses: Vec<u16>) -> (String, mpsc::Receiver<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for status in statuses {
                let Ok((stream, _)) = listener.accept() else { return };
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let mut body = vec![0u8; length];
                let _ = reader.read_exact(&mut body);
                let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nno");
                let _ = reader.get_mut().write_all(reply.as_bytes());
                let _ = tx.send(Seen {
                    head,
                    body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                });
            }
        });
        (format!("http://127.0.0.1:{port}/sms/send"), rx)
    }

    /// The e-mail tests' message as an SMS in Hebrew, to Dana's phone.
    fn message(text: &str) -> (OutboxMessage, Customer) {
        let (m, mut c) = super::super::email::tls_tests::message();
        c.phone = kesher_core::Phone::parse("050-1234567", kesher_core::Country::israel()).ok();
        let m = OutboxMessage {
            channel: Some("sms".into()),
            language: Some("he".into()),
            subject: None,
            body: Some(text.into()),
            message_id: "<c1.7@kesher>".into(),
            ..m
        };
        (m, c)
    }

    #[test]
    fn a_message_arrives_as_json_with_its_number_encoding_segments_and_key() {
        let (url, seen) = server(vec![200]);
        let sender = WebhookSender::new(&url, Some("Bearer s3cret"), Some("Kesher")).expect("a sender");
        let text = "שלום דנה, ".repeat(8);
        let (m, c) = message(&text);
        assert_eq!(sender.send(&m, &c), Ok(()));
        let got = seen.recv().expect("a request");
        assert!(got.head.starts_with("POST /sms/send HTTP/1.1"), "{}", got.head);
        let head = got.head.to_ascii_lowercase();
        assert!(head.contains("authorization: bearer s3cret"), "{head}");
        assert!(head.contains("idempotency-key: <c1.7@kesher>"), "{head}");
        assert_eq!(got.body["to"], "+972501234567");
        assert_eq!(got.body["text"], text.as_str());
        assert_eq!(got.body["from"], "Kesher");
        assert_eq!(got.body["id"], "<c1.7@kesher>");
        // 80 Hebrew characters: UCS-2, over 70, so two segments of 67.
        assert_eq!(got.body["encoding"], "ucs2");
        assert_eq!(got.body["segments"], 2);
    }

    #[test]
    fn a_busy_provider_is_tried_again_and_a_refusal_is_final() {
        let (url, _seen) = server(vec![503, 429, 400, 200]);
        let sender = WebhookSender::new(&url, None, None).expect("a sender");
        let (m, c) = message("Hello Dana");
        assert!(matches!(sender.send(&m, &c), Err(SendError::Transient(_))));
        assert!(matches!(sender.send(&m, &c), Err(SendError::Transient(_))));
        match sender.send(&m, &c) {
            Err(SendError::Permanent(why)) => assert!(why.contains("400"), "{why}"),
            other => panic!("a 400 is final: {other:?}"),
        }
        assert_eq!(sender.send(&m, &c), Ok(()));
    }

    #[test]
    fn no_provider_listening_is_worth_another_try_and_no_phone_is_not() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a port");
            l.local_addr().map(|a| a.port()).unwrap_or(1)
        };
        let sender = WebhookSender::new(&format!("http://127.0.0.1:{port}/x"), None, None).expect("a sender");
        let (m, mut c) = message("Hello");
        assert!(matches!(sender.send(&m, &c), Err(SendError::Transient(_))));
        c.phone = None;
        assert!(matches!(sender.send(&m, &c), Err(SendError::Permanent(_))));
    }

    #[test]
    fn the_address_is_checked_and_credentials_never_shown() {
        for ok in [
            "https://sms.example.com/send",
            "https://sms.example.com:8443/v1/messages?account=7",
            "http://127.0.0.1:9000/sms",
            "http://localhost/sms",
            "http://[::1]:9000/sms",
        ] {
            assert!(WebhookSender::new(ok, None, None).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://sms.example.com",
            "sms.example.com/send",
            "https:///send",
            "http://sms.example.com/send",
            "https://user:pw@sms.example.com/send",
            "https://sms.example.com:port/send",
            "https://sms.example.com/a b",
        ] {
            assert!(WebhookSender::new(bad, None, None).is_err(), "{bad} accepted");
        }
        let e = WebhookSender::new("https://u:hunter2@sms.example.com", None, None)
            .err()
            .unwrap_or_default();
        assert!(e.contains("KESHER_SMS_WEBHOOK_AUTH"), "{e}");
        assert!(WebhookSender::new("https://sms.example.com", Some("Bearer a\nb"), None).is_err());
        assert!(WebhookSender::new("https://sms.example.com", None, Some("a sender name far too long")).is_err());
        let shown = format!(
            "{:?}",
            WebhookSender::new("https://sms.example.com", Some("Bearer hunter2"), None)
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    /// Three customers with a phone and SMS consent (he, en, he), an SMS campaign launched to
    /// them; the first replies "הסר" before the delivery round.
    #[test]
    fn an_opt_out_reply_withdraws_the_consent_and_its_queued_sms_is_not_sent() {
        use crate::clock::ManualClock;
        use kesher_store::{Lock, MessageState};
        let at = |s: &str| -> jiff::Timestamp { s.parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH) };
        let mut t = crate::test_support::app_named("sms-replies");
        t.app = t
            .app
            .clone()
            .with_clock(std::sync::Arc::new(ManualClock::new(at("2025-03-01T08:00:00Z"))));
        let actor = Actor::new("user:marketing", at("2025-03-01T08:00:00Z"));
        let phones = ["050-1111111", "+1 212 555 0100", "052-3333333"];
        for (i, phone) in phones.iter().enumerate() {
            let mut c = Customer::bare(
                kesher_core::CustomerId(uuid::Uuid::from_u128(i as u128 + 1)),
                None,
                at("2025-01-01T00:00:00Z"),
            );
            c.name = Some(format!("Dana{i} Levi"));
            c.language = Some(if i == 1 { "en" } else { "he" }.into());
            c.phone = kesher_core::Phone::parse(phone, kesher_core::Country::israel()).ok();
            c.consents.push(Consent {
                channel: ConsentChannel::Sms,
                state: ConsentState::Granted,
                at: at("2025-01-01T00:00:00Z"),
                source: "test".into(),
            });
            t.app.insert_customer(&c, &actor).expect("a customer");
        }
        let definition = r#"{
          "name": "SMS", "kind": {"type": "scheduled", "at": "2025-02-28T10:00"},
          "audience": "visits >= 0", "channels": ["sms"], "default_language": "en",
          "templates": {"he": {"sms": "שלום {{ customer.first_name }}, מבצע היום"},
                        "en": {"sms": "Hello {{ customer.first_name }}, sale today"}},
          "control_bp": 0
        }"#;
        let row = t.app.create_campaign(definition, &actor).expect("a campaign");
        let launched = t.app.launch_campaign(row.id, &actor).expect("launched");
        assert_eq!(launched.queued, 3);
        // A wrong or missing key changes nothing.
        for key in [None, Some("0123"), Some("")] {
            let e = t.app.sms_reply_with_key(key, "050-1111111", "הסר", "test").unwrap_err();
            assert_eq!(e.code(), "campaign.sms.reply.key");
        }
        let key = t.app.sms_reply_key().expect("the key");
        assert_eq!(key.len(), 32);
        // Not an opt-out, and a number nobody holds: nothing changes.
        let chat = t
            .app
            .sms_reply_with_key(Some(&key), "+972501111111", "תודה!", "test")
            .expect("a reply");
        assert_eq!((chat.opt_out, chat.known, chat.withdrawn), (false, true, false));
        let stranger = t
            .app
            .sms_reply_with_key(Some(&key), "+972549999999", "STOP", "test")
            .expect("a reply");
        assert_eq!(
            (stranger.opt_out, stranger.known, stranger.withdrawn),
            (true, false, false)
        );
        let e = t
            .app
            .sms_reply_with_key(Some(&key), "not a phone", "STOP", "test")
            .unwrap_err();
        assert!(e.to_string().contains("from"), "{e}");
        // The first customer opts out, in the provider's international notation; twice.
        let out = t
            .app
            .sms_reply_with_key(Some(&key), "+972501111111", " הסר ", "test")
            .expect("a reply");
        assert_eq!((out.opt_out, out.known, out.withdrawn), (true, true, true));
        let again = t
            .app
            .sms_reply_with_key(Some(&key), "+972501111111", "STOP", "test")
            .expect("a reply");
        assert!(!again.withdrawn, "already withdrawn");
        let first = t
            .app
            .get_customer(kesher_core::CustomerId(uuid::Uuid::from_u128(1)))
            .expect("read")
            .expect("there");
        let consent = first.consent(ConsentChannel::Sms).expect("a consent");
        assert_eq!(
            (consent.state, consent.source.as_str()),
            (ConsentState::Withdrawn, "sms:opt-out")
        );
        // The delivery round: two SMS reach the provider, the first customer's is suppressed.
        let (url, seen) = server(vec![200, 200]);
        let senders = super::super::Senders {
            email: None,
            sms: Some(Box::new(
                WebhookSender::new(&url, None, Some("Shop")).expect("a sender"),
            )),
            links: None,
        };
        let r = t.app.deliver_campaign_messages(&senders, 100).expect("delivered");
        assert_eq!((r.sent, r.suppressed), (2, 1));
        let mut got: Vec<(String, String, String)> = (0..2)
            .map(|_| seen.recv().expect("a request"))
            .map(|s| {
                let f = |k: &str| s.body[k].as_str().unwrap_or_default().to_string();
                (f("to"), f("text"), f("encoding"))
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                (
                    "+12125550100".to_string(),
                    "Hello Dana1, sale today".to_string(),
                    "gsm7".to_string()
                ),
                (
                    "+972523333333".to_string(),
                    "שלום Dana2, מבצע היום".to_string(),
                    "ucs2".to_string()
                ),
            ]
        );
        let mut tx = t.app.store.begin(Lock::Writes).expect("a unit");
        let rows = tx.campaign_messages(row.id, None, 10).expect("rows");
        let suppressed: Vec<_> = rows.iter().filter(|m| m.state == MessageState::Suppressed).collect();
        assert_eq!(suppressed.len(), 1);
        assert_eq!(suppressed[0].customer_id, first.id);
    }
}
