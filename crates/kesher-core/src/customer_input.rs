//! One way from outside input (a JSON body, a CSV row) to a customer record: every value
//! trimmed and parsed by the domain's parsers, checked in one documented order, each error
//! naming the field as the source spells it.
//!
//! The values that need no store are read by [`parse`]; the references a store resolves
//! (parent, registering branch and employee) by [`resolve`] with the caller's [`References`],
//! at the [`Stage`]s between which the documented order places them. [`build`] does both.

use crate::{BranchId, EmployeeId};
use crate::{
    Consent, ConsentChannel, ConsentState, Country, Customer, CustomerId, CustomerKind, DomainError, Email, Gender,
    Phone, parse_date, parse_external_id, parse_language,
};
use jiff::Timestamp;

/// Where input comes from: it decides how fields are named in errors and where consents say
/// they were given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputSource {
    /// A JSON body of the HTTP API (`member_no`, `branch`, `employee`, `consents`).
    Api,
    /// A row of a customers CSV file (`customer_id`, `branch_id`, `employee_id`, `consent_email`, …).
    Import,
}

impl InputSource {
    pub fn member_no(self) -> &'static str {
        match self {
            InputSource::Api => "member_no",
            InputSource::Import => "customer_id",
        }
    }

    pub fn branch(self) -> &'static str {
        match self {
            InputSource::Api => "branch",
            InputSource::Import => "branch_id",
        }
    }

    pub fn employee(self) -> &'static str {
        match self {
            InputSource::Api => "employee",
            InputSource::Import => "employee_id",
        }
    }

    /// The field of a consent: the API's `consents` object, a file's column per channel.
    pub fn consent(self, channel: Option<ConsentChannel>) -> &'static str {
        match (self, channel) {
            (InputSource::Api, _) | (InputSource::Import, None) => "consents",
            (InputSource::Import, Some(ConsentChannel::Email)) => "consent_email",
            (InputSource::Import, Some(ConsentChannel::Sms)) => "consent_sms",
            (InputSource::Import, Some(ConsentChannel::Phone)) => "consent_phone",
        }
    }

    /// A consent's `source`.
    pub fn consent_source(self) -> &'static str {
        match self {
            InputSource::Api => "api",
            InputSource::Import => "import",
        }
    }
}

/// The attributes as given: a JSON value (a body's member) or its text (a file's column).
#[derive(Debug, Clone, PartialEq)]
pub enum AttributesInput<'a> {
    Json(serde_json::Value),
    Text(&'a str),
}

/// A customer as given, every value as text (absent: `None`). An empty or blank free-text value
/// (name, phone, e-mail, city, region, income band) is absent; an empty identifier or coded value
/// is refused by its parser.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerInput<'a> {
    pub member_no: Option<&'a str>,
    pub kind: Option<&'a str>,
    /// The parent account as the source names it (a customer id in the API, a member number in
    /// a file): resolved by [`References::parent`].
    pub parent: Option<&'a str>,
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub card: Option<&'a str>,
    pub language: Option<&'a str>,
    pub birth_date: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub city: Option<&'a str>,
    pub region: Option<&'a str>,
    pub household_size: Option<&'a str>,
    pub income_band: Option<&'a str>,
    /// RFC 3339 or a date; the record's creation time and its consents' time.
    pub created_at: Option<&'a str>,
    /// The registering branch's external id.
    pub branch: Option<&'a str>,
    /// The registering employee's external id.
    pub employee: Option<&'a str>,
    /// (channel, state) pairs: `("email", "granted")`.
    pub consents: Vec<(&'a str, &'a str)>,
    pub attributes: Option<AttributesInput<'a>>,
}

impl<'a> CustomerInput<'a> {
    /// The references [`resolve`] looks up.
    pub fn references(&self) -> ReferencesInput<'a> {
        ReferencesInput {
            parent: self.parent,
            branch: self.branch,
            employee: self.employee,
        }
    }
}

/// The values of a [`CustomerInput`] that name other records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReferencesInput<'a> {
    pub parent: Option<&'a str>,
    pub branch: Option<&'a str>,
    pub employee: Option<&'a str>,
}

/// Where a value's check falls in the documented order relative to the references: the member
/// number, creation time and kind come before the parent; the values up to the income band
/// between the parent and the branch; consents and attributes after the employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    BeforeParent,
    BeforeBranch,
    AfterEmployee,
}

/// What [`parse`] needs besides the input: the country a local phone number is read in (the
/// caller's branch's, then the business's), "now" (creation and consent time when the input
/// gives none) and the source.
#[derive(Debug, Clone, Copy)]
pub struct InputContext {
    pub country: Country,
    pub now: Timestamp,
    pub source: InputSource,
}

/// The first problem of an input, with its stage.
pub type StagedError = (Stage, DomainError);

/// A value that is absent when blank.
fn text(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|t| !t.is_empty())
}

/// A parser's error named as the source names the field.
fn named(field: &'static str) -> impl Fn(DomainError) -> DomainError {
    move |mut e| {
        e.field = field;
        e
    }
}

/// Set `c` from the values of `input` that need no store, in the documented order; on the first
/// problem `c` holds what came before it. A value absent from `input` clears the field (the
/// creation time excepted, which stays when absent); consents are changed
/// channel by channel and keep their time when their state does not change.
pub fn parse(c: &mut Customer, input: &CustomerInput<'_>, ctx: &InputContext) -> Result<(), StagedError> {
    head(c, input, ctx).map_err(|e| (Stage::BeforeParent, e))?;
    body(c, input, ctx).map_err(|e| (Stage::BeforeBranch, e))?;
    tail(c, input, ctx).map_err(|e| (Stage::AfterEmployee, e))
}

fn head(c: &mut Customer, input: &CustomerInput<'_>, ctx: &InputContext) -> Result<(), DomainError> {
    let member_field = ctx.source.member_no();
    c.member_no = input
        .member_no
        .map(|m| parse_external_id(m, member_field))
        .transpose()
        .map_err(named(member_field))?;
    if let Some(t) = text(input.created_at) {
        // Within the window every door applies (not before 1900, at most a day ahead).
        c.created_at = crate::parse_instant_within(t, "created_at", ctx.now)?;
    }
    c.kind = input
        .kind
        .map(CustomerKind::parse)
        .transpose()
        .map_err(named("kind"))?
        .unwrap_or(CustomerKind::Consumer);
    Ok(())
}

fn body(c: &mut Customer, input: &CustomerInput<'_>, ctx: &InputContext) -> Result<(), DomainError> {
    c.name = text(input.name).map(str::to_string);
    c.phone = text(input.phone)
        .map(|p| Phone::parse(p, ctx.country))
        .transpose()
        .map_err(named("phone"))?;
    c.email = text(input.email)
        .map(Email::parse)
        .transpose()
        .map_err(named("email"))?;
    c.card = input.card.map(|v| parse_external_id(v, "card")).transpose()?;
    c.language = input
        .language
        .map(parse_language)
        .transpose()
        .map_err(named("language"))?;
    let d = &mut c.demographics;
    d.birth_date = input.birth_date.map(|v| parse_date(v, "birth_date")).transpose()?;
    d.gender = input.gender.map(Gender::parse).transpose().map_err(named("gender"))?;
    d.city = text(input.city).map(str::to_string);
    d.region = text(input.region).map(str::to_string);
    d.household_size = input.household_size.map(household_size).transpose()?;
    d.income_band = text(input.income_band).map(str::to_string);
    Ok(())
}

fn household_size(v: &str) -> Result<u16, DomainError> {
    let t = v.trim();
    match t.parse::<u16>() {
        Ok(0) => Err(DomainError::new(
            "customer.household_size.too_small",
            "household_size",
            "must be at least 1",
        )),
        Ok(n) => Ok(n),
        Err(_) => Err(DomainError::new(
            "customer.household_size.invalid",
            "household_size",
            format!("must be a positive whole number, found {t:?}"),
        )
        .with("value", t)),
    }
}

fn tail(c: &mut Customer, input: &CustomerInput<'_>, ctx: &InputContext) -> Result<(), DomainError> {
    let at = if input.created_at.is_some() {
        c.created_at
    } else {
        ctx.now
    };
    for (channel, state) in &input.consents {
        let channel = ConsentChannel::parse(channel).map_err(named(ctx.source.consent(None)))?;
        let state = ConsentState::parse(state).map_err(named(ctx.source.consent(Some(channel))))?;
        let consent = Consent {
            channel,
            state,
            at,
            source: ctx.source.consent_source().into(),
        };
        match c.consents.iter_mut().find(|k| k.channel == channel) {
            Some(k) if k.state == state => {}
            Some(k) => *k = consent,
            None => c.consents.push(consent),
        }
    }
    c.attributes = match &input.attributes {
        None => serde_json::Map::new(),
        Some(AttributesInput::Json(serde_json::Value::Object(m))) => m.clone(),
        Some(AttributesInput::Json(serde_json::Value::Null)) => serde_json::Map::new(),
        Some(AttributesInput::Json(_)) => return Err(not_an_object()),
        Some(AttributesInput::Text(t)) => match serde_json::from_str::<serde_json::Value>(t) {
            Ok(serde_json::Value::Object(m)) => m,
            Ok(_) => return Err(not_an_object()),
            Err(e) => {
                return Err(DomainError::new(
                    "customer.attributes.invalid_json",
                    "attributes",
                    format!("invalid JSON: {e}"),
                )
                .with("detail", e.to_string()));
            }
        },
    };
    Ok(())
}

fn not_an_object() -> DomainError {
    DomainError::new(
        "customer.attributes.not_an_object",
        "attributes",
        "must be a JSON object such as {\"lifestyle\":\"runner\"}",
    )
}

/// How a caller finds the records an input names; each error is the caller's (an unknown
/// branch is an error for the API, a branch to create for an import with `create_missing`).
pub trait References {
    type Error: From<DomainError>;
    fn parent(&mut self, value: &str) -> Result<CustomerId, Self::Error>;
    fn branch(&mut self, value: &str) -> Result<BranchId, Self::Error>;
    /// `branch` is the customer's registering branch (an employee created for the row joins it).
    fn employee(&mut self, value: &str, branch: Option<BranchId>) -> Result<EmployeeId, Self::Error>;
}

/// Resolve the references of an input that [`parse`] read into `c` (with `parsed`, its outcome),
/// reporting the first problem in the documented order: a value before the parent, the parent,
/// a value before the branch, the branch, the employee, a value after the employee.
pub fn resolve<R: References>(
    c: &mut Customer,
    parsed: Result<(), StagedError>,
    refs: ReferencesInput<'_>,
    resolver: &mut R,
) -> Result<(), R::Error> {
    let fails_at = |stage: Stage| match &parsed {
        Err((at, e)) if *at == stage => Err(R::Error::from(e.clone())),
        _ => Ok(()),
    };
    fails_at(Stage::BeforeParent)?;
    c.parent_id = refs.parent.map(|p| resolver.parent(p)).transpose()?;
    fails_at(Stage::BeforeBranch)?;
    c.source_branch = refs.branch.map(|b| resolver.branch(b)).transpose()?;
    c.source_employee = refs
        .employee
        .map(|e| resolver.employee(e, c.source_branch))
        .transpose()?;
    fails_at(Stage::AfterEmployee)
}

/// [`parse`] then [`resolve`]: `c` set from the whole input, or the first problem.
pub fn build<R: References>(
    c: &mut Customer,
    input: &CustomerInput<'_>,
    ctx: &InputContext,
    resolver: &mut R,
) -> Result<(), R::Error> {
    let parsed = parse(c, input, ctx);
    resolve(c, parsed, input.references(), resolver)
}

#[cfg(test)]
mod tests;
