//! The records a business keeps: customers, branches, employees, products, transactions,
//! interactions and consent. Constructors check the invariants that the store relies on.

use crate::money::{MAX_LINE_AMOUNT, MAX_QUANTITY, MAX_SALE_TOTAL, MAX_UNIT_PRICE};
use crate::{
    BranchId, Currency, CustomerId, DomainError, Email, EmployeeId, InteractionId, Money, Phone, ProductId,
    TransactionId,
};
use jiff::Timestamp;
use jiff::civil::Date;

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($var:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($var),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),*];

            pub fn as_str(&self) -> &'static str {
                match self { $($name::$var => $s),* }
            }

            pub fn parse(s: &str) -> Result<Self, DomainError> {
                let t = s.trim().to_ascii_lowercase();
                match t.as_str() {
                    $($s => Ok($name::$var),)*
                    _ => Err(DomainError::new("value.unknown", $field, format!(
                        "invalid value {:?}: expected one of {}", s.trim(),
                        [$($s),*].join(", ")))
                        .with("value", s.trim())
                        .with("expected", [$($s),*].join(", "))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

str_enum!(
    /// Who the customer is to the business.
    CustomerKind, "kind" { Consumer = "consumer", Intermediary = "intermediary", Internal = "internal" });
str_enum!(Gender, "gender" { Female = "female", Male = "male", Other = "other" });
str_enum!(
    /// A channel through which the business may contact a customer.
    ConsentChannel, "channel" { Email = "email", Sms = "sms", Phone = "phone" });
str_enum!(ConsentState, "consent" { Granted = "granted", Withdrawn = "withdrawn" });
str_enum!(
    /// Where a contact with the customer happened.
    Channel, "channel" { Store = "store", Phone = "phone", Email = "email", Sms = "sms", Web = "web", Social = "social" });
str_enum!(
    /// What a contact was; `click` is a campaign link the customer followed (written by the
    /// server's tracked redirect, not by hand).
    InteractionKind, "kind" {
    Visit = "visit", Call = "call", Inquiry = "inquiry", Complaint = "complaint", Compliment = "compliment", Note = "note",
    Click = "click" });
str_enum!(InteractionStatus, "status" { Open = "open", Resolved = "resolved" });

/// A language tag such as `he`, `fa`, `en` or `pt-BR`.
pub fn parse_language(s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    let mut parts = t.split('-');
    let primary = parts.next().unwrap_or("");
    let ok_primary = (2..=3).contains(&primary.len()) && primary.bytes().all(|c| c.is_ascii_alphabetic());
    let ok_rest = parts.all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_alphanumeric()));
    if ok_primary && ok_rest {
        Ok(t.to_ascii_lowercase())
    } else {
        Err(DomainError::new(
            "language.invalid",
            "language",
            format!("invalid language tag {t:?}: expected a code such as he, fa or en"),
        )
        .with("value", t))
    }
}

/// A consent decision for one channel: the current state, when and where it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub channel: ConsentChannel,
    pub state: ConsentState,
    pub at: Timestamp,
    /// Where it was given: "import", "pos:B1", "web", ...
    pub source: String,
}

/// Optional facts about a person, all of which may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Demographics {
    pub birth_date: Option<Date>,
    pub gender: Option<Gender>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub household_size: Option<u16>,
    pub income_band: Option<String>,
}

/// One real person or account.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: CustomerId,
    /// The business's own member number (external id).
    pub member_no: Option<String>,
    pub kind: CustomerKind,
    /// The intermediary account this customer buys through.
    pub parent_id: Option<CustomerId>,
    pub name: Option<String>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub card: Option<String>,
    pub language: Option<String>,
    pub demographics: Demographics,
    /// Needs, expectations, lifestyle, estimated category spend: a JSON object.
    pub attributes: serde_json::Map<String, serde_json::Value>,
    pub created_at: Timestamp,
    pub source_branch: Option<BranchId>,
    pub source_employee: Option<EmployeeId>,
    /// Current consent per channel (history is kept by the store).
    pub consents: Vec<Consent>,
}

impl Customer {
    /// A bare record: only an id, a member number and a creation time.
    pub fn bare(id: CustomerId, member_no: Option<String>, created_at: Timestamp) -> Customer {
        Customer {
            id,
            member_no,
            kind: CustomerKind::Consumer,
            parent_id: None,
            name: None,
            phone: None,
            email: None,
            card: None,
            language: None,
            demographics: Demographics::default(),
            attributes: serde_json::Map::new(),
            created_at,
            source_branch: None,
            source_employee: None,
            consents: Vec::new(),
        }
    }

    pub fn consent(&self, channel: ConsentChannel) -> Option<&Consent> {
        self.consents.iter().find(|c| c.channel == channel)
    }

    /// Take in what a duplicate record knows (the merge policy, the same on every backend):
    /// identifiers fill this record's empty slots and the rest are returned as `kind:value`
    /// aliases (member, phone, email, card); other facts fill empty fields only; attributes
    /// are added where this record lacks the key; the newer consent per channel wins; the
    /// earlier creation time is kept.
    pub fn absorb(&mut self, dropped: &Customer) -> Vec<String> {
        let mut aliases = Vec::new();
        fn fill<T: Clone>(
            slot: &mut Option<T>,
            other: &Option<T>,
            alias: impl FnOnce(&T) -> String,
            out: &mut Vec<String>,
        ) {
            match (slot.as_ref(), other) {
                (None, Some(v)) => *slot = Some(v.clone()),
                (Some(_), Some(v)) => out.push(alias(v)),
                _ => {}
            }
        }
        fill(
            &mut self.member_no,
            &dropped.member_no,
            |v| format!("member:{v}"),
            &mut aliases,
        );
        fill(&mut self.phone, &dropped.phone, |v| format!("phone:{v}"), &mut aliases);
        fill(&mut self.email, &dropped.email, |v| format!("email:{v}"), &mut aliases);
        fill(&mut self.card, &dropped.card, |v| format!("card:{v}"), &mut aliases);
        self.name = self.name.take().or_else(|| dropped.name.clone());
        self.language = self.language.take().or_else(|| dropped.language.clone());
        let (d, k) = (&dropped.demographics, &mut self.demographics);
        k.birth_date = k.birth_date.or(d.birth_date);
        k.gender = k.gender.or(d.gender);
        k.city = k.city.take().or_else(|| d.city.clone());
        k.region = k.region.take().or_else(|| d.region.clone());
        k.household_size = k.household_size.or(d.household_size);
        k.income_band = k.income_band.take().or_else(|| d.income_band.clone());
        for (key, v) in &dropped.attributes {
            self.attributes.entry(key.clone()).or_insert_with(|| v.clone());
        }
        if self.parent_id.is_none() && dropped.parent_id != Some(self.id) {
            self.parent_id = dropped.parent_id;
        }
        self.created_at = self.created_at.min(dropped.created_at);
        self.source_branch = self.source_branch.or(dropped.source_branch);
        self.source_employee = self.source_employee.or(dropped.source_employee);
        for dc in &dropped.consents {
            match self.consents.iter_mut().find(|c| c.channel == dc.channel) {
                Some(kc) if kc.at >= dc.at => {}
                Some(kc) => *kc = dc.clone(),
                None => self.consents.push(dc.clone()),
            }
        }
        aliases
    }
}

/// Checks a member number, card number or other external id.
pub fn parse_external_id(s: &str, field: &'static str) -> Result<String, DomainError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DomainError::new("value.empty", field, "must not be empty"));
    }
    if t.len() > 64 {
        return Err(
            DomainError::new("value.too_long", field, format!("longer than 64 characters: {t:?}"))
                .with("value", t)
                .with("max", 64),
        );
    }
    if t.chars().any(char::is_control) {
        return Err(DomainError::new(
            "value.control_characters",
            field,
            format!("contains control characters: {t:?}"),
        )
        .with("value", t));
    }
    Ok(t.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    pub id: BranchId,
    pub external_id: String,
    pub name: String,
    pub region: Option<String>,
    /// IANA time zone of the branch, for "local day" rules.
    pub time_zone: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Employee {
    pub id: EmployeeId,
    pub external_id: String,
    pub name: String,
    pub branch_id: Option<BranchId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub list_price: Money,
    /// Unit cost in the list price's currency, when known (gives the margin).
    pub unit_cost: Option<i64>,
}

impl Product {
    /// A product's price and cost: not negative, at most [`MAX_UNIT_PRICE`].
    pub fn validate(&self) -> Result<(), DomainError> {
        crate::money::check_price(self.list_price.minor, "list_price")?;
        if let Some(cost) = self.unit_cost {
            crate::money::check_price(cost, "unit_cost")?;
        }
        Ok(())
    }

    /// A sale line of this product is in the currency of its price: a sale in another currency
    /// is refused rather than converted (kesher keeps no exchange rates).
    pub fn check_sale_currency(&self, currency: Currency, field: &'static str) -> Result<(), DomainError> {
        check_line_currency(&self.sku, self.list_price.currency, currency, field)
    }
}

/// A line of product `sku`, priced in `priced_in`, on a sale in `sale`: the two are the same.
pub fn check_line_currency(
    sku: &str,
    priced_in: Currency,
    sale: Currency,
    field: &'static str,
) -> Result<(), DomainError> {
    if priced_in == sale {
        return Ok(());
    }
    Err(DomainError::new(
        "line.currency.mismatch",
        field,
        format!("product {sku:?} is priced in {priced_in}, the sale is in {sale}"),
    )
    .with("sku", sku)
    .with("currency", sale.as_str())
    .with("product_currency", priced_in.as_str()))
}

/// One line of a basket. `sku` is empty on an amount-only transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub product_id: Option<ProductId>,
    pub sku: Option<String>,
    pub quantity: i64,
    /// Minor units per unit.
    pub unit_price: i64,
    /// Minor units off the whole line.
    pub discount: i64,
}

impl Line {
    /// The rules of one line: no zero quantity, negative only on a refund (and then all
    /// negative), price and discount not negative, amount-only lines of quantity ±1, a discount
    /// no larger than the line; the quantity, the unit price and the line's amount within
    /// [`MAX_QUANTITY`], [`MAX_UNIT_PRICE`] and [`MAX_LINE_AMOUNT`].
    pub fn validate(&self, refund: bool) -> Result<(), DomainError> {
        let line = self;
        if line.quantity == 0 {
            return Err(DomainError::new("line.quantity.zero", "quantity", "must not be zero"));
        }
        if line.quantity < 0 && !refund {
            return Err(DomainError::new(
                "line.quantity.negative_on_sale",
                "quantity",
                format!(
                    "negative quantity {} is only allowed on a refund (refund_of)",
                    line.quantity
                ),
            )
            .with("quantity", line.quantity));
        }
        if line.quantity > 0 && refund {
            return Err(DomainError::new(
                "line.quantity.positive_on_refund",
                "quantity",
                format!("a refund's quantities must be negative, found {}", line.quantity),
            )
            .with("quantity", line.quantity));
        }
        if line.unit_price < 0 {
            return Err(DomainError::new(
                "line.unit_price.negative",
                "unit_price",
                "must not be negative",
            ));
        }
        if line.discount < 0 {
            return Err(DomainError::new(
                "line.discount.negative",
                "discount",
                "must not be negative",
            ));
        }
        if line.sku.is_none() && line.quantity.abs() != 1 {
            return Err(DomainError::new(
                "line.quantity.amount_only",
                "quantity",
                "an amount-only line (no sku) must have quantity 1",
            ));
        }
        if line.quantity.unsigned_abs() > MAX_QUANTITY.unsigned_abs() {
            return Err(DomainError::new(
                "line.quantity.too_large",
                "quantity",
                format!(
                    "quantity {} is beyond the largest accepted, {MAX_QUANTITY} units a line",
                    line.quantity
                ),
            )
            .with("value", line.quantity)
            .with("max", MAX_QUANTITY));
        }
        if line.unit_price > MAX_UNIT_PRICE {
            return Err(DomainError::new(
                "line.unit_price.too_large",
                "unit_price",
                format!(
                    "{} minor units is more than the largest unit price accepted, {MAX_UNIT_PRICE}",
                    line.unit_price
                ),
            )
            .with("value", line.unit_price)
            .with("max", MAX_UNIT_PRICE));
        }
        // Both factors are bounded, so the product fits in i128 (and is checked against i64's
        // range by the bound).
        let gross = i128::from(line.quantity) * i128::from(line.unit_price);
        if gross.unsigned_abs() > MAX_LINE_AMOUNT.unsigned_abs() as u128 {
            let value = i64::try_from(gross.unsigned_abs()).unwrap_or(i64::MAX);
            return Err(DomainError::new(
                "line.amount.too_large",
                "quantity",
                format!(
                    "the line comes to {value} minor units, more than the largest line accepted, {MAX_LINE_AMOUNT}"
                ),
            )
            .with("value", value)
            .with("max", MAX_LINE_AMOUNT));
        }
        if i128::from(line.discount) > gross.abs() {
            return Err(DomainError::new(
                "line.discount.too_large",
                "discount",
                "larger than the line's price",
            ));
        }
        Ok(())
    }

    /// quantity × unit price − discount, in minor units.
    pub fn total(&self) -> Option<i64> {
        let gross = self.quantity.checked_mul(self.unit_price)?;
        if self.quantity < 0 {
            gross.checked_add(self.discount)
        } else {
            gross.checked_sub(self.discount)
        }
    }
}

/// A sale (positive quantities) or a refund (negative quantities, naming the original).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub id: TransactionId,
    pub external_id: String,
    /// `None` for an anonymous sale.
    pub customer_id: Option<CustomerId>,
    pub branch_id: BranchId,
    pub employee_id: Option<EmployeeId>,
    pub occurred_at: Timestamp,
    pub currency: Currency,
    pub lines: Vec<Line>,
    pub refund_of: Option<TransactionId>,
}

impl Transaction {
    /// Check the invariants of a basket: at least one line, no zero quantity, prices and
    /// discounts not negative, amount-only lines of quantity ±1, all lines of a sale positive
    /// and of a refund negative, a discount no larger than the line, each line within the
    /// bounds of [`Line::validate`] and the sale's total within [`MAX_SALE_TOTAL`].
    pub fn validate(&self) -> Result<(), DomainError> {
        if self.lines.is_empty() {
            return Err(DomainError::new(
                "transaction.lines.empty",
                "lines",
                "a transaction needs at least one line",
            ));
        }
        let refund = self.refund_of.is_some();
        for line in &self.lines {
            line.validate(refund)?;
        }
        // Each line is bounded, so the sum of their sizes fits in i128 for any number of lines.
        let size: i128 = self
            .lines
            .iter()
            .map(|l| {
                let gross = i128::from(l.quantity) * i128::from(l.unit_price);
                (gross.abs() - i128::from(l.discount)).max(0)
            })
            .sum();
        if size > i128::from(MAX_SALE_TOTAL) {
            let value = i64::try_from(size).unwrap_or(i64::MAX);
            return Err(DomainError::new(
                "transaction.total.too_large",
                "lines",
                format!("the sale comes to {value} minor units, more than the largest sale accepted, {MAX_SALE_TOTAL}"),
            )
            .with("value", value)
            .with("max", MAX_SALE_TOTAL));
        }
        self.total()
            .ok_or_else(|| DomainError::new("transaction.total.overflow", "lines", "transaction total overflows"))?;
        Ok(())
    }

    /// Sum of line totals in minor units (negative for a refund).
    pub fn total(&self) -> Option<i64> {
        self.lines.iter().try_fold(0i64, |acc, l| acc.checked_add(l.total()?))
    }
}

/// A contact with the customer: a visit, call, inquiry, complaint, compliment or note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub id: InteractionId,
    pub external_id: Option<String>,
    pub customer_id: CustomerId,
    pub channel: Channel,
    pub kind: InteractionKind,
    pub occurred_at: Timestamp,
    pub text: Option<String>,
    pub employee_id: Option<EmployeeId>,
    /// 1–5 when asked.
    pub satisfaction: Option<u8>,
    /// Complaints only.
    pub status: Option<InteractionStatus>,
}

impl Interaction {
    pub fn validate(&self) -> Result<(), DomainError> {
        if let Some(s) = self.satisfaction
            && !(1..=5).contains(&s)
        {
            return Err(DomainError::new(
                "interaction.satisfaction.out_of_range",
                "satisfaction",
                format!("must be 1 to 5, found {s}"),
            )
            .with("value", s));
        }
        if self.status.is_some() && self.kind != InteractionKind::Complaint {
            return Err(DomainError::new(
                "interaction.status.not_a_complaint",
                "status",
                "only a complaint has a status",
            ));
        }
        Ok(())
    }
}

/// Parse a satisfaction score.
pub fn parse_satisfaction(s: &str) -> Result<u8, DomainError> {
    match s.trim().parse::<u8>() {
        Ok(v @ 1..=5) => Ok(v),
        _ => Err(DomainError::new(
            "interaction.satisfaction.invalid",
            "satisfaction",
            format!("must be a whole number from 1 to 5, found {:?}", s.trim()),
        )
        .with("value", s.trim())),
    }
}

/// The earliest instant a sale, a contact or a customer record may carry: 1900-01-01T00:00:00Z.
pub const EARLIEST_INSTANT: Timestamp = Timestamp::constant(-2_208_988_800, 0);
/// How far ahead of the clock ("now") such an instant may be: one day, so that a till whose
/// clock or time zone is a little off is not refused.
pub const MAX_AHEAD_SECONDS: i64 = 86_400;

fn out_of_window(t: &str, field: &'static str) -> DomainError {
    DomainError::new(
        "time.out_of_window",
        field,
        format!(
            "{t:?} is outside the accepted window: not before {EARLIEST_INSTANT} and at most {} hours ahead of now",
            MAX_AHEAD_SECONDS / 3600
        ),
    )
    .with("value", t)
    .with("earliest", EARLIEST_INSTANT.to_string())
    .with("ahead_hours", MAX_AHEAD_SECONDS / 3600)
}

/// `at` checked against the window of sale, contact and customer times: not before
/// [`EARLIEST_INSTANT`], not more than [`MAX_AHEAD_SECONDS`] after `now` (the caller's clock).
pub fn check_instant(at: Timestamp, now: Timestamp, field: &'static str) -> Result<Timestamp, DomainError> {
    let latest = now.as_second().saturating_add(MAX_AHEAD_SECONDS);
    if at < EARLIEST_INSTANT || at.as_second() > latest {
        return Err(out_of_window(&at.to_string(), field));
    }
    Ok(at)
}

/// [`parse_instant`], then [`check_instant`] against `now`: what the doors use for the time of a
/// sale, a contact or a customer record.
pub fn parse_instant_within(s: &str, field: &'static str, now: Timestamp) -> Result<Timestamp, DomainError> {
    let at = parse_instant(s, field)?;
    check_instant(at, now, field).map_err(|_| out_of_window(s.trim(), field))
}

/// Parse an instant: RFC 3339 with an offset, or a plain date read as midnight UTC. A well-formed
/// time before [`EARLIEST_INSTANT`] or beyond what can be represented (year 9999) is refused with
/// `time.out_of_window`, as [`check_instant`] refuses one too far ahead.
pub fn parse_instant(s: &str, field: &'static str) -> Result<Timestamp, DomainError> {
    let t = s.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        if ts < EARLIEST_INSTANT {
            return Err(out_of_window(t, field));
        }
        return Ok(ts);
    }
    // Well formed but not representable as an instant (9999-12-31T23:00:00Z, a date at the
    // edge of the calendar): outside the window rather than malformed.
    if let Ok(pieces) = jiff::fmt::temporal::Pieces::parse(t)
        && !(1900..9999).contains(&pieces.date().year())
    {
        return Err(out_of_window(t, field));
    }
    if let Ok(d) = t.parse::<Date>()
        && t.len() == 10
    {
        if !(1900..9999).contains(&d.year()) {
            return Err(out_of_window(t, field));
        }
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .map_err(|e| DomainError::new("date.invalid", field, format!("invalid date {t:?}: {e}")).with("value", t));
    }
    Err(DomainError::new(
        "time.invalid",
        field,
        format!("invalid time {t:?}: expected RFC 3339 such as 2025-03-01T10:15:00Z or a date 2025-03-01"),
    )
    .with("value", t))
}

/// Parse a calendar date `YYYY-MM-DD`.
pub fn parse_date(s: &str, field: &'static str) -> Result<Date, DomainError> {
    let t = s.trim();
    match t.parse::<Date>() {
        Ok(d) if t.len() == 10 => Ok(d),
        _ => Err(DomainError::new(
            "date.invalid",
            field,
            format!("invalid date {t:?}: expected YYYY-MM-DD"),
        )
        .with("value", t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(lines: Vec<Line>, refund: bool) -> Transaction {
        Transaction {
            id: TransactionId::from_bytes([1; 16]),
            external_id: "T1".into(),
            customer_id: None,
            branch_id: BranchId::from_bytes([2; 16]),
            employee_id: None,
            occurred_at: Timestamp::UNIX_EPOCH,
            currency: Currency::parse("ILS").unwrap(),
            lines,
            refund_of: refund.then(|| TransactionId::from_bytes([3; 16])),
        }
    }
    fn line(q: i64, p: i64, d: i64) -> Line {
        Line {
            product_id: None,
            sku: Some("P1".into()),
            quantity: q,
            unit_price: p,
            discount: d,
        }
    }

    #[test]
    fn totals_are_derived() {
        let t = tx(vec![line(2, 8990, 1000), line(1, 1200, 0)], false);
        t.validate().unwrap();
        assert_eq!(t.total(), Some(2 * 8990 - 1000 + 1200));
        let r = tx(vec![line(-1, 8990, 500)], true);
        r.validate().unwrap();
        assert_eq!(r.total(), Some(-8490));
    }

    #[test]
    fn rejects_bad_baskets() {
        assert_eq!(tx(vec![], false).validate().unwrap_err().field, "lines");
        assert_eq!(tx(vec![line(0, 1, 0)], false).validate().unwrap_err().field, "quantity");
        let e = tx(vec![line(-2, 1, 0)], false).validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "quantity: negative quantity -2 is only allowed on a refund (refund_of)"
        );
        assert_eq!(
            tx(vec![line(1, -1, 0)], false).validate().unwrap_err().field,
            "unit_price"
        );
        assert_eq!(
            tx(vec![line(1, 10, 11)], false).validate().unwrap_err().field,
            "discount"
        );
        let amount_only = Line {
            sku: None,
            ..line(2, 10, 0)
        };
        assert_eq!(tx(vec![amount_only], false).validate().unwrap_err().field, "quantity");
        assert!(tx(vec![line(i64::MAX, 2, 0)], false).validate().is_err());
    }

    #[test]
    fn lines_and_sales_beyond_the_bounds_are_refused() {
        let code = |t: Transaction| t.validate().unwrap_err().code();
        // The example: one item at 92,233,720,368,547,758.07.
        assert_eq!(code(tx(vec![line(1, i64::MAX, 0)], false)), "line.unit_price.too_large");
        assert_eq!(
            code(tx(vec![line(MAX_QUANTITY + 1, 1, 0)], false)),
            "line.quantity.too_large"
        );
        assert_eq!(
            code(tx(vec![line(-MAX_QUANTITY - 1, 1, 0)], true)),
            "line.quantity.too_large"
        );
        let e = tx(vec![line(1_000, MAX_UNIT_PRICE, 0)], false).validate().unwrap_err();
        assert_eq!((e.code(), e.field), ("line.amount.too_large", "quantity"));
        assert_eq!(
            e.params(),
            crate::params!(value = 1_000 * MAX_UNIT_PRICE, max = MAX_LINE_AMOUNT)
        );
        // The largest line is accepted; eleven of them pass the sale's bound.
        tx(vec![line(1, MAX_LINE_AMOUNT, 0)], false).validate().unwrap();
        tx(vec![line(1, MAX_LINE_AMOUNT, 0); 10], false).validate().unwrap();
        let e = tx(vec![line(1, MAX_LINE_AMOUNT, 0); 11], false).validate().unwrap_err();
        assert_eq!((e.code(), e.field), ("transaction.total.too_large", "lines"));
        assert_eq!(
            e.params(),
            crate::params!(value = 11 * MAX_LINE_AMOUNT, max = MAX_SALE_TOTAL)
        );
        assert_eq!(
            code(tx(vec![line(-1, MAX_LINE_AMOUNT, 0); 11], true)),
            "transaction.total.too_large",
            "a refund is bounded by its size"
        );
    }

    #[test]
    fn a_line_in_another_currency_than_its_product_is_refused() {
        let product = Product {
            id: ProductId::from_bytes([4; 16]),
            sku: "P1".into(),
            name: "Shoe".into(),
            category: None,
            list_price: Money::new(8990, Currency::parse("ILS").unwrap()),
            unit_cost: None,
        };
        product
            .check_sale_currency(Currency::parse("ILS").unwrap(), "sku")
            .unwrap();
        let e = product
            .check_sale_currency(Currency::parse("USD").unwrap(), "sku")
            .unwrap_err();
        assert_eq!((e.code(), e.field), ("line.currency.mismatch", "sku"));
        assert_eq!(
            e.params(),
            crate::params!(sku = "P1", currency = "USD", product_currency = "ILS")
        );
        let dear = Product {
            list_price: Money::new(MAX_UNIT_PRICE + 1, Currency::parse("ILS").unwrap()),
            ..product
        };
        assert_eq!(dear.validate().unwrap_err().code(), "money.too_large");
    }

    #[test]
    fn times_outside_the_window_are_refused_with_one_code() {
        let now: Timestamp = "2026-01-01T12:00:00Z".parse().unwrap();
        for early_or_late in [
            "0000-01-01",
            "9999-12-31",
            "9999-12-31T23:59:59Z",
            "1899-12-31T23:59:59Z",
            "-000001-01-01T00:00:00Z",
        ] {
            let e = parse_instant_within(early_or_late, "occurred_at", now).unwrap_err();
            assert_eq!(
                (e.code(), e.field),
                ("time.out_of_window", "occurred_at"),
                "{early_or_late}"
            );
            assert_eq!(
                e.params(),
                crate::params!(
                    value = early_or_late,
                    earliest = "1900-01-01T00:00:00Z",
                    ahead_hours = 24
                )
            );
        }
        // A day ahead of the clock is allowed (a till in another time zone), a second more is not.
        assert!(parse_instant_within("2026-01-02T12:00:00Z", "occurred_at", now).is_ok());
        let e = parse_instant_within("2026-01-02T12:00:01Z", "occurred_at", now).unwrap_err();
        assert_eq!(e.code(), "time.out_of_window");
        assert!(parse_instant_within("1900-01-01", "occurred_at", now).is_ok());
        assert_eq!(check_instant(EARLIEST_INSTANT, now, "at").unwrap(), EARLIEST_INSTANT);
        // Malformed is still malformed.
        assert_eq!(parse_instant("yesterday", "t").unwrap_err().code(), "time.invalid");
    }

    #[test]
    fn absorb_fills_gaps_and_keeps_the_rest_as_aliases() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let mut keep = Customer::bare(
            CustomerId::from_bytes([1; 16]),
            Some("M1".into()),
            at("2025-02-01T00:00:00Z"),
        );
        keep.phone = Some(Phone::parse("050-1111111", crate::Country::israel()).unwrap());
        keep.consents = vec![Consent {
            channel: ConsentChannel::Sms,
            state: ConsentState::Granted,
            at: at("2025-01-01T00:00:00Z"),
            source: "pos".into(),
        }];
        keep.attributes.insert("lifestyle".into(), serde_json::json!("runner"));
        let mut drop = Customer::bare(
            CustomerId::from_bytes([2; 16]),
            Some("M2".into()),
            at("2024-06-01T00:00:00Z"),
        );
        drop.name = Some("Dana".into());
        drop.phone = Some(Phone::parse("050-2222222", crate::Country::israel()).unwrap());
        drop.email = Some(Email::parse("dana@example.com").unwrap());
        drop.demographics.city = Some("Haifa".into());
        drop.attributes.insert("lifestyle".into(), serde_json::json!("reader"));
        drop.attributes.insert("pets".into(), serde_json::json!(2));
        drop.consents = vec![Consent {
            channel: ConsentChannel::Sms,
            state: ConsentState::Withdrawn,
            at: at("2025-03-01T00:00:00Z"),
            source: "sms-stop".into(),
        }];
        let aliases = keep.absorb(&drop);
        assert_eq!(aliases, vec!["member:M2", "phone:+972502222222"]);
        assert_eq!(keep.member_no.as_deref(), Some("M1"));
        assert_eq!(keep.email.as_ref().map(|e| e.as_str()), Some("dana@example.com"));
        assert_eq!(keep.name.as_deref(), Some("Dana"));
        assert_eq!(keep.demographics.city.as_deref(), Some("Haifa"));
        assert_eq!(
            keep.attributes["lifestyle"], "runner",
            "the kept record's own facts win"
        );
        assert_eq!(keep.attributes["pets"], 2);
        assert_eq!(
            keep.consents[0].state,
            ConsentState::Withdrawn,
            "the newer consent wins"
        );
        assert_eq!(keep.created_at, at("2024-06-01T00:00:00Z"));
    }

    #[test]
    fn parses_enums_and_times() {
        assert_eq!(
            CustomerKind::parse(" Intermediary ").unwrap(),
            CustomerKind::Intermediary
        );
        let e = CustomerKind::parse("vip").unwrap_err();
        assert_eq!(
            e.to_string(),
            "kind: invalid value \"vip\": expected one of consumer, intermediary, internal"
        );
        assert_eq!(
            parse_instant("2025-03-01", "t").unwrap().to_string(),
            "2025-03-01T00:00:00Z"
        );
        assert_eq!(
            parse_instant("2025-03-01T12:15:00+02:00", "t").unwrap().to_string(),
            "2025-03-01T10:15:00Z"
        );
        assert!(parse_instant("2025-13-01", "t").is_err());
        assert!(parse_date("1985-4-1", "d").is_err());
        assert_eq!(parse_language("HE").unwrap(), "he");
        assert!(parse_language("hebrew language").is_err());
        assert_eq!(parse_satisfaction("5").unwrap(), 5);
        assert!(parse_satisfaction("6").is_err());
    }
}
