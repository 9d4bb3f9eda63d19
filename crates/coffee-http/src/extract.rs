//! Extractors whose rejections are [`ApiError`]s, so that a malformed request gets the same JSON
//! error shape as every other failure, and the fallbacks for unknown routes.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, Uri};
use coffee_auth::Authenticated;
use coffee_bus::TraceContext;
use coffee_service::{Context, ServiceError};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A JSON body. Malformed JSON, a missing field or a wrong type is a 400 with serde's
/// description of what is wrong and where.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let refused = match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => return Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => ServiceError::UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json".to_owned(),
            ),
            Err(JsonRejection::JsonSyntaxError(e)) => {
                ServiceError::BadInput(format!("malformed JSON: {}", e.body_text()))
            }
            Err(JsonRejection::JsonDataError(e)) => ServiceError::BadInput(people_facing(&e.body_text())),
            Err(other) if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                ServiceError::PayloadTooLarge(format!("the request body is larger than {} bytes", crate::MAX_BODY))
            }
            Err(other) => ServiceError::BadInput(other.body_text()),
        };
        Err(ApiError(refused))
    }
}

/// serde's description of a body that has the wrong shape, without the names of our Rust types
/// ("invalid type: string \"x\", expected struct PlaceOrderBody" says "expected a JSON object").
fn people_facing(text: &str) -> String {
    let text = text.replace("Failed to deserialize the JSON body into the target type: ", "");
    match text.find("expected struct ") {
        Some(at) => {
            let rest = &text[at + "expected struct ".len()..];
            let after = rest.find(|c: char| !c.is_alphanumeric() && c != '_').map_or("", |end| &rest[end..]);
            format!("{}expected a JSON object{after}", &text[..at])
        }
        None => text,
    }
}

/// A query string, with the same error shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| ApiError(ServiceError::BadInput(e.body_text())))
    }
}

/// A path parameter, with the same error shape.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e| ApiError(ServiceError::BadInput(e.body_text())))
    }
}

/// An entity's id from the path. An id that does not parse names no entity: 404, as for an id
/// that parses but names none, so the API does not tell the two apart.
pub struct IdPath<T>(pub T);

/// An id type of the domain, parsed from a path segment.
pub trait PathId: Sized + Send {
    /// What the id names, for the 404's message.
    const ENTITY: &'static str;
    fn parse_path(segment: &str) -> Option<Self>;
}

macro_rules! path_id {
    ($($id:ty => $entity:literal),+ $(,)?) => {$(
        impl PathId for $id {
            const ENTITY: &'static str = $entity;
            fn parse_path(segment: &str) -> Option<Self> {
                <$id>::parse(segment).ok()
            }
        }
    )+};
}

path_id!(
    coffee_domain::OrderId => "order",
    coffee_domain::PaymentId => "payment",
    coffee_domain::FulfilmentId => "fulfilment",
);

impl<S: Send + Sync, T: PathId> FromRequestParts<S> for IdPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ApiPath(segment) = ApiPath::<String>::from_request_parts(parts, state).await?;
        T::parse_path(&segment).map(Self).ok_or_else(|| ApiError(ServiceError::not_found(T::ENTITY, &segment)))
    }
}

/// The context of the request for the operation it calls: who the caller is (as
/// [`authenticated`](crate::authenticated) found, anonymous when no authenticator ran), and the
/// trace, the caller's `traceparent` header when it sends a valid one, else a new trace. Events
/// the request causes carry the trace on.
pub struct Ctx(pub Context);

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(context_of(parts)))
    }
}

/// The operation's context for a request (see [`Ctx`]).
pub fn context_of(parts: &Parts) -> Context {
    // The request's span (see `traced`); without that layer, the caller's trace or a new one.
    let trace = match parts.extensions.get::<crate::RequestTrace>() {
        Some(crate::RequestTrace(this)) => *this,
        None => parts
            .headers
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .and_then(TraceContext::parse)
            .unwrap_or_else(TraceContext::new_root),
    };
    let mut ctx = Context::new(trace);
    if let Some(who) = parts.extensions.get::<Authenticated>() {
        ctx.caller = who.caller.clone();
        ctx.credential = who.credential.clone();
        ctx.session = who.session.clone();
    }
    ctx
}

/// 404 for any path no route serves.
pub async fn fallback(method: Method, uri: Uri) -> ApiError {
    ApiError(ServiceError::NotFound(format!("no route for {method} {}", uri.path())))
}

/// 405 as JSON; axum's default is an empty body.
pub async fn method_not_allowed(method: Method, uri: Uri) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = crate::ErrorBody::new("METHOD_NOT_ALLOWED", format!("{method} is not allowed on {}", uri.path()));
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}
