//! `GET /metrics`: Prometheus's text format, with each route's requests counted and timed under
//! the route's declared path (never an id), and the gauges read at each scrape.

use std::collections::BTreeMap;

use reqwest::StatusCode;

use crate::helpers::{TestApp, id};

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

    // Counters only go up: the next scrape has the first one in it too.
    let (_, again) = scrape(&app).await;
    let counted = |text: &str| {
        samples(text).get(r#"coffee_http_requests_total{method="GET",route="/metrics",status="200"}"#).copied()
    };
    assert_eq!((counted(&text), counted(&again)), (None, Some(1.0)), "a scrape is counted after it answers");
    app.stop().await;
}
