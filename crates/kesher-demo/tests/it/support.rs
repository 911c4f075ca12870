//! Generates a small demo business once per configuration and parses it with the `csv` crate

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use kesher_demo::{DemoConfig, DemoSinks, DemoStats, generate};

/// One generated business: raw bytes and parsed rows (header first) per file.
pub struct Business {
    pub stats: DemoStats,
    pub raw: DemoSinks<Vec<u8>>,
    pub end: jiff::civil::Date,
}

pub type Rows = Vec<HashMap<String, String>>;

pub const CUSTOMERS: usize = 2000;

pub fn config(customers: usize, seed: u64) -> DemoConfig {
    DemoConfig {
        customers,
        seed,
        end: jiff::civil::date(2025, 6, 30),
        now: None,
    }
}

pub fn run(cfg: &DemoConfig) -> Business {
    let mut sinks = DemoSinks::try_new(|_| Ok::<_, std::io::Error>(Vec::new())).unwrap();
    let stats = generate(cfg, &mut sinks).unwrap();
    Business {
        stats,
        raw: sinks,
        end: cfg.end,
    }
}

/// The shared 2,000-customer business (seed 7), generated once for all tests.
pub fn business() -> &'static Business {
    static B: OnceLock<Business> = OnceLock::new();
    B.get_or_init(|| run(&config(CUSTOMERS, 7)))
}

/// Header and records of a file; fails on ragged rows (the reader is not flexible).
pub fn parse(bytes: &[u8]) -> (Vec<String>, Vec<csv::StringRecord>) {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(bytes);
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let records = r.records().collect::<Result<Vec<_>, _>>().unwrap();
    (header, records)
}

/// Rows of a file as maps from column name to value.
pub fn rows(bytes: &[u8]) -> Rows {
    let (header, records) = parse(bytes);
    records
        .iter()
        .map(|r| header.iter().cloned().zip(r.iter().map(str::to_string)).collect())
        .collect()
}

/// Parsed files of the shared business, cached.
pub fn table(name: &str) -> &'static Rows {
    static T: OnceLock<Mutex<HashMap<String, &'static Rows>>> = OnceLock::new();
    let mut map = T.get_or_init(|| Mutex::new(HashMap::new())).lock().unwrap();
    if let Some(r) = map.get(name) {
        return r;
    }
    let b = business();
    let bytes = match name {
        "branches" => &b.raw.branches,
        "employees" => &b.raw.employees,
        "products" => &b.raw.products,
        "customers" => &b.raw.customers,
        "transactions" => &b.raw.transactions,
        "interactions" => &b.raw.interactions,
        other => panic!("no file {other}"),
    };
    let leaked: &'static Rows = Box::leak(Box::new(rows(bytes)));
    map.insert(name.to_string(), leaked);
    leaked
}

/// E.164 digits (without `+`) of an Israeli or Iranian number in the notations the demo writes.
pub fn normalise_phone(s: &str) -> String {
    let plus = s.trim_start().starts_with('+');
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_string()
    } else if let Some(rest) = digits.strip_prefix("09") {
        format!("989{rest}")
    } else if let Some(rest) = digits.strip_prefix('0') {
        format!("972{rest}")
    } else {
        digits
    }
}

/// Name key for duplicate detection: Arabic yeh/kaf folded to Persian, case and spaces ignored.
pub fn name_key(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{064A}' => '\u{06CC}',
            '\u{0643}' => '\u{06A9}',
            c => c,
        })
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}
