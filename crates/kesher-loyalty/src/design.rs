//! Designing a loyalty program from the business's own sales ([`design`]): whether customers
//! come back often enough for a program to fit, the spend and visit percentiles that place a
//! joining threshold and the tiers, the benefit rate the gross margin can carry, and a replay of
//! the suggested program over the real history with the program's own rules
//! ([`Program::accrue`], [`Program::tier_for`], [`Program::upgrade`]). Pure: the app reads the
//! sales and passes them in with the options; money stays in integer minor units, shares and
//! days are f64 statistics. docs/loyalty.md ("Designing a program from the business's data")
//! describes the method for people.

use crate::program::{Definition, MemberFacts, Program, Qualification, QualifyBy, Rate, SaleContext, SaleLine, Tier};
use crate::{LoyaltyError, Result};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use kesher_core::{Currency, CustomerId, Params};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The window the thresholds, tiers and margins are read over, and the tiers' qualification
/// window (days).
pub const YEAR_DAYS: i64 = 365;
/// "Yes": at least this share of the year's buyers bought twice or more in the year …
pub const REPEAT_RATE_YES: f64 = 0.25;
/// … and the median gap between two purchases of a customer is at most this many days.
pub const MEDIAN_GAP_YES_DAYS: f64 = 120.0;
/// "No": fewer than this share of the year's buyers bought twice (or no customer ever did).
pub const REPEAT_RATE_NO: f64 = 0.10;
/// Fewer buyers than this in the year make the percentages unreliable (said in `warnings`).
pub const FEW_BUYERS: usize = 30;
/// The longest simulation (months).
pub const MAX_MONTHS: i64 = 120;
/// The share of its customers the middle tier should hold (the spend percentile it starts at is
/// 100 − middle − top).
pub const MIDDLE_TIER_SHARE: i64 = 20;
/// The share of its customers the top tier should hold.
pub const TOP_TIER_SHARE: i64 = 5;
/// The tiers' multipliers, hundredths (base, middle, top).
pub const TIER_MULTIPLIERS: [i64; 3] = [100, 150, 200];

/// One line of a sale as the design reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignLine {
    pub category: Option<String>,
    /// The line's amount after its discount, minor units.
    pub net: i64,
    /// Its cost of goods (quantity × the product's unit cost), when known.
    pub cost: Option<i64>,
}

/// One sale (not a refund) of an identified customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignSale {
    pub customer: CustomerId,
    pub at: Timestamp,
    pub currency: Currency,
    /// The sale's total, minor units.
    pub net: i64,
    /// Its lines; a sale without lines counts as one line of unknown category and cost.
    pub lines: Vec<DesignLine>,
}

/// What the business is willing to assume and give.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignOptions {
    /// The one currency designed for; sales in others are left out.
    pub currency: Currency,
    /// The business's zone: months and sale dates are read in it.
    pub time_zone: TimeZone,
    /// Share of the issued points assumed redeemed, thousandths (600 = 0.6).
    pub redemption_permille: i64,
    /// Share of the gross margin the business gives back, thousandths (100 = 10%).
    pub margin_share_permille: i64,
    /// What one point is worth when redeemed, minor units.
    pub point_value: i64,
    /// The months of history the simulation replays.
    pub months: i64,
}

fn parameter(field: &'static str, value: &str, expected: &str) -> LoyaltyError {
    let mut params = Params::new();
    params.insert("value".to_string(), value.to_string().into());
    params.insert("expected".to_string(), expected.to_string().into());
    LoyaltyError::Invalid {
        code: "loyalty.design.parameter",
        field,
        reason: format!("invalid value {value:?}: expected {expected}"),
        params,
    }
}

/// A share from 0 to 1 written as a decimal of at most three places (`"0.6"`), as thousandths.
pub fn parse_share(field: &'static str, s: &str, allow_zero: bool) -> Result<i64> {
    let expected = if allow_zero {
        "a decimal from 0 to 1 such as 0.6"
    } else {
        "a decimal above 0, at most 1, such as 0.1"
    };
    let t = s.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let ok = (!whole.is_empty() || !frac.is_empty())
        && whole.len() <= 1
        && frac.len() <= 3
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return Err(parameter(field, s, expected));
    }
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| parameter(field, s, expected))?
    };
    let mut f: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| parameter(field, s, expected))?
    };
    for _ in frac.len()..3 {
        f *= 10;
    }
    let v = whole * 1000 + f;
    if v > 1000 || (!allow_zero && v == 0) {
        return Err(parameter(field, s, expected));
    }
    Ok(v)
}

/// The months of history to replay: 1 to [`MAX_MONTHS`].
pub fn parse_months(s: &str) -> Result<i64> {
    let expected = format!("a whole number of months from 1 to {MAX_MONTHS}");
    match s.trim().parse::<i64>() {
        Ok(m) if (1..=MAX_MONTHS).contains(&m) => Ok(m),
        _ => Err(parameter("months", s, &expected)),
    }
}

/// A point's value, a positive amount in the currency (`"0.01"`).
pub fn parse_point_value(currency: Currency, s: &str) -> Result<i64> {
    let expected = format!("a positive amount in {currency} such as {}", currency.format_amount(1));
    match currency.parse_amount(s.trim(), "point_value") {
        Ok(v) if (1..=kesher_core::money::MAX_UNIT_PRICE).contains(&v) => Ok(v),
        _ => Err(parameter("point_value", s, &expected)),
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Design {
    pub currency: String,
    /// Amounts in this report are minor units of `currency`.
    pub amounts: &'static str,
    pub history: History,
    pub repeat: RepeatBuying,
    pub thresholds: Thresholds,
    pub margin: Margin,
    pub simulation: Simulation,
    /// The suggested program, ready for `kesher loyalty program set FILE`.
    pub program: Definition,
    /// What makes the figures less reliable (few buyers, no known costs …).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub first_sale: Timestamp,
    pub last_sale: Timestamp,
    /// The year the thresholds and margins are read over: after this instant up to `last_sale`.
    pub year_from: Timestamp,
    pub sales: u64,
    pub buyers: u64,
    /// Sales in other currencies, left out.
    pub other_currency_sales: u64,
}

/// Gaps between two consecutive purchases of a customer, in days.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gaps {
    pub count: u64,
    pub q1_days: Option<f64>,
    pub median_days: Option<f64>,
    pub q3_days: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Yes,
    Borderline,
    No,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Yes => "yes",
            Verdict::Borderline => "borderline",
            Verdict::No => "no",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RepeatBuying {
    pub buyers_year: u64,
    pub repeat_buyers_year: u64,
    /// Share of the year's buyers with two or more purchases in the year.
    pub repeat_rate_year: f64,
    pub buyers_all: u64,
    pub repeat_buyers_all: u64,
    pub repeat_rate_all: f64,
    /// Over all history.
    pub gaps: Gaps,
    /// Share of the year's revenue from its repeat buyers.
    pub repeat_revenue_share_year: f64,
    pub repeat_revenue_share_all: f64,
    pub verdict: Verdict,
    pub reason: String,
    pub rule: String,
}

/// Nearest-rank percentiles (each is a value some customer has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub p50: i64,
    pub p75: i64,
    pub p90: i64,
    pub p95: i64,
    pub p99: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Joining {
    /// Minimum spend over a year to join; `None`: open to every identified customer.
    pub min_spend: Option<i64>,
    pub reason: String,
    /// A selective (premium) program's threshold: the year's spend p75, rounded.
    pub premium_min_spend: i64,
    pub premium_customer_share: f64,
    pub premium_revenue_share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierSuggestion {
    pub key: String,
    pub name: String,
    /// Spend over the last 365 days that reaches the tier, minor units.
    pub threshold: i64,
    /// Hundredths.
    pub multiplier: i64,
    /// Of the year's buyers: those whose spend falls in this tier.
    pub customers: u64,
    pub customer_share: f64,
    pub revenue: i64,
    pub revenue_share: f64,
    /// Gross margin over revenue with known cost of this tier's customers.
    pub margin_rate: Option<f64>,
    /// The points' value given back (at face value) as a share of revenue: base × multiplier.
    pub benefit_rate: Option<f64>,
    /// The share of revenue the tier's own margin can carry.
    pub affordable_rate: Option<f64>,
    pub chosen: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Thresholds {
    pub spend: Percentiles,
    pub visits: Percentiles,
    pub joining: Joining,
    pub tiers: Vec<TierSuggestion>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryMargin {
    pub category: Option<String>,
    pub revenue: i64,
    pub known_cost_share: f64,
    pub gross_margin: Option<i64>,
    pub margin_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Margin {
    /// The year's revenue.
    pub revenue: i64,
    pub known_cost_revenue: i64,
    pub known_cost_share: f64,
    /// Revenue − cost over the lines with a known cost; `None` when no line has one.
    pub gross_margin: Option<i64>,
    pub margin_rate: Option<f64>,
    pub categories: Vec<CategoryMargin>,
    pub margin_share: f64,
    /// `margin_share` × `margin_rate`: what may be given back, as a share of revenue.
    pub affordable_rate: Option<f64>,
    pub point_value: i64,
    /// The affordable rate spread over the tiers' multipliers (weighted by the tiers' revenue):
    /// the base tier's rate.
    pub base_rate: Option<f64>,
    /// `base_rate` in points per major unit of the currency at `point_value`.
    pub points_per_unit: Option<f64>,
    /// The suggested earning rule: `points` per `per` minor units.
    pub earn_points: i64,
    pub earn_per: i64,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimulationPeriod {
    /// `YYYY-MM` in the business's zone, or `total`.
    pub month: String,
    pub sales: u64,
    pub revenue: i64,
    pub points_issued: i64,
    pub points_redeemed: i64,
    /// The redeemed points' value, minor units.
    pub cost: i64,
    /// Over the lines with a known cost.
    pub gross_margin: Option<i64>,
    /// `cost` over `gross_margin`.
    pub cost_share_of_margin: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierReach {
    pub key: String,
    /// Customers of the simulation who were in this tier or a higher one at some point.
    pub customers: u64,
    pub share: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Simulation {
    /// Sales after `from` up to the last sale are replayed.
    pub from: Timestamp,
    pub months: i64,
    pub redemption_rate: f64,
    pub customers: u64,
    pub periods: Vec<SimulationPeriod>,
    pub total: SimulationPeriod,
    pub tiers: Vec<TierReach>,
    /// The total cost within `margin_share` of the replayed sales' gross margin.
    pub within_budget: Option<bool>,
}

fn ratio(a: i128, b: i128) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

fn narrow(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

/// Nearest rank: the smallest value with at least `p`% of the values at or below it.
pub fn percentile(sorted: &[i64], p: i64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len() as i64;
    let rank = (p * n + 99) / 100; // ceil(p × n / 100)
    let i = (rank.clamp(1, n) - 1) as usize;
    sorted.get(i).copied().unwrap_or(0)
}

fn percentiles(sorted: &[i64]) -> Percentiles {
    Percentiles {
        p50: percentile(sorted, 50),
        p75: percentile(sorted, 75),
        p90: percentile(sorted, 90),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
    }
}

/// Linear interpolation between the closest ranks (numpy's default), for the gaps.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    let a = *sorted.get(lo)?;
    let b = *sorted.get(hi)?;
    Some(a + (b - a) * (h - lo as f64))
}

/// An amount rounded to two significant digits of its major units, at least one major unit
/// (`3456.78` → `3500.00`, `987.65` → `990.00`, `12.34` → `12.00`).
pub fn round_amount(currency: Currency, minor: i64) -> i64 {
    let unit = 10i64.pow(currency.exponent());
    if minor <= 0 {
        return 0;
    }
    let major = (minor + unit / 2) / unit;
    let mut step = 1i64;
    while major / step >= 100 {
        step = step.saturating_mul(10);
    }
    let rounded = ((major + step / 2) / step).saturating_mul(step).max(1);
    rounded.saturating_mul(unit)
}

fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

/// `t` moved by `n` days, held at the ends of time rather than overflowing.
fn shift(t: Timestamp, n: i64) -> Timestamp {
    t.checked_add(days(n))
        .unwrap_or(if n < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// A customer's sales in time order (indexes into the sales).
struct Buyer {
    sales: Vec<usize>,
}

/// Margin over lines: (revenue, revenue with known cost, cost of those lines).
#[derive(Default, Clone, Copy)]
struct Money3 {
    revenue: i128,
    known: i128,
    cost: i128,
}

impl Money3 {
    fn add_sale(&mut self, s: &DesignSale) {
        self.revenue += i128::from(s.net);
        for l in &s.lines {
            if let Some(c) = l.cost {
                self.known += i128::from(l.net);
                self.cost += i128::from(c);
            }
        }
    }
    fn margin(&self) -> Option<i128> {
        (self.known > 0).then_some(self.known - self.cost)
    }
    fn margin_rate(&self) -> Option<f64> {
        self.margin().map(|m| ratio(m, self.known))
    }
}

/// Analyse the sales and simulate the suggested program. Sales in other currencies than
/// `options.currency` are left out (and counted); none left is an error naming the currency.
pub fn design(sales: &[DesignSale], options: &DesignOptions) -> Result<Design> {
    let currency = options.currency;
    let mut sales: Vec<&DesignSale> = sales.iter().collect();
    let all = sales.len();
    sales.retain(|s| s.currency == currency);
    let other_currency_sales = (all - sales.len()) as u64;
    sales.sort_by_key(|s| (micros(s.at), s.customer));
    let (Some(first), Some(last)) = (sales.first(), sales.last()) else {
        let mut params = Params::new();
        params.insert("currency".to_string(), currency.to_string().into());
        return Err(LoyaltyError::Invalid {
            code: "loyalty.design.no_sales",
            field: "currency",
            reason: format!(
                "no sales of identified customers in {currency}: there is nothing to design a program from"
            ),
            params,
        });
    };
    let (first_at, end) = (first.at, last.at);
    let year_from = shift(end, -YEAR_DAYS);
    let in_year = |s: &DesignSale| s.at > year_from;

    let mut buyers: HashMap<CustomerId, Buyer> = HashMap::new();
    for (i, s) in sales.iter().enumerate() {
        buyers
            .entry(s.customer)
            .or_insert_with(|| Buyer { sales: Vec::new() })
            .sales
            .push(i);
    }
    let mut warnings = Vec::new();

    // 1. Repeat buying.
    let mut gaps: Vec<f64> = Vec::new();
    let (mut buyers_year, mut repeat_year, mut repeat_all) = (0u64, 0u64, 0u64);
    let (mut revenue_year, mut repeat_revenue_year, mut revenue_all, mut repeat_revenue_all) =
        (0i128, 0i128, 0i128, 0i128);
    // The year's spend and visits per customer, and the customer's year revenue for the tiers.
    let mut year: Vec<(CustomerId, i64, i64)> = Vec::new();
    for (id, b) in &buyers {
        let total: i128 = b
            .sales
            .iter()
            .filter_map(|&i| sales.get(i))
            .map(|s| i128::from(s.net))
            .sum();
        revenue_all += total;
        if b.sales.len() >= 2 {
            repeat_all += 1;
            repeat_revenue_all += total;
        }
        for w in b.sales.windows(2) {
            if let (Some(a), Some(c)) = (
                w.first().and_then(|&i| sales.get(i)),
                w.get(1).and_then(|&i| sales.get(i)),
            ) {
                gaps.push((micros(c.at) - micros(a.at)) as f64 / 86_400_000_000.0);
            }
        }
        let ys: Vec<&DesignSale> = b
            .sales
            .iter()
            .filter_map(|&i| sales.get(i).copied())
            .filter(|s| in_year(s))
            .collect();
        if ys.is_empty() {
            continue;
        }
        buyers_year += 1;
        let spend: i128 = ys.iter().map(|s| i128::from(s.net)).sum();
        revenue_year += spend;
        if ys.len() >= 2 {
            repeat_year += 1;
            repeat_revenue_year += spend;
        }
        year.push((*id, narrow(spend), ys.len() as i64));
    }
    gaps.sort_by(f64::total_cmp);
    let gaps = Gaps {
        count: gaps.len() as u64,
        q1_days: quantile(&gaps, 0.25),
        median_days: quantile(&gaps, 0.5),
        q3_days: quantile(&gaps, 0.75),
    };
    let repeat_rate_year = ratio(i128::from(repeat_year), i128::from(buyers_year));
    let rule = format!(
        "yes when at least {:.0}% of the year's buyers bought twice or more in the year and the median gap between \
         two purchases is at most {MEDIAN_GAP_YES_DAYS:.0} days; no when fewer than {:.0}% did (or no customer ever \
         bought twice); borderline otherwise",
        REPEAT_RATE_YES * 100.0,
        REPEAT_RATE_NO * 100.0
    );
    let pct = |x: f64| format!("{:.0}%", x * 100.0);
    let (verdict, reason) = match gaps.median_days {
        None => (
            Verdict::No,
            "no customer ever bought twice: a program rewards returning, and nobody returns".to_string(),
        ),
        Some(m) if repeat_rate_year < REPEAT_RATE_NO => (
            Verdict::No,
            format!(
                "repeat buying is too rare: {} of the year's buyers came back within the year (median gap {m:.0} days)",
                pct(repeat_rate_year)
            ),
        ),
        Some(m) if repeat_rate_year >= REPEAT_RATE_YES && m <= MEDIAN_GAP_YES_DAYS => (
            Verdict::Yes,
            format!(
                "repeat buying is frequent enough: {} of the year's buyers came back within the year; median gap {m:.0} days",
                pct(repeat_rate_year)
            ),
        ),
        Some(m) => (
            Verdict::Borderline,
            format!(
                "repeat buying is moderate: {} of the year's buyers came back within the year; median gap {m:.0} days",
                pct(repeat_rate_year)
            ),
        ),
    };
    if (buyers_year as usize) < FEW_BUYERS {
        warnings.push(format!(
            "only {buyers_year} buyers in the last {YEAR_DAYS} days: the shares and percentiles rest on few customers"
        ));
    }
    let repeat = RepeatBuying {
        buyers_year,
        repeat_buyers_year: repeat_year,
        repeat_rate_year,
        buyers_all: buyers.len() as u64,
        repeat_buyers_all: repeat_all,
        repeat_rate_all: ratio(i128::from(repeat_all), buyers.len() as i128),
        gaps,
        repeat_revenue_share_year: ratio(repeat_revenue_year, revenue_year),
        repeat_revenue_share_all: ratio(repeat_revenue_all, revenue_all),
        verdict,
        reason,
        rule,
    };

    // 2. Thresholds and tiers.
    let mut spends: Vec<i64> = year.iter().map(|y| y.1).collect();
    spends.sort_unstable();
    let mut visits: Vec<i64> = year.iter().map(|y| y.2).collect();
    visits.sort_unstable();
    let spend = percentiles(&spends);
    let covered = |threshold: i64| -> (u64, f64, f64) {
        let (n, r) = year
            .iter()
            .filter(|y| y.1 >= threshold)
            .fold((0u64, 0i128), |(n, r), y| (n + 1, r + i128::from(y.1)));
        (n, ratio(i128::from(n), year.len() as i128), ratio(r, revenue_year))
    };
    let premium = round_amount(currency, spend.p75).min(kesher_core::money::MAX_SALE_TOTAL);
    let (_, premium_customer_share, premium_revenue_share) = covered(premium);
    let joining = Joining {
        min_spend: None,
        reason: match verdict {
            Verdict::No => "no threshold: repeat buying is too rare for any program; if one is run anyway, a selective \
                            (premium) one with the threshold below fits better than an open one"
                .to_string(),
            _ => "no threshold: a popular program enrols every identified customer at the till, so that their next visits \
                  are the ones it rewards; the tiers, not the door, separate the best customers"
                .to_string(),
        },
        premium_min_spend: premium,
        premium_customer_share,
        premium_revenue_share,
    };
    let middle_p = 100 - MIDDLE_TIER_SHARE - TOP_TIER_SHARE;
    let top_p = 100 - TOP_TIER_SHARE;
    // A threshold is at most the largest sale (what a program's amount may be).
    let max = kesher_core::money::MAX_SALE_TOTAL;
    let middle = round_amount(currency, percentile(&spends, middle_p)).min(max);
    let top = round_amount(currency, percentile(&spends, top_p)).min(max);
    let mut bounds: Vec<(&str, &str, i64, i64, String)> = vec![(
        "member",
        "Member",
        0,
        TIER_MULTIPLIERS[0],
        "every member starts here".to_string(),
    )];
    if middle > 0 && middle < top {
        bounds.push((
            "silver",
            "Silver",
            middle,
            TIER_MULTIPLIERS[1],
            format!(
                "the year's spend p{middle_p} ({}) rounded to two significant digits: about {MIDDLE_TIER_SHARE}% of \
                 customers between it and the top tier",
                currency.format_amount(percentile(&spends, middle_p))
            ),
        ));
    }
    if top > 0 {
        bounds.push((
            "gold",
            "Gold",
            top,
            TIER_MULTIPLIERS[2],
            format!(
                "the year's spend p{top_p} ({}) rounded to two significant digits: about the top {TOP_TIER_SHARE}% of \
                 customers",
                currency.format_amount(percentile(&spends, top_p))
            ),
        ));
    }
    // Per tier: its customers, revenue and margin over the year.
    let tier_of_spend = |v: i64| bounds.iter().rposition(|b| v >= b.2).unwrap_or(0);
    let mut tier_customer: HashMap<CustomerId, usize> = HashMap::new();
    let mut per_tier = vec![(0u64, 0i128, Money3::default()); bounds.len()];
    for (id, v, _) in &year {
        let t = tier_of_spend(*v);
        tier_customer.insert(*id, t);
        if let Some(p) = per_tier.get_mut(t) {
            p.0 += 1;
            p.1 += i128::from(*v);
        }
    }
    let mut year_money = Money3::default();
    let mut categories: BTreeMap<Option<String>, Money3> = BTreeMap::new();
    for s in sales.iter().filter(|s| in_year(s)) {
        year_money.add_sale(s);
        if let Some(p) = tier_customer.get(&s.customer).and_then(|&t| per_tier.get_mut(t)) {
            p.2.add_sale(s);
        }
        if s.lines.is_empty() {
            categories.entry(None).or_default().revenue += i128::from(s.net);
        }
        for l in &s.lines {
            let c = categories.entry(l.category.clone()).or_default();
            c.revenue += i128::from(l.net);
            if let Some(cost) = l.cost {
                c.known += i128::from(l.net);
                c.cost += i128::from(cost);
            }
        }
    }

    // 3. The benefit rate the margin carries.
    let margin_share = options.margin_share_permille as f64 / 1000.0;
    let margin_rate = year_money.margin_rate();
    let affordable = margin_rate.map(|m| (m * margin_share).max(0.0));
    let weighted: f64 = bounds
        .iter()
        .zip(&per_tier)
        .map(|(b, p)| ratio(p.1, revenue_year) * b.3 as f64 / 100.0)
        .sum::<f64>()
        .max(1.0);
    let base_rate = affordable.map(|a| a / weighted);
    let unit = 10i64.pow(currency.exponent());
    let points_per_unit = base_rate.map(|b| b * unit as f64 / options.point_value as f64);
    let (earn_points, earn_per, note) = match points_per_unit {
        Some(p) if p >= 1.0 => (
            (p.floor() as i64).min(crate::MAX_RATE_POINTS),
            unit,
            format!(
                "{} of a gross margin of {} gives back {} of revenue; spread over the tiers' multipliers (weighted by \
                 their revenue, {weighted:.2}) the base rate is {}: {p:.2} points per {} at {} a point, rounded down to \
                 {} per {}",
                pct(margin_share),
                pct(margin_rate.unwrap_or(0.0)),
                format_args!("{:.2}%", affordable.unwrap_or(0.0) * 100.0),
                format_args!("{:.2}%", base_rate.unwrap_or(0.0) * 100.0),
                currency.format_amount(unit),
                currency.format_amount(options.point_value),
                (p.floor() as i64),
                currency.format_amount(unit)
            ),
        ),
        Some(p) if p > 0.0 => {
            // At most the largest unit a rate may count in.
            let units = ((1.0 / p).ceil() as i64).clamp(1, crate::MAX_RATE_PER_MINOR / unit.max(1));
            (
                1,
                units.saturating_mul(unit),
                format!(
                    "the base rate the margin carries is {:.2}% of revenue: {p:.3} points per {} at {} a point, so 1 \
                     point per {}",
                    base_rate.unwrap_or(0.0) * 100.0,
                    currency.format_amount(unit),
                    currency.format_amount(options.point_value),
                    currency.format_amount(units.saturating_mul(unit))
                ),
            )
        }
        Some(_) => {
            warnings.push("the gross margin is not positive: no benefit rate is affordable".to_string());
            (
                1,
                unit,
                "the gross margin is not positive, so no benefit is affordable; the program below earns a placeholder \
                 1 point per unit: do not launch it before the margins are understood"
                    .to_string(),
            )
        }
        None => {
            warnings.push(
                "no sale line has a known cost: the margin and the affordable benefit rate are unknown".to_string(),
            );
            (
                1,
                unit,
                format!(
                    "no sale line in the year has a known cost (products without a unit cost), so the gross margin and \
                     the benefit rate it can carry are not computed; the program below earns a placeholder 1 point per \
                     {}: record the products' costs and design again",
                    currency.format_amount(unit)
                ),
            )
        }
    };
    if year_money.known > 0 && ratio(year_money.known, year_money.revenue) < 0.5 {
        warnings.push(format!(
            "only {} of the year's revenue has a known cost: the margin rests on that part",
            pct(ratio(year_money.known, year_money.revenue))
        ));
    }
    let tiers: Vec<TierSuggestion> = bounds
        .iter()
        .zip(&per_tier)
        .map(|(b, p)| {
            let m = p.2.margin_rate();
            TierSuggestion {
                key: b.0.to_string(),
                name: b.1.to_string(),
                threshold: b.2,
                multiplier: b.3,
                customers: p.0,
                customer_share: ratio(i128::from(p.0), year.len() as i128),
                revenue: narrow(p.1),
                revenue_share: ratio(p.1, revenue_year),
                margin_rate: m,
                // The rule as rounded: points per `per`, at the point value, times the multiplier.
                benefit_rate: Some(
                    earn_points as f64 * options.point_value as f64 / earn_per as f64 * b.3 as f64 / 100.0,
                ),
                affordable_rate: m.map(|m| (m * margin_share).max(0.0)),
                chosen: b.4.clone(),
            }
        })
        .collect();
    let margin = Margin {
        revenue: narrow(year_money.revenue),
        known_cost_revenue: narrow(year_money.known),
        known_cost_share: ratio(year_money.known, year_money.revenue),
        gross_margin: year_money.margin().map(narrow),
        margin_rate,
        categories: categories
            .into_iter()
            .map(|(k, m)| CategoryMargin {
                category: k,
                revenue: narrow(m.revenue),
                known_cost_share: ratio(m.known, m.revenue),
                gross_margin: m.margin().map(narrow),
                margin_rate: m.margin_rate(),
            })
            .collect(),
        margin_share,
        affordable_rate: affordable,
        point_value: options.point_value,
        base_rate,
        points_per_unit,
        earn_points,
        earn_per,
        note,
    };

    // The suggested program.
    let definition = Definition {
        name: "Suggested program".to_string(),
        positioning: crate::program::Positioning::Popular,
        currency: currency.to_string(),
        non_members_earn: false,
        joining: Default::default(),
        earning: crate::program::Earning {
            base: Some(Rate {
                points: earn_points,
                per: currency.format_amount(earn_per),
            }),
            ..Default::default()
        },
        qualification: Some(Qualification {
            by: QualifyBy::Spend,
            days: YEAR_DAYS,
        }),
        tiers: bounds
            .iter()
            .map(|b| Tier {
                key: b.0.to_string(),
                name: b.1.to_string(),
                threshold: if b.2 == 0 {
                    "0".to_string()
                } else {
                    currency.format_amount(b.2)
                },
                multiplier: format!("{}.{:02}", b.3 / 100, b.3 % 100),
                benefits: Vec::new(),
            })
            .collect(),
        promotions: Vec::new(),
        bonuses: Default::default(),
        expiry: None,
        pending: None,
        benefits: Vec::new(),
    };
    let program = Program::check(definition.clone())?;

    // 4. The simulation.
    let simulation = simulate(&program, &sales, end, options)?;

    Ok(Design {
        currency: currency.to_string(),
        amounts: "minor units",
        history: History {
            first_sale: first_at,
            last_sale: end,
            year_from,
            sales: sales.len() as u64,
            buyers: buyers.len() as u64,
            other_currency_sales,
        },
        repeat,
        thresholds: Thresholds {
            spend,
            visits: percentiles(&visits),
            joining,
            tiers,
        },
        margin,
        simulation,
        program: definition,
        warnings,
    })
}

/// A member as the replay keeps them.
struct Replayed {
    tier: Option<String>,
    /// Enrolled by a replayed sale.
    member: bool,
    /// The next tier review (none at the end of time).
    review_at: Option<Timestamp>,
    visits_before: u64,
    purchases_since_enrolment: u64,
    /// The highest tier held, by index.
    highest: Option<usize>,
    /// Spend in the qualification window: (at, net) oldest first, and its sum.
    window: std::collections::VecDeque<(Timestamp, i64)>,
    window_sum: i128,
}

impl Replayed {
    /// The spend in the window ending at `at` (inclusive), the sales after it not yet added.
    fn value_at(&mut self, at: Timestamp, window_days: i64) -> i64 {
        let from = shift(at, -window_days);
        while let Some(&(t, net)) = self.window.front() {
            if t >= from {
                break;
            }
            self.window_sum -= i128::from(net);
            self.window.pop_front();
        }
        narrow(self.window_sum.max(0))
    }
}

fn period(month: String) -> SimulationPeriod {
    SimulationPeriod {
        month,
        sales: 0,
        revenue: 0,
        points_issued: 0,
        points_redeemed: 0,
        cost: 0,
        gross_margin: None,
        cost_share_of_margin: None,
    }
}

/// Replay the sales after `end − months` under the program: every identified customer a member
/// from their first replayed sale, in the tier their spend over the window already reaches; an
/// upgrade at once after a sale, a review (down as well as up) one window after entering the tier
/// or after the last review — as `kesher-app` runs the program.
fn simulate(program: &Program, sales: &[&DesignSale], end: Timestamp, o: &DesignOptions) -> Result<Simulation> {
    let zone = &o.time_zone;
    let from = end
        .to_zoned(zone.clone())
        .checked_sub(o.months.months())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MIN);
    let window_days = program.qualification().map(|q| q.days).unwrap_or(YEAR_DAYS);
    let month_of = |t: Timestamp| t.to_zoned(zone.clone()).strftime("%Y-%m").to_string();
    let mut months: BTreeMap<String, (SimulationPeriod, Money3)> = BTreeMap::new();
    let mut members: HashMap<CustomerId, Replayed> = HashMap::new();
    let tiers = program.tiers();
    let rank = |k: Option<&str>| k.and_then(|k| tiers.iter().position(|t| t.key == k));
    for s in sales {
        let enrolled = s.at > from;
        let m = members.entry(s.customer).or_insert_with(|| Replayed {
            tier: None,
            member: false,
            review_at: None,
            visits_before: 0,
            purchases_since_enrolment: 0,
            highest: None,
            window: Default::default(),
            window_sum: 0,
        });
        if enrolled && !m.member {
            m.member = true;
            // Enrolment at the first replayed sale: the tier the history reaches.
            let v = m.value_at(s.at, window_days);
            m.tier = program.tier_for(v).map(|t| t.key.clone());
            m.review_at = Some(shift(s.at, window_days));
            m.highest = rank(m.tier.as_deref());
        }
        if enrolled {
            // Reviews whose date has come: the scheduled job runs daily, so a review is taken to
            // run one day after its date (before this sale when that day has come).
            while let Some(at) = m.review_at.map(|r| shift(r, 1)).filter(|r| s.at >= *r) {
                let v = m.value_at(at, window_days);
                m.tier = program.tier_for(v).map(|t| t.key.clone());
                let next = shift(at, window_days);
                // At the end of time a review date cannot move on: stop there.
                m.review_at = (next > at).then_some(next);
                if m.review_at.is_none() {
                    break;
                }
            }
            let lines: Vec<SaleLine> =
                if s.lines.is_empty() || s.lines.iter().map(|l| i128::from(l.net)).sum::<i128>() != i128::from(s.net) {
                    vec![SaleLine {
                        net: s.net,
                        sku: None,
                        category: None,
                    }]
                } else {
                    s.lines
                        .iter()
                        .map(|l| SaleLine {
                            net: l.net,
                            sku: None,
                            category: l.category.clone(),
                        })
                        .collect()
                };
            let accrual = program.accrue(&SaleContext {
                currency: s.currency,
                lines: &lines,
                branch: None,
                local_date: s.at.to_zoned(zone.clone()).date(),
                base: None,
                member: Some(MemberFacts {
                    tier: m.tier.clone(),
                    birth_date: None,
                    visits_before: m.visits_before,
                    purchases_since_enrolment: m.purchases_since_enrolment,
                }),
            })?;
            let (p, money) = months
                .entry(month_of(s.at))
                .or_insert_with(|| (period(month_of(s.at)), Money3::default()));
            p.sales += 1;
            p.points_issued = p.points_issued.saturating_add(accrual.points);
            money.add_sale(s);
            m.purchases_since_enrolment += 1;
        }
        m.visits_before += 1;
        m.window.push_back((s.at, s.net));
        m.window_sum += i128::from(s.net);
        if enrolled {
            let v = m.value_at(s.at, window_days);
            if let Some(up) = program.upgrade(m.tier.as_deref(), v) {
                m.tier = Some(up.key.clone());
                m.review_at = Some(shift(s.at, window_days));
            }
            let r = rank(m.tier.as_deref());
            if r > m.highest {
                m.highest = r;
            }
        }
    }
    let finish = |p: &mut SimulationPeriod, money: &Money3| {
        p.revenue = narrow(money.revenue);
        p.points_redeemed = narrow(i128::from(p.points_issued) * i128::from(o.redemption_permille) / 1000);
        p.cost = narrow(i128::from(p.points_redeemed) * i128::from(o.point_value));
        p.gross_margin = money.margin().map(narrow);
        p.cost_share_of_margin = money.margin().filter(|m| *m > 0).map(|m| ratio(i128::from(p.cost), m));
    };
    let mut total = period("total".to_string());
    let mut total_money = Money3::default();
    let mut periods = Vec::new();
    for (_, (mut p, money)) in months {
        finish(&mut p, &money);
        total.sales += p.sales;
        total.points_issued = total.points_issued.saturating_add(p.points_issued);
        total_money.revenue += money.revenue;
        total_money.known += money.known;
        total_money.cost += money.cost;
        periods.push(p);
    }
    finish(&mut total, &total_money);
    let replayed: Vec<&Replayed> = members.values().filter(|m| m.member).collect();
    let customers = replayed.len() as u64;
    let tiers_reached = tiers
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let n = replayed.iter().filter(|m| m.highest.is_some_and(|h| h >= i)).count() as u64;
            TierReach {
                key: t.key.clone(),
                customers: n,
                share: ratio(i128::from(n), i128::from(customers)),
            }
        })
        .collect();
    let budget = total_money
        .margin()
        .map(|m| m * i128::from(o.margin_share_permille) / 1000);
    Ok(Simulation {
        from,
        months: o.months,
        redemption_rate: o.redemption_permille as f64 / 1000.0,
        customers,
        periods,
        within_budget: budget.map(|b| i128::from(total.cost) <= b),
        total,
        tiers: tiers_reached,
    })
}

/// The report as text, for the command line (amounts in major units).
pub fn render_text(d: &Design) -> String {
    use std::fmt::Write;
    let cur = Currency::from_stored(&d.currency).ok();
    let money = |m: i64| match cur {
        Some(c) => format!("{} {}", c.format_amount(m), d.currency),
        None => format!("{m} (minor units)"),
    };
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let opt_pct = |x: Option<f64>| x.map(pct).unwrap_or_else(|| "unknown".to_string());
    let day = |x: Option<f64>| x.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".to_string());
    let date = |t: Timestamp| t.strftime("%Y-%m-%d").to_string();
    let mut o = String::new();
    let h = &d.history;
    let _ = writeln!(
        o,
        "Loyalty program design, {}: {} sales of {} identified buyers, {} to {}{}",
        d.currency,
        h.sales,
        h.buyers,
        date(h.first_sale),
        date(h.last_sale),
        if h.other_currency_sales > 0 {
            format!(" ({} sales in other currencies left out)", h.other_currency_sales)
        } else {
            String::new()
        }
    );
    let r = &d.repeat;
    let _ = writeln!(
        o,
        "\n1. Is there enough repeat buying? {}",
        r.verdict.as_str().to_uppercase()
    );
    let _ = writeln!(o, "   {}", r.reason);
    let _ = writeln!(o, "   rule: {}", r.rule);
    let _ = writeln!(
        o,
        "   repeat buyers: {} of {} in the last {YEAR_DAYS} days ({}), {} of {} ever ({})",
        r.repeat_buyers_year,
        r.buyers_year,
        pct(r.repeat_rate_year),
        r.repeat_buyers_all,
        r.buyers_all,
        pct(r.repeat_rate_all)
    );
    let _ = writeln!(
        o,
        "   days between purchases ({} gaps): q1 {}, median {}, q3 {}",
        r.gaps.count,
        day(r.gaps.q1_days),
        day(r.gaps.median_days),
        day(r.gaps.q3_days)
    );
    let _ = writeln!(
        o,
        "   revenue from repeat buyers: {} of the year's, {} of all",
        pct(r.repeat_revenue_share_year),
        pct(r.repeat_revenue_share_all)
    );
    let t = &d.thresholds;
    let _ = writeln!(o, "\n2. Thresholds and tiers (buyers of the last {YEAR_DAYS} days)");
    let _ = writeln!(
        o,
        "   spend:  p50 {}  p75 {}  p90 {}  p95 {}  p99 {}",
        money(t.spend.p50),
        money(t.spend.p75),
        money(t.spend.p90),
        money(t.spend.p95),
        money(t.spend.p99)
    );
    let _ = writeln!(
        o,
        "   visits: p50 {}  p75 {}  p90 {}  p95 {}  p99 {}",
        t.visits.p50, t.visits.p75, t.visits.p90, t.visits.p95, t.visits.p99
    );
    let _ = writeln!(o, "   joining: {}", t.joining.reason);
    let _ = writeln!(
        o,
        "   (a premium program's threshold: {} a year, the p75 rounded: {} of customers, {} of revenue)",
        money(t.joining.premium_min_spend),
        pct(t.joining.premium_customer_share),
        pct(t.joining.premium_revenue_share)
    );
    for tier in &t.tiers {
        let _ = writeln!(
            o,
            "   {:<7} from {:>14}  x{}.{:02}  {:>6} customers ({}), {} of revenue; margin {}, benefit {} (affordable {})",
            tier.name,
            money(tier.threshold),
            tier.multiplier / 100,
            tier.multiplier % 100,
            tier.customers,
            pct(tier.customer_share),
            pct(tier.revenue_share),
            opt_pct(tier.margin_rate),
            opt_pct(tier.benefit_rate),
            opt_pct(tier.affordable_rate)
        );
        let _ = writeln!(o, "           chosen: {}", tier.chosen);
    }
    let m = &d.margin;
    let _ = writeln!(o, "\n3. Affordable benefit rate (last {YEAR_DAYS} days)");
    let _ = writeln!(
        o,
        "   revenue {}; {} of it with a known cost; gross margin {} ({})",
        money(m.revenue),
        pct(m.known_cost_share),
        m.gross_margin.map(money).unwrap_or_else(|| "unknown".to_string()),
        opt_pct(m.margin_rate)
    );
    for c in &m.categories {
        let _ = writeln!(
            o,
            "   {:<20} revenue {:>16}  known cost {:>6}  margin {}",
            c.category.as_deref().unwrap_or("(no category)"),
            money(c.revenue),
            pct(c.known_cost_share),
            opt_pct(c.margin_rate)
        );
    }
    let _ = writeln!(
        o,
        "   giving back {} of the margin: {} of revenue; base rate {}",
        pct(m.margin_share),
        opt_pct(m.affordable_rate),
        opt_pct(m.base_rate)
    );
    let _ = writeln!(
        o,
        "   earning: {} point(s) per {} (a point worth {})",
        m.earn_points,
        money(m.earn_per),
        money(m.point_value)
    );
    let _ = writeln!(o, "   {}", m.note);
    let s = &d.simulation;
    let _ = writeln!(
        o,
        "\n4. Simulation: the last {} months (from {}), {} customers, redemption rate {}",
        s.months,
        date(s.from),
        s.customers,
        pct(s.redemption_rate)
    );
    let _ = writeln!(
        o,
        "   {:<8} {:>7} {:>18} {:>12} {:>12} {:>16} {:>18} {:>9}",
        "month", "sales", "revenue", "issued", "redeemed", "cost", "gross margin", "cost/GM"
    );
    for p in s.periods.iter().chain(std::iter::once(&s.total)) {
        let _ = writeln!(
            o,
            "   {:<8} {:>7} {:>18} {:>12} {:>12} {:>16} {:>18} {:>9}",
            p.month,
            p.sales,
            money(p.revenue),
            p.points_issued,
            p.points_redeemed,
            money(p.cost),
            p.gross_margin.map(money).unwrap_or_else(|| "unknown".to_string()),
            opt_pct(p.cost_share_of_margin)
        );
    }
    let reached: Vec<String> = s
        .tiers
        .iter()
        .map(|t| format!("{} {} ({})", t.key, t.customers, pct(t.share)))
        .collect();
    let _ = writeln!(o, "   customers who reached each tier: {}", reached.join(", "));
    match s.within_budget {
        Some(true) => {
            let _ = writeln!(
                o,
                "   the cost stays within {} of the gross margin",
                pct(m.margin_share)
            );
        }
        Some(false) => {
            let _ = writeln!(o, "   the cost exceeds {} of the gross margin", pct(m.margin_share));
        }
        None => {
            let _ = writeln!(o, "   the cost cannot be set against the margin: no known costs");
        }
    }
    if !d.warnings.is_empty() {
        let _ = writeln!(o, "\nWarnings:");
        for w in &d.warnings {
            let _ = writeln!(o, "   - {w}");
        }
    }
    let _ = writeln!(o, "\nThe suggested program (kesher loyalty program set FILE):");
    let _ = writeln!(o, "{}", serde_json::to_string_pretty(&d.program).unwrap_or_default());
    o
}

#[cfg(test)]
mod tests;
