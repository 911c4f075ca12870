//! The kinds of job kesher knows, their arguments, and what each does when it runs.

use crate::App;
use crate::analyze::{AnalyzeError, AnalyzeOptions};
use kesher_analytics::{Model, PeriodUnit};
use kesher_store::{Actor, Job, StoreError};
use serde_json::{Value, json};

/// A kind of job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub name: &'static str,
    /// Attempts before the job fails for good.
    pub max_attempts: u32,
    pub about: &'static str,
}

/// The analytics refresh `kesher analyze` runs with its default options (BG/NBD, weeks, as of
/// the job's start).
pub const ANALYZE: &str = "analyze";
/// The retention rule applied: customers inactive beyond the retention period anonymised.
pub const RETENTION: &str = "privacy.retention";
/// The loyalty program's end-of-period tier review (`App::review_tiers`).
pub const TIER_REVIEW: &str = "loyalty.tier_review";
/// Points expire by lot at the program's lifetime (`App::expire_points` as of the job's start).
pub const EXPIRE_POINTS: &str = "loyalty.expire";
/// Granted benefits whose time has passed are written as expired (`App::expire_benefits`).
pub const EXPIRE_BENEFITS: &str = "loyalty.benefits_expire";
/// Every saved segment evaluated again, who entered and left recorded
/// (`App::refresh_segment_history`), then the triggered campaigns fired on the entries
/// (`App::fire_triggered_campaigns`).
pub const SEGMENTS_REFRESH: &str = "segments.refresh";
/// The due outbox messages of launched campaigns delivered now (`kesher serve` also delivers
/// them continuously, beside the jobs).
pub const CAMPAIGNS_DELIVER: &str = "campaigns.deliver";
/// A/B tests whose measuring is over: the winner chosen and given to the recipients who waited
/// (`App::pick_campaign_winners`).
pub const CAMPAIGNS_PICK_WINNERS: &str = "campaigns.pick_winners";
/// Launched recurring campaigns greet the customers whose date (birthday, membership
/// anniversary) is today, less each campaign's days before (`App::run_recurring_campaigns`).
pub const CAMPAIGNS_RECURRING: &str = "campaigns.recurring";
/// A runner self-check: sleeps `{"seconds": n}` (at most an hour) and reports it.
pub const SLEEP: &str = "diagnostic.sleep";

/// The longest `diagnostic.sleep`.
const MAX_SLEEP_SECONDS: f64 = 3600.0;

pub const KINDS: &[Kind] = &[
    Kind {
        name: ANALYZE,
        max_attempts: 3,
        about: "refresh the customer analytics (kesher analyze with its defaults)",
    },
    Kind {
        name: RETENTION,
        max_attempts: 3,
        about: "apply the retention rule: anonymise customers inactive beyond the retention period",
    },
    Kind {
        name: TIER_REVIEW,
        max_attempts: 3,
        about: "review the loyalty tiers of members whose qualification period has ended",
    },
    Kind {
        name: EXPIRE_POINTS,
        max_attempts: 3,
        about: "expire the points of lots older than the loyalty program's lifetime",
    },
    Kind {
        name: EXPIRE_BENEFITS,
        max_attempts: 3,
        about: "expire the granted loyalty benefits whose time has passed",
    },
    Kind {
        name: SEGMENTS_REFRESH,
        max_attempts: 3,
        about: "evaluate every saved segment again, record who entered and who left it, and fire the triggered campaigns on the entries",
    },
    Kind {
        name: CAMPAIGNS_DELIVER,
        max_attempts: 3,
        about: "deliver the due messages of launched campaigns' outboxes (each under a lease, consent checked again)",
    },
    Kind {
        name: CAMPAIGNS_PICK_WINNERS,
        max_attempts: 3,
        about: "choose the winner of each A/B test whose measuring is over and send it to the recipients who waited",
    },
    Kind {
        name: CAMPAIGNS_RECURRING,
        max_attempts: 3,
        about: "write the messages of launched recurring campaigns (birthday, membership anniversary) due today, once per customer and year",
    },
    Kind {
        name: SLEEP,
        max_attempts: 3,
        about: "runner self-check: sleep {\"seconds\": n} (at most 3600) and report it",
    },
];

/// A kind by name.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// Why a handler did not finish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HandlerError {
    /// Retrying cannot help (unknown kind, bad arguments): the job fails now.
    Permanent(String),
    /// May pass on a later attempt (the database was busy, a connection dropped).
    Transient(String),
}

/// The kind known and its arguments valid: `Invalid` on `kind` or `args` otherwise.
pub fn check(name: &str, args: &Value) -> Result<&'static Kind, StoreError> {
    let found = kind(name).ok_or_else(|| {
        let known = KINDS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ");
        StoreError::invalid_coded(
            "job.kind.unknown",
            "kind",
            kesher_core::params!(kind = name, known = known.as_str()),
            format!("unknown job kind {name:?} (known: {known})"),
        )
    })?;
    let invalid = |reason: String| {
        StoreError::invalid_coded(
            "job.args.invalid",
            "args",
            kesher_core::params!(reason = reason.as_str()),
            reason.clone(),
        )
    };
    match found.name {
        SLEEP => {
            sleep_seconds(args).map_err(invalid)?;
        }
        _ => no_args(found.name, args).map_err(invalid)?,
    }
    Ok(found)
}

fn no_args(kind: &str, args: &Value) -> Result<(), String> {
    match args {
        Value::Null => Ok(()),
        Value::Object(m) if m.is_empty() => Ok(()),
        _ => Err(format!("{kind} takes no arguments (give {{}})")),
    }
}

fn sleep_seconds(args: &Value) -> Result<f64, String> {
    let seconds = args
        .get("seconds")
        .and_then(Value::as_f64)
        .ok_or_else(|| "diagnostic.sleep takes {\"seconds\": n}".to_string())?;
    if !(0.0..=MAX_SLEEP_SECONDS).contains(&seconds) {
        return Err(format!("seconds must be 0 to {MAX_SLEEP_SECONDS}"));
    }
    Ok(seconds)
}

/// Run `job`'s handler on this thread; its result on success.
pub(crate) fn run(app: &App, job: &Job) -> Result<Value, HandlerError> {
    check(&job.kind, &job.args).map_err(|e| HandlerError::Permanent(e.to_string()))?;
    match job.kind.as_str() {
        ANALYZE => analyze(app, job),
        RETENTION => retention(app, job),
        EXPIRE_POINTS => {
            let actor = Actor::new("system:jobs", app.now()).from(format!("job {}", job.id));
            match app.expire_points(app.now(), &actor) {
                Ok(r) => Ok(json!(r)),
                Err(e) => Err(HandlerError::Transient(e.to_string())),
            }
        }
        EXPIRE_BENEFITS => {
            let actor = Actor::new("system:jobs", app.now()).from(format!("job {}", job.id));
            match app.expire_benefits(&actor) {
                Ok(r) => Ok(json!(r)),
                Err(e) => Err(HandlerError::Transient(e.to_string())),
            }
        }
        SEGMENTS_REFRESH => {
            let actor = Actor::new("system:jobs", app.now()).from(format!("job {}", job.id));
            let refreshed = app
                .refresh_segment_history(&actor)
                .map_err(|e| HandlerError::Transient(e.to_string()))?;
            // Triggered campaigns fire on the entries just recorded.
            let triggered = app
                .fire_triggered_campaigns(&actor)
                .map_err(|e| HandlerError::Transient(format!("triggered campaigns: {e}")))?;
            let mut result = json!(refreshed);
            result["triggered"] = json!(triggered);
            Ok(result)
        }
        TIER_REVIEW => {
            let actor = Actor::new("system:jobs", app.now()).from(format!("job {}", job.id));
            match app.review_tiers(&actor) {
                Ok(r) => Ok(json!(r)),
                Err(e) => Err(HandlerError::Transient(e.to_string())),
            }
        }
        CAMPAIGNS_DELIVER => deliver_campaigns(app),
        CAMPAIGNS_PICK_WINNERS => {
            let actor = Actor::new("system:jobs", app.now()).from(format!("job {}", job.id));
            match app.pick_campaign_winners(&actor) {
                Ok(r) => Ok(json!(r)),
                Err(e) => Err(HandlerError::Transient(e.to_string())),
            }
        }
        CAMPAIGNS_RECURRING => {
            let actor = Actor::new("system:jobs", app.now()).from(format!("job {}", job.id));
            match app.run_recurring_campaigns(None, &actor) {
                Ok(r) => Ok(json!(r)),
                Err(e) => Err(HandlerError::Transient(e.to_string())),
            }
        }
        SLEEP => {
            let seconds = sleep_seconds(&job.args).map_err(HandlerError::Permanent)?;
            std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
            Ok(json!({ "slept_seconds": seconds }))
        }
        other => Err(HandlerError::Permanent(format!("unknown job kind {other:?}"))),
    }
}

/// Delivery rounds of `DELIVERY_ROUND` messages until none is due (at most `DELIVERY_ROUNDS`
/// rounds a run, so that a large outbox lets other jobs run between its runs).
fn deliver_campaigns(app: &App) -> Result<Value, HandlerError> {
    const DELIVERY_ROUND: usize = 200;
    const DELIVERY_ROUNDS: usize = 50;
    let senders = app
        .campaign_senders()
        .map_err(|e| HandlerError::Permanent(e.to_string()))?;
    let mut total = crate::campaigns::DeliveryReport::default();
    for _ in 0..DELIVERY_ROUNDS {
        let r = app
            .deliver_campaign_messages(&senders, DELIVERY_ROUND)
            .map_err(|e| HandlerError::Transient(e.to_string()))?;
        total.claimed += r.claimed;
        total.sent += r.sent;
        total.retried += r.retried;
        total.failed += r.failed;
        total.suppressed += r.suppressed;
        if r.claimed < DELIVERY_ROUND as u64 {
            break;
        }
    }
    Ok(json!(total))
}

fn analyze(app: &App, job: &Job) -> Result<Value, HandlerError> {
    let as_of = app.now();
    let mut opts = AnalyzeOptions::new(as_of, PeriodUnit::Week, Model::BgNbd);
    // Each step recorded for the analytics page, which shows it while the job runs.
    opts.progress_job = Some(job.id.to_string());
    match app.analyze(&opts) {
        Ok(r) => Ok(json!({
            "as_of": as_of.to_string(),
            "customers": r.customers,
            "buyers": r.buyers,
            "transactions": r.transactions,
            "model": r.model,
            "log_likelihood": r.log_likelihood,
            "model_note": r.model_note,
            "segments": match &r.segments {
                Ok(s) => json!(s),
                Err(e) => json!({ "error": e }),
            },
        })),
        // A business without sales yet: nothing to refresh, which is not a failure.
        Err(AnalyzeError::NoSales(at)) => Ok(json!({
            "as_of": at.to_string(),
            "skipped": "no sales by identified customers yet",
        })),
        Err(e) => Err(HandlerError::Transient(e.to_string())),
    }
}

fn retention(app: &App, job: &Job) -> Result<Value, HandlerError> {
    let actor = Actor::new("system:jobs", app.now()).from(format!("job {}", job.id));
    match app.apply_retention(None, false, &actor) {
        Ok(r) => Ok(json!({
            "years": r.years,
            "cutoff": r.cutoff.map(|t| t.to_string()),
            "candidates": r.candidates,
            "erased": r.erased,
        })),
        Err(e) => Err(HandlerError::Transient(e.to_string())),
    }
}
