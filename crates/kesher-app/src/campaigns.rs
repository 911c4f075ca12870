//! Campaigns' workflows (docs/campaigns.md): create a campaign from its JSON definition (the
//! audience checked with the segment language), list, show, preview a customer's message, launch
//! (the audience evaluated, the control group drawn stratified by lifecycle stage, a channel
//! chosen per customer from their consents, the frequency cap applied, every message rendered in
//! the customer's language and written to the outbox before anything is sent — the control
//! group's and the suppressed ones too, with the reason), pause, and the report. The decisions
//! are `kesher_campaign`'s; this module reads the facts and writes the rows, each step one unit of
//! work, on the app's clock.

use crate::App;
use crate::segments::{MessageContext, SegmentError};
use kesher_campaign::definition::Kind;
use kesher_campaign::draw::{self, Arm};
use kesher_campaign::{Campaign, Channel, Choice, Reach, Suppression, choose_channel, sms, template, timing};
use kesher_core::{CampaignId, CustomerId, DomainError};
use kesher_store::{
    Actor, CampaignRow, CampaignState, Lock, MessageState, OutboxCounts, OutboxMessage, StoreError, Tx,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// How many customers one unit of work of a launch writes.
pub const LAUNCH_PAGE: usize = 500;

/// The stage of a customer the analysis never scored.
const PROSPECT: &str = "prospect";

fn domain(e: DomainError) -> SegmentError {
    SegmentError::Store(e.into())
}

fn not_found(id: CampaignId) -> SegmentError {
    SegmentError::Store(StoreError::not_found("campaign", id))
}

fn wrong_state(id: CampaignId, state: CampaignState, wanted: &str) -> SegmentError {
    SegmentError::Store(StoreError::conflict_coded(
        "campaign.state",
        "state",
        kesher_core::params!(state = state.as_str(), wanted = wanted),
        format!("campaign {id} is {}; it must be {wanted}", state.as_str()),
    ))
}

/// A campaign with its parsed definition.
#[derive(Debug, Clone)]
pub struct CampaignView {
    pub row: CampaignRow,
    pub campaign: Campaign,
    pub counts: OutboxCounts,
    /// An A/B test's winner, once chosen (`App::pick_campaign_winners`).
    pub winner: Option<WinnerChoice>,
}

/// One customer's message as it would be sent (or why it would not be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    pub customer_id: CustomerId,
    /// The channel chosen, or why none is.
    pub channel: Result<Channel, Suppression>,
    pub language: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub sms: Option<String>,
    /// The SMS's length: encoding, units, segments.
    pub sms_segments: Option<usize>,
}

/// What a launch wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchReport {
    pub audience: u64,
    /// Rows written by this call (a resumed launch writes only the missing ones).
    pub written: u64,
    pub queued: u64,
    /// Recipients beyond the variants' shares, waiting for the winner.
    pub waiting: u64,
    pub control: u64,
    pub suppressed: BTreeMap<String, u64>,
    /// When the queued messages may go: a scheduled campaign's instant (now when it has
    /// passed) through the send window.
    pub due: Option<jiff::Timestamp>,
}

/// When a launch's messages may go: for a scheduled campaign its local date-time in the
/// business's zone (`timing::scheduled_instant`), now when that has passed; then the send
/// window's next opening.
fn first_due(
    campaign: &Campaign,
    now: jiff::Timestamp,
    zone: &jiff::tz::TimeZone,
) -> Result<jiff::Timestamp, SegmentError> {
    let start = match campaign.kind() {
        Kind::Scheduled { at } => timing::scheduled_instant(*at, zone)
            .ok_or_else(|| {
                SegmentError::Store(StoreError::invalid_coded(
                    "campaign.definition.invalid",
                    "kind.at",
                    kesher_core::params!(key = "kind.at", reason = "not an instant in the business's time zone"),
                    format!("kind.at: {at} is not an instant in the business's time zone"),
                ))
            })?
            .max(now),
        _ => now,
    };
    Ok(campaign.send_window().send_at(start, zone, None).unwrap_or(start))
}

/// The texts rendered for one customer.
struct Rendered {
    language: String,
    subject: Option<String>,
    body: Option<String>,
    sms: Option<String>,
}

/// minijinja with strict undefined values: a variable the data lacks fails the rendering, never
/// prints as nothing. An e-mail body is HTML and escapes what it inserts; a subject and an SMS
/// are plain text.
fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_fuel(Some(crate::segments::TEMPLATE_FUEL));
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    // A value the customer lacks (null) is an error where it is printed, never "none" or an
    // empty string in a message; `{% if customer.first_name %}` may still test it.
    env.set_formatter(|out, state, value| {
        if value.is_none() || value.is_undefined() {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::UndefinedError,
                "the customer's data has no value here",
            ))
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".body") {
            minijinja::AutoEscape::Html
        } else {
            minijinja::AutoEscape::None
        }
    });
    env
}

/// The templates this thread has read, by key and source: a launch renders the same few texts
/// for every recipient, so each is parsed (and its variables listed) once, not per message.
struct Compiled {
    env: minijinja::Environment<'static>,
    variables: HashMap<String, Arc<BTreeSet<String>>>,
}

/// Past this many templates a thread's cache starts again (a server that launched many
/// campaigns holds no more than this).
const COMPILED_MAX: usize = 256;

thread_local! {
    static COMPILED: std::cell::RefCell<Option<Compiled>> = const { std::cell::RefCell::new(None) };
}

fn compiled_name(key: &str, source: &str) -> String {
    format!("{key}\u{1f}{source}")
}

/// Run `f` with this thread's compiled template for (`key`, `source`), compiling it first if
/// needed, and its variables.
fn with_compiled<T>(
    key: &str,
    source: &str,
    f: impl FnOnce(&minijinja::Template<'_, '_>, &BTreeSet<String>) -> Result<T, SegmentError>,
) -> Result<T, SegmentError> {
    let refuse = |e: minijinja::Error| SegmentError::Template {
        message: format!("{key}: {e}"),
        code: "campaign.template.render",
        params: kesher_core::params!(key = key, reason = e.to_string()),
    };
    let name = compiled_name(key, source);
    COMPILED.with(|cell| {
        let mut slot = cell.borrow_mut();
        let full = slot.as_ref().is_some_and(|c| c.variables.len() >= COMPILED_MAX);
        if full || slot.is_none() {
            *slot = Some(Compiled {
                env: environment(),
                variables: HashMap::new(),
            });
        }
        let Some(compiled) = slot.as_mut() else {
            return Err(SegmentError::Store(StoreError::Backend("no template cache".into())));
        };
        if !compiled.variables.contains_key(&name) {
            let used = template::variables(key, source).map_err(domain)?;
            compiled
                .env
                .add_template_owned(name.clone(), source.to_string())
                .map_err(refuse)?;
            compiled.variables.insert(name.clone(), Arc::new(used));
        }
        let used = compiled.variables.get(&name).cloned().unwrap_or_default();
        let tmpl = compiled.env.get_template(&name).map_err(refuse)?;
        f(&tmpl, &used)
    })
}

fn render_one(key: &str, source: &str, data: &serde_json::Value) -> Result<String, SegmentError> {
    let refuse = |e: minijinja::Error| SegmentError::Template {
        message: format!("{key}: {e}"),
        code: "campaign.template.render",
        params: kesher_core::params!(key = key, reason = e.to_string()),
    };
    let out = with_compiled(key, source, |tmpl, _| tmpl.render(data).map_err(refuse))?;
    if out.len() > crate::segments::MESSAGE_MAX_BYTES {
        return Err(SegmentError::Template {
            message: format!(
                "{key}: the message is longer than {} bytes",
                crate::segments::MESSAGE_MAX_BYTES
            ),
            code: "campaign.template.render",
            params: kesher_core::params!(key = key, reason = "too long"),
        });
    }
    Ok(out)
}

/// Whether the campaign's texts (any language, any variant) name the next best offer, or it
/// carries an offer: only then are the offers computed for its recipients.
pub(crate) fn needs_offers(campaign: &Campaign) -> bool {
    let d = campaign.definition();
    if d.offer.is_some() {
        return true;
    }
    let messages = d
        .templates
        .values()
        .chain(d.variants.iter().flat_map(|v| v.templates.values()));
    messages
        .flat_map(|m| [&m.subject, &m.body, &m.sms])
        .flatten()
        // A text that does not parse names what it may: load them (the launch refuses it anyway).
        .any(|source| {
            template::variables("", source)
                .map_or(true, |vars| vars.iter().any(|v| v == "nbo" || v.starts_with("nbo.")))
        })
}

/// Render the campaign's texts for one customer (variant `variant`): each template is first
/// checked against the customer's data (`template::check`: a missing variable is an error naming
/// it), then rendered.
fn render(campaign: &Campaign, ctx: &MessageContext, variant: Option<usize>) -> Result<Rendered, SegmentError> {
    let provided = template::provided_paths(&ctx.data);
    let (language, message) = campaign.message(ctx.customer.language.as_deref(), variant);
    let language = language.to_string();
    let one = |field: &str, source: &Option<String>| -> Result<Option<String>, SegmentError> {
        match source {
            None => Ok(None),
            Some(source) => {
                let key = format!("templates.{language}.{field}");
                with_compiled(&key, source, |_, used| {
                    template::check_used(&key, used, &provided).map_err(domain)
                })?;
                render_one(&key, source, &ctx.data).map(Some)
            }
        }
    };
    Ok(Rendered {
        subject: one("subject", &message.subject)?,
        body: one("body", &message.body)?,
        sms: one("sms", &message.sms)?,
        language,
    })
}

/// The campaign's rate limit on a queued row: the `k`-th queued row (from 0) of a send that
/// starts at `start` goes no earlier than `timing::pace(start, k, rate)` (then the send window's
/// next opening), so that `rate_per_minute` messages a minute leave at most; `k` counts on. A
/// campaign without a rate, and a row that is not queued with a due time, are left as they are.
fn pace_row(
    campaign: &Campaign,
    row: &mut OutboxMessage,
    start: jiff::Timestamp,
    k: &mut u64,
    zone: &jiff::tz::TimeZone,
) {
    let (Some(rate), MessageState::Queued, Some(due)) = (campaign.rate_per_minute(), row.state, row.next_attempt_at)
    else {
        return;
    };
    let paced = timing::pace(start, *k, rate);
    *k += 1;
    if paced > due {
        row.next_attempt_at = Some(campaign.send_window().send_at(paced, zone, None).unwrap_or(paced));
    }
}

/// One customer's arm of an A/B test drawn alone (customers who arrive over time: triggered and
/// recurring campaigns), the variant whose texts they get and whether they wait: before the
/// winner, a variant's texts, or none for the rest (who wait); after it, the winner's for the
/// rest.
pub(crate) fn arm_alone(
    seed: u64,
    customer: CustomerId,
    shares: &[u32],
    chosen: Option<&WinnerChoice>,
) -> (Option<Arm>, Option<usize>, bool) {
    let arm = (!shares.is_empty()).then(|| draw::arm_of(seed, customer, shares));
    let (variant, waiting) = match (arm, chosen) {
        (Some(Arm::Variant(i)), _) => (Some(i), false),
        (Some(Arm::Rest), Some(w)) => (w.variant, false),
        (Some(Arm::Rest), None) => (None, true),
        (None, _) => (None, false),
    };
    (arm, variant, waiting)
}

/// How one customer's outbox row is made, at a launch or a triggered campaign's entry.
struct OutboxSpec<'a> {
    campaign_id: CampaignId,
    /// 0, or a recurring campaign's anniversary year (the outbox key's third part).
    occurrence: i64,
    campaign: &'a Campaign,
    /// The arm's name (`all`, `variant:N`, `rest`); the control group's is `control`.
    arm: String,
    control: bool,
    /// When a queued row may go.
    due: jiff::Timestamp,
    /// A recipient beyond the variants' shares before the winner: queued without a due time.
    waiting: bool,
    now: jiff::Timestamp,
}

impl OutboxSpec<'_> {
    /// The row of the customer of `ctx`: the control group suppressed as `control`; the channel
    /// from their consents (`no_consent`, `no_address`, `unsubscribed`); the frequency cap
    /// against their messages sent, queued or sending (only for a row not written yet); then the
    /// `texts` (none for the control group; a rendering error writes the row `failed` with it)
    /// for the channel, due at `due`. `None` when a recipient has no texts.
    fn row(
        &self,
        tx: &mut dyn Tx,
        ctx: &MessageContext,
        texts: Option<Result<&Rendered, String>>,
    ) -> Result<Option<OutboxMessage>, SegmentError> {
        let (id, customer, now) = (self.campaign_id, ctx.customer.id, self.now);
        let occurrence = self.occurrence;
        let base = OutboxMessage {
            campaign_id: id,
            customer_id: customer,
            occurrence,
            arm: self.arm.clone(),
            channel: None,
            state: MessageState::Queued,
            suppression: None,
            language: None,
            subject: None,
            body: None,
            message_id: occurrence_message_id(id, customer, occurrence),
            attempts: 0,
            next_attempt_at: None,
            sent_at: None,
            last_error: None,
            created_at: now,
        };
        let suppressed = |m: OutboxMessage, why: Suppression| OutboxMessage {
            state: MessageState::Suppressed,
            suppression: Some(why.as_str().to_string()),
            next_attempt_at: None,
            ..m
        };
        if self.control {
            return Ok(Some(suppressed(
                OutboxMessage {
                    arm: "control".into(),
                    ..base
                },
                Suppression::Control,
            )));
        }
        if offers::missing(self.campaign, ctx) {
            return Ok(Some(suppressed(base, Suppression::NoOffer)));
        }
        let channel = match choose_channel(&Reach::of(&ctx.customer, None, false), self.campaign.channels()) {
            Choice::Chosen(c) => c,
            Choice::Suppressed(why) => return Ok(Some(suppressed(base, why))),
        };
        let base = OutboxMessage {
            channel: Some(channel.as_str().to_string()),
            ..base
        };
        if let Some(cap) = self.campaign.frequency_cap()
            && tx.campaign_message(id, customer, occurrence)?.is_none()
        {
            let since = now - jiff::SignedDuration::from_hours(24 * i64::from(cap.days));
            let received = tx.recent_message_times(customer, since)?;
            if !cap.allows(&received, now) {
                return Ok(Some(suppressed(base, Suppression::FrequencyCap)));
            }
        }
        let texts = match texts {
            None => return Ok(None),
            Some(Err(e)) => {
                return Ok(Some(OutboxMessage {
                    state: MessageState::Failed,
                    last_error: Some(e),
                    ..base
                }));
            }
            Some(Ok(texts)) => texts,
        };
        let row = row_texts(self.campaign, base, texts, self.due);
        Ok(Some(if self.waiting && row.state == MessageState::Queued {
            // Beyond the variants' shares: no due time until a winner is chosen.
            OutboxMessage {
                next_attempt_at: None,
                ..row
            }
        } else {
            row
        }))
    }
}

/// A queued row's texts for its channel (e-mail: subject and body; SMS: the SMS text; log: the
/// subject and the body or the SMS) and its due time; an SMS over `sms_max_segments` is
/// suppressed as `too_long`.
fn row_texts(campaign: &Campaign, base: OutboxMessage, texts: &Rendered, due: jiff::Timestamp) -> OutboxMessage {
    let channel = base.channel.as_deref().and_then(Channel::parse).unwrap_or(Channel::Log);
    let (subject, body) = match channel {
        Channel::Email => (texts.subject.clone(), texts.body.clone()),
        Channel::Sms => (None, texts.sms.clone()),
        Channel::Log => (texts.subject.clone(), texts.body.clone().or_else(|| texts.sms.clone())),
    };
    if channel == Channel::Sms
        && let Some(text) = &body
        && sms::check(text, campaign.sms_max_segments()).is_err()
    {
        return OutboxMessage {
            state: MessageState::Suppressed,
            suppression: Some(Suppression::TooLong.as_str().to_string()),
            next_attempt_at: None,
            ..base
        };
    }
    OutboxMessage {
        state: MessageState::Queued,
        language: Some(texts.language.clone()),
        subject,
        body,
        next_attempt_at: Some(due),
        ..base
    }
}

/// The stable id of the message of `campaign` to `customer` (an e-mail's `Message-ID`).
pub fn message_id(campaign: CampaignId, customer: CustomerId) -> String {
    format!("<{}.{}@kesher>", campaign.0.simple(), customer.0.simple())
}

/// The stable id of the message of `campaign` to `customer` for `occurrence`: [`message_id`]
/// for occurrence 0 (a campaign sent once), the year added for a recurring campaign's greeting,
/// so that each year's message is its own and a resend of one carries the same id.
pub fn occurrence_message_id(campaign: CampaignId, customer: CustomerId, occurrence: i64) -> String {
    if occurrence == 0 {
        message_id(campaign, customer)
    } else {
        format!("<{}.{}.{occurrence}@kesher>", campaign.0.simple(), customer.0.simple())
    }
}

fn arm_name(arm: Option<Arm>) -> String {
    match arm {
        None => "all".into(),
        Some(Arm::Variant(i)) => format!("variant:{i}"),
        Some(Arm::Rest) => "rest".into(),
    }
}

impl App {
    /// Create a campaign (a draft) from its JSON definition: the definition checked
    /// (`Campaign::parse`), its audience read with the segment language (a saved segment or an
    /// expression). The text is stored as given.
    pub fn create_campaign(&self, definition: &str, actor: &Actor) -> Result<CampaignRow, SegmentError> {
        let campaign = Campaign::parse(definition).map_err(domain)?;
        self.resolve_segment(campaign.audience())?;
        self.check_campaign_offer(&campaign)?;
        let row = CampaignRow {
            id: CampaignId(crate::ids::next_v7()),
            name: campaign.name().to_string(),
            definition: definition.to_string(),
            state: CampaignState::Draft,
            // The draws' seed: the random bits of a fresh id.
            seed: crate::ids::next_v7().as_u128() as u64,
            created_by: actor.who.clone(),
            created_at: self.now(),
            launched_at: None,
        };
        let mut tx = self.store.begin(Lock::Writes)?;
        tx.insert_campaign(&row)?;
        tx.append_audit(
            actor,
            "campaign.create",
            "campaign",
            &row.id.to_string(),
            None,
            Some(&serde_json::json!({"name": row.name, "seed": row.seed.to_string()})),
        )?;
        tx.commit()?;
        Ok(row)
    }

    /// Every campaign, the newest first.
    pub fn list_campaigns(&self) -> Result<Vec<CampaignRow>, SegmentError> {
        let mut tx = self.store.begin(Lock::Writes)?;
        Ok(tx.campaigns()?)
    }

    /// A campaign, its definition parsed, and its outbox counted.
    pub fn campaign(&self, id: CampaignId) -> Result<CampaignView, SegmentError> {
        let mut tx = self.store.begin(Lock::Writes)?;
        let row = tx.campaign(id)?.ok_or_else(|| not_found(id))?;
        let counts = tx.campaign_message_counts(id)?;
        let winner = winner::read_winner(&mut *tx, id)?;
        drop(tx);
        let campaign = Campaign::parse(&row.definition).map_err(domain)?;
        Ok(CampaignView {
            row,
            campaign,
            counts,
            winner,
        })
    }

    /// The message `customer` would get (the campaign's own texts, or variant `variant`'s): the
    /// channel chosen from their consents and the texts in their language. A template naming a
    /// variable the customer's data lacks is an error.
    pub fn preview_campaign(
        &self,
        id: CampaignId,
        customer: CustomerId,
        variant: Option<usize>,
    ) -> Result<Preview, SegmentError> {
        let view = self.campaign(id)?;
        let mut contexts = self.campaign_contexts(&view.campaign, &|c| c == customer)?;
        let ctx = contexts
            .remove(&customer)
            .ok_or_else(|| SegmentError::Store(StoreError::not_found("customer", customer)))?;
        if offers::missing(&view.campaign, &ctx) {
            let (language, _) = view.campaign.message(ctx.customer.language.as_deref(), variant);
            return Ok(Preview {
                customer_id: customer,
                channel: Err(Suppression::NoOffer),
                language: language.to_string(),
                subject: None,
                body: None,
                sms: None,
                sms_segments: None,
            });
        }
        let rendered = render(&view.campaign, &ctx, variant)?;
        let reach = Reach::of(&ctx.customer, None, false);
        let channel = match choose_channel(&reach, view.campaign.channels()) {
            Choice::Chosen(c) => Ok(c),
            Choice::Suppressed(s) => Err(s),
        };
        let sms_segments = rendered.sms.as_deref().map(|t| sms::measure(t).segments);
        Ok(Preview {
            customer_id: customer,
            channel,
            language: rendered.language,
            subject: rendered.subject,
            body: rendered.body,
            sms: rendered.sms,
            sms_segments,
        })
    }

    /// Mark a campaign whose rows come later (triggered, recurring) `launched` since `since`,
    /// with the launch in the audit log (`detail` what it waits for); no row is written.
    fn activate_campaign(
        &self,
        row: &CampaignRow,
        since: jiff::Timestamp,
        detail: serde_json::Value,
        actor: &Actor,
    ) -> Result<LaunchReport, SegmentError> {
        let mut tx = self.store.begin(Lock::Writes)?;
        tx.set_campaign_state(row.id, CampaignState::Launched, Some(since))?;
        tx.append_audit(
            actor,
            "campaign.launch",
            "campaign",
            &row.id.to_string(),
            Some(&serde_json::json!({"state": row.state.as_str()})),
            Some(&detail),
        )?;
        tx.commit()?;
        Ok(LaunchReport::default())
    }

    /// Launch a draft (or resume a paused or interrupted launch): evaluate the audience, draw
    /// the control group (stratified by the stored lifecycle stage, seeded by the campaign's
    /// seed) and the variants' arms, choose each customer's channel, apply the frequency cap and
    /// the send window, render, and write every outbox row, `LAUNCH_PAGE` customers per unit of
    /// work. A row already written is left as it is, so that a launch that stopped part-way is
    /// finished by launching again. Every template is checked against every recipient's data
    /// before the first row is written.
    pub fn launch_campaign(&self, id: CampaignId, actor: &Actor) -> Result<LaunchReport, SegmentError> {
        let view = self.campaign(id)?;
        let (row, campaign) = (view.row, view.campaign);
        if row.state == CampaignState::Done {
            return Err(wrong_state(id, row.state, "draft, launched or paused"));
        }
        let now = self.now();
        match campaign.kind() {
            Kind::Triggered { segment } => return self.launch_triggered(&row, segment, now, actor),
            // Not sent to everyone at once: the daily run greets each customer on their day.
            Kind::Recurring { .. } => return self.launch_recurring(&row, now, actor),
            Kind::Scheduled { .. } => {}
        }
        let segment = self.resolve_segment(campaign.audience())?;
        let members = self.evaluate_segment(&segment, None)?.members;
        let wanted: BTreeSet<CustomerId> = members.iter().copied().collect();
        let contexts = self.campaign_contexts(&campaign, &|c| wanted.contains(&c))?;
        let staged: Vec<(CustomerId, &str)> = members
            .iter()
            .filter_map(|c| {
                contexts
                    .get(c)
                    .map(|ctx| (*c, ctx.stage.as_deref().unwrap_or(PROSPECT)))
            })
            .collect();
        let control = draw::control_group(row.seed, &staged, campaign.control_bp());
        let recipients: Vec<CustomerId> = staged
            .iter()
            .map(|(c, _)| *c)
            .filter(|c| !control.contains(c))
            .collect();
        let arms: HashMap<CustomerId, Arm> = if campaign.variants().is_empty() {
            HashMap::new()
        } else {
            draw::assign_arms(row.seed, &recipients, &campaign.variant_shares())
                .into_iter()
                .collect()
        };
        // Render first: a template that names what some recipient's data lacks stops the
        // launch before anything is written.
        let mut rendered: HashMap<CustomerId, Rendered> = HashMap::with_capacity(recipients.len());
        for c in &recipients {
            if let Some(ctx) = contexts.get(c).filter(|ctx| !offers::missing(&campaign, ctx)) {
                let variant = match arms.get(c) {
                    Some(Arm::Variant(i)) => Some(*i),
                    _ => None,
                };
                rendered.insert(*c, render(&campaign, ctx, variant)?);
            }
        }
        {
            let mut tx = self.store.begin(Lock::Writes)?;
            tx.set_campaign_state(id, CampaignState::Launched, Some(row.launched_at.unwrap_or(now)))?;
            tx.append_audit(
                actor,
                "campaign.launch",
                "campaign",
                &id.to_string(),
                Some(&serde_json::json!({"state": row.state.as_str()})),
                Some(&serde_json::json!({"audience": staged.len(), "control": control.len()})),
            )?;
            tx.commit()?;
        }
        let zone = self.business_time_zone()?;
        let due = first_due(&campaign, now, &zone)?;
        let mut report = LaunchReport {
            audience: staged.len() as u64,
            due: Some(due),
            ..LaunchReport::default()
        };
        let mut paced = 0u64;
        for page in staged.chunks(LAUNCH_PAGE) {
            let mut tx = self.store.begin(Lock::Writes)?;
            let mut rows = Vec::with_capacity(page.len());
            for (customer, _) in page {
                let Some(ctx) = contexts.get(customer) else { continue };
                let spec = OutboxSpec {
                    campaign_id: id,
                    occurrence: 0,
                    campaign: &campaign,
                    arm: arm_name(arms.get(customer).copied()),
                    control: control.contains(customer),
                    due,
                    waiting: matches!(arms.get(customer), Some(Arm::Rest)),
                    now,
                };
                if let Some(mut row) = spec.row(&mut *tx, ctx, rendered.get(customer).map(Ok))? {
                    pace_row(&campaign, &mut row, due, &mut paced, &zone);
                    rows.push(row);
                }
            }
            report.written += tx.insert_campaign_messages(&rows)?;
            tx.commit()?;
        }
        // The report counts what the outbox holds (a resumed launch's earlier rows included).
        let counts = self.campaign(id)?.counts;
        for (state, reason, n) in &counts.rows {
            match (state, reason.as_deref()) {
                (MessageState::Suppressed, Some("control")) => report.control += n,
                (MessageState::Suppressed, reason) => {
                    *report
                        .suppressed
                        .entry(reason.unwrap_or("unknown").to_string())
                        .or_default() += n;
                }
                _ => report.queued += n,
            }
        }
        report.waiting = {
            let mut tx = self.store.begin(Lock::Writes)?;
            let mut waiting = 0u64;
            let mut after = None;
            loop {
                let page = tx.campaign_messages(id, after, 1_000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.key());
                waiting += page
                    .iter()
                    .filter(|m| m.state == MessageState::Queued && m.next_attempt_at.is_none())
                    .count() as u64;
            }
            waiting
        };
        Ok(report)
    }

    /// Pause a launched campaign: its queued messages wait until it is launched again.
    pub fn pause_campaign(&self, id: CampaignId, actor: &Actor) -> Result<CampaignRow, SegmentError> {
        let mut tx = self.store.begin(Lock::Writes)?;
        let row = tx.campaign(id)?.ok_or_else(|| not_found(id))?;
        if row.state != CampaignState::Launched {
            return Err(wrong_state(id, row.state, "launched"));
        }
        tx.set_campaign_state(id, CampaignState::Paused, None)?;
        tx.append_audit(
            actor,
            "campaign.pause",
            "campaign",
            &id.to_string(),
            Some(&serde_json::json!({"state": row.state.as_str()})),
            Some(&serde_json::json!({"state": "paused"})),
        )?;
        tx.commit()?;
        Ok(CampaignRow {
            state: CampaignState::Paused,
            ..row
        })
    }
}

/// Why a message was not handed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Worth another attempt later (a connection refused, a 4xx reply).
    Transient(String),
    /// Never going to work (a 5xx reply: no such mailbox).
    Permanent(String),
}

/// A channel's sender: hands one outbox message over. It must be safe to call again with the
/// same message (a send whose record was lost is sent again with the same `message_id`).
pub trait Sender: Send + Sync {
    fn send(&self, message: &OutboxMessage, to: &kesher_core::Customer) -> Result<(), SendError>;
}

/// The `log` channel: nothing leaves; the outbox row itself records what would have been sent
/// (its language, subject and body) and when.
pub struct LogSender;

impl Sender for LogSender {
    fn send(&self, _message: &OutboxMessage, _to: &kesher_core::Customer) -> Result<(), SendError> {
        Ok(())
    }
}

/// The senders of the channels a business has configured (`log` always), and the link tracking
/// an e-mail's body goes through on its way to the sender (`clicks::track_links`).
#[derive(Default)]
pub struct Senders {
    pub email: Option<Box<dyn Sender>>,
    pub sms: Option<Box<dyn Sender>>,
    pub links: Option<clicks::LinkTracking>,
}

impl Senders {
    fn of(&self, channel: Channel) -> Option<&dyn Sender> {
        match channel {
            Channel::Email => self.email.as_deref(),
            Channel::Sms => self.sms.as_deref(),
            Channel::Log => Some(&LogSender),
        }
    }
}

/// How many claimed messages a delivery round hands to the channels at once.
pub const SEND_CONCURRENCY: usize = 8;

/// How many times a message is tried before it fails for good.
pub const MAX_SEND_ATTEMPTS: i64 = 5;
/// How long a sender holds a claimed message before another may take it again.
pub const SEND_LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);

/// The wait before attempt n + 1 after n failed ones: 30 s × 2ⁿ⁻¹, at most an hour.
pub fn send_backoff(attempts: i64) -> jiff::SignedDuration {
    let exponent = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(0);
    jiff::SignedDuration::from_secs((30i64 << exponent).min(3_600))
}

/// What one delivery round did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryReport {
    pub claimed: u64,
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    /// Suppressed at sending: the consent was withdrawn (an unsubscribe) after the launch.
    pub suppressed: u64,
}

impl App {
    /// The senders this process has: `log` always; e-mail over SMTP when `KESHER_SMTP_URL` is
    /// set (`KESHER_SMTP_FROM` the sender, `kesher@localhost` when unset; `KESHER_PUBLIC_URL`
    /// the server's address for the unsubscribe links and the tracked links,
    /// `http://127.0.0.1:8080` when unset); SMS through the provider's webhook when
    /// `KESHER_SMS_WEBHOOK` is set (`KESHER_SMS_WEBHOOK_AUTH` the `Authorization` header's value,
    /// `KESHER_SMS_FROM` the sender name or number).
    pub fn campaign_senders(&self) -> Result<Senders, SegmentError> {
        let public = std::env::var("KESHER_PUBLIC_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
        let mut senders = Senders {
            links: Some(clicks::LinkTracking::new(&public, self.unsubscribe_secret()?)),
            ..Senders::default()
        };
        if let Ok(url) = std::env::var("KESHER_SMTP_URL") {
            let from = std::env::var("KESHER_SMTP_FROM").unwrap_or_else(|_| "kesher@localhost".into());
            let public = std::env::var("KESHER_PUBLIC_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
            let sender = email::SmtpSender::new(&url, &from, &public, self.unsubscribe_secret()?).map_err(|e| {
                SegmentError::Store(StoreError::invalid_coded(
                    "campaign.smtp.invalid",
                    "KESHER_SMTP_URL",
                    kesher_core::params!(reason = e.as_str()),
                    e.clone(),
                ))
            })?;
            senders.email = Some(Box::new(sender));
        }
        if let Ok(url) = std::env::var("KESHER_SMS_WEBHOOK") {
            let auth = std::env::var("KESHER_SMS_WEBHOOK_AUTH").ok();
            let from = std::env::var("KESHER_SMS_FROM").ok();
            let sender = sms_webhook::WebhookSender::new(&url, auth.as_deref(), from.as_deref()).map_err(|e| {
                SegmentError::Store(StoreError::invalid_coded(
                    "campaign.sms.webhook",
                    "KESHER_SMS_WEBHOOK",
                    kesher_core::params!(reason = e.as_str()),
                    e.clone(),
                ))
            })?;
            senders.sms = Some(Box::new(sender));
        }
        Ok(senders)
    }

    /// Deliver up to `limit` due messages of launched campaigns: each claimed under a lease
    /// (`sending`), its customer's consent for the channel checked again (an unsubscribe since
    /// the launch suppresses it), handed to the channel's sender, and recorded (sent; or queued
    /// again after `send_backoff`; or failed after `MAX_SEND_ATTEMPTS` or a permanent refusal),
    /// each record its own unit of work.
    pub fn deliver_campaign_messages(&self, senders: &Senders, limit: usize) -> Result<DeliveryReport, SegmentError> {
        let now = self.now();
        let claimed = {
            let mut tx = self.store.begin(Lock::Writes)?;
            let claimed = tx.claim_campaign_messages(now, now + SEND_LEASE, limit)?;
            tx.commit()?;
            claimed
        };
        let mut report = DeliveryReport {
            claimed: claimed.len() as u64,
            ..DeliveryReport::default()
        };
        // Several messages in flight at once, each lane its own connections: one SMTP exchange
        // waits on the network (a server's delayed ACK alone is ~40 ms), not on this machine.
        // The benefit each claimed message's campaign grants, read once per round.
        let mut benefits: HashMap<CampaignId, Option<String>> = HashMap::new();
        {
            let mut tx = self.store.begin(Lock::Writes)?;
            for m in &claimed {
                if benefits.contains_key(&m.campaign_id) {
                    continue;
                }
                let benefit = match tx.campaign(m.campaign_id)? {
                    Some(row) => match Campaign::parse(&row.definition).map_err(domain)?.offer() {
                        Some(kesher_campaign::definition::Offer::Benefit(key)) => Some(key.clone()),
                        _ => None,
                    },
                    None => None,
                };
                benefits.insert(m.campaign_id, benefit);
            }
        }
        let benefits = &benefits;
        let workers = SEND_CONCURRENCY.min(claimed.len()).max(1);
        let mut lanes: Vec<Vec<OutboxMessage>> = vec![Vec::new(); workers];
        for (i, m) in claimed.into_iter().enumerate() {
            lanes[i % workers].push(m);
        }
        let results: Vec<Result<DeliveryReport, SegmentError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = lanes
                .into_iter()
                .map(|lane| {
                    scope.spawn(move || {
                        let mut r = DeliveryReport::default();
                        for message in lane {
                            let benefit = benefits.get(&message.campaign_id).cloned().flatten();
                            self.deliver_one(senders, message, benefit.as_deref(), &mut r)?;
                        }
                        Ok(r)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(SegmentError::Store(StoreError::Backend("a sender panicked".into()))))
                })
                .collect()
        });
        for r in results {
            let r = r?;
            report.sent += r.sent;
            report.retried += r.retried;
            report.failed += r.failed;
            report.suppressed += r.suppressed;
        }
        Ok(report)
    }

    /// One claimed message: the customer's consent for its channel read again, the message
    /// handed to the channel's sender, and the outcome recorded in its own unit of work.
    fn deliver_one(
        &self,
        senders: &Senders,
        message: OutboxMessage,
        benefit: Option<&str>,
        report: &mut DeliveryReport,
    ) -> Result<(), SegmentError> {
        let channel = message.channel.as_deref().and_then(Channel::parse);
        let customer = self.store.get_customer(message.customer_id)?;
        let outcome = match (channel, &customer) {
            (Some(channel), Some(customer)) => {
                let reach = Reach::of(customer, Some(channel), false);
                match choose_channel(&reach, &[channel]) {
                    Choice::Suppressed(why) => Err(Some(why)),
                    Choice::Chosen(_) => Ok(match senders.of(channel) {
                        // The campaign's benefit is granted before the message that announces
                        // it goes (once per campaign and customer, whatever the retries).
                        Some(sender) => match benefit.map(|b| {
                            self.grant_campaign_offer(message.campaign_id, message.occurrence, b, message.customer_id)
                        }) {
                            Some(Err(e)) => Err(SendError::Permanent(format!("granting the offer: {e}"))),
                            _ => match (channel, &senders.links, &message.body) {
                                // An e-mail's links go through the tracked redirect; the row
                                // keeps the body as rendered (what `follow_click` reads the
                                // links from).
                                (Channel::Email, Some(tracking), Some(body)) => sender.send(
                                    &OutboxMessage {
                                        body: Some(clicks::track_links(body, tracking, &message)),
                                        ..message.clone()
                                    },
                                    customer,
                                ),
                                _ => sender.send(&message, customer),
                            },
                        },
                        None => Err(SendError::Transient(format!(
                            "no {} sender is configured",
                            channel.as_str()
                        ))),
                    }),
                }
            }
            _ => Err(None),
        };
        let at = self.now();
        // A lease that ended unrecorded stays on the row, whatever happens next: the report counts
        // the sent ones as possible duplicates.
        let reclaimed = message
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with(kesher_store::campaigns::LEASE_EXPIRED));
        let error = |e: String| {
            if reclaimed {
                format!("{}; then: {e}", kesher_store::campaigns::LEASE_EXPIRED)
            } else {
                e
            }
        };
        let record = match outcome {
            Ok(Ok(())) => {
                report.sent += 1;
                OutboxMessage {
                    state: MessageState::Sent,
                    sent_at: Some(at),
                    next_attempt_at: None,
                    last_error: reclaimed.then(|| kesher_store::campaigns::LEASE_EXPIRED.to_string()),
                    ..message
                }
            }
            Ok(Err(SendError::Transient(e))) if message.attempts < MAX_SEND_ATTEMPTS => {
                report.retried += 1;
                OutboxMessage {
                    state: MessageState::Queued,
                    next_attempt_at: Some(at + send_backoff(message.attempts)),
                    last_error: Some(error(e)),
                    ..message
                }
            }
            Ok(Err(SendError::Transient(e) | SendError::Permanent(e))) => {
                report.failed += 1;
                OutboxMessage {
                    state: MessageState::Failed,
                    next_attempt_at: None,
                    last_error: Some(error(e)),
                    ..message
                }
            }
            Err(why) => {
                report.suppressed += 1;
                OutboxMessage {
                    state: MessageState::Suppressed,
                    suppression: Some(why.unwrap_or(Suppression::NoAddress).as_str().to_string()),
                    next_attempt_at: None,
                    ..message
                }
            }
        };
        let mut tx = self.store.begin(Lock::Writes)?;
        tx.update_campaign_message(&record)?;
        tx.commit()?;
        Ok(())
    }
}

/// A group's response and revenue in a report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupFigures {
    pub customers: u64,
    pub responders: u64,
    /// Revenue per customer in major units of the currency.
    pub revenue_per_customer: f64,
}

/// The campaign's measured effect (`App::campaign_report`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CampaignReport {
    pub campaign_id: String,
    pub sent: u64,
    pub suppressed: BTreeMap<String, u64>,
    pub control: u64,
    pub queued: u64,
    pub failed: u64,
    /// Sent messages claimed again after a lease ended unrecorded (a sender stopped between
    /// handing one over and recording it): each may have arrived twice, with the same
    /// `Message-ID`. Only these can be duplicates.
    pub possible_duplicates: u64,
    pub attribution_days: u32,
    /// Whether the attribution window has ended for every sent message.
    pub complete: bool,
    pub recipients: GroupFigures,
    pub control_group: GroupFigures,
    /// `kesher_campaign::stats::response_lift`, or why it cannot be measured yet.
    pub response: serde_json::Value,
    pub revenue: serde_json::Value,
    pub projection: serde_json::Value,
    /// An A/B test's winner and each variant's measured response, once chosen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub winner: Option<WinnerChoice>,
    /// Clicks through the tracked links: unique clickers (a recipient who followed any link of
    /// their message) and every click, overall and per arm.
    pub clicks: ClickFigures,
    /// A recurring campaign's figures per occurrence (the anniversary's year), oldest first;
    /// the figures above add them all up. Empty for a campaign sent once.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub occurrences: Vec<OccurrenceFigures>,
}

/// The tracked links' clicks in a report.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ClickFigures {
    /// Sent messages of which at least one link was followed.
    pub unique_clickers: u64,
    /// Every click, repeats included.
    pub clicks: u64,
    /// Unique clickers over sent messages (0 when none was sent).
    pub click_rate: f64,
    /// The same per arm (`all`, `variant:N`, `rest…`), by arm.
    pub arms: BTreeMap<String, ArmClicks>,
}

/// One arm's clicks.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ArmClicks {
    pub sent: u64,
    pub unique_clickers: u64,
    pub clicks: u64,
    pub click_rate: f64,
}

fn rate(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 / whole as f64 }
}

/// One occurrence (year) of a recurring campaign in its report.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OccurrenceFigures {
    pub occurrence: i64,
    pub sent: u64,
    pub control: u64,
    /// Recipients who bought within the attribution window after their message.
    pub recipients_responders: u64,
    /// Control customers who bought within the window after their day's run.
    pub control_responders: u64,
}

fn interval(i: &kesher_campaign::stats::Interval) -> serde_json::Value {
    serde_json::json!([i.low, i.high])
}

impl App {
    /// The currency responses are counted in (the catalogue's) and its minor units per major
    /// one.
    fn report_currency(&self) -> Result<(kesher_core::Currency, f64), SegmentError> {
        Ok(match self.store.list_products(1, 0)?.items.first() {
            Some(p) => (
                p.list_price.currency,
                10f64.powi(p.list_price.currency.exponent() as i32),
            ),
            None => (kesher_core::Currency::parse("ILS").map_err(domain)?, 100.0),
        })
    }

    /// The campaign's report: who was sent what, and the response (a purchase within
    /// `attribution_days` after the send; for the control group after the launch, or after the
    /// day's run that drew them for a recurring campaign) and revenue
    /// per customer of recipients against the control group, with `kesher_campaign::stats`'
    /// lifts, intervals, p-values and the projection to every customer of the outbox.
    pub fn campaign_report(&self, id: CampaignId) -> Result<CampaignReport, SegmentError> {
        let view = self.campaign(id)?;
        let launched = view
            .row
            .launched_at
            .ok_or_else(|| wrong_state(id, view.row.state, "launched"))?;
        let days = view.campaign.attribution_days();
        let window = jiff::SignedDuration::from_hours(24 * i64::from(days));
        let now = self.now();
        let (currency, scale) = self.report_currency()?;
        let (mut treated, mut control) = (Vec::new(), Vec::new());
        let (mut treated_hits, mut control_hits) = (0u64, 0u64);
        let mut complete = true;
        let mut counts = (0u64, 0u64, 0u64, 0u64, BTreeMap::<String, u64>::new());
        let mut possible_duplicates = 0u64;
        let recurring = matches!(view.campaign.kind(), Kind::Recurring { .. });
        let mut occurrences: BTreeMap<i64, OccurrenceFigures> = BTreeMap::new();
        let mut sent_arms: HashMap<kesher_store::MessageKey, String> = HashMap::new();
        let mut tx = self.store.begin(Lock::Writes)?;
        let mut after = None;
        loop {
            let page = tx.campaign_messages(id, after, 1_000)?;
            let Some(last) = page.last() else { break };
            after = Some(last.key());
            for m in &page {
                let start = match (m.state, m.suppression.as_deref()) {
                    (MessageState::Sent, _) => {
                        counts.0 += 1;
                        if m.last_error
                            .as_deref()
                            .is_some_and(|e| e.starts_with(kesher_store::campaigns::LEASE_EXPIRED))
                        {
                            possible_duplicates += 1;
                        }
                        sent_arms.insert(m.key(), m.arm.clone());
                        m.sent_at
                    }
                    (MessageState::Suppressed, Some("control")) => {
                        counts.1 += 1;
                        // A recurring campaign's control customer is drawn on their day.
                        Some(if recurring { m.created_at } else { launched })
                    }
                    (MessageState::Suppressed, reason) => {
                        *counts.4.entry(reason.unwrap_or("unknown").to_string()).or_default() += 1;
                        None
                    }
                    (MessageState::Failed, _) => {
                        counts.3 += 1;
                        None
                    }
                    _ => {
                        counts.2 += 1;
                        None
                    }
                };
                let Some(start) = start else { continue };
                let end = start + window;
                complete &= end <= now;
                let activity = tx.customer_activity(m.customer_id, currency, start, end.min(now))?;
                let responded = activity.visits > 0;
                let (values, hits) = if m.state == MessageState::Sent {
                    (&mut treated, &mut treated_hits)
                } else {
                    (&mut control, &mut control_hits)
                };
                values.push(activity.spend as f64 / scale);
                *hits += u64::from(responded);
                if recurring {
                    let figures = occurrences.entry(m.occurrence).or_insert_with(|| OccurrenceFigures {
                        occurrence: m.occurrence,
                        ..OccurrenceFigures::default()
                    });
                    if m.state == MessageState::Sent {
                        figures.sent += 1;
                        figures.recipients_responders += u64::from(responded);
                    } else {
                        figures.control += 1;
                        figures.control_responders += u64::from(responded);
                    }
                }
            }
        }
        let mut clicks = ClickFigures::default();
        for arm in sent_arms.values() {
            clicks.arms.entry(arm.clone()).or_default().sent += 1;
        }
        let mut clicked: BTreeSet<kesher_store::MessageKey> = BTreeSet::new();
        for click in tx.campaign_clicks(id)? {
            let key = (click.customer_id, click.occurrence);
            let Some(arm) = sent_arms.get(&key) else { continue };
            let n = u64::try_from(click.clicks).unwrap_or(0);
            clicks.clicks += n;
            let figures = clicks.arms.entry(arm.clone()).or_default();
            figures.clicks += n;
            if clicked.insert(key) {
                clicks.unique_clickers += 1;
                figures.unique_clickers += 1;
            }
        }
        clicks.click_rate = rate(clicks.unique_clickers, counts.0);
        for figures in clicks.arms.values_mut() {
            figures.click_rate = rate(figures.unique_clickers, figures.sent);
        }
        drop(tx);
        use kesher_campaign::stats;
        let figures = |values: &[f64], hits: u64| GroupFigures {
            customers: values.len() as u64,
            responders: hits,
            revenue_per_customer: if values.is_empty() {
                0.0
            } else {
                values.iter().sum::<f64>() / values.len() as f64
            },
        };
        let failure = |e: DomainError| serde_json::json!({"error": e.code, "reason": e.reason});
        let response = stats::response_lift(
            stats::Proportion {
                successes: treated_hits,
                trials: treated.len() as u64,
            },
            stats::Proportion {
                successes: control_hits,
                trials: control.len() as u64,
            },
        );
        let revenue = stats::revenue_lift(&stats::Sample::of(&treated), &stats::Sample::of(&control));
        let population = counts.0 + counts.1 + counts.2 + counts.3 + counts.4.values().sum::<u64>();
        let projection = match (&response, &revenue) {
            (Ok(r), Ok(v)) => {
                let p = stats::project(population, r, v);
                serde_json::json!({"population": p.population,
                    "incremental_responders": p.incremental_responders, "responders_ci": interval(&p.responders_ci),
                    "incremental_revenue": p.incremental_revenue, "revenue_ci": interval(&p.revenue_ci)})
            }
            (Err(e), _) | (_, Err(e)) => failure(e.clone()),
        };
        let response = match response {
            Ok(r) => serde_json::json!({"recipients": r.treatment_rate, "control": r.control_rate,
                "lift": r.difference, "ci": interval(&r.difference_ci), "relative": r.relative,
                "relative_ci": r.relative_ci.as_ref().map(interval), "z": r.z, "p_value": r.p_value}),
            Err(e) => failure(e),
        };
        let revenue = match revenue {
            Ok(r) => serde_json::json!({"recipients": r.treatment_mean, "control": r.control_mean,
                "lift": r.difference, "ci": interval(&r.difference_ci), "relative": r.relative,
                "t": r.t, "df": r.df, "p_value": r.p_value}),
            Err(e) => failure(e),
        };
        Ok(CampaignReport {
            campaign_id: id.to_string(),
            sent: counts.0,
            control: counts.1,
            queued: counts.2,
            failed: counts.3,
            possible_duplicates,
            suppressed: counts.4,
            attribution_days: days,
            complete,
            recipients: figures(&treated, treated_hits),
            control_group: figures(&control, control_hits),
            response,
            revenue,
            projection,
            winner: view.winner,
            clicks,
            occurrences: occurrences.into_values().collect(),
        })
    }
}

pub mod clicks;
pub mod delivery;
pub mod economics;
pub mod email;
pub mod offers;
pub mod recurring;
pub mod sms_webhook;
pub mod triggered;
pub mod winner;

pub use delivery::{DeliveryLoop, DeliveryStep, delivery_step, winners_step};
pub use recurring::{RecurringReport, RecurringRun};
pub use triggered::{TriggeredReport, TriggeredRun};
pub use winner::{VariantResult, WinnerChoice, WinnersReport};

#[cfg(test)]
mod tests;
