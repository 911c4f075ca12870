//! kesher's server store: the `Store` trait on PostgreSQL (versioned migrations, one transaction per write).
//!
//! Connections come from a small pool of our own: idle clients wait in a `Mutex<Vec<Client>>`,
//! a call takes one (or opens a new one when none is idle) and gives it back when done, so
//! concurrent callers each work on their own connection. Every multi-row write runs in one
//! transaction; customer writes that check identifiers first are serialised by an advisory lock
//! so that two sessions cannot take the same identifier (SQLite gets this from its single writer).

mod accounts;
mod bulk;
mod convert;
mod import;
mod migrate;
mod points;
mod scores;
mod summary;

pub use summary::summary_sql;

use convert::*;
use kesher_core::{
    Branch, BranchId, Customer, CustomerId, DuplicateCandidate, Employee, EmployeeId, Interaction, InteractionId,
    Product, ProductId, Transaction, TransactionId,
};
use kesher_store::bulk::{BulkWrite, TableSpec, Value};
use kesher_store::{
    Actor, AuditEntry, BasketRow, ConsentEvent, Counts, CustomerQuery, CustomerScore, Identifier, ImportTx, Inserted,
    MergeReport, Page, PurchaseRow, PurchaseSummary, Recorded, RecordedSale, Result, Store, StoreError, SummaryRequest,
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
            query_opt(c, &format!("{BRANCH_SELECT} WHERE id = $1"), &[&id.0])?
                .map(|r| branch_row(&r))
                .transpose()
        })
    }
    fn list_branches(&self) -> Result<Vec<Branch>> {
        self.with(|c| {
            c.query(&format!("{BRANCH_SELECT} ORDER BY external_id COLLATE \"C\""), &[])
                .be()?
                .iter()
                .map(branch_row)
                .collect()
        })
    }
    fn branch_by_external(&self, ext: &str) -> Result<Option<Branch>> {
        self.with(|c| {
            query_opt(c, &format!("{BRANCH_SELECT} WHERE external_id = $1"), &[&ext])?
                .map(|r| branch_row(&r))
                .transpose()
        })
    }
    fn insert_employee(&self, e: &Employee) -> Result<Inserted> {
        self.with(|c| insert_employee(c, e, None))
    }
    fn get_employee(&self, id: EmployeeId) -> Result<Option<Employee>> {
        self.with(|c| {
            query_opt(c, &format!("{EMPLOYEE_SELECT} WHERE id = $1"), &[&id.0])?
                .map(|r| employee_row(&r))
                .transpose()
        })
    }
    fn employee_by_external(&self, ext: &str) -> Result<Option<Employee>> {
        self.with(|c| {
            query_opt(c, &format!("{EMPLOYEE_SELECT} WHERE external_id = $1"), &[&ext])?
                .map(|r| employee_row(&r))
                .transpose()
        })
    }
    fn list_employees(&self) -> Result<Vec<Employee>> {
        self.with(|c| {
            c.query(&format!("{EMPLOYEE_SELECT} ORDER BY external_id COLLATE \"C\""), &[])
                .be()?
                .iter()
                .map(employee_row)
                .collect()
        })
    }
    fn insert_product(&self, p: &Product) -> Result<Inserted> {
        self.with(|c| insert_product(c, p, None))
    }
    fn get_product(&self, id: ProductId) -> Result<Option<Product>> {
        self.with(|c| {
            query_opt(c, &format!("{PRODUCT_SELECT} WHERE id = $1"), &[&id.0])?
                .map(|r| product_row(&r))
                .transpose()
        })
    }
    fn product_by_sku(&self, sku: &str) -> Result<Option<Product>> {
        self.with(|c| {
            query_opt(c, &format!("{PRODUCT_SELECT} WHERE sku = $1"), &[&sku])?
                .map(|r| product_row(&r))
                .transpose()
        })
    }
    fn list_products(&self, limit: u32, offset: u64) -> Result<Page<Product>> {
        let (l, o) = limit_offset(limit, offset);
        self.with(|c| {
            let total = count(c, "SELECT count(*) FROM products", &[])?;
            let items = c
                .query(
                    &format!("{PRODUCT_SELECT} ORDER BY sku COLLATE \"C\" LIMIT $1 OFFSET $2"),
                    &[&l, &o],
                )
                .be()?
                .iter()
                .map(product_row)
                .collect::<Result<_>>()?;
            Ok(Page {
                items,
                total,
                limit,
                offset,
            })
        })
    }

    fn insert_customer(&self, c: &Customer, actor: &Actor) -> Result<()> {
        self.in_tx(|tx| {
            lock_identifiers(tx)?;
            check_identifiers_free(tx, c)?;
            match insert_customer_row(tx, c, None)? {
                Inserted::New => {}
                Inserted::AlreadyPresent | Inserted::Repeated => {
                    return Err(StoreError::conflict_coded(
                        "customer.member_no.taken",
                        "member_no",
                        kesher_core::params!(value = c.member_no.as_deref().unwrap_or("")),
                        format!(
                            "member number {:?} already belongs to another customer",
                            c.member_no.as_deref().unwrap_or("")
                        ),
                    ));
                }
            }
            audit(
                tx,
                actor,
                "customer.create",
                "customer",
                &c.id.to_string(),
                None,
                Some(&customer_json(c)),
            )
        })
    }

    fn get_customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        self.with(|c| load_customer(c, id))
    }

    fn update_customer(&self, c: &Customer, actor: &Actor) -> Result<()> {
        self.in_tx(|tx| {
            lock_identifiers(tx)?;
            lock_customer(tx, c.id)?;
            let before = load_customer(tx, c.id)?.ok_or_else(|| StoreError::not_found("customer", c.id))?;
            check_identifiers_free(tx, c)?;
            if let Some(p) = c.parent_id {
                if p == c.id {
                    return Err(StoreError::invalid_coded(
                        "customer.parent.self",
                        "parent_id",
                        kesher_core::Params::new(),
                        "a customer cannot be its own parent",
                    ));
                }
                if !exists(tx, "SELECT 1 FROM customers WHERE id = $1", &[&p.0])? {
                    return Err(StoreError::invalid_coded(
                        "customer.parent.not_found",
                        "parent_id",
                        kesher_core::Params::new(),
                        format!("no customer {p}"),
                    ));
                }
            }
            update_customer_row(tx, c)?;
            write_consents(tx, c.id, &c.consents, Some(&before.consents))?;
            audit(
                tx,
                actor,
                "customer.update",
                "customer",
                &c.id.to_string(),
                Some(&customer_json(&before)),
                Some(&customer_json(c)),
            )
        })
    }

    fn delete_customer(&self, id: CustomerId, actor: &Actor) -> Result<()> {
        self.in_tx(|tx| {
            lock_customer(tx, id)?;
            let before = load_customer(tx, id)?.ok_or_else(|| StoreError::not_found("customer", id))?;
            let n_tx = count(tx, "SELECT count(*) FROM transactions WHERE customer_id = $1", &[&id.0])?;
            if n_tx > 0 {
                return Err(StoreError::conflict_coded(
                    "customer.delete.has_transactions",
                    "id",
                    kesher_core::params!(count = n_tx),
                    format!("customer has {n_tx} transactions; merge or anonymise instead of deleting"),
                ));
            }
            let n_points = points::count_entries(tx, id)?;
            if n_points > 0 {
                return Err(StoreError::conflict_coded(
                    "customer.delete.has_points",
                    "id",
                    kesher_core::params!(count = n_points),
                    format!("customer has {n_points} points entries; merge or anonymise instead of deleting"),
                ));
            }
            let n_children = count(tx, "SELECT count(*) FROM customers WHERE parent_id = $1", &[&id.0])?;
            if n_children > 0 {
                return Err(StoreError::conflict_coded(
                    "customer.delete.has_children",
                    "id",
                    kesher_core::params!(count = n_children),
                    format!("customer is the parent account of {n_children} customers"),
                ));
            }
            for sql in [
                "DELETE FROM interactions WHERE customer_id = $1",
                "DELETE FROM consents WHERE customer_id = $1",
                "DELETE FROM customer_aliases WHERE customer_id = $1",
                "DELETE FROM points_balances WHERE customer_id = $1",
                "DELETE FROM customers WHERE id = $1",
            ] {
                tx.execute(sql, &[&id.0]).be()?;
            }
            scores::forget(tx, id.0)?;
            audit(
                tx,
                actor,
                "customer.delete",
                "customer",
                &id.to_string(),
                Some(&customer_json(&before)),
                None,
            )
        })
    }

    fn lookup_customer(&self, ident: &Identifier) -> Result<Option<Customer>> {
        self.with(|c| match find_by_identifier(c, ident.kind(), ident.value())? {
            Some(id) => load_customer(c, id),
            None => Ok(None),
        })
    }

    fn search_customers(&self, q: &CustomerQuery) -> Result<Page<Customer>> {
        let limit = q.limit.clamp(1, 500);
        let text = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let name_pat = text.map(|t| format!("%{}%", like_escape(&kesher_core::normalize_name(t))));
        let raw_pat = text.map(|t| format!("{}%", like_escape(&t.to_lowercase())));
        let phone = q.phone.as_ref().map(|p| p.as_str().to_string());
        // ILIKE: SQLite's LIKE ignores ASCII case, and the results must be the same.
        let filter = "($1::text IS NULL OR name_norm ILIKE $1 ESCAPE '\\' OR email ILIKE $2::text ESCAPE '\\'
                OR member_no ILIKE $2 ESCAPE '\\' OR card ILIKE $2 ESCAPE '\\' OR phone = $3::text
                OR phone ILIKE $2 ESCAPE '\\') AND ($4::uuid IS NULL OR source_branch = $4)";
        let branch = q.branch.map(|b| b.0);
        let (l, o) = limit_offset(limit, q.offset);
        self.with(|c| {
            let total = count(
                c,
                &format!("SELECT count(*) FROM customers WHERE {filter}"),
                &[&name_pat, &raw_pat, &phone, &branch],
            )?;
            let ids = c
                .query(
                    &format!(
                        "SELECT id FROM customers WHERE {filter}
                         ORDER BY name_norm COLLATE \"C\" NULLS FIRST, member_no COLLATE \"C\" NULLS FIRST, id
                         LIMIT $5 OFFSET $6"
                    ),
                    &[&name_pat, &raw_pat, &phone, &branch, &l, &o],
                )
                .be()?;
            let mut items = Vec::with_capacity(ids.len());
            for r in &ids {
                if let Some(cust) = load_customer(c, CustomerId(col(r, 0)?))? {
                    items.push(cust);
                }
            }
            Ok(Page {
                items,
                total,
                limit,
                offset: q.offset,
            })
        })
    }

    fn duplicate_candidates(&self) -> Result<Vec<DuplicateCandidate>> {
        self.with(|c| {
            let mut rows = c
                .query_raw(
                    "SELECT id, name, birth_date, phone, email, city FROM customers",
                    std::iter::empty::<&str>(),
                )
                .be()?;
            let mut out = Vec::new();
            while let Some(r) = rows.next().be()? {
                out.push(DuplicateCandidate {
                    id: CustomerId(col(&r, 0)?),
                    name: col(&r, 1)?,
                    birth_date: col(&r, 2)?,
                    phone: col(&r, 3)?,
                    email: col(&r, 4)?,
                    city: col(&r, 5)?,
                });
            }
            Ok(out)
        })
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
                    None => cur.insert(customer_row(&r)?),
                };
                if col::<Option<String>>(&r, 19)?.is_some() {
                    cust.consents.push(consent_at(&r, 19)?);
                }
            }
            if let Some(done) = cur {
                f(&done)?;
            }
            Ok(())
        })
    }

    fn merge_customers(&self, keep: CustomerId, drop: CustomerId, actor: &Actor) -> Result<MergeReport> {
        if keep == drop {
            return Err(StoreError::invalid_coded(
                "customer.merge.self",
                "drop",
                kesher_core::Params::new(),
                "cannot merge a customer into itself",
            ));
        }
        self.in_tx(|tx| merge(tx, keep, drop, actor))
    }

    fn consent_history(&self, id: CustomerId) -> Result<Vec<ConsentEvent>> {
        self.with(|c| {
            c.query(
                "SELECT channel, state, at, source FROM consent_history WHERE customer_id = $1 ORDER BY seq",
                &[&id.0],
            )
            .be()?
            .iter()
            .map(|r| {
                Ok(ConsentEvent {
                    customer_id: id,
                    consent: consent_row(r)?,
                })
            })
            .collect()
        })
    }

    fn merged_into(&self, dropped: CustomerId) -> Result<Option<CustomerId>> {
        self.with(|c| {
            query_opt(c, "SELECT kept_id FROM merges WHERE dropped_id = $1", &[&dropped.0])?
                .map(|r| col(&r, 0).map(CustomerId))
                .transpose()
        })
    }

    fn record_sale(&self, t: &Transaction, actor: &Actor) -> Result<RecordedSale> {
        t.validate().map_err(StoreError::from)?;
        self.in_tx(|tx| {
            let existing = |tx: &mut postgres::Transaction<'_>| -> Result<RecordedSale> {
                let value = load_transaction_by_external(tx, &t.external_id)?
                    .ok_or_else(|| StoreError::Backend(format!("transaction {} vanished", t.external_id)))?;
                let points = points::entry_for_transaction(tx, value.id)?;
                Ok(RecordedSale {
                    transaction: Recorded { value, created: false },
                    points,
                })
            };
            if load_transaction_by_external(tx, &t.external_id)?.is_some() {
                return existing(tx);
            }
            check_transaction_refs(tx, t)?;
            match insert_transaction_rows(tx, t, None)? {
                // Only the call that inserted the sale accrues (see `points`).
                Inserted::New => {
                    let points = points::accrue(tx, t, actor)?;
                    Ok(RecordedSale {
                        transaction: Recorded {
                            value: t.clone(),
                            created: true,
                        },
                        points,
                    })
                }
                // A concurrent call with the same external id committed first: return its result.
                Inserted::AlreadyPresent | Inserted::Repeated => existing(tx),
            }
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
        self.with(|c| {
            let total = count(
                c,
                "SELECT count(*) FROM transactions WHERE ($1::uuid IS NULL OR customer_id = $1)",
                &[&cid],
            )?;
            let ids = c
                .query(
                    "SELECT id FROM transactions WHERE ($1::uuid IS NULL OR customer_id = $1)
                     ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3",
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
            })
        })
    }

    fn record_interaction(&self, i: &Interaction, actor: &Actor) -> Result<Recorded<Interaction>> {
        i.validate().map_err(StoreError::from)?;
        let by_ext = format!("{INTERACTION_SELECT} WHERE external_id = $1");
        self.in_tx(|tx| {
            if let Some(ext) = &i.external_id
                && let Some(r) = query_opt(tx, &by_ext, &[ext])?
            {
                return Ok(Recorded {
                    value: interaction_row(&r)?,
                    created: false,
                });
            }
            if !exists(tx, "SELECT 1 FROM customers WHERE id = $1", &[&i.customer_id.0])? {
                return Err(StoreError::invalid_coded(
                    "interaction.customer.not_found",
                    "customer_id",
                    kesher_core::Params::new(),
                    format!("no customer {}", i.customer_id),
                ));
            }
            match (insert_interaction_row(tx, i, None)?, &i.external_id) {
                // A concurrent call with the same external id committed first: return its result.
                (Inserted::AlreadyPresent, Some(ext)) => match query_opt(tx, &by_ext, &[ext])? {
                    Some(r) => Ok(Recorded {
                        value: interaction_row(&r)?,
                        created: false,
                    }),
                    None => Err(StoreError::Backend(format!("interaction {ext} vanished"))),
                },
                _ => {
                    audit(
                        tx,
                        actor,
                        "interaction.record",
                        "customer",
                        &i.customer_id.to_string(),
                        None,
                        Some(&kesher_store::accounts::interaction_audit_json(i)),
                    )?;
                    Ok(Recorded {
                        value: i.clone(),
                        created: true,
                    })
                }
            }
        })
    }

    fn get_interaction(&self, id: InteractionId) -> Result<Option<Interaction>> {
        self.with(|c| {
            query_opt(c, &format!("{INTERACTION_SELECT} WHERE id = $1"), &[&id.0])?
                .map(|r| interaction_row(&r))
                .transpose()
        })
    }

    fn list_interactions(&self, customer: Option<CustomerId>, limit: u32, offset: u64) -> Result<Page<Interaction>> {
        let cid = customer.map(|c| c.0);
        let (l, o) = limit_offset(limit, offset);
        self.with(|c| {
            let total = count(
                c,
                "SELECT count(*) FROM interactions WHERE ($1::uuid IS NULL OR customer_id = $1)",
                &[&cid],
            )?;
            let items = c
                .query(
                    &format!(
                        "{INTERACTION_SELECT} WHERE ($1::uuid IS NULL OR customer_id = $1)
                         ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3"
                    ),
                    &[&cid, &l, &o],
                )
                .be()?
                .iter()
                .map(interaction_row)
                .collect::<Result<_>>()?;
            Ok(Page {
                items,
                total,
                limit,
                offset,
            })
        })
    }

    fn audit_log(&self, limit: u32, offset: u64) -> Result<Vec<AuditEntry>> {
        let (l, o) = limit_offset(limit, offset);
        self.with(|c| accounts::read_audit(c, "ORDER BY seq DESC LIMIT $1 OFFSET $2", &[&l, &o]))
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

/// The body of `merge_customers`, inside its transaction.
fn merge(tx: &mut postgres::Transaction<'_>, keep: CustomerId, drop: CustomerId, actor: &Actor) -> Result<MergeReport> {
    lock_identifiers(tx)?;
    lock_customer(tx, keep)?;
    lock_customer(tx, drop)?;
    let kept_before = load_customer(tx, keep)?.ok_or_else(|| StoreError::not_found("customer", keep))?;
    let dropped = load_customer(tx, drop)?.ok_or_else(|| StoreError::not_found("customer", drop))?;
    if kept_before.parent_id == Some(drop) {
        return Err(StoreError::invalid_coded(
            "customer.merge.kept_is_child",
            "drop",
            kesher_core::Params::new(),
            "the kept customer is attached to the dropped one as its parent",
        ));
    }
    let mut kept = kept_before.clone();
    let moved = kept.absorb(&dropped);
    let (kb, db) = (keep.0, drop.0);
    let transactions_moved = tx
        .execute(
            "UPDATE transactions SET customer_id = $1 WHERE customer_id = $2",
            &[&kb, &db],
        )
        .be()?;
    // The lines carry their sale's customer (the key that distributes them by customer).
    tx.execute(
        "UPDATE transaction_lines SET customer_id = $1 WHERE customer_id = $2",
        &[&kb, &db],
    )
    .be()?;
    let interactions_moved = tx
        .execute(
            "UPDATE interactions SET customer_id = $1 WHERE customer_id = $2",
            &[&kb, &db],
        )
        .be()?;
    let children_moved = tx
        .execute("UPDATE customers SET parent_id = $1 WHERE parent_id = $2", &[&kb, &db])
        .be()?;
    for sql in [
        "UPDATE customer_aliases SET customer_id = $1 WHERE customer_id = $2",
        "UPDATE consent_history SET customer_id = $1 WHERE customer_id = $2",
        "UPDATE merges SET kept_id = $1 WHERE kept_id = $2",
    ] {
        tx.execute(sql, &[&kb, &db]).be()?;
    }
    tx.execute("DELETE FROM consents WHERE customer_id = $1", &[&db]).be()?;
    let points_moved = points::merge(tx, keep, drop, actor)?;
    tx.execute("DELETE FROM customers WHERE id = $1", &[&db]).be()?;
    scores::forget(tx, db)?;
    for m in &moved {
        let (kind, value) = m.split_once(':').unwrap_or(("member", m));
        tx.execute(
            "INSERT INTO customer_aliases (kind, value, customer_id) VALUES ($1, $2, $3)
             ON CONFLICT (kind, value) DO UPDATE SET customer_id = EXCLUDED.customer_id",
            &[&kind, &value, &kb],
        )
        .be()?;
    }
    update_customer_row(tx, &kept)?;
    write_consents(tx, keep, &kept.consents, Some(&kept_before.consents))?;
    tx.execute(
        "INSERT INTO merges (dropped_id, kept_id, at) VALUES ($1, $2, $3)
         ON CONFLICT (dropped_id) DO UPDATE SET kept_id = EXCLUDED.kept_id, at = EXCLUDED.at",
        &[&db, &kb, &actor.at],
    )
    .be()?;
    let after = serde_json::json!({
        "kept": customer_json(&kept),
        "transactions_moved": transactions_moved,
        "interactions_moved": interactions_moved,
        "children_moved": children_moved,
        "identifiers_moved": moved,
        "points_moved": points_moved,
    });
    let before = serde_json::json!({ "kept": customer_json(&kept_before), "dropped": customer_json(&dropped) });
    audit(
        tx,
        actor,
        "customer.merge",
        "customer",
        &keep.to_string(),
        Some(&before),
        Some(&after),
    )?;
    Ok(MergeReport {
        kept,
        dropped_id: drop,
        transactions_moved,
        interactions_moved,
        children_moved,
        identifiers_moved: moved,
        points_moved,
    })
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}
