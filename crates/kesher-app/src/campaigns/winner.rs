//! A/B tests' winners (docs/campaigns.md): once `variants_test_hours` have passed since the last
//! variant message was sent and none is waiting to go, each variant's response is measured as
//! the report measures it (a purchase by the recipient after their message was sent, within the
//! attribution window), `kesher_campaign::draw::pick_winner` chooses, the choice is recorded (a
//! settings row `campaigns.winner.<id>` and the audit log), and the recipients who waited (arm
//! `rest`, no due time) are given the winner's texts and a due time, `LAUNCH_PAGE` rows per unit
//! of work. A release that stopped part-way is finished by the next run (the server's delivery
//! loop runs one a minute; the job `campaigns.pick_winners` runs one on demand). Two servers may
//! run at once: the choice is written once (read again in its unit), and a row is released only
//! while it still waits (`Tx::release_campaign_message`).

use super::{LAUNCH_PAGE, not_found, render, row_texts};
use crate::App;
use crate::segments::SegmentError;
use jiff::{SignedDuration, Timestamp};
use kesher_campaign::Campaign;
use kesher_campaign::definition::Kind;
use kesher_campaign::draw;
use kesher_core::{CampaignId, CustomerId};
use kesher_store::{Actor, CampaignRow, CampaignState, Lock, MessageState, OutboxMessage, Tx};
use std::collections::BTreeSet;

/// The settings row of a campaign's winner: this prefix and the campaign's id.
pub const WINNER_KEY_PREFIX: &str = "campaigns.winner.";

/// One variant's measured response.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VariantResult {
    pub key: String,
    /// Variant messages sent.
    pub recipients: u64,
    /// Recipients who bought after their message (within the attribution window).
    pub responders: u64,
}

/// The choice of an A/B test's winner, as recorded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WinnerChoice {
    /// The winning variant (from 0); none when no variant message was sent (the recipients who
    /// waited get the campaign's own texts).
    pub variant: Option<usize>,
    pub key: Option<String>,
    pub chosen_at: Timestamp,
    pub results: Vec<VariantResult>,
    /// When every recipient who waited had been given the winner's texts.
    pub released_at: Option<Timestamp>,
}

/// What a run of `App::pick_campaign_winners` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WinnersReport {
    /// (campaign, choice) for each winner chosen by this run.
    pub chosen: Vec<(String, WinnerChoice)>,
    /// Waiting messages given a winner's texts and a due time.
    pub released: u64,
    /// Campaigns whose test is still running.
    pub testing: u64,
}

fn winner_key(id: CampaignId) -> String {
    format!("{WINNER_KEY_PREFIX}{id}")
}

/// A campaign's recorded winner, read in `tx`.
pub(crate) fn read_winner(tx: &mut dyn Tx, id: CampaignId) -> Result<Option<WinnerChoice>, SegmentError> {
    Ok(tx
        .setting(&winner_key(id))?
        .and_then(|text| serde_json::from_str(&text).ok()))
}

fn write_winner(tx: &mut dyn Tx, id: CampaignId, choice: &WinnerChoice) -> Result<(), SegmentError> {
    let text = serde_json::to_string(choice).map_err(|e| {
        SegmentError::Store(kesher_store::StoreError::Backend(format!(
            "writing a campaign's winner: {e}"
        )))
    })?;
    tx.put_setting_row(&winner_key(id), &text)?;
    Ok(())
}

/// The variant of an outbox row's arm (`variant:N`).
fn variant_of(arm: &str) -> Option<usize> {
    arm.strip_prefix("variant:")?.parse().ok()
}

/// Whether a row waits for the winner.
fn waiting(m: &OutboxMessage) -> bool {
    m.arm == "rest" && m.state == MessageState::Queued && m.next_attempt_at.is_none()
}

impl App {
    /// The campaign's recorded A/B winner, if one was chosen.
    pub fn campaign_winner(&self, id: CampaignId) -> Result<Option<WinnerChoice>, SegmentError> {
        let mut tx = self.store.begin(Lock::Writes)?;
        read_winner(&mut *tx, id)
    }

    /// For every launched campaign with variants: choose the winner when its test is over, and
    /// give the recipients who waited the winner's texts and a due time (the send window's next
    /// opening). Run by the server's delivery loop each minute and by the job
    /// `campaigns.pick_winners`.
    pub fn pick_campaign_winners(&self, actor: &Actor) -> Result<WinnersReport, SegmentError> {
        let rows = {
            let mut tx = self.store.begin(Lock::Writes)?;
            tx.campaigns()?
        };
        let mut report = WinnersReport::default();
        for row in rows {
            if row.state != CampaignState::Launched {
                continue;
            }
            let Ok(campaign) = Campaign::parse(&row.definition) else {
                continue;
            };
            if campaign.variants().is_empty() {
                continue;
            }
            let mut winner = self.campaign_winner(row.id)?;
            if winner.is_none() {
                winner = self.choose_winner(&row, &campaign, actor)?;
                match &winner {
                    Some(choice) => report.chosen.push((row.id.to_string(), choice.clone())),
                    None => report.testing += 1,
                }
            }
            if let Some(choice) = winner
                && choice.released_at.is_none()
            {
                report.released += self.release_waiting(&row, &campaign, choice, actor)?;
            }
        }
        Ok(report)
    }

    /// Measure the variants and record the winner, or `None` while the test runs.
    fn choose_winner(
        &self,
        row: &CampaignRow,
        campaign: &Campaign,
        actor: &Actor,
    ) -> Result<Option<WinnerChoice>, SegmentError> {
        let id = row.id;
        let now = self.now();
        let test = SignedDuration::from_hours(i64::from(campaign.variants_test_hours()));
        let window = SignedDuration::from_hours(24 * i64::from(campaign.attribution_days()));
        // No variant message goes before the launch: the test cannot be over before this, and
        // the outbox is not read each minute meanwhile.
        if row.launched_at.is_some_and(|launched| now < launched + test) {
            return Ok(None);
        }
        let currency = self.report_currency()?.0;
        let mut sent: Vec<(usize, CustomerId, Timestamp)> = Vec::new();
        {
            let mut tx = self.store.begin(Lock::Writes)?;
            let mut after = None;
            loop {
                let page = tx.campaign_messages(id, after, 1_000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.key());
                for m in &page {
                    let Some(variant) = variant_of(&m.arm) else { continue };
                    match (m.state, m.sent_at) {
                        // A variant message still to go: the test has not ended.
                        (MessageState::Queued | MessageState::Sending, _) => return Ok(None),
                        (MessageState::Sent, Some(at)) => sent.push((variant, m.customer_id, at)),
                        _ => {}
                    }
                }
            }
        }
        let ends = match sent.iter().map(|(_, _, at)| *at).max() {
            Some(last) => last + test,
            // Nothing sent: a triggered campaign waits for entrants; another kind, whose
            // variants were all suppressed, gives up on the test after it.
            None if matches!(campaign.kind(), Kind::Triggered { .. }) => return Ok(None),
            None => row.launched_at.unwrap_or(now) + test,
        };
        if now < ends {
            return Ok(None);
        }
        let mut results: Vec<VariantResult> = campaign
            .variants()
            .iter()
            .map(|v| VariantResult {
                key: v.key.clone(),
                recipients: 0,
                responders: 0,
            })
            .collect();
        let mut tx = self.store.begin(Lock::Writes)?;
        for (variant, customer, at) in &sent {
            let Some(result) = results.get_mut(*variant) else {
                continue;
            };
            let activity = tx.customer_activity(*customer, currency, *at, (*at + window).min(now))?;
            result.recipients += 1;
            result.responders += u64::from(activity.visits > 0);
        }
        let pairs: Vec<(u64, u64)> = results.iter().map(|r| (r.responders, r.recipients)).collect();
        let variant = draw::pick_winner(&pairs);
        let choice = WinnerChoice {
            variant,
            key: variant.and_then(|i| campaign.variants().get(i)).map(|v| v.key.clone()),
            chosen_at: now,
            results,
            released_at: None,
        };
        // Chosen once: a concurrent run that got here first wins.
        if let Some(earlier) = read_winner(&mut *tx, id)? {
            return Ok(Some(earlier));
        }
        write_winner(&mut *tx, id, &choice)?;
        tx.append_audit(
            actor,
            "campaign.winner",
            "campaign",
            &id.to_string(),
            None,
            Some(&serde_json::json!({"variant": choice.variant, "key": choice.key,
                "results": choice.results})),
        )?;
        tx.commit()?;
        Ok(Some(choice))
    }

    /// Give the waiting rows the winner's texts and a due time, page by page; the release
    /// recorded once none waits. Returns how many rows this call released.
    fn release_waiting(
        &self,
        row: &CampaignRow,
        campaign: &Campaign,
        choice: WinnerChoice,
        actor: &Actor,
    ) -> Result<u64, SegmentError> {
        let id = row.id;
        let now = self.now();
        let zone = self.business_time_zone()?;
        let due = campaign.send_window().send_at(now, &zone, None).unwrap_or(now);
        let mut waiting_ids: Vec<kesher_store::MessageKey> = Vec::new();
        {
            let mut tx = self.store.begin(Lock::Writes)?;
            let mut after = None;
            loop {
                let page = tx.campaign_messages(id, after, 1_000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.key());
                waiting_ids.extend(page.iter().filter(|m| waiting(m)).map(|m| m.key()));
            }
        }
        let wanted: BTreeSet<CustomerId> = waiting_ids.iter().map(|k| k.0).collect();
        let contexts = if wanted.is_empty() {
            Default::default()
        } else {
            self.campaign_contexts(campaign, &|c| wanted.contains(&c))?
        };
        let mut released = 0u64;
        let mut paced = 0u64;
        for page in waiting_ids.chunks(LAUNCH_PAGE) {
            let mut tx = self.store.begin(Lock::Writes)?;
            for (customer, occurrence) in page {
                // Read again in the unit: only a row still waiting is released.
                let Some(m) = tx.campaign_message(id, *customer, *occurrence)?.filter(waiting) else {
                    continue;
                };
                // The frequency cap again: the customer may have been sent other campaigns'
                // messages while this one waited for the winner.
                if let Some(cap) = campaign.frequency_cap() {
                    let since = now - jiff::SignedDuration::from_hours(24 * i64::from(cap.days));
                    let received = tx.recent_message_times(*customer, since)?;
                    if !cap.allows(&received, now) {
                        let capped = OutboxMessage {
                            state: MessageState::Suppressed,
                            suppression: Some(kesher_campaign::Suppression::FrequencyCap.as_str().to_string()),
                            ..m
                        };
                        tx.release_campaign_message(&capped)?;
                        continue;
                    }
                }
                let rewritten = match contexts.get(customer) {
                    None => OutboxMessage {
                        state: MessageState::Failed,
                        last_error: Some("the customer's data could not be read".into()),
                        ..m
                    },
                    Some(ctx) => match render(campaign, ctx, choice.variant) {
                        Err(e) => OutboxMessage {
                            state: MessageState::Failed,
                            last_error: Some(e.to_string()),
                            ..m
                        },
                        Ok(texts) => {
                            let mut row = row_texts(campaign, m, &texts, due);
                            super::pace_row(campaign, &mut row, due, &mut paced, &zone);
                            row
                        }
                    },
                };
                released += u64::from(tx.release_campaign_message(&rewritten)?);
            }
            tx.commit()?;
        }
        let mut tx = self.store.begin(Lock::Writes)?;
        let row_now = tx.campaign(id)?.ok_or_else(|| not_found(id))?;
        let recorded = read_winner(&mut *tx, id)?.unwrap_or(choice);
        write_winner(
            &mut *tx,
            id,
            &WinnerChoice {
                released_at: Some(now),
                ..recorded
            },
        )?;
        tx.append_audit(
            actor,
            "campaign.release",
            "campaign",
            &id.to_string(),
            Some(&serde_json::json!({"state": row_now.state.as_str()})),
            Some(&serde_json::json!({"released": released, "due": due.to_string()})),
        )?;
        tx.commit()?;
        Ok(released)
    }
}
