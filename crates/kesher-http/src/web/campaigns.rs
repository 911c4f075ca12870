//! The campaigns' pages: the list with the form that creates a draft from its JSON definition,
//! and a campaign's page (its definition summarised, the outbox counted by state and reason,
//! the report against the control group with a chart, the launch and pause buttons, the preview
//! of one customer's message). The workflows are `kesher_app::App`'s (`create_campaign`,
//! `campaign`, `campaign_report`, `launch_campaign`, `pause_campaign`, `preview_campaign`), as
//! the CLI's `kesher campaigns`; the route table names each route's action (`campaigns.read`,
//! `campaigns.manage`), and a page shows a form only to a role that may use it.

use super::{Ctx, DoneParams, ctx, error_value, errored, form, render, web};
use crate::auth::Caller;
use crate::error::{AppError, Query};
use crate::segments::segment_error;
use crate::{AppState, blocking};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kesher_app::App;
use kesher_app::campaigns::{CampaignReport, CampaignView, Preview};
use kesher_auth::Action;
use kesher_campaign::definition::{CustomerDate, Kind};
use kesher_core::CampaignId;
use kesher_store::{MessageState, OutboxCounts};
use kesher_web::chart::{IntervalBar, interval_bars};
use minijinja::context;
use serde::Deserialize;

/// The campaign id of a path: a malformed one is a 404, as an unknown one.
fn campaign_id(id: &str) -> Result<CampaignId, AppError> {
    id.parse::<CampaignId>().map_err(|_| {
        AppError::not_found(format!("no campaign {}", id.chars().take(64).collect::<String>())).coded("not_found")
    })
}

/// The outbox's figures as the list and the page show them.
fn counts_view(counts: &OutboxCounts) -> minijinja::Value {
    let mut suppressed = 0u64;
    let mut control = 0u64;
    for (state, reason, n) in &counts.rows {
        if *state == MessageState::Suppressed {
            if reason.as_deref() == Some("control") {
                control += n;
            } else {
                suppressed += n;
            }
        }
    }
    let rows: Vec<minijinja::Value> = counts
        .rows
        .iter()
        .map(|(state, reason, n)| context! { state => state.as_str(), reason => reason, count => n })
        .collect();
    context! {
        sent => counts.of(MessageState::Sent),
        queued => counts.of(MessageState::Queued) + counts.of(MessageState::Sending),
        failed => counts.of(MessageState::Failed),
        suppressed => suppressed, control => control,
        total => counts.rows.iter().map(|(_, _, n)| n).sum::<u64>(),
        rows => rows,
    }
}

fn summary_view(view: &CampaignView) -> minijinja::Value {
    let c = &view.campaign;
    let d = c.definition();
    let kind = match c.kind() {
        Kind::Triggered { segment } => context! { type => "triggered", segment => segment },
        Kind::Scheduled { at } => context! { type => "scheduled", at => at.strftime("%Y-%m-%d %H:%M").to_string() },
        Kind::Recurring { date, days_before, at } => context! {
            type => "recurring",
            date => match date { CustomerDate::Birthday => "birthday", CustomerDate::MembershipAnniversary => "membership-anniversary" },
            days => days_before, at => at.strftime("%H:%M").to_string(),
        },
    };
    let variants: Vec<minijinja::Value> = c
        .variants()
        .iter()
        .map(|v| context! { key => &v.key, share => f64::from(v.share_bp) / 10_000.0 })
        .collect();
    context! {
        kind => kind,
        audience => c.audience(),
        channels => c.channels().iter().map(|ch| ch.as_str()).collect::<Vec<_>>(),
        languages => d.templates.keys().collect::<Vec<_>>(),
        default_language => &d.default_language,
        control_share => f64::from(c.control_bp()) / 10_000.0,
        attribution_days => c.attribution_days(),
        variants => variants,
    }
}

/// The currency the report's revenue is in (as `App::campaign_report` chooses it) and the
/// factor from its major units to minor ones, for the money filter.
fn report_currency(app: &App) -> Result<(String, f64), AppError> {
    Ok(match app.list_products(1, 0)?.items.first() {
        Some(p) => (
            p.list_price.currency.as_str().to_string(),
            10f64.powi(p.list_price.currency.exponent() as i32),
        ),
        None => ("ILS".to_string(), 100.0),
    })
}

fn number(v: &serde_json::Value, key: &str) -> Option<f64> {
    v.get(key).and_then(serde_json::Value::as_f64)
}

fn interval(v: &serde_json::Value, key: &str) -> Option<(f64, f64)> {
    let i = v.get(key)?.as_array()?;
    Some((i.first()?.as_f64()?, i.get(1)?.as_f64()?))
}

/// A lift (`response` or `revenue` of the report) for the page: the difference and its interval
/// (scaled by `scale`: 1 for rates, the currency's factor for money), the relative lift, the
/// p-value; or the reason it cannot be measured yet, as an error body the page translates.
fn lift_view(v: &serde_json::Value, scale: f64) -> minijinja::Value {
    if let Some(code) = v.get("error").and_then(|c| c.as_str()) {
        let reason = v.get("reason").and_then(|r| r.as_str()).unwrap_or_default();
        return context! { error => context! { code => code, params => context! {}, message => reason } };
    }
    let (low, high) = interval(v, "ci").unzip();
    context! {
        lift => number(v, "lift").map(|x| x * scale),
        low => low.map(|x| x * scale), high => high.map(|x| x * scale),
        relative => number(v, "relative"),
        p_value => number(v, "p_value"),
    }
}

/// The report's figures, its lifts and projection, and the two charts (recipients against the
/// control group, each recipients' bar with the interval the lift's gives it).
fn report_view(app: &App, c: &Ctx, r: &CampaignReport) -> Result<minijinja::Value, AppError> {
    let (currency, scale) = report_currency(app)?;
    let w = web()?;
    let lang = c.lang;
    let rate =
        |g: &kesher_app::campaigns::GroupFigures| (g.customers > 0).then(|| g.responders as f64 / g.customers as f64);
    let (treated_rate, control_rate) = (rate(&r.recipients), rate(&r.control_group));
    let pct = |x: f64| kesher_web::l10n::percent(lang, x, 1);
    let money = |major: f64| {
        let minor = (major * scale).round();
        if minor.is_finite() && minor.abs() < 9.0e15 {
            kesher_web::l10n::money(lang, minor as i64, &currency)
        } else {
            "—".into()
        }
    };
    let rtl = lang.dir() == "rtl";
    let (recipients_label, control_label) = (w.t(lang, "camp-recipients", &[]), w.t(lang, "camp-control", &[]));
    // The interval the lift's gives the recipients (the control group's figure plus the
    // difference's bounds), held to what the figure can be (a rate between 0 and 1).
    let whisker = |lift: &serde_json::Value, base: f64, bounds: (f64, f64), show: &dyn Fn(f64) -> String| {
        interval(lift, "ci").map(|(low, high)| {
            let (low, high) = (
                (base + low).clamp(bounds.0, bounds.1),
                (base + high).clamp(bounds.0, bounds.1),
            );
            (low, high, format!("{} … {}", show(low), show(high)))
        })
    };
    let response_chart = match (treated_rate, control_rate) {
        (Some(t), Some(k)) => Some(interval_bars(
            &w.t(lang, "camp-chart-response", &[]),
            &[
                IntervalBar {
                    label: recipients_label.clone(),
                    value: t,
                    shown: pct(t),
                    interval: whisker(&r.response, k, (0.0, 1.0), &pct),
                },
                IntervalBar {
                    label: control_label.clone(),
                    value: k,
                    shown: pct(k),
                    interval: None,
                },
            ],
            rtl,
        )),
        _ => None,
    };
    let revenue_chart = (r.recipients.customers > 0 && r.control_group.customers > 0).then(|| {
        let (t, k) = (r.recipients.revenue_per_customer, r.control_group.revenue_per_customer);
        interval_bars(
            &w.t(lang, "camp-chart-revenue", &[]),
            &[
                IntervalBar {
                    label: recipients_label.clone(),
                    value: t,
                    shown: money(t),
                    interval: whisker(&r.revenue, k, (f64::MIN, f64::MAX), &money),
                },
                IntervalBar {
                    label: control_label.clone(),
                    value: k,
                    shown: money(k),
                    interval: None,
                },
            ],
            rtl,
        )
    });
    let group = |g: &kesher_app::campaigns::GroupFigures, rate: Option<f64>| {
        context! {
            customers => g.customers, responders => g.responders, rate => rate,
            revenue_minor => g.revenue_per_customer * scale,
        }
    };
    let p = &r.projection;
    let projection = if p.get("error").is_some() {
        None
    } else {
        let (rl, rh) = interval(p, "responders_ci").unzip();
        let (vl, vh) = interval(p, "revenue_ci").unzip();
        Some(context! {
            population => p.get("population").and_then(serde_json::Value::as_u64),
            responders => number(p, "incremental_responders"), responders_low => rl, responders_high => rh,
            revenue_minor => number(p, "incremental_revenue").map(|x| x * scale),
            revenue_low => vl.map(|x| x * scale), revenue_high => vh.map(|x| x * scale),
        })
    };
    let suppressed: Vec<minijinja::Value> = r
        .suppressed
        .iter()
        .map(|(reason, n)| context! { reason => reason, count => n })
        .collect();
    Ok(context! {
        currency => currency, complete => r.complete, attribution_days => r.attribution_days,
        sent => r.sent, control => r.control, queued => r.queued, failed => r.failed, suppressed => suppressed,
        recipients => group(&r.recipients, treated_rate), control_group => group(&r.control_group, control_rate),
        response => lift_view(&r.response, 1.0), revenue => lift_view(&r.revenue, scale),
        projection => projection,
        response_chart => response_chart, revenue_chart => revenue_chart,
    })
}

/// The launch's figures carried over the redirect (numbers only: no text from the request
/// reaches the page).
#[derive(Deserialize, Default)]
pub struct CampaignParams {
    done: Option<String>,
    audience: Option<String>,
    queued: Option<String>,
    waiting: Option<String>,
    control: Option<String>,
    suppressed: Option<String>,
}

fn campaign_flash(c: &Ctx, p: &CampaignParams) -> Option<String> {
    let w = web().ok()?;
    let n = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
    match p.done.as_deref()? {
        "created" => Some(w.t(c.lang, "flash-campaign-created", &[])),
        "paused" => Some(w.t(c.lang, "flash-campaign-paused", &[])),
        "launched" => Some(w.t(
            c.lang,
            "flash-campaign-launched",
            &[
                ("audience", n(&p.audience).into()),
                ("queued", n(&p.queued).into()),
                ("waiting", n(&p.waiting).into()),
                ("control", n(&p.control).into()),
                ("suppressed", n(&p.suppressed).into()),
            ],
        )),
        _ => None,
    }
}

/// A refused definition's error for the page: an error at the definition's top level (not JSON,
/// not an object) names no key, and the page says "the top level" in the reader's language.
fn definition_error(c: &Ctx, e: &AppError) -> minijinja::Value {
    let mut params = serde_json::to_value(&e.params).unwrap_or_default();
    if e.code == "campaign.definition.invalid"
        && params.get("key").and_then(|k| k.as_str()) == Some("")
        && let Ok(w) = web()
    {
        params["key"] = serde_json::Value::String(w.t(c.lang, "camp-key-root", &[]));
    }
    context! { code => e.code, params => params, message => &e.message, field => &e.field }
}

/// The list page, with the create form's text and error when a definition was refused.
async fn list_page(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    definition: String,
    done: Option<String>,
    error: Option<AppError>,
) -> Result<Response, AppError> {
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    blocking(st, move |app| {
        caller.check(Action::CampaignsRead, None)?;
        let c = ctx(app, &caller, &headers);
        let mut campaigns = Vec::new();
        for row in app.list_campaigns().map_err(|e| segment_error(e, "campaign"))? {
            // A stored definition that no longer parses still lists, without its counts.
            let counts = app.campaign(row.id).ok().map(|v| counts_view(&v.counts));
            campaigns.push(context! {
                id => row.id.to_string(), name => &row.name, state => row.state.as_str(),
                created_at => row.created_at.to_string(), launched_at => row.launched_at.map(|t| t.to_string()),
                counts => counts,
            });
        }
        let flash = match done.as_deref() {
            Some("created") => Some(web()?.t(c.lang, "flash-campaign-created", &[])),
            _ => None,
        };
        let page = render(
            "campaigns.html",
            &c,
            "campaigns",
            context! {
                campaigns => campaigns, definition => definition, flash => flash,
                error => error.as_ref().map(|e| definition_error(&c, e)), path => "/campaigns",
            },
        )?;
        Ok(match &error {
            Some(e) => errored(status, page, e),
            None => page.into_response(),
        })
    })
    .await
}

/// `GET /campaigns`: every campaign, the newest first, with its outbox counted; the form that
/// creates a draft for who may manage campaigns.
pub async fn list(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Query(d): Query<DoneParams>,
) -> Result<Response, AppError> {
    list_page(st, caller, headers, String::new(), d.done, None).await
}

#[derive(Deserialize)]
struct CreateForm {
    definition: String,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /campaigns`: a draft from the definition pasted in the form; a refused definition is
/// shown again, with its text and the error naming the key.
pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: CreateForm = form(&body)?;
    let definition = f.definition;
    let created = {
        let (caller, definition) = (caller.clone(), definition.clone());
        blocking(st.clone(), move |app| {
            caller.check(Action::CampaignsManage, None)?;
            app.create_campaign(&definition, &caller.actor(app))
                .map_err(|e| segment_error(e, "definition"))
        })
        .await
    };
    match created {
        Ok(row) => Ok(Redirect::to(&format!("/campaigns/{}?done=created", row.id)).into_response()),
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => {
            list_page(st, caller, headers, definition, None, Some(e)).await
        }
        Err(e) => Err(e),
    }
}

/// The preview a page shows: the form's customer and variant, and the message or the error.
#[derive(Default)]
struct PreviewShown {
    who: String,
    variant: Option<usize>,
    preview: Option<Preview>,
}

fn preview_view(p: &Preview) -> minijinja::Value {
    context! {
        customer_id => p.customer_id.to_string(),
        channel => p.channel.as_ref().ok().map(|c| c.as_str()),
        suppressed => p.channel.as_ref().err().map(|s| s.as_str()),
        language => &p.language, subject => &p.subject, body => &p.body, sms => &p.sms,
        sms_segments => p.sms_segments,
    }
}

async fn campaign_page(
    st: AppState,
    caller: Caller,
    headers: HeaderMap,
    id: String,
    flash_params: CampaignParams,
    preview: PreviewShown,
    error: Option<AppError>,
) -> Result<Response, AppError> {
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    blocking(st, move |app| {
        caller.check(Action::CampaignsRead, None)?;
        let id = campaign_id(&id)?;
        let c = ctx(app, &caller, &headers);
        let view = app.campaign(id).map_err(|e| segment_error(e, "id"))?;
        let report = match view.row.launched_at {
            Some(_) => Some(
                app.campaign_report(id)
                    .map_err(|e| segment_error(e, "id"))
                    .and_then(|r| report_view(app, &c, &r))?,
            ),
            None => None,
        };
        let variants: Vec<minijinja::Value> = view
            .campaign
            .variants()
            .iter()
            .enumerate()
            .map(|(i, v)| context! { index => i, key => &v.key, selected => preview.variant == Some(i) })
            .collect();
        let row = &view.row;
        let page = render(
            "campaign.html",
            &c,
            "campaigns",
            context! {
                campaign => context! {
                    id => row.id.to_string(), name => &row.name, state => row.state.as_str(),
                    created_by => row.created_by.strip_prefix("user:").unwrap_or(&row.created_by),
                    created_at => row.created_at.to_string(), launched_at => row.launched_at.map(|t| t.to_string()),
                    definition => &row.definition,
                },
                summary => summary_view(&view), counts => counts_view(&view.counts), report => report,
                variants => variants, who => &preview.who, preview => preview.preview.as_ref().map(preview_view),
                flash => campaign_flash(&c, &flash_params), error => error.as_ref().map(error_value),
                path => format!("/campaigns/{}", row.id),
            },
        )?;
        Ok(match &error {
            Some(e) => errored(status, page, e),
            None => page.into_response(),
        })
    })
    .await
}

/// `GET /campaigns/{id}`: the campaign's page.
pub async fn show(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<CampaignParams>,
) -> Result<Response, AppError> {
    campaign_page(st, caller, headers, id, p, PreviewShown::default(), None).await
}

#[derive(Deserialize)]
struct ActionForm {
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// A refusal a page can show (a campaign in the wrong state, an audience gone): the page with
/// it; anything else (forbidden, unknown campaign, a failure) as the error page.
fn shown_on_page(e: &AppError) -> bool {
    e.status.is_client_error() && e.status != StatusCode::NOT_FOUND && e.status != StatusCode::FORBIDDEN
}

/// `POST /campaigns/{id}/launch`: launch (or resume) the campaign, then back to its page with
/// what the launch wrote.
pub async fn launch(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let _: ActionForm = form(&body)?;
    let launched = {
        let (caller, id) = (caller.clone(), id.clone());
        blocking(st.clone(), move |app| {
            caller.check(Action::CampaignsManage, None)?;
            let id = campaign_id(&id)?;
            app.launch_campaign(id, &caller.actor(app))
                .map_err(|e| segment_error(e, "id"))
        })
        .await
    };
    match launched {
        Ok(r) => Ok(Redirect::to(&format!(
            "/campaigns/{id}?done=launched&audience={}&queued={}&waiting={}&control={}&suppressed={}",
            r.audience,
            r.queued,
            r.waiting,
            r.control,
            r.suppressed.values().sum::<u64>()
        ))
        .into_response()),
        Err(e) if shown_on_page(&e) => {
            campaign_page(
                st,
                caller,
                headers,
                id,
                CampaignParams::default(),
                PreviewShown::default(),
                Some(e),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// `POST /campaigns/{id}/pause`: its queued messages wait until it is launched again.
pub async fn pause(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let _: ActionForm = form(&body)?;
    let paused = {
        let (caller, id) = (caller.clone(), id.clone());
        blocking(st.clone(), move |app| {
            caller.check(Action::CampaignsManage, None)?;
            let id = campaign_id(&id)?;
            app.pause_campaign(id, &caller.actor(app))
                .map_err(|e| segment_error(e, "id"))
        })
        .await
    };
    match paused {
        Ok(_) => Ok(Redirect::to(&format!("/campaigns/{id}?done=paused")).into_response()),
        Err(e) if shown_on_page(&e) => {
            campaign_page(
                st,
                caller,
                headers,
                id,
                CampaignParams::default(),
                PreviewShown::default(),
                Some(e),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct PreviewForm {
    who: String,
    variant: Option<String>,
    #[allow(dead_code)]
    csrf: Option<String>,
}

/// `POST /campaigns/{id}/preview`: the message the customer found by an identifier would get
/// (a POST: the identifier stays out of the address and the logs).
pub async fn preview(
    State(st): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AppError> {
    let f: PreviewForm = form(&body)?;
    let who = f.who.trim().chars().take(200).collect::<String>();
    let variant = match f.variant.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => Some(v.parse::<usize>().map_err(|_| {
            AppError::invalid("variant", format!("invalid variant {v:?}: expected a number from 0"))
                .coded("form.invalid")
                .param("detail", "variant")
        })?),
    };
    let shown = {
        let (caller, id, who) = (caller.clone(), id.clone(), who.clone());
        blocking(st.clone(), move |app| {
            caller.check(Action::CampaignsManage, None)?;
            let id = campaign_id(&id)?;
            let customer = app
                .resolve_customer(&who, caller.principal.branch)?
                .ok_or_else(|| AppError::not_found("no such customer").coded("customer.not_found"))?;
            app.preview_campaign(id, customer, variant)
                .map_err(|e| segment_error(e, "who"))
        })
        .await
    };
    let (preview, error) = match shown {
        Ok(p) => (Some(p), None),
        // An unknown customer is said beside the form, not as a missing page.
        Err(e) if e.status.is_client_error() && e.status != StatusCode::FORBIDDEN => (None, Some(e)),
        Err(e) => return Err(e),
    };
    campaign_page(
        st,
        caller,
        headers,
        id,
        CampaignParams::default(),
        PreviewShown { who, variant, preview },
        error,
    )
    .await
}
