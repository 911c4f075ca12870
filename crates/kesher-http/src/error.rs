//! `AppError`: every failure as an HTTP status and a JSON body
//! `{ "error": { "code", "message", "field" } }`; bad input is a 4xx, never a 500.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use kesher_core::DomainError;
use kesher_store::StoreError;
use serde::Serialize;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: not_found, invalid, conflict, bad_json, payload_too_large, internal.
    pub code: String,
    pub message: String,
    /// The field (JSON key, query parameter, CSV column) that is wrong, when one is.
    pub field: Option<String>,
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid",
            message: message.into(),
            field: Some(field.into()),
        }
    }
    pub fn bad_request(field: Option<String>, message: impl Into<String>) -> Self {
        AppError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
            field,
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        AppError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
            field: None,
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        let message = message.into();
        tracing::error!(%message, "internal error");
        AppError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message,
            field: None,
        }
    }
}

impl From<DomainError> for AppError {
    fn from(e: DomainError) -> Self {
        AppError::invalid(e.field, e.reason)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => AppError::not_found(e.to_string()),
            StoreError::Conflict { field, reason } => AppError {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: reason,
                field: Some(field.to_string()),
            },
            StoreError::Invalid { field, reason } => AppError::invalid(field, reason),
            StoreError::Backend(m) => AppError::internal(m),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                field: self.field,
            },
        };
        (self.status, axum::Json(body)).into_response()
    }
}

/// The field named in a serde message such as "missing field `phone`" or "unknown field `x`".
pub(crate) fn field_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = message[start..].find('`')? + start;
    Some(message[start..end].to_string())
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
            let path = detail
                .split_once(": ")
                .map(|(p, _)| p.to_string())
                .filter(|p| !p.contains(' '));
            let field = field_in(&detail).or(path);
            AppError {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                code: "invalid",
                message: detail,
                field,
            }
        }
        JsonRejection::JsonSyntaxError(_) => AppError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_json",
            message: text,
            field: None,
        },
        JsonRejection::MissingJsonContentType(_) => AppError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
            message: "expected a body with Content-Type: application/json".into(),
            field: None,
        },
        JsonRejection::BytesRejection(_) => AppError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            message: text,
            field: None,
        },
        _ => AppError::bad_request(None, text),
    }
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
                let field = field_in(&detail);
                Err(AppError::bad_request(field, detail))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_field_in_serde_messages() {
        assert_eq!(
            super::field_in("missing field `phone` at line 1 column 2"),
            Some("phone".into())
        );
        assert_eq!(super::field_in("no backticks"), None);
    }
}
