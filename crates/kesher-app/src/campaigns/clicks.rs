//! Click tracking through the server's own redirect (docs/campaigns.md): when an e-mail is handed
//! to its sender, each `http(s)://` link of its body becomes `{public URL}/c/{token}`
//! ([`track_links`]); the outbox row keeps the body as rendered. The token names the message
//! (campaign, customer, occurrence) and the link's number, signed with the unsubscribe links'
//! secret — never the address: `App::follow_click` reads the address back from the stored
//! message (`kesher_campaign::links::link_target`), so a forged or altered token finds nothing
//! (404) and can never send anyone to an address of its choosing. A click is recorded once per
//! (message, link) for unique clickers, every one counted (`Tx::record_campaign_click`); the
//! first is also written to the customer's timeline as an interaction of kind `click`.

use super::email::signature_of;
use crate::App;
use crate::segments::SegmentError;
use kesher_campaign::links;
use kesher_core::{CampaignId, CustomerId, Interaction, InteractionKind};
use kesher_store::{Lock, OutboxMessage, StoreError};

/// What link tracking needs: where the server is reached and the signing secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTracking {
    /// The server's public address, `https://shop.example` (no trailing slash).
    pub public_url: String,
    pub secret: String,
}

impl LinkTracking {
    pub fn new(public_url: &str, secret: String) -> LinkTracking {
        LinkTracking {
            public_url: public_url.trim_end_matches('/').to_string(),
            secret,
        }
    }
}

/// The token of link `link` of the message (campaign, customer, occurrence):
/// `campaign.customer.occurrence.link.signature`, the signature 128 bits of SHA-256 over a
/// fixed prefix, the secret and the four values.
pub fn click_token(secret: &str, campaign: CampaignId, customer: CustomerId, occurrence: i64, link: usize) -> String {
    let (campaign, customer) = (campaign.0.simple(), customer.0.simple());
    let payload = format!("{campaign}.{customer}.{occurrence}.{link}");
    let signature = signature_of(secret, "kesher-click", &payload);
    format!("{payload}.{signature}")
}

/// The message and link a token names, when its signature holds.
pub fn read_click_token(secret: &str, token: &str) -> Option<(CampaignId, CustomerId, i64, usize)> {
    let mut parts = token.split('.');
    let (campaign, customer, occurrence, link, sig) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() {
        return None;
    }
    let campaign = CampaignId(uuid::Uuid::try_parse(campaign).ok()?);
    let customer = CustomerId(uuid::Uuid::try_parse(customer).ok()?);
    let occurrence: i64 = occurrence.parse().ok()?;
    let link: usize = link.parse().ok()?;
    let expected = click_token(secret, campaign, customer, occurrence, link);
    let expected_sig = expected.rsplit('.').next()?;
    // Compared in full whatever the first difference (no early exit to time).
    let same = expected_sig.len() == sig.len()
        && expected_sig
            .bytes()
            .zip(sig.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some((campaign, customer, occurrence, link))
}

/// `body` (the message's as stored) with each link through the tracked redirect; a link to the
/// server itself (an unsubscribe link written in the text) is left as it is.
pub fn track_links(body: &str, tracking: &LinkTracking, message: &OutboxMessage) -> String {
    links::rewrite_links(body, |index, link| {
        if link.starts_with(&tracking.public_url) {
            return None;
        }
        let token = click_token(
            &tracking.secret,
            message.campaign_id,
            message.customer_id,
            message.occurrence,
            index,
        );
        Some(format!("{}/c/{token}", tracking.public_url))
    })
}

fn invalid_click() -> SegmentError {
    SegmentError::Store(StoreError::invalid_coded(
        "campaign.click.invalid",
        "token",
        kesher_core::params!(),
        "this link is not valid",
    ))
}

impl App {
    /// Follow a tracked link: the token's signature checked, the message read, the address of
    /// its link read back from the stored body; the click recorded (and, the first time for this
    /// message and link, an interaction of kind `click` on the customer's timeline). Returns the
    /// address to redirect to. An invalid token, or one naming no message or link, is
    /// `campaign.click.invalid` (404).
    pub fn follow_click(&self, token: &str) -> Result<String, SegmentError> {
        let secret = self.unsubscribe_secret()?;
        let (campaign, customer, occurrence, link) = read_click_token(&secret, token).ok_or_else(invalid_click)?;
        let now = self.now();
        let mut tx = self.store.begin(Lock::Writes)?;
        let message = tx
            .campaign_message(campaign, customer, occurrence)?
            .ok_or_else(invalid_click)?;
        let target = message
            .body
            .as_deref()
            .and_then(|body| links::link_target(body, link))
            .filter(|t| {
                let lower = t.to_ascii_lowercase();
                lower.starts_with("https://") || lower.starts_with("http://")
            })
            .ok_or_else(invalid_click)?;
        let link_number = i64::try_from(link).map_err(|_| invalid_click())?;
        let first = tx.record_campaign_click(campaign, customer, occurrence, link_number, now)?;
        if first {
            let name = tx.campaign(campaign)?.map(|c| c.name).unwrap_or_default();
            let contact = Interaction {
                id: crate::ids::interaction(),
                external_id: Some(format!(
                    "click:{}.{}.{occurrence}.{link}",
                    campaign.0.simple(),
                    customer.0.simple()
                )),
                customer_id: customer,
                channel: kesher_core::Channel::Email,
                kind: InteractionKind::Click,
                occurred_at: now,
                text: Some(format!("{name}: {target}")),
                employee_id: None,
                satisfaction: None,
                status: None,
            };
            tx.insert_interaction_row(&contact)?;
        }
        tx.commit()?;
        Ok(target)
    }
}
