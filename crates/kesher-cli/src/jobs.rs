//! `kesher jobs list|run|enqueue|cancel`, and the job worker, the cache warmer and the campaign
//! delivery `kesher serve` runs beside the API.

use anyhow::Context;
use clap::Subcommand;
use jiff::Timestamp;
use kesher_app::App;
use kesher_app::campaigns::{DeliveryLoop, DeliveryStep};
use kesher_app::jobs::schedules::ScheduleStatus;
use kesher_app::jobs::{JobOutcome, Worker};
use kesher_core::JobId;
use kesher_store::{Job, JobState};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[derive(Subcommand)]
pub enum JobsCommand {
    /// The schedules (name, cron, zone, next run) and the jobs, newest first.
    List {
        /// Only jobs in this state.
        #[arg(long, value_parser = ["scheduled", "running", "done", "failed", "cancelled"])]
        state: Option<String>,
        /// Jobs to show at most.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Enqueue a job for now and run it in this process, through the same claim and lease as
    /// the server's worker (kinds: analyze, privacy.retention, diagnostic.sleep).
    Run {
        kind: String,
        /// The job's arguments as JSON (diagnostic.sleep: {"seconds": n}).
        #[arg(long, default_value = "{}")]
        args: String,
        #[arg(long)]
        json: bool,
    },
    /// Enqueue a job for a running server's worker to run (now, or at --at).
    Enqueue {
        kind: String,
        #[arg(long, default_value = "{}")]
        args: String,
        /// When to run it (RFC 3339) [default: now].
        #[arg(long)]
        at: Option<Timestamp>,
    },
    /// Cancel a scheduled job (a running one is left to finish).
    Cancel { id: JobId },
}

pub fn run(app: &App, c: JobsCommand) -> anyhow::Result<ExitCode> {
    match c {
        JobsCommand::List { state, limit, json } => {
            let state = state.as_deref().and_then(JobState::parse);
            let schedules = app.schedules().context("reading the schedules")?;
            let jobs = app.list_jobs(state, limit, 0).context("listing jobs")?;
            if json {
                let doc = json!({
                    "schedules": schedules.iter().map(schedule_json).collect::<Vec<_>>(),
                    "jobs": { "total": jobs.total, "items": jobs.items.iter().map(job_json).collect::<Vec<_>>() },
                });
                println!("{doc}");
                return Ok(ExitCode::SUCCESS);
            }
            println!("schedules:");
            for s in &schedules {
                let next = match s.next_run {
                    Some(at) => format!("{} ({at})", local(at, &s.zone)),
                    None => "never".to_string(),
                };
                println!("  {:<18} {:<12} {:<16} next {next}", s.name, s.cron, s.zone);
            }
            println!("jobs ({} of {}):", jobs.items.len(), jobs.total);
            for j in &jobs.items {
                println!(
                    "  {}  {:<18} {:<9} attempts {}/{}  run at {}{}",
                    j.id,
                    j.kind,
                    j.state,
                    j.attempts,
                    j.max_attempts,
                    j.run_at,
                    j.last_error
                        .as_deref()
                        .map(|e| format!("  error: {e}"))
                        .unwrap_or_default()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        JobsCommand::Run { kind, args, json } => {
            let args = parse_args(&args)?;
            let worker = Worker::for_this_process(app.settings.job_lease);
            let outcome = app
                .run_job_now(&kind, args, &worker)
                .with_context(|| format!("running a {kind} job"))?;
            let (label, job, error, ok) = match &outcome {
                JobOutcome::Completed { job } => ("completed", Some(job), None, true),
                JobOutcome::Retried { job, error } => ("retried", Some(job), Some(error), false),
                JobOutcome::Failed { job, error } => ("failed", Some(job), Some(error), false),
                JobOutcome::EmptyQueue => ("nothing to run", None, None, false),
            };
            if json {
                println!(
                    "{}",
                    json!({ "outcome": label, "job": job.map(job_json), "error": error })
                );
            } else if let Some(job) = job {
                println!("job {} ({}): {label}", job.id, job.kind);
                if let Some(result) = &job.result {
                    println!("result: {result}");
                }
                if let Some(error) = error {
                    println!("error: {error}");
                }
                if let JobOutcome::Retried { job, .. } = &outcome {
                    println!("a server's worker will try again at {}", job.run_at);
                }
            }
            Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        JobsCommand::Enqueue { kind, args, at } => {
            let job = app
                .enqueue_job(&kind, parse_args(&args)?, at)
                .with_context(|| format!("enqueueing a {kind} job"))?;
            println!("enqueued job {} ({}) to run at {}", job.id, job.kind, job.run_at);
            Ok(ExitCode::SUCCESS)
        }
        JobsCommand::Cancel { id } => {
            let job = app.cancel_job(id).with_context(|| format!("cancelling job {id}"))?;
            println!("job {} ({}) cancelled", job.id, job.kind);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn parse_args(text: &str) -> anyhow::Result<Value> {
    serde_json::from_str(text).with_context(|| format!("--args {text:?} is not JSON"))
}

/// `at` as a wall time in the zone named `zone`.
fn local(at: Timestamp, zone: &str) -> String {
    match jiff::tz::TimeZone::get(zone) {
        Ok(tz) => at.to_zoned(tz).strftime("%Y-%m-%d %H:%M %Z").to_string(),
        Err(_) => at.to_string(),
    }
}

fn schedule_json(s: &ScheduleStatus) -> Value {
    json!({
        "name": s.name, "kind": s.kind, "cron": s.cron, "zone": s.zone,
        "next_run": s.next_run.map(|t| t.to_string()),
    })
}

fn job_json(j: &Job) -> Value {
    let at = |t: Option<Timestamp>| t.map(|t| t.to_string());
    json!({
        "id": j.id.to_string(), "kind": j.kind, "args": j.args, "run_at": j.run_at.to_string(),
        "state": j.state.as_str(), "attempts": j.attempts, "max_attempts": j.max_attempts,
        "last_error": j.last_error, "lease_owner": j.lease_owner, "lease_until": at(j.lease_until),
        "created_at": j.created_at.to_string(), "started_at": at(j.started_at),
        "finished_at": at(j.finished_at), "result": j.result, "dedupe_key": j.dedupe_key,
    })
}

/// The server's job worker: a thread that keeps the schedules enqueued, runs the next due job,
/// and sleeps a second when none is due, until stopped.
pub struct JobWorker {
    stop: Arc<AtomicBool>,
}

impl JobWorker {
    pub fn start(app: App) -> anyhow::Result<JobWorker> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("kesher-jobs".into())
            .spawn(move || work(&app, &stopped))
            .context("starting the job worker")?;
        Ok(JobWorker { stop })
    }

    /// Stop after the job running now (if any); its lease expires if the process exits first.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The server's cache warmer: a thread that mines the offer rules and loads the segment
/// editor's sample before they expire (`App::warm_caches`), so that a customer page or a live
/// count never waits for them; it looks every ten seconds, until stopped.
pub struct CacheWarmer {
    stop: Arc<AtomicBool>,
}

impl CacheWarmer {
    pub fn start(app: App) -> anyhow::Result<CacheWarmer> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("kesher-caches".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    if let Err(e) = app.warm_caches() {
                        tracing::error!(error = %e, "loading the offer rules or the segment sample failed");
                    }
                    for _ in 0..10 {
                        if stopped.load(Ordering::Relaxed) {
                            return;
                        }
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            })
            .context("starting the cache warmer")?;
        Ok(CacheWarmer { stop })
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The server's campaign delivery (`kesher_app::campaigns::DeliveryLoop`): the due outbox
/// messages sent continuously with the senders of `kesher campaigns deliver`, a second's sleep
/// when none is due, the A/B tests' winners chosen once a minute; each round, each choice and
/// each failure logged.
pub fn start_delivery(app: App) -> anyhow::Result<DeliveryLoop> {
    DeliveryLoop::start(
        app,
        Duration::from_secs(1),
        Box::new(|step| match step {
            DeliveryStep::Delivered(r) => tracing::info!(
                claimed = r.claimed,
                sent = r.sent,
                retried = r.retried,
                failed = r.failed,
                suppressed = r.suppressed,
                "campaign messages delivered"
            ),
            DeliveryStep::Winners(r) => {
                for (campaign, choice) in &r.chosen {
                    tracing::info!(%campaign, variant = ?choice.key, "A/B winner chosen");
                }
                tracing::info!(released = r.released, "waiting campaign messages given their winner");
            }
            DeliveryStep::Failed(error) => tracing::error!(%error, "campaign delivery failed; will retry"),
            DeliveryStep::Idle => {}
        }),
    )
    .context("starting the campaign delivery")
}

fn work(app: &App, stop: &AtomicBool) {
    let worker = Worker::for_this_process(app.settings.job_lease);
    tracing::info!(worker = %worker.name, lease = %app.settings.job_lease, "job worker started");
    let idle = Duration::from_secs(1);
    // When the schedules need enqueueing again: at start, then when their next occurrence passed.
    let mut ensure_at: Option<Timestamp> = None;
    while !stop.load(Ordering::Relaxed) {
        let now = app.now();
        if ensure_at.is_none_or(|at| now >= at) {
            ensure_at = match app.ensure_schedules() {
                Ok(next) => Some(next.unwrap_or(now + jiff::SignedDuration::from_hours(1))),
                Err(e) => {
                    tracing::error!(error = %e, "enqueueing the scheduled jobs failed");
                    Some(now + jiff::SignedDuration::from_mins(1))
                }
            };
        }
        match app.run_next_job(&worker) {
            Ok(JobOutcome::EmptyQueue) => std::thread::sleep(idle),
            Ok(JobOutcome::Completed { job }) => {
                tracing::info!(job = %job.id, kind = %job.kind, attempts = job.attempts, "job done")
            }
            Ok(JobOutcome::Retried { job, error }) => {
                tracing::warn!(job = %job.id, kind = %job.kind, %error, retry_at = %job.run_at, "job failed; will retry")
            }
            Ok(JobOutcome::Failed { job, error }) => {
                tracing::error!(job = %job.id, kind = %job.kind, %error, attempts = job.attempts, "job failed")
            }
            Err(e) => {
                tracing::error!(error = %e, "job worker");
                std::thread::sleep(idle);
            }
        }
    }
}
