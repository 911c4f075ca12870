//! Moving a whole business between stores (`kesher copy`): every table as a neutral list of
//! typed columns, read and written in bulk by each backend, with an order-free checksum per table
//! so that the two sides can be compared after the move.
//!
//! The list of tables and columns is the one place that names them for both backends; each
//! backend maps a column's [`Kind`] to its own storage (SQLite: BLOB ids, microsecond integers,
//! JSON text; PostgreSQL: uuid, timestamptz, jsonb).

use crate::Result;
use jiff::Timestamp;
use jiff::civil::Date;
use uuid::Uuid;

/// The type of a column, as both backends understand it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Uuid,
    Text,
    /// A 64-bit integer (money, counts, sequence numbers).
    Int,
    /// A 32-bit integer on PostgreSQL (`integer`), an INTEGER on SQLite.
    Int32,
    Real,
    /// A boolean on PostgreSQL, 0/1 on SQLite; `Value::Int` either way.
    Bool,
    Time,
    Date,
    Json,
}

/// One table of the schema: its name, its columns, in an order every backend can write in.
#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [(&'static str, Kind)],
}

impl TableSpec {
    /// The column names joined with ", ".
    pub fn column_list(&self) -> String {
        self.columns.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
    }
}

use Kind::*;

/// Every table of a business, parents before children (foreign keys hold as each table lands).
/// Derived bookkeeping (`schema_migrations`, PostgreSQL's `import_xact`) is not copied.
pub const TABLES: &[TableSpec] = &[
    TableSpec {
        name: "branches",
        columns: &[
            ("id", Uuid),
            ("external_id", Text),
            ("name", Text),
            ("region", Text),
            ("time_zone", Text),
        ],
    },
    TableSpec {
        name: "employees",
        columns: &[("id", Uuid), ("external_id", Text), ("name", Text), ("branch_id", Uuid)],
    },
    TableSpec {
        name: "products",
        columns: &[
            ("id", Uuid),
            ("sku", Text),
            ("name", Text),
            ("category", Text),
            ("list_price", Int),
            ("currency", Text),
            ("unit_cost", Int),
        ],
    },
    TableSpec {
        name: "customers",
        columns: &[
            ("id", Uuid),
            ("member_no", Text),
            ("kind", Text),
            ("parent_id", Uuid),
            ("name", Text),
            ("name_norm", Text),
            ("phone", Text),
            ("email", Text),
            ("card", Text),
            ("language", Text),
            ("birth_date", Date),
            ("gender", Text),
            ("city", Text),
            ("region", Text),
            ("household_size", Int32),
            ("income_band", Text),
            ("attributes", Json),
            ("created_at", Time),
            ("source_branch", Uuid),
            ("source_employee", Uuid),
            ("runs_before", Int),
        ],
    },
    TableSpec {
        name: "customer_aliases",
        columns: &[("kind", Text), ("value", Text), ("customer_id", Uuid)],
    },
    TableSpec {
        name: "consents",
        columns: &[
            ("customer_id", Uuid),
            ("channel", Text),
            ("state", Text),
            ("at", Time),
            ("source", Text),
        ],
    },
    TableSpec {
        name: "consent_history",
        columns: &[
            ("seq", Int),
            ("customer_id", Uuid),
            ("channel", Text),
            ("state", Text),
            ("at", Time),
            ("source", Text),
        ],
    },
    TableSpec {
        name: "transactions",
        columns: &[
            ("id", Uuid),
            ("external_id", Text),
            ("customer_id", Uuid),
            ("branch_id", Uuid),
            ("employee_id", Uuid),
            ("occurred_at", Time),
            ("currency", Text),
            ("total", Int),
            ("refund_of", Uuid),
            ("cost", Int),
        ],
    },
    TableSpec {
        name: "transaction_lines",
        columns: &[
            ("transaction_id", Uuid),
            ("line_no", Int32),
            ("product_id", Uuid),
            ("quantity", Int),
            ("unit_price", Int),
            ("discount", Int),
        ],
    },
    TableSpec {
        name: "interactions",
        columns: &[
            ("id", Uuid),
            ("external_id", Text),
            ("customer_id", Uuid),
            ("channel", Text),
            ("kind", Text),
            ("occurred_at", Time),
            ("text", Text),
            ("employee_id", Uuid),
            ("satisfaction", Int32),
            ("status", Text),
        ],
    },
    TableSpec {
        name: "merges",
        columns: &[("dropped_id", Uuid), ("kept_id", Uuid), ("at", Time)],
    },
    TableSpec {
        name: "audit_log",
        columns: &[
            ("seq", Int),
            ("at", Time),
            ("actor", Text),
            ("action", Text),
            ("entity", Text),
            ("entity_id", Text),
            ("before", Json),
            ("after", Json),
            ("origin", Text),
        ],
    },
    TableSpec {
        name: "customer_scores",
        columns: &[
            ("customer_id", Uuid),
            ("as_of", Time),
            ("model", Text),
            ("stage", Text),
            ("frequency", Real),
            ("recency", Real),
            ("t", Real),
            ("monetary", Real),
            ("revenue", Int),
            ("margin", Int),
            ("p_alive", Real),
            ("expected_purchases", Real),
            ("clv", Real),
            ("rfm", Text),
            ("segment", Text),
            ("tier", Text),
            ("wallet", Int),
            ("share_of_wallet", Real),
        ],
    },
    TableSpec {
        name: "customer_stages",
        columns: &[("customer_id", Uuid), ("month", Text), ("stage", Text)],
    },
    TableSpec {
        name: "analysis_runs",
        columns: &[("run", Int), ("as_of", Time), ("model", Text)],
    },
    TableSpec {
        name: "stage_months",
        columns: &[("month", Text), ("run", Int)],
    },
    TableSpec {
        name: "erasures",
        columns: &[("customer_id", Uuid), ("at", Time)],
    },
    TableSpec {
        name: "settings",
        columns: &[("key", Text), ("value", Text)],
    },
    TableSpec {
        name: "users",
        columns: &[
            ("id", Uuid),
            ("username", Text),
            ("display_name", Text),
            ("role", Text),
            ("branch_id", Uuid),
            ("password_hash", Text),
            ("disabled", Bool),
            ("created_at", Time),
        ],
    },
    TableSpec {
        name: "api_tokens",
        columns: &[
            ("id", Uuid),
            ("name", Text),
            ("role", Text),
            ("branch_id", Uuid),
            ("scopes", Text),
            ("digest", Text),
            ("hint", Text),
            ("created_at", Time),
            ("created_by", Text),
            ("expires_at", Time),
            ("revoked_at", Time),
        ],
    },
    TableSpec {
        name: "points_rules",
        columns: &[("currency", Text), ("points", Int), ("per_minor", Int)],
    },
    TableSpec {
        name: "points_ledger",
        columns: &[
            ("seq", Int),
            ("customer_id", Uuid),
            ("kind", Text),
            ("points", Int),
            ("balance_after", Int),
            ("reason", Text),
            ("idempotency_key", Text),
            ("transaction_id", Uuid),
            ("branch_id", Uuid),
            ("actor", Text),
            ("origin", Text),
            ("at", Time),
            // JSON as text on both backends (migration 13 says why).
            ("breakdown", Text),
            ("available_at", Time),
        ],
    },
    TableSpec {
        name: "points_balances",
        columns: &[("customer_id", Uuid), ("balance", Int)],
    },
    TableSpec {
        name: "loyalty_members",
        columns: &[
            ("customer_id", Uuid),
            ("status", Text),
            ("tier", Text),
            ("tier_since", Time),
            ("tier_review_at", Time),
            ("enrolled_at", Time),
            ("branch_id", Uuid),
            ("employee_id", Uuid),
            ("quality", Int32),
            ("quality_missing", Text),
            ("invited_by", Uuid),
            ("fee_paid", Int),
            ("left_at", Time),
        ],
    },
    TableSpec {
        name: "loyalty_member_events",
        columns: &[
            ("seq", Int),
            ("customer_id", Uuid),
            ("kind", Text),
            ("at", Time),
            ("branch_id", Uuid),
            ("employee_id", Uuid),
            ("actor", Text),
            ("detail", Text),
        ],
    },
    TableSpec {
        name: "loyalty_surprise_draws",
        columns: &[
            ("id", Uuid),
            ("benefit", Text),
            ("seed", Text),
            ("parameters", Text),
            ("actor", Text),
            ("at", Time),
            ("members", Text),
        ],
    },
    TableSpec {
        name: "loyalty_benefit_grants",
        columns: &[
            ("id", Uuid),
            ("customer_id", Uuid),
            ("benefit", Text),
            ("state", Text),
            ("granted_at", Time),
            ("available_until", Time),
            ("granted_by", Text),
            ("source", Text),
            ("used_at", Time),
            ("honoured_by", Text),
            ("honoured_branch", Uuid),
            ("honour_key", Text),
            ("points_seq", Int),
            ("draw_id", Uuid),
            ("idempotency_key", Text),
        ],
    },
    TableSpec {
        name: "segment_members",
        columns: &[("segment", Text), ("customer_id", Uuid), ("since", Time)],
    },
    TableSpec {
        name: "segment_events",
        columns: &[
            ("seq", Int),
            ("segment", Text),
            ("customer_id", Uuid),
            ("kind", Text),
            ("at", Time),
            ("run_id", Uuid),
        ],
    },
    TableSpec {
        name: "campaigns",
        columns: &[
            ("id", Uuid),
            ("name", Text),
            // The definition as given, byte for byte (JSON as text on both backends).
            ("definition", Text),
            ("state", Text),
            ("seed", Text),
            ("created_by", Text),
            ("created_at", Time),
            ("launched_at", Time),
        ],
    },
    TableSpec {
        name: "campaign_messages",
        columns: &[
            ("campaign_id", Uuid),
            ("customer_id", Uuid),
            ("arm", Text),
            ("channel", Text),
            ("state", Text),
            ("suppression", Text),
            ("language", Text),
            ("subject", Text),
            ("body", Text),
            ("message_id", Text),
            ("attempts", Int),
            ("next_attempt_at", Time),
            ("sent_at", Time),
            ("last_error", Text),
            ("created_at", Time),
            ("occurrence", Int),
        ],
    },
    TableSpec {
        name: "campaign_clicks",
        columns: &[
            ("campaign_id", Uuid),
            ("customer_id", Uuid),
            ("occurrence", Int),
            ("link", Int),
            ("clicks", Int),
            ("first_at", Time),
            ("last_at", Time),
        ],
    },
    // Sign-in sessions are not copied: they belong to the server they were opened on.
];

/// The table called `name`.
pub fn table(name: &str) -> Option<&'static TableSpec> {
    TABLES.iter().find(|t| t.name == name)
}

/// One stored value, backend-neutral.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Uuid(Uuid),
    Time(Timestamp),
    Date(Date),
    Json(serde_json::Value),
}

/// Row count and an order-free checksum of a table's rows: the wrapping sum of each row's
/// 64-bit FNV-1a hash over a canonical encoding (so it does not depend on the order rows are
/// read in, and the checksum of a union is the sum of the checksums).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableSum {
    pub rows: u64,
    pub checksum: u64,
}

impl TableSum {
    pub fn add(&mut self, row: &[Value]) {
        self.rows += 1;
        self.checksum = self.checksum.wrapping_add(row_hash(row));
    }
    /// The sum of two disjoint sets of rows.
    pub fn plus(self, other: TableSum) -> TableSum {
        TableSum {
            rows: self.rows + other.rows,
            checksum: self.checksum.wrapping_add(other.checksum),
        }
    }
}

struct Fnv(u64);
impl Fnv {
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn tagged(&mut self, tag: u8, b: &[u8]) {
        self.bytes(&[tag]);
        self.bytes(&(b.len() as u64).to_le_bytes());
        self.bytes(b);
    }
}

/// The hash of one row's canonical encoding: a tag and the bytes of each value; JSON with its
/// object keys sorted and numbers as f64 (PostgreSQL's jsonb rewrites both).
pub fn row_hash(row: &[Value]) -> u64 {
    let mut h = Fnv(0xcbf2_9ce4_8422_2325);
    for v in row {
        match v {
            Value::Null => h.tagged(0, &[]),
            Value::Int(i) => h.tagged(1, &i.to_le_bytes()),
            Value::Real(f) => h.tagged(2, &f.to_bits().to_le_bytes()),
            Value::Text(s) => h.tagged(3, s.as_bytes()),
            Value::Uuid(u) => h.tagged(4, u.as_bytes()),
            Value::Time(t) => h.tagged(5, &t.as_microsecond().to_le_bytes()),
            Value::Date(d) => h.tagged(6, d.to_string().as_bytes()),
            Value::Json(j) => {
                let mut s = String::new();
                canonical_json(j, &mut s);
                h.tagged(7, s.as_bytes());
            }
        }
    }
    h.0
}

fn canonical_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value as J;
    match v {
        J::Null => out.push('n'),
        J::Bool(b) => out.push(if *b { 't' } else { 'f' }),
        J::Number(n) => {
            out.push('#');
            out.push_str(&n.as_f64().unwrap_or(f64::NAN).to_bits().to_string());
        }
        J::String(s) => {
            out.push('"');
            out.push_str(&s.len().to_string());
            out.push(':');
            out.push_str(s);
        }
        J::Array(a) => {
            out.push('[');
            for x in a {
                canonical_json(x, out);
                out.push(',');
            }
            out.push(']');
        }
        J::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                out.push_str(&k.len().to_string());
                out.push(':');
                out.push_str(k);
                if let Some(x) = m.get(k) {
                    canonical_json(x, out);
                }
                out.push(',');
            }
            out.push('}');
        }
    }
}

/// A bulk write into an empty (or, when asked, a non-empty) store: one database transaction,
/// committed whole or not at all; dropping it rolls back.
pub trait BulkWrite {
    /// Write every row of `rows` into `table`; returns the number written.
    fn write_table(&mut self, table: &'static TableSpec, rows: &mut dyn Iterator<Item = Vec<Value>>) -> Result<u64>;
    fn commit(self: Box<Self>) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_ignore_order_and_json_key_order() {
        let a = vec![Value::Int(1), Value::Json(serde_json::json!({"b": 1, "a": [1.0, "x"]}))];
        let b = vec![
            Value::Int(1),
            Value::Json(serde_json::from_str(r#"{"a":[1,"x"],"b":1e0}"#).unwrap()),
        ];
        assert_eq!(row_hash(&a), row_hash(&b));
        let c = vec![Value::Text("1".into()), Value::Null];
        let (mut x, mut y) = (TableSum::default(), TableSum::default());
        x.add(&a);
        x.add(&c);
        y.add(&c);
        y.add(&b);
        assert_eq!(x, y);
        // Values do not run into each other.
        assert_ne!(
            row_hash(&[Value::Text("ab".into()), Value::Text("c".into())]),
            row_hash(&[Value::Text("a".into()), Value::Text("bc".into())])
        );
        assert_ne!(row_hash(&[Value::Null]), row_hash(&[Value::Text(String::new())]));
    }
}
