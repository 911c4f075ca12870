//! Itemsets and rules equal mlxtend 0.25's on T10I4D20K and a kesher-CSV demo set
//! (reference files made by tests/fixtures/make_reference.py)

use std::collections::HashMap;
use std::path::PathBuf;

use kesher_baskets::{Baskets, CsvOptions, InputFormat, MineParams, MineResult, mine, run_mine_command};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap()
}

struct Reference {
    itemsets: HashMap<String, f64>,
    min_confidence: f64,
    /// (antecedents, consequents) -> [support, confidence, lift, leverage, conviction]
    rules: HashMap<(String, String), [f64; 5]>,
}

fn parse_float(s: &str) -> f64 {
    match s {
        "inf" => f64::INFINITY,
        s => s.parse().unwrap(),
    }
}

fn reference(stem: &str) -> Reference {
    let itemsets = read(&format!("reference/{stem}.itemsets"))
        .lines()
        .map(|line| {
            let (s, items) = line.split_once('\t').unwrap();
            (items.to_owned(), parse_float(s))
        })
        .collect();
    let text = read(&format!("reference/{stem}.rules"));
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let min_confidence = parse_float(header.strip_prefix("# min_confidence ").unwrap());
    let rules = lines
        .map(|line| {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), 7, "{line}");
            let m = [2, 3, 4, 5, 6].map(|i| parse_float(cells[i]));
            ((cells[0].to_owned(), cells[1].to_owned()), m)
        })
        .collect();
    Reference {
        itemsets,
        min_confidence,
        rules,
    }
}

fn support_of(stem: &str) -> f64 {
    stem.split('_').nth(1).unwrap().parse().unwrap()
}

fn key(result: &MineResult, ids: &[u32]) -> String {
    result.names(ids).join(" ")
}

fn close(a: f64, b: f64) -> bool {
    if a.is_infinite() || b.is_infinite() {
        return a == b;
    }
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) || (a - b).abs() < 1e-15
}

/// Compares at min support 0.005, 0.002, 0.001, and at 0.001 with `max_len`.
fn compare(case: &str, baskets: &Baskets, max_len: usize) {
    let runs = [
        ("0.005", None),
        ("0.002", None),
        ("0.001", None),
        ("0.001", Some(max_len)),
    ];
    for (support, max_len) in runs {
        let stem = match max_len {
            Some(k) => format!("{case}_{support}_len{k}"),
            None => format!("{case}_{support}"),
        };
        let expected = reference(&stem);
        let mut params = MineParams::new(support_of(&stem));
        params.min_confidence = expected.min_confidence;
        params.max_len = max_len;
        let result = mine(baskets, &params).unwrap();

        let got: HashMap<String, f64> = result
            .itemsets
            .iter()
            .map(|s| (key(&result, &s.items), s.support))
            .collect();
        assert_eq!(got.len(), result.itemsets.len(), "{stem}: duplicates");
        let mut missing: Vec<&String> = expected.itemsets.keys().filter(|k| !got.contains_key(*k)).collect();
        let mut extra: Vec<&String> = got.keys().filter(|k| !expected.itemsets.contains_key(*k)).collect();
        missing.sort();
        extra.sort();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{stem}: missing {missing:?}, extra {extra:?}"
        );
        for (items, s) in &expected.itemsets {
            assert!((got[items] - s).abs() < 1e-9, "{stem} {items}");
        }

        assert_eq!(result.rules.len(), expected.rules.len(), "{stem}: rule count");
        for rule in &result.rules {
            let k = (key(&result, &rule.antecedents), key(&result, &rule.consequents));
            let want = expected
                .rules
                .get(&k)
                .unwrap_or_else(|| panic!("{stem}: extra rule {k:?}"));
            let have = [rule.support, rule.confidence, rule.lift, rule.leverage, rule.conviction];
            for (h, w) in have.iter().zip(want) {
                assert!(close(*h, *w), "{stem} {k:?}: {have:?} vs {want:?}");
            }
        }
        eprintln!(
            "{stem}: {} itemsets, {} rules equal",
            result.itemsets.len(),
            result.rules.len()
        );
    }
}

#[test]
fn t10i4d20k_equals_mlxtend() {
    let text = read("T10I4D20K.dat");
    let baskets = Baskets::from_fimi_str(&text);
    assert_eq!(baskets.len(), 20_000);
    compare("t10i4d20k", &baskets, 3);
}

#[test]
fn kesher_csv_demo_equals_mlxtend() {
    let text = read("demo_baskets_3000.csv");
    let baskets = Baskets::from_kesher_csv_str(&text, &CsvOptions::default()).unwrap();
    assert_eq!(baskets.len(), 3000);
    compare("demo3000", &baskets, 2);
}

#[test]
fn cli_json_carries_the_reference_numbers() {
    let text = read("demo_baskets_3000.csv");
    let expected = reference("demo3000_0.005");
    let mut params = MineParams::new(0.005);
    params.min_confidence = 0.0;
    let json = run_mine_command(text.as_bytes(), InputFormat::KesherCsv, &params).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let names = |v: &serde_json::Value| -> String {
        let items: Vec<&str> = v.as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
        items.join(" ")
    };
    let number = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) if s == "inf" => f64::INFINITY,
        v => v.as_f64().unwrap(),
    };
    let itemsets = doc["itemsets"].as_array().unwrap();
    assert_eq!(itemsets.len(), expected.itemsets.len());
    // serde_json's default float parser may be 1 ulp off, hence `close` rather than ==.
    for set in itemsets {
        let want = expected.itemsets[&names(&set["items"])];
        assert!(close(number(&set["support"]), want));
    }
    let rules = doc["rules"].as_array().unwrap();
    assert_eq!(rules.len(), expected.rules.len());
    for rule in rules {
        let want = expected.rules[&(names(&rule["antecedents"]), names(&rule["consequents"]))];
        let have = ["support", "confidence", "lift", "leverage", "conviction"].map(|k| number(&rule[k]));
        for (h, w) in have.iter().zip(want) {
            assert!(close(*h, w), "{have:?} vs {want:?}");
        }
    }
}

#[test]
fn kesher_demo_business_equals_mlxtend() {
    // kesher's own demo business, exported as kesher writes it: refunds and amount-only lines
    // are in the file and must stay out of the baskets, on both sides.
    let text = read("kesher_demo_800.csv");
    let baskets = Baskets::from_kesher_csv_str(&text, &CsvOptions::default()).unwrap();
    assert!(baskets.len() > 4000, "{} baskets", baskets.len());
    compare("kesherdemo", &baskets, 2);
}
