//! Segments over HTTP: the field list, checking an expression, saved segments, a segment's
//! members (own branch for branch managers, anonymised for analysts), a saved segment's history
//! of entries and exits, and personalised messages rendered for them.

use crate::auth::Caller;
use crate::dto::CustomerDto;
use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kesher_app::App;
use kesher_app::segments::{SavedSegment, SegmentError};
use kesher_auth::Action;
use kesher_segment::{FIELDS, Segment};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A segment failure as an HTTP error; expression errors name `field` (the JSON key or query
/// parameter that held the expression) and carry the column in the message.
pub(crate) fn segment_error(e: SegmentError, field: &str) -> AppError {
    let (code, params) = (e.code(), e.params());
    let refused = match e {
        SegmentError::Store(s) => return AppError::from(s),
        SegmentError::Baskets(b) => return AppError::internal(b.to_string()),
        SegmentError::Expression(x) => AppError::invalid(field, format!("segment expression: {x}")),
        SegmentError::NotFound(n) => AppError::not_found(format!("no segment named `{n}`")),
        SegmentError::Invalid { field, message, .. } => AppError::invalid(field, message),
        SegmentError::Template { message, .. } => AppError::invalid("template", message),
    };
    refused.coded(code).params(params)
}

#[derive(Serialize, ToSchema)]
pub struct FieldDto {
    pub name: String,
    /// number, text, bool, date, set, identifier (only `is set`), attribute.
    #[serde(rename = "type")]
    pub ty: String,
    /// profile, scores (from the latest analysis), purchases, baskets, offer.
    pub source: String,
    pub description: String,
}

#[utoipa::path(get, path = "/api/segments/fields", tag = "segments",
    responses((status = 200, description = "Every field a segment expression may name (plus attributes.<key>)", body = Vec<FieldDto>)))]
pub async fn fields() -> Json<Vec<FieldDto>> {
    use kesher_segment::{Source, Type};
    Json(
        FIELDS
            .iter()
            .map(|f| FieldDto {
                name: f.name.to_string(),
                ty: match f.ty {
                    Type::Number => "number",
                    Type::Text => "text",
                    Type::Bool => "bool",
                    Type::Date => "date",
                    Type::TextSet => "set",
                    Type::Presence => "identifier",
                    Type::Any => "attribute",
                }
                .to_string(),
                source: match f.source {
                    Source::Profile => "profile",
                    Source::Scores => "scores",
                    Source::Purchases => "purchases",
                    Source::Baskets => "baskets",
                    Source::Offer => "offer",
                }
                .to_string(),
                description: f.doc.to_string(),
            })
            .collect(),
    )
}

#[derive(Serialize, ToSchema)]
pub struct SegmentDto {
    pub name: String,
    pub expression: String,
    pub description: Option<String>,
    pub updated_at: String,
    pub updated_by: String,
}

impl From<SavedSegment> for SegmentDto {
    fn from(s: SavedSegment) -> Self {
        SegmentDto {
            name: s.name,
            expression: s.expression,
            description: s.description,
            updated_at: s.updated_at.to_string(),
            updated_by: s.updated_by,
        }
    }
}

#[utoipa::path(get, path = "/api/segments", tag = "segments",
    responses((status = 200, description = "Saved segments by name", body = Vec<SegmentDto>)))]
pub async fn list(State(st): State<AppState>) -> Result<Json<Vec<SegmentDto>>, AppError> {
    blocking(st, |app| {
        let list = app.list_segments().map_err(|e| segment_error(e, "name"))?;
        Ok(Json(list.into_iter().map(SegmentDto::from).collect()))
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentInput {
    /// 1-64 letters, digits, `-` or `_`.
    pub name: String,
    pub expression: String,
    pub description: Option<String>,
}

#[utoipa::path(post, path = "/api/segments", tag = "segments", request_body = SegmentInput,
    responses((status = 200, description = "Saved (created or replaced)", body = SegmentDto),
              (status = 422, description = "Bad name or expression (the message gives the column)", body = crate::error::ErrorBody)))]
pub async fn save(
    State(st): State<AppState>,
    c: Caller,
    Json(i): Json<SegmentInput>,
) -> Result<Json<SegmentDto>, AppError> {
    blocking(st, move |app| {
        let saved = app
            .save_segment(&i.name, &i.expression, i.description.as_deref(), &c.actor(app))
            .map_err(|e| segment_error(e, "expression"))?;
        Ok(Json(saved.into()))
    })
    .await
}

#[utoipa::path(get, path = "/api/segments/{name}", tag = "segments", params(("name" = String, Path, description = "Segment name")),
    responses((status = 200, description = "The saved segment", body = SegmentDto),
              (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn get(State(st): State<AppState>, Path(name): Path<String>) -> Result<Json<SegmentDto>, AppError> {
    blocking(st, move |app| {
        Ok(Json(
            app.get_segment(&name).map_err(|e| segment_error(e, "name"))?.into(),
        ))
    })
    .await
}

#[utoipa::path(delete, path = "/api/segments/{name}", tag = "segments", params(("name" = String, Path, description = "Segment name")),
    responses((status = 204, description = "Deleted"),
              (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn delete(State(st): State<AppState>, c: Caller, Path(name): Path<String>) -> Result<StatusCode, AppError> {
    blocking(st, move |app| {
        app.delete_segment(&name, &c.actor(app))
            .map_err(|e| segment_error(e, "name"))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInput {
    pub expression: String,
}

#[derive(Serialize, ToSchema)]
pub struct CheckDto {
    /// The expression in canonical form (fully parenthesised).
    pub canonical: String,
    /// The fields it names.
    pub fields: Vec<String>,
}

#[utoipa::path(post, path = "/api/segments/check", tag = "segments", request_body = CheckInput,
    responses((status = 200, description = "The expression is valid", body = CheckDto),
              (status = 422, description = "Where and why it is not (field `expression`, message `segment expression: column N: …`)", body = crate::error::ErrorBody)))]
pub async fn check(Json(i): Json<CheckInput>) -> Result<Json<CheckDto>, AppError> {
    let seg = Segment::parse(&i.expression).map_err(|e| segment_error(e.into(), "expression"))?;
    Ok(Json(CheckDto {
        canonical: seg.to_string(),
        fields: seg.fields().iter().map(|f| f.name()).collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct MembersParams {
    /// A saved segment's name or an expression (for `/api/segments/members`).
    pub segment: Option<String>,
    /// Members returned, 1-500, default 50.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
    /// `true`: the count as the segment editor shows it while one types — exact for a business
    /// of at most 32,768 customers, else estimated on a fixed sample of 16,384 customers with
    /// its 95 % interval (`estimate`), and the members listed are the sample's (docs/segments.md).
    /// Default `false`: every customer is evaluated.
    pub estimate: Option<bool>,
}

/// How a count was estimated: on a fixed sample, with the 95 % interval of the true count.
#[derive(Serialize, ToSchema)]
pub struct EstimateDto {
    /// The interval's lower end.
    pub low: u64,
    /// The interval's upper end.
    pub high: u64,
    /// Customers evaluated (the sample).
    pub sampled: u64,
    /// Customers in the business when the sample was drawn.
    pub population: u64,
}

#[derive(Serialize, ToSchema)]
pub struct MembersDto {
    /// Customers considered: all, or the caller's own branch's.
    pub considered: u64,
    /// Members.
    pub count: u64,
    /// Customers the expression could not decide for (a value it needs is missing).
    pub unknown: u64,
    /// When the scores used were computed (segments naming a score field).
    pub scores_as_of: Option<String>,
    pub limit: u32,
    pub offset: u64,
    /// This page of members, by id.
    pub members: Vec<CustomerDto>,
    /// Present when the counts are estimated (`estimate=true` on a big business): `count`,
    /// `considered` and `unknown` are then the sample's scaled to the population.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<EstimateDto>,
}

fn members_of(app: &App, c: &Caller, seg: &Segment, p: &MembersParams) -> Result<MembersDto, AppError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request(Some("limit".into()), "limit must be 1 to 500")
            .coded("query.limit.out_of_range")
            .param("max", 500));
    }
    let offset = p.offset.unwrap_or(0);
    let branch = c.branch_filter(Action::SegmentsRead)?;
    let anonymise = c.anonymised(Action::SegmentsRead);
    let page = |app: &App, ids: &[kesher_core::CustomerId]| -> Result<Vec<CustomerDto>, AppError> {
        let mut members = Vec::new();
        for id in ids
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(limit as usize)
        {
            if let Some(cust) = app.get_customer(*id)? {
                members.push(CustomerDto::from(&cust).anonymised_if(anonymise));
            }
        }
        Ok(members)
    };
    if p.estimate == Some(true) {
        let e = app
            .estimate_segment(seg, branch)
            .map_err(|e| segment_error(e, "segment"))?;
        return Ok(MembersDto {
            considered: e.considered,
            count: e.count,
            unknown: e.unknown,
            scores_as_of: e.scores_as_of.map(|t| t.to_string()),
            limit,
            offset,
            members: page(app, &e.members)?,
            estimate: (!e.exact).then_some(EstimateDto {
                low: e.low,
                high: e.high,
                sampled: e.sampled,
                population: e.population,
            }),
        });
    }
    let ev = app
        .evaluate_segment(seg, branch)
        .map_err(|e| segment_error(e, "segment"))?;
    let members = page(app, &ev.members)?;
    Ok(MembersDto {
        considered: ev.considered,
        count: ev.members.len() as u64,
        unknown: ev.unknown,
        scores_as_of: ev.scores_as_of.map(|t| t.to_string()),
        limit,
        offset,
        members,
        estimate: None,
    })
}

#[utoipa::path(get, path = "/api/segments/members", tag = "segments", params(MembersParams),
    responses((status = 200, description = "Who belongs to a segment written in place (or saved)", body = MembersDto),
              (status = 422, description = "Bad expression", body = crate::error::ErrorBody)))]
pub async fn members_adhoc(
    State(st): State<AppState>,
    c: Caller,
    Query(p): Query<MembersParams>,
) -> Result<Json<MembersDto>, AppError> {
    let Some(expr) = p.segment.clone().filter(|s| !s.trim().is_empty()) else {
        return Err(AppError::invalid("segment", "give a segment name or an expression").coded("segment.missing"));
    };
    blocking(st, move |app| {
        let seg = app.resolve_segment(&expr).map_err(|e| segment_error(e, "segment"))?;
        Ok(Json(members_of(app, &c, &seg, &p)?))
    })
    .await
}

#[utoipa::path(get, path = "/api/segments/{name}/members", tag = "segments", params(("name" = String, Path, description = "Segment name"), MembersParams),
    responses((status = 200, description = "Who belongs to the saved segment", body = MembersDto),
              (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn members(
    State(st): State<AppState>,
    c: Caller,
    Path(name): Path<String>,
    Query(p): Query<MembersParams>,
) -> Result<Json<MembersDto>, AppError> {
    blocking(st, move |app| {
        let saved = app.get_segment(&name).map_err(|e| segment_error(e, "name"))?;
        let seg = Segment::parse(&saved.expression).map_err(|e| segment_error(e.into(), "expression"))?;
        Ok(Json(members_of(app, &c, &seg, &p)?))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct HistoryParams {
    /// Events returned, 1-500, default 50.
    pub limit: Option<u32>,
    /// Only events older than this one: the `next_before` of the previous page.
    pub before: Option<i64>,
}

/// One entry into or exit from a saved segment.
#[derive(Serialize, ToSchema)]
pub struct SegmentEventDto {
    /// The event's number: events are written in this order.
    pub seq: i64,
    pub customer_id: String,
    /// `entered` or `left`.
    pub kind: String,
    /// When the refresh run that found it ran.
    pub at: String,
    /// The refresh run (or the segment's deletion) that wrote it.
    pub run_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct SegmentHistoryDto {
    pub segment: String,
    /// Whether the segment is saved now (a deleted segment's history stays readable).
    pub saved: bool,
    /// Its members now (the caller's own branch's, for a branch role).
    pub members: u64,
    pub limit: u32,
    /// Newest first.
    pub events: Vec<SegmentEventDto>,
    /// Pass as `before` for the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

#[utoipa::path(get, path = "/api/segments/{name}/history", tag = "segments", params(("name" = String, Path, description = "Segment name"), HistoryParams),
    responses((status = 200, description = "Who entered and who left the saved segment and when, newest first (the caller's own branch's customers for a branch role)", body = SegmentHistoryDto),
              (status = 404, description = "No segment of that name, saved now or before", body = crate::error::ErrorBody)))]
pub async fn history(
    State(st): State<AppState>,
    c: Caller,
    Path(name): Path<String>,
    Query(p): Query<HistoryParams>,
) -> Result<Json<SegmentHistoryDto>, AppError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request(Some("limit".into()), "limit must be 1 to 500")
            .coded("query.limit.out_of_range")
            .param("max", 500));
    }
    blocking(st, move |app| {
        let branch = c.branch_filter(Action::SegmentsRead)?;
        let page = app
            .segment_history(&name, branch, p.before, limit as usize)
            .map_err(|e| segment_error(e, "name"))?;
        Ok(Json(SegmentHistoryDto {
            segment: page.segment,
            saved: page.saved,
            members: page.members,
            limit,
            events: page
                .events
                .into_iter()
                .map(|e| SegmentEventDto {
                    seq: e.seq,
                    customer_id: e.customer_id.to_string(),
                    kind: e.kind.as_str().to_string(),
                    at: e.at.to_string(),
                    run_id: e.run_id.to_string(),
                })
                .collect(),
            next_before: page.next_before,
        }))
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagesInput {
    /// Jinja syntax over `customer`, `score`, `nbo`, `attributes`, `business`, e.g.
    /// `Hi {{ customer.first_name }}{% if nbo %}, try {{ nbo.name }}{% endif %}`.
    pub template: String,
    /// Messages rendered, 1-500, default 20.
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct MessageDto {
    pub customer_id: String,
    pub language: Option<String>,
    pub text: String,
}

#[utoipa::path(post, path = "/api/segments/{name}/messages", tag = "segments", params(("name" = String, Path, description = "Segment name")), request_body = MessagesInput,
    responses((status = 200, description = "The template rendered for the first members (a preview of a campaign's messages)", body = Vec<MessageDto>),
              (status = 422, description = "Template error (with its line)", body = crate::error::ErrorBody)))]
pub async fn messages(
    State(st): State<AppState>,
    c: Caller,
    Path(name): Path<String>,
    Json(i): Json<MessagesInput>,
) -> Result<Json<Vec<MessageDto>>, AppError> {
    let limit = i.limit.unwrap_or(20);
    if !(1..=500).contains(&limit) {
        return Err(AppError::invalid("limit", "limit must be 1 to 500")
            .coded("query.limit.out_of_range")
            .param("max", 500));
    }
    blocking(st, move |app| {
        let saved = app.get_segment(&name).map_err(|e| segment_error(e, "name"))?;
        let seg = Segment::parse(&saved.expression).map_err(|e| segment_error(e.into(), "expression"))?;
        let branch = c.branch_filter(Action::SegmentsManage)?;
        let out = app
            .render_for_segment(&seg, &i.template, branch, limit)
            .map_err(|e| segment_error(e, "template"))?;
        Ok(Json(
            out.into_iter()
                .map(|m| MessageDto {
                    customer_id: m.customer_id.to_string(),
                    language: m.language,
                    text: m.text,
                })
                .collect(),
        ))
    })
    .await
}
