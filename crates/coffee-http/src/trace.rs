//! Each request's span: the request's trace (the caller's `traceparent`, else a new one), which
//! the operation's [`Context`](coffee_service::Context) carries on to the events it causes.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use coffee_bus::TraceContext;
use coffee_bus::trace::spans;
use opentelemetry::KeyValue;
use opentelemetry::trace::Span as _;

/// The request's own span, put on the request by [`traced`] for [`context_of`](crate::context_of).
#[derive(Debug, Clone, Copy)]
pub struct RequestTrace(pub TraceContext);

/// A route layer: a server span named by the route as declared (`POST /api/order/{id}`, never an
/// id), under the caller's `traceparent` when it sends a valid one. Only the path is recorded,
/// no query and no header.
pub async fn traced(mut request: Request, next: Next) -> Response {
    if !spans::enabled() {
        // No exporter: `context_of` reads the caller's trace from the header itself.
        return next.run(request).await;
    }
    let caller = request.headers().get("traceparent").and_then(|v| v.to_str().ok()).and_then(TraceContext::parse);
    let this = caller.map_or_else(TraceContext::new_root, |c| c.child());
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = request.method().as_str().to_owned();
    let mut span = spans::start(
        format!("{method} {route}"),
        spans::Kind::Server,
        &this,
        caller.as_ref(),
        None,
        vec![
            KeyValue::new("http.request.method", method),
            KeyValue::new("http.route", route),
            KeyValue::new("url.path", request.uri().path().to_owned()),
        ],
    );
    request.extensions_mut().insert(RequestTrace(this));
    let response = next.run(request).await;
    let status = response.status();
    span.set_attribute(KeyValue::new("http.response.status_code", i64::from(status.as_u16())));
    spans::end(span, status.is_server_error().then(|| status.to_string()));
    response
}
