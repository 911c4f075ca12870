//! The storage contract: one `Store` trait that the SQLite and PostgreSQL backends implement.
//!
//! The trait speaks in domain types only; no SQL crosses it. Every method that writes more
//! than one row does so in one database transaction. Imports run inside an `ImportTx`, a
//! unit of work that is committed whole or not at all.

pub mod accounts;
pub mod bulk;
pub mod campaigns;
pub mod checks;
pub mod jobs;
pub mod loyalty;
pub mod points;
pub mod rows;
pub mod search;
pub mod segments;
pub mod unit;

pub use accounts::{Accounts, ApiToken, CustomerRecords, ERASED_MARKER, ErasureReport, Privacy, Session, User};
pub use campaigns::{
    CampaignClick, CampaignRow, CampaignRows, CampaignState, MessageKey, MessageState, OutboxCounts, OutboxMessage,
};
pub use jobs::{Job, JobFinish, JobState, Jobs, NewJob};
pub use loyalty::{Loyalty, SaleFact, SurpriseDraw};
pub use points::{AwardReport, Points, PointsRequest, PointsTotals};
pub use segments::{SegmentEvent, SegmentEventKind, SegmentHistory, SegmentMember};
pub use unit::{
    Activity, Dependents, Lock, MovedRows, NewLedgerEntry, PointsRows, ProductFacts, RefundFacts, SaleScope, Tx,
    UnearnedSale, UnitOfWork, UnreversedRefund,
};

use jiff::Timestamp;
use kesher_core::{
    Branch, BranchId, Customer, CustomerId, DuplicateCandidate, Email, Employee, EmployeeId, Interaction,
    InteractionId, Params, Phone, Product, ProductId, Transaction, TransactionId,
};
use std::borrow::Cow;

/// What can go wrong in a store, in terms a caller can act on. Each carries a stable code and
/// its named arguments (`code()`, `params()`, listed in kesher_core::codes::CATALOGUE) besides
/// the English text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Code `<entity>.not_found`; the key is a parameter only when it is not personal data.
    #[error("{entity} not found: {key}")]
    NotFound { entity: &'static str, key: String },
    /// A unique value is already taken, or the change conflicts with existing data.
    #[error("{field}: {reason}")]
    Conflict {
        field: &'static str,
        reason: String,
        code: &'static str,
        params: Params,
    },
    #[error("{field}: {reason}")]
    Invalid {
        field: &'static str,
        reason: String,
        code: &'static str,
        params: Params,
    },
    /// The backend failed (I/O, corruption, connection): not the caller's fault. Code `internal`.
    #[error("storage backend: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub fn not_found(entity: &'static str, key: impl ToString) -> Self {
        StoreError::NotFound {
            entity,
            key: key.to_string(),
        }
    }
    /// A conflict with the generic code `conflict`; prefer [`StoreError::conflict_coded`].
    pub fn conflict(field: &'static str, reason: impl Into<String>) -> Self {
        StoreError::conflict_coded("conflict", field, Params::new(), reason)
    }
    pub fn conflict_coded(code: &'static str, field: &'static str, params: Params, reason: impl Into<String>) -> Self {
        StoreError::Conflict {
            field,
            reason: reason.into(),
            code,
            params,
        }
    }
    /// Invalid input with the generic code `invalid`; prefer [`StoreError::invalid_coded`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        StoreError::invalid_coded("invalid", field, Params::new(), reason)
    }
    pub fn invalid_coded(code: &'static str, field: &'static str, params: Params, reason: impl Into<String>) -> Self {
        StoreError::Invalid {
            field,
            reason: reason.into(),
            code,
            params,
        }
    }

    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { entity, .. } => not_found_code(entity),
            StoreError::Conflict { code, .. } | StoreError::Invalid { code, .. } => code,
            StoreError::Backend(_) => "internal",
        }
    }

    /// The message's named arguments (a not-found key only when it is not personal data).
    pub fn params(&self) -> Params {
        match self {
            StoreError::NotFound { entity, key } if !PERSONAL_KEYS.contains(entity) => {
                kesher_core::params!(key = key.as_str())
            }
            StoreError::Conflict { params, .. } | StoreError::Invalid { params, .. } => params.clone(),
            _ => Params::new(),
        }
    }
}

/// Entities whose not-found key may be a person's identifier (a phone, an e-mail, a user name):
/// their key stays out of the parameters.
const PERSONAL_KEYS: &[&str] = &["customer", "identifier", "user"];

fn not_found_code(entity: &str) -> &'static str {
    match entity {
        "customer" => "customer.not_found",
        "user" => "user.not_found",
        "token" => "token.not_found",
        _ => "not_found",
    }
}

/// An identifier (phone, e-mail, card, member number) that already belongs to another customer:
/// a conflict coded `customer.<field>.taken`.
pub fn identifier_taken(field: &'static str, value: &str, owner: &str) -> StoreError {
    StoreError::conflict_coded(
        identifier_taken_code(field),
        field,
        kesher_core::params!(value = value, owner = owner),
        format!("{value} already belongs to customer {owner}"),
    )
}

fn identifier_taken_code(field: &str) -> &'static str {
    match field {
        "phone" => "customer.phone.taken",
        "email" => "customer.email.taken",
        "card" => "customer.card.taken",
        "member_no" => "customer.member_no.taken",
        _ => "customer.identifier.taken",
    }
}

/// A domain value's refusal as a store error, with its code and parameters.
impl From<kesher_core::DomainError> for StoreError {
    fn from(e: kesher_core::DomainError) -> Self {
        StoreError::Invalid {
            field: e.field,
            reason: e.reason,
            code: e.code,
            params: e.params,
        }
    }
}

/// An identifier a customer is recognised by at the point of sale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Phone(Phone),
    Email(Email),
    Member(String),
    Card(String),
}

impl Identifier {
    pub fn kind(&self) -> &'static str {
        match self {
            Identifier::Phone(_) => "phone",
            Identifier::Email(_) => "email",
            Identifier::Member(_) => "member",
            Identifier::Card(_) => "card",
        }
    }
    pub fn value(&self) -> &str {
        match self {
            Identifier::Phone(p) => p.as_str(),
            Identifier::Email(e) => e.as_str(),
            Identifier::Member(s) | Identifier::Card(s) => s,
        }
    }
}

/// Whether a write created something or found it already there (idempotency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    New,
    /// Present before this unit of work began (a re-import).
    AlreadyPresent,
    /// Written earlier by this same import unit of work: the file names the id twice.
    Repeated,
}

/// A record together with whether this call created it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded<T> {
    pub value: T,
    pub created: bool,
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Every match, or (when `total_capped`) `SEARCH_COUNT_CAP`: there are more than that.
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
    /// The listing counted only up to `SEARCH_COUNT_CAP` (a customer search).
    pub total_capped: bool,
}

impl<T> Page<T> {
    /// Whether another page follows this one. Past the first `SEARCH_COUNT_CAP` matches of a
    /// capped count, a full page says yes (the next may be empty).
    pub fn more(&self) -> bool {
        let seen = self.offset.saturating_add(self.items.len() as u64);
        seen < self.total
            || (self.total_capped && !self.items.is_empty() && self.items.len() as u64 >= u64::from(self.limit))
    }
}

/// Every item of a paged listing: `page(offset)` is asked for pages until the total is read.
pub fn all_pages<T>(mut page: impl FnMut(u64) -> Result<Page<T>>) -> Result<Vec<T>> {
    let mut all = Vec::new();
    loop {
        let p = page(all.len() as u64)?;
        let done = p.items.is_empty() || all.len() as u64 + p.items.len() as u64 >= p.total;
        all.extend(p.items);
        if done {
            return Ok(all);
        }
    }
}

/// Free-text customer search over name (normalised), phone, e-mail, member and card numbers.
#[derive(Debug, Clone, Default)]
pub struct CustomerQuery {
    pub text: Option<String>,
    /// Tried as an E.164 phone when the text parses as one.
    pub phone: Option<Phone>,
    /// Only customers registered at this branch (own-branch roles).
    pub branch: Option<kesher_core::BranchId>,
    pub limit: u32,
    pub offset: u64,
}

/// Who did something and when: recorded in the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    pub who: String,
    pub at: Timestamp,
    /// Where from: the client's address, "cli", "demo".
    pub origin: Option<String>,
}

impl Actor {
    pub fn new(who: impl Into<String>, at: Timestamp) -> Actor {
        Actor {
            who: who.into(),
            at,
            origin: None,
        }
    }
    pub fn from(mut self, origin: impl Into<String>) -> Actor {
        self.origin = Some(origin.into());
        self
    }
}

/// What a merge moved from the dropped record to the kept one.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeReport {
    pub kept: Customer,
    pub dropped_id: CustomerId,
    pub transactions_moved: u64,
    pub interactions_moved: u64,
    pub children_moved: u64,
    /// Identifiers of the dropped record kept as aliases of the kept one (`kind:value`).
    pub identifiers_moved: Vec<String>,
    /// The dropped record's points balance, added to the kept one's.
    pub points_moved: i64,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub origin: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// A page of the audit log, newest first (by `at`, then `seq`), keyset-paged: `before` is the
/// `seq` of the last entry of the previous page, never an offset. Every filter is exact; the
/// backends keep an index per filter (`actor`, `action`, `at`, each then `at, seq`) so that a page
/// reads about `limit` index entries however long the log is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditQuery {
    /// The entry's actor exactly ("user:dana", "token:pos-1").
    pub actor: Option<String>,
    /// The entry's action exactly ("user.create").
    pub action: Option<String>,
    /// Entries at or after this instant.
    pub from: Option<Timestamp>,
    /// Entries before this instant.
    pub until: Option<Timestamp>,
    /// Entries older than the entry with this `seq` (the previous page's last one).
    pub before: Option<i64>,
    pub limit: u32,
}

/// One change of consent, as kept in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsentEvent {
    pub customer_id: CustomerId,
    pub consent: kesher_core::Consent,
}

/// One basket for basket analysis: its products with their categories.
#[derive(Debug, Clone, PartialEq)]
pub struct BasketRow<'a> {
    pub transaction: &'a str,
    pub customer_id: Option<CustomerId>,
    pub branch: &'a str,
    pub occurred_at: Timestamp,
    /// (sku, category) per line.
    pub items: &'a [(String, Option<String>)],
}

/// One sale of an identified customer, for the customer summary that feeds the analytics.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseRow {
    pub customer_id: CustomerId,
    pub occurred_at: Timestamp,
    /// The sale's total in minor units.
    pub amount: i64,
    /// Its cost (Σ quantity × unit cost) when every product line has a known cost.
    pub cost: Option<i64>,
    pub currency: kesher_core::Currency,
}

/// The calendar period purchases are counted in by [`Store::purchase_summaries`]: UTC days, or
/// weeks running Monday to Sunday (UTC), as `kesher_analytics::PeriodUnit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryPeriod {
    Day,
    Week,
}

/// What [`Store::purchase_summaries`] summarises. Instants are whole seconds since the Unix epoch,
/// a sale's instant truncated to the second (as `Timestamp::as_second`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SummaryRequest {
    pub period: SummaryPeriod,
    /// Sales after this instant are left out.
    pub observation_end: i64,
    /// When set, sales at or before it form the calibration window and the later ones (up to
    /// `observation_end`) the holdout; customers without a calibration sale are left out.
    pub calibration_end: Option<i64>,
}

/// One customer's purchases folded by the database: the parts of the analytics' customer
/// summary, in periods (indexes as `PeriodUnit::period_of`) and minor units. Fields describe the
/// calibration window (the whole observation without a calibration end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseSummary {
    pub customer_id: CustomerId,
    pub first_period: i64,
    pub last_period: i64,
    /// Distinct purchase periods (frequency + 1).
    pub periods: u32,
    /// Spend in every period after the first.
    pub repeat_spend: i64,
    pub revenue: i64,
    /// Revenue minus cost; `None` unless every sale's cost is known.
    pub margin: Option<i64>,
    /// Sales in the window.
    pub visits: u32,
    /// Seconds since the epoch of the first and last sale.
    pub first_purchase: i64,
    pub last_purchase: i64,
    /// Holdout window (zero without a calibration end): distinct periods, spend, sales.
    pub holdout_periods: u32,
    pub holdout_spend: i64,
    pub holdout_visits: u32,
    /// The customer's sums do not fit in i64 (sales written before kesher's bounds): the sums
    /// above are 0 and the app leaves the customer out of the run, naming them.
    pub unrepresentable: bool,
}

/// What `kesher analyze` concluded about one customer at one date. Its names (model, stage,
/// RFM code, segment, tier) come from small fixed sets: an analysis borrows them, a read from
/// the database owns them, so that a run of a million customers allocates none.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerScore {
    pub customer_id: CustomerId,
    pub as_of: Timestamp,
    /// The model the predictions come from (`bgnbd`, `pareto-nbd`, `mbgnbd`).
    pub model: Cow<'static, str>,
    /// prospect, first_time, core, at_risk or defected.
    pub stage: Cow<'static, str>,
    /// Repeat purchase periods, time of last purchase and age (periods since first purchase).
    pub frequency: f64,
    pub recency: f64,
    pub t: f64,
    /// Mean value of repeat purchases, minor units.
    pub monetary: f64,
    pub revenue: i64,
    pub margin: Option<i64>,
    pub p_alive: Option<f64>,
    /// Expected purchases in the prediction horizon.
    pub expected_purchases: Option<f64>,
    /// Customer lifetime value over the horizon, minor units (margin-weighted, discounted).
    pub clv: Option<f64>,
    /// R, F and M quintile scores as "545".
    pub rfm: Option<Cow<'static, str>>,
    /// Named RFM segment (champions, loyal, at risk, ...).
    pub segment: Option<Cow<'static, str>>,
    /// Value tier by CLV: top, middle, rest.
    pub tier: Option<Cow<'static, str>>,
    /// The customer's estimated spend per year on what the business sells (minor units), from
    /// the `estimated_annual_spend` attribute; `None` when unknown.
    pub wallet: Option<i64>,
    /// Actual spend over the year up to `as_of` divided by `wallet`; `None` (unknown) without
    /// a wallet estimate.
    pub share_of_wallet: Option<f64>,
}

impl CustomerScore {
    /// The score of a customer without a purchase up to `as_of`: stage "prospect", zero
    /// summary, no predictions, no RFM, tier or wallet. What a run reports for the customers it
    /// leaves implicit.
    pub fn prospect(customer_id: CustomerId, as_of: Timestamp, model: &str) -> CustomerScore {
        CustomerScore {
            customer_id,
            as_of,
            model: Cow::Owned(model.to_string()),
            stage: Cow::Borrowed(PROSPECT),
            frequency: 0.0,
            recency: 0.0,
            t: 0.0,
            monetary: 0.0,
            revenue: 0,
            margin: None,
            p_alive: None,
            expected_purchases: None,
            clv: None,
            rfm: None,
            segment: None,
            tier: None,
            wallet: None,
            share_of_wallet: None,
        }
    }
}

/// The stage of a customer without a purchase (`kesher_analytics::Stage::Prospect`'s name).
pub const PROSPECT: &str = "prospect";

/// Add a run's implicit prospects to explicit per-key counts: `counts` holds (key, stage, n)
/// rows; `implicit` (key, n) rows add n to (key, "prospect"). Zero counts are dropped; the
/// result is ordered by key then stage, bytewise. Both backends' stage reports end here.
pub fn merge_stage_counts(
    counts: impl IntoIterator<Item = (String, String, u64)>,
    implicit: impl IntoIterator<Item = (String, u64)>,
) -> Vec<(String, String, u64)> {
    let mut all: std::collections::BTreeMap<(String, String), u64> = std::collections::BTreeMap::new();
    for (k, stage, n) in counts {
        *all.entry((k, stage)).or_default() += n;
    }
    for (k, n) in implicit {
        *all.entry((k, PROSPECT.to_string())).or_default() += n;
    }
    all.into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|((k, s), n)| (k, s, n))
        .collect()
}

/// A customer record as the audit log keeps it (before and after of a change or a merge).
pub fn customer_json(c: &Customer) -> serde_json::Value {
    let d = &c.demographics;
    serde_json::json!({
        "id": c.id.to_string(),
        "member_no": c.member_no,
        "kind": c.kind.as_str(),
        "parent_id": c.parent_id.map(|p| p.to_string()),
        "name": c.name,
        "phone": c.phone.as_ref().map(|p| p.as_str()),
        "email": c.email.as_ref().map(|e| e.as_str()),
        "card": c.card,
        "language": c.language,
        "birth_date": d.birth_date.map(|b| b.to_string()),
        "gender": d.gender.map(|g| g.as_str()),
        "city": d.city, "region": d.region, "household_size": d.household_size, "income_band": d.income_band,
        "attributes": c.attributes,
        "consents": c.consents.iter().map(|k| serde_json::json!({
            "channel": k.channel.as_str(), "state": k.state.as_str(), "at": k.at.to_string(), "source": k.source })).collect::<Vec<_>>(),
    })
}

/// Row counts of the main tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub branches: u64,
    pub employees: u64,
    pub products: u64,
    pub customers: u64,
    pub transactions: u64,
    pub transaction_lines: u64,
    pub interactions: u64,
}

/// What recording a sale did: the transaction, and the points entry it earned (a sale) or took
/// back (a refund) — on a retry, the first call's transaction and entry.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedSale {
    pub transaction: Recorded<Transaction>,
    pub points: Option<kesher_loyalty::LedgerEntry>,
    /// The customer's standing in the loyalty program after the sale (`None`: no program, or
    /// not a member).
    pub membership: Option<kesher_loyalty::SaleMembership>,
}

/// The storage contract of kesher. Implementations are safe to share between threads.
pub trait Store: Accounts + Privacy + Points + Loyalty + SegmentHistory + Jobs + UnitOfWork + Send + Sync {
    fn counts(&self) -> Result<Counts>;

    // Branches, employees, products.
    fn insert_branch(&self, b: &Branch) -> Result<Inserted>;
    fn get_branch(&self, id: BranchId) -> Result<Option<Branch>>;
    fn list_branches(&self) -> Result<Vec<Branch>>;
    fn insert_employee(&self, e: &Employee) -> Result<Inserted>;
    fn get_employee(&self, id: EmployeeId) -> Result<Option<Employee>>;
    fn list_employees(&self) -> Result<Vec<Employee>>;
    fn insert_product(&self, p: &Product) -> Result<Inserted>;
    fn get_product(&self, id: ProductId) -> Result<Option<Product>>;
    fn product_by_sku(&self, sku: &str) -> Result<Option<Product>>;
    fn list_products(&self, limit: u32, offset: u64) -> Result<Page<Product>>;
    fn branch_by_external(&self, ext: &str) -> Result<Option<Branch>>;
    fn employee_by_external(&self, ext: &str) -> Result<Option<Employee>>;

    // Customers.
    fn get_customer(&self, id: CustomerId) -> Result<Option<Customer>>;
    fn lookup_customer(&self, ident: &Identifier) -> Result<Option<Customer>>;
    fn search_customers(&self, q: &CustomerQuery) -> Result<Page<Customer>>;
    fn duplicate_candidates(&self) -> Result<Vec<DuplicateCandidate>>;
    /// Every customer's id (backends override this with a leaner query).
    fn customer_ids(&self) -> Result<Vec<CustomerId>> {
        Ok(self.duplicate_candidates()?.into_iter().map(|c| c.id).collect())
    }
    /// Every customer, one at a time in id order (segments read the whole base). The default
    /// reads them one by one; SQLite overrides it with one streaming query.
    fn for_each_customer(&self, f: &mut dyn FnMut(&Customer) -> Result<()>) -> Result<()> {
        let mut ids = self.customer_ids()?;
        ids.sort();
        for id in ids {
            if let Some(c) = self.get_customer(id)? {
                f(&c)?;
            }
        }
        Ok(())
    }
    fn consent_history(&self, id: CustomerId) -> Result<Vec<ConsentEvent>>;
    /// The customer a dropped id was merged into, if it was.
    fn merged_into(&self, dropped: CustomerId) -> Result<Option<CustomerId>>;

    // Transactions and interactions.
    fn get_transaction(&self, id: TransactionId) -> Result<Option<Transaction>>;
    fn transaction_by_external(&self, ext: &str) -> Result<Option<Transaction>>;
    /// Newest first.
    fn list_transactions(&self, customer: Option<CustomerId>, limit: u32, offset: u64) -> Result<Page<Transaction>>;
    fn get_interaction(&self, id: InteractionId) -> Result<Option<Interaction>>;
    /// Newest first.
    fn list_interactions(&self, customer: Option<CustomerId>, limit: u32, offset: u64) -> Result<Page<Interaction>>;

    /// Stream every sale's products, basket by basket (refunds and amount-only lines left out),
    /// optionally for one branch (external id) only. `f` is called once per basket.
    fn for_each_basket(&self, branch: Option<&str>, f: &mut dyn FnMut(&BasketRow<'_>)) -> Result<()>;

    /// Stream every sale of an identified customer (refunds left out), ordered by customer id,
    /// then time. A customer merged into another counts under the kept id.
    fn for_each_purchase(&self, f: &mut dyn FnMut(&PurchaseRow)) -> Result<()>;

    /// The sales of `for_each_purchase` in whatever order the store reads them fastest, for a
    /// caller that groups them itself (the analytics refresh sorts them in memory).
    fn for_each_purchase_any_order(&self, f: &mut dyn FnMut(&PurchaseRow)) -> Result<()> {
        self.for_each_purchase(f)
    }
    /// The per-customer purchase summary computed inside the database (one aggregate query
    /// grouped by customer), by customer id, when the backend can; `Ok(false)` means "not
    /// supported: read `for_each_purchase` and summarise in process". Sales are those of
    /// `for_each_purchase`; the results equal `kesher_analytics::summarize` over them.
    fn purchase_summaries(&self, _req: &SummaryRequest, _f: &mut dyn FnMut(&PurchaseSummary)) -> Result<bool> {
        Ok(false)
    }
    /// Customers per (first-purchase month, month of a purchase), counted inside the database
    /// when the backend can (`None`: not supported, the caller reads the sales itself). Months
    /// are indexes into `month_starts` (each month's first second, oldest first): a sale at `t`
    /// falls in month `month_starts.partition_point(|s| s <= t)`, so 0 is "before the first";
    /// only sales (not refunds) of known customers up to `end` count, each customer once per
    /// month. The dashboard's cohort retention is built from it.
    fn cohort_counts(&self, _month_starts: &[i64], _end: i64) -> Result<Option<Vec<(u32, u32, u64)>>> {
        Ok(None)
    }
    /// Store one analysis run (one transaction): `scores` replace the stored scores (each
    /// stored with this run's `as_of` and `model`, whatever its own fields say), and each
    /// customer's stage is recorded for the month of `as_of` in UTC (the stage history; a re-run
    /// in the same month replaces that month). Prospects are implicit: every customer that exists
    /// when the call commits and has no row in `scores` is a prospect of this run, reported by
    /// `customer_score` and `list_customer_scores` as [`CustomerScore::prospect`] (with this
    /// `as_of` and `model`) and counted as "prospect" in the month's stage counts and
    /// transitions. A customer inserted later belongs to no run until the next one. Every score
    /// must name an existing customer, at most once. Returns the number of implicit prospects.
    fn replace_customer_scores(&self, as_of: Timestamp, model: &str, scores: &[CustomerScore]) -> Result<u64>;
    /// The customer's score from the latest run: its stored row, or a prospect's
    /// ([`CustomerScore::prospect`]) when the run left the customer implicit; `None` when no run
    /// knew the customer.
    fn customer_score(&self, id: CustomerId) -> Result<Option<CustomerScore>>;
    /// Customers whose attributes hold `estimated_annual_spend`, with its value as written
    /// (a JSON string such as "12000.00", or a number as text).
    fn customer_wallets(&self) -> Result<Vec<(CustomerId, String)>>;
    /// Record the stage of each customer for one month (the history the ladder's transitions
    /// read), replacing that month's rows; for past months computed after the fact (backfill).
    /// The month then holds exactly these customers: none is an implicit prospect in it.
    fn record_stage_history(&self, month: &str, stages: &[(CustomerId, &str)]) -> Result<()>;
    /// Every score of the latest run, implicit prospects included, by customer id.
    fn list_customer_scores(&self) -> Result<Vec<CustomerScore>>;
    /// Customers per stage for every month recorded: (month "YYYY-MM", stage, count), by month
    /// then stage (bytewise); a run's implicit prospects count as "prospect"; no zero counts.
    fn stage_counts(&self) -> Result<Vec<(String, String, u64)>>;
    /// How customers moved between the stages of two recorded months: (from, to, count), by
    /// from then to (bytewise); a customer absent in `from_month` (neither a row nor an implicit
    /// prospect of it) counts as from "new". Implicit prospects count as "prospect".
    fn stage_transitions(&self, from_month: &str, to_month: &str) -> Result<Vec<(String, String, u64)>>;

    fn audit_log(&self, limit: u32, offset: u64) -> Result<Vec<AuditEntry>>;
    /// A page of the audit log under `AuditQuery`'s filters, newest first (`at`, then `seq`).
    fn audit_page(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>>;
    /// Append an entry to the audit log (for changes made outside the store's own methods).
    fn append_audit(
        &self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: &str,
        after: Option<&serde_json::Value>,
    ) -> Result<()>;
    /// Whether any audit entry has this action (e.g. "demo.generate").
    fn has_audit_action(&self, action: &str) -> Result<bool>;

    /// Stream every row of one table (`kesher copy`), in no particular order.
    fn bulk_read(&self, table: &'static bulk::TableSpec, _f: &mut dyn FnMut(&[bulk::Value])) -> Result<()> {
        Err(StoreError::Backend(format!(
            "this store cannot read {} in bulk",
            table.name
        )))
    }
    /// Rows in one table (`kesher copy` refuses a non-empty target).
    fn bulk_count(&self, table: &'static bulk::TableSpec) -> Result<u64> {
        let mut n = 0;
        self.bulk_read(table, &mut |_| n += 1)?;
        Ok(n)
    }
    /// Open a bulk write (`kesher copy`): rows keep their ids, instants and sequence numbers.
    fn begin_bulk_write(&self) -> Result<Box<dyn bulk::BulkWrite + '_>> {
        Err(StoreError::Backend("this store cannot be written in bulk".into()))
    }

    /// Open a unit of work for a bulk import: everything written through it lands on
    /// `commit`, nothing if it is dropped.
    fn begin_import(&self) -> Result<Box<dyn ImportTx + '_>>;
}

/// A bulk-import unit of work. A failed insert leaves the unit usable (the row is simply not
/// written), so that `--skip-invalid` can go on; lookups see the unit's own earlier writes.
pub trait ImportTx: PointsRows {
    fn branch_ref(&mut self, external_id: &str) -> Result<Option<BranchId>>;
    fn employee_ref(&mut self, external_id: &str) -> Result<Option<EmployeeId>>;
    /// By member number, including member numbers of customers merged into another.
    fn customer_ref(&mut self, member_no: &str) -> Result<Option<CustomerId>>;
    fn product_ref(&mut self, sku: &str) -> Result<Option<ProductId>>;
    /// The currency of a product's price, by sku (a sale line in another currency is refused).
    fn product_currency(&mut self, sku: &str) -> Result<Option<kesher_core::Currency>>;
    fn transaction_ref(&mut self, external_id: &str) -> Result<Option<TransactionId>>;
    fn insert_branch(&mut self, b: &Branch) -> Result<Inserted>;
    fn insert_employee(&mut self, e: &Employee) -> Result<Inserted>;
    fn insert_product(&mut self, p: &Product) -> Result<Inserted>;
    /// `AlreadyPresent` when the member number exists; `Conflict` when another customer holds
    /// the phone, e-mail or card.
    fn insert_customer(&mut self, c: &Customer) -> Result<Inserted>;
    /// Insert several customers in order; one result per customer, as if each had been given to
    /// `insert_customer` in turn (backends override this to check and write them together).
    fn insert_customers(&mut self, cs: &[&Customer]) -> Vec<Result<Inserted>> {
        cs.iter().map(|c| self.insert_customer(c)).collect()
    }
    fn insert_transaction(&mut self, t: &Transaction) -> Result<Inserted>;
    /// Insert several transactions in order; one result per transaction, as if each had been
    /// given to `insert_transaction` (backends override this to reuse their statements).
    fn insert_transactions(&mut self, ts: &[&Transaction]) -> Vec<Result<Inserted>> {
        ts.iter().map(|t| self.insert_transaction(t)).collect()
    }
    fn insert_interaction(&mut self, i: &Interaction) -> Result<Inserted>;
    fn commit(self: Box<Self>) -> Result<()>;
}
