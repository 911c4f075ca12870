//! A loyalty program: its definition (a JSON document, validated with errors that name the
//! key), who may join ([`Program::check_joining`]), the data an enrolment collected
//! ([`data_quality`]), tiers and the progress to the next one ([`Program::tier_for`],
//! [`Program::progress`]), and what a sale earns with the breakdown of which rule gave how many
//! points ([`Program::accrue`]), and what a refund takes back of each part
//! ([`reverse_parts`]). Pure: the app reads the facts (the customer's activity in a window, the
//! sale's lines and their categories, the sale's local date in the business's time zone) and
//! passes them in. docs/loyalty.md describes the same rules for people.

use crate::benefits::{BenefitKind, BenefitRule, BenefitValue};
use crate::member::Part;
use crate::{EarnRate, LoyaltyError, MAX_BALANCE, Result};
use jiff::Timestamp;
use jiff::civil::Date;
use kesher_core::{ConsentState, Currency, Customer, Params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The longest program definition accepted (bytes).
pub const MAX_DEFINITION: usize = 256 * 1024;
/// The most tiers, promotions, overrides a program may list (each).
pub const MAX_ITEMS: usize = 200;
/// The largest multiplier (tier, promotion, birthday), as a decimal.
pub const MAX_MULTIPLIER_HUNDREDTHS: i64 = 10_00;
/// The longest window a condition or a qualification may look back over (days): ten years.
pub const MAX_WINDOW_DAYS: i64 = 3_660;
/// The largest fixed bonus (points).
pub const MAX_BONUS_POINTS: i64 = 1_000_000;

/// How the program presents itself: a popular program (wide membership, small benefits) or a
/// premium one (selective, larger benefits, often with a fee).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Positioning {
    #[default]
    Popular,
    Premium,
}

/// A minimum spend in a window before joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinSpend {
    /// A decimal amount in the program's currency: `"300.00"`.
    pub amount: String,
    pub days: i64,
}

/// A minimum number of visits (sales) in a window before joining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinVisits {
    pub count: u64,
    pub days: i64,
}

/// Who may join, in any combination (all that are set must hold).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Joining {
    /// An enrolment fee, a decimal amount in the program's currency, paid at enrolment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_spend: Option<MinSpend>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_visits: Option<MinVisits>,
    /// Days since the customer's record was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_tenure_days: Option<i64>,
    /// Only a member's invitation lets a customer join.
    #[serde(default)]
    pub invitation_only: bool,
}

/// A rate: `points` for every whole `per` of the program's currency (`"1.00"`: every shekel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    pub points: i64,
    pub per: String,
}

/// How members earn: the base rate (the stored earning rule of the program's currency when
/// absent) and overrides for categories and products (by SKU). A line earns by its product's
/// override, else its category's, else the base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Earning {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<Rate>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub categories: BTreeMap<String, Rate>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub products: BTreeMap<String, Rate>,
}

/// What tiers are reached by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualifyBy {
    /// Net spend in the program's currency over the window.
    Spend,
    /// Points earned (less refunds' reversals) over the window.
    Points,
}

/// The rolling window tiers are qualified over; a downgrade is reviewed only at the end of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Qualification {
    pub by: QualifyBy,
    pub days: i64,
}

/// One tier: reached at `threshold` (an amount for spend, a number for points; the first tier's
/// is 0), earning `multiplier` times the rule's points, with its benefits (described).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub key: String,
    pub name: String,
    pub threshold: String,
    #[serde(default = "one")]
    pub multiplier: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benefits: Vec<String>,
}

fn one() -> String {
    "1".to_string()
}

/// A time-bound promotion: the matching lines earn `multiplier` times their rule's points
/// between two local dates (both included), at some branches (all when none are listed), for
/// some categories or products (all lines when neither is listed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Promotion {
    pub key: String,
    pub name: String,
    pub multiplier: String,
    pub from: Date,
    pub until: Date,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    /// Branch external ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
}

/// Every `every`-th visit (sale) earns `points` more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NthVisit {
    pub every: u64,
    pub points: i64,
}

/// Behaviour bonuses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Bonuses {
    /// Points for the first purchase after (re)joining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_purchase: Option<i64>,
    /// A multiplier of the rule's points in the member's birthday month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday_month_multiplier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth_visit: Option<NthVisit>,
    /// Points for the member who invited a newcomer, when the newcomer's first purchase as a
    /// member is made (once per newcomer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<i64>,
}

/// A loyalty program as defined by the business (the stored document; [`Program::parse`]
/// checks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub name: String,
    #[serde(default)]
    pub positioning: Positioning,
    pub currency: String,
    /// Identified customers who are not members earn too (by the rule's points only: no tier,
    /// promotion or bonus).
    #[serde(default)]
    pub non_members_earn: bool,
    #[serde(default)]
    pub joining: Joining,
    #[serde(default)]
    pub earning: Earning,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification: Option<Qualification>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<Tier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub promotions: Vec<Promotion>,
    #[serde(default)]
    pub bonuses: Bonuses,
    /// Points expire by lot, oldest first, this long after they were earned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry: Option<Expiry>,
    /// A sale's points are pending for the return window: spendable only after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// The benefits catalogue: what members may be granted, redeem points for, or be surprised
    /// with (`crate::benefits`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benefits: Vec<Benefit>,
}

/// The return window during which a sale's points are held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    pub days: i64,
}

/// Whether a benefit has a money value (hard) or not (soft).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Hard,
    Soft,
}

/// A hard benefit's value: `{"type": "percent_discount", "percent": "10"}`,
/// `{"type": "fixed_credit", "amount": "20.00"}`, `{"type": "gift_product", "sku": "MUG-1"}`,
/// `{"type": "points", "points": 200}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Value {
    PercentDiscount { percent: String },
    FixedCredit { amount: String },
    GiftProduct { sku: String },
    Points { points: i64 },
}

/// One benefit of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benefit {
    pub key: String,
    pub name: String,
    pub kind: Kind,
    /// Hard benefits only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<Value>,
    /// Members may redeem this many points for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_points: Option<i64>,
    /// How long a granted benefit stays available (days).
    pub valid_days: i64,
    /// Granted to members entering these tiers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<String>,
}

/// How long points last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expiry {
    pub lifetime_days: i64,
}

/// A tier with its values read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierRule {
    pub key: String,
    pub name: String,
    /// Minor units (spend) or points.
    pub threshold: i64,
    /// Hundredths: 150 is ×1.5.
    pub multiplier: i64,
    pub benefits: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct PromotionRule {
    key: String,
    multiplier: i64,
    from: Date,
    until: Date,
    categories: Vec<String>,
    products: Vec<String>,
    branches: Vec<String>,
}

/// A checked program: the definition and its values read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    definition: Definition,
    currency: Currency,
    fee: i64,
    min_spend: Option<(i64, i64)>,
    base: Option<EarnRate>,
    categories: BTreeMap<String, EarnRate>,
    products: BTreeMap<String, EarnRate>,
    tiers: Vec<TierRule>,
    promotions: Vec<PromotionRule>,
    birthday: Option<i64>,
    benefits: Vec<BenefitRule>,
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> LoyaltyError {
    let key = key.into();
    let reason = reason.into();
    let mut params = Params::new();
    params.insert("key".to_string(), key.clone().into());
    params.insert("reason".to_string(), reason.clone().into());
    LoyaltyError::Invalid {
        code: "loyalty.program.invalid",
        field: "program",
        reason: format!("{key}: {reason}"),
        params,
    }
}

fn coded(code: &'static str, field: &'static str, reason: String, params: Params) -> LoyaltyError {
    LoyaltyError::Invalid {
        code,
        field,
        reason,
        params,
    }
}

/// A multiplier as hundredths: a decimal of at most two places, from 1 to 10.
fn multiplier(key: &str, s: &str) -> Result<i64> {
    let t = s.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |d: &str| !d.is_empty() && d.len() <= 6 && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!frac.is_empty() && (frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()))) {
        return Err(invalid(key, format!("{s:?} is not a multiplier such as 1.5")));
    }
    let whole: i64 = whole.parse().map_err(|_| invalid(key, "not a number"))?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        let f: i64 = frac.parse().map_err(|_| invalid(key, "not a number"))?;
        if frac.len() == 1 { f * 10 } else { f }
    };
    let h = whole * 100 + frac;
    if !(100..=MAX_MULTIPLIER_HUNDREDTHS).contains(&h) {
        return Err(invalid(key, "must be from 1 to 10"));
    }
    Ok(h)
}

fn window(key: &str, days: i64) -> Result<i64> {
    if !(1..=MAX_WINDOW_DAYS).contains(&days) {
        return Err(invalid(key, format!("must be from 1 to {MAX_WINDOW_DAYS} days")));
    }
    Ok(days)
}

fn amount(currency: Currency, key: &str, s: &str) -> Result<i64> {
    let v = currency
        .parse_amount(s.trim(), "amount")
        .map_err(|e| invalid(key, e.to_string()))?;
    if v < 0 {
        return Err(invalid(key, "must not be negative"));
    }
    if v > kesher_core::money::MAX_SALE_TOTAL {
        return Err(invalid(key, "larger than the largest sale"));
    }
    Ok(v)
}

fn rate(currency: Currency, key: &str, r: &Rate) -> Result<EarnRate> {
    let per = amount(currency, &format!("{key}.per"), &r.per)?;
    EarnRate::new(r.points, per).map_err(|e| {
        invalid(
            format!("{key}.{}", e.field().replace("per_minor", "per")),
            e.to_string(),
        )
    })
}

fn text(key: &str, s: &str, max: usize) -> Result<()> {
    if s.trim().is_empty() {
        return Err(invalid(key, "must not be empty"));
    }
    if s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(invalid(key, format!("at most {max} characters, no control characters")));
    }
    Ok(())
}

fn few<T>(key: &str, items: &[T]) -> Result<()> {
    if items.len() > MAX_ITEMS {
        return Err(invalid(key, format!("at most {MAX_ITEMS} entries")));
    }
    Ok(())
}

fn item_key(key: &str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(invalid(key, "1 to 64 letters, digits, '-' or '_'"));
    }
    Ok(())
}

/// A percentage of at most two decimal places, above 0 and at most 100, as hundredths of a
/// percent.
fn percent(key: &str, s: &str) -> Result<i64> {
    let t = s.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |d: &str| !d.is_empty() && d.len() <= 3 && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!frac.is_empty() && (frac.len() > 2 || !frac.bytes().all(|b| b.is_ascii_digit()))) {
        return Err(invalid(key, format!("{s:?} is not a percentage such as 12.5")));
    }
    let whole: i64 = whole.parse().map_err(|_| invalid(key, "not a number"))?;
    let frac: i64 = match frac.len() {
        0 => 0,
        n => {
            let f: i64 = frac.parse().map_err(|_| invalid(key, "not a number"))?;
            if n == 1 { f * 10 } else { f }
        }
    };
    let h = whole * 100 + frac;
    if !(1..=10_000).contains(&h) {
        return Err(invalid(key, "must be above 0 and at most 100"));
    }
    Ok(h)
}

fn check_benefits(currency: Currency, list: &[Benefit], tiers: &[TierRule]) -> Result<Vec<BenefitRule>> {
    few("benefits", list)?;
    let mut out: Vec<BenefitRule> = Vec::with_capacity(list.len());
    for (i, b) in list.iter().enumerate() {
        let key = format!("benefits[{i}]");
        item_key(&format!("{key}.key"), &b.key)?;
        if out.iter().any(|o| o.key == b.key) {
            return Err(invalid(format!("{key}.key"), format!("{:?} is listed twice", b.key)));
        }
        text(&format!("{key}.name"), &b.name, 100)?;
        let value = match (b.kind, &b.value) {
            (Kind::Soft, Some(_)) => {
                return Err(invalid(format!("{key}.value"), "a soft benefit has no money value"));
            }
            (Kind::Hard, None) => {
                return Err(invalid(
                    format!("{key}.value"),
                    "a hard benefit needs a value: percent_discount, fixed_credit, gift_product or points",
                ));
            }
            (Kind::Soft, None) => None,
            (Kind::Hard, Some(v)) => Some(match v {
                Value::PercentDiscount { percent: p } => BenefitValue::PercentDiscount {
                    hundredths: percent(&format!("{key}.value.percent"), p)?,
                },
                Value::FixedCredit { amount: a } => {
                    let minor = amount(currency, &format!("{key}.value.amount"), a)?;
                    if minor == 0 {
                        return Err(invalid(format!("{key}.value.amount"), "must be more than 0"));
                    }
                    BenefitValue::FixedCredit { minor }
                }
                Value::GiftProduct { sku } => {
                    text(&format!("{key}.value.sku"), sku, 100)?;
                    BenefitValue::GiftProduct {
                        sku: sku.trim().to_string(),
                    }
                }
                Value::Points { points } => {
                    if !(1..=MAX_BONUS_POINTS).contains(points) {
                        return Err(invalid(
                            format!("{key}.value.points"),
                            format!("from 1 to {MAX_BONUS_POINTS} points"),
                        ));
                    }
                    BenefitValue::Points { points: *points }
                }
            }),
        };
        if let Some(c) = b.cost_points
            && !(1..=MAX_BONUS_POINTS).contains(&c)
        {
            return Err(invalid(
                format!("{key}.cost_points"),
                format!("from 1 to {MAX_BONUS_POINTS} points"),
            ));
        }
        window(&format!("{key}.valid_days"), b.valid_days)?;
        few(&format!("{key}.tiers"), &b.tiers)?;
        for (n, t) in b.tiers.iter().enumerate() {
            if !tiers.iter().any(|x| &x.key == t) {
                return Err(invalid(
                    format!("{key}.tiers[{n}]"),
                    format!("{t:?} is not a tier of the program"),
                ));
            }
        }
        out.push(BenefitRule {
            key: b.key.clone(),
            name: b.name.clone(),
            kind: match b.kind {
                Kind::Hard => BenefitKind::Hard,
                Kind::Soft => BenefitKind::Soft,
            },
            value,
            cost_points: b.cost_points,
            valid_days: b.valid_days,
            tiers: b.tiers.clone(),
        });
    }
    Ok(out)
}

impl Program {
    /// Read and check a definition (JSON). An error names the key: `tiers[1].multiplier`.
    pub fn parse(json: &str) -> Result<Program> {
        if json.len() > MAX_DEFINITION {
            return Err(invalid("", format!("a definition is at most {MAX_DEFINITION} bytes")));
        }
        let de = &mut serde_json::Deserializer::from_str(json);
        let definition: Definition = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let key = if path == "." { String::new() } else { path };
            invalid(key, e.inner().to_string())
        })?;
        Program::check(definition)
    }

    /// Check a definition already read.
    pub fn check(d: Definition) -> Result<Program> {
        text("name", &d.name, 200)?;
        let currency = Currency::parse(&d.currency).map_err(|e| invalid("currency", e.to_string()))?;
        let j = &d.joining;
        let fee = match &j.fee {
            Some(f) => amount(currency, "joining.fee", f)?,
            None => 0,
        };
        let min_spend = match &j.min_spend {
            Some(m) => Some((
                amount(currency, "joining.min_spend.amount", &m.amount)?,
                window("joining.min_spend.days", m.days)?,
            )),
            None => None,
        };
        if let Some(v) = &j.min_visits {
            window("joining.min_visits.days", v.days)?;
            if v.count == 0 || v.count > 100_000 {
                return Err(invalid("joining.min_visits.count", "must be from 1 to 100000"));
            }
        }
        if let Some(t) = j.min_tenure_days {
            window("joining.min_tenure_days", t)?;
        }
        let base = match &d.earning.base {
            Some(r) => Some(rate(currency, "earning.base", r)?),
            None => None,
        };
        few("earning.categories", &d.earning.categories.keys().collect::<Vec<_>>())?;
        few("earning.products", &d.earning.products.keys().collect::<Vec<_>>())?;
        let mut categories = BTreeMap::new();
        for (k, r) in &d.earning.categories {
            text(&format!("earning.categories.{k}"), k, 100)?;
            categories.insert(k.clone(), rate(currency, &format!("earning.categories.{k}"), r)?);
        }
        let mut products = BTreeMap::new();
        for (k, r) in &d.earning.products {
            text(&format!("earning.products.{k}"), k, 100)?;
            products.insert(k.clone(), rate(currency, &format!("earning.products.{k}"), r)?);
        }
        few("tiers", &d.tiers)?;
        if !d.tiers.is_empty() && d.qualification.is_none() {
            return Err(invalid(
                "qualification",
                "tiers need a qualification: {\"by\": \"spend\" or \"points\", \"days\": N}",
            ));
        }
        if let Some(q) = &d.qualification {
            window("qualification.days", q.days)?;
        }
        let mut tiers: Vec<TierRule> = Vec::with_capacity(d.tiers.len());
        for (i, t) in d.tiers.iter().enumerate() {
            let key = format!("tiers[{i}]");
            item_key(&format!("{key}.key"), &t.key)?;
            if tiers.iter().any(|o| o.key == t.key) {
                return Err(invalid(format!("{key}.key"), format!("{:?} is listed twice", t.key)));
            }
            text(&format!("{key}.name"), &t.name, 100)?;
            let threshold = match d.qualification.as_ref().map(|q| q.by) {
                Some(QualifyBy::Points) => {
                    let v: i64 = t
                        .threshold
                        .trim()
                        .parse()
                        .map_err(|_| invalid(format!("{key}.threshold"), "a whole number of points"))?;
                    if !(0..=MAX_BALANCE).contains(&v) {
                        return Err(invalid(
                            format!("{key}.threshold"),
                            format!("from 0 to {MAX_BALANCE} points"),
                        ));
                    }
                    v
                }
                _ => amount(currency, &format!("{key}.threshold"), &t.threshold)?,
            };
            if i == 0 && threshold != 0 {
                return Err(invalid(
                    format!("{key}.threshold"),
                    "the first tier is where every member starts: 0",
                ));
            }
            if let Some(prev) = tiers.last()
                && threshold <= prev.threshold
            {
                return Err(invalid(
                    format!("{key}.threshold"),
                    "must be higher than the tier before",
                ));
            }
            let m = multiplier(&format!("{key}.multiplier"), &t.multiplier)?;
            few(&format!("{key}.benefits"), &t.benefits)?;
            for (b, s) in t.benefits.iter().enumerate() {
                text(&format!("{key}.benefits[{b}]"), s, 200)?;
            }
            tiers.push(TierRule {
                key: t.key.clone(),
                name: t.name.clone(),
                threshold,
                multiplier: m,
                benefits: t.benefits.clone(),
            });
        }
        few("promotions", &d.promotions)?;
        let mut promotions: Vec<PromotionRule> = Vec::new();
        for (i, p) in d.promotions.iter().enumerate() {
            let key = format!("promotions[{i}]");
            item_key(&format!("{key}.key"), &p.key)?;
            if promotions.iter().any(|o| o.key == p.key) {
                return Err(invalid(format!("{key}.key"), format!("{:?} is listed twice", p.key)));
            }
            text(&format!("{key}.name"), &p.name, 100)?;
            if p.until < p.from {
                return Err(invalid(format!("{key}.until"), "is before from"));
            }
            for (field, list) in [
                ("categories", &p.categories),
                ("products", &p.products),
                ("branches", &p.branches),
            ] {
                few(&format!("{key}.{field}"), list)?;
                for (n, s) in list.iter().enumerate() {
                    text(&format!("{key}.{field}[{n}]"), s, 100)?;
                }
            }
            promotions.push(PromotionRule {
                key: p.key.clone(),
                multiplier: multiplier(&format!("{key}.multiplier"), &p.multiplier)?,
                from: p.from,
                until: p.until,
                categories: p.categories.clone(),
                products: p.products.clone(),
                branches: p.branches.clone(),
            });
        }
        if let Some(e) = &d.expiry {
            window("expiry.lifetime_days", e.lifetime_days)?;
        }
        if let Some(p) = &d.pending {
            if !(1..=365).contains(&p.days) {
                return Err(invalid("pending.days", "must be from 1 to 365 days"));
            }
            if let Some(e) = &d.expiry
                && e.lifetime_days <= p.days
            {
                return Err(invalid(
                    "expiry.lifetime_days",
                    "must be longer than the pending window",
                ));
            }
        }
        let b = &d.bonuses;
        if let Some(p) = b.first_purchase
            && !(1..=MAX_BONUS_POINTS).contains(&p)
        {
            return Err(invalid(
                "bonuses.first_purchase",
                format!("from 1 to {MAX_BONUS_POINTS} points"),
            ));
        }
        if let Some(p) = b.referral
            && !(1..=MAX_BONUS_POINTS).contains(&p)
        {
            return Err(invalid(
                "bonuses.referral",
                format!("from 1 to {MAX_BONUS_POINTS} points"),
            ));
        }
        let birthday = match &b.birthday_month_multiplier {
            Some(m) => Some(multiplier("bonuses.birthday_month_multiplier", m)?),
            None => None,
        };
        if let Some(n) = &b.nth_visit {
            if !(2..=1_000).contains(&n.every) {
                return Err(invalid("bonuses.nth_visit.every", "from 2 to 1000"));
            }
            if !(1..=MAX_BONUS_POINTS).contains(&n.points) {
                return Err(invalid(
                    "bonuses.nth_visit.points",
                    format!("from 1 to {MAX_BONUS_POINTS} points"),
                ));
            }
        }
        let benefits = check_benefits(currency, &d.benefits, &tiers)?;
        Ok(Program {
            benefits,
            currency,
            fee,
            min_spend,
            base,
            categories,
            products,
            tiers,
            promotions,
            birthday,
            definition: d,
        })
    }

    pub fn definition(&self) -> &Definition {
        &self.definition
    }
    /// The definition as stored and shown (canonical JSON, pretty).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&self.definition).unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        &self.definition.name
    }
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The enrolment fee, minor units (0 when none).
    pub fn fee(&self) -> i64 {
        self.fee
    }
    pub fn non_members_earn(&self) -> bool {
        self.definition.non_members_earn
    }
    pub fn tiers(&self) -> &[TierRule] {
        &self.tiers
    }
    pub fn qualification(&self) -> Option<&Qualification> {
        self.definition.qualification.as_ref()
    }
    /// The windows the joining conditions look back over: (spend days, visits days).
    pub fn joining_windows(&self) -> (Option<i64>, Option<i64>) {
        (
            self.min_spend.map(|(_, d)| d),
            self.definition.joining.min_visits.as_ref().map(|v| v.days),
        )
    }
    /// How long a sale's points are held before they become spendable (`None`: at once).
    pub fn pending_window(&self) -> Option<jiff::SignedDuration> {
        self.definition
            .pending
            .as_ref()
            .map(|p| jiff::SignedDuration::from_hours(24 * p.days))
    }
    /// How long points last (`None`: they do not expire).
    pub fn points_lifetime(&self) -> Option<jiff::SignedDuration> {
        self.definition
            .expiry
            .as_ref()
            .map(|e| jiff::SignedDuration::from_hours(24 * e.lifetime_days))
    }
    /// The benefits catalogue.
    pub fn benefits(&self) -> &[BenefitRule] {
        &self.benefits
    }
    pub fn benefit(&self, key: &str) -> Option<&BenefitRule> {
        self.benefits.iter().find(|b| b.key == key)
    }
    /// The benefits granted on entering the tier `key`, in catalogue order.
    pub fn tier_benefits<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a BenefitRule> + 'a {
        self.benefits.iter().filter(move |b| b.tiers.iter().any(|t| t == key))
    }
    pub fn tier(&self, key: &str) -> Option<&TierRule> {
        self.tiers.iter().find(|t| t.key == key)
    }

    /// Whether a customer with these facts may join; the first condition that fails, named.
    pub fn check_joining(&self, f: &JoiningFacts) -> Result<()> {
        let j = &self.definition.joining;
        if j.invitation_only && !f.invited {
            return Err(coded(
                "loyalty.join.invitation_required",
                "invited_by",
                "the program is by invitation only: name the member who invited".to_string(),
                Params::new(),
            ));
        }
        if self.fee > 0 && f.fee_paid < self.fee {
            return Err(coded(
                "loyalty.join.fee_unpaid",
                "fee_paid",
                format!(
                    "the enrolment fee is {} minor units; {} were paid",
                    self.fee, f.fee_paid
                ),
                kesher_core::params!(fee = self.fee, paid = f.fee_paid),
            ));
        }
        if let Some((min, days)) = self.min_spend
            && f.spend < min
        {
            return Err(coded(
                "loyalty.join.min_spend",
                "customer",
                format!(
                    "joining needs a spend of {min} minor units in {days} days; the customer spent {}",
                    f.spend
                ),
                kesher_core::params!(required = min, actual = f.spend, days = days),
            ));
        }
        if let Some(v) = &j.min_visits
            && f.visits < v.count
        {
            return Err(coded(
                "loyalty.join.min_visits",
                "customer",
                format!(
                    "joining needs {} visits in {} days; the customer made {}",
                    v.count, v.days, f.visits
                ),
                kesher_core::params!(required = v.count as i64, actual = f.visits as i64, days = v.days),
            ));
        }
        if let Some(t) = j.min_tenure_days
            && f.tenure_days < t
        {
            return Err(coded(
                "loyalty.join.min_tenure",
                "customer",
                format!("joining needs {t} days as a customer; this one has {}", f.tenure_days),
                kesher_core::params!(required = t, actual = f.tenure_days),
            ));
        }
        Ok(())
    }

    /// The tier a qualifying value reaches (the highest whose threshold it meets).
    pub fn tier_for(&self, value: i64) -> Option<&TierRule> {
        self.tiers.iter().rev().find(|t| value >= t.threshold)
    }

    /// After a sale: the tier the member moves up to, if the value reaches a tier above the
    /// current one (an upgrade is immediate; a downgrade waits for the review).
    pub fn upgrade(&self, current: Option<&str>, value: i64) -> Option<&TierRule> {
        let reached = self.tier_for(value)?;
        let at = current.and_then(|c| self.tiers.iter().position(|t| t.key == c));
        let to = self.tiers.iter().position(|t| t.key == reached.key)?;
        match at {
            Some(a) if a >= to => None,
            _ => Some(reached),
        }
    }

    /// The tier and the way to the next one, for a member in `current` with `value`.
    pub fn progress(&self, current: Option<&str>, value: i64) -> Progress {
        let at = current
            .and_then(|c| self.tiers.iter().position(|t| t.key == c))
            .or_else(|| self.tiers.iter().rposition(|t| value >= t.threshold));
        let next = match at {
            Some(i) => self.tiers.get(i + 1),
            None => self.tiers.first(),
        };
        Progress {
            tier: at.and_then(|i| self.tiers.get(i)).map(|t| t.key.clone()),
            value,
            next: next.map(|t| NextTier {
                key: t.key.clone(),
                threshold: t.threshold,
                remaining: (t.threshold - value).max(0),
            }),
        }
    }

    /// What a sale earns, with the breakdown. A sale in another currency than the program's
    /// earns by the base rate of its own currency only (`ctx.base`), as does a non-member when
    /// the program lets non-members earn; a non-member earns nothing otherwise.
    pub fn accrue(&self, ctx: &SaleContext<'_>) -> Result<Accrual> {
        let member = match (&ctx.member, self.definition.non_members_earn) {
            (Some(m), _) => Some(m),
            (None, true) => None,
            (None, false) => return Ok(Accrual::default()),
        };
        if ctx.currency != self.currency {
            let net: i64 = ctx.lines.iter().map(|l| l.net).fold(0i64, i64::saturating_add);
            let points = match ctx.base {
                Some(r) => r.points_for(net)?,
                None => 0,
            };
            return Ok(Accrual::from_parts(vec![Part {
                rule: "base".to_string(),
                points,
            }]));
        }
        // The rule's points: lines grouped by the rate they earn at (so that with no overrides
        // a sale earns what the plain rule gives on its total).
        let base = self.base.or(ctx.base);
        let mut groups: BTreeMap<String, (EarnRate, i64)> = BTreeMap::new();
        let mut line_rule: Vec<Option<String>> = Vec::with_capacity(ctx.lines.len());
        for l in ctx.lines {
            let by_product = l
                .sku
                .as_ref()
                .and_then(|s| self.products.get(s).map(|r| (format!("product:{s}"), *r)));
            let by_category = || {
                l.category
                    .as_ref()
                    .and_then(|c| self.categories.get(c).map(|r| (format!("category:{c}"), *r)))
            };
            let chosen = by_product
                .or_else(by_category)
                .or_else(|| base.map(|r| ("base".to_string(), r)));
            match chosen {
                Some((rule, r)) => {
                    let g = groups.entry(rule.clone()).or_insert((r, 0));
                    g.1 = g.1.saturating_add(l.net);
                    line_rule.push(Some(rule));
                }
                None => line_rule.push(None),
            }
        }
        let mut parts = Vec::new();
        let mut rule_points: i64 = 0;
        for (rule, (r, net)) in &groups {
            let p = r.points_for(*net)?;
            rule_points = rule_points.saturating_add(p);
            parts.push(Part {
                rule: rule.clone(),
                points: p,
            });
        }
        let Some(member) = member else {
            return Ok(Accrual::from_parts(parts));
        };
        let extra = |points: i64, hundredths: i64| -> i64 {
            (i128::from(points) * i128::from(hundredths - 100) / 100).clamp(0, i128::from(MAX_BALANCE)) as i64
        };
        if let Some(t) = member.tier.as_deref().and_then(|k| self.tier(k))
            && t.multiplier > 100
        {
            parts.push(Part {
                rule: format!("tier:{}", t.key),
                points: extra(rule_points, t.multiplier),
            });
        }
        for p in &self.promotions {
            if ctx.local_date < p.from || ctx.local_date > p.until {
                continue;
            }
            if !p.branches.is_empty() && !ctx.branch.is_some_and(|b| p.branches.iter().any(|x| x == b)) {
                continue;
            }
            // The rule's points of the matching lines, group by group.
            let mut matching: BTreeMap<&str, i64> = BTreeMap::new();
            for (l, rule) in ctx.lines.iter().zip(&line_rule) {
                let Some(rule) = rule else { continue };
                let all = p.categories.is_empty() && p.products.is_empty();
                let hit = all
                    || l.category.as_ref().is_some_and(|c| p.categories.contains(c))
                    || l.sku.as_ref().is_some_and(|s| p.products.contains(s));
                if hit {
                    let m = matching.entry(rule.as_str()).or_insert(0);
                    *m = m.saturating_add(l.net);
                }
            }
            let mut points: i64 = 0;
            for (rule, net) in matching {
                if let Some((r, _)) = groups.get(rule) {
                    points = points.saturating_add(r.points_for(net)?);
                }
            }
            if points > 0 {
                parts.push(Part {
                    rule: format!("promotion:{}", p.key),
                    points: extra(points, p.multiplier),
                });
            }
        }
        let sale_net: i64 = ctx.lines.iter().map(|l| l.net).fold(0i64, i64::saturating_add);
        if sale_net > 0 {
            if let (Some(m), Some(b)) = (self.birthday, member.birth_date)
                && b.month() == ctx.local_date.month()
            {
                parts.push(Part {
                    rule: "bonus:birthday".to_string(),
                    points: extra(rule_points, m),
                });
            }
            if let Some(p) = self.definition.bonuses.first_purchase
                && member.purchases_since_enrolment == 0
            {
                parts.push(Part {
                    rule: "bonus:first_purchase".to_string(),
                    points: p,
                });
            }
            if let Some(n) = &self.definition.bonuses.nth_visit
                && (member.visits_before + 1) % n.every == 0
            {
                parts.push(Part {
                    rule: "bonus:nth_visit".to_string(),
                    points: n.points,
                });
            }
        }
        Ok(Accrual::from_parts(parts))
    }
}

/// What the joining conditions are checked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JoiningFacts {
    /// Net spend in the program's currency over the min-spend window, minor units.
    pub spend: i64,
    /// Sales over the min-visits window.
    pub visits: u64,
    /// Whole days since the customer's record was created.
    pub tenure_days: i64,
    /// A member invited the customer.
    pub invited: bool,
    /// The fee paid at enrolment, minor units.
    pub fee_paid: i64,
}

/// A member's tier and the way to the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub tier: Option<String>,
    /// The qualifying value over the window (minor units or points).
    pub value: i64,
    pub next: Option<NextTier>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextTier {
    pub key: String,
    pub threshold: i64,
    pub remaining: i64,
}

/// One line of a sale as the earning rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleLine {
    /// The line's amount after its discount, minor units.
    pub net: i64,
    pub sku: Option<String>,
    pub category: Option<String>,
}

/// A member's facts at the moment of a sale.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberFacts {
    pub tier: Option<String>,
    pub birth_date: Option<Date>,
    /// The customer's sales before this one, ever (the n-th visit bonus).
    pub visits_before: u64,
    /// The customer's sales since the latest (re)joining, before this one.
    pub purchases_since_enrolment: u64,
}

/// A sale as the earning rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleContext<'a> {
    pub currency: Currency,
    pub lines: &'a [SaleLine],
    /// The branch's external id (promotions by branch).
    pub branch: Option<&'a str>,
    /// The sale's date in the business's time zone (promotion windows, birthday month).
    pub local_date: Date,
    /// The stored earning rule's rate for the sale's currency (the base when the program sets
    /// none).
    pub base: Option<EarnRate>,
    /// `None` for a customer who is not a member.
    pub member: Option<MemberFacts>,
}

/// What a sale earns: the points and which rule gave how many (parts with 0 points left out).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Accrual {
    pub points: i64,
    pub parts: Vec<Part>,
}

impl Accrual {
    fn from_parts(parts: Vec<Part>) -> Accrual {
        let parts: Vec<Part> = parts.into_iter().filter(|p| p.points != 0).collect();
        let points = parts.iter().fold(0i64, |a, p| a.saturating_add(p.points));
        Accrual { points, parts }
    }
}

/// What a refund takes back of each part of what its sale earned: part by part the cumulative
/// share `floor(part × refunded / total)`, less what the refunds before it took by the same rule.
/// The parts taken back sum to the entry's points (negative); a whole refund takes back every
/// part exactly.
pub fn reverse_parts(earned: &[Part], sale_total: i64, refunded_before: i64, amount: i64) -> Vec<Part> {
    if sale_total <= 0 || amount <= 0 {
        return Vec::new();
    }
    let total = i128::from(sale_total);
    let before = i128::from(refunded_before.max(0)).min(total);
    let after = (before + i128::from(amount)).min(total);
    earned
        .iter()
        .filter(|p| p.points > 0)
        .filter_map(|p| {
            let v = i128::from(p.points);
            let take = v * after / total - v * before / total;
            // take ≤ p.points, so it fits.
            (take > 0).then(|| Part {
                rule: p.rule.clone(),
                points: -(take as i64),
            })
        })
        .collect()
}

/// The data an enrolment collected, scored: 25 points each for a phone, an e-mail, a plausible
/// birth date (not in the future, at most 120 years ago) and a consent granted on some channel;
/// with the names of what is missing.
pub fn data_quality(c: &Customer, today: Date) -> (u8, Vec<String>) {
    let mut missing = Vec::new();
    if c.phone.is_none() {
        missing.push("phone".to_string());
    }
    if c.email.is_none() {
        missing.push("email".to_string());
    }
    let plausible = c
        .demographics
        .birth_date
        .is_some_and(|b| b <= today && i32::from(today.year()) - i32::from(b.year()) <= 120);
    if !plausible {
        missing.push("birth_date".to_string());
    }
    if !c.consents.iter().any(|x| x.state == ConsentState::Granted) {
        missing.push("consent".to_string());
    }
    let score = 100 - 25 * missing.len() as u8;
    (score, missing)
}

/// Whole days from `from` to `to` (0 when `to` is earlier).
pub fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).max(0) / 86_400
}

#[cfg(test)]
mod tests;
