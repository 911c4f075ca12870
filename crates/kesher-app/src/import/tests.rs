use super::*;
use crate::test_support::{TestApp, app_named};

fn app() -> TestApp {
    app_named("app")
}

const BRANCHES: &str =
    "branch_id,name,region,time_zone\nB1,Tel Aviv,Center,Asia/Jerusalem\nB2,Haifa,North,Asia/Jerusalem\n";
const EMPLOYEES: &str = "employee_id,name,branch_id\nE1,Noa Levi,B1\n";
const PRODUCTS: &str =
    "sku,name,category,list_price,unit_cost,currency\nP1,Beans,Coffee,89.90,41.00,ILS\nP2,Milk,Dairy,6.50,3.10,ILS\n";
const CUSTOMERS: &str = "customer_id,name,phone,email,birth_date,branch_id,consent_email\n\
    M1,Dana Cohen,050-1234567,Dana@Example.com,1985-04-12,B1,granted\n\
    M2,علی کریمی,+98 912 345 6789,,1990-01-01,,\n";
const TX_HEADER: &str =
    "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n";

fn run(
    app: &App,
    kind: ImportKind,
    text: &str,
    opts: ImportOptions,
) -> (Result<ImportSummary, ImportError>, Vec<Rejected>) {
    let mut rejects = Vec::new();
    let r = app.import_csv(
        kind,
        text.as_bytes(),
        &format!("{}.csv", kind.as_str()),
        opts,
        &mut |r| rejects.push(r),
    );
    (r, rejects)
}

fn ok(app: &App, kind: ImportKind, text: &str) -> ImportSummary {
    run(app, kind, text, ImportOptions::default()).0.unwrap()
}

fn err(app: &App, kind: ImportKind, text: &str) -> String {
    run(app, kind, text, ImportOptions::default())
        .0
        .unwrap_err()
        .to_string()
}

fn seeded() -> TestApp {
    let t = app();
    ok(&t.app, ImportKind::Branches, BRANCHES);
    ok(&t.app, ImportKind::Employees, EMPLOYEES);
    ok(&t.app, ImportKind::Products, PRODUCTS);
    ok(&t.app, ImportKind::Customers, CUSTOMERS);
    t
}

fn tx(rows: &[&str]) -> String {
    let mut s = TX_HEADER.to_string();
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

#[test]
fn imports_every_kind_and_is_idempotent() {
    let t = seeded();
    let a = &t.app;
    let c = a.store.counts().unwrap();
    assert_eq!((c.branches, c.employees, c.products, c.customers), (2, 1, 2, 2));
    let file = tx(&[
        "T1,M1,B1,E1,2025-03-01T10:15:00Z,P1,2,89.90,10.00,ILS",
        "T1,M1,B1,E1,2025-03-01T10:15:00Z,P2,1,6.50,0,ILS",
        "T2,,B2,,2025-03-01T11:00:00Z,,1,45.00,0,ILS",
    ]);
    let s = ok(a, ImportKind::Transactions, &file);
    assert_eq!(
        s,
        ImportSummary {
            rows_read: 3,
            inserted: 3,
            ..Default::default()
        }
    );
    let again = ok(a, ImportKind::Transactions, &file);
    assert_eq!(
        again,
        ImportSummary {
            rows_read: 3,
            already_present: 3,
            ..Default::default()
        }
    );
    let c = a.store.counts().unwrap();
    assert_eq!((c.transactions, c.transaction_lines), (2, 3));
    let t1 = a.store.transaction_by_external("T1").unwrap().unwrap();
    assert_eq!(t1.total(), Some(2 * 8990 - 1000 + 650));
    let t2 = a.store.transaction_by_external("T2").unwrap().unwrap();
    assert_eq!(t2.customer_id, None);
    // Reference files re-imported change nothing either.
    assert_eq!(ok(a, ImportKind::Customers, CUSTOMERS).already_present, 2);
    assert_eq!(ok(a, ImportKind::Products, PRODUCTS).already_present, 2);
    let m1 = a
        .store
        .lookup_customer(&kesher_store::Identifier::Member("M1".into()))
        .unwrap()
        .unwrap();
    assert_eq!(m1.phone.unwrap().as_str(), "+972501234567");
    assert_eq!(m1.email.unwrap().as_str(), "dana@example.com");
    assert_eq!(m1.consents.len(), 1);
    let m2 = a
        .store
        .lookup_customer(&kesher_store::Identifier::Member("M2".into()))
        .unwrap()
        .unwrap();
    assert_eq!(m2.phone.unwrap().as_str(), "+989123456789");
}

#[test]
fn refunds_reference_the_original() {
    let t = seeded();
    let file = "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency,refund_of\n\
        T1,M1,B1,E1,2025-03-01T10:15:00Z,P1,2,89.90,0,ILS,\n\
        R1,M1,B1,E1,2025-03-02T10:15:00Z,P1,-1,89.90,0,ILS,T1\n";
    ok(&t.app, ImportKind::Transactions, file);
    let r = t.app.store.transaction_by_external("R1").unwrap().unwrap();
    assert_eq!(r.total(), Some(-8990));
    assert_eq!(
        r.refund_of,
        Some(t.app.store.transaction_by_external("T1").unwrap().unwrap().id)
    );
}

#[test]
fn bad_date_names_line_and_column() {
    let t = seeded();
    let e = err(
        &t.app,
        ImportKind::Transactions,
        &tx(&[
            "T1,M1,B1,E1,2025-03-01T10:15:00Z,P1,1,1,0,ILS",
            "T2,M1,B1,E1,2025-13-01,P1,1,1,0,ILS",
        ]),
    );
    assert_eq!(
        e,
        "transactions.csv:3: column occurred_at: invalid time \"2025-13-01\": expected RFC 3339 such as 2025-03-01T10:15:00Z or a date 2025-03-01"
    );
    assert_eq!(t.app.store.counts().unwrap().transactions, 0, "nothing is written");
}

#[test]
fn negative_quantity_needs_a_refund() {
    let t = seeded();
    let e = err(
        &t.app,
        ImportKind::Transactions,
        &tx(&["T1,M1,B1,E1,2025-03-01,P1,-2,89.90,0,ILS"]),
    );
    assert_eq!(
        e,
        "transactions.csv:2: column quantity: negative quantity -2 is only allowed on a refund (refund_of)"
    );
}

#[test]
fn unknown_sku_is_an_error() {
    let t = seeded();
    let e = err(
        &t.app,
        ImportKind::Transactions,
        &tx(&["T1,M1,B1,E1,2025-03-01,P999,1,1.00,0,ILS"]),
    );
    assert_eq!(e, "transactions.csv:2: column sku: unknown product \"P999\"");
}

#[test]
fn unknown_customer_is_an_error_unless_create_missing() {
    let t = seeded();
    let file = tx(&["T1,C77,B9,E42,2025-03-01,,1,10.00,0,USD"]);
    let e = err(&t.app, ImportKind::Transactions, &file);
    assert_eq!(
        e,
        "transactions.csv:2: column branch_id: unknown branch \"B9\" (import branches first, or use --create-missing)"
    );
    let (r, _) = run(
        &t.app,
        ImportKind::Transactions,
        &file,
        ImportOptions {
            create_missing: true,
            ..Default::default()
        },
    );
    let s = r.unwrap();
    assert_eq!(
        (s.inserted, s.created_customers, s.created_branches, s.created_employees),
        (1, 1, 1, 1)
    );
    assert_eq!(
        s.to_string(),
        "rows read: 1, inserted: 1, already present: 0, rejected: 0, created: 1 customers, 1 branches, 1 employees"
    );
    assert!(
        t.app
            .store
            .lookup_customer(&kesher_store::Identifier::Member("C77".into()))
            .unwrap()
            .is_some()
    );
}

#[test]
fn duplicate_id_in_one_file() {
    let t = seeded();
    let e = err(
        &t.app,
        ImportKind::Transactions,
        &tx(&[
            "T1,M1,B1,E1,2025-03-01,P1,1,1,0,ILS",
            "T2,M1,B1,E1,2025-03-01,P1,1,1,0,ILS",
            "T1,M1,B1,E1,2025-03-01,P2,1,1,0,ILS",
        ]),
    );
    assert_eq!(
        e,
        "transactions.csv:4: column transaction_id: duplicate transaction \"T1\": its rows must be consecutive and it appears again here"
    );
    let e = err(&t.app, ImportKind::Customers, "customer_id,name\nM9,A\nM9,B\n");
    assert_eq!(
        e,
        "customers.csv:3: column customer_id: duplicate id: it appears more than once in this file"
    );
}

#[test]
fn rows_of_one_basket_must_agree() {
    let t = seeded();
    let e = err(
        &t.app,
        ImportKind::Transactions,
        &tx(&[
            "T1,M1,B1,E1,2025-03-01,P1,1,1,0,ILS",
            "T1,M2,B1,E1,2025-03-01,P2,1,1,0,ILS",
        ]),
    );
    assert_eq!(
        e,
        "transactions.csv:3: column customer_id: differs from line 2 of the same transaction \"T1\""
    );
}

#[test]
fn missing_column() {
    let t = seeded();
    let e = err(
        &t.app,
        ImportKind::Transactions,
        "transaction_id,customer_id,branch_id,sku,quantity,unit_price,currency\n",
    );
    assert_eq!(e, "transactions.csv:1: missing column \"occurred_at\"");
    let e = err(&t.app, ImportKind::Branches, "branch_id,name,colour\n");
    assert_eq!(
        e,
        "branches.csv:1: unknown column \"colour\"; the columns are: branch_id,name,region,time_zone"
    );
}

#[test]
fn wrong_delimiter() {
    let t = seeded();
    let e = err(&t.app, ImportKind::Transactions, &TX_HEADER.replace(',', ";"));
    assert_eq!(
        e,
        "transactions.csv:1: the header has a single column; the file seems to use ';' as delimiter, expected ','"
    );
}

#[test]
fn non_utf8_bytes() {
    let t = seeded();
    let mut bytes = TX_HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"T1,M1,B1,E1,2025-03-01,P\xE91,1,1,0,ILS\n");
    let mut rejects = Vec::new();
    let e = t
        .app
        .import_csv(
            ImportKind::Transactions,
            &bytes[..],
            "transactions.csv",
            ImportOptions::default(),
            &mut |r| rejects.push(r),
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "transactions.csv:2: column sku: invalid UTF-8 (byte 0xE9 at position 2); save the file as UTF-8"
    );
}

#[test]
fn empty_file() {
    let t = seeded();
    assert_eq!(
        err(&t.app, ImportKind::Transactions, ""),
        "transactions.csv: the file is empty (expected a header row)"
    );
    // A header alone is a valid, empty import.
    assert_eq!(
        ok(&t.app, ImportKind::Transactions, TX_HEADER),
        ImportSummary::default()
    );
}

#[test]
fn wrong_field_count() {
    let t = seeded();
    let e = err(
        &t.app,
        ImportKind::Transactions,
        &tx(&["T1,M1,B1,E1,2025-03-01,P1,1,1,0"]),
    );
    assert_eq!(e, "transactions.csv:2: expected 10 fields, found 9");
}

#[test]
fn skip_invalid_keeps_the_good_rows_and_reports_the_rest() {
    let t = seeded();
    let file = tx(&[
        "T1,M1,B1,E1,2025-03-01,P1,1,1,0,ILS",
        "T2,M1,B1,E1,2025-03-01,P1,1,1,0,ILS",
        "T2,M1,B1,E1,2025-03-01,NOPE,1,1,0,ILS",
        "T3,M1,B1,E1,2025-03-01,P2,1,1.005,0,ILS",
        "T4,M2,B2,,2025-03-02,P2,3,6.50,0,ILS",
    ]);
    let (r, rejects) = run(
        &t.app,
        ImportKind::Transactions,
        &file,
        ImportOptions {
            skip_invalid: true,
            ..Default::default()
        },
    );
    let s = r.unwrap();
    assert_eq!((s.rows_read, s.inserted, s.rejected), (5, 2, 3));
    let lines: Vec<(u64, Option<&str>)> = rejects.iter().map(|r| (r.line, r.column.as_deref())).collect();
    assert_eq!(lines, vec![(3, None), (4, Some("sku")), (5, Some("unit_price"))]);
    assert_eq!(rejects[0].reason, "rejected with line 4 of the same transaction \"T2\"");
    assert_eq!(
        rejects[2].reason,
        "invalid amount \"1.005\": ILS allows at most 2 decimals"
    );
    assert_eq!(rejects[1].record[5], "NOPE");
    let c = t.app.store.counts().unwrap();
    assert_eq!((c.transactions, c.transaction_lines), (2, 2));
}

#[test]
fn customer_conflicts_name_the_field() {
    let t = seeded();
    let e = err(
        &t.app,
        ImportKind::Customers,
        "customer_id,phone\nM3,+972 50 123 4567\n",
    );
    assert_eq!(
        e,
        "customers.csv:2: column phone: +972501234567 already belongs to customer M1"
    );
    let e = err(&t.app, ImportKind::Customers, "customer_id,email\nM3,dana\n");
    assert_eq!(
        e,
        "customers.csv:2: column email: invalid e-mail address \"dana\": no @"
    );
    let e = err(&t.app, ImportKind::Customers, "customer_id,parent_id\nM3,M404\n");
    assert_eq!(
        e,
        "customers.csv:2: column parent_id: unknown customer \"M404\" (a parent must come first)"
    );
    let e = err(
        &t.app,
        ImportKind::Branches,
        "branch_id,name,time_zone\nB7,X,Mars/Olympus\n",
    );
    assert_eq!(
        e,
        "branches.csv:2: column time_zone: unknown time zone \"Mars/Olympus\": expected an IANA name such as Asia/Jerusalem"
    );
}

#[test]
fn interactions_import() {
    let t = seeded();
    let file = "interaction_id,customer_id,channel,kind,occurred_at,text,employee_id,satisfaction,status\n\
        I1,M1,store,complaint,2025-03-02T08:00:00Z,Beans were stale,E1,2,resolved\n\
        I2,M2,phone,call,2025-03-03T08:00:00Z,,,5,\n";
    assert_eq!(ok(&t.app, ImportKind::Interactions, file).inserted, 2);
    assert_eq!(ok(&t.app, ImportKind::Interactions, file).already_present, 2);
    let e = err(
        &t.app,
        ImportKind::Interactions,
        &file.replace(",2,resolved", ",7,resolved").replace("I1", "I9"),
    );
    assert_eq!(
        e,
        "interactions.csv:2: column satisfaction: must be a whole number from 1 to 5, found \"7\""
    );
}

#[test]
fn transaction_column_positions_match_the_documented_columns() {
    let cols = ImportKind::Transactions.columns();
    for (i, name) in [
        (tx::TRANSACTION_ID, "transaction_id"),
        (tx::CUSTOMER_ID, "customer_id"),
        (tx::BRANCH_ID, "branch_id"),
        (tx::EMPLOYEE_ID, "employee_id"),
        (tx::OCCURRED_AT, "occurred_at"),
        (tx::SKU, "sku"),
        (tx::QUANTITY, "quantity"),
        (tx::UNIT_PRICE, "unit_price"),
        (tx::DISCOUNT, "discount"),
        (tx::CURRENCY, "currency"),
        (tx::REFUND_OF, "refund_of"),
    ] {
        assert_eq!(cols[i].0, name);
    }
}

#[test]
fn a_customers_row_with_several_problems_reports_the_first_in_column_order() {
    // The reader thread parses what needs no store; the writer checks the parent, branch and
    // employee: between them, the first problem in documented column order is the one told.
    let t = seeded();
    let header = "customer_id,kind,parent_id,phone,branch_id,consent_sms\n";
    let cases = [
        // kind comes before the parent.
        ("M9,robot,M404,050-1234567,B1,granted", "column kind"),
        // The parent comes before the phone.
        (
            "M9,consumer,M404,12,B1,granted",
            "column parent_id: unknown customer \"M404\"",
        ),
        // The phone comes before the branch.
        ("M9,consumer,M1,12,B404,granted", "column phone"),
        // The branch comes before the consents.
        (
            "M9,consumer,M1,050-7654321,B404,maybe",
            "column branch_id: unknown branch \"B404\"",
        ),
        ("M9,consumer,M1,050-7654321,B1,maybe", "column consent_sms"),
    ];
    for (row, expected) in cases {
        let e = err(&t.app, ImportKind::Customers, &format!("{header}{row}\n"));
        assert!(e.starts_with(&format!("customers.csv:2: {expected}")), "{row}: {e}");
    }
    // A good row after them all lands, with what the reader thread parsed and the writer resolved.
    let s = ok(
        &t.app,
        ImportKind::Customers,
        &format!("{header}M9,intermediary,M1,050-7654321,B1,granted\n"),
    );
    assert_eq!(s.inserted, 1);
    let c = t
        .app
        .store
        .lookup_customer(&kesher_store::Identifier::Member("M9".into()))
        .unwrap()
        .unwrap();
    assert_eq!(c.kind, kesher_core::CustomerKind::Intermediary);
    assert!(c.parent_id.is_some() && c.source_branch.is_some());
    assert_eq!(
        c.phone.map(|p| p.as_str().to_string()).as_deref(),
        Some("+972507654321")
    );
    assert_eq!(c.consents.len(), 1);
}
