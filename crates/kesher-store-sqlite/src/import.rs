//! The bulk-import unit of work on SQLite: one `BEGIN IMMEDIATE` transaction on the writer
//! connection, prepared statements reused for every row, rolled back unless committed.

use crate::convert::*;
use kesher_core::{
    Branch, BranchId, Customer, CustomerId, Employee, EmployeeId, Interaction, Product, ProductId, Transaction,
    TransactionId,
};
use kesher_store::{ImportTx, Inserted, Result, StoreError};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::sync::MutexGuard;

/// Positive lookups are cached; the cache is cleared when it grows past this many entries so
/// that memory stays bounded whatever the size of the file.
const CACHE_LIMIT: usize = 200_000;

/// Secondary indexes that no import statement reads, by the table (number in `TABLES`) whose
/// rows fill them: a big import drops a table's indexes once it has written this many of its
/// rows (and more than an eighth of the rows already stored), and builds them again, sorted in
/// one pass, just before it commits. Maintaining an index row by row costs a descent from its
/// root for every row, and random page writes all over it when its keys come in no order (a
/// sale's customer, a customer's name); building it once costs a sort (10M sales: the
/// (customer, time) index ~30 s of an import against ~3 s; 1M customers: their name, run and
/// consent-history indexes ~6 s against ~1 s). DDL is transactional in SQLite: a rolled-back
/// import gets its indexes back. The unique indexes stay: they decide what is already present.
const DEFER_INDEXES_AFTER: u64 = if cfg!(test) { 20 } else { 50_000 };
const DEFERRED_INDEXES: [(usize, &[&str]); 2] = [
    (
        3,
        &[
            "customers_name_norm",
            "customers_runs_before",
            "consent_history_customer",
        ],
    ),
    (4, &["transactions_customer"]),
];

pub(crate) struct SqliteImport<'a> {
    conn: MutexGuard<'a, Connection>,
    done: bool,
    customers: HashMap<String, CustomerId>,
    branches: HashMap<String, BranchId>,
    employees: HashMap<String, EmployeeId>,
    products: HashMap<String, ProductId>,
    /// Unit costs of the products this unit has sold.
    costs: HashMap<ProductId, Option<i64>>,
    /// Highest rowid of each table when the unit began: rows above it are this import's.
    marks: [i64; 6],
    /// Whether any customer holds aliases left by a merge (read when the unit begins).
    aliases: bool,
    /// Rows this unit has written, by table (as `marks`).
    written: [u64; 6],
    /// Tables whose `DEFERRED_INDEXES` this unit has dropped.
    deferred_for: [bool; 6],
    /// The `CREATE INDEX` statements of the indexes dropped for the unit, to run before commit.
    deferred: Vec<String>,
    /// The unit switched the file from WAL to a rollback journal (see `begin`).
    rollback_journal: bool,
}

const TABLES: [(&str, &str); 6] = [
    ("branches", "external_id"),
    ("employees", "external_id"),
    ("products", "sku"),
    ("customers", "member_no"),
    ("transactions", "external_id"),
    ("interactions", "external_id"),
];

/// Switch the file from WAL to a rollback journal; false when another connection has it open.
fn leave_wal(conn: &Connection) -> Result<bool> {
    let mode = crate::at_once(conn, |c| {
        c.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get::<_, String>(0))
    })?;
    Ok(mode.is_some_and(|m| m.eq_ignore_ascii_case("delete")))
}

impl<'a> SqliteImport<'a> {
    /// `alone`: no other connection of this process has the file open and the process has it
    /// to itself ([`crate::SqliteStore::open_for_bulk_load`]): the unit then tries a rollback
    /// journal.
    pub(crate) fn begin(conn: MutexGuard<'a, Connection>, alone: bool) -> Result<Self> {
        // Leaving WAL needs every other connection to the file closed: when another has it open,
        // SQLite says the file is busy (or answers with the mode it stays in), without waiting.
        // In a rollback journal, only synchronous = FULL keeps the file whole through a power
        // cut at any moment (NORMAL is enough in WAL); for one bulk unit its few syncs cost
        // nothing worth counting.
        let rollback_journal = alone && leave_wal(&conn)?;
        if rollback_journal {
            conn.execute_batch("PRAGMA synchronous = FULL").be()?;
        }
        let mut unit = SqliteImport {
            marks: [0; 6],
            aliases: false,
            written: [0; 6],
            deferred_for: [false; 6],
            deferred: Vec::new(),
            conn,
            done: false,
            rollback_journal,
            customers: HashMap::new(),
            branches: HashMap::new(),
            employees: HashMap::new(),
            products: HashMap::new(),
            costs: HashMap::new(),
        };
        // From here on a failure drops the unit, which ends it (and the journal switch).
        // The importer resolves every reference itself, so foreign-key checks are switched off
        // for the unit (SQLite only allows that outside a transaction) and on again after it.
        // A larger page cache keeps the indexes' hot pages in memory during a bulk load (a fixed
        // amount: memory does not grow with the file).
        // Temporary files (the sorts of the indexes built at commit) go to disk for the unit: the
        // connections keep theirs in memory, where a big import's would grow with the file.
        // SQLite changes that setting only outside a transaction.
        unit.conn
            .execute_batch(
                "PRAGMA foreign_keys = OFF; PRAGMA cache_size = -262144; PRAGMA temp_store = FILE; BEGIN IMMEDIATE",
            )
            .be()?;
        unit.aliases = unit
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM customer_aliases)", [], |r| {
                r.get::<_, bool>(0)
            })
            .be()?;
        for (t, (table, _)) in TABLES.iter().enumerate() {
            unit.marks[t] = unit
                .conn
                .query_row(&format!("SELECT coalesce(max(rowid), 0) FROM {table}"), [], |r| {
                    r.get(0)
                })
                .be()?;
        }
        Ok(unit)
    }

    /// After the unit's transaction: the connection's settings as before it, and the file back
    /// in WAL when the unit switched it. Nothing is lost when that switch fails: the unit's
    /// outcome is settled, and every connection opened later asks for WAL again.
    fn restore(&self) {
        let _ = self.conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536; PRAGMA threads = 0; PRAGMA temp_store = MEMORY",
        );
        if self.rollback_journal {
            let _ = self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0));
            let _ = self.conn.execute_batch("PRAGMA synchronous = NORMAL");
        }
    }

    /// `AlreadyPresent` or `Repeated`, for a key that exists in table number `t`.
    fn present(&self, t: usize, key: &str) -> Result<Inserted> {
        present(&self.conn, &self.marks, t, key)
    }

    fn settle(&self, t: usize, key: &str, r: Inserted) -> Result<Inserted> {
        if r == Inserted::New {
            Ok(r)
        } else {
            self.present(t, key)
        }
    }

    /// Count `n` more rows written to table number `t`, and drop the table's deferred indexes
    /// once the unit is big enough (see `DEFER_INDEXES_AFTER`).
    fn wrote(&mut self, t: usize, n: u64) -> Result<()> {
        self.written[t] += n;
        let Some((_, names)) = DEFERRED_INDEXES.iter().find(|(table, _)| *table == t) else {
            return Ok(());
        };
        if self.deferred_for[t]
            || self.written[t] < DEFER_INDEXES_AFTER
            || self.written[t].saturating_mul(8) < self.marks[t].max(0) as u64
        {
            return Ok(());
        }
        self.deferred_for[t] = true;
        for name in *names {
            let sql: Option<String> = self
                .conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                    [name],
                    |r| r.get(0),
                )
                .optional()
                .be()?;
            if let Some(sql) = sql {
                self.conn.execute_batch(&format!("DROP INDEX {name}")).be()?;
                self.deferred.push(sql);
            }
        }
        Ok(())
    }

    /// Insert a group of customers' rows, pushing each one's outcome to `out` in order: with one
    /// statement when no merge has left aliases behind (the unique indexes alone then guard
    /// every identifier), and one by one for a single row, under aliases, and for the rows a
    /// statement that failed part-way did not write, so that each outcome and error is the
    /// row's own.
    fn write_customers(&mut self, group: &[&Customer], out: &mut Vec<Result<Inserted>>) {
        let together = group.len() > 1 && !self.aliases;
        // Some(true): every row landed; Some(false): the statement ran and skipped the rows
        // whose member number is present; None: it failed part-way (or was not tried).
        let ran = match together {
            true => insert_customer_heads(&self.conn, group),
            false => Ok(None),
        };
        match ran {
            Ok(Some(true)) => out.extend(group.iter().map(|_| Ok(Inserted::New))),
            Ok(ran) => {
                for c in group {
                    let landed = if together { self.landed(c) } else { Ok(false) };
                    out.push(match landed {
                        Err(e) => Err(e),
                        Ok(true) => Ok(Inserted::New),
                        Ok(false) if ran.is_some() => self.present(3, c.member_no.as_deref().unwrap_or_default()),
                        Ok(false) => self.write_customer(c),
                    });
                }
            }
            Err(e) => {
                // The statement could not be prepared or bound: a backend failure, which ends
                // the import.
                let reason = e.to_string();
                out.extend(group.iter().map(|_| Err(StoreError::Backend(reason.clone()))));
            }
        }
    }

    /// Whether this unit wrote customer `c`'s row (by its id, which is new to the store).
    fn landed(&self, c: &Customer) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM customers WHERE id = ?1)")
            .be()?
            .query_row([&c.id.as_bytes()[..]], |r| r.get(0))
            .be()
    }

    /// Insert a customer's row (`ImportTx::insert_customers` writes the consents).
    fn write_customer(&mut self, c: &Customer) -> Result<Inserted> {
        if !self.aliases {
            // No merge has left aliases behind, so the unique indexes alone guard every
            // identifier: insert straight away and explain a violation only when one happens.
            return match insert_customer_head(&self.conn, c) {
                Ok(Inserted::New) => Ok(Inserted::New),
                Ok(_) => self.present(3, c.member_no.as_deref().unwrap_or_default()),
                Err(StoreError::Conflict { reason, .. })
                    if reason.starts_with("UNIQUE constraint failed: customers.") =>
                {
                    check_identifiers_free(&self.conn, c)?;
                    Err(StoreError::conflict("id", reason))
                }
                Err(e) => Err(e),
            };
        }
        if let Some(m) = &c.member_no
            && find_by_identifier(&self.conn, "member", m)?.is_some()
        {
            // A member number kept as an alias after a merge counts as present.
            return Ok(match self.present(3, m)? {
                Inserted::Repeated => Inserted::Repeated,
                _ => Inserted::AlreadyPresent,
            });
        }
        check_identifiers_free(&self.conn, c)?;
        insert_customer_head(&self.conn, c)
    }

    fn id_by(&self, sql: &str, key: &str) -> Result<Option<[u8; 16]>> {
        let v: Option<Vec<u8>> = self
            .conn
            .prepare_cached(sql)
            .be()?
            .query_row([key], |r| r.get(0))
            .optional()
            .be()?;
        v.map(|v| blob16(&v)).transpose()
    }
}

/// `AlreadyPresent` or `Repeated`, for a key that exists in table number `t`: rows above the
/// unit's mark are its own.
fn present(conn: &Connection, marks: &[i64; 6], t: usize, key: &str) -> Result<Inserted> {
    let (table, col) = TABLES[t];
    let rowid: Option<i64> = conn
        .prepare_cached(&format!("SELECT rowid FROM {table} WHERE {col} = ?1"))
        .be()?
        .query_row([key], |r| r.get(0))
        .optional()
        .be()?;
    Ok(if rowid.is_some_and(|r| r > marks[t]) {
        Inserted::Repeated
    } else {
        Inserted::AlreadyPresent
    })
}

fn cached<K: Clone + Into<String> + AsRef<str>, V: Copy>(
    cache: &mut HashMap<String, V>,
    key: K,
    load: impl FnOnce() -> Result<Option<V>>,
) -> Result<Option<V>> {
    if let Some(v) = cache.get(key.as_ref()) {
        return Ok(Some(*v));
    }
    let v = load()?;
    if let Some(v) = v {
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key.into(), v);
    }
    Ok(v)
}

impl ImportTx for SqliteImport<'_> {
    fn branch_ref(&mut self, ext: &str) -> Result<Option<BranchId>> {
        if let Some(v) = self.branches.get(ext) {
            return Ok(Some(*v));
        }
        let v = self
            .id_by("SELECT id FROM branches WHERE external_id = ?1", ext)?
            .map(BranchId::from_bytes);
        cached(&mut self.branches, ext, || Ok(v))
    }

    fn employee_ref(&mut self, ext: &str) -> Result<Option<EmployeeId>> {
        if let Some(v) = self.employees.get(ext) {
            return Ok(Some(*v));
        }
        let v = self
            .id_by("SELECT id FROM employees WHERE external_id = ?1", ext)?
            .map(EmployeeId::from_bytes);
        cached(&mut self.employees, ext, || Ok(v))
    }

    fn customer_ref(&mut self, member_no: &str) -> Result<Option<CustomerId>> {
        if let Some(v) = self.customers.get(member_no) {
            return Ok(Some(*v));
        }
        let v = find_by_identifier(&self.conn, "member", member_no)?;
        cached(&mut self.customers, member_no, || Ok(v))
    }

    fn product_ref(&mut self, sku: &str) -> Result<Option<ProductId>> {
        if let Some(v) = self.products.get(sku) {
            return Ok(Some(*v));
        }
        let v = self
            .id_by("SELECT id FROM products WHERE sku = ?1", sku)?
            .map(ProductId::from_bytes);
        cached(&mut self.products, sku, || Ok(v))
    }

    fn product_currency(&mut self, sku: &str) -> Result<Option<kesher_core::Currency>> {
        let code: Option<String> = self
            .conn
            .prepare_cached("SELECT currency FROM products WHERE sku = ?1")
            .be()?
            .query_row([sku], |r| r.get(0))
            .optional()
            .be()?;
        code.map(|c| {
            kesher_core::Currency::from_stored(&c).map_err(|e| StoreError::Backend(format!("stored currency: {e}")))
        })
        .transpose()
    }

    fn transaction_ref(&mut self, ext: &str) -> Result<Option<TransactionId>> {
        Ok(self
            .id_by("SELECT id FROM transactions WHERE external_id = ?1", ext)?
            .map(TransactionId::from_bytes))
    }

    fn insert_branch(&mut self, b: &Branch) -> Result<Inserted> {
        let r = insert_branch(&self.conn, b)?;
        self.settle(0, &b.external_id, r)
    }

    fn insert_employee(&mut self, e: &Employee) -> Result<Inserted> {
        let r = insert_employee(&self.conn, e)?;
        self.settle(1, &e.external_id, r)
    }

    fn insert_product(&mut self, p: &Product) -> Result<Inserted> {
        let r = insert_product(&self.conn, p)?;
        self.settle(2, &p.sku, r)
    }

    fn insert_customer(&mut self, c: &Customer) -> Result<Inserted> {
        // One customer in, one outcome out.
        self.insert_customers(&[c])
            .pop()
            .unwrap_or_else(|| Err(StoreError::Backend("no outcome for the customer".into())))
    }

    fn insert_customers(&mut self, cs: &[&Customer]) -> Vec<Result<Inserted>> {
        // Rows are written many per statement, each checked against the rows before it by the
        // unique indexes; the new customers' consents follow together, many per statement.
        let mut out = Vec::with_capacity(cs.len());
        let mut rest = cs;
        while !rest.is_empty() {
            let (group, tail) = rest.split_at(pow2_at_most(rest.len(), CUSTOMERS_PER_INSERT));
            rest = tail;
            self.write_customers(group, &mut out);
        }
        let mut consents = Vec::new();
        let mut new = 0;
        for (c, r) in cs.iter().zip(&out) {
            if matches!(r, Ok(Inserted::New)) {
                new += 1;
                consents.extend(c.consents.iter().map(|k| (c.id, k)));
            }
        }
        // A failure here is a backend's (the customers are new: no consent can conflict), which
        // ends the import; it surfaces on the last customer.
        let done = write_new_consents(&self.conn, &consents).and_then(|()| self.wrote(3, new));
        if let Err(e) = done
            && let Some(last) = out.last_mut()
        {
            *last = Err(e);
        }
        out
    }

    fn insert_transaction(&mut self, t: &Transaction) -> Result<Inserted> {
        let (conn, costs) = (&self.conn, &mut self.costs);
        let mut unit_cost = |p: ProductId| -> Result<Option<i64>> {
            if let Some(c) = costs.get(&p) {
                return Ok(*c);
            }
            let c = product_cost(conn, p)?;
            costs.insert(p, c);
            Ok(c)
        };
        match insert_transaction_rows(conn, t, &mut unit_cost)? {
            Inserted::New => {
                self.wrote(4, 1)?;
                Ok(Inserted::New)
            }
            _ => self.present(4, &t.external_id),
        }
    }

    fn insert_transactions(&mut self, ts: &[&Transaction]) -> Vec<Result<Inserted>> {
        let mut out = Vec::with_capacity(ts.len());
        let (conn, costs) = (&self.conn, &mut self.costs);
        let mut unit_cost = |p: ProductId| -> Result<Option<i64>> {
            if let Some(c) = costs.get(&p) {
                return Ok(*c);
            }
            let c = product_cost(conn, p)?;
            costs.insert(p, c);
            Ok(c)
        };
        let mut st = match SaleStatements::new(conn) {
            Ok(st) => st,
            Err(e) => {
                out.push(Err(e));
                return out;
            }
        };
        let mut new = 0;
        for (t, r) in ts.iter().zip(st.insert_many(ts, &mut unit_cost)) {
            out.push(match r {
                Ok(Inserted::New) => {
                    new += 1;
                    Ok(Inserted::New)
                }
                Ok(_) => present(conn, &self.marks, 4, &t.external_id),
                Err(e) => Err(e),
            });
        }
        // The last lines are written now; a failure surfaces on the last sale (it is fatal: the
        // import stops and rolls back).
        if let Err(e) = st.finish()
            && let Some(last) = out.last_mut()
        {
            *last = Err(e);
        }
        if let Err(e) = self.wrote(4, new) {
            // The sales are written; the failure surfaces on the last of them.
            if let Some(last) = out.last_mut() {
                *last = Err(e);
            }
        }
        out
    }

    fn insert_interaction(&mut self, i: &Interaction) -> Result<Inserted> {
        let r = insert_interaction_row(&self.conn, i)?;
        match &i.external_id {
            Some(ext) => self.settle(5, ext, r),
            None => Ok(r),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        if !self.deferred.is_empty() {
            // Sorting for the rebuilt indexes may use a second core (SQLite's sorter threads).
            // The sorter keeps a run or two in memory, each as large as the page cache, and
            // writes the rest to temporary files (on disk for the unit, see `begin`): a smaller
            // cache for the build bounds its memory whatever the number of rows (the loaded
            // pages are written at commit either way).
            self.conn
                .execute_batch("PRAGMA threads = 2; PRAGMA cache_size = -65536")
                .be()?;
        }
        for sql in std::mem::take(&mut self.deferred) {
            self.conn.execute_batch(&sql).be()?;
        }
        self.conn.execute_batch("COMMIT").be()?;
        self.done = true;
        self.restore();
        Ok(())
    }
}

impl Drop for SqliteImport<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing of an unfinished import may land; a failed rollback leaves the
            // transaction open, which SQLite discards when the connection is next used.
            let _ = self.conn.execute_batch("ROLLBACK");
            self.restore();
        }
    }
}

crate::unit::points_rows_on_conn!(SqliteImport<'_>);
