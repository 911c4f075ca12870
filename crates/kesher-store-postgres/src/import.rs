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
/// price, discount, the sale's customer.
type LineRow = (Uuid, i32, Option<Uuid>, i64, i64, i64, Option<Uuid>);

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
    /// Whether parallel query is off for the rest of the unit (set by the first customer batch).
    serial: bool,
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
    /// Unit costs of the products sales name, for sales written in batches (whose cost is worked
    /// out here, as the single-row insert has the server do).
    unit_costs: HashMap<Uuid, Option<i64>>,
}

/// PostgreSQL text cannot hold NUL, so no stored key contains one; asking would fail the statement.
fn storable(key: &str) -> bool {
    !key.contains('\0')
}

/// A customer's identifiers in the order `check_identifiers_free` checks them: the field an
/// error names and the kind an alias is stored under.
const IDENTIFIERS: [(&str, &str); 4] = [
    ("member_no", "member"),
    ("phone", "phone"),
    ("email", "email"),
    ("card", "card"),
];

fn identifiers(c: &Customer) -> [Option<&str>; 4] {
    [
        c.member_no.as_deref(),
        c.phone.as_ref().map(|p| p.as_str()),
        c.email.as_ref().map(|e| e.as_str()),
        c.card.as_deref(),
    ]
}

/// The customer holding an identifier (directly, or by an alias left by a merge), with the
/// member number and import unit of that customer.
struct Holder {
    owner: Uuid,
    alias: bool,
    member_no: Option<String>,
    xact: Option<i64>,
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
            serial: false,
            savepoint_open: false,
            broken: false,
            lines: Vec::new(),
            known_products: HashSet::new(),
            customers: HashMap::new(),
            branches: HashMap::new(),
            employees: HashMap::new(),
            products: HashMap::new(),
            unit_costs: HashMap::new(),
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
                return Err(StoreError::invalid_coded(
                    "transaction.product.not_found",
                    "sku",
                    kesher_core::params!(product = p.to_string()),
                    format!("no product {p}"),
                ));
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
    /// The connection with every buffered line written: what the points rows read.
    fn rows_client(&mut self) -> Result<&mut Client> {
        self.flush()?;
        self.client()
    }

    fn flush(&mut self) -> Result<()> {
        if self.lines.is_empty() {
            return Ok(());
        }
        let mut lines = std::mem::take(&mut self.lines);
        let c = self.client()?;
        let copied = (|| {
            let w = c.copy_in(
                "COPY transaction_lines (transaction_id, line_no, product_id, quantity, unit_price, discount, customer_id)
                 FROM STDIN (FORMAT binary)",
            )?;
            let mut w = BinaryCopyInWriter::new(
                w,
                &[
                    Type::UUID,
                    Type::INT4,
                    Type::UUID,
                    Type::INT8,
                    Type::INT8,
                    Type::INT8,
                    Type::UUID,
                ],
            );
            for l in &lines {
                w.write(&[&l.0, &l.1, &l.2, &l.3, &l.4, &l.5, &l.6])?;
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

    /// A sale's cost: Σ quantity × unit cost when every line has a product with a known cost
    /// (None otherwise, or when the sum overflows), as migration 4's SQL computes it.
    fn sale_cost(&mut self, t: &Transaction) -> Result<Option<i64>> {
        let mut sum: i64 = 0;
        for l in &t.lines {
            let Some(p) = l.product_id else { return Ok(None) };
            let cost = match self.unit_costs.get(&p.0) {
                Some(c) => *c,
                None => {
                    let c = match query_opt(self.client()?, "SELECT unit_cost FROM products WHERE id = $1", &[&p.0])? {
                        Some(r) => col::<Option<i64>>(&r, 0)?,
                        None => None,
                    };
                    if self.unit_costs.len() >= CACHE_LIMIT {
                        self.unit_costs.clear();
                    }
                    self.unit_costs.insert(p.0, c);
                    c
                }
            };
            let Some(unit) = cost else { return Ok(None) };
            match l.quantity.checked_mul(unit).and_then(|v| sum.checked_add(v)) {
                Some(v) => sum = v,
                None => return Ok(None),
            }
        }
        Ok((!t.lines.is_empty()).then_some(sum))
    }

    fn buffer_lines(&mut self, t: &Transaction) {
        let id = t.id.0;
        let customer = t.customer_id.map(|c| c.0);
        self.lines.extend(t.lines.iter().enumerate().map(|(i, l)| {
            (
                id,
                line_no(i),
                l.product_id.map(|p| p.0),
                l.quantity,
                l.unit_price,
                l.discount,
                customer,
            )
        }));
    }

    /// Several sales in one statement inside one savepoint. Any failure (a bad reference, an
    /// overflowing total) rolls the whole batch back and is reported as `Err`, and the caller
    /// writes the batch row by row instead, which pins the failure on its row.
    fn try_batch(&mut self, ts: &[&Transaction]) -> Result<Vec<Result<Inserted>>> {
        let n = ts.len();
        let mut ids = Vec::with_capacity(n);
        let mut exts = Vec::with_capacity(n);
        let mut customers = Vec::with_capacity(n);
        let mut branches = Vec::with_capacity(n);
        let mut employees = Vec::with_capacity(n);
        let mut times = Vec::with_capacity(n);
        let mut currencies = Vec::with_capacity(n);
        let mut totals = Vec::with_capacity(n);
        let mut refunds = Vec::with_capacity(n);
        let mut costs = Vec::with_capacity(n);
        for t in ts {
            self.check_products(t)?;
            let total = t.total().ok_or_else(|| {
                StoreError::invalid_coded(
                    "transaction.total.overflow",
                    "lines",
                    kesher_core::Params::new(),
                    "transaction total overflows",
                )
            })?;
            if !storable(&t.external_id) {
                return Err(StoreError::invalid_coded(
                    "value.nul_character",
                    "transaction_id",
                    kesher_core::Params::new(),
                    "contains a NUL character",
                ));
            }
            ids.push(t.id.0);
            exts.push(t.external_id.as_str());
            customers.push(t.customer_id.map(|c| c.0));
            branches.push(t.branch_id.0);
            employees.push(t.employee_id.map(|e| e.0));
            times.push(t.occurred_at);
            currencies.push(t.currency.as_str());
            totals.push(total);
            refunds.push(t.refund_of.map(|r| r.0));
            costs.push(self.sale_cost(t)?);
        }
        let written: HashSet<Uuid> = self.row(|c, x| {
            let rows = c
                .query(
                    "INSERT INTO transactions (id, external_id, customer_id, branch_id, employee_id, occurred_at, currency,
                        total, refund_of, cost, import_xact)
                     SELECT i, e, c, b, em, o, cu, tt, r, co, $11
                     FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[], $5::uuid[], $6::timestamptz[],
                                 $7::text[], $8::bigint[], $9::uuid[], $10::bigint[])
                          WITH ORDINALITY AS s(i, e, c, b, em, o, cu, tt, r, co, n)
                     ORDER BY n
                     ON CONFLICT (external_id) DO NOTHING
                     RETURNING id",
                    &[
                        &ids, &exts, &customers, &branches, &employees, &times, &currencies, &totals, &refunds, &costs,
                        &x,
                    ],
                )
                .be()?;
            rows.iter().map(|r| col::<Uuid>(r, 0)).collect()
        })?;
        // What was not written was there before this unit, or earlier in it: one lookup for all.
        let missing: Vec<&str> = ts
            .iter()
            .filter(|t| !written.contains(&t.id.0))
            .map(|t| t.external_id.as_str())
            .collect();
        let mut owner: HashMap<String, Option<i64>> = HashMap::new();
        if !missing.is_empty() {
            for r in self
                .client()?
                .query(
                    "SELECT external_id, import_xact FROM transactions WHERE external_id = ANY($1)",
                    &[&missing],
                )
                .be()?
            {
                owner.insert(col(&r, 0)?, col(&r, 1)?);
            }
        }
        let xact = self.xact;
        let mut out = Vec::with_capacity(n);
        for t in ts {
            if written.contains(&t.id.0) {
                self.buffer_lines(t);
                out.push(Ok(Inserted::New));
            } else if owner.get(&t.external_id).copied().flatten() == Some(xact) {
                out.push(Ok(Inserted::Repeated));
            } else {
                out.push(Ok(Inserted::AlreadyPresent));
            }
        }
        if self.lines.len() >= FLUSH_LINES {
            self.flush()?;
        }
        Ok(out)
    }

    /// Held to the end of the unit once taken: no other session takes an identifier meanwhile.
    fn lock_identifiers(&mut self) -> Result<()> {
        if !self.identifiers_locked {
            lock_identifiers(self.client()?)?;
            self.identifiers_locked = true;
        }
        Ok(())
    }

    /// Several customers checked and written together inside one savepoint: one lookup of who
    /// holds any of the batch's identifiers (customers and merge aliases), then the decisions
    /// `insert_customer` would take row by row, made in order here (a row's identifiers count as
    /// taken for the rows after it once it is written), then one INSERT for the new customers and
    /// one for their consents and consent history. Any failure (a value PostgreSQL cannot hold, a
    /// bad reference, a constraint the decisions did not foresee) rolls the whole batch back and
    /// is reported as `Err`, and the caller writes the batch row by row instead.
    fn try_customers(&mut self, cs: &[&Customer]) -> Result<Vec<Result<Inserted>>> {
        self.lock_identifiers()?;
        if !self.serial {
            // The batch lookup is a few hundred index probes (about 2 ms); the planner runs its
            // branches in parallel workers, whose start cost about 20 ms per batch here.
            self.client()?
                .batch_execute("SET LOCAL max_parallel_workers_per_gather = 0")
                .be()?;
            self.serial = true;
        }
        let mut values: [Vec<&str>; 4] = Default::default();
        for c in cs {
            for (i, v) in identifiers(c).into_iter().enumerate() {
                if let Some(v) = v {
                    if !storable(v) {
                        return Err(StoreError::invalid_coded(
                            "value.nul_character",
                            IDENTIFIERS[i].0,
                            kesher_core::Params::new(),
                            "contains a NUL character",
                        ));
                    }
                    values[i].push(v);
                }
            }
        }
        let (alias_kinds, alias_values): (Vec<&str>, Vec<&str>) = values
            .iter()
            .enumerate()
            .flat_map(|(i, vs)| vs.iter().map(move |v| (IDENTIFIERS[i].1, *v)))
            .unzip();
        self.row(|conn, xact| {
            let rows = conn
                .query(
                    "SELECT 'member'::text, member_no, id, false, member_no, import_xact FROM customers
                         WHERE member_no = ANY($1)
                     UNION ALL SELECT 'phone', phone, id, false, member_no, import_xact FROM customers WHERE phone = ANY($2)
                     UNION ALL SELECT 'email', email, id, false, member_no, import_xact FROM customers WHERE email = ANY($3)
                     UNION ALL SELECT 'card', card, id, false, member_no, import_xact FROM customers WHERE card = ANY($4)
                     UNION ALL SELECT a.kind, a.value, a.customer_id, true, c.member_no, c.import_xact
                         FROM customer_aliases a
                         JOIN unnest($5::text[], $6::text[]) AS q (kind, value) ON a.kind = q.kind AND a.value = q.value
                         LEFT JOIN customers c ON c.id = a.customer_id",
                    &[&values[0], &values[1], &values[2], &values[3], &alias_kinds, &alias_values],
                )
                .be()?;
            // Who holds each identifier: a customer row before an alias, as `find_by_identifier`.
            let mut held: HashMap<(usize, String), Holder> = HashMap::new();
            for r in &rows {
                let kind: String = col(r, 0)?;
                let Some(k) = IDENTIFIERS.iter().position(|(_, name)| *name == kind) else {
                    continue;
                };
                let h = Holder {
                    owner: col(r, 2)?,
                    alias: col(r, 3)?,
                    member_no: col(r, 4)?,
                    xact: col(r, 5)?,
                };
                let key = (k, col::<String>(r, 1)?);
                if !h.alias || !held.contains_key(&key) {
                    held.insert(key, h);
                }
            }
            let mut out = Vec::with_capacity(cs.len());
            let mut new: Vec<&Customer> = Vec::new();
            for c in cs {
                let ids = identifiers(c);
                let holder = |k: usize, v: &str| held.get(&(k, v.to_string()));
                if let Some(m) = ids[0]
                    && let Some(h) = holder(0, m)
                {
                    // A member number kept as an alias after a merge counts as present.
                    let mine = !h.alias && h.xact == Some(xact);
                    out.push(Ok(if mine { Inserted::Repeated } else { Inserted::AlreadyPresent }));
                    continue;
                }
                let conflict = ids.iter().enumerate().find_map(|(k, v)| {
                    let v = (*v)?;
                    let h = holder(k, v).filter(|h| h.owner != c.id.0)?;
                    let who = h.member_no.clone().unwrap_or_else(|| h.owner.to_string());
                    Some(kesher_store::identifier_taken(IDENTIFIERS[k].0, v, &who))
                });
                if let Some(e) = conflict {
                    out.push(Err(e));
                    continue;
                }
                // Written: its identifiers are taken for the rows after it.
                for (k, v) in ids.into_iter().enumerate() {
                    if let Some(v) = v {
                        let h = Holder {
                            owner: c.id.0,
                            alias: false,
                            member_no: c.member_no.clone(),
                            xact: Some(xact),
                        };
                        held.insert((k, v.to_string()), h);
                    }
                }
                new.push(c);
                out.push(Ok(Inserted::New));
            }
            insert_customer_rows(conn, &new, xact)?;
            Ok(out)
        })
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

    fn product_currency(&mut self, sku: &str) -> Result<Option<kesher_core::Currency>> {
        if !storable(sku) {
            return Ok(None);
        }
        match query_opt(self.client()?, "SELECT currency FROM products WHERE sku = $1", &[&sku])? {
            Some(r) => {
                let code: String = col(&r, 0)?;
                kesher_core::Currency::from_stored(&code)
                    .map(Some)
                    .map_err(|e| StoreError::Backend(format!("stored currency: {e}")))
            }
            None => Ok(None),
        }
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
        self.lock_identifiers()?;
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

    fn insert_customers(&mut self, cs: &[&Customer]) -> Vec<Result<Inserted>> {
        // On failure the batch was rolled back whole: write it row by row, which names the bad
        // row (or, when the unit broke, reports that for each).
        if cs.len() > 1
            && !self.broken
            && let Ok(results) = self.try_customers(cs)
        {
            return results;
        }
        cs.iter().map(|c| self.insert_customer(c)).collect()
    }

    fn insert_transaction(&mut self, t: &Transaction) -> Result<Inserted> {
        self.check_products(t)?;
        match self.row(|c, x| insert_transaction_head(c, t, Some(x)))? {
            Inserted::New => {
                self.buffer_lines(t);
                if self.lines.len() >= FLUSH_LINES {
                    self.flush()?;
                }
                Ok(Inserted::New)
            }
            _ => self.present(Table::Transactions, &t.external_id),
        }
    }

    fn insert_transactions(&mut self, ts: &[&Transaction]) -> Vec<Result<Inserted>> {
        // On failure the batch was rolled back whole: write it row by row, which names the bad
        // row (or, when the unit broke, reports that for each).
        if ts.len() > 1
            && !self.broken
            && let Ok(results) = self.try_batch(ts)
        {
            return results;
        }
        ts.iter().map(|t| self.insert_transaction(t)).collect()
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

// No table lock for the import's award: a till's sale beside the import locks its customer's
// balance row, which would wait for the whole import behind `LOCK TABLE`. The award's first page
// locks the balance rows of the customers its sales earn for instead
// (`crate::points::unearned_sales`): a sale for any other customer goes through meanwhile.
crate::unit::points_rows_on_client!(PgImport<'_>; |_unit: &mut PgImport<'_>| Ok(()));
