//! `GET /api/loyalty/design` over HTTP: the report's sections, who may read it, and errors that
//! name the parameter.

use crate::support::{check_error_body, spawn_app};
use kesher_auth::Role;
use serde_json::{Value, json};

fn sale(ext: &str, member: &str, sku: &str, qty: i64, price: &str, days_ago: i64) -> Value {
    let when = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * days_ago);
    json!({"external_id": ext, "member_no": member, "branch": "B1", "occurred_at": when.to_string(),
        "currency": "ILS", "lines": [{"sku": sku, "quantity": qty, "unit_price": price}]})
}

#[test]
fn an_analyst_reads_the_design_and_a_clerk_may_not() {
    let app = spawn_app();
    app.seed();
    let analyst = app.token_for(Role::Analyst, None);
    let a = Some(analyst.as_str());
    // Nothing sold yet: a clear error naming the currency.
    let (s, v) = app.call_as(a, "GET", "/api/loyalty/design?currency=ILS", None);
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("loyalty.design.no_sales")),
        "{v}"
    );
    check_error_body(&v, "no sales");
    for (n, m) in ["M1", "M2", "M3"].iter().enumerate() {
        let (s, c) = app.post(
            "/api/customers",
            json!({"member_no": m, "name": format!("C{n}"), "branch": "B1"}),
        );
        assert_eq!(s, 201, "{c}");
    }
    for (ext, m, sku, qty, price, days) in [
        ("S1", "M1", "P1", 1, "89.90", 60),
        ("S2", "M1", "P2", 2, "6.50", 30),
        ("S3", "M1", "P1", 1, "89.90", 2),
        ("S4", "M2", "P1", 3, "89.90", 20),
        ("S5", "M3", "P2", 1, "6.50", 10),
    ] {
        let (s, t) = app.post("/api/transactions", sale(ext, m, sku, qty, price, days));
        assert_eq!(s, 201, "{t}");
    }
    let (s, d) = app.call_as(a, "GET", "/api/loyalty/design?redemption_rate=0.5&months=3", None);
    assert_eq!(s, 200, "{d}");
    for key in [
        "currency",
        "history",
        "repeat",
        "thresholds",
        "margin",
        "simulation",
        "program",
        "warnings",
    ] {
        assert!(d.get(key).is_some(), "{key} missing: {d}");
    }
    assert_eq!(d["currency"], "ILS");
    assert_eq!(d["history"]["sales"], 5);
    assert_eq!(d["repeat"]["repeat_buyers_year"], 1);
    assert!(d["repeat"]["verdict"].is_string() && d["repeat"]["rule"].is_string());
    for key in ["p50", "p75", "p90", "p95", "p99"] {
        assert!(d["thresholds"]["spend"][key].is_i64(), "{d}");
    }
    assert_eq!(d["margin"]["known_cost_share"], 1.0, "{d}");
    assert_eq!(d["simulation"]["months"], 3);
    assert_eq!(d["simulation"]["redemption_rate"], 0.5);
    assert!(d["simulation"]["total"]["points_issued"].as_i64().unwrap() > 0, "{d}");
    // Aggregates only: no customer's id, member number or name.
    let text = d.to_string();
    for pii in ["M1", "M2", "C0", "C1"] {
        assert!(!text.contains(&format!("\"{pii}\"")), "the design names {pii}");
    }
    // The suggested program is accepted as it is.
    let (s, v) = app.call("PUT", "/api/loyalty/program", Some(d["program"].clone()));
    assert_eq!(s, 200, "{v}");

    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let (s, v) = app.call_as(Some(&clerk), "GET", "/api/loyalty/design", None);
    assert_eq!(s, 403, "{v}");
    check_error_body(&v, "clerk");
}

#[test]
fn a_bad_parameter_is_a_4xx_naming_it() {
    let app = spawn_app();
    app.seed();
    let analyst = app.token_for(Role::Analyst, None);
    for (query, field) in [
        ("redemption_rate=1.5", "redemption_rate"),
        ("redemption_rate=abc", "redemption_rate"),
        ("months=0", "months"),
        ("months=twelve", "months"),
        ("margin_share=0", "margin_share"),
        ("point_value=0.001", "point_value"),
        ("currency=XYZ", "currency"),
    ] {
        let (s, v) = app.call_as(Some(&analyst), "GET", &format!("/api/loyalty/design?{query}"), None);
        assert!((400..500).contains(&s), "{query}: {s} {v}");
        assert_eq!(v["error"]["field"], field, "{query}: {v}");
        check_error_body(&v, query);
    }
}
