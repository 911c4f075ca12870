//! A campaign's definition: a JSON document read with `serde_path_to_error` and checked, each
//! error naming the key (`variants[1].share_bp`), like the loyalty program's. What it holds:
//!
//! - `name`; `kind`: `triggered` on entering a saved segment, `scheduled` at a local date and
//!   time in the business's time zone, or `recurring` on a customer's date (`birthday`,
//!   `membership_anniversary`), optionally some days before (0–30), at a local time;
//! - `audience`: a segment expression or a saved segment's name (the app reads it);
//! - `channels` allowed, in the campaign's order of preference (`email`, `sms`, `log`);
//! - `templates` per language (`he`, `fa`, `en` …) with `default_language` for customers whose
//!   language has none: `subject` and `body` for e-mail, `sms` for SMS, each a minijinja
//!   template;
//! - an optional `offer`: `{"benefit": "<loyalty benefit key>"}` or `"next_best_offer"`;
//! - `send_window` (local hours), `rate_per_minute`, `frequency_cap` (`messages` in `days`
//!   across campaigns), `control_bp` (0–5 000 basis points: 0–50 %), up to four `variants` each
//!   with a share and the texts it changes, `variants_test_hours` (how long they are measured
//!   before the winner is chosen), `attribution_days`, `sms_max_segments`.
//!
//! docs/campaigns.md lists every key with its bounds.

use crate::channel::Channel;
use crate::draw::WHOLE_BP;
use crate::timing::{FrequencyCap, SendWindow};
use crate::{Result, invalid, template};
use jiff::civil::{DateTime, Time};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The longest definition accepted (bytes).
pub const MAX_DEFINITION: usize = 512 * 1024;
/// The longest name (characters).
pub const MAX_NAME: usize = 200;
/// The longest audience expression (characters).
pub const MAX_AUDIENCE: usize = 4_000;
/// The longest saved segment name or benefit key (characters).
pub const MAX_KEY: usize = 100;
/// The most languages a campaign has templates for.
pub const MAX_LANGUAGES: usize = 20;
/// The longest e-mail subject template (characters).
pub const MAX_SUBJECT: usize = 250;
/// The longest e-mail body template (characters).
pub const MAX_BODY: usize = 100_000;
/// The longest SMS template (characters).
pub const MAX_SMS: usize = 1_600;
/// The most variants of an A/B test.
pub const MAX_VARIANTS: usize = 4;
/// The largest control share (basis points): half the audience.
pub const MAX_CONTROL_BP: u32 = 5_000;
/// The fastest rate (messages a minute).
pub const MAX_RATE_PER_MINUTE: u32 = 100_000;
/// The largest frequency cap (messages) and its longest period (days).
pub const MAX_CAP_MESSAGES: u32 = 100;
pub const MAX_CAP_DAYS: u32 = 365;
/// The longest attribution window (days).
pub const MAX_ATTRIBUTION_DAYS: u32 = 365;
/// The most segments an SMS may be sent as.
pub const MAX_SMS_SEGMENTS: u32 = 10;
/// The most days before a customer's date a recurring campaign may greet.
pub const MAX_DAYS_BEFORE: u16 = 30;
/// How long an A/B test's variants are measured before the winner is chosen, when the
/// definition does not say (hours after the last variant message was sent).
pub const DEFAULT_TEST_HOURS: u32 = 24;
/// The longest A/B test (hours): 30 days.
pub const MAX_TEST_HOURS: u32 = 720;

/// What kind of campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindType {
    Triggered,
    Scheduled,
    Recurring,
}

/// A customer's date a recurring campaign follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerDate {
    Birthday,
    /// The loyalty membership's latest joining (`enrolled_at`) for an active member; for any
    /// other customer the day they were first seen (`created_at`). Both in the business's zone.
    #[serde(alias = "anniversary")]
    MembershipAnniversary,
}

impl CustomerDate {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerDate::Birthday => "birthday",
            CustomerDate::MembershipAnniversary => "membership_anniversary",
        }
    }
}

/// The `kind` object as written: `type` and the keys that type takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindDefinition {
    #[serde(rename = "type")]
    pub kind: KindType,
    /// `triggered`: the saved segment whose entry fires the campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// `scheduled`: the local date and time, `2025-12-24T10:00`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// `recurring`: the customer's date (`on` is accepted for it).
    #[serde(default, alias = "on", skip_serializing_if = "Option::is_none")]
    pub date: Option<CustomerDate>,
    /// `recurring`: days ahead of the date (0: on the day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_before: Option<u16>,
    /// `recurring`: the local time of day, `10:00` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_time: Option<String>,
}

/// One language's texts as written (each a minijinja template).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<String>,
}

/// The offer a message carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Offer {
    /// A benefit of the loyalty program's catalogue, by key.
    Benefit(String),
    /// The customer's next best offer.
    NextBestOffer,
}

/// One variant of an A/B test: its share of the recipients and the texts it changes (per
/// language; what it leaves out is the campaign's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantDefinition {
    pub key: String,
    pub share_bp: u32,
    #[serde(default)]
    pub templates: BTreeMap<String, Message>,
}

fn default_attribution() -> u32 {
    14
}
fn default_segments() -> u32 {
    4
}

/// A definition as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub name: String,
    pub kind: KindDefinition,
    pub audience: String,
    pub channels: Vec<Channel>,
    pub default_language: String,
    pub templates: BTreeMap<String, Message>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<Offer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_window: Option<SendWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_cap: Option<FrequencyCap>,
    #[serde(default)]
    pub control_bp: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantDefinition>,
    /// With variants: hours of measuring after the last variant message was sent, before the
    /// winner is chosen ([`DEFAULT_TEST_HOURS`] when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variants_test_hours: Option<u32>,
    #[serde(default = "default_attribution")]
    pub attribution_days: u32,
    #[serde(default = "default_segments")]
    pub sms_max_segments: u32,
}

/// A checked campaign kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Sent to a customer on entering the saved segment.
    Triggered { segment: String },
    /// Sent once, at a local date-time in the business's time zone.
    Scheduled { at: DateTime },
    /// Sent each year on the customer's date less `days_before` days, at a local time.
    Recurring {
        date: CustomerDate,
        days_before: u16,
        at: Time,
    },
}

/// A checked campaign: the definition and its values read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    definition: Definition,
    kind: Kind,
}

/// A text: trimmed not empty, at most `max` characters, no control characters but line breaks
/// and tabs where `multiline`.
fn text(key: &str, value: &str, max: usize, multiline: bool) -> Result<()> {
    if value.trim().is_empty() {
        return Err(invalid(key, "must not be empty"));
    }
    let length = value.chars().count();
    if length > max {
        return Err(invalid(key, format!("at most {max} characters, found {length}")));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(invalid(key, "must not contain control characters"));
    }
    Ok(())
}

fn range_u32(key: &str, value: u32, low: u32, high: u32) -> Result<()> {
    if value < low || value > high {
        return Err(invalid(key, format!("must be from {low} to {high}, found {value}")));
    }
    Ok(())
}

fn absent<T>(key: &str, value: &Option<T>, kind: &str) -> Result<()> {
    match value {
        Some(_) => Err(invalid(key, format!("not used by a {kind} campaign"))),
        None => Ok(()),
    }
}

fn language_key(key: &str, language: &str) -> Result<()> {
    match kesher_core::parse_language(language) {
        Ok(normal) if normal == language => Ok(()),
        Ok(normal) => Err(invalid(key, format!("write the language tag as {normal}"))),
        Err(e) => Err(invalid(key, e.reason)),
    }
}

/// A template text of `message` at `key` (its bounds and its syntax).
fn template_text(key: &str, value: &Option<String>, max: usize, multiline: bool) -> Result<()> {
    if let Some(value) = value {
        text(key, value, max, multiline)?;
        if let Some(reason) = template::syntax_error(value) {
            return Err(invalid(key, reason));
        }
    }
    Ok(())
}

fn message_texts(key: &str, message: &Message) -> Result<()> {
    template_text(&format!("{key}.subject"), &message.subject, MAX_SUBJECT, false)?;
    template_text(&format!("{key}.body"), &message.body, MAX_BODY, true)?;
    template_text(&format!("{key}.sms"), &message.sms, MAX_SMS, true)
}

fn check_kind(d: &KindDefinition) -> Result<Kind> {
    match d.kind {
        KindType::Triggered => {
            let Some(segment) = &d.segment else {
                return Err(invalid(
                    "kind.segment",
                    "a triggered campaign names the saved segment it fires on",
                ));
            };
            text("kind.segment", segment, MAX_KEY, false)?;
            absent("kind.at", &d.at, "triggered")?;
            absent("kind.date", &d.date, "triggered")?;
            absent("kind.days_before", &d.days_before, "triggered")?;
            absent("kind.local_time", &d.local_time, "triggered")?;
            Ok(Kind::Triggered {
                segment: segment.trim().to_string(),
            })
        }
        KindType::Scheduled => {
            let Some(at) = &d.at else {
                return Err(invalid(
                    "kind.at",
                    "a scheduled campaign has a local date and time, as in 2025-12-24T10:00",
                ));
            };
            let at: DateTime = at.trim().parse().map_err(|_| {
                invalid(
                    "kind.at",
                    format!("{at:?} is not a local date and time such as 2025-12-24T10:00"),
                )
            })?;
            absent("kind.segment", &d.segment, "scheduled")?;
            absent("kind.date", &d.date, "scheduled")?;
            absent("kind.days_before", &d.days_before, "scheduled")?;
            absent("kind.local_time", &d.local_time, "scheduled")?;
            Ok(Kind::Scheduled { at })
        }
        KindType::Recurring => {
            let Some(date) = d.date else {
                return Err(invalid(
                    "kind.date",
                    "a recurring campaign follows birthday or membership_anniversary",
                ));
            };
            let days_before = d.days_before.unwrap_or(0);
            if days_before > MAX_DAYS_BEFORE {
                return Err(invalid(
                    "kind.days_before",
                    format!("must be from 0 to {MAX_DAYS_BEFORE}, found {days_before}"),
                ));
            }
            let at = match &d.local_time {
                None => Time::new(10, 0, 0, 0).unwrap_or(Time::midnight()),
                Some(t) => t
                    .trim()
                    .parse::<Time>()
                    .map_err(|_| invalid("kind.local_time", format!("{t:?} is not a time of day such as 10:00")))?,
            };
            absent("kind.segment", &d.segment, "recurring")?;
            absent("kind.at", &d.at, "recurring")?;
            Ok(Kind::Recurring { date, days_before, at })
        }
    }
}

impl Campaign {
    /// Read and check a definition (JSON). An error names the key: `variants[1].share_bp`.
    pub fn parse(json: &str) -> Result<Campaign> {
        if json.len() > MAX_DEFINITION {
            return Err(invalid("", format!("a definition is at most {MAX_DEFINITION} bytes")));
        }
        let de = &mut serde_json::Deserializer::from_str(json);
        let definition: Definition = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." { String::new() } else { path };
            invalid(key, e.inner().to_string())
        })?;
        Campaign::check(definition)
    }

    /// Check a definition already read.
    pub fn check(d: Definition) -> Result<Campaign> {
        text("name", &d.name, MAX_NAME, false)?;
        let kind = check_kind(&d.kind)?;
        text("audience", &d.audience, MAX_AUDIENCE, true)?;

        if d.channels.is_empty() {
            return Err(invalid("channels", "name at least one of email, sms, log"));
        }
        for (i, channel) in d.channels.iter().enumerate() {
            if d.channels[..i].contains(channel) {
                return Err(invalid(format!("channels[{i}]"), format!("{channel} is listed twice")));
            }
        }

        if d.templates.is_empty() {
            return Err(invalid("templates", "give the texts of at least one language"));
        }
        if d.templates.len() > MAX_LANGUAGES {
            return Err(invalid("templates", format!("at most {MAX_LANGUAGES} languages")));
        }
        for (language, message) in &d.templates {
            let key = format!("templates.{language}");
            language_key(&key, language)?;
            message_texts(&key, message)?;
            for channel in &d.channels {
                let (field, present) = match channel {
                    Channel::Email if message.subject.is_none() => ("subject", false),
                    Channel::Email if message.body.is_none() => ("body", false),
                    Channel::Sms if message.sms.is_none() => ("sms", false),
                    Channel::Log if message.body.is_none() && message.sms.is_none() => ("body", false),
                    _ => ("", true),
                };
                if !present {
                    return Err(invalid(
                        format!("{key}.{field}"),
                        format!("the campaign sends by {channel}: every language needs its {field}"),
                    ));
                }
            }
        }
        if !d.templates.contains_key(&d.default_language) {
            return Err(invalid(
                "default_language",
                format!(
                    "{:?} has no templates; the languages are {}",
                    d.default_language,
                    languages(&d.templates)
                ),
            ));
        }

        if let Some(offer) = &d.offer {
            match offer {
                Offer::Benefit(key) => {
                    text("offer.benefit", key, MAX_KEY, false)?;
                    if key.chars().any(char::is_whitespace) {
                        return Err(invalid("offer.benefit", "a benefit key has no spaces"));
                    }
                }
                Offer::NextBestOffer => {}
            }
        }
        if let Some(window) = &d.send_window {
            range_u32("send_window.from_hour", u32::from(window.from_hour), 0, 23)?;
            range_u32("send_window.to_hour", u32::from(window.to_hour), 1, 24)?;
            if window.from_hour == window.to_hour {
                return Err(invalid("send_window.to_hour", "must differ from from_hour"));
            }
        }
        if let Some(rate) = d.rate_per_minute {
            range_u32("rate_per_minute", rate, 1, MAX_RATE_PER_MINUTE)?;
        }
        if let Some(cap) = &d.frequency_cap {
            range_u32("frequency_cap.messages", cap.messages, 1, MAX_CAP_MESSAGES)?;
            range_u32("frequency_cap.days", cap.days, 1, MAX_CAP_DAYS)?;
        }
        range_u32("control_bp", d.control_bp, 0, MAX_CONTROL_BP)?;
        range_u32("attribution_days", d.attribution_days, 1, MAX_ATTRIBUTION_DAYS)?;
        range_u32("sms_max_segments", d.sms_max_segments, 1, MAX_SMS_SEGMENTS)?;

        if d.variants.len() == 1 || d.variants.len() > MAX_VARIANTS {
            return Err(invalid(
                "variants",
                format!(
                    "an A/B test has 2 to {MAX_VARIANTS} variants, found {}",
                    d.variants.len()
                ),
            ));
        }
        let mut total: u32 = 0;
        let mut keys = BTreeSet::new();
        for (i, v) in d.variants.iter().enumerate() {
            let key = format!("variants[{i}]");
            text(&format!("{key}.key"), &v.key, 40, false)?;
            if !v
                .key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                return Err(invalid(
                    format!("{key}.key"),
                    "lower-case letters, digits, _ and - only",
                ));
            }
            if !keys.insert(v.key.as_str()) {
                return Err(invalid(format!("{key}.key"), format!("{} is used twice", v.key)));
            }
            range_u32(&format!("{key}.share_bp"), v.share_bp, 1, WHOLE_BP)?;
            total = total.saturating_add(v.share_bp);
            for (language, message) in &v.templates {
                let at = format!("{key}.templates.{language}");
                if !d.templates.contains_key(language) {
                    return Err(invalid(
                        at,
                        format!(
                            "the campaign has no {language} templates; the languages are {}",
                            languages(&d.templates)
                        ),
                    ));
                }
                message_texts(&at, message)?;
            }
        }
        if let Some(hours) = d.variants_test_hours {
            if d.variants.is_empty() {
                return Err(invalid(
                    "variants_test_hours",
                    "only a campaign with variants has a test",
                ));
            }
            range_u32("variants_test_hours", hours, 1, MAX_TEST_HOURS)?;
        }
        if total > WHOLE_BP {
            return Err(invalid(
                "variants",
                format!("the shares add up to {total} basis points, more than {WHOLE_BP}"),
            ));
        }
        Ok(Campaign { definition: d, kind })
    }

    pub fn definition(&self) -> &Definition {
        &self.definition
    }
    pub fn name(&self) -> &str {
        self.definition.name.trim()
    }
    pub fn kind(&self) -> &Kind {
        &self.kind
    }
    pub fn audience(&self) -> &str {
        self.definition.audience.trim()
    }
    /// The allowed channels in the campaign's order of preference.
    pub fn channels(&self) -> &[Channel] {
        &self.definition.channels
    }
    pub fn offer(&self) -> Option<&Offer> {
        self.definition.offer.as_ref()
    }
    /// The send window ([`SendWindow::ALWAYS`] when none is set).
    pub fn send_window(&self) -> SendWindow {
        self.definition.send_window.unwrap_or(SendWindow::ALWAYS)
    }
    /// At most this many of the campaign's messages a minute (spread evenly from the send's
    /// start); none: as fast as the channels go.
    pub fn rate_per_minute(&self) -> Option<u32> {
        self.definition.rate_per_minute
    }
    pub fn frequency_cap(&self) -> Option<FrequencyCap> {
        self.definition.frequency_cap
    }
    pub fn control_bp(&self) -> u32 {
        self.definition.control_bp
    }
    pub fn attribution_days(&self) -> u32 {
        self.definition.attribution_days
    }
    pub fn sms_max_segments(&self) -> usize {
        self.definition.sms_max_segments as usize
    }
    pub fn variants(&self) -> &[VariantDefinition] {
        &self.definition.variants
    }
    /// How long the variants are measured (hours after the last variant message was sent)
    /// before the winner is chosen.
    pub fn variants_test_hours(&self) -> u32 {
        self.definition.variants_test_hours.unwrap_or(DEFAULT_TEST_HOURS)
    }
    /// The variants' shares in basis points, in order (what [`crate::draw::assign_arms`]
    /// takes).
    pub fn variant_shares(&self) -> Vec<u32> {
        self.definition.variants.iter().map(|v| v.share_bp).collect()
    }

    /// The language a customer speaking `language` is written to: theirs when the campaign has
    /// templates for it (`pt-BR` falls back to `pt`), else the default.
    pub fn language_for(&self, language: Option<&str>) -> &str {
        let templates = &self.definition.templates;
        if let Some(language) = language.map(|l| l.trim().to_ascii_lowercase()) {
            let primary = language.split('-').next().unwrap_or("");
            for candidate in [language.as_str(), primary] {
                if let Some((key, _)) = templates.get_key_value(candidate) {
                    return key;
                }
            }
        }
        &self.definition.default_language
    }

    /// The texts for a customer speaking `language`, of variant `variant` (`None`: the
    /// campaign's own): the language from [`Campaign::language_for`], each text the variant's
    /// when it changes it, else the campaign's. Returns the language chosen with the texts.
    pub fn message(&self, language: Option<&str>, variant: Option<usize>) -> (&str, Message) {
        let chosen = self.language_for(language);
        let base = self.definition.templates.get(chosen).cloned().unwrap_or_default();
        let over = variant
            .and_then(|i| self.definition.variants.get(i))
            .and_then(|v| v.templates.get(chosen));
        let message = match over {
            None => base,
            Some(o) => Message {
                subject: o.subject.clone().or(base.subject),
                body: o.body.clone().or(base.body),
                sms: o.sms.clone().or(base.sms),
            },
        };
        (chosen, message)
    }

    /// Check every template of the campaign against the variables the data provides
    /// ([`template::check`]): the error names the template's key and the missing variable.
    pub fn check_variables(&self, provided: &BTreeSet<String>) -> Result<()> {
        let mut all: Vec<(String, &Message)> = self
            .definition
            .templates
            .iter()
            .map(|(l, m)| (format!("templates.{l}"), m))
            .collect();
        for (i, v) in self.definition.variants.iter().enumerate() {
            all.extend(
                v.templates
                    .iter()
                    .map(|(l, m)| (format!("variants[{i}].templates.{l}"), m)),
            );
        }
        for (key, message) in all {
            for (field, source) in [
                ("subject", &message.subject),
                ("body", &message.body),
                ("sms", &message.sms),
            ] {
                if let Some(source) = source {
                    template::check(&format!("{key}.{field}"), source, provided)?;
                }
            }
        }
        Ok(())
    }
}

fn languages(templates: &BTreeMap<String, Message>) -> String {
    templates.keys().cloned().collect::<Vec<_>>().join(", ")
}
