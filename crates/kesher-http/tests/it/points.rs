//! Loyalty points over HTTP: earning with sales, redemption and adjustment, their errors and
//! grants, and the guarantees under parallel requests.

use crate::support::{TestApp, reply, spawn_app};
use kesher_auth::Role;
use serde_json::{Value, json};

fn field(v: &Value) -> Option<&str> {
    v["error"]["field"].as_str()
}

/// POST with an `Idempotency-Key` header.
fn post_keyed(app: &TestApp, token: &str, path: &str, key: &str, body: Value) -> (u16, Value) {
    let res = ureq::post(&format!("{}{path}", app.base))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Idempotency-Key", key)
        .send_json(body);
    reply(res, path)
}

/// The program (one point per shekel) and one member of B1; returns the member's id.
fn program(app: &TestApp) -> String {
    app.seed();
    let (s, v) = app.call(
        "PUT",
        "/api/points/rule",
        Some(json!({"rates": [{"currency": "ILS", "points": 1}]})),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rates"][0]["per_minor"], 100);
    let (s, c) = app.post(
        "/api/customers",
        json!({"member_no": "M1", "name": "Dana", "branch": "B1"}),
    );
    assert_eq!(s, 201, "{c}");
    c["id"].as_str().unwrap().to_string()
}

fn sale(ext: &str) -> Value {
    json!({"external_id": ext, "member_no": "M1", "branch": "B1", "occurred_at": "2025-03-01T10:15:00+02:00",
        "currency": "ILS", "lines": [{"sku": "P1", "quantity": 2, "unit_price": "89.90", "discount": "10.00"}]})
}

fn balance(app: &TestApp, id: &str) -> i64 {
    let (s, v) = app.get(&format!("/api/customers/{id}/points"));
    assert_eq!(s, 200, "{v}");
    // The balance is the sum of the ledger.
    let sum: i64 = v["ledger"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .sum();
    assert_eq!(v["balance"].as_i64().unwrap(), sum, "{v}");
    sum
}

#[test]
fn sales_earn_and_points_are_redeemed_and_adjusted() {
    let app = spawn_app();
    let id = program(&app);
    // 2 × 89.90 − 10.00 = 169.80: 169 points, in the sale's response.
    let (s, t) = app.post("/api/transactions", sale("POS-1"));
    assert_eq!(s, 201, "{t}");
    assert_eq!(
        (t["points"]["kind"].as_str(), t["points"]["points"].as_i64()),
        (Some("earn"), Some(169))
    );
    let (s, again) = app.post("/api/transactions", sale("POS-1"));
    assert_eq!((s, &again["points"]["seq"]), (200, &t["points"]["seq"]), "{again}");
    assert_eq!(balance(&app, &id), 169);
    let points = |path: &str| format!("/api/customers/{id}/points/{path}");

    // Redemptions: a key is required, the balance must cover them, a retry returns the first.
    let (s, v) = app.post(&points("redeem"), json!({"points": 10}));
    assert_eq!((s, field(&v)), (422, Some("idempotency_key")), "{v}");
    let (s, v) = app.post(&points("redeem"), json!({"points": 170, "idempotency_key": "k1"}));
    assert_eq!(
        (s, field(&v), v["error"]["code"].as_str()),
        (409, Some("points"), Some("points.insufficient")),
        "{v}"
    );
    let (s, v) = app.post(&points("redeem"), json!({"points": -3, "idempotency_key": "k1"}));
    assert_eq!((s, field(&v)), (422, Some("points")), "{v}");
    let (s, r) = post_keyed(&app, &app.token, &points("redeem"), "k1", json!({"points": 100}));
    assert_eq!((s, r["balance_after"].as_i64()), (201, Some(69)), "{r}");
    let (s, r2) = post_keyed(&app, &app.token, &points("redeem"), "k1", json!({"points": 100}));
    assert_eq!((s, &r2["seq"]), (200, &r["seq"]), "{r2}");
    let (s, v) = post_keyed(&app, &app.token, &points("redeem"), "k1", json!({"points": 99}));
    assert_eq!((s, field(&v)), (409, Some("idempotency_key")), "{v}");
    let (s, v) = post_keyed(
        &app,
        &app.token,
        &points("redeem"),
        "k2",
        json!({"points": 1, "idempotency_key": "k3"}),
    );
    assert_eq!((s, field(&v)), (422, Some("idempotency_key")), "{v}");

    // Adjustments: marketing may, with a reason; a clerk may not.
    let marketing = app.token_for(Role::MarketingManager, None);
    let (s, v) = app.call_as(Some(&marketing), "POST", &points("adjust"), Some(json!({"points": 50})));
    assert_eq!((s, field(&v)), (422, Some("reason")), "{v}");
    let (s, v) = app.call_as(
        Some(&marketing),
        "POST",
        &points("adjust"),
        Some(json!({"points": 31, "reason": "birthday"})),
    );
    assert_eq!((s, v["balance_after"].as_i64()), (201, Some(100)), "{v}");
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let (s, _) = app.call_as(
        Some(&clerk),
        "POST",
        &points("adjust"),
        Some(json!({"points": 31, "reason": "x"})),
    );
    assert_eq!(s, 403);
    // A clerk redeems at their own branch only.
    let (s, v) = post_keyed(
        &app,
        &clerk,
        &points("redeem"),
        "c1",
        json!({"points": 1, "branch": "B1"}),
    );
    assert_eq!((s, v["branch_id"].is_string()), (201, true), "{v}");
    let (s, v) = app.post_raw(
        "/api/import/branches",
        "text/csv",
        b"branch_id,name,region,time_zone\nB2,Haifa,North,Asia/Jerusalem\n",
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = post_keyed(
        &app,
        &clerk,
        &points("redeem"),
        "c2",
        json!({"points": 1, "branch": "B2"}),
    );
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (403, Some("auth.out_of_branch")),
        "{v}"
    );

    // A refund takes its share back: a refund of one 89.90 line of the 169.80 sale: 89 points.
    let (s, v) = app.post(
        "/api/transactions",
        json!({"external_id": "POS-1-R", "branch": "B1", "occurred_at": "2025-03-02T10:00:00Z", "currency": "ILS",
               "refund_of": "POS-1", "lines": [{"sku": "P1", "quantity": -1, "unit_price": "89.90"}]}),
    );
    assert_eq!((s, v["points"]["points"].as_i64()), (201, Some(-89)), "{v}");
    assert_eq!(balance(&app, &id), 10);

    // The overview shows the balance; analysts see totals only.
    let (_, o) = app.get(&format!("/api/customers/{id}/overview"));
    assert_eq!(o["points_balance"], 10, "{o}");
    let analyst = app.token_for(Role::Analyst, None);
    let (s, _) = app.call_as(Some(&analyst), "GET", &format!("/api/customers/{id}/points"), None);
    assert_eq!(s, 403);
    let (_, o) = app.call_as(Some(&analyst), "GET", &format!("/api/customers/{id}/overview"), None);
    assert!(o["points_balance"].is_null(), "{o}");
    let (s, totals) = app.call_as(Some(&analyst), "GET", "/api/points/totals", None);
    assert_eq!((s, totals["outstanding"].as_i64()), (200, Some(10)), "{totals}");
    // Every redemption and adjustment is in the audit log.
    let (_, audit) = app.get("/api/audit?limit=100");
    let actions: Vec<&str> = audit
        .as_array()
        .or_else(|| audit["items"].as_array())
        .unwrap()
        .iter()
        .filter_map(|a| a["action"].as_str())
        .filter(|a| a.starts_with("points."))
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "points.redeem").count(),
        2,
        "{actions:?}"
    );
    assert!(actions.contains(&"points.adjust") && actions.contains(&"points.rule"));
    let (s, v) = app.call(
        "PUT",
        "/api/points/rule",
        Some(json!({"rates": [{"currency": "ILS", "points": 1, "per_minor": 0}]})),
    );
    assert_eq!((s, field(&v)), (422, Some("rates[0].per_minor")), "{v}");
}

#[test]
fn parallel_redemptions_and_duplicate_sales_keep_their_guarantees() {
    let app = spawn_app();
    let id = program(&app);
    let (s, v) = app.post(
        &format!("/api/customers/{id}/points/adjust"),
        json!({"points": 100, "reason": "opening balance"}),
    );
    assert_eq!(s, 201, "{v}");
    // 4 × 10 redemptions of 7 at one till against 100 points: exactly 14 land.
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let path = format!("/api/customers/{id}/points/redeem");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (app, clerk, path) = (&app, &clerk, &path);
                scope.spawn(move || {
                    (0..10)
                        .map(|i| post_keyed(app, clerk, path, &format!("r-{t}-{i}"), json!({"points": 7})).0)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 14, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 26, "{statuses:?}");
    assert_eq!(balance(&app, &id), 2);
    // The same sale posted 8 times at once by a till: recorded once, earned once.
    let till = app.token_for(Role::PosDevice, Some("B1"));
    let replies: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (app, till) = (&app, &till);
                scope.spawn(move || app.call_as(Some(till), "POST", "/api/transactions", Some(sale("POS-PAR"))))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(replies.iter().filter(|r| r.0 == 201).count(), 1, "{replies:?}");
    assert_eq!(replies.iter().filter(|r| r.0 == 200).count(), 7, "{replies:?}");
    assert!(replies.iter().all(|r| r.1["points"]["points"] == 169), "{replies:?}");
    assert_eq!(balance(&app, &id), 2 + 169);
}

#[test]
fn a_redemption_too_large_for_an_i64_names_the_points_field_not_the_number() {
    let app = spawn_app();
    let id = program(&app);
    let (s, v) = post_keyed(
        &app,
        &app.token,
        &format!("/api/customers/{id}/points/redeem"),
        "big",
        json!({"points": 9223372036854775808u64}),
    );
    assert_eq!((s, field(&v)), (422, Some("points")), "{v}");
    assert_eq!(v["error"]["code"], "json.field.invalid", "{v}");
}

#[test]
fn a_short_balance_answers_points_insufficient_with_the_balance_and_the_amount_asked() {
    let app = spawn_app();
    let id = program(&app);
    let (s, _) = app.post("/api/transactions", sale("POS-1"));
    assert_eq!(s, 201);
    let (s, v) = post_keyed(
        &app,
        &app.token,
        &format!("/api/customers/{id}/points/redeem"),
        "short",
        json!({"points": 400}),
    );
    assert_eq!((s, field(&v)), (409, Some("points")), "{v}");
    assert_eq!(v["error"]["code"], "points.insufficient", "{v}");
    assert_eq!(v["error"]["params"], json!({"balance": 169, "asked": 400}), "{v}");
    assert_eq!(
        v["error"]["message"],
        "points: the balance is 169 points, 400 were asked for"
    );
}
