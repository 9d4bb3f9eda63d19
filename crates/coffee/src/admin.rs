//! Operations endpoints: liveness and readiness (anyone: probes carry no credential), and the
//! metrics (JSON, and Prometheus's `/metrics`) and dead-letter queues (admins).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use coffee_bus::{DeadLetter, DeadLetters, Store};
use coffee_http::openapi::answers;
use coffee_http::openapi::api_routing::{get_with, post_with};
use coffee_http::{ApiError, ApiQuery, ApiRouter, Ctx};
use coffee_service::Coalesced;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::metrics::{Prometheus, SchemaLabels};

/// Counters of the process's work, as JSON.
pub type Metrics = Arc<dyn Fn() -> futures::future::BoxFuture<'static, Value> + Send + Sync>;

/// What `/readyz` looks at: the databases this process needs, and (a gateway on its own) the
/// services it calls.
#[derive(Clone)]
pub struct Readiness {
    stores: Vec<Arc<dyn Store>>,
    upstreams: Vec<(&'static str, String)>,
    /// Anyone may ask, and each check pings every database and, for a gateway on its own, asks
    /// every service: the callers that arrive while a check runs share the next one (each answer
    /// is at least as new as its call), so a crowd of probes costs one check at a time.
    checked: Arc<Coalesced<(StatusCode, Value)>>,
    http: reqwest::Client,
}

impl Readiness {
    pub fn new(stores: Vec<Arc<dyn Store>>, upstreams: Vec<(&'static str, String)>) -> Self {
        Self { stores, upstreams, checked: Arc::default(), http: reqwest::Client::new() }
    }

    /// The answer of a check that started after this call.
    async fn check(&self, bus: &'static str) -> (StatusCode, Value) {
        let checked = self.checked.get(async { Ok::<_, std::convert::Infallible>(self.check_now(bus).await) }).await;
        match checked {
            Ok(answer) => (*answer).clone(),
            Err(never) => match never {},
        }
    }

    async fn check_now(&self, bus: &'static str) -> (StatusCode, Value) {
        let mut body = json!({ "status": "ready", "bus": bus });
        if !self.upstreams.is_empty() {
            body["services"] = upstreams(&self.http, &self.upstreams).await;
        }
        for store in &self.stores {
            let reason = match tokio::time::timeout(READY_WITHIN, store.ping()).await {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("the database did not answer within {} ms", READY_WITHIN.as_millis()),
            };
            body["status"] = json!("unavailable");
            body["reason"] = json!(reason);
            return (StatusCode::SERVICE_UNAVAILABLE, body);
        }
        (StatusCode::OK, body)
    }
}

#[derive(Clone)]
struct Admin {
    ready: Readiness,
    /// NATS, in the distributed mode: reported by `/readyz`, not required by it.
    bus: Option<async_nats::Client>,
    dead_letters: Arc<dyn DeadLetters>,
    metrics: Metrics,
    prometheus: Prometheus,
}

pub fn routes(
    ready: Readiness,
    bus: Option<async_nats::Client>,
    dead_letters: Arc<dyn DeadLetters>,
    metrics: Metrics,
    prometheus: Prometheus,
) -> ApiRouter {
    declared().with_state(Admin { ready, bus, dead_letters, metrics, prometheus })
}

/// The operations endpoints' OpenAPI paths, added to `api`.
pub fn describe(api: &mut coffee_http::openapi::OpenApi) {
    let _ = declared().finish_api(api);
}

fn declared() -> ApiRouter<Admin> {
    ApiRouter::new()
        .api_route(
            "/healthz",
            get_with(healthz, |op| op.id("healthz").tag(TAG).summary("The process answers (anyone).")),
        )
        .api_route(
            "/readyz",
            get_with(readyz, |op| {
                op.id("readyz")
                    .tag(TAG)
                    .summary("Every database this process uses answers (anyone).")
                    .response_with::<200, Json<Value>, _>(|r| {
                        r.description("Ready; `bus` says whether NATS is connected.")
                    })
                    .response_with::<503, Json<Value>, _>(|r| {
                        r.description("Not ready: the body says which dependency and why.")
                    })
            }),
        )
        .api_route(
            "/metrics",
            get_with(prometheus_metrics, |op| {
                let op = op.id("prometheusMetrics").tag(TAG).summary("Prometheus's scrape (admins).");
                answers(op, 200, crate::metrics::CONTENT_TYPE, "The metrics in the OpenMetrics text format.")
            }),
        )
        .api_route(
            "/api/admin/metrics",
            get_with(metrics_of, |op| {
                op.id("adminMetrics").tag(TAG).summary("Counters of the process's work, as JSON (admins).")
            }),
        )
        .api_route(
            "/api/admin/dead-letters",
            get_with(list, |op| {
                op.id("deadLetters").tag(TAG).summary("Messages a consumer failed on every attempt (admins).")
            }),
        )
        .api_route(
            "/api/admin/dead-letters/redrive",
            post_with(redrive, |op| {
                op.id("redriveDeadLetters").tag(TAG).summary("Put dead letters back on their queues (admins).")
            }),
        )
}

const TAG: &str = "operations";

async fn metrics_of(State(a): State<Admin>, Ctx(ctx): Ctx) -> Result<Json<Value>, ApiError> {
    ctx.admin()?;
    Ok(Json((a.metrics)().await))
}

/// `GET /metrics` (admins), in the format Prometheus scrapes; the gauges are read now.
async fn prometheus_metrics(State(a): State<Admin>, Ctx(ctx): Ctx) -> Result<Response, ApiError> {
    ctx.admin()?;
    let counters = (a.metrics)().await;
    for (schema, waiting) in counters["outbox"].as_object().into_iter().flatten() {
        if let Some(waiting) = waiting.as_i64() {
            a.prometheus.outbox.get_or_create(&SchemaLabels { schema: schema.clone() }).set(waiting);
        }
    }
    a.prometheus.record_backend(&counters);
    let dead = a.dead_letters.dead_letters(None).await?.len();
    a.prometheus.dead_letters.set(i64::try_from(dead).unwrap_or(i64::MAX));
    let text = a
        .prometheus
        .encode()
        .map_err(|e| ApiError(coffee_service::ServiceError::Internal(format!("encoding the metrics: {e}"))))?;
    Ok(([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response())
}

/// Alive: the process answers.
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// How long readiness waits for a database's answer: well within a probe's timeout (1 s by
/// default in Kubernetes), so a dead database is reported as such rather than as a timeout.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_millis(800);

/// Ready: every database the process uses answers a query in time. The body also says whether
/// NATS is connected, but a lost connection does not make the process unready: writes still
/// commit (their events wait in the outbox, relayed on reconnection) and reads still answer, and
/// an outage of the one broker would otherwise take every replica out of service at once.
///
/// A gateway on its own also reports each service it calls (`services`: `ready`, or why not), and
/// stays ready while one is down, for the same reason: every gateway replica sees the same
/// services, so failing readiness would take the web app and the parts that still work away
/// from everyone, where a service's outage should cost only what needs that service (its calls
/// answer 503). The service's own `/readyz` takes it out of its load balancer.
async fn readyz(State(a): State<Admin>) -> (StatusCode, Json<Value>) {
    let bus = match a.bus.as_ref().map(|c| c.connection_state()) {
        None => "embedded",
        Some(async_nats::connection::State::Connected) => "connected",
        Some(_) => "disconnected",
    };
    let (status, body) = a.ready.check(bus).await;
    (status, Json(body))
}

/// Each service's own readiness, asked at once, each within [`READY_WITHIN`].
async fn upstreams(http: &reqwest::Client, services: &[(&'static str, String)]) -> Value {
    let asks = services.iter().map(|(name, url)| {
        let request = http.get(format!("{}/readyz", url.trim_end_matches('/'))).timeout(READY_WITHIN).send();
        async move {
            let state = match request.await {
                Ok(r) if r.status().is_success() => "ready".to_owned(),
                Ok(r) => format!("unavailable: its /readyz answered {}", r.status()),
                Err(e) if e.is_timeout() => format!("unavailable: no answer within {} ms", READY_WITHIN.as_millis()),
                Err(_) => "unavailable: cannot reach it".to_owned(),
            };
            (name.to_string(), Value::String(state))
        }
    });
    Value::Object(futures::future::join_all(asks).await.into_iter().collect())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
struct ConsumerParam {
    /// One consumer's (`order-service`, `payment-service`, `fulfilment-service`); all when left out.
    consumer: Option<String>,
}

async fn list(
    State(a): State<Admin>,
    Ctx(ctx): Ctx,
    ApiQuery(p): ApiQuery<ConsumerParam>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    ctx.admin()?;
    Ok(Json(a.dead_letters.dead_letters(p.consumer.as_deref()).await?))
}

async fn redrive(
    State(a): State<Admin>,
    Ctx(ctx): Ctx,
    ApiQuery(p): ApiQuery<ConsumerParam>,
) -> Result<Json<Value>, ApiError> {
    ctx.admin()?;
    let redriven = a.dead_letters.redrive(p.consumer.as_deref()).await?;
    Ok(Json(json!({ "redriven": redriven })))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;

    /// A service whose `/readyz` counts its callers, takes 30 ms to answer, and answers 503
    /// once `down` is set.
    async fn counting_service(down: Arc<AtomicBool>) -> (String, Arc<AtomicUsize>, tokio::task::JoinHandle<()>) {
        let asked = Arc::new(AtomicUsize::new(0));
        let counter = asked.clone();
        let app = axum::Router::new().route(
            "/readyz",
            axum::routing::get(move || {
                let (counter, down) = (counter.clone(), down.clone());
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
                    match down.load(Ordering::SeqCst) {
                        true => StatusCode::SERVICE_UNAVAILABLE,
                        false => StatusCode::OK,
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        (url, asked, server)
    }

    /// Anyone may ask a gateway's `/readyz`, and each check asks every service: a crowd of 50
    /// at once costs a few checks, not 50, and a call after a change sees the change.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crowd_of_readiness_probes_shares_checks_and_each_answer_is_new() {
        let down = Arc::new(AtomicBool::new(false));
        let (url, asked, server) = counting_service(down.clone()).await;
        let ready = Readiness::new(Vec::new(), vec![("order", url)]);
        let crowd: Vec<_> = (0..50)
            .map(|_| {
                let ready = ready.clone();
                tokio::spawn(async move { ready.check("embedded").await })
            })
            .collect();
        for probe in crowd {
            let (status, body) = probe.await.expect("answered");
            assert_eq!(status, StatusCode::OK);
            assert_eq!(body["services"]["order"], "ready", "{body}");
        }
        let checks = asked.load(Ordering::SeqCst);
        assert!((1..=3).contains(&checks), "50 probes at once asked the service {checks} times");

        down.store(true, Ordering::SeqCst);
        let (_, body) = ready.check("embedded").await;
        assert_eq!(
            body["services"]["order"], "unavailable: its /readyz answered 503 Service Unavailable",
            "a call after the change sees it: {body}"
        );
        server.abort();
    }
}
