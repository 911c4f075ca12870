//! Drives the real `kesher` binary: import, error exits, rejects files, duplicates and merge, demo.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod beside;
mod campaigns;
mod jobs;
mod pg;
mod predict;
mod smtp;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Dir(PathBuf);
impl Dir {
    fn new() -> Dir {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "kesher-cli-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
    fn file(&self, name: &str, body: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, body).unwrap();
        p
    }
    fn db(&self) -> PathBuf {
        self.0.join("k.db")
    }
}
impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kesher(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kesher"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("KESHER_DATABASE_URL")
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn seed(d: &Dir) {
    let db = d.db();
    for (kind, body) in [
        (
            "branches",
            "branch_id,name,region,time_zone\nB1,Tel Aviv,Center,Asia/Jerusalem\n",
        ),
        ("employees", "employee_id,name,branch_id\nE1,Noa,B1\n"),
        (
            "products",
            "sku,name,category,list_price,unit_cost,currency\nP1,Beans,Coffee,89.90,41.00,ILS\n",
        ),
        (
            "customers",
            "customer_id,name,phone,birth_date\nM1,Dana Cohen,050-1234567,1985-04-12\nM2,dana cohen,050-7654321,1985-04-12\nM3,Moshe Levi,,\n",
        ),
    ] {
        let f = d.file(&format!("{kind}.csv"), body);
        let o = kesher(&db, &["import", kind, f.to_str().unwrap()]);
        assert!(o.status.success(), "{kind}: {:?}", text(&o));
    }
}

const TX: &str =
    "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n";

#[test]
fn import_summary_and_idempotent_reimport() {
    let d = Dir::new();
    seed(&d);
    let f = d.file("tx.csv", &format!("{TX}T1,M1,B1,E1,2025-03-01,P1,1,89.90,0,ILS\nT1,M1,B1,E1,2025-03-01,,1,5.00,0,ILS\nT2,,B1,,2025-03-02,P1,2,89.90,0,ILS\n"));
    let o = kesher(&d.db(), &["import", "transactions", f.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.ends_with("tx.csv: rows read: 3, inserted: 3, already present: 0, rejected: 0\n"),
        "{out}"
    );
    let o = kesher(&d.db(), &["import", "transactions", f.to_str().unwrap()]);
    assert!(
        text(&o)
            .0
            .ends_with("rows read: 3, inserted: 0, already present: 3, rejected: 0\n"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn an_import_refuses_values_beyond_the_bounds_with_line_and_column() {
    let d = Dir::new();
    seed(&d);
    let f = d.file(
        "tx.csv",
        &format!(
            "{TX}T1,M1,B1,E1,2025-03-01,P1,1,89.90,0,ILS\n\
             T2,M1,B1,E1,2025-03-01,P1,1,92233720368547758.07,0,ILS\n\
             T3,M1,B1,E1,2025-03-01,P1,1,89.90,0,USD\n\
             T4,M1,B1,E1,2025-03-01,P1,1,89.90,0,ils\n\
             T5,M1,B1,E1,9999-12-31,P1,1,89.90,0,ILS\n\
             T6,M1,B1,E1,0000-01-01,P1,1,89.90,0,ILS\n\
             T7,M1,B1,E1,2025-03-01,,1,5,0,XYZ\n"
        ),
    );
    let o = kesher(
        &d.db(),
        &["import", "transactions", "--skip-invalid", f.to_str().unwrap()],
    );
    let (out, err) = text(&o);
    assert!(
        out.contains("inserted: 1, already present: 0, rejected: 6"),
        "{out}{err}"
    );
    let rejects = std::fs::read_to_string(d.0.join("tx.csv.rejects.csv")).unwrap();
    for (line, column, why) in [
        (3, "unit_price", "more than the largest unit price accepted"),
        (4, "sku", "is priced in ILS, the sale is in USD"),
        (5, "currency", "must be upper case"),
        (6, "occurred_at", "outside the accepted window"),
        (7, "occurred_at", "outside the accepted window"),
        (8, "currency", "not an active ISO 4217 code"),
    ] {
        let row = rejects
            .lines()
            .find(|l| l.starts_with(&format!("{line},")))
            .unwrap_or_else(|| panic!("line {line} not rejected: {rejects}"));
        assert!(row.contains(column) && row.contains(why), "line {line}: {row}");
    }
}

#[test]
fn a_bad_row_fails_the_file_with_its_line_and_column() {
    let d = Dir::new();
    seed(&d);
    let f = d.file(
        "tx.csv",
        &format!("{TX}T1,M1,B1,E1,2025-03-01,P1,1,89.90,0,ILS\nT2,M1,B1,E1,2025-03-01,P1,-2,89.90,0,ILS\n"),
    );
    let o = kesher(&d.db(), &["import", "transactions", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o).1;
    assert!(
        err.contains(&format!(
            "{}:3: column quantity: negative quantity -2 is only allowed on a refund (refund_of)",
            f.display()
        )),
        "{err}"
    );
    let o = kesher(
        &d.db(),
        &["import", "transactions", d.file("empty.csv", "").to_str().unwrap()],
    );
    assert!(
        text(&o)
            .1
            .contains("empty.csv: the file is empty (expected a header row)"),
        "{:?}",
        text(&o)
    );
    assert!(!o.status.success());
    // Nothing of the failed file landed.
    let ok = d.file("ok.csv", &format!("{TX}T1,M1,B1,E1,2025-03-01,P1,1,89.90,0,ILS\n"));
    let o = kesher(&d.db(), &["import", "transactions", ok.to_str().unwrap()]);
    assert!(text(&o).0.contains("inserted: 1"), "{:?}", text(&o));
}

#[test]
fn skip_invalid_writes_a_rejects_file() {
    let d = Dir::new();
    seed(&d);
    let f = d.file(
        "tx.csv",
        &format!("{TX}T1,M1,B1,E1,2025-03-01,P1,1,89.90,0,ILS\nT2,M9,B1,E1,2025-03-01,P1,1,89.90,0,ILS\n"),
    );
    let o = kesher(
        &d.db(),
        &["import", "transactions", f.to_str().unwrap(), "--skip-invalid"],
    );
    assert_eq!(o.status.code(), Some(3), "{:?}", text(&o));
    assert!(text(&o).0.contains("inserted: 1, already present: 0, rejected: 1"));
    let rejects = std::fs::read_to_string(d.0.join("tx.csv.rejects.csv")).unwrap();
    assert_eq!(
        rejects,
        "line,column,reason,record\n3,customer_id,\"unknown customer \"\"M9\"\" (import customers first, or use --create-missing)\",\"T2,M9,B1,E1,2025-03-01,P1,1,89.90,0,ILS\"\n"
    );
    let o = kesher(
        &d.db(),
        &["import", "transactions", f.to_str().unwrap(), "--create-missing"],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        text(&o)
            .0
            .contains("inserted: 1, already present: 1, rejected: 0, created: 1 customers"),
        "{:?}",
        text(&o)
    );
}

#[test]
fn duplicates_and_merge() {
    let d = Dir::new();
    seed(&d);
    let o = kesher(&d.db(), &["customers", "duplicates", "--json"]);
    let out = text(&o).0;
    assert!(o.status.success());
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["reasons"][0], "same name and birth date");
    assert_eq!(first["score"], 0.9);
    let o = kesher(&d.db(), &["customers", "merge", "M1", "M2"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        text(&o)
            .0
            .contains("identifiers kept as aliases: member:M2, phone:+972507654321"),
        "{:?}",
        text(&o)
    );
    let o = kesher(&d.db(), &["customers", "show", "050-7654321"]);
    let shown: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(shown["member_no"], "M1", "the merged-away phone finds the kept record");
    let o = kesher(&d.db(), &["customers", "duplicates"]);
    assert!(text(&o).1.contains("0 likely duplicate pairs"), "{:?}", text(&o));
    let o = kesher(&d.db(), &["customers", "merge", "M1", "nobody"]);
    assert!(!o.status.success());
}

#[test]
fn demo_generates_a_business() {
    let d = Dir::new();
    let o = kesher(&d.db(), &["demo", "--customers", "400", "--no-serve", "--seed", "3"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        out.contains("3 branches, 20 employees, 200 products, 400 customers"),
        "{out}"
    );
    // The history ends at the demo's now, not at the end of its day.
    let o = kesher(
        &d.db(),
        &[
            "demo",
            "--customers",
            "300",
            "--no-serve",
            "--now",
            "2025-06-30T07:30:00Z",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    use kesher_store::Store as _;
    let store = kesher_store_sqlite::SqliteStore::open(d.db()).unwrap();
    let now: jiff::Timestamp = "2025-06-30T07:31:00Z".parse().unwrap();
    let sales = store.list_transactions(None, 1, 0).unwrap();
    let contacts = store.list_interactions(None, 1, 0).unwrap();
    let latest = [sales.items[0].occurred_at, contacts.items[0].occurred_at];
    assert!(latest.iter().all(|t| *t <= now), "{latest:?} after {now}");
    drop(store);
    // A re-run replaces its own database.
    let o = kesher(&d.db(), &["demo", "--customers", "300", "--no-serve"]);
    assert!(text(&o).0.contains("300 customers"), "{:?}", text(&o));
    // But never a business's own data.
    let other = Dir::new();
    seed(&other);
    let o = kesher(&other.db(), &["demo", "--customers", "300", "--no-serve"]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("holds data that a demo did not make"),
        "{:?}",
        text(&o)
    );
}

/// The demo's campaigns ran over its history: the win-back pilot's lift is real and significant
/// against its control group; the holiday greeting, which changed nothing, shows none.
#[test]
fn demo_campaigns_report_a_real_lift_and_a_null_one() {
    let d = Dir::new();
    // A fixed now: the null campaign's 95 % interval holds 0 for 95 % of histories, this one's
    // included; the win-back's lift holds for any.
    let o = kesher(
        &d.db(),
        &[
            "demo",
            "--customers",
            "3000",
            "--no-serve",
            "--seed",
            "11",
            "--now",
            "2026-06-30T07:30:00Z",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let o = kesher(&d.db(), &["campaigns", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    let id_of = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with(name)))
            .and_then(|c| c["id"].as_str())
            .unwrap_or_else(|| panic!("no {name} campaign in {list}"))
            .to_string()
    };
    let report = |id: &str| -> serde_json::Value {
        let o = kesher(&d.db(), &["campaigns", "report", id, "--json"]);
        assert!(o.status.success(), "{:?}", text(&o));
        serde_json::from_str(&text(&o).0).unwrap()
    };
    let winback = report(&id_of("Win-back"));
    assert!(winback["control"].as_u64().unwrap() >= 50, "{winback}");
    assert_eq!(winback["queued"], 0, "every message delivered: {winback}");
    let ci = &winback["response"]["ci"];
    assert!(
        ci[0].as_f64().unwrap() > 0.05,
        "the lift's interval is well above 0: {winback}"
    );
    assert!(winback["response"]["p_value"].as_f64().unwrap() < 1e-3, "{winback}");
    assert!(winback["revenue"]["lift"].as_f64().unwrap() > 0.0, "{winback}");
    assert!(
        winback["complete"].as_bool().unwrap(),
        "the window has ended: {winback}"
    );
    let holiday = report(&id_of("Holiday"));
    assert!(holiday["sent"].as_u64().unwrap() > 0, "{holiday}");
    let ci = &holiday["response"]["ci"];
    assert!(
        ci[0].as_f64().unwrap() < 0.0 && ci[1].as_f64().unwrap() > 0.0,
        "no effect: the interval holds 0: {holiday}"
    );
}

#[test]
fn baskets_mine_a_file_and_the_database() {
    let d = Dir::new();
    let f = d.file("b.dat", "1 2 3\n1 2\n1 2 4\n3 4\n");
    let o = kesher(
        &d.db(),
        &[
            "baskets",
            "mine",
            "--input",
            f.to_str().unwrap(),
            "--min-support",
            "0.5",
            "--min-confidence",
            "0.9",
            "--json",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(v["itemsets"][0], serde_json::json!({"items": ["1"], "support": 0.75}));
    assert_eq!(v["rules"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["rules"][0]["conviction"], "inf");
    let o = kesher(
        &d.db(),
        &["baskets", "mine", "--input", "/nonexistent", "--min-support", "0.5"],
    );
    assert!(!o.status.success());
    // The demo business has planted bundles that the rules find.
    let o = kesher(&d.db(), &["demo", "--customers", "1500", "--no-serve"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = kesher(&d.db(), &["analyze", "--json"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let a: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(a["customers"], 1500);
    // Every fit tried is reported: the purchase model used, then gamma-gamma.
    let attempts = a["attempts"].as_array().unwrap();
    let last_purchase = &attempts[attempts.len() - 2];
    assert_eq!(
        (last_purchase["model"].as_str(), last_purchase["outcome"].as_str()),
        (a["model"].as_str(), Some("converged")),
        "{a}"
    );
    assert!(last_purchase["iterations"].as_u64() > Some(0), "{a}");
    assert_eq!(attempts.last().unwrap()["model"], "gamma-gamma");
    assert_eq!(
        a["stages"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        1500
    );
    // Stricter ladder rules put more customers on the lower rungs.
    let o = kesher(
        &d.db(),
        &[
            "analyze",
            "--json",
            "--at-risk-gaps",
            "1",
            "--defected-gaps",
            "1.5",
            "--p-alive-defected",
            "0.3",
        ],
    );
    let strict: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert!(
        strict["stages"]["defected"].as_u64() > a["stages"]["defected"].as_u64(),
        "{strict} vs {a}"
    );
    let o = kesher(&d.db(), &["analyze", "--at-risk-gaps", "3", "--defected-gaps", "2"]);
    assert!(!o.status.success(), "at-risk must come before defected");
    assert!(text(&o).1.contains("ladder rules"), "{:?}", text(&o));
    let o = kesher(
        &d.db(),
        &[
            "analyze",
            "--model",
            "pareto-nbd",
            "--period",
            "day",
            "--as-of",
            "2020-01-01",
        ],
    );
    assert!(!o.status.success(), "nothing was sold before 2020");
    assert!(text(&o).1.contains("nothing to analyse"), "{:?}", text(&o));
    let o = kesher(
        &d.db(),
        &[
            "baskets",
            "rules",
            "--min-support",
            "0.01",
            "--min-confidence",
            "0.5",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    let strong = v["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["lift"].as_f64().unwrap() > 3.0)
        .count();
    assert!(strong >= 5, "{strong} strong rules: {v}");
    // The cross-sell report for every branch of the demo, grouped by offered category.
    let o = kesher(
        &d.db(),
        &[
            "baskets",
            "cross-sell",
            "--by-branch",
            "--min-support",
            "0.01",
            "--min-confidence",
            "0.3",
            "--top",
            "3",
            "--json",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let groups: Vec<serde_json::Value> = serde_json::from_str(&text(&o).0).unwrap();
    let branches: std::collections::BTreeSet<&str> = groups.iter().map(|g| g["branch"].as_str().unwrap()).collect();
    assert!(branches.len() >= 2, "{branches:?}");
    for g in &groups {
        let rules = g["rules"].as_array().unwrap();
        assert!(!rules.is_empty() && rules.len() <= 3);
        let sum: i64 = rules
            .iter()
            .map(|r| r["expected_incremental_minor"].as_i64().unwrap())
            .sum();
        assert_eq!(g["expected_incremental_minor"].as_i64().unwrap(), sum);
    }
}

#[test]
fn models_fit_reproduces_the_published_bgnbd() {
    let d = Dir::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kesher-analytics/tests/fixtures");
    let summary = fixtures.join("cdnow_customers_summary.csv");
    let o = kesher(
        &d.db(),
        &[
            "models",
            "fit",
            "--model",
            "bgnbd",
            "--summary",
            summary.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    let p = |k: &str| v["params"][k].as_f64().unwrap();
    // Fader, Hardie & Lee (2005): r=0.243, alpha=4.414, a=0.793, b=2.426, LL -9582.4.
    assert_eq!(
        format!("{:.3} {:.3} {:.3} {:.3}", p("r"), p("alpha"), p("a"), p("b")),
        "0.243 4.414 0.793 2.426"
    );
    assert_eq!(format!("{:.1}", v["log_likelihood"].as_f64().unwrap()), "-9582.4");
    let bad = d.file("bad.csv", "frequency,recency,T,monetary_value\n1,2,3,10\n2,3,4,ten\n");
    let o = kesher(
        &d.db(),
        &[
            "models",
            "fit",
            "--model",
            "gamma-gamma",
            "--summary",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("line 3"), "{:?}", text(&o));
}

/// A repeat customer whose mean repeat spend is 0 (free items, refunds netting to zero) is
/// valid: purchase models ignore the column, Gamma-Gamma leaves the customer out and says so.
#[test]
fn models_fit_accepts_a_zero_mean_repeat_spend() {
    let d = Dir::new();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../kesher-analytics/tests/fixtures");
    let cdnow = std::fs::read_to_string(fixtures.join("cdnow_customers_summary_with_transactions.csv")).unwrap();
    // The CDNOW summary with two repeat customers' spend set to 0 and -4.5.
    let mut body = String::new();
    let mut changed = 0;
    for (i, line) in cdnow.lines().enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        if i > 0 && changed < 2 && cells[1] != "0" {
            let m = if changed == 0 { "0" } else { "-4.5" };
            body.push_str(&format!("{},{},{},{},{m}\n", cells[0], cells[1], cells[2], cells[3]));
            changed += 1;
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    let file = d.file("zero.csv", &body);
    let fit = |model: &str| {
        let o = kesher(
            &d.db(),
            &[
                "models",
                "fit",
                "--model",
                model,
                "--summary",
                file.to_str().unwrap(),
                "--json",
            ],
        );
        assert!(o.status.success(), "{model}: {:?}", text(&o));
        serde_json::from_str::<serde_json::Value>(&text(&o).0).unwrap()
    };
    let v = fit("bgnbd");
    assert_eq!(format!("{:.1}", v["log_likelihood"].as_f64().unwrap()), "-9582.4");
    assert_eq!(v["excluded"], 0);
    let v = fit("gamma-gamma");
    assert_eq!(v["excluded"], 2);
    // CDNOW has 946 repeat customers.
    assert_eq!(v["customers"], 944);
}

#[test]
fn migrate_creates_and_upgrades_the_schema() {
    let d = Dir::new();
    let o = kesher(&d.db(), &["migrate"]);
    assert!(o.status.success(), "{:?}", text(&o));
    // The latest step is the highest numbered file of the SQLite migrations.
    let latest = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kesher-store-sqlite/migrations"
    ))
    .unwrap()
    .filter_map(|e| e.unwrap().file_name().to_string_lossy().get(..4)?.parse::<u32>().ok())
    .max()
    .unwrap();
    let want = format!("schema at version {latest}\n");
    assert!(text(&o).0.ends_with(&want), "{:?}", text(&o));
    // Idempotent.
    let o = kesher(&d.db(), &["migrate"]);
    assert!(text(&o).0.ends_with(&want), "{:?}", text(&o));
}

fn kesher_stdin(db: &Path, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kesher"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("KESHER_DATABASE_URL")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let d = Dir::new();
    seed(&d);
    let db = d.db();
    let o = kesher_stdin(
        &db,
        &[
            "users",
            "add",
            "noa",
            "--role",
            "clerk",
            "--branch",
            "B1",
            "--password-stdin",
        ],
        "a long password\n",
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let o = kesher(&db, &["users", "add", "dan", "--role", "analyst"]);
    let out = text(&o).0;
    assert!(out.contains("password (shown once): "), "{out}");
    let o = kesher(&db, &["users", "add", "x", "--role", "clerk"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("works at one branch"), "{:?}", text(&o));
    let o = kesher(&db, &["users", "add", "y", "--role", "root"]);
    assert!(text(&o).1.contains("unknown role \"root\""), "{:?}", text(&o));
    let o = kesher(&db, &["users", "disable", "noa"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let o = kesher(&db, &["users", "list", "--json"]);
    let users: Vec<serde_json::Value> = text(&o).0.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(users.len(), 2);
    let noa = users.iter().find(|u| u["username"] == "noa").unwrap();
    assert_eq!(
        (noa["role"].as_str(), noa["branch"].as_str(), noa["disabled"].as_bool()),
        (Some("clerk"), Some("B1"), Some(true))
    );

    let o = kesher(
        &db,
        &[
            "tokens",
            "create",
            "--name",
            "till-1",
            "--role",
            "pos_device",
            "--branch",
            "B1",
            "--scope",
            "customers.lookup",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let secret = text(&o).0.trim().to_string();
    assert!(secret.starts_with("ksr_") && secret.len() == 68, "{secret}");
    let o = kesher(&db, &["tokens", "list"]);
    let listed = text(&o).0;
    assert!(
        listed.contains("till-1") && listed.contains("live") && !listed.contains(&secret),
        "{listed}"
    );
    let o = kesher(&db, &["tokens", "revoke", "till-1"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(text(&kesher(&db, &["tokens", "list"])).0.contains("revoked"));
}

#[test]
fn export_and_erase_a_customer() {
    let d = Dir::new();
    seed(&d);
    let db = d.db();
    let f = d.file(
        "tx.csv",
        &format!(
            "{TX}T1,M1,B1,E1,2025-03-01T10:00:00Z,P1,1,89.90,0,ILS\nT2,,B1,E1,2025-03-01T11:00:00Z,P1,1,89.90,0,ILS\n"
        ),
    );
    assert!(
        kesher(&db, &["import", "transactions", f.to_str().unwrap()])
            .status
            .success()
    );
    let out = d.0.join("m1.json");
    let o = kesher(&db, &["customers", "export", "M1", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{:?}", text(&o));
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["customer"]["name"], "Dana Cohen");
    assert_eq!(doc["transactions"].as_array().unwrap().len(), 1);
    let o = kesher(&db, &["customers", "erase", "M1"]);
    assert!(!o.status.success(), "erasure needs --yes");
    let o = kesher(&db, &["customers", "erase", "050-1234567", "--yes"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        !kesher(&db, &["customers", "show", "M1"]).status.success(),
        "M1 no longer finds anyone"
    );
    let id = doc["customer"]["id"].as_str().unwrap();
    let o = kesher(&db, &["customers", "export", id]);
    let after: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(after["customer"]["name"], serde_json::Value::Null);
    assert_eq!(after["transactions"].as_array().unwrap().len(), 1, "the sale stays");
    assert!(after["erased_at"].is_string());
    // Retention: set, show, dry run.
    let o = kesher(&db, &["privacy", "retention", "--years", "3"]);
    assert!(text(&o).0.contains("more than 3 years"), "{:?}", text(&o));
    let o = kesher(&db, &["privacy", "apply", "--dry-run", "--years", "1"]);
    assert!(text(&o).0.contains("would be anonymised"), "{:?}", text(&o));
}

#[test]
fn the_first_start_creates_an_admin_and_prints_the_password_once() {
    use std::io::BufRead;
    let d = Dir::new();
    let db = d.db();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kesher"))
        .arg("--db")
        .arg(&db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_remove("KESHER_DATABASE_URL")
        .env_remove("KESHER_ADMIN_PASSWORD")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let second = lines.next().unwrap().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.starts_with("first start: created user \"admin\" with password \""),
        "{first}"
    );
    assert!(second.contains("serving on http://127.0.0.1:"), "{second}");
    let password = first.split('"').nth(3).unwrap();
    assert_eq!(password.len(), 20);
    let o = kesher(&db, &["users", "list"]);
    assert!(text(&o).0.starts_with("admin\tadmin"), "{:?}", text(&o));
}

#[test]
fn segments_from_the_command_line() {
    let d = Dir::new();
    seed(&d);
    let db = d.db();
    let tx = d.file(
        "tx.csv",
        &format!(
            "{TX}S1,M1,B1,E1,2026-10-01T10:00:00Z,P1,1,89.90,0,ILS\nS2,M3,B1,E1,2026-10-02T10:00:00Z,P1,2,89.90,0,ILS\n"
        ),
    );
    assert!(
        kesher(&db, &["import", "transactions", tx.to_str().unwrap()])
            .status
            .success()
    );
    // A wrong expression: non-zero exit, a caret under the column and the reason.
    let o = kesher(&db, &["segments", "check", "visits > 0 and spnd > 100"]);
    let (_, err) = text(&o);
    assert!(!o.status.success());
    assert!(err.contains("\n               ^\n"), "{err}");
    assert!(
        err.contains("error: column 16: unknown field `spnd` (did you mean `spend`?)"),
        "{err}"
    );
    let o = kesher(&db, &["segments", "check", "visits > 0 AND spend > 100"]);
    assert_eq!(text(&o).0, "(visits > 0 and spend > 100)\nfields: visits, spend\n");
    // Save, count, list members, delete.
    let o = kesher(
        &db,
        &[
            "segments",
            "save",
            "big",
            "spend > 100",
            "--description",
            "big spenders",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let o = kesher(&db, &["segments", "count", "big"]);
    assert_eq!(
        text(&o).0,
        "1 of 3 customers (0 undecided: a value the expression needs is missing)\n"
    );
    let o = kesher(&db, &["segments", "members", "visits >= 1", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(v["count"], 2);
    let o = kesher(&db, &["segments", "list"]);
    assert!(text(&o).0.starts_with("big "), "{:?}", text(&o));
    let tpl = d.file("t.txt", "Shalom {{ customer.first_name }}");
    let o = kesher(&db, &["segments", "render", "big", "--template", tpl.to_str().unwrap()]);
    assert!(text(&o).0.contains("Shalom Moshe"), "{:?}", text(&o));
    let o = kesher(
        &db,
        &["baskets", "rules", "--min-support", "0.5", "--segment", "big", "--json"],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    // Refreshed: who entered is recorded, and the history shows it.
    let o = kesher(&db, &["segments", "refresh"]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(
        text(&o)
            .0
            .starts_with("big                      1 members, 1 entered, 0 left\nrefreshed 1 segments at "),
        "{:?}",
        text(&o)
    );
    let o = kesher(&db, &["segments", "history", "big", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(
        (v["saved"].as_bool(), v["members"].as_u64()),
        (Some(true), Some(1)),
        "{v}"
    );
    assert_eq!(v["events"][0]["kind"], "entered", "{v}");
    assert_eq!(v["events"][0]["member_no"], "M3", "{v}");
    assert!(kesher(&db, &["segments", "delete", "big"]).status.success());
    let o = kesher(&db, &["segments", "delete", "big"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("no segment named `big`"), "{:?}", text(&o));
    // A deleted segment's history ends with its members leaving, and stays readable.
    let o = kesher(&db, &["segments", "history", "big", "--limit", "1"]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("  left     ") && lines[0].ends_with("  M3"), "{out}");
    assert_eq!(lines[1], "big (deleted): 0 members now");
    assert!(lines[2].starts_with("older events: --before "), "{out}");
    let o = kesher(&db, &["segments", "history", "nosuch"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("no segment named `nosuch`"), "{:?}", text(&o));
    assert!(
        !kesher(&db, &["segments", "history", "big", "--limit", "0"])
            .status
            .success()
    );
}

#[test]
fn points_from_the_command_line_and_imports_that_award_them() {
    let d = Dir::new();
    seed(&d);
    let db = d.db();
    let ok = |args: &[&str]| {
        let o = kesher(&db, args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{args:?}: {err}");
        out
    };
    assert!(ok(&["points", "rule"]).contains("no earning rule"));
    assert_eq!(ok(&["points", "rule", "ILS", "1"]), "ILS: 1 points per 1.00 ILS\n");
    // History imported without the flag earns nothing; with it, the file's own sales earn.
    let old = d.file("old.csv", &format!("{TX}T1,M1,B1,E1,2025-03-01,P1,1,89.90,0,ILS\n"));
    ok(&["import", "transactions", old.to_str().unwrap()]);
    assert!(ok(&["points", "balance", "M1"]).ends_with(": 0 points\n"));
    let new = d.file("new.csv", &format!("{TX}T2,M1,B1,E1,2025-03-02,P1,2,89.90,0,ILS\n"));
    ok(&["import", "transactions", new.to_str().unwrap(), "--award-points"]);
    assert!(ok(&["points", "balance", "M1"]).ends_with(": 179 points\n"));
    // The sales recorded before are caught up on request.
    assert_eq!(
        ok(&["points", "award"]),
        "1 sales earned, 0 refunds reversed: +89 points\n"
    );
    assert_eq!(
        ok(&["points", "award"]),
        "0 sales earned, 0 refunds reversed: +0 points\n"
    );
    let out = ok(&[
        "points",
        "redeem",
        "M1",
        "--points",
        "100",
        "--idempotency-key",
        "cli-1",
    ]);
    assert!(out.ends_with("redeemed 100; balance 168\n"), "{out}");
    let out = ok(&[
        "points",
        "redeem",
        "M1",
        "--points",
        "100",
        "--idempotency-key",
        "cli-1",
    ]);
    assert!(out.contains("already redeemed"), "{out}");
    let o = kesher(
        &db,
        &[
            "points",
            "redeem",
            "M1",
            "--points",
            "1000",
            "--idempotency-key",
            "cli-2",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("the balance is 168 points"), "{:?}", text(&o));
    let out = ok(&["points", "adjust", "M1", "--points=-68", "--reason", "correction"]);
    assert!(out.ends_with("adjusted -68; balance 100\n"), "{out}");
    let history = ok(&["points", "history", "M1", "--json"]);
    let kinds: Vec<String> = history
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["adjust", "redeem", "earn", "earn"]);
}

#[test]
fn loyalty_benefits_and_surprises_from_the_command_line() {
    let d = Dir::new();
    seed(&d);
    let program = d.file(
        "program.json",
        r#"{"name": "Kesher Club", "currency": "ILS",
            "benefits": [
              {"key": "coffee", "name": "Free coffee", "kind": "hard", "value": {"type": "gift_product", "sku": "P1"},
               "cost_points": 100, "valid_days": 30},
              {"key": "bonus", "name": "50 points", "kind": "hard", "value": {"type": "points", "points": 50},
               "valid_days": 30},
              {"key": "vip", "name": "Priority service", "kind": "soft", "valid_days": 365}
            ]}"#,
    );
    let ok = |args: &[&str]| {
        let o = kesher(&d.db(), args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{args:?}: {out} {err}");
        out
    };
    ok(&["loyalty", "program", "set", program.to_str().unwrap()]);
    ok(&["loyalty", "enrol", "M1", "--branch", "B1"]);
    ok(&["loyalty", "enrol", "M2", "--branch", "B1"]);
    ok(&["points", "adjust", "M1", "--points", "120", "--reason", "welcome"]);
    // A grant by hand, honoured once: the points benefit credits 50 points, once.
    let out = ok(&["loyalty", "benefits", "grant", "M1", "bonus", "--key", "g1"]);
    assert!(out.starts_with("granted: "), "{out}");
    let grant = out.split_whitespace().nth(1).unwrap().to_string();
    let again = ok(&["loyalty", "benefits", "grant", "M1", "bonus", "--key", "g1"]);
    assert!(
        again.starts_with("already granted: ") && again.contains(&grant),
        "{again}"
    );
    let out = ok(&["loyalty", "benefits", "honour", &grant, "--key", "h1"]);
    assert!(out.starts_with("honoured: ") && out.contains(" used "), "{out}");
    let out = ok(&["loyalty", "benefits", "honour", &grant, "--key", "h1"]);
    assert!(out.starts_with("already honoured: "), "{out}");
    assert!(ok(&["points", "balance", "M1"]).contains("170"), "120 + 50");
    // Points for a coffee; a soft benefit without a price is refused with the reason.
    let out = ok(&["loyalty", "benefits", "redeem", "M1", "coffee", "--key", "r1"]);
    assert!(out.starts_with("redeemed: 100 points, balance 70"), "{out}");
    let o = kesher(&d.db(), &["loyalty", "benefits", "redeem", "M1", "vip", "--key", "r2"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("cannot be redeemed for points"), "{:?}", text(&o));
    let o = kesher(
        &d.db(),
        &["loyalty", "benefits", "redeem", "M1", "coffee", "--key", "r3"],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("the balance is 70 points"), "{:?}", text(&o));
    let list = ok(&["loyalty", "benefits", "list", "M1"]);
    assert_eq!(list.lines().count(), 2, "{list}");
    assert!(list.contains("bonus") && list.contains("coffee"), "{list}");
    // A surprise of 50-point thank-yous under 100 points: both members, reproducible and stored.
    let out = ok(&[
        "loyalty",
        "surprise",
        "draw",
        "--benefit",
        "bonus",
        "--random",
        "10",
        "--budget",
        "100",
        "--seed",
        "7",
    ]);
    assert!(out.contains("2 members granted \"bonus\" (seed 7;"), "{out}");
    let draw = out.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_string();
    let shown = ok(&["loyalty", "surprise", "show", &draw]);
    assert_eq!(shown.lines().count(), 3, "{shown}");
    // Within the no-repeat period nobody is drawn again.
    let out = ok(&[
        "loyalty",
        "surprise",
        "draw",
        "--benefit",
        "bonus",
        "--random",
        "10",
        "--budget",
        "100",
        "--seed",
        "8",
    ]);
    assert!(out.contains("0 members granted"), "{out}");
    let o = kesher(
        &d.db(),
        &["loyalty", "surprise", "draw", "--benefit", "bonus", "--budget", "100"],
    );
    assert!(!o.status.success());
    assert!(text(&o).1.contains("--segment or --random"), "{:?}", text(&o));
    assert!(ok(&["loyalty", "benefits", "expire"]).contains("0 grants expired"));
}
