//! The job queue's part of the storage contract: durable jobs with a lease, row by row. What a
//! job does, when it is retried and how schedules recur is decided in `kesher-app`; a backend
//! only stores rows and hands each due job to one worker at a time.
//!
//! The guarantees every backend keeps: a job is held by at most one live lease (a claim is
//! atomic: SQLite takes the write lock up front with `BEGIN IMMEDIATE`, PostgreSQL locks the
//! chosen row `FOR UPDATE SKIP LOCKED`), a job whose lease expired while running is claimed
//! again with one more attempt, only the lease holder may renew or finish a job, and a dedupe
//! key is held by one job ever.

use crate::{Page, Recorded, Result};
use jiff::{SignedDuration, Timestamp};
use kesher_core::JobId;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its `run_at` (a retry waits here too).
    Scheduled,
    /// Held by a worker's lease.
    Running,
    Done,
    /// Gave up: a permanent error, or the last attempt failed.
    Failed,
    /// Cancelled before it started.
    Cancelled,
}

impl JobState {
    pub const ALL: [JobState; 5] = [
        JobState::Scheduled,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The stored (and shown) name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// A state by its name; `None` for anything else.
    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// A job as enqueued.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    pub id: JobId,
    pub kind: String,
    pub args: serde_json::Value,
    /// Not claimed before this instant.
    pub run_at: Timestamp,
    /// Attempts (claims) allowed before the job fails for good; at least 1.
    pub max_attempts: u32,
    /// Held by one job ever: a schedule's occurrence is `schedule:<name>:<instant>`, so that
    /// servers enqueueing the same occurrence enqueue it once.
    pub dedupe_key: Option<String>,
    pub created_at: Timestamp,
}

/// A stored job.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub args: serde_json::Value,
    pub run_at: Timestamp,
    pub state: JobState,
    /// Claims so far (a claim after an expired lease counts).
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    /// The worker holding the lease (while running), or the last one that held it.
    pub lease_owner: Option<String>,
    /// Set while running.
    pub lease_until: Option<Timestamp>,
    pub created_at: Timestamp,
    /// When the latest attempt began.
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub result: Option<serde_json::Value>,
    pub dedupe_key: Option<String>,
}

/// How an attempt ended, as the runner decided.
#[derive(Debug, Clone, PartialEq)]
pub enum JobFinish {
    /// Done, with what the job reports.
    Done { result: serde_json::Value },
    /// Back to `Scheduled`, to run again at `at`; the error is kept in `last_error`.
    Retry { at: Timestamp, error: String },
    /// Failed for good.
    Failed { error: String },
}

pub trait Jobs {
    /// Store a new scheduled job. When its dedupe key (or id) is already held, nothing is
    /// written and the existing job is returned with `created: false`.
    fn enqueue_job(&self, job: &NewJob) -> Result<Recorded<Job>>;
    /// Take the earliest due job — scheduled with `run_at <= now`, or running with a lease that
    /// expired before `now` (its worker died) — for `worker` until `now + lease`: state
    /// running, one more attempt. Atomic: two workers never hold the same job. `None` when
    /// nothing is due.
    fn claim_job(&self, worker: &str, now: Timestamp, lease: SignedDuration) -> Result<Option<Job>>;
    /// [`Jobs::claim_job`] for one job: `None` unless that job is due.
    fn claim_job_by_id(&self, id: JobId, worker: &str, now: Timestamp, lease: SignedDuration) -> Result<Option<Job>>;
    /// Extend `worker`'s lease to `until`; a `Conflict` on `lease` when the worker no longer
    /// holds the job (another claimed it after the lease expired, or it is finished).
    fn renew_lease(&self, id: JobId, worker: &str, until: Timestamp) -> Result<()>;
    /// End `worker`'s attempt; a `Conflict` on `lease` when the worker no longer holds the job,
    /// `NotFound` when there is no such job.
    fn finish_job(&self, id: JobId, worker: &str, now: Timestamp, outcome: &JobFinish) -> Result<Job>;
    fn get_job(&self, id: JobId) -> Result<Option<Job>>;
    /// Jobs newest first (by creation), all of them or those in `state`.
    fn list_jobs(&self, state: Option<JobState>, limit: u32, offset: u64) -> Result<Page<Job>>;
    /// Cancel a scheduled job. A running job is refused with a `Conflict` on `state` (kesher
    /// does not interrupt a running job; it finishes or its lease expires), and so is a job
    /// that already ended. `NotFound` when there is no such job.
    fn cancel_job(&self, id: JobId, now: Timestamp) -> Result<Job>;
}

/// The message of the conflict a worker gets when its lease is gone.
pub fn lease_lost(id: JobId, worker: &str) -> crate::StoreError {
    crate::StoreError::conflict_coded(
        "job.lease.lost",
        "lease",
        kesher_core::params!(job = id.to_string(), worker = worker),
        format!("job {id} is no longer held by worker {worker} (its lease expired and was taken over, or it ended)"),
    )
}

/// The conflict for cancelling a job that is not scheduled.
pub fn not_cancellable(job: &Job) -> crate::StoreError {
    crate::StoreError::conflict_coded(
        "job.cancel.not_scheduled",
        "state",
        kesher_core::params!(job = job.id.to_string(), state = job.state.as_str()),
        format!("job {} is {}: only a scheduled job can be cancelled", job.id, job.state),
    )
}

/// A stored state name as a state (a name no migration writes is corruption).
pub fn stored_state(s: &str) -> Result<JobState> {
    JobState::parse(s).ok_or_else(|| crate::StoreError::Backend(format!("unknown job state {s:?} in the database")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_back_from_their_names_and_pad_in_tables() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        assert_eq!(JobState::parse("sleeping"), None);
        assert_eq!(format!("{:<9}|", JobState::Done), "done     |");
    }
}
