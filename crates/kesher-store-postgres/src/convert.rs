//! Rows to domain values and back, plus the single-row statements the store and the importer share.

use jiff::Timestamp;
use kesher_core::{Branch, Consent, Customer, CustomerId, Employee, Interaction, Product, Transaction};
use kesher_store::checks::{self, Lookups};
use kesher_store::rows::{self, CUSTOMER_SELECT, Columns, TRANSACTION_SELECT};
use kesher_store::{Inserted, Result, StoreError};
use postgres::error::SqlState;
use postgres::types::{FromSql, ToSql, Type};
use postgres::{GenericClient, Row};
use uuid::Uuid;

/// Statement parameters as the `postgres` crate takes them.
pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// `.be()`: a PostgreSQL failure becomes a store error; integrity-constraint failures a conflict.
pub(crate) trait Ctx<T> {
    fn be(self) -> Result<T>;
}

impl<T> Ctx<T> for std::result::Result<T, postgres::Error> {
    fn be(self) -> Result<T> {
        self.map_err(pg_error)
    }
}

pub(crate) fn pg_error(e: postgres::Error) -> StoreError {
    let Some(db) = e.as_db_error() else {
        return StoreError::Backend(describe(&e));
    };
    // A reference to a row that does not exist: name the field, as the store's own checks do.
    if *db.code() == SqlState::FOREIGN_KEY_VIOLATION {
        let constraint = db.constraint().unwrap_or("");
        let field = [
            ("customer_id", "customer_id"),
            ("branch_id", "branch_id"),
            ("employee_id", "employee_id"),
            ("product_id", "sku"),
            ("refund_of", "refund_of"),
            ("parent_id", "parent_id"),
            ("source_branch", "source_branch"),
            ("source_employee", "source_employee"),
        ]
        .into_iter()
        .find(|(column, _)| constraint.ends_with(&format!("_{column}_fkey")))
        .map_or("id", |(_, field)| field);
        return StoreError::invalid_coded(
            "reference.not_found",
            field,
            kesher_core::Params::new(),
            db.detail().unwrap_or(db.message()).to_string(),
        );
    }
    // Class 22: the data itself cannot be stored (a NUL in text, a number out of range): the
    // caller's input, not the backend's failure.
    if db.code().code().starts_with("22") {
        return StoreError::invalid("value", db.message().to_string());
    }
    // Class 23: integrity constraint violation (unique, not null, check).
    if db.code().code().starts_with("23") {
        let field = match (db.code(), db.constraint()) {
            (c, Some("customers_member_no_key")) if *c == SqlState::UNIQUE_VIOLATION => "member_no",
            (c, Some("customers_phone_key")) if *c == SqlState::UNIQUE_VIOLATION => "phone",
            (c, Some("customers_email_key")) if *c == SqlState::UNIQUE_VIOLATION => "email",
            (c, Some("customers_card_key")) if *c == SqlState::UNIQUE_VIOLATION => "card",
            _ => "id",
        };
        return StoreError::conflict(field, db.message().to_string());
    }
    StoreError::Backend(describe(&e))
}

/// The error with its causes: `postgres::Error` alone often shows only its kind ("db error").
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.code().code(), db.message());
    }
    let mut out = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let s = c.to_string();
        if !out.contains(&s) {
            out = format!("{out}: {s}");
        }
        cause = c.source();
    }
    out
}

/// Column `i` of a row, typed.
pub(crate) fn col<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T> {
    r.try_get(i).be()
}

/// A PostgreSQL row as the shared row mapping (`kesher_store::rows`) reads it.
pub(crate) struct PgRow<'a>(pub(crate) &'a Row);

impl PgRow<'_> {
    fn int4(&self, i: usize) -> bool {
        self.0.columns().get(i).is_some_and(|c| *c.type_() == Type::INT4)
    }
}

impl Columns for PgRow<'_> {
    fn id(&self, i: usize) -> Result<[u8; 16]> {
        Ok(col::<Uuid>(self.0, i)?.into_bytes())
    }
    fn opt_id(&self, i: usize) -> Result<Option<[u8; 16]>> {
        Ok(col::<Option<Uuid>>(self.0, i)?.map(Uuid::into_bytes))
    }
    fn text(&self, i: usize) -> Result<String> {
        col(self.0, i)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>> {
        col(self.0, i)
    }
    fn int(&self, i: usize) -> Result<i64> {
        if self.int4(i) {
            return col::<i32>(self.0, i).map(i64::from);
        }
        col(self.0, i)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        if self.int4(i) {
            return Ok(col::<Option<i32>>(self.0, i)?.map(i64::from));
        }
        col(self.0, i)
    }
    fn flag(&self, i: usize) -> Result<bool> {
        col(self.0, i)
    }
    fn real(&self, i: usize) -> Result<f64> {
        col(self.0, i)
    }
    fn opt_real(&self, i: usize) -> Result<Option<f64>> {
        col(self.0, i)
    }
    fn time(&self, i: usize) -> Result<Timestamp> {
        col(self.0, i)
    }
    fn opt_date(&self, i: usize) -> Result<Option<jiff::civil::Date>> {
        col(self.0, i)
    }
    fn opt_time(&self, i: usize) -> Result<Option<Timestamp>> {
        col(self.0, i)
    }
    fn json(&self, i: usize) -> Result<serde_json::Value> {
        col(self.0, i)
    }
    fn opt_json(&self, i: usize) -> Result<Option<serde_json::Value>> {
        col(self.0, i)
    }
}

/// The rows `sql` gives with `params`, each mapped by `f`.
pub(crate) fn all<C: GenericClient, T>(
    c: &mut C,
    sql: &str,
    params: &Params<'_>,
    f: impl Fn(&PgRow<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    c.query(sql, params).be()?.iter().map(|r| f(&PgRow(r))).collect()
}

/// The row `sql` gives with `params` (at most one), mapped by `f`.
pub(crate) fn one<C: GenericClient, T>(
    c: &mut C,
    sql: &str,
    params: &Params<'_>,
    f: impl Fn(&PgRow<'_>) -> Result<T>,
) -> Result<Option<T>> {
    query_opt(c, sql, params)?.map(|r| f(&PgRow(&r))).transpose()
}

pub(crate) fn query_opt<C: GenericClient>(c: &mut C, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
    c.query_opt(sql, params).be()
}

pub(crate) fn exists<C: GenericClient>(c: &mut C, sql: &str, params: &Params<'_>) -> Result<bool> {
    Ok(query_opt(c, sql, params)?.is_some())
}

pub(crate) fn count<C: GenericClient>(c: &mut C, sql: &str, params: &Params<'_>) -> Result<u64> {
    let row = c.query_one(sql, params).be()?;
    let n: i64 = col(&row, 0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(crate) fn inserted(n: u64) -> Inserted {
    if n == 1 {
        Inserted::New
    } else {
        Inserted::AlreadyPresent
    }
}

/// Each `insert_*` below takes the import unit's id (`import_xact`), `None` outside an import.
pub(crate) fn insert_branch<C: GenericClient>(c: &mut C, b: &Branch, xact: Option<i64>) -> Result<Inserted> {
    let n = c
        .execute(
            "INSERT INTO branches (id, external_id, name, region, time_zone, import_xact) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (external_id) DO NOTHING",
            &[&b.id.0, &b.external_id, &b.name, &b.region, &b.time_zone, &xact],
        )
        .be()?;
    Ok(inserted(n))
}

pub(crate) fn insert_employee<C: GenericClient>(c: &mut C, e: &Employee, xact: Option<i64>) -> Result<Inserted> {
    let n = c
        .execute(
            "INSERT INTO employees (id, external_id, name, branch_id, import_xact) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (external_id) DO NOTHING",
            &[&e.id.0, &e.external_id, &e.name, &e.branch_id.map(|b| b.0), &xact],
        )
        .be()?;
    Ok(inserted(n))
}

pub(crate) fn insert_product<C: GenericClient>(c: &mut C, p: &Product, xact: Option<i64>) -> Result<Inserted> {
    let n = c
        .execute(
            "INSERT INTO products (id, sku, name, category, list_price, currency, unit_cost, import_xact)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (sku) DO NOTHING",
            &[
                &p.id.0,
                &p.sku,
                &p.name,
                &p.category,
                &p.list_price.minor,
                &p.list_price.currency.as_str(),
                &p.unit_cost,
                &xact,
            ],
        )
        .be()?;
    Ok(inserted(n))
}

pub(crate) fn load_customer<C: GenericClient>(c: &mut C, id: CustomerId) -> Result<Option<Customer>> {
    let Some(mut cust) = one(c, &format!("{CUSTOMER_SELECT} WHERE id = $1"), &[&id.0], |r| {
        rows::customer(r)
    })?
    else {
        return Ok(None);
    };
    cust.consents = all(
        c,
        "SELECT channel, state, at, source FROM consents WHERE customer_id = $1 ORDER BY channel COLLATE \"C\"",
        &[&id.0],
        |r| rows::consent(r, 0),
    )?;
    Ok(Some(cust))
}

/// The customer holding an identifier, directly or as an alias left by a merge.
pub(crate) fn find_by_identifier<C: GenericClient>(c: &mut C, kind: &str, value: &str) -> Result<Option<CustomerId>> {
    let col_name = match kind {
        "phone" => "phone",
        "email" => "email",
        "card" => "card",
        _ => "member_no",
    };
    let sql = format!(
        "SELECT id FROM customers WHERE {col_name} = $2
         UNION ALL SELECT customer_id FROM customer_aliases WHERE kind = $1 AND value = $2 LIMIT 1"
    );
    match query_opt(c, &sql, &[&kind, &value])? {
        Some(r) => Ok(Some(CustomerId(col(&r, 0)?))),
        None => Ok(None),
    }
}

/// The look-ups of the shared checks (`kesher_store::checks`) on a client.
struct Look<'c, C>(&'c mut C);

impl<C: GenericClient> Lookups for Look<'_, C> {
    fn exists(&mut self, table: &'static str, id: [u8; 16]) -> Result<bool> {
        exists(
            self.0,
            &format!("SELECT 1 FROM {table} WHERE id = $1"),
            &[&Uuid::from_bytes(id)],
        )
    }
    fn identifier_owner(&mut self, kind: &str, value: &str) -> Result<Option<CustomerId>> {
        find_by_identifier(self.0, kind, value)
    }
    fn member_no(&mut self, id: CustomerId) -> Result<Option<String>> {
        let sql = "SELECT member_no FROM customers WHERE id = $1";
        Ok(one(self.0, sql, &[&id.0], |r| r.opt_text(0))?.flatten())
    }
}

pub(crate) fn check_identifiers_free<C: GenericClient>(c: &mut C, cust: &Customer) -> Result<()> {
    checks::identifiers_free(&mut Look(c), cust)
}

pub(crate) fn check_transaction_refs<C: GenericClient>(c: &mut C, t: &Transaction) -> Result<()> {
    checks::transaction_refs(&mut Look(c), t)
}

/// Serialise the customer writes that check identifiers before writing them, as SQLite's single
/// writer does: two sessions cannot both find a phone free and both take it (aliases have no
/// unique constraint across the two tables). Held until the transaction ends.
pub(crate) fn lock_identifiers<C: GenericClient>(c: &mut C) -> Result<()> {
    c.execute("SELECT pg_advisory_xact_lock(7306264851)", &[]).be()?;
    Ok(())
}

/// Insert the customer row and its consents; `AlreadyPresent` when the member number exists.
pub(crate) fn insert_customer_row<C: GenericClient>(c: &mut C, cust: &Customer, xact: Option<i64>) -> Result<Inserted> {
    let d = &cust.demographics;
    let n = c
        .execute(
            "INSERT INTO customers (id, member_no, kind, parent_id, name, name_norm, phone, email, card, language, birth_date,
                gender, city, region, household_size, income_band, attributes, created_at, source_branch, source_employee,
                import_xact, runs_before)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                (SELECT coalesce(max(run), 0) FROM analysis_runs))
             ON CONFLICT (member_no) DO NOTHING",
            &[
                &cust.id.0,
                &cust.member_no,
                &cust.kind.as_str(),
                &cust.parent_id.map(|p| p.0),
                &cust.name,
                &cust.name.as_deref().map(kesher_core::normalize_name),
                &cust.phone.as_ref().map(|p| p.as_str()),
                &cust.email.as_ref().map(|e| e.as_str()),
                &cust.card,
                &cust.language,
                &d.birth_date,
                &d.gender.map(|g| g.as_str()),
                &d.city,
                &d.region,
                &d.household_size.map(i32::from),
                &d.income_band,
                &serde_json::Value::Object(cust.attributes.clone()),
                &cust.created_at,
                &cust.source_branch.map(|b| b.0),
                &cust.source_employee.map(|e| e.0),
                &xact,
            ],
        )
        .be()?;
    if n == 0 {
        return Ok(Inserted::AlreadyPresent);
    }
    write_consents(c, cust.id, &cust.consents, None)?;
    Ok(Inserted::New)
}

/// Insert new customers (none may exist yet) with their consents, in three statements whatever
/// their number: the rows `insert_customer_row` writes for each, in the same order. Fails when a
/// member number exists after all.
pub(crate) fn insert_customer_rows<C: GenericClient>(c: &mut C, cs: &[&Customer], xact: i64) -> Result<()> {
    if cs.is_empty() {
        return Ok(());
    }
    let n = cs.len();
    let mut ids = Vec::with_capacity(n);
    let mut members = Vec::with_capacity(n);
    let mut kinds = Vec::with_capacity(n);
    let mut parents = Vec::with_capacity(n);
    let mut names = Vec::with_capacity(n);
    let mut norms = Vec::with_capacity(n);
    let mut phones = Vec::with_capacity(n);
    let mut emails = Vec::with_capacity(n);
    let mut cards = Vec::with_capacity(n);
    let mut languages = Vec::with_capacity(n);
    let mut births = Vec::with_capacity(n);
    let mut genders = Vec::with_capacity(n);
    let mut cities = Vec::with_capacity(n);
    let mut regions = Vec::with_capacity(n);
    let mut households = Vec::with_capacity(n);
    let mut incomes = Vec::with_capacity(n);
    let mut attributes = Vec::with_capacity(n);
    let mut created = Vec::with_capacity(n);
    let mut branches = Vec::with_capacity(n);
    let mut employees = Vec::with_capacity(n);
    let (mut k_ids, mut k_channels, mut k_states, mut k_at, mut k_sources) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for cust in cs {
        let d = &cust.demographics;
        ids.push(cust.id.0);
        members.push(cust.member_no.as_deref());
        kinds.push(cust.kind.as_str());
        parents.push(cust.parent_id.map(|p| p.0));
        names.push(cust.name.as_deref());
        norms.push(cust.name.as_deref().map(kesher_core::normalize_name));
        phones.push(cust.phone.as_ref().map(|p| p.as_str()));
        emails.push(cust.email.as_ref().map(|e| e.as_str()));
        cards.push(cust.card.as_deref());
        languages.push(cust.language.as_deref());
        births.push(d.birth_date);
        genders.push(d.gender.map(|g| g.as_str()));
        cities.push(d.city.as_deref());
        regions.push(d.region.as_deref());
        households.push(d.household_size.map(i32::from));
        incomes.push(d.income_band.as_deref());
        attributes.push(serde_json::Value::Object(cust.attributes.clone()));
        created.push(cust.created_at);
        branches.push(cust.source_branch.map(|b| b.0));
        employees.push(cust.source_employee.map(|e| e.0));
        for k in &cust.consents {
            k_ids.push(cust.id.0);
            k_channels.push(k.channel.as_str());
            k_states.push(k.state.as_str());
            k_at.push(k.at);
            k_sources.push(k.source.as_str());
        }
    }
    let written = c
        .execute(
            "INSERT INTO customers (id, member_no, kind, parent_id, name, name_norm, phone, email, card, language, birth_date,
                gender, city, region, household_size, income_band, attributes, created_at, source_branch, source_employee,
                import_xact, runs_before)
             SELECT i, m, k, p, n, nn, ph, em, ca, la, bd, g, ci, re, hs, ib, at, cr, sb, se, $21,
                (SELECT coalesce(max(run), 0) FROM analysis_runs)
             FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[],
                         $9::text[], $10::text[], $11::date[], $12::text[], $13::text[], $14::text[], $15::int4[],
                         $16::text[], $17::jsonb[], $18::timestamptz[], $19::uuid[], $20::uuid[])
                  WITH ORDINALITY AS s(i, m, k, p, n, nn, ph, em, ca, la, bd, g, ci, re, hs, ib, at, cr, sb, se, o)
             ORDER BY o
             ON CONFLICT (member_no) DO NOTHING",
            &[
                &ids,
                &members,
                &kinds,
                &parents,
                &names,
                &norms,
                &phones,
                &emails,
                &cards,
                &languages,
                &births,
                &genders,
                &cities,
                &regions,
                &households,
                &incomes,
                &attributes,
                &created,
                &branches,
                &employees,
                &xact,
            ],
        )
        .be()?;
    if written != n as u64 {
        return Err(StoreError::conflict_coded(
            "customer.member_no.batch_taken",
            "member_no",
            kesher_core::Params::new(),
            "a member number of the batch exists already",
        ));
    }
    if k_ids.is_empty() {
        return Ok(());
    }
    c.execute(
        "WITH k AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])
                         WITH ORDINALITY AS k(customer_id, channel, state, at, source, o)),
              current AS (
                  INSERT INTO consents (customer_id, channel, state, at, source)
                  SELECT customer_id, channel, state, at, source FROM k ORDER BY o
                  ON CONFLICT (customer_id, channel) DO UPDATE
                      SET state = EXCLUDED.state, at = EXCLUDED.at, source = EXCLUDED.source)
         INSERT INTO consent_history (customer_id, channel, state, at, source)
         SELECT customer_id, channel, state, at, source FROM k ORDER BY o",
        &[&k_ids, &k_channels, &k_states, &k_at, &k_sources],
    )
    .be()?;
    Ok(())
}

pub(crate) fn update_customer_row<C: GenericClient>(c: &mut C, cust: &Customer) -> Result<()> {
    let d = &cust.demographics;
    c.execute(
        "UPDATE customers SET member_no = $2, kind = $3, parent_id = $4, name = $5, name_norm = $6, phone = $7, email = $8,
            card = $9, language = $10, birth_date = $11, gender = $12, city = $13, region = $14, household_size = $15,
            income_band = $16, attributes = $17, created_at = $18, source_branch = $19, source_employee = $20 WHERE id = $1",
        &[
            &cust.id.0,
            &cust.member_no,
            &cust.kind.as_str(),
            &cust.parent_id.map(|p| p.0),
            &cust.name,
            &cust.name.as_deref().map(kesher_core::normalize_name),
            &cust.phone.as_ref().map(|p| p.as_str()),
            &cust.email.as_ref().map(|e| e.as_str()),
            &cust.card,
            &cust.language,
            &d.birth_date,
            &d.gender.map(|g| g.as_str()),
            &d.city,
            &d.region,
            &d.household_size.map(i32::from),
            &d.income_band,
            &serde_json::Value::Object(cust.attributes.clone()),
            &cust.created_at,
            &cust.source_branch.map(|b| b.0),
            &cust.source_employee.map(|e| e.0),
        ],
    )
    .be()?;
    Ok(())
}

/// Make `now` the current consents; every change against `before` goes to the history.
pub(crate) fn write_consents<C: GenericClient>(
    c: &mut C,
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
        let p: [&(dyn ToSql + Sync); 5] = [&id.0, &k.channel.as_str(), &k.state.as_str(), &k.at, &k.source];
        c.execute(
            "INSERT INTO consents (customer_id, channel, state, at, source) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (customer_id, channel) DO UPDATE SET state = EXCLUDED.state, at = EXCLUDED.at, source = EXCLUDED.source",
            &p,
        )
        .be()?;
        c.execute(
            "INSERT INTO consent_history (customer_id, channel, state, at, source) VALUES ($1, $2, $3, $4, $5)",
            &p,
        )
        .be()?;
    }
    Ok(())
}

/// One transaction with its lines, by `cond` on one parameter (e.g. `id = $1`).
pub(crate) fn load_transaction<C: GenericClient>(
    c: &mut C,
    cond: &str,
    key: &(dyn ToSql + Sync),
) -> Result<Option<Transaction>> {
    let Some(mut t) = one(c, &format!("{TRANSACTION_SELECT} WHERE {cond}"), &[key], |r| {
        rows::transaction(r)
    })?
    else {
        return Ok(None);
    };
    t.lines = all(
        c,
        "SELECT l.product_id, p.sku, l.quantity, l.unit_price, l.discount FROM transaction_lines l
         LEFT JOIN products p ON p.id = l.product_id WHERE l.transaction_id = $1 ORDER BY l.line_no",
        &[&t.id.0],
        |r| rows::line(r),
    )?;
    Ok(Some(t))
}

pub(crate) fn load_transaction_by_external<C: GenericClient>(c: &mut C, ext: &str) -> Result<Option<Transaction>> {
    load_transaction(c, "external_id = $1", &ext)
}

/// Insert a transaction and its lines; `AlreadyPresent` (nothing written) when its external id exists.
pub(crate) fn insert_transaction_rows<C: GenericClient>(
    c: &mut C,
    t: &Transaction,
    xact: Option<i64>,
) -> Result<Inserted> {
    let r = insert_transaction_head(c, t, xact)?;
    if r != Inserted::New || t.lines.is_empty() {
        return Ok(r);
    }
    // All lines in one statement: one round trip whatever the basket size.
    let n = t.lines.len();
    let line_no: Vec<i32> = (0..n).map(line_no).collect();
    let product: Vec<Option<Uuid>> = t.lines.iter().map(|l| l.product_id.map(|p| p.0)).collect();
    let qty: Vec<i64> = t.lines.iter().map(|l| l.quantity).collect();
    let price: Vec<i64> = t.lines.iter().map(|l| l.unit_price).collect();
    let discount: Vec<i64> = t.lines.iter().map(|l| l.discount).collect();
    c.execute(
        "INSERT INTO transaction_lines (transaction_id, line_no, product_id, quantity, unit_price, discount, customer_id)
         SELECT $1::uuid, l.*, $7::uuid FROM unnest($2::integer[], $3::uuid[], $4::bigint[], $5::bigint[], $6::bigint[]) AS l",
        &[&t.id.0, &line_no, &product, &qty, &price, &discount, &t.customer_id.map(|c| c.0)],
    )
    .be()?;
    Ok(Inserted::New)
}

/// A line's number within its transaction, as stored.
pub(crate) fn line_no(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

/// Insert a transaction's row without its lines; `AlreadyPresent` when its external id exists.
pub(crate) fn insert_transaction_head<C: GenericClient>(
    c: &mut C,
    t: &Transaction,
    xact: Option<i64>,
) -> Result<Inserted> {
    let total = t.total().ok_or_else(|| {
        StoreError::invalid_coded(
            "transaction.total.overflow",
            "lines",
            kesher_core::Params::new(),
            "transaction total overflows",
        )
    })?;
    // The sale's cost is worked out by the server from the products' unit costs (see migration 4).
    let products: Vec<Option<Uuid>> = t.lines.iter().map(|l| l.product_id.map(|p| p.0)).collect();
    let quantities: Vec<i64> = t.lines.iter().map(|l| l.quantity).collect();
    let n = c
        .execute(
            "INSERT INTO transactions (id, external_id, customer_id, branch_id, employee_id, occurred_at, currency, total,
                refund_of, import_xact, cost)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, (
                 SELECT CASE WHEN bool_and(p.unit_cost IS NOT NULL) AND sum(l.q::numeric * p.unit_cost) BETWEEN -9223372036854775808 AND 9223372036854775807
                             THEN sum(l.q::numeric * p.unit_cost)::bigint END
                 FROM unnest($11::uuid[], $12::bigint[]) AS l(product, q) LEFT JOIN products p ON p.id = l.product))
             ON CONFLICT (external_id) DO NOTHING",
            &[
                &t.id.0,
                &t.external_id,
                &t.customer_id.map(|c| c.0),
                &t.branch_id.0,
                &t.employee_id.map(|e| e.0),
                &t.occurred_at,
                &t.currency.as_str(),
                &total,
                &t.refund_of.map(|r| r.0),
                &xact,
                &products,
                &quantities,
            ],
        )
        .be()?;
    Ok(inserted(n))
}

/// Insert an interaction; `AlreadyPresent` when its external id exists.
pub(crate) fn insert_interaction_row<C: GenericClient>(
    c: &mut C,
    i: &Interaction,
    xact: Option<i64>,
) -> Result<Inserted> {
    let n = c
        .execute(
            "INSERT INTO interactions (id, external_id, customer_id, channel, kind, occurred_at, text, employee_id,
                satisfaction, status, import_xact)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (external_id) DO NOTHING",
            &[
                &i.id.0,
                &i.external_id,
                &i.customer_id.0,
                &i.channel.as_str(),
                &i.kind.as_str(),
                &i.occurred_at,
                &i.text,
                &i.employee_id.map(|e| e.0),
                &i.satisfaction.map(i32::from),
                &i.status.map(|s| s.as_str()),
                &xact,
            ],
        )
        .be()?;
    Ok(inserted(n))
}
