//! Bounds on every text the API takes, checked before a handler runs: search text, names,
//! free text, templates, JSON attributes, query parameters and paths. A value over its bound is
//! a 422 naming the field, so that no input reaches a database or an engine unbounded.
//!
//! The limits are in characters (Unicode scalar values), listed in the README ("Input limits").

use crate::error::AppError;
use serde_json::Value;

/// Search text (`GET /api/customers?q=`).
pub const SEARCH_MAX_CHARS: usize = 200;
/// Names, identifiers, reasons and other one-line fields.
pub const SHORT_MAX_CHARS: usize = 200;
/// Any other string, in a body or a query, unless named below.
pub const TEXT_MAX_CHARS: usize = 1_000;
/// Fields allowed to be longer: a contact's text, a segment expression, a message template.
pub const LONG_FIELDS: &[(&str, usize)] = &[("text", 10_000), ("expression", 4_000), ("template", 20_000)];
/// One-line fields held to `SHORT_MAX_CHARS`.
pub const SHORT_FIELDS: &[&str] = &[
    "q",
    "name",
    "display_name",
    "username",
    "member_no",
    "member",
    "card",
    "phone",
    "external_id",
    "sku",
    "category",
    "city",
    "region",
    "income_band",
    "language",
    "reason",
    "idempotency_key",
    "branch",
    "employee",
    "time_zone",
    "subject",
];
/// A customer's `attributes`, as compact JSON.
pub const ATTRIBUTES_MAX_BYTES: usize = 16 * 1024;
/// An object key anywhere in a body.
pub const KEY_MAX_CHARS: usize = 200;
/// Nesting of a JSON body.
pub const MAX_DEPTH: usize = 32;
/// A request path, percent-encoded.
pub const PATH_MAX_BYTES: usize = 2_048;

/// The bound on a field called `name`.
pub fn max_chars(name: &str) -> usize {
    if name == "q" {
        return SEARCH_MAX_CHARS;
    }
    if let Some((_, n)) = LONG_FIELDS.iter().find(|(f, _)| *f == name) {
        return *n;
    }
    if SHORT_FIELDS.contains(&name) {
        SHORT_MAX_CHARS
    } else {
        TEXT_MAX_CHARS
    }
}

fn too_long(field: &str, max: usize) -> AppError {
    AppError::invalid(field, format!("{field} is longer than {max} characters"))
        .coded("text.too_long")
        .param("max", max)
}

/// Check a string named `field` (the last key that leads to it) at `path`.
fn check_str(path: &str, field: &str, s: &str) -> Result<(), AppError> {
    let max = max_chars(field);
    // Bytes bound characters from above: count only when it could matter.
    if s.len() > max && s.chars().count() > max {
        return Err(too_long(path, max));
    }
    Ok(())
}

/// Check every string and key of a JSON body against its bound.
pub fn check_json(v: &Value) -> Result<(), AppError> {
    walk(v, "", "", 0)
}

fn walk(v: &Value, path: &str, field: &str, depth: usize) -> Result<(), AppError> {
    if depth > MAX_DEPTH {
        return Err(AppError::invalid(
            if path.is_empty() { "body" } else { path },
            format!("nested deeper than {MAX_DEPTH} levels"),
        )
        .coded("json.too_deep")
        .param("max", MAX_DEPTH));
    }
    match v {
        Value::String(s) => check_str(path, field, s),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(x, &format!("{path}[{i}]"), field, depth + 1)?;
            }
            Ok(())
        }
        Value::Object(m) => {
            if field == "attributes" && serde_json::to_string(v).map_or(0, |s| s.len()) > ATTRIBUTES_MAX_BYTES {
                return Err(AppError::invalid(
                    path,
                    format!("attributes are larger than {ATTRIBUTES_MAX_BYTES} bytes"),
                )
                .coded("attributes.too_large")
                .param("max", ATTRIBUTES_MAX_BYTES));
            }
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if k.chars().count() > KEY_MAX_CHARS {
                    return Err(AppError::invalid(
                        if path.is_empty() { "body" } else { path },
                        format!("a key is longer than {KEY_MAX_CHARS} characters"),
                    )
                    .coded("json.key.too_long")
                    .param("max", KEY_MAX_CHARS));
                }
                // Inside attributes every string is free text under the general bound.
                let f = if field == "attributes" {
                    "attributes"
                } else {
                    k.as_str()
                };
                walk(x, &p, f, depth + 1)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Check every parameter of a query string (percent-decoded) against its bound.
pub fn check_query(query: Option<&str>) -> Result<(), AppError> {
    let Some(q) = query else { return Ok(()) };
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k.len() > KEY_MAX_CHARS {
            return Err(AppError::invalid(
                "query",
                format!("a parameter name is longer than {KEY_MAX_CHARS} characters"),
            )
            .coded("query.parameter.name_too_long")
            .param("max", KEY_MAX_CHARS));
        }
        let key = decode(k);
        let max = max_chars(&key);
        // Each character takes at least one byte, at most 12 percent-encoded: decode only a
        // value that could be over.
        if v.len() > max && decode(v).chars().count() > max {
            return Err(too_long(&key, max));
        }
    }
    Ok(())
}

/// `application/x-www-form-urlencoded` decoding, lossy (invalid UTF-8 is the extractor's to refuse).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: Option<&u8>| c.and_then(|c| (*c as char).to_digit(16));
        match (b[i], hex(b.get(i + 1)), hex(b.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_field_has_its_bound() {
        assert_eq!(max_chars("q"), SEARCH_MAX_CHARS);
        assert_eq!(max_chars("name"), SHORT_MAX_CHARS);
        assert_eq!(max_chars("template"), 20_000);
        assert_eq!(max_chars("whatever"), TEXT_MAX_CHARS);
        let e = check_json(&json!({"lines": [{"sku": "x".repeat(201)}]})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("lines[0].sku"));
        assert!(
            check_json(&json!({"name": "א".repeat(200)})).is_ok(),
            "characters, not bytes"
        );
        let e = check_json(&json!({"attributes": {"a": "x".repeat(1_001)}})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("attributes.a"));
        let big: serde_json::Map<String, Value> = (0..100).map(|i| (format!("k{i}"), json!("x".repeat(200)))).collect();
        let e = check_json(&json!({"attributes": big})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("attributes"));
        let e = check_query(Some(&format!("limit=5&q={}", "%41".repeat(201)))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("q"));
        assert!(check_query(Some(&format!("q={}", "%D7%90".repeat(200)))).is_ok());
    }
}
