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
}

const TABLES: [(&str, &str); 6] = [
    ("branches", "external_id"),
    ("employees", "external_id"),
    ("products", "sku"),
    ("customers", "member_no"),
    ("transactions", "external_id"),
    ("interactions", "external_id"),
];

impl<'a> SqliteImport<'a> {
    pub(crate) fn begin(conn: MutexGuard<'a, Connection>) -> Result<Self> {
        // The importer resolves every reference itself, so foreign-key checks are switched off
        // for the unit (SQLite only allows that outside a transaction) and on again after it.
        // A larger page cache keeps the indexes' hot pages in memory during a bulk load (a fixed
        // amount: memory does not grow with the file).
        conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA cache_size = -262144; BEGIN IMMEDIATE")
            .be()?;
        let aliases = conn
            .query_row("SELECT EXISTS (SELECT 1 FROM customer_aliases)", [], |r| {
                r.get::<_, bool>(0)
            })
            .be()?;
        let mut marks = [0i64; 6];
        for (m, (table, _)) in marks.iter_mut().zip(TABLES) {
            *m = conn
                .query_row(&format!("SELECT coalesce(max(rowid), 0) FROM {table}"), [], |r| {
                    r.get(0)
                })
                .be()?;
        }
        Ok(SqliteImport {
            marks,
            aliases,
            conn,
            done: false,
            customers: HashMap::new(),
            branches: HashMap::new(),
            employees: HashMap::new(),
            products: HashMap::new(),
            costs: HashMap::new(),
        })
    }

    /// `AlreadyPresent` or `Repeated`, for a key that exists in table number `t`.
    fn present(&self, t: usize, key: &str) -> Result<Inserted> {
        let (table, col) = TABLES[t];
        let rowid: Option<i64> = self
            .conn
            .prepare_cached(&format!("SELECT rowid FROM {table} WHERE {col} = ?1"))
            .be()?
            .query_row([key], |r| r.get(0))
            .optional()
            .be()?;
        Ok(if rowid.is_some_and(|r| r > self.marks[t]) {
            Inserted::Repeated
        } else {
            Inserted::AlreadyPresent
        })
    }

    fn settle(&self, t: usize, key: &str, r: Inserted) -> Result<Inserted> {
        if r == Inserted::New {
            Ok(r)
        } else {
            self.present(t, key)
        }
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
        if !self.aliases {
            // No merge has left aliases behind, so the unique indexes alone guard every
            // identifier: insert straight away and explain a violation only when one happens.
            return match insert_customer_row(&self.conn, c) {
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
        insert_customer_row(&self.conn, c)
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
            Inserted::New => Ok(Inserted::New),
            _ => self.present(4, &t.external_id),
        }
    }

    fn insert_interaction(&mut self, i: &Interaction) -> Result<Inserted> {
        let r = insert_interaction_row(&self.conn, i)?;
        match &i.external_id {
            Some(ext) => self.settle(5, ext, r),
            None => Ok(r),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.conn.execute_batch("COMMIT").be()?;
        self.done = true;
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536")
            .be()?;
        Ok(())
    }
}

impl Drop for SqliteImport<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing of an unfinished import may land; a failed rollback leaves the
            // transaction open, which SQLite discards when the connection is next used.
            let _ = self.conn.execute_batch("ROLLBACK");
            let _ = self
                .conn
                .execute_batch("PRAGMA foreign_keys = ON; PRAGMA cache_size = -65536");
        }
    }
}
