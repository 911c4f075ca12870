//! The analytics page: the last refresh (when, as of, the model, customers scored, how long), the
//! model's fit and its calibration-vs-holdout check, the RFM grid, value tiers and basket rules —
//! every figure read from the one row the refresh stored (`App::analytics_report`), never
//! recomputed per request. "Refresh now" enqueues the `analyze` job and runs it at once on a
//! blocking thread (the server's worker may take it first: one claim wins); while it runs the page
//! shows its step, which `app.js` polls from `GET /analytics/progress` and, without JavaScript,
//! a `<meta http-equiv="refresh">` reloads.

use super::{DoneParams, ctx, flash, render, web};
use crate::auth::Caller;
use crate::error::{AppError, Query};
use crate::{AppState, blocking};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Redirect, Response};
use kesher_app::App;
use kesher_app::jobs::Worker;
use kesher_app::jobs::kinds::ANALYZE;
use kesher_store::JobState;
use kesher_web::Lang;
use minijinja::context;
use serde::Serialize;

/// A refresh in progress, as the page and `GET /analytics/progress` show it.
#[derive(Serialize)]
struct Running {
    job: String,
    /// `scheduled` (waiting for a worker) or `running`.
    state: &'static str,
    /// The step it is at (one of `kesher_app::analyze::report::STEPS`), once it has begun.
    step: Option<String>,
    step_no: u32,
    steps: u32,
}

/// The analyze job running or due now, with the step it recorded.
fn running(app: &App) -> Result<Option<Running>, AppError> {
    let Some(job) = app.active_job(ANALYZE)? else {
        return Ok(None);
    };
    let id = job.id.to_string();
    let started = job.state == JobState::Running;
    let progress = if started {
        app.analyze_progress()?
            .filter(|p| p.job.as_deref() == Some(id.as_str()))
    } else {
        None
    };
    Ok(Some(Running {
        job: id,
        state: if started { "running" } else { "scheduled" },
        step_no: progress.as_ref().map_or(0, |p| p.step_no),
        steps: progress
            .as_ref()
            .map_or(kesher_app::analyze::report::STEPS.len() as u32, |p| p.steps),
        step: progress.map(|p| p.step),
    }))
}

/// The sentence the page shows for a refresh in progress.
fn running_text(lang: Lang, r: &Running) -> Result<String, AppError> {
    let w = web()?;
    Ok(match &r.step {
        Some(step) => {
            let step = w.t(lang, &format!("step-{}", kesher_web::slug(step)), &[]);
            w.t(
                lang,
                "an-running",
                &[
                    ("step", step.into()),
                    ("n", f64::from(r.step_no).into()),
                    ("count", f64::from(r.steps).into()),
                ],
            )
        }
        None => w.t(lang, "an-queued", &[]),
    })
}

/// `GET /analytics`: the figures the latest refresh stored, or the empty state before the first.
pub async fn page(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(d): Query<DoneParams>,
) -> Result<Html<String>, AppError> {
    blocking(st, move |app| {
        let c = ctx(app, &caller, &headers);
        let report = app.analytics_report()?;
        let running = running(app)?;
        let zone = app.business_time_zone().unwrap_or(jiff::tz::TimeZone::UTC);
        let view = match &report {
            Some(r) => Some(kesher_web::analytics::view(web()?.messages(), c.lang, &zone, r)),
            None => None,
        };
        render(
            "analytics.html",
            &c,
            "analytics",
            context! {
                report => report,
                view => view,
                running => running,
                flash => flash(&c, d.done.as_deref()),
                path => "/analytics",
            },
        )
    })
    .await
}

/// What `GET /analytics/progress` answers: whether a refresh is in progress, its step, and the
/// sentence the page shows, in the reader's language.
#[derive(Serialize)]
pub struct ProgressDto {
    running: bool,
    #[serde(flatten)]
    refresh: Option<Running>,
    text: Option<String>,
    /// When the latest stored report was written (changes when a refresh ends).
    ran_at: Option<String>,
}

/// `GET /analytics/progress`: the refresh in progress, for the page's script to poll.
pub async fn progress(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<axum::Json<ProgressDto>, AppError> {
    blocking(st, move |app| {
        let lang = ctx(app, &caller, &headers).lang;
        let refresh = running(app)?;
        let text = refresh.as_ref().map(|r| running_text(lang, r)).transpose()?;
        let ran_at = app
            .setting(kesher_app::analyze::report::KEY)?
            .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
            .and_then(|v| v["ran_at"].as_str().map(str::to_string));
        Ok(axum::Json(ProgressDto {
            running: refresh.is_some(),
            refresh,
            text,
            ran_at,
        }))
    })
    .await
}

/// `POST /analytics/refresh`: enqueue the `analyze` job (unless one is already running or due)
/// and run it now on a blocking thread; a browser goes back to the page, which shows its
/// progress, and a client that does not ask for HTML (a script with a token) gets `202` with
/// the job's id (null when a refresh was already in progress).
pub async fn refresh(State(st): State<AppState>, caller: Caller, headers: HeaderMap) -> Result<Response, AppError> {
    let _ = caller;
    let wants_html = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let runner = st.clone();
    let job = blocking(st, move |app| {
        if app.active_job(ANALYZE)?.is_some() {
            return Ok(None);
        }
        Ok(Some(app.enqueue_job(ANALYZE, serde_json::json!({}), None)?))
    })
    .await?;
    let id = job.as_ref().map(|j| j.id.to_string());
    if let Some(job) = job {
        // The outcome is the job's own record (`/api/jobs`); the page reads the stored report.
        tokio::task::spawn_blocking(move || {
            let worker = Worker::for_this_process(runner.settings.job_lease);
            let _ = runner.run_job_by_id(job.id, &worker);
        });
    }
    if !wants_html {
        return Ok((
            axum::http::StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({ "job": id, "progress": "/analytics/progress" })),
        )
            .into_response());
    }
    Ok(Redirect::to("/analytics?done=refreshing").into_response())
}
