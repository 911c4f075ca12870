//! A token-bucket rate limiter keyed by a string (client address, user name, token id). Time is
//! passed in, so the rules are testable without sleeping.

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
