//! The loyalty program's KPIs (`kesher loyalty report`, `GET /api/loyalty/kpis`): enrolments per
//! period, branch and employee; the quality of the data collected; the share of sales made by
//! members; points issued, redeemed and owed; new and returning members; the use of each
//! promotion and bonus; and the program's financial impact (members against non-members, and a
//! difference-in-differences estimate of the change in spend after enrolment). Aggregates only:
//! no customer is named. Dates are local dates in the business's time zone; money is summed per
//! currency (docs/loyalty.md, "KPIs").

use crate::App;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use kesher_analytics::{DidCohort, difference_in_differences};
use kesher_core::{Branch, BranchId, Currency, CustomerId, EmployeeId, Params};
use kesher_loyalty::{EntryKind, MemberEventKind};
use kesher_store::{Result, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The longest window a report covers, in days.
pub const MAX_WINDOW_DAYS: i64 = 3_660;
/// The most months before and after enrolment the difference in differences compares.
pub const MAX_IMPACT_MONTHS: u32 = 12;
/// The default point value: 0.05 of the currency's major unit (5 agorot a point).
pub const DEFAULT_POINT_VALUE: &str = "0.05";
/// Quality items, as `kesher_loyalty::program::data_quality` names what is missing.
pub const QUALITY_ITEMS: [&str; 4] = ["phone", "email", "birth_date", "consent"];

/// The periods a report is broken down into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    Week,
    Month,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Granularity> {
        match s {
            "day" => Some(Granularity::Day),
            "week" => Some(Granularity::Week),
            "month" => Some(Granularity::Month),
            _ => None,
        }
    }
}

/// A report's parameters as a person typed them (the CLI's flags, the API's query).
#[derive(Debug, Clone, Default)]
pub struct KpiParams<'a> {
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    /// A branch's external id.
    pub branch: Option<&'a str>,
    pub by: Option<&'a str>,
    /// A point's value in major units of the report's currency ("0.05").
    pub point_value: Option<&'a str>,
    /// Months before and after enrolment for the difference in differences.
    pub months: Option<u32>,
}

/// A checked report request.
#[derive(Debug, Clone)]
pub struct KpiQuery {
    pub from: Date,
    pub to: Date,
    pub branch: Option<Branch>,
    pub by: Granularity,
    pub currency: Currency,
    /// Minor units of `currency` per point.
    pub point_value: i64,
    pub months: u32,
}

fn invalid_coded(code: &'static str, field: &'static str, params: Params, reason: impl Into<String>) -> StoreError {
    StoreError::invalid_coded(code, field, params, reason)
}

fn parse_date(s: &str, field: &'static str) -> Result<Date> {
    s.trim().parse::<Date>().map_err(|_| {
        let mut p = Params::new();
        p.insert("value".into(), s.into());
        invalid_coded(
            "date.invalid",
            field,
            p,
            format!("invalid date {s:?}: expected YYYY-MM-DD"),
        )
    })
}

// ----- the report ---------------------------------------------------------------------------

/// Enrolments, rejoins and leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Moves {
    pub enrolled: u64,
    pub rejoined: u64,
    pub left: u64,
}

impl Moves {
    fn add(&mut self, kind: MemberEventKind) {
        match kind {
            MemberEventKind::Enrol => self.enrolled += 1,
            MemberEventKind::Rejoin => self.rejoined += 1,
            MemberEventKind::Leave => self.left += 1,
            MemberEventKind::TierUp | MemberEventKind::TierDown => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodMoves {
    pub period: String,
    #[serde(flatten)]
    pub moves: Moves,
}

/// A branch's or an employee's figures: its external id (`-` when none was recorded) and name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Keyed<T> {
    pub key: String,
    pub name: Option<String>,
    #[serde(flatten)]
    pub figures: T,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enrolments {
    pub total: Moves,
    pub by_period: Vec<PeriodMoves>,
    pub by_branch: Vec<Keyed<Moves>>,
    pub by_employee: Vec<Keyed<Moves>>,
}

/// The data collected at enrolment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Quality {
    pub members: u64,
    /// 0 to 100; `None` without members.
    pub average_quality: Option<f64>,
    /// The share (0 to 1) of members without each item: phone, email, birth_date, consent.
    pub missing_share: BTreeMap<String, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataQuality {
    /// Members (current and former) whose membership row says they enrolled in the window.
    pub total: Quality,
    pub by_branch: Vec<Keyed<Quality>>,
    pub by_employee: Vec<Keyed<Quality>>,
}

/// Sales of one kind of customer: transactions (refunds not counted) and revenue (refunds
/// subtracted), in minor units and as a decimal of the currency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SalesSlice {
    pub transactions: u64,
    pub revenue_minor: i64,
    pub revenue: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalesShare {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    pub currency: String,
    /// Sales of customers who were members when they bought.
    pub members: SalesSlice,
    /// Sales of identified customers who were not members then.
    pub non_members: SalesSlice,
    pub anonymous: SalesSlice,
    /// Members' share of the transactions and of the revenue (0 to 1; `None` without any).
    pub member_share_of_transactions: Option<f64>,
    pub member_share_of_revenue: Option<f64>,
    /// Identified (members and non-members) share of the transactions.
    pub identified_share_of_transactions: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IdentifiedSales {
    /// One row per currency.
    pub total: Vec<SalesShare>,
    pub by_period: Vec<SalesShare>,
    pub by_branch: Vec<SalesShare>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PointsFlow {
    /// Points earned by sales.
    pub issued: i64,
    /// Points spent (a positive number).
    pub redeemed: i64,
    /// Points taken back by refunds (a positive number).
    pub reversed: i64,
    /// Adjustments by staff, signed.
    pub adjusted: i64,
    /// Points expired (a positive number; expiry entries name no branch).
    pub expired: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodPoints {
    pub period: String,
    #[serde(flatten)]
    pub flow: PointsFlow,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Liability {
    /// Every customer's balance summed, now (every branch: a balance belongs to no branch).
    pub points: i64,
    /// The value used for a point, in major units of `currency`.
    pub point_value: String,
    pub currency: String,
    /// `points × point_value`; `None` when it does not fit.
    pub value: Option<String>,
    pub as_of: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointsKpis {
    pub total: PointsFlow,
    pub by_period: Vec<PeriodPoints>,
    /// Redeemed ÷ issued over the window; `None` when nothing was issued.
    pub redemption_rate: Option<f64>,
    pub liability: Liability,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewReturning {
    pub period: String,
    /// Members whose first purchase as members was in the period.
    pub new: u64,
    /// Members who bought in the period and had bought as members before it.
    pub returning: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewVsReturning {
    pub total_new: u64,
    pub by_period: Vec<NewReturning>,
}

/// A rule's use: the points it gave on sales and the number of sales it gave points on; the
/// points refunds took back from it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleUse {
    pub points: i64,
    pub sales: u64,
    pub reversed: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RulePeriod {
    pub period: String,
    pub rule: String,
    #[serde(flatten)]
    pub used: RuleUse,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Benefits {
    /// `promotion:KEY`, `bonus:…` and `tier:KEY` parts of the accruals.
    pub rules: Vec<Keyed<RuleUse>>,
    pub by_period: Vec<RulePeriod>,
    /// The catalogue's benefits granted in the window, per benefit: how they were granted and
    /// where they stand now. Business-wide: a grant has no branch until it is honoured.
    pub grants: Vec<Keyed<GrantUse>>,
    /// The surprises drawn in the window, each with what became of its grants.
    pub surprises: Vec<SurpriseUse>,
}

/// One benefit's grants made in the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GrantUse {
    /// `hard` or `soft`; `None` for a benefit the catalogue no longer has.
    pub kind: Option<String>,
    pub granted: u64,
    /// By source: `manual`, `redeemed`, `tier`, `surprise`.
    pub by_source: BTreeMap<String, u64>,
    /// Of those granted, honoured at the till so far.
    pub used: u64,
    pub expired: u64,
    pub available: u64,
    /// `used ÷ granted`; `None` without grants.
    pub use_rate: Option<f64>,
    /// Honoured at the report's branch (only with a branch).
    pub used_at_branch: Option<u64>,
}

/// A surprise drawn in the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SurpriseUse {
    pub draw: String,
    pub benefit: String,
    pub at: String,
    pub by: String,
    /// Members granted the surprise by this draw.
    pub members: u64,
    pub used: u64,
    pub expired: u64,
}

/// One group's buying over the window, in the report's currency.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GroupSpend {
    pub customers: u64,
    pub transactions: u64,
    pub revenue: String,
    /// Major units; `None` without customers (or transactions, for the basket).
    pub spend_per_customer: Option<f64>,
    pub visits_per_customer: Option<f64>,
    pub basket_size: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DidReport {
    /// Months compared before and after the enrolment month.
    pub months: u32,
    /// Members' change in average monthly spend minus non-members', major units.
    pub effect: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub std_error: f64,
    pub members_change: f64,
    pub non_members_change: f64,
    /// Members' average monthly spend before enrolment.
    pub members_before: f64,
    pub members: usize,
    pub non_members: usize,
    /// Enrolment months with both groups.
    pub cohorts: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinancialImpact {
    pub currency: String,
    /// Customers who bought as members in the window (their sales as members).
    pub members: GroupSpend,
    /// Identified customers who bought in the window and had never joined by its end.
    pub non_members: GroupSpend,
    /// `None` when no enrolment month of the window has both a complete after-period and
    /// comparable customers.
    pub difference_in_differences: Option<DidReport>,
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportWindow {
    pub from: String,
    pub to: String,
    pub by: Granularity,
    pub branch: Option<String>,
    pub time_zone: String,
    pub currency: String,
}

/// The program's KPIs, one key each (docs/loyalty.md, "KPIs").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    pub window: ReportWindow,
    pub enrolments: Enrolments,
    pub data_quality: DataQuality,
    pub identified_sales: IdentifiedSales,
    pub points: PointsKpis,
    pub new_vs_returning: NewVsReturning,
    pub benefits: Benefits,
    pub financial_impact: FinancialImpact,
}

// ----- periods ------------------------------------------------------------------------------

/// The window's periods: index of a local date, and each one's label.
struct Periods {
    by: Granularity,
    from: Date,
    labels: Vec<String>,
}

fn month_index(d: Date) -> i32 {
    i32::from(d.year()) * 12 + i32::from(d.month()) - 1
}

fn month_start(index: i32) -> Result<Date> {
    let year = i16::try_from(index.div_euclid(12)).map_err(|e| StoreError::Backend(e.to_string()))?;
    let month = i8::try_from(index.rem_euclid(12) + 1).map_err(|e| StoreError::Backend(e.to_string()))?;
    Date::new(year, month, 1).map_err(|e| StoreError::Backend(e.to_string()))
}

fn monday(d: Date) -> Date {
    let back = i64::from(d.weekday().to_monday_zero_offset());
    d.checked_sub(back.days()).unwrap_or(d)
}

impl Periods {
    fn new(by: Granularity, from: Date, to: Date) -> Periods {
        let mut labels = Vec::new();
        let mut d = from;
        while d <= to {
            let label = match by {
                Granularity::Day => d.to_string(),
                Granularity::Week => monday(d).to_string(),
                Granularity::Month => format!("{:04}-{:02}", d.year(), d.month()),
            };
            if labels.last() != Some(&label) {
                labels.push(label);
            }
            match d.tomorrow() {
                Ok(n) => d = n,
                Err(_) => break,
            }
        }
        Periods { by, from, labels }
    }

    fn index(&self, d: Date) -> Option<usize> {
        if d < self.from {
            return None;
        }
        let i = match self.by {
            Granularity::Day => (d - self.from).get_days() as i64,
            Granularity::Week => {
                let days = monday(self.from).until(monday(d)).ok()?.get_days();
                i64::from(days) / 7
            }
            Granularity::Month => i64::from(month_index(d) - month_index(self.from)),
        };
        let i = usize::try_from(i).ok()?;
        (i < self.labels.len()).then_some(i)
    }
}

// ----- helpers ------------------------------------------------------------------------------

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn share_i(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| part as f64 / whole as f64)
}

fn major(currency: Currency, minor: f64) -> f64 {
    let v = minor / 10f64.powi(currency.exponent() as i32);
    (v * 100.0).round() / 100.0
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

#[derive(Default, Clone, Copy)]
struct SliceSum {
    transactions: u64,
    revenue: i64,
}

#[derive(Default, Clone, Copy)]
struct ShareSum {
    members: SliceSum,
    non_members: SliceSum,
    anonymous: SliceSum,
}

impl ShareSum {
    fn add(&mut self, class: Class, total: i64, refund: bool) {
        let s = match class {
            Class::Member => &mut self.members,
            Class::NonMember => &mut self.non_members,
            Class::Anonymous => &mut self.anonymous,
        };
        s.revenue = s.revenue.saturating_add(total);
        if !refund {
            s.transactions += 1;
        }
    }

    fn report(&self, currency: Currency, period: Option<String>, branch: Option<String>) -> SalesShare {
        let slice = |s: &SliceSum| SalesSlice {
            transactions: s.transactions,
            revenue_minor: s.revenue,
            revenue: currency.format_amount(s.revenue),
        };
        let all_tx = self.members.transactions + self.non_members.transactions + self.anonymous.transactions;
        let all_rev = self
            .members
            .revenue
            .saturating_add(self.non_members.revenue)
            .saturating_add(self.anonymous.revenue);
        SalesShare {
            period,
            branch,
            currency: currency.as_str().to_string(),
            members: slice(&self.members),
            non_members: slice(&self.non_members),
            anonymous: slice(&self.anonymous),
            member_share_of_transactions: share(self.members.transactions, all_tx).map(round4),
            member_share_of_revenue: share_i(self.members.revenue, all_rev).map(round4),
            identified_share_of_transactions: share(self.members.transactions + self.non_members.transactions, all_tx)
                .map(round4),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Member,
    NonMember,
    Anonymous,
}

#[derive(Default)]
struct QualitySum {
    members: u64,
    quality: u64,
    missing: [u64; 4],
}

impl QualitySum {
    fn add(&mut self, quality: u8, missing: &[String]) {
        self.members += 1;
        self.quality += u64::from(quality);
        for (i, item) in QUALITY_ITEMS.iter().enumerate() {
            if missing.iter().any(|m| m == item) {
                self.missing[i] += 1;
            }
        }
    }
    fn report(&self) -> Quality {
        Quality {
            members: self.members,
            average_quality: share(self.quality, self.members).map(|q| (q * 10.0).round() / 10.0),
            missing_share: QUALITY_ITEMS
                .iter()
                .zip(self.missing)
                .filter_map(|(item, n)| share(n, self.members).map(|s| (item.to_string(), round4(s))))
                .collect(),
        }
    }
}

/// Per customer and local month: (net spend, sales) in the report's currency.
type Monthly = HashMap<CustomerId, HashMap<i32, (i64, u32)>>;

#[derive(Default)]
struct GroupSum {
    customers: HashSet<CustomerId>,
    transactions: u64,
    revenue: i64,
}

impl GroupSum {
    fn report(&self, currency: Currency) -> GroupSpend {
        let n = self.customers.len() as u64;
        GroupSpend {
            customers: n,
            transactions: self.transactions,
            revenue: currency.format_amount(self.revenue),
            spend_per_customer: (n > 0).then(|| major(currency, self.revenue as f64 / n as f64)),
            visits_per_customer: share(self.transactions, n).map(|v| (v * 100.0).round() / 100.0),
            basket_size: (self.transactions > 0)
                .then(|| major(currency, self.revenue as f64 / self.transactions as f64)),
        }
    }
}

/// A membership's spans: (from, until) with `until` open while the member is active.
type Spans = Vec<(Timestamp, Option<Timestamp>)>;

fn is_member_at(spans: Option<&Spans>, at: Timestamp) -> bool {
    spans.is_some_and(|s| {
        s.iter()
            .any(|(from, until)| *from <= at && until.is_none_or(|u| at < u))
    })
}

fn start_of(d: Date, tz: &TimeZone) -> Result<Timestamp> {
    d.to_zoned(tz.clone())
        .map(|z| z.timestamp())
        .map_err(|e| StoreError::Backend(format!("a date in the business's zone: {e}")))
}

impl App {
    /// Every sale and refund that occurred at or after `since` and before `until`, in no
    /// particular order (`kesher_store::Loyalty::for_each_sale_fact`).
    pub fn for_each_sale_fact(
        &self,
        since: Timestamp,
        until: Timestamp,
        f: &mut dyn FnMut(&kesher_store::SaleFact) -> Result<()>,
    ) -> Result<()> {
        self.store.for_each_sale_fact(since, until, f)
    }

    /// Check a report's parameters: dates (default: the 365 days ending today, local), the
    /// branch, the breakdown, the point value (in the program's currency, else the earning
    /// rule's first, else ILS) and the months of the difference in differences (default 3).
    pub fn loyalty_kpi_query(&self, p: &KpiParams<'_>) -> Result<KpiQuery> {
        let tz = self.business_time_zone()?;
        let today = self.now().to_zoned(tz).date();
        let to = match p.to {
            Some(s) => parse_date(s, "to")?,
            None => today,
        };
        let from = match p.from {
            Some(s) => parse_date(s, "from")?,
            None => to.checked_sub(364.days()).unwrap_or(to),
        };
        if from > to {
            let mut params = Params::new();
            params.insert("from".into(), from.to_string().into());
            params.insert("to".into(), to.to_string().into());
            return Err(invalid_coded(
                "loyalty.report.window.reversed",
                "from",
                params,
                format!("from ({from}) is after to ({to})"),
            ));
        }
        if i64::from((to - from).get_days()) >= MAX_WINDOW_DAYS {
            let mut params = Params::new();
            params.insert("max".into(), MAX_WINDOW_DAYS.into());
            return Err(invalid_coded(
                "loyalty.report.window.too_long",
                "from",
                params,
                format!("the window is longer than {MAX_WINDOW_DAYS} days"),
            ));
        }
        let by = match p.by {
            Some(s) => Granularity::parse(s).ok_or_else(|| {
                let mut params = Params::new();
                params.insert("value".into(), s.into());
                params.insert("expected".into(), "day, week, month".into());
                invalid_coded("value.unknown", "by", params, "by must be day, week or month")
            })?,
            None => Granularity::Month,
        };
        let branch = match p.branch {
            Some(b) => Some(self.branch_by_external(b)?.ok_or_else(|| {
                let mut params = Params::new();
                params.insert("branch".into(), b.into());
                invalid_coded("branch.unknown", "branch", params, format!("unknown branch {b:?}"))
            })?),
            None => None,
        };
        let currency = match self.loyalty_program()? {
            Some(program) => program.currency(),
            None => match self.earning_rule()?.rates().next() {
                Some((c, _)) => c,
                None => Currency::parse("ILS").map_err(StoreError::from)?,
            },
        };
        let point_value = currency
            .parse_amount(p.point_value.unwrap_or(DEFAULT_POINT_VALUE), "point_value")
            .map_err(StoreError::from)?;
        if point_value < 0 {
            return Err(invalid_coded(
                "money.negative",
                "point_value",
                Params::new(),
                "must not be negative",
            ));
        }
        let months = p.months.unwrap_or(3);
        if !(1..=MAX_IMPACT_MONTHS).contains(&months) {
            let mut params = Params::new();
            params.insert("max".into(), MAX_IMPACT_MONTHS.into());
            return Err(invalid_coded(
                "loyalty.report.months.out_of_range",
                "months",
                params,
                format!("months must be 1 to {MAX_IMPACT_MONTHS}"),
            ));
        }
        Ok(KpiQuery {
            from,
            to,
            branch,
            by,
            currency,
            point_value,
            months,
        })
    }

    /// The program's KPIs over a window (aggregates only; docs/loyalty.md, "KPIs").
    pub fn loyalty_kpis(&self, q: &KpiQuery) -> Result<KpiReport> {
        let tz = self.business_time_zone()?;
        let now = self.now();
        let start = start_of(q.from, &tz)?;
        let end = start_of(q.to.tomorrow().unwrap_or(q.to), &tz)?;
        let periods = Periods::new(q.by, q.from, q.to);
        let branch = q.branch.as_ref().map(|b| b.id);
        let at_branch = |b: Option<BranchId>| branch.is_none() || b == branch;
        let local_date = |t: Timestamp| t.to_zoned(tz.clone()).date();
        let branches: HashMap<BranchId, (String, String)> = self
            .list_branches()?
            .into_iter()
            .map(|b| (b.id, (b.external_id, b.name)))
            .collect();
        let employees: HashMap<EmployeeId, (String, String)> = self
            .list_employees()?
            .into_iter()
            .map(|e| (e.id, (e.external_id, e.name)))
            .collect();
        let branch_key = |b: Option<BranchId>| -> (String, Option<String>) {
            match b.and_then(|b| branches.get(&b)) {
                Some((k, n)) => (k.clone(), Some(n.clone())),
                None => ("-".into(), None),
            }
        };
        let employee_key = |e: Option<EmployeeId>| -> (String, Option<String>) {
            match e.and_then(|e| employees.get(&e)) {
                Some((k, n)) => (k.clone(), Some(n.clone())),
                None => ("-".into(), None),
            }
        };

        // Memberships: their spans, and the window's enrolments.
        let events = self.store.member_events_before(end)?;
        let mut spans: HashMap<CustomerId, Spans> = HashMap::new();
        let mut first_enrol: HashMap<CustomerId, (Timestamp, Option<BranchId>)> = HashMap::new();
        let mut moves_total = Moves::default();
        let mut moves_period = vec![Moves::default(); periods.labels.len()];
        let mut moves_branch: BTreeMap<(String, Option<String>), Moves> = BTreeMap::new();
        let mut moves_employee: BTreeMap<(String, Option<String>), Moves> = BTreeMap::new();
        for e in &events {
            let s = spans.entry(e.customer_id).or_default();
            let open = s.last().is_some_and(|(_, until)| until.is_none());
            match e.kind {
                MemberEventKind::Enrol | MemberEventKind::Rejoin if !open => s.push((e.at, None)),
                MemberEventKind::Leave if open => {
                    if let Some(last) = s.last_mut() {
                        last.1 = Some(e.at);
                    }
                }
                _ => {}
            }
            if e.kind == MemberEventKind::Enrol {
                first_enrol.entry(e.customer_id).or_insert((e.at, e.branch_id));
            }
            let counted = matches!(
                e.kind,
                MemberEventKind::Enrol | MemberEventKind::Rejoin | MemberEventKind::Leave
            );
            if counted && e.at >= start && at_branch(e.branch_id) {
                moves_total.add(e.kind);
                if let Some(i) = periods.index(local_date(e.at)) {
                    moves_period[i].add(e.kind);
                }
                moves_branch.entry(branch_key(e.branch_id)).or_default().add(e.kind);
                moves_employee
                    .entry(employee_key(e.employee_id))
                    .or_default()
                    .add(e.kind);
            }
        }
        let keyed = |m: BTreeMap<(String, Option<String>), Moves>| -> Vec<Keyed<Moves>> {
            m.into_iter()
                .map(|((key, name), figures)| Keyed { key, name, figures })
                .collect()
        };
        let enrolments = Enrolments {
            total: moves_total,
            by_period: periods
                .labels
                .iter()
                .zip(moves_period)
                .map(|(p, moves)| PeriodMoves {
                    period: p.clone(),
                    moves,
                })
                .collect(),
            by_branch: keyed(moves_branch),
            by_employee: keyed(moves_employee),
        };

        // The data collected at enrolment.
        let mut quality_total = QualitySum::default();
        let mut quality_branch: BTreeMap<(String, Option<String>), QualitySum> = BTreeMap::new();
        let mut quality_employee: BTreeMap<(String, Option<String>), QualitySum> = BTreeMap::new();
        let mut after = None;
        loop {
            let page = self.store.loyalty_members(None, None, after, 1000)?;
            let Some(last) = page.last() else { break };
            after = Some(last.customer_id);
            for m in &page {
                if m.enrolled_at < start || m.enrolled_at >= end || !at_branch(m.branch_id) {
                    continue;
                }
                quality_total.add(m.quality, &m.quality_missing);
                quality_branch
                    .entry(branch_key(m.branch_id))
                    .or_default()
                    .add(m.quality, &m.quality_missing);
                quality_employee
                    .entry(employee_key(m.employee_id))
                    .or_default()
                    .add(m.quality, &m.quality_missing);
            }
            if page.len() < 1000 {
                break;
            }
        }
        let keyed_quality = |m: BTreeMap<(String, Option<String>), QualitySum>| -> Vec<Keyed<Quality>> {
            m.into_iter()
                .map(|((key, name), s)| Keyed {
                    key,
                    name,
                    figures: s.report(),
                })
                .collect()
        };
        let data_quality = DataQuality {
            total: quality_total.report(),
            by_branch: keyed_quality(quality_branch),
            by_employee: keyed_quality(quality_employee),
        };

        // Sales: from the earliest of the months before the window's first enrolment month and
        // the first enrolment ever (a member's first purchase as a member), to the end of the
        // months after the window's last enrolment month (no later than now).
        let months = i32::try_from(q.months).unwrap_or(3);
        let window_first_month = month_index(q.from);
        let window_last_month = month_index(q.to);
        let now_month = month_index(local_date(now));
        let impact_since = start_of(month_start(window_first_month - months)?, &tz)?;
        let since = events.first().map_or(impact_since, |e| e.at.min(impact_since));
        let impact_until = start_of(month_start(window_last_month + months + 1)?, &tz)?;
        let until = end.max(impact_until.min(now));

        let mut shares_total: BTreeMap<Currency, ShareSum> = BTreeMap::new();
        let mut shares_period: BTreeMap<(usize, Currency), ShareSum> = BTreeMap::new();
        let mut shares_branch: BTreeMap<(String, Currency), ShareSum> = BTreeMap::new();
        let mut first_member_sale: HashMap<CustomerId, Timestamp> = HashMap::new();
        let mut buyers_period: Vec<HashSet<CustomerId>> = vec![HashSet::new(); periods.labels.len()];
        let mut monthly: Monthly = HashMap::new();
        let mut members_window = GroupSum::default();
        let mut non_members_window = GroupSum::default();
        self.store.for_each_sale_fact(since, until, &mut |s| {
            let member = s
                .customer_id
                .is_some_and(|c| is_member_at(spans.get(&c), s.occurred_at));
            if let (Some(c), true, false) = (s.customer_id, member, s.refund) {
                let first = first_member_sale.entry(c).or_insert(s.occurred_at);
                if s.occurred_at < *first {
                    *first = s.occurred_at;
                }
            }
            let date = local_date(s.occurred_at);
            if let Some(c) = s.customer_id
                && s.currency == q.currency
            {
                let m = monthly.entry(c).or_default().entry(month_index(date)).or_default();
                m.0 = m.0.saturating_add(s.total);
                if !s.refund {
                    m.1 += 1;
                }
            }
            if s.occurred_at < start || s.occurred_at >= end || !at_branch(Some(s.branch_id)) {
                return Ok(());
            }
            let class = match s.customer_id {
                None => Class::Anonymous,
                Some(_) if member => Class::Member,
                Some(_) => Class::NonMember,
            };
            shares_total
                .entry(s.currency)
                .or_default()
                .add(class, s.total, s.refund);
            let period = periods.index(date);
            if let Some(i) = period {
                shares_period
                    .entry((i, s.currency))
                    .or_default()
                    .add(class, s.total, s.refund);
            }
            let (key, _) = branch_key(Some(s.branch_id));
            shares_branch
                .entry((key, s.currency))
                .or_default()
                .add(class, s.total, s.refund);
            if let Some(c) = s.customer_id {
                if member
                    && !s.refund
                    && let Some(i) = period
                {
                    buyers_period[i].insert(c);
                }
                if s.currency == q.currency {
                    let group = if member {
                        Some(&mut members_window)
                    } else if !spans.contains_key(&c) {
                        Some(&mut non_members_window)
                    } else {
                        None
                    };
                    if let Some(g) = group {
                        g.customers.insert(c);
                        g.revenue = g.revenue.saturating_add(s.total);
                        if !s.refund {
                            g.transactions += 1;
                        }
                    }
                }
            }
            Ok(())
        })?;
        let identified_sales = IdentifiedSales {
            total: shares_total.iter().map(|(c, s)| s.report(*c, None, None)).collect(),
            by_period: shares_period
                .iter()
                .map(|((i, c), s)| s.report(*c, periods.labels.get(*i).cloned(), None))
                .collect(),
            by_branch: shares_branch
                .iter()
                .map(|((b, c), s)| s.report(*c, None, Some(b.clone())))
                .collect(),
        };

        // New and returning members.
        let mut total_new = 0;
        let by_period = buyers_period
            .iter()
            .enumerate()
            .map(|(i, buyers)| {
                let mut row = NewReturning {
                    period: periods.labels[i].clone(),
                    new: 0,
                    returning: 0,
                };
                for c in buyers {
                    let first_period = first_member_sale.get(c).and_then(|t| periods.index(local_date(*t)));
                    if first_period == Some(i) {
                        row.new += 1;
                    } else {
                        row.returning += 1;
                    }
                }
                total_new += row.new;
                row
            })
            .collect();
        let new_vs_returning = NewVsReturning { total_new, by_period };

        // Points and the benefits' use.
        let mut flow_total = PointsFlow::default();
        let mut flow_period = vec![PointsFlow::default(); periods.labels.len()];
        let mut rules: BTreeMap<String, RuleUse> = BTreeMap::new();
        let mut rules_period: BTreeMap<(usize, String), RuleUse> = BTreeMap::new();
        self.store.for_each_ledger_entry(start, end, &mut |e| {
            if !at_branch(e.branch_id) {
                return Ok(());
            }
            let period = periods.index(local_date(e.at));
            let flows = std::iter::once(&mut flow_total).chain(period.and_then(|i| flow_period.get_mut(i)));
            for f in flows {
                match e.kind {
                    EntryKind::Earn => f.issued = f.issued.saturating_add(e.points),
                    EntryKind::Redeem => f.redeemed = f.redeemed.saturating_sub(e.points),
                    EntryKind::Reverse => f.reversed = f.reversed.saturating_sub(e.points),
                    EntryKind::Adjust => f.adjusted = f.adjusted.saturating_add(e.points),
                    EntryKind::Expire => f.expired = f.expired.saturating_sub(e.points),
                    EntryKind::Merge => {}
                }
            }
            if !matches!(e.kind, EntryKind::Earn | EntryKind::Reverse) {
                return Ok(());
            }
            for part in &e.breakdown {
                let benefit = ["promotion:", "bonus:", "tier:"]
                    .iter()
                    .any(|p| part.rule.starts_with(p));
                if !benefit || part.points == 0 {
                    continue;
                }
                let targets = std::iter::once(rules.entry(part.rule.clone()).or_default())
                    .chain(period.map(|i| rules_period.entry((i, part.rule.clone())).or_default()));
                for u in targets {
                    if e.kind == EntryKind::Earn {
                        u.points = u.points.saturating_add(part.points);
                        u.sales += 1;
                    } else {
                        u.reversed = u.reversed.saturating_sub(part.points);
                    }
                }
            }
            Ok(())
        })?;
        let totals = self.store.points_totals()?;
        let value = totals
            .outstanding
            .checked_mul(q.point_value)
            .map(|v| q.currency.format_amount(v));
        let points = PointsKpis {
            redemption_rate: share_i(flow_total.redeemed, flow_total.issued).map(round4),
            total: flow_total,
            by_period: periods
                .labels
                .iter()
                .zip(flow_period)
                .map(|(p, flow)| PeriodPoints {
                    period: p.clone(),
                    flow,
                })
                .collect(),
            liability: Liability {
                points: totals.outstanding,
                point_value: q.currency.format_amount(q.point_value),
                currency: q.currency.as_str().to_string(),
                value,
                as_of: now.to_string(),
            },
        };
        let (grants, surprises) = self.grant_kpis(start, end, now, q.branch.as_ref().map(|b| b.id))?;
        let benefits = Benefits {
            rules: rules
                .into_iter()
                .map(|(key, figures)| Keyed {
                    key,
                    name: None,
                    figures,
                })
                .collect(),
            by_period: rules_period
                .into_iter()
                .map(|((i, rule), used)| RulePeriod {
                    period: periods.labels.get(i).cloned().unwrap_or_default(),
                    rule,
                    used,
                })
                .collect(),
            grants,
            surprises,
        };

        // The difference in differences, by enrolment month.
        let mut cohorts: BTreeMap<i32, DidCohort> = BTreeMap::new();
        let window = |c: &CustomerId, first: i32| -> Option<(f64, f64)> {
            let m = monthly.get(c)?;
            let sum = |range: std::ops::Range<i32>| {
                range
                    .filter_map(|k| m.get(&k))
                    .fold((0i64, 0u32), |a, b| (a.0.saturating_add(b.0), a.1 + b.1))
            };
            let (pre, pre_sales) = sum(first - months..first);
            let (post, _) = sum(first + 1..first + 1 + months);
            (pre_sales > 0).then(|| (pre as f64 / f64::from(months), post as f64 / f64::from(months)))
        };
        for (c, (at, enrolled_at_branch)) in &first_enrol {
            if *at < start || *at >= end || !at_branch(*enrolled_at_branch) {
                continue;
            }
            let m0 = month_index(local_date(*at));
            if m0 + months >= now_month {
                continue; // the months after are not over yet
            }
            if let Some(u) = window(c, m0) {
                cohorts.entry(m0).or_default().treated.push(u);
            }
        }
        let cohort_months: Vec<i32> = cohorts.keys().copied().collect();
        for m0 in cohort_months {
            let post_end = start_of(month_start(m0 + months + 1)?, &tz)?;
            let comparison: Vec<(f64, f64)> = monthly
                .keys()
                .filter(|c| {
                    first_enrol.get(c).is_none_or(|(at, _)| *at >= post_end)
                        && !spans.get(c).is_some_and(|s| s.iter().any(|(f, _)| *f < post_end))
                })
                .filter_map(|c| window(c, m0))
                .collect();
            if let Some(cohort) = cohorts.get_mut(&m0) {
                cohort.comparison = comparison;
            }
        }
        let cohort_list: Vec<DidCohort> = cohorts.into_values().collect();
        let cur = q.currency;
        let did = difference_in_differences(&cohort_list).map(|e| DidReport {
            months: q.months,
            effect: major(cur, e.effect),
            ci_low: major(cur, e.ci_low),
            ci_high: major(cur, e.ci_high),
            std_error: major(cur, e.std_error),
            members_change: major(cur, e.treated_change),
            non_members_change: major(cur, e.comparison_change),
            members_before: major(cur, e.treated_pre),
            members: e.treated,
            non_members: e.comparison,
            cohorts: e.cohorts,
        });
        let method = format!(
            "Difference in differences on average monthly net spend in {cur} (refunds subtracted). Members: \
             customers who first enrolled from {from} to {to}{at}, whose {n} months after the enrolment month \
             are over, with a purchase in the {n} months before it. For each, the average monthly spend over \
             the {n} calendar months after the enrolment month minus that over the {n} months before it (the \
             enrolment month itself left out). Comparison: identified customers who had not joined by the end \
             of those months and bought in the same {n} months before, over the same calendar months. \
             Cohorts by enrolment month, weighted by their members. 95% confidence interval: the estimate \
             ± 1.96 standard errors, from the per-customer differences' sample variances within each group \
             and cohort (customers independent). Members against non-members: customers who bought in the \
             window as members (their sales as members) and identified customers who had never joined by \
             its end; an association, not an effect.",
            from = q.from,
            to = q.to,
            at = q
                .branch
                .as_ref()
                .map(|b| format!(" at {}", b.external_id))
                .unwrap_or_default(),
            n = q.months,
        );
        let financial_impact = FinancialImpact {
            currency: cur.as_str().to_string(),
            members: members_window.report(cur),
            non_members: non_members_window.report(cur),
            difference_in_differences: did,
            method,
        };
        Ok(KpiReport {
            window: ReportWindow {
                from: q.from.to_string(),
                to: q.to.to_string(),
                by: q.by,
                branch: q.branch.as_ref().map(|b| b.external_id.clone()),
                time_zone: tz.iana_name().unwrap_or("UTC").to_string(),
                currency: cur.as_str().to_string(),
            },
            enrolments,
            data_quality,
            identified_sales,
            points,
            new_vs_returning,
            benefits,
            financial_impact,
        })
    }
}

#[cfg(test)]
mod tests;

impl App {
    /// The catalogue's grants made in `[start, end)` per benefit, and the surprises drawn then,
    /// read in one pass over each table (`Store::bulk_read`).
    fn grant_kpis(
        &self,
        start: Timestamp,
        end: Timestamp,
        now: Timestamp,
        branch: Option<BranchId>,
    ) -> Result<(Vec<Keyed<GrantUse>>, Vec<SurpriseUse>)> {
        use crate::loyalty_design::{column, table, text_at, uuid_at};
        use kesher_loyalty::benefits::{GrantSource, GrantState};
        use kesher_store::bulk::Value;
        let in_window = |v: Option<&Value>| matches!(v, Some(Value::Time(t)) if *t >= start && *t < end);
        let program = self.loyalty_program()?;

        let draws_t = table("loyalty_surprise_draws")?;
        let (d_id, d_benefit, d_actor, d_at) = (
            column(draws_t, "id")?,
            column(draws_t, "benefit")?,
            column(draws_t, "actor")?,
            column(draws_t, "at")?,
        );
        let mut surprises: BTreeMap<uuid::Uuid, SurpriseUse> = BTreeMap::new();
        self.store.bulk_read(draws_t, &mut |row| {
            if !in_window(row.get(d_at)) {
                return;
            }
            let (Some(id), Some(benefit), Some(Value::Time(at))) =
                (uuid_at(row, d_id), text_at(row, d_benefit), row.get(d_at))
            else {
                return;
            };
            surprises.insert(
                id,
                SurpriseUse {
                    draw: id.to_string(),
                    benefit: benefit.to_string(),
                    at: at.to_string(),
                    by: text_at(row, d_actor).unwrap_or_default().to_string(),
                    members: 0,
                    used: 0,
                    expired: 0,
                },
            );
        })?;

        let grants_t = table("loyalty_benefit_grants")?;
        let (g_benefit, g_state, g_granted, g_until, g_source, g_branch, g_draw) = (
            column(grants_t, "benefit")?,
            column(grants_t, "state")?,
            column(grants_t, "granted_at")?,
            column(grants_t, "available_until")?,
            column(grants_t, "source")?,
            column(grants_t, "honoured_branch")?,
            column(grants_t, "draw_id")?,
        );
        let mut grants: BTreeMap<String, GrantUse> = BTreeMap::new();
        self.store.bulk_read(grants_t, &mut |row| {
            let Some(benefit) = text_at(row, g_benefit) else {
                return;
            };
            // A stored `available` grant past its time reads as expired, as everywhere else.
            let state = match text_at(row, g_state).and_then(GrantState::parse) {
                Some(GrantState::Available) => match row.get(g_until) {
                    Some(Value::Time(until)) if *until <= now => GrantState::Expired,
                    _ => GrantState::Available,
                },
                Some(s) => s,
                None => return,
            };
            if let Some(d) = uuid_at(row, g_draw).and_then(|d| surprises.get_mut(&d)) {
                d.members += 1;
                match state {
                    GrantState::Used => d.used += 1,
                    GrantState::Expired => d.expired += 1,
                    GrantState::Available => {}
                }
            }
            if !in_window(row.get(g_granted)) {
                return;
            }
            let u = grants.entry(benefit.to_string()).or_default();
            u.granted += 1;
            let source = text_at(row, g_source)
                .and_then(GrantSource::parse)
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| "unknown".into());
            *u.by_source.entry(source).or_default() += 1;
            match state {
                GrantState::Used => u.used += 1,
                GrantState::Expired => u.expired += 1,
                GrantState::Available => u.available += 1,
            }
            if let Some(b) = branch {
                let here = uuid_at(row, g_branch) == Some(b.0) && state == GrantState::Used;
                *u.used_at_branch.get_or_insert(0) += u64::from(here);
            }
        })?;
        let grants = grants
            .into_iter()
            .map(|(key, mut figures)| {
                let rule = program.as_ref().and_then(|p| p.benefit(&key));
                figures.kind = rule.map(|r| r.kind.as_str().to_string());
                figures.use_rate = share(figures.used, figures.granted).map(round4);
                Keyed {
                    name: rule.map(|r| r.name.clone()),
                    key,
                    figures,
                }
            })
            .collect();
        let mut surprises: Vec<SurpriseUse> = surprises.into_values().collect();
        surprises.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.draw.cmp(&b.draw)));
        Ok((grants, surprises))
    }
}
