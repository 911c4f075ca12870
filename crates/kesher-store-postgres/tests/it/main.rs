//! The backend contract suite against a real PostgreSQL server (`contract::…`, one test per
//! check, each on a fresh database), plus PostgreSQL-only checks.
//!
//! Needs `KESHER_TEST_POSTGRES_URL` (a superuser URL; `scripts/postgres.sh start` prints one) and
//! the cargo feature `pg-tests`: `cargo test -p kesher-store-postgres --features pg-tests`.
//! Without the URL the tests fail: they are never skipped silently.
#![cfg(feature = "pg-tests")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod customers_import;
#[cfg(feature = "pg-sharded-tests")]
mod sharded;
mod summary;

use kesher_store::Store;
use kesher_store_postgres::PgStore;
use postgres::{Client, NoTls};
use std::sync::atomic::{AtomicU64, Ordering};

/// The server's admin URL, or a failure that says how to get one.
fn admin_url() -> String {
    match std::env::var("KESHER_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => u,
        _ => panic!(
            "KESHER_TEST_POSTGRES_URL is not set: the PostgreSQL tests need a server. \
             Start one with `pg_env=\"$(scripts/postgres.sh start)\"; eval \"$pg_env\"` and run them again"
        ),
    }
}

/// A database created for one check and dropped with this value.
struct TestDb {
    admin: String,
    name: String,
    url: String,
}

impl TestDb {
    fn new() -> TestDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let admin = admin_url();
        let name = format!(
            "kesher_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = Client::connect(&admin, NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to KESHER_TEST_POSTGRES_URL ({admin}): {e}"));
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let url = with_dbname(&admin, &name);
        TestDb { admin, name, url }
    }

    fn store(&self) -> PgStore {
        PgStore::open(&self.url).unwrap()
    }

    fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap()
    }
}

/// The workflows (`kesher_app::App`) on a pool of their own over the test database.
fn app_on(db: &TestDb) -> kesher_app::App {
    kesher_app::App::new(std::sync::Arc::new(db.store()), kesher_app::Settings::default())
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.admin, NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// The admin URL with its database replaced by `db` (query string kept).
fn with_dbname(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}

/// A fresh database and the store on it, for one contract check.
fn fresh() -> (TestDb, PgStore) {
    let db = TestDb::new();
    let store = db.store();
    (db, store)
}

kesher_app::contract_tests!(fresh);

#[test]
fn migrations_are_versioned_and_reopen_cleanly() {
    let db = TestDb::new();
    let store = db.store();
    assert_eq!(store.schema_version().unwrap(), PgStore::latest_schema_version());
    drop(store);
    let again = db.store();
    assert_eq!(again.schema_version().unwrap(), PgStore::latest_schema_version());
    // One row per migration file (`NNNN_name.sql`), each applied once.
    let mut files: Vec<i64> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().to_str()?.get(..4)?.parse().ok())
        .collect();
    files.sort();
    let applied: Vec<i64> = db
        .client()
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(applied, files);
}

#[test]
fn a_migration_merged_below_the_applied_ones_is_still_applied() {
    // A database at version 4 that never saw version 2 (as when two branches each add one).
    let db = TestDb::new();
    drop(db.store());
    let mut c = db.client();
    c.batch_execute("DROP TABLE customer_stages, customer_scores; DELETE FROM schema_migrations WHERE version = 2")
        .unwrap();
    drop(db.store());
    let n: i64 = c.query_one("SELECT count(*) FROM customer_scores", &[]).unwrap().get(0);
    assert_eq!(n, 0);
}

#[test]
fn results_stored_before_version_7_read_the_same_after_it() {
    use kesher_store::CustomerScore;
    // A database at version 5 whose runs stored a row for every customer, prospects included.
    let db = TestDb::new();
    drop(db.store());
    let mut c = db.client();
    c.batch_execute(
        "DROP TABLE analysis_runs, stage_months;
         DROP INDEX customers_runs_before;
         ALTER TABLE customers DROP COLUMN runs_before;
         ALTER TABLE customer_stages DROP CONSTRAINT customer_stages_pkey;
         ALTER TABLE customer_stages ADD PRIMARY KEY (customer_id, month);
         DELETE FROM schema_migrations WHERE version = 7;
         INSERT INTO customers (id, kind, created_at) VALUES
             ('00000000-0000-0000-0000-000000000001', 'consumer', now()),
             ('00000000-0000-0000-0000-000000000002', 'consumer', now());
         INSERT INTO customer_scores (customer_id, as_of, model, stage, frequency, recency, t, monetary, revenue) VALUES
             ('00000000-0000-0000-0000-000000000001', '2025-04-30T00:00:00Z', 'bgnbd', 'at_risk', 1, 2, 3, 4, 5),
             ('00000000-0000-0000-0000-000000000002', '2025-04-30T00:00:00Z', 'bgnbd', 'prospect', 0, 0, 0, 0, 0);
         INSERT INTO customer_stages (customer_id, month, stage) VALUES
             ('00000000-0000-0000-0000-000000000001', '2025-03', 'core'),
             ('00000000-0000-0000-0000-000000000002', '2025-03', 'prospect'),
             ('00000000-0000-0000-0000-000000000001', '2025-04', 'at_risk'),
             ('00000000-0000-0000-0000-000000000002', '2025-04', 'prospect');",
    )
    .unwrap();
    let s = db.store();
    let app = app_on(&db);
    let (c1, c2) = (
        kesher_core::CustomerId(uuid::Uuid::from_u128(1)),
        kesher_core::CustomerId(uuid::Uuid::from_u128(2)),
    );
    let row = |m: &str, st: &str, n: u64| (m.to_string(), st.to_string(), n);
    let before = vec![
        row("2025-03", "core", 1),
        row("2025-03", "prospect", 1),
        row("2025-04", "at_risk", 1),
        row("2025-04", "prospect", 1),
    ];
    assert_eq!(s.stage_counts().unwrap(), before);
    assert_eq!(
        s.stage_transitions("2025-03", "2025-04").unwrap(),
        vec![row("core", "at_risk", 1), row("prospect", "prospect", 1)]
    );
    assert_eq!(s.customer_score(c2).unwrap().unwrap().stage, "prospect");
    assert_eq!(s.list_customer_scores().unwrap().len(), 2);
    // A customer registered after the migration is in none of the months stored before it.
    let c3 = kesher_app::contract::customer(3, "M3", "Noa");
    app.insert_customer(&c3, &actor()).unwrap();
    assert_eq!(s.stage_counts().unwrap(), before);
    assert_eq!(s.customer_score(c3.id).unwrap(), None);
    // The next run leaves its prospects implicit, the earlier months keep their rows.
    let mut may = s.customer_score(c1).unwrap().unwrap();
    may.as_of = "2025-05-31T00:00:00Z".parse().unwrap();
    may.stage = "core".into();
    assert_eq!(
        s.replace_customer_scores(may.as_of, "bgnbd", std::slice::from_ref(&may))
            .unwrap(),
        2
    );
    let mut after = before.clone();
    after.extend([row("2025-05", "core", 1), row("2025-05", "prospect", 2)]);
    assert_eq!(s.stage_counts().unwrap(), after);
    assert_eq!(
        s.stage_transitions("2025-04", "2025-05").unwrap(),
        vec![
            row("at_risk", "core", 1),
            row("new", "prospect", 1),
            row("prospect", "prospect", 1)
        ]
    );
    assert_eq!(
        s.customer_score(c2).unwrap(),
        Some(CustomerScore::prospect(c2, may.as_of, "bgnbd"))
    );
}

#[test]
fn segment_events_are_append_only_and_go_only_with_their_customer() {
    use kesher_app::contract::customer;
    let db = TestDb::new();
    let store = db.store();
    let (a, b) = (customer(1, "M1", "Dana"), customer(2, "M2", "Eve"));
    let mut tx = kesher_store::UnitOfWork::begin(&store, kesher_store::Lock::Writes).unwrap();
    tx.insert_customer_row(&a).unwrap();
    tx.insert_customer_row(&b).unwrap();
    tx.commit().unwrap();
    let mut c = db.client();
    c.execute(
        "INSERT INTO segment_events (segment, customer_id, kind, at, run_id) VALUES ('vip', $1, 'entered', now(), $1)",
        &[&a.id.0],
    )
    .unwrap();
    for sql in [
        "UPDATE segment_events SET kind = 'left'",
        "UPDATE segment_events SET at = at + interval '1 second'",
        "UPDATE segment_events SET segment = 'other'",
        "UPDATE segment_events SET run_id = gen_random_uuid()",
        "DELETE FROM segment_events",
    ] {
        let err = c.execute(sql, &[]).unwrap_err();
        let msg = err.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
        assert!(msg.contains("append-only"), "{sql}: {err:?}");
    }
    // What a merge does: the events move to the kept customer.
    assert_eq!(
        c.execute("UPDATE segment_events SET customer_id = $1", &[&b.id.0])
            .unwrap(),
        1
    );
    // Once the customer row is gone (a deletion, in one transaction), the events may go.
    let mut t = c.transaction().unwrap();
    t.execute("DELETE FROM customers WHERE id = $1", &[&b.id.0]).unwrap();
    assert_eq!(t.execute("DELETE FROM segment_events", &[]).unwrap(), 1);
    t.commit().unwrap();
}

#[test]
fn membership_events_and_ledger_breakdowns_are_append_only() {
    use kesher_app::contract::customer;
    let db = TestDb::new();
    let store = db.store();
    let (a, b) = (customer(1, "M1", "Dana"), customer(2, "M2", "Eve"));
    let mut tx = kesher_store::UnitOfWork::begin(&store, kesher_store::Lock::Writes).unwrap();
    tx.insert_customer_row(&a).unwrap();
    tx.insert_customer_row(&b).unwrap();
    tx.commit().unwrap();
    let mut c = db.client();
    c.execute(
        "INSERT INTO loyalty_member_events (customer_id, kind, at, actor, detail) VALUES ($1, 'enrol', now(), 'a', '{}')",
        &[&a.id.0],
    )
    .unwrap();
    for sql in [
        "UPDATE loyalty_member_events SET kind = 'leave'",
        "UPDATE loyalty_member_events SET at = at + interval '1 second'",
        "UPDATE loyalty_member_events SET actor = 'b'",
        "DELETE FROM loyalty_member_events",
    ] {
        let err = c.execute(sql, &[]).unwrap_err();
        let msg = err.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
        assert!(msg.contains("append-only"), "{sql}: {err:?}");
    }
    // What a merge and an erasure do, and nothing else; a detail stays JSON.
    assert_eq!(
        c.execute("UPDATE loyalty_member_events SET customer_id = $1", &[&b.id.0])
            .unwrap(),
        1
    );
    assert_eq!(
        c.execute("UPDATE loyalty_member_events SET detail = '{\"erased\":true}'", &[])
            .unwrap(),
        1
    );
    assert!(c.execute("UPDATE loyalty_member_events SET detail = 'x'", &[]).is_err());
    // The ledger's guard covers the breakdown, which is JSON too.
    let entry = "INSERT INTO points_ledger (customer_id, kind, points, balance_after, actor, at, breakdown)
                 VALUES ($1, 'adjust', 1, 1, 'a', now(), $2)";
    c.execute(entry, &[&a.id.0, &Option::<String>::None]).unwrap();
    assert!(c.execute(entry, &[&a.id.0, &"x"]).is_err());
    let err = c.execute("UPDATE points_ledger SET breakdown = '[]'", &[]).unwrap_err();
    assert!(format!("{err:?}").contains("append-only"), "{err:?}");
    // A membership's words and bounds are the schema's.
    let member = "INSERT INTO loyalty_members (customer_id, status, enrolled_at, quality, quality_missing, fee_paid)
                  VALUES ($1, $2, now(), $3, $4, $5)";
    for (status, quality, missing, fee) in [
        ("gone", 50, "[]", 0i64),
        ("active", 101, "[]", 0),
        ("active", -1, "[]", 0),
        ("active", 50, "phone", 0),
        ("active", 50, "[]", -1),
    ] {
        let q: i32 = quality;
        assert!(
            c.execute(member, &[&a.id.0, &status, &q, &missing, &fee]).is_err(),
            "{status} {quality} {missing} {fee}"
        );
    }
    c.execute(member, &[&a.id.0, &"left", &100i32, &"[\"phone\"]", &0i64])
        .unwrap();
}

#[test]
fn audit_log_is_append_only() {
    let db = TestDb::new();
    let _store = db.store();
    let mut c = db.client();
    c.execute(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id) VALUES (now(), 'a', 'x', 'e', '1')",
        &[],
    )
    .unwrap();
    let err = c.execute("UPDATE audit_log SET actor = 'b'", &[]).unwrap_err();
    let msg = err.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
    assert!(msg.contains("append-only"), "{err:?}");
    assert!(c.execute("DELETE FROM audit_log", &[]).is_err());
    assert!(c.batch_execute("TRUNCATE audit_log").is_err());
    // The one change allowed: redacting before/after to the erasure marker, nothing else.
    assert!(c.execute("UPDATE audit_log SET after = '{\"x\": 1}'", &[]).is_err());
    assert!(
        c.execute("UPDATE audit_log SET after = '{\"erased\": true}', actor = 'b'", &[])
            .is_err()
    );
    assert_eq!(
        c.execute("UPDATE audit_log SET after = '{\"erased\": true}'", &[])
            .unwrap(),
        1
    );
    let n: i64 = c.query_one("SELECT count(*) FROM audit_log", &[]).unwrap().get(0);
    assert_eq!(n, 1);
}

#[test]
fn url_database_is_replaced() {
    assert_eq!(
        with_dbname("postgres://postgres@127.0.0.1:25329/postgres", "x"),
        "postgres://postgres@127.0.0.1:25329/x"
    );
    assert_eq!(
        with_dbname("postgres://u@h:1?sslmode=disable", "x"),
        "postgres://u@h:1/x?sslmode=disable"
    );
}

fn actor() -> kesher_store::Actor {
    kesher_store::Actor::new("test", "2025-01-01T00:00:00Z".parse().unwrap())
}

#[test]
fn a_failed_import_row_leaves_the_unit_usable() {
    use kesher_app::contract::{customer, seed_reference};
    use kesher_core::{Country, CustomerId, Phone};
    use kesher_store::{Inserted, StoreError};
    let db = TestDb::new();
    let s = db.store();
    let app = app_on(&db);
    let (b, _, p) = seed_reference(&s);
    let mut first = customer(1, "M1", "Dana");
    first.phone = Some(Phone::parse("050-1234567", Country::israel()).unwrap());
    app.insert_customer(&first, &actor()).unwrap();

    let mut imp = s.begin_import().unwrap();
    // A reference the database does not know: the row fails, naming the field.
    let mut t = kesher_core::Transaction {
        id: kesher_core::TransactionId(uuid::Uuid::from_u128(9001)),
        external_id: "T1".into(),
        customer_id: Some(CustomerId(uuid::Uuid::from_u128(4242))),
        branch_id: b,
        employee_id: None,
        occurred_at: "2025-03-01T10:00:00Z".parse().unwrap(),
        currency: kesher_core::Currency::parse("ILS").unwrap(),
        lines: vec![kesher_core::Line {
            product_id: Some(p),
            sku: Some("P1".into()),
            quantity: 1,
            unit_price: 100,
            discount: 0,
        }],
        refund_of: None,
    };
    assert!(matches!(
        imp.insert_transaction(&t),
        Err(StoreError::Invalid {
            field: "customer_id",
            ..
        })
    ));
    // Another customer's phone: a conflict naming the field and the holder.
    let mut thief = customer(2, "M2", "x");
    thief.phone = first.phone.clone();
    match imp.insert_customer(&thief) {
        Err(StoreError::Conflict {
            field: "phone", reason, ..
        }) => {
            assert!(reason.ends_with("already belongs to customer M1"), "{reason}")
        }
        other => panic!("expected a phone conflict, got {other:?}"),
    }
    // Text PostgreSQL cannot hold: the row is refused as invalid, not as a backend failure.
    let nul = customer(3, "M3", "bad\0name");
    assert!(matches!(imp.insert_customer(&nul), Err(StoreError::Invalid { .. })));
    // The unit goes on.
    thief.phone = None;
    assert_eq!(imp.insert_customer(&thief).unwrap(), Inserted::New);
    t.customer_id = Some(thief.id);
    assert_eq!(imp.insert_transaction(&t).unwrap(), Inserted::New);
    assert_eq!(imp.insert_transaction(&t).unwrap(), Inserted::Repeated);
    assert_eq!(imp.customer_ref("M2").unwrap(), Some(thief.id));
    imp.commit().unwrap();
    let c = s.counts().unwrap();
    assert_eq!((c.customers, c.transactions, c.transaction_lines), (2, 1, 1));
    assert_eq!(s.get_transaction(t.id).unwrap().unwrap(), t);
}

#[test]
fn parallel_writers_keep_idempotency_and_unique_identifiers() {
    use kesher_app::contract::{customer, seed_reference};
    use kesher_core::{Country, Phone};
    use kesher_store::StoreError;
    let db = TestDb::new();
    let s = db.store();
    let app = app_on(&db);
    let (b, _, p) = seed_reference(&s);
    let owner = customer(1, "M1", "Dana");
    app.insert_customer(&owner, &actor()).unwrap();
    let results: Vec<(bool, uuid::Uuid)> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..8u128)
            .map(|n| {
                let app = &app;
                sc.spawn(move || {
                    let t = kesher_core::Transaction {
                        id: kesher_core::TransactionId(uuid::Uuid::from_u128(7000 + n)),
                        external_id: "SAME".into(),
                        customer_id: Some(owner.id),
                        branch_id: b,
                        employee_id: None,
                        occurred_at: "2025-03-01T10:00:00Z".parse().unwrap(),
                        currency: kesher_core::Currency::parse("ILS").unwrap(),
                        lines: vec![kesher_core::Line {
                            product_id: Some(p),
                            sku: Some("P1".into()),
                            quantity: 1,
                            unit_price: 100,
                            discount: 0,
                        }],
                        refund_of: None,
                    };
                    let r = app.record_transaction(&t).unwrap();
                    (r.created, r.value.id.0)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|r| r.0).count(), 1);
    assert!(results.iter().all(|r| r.1 == results[0].1));
    assert_eq!(s.counts().unwrap().transactions, 1);

    let outcomes: Vec<Result<(), StoreError>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..8u128)
            .map(|n| {
                let app = &app;
                sc.spawn(move || {
                    let mut c = customer(10 + n, &format!("P{n}"), "x");
                    c.phone = Some(Phone::parse("050-7654321", Country::israel()).unwrap());
                    app.insert_customer(&c, &actor())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1);
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.as_ref().err())
            .all(|e| matches!(e, StoreError::Conflict { field: "phone", .. })),
        "{outcomes:?}"
    );
}

/// `n` sales of three lines each at branch `b`, product `p`, numbered from `from`.
fn sales(from: u128, n: u128, b: kesher_core::BranchId, p: kesher_core::ProductId) -> Vec<kesher_core::Transaction> {
    (from..from + n)
        .map(|k| kesher_core::Transaction {
            id: kesher_core::TransactionId(uuid::Uuid::from_u128(1_000_000 + k)),
            external_id: format!("S{k}"),
            customer_id: None,
            branch_id: b,
            employee_id: None,
            occurred_at: jiff::Timestamp::from_second(1_700_000_000 + k as i64).unwrap(),
            currency: kesher_core::Currency::parse("ILS").unwrap(),
            lines: (0..3)
                .map(|i| kesher_core::Line {
                    product_id: if i == 2 { None } else { Some(p) },
                    sku: if i == 2 { None } else { Some("P1".into()) },
                    quantity: 1 + i,
                    unit_price: 100 * (k as i64 % 7 + 1),
                    discount: i,
                })
                .collect(),
            refund_of: None,
        })
        .collect()
}

#[test]
fn bulk_import_copies_lines_in_batches_and_all_or_nothing() {
    use kesher_app::contract::seed_reference;
    use kesher_store::Inserted;
    let db = TestDb::new();
    let s = db.store();
    let (b, _, p) = seed_reference(&s);
    // More lines than one COPY batch, so that a batch is copied before the commit.
    let batch = sales(0, 20_000, b, p);
    {
        let mut imp = s.begin_import().unwrap();
        for t in &batch {
            assert_eq!(imp.insert_transaction(t).unwrap(), Inserted::New);
        }
        // Dropped: the lines already copied go too.
    }
    let c = s.counts().unwrap();
    assert_eq!((c.transactions, c.transaction_lines), (0, 0));

    let started = std::time::Instant::now();
    let mut imp = s.begin_import().unwrap();
    for t in &batch {
        assert_eq!(imp.insert_transaction(t).unwrap(), Inserted::New);
    }
    assert_eq!(imp.insert_transaction(&batch[5]).unwrap(), Inserted::Repeated);
    // A line naming an unknown product is refused at once; the unit goes on.
    let mut bad = sales(90_000, 1, b, p).remove(0);
    bad.lines[0].product_id = Some(kesher_core::ProductId(uuid::Uuid::from_u128(31337)));
    assert!(matches!(
        imp.insert_transaction(&bad),
        Err(kesher_store::StoreError::Invalid { field: "sku", .. })
    ));
    imp.commit().unwrap();
    eprintln!(
        "imported {} transactions ({} lines) in {:?}",
        batch.len(),
        batch.len() * 3,
        started.elapsed()
    );
    let c = s.counts().unwrap();
    assert_eq!((c.transactions, c.transaction_lines), (20_000, 60_000));
    assert_eq!(s.get_transaction(batch[12_345].id).unwrap().unwrap(), batch[12_345]);
    let mut again = s.begin_import().unwrap();
    assert_eq!(again.insert_transaction(&batch[0]).unwrap(), Inserted::AlreadyPresent);
    drop(again);
}

#[test]
fn an_import_whose_connection_is_lost_does_not_report_a_commit() {
    use kesher_app::contract::customer;
    let db = TestDb::new();
    let s = db.store();
    let mut imp = s.begin_import().unwrap();
    imp.insert_customer(&customer(1, "M1", "Dana")).unwrap();
    // Another session ends this unit's backend: the commit must fail, and nothing lands.
    let mut admin = db.client();
    admin
        .batch_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'kesher' AND state LIKE 'idle in transaction%'",
        )
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(imp.commit().is_err());
    assert_eq!(s.counts().unwrap().customers, 0);
}

fn score(n: u128, stage: &str, as_of: &str) -> kesher_store::CustomerScore {
    kesher_store::CustomerScore {
        customer_id: kesher_core::CustomerId(uuid::Uuid::from_u128(n)),
        as_of: as_of.parse().unwrap(),
        model: "bgnbd".into(),
        stage: stage.to_string().into(),
        frequency: n as f64 / 3.0,
        recency: 0.1,
        t: 1e-300,
        monetary: f64::MAX,
        revenue: n as i64,
        margin: None,
        p_alive: Some(0.5),
        expected_purchases: None,
        clv: Some(-0.0),
        rfm: None,
        segment: Some("loyal".into()),
        tier: None,
        wallet: Some(n as i64 * 100),
        share_of_wallet: None,
    }
}

#[test]
fn a_million_scores_replace_in_one_transaction() {
    let db = TestDb::new();
    let s = db.store();
    let stages = ["prospect", "first_time", "core", "at_risk", "defected"];
    let many: Vec<_> = (1..=1_000_000u128)
        .map(|n| score(n, stages[(n % 5) as usize], "2025-05-31T00:00:00Z"))
        .collect();
    let started = std::time::Instant::now();
    s.replace_customer_scores("2025-05-31T00:00:00Z".parse().unwrap(), "bgnbd", &many)
        .unwrap();
    eprintln!("replaced 1,000,000 scores in {:?}", started.elapsed());
    let started = std::time::Instant::now();
    s.replace_customer_scores("2025-05-31T23:59:59Z".parse().unwrap(), "bgnbd", &many)
        .unwrap();
    eprintln!("replaced them again (same month) in {:?}", started.elapsed());
    // Stored with the run's date.
    assert_eq!(
        s.customer_score(many[12_344].customer_id).unwrap().unwrap(),
        kesher_store::CustomerScore {
            as_of: "2025-05-31T23:59:59Z".parse().unwrap(),
            ..many[12_344].clone()
        }
    );
    let counts = s.stage_counts().unwrap();
    assert_eq!(counts.len(), 5);
    assert!(counts.iter().all(|(m, _, n)| m == "2025-05" && *n == 200_000));

    // A customer scored twice: nothing of the run lands, the earlier results stay.
    let june = vec![
        score(1, "core", "2025-06-30T00:00:00Z"),
        score(1, "core", "2025-06-30T00:00:00Z"),
    ];
    assert!(
        s.replace_customer_scores("2025-06-30T00:00:00Z".parse().unwrap(), "bgnbd", &june)
            .is_err()
    );
    assert_eq!(s.list_customer_scores().unwrap().len(), 1_000_000);
    assert_eq!(s.stage_counts().unwrap().len(), 5);

    assert_eq!(
        s.stage_transitions("2025-05", "2025-05").unwrap()[0],
        ("at_risk".to_string(), "at_risk".to_string(), 200_000)
    );
    // The month is the UTC month of as_of: this run (May 31st, 21:30 UTC) replaces May.
    s.replace_customer_scores("2025-06-01T00:30:00+03:00".parse().unwrap(), "bgnbd", &june[..1])
        .unwrap();
    assert_eq!(
        s.stage_counts().unwrap(),
        vec![("2025-05".to_string(), "core".to_string(), 1)]
    );
    s.replace_customer_scores("2025-05-01T00:00:00Z".parse().unwrap(), "bgnbd", &many)
        .unwrap();
    s.replace_customer_scores("2025-06-30T00:00:00Z".parse().unwrap(), "bgnbd", &june[..1])
        .unwrap();
    assert_eq!(s.list_customer_scores().unwrap(), june[..1].to_vec());
    // Customers absent from `to` are not counted; those absent from `from` come from "new".
    assert_eq!(
        s.stage_transitions("2025-05", "2025-06").unwrap(),
        vec![("first_time".to_string(), "core".to_string(), 1)]
    );
    assert_eq!(
        s.stage_transitions("2025-04", "2025-06").unwrap(),
        vec![("new".to_string(), "core".to_string(), 1)]
    );
}

#[test]
fn purchases_carry_their_cost_when_every_line_has_one_and_follow_merges() {
    use kesher_app::contract::{customer, seed_reference};
    use kesher_core::{Line, Transaction, TransactionId};
    let db = TestDb::new();
    let s = db.store();
    let app = app_on(&db);
    let (b, _, p) = seed_reference(&s);
    let (c1, c2) = (customer(1, "M1", "Dana"), customer(2, "M2", "Eve"));
    app.insert_customer(&c1, &actor()).unwrap();
    app.insert_customer(&c2, &actor()).unwrap();
    let line = |product_id, quantity| Line {
        product_id,
        sku: product_id.map(|_| "P1".to_string()),
        quantity,
        unit_price: 8990,
        discount: 0,
    };
    let sale = |n: u128, c: &kesher_core::Customer, at: &str, lines: Vec<Line>| Transaction {
        id: TransactionId(uuid::Uuid::from_u128(n)),
        external_id: format!("T{n}"),
        customer_id: Some(c.id),
        branch_id: b,
        employee_id: None,
        occurred_at: at.parse().unwrap(),
        currency: kesher_core::Currency::parse("ILS").unwrap(),
        lines,
        refund_of: None,
    };
    app.record_transaction(&sale(
        1,
        &c2,
        "2025-03-01T10:00:00Z",
        vec![line(Some(p), 2), line(Some(p), 1)],
    ))
    .unwrap();
    app.record_transaction(&sale(
        2,
        &c1,
        "2025-03-02T10:00:00Z",
        vec![line(Some(p), 1), line(None, 1)],
    ))
    .unwrap();
    s.replace_customer_scores(
        "2025-03-31T00:00:00Z".parse().unwrap(),
        "bgnbd",
        &[score(c2.id.0.as_u128(), "core", "2025-03-31T00:00:00Z")],
    )
    .unwrap();
    let mut rows = Vec::new();
    s.for_each_purchase(&mut |r| rows.push((r.customer_id, r.amount, r.cost)))
        .unwrap();
    assert_eq!(rows, vec![(c1.id, 2 * 8990, None), (c2.id, 3 * 8990, Some(3 * 4100))]);

    // Merged away: its sales count under the kept id, its analysis results go.
    app.merge_customers(c1.id, c2.id, &actor()).unwrap();
    let mut rows = Vec::new();
    s.for_each_purchase(&mut |r| rows.push((r.customer_id, r.occurred_at.to_string())))
        .unwrap();
    assert_eq!(
        rows,
        vec![
            (c1.id, "2025-03-01T10:00:00Z".to_string()),
            (c1.id, "2025-03-02T10:00:00Z".to_string())
        ]
    );
    assert_eq!(s.customer_score(c2.id).unwrap(), None);
    // The kept customer was an implicit prospect of the run: it still counts as one.
    assert_eq!(
        s.stage_counts().unwrap(),
        vec![("2025-03".to_string(), "prospect".to_string(), 1)]
    );
}

#[test]
fn sale_lines_carry_their_sales_customer_on_every_path() {
    use kesher_app::contract::{customer, seed_reference};
    use kesher_core::Transaction;
    let db = TestDb::new();
    let s = db.store();
    let app = app_on(&db);
    let (b, _, p) = seed_reference(&s);
    let (c1, c2) = (customer(1, "M1", "Dana"), customer(2, "M2", "Eve"));
    app.insert_customer(&c1, &actor()).unwrap();
    app.insert_customer(&c2, &actor()).unwrap();
    let sale = |mut t: Transaction, c: Option<&kesher_core::Customer>| {
        // An amount-only line is for one unit.
        t.lines[2].quantity = 1;
        Transaction {
            customer_id: c.map(|c| c.id),
            ..t
        }
    };
    let mut batch = sales(0, 4, b, p).into_iter();
    // A recorded sale, an anonymous one, and two through an import.
    app.record_transaction(&sale(batch.next().unwrap(), Some(&c1))).unwrap();
    app.record_transaction(&sale(batch.next().unwrap(), None)).unwrap();
    let mut imp = s.begin_import().unwrap();
    imp.insert_transaction(&sale(batch.next().unwrap(), Some(&c2))).unwrap();
    imp.insert_transaction(&sale(batch.next().unwrap(), Some(&c1))).unwrap();
    imp.commit().unwrap();
    // Each line's customer is its sale's, and none is missing.
    let mismatched = |c: &mut postgres::Client| -> (i64, i64) {
        let r = c
            .query_one(
                "SELECT count(*) FILTER (WHERE l.customer_id IS DISTINCT FROM t.customer_id), count(*)
                 FROM transaction_lines l JOIN transactions t ON t.id = l.transaction_id",
                &[],
            )
            .unwrap();
        (r.get(0), r.get(1))
    };
    let mut c = db.client();
    assert_eq!(mismatched(&mut c), (0, 12));
    let of = |c: &mut postgres::Client, id: uuid::Uuid| -> i64 {
        c.query_one("SELECT count(*) FROM transaction_lines WHERE customer_id = $1", &[&id])
            .unwrap()
            .get(0)
    };
    assert_eq!((of(&mut c, c1.id.0), of(&mut c, c2.id.0)), (6, 3));
    // A merge moves the lines with the sales.
    app.merge_customers(c1.id, c2.id, &actor()).unwrap();
    assert_eq!(mismatched(&mut c), (0, 12));
    assert_eq!((of(&mut c, c1.id.0), of(&mut c, c2.id.0)), (9, 0));

    // `kesher copy`'s writer fills it from the sales (the portable table leaves it out).
    let copy = TestDb::new();
    copy_tables(&s, &copy.store());
    let mut cc = copy.client();
    assert_eq!(mismatched(&mut cc), (0, 12));
    assert_eq!(of(&mut cc, c1.id.0), 9);

    // A database from before version 9 gets the column filled from its sales.
    drop(s);
    c.batch_execute(
        "ALTER TABLE transaction_lines DROP COLUMN customer_id;
         DELETE FROM schema_migrations WHERE version = 9;",
    )
    .unwrap();
    drop(db.store());
    assert_eq!(mismatched(&mut c), (0, 12));
    assert_eq!(of(&mut c, c1.id.0), 9);
}

/// Every table but the (append-only) audit log from one store into another through `kesher
/// copy`'s writer, which gives each sale line its sale's customer.
fn copy_tables(from: &PgStore, to: &PgStore) {
    use kesher_store::bulk::{TABLES, Value};
    let mut w = to.begin_bulk_write().unwrap();
    for t in TABLES.iter().filter(|t| t.name != "audit_log") {
        let mut rows: Vec<Vec<Value>> = Vec::new();
        from.bulk_read(t, &mut |r| rows.push(r.to_vec())).unwrap();
        w.write_table(t, &mut rows.into_iter()).unwrap();
    }
    w.commit().unwrap();
}

#[test]
fn a_database_from_before_the_shared_history_keeps_its_accounts_step() {
    // PostgreSQL's step 3 used to be the accounts (SQLite's step 4): a database that stopped
    // there has the accounts recorded as 3 and no sale cost yet.
    let db = TestDb::new();
    let mut c = db.client();
    c.batch_execute(
        "CREATE TABLE schema_migrations (version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .unwrap();
    for sql in [
        include_str!("../../migrations/0001_init.sql"),
        include_str!("../../migrations/0002_scores.sql"),
        include_str!("../../migrations/0004_accounts.sql"),
    ] {
        c.batch_execute(sql).unwrap();
    }
    c.batch_execute("INSERT INTO schema_migrations (version) VALUES (1), (2), (3)")
        .unwrap();
    let s = db.store();
    assert_eq!(s.schema_version().unwrap(), PgStore::latest_schema_version());
    let cost: i64 = c
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'transactions' AND column_name = 'cost'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(cost, 1, "the sale cost step ran");
    let applied: Vec<i64> = c
        .query("SELECT version FROM schema_migrations ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Every step of the folder, once (a number may be held for another branch's step).
    let mut steps: Vec<i64> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy()[..4].parse().unwrap())
        .collect();
    steps.sort_unstable();
    assert_eq!(applied, steps);
    assert_eq!(applied.last(), Some(&PgStore::latest_schema_version()));
}

#[test]
fn an_import_awarding_points_lets_a_sale_for_another_customer_through() {
    use kesher_app::contract::{customer, points::shekel_rule, seed_reference};
    use kesher_store::{Inserted, SaleScope};
    let db = TestDb::new();
    let s = db.store();
    let (b, _, p) = seed_reference(&s);
    let app = app_on(&db);
    app.set_earning_rule(&shekel_rule(), &actor()).unwrap();
    let (imported, till) = (customer(1, "A1", "Dana"), customer(2, "A2", "Noa"));
    app.insert_customer(&imported, &actor()).unwrap();
    app.insert_customer(&till, &actor()).unwrap();

    // The import's award has begun: its customer's balance is locked until it commits.
    let mut imp = s.begin_import().unwrap();
    let mut sale = sales(0, 1, b, p).remove(0);
    sale.customer_id = Some(imported.id);
    assert_eq!(imp.insert_transaction(&sale).unwrap(), Inserted::New);
    imp.lock_all_points().unwrap();
    let ids = [sale.id];
    assert_eq!(imp.unearned_sales(SaleScope::Only(&ids), None, 10).unwrap().len(), 1);

    // A till's sale for another customer commits meanwhile, with its points.
    let mut pos = sales(100, 1, b, p).remove(0);
    pos.customer_id = Some(till.id);
    pos.lines.truncate(1);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _ = done.send(app.record_sale(&pos, &actor()).map(|r| r.points.is_some()));
        });
        let earned = finished
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the till's sale waited for the import");
        assert!(earned.unwrap());
        imp.commit().unwrap();
    });
}

#[test]
fn each_probe_of_a_customer_search_can_be_a_range_of_an_index() {
    use kesher_store::search::SearchColumn;
    let db = TestDb::new();
    let _store = db.store();
    let mut c = db.client();
    // An empty table is cheapest to scan: forbid that, and any probe without an index fails.
    c.batch_execute("SET enable_seqscan = off").unwrap();
    for column in [
        SearchColumn::Name,
        SearchColumn::Surname,
        SearchColumn::Member,
        SearchColumn::Card,
        SearchColumn::Email,
        SearchColumn::Phone,
    ] {
        let key = kesher_store_postgres::search_key(column);
        let plan: Vec<String> = c
            .query(
                &format!(
                    "EXPLAIN SELECT {key}, id FROM customers WHERE {key} >= 'coh'::text AND {key} < 'coi'::text
                     AND (NULL::uuid IS NULL OR source_branch = NULL::uuid) ORDER BY {key}, id LIMIT 1001"
                ),
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let plan = plan.join("\n");
        assert!(
            plan.contains("Index") && plan.contains("Index Cond"),
            "{column:?}: {plan}"
        );
        assert!(!plan.contains("Seq Scan"), "{column:?}: {plan}");
    }
}
