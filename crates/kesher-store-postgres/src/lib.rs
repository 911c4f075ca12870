//! kesher's server store: the `Store` trait on PostgreSQL (versioned migrations, one transaction per write).
//!
//! Connections come from a small pool of our own: idle clients wait in a `Mutex<Vec<Client>>`,
//! a call takes one (or opens a new one when none is idle) and gives it back when done, so
//! concurrent callers each work on their own connection. Every multi-row write runs in one
//! transaction; customer writes that check identifiers first are serialised by an advisory lock
//! so that two sessions cannot take the same identifier (SQLite gets this from its single writer).

mod accounts;
mod benefits;
mod bulk;
mod campaigns;
mod convert;
mod import;
mod jobs;
mod loyalty;
mod migrate;
mod points;
mod scores;
mod segments;
mod summary;
mod unit;

pub use summary::summary_sql;

use convert::*;
use kesher_core::{
    Branch, BranchId, Customer, CustomerId, DuplicateCandidate, Employee, EmployeeId, Interaction, InteractionId,
    Product, ProductId, Transaction, TransactionId,
};
use kesher_store::bulk::{BulkWrite, TableSpec, Value};
use kesher_store::rows::{
    self, BRANCH_SELECT, CUSTOMER_COLUMNS, CUSTOMER_SELECT, DUPLICATE_SELECT, EMPLOYEE_SELECT, INTERACTION_SELECT,
    PRODUCT_SELECT,
};
use kesher_store::search;
use kesher_store::{
    Actor, AuditEntry, AuditQuery, BasketRow, ConsentEvent, Counts, CustomerQuery, CustomerScore, Identifier, ImportTx,
    Inserted, Page, PurchaseRow, PurchaseSummary, Result, Store, StoreError, SummaryRequest,
};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, GenericClient, NoTls};
use std::sync::Mutex;
use std::time::Duration;
use uuid::Uuid;

/// Idle connections kept for reuse; more may be open while calls run at once.
const MAX_IDLE: usize = 16;

/// The PostgreSQL implementation of `Store`.
pub struct PgStore {
    config: postgres::Config,
    idle: Mutex<Vec<Client>>,
}

impl PgStore {
    /// Connect to the database at `url` (`postgres://user@host:port/db`) and bring its schema up to date.
    pub fn open(url: &str) -> Result<PgStore> {
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        if config.get_application_name().is_none() {
            config.application_name("kesher");
        }
        let store = PgStore {
            config,
            idle: Mutex::new(Vec::new()),
        };
        let mut client = store.connect()?;
        migrate::migrate(&mut client)?;
        store.give_back(client);
        Ok(store)
    }

    /// The schema version the database is at.
    pub fn schema_version(&self) -> Result<i64> {
        self.with(migrate::current)
    }

    /// The latest schema version this build knows.
    pub fn latest_schema_version() -> i64 {
        migrate::latest()
    }

    fn connect(&self) -> Result<Client> {
        self.config
            .connect(NoTls)
            .map_err(|e| StoreError::Backend(format!("cannot connect to PostgreSQL: {}", describe(&e))))
    }

    /// An idle connection, or a new one.
    fn take(&self) -> Result<Client> {
        let idle = self
            .idle
            .lock()
            .map_err(|_| StoreError::Backend("connection pool poisoned".into()))?
            .pop();
        match idle {
            Some(c) if !c.is_closed() => Ok(c),
            _ => self.connect(),
        }
    }

    /// Return a connection to the pool unless it is broken or the pool is full.
    fn give_back(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(client);
        }
    }

    /// Run `f` on a pooled connection.
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T>) -> Result<T> {
        let mut client = self.take()?;
        let r = f(&mut client);
        self.give_back(client);
        r
    }

    /// Run `f` in one database transaction, committed when `f` succeeds and rolled back otherwise.
    fn in_tx<T>(&self, f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T>) -> Result<T> {
        self.with(|c| {
            let mut tx = c.transaction().be()?;
            let v = f(&mut tx)?;
            tx.commit().be()?;
            Ok(v)
        })
    }
}

fn audit<C: GenericClient>(
    c: &mut C,
    actor: &Actor,
    action: &str,
    entity: &str,
    id: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<()> {
    c.execute(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after, origin)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &actor.at,
            &actor.who,
            &action,
            &entity,
            &id,
            &before,
            &after,
            &actor.origin,
        ],
    )
    .be()?;
    Ok(())
}

/// Lock a customer row for the rest of the transaction; `NotFound` when there is none.
fn lock_customer<C: GenericClient>(c: &mut C, id: CustomerId) -> Result<()> {
    if exists(c, "SELECT 1 FROM customers WHERE id = $1 FOR UPDATE", &[&id.0])? {
        Ok(())
    } else {
        Err(StoreError::not_found("customer", id))
    }
}

fn limit_offset(limit: u32, offset: u64) -> (i64, i64) {
    (i64::from(limit), i64::try_from(offset).unwrap_or(i64::MAX))
}

impl Store for PgStore {
    fn counts(&self) -> Result<Counts> {
        self.with(|c| {
            let r = c
                .query_one(
                    "SELECT (SELECT count(*) FROM branches), (SELECT count(*) FROM employees),
                        (SELECT count(*) FROM products), (SELECT count(*) FROM customers),
                        (SELECT count(*) FROM transactions), (SELECT count(*) FROM transaction_lines),
                        (SELECT count(*) FROM interactions)",
                    &[],
                )
                .be()?;
            let n = |i: usize| -> Result<u64> { Ok(u64::try_from(col::<i64>(&r, i)?).unwrap_or(0)) };
            Ok(Counts {
                branches: n(0)?,
                employees: n(1)?,
                products: n(2)?,
                customers: n(3)?,
                transactions: n(4)?,
                transaction_lines: n(5)?,
                interactions: n(6)?,
            })
        })
    }

    fn insert_branch(&self, b: &Branch) -> Result<Inserted> {
        self.with(|c| insert_branch(c, b, None))
    }
    fn get_branch(&self, id: BranchId) -> Result<Option<Branch>> {
        self.with(|c| {
            one(c, &format!("{BRANCH_SELECT} WHERE id = $1"), &[&id.0], |r| {
                rows::branch(r)
            })
        })
    }
    fn list_branches(&self) -> Result<Vec<Branch>> {
        self.with(|c| {
            all(
                c,
                &format!("{BRANCH_SELECT} ORDER BY external_id COLLATE \"C\""),
                &[],
                |r| rows::branch(r),
            )
        })
    }
    fn branch_by_external(&self, ext: &str) -> Result<Option<Branch>> {
        self.with(|c| {
            one(c, &format!("{BRANCH_SELECT} WHERE external_id = $1"), &[&ext], |r| {
                rows::branch(r)
            })
        })
    }
    fn insert_employee(&self, e: &Employee) -> Result<Inserted> {
        self.with(|c| insert_employee(c, e, None))
    }
    fn get_employee(&self, id: EmployeeId) -> Result<Option<Employee>> {
        self.with(|c| {
            one(c, &format!("{EMPLOYEE_SELECT} WHERE id = $1"), &[&id.0], |r| {
                rows::employee(r)
            })
        })
    }
    fn employee_by_external(&self, ext: &str) -> Result<Option<Employee>> {
        self.with(|c| {
            one(c, &format!("{EMPLOYEE_SELECT} WHERE external_id = $1"), &[&ext], |r| {
                rows::employee(r)
            })
        })
    }
    fn list_employees(&self) -> Result<Vec<Employee>> {
        self.with(|c| {
            all(
                c,
                &format!("{EMPLOYEE_SELECT} ORDER BY external_id COLLATE \"C\""),
                &[],
                |r| rows::employee(r),
            )
        })
    }
    fn insert_product(&self, p: &Product) -> Result<Inserted> {
        self.with(|c| insert_product(c, p, None))
    }
    fn get_product(&self, id: ProductId) -> Result<Option<Product>> {
        self.with(|c| {
            one(c, &format!("{PRODUCT_SELECT} WHERE id = $1"), &[&id.0], |r| {
                rows::product(r)
            })
        })
    }
    fn product_by_sku(&self, sku: &str) -> Result<Option<Product>> {
        self.with(|c| {
            one(c, &format!("{PRODUCT_SELECT} WHERE sku = $1"), &[&sku], |r| {
                rows::product(r)
            })
        })
    }
    fn list_products(&self, limit: u32, offset: u64) -> Result<Page<Product>> {
        let (l, o) = limit_offset(limit, offset);
        self.with(|c| {
            let total = count(c, "SELECT count(*) FROM products", &[])?;
            let items = all(
                c,
                &format!("{PRODUCT_SELECT} ORDER BY sku COLLATE \"C\" LIMIT $1 OFFSET $2"),
                &[&l, &o],
                |r| rows::product(r),
            )?;
            Ok(Page {
                items,
                total,
                limit,
                offset,
                total_capped: false,
            })
        })
    }

    fn get_customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        self.with(|c| load_customer(c, id))
    }

    fn lookup_customer(&self, ident: &Identifier) -> Result<Option<Customer>> {
        self.with(|c| match find_by_identifier(c, ident.kind(), ident.value())? {
            Some(id) => load_customer(c, id),
            None => Ok(None),
        })
    }

    fn search_customers(&self, q: &CustomerQuery) -> Result<Page<Customer>> {
        let q = CustomerQuery {
            limit: q.limit.clamp(1, 500),
            ..q.clone()
        };
        let branch = q.branch.map(|b| b.0);
        let probes = search::probes(&q);
        let (l, o) = limit_offset(q.limit, q.offset);
        let cap = search::SEARCH_COUNT_CAP as i64 + 1;
        let probe_limit = i64::try_from(search::probe_limit(&q)).unwrap_or(i64::MAX);
        self.with(|c| {
            let (ids, total, total_capped) = if probes.is_empty() {
                // Every customer (of the branch), by name, counted up to the cap.
                let counted = count(
                    c,
                    "SELECT count(*) FROM (SELECT 1 FROM customers WHERE ($1::uuid IS NULL OR source_branch = $1) LIMIT $2) s",
                    &[&branch, &cap],
                )?;
                let rows = c
                    .query(
                        "SELECT id FROM customers WHERE ($1::uuid IS NULL OR source_branch = $1)
                         ORDER BY name_norm COLLATE \"C\" NULLS FIRST, member_no COLLATE \"C\" NULLS FIRST, id
                         LIMIT $2 OFFSET $3",
                        &[&branch, &l, &o],
                    )
                    .be()?;
                let ids = rows
                    .iter()
                    .map(|r| Ok(CustomerId(col(r, 0)?)))
                    .collect::<Result<Vec<_>>>()?;
                (
                    ids,
                    counted.min(search::SEARCH_COUNT_CAP),
                    counted > search::SEARCH_COUNT_CAP,
                )
            } else {
                let mut hits = Vec::with_capacity(probes.len());
                for p in &probes {
                    let key = search_key(p.column);
                    let end = p.end();
                    let range = match &end {
                        // Every parameter named, so that each has a type ($2 is NULL here).
                        _ if p.exact => format!("{key} = $1::text AND $2::text IS NULL"),
                        Some(_) => format!("{key} >= $1::text AND {key} < $2::text"),
                        None => format!("{key} >= $1::text AND $2::text IS NULL"),
                    };
                    let rows = c
                        .query(
                            &format!(
                                "SELECT {key}, id FROM customers WHERE {range} AND ($3::uuid IS NULL OR source_branch = $3)
                                 ORDER BY {key}, id LIMIT $4"
                            ),
                            &[&p.prefix, &end, &branch, &probe_limit],
                        )
                        .be()?;
                    let found = rows
                        .iter()
                        .map(|r| Ok((col::<String>(r, 0)?, CustomerId(col(r, 1)?))))
                        .collect::<Result<Vec<_>>>()?;
                    hits.push(found);
                }
                search::merge_hits(&q, hits)
            };
            let mut items = Vec::with_capacity(ids.len());
            for id in ids {
                if let Some(cust) = load_customer(c, id)? {
                    items.push(cust);
                }
            }
            Ok(Page {
                items,
                total,
                limit: q.limit,
                offset: q.offset,
                total_capped,
            })
        })
    }

    fn duplicate_candidates(&self) -> Result<Vec<DuplicateCandidate>> {
        self.with(|c| all(c, DUPLICATE_SELECT, &[], |r| rows::duplicate_candidate(r)))
    }

    fn for_each_customer(&self, f: &mut dyn FnMut(&Customer) -> Result<()>) -> Result<()> {
        // One query (one snapshot), customers joined to their consents in id order, streamed.
        self.with(|c| {
            let sql = format!(
                "SELECT cu.*, k.channel, k.state, k.at, k.source FROM ({CUSTOMER_SELECT}) cu
                 LEFT JOIN consents k ON k.customer_id = cu.id ORDER BY cu.id, k.channel COLLATE \"C\""
            );
            let mut rows = c.query_raw(&sql, std::iter::empty::<i32>()).be()?;
            let mut cur: Option<Customer> = None;
            while let Some(r) = rows.next().be()? {
                let id: Uuid = col(&r, 0)?;
                if let Some(done) = cur.take_if(|x| x.id.0 != id) {
                    f(&done)?;
                }
                let cust = match cur.as_mut() {
                    Some(x) => x,
                    None => cur.insert(rows::customer(&PgRow(&r))?),
                };
                if col::<Option<String>>(&r, CUSTOMER_COLUMNS)?.is_some() {
                    cust.consents.push(rows::consent(&PgRow(&r), CUSTOMER_COLUMNS)?);
                }
            }
            if let Some(done) = cur {
                f(&done)?;
            }
            Ok(())
        })
    }

    fn consent_history(&self, id: CustomerId) -> Result<Vec<ConsentEvent>> {
        self.with(|c| {
            all(
                c,
                "SELECT channel, state, at, source FROM consent_history WHERE customer_id = $1 ORDER BY seq",
                &[&id.0],
                |r| {
                    Ok(ConsentEvent {
                        customer_id: id,
                        consent: rows::consent(r, 0)?,
                    })
                },
            )
        })
    }

    fn merged_into(&self, dropped: CustomerId) -> Result<Option<CustomerId>> {
        self.with(|c| {
            query_opt(c, "SELECT kept_id FROM merges WHERE dropped_id = $1", &[&dropped.0])?
                .map(|r| col(&r, 0).map(CustomerId))
                .transpose()
        })
    }

    fn get_transaction(&self, id: TransactionId) -> Result<Option<Transaction>> {
        self.with(|c| load_transaction(c, "id = $1", &id.0))
    }

    fn transaction_by_external(&self, ext: &str) -> Result<Option<Transaction>> {
        self.with(|c| load_transaction_by_external(c, ext))
    }

    fn list_transactions(&self, customer: Option<CustomerId>, limit: u32, offset: u64) -> Result<Page<Transaction>> {
        let cid = customer.map(|c| c.0);
        let (l, o) = limit_offset(limit, offset);
        let filter = customer_filter(customer);
        self.with(|c| {
            let total = count(
                c,
                &format!("SELECT count(*) FROM transactions WHERE {filter}"),
                &[&cid],
            )?;
            let ids = c
                .query(
                    &format!(
                        "SELECT id FROM transactions WHERE {filter} ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3"
                    ),
                    &[&cid, &l, &o],
                )
                .be()?;
            let mut items = Vec::with_capacity(ids.len());
            for r in &ids {
                let id: Uuid = col(r, 0)?;
                if let Some(t) = load_transaction(c, "id = $1", &id)? {
                    items.push(t);
                }
            }
            Ok(Page {
                items,
                total,
                limit,
                offset,
                total_capped: false,
            })
        })
    }

    fn get_interaction(&self, id: InteractionId) -> Result<Option<Interaction>> {
        self.with(|c| {
            one(c, &format!("{INTERACTION_SELECT} WHERE id = $1"), &[&id.0], |r| {
                rows::interaction(r)
            })
        })
    }

    fn list_interactions(&self, customer: Option<CustomerId>, limit: u32, offset: u64) -> Result<Page<Interaction>> {
        let cid = customer.map(|c| c.0);
        let (l, o) = limit_offset(limit, offset);
        let filter = customer_filter(customer);
        self.with(|c| {
            let total = count(c, &format!("SELECT count(*) FROM interactions WHERE {filter}"), &[&cid])?;
            let items = all(
                c,
                &format!(
                    "{INTERACTION_SELECT} WHERE {filter}
                     ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3"
                ),
                &[&cid, &l, &o],
                |r| rows::interaction(r),
            )?;
            Ok(Page {
                items,
                total,
                limit,
                offset,
                total_capped: false,
            })
        })
    }

    fn audit_log(&self, limit: u32, offset: u64) -> Result<Vec<AuditEntry>> {
        let (l, o) = limit_offset(limit, offset);
        self.with(|c| accounts::read_audit(c, "ORDER BY seq DESC LIMIT $1 OFFSET $2", &[&l, &o]))
    }

    fn audit_page(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        self.with(|c| accounts::audit_page(c, q))
    }

    fn for_each_basket(&self, branch: Option<&str>, f: &mut dyn FnMut(&BasketRow<'_>)) -> Result<()> {
        self.with(|c| {
            // Streamed row by row: memory stays flat whatever the number of sales.
            let mut rows = c
                .query_raw(
                    "SELECT t.id, t.external_id, t.customer_id, b.external_id, t.occurred_at, p.sku, p.category
                     FROM transactions t JOIN branches b ON b.id = t.branch_id
                     JOIN transaction_lines l ON l.transaction_id = t.id JOIN products p ON p.id = l.product_id
                     WHERE t.refund_of IS NULL AND ($1::text IS NULL OR b.external_id = $1)
                     ORDER BY t.id, l.line_no",
                    std::iter::once(branch),
                )
                .be()?;
            let mut cur: Option<(Uuid, String, Option<CustomerId>, String, jiff::Timestamp)> = None;
            let mut items: Vec<(String, Option<String>)> = Vec::new();
            let mut emit = |h: &(Uuid, String, Option<CustomerId>, String, jiff::Timestamp),
                            items: &[(String, Option<String>)]| {
                f(&BasketRow {
                    transaction: &h.1,
                    customer_id: h.2,
                    branch: &h.3,
                    occurred_at: h.4,
                    items,
                });
            };
            while let Some(r) = rows.next().be()? {
                let id: Uuid = col(&r, 0)?;
                if cur.as_ref().is_some_and(|h| h.0 != id) {
                    if let Some(h) = cur.take() {
                        emit(&h, &items);
                    }
                    items.clear();
                }
                if cur.is_none() {
                    cur = Some((
                        id,
                        col(&r, 1)?,
                        col::<Option<Uuid>>(&r, 2)?.map(CustomerId),
                        col(&r, 3)?,
                        col(&r, 4)?,
                    ));
                }
                items.push((col(&r, 5)?, col(&r, 6)?));
            }
            if let Some(h) = cur.take() {
                emit(&h, &items);
            }
            Ok(())
        })
    }

    fn for_each_purchase(&self, f: &mut dyn FnMut(&PurchaseRow)) -> Result<()> {
        self.with(|c| scores::for_each_purchase(c, f))
    }

    fn purchase_summaries(&self, req: &SummaryRequest, f: &mut dyn FnMut(&PurchaseSummary)) -> Result<bool> {
        self.with(|c| summary::purchase_summaries(c, req, f))?;
        Ok(true)
    }

    fn cohort_counts(&self, month_starts: &[i64], end: i64) -> Result<Option<Vec<(u32, u32, u64)>>> {
        self.with(|c| summary::cohort_counts(c, month_starts, end)).map(Some)
    }

    fn replace_customer_scores(&self, as_of: jiff::Timestamp, model: &str, scores: &[CustomerScore]) -> Result<u64> {
        self.in_tx(|tx| scores::replace(tx, as_of, model, scores))
    }

    fn customer_score(&self, id: CustomerId) -> Result<Option<CustomerScore>> {
        self.with(|c| scores::customer_score(c, id))
    }

    fn list_customer_scores(&self) -> Result<Vec<CustomerScore>> {
        self.with(scores::list_customer_scores)
    }

    fn customer_wallets(&self) -> Result<Vec<(CustomerId, String)>> {
        self.with(scores::customer_wallets)
    }

    fn record_stage_history(&self, month: &str, stages: &[(CustomerId, &str)]) -> Result<()> {
        self.in_tx(|tx| scores::record_stage_history(tx, month, stages))
    }

    fn stage_counts(&self) -> Result<Vec<(String, String, u64)>> {
        self.with(scores::stage_counts)
    }

    fn stage_transitions(&self, from_month: &str, to_month: &str) -> Result<Vec<(String, String, u64)>> {
        self.with(|c| scores::stage_transitions(c, from_month, to_month))
    }

    fn append_audit(
        &self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: &str,
        after: Option<&serde_json::Value>,
    ) -> Result<()> {
        self.with(|c| audit(c, actor, action, entity, entity_id, None, after))
    }

    fn has_audit_action(&self, action: &str) -> Result<bool> {
        self.with(|c| exists(c, "SELECT 1 FROM audit_log WHERE action = $1 LIMIT 1", &[&action]))
    }

    fn bulk_read(&self, table: &'static TableSpec, f: &mut dyn FnMut(&[Value])) -> Result<()> {
        self.with(|c| bulk::read(c, table, f))
    }

    fn bulk_count(&self, table: &'static TableSpec) -> Result<u64> {
        self.with(|c| count(c, &format!("SELECT count(*) FROM {}", table.name), &[]))
    }

    fn begin_bulk_write(&self) -> Result<Box<dyn BulkWrite + '_>> {
        Ok(Box::new(bulk::PgBulkWrite::begin(self)?))
    }

    fn begin_import(&self) -> Result<Box<dyn ImportTx + '_>> {
        Ok(Box::new(import::PgImport::begin(self)?))
    }
}

/// The condition of a listing by customer on `$1` (the id, or NULL for every row): one text per
/// case, so that a customer's listing is planned as an index seek even as a generic plan.
fn customer_filter(customer: Option<CustomerId>) -> &'static str {
    if customer.is_some() {
        "customer_id = $1"
    } else {
        "$1::uuid IS NULL"
    }
}

/// The indexed expression a search probe ranges over, in code point order: each is the
/// expression (and collation) of an index of migration 0014, written the same way. Public for
/// the test that asks the planner for each probe's index.
#[doc(hidden)]
pub fn search_key(column: search::SearchColumn) -> &'static str {
    match column {
        search::SearchColumn::Name => "name_norm COLLATE \"C\"",
        search::SearchColumn::Surname => "substr(name_norm, strpos(name_norm, ' ') + 1) COLLATE \"C\"",
        search::SearchColumn::Member => "member_no COLLATE \"C\"",
        search::SearchColumn::Card => "card COLLATE \"C\"",
        search::SearchColumn::Email => "email COLLATE \"C\"",
        search::SearchColumn::Phone => "phone COLLATE \"C\"",
    }
}
