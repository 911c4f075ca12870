//! JSON request bodies in the manner of a fuzzer, bounded for CI: every route that takes a body
//! gets objects built from the API's own field names with valid, borderline and hostile values,
//! and arbitrary JSON. Whatever arrives, the answer is a 2xx or a 4xx with a JSON error that
//! says what is wrong — never a 500, never a panic.

use kesher_app::{App, Settings};
use kesher_auth::Role;
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tower::ServiceExt;

const KEYS: &[&str] = &[
    "external_id",
    "customer_id",
    "member_no",
    "branch",
    "employee",
    "occurred_at",
    "currency",
    "lines",
    "sku",
    "quantity",
    "unit_price",
    "discount",
    "refund_of",
    "name",
    "phone",
    "email",
    "card",
    "language",
    "birth_date",
    "gender",
    "city",
    "region",
    "household_size",
    "income_band",
    "attributes",
    "consents",
    "kind",
    "parent_id",
    "channel",
    "text",
    "satisfaction",
    "status",
    "keep",
    "drop",
    "username",
    "password",
    "role",
    "display_name",
    "disabled",
    "scopes",
    "expires_in_days",
    "years",
    "dry_run",
    "time_zone",
    "list_price",
    "unit_cost",
    "category",
    "period",
    "horizon",
    "discount_rate",
    "margin",
    "as_of",
    "end",
    "external_branch_id",
    "branch_id",
];

const STRINGS: &[&str] = &[
    "",
    "B1",
    "E1",
    "P1",
    "M1",
    "ILS",
    "XXX",
    "2025-03-01T10:00:00Z",
    "2025-02-30",
    "1e400",
    "-1",
    "89.90",
    "050-1234567",
    "a@b.co",
    "granted",
    "consumer",
    "complaint",
    "store",
    "admin",
    "pos_device",
    "import",
    "customers.lookup",
    "correct horse battery",
    "דנה",
    "\u{0}",
    "🙂",
    "0190a0b0-0000-7000-8000-000000000001",
    "9223372036854775808",
    "week",
    "day",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        proptest::sample::select(&[0i64, 1, -1, 5, 65536, i64::MAX][..]).prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        proptest::sample::select(STRINGS).prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(KEYS), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())),
        ]
    })
}

fn body() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => proptest::collection::vec((proptest::sample::select(KEYS), value()), 0..8)
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        1 => value(),
    ]
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn json_bodies_never_break_the_server() {
    let dir = std::env::temp_dir().join(format!("kesher-http-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = kesher_store_sqlite::SqliteStore::open(dir.join("k.db")).unwrap();
    let app = App::new(Arc::new(store), Settings::default());
    for (kind, csv) in [
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
            "customer_id,name,phone,branch_id\nM1,Dana,050-1234567,B1\n",
        ),
    ] {
        app.import_csv(
            kesher_app::import::ImportKind::parse(kind).unwrap(),
            csv.as_bytes(),
            kind,
            Default::default(),
            &mut |_| {},
        )
        .unwrap();
    }
    let customer = app.store.search_customers(&Default::default()).unwrap().items[0]
        .id
        .to_string();
    let token = crate::support::make_token(&app, "fuzz", Role::Admin, None);
    let router = kesher_http::router(app);
    let routes: Vec<_> = kesher_http::route_table()
        .into_iter()
        .filter(|r| r.method != "GET" && r.method != "DELETE")
        .collect();
    assert!(routes.len() >= 15, "{}", routes.len());
    let rt = runtime();
    let seen = std::cell::RefCell::new(std::collections::BTreeMap::<u16, u64>::new());
    for r in &routes {
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 48,
            failure_persistence: None,
            ..Default::default()
        });
        let path = r
            .path
            .replace(
                "{id}",
                if r.path.starts_with("/api/users") {
                    "admin"
                } else {
                    &customer
                },
            )
            .replace("{kind}", "customers");
        let result = runner.run(&body(), |b| {
            let req = axum::http::Request::builder()
                .method(r.method.clone())
                .uri(&path)
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(axum::body::Body::from(b.to_string()))
                .unwrap();
            let resp = rt.block_on(router.clone().oneshot(req)).unwrap();
            let status = resp.status().as_u16();
            *seen.borrow_mut().entry(status).or_default() += 1;
            let bytes = rt.block_on(axum::body::to_bytes(resp.into_body(), 1 << 20)).unwrap();
            prop_assert!(
                status < 500,
                "{} {path} with {b}: {status} {}",
                r.method,
                String::from_utf8_lossy(&bytes)
            );
            if status >= 400 {
                let v: Value = serde_json::from_slice(&bytes).unwrap_or(json!(null));
                prop_assert!(
                    v["error"]["code"].is_string() && v["error"]["message"].is_string(),
                    "{} {path}: {v}",
                    r.method
                );
                crate::support::check_error_body(&v, &format!("{} {path}", r.method));
            }
            Ok(())
        });
        if let Err(e) = result {
            panic!("{} {}: {e}", r.method, r.path);
        }
    }
    let seen = seen.into_inner();
    eprintln!("statuses: {seen:?}");
    // The bodies reached the handlers: some were accepted, most refused with a reason.
    assert!(
        seen.keys().any(|s| *s < 300) && seen.keys().any(|s| *s == 422),
        "{seen:?}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
