//! The job queue on PostgreSQL. A claim locks the chosen row `FOR UPDATE SKIP LOCKED` in its
//! transaction: workers claiming at once (threads, or servers sharing one database) each take a
//! different due job, and a row another claimer holds is passed over rather than waited for.

use crate::PgStore;
use crate::convert::{Ctx, PgRow, col, count, one, query_opt};
use jiff::{SignedDuration, Timestamp};
use kesher_core::JobId;
use kesher_store::jobs::{lease_lost, not_cancellable};
use kesher_store::rows::{self, JOB_COLUMNS as COLUMNS};
use kesher_store::{Job, JobFinish, JobState, NewJob, Page, Recorded, Result, StoreError};
use postgres::{GenericClient, Row};
use uuid::Uuid;

fn job(r: &Row) -> Result<Job> {
    rows::job(&PgRow(r))
}

fn load<C: GenericClient>(c: &mut C, id: JobId) -> Result<Option<Job>> {
    one(c, &format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"), &[&id.0], |r| {
        rows::job(r)
    })
}

fn require<C: GenericClient>(c: &mut C, id: JobId) -> Result<Job> {
    load(c, id)?.ok_or_else(|| StoreError::not_found("job", id))
}

fn end_of_lease(now: Timestamp, lease: SignedDuration) -> Timestamp {
    now.checked_add(lease).unwrap_or(Timestamp::MAX)
}

fn as_i32(v: u32, field: &'static str) -> Result<i32> {
    i32::try_from(v).map_err(|_| {
        StoreError::invalid_coded(
            "job.value.too_large",
            field,
            kesher_core::params!(value = v),
            format!("{v} is too large"),
        )
    })
}

impl PgStore {
    /// The claim of [`kesher_store::Jobs::claim_job`], of any due job or of `only`.
    fn claim(&self, only: Option<JobId>, worker: &str, now: Timestamp, lease: SignedDuration) -> Result<Option<Job>> {
        self.in_tx(|tx| {
            let due = "((state = 'scheduled' AND run_at <= $1) OR (state = 'running' AND lease_until < $1))";
            let row = match only {
                None => query_opt(
                    tx,
                    &format!("SELECT id FROM jobs WHERE {due} ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED"),
                    &[&now],
                )?,
                Some(id) => query_opt(
                    tx,
                    &format!("SELECT id FROM jobs WHERE {due} AND id = $2 FOR UPDATE SKIP LOCKED"),
                    &[&now, &id.0],
                )?,
            };
            let Some(row) = row else {
                return Ok(None);
            };
            let id: Uuid = col(&row, 0)?;
            let row = tx
                .query_one(
                    &format!(
                        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $2,
                             lease_until = $3, started_at = $4
                         WHERE id = $1 RETURNING {COLUMNS}"
                    ),
                    &[&id, &worker, &end_of_lease(now, lease), &now],
                )
                .be()?;
            job(&row).map(Some)
        })
    }
}

impl kesher_store::Jobs for PgStore {
    fn enqueue_job(&self, j: &NewJob) -> Result<Recorded<Job>> {
        if j.max_attempts == 0 {
            return Err(StoreError::invalid_coded(
                "job.max_attempts.zero",
                "max_attempts",
                kesher_core::Params::new(),
                "at least one attempt",
            ));
        }
        let max_attempts = as_i32(j.max_attempts, "max_attempts")?;
        self.with(|c| {
            let inserted = query_opt(
                c,
                &format!(
                    "INSERT INTO jobs (id, kind, args, run_at, state, attempts, max_attempts, created_at, dedupe_key)
                     VALUES ($1, $2, $3, $4, 'scheduled', 0, $5, $6, $7)
                     ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
                ),
                &[
                    &j.id.0,
                    &j.kind,
                    &j.args,
                    &j.run_at,
                    &max_attempts,
                    &j.created_at,
                    &j.dedupe_key,
                ],
            )?;
            if let Some(row) = inserted {
                return Ok(Recorded {
                    value: job(&row)?,
                    created: true,
                });
            }
            let by_key = match &j.dedupe_key {
                Some(key) => query_opt(c, &format!("SELECT {COLUMNS} FROM jobs WHERE dedupe_key = $1"), &[key])?
                    .as_ref()
                    .map(job)
                    .transpose()?,
                None => None,
            };
            let value = match by_key {
                Some(found) => found,
                None => require(c, j.id)?,
            };
            Ok(Recorded { value, created: false })
        })
    }

    fn claim_job(&self, worker: &str, now: Timestamp, lease: SignedDuration) -> Result<Option<Job>> {
        self.claim(None, worker, now, lease)
    }

    fn claim_job_by_id(&self, id: JobId, worker: &str, now: Timestamp, lease: SignedDuration) -> Result<Option<Job>> {
        self.claim(Some(id), worker, now, lease)
    }

    fn renew_lease(&self, id: JobId, worker: &str, until: Timestamp) -> Result<()> {
        let n = self.with(|c| {
            c.execute(
                "UPDATE jobs SET lease_until = $3 WHERE id = $1 AND state = 'running' AND lease_owner = $2",
                &[&id.0, &worker, &until],
            )
            .be()
        })?;
        if n == 0 {
            return Err(lease_lost(id, worker));
        }
        Ok(())
    }

    fn finish_job(&self, id: JobId, worker: &str, now: Timestamp, outcome: &JobFinish) -> Result<Job> {
        self.with(|c| {
            let held = format!("WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING {COLUMNS}");
            let row = match outcome {
                JobFinish::Done { result } => query_opt(
                    c,
                    &format!(
                        "UPDATE jobs SET state = 'done', result = $3, finished_at = $4, lease_until = NULL {held}"
                    ),
                    &[&id.0, &worker, result, &now],
                )?,
                JobFinish::Retry { at, error } => query_opt(
                    c,
                    &format!(
                        "UPDATE jobs SET state = 'scheduled', run_at = $3, last_error = $4, lease_until = NULL {held}"
                    ),
                    &[&id.0, &worker, at, error],
                )?,
                JobFinish::Failed { error } => query_opt(
                    c,
                    &format!(
                        "UPDATE jobs SET state = 'failed', last_error = $3, finished_at = $4, lease_until = NULL {held}"
                    ),
                    &[&id.0, &worker, error, &now],
                )?,
            };
            match row {
                Some(row) => job(&row),
                None => {
                    require(c, id)?;
                    Err(lease_lost(id, worker))
                }
            }
        })
    }

    fn get_job(&self, id: JobId) -> Result<Option<Job>> {
        self.with(|c| load(c, id))
    }

    fn list_jobs(&self, state: Option<JobState>, limit: u32, offset: u64) -> Result<Page<Job>> {
        let filter = state.map(JobState::as_str);
        let offset_sql = i64::try_from(offset).unwrap_or(i64::MAX);
        self.with(|c| {
            let total = count(
                c,
                "SELECT count(*) FROM jobs WHERE $1::text IS NULL OR state = $1",
                &[&filter],
            )?;
            let items = c
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM jobs WHERE $1::text IS NULL OR state = $1
                         ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
                    ),
                    &[&filter, &i64::from(limit), &offset_sql],
                )
                .be()?
                .iter()
                .map(job)
                .collect::<Result<Vec<_>>>()?;
            Ok(Page {
                items,
                total,
                limit,
                offset,
                total_capped: false,
            })
        })
    }

    fn cancel_job(&self, id: JobId, now: Timestamp) -> Result<Job> {
        self.with(|c| {
            let row = query_opt(
                c,
                &format!(
                    "UPDATE jobs SET state = 'cancelled', finished_at = $2 WHERE id = $1 AND state = 'scheduled'
                     RETURNING {COLUMNS}"
                ),
                &[&id.0, &now],
            )?;
            match row {
                Some(row) => job(&row),
                None => Err(not_cancellable(&require(c, id)?)),
            }
        })
    }
}
