//! The results of `kesher analyze`: the purchase stream it reads, and the scores and monthly
//! stage history it writes back.

use crate::convert::{Ctx, all, col, describe, one};
use jiff::Timestamp;
use kesher_core::{Currency, CustomerId};
use kesher_store::rows::{self, SCORE_SELECT, corrupt};
use kesher_store::{CustomerScore, PurchaseRow, Result, StoreError};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::Type;
use postgres::{Client, GenericClient, Row};
use uuid::Uuid;

/// Every sale of an identified customer (refunds left out), by customer then time, streamed.
/// Each sale carries its cost (migration 4), known only when every line has a product with a unit cost.
const PURCHASES: &str = "SELECT customer_id, occurred_at, total, currency, cost FROM transactions
     WHERE customer_id IS NOT NULL AND refund_of IS NULL
     ORDER BY customer_id, occurred_at, id";

pub(crate) fn for_each_purchase(c: &mut Client, f: &mut dyn FnMut(&PurchaseRow)) -> Result<()> {
    // Row by row: memory stays flat whatever the number of sales.
    let mut rows = c.query_raw(PURCHASES, std::iter::empty::<i32>()).be()?;
    // Sales come in one or a few currencies: parse each code once.
    let mut last_currency: Option<(String, Currency)> = None;
    while let Some(r) = rows.next().be()? {
        let code: &str = col(&r, 3)?;
        let currency = match &last_currency {
            Some((c, cur)) if c == code => *cur,
            _ => {
                let cur = Currency::from_stored(code).map_err(|e| corrupt("currency", e))?;
                last_currency = Some((code.to_string(), cur));
                cur
            }
        };
        f(&PurchaseRow {
            customer_id: CustomerId(col(&r, 0)?),
            occurred_at: col(&r, 1)?,
            amount: col(&r, 2)?,
            cost: col(&r, 4)?,
            currency,
        });
    }
    Ok(())
}

/// "YYYY-MM" of an instant in UTC: the month a run's stages are recorded under.
fn month_of(as_of: Timestamp) -> String {
    as_of.strftime("%Y-%m").to_string()
}

/// The body of `replace_customer_scores`, inside its transaction.
pub(crate) fn replace(
    tx: &mut postgres::Transaction<'_>,
    as_of: Timestamp,
    model: &str,
    scores: &[CustomerScore],
) -> Result<u64> {
    // Runs are numbered one after another: taken under a lock, so that two runs at once
    // cannot take the same number.
    tx.batch_execute("LOCK TABLE analysis_runs IN EXCLUSIVE MODE").be()?;
    let run: i64 = col(
        &tx.query_one("SELECT coalesce(max(run), 0) + 1 FROM analysis_runs", &[])
            .be()?,
        0,
    )?;
    // TRUNCATE rather than DELETE: instant whatever the size, and rolled back with the rest.
    tx.batch_execute("TRUNCATE customer_scores").be()?;
    let copied = (|| {
        let w = tx.copy_in(
            "COPY customer_scores (customer_id, as_of, model, stage, frequency, recency, t, monetary, revenue,
                 margin, p_alive, expected_purchases, clv, rfm, segment, tier, wallet, share_of_wallet)
             FROM STDIN (FORMAT binary)",
        )?;
        let mut w = BinaryCopyInWriter::new(
            w,
            &[
                Type::UUID,
                Type::TIMESTAMPTZ,
                Type::TEXT,
                Type::TEXT,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::INT8,
                Type::INT8,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::FLOAT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::INT8,
                Type::FLOAT8,
            ],
        );
        for s in scores {
            w.write(&[
                &s.customer_id.0,
                &as_of,
                &model,
                &s.stage,
                &s.frequency,
                &s.recency,
                &s.t,
                &s.monetary,
                &s.revenue,
                &s.margin,
                &s.p_alive,
                &s.expected_purchases,
                &s.clv,
                &s.rfm,
                &s.segment,
                &s.tier,
                &s.wallet,
                &s.share_of_wallet,
            ])?;
        }
        w.finish()
    })();
    copied.map_err(|e| match e.as_db_error() {
        // A constraint (a customer scored twice) or a value PostgreSQL cannot hold: the caller's data.
        Some(_) => crate::convert::pg_error(e),
        None => StoreError::Backend(format!("copying customer scores failed: {}", describe(&e))),
    })?;
    let month = month_of(as_of);
    tx.execute("DELETE FROM customer_stages WHERE month = $1", &[&month])
        .be()?;
    tx.execute(
        "INSERT INTO customer_stages (customer_id, month, stage) SELECT customer_id, $1, stage FROM customer_scores",
        &[&month],
    )
    .be()?;
    tx.execute(
        "INSERT INTO analysis_runs (run, as_of, model) VALUES ($1, $2, $3)",
        &[&run, &as_of, &model],
    )
    .be()?;
    tx.execute(
        "INSERT INTO stage_months (month, run) VALUES ($1, $2) ON CONFLICT (month) DO UPDATE SET run = excluded.run",
        &[&month, &run],
    )
    .be()?;
    // The run's customers (inserted before it) without a row: its prospects.
    let prospects: i64 = col(
        &tx.query_one(
            "SELECT (SELECT count(*) FROM customers WHERE runs_before < $1) - (SELECT count(*) FROM customer_scores)",
            &[&run],
        )
        .be()?,
        0,
    )?;
    Ok(u64::try_from(prospects).unwrap_or(0))
}

/// Customers whose attributes hold `estimated_annual_spend`, the value as text (a JSON string
/// unquoted, a number as written).
pub(crate) fn customer_wallets<C: GenericClient>(c: &mut C) -> Result<Vec<(CustomerId, String)>> {
    c.query(
        "SELECT id, attributes->>'estimated_annual_spend' FROM customers
         WHERE attributes ? 'estimated_annual_spend' AND jsonb_typeof(attributes->'estimated_annual_spend') <> 'null'
         ORDER BY id",
        &[],
    )
    .be()?
    .iter()
    .map(|r| Ok((CustomerId(col(r, 0)?), col(r, 1)?)))
    .collect()
}

/// Replace one month's stage history with `stages`.
pub(crate) fn record_stage_history(
    tx: &mut postgres::Transaction<'_>,
    month: &str,
    stages: &[(CustomerId, &str)],
) -> Result<()> {
    tx.execute("DELETE FROM customer_stages WHERE month = $1", &[&month])
        .be()?;
    tx.execute(
        "INSERT INTO stage_months (month, run) VALUES ($1, NULL) ON CONFLICT (month) DO UPDATE SET run = NULL",
        &[&month],
    )
    .be()?;
    let copied = (|| {
        let w = tx.copy_in("COPY customer_stages (customer_id, month, stage) FROM STDIN (FORMAT binary)")?;
        let mut w = BinaryCopyInWriter::new(w, &[Type::UUID, Type::TEXT, Type::TEXT]);
        for (id, stage) in stages {
            w.write(&[&id.0, &month, stage])?;
        }
        w.finish()
    })();
    copied.map_err(|e| match e.as_db_error() {
        Some(_) => crate::convert::pg_error(e),
        None => StoreError::Backend(format!("copying the stage history failed: {}", describe(&e))),
    })?;
    Ok(())
}

/// The latest run: (run, as_of, model).
fn latest_run<C: GenericClient>(c: &mut C) -> Result<Option<(i64, Timestamp, String)>> {
    c.query_opt(
        "SELECT run, as_of, model FROM analysis_runs ORDER BY run DESC LIMIT 1",
        &[],
    )
    .be()?
    .map(|r| Ok((col(&r, 0)?, col(&r, 1)?, col(&r, 2)?)))
    .transpose()
}

pub(crate) fn customer_score<C: GenericClient>(c: &mut C, id: CustomerId) -> Result<Option<CustomerScore>> {
    if let Some(score) = one(c, &format!("{SCORE_SELECT} WHERE customer_id = $1"), &[&id.0], |r| {
        rows::score(r)
    })? {
        return Ok(Some(score));
    }
    // An implicit prospect of the latest run: a customer that existed when it was stored.
    let Some((run, as_of, model)) = latest_run(c)? else {
        return Ok(None);
    };
    let known = c
        .query_opt(
            "SELECT 1 FROM customers WHERE id = $1 AND runs_before < $2",
            &[&id.0, &run],
        )
        .be()?
        .is_some();
    Ok(known.then(|| CustomerScore::prospect(id, as_of, &model)))
}

pub(crate) fn list_customer_scores<C: GenericClient>(c: &mut C) -> Result<Vec<CustomerScore>> {
    let mut out = all(c, &format!("{SCORE_SELECT} ORDER BY customer_id"), &[], |r| {
        rows::score(r)
    })?;
    if let Some((run, as_of, model)) = latest_run(c)? {
        let rows = c
            .query(
                "SELECT c.id FROM customers c WHERE c.runs_before < $1
                   AND NOT EXISTS (SELECT 1 FROM customer_scores s WHERE s.customer_id = c.id)",
                &[&run],
            )
            .be()?;
        for r in &rows {
            out.push(CustomerScore::prospect(CustomerId(col(r, 0)?), as_of, &model));
        }
        out.sort_unstable_by_key(|s| s.customer_id);
    }
    Ok(out)
}

fn count_row(r: &Row) -> Result<(String, String, u64)> {
    let n: i64 = col(r, 2)?;
    Ok((col(r, 0)?, col(r, 1)?, u64::try_from(n).unwrap_or(0)))
}

fn implicit_row(r: &Row) -> Result<(String, u64)> {
    let n: i64 = col(r, 1)?;
    Ok((col(r, 0)?, u64::try_from(n).unwrap_or(0)))
}

pub(crate) fn stage_counts<C: GenericClient>(c: &mut C) -> Result<Vec<(String, String, u64)>> {
    let counts = c
        .query(
            "SELECT month, stage, count(*) FROM customer_stages GROUP BY month, stage",
            &[],
        )
        .be()?
        .iter()
        .map(count_row)
        .collect::<Result<Vec<_>>>()?;
    // A run's prospects: its customers (inserted before it) less the month's rows, which all
    // name customers of the run.
    let implicit = c
        .query(
            "SELECT m.month, (SELECT count(*) FROM customers WHERE runs_before < m.run)
                 - (SELECT count(*) FROM customer_stages s WHERE s.month = m.month)
             FROM stage_months m WHERE m.run IS NOT NULL",
            &[],
        )
        .be()?
        .iter()
        .map(implicit_row)
        .collect::<Result<Vec<_>>>()?;
    Ok(kesher_store::merge_stage_counts(counts, implicit))
}

pub(crate) fn stage_transitions<C: GenericClient>(
    c: &mut C,
    from_month: &str,
    to_month: &str,
) -> Result<Vec<(String, String, u64)>> {
    // The run whose implicit prospects each month holds (0: none).
    let mut run_of = |month: &str| -> Result<i64> {
        let r = c
            .query_opt("SELECT run FROM stage_months WHERE month = $1", &[&month])
            .be()?;
        Ok(match r {
            Some(r) => col::<Option<i64>>(&r, 0)?.unwrap_or(0),
            None => 0,
        })
    };
    let (from_run, to_run) = (run_of(from_month)?, run_of(to_month)?);
    // Customers with a row in the later month; one without a row in the earlier month was its
    // prospect if it belonged to the earlier month's run, else it is new.
    let counts = c
        .query(
            "SELECT coalesce(f.stage, CASE WHEN c.runs_before < $3 THEN 'prospect' ELSE 'new' END), t.stage, count(*)
             FROM customer_stages t
             LEFT JOIN customer_stages f ON f.customer_id = t.customer_id AND f.month = $1
             LEFT JOIN customers c ON c.id = t.customer_id
             WHERE t.month = $2
             GROUP BY 1, 2",
            &[&from_month, &to_month, &from_run],
        )
        .be()?
        .iter()
        .map(count_row)
        .collect::<Result<Vec<_>>>()?;
    // The later month's implicit prospects, by where they were in the earlier month.
    let implicit = if to_run > 0 {
        c.query(
            "SELECT coalesce(f.stage, CASE WHEN c.runs_before < $3 THEN 'prospect' ELSE 'new' END), count(*)
             FROM customers c
             LEFT JOIN customer_stages f ON f.customer_id = c.id AND f.month = $1
             WHERE c.runs_before < $4
               AND NOT EXISTS (SELECT 1 FROM customer_stages t WHERE t.month = $2 AND t.customer_id = c.id)
             GROUP BY 1",
            &[&from_month, &to_month, &from_run, &to_run],
        )
        .be()?
        .iter()
        .map(implicit_row)
        .collect::<Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    Ok(kesher_store::merge_stage_counts(counts, implicit))
}

/// Forget a customer's analysis results (it is deleted, or merged into another).
pub(crate) fn forget<C: GenericClient>(c: &mut C, id: Uuid) -> Result<()> {
    c.execute("DELETE FROM customer_scores WHERE customer_id = $1", &[&id])
        .be()?;
    // Keyed by month first: one look-up per month of the history.
    c.execute(
        "DELETE FROM customer_stages WHERE month IN (SELECT month FROM stage_months) AND customer_id = $1",
        &[&id],
    )
    .be()?;
    Ok(())
}
