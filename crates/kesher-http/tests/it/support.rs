//! `spawn_app()`: the real server on port 0 with a fresh SQLite database per test.

use kesher_app::{App, Settings};
use serde_json::Value;
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
    /// The app behind the server (same store), to make users and tokens directly.
    pub app: App,
    /// The store behind the app, for what a test reads below the app.
    pub store: std::sync::Arc<dyn kesher_store::Store>,
    /// Sent as `Authorization: Bearer` unless a call says otherwise: an admin's token.
    pub token: String,
    dir: std::path::PathBuf,
    /// (admin URL, database) of the PostgreSQL database made for this test.
    pg: Option<(String, String)>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some((admin, db)) = &self.pg
            && let Ok(mut c) = postgres::Client::connect(admin, postgres::NoTls)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"));
        }
    }
}

/// The backend under test: SQLite, or PostgreSQL when `KESHER_TEST_BACKEND=postgres` (then
/// `KESHER_TEST_POSTGRES_URL` must name a server: the tests fail rather than skip).
fn store(dir: &std::path::Path, n: u64) -> (Arc<dyn kesher_store::Store>, Option<(String, String)>) {
    if std::env::var("KESHER_TEST_BACKEND").as_deref() != Ok("postgres") {
        return (
            Arc::new(kesher_store_sqlite::SqliteStore::open(dir.join("k.db")).unwrap()),
            None,
        );
    }
    let admin = std::env::var("KESHER_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("KESHER_TEST_BACKEND=postgres needs KESHER_TEST_POSTGRES_URL (scripts/postgres.sh start)")
    });
    let db = format!("kesher_http_{}_{n}", std::process::id());
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    let (base, query) = admin
        .split_once('?')
        .map_or((admin.as_str(), None), |(b, q)| (b, Some(q)));
    let root = base.rfind('/').map_or(base, |i| &base[..i]);
    let url = match query {
        Some(q) => format!("{root}/{db}?{q}"),
        None => format!("{root}/{db}"),
    };
    (
        Arc::new(kesher_store_postgres::PgStore::open(&url).unwrap()),
        Some((admin, db)),
    )
}

pub fn spawn_app() -> TestApp {
    spawn_app_with(kesher_http::auth::Limits::default())
}

pub fn spawn_app_with(limits: kesher_http::auth::Limits) -> TestApp {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("kesher-http-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (store, pg) = store(&dir, n);
    let app = App::new(store.clone(), Settings::default());
    let server_app = app.clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Held past the runtime: whichever owner of the store goes last, it does not go inside
        // the runtime (the PostgreSQL client cannot close its connections there).
        let keep = server_app.clone();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            let svc = kesher_http::router_with_limits(server_app, limits)
                .into_make_service_with_connect_info::<std::net::SocketAddr>();
            axum::serve(listener, svc)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
        drop(rt);
        drop(keep);
    });
    let addr = addr_rx.recv().unwrap();
    let token = make_token(&app, "test-admin", kesher_auth::Role::Admin, None);
    TestApp {
        store,
        base: format!("http://{addr}"),
        app,
        token,
        dir,
        pg,
        _shutdown: tx,
    }
}

/// An API token for `role` (at branch external id `branch`), made through the app.
pub fn make_token(app: &App, name: &str, role: kesher_auth::Role, branch: Option<&str>) -> String {
    let actor = kesher_store::Actor::new("test", app.now());
    let (_, secret) = app
        .create_token(
            kesher_app::auth::NewToken {
                name: name.into(),
                role,
                branch: branch.map(str::to_owned),
                scopes: vec![],
                expires_in_days: None,
            },
            &actor,
        )
        .unwrap();
    secret.0
}

/// The status and JSON body of a response (Null when empty).
pub fn reply(res: Result<ureq::Response, ureq::Error>, what: &str) -> (u16, Value) {
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{what}: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if status >= 400 {
        check_error_body(&json, what);
    }
    (status, json)
}

/// Every error body a test sees speaks the catalogue: a catalogued code, and an object of params
/// holding at least the parameters its message names.
pub fn check_error_body(v: &Value, what: &str) {
    let code = v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{what}: no error code in {v}"));
    let entry = kesher_core::codes::lookup(code).unwrap_or_else(|| panic!("{what}: {code} is not catalogued: {v}"));
    let params = v["error"]["params"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: params is not an object: {v}"));
    for p in entry.params {
        assert!(params.contains_key(*p), "{what}: {code} lacks its parameter {p}: {v}");
    }
}

impl TestApp {
    /// Run SQL on the database directly, below the app and its checks: to plant rows that an
    /// older version (or another tool) could have written.
    pub fn execute_sql(&self, sql: &str) {
        match &self.pg {
            None => {
                let c = rusqlite::Connection::open(self.dir.join("k.db")).unwrap();
                c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                c.execute_batch(sql).unwrap();
            }
            Some((admin, db)) => {
                let (base, query) = admin
                    .split_once('?')
                    .map_or((admin.as_str(), None), |(b, q)| (b, Some(q)));
                let root = base.rfind('/').map_or(base, |i| &base[..i]);
                let url = match query {
                    Some(q) => format!("{root}/{db}?{q}"),
                    None => format!("{root}/{db}"),
                };
                let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                c.batch_execute(sql).unwrap();
            }
        }
    }

    /// A token for `role` at branch `branch` (external id).
    pub fn token_for(&self, role: kesher_auth::Role, branch: Option<&str>) -> String {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        make_token(&self.app, &format!("{role}-{n}"), role, branch)
    }

    /// Send a request with `token` (None: no credential at all).
    pub fn call_as(&self, token: Option<&str>, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = ureq::request(method, &format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let res = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        reply(res, &format!("{method} {path}"))
    }

    /// Send a request as the admin; returns the status and the JSON body (Null when empty).
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(Some(&self.token), method, path, body)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body))
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        let res = ureq::post(&format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {}", self.token))
            .set("Content-Type", content_type)
            .send_bytes(body);
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status >= 400 {
            check_error_body(&json, path);
        }
        (status, json)
    }

    /// Branch B1, employee E1, products P1 and P2.
    pub fn seed(&self) {
        let csv = |kind: &str, body: &str| {
            let (s, v) = self.post_raw(&format!("/api/import/{kind}"), "text/csv", body.as_bytes());
            assert_eq!(s, 200, "{v}");
        };
        csv(
            "branches",
            "branch_id,name,region,time_zone\nB1,Tel Aviv,Center,Asia/Jerusalem\n",
        );
        csv("employees", "employee_id,name,branch_id\nE1,Noa,B1\n");
        csv(
            "products",
            "sku,name,category,list_price,unit_cost,currency\nP1,Beans,Coffee,89.90,41.00,ILS\nP2,Milk,Dairy,6.50,3.10,ILS\n",
        );
    }
}
