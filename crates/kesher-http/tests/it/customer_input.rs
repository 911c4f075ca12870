//! One path builds a customer from input: the same values given as a JSON body and as a
//! customers CSV row make the same record, or are refused with the same code.

use crate::support::{TestApp, spawn_app};
use kesher_app::import::{ImportKind, ImportOptions, Rejected};
use serde_json::{Value, json};

/// The CSV column of a body's key.
fn column(key: &str) -> &str {
    match key {
        "member_no" => "customer_id",
        "branch" => "branch_id",
        "employee" => "employee_id",
        other => other,
    }
}

/// `body` as a customers file: a header and one row (consents one column per channel).
fn as_csv(body: &Value) -> String {
    let mut cols = Vec::new();
    let mut cells = Vec::new();
    for (key, value) in body.as_object().unwrap() {
        if key == "consents" {
            for (channel, state) in value.as_object().unwrap() {
                cols.push(format!("consent_{channel}"));
                cells.push(state.as_str().unwrap().to_string());
            }
            continue;
        }
        cols.push(column(key).to_string());
        cells.push(match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    let quote = |s: &String| format!("\"{}\"", s.replace('"', "\"\""));
    format!(
        "{}\n{}\n",
        cols.join(","),
        cells.iter().map(quote).collect::<Vec<_>>().join(",")
    )
}

/// Import `body` as a file; the rejection of its row, if any.
fn import(app: &TestApp, body: &Value) -> Option<Rejected> {
    let mut rejected = None;
    app.app
        .import_csv(
            ImportKind::Customers,
            as_csv(body).as_bytes(),
            "customers.csv",
            ImportOptions {
                skip_invalid: true,
                ..Default::default()
            },
            &mut |r| rejected = Some(r),
        )
        .unwrap();
    rejected
}

fn seeded() -> TestApp {
    let app = spawn_app();
    for (kind, csv) in [
        (
            ImportKind::Branches,
            "branch_id,name,time_zone\nB1,Haifa,Asia/Jerusalem\n",
        ),
        (ImportKind::Employees, "employee_id,name,branch_id\nE1,Noa,B1\n"),
    ] {
        app.app
            .import_csv(kind, csv.as_bytes(), "seed.csv", Default::default(), &mut |_| {})
            .unwrap();
    }
    app
}

/// A customer as the API shows it, without what differs by construction: the id, the creation
/// time and the consents' time and source.
fn comparable(mut c: Value) -> Value {
    let o = c.as_object_mut().unwrap();
    o.remove("id");
    o.remove("created_at");
    for k in o["consents"].as_array_mut().unwrap() {
        let k = k.as_object_mut().unwrap();
        k.remove("at");
        k.remove("source");
    }
    c
}

#[test]
fn the_same_input_through_the_api_and_an_import_makes_the_same_record() {
    let app = seeded();
    let body = |member: &str| {
        json!({
            "member_no": member, "kind": "Intermediary", "name": "  Dana Levi ", "phone": "050-123 4567",
            "email": "Dana@Example.COM", "card": format!(" C-{member} "), "language": "HE", "birth_date": "1990-02-03",
            "gender": "Female", "city": " Haifa ", "region": "North", "household_size": 3, "income_band": "B",
            "branch": "B1", "employee": "E1", "consents": {"email": "granted", "sms": "withdrawn"},
            "attributes": {"lifestyle": "runner"}
        })
    };
    let (s, api) = app.post("/api/customers", body("M1"));
    assert_eq!(s, 201, "{api}");
    // The import's row has its own identifiers (they are unique), and so its own phone and e-mail.
    let mut row = body("M2");
    row["phone"] = json!("+98 912 345 6789");
    row["email"] = json!("dana2@example.com");
    assert!(import(&app, &row).is_none());
    let id = app
        .app
        .lookup_customer(&kesher_store::Identifier::Member("M2".into()))
        .unwrap()
        .unwrap()
        .id;
    let (s, file) = app.get(&format!("/api/customers/{id}"));
    assert_eq!(s, 200, "{file}");
    let (mut api, mut file) = (comparable(api), comparable(file));
    assert_eq!(api["name"], "Dana Levi");
    assert_eq!(api["city"], "Haifa");
    assert_eq!(api["card"], "C-M1");
    assert_eq!(api["consents"].as_array().unwrap().len(), 2);
    for (key, a, f) in [
        ("member_no", "M1", "M2"),
        ("card", "C-M1", "C-M2"),
        ("phone", "+972501234567", "+989123456789"),
        ("email", "dana@example.com", "dana2@example.com"),
    ] {
        assert_eq!((&api[key], &file[key]), (&json!(a), &json!(f)));
        api[key] = Value::Null;
        file[key] = Value::Null;
    }
    assert_eq!(api, file);
}

#[test]
fn the_same_bad_input_through_the_api_and_an_import_gets_the_same_code() {
    let app = seeded();
    let cases = [
        (json!({"phone": "05O"}), "phone", "phone"),
        (json!({"email": "nope"}), "email", "email"),
        (json!({"birth_date": "12/04/1985"}), "birth_date", "birth_date"),
        (json!({"language": "english!"}), "language", "language"),
        (json!({"gender": "x"}), "gender", "gender"),
        (json!({"kind": "x"}), "kind", "kind"),
        (json!({"card": "C".repeat(65)}), "card", "card"),
        (json!({"household_size": 0}), "household_size", "household_size"),
        (json!({"attributes": [1]}), "attributes", "attributes"),
        (json!({"consents": {"sms": "maybe"}}), "consents", "consent_sms"),
        // The first problem in the documented order: the phone before the attributes.
        (json!({"attributes": [1], "phone": "05O"}), "phone", "phone"),
    ];
    for (n, (fields, key, col)) in cases.into_iter().enumerate() {
        let mut body = json!({"member_no": format!("X{n}")});
        body.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let (s, v) = app.post("/api/customers", body.clone());
        assert_eq!(s, 422, "{body}: {v}");
        assert_eq!(v["error"]["field"], key, "{body}: {v}");
        let r = import(&app, &body).unwrap_or_else(|| panic!("{body} was imported"));
        assert_eq!(r.column.as_deref(), Some(col), "{body}");
        assert_eq!(v["error"]["code"], r.code, "{body}: {v} / {}", r.reason);
        assert_eq!(v["error"]["params"], Value::Object(r.params.clone()), "{body}");
    }
}
