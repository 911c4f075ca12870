//! `kesher import` on a SQLite file that another process has open (a server's tills): sales get
//! through while the import runs, and an import killed part-way leaves nothing behind once the
//! database is next opened.

use super::{Dir, kesher, seed, text};
use kesher_app::{App, Settings};
use kesher_core::{Currency, Line, Transaction};
use kesher_store::Actor;
use kesher_store_sqlite::SqliteStore;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Sales in the generated file: large enough that a debug build takes several seconds.
const SALES: usize = 100_000;

/// A transactions file of `SALES` one-line sales, for members `N0` … (created by
/// `--create-missing`) and, every third one, the seeded member M1.
fn big_file(d: &Dir) -> std::path::PathBuf {
    let mut body = String::from(super::TX);
    for i in 0..SALES {
        let member = if i % 3 == 0 {
            "M1".to_string()
        } else {
            format!("N{}", i % 5_000)
        };
        body.push_str(&format!(
            "T{i},{member},B1,E1,2024-03-{:02}T10:{:02}:00+02:00,P1,1,89.90,,ILS\n",
            1 + i % 28,
            i % 60
        ));
    }
    d.file("big.csv", &body)
}

fn import(db: &Path, file: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kesher"))
        .arg("--db")
        .arg(db)
        .args(["import", "transactions"])
        .arg(file)
        .args(["--create-missing", "--award-points"])
        .env_remove("KESHER_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A till's process: the app over its own connections to the file.
fn till(db: &Path) -> App {
    App::new(Arc::new(SqliteStore::open(db).unwrap()), Settings::default())
}

fn sale(app: &App, n: usize) -> Transaction {
    let branch = app.branch_by_external("B1").unwrap().unwrap();
    let customer = app
        .lookup_customer(&kesher_store::Identifier::Member("M2".into()))
        .unwrap()
        .unwrap();
    Transaction {
        id: kesher_app::ids::transaction(),
        external_id: format!("POS-{n}"),
        customer_id: Some(customer.id),
        branch_id: branch.id,
        employee_id: None,
        occurred_at: jiff::Timestamp::now(),
        currency: Currency::parse("ILS").unwrap(),
        lines: vec![Line {
            product_id: None,
            sku: None,
            quantity: 1,
            unit_price: 1_000,
            discount: 0,
        }],
        refund_of: None,
    }
}

/// Wait until the import has committed its first slices (the file's sales appear).
fn wait_for_slices(app: &App, before: u64, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while app.counts().unwrap().transactions <= before {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before its first slice"
        );
        assert!(Instant::now() < deadline, "no slice committed");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn seeded(d: &Dir) {
    seed(d);
    let o = kesher(&d.db(), &["points", "rule", "ILS", "1"]);
    assert!(o.status.success(), "{:?}", text(&o));
}

#[test]
fn a_sale_during_an_import_commits_within_a_second() {
    let d = Dir::new();
    seeded(&d);
    let file = big_file(&d);
    let app = till(&d.db());
    let before = app.counts().unwrap().transactions;
    let mut child = import(&d.db(), &file);
    wait_for_slices(&app, before, &mut child);
    let mut recorded = 0;
    for n in 0..5 {
        let t = sale(&app, n);
        let started = Instant::now();
        let r = app.record_sale(&t, &Actor::new("till", t.occurred_at)).unwrap();
        let took = started.elapsed();
        assert!(r.transaction.created);
        assert!(took < Duration::from_secs(1), "sale {n} waited {took:?}");
        if child.try_wait().unwrap().is_none() {
            recorded += 1;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // The sales landed while the import ran, not after it.
    assert!(recorded >= 3, "only {recorded} sales were recorded during the import");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let counts = app.counts().unwrap();
    assert_eq!(counts.transactions, before + SALES as u64 + 5);
    // The import's points and the tills' are all there: one earn entry per identified sale.
    let totals = app.points_totals().unwrap();
    let entries: u64 = totals.by_kind.iter().map(|k| k.1).sum();
    assert_eq!(entries, SALES as u64 + 5, "{totals:?}");
}

#[test]
fn an_import_killed_part_way_leaves_nothing_once_the_database_is_opened_again() {
    let d = Dir::new();
    seeded(&d);
    let file = big_file(&d);
    let app = till(&d.db());
    let counts_before = app.counts().unwrap();
    let points_before = app.points_totals().unwrap();
    let mut child = import(&d.db(), &file);
    wait_for_slices(&app, counts_before.transactions, &mut child);
    // A till sells to a customer the import created meanwhile: that customer stays.
    let created = loop {
        if let Some(c) = app
            .lookup_customer(&kesher_store::Identifier::Member("N1".into()))
            .unwrap()
        {
            break c;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut t = sale(&app, 0);
    t.customer_id = Some(created.id);
    app.record_sale(&t, &Actor::new("till", t.occurred_at)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = app.counts().unwrap();
    assert!(partial.transactions > counts_before.transactions + 1, "{partial:?}");
    drop(app);

    // The next open removes the killed import's slices, its points and its customers.
    let app = till(&d.db());
    let after = app.counts().unwrap();
    assert_eq!(after.transactions, counts_before.transactions + 1, "{after:?}");
    assert_eq!(after.customers, counts_before.customers + 1, "{after:?}");
    assert!(app.transaction_by_external("POS-0").unwrap().is_some());
    assert!(app.transaction_by_external("T1").unwrap().is_none());
    let points = app.points_totals().unwrap();
    assert_eq!(points.customers, points_before.customers + 1, "{points:?}");
    drop(app);

    // The file imports whole afterwards.
    let o = kesher(
        &d.db(),
        &[
            "import",
            "transactions",
            file.to_str().unwrap(),
            "--create-missing",
            "--award-points",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let app = till(&d.db());
    assert_eq!(
        app.counts().unwrap().transactions,
        counts_before.transactions + 1 + SALES as u64
    );
}
