//! Whole tables in and out (`kesher copy`): one query per table out, prepared INSERTs in one
//! transaction in (foreign keys checked at the commit).

use crate::convert::{Ctx, blob16};
use crate::{SqliteStore, from_ts, ts};
use kesher_store::bulk::{BulkWrite, Kind, TableSpec, Value};
use kesher_store::{Result, StoreError};
use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
use uuid::Uuid;

fn bad(table: &str, column: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("stored {table}.{column} is invalid: {what}"))
}

fn value(t: &TableSpec, i: usize, k: Kind, v: ValueRef<'_>) -> Result<Value> {
    let column = t.columns[i].0;
    let text =
        |v: ValueRef<'_>| -> Result<String> { v.as_str().map(str::to_owned).map_err(|e| bad(t.name, column, e)) };
    Ok(match (k, v) {
        (_, ValueRef::Null) => Value::Null,
        (Kind::Uuid, v) => Value::Uuid(Uuid::from_bytes(blob16(
            v.as_blob().map_err(|e| bad(t.name, column, e))?,
        )?)),
        (Kind::Text, v) => Value::Text(text(v)?),
        (Kind::Int | Kind::Int32 | Kind::Bool, v) => Value::Int(v.as_i64().map_err(|e| bad(t.name, column, e))?),
        (Kind::Real, ValueRef::Integer(i)) => Value::Real(i as f64),
        (Kind::Real, v) => Value::Real(v.as_f64().map_err(|e| bad(t.name, column, e))?),
        (Kind::Time, v) => Value::Time(from_ts(v.as_i64().map_err(|e| bad(t.name, column, e))?)?),
        (Kind::Date, v) => Value::Date(text(v)?.parse().map_err(|e| bad(t.name, column, e))?),
        (Kind::Json, v) => Value::Json(serde_json::from_str(&text(v)?).map_err(|e| bad(t.name, column, e))?),
    })
}

/// SQLite keys a sale's lines by the sale's integer key (`transactions.seq`); everywhere else
/// (the `TableSpec`, PostgreSQL) they name the sale by its id.
const LINES_OUT: &str = "SELECT t.id, l.line_no, l.product_id, l.quantity, l.unit_price, l.discount
     FROM transaction_lines l JOIN transactions t ON t.seq = l.sale";
const LINES_IN: &str = "INSERT INTO transaction_lines (sale, line_no, product_id, quantity, unit_price, discount)
     VALUES ((SELECT seq FROM transactions WHERE id = ?1), ?2, ?3, ?4, ?5, ?6)";

/// Whether `t` is the lines table in the column order `LINES_OUT` and `LINES_IN` assume.
fn is_lines(t: &TableSpec) -> bool {
    t.name == "transaction_lines"
        && t.columns.iter().map(|c| c.0).eq([
            "transaction_id",
            "line_no",
            "product_id",
            "quantity",
            "unit_price",
            "discount",
        ])
}

pub(crate) fn read(c: &Connection, t: &'static TableSpec, f: &mut dyn FnMut(&[Value])) -> Result<()> {
    let sql = if is_lines(t) {
        LINES_OUT.to_string()
    } else {
        format!("SELECT {} FROM {}", t.column_list(), t.name)
    };
    let mut st = c.prepare(&sql).be()?;
    let mut rows = st.query([]).be()?;
    let mut vals = Vec::with_capacity(t.columns.len());
    while let Some(r) = rows.next().be()? {
        vals.clear();
        for (i, (_, k)) in t.columns.iter().enumerate() {
            vals.push(value(t, i, *k, r.get_ref(i).be()?)?);
        }
        f(&vals);
    }
    Ok(())
}

fn to_sql(v: &Value) -> ToSqlOutput<'_> {
    match v {
        Value::Null => ToSqlOutput::Owned(Sql::Null),
        Value::Int(i) => ToSqlOutput::Owned(Sql::Integer(*i)),
        Value::Real(f) => ToSqlOutput::Owned(Sql::Real(*f)),
        Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Uuid(u) => ToSqlOutput::Borrowed(ValueRef::Blob(u.as_bytes())),
        Value::Time(t) => ToSqlOutput::Owned(Sql::Integer(ts(*t))),
        Value::Date(d) => ToSqlOutput::Owned(Sql::Text(d.to_string())),
        Value::Json(j) => ToSqlOutput::Owned(Sql::Text(j.to_string())),
    }
}

pub(crate) struct SqliteBulkWrite<'a> {
    conn: Option<crate::Writer<'a>>,
}

impl<'a> SqliteBulkWrite<'a> {
    pub(crate) fn begin(store: &'a SqliteStore) -> Result<Self> {
        let conn = store.write()?;
        // Rows of one table may name each other in any order: check references at the commit.
        conn.execute_batch("BEGIN IMMEDIATE; PRAGMA defer_foreign_keys = ON")
            .be()?;
        Ok(SqliteBulkWrite { conn: Some(conn) })
    }
}

impl BulkWrite for SqliteBulkWrite<'_> {
    fn write_table(&mut self, t: &'static TableSpec, rows: &mut dyn Iterator<Item = Vec<Value>>) -> Result<u64> {
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| StoreError::Backend("bulk write already ended".into()))?;
        let marks = (1..=t.columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = if is_lines(t) {
            LINES_IN.to_string()
        } else {
            format!("INSERT INTO {} ({}) VALUES ({marks})", t.name, t.column_list())
        };
        let mut st = conn.prepare(&sql).be()?;
        let mut n = 0;
        for row in rows {
            let vals: Vec<ToSqlOutput<'_>> = row.iter().map(to_sql).collect();
            st.execute(rusqlite::params_from_iter(vals.iter())).be()?;
            n += 1;
        }
        Ok(n)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let conn = self
            .conn
            .take()
            .ok_or_else(|| StoreError::Backend("bulk write already ended".into()))?;
        if let Err(e) = conn.execute_batch("COMMIT").be() {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
        Ok(())
    }
}

impl Drop for SqliteBulkWrite<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.execute_batch("ROLLBACK");
        }
    }
}
