//! The clock every workflow reads "now" from: the system clock in production, a settable one in
//! tests and for replaying a past day (`KESHER_NOW`).

use jiff::{SignedDuration, Timestamp};
use std::sync::Mutex;

/// Where "now" comes from. Implementations are shared between threads.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until it is set or advanced: tests of schedules, leases, expiry
/// and windows move it by hand instead of sleeping.
#[derive(Debug)]
pub struct ManualClock {
    at: Mutex<Timestamp>,
}

impl ManualClock {
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock { at: Mutex::new(at) }
    }
    /// Set the time (it may go back: a test can replay).
    pub fn set(&self, at: Timestamp) {
        *self.at.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
    /// Move the time on by `by` (saturating at the largest instant jiff knows).
    pub fn advance(&self, by: SignedDuration) {
        let mut at = self.at.lock().unwrap_or_else(|p| p.into_inner());
        *at = at.checked_add(by).unwrap_or(Timestamp::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.at.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A clock that runs at the system's pace from a chosen starting instant: `kesher` with
/// `KESHER_NOW` set acts as if it had been started at that instant (a demo of a past day, a
/// process test of a schedule).
#[derive(Debug)]
pub struct OffsetClock {
    offset: SignedDuration,
}

impl OffsetClock {
    /// A clock that reads `start` now and runs on from there.
    pub fn starting_at(start: Timestamp) -> OffsetClock {
        OffsetClock {
            offset: start.duration_since(Timestamp::now()),
        }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Timestamp {
        Timestamp::now().checked_add(self.offset).unwrap_or(Timestamp::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let c = ManualClock::new(t0);
        assert_eq!(c.now(), t0);
        c.advance(SignedDuration::from_hours(25));
        assert_eq!(c.now(), "2026-01-02T01:00:00Z".parse::<Timestamp>().unwrap());
        c.set(t0);
        assert_eq!(c.now(), t0);
        c.advance(SignedDuration::MAX);
        assert_eq!(c.now(), Timestamp::MAX);
    }

    #[test]
    fn an_offset_clock_starts_at_its_instant_and_runs_on() {
        let start: Timestamp = "2020-02-29T12:00:00Z".parse().unwrap();
        let c = OffsetClock::starting_at(start);
        let first = c.now();
        assert!(
            first.duration_since(start).abs() < SignedDuration::from_secs(5),
            "{first}"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(c.now() > first);
    }
}
