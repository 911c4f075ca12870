//! Property tests in the manner of a fuzzer, bounded so that they run in CI: CSV files made of
//! the documented columns (sometimes shuffled, missing or unknown), rows of valid, borderline and
//! hostile values, and raw bytes. Whatever the input, the importer must not panic, must name the
//! line (and column) it refuses, and must write nothing when it refuses the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::Settings;
use kesher_store_sqlite::SqliteStore;
use proptest::prelude::*;
use std::sync::Arc;

const NASTY: &[&str] = &[
    "",
    " ",
    "\"",
    "\"\"",
    "a,b",
    "line\nbreak",
    "-0",
    "0",
    "1",
    "-1",
    "1e309",
    "NaN",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999999",
    "12,5",
    "1.005",
    "0.0000001",
    "2025-02-30",
    "2025-13-01T00:00:00Z",
    "2025-03-01T10:00:00Z",
    "2025-03-01",
    "2025-03-01T10:00:00+25:00",
    "Asia/Jerusalem",
    "Mars/Olympus",
    "ILS",
    "XXX",
    "IRR",
    "B1",
    "B9",
    "E1",
    "P1",
    "P404",
    "M1",
    "M2",
    "T1",
    "050-1234567",
    "+98 ۹۱۲ ۳۴۵ ۶۷۸۹",
    "not a phone",
    "a@b.co",
    "@@",
    "granted",
    "withdrawn",
    "maybe",
    "consumer",
    "intermediary",
    "complaint",
    "store",
    "open",
    "דנה כהן",
    "علی کریمی",
    "\u{202e}rtl override",
    "\u{0}",
    "🙂",
];

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(NASTY).prop_map(str::to_owned),
        1 => "\\PC{0,12}",
        1 => "[0-9.,-]{1,25}",
    ]
}

fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// (kind index, header columns, rows, raw tail bytes, skip_invalid)
fn file() -> impl Strategy<Value = (usize, Vec<String>, Vec<Vec<String>>, Vec<u8>, bool)> {
    (0..ImportKind::ALL.len()).prop_flat_map(|k| {
        let cols: Vec<String> = ImportKind::ALL[k].columns().iter().map(|c| c.0.to_owned()).collect();
        let n = cols.len();
        (
            Just(k),
            Just(cols).prop_shuffle().prop_flat_map(move |c| {
                // Mostly all columns; sometimes one dropped or an unknown one added.
                prop_oneof![
                    6 => Just(c.clone()),
                    1 => Just(c[1..].to_vec()),
                    1 => Just({ let mut v = c.clone(); v.push("surprise".into()); v }),
                ]
            }),
            proptest::collection::vec(proptest::collection::vec(field(), n..=n + 1), 0..6),
            prop_oneof![8 => Just(Vec::new()), 1 => proptest::collection::vec(any::<u8>(), 1..40)],
            any::<bool>(),
        )
    })
}

fn seeded() -> (App, std::path::PathBuf) {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "kesher-import-fuzz-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let app = App::new(
        Arc::new(SqliteStore::open(dir.join("k.db")).unwrap()),
        Settings::default(),
    );
    for (kind, body) in [
        (
            ImportKind::Branches,
            "branch_id,name,region,time_zone\nB1,Tel Aviv,Center,Asia/Jerusalem\n",
        ),
        (ImportKind::Employees, "employee_id,name,branch_id\nE1,Noa,B1\n"),
        (
            ImportKind::Products,
            "sku,name,category,list_price,unit_cost,currency\nP1,Beans,Coffee,89.90,41.00,ILS\n",
        ),
        (ImportKind::Customers, "customer_id,name,phone\nM1,Dana,050-1234567\n"),
    ] {
        app.import_csv(kind, body.as_bytes(), "seed", ImportOptions::default(), &mut |_| {})
            .unwrap();
    }
    (app, dir)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn importers_never_panic_and_refuse_whole_files((k, header, rows, tail, skip) in file()) {
        let (app, dir) = seeded();
        let kind = ImportKind::ALL[k];
        let mut text = header.join(",");
        text.push('\n');
        for r in &rows {
            text.push_str(&r.iter().map(|f| quote(f)).collect::<Vec<_>>().join(","));
            text.push('\n');
        }
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(&tail);
        let before = app.store.counts().unwrap();
        let opts = ImportOptions { skip_invalid: skip, ..ImportOptions::default() };
        let mut rejected = 0u64;
        let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        match app.import_csv(kind, &bytes[..], "f.csv", opts, &mut |_| rejected += 1) {
            Ok(s) => {
                prop_assert_eq!(s.rejected, rejected);
                if !skip {
                    prop_assert_eq!(s.rejected, 0);
                }
            }
            Err(ImportError::Row { line, reason, code, .. }) => {
                prop_assert!(line >= 1 && line <= lines + 1, "line {} of {}", line, lines);
                prop_assert!(!reason.is_empty());
                prop_assert!(kesher_core::codes::lookup(code).is_some(), "{} is not catalogued", code);
                prop_assert_eq!(app.store.counts().unwrap(), before, "a refused file wrote rows");
            }
            Err(ImportError::File { reason, code, .. }) => {
                prop_assert!(!reason.is_empty());
                prop_assert!(kesher_core::codes::lookup(code).is_some(), "{} is not catalogued", code);
                prop_assert_eq!(app.store.counts().unwrap(), before, "a refused file wrote rows");
            }
            Err(e) => prop_assert!(false, "unexpected error kind: {e}"),
        }
        drop(app);
        let _ = std::fs::remove_dir_all(dir);
    }
}
