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
