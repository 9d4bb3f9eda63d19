//! The saga, path by path, over HTTP.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{DECLINED_CARD, GOOD_CARD, NO_FUNDS_CARD, TestApp, id};

#[tokio::test]
async fn a_paid_order_is_made_and_completed_and_every_service_published_each_step_once() {
    let app = TestApp::spawn().await;
    let order = app.place_order("2", "ada").await;
    assert_eq!(order["orderStatus"], "ORDER_CREATED");
    assert_eq!(order["coffee"]["price"], 400);
    let order_id = id(&order, "orderId");

    let payment = app.create_payment(&order_id).await;
    assert_eq!(payment["paymentStatus"], "PAYMENT_CREATED");
    assert_eq!(payment["amount"], 400, "the amount comes from the catalogue");
    assert!(payment["clientSecret"].as_str().is_some_and(|s| s.contains("_secret_")), "{payment}");
    let payment_id = id(&payment, "paymentId");
    let (_, read_back) = app.get(&format!("/api/payment/{payment_id}")).await;
    assert!(read_back.get("clientSecret").is_none(), "only the creator gets the client secret: {read_back}");

    let (status, paid) =
        app.post(&format!("/api/payment/{payment_id}/confirm"), json!({"cardNumber": "4242 4242 4242 4242"})).await;
    assert_eq!(status, StatusCode::OK, "{paid}");
    assert_eq!(paid["paymentStatus"], "PAYMENT_SUCCESSFUL");

    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    let fulfilment = app.fulfilment_of(&order_id).await;
    assert_eq!(fulfilment["fulfilmentStatus"], "FULFILMENT_CREATED");
    assert_eq!(fulfilment["customerName"], "Ada");
    let fulfilment_id = id(&fulfilment, "fulfilmentId");
    let (status, queue) = app.get("/api/fulfilment?status=FULFILMENT_CREATED").await;
    assert_eq!(status, StatusCode::OK);
    assert!(queue.as_array().expect("list").iter().any(|f| f["fulfilmentId"] == fulfilment_id.as_str()));

    let (status, done) = app
        .patch(&format!("/api/fulfilment/{fulfilment_id}"), json!({"status": "FULFILMENT_COMPLETED", "note": "enjoy"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["fulfilmentNote"], "enjoy");
    app.order_status(&order_id, "ORDER_COMPLETED").await;

    assert_eq!(
        app.event_types("order", &order_id).await,
        ["coffee.order.created", "coffee.order.started", "coffee.order.completed"]
    );
    assert_eq!(
        app.event_types("payment", &order_id).await,
        ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.succeeded"]
    );
    assert_eq!(
        app.event_types("fulfilment", &order_id).await,
        ["coffee.fulfilment.created", "coffee.fulfilment.completed"]
    );
    let (_, events) = app.get(&format!("/api/order/events?orderId={order_id}")).await;
    let first = &events[0];
    assert_eq!(first["specversion"], "1.0");
    assert_eq!(first["source"], "order-service");
    assert_eq!(first["subject"], order_id.as_str());
    assert!(first["traceparent"].as_str().is_some_and(|t| t.starts_with("00-")));
    app.stop().await;
}

#[tokio::test]
async fn a_declined_card_leaves_the_order_open_with_the_reason_and_another_card_pays() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("1", "bo").await, "orderId");
    for (card, reason) in
        [(DECLINED_CARD, "Your card was declined."), (NO_FUNDS_CARD, "Your card has insufficient funds.")]
    {
        let declined = app.pay(&order_id, card).await;
        assert_eq!(declined["paymentStatus"], "PAYMENT_CREATED", "still waiting for a card: {declined}");
        assert_eq!(declined["paymentNote"], reason);
        let (_, order) = app.get(&format!("/api/order/{order_id}")).await;
        assert_eq!(order["orderStatus"], "ORDER_CREATED", "the order stays open: {order}");
        let (_, fulfilments) = app.get(&format!("/api/fulfilment?orderId={order_id}")).await;
        assert_eq!(fulfilments, json!([]), "no fulfilment without a successful payment");
    }
    // Asking to pay again gives the same payment, still payable.
    let again = app.create_payment(&order_id).await;
    assert_eq!(again["paymentStatus"], "PAYMENT_CREATED", "{again}");
    let paid = app.pay(&order_id, GOOD_CARD).await;
    assert_eq!(
        (paid["paymentStatus"].clone(), paid["paymentNote"].clone()),
        (json!("PAYMENT_SUCCESSFUL"), Value::Null)
    );
    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    app.fulfilment_of(&order_id).await;
    // Each attempt has its event.
    assert_eq!(
        app.event_types("payment", &order_id).await,
        [
            "coffee.payment.pending",
            "coffee.payment.created",
            "coffee.payment.declined",
            "coffee.payment.declined",
            "coffee.payment.succeeded"
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn a_card_that_is_not_a_test_card_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("1", "bo").await, "orderId");
    let payment = app.create_payment(&order_id).await;
    let payment_id = id(&payment, "paymentId");
    for card in ["4111111111111111", "abc", ""] {
        let (status, err) = app.post(&format!("/api/payment/{payment_id}/confirm"), json!({"cardNumber": card})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{card}: {err}");
        assert_eq!(err["error"]["code"], "BAD_USER_INPUT");
    }
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_CREATED");
    app.stop().await;
}

#[tokio::test]
async fn asking_for_the_payment_again_returns_the_same_payment_and_secret() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("3", "cy").await, "orderId");
    let first = app.create_payment(&order_id).await;
    let second = app.create_payment(&order_id).await;
    assert_eq!(first["paymentId"], second["paymentId"]);
    assert_eq!(first["clientSecret"], second["clientSecret"]);
    assert_eq!(
        app.event_types("payment", &order_id).await,
        ["coffee.payment.pending", "coffee.payment.created"],
        "nothing twice"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_rejected_fulfilment_cancels_the_order_and_refunds_the_payment() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("2", "di").await, "orderId");
    app.pay(&order_id, GOOD_CARD).await;
    let fulfilment_id = id(&app.fulfilment_of(&order_id).await, "fulfilmentId");
    let (status, rejected) = app
        .patch(
            &format!("/api/fulfilment/{fulfilment_id}"),
            json!({"status": "FULFILMENT_REJECTED", "note": "out of milk"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    let order = app.order_status(&order_id, "ORDER_CANCELLED").await;
    assert_eq!(order["orderNote"], "rejected by the barista: out of milk");
    let payment = app
        .eventually(&format!("/api/payment?orderId={order_id}"), "a refund", |v| {
            v[0]["paymentStatus"] == "PAYMENT_REFUNDED"
        })
        .await;
    assert!(payment[0]["paymentNote"].as_str().is_some_and(|n| n.contains("out of milk")), "{payment}");

    // A rejected fulfilment cannot be completed afterwards.
    let (status, err) =
        app.patch(&format!("/api/fulfilment/{fulfilment_id}"), json!({"status": "FULFILMENT_COMPLETED"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("FULFILMENT_REJECTED")), "{err}");
    app.stop().await;
}

#[tokio::test]
async fn a_customer_who_cancels_after_paying_is_refunded_and_the_coffee_is_not_made() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("1", "ed").await, "orderId");
    app.pay(&order_id, GOOD_CARD).await;
    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    let fulfilment_id = id(&app.fulfilment_of(&order_id).await, "fulfilmentId");

    let (status, cancelled) = app
        .patch(&format!("/api/order/{order_id}"), json!({"status": "ORDER_CANCELLED", "note": "changed my mind"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["orderStatus"], "ORDER_CANCELLED");
    app.eventually(&format!("/api/payment?orderId={order_id}"), "a refund", |v| {
        v[0]["paymentStatus"] == "PAYMENT_REFUNDED"
    })
    .await;
    let closed = app
        .eventually(&format!("/api/fulfilment/{fulfilment_id}"), "the fulfilment closed", |f| {
            f["fulfilmentStatus"] == "FULFILMENT_REJECTED"
        })
        .await;
    assert!(closed["fulfilmentNote"].as_str().is_some_and(|n| n.contains("changed my mind")), "{closed}");
    app.stop().await;
}

#[tokio::test]
async fn a_customer_who_cancels_before_paying_is_never_charged() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("1", "fi").await, "orderId");
    let payment = app.create_payment(&order_id).await;
    let (status, _) = app.patch(&format!("/api/order/{order_id}"), json!({"status": "ORDER_CANCELLED"})).await;
    assert_eq!(status, StatusCode::OK);
    app.eventually(&format!("/api/payment?orderId={order_id}"), "a failed payment", |v| {
        v[0]["paymentStatus"] == "PAYMENT_FAILED"
    })
    .await;
    let (status, err) = app
        .post(&format!("/api/payment/{}/confirm", id(&payment, "paymentId")), json!({"cardNumber": GOOD_CARD}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    let (_, fulfilments) = app.get(&format!("/api/fulfilment?orderId={order_id}")).await;
    assert_eq!(fulfilments, json!([]));
    app.stop().await;
}

#[tokio::test]
async fn a_completed_order_cannot_be_cancelled_nor_be_set_by_the_customer() {
    let app = TestApp::spawn().await;
    let order_id = id(&app.place_order("3", "gu").await, "orderId");
    let (status, err) = app.patch(&format!("/api/order/{order_id}"), json!({"status": "ORDER_COMPLETED"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "customers cannot complete orders: {err}");
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("ORDER_CREATED")), "{err}");

    app.pay(&order_id, GOOD_CARD).await;
    let fulfilment_id = id(&app.fulfilment_of(&order_id).await, "fulfilmentId");
    app.patch(&format!("/api/fulfilment/{fulfilment_id}"), json!({"status": "FULFILMENT_COMPLETED"})).await;
    app.order_status(&order_id, "ORDER_COMPLETED").await;
    let (status, err) = app.patch(&format!("/api/order/{order_id}"), json!({"status": "ORDER_CANCELLED"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "CONFLICT");
    assert!(err["error"]["message"].as_str().is_some_and(|m| m.contains("ORDER_COMPLETED")), "{err}");
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_SUCCESSFUL", "no refund");
    app.stop().await;
}

#[tokio::test]
async fn orders_are_listed_by_day_or_by_customer() {
    let app = TestApp::spawn().await;
    let a = id(&app.place_order("1", "hal").await, "orderId");
    let b = id(&app.place_order("2", "hal").await, "orderId");
    let other = id(&app.place_order("3", "ivy").await, "orderId");
    let (_, mine) = app.get("/api/order?customerId=hal").await;
    let ids: Vec<&str> = mine.as_array().expect("list").iter().filter_map(|o| o["orderId"].as_str()).collect();
    assert_eq!(ids, [a.as_str(), b.as_str()], "oldest first");
    // Each order is listed under its own day, so the test holds across midnight.
    for order_id in [&a, &b, &other] {
        let (_, order) = app.get(&format!("/api/order/{order_id}")).await;
        let date = order["date"].as_str().expect("date");
        let (_, that_day) = app.get(&format!("/api/order?date={date}")).await;
        let listed = that_day.as_array().expect("list").iter().any(|o| o["orderId"] == order_id.as_str());
        assert!(listed, "{order_id} is listed under {date}: {that_day}");
    }
    let (_, today) = app.get("/api/order").await;
    let date = today[0]["date"].as_str().expect("date").to_owned();
    let (_, same) = app.get(&format!("/api/order?date={date}")).await;
    assert_eq!(same, today, "no date means today");
    let (_, none) = app.get("/api/order?date=2001-01-01").await;
    assert_eq!(none, json!([]));
    let (_, limited) = app.get("/api/order?limit=1").await;
    assert_eq!(limited[0]["orderId"], other.as_str(), "the newest when limited");
    app.eventually("/api/payment", "three pending payments", |v| v.as_array().is_some_and(|a| a.len() == 3)).await;
    app.stop().await;
}
