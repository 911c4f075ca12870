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
use crate::convert::{Ctx, col, count, query_opt};
use jiff::Timestamp;
use kesher_core::{BranchId, Currency, CustomerId, Transaction, TransactionId};
use kesher_loyalty::{EarningRule, EntryKind, LedgerEntry, Posting, Refund};
use kesher_store::points::{
    loyalty_error, points_audit, request_key, retried, rule_audit_json, stored_kind, stored_rate,
};
use kesher_store::{Actor, AwardReport, Page, PointsRequest, PointsTotals, Recorded, Result, StoreError};
use postgres::{GenericClient, Row};
use uuid::Uuid;

const LEDGER_SELECT: &str = "SELECT seq, customer_id, kind, points, balance_after, reason, idempotency_key,
    transaction_id, branch_id, actor, origin, at FROM points_ledger";

fn entry(r: &Row) -> Result<LedgerEntry> {
    let kind: String = col(r, 2)?;
    Ok(LedgerEntry {
        seq: col(r, 0)?,
        customer_id: CustomerId(col(r, 1)?),
        kind: stored_kind(&kind)?,
        points: col(r, 3)?,
        balance_after: col(r, 4)?,
        reason: col(r, 5)?,
        idempotency_key: col(r, 6)?,
        transaction_id: col::<Option<Uuid>>(r, 7)?.map(TransactionId),
        branch_id: col::<Option<Uuid>>(r, 8)?.map(BranchId),
        actor: col(r, 9)?,
        origin: col(r, 10)?,
        at: col(r, 11)?,
    })
}

fn one_entry<C: GenericClient>(
    c: &mut C,
    cond: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> Result<Option<LedgerEntry>> {
    query_opt(c, &format!("{LEDGER_SELECT} WHERE {cond}"), params)?
        .map(|r| entry(&r))
        .transpose()
}

pub(crate) fn count_entries<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<u64> {
    count(
        c,
        "SELECT count(*) FROM points_ledger WHERE customer_id = $1",
        &[&customer.0],
    )
}

fn balance<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<i64> {
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
fn lock_balance<C: GenericClient>(c: &mut C, customer: CustomerId) -> Result<i64> {
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
    one_entry(c, "transaction_id = $1 AND kind IN ('earn', 'reverse')", &[&t.0])
}

struct NewEntry<'a> {
    customer: CustomerId,
    posting: Posting,
    reason: Option<&'a str>,
    key: Option<&'a str>,
    transaction: Option<TransactionId>,
    branch: Option<BranchId>,
    actor: &'a Actor,
}

/// Append an entry and set the customer's (locked) balance to its `balance_after`.
fn write_entry<C: GenericClient>(c: &mut C, e: &NewEntry<'_>) -> Result<LedgerEntry> {
    let r = c
        .query_one(
            "INSERT INTO points_ledger (customer_id, kind, points, balance_after, reason, idempotency_key, transaction_id,
                branch_id, actor, origin, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING seq",
            &[
                &e.customer.0,
                &e.posting.kind.as_str(),
                &e.posting.points,
                &e.posting.balance_after,
                &e.reason,
                &e.key,
                &e.transaction.map(|t| t.0),
                &e.branch.map(|b| b.0),
                &e.actor.who,
                &e.actor.origin,
                &e.actor.at,
            ],
        )
        .be()?;
    c.execute(
        "INSERT INTO points_balances (customer_id, balance) VALUES ($1, $2)
         ON CONFLICT (customer_id) DO UPDATE SET balance = EXCLUDED.balance",
        &[&e.customer.0, &e.posting.balance_after],
    )
    .be()?;
    Ok(LedgerEntry {
        seq: col(&r, 0)?,
        customer_id: e.customer,
        kind: e.posting.kind,
        points: e.posting.points,
        balance_after: e.posting.balance_after,
        reason: e.reason.map(str::to_string),
        idempotency_key: e.key.map(str::to_string),
        transaction_id: e.transaction,
        branch_id: e.branch,
        actor: e.actor.who.clone(),
        origin: e.actor.origin.clone(),
        at: e.actor.at,
    })
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

/// What a just-recorded sale earns, or a refund takes back: the entry written, if any. Runs in
/// the sale's own database transaction.
pub(crate) fn accrue<C: GenericClient>(c: &mut C, t: &Transaction, actor: &Actor) -> Result<Option<LedgerEntry>> {
    let total = t.total().ok_or_else(|| {
        StoreError::invalid_coded(
            "transaction.total.overflow",
            "lines",
            kesher_core::Params::new(),
            "transaction total overflows",
        )
    })?;
    match t.refund_of {
        None => {
            let Some(customer) = t.customer_id else {
                return Ok(None);
            };
            let rule = load_rule(c)?;
            if rule.points_for(t.currency, total).map_err(loyalty_error)? == 0 {
                return Ok(None);
            }
            let bal = lock_balance(c, customer)?;
            let Some(posting) = kesher_loyalty::earn(&rule, t.currency, total, bal).map_err(loyalty_error)? else {
                return Ok(None);
            };
            write_entry(
                c,
                &NewEntry {
                    customer,
                    posting,
                    reason: None,
                    key: None,
                    transaction: Some(t.id),
                    branch: Some(t.branch_id),
                    actor,
                },
            )
            .map(Some)
        }
        Some(original) => reverse(c, t.id, original, total, t.branch_id, actor),
    }
}

/// A refund's reversal: its share of what the original sale earned, taken from whoever holds
/// that sale's points now (the earn entry's customer: a merge moves it).
fn reverse<C: GenericClient>(
    c: &mut C,
    refund: TransactionId,
    original: TransactionId,
    refund_total: i64,
    branch: BranchId,
    actor: &Actor,
) -> Result<Option<LedgerEntry>> {
    let Some(r) = query_opt(
        c,
        "SELECT customer_id, points FROM points_ledger WHERE transaction_id = $1 AND kind = 'earn'",
        &[&original.0],
    )?
    else {
        return Ok(None);
    };
    let customer = CustomerId(col(&r, 0)?);
    let earned: i64 = col(&r, 1)?;
    // Lock first: the other refunds of the sale and their reversals are read after it.
    let bal = lock_balance(c, customer)?;
    let r = c
        .query_one(
            "SELECT o.total, coalesce((SELECT sum(-r.total) FROM transactions r WHERE r.refund_of = o.id AND r.id <> $2), 0)::bigint,
                coalesce((SELECT sum(-l.points) FROM transactions r
                          JOIN points_ledger l ON l.transaction_id = r.id AND l.kind = 'reverse' WHERE r.refund_of = o.id), 0)::bigint
             FROM transactions o WHERE o.id = $1",
            &[&original.0, &refund.0],
        )
        .be()?;
    let facts = Refund {
        earned,
        sale_total: col(&r, 0)?,
        refunded_before: col(&r, 1)?,
        reversed_before: col(&r, 2)?,
        amount: refund_total.saturating_neg(),
    };
    let Some(posting) = kesher_loyalty::reverse(&facts, bal).map_err(loyalty_error)? else {
        return Ok(None);
    };
    write_entry(
        c,
        &NewEntry {
            customer,
            posting,
            reason: None,
            key: None,
            transaction: Some(refund),
            branch: Some(branch),
            actor,
        },
    )
    .map(Some)
}

/// Which sales `award` looks at.
pub(crate) enum Scope<'a> {
    /// Every sale (at or after the instant, when given).
    Since(Option<Timestamp>),
    /// These transactions only (an import unit's).
    Only(&'a [TransactionId]),
}

/// Entries written per statement by the bulk award.
const AWARD_BATCH: usize = 4096;

/// Earn for every sale in scope that has not earned yet, customer by customer in time order,
/// then reverse for the refunds in scope whose sale earned. Runs in the caller's transaction.
pub(crate) fn award<C: GenericClient>(c: &mut C, scope: Scope<'_>, actor: &Actor) -> Result<AwardReport> {
    let rule = load_rule(c)?;
    let mut report = AwardReport::default();
    if rule.is_empty() {
        return Ok(report);
    }
    // Redemptions wait until this transaction ends; reads go on.
    c.batch_execute("LOCK TABLE points_balances IN EXCLUSIVE MODE").be()?;
    let (since, ids): (Option<Timestamp>, Option<Vec<Uuid>>) = match scope {
        Scope::Since(s) => (s, None),
        Scope::Only(ids) => (None, Some(ids.iter().map(|t| t.0).collect())),
    };
    let filter = "($1::timestamptz IS NULL OR t.occurred_at >= $1) AND ($2::uuid[] IS NULL OR t.id = ANY($2))";
    let rows = c
        .query(
            &format!(
                "SELECT t.id, t.customer_id, t.branch_id, t.currency, t.total, coalesce(b.balance, 0)
                 FROM transactions t LEFT JOIN points_balances b ON b.customer_id = t.customer_id
                 WHERE t.customer_id IS NOT NULL AND t.refund_of IS NULL AND {filter}
                   AND t.currency IN (SELECT currency FROM points_rules)
                   AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'earn')
                 ORDER BY t.customer_id, t.occurred_at, t.id"
            ),
            &[&since, &ids],
        )
        .be()?;
    let mut batch = Batch::default();
    let mut balances: Vec<(Uuid, i64)> = Vec::new();
    let mut current: Option<(Uuid, i64)> = None;
    let mut currency: Option<Currency> = None;
    for r in &rows {
        let customer: Uuid = col(r, 1)?;
        let code: String = col(r, 3)?;
        let cur = match currency {
            Some(k) if k.as_str() == code => k,
            _ => {
                let k = Currency::parse(&code).map_err(|e| StoreError::Backend(format!("stored currency: {e}")))?;
                currency = Some(k);
                k
            }
        };
        let bal = match current {
            Some((id, b)) if id == customer => b,
            _ => col(r, 5)?,
        };
        let Some(posting) = kesher_loyalty::earn(&rule, cur, col(r, 4)?, bal).map_err(loyalty_error)? else {
            continue;
        };
        if let Some((prev, b)) = current
            && prev != customer
        {
            balances.push((prev, b));
        }
        current = Some((customer, posting.balance_after));
        batch.push(customer, posting, col(r, 0)?, col(r, 2)?);
        report.earned += 1;
        report.points = report.points.saturating_add(posting.points);
        if batch.len() >= AWARD_BATCH {
            batch.write(c, actor)?;
        }
    }
    drop(rows);
    batch.write(c, actor)?;
    if let Some(last) = current {
        balances.push(last);
    }
    for chunk in balances.chunks(AWARD_BATCH) {
        let (ids, bals): (Vec<Uuid>, Vec<i64>) = chunk.iter().copied().unzip();
        c.execute(
            "INSERT INTO points_balances (customer_id, balance) SELECT * FROM unnest($1::uuid[], $2::bigint[])
             ON CONFLICT (customer_id) DO UPDATE SET balance = EXCLUDED.balance",
            &[&ids, &bals],
        )
        .be()?;
    }
    // Refunds whose sale earned and that have not been reversed yet: few, one at a time.
    let refunds = c
        .query(
            &format!(
                "SELECT t.id, t.refund_of, t.total, t.branch_id FROM transactions t
                 WHERE t.refund_of IS NOT NULL AND {filter}
                   AND EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.refund_of AND l.kind = 'earn')
                   AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'reverse')
                 ORDER BY t.occurred_at, t.id"
            ),
            &[&since, &ids],
        )
        .be()?;
    for r in &refunds {
        let id = TransactionId(col(r, 0)?);
        let orig = TransactionId(col(r, 1)?);
        if let Some(e) = reverse(c, id, orig, col(r, 2)?, BranchId(col(r, 3)?), actor)? {
            report.reversed += 1;
            report.points = report.points.saturating_add(e.points);
        }
    }
    Ok(report)
}

/// Earn entries waiting to be written in one statement.
#[derive(Default)]
struct Batch {
    customers: Vec<Uuid>,
    points: Vec<i64>,
    balances: Vec<i64>,
    transactions: Vec<Uuid>,
    branches: Vec<Uuid>,
}

impl Batch {
    fn len(&self) -> usize {
        self.customers.len()
    }
    fn push(&mut self, customer: Uuid, p: Posting, txn: Uuid, branch: Uuid) {
        self.customers.push(customer);
        self.points.push(p.points);
        self.balances.push(p.balance_after);
        self.transactions.push(txn);
        self.branches.push(branch);
    }
    fn write<C: GenericClient>(&mut self, c: &mut C, actor: &Actor) -> Result<()> {
        if self.customers.is_empty() {
            return Ok(());
        }
        c.execute(
            "INSERT INTO points_ledger (customer_id, kind, points, balance_after, transaction_id, branch_id, actor, origin, at)
             SELECT u.c, 'earn', u.p, u.b, u.t, u.br, $6, $7, $8
             FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::uuid[], $5::uuid[]) WITH ORDINALITY AS u(c, p, b, t, br, n)
             ORDER BY u.n",
            &[
                &self.customers,
                &self.points,
                &self.balances,
                &self.transactions,
                &self.branches,
                &actor.who,
                &actor.origin,
                &actor.at,
            ],
        )
        .be()?;
        *self = Batch::default();
        Ok(())
    }
}

/// Move the dropped customer's entries and balance to the kept one, with a `merge` entry when
/// the dropped customer had any; returns the points moved. Both balance rows are locked in id
/// order (the customers are locked already).
pub(crate) fn merge<C: GenericClient>(c: &mut C, keep: CustomerId, drop: CustomerId, actor: &Actor) -> Result<i64> {
    if count_entries(c, drop)? == 0 {
        return Ok(0);
    }
    let (first, second) = if keep < drop { (keep, drop) } else { (drop, keep) };
    let a = lock_balance(c, first)?;
    let b = lock_balance(c, second)?;
    let (kept_bal, dropped_bal) = if first == keep { (a, b) } else { (b, a) };
    c.execute(
        "UPDATE points_ledger SET customer_id = $1 WHERE customer_id = $2",
        &[&keep.0, &drop.0],
    )
    .be()?;
    c.execute("DELETE FROM points_balances WHERE customer_id = $1", &[&drop.0])
        .be()?;
    let posting = kesher_loyalty::merge(kept_bal, dropped_bal).map_err(loyalty_error)?;
    let reason = format!("merged customer {drop} ({dropped_bal} points)");
    write_entry(
        c,
        &NewEntry {
            customer: keep,
            posting,
            reason: Some(&reason),
            key: None,
            transaction: None,
            branch: None,
            actor,
        },
    )?;
    Ok(dropped_bal)
}

fn require_customer<C: GenericClient>(c: &mut C, id: CustomerId) -> Result<()> {
    if query_opt(c, "SELECT 1 FROM customers WHERE id = $1", &[&id.0])?.is_some() {
        Ok(())
    } else {
        Err(StoreError::not_found("customer", id))
    }
}

/// A redemption or adjustment, decided and written under the customer's balance lock, audited
/// in the same transaction; a retry with the same key returns the first entry.
fn spend_or_adjust<C: GenericClient>(
    c: &mut C,
    kind: EntryKind,
    customer: CustomerId,
    req: &PointsRequest,
    actor: &Actor,
) -> Result<Recorded<LedgerEntry>> {
    let key = request_key(req, kind == EntryKind::Redeem)?;
    require_customer(c, customer)?;
    let bal = lock_balance(c, customer)?;
    if let Some(k) = &key
        && let Some(existing) = one_entry(c, "customer_id = $1 AND idempotency_key = $2", &[&customer.0, k])?
    {
        let points = if kind == EntryKind::Redeem {
            -req.points
        } else {
            req.points
        };
        return retried(existing, kind, points);
    }
    let (posting, reason) =
        kesher_loyalty::spend_or_adjust(kind, bal, req.points, req.reason.as_deref()).map_err(loyalty_error)?;
    let e = write_entry(
        c,
        &NewEntry {
            customer,
            posting,
            reason: reason.as_deref(),
            key: key.as_deref(),
            transaction: None,
            branch: req.branch_id,
            actor,
        },
    )?;
    let (action, before, after) = points_audit(&e);
    crate::audit(
        c,
        actor,
        &action,
        "customer",
        &customer.to_string(),
        Some(&before),
        Some(&after),
    )?;
    Ok(Recorded {
        value: e,
        created: true,
    })
}

impl kesher_store::Points for PgStore {
    fn earning_rule(&self) -> Result<EarningRule> {
        self.with(load_rule)
    }

    fn set_earning_rule(&self, rule: &EarningRule, actor: &Actor) -> Result<()> {
        self.in_tx(|tx| {
            // One rule change at a time: the before of the audit entry is the rule replaced.
            tx.batch_execute("LOCK TABLE points_rules IN EXCLUSIVE MODE").be()?;
            let before = load_rule(tx)?;
            tx.execute("DELETE FROM points_rules", &[]).be()?;
            for (cur, r) in rule.rates() {
                tx.execute(
                    "INSERT INTO points_rules (currency, points, per_minor) VALUES ($1, $2, $3)",
                    &[&cur.as_str(), &r.points(), &r.per_minor()],
                )
                .be()?;
            }
            crate::audit(
                tx,
                actor,
                "points.rule",
                "points_rule",
                "earning",
                Some(&rule_audit_json(&before)),
                Some(&rule_audit_json(rule)),
            )
        })
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
            let items = c
                .query(
                    &format!("{LEDGER_SELECT} WHERE customer_id = $1 ORDER BY seq DESC LIMIT $2 OFFSET $3"),
                    &[&customer.0, &l, &o],
                )
                .be()?
                .iter()
                .map(entry)
                .collect::<Result<_>>()?;
            Ok(Page {
                items,
                total: count_entries(c, customer)?,
                limit,
                offset,
            })
        })
    }

    fn redeem_points(&self, customer: CustomerId, req: &PointsRequest, actor: &Actor) -> Result<Recorded<LedgerEntry>> {
        self.in_tx(|tx| spend_or_adjust(tx, EntryKind::Redeem, customer, req, actor))
    }

    fn adjust_points(&self, customer: CustomerId, req: &PointsRequest, actor: &Actor) -> Result<Recorded<LedgerEntry>> {
        self.in_tx(|tx| spend_or_adjust(tx, EntryKind::Adjust, customer, req, actor))
    }

    fn award_points(&self, since: Option<Timestamp>, actor: &Actor) -> Result<AwardReport> {
        self.in_tx(|tx| award(tx, Scope::Since(since), actor))
    }

    fn points_totals(&self) -> Result<PointsTotals> {
        self.with(|c| {
            let r = c
                .query_one(
                    "SELECT count(*), coalesce(sum(balance), 0)::bigint FROM points_balances WHERE balance <> 0",
                    &[],
                )
                .be()?;
            let customers: i64 = col(&r, 0)?;
            let by_kind = c
                .query(
                    "SELECT kind, count(*), coalesce(sum(points), 0)::bigint FROM points_ledger GROUP BY kind ORDER BY kind",
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
