//! A token-bucket rate limiter keyed by a string (client address, user name, token id), and a
//! back-off for failures (wrong passwords) whose delays grow with each one. Time is passed in,
//! so the rules are testable without sleeping.

use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;

/// `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub burst: u32,
    pub per_second: f64,
}

#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<String, (f64, Timestamp)>>,
}

/// Buckets kept before idle ones are swept.
const SWEEP_AT: usize = 100_000;

impl RateLimiter {
    pub fn new(rate: Rate) -> RateLimiter {
        RateLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Take one request from `key`'s bucket. `Err(seconds)` says how long until one is free.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), u64> {
        let Rate { burst, per_second } = self.rate;
        let mut map = match self.buckets.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if map.len() >= SWEEP_AT {
            let full_after = f64::from(burst) / per_second.max(1e-9);
            map.retain(|_, (_, t)| now.duration_since(*t).as_secs_f64() < full_after);
        }
        let (tokens, last) = map.entry(key.to_owned()).or_insert((f64::from(burst), now));
        let elapsed = now.duration_since(*last).as_secs_f64().max(0.0);
        *tokens = (*tokens + elapsed * per_second).min(f64::from(burst));
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - *tokens) / per_second.max(1e-9)).ceil();
            Err(wait.max(1.0) as u64)
        }
    }

    /// Forget a key (after a successful sign-in, say).
    pub fn reset(&self, key: &str) {
        if let Ok(mut m) = self.buckets.lock() {
            m.remove(key);
        }
    }
}

/// Delays that grow with each failure for a key (a user name at one client address): `free`
/// failures cost nothing, then each further one makes the key wait `base_secs`, doubled each
/// time, at most `max_secs`. A success forgets the key. Refused attempts are not failures: a
/// client that keeps trying while it must wait only keeps waiting.
#[derive(Debug)]
pub struct Backoff {
    pub free: u32,
    pub base_secs: u64,
    pub max_secs: u64,
    failures: Mutex<HashMap<String, (u32, Timestamp)>>,
}

impl Backoff {
    pub fn new(free: u32, base_secs: u64, max_secs: u64) -> Backoff {
        Backoff {
            free,
            base_secs,
            max_secs,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The wait after `n` failures, in seconds.
    pub fn delay(&self, n: u32) -> u64 {
        if n <= self.free {
            return 0;
        }
        let doublings = (n - self.free - 1).min(63);
        self.base_secs
            .saturating_mul(1u64.checked_shl(doublings).unwrap_or(u64::MAX))
            .min(self.max_secs)
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u32, Timestamp)>> {
        match self.failures.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        }
    }

    /// May `key` try now? `Err(seconds)` says how long it must still wait.
    pub fn check(&self, key: &str, now: Timestamp) -> Result<(), u64> {
        let map = self.map();
        let Some((n, last)) = map.get(key) else {
            return Ok(());
        };
        let waited = now.duration_since(*last).as_secs_f64().max(0.0);
        let delay = self.delay(*n) as f64;
        if waited >= delay {
            Ok(())
        } else {
            Err(((delay - waited).ceil() as u64).max(1))
        }
    }

    /// Count a failure of `key` at `now`.
    pub fn failed(&self, key: &str, now: Timestamp) {
        let mut map = self.map();
        if map.len() >= SWEEP_AT {
            let max = self.max_secs as f64;
            map.retain(|_, (_, t)| now.duration_since(*t).as_secs_f64() < max.max(86_400.0));
        }
        let e = map.entry(key.to_owned()).or_insert((0, now));
        e.0 = e.0.saturating_add(1);
        e.1 = now;
    }

    /// Forget `key` (after a success).
    pub fn reset(&self, key: &str) {
        self.map().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use jiff::{Timestamp, ToSpan};

    #[test]
    fn delays_grow_with_each_failure_and_a_success_forgets_them() {
        let b = Backoff::new(3, 1, 60);
        assert_eq!(
            (0..=10).map(|n| b.delay(n)).collect::<Vec<_>>(),
            [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60]
        );
        let t0 = Timestamp::from_second(1_700_000_000).unwrap();
        for _ in 0..3 {
            assert_eq!(b.check("noa|1.2.3.4", t0), Ok(()));
            b.failed("noa|1.2.3.4", t0);
        }
        assert_eq!(b.check("noa|1.2.3.4", t0), Ok(()), "the free failures cost nothing");
        b.failed("noa|1.2.3.4", t0);
        b.failed("noa|1.2.3.4", t0);
        assert_eq!(b.check("noa|1.2.3.4", t0), Err(2));
        assert_eq!(b.check("noa|1.2.3.4", t0 + 1.second()), Err(1));
        assert_eq!(b.check("noa|1.2.3.4", t0 + 2.seconds()), Ok(()));
        assert_eq!(b.check("noa|5.6.7.8", t0), Ok(()), "another address is not held up");
        b.reset("noa|1.2.3.4");
        assert_eq!(b.check("noa|1.2.3.4", t0), Ok(()));
    }
}
