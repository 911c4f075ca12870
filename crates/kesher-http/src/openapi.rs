//! The statuses every operation shares, added to the OpenAPI document from what the operation
//! is: authenticated (route table), rate limited, with path or query parameters, with a JSON or
//! another body. A handler's annotation documents what is its own (a 409 for a taken
//! identifier, a 404 for a missing customer); what the access middleware, the extractors and
//! the body and path limits answer is added here, so that no operation can forget it.

use kesher_auth::Action;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, Ref, RefOr, Response};

/// The error body's schema, by reference.
fn error_content() -> Content {
    Content::new(Some(Ref::from_schema_name("ErrorBody")))
}

/// Adds to every documented operation the responses of its kind (see the module's text), each
/// with the error body `ErrorBody`, and its security requirement.
pub struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let table = crate::route_table();
        for (path, item) in doc.paths.paths.iter_mut() {
            let operations = [
                ("GET", &mut item.get),
                ("PUT", &mut item.put),
                ("POST", &mut item.post),
                ("DELETE", &mut item.delete),
                ("PATCH", &mut item.patch),
            ];
            for (method, operation) in operations {
                let Some(operation) = operation.as_mut() else {
                    continue;
                };
                let action = table
                    .iter()
                    .find(|r| r.method.as_str() == method && r.path == path)
                    .map(|r| r.action);
                complete(operation, action);
            }
        }
    }
}

/// What the operation is, as far as its common responses go.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Needs a token or a session (anything but `Action::Public`).
    pub authenticated: bool,
    /// Counted against a point-of-sale rate limit.
    pub rate_limited: bool,
    pub path_parameters: bool,
    pub query_parameters: bool,
    /// Takes a JSON body (`application/json` or a JSON media type such as merge-patch).
    pub json_body: bool,
    /// Takes a body of another type (a CSV file).
    pub other_body: bool,
}

impl Kind {
    pub fn of(operation: &Operation, action: Option<Action>) -> Kind {
        let parameters_in = |place: ParameterIn| operation.parameters.iter().flatten().any(|p| p.parameter_in == place);
        let media: Vec<&String> = operation.request_body.iter().flat_map(|b| b.content.keys()).collect();
        let json = |m: &str| m == "application/json" || m.ends_with("+json");
        Kind {
            // An operation missing from the route table is treated as authenticated: the
            // middleware refuses it (fail closed).
            authenticated: action != Some(Action::Public),
            rate_limited: matches!(
                action,
                Some(Action::TransactionsRecord | Action::CustomersLookup | Action::PointsRedeem)
            ),
            path_parameters: parameters_in(ParameterIn::Path),
            query_parameters: parameters_in(ParameterIn::Query),
            json_body: media.iter().any(|m| json(m)),
            other_body: media.iter().any(|m| !json(m)),
        }
    }

    /// Each status this kind of operation can answer besides its own, with why.
    pub fn statuses(self) -> Vec<(u16, Vec<String>)> {
        let mut out: Vec<(u16, Vec<String>)> = Vec::new();
        let mut add = |status: u16, why: String| match out.iter_mut().find(|(s, _)| *s == status) {
            Some((_, reasons)) => reasons.push(why),
            None => out.push((status, vec![why])),
        };
        if self.authenticated {
            add(
                401,
                "no credential, or an unknown, expired or revoked token or session (`auth.unauthenticated`)"
                    .to_string(),
            );
            add(403, "the caller's role or token scope does not allow it, the record belongs to another branch, or a signed-in browser sent no CSRF token (`auth.*`)".to_string());
        }
        if self.rate_limited {
            add(
                429,
                "too many point-of-sale requests from this caller (`rate_limited`, `Retry-After`)".to_string(),
            );
        }
        if self.path_parameters {
            add(
                400,
                "the path is not UTF-8 once percent-decoded (`path.not_utf8`)".to_string(),
            );
            add(404, "no such record (`*.not_found`)".to_string());
            add(
                414,
                format!(
                    "the path is longer than {} bytes (`path.too_long`)",
                    crate::limits::PATH_MAX_BYTES
                ),
            );
            add(422, "a path parameter is not a valid value (`id.invalid`)".to_string());
        }
        if self.query_parameters {
            add(
                400,
                "a query parameter does not parse, is unknown or out of range (`query.*`)".to_string(),
            );
            add(
                422,
                "a query parameter is longer than its bound (`text.too_long`)".to_string(),
            );
        }
        if self.json_body {
            add(400, "the body is not valid JSON (`json.syntax`)".to_string());
            add(
                413,
                format!(
                    "the body is larger than {} bytes (`body.too_large`)",
                    crate::JSON_BODY_LIMIT
                ),
            );
            add(415, "the body is not sent as JSON (`json.content_type`)".to_string());
            add(422, "a field is missing, unknown, of the wrong type, too long or invalid (`json.*`, `text.too_long`, the field's own code); `field` names it".to_string());
        }
        if self.other_body {
            add(
                413,
                format!(
                    "the body is larger than {} bytes (`body.too_large`)",
                    crate::IMPORT_BODY_LIMIT
                ),
            );
        }
        out
    }
}

/// Add the responses of the operation's kind that its annotation does not list, give every
/// error response the error body, and name the credentials it takes.
fn complete(operation: &mut Operation, action: Option<Action>) {
    let kind = Kind::of(operation, action);
    for (status, reasons) in kind.statuses() {
        let text = reasons.join("; ");
        let mut first = text.chars();
        let description = match first.next() {
            Some(c) => c.to_uppercase().chain(first).collect(),
            None => text,
        };
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(r) = response else { continue };
        if !status.starts_with('2') && r.content.is_empty() {
            r.content.insert("application/json".into(), error_content());
        }
        if status == "429" {
            r.headers.entry("Retry-After".into()).or_insert_with(|| {
                let mut h = Header::new(Object::with_type(Type::Integer));
                h.description = Some("Seconds to wait before trying again".into());
                h
            });
        }
    }
    if kind.authenticated && operation.security.is_none() {
        let none: [&str; 0] = [];
        operation.security = Some(vec![
            SecurityRequirement::new("token", none),
            SecurityRequirement::new("session", none),
        ]);
    }
}
