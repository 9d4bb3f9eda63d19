//! Prometheus metrics, `GET /metrics` (admins: Prometheus sends an admin's token as its
//! `authorization` credentials), in the OpenMetrics text format that Prometheus scrapes:
//!
//! - `coffee_http_requests_total{method,route,status}`: requests answered, by route as declared
//!   (`/api/order/{id}`, never the id itself, so the labels stay few);
//! - `coffee_http_request_duration_seconds{method,route,status}`: how long the route took (a
//!   histogram, 0.5 ms to 16 s);
//! - `coffee_outbox_events{schema}`: events committed and not yet on the broker (distributed);
//! - `coffee_dead_letters`: messages dead-lettered and not redriven;
//! - `coffee_open_streams`: live streams held open (subscriptions' WebSockets, event streams).
//!
//! The names follow Prometheus's conventions: the unit in the name, `_total` on counters.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SchemaLabels {
    pub schema: String,
}

type Durations = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The process's metrics: its registry, and a handle on each family to record into.
#[derive(Clone)]
pub struct Prometheus {
    registry: Arc<Registry>,
    requests: Family<RequestLabels, Counter>,
    durations: Durations,
    pub outbox: Family<SchemaLabels, Gauge>,
    pub dead_letters: Gauge,
    open_streams: Gauge,
    /// The process's streams, read at each scrape.
    streams: Arc<coffee_http::Streams>,
}

fn durations() -> Histogram {
    // 0.5 ms, doubling to 16 s: a read answers in a millisecond, a slow dependency in seconds.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Prometheus {
    /// The metrics of a process whose live streams are `streams`.
    pub fn new(streams: Arc<coffee_http::Streams>) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("coffee_http_requests", "HTTP requests answered, by route and status", requests.clone());
        let durations: Durations = Family::new_with_constructor(durations);
        registry.register_with_unit(
            "coffee_http_request_duration",
            "How long each route took to answer",
            Unit::Seconds,
            durations.clone(),
        );
        let outbox = Family::<SchemaLabels, Gauge>::default();
        registry.register("coffee_outbox_events", "Events committed and not yet on the broker", outbox.clone());
        let dead_letters = Gauge::default();
        registry.register("coffee_dead_letters", "Messages dead-lettered and not redriven", dead_letters.clone());
        let open_streams = Gauge::default();
        registry.register(
            "coffee_open_streams",
            "Live streams held open: subscriptions' WebSockets and event streams",
            open_streams.clone(),
        );
        Self { registry: Arc::new(registry), requests, durations, outbox, dead_letters, open_streams, streams }
    }

    /// The metrics in the OpenMetrics text format; the streams are counted now.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        self.open_streams.set(i64::try_from(self.streams.total()).unwrap_or(i64::MAX));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The content type Prometheus asks for and the encoding gives.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Counts and times each request to a route (a route layer: the route is known by then).
pub async fn record(State(metrics): State<Prometheus>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    // A method no route takes never gets here (it is answered 405 first); should a route ever
    // take any method, only the standard ones become labels, so no client can make the server
    // keep a series per made-up method.
    let method = match *request.method() {
        Method::GET | Method::POST | Method::PUT | Method::PATCH | Method::DELETE | Method::HEAD | Method::OPTIONS => {
            request.method().as_str()
        }
        _ => "other",
    }
    .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = RequestLabels { method, route, status: response.status().as_u16() };
    metrics.requests.get_or_create(&labels).inc();
    metrics.durations.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
    response
}
