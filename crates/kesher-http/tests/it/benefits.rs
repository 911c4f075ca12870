//! Benefits over HTTP: the catalogue in the program, a grant by marketing, points redeemed for a
//! benefit at the till (idempotent, never overdrawn), honouring once, the wallet's available
//! benefits, surprise draws, who may do what, and errors that name the field.

use crate::support::{check_error_body, spawn_app};
use kesher_auth::Role;
use serde_json::{Value, json};

fn program() -> Value {
    json!({
        "name": "Kesher Club",
        "currency": "ILS",
        "benefits": [
            {"key": "coffee", "name": "Free coffee", "kind": "hard", "value": {"type": "gift_product", "sku": "P2"},
             "cost_points": 100, "valid_days": 30},
            {"key": "credit", "name": "20 off", "kind": "hard", "value": {"type": "fixed_credit", "amount": "20.00"},
             "valid_days": 10},
            {"key": "vip", "name": "Priority service", "kind": "soft", "valid_days": 365}
        ]
    })
}

fn setup() -> (crate::support::TestApp, String) {
    let app = spawn_app();
    app.seed();
    let (s, v) = app.call("PUT", "/api/loyalty/program", Some(program()));
    assert_eq!(s, 200, "{v}");
    let (s, c) = app.post(
        "/api/customers",
        json!({"member_no": "M1", "name": "Dana", "phone": "+972501234567", "branch": "B1"}),
    );
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let (s, v) = app.post(
        &format!("/api/customers/{id}/points/adjust"),
        json!({"points": 150, "reason": "welcome"}),
    );
    assert_eq!(s, 201, "{v}");
    (app, id)
}

#[test]
fn a_bad_catalogue_entry_is_named_by_its_key() {
    let app = spawn_app();
    app.seed();
    let mut bad = program();
    bad["benefits"][2]["value"] = json!({"type": "points", "points": 5});
    let (s, v) = app.call("PUT", "/api/loyalty/program", Some(bad));
    assert_eq!(s, 422, "{v}");
    check_error_body(&v, "soft with a value");
    assert_eq!(v["error"]["params"]["key"], "benefits[2].value", "{v}");
}

#[test]
fn points_are_redeemed_for_a_benefit_once_and_honoured_once_at_the_till() {
    let (app, id) = setup();
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let redeem = |key: &str, benefit: &str| {
        app.call_as(
            Some(&clerk),
            "POST",
            &format!("/api/customers/{id}/benefits/redeem"),
            Some(json!({"benefit": benefit, "idempotency_key": key})),
        )
    };
    let (s, v) = redeem("r1", "coffee");
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["entry"]["points"], -100, "{v}");
    assert_eq!(v["grant"]["state"], "available");
    assert_eq!(v["grant"]["source"], "redeemed");
    assert_eq!(v["grant"]["points_seq"], v["entry"]["seq"]);
    let grant = v["grant"]["id"].as_str().unwrap().to_string();
    // The same key: the first result, 200.
    let (s, again) = redeem("r1", "coffee");
    assert_eq!((s, &again["grant"]["id"]), (200, &v["grant"]["id"]), "{again}");
    // The key for another benefit: 409.
    let (s, e) = redeem("r1", "vip");
    assert_eq!(s, 409, "{e}");
    check_error_body(&e, "key reused");
    // 50 points left: 409 naming points, never overdrawn.
    let (s, e) = redeem("r2", "coffee");
    assert_eq!(
        (s, e["error"]["code"].as_str(), e["error"]["field"].as_str()),
        (409, Some("points.insufficient"), Some("points")),
        "{e}"
    );
    let (_, w) = app.get(&format!("/api/customers/{id}/wallet"));
    assert_eq!(w["balance"], 50, "{w}");
    assert_eq!(w["available_benefits"].as_array().unwrap().len(), 1, "{w}");
    // Bad input: 4xx naming the field.
    let (s, e) = redeem("r3", "tea");
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("benefit")), "{e}");
    check_error_body(&e, "unknown benefit");
    let (s, e) = app.call_as(
        Some(&clerk),
        "POST",
        &format!("/api/customers/{id}/benefits/redeem"),
        Some(json!({"benefit": "coffee"})),
    );
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("idempotency_key")), "{e}");
    // Honour at the till: once; again with the same key returns it; another key is a 409 naming the state.
    let honour = |key: &str| {
        app.call_as(
            Some(&clerk),
            "POST",
            &format!("/api/benefits/{grant}/honour"),
            Some(json!({"idempotency_key": key})),
        )
    };
    let (s, h) = honour("h1");
    assert_eq!(s, 201, "{h}");
    assert_eq!(h["state"], "used");
    assert!(h["honoured_by"].as_str().is_some(), "{h}");
    assert!(h["honoured_branch_id"].as_str().is_some(), "{h}");
    let (s, h2) = honour("h1");
    assert_eq!((s, &h2["used_at"]), (200, &h["used_at"]));
    let (s, e) = honour("h2");
    assert_eq!((s, e["error"]["field"].as_str()), (409, Some("state")), "{e}");
    assert_eq!(e["error"]["params"]["state"], "used", "{e}");
    check_error_body(&e, "used");
    let (s, e) = app.post("/api/benefits/not-an-id/honour", json!({"idempotency_key": "x"}));
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("grant_id")), "{e}");
    let (s, _) = app.post(
        "/api/benefits/01890000-0000-7000-8000-000000000000/honour",
        json!({"idempotency_key": "x"}),
    );
    assert_eq!(s, 404);
    let (s, list) = app.get(&format!("/api/customers/{id}/benefits"));
    assert_eq!(s, 200);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["state"], "used");
}

#[test]
fn marketing_grants_and_draws_surprises_analysts_and_tills_do_not() {
    let (app, id) = setup();
    let mm = app.token_for(Role::MarketingManager, None);
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let analyst = app.token_for(Role::Analyst, None);
    let path = format!("/api/customers/{id}/benefits");
    let (s, g) = app.call_as(
        Some(&mm),
        "POST",
        &path,
        Some(json!({"benefit": "vip", "idempotency_key": "g1"})),
    );
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["source"], "manual");
    let (s, _) = app.call_as(
        Some(&mm),
        "POST",
        &path,
        Some(json!({"benefit": "vip", "idempotency_key": "g1"})),
    );
    assert_eq!(s, 200);
    let (s, _) = app.call_as(Some(&clerk), "POST", &path, Some(json!({"benefit": "vip"})));
    assert_eq!(s, 403);
    let (s, _) = app.call_as(Some(&analyst), "GET", &path, None);
    assert_eq!(s, 403);
    // Marketing does not spend points at a till.
    let (s, _) = app.call_as(
        Some(&mm),
        "POST",
        &format!("{path}/redeem"),
        Some(json!({"benefit": "coffee", "idempotency_key": "r"})),
    );
    assert_eq!(s, 403);
    // A surprise among the active members (the customer joins first).
    let (s, v) = app.post("/api/loyalty/members", json!({"customer_id": id}));
    assert_eq!(s, 201, "{v}");
    let surprise = json!({"benefit": "credit", "random": 10, "budget": "45.00", "seed": 42, "no_repeat_days": 30});
    let (s, d) = app.call_as(Some(&mm), "POST", "/api/loyalty/surprises", Some(surprise.clone()));
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["members"], json!([id]), "{d}");
    assert_eq!(d["seed"], "42");
    assert_eq!(d["parameters"]["random"], 10);
    let draw = d["id"].as_str().unwrap().to_string();
    let (s, again) = app.call_as(Some(&mm), "GET", &format!("/api/loyalty/surprises/{draw}"), None);
    assert_eq!((s, &again["members"]), (200, &d["members"]));
    // Within the no-repeat period, nobody is left to draw.
    let (s, d2) = app.call_as(Some(&mm), "POST", "/api/loyalty/surprises", Some(surprise.clone()));
    assert_eq!(s, 201, "{d2}");
    assert_eq!(d2["members"], json!([]), "{d2}");
    for who in [&clerk, &analyst] {
        let (s, _) = app.call_as(Some(who), "POST", "/api/loyalty/surprises", Some(surprise.clone()));
        assert_eq!(s, 403);
    }
    // Bad input names the field.
    let (s, e) = app.call_as(
        Some(&mm),
        "POST",
        "/api/loyalty/surprises",
        Some(json!({"benefit": "credit", "budget": "45.00", "seed": 1})),
    );
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("segment")), "{e}");
    check_error_body(&e, "no pool");
    let (s, e) = app.call_as(
        Some(&mm),
        "POST",
        "/api/loyalty/surprises",
        Some(json!({"benefit": "vip", "random": 1, "budget": "45.00", "seed": 1})),
    );
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("benefit")), "{e}");
    let (s, e) = app.call_as(
        Some(&mm),
        "POST",
        "/api/loyalty/surprises",
        Some(json!({"benefit": "credit", "random": 1, "budget": "x", "seed": 1})),
    );
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("budget")), "{e}");
    let (s, _) = app.call_as(
        Some(&mm),
        "GET",
        "/api/loyalty/surprises/01890000-0000-7000-8000-000000000000",
        None,
    );
    assert_eq!(s, 404);
}
