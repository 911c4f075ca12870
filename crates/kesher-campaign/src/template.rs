//! A message template's variables against what the data provides: a template that names a
//! variable the data lacks is refused at preview and at launch, never sent with an empty
//! string in its place.
//!
//! The variables are minijinja's static analysis of the template
//! (`Template::undeclared_variables` with nested lookups: `customer.first_name`), less the
//! environment's globals (`range`, `namespace` …). What the data provides is a set of dotted
//! paths (`customer.first_name`, `nbo`), written by hand ([`check`]) or read from a sample of
//! the context itself ([`provided_paths`]); a listed path provides its prefixes too
//! (`customer.first_name` provides `customer`). A path the template uses is satisfied when each
//! of its prefixes is provided, down to one that is provided as a whole (no provided path goes
//! deeper into it): `nbo.name` is satisfied by `nbo` alone (an object the check does not look
//! into), not by `nbo.sku` alone.

use crate::Result;
use kesher_core::DomainError;
use std::collections::BTreeSet;

/// A template's syntax error, with the template's `key` in the definition
/// (`templates.he.body`) as a parameter.
fn syntax(key: &str, error: &minijinja::Error) -> DomainError {
    let reason = describe(error);
    DomainError::new("campaign.template.syntax", "template", format!("{key}: {reason}"))
        .with("key", key)
        .with("reason", reason)
}

/// `line N: what is wrong`.
fn describe(error: &minijinja::Error) -> String {
    let detail = error.detail().map_or_else(|| error.to_string(), str::to_string);
    match error.line() {
        Some(line) => format!("line {line}: {detail}"),
        None => detail,
    }
}

/// Why `source` is not a template minijinja reads, if it is not.
pub fn syntax_error(source: &str) -> Option<String> {
    environment().template_from_str(source).err().map(|e| describe(&e))
}

/// The environment templates are read in: minijinja's defaults (its filters and globals).
fn environment() -> minijinja::Environment<'static> {
    minijinja::Environment::new()
}

/// Whether `source` is a template minijinja reads (`key` names it in an error).
pub fn parse(key: &str, source: &str) -> Result<()> {
    let env = environment();
    env.template_from_str(source).map(|_| ()).map_err(|e| syntax(key, &e))
}

/// The variables `source` names (nested lookups as dotted paths), the environment's globals
/// left out, sorted.
pub fn variables(key: &str, source: &str) -> Result<BTreeSet<String>> {
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| syntax(key, &e))?;
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    Ok(template
        .undeclared_variables(true)
        .into_iter()
        .filter(|name| !globals.contains(name.split('.').next().unwrap_or("")))
        .collect())
}

/// Whether `path` is provided: listed, or the prefix of a listed path.
fn is_provided(path: &str, provided: &BTreeSet<String>) -> bool {
    provided.contains(path) || has_deeper(path, provided)
}

/// Whether a provided path goes deeper than `path`.
fn has_deeper(path: &str, provided: &BTreeSet<String>) -> bool {
    let deeper = format!("{path}.");
    provided
        .range(deeper.clone()..)
        .next()
        .is_some_and(|p| p.starts_with(&deeper))
}

/// The first prefix of `used` that `provided` lacks, if any.
fn missing_prefix(used: &str, provided: &BTreeSet<String>) -> Option<String> {
    let mut prefix = String::new();
    for segment in used.split('.') {
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(segment);
        if !is_provided(&prefix, provided) {
            return Some(prefix);
        }
        if !has_deeper(&prefix, provided) {
            return None; // provided whole: the check does not look into it
        }
    }
    None
}

/// The variables `source` names that `provided` lacks (each as its first missing prefix),
/// sorted.
pub fn missing(key: &str, source: &str, provided: &BTreeSet<String>) -> Result<Vec<String>> {
    Ok(missing_of(&variables(key, source)?, provided))
}

/// The variables of `used` (a template's [`variables`]) that `provided` lacks, each as its first
/// missing prefix, sorted.
pub fn missing_of(used: &BTreeSet<String>, provided: &BTreeSet<String>) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    for u in used {
        if let Some(m) = missing_prefix(u, provided) {
            out.insert(m);
        }
    }
    out.into_iter().collect()
}

/// Refuse `source` (named `key`) when it names a variable `provided` lacks: the error names the
/// first such variable (alphabetically) and lists what is provided.
pub fn check(key: &str, source: &str, provided: &BTreeSet<String>) -> Result<()> {
    check_used(key, &variables(key, source)?, provided)
}

/// [`check`] with the template's variables already read (a launch reads them once for every
/// recipient).
pub fn check_used(key: &str, used: &BTreeSet<String>, provided: &BTreeSet<String>) -> Result<()> {
    let missing = missing_of(used, provided);
    let Some(first) = missing.first() else {
        return Ok(());
    };
    let tops: BTreeSet<&str> = provided.iter().map(|p| p.split('.').next().unwrap_or("")).collect();
    let known = tops.into_iter().collect::<Vec<_>>().join(", ");
    Err(DomainError::new(
        "campaign.template.variable",
        "template",
        format!("{key}: the data has no variable {first}; it provides {known}"),
    )
    .with("key", key)
    .with("variable", first.as_str())
    .with("known", known))
}

/// The dotted paths of every object key in `data` (arrays and scalars are leaves; a key whose
/// value is null is provided: the template may test it with `{% if %}`).
pub fn provided_paths(data: &serde_json::Value) -> BTreeSet<String> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut BTreeSet<String>) {
        if let serde_json::Value::Object(map) = value {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                walk(&path, inner, out);
                out.insert(path);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk("", data, &mut out);
    out
}
