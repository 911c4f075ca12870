//! The points ledger on SQLite. Every write that reads a balance runs in a transaction begun
//! `IMMEDIATE`: the write lock is taken before the balance is read, so no other writer (another
//! process on the same file; in this process the writer connection's mutex already serialises)
//! can slip a redemption in between the check and the entry. The unique indexes of migration 8
//! keep one accrual per sale and one entry per idempotency key whatever the callers do.

use crate::convert::{Ctx, blob16};
use crate::{from_ts, ts};
use kesher_core::{BranchId, CustomerId, Transaction, TransactionId};
use kesher_loyalty::{EarningRule, EntryKind, LedgerEntry, Posting, Refund};
use kesher_store::points::{loyalty_error, stored_kind, stored_rate};
use kesher_store::{Actor, AwardReport, PointsTotals, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};

pub(crate) const LEDGER_SELECT: &str = "SELECT seq, customer_id, kind, points, balance_after, reason, idempotency_key,
    transaction_id, branch_id, actor, origin, at FROM points_ledger";

type RawEntry = (
    i64,
    Vec<u8>,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    String,
    Option<String>,
    i64,
);

fn raw_entry(r: &Row) -> rusqlite::Result<RawEntry> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
    ))
}

fn entry(raw: RawEntry) -> Result<LedgerEntry> {
    let (seq, cust, kind, points, balance_after, reason, key, txn, branch, actor, origin, at) = raw;
    Ok(LedgerEntry {
        seq,
        customer_id: CustomerId::from_bytes(blob16(&cust)?),
        kind: stored_kind(&kind)?,
        points,
        balance_after,
        reason,
        idempotency_key: key,
        transaction_id: txn.map(|t| blob16(&t).map(TransactionId::from_bytes)).transpose()?,
        branch_id: branch.map(|b| blob16(&b).map(BranchId::from_bytes)).transpose()?,
        actor,
        origin,
        at: from_ts(at)?,
    })
}

fn one_entry(c: &Connection, cond: &str, p: impl rusqlite::Params) -> Result<Option<LedgerEntry>> {
    c.prepare_cached(&format!("{LEDGER_SELECT} WHERE {cond}"))
        .be()?
        .query_row(p, raw_entry)
        .optional()
        .be()?
        .map(entry)
        .transpose()
}

pub(crate) fn entries(c: &Connection, customer: CustomerId, limit: u32, offset: u64) -> Result<Vec<LedgerEntry>> {
    let mut st = c
        .prepare_cached(&format!(
            "{LEDGER_SELECT} WHERE customer_id = ?1 ORDER BY seq DESC LIMIT ?2 OFFSET ?3"
        ))
        .be()?;
    let raws: Vec<RawEntry> = st
        .query_map(params![customer.as_bytes(), limit, offset as i64], raw_entry)
        .be()?
        .collect::<rusqlite::Result<_>>()
        .be()?;
    raws.into_iter().map(entry).collect()
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
    one_entry(c, "transaction_id = ?1 AND kind IN ('earn', 'reverse')", [t.as_bytes()])
}

/// An entry to write, with the posting a decision made.
pub(crate) struct NewEntry<'a> {
    pub customer: CustomerId,
    pub posting: Posting,
    pub reason: Option<&'a str>,
    pub key: Option<&'a str>,
    pub transaction: Option<TransactionId>,
    pub branch: Option<BranchId>,
    pub actor: &'a Actor,
}

/// Append an entry and set the customer's balance to its `balance_after`.
pub(crate) fn write_entry(c: &Connection, e: &NewEntry<'_>) -> Result<LedgerEntry> {
    c.prepare_cached(
        "INSERT INTO points_ledger (customer_id, kind, points, balance_after, reason, idempotency_key, transaction_id,
            branch_id, actor, origin, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .be()?
    .execute(params![
        e.customer.as_bytes(),
        e.posting.kind.as_str(),
        e.posting.points,
        e.posting.balance_after,
        e.reason,
        e.key,
        e.transaction.map(|t| t.as_bytes().to_vec()),
        e.branch.map(|b| b.as_bytes().to_vec()),
        e.actor.who,
        e.actor.origin,
        ts(e.actor.at),
    ])
    .be()?;
    let seq = c.last_insert_rowid();
    set_balance(c, e.customer, e.posting.balance_after)?;
    Ok(LedgerEntry {
        seq,
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

/// What a just-recorded sale earns, or a refund takes back: the entry written, if any. Runs in
/// the sale's own database transaction.
pub(crate) fn accrue(
    c: &Connection,
    rule: &EarningRule,
    t: &Transaction,
    actor: &Actor,
) -> Result<Option<LedgerEntry>> {
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
            earn(c, rule, customer, t.id, t.branch_id, t.currency, total, actor)
        }
        Some(original) => reverse(c, t.id, original, total, t.branch_id, actor),
    }
}

#[allow(clippy::too_many_arguments)]
fn earn(
    c: &Connection,
    rule: &EarningRule,
    customer: CustomerId,
    txn: TransactionId,
    branch: BranchId,
    currency: kesher_core::Currency,
    total: i64,
    actor: &Actor,
) -> Result<Option<LedgerEntry>> {
    let bal = balance(c, customer)?;
    let Some(posting) = kesher_loyalty::earn(rule, currency, total, bal).map_err(loyalty_error)? else {
        return Ok(None);
    };
    write_entry(
        c,
        &NewEntry {
            customer,
            posting,
            reason: None,
            key: None,
            transaction: Some(txn),
            branch: Some(branch),
            actor,
        },
    )
    .map(Some)
}

/// A refund's reversal: its share of what the original sale earned, taken from whoever holds
/// that sale's points now (the earn entry's customer: a merge moves it).
fn reverse(
    c: &Connection,
    refund: TransactionId,
    original: TransactionId,
    refund_total: i64,
    branch: BranchId,
    actor: &Actor,
) -> Result<Option<LedgerEntry>> {
    let earned: Option<(Vec<u8>, i64)> = c
        .prepare_cached("SELECT customer_id, points FROM points_ledger WHERE transaction_id = ?1 AND kind = 'earn'")
        .be()?
        .query_row([original.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .be()?;
    let Some((cust, earned)) = earned else {
        return Ok(None);
    };
    let customer = CustomerId::from_bytes(blob16(&cust)?);
    let (sale_total, refunded_before): (i64, i64) = c
        .prepare_cached(
            "SELECT o.total, coalesce((SELECT sum(-r.total) FROM transactions r WHERE r.refund_of = o.id AND r.id <> ?2), 0)
             FROM transactions o WHERE o.id = ?1",
        )
        .be()?
        .query_row([original.as_bytes(), refund.as_bytes()], |r| Ok((r.get(0)?, r.get(1)?)))
        .be()?;
    let reversed_before: i64 = c
        .prepare_cached(
            "SELECT coalesce(sum(-l.points), 0) FROM transactions r
             JOIN points_ledger l ON l.transaction_id = r.id AND l.kind = 'reverse' WHERE r.refund_of = ?1",
        )
        .be()?
        .query_row([original.as_bytes()], |r| r.get(0))
        .be()?;
    let r = Refund {
        earned,
        sale_total,
        refunded_before,
        reversed_before,
        amount: refund_total.saturating_neg(),
    };
    let bal = balance(c, customer)?;
    let Some(posting) = kesher_loyalty::reverse(&r, bal).map_err(loyalty_error)? else {
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
    Since(Option<jiff::Timestamp>),
    /// These transactions only (an import unit's).
    Only(&'a [TransactionId]),
}

/// Earn for every sale in scope that has not earned yet, customer by customer in time order,
/// then reverse for the refunds in scope whose sale earned. Runs in the caller's transaction.
pub(crate) fn award(c: &Connection, scope: Scope<'_>, actor: &Actor) -> Result<AwardReport> {
    let rule = load_rule(c)?;
    let mut report = AwardReport::default();
    if rule.is_empty() {
        return Ok(report);
    }
    let (filter, since) = match scope {
        Scope::Since(since) => ("(?1 IS NULL OR t.occurred_at >= ?1)", since.map(ts)),
        Scope::Only(ids) => {
            c.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS award_scope (id BLOB PRIMARY KEY); DELETE FROM award_scope",
            )
            .be()?;
            let mut ins = c
                .prepare_cached("INSERT OR IGNORE INTO award_scope (id) VALUES (?1)")
                .be()?;
            for id in ids {
                ins.execute([id.as_bytes()]).be()?;
            }
            ("(?1 IS NULL AND t.id IN (SELECT id FROM award_scope))", None)
        }
    };
    // Every sale in one statement: the rule's formula (`EarnRate::points_for`: whole `per_minor`
    // units times `points`) in SQL, each entry's balance a running sum over the customer's sales
    // in time order from the balance held; entries are numbered in that order. The contract
    // suite checks that the entries are what the rule gives sale by sale.
    let before: i64 = c
        .query_row("SELECT coalesce(max(seq), 0) FROM points_ledger", [], |r| r.get(0))
        .be()?;
    let earned = c
        .execute(
            &format!(
                "INSERT INTO points_ledger (customer_id, kind, points, balance_after, transaction_id, branch_id, actor,
                    origin, at)
                 SELECT s.customer_id, 'earn', s.pts, coalesce(b.balance, 0) + sum(s.pts) OVER
                        (PARTITION BY s.customer_id ORDER BY s.occurred_at, s.id ROWS UNBOUNDED PRECEDING),
                        s.id, s.branch_id, ?2, ?3, ?4
                 FROM (SELECT t.id, t.customer_id, t.branch_id, t.occurred_at, (t.total / r.per_minor) * r.points AS pts
                       FROM transactions t JOIN points_rules r ON r.currency = t.currency
                       WHERE t.customer_id IS NOT NULL AND t.refund_of IS NULL AND {filter}
                         AND r.points > 0 AND t.total >= r.per_minor
                         AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'earn')) s
                 LEFT JOIN points_balances b ON b.customer_id = s.customer_id
                 ORDER BY s.customer_id, s.occurred_at, s.id"
            ),
            params![since, actor.who, actor.origin, ts(actor.at)],
        )
        .be()?;
    // SQLite turns an integer overflow into a float: refuse it rather than store it.
    let (bad, points): (i64, i64) = c
        .query_row(
            "SELECT count(*) FILTER (WHERE typeof(points) <> 'integer' OR typeof(balance_after) <> 'integer'),
                    coalesce(sum(points), 0) FROM points_ledger WHERE seq > ?1",
            [before],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .be()?;
    if bad > 0 {
        return Err(StoreError::invalid_coded(
            "points.award.overflow",
            "points",
            kesher_core::params!(count = bad),
            format!("{bad} sales would earn more points than can be counted"),
        ));
    }
    // Each customer's balance is the last of their new entries.
    c.execute(
        "INSERT INTO points_balances (customer_id, balance)
         SELECT customer_id, balance_after FROM points_ledger
         WHERE seq IN (SELECT max(seq) FROM points_ledger WHERE seq > ?1 GROUP BY customer_id)
         ON CONFLICT (customer_id) DO UPDATE SET balance = excluded.balance",
        [before],
    )
    .be()?;
    report.earned = earned as u64;
    report.points = points;
    // Refunds whose sale earned and that have not been reversed yet: few, one at a time.
    let refunds: Vec<(Vec<u8>, Vec<u8>, i64, Vec<u8>)> = {
        let mut st = c
            .prepare(&format!(
                "SELECT t.id, t.refund_of, t.total, t.branch_id FROM transactions t
                 WHERE t.refund_of IS NOT NULL AND {filter}
                   AND EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.refund_of AND l.kind = 'earn')
                   AND NOT EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'reverse')
                 ORDER BY t.occurred_at, t.id"
            ))
            .be()?;
        st.query_map([since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .be()?
            .collect::<rusqlite::Result<_>>()
            .be()?
    };
    for (id, orig, total, branch) in refunds {
        let id = TransactionId::from_bytes(blob16(&id)?);
        let orig = TransactionId::from_bytes(blob16(&orig)?);
        let branch = BranchId::from_bytes(blob16(&branch)?);
        if let Some(e) = reverse(c, id, orig, total, branch, actor)? {
            report.reversed += 1;
            report.points = report.points.saturating_add(e.points);
        }
    }
    Ok(report)
}

/// Move the dropped customer's entries and balance to the kept one, with a `merge` entry when
/// the dropped customer had any; returns the points moved.
pub(crate) fn merge(c: &Connection, keep: CustomerId, drop: CustomerId, actor: &Actor) -> Result<i64> {
    if count_entries(c, drop)? == 0 {
        return Ok(0);
    }
    let (kept_bal, dropped_bal) = (balance(c, keep)?, balance(c, drop)?);
    c.execute(
        "UPDATE points_ledger SET customer_id = ?1 WHERE customer_id = ?2",
        [keep.as_bytes(), drop.as_bytes()],
    )
    .be()?;
    c.execute("DELETE FROM points_balances WHERE customer_id = ?1", [drop.as_bytes()])
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

pub(crate) fn totals(c: &Connection) -> Result<PointsTotals> {
    let (customers, outstanding): (i64, i64) = c
        .query_row(
            "SELECT count(*), coalesce(sum(balance), 0) FROM points_balances WHERE balance <> 0",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .be()?;
    let mut st = c
        .prepare("SELECT kind, count(*), coalesce(sum(points), 0) FROM points_ledger GROUP BY kind ORDER BY kind")
        .be()?;
    let rows: Vec<(String, i64, i64)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .be()?
        .collect::<rusqlite::Result<_>>()
        .be()?;
    let by_kind = rows
        .into_iter()
        .map(|(k, n, p)| Ok((stored_kind(&k)?, u64::try_from(n).unwrap_or(0), p)))
        .collect::<Result<_>>()?;
    Ok(PointsTotals {
        customers: u64::try_from(customers).unwrap_or(0),
        outstanding,
        by_kind,
    })
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

/// A redemption or adjustment, decided and written in the caller's (immediate) transaction,
/// audited there; a retry with the same key returns the first entry.
pub(crate) fn spend_or_adjust(
    c: &Connection,
    kind: EntryKind,
    customer: CustomerId,
    req: &kesher_store::PointsRequest,
    actor: &Actor,
) -> Result<kesher_store::Recorded<LedgerEntry>> {
    use kesher_store::points::{points_audit, request_key, retried};
    let key = request_key(req, kind == EntryKind::Redeem)?;
    require_customer(c, customer)?;
    if let Some(k) = &key
        && let Some(existing) = entry_by_key(c, customer, k)?
    {
        let points = if kind == EntryKind::Redeem {
            -req.points
        } else {
            req.points
        };
        return retried(existing, kind, points);
    }
    let bal = balance(c, customer)?;
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
    Ok(kesher_store::Recorded {
        value: e,
        created: true,
    })
}

impl kesher_store::Points for crate::SqliteStore {
    fn earning_rule(&self) -> Result<EarningRule> {
        load_rule(&*self.read()?)
    }

    fn set_earning_rule(&self, rule: &EarningRule, actor: &Actor) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .be()?;
        let before = load_rule(&tx)?;
        store_rule(&tx, rule)?;
        crate::audit(
            &tx,
            actor,
            "points.rule",
            "points_rule",
            "earning",
            Some(&kesher_store::points::rule_audit_json(&before)),
            Some(&kesher_store::points::rule_audit_json(rule)),
        )?;
        tx.commit().be()
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
        })
    }

    fn redeem_points(
        &self,
        customer: CustomerId,
        req: &kesher_store::PointsRequest,
        actor: &Actor,
    ) -> Result<kesher_store::Recorded<LedgerEntry>> {
        self.spend(EntryKind::Redeem, customer, req, actor)
    }

    fn adjust_points(
        &self,
        customer: CustomerId,
        req: &kesher_store::PointsRequest,
        actor: &Actor,
    ) -> Result<kesher_store::Recorded<LedgerEntry>> {
        self.spend(EntryKind::Adjust, customer, req, actor)
    }

    fn award_points(&self, since: Option<jiff::Timestamp>, actor: &Actor) -> Result<AwardReport> {
        let mut conn = self.write()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .be()?;
        let r = award(&tx, Scope::Since(since), actor)?;
        tx.commit().be()?;
        Ok(r)
    }

    fn points_totals(&self) -> Result<PointsTotals> {
        totals(&*self.read()?)
    }
}

impl crate::SqliteStore {
    fn spend(
        &self,
        kind: EntryKind,
        customer: CustomerId,
        req: &kesher_store::PointsRequest,
        actor: &Actor,
    ) -> Result<kesher_store::Recorded<LedgerEntry>> {
        let mut conn = self.write()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .be()?;
        let r = spend_or_adjust(&tx, kind, customer, req, actor)?;
        if r.created {
            tx.commit().be()?;
        }
        Ok(r)
    }
}
