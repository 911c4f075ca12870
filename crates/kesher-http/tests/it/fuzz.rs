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

/// An app with branch B1, employee E1, product P1 and customer M1 in a fresh SQLite file under
/// `what`: its router, an admin token, the customer's id and the folder.
fn seeded(what: &str) -> (axum::Router, String, String, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("kesher-http-{what}-{}", std::process::id()));
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
    let customer = app.search_customers(&Default::default()).unwrap().items[0]
        .id
        .to_string();
    let token = crate::support::make_token(&app, "fuzz", Role::Admin, None);
    let limits = kesher_http::auth::Limits {
        pos: kesher_auth::RateLimiter::new(kesher_auth::Rate {
            burst: 100_000,
            per_second: 1_000.0,
        }),
        ..Default::default()
    };
    (kesher_http::router_with_limits(app, limits), token, customer, dir)
}

#[test]
fn json_bodies_never_break_the_server() {
    let (router, token, customer, dir) = seeded("fuzz");
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

/// Routes that read no JSON body (a body sent to them is ignored).
const NO_BODY: &[&str] = &[
    "POST /api/auth/logout",
    "POST /api/customers/{id}/erase",
    "POST /api/import/{kind}",
    "POST /api/jobs/{id}/cancel",
    "POST /api/campaigns/{id}/launch",
    "POST /api/campaigns/{id}/pause",
    "POST /api/campaigns/deliver",
];

#[test]
fn long_text_is_refused_with_its_field_named_on_every_route() {
    let (router, token, customer, dir) = seeded("long-text");
    let rt = runtime();
    let send = |method: &axum::http::Method, uri: &str, body: Option<String>| -> (u16, Value) {
        let mut req = axum::http::Request::builder()
            .method(method.clone())
            .uri(uri)
            .header("authorization", format!("Bearer {token}"));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let req = req.body(axum::body::Body::from(body.unwrap_or_default())).unwrap();
        let resp = rt.block_on(router.clone().oneshot(req)).unwrap();
        let status = resp.status().as_u16();
        let bytes = rt.block_on(axum::body::to_bytes(resp.into_body(), 1 << 22)).unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    };
    let long = "x".repeat(50_000);
    let mut wrong = Vec::new();
    let fill = |path: &str, with: &str| {
        path.replace("{id}", with)
            .replace("{name}", with)
            .replace("{sku}", with)
            .replace("{kind}", "customers")
    };
    // JSON bodies: the API's routes (the pages take forms; tests/it/web.rs covers them).
    for r in kesher_http::route_table()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/"))
    {
        let id = if r.path.starts_with("/api/users") {
            "admin"
        } else {
            customer.as_str()
        };
        let path = fill(r.path, id).replace("{name}", "vip").replace("{sku}", "P1");
        // A long path parameter, a long query parameter: refused with a reason, never a 5xx.
        if r.path.contains('{') && !r.path.contains("{kind}") {
            let (s, v) = send(&r.method, &fill(r.path, &long[..3_000]), None);
            assert!(
                (400..500).contains(&s) && v["error"]["code"].is_string(),
                "{} {} long path: {s} {v}",
                r.method,
                r.path
            );
        }
        // (Only on reads: a query on a write would run the write.)
        for q in ["q", "name", "expression", "limit"]
            .into_iter()
            .filter(|_| r.method == "GET")
        {
            let (s, v) = send(&r.method, &format!("{path}?{q}={long}"), None);
            assert!(s < 500, "{} {path}?{q}=…: {s} {v}", r.method);
            if r.method == "GET" && r.path == "/api/customers" && q == "q" {
                assert_eq!((s, v["error"]["field"].as_str()), (422, Some("q")), "{v}");
            }
        }
        if r.method == "GET" || r.method == "DELETE" || NO_BODY.contains(&format!("{} {}", r.method, r.path).as_str()) {
            continue;
        }
        for f in KEYS {
            let (s, v) = send(&r.method, &path, Some(json!({*f: long}).to_string()));
            if (s, v["error"]["field"].as_str()) != (422, Some(*f)) {
                wrong.push(format!("{} {} with a long {f}: {s} {v}", r.method, r.path));
            }
        }
        let (s, v) = send(
            &r.method,
            &path,
            Some(json!({"attributes": {"notes": &long[..2_000]}}).to_string()),
        );
        if (s, v["error"]["field"].as_str()) != (422, Some("attributes.notes")) {
            wrong.push(format!("{} {} with long attributes: {s} {v}", r.method, r.path));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // A search of the longest allowed length is answered.
    let (s, v) = send(
        &axum::http::Method::GET,
        &format!("/api/customers?q={}", "%25".repeat(200)),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let _ = std::fs::remove_dir_all(dir);
}
