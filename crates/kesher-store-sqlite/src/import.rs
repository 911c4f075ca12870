//! The bulk-import unit of work on SQLite: prepared statements reused for every row, on the
//! writer connection, in one of two ways. A process that has the file to itself writes the whole
//! import in one `BEGIN IMMEDIATE` transaction, rolled back unless committed. Otherwise (a server
//! shares the file) the import commits in slices of about `SLICE` each, so that a till's sale
//! waits for a slice at most, never for the file: the import and the row ranges its slices wrote
//! are recorded (`imports`, `import_slices`), its last slice deletes that record, and an import
//! that fails, or that a killed process left behind, is removed range by range
//! ([`remove_import`]), in short transactions too.

use crate::convert::*;
use kesher_core::{
    Branch, BranchId, Customer, CustomerId, Employee, EmployeeId, Interaction, Product, ProductId, Transaction,
    TransactionId,
};
use kesher_store::{ImportTx, Inserted, Result, StoreError};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::fs::File;
use std::sync::MutexGuard;
use std::time::{Duration, Instant};

/// How long a slice of an import holds the write lock before it commits: long enough that the
/// commits cost nothing worth counting, short enough for a till's sale to get through in time.
const SLICE: Duration = if cfg!(test) {
    Duration::ZERO
} else {
    Duration::from_millis(200)
};

/// Rows a removal deletes per table and transaction.
const REMOVE_CHUNK: i64 = if cfg!(test) { 3 } else { 2_000 };

/// The tables whose rows an import's slices record by row-number range: `TABLES` (same numbers)
/// and the points ledger (`--award-points`). Lines, consents, consent history and balances are
/// found from these.
const RANGED: [&str; 7] = [
    "branches",
    "employees",
    "products",
    "customers",
    "transactions",
    "interactions",
    "points_ledger",
];
const LEDGER: usize = 6;

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
            "customers_surname",
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
    /// Highest rowid of each `RANGED` table when the unit (in slices: the current slice) began:
    /// rows above it are this import's.
    marks: [i64; 7],
    /// In slices: the import's record and the ranges its committed slices wrote.
    slices: Option<Slices>,
    /// The import file, held locked for the unit's life (`SqliteStore::begin_import`).
    _lock: Option<File>,
    /// The file other writers announce themselves on (`crate::Writer`).
    writers: Option<File>,
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

/// An import committing in slices.
struct Slices {
    /// Its row in `imports`.
    id: i64,
    /// When the current slice began.
    started: Instant,
    /// The ranges (lo, hi] of row numbers that its committed slices wrote, per `RANGED` table,
    /// ascending.
    own: [Vec<(i64, i64)>; 7],
    /// Rows of `merges` when the current slice began: a merge between two slices may have
    /// removed a customer the cache still names.
    merges: i64,
}

/// Whether row `rowid` of table number `t` is this import's: above the current mark, or in a
/// range a committed slice wrote.
fn own(marks: &[i64; 7], slices: Option<&Slices>, t: usize, rowid: i64) -> bool {
    if rowid > marks[t] {
        return true;
    }
    let Some(s) = slices else { return false };
    let ranges = &s.own[t];
    let after = ranges.partition_point(|(lo, _)| *lo < rowid);
    after > 0 && ranges[after - 1].1 >= rowid
}

fn max_rowids(conn: &Connection) -> Result<[i64; 7]> {
    let mut marks = [0; 7];
    for (t, table) in RANGED.iter().enumerate() {
        marks[t] = conn
            .prepare_cached(&format!("SELECT coalesce(max(rowid), 0) FROM {table}"))
            .be()?
            .query_row([], |r| r.get(0))
            .be()?;
    }
    Ok(marks)
}

fn merges_count(conn: &Connection) -> Result<i64> {
    conn.prepare_cached("SELECT coalesce(max(rowid), 0) FROM merges")
        .be()?
        .query_row([], |r| r.get(0))
        .be()
}

/// Between two slices: when a writer waits for the lock (it holds the writers file shared, see
/// `crate::Writer`), wait until it has taken the lock and written, a second at most.
fn yield_to_writers(writers: Option<&File>) {
    let Some(f) = writers else { return };
    let until = Instant::now() + Duration::from_secs(1);
    loop {
        if f.try_lock().is_ok() {
            let _ = f.unlock();
            return;
        }
        if Instant::now() >= until {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
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
    /// Otherwise the unit commits in slices. `lock`: the import file, held locked; `writers`:
    /// the file waiting writers announce themselves on.
    pub(crate) fn begin(
        conn: MutexGuard<'a, Connection>,
        alone: bool,
        lock: Option<File>,
        writers: Option<File>,
    ) -> Result<Self> {
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
            marks: [0; 7],
            slices: None,
            _lock: lock,
            writers,
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
        unit.marks = max_rowids(&unit.conn)?;
        if !rollback_journal {
            let m = unit.marks;
            unit.conn
                .execute(
                    "INSERT INTO imports (sale_mark, customer_mark, interaction_mark, ledger_mark) VALUES (?1, ?2, ?3, ?4)",
                    [m[4], m[3], m[5], m[LEDGER]],
                )
                .be()?;
            unit.slices = Some(Slices {
                id: unit.conn.last_insert_rowid(),
                started: Instant::now(),
                own: Default::default(),
                merges: merges_count(&unit.conn)?,
            });
        }
        Ok(unit)
    }

    /// In slices, once the current slice has run for `SLICE`: record the ranges it wrote, commit
    /// it, let a waiting writer in, and begin the next. Called where the unit's rows are whole
    /// (before each write; between the pages of an award).
    fn slice_point(&mut self) -> Result<()> {
        let Some(slices) = &self.slices else { return Ok(()) };
        if slices.started.elapsed() < SLICE {
            return Ok(());
        }
        self.end_slice()?;
        yield_to_writers(self.writers.as_ref());
        self.conn.execute_batch("BEGIN IMMEDIATE").be()?;
        self.marks = max_rowids(&self.conn)?;
        self.aliases = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM customer_aliases)", [], |r| {
                r.get::<_, bool>(0)
            })
            .be()?;
        let merges = merges_count(&self.conn)?;
        if let Some(s) = &mut self.slices {
            if s.merges != merges {
                // A customer the cache names may have been merged away.
                self.customers.clear();
                s.merges = merges;
            }
            s.started = Instant::now();
        }
        Ok(())
    }

    /// Record the ranges the current slice wrote and commit it.
    fn end_slice(&mut self) -> Result<()> {
        let Some(slices) = &mut self.slices else { return Ok(()) };
        let now = max_rowids(&self.conn)?;
        for (t, table) in RANGED.iter().enumerate() {
            if now[t] > self.marks[t] {
                self.conn
                    .prepare_cached("INSERT INTO import_slices (import_id, tbl, lo, hi) VALUES (?1, ?2, ?3, ?4)")
                    .be()?
                    .execute(rusqlite::params![slices.id, table, self.marks[t], now[t]])
                    .be()?;
                slices.own[t].push((self.marks[t], now[t]));
                self.marks[t] = now[t];
            }
        }
        self.conn.execute_batch("COMMIT").be()
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
        present(&self.conn, &self.marks, self.slices.as_ref(), t, key)
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
        // In slices the indexes stay: other connections read and write beside the import, and
        // building one again at the end would hold the lock for far longer than a slice.
        if self.deferred_for[t]
            || self.slices.is_some()
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

/// `AlreadyPresent` or `Repeated`, for a key that exists in table number `t`: rows this unit
/// wrote are its own (see [`own`]).
fn present(conn: &Connection, marks: &[i64; 7], slices: Option<&Slices>, t: usize, key: &str) -> Result<Inserted> {
    let (table, col) = TABLES[t];
    let rowid: Option<i64> = conn
        .prepare_cached(&format!("SELECT rowid FROM {table} WHERE {col} = ?1"))
        .be()?
        .query_row([key], |r| r.get(0))
        .optional()
        .be()?;
    Ok(if rowid.is_some_and(|r| own(marks, slices, t, r)) {
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
        self.slice_point()?;
        let r = insert_branch(&self.conn, b)?;
        self.settle(0, &b.external_id, r)
    }

    fn insert_employee(&mut self, e: &Employee) -> Result<Inserted> {
        self.slice_point()?;
        let r = insert_employee(&self.conn, e)?;
        self.settle(1, &e.external_id, r)
    }

    fn insert_product(&mut self, p: &Product) -> Result<Inserted> {
        self.slice_point()?;
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
        if let Err(e) = self.slice_point() {
            return cs.iter().map(|_| Err(StoreError::Backend(e.to_string()))).collect();
        }
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
        self.slice_point()?;
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
        if let Err(e) = self.slice_point() {
            out.push(Err(e));
            return out;
        }
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
                Ok(_) => present(conn, &self.marks, self.slices.as_ref(), 4, &t.external_id),
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
        self.slice_point()?;
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
        if let Some(slices) = &self.slices {
            // The last slice forgets the import's record with it: from its commit on, every
            // row of the import is the business's.
            self.conn
                .execute("DELETE FROM import_slices WHERE import_id = ?1", [slices.id])
                .be()?;
            self.conn
                .execute("DELETE FROM imports WHERE id = ?1", [slices.id])
                .be()?;
            // One import runs at a time (the import file): every pin was this one's.
            self.conn.execute("DELETE FROM import_pinned_sales", []).be()?;
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
            if let Some(slices) = &self.slices {
                // The committed slices are removed now; when that fails, the record stays and
                // the next open or import removes them.
                let _ = remove_import(&self.conn, slices.id, self.writers.as_ref());
            }
            self.restore();
        }
    }
}

crate::unit::points_rows_on_conn!(SqliteImport<'_>;
    fn between_pages(&mut self) -> kesher_store::Result<()> {
        self.slice_point()
    }
    fn commits_between_pages(&self) -> bool {
        self.slices.is_some()
    }
);

/// Remove every import the database lists: the caller holds the import file locked, so no
/// process runs any of them (a killed one left them behind).
pub(crate) fn remove_abandoned(conn: &Connection, writers: Option<&File>) -> Result<()> {
    let ids: Vec<i64> = conn
        .prepare("SELECT id FROM imports ORDER BY id")
        .be()?
        .query_map([], |r| r.get(0))
        .be()?
        .collect::<rusqlite::Result<_>>()
        .be()?;
    for id in ids {
        remove_import(conn, id, writers)?;
    }
    Ok(())
}

/// The marks an import recorded when it began (see `imports`): rows above them that are not the
/// import's were written beside it, and only those can refer to its rows.
struct ImportMarks {
    sale: i64,
    customer: i64,
    interaction: i64,
    ledger: i64,
}

/// Remove import `id`: the rows its committed slices wrote, the points it awarded (balances
/// summed again from the ledger), the customers' consents and history, then its record. Tables
/// go children first, each range from the top, `REMOVE_CHUNK` rows per transaction, with a
/// waiting writer let in between two (so a till waits no longer for a removal than for an
/// import); the record shrinks with each transaction, so a removal cut short goes on where it
/// stopped. A row that rows written beside the import refer to stays (a customer a till sold
/// to, a sale a till refunded or was answered with — `import_pinned_sales` —, and what those
/// refer to): it has become the business's. The points the import awarded go, those of a kept
/// sale too. An import writes no loyalty membership nor membership event (no `ImportTx`
/// operation does), so none is removed: one made beside the import for an imported customer, at
/// an imported branch or by an imported employee keeps what it names, like a till's sale.
pub(crate) fn remove_import(conn: &Connection, id: i64, writers: Option<&File>) -> Result<()> {
    // Foreign keys are checked by hand below: SQLite's check of a deleted row's children scans
    // every child table without an index on the reference (a sale's lines by product, the
    // ledger by sale), for each row. SQLite switches them only outside a transaction.
    if !conn.is_autocommit() {
        conn.execute_batch("ROLLBACK").be()?;
    }
    let fk: bool = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).be()?;
    conn.execute_batch("PRAGMA foreign_keys = OFF").be()?;
    let out = remove_ranges(conn, id, writers);
    if fk {
        let _ = conn.execute_batch("PRAGMA foreign_keys = ON");
    }
    out
}

fn remove_ranges(conn: &Connection, id: i64, writers: Option<&File>) -> Result<()> {
    let marks = conn
        .query_row(
            "SELECT sale_mark, customer_mark, interaction_mark, ledger_mark FROM imports WHERE id = ?1",
            [id],
            |r| {
                Ok(ImportMarks {
                    sale: r.get(0)?,
                    customer: r.get(1)?,
                    interaction: r.get(2)?,
                    ledger: r.get(3)?,
                })
            },
        )
        .optional()
        .be()?;
    let Some(marks) = marks else { return Ok(()) };
    // Children before parents: the ledger, sales (refunds first) with their lines, contacts,
    // customers, then products, employees and branches.
    for t in [LEDGER, 4, 5, 3, 2, 1, 0] {
        loop {
            let tx = Chunk::begin(conn)?;
            let range: Option<(i64, i64)> = conn
                .query_row(
                    "SELECT lo, hi FROM import_slices WHERE import_id = ?1 AND tbl = ?2 ORDER BY lo DESC LIMIT 1",
                    rusqlite::params![id, RANGED[t]],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .be()?;
            let Some((lo, hi)) = range else {
                tx.commit()?;
                break;
            };
            let from = lo.max(hi - REMOVE_CHUNK);
            remove_rows(conn, t, from, hi, &marks)?;
            if from == lo {
                conn.execute(
                    "DELETE FROM import_slices WHERE import_id = ?1 AND tbl = ?2 AND lo = ?3",
                    rusqlite::params![id, RANGED[t], lo],
                )
                .be()?;
            } else {
                conn.execute(
                    "UPDATE import_slices SET hi = ?4 WHERE import_id = ?1 AND tbl = ?2 AND lo = ?3",
                    rusqlite::params![id, RANGED[t], lo, from],
                )
                .be()?;
            }
            tx.commit()?;
            yield_to_writers(writers);
        }
    }
    let tx = Chunk::begin(conn)?;
    conn.execute("DELETE FROM imports WHERE id = ?1", [id]).be()?;
    if !conn
        .query_row("SELECT EXISTS (SELECT 1 FROM imports)", [], |r| r.get::<_, bool>(0))
        .be()?
    {
        conn.execute("DELETE FROM import_pinned_sales", []).be()?;
    }
    tx.commit()
}

/// One transaction of a removal, rolled back unless committed.
struct Chunk<'c>(&'c Connection, bool);

impl<'c> Chunk<'c> {
    fn begin(conn: &'c Connection) -> Result<Chunk<'c>> {
        conn.execute_batch("BEGIN IMMEDIATE").be()?;
        Ok(Chunk(conn, false))
    }
    fn commit(mut self) -> Result<()> {
        self.0.execute_batch("COMMIT").be()?;
        self.1 = true;
        Ok(())
    }
}

impl Drop for Chunk<'_> {
    fn drop(&mut self) {
        if !self.1 {
            let _ = self.0.execute_batch("ROLLBACK");
        }
    }
}

/// Delete the rows numbered (`from`, `to`] of `RANGED` table `t` that nothing written beside
/// the import refers to.
fn remove_rows(conn: &Connection, t: usize, from: i64, to: i64, m: &ImportMarks) -> Result<()> {
    let run = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<usize> {
        conn.prepare_cached(sql).be()?.execute(params).be()
    };
    match t {
        LEDGER => {
            let customers: Vec<Vec<u8>> = conn
                .prepare_cached("SELECT DISTINCT customer_id FROM points_ledger WHERE seq > ?1 AND seq <= ?2")
                .be()?
                .query_map([from, to], |r| r.get(0))
                .be()?
                .collect::<rusqlite::Result<_>>()
                .be()?;
            // The ledger is append-only to everyone else: its guard is lifted inside this
            // transaction only (DDL is transactional: no other connection sees it missing).
            let guard: Option<String> = conn
                .query_row(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'points_ledger_no_delete'",
                    [],
                    |r| r.get(0),
                )
                .optional()
                .be()?;
            if guard.is_some() {
                conn.execute_batch("DROP TRIGGER points_ledger_no_delete").be()?;
            }
            run("DELETE FROM points_ledger WHERE seq > ?1 AND seq <= ?2", &[&from, &to])?;
            if let Some(sql) = guard {
                conn.execute_batch(&sql).be()?;
            }
            for c in customers {
                run(
                    "UPDATE points_balances SET balance = (SELECT coalesce(sum(points), 0) FROM points_ledger WHERE customer_id = ?1)
                     WHERE customer_id = ?1",
                    &[&c],
                )?;
                run(
                    "DELETE FROM points_balances WHERE customer_id = ?1
                     AND NOT EXISTS (SELECT 1 FROM points_ledger WHERE customer_id = ?1)",
                    &[&c],
                )?;
            }
        }
        4 => {
            // Refunds first: a refund in the same range still refers to its sale.
            const KEPT: &str = "(EXISTS (SELECT 1 FROM transactions r WHERE r.refund_of = t.id)
                OR EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'earn')
                OR EXISTS (SELECT 1 FROM points_ledger l WHERE l.transaction_id = t.id AND l.kind = 'reverse')
                OR EXISTS (SELECT 1 FROM import_pinned_sales p WHERE p.seq = t.seq))";
            for which in ["t.refund_of IS NOT NULL", "t.refund_of IS NULL"] {
                run(
                    &format!(
                        "DELETE FROM transaction_lines WHERE sale IN
                         (SELECT seq FROM transactions t WHERE t.seq > ?1 AND t.seq <= ?2 AND {which} AND NOT {KEPT})"
                    ),
                    &[&from, &to],
                )?;
                run(
                    &format!(
                        "DELETE FROM transactions AS t WHERE t.seq > ?1 AND t.seq <= ?2 AND {which} AND NOT {KEPT}"
                    ),
                    &[&from, &to],
                )?;
            }
        }
        5 => {
            run(
                "DELETE FROM interactions WHERE rowid > ?1 AND rowid <= ?2",
                &[&from, &to],
            )?;
        }
        3 => {
            // A household's members before their head: a pass removes the members, the next one
            // the head they no longer refer to.
            loop {
                let gone: Vec<Vec<u8>> = conn
                    .prepare_cached(
                        "SELECT id FROM customers c WHERE c.rowid > ?1 AND c.rowid <= ?2
                         AND NOT EXISTS (SELECT 1 FROM transactions WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM interactions WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM points_ledger WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM customers k WHERE k.parent_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM customer_aliases WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM erasures WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM merges WHERE kept_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM loyalty_members WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM loyalty_members WHERE invited_by = c.id)
                         AND NOT EXISTS (SELECT 1 FROM loyalty_member_events WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM loyalty_benefit_grants WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM segment_members WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM segment_events WHERE customer_id = c.id)
                         AND NOT EXISTS (SELECT 1 FROM campaign_messages WHERE customer_id = c.id)",
                    )
                    .be()?
                    .query_map([from, to], |r| r.get(0))
                    .be()?
                    .collect::<rusqlite::Result<_>>()
                    .be()?;
                if gone.is_empty() {
                    break;
                }
                for c in &gone {
                    for sql in [
                        "DELETE FROM consents WHERE customer_id = ?1",
                        "DELETE FROM consent_history WHERE customer_id = ?1",
                        "DELETE FROM customer_scores WHERE customer_id = ?1",
                        "DELETE FROM customer_stages WHERE month IN (SELECT month FROM stage_months) AND customer_id = ?1",
                        "DELETE FROM points_balances WHERE customer_id = ?1",
                        "DELETE FROM customers WHERE id = ?1",
                    ] {
                        run(sql, &[c])?;
                    }
                }
            }
        }
        2 => {
            run(
                "DELETE FROM products WHERE rowid > ?1 AND rowid <= ?2
                 AND id NOT IN (SELECT product_id FROM transaction_lines WHERE sale > ?3 AND product_id IS NOT NULL)",
                &[&from, &to, &m.sale],
            )?;
        }
        1 => {
            run(
                "DELETE FROM employees WHERE rowid > ?1 AND rowid <= ?2
                 AND id NOT IN (SELECT employee_id FROM transactions WHERE seq > ?3 AND employee_id IS NOT NULL)
                 AND id NOT IN (SELECT source_employee FROM customers WHERE rowid > ?4 AND source_employee IS NOT NULL)
                 AND id NOT IN (SELECT employee_id FROM interactions WHERE rowid > ?5 AND employee_id IS NOT NULL)
                 AND id NOT IN (SELECT employee_id FROM loyalty_members WHERE employee_id IS NOT NULL)
                 AND id NOT IN (SELECT employee_id FROM loyalty_member_events WHERE employee_id IS NOT NULL)",
                &[&from, &to, &m.sale, &m.customer, &m.interaction],
            )?;
        }
        _ => {
            run(
                "DELETE FROM branches WHERE rowid > ?1 AND rowid <= ?2
                 AND id NOT IN (SELECT branch_id FROM transactions WHERE seq > ?3)
                 AND id NOT IN (SELECT source_branch FROM customers WHERE rowid > ?4 AND source_branch IS NOT NULL)
                 AND id NOT IN (SELECT branch_id FROM points_ledger WHERE seq > ?5 AND branch_id IS NOT NULL)
                 AND id NOT IN (SELECT branch_id FROM employees WHERE branch_id IS NOT NULL)
                 AND id NOT IN (SELECT branch_id FROM users WHERE branch_id IS NOT NULL)
                 AND id NOT IN (SELECT branch_id FROM api_tokens WHERE branch_id IS NOT NULL)
                 AND id NOT IN (SELECT branch_id FROM loyalty_members WHERE branch_id IS NOT NULL)
                 AND id NOT IN (SELECT branch_id FROM loyalty_member_events WHERE branch_id IS NOT NULL)",
                &[&from, &to, &m.sale, &m.customer, &m.ledger],
            )?;
        }
    }
    Ok(())
}
