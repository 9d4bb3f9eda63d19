use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use coffee_bus::StoreError;
use coffee_domain::{IllegalTransition, InvalidInput};
use serde::{Deserialize, Serialize};

/// Why a service operation did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// 404 `NOT_FOUND`: no such order, payment or fulfilment.
    #[error("{0}")]
    NotFound(String),
    /// 400 `BAD_USER_INPUT`: the request is malformed or a value is invalid. Nothing changed.
    #[error("{0}")]
    BadInput(String),
    /// 415 `UNSUPPORTED_MEDIA_TYPE`: the body is not declared as JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 409 `CONFLICT`: the change is not allowed in the entity's current state (an illegal
    /// step of its state machine); the message names the current status.
    #[error("{0}")]
    Conflict(String),
    /// 503 `UNAVAILABLE`: the service is shutting down or a dependency is unreachable;
    /// retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// 500 `INTERNAL_SERVER_ERROR`: a bug or a broken database. The detail is logged; the
    /// client gets a generic message.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound(_) => "NOT_FOUND",
            ServiceError::BadInput(_) => "BAD_USER_INPUT",
            ServiceError::UnsupportedMediaType(_) => "UNSUPPORTED_MEDIA_TYPE",
            ServiceError::Conflict(_) => "CONFLICT",
            ServiceError::Unavailable(_) => "UNAVAILABLE",
            ServiceError::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::BadInput(_) => StatusCode::BAD_REQUEST,
            ServiceError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a client may see.
    pub fn public_message(&self) -> String {
        match self {
            ServiceError::Internal(_) => "internal error; it has been logged".to_owned(),
            other => other.to_string(),
        }
    }

    pub fn not_found(entity: &str, id: &str) -> Self {
        ServiceError::NotFound(format!("no {entity} with id '{id}'"))
    }

    /// Rebuilds an error from a code and message received over HTTP.
    pub fn from_code(code: &str, message: String) -> Self {
        match code {
            "NOT_FOUND" => ServiceError::NotFound(message),
            "BAD_USER_INPUT" => ServiceError::BadInput(message),
            "UNSUPPORTED_MEDIA_TYPE" => ServiceError::UnsupportedMediaType(message),
            "CONFLICT" => ServiceError::Conflict(message),
            "UNAVAILABLE" => ServiceError::Unavailable(message),
            _ => ServiceError::Internal(message),
        }
    }
}

impl From<InvalidInput> for ServiceError {
    fn from(e: InvalidInput) -> Self {
        ServiceError::BadInput(e.to_string())
    }
}

impl From<IllegalTransition> for ServiceError {
    fn from(e: IllegalTransition) -> Self {
        ServiceError::Conflict(e.to_string())
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict => {
                ServiceError::Conflict("the record was changed at the same time; try again".to_owned())
            }
            StoreError::Closed => ServiceError::Unavailable("the service is shutting down".to_owned()),
            other => ServiceError::Internal(other.to_string()),
        }
    }
}

/// The JSON body of every error response: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        if let ServiceError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let body = ErrorBody { error: ErrorDetail { code: self.code().to_owned(), message: self.public_message() } };
        (self.status(), axum::Json(body)).into_response()
    }
}
