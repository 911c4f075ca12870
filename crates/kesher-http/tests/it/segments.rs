//! Segments over HTTP: saving and checking expressions, members per role, personalised
//! messages, and basket rules scoped to a segment.

use crate::support::{TestApp, spawn_app};
use kesher_auth::Role;
use serde_json::{Value, json};

/// Two branches; Dana (B1) and Eli (B2) buy coffee, Eli never cake; 20 B1 members buy coffee
/// with cake, 20 buy tea.
fn business(app: &TestApp) {
    let csv = |kind: &str, body: &str| {
        let (s, v) = app.post_raw(&format!("/api/import/{kind}"), "text/csv", body.as_bytes());
        assert_eq!(s, 200, "{kind}: {v}");
    };
    csv(
        "branches",
        "branch_id,name,region,time_zone\nB1,North,North,Asia/Jerusalem\nB2,South,South,Asia/Jerusalem\n",
    );
    csv(
        "products",
        "sku,name,category,list_price,unit_cost,currency\nCOF1,Espresso beans,coffee,40.00,20.00,ILS\nCAKE,Cheesecake,pastry,30.00,10.00,ILS\nTEA1,Green tea,tea,25.00,12.00,ILS\n",
    );
    let mut customers = String::from(
        "customer_id,name,phone,branch_id,consent_sms\nM1,Dana Cohen,050-1234567,B1,granted\nM2,Eli Levi,,B2,granted\n",
    );
    for k in 0..40 {
        customers.push_str(&format!("F{k},Filler {k},,B1,\n"));
    }
    csv("customers", &customers);
    let mut tx = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    tx.push_str(
        "D1,M1,B1,,2026-10-01T10:00:00Z,COF1,1,40.00,0,ILS\nD1,M1,B1,,2026-10-01T10:00:00Z,CAKE,1,30.00,0,ILS\n",
    );
    tx.push_str("E1,M2,B2,,2026-10-02T10:00:00Z,COF1,1,40.00,0,ILS\n");
    for k in 0..20 {
        tx.push_str(&format!("C{k},F{k},B1,,2026-10-03T10:00:00Z,COF1,1,40.00,0,ILS\n"));
        tx.push_str(&format!("C{k},F{k},B1,,2026-10-03T10:00:00Z,CAKE,1,30.00,0,ILS\n"));
    }
    for k in 20..40 {
        tx.push_str(&format!("T{k},F{k},B1,,2026-10-04T10:00:00Z,TEA1,1,25.00,0,ILS\n"));
    }
    csv("transactions", &tx);
}

fn names(members: &Value) -> Vec<String> {
    let mut out: Vec<String> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap_or("?").to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn segments_are_saved_checked_and_listed_with_members_per_role() {
    let app = spawn_app();
    business(&app);
    // Checking: canonical form and fields; errors name the field and the column.
    let (s, v) = app.post(
        "/api/segments/check",
        json!({ "expression": "consent.sms AND categories HAS 'coffee'" }),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["canonical"], "(consent.sms and categories has \"coffee\")");
    assert_eq!(v["fields"], json!(["consent.sms", "categories"]));
    let (s, v) = app.post("/api/segments/check", json!({ "expression": "clv >> 3" }));
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["field"], "expression");
    assert_eq!(
        v["error"]["message"],
        "segment expression: column 6: expected a value (number, \"text\", date or true/false), found `>`"
    );
    assert_eq!(v["error"]["code"], "segment.syntax.expected_value", "{v}");
    assert_eq!(v["error"]["params"], json!({"column": 6, "found": "`>`"}), "{v}");
    let (s, v) = app.post("/api/segments", json!({ "name": "bad name", "expression": "true" }));
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("name")), "{v}");
    let (s, v) = app.post(
        "/api/segments",
        json!({ "name": "x", "expression": "true", "colour": "red" }),
    );
    assert!((400..500).contains(&s), "unknown keys are refused: {s} {v}");

    // Saving and reading back.
    let (s, v) = app.post(
        "/api/segments",
        json!({ "name": "coffee-sms", "expression": "consent.sms and categories has \"coffee\"", "description": "SMS coffee lovers" }),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["updated_by"], "token:test-admin");
    let (_, list) = app.get("/api/segments");
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (s, v) = app.get("/api/segments/coffee-sms");
    assert_eq!((s, v["description"].as_str()), (200, Some("SMS coffee lovers")));
    let (_, fields) = app.get("/api/segments/fields");
    assert!(
        fields
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "nbo.category" && f["source"] == "offer")
    );

    // Members: the admin sees everyone, a B2 branch manager only B2's, an analyst no names.
    let (s, v) = app.get("/api/segments/coffee-sms/members");
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["considered"].as_u64(), v["count"].as_u64()), (Some(42), Some(2)));
    assert_eq!(names(&v["members"]), ["Dana Cohen", "Eli Levi"]);
    let manager = app.token_for(Role::BranchManager, Some("B2"));
    let (s, v) = app.call_as(Some(&manager), "GET", "/api/segments/coffee-sms/members", None);
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["considered"].as_u64(), v["count"].as_u64()), (Some(1), Some(1)));
    assert_eq!(names(&v["members"]), ["Eli Levi"]);
    let analyst = app.token_for(Role::Analyst, None);
    let (s, v) = app.call_as(Some(&analyst), "GET", "/api/segments/coffee-sms/members", None);
    assert_eq!((s, v["count"].as_u64()), (200, Some(2)), "{v}");
    assert!(
        v["members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["name"].is_null() && m["phone"].is_null())
    );
    let (s, _) = app.call_as(
        Some(&analyst),
        "POST",
        "/api/segments",
        Some(json!({ "name": "mine", "expression": "true" })),
    );
    assert_eq!(s, 403, "analysts do not save segments");
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let (s, _) = app.call_as(Some(&clerk), "GET", "/api/segments/coffee-sms/members", None);
    assert_eq!(s, 403);

    // An expression in place, paged; the next best offer as a field.
    let (s, v) = app.get("/api/segments/members?segment=nbo%20%3D%20%22CAKE%22&limit=1");
    assert_eq!(s, 200, "{v}");
    assert_eq!(names(&v["members"]), ["Eli Levi"]);
    let (s, v) = app.get("/api/segments/members?segment=categories%20has%20%22tea%22&limit=5&offset=5");
    assert_eq!(
        (s, v["count"].as_u64(), v["members"].as_array().map(Vec::len)),
        (200, Some(20), Some(5))
    );
    let (s, v) = app.get("/api/segments/members?segment=nope%20%3D%201");
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("segment")), "{v}");
    let (s, _) = app.get("/api/segments/missing/members");
    assert_eq!(s, 404);

    // Deleting, audited.
    let (s, _) = app.call("DELETE", "/api/segments/coffee-sms", None);
    assert_eq!(s, 204);
    let (s, _) = app.call("DELETE", "/api/segments/coffee-sms", None);
    assert_eq!(s, 404);
    let (_, audit) = app.get("/api/audit?limit=200");
    let actions: Vec<&str> = audit
        .as_array()
        .or_else(|| audit["items"].as_array())
        .unwrap()
        .iter()
        .filter(|e| e["entity_id"] == "segment.coffee-sms")
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions.len(), 2, "{audit}");
}

#[test]
fn messages_are_personalised_and_rules_scoped_to_a_segment() {
    let app = spawn_app();
    business(&app);
    let (s, v) = app.post(
        "/api/segments",
        json!({ "name": "coffee", "expression": "categories has \"coffee\"" }),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = app.post(
        "/api/segments/coffee/messages",
        json!({ "template": "Hi {{ customer.first_name }}{% if nbo %}, try our {{ nbo.name }}{% endif %}.", "limit": 100 }),
    );
    assert_eq!(s, 200, "{v}");
    let texts: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 22);
    assert!(texts.contains(&"Hi Eli, try our Cheesecake."), "{texts:?}");
    assert!(texts.contains(&"Hi Dana."), "{texts:?}");
    let (s, v) = app.post("/api/segments/coffee/messages", json!({ "template": "{{ nmae }}" }));
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("template")), "{v}");
    let (s, v) = app.post("/api/segments/coffee/messages", json!({ "template": "x", "limit": 0 }));
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("limit")), "{v}");

    // Rules over all sales see tea; over the coffee segment's sales they do not.
    let (s, all) = app.get("/api/baskets/rules?min_support=0.1&min_confidence=0.1");
    assert_eq!(s, 200, "{all}");
    let (s, coffee) = app.get("/api/baskets/rules?min_support=0.1&min_confidence=0.1&segment=coffee");
    assert_eq!(s, 200, "{coffee}");
    assert_eq!(
        (all["baskets"].as_u64(), coffee["baskets"].as_u64()),
        (Some(42), Some(22))
    );
    let (s, v) = app.get("/api/baskets/cross-sell?min_support=0.1&segment=clv%20%3E");
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("segment")), "{v}");
}

#[test]
fn a_segment_syntax_error_names_its_column_in_the_params() {
    let app = spawn_app();
    business(&app);
    let (s, v) = app.post("/api/segments/check", json!({ "expression": "clv > 1 x" }));
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("expression")), "{v}");
    assert_eq!(v["error"]["code"], "segment.syntax.unexpected_token", "{v}");
    assert_eq!(v["error"]["params"]["column"], 9, "{v}");
    assert_eq!(v["error"]["params"]["found"], "`x`", "{v}");
    let (s, v) = app.post("/api/segments/check", json!({ "expression": "colour = \"red\"" }));
    assert_eq!(s, 422, "{v}");
    assert_eq!(
        (v["error"]["code"].as_str(), &v["error"]["params"]),
        (Some("segment.field.unknown"), &json!({"column": 1, "name": "colour"})),
        "{v}"
    );
}

#[test]
fn a_saved_segments_history_is_read_in_pages_per_role_and_outlives_the_segment() {
    let app = spawn_app();
    business(&app);
    let (s, v) = app.post(
        "/api/segments",
        json!({ "name": "coffee-sms", "expression": "consent.sms and categories has \"coffee\"" }),
    );
    assert_eq!(s, 200, "{v}");
    // Saved, not refreshed yet: no history.
    let (s, v) = app.get("/api/segments/coffee-sms/history");
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["saved"].as_bool(), v["members"].as_u64()),
        (Some(true), Some(0)),
        "{v}"
    );
    assert_eq!(v["events"], json!([]));
    let actor = kesher_store::Actor::new("test", app.app.now());
    let run = app.app.refresh_segment_history(&actor).unwrap();
    let (s, v) = app.get("/api/segments/coffee-sms/history");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["members"], 2, "{v}");
    assert_eq!(v["limit"], 50, "{v}");
    assert!(v.get("next_before").is_none(), "{v}");
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{v}");
    assert!(
        events
            .iter()
            .all(|e| e["kind"] == "entered" && e["run_id"] == run.run_id.to_string())
    );
    assert!(
        events[0]["seq"].as_i64() > events[1]["seq"].as_i64(),
        "newest first: {v}"
    );
    // Pages.
    let (_, first) = app.get("/api/segments/coffee-sms/history?limit=1");
    assert_eq!(first["events"].as_array().map(Vec::len), Some(1), "{first}");
    let before = first["next_before"].as_i64().unwrap();
    let (_, second) = app.get(&format!("/api/segments/coffee-sms/history?limit=1&before={before}"));
    assert_eq!(second["events"][0], events[1], "{second}");
    assert!(second.get("next_before").is_none(), "{second}");
    // A branch manager sees their branch's customers only; a clerk does not read segments.
    let manager = app.token_for(Role::BranchManager, Some("B2"));
    let (s, v) = app.call_as(Some(&manager), "GET", "/api/segments/coffee-sms/history", None);
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["members"].as_u64(), v["events"].as_array().map(Vec::len)),
        (Some(1), Some(1)),
        "{v}"
    );
    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let (s, _) = app.call_as(Some(&clerk), "GET", "/api/segments/coffee-sms/history", None);
    assert_eq!(s, 403);
    // Bounds and an unknown segment.
    let (s, v) = app.get("/api/segments/coffee-sms/history?limit=501");
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("limit")), "{v}");
    let (s, v) = app.get("/api/segments/missing/history");
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("segment.not_found")),
        "{v}"
    );
    // Deleted: its members leave, and the history stays readable.
    let (s, _) = app.call("DELETE", "/api/segments/coffee-sms", None);
    assert_eq!(s, 204);
    let (s, v) = app.get("/api/segments/coffee-sms/history");
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["saved"].as_bool(), v["members"].as_u64()),
        (Some(false), Some(0)),
        "{v}"
    );
    let kinds: Vec<&str> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["left", "left", "entered", "entered"], "{v}");
}
