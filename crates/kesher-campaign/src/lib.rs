//! Campaign decisions: everything a campaign's workflows must decide, as pure functions. The
//! app reads the facts (the customer's consents and contact data, the messages a customer
//! received, the business's time zone, the outcomes after the attribution window), passes them
//! in with `now` and a seed, and writes what these functions answer. Nothing here does I/O,
//! reads a clock or draws randomness other than from the seed it is given.
//!
//! - [`definition`]: the campaign's JSON definition, checked with errors naming the key
//!   ([`Campaign::parse`]).
//! - [`channel`]: which channel reaches a customer, or why nobody is sent anything
//!   ([`choose_channel`] → [`Choice`], [`Suppression`]).
//! - [`timing`]: the frequency cap across campaigns ([`FrequencyCap`]), the send window in local
//!   hours ([`SendWindow`], DST-correct), a scheduled campaign's instant, a recurring campaign's
//!   day, the pace a rate limit allows.
//! - [`sms`]: GSM-7 or UCS-2, the number of segments, the cap ([`sms::measure`]).
//! - [`draw`]: the control group, stratified by lifecycle stage, and the variants' arms, both
//!   reproducible from a seed ([`draw::control_group`], [`draw::assign_arms`]).
//! - [`stats`]: response and revenue lift with 95 % intervals and p-values, the projection to
//!   the whole eligible population, the sample-size calculator.
//! - [`template`]: a template's variables against what the data provides.
//! - [`links`]: a message's links in a deterministic order, rewritten for click tracking and
//!   read back from the stored message ([`links::link_target`]).
//!
//! docs/campaigns.md states the same rules and the statistics' formulas for people.

use kesher_core::{DomainError, Params};

pub mod channel;
pub mod definition;
pub mod draw;
pub mod economics;
pub mod links;
pub mod sms;
pub mod stats;
pub mod template;
pub mod timing;

pub use channel::{Channel, Choice, Reach, Suppression, choose_channel};
pub use definition::{Campaign, Definition};
pub use timing::{FrequencyCap, SendWindow};

#[cfg(test)]
mod tests;

/// Every campaign decision refuses with a coded [`DomainError`] (kesher_core::codes::CATALOGUE).
pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// A definition's error: `key` is the JSON path (`variants[1].share_bp`), `reason` the English
/// sentence; both are parameters, like the loyalty program's.
pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> DomainError {
    let key = key.into();
    let reason = reason.into();
    let mut params = Params::new();
    params.insert("key".to_string(), key.clone().into());
    params.insert("reason".to_string(), reason.clone().into());
    DomainError {
        code: "campaign.definition.invalid",
        field: "campaign",
        reason: if key.is_empty() {
            reason
        } else {
            format!("{key}: {reason}")
        },
        params,
    }
}
