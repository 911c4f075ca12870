use crate::support::spawn_app;
use serde_json::{Value, json};

fn error_field(v: &serde_json::Value) -> Option<&str> {
    v["error"]["field"].as_str()
}

#[test]
fn health_and_openapi() {
    let app = spawn_app();
    let (s, v) = app.get("/api/health");
    assert_eq!(s, 200);
    assert_eq!(v["status"], "ok");
    let (s, doc) = app.get("/api/openapi.json");
    assert_eq!(s, 200);
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/customers",
        "/api/customers/{id}/overview",
        "/api/customers/lookup",
        "/api/customers/merge",
        "/api/transactions",
        "/api/import/{kind}",
    ] {
        assert!(paths.contains_key(p), "openapi lacks {p}");
    }
    assert!(doc["components"]["schemas"]["CustomerInput"].is_object());
    let (s, v) = app.get("/api/nope");
    assert_eq!((s, v["error"]["code"].as_str()), (404, Some("route.not_found")));
    assert_eq!(v["error"]["params"]["path"], "/api/nope");
}

#[test]
fn customers_crud_and_errors() {
    let app = spawn_app();
    app.seed();
    let (s, c) = app.post(
        "/api/customers",
        json!({"member_no": "M1", "name": "דנה כהן", "phone": "050-1234567", "email": " Dana@Example.com", "language": "he",
               "birth_date": "1985-04-12", "branch": "B1", "consents": {"email": "granted"}, "attributes": {"lifestyle": "runner"}}),
    );
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["phone"], "+972501234567");
    assert_eq!(c["email"], "dana@example.com");
    assert_eq!(c["consents"][0]["channel"], "email");
    let id = c["id"].as_str().unwrap().to_string();

    let (s, v) = app.post(
        "/api/customers",
        json!({"member_no": "M2", "phone": "+972 50 123 4567"}),
    );
    assert_eq!((s, error_field(&v)), (409, Some("phone")), "{v}");
    assert_eq!(v["error"]["message"], "+972501234567 already belongs to customer M1");
    let (s, v) = app.post("/api/customers", json!({"member_no": "M2", "phone": "05O"}));
    assert_eq!((s, error_field(&v)), (422, Some("phone")), "{v}");
    let (s, v) = app.post("/api/customers", json!({"member_no": "M2", "birth_date": "12/04/1985"}));
    assert_eq!((s, error_field(&v)), (422, Some("birth_date")), "{v}");
    let (s, v) = app.post("/api/customers", json!({"member_no": "M2", "colour": "red"}));
    assert_eq!((s, error_field(&v)), (422, Some("colour")), "{v}");
    let (s, v) = app.post("/api/customers", json!({"member_no": "M2", "household_size": "three"}));
    assert_eq!(s, 422, "{v}");
    let (s, v) = app.post_raw("/api/customers", "application/json", b"{\"member_no\": ");
    assert_eq!((s, v["error"]["code"].as_str()), (400, Some("json.syntax")), "{v}");
    let (s, v) = app.post_raw("/api/customers", "text/plain", b"{}");
    assert_eq!(s, 415, "{v}");

    let (s, v) = app.get(&format!("/api/customers/{id}"));
    assert_eq!((s, v["name"].as_str()), (200, Some("דנה כהן")));
    let (s, v) = app.get("/api/customers/not-a-uuid");
    assert_eq!((s, error_field(&v)), (422, Some("id")));
    let (s, _) = app.get("/api/customers/0190c8a0-0000-7000-8000-000000000000");
    assert_eq!(s, 404);

    let (s, v) = app.call(
        "PUT",
        &format!("/api/customers/{id}"),
        Some(
            json!({"member_no": "M1", "name": "Dana Cohen", "phone": null, "email": null, "card": null, "branch": "B1",
                    "consents": {"email": "withdrawn"}}),
        ),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["phone"], serde_json::Value::Null, "replace clears absent fields");
    assert_eq!(v["consents"][0]["state"], "withdrawn");

    let (s, p) = app.get("/api/customers?q=dana&limit=10");
    assert_eq!((s, p["total"].as_u64()), (200, Some(1)));
    let (s, v) = app.get("/api/customers?limit=0");
    assert_eq!((s, error_field(&v)), (400, Some("limit")));
    let (s, v) = app.get("/api/customers?limit=abc");
    assert_eq!(s, 400, "{v}");

    let (s, _) = app.call("DELETE", &format!("/api/customers/{id}"), None);
    assert_eq!(s, 204);
    let (s, _) = app.get(&format!("/api/customers/{id}"));
    assert_eq!(s, 404);
    let (s, audit) = app.get("/api/audit?limit=10");
    assert_eq!(s, 200);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        vec![
            "customer.delete",
            "customer.update",
            "customer.create",
            "import.products",
            "import.employees",
            "import.branches",
            "token.create"
        ]
    );
    // Who, from where: the token's name and the client's address.
    let first = &audit[0];
    assert_eq!(first["actor"], "token:test-admin");
    assert_eq!(first["origin"], "127.0.0.1");
}

#[test]
fn lookup_by_any_identifier() {
    let app = spawn_app();
    let (_, c) = app.post(
        "/api/customers",
        json!({"member_no": "M1", "phone": "0912 345 6789", "email": "a@b.co", "card": "K-9"}),
    );
    // The default country is Israel; an Iranian number needs its country code.
    assert_eq!(c["error"]["field"], "phone");
    let (s, c) = app.post(
        "/api/customers",
        json!({"member_no": "M1", "phone": "+98 912 345 6789", "email": "a@b.co", "card": "K-9"}),
    );
    assert_eq!(s, 201, "{c}");
    for q in [
        "phone=%2B989123456789",
        "phone=0098%20912%20345%206789",
        "email=A@B.CO",
        "member=M1",
        "card=K-9",
    ] {
        let (s, v) = app.get(&format!("/api/customers/lookup?{q}"));
        assert_eq!((s, &v["id"]), (200, &c["id"]), "{q}");
    }
    let (s, v) = app.get("/api/customers/lookup?member=nobody");
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (404, Some("customer.lookup.not_found"))
    );
    assert_eq!(
        v["error"]["params"],
        json!({"kind": "member"}),
        "the identifier is personal: {v}"
    );
    let (s, _) = app.get("/api/customers/lookup");
    assert_eq!(s, 400);
    let (s, v) = app.get("/api/customers/lookup?phone=abc");
    assert_eq!((s, error_field(&v)), (422, Some("phone")));
}

#[test]
fn transactions_are_idempotent_and_validated() {
    let app = spawn_app();
    app.seed();
    let (_, c) = app.post("/api/customers", json!({"member_no": "M1", "name": "Dana"}));
    let sale = json!({"external_id": "POS-1", "member_no": "M1", "branch": "B1", "employee": "E1", "occurred_at": "2025-03-01T10:15:00+02:00",
        "currency": "ILS", "lines": [{"sku": "P1", "quantity": 2, "unit_price": "89.90", "discount": "10.00"}, {"quantity": 1, "unit_price": "5"}]});
    let (s, t) = app.post("/api/transactions", sale.clone());
    assert_eq!(s, 201, "{t}");
    assert_eq!(t["total"]["minor"], 2 * 8990 - 1000 + 500);
    assert_eq!(t["total"]["amount"], "174.80");
    assert_eq!(t["occurred_at"], "2025-03-01T08:15:00Z");
    assert_eq!(t["customer_id"], c["id"]);
    let (s, again) = app.post("/api/transactions", sale.clone());
    assert_eq!((s, &again["id"]), (200, &t["id"]), "a retry returns the first result");
    let (_, list) = app.get(&format!("/api/transactions?customer_id={}", c["id"].as_str().unwrap()));
    assert_eq!(list["total"], 1);

    let mut bad = sale.clone();
    bad["external_id"] = json!("POS-2");
    bad["lines"][0]["sku"] = json!("NOPE");
    let (s, v) = app.post("/api/transactions", bad);
    assert_eq!((s, error_field(&v)), (422, Some("lines[0].sku")), "{v}");
    let mut bad = sale.clone();
    bad["external_id"] = json!("POS-3");
    bad["lines"][0]["quantity"] = json!(-1);
    let (s, v) = app.post("/api/transactions", bad);
    assert_eq!((s, error_field(&v)), (422, Some("quantity")), "{v}");
    let mut bad = sale.clone();
    bad["external_id"] = json!("POS-4");
    bad["lines"][0]["unit_price"] = json!("1.234");
    let (s, v) = app.post("/api/transactions", bad);
    assert_eq!((s, error_field(&v)), (422, Some("lines[0].unit_price")), "{v}");
    let mut bad = sale.clone();
    bad["external_id"] = json!("POS-5");
    bad["branch"] = json!("B404");
    let (s, v) = app.post("/api/transactions", bad);
    assert_eq!((s, error_field(&v)), (422, Some("branch")), "{v}");
    let mut bad = sale.clone();
    bad["external_id"] = json!("POS-6");
    bad["lines"][0]["quantity"] = json!("two");
    let (s, v) = app.post("/api/transactions", bad);
    assert_eq!(s, 422, "{v}");
    let refund = json!({"external_id": "POS-R1", "member_no": "M1", "branch": "B1", "occurred_at": "2025-03-02T10:00:00Z",
        "currency": "ILS", "refund_of": "POS-1", "lines": [{"sku": "P1", "quantity": -1, "unit_price": "89.90"}]});
    let (s, r) = app.post("/api/transactions", refund);
    assert_eq!((s, r["total"]["minor"].as_i64()), (201, Some(-8990)), "{r}");
    let (_, all) = app.get("/api/transactions");
    assert_eq!(all["total"], 2, "no failed request wrote anything");
    let (s, one) = app.get(&format!("/api/transactions/{}", t["id"].as_str().unwrap()));
    assert_eq!((s, &one["external_id"]), (200, &json!("POS-1")));
}

#[test]
fn overview_interactions_and_merge() {
    let app = spawn_app();
    app.seed();
    let (_, a) = app.post(
        "/api/customers",
        json!({"member_no": "M1", "name": "Dana Cohen", "birth_date": "1985-04-12", "phone": "050-1111111"}),
    );
    let (_, b) = app.post(
        "/api/customers",
        json!({"member_no": "M2", "name": "dana  cohen", "birth_date": "1985-04-12", "email": "dana@x.com"}),
    );
    let (aid, bid) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    for (n, m) in [(1, "M1"), (2, "M2")] {
        let (s, v) = app.post(
            "/api/transactions",
            json!({"external_id": format!("T{n}"), "member_no": m, "branch": "B1", "occurred_at": format!("2025-03-0{n}T10:00:00Z"),
                   "currency": "ILS", "lines": [{"sku": "P2", "quantity": 1, "unit_price": "6.50"}]}),
        );
        assert_eq!(s, 201, "{v}");
    }
    let (s, i) = app.post(
        "/api/interactions",
        json!({"external_id": "I1", "customer_id": bid, "channel": "store", "kind": "complaint", "text": "stale", "satisfaction": 2}),
    );
    assert_eq!((s, i["status"].as_str()), (201, Some("open")), "{i}");
    let (s, again) = app.post(
        "/api/interactions",
        json!({"external_id": "I1", "customer_id": bid, "channel": "store", "kind": "complaint"}),
    );
    assert_eq!((s, &again["id"]), (200, &i["id"]));
    let (s, v) = app.post(
        "/api/interactions",
        json!({"customer_id": bid, "channel": "store", "kind": "visit", "satisfaction": 9}),
    );
    assert_eq!((s, error_field(&v)), (422, Some("satisfaction")));
    let (s, v) = app.post(
        "/api/interactions",
        json!({"customer_id": bid, "channel": "pigeon", "kind": "visit"}),
    );
    assert_eq!((s, error_field(&v)), (422, Some("channel")));

    let (s, dups) = app.get("/api/customers/duplicates");
    assert_eq!(s, 200);
    assert_eq!(dups[0]["reasons"][0], "same name and birth date");

    let (s, m) = app.post("/api/customers/merge", json!({"keep": aid, "drop": bid}));
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        (m["transactions_moved"].as_u64(), m["interactions_moved"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(m["kept"]["email"], "dana@x.com");
    let (s, v) = app.get(&format!("/api/customers/{bid}"));
    assert_eq!(s, 404);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("was merged into"),
        "{v}"
    );
    let (s, v) = app.get("/api/customers/lookup?member=M2");
    assert_eq!(
        (s, v["id"].as_str()),
        (200, Some(aid)),
        "the dropped member number still finds the customer"
    );

    let (s, o) = app.get(&format!("/api/customers/{aid}/overview"));
    assert_eq!(s, 200, "{o}");
    assert_eq!(o["stats"]["transactions"], 2);
    assert_eq!(o["stats"]["open_complaints"], 1);
    assert_eq!(o["stats"]["spend_shown"][0]["amount"], "13.00");
    assert_eq!(o["transactions"][0]["external_id"], "T2", "newest first");
    assert_eq!(o["interactions"][0]["text"], "stale");
    assert!(o["next_best_offers"].is_array());
    let (s, v) = app.post("/api/customers/merge", json!({"keep": aid, "drop": aid}));
    assert_eq!(s, 422, "{v}");
}

#[test]
fn import_over_http_is_all_or_nothing() {
    let app = spawn_app();
    app.seed();
    let bad = "customer_id,name,phone\nM1,Dana,050-1234567\nM2,Eve,not a phone\n";
    let (s, v) = app.post_raw("/api/import/customers", "text/csv", bad.as_bytes());
    assert_eq!((s, error_field(&v)), (422, Some("phone")), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().starts_with("line 3: "), "{v}");
    let (_, h) = app.get("/api/stats");
    assert_eq!(h["customers"], 0, "nothing written");
    let (s, v) = app.post_raw("/api/import/customers?skip_invalid=true", "text/csv", bad.as_bytes());
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["inserted"].as_u64(), v["rejected"].as_u64()), (Some(1), Some(1)));
    assert_eq!(v["rejects"][0]["line"], 3);
    assert_eq!(v["rejects"][0]["code"], "phone.unexpected_character", "{v}");
    let (s, _) = app.post_raw("/api/import/planets", "text/csv", b"x\n");
    assert_eq!(s, 404);
    // A body over the limit is refused from its Content-Length, before it is read (raw HTTP:
    // a client still sending would race the server's early answer).
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(app.base.trim_start_matches("http://")).unwrap();
    tcp.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let head =
        "POST /api/customers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2097152\r\n\r\n";
    tcp.write_all(head.as_bytes()).unwrap();
    let mut buf = [0u8; 512];
    let n = tcp.read(&mut buf).unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body.too_large"), "{answer}");
}

#[test]
fn basket_rules_over_http() {
    let app = spawn_app();
    app.seed();
    let mut csv = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    for t in 0..10 {
        csv.push_str(&format!("T{t},,B1,,2025-03-01,P1,1,89.90,0,ILS\n"));
        if t < 8 {
            csv.push_str(&format!("T{t},,B1,,2025-03-01,P2,1,6.50,0,ILS\n"));
        }
    }
    let (s, v) = app.post_raw("/api/import/transactions", "text/csv", csv.as_bytes());
    assert_eq!(s, 200, "{v}");
    let (s, r) = app.get("/api/baskets/rules?min_support=0.5&min_confidence=0.5");
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["baskets"], 10);
    assert_eq!(r["rules"][0]["antecedents"], json!(["P2"]));
    assert_eq!(r["rules"][0]["confidence"], 1.0);
    assert_eq!(r["rules"][0]["conviction"], serde_json::Value::Null);
    let (s, r) = app.get("/api/baskets/rules?level=category&min_support=0.5&min_confidence=0.5");
    assert_eq!((s, &r["rules"][0]["antecedents"]), (200, &json!(["Dairy"])), "{r}");
    // The period filter: nothing was sold in 2024.
    let (s, r) = app.get("/api/baskets/rules?min_support=0.5&until=2025-01-01");
    assert_eq!((s, r["baskets"].as_u64()), (200, Some(0)), "{r}");
    let (s, r) = app.get("/api/baskets/rules?min_support=0.5&min_confidence=0.5&since=2025-03-01");
    assert_eq!((s, r["baskets"].as_u64()), (200, Some(10)), "{r}");
    let (s, v) = app.get("/api/baskets/rules?since=yesterday");
    assert_eq!((s, error_field(&v)), (422, Some("since")), "{v}");
    let (s, v) = app.get("/api/baskets/rules?level=aisle");
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("level")));
    let (s, v) = app.get("/api/baskets/rules?min_support=7");
    assert_eq!(s, 400, "{v}");
}

#[test]
fn cross_sell_for_every_branch_grouped_by_category() {
    let app = spawn_app();
    app.seed();
    let (s, v) = app.post_raw(
        "/api/import/branches",
        "text/csv",
        b"branch_id,name,region,time_zone\nB2,Haifa,North,Asia/Jerusalem\nB3,Eilat,South,Asia/Jerusalem\n",
    );
    assert_eq!(s, 200, "{v}");
    let mut csv = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    // Members 0..10 buy at B1: beans with milk, except three who take beans alone. At B2 the
    // other way round: milk with beans, two take milk alone. B3 sells nothing.
    for m in 0..10 {
        csv.push_str(&format!("T1-{m},M{m},B1,,2025-03-01,P1,1,89.90,0,ILS\n"));
        if m >= 3 {
            csv.push_str(&format!("T1-{m},M{m},B1,,2025-03-01,P2,1,6.50,0,ILS\n"));
        }
        csv.push_str(&format!("T2-{m},M{m},B2,,2025-03-02,P2,1,6.50,0,ILS\n"));
        if m >= 2 {
            csv.push_str(&format!("T2-{m},M{m},B2,,2025-03-02,P1,1,89.90,0,ILS\n"));
        }
    }
    let (s, v) = app.post_raw(
        "/api/import/transactions?create_missing=true",
        "text/csv",
        csv.as_bytes(),
    );
    assert_eq!(s, 200, "{v}");
    let q = "min_support=0.5&min_confidence=0.5";
    let (s, groups) = app.get(&format!("/api/baskets/cross-sell/by-branch?{q}"));
    assert_eq!(s, 200, "{groups}");
    let groups = groups.as_array().unwrap();
    let branches: Vec<&str> = groups.iter().map(|g| g["branch"].as_str().unwrap()).collect();
    assert!(
        branches.contains(&"B1") && branches.contains(&"B2") && !branches.contains(&"B3"),
        "{branches:?}"
    );
    // Each group equals what the one-branch report says for that branch and category.
    for g in groups {
        let (_, one) = app.get(&format!(
            "/api/baskets/cross-sell?{q}&branch={}",
            g["branch"].as_str().unwrap()
        ));
        let cat = g["category"].as_str().unwrap();
        let expected: Vec<&Value> = one
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                let offer = r["consequents"][0].as_str().unwrap();
                (offer == "P1" && cat == "Coffee") || (offer == "P2" && cat == "Dairy")
            })
            .collect();
        assert_eq!(g["rules"].as_array().unwrap().len(), expected.len().min(5));
        let sum: i64 = g["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["expected_incremental_minor"].as_i64().unwrap())
            .sum();
        assert_eq!(g["expected_incremental_minor"].as_i64().unwrap(), sum);
    }
    // At B1 three members lack milk: 3 × 0.7 confidence... the report names the Dairy offer.
    let b1_dairy = groups
        .iter()
        .find(|g| g["branch"] == "B1" && g["category"] == "Dairy")
        .unwrap();
    assert_eq!(b1_dairy["rules"][0]["consequents"], json!(["P2"]));
    assert_eq!(b1_dairy["rules"][0]["missing_consequents"], 3);
    let (s, v) = app.get("/api/baskets/cross-sell/by-branch?branch=B1");
    assert_eq!((s, error_field(&v)), (400, Some("branch")));
}

#[test]
fn next_best_offers_follow_the_rules() {
    let app = spawn_app();
    app.seed();
    let (_, c) = app.post("/api/customers", json!({"member_no": "M1"}));
    let mut csv = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    let (s, v) = app.post_raw(
        "/api/import/products",
        "text/csv",
        b"sku,name,category,list_price,unit_cost,currency\nP3,Tea,Tea,20.00,8.00,ILS\n",
    );
    assert_eq!(s, 200, "{v}");
    // Nine of ten beans buyers also take milk, which the tea buyers never do; M1 bought beans only.
    for t in 10..30 {
        csv.push_str(&format!("T{t},,B1,,2025-03-01,P3,1,20.00,0,ILS\n"));
    }
    for t in 0..10 {
        csv.push_str(&format!("T{t},,B1,,2025-03-01,P1,1,89.90,0,ILS\n"));
        if t < 9 {
            csv.push_str(&format!("T{t},,B1,,2025-03-01,P2,1,6.50,0,ILS\n"));
        }
    }
    csv.push_str("T99,M1,B1,,2025-03-02,P1,1,89.90,0,ILS\n");
    let (s, v) = app.post_raw("/api/import/transactions", "text/csv", csv.as_bytes());
    assert_eq!(s, 200, "{v}");
    let id = c["id"].as_str().unwrap();
    // Cross-sell: M1 is the one beans buyer known by name who never took milk.
    let (s, x) = app.get("/api/baskets/cross-sell?min_support=0.2&min_confidence=0.5");
    assert_eq!(s, 200, "{x}");
    let row = x
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["antecedents"] == json!(["P1"]) && r["consequents"] == json!(["P2"]))
        .unwrap();
    assert_eq!(
        (row["with_antecedents"].as_u64(), row["missing_consequents"].as_u64()),
        (Some(1), Some(1)),
        "{x}"
    );
    let conf = row["confidence"].as_f64().unwrap();
    assert_eq!(
        row["expected_incremental_minor"].as_i64().unwrap(),
        (conf * 650.0).round() as i64
    );
    let (s, offers) = app.get(&format!("/api/customers/{id}/offers?k=3"));
    assert_eq!(s, 200, "{offers}");
    assert_eq!(offers[0]["sku"], "P2", "{offers}");
    assert_eq!(offers[0]["name"], "Milk");
    assert_eq!(offers[0]["because"], json!(["P1"]));
    let (s, _) = app.get(&format!("/api/customers/{id}/offers?k=0"));
    assert_eq!(s, 400);
}

#[test]
fn analytics_refresh_ladder_and_value() {
    let app = spawn_app();
    let (s, v) = app.post("/api/analytics/run", json!({}));
    assert_eq!((s, error_field(&v)), (422, Some("as_of")), "no sales yet: {v}");
    // A small demo business, loaded through the import endpoints.
    let cfg = kesher_demo::DemoConfig {
        customers: 1500,
        seed: 11,
        end: "2025-06-30".parse().unwrap(),
        now: None,
    };
    let mut sinks = kesher_demo::DemoSinks::try_new(|_| Ok::<_, std::io::Error>(Vec::new())).unwrap();
    kesher_demo::generate(&cfg, &mut sinks).unwrap();
    for (kind, body) in [
        ("branches", &sinks.branches),
        ("employees", &sinks.employees),
        ("products", &sinks.products),
        ("customers", &sinks.customers),
        ("transactions", &sinks.transactions),
    ] {
        let (s, v) = app.post_raw(&format!("/api/import/{kind}"), "text/csv", body);
        assert_eq!(s, 200, "{kind}: {v}");
    }
    let (s, r) = app.post(
        "/api/analytics/run",
        json!({"as_of": "2025-06-30T23:59:59Z", "model": "bgnbd"}),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["customers"], 1500);
    let stages = r["stages"].as_object().unwrap();
    assert_eq!(stages.values().map(|v| v.as_u64().unwrap()).sum::<u64>(), 1500);
    assert!(stages["prospect"].as_u64().unwrap() > 50, "{r}");
    assert!(stages["core"].as_u64().unwrap() > 50, "{r}");
    assert!(
        stages["defected"].as_u64().unwrap() > 10,
        "the demo's customers defect: {r}"
    );
    for k in ["r", "alpha", "a", "b"] {
        assert!(r["params"][k].as_f64().unwrap() > 0.0);
    }
    // A second refresh a month later gives the ladder its moves.
    let (s, _) = app.post("/api/analytics/run", json!({"as_of": "2025-07-31T23:59:59Z"}));
    assert_eq!(s, 200);
    let (s, l) = app.get("/api/analytics/ladder?from=2025-06&to=2025-07");
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["months"].as_object().unwrap().len(), 2);
    let moved: u64 = l["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["customers"].as_u64().unwrap())
        .sum();
    assert_eq!(moved, 1500);
    assert!(
        l["flows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["stage"] == "defected" && f["inflow"].as_u64().unwrap() > 0),
        "{l}"
    );
    let (s, v) = app.get("/api/analytics/value");
    assert_eq!(s, 200, "{v}");
    let grid_total: u64 = v["rfm_grid"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|x| x.as_u64().unwrap())
        .sum();
    assert_eq!(grid_total, v["buyers"].as_u64().unwrap());
    assert!(v["segments"]["champions"].as_u64().unwrap() > 0);
    let top = &v["tiers"][0];
    assert_eq!(top["tier"], "top");
    assert!(
        top["share_of_value"].as_f64().unwrap() > 0.4,
        "the top 20% hold much of the value: {v}"
    );
    let (_, page) = app.get("/api/customers?limit=1");
    let id = page["items"][0]["id"].as_str().unwrap();
    let (s, sc) = app.get(&format!("/api/customers/{id}/score"));
    assert_eq!(s, 200, "{sc}");
    assert!(["prospect", "first_time", "core", "at_risk", "defected"].contains(&sc["stage"].as_str().unwrap()));
    let (s, c) = app.get("/api/analytics/calibration?calibration_end=2025-03-31&end=2025-06-30T23:59:59Z");
    assert_eq!(s, 200, "{c}");
    let table = c["table"].as_array().unwrap();
    assert_eq!(table[0]["frequency"], 0);
    let (act, exp): (f64, f64) = table.iter().fold((0.0, 0.0), |(a, e), r| {
        let n = r["customers"].as_f64().unwrap();
        (
            a + n * r["actual"].as_f64().unwrap(),
            e + n * r["expected"].as_f64().unwrap(),
        )
    });
    assert!(
        act > 0.0 && (exp / act - 1.0).abs() < 0.5,
        "holdout actual {act} vs expected {exp}"
    );
    assert_eq!(c["models"].as_array().unwrap().len(), 3, "{c}");
    let curve = c["cumulative"].as_array().unwrap();
    assert!(
        curve
            .windows(2)
            .all(|w| w[1]["actual"].as_f64() >= w[0]["actual"].as_f64())
    );
    let (s, v) = app.get("/api/analytics/calibration?calibration_end=2025-07-01&end=2025-06-30");
    assert_eq!((s, error_field(&v)), (422, Some("calibration_end")), "{v}");
    let (s, _) = app.get("/api/analytics/ladder?from=2025-06");
    assert_eq!(s, 400);
    let (s, v) = app.post("/api/analytics/run", json!({"model": "magic"}));
    assert_eq!((s, error_field(&v)), (422, Some("model")));
}

#[test]
fn a_large_import_is_counted_and_costed_the_same_on_every_backend() {
    // More sales than one write batch (256), a sale repeated out of order, and a re-import:
    // run on SQLite and, in CI, on PostgreSQL (whose importer writes sales in batches).
    let app = spawn_app();
    app.seed();
    let mut customers = String::from("customer_id,name\n");
    for m in 0..10 {
        customers.push_str(&format!("M{m},Customer {m}\n"));
    }
    let (s, v) = app.post_raw("/api/import/customers", "text/csv", customers.as_bytes());
    assert_eq!(s, 200, "{v}");
    let mut csv = String::from(
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n",
    );
    for t in 0..600 {
        let day = 1 + t % 28;
        let month = 1 + (t / 28) % 12;
        for (sku, price) in [("P1", "89.90"), ("P2", "6.50")] {
            csv.push_str(&format!(
                "T{t},M{},B1,E1,2024-{month:02}-{day:02}T10:00:00Z,{sku},1,{price},0,ILS\n",
                t % 10
            ));
        }
    }
    csv.push_str("T5,M5,B1,E1,2024-01-06T10:00:00Z,P1,1,89.90,0,ILS\n");
    let (s, v) = app.post_raw("/api/import/transactions?skip_invalid=true", "text/csv", csv.as_bytes());
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["rows_read"].as_u64(), v["inserted"].as_u64(), v["rejected"].as_u64()),
        (Some(1201), Some(1200), Some(1)),
        "{v}"
    );
    assert!(
        v["rejects"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("duplicate transaction"),
        "{v}"
    );
    let (s, v) = app.post_raw("/api/import/transactions?skip_invalid=true", "text/csv", csv.as_bytes());
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["inserted"].as_u64(), Some(0), "{v}");
    assert_eq!(
        v["already_present"].as_u64().unwrap() + v["rejected"].as_u64().unwrap(),
        1201,
        "{v}"
    );
    let (_, page) = app.get("/api/transactions?limit=1");
    assert_eq!(page["total"], 600);
    // Each sale's cost, kept on the sale: P1 costs 41.00 and P2 3.10.
    let mut n = 0;
    app.store
        .for_each_purchase(&mut |p| {
            assert_eq!((p.amount, p.cost), (9640, Some(4410)));
            n += 1;
        })
        .unwrap();
    assert_eq!(n, 600);
}

#[test]
fn an_import_error_carries_its_line_and_column_in_the_params() {
    let app = spawn_app();
    app.seed();
    let bad = "customer_id,name,phone\nM1,Dana,050-1234567\nM2,Eve,050-12\n";
    let (s, v) = app.post_raw("/api/import/customers", "text/csv", bad.as_bytes());
    assert_eq!((s, error_field(&v)), (422, Some("phone")), "{v}");
    assert_eq!(v["error"]["code"], "phone.national.length", "{v}");
    let params = &v["error"]["params"];
    assert_eq!(
        (&params["line"], &params["column"]),
        (&json!(3), &json!("phone")),
        "{v}"
    );
    assert_eq!(
        (&params["country"], &params["expected"], &params["found"]),
        (&json!("IL"), &json!("8 to 9"), &json!(5)),
        "{v}"
    );
    // A header error: the file's line 1, the column named in the params.
    let (s, v) = app.post_raw("/api/import/customers", "text/csv", b"customer_id,colour\nM1,red\n");
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "import.column.unknown", "{v}");
    assert_eq!(
        (&v["error"]["params"]["line"], &v["error"]["params"]["name"]),
        (&json!(1), &json!("colour"))
    );
}

#[test]
fn a_json_error_names_the_field_never_the_value() {
    let app = spawn_app();
    app.seed();
    let (s, v) = app.post("/api/customers", json!({"member_no": "M2", "household_size": "three"}));
    assert_eq!((s, error_field(&v)), (422, Some("household_size")), "{v}");
    assert_eq!(v["error"]["code"], "json.field.invalid", "{v}");
    let (s, v) = app.post("/api/customers", json!({"member_no": "M2", "colour": "red"}));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("json.field.unknown")),
        "{v}"
    );
    let (s, v) = app.post("/api/segments/check", json!({}));
    assert_eq!((s, error_field(&v)), (422, Some("expression")), "{v}");
    assert_eq!(v["error"]["code"], "json.field.missing", "{v}");
    // Every error body has an object of params, even when empty.
    assert!(v["error"]["params"].is_object(), "{v}");
}

#[test]
fn a_partial_put_is_refused_and_patch_changes_only_what_it_names() {
    let app = spawn_app();
    app.seed();
    let (s, c) = app.post(
        "/api/customers",
        json!({"member_no": "M1", "name": "Dana Cohen", "phone": "050-1234567", "card": "C1", "branch": "B1",
               "birth_date": "1985-04-12", "gender": "female", "consents": {"email": "granted", "sms": "granted"},
               "attributes": {"lifestyle": "runner", "needs": {"diet": "vegan", "size": "M"}}}),
    );
    assert_eq!(s, 201, "{c}");
    let at = format!("/api/customers/{}", c["id"].as_str().unwrap());

    // PUT is a whole replacement: a body that leaves an identifying field out is refused and
    // nothing changes.
    let (s, v) = app.call(
        "PUT",
        &at,
        Some(json!({"attributes": {"estimated_annual_spend": "12000.00"}})),
    );
    assert_eq!((s, error_field(&v)), (422, Some("member_no")), "{v}");
    let (s, v) = app.call(
        "PUT",
        &at,
        Some(json!({"member_no": "M1", "name": "Dana Cohen", "phone": null, "email": null, "branch": "B1"})),
    );
    assert_eq!((s, error_field(&v)), (422, Some("card")), "{v}");
    let (_, now) = app.get(&at);
    assert_eq!(
        (now["member_no"].as_str(), now["card"].as_str()),
        (Some("M1"), Some("C1"))
    );

    // PATCH: absent = unchanged, null = cleared, objects merged recursively (RFC 7396).
    let (s, v) = app.call(
        "PATCH",
        &at,
        Some(
            json!({"attributes": {"estimated_annual_spend": "12000.00", "needs": {"size": null, "colour": "blue"}},
                    "birth_date": null, "consents": {"sms": "withdrawn"}}),
        ),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["member_no"], "M1");
    assert_eq!(v["name"], "Dana Cohen");
    assert_eq!(v["phone"], "+972501234567");
    assert_eq!(v["card"], "C1");
    assert_eq!(v["gender"], "female");
    assert_eq!(v["birth_date"], serde_json::Value::Null);
    assert!(v["source_branch_id"].is_string(), "{v}");
    assert_eq!(
        v["attributes"],
        json!({"lifestyle": "runner", "estimated_annual_spend": "12000.00", "needs": {"diet": "vegan", "colour": "blue"}})
    );
    let consents: Vec<(String, String)> = v["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["channel"].as_str().unwrap().into(),
                k["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(consents.contains(&("email".into(), "granted".into())), "{v}");
    assert!(consents.contains(&("sms".into(), "withdrawn".into())), "{v}");
    let (s, v) = app.get("/api/customers/lookup?card=C1");
    assert_eq!((s, v["member_no"].as_str()), (200, Some("M1")), "{v}");

    // Errors still name the field; a consent cannot be cleared, only withdrawn.
    let (s, v) = app.call("PATCH", &at, Some(json!({"phone": "05O"})));
    assert_eq!((s, error_field(&v)), (422, Some("phone")), "{v}");
    let (s, v) = app.call("PATCH", &at, Some(json!({"colour": "red"})));
    assert_eq!((s, error_field(&v)), (422, Some("colour")), "{v}");
    let (s, v) = app.call("PATCH", &at, Some(json!({"consents": {"email": null}})));
    assert_eq!((s, error_field(&v)), (422, Some("consents")), "{v}");
    let (s, v) = app.call("PATCH", &at, Some(json!(["not", "an", "object"])));
    assert_eq!(s, 422, "{v}");
    // A full PUT (null to clear explicitly) still replaces.
    let (s, v) = app.call(
        "PUT",
        &at,
        Some(json!({"member_no": "M1", "name": "Dana C", "phone": null, "email": null, "card": "C1", "branch": "B1"})),
    );
    assert_eq!(
        (s, v["phone"].clone(), v["name"].as_str()),
        (200, serde_json::Value::Null, Some("Dana C")),
        "{v}"
    );
}
#[test]
fn a_repeated_external_id_with_a_different_body_is_a_conflict() {
    let app = spawn_app();
    app.seed();
    app.post("/api/customers", json!({"member_no": "M1", "name": "Dana"}));
    app.post("/api/customers", json!({"member_no": "M2", "name": "Noa"}));
    let (s, b) = app.post("/api/branches", json!({"external_id": "B2", "name": "Haifa"}));
    assert_eq!(s, 201, "{b}");
    let (s, first) = app.post(
        "/api/transactions",
        json!({"external_id": "POS-0", "branch": "B1", "occurred_at": "2025-03-01T09:00:00Z",
        "currency": "ILS", "lines": [{"sku": "P1", "quantity": 1, "unit_price": "89.90"}]}),
    );
    assert_eq!(s, 201, "{first}");
    let sale = json!({"external_id": "POS-1", "member_no": "M1", "branch": "B1", "employee": "E1", "occurred_at": "2025-03-01T10:15:00.000000123+02:00",
        "currency": "ILS", "lines": [{"sku": "P1", "quantity": 2, "unit_price": "89.90", "discount": "10.00"}]});
    let (s, t) = app.post("/api/transactions", sale.clone());
    assert_eq!(s, 201, "{t}");
    // The same request again (the same instant written another way) is a retry.
    let mut same = sale.clone();
    same["occurred_at"] = json!("2025-03-01T08:15:00Z");
    let (s, again) = app.post("/api/transactions", same);
    assert_eq!((s, &again["id"]), (200, &t["id"]), "{again}");
    let changes: Vec<(&str, Value)> = vec![
        ("member_no", json!("M2")),
        ("branch", json!("B2")),
        ("occurred_at", json!("2025-03-01T10:16:00+02:00")),
        ("currency", json!("USD")),
        ("refund_of", json!("POS-0")),
        (
            "lines",
            json!([{"sku": "P1", "quantity": 3, "unit_price": "89.90", "discount": "10.00"}]),
        ),
        (
            "lines",
            json!([{"sku": "P2", "quantity": 2, "unit_price": "89.90", "discount": "10.00"}]),
        ),
        (
            "lines",
            json!([{"sku": "P1", "quantity": 2, "unit_price": "89.91", "discount": "10.00"}]),
        ),
        ("lines", json!([{"sku": "P1", "quantity": 2, "unit_price": "89.90"}])),
        (
            "lines",
            json!([{"sku": "P1", "quantity": 2, "unit_price": "89.90", "discount": "10.00"}, {"quantity": 1, "unit_price": "5"}]),
        ),
        ("employee", Value::Null),
    ];
    for (key, value) in changes {
        let mut other = sale.clone();
        if key == "refund_of" {
            other["lines"] = json!([{"sku": "P1", "quantity": -1, "unit_price": "89.90"}]);
        }
        if key == "currency" {
            // A USD line of the ILS-priced P1 is refused on its own (line.currency.mismatch):
            // in USD the sale is an amount-only one.
            other["lines"] = json!([{"quantity": 1, "unit_price": "169.80"}]);
        }
        other[key] = value.clone();
        let (s, v) = app.post("/api/transactions", other);
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (409, Some("external_id")),
            "{key} = {value}: {v}"
        );
    }
    let (_, all) = app.get("/api/transactions");
    assert_eq!(all["total"], 2, "no conflicting request wrote anything");
}
#[test]
fn health_tells_an_anonymous_caller_only_that_it_is_up() {
    let app = spawn_app();
    app.seed();
    app.post("/api/customers", json!({"member_no": "M1", "name": "Dana"}));
    let (s, v) = app.call_as(None, "GET", "/api/health", None);
    assert_eq!((s, v), (200, json!({"status": "ok"})));
    // Even with a credential, health is liveness only; the counts need a role that may read them.
    let (s, v) = app.get("/api/health");
    assert_eq!((s, v), (200, json!({"status": "ok"})));
    let (s, v) = app.get("/api/stats");
    assert_eq!(
        (s, v["customers"].as_u64(), v["transactions"].as_u64()),
        (200, Some(1), Some(0)),
        "{v}"
    );
    assert_eq!(app.call_as(None, "GET", "/api/stats", None).0, 401);
    let clerk = app.token_for(kesher_auth::Role::Clerk, Some("B1"));
    assert_eq!(app.call_as(Some(&clerk), "GET", "/api/stats", None).0, 403);
    // The sign-in page does not show the business's size.
    let page = ureq::get(&format!("{}/login", app.base))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(page.contains(r#"id="login""#));
    assert!(!page.contains("customers,") && !page.contains("/api/health"), "{page}");
}

fn raw(app: &crate::support::TestApp, method: &str, path: &str) -> (u16, Option<String>, String) {
    let r = match ureq::request(method, &format!("{}{path}", app.base))
        .set("Authorization", &format!("Bearer {}", app.token))
        .call()
    {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let allow = r.header("allow").map(str::to_owned);
    (r.status(), allow, r.into_string().unwrap())
}
#[test]
fn unknown_routes_wrong_methods_and_bad_paths_answer_json() {
    let app = spawn_app();
    for path in ["/api/nope", "/api/customers/x/y/z", "/nope"] {
        let (s, _, body) = raw(&app, "GET", path);
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (404, Some("route.not_found")),
            "{path}"
        );
    }
    for (method, path, allowed) in [
        ("DELETE", "/api/health", "GET,HEAD"),
        (
            "POST",
            "/api/customers/0190c8a0-0000-7000-8000-000000000000",
            "DELETE,GET,HEAD,PATCH,PUT",
        ),
        ("PUT", "/api/transactions", "GET,HEAD,POST"),
    ] {
        let (s, allow, body) = raw(&app, method, path);
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{method} {path}: {body}"));
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (405, Some("route.method_not_allowed")),
            "{method} {path}: {v}"
        );
        let mut got: Vec<String> = allow
            .unwrap_or_default()
            .split(',')
            .map(|m| m.trim().to_string())
            .collect();
        got.sort();
        assert_eq!(got.join(","), allowed, "{method} {path}");
    }
    // Without a credential too: the method is wrong whoever asks.
    let (s, _) = app.call_as(None, "DELETE", "/api/health", None);
    assert_eq!(s, 405);
    for path in ["/api/customers/%FF", "/api/segments/%C3%28", "/api/products/%E2%82"] {
        let (s, _, body) = raw(&app, "GET", path);
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: {body}"));
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (400, Some("path.not_utf8")),
            "{path}: {v}"
        );
    }
}
