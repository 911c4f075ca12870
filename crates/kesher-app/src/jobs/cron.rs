//! Five-field cron expressions (minute hour day-of-month month day-of-week) and their next
//! occurrence in a time zone, DST-correct: pure, no clock.
//!
//! Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n` (`a/n`: from `a` to the
//! field's end), and comma lists of those. Day of week is 0–7 with 0 and 7 both Sunday. As in
//! Vixie cron, when both day fields are restricted a day matching either one matches.
//!
//! Wall times are read in the business's zone: a wall time that a DST jump skips runs at the
//! first instant after the jump (02:30 on a night that goes from 02:00 to 03:00 runs at 03:00);
//! a wall time that happens twice (the hour repeated when clocks go back) runs once, at its
//! first occurrence.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("a cron expression has 5 fields (minute hour day-of-month month day-of-week), found {found}")]
    FieldCount { found: usize },
    #[error("{field}: {reason}")]
    Field { field: &'static str, reason: String },
}

/// A parsed expression: the allowed values of each field as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    source: String,
    minutes: u64,
    hours: u32,
    /// Bits 1–31.
    days_of_month: u32,
    /// Bits 1–12.
    months: u16,
    /// Bits 0–6, Sunday = 0.
    days_of_week: u8,
    /// The day-of-month field was `*` (or `*/1`): the day-of-week field alone decides.
    any_day_of_month: bool,
    any_day_of_week: bool,
}

/// How far ahead an occurrence is looked for (a 29 February on a Monday can take 28 years).
const SEARCH_DAYS: i64 = 366 * 29;

struct FieldSpec {
    name: &'static str,
    min: u32,
    max: u32,
}

const MINUTE: FieldSpec = FieldSpec {
    name: "minute",
    min: 0,
    max: 59,
};
const HOUR: FieldSpec = FieldSpec {
    name: "hour",
    min: 0,
    max: 23,
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    name: "day of month",
    min: 1,
    max: 31,
};
const MONTH: FieldSpec = FieldSpec {
    name: "month",
    min: 1,
    max: 12,
};
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    name: "day of week",
    min: 0,
    max: 7,
};

fn field_error(spec: &FieldSpec, reason: String) -> CronError {
    CronError::Field {
        field: spec.name,
        reason,
    }
}

fn number(spec: &FieldSpec, s: &str) -> Result<u32, CronError> {
    let n: u32 = s
        .parse()
        .map_err(|_| field_error(spec, format!("{s:?} is not a number")))?;
    if n < spec.min || n > spec.max {
        return Err(field_error(spec, format!("{n} is outside {}-{}", spec.min, spec.max)));
    }
    Ok(n)
}

/// The values a field allows, as bits, and whether it was an unrestricted `*`.
fn parse_field(spec: &FieldSpec, text: &str) -> Result<(u64, bool), CronError> {
    let mut bits = 0u64;
    let mut any = false;
    for item in text.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => {
                let step: u32 = step
                    .parse()
                    .map_err(|_| field_error(spec, format!("step {step:?} is not a number")))?;
                if step == 0 {
                    return Err(field_error(spec, "a step of 0".into()));
                }
                (range, Some(step))
            }
            None => (item, None),
        };
        let (from, to) = if range == "*" {
            any |= step.is_none_or(|s| s == 1);
            (spec.min, spec.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (number(spec, a)?, number(spec, b)?);
            if a > b {
                return Err(field_error(spec, format!("range {a}-{b} runs backwards")));
            }
            (a, b)
        } else {
            let a = number(spec, range)?;
            (a, if step.is_some() { spec.max } else { a })
        };
        let mut v = from;
        while v <= to {
            bits |= 1 << v;
            v += step.unwrap_or(1);
        }
    }
    Ok((bits, any))
}

impl Cron {
    pub fn parse(text: &str) -> Result<Cron, CronError> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        let [minute, hour, day_of_month, month, day_of_week] = fields[..] else {
            return Err(CronError::FieldCount { found: fields.len() });
        };
        let (minutes, _) = parse_field(&MINUTE, minute)?;
        let (hours, _) = parse_field(&HOUR, hour)?;
        let (days_of_month, any_day_of_month) = parse_field(&DAY_OF_MONTH, day_of_month)?;
        let (months, _) = parse_field(&MONTH, month)?;
        let (days_of_week, any_day_of_week) = parse_field(&DAY_OF_WEEK, day_of_week)?;
        // 7 is Sunday too.
        let days_of_week = (days_of_week | ((days_of_week >> 7) & 1)) & 0x7F;
        Ok(Cron {
            source: fields.join(" "),
            minutes,
            hours: hours as u32,
            days_of_month: days_of_month as u32,
            months: months as u16,
            days_of_week: days_of_week as u8,
            any_day_of_month,
            any_day_of_week,
        })
    }

    /// The expression as written (fields separated by one space).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the schedule runs on `date`.
    pub fn matches_date(&self, date: Date) -> bool {
        if self.months & (1 << date.month()) == 0 {
            return false;
        }
        let by_month_day = self.days_of_month & (1 << date.day()) != 0;
        let by_week_day = self.days_of_week & (1 << date.weekday().to_sunday_zero_offset()) != 0;
        match (self.any_day_of_month, self.any_day_of_week) {
            (true, true) => true,
            (true, false) => by_week_day,
            (false, true) => by_month_day,
            (false, false) => by_month_day || by_week_day,
        }
    }

    /// Whether the schedule runs at the wall time `dt` (seconds ignored).
    pub fn matches(&self, dt: DateTime) -> bool {
        self.matches_date(dt.date()) && self.hours & (1 << dt.hour()) != 0 && self.minutes & (1 << dt.minute()) != 0
    }

    /// The first occurrence strictly after `after`, in `tz`; `None` when there is none within
    /// 29 years (such as 31 February).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        // From the day before: a fold around midnight can put part of a local day after `after`.
        let first_day = after.to_zoned(tz.clone()).date().yesterday().ok()?;
        for offset in 0..SEARCH_DAYS {
            let date = first_day.checked_add(jiff::Span::new().days(offset)).ok()?;
            if !self.matches_date(date) {
                continue;
            }
            for hour in (0..24).filter(|h| self.hours & (1 << h) != 0) {
                for minute in (0..60).filter(|m| self.minutes & (1u64 << m) != 0) {
                    let wall = date.at(hour as i8, minute as i8, 0, 0);
                    let Some(at) = wall_time_instant(wall, tz) else {
                        continue;
                    };
                    if at > after {
                        return Some(at);
                    }
                }
            }
        }
        None
    }
}

impl std::fmt::Display for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// The instant a scheduled wall time runs at in `tz`: the instant itself; for a wall time a DST
/// jump skips, the jump's instant; for one that happens twice, the first.
pub fn wall_time_instant(wall: DateTime, tz: &TimeZone) -> Option<Timestamp> {
    match tz.to_ambiguous_timestamp(wall).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(wall).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(wall).ok(),
        AmbiguousOffset::Gap { after, .. } => {
            // The wall time read with the new offset lies before the jump; the jump follows.
            let before_jump = after.to_timestamp(wall).ok()?;
            tz.following(before_jump).next().map(|t| t.timestamp())
        }
    }
}

#[cfg(test)]
mod tests;
