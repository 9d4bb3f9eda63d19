//! `GET /api/events`: the bus as it happens, as Server-Sent Events. Each committed event
//! is sent as one SSE message (`event:` its type, `id:` its id, `data:` the CloudEvents
//! envelope). `?pattern=` takes an EventBridge pattern (JSON) to receive only the events it
//! matches. It is a live tail, not a queue: a subscriber sees what commits while it is
//! connected; a subscriber too slow to keep up gets an `event: lagged` message saying how
//! many it missed. For admins only: every event names a customer.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use coffee_bus::{LiveFeed, Pattern};
use coffee_http::openapi::api_routing::get_with;
use coffee_http::{ApiError, ApiQuery, ApiRouter, Ctx};
use coffee_service::ServiceError;
use std::sync::Arc;

use coffee_http::Streams;
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// The longest `?pattern=` taken: every event is matched against it, for every subscriber.
const MAX_PATTERN_BYTES: usize = 4096;

#[derive(Clone)]
struct Live {
    subscribe: LiveFeed,
    shutdown: CancellationToken,
}

/// `shutdown` ends open streams, so a clean stop does not wait for subscribers to leave.
pub fn routes(subscribe: LiveFeed, shutdown: CancellationToken) -> ApiRouter {
    declared().with_state(Live { subscribe, shutdown })
}

/// `/api/events`'s OpenAPI path, added to `api`.
pub fn describe(api: &mut coffee_http::openapi::OpenApi) {
    let _ = declared().finish_api(api);
}

fn declared() -> ApiRouter<Live> {
    ApiRouter::new().api_route(
        "/api/events",
        get_with(events, |op| {
            let op = op
                .id("liveEvents")
                .tag("operations")
                .summary("Every event as it commits, as Server-Sent Events (admins).");
            coffee_http::openapi::answers(
                op,
                200,
                "text/event-stream",
                "One SSE message per event: `event:` its type, `id:`, `data:` the CloudEvents envelope.",
            )
        }),
    )
}

/// The request's extensions (the stream limits and the connection), which are no parameter.
struct RequestExtensions(axum::http::Extensions);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestExtensions {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self(parts.extensions.clone()))
    }
}

impl coffee_http::openapi::OperationInput for RequestExtensions {}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct EventsQuery {
    /// An EventBridge pattern (JSON, at most 4 KiB): only the events it matches.
    pattern: Option<String>,
}

/// Every event carries customers' names and orders: admins only.
async fn events(
    State(live): State<Live>,
    Ctx(ctx): Ctx,
    RequestExtensions(extensions): RequestExtensions,
    ApiQuery(p): ApiQuery<EventsQuery>,
) -> Result<Response, ApiError> {
    ctx.admin()?;
    if p.pattern.as_ref().is_some_and(|text| text.len() > MAX_PATTERN_BYTES) {
        return Err(ApiError(ServiceError::BadInput(format!(
            "pattern: longer than {MAX_PATTERN_BYTES} bytes (each event is matched against it)"
        ))));
    }
    let guard = match extensions.get::<Arc<Streams>>() {
        Some(streams) => Some(streams.open(&ctx, &extensions)?),
        None => None,
    };
    let pattern = p
        .pattern
        .map(|text| Pattern::parse(&text))
        .transpose()
        .map_err(|e| ApiError(ServiceError::BadInput(format!("pattern: {e}"))))?;
    let receiver = (live.subscribe)();
    let stream = futures::stream::unfold((receiver, pattern, live.shutdown), |(mut rx, pattern, stop)| async move {
        loop {
            let received = tokio::select! {
                _ = stop.cancelled() => return None,
                r = rx.recv() => r,
            };
            match received {
                Ok(env) => {
                    let wanted = pattern.as_ref().is_none_or(|p| p.matches_fields(&|name: &str| env.attribute(name)));
                    if !wanted {
                        continue;
                    }
                    let event = Event::default()
                        .event(&env.event_type)
                        .id(&env.id)
                        .json_data(&*env)
                        .unwrap_or_else(|_| Event::default().event("error").data("unserializable event"));
                    return Some((Ok::<_, Infallible>(event), (rx, pattern, stop)));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let event = Event::default().event("lagged").data(missed.to_string());
                    return Some((Ok::<_, Infallible>(event), (rx, pattern, stop)));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // The stream holds the client's place until it ends.
    let stream = stream.map(move |event| {
        let _held = &guard;
        event
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}
