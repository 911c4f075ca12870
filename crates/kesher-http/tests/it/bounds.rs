//! Bounds at the door (money, points, currency, time) and aggregates that survive rows written
//! before the bounds existed.

use crate::support::{TestApp, spawn_app};
use serde_json::{Value, json};

fn code(v: &Value) -> (&str, &str) {
    (
        v["error"]["code"].as_str().unwrap_or(""),
        v["error"]["field"].as_str().unwrap_or(""),
    )
}

/// The seeded business, the one-point-a-shekel rule and member M1; returns M1's id.
fn business(app: &TestApp) -> String {
    app.seed();
    let (s, v) = app.call(
        "PUT",
        "/api/points/rule",
        Some(json!({"rates": [{"currency": "ILS", "points": 1}]})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, c) = app.post("/api/customers", json!({"member_no": "M1", "name": "Dana"}));
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

fn sale(ext: &str, currency: &str, at: &str, lines: Value) -> Value {
    json!({"external_id": ext, "member_no": "M1", "branch": "B1", "occurred_at": at, "currency": currency, "lines": lines})
}

#[test]
fn money_beyond_its_bounds_is_refused_at_the_door() {
    let app = spawn_app();
    business(&app);
    let at = "2025-03-01T10:00:00Z";
    // The sale: one item at 92,233,720,368,547,758.07.
    let (s, v) = app.post(
        "/api/transactions",
        sale(
            "T1",
            "ILS",
            at,
            json!([{"sku": "P1", "quantity": 1, "unit_price": "92233720368547758.07"}]),
        ),
    );
    assert_eq!((s, code(&v)), (422, ("line.unit_price.too_large", "unit_price")), "{v}");
    assert_eq!(v["error"]["params"]["max"], 1_000_000_000_000i64, "{v}");
    let (s, v) = app.post(
        "/api/transactions",
        sale(
            "T2",
            "ILS",
            at,
            json!([{"sku": "P1", "quantity": 2_000_000_000i64, "unit_price": "1"}]),
        ),
    );
    assert_eq!((s, code(&v)), (422, ("line.quantity.too_large", "quantity")), "{v}");
    let (s, v) = app.post(
        "/api/transactions",
        sale(
            "T3",
            "ILS",
            at,
            json!([{"sku": "P1", "quantity": 1001, "unit_price": "10000000"}]),
        ),
    );
    assert_eq!((s, code(&v)), (422, ("line.amount.too_large", "quantity")), "{v}");
    let line = json!({"sku": "P1", "quantity": 1, "unit_price": "10000000000"});
    let (s, v) = app.post("/api/transactions", sale("T4", "ILS", at, Value::Array(vec![line; 11])));
    assert_eq!((s, code(&v)), (422, ("transaction.total.too_large", "lines")), "{v}");
    // A product's price is bounded too.
    let (s, v) = app.post(
        "/api/products",
        json!({"sku": "P9", "name": "Gold", "list_price": "92233720368547758.07", "currency": "ILS"}),
    );
    assert_eq!((s, code(&v)), (422, ("money.too_large", "list_price")), "{v}");
    let (_, all) = app.get("/api/transactions");
    assert_eq!(all["total"], 0, "nothing refused was written: {all}");
    // A large but real sale goes through and earns its points.
    let (s, v) = app.post(
        "/api/transactions",
        sale(
            "T5",
            "ILS",
            at,
            json!([{"sku": "P1", "quantity": 3, "unit_price": "1000000"}]),
        ),
    );
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["points"]["points"], 3_000_000, "{v}");
}

#[test]
fn points_beyond_their_bounds_are_refused_and_sales_go_on_earning() {
    let app = spawn_app();
    let id = business(&app);
    // An earning rule of i64::MAX points a unit was accepted and then refused every sale.
    let (s, v) = app.call(
        "PUT",
        "/api/points/rule",
        Some(json!({"rates": [{"currency": "ILS", "points": i64::MAX}]})),
    );
    assert_eq!(
        (s, code(&v)),
        (422, ("points.rule.points.too_large", "rates[0].points")),
        "{v}"
    );
    let (s, v) = app.call(
        "PUT",
        "/api/points/rule",
        Some(json!({"rates": [{"currency": "ILS", "points": 1, "per_minor": i64::MAX}]})),
    );
    assert_eq!(
        (s, code(&v)),
        (422, ("points.rule.per_minor.too_large", "rates[0].per_minor")),
        "{v}"
    );
    let (s, v) = app.post(
        "/api/transactions",
        sale(
            "T1",
            "ILS",
            "2025-03-01T10:00:00Z",
            json!([{"sku": "P1", "quantity": 1, "unit_price": "89.90"}]),
        ),
    );
    assert_eq!(
        (s, &v["points"]["points"]),
        (201, &json!(89)),
        "the rule in force still earns: {v}"
    );
    let (s, v) = app.post(
        &format!("/api/customers/{id}/points/adjust"),
        json!({"points": i64::MAX, "reason": "typo"}),
    );
    assert_eq!((s, code(&v)), (422, ("points.too_large", "points")), "{v}");
    let (s, v) = app.get(&format!("/api/customers/{id}/points"));
    assert_eq!((s, &v["balance"]), (200, &json!(89)), "{v}");
}

#[test]
fn currencies_are_active_iso_4217_codes_and_match_the_product() {
    let app = spawn_app();
    business(&app);
    let at = "2025-03-01T10:00:00Z";
    let line = json!([{"sku": "P1", "quantity": 1, "unit_price": "89.90"}]);
    let (s, v) = app.post("/api/transactions", sale("T1", "ils", at, line.clone()));
    assert_eq!((s, code(&v)), (422, ("currency.lower_case", "currency")), "{v}");
    assert_eq!(v["error"]["params"]["suggestion"], "ILS", "{v}");
    let (s, v) = app.post("/api/transactions", sale("T2", "XYZ", at, line.clone()));
    assert_eq!((s, code(&v)), (422, ("currency.unknown", "currency")), "{v}");
    // A USD sale of an ILS-priced product.
    let (s, v) = app.post("/api/transactions", sale("T3", "USD", at, line.clone()));
    assert_eq!((s, code(&v)), (422, ("line.currency.mismatch", "lines[0].sku")), "{v}");
    assert_eq!(
        (
            &v["error"]["params"]["currency"],
            &v["error"]["params"]["product_currency"]
        ),
        (&json!("USD"), &json!("ILS")),
        "{v}"
    );
    // An amount-only line names no product: any active currency.
    let (s, v) = app.post(
        "/api/transactions",
        sale("T4", "USD", at, json!([{"quantity": 1, "unit_price": "5"}])),
    );
    assert_eq!(s, 201, "{v}");
    let (s, v) = app.post(
        "/api/products",
        json!({"sku": "P9", "name": "Tea", "list_price": "5", "currency": "xyz"}),
    );
    assert_eq!((s, code(&v)), (422, ("currency.unknown", "currency")), "{v}");
    // The import refuses the same, naming the line and the column.
    let csv = "transaction_id,customer_id,branch_id,occurred_at,currency,sku,quantity,unit_price\n\
               I1,M1,B1,2025-03-01T10:00:00Z,ILS,P1,1,89.90\n\
               I2,M1,B1,2025-03-01T11:00:00Z,USD,P1,1,89.90\n";
    let (s, v) = app.post_raw("/api/import/transactions", "text/csv", csv.as_bytes());
    assert_eq!((s, code(&v)), (422, ("line.currency.mismatch", "sku")), "{v}");
    assert_eq!(
        (&v["error"]["params"]["line"], &v["error"]["params"]["column"]),
        (&json!(3), &json!("sku")),
        "{v}"
    );
    let csv = "transaction_id,customer_id,branch_id,occurred_at,currency,sku,quantity,unit_price\n\
               I3,M1,B1,2025-03-01T10:00:00Z,ils,P1,1,89.90\n";
    let (s, v) = app.post_raw("/api/import/transactions", "text/csv", csv.as_bytes());
    assert_eq!((s, code(&v)), (422, ("currency.lower_case", "currency")), "{v}");
}

#[test]
fn times_outside_the_window_are_refused_with_one_code() {
    let app = spawn_app();
    let id = business(&app);
    let line = json!([{"sku": "P1", "quantity": 1, "unit_price": "89.90"}]);
    let ahead = app
        .app
        .now()
        .checked_add(jiff::SignedDuration::from_hours(49))
        .unwrap()
        .to_string();
    for (n, at) in ["0000-01-01", "9999-12-31", "1899-12-31T23:59:59Z", ahead.as_str()]
        .into_iter()
        .enumerate()
    {
        let (s, v) = app.post("/api/transactions", sale(&format!("T{n}"), "ILS", at, line.clone()));
        assert_eq!((s, code(&v)), (422, ("time.out_of_window", "occurred_at")), "{at}: {v}");
        assert_eq!(v["error"]["params"]["earliest"], "1900-01-01T00:00:00Z", "{v}");
        let (s, v) = app.post(
            "/api/interactions",
            json!({"customer_id": id, "channel": "store", "kind": "visit", "occurred_at": at}),
        );
        assert_eq!((s, code(&v)), (422, ("time.out_of_window", "occurred_at")), "{at}: {v}");
    }
    // Within a day of the clock is fine (a till in another time zone).
    let soon = app
        .app
        .now()
        .checked_add(jiff::SignedDuration::from_hours(20))
        .unwrap()
        .to_string();
    let (s, v) = app.post("/api/transactions", sale("T9", "ILS", &soon, line.clone()));
    assert_eq!(s, 201, "{v}");
    let csv = "transaction_id,customer_id,branch_id,occurred_at,currency,sku,quantity,unit_price\n\
               I1,M1,B1,2025-03-01T10:00:00Z,ILS,P1,1,89.90\nI2,M1,B1,9999-12-31,ILS,P1,1,89.90\n";
    let (s, v) = app.post_raw("/api/import/transactions", "text/csv", csv.as_bytes());
    assert_eq!((s, code(&v)), (422, ("time.out_of_window", "occurred_at")), "{v}");
    assert_eq!(v["error"]["params"]["line"], 3, "{v}");
    let (s, v) = app.post_raw(
        "/api/import/customers",
        "text/csv",
        b"customer_id,name,created_at\nM7,Eve,0000-01-01\n",
    );
    assert_eq!((s, code(&v)), (422, ("time.out_of_window", "created_at")), "{v}");
}

#[test]
fn a_legacy_sale_beyond_i64_leaves_its_customer_out_of_analyze_and_names_them() {
    let app = spawn_app();
    let dana = business(&app);
    let (s, eve) = app.post("/api/customers", json!({"member_no": "M2", "name": "Eve"}));
    assert_eq!(s, 201, "{eve}");
    for (ext, member, at) in [
        ("T1", "M1", "2025-01-06T10:00:00Z"),
        ("T2", "M1", "2025-02-10T10:00:00Z"),
        ("T3", "M2", "2025-01-08T10:00:00Z"),
        ("T4", "M2", "2025-03-12T10:00:00Z"),
    ] {
        let mut body = sale(
            ext,
            "ILS",
            at,
            json!([{"sku": "P1", "quantity": 1, "unit_price": "89.90"}]),
        );
        body["member_no"] = json!(member);
        let (s, v) = app.post("/api/transactions", body);
        assert_eq!(s, 201, "{v}");
    }
    // What an older version accepted: one sale at i64::MAX, written below the door.
    app.execute_sql("UPDATE transactions SET total = 9223372036854775807 WHERE external_id = 'T1'");
    let (s, r) = app.post(
        "/api/analytics/run",
        json!({"as_of": "2025-06-30T23:59:59Z", "model": "bgnbd"}),
    );
    assert_eq!(s, 200, "one customer's figures must not stop the run: {r}");
    assert_eq!(r["buyers"], 1, "{r}");
    let left_out = r["left_out"].as_array().unwrap();
    assert_eq!(left_out.len(), 1, "{r}");
    assert_eq!(
        (&left_out[0]["customer_id"], &left_out[0]["figure"]),
        (&json!(dana), &json!("revenue")),
        "{r}"
    );
    assert!(left_out[0]["reason"].as_str().unwrap().contains("64 bits"), "{r}");
    assert_ne!(eve["id"], json!(dana));
}
