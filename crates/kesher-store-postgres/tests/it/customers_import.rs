//! `kesher import customers` on PostgreSQL, where customers are checked and written in batches:
//! the outcome of every row, the errors and the counts are those of writing them one by one.

use super::{TestDb, actor};
use kesher_app::contract::customer;
use kesher_app::import::{ImportKind, ImportOptions, ImportSummary, Rejected};
use kesher_app::{App, Settings};
use kesher_core::{Country, Phone};
use kesher_store::{Inserted, Store, StoreError};
use std::sync::Arc;

const ROWS: usize = 3000;

fn phone(i: usize) -> String {
    format!("050-{:07}", 1_000_000 + i)
}

/// `ROWS` customers M0… with a phone and an e-mail each, a card and an SMS consent on some, and
/// a parent on a few (the row just before: in the same batch, not yet written when it is read).
fn file(edit: impl Fn(usize, &mut [String; 6])) -> String {
    let mut s = String::from("customer_id,phone,email,card,parent_id,consent_sms\n");
    for i in 0..ROWS {
        let mut r = [
            format!("M{i}"),
            phone(i),
            format!("c{i}@example.com"),
            if i % 3 == 0 { format!("C{i}") } else { String::new() },
            if i % 500 == 7 {
                format!("M{}", i - 1)
            } else {
                String::new()
            },
            if i % 2 == 0 { "granted".into() } else { String::new() },
        ];
        edit(i, &mut r);
        s.push_str(&r.join(","));
        s.push('\n');
    }
    s
}

fn import(app: &App, text: &str, skip_invalid: bool) -> (Result<ImportSummary, String>, Vec<Rejected>) {
    let mut rejects = Vec::new();
    let r = app.import_csv(
        ImportKind::Customers,
        text.as_bytes(),
        "customers.csv",
        ImportOptions {
            skip_invalid,
            ..ImportOptions::default()
        },
        &mut |r| rejects.push(r),
    );
    (r.map_err(|e| e.to_string()), rejects)
}

/// Customers, consents, consent history.
fn rows(db: &TestDb) -> (i64, i64, i64) {
    let r = db
        .client()
        .query_one(
            "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM consents),
                    (SELECT count(*) FROM consent_history)",
            &[],
        )
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

#[test]
fn customers_written_in_batches_keep_every_row_outcome() {
    let db = TestDb::new();
    let s = Arc::new(db.store());
    // A customer merged into another leaves its member number, phone and card as aliases.
    let mut kept = customer(1, "KEPT", "Dana");
    kept.phone = Some(Phone::parse("052-0000001", Country::israel()).unwrap());
    let mut gone = customer(2, "GONE", "Dana L");
    gone.phone = Some(Phone::parse("052-0000002", Country::israel()).unwrap());
    gone.card = Some("CARD-GONE".into());
    let app = App::new(s.clone(), Settings::default());
    app.insert_customer(&kept, &actor()).unwrap();
    app.insert_customer(&gone, &actor()).unwrap();
    app.merge_customers(kept.id, gone.id, &actor()).unwrap();
    let before = rows(&db);

    // Row 1900 takes the phone of row 1850, in the same batch of 256 (rows 1792–2047): the whole
    // file is refused, naming the line and the column, and nothing is written.
    let dup_phone = |i: usize, r: &mut [String; 6]| {
        if i == 1900 {
            r[1] = phone(1850);
        }
    };
    let (r, _) = import(&app, &file(dup_phone), false);
    assert_eq!(
        r.unwrap_err(),
        "customers.csv:1902: column phone: +972501001850 already belongs to customer M1850"
    );
    assert_eq!(rows(&db), before);

    // With skip_invalid: that row, a repeated row, and a row holding the merged customer's card
    // are rejected; a row with its member number counts as already present.
    let text = file(|i, r| {
        dup_phone(i, r);
        if i == 2500 {
            *r = [
                "M10".into(),
                phone(10),
                "c10@example.com".into(),
                String::new(),
                String::new(),
                "granted".into(),
            ];
        }
        if i == 2600 {
            r[3] = "CARD-GONE".into();
        }
        if i == 2700 {
            r[0] = "GONE".into();
        }
    });
    let (r, rejects) = import(&app, &text, true);
    let summary = r.unwrap();
    assert_eq!(
        summary.to_string(),
        format!(
            "rows read: {ROWS}, inserted: {}, already present: 1, rejected: 3",
            ROWS - 4
        )
    );
    let got: Vec<(u64, Option<&str>, &str)> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_deref(), r.reason.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (1902, Some("phone"), "+972501001850 already belongs to customer M1850"),
            (
                2502,
                Some("customer_id"),
                "duplicate id: it appears more than once in this file"
            ),
            (2602, Some("card"), "CARD-GONE already belongs to customer KEPT"),
        ]
    );
    assert_eq!(rejects[0].record[0], "M1900");
    // Every written customer has its consents and their history; a parent written in the same
    // batch is found.
    let consents = (0..ROWS)
        .filter(|i| i % 2 == 0 && ![1900, 2500, 2600, 2700].contains(i))
        .count() as i64;
    let (customers, k, h) = rows(&db);
    assert_eq!(
        (customers, k, h),
        (before.0 + ROWS as i64 - 4, before.1 + consents, before.2 + consents)
    );
    let parents: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM customers c JOIN customers p ON p.id = c.parent_id
             WHERE p.member_no = 'M' || (substr(c.member_no, 2)::int - 1)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(parents, 6);

    // Re-importing changes nothing: every row is already present but the two that were refused.
    let (r, rejects) = import(&app, &text, true);
    assert_eq!(
        r.unwrap().to_string(),
        format!(
            "rows read: {ROWS}, inserted: 0, already present: {}, rejected: 2",
            ROWS - 2
        )
    );
    assert_eq!(rejects.iter().map(|r| r.line).collect::<Vec<_>>(), vec![1902, 2602]);
    assert_eq!(rows(&db), (customers, k, h));
}

#[test]
fn a_batch_with_a_value_postgres_cannot_hold_is_written_row_by_row() {
    let db = TestDb::new();
    let s = db.store();
    let mut imp = s.begin_import().unwrap();
    let (a, bad, c) = (customer(1, "M1", "a"), customer(2, "M2", "b\0"), customer(3, "M3", "c"));
    let mut twin = customer(4, "M4", "d");
    twin.email = Some(kesher_core::Email::parse("a@example.com").unwrap());
    let mut a2 = a.clone();
    a2.email = twin.email.clone();
    let out = imp.insert_customers(&[&a2, &bad, &c, &twin, &a2]);
    assert_eq!(out[0].as_ref().unwrap(), &Inserted::New);
    assert!(matches!(out[1], Err(StoreError::Invalid { .. })), "{:?}", out[1]);
    assert_eq!(out[2].as_ref().unwrap(), &Inserted::New);
    assert!(
        matches!(&out[3], Err(StoreError::Conflict { field: "email", reason, .. }) if reason.ends_with("customer M1")),
        "{:?}",
        out[3]
    );
    assert_eq!(out[4].as_ref().unwrap(), &Inserted::Repeated);
    imp.commit().unwrap();
    assert_eq!(s.counts().unwrap().customers, 2);
}
