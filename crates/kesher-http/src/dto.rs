//! JSON shapes of the API and their conversions to and from domain values. Money goes out as
//! minor units plus a decimal string; it comes in as a decimal string in major units.

use crate::error::AppError;
use kesher_core::{Branch, Consent, Customer, Employee, Interaction, Line, Product, Transaction};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct ConsentDto {
    /// email, sms or phone.
    pub channel: String,
    /// granted or withdrawn.
    pub state: String,
    pub at: String,
    pub source: String,
}

impl From<&Consent> for ConsentDto {
    fn from(c: &Consent) -> Self {
        ConsentDto {
            channel: c.channel.to_string(),
            state: c.state.to_string(),
            at: c.at.to_string(),
            source: c.source.clone(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: String,
    pub member_no: Option<String>,
    /// consumer, intermediary or internal.
    pub kind: String,
    pub parent_id: Option<String>,
    pub name: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub card: Option<String>,
    pub language: Option<String>,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub household_size: Option<u16>,
    pub income_band: Option<String>,
    #[schema(value_type = Object)]
    pub attributes: serde_json::Value,
    pub created_at: String,
    pub source_branch_id: Option<String>,
    pub source_employee_id: Option<String>,
    pub consents: Vec<ConsentDto>,
}

impl CustomerDto {
    /// Without personal identifiers or free text: what an analyst sees. Kept: the id (a
    /// pseudonym), kind, language, gender, city and region, household size, income band, the
    /// dates and the consent states.
    pub fn anonymised(mut self) -> CustomerDto {
        self.member_no = None;
        self.name = None;
        self.phone = None;
        self.email = None;
        self.card = None;
        self.birth_date = None;
        self.attributes = serde_json::Value::Object(Default::default());
        for k in &mut self.consents {
            k.source = String::new();
        }
        self
    }

    /// Anonymised when `yes`.
    pub fn anonymised_if(self, yes: bool) -> CustomerDto {
        if yes { self.anonymised() } else { self }
    }
}

impl From<&Customer> for CustomerDto {
    fn from(c: &Customer) -> Self {
        let d = &c.demographics;
        CustomerDto {
            id: c.id.to_string(),
            member_no: c.member_no.clone(),
            kind: c.kind.to_string(),
            parent_id: c.parent_id.map(|p| p.to_string()),
            name: c.name.clone(),
            phone: c.phone.as_ref().map(|p| p.to_string()),
            email: c.email.as_ref().map(|e| e.to_string()),
            card: c.card.clone(),
            language: c.language.clone(),
            birth_date: d.birth_date.map(|b| b.to_string()),
            gender: d.gender.map(|g| g.to_string()),
            city: d.city.clone(),
            region: d.region.clone(),
            household_size: d.household_size,
            income_band: d.income_band.clone(),
            attributes: serde_json::Value::Object(c.attributes.clone()),
            created_at: c.created_at.to_string(),
            source_branch_id: c.source_branch.map(|b| b.to_string()),
            source_employee_id: c.source_employee.map(|e| e.to_string()),
            consents: c.consents.iter().map(ConsentDto::from).collect(),
        }
    }
}

/// A customer as sent to create, replace (`PUT`: the identifying fields must be present, null
/// clears one; other absent fields are cleared) or patch (`PATCH`: a JSON Merge Patch) one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// The business's member number; unique.
    pub member_no: Option<String>,
    /// consumer (default), intermediary or internal.
    pub kind: Option<String>,
    /// Id of the intermediary account this customer buys through.
    pub parent_id: Option<String>,
    pub name: Option<String>,
    /// Any common notation; stored as E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    pub card: Option<String>,
    pub language: Option<String>,
    /// YYYY-MM-DD.
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub household_size: Option<u16>,
    pub income_band: Option<String>,
    /// A JSON object: needs, expectations, lifestyle, estimated category spend.
    #[schema(value_type = Option<Object>)]
    pub attributes: Option<serde_json::Value>,
    /// External id of the registering branch.
    pub branch: Option<String>,
    /// External id of the registering employee.
    pub employee: Option<String>,
    /// Consent per channel: {"email": "granted", "sms": "withdrawn"}.
    #[schema(value_type = Option<Object>)]
    pub consents: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Serialize, ToSchema)]
pub struct BranchDto {
    pub id: String,
    pub external_id: String,
    pub name: String,
    pub region: Option<String>,
    pub time_zone: String,
}

impl From<&Branch> for BranchDto {
    fn from(b: &Branch) -> Self {
        BranchDto {
            id: b.id.to_string(),
            external_id: b.external_id.clone(),
            name: b.name.clone(),
            region: b.region.clone(),
            time_zone: b.time_zone.clone(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchInput {
    pub external_id: String,
    pub name: String,
    pub region: Option<String>,
    /// IANA time zone, default UTC.
    pub time_zone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EmployeeDto {
    pub id: String,
    pub external_id: String,
    pub name: String,
    pub branch_id: Option<String>,
}

impl From<&Employee> for EmployeeDto {
    fn from(e: &Employee) -> Self {
        EmployeeDto {
            id: e.id.to_string(),
            external_id: e.external_id.clone(),
            name: e.name.clone(),
            branch_id: e.branch_id.map(|b| b.to_string()),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmployeeInput {
    pub external_id: String,
    pub name: String,
    /// External id of the branch.
    pub branch: Option<String>,
}

#[derive(Serialize, ToSchema, Clone)]
pub struct MoneyDto {
    pub minor: i64,
    /// Decimal in major units, e.g. "89.90".
    pub amount: String,
    pub currency: String,
}

impl MoneyDto {
    pub fn new(minor: i64, currency: kesher_core::Currency) -> Self {
        MoneyDto {
            minor,
            amount: currency.format_amount(minor),
            currency: currency.to_string(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProductDto {
    pub id: String,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub list_price: MoneyDto,
    pub unit_cost: Option<MoneyDto>,
}

impl From<&Product> for ProductDto {
    fn from(p: &Product) -> Self {
        let cur = p.list_price.currency;
        ProductDto {
            id: p.id.to_string(),
            sku: p.sku.clone(),
            name: p.name.clone(),
            category: p.category.clone(),
            list_price: MoneyDto::new(p.list_price.minor, cur),
            unit_cost: p.unit_cost.map(|c| MoneyDto::new(c, cur)),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    /// Decimal in major units, e.g. "89.90".
    pub list_price: String,
    pub unit_cost: Option<String>,
    pub currency: String,
}

#[derive(Serialize, ToSchema)]
pub struct LineDto {
    pub sku: Option<String>,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub discount_minor: i64,
    pub total_minor: i64,
}

impl From<&Line> for LineDto {
    fn from(l: &Line) -> Self {
        LineDto {
            sku: l.sku.clone(),
            quantity: l.quantity,
            unit_price_minor: l.unit_price,
            discount_minor: l.discount,
            total_minor: l.total().unwrap_or(0),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TransactionDto {
    pub id: String,
    pub external_id: String,
    pub customer_id: Option<String>,
    pub branch_id: String,
    pub employee_id: Option<String>,
    pub occurred_at: String,
    pub total: MoneyDto,
    pub lines: Vec<LineDto>,
    pub refund_of: Option<String>,
    /// On `POST /api/transactions`: the points this sale earned or this refund took back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<crate::points::LedgerEntryDto>,
    /// On `POST /api/transactions` under a loyalty program: the member's tier after the sale and
    /// the upgrade it made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub membership: Option<crate::loyalty::MembershipDto>,
}

impl From<&Transaction> for TransactionDto {
    fn from(t: &Transaction) -> Self {
        TransactionDto {
            id: t.id.to_string(),
            external_id: t.external_id.clone(),
            customer_id: t.customer_id.map(|c| c.to_string()),
            branch_id: t.branch_id.to_string(),
            employee_id: t.employee_id.map(|e| e.to_string()),
            occurred_at: t.occurred_at.to_string(),
            total: MoneyDto::new(t.total().unwrap_or(0), t.currency),
            lines: t.lines.iter().map(LineDto::from).collect(),
            refund_of: t.refund_of.map(|r| r.to_string()),
            points: None,
            membership: None,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineInput {
    /// Empty or absent for an amount-only transaction (quantity 1).
    pub sku: Option<String>,
    pub quantity: i64,
    /// Decimal in major units, e.g. "89.90".
    pub unit_price: String,
    /// Decimal in major units off the whole line.
    pub discount: Option<String>,
}

/// A sale or refund from a point of sale. Retrying with the same `external_id` returns the first
/// result and creates nothing.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransactionInput {
    pub external_id: String,
    /// Internal id of the customer (or give `member_no`); neither for an anonymous sale.
    pub customer_id: Option<String>,
    pub member_no: Option<String>,
    /// External id of the branch.
    pub branch: String,
    /// External id of the employee.
    pub employee: Option<String>,
    /// RFC 3339 instant.
    pub occurred_at: String,
    pub currency: String,
    pub lines: Vec<LineInput>,
    /// External id of the sale this refund returns.
    pub refund_of: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InteractionDto {
    pub id: String,
    pub external_id: Option<String>,
    pub customer_id: String,
    pub channel: String,
    pub kind: String,
    pub occurred_at: String,
    pub text: Option<String>,
    pub employee_id: Option<String>,
    pub satisfaction: Option<u8>,
    pub status: Option<String>,
}

impl From<&Interaction> for InteractionDto {
    fn from(i: &Interaction) -> Self {
        InteractionDto {
            id: i.id.to_string(),
            external_id: i.external_id.clone(),
            customer_id: i.customer_id.to_string(),
            channel: i.channel.to_string(),
            kind: i.kind.to_string(),
            occurred_at: i.occurred_at.to_string(),
            text: i.text.clone(),
            employee_id: i.employee_id.map(|e| e.to_string()),
            satisfaction: i.satisfaction,
            status: i.status.map(|s| s.to_string()),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    /// Optional; when given, a retry with the same id creates nothing.
    pub external_id: Option<String>,
    pub customer_id: String,
    /// store, phone, email, sms, web or social.
    pub channel: String,
    /// visit, call, inquiry, complaint, compliment, note, or click (a campaign link followed).
    pub kind: String,
    /// RFC 3339; default now.
    pub occurred_at: Option<String>,
    pub text: Option<String>,
    /// External id of the employee.
    pub employee: Option<String>,
    /// 1 to 5.
    pub satisfaction: Option<u8>,
    /// open or resolved; complaints only.
    pub status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PageDto<T: ToSchema> {
    pub items: Vec<T>,
    /// Every match; for a customer search, counted up to 1,000 (`total_capped`: more than that).
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    /// `total` is a lower bound: the listing counts at most 1,000 matches (a customer search).
    pub total_capped: bool,
    /// Another page follows (`offset` + `limit`). Past the first 1,000 matches of a capped
    /// count, a full page says so and the next may be empty.
    pub more: bool,
}

impl<T: ToSchema> PageDto<T> {
    pub fn from_page<U>(p: kesher_store::Page<U>) -> PageDto<T>
    where
        for<'a> T: From<&'a U>,
    {
        PageDto {
            items: p.items.iter().map(T::from).collect(),
            total: p.total,
            limit: p.limit,
            offset: p.offset,
            total_capped: p.total_capped,
            more: p.more(),
        }
    }
}

pub fn parse_id<T: std::str::FromStr>(s: &str, field: &str) -> Result<T, AppError> {
    s.trim().parse::<T>().map_err(|_| {
        AppError::invalid(field, format!("not a valid id: {s:?}"))
            .coded("id.invalid")
            .param("value", s)
    })
}
