//! The program's KPIs over HTTP: one key per KPI, read by analysts (aggregates only) and not by
//! clerks, and every bad parameter a 4xx whose JSON error names it.

use crate::support::{check_error_body, spawn_app};
use kesher_auth::Role;
use serde_json::{Value, json};

fn program() -> Value {
    json!({
        "name": "Kesher Club",
        "currency": "ILS",
        "qualification": {"by": "spend", "days": 365},
        "tiers": [{"key": "silver", "name": "Silver", "threshold": "0"}],
        "bonuses": {"first_purchase": 25}
    })
}

fn sale(ext: &str, member: Option<&str>, price: &str) -> Value {
    let mut v = json!({"external_id": ext, "branch": "B1", "occurred_at": jiff::Timestamp::now().to_string(),
        "currency": "ILS", "lines": [{"sku": "P1", "quantity": 1, "unit_price": price}]});
    if let Some(m) = member {
        v["member_no"] = json!(m);
    }
    v
}

#[test]
fn the_kpis_are_aggregates_an_analyst_reads_and_a_clerk_does_not() {
    let app = spawn_app();
    app.seed();
    let (s, v) = app.call(
        "PUT",
        "/api/points/rule",
        Some(json!({"rates": [{"currency": "ILS", "points": 1}]})),
    );
    assert_eq!(s, 200, "{v}");
    let (s, v) = app.call("PUT", "/api/loyalty/program", Some(program()));
    assert_eq!(s, 200, "{v}");
    let (s, c) = app.post(
        "/api/customers",
        json!({"member_no": "M1", "name": "Dana", "phone": "+972501234567", "branch": "B1"}),
    );
    assert_eq!(s, 201, "{c}");
    let id = c["id"].as_str().unwrap().to_string();
    let (s, v) = app.post(
        "/api/loyalty/members",
        json!({"customer_id": id, "branch": "B1", "employee": "E1"}),
    );
    assert_eq!(s, 201, "{v}");
    for (ext, member, price) in [("S1", Some("M1"), "89.90"), ("S2", None, "10.00")] {
        let (s, v) = app.post("/api/transactions", sale(ext, member, price));
        assert_eq!(s, 201, "{v}");
    }

    let analyst = app.token_for(Role::Analyst, None);
    let (s, r) = app.call_as(Some(&analyst), "GET", "/api/loyalty/kpis?by=day&point_value=0.10", None);
    assert_eq!(s, 200, "{r}");
    for key in [
        "window",
        "enrolments",
        "data_quality",
        "identified_sales",
        "points",
        "new_vs_returning",
        "benefits",
        "financial_impact",
    ] {
        assert!(r.get(key).is_some(), "{key} missing: {r}");
    }
    assert_eq!(
        r["enrolments"]["total"],
        json!({"enrolled": 1, "rejoined": 0, "left": 0}),
        "{r}"
    );
    assert_eq!(r["enrolments"]["by_employee"][0]["key"], "E1");
    assert_eq!(r["data_quality"]["total"]["average_quality"], 25.0);
    let total = &r["identified_sales"]["total"][0];
    assert_eq!(
        (
            total["members"]["transactions"].as_u64(),
            total["anonymous"]["transactions"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(total["members"]["revenue"], "89.90");
    // 89 points and 25 for the first purchase, at 0.10 a point.
    assert_eq!(r["points"]["total"]["issued"], 114, "{r}");
    assert_eq!(
        r["points"]["liability"],
        json!({"points": 114, "point_value": "0.10", "currency": "ILS",
        "value": "11.40", "as_of": r["points"]["liability"]["as_of"]})
    );
    assert_eq!(r["benefits"]["rules"][0]["key"], "bonus:first_purchase");
    assert_eq!(r["new_vs_returning"]["total_new"], 1);
    assert!(
        r["financial_impact"]["method"]
            .as_str()
            .unwrap()
            .contains("Difference in differences")
    );
    // No customer is named anywhere.
    assert!(!r.to_string().contains(&id) && !r.to_string().contains("Dana"), "{r}");

    let clerk = app.token_for(Role::Clerk, Some("B1"));
    let (s, v) = app.call_as(Some(&clerk), "GET", "/api/loyalty/kpis", None);
    assert_eq!(s, 403, "{v}");
    check_error_body(&v, "clerk");
    let mm = app.token_for(Role::MarketingManager, None);
    let (s, _) = app.call_as(Some(&mm), "GET", "/api/loyalty/kpis?branch=B1", None);
    assert_eq!(s, 200);
}

#[test]
fn bad_parameters_are_refused_naming_the_field() {
    let app = spawn_app();
    app.seed();
    for (query, field, code) in [
        ("from=2026-02-30", "from", "date.invalid"),
        ("to=yesterday", "to", "date.invalid"),
        (
            "from=2026-05-01&to=2026-04-01",
            "from",
            "loyalty.report.window.reversed",
        ),
        (
            "from=2000-01-01&to=2026-01-01",
            "from",
            "loyalty.report.window.too_long",
        ),
        ("by=year", "by", "value.unknown"),
        ("branch=B9", "branch", "branch.unknown"),
        ("point_value=0.001", "point_value", "money.amount.too_precise"),
        ("point_value=-1", "point_value", "money.negative"),
        ("months=0", "months", "loyalty.report.months.out_of_range"),
        ("months=many", "months", "query.parameter.invalid"),
    ] {
        let (s, v) = app.get(&format!("/api/loyalty/kpis?{query}"));
        assert!((400..500).contains(&s), "{query}: {s} {v}");
        check_error_body(&v, query);
        assert_eq!(v["error"]["field"], field, "{query}: {v}");
        assert_eq!(v["error"]["code"], code, "{query}: {v}");
    }
}
