//! Campaigns' rows inside a unit of work: the campaign (its definition as text, byte for byte, its
//! state and seed) and its outbox, one message per (campaign, customer, occurrence) written before
//! it is sent (`CampaignRows`, a part of every `Tx`). The occurrence is 0 for a campaign sent
//! once and the year of the anniversary for a recurring one (a birthday greeting each year). The decisions are `kesher_campaign`'s; the workflows
//! are `kesher_app::campaigns`.

use crate::Result;
use crate::rows::{Columns, corrupt};
use jiff::Timestamp;
use kesher_core::{CampaignId, CustomerId};

/// Where a campaign is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignState {
    /// Written, not launched: it can be previewed.
    Draft,
    /// Its outbox is written (or being written) and delivered.
    Launched,
    /// Delivery stopped; queued messages wait.
    Paused,
    /// Every message is sent, failed or suppressed.
    Done,
}

impl CampaignState {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignState::Draft => "draft",
            CampaignState::Launched => "launched",
            CampaignState::Paused => "paused",
            CampaignState::Done => "done",
        }
    }
    pub fn parse(s: &str) -> Option<CampaignState> {
        Some(match s {
            "draft" => CampaignState::Draft,
            "launched" => CampaignState::Launched,
            "paused" => CampaignState::Paused,
            "done" => CampaignState::Done,
            _ => return None,
        })
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRow {
    pub id: CampaignId,
    pub name: String,
    /// The JSON definition exactly as it was given (`kesher_campaign::Campaign::parse` reads it).
    pub definition: String,
    pub state: CampaignState,
    /// The seed of the control group's and the variants' draws.
    pub seed: u64,
    pub created_by: String,
    pub created_at: Timestamp,
    pub launched_at: Option<Timestamp>,
}

/// Where an outbox message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageState {
    /// Waiting for `next_attempt_at`.
    Queued,
    /// Claimed by a sender until `next_attempt_at` (its lease); a lease that ran out is claimed
    /// again.
    Sending,
    Sent,
    /// Given up after its attempts.
    Failed,
    /// Never sent: `suppression` says why (the control group among the reasons).
    Suppressed,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageState::Queued => "queued",
            MessageState::Sending => "sending",
            MessageState::Sent => "sent",
            MessageState::Failed => "failed",
            MessageState::Suppressed => "suppressed",
        }
    }
    pub fn parse(s: &str) -> Option<MessageState> {
        Some(match s {
            "queued" => MessageState::Queued,
            "sending" => MessageState::Sending,
            "sent" => MessageState::Sent,
            "failed" => MessageState::Failed,
            "suppressed" => MessageState::Suppressed,
            _ => return None,
        })
    }
}

/// One message of a campaign's outbox, keyed by (campaign, customer, occurrence).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub campaign_id: CampaignId,
    pub customer_id: CustomerId,
    /// Which time the campaign reaches this customer: 0 for a campaign sent once (launched,
    /// scheduled, triggered), the anniversary's year for a recurring campaign.
    pub occurrence: i64,
    /// `control` or `variant:N` (N from 0), or `all` when the campaign has no variants.
    pub arm: String,
    /// The channel chosen (`email`, `sms`, `log`); none when suppressed before one was.
    pub channel: Option<String>,
    pub state: MessageState,
    /// A `kesher_campaign::Suppression` as text, when suppressed.
    pub suppression: Option<String>,
    pub language: Option<String>,
    pub subject: Option<String>,
    pub body: Option<String>,
    /// Stable per (campaign, customer, occurrence): a resend carries the same id.
    pub message_id: String,
    pub attempts: i64,
    /// Queued: when it may go; sending: when its lease ends.
    pub next_attempt_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
    /// When the row was written (the launch).
    pub created_at: Timestamp,
}

/// The clicks of one link of one message (campaign, customer, occurrence), through the server's
/// tracked redirect: a row per (message, link), so that the rows count unique clicks and
/// `clicks` every one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignClick {
    pub campaign_id: CampaignId,
    pub customer_id: CustomerId,
    pub occurrence: i64,
    /// The link's number in the message (from 0, `kesher_campaign::links`' order).
    pub link: i64,
    pub clicks: i64,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
}

/// A campaign's outbox counted by state and suppression reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// (state, suppression reason or none, count), ordered.
    pub rows: Vec<(MessageState, Option<String>, u64)>,
}

impl OutboxCounts {
    pub fn of(&self, state: MessageState) -> u64 {
        self.rows
            .iter()
            .filter(|(s, _, _)| *s == state)
            .map(|(_, _, n)| n)
            .sum()
    }
}

/// Where a page of a campaign's outbox ends: (customer, occurrence) of its last message.
pub type MessageKey = (CustomerId, i64);

impl OutboxMessage {
    /// The message's place in its campaign's outbox, what [`CampaignRows::campaign_messages`]
    /// pages after.
    pub fn key(&self) -> MessageKey {
        (self.customer_id, self.occurrence)
    }
}

/// The campaigns' and the outbox's rows (part of every [`crate::Tx`]).
pub trait CampaignRows {
    fn insert_campaign(&mut self, c: &CampaignRow) -> Result<()>;
    fn campaign(&mut self, id: CampaignId) -> Result<Option<CampaignRow>>;
    /// Every campaign, the newest first (ties by id).
    fn campaigns(&mut self) -> Result<Vec<CampaignRow>>;
    fn set_campaign_state(
        &mut self,
        id: CampaignId,
        state: CampaignState,
        launched_at: Option<Timestamp>,
    ) -> Result<()>;
    /// Write outbox rows; a row whose (campaign, customer, occurrence) is already there is left
    /// as it is (a resumed launch, a recurring run done again). Returns how many were new.
    fn insert_campaign_messages(&mut self, messages: &[OutboxMessage]) -> Result<u64>;
    fn campaign_message(
        &mut self,
        campaign: CampaignId,
        customer: CustomerId,
        occurrence: i64,
    ) -> Result<Option<OutboxMessage>>;
    /// The campaign's messages with (customer id, occurrence) after `after`, in that order; at
    /// most `limit`.
    fn campaign_messages(
        &mut self,
        campaign: CampaignId,
        after: Option<MessageKey>,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>>;
    /// Every message to this customer, across campaigns, oldest first.
    fn customer_campaign_messages(&mut self, customer: CustomerId) -> Result<Vec<OutboxMessage>>;
    /// The instants this customer was sent a message or has one queued or sending after `since`
    /// (sent: `sent_at`; waiting: `next_attempt_at`): what a frequency cap counts.
    fn recent_message_times(&mut self, customer: CustomerId, since: Timestamp) -> Result<Vec<Timestamp>>;
    /// Claim at most `limit` messages of launched campaigns that are due (queued with
    /// `next_attempt_at <= now`, or sending with a lease ended by `now`), earliest first: each
    /// becomes `sending` until `lease_until`, its attempts counted one more; one claimed while
    /// still `sending` (its lease ended unrecorded) gets `last_error` = [`lease_expired`]. Two units never
    /// claim one message (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the single writer).
    fn claim_campaign_messages(
        &mut self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>>;
    /// Write a message's delivery: state, suppression, attempts, next_attempt_at, sent_at and
    /// last_error (nothing else of it changes).
    fn update_campaign_message(&mut self, m: &OutboxMessage) -> Result<()>;
    /// Release a message that waits for an A/B test's winner (queued without a due time): its
    /// arm, language, subject and body and its delivery (state, suppression, attempts,
    /// next_attempt_at, sent_at, last_error) written as `m` has them; its keys, channel,
    /// `message_id` and `created_at` stay. Returns false, writing nothing, when the row no longer
    /// waits (another server released it first).
    fn release_campaign_message(&mut self, m: &OutboxMessage) -> Result<bool>;
    fn campaign_message_counts(&mut self, campaign: CampaignId) -> Result<OutboxCounts>;
    /// A merge: the dropped customer's messages go to the kept one, except for a (campaign,
    /// occurrence) the kept one has a message of (those are removed), and their clicks with
    /// them (a click of a message the kept one has is removed too). Returns how many messages
    /// moved.
    fn move_campaign_messages(&mut self, from: CustomerId, to: CustomerId) -> Result<u64>;
    /// A deletion: the customer's messages and their clicks go.
    fn delete_campaign_messages(&mut self, customer: CustomerId) -> Result<()>;
    /// Record one click on a message's link at `at`: the first of its (campaign, customer,
    /// occurrence, link) writes a row with one click, a later one adds to its count and moves
    /// its `last_at`. Returns true for the first.
    fn record_campaign_click(
        &mut self,
        campaign: CampaignId,
        customer: CustomerId,
        occurrence: i64,
        link: i64,
        at: Timestamp,
    ) -> Result<bool>;
    /// A campaign's clicks, one row per (customer, occurrence, link), in that order.
    fn campaign_clicks(&mut self, campaign: CampaignId) -> Result<Vec<CampaignClick>>;
    /// A customer's clicks across campaigns (their export), by campaign, occurrence and link.
    fn customer_campaign_clicks(&mut self, customer: CustomerId) -> Result<Vec<CampaignClick>>;
}

/// A click row's columns, in [`campaign_click`]'s order.
pub const CLICK_SELECT: &str =
    "SELECT campaign_id, customer_id, occurrence, link, clicks, first_at, last_at FROM campaign_clicks";
pub fn campaign_click(r: &impl Columns) -> Result<CampaignClick> {
    Ok(CampaignClick {
        campaign_id: CampaignId::from_bytes(r.id(0)?),
        customer_id: CustomerId::from_bytes(r.id(1)?),
        occurrence: r.int(2)?,
        link: r.int(3)?,
        clicks: r.int(4)?,
        first_at: r.time(5)?,
        last_at: r.time(6)?,
    })
}

/// A campaign's columns, in [`campaign`]'s order.
pub const CAMPAIGN_SELECT: &str =
    "SELECT id, name, definition, state, seed, created_by, created_at, launched_at FROM campaigns";
pub fn campaign(r: &impl Columns) -> Result<CampaignRow> {
    let state = r.text(3)?;
    let seed = r.text(4)?;
    Ok(CampaignRow {
        id: CampaignId::from_bytes(r.id(0)?),
        name: r.text(1)?,
        definition: r.text(2)?,
        state: CampaignState::parse(&state).ok_or_else(|| corrupt("campaign state", &state))?,
        seed: seed.parse::<u64>().map_err(|e| corrupt("campaign seed", e))?,
        created_by: r.text(5)?,
        created_at: r.time(6)?,
        launched_at: r.opt_time(7)?,
    })
}

/// An outbox message's columns, in [`outbox_message`]'s order.
/// The mark a message's `last_error` starts with once a lease on it has ended unrecorded: its
/// sender stopped (a crash, a `kill -9`) between handing it over and recording the outcome, so
/// the earlier attempt may have been delivered and the next one may make a duplicate (with the
/// same `message_id`). The claim sets it; the delivery keeps it through later attempts and on
/// the sent row; the report counts it (`possible_duplicates`).
pub const LEASE_EXPIRED: &str = "lease expired: an earlier attempt may have been delivered";

/// `last_error` of a message claimed again after its lease ended: `LEASE_EXPIRED`, followed by
/// what the error said before when it was not already that mark.
pub fn lease_expired(last_error: Option<&str>) -> String {
    match last_error {
        Some(e) if e.starts_with(LEASE_EXPIRED) => e.to_string(),
        _ => LEASE_EXPIRED.to_string(),
    }
}

pub const MESSAGE_SELECT: &str = "SELECT campaign_id, customer_id, arm, channel, state, suppression, language,
    subject, body, message_id, attempts, next_attempt_at, sent_at, last_error, created_at, occurrence
    FROM campaign_messages";
pub fn outbox_message(r: &impl Columns) -> Result<OutboxMessage> {
    let state = r.text(4)?;
    Ok(OutboxMessage {
        campaign_id: CampaignId::from_bytes(r.id(0)?),
        customer_id: CustomerId::from_bytes(r.id(1)?),
        arm: r.text(2)?,
        channel: r.opt_text(3)?,
        state: MessageState::parse(&state).ok_or_else(|| corrupt("message state", &state))?,
        suppression: r.opt_text(5)?,
        language: r.opt_text(6)?,
        subject: r.opt_text(7)?,
        body: r.opt_text(8)?,
        message_id: r.text(9)?,
        attempts: r.int(10)?,
        next_attempt_at: r.opt_time(11)?,
        sent_at: r.opt_time(12)?,
        last_error: r.opt_text(13)?,
        created_at: r.time(14)?,
        occurrence: r.int(15)?,
    })
}
