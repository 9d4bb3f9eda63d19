//! Bad input: every kind gets a clear 4xx with a stable code, and changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, WEBHOOK_SECRET, id, webhook_event};

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no code>")
}

#[tokio::test]
async fn bad_order_requests_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let cases = [
        (json!({"coffeeId": "", "customerId": "c", "customerName": "A"}), "coffeeId"),
        (json!({"customerId": "c", "customerName": "A"}), "coffeeId"),
        (json!({"coffeeId": "1", "customerId": "c", "customerName": "   "}), "customerName"),
        (json!({"coffeeId": "1", "customerId": "c", "customerName": "x".repeat(81)}), "customerName"),
        (json!({"coffeeId": "1", "customerName": "A"}), "customerId"),
        (json!({"coffeeId": "1", "customerId": 7, "customerName": "A"}), "customerId"),
        (json!({"coffeeId": true, "customerId": "c", "customerName": "A"}), "coffeeId"),
        (json!({"coffee": {"name": "Latte"}, "customerId": "c", "customerName": "A"}), "id"),
        (json!([1, 2]), "invalid type"),
    ];
    for (body, mentions) in cases {
        let (status, err) = app.post("/api/order", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {err}");
        assert_eq!(code(&err), "BAD_USER_INPUT");
        let message = err["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(mentions), "{body}: message '{message}' should mention {mentions}");
    }
    // A drink the menu never had is not found (as /api/coffees/42 is), not a malformed request.
    let (status, err) = app.post("/api/order", json!({"coffeeId": "42", "customerId": "c", "customerName": "A"})).await;
    assert_eq!((status, code(&err)), (StatusCode::NOT_FOUND, "NOT_FOUND"), "{err}");
    assert!(err["error"]["message"].as_str().unwrap_or_default().contains("'42'"), "{err}");
    let (_, orders) = app.get("/api/order").await;
    assert_eq!(orders, json!([]), "no bad request created an order");
    app.stop().await;
}

#[tokio::test]
async fn the_original_body_shape_is_accepted_and_the_client_price_ignored() {
    let app = TestApp::spawn().await;
    let body = json!({
        "coffee": {"id": "2", "name": "Latte", "price": 1},
        "customerId": "c-9",
        "customerName": "Jo"
    });
    let (status, order) = app.post("/api/order", body).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["coffee"]["price"], 400, "the price comes from the catalogue");
    app.stop().await;
}

#[tokio::test]
async fn malformed_json_and_missing_content_type_are_refused() {
    let app = TestApp::spawn().await;
    let url = format!("{}/api/order", app.base);
    let resp = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .body("{\"coffeeId\": ")
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let err: Value = resp.json().await.expect("json error");
    assert_eq!(code(&err), "BAD_USER_INPUT");
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("malformed JSON")), "{err}");

    let resp = app.http.post(&url).body("{}").send().await.expect("sent");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    app.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_404() {
    let app = TestApp::spawn().await;
    let unknown = "0193f5a0-0000-7000-8000-000000000001";
    for path in [
        format!("/api/order/{unknown}"),
        "/api/order/not-an-id".to_owned(),
        format!("/api/payment/{unknown}"),
        format!("/api/fulfilment/{unknown}"),
        "/api/fulfilment/%F0%9F%98%80".to_owned(),
    ] {
        let (status, err) = app.get(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {err}");
        assert_eq!(code(&err), "NOT_FOUND");
    }
    let (status, _) = app.patch(&format!("/api/order/{unknown}"), json!({"status": "ORDER_CANCELLED"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.patch(&format!("/api/fulfilment/{unknown}"), json!({"status": "FULFILMENT_COMPLETED"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) =
        app.post(&format!("/api/payment/{unknown}/confirm"), json!({"cardNumber": "4242424242424242"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The payment service waits a moment for an order it has not heard of, then says so.
    let (status, err) = app.post("/api/payment", json!({"orderId": unknown})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    let (status, err) = app.post("/api/payment", json!({"orderId": "nope"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    app.stop().await;
}

#[tokio::test]
async fn list_filters_are_checked() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/order?date=2026-11-25&customerId=c",
        "/api/order?date=25-11-2026",
        "/api/order?date=2026-02-30",
        "/api/order?customerID=c",
        "/api/order?limit=0",
        "/api/order?limit=abc",
        "/api/order?limit=999999",
        "/api/order?offset=-1",
        "/api/order?offset=abc",
        "/api/payment?date=2026-11-25&orderId=0193f5a0-0000-7000-8000-000000000001",
        "/api/fulfilment?status=DONE",
        "/api/fulfilment?date=2026-11-25&status=FULFILMENT_CREATED",
        "/api/order/events",
    ] {
        let (status, err) = app.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {err}");
        assert_eq!(code(&err), "BAD_USER_INPUT", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_status_changes_are_refused_with_the_current_status() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("1", "kim").await, "orderId");
    let (status, err) = app.patch(&format!("/api/order/{order_id}"), json!({"status": "ORDER_EXPLODED"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = app.patch(&format!("/api/order/{order_id}"), json!({"note": "no status"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = app.patch(&format!("/api/order/{order_id}"), json!({"status": 3})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = app
        .patch(&format!("/api/order/{order_id}"), json!({"status": "ORDER_CANCELLED", "note": "n".repeat(501)}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, err) = app.patch(&format!("/api/order/{order_id}"), json!({"status": "ORDER_IN_PROGRESS"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    let (_, order) = app.get(&format!("/api/order/{order_id}")).await;
    assert_eq!(order["orderStatus"], "ORDER_CREATED", "nothing changed");
    app.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_json() {
    let app = TestApp::spawn().await;
    let (status, err) = app.get("/api/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&err), "NOT_FOUND");
    let (status, err) = app.send(Method::DELETE, "/api/order", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(code(&err), "METHOD_NOT_ALLOWED");
    let (status, health) = app.get("/healthz").await;
    assert_eq!((status, health["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (status, _) = app.get("/readyz").await;
    assert_eq!(status, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn the_webhook_refuses_bad_or_stale_signatures_and_applies_a_repeated_delivery_once() {
    use coffee_payment::webhook::sign;
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("2", "lu").await, "orderId");
    let payment = app.create_payment(&order_id).await;
    let body = webhook_event("evt_test_1", "payment_intent.succeeded", &payment);
    let now = jiff::Timestamp::now().as_second();

    for signature in [
        sign(b"the wrong secret", now, &body),
        sign(WEBHOOK_SECRET.as_bytes(), now - 3600, &body),
        "t=1,v1=nothex".to_owned(),
        String::new(),
    ] {
        let (status, err) = app.webhook(&body, &signature).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{signature}: {err}");
        assert_eq!(code(&err), "BAD_USER_INPUT");
    }
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let (status, _) = app.webhook(&tampered, &sign(WEBHOOK_SECRET.as_bytes(), now, &body)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_CREATED", "no bad delivery changed it");

    // Signed, for the right intent, but not this payment's amount or currency: refused.
    for (field, value) in
        [("amount", json!(payment["amount"].as_u64().expect("an amount") + 1)), ("currency", json!("usd"))]
    {
        let mut event: Value = serde_json::from_slice(&body).expect("json");
        event["data"]["object"][field] = value;
        let other = serde_json::to_vec(&event).expect("json");
        let (status, err) = app.webhook(&other, &sign(WEBHOOK_SECRET.as_bytes(), now, &other)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "another {field}: {err}");
        assert!(err["error"]["message"].as_str().unwrap_or("").contains("is for"), "{err}");
    }
    assert_eq!(
        app.payment_of(&order_id).await["paymentStatus"],
        "PAYMENT_CREATED",
        "no mismatched delivery changed it"
    );

    // Stripe sends one `v1` per secret while one is being rolled: any of them may match.
    let good = sign(WEBHOOK_SECRET.as_bytes(), now, &body);
    let rolled = format!("t={now},v1={},{}", "ab".repeat(32), good.split_once(',').expect("t=,v1=").1);
    let (status, ack) = app.webhook(&body, &rolled).await;
    assert_eq!(status, StatusCode::OK, "{rolled}: {ack}");
    for _ in 0..3 {
        let (status, ack) = app.webhook(&body, &good).await;
        assert_eq!(status, StatusCode::OK, "{ack}");
    }
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_SUCCESSFUL");
    app.fulfilment_of(&order_id).await;
    assert_eq!(
        app.event_types("payment", &order_id).await,
        ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.succeeded"]
    );

    let mut stranger = payment.clone();
    stranger["paymentId"] = json!("0193f5a0-0000-7000-8000-000000000009");
    let body = webhook_event("evt_test_2", "payment_intent.succeeded", &stranger);
    let (status, ack) = app.webhook(&body, &sign(WEBHOOK_SECRET.as_bytes(), now, &body)).await;
    // Another system's payment on the same account (a staging copy, say): acknowledged, as the
    // provider would otherwise send it again for days, and nothing here changes.
    assert_eq!(status, StatusCode::OK, "{ack}");
    assert_eq!(app.event_types("payment", &order_id).await.len(), 3);
    app.stop().await;
}

#[tokio::test]
async fn the_live_event_stream_filters_by_pattern_and_refuses_a_bad_one() {
    use futures::StreamExt;
    let app = TestApp::spawn().await;
    let (status, err) = app.get("/api/events?pattern=%7B%22type%22%3A%22x%22%7D").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("pattern")), "{err}");
    let (status, _) = app.get("/api/events?pattern=not-json").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let stream = app
        .http
        .get(format!("{}/api/events", app.base))
        .query(&[("pattern", r#"{"type": ["coffee.payment.pending"]}"#)])
        .send()
        .await
        .expect("stream opens");
    assert_eq!(stream.status(), StatusCode::OK);
    let order_id = id(&app.place_order("1", "sse").await, "orderId");
    let mut body = stream.bytes_stream();
    let mut seen = String::new();
    let found = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(Ok(chunk)) = body.next().await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
            if seen.contains("\n\n") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "an event arrived: {seen}");
    assert!(seen.contains("event: coffee.payment.pending") && seen.contains(&order_id), "{seen}");
    assert!(!seen.contains("coffee.order.created"), "the pattern filters: {seen}");
    drop(body);
    app.stop().await;
}
