//! When a message may go: the frequency cap across campaigns ([`FrequencyCap`]), the send
//! window in the business's local hours ([`SendWindow`], DST-correct through jiff), the instant
//! of a scheduled campaign ([`scheduled_instant`]), the day a recurring campaign greets a
//! customer ([`recurring_due`]) and the pace a rate limit allows ([`pace`]).
//!
//! Local times that do not exist (the hour skipped when clocks go forward) resolve to the
//! instant of the jump; a repeated local time (clocks going back) to its first occurrence —
//! jiff's "compatible" disambiguation, the same rule as the job runner's cron.

use crate::channel::Suppression;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

const SECONDS_PER_DAY: i64 = 86_400;

/// No customer gets more than `messages` campaign messages in any `days` days (across
/// campaigns). A day is 24 hours: the period is the half-open interval `(now − days × 24 h,
/// now]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrequencyCap {
    pub messages: u32,
    pub days: u32,
}

impl FrequencyCap {
    fn since(&self, now: Timestamp) -> Timestamp {
        let back = SignedDuration::from_secs(i64::from(self.days) * SECONDS_PER_DAY);
        now.checked_sub(back).unwrap_or(Timestamp::MIN)
    }

    /// How many of `received` fall in the period ending at `now` (later ones, not yet sent
    /// when `now` is in the past, are not counted).
    pub fn count(&self, received: &[Timestamp], now: Timestamp) -> usize {
        let since = self.since(now);
        received.iter().filter(|&&t| t > since && t <= now).count()
    }

    /// Whether one more message may be sent at `now`.
    pub fn allows(&self, received: &[Timestamp], now: Timestamp) -> bool {
        self.count(received, now) < self.messages as usize
    }

    /// The earliest instant at or after `now` at which one more message is allowed (`now`
    /// when it is allowed already): when enough of the counted messages have left the period.
    pub fn next_allowed(&self, received: &[Timestamp], now: Timestamp) -> Timestamp {
        let since = self.since(now);
        let mut counted: Vec<Timestamp> = received.iter().copied().filter(|&t| t > since && t <= now).collect();
        if counted.len() < self.messages as usize {
            return now;
        }
        counted.sort();
        // Once the oldest `excess` messages have left the period, `messages − 1` remain (a cap
        // of 0 messages never allows one).
        let excess = counted.len() + 1 - self.messages as usize;
        let Some(&leaving) = counted.get(excess.wrapping_sub(1)).filter(|_| self.messages > 0) else {
            return Timestamp::MAX;
        };
        let period = SignedDuration::from_secs(i64::from(self.days) * SECONDS_PER_DAY);
        leaving.checked_add(period).unwrap_or(Timestamp::MAX)
    }
}

/// The local hours messages may go out: from `from_hour`:00 (included) to `to_hour`:00
/// (excluded), in the business's time zone. `from_hour` > `to_hour` wraps past midnight
/// (`20` to `8`: evenings and nights); `to_hour` 24 is midnight at the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendWindow {
    pub from_hour: u8,
    pub to_hour: u8,
}

impl SendWindow {
    /// The whole day.
    pub const ALWAYS: SendWindow = SendWindow {
        from_hour: 0,
        to_hour: 24,
    };

    /// Whether a local time of day is inside the window.
    pub fn contains_time(&self, time: Time) -> bool {
        let hour = time.hour();
        let (from, to) = (
            i8::try_from(self.from_hour).unwrap_or(0),
            i8::try_from(self.to_hour).unwrap_or(24),
        );
        if from < to {
            hour >= from && hour < to
        } else {
            hour >= from || hour < to
        }
    }

    /// Whether `at` is inside the window in `zone`.
    pub fn contains(&self, at: Timestamp, zone: &TimeZone) -> bool {
        self.contains_time(at.to_zoned(zone.clone()).time())
    }

    /// The first instant at or after `now` inside the window: `now` itself when it is inside,
    /// else the next local `from_hour`:00 (the instant of the jump when that hour is skipped
    /// by a change to summer time).
    pub fn next_open(&self, now: Timestamp, zone: &TimeZone) -> Timestamp {
        if self.contains(now, zone) {
            return now;
        }
        let today = now.to_zoned(zone.clone()).date();
        let hour = i8::try_from(self.from_hour).unwrap_or(0);
        let start = Time::new(hour, 0, 0, 0).unwrap_or(Time::midnight());
        let mut best: Option<Timestamp> = None;
        for offset in -1..=2i64 {
            let Ok(day) = today.checked_add(offset.days()) else {
                continue;
            };
            let Ok(zoned) = zone.to_ambiguous_zoned(day.to_datetime(start)).compatible() else {
                continue;
            };
            let at = zoned.timestamp();
            if at > now && best.is_none_or(|b| at < b) {
                best = Some(at);
            }
        }
        // A window always opens within two days; the fallback is unreachable.
        best.unwrap_or(now)
    }

    /// When a message due at `now` may go: [`SendWindow::next_open`], or
    /// [`Suppression::OutsideWindow`] when that is after `deadline` (a birthday greeting that
    /// can no longer go out on the day).
    pub fn send_at(
        &self,
        now: Timestamp,
        zone: &TimeZone,
        deadline: Option<Timestamp>,
    ) -> Result<Timestamp, Suppression> {
        let at = self.next_open(now, zone);
        match deadline {
            Some(d) if at > d => Err(Suppression::OutsideWindow),
            _ => Ok(at),
        }
    }
}

/// The instant of a local date-time in `zone` (a skipped time → the instant of the jump, a
/// repeated one → its first occurrence).
pub fn scheduled_instant(at: DateTime, zone: &TimeZone) -> Option<Timestamp> {
    zone.to_ambiguous_zoned(at).compatible().ok().map(|z| z.timestamp())
}

/// The anniversary of `date` in `year`: a 29 February falls on 28 February in a common year.
pub fn anniversary_in(date: Date, year: i16) -> Option<Date> {
    Date::new(year, date.month(), date.day())
        .or_else(|_| Date::new(year, date.month(), date.day() - 1))
        .ok()
}

/// Whether a recurring campaign greets a customer whose date (birthday, membership start) is
/// `date` on the local day `today`, `days_before` days ahead of the anniversary. The first
/// membership anniversary is a year after joining: the date itself never counts.
pub fn recurring_due(date: Date, today: Date, days_before: u16) -> bool {
    recurring_occurrence(date, today, days_before).is_some()
}

/// The occurrence a recurring campaign greets on the local day `today` a customer whose date is
/// `date`: the year of the anniversary `days_before` days after `today`, when that day is one
/// (a greeting on 30 December for a 2 January birthday is the next year's occurrence). `None`
/// when `today` is no greeting day for this date. The occurrence is part of the outbox's key:
/// one message per customer and anniversary, whatever the runs.
pub fn recurring_occurrence(date: Date, today: Date, days_before: u16) -> Option<i16> {
    let target = today.checked_add(i64::from(days_before).days()).ok()?;
    (target.year() > date.year() && anniversary_in(date, target.year()) == Some(target)).then_some(target.year())
}

/// The local day a customer whose date is `date` is greeted for the anniversary of `year`:
/// `days_before` days ahead of it. `None` for the year of the date itself or before.
pub fn greeting_day(date: Date, year: i16, days_before: u16) -> Option<Date> {
    if year <= date.year() {
        return None;
    }
    anniversary_in(date, year)?
        .checked_sub(i64::from(days_before).days())
        .ok()
}

/// When the greetings of the local day `day` are due and until when they may still go: `at` on
/// that day in `zone` (DST as [`scheduled_instant`]), and the start of the next local day (a
/// greeting that the send window pushes past it is suppressed as `outside_window`).
pub fn greeting_instants(day: Date, at: Time, zone: &TimeZone) -> Option<(Timestamp, Timestamp)> {
    let due = scheduled_instant(day.to_datetime(at), zone)?;
    let next = day.checked_add(1.days()).ok()?;
    let end = zone
        .to_ambiguous_zoned(next.to_datetime(Time::midnight()))
        .compatible()
        .ok()?;
    Some((due, end.timestamp()))
}

/// The local day of an instant in `zone`.
pub fn local_day(at: Timestamp, zone: &TimeZone) -> Date {
    at.to_zoned(zone.clone()).date()
}

/// The earliest instant the `index`-th message (from 0) of a send started at `start` may go at
/// `per_minute` messages a minute: spread evenly, `index × 60 s / per_minute` after the start.
pub fn pace(start: Timestamp, index: u64, per_minute: u32) -> Timestamp {
    let per_minute = u64::from(per_minute.max(1));
    let nanos = u128::from(index) * 60_000_000_000 / u128::from(per_minute);
    let nanos = i64::try_from(nanos).unwrap_or(i64::MAX);
    start
        .checked_add(SignedDuration::from_nanos(nanos))
        .unwrap_or(Timestamp::MAX)
}
