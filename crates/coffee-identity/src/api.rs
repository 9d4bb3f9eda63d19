//! The identity service's REST routes. Starting a session, logging in and renewing also set the
//! browser's `HttpOnly` session cookie; logging out clears it.
//!
//! | route | who may call |
//! |---|---|
//! | `POST /api/session` `{"customerName"}` | anyone: starts a customer's session |
//! | `GET /api/session`, `POST /api/session/renew`, `DELETE /api/session` | the session's holder |
//! | `POST /api/staff/login` `{"name","password"}` | anyone (throttled after failures) |
//! | `GET /api/staff`, `POST /api/staff`, `DELETE /api/staff/:name` | admins |

use std::net::SocketAddr;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use coffee_domain::StaffName;
use coffee_http::{ApiError, ApiJson, ApiPath, Ctx};
use coffee_service::ServiceError;

use crate::model::{AddStaff, Login, SessionAnswer, StaffSummary, StartSession};
use crate::service::IdentityService;

#[derive(Clone)]
struct Identity {
    service: IdentityService,
    /// Mark cookies `Secure` even when the request did not say it came over TLS.
    secure_cookies: bool,
}

pub fn routes(service: IdentityService, secure_cookies: bool) -> Router {
    Router::new()
        .route("/api/session", post(start).get(current).delete(logout))
        .route("/api/session/renew", post(renew))
        .route("/api/staff/login", post(login))
        .route("/api/staff", get(list).post(add))
        .route("/api/staff/{name}", delete(remove))
        .with_state(Identity { service, secure_cookies })
}

/// The address the request came from, when the server knows it (for login throttling).
struct ClientAddr(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string())))
    }
}

impl Identity {
    fn secure(&self, headers: &HeaderMap) -> bool {
        self.secure_cookies
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"))
    }

    /// The answer with the session's cookie set.
    fn with_cookie(&self, status: StatusCode, headers: &HeaderMap, answer: SessionAnswer) -> Response {
        let max_age = (answer.expires_at - coffee_service::now().seconds()).max(0);
        let cookie = coffee_auth::session_cookie(&answer.token, max_age, self.secure(headers));
        (status, [(header::SET_COOKIE, cookie), no_store()], Json(answer)).into_response()
    }
}

/// Answers carrying a token are never cached.
fn no_store() -> (header::HeaderName, HeaderValue) {
    (header::CACHE_CONTROL, HeaderValue::from_static("no-store"))
}

async fn start(
    State(id): State<Identity>,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    ApiJson(request): ApiJson<StartSession>,
) -> Result<Response, ApiError> {
    let answer = id.service.start_customer_session(&ctx, &request).await?;
    Ok(id.with_cookie(StatusCode::CREATED, &headers, answer))
}

async fn login(
    State(id): State<Identity>,
    Ctx(ctx): Ctx,
    ClientAddr(from): ClientAddr,
    headers: HeaderMap,
    ApiJson(request): ApiJson<Login>,
) -> Result<Response, ApiError> {
    let answer = id.service.login(&ctx, &request, from.as_deref()).await?;
    Ok(id.with_cookie(StatusCode::OK, &headers, answer))
}

async fn current(State(id): State<Identity>, Ctx(ctx): Ctx) -> Result<Response, ApiError> {
    let mut answer = id.service.current(&ctx).await?;
    answer.token.clear();
    Ok(([no_store()], Json(answer)).into_response())
}

async fn renew(State(id): State<Identity>, Ctx(ctx): Ctx, headers: HeaderMap) -> Result<Response, ApiError> {
    let answer = id.service.renew(&ctx).await?;
    Ok(id.with_cookie(StatusCode::OK, &headers, answer))
}

async fn logout(State(id): State<Identity>, Ctx(ctx): Ctx, headers: HeaderMap) -> Result<Response, ApiError> {
    id.service.logout(&ctx).await?;
    let cookie = coffee_auth::clear_cookie(id.secure(&headers));
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

async fn list(State(id): State<Identity>, Ctx(ctx): Ctx) -> Result<Json<Vec<StaffSummary>>, ApiError> {
    Ok(Json(id.service.staff_list(&ctx).await?))
}

async fn add(
    State(id): State<Identity>,
    Ctx(ctx): Ctx,
    ApiJson(request): ApiJson<AddStaff>,
) -> Result<(StatusCode, Json<StaffSummary>), ApiError> {
    Ok((StatusCode::CREATED, Json(id.service.add_staff(&ctx, &request).await?)))
}

async fn remove(
    State(id): State<Identity>,
    Ctx(ctx): Ctx,
    ApiPath(name): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let name =
        StaffName::parse(&name).map_err(|_| ServiceError::NotFound(format!("no member of staff named {name}")))?;
    id.service.remove_staff(&ctx, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
