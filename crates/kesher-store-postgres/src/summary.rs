//! The per-customer purchase summary computed inside the database: one aggregate query grouped
//! by customer, so that only the compact summary travels to kesher (`Store::purchase_summaries`).
//!
//! Two levels: sales folded per (customer, period), then per customer. The inner level reads
//! `transactions` alone (each sale carries its cost since migration 4) and groups by the customer
//! id, so on a set-up whose tables are partitioned by customer it runs partition by partition,
//! next to the data (postgres_fdw ships it to each shard: docs/scaling.md). For that every
//! expression in it must be one postgres_fdw agrees to ship: immutable, and with no collatable
//! argument that does not come from a column. So the day is `occurred_at AT TIME ZONE INTERVAL
//! '+00:00'` (not `AT TIME ZONE 'UTC'` nor `extract(epoch …)`, whose text argument keeps them
//! local), and the window bounds arrive as instants.

use crate::convert::{Ctx, col};
use jiff::Timestamp;
use kesher_core::CustomerId;
use kesher_store::{PurchaseSummary, Result, StoreError, SummaryPeriod, SummaryRequest};
use postgres::GenericClient;
use postgres::fallible_iterator::FallibleIterator;

/// A sale's UTC day since 1970-01-01. For sales since 1970 it is `PeriodUnit::Day.period_of` of the
/// instant in whole seconds; before 1970 the in-process path truncates toward zero, so a sale in the
/// last second before a UTC midnight would fall on the next day there.
const DAY: &str = "((occurred_at AT TIME ZONE INTERVAL '+00:00')::date - DATE '1970-01-01')::bigint";

/// The period index of a sale, as `PeriodUnit::period_of`: days, or weeks from Monday (day -3 was
/// the Monday before 1970-01-01, a Thursday), with integer floor division.
fn period_sql(p: SummaryPeriod) -> String {
    match p {
        SummaryPeriod::Day => DAY.to_string(),
        SummaryPeriod::Week => format!("((({DAY} + 3) - ((({DAY} + 3) % 7) + 7) % 7) / 7)"),
    }
}

/// The first instant after the sales counted up to `end` (whole seconds): a sale counts when its
/// instant truncated toward zero is not after `end`.
fn bound(end: i64) -> Result<Timestamp> {
    let micros = if end >= 0 {
        end.checked_add(1).and_then(|s| s.checked_mul(1_000_000))
    } else {
        end.checked_mul(1_000_000).and_then(|m| m.checked_add(1))
    };
    micros.and_then(|m| Timestamp::from_microsecond(m).ok()).ok_or_else(|| {
        StoreError::invalid_coded(
            "analyze.observation_end.out_of_range",
            "observation_end",
            kesher_core::params!(value = end.to_string()),
            format!("instant {end} out of range"),
        )
    })
}

/// The query for one period unit; `$1` ends the observation and `$2` the calibration window
/// (exclusive bounds from [`bound`]). Public for `EXPLAIN` in tests and for the docs.
/// `expr` (numeric) as a bigint, or NULL when it does not fit (sums of sales written before
/// kesher's bounds): such a customer is reported, not a failed query.
fn fitting(expr: &str) -> String {
    format!("CASE WHEN ({expr}) BETWEEN -9223372036854775808 AND 9223372036854775807 THEN ({expr})::bigint END")
}

pub fn summary_sql(p: SummaryPeriod) -> String {
    let period = period_sql(p);
    let repeat = fitting("sum(spend) - (min(ARRAY[period::numeric, spend]) FILTER (WHERE visits > 0))[2]");
    let revenue = fitting("sum(spend)");
    let margin = fitting("sum(spend) - sum(cost)");
    let hold = fitting("sum(hold_spend)");
    format!(
        "SELECT c,
            min(period) FILTER (WHERE visits > 0),
            max(period) FILTER (WHERE visits > 0),
            count(*) FILTER (WHERE visits > 0),
            {repeat},
            {revenue},
            CASE WHEN sum(costed) = sum(visits) THEN {margin} END,
            sum(visits)::bigint,
            min(first_at),
            max(last_at),
            count(*) FILTER (WHERE hold_visits > 0),
            {hold},
            sum(hold_visits)::bigint
         FROM (
            SELECT customer_id AS c, {period} AS period,
                coalesce(sum(total) FILTER (WHERE occurred_at < $2), 0) AS spend,
                count(*) FILTER (WHERE occurred_at < $2) AS visits,
                coalesce(sum(cost) FILTER (WHERE occurred_at < $2), 0) AS cost,
                count(cost) FILTER (WHERE occurred_at < $2) AS costed,
                min(occurred_at) FILTER (WHERE occurred_at < $2) AS first_at,
                max(occurred_at) FILTER (WHERE occurred_at < $2) AS last_at,
                count(*) FILTER (WHERE occurred_at >= $2) AS hold_visits,
                coalesce(sum(total) FILTER (WHERE occurred_at >= $2), 0) AS hold_spend
            FROM transactions
            WHERE customer_id IS NOT NULL AND refund_of IS NULL AND occurred_at < $1
            GROUP BY 1, 2
         ) per_period
         GROUP BY c
         HAVING count(*) FILTER (WHERE visits > 0) > 0
         ORDER BY c"
    )
}

/// Customers per (first-purchase month, purchase month) in one aggregate query:
/// `width_bucket` over the months' first seconds gives each sale's month index as
/// `Store::cohort_counts` defines it.
pub(crate) fn cohort_counts<C: GenericClient>(
    c: &mut C,
    month_starts: &[i64],
    end: i64,
) -> Result<Vec<(u32, u32, u64)>> {
    let starts: Vec<f64> = month_starts.iter().map(|s| *s as f64).collect();
    let end = bound(end)?;
    let rows = c
        .query(
            "WITH m AS (
                SELECT customer_id, width_bucket(extract(epoch FROM occurred_at)::float8, $1::float8[]) AS mi
                FROM transactions
                WHERE customer_id IS NOT NULL AND refund_of IS NULL AND occurred_at < $2
                GROUP BY 1, 2),
             f AS (SELECT customer_id, min(mi) AS first FROM m GROUP BY 1)
             SELECT f.first, m.mi, count(*) FROM m JOIN f USING (customer_id) GROUP BY 1, 2",
            &[&starts, &end],
        )
        .be()?;
    rows.iter()
        .map(|r| {
            let first: i32 = col(r, 0)?;
            let month: i32 = col(r, 1)?;
            let n: i64 = col(r, 2)?;
            Ok((
                u32::try_from(first).unwrap_or(0),
                u32::try_from(month).unwrap_or(0),
                u64::try_from(n).unwrap_or(0),
            ))
        })
        .collect()
}

fn count_u32(v: i64, what: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Backend(format!("{what} out of range: {v}")))
}

pub(crate) fn purchase_summaries<C: GenericClient>(
    c: &mut C,
    req: &SummaryRequest,
    f: &mut dyn FnMut(&PurchaseSummary),
) -> Result<()> {
    if let Some(cal) = req.calibration_end
        && cal > req.observation_end
    {
        return Err(StoreError::invalid_coded(
            "analyze.calibration_end.after_end",
            "calibration_end",
            kesher_core::Params::new(),
            "must not be after the observation end",
        ));
    }
    let obs = bound(req.observation_end)?;
    let cal = bound(req.calibration_end.unwrap_or(req.observation_end))?;
    // Row by row: memory stays flat whatever the number of customers.
    let mut rows = c.query_raw(&summary_sql(req.period), [&obs, &cal]).be()?;
    while let Some(r) = rows.next().be()? {
        let repeat_spend: Option<i64> = col(&r, 4)?;
        let revenue: Option<i64> = col(&r, 5)?;
        let holdout_spend: Option<i64> = col(&r, 11)?;
        let unrepresentable = repeat_spend.is_none() || revenue.is_none() || holdout_spend.is_none();
        f(&PurchaseSummary {
            customer_id: CustomerId(col(&r, 0)?),
            first_period: col(&r, 1)?,
            last_period: col(&r, 2)?,
            periods: count_u32(col(&r, 3)?, "periods")?,
            repeat_spend: repeat_spend.unwrap_or(0),
            revenue: revenue.unwrap_or(0),
            margin: col(&r, 6)?,
            visits: count_u32(col(&r, 7)?, "visits")?,
            first_purchase: col::<Timestamp>(&r, 8)?.as_second(),
            last_purchase: col::<Timestamp>(&r, 9)?.as_second(),
            holdout_periods: count_u32(col(&r, 10)?, "holdout periods")?,
            holdout_spend: holdout_spend.unwrap_or(0),
            holdout_visits: count_u32(col(&r, 12)?, "holdout visits")?,
            unrepresentable,
        });
    }
    Ok(())
}
