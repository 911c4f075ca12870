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
    /// A sender to `url` (`smtp://host:port`; TLS is not built in yet, so `smtps://` and
    /// `?tls=` are refused) writing from `from`.
    pub fn new(url: &str, from: &str, public_url: &str, secret: String) -> Result<SmtpSender, String> {
        let (host, port) = smtp_address(url)?;
        let transport = lettre::SmtpTransport::builder_dangerous(host).port(port).build();
        let from: Mailbox = from.parse().map_err(|e| format!("sender address {from:?}: {e}"))?;
        Ok(SmtpSender {
            transport,
            from,
            public_url: public_url.trim_end_matches('/').to_string(),
            secret,
        })
    }
}

/// The host and port of `smtp://host[:port]` (port 25 when absent).
fn smtp_address(url: &str) -> Result<(String, u16), String> {
    let refuse = |why: &str| format!("KESHER_SMTP_URL {url:?}: {why}");
    let rest = url
        .strip_prefix("smtp://")
        .ok_or_else(|| refuse("expected smtp://host:port (TLS is not built in)"))?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains(['/', '?', '@']) {
        return Err(refuse("expected smtp://host:port"));
    }
    match rest.rsplit_once(':') {
        Some((host, port)) => Ok((
            host.to_string(),
            port.parse().map_err(|_| refuse("the port is not a number"))?,
        )),
        None => Ok((rest.to_string(), 25)),
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
    let digest = kesher_auth::hash_secret(&format!(
        "kesher-unsubscribe\n{secret}\n{customer}\n{}",
        channel.as_str()
    ));
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
    // Compared in full whatever the first difference (no early exit to time).
    let same =
        expected.len() == sig.len() && expected.bytes().zip(sig.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    same.then_some((customer, channel))
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
