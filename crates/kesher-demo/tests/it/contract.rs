//! The files match docs/import-formats.md: headers, field counts, references, formats, uniqueness

use std::collections::{HashMap, HashSet};

use kesher_demo::{DemoSinks, FILES};

use crate::support::{CUSTOMERS, business, config, normalise_phone, parse, run, table};

fn files(s: &DemoSinks<Vec<u8>>) -> [&Vec<u8>; 6] {
    [
        &s.branches,
        &s.employees,
        &s.products,
        &s.customers,
        &s.transactions,
        &s.interactions,
    ]
}

#[test]
fn headers_are_exactly_the_documented_columns() {
    let expected = [
        "branch_id,name,region,time_zone",
        "employee_id,name,branch_id",
        "sku,name,category,list_price,unit_cost,currency",
        "customer_id,kind,parent_id,name,phone,email,card,language,birth_date,gender,city,region,\
         household_size,income_band,created_at,branch_id,employee_id,consent_email,consent_sms,\
         consent_phone,attributes",
        "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,\
         discount,currency,refund_of",
        "interaction_id,customer_id,channel,kind,occurred_at,text,employee_id,satisfaction,status",
    ];
    for (bytes, want) in files(&business().raw).into_iter().zip(expected) {
        let first = bytes.split(|&b| b == b'\n').next().unwrap();
        assert_eq!(std::str::from_utf8(first).unwrap(), want);
    }
    assert_eq!(
        FILES,
        [
            "branches.csv",
            "employees.csv",
            "products.csv",
            "customers.csv",
            "transactions.csv",
            "interactions.csv"
        ]
    );
}

#[test]
fn every_row_has_the_header_field_count_and_counts_match_stats() {
    let b = business();
    let counts: Vec<u64> = files(&b.raw)
        .into_iter()
        .map(|bytes| {
            let (header, records) = parse(bytes);
            assert!(records.iter().all(|r| r.len() == header.len()));
            assert!(bytes.ends_with(b"\n"));
            records.len() as u64
        })
        .collect();
    let s = b.stats;
    assert_eq!(
        counts,
        [
            s.branches,
            s.employees,
            s.products,
            s.customers,
            s.transaction_lines,
            s.interactions
        ]
    );
    assert_eq!(
        (s.branches, s.employees, s.products, s.customers),
        (3, 20, 200, CUSTOMERS as u64)
    );
}

#[test]
fn same_seed_gives_identical_bytes_and_other_seeds_differ() {
    let a = run(&config(300, 11));
    let b = run(&config(300, 11));
    let c = run(&config(300, 12));
    assert_eq!(files(&a.raw), files(&b.raw));
    assert_eq!(a.stats, b.stats);
    assert_ne!(a.raw.customers, c.raw.customers);
    assert_ne!(a.raw.transactions, c.raw.transactions);
    // The fixed parts of the business do not depend on the seed.
    assert_eq!(a.raw.products, c.raw.products);
}

#[test]
fn tiny_businesses_are_valid() {
    for n in [0, 1, 7, 40] {
        let b = run(&config(n, 3));
        for bytes in files(&b.raw) {
            parse(bytes);
        }
        assert_eq!(b.stats.customers, n as u64);
    }
}

#[test]
fn every_reference_exists() {
    let ids = |name: &str, col: &str| -> HashSet<String> { table(name).iter().map(|r| r[col].clone()).collect() };
    let branches = ids("branches", "branch_id");
    let employees = ids("employees", "employee_id");
    let skus = ids("products", "sku");
    for e in table("employees") {
        assert!(branches.contains(&e["branch_id"]));
    }
    let mut seen_customers = HashSet::new();
    for c in table("customers") {
        assert!(c["branch_id"].is_empty() || branches.contains(&c["branch_id"]), "{c:?}");
        assert!(
            c["employee_id"].is_empty() || employees.contains(&c["employee_id"]),
            "{c:?}"
        );
        if !c["parent_id"].is_empty() {
            // Parents come before their children.
            assert!(seen_customers.contains(&c["parent_id"]), "{c:?}");
        }
        assert!(
            seen_customers.insert(c["customer_id"].clone()),
            "duplicate id {}",
            c["customer_id"]
        );
    }
    let mut tx_ids = HashSet::new();
    for t in table("transactions") {
        assert!(t["customer_id"].is_empty() || seen_customers.contains(&t["customer_id"]));
        assert!(branches.contains(&t["branch_id"]));
        assert!(t["employee_id"].is_empty() || employees.contains(&t["employee_id"]));
        assert!(t["sku"].is_empty() || skus.contains(&t["sku"]), "{t:?}");
        if !t["refund_of"].is_empty() {
            assert!(tx_ids.contains(&t["refund_of"]), "refund before its sale: {t:?}");
        }
        tx_ids.insert(t["transaction_id"].clone());
    }
    let mut ix_ids = HashSet::new();
    for i in table("interactions") {
        assert!(seen_customers.contains(&i["customer_id"]));
        assert!(i["employee_id"].is_empty() || employees.contains(&i["employee_id"]));
        assert!(ix_ids.insert(i["interaction_id"].clone()));
    }
}

#[test]
fn basket_rows_are_consecutive_and_agree() {
    let mut done = HashSet::new();
    let mut current: Option<&HashMap<String, String>> = None;
    let mut baskets = 0;
    for t in table("transactions") {
        match current {
            Some(c) if c["transaction_id"] == t["transaction_id"] => {
                for col in [
                    "customer_id",
                    "branch_id",
                    "employee_id",
                    "occurred_at",
                    "currency",
                    "refund_of",
                ] {
                    assert_eq!(c[col], t[col], "{col} differs within {}", t["transaction_id"]);
                }
                assert_ne!(c["sku"], t["sku"], "sku repeated in a basket");
            }
            _ => {
                assert!(
                    done.insert(t["transaction_id"].clone()),
                    "{} not consecutive",
                    t["transaction_id"]
                );
                current = Some(t);
                baskets += 1;
            }
        }
    }
    assert_eq!(baskets, business().stats.transactions);
    let lines = business().stats.transaction_lines as f64 / baskets as f64;
    assert!((2.0..5.0).contains(&lines), "{lines} lines per basket");
}

/// Major units with exactly two decimals (the files always write two).
fn minor_units(s: &str) -> i64 {
    let (int, frac) = s.split_once('.').unwrap_or_else(|| panic!("no decimals in {s}"));
    assert_eq!(frac.len(), 2, "{s}");
    assert!(int.bytes().all(|b| b.is_ascii_digit()) && !int.is_empty(), "{s}");
    int.parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap()
}

#[test]
fn money_quantities_and_refunds_follow_the_format() {
    for p in table("products") {
        let (price, cost) = (minor_units(&p["list_price"]), minor_units(&p["unit_cost"]));
        let margin = (price - cost) as f64 / price as f64;
        assert!((0.19..=0.61).contains(&margin), "{p:?}");
        assert_eq!(p["currency"], "ILS");
    }
    let categories: HashSet<&str> = table("products").iter().map(|p| p["category"].as_str()).collect();
    assert_eq!(categories.len(), 10);
    let mut refunds = 0;
    for t in table("transactions") {
        let q: i64 = t["quantity"].parse().unwrap();
        assert_ne!(q, 0);
        let price = minor_units(&t["unit_price"]);
        let discount = minor_units(&t["discount"]);
        assert!(discount <= q.abs() * price, "{t:?}");
        assert_eq!(t["currency"], "ILS");
        if t["sku"].is_empty() {
            assert_eq!(q, 1);
        }
        if q < 0 {
            assert!(!t["refund_of"].is_empty() && discount == 0, "{t:?}");
            refunds += 1;
        } else {
            assert!(t["refund_of"].is_empty());
        }
    }
    assert!(refunds > 0);
}

#[test]
fn times_are_utc_instants_within_the_history() {
    let b = business();
    let end = b.end.at(23, 59, 59, 0).in_tz("UTC").unwrap().timestamp() + jiff::SignedDuration::from_hours(24);
    let start = end - jiff::SignedDuration::from_hours(24 * 731);
    let check = |s: &str| {
        assert!(s.ends_with('Z') && s.len() == 20, "{s}");
        let t: jiff::Timestamp = s.parse().unwrap();
        assert!(t >= start && t <= end, "{s}");
        t
    };
    let mut created = HashMap::new();
    for c in table("customers") {
        created.insert(c["customer_id"].clone(), check(&c["created_at"]));
        if !c["birth_date"].is_empty() {
            let d: jiff::civil::Date = c["birth_date"].parse().unwrap();
            assert!(d.year() >= 1930 && d.year() <= 2008, "{d}");
        }
    }
    for t in table("transactions") {
        let at = check(&t["occurred_at"]);
        if let Some(c) = created.get(&t["customer_id"]) {
            assert!(at > *c, "purchase before registration: {t:?}");
        }
    }
    for i in table("interactions") {
        check(&i["occurred_at"]);
    }
}

#[test]
fn phones_emails_cards_and_member_numbers_are_unique_after_normalisation() {
    let mut phones = HashSet::new();
    let mut emails = HashSet::new();
    let mut cards = HashSet::new();
    let mut notations = HashSet::new();
    for c in table("customers") {
        let phone = &c["phone"];
        if !phone.is_empty() {
            // Local Iranian notation would be read as Israeli by an import with default country IL.
            assert!(!phone.starts_with("09"), "{phone}");
            let n = normalise_phone(phone);
            assert!(
                n.starts_with("9725") && n.len() == 12 || n.starts_with("989") && n.len() == 12,
                "{phone}"
            );
            assert!(phones.insert(n), "phone {phone} repeated");
            notations.insert(
                phone
                    .chars()
                    .map(|c| if c.is_ascii_digit() { '9' } else { c })
                    .collect::<String>(),
            );
        }
        let email = &c["email"];
        if !email.is_empty() {
            let e = email.trim().to_lowercase();
            assert!(e.contains('@') && !e.contains(' '), "{email}");
            assert!(emails.insert(e), "e-mail {email} repeated");
        }
        if !c["card"].is_empty() {
            assert!(cards.insert(c["card"].clone()));
        }
    }
    assert!(notations.len() >= 6, "{notations:?}");
    let messy = table("customers")
        .iter()
        .filter(|c| c["email"] != c["email"].trim().to_lowercase())
        .count();
    assert!(messy > 0, "no e-mails need normalising");
    assert!(cards.len() > CUSTOMERS / 5);
}

#[test]
fn customer_columns_hold_valid_values() {
    let mut kinds = HashMap::new();
    let mut langs = HashMap::new();
    for c in table("customers") {
        *kinds.entry(c["kind"].clone()).or_insert(0) += 1;
        *langs.entry(c["language"].clone()).or_insert(0) += 1;
        assert!(["", "female", "male", "other"].contains(&c["gender"].as_str()));
        for col in ["consent_email", "consent_sms", "consent_phone"] {
            assert!(["", "granted", "withdrawn"].contains(&c[col].as_str()));
        }
        if !c["household_size"].is_empty() {
            assert!(c["household_size"].parse::<u32>().unwrap() >= 1);
        }
        if !c["attributes"].is_empty() {
            let v: serde_json::Value = serde_json::from_str(&c["attributes"]).unwrap();
            assert!(v.is_object());
        }
        assert!(!c["name"].is_empty());
    }
    assert!(kinds["intermediary"] >= 1 && kinds["internal"] >= 1 && kinds["consumer"] > 1900);
    assert_eq!(kinds.len(), 3);
    for l in ["he", "fa", "en"] {
        assert!(langs[l] > 100, "{langs:?}");
    }
    let with_spend = table("customers")
        .iter()
        .filter(|c| c["attributes"].contains("estimated_category_spend"))
        .count();
    assert!(with_spend > 100);
}

#[test]
fn interactions_hold_valid_values() {
    let mut kinds = HashSet::new();
    for i in table("interactions") {
        assert!(["store", "phone", "email", "sms", "web", "social"].contains(&i["channel"].as_str()));
        kinds.insert(i["kind"].clone());
        if !i["satisfaction"].is_empty() {
            assert!((1..=5).contains(&i["satisfaction"].parse::<u8>().unwrap()));
        }
        if i["kind"] == "complaint" {
            assert!(["open", "resolved"].contains(&i["status"].as_str()));
        } else {
            assert!(i["status"].is_empty());
        }
        assert!(!i["text"].is_empty());
    }
    assert_eq!(kinds.len(), 6, "{kinds:?}");
}
