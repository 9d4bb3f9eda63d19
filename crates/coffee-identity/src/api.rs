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

use axum::Json;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use coffee_domain::StaffName;
use coffee_http::openapi::api_routing::{delete_with, get_with, post_with};
use coffee_http::{ApiError, ApiJson, ApiPath, ApiRouter, Created, Ctx};
use coffee_service::ServiceError;

use crate::model::{AddStaff, Login, SessionAnswer, StaffSummary, StartSession};
use crate::service::IdentityService;

#[derive(Clone)]
struct Identity {
    service: IdentityService,
    /// Mark cookies `Secure` even when the request did not say it came over TLS.
    secure_cookies: bool,
}

pub fn routes(service: IdentityService, secure_cookies: bool) -> ApiRouter {
    declared().with_state(Identity { service, secure_cookies })
}

/// The identity service's OpenAPI paths and schemas, added to `api`.
pub fn describe(api: &mut coffee_http::openapi::OpenApi) {
    let _ = declared().finish_api(api);
}

/// Each route with its OpenAPI description. The answers that set the cookie are built by hand
/// (a `Response`), so their bodies are declared here.
fn declared() -> ApiRouter<Identity> {
    ApiRouter::new()
        .api_route(
            "/api/session",
            post_with(start, |op| {
                op.id("startSession")
                    .tag(TAG)
                    .summary("Start a customer's session; also sets the session cookie (anyone).")
                    .response::<201, Json<SessionAnswer>>()
            })
            .get_with(current, |op| {
                op.id("getSession")
                    .tag(TAG)
                    .summary("Who the caller is (the session's holder).")
                    .response::<200, Json<SessionAnswer>>()
            })
            .delete_with(logout, |op| {
                op.id("endSession")
                    .tag(TAG)
                    .summary("Log out: the session's tokens stop working (the session's holder).")
                    .response::<204, ()>()
            }),
        )
        .api_route(
            "/api/session/renew",
            post_with(renew, |op| {
                op.id("renewSession")
                    .tag(TAG)
                    .summary("Extend the session (the session's holder).")
                    .response::<200, Json<SessionAnswer>>()
            }),
        )
        .api_route(
            "/api/staff/login",
            post_with(login, |op| {
                op.id("staffLogin")
                    .tag(TAG)
                    .summary("A barista or admin logs in (anyone; throttled after failures).")
                    .response::<200, Json<SessionAnswer>>()
            }),
        )
        .api_route(
            "/api/staff",
            get_with(list, |op| op.id("getStaff").tag(TAG).summary("The shop's staff (admins)."))
                .post_with(add, |op| op.id("addStaff").tag(TAG).summary("Add a barista or admin (admins).")),
        )
        .api_route(
            "/api/staff/{name}",
            delete_with(remove, |op| {
                op.id("removeStaff").tag(TAG).summary("Remove a member of staff (admins).").response::<204, ()>()
            }),
        )
}

const TAG: &str = "identity";

/// `/api/staff/{name}`.
#[derive(serde::Deserialize, schemars::JsonSchema)]
#[schemars(inline)]
struct StaffPath {
    /// The member of staff's name; one that names nobody is 404.
    name: String,
}

/// The address the request came from, when the server knows it (for login throttling).
struct ClientAddr(Option<String>);

/// Not a parameter: the connection's.
impl coffee_http::openapi::OperationInput for ClientAddr {}

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
) -> Result<Created<StaffSummary>, ApiError> {
    Ok(Created(id.service.add_staff(&ctx, &request).await?))
}

async fn remove(
    State(id): State<Identity>,
    Ctx(ctx): Ctx,
    ApiPath(StaffPath { name }): ApiPath<StaffPath>,
) -> Result<StatusCode, ApiError> {
    let name =
        StaffName::parse(&name).map_err(|_| ServiceError::NotFound(format!("no member of staff named {name}")))?;
    id.service.remove_staff(&ctx, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
