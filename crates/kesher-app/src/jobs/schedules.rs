//! Recurring jobs: each schedule's next occurrence, in the business's time zone, enqueued once
//! under a dedupe key whoever enqueues it.

use super::cron::Cron;
use super::kinds;
use crate::App;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use kesher_store::{NewJob, Result, StoreError};

/// A recurring job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub name: &'static str,
    pub kind: &'static str,
    /// Five-field cron, in the business's time zone.
    pub cron: &'static str,
}

/// The built-in schedules: the nightly analytics refresh, the daily retention run and the daily
/// loyalty tier review, the expiry of points and the expiry of granted benefits, the recurring
/// campaigns' greetings of the day (written just after midnight, each due at its campaign's
/// local time), and the hourly
/// refresh of the saved segments' members (a customer's entry is recorded within the hour).
pub const SCHEDULES: &[Schedule] = &[
    Schedule {
        name: "analyze",
        kind: kinds::ANALYZE,
        cron: "30 2 * * *",
    },
    Schedule {
        name: "privacy.retention",
        kind: kinds::RETENTION,
        cron: "30 3 * * *",
    },
    Schedule {
        name: "loyalty.tier_review",
        kind: kinds::TIER_REVIEW,
        cron: "45 3 * * *",
    },
    Schedule {
        name: "loyalty.expire",
        kind: kinds::EXPIRE_POINTS,
        cron: "0 4 * * *",
    },
    Schedule {
        name: "loyalty.benefits_expire",
        kind: kinds::EXPIRE_BENEFITS,
        cron: "15 4 * * *",
    },
    Schedule {
        name: "segments.refresh",
        kind: kinds::SEGMENTS_REFRESH,
        cron: "50 * * * *",
    },
    Schedule {
        name: "campaigns.recurring",
        kind: kinds::CAMPAIGNS_RECURRING,
        cron: "15 0 * * *",
    },
];

/// A schedule as shown: its zone and next run.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleStatus {
    pub name: &'static str,
    pub kind: &'static str,
    pub cron: &'static str,
    /// The IANA name of the zone the cron is read in.
    pub zone: String,
    /// The next occurrence after now.
    pub next_run: Option<Timestamp>,
}

/// A zone's name as shown (IANA name, else its offset).
pub fn zone_name(tz: &TimeZone) -> String {
    match tz.iana_name() {
        Some(name) => name.to_string(),
        None => tz.to_offset(Timestamp::UNIX_EPOCH).to_string(),
    }
}

/// The dedupe key of a schedule's occurrence.
pub fn occurrence_key(name: &str, at: Timestamp) -> String {
    format!("schedule:{name}:{at}")
}

fn cron(s: &Schedule) -> Result<Cron> {
    Cron::parse(s.cron).map_err(|e| {
        StoreError::invalid_coded(
            "job.schedule.cron_invalid",
            "cron",
            kesher_core::params!(schedule = s.name, reason = e.to_string()),
            format!("schedule {}: {e}", s.name),
        )
    })
}

impl App {
    /// The business's time zone: the setting, else the first branch's zone, else UTC (also
    /// when the branch's zone is not one jiff knows).
    pub fn business_time_zone(&self) -> Result<TimeZone> {
        if let Some(tz) = &self.settings.time_zone {
            return Ok(tz.clone());
        }
        let branches = self.store.list_branches()?;
        Ok(branches
            .first()
            .and_then(|b| TimeZone::get(&b.time_zone).ok())
            .unwrap_or(TimeZone::UTC))
    }

    /// Every schedule with its next run after now.
    pub fn schedules(&self) -> Result<Vec<ScheduleStatus>> {
        let tz = self.business_time_zone()?;
        let now = self.now();
        SCHEDULES
            .iter()
            .map(|s| {
                Ok(ScheduleStatus {
                    name: s.name,
                    kind: s.kind,
                    cron: s.cron,
                    zone: zone_name(&tz),
                    next_run: cron(s)?.next_after(now, &tz),
                })
            })
            .collect()
    }

    /// Enqueue each schedule's next occurrence after now, once: its dedupe key makes a second
    /// call (or another server's) return the job already there. Returns the earliest of those
    /// occurrences: once it has passed, the next call enqueues the one after it.
    pub fn ensure_schedules(&self) -> Result<Option<Timestamp>> {
        let mut earliest: Option<Timestamp> = None;
        for status in self.schedules()? {
            let Some(at) = status.next_run else {
                continue;
            };
            let max_attempts = kinds::kind(status.kind).map_or(1, |k| k.max_attempts);
            self.store.enqueue_job(&NewJob {
                id: crate::ids::job(),
                kind: status.kind.to_string(),
                args: serde_json::json!({}),
                run_at: at,
                max_attempts,
                dedupe_key: Some(occurrence_key(status.name, at)),
                created_at: self.now(),
            })?;
            earliest = Some(earliest.map_or(at, |e| e.min(at)));
        }
        Ok(earliest)
    }
}
