//! The CLI against a real PostgreSQL server: `kesher copy` from a SQLite file and back, and the
//! analytics on both. (`scripts/test.sh` runs this module in its PostgreSQL section: `pg::`.)
//! Runs when `KESHER_TEST_POSTGRES_URL` names a server (`scripts/test.sh` starts one). Without it
//! the tests say so and pass, except under CI (`CI` set), where a missing server is a failure.

use crate::{Dir, kesher, text};
use postgres::{Client, NoTls};
use std::sync::atomic::{AtomicU64, Ordering};

/// The admin URL, or `None` (with a message) when no server is available outside CI.
fn admin_url() -> Option<String> {
    match std::env::var("KESHER_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => panic!(
            "KESHER_TEST_POSTGRES_URL is not set under CI: the PostgreSQL CLI tests need a server \
             (scripts/test.sh starts one with scripts/postgres.sh)"
        ),
        _ => {
            eprintln!(
                "KESHER_TEST_POSTGRES_URL is not set: skipping the PostgreSQL CLI test (scripts/test.sh runs it)"
            );
            None
        }
    }
}

/// A fresh database on the server, dropped with this value.
struct PgDb {
    admin: String,
    name: String,
    url: String,
}

impl PgDb {
    fn new(admin: &str) -> PgDb {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "kesher_cli_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c = Client::connect(admin, NoTls).unwrap_or_else(|e| panic!("cannot connect to {admin}: {e}"));
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let (base, query) = admin.split_once('?').map_or((admin, None), |(b, q)| (b, Some(q)));
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let base = base[scheme_end..].find('/').map_or(base, |i| &base[..scheme_end + i]);
        let url = match query {
            Some(q) => format!("{base}/{name}?{q}"),
            None => format!("{base}/{name}"),
        };
        PgDb {
            admin: admin.to_string(),
            name,
            url,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = Client::connect(&self.admin, NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// The lines of `copy`'s table, as (table, source rows, target rows, result).
fn table_lines(out: &str) -> Vec<(String, u64, u64, String)> {
    out.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 6).then(|| {
                (
                    f[0].to_string(),
                    f[1].parse().unwrap(),
                    f[2].parse().unwrap(),
                    f[5].to_string(),
                )
            })
        })
        .collect()
}

fn analysis(db: &Path, as_of: &str) -> serde_json::Value {
    let o = kesher(db, &["analyze", "--json", "--as-of", as_of]);
    assert!(o.status.success(), "{:?}", text(&o));
    let mut v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    v.as_object_mut().unwrap().remove("seconds");
    v.as_object_mut().unwrap().remove("timings");
    // The segments' refresh at the end of the run: when it ran and its run's id differ by run.
    let segments = v.as_object_mut().unwrap().remove("segments").unwrap();
    assert!(segments["segments"].is_array(), "{segments}");
    // How long each model's fit took is a timing too.
    for attempt in v["attempts"].as_array_mut().into_iter().flatten() {
        attempt.as_object_mut().unwrap().remove("seconds");
    }
    v
}

use std::path::Path;

#[test]
fn copy_moves_every_table_from_sqlite_to_postgres() {
    let Some(admin) = admin_url() else { return };
    let d = Dir::new();
    let db = d.db();
    let o = kesher(&db, &["demo", "--customers", "300", "--no-serve", "--seed", "7"]);
    assert!(o.status.success(), "{:?}", text(&o));
    // Aliases and merges, scores and the stage history of two months, more audit entries.
    let o = kesher(&db, &["customers", "duplicates", "--json"]);
    let pair: serde_json::Value = serde_json::from_str(text(&o).0.lines().next().expect("a duplicate pair")).unwrap();
    let (a, b) = (pair["a"].as_str().unwrap(), pair["b"].as_str().unwrap());
    let o = kesher(&db, &["customers", "merge", a, b]);
    assert!(o.status.success(), "{:?}", text(&o));
    analysis(&db, "2025-05-31");
    let sqlite_analysis = analysis(&db, "2025-06-30");
    // Accounts, a token, a setting and an erasure (of a customer the merge left alone) travel too.
    let o = kesher(&db, &["customers", "duplicates", "--json"]);
    let other: serde_json::Value =
        serde_json::from_str(text(&o).0.lines().next().expect("another duplicate pair")).unwrap();
    let other = other["b"].as_str().unwrap().to_string();
    assert!(other != a && other != b);
    for args in [
        &["users", "add", "noa", "--role", "analyst"][..],
        &[
            "tokens",
            "create",
            "--name",
            "till-1",
            "--role",
            "pos_device",
            "--branch",
            "B1",
        ],
        &["privacy", "retention", "--years", "5"],
        &["customers", "erase", &other, "--yes"],
    ] {
        let o = kesher(&db, args);
        assert!(o.status.success(), "{args:?}: {:?}", text(&o));
    }

    let pg = PgDb::new(&admin);
    let target = Path::new(&pg.url);
    let o = kesher(
        &db,
        &["copy", "--from", &format!("sqlite:{}", db.display()), "--to", &pg.url],
    );
    let (out, err) = text(&o);
    assert!(o.status.success(), "{out}\n{err}");
    let lines = table_lines(&out);
    assert_eq!(lines.len(), kesher_tables(), "{out}");
    for (table, src, dst, result) in &lines {
        assert_eq!(src, dst, "{table}");
        assert_eq!(result, "ok", "{table}");
    }
    for table in ["users", "api_tokens", "settings", "erasures"] {
        let row = lines.iter().find(|l| l.0 == table).unwrap();
        assert_ne!(row.1, 0, "{table} is empty: the test copies nothing of it");
    }
    let rows = |name: &str| lines.iter().find(|l| l.0 == name).unwrap().1;
    for t in [
        "branches",
        "customers",
        "customer_aliases",
        "consent_history",
        "transactions",
        "transaction_lines",
        "interactions",
        "merges",
        "audit_log",
        "customer_scores",
        "customer_stages",
        "points_rules",
        "points_ledger",
        "points_balances",
        "analysis_runs",
        "stage_months",
    ] {
        assert!(rows(t) > 0, "{t} is empty in the sample: {out}");
    }
    // Points balances are the same, and the ledger's numbering goes on after the copied entries.
    let balance = |db: &Path| text(&kesher(db, &["points", "balance", a])).0;
    assert_eq!(balance(target), balance(&db));
    let o = kesher(
        target,
        &["points", "adjust", a, "--points", "5", "--reason", "after the move"],
    );
    assert!(o.status.success(), "{:?}", text(&o));

    // The copy is the same business: a merged-away identifier still finds the kept customer,
    // and the analytics (computed inside PostgreSQL) come out the same.
    let dropped_member = pair["b_label"].as_str().unwrap().split_whitespace().next().unwrap();
    let o = kesher(target, &["customers", "show", dropped_member]);
    let shown: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert_eq!(shown["id"], a, "{:?}", text(&o));
    assert_eq!(analysis(target, "2025-06-30"), sqlite_analysis);

    // A non-empty target is refused, and nothing is written.
    let o = kesher(&db, &["copy", "--from", &db.display().to_string(), "--to", &pg.url]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("the target is not empty"), "{:?}", text(&o));
    // Appending the same rows again collides on their keys: the copy fails whole.
    let o = kesher(
        &db,
        &["copy", "--from", &db.display().to_string(), "--to", &pg.url, "--append"],
    );
    assert!(!o.status.success(), "{:?}", text(&o));
    let mut c = Client::connect(&pg.url, NoTls).unwrap();
    let n: i64 = c.query_one("SELECT count(*) FROM branches", &[]).unwrap().get(0);
    assert_eq!(n as u64, rows("branches"));

    // And back: PostgreSQL to a new SQLite file.
    let back = d.0.join("back.db");
    let o = kesher(&db, &["copy", "--from", &pg.url, "--to", &back.display().to_string()]);
    assert!(o.status.success(), "{:?}", text(&o));
    assert!(table_lines(&text(&o).0).iter().all(|l| l.3 == "ok"));
    // The stage history gained the June run on PostgreSQL: compare that analysis too.
    assert_eq!(analysis(&back, "2025-06-30"), sqlite_analysis);
}

/// How many tables `copy` moves.
fn kesher_tables() -> usize {
    kesher_store::bulk::TABLES.len()
}

#[test]
fn pg_a_job_of_a_killed_server_is_taken_up_by_another_after_the_lease() {
    let Some(admin) = admin_url() else { return };
    let db = PgDb::new(&admin);
    crate::jobs::killed_server_hands_its_job_over(std::path::Path::new(&db.url));
}

#[test]
fn pg_two_servers_run_each_job_once() {
    let Some(admin) = admin_url() else { return };
    let db = PgDb::new(&admin);
    crate::jobs::two_servers_run_each_job_once(std::path::Path::new(&db.url));
}
