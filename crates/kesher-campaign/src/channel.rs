//! Which channel reaches a customer, or why nobody sends them anything: the customer's consent
//! per channel, their preferred channel, whether an address is on record, the channels the
//! campaign allows, and an unsubscribe. The other reasons a message is suppressed (the control
//! group, the frequency cap, the send window, an SMS too long) are decided elsewhere and named
//! by the same [`Suppression`].

use kesher_core::{ConsentChannel, ConsentState, Customer};
use serde::{Deserialize, Serialize};

/// A channel a campaign sends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// E-mail over SMTP: needs an e-mail address and e-mail consent.
    Email,
    /// SMS through the webhook: needs a phone number and SMS consent.
    Sms,
    /// Delivered to nowhere: the outbox records what would have been sent (the demo's
    /// channel). It reaches no person, so it needs neither an address nor a consent; an
    /// unsubscribe is still honoured, so that a demo's report counts it as a real one would.
    Log,
}

impl Channel {
    pub const ALL: &'static [Channel] = &[Channel::Email, Channel::Sms, Channel::Log];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Log => "log",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// The consent the channel needs (none for [`Channel::Log`]).
    pub fn consent(self) -> Option<ConsentChannel> {
        match self {
            Channel::Email => Some(ConsentChannel::Email),
            Channel::Sms => Some(ConsentChannel::Sms),
            Channel::Log => None,
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a customer of the audience is sent nothing (stored with the outbox row and counted by
/// the report).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppression {
    /// No channel the campaign allows has the customer's consent.
    NoConsent,
    /// A consented channel the campaign allows has no address on record (e-mail, phone).
    NoAddress,
    /// The customer unsubscribed (one-click, the SMS opt-out word).
    Unsubscribed,
    /// The customer already received the cap's number of messages in its period.
    FrequencyCap,
    /// Drawn into the control group: receives nothing, measured as the comparison.
    Control,
    /// The next instant the send window allows is after the message's deadline.
    OutsideWindow,
    /// The rendered SMS needs more segments than the campaign allows.
    TooLong,
    /// The campaign carries an offer and has none for this customer (no next best offer).
    NoOffer,
}

impl Suppression {
    pub const ALL: &'static [Suppression] = &[
        Suppression::NoConsent,
        Suppression::NoAddress,
        Suppression::Unsubscribed,
        Suppression::FrequencyCap,
        Suppression::Control,
        Suppression::OutsideWindow,
        Suppression::TooLong,
        Suppression::NoOffer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::NoConsent => "no_consent",
            Suppression::NoAddress => "no_address",
            Suppression::Unsubscribed => "unsubscribed",
            Suppression::FrequencyCap => "frequency_cap",
            Suppression::Control => "control",
            Suppression::OutsideWindow => "outside_window",
            Suppression::TooLong => "too_long",
            Suppression::NoOffer => "no_offer",
        }
    }

    pub fn parse(s: &str) -> Option<Suppression> {
        Suppression::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Suppression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome for one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Chosen(Channel),
    Suppressed(Suppression),
}

/// What channel choice reads about a customer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// The current e-mail consent (`None`: never asked; counts as no consent).
    pub email_consent: Option<ConsentState>,
    /// The current SMS consent.
    pub sms_consent: Option<ConsentState>,
    /// A valid e-mail address is on record.
    pub has_email: bool,
    /// A valid phone number is on record.
    pub has_phone: bool,
    /// The channel the customer said they prefer, if any.
    pub preferred: Option<Channel>,
    /// The customer unsubscribed from campaigns.
    pub unsubscribed: bool,
}

impl Reach {
    /// The facts of a customer record (its `Email` and `Phone` exist only when valid).
    pub fn of(customer: &Customer, preferred: Option<Channel>, unsubscribed: bool) -> Reach {
        Reach {
            email_consent: customer.consent(ConsentChannel::Email).map(|c| c.state),
            sms_consent: customer.consent(ConsentChannel::Sms).map(|c| c.state),
            has_email: customer.email.is_some(),
            has_phone: customer.phone.is_some(),
            preferred,
            unsubscribed,
        }
    }

    /// Whether the customer consented to `channel` (always for [`Channel::Log`]).
    pub fn consents_to(&self, channel: Channel) -> bool {
        let state = match channel {
            Channel::Email => self.email_consent,
            Channel::Sms => self.sms_consent,
            Channel::Log => return true,
        };
        state == Some(ConsentState::Granted)
    }

    /// Whether an address for `channel` is on record (always for [`Channel::Log`]).
    pub fn has_address(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.has_email,
            Channel::Sms => self.has_phone,
            Channel::Log => true,
        }
    }
}

/// The channel for a customer among the campaign's `allowed` channels (in the campaign's order
/// of preference): an unsubscribed customer gets nothing; otherwise the customer's preferred
/// channel when the campaign allows it and it is consented and addressable, else the first
/// allowed channel that is. When none is: [`Suppression::NoAddress`] if some allowed channel
/// was consented but has no address, else [`Suppression::NoConsent`]. Consent is opt-in: a
/// channel never asked about is not consented.
pub fn choose_channel(reach: &Reach, allowed: &[Channel]) -> Choice {
    if reach.unsubscribed {
        return Choice::Suppressed(Suppression::Unsubscribed);
    }
    let preferred = reach.preferred.filter(|p| allowed.contains(p));
    let mut consented_without_address = false;
    for channel in preferred.into_iter().chain(allowed.iter().copied()) {
        if !reach.consents_to(channel) {
            continue;
        }
        if reach.has_address(channel) {
            return Choice::Chosen(channel);
        }
        consented_without_address = true;
    }
    Choice::Suppressed(if consented_without_address {
        Suppression::NoAddress
    } else {
        Suppression::NoConsent
    })
}
