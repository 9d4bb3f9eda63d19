//! Traces, as an operator's collector receives them: an OTLP/HTTP receiver in the test, the
//! real binary exporting to it, and one order's spans from every service under one trace id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use serde_json::{Value, json};

use crate::helpers::{GOOD_CARD, Http, ServerProcess};

/// Every span POSTed to `/v1/traces` as OTLP/JSON, each with its process's `service.name`.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Value>>>);

impl Collector {
    async fn start() -> (Self, String) {
        let collector = Self::default();
        let app = axum::Router::new().route("/v1/traces", axum::routing::post(receive)).with_state(collector.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("the collector serves") });
        (collector, url)
    }

    fn spans(&self) -> Vec<Value> {
        self.0.lock().expect("lock").clone()
    }

    /// The spans of `trace_id` once `done` holds for them (the exporter sends in batches).
    async fn trace(&self, trace_id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..1500 {
            let spans: Vec<Value> = self.spans().into_iter().filter(|s| s["traceId"] == trace_id).collect();
            if done(&spans) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let names: Vec<Value> = self.spans().iter().map(|s| json!([s["traceId"], s["name"], s["service"]])).collect();
        panic!("trace {trace_id} never completed; received: {names:?}");
    }
}

async fn receive(State(collector): State<Collector>, body: axum::body::Bytes) -> axum::Json<Value> {
    let request: Value = serde_json::from_slice(&body).expect("OTLP/JSON");
    for resource in request["resourceSpans"].as_array().into_iter().flatten() {
        let service = resource["resource"]["attributes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|a| a["key"] == "service.name")
            .map(|a| a["value"]["stringValue"].clone())
            .unwrap_or(Value::Null);
        for scope in resource["scopeSpans"].as_array().into_iter().flatten() {
            for span in scope["spans"].as_array().into_iter().flatten() {
                let mut span = span.clone();
                span["service"] = service.clone();
                collector.0.lock().expect("lock").push(span);
            }
        }
    }
    axum::Json(json!({}))
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"].as_array()?.iter().find(|a| a["key"] == key).map(|a| &a["value"])
}

fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

/// Where each service answers (all the same in `coffee serve`).
struct Services<'a> {
    order: &'a str,
    payment: &'a str,
    fulfilment: &'a str,
}

/// Places, pays for and makes one order, as its customer and the barista would; its id.
async fn walk(http: &Http, at: &Services<'_>) -> String {
    let body = json!({"coffeeId": "1", "customerId": "trace-1", "customerName": "Ada"});
    let order = http.post(&format!("{}/api/order", at.order), body).await.expect("an order");
    let order_id = order["orderId"].as_str().expect("id").to_owned();
    let payment = http
        .until(&format!("{}/api/payment?orderId={order_id}", at.payment), "the order reached payment", |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(payment[0]["paymentStatus"], "PAYMENT_PENDING");
    let created = http.post(&format!("{}/api/payment", at.payment), json!({"orderId": order_id})).await.expect("pay");
    let payment_id = created["paymentId"].as_str().expect("id");
    let confirm = format!("{}/api/payment/{payment_id}/confirm", at.payment);
    let paid = http.post(&confirm, json!({"cardNumber": GOOD_CARD})).await.expect("paid");
    assert_eq!(paid["paymentStatus"], "PAYMENT_SUCCESSFUL");
    let made = http
        .until(&format!("{}/api/fulfilment?orderId={order_id}", at.fulfilment), "a fulfilment", |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    let fulfilment_id = made[0]["fulfilmentId"].as_str().expect("id");
    let done = json!({"status": "FULFILMENT_COMPLETED"});
    http.patch(&format!("{}/api/fulfilment/{fulfilment_id}", at.fulfilment), done).await.expect("made");
    order_id
}

/// One order's trace as the collector has it: its id is the order's; each service processed
/// its events in it (`service_of` names the process a consumer runs in); each processing hangs
/// under the commit of the event it processed, and what a handler published under its
/// processing; the request that placed the order is linked from its first event's commit.
/// Returns the trace's spans.
async fn assert_one_trace(
    collector: &Collector,
    order_id: &str,
    service_of: impl Fn(&str) -> &'static str,
) -> Vec<Value> {
    let trace_id = order_id.replace('-', "");
    let spans = collector
        .trace(&trace_id, |spans| {
            named(spans, "process coffee.fulfilment.completed").len() == 1
                && named(spans, "process coffee.payment.succeeded").len() == 2
        })
        .await;
    let processed_by = |name: &str| -> Vec<String> {
        let mut by: Vec<String> = named(&spans, name)
            .iter()
            .filter_map(|s| attribute(s, "messaging.consumer.group.name")?["stringValue"].as_str().map(str::to_owned))
            .collect();
        by.sort();
        by
    };
    assert_eq!(processed_by("process coffee.order.created"), ["payment-service"]);
    assert_eq!(processed_by("process coffee.payment.succeeded"), ["fulfilment-service", "order-service"]);
    assert_eq!(processed_by("process coffee.fulfilment.completed"), ["order-service"]);
    for process in spans.iter().filter(|s| s["name"].as_str().is_some_and(|n| n.starts_with("process "))) {
        let event_type = process["name"].as_str().expect("name").trim_start_matches("process ");
        let parent = spans.iter().find(|s| s["spanId"] == process["parentSpanId"]);
        assert_eq!(
            parent.map(|p| p["name"].clone()),
            Some(json!(format!("commit {event_type}"))),
            "{process} hangs under its event's commit"
        );
        let consumer = attribute(process, "messaging.consumer.group.name").and_then(|v| v["stringValue"].as_str());
        assert_eq!(process["service"], service_of(consumer.unwrap_or("?")), "{process}");
    }
    let pending = named(&spans, "commit coffee.payment.pending");
    let reacted = named(&spans, "process coffee.order.created");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["parentSpanId"], reacted[0]["spanId"], "a reaction's commit is its processing's child");
    let created = named(&spans, "commit coffee.order.created");
    let link = &created[0]["links"][0];
    let placed = collector
        .spans()
        .into_iter()
        .find(|s| s["name"] == "POST /api/order" && s["traceId"] == link["traceId"] && s["spanId"] == link["spanId"]);
    let placed = placed.unwrap_or_else(|| panic!("the placing request's span, linked from {}", created[0]));
    assert_eq!(attribute(&placed, "http.response.status_code"), Some(&json!({"intValue": "201"})));
    spans
}

fn exporting_to(url: &str) -> [(&str, &str); 3] {
    [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", url),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_orders_spans_from_every_service_are_one_trace_joined_through_its_events() {
    let (collector, url) = Collector::start().await;
    let dir = tempfile::tempdir().expect("a data dir");
    let server = ServerProcess::start_with_env(dir.path(), &[], &exporting_to(&url)).await;
    let base = server.base.clone();
    let order_id =
        walk(&Http::admin(coffee_testkit::AUTH_KEY), &Services { order: &base, payment: &base, fulfilment: &base })
            .await;
    assert_one_trace(&collector, &order_id, |_| "coffee-serve").await;
    assert!(server.terminate().await.success());
}

/// The same across processes: order, payment and fulfilment on their own over NATS and
/// PostgreSQL, each exporting as itself; the events carry the trace from one to the next, and the
/// relay's hand-off of each event to NATS hangs under its commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_orders_trace_crosses_the_distributed_services_through_nats() {
    use crate::distributed::{Process, service_args};
    let (collector, url) = Collector::start().await;
    let (nats, db) = (coffee_testkit::NatsServer::start(), coffee_testkit::TestDatabase::create());
    let logs = tempfile::tempdir().expect("logs");
    let mut processes = Vec::new();
    for service in ["order", "payment", "fulfilment"] {
        let args = service_args(service, &nats.url(), &db.url());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let log = logs.path().join(format!("{service}.log"));
        processes.push(Process::start_with_env(&args, &log, &exporting_to(&url)).await);
    }
    let at = Services { order: &processes[0].url, payment: &processes[1].url, fulfilment: &processes[2].url };
    let order_id = walk(&Http::admin(coffee_testkit::AUTH_KEY), &at).await;
    let spans = assert_one_trace(&collector, &order_id, |consumer| match consumer {
        "order-service" => "coffee-order",
        "payment-service" => "coffee-payment",
        _ => "coffee-fulfilment",
    })
    .await;
    let sent = named(&spans, "send coffee.order.created");
    let commit = named(&spans, "commit coffee.order.created");
    assert_eq!(sent.len(), 1, "the order's relay sent its event once");
    assert_eq!(sent[0]["parentSpanId"], commit[0]["spanId"]);
    assert_eq!(sent[0]["service"], "coffee-order");
    for mut p in processes {
        p.kill().await;
    }
}

/// A protocol this build cannot speak stops the start naming it, rather than exporting nothing.
#[tokio::test]
async fn an_otlp_protocol_this_build_cannot_speak_is_refused_at_start() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_coffee"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(tempfile::tempdir().expect("dir").path())
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .output()
        .await
        .expect("runs");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc") && said.contains("http/protobuf"), "{said}");
}
