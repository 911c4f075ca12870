//! The vocabulary of segment expressions: every customer field an expression can name, its
//! type, and where its value comes from. The application fills a [`crate::Record`] with these
//! values; the parser rejects any other name (except `attributes.<key>`).

/// The type of a field's value, checked when an expression is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Number,
    Text,
    Bool,
    Date,
    /// A set of texts (the categories a customer bought): `has`, `has any`, `has all`.
    TextSet,
    /// Personal identifiers: only `is set` / `is not set` may be asked of them.
    Presence,
    /// A free-form attribute: compared as a number when both sides are numbers, as text else.
    Any,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::Number => "a number",
            Type::Text => "text",
            Type::Bool => "true or false",
            Type::Date => "a date",
            Type::TextSet => "a set of texts",
            Type::Presence => "a personal identifier (only `is set` / `is not set`)",
            Type::Any => "a free-form attribute",
        }
    }
}

/// Which pass of the application's data a field needs, so that a segment only pays for what
/// it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The customer record itself.
    Profile,
    /// The latest `kesher analyze` results.
    Scores,
    /// One pass over the sales' totals (visits, spend, dates).
    Purchases,
    /// One pass over the sales' lines (categories, products, branches bought at).
    Baskets,
    /// The next best offer (mined rules plus the customer's own purchases).
    Offer,
}

/// One field: its name in expressions, type, source and a one-line description (shown in the
/// API's field list and docs/segments.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    pub name: &'static str,
    pub ty: Type,
    pub source: Source,
    pub doc: &'static str,
}

const fn f(name: &'static str, ty: Type, source: Source, doc: &'static str) -> FieldDef {
    FieldDef { name, ty, source, doc }
}

use Source::{Baskets, Offer, Profile, Purchases, Scores};
use Type::{Bool, Date, Number, Presence, Text, TextSet};

/// Every field, in the order the documentation lists them. The index into this table is the
/// field's [`FieldId`].
pub const FIELDS: &[FieldDef] = &[
    f("kind", Text, Profile, "consumer, intermediary or internal"),
    f("language", Text, Profile, "preferred language code (he, fa, en, ...)"),
    f("gender", Text, Profile, "as recorded"),
    f("city", Text, Profile, "city of residence"),
    f("region", Text, Profile, "region of residence"),
    f("income_band", Text, Profile, "as recorded"),
    f("household_size", Number, Profile, "people in the household"),
    f(
        "age",
        Number,
        Profile,
        "whole years at the evaluation date, from the birth date",
    ),
    f("birth_month", Number, Profile, "1-12, for birthday campaigns"),
    f("birth_day", Number, Profile, "day of the month of the birth date"),
    f(
        "home_branch",
        Text,
        Profile,
        "external id of the branch that registered the customer",
    ),
    f("created", Date, Profile, "date the customer was registered"),
    f("tenure_days", Number, Profile, "days since the customer was registered"),
    f("member_no", Presence, Profile, "member number"),
    f("card", Presence, Profile, "loyalty card number"),
    f("phone", Presence, Profile, "phone number"),
    f("email", Presence, Profile, "e-mail address"),
    f("consent.email", Bool, Profile, "e-mail consent currently granted"),
    f("consent.sms", Bool, Profile, "SMS consent currently granted"),
    f("consent.phone", Bool, Profile, "phone consent currently granted"),
    f(
        "stage",
        Text,
        Scores,
        "lifecycle stage: prospect, first_time, core, at_risk, defected",
    ),
    f(
        "segment",
        Text,
        Scores,
        "named RFM segment (champions, loyal, at_risk, ...)",
    ),
    f("rfm", Text, Scores, "R, F and M quintile scores as \"545\""),
    f("r", Number, Scores, "recency quintile score, 1-5"),
    f("f", Number, Scores, "frequency quintile score, 1-5"),
    f("m", Number, Scores, "monetary quintile score, 1-5"),
    f("tier", Text, Scores, "value tier by CLV: top, middle, rest"),
    f(
        "clv",
        Number,
        Scores,
        "customer lifetime value over the analysis horizon, major currency units",
    ),
    f(
        "p_alive",
        Number,
        Scores,
        "probability the customer is still active, 0-1",
    ),
    f(
        "expected_purchases",
        Number,
        Scores,
        "expected purchases in the analysis horizon",
    ),
    f("frequency", Number, Scores, "repeat purchase periods (BTYD frequency)"),
    f("recency", Number, Scores, "periods from first to last purchase"),
    f("t", Number, Scores, "periods since the first purchase"),
    f(
        "monetary",
        Number,
        Scores,
        "mean repeat purchase value, major currency units",
    ),
    f(
        "revenue",
        Number,
        Scores,
        "total revenue in the analysed window, major currency units",
    ),
    f(
        "margin",
        Number,
        Scores,
        "total margin in the analysed window, major currency units",
    ),
    f(
        "wallet",
        Number,
        Scores,
        "estimated yearly spend on what the business sells, major units",
    ),
    f(
        "share_of_wallet",
        Number,
        Scores,
        "last year's spend divided by the wallet estimate",
    ),
    f("visits", Number, Purchases, "number of sales (refunds excluded)"),
    f(
        "spend",
        Number,
        Purchases,
        "total net spend over all sales, major currency units",
    ),
    f("first_purchase", Date, Purchases, "date of the first sale"),
    f("last_purchase", Date, Purchases, "date of the latest sale"),
    f(
        "days_since_last_purchase",
        Number,
        Purchases,
        "days from the latest sale to the evaluation date",
    ),
    f("categories", TextSet, Baskets, "categories of the products bought"),
    f("products", TextSet, Baskets, "skus bought"),
    f("branches", TextSet, Baskets, "external ids of the branches bought at"),
    f("nbo", Text, Offer, "sku of the next best offer"),
    f("nbo.name", Text, Offer, "product name of the next best offer"),
    f("nbo.category", Text, Offer, "category of the next best offer"),
    f(
        "nbo.score",
        Number,
        Offer,
        "score of the next best offer (confidence x lift x margin)",
    ),
];

/// A field: an index into [`FIELDS`], or a free-form attribute by key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FieldId {
    Known(usize),
    Attribute(String),
}

impl FieldId {
    pub fn name(&self) -> String {
        match self {
            FieldId::Known(i) => FIELDS.get(*i).map(|f| f.name.to_string()).unwrap_or_default(),
            FieldId::Attribute(k) => format!("attributes.{k}"),
        }
    }

    pub fn ty(&self) -> Type {
        match self {
            FieldId::Known(i) => FIELDS.get(*i).map(|f| f.ty).unwrap_or(Type::Any),
            FieldId::Attribute(_) => Type::Any,
        }
    }

    pub fn source(&self) -> Source {
        match self {
            FieldId::Known(i) => FIELDS.get(*i).map(|f| f.source).unwrap_or(Source::Profile),
            FieldId::Attribute(_) => Source::Profile,
        }
    }

    /// The field named `name` (`attributes.<key>` for free-form attributes).
    pub fn lookup(name: &str) -> Option<FieldId> {
        if let Some(key) = name.strip_prefix("attributes.") {
            return (!key.is_empty()).then(|| FieldId::Attribute(key.to_string()));
        }
        FIELDS.iter().position(|f| f.name == name).map(FieldId::Known)
    }

    /// Index of a known field by name; for the application's record builders.
    pub fn index(name: &str) -> Option<usize> {
        FIELDS.iter().position(|f| f.name == name)
    }
}

/// The known field closest to a misspelt name, for "did you mean" hints.
pub fn suggest(name: &str) -> Option<&'static str> {
    let mut best: Option<(usize, &'static str)> = None;
    for f in FIELDS {
        let d = edit_distance(name, f.name);
        if d <= 2.max(name.len() / 4) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, f.name));
        }
    }
    best.map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
