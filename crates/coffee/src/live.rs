//! `GET /api/events`: the bus as it happens, as Server-Sent Events. Each committed event
//! is sent as one SSE message (`event:` its type, `id:` its id, `data:` the CloudEvents
//! envelope). `?pattern=` takes an EventBridge pattern (JSON) to receive only the events it
//! matches. It is a live tail, not a queue: a subscriber sees what commits while it is
//! connected; a subscriber too slow to keep up gets an `event: lagged` message saying how
//! many it missed. For admins only: every event names a customer.

use std::convert::Infallible;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use coffee_bus::{LiveFeed, Pattern};
use coffee_http::{ApiError, ApiQuery, Ctx};
use coffee_service::ServiceError;
use std::sync::Arc;

use coffee_http::Streams;
use futures::{Stream, StreamExt};
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
pub fn routes(subscribe: LiveFeed, shutdown: CancellationToken) -> Router {
    Router::new().route("/api/events", get(events)).with_state(Live { subscribe, shutdown })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    pattern: Option<String>,
}

/// Every event carries customers' names and orders: admins only.
async fn events(
    State(live): State<Live>,
    Ctx(ctx): Ctx,
    extensions: axum::http::Extensions,
    ApiQuery(p): ApiQuery<Params>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
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
                    return Some((Ok(event), (rx, pattern, stop)));
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let event = Event::default().event("lagged").data(missed.to_string());
                    return Some((Ok(event), (rx, pattern, stop)));
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
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
