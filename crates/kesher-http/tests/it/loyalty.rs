//! The loyalty program over HTTP: its definition and the key an error names, enrolment and its
//! grants, the till's answer with the breakdown and the tier, the wallet, the members.

use crate::support::{check_error_body, spawn_app};
use kesher_auth::Role;
use serde_json::{Value, json};

fn program() -> Value {
    json!({
        "name": "Kesher Club",
        "currency": "ILS",
        "joining": {"min_visits": {"count": 1, "days": 3650}},
        "earning": {"categories": {"Coffee": {"points": 2, "per": "1.00"}}},
        "qualification": {"by": "spend", "days": 365},
        "tiers": [
            {"key": "silver", "name": "Silver", "threshold": "0"},
            {"key": "gold", "name": "Gold", "threshold": "300.00", "multiplier": "1.5", "benefits": ["priority service"]}
        ],
        "bonuses": {"first_purchase": 25}
    })
}

/// A sale `hours_ago` hours ago (0: now).
fn sale(ext: &str, member: &str, sku: &str, qty: i64, price: &str, hours_ago: i64) -> Value {
    let when = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(hours_ago);
    json!({"external_id": ext, "member_no": member, "branch": "B1", "occurred_at": when.to_string(),
        "currency": "ILS", "lines": [{"sku": sku, "quantity": qty, "unit_price": price}]})
}

#[test]
fn the_program_is_defined_and_an_error_names_the_key() {
    let app = spawn_app();
    app.seed();
    let (s, v) = app.get("/api/loyalty/program");
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("loyalty.program.missing")),
        "{v}"
    );
    let mut bad = program();
    bad["tiers"][1]["multiplier"] = json!("0.5");
    let (s, v) = app.call("PUT", "/api/loyalty/program", Some(bad));
    assert_eq!(s, 422, "{v}");
    check_error_body(&v, "bad program");
    assert_eq!(v["error"]["code"], "loyalty.program.invalid");
    assert_eq!(v["error"]["params"]["key"], "tiers[1].multiplier", "{v}");
    let mut unknown = program();
    unknown["joining"]["min_spnd"] = json!({});
    let (s, v) = app.call("PUT", "/api/loyalty/program", Some(unknown));
    assert_eq!(s, 422, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("min_spnd"), "{v}");
    let (s, v) = app.call("PUT", "/api/loyalty/program", Some(program()));
    assert_eq!(s, 200, "{v}");
    let (s, v) = app.get("/api/loyalty/program");
    assert_eq!((s, v["tiers"][1]["key"].as_str()), (200, Some("gold")), "{v}");
    // Only marketing (and admins) define it.
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let (s, _) = app.call_as(Some(&clerk), "PUT", "/api/loyalty/program", Some(program()));
    assert_eq!(s, 403);
    let mm = app.token_for(Role::MarketingManager, None);
    let (s, v) = app.call_as(Some(&mm), "PUT", "/api/loyalty/program", Some(program()));
    assert_eq!(s, 200, "{v}");
}

#[test]
fn a_clerk_enrols_at_their_branch_and_the_till_sees_points_and_tier() {
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
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let enrol = json!({"customer_id": id, "employee": "E1"});
    // No visit yet: the failed condition is named.
    let (s, v) = app.call_as(Some(&clerk), "POST", "/api/loyalty/members", Some(enrol.clone()));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("loyalty.join.min_visits")),
        "{v}"
    );
    check_error_body(&v, "min visits");
    // A non-member's sale earns nothing under the program.
    let (s, t) = app.post("/api/transactions", sale("S1", "M1", "P2", 1, "6.50", 24));
    assert_eq!(s, 201, "{t}");
    assert!(t.get("points").is_none() && t.get("membership").is_none(), "{t}");
    // Another branch's clerk may not enrol here; an analyst sees no member.
    app.post_raw(
        "/api/import/branches",
        "text/csv",
        b"branch_id,name,region,time_zone\nB2,Haifa,North,Asia/Jerusalem\n",
    );
    let other = app.token_for(Role::Clerk, Some("B2"));
    let (s, _) = app.call_as(
        Some(&other),
        "POST",
        "/api/loyalty/members",
        Some(json!({"customer_id": id, "branch": "B1"})),
    );
    assert_eq!(s, 403);
    let analyst = app.token_for(Role::Analyst, None);
    let (s, _) = app.call_as(Some(&analyst), "GET", "/api/loyalty/members", None);
    assert_eq!(s, 403);
    let (s, m) = app.call_as(Some(&clerk), "POST", "/api/loyalty/members", Some(enrol.clone()));
    assert_eq!(s, 201, "{m}");
    assert_eq!(
        (m["tier"].as_str(), m["quality"].as_u64()),
        (Some("silver"), Some(25)),
        "{m}"
    );
    assert_eq!(m["quality_missing"], json!(["email", "birth_date", "consent"]));
    let (s, v) = app.call_as(Some(&clerk), "POST", "/api/loyalty/members", Some(enrol));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (409, Some("loyalty.member.already")),
        "{v}"
    );

    // Coffee earns 2 a shekel, the first purchase 25 more: the till gets the breakdown.
    let (s, t) = app.post("/api/transactions", sale("S2", "M1", "P1", 1, "89.90", 0));
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["points"]["points"], 203, "{t}");
    assert_eq!(
        t["points"]["breakdown"],
        json!([{"rule": "category:Coffee", "points": 178}, {"rule": "bonus:first_purchase", "points": 25}])
    );
    assert_eq!(t["membership"]["tier"], "silver");
    // 300.00 over the year: gold at once.
    let (s, t) = app.post("/api/transactions", sale("S3", "M1", "P1", 3, "89.90", 0));
    assert_eq!(s, 201, "{t}");
    assert_eq!(
        t["membership"]["tier_change"],
        json!({"from": "silver", "to": "gold"}),
        "{t}"
    );
    // The wallet at the till.
    let pos = app.token_for(Role::PosDevice, Some("B1"));
    let (s, w) = app.call_as(Some(&pos), "GET", &format!("/api/customers/{id}/wallet"), None);
    assert_eq!(s, 200, "{w}");
    assert_eq!(w["member"]["tier"], "gold");
    assert_eq!(w["progress"]["tier_name"], "Gold");
    assert_eq!(w["benefits"], json!(["priority service"]));
    assert_eq!(w["balance"], 203 + 538, "{w}");
    // The members and one member's history; leaving.
    let (s, list) = app.call_as(Some(&clerk), "GET", "/api/loyalty/members?status=active", None);
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(1)), "{list}");
    let (s, v) = app.post(&format!("/api/loyalty/members/{id}/leave"), json!({}));
    assert_eq!((s, v["status"].as_str()), (200, Some("left")), "{v}");
    let (s, d) = app.get(&format!("/api/loyalty/members/{id}"));
    assert_eq!(s, 200, "{d}");
    let kinds: Vec<&str> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["enrol", "tier_up", "leave"]);
}
