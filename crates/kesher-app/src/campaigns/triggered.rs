//! Triggered campaigns (docs/campaigns.md): a launched campaign of kind `triggered` writes a row
//! for each customer who entered its saved segment after the launch, as the segment's history
//! records entries (`App::refresh_segment_history`: the job `segments.refresh`, the end of
//! `analyze`, `kesher segments refresh`, each followed by `App::fire_triggered_campaigns`). The
//! rows follow the launch's rules — the audience, the control group, the channel from the
//! customer's consents, the frequency cap, the send window — but the control group and the
//! variants' arms are drawn one customer at a time from the campaign's seed and the customer's id
//! (`draw::in_control`, `draw::arm_of`), since the audience arrives over weeks. A customer with a
//! row already is never written again (the outbox's key).

use super::{LAUNCH_PAGE, LaunchReport, OutboxSpec, arm_name, render};
use crate::App;
use crate::segments::SegmentError;
use kesher_campaign::Campaign;
use kesher_campaign::definition::Kind;
use kesher_campaign::draw;
use kesher_core::CustomerId;
use kesher_store::{Actor, CampaignRow, CampaignState, Lock, SegmentEventKind};
use std::collections::BTreeSet;

/// What one triggered campaign did in a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TriggeredRun {
    pub campaign: String,
    pub segment: String,
    /// Customers who entered the segment since the launch and had no row yet.
    pub entered: u64,
    /// Rows written (entrants outside the audience get none).
    pub written: u64,
}

/// What `App::fire_triggered_campaigns` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TriggeredReport {
    pub campaigns: Vec<TriggeredRun>,
}

/// How many segment events one read takes.
const EVENTS_PAGE: usize = 1_000;

impl App {
    /// Launch a triggered campaign: its saved segment must exist; the campaign becomes
    /// `launched` (since now, or since its first launch when resumed) and writes no row — the
    /// customers who enter the segment from now on get theirs.
    pub(super) fn launch_triggered(
        &self,
        row: &CampaignRow,
        segment: &str,
        now: jiff::Timestamp,
        actor: &Actor,
    ) -> Result<LaunchReport, SegmentError> {
        self.get_segment(segment)?;
        // To the microsecond, as the segments' events are kept: an entry at the launch's
        // instant is not after it.
        let since = row.launched_at.unwrap_or(crate::segments::history::instant(now));
        self.activate_campaign(
            row,
            since,
            serde_json::json!({"triggered_by": segment, "since": since.to_string()}),
            actor,
        )
    }

    /// Write the rows of every launched triggered campaign for the customers who entered its
    /// segment after its launch and have none yet. Called after each refresh of the segments'
    /// history.
    pub fn fire_triggered_campaigns(&self, actor: &Actor) -> Result<TriggeredReport, SegmentError> {
        let rows = {
            let mut tx = self.store.begin(Lock::Writes)?;
            tx.campaigns()?
        };
        let mut report = TriggeredReport::default();
        for row in rows {
            if row.state != CampaignState::Launched {
                continue;
            }
            let Ok(campaign) = Campaign::parse(&row.definition) else {
                continue;
            };
            let Kind::Triggered { segment } = campaign.kind() else {
                continue;
            };
            let segment = segment.clone();
            report
                .campaigns
                .push(self.fire_triggered(&row, &campaign, &segment, actor)?);
        }
        Ok(report)
    }

    fn fire_triggered(
        &self,
        row: &CampaignRow,
        campaign: &Campaign,
        segment: &str,
        actor: &Actor,
    ) -> Result<TriggeredRun, SegmentError> {
        let id = row.id;
        let mut run = TriggeredRun {
            campaign: id.to_string(),
            segment: segment.to_string(),
            entered: 0,
            written: 0,
        };
        let Some(launched) = row.launched_at else {
            return Ok(run);
        };
        // The entries after the launch, newest first until the launch.
        let mut entered: BTreeSet<CustomerId> = BTreeSet::new();
        let mut before = None;
        'pages: loop {
            let page = self.store.segment_events(segment, None, before, EVENTS_PAGE)?;
            let Some(last) = page.last() else { break };
            before = Some(last.seq);
            for event in &page {
                if event.at <= launched {
                    break 'pages;
                }
                if event.kind == SegmentEventKind::Entered {
                    entered.insert(event.customer_id);
                }
            }
            if page.len() < EVENTS_PAGE {
                break;
            }
        }
        {
            let mut tx = self.store.begin(Lock::Writes)?;
            let mut fresh = BTreeSet::new();
            for customer in entered {
                if tx.campaign_message(id, customer, 0)?.is_none() {
                    fresh.insert(customer);
                }
            }
            entered = fresh;
        }
        run.entered = entered.len() as u64;
        if entered.is_empty() {
            return Ok(run);
        }
        // The audience narrows the entrants, unless it is the trigger's segment itself.
        if campaign.audience() != segment {
            let audience = self.resolve_segment(campaign.audience())?;
            let members: BTreeSet<CustomerId> = self.evaluate_segment(&audience, None)?.members.into_iter().collect();
            entered.retain(|c| members.contains(c));
        }
        let contexts = self.campaign_contexts(campaign, &|c| entered.contains(&c))?;
        let now = self.now();
        let zone = self.business_time_zone()?;
        let due = campaign.send_window().send_at(now, &zone, None).unwrap_or(now);
        let chosen = self.campaign_winner(id)?;
        let shares = campaign.variant_shares();
        let customers: Vec<CustomerId> = entered.into_iter().collect();
        let mut paced = 0u64;
        for page in customers.chunks(LAUNCH_PAGE) {
            let mut tx = self.store.begin(Lock::Writes)?;
            let mut rows = Vec::with_capacity(page.len());
            for customer in page {
                let Some(ctx) = contexts.get(customer) else { continue };
                let control = draw::in_control(row.seed, *customer, campaign.control_bp());
                let (arm, variant, waiting) = super::arm_alone(row.seed, *customer, &shares, chosen.as_ref());
                let rendered = if control {
                    None
                } else {
                    Some(render(campaign, ctx, variant).map_err(|e| e.to_string()))
                };
                let spec = OutboxSpec {
                    campaign_id: id,
                    occurrence: 0,
                    campaign,
                    arm: arm_name(arm),
                    control,
                    due,
                    waiting,
                    now,
                };
                let texts = rendered.as_ref().map(|r| r.as_ref().map_err(Clone::clone));
                if let Some(mut row) = spec.row(&mut *tx, ctx, texts)? {
                    super::pace_row(campaign, &mut row, due, &mut paced, &zone);
                    rows.push(row);
                }
            }
            run.written += tx.insert_campaign_messages(&rows)?;
            if run.written > 0 {
                tx.append_audit(
                    actor,
                    "campaign.trigger",
                    "campaign",
                    &id.to_string(),
                    None,
                    Some(&serde_json::json!({"segment": segment, "written": rows.len()})),
                )?;
            }
            tx.commit()?;
        }
        Ok(run)
    }
}
