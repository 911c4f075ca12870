//! The job queue on SQLite. A claim runs in a transaction begun `IMMEDIATE`: the write lock is
//! taken before the due job is chosen, so two processes on one file (and, in this process, the
//! writer connection's mutex) never hand the same job to two workers.

use crate::convert::{Ctx, all, blob16, one};
use crate::ts;
use jiff::{SignedDuration, Timestamp};
use kesher_core::JobId;
use kesher_store::jobs::{lease_lost, not_cancellable};
use kesher_store::rows::{self, JOB_COLUMNS};
use kesher_store::{Job, JobFinish, JobState, NewJob, Page, Recorded, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

fn load(c: &Connection, id: JobId) -> Result<Option<Job>> {
    one(
        c,
        &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
        [&id.as_bytes()[..]],
        |r| rows::job(r),
    )
}

fn require(c: &Connection, id: JobId) -> Result<Job> {
    load(c, id)?.ok_or_else(|| StoreError::not_found("job", id))
}

fn end_of_lease(now: Timestamp, lease: SignedDuration) -> Timestamp {
    now.checked_add(lease).unwrap_or(Timestamp::MAX)
}

impl crate::SqliteStore {
    /// The claim of [`kesher_store::Jobs::claim_job`], of any due job or of `only`.
    fn claim(&self, only: Option<JobId>, worker: &str, now: Timestamp, lease: SignedDuration) -> Result<Option<Job>> {
        let mut conn = self.write()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .be()?;
        let due = "((state = 'scheduled' AND run_at <= ?1) OR (state = 'running' AND lease_until < ?1))";
        let id: Option<Vec<u8>> = match only {
            None => tx
                .query_row(
                    &format!("SELECT id FROM jobs WHERE {due} ORDER BY run_at, id LIMIT 1"),
                    [ts(now)],
                    |r| r.get(0),
                )
                .optional()
                .be()?,
            Some(id) => tx
                .query_row(
                    &format!("SELECT id FROM jobs WHERE {due} AND id = ?2"),
                    params![ts(now), &id.as_bytes()[..]],
                    |r| r.get(0),
                )
                .optional()
                .be()?,
        };
        let Some(id) = id else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?2, lease_until = ?3,
                 started_at = ?4
             WHERE id = ?1",
            params![id, worker, ts(end_of_lease(now, lease)), ts(now)],
        )
        .be()?;
        let claimed = require(&tx, JobId::from_bytes(blob16(&id)?))?;
        tx.commit().be()?;
        Ok(Some(claimed))
    }
}

impl kesher_store::Jobs for crate::SqliteStore {
    fn enqueue_job(&self, j: &NewJob) -> Result<Recorded<Job>> {
        if j.max_attempts == 0 {
            return Err(StoreError::invalid_coded(
                "job.max_attempts.zero",
                "max_attempts",
                kesher_core::Params::new(),
                "at least one attempt",
            ));
        }
        let conn = self.write()?;
        let n = conn
            .execute(
                "INSERT INTO jobs (id, kind, args, run_at, state, attempts, max_attempts, created_at, dedupe_key)
                 VALUES (?1, ?2, ?3, ?4, 'scheduled', 0, ?5, ?6, ?7)
                 ON CONFLICT DO NOTHING",
                params![
                    &j.id.as_bytes()[..],
                    j.kind,
                    j.args.to_string(),
                    ts(j.run_at),
                    j.max_attempts,
                    ts(j.created_at),
                    j.dedupe_key
                ],
            )
            .be()?;
        let existing = match (&j.dedupe_key, n) {
            (_, 1) => None,
            (Some(key), _) => one(
                &conn,
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE dedupe_key = ?1"),
                [key],
                |r| rows::job(r),
            )?,
            (None, _) => None,
        };
        let value = match existing {
            Some(found) => found,
            None => require(&conn, j.id)?,
        };
        Ok(Recorded { value, created: n == 1 })
    }

    fn claim_job(&self, worker: &str, now: Timestamp, lease: SignedDuration) -> Result<Option<Job>> {
        self.claim(None, worker, now, lease)
    }

    fn claim_job_by_id(&self, id: JobId, worker: &str, now: Timestamp, lease: SignedDuration) -> Result<Option<Job>> {
        self.claim(Some(id), worker, now, lease)
    }

    fn renew_lease(&self, id: JobId, worker: &str, until: Timestamp) -> Result<()> {
        let conn = self.write()?;
        let n = conn
            .execute(
                "UPDATE jobs SET lease_until = ?3 WHERE id = ?1 AND state = 'running' AND lease_owner = ?2",
                params![&id.as_bytes()[..], worker, ts(until)],
            )
            .be()?;
        if n == 0 {
            return Err(lease_lost(id, worker));
        }
        Ok(())
    }

    fn finish_job(&self, id: JobId, worker: &str, now: Timestamp, outcome: &JobFinish) -> Result<Job> {
        let mut conn = self.write()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .be()?;
        let key = &id.as_bytes()[..];
        let held = "WHERE id = ?1 AND state = 'running' AND lease_owner = ?2";
        let n = match outcome {
            JobFinish::Done { result } => tx.execute(
                &format!("UPDATE jobs SET state = 'done', result = ?3, finished_at = ?4, lease_until = NULL {held}"),
                params![key, worker, result.to_string(), ts(now)],
            ),
            JobFinish::Retry { at, error } => tx.execute(
                &format!(
                    "UPDATE jobs SET state = 'scheduled', run_at = ?3, last_error = ?4, lease_until = NULL {held}"
                ),
                params![key, worker, ts(*at), error],
            ),
            JobFinish::Failed { error } => tx.execute(
                &format!(
                    "UPDATE jobs SET state = 'failed', last_error = ?3, finished_at = ?4, lease_until = NULL {held}"
                ),
                params![key, worker, error, ts(now)],
            ),
        }
        .be()?;
        let job = require(&tx, id)?;
        if n == 0 {
            return Err(lease_lost(id, worker));
        }
        tx.commit().be()?;
        Ok(job)
    }

    fn get_job(&self, id: JobId) -> Result<Option<Job>> {
        load(&*self.read()?, id)
    }

    fn list_jobs(&self, state: Option<JobState>, limit: u32, offset: u64) -> Result<Page<Job>> {
        let c = self.read()?;
        let filter = state.map(JobState::as_str);
        let total: i64 = c
            .query_row(
                "SELECT count(*) FROM jobs WHERE ?1 IS NULL OR state = ?1",
                [filter],
                |r| r.get(0),
            )
            .be()?;
        let offset_sql = i64::try_from(offset).unwrap_or(i64::MAX);
        let items = all(
            &c,
            &format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE ?1 IS NULL OR state = ?1
                 ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3"
            ),
            params![filter, limit, offset_sql],
            |r| rows::job(r),
        )?;
        Ok(Page {
            items,
            total: u64::try_from(total).unwrap_or(0),
            limit,
            offset,
            total_capped: false,
        })
    }

    fn cancel_job(&self, id: JobId, now: Timestamp) -> Result<Job> {
        let conn = self.write()?;
        let n = conn
            .execute(
                "UPDATE jobs SET state = 'cancelled', finished_at = ?2 WHERE id = ?1 AND state = 'scheduled'",
                params![&id.as_bytes()[..], ts(now)],
            )
            .be()?;
        let job = require(&conn, id)?;
        if n == 0 {
            return Err(not_cancellable(&job));
        }
        Ok(job)
    }
}
