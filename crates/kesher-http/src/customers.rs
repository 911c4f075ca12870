//! Customer routes: CRUD, search, point-of-sale lookup, duplicates, merge, the one-page overview.

use crate::auth::Caller;
use crate::dto::*;
use crate::error::{AppError, Json, Query};
use crate::{AppState, blocking};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kesher_app::App;
use kesher_auth::{Access, Action};
use kesher_core::customer_input::{self, AttributesInput, InputContext, InputSource, References};
use kesher_core::{BranchId, Customer, CustomerId, Email, EmployeeId, Phone};
use kesher_store::{CustomerQuery, Identifier};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Deserialize, IntoParams)]
pub struct SearchParams {
    /// The start of a name or of its family part (any script, normalised: "coh" finds Dana
    /// Cohen), of a member or card number, e-mail or phone, or a whole phone in local notation;
    /// at most 200 characters. Matches are ordered by the text that matched and counted up to
    /// 1,000 (`total_capped`). Refused (403) to a role that sees customers anonymised.
    pub q: Option<String>,
    /// 1 to 500, default 50.
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

#[utoipa::path(get, path = "/api/customers", tag = "customers", params(SearchParams),
    responses((status = 200, description = "A page of customers", body = PageDto<CustomerDto>),
              (status = 403, description = "q from a role that sees customers anonymised", body = crate::error::ErrorBody),
              (status = 422, description = "q longer than 200 characters", body = crate::error::ErrorBody)))]
pub async fn search(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<SearchParams>,
) -> Result<Json<PageDto<CustomerDto>>, AppError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AppError::bad_request(Some("limit".into()), "limit must be 1 to 500")
            .coded("query.limit.out_of_range")
            .param("max", 500));
    }
    // An anonymised view must not be searchable by what it hides: a name, phone, e-mail,
    // member or card number (or a prefix of one) would pick out exactly one person.
    if caller.anonymised(Action::CustomersRead) && p.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        return Err(AppError::new(
            StatusCode::FORBIDDEN,
            "customers.search.anonymised",
            Some("q".into()),
            kesher_core::Params::new(),
            "an anonymised view cannot be searched by name or identifier; list without q",
        ));
    }
    blocking(st, move |app| {
        let country = app.phone_country(caller.principal.branch)?;
        let phone = p.q.as_deref().and_then(|q| Phone::parse(q, country).ok());
        let page = app.search_customers(&CustomerQuery {
            text: p.q,
            phone,
            branch: caller.branch_filter(Action::CustomersRead)?,
            limit,
            offset: p.offset.unwrap_or(0),
        })?;
        let mut page = PageDto::<CustomerDto>::from_page(page);
        if caller.anonymised(Action::CustomersRead) {
            page.items = page.items.into_iter().map(CustomerDto::anonymised).collect();
        }
        Ok(Json(page))
    })
    .await
}

/// Set `c` from `i` by the one customer input path (`kesher_core::customer_input`, which the
/// CSV import takes too); a phone in local notation is read in `country` (the caller's branch's).
fn apply_input(app: &App, c: &mut Customer, i: CustomerInput, country: kesher_core::Country) -> Result<(), AppError> {
    let household_size = i.household_size.map(|n| n.to_string());
    let input = customer_input::CustomerInput {
        member_no: i.member_no.as_deref(),
        kind: i.kind.as_deref(),
        parent: i.parent_id.as_deref(),
        name: i.name.as_deref(),
        phone: i.phone.as_deref(),
        email: i.email.as_deref(),
        card: i.card.as_deref(),
        language: i.language.as_deref(),
        birth_date: i.birth_date.as_deref(),
        gender: i.gender.as_deref(),
        city: i.city.as_deref(),
        region: i.region.as_deref(),
        household_size: household_size.as_deref(),
        income_band: i.income_band.as_deref(),
        created_at: None,
        branch: i.branch.as_deref(),
        employee: i.employee.as_deref(),
        consents: i
            .consents
            .iter()
            .flatten()
            .map(|(channel, state)| (channel.as_str(), state.as_str()))
            .collect(),
        attributes: i.attributes.map(AttributesInput::Json),
    };
    let ctx = InputContext {
        country,
        now: app.now(),
        source: InputSource::Api,
    };
    customer_input::build(c, &input, &ctx, &mut BodyReferences(app))
}

/// The references of a customer body: the parent by its id, branch and employee by external id.
struct BodyReferences<'a>(&'a App);

impl References for BodyReferences<'_> {
    type Error = AppError;

    fn parent(&mut self, value: &str) -> Result<CustomerId, AppError> {
        let p = parse_id::<CustomerId>(value, "parent_id")?;
        match self.0.get_customer(p)? {
            Some(_) => Ok(p),
            None => Err(AppError::invalid("parent_id", format!("no customer {p}")).coded("customer.parent.not_found")),
        }
    }

    fn branch(&mut self, b: &str) -> Result<BranchId, AppError> {
        Ok(self
            .0
            .branch_by_external(b)?
            .ok_or_else(|| {
                AppError::invalid("branch", format!("unknown branch {b:?}"))
                    .coded("branch.unknown")
                    .param("branch", b)
            })?
            .id)
    }

    fn employee(&mut self, e: &str, _: Option<BranchId>) -> Result<EmployeeId, AppError> {
        Ok(self
            .0
            .employee_by_external(e)?
            .ok_or_else(|| {
                AppError::invalid("employee", format!("unknown employee {e:?}"))
                    .coded("employee.unknown")
                    .param("employee", e)
            })?
            .id)
    }
}

#[utoipa::path(post, path = "/api/customers", tag = "customers", request_body = CustomerInput,
    responses((status = 201, description = "Created", body = CustomerDto),
              (status = 409, description = "An identifier is taken", body = crate::error::ErrorBody),
              (status = 422, description = "Invalid field", body = crate::error::ErrorBody)))]
pub async fn create(
    State(st): State<AppState>,
    caller: Caller,
    Json(input): Json<CustomerInput>,
) -> Result<(StatusCode, Json<CustomerDto>), AppError> {
    blocking(st, move |app| {
        let mut c = Customer::bare(kesher_app::ids::customer(), None, app.now());
        apply_input(app, &mut c, input, app.phone_country(caller.principal.branch)?)?;
        // Enrolment at the front desk or a till registers the customer at that branch.
        if c.source_branch.is_none() && caller.branch_filter(Action::CustomersEnrol)?.is_some() {
            c.source_branch = caller.principal.branch;
        }
        caller.check(Action::CustomersEnrol, c.source_branch)?;
        app.insert_customer(&c, &caller.actor(app))?;
        Ok((StatusCode::CREATED, Json(CustomerDto::from(&c))))
    })
    .await
}

/// The branch a customer belongs to (registered at), for own-branch checks; 404 when unknown.
pub(crate) fn home_branch(app: &App, id: CustomerId) -> Result<Option<kesher_core::BranchId>, AppError> {
    Ok(app
        .get_customer(id)?
        .ok_or_else(|| AppError::not_found(format!("customer not found: {id}")).coded("customer.not_found"))?
        .source_branch)
}

fn load(app: &App, id: &str) -> Result<Customer, AppError> {
    let id: CustomerId = parse_id(id, "id")?;
    match app.get_customer(id)? {
        Some(c) => Ok(c),
        None => match app.merged_into(id)? {
            Some(k) => Err(AppError::not_found(format!("customer {id} was merged into {k}"))
                .coded("customer.merged")
                .param("kept", k.to_string())),
            None => Err(AppError::not_found(format!("customer not found: {id}")).coded("customer.not_found")),
        },
    }
}

#[utoipa::path(get, path = "/api/customers/{id}", tag = "customers", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "The customer", body = CustomerDto), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn get(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CustomerDto>, AppError> {
    blocking(st, move |app| {
        let c = load(app, &id)?;
        let access = caller.check(Action::CustomersRead, c.source_branch)?;
        Ok(Json(CustomerDto::from(&c).anonymised_if(access == Access::Anonymised)))
    })
    .await
}

/// The fields a `PUT` must carry (null to clear one explicitly): the ones that name or identify
/// the person and the branch they belong to. Leaving one out is refused rather than read as
/// "clear it", so that a partial body cannot wipe a record; partial changes go through `PATCH`.
pub const PUT_REQUIRED: [&str; 6] = ["member_no", "name", "phone", "email", "card", "branch"];

/// A JSON body as a `serde_json` object, or a 422.
fn object(body: serde_json::Value) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
    match body {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err(AppError::invalid("body", "the body must be a JSON object").coded("json.body.not_object")),
    }
}

/// A `CustomerInput` read from a JSON object; errors name the field.
fn input_from(m: serde_json::Map<String, serde_json::Value>) -> Result<CustomerInput, AppError> {
    serde_json::from_value(serde_json::Value::Object(m)).map_err(|e| {
        let message = e.to_string();
        let (field, problem) = crate::error::field_in(&message);
        AppError::invalid(field.unwrap_or_else(|| "body".into()), message).coded(problem.code())
    })
}

#[utoipa::path(put, path = "/api/customers/{id}", tag = "customers", params(("id" = String, Path, description = "Customer id")),
    request_body(content = CustomerInput, description = "The whole record: `member_no`, `name`, `phone`, `email`, `card` and `branch` must be present (null clears one); other absent fields are cleared, absent consent channels unchanged"),
    responses((status = 200, description = "Replaced", body = CustomerDto), (status = 404, description = "Not found", body = crate::error::ErrorBody),
              (status = 409, description = "An identifier is taken", body = crate::error::ErrorBody),
              (status = 422, description = "Invalid or missing field", body = crate::error::ErrorBody)))]
pub async fn replace(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<serde_json::Value>,
) -> Result<Json<CustomerDto>, AppError> {
    blocking(st, move |app| {
        let mut c = load(app, &id)?;
        caller.check(Action::CustomersUpdate, c.source_branch)?;
        let body = object(body)?;
        if let Some(missing) = PUT_REQUIRED.iter().find(|f| !body.contains_key(**f)) {
            return Err(AppError::invalid(
                *missing,
                format!("PUT replaces the whole customer: send {missing} (null clears it), or use PATCH to change only some fields"),
            )
            .coded("customer.put.field_missing")
            .param("field", *missing));
        }
        apply_input(app, &mut c, input_from(body)?, app.phone_country(caller.principal.branch)?)?;
        caller.check(Action::CustomersUpdate, c.source_branch)?;
        app.update_customer(&c, &caller.actor(app))?;
        Ok(Json(CustomerDto::from(&c)))
    })
    .await
}

/// A customer as the `CustomerInput` that would make it: what a merge patch applies to.
fn as_input(app: &App, c: &Customer) -> Result<serde_json::Map<String, serde_json::Value>, AppError> {
    use serde_json::Value as V;
    let s = |v: Option<String>| v.map_or(V::Null, V::String);
    let d = &c.demographics;
    let branch = match c.source_branch {
        Some(b) => app.get_branch(b)?.map(|b| b.external_id),
        None => None,
    };
    let employee = match c.source_employee {
        Some(e) => app.get_employee(e)?.map(|e| e.external_id),
        None => None,
    };
    let consents: serde_json::Map<String, V> = c
        .consents
        .iter()
        .map(|k| (k.channel.to_string(), V::String(k.state.to_string())))
        .collect();
    let mut m = serde_json::Map::new();
    m.insert("member_no".into(), s(c.member_no.clone()));
    m.insert("kind".into(), V::String(c.kind.to_string()));
    m.insert("parent_id".into(), s(c.parent_id.map(|p| p.to_string())));
    m.insert("name".into(), s(c.name.clone()));
    m.insert("phone".into(), s(c.phone.as_ref().map(|p| p.to_string())));
    m.insert("email".into(), s(c.email.as_ref().map(|e| e.to_string())));
    m.insert("card".into(), s(c.card.clone()));
    m.insert("language".into(), s(c.language.clone()));
    m.insert("birth_date".into(), s(d.birth_date.map(|b| b.to_string())));
    m.insert("gender".into(), s(d.gender.map(|g| g.to_string())));
    m.insert("city".into(), s(d.city.clone()));
    m.insert("region".into(), s(d.region.clone()));
    m.insert("household_size".into(), d.household_size.map_or(V::Null, V::from));
    m.insert("income_band".into(), s(d.income_band.clone()));
    m.insert("attributes".into(), V::Object(c.attributes.clone()));
    m.insert("branch".into(), s(branch));
    m.insert("employee".into(), s(employee));
    m.insert("consents".into(), V::Object(consents));
    m.retain(|_, v| !v.is_null());
    Ok(m)
}

/// RFC 7396 JSON Merge Patch: `patch`'s members replace `target`'s, null removes one, objects
/// merge recursively; anything but an object replaces the target whole.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    if let serde_json::Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(serde_json::Value::Null), v);
            }
        }
    }
}

#[utoipa::path(patch, path = "/api/customers/{id}", tag = "customers", params(("id" = String, Path, description = "Customer id")),
    request_body(content = CustomerInput, description = "A JSON Merge Patch (RFC 7396, `application/merge-patch+json` or `application/json`): absent fields are unchanged, null clears a field, `attributes` and `consents` merge member by member (a consent is granted or withdrawn, never cleared)"),
    responses((status = 200, description = "Changed", body = CustomerDto), (status = 404, description = "Not found", body = crate::error::ErrorBody),
              (status = 409, description = "An identifier is taken", body = crate::error::ErrorBody),
              (status = 415, description = "Not JSON", body = crate::error::ErrorBody),
              (status = 422, description = "Invalid field", body = crate::error::ErrorBody)))]
pub async fn patch(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<CustomerDto>, AppError> {
    let body = body.map_err(|e| {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body.unreadable",
            None,
            kesher_core::Params::new(),
            e.body_text(),
        )
    })?;
    let media = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if !matches!(
        media.as_deref(),
        Some("application/json" | "application/merge-patch+json")
    ) {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "json.merge_patch.content_type",
            None,
            kesher_core::Params::new(),
            "expected a body with Content-Type: application/merge-patch+json or application/json",
        ));
    }
    let patch: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "json.syntax",
            None,
            kesher_core::Params::new(),
            e.to_string(),
        )
    })?;
    crate::limits::check_json(&patch)?;
    let patch = object(patch)?;
    if let Some(serde_json::Value::Object(k)) = patch.get("consents")
        && let Some((ch, _)) = k.iter().find(|(_, v)| v.is_null())
    {
        return Err(AppError::invalid(
            "consents",
            format!("the {ch} consent cannot be cleared: set it to withdrawn"),
        )
        .coded("customer.consent.cleared")
        .param("channel", ch.to_string()));
    }
    blocking(st, move |app| {
        let mut c = load(app, &id)?;
        caller.check(Action::CustomersUpdate, c.source_branch)?;
        let mut doc = serde_json::Value::Object(as_input(app, &c)?);
        merge_patch(&mut doc, &serde_json::Value::Object(patch));
        apply_input(
            app,
            &mut c,
            input_from(object(doc)?)?,
            app.phone_country(caller.principal.branch)?,
        )?;
        caller.check(Action::CustomersUpdate, c.source_branch)?;
        app.update_customer(&c, &caller.actor(app))?;
        Ok(Json(CustomerDto::from(&c)))
    })
    .await
}

#[utoipa::path(delete, path = "/api/customers/{id}", tag = "customers", params(("id" = String, Path, description = "Customer id")),
    responses((status = 204, description = "Deleted"), (status = 409, description = "The customer has transactions", body = crate::error::ErrorBody)))]
pub async fn delete(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    blocking(st, move |app| {
        let c = load(app, &id)?;
        caller.check(Action::CustomersDelete, c.source_branch)?;
        app.delete_customer(c.id, &caller.actor(app))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct LookupParams {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub member: Option<String>,
    pub card: Option<String>,
}

/// Another branch's customer as a till sees them: enough to identify them and make the sale.
#[derive(Serialize, ToSchema)]
pub struct TillCustomerDto {
    pub id: String,
    pub name: Option<String>,
    pub member_no: Option<String>,
    pub points_balance: i64,
}

/// A lookup's answer: the whole record for a customer of the caller's branch (or a caller
/// without one), the till's view for another branch's.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum LookupDto {
    Customer(Box<CustomerDto>),
    Till(TillCustomerDto),
}

#[utoipa::path(get, path = "/api/customers/lookup", tag = "customers", params(LookupParams),
    responses((status = 200, description = "The customer: the whole record for one of the caller's branch, only id, name, member number and points balance for another branch's", body = LookupDto),
              (status = 404, description = "No customer has it", body = crate::error::ErrorBody),
              (status = 429, description = "Too many lookups from this caller (Retry-After)", body = crate::error::ErrorBody)))]
pub async fn lookup(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<LookupParams>,
) -> Result<Json<LookupDto>, AppError> {
    blocking(st, move |app| {
        let given = [
            p.phone.is_some(),
            p.email.is_some(),
            p.member.is_some(),
            p.card.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given != 1 {
            return Err(
                AppError::bad_request(None, "give exactly one of phone, email, member, card")
                    .coded("customer.lookup.one_identifier"),
            );
        }
        let ident = if let Some(ph) = p.phone {
            Identifier::Phone(Phone::parse(&ph, app.phone_country(caller.principal.branch)?)?)
        } else if let Some(e) = p.email {
            Identifier::Email(Email::parse(&e)?)
        } else if let Some(m) = p.member {
            Identifier::Member(m.trim().to_string())
        } else {
            Identifier::Card(p.card.unwrap_or_default().trim().to_string())
        };
        let Some(c) = app.lookup_customer(&ident)? else {
            return Err(
                AppError::not_found(format!("no customer with {} {}", ident.kind(), ident.value()))
                    .coded("customer.lookup.not_found")
                    .param("kind", ident.kind()),
            );
        };
        // A till recognises a member of any branch, but reads the profile of its own only.
        match caller.principal.branch {
            Some(mine) if c.source_branch != Some(mine) => Ok(Json(LookupDto::Till(TillCustomerDto {
                id: c.id.to_string(),
                name: c.name.clone(),
                member_no: c.member_no.clone(),
                points_balance: app.points_balance(c.id)?,
            }))),
            _ => Ok(Json(LookupDto::Customer(Box::new(CustomerDto::from(&c))))),
        }
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeInput {
    /// The record that stays.
    pub keep: String,
    /// The record merged into it and removed.
    pub drop: String,
}

#[derive(Serialize, ToSchema)]
pub struct MergeDto {
    pub kept: CustomerDto,
    pub dropped_id: String,
    pub transactions_moved: u64,
    pub interactions_moved: u64,
    pub children_moved: u64,
    pub identifiers_moved: Vec<String>,
}

#[utoipa::path(post, path = "/api/customers/merge", tag = "customers", request_body = MergeInput,
    responses((status = 200, description = "Merged", body = MergeDto), (status = 404, description = "A customer is missing", body = crate::error::ErrorBody)))]
pub async fn merge(
    State(st): State<AppState>,
    caller: Caller,
    Json(m): Json<MergeInput>,
) -> Result<Json<MergeDto>, AppError> {
    blocking(st, move |app| {
        let keep: CustomerId = parse_id(&m.keep, "keep")?;
        let drop: CustomerId = parse_id(&m.drop, "drop")?;
        for id in [keep, drop] {
            if let Some(c) = app.get_customer(id)? {
                caller.check(Action::CustomersMerge, c.source_branch)?;
            }
        }
        let r = app.merge_customers(keep, drop, &caller.actor(app))?;
        Ok(Json(MergeDto {
            kept: CustomerDto::from(&r.kept),
            dropped_id: r.dropped_id.to_string(),
            transactions_moved: r.transactions_moved,
            interactions_moved: r.interactions_moved,
            children_moved: r.children_moved,
            identifiers_moved: r.identifiers_moved,
        }))
    })
    .await
}

#[derive(Deserialize, IntoParams)]
pub struct DuplicatesParams {
    /// 0 to 1, default 0.6.
    pub min_score: Option<f64>,
    pub limit: Option<usize>,
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateDto {
    pub a: CustomerDto,
    pub b: CustomerDto,
    pub score: f64,
    pub reasons: Vec<String>,
}

#[utoipa::path(get, path = "/api/customers/duplicates", tag = "customers", params(DuplicatesParams),
    responses((status = 200, description = "Likely duplicate pairs, best first", body = Vec<DuplicateDto>)))]
pub async fn duplicates(
    State(st): State<AppState>,
    caller: Caller,
    Query(p): Query<DuplicatesParams>,
) -> Result<Json<Vec<DuplicateDto>>, AppError> {
    blocking(st, move |app| {
        let min = p.min_score.unwrap_or(0.6);
        if !(0.0..=1.0).contains(&min) {
            return Err(
                AppError::bad_request(Some("min_score".into()), "min_score must be 0 to 1")
                    .coded("duplicates.min_score.out_of_range"),
            );
        }
        let mut out = Vec::new();
        let only = caller.branch_filter(Action::CustomersMerge)?;
        let limit = p.limit.unwrap_or(100);
        for pair in app.duplicates(min)? {
            if out.len() >= limit {
                break;
            }
            let (Some(a), Some(b)) = (app.get_customer(pair.a)?, app.get_customer(pair.b)?) else {
                continue;
            };
            if only.is_some() && (a.source_branch != only || b.source_branch != only) {
                continue;
            }
            out.push(DuplicateDto {
                a: CustomerDto::from(&a),
                b: CustomerDto::from(&b),
                score: pair.score,
                reasons: pair.reasons,
            });
        }
        Ok(Json(out))
    })
    .await
}

#[derive(Serialize, ToSchema)]
pub struct SpendDto {
    pub currency: String,
    pub minor: i64,
    pub amount: String,
}

#[derive(Serialize, ToSchema)]
pub struct OverviewStats {
    pub transactions: u64,
    pub interactions: u64,
    pub first_purchase: Option<String>,
    pub last_purchase: Option<String>,
    /// Net spend (sales minus refunds) over the transactions shown, per currency.
    pub spend_shown: Vec<SpendDto>,
    pub open_complaints: u64,
    pub mean_satisfaction: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct OfferDto {
    pub sku: String,
    pub name: Option<String>,
    /// Rule strength (confidence × lift, summed over the rules that fire) × unit margin.
    pub score: f64,
    /// The products whose purchase fires the strongest rule.
    pub because: Vec<String>,
    pub confidence: f64,
    pub lift: f64,
}

impl From<kesher_app::baskets::OfferView> for OfferDto {
    fn from(o: kesher_app::baskets::OfferView) -> Self {
        OfferDto {
            sku: o.sku,
            name: o.name,
            score: o.score,
            because: o.because,
            confidence: o.confidence,
            lift: o.lift,
        }
    }
}

fn offers_error(e: kesher_app::baskets::BasketsError) -> AppError {
    match e {
        kesher_app::baskets::BasketsError::Store(s) => AppError::from(s),
        kesher_app::baskets::BasketsError::Mining(m) => AppError::internal(m.to_string()),
    }
}

fn offers(app: &App, id: CustomerId, k: usize) -> Result<Vec<OfferDto>, AppError> {
    let o = app.next_best_offers(id, k).map_err(offers_error)?;
    Ok(o.into_iter().map(OfferDto::from).collect())
}

#[derive(Deserialize, IntoParams)]
pub struct OffersParams {
    /// How many offers, 1 to 50, default 5.
    pub k: Option<usize>,
}

#[utoipa::path(get, path = "/api/customers/{id}/offers", tag = "customers", params(("id" = String, Path, description = "Customer id"), OffersParams),
    responses((status = 200, description = "Next best offers, best first", body = Vec<OfferDto>), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn next_offers(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(p): Query<OffersParams>,
) -> Result<Json<Vec<OfferDto>>, AppError> {
    let k = p.k.unwrap_or(5);
    if !(1..=50).contains(&k) {
        return Err(AppError::bad_request(Some("k".into()), "k must be 1 to 50")
            .coded("offers.k.out_of_range")
            .param("max", 50));
    }
    blocking(st, move |app| {
        let c = load(app, &id)?;
        caller.check(Action::CustomersRead, c.source_branch)?;
        Ok(Json(offers(app, c.id, k)?))
    })
    .await
}

#[derive(Serialize, ToSchema)]
pub struct OverviewDto {
    pub customer: CustomerDto,
    pub parent: Option<CustomerDto>,
    pub stats: OverviewStats,
    pub transactions: Vec<TransactionDto>,
    pub interactions: Vec<InteractionDto>,
    pub consent_history: Vec<ConsentDto>,
    /// Products to offer next, from the rules the customer's own purchases fire (empty while
    /// `next_best_offers_pending`).
    pub next_best_offers: Vec<OfferDto>,
    /// The offer rules are being mined for the first time since the server started (ask again
    /// in a minute, or `GET /api/customers/{id}/offers`, which waits for them).
    pub next_best_offers_pending: bool,
    /// The loyalty points balance (left out of an anonymised view).
    pub points_balance: Option<i64>,
}

#[utoipa::path(get, path = "/api/customers/{id}/overview", tag = "customers", params(("id" = String, Path, description = "Customer id")),
    responses((status = 200, description = "The one-page view of a customer", body = OverviewDto), (status = 404, description = "Not found", body = crate::error::ErrorBody)))]
pub async fn overview(
    State(st): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<OverviewDto>, AppError> {
    blocking(st, move |app| {
        let c = load(app, &id)?;
        let anon = caller.check(Action::CustomersRead, c.source_branch)? == Access::Anonymised;
        let txs = app.list_transactions(Some(c.id), 1000, 0)?;
        let ints = app.list_interactions(Some(c.id), 200, 0)?;
        let mut spend: std::collections::BTreeMap<String, (kesher_core::Currency, i64)> = Default::default();
        for t in &txs.items {
            let e = spend.entry(t.currency.to_string()).or_insert((t.currency, 0));
            e.1 = e.1.saturating_add(t.total().unwrap_or(0));
        }
        let sats: Vec<f64> = ints
            .items
            .iter()
            .filter_map(|i| i.satisfaction.map(f64::from))
            .collect();
        let sales = txs.items.iter().filter(|t| t.refund_of.is_none());
        let stats = OverviewStats {
            transactions: txs.total,
            interactions: ints.total,
            first_purchase: sales.clone().map(|t| t.occurred_at).min().map(|t| t.to_string()),
            last_purchase: sales.map(|t| t.occurred_at).max().map(|t| t.to_string()),
            spend_shown: spend
                .into_values()
                .map(|(cur, minor)| SpendDto {
                    currency: cur.to_string(),
                    minor,
                    amount: cur.format_amount(minor),
                })
                .collect(),
            open_complaints: ints
                .items
                .iter()
                .filter(|i| i.status == Some(kesher_core::InteractionStatus::Open))
                .count() as u64,
            mean_satisfaction: (!sats.is_empty()).then(|| sats.iter().sum::<f64>() / sats.len() as f64),
        };
        let parent = match c.parent_id {
            Some(p) => app
                .get_customer(p)?
                .as_ref()
                .map(|p| CustomerDto::from(p).anonymised_if(anon)),
            None => None,
        };
        let history = app.consent_history(c.id)?;
        let offers = app.next_best_offers_if_mined(c.id, 3).map_err(offers_error)?;
        Ok(Json(OverviewDto {
            customer: CustomerDto::from(&c).anonymised_if(anon),
            parent,
            stats,
            transactions: txs.items.iter().take(50).map(TransactionDto::from).collect(),
            interactions: ints
                .items
                .iter()
                .take(50)
                .map(|i| {
                    let mut d = InteractionDto::from(i);
                    if anon {
                        d.text = None;
                    }
                    d
                })
                .collect(),
            consent_history: history
                .iter()
                .map(|h| {
                    let mut d = ConsentDto::from(&h.consent);
                    if anon {
                        d.source = String::new();
                    }
                    d
                })
                .collect(),
            next_best_offers_pending: offers.is_none(),
            next_best_offers: offers.into_iter().flatten().map(OfferDto::from).collect(),
            points_balance: if anon { None } else { Some(app.points_balance(c.id)?) },
        }))
    })
    .await
}
