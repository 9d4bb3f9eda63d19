//! Prometheus metrics, `GET /metrics` (admins: Prometheus sends an admin's token as its
//! `authorization` credentials), in the OpenMetrics text format that Prometheus scrapes:
//!
//! - `coffee_http_requests_total{method,route,status}`: requests answered, by route as declared
//!   (`/api/order/{id}`, never the id itself, so the labels stay few);
//! - `coffee_http_request_duration_seconds{method,route,status}`: how long the route took (a
//!   histogram, 0.5 ms to 16 s);
//! - `coffee_outbox_events{schema}`: events committed and not yet on the broker (distributed);
//! - `coffee_dead_letters`: messages dead-lettered and not redriven;
//! - `coffee_open_streams`: live streams held open (subscriptions' WebSockets, event streams);
//! - `coffee_store_commits_total{store}` and `coffee_store_commit_seconds_total{store}`: units of
//!   work committed by each store of this process (`sqlite`, or the PostgreSQL schema) and the
//!   time spent committing them (SQLite: the COMMIT and its fsync, shared by a batch;
//!   PostgreSQL: each change's whole transaction);
//! - `coffee_events_published_total{type}`: the events those commits published, by type: the
//!   saga's outcomes are `coffee.order.completed`, `coffee.order.cancelled` and
//!   `coffee.payment.refunded`;
//! - `coffee_queue_messages{consumer}`, `coffee_queue_redelivered_messages{consumer}`: each of
//!   this process's consumers' messages not yet handled, and those of them tried before;
//!   `coffee_queue_oldest_message_age_seconds{consumer}`: how long the oldest has waited
//!   (embedded only: NATS does not say; 0 for an empty queue).
//!
//! The names follow Prometheus's conventions: the unit in the name, `_total` on counters.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    store: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TypeLabels {
    r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ConsumerLabels {
    consumer: String,
}

/// What the backend counts, copied into the registry at each scrape.
#[derive(Clone, Default)]
struct BackendFamilies {
    commits: Family<StoreLabels, Counter>,
    commit_seconds: Family<StoreLabels, Counter<f64, AtomicU64>>,
    published: Family<TypeLabels, Counter>,
    queued: Family<ConsumerLabels, Gauge>,
    redelivered: Family<ConsumerLabels, Gauge>,
    oldest: Family<ConsumerLabels, Gauge<f64, AtomicU64>>,
}

/// Moves a counter up to `total`, a count kept elsewhere since the process started.
fn catch_up(counter: &Counter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
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
    backend: BackendFamilies,
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
        let backend = BackendFamilies::default();
        registry.register("coffee_store_commits", "Units of work each store committed", backend.commits.clone());
        registry.register_with_unit(
            "coffee_store_commit",
            "Time each store spent committing",
            Unit::Seconds,
            backend.commit_seconds.clone(),
        );
        registry.register(
            "coffee_events_published",
            "Events the commits published, by type",
            backend.published.clone(),
        );
        registry.register(
            "coffee_queue_messages",
            "Messages a consumer of this process has not handled yet",
            backend.queued.clone(),
        );
        registry.register(
            "coffee_queue_redelivered_messages",
            "Messages not handled yet that were tried before",
            backend.redelivered.clone(),
        );
        registry.register_with_unit(
            "coffee_queue_oldest_message_age",
            "How long the oldest message not handled yet has waited (embedded bus only)",
            Unit::Seconds,
            backend.oldest.clone(),
        );
        Self { registry: Arc::new(registry), requests, durations, outbox, dead_letters, open_streams, backend, streams }
    }

    /// Copies the backend's counters (`Backend::metrics`' JSON) into the registry.
    pub fn record_backend(&self, counters: &serde_json::Value) {
        let b = &self.backend;
        for (store, c) in counters["stores"].as_object().into_iter().flatten() {
            let labels = StoreLabels { store: store.clone() };
            catch_up(&b.commits.get_or_create(&labels), c["commits"].as_u64().unwrap_or(0));
            let seconds = b.commit_seconds.get_or_create(&labels);
            let total = c["commitSeconds"].as_f64().unwrap_or(0.0);
            if total > seconds.get() {
                seconds.inc_by(total - seconds.get());
            }
            for (event_type, n) in c["published"].as_object().into_iter().flatten() {
                catch_up(
                    &b.published.get_or_create(&TypeLabels { r#type: event_type.clone() }),
                    n.as_u64().unwrap_or(0),
                );
            }
        }
        for q in counters["queues"].as_array().into_iter().flatten() {
            let labels = ConsumerLabels { consumer: q["consumer"].as_str().unwrap_or("?").to_owned() };
            b.queued.get_or_create(&labels).set(q["messages"].as_i64().unwrap_or(0));
            b.redelivered.get_or_create(&labels).set(q["redelivered"].as_i64().unwrap_or(0));
            if let Some(age) = q["oldestAgeSeconds"].as_f64() {
                b.oldest.get_or_create(&labels).set(age);
            }
        }
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
