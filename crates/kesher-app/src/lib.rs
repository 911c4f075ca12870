//! kesher's use cases: the layer the CLI and the HTTP server call. It owns the clock and id
//! generation, and ties the pure domain to a `Store`: CSV import, identify and merge, recording
//! sales and contacts.

pub mod analyze;
pub mod auth;
pub mod baskets;
pub mod benefits;
pub mod campaigns;
pub mod clock;
#[cfg(feature = "testing")]
pub mod contract;
pub mod customers;
pub mod dashboard;
pub mod identify;
pub mod import;
pub mod jobs;
pub mod loyalty;
pub mod loyalty_design;
pub mod points;
pub mod privacy;
pub mod reads;
pub mod records;
pub mod sales;
pub mod segments;
#[cfg(test)]
mod test_support;

use kesher_core::{BranchId, Country, CustomerId, EmployeeId, InteractionId, ProductId, TransactionId};
use kesher_store::Store;
use std::sync::Arc;

/// Settings a business chooses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Country for phone numbers written without a country code.
    pub default_country: Country,
    /// The zone schedules are read in (`--time-zone`); `None`: the first branch's zone, else UTC.
    pub time_zone: Option<jiff::tz::TimeZone>,
    /// How long a job worker's claim lasts without a heartbeat (`KESHER_JOB_LEASE`).
    pub job_lease: jiff::SignedDuration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_country: Country::israel(),
            time_zone: None,
            job_lease: jobs::DEFAULT_LEASE,
        }
    }
}

/// The application: a store, the business's settings, the clock, and caches of derived
/// results (mined rules) shared by every clone.
#[derive(Clone)]
pub struct App {
    /// Only the app's workflows and reads touch the store: the HTTP server and the CLI go
    /// through `App`'s methods.
    pub(crate) store: Arc<dyn Store>,
    pub settings: Settings,
    clock: Arc<dyn clock::Clock>,
    pub(crate) caches: Arc<baskets::Caches>,
    pub(crate) program_cache: Arc<loyalty::ProgramCache>,
}

impl App {
    /// An app on the system clock.
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> App {
        App {
            store,
            settings,
            clock: Arc::new(clock::SystemClock),
            caches: Arc::default(),
            program_cache: Arc::default(),
        }
    }

    /// The country whose local phone notation is typed at `branch`: the branch's, from its time
    /// zone (`Country::for_time_zone`), else the business default (also without a branch).
    pub fn phone_country(&self, branch: Option<BranchId>) -> Result<Country, kesher_store::StoreError> {
        let Some(b) = branch else {
            return Ok(self.settings.default_country);
        };
        Ok(self
            .store
            .get_branch(b)?
            .and_then(|b| Country::for_time_zone(&b.time_zone))
            .unwrap_or(self.settings.default_country))
    }

    /// The same app reading "now" from `clock` (tests, `KESHER_NOW`).
    pub fn with_clock(mut self, clock: Arc<dyn clock::Clock>) -> App {
        self.clock = clock;
        self
    }

    /// "Now" for every workflow, the HTTP server and the CLI: never read the system clock
    /// elsewhere.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}

/// New time-ordered ids (UUIDv7): ids are made here, never in the domain crate.
///
/// One generator for the process, seeded once from the operating system: `uuid::Uuid::now_v7`
/// asks the kernel for fresh random bytes on every call (one `getrandom` system call per id,
/// millions in a big import). The ids keep UUIDv7's layout and order: 48 bits of Unix
/// milliseconds, then 74 bits that start at a random value each millisecond and grow by a
/// random step within it, so ids made by this process are strictly increasing.
pub mod ids {
    use super::*;
    use std::sync::Mutex;

    struct V7 {
        /// Milliseconds of the last id (never goes back, even if the clock does).
        ms: u64,
        /// The 74 bits after the timestamp in the last id.
        tail: u128,
        rng: u64,
    }

    static GEN: Mutex<Option<V7>> = Mutex::new(None);
    const TAIL_BITS: u32 = 74;

    /// splitmix64: fast, and good enough for the random part of an id (not a secret).
    fn next_u64(s: &mut u64) -> u64 {
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fresh_tail(rng: &mut u64) -> u128 {
        // The top bit left clear: room for the steps within the millisecond.
        let r = (u128::from(next_u64(rng)) << 64) | u128::from(next_u64(rng));
        r & ((1u128 << (TAIL_BITS - 1)) - 1)
    }

    /// The next id: UUIDv7 bits from (milliseconds, 74-bit tail).
    pub(crate) fn next_v7() -> uuid::Uuid {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut guard = GEN.lock().unwrap_or_else(|p| p.into_inner());
        let g = guard.get_or_insert_with(|| {
            // The one request to the OS for randomness: the random bits of a v7 id.
            let seed = uuid::Uuid::now_v7().as_u128();
            let mut rng = (seed as u64) ^ ((seed >> 64) as u64).rotate_left(17);
            let tail = fresh_tail(&mut rng);
            V7 {
                ms: now.saturating_sub(1),
                tail,
                rng,
            }
        });
        if now > g.ms {
            g.ms = now;
            g.tail = fresh_tail(&mut g.rng);
        } else {
            let step = 1 + u128::from(next_u64(&mut g.rng) & 0xFFFF);
            g.tail += step;
            if g.tail >> TAIL_BITS != 0 {
                // The millisecond is exhausted: borrow the next one.
                g.ms += 1;
                g.tail = fresh_tail(&mut g.rng);
            }
        }
        let (ms, tail) = (g.ms, g.tail);
        drop(guard);
        let rand_a = (tail >> 62) as u16 & 0x0FFF;
        let rand_b = tail as u64 & 0x3FFF_FFFF_FFFF_FFFF;
        let v = (u128::from(ms & 0xFFFF_FFFF_FFFF) << 80)
            | (0x7u128 << 76)
            | (u128::from(rand_a) << 64)
            | (0b10u128 << 62)
            | u128::from(rand_b);
        uuid::Uuid::from_u128(v)
    }

    pub fn customer() -> CustomerId {
        CustomerId(next_v7())
    }
    pub fn branch() -> BranchId {
        BranchId(next_v7())
    }
    pub fn employee() -> EmployeeId {
        EmployeeId(next_v7())
    }
    pub fn product() -> ProductId {
        ProductId(next_v7())
    }
    pub fn transaction() -> TransactionId {
        TransactionId(next_v7())
    }
    pub fn interaction() -> InteractionId {
        InteractionId(next_v7())
    }
    pub fn job() -> kesher_core::JobId {
        kesher_core::JobId(next_v7())
    }
    pub fn segment_run() -> kesher_core::SegmentRunId {
        kesher_core::SegmentRunId(next_v7())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn ids_are_version_7_rfc_variant_strictly_increasing_and_carry_the_time() {
            let before = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0);
            let ids: Vec<uuid::Uuid> = (0..100_000).map(|_| next_v7()).collect();
            for w in ids.windows(2) {
                assert!(w[0] < w[1], "{} !< {}", w[0], w[1]);
            }
            for id in &ids {
                assert_eq!(id.get_version_num(), 7);
                assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            }
            let (secs, nanos) = ids[0].get_timestamp().map(|t| t.to_unix()).unwrap_or((0, 0));
            let ms = secs * 1000 + u64::from(nanos) / 1_000_000;
            assert!(ms + 1 >= before && ms <= before + 60_000, "{ms} vs {before}");
        }
    }
}
