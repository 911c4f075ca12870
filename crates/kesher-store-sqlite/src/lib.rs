//! kesher's embedded store: the `Store` trait on one SQLite file (WAL, versioned migrations).
//!
//! One writer connection and a few reader connections share the file; WAL lets readers run
//! beside the writer. Every multi-row write runs in one transaction.

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
mod segments;
mod unit;

use convert::*;
use jiff::Timestamp;
use kesher_core::{
    Branch, BranchId, Customer, CustomerId, DuplicateCandidate, Employee, EmployeeId, Interaction, InteractionId,
    Product, ProductId, Transaction, TransactionId,
};
use kesher_store::bulk::{BulkWrite, TableSpec, Value};
use kesher_store::rows::{
    self, BRANCH_SELECT, Columns, DUPLICATE_SELECT, EMPLOYEE_SELECT, INTERACTION_SELECT, PRODUCT_SELECT, SCORE_SELECT,
};
use kesher_store::search;
use kesher_store::{
    Actor, AuditEntry, AuditQuery, BasketRow, ConsentEvent, Counts, CustomerQuery, CustomerScore, Identifier, ImportTx,
    Inserted, Page, PurchaseRow, Result, Store, StoreError,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

const READERS: usize = 4;
/// How long a connection waits for another's lock.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The SQLite implementation of `Store`.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Opened on first use.
    readers: Vec<OnceLock<Mutex<Connection>>>,
    next_reader: AtomicUsize,
    /// See [`SqliteStore::open_for_bulk_load`].
    bulk_load: bool,
    /// The `-writers` file beside the database (see [`Writer`]); none in memory.
    writers: Option<std::fs::File>,
}

impl SqliteStore {
    /// Every sale of an identified customer (refunds left out), handed over one by one: by
    /// customer then time along the (customer, time) index when `ordered`, else the table in
    /// storage order (one sequential pass instead of the index walk and a row lookup per sale,
    /// which takes twice as long), its two halves read at once on two reader connections from
    /// one snapshot.
    fn purchases(&self, ordered: bool, f: &mut dyn FnMut(&PurchaseRow)) -> Result<()> {
        self.purchases_split_from(ordered, SPLIT_SCAN_FROM, f)
    }

    /// [`Self::purchases`], the unordered read split in two from `split_from` sales on (by
    /// their numbers).
    fn purchases_split_from(&self, ordered: bool, split_from: i64, f: &mut dyn FnMut(&PurchaseRow)) -> Result<()> {
        if ordered {
            return read_purchases(&*self.read()?, true, None, f);
        }
        let mut lo = self.read()?;
        let (first, last): (Option<i64>, Option<i64>) = lo
            // Each its own subquery: SQLite answers a lone min() or max() from the b-tree's end.
            .query_row(
                "SELECT (SELECT min(seq) FROM transactions), (SELECT max(seq) FROM transactions)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .be()?;
        let (Some(first), Some(last)) = (first, last) else {
            return Ok(());
        };
        if last - first < split_from {
            return read_purchases(&lo, false, None, f);
        }
        let split = first + (last - first) / 2 + 1;
        let Some(mut hi) = self.try_read() else {
            return read_purchases(&lo, false, None, f);
        };
        // Both snapshots are taken while no one can commit, so that the halves see the same
        // sales (a merge moves sales between customers, an import adds them); when a writer is
        // busy, read on one connection.
        let Ok(w) = self.writer.try_lock() else {
            return read_purchases(&lo, false, None, f);
        };
        let Some(lock) = WriteLock::take(&w)? else {
            return read_purchases(&lo, false, None, f);
        };
        let lo = ReadSnapshot::begin(&mut lo)?;
        let hi = ReadSnapshot::begin(&mut hi)?;
        drop(lock);
        drop(w);
        std::thread::scope(|scope| {
            // The upper half is buffered meanwhile, and handed over after the lower one.
            let upper = scope.spawn(move || {
                let mut rows = Vec::new();
                read_purchases(hi.0, false, Some((split, i64::MAX)), &mut |r| rows.push(r.clone())).map(|_| rows)
            });
            let lower = read_purchases(lo.0, false, Some((i64::MIN, split)), f);
            let rows = upper
                .join()
                .map_err(|_| StoreError::Backend("reading sales failed on its second thread".into()))??;
            lower?;
            for r in &rows {
                f(r);
            }
            Ok(())
        })
    }

    /// A reader connection no one else holds, if any (an unopened one is opened).
    fn try_read(&self) -> Option<MutexGuard<'_, Connection>> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let slots = || (0..n).map(|k| &self.readers[(start + k) % n]);
        slots()
            .find_map(|r| r.get().and_then(|m| m.try_lock().ok()))
            .or_else(|| {
                slots()
                    .filter(|r| r.get().is_none())
                    .find_map(|r| self.reader(r).ok()?.try_lock().ok())
            })
    }

    /// Open (creating if needed) the database file and bring its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let mut writer = open_conn(&path)?;
        migrate::migrate(&mut writer)?;
        // An import that a killed process left unfinished is removed now, unless one is running
        // (which holds the import file locked).
        if let Some(lock) = side_file(&path, IMPORT_FILE)
            && lock.try_lock().is_ok()
        {
            import::remove_abandoned(&writer, side_file(&path, WRITERS_FILE).as_ref())?;
        }
        let writers = side_file(&path, WRITERS_FILE);
        Ok(SqliteStore {
            path,
            writer: Mutex::new(writer),
            readers: (0..READERS).map(|_| OnceLock::new()).collect(),
            next_reader: AtomicUsize::new(0),
            bulk_load: false,
            writers,
        })
    }

    /// [`Self::open`] for a process that has the file to itself and loads data in bulk (the
    /// `kesher import` command): a bulk import unit ([`Store::begin_import`]) begun while no
    /// reader connection is open switches the file to a rollback journal for the unit, so that
    /// the loaded pages are written once (WAL writes them twice: into the log, then back into
    /// the file), and back to WAL when the unit ends. When another connection has the file open
    /// (a server, a second import) the switch is refused and the unit runs in WAL as usual.
    pub fn open_for_bulk_load(path: impl AsRef<Path>) -> Result<SqliteStore> {
        Ok(SqliteStore {
            bulk_load: true,
            ..SqliteStore::open(path)?
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version the file is at.
    pub fn schema_version(&self) -> Result<i64> {
        self.read()?.query_row("PRAGMA user_version", [], |r| r.get(0)).be()
    }

    /// The writer connection, for a write that may wait for an import of another process:
    /// the wait is announced (see [`Writer`]).
    fn write(&self) -> Result<Writer<'_>> {
        let conn = self.write_unannounced()?;
        let announced = self.writers.as_ref().and_then(|f| f.lock_shared().ok().map(|()| f));
        Ok(Writer { conn, announced })
    }

    /// The writer connection, for an import (which waits for no import: it is the one).
    fn write_unannounced(&self) -> Result<MutexGuard<'_, Connection>> {
        self.writer
            .lock()
            .map_err(|_| StoreError::Backend("writer connection poisoned".into()))
    }

    /// A reader connection: an idle open one, else one opened now, else the next to be free.
    fn read(&self) -> Result<MutexGuard<'_, Connection>> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            if let Some(Ok(g)) = self.readers[(start + k) % n].get().map(Mutex::try_lock) {
                return Ok(g);
            }
        }
        let slot = (0..n)
            .map(|k| &self.readers[(start + k) % n])
            .find(|r| r.get().is_none())
            .unwrap_or(&self.readers[start % n]);
        self.reader(slot)?
            .lock()
            .map_err(|_| StoreError::Backend("reader connection poisoned".into()))
    }

    /// The reader connection in `slot`, opened on first use and then kept: a process that
    /// never reads (an import) opens none.
    fn reader<'s>(&self, slot: &'s OnceLock<Mutex<Connection>>) -> Result<&'s Mutex<Connection>> {
        if let Some(m) = slot.get() {
            return Ok(m);
        }
        let conn = open_conn(&self.path)?;
        // Two threads may open one at once: the first kept wins, the other is closed.
        let _ = slot.set(Mutex::new(conn));
        slot.get()
            .ok_or_else(|| StoreError::Backend("reader connection not kept".into()))
    }
}

/// The writer connection held for a write, announced meanwhile by a shared lock on the
/// `-writers` file beside the database: an import of another process committing in slices
/// checks for one between two slices (`import::yield_to_writers`) and lets the writer in before
/// it takes SQLite's lock again. Within the process the writer connection's mutex already orders
/// writers, so one handle to the file serves them all.
pub(crate) struct Writer<'a> {
    conn: MutexGuard<'a, Connection>,
    announced: Option<&'a std::fs::File>,
}

impl std::ops::Deref for Writer<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl std::ops::DerefMut for Writer<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        if let Some(f) = self.announced {
            let _ = f.unlock();
        }
    }
}

/// From how many sales on (by their numbers) the unordered read takes two connections.
const SPLIT_SCAN_FROM: i64 = 100_000;

/// The sales of [`SqliteStore::purchases`] on one connection: by customer then time when
/// `ordered`, else in storage order, those numbered in `[from, to)` when `seqs` is given (the
/// range is for the unordered read).
fn read_purchases(
    c: &Connection,
    ordered: bool,
    seqs: Option<(i64, i64)>,
    f: &mut dyn FnMut(&PurchaseRow),
) -> Result<()> {
    let sql = format!(
        "SELECT t.customer_id, t.occurred_at, t.total, t.currency, t.cost FROM transactions t {}
         WHERE t.customer_id IS NOT NULL AND t.refund_of IS NULL {}",
        if ordered { "" } else { "NOT INDEXED" },
        match (ordered, seqs) {
            (true, _) => "ORDER BY t.customer_id, t.occurred_at",
            (false, Some(_)) => "AND t.seq >= ?1 AND t.seq < ?2",
            (false, None) => "",
        },
    );
    let mut st = c.prepare(&sql).be()?;
    let mut rows = match seqs {
        Some((from, to)) if !ordered => st.query([from, to]),
        _ => st.query([]),
    }
    .be()?;
    let mut currency: Option<kesher_core::Currency> = None;
    while let Some(r) = rows.next().be()? {
        // Borrowed, not copied: this loop runs once per sale.
        let cid = id_at(r, 0)?;
        let code = str_at(r, 3)?;
        let cur = match currency {
            Some(k) if k.as_str() == code => k,
            _ => {
                let k = kesher_core::Currency::from_stored(code)
                    .map_err(|e| StoreError::Backend(format!("stored currency: {e}")))?;
                currency = Some(k);
                k
            }
        };
        f(&PurchaseRow {
            customer_id: CustomerId::from_bytes(cid),
            occurred_at: from_ts(r.get(1).be()?)?,
            amount: r.get(2).be()?,
            cost: r.get(4).be()?,
            currency: cur,
        });
    }
    Ok(())
}

/// The database's write lock, held (`BEGIN IMMEDIATE` on the writer connection) while readers
/// take their snapshots; released on drop. Taken without waiting.
struct WriteLock<'a>(&'a Connection);

impl<'a> WriteLock<'a> {
    /// `None` when another connection holds the lock.
    fn take(c: &'a Connection) -> Result<Option<WriteLock<'a>>> {
        Ok(at_once(c, |c| c.execute_batch("BEGIN IMMEDIATE"))?.map(|()| WriteLock(c)))
    }
}

/// `f` on `c` without waiting for another connection's lock: `None` when the file is busy.
fn at_once<T>(c: &Connection, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<Option<T>> {
    c.busy_handler(None).be()?;
    let out = f(c);
    patient(c)?;
    match out {
        Ok(v) => Ok(Some(v)),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(StoreError::Backend(e.to_string())),
    }
}

impl Drop for WriteLock<'_> {
    fn drop(&mut self) {
        // Nothing was written: ending the transaction cannot lose anything.
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

/// A read transaction on a reader connection, its snapshot taken; ended on drop.
struct ReadSnapshot<'a>(&'a mut Connection);

impl<'a> ReadSnapshot<'a> {
    fn begin(c: &'a mut Connection) -> Result<ReadSnapshot<'a>> {
        c.execute_batch("BEGIN").be()?;
        let s = ReadSnapshot(c);
        // The snapshot is taken by the transaction's first read.
        s.0.query_row("SELECT count(*) FROM (SELECT 1 FROM transactions LIMIT 1)", [], |_| {
            Ok(())
        })
        .be()?;
        Ok(s)
    }
}

impl Drop for ReadSnapshot<'_> {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

/// Column `i` of a row as a stored 16-byte id, borrowed from the row (loops over every sale use it).
fn id_at(r: &rusqlite::Row<'_>, i: usize) -> Result<[u8; 16]> {
    blob16(
        r.get_ref(i)
            .be()?
            .as_blob()
            .map_err(|e| StoreError::Backend(e.to_string()))?,
    )
}

/// Column `i` of a row as text, borrowed from the row.
fn str_at<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> Result<&'r str> {
    r.get_ref(i)
        .be()?
        .as_str()
        .map_err(|e| StoreError::Backend(e.to_string()))
}

fn open_conn(path: &Path) -> Result<Connection> {
    let conn =
        Connection::open(path).map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
    patient(&conn)?;
    // Room for every statement an import keeps prepared (the multi-row INSERTs of each size
    // among them): evicting one would prepare it again for every batch.
    conn.set_prepared_statement_cache_capacity(64);
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )
    .be()?;
    Ok(conn)
}

/// Make `c` wait for another connection's lock up to `BUSY_TIMEOUT`, trying again every
/// millisecond. SQLite's own handler sleeps up to 100 ms between tries: a writer that gives the
/// lock up for a moment (an import between two slices) would take it back before a waiting till
/// tried again.
fn patient(c: &Connection) -> Result<()> {
    fn retry(tries: i32) -> bool {
        let waited = std::time::Duration::from_millis(u64::try_from(tries).unwrap_or(0));
        if waited >= BUSY_TIMEOUT {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
        true
    }
    c.busy_handler(Some(retry)).be()
}

/// The file `<database><suffix>` beside the database (`None` for an in-memory one), opened
/// (created when missing) for the advisory locks that processes sharing the database take on it.
fn side_file(db: &Path, suffix: &str) -> Option<std::fs::File> {
    if db.as_os_str().is_empty() || db.as_os_str() == ":memory:" {
        return None;
    }
    let mut name = db.as_os_str().to_owned();
    name.push(suffix);
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(name)
        .ok()
}

/// Suffix of the file a writer locks shared while it holds the writer connection ([`Writer`]).
const WRITERS_FILE: &str = "-writers";
/// Suffix of the file an import holds locked for its whole run: a process that can lock it knows
/// that every import the database lists is abandoned.
const IMPORT_FILE: &str = "-import";

fn audit(
    conn: &Connection,
    actor: &Actor,
    action: &str,
    entity: &str,
    id: &str,
    before: Option<&serde_json::Value>,
    after: Option<&serde_json::Value>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after, origin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .be()?
    .execute(params![ts(actor.at), actor.who, action, entity, id, before.map(|v| v.to_string()), after.map(|v| v.to_string()), actor.origin])
    .be()?;
    Ok(())
}

impl Store for SqliteStore {
    fn counts(&self) -> Result<Counts> {
        let c = self.read()?;
        let n = |t: &str| -> Result<u64> {
            c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get::<_, i64>(0))
                .be()
                .map(|v| v as u64)
        };
        Ok(Counts {
            branches: n("branches")?,
            employees: n("employees")?,
            products: n("products")?,
            customers: n("customers")?,
            transactions: n("transactions")?,
            transaction_lines: n("transaction_lines")?,
            interactions: n("interactions")?,
        })
    }

    fn insert_branch(&self, b: &Branch) -> Result<Inserted> {
        insert_branch(&*self.write()?, b)
    }
    fn get_branch(&self, id: BranchId) -> Result<Option<Branch>> {
        one(
            &*self.read()?,
            &format!("{BRANCH_SELECT} WHERE id = ?1"),
            [id.as_bytes()],
            |r| rows::branch(r),
        )
    }
    fn list_branches(&self) -> Result<Vec<Branch>> {
        all(
            &*self.read()?,
            &format!("{BRANCH_SELECT} ORDER BY external_id"),
            [],
            |r| rows::branch(r),
        )
    }
    fn branch_by_external(&self, ext: &str) -> Result<Option<Branch>> {
        one(
            &*self.read()?,
            &format!("{BRANCH_SELECT} WHERE external_id = ?1"),
            [ext],
            |r| rows::branch(r),
        )
    }
    fn insert_employee(&self, e: &Employee) -> Result<Inserted> {
        insert_employee(&*self.write()?, e)
    }
    fn get_employee(&self, id: EmployeeId) -> Result<Option<Employee>> {
        one(
            &*self.read()?,
            &format!("{EMPLOYEE_SELECT} WHERE id = ?1"),
            [id.as_bytes()],
            |r| rows::employee(r),
        )
    }
    fn employee_by_external(&self, ext: &str) -> Result<Option<Employee>> {
        one(
            &*self.read()?,
            &format!("{EMPLOYEE_SELECT} WHERE external_id = ?1"),
            [ext],
            |r| rows::employee(r),
        )
    }
    fn list_employees(&self) -> Result<Vec<Employee>> {
        all(
            &*self.read()?,
            &format!("{EMPLOYEE_SELECT} ORDER BY external_id"),
            [],
            |r| rows::employee(r),
        )
    }
    fn insert_product(&self, p: &Product) -> Result<Inserted> {
        insert_product(&*self.write()?, p)
    }
    fn get_product(&self, id: ProductId) -> Result<Option<Product>> {
        one(
            &*self.read()?,
            &format!("{PRODUCT_SELECT} WHERE id = ?1"),
            [id.as_bytes()],
            |r| rows::product(r),
        )
    }
    fn product_by_sku(&self, sku: &str) -> Result<Option<Product>> {
        one(
            &*self.read()?,
            &format!("{PRODUCT_SELECT} WHERE sku = ?1"),
            [sku],
            |r| rows::product(r),
        )
    }
    fn list_products(&self, limit: u32, offset: u64) -> Result<Page<Product>> {
        let c = self.read()?;
        let total: i64 = c.query_row("SELECT count(*) FROM products", [], |r| r.get(0)).be()?;
        let items = all(
            &c,
            &format!("{PRODUCT_SELECT} ORDER BY sku LIMIT ?1 OFFSET ?2"),
            params![limit, offset as i64],
            |r| rows::product(r),
        )?;
        Ok(Page {
            items,
            total: total as u64,
            limit,
            offset,
            total_capped: false,
        })
    }

    fn get_customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        load_customer(&*self.read()?, id)
    }

    fn lookup_customer(&self, ident: &Identifier) -> Result<Option<Customer>> {
        let c = self.read()?;
        match find_by_identifier(&c, ident.kind(), ident.value())? {
            Some(id) => load_customer(&c, id),
            None => Ok(None),
        }
    }

    fn search_customers(&self, q: &CustomerQuery) -> Result<Page<Customer>> {
        let c = self.read()?;
        let q = CustomerQuery {
            limit: q.limit.clamp(1, 500),
            ..q.clone()
        };
        let branch = q.branch.map(|b| b.as_bytes().to_vec());
        let probes = search::probes(&q);
        let (ids, total, total_capped) = if probes.is_empty() {
            // Every customer (of the branch), by name: the name index in order, counted up to
            // the cap.
            let counted: i64 = c
                .query_row(
                    "SELECT count(*) FROM (SELECT 1 FROM customers WHERE (?1 IS NULL OR source_branch = ?1) LIMIT ?2)",
                    params![branch, search::SEARCH_COUNT_CAP as i64 + 1],
                    |r| r.get(0),
                )
                .be()?;
            let ids = all(
                &c,
                "SELECT id FROM customers WHERE (?1 IS NULL OR source_branch = ?1)
                 ORDER BY name_norm, member_no, id LIMIT ?2 OFFSET ?3",
                params![branch, q.limit, q.offset as i64],
                |r| Ok(CustomerId::from_bytes(r.id(0)?)),
            )?;
            let counted = counted as u64;
            (
                ids,
                counted.min(search::SEARCH_COUNT_CAP),
                counted > search::SEARCH_COUNT_CAP,
            )
        } else {
            let limit = i64::try_from(search::probe_limit(&q)).unwrap_or(i64::MAX);
            let mut hits = Vec::with_capacity(probes.len());
            for p in &probes {
                let key = search_key(p.column);
                let range = match p.end() {
                    _ if p.exact => format!("{key} = ?1"),
                    Some(_) => format!("{key} >= ?1 AND {key} < ?2"),
                    None => format!("{key} >= ?1"),
                };
                let sql = format!(
                    "SELECT {key}, id FROM customers WHERE {range} AND (?3 IS NULL OR source_branch = ?3)
                     ORDER BY {key}, id LIMIT ?4"
                );
                hits.push(all(&c, &sql, params![p.prefix, p.end(), branch, limit], |r| {
                    Ok((r.text(0)?, CustomerId::from_bytes(r.id(1)?)))
                })?);
            }
            search::merge_hits(&q, hits)
        };
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(cust) = load_customer(&c, id)? {
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
    }

    fn duplicate_candidates(&self) -> Result<Vec<DuplicateCandidate>> {
        all(&*self.read()?, DUPLICATE_SELECT, [], |r| rows::duplicate_candidate(r))
    }

    fn customer_ids(&self) -> Result<Vec<CustomerId>> {
        all(&*self.read()?, "SELECT id FROM customers ORDER BY id", [], |r| {
            Ok(CustomerId::from_bytes(r.id(0)?))
        })
    }

    fn for_each_customer(&self, f: &mut dyn FnMut(&Customer) -> Result<()>) -> Result<()> {
        // Customers and consents both in id order, merged as they stream (one read snapshot).
        let c = self.read()?;
        let tx = c.unchecked_transaction().be()?;
        let mut customers = tx.prepare(&format!("{} ORDER BY id", rows::CUSTOMER_SELECT)).be()?;
        let mut consents = tx
            .prepare("SELECT customer_id, channel, state, at, source FROM consents ORDER BY customer_id, channel")
            .be()?;
        let mut rows = customers.query([]).be()?;
        let mut cons = consents.query([]).be()?;
        let next_consent = |cons: &mut rusqlite::Rows<'_>| -> Result<Option<([u8; 16], kesher_core::Consent)>> {
            let Some(r) = cons.next().be()? else { return Ok(None) };
            let r = SqlRow(r);
            Ok(Some((r.id(0)?, rows::consent(&r, 1)?)))
        };
        let mut pending = next_consent(&mut cons)?;
        while let Some(r) = rows.next().be()? {
            let mut customer = rows::customer(&SqlRow(r))?;
            let id = customer.id.0.into_bytes();
            // Consents of customers that no longer exist sort before this one: skip them.
            while let Some((cid, k)) = pending.take() {
                if cid < id {
                    pending = next_consent(&mut cons)?;
                } else if cid == id {
                    customer.consents.push(k);
                    pending = next_consent(&mut cons)?;
                } else {
                    pending = Some((cid, k));
                    break;
                }
            }
            f(&customer)?;
        }
        Ok(())
    }

    fn consent_history(&self, id: CustomerId) -> Result<Vec<ConsentEvent>> {
        all(
            &*self.read()?,
            "SELECT channel, state, at, source FROM consent_history WHERE customer_id = ?1 ORDER BY seq",
            [id.as_bytes()],
            |r| {
                Ok(ConsentEvent {
                    customer_id: id,
                    consent: rows::consent(r, 0)?,
                })
            },
        )
    }

    fn merged_into(&self, dropped: CustomerId) -> Result<Option<CustomerId>> {
        let c = self.read()?;
        let kept: Option<Vec<u8>> = c
            .query_row(
                "SELECT kept_id FROM merges WHERE dropped_id = ?1",
                [dropped.as_bytes()],
                |r| r.get(0),
            )
            .optional()
            .be()?;
        kept.map(|k| blob16(&k).map(CustomerId::from_bytes)).transpose()
    }

    fn get_transaction(&self, id: TransactionId) -> Result<Option<Transaction>> {
        load_transaction(&*self.read()?, "id = ?1", &id.as_bytes().as_slice())
    }

    fn transaction_by_external(&self, ext: &str) -> Result<Option<Transaction>> {
        load_transaction_by_external(&*self.read()?, ext)
    }

    fn list_transactions(&self, customer: Option<CustomerId>, limit: u32, offset: u64) -> Result<Page<Transaction>> {
        let c = self.read()?;
        let cid = customer.map(|c| c.as_bytes().to_vec());
        let filter = customer_filter(customer);
        let total: i64 = c
            .query_row(
                &format!("SELECT count(*) FROM transactions WHERE {filter}"),
                [&cid],
                |r| r.get(0),
            )
            .be()?;
        let mut st = c
            .prepare(&format!(
                "SELECT id FROM transactions WHERE {filter} ORDER BY occurred_at DESC, id DESC LIMIT ?2 OFFSET ?3"
            ))
            .be()?;
        let ids: Vec<Vec<u8>> = st
            .query_map(params![cid, limit, offset as i64], |r| r.get(0))
            .be()?
            .collect::<rusqlite::Result<_>>()
            .be()?;
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(t) = load_transaction(&c, "id = ?1", &id.as_slice())? {
                items.push(t);
            }
        }
        Ok(Page {
            items,
            total: total as u64,
            limit,
            offset,
            total_capped: false,
        })
    }

    fn get_interaction(&self, id: InteractionId) -> Result<Option<Interaction>> {
        one(
            &*self.read()?,
            &format!("{INTERACTION_SELECT} WHERE id = ?1"),
            [id.as_bytes()],
            |r| rows::interaction(r),
        )
    }

    fn list_interactions(&self, customer: Option<CustomerId>, limit: u32, offset: u64) -> Result<Page<Interaction>> {
        let c = self.read()?;
        let cid = customer.map(|c| c.as_bytes().to_vec());
        let filter = customer_filter(customer);
        let total: i64 = c
            .query_row(
                &format!("SELECT count(*) FROM interactions WHERE {filter}"),
                [&cid],
                |r| r.get(0),
            )
            .be()?;
        let items = all(
            &c,
            &format!("{INTERACTION_SELECT} WHERE {filter} ORDER BY occurred_at DESC, id DESC LIMIT ?2 OFFSET ?3"),
            params![cid, limit, offset as i64],
            |r| rows::interaction(r),
        )?;
        Ok(Page {
            items,
            total: total as u64,
            limit,
            offset,
            total_capped: false,
        })
    }

    fn audit_log(&self, limit: u32, offset: u64) -> Result<Vec<AuditEntry>> {
        accounts::read_audit(
            &*self.read()?,
            "ORDER BY seq DESC LIMIT ?1 OFFSET ?2",
            params![limit, offset as i64],
        )
    }

    fn audit_page(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        accounts::audit_page(&*self.read()?, q)
    }

    fn for_each_basket(&self, branch: Option<&str>, f: &mut dyn FnMut(&BasketRow<'_>)) -> Result<()> {
        let c = self.read()?;
        let mut st = c
            .prepare(
                "SELECT t.id, t.external_id, t.customer_id, b.external_id, t.occurred_at, p.sku, p.category
                 FROM transactions t JOIN branches b ON b.id = t.branch_id
                 JOIN transaction_lines l ON l.sale = t.seq JOIN products p ON p.id = l.product_id
                 WHERE t.refund_of IS NULL AND (?1 IS NULL OR b.external_id = ?1)
                 ORDER BY t.id, l.line_no",
            )
            .be()?;
        let mut rows = st.query([branch]).be()?;
        let mut cur: Option<(Vec<u8>, String, Option<CustomerId>, String, i64)> = None;
        let mut items: Vec<(String, Option<String>)> = Vec::new();
        let mut emit = |head: &(Vec<u8>, String, Option<CustomerId>, String, i64),
                        items: &[(String, Option<String>)]|
         -> Result<()> {
            f(&BasketRow {
                transaction: &head.1,
                customer_id: head.2,
                branch: &head.3,
                occurred_at: from_ts(head.4)?,
                items,
            });
            Ok(())
        };
        while let Some(r) = rows.next().be()? {
            let id: Vec<u8> = r.get(0).be()?;
            if cur.as_ref().is_some_and(|h| h.0 != id) {
                if let Some(h) = cur.take() {
                    emit(&h, &items)?;
                }
                items.clear();
            }
            if cur.is_none() {
                let cust: Option<Vec<u8>> = r.get(2).be()?;
                cur = Some((
                    id,
                    r.get(1).be()?,
                    cust.map(|c| blob16(&c).map(CustomerId::from_bytes)).transpose()?,
                    r.get(3).be()?,
                    r.get(4).be()?,
                ));
            }
            items.push((r.get(5).be()?, r.get(6).be()?));
        }
        if let Some(h) = cur.take() {
            emit(&h, &items)?;
        }
        Ok(())
    }

    fn for_each_purchase(&self, f: &mut dyn FnMut(&PurchaseRow)) -> Result<()> {
        // Each sale carries its own cost.
        self.purchases(true, f)
    }

    fn for_each_purchase_any_order(&self, f: &mut dyn FnMut(&PurchaseRow)) -> Result<()> {
        self.purchases(false, f)
    }
    fn replace_customer_scores(&self, as_of: Timestamp, model: &str, scores: &[CustomerScore]) -> Result<u64> {
        let month = as_of.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y-%m").to_string();
        // In key order, so that every insert appends to the primary key's b-tree.
        let mut order: Vec<&CustomerScore> = scores.iter().collect();
        order.sort_unstable_by_key(|s| s.customer_id);
        let mut conn = self.write()?;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .be()?;
        let run: i64 = tx
            .query_row("SELECT coalesce(max(run), 0) + 1 FROM analysis_runs", [], |r| r.get(0))
            .be()?;
        // The month's stages. A first run of the month appends its range, set-based and in key
        // order (month first). A second run of the same month (the usual daily refresh) reads the
        // month's stored stages in key order beside the scores (both sorted by customer) and
        // writes only the rows whose stage changed, adds customers new to the month and drops
        // those it no longer scores (merged, erased, or now implicit prospects): one sequential
        // read instead of a lookup per customer, and most pages left untouched. That read runs on
        // a reader connection while this one writes the scores: the write lock is held already,
        // so the reader's snapshot is the state this transaction began from.
        let (stored, written) = std::thread::scope(|scope| {
            let reader = scope.spawn(|| StoredStages::read(&*self.read()?, &month));
            // A whole-table DELETE is SQLite's truncation.
            let written = tx
                .execute("DELETE FROM customer_scores", [])
                .be()
                .and_then(|_| insert_scores(&tx, as_of, model, &order));
            let stored = reader
                .join()
                .map_err(|_| StoreError::Backend("reading the month's stages failed on its second thread".into()));
            (stored, written)
        });
        written?;
        let stored = stored??;
        let mut changed: Vec<&CustomerScore> = Vec::new();
        let mut stale: Vec<[u8; 16]> = Vec::new();
        {
            let mut next = order.iter().peekable();
            for (cid, name) in &stored.rows {
                let stage = stored.names[usize::from(*name)].as_str();
                while let Some(x) = next.next_if(|x| x.customer_id.as_bytes() < cid) {
                    changed.push(x);
                }
                match next.next_if(|x| x.customer_id.as_bytes() == cid) {
                    Some(x) if x.stage != stage => changed.push(x),
                    Some(_) => {}
                    None => stale.push(*cid),
                }
            }
            changed.extend(next);
        }
        let stored = stored.rows.len();
        if stored == 0 {
            tx.execute(
                "INSERT INTO customer_stages (month, customer_id, stage) SELECT ?1, customer_id, stage FROM customer_scores",
                [&month],
            )
            .be()?;
        } else {
            let mut up = tx
                .prepare(
                    "INSERT INTO customer_stages (month, customer_id, stage) VALUES (?1, ?2, ?3)
                     ON CONFLICT (month, customer_id) DO UPDATE SET stage = excluded.stage",
                )
                .be()?;
            for x in changed {
                up.execute(params![&month, x.customer_id.as_bytes(), &x.stage]).be()?;
            }
            let mut del = tx
                .prepare("DELETE FROM customer_stages WHERE month = ?1 AND customer_id = ?2")
                .be()?;
            for cid in &stale {
                del.execute(params![&month, &cid[..]]).be()?;
            }
        }
        tx.execute(
            "INSERT INTO analysis_runs (run, as_of, model) VALUES (?1, ?2, ?3)",
            params![run, ts(as_of), model],
        )
        .be()?;
        tx.execute(
            "INSERT INTO stage_months (month, run) VALUES (?1, ?2) ON CONFLICT (month) DO UPDATE SET run = excluded.run",
            params![&month, run],
        )
        .be()?;
        // Every customer is one of this run's (none was inserted after it yet).
        let customers: i64 = tx.query_row("SELECT count(*) FROM customers", [], |r| r.get(0)).be()?;
        let prospects = customers - i64::try_from(order.len()).unwrap_or(i64::MAX);
        tx.commit().be()?;
        Ok(u64::try_from(prospects).unwrap_or(0))
    }

    fn customer_score(&self, id: CustomerId) -> Result<Option<CustomerScore>> {
        let c = self.read()?;
        if let Some(score) = one(
            &c,
            &format!("{SCORE_SELECT} WHERE customer_id = ?1"),
            [id.as_bytes()],
            |r| rows::score(r),
        )? {
            return Ok(Some(score));
        }
        // An implicit prospect of the latest run: a customer that existed when it was stored.
        let run: Option<(i64, String)> = c
            .query_row(
                "SELECT r.as_of, r.model FROM analysis_runs r JOIN customers c ON c.runs_before < r.run
                 WHERE r.run = (SELECT max(run) FROM analysis_runs) AND c.id = ?1",
                [id.as_bytes()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .be()?;
        run.map(|(as_of, model)| Ok(CustomerScore::prospect(id, from_ts(as_of)?, &model)))
            .transpose()
    }

    fn customer_wallets(&self) -> Result<Vec<(CustomerId, String)>> {
        let c = self.read()?;
        // The text test first: most customers have no estimate, and it is cheaper than JSON.
        all(
            &c,
            "SELECT id, CAST(json_extract(attributes, '$.estimated_annual_spend') AS TEXT) FROM customers
             WHERE instr(attributes, 'estimated_annual_spend') > 0
               AND json_extract(attributes, '$.estimated_annual_spend') IS NOT NULL ORDER BY id",
            [],
            |r| Ok((CustomerId::from_bytes(r.id(0)?), r.text(1)?)),
        )
    }

    fn record_stage_history(&self, month: &str, stages: &[(CustomerId, &str)]) -> Result<()> {
        let mut order: Vec<&(CustomerId, &str)> = stages.iter().collect();
        order.sort_unstable_by_key(|s| s.0);
        let mut conn = self.write()?;
        let tx = conn.transaction().be()?;
        tx.execute("DELETE FROM customer_stages WHERE month = ?1", [month])
            .be()?;
        tx.execute(
            "INSERT INTO stage_months (month, run) VALUES (?1, NULL) ON CONFLICT (month) DO UPDATE SET run = NULL",
            [month],
        )
        .be()?;
        {
            let mut ins = tx
                .prepare("INSERT INTO customer_stages (month, customer_id, stage) VALUES (?1, ?2, ?3)")
                .be()?;
            for (id, stage) in order {
                ins.execute(params![month, id.as_bytes(), stage]).be()?;
            }
        }
        tx.commit().be()
    }

    fn list_customer_scores(&self) -> Result<Vec<CustomerScore>> {
        let c = self.read()?;
        let mut out = all(&c, &format!("{SCORE_SELECT} ORDER BY customer_id"), [], |r| {
            rows::score(r)
        })?;
        // The latest run's implicit prospects.
        let run: Option<(i64, i64, String)> = c
            .query_row(
                "SELECT run, as_of, model FROM analysis_runs ORDER BY run DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .be()?;
        if let Some((run, as_of, model)) = run {
            let as_of = from_ts(as_of)?;
            let sql = "SELECT c.id FROM customers c WHERE c.runs_before < ?1
                 AND NOT EXISTS (SELECT 1 FROM customer_scores s WHERE s.customer_id = c.id)";
            out.extend(all(&c, sql, [run], |r| {
                Ok(CustomerScore::prospect(CustomerId::from_bytes(r.id(0)?), as_of, &model))
            })?);
            out.sort_unstable_by_key(|s| s.customer_id);
        }
        Ok(out)
    }

    fn stage_counts(&self) -> Result<Vec<(String, String, u64)>> {
        let c = self.read()?;
        let sql = "SELECT month, stage, count(*) FROM customer_stages GROUP BY month, stage";
        let counts = all(&c, sql, [], |r| Ok((r.text(0)?, r.text(1)?, r.int(2)? as u64)))?;
        // A run's prospects: its customers (inserted before it) less the month's rows, which
        // all name customers of the run.
        let sql = "SELECT m.month, (SELECT count(*) FROM customers WHERE runs_before < m.run)
                - (SELECT count(*) FROM customer_stages s WHERE s.month = m.month)
             FROM stage_months m WHERE m.run IS NOT NULL";
        let implicit = all(&c, sql, [], |r| Ok((r.text(0)?, r.int(1)?.max(0) as u64)))?;
        Ok(kesher_store::merge_stage_counts(counts, implicit))
    }

    fn stage_transitions(&self, from_month: &str, to_month: &str) -> Result<Vec<(String, String, u64)>> {
        let c = self.read()?;
        // The run whose implicit prospects each month holds (0: none).
        let run_of = |month: &str| -> Result<i64> {
            let r: Option<Option<i64>> = c
                .query_row("SELECT run FROM stage_months WHERE month = ?1", [month], |r| r.get(0))
                .optional()
                .be()?;
            Ok(r.flatten().unwrap_or(0))
        };
        let (from_run, to_run) = (run_of(from_month)?, run_of(to_month)?);
        // Customers with a row in the later month; one without a row in the earlier month was
        // its prospect if it belonged to the earlier month's run, else it is new.
        let sql = "SELECT coalesce(a.stage, CASE WHEN ?3 > 0
                   AND (SELECT runs_before FROM customers WHERE id = b.customer_id) < ?3
                   THEN 'prospect' ELSE 'new' END), b.stage, count(*)
             FROM customer_stages b
             LEFT JOIN customer_stages a ON a.month = ?1 AND a.customer_id = b.customer_id
             WHERE b.month = ?2 GROUP BY 1, 2";
        let counts = all(&c, sql, params![from_month, to_month, from_run], |r| {
            Ok((r.text(0)?, r.text(1)?, r.int(2)? as u64))
        })?;
        // The later month's implicit prospects, by where they were in the earlier month.
        let implicit = if to_run > 0 {
            let sql = "SELECT coalesce(a.stage, CASE WHEN c.runs_before < ?3 THEN 'prospect' ELSE 'new' END), count(*)
                 FROM customers c
                 LEFT JOIN customer_stages a ON a.month = ?1 AND a.customer_id = c.id
                 WHERE c.runs_before < ?4
                   AND NOT EXISTS (SELECT 1 FROM customer_stages b WHERE b.month = ?2 AND b.customer_id = c.id)
                 GROUP BY 1";
            all(&c, sql, params![from_month, to_month, from_run, to_run], |r| {
                Ok((r.text(0)?, r.int(1)? as u64))
            })?
        } else {
            Vec::new()
        };
        Ok(kesher_store::merge_stage_counts(counts, implicit))
    }

    fn append_audit(
        &self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: &str,
        after: Option<&serde_json::Value>,
    ) -> Result<()> {
        audit(&*self.write()?, actor, action, entity, entity_id, None, after)
    }

    fn has_audit_action(&self, action: &str) -> Result<bool> {
        self.read()?
            .prepare_cached("SELECT 1 FROM audit_log WHERE action = ?1 LIMIT 1")
            .be()?
            .exists([action])
            .be()
    }

    fn bulk_read(&self, table: &'static TableSpec, f: &mut dyn FnMut(&[Value])) -> Result<()> {
        let c = self.read()?;
        bulk::read(&c, table, f)
    }

    fn bulk_count(&self, table: &'static TableSpec) -> Result<u64> {
        let n: i64 = self
            .read()?
            .query_row(&format!("SELECT count(*) FROM {}", table.name), [], |r| r.get(0))
            .be()?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn begin_bulk_write(&self) -> Result<Box<dyn BulkWrite + '_>> {
        Ok(Box::new(bulk::SqliteBulkWrite::begin(self)?))
    }

    fn begin_import(&self) -> Result<Box<dyn ImportTx + '_>> {
        // One import at a time: a second waits for the first to end (before it takes the writer
        // connection, which this process's other writers need meanwhile). Whoever holds the lock
        // knows that every import the database still lists was abandoned.
        let lock = side_file(&self.path, IMPORT_FILE);
        if let Some(f) = &lock {
            f.lock()
                .map_err(|e| StoreError::Backend(format!("cannot lock the import file: {e}")))?;
        }
        let conn = self.write_unannounced()?;
        let writers = side_file(&self.path, WRITERS_FILE);
        if lock.is_some() {
            import::remove_abandoned(&conn, writers.as_ref())?;
        }
        let alone = self.bulk_load && self.readers.iter().all(|r| r.get().is_none());
        Ok(Box::new(import::SqliteImport::begin(conn, alone, lock, writers)?))
    }
}

/// Write `order` (sorted by customer) into the emptied `customer_scores`, many rows per
/// statement: a million single-row statements cost more in stepping and resetting than in
/// writing. The run's date and model are bound once per statement (?1, ?2) and shared by its
/// rows. OR FAIL: an error ends the whole transaction, so the statement needs no journal of its
/// own to undo just itself.
fn insert_scores(tx: &Connection, as_of: Timestamp, model: &str, order: &[&CustomerScore]) -> Result<()> {
    let sql = |rows: usize| {
        let mut sql = String::from(
            "INSERT OR FAIL INTO customer_scores (customer_id, as_of, model, stage, frequency, recency, t,
                monetary, revenue, margin, p_alive, expected_purchases, clv, rfm, segment, tier, wallet,
                share_of_wallet) VALUES ",
        );
        for i in 0..rows {
            let at = 2 + i * SCORE_OWN_COLUMNS;
            sql.push_str(if i == 0 { "(" } else { ",(" });
            sql.push_str(&format!("?{},?1,?2", at + 1));
            for k in 2..=SCORE_OWN_COLUMNS {
                sql.push_str(&format!(",?{}", at + k));
            }
            sql.push(')');
        }
        sql
    };
    let mut full = tx.prepare(&sql(SCORE_ROWS_PER_INSERT)).be()?;
    let mut chunks = order.chunks_exact(SCORE_ROWS_PER_INSERT);
    for chunk in chunks.by_ref() {
        bind_scores(&mut full, as_of, model, chunk)?;
        full.raw_execute().be()?;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut st = tx.prepare(&sql(rest.len())).be()?;
        bind_scores(&mut st, as_of, model, rest)?;
        st.raw_execute().be()?;
    }
    Ok(())
}

/// One month's stored stages in customer order, each stage an index into the few distinct
/// names (no string per row).
struct StoredStages {
    names: Vec<String>,
    rows: Vec<([u8; 16], u8)>,
}

impl StoredStages {
    fn read(c: &Connection, month: &str) -> Result<StoredStages> {
        let mut out = StoredStages {
            names: Vec::new(),
            rows: Vec::new(),
        };
        let mut st = c
            .prepare("SELECT customer_id, stage FROM customer_stages WHERE month = ?1 ORDER BY customer_id")
            .be()?;
        let mut rows = st.query([month]).be()?;
        while let Some(r) = rows.next().be()? {
            let stage = str_at(r, 1)?;
            let name = match out.names.iter().position(|n| n == stage) {
                Some(i) => i,
                None => {
                    out.names.push(stage.to_string());
                    out.names.len() - 1
                }
            };
            let name =
                u8::try_from(name).map_err(|_| StoreError::Backend("more than 256 stage names stored".into()))?;
            out.rows.push((id_at(r, 0)?, name));
        }
        Ok(out)
    }
}

/// Parameters of each stored row besides the run's date and model (?1 and ?2, which a
/// statement's rows share).
const SCORE_OWN_COLUMNS: usize = 16;
const SCORE_ROWS_PER_INSERT: usize = 64;

/// Bind the columns of `rows` to a multi-row insert, row after row.
fn bind_scores(st: &mut rusqlite::Statement<'_>, as_of: Timestamp, model: &str, rows: &[&CustomerScore]) -> Result<()> {
    st.raw_bind_parameter(1, ts(as_of)).be()?;
    st.raw_bind_parameter(2, model).be()?;
    for (i, x) in rows.iter().enumerate() {
        // Parameters ?1 and ?2 come first; each row has its own after them.
        let at = 2 + i * SCORE_OWN_COLUMNS;
        let values: [&dyn rusqlite::ToSql; SCORE_OWN_COLUMNS] = [
            x.customer_id.as_bytes(),
            &x.stage,
            &x.frequency,
            &x.recency,
            &x.t,
            &x.monetary,
            &x.revenue,
            &x.margin,
            &x.p_alive,
            &x.expected_purchases,
            &x.clv,
            &x.rfm,
            &x.segment,
            &x.tier,
            &x.wallet,
            &x.share_of_wallet,
        ];
        for (k, v) in values.iter().enumerate() {
            st.raw_bind_parameter(at + k + 1, v).be()?;
        }
    }
    Ok(())
}

/// Timestamp → stored microseconds.
fn ts(t: Timestamp) -> i64 {
    t.as_microsecond()
}

fn from_ts(v: i64) -> Result<Timestamp> {
    Timestamp::from_microsecond(v).map_err(|e| StoreError::Backend(format!("stored instant {v} out of range: {e}")))
}

#[cfg(test)]
mod tests;

/// The condition of a listing by customer on `?1` (bound to the id, or NULL for every row): one
/// text per case, so that a customer's listing seeks the `(customer_id, occurred_at)` index.
/// `?1 IS NULL OR customer_id = ?1` cannot use it, and scanned the whole table per page.
pub(crate) fn customer_filter(customer: Option<CustomerId>) -> &'static str {
    if customer.is_some() {
        "customer_id = ?1"
    } else {
        "?1 IS NULL"
    }
}

/// The indexed expression a search probe ranges over (the surname's is the expression of the
/// `customers_surname` index, written the same way so that the planner matches it).
fn search_key(column: search::SearchColumn) -> &'static str {
    match column {
        search::SearchColumn::Name => "name_norm",
        search::SearchColumn::Surname => "substr(name_norm, instr(name_norm, ' ') + 1)",
        search::SearchColumn::Member => "member_no",
        search::SearchColumn::Card => "card",
        search::SearchColumn::Email => "email",
        search::SearchColumn::Phone => "phone",
    }
}
