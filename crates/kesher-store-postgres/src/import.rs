//! The bulk-import unit of work on PostgreSQL: one database transaction on one pooled connection,
//! each row written inside a SAVEPOINT so that a failed row leaves the unit usable, rolled back
//! unless committed. Transaction lines are buffered and written with binary COPY in batches
//! (and before the commit); their references are checked as the row comes in, so a batch
//! cannot fail on one row's data.
//!
//! `Repeated` versus `AlreadyPresent`: every row the unit writes carries the unit's top-level
//! transaction id (`txid_current()`) in its `import_xact` column, so a key found with the unit's
//! own id was written earlier by this unit and any other was there before it began. (The row's
//! `xmin` would not do: rows written inside a savepoint carry the subtransaction's id.)

use crate::PgStore;
use crate::convert::*;
use kesher_core::{
    Branch, BranchId, Customer, CustomerId, Employee, EmployeeId, Interaction, Product, ProductId, Transaction,
    TransactionId,
};
use kesher_store::{ImportTx, Inserted, Result, StoreError};
use postgres::Client;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// Positive lookups are cached; the cache is cleared when it grows past this many entries so
/// that memory stays bounded whatever the size of the file.
const CACHE_LIMIT: usize = 200_000;

/// Buffered transaction lines are copied to the server once this many wait.
const FLUSH_LINES: usize = 50_000;

/// One buffered `transaction_lines` row: transaction, line number, product, quantity, unit
/// price, discount.
type LineRow = (Uuid, i32, Option<Uuid>, i64, i64, i64);

/// The tables whose rows an import can repeat, with their natural key.
#[derive(Clone, Copy)]
enum Table {
    Branches,
    Employees,
    Products,
    Customers,
    Transactions,
    Interactions,
}

impl Table {
    fn lookup_sql(self) -> &'static str {
        match self {
            Table::Branches => "SELECT import_xact FROM branches WHERE external_id = $1",
            Table::Employees => "SELECT import_xact FROM employees WHERE external_id = $1",
            Table::Products => "SELECT import_xact FROM products WHERE sku = $1",
            Table::Customers => "SELECT import_xact FROM customers WHERE member_no = $1",
            Table::Transactions => "SELECT import_xact FROM transactions WHERE external_id = $1",
            Table::Interactions => "SELECT import_xact FROM interactions WHERE external_id = $1",
        }
    }
}

pub(crate) struct PgImport<'a> {
    store: &'a PgStore,
    /// `None` only once the unit has ended (committed, or its connection dropped).
    client: Option<Client>,
    /// This unit's transaction id, written to `import_xact`.
    xact: i64,
    identifiers_locked: bool,
    /// Whether the savepoint of the last row is still open (it is released as the next row begins).
    savepoint_open: bool,
    /// Set when a COPY of buffered lines failed: the unit can only be rolled back.
    broken: bool,
    lines: Vec<LineRow>,
    /// Product ids known to exist, so that buffered lines cannot fail on their reference.
    known_products: HashSet<Uuid>,
    customers: HashMap<String, CustomerId>,
    branches: HashMap<String, BranchId>,
    employees: HashMap<String, EmployeeId>,
    products: HashMap<String, ProductId>,
}

/// PostgreSQL text cannot hold NUL, so no stored key contains one; asking would fail the statement.
fn storable(key: &str) -> bool {
    !key.contains('\0')
}

impl<'a> PgImport<'a> {
    pub(crate) fn begin(store: &'a PgStore) -> Result<Self> {
        let mut client = store.take()?;
        client.batch_execute("BEGIN").be()?;
        let xact = match client.query_one("SELECT txid_current()", &[]) {
            Ok(r) => col::<i64>(&r, 0)?,
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK");
                return Err(pg_error(e));
            }
        };
        Ok(PgImport {
            store,
            client: Some(client),
            xact,
            identifiers_locked: false,
            savepoint_open: false,
            broken: false,
            lines: Vec::new(),
            known_products: HashSet::new(),
            customers: HashMap::new(),
            branches: HashMap::new(),
            employees: HashMap::new(),
            products: HashMap::new(),
        })
    }

    fn client(&mut self) -> Result<&mut Client> {
        if self.broken {
            return Err(StoreError::Backend(
                "import unit of work failed earlier and can only be rolled back".into(),
            ));
        }
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Backend("import unit of work already ended".into()))
    }

    /// Run one row's statements inside a savepoint: on failure the row's writes are undone and
    /// the transaction stays usable. The previous row's savepoint is released in the same round
    /// trip that opens this one.
    fn row<T>(&mut self, f: impl FnOnce(&mut Client, i64) -> Result<T>) -> Result<T> {
        let xact = self.xact;
        let open = if self.savepoint_open {
            "RELEASE SAVEPOINT kesher_row; SAVEPOINT kesher_row"
        } else {
            "SAVEPOINT kesher_row"
        };
        let c = self.client()?;
        c.batch_execute(open).be()?;
        self.savepoint_open = true;
        let c = self.client()?;
        match f(c, xact) {
            Ok(v) => Ok(v),
            Err(e) => {
                c.batch_execute("ROLLBACK TO SAVEPOINT kesher_row").be()?;
                Err(e)
            }
        }
    }

    /// Every product a line names must exist before the line is buffered.
    fn check_products(&mut self, t: &Transaction) -> Result<()> {
        for l in &t.lines {
            let Some(p) = l.product_id else { continue };
            if self.known_products.contains(&p.0) {
                continue;
            }
            if !exists(self.client()?, "SELECT 1 FROM products WHERE id = $1", &[&p.0])? {
                return Err(StoreError::Invalid {
                    field: "sku",
                    reason: format!("no product {p}"),
                });
            }
            if self.known_products.len() >= CACHE_LIMIT {
                self.known_products.clear();
            }
            self.known_products.insert(p.0);
        }
        Ok(())
    }

    /// Copy the buffered lines to the server. A failure here cannot be pinned on one row, so it
    /// ends the unit.
    fn flush(&mut self) -> Result<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let mut lines = std::mem::take(&mut self.lines);
        let c = self.client()?;
        let copied = (|| {
            let w = c.copy_in(
                "COPY transaction_lines (transaction_id, line_no, product_id, quantity, unit_price, discount)
                 FROM STDIN (FORMAT binary)",
            )?;
            let mut w = BinaryCopyInWriter::new(
                w,
                &[Type::UUID, Type::INT4, Type::UUID, Type::INT8, Type::INT8, Type::INT8],
            );
            for l in &lines {
                w.write(&[&l.0, &l.1, &l.2, &l.3, &l.4, &l.5])?;
            }
            w.finish()
        })();
        if let Err(e) = copied {
            self.broken = true;
            return Err(StoreError::Backend(format!(
                "copying transaction lines failed: {}",
                describe(&e)
            )));
        }
        lines.clear();
        self.lines = lines;
        Ok(())
    }

    /// `AlreadyPresent` or `Repeated`, for a key that exists in `table`.
    fn present(&mut self, table: Table, key: &str) -> Result<Inserted> {
        let xact = self.xact;
        let row = query_opt(self.client()?, table.lookup_sql(), &[&key])?;
        let mine = match row {
            Some(r) => col::<Option<i64>>(&r, 0)? == Some(xact),
            None => false,
        };
        Ok(if mine {
            Inserted::Repeated
        } else {
            Inserted::AlreadyPresent
        })
    }

    fn settle(&mut self, table: Table, key: &str, r: Inserted) -> Result<Inserted> {
        if r == Inserted::New {
            Ok(r)
        } else {
            self.present(table, key)
        }
    }

    fn id_by(&mut self, sql: &str, key: &str) -> Result<Option<uuid::Uuid>> {
        if !storable(key) {
            return Ok(None);
        }
        match query_opt(self.client()?, sql, &[&key])? {
            Some(r) => Ok(Some(col(&r, 0)?)),
            None => Ok(None),
        }
    }
}

fn remember<V: Copy>(cache: &mut HashMap<String, V>, key: &str, v: Option<V>) -> Option<V> {
    if let Some(v) = v {
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key.to_string(), v);
    }
    v
}

impl ImportTx for PgImport<'_> {
    fn branch_ref(&mut self, ext: &str) -> Result<Option<BranchId>> {
        if let Some(v) = self.branches.get(ext) {
            return Ok(Some(*v));
        }
        let v = self
            .id_by("SELECT id FROM branches WHERE external_id = $1", ext)?
            .map(BranchId);
        Ok(remember(&mut self.branches, ext, v))
    }

    fn employee_ref(&mut self, ext: &str) -> Result<Option<EmployeeId>> {
        if let Some(v) = self.employees.get(ext) {
            return Ok(Some(*v));
        }
        let v = self
            .id_by("SELECT id FROM employees WHERE external_id = $1", ext)?
            .map(EmployeeId);
        Ok(remember(&mut self.employees, ext, v))
    }

    fn customer_ref(&mut self, member_no: &str) -> Result<Option<CustomerId>> {
        if let Some(v) = self.customers.get(member_no) {
            return Ok(Some(*v));
        }
        if !storable(member_no) {
            return Ok(None);
        }
        let v = find_by_identifier(self.client()?, "member", member_no)?;
        Ok(remember(&mut self.customers, member_no, v))
    }

    fn product_ref(&mut self, sku: &str) -> Result<Option<ProductId>> {
        if let Some(v) = self.products.get(sku) {
            return Ok(Some(*v));
        }
        let v = self
            .id_by("SELECT id FROM products WHERE sku = $1", sku)?
            .map(ProductId);
        if let Some(p) = v
            && self.known_products.len() < CACHE_LIMIT
        {
            self.known_products.insert(p.0);
        }
        Ok(remember(&mut self.products, sku, v))
    }

    fn transaction_ref(&mut self, ext: &str) -> Result<Option<TransactionId>> {
        Ok(self
            .id_by("SELECT id FROM transactions WHERE external_id = $1", ext)?
            .map(TransactionId))
    }

    fn insert_branch(&mut self, b: &Branch) -> Result<Inserted> {
        let r = self.row(|c, x| insert_branch(c, b, Some(x)))?;
        self.settle(Table::Branches, &b.external_id, r)
    }

    fn insert_employee(&mut self, e: &Employee) -> Result<Inserted> {
        let r = self.row(|c, x| insert_employee(c, e, Some(x)))?;
        self.settle(Table::Employees, &e.external_id, r)
    }

    fn insert_product(&mut self, p: &Product) -> Result<Inserted> {
        let r = self.row(|c, x| insert_product(c, p, Some(x)))?;
        if r == Inserted::New && self.known_products.len() < CACHE_LIMIT {
            self.known_products.insert(p.id.0);
        }
        self.settle(Table::Products, &p.sku, r)
    }

    fn insert_customer(&mut self, c: &Customer) -> Result<Inserted> {
        if !self.identifiers_locked {
            // Held to the end of the unit: no other session takes an identifier meanwhile.
            lock_identifiers(self.client()?)?;
            self.identifiers_locked = true;
        }
        if let Some(m) = &c.member_no
            && storable(m)
            && find_by_identifier(self.client()?, "member", m)?.is_some()
        {
            // A member number kept as an alias after a merge counts as present.
            return self.present(Table::Customers, m);
        }
        self.row(|conn, x| {
            check_identifiers_free(conn, c)?;
            insert_customer_row(conn, c, Some(x))
        })
    }

    fn insert_transaction(&mut self, t: &Transaction) -> Result<Inserted> {
        self.check_products(t)?;
        match self.row(|c, x| insert_transaction_head(c, t, Some(x)))? {
            Inserted::New => {
                let id = t.id.0;
                self.lines.extend(t.lines.iter().enumerate().map(|(i, l)| {
                    (
                        id,
                        line_no(i),
                        l.product_id.map(|p| p.0),
                        l.quantity,
                        l.unit_price,
                        l.discount,
                    )
                }));
                if self.lines.len() >= FLUSH_LINES {
                    self.flush()?;
                }
                Ok(Inserted::New)
            }
            _ => self.present(Table::Transactions, &t.external_id),
        }
    }

    fn insert_interaction(&mut self, i: &Interaction) -> Result<Inserted> {
        let r = self.row(|c, x| insert_interaction_row(c, i, Some(x)))?;
        match &i.external_id {
            Some(ext) => self.settle(Table::Interactions, ext, r),
            None => Ok(r),
        }
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.flush()?;
        self.client()?;
        let mut client = self
            .client
            .take()
            .ok_or_else(|| StoreError::Backend("import unit of work already ended".into()))?;
        // COMMIT of a transaction that an error has aborted quietly rolls back; the SELECT
        // before it fails instead, so that the caller never hears of a commit that did not land.
        // On failure the connection is dropped, which ends the server's transaction.
        client.batch_execute("SELECT 1; COMMIT").be()?;
        self.store.give_back(client);
        Ok(())
    }
}

impl Drop for PgImport<'_> {
    fn drop(&mut self) {
        if let Some(mut client) = self.client.take() {
            // Nothing of an unfinished import may land. A connection whose rollback failed is
            // not reused: closing it ends the transaction on the server.
            if client.batch_execute("ROLLBACK").is_ok() {
                self.store.give_back(client);
            }
        }
    }
}
