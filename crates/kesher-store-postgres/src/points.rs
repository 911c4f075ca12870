//! The points ledger on PostgreSQL.
//!
//! Concurrency: every write that reads a balance first locks the customer's row of
//! `points_balances` (`SELECT … FOR UPDATE`, the row created empty if missing), under the default
//! READ COMMITTED isolation. The lock serialises the writers of one customer — a redemption, a
//! sale's accrual, a refund's reversal, a merge — and no one else: after it, each statement sees
//! the latest committed balance and ledger, so the check "no more than the balance" and the
//! idempotency-key lookup cannot be overtaken by a parallel request. SERIALIZABLE would give the
//! same result at the price of retrying aborted transactions; a row lock is simpler and never
//! fails a request. Parallel duplicates of one sale are stopped earlier by the unique external id
//! (the second waits for the first and finds it) and, whatever happens, by the unique index on
//! the earn entry's transaction. The bulk award locks the whole balance table (`EXCLUSIVE`: reads
//! go on, redemptions wait) for its one transaction.

use crate::PgStore;
use crate::convert::{Ctx, all, col, count, one, query_opt};
use jiff::Timestamp;
use kesher_core::{BranchId, Currency, CustomerId, TransactionId};
use kesher_loyalty::{EarningRule, LedgerEntry};
use kesher_store::points::{stored_kind, stored_rate};
use kesher_store::rows::{self, LEDGER_SELECT};
use kesher_store::{
    NewLedgerEntry, Page, PointsTotals, RefundFacts, Result, SaleScope, StoreError, UnearnedSale, UnreversedRefund,
};
use postgres::GenericClient;
use uuid::Uuid;

pub(crate) fn one_entry<C: GenericClient>(
    c: &mut C,
    cond: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Option<LedgerEntry>> {
    one(c, &format!("{LEDGER_SELECT} WHERE {cond}"), params, |r| {
        rows::ledger_entry(r)
    })
}

pub(crate) fn count_entries<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<u64> {
    count(
        c,
        "SELECT count(*) FROM points_ledger WHERE customer_id = $1",
        &[&customer.0],
    )
}

/// The points of a customer's entries not available at `now`.
pub(crate) fn pending<C: GenericClient>(c: &mut C, customer: CustomerId, now: Timestamp) -> Result<i64> {
    let r = c
        .query_one(
            "SELECT coalesce(sum(points), 0)::bigint FROM points_ledger
             WHERE customer_id = $1 AND available_at IS NOT NULL AND available_at > $2",
            &[&customer.0, &now],
        )
        .be()?;
    col(&r, 0)
}

/// A customer's whole ledger, oldest first.
pub(crate) fn all_entries<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<Vec<LedgerEntry>> {
    all(
        c,
        &format!("{LEDGER_SELECT} WHERE customer_id = $1 ORDER BY seq"),
        &[&customer.0],
        |r| rows::ledger_entry(r),
    )
}

pub(crate) fn balance<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<i64> {
    Ok(query_opt(
        c,
        "SELECT balance FROM points_balances WHERE customer_id = $1",
        &[&customer.0],
    )?
    .map(|r| col(&r, 0))
    .transpose()?
    .unwrap_or(0))
}

/// Lock the customer's balance row (creating it at zero when missing) and read the balance.
pub(crate) fn lock_balance<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<i64> {
    c.execute(
        "INSERT INTO points_balances (customer_id, balance) VALUES ($1, 0) ON CONFLICT (customer_id) DO NOTHING",
        &[&customer.0],
    )
    .be()?;
    let r = c
        .query_one(
            "SELECT balance FROM points_balances WHERE customer_id = $1 FOR UPDATE",
            &[&customer.0],
        )
        .be()?;
    col(&r, 0)
}

/// The entry a sale earned or a refund reversed, if any.
pub(crate) fn entry_for_transaction<C: GenericClient>(c: &mut C, t: TransactionId) -> Result<Option<LedgerEntry>> {
    // One look-up per kind: each has its own partial unique index.
    match one_entry(c, "transaction_id = $1 AND kind = 'earn'", &[&t.0])? {
        Some(e) => Ok(Some(e)),
        None => one_entry(c, "transaction_id = $1 AND kind = 'reverse'", &[&t.0]),
    }
}

/// Append an entry and set the customer's (locked) balance to its `balance_after`.
pub(crate) fn write_entry<C: GenericClient>(c: &mut C, e: &NewLedgerEntry<'_>) -> Result<LedgerEntry> {
    let r = c
        .query_one(
            "INSERT INTO points_ledger (customer_id, kind, points, balance_after, reason, idempotency_key, transaction_id,
                branch_id, actor, origin, at, breakdown, available_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING seq",
            &[
                &e.customer.0,
                &e.posting.kind.as_str(),
                &e.posting.points,
                &e.posting.balance_after,
                &e.reason,
                &e.idempotency_key,
                &e.transaction.map(|t| t.0),
                &e.branch.map(|b| b.0),
                &e.actor.who,
                &e.actor.origin,
                &e.actor.at,
                &kesher_loyalty::member::breakdown_json(&e.breakdown),
                &e.available_at,
            ],
        )
        .be()?;
    c.execute(
        "INSERT INTO points_balances (customer_id, balance) VALUES ($1, $2)
         ON CONFLICT (customer_id) DO UPDATE SET balance = EXCLUDED.balance",
        &[&e.customer.0, &e.posting.balance_after],
    )
    .be()?;
    Ok(e.stored(col(&r, 0)?))
}

pub(crate) fn load_rule<C: GenericClient>(c: &mut C) -> Result<EarningRule> {
    let mut rule = EarningRule::new();
    for r in c
        .query(
            "SELECT currency, points, per_minor FROM points_rules ORDER BY currency",
            &[],
        )
        .be()?
    {
        let cur: String = col(&r, 0)?;
        let (k, rate) = stored_rate(&cur, col(&r, 1)?, col(&r, 2)?)?;
        rule.set(k, Some(rate));
    }
    Ok(rule)
}

/// What the other refunds of `sale` took back so far, `refund` left out.
pub(crate) fn refund_facts<C: GenericClient>(
    c: &mut C,
    sale: TransactionId,
    refund: TransactionId,
) -> Result<RefundFacts> {
    let r = c
        .query_one(
            "SELECT o.total, coalesce((SELECT sum(-r.total) FROM transactions r WHERE r.refund_of = o.id AND r.id <> $2), 0)::bigint,
                coalesce((SELECT sum(-l.points) FROM transactions r
                          JOIN points_ledger l ON l.transaction_id = r.id AND l.kind = 'reverse' WHERE r.refund_of = o.id), 0)::bigint
             FROM transactions o WHERE o.id = $1",
            &[&sale.0, &refund.0],
        )
        .be()?;
    Ok(RefundFacts {
        sale_total: col(&r, 0)?,
        refunded_before: col(&r, 1)?,
        reversed_before: col(&r, 2)?,
    })
}

/// The scope as query parameters: the instant of `Since`, the ids of `Only` (`$1`, `$2` of
/// [`SCOPE_FILTER`]).
fn scope_params(scope: SaleScope<'_>) -> (Option<Timestamp>, Option<Vec<Uuid>>) {
    match scope {
        SaleScope::Since(s) => (s, None),
        SaleScope::Only(ids) => (None, Some(ids.iter().map(|t| t.0).collect())),
    }
}

const SCOPE_FILTER: &str =
    "($1::timestamptz IS NULL OR t.occurred_at >= $1) AND ($2::uuid[] IS NULL OR t.id = ANY($2))";

/// Lock, in customer order, the balance rows of the customers of sales `ids` (created empty
/// when missing), for the rest of the transaction: an award over only these sales (an import's)
/// then writes their balances without `LOCK TABLE`, and a sale for another customer beside it
/// does not wait. A unit that holds the table lock already loses nothing by it.
fn lock_scope_balances<C: GenericClient>(c: &mut C, ids: &[Uuid]) -> Result<()> {
    c.execute(
        "INSERT INTO points_balances (customer_id, balance)
         SELECT DISTINCT customer_id, 0 FROM transactions WHERE id = ANY($1) AND customer_id IS NOT NULL
         ORDER BY 1 ON CONFLICT (customer_id) DO NOTHING",
        &[&ids],
    )
    .be()?;
    c.execute(
        "SELECT 1 FROM points_balances WHERE customer_id IN
         (SELECT customer_id FROM transactions WHERE id = ANY($1) AND customer_id IS NOT NULL)
         ORDER BY customer_id FOR UPDATE",
        &[&ids],
    )
    .be()?;
    Ok(())
}

/// A page of sales that have not earned yet (`PointsRows::unearned_sales`).
pub(crate) fn unearned_sales<C: GenericClient>(
    c: &mut C,
    scope: SaleScope<'_>,
    after: Option<&UnearnedSale>,
    limit: usize,
) -> Result<Vec<UnearnedSale>> {
    let (since, ids) = scope_params(scope);
    if after.is_none()
        && let Some(ids) = &ids
    {
        lock_scope_balances(c, ids)?;
    }
    let key = after.map(|a| (a.customer.0, a.occurred_at, a.id.0));
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    // Two statements rather than `$3 IS NULL OR …`: the keyset's range must reach the planner
    // for it to walk the (customer, time) index instead of sorting what is left each page.
    let keyset = if after.is_some() {
        "AND (t.customer_id, t.occurred_at, t.id) > ($3, $4, $5)"
    } else {
        "AND $3::uuid IS NULL AND $4::timestamptz IS NULL AND $5::uuid IS NULL"
    };
    let rows = c
        .query(
            &format!(
                "SELECT t.id, t.customer_id, t.branch_id, t.occurred_at, t.currency, t.total, coalesce(b.balance, 0)
                 FROM transactions t LEFT JOIN points_balances b ON b.customer_id = t.customer_id
                 WHERE t.customer_id IS NOT NULL AND t.refund_of IS NULL AND {SCOPE_FILTER} {keyset}
                   AND t.currency IN (SELECT currency FROM points_rules)
                   AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'earn')
                 ORDER BY t.customer_id, t.occurred_at, t.id LIMIT $6"
            ),
            &[
                &since,
                &ids,
                &key.map(|k| k.0),
                &key.map(|k| k.1),
                &key.map(|k| k.2),
                &limit,
            ],
        )
        .be()?;
    let mut currency: Option<Currency> = None;
    rows.iter()
        .map(|r| {
            let code: String = col(r, 4)?;
            let cur = match currency {
                Some(k) if k.as_str() == code => k,
                _ => {
                    let k = Currency::from_stored(&code)
                        .map_err(|e| StoreError::Backend(format!("stored currency: {e}")))?;
                    currency = Some(k);
                    k
                }
            };
            Ok(UnearnedSale {
                id: TransactionId(col(r, 0)?),
                customer: CustomerId(col(r, 1)?),
                branch: BranchId(col(r, 2)?),
                occurred_at: col(r, 3)?,
                currency: cur,
                total: col(r, 5)?,
                balance: col(r, 6)?,
                position: 0,
            })
        })
        .collect()
}

/// The refunds in scope whose sale earned and that have not been reversed yet.
pub(crate) fn unreversed_refunds<C: GenericClient>(c: &mut C, scope: SaleScope<'_>) -> Result<Vec<UnreversedRefund>> {
    let (since, ids) = scope_params(scope);
    c.query(
        &format!(
            "SELECT t.id, t.refund_of, t.total, t.branch_id FROM transactions t
             WHERE t.refund_of IS NOT NULL AND {SCOPE_FILTER}
               AND EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.refund_of AND l.kind = 'earn')
               AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'reverse')
             ORDER BY t.occurred_at, t.id"
        ),
        &[&since, &ids],
    )
    .be()?
    .iter()
    .map(|r| {
        Ok(UnreversedRefund {
            id: TransactionId(col(r, 0)?),
            sale: TransactionId(col(r, 1)?),
            total: col(r, 2)?,
            branch: BranchId(col(r, 3)?),
        })
    })
    .collect()
}

/// Entries written per statement by [`write_entries`].
const ENTRY_BATCH: usize = 4096;

/// Append entries in order (in statements of `ENTRY_BATCH`), then set each customer's balance
/// to its last entry's.
pub(crate) fn write_entries<C: GenericClient>(c: &mut C, entries: &[NewLedgerEntry<'_>]) -> Result<()> {
    // The bulk path (the award) writes entries available at once; pending ones go one by one.
    if entries.iter().any(|e| e.available_at.is_some()) {
        for e in entries {
            write_entry(c, e)?;
        }
        return Ok(());
    }
    let mut last: Vec<(Uuid, i64)> = Vec::new();
    for chunk in entries.chunks(ENTRY_BATCH) {
        let mut cols = EntryColumns::default();
        for e in chunk {
            cols.push(e);
            match last.last_mut() {
                Some((c, b)) if *c == e.customer.0 => *b = e.posting.balance_after,
                _ => last.push((e.customer.0, e.posting.balance_after)),
            }
        }
        c.execute(
            "INSERT INTO points_ledger (customer_id, kind, points, balance_after, reason, idempotency_key, transaction_id,
                branch_id, actor, origin, at, breakdown)
             SELECT u.c, u.k, u.p, u.b, u.r, u.key, u.t, u.br, u.who, u.origin, u.at, u.parts
             FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::uuid[],
                         $8::uuid[], $9::text[], $10::text[], $11::timestamptz[], $12::text[])
                  WITH ORDINALITY AS u(c, k, p, b, r, key, t, br, who, origin, at, parts, n)
             ORDER BY u.n",
            &[
                &cols.customers,
                &cols.kinds,
                &cols.points,
                &cols.balances,
                &cols.reasons,
                &cols.keys,
                &cols.transactions,
                &cols.branches,
                &cols.actors,
                &cols.origins,
                &cols.ats,
                &cols.breakdowns,
            ],
        )
        .be()?;
    }
    // A customer may appear in more than one run of entries: the last one written wins.
    let mut balances: std::collections::HashMap<Uuid, i64> = std::collections::HashMap::new();
    for (customer, balance) in last {
        balances.insert(customer, balance);
    }
    let (ids, bals): (Vec<Uuid>, Vec<i64>) = balances.into_iter().unzip();
    for (ids, bals) in ids.chunks(ENTRY_BATCH).zip(bals.chunks(ENTRY_BATCH)) {
        c.execute(
            "INSERT INTO points_balances (customer_id, balance) SELECT * FROM unnest($1::uuid[], $2::bigint[])
             ON CONFLICT (customer_id) DO UPDATE SET balance = EXCLUDED.balance",
            &[&ids, &bals],
        )
        .be()?;
    }
    Ok(())
}

/// Entries as columns, for one `unnest` statement.
#[derive(Default)]
struct EntryColumns {
    customers: Vec<Uuid>,
    kinds: Vec<&'static str>,
    points: Vec<i64>,
    balances: Vec<i64>,
    reasons: Vec<Option<String>>,
    keys: Vec<Option<String>>,
    transactions: Vec<Option<Uuid>>,
    branches: Vec<Option<Uuid>>,
    actors: Vec<String>,
    origins: Vec<Option<String>>,
    ats: Vec<Timestamp>,
    breakdowns: Vec<Option<String>>,
}

impl EntryColumns {
    fn push(&mut self, e: &NewLedgerEntry<'_>) {
        self.customers.push(e.customer.0);
        self.kinds.push(e.posting.kind.as_str());
        self.points.push(e.posting.points);
        self.balances.push(e.posting.balance_after);
        self.reasons.push(e.reason.map(str::to_string));
        self.keys.push(e.idempotency_key.map(str::to_string));
        self.transactions.push(e.transaction.map(|t| t.0));
        self.branches.push(e.branch.map(|b| b.0));
        self.actors.push(e.actor.who.clone());
        self.origins.push(e.actor.origin.clone());
        self.ats.push(e.actor.at);
        self.breakdowns
            .push(kesher_loyalty::member::breakdown_json(&e.breakdown));
    }
}

pub(crate) fn require_customer<C: GenericClient>(c: &mut C, id: CustomerId) -> Result<()> {
    if query_opt(c, "SELECT 1 FROM customers WHERE id = $1", &[&id.0])?.is_some() {
        Ok(())
    } else {
        Err(StoreError::not_found("customer", id))
    }
}

impl kesher_store::Points for PgStore {
    fn earning_rule(&self) -> Result<EarningRule> {
        self.with(load_rule)
    }

    fn points_balance(&self, customer: CustomerId) -> Result<i64> {
        self.with(|c| {
            require_customer(c, customer)?;
            balance(c, customer)
        })
    }

    fn points_ledger(&self, customer: CustomerId, limit: u32, offset: u64) -> Result<Page<LedgerEntry>> {
        let (l, o) = (i64::from(limit), i64::try_from(offset).unwrap_or(i64::MAX));
        self.with(|c| {
            require_customer(c, customer)?;
            let items = all(
                c,
                &format!("{LEDGER_SELECT} WHERE customer_id = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3"),
                &[&customer.0, &l, &o],
                |r| rows::ledger_entry(r),
            )?;
            Ok(Page {
                items,
                total: count_entries(c, customer)?,
                limit,
                offset,
                total_capped: false,
            })
        })
    }

    fn points_entries(&self, customer: CustomerId) -> Result<Vec<LedgerEntry>> {
        self.with(|c| {
            require_customer(c, customer)?;
            all_entries(c, customer)
        })
    }

    fn customers_with_lots_before(
        &self,
        cutoff: Timestamp,
        after: Option<CustomerId>,
        limit: usize,
    ) -> Result<Vec<CustomerId>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            let rows = c
                .query(
                    "SELECT b.customer_id FROM points_balances b
                     WHERE b.balance > 0 AND ($1::uuid IS NULL OR b.customer_id > $1)
                       AND EXISTS (SELECT 1 FROM points_ledger l
                                   WHERE l.customer_id = b.customer_id AND l.points > 0 AND l.at <= $2)
                     ORDER BY b.customer_id LIMIT $3",
                    &[&after.map(|a| a.0), &cutoff, &limit],
                )
                .be()?;
            rows.iter().map(|r| Ok(CustomerId(col::<Uuid>(r, 0)?))).collect()
        })
    }

    fn points_totals(&self) -> Result<PointsTotals> {
        self.with(|c| {
            let r = c
                .query_one(
                    "SELECT count(*), greatest(least(coalesce(sum(balance), 0), 9223372036854775807), -9223372036854775808)::bigint
                     FROM points_balances WHERE balance <> 0",
                    &[],
                )
                .be()?;
            let customers: i64 = col(&r, 0)?;
            let by_kind = c
                .query(
                    "SELECT kind, count(*), greatest(least(coalesce(sum(points), 0), 9223372036854775807), -9223372036854775808)::bigint
                     FROM points_ledger GROUP BY kind ORDER BY kind",
                    &[],
                )
                .be()?
                .iter()
                .map(|r| {
                    let k: String = col(r, 0)?;
                    let n: i64 = col(r, 1)?;
                    Ok((stored_kind(&k)?, u64::try_from(n).unwrap_or(0), col(r, 2)?))
                })
                .collect::<Result<_>>()?;
            Ok(PointsTotals {
                customers: u64::try_from(customers).unwrap_or(0),
                outstanding: col(&r, 1)?,
                by_kind,
            })
        })
    }
}
