//! The `kesher baskets mine --json` document, written by hand for a stable, exact format
//!
//! `{"itemsets":[{"items":[…],"support":…}],"rules":[{"antecedents":[…],"consequents":[…],
//! "support":…,"confidence":…,"lift":…,"leverage":…,"conviction":…}]}` on one line, in
//! [`MineResult`]'s order. Numbers are the shortest decimal that reads back as the same f64
//! (never an exponent), so they compare exactly with Python's floats. JSON has no infinity:
//! a conviction of +inf (confidence = 1, mlxtend's `inf`) is written as the string `"inf"`
//! (and a NaN, which the metrics cannot produce, as `"nan"`).

use std::fmt::Write;

use crate::mine::MineResult;

/// Renders the result as the JSON document described in the module docs.
pub fn to_json(result: &MineResult) -> String {
    let mut out = String::with_capacity(64 + 48 * result.itemsets.len() + 160 * result.rules.len());
    out.push_str("{\"itemsets\":[");
    for (i, set) in result.itemsets.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"items\":");
        push_items(&mut out, result, &set.items);
        out.push_str(",\"support\":");
        push_number(&mut out, set.support);
        out.push('}');
    }
    out.push_str("],\"rules\":[");
    for (i, rule) in result.rules.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"antecedents\":");
        push_items(&mut out, result, &rule.antecedents);
        out.push_str(",\"consequents\":");
        push_items(&mut out, result, &rule.consequents);
        for (key, value) in [
            ("support", rule.support),
            ("confidence", rule.confidence),
            ("lift", rule.lift),
            ("leverage", rule.leverage),
            ("conviction", rule.conviction),
        ] {
            out.push_str(",\"");
            out.push_str(key);
            out.push_str("\":");
            push_number(&mut out, value);
        }
        out.push('}');
    }
    out.push_str("]}");
    out
}

fn push_items(out: &mut String, result: &MineResult, ids: &[u32]) {
    out.push('[');
    for (i, &id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_string(out, result.item_name(id));
    }
    out.push(']');
}

fn push_number(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("\"nan\"");
    } else if value == f64::INFINITY {
        out.push_str("\"inf\"");
    } else if value == f64::NEG_INFINITY {
        out.push_str("\"-inf\"");
    } else {
        // Display for f64 is the shortest round-trip form, without exponent.
        let _ = write!(out, "{value}");
    }
}

/// A JSON string literal (RFC 8259 escapes).
pub(crate) fn push_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mine::{Itemset, Rule};

    #[test]
    fn writes_the_documented_shape() {
        let result = MineResult {
            items: vec!["a\"b".to_owned(), "c".to_owned()],
            baskets: 4,
            itemsets: vec![Itemset {
                items: vec![0, 1],
                count: 1,
                support: 0.25,
            }],
            rules: vec![Rule {
                antecedents: vec![0],
                consequents: vec![1],
                support: 0.25,
                antecedent_support: 0.25,
                consequent_support: 0.5,
                confidence: 1.0,
                lift: 2.0,
                leverage: 0.125,
                conviction: f64::INFINITY,
            }],
        };
        assert_eq!(
            to_json(&result),
            r#"{"itemsets":[{"items":["a\"b","c"],"support":0.25}],"rules":[{"antecedents":["a\"b"],"consequents":["c"],"support":0.25,"confidence":1,"lift":2,"leverage":0.125,"conviction":"inf"}]}"#
        );
    }

    #[test]
    fn numbers_round_trip() {
        for x in [0.1 + 0.2, 1e-7, 5e-5, 123456.789, 1.0 / 3.0] {
            let mut s = String::new();
            push_number(&mut s, x);
            assert!(!s.contains('e'), "{s}");
            assert_eq!(s.parse::<f64>().unwrap(), x);
        }
    }

    #[test]
    fn empty_result() {
        assert_eq!(to_json(&MineResult::default()), r#"{"itemsets":[],"rules":[]}"#);
    }
}
