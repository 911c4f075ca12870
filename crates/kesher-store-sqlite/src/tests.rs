//! The backend contract suite run against SQLite (`contract::…`, one test per check), plus
//! SQLite-only checks.

use super::*;

/// Write rows in one unit of work: the store's own operations, without the app's workflows.
fn write<T>(s: &SqliteStore, f: impl FnOnce(&mut dyn kesher_store::Tx) -> Result<T>) -> T {
    let mut tx = kesher_store::UnitOfWork::begin(s, kesher_store::Lock::Writes).unwrap();
    let v = f(tx.as_mut()).unwrap();
    tx.commit().unwrap();
    v
}

fn fresh() -> (tempdir::Dir, SqliteStore) {
    let dir = tempdir::Dir::new();
    let store = SqliteStore::open(dir.path().join("k.db")).unwrap();
    (dir, store)
}

kesher_app::contract_tests!(fresh);

#[test]
fn migrations_are_versioned_and_reopen_cleanly() {
    let (dir, store) = fresh();
    assert_eq!(store.schema_version().unwrap(), 21);
    drop(store);
    let again = SqliteStore::open(dir.path().join("k.db")).unwrap();
    assert_eq!(again.schema_version().unwrap(), 21);
}

#[test]
fn results_stored_before_version_7_read_the_same_after_it() {
    // A database at version 5 whose runs stored a row for every customer, prospects included.
    let dir = tempdir::Dir::new();
    let path = dir.path().join("k.db");
    {
        let c = Connection::open(&path).unwrap();
        for (version, sql) in migrate::MIGRATIONS.iter().filter(|m| m.0 <= 5) {
            c.execute_batch(sql).unwrap();
            c.pragma_update(None, "user_version", version).unwrap();
        }
        let id = |n: u8| {
            let mut b = [0u8; 16];
            b[15] = n;
            b
        };
        for n in [1, 2] {
            c.execute(
                "INSERT INTO customers (id, kind, created_at) VALUES (?1, 'consumer', 0)",
                [id(n).as_slice()],
            )
            .unwrap();
        }
        let as_of = "2025-04-30T00:00:00Z".parse::<Timestamp>().unwrap().as_microsecond();
        c.execute(
            "INSERT INTO customer_scores (customer_id, as_of, model, stage, frequency, recency, t, monetary, revenue)
             VALUES (?1, ?3, 'bgnbd', 'at_risk', 1, 2, 3, 4, 5), (?2, ?3, 'bgnbd', 'prospect', 0, 0, 0, 0, 0)",
            params![id(1).as_slice(), id(2).as_slice(), as_of],
        )
        .unwrap();
        c.execute(
            "INSERT INTO customer_stages (customer_id, month, stage) VALUES
             (?1, '2025-03', 'core'), (?2, '2025-03', 'prospect'), (?1, '2025-04', 'at_risk'), (?2, '2025-04', 'prospect')",
            params![id(1).as_slice(), id(2).as_slice()],
        )
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), 21);
    let (c1, c2) = (
        CustomerId(uuid::Uuid::from_u128(1)),
        CustomerId(uuid::Uuid::from_u128(2)),
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
    write(&s, |tx| tx.insert_customer_row(&c3));
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
fn lines_keep_their_sale_when_sales_get_integer_keys() {
    // A version-5 database (lines keyed by the sale's UUID) with a sale, its refund and lines.
    let dir = tempdir::Dir::new();
    let path = dir.path().join("k.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        for (v, sql) in migrate::MIGRATIONS.iter().filter(|m| m.0 <= 5) {
            c.execute_batch(sql).unwrap();
            c.pragma_update(None, "user_version", v).unwrap();
        }
        c.execute_batch(
            "PRAGMA foreign_keys = ON;
             INSERT INTO branches VALUES (x'00000000000000000000000000000001', 'B1', 'Main', NULL, 'UTC');
             INSERT INTO products VALUES (x'00000000000000000000000000000002', 'P1', 'Tea', NULL, 500, 'ILS', 200);
             INSERT INTO transactions (id, external_id, branch_id, occurred_at, currency, total, cost)
                 VALUES (x'0000000000000000000000000000000A', 'T1', x'00000000000000000000000000000001', 1000000, 'ILS', 1300, 600);
             INSERT INTO transactions (id, external_id, branch_id, occurred_at, currency, total, refund_of, cost)
                 VALUES (x'0000000000000000000000000000000B', 'R1', x'00000000000000000000000000000001', 2000000, 'ILS', -500,
                         x'0000000000000000000000000000000A', -200);
             INSERT INTO transaction_lines VALUES (x'0000000000000000000000000000000A', 0, x'00000000000000000000000000000002', 2, 500, 0);
             INSERT INTO transaction_lines VALUES (x'0000000000000000000000000000000A', 1, NULL, 1, 300, 0);
             INSERT INTO transaction_lines VALUES (x'0000000000000000000000000000000B', 0, x'00000000000000000000000000000002', -1, 500, 0);",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 21);
    let t = store.transaction_by_external("T1").unwrap().unwrap();
    let lines: Vec<_> = t
        .lines
        .iter()
        .map(|l| (l.sku.clone(), l.quantity, l.unit_price))
        .collect();
    assert_eq!(lines, [(Some("P1".into()), 2, 500), (None, 1, 300)]);
    let r = store.transaction_by_external("R1").unwrap().unwrap();
    assert_eq!((r.refund_of, r.lines.len()), (Some(t.id), 1));
    let c = store.counts().unwrap();
    assert_eq!((c.transactions, c.transaction_lines), (2, 3));
    // Foreign keys are on again after the migration.
    let fk: bool = store
        .write()
        .unwrap()
        .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
        .unwrap();
    assert!(fk);
}

#[test]
fn a_sale_with_many_lines_keeps_them_all_in_order() {
    // More lines than one multi-row INSERT takes: full statements, then the rest one by one.
    let (_dir, store) = fresh();
    let b = kesher_core::BranchId(uuid::Uuid::from_u128(1));
    store
        .write()
        .unwrap()
        .execute(
            "INSERT INTO branches VALUES (?1, 'B1', 'Main', NULL, 'UTC')",
            [b.as_bytes()],
        )
        .unwrap();
    let lines: Vec<kesher_core::Line> = (0..70)
        .map(|i| kesher_core::Line {
            product_id: None,
            sku: None,
            quantity: 1,
            unit_price: 100 + i,
            discount: 0,
        })
        .collect();
    let t = kesher_core::Transaction {
        id: kesher_core::TransactionId(uuid::Uuid::from_u128(2)),
        external_id: "T1".into(),
        customer_id: None,
        branch_id: b,
        employee_id: None,
        occurred_at: "2025-03-01T10:00:00Z".parse().unwrap(),
        currency: kesher_core::Currency::parse("ILS").unwrap(),
        lines,
        refund_of: None,
    };
    write(&store, |tx| tx.insert_sale(&t));
    let back = store.transaction_by_external("T1").unwrap().unwrap();
    let prices: Vec<i64> = back.lines.iter().map(|l| l.unit_price).collect();
    assert_eq!(prices, (100..170).collect::<Vec<i64>>());
}

#[test]
fn audit_log_is_append_only() {
    let (_dir, store) = fresh();
    let c = store.write().unwrap();
    c.execute(
        "INSERT INTO audit_log (at, actor, action, entity, entity_id) VALUES (0, 'a', 'x', 'e', '1')",
        [],
    )
    .unwrap();
    assert!(c.execute("UPDATE audit_log SET actor = 'b'", []).is_err());
    assert!(c.execute("DELETE FROM audit_log", []).is_err());
    // The one change allowed: redacting before/after to the erasure marker, nothing else.
    assert!(c.execute("UPDATE audit_log SET after = '{\"x\":1}'", []).is_err());
    assert!(
        c.execute("UPDATE audit_log SET after = '{\"erased\":true}', actor = 'b'", [])
            .is_err()
    );
    assert_eq!(
        c.execute("UPDATE audit_log SET after = '{\"erased\":true}'", [])
            .unwrap(),
        1
    );
}

#[test]
fn membership_events_and_ledger_breakdowns_are_append_only() {
    let (_dir, store) = fresh();
    let (a, b) = (
        kesher_app::contract::customer(1, "M1", "Dana"),
        kesher_app::contract::customer(2, "M2", "Eve"),
    );
    write(&store, |tx| {
        tx.insert_customer_row(&a)?;
        tx.insert_customer_row(&b)
    });
    let c = store.write().unwrap();
    c.execute(
        "INSERT INTO loyalty_member_events (customer_id, kind, at, actor, detail) VALUES (?1, 'enrol', 0, 'a', '{}')",
        [a.id.as_bytes()],
    )
    .unwrap();
    for sql in [
        "UPDATE loyalty_member_events SET kind = 'leave'",
        "UPDATE loyalty_member_events SET at = 1",
        "UPDATE loyalty_member_events SET actor = 'b'",
        "UPDATE loyalty_member_events SET branch_id = NULL",
        "UPDATE loyalty_member_events SET seq = 99",
        "DELETE FROM loyalty_member_events",
    ] {
        assert!(c.execute(sql, []).is_err(), "{sql}");
    }
    // What a merge and an erasure do, and nothing else; a detail stays JSON.
    assert_eq!(
        c.execute("UPDATE loyalty_member_events SET customer_id = ?1", [b.id.as_bytes()])
            .unwrap(),
        1
    );
    assert_eq!(
        c.execute("UPDATE loyalty_member_events SET detail = '{\"erased\":true}'", [])
            .unwrap(),
        1
    );
    assert!(c.execute("UPDATE loyalty_member_events SET detail = 'x'", []).is_err());
    // The ledger's guard covers the breakdown, which is JSON too.
    let entry = "INSERT INTO points_ledger (customer_id, kind, points, balance_after, actor, at, breakdown)
                 VALUES (?1, 'adjust', 1, 1, 'a', 0, ?2)";
    c.execute(entry, rusqlite::params![a.id.as_bytes(), Option::<String>::None])
        .unwrap();
    assert!(c.execute(entry, rusqlite::params![a.id.as_bytes(), "x"]).is_err());
    assert!(c.execute("UPDATE points_ledger SET breakdown = '[]'", []).is_err());
    // A membership's words and bounds are the schema's.
    let member = "INSERT INTO loyalty_members (customer_id, status, enrolled_at, quality, quality_missing, fee_paid)
                  VALUES (?1, ?2, 0, ?3, ?4, ?5)";
    for (status, quality, missing, fee) in [
        ("gone", 50, "[]", 0),
        ("active", 101, "[]", 0),
        ("active", -1, "[]", 0),
        ("active", 50, "phone", 0),
        ("active", 50, "[]", -1),
    ] {
        assert!(
            c.execute(
                member,
                rusqlite::params![a.id.as_bytes(), status, quality, missing, fee]
            )
            .is_err(),
            "{status} {quality} {missing} {fee}"
        );
    }
    c.execute(
        member,
        rusqlite::params![a.id.as_bytes(), "left", 100, "[\"phone\"]", 0],
    )
    .unwrap();
}

mod tempdir {
    use std::path::{Path, PathBuf};

    /// A directory removed on drop (no external crate needed).
    pub struct Dir(PathBuf);
    impl Dir {
        pub fn new() -> Dir {
            static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let p = std::env::temp_dir().join(format!(
                "kesher-store-test-{}-{}",
                std::process::id(),
                N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            Dir(p)
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn index_exists(store: &SqliteStore, name: &str) -> bool {
    store
        .read()
        .unwrap()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        == 1
}

fn sales(n: usize, prefix: &str, branch: BranchId, customer: CustomerId) -> Vec<Transaction> {
    (0..n)
        .map(|i| Transaction {
            id: TransactionId(uuid::Uuid::now_v7()),
            external_id: format!("{prefix}{i}"),
            customer_id: Some(customer),
            branch_id: branch,
            employee_id: None,
            occurred_at: Timestamp::from_second(1_700_000_000 + i as i64).unwrap(),
            currency: kesher_core::Currency::parse("ILS").unwrap(),
            lines: vec![kesher_core::Line {
                product_id: None,
                sku: None,
                quantity: 1,
                unit_price: 100,
                discount: 0,
            }],
            refund_of: None,
        })
        .collect()
}

/// Branch "B1" (UTC), inserted.
fn branch_b1(store: &SqliteStore) -> BranchId {
    let branch = Branch {
        id: BranchId(uuid::Uuid::now_v7()),
        external_id: "B1".into(),
        name: "B1".into(),
        region: None,
        time_zone: "UTC".into(),
    };
    store.insert_branch(&branch).unwrap();
    branch.id
}

/// A bare customer with member number `member`, inserted.
fn bare_customer(store: &SqliteStore, member: &str) -> CustomerId {
    let customer = Customer::bare(
        CustomerId(uuid::Uuid::now_v7()),
        Some(member.into()),
        Timestamp::UNIX_EPOCH,
    );
    write(store, |tx| tx.insert_customer_row(&customer));
    customer.id
}

#[test]
fn a_big_import_rebuilds_the_customer_index_at_commit_and_a_rollback_keeps_it() {
    let (_dir, store) = fresh();
    let branch = branch_b1(&store);
    let customer = bare_customer(&store, "M1");

    // Rolled back after the index was dropped: everything, the index included, is as before.
    let txs = sales(60, "R", branch, customer);
    let mut unit = store.begin_import().unwrap();
    let refs: Vec<&Transaction> = txs.iter().collect();
    assert!(
        unit.insert_transactions(&refs)
            .iter()
            .all(|r| matches!(r, Ok(Inserted::New)))
    );
    drop(unit);
    assert!(index_exists(&store, "transactions_customer"));
    assert_eq!(store.counts().unwrap().transactions, 0);

    // Committed: the index is back and serves the per-customer listing.
    let txs = sales(60, "T", branch, customer);
    let mut unit = store.begin_import().unwrap();
    for chunk in txs.chunks(25) {
        let refs: Vec<&Transaction> = chunk.iter().collect();
        assert!(
            unit.insert_transactions(&refs)
                .iter()
                .all(|r| matches!(r, Ok(Inserted::New)))
        );
    }
    unit.commit().unwrap();
    assert!(index_exists(&store, "transactions_customer"));
    let page = store.list_transactions(Some(customer), 5, 0).unwrap();
    assert_eq!(page.total, 60);
    assert_eq!(page.items[0].external_id, "T59");

    // A re-import of the same sales counts them as present.
    let mut unit = store.begin_import().unwrap();
    let refs: Vec<&Transaction> = txs.iter().collect();
    assert!(
        unit.insert_transactions(&refs)
            .iter()
            .all(|r| matches!(r, Ok(Inserted::AlreadyPresent)))
    );
    unit.commit().unwrap();
}

/// What a sale's outcome is, without the error's text.
fn outcome(r: &kesher_store::Result<Inserted>) -> String {
    match r {
        Ok(i) => format!("{i:?}"),
        Err(e) => format!("error: {e}"),
    }
}

/// The outcomes of `items` written together (`together`) in an import unit of `many`, and one by
/// one (`alone`) in an import unit of `single`; both units are committed.
fn outcomes_together_and_alone<T>(
    many: &SqliteStore,
    single: &SqliteStore,
    items: &[&T],
    together: impl FnOnce(&mut dyn ImportTx, &[&T]) -> Vec<kesher_store::Result<Inserted>>,
    alone: impl Fn(&mut dyn ImportTx, &T) -> kesher_store::Result<Inserted>,
) -> (Vec<String>, Vec<String>) {
    let mut unit = many.begin_import().unwrap();
    let got: Vec<String> = together(&mut *unit, items).iter().map(outcome).collect();
    unit.commit().unwrap();
    let mut unit = single.begin_import().unwrap();
    let want: Vec<String> = items.iter().map(|t| outcome(&alone(&mut *unit, t))).collect();
    unit.commit().unwrap();
    (got, want)
}

/// A single number a query on `store`'s reader answers.
fn count(store: &SqliteStore, sql: &str) -> i64 {
    store.read().unwrap().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn sales_written_many_per_statement_get_the_outcomes_of_one_by_one() {
    // More sales than one multi-row INSERT takes, among them: sales already stored, an external
    // id repeated inside a statement's group and across groups, and a sale whose id collides
    // (the statement fails there: the rest of its group is written one by one).
    let setup = || {
        let (dir, store) = fresh();
        let branch = Branch {
            id: BranchId(uuid::Uuid::from_u128(1)),
            external_id: "B1".into(),
            name: "B1".into(),
            region: None,
            time_zone: "UTC".into(),
        };
        store.insert_branch(&branch).unwrap();
        let mut stored = sales(10, "P", branch.id, CustomerId(uuid::Uuid::from_u128(2)));
        for t in &mut stored {
            t.customer_id = None;
        }
        let mut unit = store.begin_import().unwrap();
        let refs: Vec<&Transaction> = stored.iter().collect();
        assert!(unit.insert_transactions(&refs).iter().all(|r| r.is_ok()));
        unit.commit().unwrap();
        (dir, store, branch.id)
    };
    let (_d1, many, branch) = setup();
    let (_d2, single, _) = setup();
    let mut txs = sales(100, "N", branch, CustomerId(uuid::Uuid::from_u128(2)));
    for (i, t) in txs.iter_mut().enumerate() {
        t.customer_id = None;
        t.lines.push(kesher_core::Line {
            product_id: None,
            sku: None,
            quantity: 1,
            unit_price: 1000 + i as i64,
            discount: 0,
        });
    }
    txs[3].external_id = "P3".into();
    txs[7].external_id = "P7".into();
    txs[20].external_id = "N5".into();
    txs[50].external_id = "N1".into();
    txs[40].id = txs[35].id;
    let refs: Vec<&Transaction> = txs.iter().collect();

    let (got, want) = outcomes_together_and_alone(
        &many,
        &single,
        &refs,
        |u, ts| u.insert_transactions(ts),
        |u, t| u.insert_transaction(t),
    );
    assert_eq!(got, want);
    assert_eq!(got[3], "AlreadyPresent");
    assert_eq!(got[20], "Repeated");
    assert_eq!(got[50], "Repeated");
    assert!(got[40].starts_with("error"));
    assert_eq!(got[41], "New");

    // Every written sale has its own two lines, in order.
    for (i, t) in txs.iter().enumerate() {
        if got[i] != "New" {
            continue;
        }
        let back = many.transaction_by_external(&t.external_id).unwrap().unwrap();
        let prices: Vec<i64> = back.lines.iter().map(|l| l.unit_price).collect();
        assert_eq!(prices, vec![100, 1000 + i as i64], "sale {i}");
    }
    assert_eq!(many.counts().unwrap(), single.counts().unwrap());
}

#[test]
fn sales_read_in_two_halves_are_the_sales_read_in_one() {
    let (_dir, s) = fresh();
    let branch = branch_b1(&s);
    for n in 0..7usize {
        let c = bare_customer(&s, &format!("M{n}"));
        for t in sales(n + 3, &format!("C{n}-"), branch, c) {
            write(&s, |tx| tx.insert_sale(&t));
        }
    }
    let key = |r: &PurchaseRow| (r.customer_id, r.occurred_at, r.amount);
    let read = |split_from: i64| {
        let mut rows = Vec::new();
        s.purchases_split_from(false, split_from, &mut |r| rows.push(r.clone()))
            .unwrap();
        rows.sort_by_key(key);
        rows
    };
    let mut ordered = Vec::new();
    s.for_each_purchase(&mut |r| ordered.push(r.clone())).unwrap();
    ordered.sort_by_key(key);
    assert_eq!(ordered.len(), (3..10).sum::<usize>());
    // One connection, then two halves from one snapshot.
    assert_eq!(read(i64::MAX), ordered);
    assert_eq!(read(0), ordered);
    // While another connection holds the write lock the halves cannot share a snapshot
    // safely: one connection reads them all.
    let other = Connection::open(s.path()).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(read(0), ordered);
    other.execute_batch("ROLLBACK").unwrap();
}

/// A store opened for a bulk load with one branch and customer, and that customer.
fn bulk_store(dir: &tempdir::Dir) -> (SqliteStore, BranchId, CustomerId) {
    let store = SqliteStore::open_for_bulk_load(dir.path().join("k.db")).unwrap();
    let branch = branch_b1(&store);
    let customer = bare_customer(&store, "M1");
    (store, branch, customer)
}

/// Import `txs` in one unit and report whether the unit wrote a rollback journal (the file
/// beside the database exists while the unit is open), then commit or drop it.
fn import_unit(store: &SqliteStore, txs: &[Transaction], commit: bool) -> bool {
    let mut unit = store.begin_import().unwrap();
    let refs: Vec<&Transaction> = txs.iter().collect();
    assert!(
        unit.insert_transactions(&refs)
            .iter()
            .all(|r| matches!(r, Ok(Inserted::New)))
    );
    let journal = store.path().with_extension("db-journal").exists();
    if commit {
        unit.commit().unwrap();
    } else {
        drop(unit);
    }
    journal
}

fn journal_mode(path: &std::path::Path) -> String {
    Connection::open(path)
        .unwrap()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_bulk_load_alone_writes_its_pages_once_in_a_rollback_journal_and_returns_to_wal() {
    let dir = tempdir::Dir::new();
    let (store, b, c) = bulk_store(&dir);
    // Rolled back: nothing lands, and the file is in WAL again.
    assert!(import_unit(&store, &sales(50, "R", b, c), false));
    assert_eq!(store.counts().unwrap().transactions, 0);
    // The read above opened a reader connection: from now on this process is not alone, and
    // the unit stays in WAL.
    assert!(!import_unit(&store, &sales(50, "W", b, c), true));
    assert_eq!(store.counts().unwrap().transactions, 50);
    drop(store);
    assert_eq!(journal_mode(&dir.path().join("k.db")), "wal");

    // Alone again (a fresh process): committed through the rollback journal, back in WAL after.
    let store = SqliteStore::open_for_bulk_load(dir.path().join("k.db")).unwrap();
    assert!(import_unit(&store, &sales(50, "T", b, c), true));
    assert!(!dir.path().join("k.db-journal").exists());
    assert_eq!(journal_mode(&dir.path().join("k.db")), "wal");
    assert_eq!(store.counts().unwrap().transactions, 100);
    let page = store.list_transactions(Some(c), 5, 0).unwrap();
    assert_eq!(page.total, 100);
}

#[test]
fn a_bulk_load_beside_another_connection_stays_in_wal() {
    let dir = tempdir::Dir::new();
    let (store, b, c) = bulk_store(&dir);
    // Another process (here another connection) has the file open: the switch is refused.
    let other = Connection::open(dir.path().join("k.db")).unwrap();
    other
        .query_row("SELECT count(*) FROM customers", [], |r| r.get::<_, i64>(0))
        .unwrap();
    assert!(!import_unit(&store, &sales(50, "T", b, c), true));
    assert_eq!(
        other
            .query_row("SELECT count(*) FROM transactions", [], |r| r.get::<_, i64>(0))
            .unwrap(),
        50
    );
    // A store opened the usual way never switches.
    drop(other);
    drop(store);
    let usual = SqliteStore::open(dir.path().join("k.db")).unwrap();
    assert!(!import_unit(&usual, &sales(50, "U", b, c), true));
    assert_eq!(usual.counts().unwrap().transactions, 100);
}

#[test]
fn the_parent_index_holds_only_customers_with_a_parent_and_serves_the_lookup() {
    let (_dir, store) = fresh();
    let plan: String = store
        .read()
        .unwrap()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM customers WHERE parent_id = ?1",
            [[0u8; 16].as_slice()],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("customers_parent"), "{plan}");
    let sql: String = store
        .read()
        .unwrap()
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'customers_parent'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.ends_with("WHERE parent_id IS NOT NULL"), "{sql}");
}

#[test]
fn a_big_customer_import_rebuilds_its_indexes_at_commit_and_a_rollback_keeps_them() {
    const INDEXES: [&str; 4] = [
        "customers_name_norm",
        "customers_surname",
        "customers_runs_before",
        "consent_history_customer",
    ];
    // The import has the file to itself (a bulk load): each check opens its own store and
    // closes it before the next unit.
    let dir = tempdir::Dir::new();
    let path = dir.path().join("k.db");
    let store = SqliteStore::open_for_bulk_load(&path).unwrap();
    let check = || SqliteStore::open(&path).unwrap();
    let customers = |prefix: &str| -> Vec<Customer> {
        (0..60)
            .map(|i| {
                let mut c = Customer::bare(
                    CustomerId(uuid::Uuid::now_v7()),
                    Some(format!("{prefix}{i}")),
                    Timestamp::UNIX_EPOCH,
                );
                c.name = Some(format!("Dana {prefix}{i}"));
                c.consents.push(kesher_core::Consent {
                    channel: kesher_core::ConsentChannel::Email,
                    state: kesher_core::ConsentState::Granted,
                    at: Timestamp::UNIX_EPOCH,
                    source: "import".into(),
                });
                c
            })
            .collect()
    };
    let write = |cs: &[Customer], commit: bool| {
        let mut unit = store.begin_import().unwrap();
        for chunk in cs.chunks(25) {
            let refs: Vec<&Customer> = chunk.iter().collect();
            assert!(
                unit.insert_customers(&refs)
                    .iter()
                    .all(|r| matches!(r, Ok(Inserted::New)))
            );
        }
        if commit {
            unit.commit().unwrap();
        }
    };
    // Rolled back after the indexes were dropped: everything, the indexes included, as before.
    write(&customers("R"), false);
    assert!(INDEXES.iter().all(|i| index_exists(&check(), i)));
    assert_eq!(check().counts().unwrap().customers, 0);

    // Committed: the indexes were dropped and built again (the schema changed: one step for
    // each DROP and each CREATE), and they are back and serve what reads them.
    let schema = || -> i64 {
        check()
            .read()
            .unwrap()
            .query_row("PRAGMA schema_version", [], |r| r.get(0))
            .unwrap()
    };
    let before = schema();
    write(&customers("C"), true);
    assert_eq!(schema(), before + 2 * INDEXES.len() as i64);
    assert!(INDEXES.iter().all(|i| index_exists(&check(), i)));
    // Each new customer's consent and its history row, written many per statement.
    let count = |sql: &str| count(&check(), sql);
    assert_eq!(
        count("SELECT count(*) FROM consents WHERE channel = 'email' AND state = 'granted'"),
        60
    );
    assert_eq!(
        count("SELECT count(*) FROM consent_history h JOIN consents c USING (customer_id, channel, state, at)"),
        60
    );
    let found = check()
        .search_customers(&kesher_store::CustomerQuery {
            text: Some("Dana C42".into()),
            phone: None,
            branch: None,
            limit: 10,
            offset: 0,
        })
        .unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].member_no.as_deref(), Some("C42"));
    let plan: String = check()
        .read()
        .unwrap()
        .query_row(
            "EXPLAIN QUERY PLAN SELECT count(*) FROM consent_history WHERE customer_id = ?1",
            [[0u8; 16].as_slice()],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("consent_history_customer"), "{plan}");
}

#[test]
fn customers_written_many_per_statement_get_the_outcomes_of_one_by_one() {
    // More customers than one multi-row INSERT takes, among them: member numbers already stored
    // or repeated in the unit (skipped by the statement), and phones and an e-mail that another
    // customer holds (the statement fails there: the rest of its group is written one by one).
    let customer = |member: String, i: u64| {
        let mut c = Customer::bare(CustomerId(uuid::Uuid::now_v7()), Some(member), Timestamp::UNIX_EPOCH);
        c.phone = Some(
            kesher_core::Phone::parse(&format!("+97250{:07}", 1_000_000 + i), kesher_core::Country::israel()).unwrap(),
        );
        c.email = Some(kesher_core::Email::parse(&format!("c{i}@example.com")).unwrap());
        c.consents.push(kesher_core::Consent {
            channel: kesher_core::ConsentChannel::Sms,
            state: kesher_core::ConsentState::Granted,
            at: Timestamp::UNIX_EPOCH,
            source: "import".into(),
        });
        c
    };
    let setup = || {
        let (dir, store) = fresh();
        let stored: Vec<Customer> = (0..10).map(|i| customer(format!("S{i}"), i)).collect();
        let mut unit = store.begin_import().unwrap();
        let refs: Vec<&Customer> = stored.iter().collect();
        assert!(
            unit.insert_customers(&refs)
                .iter()
                .all(|r| matches!(r, Ok(Inserted::New)))
        );
        unit.commit().unwrap();
        (dir, store)
    };
    let (_d1, many) = setup();
    let (_d2, single) = setup();
    let mut cs: Vec<Customer> = (0..60).map(|i| customer(format!("N{i}"), 100 + i)).collect();
    cs[3].member_no = Some("S3".into());
    cs[20].member_no = Some("N5".into());
    cs[30].phone = customer("S1".into(), 1).phone; // S1's phone
    cs[45].phone = cs[44].phone.clone();
    cs[50].email = cs[2].email.clone();
    let refs: Vec<&Customer> = cs.iter().collect();

    let (got, want) = outcomes_together_and_alone(
        &many,
        &single,
        &refs,
        |u, cs| u.insert_customers(cs),
        |u, c| u.insert_customer(c),
    );
    assert_eq!(got, want);
    assert_eq!(got[3], "AlreadyPresent");
    assert_eq!(got[20], "Repeated");
    for i in [30, 45, 50] {
        assert!(got[i].starts_with("error"), "{i}: {}", got[i]);
    }
    assert_eq!(got[31], "New");
    assert_eq!(got[46], "New");
    assert_eq!(got.iter().filter(|o| *o == "New").count(), 55);
    assert_eq!(many.counts().unwrap(), single.counts().unwrap());
    // Each new customer has its consent, with its history row.
    let count = |sql: &str| count(&many, sql);
    assert_eq!(count("SELECT count(*) FROM consents"), 10 + 55);
    assert_eq!(count("SELECT count(*) FROM consent_history"), 10 + 55);
}

#[test]
fn both_backends_share_one_migration_history() {
    let names = |dir: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        v.sort();
        v
    };
    let sqlite = names(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"));
    let postgres = names(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kesher-store-postgres/migrations"
    ));
    assert_eq!(sqlite, postgres, "the same numbered steps, by the same names");
    let numbers: Vec<i64> = migrate::MIGRATIONS.iter().map(|m| m.0).collect();
    let files: Vec<i64> = sqlite.iter().map(|n| n[..4].parse().unwrap()).collect();
    assert_eq!(numbers, files, "every step, in order, once");
    // A number may be held for a change on another branch (13), never reused or out of order.
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
}

#[test]
fn an_import_beside_another_connection_commits_in_slices_and_a_failed_one_removes_them() {
    // In tests a slice ends at every write: each insert below commits the one before.
    let dir = tempdir::Dir::new();
    let path = dir.path().join("k.db");
    let store = SqliteStore::open(&path).unwrap();
    let branch = branch_b1(&store);
    let kept = bare_customer(&store, "M1");
    let other = SqliteStore::open(&path).unwrap();
    let before = count(&other, "SELECT count(*) FROM transactions");

    let mut unit = store.begin_import().unwrap();
    let new_customer = Customer::bare(
        CustomerId(uuid::Uuid::now_v7()),
        Some("NEW1".into()),
        Timestamp::UNIX_EPOCH,
    );
    assert!(matches!(unit.insert_customers(&[&new_customer])[0], Ok(Inserted::New)));
    let first = sales(3, "A", branch, kept);
    assert!(
        unit.insert_transactions(&first.iter().collect::<Vec<_>>())
            .iter()
            .all(|r| matches!(r, Ok(Inserted::New)))
    );
    let second = sales(3, "B", branch, new_customer.id);
    assert!(
        unit.insert_transactions(&second.iter().collect::<Vec<_>>())
            .iter()
            .all(|r| matches!(r, Ok(Inserted::New)))
    );
    // The first slices are committed: another connection sees them, and the import's record.
    assert_eq!(count(&other, "SELECT count(*) FROM transactions"), before + 3);
    assert_eq!(count(&other, "SELECT count(*) FROM imports"), 1);
    assert!(count(&other, "SELECT count(*) FROM import_slices") >= 2);
    // A repeated key within the import is still its own, across slices.
    assert!(matches!(
        unit.insert_transactions(&[&first[0]])[0],
        Ok(Inserted::Repeated)
    ));
    drop(unit);

    // Failed: every slice is removed, the customer it created too, and so is its record.
    assert_eq!(count(&other, "SELECT count(*) FROM transactions"), before);
    assert_eq!(
        count(&other, "SELECT count(*) FROM transaction_lines WHERE sale > 0"),
        count(&other, "SELECT count(*) FROM transaction_lines")
    );
    assert_eq!(
        count(&other, "SELECT count(*) FROM customers WHERE member_no = 'NEW1'"),
        0
    );
    assert_eq!(
        count(&other, "SELECT count(*) FROM customers WHERE member_no = 'M1'"),
        1
    );
    assert_eq!(count(&other, "SELECT count(*) FROM imports"), 0);
    assert_eq!(count(&other, "SELECT count(*) FROM import_slices"), 0);

    // Committed: everything stays, and no record of the import is left.
    let mut unit = store.begin_import().unwrap();
    assert!(matches!(unit.insert_customers(&[&new_customer])[0], Ok(Inserted::New)));
    let again = sales(3, "C", branch, new_customer.id);
    assert!(
        unit.insert_transactions(&again.iter().collect::<Vec<_>>())
            .iter()
            .all(|r| matches!(r, Ok(Inserted::New)))
    );
    unit.commit().unwrap();
    assert_eq!(count(&other, "SELECT count(*) FROM transactions"), before + 3);
    assert_eq!(count(&other, "SELECT count(*) FROM imports"), 0);
    assert_eq!(count(&other, "SELECT count(*) FROM import_slices"), 0);
}

#[test]
fn a_removed_import_keeps_a_customer_a_till_sold_to_and_a_sale_a_till_was_answered_with() {
    let dir = tempdir::Dir::new();
    let path = dir.path().join("k.db");
    let store = SqliteStore::open(&path).unwrap();
    let branch = branch_b1(&store);
    let other = SqliteStore::open(&path).unwrap();

    let mut unit = store.begin_import().unwrap();
    let created = Customer::bare(
        CustomerId(uuid::Uuid::now_v7()),
        Some("NEW2".into()),
        Timestamp::UNIX_EPOCH,
    );
    let dropped = Customer::bare(
        CustomerId(uuid::Uuid::now_v7()),
        Some("NEW3".into()),
        Timestamp::UNIX_EPOCH,
    );
    assert!(
        unit.insert_customers(&[&created, &dropped])
            .iter()
            .all(|r| matches!(r, Ok(Inserted::New)))
    );
    // The next write commits the slice; then a till on another connection sells to the
    // customer the import created.
    let own = sales(2, "I", branch, created.id);
    assert!(matches!(unit.insert_transactions(&[&own[0]])[0], Ok(Inserted::New)));
    let till = sales(1, "POS", branch, created.id);
    std::thread::scope(|s| {
        let pos = s.spawn(|| {
            let mut tx = kesher_store::UnitOfWork::begin(&other, kesher_store::Lock::Writes).unwrap();
            assert!(matches!(tx.insert_sale(&till[0]), Ok(Inserted::New)));
            // The till's retry of a sale the import wrote was answered with it: it stays.
            tx.keep_sale(own[0].id).unwrap();
            tx.commit().unwrap();
        });
        // The till waits for the import's slice; the import's next write ends the slice and
        // lets the till in before it goes on.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(matches!(unit.insert_transactions(&[&own[1]])[0], Ok(Inserted::New)));
        pos.join().unwrap();
    });
    drop(unit);

    assert_eq!(
        count(&other, "SELECT count(*) FROM customers WHERE member_no = 'NEW2'"),
        1
    );
    assert_eq!(
        count(&other, "SELECT count(*) FROM customers WHERE member_no = 'NEW3'"),
        0
    );
    assert_eq!(
        count(
            &other,
            "SELECT count(*) FROM transactions WHERE external_id LIKE 'POS%'"
        ),
        1
    );
    assert_eq!(
        count(&other, "SELECT count(*) FROM transactions WHERE external_id LIKE 'I%'"),
        1
    );
    assert_eq!(
        count(&other, "SELECT count(*) FROM transactions WHERE external_id = 'I0'"),
        1
    );
    assert_eq!(count(&other, "SELECT count(*) FROM import_pinned_sales"), 0);
    assert_eq!(count(&other, "SELECT count(*) FROM imports"), 0);
}

#[test]
fn a_customers_sales_and_contacts_are_listed_through_their_index_not_a_scan() {
    let (_dir, store) = fresh();
    let c = store.read().unwrap();
    let plan = |sql: &str| -> String {
        let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let rows: Vec<String> = st
            .query_map([[0u8; 16].as_slice()], |r| r.get(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        rows.join("; ")
    };
    let filter = crate::customer_filter(Some(CustomerId::from_bytes([0; 16])));
    for (table, index) in [
        ("transactions", "transactions_customer"),
        ("interactions", "interactions_customer"),
    ] {
        let count = plan(&format!("SELECT count(*) FROM {table} WHERE {filter}"));
        assert!(count.contains(index) && count.contains("customer_id=?"), "{count}");
        let page = plan(&format!(
            "SELECT id FROM {table} WHERE {filter} ORDER BY occurred_at DESC, id DESC LIMIT 50 OFFSET 0"
        ));
        assert!(page.contains(index) && page.contains("customer_id=?"), "{page}");
    }
}

#[test]
fn each_probe_of_a_customer_search_is_a_range_of_an_index_read_in_order() {
    let (_dir, store) = fresh();
    let c = store.read().unwrap();
    for column in [
        search::SearchColumn::Name,
        search::SearchColumn::Surname,
        search::SearchColumn::Member,
        search::SearchColumn::Card,
        search::SearchColumn::Email,
        search::SearchColumn::Phone,
    ] {
        let key = crate::search_key(column);
        let sql = format!(
            "EXPLAIN QUERY PLAN SELECT {key}, id FROM customers WHERE {key} >= ?1 AND {key} < ?2
             AND (?3 IS NULL OR source_branch = ?3) ORDER BY {key}, id LIMIT ?4"
        );
        let mut st = c.prepare(&sql).unwrap();
        let plan: Vec<String> = st
            .query_map(params!["coh", "coi", Option::<Vec<u8>>::None, 1001], |r| r.get(3))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        let plan = plan.join("; ");
        assert!(
            plan.contains("USING INDEX") && plan.contains(">? AND"),
            "{column:?}: {plan}"
        );
        assert!(!plan.contains("SCAN customers"), "{column:?}: {plan}");
    }
}

#[test]
fn segment_events_are_append_only_and_go_only_with_their_customer() {
    let (_dir, store) = fresh();
    let (a, b) = (
        kesher_app::contract::customer(1, "M1", "Dana"),
        kesher_app::contract::customer(2, "M2", "Eve"),
    );
    write(&store, |tx| {
        tx.insert_customer_row(&a)?;
        tx.insert_customer_row(&b)
    });
    let c = store.write().unwrap();
    c.execute(
        "INSERT INTO segment_events (segment, customer_id, kind, at, run_id) VALUES ('vip', ?1, 'entered', 0, ?1)",
        [a.id.as_bytes()],
    )
    .unwrap();
    for sql in [
        "UPDATE segment_events SET kind = 'left'",
        "UPDATE segment_events SET at = 1",
        "UPDATE segment_events SET segment = 'other'",
        "UPDATE segment_events SET run_id = x'00'",
        "UPDATE segment_events SET seq = 99",
        "DELETE FROM segment_events",
    ] {
        let err = c.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert!(
        c.execute(
            "INSERT INTO segment_events (segment, customer_id, kind, at, run_id) VALUES ('vip', ?1, 'joined', 0, ?1)",
            [a.id.as_bytes()]
        )
        .is_err()
    );
    // What a merge does: the events move to the kept customer.
    assert_eq!(
        c.execute("UPDATE segment_events SET customer_id = ?1", [b.id.as_bytes()])
            .unwrap(),
        1
    );
    // Once the customer row is gone (a deletion, in one transaction), the events may go.
    c.execute_batch("BEGIN").unwrap();
    c.execute("DELETE FROM customers WHERE id = ?1", [b.id.as_bytes()])
        .unwrap();
    assert_eq!(c.execute("DELETE FROM segment_events", []).unwrap(), 1);
    c.execute_batch("COMMIT").unwrap();
}
