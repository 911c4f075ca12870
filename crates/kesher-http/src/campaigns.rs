//! Campaigns over HTTP (docs/campaigns.md): create from a JSON definition, list, show with the
//! outbox's counts, preview one customer's message, launch, pause, deliver the due messages now,
//! the measured report and the sample-size plan; and the public one-click unsubscribe link
//! (`/u/{token}`, RFC 8058) that every e-mail carries, which works without signing in, and the
//! tracked links' redirect (`/c/{token}`).

use crate::auth::Caller;
use crate::dto::parse_id;
use crate::error::{AppError, Json, Query};
use crate::segments::segment_error;
use crate::{AppState, blocking};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use kesher_app::campaigns::{CampaignReport, CampaignView, DeliveryReport, LaunchReport, Preview};
use kesher_auth::Action;
use kesher_core::{CampaignId, CustomerId};
use kesher_store::CampaignRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// A campaign's row.
#[derive(Serialize, ToSchema)]
pub struct CampaignDto {
    pub id: String,
    pub name: String,
    /// draft, launched, paused or done.
    pub state: String,
    /// The seed of the control group's and the variants' draws (a decimal string: it is a u64).
    pub seed: String,
    pub created_by: String,
    pub created_at: String,
    pub launched_at: Option<String>,
}

impl From<&CampaignRow> for CampaignDto {
    fn from(r: &CampaignRow) -> Self {
        CampaignDto {
            id: r.id.to_string(),
            name: r.name.clone(),
            state: r.state.as_str().to_string(),
            seed: r.seed.to_string(),
            created_by: r.created_by.clone(),
            created_at: r.created_at.to_string(),
            launched_at: r.launched_at.map(|t| t.to_string()),
        }
    }
}

/// How many of a campaign's outbox messages are in one state (and, suppressed, for one reason).
#[derive(Serialize, ToSchema)]
pub struct OutboxCountDto {
    /// queued, sending, sent, failed or suppressed.
    pub state: String,
    /// Why a message was suppressed: control, no_consent, no_address, unsubscribed,
    /// frequency_cap, too_long, …
    pub reason: Option<String>,
    pub count: u64,
}

/// A campaign, its definition as given, and its outbox.
#[derive(Serialize, ToSchema)]
pub struct CampaignDetailDto {
    pub campaign: CampaignDto,
    /// The JSON definition exactly as it was created (docs/campaigns.md).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
    pub outbox: Vec<OutboxCountDto>,
}

impl From<&CampaignView> for CampaignDetailDto {
    fn from(v: &CampaignView) -> Self {
        CampaignDetailDto {
            campaign: CampaignDto::from(&v.row),
            definition: serde_json::from_str(&v.row.definition).unwrap_or(serde_json::Value::Null),
            outbox: v
                .counts
                .rows
                .iter()
                .map(|(state, reason, count)| OutboxCountDto {
                    state: state.as_str().to_string(),
                    reason: reason.clone(),
                    count: *count,
                })
                .collect(),
        }
    }
}

/// One customer's message as it would be sent, or why it would not be.
#[derive(Serialize, ToSchema)]
pub struct PreviewDto {
    pub customer_id: String,
    /// email, sms or log; null when the message would be suppressed.
    pub channel: Option<String>,
    /// Why no channel is open to this customer (no_consent, no_address, unsubscribed, …).
    pub suppressed: Option<String>,
    pub language: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub sms: Option<String>,
    /// The SMS's length in segments.
    pub sms_segments: Option<usize>,
}

impl From<Preview> for PreviewDto {
    fn from(p: Preview) -> Self {
        PreviewDto {
            customer_id: p.customer_id.to_string(),
            channel: p.channel.ok().map(|c| c.as_str().to_string()),
            suppressed: p.channel.err().map(|s| s.as_str().to_string()),
            language: p.language,
            subject: p.subject,
            body: p.body,
            sms: p.sms,
            sms_segments: p.sms_segments,
        }
    }
}

/// What a launch wrote to the outbox.
#[derive(Serialize, ToSchema)]
pub struct LaunchDto {
    /// Customers in the audience.
    pub audience: u64,
    /// Rows this call wrote (launching again after an interruption writes only the missing ones).
    pub written: u64,
    pub queued: u64,
    /// Recipients beyond the variants' shares, waiting for the winner.
    pub waiting: u64,
    pub control: u64,
    /// Suppressed messages by reason.
    pub suppressed: BTreeMap<String, u64>,
}

impl From<LaunchReport> for LaunchDto {
    fn from(r: LaunchReport) -> Self {
        LaunchDto {
            audience: r.audience,
            written: r.written,
            queued: r.queued,
            waiting: r.waiting,
            control: r.control,
            suppressed: r.suppressed,
        }
    }
}

/// One group's figures in a report.
#[derive(Serialize, ToSchema)]
pub struct GroupDto {
    pub customers: u64,
    pub responders: u64,
    /// Major units of the currency.
    pub revenue_per_customer: f64,
}

/// The campaign's measured effect against its control group.
#[derive(Serialize, ToSchema)]
pub struct ReportDto {
    pub campaign_id: String,
    pub sent: u64,
    /// Suppressed messages (the control group's excepted) by reason.
    pub suppressed: BTreeMap<String, u64>,
    pub control: u64,
    pub queued: u64,
    pub failed: u64,
    /// Sent messages claimed again after a sender stopped between handing them over and
    /// recording it: each may have arrived twice, with the same `Message-ID`.
    pub possible_duplicates: u64,
    pub attribution_days: u32,
    /// Whether the attribution window has ended for every sent message.
    pub complete: bool,
    pub recipients: GroupDto,
    pub control_group: GroupDto,
    /// Response rates, their difference with its 95 % interval, the relative lift, z and the
    /// p-value of the two-proportion test; or `{error, reason}` while it cannot be measured.
    #[schema(value_type = Object)]
    pub response: serde_json::Value,
    /// Revenue per customer, the difference with its 95 % interval, Welch's t, df and p-value.
    #[schema(value_type = Object)]
    pub revenue: serde_json::Value,
    /// The incremental responders and revenue if every customer of the outbox got the message.
    #[schema(value_type = Object)]
    pub projection: serde_json::Value,
    /// Clicks through the tracked links: `unique_clickers` (sent messages with a link followed),
    /// `clicks` (every one), `click_rate`, and the same per arm in `arms`.
    #[schema(value_type = Object)]
    pub clicks: serde_json::Value,
    /// A recurring campaign's figures per occurrence (the anniversary's year): `occurrence`,
    /// `sent`, `control`, `recipients_responders`, `control_responders`. Absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub occurrences: Vec<serde_json::Value>,
}

impl From<CampaignReport> for ReportDto {
    fn from(r: CampaignReport) -> Self {
        let group = |g: &kesher_app::campaigns::GroupFigures| GroupDto {
            customers: g.customers,
            responders: g.responders,
            revenue_per_customer: g.revenue_per_customer,
        };
        ReportDto {
            recipients: group(&r.recipients),
            control_group: group(&r.control_group),
            campaign_id: r.campaign_id,
            sent: r.sent,
            suppressed: r.suppressed,
            control: r.control,
            queued: r.queued,
            failed: r.failed,
            possible_duplicates: r.possible_duplicates,
            attribution_days: r.attribution_days,
            complete: r.complete,
            response: r.response,
            revenue: r.revenue,
            projection: r.projection,
            clicks: serde_json::to_value(&r.clicks).unwrap_or_default(),
            occurrences: r
                .occurrences
                .iter()
                .map(|o| serde_json::to_value(o).unwrap_or_default())
                .collect(),
        }
    }
}

fn campaign_id(id: &str) -> Result<CampaignId, AppError> {
    parse_id(id, "id")
}

#[utoipa::path(get, path = "/api/campaigns", tag = "campaigns",
    responses((status = 200, description = "Every campaign, the newest first", body = Vec<CampaignDto>)))]
pub async fn list(State(st): State<AppState>, caller: Caller) -> Result<Json<Vec<CampaignDto>>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsRead, None)?;
        let rows = app.list_campaigns().map_err(|e| segment_error(e, "id"))?;
        Ok(Json(rows.iter().map(CampaignDto::from).collect()))
    })
    .await
}

#[utoipa::path(post, path = "/api/campaigns", tag = "campaigns",
    request_body(content = Object, description = "The campaign's definition (docs/campaigns.md)"),
    responses((status = 201, description = "The campaign, a draft", body = CampaignDetailDto),
              (status = 422, description = "The definition is invalid: `params.key` names the key, or the audience's expression is wrong", body = crate::error::ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    Json(body): Json<serde_json::Value>,
) -> Result<(StatusCode, Json<CampaignDetailDto>), AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsManage, None)?;
        let row = app
            .create_campaign(&body.to_string(), &caller.actor(app))
            .map_err(|e| segment_error(e, "audience"))?;
        let view = app.campaign(row.id).map_err(|e| segment_error(e, "id"))?;
        Ok((StatusCode::CREATED, Json(CampaignDetailDto::from(&view))))
    })
    .await
}

#[utoipa::path(get, path = "/api/campaigns/{id}", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign's id")),
    responses((status = 200, description = "The campaign, its definition and its outbox's counts", body = CampaignDetailDto),
              (status = 404, description = "No such campaign", body = crate::error::ErrorBody)))]
pub async fn get(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignDetailDto>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsRead, None)?;
        let view = app.campaign(campaign_id(&id)?).map_err(|e| segment_error(e, "id"))?;
        Ok(Json(CampaignDetailDto::from(&view)))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PreviewParams {
    /// The customer's id.
    pub customer_id: String,
    /// A variant's texts (0 for the first); the campaign's own texts when absent.
    pub variant: Option<usize>,
}

#[utoipa::path(get, path = "/api/campaigns/{id}/preview", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign's id"), PreviewParams),
    responses((status = 200, description = "The customer's message, or why none would be sent", body = PreviewDto),
              (status = 404, description = "No such campaign or customer", body = crate::error::ErrorBody),
              (status = 422, description = "A template names what this customer's data lacks (`campaign.template.*`)", body = crate::error::ErrorBody)))]
pub async fn preview(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<PreviewParams>,
) -> Result<Json<PreviewDto>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsManage, None)?;
        let id = campaign_id(&id)?;
        let customer: CustomerId = parse_id(&p.customer_id, "customer_id")?;
        let preview = app
            .preview_campaign(id, customer, p.variant)
            .map_err(|e| segment_error(e, "customer_id"))?;
        Ok(Json(PreviewDto::from(preview)))
    })
    .await
}

#[utoipa::path(post, path = "/api/campaigns/{id}/launch", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign's id")),
    responses((status = 200, description = "What the launch wrote: the control group drawn, every message in the outbox. Launching again resumes an interrupted or paused launch and writes only what is missing", body = LaunchDto),
              (status = 409, description = "The campaign is done (`campaign.state`)", body = crate::error::ErrorBody),
              (status = 422, description = "A template names what some recipient's data lacks; nothing was written", body = crate::error::ErrorBody)))]
pub async fn launch(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<LaunchDto>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsManage, None)?;
        let r = app
            .launch_campaign(campaign_id(&id)?, &caller.actor(app))
            .map_err(|e| segment_error(e, "id"))?;
        Ok(Json(LaunchDto::from(r)))
    })
    .await
}

#[utoipa::path(post, path = "/api/campaigns/{id}/pause", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign's id")),
    responses((status = 200, description = "The campaign, paused: its queued messages wait", body = CampaignDto),
              (status = 409, description = "The campaign is not launched (`campaign.state`)", body = crate::error::ErrorBody)))]
pub async fn pause(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignDto>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsManage, None)?;
        let row = app
            .pause_campaign(campaign_id(&id)?, &caller.actor(app))
            .map_err(|e| segment_error(e, "id"))?;
        Ok(Json(CampaignDto::from(&row)))
    })
    .await
}

#[utoipa::path(get, path = "/api/campaigns/{id}/report", tag = "campaigns",
    params(("id" = String, Path, description = "The campaign's id")),
    responses((status = 200, description = "Recipients against the control group: response and revenue lift with 95 % intervals and p-values, and the projection", body = ReportDto),
              (status = 409, description = "The campaign was never launched (`campaign.state`)", body = crate::error::ErrorBody)))]
pub async fn report(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReportDto>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsRead, None)?;
        let r = app
            .campaign_report(campaign_id(&id)?)
            .map_err(|e| segment_error(e, "id"))?;
        Ok(Json(ReportDto::from(r)))
    })
    .await
}

/// Most messages one `POST /api/campaigns/deliver` hands over.
const DELIVER_MAX: usize = 10_000;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliverParams {
    /// At most this many due messages (1 to 10,000; 1,000 when absent).
    pub limit: Option<usize>,
}

/// What one delivery round did.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDto {
    pub claimed: u64,
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
    /// Suppressed at sending (the consent was withdrawn after the launch).
    pub suppressed: u64,
}

impl From<DeliveryReport> for DeliveryDto {
    fn from(r: DeliveryReport) -> Self {
        DeliveryDto {
            claimed: r.claimed,
            sent: r.sent,
            retried: r.retried,
            failed: r.failed,
            suppressed: r.suppressed,
        }
    }
}

#[utoipa::path(post, path = "/api/campaigns/deliver", tag = "campaigns", params(DeliverParams),
    responses((status = 200, description = "The due messages of launched campaigns handed to their channels now (what the server's delivery does continuously)", body = DeliveryDto),
              (status = 422, description = "The limit is out of range", body = crate::error::ErrorBody)))]
pub async fn deliver(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<DeliverParams>,
) -> Result<Json<DeliveryDto>, AppError> {
    let limit = p.limit.unwrap_or(1_000);
    if limit == 0 || limit > DELIVER_MAX {
        return Err(AppError::invalid("limit", format!("limit must be 1 to {DELIVER_MAX}"))
            .coded("query.limit.out_of_range")
            .param("max", DELIVER_MAX));
    }
    blocking(st, move |app| {
        caller.check(Action::CampaignsManage, None)?;
        let senders = app.campaign_senders().map_err(|e| segment_error(e, "limit"))?;
        let r = app
            .deliver_campaign_messages(&senders, limit)
            .map_err(|e| segment_error(e, "limit"))?;
        Ok(Json(DeliveryDto::from(r)))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PlanParams {
    /// The response rate without the campaign (0 < baseline < 1), e.g. 0.05.
    pub baseline: f64,
    /// The relative lift to detect, e.g. 0.2 for +20 %.
    pub lift: f64,
}

/// How many customers each group needs.
#[derive(Serialize, ToSchema)]
pub struct PlanDto {
    pub per_group: u64,
    pub alpha: f64,
    pub power: f64,
}

#[utoipa::path(get, path = "/api/campaigns/plan", tag = "campaigns", params(PlanParams),
    responses((status = 200, description = "Customers per group to detect the lift of the response rate (two-sided α 0.05, power 0.8)", body = PlanDto),
              (status = 422, description = "A rate out of range", body = crate::error::ErrorBody)))]
pub async fn plan(caller: Caller, Query(p): Query<PlanParams>) -> Result<Json<PlanDto>, AppError> {
    caller.check(Action::CampaignsRead, None)?;
    let (alpha, power) = (0.05, 0.8);
    let n = kesher_campaign::stats::sample_size(p.baseline, p.lift, alpha, power)?;
    Ok(Json(PlanDto {
        per_group: n,
        alpha,
        power,
    }))
}

/// The language of the unsubscribe page: the customer's own when the token is valid, then the
/// browser's.
fn unsubscribe_lang(app: &kesher_app::App, token: &str, headers: &HeaderMap) -> kesher_web::Lang {
    let customer = app
        .unsubscribe_secret()
        .ok()
        .and_then(|s| kesher_app::campaigns::email::read_unsubscribe_token(&s, token))
        .and_then(|(c, _)| app.get_customer(c).ok().flatten());
    match customer
        .and_then(|c| c.language)
        .as_deref()
        .and_then(kesher_web::Lang::from_tag)
    {
        Some(own) => own,
        None => crate::web::lang_for(app, None, headers),
    }
}

fn unsubscribe_page(
    lang: kesher_web::Lang,
    token: &str,
    state: &str,
    channel: Option<&str>,
) -> Result<Html<String>, AppError> {
    crate::web::web()?
        .render(
            "unsubscribe.html",
            lang,
            minijinja::context! { token => token, state => state, channel => channel, path => "" },
        )
        .map(Html)
        .map_err(|e| AppError::internal(e.to_string()))
}

/// The page of a link that is not valid: 404, and the coded error for a client that wants JSON.
fn invalid_link(lang: kesher_web::Lang) -> Result<Response, AppError> {
    let e = AppError::not_found("this unsubscribe link is not valid").coded("campaign.unsubscribe.invalid");
    Ok(crate::web::errored(
        StatusCode::NOT_FOUND,
        unsubscribe_page(lang, "", "invalid", None)?,
        &e,
    ))
}

/// `GET /u/{token}`: the page of an unsubscribe link. A GET changes nothing (mail scanners
/// follow links); it shows what the link does and a button that posts to the same address.
pub async fn unsubscribe_form(
    State(st): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    blocking(st, move |app| {
        let lang = unsubscribe_lang(app, &token, &headers);
        let valid = app.unsubscribe_secret().map_err(|e| segment_error(e, "token"))?;
        let found = kesher_app::campaigns::email::read_unsubscribe_token(&valid, &token);
        let Some((_, channel)) = found else {
            return invalid_link(lang);
        };
        Ok(unsubscribe_page(lang, &token, "ask", Some(channel.as_str()))?.into_response())
    })
    .await
}

/// `POST /u/{token}`: unsubscribe, at once, from the link's channel. The mail client's one-click
/// request (RFC 8058: `List-Unsubscribe=One-Click`) and the page's button both land here; the
/// token is the only credential, so no session or CSRF token is asked for. Idempotent.
pub async fn unsubscribe(
    State(st): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    _body: Bytes,
) -> Result<Response, AppError> {
    let origin = crate::auth::client_addr(&ext);
    blocking(st, move |app| {
        let lang = unsubscribe_lang(app, &token, &headers);
        match app.unsubscribe(&token, &origin) {
            Ok(channel) => Ok(unsubscribe_page(lang, "", "done", Some(channel.as_str()))?.into_response()),
            Err(e) if e.code() == "campaign.unsubscribe.invalid" => invalid_link(lang),
            Err(e) => Err(segment_error(e, "token")),
        }
    })
    .await
}

/// A reply to an SMS, as the provider passes it on (`from`/`text`; `From`/`Body` and
/// `message` are read too, the names some providers use).
#[derive(Deserialize, ToSchema)]
pub struct SmsReplyDto {
    /// The number the reply came from, in any notation (E.164 from most providers).
    #[serde(alias = "From", alias = "msisdn", alias = "sender")]
    pub from: String,
    /// What the customer wrote.
    #[serde(alias = "Body", alias = "body", alias = "message")]
    pub text: String,
}

#[derive(Deserialize, IntoParams)]
pub struct SmsReplyParams {
    /// The replies' key (`kesher campaigns sms-replies` prints the address with it), unless sent
    /// in the `X-Kesher-Sms-Key` header.
    pub key: Option<String>,
}

/// What a reply did.
#[derive(Serialize, ToSchema)]
pub struct SmsReplyOutcome {
    /// The reply was an opt-out word (STOP, הסר, لغو, …).
    pub opt_out: bool,
    /// A customer holds the number.
    pub known: bool,
    /// That customer's SMS consent was withdrawn now.
    pub withdrawn: bool,
}

#[utoipa::path(post, path = "/api/sms/replies", tag = "campaigns", params(SmsReplyParams), request_body = SmsReplyDto,
    responses((status = 200, description = "The reply was read; an opt-out word withdrew the customer's SMS consent at once", body = SmsReplyOutcome),
              (status = 403, description = "The replies' key is missing or wrong", body = crate::error::ErrorBody),
              (status = 422, description = "The number cannot be read", body = crate::error::ErrorBody)))]
/// `POST /api/sms/replies`: the SMS provider's inbound webhook. No session: the replies' key
/// (in the address, or the `X-Kesher-Sms-Key` header) is the credential.
pub async fn sms_reply(
    State(st): State<AppState>,
    Query(p): Query<SmsReplyParams>,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    Json(body): Json<SmsReplyDto>,
) -> Result<Json<SmsReplyOutcome>, AppError> {
    let origin = crate::auth::client_addr(&ext);
    let header = headers
        .get("x-kesher-sms-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let key = p.key.or(header);
    for (field, value, max) in [("from", &body.from, 64usize), ("text", &body.text, 2_000)] {
        if value.chars().count() > max {
            return Err(AppError::invalid(field, format!("at most {max} characters"))
                .coded("value.too_long")
                .param("value", value.chars().take(40).collect::<String>())
                .param("max", max as u64));
        }
    }
    blocking(st, move |app| {
        let r = app
            .sms_reply_with_key(key.as_deref(), &body.from, &body.text, &origin)
            .map_err(|e| {
                if e.code() == "campaign.sms.reply.key" {
                    AppError::new(
                        StatusCode::FORBIDDEN,
                        "campaign.sms.reply.key",
                        Some("key".into()),
                        kesher_core::Params::new(),
                        "the SMS replies' key is missing or wrong",
                    )
                } else {
                    segment_error(e, "from")
                }
            })?;
        Ok(Json(SmsReplyOutcome {
            opt_out: r.opt_out,
            known: r.known,
            withdrawn: r.withdrawn,
        }))
    })
    .await
}

/// `GET /c/{token}`: a tracked link of a campaign e-mail. The click is recorded (unique per
/// message and link, every one counted; the first on the customer's timeline) and the browser
/// sent on with a 302 to the address the stored message has at that link. The token carries no
/// address: a forged, altered or unknown one is a 404 and never a redirect.
pub async fn follow_click(State(st): State<AppState>, Path(token): Path<String>) -> Result<Response, AppError> {
    blocking(st, move |app| match app.follow_click(&token) {
        Ok(target) => {
            let location = axum::http::HeaderValue::from_str(&target).map_err(|_| click_not_found())?;
            Ok((
                StatusCode::FOUND,
                [
                    (axum::http::header::LOCATION, location),
                    (
                        axum::http::header::CACHE_CONTROL,
                        axum::http::HeaderValue::from_static("no-store"),
                    ),
                    (
                        axum::http::header::REFERRER_POLICY,
                        axum::http::HeaderValue::from_static("no-referrer"),
                    ),
                ],
            )
                .into_response())
        }
        Err(e) if e.code() == "campaign.click.invalid" => Err(click_not_found()),
        Err(e) => Err(segment_error(e, "token")),
    })
    .await
}

fn click_not_found() -> AppError {
    AppError::not_found("this link is not valid").coded("campaign.click.invalid")
}

/// The campaigns' prices as written: decimal amounts in the currency.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CostsDto {
    /// ISO 4217 code.
    pub currency: String,
    /// Per 1,000 messages sent, by channel (`email`, `sms`, `log`): `{"email": "2.00"}`.
    #[serde(default)]
    pub per_thousand: BTreeMap<String, String>,
    /// What winning one new customer costs.
    #[serde(default)]
    pub acquisition: Option<String>,
}

impl From<kesher_app::campaigns::economics::CostsText> for CostsDto {
    fn from(t: kesher_app::campaigns::economics::CostsText) -> Self {
        CostsDto {
            currency: t.currency,
            per_thousand: t.per_thousand,
            acquisition: t.acquisition,
        }
    }
}

#[utoipa::path(get, path = "/api/campaigns/costs", tag = "campaigns",
    responses((status = 200, description = "The campaigns' prices", body = CostsDto),
              (status = 404, description = "No prices are set", body = crate::error::ErrorBody)))]
pub async fn get_costs(State(st): State<AppState>, caller: Caller) -> Result<Json<CostsDto>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsRead, None)?;
        let costs = app
            .campaign_costs()
            .map_err(|e| segment_error(e, "costs"))?
            .ok_or_else(|| AppError::not_found("the campaigns' prices are not set").coded("campaign.costs.missing"))?;
        Ok(Json(CostsDto::from(costs.text)))
    })
    .await
}

#[utoipa::path(put, path = "/api/campaigns/costs", tag = "campaigns", request_body = CostsDto,
    responses((status = 200, description = "The prices as stored", body = CostsDto),
              (status = 422, description = "A price that is not an amount of the currency, negative or absurd, or an unknown channel: `params.key` names it", body = crate::error::ErrorBody)))]
pub async fn put_costs(
    State(st): State<AppState>,
    caller: Caller,
    Json(body): Json<CostsDto>,
) -> Result<Json<CostsDto>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsManage, None)?;
        let text = serde_json::to_string(&body).map_err(|e| AppError::internal(e.to_string()))?;
        let costs = app
            .set_campaign_costs(&text, &caller.actor(app))
            .map_err(|e| segment_error(e, "costs"))?;
        Ok(Json(CostsDto::from(costs.text)))
    })
    .await
}

#[utoipa::path(get, path = "/api/campaigns/economics", tag = "campaigns",
    responses((status = 200, description = "Every launched campaign's cost, customers kept (the response lift over the control group times the recipients, with its 95 % interval) and cost per customer kept beside the acquisition cost, the cheapest first; `best` is where the next unit of campaign money keeps the most customers", body = Object),
              (status = 409, description = "The prices are not set (`campaign.costs.missing`)", body = crate::error::ErrorBody)))]
pub async fn economics(State(st): State<AppState>, caller: Caller) -> Result<Json<serde_json::Value>, AppError> {
    blocking(st, move |app| {
        caller.check(Action::CampaignsRead, None)?;
        let r = app.campaign_economics().map_err(|e| segment_error(e, "costs"))?;
        Ok(Json(
            serde_json::to_value(r).map_err(|e| AppError::internal(e.to_string()))?,
        ))
    })
    .await
}
