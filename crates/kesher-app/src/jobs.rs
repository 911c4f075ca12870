//! The durable job runner every background task shares: jobs in the store's queue, claimed
//! under a lease, run on the caller's thread while a heartbeat renews the lease, retried with
//! exponential backoff, and schedules that enqueue recurring jobs (docs/jobs.md).
//!
//! One step — [`App::run_next_job`] — claims a due job, runs it and records how it ended; a loop
//! around it (the server's worker) sleeps when it answers [`JobOutcome::EmptyQueue`]. "Now" is
//! [`App::now`] throughout, so leases, retries and schedules are tested on a manual clock.

pub mod cron;
pub mod kinds;
pub mod schedules;
#[cfg(test)]
mod tests;

use crate::App;
use jiff::{SignedDuration, Timestamp};
use kesher_core::JobId;
use kesher_store::{Job, JobFinish, JobState, NewJob, Page, Result, StoreError};
use kinds::HandlerError;
use std::sync::mpsc;

/// The lease a worker takes unless told otherwise.
pub const DEFAULT_LEASE: SignedDuration = SignedDuration::from_mins(5);
/// The first retry's delay; each further attempt doubles it, up to [`MAX_RETRY_DELAY`].
pub const FIRST_RETRY_DELAY: SignedDuration = SignedDuration::from_secs(30);
pub const MAX_RETRY_DELAY: SignedDuration = SignedDuration::from_hours(1);

/// Who runs jobs, and for how long a claim holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    /// Unique among the processes sharing the database (host, pid and a random part).
    pub name: String,
    /// How long a claim lasts without a heartbeat; the heartbeat renews it every third.
    pub lease: SignedDuration,
}

impl Worker {
    pub fn new(name: impl Into<String>, lease: SignedDuration) -> Worker {
        Worker {
            name: name.into(),
            lease,
        }
    }

    /// A worker named after this process: host, pid and a random part.
    pub fn for_this_process(lease: SignedDuration) -> Worker {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_string());
        let random = crate::ids::job().as_uuid().as_u128() as u32;
        Worker::new(format!("{host}:{}:{random:08x}", std::process::id()), lease)
    }

    /// How often the lease is renewed while a job runs.
    pub fn heartbeat(&self) -> std::time::Duration {
        let third = self.lease / 3;
        std::time::Duration::try_from(third)
            .unwrap_or(std::time::Duration::from_secs(1))
            .max(std::time::Duration::from_millis(10))
    }
}

/// How one step of the runner ended.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    /// The job ran and is done.
    Completed { job: Job },
    /// The attempt failed; the job is scheduled again at `job.run_at`.
    Retried { job: Job, error: String },
    /// The job failed for good (a permanent error, or its last attempt).
    Failed { job: Job, error: String },
    /// Nothing was due.
    EmptyQueue,
}

/// The delay before the attempt after `attempt` (1-based): 30 s, 1 min, 2 min, … up to 1 h.
pub fn retry_delay(attempt: u32) -> SignedDuration {
    let doublings = attempt.saturating_sub(1).min(16);
    FIRST_RETRY_DELAY
        .checked_mul(1 << doublings)
        .unwrap_or(MAX_RETRY_DELAY)
        .min(MAX_RETRY_DELAY)
}

/// How an attempt of `job` that ended with `result` at `now` is recorded: done; a transient
/// error retried after [`retry_delay`] while attempts remain; otherwise failed.
pub(crate) fn decide(
    job: &Job,
    result: std::result::Result<serde_json::Value, HandlerError>,
    now: Timestamp,
) -> JobFinish {
    match result {
        Ok(value) => JobFinish::Done { result: value },
        Err(HandlerError::Transient(error)) if job.attempts < job.max_attempts => JobFinish::Retry {
            at: now.checked_add(retry_delay(job.attempts)).unwrap_or(Timestamp::MAX),
            error,
        },
        Err(HandlerError::Transient(error) | HandlerError::Permanent(error)) => JobFinish::Failed { error },
    }
}

impl App {
    /// Enqueue a job of a known kind to run at `run_at` (now when `None`); `Invalid` on `kind`
    /// or `args` when the kind is unknown or its arguments wrong.
    pub fn enqueue_job(&self, kind: &str, args: serde_json::Value, run_at: Option<Timestamp>) -> Result<Job> {
        let known = kinds::check(kind, &args)?;
        let now = self.now();
        Ok(self
            .store
            .enqueue_job(&NewJob {
                id: crate::ids::job(),
                kind: known.name.to_string(),
                args,
                run_at: run_at.unwrap_or(now),
                max_attempts: known.max_attempts,
                dedupe_key: None,
                created_at: now,
            })?
            .value)
    }

    /// Claim the earliest due job, run it with its lease renewed meanwhile, and record how it
    /// ended. A `Conflict` on `lease` when the lease was lost while it ran (another worker took
    /// the job over): what this attempt did is not recorded.
    pub fn run_next_job(&self, worker: &Worker) -> Result<JobOutcome> {
        match self.store.claim_job(&worker.name, self.now(), worker.lease)? {
            Some(job) => self.run_claimed(job, worker),
            None => Ok(JobOutcome::EmptyQueue),
        }
    }

    /// Enqueue a job for now and run it on this thread through the same claim and lease (`kesher
    /// jobs run`).
    pub fn run_job_now(&self, kind: &str, args: serde_json::Value, worker: &Worker) -> Result<JobOutcome> {
        let job = self.enqueue_job(kind, args, None)?;
        match self
            .store
            .claim_job_by_id(job.id, &worker.name, self.now(), worker.lease)?
        {
            Some(claimed) => self.run_claimed(claimed, worker),
            None => Err(StoreError::conflict_coded(
                "job.taken",
                "id",
                kesher_core::params!(job = job.id.to_string()),
                format!("job {} was taken by another worker before this one", job.id),
            )),
        }
    }

    /// Run the job `id` on this thread through the same claim and lease, if it is due and no
    /// other worker has taken it (`None` then): how a page runs the job it has just enqueued
    /// without waiting for the server's worker.
    pub fn run_job_by_id(&self, id: JobId, worker: &Worker) -> Result<Option<JobOutcome>> {
        match self.store.claim_job_by_id(id, &worker.name, self.now(), worker.lease)? {
            Some(claimed) => self.run_claimed(claimed, worker).map(Some),
            None => Ok(None),
        }
    }

    /// The latest job of `kind` that is running, or scheduled and due: what a page shows as in
    /// progress.
    pub fn active_job(&self, kind: &str) -> Result<Option<Job>> {
        let now = self.now();
        for state in [JobState::Running, JobState::Scheduled] {
            let page = self.store.list_jobs(Some(state), 50, 0)?;
            if let Some(j) = page
                .items
                .into_iter()
                .find(|j| j.kind == kind && (state == JobState::Running || j.run_at <= now))
            {
                return Ok(Some(j));
            }
        }
        Ok(None)
    }

    pub fn get_job(&self, id: JobId) -> Result<Job> {
        self.store.get_job(id)?.ok_or_else(|| StoreError::not_found("job", id))
    }

    /// Jobs newest first, all or those in `state`.
    pub fn list_jobs(&self, state: Option<JobState>, limit: u32, offset: u64) -> Result<Page<Job>> {
        self.store.list_jobs(state, limit, offset)
    }

    /// Cancel a scheduled job; a running or ended one is a `Conflict` on `state`.
    pub fn cancel_job(&self, id: JobId) -> Result<Job> {
        self.store.cancel_job(id, self.now())
    }

    /// Run a claimed job and finish it.
    fn run_claimed(&self, job: Job, worker: &Worker) -> Result<JobOutcome> {
        let result = if job.attempts > job.max_attempts {
            // The lease of its last allowed attempt expired: the worker died while running it.
            Err(HandlerError::Permanent(format!(
                "gave up after {} attempts: the worker running it stopped before it finished",
                job.max_attempts
            )))
        } else {
            self.run_with_heartbeat(&job, worker)
        };
        let finish = decide(&job, result, self.now());
        let finished = self.store.finish_job(job.id, &worker.name, self.now(), &finish)?;
        Ok(match finish {
            JobFinish::Done { .. } => JobOutcome::Completed { job: finished },
            JobFinish::Retry { error, .. } => JobOutcome::Retried { job: finished, error },
            JobFinish::Failed { error } => JobOutcome::Failed { job: finished, error },
        })
    }

    /// The job's handler on this thread, its lease renewed by a heartbeat thread meanwhile. A
    /// handler that panics counts as a failed attempt.
    fn run_with_heartbeat(&self, job: &Job, worker: &Worker) -> std::result::Result<serde_json::Value, HandlerError> {
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            scope.spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(worker.heartbeat()) {
                    let until = self.now().checked_add(worker.lease).unwrap_or(Timestamp::MAX);
                    // A lost lease stops the heartbeat; finishing will report it.
                    if let Err(StoreError::Conflict { .. }) = self.store.renew_lease(job.id, &worker.name, until) {
                        break;
                    }
                }
            });
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| kinds::run(self, job)))
                .unwrap_or_else(|_| Err(HandlerError::Transient(format!("the {} job panicked", job.kind))));
            drop(stop);
            result
        })
    }
}
