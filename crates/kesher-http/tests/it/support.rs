//! `spawn_app()`: the real server on port 0 with a fresh SQLite database per test.

use kesher_app::{App, Settings};
use serde_json::Value;
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
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
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("kesher-http-test-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (store, pg) = store(&dir, n);
    let app = App::new(store, Settings::default());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, kesher_http::router(app))
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        });
    });
    let addr = addr_rx.recv().unwrap();
    TestApp {
        base: format!("http://{addr}"),
        dir,
        pg,
        _shutdown: tx,
    }
}

impl TestApp {
    /// Send a request; returns the status and the JSON body (Null when empty).
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let req = ureq::request(method, &format!("{}{path}", self.base));
        let res = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, json)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.call("GET", path, None)
    }

    pub fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call("POST", path, Some(body))
    }

    pub fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        let res = ureq::post(&format!("{}{path}", self.base))
            .set("Content-Type", content_type)
            .send_bytes(body);
        let resp = match res {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {path}: {e}"),
        };
        let status = resp.status();
        let text = resp.into_string().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
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
