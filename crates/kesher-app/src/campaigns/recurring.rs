//! Recurring campaigns (docs/campaigns.md): a launched campaign of kind `recurring` greets each
//! customer once a year on their date — the birthday, or the membership anniversary (an active
//! loyalty member's latest joining, else the day the customer was first seen) —, `days_before`
//! days ahead, at its local time in the business's time zone. Its launch writes no row; the daily
//! job `campaigns.recurring` (`App::run_recurring_campaigns`, also `kesher campaigns
//! run-recurring`) writes a row for every customer whose greeting day is today, who is in the
//! audience, following the launch's rules — the channel from the customer's consents, the
//! frequency cap, the send window (until the day ends) —, with the control group and the
//! variants' arms drawn one customer at a time (`draw::in_control`, `draw::arm_of`) from the
//! campaign's seed mixed with the year (`draw::occurrence_seed`), so that each year's control
//! group is drawn afresh.
//!
//! The outbox key is (campaign, customer, occurrence), the occurrence being the anniversary's
//! year: a run repeated the same day, or retried after a crash part-way, writes nothing twice;
//! next year's run writes the customer's next greeting.

use super::{LAUNCH_PAGE, LaunchReport, OutboxSpec, arm_name, render};
use crate::App;
use crate::segments::SegmentError;
use jiff::civil::{Date, Time};
use kesher_campaign::definition::{CustomerDate, Kind};
use kesher_campaign::draw;
use kesher_campaign::{Campaign, timing};
use kesher_core::CustomerId;
use kesher_loyalty::MemberStatus;
use kesher_store::{Actor, CampaignRow, CampaignState, Lock, MessageState, OutboxMessage};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What one recurring campaign did in a run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecurringRun {
    pub campaign: String,
    /// `birthday` or `membership_anniversary`.
    pub date: &'static str,
    /// Customers whose greeting day is the run's day and who had no row for that year yet.
    pub due: u64,
    /// Rows written (customers outside the audience get none).
    pub written: u64,
}

/// What `App::run_recurring_campaigns` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RecurringReport {
    /// The local day greeted (`YYYY-MM-DD`, in the business's time zone).
    pub day: String,
    pub campaigns: Vec<RecurringRun>,
}

impl App {
    /// Launch a recurring campaign: it becomes `launched` (since now, or since its first launch
    /// when resumed) and writes no row — the daily run greets each customer on their day.
    pub(super) fn launch_recurring(
        &self,
        row: &CampaignRow,
        now: jiff::Timestamp,
        actor: &Actor,
    ) -> Result<LaunchReport, SegmentError> {
        let since = row.launched_at.unwrap_or(now);
        self.activate_campaign(
            row,
            since,
            serde_json::json!({"recurring": true, "since": since.to_string()}),
            actor,
        )
    }

    /// Write the rows of every launched recurring campaign for the customers whose greeting day
    /// is `day` (the business's local today by the app's clock when `None`). A day in the past
    /// is a catch-up (a server that was down): its greetings go at once, if the send window
    /// allows. Running it again for the same day writes nothing new.
    pub fn run_recurring_campaigns(&self, day: Option<Date>, actor: &Actor) -> Result<RecurringReport, SegmentError> {
        let zone = self.business_time_zone()?;
        let now = self.now();
        let today = timing::local_day(now, &zone);
        let day = day.unwrap_or(today);
        let rows = {
            let mut tx = self.store.begin(Lock::Writes)?;
            tx.campaigns()?
        };
        let mut report = RecurringReport {
            day: day.to_string(),
            campaigns: Vec::new(),
        };
        let mut dates: BTreeMap<&'static str, HashMap<CustomerId, Date>> = BTreeMap::new();
        for row in rows {
            if row.state != CampaignState::Launched {
                continue;
            }
            let Ok(campaign) = Campaign::parse(&row.definition) else {
                continue;
            };
            let &Kind::Recurring { date, days_before, at } = campaign.kind() else {
                continue;
            };
            if !dates.contains_key(date.as_str()) {
                dates.insert(date.as_str(), self.customer_dates(date, &zone)?);
            }
            let Some(of) = dates.get(date.as_str()) else { continue };
            let greeting = Greeting {
                date,
                days_before,
                at,
                day,
                today,
            };
            report
                .campaigns
                .push(self.run_recurring(&row, &campaign, &greeting, of, actor)?);
        }
        Ok(report)
    }

    /// Every customer's date of kind `date`, as a local day in `zone`: the birthday as recorded;
    /// the membership anniversary from an active member's latest joining, else from the day the
    /// customer was first seen.
    fn customer_dates(
        &self,
        date: CustomerDate,
        zone: &jiff::tz::TimeZone,
    ) -> Result<HashMap<CustomerId, Date>, SegmentError> {
        let mut joined: HashMap<CustomerId, Date> = HashMap::new();
        if date == CustomerDate::MembershipAnniversary {
            let mut after = None;
            loop {
                let page = self
                    .store
                    .loyalty_members(Some(MemberStatus::Active), None, after, 1_000)?;
                let Some(last) = page.last() else { break };
                after = Some(last.customer_id);
                for m in &page {
                    joined.insert(m.customer_id, timing::local_day(m.enrolled_at, zone));
                }
                if page.len() < 1_000 {
                    break;
                }
            }
        }
        let mut out = HashMap::new();
        self.store.for_each_customer(&mut |c| {
            let day = match date {
                CustomerDate::Birthday => c.demographics.birth_date,
                CustomerDate::MembershipAnniversary => Some(
                    joined
                        .get(&c.id)
                        .copied()
                        .unwrap_or_else(|| timing::local_day(c.created_at, zone)),
                ),
            };
            if let Some(day) = day {
                out.insert(c.id, day);
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn run_recurring(
        &self,
        row: &CampaignRow,
        campaign: &Campaign,
        greeting: &Greeting,
        dates: &HashMap<CustomerId, Date>,
        actor: &Actor,
    ) -> Result<RecurringRun, SegmentError> {
        let id = row.id;
        let mut run = RecurringRun {
            campaign: id.to_string(),
            date: greeting.date.as_str(),
            due: 0,
            written: 0,
        };
        // Who is greeted on the day, for which year's anniversary.
        let mut due: BTreeMap<CustomerId, i16> = dates
            .iter()
            .filter_map(|(c, d)| timing::recurring_occurrence(*d, greeting.day, greeting.days_before).map(|y| (*c, y)))
            .collect();
        {
            let mut tx = self.store.begin(Lock::Writes)?;
            let mut fresh = BTreeMap::new();
            for (customer, year) in due {
                if tx.campaign_message(id, customer, i64::from(year))?.is_none() {
                    fresh.insert(customer, year);
                }
            }
            due = fresh;
        }
        run.due = due.len() as u64;
        if due.is_empty() {
            return Ok(run);
        }
        let audience = self.resolve_segment(campaign.audience())?;
        let members: BTreeSet<CustomerId> = self.evaluate_segment(&audience, None)?.members.into_iter().collect();
        due.retain(|c, _| members.contains(c));
        let contexts = self.campaign_contexts(campaign, &|c| due.contains_key(&c))?;
        let now = self.now();
        let zone = self.business_time_zone()?;
        // Due at the local time of the day (now when that has passed); a greeting the send
        // window pushes past the end of the day no longer goes (`outside_window`). A past day
        // is a catch-up: its greetings go now, the window permitting, with no deadline.
        let (due_at, deadline) = match timing::greeting_instants(greeting.day, greeting.at, &zone) {
            Some((at, end)) if greeting.day >= greeting.today => (at.max(now), Some(end)),
            _ => (now, None),
        };
        let window = campaign.send_window().send_at(due_at, &zone, deadline);
        let send_at = window.unwrap_or(due_at);
        let chosen = self.campaign_winner(id)?;
        let shares = campaign.variant_shares();
        let customers: Vec<(CustomerId, i16)> = due.into_iter().collect();
        let mut paced = 0u64;
        for page in customers.chunks(LAUNCH_PAGE) {
            let mut tx = self.store.begin(Lock::Writes)?;
            let mut rows = Vec::with_capacity(page.len());
            for (customer, year) in page {
                let Some(ctx) = contexts.get(customer) else { continue };
                let occurrence = i64::from(*year);
                let control = draw::in_control(
                    draw::occurrence_seed(row.seed, occurrence),
                    *customer,
                    campaign.control_bp(),
                );
                let (arm, variant, waiting) = super::arm_alone(row.seed, *customer, &shares, chosen.as_ref());
                let rendered = if control {
                    None
                } else {
                    Some(render(campaign, ctx, variant).map_err(|e| e.to_string()))
                };
                let spec = OutboxSpec {
                    campaign_id: id,
                    occurrence,
                    campaign,
                    arm: arm_name(arm),
                    control,
                    due: send_at,
                    waiting,
                    now,
                };
                let texts = rendered.as_ref().map(|r| r.as_ref().map_err(Clone::clone));
                if let Some(message) = spec.row(&mut *tx, ctx, texts)? {
                    rows.push(match window {
                        Err(why) if message.state == MessageState::Queued => OutboxMessage {
                            state: MessageState::Suppressed,
                            suppression: Some(why.as_str().to_string()),
                            next_attempt_at: None,
                            ..message
                        },
                        _ => {
                            let mut message = message;
                            super::pace_row(campaign, &mut message, send_at, &mut paced, &zone);
                            message
                        }
                    });
                }
            }
            let written = tx.insert_campaign_messages(&rows)?;
            run.written += written;
            if written > 0 {
                tx.append_audit(
                    actor,
                    "campaign.recurring",
                    "campaign",
                    &id.to_string(),
                    None,
                    Some(&serde_json::json!({"day": greeting.day.to_string(), "written": written})),
                )?;
            }
            tx.commit()?;
        }
        Ok(run)
    }
}

/// One recurring campaign's greeting rule and the day it is run for.
struct Greeting {
    date: CustomerDate,
    days_before: u16,
    at: Time,
    /// The local day greeted.
    day: Date,
    /// The business's local today (a `day` before it is a catch-up).
    today: Date,
}
