//! Per-customer RFM summary (frequency, recency, T, monetary value) from a transaction stream,
//! with the definitions of Python `lifetimes`, and compression to distinct rows.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;

use crate::error::{AnalyticsError, Result};

/// One transaction: who, when (Unix seconds, UTC) and how much (minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transaction<K> {
    pub customer: K,
    pub at: i64,
    pub amount_minor: i64,
    /// Cost of goods in minor units, when known (for margin).
    pub cost_minor: Option<i64>,
}

/// The calendar period purchases are counted in; purchases in the same period collapse
/// into one (lifetimes' `freq='D'` / `freq='W'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeriodUnit {
    /// UTC calendar days.
    Day,
    /// Weeks running Monday to Sunday (pandas' `W` = `W-SUN`), UTC.
    #[default]
    Week,
}

impl PeriodUnit {
    /// Index of the period holding the instant `at` (Unix seconds).
    pub fn period_of(self, at: i64) -> i64 {
        let day = at.div_euclid(86_400);
        match self {
            PeriodUnit::Day => day,
            // 1970-01-01 was a Thursday; the Monday before is day -3.
            PeriodUnit::Week => (day + 3).div_euclid(7),
        }
    }
}

/// How to summarise.
///
/// Windows follow lifetimes exactly. Without a calibration end, a transaction counts when its
/// period is not after the period of `observation_end`. With a calibration end, the calibration
/// window holds transactions at or before `calibration_end` (an instant: pass the end of the day
/// to include the whole day), and the holdout window those after it and at or before
/// `observation_end`; customers whose first purchase falls in the holdout are left out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryConfig {
    pub unit: PeriodUnit,
    /// Recency and T are divided by this (lifetimes' `freq_multiplier`): `Day` with 7 gives
    /// weeks measured to the day, as in the CDNOW summaries.
    pub multiplier: f64,
    pub observation_end: i64,
    pub calibration_end: Option<i64>,
}

impl SummaryConfig {
    /// Week periods, no holdout.
    pub fn weekly(observation_end: i64) -> Self {
        SummaryConfig {
            unit: PeriodUnit::Week,
            multiplier: 1.0,
            observation_end,
            calibration_end: None,
        }
    }
}

/// What a customer did in the holdout window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutSummary {
    /// Distinct purchase periods in the holdout.
    pub frequency: u32,
    /// Mean of the holdout transactions' amounts (minor units; per transaction, as lifetimes).
    pub monetary_value: f64,
    /// Length of the holdout in model time units.
    pub duration: f64,
}

/// One customer's summary. Times are in model units (periods / multiplier); money in minor units.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerSummary<K> {
    pub customer: K,
    /// Repeat purchases: distinct purchase periods after the first.
    pub frequency: u32,
    /// Time from the first to the last purchase period.
    pub recency: f64,
    /// Time from the first purchase period to the end of the (calibration) window.
    pub t: f64,
    /// Mean of the repeat periods' spend (each period's purchases summed); 0 without repeats.
    pub monetary_value: f64,
    /// Sum of all amounts in the window.
    pub total_revenue_minor: i64,
    /// Revenue minus cost in the window; `None` unless every transaction's cost is known.
    pub total_margin_minor: Option<i64>,
    /// Number of transactions in the window.
    pub visits: u32,
    pub first_purchase: i64,
    pub last_purchase: i64,
    /// Present when the configuration has a calibration end.
    pub holdout: Option<HoldoutSummary>,
}

impl<K> CustomerSummary<K> {
    /// The model inputs of this customer.
    pub fn record(&self) -> SummaryRecord {
        SummaryRecord {
            frequency: self.frequency,
            recency: self.recency,
            t: self.t,
            monetary_value: Some(self.monetary_value),
        }
    }
}

/// A customer figure a summary could not represent (sums of sales written before kesher's
/// bounds, which reach beyond i64): which customer and which figure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeftOut<K> {
    pub customer: K,
    /// `revenue`: the customer is left out of the summary (and so of everything built on it);
    /// `margin`: only their margin is left empty.
    pub figure: &'static str,
}

/// Every customer's summary, and the customers or figures left out because they cannot be
/// represented.
#[derive(Debug, Clone, PartialEq)]
pub struct Summaries<K> {
    pub customers: Vec<CustomerSummary<K>>,
    pub left_out: Vec<LeftOut<K>>,
}

impl<K> Summaries<K> {
    /// The summaries, or the error of old when a customer had to be left out.
    fn strict(self) -> Result<Vec<CustomerSummary<K>>> {
        if self.left_out.is_empty() {
            Ok(self.customers)
        } else {
            Err(AnalyticsError::InvalidArgument {
                name: "amount_minor",
                reason: "revenue sum overflows i64".into(),
            })
        }
    }
}

/// The inputs every model needs for one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SummaryRecord {
    pub frequency: u32,
    pub recency: f64,
    pub t: f64,
    pub monetary_value: Option<f64>,
}

impl SummaryRecord {
    /// Checks the record's invariants; `line` (1-based) is used in the error.
    pub fn validate(&self, line: usize) -> Result<()> {
        let bad = |column: usize, field: &str, reason: &str| AnalyticsError::Invalid {
            line,
            column,
            field: field.to_owned(),
            reason: reason.to_owned(),
        };
        if !(self.recency.is_finite() && self.recency >= 0.0) {
            return Err(bad(2, "recency", "must be a finite number ≥ 0"));
        }
        if !(self.t.is_finite() && self.t >= 0.0) {
            return Err(bad(3, "T", "must be a finite number ≥ 0"));
        }
        if self.recency > self.t {
            return Err(bad(2, "recency", "must not exceed T"));
        }
        if self.frequency == 0 && self.recency != 0.0 {
            return Err(bad(2, "recency", "must be 0 when frequency is 0"));
        }
        // Any finite mean spend is valid (free items and refunds netting to zero occur in real
        // logs): purchase models do not read it, Gamma-Gamma leaves out the non-positive ones.
        if let Some(m) = self.monetary_value
            && !m.is_finite()
        {
            return Err(bad(4, "monetary_value", "must be a finite number"));
        }
        Ok(())
    }
}

/// Group transactions read in any order by customer, in ascending key order, as [`summarize`]
/// and [`summarize_slice`] want them (order within a customer is left as it comes: the summary
/// does not depend on it). Sorts in parallel.
pub fn group_by_customer<K: Ord + Send>(transactions: &mut [Transaction<K>]) {
    transactions.par_sort_unstable_by(|a, b| a.customer.cmp(&b.customer));
}

/// As [`summarize`] for transactions held in memory, split at customer boundaries and
/// summarised in parallel; same result.
pub fn summarize_slice<K>(transactions: &[Transaction<K>], config: &SummaryConfig) -> Result<Vec<CustomerSummary<K>>>
where
    K: Ord + Clone + Send + Sync,
{
    summarize_slice_reporting(transactions, config)?.strict()
}

/// As [`summarize_reporting`] for transactions held in memory, split at customer boundaries
/// and summarised in parallel; same result.
pub fn summarize_slice_reporting<K>(transactions: &[Transaction<K>], config: &SummaryConfig) -> Result<Summaries<K>>
where
    K: Ord + Clone + Send + Sync,
{
    const PIECE: usize = 1 << 16;
    if transactions.len() <= 2 * PIECE {
        return summarize_reporting(transactions.iter().cloned(), config);
    }
    // Piece boundaries moved forward to the next change of customer.
    let mut bounds = vec![0usize];
    let mut at = PIECE;
    while at < transactions.len() {
        let mut b = at;
        while b < transactions.len() && transactions[b].customer == transactions[b - 1].customer {
            b += 1;
        }
        if b < transactions.len() {
            bounds.push(b);
        }
        at = b + PIECE;
    }
    bounds.push(transactions.len());
    let parts: Vec<Result<Summaries<K>>> = bounds
        .par_windows(2)
        .map(|w| {
            summarize_reporting(transactions[w[0]..w[1]].iter().cloned(), config).map_err(|e| match e {
                AnalyticsError::Unsorted { position } => AnalyticsError::Unsorted {
                    position: position + w[0],
                },
                other => other,
            })
        })
        .collect();
    // Pieces are sorted inside; check the seams.
    for &b in bounds.iter().skip(1) {
        if b < transactions.len() && transactions[b].customer < transactions[b - 1].customer {
            return Err(AnalyticsError::Unsorted { position: b });
        }
    }
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.as_ref().map_or(0, |p| p.customers.len())).sum());
    let mut left_out = Vec::new();
    for p in parts {
        let p = p?;
        out.extend(p.customers);
        left_out.extend(p.left_out);
    }
    Ok(Summaries {
        customers: out,
        left_out,
    })
}

struct Tx {
    period: i64,
    at: i64,
    amount: i64,
    cost: Option<i64>,
}

#[derive(Default)]
struct Scratch {
    cal: Vec<Tx>,
    hold_periods: Vec<i64>,
    hold_amount_sum: f64,
    hold_count: u32,
}

/// Builds every customer's summary in one pass over transactions grouped by customer in
/// ascending key order (order within a customer does not matter). A customer whose revenue
/// does not fit in i64 (only sales written before the bounds can add up to that) is an error
/// here; [`summarize_reporting`] leaves them out instead.
pub fn summarize<K, I>(transactions: I, config: &SummaryConfig) -> Result<Vec<CustomerSummary<K>>>
where
    K: Ord + Clone,
    I: IntoIterator<Item = Transaction<K>>,
{
    summarize_reporting(transactions, config)?.strict()
}

/// As [`summarize`], but a customer whose revenue does not fit in i64 is left out and named in
/// [`Summaries::left_out`], and so is one whose margin does not (their margin left empty):
/// one customer's absurd figures never stop the whole run.
pub fn summarize_reporting<K, I>(transactions: I, config: &SummaryConfig) -> Result<Summaries<K>>
where
    K: Ord + Clone,
    I: IntoIterator<Item = Transaction<K>>,
{
    if !(config.multiplier.is_finite() && config.multiplier > 0.0) {
        return Err(AnalyticsError::InvalidArgument {
            name: "multiplier",
            reason: "must be a positive number".into(),
        });
    }
    if let Some(cal) = config.calibration_end
        && cal > config.observation_end
    {
        return Err(AnalyticsError::InvalidArgument {
            name: "calibration_end",
            reason: "must not be after observation_end".into(),
        });
    }
    let unit = config.unit;
    let obs_period = unit.period_of(config.observation_end);
    let end_period = config.calibration_end.map_or(obs_period, |c| unit.period_of(c));
    let holdout_duration = (obs_period - end_period) as f64 / config.multiplier;

    let mut out = Summaries {
        customers: Vec::new(),
        left_out: Vec::new(),
    };
    let mut scratch = Scratch::default();
    let mut current: Option<K> = None;
    for (position, tx) in transactions.into_iter().enumerate() {
        match &current {
            Some(c) if *c == tx.customer => {}
            Some(c) if *c > tx.customer => return Err(AnalyticsError::Unsorted { position }),
            _ => {
                if let Some(c) = current.take() {
                    flush(c, &mut scratch, end_period, holdout_duration, config, &mut out);
                }
                current = Some(tx.customer.clone());
            }
        }
        let period = unit.period_of(tx.at);
        match config.calibration_end {
            None => {
                if period <= obs_period {
                    scratch.cal.push(Tx {
                        period,
                        at: tx.at,
                        amount: tx.amount_minor,
                        cost: tx.cost_minor,
                    });
                }
            }
            Some(cal) => {
                if tx.at <= cal {
                    scratch.cal.push(Tx {
                        period,
                        at: tx.at,
                        amount: tx.amount_minor,
                        cost: tx.cost_minor,
                    });
                } else if tx.at <= config.observation_end {
                    scratch.hold_periods.push(period);
                    scratch.hold_amount_sum += tx.amount_minor as f64;
                    scratch.hold_count += 1;
                }
            }
        }
    }
    if let Some(c) = current.take() {
        flush(c, &mut scratch, end_period, holdout_duration, config, &mut out);
    }
    Ok(out)
}

fn flush<K: Clone>(
    customer: K,
    s: &mut Scratch,
    end_period: i64,
    holdout_duration: f64,
    config: &SummaryConfig,
    out: &mut Summaries<K>,
) {
    if s.cal.is_empty() {
        s.clear();
        return;
    }
    s.cal.sort_unstable_by_key(|t| t.period);
    let first_period = s.cal[0].period;
    let mut last_period = first_period;
    let mut periods = 0u32;
    // Sums in i128: no number of i64 amounts a customer can have overflows them.
    let mut repeat_sum = 0i128;
    let mut period_sum = 0i128;
    let mut total = 0i128;
    let mut margin = Some(0i128);
    let mut first_at = i64::MAX;
    let mut last_at = i64::MIN;
    for t in &s.cal {
        if t.period != last_period || periods == 0 {
            if periods > 1 {
                repeat_sum += period_sum;
            }
            periods += 1;
            period_sum = 0;
            last_period = t.period;
        }
        period_sum += i128::from(t.amount);
        total += i128::from(t.amount);
        margin = match (margin, t.cost) {
            (Some(m), Some(c)) => Some(m + i128::from(t.amount) - i128::from(c)),
            _ => None,
        };
        first_at = first_at.min(t.at);
        last_at = last_at.max(t.at);
    }
    if periods > 1 {
        repeat_sum += period_sum;
    }
    let Ok(total) = i64::try_from(total) else {
        out.left_out.push(LeftOut {
            customer,
            figure: "revenue",
        });
        s.clear();
        return;
    };
    let margin = match margin.map(i64::try_from) {
        None => None,
        Some(Ok(m)) => Some(m),
        Some(Err(_)) => {
            out.left_out.push(LeftOut {
                customer: customer.clone(),
                figure: "margin",
            });
            None
        }
    };
    let frequency = periods - 1;
    let monetary_value = if frequency > 0 {
        repeat_sum as f64 / f64::from(frequency)
    } else {
        0.0
    };
    let holdout = config.calibration_end.map(|_| {
        s.hold_periods.sort_unstable();
        s.hold_periods.dedup();
        HoldoutSummary {
            frequency: s.hold_periods.len() as u32,
            monetary_value: if s.hold_count > 0 {
                s.hold_amount_sum / f64::from(s.hold_count)
            } else {
                0.0
            },
            duration: holdout_duration,
        }
    });
    out.customers.push(CustomerSummary {
        customer,
        frequency,
        recency: (last_period - first_period) as f64 / config.multiplier,
        t: (end_period - first_period) as f64 / config.multiplier,
        monetary_value,
        total_revenue_minor: total,
        total_margin_minor: margin,
        visits: s.cal.len() as u32,
        first_purchase: first_at,
        last_purchase: last_at,
        holdout,
    });
    s.clear();
}

impl Scratch {
    fn clear(&mut self) {
        self.cal.clear();
        self.hold_periods.clear();
        self.hold_amount_sum = 0.0;
        self.hold_count = 0;
    }
}

/// A distinct (frequency, recency, T) with the number of customers sharing it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompressedRow {
    pub frequency: u32,
    pub recency: f64,
    pub t: f64,
    pub count: u64,
}

/// Distinct rows plus, for each input record, the index of its row.
#[derive(Debug, Clone, PartialEq)]
pub struct Compressed {
    pub rows: Vec<CompressedRow>,
    pub row_of: Vec<u32>,
}

/// A small multiplicative hasher for integer keys (the keys are not attacker-chosen here:
/// at worst a crafted input makes compression slower).
#[derive(Default)]
struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Validates the records (errors name the 1-based record index as `line`) and groups them into
/// distinct (frequency, recency, T) rows, sorted by those three.
pub fn compress(records: &[SummaryRecord]) -> Result<Compressed> {
    if records.is_empty() {
        return Err(AnalyticsError::NoData);
    }
    records
        .par_iter()
        .enumerate()
        .try_for_each(|(i, r)| r.validate(i + 1))?;
    // Adding 0.0 turns -0.0 into 0.0 so equal values share bits. Distinct rows are few next
    // to customers, so a hash map from row to index stays in cache.
    let key = |r: &SummaryRecord| (r.frequency, (r.recency + 0.0).to_bits(), (r.t + 0.0).to_bits());
    let mut index: HashMap<(u32, u64, u64), u32, BuildHasherDefault<FastHasher>> = HashMap::default();
    let mut keys: Vec<(u32, u64, u64)> = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    let mut first_of: Vec<u32> = Vec::with_capacity(records.len());
    for r in records {
        let k = key(r);
        let next = keys.len() as u32;
        let i = *index.entry(k).or_insert(next);
        if i == next {
            keys.push(k);
            counts.push(0);
        }
        counts[i as usize] += 1;
        first_of.push(i);
    }
    // Order rows by (frequency, recency, T) so the result does not depend on input order.
    let mut order: Vec<u32> = (0..keys.len() as u32).collect();
    order.sort_unstable_by_key(|&i| keys[i as usize]);
    let mut rank = vec![0u32; keys.len()];
    for (pos, &i) in order.iter().enumerate() {
        rank[i as usize] = pos as u32;
    }
    let rows: Vec<CompressedRow> = order
        .iter()
        .map(|&i| {
            let (f, r, t) = keys[i as usize];
            CompressedRow {
                frequency: f,
                recency: f64::from_bits(r),
                t: f64::from_bits(t),
                count: counts[i as usize],
            }
        })
        .collect();
    let row_of: Vec<u32> = first_of.par_iter().map(|&i| rank[i as usize]).collect();
    Ok(Compressed { rows, row_of })
}

/// Parses a summary CSV: columns found by header name, `frequency` (alias `x`), `recency`
/// (alias `t_x`), `T`, and optional `monetary_value` (alias `zbar`); other columns are ignored.
/// Errors name the 1-based line (the header is line 1) and column.
pub fn parse_summary_csv(text: &str) -> Result<Vec<SummaryRecord>> {
    let mut lines = text.lines().enumerate();
    let header = loop {
        match lines.next() {
            Some((_, l)) if l.trim().is_empty() => continue,
            Some((_, l)) => break l,
            None => return Err(AnalyticsError::NoData),
        }
    };
    let names: Vec<String> = header.split(',').map(clean).map(str::to_owned).collect();
    let find = |wanted: &[&str]| names.iter().position(|n| wanted.contains(&n.as_str()));
    let fi = find(&["frequency", "x"]).ok_or(AnalyticsError::MissingColumn("frequency".into()))?;
    let ri = find(&["recency", "t_x"]).ok_or(AnalyticsError::MissingColumn("recency".into()))?;
    let ti = find(&["T"]).ok_or(AnalyticsError::MissingColumn("T".into()))?;
    let mi = find(&["monetary_value", "zbar"]);
    let mut out = Vec::new();
    for (idx, line) in lines {
        let line_no = idx + 1;
        if line.trim().is_empty() {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(clean).collect();
        let num = |col: usize| -> Result<f64> {
            let field = names.get(col).cloned().unwrap_or_default();
            let cell = cells.get(col).ok_or_else(|| AnalyticsError::Invalid {
                line: line_no,
                column: col + 1,
                field: field.clone(),
                reason: "missing value".into(),
            })?;
            match cell.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(AnalyticsError::Invalid {
                    line: line_no,
                    column: col + 1,
                    field,
                    reason: format!("not a number: {cell:?}"),
                }),
            }
        };
        let f = num(fi)?;
        if !(f >= 0.0 && f.fract() == 0.0 && f <= f64::from(u32::MAX)) {
            return Err(AnalyticsError::Invalid {
                line: line_no,
                column: fi + 1,
                field: names[fi].clone(),
                reason: "must be a whole number ≥ 0".into(),
            });
        }
        let rec = SummaryRecord {
            frequency: f as u32,
            recency: num(ri)?,
            t: num(ti)?,
            monetary_value: mi.map(num).transpose()?,
        };
        rec.validate(line_no).map_err(|e| match e {
            AnalyticsError::Invalid {
                line, field, reason, ..
            } => {
                let column = match field.as_str() {
                    "recency" => ri,
                    "T" => ti,
                    "monetary_value" => mi.unwrap_or(0),
                    _ => fi,
                } + 1;
                AnalyticsError::Invalid {
                    line,
                    column,
                    field: names.get(column - 1).cloned().unwrap_or(field),
                    reason,
                }
            }
            other => other,
        })?;
        out.push(rec);
    }
    if out.is_empty() {
        return Err(AnalyticsError::NoData);
    }
    Ok(out)
}

fn clean(s: &str) -> &str {
    s.trim().trim_matches('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn tx(c: u64, day: i64, amount: i64) -> Transaction<u64> {
        Transaction {
            customer: c,
            at: day * DAY + 3600,
            amount_minor: amount,
            cost_minor: None,
        }
    }

    #[test]
    fn same_period_purchases_collapse_and_monetary_is_mean_of_repeat_periods() {
        let txs = vec![
            tx(1, 10, 100),
            tx(1, 10, 50),
            tx(1, 12, 200),
            tx(1, 12, 100),
            tx(1, 20, 100),
            tx(2, 15, 70),
        ];
        let cfg = SummaryConfig {
            unit: PeriodUnit::Day,
            multiplier: 1.0,
            observation_end: 30 * DAY,
            calibration_end: None,
        };
        let s = summarize(txs, &cfg).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].frequency, 2);
        assert_eq!(s[0].recency, 10.0);
        assert_eq!(s[0].t, 20.0);
        assert_eq!(s[0].monetary_value, 200.0);
        assert_eq!(s[0].total_revenue_minor, 550);
        assert_eq!(s[0].visits, 5);
        assert_eq!(s[1].frequency, 0);
        assert_eq!(s[1].monetary_value, 0.0);
        assert_eq!(s[1].t, 15.0);
    }

    #[test]
    fn a_customer_whose_revenue_overflows_is_left_out_and_named() {
        let cfg = SummaryConfig::weekly(100 * DAY);
        let mut txs = vec![tx(1, 10, 100), tx(2, 10, i64::MAX), tx(2, 30, 1), tx(3, 20, 70)];
        let mut costed = tx(4, 10, i64::MAX);
        costed.cost_minor = Some(-5);
        txs.push(costed);
        assert_eq!(
            summarize(txs.clone(), &cfg).unwrap_err().to_string(),
            "invalid argument amount_minor: revenue sum overflows i64",
            "the strict summary keeps its error"
        );
        let s = summarize_reporting(txs.clone(), &cfg).unwrap();
        assert_eq!(s.customers.iter().map(|c| c.customer).collect::<Vec<_>>(), [1, 3, 4]);
        assert_eq!(s.customers[2].total_revenue_minor, i64::MAX);
        assert_eq!(s.customers[2].total_margin_minor, None, "its margin does not fit");
        assert_eq!(
            s.left_out,
            [
                LeftOut {
                    customer: 2,
                    figure: "revenue"
                },
                LeftOut {
                    customer: 4,
                    figure: "margin"
                }
            ]
        );
        assert_eq!(summarize_slice_reporting(&txs, &cfg).unwrap(), s);
    }

    #[test]
    fn margin_needs_every_cost() {
        let cfg = SummaryConfig::weekly(100 * DAY);
        let with_cost = |c, day, amount, cost| Transaction {
            cost_minor: cost,
            ..tx(c, day, amount)
        };
        let s = summarize(
            vec![
                with_cost(1, 1, 100, Some(60)),
                with_cost(1, 9, 50, Some(20)),
                with_cost(2, 1, 100, Some(60)),
                with_cost(2, 9, 50, None),
            ],
            &cfg,
        )
        .unwrap();
        assert_eq!(s[0].total_margin_minor, Some(70));
        assert_eq!(s[1].total_margin_minor, None);
        assert_eq!(s[1].total_revenue_minor, 150);
    }

    #[test]
    fn unsorted_customers_are_rejected() {
        let cfg = SummaryConfig::weekly(100 * DAY);
        let err = summarize(vec![tx(2, 1, 1), tx(1, 2, 1)], &cfg).unwrap_err();
        assert_eq!(err, AnalyticsError::Unsorted { position: 1 });
    }

    #[test]
    fn weeks_start_on_monday() {
        // 1970-01-04 was a Sunday, 1970-01-05 a Monday.
        assert_eq!(PeriodUnit::Week.period_of(3 * DAY), 0);
        assert_eq!(PeriodUnit::Week.period_of(4 * DAY), 1);
        assert_eq!(PeriodUnit::Week.period_of(-3 * DAY), 0);
        assert_eq!(PeriodUnit::Week.period_of(-4 * DAY), -1);
    }

    #[test]
    fn holdout_split() {
        let cfg = SummaryConfig {
            unit: PeriodUnit::Day,
            multiplier: 1.0,
            observation_end: 40 * DAY,
            calibration_end: Some(20 * DAY),
        };
        let txs = vec![tx(1, 5, 10), tx(1, 25, 30), tx(1, 25, 10), tx(1, 30, 20), tx(2, 25, 5)];
        let s = summarize(txs, &cfg).unwrap();
        assert_eq!(s.len(), 1);
        let h = s[0].holdout.unwrap();
        assert_eq!(h.frequency, 2);
        assert_eq!(h.monetary_value, 20.0);
        assert_eq!(h.duration, 20.0);
        assert_eq!(s[0].t, 15.0);
    }

    #[test]
    fn csv_errors_name_line_and_column() {
        let err = parse_summary_csv("id,frequency,recency,T,monetary_value\n1,2,3,4,5\n2,1,1,2,x\n").unwrap_err();
        assert_eq!(
            err,
            AnalyticsError::Invalid {
                line: 3,
                column: 5,
                field: "monetary_value".into(),
                reason: "not a number: \"x\"".into()
            }
        );
        let err = parse_summary_csv("T,recency,frequency\n4,x,1\n").unwrap_err();
        assert!(matches!(err, AnalyticsError::Invalid { line: 2, column: 2, .. }));
        let err = parse_summary_csv("recency,T\n1,2\n").unwrap_err();
        assert_eq!(err, AnalyticsError::MissingColumn("frequency".into()));
        let ok = parse_summary_csv("T,extra,recency,frequency\r\n4,zz,0,0\r\n").unwrap();
        assert_eq!(ok[0].t, 4.0);
        assert_eq!(ok[0].monetary_value, None);
    }

    #[test]
    fn summary_csv_accepts_zero_and_negative_mean_repeat_spend() {
        let ok = parse_summary_csv("frequency,recency,T,monetary_value\n2,3,4,0\n1,1,2,-3.5\n0,0,2,0\n").unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[0].monetary_value, Some(0.0));
        assert_eq!(ok[1].monetary_value, Some(-3.5));
    }

    #[test]
    fn compression_groups_equal_rows() {
        let r = |f, rec, t| SummaryRecord {
            frequency: f,
            recency: rec,
            t,
            monetary_value: None,
        };
        let c = compress(&[r(1, 2.0, 3.0), r(0, 0.0, 3.0), r(1, 2.0, 3.0)]).unwrap();
        assert_eq!(c.rows.len(), 2);
        assert_eq!(c.rows[1].count, 2);
        assert_eq!(c.row_of, vec![1, 0, 1]);
    }
}
