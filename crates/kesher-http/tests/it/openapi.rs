//! The OpenAPI document says what the API answers: every operation lists the statuses its kind
//! can produce, each error with the error body, and whatever status a probe provokes from the
//! running server (no credential, a refused role, a broken or oversized body, a bad path or
//! query) is one the document lists for that operation.

use crate::support::{check_error_body, spawn_app};
use kesher_auth::{Action, Role};
use serde_json::Value;
use std::collections::BTreeSet;

fn documented(doc: &Value, method: &str, path: &str) -> Option<Value> {
    let op = &doc["paths"][path][method.to_lowercase()];
    op.is_object().then(|| op.clone())
}

fn statuses(op: &Value) -> BTreeSet<u16> {
    op["responses"]
        .as_object()
        .map(|r| r.keys().filter_map(|k| k.parse().ok()).collect())
        .unwrap_or_default()
}

fn parameters_in(op: &Value, place: &str) -> bool {
    op["parameters"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
}

fn json_body(op: &Value) -> bool {
    op["requestBody"]["content"]
        .as_object()
        .is_some_and(|c| c.keys().any(|m| m == "application/json" || m.ends_with("+json")))
}

/// The routes of the API description: the table less the page and the document itself.
fn api_routes() -> Vec<kesher_http::auth::RouteRule> {
    kesher_http::route_table()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/") && r.path != "/api/openapi.json")
        .collect()
}

#[test]
fn every_operation_lists_the_statuses_of_its_kind() {
    let app = spawn_app();
    let (s, doc) = app.get("/api/openapi.json");
    assert_eq!(s, 200);
    let mut checked = 0;
    for r in api_routes() {
        let (m, p) = (r.method.as_str(), r.path);
        let op = documented(&doc, m, p).unwrap_or_else(|| panic!("{m} {p} is not documented"));
        let have = statuses(&op);
        let mut need: Vec<(u16, &str)> = Vec::new();
        if r.action != Action::Public {
            need.extend([(401, "authenticated"), (403, "authenticated")]);
            assert!(
                op["security"].as_array().is_some_and(|s| !s.is_empty()),
                "{m} {p} needs credentials but names none"
            );
        }
        if matches!(
            r.action,
            Action::TransactionsRecord | Action::CustomersLookup | Action::PointsRedeem
        ) {
            need.push((429, "rate limited"));
            assert!(
                op["responses"]["429"]["headers"]["Retry-After"].is_object(),
                "{m} {p}: 429 without Retry-After"
            );
        }
        if p.contains('{') {
            assert!(parameters_in(&op, "path"), "{m} {p} documents no path parameter");
            need.extend([(400, "path"), (404, "path"), (414, "path"), (422, "path")]);
        }
        if parameters_in(&op, "query") {
            need.extend([(400, "query"), (422, "query")]);
        }
        if json_body(&op) {
            need.extend([
                (400, "JSON body"),
                (413, "JSON body"),
                (415, "JSON body"),
                (422, "JSON body"),
            ]);
        }
        for (status, why) in need {
            assert!(
                have.contains(&status),
                "{m} {p} ({why}) does not list {status}: {have:?}"
            );
        }
        assert!(have.iter().any(|s| (200..300).contains(s)), "{m} {p} lists no success");
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('2') {
                continue;
            }
            assert_eq!(
                response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                "{m} {p}: {status} without the error body"
            );
        }
        checked += 1;
    }
    assert!(checked > 60, "only {checked} operations");
    let detail = &doc["components"]["schemas"]["ErrorDetail"];
    for field in ["code", "params", "message", "field"] {
        assert!(detail["properties"][field].is_object(), "ErrorDetail lacks {field}");
    }
}

/// A path with its parameters filled by `value`.
fn fill(path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map_or(rest.len(), |e| start + e + 1);
        let name = &rest[start + 1..end - 1];
        out.push_str(match (name, value) {
            ("kind", "") => "customers",
            ("id", "") => "0190a0b0-0000-7000-8000-000000000001",
            (_, "") => "nope",
            _ => value,
        });
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// A request body: its content type (none when empty), its bytes, and whether it is sent in
/// chunks (so that no length is declared and the limit is met while reading).
type Body<'a> = (&'a str, Vec<u8>, bool);

/// Send a request; the status and the body (checked against the catalogue when an error).
fn send(base: &str, token: Option<&str>, method: &str, path: &str, body: Option<Body>) -> (u16, Value) {
    let mut req = ureq::request(method, &format!("{base}{path}"));
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let res = match body {
        Some((content_type, bytes, chunked)) => {
            if !content_type.is_empty() {
                req = req.set("Content-Type", content_type);
            }
            if chunked {
                req.send(std::io::Cursor::new(bytes))
            } else {
                req.send_bytes(&bytes)
            }
        }
        None => req.call(),
    };
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {path}: {e}"),
    };
    let status = resp.status();
    let is_json = resp.content_type() == "application/json";
    let text = resp.into_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if status >= 400 {
        assert!(is_json, "{method} {path}: {status} is not JSON: {json}");
        check_error_body(&json, &format!("{method} {path}"));
    }
    (status, json)
}

/// Send headers declaring a JSON body one byte over the limit, and no body; the answer.
fn declared_too_large(base: &str, token: &str, method: &str, path: &str) -> (u16, Value) {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        kesher_http::JSON_BODY_LIMIT + 1
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = reply.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let json = serde_json::from_str(body).unwrap_or(Value::String(body.into()));
    check_error_body(&json, &format!("{method} {path} (declared too large)"));
    (status, json)
}

#[test]
fn every_status_a_probe_provokes_is_documented() {
    let app = spawn_app();
    app.seed();
    let (_, doc) = app.get("/api/openapi.json");
    let tokens: Vec<String> = Role::ALL
        .iter()
        .map(|&role| app.token_for(role, role.needs_branch().then_some("B1")))
        .collect();
    let oversized = vec![b' '; kesher_http::JSON_BODY_LIMIT + 1];
    let mut probes = 0;
    for r in api_routes() {
        let (m, p) = (r.method.as_str(), r.path);
        let op = documented(&doc, m, p).unwrap_or_else(|| panic!("{m} {p} is not documented"));
        let have = statuses(&op);
        let takes_body = m != "GET" && m != "DELETE";
        let json = |b: &str| Some(("application/json", b.as_bytes().to_vec(), false));
        let empty_object = if takes_body { json("{}") } else { None };
        let path = fill(p, "");
        let mut answers: Vec<(String, u16, Value)> = Vec::new();
        let mut probe = |what: &str, token: Option<&str>, path: &str, body: Option<Body>| {
            let (s, v) = send(&app.base, token, m, path, body);
            answers.push((what.to_string(), s, v));
        };
        probe("no credential", None, &path, empty_object.clone());
        probe("a revoked-looking token", Some("ksr_nope"), &path, empty_object.clone());
        for t in &tokens {
            probe("each role", Some(t), &path, empty_object.clone());
        }
        let admin = Some(app.token.as_str());
        if takes_body && json_body(&op) {
            probe("broken JSON", admin, &path, json("{"));
            probe("no content type", admin, &path, Some(("", b"{}".to_vec(), false)));
            probe("text/plain", admin, &path, Some(("text/plain", b"{}".to_vec(), false)));
            probe("an array", admin, &path, json("[1]"));
            probe("a wrong type", admin, &path, json(r#"{"name": 5, "limit": "x"}"#));
            probe("an unknown field", admin, &path, json(r#"{"no_such_field": true}"#));
            probe(
                "too large, in chunks",
                admin,
                &path,
                Some(("application/json", oversized.clone(), true)),
            );
        }
        if p.contains('{') {
            probe(
                "a bad parameter",
                admin,
                &fill(p, "not%20an%20id"),
                empty_object.clone(),
            );
            probe("not UTF-8", admin, &fill(p, "%FF"), empty_object.clone());
            probe("a long path", admin, &fill(p, &"x".repeat(3_000)), empty_object.clone());
        }
        if parameters_in(&op, "query") {
            probe(
                "a bad query",
                admin,
                &format!("{path}?limit=x&offset=-1"),
                empty_object.clone(),
            );
            let long = format!("{path}?q={}&name={0}", "y".repeat(1_001));
            probe("a long query value", admin, &long, empty_object.clone());
            probe(
                "an empty query value",
                admin,
                &format!("{path}?limit="),
                empty_object.clone(),
            );
        }
        if takes_body && json_body(&op) {
            // A declared length over the limit is refused before the body is read: the probe
            // declares it and sends none (sending it would meet a closed connection).
            let (s, v) = declared_too_large(&app.base, &app.token, m, &path);
            answers.push(("a declared length over the limit".into(), s, v));
        }
        for (what, s, v) in answers {
            assert!(
                have.contains(&s),
                "{m} {p} answered {what} with {s}, which it does not document ({have:?}): {v}"
            );
            probes += 1;
        }
    }
    assert!(probes > 500, "only {probes} probes");
}
