//! Extractors whose rejections are [`ServiceError`]s, so that a malformed request gets the
//! same JSON error shape as every other failure, and the fallbacks for unknown routes.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, Uri};
use coffee_bus::TraceContext;
use coffee_domain::Millis;
use serde::de::DeserializeOwned;

use crate::ServiceError;

/// A JSON body. Malformed JSON, a missing field or a wrong type is a 400 with serde's
/// description of what is wrong and where.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ServiceError::UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json".to_owned(),
            )),
            Err(JsonRejection::JsonSyntaxError(e)) => {
                Err(ServiceError::BadInput(format!("malformed JSON: {}", e.body_text())))
            }
            Err(JsonRejection::JsonDataError(e)) => Err(ServiceError::BadInput(e.body_text())),
            Err(other) => Err(ServiceError::BadInput(other.body_text())),
        }
    }
}

/// A query string, with the same error shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| ServiceError::BadInput(e.body_text()))
    }
}

/// A path parameter, with the same error shape.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| ServiceError::BadInput(e.body_text()))
    }
}

/// The trace a request belongs to: the caller's `traceparent` header when it sends a valid
/// one, else a new trace. Events the request causes carry it on.
pub struct Trace(pub TraceContext);

impl<S: Send + Sync> FromRequestParts<S> for Trace {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let parsed = parts.headers.get("traceparent").and_then(|v| v.to_str().ok()).and_then(TraceContext::parse);
        Ok(Self(parsed.unwrap_or_else(TraceContext::new_root)))
    }
}

/// 404 for any path no route serves.
pub async fn fallback(method: Method, uri: Uri) -> ServiceError {
    ServiceError::NotFound(format!("no route for {method} {}", uri.path()))
}

/// 405 as JSON; axum's default is an empty body.
pub async fn method_not_allowed(method: Method, uri: Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = crate::ErrorBody {
        error: crate::error::ErrorDetail {
            code: "METHOD_NOT_ALLOWED".to_owned(),
            message: format!("{method} is not allowed on {}", uri.path()),
        },
    };
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}

/// The current time, as the domain counts it.
pub fn now() -> Millis {
    Millis(jiff::Timestamp::now().as_millisecond())
}
