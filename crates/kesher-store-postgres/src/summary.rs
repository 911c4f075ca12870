//! The per-customer purchase summary computed inside the database: one aggregate query grouped
//! by customer, so that only the compact summary travels to kesher (`Store::purchase_summaries`).
//!
//! Two levels: sales folded per (customer, period), then per customer. The inner level reads
//! `transactions` alone (each sale carries its cost since migration 4) and groups by the customer
//! id, so on a set-up whose tables are partitioned by customer it runs partition by partition,
//! next to the data (postgres_fdw ships it to each shard: docs/scaling.md). Every expression is
//! immutable so that postgres_fdw may ship it: the instant is taken from `occurred_at - epoch`
//! (an interval) rather than `extract(epoch FROM timestamptz)`, which is only stable.

use crate::convert::{Ctx, col};
use kesher_core::CustomerId;
use kesher_store::{PurchaseSummary, Result, StoreError, SummaryPeriod, SummaryRequest};
use postgres::GenericClient;
use postgres::fallible_iterator::FallibleIterator;

/// A sale's instant in whole seconds since the epoch, truncated toward zero as `Timestamp::as_second`.
const AT: &str = "trunc(extract(epoch FROM (occurred_at - '1970-01-01 00:00:00+00'::timestamptz)))::bigint";

/// The period index of `at`, as `PeriodUnit::period_of`: UTC days, or weeks from Monday (day -3
/// was the Monday before 1970-01-01, a Thursday).
fn period_sql(p: SummaryPeriod) -> &'static str {
    match p {
        SummaryPeriod::Day => "floor(at / 86400.0)::bigint",
        SummaryPeriod::Week => "floor((floor(at / 86400.0) + 3) / 7)::bigint",
    }
}

/// The query for one period unit; `$1` the observation end, `$2` the calibration end (or the
/// observation end), both in seconds.
pub(crate) fn summary_sql(p: SummaryPeriod) -> String {
    let period = period_sql(p);
    format!(
        "SELECT c,
            min(period) FILTER (WHERE visits > 0),
            max(period) FILTER (WHERE visits > 0),
            count(*) FILTER (WHERE visits > 0),
            (sum(spend) - (min(ARRAY[period::numeric, spend]) FILTER (WHERE visits > 0))[2])::bigint,
            sum(spend)::bigint,
            CASE WHEN sum(costed) = sum(visits) THEN (sum(spend) - sum(cost))::bigint END,
            sum(visits)::bigint,
            min(first_at),
            max(last_at),
            count(*) FILTER (WHERE hold_visits > 0),
            sum(hold_spend)::bigint,
            sum(hold_visits)::bigint
         FROM (
            SELECT customer_id AS c, {period} AS period,
                coalesce(sum(total) FILTER (WHERE at <= $2), 0) AS spend,
                count(*) FILTER (WHERE at <= $2) AS visits,
                coalesce(sum(cost) FILTER (WHERE at <= $2), 0) AS cost,
                count(cost) FILTER (WHERE at <= $2) AS costed,
                min(at) FILTER (WHERE at <= $2) AS first_at,
                max(at) FILTER (WHERE at <= $2) AS last_at,
                count(*) FILTER (WHERE at > $2) AS hold_visits,
                coalesce(sum(total) FILTER (WHERE at > $2), 0) AS hold_spend
            FROM (
                SELECT customer_id, total, cost, {AT} AS at FROM transactions
                WHERE customer_id IS NOT NULL AND refund_of IS NULL
            ) sale
            WHERE at <= $1
            GROUP BY 1, 2
         ) per_period
         GROUP BY c
         HAVING count(*) FILTER (WHERE visits > 0) > 0
         ORDER BY c"
    )
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
        return Err(StoreError::Invalid {
            field: "calibration_end",
            reason: "must not be after the observation end".into(),
        });
    }
    let cal = req.calibration_end.unwrap_or(req.observation_end);
    // Row by row: memory stays flat whatever the number of customers.
    let mut rows = c
        .query_raw(&summary_sql(req.period), [&req.observation_end, &cal])
        .be()?;
    while let Some(r) = rows.next().be()? {
        f(&PurchaseSummary {
            customer_id: CustomerId(col(&r, 0)?),
            first_period: col(&r, 1)?,
            last_period: col(&r, 2)?,
            periods: count_u32(col(&r, 3)?, "periods")?,
            repeat_spend: col(&r, 4)?,
            revenue: col(&r, 5)?,
            margin: col(&r, 6)?,
            visits: count_u32(col(&r, 7)?, "visits")?,
            first_purchase: col(&r, 8)?,
            last_purchase: col(&r, 9)?,
            holdout_periods: count_u32(col(&r, 10)?, "holdout periods")?,
            holdout_spend: col(&r, 11)?,
            holdout_visits: count_u32(col(&r, 12)?, "holdout visits")?,
        });
    }
    Ok(())
}
