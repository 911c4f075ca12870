//! The points ledger on SQLite. Every write that reads a balance runs in a transaction begun
//! `IMMEDIATE`: the write lock is taken before the balance is read, so no other writer (another
//! process on the same file; in this process the writer connection's mutex already serialises)
//! can slip a redemption in between the check and the entry. The unique indexes of migration 8
//! keep one accrual per sale and one entry per idempotency key whatever the callers do.

use crate::convert::{Ctx, all, blob16, one};
use crate::{from_ts, ts};
use kesher_core::{BranchId, Currency, CustomerId, TransactionId};
use kesher_loyalty::{EarningRule, LedgerEntry};
use kesher_store::points::{stored_kind, stored_rate};
use kesher_store::rows::{self, Columns, LEDGER_SELECT};
use kesher_store::{
    NewLedgerEntry, PointsTotals, RefundFacts, Result, SaleScope, StoreError, UnearnedSale, UnreversedRefund,
};
use rusqlite::{Connection, OptionalExtension, params};

fn one_entry(c: &Connection, cond: &str, p: impl rusqlite::Params) -> Result<Option<LedgerEntry>> {
    one(c, &format!("{LEDGER_SELECT} WHERE {cond}"), p, |r| {
        rows::ledger_entry(r)
    })
}

/// The points of a customer's entries not available at `now`.
pub(crate) fn pending(c: &Connection, customer: CustomerId, now: jiff::Timestamp) -> Result<i64> {
    c.prepare_cached(
        "SELECT coalesce(sum(points), 0) FROM points_ledger
         WHERE customer_id = ?1 AND available_at IS NOT NULL AND available_at > ?2",
    )
    .be()?
    .query_row(params![customer.as_bytes(), ts(now)], |r| r.get(0))
    .be()
}

/// A customer's whole ledger, oldest first.
pub(crate) fn all_entries(c: &Connection, customer: CustomerId) -> Result<Vec<LedgerEntry>> {
    all(
        c,
        &format!("{LEDGER_SELECT} WHERE customer_id = ?1 ORDER BY seq"),
        params![customer.as_bytes()],
        |r| rows::ledger_entry(r),
    )
}

pub(crate) fn entries(c: &Connection, customer: CustomerId, limit: u32, offset: u64) -> Result<Vec<LedgerEntry>> {
    all(
        c,
        &format!("{LEDGER_SELECT} WHERE customer_id = ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3"),
        params![customer.as_bytes(), limit, offset as i64],
        |r| rows::ledger_entry(r),
    )
}

pub(crate) fn count_entries(c: &Connection, customer: CustomerId) -> Result<u64> {
    let n: i64 = c
        .prepare_cached("SELECT count(*) FROM points_ledger WHERE customer_id = ?1")
        .be()?
        .query_row([customer.as_bytes()], |r| r.get(0))
        .be()?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn balance(c: &Connection, customer: CustomerId) -> Result<i64> {
    Ok(
        c.prepare_cached("SELECT balance FROM points_balances WHERE customer_id = ?1")
            .be()?
            .query_row([customer.as_bytes()], |r| r.get(0))
            .optional()
            .be()?
            .unwrap_or(0),
    )
}

pub(crate) fn entry_by_key(c: &Connection, customer: CustomerId, key: &str) -> Result<Option<LedgerEntry>> {
    one_entry(
        c,
        "customer_id = ?1 AND idempotency_key = ?2",
        params![customer.as_bytes(), key],
    )
}

/// The entry a sale earned or a refund reversed, if any.
pub(crate) fn entry_for_transaction(c: &Connection, t: TransactionId) -> Result<Option<LedgerEntry>> {
    // One look-up per kind: each has its own partial unique index, which `kind IN (…)` would
    // not use (a scan of the whole ledger per call).
    match one_entry(c, "transaction_id = ?1 AND kind = 'earn'", [t.as_bytes()])? {
        Some(e) => Ok(Some(e)),
        None => one_entry(c, "transaction_id = ?1 AND kind = 'reverse'", [t.as_bytes()]),
    }
}

/// Append an entry's row; its sequence number comes back.
fn insert_entry_row(c: &Connection, e: &NewLedgerEntry<'_>) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO points_ledger (customer_id, kind, points, balance_after, reason, idempotency_key, transaction_id,
            branch_id, actor, origin, at, breakdown, available_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .be()?
    .execute(params![
        e.customer.as_bytes(),
        e.posting.kind.as_str(),
        e.posting.points,
        e.posting.balance_after,
        e.reason,
        e.idempotency_key,
        e.transaction.map(|t| t.as_bytes().to_vec()),
        e.branch.map(|b| b.as_bytes().to_vec()),
        e.actor.who,
        e.actor.origin,
        ts(e.actor.at),
        kesher_loyalty::member::breakdown_json(&e.breakdown),
        e.available_at.map(ts),
    ])
    .be()?;
    Ok(c.last_insert_rowid())
}

/// Append an entry and set the customer's balance to its `balance_after`.
pub(crate) fn write_entry(c: &Connection, e: &NewLedgerEntry<'_>) -> Result<LedgerEntry> {
    let seq = insert_entry_row(c, e)?;
    set_balance(c, e.customer, e.posting.balance_after)?;
    Ok(e.stored(seq))
}

fn set_balance(c: &Connection, customer: CustomerId, balance: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO points_balances (customer_id, balance) VALUES (?1, ?2)
         ON CONFLICT (customer_id) DO UPDATE SET balance = excluded.balance",
    )
    .be()?
    .execute(params![customer.as_bytes(), balance])
    .be()?;
    Ok(())
}

pub(crate) fn load_rule(c: &Connection) -> Result<EarningRule> {
    let mut st = c
        .prepare_cached("SELECT currency, points, per_minor FROM points_rules ORDER BY currency")
        .be()?;
    let rows = st
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        })
        .be()?;
    let mut rule = EarningRule::new();
    for row in rows {
        let (cur, points, per) = row.be()?;
        let (c, r) = stored_rate(&cur, points, per)?;
        rule.set(c, Some(r));
    }
    Ok(rule)
}

pub(crate) fn store_rule(c: &Connection, rule: &EarningRule) -> Result<()> {
    c.execute("DELETE FROM points_rules", []).be()?;
    for (cur, r) in rule.rates() {
        c.execute(
            "INSERT INTO points_rules (currency, points, per_minor) VALUES (?1, ?2, ?3)",
            params![cur.as_str(), r.points(), r.per_minor()],
        )
        .be()?;
    }
    Ok(())
}

/// What the other refunds of `sale` took back so far, `refund` left out.
pub(crate) fn refund_facts(c: &Connection, sale: TransactionId, refund: TransactionId) -> Result<RefundFacts> {
    let (sale_total, refunded_before): (i64, i64) = c
        .prepare_cached(
            "SELECT o.total, coalesce((SELECT sum(-r.total) FROM transactions r WHERE r.refund_of = o.id AND r.id <> ?2), 0)
             FROM transactions o WHERE o.id = ?1",
        )
        .be()?
        .query_row([sale.as_bytes(), refund.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .be()?;
    let reversed_before: i64 = c
        .prepare_cached(
            "SELECT coalesce(sum(-l.points), 0) FROM transactions r
             JOIN points_ledger l ON l.transaction_id = r.id AND l.kind = 'reverse' WHERE r.refund_of = ?1",
        )
        .be()?
        .query_row([sale.as_bytes()], |r| r.get(0))
        .be()?;
    Ok(RefundFacts {
        sale_total,
        refunded_before,
        reversed_before,
    })
}

/// The `WHERE` condition on `t` (transactions) for a scope: `?1` is the instant of `Since` (or
/// NULL); `Only` reads the temporary `award_scope` table [`fill_scope`] fills.
fn scope_filter(scope: SaleScope<'_>) -> (&'static str, Option<i64>) {
    match scope {
        SaleScope::Since(since) => ("(?1 IS NULL OR t.occurred_at >= ?1)", since.map(ts)),
        SaleScope::Only(_) => ("(?1 IS NULL AND t.id IN (SELECT id FROM temp.award_scope))", None),
    }
}

/// Put an `Only` scope's ids in the temporary `award_scope` table.
fn fill_scope(c: &Connection, scope: SaleScope<'_>) -> Result<()> {
    if let SaleScope::Only(ids) = scope {
        c.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS award_scope (id BLOB PRIMARY KEY); DELETE FROM temp.award_scope",
        )
        .be()?;
        let mut ins = c
            .prepare_cached("INSERT OR IGNORE INTO temp.award_scope (id) VALUES (?1)")
            .be()?;
        for id in ids {
            ins.execute([id.as_bytes()]).be()?;
        }
    }
    Ok(())
}

/// A page of sales that have not earned yet (`PointsRows::unearned_sales`). An `Only` scope's
/// ids are loaded with the first page (`after` none) and kept for the next pages.
pub(crate) fn unearned_sales(
    c: &Connection,
    scope: SaleScope<'_>,
    after: Option<&UnearnedSale>,
    limit: usize,
) -> Result<Vec<UnearnedSale>> {
    if after.is_none() {
        fill_scope(c, scope)?;
    }
    let (filter, since) = scope_filter(scope);
    // Along the (customer, time) index, whose entries end with the row number: no sort.
    let keyset = if after.is_some() {
        "AND (t.customer_id, t.occurred_at, t.seq) > (?2, ?3, ?4)"
    } else {
        "AND ?2 IS NULL AND ?3 IS NULL AND ?4 IS NULL"
    };
    let mut st = c
        .prepare_cached(&format!(
            "SELECT t.id, t.customer_id, t.branch_id, t.occurred_at, t.currency, t.total, coalesce(b.balance, 0), t.seq
             FROM transactions t LEFT JOIN points_balances b ON b.customer_id = t.customer_id
             WHERE t.customer_id IS NOT NULL AND t.refund_of IS NULL AND {filter} {keyset}
               AND t.currency IN (SELECT currency FROM points_rules)
               AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'earn')
             ORDER BY t.customer_id, t.occurred_at, t.seq LIMIT ?5"
        ))
        .be()?;
    let key = after.map(|a| (a.customer.as_bytes().to_vec(), ts(a.occurred_at), a.position));
    let mut rows = st
        .query(params![
            since,
            key.as_ref().map(|k| &k.0),
            key.as_ref().map(|k| k.1),
            key.as_ref().map(|k| k.2),
            i64::try_from(limit).unwrap_or(i64::MAX)
        ])
        .be()?;
    let mut out = Vec::with_capacity(limit.min(4096));
    let mut currency: Option<Currency> = None;
    while let Some(r) = rows.next().be()? {
        let code: String = r.get(4).be()?;
        let cur = match currency {
            Some(k) if k.as_str() == code => k,
            _ => {
                let k =
                    Currency::from_stored(&code).map_err(|e| StoreError::Backend(format!("stored currency: {e}")))?;
                currency = Some(k);
                k
            }
        };
        out.push(UnearnedSale {
            id: TransactionId::from_bytes(blob16(&r.get::<_, Vec<u8>>(0).be()?)?),
            customer: CustomerId::from_bytes(blob16(&r.get::<_, Vec<u8>>(1).be()?)?),
            branch: BranchId::from_bytes(blob16(&r.get::<_, Vec<u8>>(2).be()?)?),
            occurred_at: from_ts(r.get(3).be()?)?,
            currency: cur,
            total: r.get(5).be()?,
            balance: r.get(6).be()?,
            position: r.get(7).be()?,
        });
    }
    Ok(out)
}

/// The refunds in scope whose sale earned and that have not been reversed yet.
pub(crate) fn unreversed_refunds(c: &Connection, scope: SaleScope<'_>) -> Result<Vec<UnreversedRefund>> {
    fill_scope(c, scope)?;
    let (filter, since) = scope_filter(scope);
    let mut st = c
        .prepare(&format!(
            "SELECT t.id, t.refund_of, t.total, t.branch_id FROM transactions t
             WHERE t.refund_of IS NOT NULL AND {filter}
               AND EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.refund_of AND l.kind = 'earn')
               AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'reverse')
             ORDER BY t.occurred_at, t.id"
        ))
        .be()?;
    let raw: Vec<(Vec<u8>, Vec<u8>, i64, Vec<u8>)> = st
        .query_map([since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .be()?
        .collect::<rusqlite::Result<_>>()
        .be()?;
    raw.into_iter()
        .map(|(id, sale, total, branch)| {
            Ok(UnreversedRefund {
                id: TransactionId::from_bytes(blob16(&id)?),
                sale: TransactionId::from_bytes(blob16(&sale)?),
                total,
                branch: BranchId::from_bytes(blob16(&branch)?),
            })
        })
        .collect()
}

/// Append entries in order, then set each customer's balance to its last entry's.
pub(crate) fn write_entries(c: &Connection, entries: &[NewLedgerEntry<'_>]) -> Result<()> {
    let mut last: Vec<(CustomerId, i64)> = Vec::new();
    for e in entries {
        insert_entry_row(c, e)?;
        match last.last_mut() {
            Some((c, b)) if *c == e.customer => *b = e.posting.balance_after,
            _ => last.push((e.customer, e.posting.balance_after)),
        }
    }
    // A customer may appear in more than one run of entries: the last one written wins.
    for (customer, balance) in last {
        set_balance(c, customer, balance)?;
    }
    Ok(())
}

pub(crate) fn totals(c: &Connection) -> Result<PointsTotals> {
    // Each sum is taken in two halves (the high 32 bits and the low 32 bits of every value),
    // which SQLite adds without overflow for up to 2^31 rows, and put together in i128: balances
    // and entries written before kesher's bounds never make the report fail.
    let (customers, hi, lo): (i64, i64, i64) = c
        .query_row(
            "SELECT count(*), coalesce(sum(balance >> 32), 0), coalesce(sum(balance & 4294967295), 0)
             FROM points_balances WHERE balance <> 0",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .be()?;
    let mut st = c
        .prepare(
            "SELECT kind, count(*), coalesce(sum(points >> 32), 0), coalesce(sum(points & 4294967295), 0)
             FROM points_ledger GROUP BY kind ORDER BY kind",
        )
        .be()?;
    let rows: Vec<(String, i64, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .be()?
        .collect::<rusqlite::Result<_>>()
        .be()?;
    let by_kind = rows
        .into_iter()
        .map(|(k, n, hi, lo)| Ok((stored_kind(&k)?, u64::try_from(n).unwrap_or(0), joined_sum(hi, lo))))
        .collect::<Result<_>>()?;
    Ok(PointsTotals {
        customers: u64::try_from(customers).unwrap_or(0),
        outstanding: joined_sum(hi, lo),
        by_kind,
    })
}

/// A sum taken in halves (`hi`: of the values shifted right by 32, `lo`: of their low 32 bits)
/// put together, saturated to i64's range (only data from before the bounds can pass it).
pub(crate) fn joined_sum(hi: i64, lo: i64) -> i64 {
    let sum = (i128::from(hi) << 32) + i128::from(lo);
    i64::try_from(sum).unwrap_or(if sum < 0 { i64::MIN } else { i64::MAX })
}

/// Require the customer to exist.
pub(crate) fn require_customer(c: &Connection, id: CustomerId) -> Result<()> {
    let found = c
        .prepare_cached("SELECT 1 FROM customers WHERE id = ?1")
        .be()?
        .exists([id.as_bytes()])
        .be()?;
    if found {
        Ok(())
    } else {
        Err(StoreError::not_found("customer", id))
    }
}

impl kesher_store::Points for crate::SqliteStore {
    fn earning_rule(&self) -> Result<EarningRule> {
        load_rule(&*self.read()?)
    }

    fn points_balance(&self, customer: CustomerId) -> Result<i64> {
        let c = self.read()?;
        require_customer(&c, customer)?;
        balance(&c, customer)
    }

    fn points_ledger(&self, customer: CustomerId, limit: u32, offset: u64) -> Result<kesher_store::Page<LedgerEntry>> {
        let c = self.read()?;
        require_customer(&c, customer)?;
        Ok(kesher_store::Page {
            items: entries(&c, customer, limit, offset)?,
            total: count_entries(&c, customer)?,
            limit,
            offset,
            total_capped: false,
        })
    }

    fn points_totals(&self) -> Result<PointsTotals> {
        totals(&*self.read()?)
    }

    fn points_entries(&self, customer: CustomerId) -> Result<Vec<LedgerEntry>> {
        let c = self.read()?;
        require_customer(&c, customer)?;
        all_entries(&c, customer)
    }

    fn customers_with_lots_before(
        &self,
        cutoff: jiff::Timestamp,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Vec<CustomerId>> {
        let c = self.read()?;
        all(
            &c,
            "SELECT b.customer_id FROM points_balances b
             WHERE b.balance > 0 AND (?1 IS NULL OR b.customer_id > ?1)
               AND EXISTS (SELECT 1 FROM points_ledger l WHERE l.customer_id = b.customer_id AND l.points > 0 AND l.at <= ?2)
             ORDER BY b.customer_id LIMIT ?3",
            params![after.map(|a| a.as_bytes().to_vec()), ts(cutoff), limit as i64],
            |r| Ok(CustomerId::from_bytes(r.id(0)?)),
        )
    }
}
