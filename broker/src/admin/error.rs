//! Errors of the admin API, always as JSON: `{"code": "room_not_found", "message": "..."}`.
//!
//! `code` is stable and meant for programs (the OpenAPI document lists every one); `message`
//! is for people and may change. Extractor rejections (bad JSON, bad query strings, bodies
//! over the limit) are turned into the same shape, so a client never has to parse plain text.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::rooms::RoomError;

/// An error answer: HTTP status, stable code, human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into() }
    }

    /// 400: a value breaks a rule; `field` names it as a JSON path (`loan.due_date`).
    pub fn invalid(field: &str, reason: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", format!("{field}: {reason}"))
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn shutting_down() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", "the broker is shutting down")
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body { code: self.code, message: &self.message };
        let mut response = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<RoomError> for ApiError {
    fn from(error: RoomError) -> ApiError {
        let (status, code) = match &error {
            RoomError::NotFound(_) => (StatusCode::NOT_FOUND, "room_not_found"),
            RoomError::Exists(_) => (StatusCode::CONFLICT, "room_exists"),
            RoomError::Closed(_) => (StatusCode::CONFLICT, "room_closed"),
            RoomError::NotMember { .. } => (StatusCode::NOT_FOUND, "member_not_found"),
            RoomError::TooManyRooms { .. } => (StatusCode::CONFLICT, "too_many_rooms"),
            RoomError::TooManyMembers { .. } => (StatusCode::CONFLICT, "too_many_members"),
            RoomError::Interrupted(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
            RoomError::Storage(tallymq_storage::StorageError::Closed) => return ApiError::shutting_down(),
            RoomError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "storage_failed"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(%error, "admin API room change failed");
        }
        ApiError::new(status, code, error.to_string())
    }
}

impl From<tallymq_storage::StorageError> for ApiError {
    fn from(error: tallymq_storage::StorageError) -> ApiError {
        ApiError::from(RoomError::Storage(error))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let status = rejection.status();
        let code = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid_json",
            StatusCode::BAD_REQUEST => "malformed_json",
            _ => "bad_request",
        };
        ApiError::new(status, code, rejection.body_text())
    }
}

/// A JSON request body; rejections answer as [`ApiError`]s.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<S, T> FromRequest<S> for Json<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
        Ok(Json(value))
    }
}

/// A query string; rejections answer 400 `invalid_query`.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    axum::extract::Query<T>: FromRequestParts<S, Rejection = QueryRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(rejection) => Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", rejection.body_text())),
        }
    }
}

/// Path parameters; rejections answer 400 `invalid_path`.
#[derive(Debug)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    axum::extract::Path<T>: FromRequestParts<S, Rejection = PathRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", rejection.body_text())),
        }
    }
}
