//! Background jobs over HTTP: the schedules and the queue (`GET /api/jobs`), and for admins
//! enqueueing a known kind now and cancelling a scheduled job.

use crate::auth::Caller;
use crate::dto::{PageDto, parse_id};
use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kesher_app::jobs::schedules::ScheduleStatus;
use kesher_core::JobId;
use kesher_store::{Job, JobState};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Serialize, ToSchema)]
pub struct JobDto {
    pub id: String,
    /// analyze, privacy.retention or diagnostic.sleep.
    pub kind: String,
    #[schema(value_type = Object)]
    pub args: serde_json::Value,
    /// Not run before this instant (RFC 3339).
    pub run_at: String,
    /// scheduled, running, done, failed or cancelled.
    pub state: String,
    /// Attempts so far (an attempt whose worker stopped counts).
    pub attempts: u32,
    pub max_attempts: u32,
    pub last_error: Option<String>,
    /// The worker holding the job (running), or the last that did.
    pub lease_owner: Option<String>,
    pub lease_until: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// A schedule's occurrence: `schedule:<name>:<instant>`.
    pub dedupe_key: Option<String>,
}

impl From<&Job> for JobDto {
    fn from(j: &Job) -> Self {
        let at = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string());
        JobDto {
            id: j.id.to_string(),
            kind: j.kind.clone(),
            args: j.args.clone(),
            run_at: j.run_at.to_string(),
            state: j.state.to_string(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error.clone(),
            lease_owner: j.lease_owner.clone(),
            lease_until: at(j.lease_until),
            created_at: j.created_at.to_string(),
            started_at: at(j.started_at),
            finished_at: at(j.finished_at),
            result: j.result.clone(),
            dedupe_key: j.dedupe_key.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ScheduleDto {
    pub name: String,
    pub kind: String,
    /// Five-field cron (minute hour day-of-month month day-of-week).
    pub cron: String,
    /// The IANA zone the cron is read in.
    pub zone: String,
    pub next_run: Option<String>,
}

impl From<&ScheduleStatus> for ScheduleDto {
    fn from(s: &ScheduleStatus) -> Self {
        ScheduleDto {
            name: s.name.to_string(),
            kind: s.kind.to_string(),
            cron: s.cron.to_string(),
            zone: s.zone.clone(),
            next_run: s.next_run.map(|t| t.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct JobsDto {
    pub schedules: Vec<ScheduleDto>,
    /// Newest first.
    pub jobs: PageDto<JobDto>,
}

#[derive(Deserialize, IntoParams)]
pub struct JobsParams {
    /// scheduled, running, done, failed or cancelled.
    pub state: Option<String>,
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

#[utoipa::path(get, path = "/api/jobs", tag = "system", params(JobsParams),
    responses((status = 200, description = "The schedules and the jobs, newest first", body = JobsDto)))]
pub async fn list(State(st): State<AppState>, Query(p): Query<JobsParams>) -> Result<Json<JobsDto>, AppError> {
    let state = match p.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            AppError::invalid("state", "one of scheduled, running, done, failed, cancelled").coded("job.state.unknown")
        })?),
    };
    blocking(st, move |app| {
        let limit = p.limit.unwrap_or(100).clamp(1, 1000);
        Ok(Json(JobsDto {
            schedules: app.schedules()?.iter().map(ScheduleDto::from).collect(),
            jobs: PageDto::from_page(app.list_jobs(state, limit, p.offset.unwrap_or(0))?),
        }))
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnqueueInput {
    /// analyze, privacy.retention or diagnostic.sleep.
    pub kind: String,
    /// The kind's arguments (diagnostic.sleep: {"seconds": n}); default none.
    #[schema(value_type = Option<Object>)]
    pub args: Option<serde_json::Value>,
}

#[utoipa::path(post, path = "/api/jobs", tag = "system", request_body = EnqueueInput,
    responses((status = 201, description = "Enqueued to run now; a server's worker picks it up", body = JobDto),
              (status = 422, description = "Unknown kind or wrong arguments", body = crate::error::ErrorBody)))]
pub async fn enqueue(
    State(st): State<AppState>,
    c: Caller,
    Json(i): Json<EnqueueInput>,
) -> Result<(StatusCode, Json<JobDto>), AppError> {
    blocking(st, move |app| {
        let args = i.args.unwrap_or_else(|| serde_json::json!({}));
        let job = app.enqueue_job(&i.kind, args, None)?;
        let after = serde_json::json!({ "kind": job.kind, "args": job.args });
        app.append_audit(&c.actor(app), "jobs.enqueue", "job", &job.id.to_string(), Some(&after))?;
        Ok((StatusCode::CREATED, Json(JobDto::from(&job))))
    })
    .await
}

#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "system",
    params(("id" = String, Path, description = "The job's id")),
    responses((status = 200, description = "Cancelled", body = JobDto),
              (status = 404, description = "No such job", body = crate::error::ErrorBody),
              (status = 409, description = "Not scheduled: running, or already ended", body = crate::error::ErrorBody)))]
pub async fn cancel(State(st): State<AppState>, c: Caller, Path(id): Path<String>) -> Result<Json<JobDto>, AppError> {
    blocking(st, move |app| {
        let id: JobId = parse_id(&id, "id")?;
        let job = app.cancel_job(id)?;
        app.append_audit(&c.actor(app), "jobs.cancel", "job", &id.to_string(), None)?;
        Ok(Json(JobDto::from(&job)))
    })
    .await
}
