//! Requests per second per client: a customer's session, or the address of a caller without
//! one. Staff are not limited (a handful of trusted accounts; the bench's barista completes a
//! thousand drinks a second). Over the limit is 429 with `Retry-After`, before any work.
//! Only the API is limited (`/api/...`, `/graphql`), not the web app's files, and not the
//! provider's signed webhook.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use coffee_auth::Authenticated;
use coffee_service::{Caller, ServiceError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::ApiError;

/// The default of `--rate-limit`: far above a person, below a script.
pub const DEFAULT_RATE_LIMIT: u32 = 50;

/// API paths no client is limited on.
const UNLIMITED: &[&str] = &["/api/payment/webhook"];

pub(crate) type Limiter = DefaultKeyedRateLimiter<String>;

/// A limiter of `per_second` requests per client per second (bursts of twice that); none for 0.
/// Inside the authentication layer: a client is its session.
pub(crate) fn limiter(per_second: u32) -> Option<Arc<Limiter>> {
    let rate = NonZeroU32::new(per_second)?;
    let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
    let limiter: Arc<Limiter> = Arc::new(RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)));
    // Forget clients that went quiet, so the table holds only recent ones.
    let weak = Arc::downgrade(&limiter);
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let Some(limiter) = weak.upgrade() else { return };
                limiter.retain_recent();
            }
        });
    }
    Some(limiter)
}

pub(crate) async fn limit(State(limiter): State<Arc<Limiter>>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // The web app's own files are not work for the services (a page load is twenty of them, and
    // a shop's customers on its Wi-Fi share one address); only the API is limited.
    let api = path.starts_with("/api/") || path == "/graphql";
    if !api || UNLIMITED.contains(&path) {
        return next.run(request).await;
    }
    let who = request.extensions().get::<Authenticated>();
    let client = match who.map(|w| (&w.caller, &w.session)) {
        Some((Caller::Staff { .. } | Caller::System, _)) => return next.run(request).await,
        Some((_, Some(session))) => format!("session:{session}"),
        _ => match request.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(addr) => format!("ip:{}", addr.0.ip()),
            None => "unknown".to_owned(),
        },
    };
    match limiter.check_key(&client) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ApiError(ServiceError::TooManyRequests {
                message: format!("too many requests; try again in {} s", secs.max(1)),
                retry_after_secs: secs.max(1),
            })
            .into_response()
        }
    }
}
