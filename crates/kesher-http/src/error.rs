//! `AppError`: every failure as an HTTP status and a JSON body
//! `{ "error": { "code", "params", "message", "field" } }`; bad input is a 4xx, never a 500.
//! The code is stable and listed with its parameters in kesher_core::codes::CATALOGUE
//! (docs/error-codes.md), so that an interface can say the message in its own language.

use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use kesher_core::{DomainError, Params};
use kesher_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub params: Params,
    pub message: String,
    pub field: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable, e.g. `points.insufficient`, `customer.phone.taken`,
    /// `json.syntax`, `internal`: every code is listed in docs/error-codes.md with its parameters
    /// and English message pattern.
    pub code: String,
    /// The named values the message speaks of (`{"balance": 120, "asked": 400}`), for an
    /// interface that translates the code; empty when the message names none.
    #[schema(value_type = Object)]
    pub params: Params,
    /// The message in English.
    pub message: String,
    /// The field (JSON key, query parameter, CSV column) that is wrong, when one is.
    pub field: Option<String>,
}

impl AppError {
    /// Any error: its status, code, field, parameters and English message.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        field: Option<String>,
        params: Params,
        message: impl Into<String>,
    ) -> Self {
        AppError {
            status,
            code,
            params,
            message: message.into(),
            field,
        }
    }
    /// 422 on `field`; give it its code with [`AppError::coded`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            Some(field.into()),
            Params::new(),
            message,
        )
    }
    /// 400 (a query parameter, a header); give it its code with [`AppError::coded`].
    pub fn bad_request(field: Option<String>, message: impl Into<String>) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", field, Params::new(), message)
    }
    /// 404; give it its code (`<entity>.not_found`) with [`AppError::coded`].
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError::new(StatusCode::NOT_FOUND, "not_found", None, Params::new(), message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!(%message, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            None,
            Params::new(),
            message,
        )
    }
    /// The same error under its stable code.
    pub fn coded(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
    /// The same error with one more named argument.
    pub fn param(mut self, name: &str, value: impl Into<kesher_core::error::Value>) -> Self {
        self.params.insert(name.to_string(), value.into());
        self
    }
    /// The same error on another field (a domain value's error where the request names the
    /// field differently, as in `lines[2].unit_price`).
    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
    /// The same error with these named arguments added.
    pub fn params(mut self, params: Params) -> Self {
        self.params.extend(params);
        self
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.code,
            Some(e.field.to_string()),
            e.params,
            e.reason,
        )
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        let (code, params) = (e.code(), e.params());
        match e {
            StoreError::NotFound { .. } => AppError::new(StatusCode::NOT_FOUND, code, None, params, e.to_string()),
            StoreError::Conflict { field, reason, .. } => {
                AppError::new(StatusCode::CONFLICT, code, Some(field.to_string()), params, reason)
            }
            StoreError::Invalid { field, reason, .. } => AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                Some(field.to_string()),
                params,
                reason,
            ),
            StoreError::Backend(m) => AppError::internal(m),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                params: self.params,
                message: self.message,
                field: self.field,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// What a serde error message (`[path: ]message`, as serde_path_to_error prints it) says about
/// the field: its path, joined with the key of "missing field `x`" / "unknown field `x`" (the
/// only messages whose backticks hold a field name; elsewhere they hold the value, which is
/// never echoed as the field), and whether the field was missing, unknown or unusable.
pub(crate) fn field_in(detail: &str) -> (Option<String>, FieldProblem) {
    let (path, message) = match detail.split_once(": ") {
        Some((p, m)) if !p.is_empty() && !p.contains(' ') => (Some(p).filter(|p| *p != "."), m),
        _ => (None, detail),
    };
    let named = |prefix: &str| {
        let rest = message.strip_prefix(prefix)?;
        Some(rest[..rest.find('`')?].to_string())
    };
    let (key, problem) = match (named("missing field `"), named("unknown field `")) {
        (Some(k), _) => (Some(k), FieldProblem::Missing),
        (None, Some(k)) => (Some(k), FieldProblem::Unknown),
        (None, None) => (None, FieldProblem::Invalid),
    };
    let field = match (path, key) {
        // An unknown key is the path's last step already ("lines[0].skew: unknown field `skew`").
        (Some(p), Some(k)) if p == k || p.ends_with(&format!(".{k}")) => Some(p.to_string()),
        (Some(p), Some(k)) => Some(format!("{p}.{k}")),
        (Some(p), None) => Some(p.to_string()),
        (None, k) => k,
    };
    (field, problem)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldProblem {
    Missing,
    Unknown,
    Invalid,
}

impl FieldProblem {
    pub(crate) fn code(self) -> &'static str {
        match self {
            FieldProblem::Missing => "json.field.missing",
            FieldProblem::Unknown => "json.field.unknown",
            FieldProblem::Invalid => "json.field.invalid",
        }
    }
    fn query_code(self) -> &'static str {
        match self {
            FieldProblem::Missing => "query.parameter.missing",
            FieldProblem::Unknown => "query.parameter.unknown",
            FieldProblem::Invalid => "query.parameter.invalid",
        }
    }
}

/// A JSON body whose rejections come back as `AppError`s naming the field.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = AppError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        // Read as JSON, bound every string (`limits`), then into `T` with serde's field paths.
        let axum::Json(v) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        crate::limits::check_json(&v)?;
        let bytes = serde_json::to_vec(&v).map_err(|e| AppError::bad_request(None, e.to_string()))?;
        axum::Json::<T>::from_bytes(&bytes)
            .map(|axum::Json(v)| Json(v))
            .map_err(json_rejection)
    }
}

fn json_rejection(rej: JsonRejection) -> AppError {
    let text = rej.body_text();
    match rej {
        JsonRejection::JsonDataError(_) => {
            // "Failed to deserialize the JSON body into the target type: lines[0].quantity: invalid type ..."
            let detail = text.split_once(": ").map(|(_, d)| d).unwrap_or(&text).to_string();
            let (field, problem) = field_in(&detail);
            AppError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                problem.code(),
                field,
                Params::new(),
                detail,
            )
        }
        JsonRejection::JsonSyntaxError(_) => {
            AppError::new(StatusCode::BAD_REQUEST, "json.syntax", None, Params::new(), text)
        }
        JsonRejection::MissingJsonContentType(_) => AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "json.content_type",
            None,
            Params::new(),
            "expected a body with Content-Type: application/json",
        ),
        JsonRejection::BytesRejection(rej) => body_rejection(rej, crate::JSON_BODY_LIMIT),
        _ => AppError::bad_request(None, text).coded("body.unreadable"),
    }
}

/// A body that could not be read: over `limit` (a 413 naming it) or cut off (a 400).
pub fn body_rejection(rej: BytesRejection, limit: usize) -> AppError {
    if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body.too_large",
            None,
            kesher_core::params!(limit = limit),
            format!("the body is larger than the limit of {limit} bytes"),
        );
    }
    AppError::bad_request(None, rej.body_text()).coded("body.unreadable")
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Query parameters whose rejections come back as `AppError`s naming the parameter.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        crate::limits::check_query(parts.uri.query())?;
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rej) => {
                let text = match &rej {
                    QueryRejection::FailedToDeserializeQueryString(e) => e.body_text(),
                    other => other.body_text(),
                };
                let detail = text.split_once(": ").map(|(_, d)| d.to_string()).unwrap_or(text);
                let (field, problem) = field_in(&detail);
                Err(AppError::bad_request(field, detail).coded(problem.query_code()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FieldProblem, field_in};

    #[test]
    fn finds_the_field_in_serde_messages() {
        assert_eq!(
            field_in("missing field `phone` at line 1 column 2"),
            (Some("phone".into()), FieldProblem::Missing)
        );
        assert_eq!(
            field_in("lines[0].skew: unknown field `skew`, expected one of `sku`, `quantity`"),
            (Some("lines[0].skew".into()), FieldProblem::Unknown)
        );
        assert_eq!(
            field_in("colour: unknown field `colour`, expected one of `member_no`"),
            (Some("colour".into()), FieldProblem::Unknown)
        );
        assert_eq!(
            field_in("lines[1]: missing field `sku` at line 1 column 9"),
            (Some("lines[1].sku".into()), FieldProblem::Missing)
        );
        assert_eq!(
            field_in("lines[0].quantity: invalid type: string \"x\", expected i64 at line 1 column 9"),
            (Some("lines[0].quantity".into()), FieldProblem::Invalid)
        );
        assert_eq!(field_in("no backticks"), (None, FieldProblem::Invalid));
    }

    #[test]
    fn a_value_in_backticks_is_never_the_field() {
        assert_eq!(
            field_in("points: invalid value: integer `9223372036854775808`, expected i64 at line 1 column 30"),
            (Some("points".into()), FieldProblem::Invalid)
        );
        assert_eq!(
            field_in("invalid value: integer `9223372036854775808`, expected i64 at line 1 column 30"),
            (None, FieldProblem::Invalid)
        );
    }
}
