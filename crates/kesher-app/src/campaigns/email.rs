//! The e-mail channel over SMTP (lettre, `KESHER_SMTP_URL`): one message per outbox row, its
//! `Message-ID` the row's (stable per campaign and customer, so that a message sent again after a
//! crash is recognisably the same), `List-Unsubscribe` and `List-Unsubscribe-Post:
//! List-Unsubscribe=One-Click` (RFC 8058) pointing at the server's own `/u/{token}`; and the
//! unsubscribe tokens: the customer and the channel, signed with a secret the store keeps, so that
//! the link works without signing in and cannot be guessed for another customer.

use super::{SendError, Sender};
use crate::App;
use crate::segments::SegmentError;
use kesher_campaign::Channel;
use kesher_core::{Consent, ConsentChannel, ConsentState, Customer, CustomerId};
use kesher_store::{Actor, Lock, OutboxMessage, StoreError};
use lettre::Transport;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MessageBuilder};

/// The settings row holding the unsubscribe links' secret (made on first use).
const SECRET_KEY: &str = "campaigns.unsubscribe_secret";

/// An SMTP sender.
pub struct SmtpSender {
    transport: lettre::SmtpTransport,
    from: Mailbox,
    /// The server's public address, `https://shop.example`: links go to `{base}/u/{token}`.
    public_url: String,
    secret: String,
}

impl SmtpSender {
    /// A sender to `url`, writing from `from`:
    ///
    /// - `smtp://host[:port]` — plain SMTP (port 25), for a relay on the same machine or network;
    /// - `smtp://host[:port]?tls=required` — STARTTLS, refused if the server does not offer it
    ///   (port 587); `?tls=opportunistic` upgrades when offered;
    /// - `smtps://host[:port]` — TLS from the first byte (port 465);
    /// - `user:password@` before the host: SMTP AUTH (percent-encoded; only over TLS is sensible).
    ///
    /// Certificates are checked against the Mozilla roots (webpki-roots, rustls with ring): no
    /// system store is read. Errors never repeat the password.
    pub fn new(url: &str, from: &str, public_url: &str, secret: String) -> Result<SmtpSender, String> {
        let shown = redact(url);
        check_url(url, &shown)?;
        let transport = lettre::SmtpTransport::from_url(url)
            .map_err(|e| format!("KESHER_SMTP_URL {shown:?}: {e}"))?
            .timeout(Some(std::time::Duration::from_secs(30)))
            .build();
        let from: Mailbox = from.parse().map_err(|e| format!("sender address {from:?}: {e}"))?;
        Ok(SmtpSender {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_string(),
            secret,
        })
    }
}

/// `url` with its password replaced by `***`, for messages.
pub(super) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        None => url.to_string(),
    }
}

/// The URL's shape, checked before lettre reads it: a known scheme, a host, a numeric port, and
/// only the `tls` query parameter.
fn check_url(url: &str, shown: &str) -> Result<(), String> {
    let refuse = |why: &str| format!("KESHER_SMTP_URL {shown:?}: {why}");
    let rest = url
        .strip_prefix("smtp://")
        .or_else(|| url.strip_prefix("smtps://"))
        .ok_or_else(|| refuse("expected smtp://host:port, smtp://host:port?tls=required or smtps://host:port"))?;
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let authority = authority.trim_end_matches('/');
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host_port.is_empty() || host_port.contains('/') {
        return Err(refuse("expected smtp://host:port"));
    }
    if let Some((host, port)) = host_port.rsplit_once(':') {
        if host.is_empty() {
            return Err(refuse("the host is missing"));
        }
        port.parse::<u16>().map_err(|_| refuse("the port is not a number"))?;
    }
    match query {
        None => Ok(()),
        Some("tls=required" | "tls=opportunistic") if url.starts_with("smtp://") => Ok(()),
        Some(_) => Err(refuse(
            "the only parameter is tls=required or tls=opportunistic (with smtp://)",
        )),
    }
}

fn header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

impl Sender for SmtpSender {
    fn send(&self, message: &OutboxMessage, to: &Customer) -> Result<(), SendError> {
        let address = to
            .email
            .as_ref()
            .ok_or_else(|| SendError::Permanent("no e-mail address".into()))?;
        let to: Mailbox = address
            .to_string()
            .parse()
            .map_err(|e| SendError::Permanent(format!("address: {e}")))?;
        let link = format!(
            "{}/u/{}",
            self.public_url,
            unsubscribe_token(&self.secret, message.customer_id, Channel::Email)
        );
        let mut builder: MessageBuilder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject.clone().unwrap_or_default())
            .message_id(Some(message.message_id.clone()));
        builder = builder.raw_header(header("List-Unsubscribe", format!("<{link}>")));
        builder = builder.raw_header(header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click".into()));
        let email = builder
            .header(ContentType::TEXT_HTML)
            .body(message.body.clone().unwrap_or_default())
            .map_err(|e| SendError::Permanent(format!("message: {e}")))?;
        self.transport.send(&email).map(|_| ()).map_err(|e| {
            if e.is_permanent() {
                SendError::Permanent(e.to_string())
            } else {
                SendError::Transient(e.to_string())
            }
        })
    }
}

/// The token of an unsubscribe link: the customer, the channel, and 128 bits of
/// SHA-256(secret, customer, channel).
pub fn unsubscribe_token(secret: &str, customer: CustomerId, channel: Channel) -> String {
    let signature = signature(secret, customer, channel);
    format!("{}.{}.{}", customer.0.simple(), channel.as_str(), signature)
}

fn signature(secret: &str, customer: CustomerId, channel: Channel) -> String {
    signature_of(
        secret,
        "kesher-unsubscribe",
        &format!("{customer}\n{}", channel.as_str()),
    )
}

/// 128 bits (32 hex digits) of SHA-256 over `purpose`, the secret and `payload`, each on its own
/// line: the signature of the server's own links (unsubscribe, tracked clicks).
pub(crate) fn signature_of(secret: &str, purpose: &str, payload: &str) -> String {
    let digest = kesher_auth::hash_secret(&format!("{purpose}\n{secret}\n{payload}"));
    digest.chars().take(32).collect()
}

/// The customer and channel a token names, when its signature holds.
pub fn read_unsubscribe_token(secret: &str, token: &str) -> Option<(CustomerId, Channel)> {
    let mut parts = token.split('.');
    let (customer, channel, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let customer = CustomerId(uuid::Uuid::try_parse(customer).ok()?);
    let channel = Channel::parse(channel)?;
    let expected = signature(secret, customer, channel);
    same_secret(&expected, sig).then_some((customer, channel))
}

/// Whether a secret given equals the one expected, compared in full whatever the first
/// difference (no early exit for a timing to reveal).
pub(crate) fn same_secret(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn invalid_token() -> SegmentError {
    SegmentError::Store(StoreError::invalid_coded(
        "campaign.unsubscribe.invalid",
        "token",
        kesher_core::params!(),
        "this unsubscribe link is not valid",
    ))
}

impl App {
    /// The unsubscribe links' secret: read, or made (256 random bits) and stored on first use.
    pub fn unsubscribe_secret(&self) -> Result<String, SegmentError> {
        let mut tx = self.store.begin(Lock::Writes)?;
        if let Some(s) = tx.setting(SECRET_KEY)? {
            return Ok(s);
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StoreError::Backend(format!("no randomness: {e}")))?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        tx.put_setting_row(SECRET_KEY, &secret)?;
        tx.commit()?;
        Ok(secret)
    }

    /// The unsubscribe link's token for `customer` on `channel`.
    pub fn unsubscribe_token(&self, customer: CustomerId, channel: Channel) -> Result<String, SegmentError> {
        Ok(unsubscribe_token(&self.unsubscribe_secret()?, customer, channel))
    }

    /// Honour an unsubscribe link: the channel's consent is withdrawn at once (every later
    /// message on it, queued ones included, is suppressed at sending). Returns the channel.
    pub fn unsubscribe(&self, token: &str, origin: &str) -> Result<Channel, SegmentError> {
        let (customer, channel) =
            read_unsubscribe_token(&self.unsubscribe_secret()?, token).ok_or_else(invalid_token)?;
        let consent_channel = match channel {
            Channel::Email => ConsentChannel::Email,
            Channel::Sms => ConsentChannel::Sms,
            Channel::Log => return Err(invalid_token()),
        };
        let now = self.now();
        let mut c = self.store.get_customer(customer)?.ok_or_else(invalid_token)?;
        let already = c
            .consent(consent_channel)
            .is_some_and(|k| k.state == ConsentState::Withdrawn);
        if !already {
            c.consents.retain(|k| k.channel != consent_channel);
            c.consents.push(Consent {
                channel: consent_channel,
                state: ConsentState::Withdrawn,
                at: now,
                source: "unsubscribe".into(),
            });
            let actor = Actor::new("customer:unsubscribe", now).from(origin.to_string());
            self.update_customer(&c, &actor)?;
        }
        Ok(channel)
    }
}

#[cfg(test)]
pub(super) mod tls_tests {
    //! TLS as the URL says: the address checked (and a password never echoed), `smtps://`
    //! speaking TLS from the first byte, and `?tls=required` never sending a message in clear
    //! text to a server that does not offer STARTTLS.

    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn sender(url: &str) -> Result<SmtpSender, String> {
        SmtpSender::new(url, "shop@example.com", "http://127.0.0.1:8080", "s".into())
    }

    #[test]
    fn the_address_is_checked_and_a_password_never_shown() {
        for ok in [
            "smtp://127.0.0.1:2525",
            "smtp://mail.example.com",
            "smtp://mail.example.com:587?tls=required",
            "smtp://mail.example.com?tls=opportunistic",
            "smtps://mail.example.com",
            "smtps://user:p%40ss@mail.example.com:465",
        ] {
            assert!(sender(ok).is_ok(), "{ok}: {:?}", sender(ok).err());
        }
        for bad in [
            "http://mail.example.com",
            "mail.example.com:25",
            "smtp://",
            "smtp://:25",
            "smtp://mail.example.com:port",
            "smtp://mail.example.com?tls=never",
            "smtps://mail.example.com?tls=required",
        ] {
            assert!(sender(bad).is_err(), "{bad} accepted");
        }
        let e = sender("smtp://shop:hunter2@mail.example.com:x")
            .err()
            .unwrap_or_default();
        assert!(e.contains("shop:***@") && !e.contains("hunter2"), "{e}");
    }

    /// An e-mail being sent to Dana (customer 7) by campaign 1.
    pub(in crate::campaigns) fn message() -> (OutboxMessage, Customer) {
        let at: jiff::Timestamp = "2025-03-01T10:00:00Z".parse().unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let id = CustomerId(uuid::Uuid::from_u128(7));
        let mut c = Customer::bare(id, None, at);
        c.email = kesher_core::Email::parse("dana@example.com").ok();
        let m = OutboxMessage {
            campaign_id: kesher_core::CampaignId(uuid::Uuid::from_u128(1)),
            customer_id: id,
            arm: "all".into(),
            channel: Some("email".into()),
            state: kesher_store::MessageState::Sending,
            suppression: None,
            language: Some("en".into()),
            subject: Some("Hello".into()),
            body: Some("<p>Hello</p>".into()),
            message_id: "<x@kesher>".into(),
            attempts: 1,
            next_attempt_at: None,
            sent_at: None,
            last_error: None,
            created_at: at,
            occurrence: 0,
        };
        (m, c)
    }

    #[test]
    fn smtps_speaks_tls_from_the_first_byte() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("a connection");
            let mut first = [0u8; 3];
            let _ = s.read_exact(&mut first);
            first
        });
        let smtp = sender(&format!("smtps://localhost:{port}")).expect("a sender");
        let (m, c) = message();
        assert!(smtp.send(&m, &c).is_err(), "no TLS server there: the send fails");
        let first = server.join().expect("the server");
        // A TLS record of type handshake (0x16), version 3.x: a ClientHello, not "EHLO".
        assert_eq!((first[0], first[1]), (0x16, 0x03), "{first:?}");
    }

    #[test]
    fn starttls_required_sends_nothing_in_clear_to_a_server_without_it() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("a connection");
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let _ = s.write_all(b"220 sink ESMTP\r\n");
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            let mut greeted = false;
            while let Ok(n) = s.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if !greeted && seen.windows(2).any(|w| w == b"\r\n") {
                    greeted = true;
                    // No STARTTLS among the extensions.
                    let _ = s.write_all(b"250-sink\r\n250 SIZE 100000\r\n");
                }
            }
            String::from_utf8_lossy(&seen).into_owned()
        });
        let smtp = sender(&format!("smtp://localhost:{port}?tls=required")).expect("a sender");
        let (m, c) = message();
        assert!(smtp.send(&m, &c).is_err(), "TLS is required and not offered");
        drop(smtp);
        let seen = server.join().expect("the server");
        assert!(seen.starts_with("EHLO"), "{seen}");
        assert!(!seen.contains("MAIL FROM") && !seen.contains("Hello"), "{seen}");
    }
}
