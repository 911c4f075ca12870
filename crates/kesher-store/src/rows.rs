//! Rows to domain values, written once for both backends: a backend's row type implements
//! [`Columns`] ("column `i` as a text, an id, an instant …", each in its own storage type),
//! and each record is mapped here from the same `SELECT` text.

use crate::accounts::{stored_role, stored_scopes};
use crate::jobs::stored_state;
use crate::points::stored_kind;
use crate::{ApiToken, AuditEntry, CustomerScore, Job, Result, StoreError, User};
use jiff::Timestamp;
use jiff::civil::Date;
use kesher_core::{
    Branch, BranchId, Channel, Consent, ConsentChannel, ConsentState, Currency, Customer, CustomerId, CustomerKind,
    Demographics, DuplicateCandidate, Email, Employee, EmployeeId, Gender, Interaction, InteractionId, InteractionKind,
    InteractionStatus, JobId, Line, Money, Phone, Product, ProductId, TokenId, Transaction, TransactionId, UserId,
};
use kesher_loyalty::{LedgerEntry, Member, MemberEvent, MemberEventKind, MemberStatus};
use std::borrow::Cow;

/// One result row as a backend reads it: column `i` (from 0) as a domain-level value. Ids are
/// 16 bytes (SQLite: a BLOB, PostgreSQL: uuid), instants microsecond timestamps (INTEGER /
/// timestamptz), JSON an object (TEXT / jsonb).
pub trait Columns {
    fn id(&self, i: usize) -> Result<[u8; 16]>;
    fn opt_id(&self, i: usize) -> Result<Option<[u8; 16]>>;
    fn text(&self, i: usize) -> Result<String>;
    fn opt_text(&self, i: usize) -> Result<Option<String>>;
    fn int(&self, i: usize) -> Result<i64>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>>;
    /// A boolean (SQLite: an INTEGER, 0 false).
    fn flag(&self, i: usize) -> Result<bool>;
    fn real(&self, i: usize) -> Result<f64>;
    fn opt_real(&self, i: usize) -> Result<Option<f64>>;
    fn time(&self, i: usize) -> Result<Timestamp>;
    fn opt_time(&self, i: usize) -> Result<Option<Timestamp>>;
    fn opt_date(&self, i: usize) -> Result<Option<Date>>;
    fn json(&self, i: usize) -> Result<serde_json::Value>;
    fn opt_json(&self, i: usize) -> Result<Option<serde_json::Value>>;
    /// A JSON object (anything else reads as an empty one).
    fn object(&self, i: usize) -> Result<serde_json::Map<String, serde_json::Value>> {
        match self.json(i)? {
            serde_json::Value::Object(m) => Ok(m),
            _ => Ok(serde_json::Map::new()),
        }
    }
}

/// A stored value that no longer parses: the backend's failure, not the caller's.
pub fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {what} is invalid: {e}"))
}

fn parsed<T, E: std::fmt::Display>(what: &str, v: std::result::Result<T, E>) -> Result<T> {
    v.map_err(|e| corrupt(what, e))
}

pub const BRANCH_SELECT: &str = "SELECT id, external_id, name, region, time_zone FROM branches";
pub fn branch(r: &impl Columns) -> Result<Branch> {
    Ok(Branch {
        id: BranchId::from_bytes(r.id(0)?),
        external_id: r.text(1)?,
        name: r.text(2)?,
        region: r.opt_text(3)?,
        time_zone: r.text(4)?,
    })
}

pub const EMPLOYEE_SELECT: &str = "SELECT id, external_id, name, branch_id FROM employees";
pub fn employee(r: &impl Columns) -> Result<Employee> {
    Ok(Employee {
        id: EmployeeId::from_bytes(r.id(0)?),
        external_id: r.text(1)?,
        name: r.text(2)?,
        branch_id: r.opt_id(3)?.map(BranchId::from_bytes),
    })
}

pub const PRODUCT_SELECT: &str = "SELECT id, sku, name, category, list_price, currency, unit_cost FROM products";
pub fn product(r: &impl Columns) -> Result<Product> {
    let currency = parsed("currency", Currency::from_stored(&r.text(5)?))?;
    Ok(Product {
        id: ProductId::from_bytes(r.id(0)?),
        sku: r.text(1)?,
        name: r.text(2)?,
        category: r.opt_text(3)?,
        list_price: Money::new(r.int(4)?, currency),
        unit_cost: r.opt_int(6)?,
    })
}

/// Its 19 columns, in [`customer`]'s order.
pub const CUSTOMER_SELECT: &str =
    "SELECT id, member_no, kind, parent_id, name, phone, email, card, language, birth_date, gender,
    city, region, household_size, income_band, attributes, created_at, source_branch, source_employee FROM customers";
/// The number of columns of [`CUSTOMER_SELECT`].
pub const CUSTOMER_COLUMNS: usize = 19;

/// A customer without its consents (the store reads them from their own table).
pub fn customer(r: &impl Columns) -> Result<Customer> {
    Ok(Customer {
        id: CustomerId::from_bytes(r.id(0)?),
        member_no: r.opt_text(1)?,
        kind: parsed("kind", CustomerKind::parse(&r.text(2)?))?,
        parent_id: r.opt_id(3)?.map(CustomerId::from_bytes),
        name: r.opt_text(4)?,
        phone: parsed("phone", r.opt_text(5)?.map(|p| Phone::from_e164(&p)).transpose())?,
        email: parsed("email", r.opt_text(6)?.map(|e| Email::parse(&e)).transpose())?,
        card: r.opt_text(7)?,
        language: r.opt_text(8)?,
        demographics: Demographics {
            birth_date: r.opt_date(9)?,
            gender: parsed("gender", r.opt_text(10)?.map(|g| Gender::parse(&g)).transpose())?,
            city: r.opt_text(11)?,
            region: r.opt_text(12)?,
            household_size: r.opt_int(13)?.map(|h| h.clamp(0, i64::from(u16::MAX)) as u16),
            income_band: r.opt_text(14)?,
        },
        attributes: r.object(15)?,
        created_at: r.time(16)?,
        source_branch: r.opt_id(17)?.map(BranchId::from_bytes),
        source_employee: r.opt_id(18)?.map(EmployeeId::from_bytes),
        consents: Vec::new(),
    })
}

/// A consent from the columns channel, state, at, source starting at column `first`.
pub fn consent(r: &impl Columns, first: usize) -> Result<Consent> {
    Ok(Consent {
        channel: parsed("consent channel", ConsentChannel::parse(&r.text(first)?))?,
        state: parsed("consent state", ConsentState::parse(&r.text(first + 1)?))?,
        at: r.time(first + 2)?,
        source: r.text(first + 3)?,
    })
}

/// A sale's head; its lines are read apart ([`line`]).
pub const TRANSACTION_SELECT: &str =
    "SELECT id, external_id, customer_id, branch_id, employee_id, occurred_at, currency, refund_of FROM transactions";
pub fn transaction(r: &impl Columns) -> Result<Transaction> {
    Ok(Transaction {
        id: TransactionId::from_bytes(r.id(0)?),
        external_id: r.text(1)?,
        customer_id: r.opt_id(2)?.map(CustomerId::from_bytes),
        branch_id: BranchId::from_bytes(r.id(3)?),
        employee_id: r.opt_id(4)?.map(EmployeeId::from_bytes),
        occurred_at: r.time(5)?,
        currency: parsed("currency", Currency::from_stored(&r.text(6)?))?,
        lines: Vec::new(),
        refund_of: r.opt_id(7)?.map(TransactionId::from_bytes),
    })
}

/// A line from the columns product id, sku, quantity, unit price, discount.
pub fn line(r: &impl Columns) -> Result<Line> {
    Ok(Line {
        product_id: r.opt_id(0)?.map(ProductId::from_bytes),
        sku: r.opt_text(1)?,
        quantity: r.int(2)?,
        unit_price: r.int(3)?,
        discount: r.int(4)?,
    })
}

pub const INTERACTION_SELECT: &str = "SELECT id, external_id, customer_id, channel, kind, occurred_at, text, employee_id, satisfaction, status FROM interactions";
pub fn interaction(r: &impl Columns) -> Result<Interaction> {
    Ok(Interaction {
        id: InteractionId::from_bytes(r.id(0)?),
        external_id: r.opt_text(1)?,
        customer_id: CustomerId::from_bytes(r.id(2)?),
        channel: parsed("channel", Channel::parse(&r.text(3)?))?,
        kind: parsed("kind", InteractionKind::parse(&r.text(4)?))?,
        occurred_at: r.time(5)?,
        text: r.opt_text(6)?,
        employee_id: r.opt_id(7)?.map(EmployeeId::from_bytes),
        satisfaction: r.opt_int(8)?.map(|s| s.clamp(0, 255) as u8),
        status: parsed(
            "status",
            r.opt_text(9)?.map(|s| InteractionStatus::parse(&s)).transpose(),
        )?,
    })
}

pub const SCORE_SELECT: &str =
    "SELECT customer_id, as_of, model, stage, frequency, recency, t, monetary, revenue, margin,
    p_alive, expected_purchases, clv, rfm, segment, tier, wallet, share_of_wallet FROM customer_scores";
pub fn score(r: &impl Columns) -> Result<CustomerScore> {
    Ok(CustomerScore {
        customer_id: CustomerId::from_bytes(r.id(0)?),
        as_of: r.time(1)?,
        model: Cow::Owned(r.text(2)?),
        stage: Cow::Owned(r.text(3)?),
        frequency: r.real(4)?,
        recency: r.real(5)?,
        t: r.real(6)?,
        monetary: r.real(7)?,
        revenue: r.int(8)?,
        margin: r.opt_int(9)?,
        p_alive: r.opt_real(10)?,
        expected_purchases: r.opt_real(11)?,
        clv: r.opt_real(12)?,
        rfm: r.opt_text(13)?.map(Cow::Owned),
        segment: r.opt_text(14)?.map(Cow::Owned),
        tier: r.opt_text(15)?.map(Cow::Owned),
        wallet: r.opt_int(16)?,
        share_of_wallet: r.opt_real(17)?,
    })
}

/// A job's columns, for `SELECT … FROM jobs` and `RETURNING`.
pub const JOB_COLUMNS: &str = "id, kind, args, run_at, state, attempts, max_attempts, last_error, lease_owner,
    lease_until, created_at, started_at, finished_at, result, dedupe_key";
pub fn job(r: &impl Columns) -> Result<Job> {
    let attempts = |i: usize| -> Result<u32> {
        let v = r.int(i)?;
        u32::try_from(v).map_err(|_| StoreError::Backend(format!("stored job count {v} out of range")))
    };
    Ok(Job {
        id: JobId::from_bytes(r.id(0)?),
        kind: r.text(1)?,
        args: r.json(2)?,
        run_at: r.time(3)?,
        state: stored_state(&r.text(4)?)?,
        attempts: attempts(5)?,
        max_attempts: attempts(6)?,
        last_error: r.opt_text(7)?,
        lease_owner: r.opt_text(8)?,
        lease_until: r.opt_time(9)?,
        created_at: r.time(10)?,
        started_at: r.opt_time(11)?,
        finished_at: r.opt_time(12)?,
        result: r.opt_json(13)?,
        dedupe_key: r.opt_text(14)?,
    })
}

pub const LEDGER_SELECT: &str = "SELECT seq, customer_id, kind, points, balance_after, reason, idempotency_key,
    transaction_id, branch_id, actor, origin, at, breakdown, available_at FROM points_ledger";
pub fn ledger_entry(r: &impl Columns) -> Result<LedgerEntry> {
    Ok(LedgerEntry {
        seq: r.int(0)?,
        customer_id: CustomerId::from_bytes(r.id(1)?),
        kind: stored_kind(&r.text(2)?)?,
        points: r.int(3)?,
        balance_after: r.int(4)?,
        reason: r.opt_text(5)?,
        idempotency_key: r.opt_text(6)?,
        transaction_id: r.opt_id(7)?.map(TransactionId::from_bytes),
        branch_id: r.opt_id(8)?.map(BranchId::from_bytes),
        actor: r.text(9)?,
        origin: r.opt_text(10)?,
        at: r.time(11)?,
        breakdown: kesher_loyalty::member::breakdown_from_json(r.opt_text(12)?.as_deref()),
        available_at: r.opt_time(13)?,
    })
}

/// A membership's columns, in [`member`]'s order.
pub const MEMBER_SELECT: &str = "SELECT customer_id, status, tier, tier_since, tier_review_at, enrolled_at, branch_id,
    employee_id, quality, quality_missing, invited_by, fee_paid, left_at FROM loyalty_members";
pub fn member(r: &impl Columns) -> Result<Member> {
    let status = r.text(1)?;
    let quality = r.int(8)?;
    Ok(Member {
        customer_id: CustomerId::from_bytes(r.id(0)?),
        status: MemberStatus::parse(&status).ok_or_else(|| corrupt("membership status", &status))?,
        tier: r.opt_text(2)?,
        tier_since: r.opt_time(3)?,
        tier_review_at: r.opt_time(4)?,
        enrolled_at: r.time(5)?,
        branch_id: r.opt_id(6)?.map(BranchId::from_bytes),
        employee_id: r.opt_id(7)?.map(EmployeeId::from_bytes),
        quality: u8::try_from(quality).map_err(|e| corrupt("membership quality", e))?,
        quality_missing: parsed("membership quality_missing", serde_json::from_str(&r.text(9)?))?,
        invited_by: r.opt_id(10)?.map(CustomerId::from_bytes),
        fee_paid: r.int(11)?,
        left_at: r.opt_time(12)?,
    })
}

/// What a membership's `quality_missing` is stored as: a JSON array of text.
pub fn quality_missing_json(m: &Member) -> String {
    serde_json::Value::from(m.quality_missing.clone()).to_string()
}

/// A membership event's columns, in [`member_event`]'s order.
pub const MEMBER_EVENT_SELECT: &str =
    "SELECT seq, customer_id, kind, at, branch_id, employee_id, actor, detail FROM loyalty_member_events";
pub fn member_event(r: &impl Columns) -> Result<MemberEvent> {
    let kind = r.text(2)?;
    Ok(MemberEvent {
        seq: r.int(0)?,
        customer_id: CustomerId::from_bytes(r.id(1)?),
        kind: MemberEventKind::parse(&kind).ok_or_else(|| corrupt("membership event kind", &kind))?,
        at: r.time(3)?,
        branch_id: r.opt_id(4)?.map(BranchId::from_bytes),
        employee_id: r.opt_id(5)?.map(EmployeeId::from_bytes),
        actor: r.text(6)?,
        detail: r.text(7)?,
    })
}

/// A sale's facts for the program's KPIs (`crate::SaleFact`), in [`sale_fact`]'s order.
pub const SALE_FACT_SELECT: &str =
    "SELECT customer_id, branch_id, occurred_at, currency, total, refund_of IS NOT NULL, id FROM transactions";
pub fn sale_fact(r: &impl Columns) -> Result<crate::SaleFact> {
    Ok(crate::SaleFact {
        id: TransactionId::from_bytes(r.id(6)?),
        customer_id: r.opt_id(0)?.map(CustomerId::from_bytes),
        branch_id: BranchId::from_bytes(r.id(1)?),
        occurred_at: r.time(2)?,
        currency: parsed("currency", Currency::from_stored(&r.text(3)?))?,
        total: r.int(4)?,
        refund: r.flag(5)?,
    })
}

/// A segment event's columns, in [`segment_event`]'s order.
pub const SEGMENT_EVENT_SELECT: &str = "SELECT seq, segment, customer_id, kind, at, run_id FROM segment_events";
pub fn segment_event(r: &impl Columns) -> Result<crate::SegmentEvent> {
    let kind = r.text(3)?;
    Ok(crate::SegmentEvent {
        seq: r.int(0)?,
        segment: r.text(1)?,
        customer_id: CustomerId::from_bytes(r.id(2)?),
        kind: crate::SegmentEventKind::parse(&kind).ok_or_else(|| corrupt("segment event kind", &kind))?,
        at: r.time(4)?,
        run_id: kesher_core::SegmentRunId::from_bytes(r.id(5)?),
    })
}

/// A segment membership's columns, in [`segment_member`]'s order.
pub const SEGMENT_MEMBER_SELECT: &str = "SELECT segment, customer_id, since FROM segment_members";
pub fn segment_member(r: &impl Columns) -> Result<crate::SegmentMember> {
    Ok(crate::SegmentMember {
        segment: r.text(0)?,
        customer_id: CustomerId::from_bytes(r.id(1)?),
        since: r.time(2)?,
    })
}

/// A benefit grant's columns, in [`benefit_grant`]'s order.
pub const GRANT_SELECT: &str = "SELECT id, customer_id, benefit, state, granted_at, available_until, granted_by, source,
    used_at, honoured_by, honoured_branch, honour_key, points_seq, draw_id, idempotency_key FROM loyalty_benefit_grants";
pub fn benefit_grant(r: &impl Columns) -> Result<kesher_loyalty::benefits::Grant> {
    use kesher_loyalty::benefits::{GrantSource, GrantState};
    let state = r.text(3)?;
    let source = r.text(7)?;
    Ok(kesher_loyalty::benefits::Grant {
        id: kesher_core::BenefitGrantId::from_bytes(r.id(0)?),
        customer_id: CustomerId::from_bytes(r.id(1)?),
        benefit: r.text(2)?,
        state: GrantState::parse(&state).ok_or_else(|| corrupt("grant state", &state))?,
        granted_at: r.time(4)?,
        available_until: r.time(5)?,
        granted_by: r.text(6)?,
        source: GrantSource::parse(&source).ok_or_else(|| corrupt("grant source", &source))?,
        used_at: r.opt_time(8)?,
        honoured_by: r.opt_text(9)?,
        honoured_branch: r.opt_id(10)?.map(BranchId::from_bytes),
        honour_key: r.opt_text(11)?,
        points_seq: r.opt_int(12)?,
        draw_id: r.opt_id(13)?.map(kesher_core::SurpriseDrawId::from_bytes),
        idempotency_key: r.opt_text(14)?,
    })
}

/// A surprise draw's columns, in [`surprise_draw`]'s order.
pub const DRAW_SELECT: &str = "SELECT id, benefit, seed, parameters, actor, at, members FROM loyalty_surprise_draws";
pub fn surprise_draw(r: &impl Columns) -> Result<crate::SurpriseDraw> {
    let seed = r.text(2)?;
    let members: Vec<String> = parsed("draw members", serde_json::from_str(&r.text(6)?))?;
    Ok(crate::SurpriseDraw {
        id: kesher_core::SurpriseDrawId::from_bytes(r.id(0)?),
        benefit: r.text(1)?,
        seed: parsed("draw seed", seed.parse::<u64>())?,
        parameters: r.text(3)?,
        actor: r.text(4)?,
        at: r.time(5)?,
        members: members
            .iter()
            .map(|m| parsed("draw member", m.parse::<CustomerId>()))
            .collect::<Result<_>>()?,
    })
}

/// What a draw's `members` is stored as: a JSON array of customer ids.
pub fn draw_members_json(d: &crate::SurpriseDraw) -> String {
    serde_json::Value::from(d.members.iter().map(|m| m.to_string()).collect::<Vec<_>>()).to_string()
}

/// The products' facts an accrual reads, for `… WHERE id IN …`.
pub const PRODUCT_FACTS_SELECT: &str = "SELECT id, sku, category FROM products";
pub fn product_facts(r: &impl Columns) -> Result<crate::ProductFacts> {
    Ok(crate::ProductFacts {
        id: ProductId::from_bytes(r.id(0)?),
        sku: r.text(1)?,
        category: r.opt_text(2)?,
    })
}

/// Audit entries: this, then a WHERE / ORDER / LIMIT tail.
pub const AUDIT_SELECT: &str = "SELECT seq, at, actor, action, entity, entity_id, before, after, origin FROM audit_log";
pub fn audit_entry(r: &impl Columns) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.int(0)?,
        at: r.time(1)?,
        actor: r.text(2)?,
        action: r.text(3)?,
        entity: r.text(4)?,
        entity_id: r.text(5)?,
        before: r.opt_json(6)?,
        after: r.opt_json(7)?,
        origin: r.opt_text(8)?,
    })
}

pub const USER_SELECT: &str =
    "SELECT id, username, display_name, role, branch_id, password_hash, disabled, created_at FROM users";
pub fn user(r: &impl Columns) -> Result<User> {
    Ok(User {
        id: UserId::from_bytes(r.id(0)?),
        username: r.text(1)?,
        display_name: r.opt_text(2)?,
        role: stored_role(&r.text(3)?)?,
        branch: r.opt_id(4)?.map(BranchId::from_bytes),
        password_hash: r.text(5)?,
        disabled: r.flag(6)?,
        created_at: r.time(7)?,
    })
}

pub const TOKEN_SELECT: &str = "SELECT id, name, role, branch_id, scopes, digest, hint, created_at, created_by, expires_at, revoked_at FROM api_tokens";
pub fn token(r: &impl Columns) -> Result<ApiToken> {
    Ok(ApiToken {
        id: TokenId::from_bytes(r.id(0)?),
        name: r.text(1)?,
        role: stored_role(&r.text(2)?)?,
        branch: r.opt_id(3)?.map(BranchId::from_bytes),
        scopes: stored_scopes(&r.text(4)?)?,
        digest: r.text(5)?,
        hint: r.text(6)?,
        created_at: r.time(7)?,
        created_by: r.text(8)?,
        expires_at: r.opt_time(9)?,
        revoked_at: r.opt_time(10)?,
    })
}

/// What duplicate scoring reads of every customer.
pub const DUPLICATE_SELECT: &str = "SELECT id, name, birth_date, phone, email, city FROM customers";
pub fn duplicate_candidate(r: &impl Columns) -> Result<DuplicateCandidate> {
    Ok(DuplicateCandidate {
        id: CustomerId::from_bytes(r.id(0)?),
        name: r.opt_text(1)?,
        birth_date: r.opt_date(2)?,
        phone: r.opt_text(3)?,
        email: r.opt_text(4)?,
        city: r.opt_text(5)?,
    })
}
