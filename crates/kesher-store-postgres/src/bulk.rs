//! Whole tables in and out (`kesher copy`): rows streamed out with one query per table, and
//! written with one binary COPY per table inside one database transaction.

use crate::PgStore;
use crate::convert::{Ctx, col, describe};
use bytes::BytesMut;
use kesher_store::bulk::{BulkWrite, Kind, TableSpec, Value};
use kesher_store::{Result, StoreError};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, Row};

fn pg_type(k: Kind) -> Type {
    match k {
        Kind::Uuid => Type::UUID,
        Kind::Text => Type::TEXT,
        Kind::Int => Type::INT8,
        Kind::Int32 => Type::INT4,
        Kind::Real => Type::FLOAT8,
        Kind::Bool => Type::BOOL,
        Kind::Time => Type::TIMESTAMPTZ,
        Kind::Date => Type::DATE,
        Kind::Json => Type::JSONB,
    }
}

fn value(r: &Row, i: usize, k: Kind) -> Result<Value> {
    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
        v.map_or(Value::Null, f)
    }
    Ok(match k {
        Kind::Uuid => opt(col(r, i)?, Value::Uuid),
        Kind::Text => opt(col(r, i)?, Value::Text),
        Kind::Int => opt(col(r, i)?, Value::Int),
        Kind::Int32 => opt(col::<Option<i32>>(r, i)?, |v| Value::Int(i64::from(v))),
        Kind::Real => opt(col(r, i)?, Value::Real),
        Kind::Bool => opt(col::<Option<bool>>(r, i)?, |b| Value::Int(i64::from(b))),
        Kind::Time => opt(col(r, i)?, Value::Time),
        Kind::Date => opt(col(r, i)?, Value::Date),
        Kind::Json => opt(col(r, i)?, Value::Json),
    })
}

pub(crate) fn read(c: &mut Client, t: &TableSpec, f: &mut dyn FnMut(&[Value])) -> Result<()> {
    let sql = format!("SELECT {} FROM {}", t.column_list(), t.name);
    let mut rows = c.query_raw(&sql, std::iter::empty::<i32>()).be()?;
    let mut vals = Vec::with_capacity(t.columns.len());
    while let Some(r) = rows.next().be()? {
        vals.clear();
        for (i, (_, k)) in t.columns.iter().enumerate() {
            vals.push(value(&r, i, *k)?);
        }
        f(&vals);
    }
    Ok(())
}

/// A value written as the column's PostgreSQL type.
#[derive(Debug)]
struct PgValue<'a>(&'a Value);

impl ToSql for PgValue<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::BOOL => (*i != 0).to_sql(ty, out),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Real(f) => f.to_sql(ty, out),
            Value::Text(s) => s.to_sql(ty, out),
            Value::Uuid(u) => u.to_sql(ty, out),
            Value::Time(t) => t.to_sql(ty, out),
            Value::Date(d) => d.to_sql(ty, out),
            Value::Json(j) => j.to_sql(ty, out),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    to_sql_checked!();
}

/// A table's rows refused by the server (a constraint: the data) or not copied (the connection).
fn copy_error(t: &TableSpec, e: &postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(_) => StoreError::invalid(t.name, describe(e)),
        None => StoreError::Backend(format!("copying {} failed: {}", t.name, describe(e))),
    }
}

pub(crate) struct PgBulkWrite<'a> {
    store: &'a PgStore,
    client: Option<Client>,
}

impl<'a> PgBulkWrite<'a> {
    pub(crate) fn begin(store: &'a PgStore) -> Result<Self> {
        let mut client = store.take()?;
        client.batch_execute("BEGIN").be()?;
        Ok(PgBulkWrite {
            store,
            client: Some(client),
        })
    }

    fn client(&mut self) -> Result<&mut Client> {
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Backend("bulk write already ended".into()))
    }
}

impl BulkWrite for PgBulkWrite<'_> {
    fn write_table(&mut self, t: &'static TableSpec, rows: &mut dyn Iterator<Item = Vec<Value>>) -> Result<u64> {
        let c = self.client()?;
        let types: Vec<Type> = t.columns.iter().map(|(_, k)| pg_type(*k)).collect();
        // A sale's lines also carry the sale's customer (the key that distributes them by
        // customer, migration 9), which the table's portable form leaves out: they are copied to
        // a scratch table first and inserted with their sale's customer from there, so that a
        // partitioned `transaction_lines` routes each line to its customer's partition.
        let lines = t.name == "transaction_lines";
        let target = if lines {
            c.batch_execute(
                "CREATE TEMP TABLE IF NOT EXISTS kesher_lines_in (LIKE transaction_lines) ON COMMIT DROP;
                 TRUNCATE kesher_lines_in",
            )
            .be()?;
            "kesher_lines_in"
        } else {
            t.name
        };
        let sql = format!("COPY {target} ({}) FROM STDIN (FORMAT binary)", t.column_list());
        let mut n = 0u64;
        // One COPY per table: foreign keys between rows of the same table (a refund and its sale,
        // a customer and its parent account) are checked at the end of the statement, whatever
        // the order the rows come in.
        let copied = (|| {
            let w = c.copy_in(&sql)?;
            let mut w = BinaryCopyInWriter::new(w, &types);
            for row in rows {
                let vals: Vec<PgValue<'_>> = row.iter().map(PgValue).collect();
                let refs: Vec<&(dyn ToSql + Sync)> = vals.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
                w.write(&refs)?;
                n += 1;
            }
            w.finish()
        })();
        if let Err(e) = copied {
            // The transaction is aborted: end it now so that nothing lands.
            self.client = None;
            return Err(copy_error(t, &e));
        }
        if lines {
            let cols = t.column_list();
            let from: Vec<String> = t.columns.iter().map(|(n, _)| format!("l.{n}")).collect();
            let moved = c.execute(
                &format!(
                    "INSERT INTO transaction_lines ({cols}, customer_id)
                     SELECT {}, t.customer_id FROM kesher_lines_in l LEFT JOIN transactions t ON t.id = l.transaction_id",
                    from.join(", ")
                ),
                &[],
            );
            match moved {
                Ok(m) if m == n => {}
                Ok(m) => {
                    self.client = None;
                    return Err(StoreError::Backend(format!(
                        "copying transaction_lines: {n} rows read, {m} written"
                    )));
                }
                Err(e) => {
                    self.client = None;
                    return Err(copy_error(t, &e));
                }
            }
        }
        // Sequence numbers were copied as they were: the identity goes on after the highest.
        if t.columns.first().is_some_and(|c| c.0 == "seq") {
            c.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', 'seq'), max(seq)) FROM {0} HAVING max(seq) IS NOT NULL",
                    t.name
                ),
                &[],
            )
            .be()?;
        }
        Ok(n)
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        let mut client = self
            .client
            .take()
            .ok_or_else(|| StoreError::Backend("bulk write already ended".into()))?;
        client.batch_execute("SELECT 1; COMMIT").be()?;
        self.store.give_back(client);
        Ok(())
    }
}

impl Drop for PgBulkWrite<'_> {
    fn drop(&mut self) {
        if let Some(mut client) = self.client.take()
            && client.batch_execute("ROLLBACK").is_ok()
        {
            self.store.give_back(client);
        }
    }
}
