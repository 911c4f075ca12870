//! The job runner through the real binary: `kesher jobs`, and a server killed during a job whose
//! job another server takes up after the lease.

use super::{Dir, kesher, text};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn jobs_json(db: &Path) -> Value {
    let o = kesher(db, &["jobs", "list", "--json"]);
    assert!(o.status.success(), "{:?}", text(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// The one job in the database.
fn only_job(db: &Path) -> Value {
    let sleeps = sleep_jobs(db);
    assert_eq!(sleeps.len(), 1, "{sleeps:#?}");
    sleeps[0].clone()
}

/// The `diagnostic.sleep` jobs in the database (the schedules' jobs left out).
fn sleep_jobs(db: &Path) -> Vec<Value> {
    let doc = jobs_json(db);
    let items = doc["jobs"]["items"].as_array().unwrap();
    items
        .iter()
        .filter(|j| j["kind"] == "diagnostic.sleep")
        .cloned()
        .collect()
}

/// Two servers on one database run each of several jobs once.
pub(crate) fn two_servers_run_each_job_once(db: &Path) {
    const JOBS: usize = 6;
    for _ in 0..JOBS {
        let o = kesher(
            db,
            &["jobs", "enqueue", "diagnostic.sleep", "--args", r#"{"seconds": 0.5}"#],
        );
        assert!(o.status.success(), "{:?}", text(&o));
    }
    let servers = [Server(server(db)), Server(server(db))];
    let pids: Vec<u32> = servers.iter().map(|s| s.0.id()).collect();
    let deadline = Instant::now() + Duration::from_secs(40);
    let jobs = loop {
        let jobs = sleep_jobs(db);
        assert_eq!(jobs.len(), JOBS);
        if jobs.iter().all(|j| j["state"] == "done") {
            break jobs;
        }
        assert!(Instant::now() < deadline, "timed out: {jobs:#?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    for j in &jobs {
        assert_eq!(j["attempts"], 1, "a job was claimed twice: {j:#}");
        let owner = j["lease_owner"].as_str().unwrap();
        assert!(pids.iter().any(|p| owner.contains(&format!(":{p}:"))), "{owner}");
    }
}

/// Poll until `ok` holds for the job, failing after `limit`.
fn wait_for(db: &Path, what: &str, limit: Duration, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let job = only_job(db);
        if ok(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {job:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn server(db: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_kesher"))
        .arg("--db")
        .arg(db)
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env_remove("KESHER_DATABASE_URL")
        .env("KESHER_JOB_LEASE", "2s")
        .env("KESHER_ADMIN_PASSWORD", "correct horse battery staple")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Kills the server when the test ends, whatever happens.
pub(crate) struct Server(pub(crate) Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_job_of_a_killed_server_is_taken_up_by_another_after_the_lease() {
    let d = Dir::new();
    killed_server_hands_its_job_over(&d.db());
}

#[test]
fn two_servers_on_one_sqlite_file_run_each_job_once() {
    let d = Dir::new();
    two_servers_run_each_job_once(&d.db());
}

/// A server picks up a `diagnostic.sleep` job, is killed (SIGKILL) while it runs, and a second
/// server takes the job up after the lease and completes it on the second attempt.
pub(crate) fn killed_server_hands_its_job_over(db: &Path) {
    let db = db.to_path_buf();
    let o = kesher(
        &db,
        &["jobs", "enqueue", "diagnostic.sleep", "--args", r#"{"seconds": 3}"#],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let started = Instant::now();
    let mut first = Server(server(&db));
    let first_pid = first.0.id();
    let running = wait_for(&db, "the first server's claim", Duration::from_secs(20), |j| {
        j["state"] == "running"
    });
    let first_owner = running["lease_owner"].as_str().unwrap().to_string();
    assert!(first_owner.contains(&format!(":{first_pid}:")), "{first_owner}");
    assert_eq!(running["attempts"], 1);
    // SIGKILL, mid-job: nothing gets to clean up.
    first.0.kill().unwrap();
    first.0.wait().unwrap();
    assert_eq!(only_job(&db)["state"], "running");
    let second = Server(server(&db));
    let done = wait_for(
        &db,
        "the second server to finish the job",
        Duration::from_secs(30),
        |j| j["state"] == "done",
    );
    assert_eq!(done["attempts"], 2, "{done:#}");
    let second_owner = done["lease_owner"].as_str().unwrap();
    assert!(second_owner.contains(&format!(":{}:", second.0.id())), "{second_owner}");
    assert_ne!(second_owner, first_owner);
    assert_eq!(done["result"]["slept_seconds"], 3.0);
    assert!(started.elapsed() < Duration::from_secs(40), "{:?}", started.elapsed());
}

#[test]
fn jobs_list_shows_the_schedules_and_run_goes_through_the_queue() {
    let d = Dir::new();
    let db = d.db();
    let o = kesher(&db, &["--time-zone", "Asia/Jerusalem", "jobs", "list"]);
    assert!(o.status.success(), "{:?}", text(&o));
    let (out, _) = text(&o);
    assert!(out.contains("analyze") && out.contains("30 2 * * *"), "{out}");
    assert!(out.contains("privacy.retention") && out.contains("30 3 * * *"), "{out}");
    assert!(out.contains("Asia/Jerusalem"), "{out}");
    let o = kesher(
        &db,
        &[
            "jobs",
            "run",
            "diagnostic.sleep",
            "--args",
            r#"{"seconds": 0}"#,
            "--json",
        ],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["outcome"], "completed");
    assert_eq!(doc["job"]["attempts"], 1);
    assert_eq!(only_job(&db)["state"], "done");
    // Unknown kinds and arguments are refused, nothing enqueued.
    let o = kesher(&db, &["jobs", "run", "nope"]);
    assert!(!o.status.success());
    assert!(text(&o).1.contains("unknown job kind"), "{:?}", text(&o));
    let o = kesher(&db, &["jobs", "enqueue", "diagnostic.sleep", "--args", "{}"]);
    assert!(!o.status.success());
    assert_eq!(jobs_json(&db)["jobs"]["total"], 1);
    // Cancel: a scheduled job only.
    let o = kesher(
        &db,
        &["jobs", "enqueue", "privacy.retention", "--at", "2099-01-01T00:00:00Z"],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let doc = jobs_json(&db);
    let id = doc["jobs"]["items"][0]["id"].as_str().unwrap().to_string();
    assert!(kesher(&db, &["jobs", "cancel", &id]).status.success());
    let o = kesher(&db, &["jobs", "cancel", &id]);
    assert!(!o.status.success());
    assert!(
        text(&o).1.contains("only a scheduled job can be cancelled"),
        "{:?}",
        text(&o)
    );
    let doc = jobs_json(&db);
    assert_eq!(doc["jobs"]["items"][0]["state"], "cancelled");
    let o = kesher(&db, &["jobs", "list", "--state", "done", "--json"]);
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["jobs"]["total"], 1);
    assert_eq!(
        doc["schedules"].as_array().unwrap().len(),
        kesher_app::jobs::schedules::SCHEDULES.len()
    );
}
