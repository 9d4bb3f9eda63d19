//! What an operator reads: `GET /metrics` in Prometheus's text format, with each route's
//! requests counted and timed under the route's declared path (never an id) and the gauges read
//! at each scrape; and the logs, as JSON with each request's id on its lines.

use std::collections::BTreeMap;

use reqwest::StatusCode;

use serde_json::Value;

use crate::helpers::{ServerProcess, TestApp, id};

/// The samples of a scrape, by their name and labels as written (`name{a="b"}`).
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("a sample line: {l}"));
            (series.to_owned(), value.parse().unwrap_or_else(|_| panic!("a number in {l}")))
        })
        .collect()
}

async fn scrape(app: &TestApp) -> (String, String) {
    let response = app.http.get(format!("{}/metrics", app.base)).send().await.expect("scraped");
    assert_eq!(response.status(), StatusCode::OK);
    let kind = response.headers()["content-type"].to_str().expect("a type").to_owned();
    (kind, response.text().await.expect("text"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_route_is_counted_and_timed_by_its_declared_path_in_prometheus_s_format() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("2", "metrics-1").await, "orderId");
    let (status, _) = app.get(&format!("/api/order/{order_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.get("/api/order/0190c0de-0000-7000-8000-000000000000").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Made-up methods: a client must not be able to grow the series without bound.
    for made_up in ["BREW", "WHEN"] {
        let method = reqwest::Method::from_bytes(made_up.as_bytes()).expect("a method");
        let (status, _) = app.send(method, "/api/order", None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    }

    let (kind, text) = scrape(&app).await;
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    assert_eq!(text.lines().last(), Some("# EOF"), "{text}");
    for line in [
        "# TYPE coffee_http_requests counter",
        "# TYPE coffee_http_request_duration_seconds histogram",
        "# UNIT coffee_http_request_duration_seconds seconds",
        "# TYPE coffee_dead_letters gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in {text}");
    }
    let got = samples(&text);
    let placed = r#"{method="POST",route="/api/order",status="201"}"#;
    assert_eq!(got.get(&format!("coffee_http_requests_total{placed}")), Some(&1.0), "{text}");
    assert_eq!(got.get(&format!("coffee_http_request_duration_seconds_count{placed}")), Some(&1.0), "{text}");
    assert!(got[&format!("coffee_http_request_duration_seconds_sum{placed}")] > 0.0);
    // The found and the unknown order: one route, two statuses; the ids themselves nowhere.
    let read = |status: u16| {
        format!(r#"coffee_http_requests_total{{method="GET",route="/api/order/{{id}}",status="{status}"}}"#)
    };
    assert_eq!((got.get(&read(200)), got.get(&read(404))), (Some(&1.0), Some(&1.0)), "{text}");
    assert!(!text.contains(&order_id) && !text.contains("0190c0de"), "no id in a label: {text}");
    assert_eq!(got.get("coffee_dead_letters"), Some(&0.0));
    // A method no route takes is answered before the routes' layer: no series for it at all.
    assert!(!text.contains("BREW") && !text.contains(r#"status="405""#), "{text}");

    // Counters only go up: the next scrape has the first one in it too.
    let (_, again) = scrape(&app).await;
    let counted = |text: &str| {
        samples(text).get(r#"coffee_http_requests_total{method="GET",route="/metrics",status="200"}"#).copied()
    };
    assert_eq!((counted(&text), counted(&again)), (None, Some(1.0)), "a scrape is counted after it answers");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_each_request_s_id_which_the_answer_names_and_no_credential() {
    let dir = tempfile::tempdir().expect("a data dir");
    let server = ServerProcess::start_with_env(
        dir.path(),
        &["--log-format", "json"],
        &[("RUST_LOG", "info,tower_http=debug,sqlx=warn")],
    )
    .await;
    let token = coffee_testkit::token(coffee_testkit::AUTH_KEY, "log-admin", "admin");
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{}/api/order?date=2026-01-01", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::OK);
    let request_id = response.headers()["x-request-id"].to_str().expect("an id").to_owned();
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    // A proxy's id is kept.
    let given = client.get(format!("{}/healthz", server.base)).header("x-request-id", "from-the-proxy-1").send().await;
    assert_eq!(given.expect("sent").headers()["x-request-id"], "from-the-proxy-1");
    server.terminate().await;

    let log = std::fs::read_to_string(dir.path().join("server.log")).expect("the log");
    let lines: Vec<Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))).collect();
    let of_request: Vec<&Value> = lines.iter().filter(|l| l["span"]["request_id"] == request_id.as_str()).collect();
    assert!(of_request.len() >= 2, "the request's start and end, with its id: {log}");
    assert!(of_request.iter().all(|l| l["span"]["path"] == "/api/order"), "the path, not the query: {of_request:?}");
    assert!(lines.iter().any(|l| l["span"]["request_id"] == "from-the-proxy-1"), "{log}");
    assert!(!log.contains(&token) && !log.contains("Bearer"), "no credential in the logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streams_held_open_are_counted_at_each_scrape() {
    let app = TestApp::spawn().await;
    let open_streams = |text: &str| samples(text).get("coffee_open_streams").copied();
    let (_, before) = scrape(&app).await;
    assert_eq!(open_streams(&before), Some(0.0), "{before}");
    // Two event streams, held open.
    let mut held = Vec::new();
    for _ in 0..2 {
        let stream = app.http.get(format!("{}/api/events", app.base)).send().await.expect("a stream");
        assert_eq!(stream.status(), StatusCode::OK);
        held.push(stream);
    }
    let (_, during) = scrape(&app).await;
    assert_eq!(open_streams(&during), Some(2.0), "{during}");
    drop(held);
    // Closed by the client: the server notices when it next writes (a keep-alive at the latest).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, after) = scrape(&app).await;
        if open_streams(&after) == Some(0.0) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the streams were never given back: {after}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    app.stop().await;
}

/// Scrapes until `done` holds for the samples (the gauges are read at each scrape; a saga's
/// last steps commit after its last answer).
async fn scrape_until(
    app: &TestApp,
    what: &str,
    done: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let mut last = String::new();
    for _ in 0..500 {
        let (_, text) = scrape(app).await;
        let got = samples(&text);
        if done(&got) {
            return got;
        }
        last = text;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the metrics never showed {what}: {last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_the_sagas_outcomes_and_each_consumers_queue_are_in_the_metrics() {
    // A failed message waits ten minutes before its next try: it stays in its queue.
    let slow_retries = |c: &mut coffee::config::ServeConfig| c.delivery.retry_backoff_ms = 600_000;
    let app = TestApp::spawn_with(slow_retries).await;
    let completed = id(&app.place_order("1", "metrics-2").await, "orderId");
    app.pay(&completed, crate::helpers::GOOD_CARD).await;
    let made = id(&app.fulfilment_of(&completed).await, "fulfilmentId");
    let body = serde_json::json!({"status": "FULFILMENT_COMPLETED"});
    assert!(app.patch(&format!("/api/fulfilment/{made}"), body).await.0.is_success());
    let cancelled = id(&app.place_order("2", "metrics-3").await, "orderId");
    let body = serde_json::json!({"status": "ORDER_CANCELLED"});
    assert!(app.patch(&format!("/api/order/{cancelled}"), body).await.0.is_success());

    let published = |t: &str| format!(r#"coffee_events_published_total{{type="{t}"}}"#);
    let queue = |name: &str, consumer: &str| format!(r#"{name}{{consumer="{consumer}"}}"#);
    let got = scrape_until(&app, "both outcomes and empty queues", |got| {
        got.get(&published("coffee.order.completed")) == Some(&1.0)
            && got.get(&published("coffee.order.cancelled")) == Some(&1.0)
            && ["order-service", "payment-service", "fulfilment-service"]
                .iter()
                .all(|c| got.get(&queue("coffee_queue_messages", c)) == Some(&0.0))
    })
    .await;
    assert_eq!(got.get(&published("coffee.fulfilment.completed")), Some(&1.0));
    assert_eq!(got.get(&published("coffee.order.created")), Some(&2.0));
    let commits = got[r#"coffee_store_commits_total{store="sqlite"}"#];
    assert!(commits >= 10.0, "every step of two sagas committed: {commits}");
    assert!(got[r#"coffee_store_commit_seconds_total{store="sqlite"}"#] > 0.0);
    assert_eq!(got.get(&queue("coffee_queue_oldest_message_age_seconds", "payment-service")), Some(&0.0));
    let dir = app.stop().await;

    // A message its handler cannot read, planted a week ago: tried once, failed, waiting.
    crate::dlq::plant_poison(&dir.path().join(coffee::backend::DATABASE_FILE));
    let app = TestApp::spawn_in(dir, slow_retries).await;
    let got = scrape_until(&app, "the failed message waiting", |got| {
        got.get(&queue("coffee_queue_redelivered_messages", "payment-service")) == Some(&1.0)
    })
    .await;
    assert_eq!(got.get(&queue("coffee_queue_messages", "payment-service")), Some(&1.0));
    assert_eq!(got.get(&queue("coffee_queue_messages", "order-service")), Some(&0.0));
    let age = got[&queue("coffee_queue_oldest_message_age_seconds", "payment-service")];
    assert!(age > 86_400.0, "the planted message was published on 2026-11-25: {age}");
    app.stop().await;
}

/// The Grafana dashboard in deploy/ graphs only metric families the server exports: a renamed
/// metric fails here, not on an operator's empty panel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_graphs_only_metrics_the_server_exports() {
    let path = coffee_testkit::workspace_root().join("deploy/grafana/coffee.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the dashboard")).expect("JSON");
    // Both modes, each after an order: a family is listed once it has a series, and some are
    // one mode's only (the outbox is the distributed mode's, the oldest message's age the
    // embedded bus's).
    let (nats, db) = (coffee_testkit::NatsServer::start(), coffee_testkit::TestDatabase::create());
    let mut text = String::new();
    for app in [TestApp::spawn().await, TestApp::spawn_with(crate::serve_nats::on(&nats, &db)).await] {
        let order_id = id(&app.place_order("1", "grafana").await, "orderId");
        app.eventually(&format!("/api/payment?orderId={order_id}"), "its payment", |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
        text.push_str(&scrape(&app).await.1);
        app.stop().await;
    }
    let families: Vec<&str> =
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).filter_map(|l| l.split(' ').next()).collect();
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8, "a panel for each thing an operator watches");
    let mut graphed = std::collections::BTreeSet::new();
    for panel in panels {
        let targets = panel["targets"].as_array().unwrap_or_else(|| panic!("{}: no targets", panel["title"]));
        assert!(!targets.is_empty(), "{}", panel["title"]);
        for target in targets {
            let expr = target["expr"].as_str().expect("a PromQL expression");
            let names: Vec<&str> = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("coffee_"))
                .collect();
            assert!(!names.is_empty(), "{expr} graphs none of ours");
            for name in names {
                let family = ["_total", "_bucket", "_count", "_sum"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(name);
                assert!(families.contains(&family), "{expr}: the server exports no {family}: {families:?}");
                graphed.insert(family.to_owned());
            }
        }
    }
    for needed in ["coffee_events_published", "coffee_queue_messages", "coffee_dead_letters", "coffee_store_commits"] {
        assert!(graphed.contains(needed), "the dashboard graphs {needed}");
    }
}

/// `coffee doctor` on a data directory a server ran on says all is well (exit 0); on a damaged
/// database, and against a NATS that is not there, it fails naming the fix (exit 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_passes_a_healthy_setup_and_names_the_fix_for_a_broken_one() {
    use crate::helpers::run_cli;
    let app = TestApp::spawn().await;
    id(&app.place_order("1", "doctor").await, "orderId");
    let dir = app.stop().await;
    let data = dir.path().to_str().expect("utf-8");
    let (ok, said) = run_cli(&["doctor", "--data-dir", data]).await;
    assert!(ok, "{said}");
    for line in ["ok    database", "ok    session key", "ok    free disk", "everything checked is in order"] {
        assert!(said.contains(line), "{line}: {said}");
    }

    let broken = tempfile::tempdir().expect("dir");
    std::fs::write(broken.path().join(coffee::backend::DATABASE_FILE), vec![7u8; 8192]).expect("write");
    let (ok, said) = run_cli(&["doctor", "--data-dir", broken.path().to_str().expect("utf-8")]).await;
    assert!(!ok, "{said}");
    assert!(said.contains("FAIL  database") && said.contains("coffee restore"), "{said}");

    // The distributed mode: a real nats-server with JetStream and a fresh database pass (the
    // schemas and streams not made yet are warnings); a NATS nobody listens on fails.
    let (nats, db) = (coffee_testkit::NatsServer::start(), coffee_testkit::TestDatabase::create());
    let (bus, database) = (nats.url(), db.url());
    let key = coffee_testkit::AUTH_KEY;
    let (ok, said) = run_cli(&["doctor", "--bus", &bus, "--database", &database, "--auth-key", key]).await;
    assert!(ok, "{said}");
    for line in ["ok    PostgreSQL", "ok    clock", "ok    JetStream", "warn  stream COFFEE_EVENTS: not created yet"] {
        assert!(said.contains(line), "{line}: {said}");
    }
    let nobody = "nats://127.0.0.1:1";
    let (ok, said) = run_cli(&["doctor", "--bus", nobody, "--database", &database, "--auth-key", key]).await;
    assert!(!ok && said.contains("FAIL  NATS: cannot connect"), "{said}");
}

/// `coffee serve` serves the OpenAPI document of every route it declares, the one
/// `coffee openapi` prints and docs/openapi.json keeps, and Swagger UI over it from the binary.
#[tokio::test]
async fn the_served_openapi_document_is_the_committed_one_and_swagger_ui_shows_it() {
    let app = TestApp::spawn().await;
    let response = app.http.get(format!("{}/api/openapi.json", app.base)).send().await.expect("asked");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = response.text().await.expect("text");
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json"))
        .expect("docs/openapi.json");
    assert!(
        served == committed,
        "the served document differs from docs/openapi.json: run `cargo run -p coffee -- openapi > docs/openapi.json`"
    );
    // Each REST route answers where the document says: one read from each part of it.
    let doc: Value = serde_json::from_str(&served).expect("JSON");
    for path in ["/api/coffees", "/api/shop", "/api/order/board", "/api/payment/checkout", "/healthz"] {
        assert!(doc["paths"][path]["get"].is_object(), "{path} is described");
        let (status, _) = app.get(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let page = app.http.get(format!("{}/api/docs", app.base)).send().await.expect("asked");
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().expect("a policy").to_owned();
    assert!(policy.contains("script-src 'self'") && !policy.contains("https:"), "{policy}");
    let html = page.text().await.expect("html");
    for asset in ["/api-docs/vendor/swagger-ui-bundle.js", "/api-docs/vendor/swagger-ui.css", "/api-docs/init.js"] {
        assert!(html.contains(asset), "the page loads {asset}");
        let file = app.http.get(format!("{}{asset}", app.base)).send().await.expect("asked");
        assert_eq!(file.status(), StatusCode::OK, "{asset} is served by the binary");
    }
}
