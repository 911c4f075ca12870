use super::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The `.rs` files under every crate's `src/`, tests left out.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "tests" {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") {
                out.push(path);
            }
        }
    }
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&crates).unwrap().flatten() {
        walk(&entry.path().join("src"), &mut out);
    }
    assert!(out.len() > 50, "found only {} source files under {crates:?}", out.len());
    out
}

/// Where a code is written: the first string argument of an error constructor (the second of
/// `AppError::new`, after the status), a `code:` field, or anything a function named `code` or
/// `…_code` returns.
const MARKERS: &[(&str, usize)] = &[
    ("DomainError::new(", 0),
    ("LoyaltyError::invalid(", 0),
    ("SegmentError::invalid(", 0),
    ("bad(", 0),
    ("coded(", 0),
    ("Error::at(", 0),
    ("RowError::col(", 0),
    ("RowError::line(", 0),
    ("AppError::new(", 1),
    ("code: ", 0),
];

/// The string literal at the start of `text` (after blanks), if one is.
fn literal_at(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

/// Every code written in `text`.
fn codes_in(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (marker, skip) in MARKERS {
        for (at, _) in text.match_indices(marker) {
            let mut args = &text[at + marker.len()..];
            for _ in 0..*skip {
                args = args.split_once(',').map_or("", |(_, rest)| rest);
            }
            if let Some(code) = literal_at(args) {
                found.push(code.to_string());
            }
        }
    }
    // The bodies of functions named `code` or `…_code` that return `&'static str`.
    for (at, _) in text.match_indices("-> &'static str {") {
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let head = &text[line_start..at];
        let Some(fn_at) = head.find("fn ") else { continue };
        let name = head[fn_at + 3..].split('(').next().unwrap_or("");
        if !(name == "code" || name.ends_with("_code")) {
            continue;
        }
        let indent = &head[..head.len() - head.trim_start().len()];
        let body = &text[at..];
        let end = body.find(&format!("\n{indent}}}")).unwrap_or(body.len());
        // A returned literal stands after `=>` or alone on its line.
        for line in body[..end].lines() {
            let line = line.trim();
            let expr = line.rsplit_once("=> ").map_or(line, |(_, e)| e);
            if let Some(code) = literal_at(expr) {
                found.push(code.to_string());
            }
        }
    }
    found
}

#[test]
fn every_code_used_in_the_sources_is_in_the_catalogue() {
    let known: BTreeSet<&str> = CATALOGUE.iter().map(|c| c.code).collect();
    let mut used = BTreeSet::new();
    let mut missing = Vec::new();
    for path in sources() {
        let text = std::fs::read_to_string(&path).unwrap();
        for code in codes_in(&text) {
            // A code has a dot; the few one-word codes (`internal`, `rate_limited`, ...) are
            // counted as used when seen, and a one-word literal is otherwise a field name.
            let dotted = code.contains('.');
            if !well_formed(&code) || (!dotted && !known.contains(code.as_str())) {
                continue; // a message or a field name, not a code
            }
            if !known.contains(code.as_str()) {
                missing.push(format!("{}: {code}", path.display()));
            }
            used.insert(code);
        }
    }
    assert!(
        missing.is_empty(),
        "codes missing from kesher_core::codes::CATALOGUE:\n{}",
        missing.join("\n")
    );
    // And the other way round: a code nobody raises is a stale entry.
    let unused: Vec<&str> = known.iter().copied().filter(|c| !used.contains(*c)).collect();
    assert!(unused.is_empty(), "catalogued codes no source raises: {unused:?}");
}

#[test]
fn the_scan_finds_codes_in_each_way_they_are_written() {
    let text = r#"
        DomainError::new("a.one", "f", "x");
    fn name(&self) -> &'static str {
        "not.a_code"
    }
        bad(
            "a.two", "why");
        AppError::invalid("f", "m").coded("a.three");
        AppError::new(StatusCode::FORBIDDEN, "a.three_b", None, p, "m");
        code: "a.four",
    fn code(&self) -> &'static str {
        match self {
            X { kind: "k" } => "a.five",
            Y => {
                "a.six"
            }
        }
    }
    "#;
    assert_eq!(
        codes_in(text),
        ["a.one", "a.two", "a.three", "a.three_b", "a.four", "a.five", "a.six"]
    );
}

#[test]
fn codes_are_unique_and_well_formed() {
    let mut seen = BTreeSet::new();
    for entry in CATALOGUE {
        assert!(well_formed(entry.code), "{}", entry.code);
        assert!(seen.insert(entry.code), "{} is listed twice", entry.code);
        for p in entry.params {
            assert!(
                entry.message.contains(&format!("{{{p}}}")),
                "{}: the message does not name {{{p}}}",
                entry.code
            );
        }
    }
    assert!(!well_formed("Points.insufficient") && !well_formed("points..x") && !well_formed(""));
}

#[test]
fn the_documented_catalogue_is_the_code() {
    let doc = include_str!("../../../../docs/error-codes.md");
    assert!(
        doc.contains(&catalogue_markdown()),
        "docs/error-codes.md is out of date; paste in:\n{}",
        catalogue_markdown()
    );
}
