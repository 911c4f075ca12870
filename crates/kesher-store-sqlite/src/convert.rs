//! Rows to domain values and back, plus the single-row statements the store and the importer share.

use crate::{from_ts, ts};
use kesher_core::{Branch, Consent, Customer, CustomerId, Employee, Interaction, Product, ProductId, Transaction};
use kesher_store::checks::{self, Lookups};
use kesher_store::rows::{self, CUSTOMER_SELECT, Columns, TRANSACTION_SELECT, corrupt};
use kesher_store::{Inserted, Result, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// `.be()`: a rusqlite failure becomes a backend error; unique-constraint failures a conflict.
pub(crate) trait Ctx<T> {
    fn be(self) -> Result<T>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn be(self) -> Result<T> {
        self.map_err(|e| match &e {
            rusqlite::Error::SqliteFailure(f, Some(msg)) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
                StoreError::conflict("id", msg.clone())
            }
            _ => StoreError::Backend(e.to_string()),
        })
    }
}

pub(crate) fn blob16(b: &[u8]) -> Result<[u8; 16]> {
    b.try_into()
        .map_err(|_| StoreError::Backend(format!("stored id has {} bytes, expected 16", b.len())))
}

pub(crate) fn id16(r: &Row, i: usize) -> rusqlite::Result<[u8; 16]> {
    let v: Vec<u8> = r.get(i)?;
    v.as_slice()
        .try_into()
        .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, v.len() as i64))
}

fn opt_id16(r: &Row, i: usize) -> rusqlite::Result<Option<[u8; 16]>> {
    let v: Option<Vec<u8>> = r.get(i)?;
    v.map(|v| {
        v.as_slice()
            .try_into()
            .map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, v.len() as i64))
    })
    .transpose()
}

/// A rusqlite row as the shared row mapping (`kesher_store::rows`) reads it.
pub(crate) struct SqlRow<'a, 'r>(pub(crate) &'a Row<'r>);

impl SqlRow<'_, '_> {
    /// Column `i` as rusqlite reads it.
    pub(crate) fn get<T: rusqlite::types::FromSql>(&self, i: usize) -> Result<T> {
        self.0.get(i).be()
    }
}

impl Columns for SqlRow<'_, '_> {
    fn id(&self, i: usize) -> Result<[u8; 16]> {
        id16(self.0, i).be()
    }
    fn opt_id(&self, i: usize) -> Result<Option<[u8; 16]>> {
        opt_id16(self.0, i).be()
    }
    fn text(&self, i: usize) -> Result<String> {
        self.get(i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        self.get(i)
    }
    fn int(&self, i: usize) -> Result<i64> {
        self.get(i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        self.get(i)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        Ok(self.get::<i64>(i)? != 0)
    }
    fn real(&self, i: usize) -> Result<f64> {
        self.get(i)
    }
    fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        self.get(i)
    }
    fn time(&self, i: usize) -> Result<jiff::Timestamp> {
        from_ts(self.get(i)?)
    }
    fn opt_date(&self, i: usize) -> Result<Option<jiff::civil::Date>> {
        let d: Option<String> = self.get(i)?;
        d.map(|d| d.parse().map_err(|e| corrupt("date", e))).transpose()
    }
    fn opt_time(&self, i: usize) -> Result<Option<jiff::Timestamp>> {
        self.get::<Option<i64>>(i)?.map(from_ts).transpose()
    }
    fn json(&self, i: usize) -> Result<serde_json::Value> {
        serde_json::from_str(&self.get::<String>(i)?).map_err(|e| corrupt("JSON", e))
    }
    fn opt_json(&self, i: usize) -> Result<Option<serde_json::Value>> {
        let text: Option<String> = self.get(i)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt("JSON", e)))
            .transpose()
    }
}

/// The rows `sql` gives with `params`, each mapped by `f`.
pub(crate) fn all<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&SqlRow<'_, '_>) -> Result<T>,
) -> Result<Vec<T>> {
    let mut st = c.prepare_cached(sql).be()?;
    let mut rows = st.query(params).be()?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().be()? {
        out.push(f(&SqlRow(r))?);
    }
    Ok(out)
}

/// The first row `sql` gives with `params`, mapped by `f`.
pub(crate) fn one<T>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl Fn(&SqlRow<'_, '_>) -> Result<T>,
) -> Result<Option<T>> {
    let mut st = c.prepare_cached(sql).be()?;
    let mut rows = st.query(params).be()?;
    rows.next().be()?.map(|r| f(&SqlRow(r))).transpose()
}

pub(crate) fn insert_branch(c: &Connection, b: &Branch) -> Result<Inserted> {
    let n = c
        .prepare_cached("INSERT INTO branches (id, external_id, name, region, time_zone) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (external_id) DO NOTHING")
        .be()?
        .execute(params![b.id.as_bytes(), b.external_id, b.name, b.region, b.time_zone])
        .be()?;
    Ok(if n == 1 {
        Inserted::New
    } else {
        Inserted::AlreadyPresent
    })
}

pub(crate) fn insert_employee(c: &Connection, e: &Employee) -> Result<Inserted> {
    let n = c
        .prepare_cached("INSERT INTO employees (id, external_id, name, branch_id) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (external_id) DO NOTHING")
        .be()?
        .execute(params![e.id.as_bytes(), e.external_id, e.name, e.branch_id.map(|b| b.0.into_bytes())])
        .be()?;
    Ok(if n == 1 {
        Inserted::New
    } else {
        Inserted::AlreadyPresent
    })
}

pub(crate) fn insert_product(c: &Connection, p: &Product) -> Result<Inserted> {
    let n = c
        .prepare_cached(
            "INSERT INTO products (id, sku, name, category, list_price, currency, unit_cost) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (sku) DO NOTHING",
        )
        .be()?
        .execute(params![p.id.as_bytes(), p.sku, p.name, p.category, p.list_price.minor, p.list_price.currency.as_str(), p.unit_cost])
        .be()?;
    Ok(if n == 1 {
        Inserted::New
    } else {
        Inserted::AlreadyPresent
    })
}

pub(crate) fn load_customer(c: &Connection, id: CustomerId) -> Result<Option<Customer>> {
    let Some(mut cust) = one(c, &format!("{CUSTOMER_SELECT} WHERE id = ?1"), [id.as_bytes()], |r| {
        rows::customer(r)
    })?
    else {
        return Ok(None);
    };
    cust.consents = all(
        c,
        "SELECT channel, state, at, source FROM consents WHERE customer_id = ?1 ORDER BY channel",
        [id.as_bytes()],
        |r| rows::consent(r, 0),
    )?;
    Ok(Some(cust))
}

/// The customer holding an identifier, directly or as an alias left by a merge.
pub(crate) fn find_by_identifier(c: &Connection, kind: &str, value: &str) -> Result<Option<CustomerId>> {
    let col = match kind {
        "phone" => "phone",
        "email" => "email",
        "card" => "card",
        _ => "member_no",
    };
    let direct: Option<[u8; 16]> = c
        .prepare_cached(&format!("SELECT id FROM customers WHERE {col} = ?1"))
        .be()?
        .query_row([value], |r| id16(r, 0))
        .optional()
        .be()?;
    if let Some(id) = direct {
        return Ok(Some(CustomerId::from_bytes(id)));
    }
    let alias: Option<[u8; 16]> = c
        .prepare_cached("SELECT customer_id FROM customer_aliases WHERE kind = ?1 AND value = ?2")
        .be()?
        .query_row([kind, value], |r| id16(r, 0))
        .optional()
        .be()?;
    Ok(alias.map(CustomerId::from_bytes))
}

/// The look-ups of the shared checks (`kesher_store::checks`) on a connection.
struct Look<'c>(&'c Connection);

impl Lookups for Look<'_> {
    fn exists(&mut self, table: &'static str, id: [u8; 16]) -> Result<bool> {
        let sql = format!("SELECT 1 FROM {table} WHERE id = ?1");
        self.0.prepare_cached(&sql).be()?.exists([&id[..]]).be()
    }
    fn identifier_owner(&mut self, kind: &str, value: &str) -> Result<Option<CustomerId>> {
        find_by_identifier(self.0, kind, value)
    }
    fn member_no(&mut self, id: CustomerId) -> Result<Option<String>> {
        let sql = "SELECT member_no FROM customers WHERE id = ?1";
        Ok(one(self.0, sql, [id.as_bytes()], |r| r.opt_text(0))?.flatten())
    }
}

pub(crate) fn check_identifiers_free(c: &Connection, cust: &Customer) -> Result<()> {
    checks::identifiers_free(&mut Look(c), cust)
}

pub(crate) fn check_transaction_refs(c: &Connection, t: &Transaction) -> Result<()> {
    checks::transaction_refs(&mut Look(c), t)
}

/// Run `f` with a customer's 20 column values, in the order of `insert_customer_head`'s and
/// `update_customer_row`'s parameters (?1 to ?20). Only what SQLite stores in another form
/// than the model's is built: no boxing, no copy of the attributes.
fn with_customer_params<R>(c: &Customer, f: impl FnOnce(&[&dyn rusqlite::ToSql; 20]) -> R) -> R {
    let d = &c.demographics;
    let id = c.id.as_bytes();
    let name_norm = c.name.as_deref().map(kesher_core::normalize_name);
    let birth_date = d.birth_date.map(|b| b.to_string());
    // A map of JSON values always serialises.
    let attributes = serde_json::to_string(&c.attributes).unwrap_or_else(|_| "{}".into());
    let parent = c.parent_id.as_ref().map(|p| &p.as_bytes()[..]);
    let branch = c.source_branch.as_ref().map(|b| &b.as_bytes()[..]);
    let employee = c.source_employee.as_ref().map(|e| &e.as_bytes()[..]);
    f(&[
        &&id[..],
        &c.member_no.as_deref(),
        &c.kind.as_str(),
        &parent,
        &c.name.as_deref(),
        &name_norm,
        &c.phone.as_ref().map(|p| p.as_str()),
        &c.email.as_ref().map(|e| e.as_str()),
        &c.card.as_deref(),
        &c.language.as_deref(),
        &birth_date,
        &d.gender.map(|g| g.as_str()),
        &d.city.as_deref(),
        &d.region.as_deref(),
        &d.household_size.map(i64::from),
        &d.income_band.as_deref(),
        &attributes,
        &ts(c.created_at),
        &branch,
        &employee,
    ])
}

/// Insert the customer row alone (no consents); `AlreadyPresent` when the member number exists.
pub(crate) fn insert_customer_head(c: &Connection, cust: &Customer) -> Result<Inserted> {
    let mut st = c
        .prepare_cached(
            "INSERT INTO customers (id, member_no, kind, parent_id, name, name_norm, phone, email, card, language, birth_date,
                gender, city, region, household_size, income_band, attributes, created_at, source_branch, source_employee,
                runs_before)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
                (SELECT coalesce(max(run), 0) FROM analysis_runs))
             ON CONFLICT (member_no) DO NOTHING",
        )
        .be()?;
    let n = with_customer_params(cust, |p| st.execute(&p[..])).be()?;
    Ok(if n == 0 {
        Inserted::AlreadyPresent
    } else {
        Inserted::New
    })
}

/// Customers written by one multi-row INSERT at most (a power of two: `pow2_at_most`).
pub(crate) const CUSTOMERS_PER_INSERT: usize = 16;

/// Insert 2 to `CUSTOMERS_PER_INSERT` customer rows (no consents) with one statement, in order.
/// Like the sales' multi-row INSERT: a member number already present is skipped (DO NOTHING),
/// and OR FAIL keeps the rows before a failing one and writes none after it. Returns whether
/// every row landed; when not, the caller finds out which did.
pub(crate) fn insert_customer_heads(c: &Connection, group: &[&Customer]) -> Result<Option<bool>> {
    let values = vec![
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT coalesce(max(run), 0) FROM analysis_runs))";
        group.len()
    ]
    .join(", ");
    let mut st = c
        .prepare_cached(&format!(
            "INSERT OR FAIL INTO customers (id, member_no, kind, parent_id, name, name_norm, phone, email, card, language,
                birth_date, gender, city, region, household_size, income_band, attributes, created_at, source_branch,
                source_employee, runs_before)
             VALUES {values} ON CONFLICT (member_no) DO NOTHING"
        ))
        .be()?;
    for (k, cust) in group.iter().enumerate() {
        with_customer_params(cust, |p| {
            for (i, v) in p.iter().enumerate() {
                st.raw_bind_parameter(k * 20 + i + 1, v)?;
            }
            Ok::<_, rusqlite::Error>(())
        })
        .be()?;
    }
    Ok(match st.raw_execute() {
        Ok(n) => Some(n == group.len()),
        Err(_) => None,
    })
}

/// Insert the customer row and its consents; `AlreadyPresent` when the member number exists.
pub(crate) fn insert_customer_row(c: &Connection, cust: &Customer) -> Result<Inserted> {
    let r = insert_customer_head(c, cust)?;
    if r == Inserted::New {
        write_consents(c, cust.id, &cust.consents, None)?;
    }
    Ok(r)
}

/// Consents written by one multi-row INSERT at most (a power of two: `pow2_at_most`).
const CONSENTS_PER_INSERT: usize = 64;

/// Write the consents of new customers (none of them has any yet) and their history rows, in
/// order, many per statement: what `write_consents` with no `before` writes for each.
pub(crate) fn write_new_consents(c: &Connection, consents: &[(CustomerId, &Consent)]) -> Result<()> {
    let mut at = 0;
    while at < consents.len() {
        let n = pow2_at_most(consents.len() - at, CONSENTS_PER_INSERT);
        let chunk = &consents[at..at + n];
        at += n;
        let values = vec!["(?, ?, ?, ?, ?)"; n].join(", ");
        for table in ["INSERT OR REPLACE INTO consents", "INSERT INTO consent_history"] {
            let mut st = c
                .prepare_cached(&format!(
                    "{table} (customer_id, channel, state, at, source) VALUES {values}"
                ))
                .be()?;
            for (i, (id, k)) in chunk.iter().enumerate() {
                let p = i * 5;
                st.raw_bind_parameter(p + 1, &id.as_bytes()[..]).be()?;
                st.raw_bind_parameter(p + 2, k.channel.as_str()).be()?;
                st.raw_bind_parameter(p + 3, k.state.as_str()).be()?;
                st.raw_bind_parameter(p + 4, ts(k.at)).be()?;
                st.raw_bind_parameter(p + 5, k.source.as_str()).be()?;
            }
            st.raw_execute().be()?;
        }
    }
    Ok(())
}

pub(crate) fn update_customer_row(c: &Connection, cust: &Customer) -> Result<()> {
    let mut st = c
        .prepare_cached(
            "UPDATE customers SET member_no = ?2, kind = ?3, parent_id = ?4, name = ?5, name_norm = ?6, phone = ?7, email = ?8,
                card = ?9, language = ?10, birth_date = ?11, gender = ?12, city = ?13, region = ?14, household_size = ?15,
                income_band = ?16, attributes = ?17, created_at = ?18, source_branch = ?19, source_employee = ?20 WHERE id = ?1",
        )
        .be()?;
    with_customer_params(cust, |p| st.execute(&p[..])).be()?;
    Ok(())
}

/// Make `now` the current consents; every change against `before` goes to the history.
pub(crate) fn write_consents(
    c: &Connection,
    id: CustomerId,
    now: &[Consent],
    before: Option<&[Consent]>,
) -> Result<()> {
    for k in now {
        let unchanged = before
            .and_then(|b| b.iter().find(|o| o.channel == k.channel))
            .is_some_and(|o| o.state == k.state);
        if unchanged {
            continue;
        }
        c.prepare_cached(
            "INSERT OR REPLACE INTO consents (customer_id, channel, state, at, source) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .be()?
        .execute(params![
            id.as_bytes(),
            k.channel.as_str(),
            k.state.as_str(),
            ts(k.at),
            k.source
        ])
        .be()?;
        c.prepare_cached(
            "INSERT INTO consent_history (customer_id, channel, state, at, source) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .be()?
        .execute(params![
            id.as_bytes(),
            k.channel.as_str(),
            k.state.as_str(),
            ts(k.at),
            k.source
        ])
        .be()?;
    }
    Ok(())
}

pub(crate) fn load_transaction(c: &Connection, cond: &str, key: &dyn rusqlite::ToSql) -> Result<Option<Transaction>> {
    let Some(mut t) = one(c, &format!("{TRANSACTION_SELECT} WHERE {cond}"), [key], |r| {
        rows::transaction(r)
    })?
    else {
        return Ok(None);
    };
    t.lines = all(
        c,
        "SELECT l.product_id, p.sku, l.quantity, l.unit_price, l.discount FROM transaction_lines l
         LEFT JOIN products p ON p.id = l.product_id
         WHERE l.sale = (SELECT seq FROM transactions WHERE id = ?1) ORDER BY l.line_no",
        [t.id.as_bytes()],
        |r| rows::line(r),
    )?;
    Ok(Some(t))
}

pub(crate) fn load_transaction_by_external(c: &Connection, ext: &str) -> Result<Option<Transaction>> {
    load_transaction(c, "external_id = ?1", &ext)
}

const INSERT_TRANSACTION: &str = "INSERT INTO transactions (id, external_id, customer_id, branch_id, employee_id, occurred_at, currency, total, refund_of, cost)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (external_id) DO NOTHING";
/// Lines name their sale by its integer key (`transactions.seq`), not by its UUID.
const INSERT_LINE: &str = "INSERT INTO transaction_lines (sale, line_no, product_id, quantity, unit_price, discount) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Lines written by one multi-row INSERT at most: one statement run (and one set of cursors)
/// for many lines instead of one each. Fewer are written by the largest powers of two that fit
/// (32, 16, … 1 lines per statement), so a batch needs at most seven statements.
const LINES_PER_INSERT: usize = 64;

/// Sales written by one multi-row INSERT at most (`SaleStatements::insert_many`; fewer by
/// powers of two, like lines): the statement's cursors stay on the last pages of the table and
/// its two unique indexes, where a bulk import appends (sales' keys, ids and, in the usual
/// file, external ids all grow), so each row skips the descents from the root that a statement
/// per sale makes.
const SALES_PER_INSERT: usize = 32;

/// The largest power of two not above `n` (≥ 1) nor above `max`.
pub(crate) fn pow2_at_most(n: usize, max: usize) -> usize {
    let n = n.clamp(1, max);
    1 << (usize::BITS - 1 - n.leading_zeros())
}

/// The columns of `transactions` a multi-row INSERT binds per sale.
const SALE_COLUMNS: usize = 11;

/// One line waiting for the next multi-row INSERT.
struct QueuedLine {
    sale: i64,
    line_no: i64,
    product: Option<[u8; 16]>,
    quantity: i64,
    unit_price: i64,
    discount: i64,
}

/// The statements that write sales, prepared once for many sales. Lines are queued and written
/// `LINES_PER_INSERT` at a time; `finish` writes the rest (dropping the statements without it
/// loses them, so every caller ends with it).
pub(crate) struct SaleStatements<'c> {
    conn: &'c Connection,
    head: rusqlite::CachedStatement<'c>,
    lines: rusqlite::CachedStatement<'c>,
    /// Multi-row line INSERTs by size: number `i` writes `2^i` lines (0 unused: `lines`).
    many: [Option<rusqlite::CachedStatement<'c>>; 7],
    /// Multi-row sale INSERTs by size: number `i` writes `2^i` sales (0 unused: `head`).
    heads: [Option<rusqlite::CachedStatement<'c>>; 6],
    queued: Vec<QueuedLine>,
    /// The key the next sale of a multi-row INSERT gets (read from the table when unknown).
    next_seq: Option<i64>,
}

/// A sale's total and cost (the cost is `None` when a line has no product or no known cost).
fn sale_sums(
    t: &Transaction,
    unit_cost: &mut dyn FnMut(ProductId) -> Result<Option<i64>>,
) -> Result<(i64, Option<i64>)> {
    let total = t.total().ok_or_else(|| {
        StoreError::invalid_coded(
            "transaction.total.overflow",
            "lines",
            kesher_core::Params::new(),
            "transaction total overflows",
        )
    })?;
    let mut cost = Some(0i64);
    for l in &t.lines {
        let line_cost = match l.product_id {
            Some(p) => unit_cost(p)?.and_then(|u| u.checked_mul(l.quantity)),
            None => None,
        };
        cost = cost.zip(line_cost).and_then(|(a, b)| a.checked_add(b));
    }
    Ok((total, cost))
}

impl<'c> SaleStatements<'c> {
    pub(crate) fn new(c: &'c Connection) -> Result<Self> {
        Ok(SaleStatements {
            conn: c,
            head: c.prepare_cached(INSERT_TRANSACTION).be()?,
            lines: c.prepare_cached(INSERT_LINE).be()?,
            many: Default::default(),
            heads: Default::default(),
            queued: Vec::with_capacity(LINES_PER_INSERT),
            next_seq: None,
        })
    }

    /// Write the queued lines: a full queue with one statement, fewer one by one. A failure is
    /// a backend error whatever its cause: the sales' heads are written already, so it must
    /// stop the unit of work rather than reject one row and go on.
    fn write_lines(&mut self) -> Result<()> {
        self.try_write_lines()
            .map_err(|e| StoreError::Backend(format!("writing sale lines: {e}")))
    }

    fn try_write_lines(&mut self) -> Result<()> {
        let mut at = 0;
        while at < self.queued.len() {
            let n = pow2_at_most(self.queued.len() - at, LINES_PER_INSERT);
            let chunk = &self.queued[at..at + n];
            at += n;
            if n == 1 {
                bind_lines(&mut self.lines, chunk)?;
                self.lines.raw_execute().be()?;
                continue;
            }
            let st = match &mut self.many[n.trailing_zeros() as usize] {
                Some(st) => st,
                slot @ None => {
                    let values = vec!["(?, ?, ?, ?, ?, ?)"; n].join(", ");
                    // OR FAIL: a failure ends the unit of work anyway (see `write_lines`), so
                    // the statement needs no journal of its own to undo a partial run.
                    let sql = format!(
                        "INSERT OR FAIL INTO transaction_lines (sale, line_no, product_id, quantity, unit_price, discount) VALUES {values}"
                    );
                    slot.insert(self.conn.prepare_cached(&sql).be()?)
                }
            };
            bind_lines(st, chunk)?;
            st.raw_execute().be()?;
        }
        self.queued.clear();
        Ok(())
    }

    /// Write whatever lines are still queued.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.write_lines()
    }

    /// Queue the lines of sale `t`, stored under key `sale`.
    fn queue_lines(&mut self, sale: i64, t: &Transaction) -> Result<()> {
        for (n, l) in t.lines.iter().enumerate() {
            self.queued.push(QueuedLine {
                sale,
                line_no: n as i64,
                product: l.product_id.map(|p| p.0.into_bytes()),
                quantity: l.quantity,
                unit_price: l.unit_price,
                discount: l.discount,
            });
            if self.queued.len() == LINES_PER_INSERT {
                self.write_lines()?;
            }
        }
        Ok(())
    }

    /// Insert a transaction and its lines; `AlreadyPresent` (nothing written) when its external
    /// id exists. `unit_cost` gives a product's unit cost (the importer caches it); the sale's
    /// cost is kept on its row, `None` when a line has no product or no known cost.
    pub(crate) fn insert(
        &mut self,
        t: &Transaction,
        unit_cost: &mut dyn FnMut(ProductId) -> Result<Option<i64>>,
    ) -> Result<Inserted> {
        let (total, cost) = sale_sums(t, unit_cost)?;
        self.insert_one(t, total, cost)
    }

    fn insert_one(&mut self, t: &Transaction, total: i64, cost: Option<i64>) -> Result<Inserted> {
        let id = t.id.as_bytes();
        let n = self
            .head
            .execute(params![
                id,
                t.external_id,
                t.customer_id.as_ref().map(|c| c.as_bytes()),
                t.branch_id.as_bytes(),
                t.employee_id.as_ref().map(|e| e.as_bytes()),
                ts(t.occurred_at),
                t.currency.as_str(),
                total,
                t.refund_of.as_ref().map(|r| r.as_bytes()),
                cost
            ])
            .be()?;
        if n == 0 {
            return Ok(Inserted::AlreadyPresent);
        }
        // A sale written one by one takes the next key itself.
        self.next_seq = None;
        let sale = self.conn.last_insert_rowid();
        self.queue_lines(sale, t)?;
        Ok(Inserted::New)
    }

    /// Insert many sales and their lines, with the same outcome for each as `insert` one after
    /// the other: `SALES_PER_INSERT` at a time by one multi-row INSERT that gives each sale its
    /// key (`seq`) itself, so that its lines can name it. A sale that did not land is
    /// `AlreadyPresent` when the INSERT succeeded (its external id exists: DO NOTHING), and is
    /// written again on its own when it failed (OR FAIL keeps the rows before the failing one
    /// and writes nothing after it), so errors belong to the sale that caused them.
    pub(crate) fn insert_many(
        &mut self,
        ts: &[&Transaction],
        unit_cost: &mut dyn FnMut(ProductId) -> Result<Option<i64>>,
    ) -> Vec<Result<Inserted>> {
        let mut out = Vec::with_capacity(ts.len());
        let mut sums = Vec::with_capacity(SALES_PER_INSERT);
        let mut rest = ts;
        while !rest.is_empty() {
            let (group, tail) = rest.split_at(pow2_at_most(rest.len(), SALES_PER_INSERT));
            rest = tail;
            sums.clear();
            if group.len() > 1 {
                for t in group {
                    match sale_sums(t, unit_cost) {
                        Ok(s) => sums.push(s),
                        Err(_) => break,
                    }
                }
            }
            if group.len() > 1 && sums.len() == group.len() {
                let before = out.len();
                if let Err(e) = self.insert_group(group, &sums, &mut out) {
                    // The statement could not run, or what landed cannot be read back: a
                    // backend failure, which stops the unit of work. It surfaces on every sale
                    // of the group not yet accounted for.
                    let reason = e.to_string();
                    let left = group.len() - (out.len() - before);
                    out.extend((0..left).map(|_| Err(StoreError::Backend(reason.clone()))));
                }
                continue;
            }
            // One sale, or a sale whose sums fail (its error is its own): one by one.
            for t in group {
                out.push(self.insert(t, unit_cost));
            }
        }
        out
    }

    /// One group of `insert_many` (a power of two, 2 to `SALES_PER_INSERT` sales): each sale's
    /// outcome is pushed to `out`, in order.
    fn insert_group(
        &mut self,
        group: &[&Transaction],
        sums: &[(i64, Option<i64>)],
        out: &mut Vec<Result<Inserted>>,
    ) -> Result<()> {
        let first: i64 = match self.next_seq {
            Some(s) => s,
            None => self
                .conn
                .prepare_cached("SELECT coalesce(max(seq), 0) + 1 FROM transactions")
                .be()?
                .query_row([], |r| r.get(0))
                .be()?,
        };
        let st = match &mut self.heads[group.len().trailing_zeros() as usize] {
            Some(st) => st,
            slot @ None => {
                let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; group.len()].join(", ");
                // OR FAIL instead of the default ABORT: the rows before a failing one stay and
                // none after it is written (each is then written again on its own), so the
                // statement needs no journal of its own.
                let sql = format!(
                    "INSERT OR FAIL INTO transactions (seq, id, external_id, customer_id, branch_id, employee_id, occurred_at, currency, total, refund_of, cost)
                     VALUES {values} ON CONFLICT (external_id) DO NOTHING"
                );
                slot.insert(self.conn.prepare_cached(&sql).be()?)
            }
        };
        for (k, (t, (total, cost))) in group.iter().zip(sums).enumerate() {
            let at = k * SALE_COLUMNS;
            st.raw_bind_parameter(at + 1, first + k as i64).be()?;
            st.raw_bind_parameter(at + 2, &t.id.as_bytes()[..]).be()?;
            st.raw_bind_parameter(at + 3, t.external_id.as_str()).be()?;
            st.raw_bind_parameter(at + 4, t.customer_id.as_ref().map(|c| &c.as_bytes()[..]))
                .be()?;
            st.raw_bind_parameter(at + 5, &t.branch_id.as_bytes()[..]).be()?;
            st.raw_bind_parameter(at + 6, t.employee_id.as_ref().map(|e| &e.as_bytes()[..]))
                .be()?;
            st.raw_bind_parameter(at + 7, ts(t.occurred_at)).be()?;
            st.raw_bind_parameter(at + 8, t.currency.as_str()).be()?;
            st.raw_bind_parameter(at + 9, *total).be()?;
            st.raw_bind_parameter(at + 10, t.refund_of.as_ref().map(|r| &r.as_bytes()[..]))
                .be()?;
            st.raw_bind_parameter(at + 11, *cost).be()?;
        }
        let run = st.raw_execute();
        let n = group.len();
        if matches!(run, Ok(c) if c == n) {
            self.next_seq = Some(first + n as i64);
            for (k, t) in group.iter().enumerate() {
                out.push(self.queue_lines(first + k as i64, t).map(|()| Inserted::New));
            }
            return Ok(());
        }
        // Some sales did not land: their keys tell which did.
        let landed: Vec<i64> = self
            .conn
            .prepare_cached("SELECT seq FROM transactions WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq")
            .be()?
            .query_map([first, first + n as i64 - 1], |r| r.get(0))
            .be()?
            .collect::<rusqlite::Result<_>>()
            .be()?;
        self.next_seq = None;
        let failed = run.is_err();
        for (k, (t, &(total, cost))) in group.iter().zip(sums).enumerate() {
            let seq = first + k as i64;
            out.push(if landed.binary_search(&seq).is_ok() {
                self.queue_lines(seq, t).map(|()| Inserted::New)
            } else if !failed {
                Ok(Inserted::AlreadyPresent)
            } else {
                self.insert_one(t, total, cost)
            });
        }
        Ok(())
    }
}
/// Bind `lines` to the first `6 × lines.len()` parameters of `st`.
fn bind_lines(st: &mut rusqlite::Statement<'_>, lines: &[QueuedLine]) -> Result<()> {
    for (i, l) in lines.iter().enumerate() {
        let at = i * 6;
        st.raw_bind_parameter(at + 1, l.sale).be()?;
        st.raw_bind_parameter(at + 2, l.line_no).be()?;
        st.raw_bind_parameter(at + 3, l.product.as_ref().map(|p| &p[..])).be()?;
        st.raw_bind_parameter(at + 4, l.quantity).be()?;
        st.raw_bind_parameter(at + 5, l.unit_price).be()?;
        st.raw_bind_parameter(at + 6, l.discount).be()?;
    }
    Ok(())
}

/// Insert one transaction and its lines (see `SaleStatements::insert`).
pub(crate) fn insert_transaction_rows(
    c: &Connection,
    t: &Transaction,
    unit_cost: &mut dyn FnMut(ProductId) -> Result<Option<i64>>,
) -> Result<Inserted> {
    let mut st = SaleStatements::new(c)?;
    let r = st.insert(t, unit_cost)?;
    st.finish()?;
    Ok(r)
}

/// Insert an interaction; `AlreadyPresent` when its external id exists.
pub(crate) fn insert_interaction_row(c: &Connection, i: &Interaction) -> Result<Inserted> {
    let n = c
        .prepare_cached(
            "INSERT INTO interactions (id, external_id, customer_id, channel, kind, occurred_at, text, employee_id, satisfaction, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (external_id) DO NOTHING",
        )
        .be()?
        .execute(params![
            i.id.as_bytes(),
            i.external_id,
            i.customer_id.as_bytes(),
            i.channel.as_str(),
            i.kind.as_str(),
            ts(i.occurred_at),
            i.text,
            i.employee_id.map(|e| e.0.into_bytes()),
            i.satisfaction.map(i64::from),
            i.status.map(|s| s.as_str())
        ])
        .be()?;
    Ok(if n == 1 {
        Inserted::New
    } else {
        Inserted::AlreadyPresent
    })
}

/// A product's unit cost, when known.
pub(crate) fn product_cost(c: &Connection, id: ProductId) -> Result<Option<i64>> {
    let v: Option<Option<i64>> = c
        .prepare_cached("SELECT unit_cost FROM products WHERE id = ?1")
        .be()?
        .query_row([id.as_bytes()], |r| r.get(0))
        .optional()
        .be()?;
    Ok(v.flatten())
}
