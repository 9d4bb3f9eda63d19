//! Service errors as HTTP answers: each code has its status, and every error body is
//! `{"error": {"code": "...", "message": "..."}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coffee_service::ServiceError;
use serde::{Deserialize, Serialize};

/// A [`ServiceError`] on its way to an HTTP client. Handlers return `Result<_, ApiError>`, and
/// `?` on an operation converts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self(e)
    }
}

impl From<coffee_bus::StoreError> for ApiError {
    fn from(e: coffee_bus::StoreError) -> Self {
        Self(e.into())
    }
}

/// The HTTP status of each error code.
pub fn status_of(e: &ServiceError) -> StatusCode {
    match e {
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::BadInput(_) => StatusCode::BAD_REQUEST,
        ServiceError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ServiceError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ServiceError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
        ServiceError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        ServiceError::IdempotencyKeyReused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::Conflict(_) | ServiceError::Refused(..) => StatusCode::CONFLICT,
        ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// How long a client told UNAVAILABLE should wait before trying again, in seconds.
const RETRY_AFTER_SECS: &str = "1";

/// The JSON body of every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl ErrorBody {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { error: ErrorDetail { code: code.to_owned(), message: message.into() } }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError(e) = self;
        match &e {
            ServiceError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            ServiceError::Unavailable(why) => tracing::warn!(reason = %why, "unavailable"),
            _ => {}
        }
        let mut response = (status_of(&e), axum::Json(ErrorBody::new(e.code(), e.public_message()))).into_response();
        match &e {
            ServiceError::Unavailable(_) => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
            }
            ServiceError::TooManyRequests { retry_after_secs, .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs.max(&1).to_owned()));
            }
            _ => {}
        }
        response
    }
}
