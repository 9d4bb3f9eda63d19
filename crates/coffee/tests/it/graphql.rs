//! The GraphQL gateway, as the web app uses it: every query and mutation over `POST /graphql`,
//! every subscription over a real WebSocket (graphql-transport-ws), and the errors each kind of
//! bad input gets. `TestApp::send` fails any request answered with a 500.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{DECLINED_CARD, GOOD_CARD, TestApp};

const ORDER: &str =
    "id customerId customerName coffee { id name description price } status note createdAt updatedAt date";
const PAYMENT: &str =
    "id orderId status paymentIntentId clientSecret note createdAt amount currency customerId customerName updatedAt";
const FULFILMENT: &str = "id orderId status note createdAt customerId customerName coffee { id name price } updatedAt";
const UNKNOWN: &str = "0193f5a0-0000-7000-8000-000000000001";

/// How long a change may take to reach a subscriber before a test gives up. Changes arrive in
/// milliseconds (each test prints how long they took); the margin is for a loaded CI machine.
const ARRIVAL: Duration = Duration::from_secs(5);

// --- helpers ----------------------------------------------------------------------------------

/// Runs an operation; the answer must be HTTP 200 (GraphQL errors included).
async fn gql(app: &TestApp, query: &str, variables: Value) -> Value {
    let (status, body) = app.post("/graphql", json!({ "query": query, "variables": variables })).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

/// Runs an operation that must succeed, and returns its `data`.
async fn ok(app: &TestApp, query: &str, variables: Value) -> Value {
    let body = gql(app, query, variables).await;
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

/// Runs an operation that must fail, and returns its first error's code and message.
async fn fails(app: &TestApp, query: &str, variables: Value) -> (String, String) {
    let body = gql(app, query, variables).await;
    let error = &body["errors"][0];
    assert!(error.is_object(), "{query} should fail: {body}");
    let code = error["extensions"]["code"].as_str().unwrap_or("<no code>").to_owned();
    (code, error["message"].as_str().unwrap_or_default().to_owned())
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}")).to_owned()
}

fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}

/// The UTC day of a time in seconds since the epoch.
fn day_of(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).expect("a time").strftime("%Y-%m-%d").to_string()
}

async fn create_order(app: &TestApp, coffee: &str, customer: &str, name: &str) -> Value {
    let data = ok(
        app,
        &format!(
            "mutation($c: ID!, $id: String!, $n: String!) {{
                createOrder(coffeeId: $c, customerId: $id, customerName: $n) {{ {ORDER} }} }}"
        ),
        json!({ "c": coffee, "id": customer, "n": name }),
    )
    .await;
    data["createOrder"].clone()
}

async fn make_payment(app: &TestApp, order_id: &str) -> Value {
    let q = format!("mutation($o: ID!) {{ makePayment(orderId: $o) {{ {PAYMENT} }} }}");
    ok(app, &q, json!({ "o": order_id })).await["makePayment"].clone()
}

async fn confirm_payment(app: &TestApp, payment_id: &str, card: &str) -> Value {
    let q =
        format!("mutation($p: ID!, $c: String!) {{ confirmPayment(paymentId: $p, cardNumber: $c) {{ {PAYMENT} }} }}");
    ok(app, &q, json!({ "p": payment_id, "c": card })).await["confirmPayment"].clone()
}

/// Orders, pays with a good card and waits for the barista's fulfilment; returns it.
async fn paid_order(app: &TestApp, customer: &str, name: &str) -> (Value, Value) {
    let order = create_order(app, "2", customer, name).await;
    let payment = make_payment(app, &text(&order, "id")).await;
    let paid = confirm_payment(app, &text(&payment, "id"), GOOD_CARD).await;
    assert_eq!(paid["status"], "PAYMENT_SUCCESSFUL", "{paid}");
    let fulfilment = fulfilment_for(app, &text(&order, "id")).await;
    (order, fulfilment)
}

/// Polls a query until `done` holds for its data, for up to 10 s.
async fn eventually(app: &TestApp, query: &str, variables: Value, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..1000 {
        last = ok(app, query, variables.clone()).await;
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting on {query}; last data: {last}");
}

async fn fulfilment_for(app: &TestApp, order_id: &str) -> Value {
    let q = format!("query($o: ID!) {{ getFulfilmentForOrder(orderId: $o) {{ {FULFILMENT} }} }}");
    eventually(app, &q, json!({ "o": order_id }), |d| d["getFulfilmentForOrder"].is_object()).await
        ["getFulfilmentForOrder"]
        .clone()
}

async fn order_reaches(app: &TestApp, order_id: &str, status: &str) -> Value {
    let q = format!("query($o: ID!) {{ getOrder(orderId: $o) {{ {ORDER} }} }}");
    eventually(app, &q, json!({ "o": order_id }), |d| d["getOrder"]["status"] == status).await["getOrder"].clone()
}

async fn payment_reaches(app: &TestApp, order_id: &str, status: &str) -> Value {
    let q = format!("query($o: ID!) {{ getPaymentForOrder(orderId: $o) {{ {PAYMENT} }} }}");
    eventually(app, &q, json!({ "o": order_id }), |d| d["getPaymentForOrder"]["status"] == status).await
        ["getPaymentForOrder"]
        .clone()
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array().expect("a list").iter().map(|x| text(x, "id")).collect()
}

/// A graphql-transport-ws client on its own WebSocket, one subscription at a time.
pub(crate) struct Subscriber {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Messages read while waiting for another one.
    buffered: VecDeque<Value>,
}

impl Subscriber {
    pub(crate) async fn connect(app: &TestApp) -> Self {
        Self::connect_with(app, "graphql-transport-ws").await
    }

    async fn connect_with(app: &TestApp, protocol: &str) -> Self {
        let url = format!("{}/graphql", app.base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("a ws request");
        request.headers_mut().insert("Sec-WebSocket-Protocol", protocol.parse().expect("header"));
        let (ws, response) = tokio_tungstenite::connect_async(request).await.expect("the WebSocket opens");
        assert_eq!(response.headers()["sec-websocket-protocol"], protocol);
        let mut subscriber = Self { ws, buffered: VecDeque::new() };
        // The test's admin, as the WebSocket's own credential.
        let token = coffee_testkit::token(&app.key, "test-admin", "admin");
        subscriber
            .send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
            .await;
        let ack = subscriber.receive().await.expect("an answer to connection_init");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        subscriber
    }

    async fn send(&mut self, message: Value) {
        self.ws.send(Message::text(message.to_string())).await.expect("sent");
    }

    /// The next protocol message; `None` when the socket closed.
    async fn receive(&mut self) -> Option<Value> {
        match self.buffered.pop_front() {
            Some(message) => Some(message),
            None => self.read().await,
        }
    }

    async fn read(&mut self) -> Option<Value> {
        loop {
            match tokio::time::timeout(ARRIVAL, self.ws.next()).await.expect("a message in time")? {
                Ok(Message::Text(t)) => {
                    let message: Value = serde_json::from_str(&t).expect("json");
                    if message["type"] == "ping" {
                        self.send(json!({ "type": "pong" })).await;
                        continue;
                    }
                    return Some(message);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Subscribes, and returns once the server has taken the subscription: it reads a
    /// connection's messages in order and answers the ping that follows `subscribe` only after
    /// it started the subscription, so a change committed after the pong reaches it.
    pub(crate) async fn subscribe(mut self, query: &str, variables: Value) -> Self {
        self.send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
        self.send(json!({ "type": "ping" })).await;
        loop {
            let message = self.read().await.expect("the socket stays open");
            if message["type"] == "pong" {
                return self;
            }
            self.buffered.push_back(message);
        }
    }

    /// The next result of the subscription: the named field of its data.
    pub(crate) async fn next(&mut self, field: &str) -> Value {
        let message = self.receive().await.expect("the socket stays open");
        assert_eq!(message["type"], "next", "{message}");
        assert!(message["payload"].get("errors").is_none(), "{message}");
        message["payload"]["data"][field].clone()
    }

    /// The next protocol message if one comes within `wait`.
    async fn receive_within(&mut self, wait: Duration) -> Option<Value> {
        if let Some(message) = self.buffered.pop_front() {
            return Some(message);
        }
        match tokio::time::timeout(wait, self.ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => serde_json::from_str(&t).ok(),
            _ => None,
        }
    }

    /// Proves that nothing more came for the subscription: a second subscription on the same
    /// socket watches a customer of its own, whose new order is then placed; that order's
    /// change must be the next thing the socket carries.
    async fn nothing_more(&mut self, app: &TestApp) {
        assert!(self.buffered.is_empty(), "expected nothing more, got {:?}", self.buffered);
        let customer = format!("sentinel-{}", uuid::Uuid::new_v4().simple());
        let query = order_sub();
        self.send(json!({ "id": "sentinel", "type": "subscribe", "payload": { "query": query, "variables": { "c": customer } } }))
            .await;
        self.send(json!({ "type": "ping" })).await;
        let message = self.read().await.expect("the socket stays open");
        assert_eq!(message["type"], "pong", "expected nothing more, got {message}");
        let sentinel = create_order(app, "1", &customer, "Sam").await;
        let next = self.receive().await.expect("the socket stays open");
        assert_eq!(next["id"], "sentinel", "expected nothing more before the sentinel, got {next}");
        assert_eq!(next["payload"]["data"]["orderUpdated"]["id"], sentinel["id"], "{next}");
    }
}

pub(crate) fn order_sub() -> String {
    format!("subscription($o: String, $c: String) {{ orderUpdated(orderId: $o, customerId: $c) {{ {ORDER} }} }}")
}

fn payment_sub() -> String {
    format!("subscription($p: String, $c: String) {{ paymentUpdated(paymentId: $p, customerId: $c) {{ {PAYMENT} }} }}")
}

fn fulfilment_sub() -> String {
    format!(
        "subscription($f: String, $c: String) {{ fulfilmentUpdated(fulfilmentId: $f, customerId: $c) {{ {FULFILMENT} }} }}"
    )
}

// --- queries and mutations ----------------------------------------------------------------------

#[tokio::test]
async fn the_menu_and_a_new_order_have_the_contract_s_fields() {
    let app = TestApp::spawn().await;
    let data = ok(&app, "{ getCoffees { id name description price } }", json!({})).await;
    let menu = data["getCoffees"].as_array().expect("a list");
    assert_eq!(menu.len(), 3);
    let latte = "Espresso with plenty of steamed milk and a thin layer of foam.";
    assert_eq!(menu[1], json!({ "id": "2", "name": "Latte", "description": latte, "price": 400 }));

    let before = jiff::Timestamp::now().as_second();
    let order = create_order(&app, "2", "cust-1", "  Ada ").await;
    assert_eq!(order["status"], "ORDER_CREATED");
    assert_eq!(order["customerId"], "cust-1");
    assert_eq!(order["customerName"], "Ada");
    assert_eq!(order["coffee"]["price"], 400, "the price comes from the menu");
    assert_eq!(order["note"], Value::Null);
    let created = order["createdAt"].as_i64().expect("createdAt");
    assert_eq!(order["date"], day_of(created), "the day it was placed, UTC");
    assert!((before..=before + 5).contains(&created), "createdAt is in seconds: {created}");
    assert_eq!(order["updatedAt"], order["createdAt"]);

    let order_id = text(&order, "id");
    let q = format!("query($o: ID!) {{ getOrder(orderId: $o) {{ {ORDER} }} }}");
    assert_eq!(ok(&app, &q, json!({ "o": order_id })).await["getOrder"], order);
    assert_eq!(ok(&app, &q, json!({ "o": UNKNOWN })).await["getOrder"], Value::Null, "null, not an error");

    let list = format!("query($d: String, $c: String) {{ getOrderList(date: $d, customerId: $c) {{ {ORDER} }} }}");
    for variables in [json!({ "d": order["date"] }), json!({ "c": "cust-1" })] {
        let data = ok(&app, &list, variables.clone()).await;
        assert_eq!(ids(&data["getOrderList"]), std::slice::from_ref(&order_id), "{variables}");
    }
    // No arguments: today's, as the server's clock has it (unless the test crossed midnight).
    let before = today();
    let listed = ids(&ok(&app, &list, json!({})).await["getOrderList"]);
    if before == today() {
        let expected: &[String] = if order["date"] == before.as_str() { std::slice::from_ref(&order_id) } else { &[] };
        assert_eq!(listed, expected, "no arguments: today's orders");
    }
    let data = ok(&app, &list, json!({ "c": "someone-else" })).await;
    assert_eq!(data["getOrderList"], json!([]));
    app.stop().await;
}

#[tokio::test]
async fn an_order_is_paid_made_and_completed_over_graphql() {
    let app = TestApp::spawn().await;
    let order = create_order(&app, "3", "cust-2", "Bea").await;
    let order_id = text(&order, "id");
    let fulfilment_q = format!("query($o: ID!) {{ getFulfilmentForOrder(orderId: $o) {{ {FULFILMENT} }} }}");
    assert_eq!(ok(&app, &fulfilment_q, json!({ "o": order_id })).await["getFulfilmentForOrder"], Value::Null);
    let payment_q = format!("query($o: ID!) {{ getPaymentForOrder(orderId: $o) {{ {PAYMENT} }} }}");
    assert_eq!(ok(&app, &payment_q, json!({ "o": UNKNOWN })).await["getPaymentForOrder"], Value::Null);

    let payment = make_payment(&app, &order_id).await;
    assert_eq!(payment["status"], "PAYMENT_CREATED");
    assert_eq!(payment["orderId"], order_id.as_str());
    assert_eq!((payment["amount"].as_i64(), payment["currency"].as_str()), (Some(450), Some("AUD")));
    assert_eq!((payment["customerId"].as_str(), payment["customerName"].as_str()), (Some("cust-2"), Some("Bea")));
    assert!(payment["clientSecret"].as_str().is_some_and(|s| !s.is_empty()), "makePayment gives the secret");
    assert!(payment["paymentIntentId"].as_str().is_some_and(|s| !s.is_empty()), "{payment}");
    let again = make_payment(&app, &order_id).await;
    assert_eq!(again["id"], payment["id"], "asking again gives the same payment");

    let read = ok(&app, &payment_q, json!({ "o": order_id })).await["getPaymentForOrder"].clone();
    assert_eq!(read["id"], payment["id"]);
    assert_eq!(read["clientSecret"], Value::Null, "only makePayment gives the secret");
    let day = ok(
        &app,
        &format!("query($d: String) {{ getPaymentList(date: $d) {{ {PAYMENT} }} }}"),
        json!({ "d": order["date"] }),
    )
    .await;
    assert_eq!(ids(&day["getPaymentList"]), [text(&payment, "id")]);
    assert_eq!(day["getPaymentList"][0]["clientSecret"], Value::Null);

    let paid = confirm_payment(&app, &text(&payment, "id"), "4242 4242 4242 4242").await;
    assert_eq!(paid["status"], "PAYMENT_SUCCESSFUL");
    assert_eq!(paid["clientSecret"], Value::Null);
    order_reaches(&app, &order_id, "ORDER_IN_PROGRESS").await;

    let fulfilment = fulfilment_for(&app, &order_id).await;
    assert_eq!(fulfilment["status"], "FULFILMENT_CREATED");
    assert_eq!(
        (fulfilment["customerName"].as_str(), fulfilment["coffee"]["name"].as_str()),
        (Some("Bea"), Some("Mocha"))
    );
    let fulfilment_id = text(&fulfilment, "id");
    let queue = ok(&app, &format!("{{ getFulfilmentQueue {{ {FULFILMENT} }} }}"), json!({})).await;
    assert_eq!(ids(&queue["getFulfilmentQueue"]), std::slice::from_ref(&fulfilment_id));
    let day = ok(
        &app,
        &format!("query($d: String) {{ getFulfilmentList(date: $d) {{ {FULFILMENT} }} }}"),
        json!({ "d": day_of(fulfilment["createdAt"].as_i64().expect("createdAt")) }),
    )
    .await;
    assert_eq!(ids(&day["getFulfilmentList"]), std::slice::from_ref(&fulfilment_id));

    let complete = format!(
        "mutation($f: ID!, $n: String) {{ completeFulfilment(fulfilmentId: $f, note: $n) {{ {FULFILMENT} }} }}"
    );
    let done = ok(&app, &complete, json!({ "f": fulfilment_id, "n": "enjoy" })).await["completeFulfilment"].clone();
    assert_eq!((done["status"].as_str(), done["note"].as_str()), (Some("FULFILMENT_COMPLETED"), Some("enjoy")));
    order_reaches(&app, &order_id, "ORDER_COMPLETED").await;
    let queue = ok(&app, &format!("{{ getFulfilmentQueue {{ {FULFILMENT} }} }}"), json!({})).await;
    assert_eq!(queue["getFulfilmentQueue"], json!([]), "a made coffee leaves the queue");

    let timeline_q = "query($o: ID!) { getOrderTimeline(orderId: $o) { id type source time status note data } }";
    let timeline = ok(&app, timeline_q, json!({ "o": order_id })).await["getOrderTimeline"].clone();
    let events = timeline.as_array().expect("a list");
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap_or("?")).collect();
    for expected in [
        "coffee.order.created",
        "coffee.payment.pending",
        "coffee.payment.created",
        "coffee.payment.succeeded",
        "coffee.order.started",
        "coffee.fulfilment.created",
        "coffee.fulfilment.completed",
        "coffee.order.completed",
    ] {
        assert!(types.contains(&expected), "{expected} missing from {types:?}");
    }
    assert_eq!(types.len(), 8, "{types:?}");
    assert_eq!(types[0], "coffee.order.created");
    assert_eq!(*types.last().expect("events"), "coffee.order.completed");
    let times: Vec<jiff::Timestamp> = events.iter().map(|e| text(e, "time").parse().expect("RFC 3339")).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "sorted by time: {times:?}");
    let succeeded = events.iter().find(|e| e["type"] == "coffee.payment.succeeded").expect("succeeded");
    assert_eq!(
        (succeeded["source"].as_str(), succeeded["status"].as_str()),
        (Some("payment-service"), Some("PAYMENT_SUCCESSFUL"))
    );
    let snapshot: Value = serde_json::from_str(&text(succeeded, "data")).expect("data is JSON");
    assert_eq!(snapshot["orderId"], order_id.as_str());
    app.stop().await;
}

#[tokio::test]
async fn the_owner_adds_a_drink_with_its_own_options_and_changes_them_over_graphql() {
    let app = TestApp::spawn().await;
    const MENU_ITEM: &str = "id name price available options { size { value priceDelta } milk { value priceDelta } extraShot maxExtraShots }";
    // A cold brew: no milk but full, a large is A$1 more, shots 80 c, at most one.
    let add = format!(
        "mutation($o: MenuOptionsInput) {{ addCoffee(name: \"Cold brew\", price: 500, options: $o) {{ {MENU_ITEM} }} }}"
    );
    let options = json!({
        "size": [{"value": "regular", "priceDelta": 0}, {"value": "large", "priceDelta": 100}],
        "milk": [{"value": "full", "priceDelta": 0}],
        "extraShot": 80,
        "maxExtraShots": 1
    });
    let added = ok(&app, &add, json!({ "o": options })).await["addCoffee"].clone();
    assert_eq!(added["options"], options, "{added}");
    let id = text(&added, "id");
    let order = |size: &str, milk: &str, shots: i64| {
        json!({"coffeeId": id, "customerId": "cold-1", "customerName": "Cy",
               "options": {"size": size, "milk": milk, "extraShots": shots}})
    };
    let (status, large) = app.post("/api/order", order("large", "full", 1)).await;
    assert_eq!((status, large["price"].clone()), (StatusCode::CREATED, json!(500 + 100 + 80)), "{large}");
    for (body, field) in [
        (order("small", "full", 0), "options.size"),
        (order("regular", "oat", 0), "options.milk"),
        (order("regular", "full", 2), "options.extraShots"),
    ] {
        let (status, refused) = app.post("/api/order", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {refused}");
        assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains(field)), "{field}: {refused}");
    }

    // Changing the options replaces them all; a bad set names the field and changes nothing.
    let change = format!(
        "mutation($c: ID!, $o: MenuOptionsInput) {{ changeCoffee(coffeeId: $c, options: $o) {{ {MENU_ITEM} }} }}"
    );
    let oat = json!({"size": [{"value": "regular", "priceDelta": 0}], "milk": [{"value": "oat", "priceDelta": 40}], "extraShot": 80, "maxExtraShots": 0});
    let changed = ok(&app, &change, json!({ "c": id, "o": oat })).await["changeCoffee"].clone();
    assert_eq!(changed["options"], oat, "{changed}");
    for (bad, field) in [
        (
            json!({"size": [{"value": "tall", "priceDelta": 0}], "milk": [{"value": "oat", "priceDelta": 0}], "extraShot": 0, "maxExtraShots": 0}),
            "options.size",
        ),
        (
            json!({"size": [{"value": "large", "priceDelta": 0}, {"value": "large", "priceDelta": 5}], "milk": [{"value": "oat", "priceDelta": 0}], "extraShot": 0, "maxExtraShots": 0}),
            "options.size",
        ),
        (
            json!({"size": [{"value": "large", "priceDelta": 0}], "milk": [], "extraShot": 0, "maxExtraShots": 0}),
            "options",
        ),
        (
            json!({"size": [{"value": "large", "priceDelta": 0}], "milk": [{"value": "soy", "priceDelta": 0}], "extraShot": 2000, "maxExtraShots": 0}),
            "options",
        ),
        (
            json!({"size": [{"value": "large", "priceDelta": 0}], "milk": [{"value": "soy", "priceDelta": 0}], "extraShot": 0, "maxExtraShots": 4}),
            "options.maxExtraShots",
        ),
    ] {
        let (code, message) = fails(&app, &change, json!({ "c": id, "o": bad })).await;
        assert_eq!(code, "BAD_USER_INPUT", "{bad}: {message}");
        assert!(message.contains(field), "{field}: {message}");
    }
    let menu = ok(&app, &format!("{{ getCoffees {{ {MENU_ITEM} }} }}"), json!({})).await;
    let kept =
        menu["getCoffees"].as_array().expect("menu").iter().find(|c| c["id"] == id.as_str()).expect("listed").clone();
    assert_eq!(kept["options"], oat, "a refused change changes nothing: {kept}");
    let (status, priced) = app.post("/api/order", order("regular", "oat", 0)).await;
    assert_eq!((status, priced["price"].clone()), (StatusCode::CREATED, json!(540)), "{priced}");
    app.stop().await;
}

#[tokio::test]
async fn a_rejected_coffee_cancels_the_order_with_the_note_and_refunds_it() {
    let app = TestApp::spawn().await;
    let (order, fulfilment) = paid_order(&app, "cust-3", "Cy").await;
    let order_id = text(&order, "id");
    let reject =
        format!("mutation($f: ID!, $n: String) {{ rejectFulfilment(fulfilmentId: $f, note: $n) {{ {FULFILMENT} }} }}");
    let rejected =
        ok(&app, &reject, json!({ "f": text(&fulfilment, "id"), "n": "Out of oat milk" })).await["rejectFulfilment"]
            .clone();
    assert_eq!(rejected["status"], "FULFILMENT_REJECTED");
    let cancelled = order_reaches(&app, &order_id, "ORDER_CANCELLED").await;
    assert!(cancelled["note"].as_str().is_some_and(|n| n.contains("Out of oat milk")), "{cancelled}");
    payment_reaches(&app, &order_id, "PAYMENT_REFUNDED").await;
    app.stop().await;
}

#[tokio::test]
async fn the_customer_cancels_with_a_note_and_a_declined_card_says_why_and_another_card_pays() {
    let app = TestApp::spawn().await;
    let order = create_order(&app, "1", "cust-4", "Di").await;
    let cancel = format!("mutation($o: ID!, $n: String) {{ cancelOrder(orderId: $o, note: $n) {{ {ORDER} }} }}");
    let cancelled =
        ok(&app, &cancel, json!({ "o": text(&order, "id"), "n": "changed my mind" })).await["cancelOrder"].clone();
    assert_eq!(
        (cancelled["status"].as_str(), cancelled["note"].as_str()),
        (Some("ORDER_CANCELLED"), Some("changed my mind"))
    );

    let order = create_order(&app, "1", "cust-4", "Di").await;
    let payment = make_payment(&app, &text(&order, "id")).await;
    let declined = confirm_payment(&app, &text(&payment, "id"), DECLINED_CARD).await;
    assert_eq!(declined["status"], "PAYMENT_CREATED", "another card may pay: {declined}");
    assert!(declined["note"].as_str().is_some_and(|n| n.to_lowercase().contains("declined")), "{declined}");
    order_reaches(&app, &text(&order, "id"), "ORDER_CREATED").await;
    let paid = confirm_payment(&app, &text(&payment, "id"), GOOD_CARD).await;
    assert_eq!((paid["status"].as_str(), paid["note"].as_str()), (Some("PAYMENT_SUCCESSFUL"), None));
    order_reaches(&app, &text(&order, "id"), "ORDER_IN_PROGRESS").await;
    app.stop().await;
}

#[tokio::test]
async fn the_fulfilment_queue_is_oldest_first() {
    let app = TestApp::spawn().await;
    let (_, first) = paid_order(&app, "cust-5", "Ed").await;
    let (_, second) = paid_order(&app, "cust-6", "Flo").await;
    let queue = ok(&app, &format!("{{ getFulfilmentQueue {{ {FULFILMENT} }} }}"), json!({})).await;
    assert_eq!(ids(&queue["getFulfilmentQueue"]), [text(&first, "id"), text(&second, "id")]);
    app.stop().await;
}

// --- errors -------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_input_gets_the_right_code_and_never_a_500() {
    let app = TestApp::spawn().await;
    let create = "mutation($c: ID!) { createOrder(coffeeId: $c, customerId: \"c\", customerName: \"A\") { id } }";
    let (code, message) = fails(&app, create, json!({ "c": "42" })).await;
    assert_eq!(code, "NOT_FOUND", "a drink the menu never had");
    assert!(message.contains("coffee"), "{message}");
    let (code, _) = fails(
        &app,
        "mutation { createOrder(coffeeId: \"1\", customerId: \"c\", customerName: \" \") { id } }",
        json!({}),
    )
    .await;
    assert_eq!(code, "BAD_USER_INPUT", "an empty name");

    let list = "query($d: String, $c: String) { getOrderList(date: $d, customerId: $c) { id } }";
    assert_eq!(
        fails(&app, list, json!({ "d": "2026-11-25", "c": "c" })).await.0,
        "BAD_USER_INPUT",
        "date and customerId"
    );
    assert_eq!(fails(&app, list, json!({ "d": "25/11/2026" })).await.0, "BAD_USER_INPUT", "a bad date");
    assert_eq!(fails(&app, "{ getPaymentList(date: \"yesterday\") { id } }", json!({})).await.0, "BAD_USER_INPUT");

    let (code, message) =
        fails(&app, "mutation($o: ID!) { makePayment(orderId: $o) { id } }", json!({ "o": UNKNOWN })).await;
    assert_eq!(code, "NOT_FOUND", "{message}");
    // The order service answers, at once: the payment service, which would wait a moment for an
    // order it has not heard of yet, is not asked.
    assert_eq!(message, format!("no order with id '{UNKNOWN}'"), "{message}");
    for (query, variables) in [
        ("mutation($o: ID!) { cancelOrder(orderId: $o) { id } }", json!({ "o": UNKNOWN })),
        ("mutation($o: ID!) { cancelOrder(orderId: $o) { id } }", json!({ "o": "not-an-id" })),
        ("mutation($f: ID!) { completeFulfilment(fulfilmentId: $f) { id } }", json!({ "f": UNKNOWN })),
        ("mutation($f: ID!) { rejectFulfilment(fulfilmentId: $f, note: \"x\") { id } }", json!({ "f": UNKNOWN })),
        (
            "mutation($p: ID!) { confirmPayment(paymentId: $p, cardNumber: \"4242424242424242\") { id } }",
            json!({ "p": UNKNOWN }),
        ),
        ("query($o: ID!) { getOrderTimeline(orderId: $o) { id } }", json!({ "o": UNKNOWN })),
    ] {
        assert_eq!(fails(&app, query, variables).await.0, "NOT_FOUND", "{query}");
    }

    let order = create_order(&app, "1", "c", "Gus").await;
    let payment = make_payment(&app, &text(&order, "id")).await;
    let confirm = "mutation($p: ID!, $c: String!) { confirmPayment(paymentId: $p, cardNumber: $c) { id } }";
    let (code, message) = fails(&app, confirm, json!({ "p": text(&payment, "id"), "c": "1234 5678 9012 3456" })).await;
    assert_eq!(code, "BAD_USER_INPUT", "an unknown test card: {message}");
    assert_eq!(fails(&app, confirm, json!({ "p": text(&payment, "id"), "c": "abc" })).await.0, "BAD_USER_INPUT");

    let (order, fulfilment) = paid_order(&app, "c", "Hal").await;
    let complete = "mutation($f: ID!) { completeFulfilment(fulfilmentId: $f) { id } }";
    ok(&app, complete, json!({ "f": text(&fulfilment, "id") })).await;
    order_reaches(&app, &text(&order, "id"), "ORDER_COMPLETED").await;
    let cancel = "mutation($o: ID!) { cancelOrder(orderId: $o) { id } }";
    let (code, message) = fails(&app, cancel, json!({ "o": text(&order, "id") })).await;
    assert_eq!(code, "CONFLICT", "cancelling a completed order");
    assert!(message.contains("ORDER_COMPLETED"), "the message names the current status: {message}");
    assert_eq!(fails(&app, complete, json!({ "f": text(&fulfilment, "id") })).await.0, "CONFLICT", "completing twice");

    // GraphQL's own errors (parse, validation, variables) have a code too.
    for (query, variables) in [
        ("{ getCoffees { id ", json!({})),
        ("{ getNothing }", json!({})),
        ("query($o: ID!) { getOrder(orderId: $o) { id } }", json!({})),
        ("query($o: ID!) { getOrder(orderId: $o) { id } }", json!({ "o": [1] })),
    ] {
        assert_eq!(fails(&app, query, variables).await.0, "BAD_USER_INPUT", "{query}");
    }
    app.stop().await;
}

#[tokio::test]
async fn requests_that_are_not_graphql_get_a_clear_answer() {
    let app = TestApp::spawn().await;
    let url = format!("{}/graphql", app.base);
    let resp = app.http.post(&url).header("content-type", "text/plain").body("{}").send().await.expect("sent");
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    let resp =
        app.http.post(&url).header("content-type", "application/json").body("{\"query\": ").send().await.expect("sent");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let (status, body) = app.get("/graphql").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let resp = app.http.get(&url).header("accept", "text/html,*/*").send().await.expect("sent");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND, "GraphiQL only with --dev (see limits.rs)");

    let (status, body) = app.send(reqwest::Method::PUT, "/graphql", Some(json!({}))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn the_web_app_is_served_without_shadowing_the_api() {
    let app = TestApp::spawn().await;
    for page in ["/", "/barista", "/orders", "/display", "/admin"] {
        let resp = app.http.get(format!("{}{page}", app.base)).send().await.expect("sent");
        assert_eq!(resp.status(), StatusCode::OK, "{page}");
        assert!(resp.headers()["content-type"].to_str().unwrap_or("").starts_with("text/html"), "{page}");
        assert!(resp.text().await.expect("html").contains("/_app/"), "{page} is the app");
    }
    let (status, body) = app.get("/api/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    let (status, coffees) = app.get("/api/coffees").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(coffees.as_array().map(Vec::len), Some(3));
    app.stop().await;
}

// --- subscriptions ------------------------------------------------------------------------------

#[tokio::test]
async fn an_order_subscription_sends_the_current_state_first_then_each_change() {
    let app = TestApp::spawn().await;
    let order = create_order(&app, "2", "cust-7", "Ida").await;
    let order_id = text(&order, "id");
    let mut sub = Subscriber::connect(&app).await.subscribe(&order_sub(), json!({ "o": order_id })).await;
    let first = sub.next("orderUpdated").await;
    assert_eq!((first["id"].as_str(), first["status"].as_str()), (Some(order_id.as_str()), Some("ORDER_CREATED")));
    assert_eq!(first, order, "the current state, with every field");

    let payment = make_payment(&app, &order_id).await;
    let paid_at = Instant::now();
    confirm_payment(&app, &text(&payment, "id"), GOOD_CARD).await;
    let started = sub.next("orderUpdated").await;
    println!("ORDER_IN_PROGRESS reached the subscriber {:?} after the payment", paid_at.elapsed());
    assert_eq!(started["status"], "ORDER_IN_PROGRESS");

    // A subscriber that connects later gets the latest state first.
    let mut late = Subscriber::connect(&app).await.subscribe(&order_sub(), json!({ "o": order_id })).await;
    assert_eq!(late.next("orderUpdated").await["status"], "ORDER_IN_PROGRESS");

    let cancel = "mutation($o: ID!) { cancelOrder(orderId: $o) { id } }";
    let cancelled_at = Instant::now();
    ok(&app, cancel, json!({ "o": order_id })).await;
    assert_eq!(sub.next("orderUpdated").await["status"], "ORDER_CANCELLED");
    println!("ORDER_CANCELLED reached the subscriber {:?} after the mutation", cancelled_at.elapsed());
    assert_eq!(late.next("orderUpdated").await["status"], "ORDER_CANCELLED");
    sub.nothing_more(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn an_order_subscription_filters_by_order_and_by_customer() {
    let app = TestApp::spawn().await;
    let mine = create_order(&app, "1", "cust-a", "Jo").await;
    let mut one = Subscriber::connect(&app).await.subscribe(&order_sub(), json!({ "o": text(&mine, "id") })).await;
    assert_eq!(one.next("orderUpdated").await["status"], "ORDER_CREATED");
    let mut by_customer = Subscriber::connect(&app).await.subscribe(&order_sub(), json!({ "c": "cust-a" })).await;
    let mut everything = Subscriber::connect(&app).await.subscribe(&order_sub(), json!({})).await;

    // Another customer's order is created and cancelled first; then this customer's.
    let other = create_order(&app, "1", "cust-b", "Kai").await;
    let cancel = "mutation($o: ID!) { cancelOrder(orderId: $o) { id } }";
    ok(&app, cancel, json!({ "o": text(&other, "id") })).await;
    let second = create_order(&app, "3", "cust-a", "Jo").await;
    ok(&app, cancel, json!({ "o": text(&mine, "id") })).await;

    let got = one.next("orderUpdated").await;
    assert_eq!((got["id"].as_str(), got["status"].as_str()), (mine["id"].as_str(), Some("ORDER_CANCELLED")));
    let got = by_customer.next("orderUpdated").await;
    assert_eq!((got["id"].as_str(), got["status"].as_str()), (second["id"].as_str(), Some("ORDER_CREATED")));
    let got = by_customer.next("orderUpdated").await;
    assert_eq!((got["id"].as_str(), got["status"].as_str()), (mine["id"].as_str(), Some("ORDER_CANCELLED")));
    let seen: Vec<(String, String)> = {
        let mut seen = Vec::new();
        for _ in 0..4 {
            let o = everything.next("orderUpdated").await;
            seen.push((text(&o, "id"), text(&o, "status")));
        }
        seen
    };
    let expected = [
        (text(&other, "id"), "ORDER_CREATED".to_owned()),
        (text(&other, "id"), "ORDER_CANCELLED".to_owned()),
        (text(&second, "id"), "ORDER_CREATED".to_owned()),
        (text(&mine, "id"), "ORDER_CANCELLED".to_owned()),
    ];
    assert_eq!(seen, expected, "no arguments: every change, in commit order");
    one.nothing_more(&app).await;
    by_customer.nothing_more(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_payment_subscription_sends_the_current_state_then_the_outcome() {
    let app = TestApp::spawn().await;
    let mut by_customer = Subscriber::connect(&app).await.subscribe(&payment_sub(), json!({ "c": "cust-p" })).await;
    create_order(&app, "1", "cust-q", "Lee").await;
    let order = create_order(&app, "2", "cust-p", "Mo").await;
    let pending = by_customer.next("paymentUpdated").await;
    assert_eq!(
        (pending["orderId"].as_str(), pending["status"].as_str()),
        (order["id"].as_str(), Some("PAYMENT_PENDING"))
    );

    let payment = make_payment(&app, &text(&order, "id")).await;
    let payment_id = text(&payment, "id");
    let mut one = Subscriber::connect(&app).await.subscribe(&payment_sub(), json!({ "p": payment_id })).await;
    let current = one.next("paymentUpdated").await;
    assert_eq!(
        (current["id"].as_str(), current["status"].as_str()),
        (Some(payment_id.as_str()), Some("PAYMENT_CREATED"))
    );
    assert_eq!(current["clientSecret"], Value::Null, "subscriptions never carry the secret");
    assert_eq!(by_customer.next("paymentUpdated").await["status"], "PAYMENT_CREATED");

    confirm_payment(&app, &payment_id, GOOD_CARD).await;
    assert_eq!(one.next("paymentUpdated").await["status"], "PAYMENT_SUCCESSFUL");
    assert_eq!(by_customer.next("paymentUpdated").await["status"], "PAYMENT_SUCCESSFUL");
    one.nothing_more(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_fulfilment_subscription_shows_the_barista_new_coffees_and_their_end() {
    let app = TestApp::spawn().await;
    let mut barista = Subscriber::connect(&app).await.subscribe(&fulfilment_sub(), json!({})).await;
    let mut other_customer =
        Subscriber::connect(&app).await.subscribe(&fulfilment_sub(), json!({ "c": "cust-z" })).await;
    let (order, fulfilment) = paid_order(&app, "cust-f", "Ned").await;
    let fulfilment_id = text(&fulfilment, "id");
    let new = barista.next("fulfilmentUpdated").await;
    assert_eq!(
        (new["id"].as_str(), new["status"].as_str()),
        (Some(fulfilment_id.as_str()), Some("FULFILMENT_CREATED"))
    );
    assert_eq!(new["orderId"], order["id"]);

    let mut one = Subscriber::connect(&app).await.subscribe(&fulfilment_sub(), json!({ "f": fulfilment_id })).await;
    assert_eq!(one.next("fulfilmentUpdated").await["status"], "FULFILMENT_CREATED", "the current state first");
    let mut mine = Subscriber::connect(&app).await.subscribe(&fulfilment_sub(), json!({ "c": "cust-f" })).await;

    let complete = "mutation($f: ID!) { completeFulfilment(fulfilmentId: $f) { id } }";
    ok(&app, complete, json!({ "f": fulfilment_id })).await;
    for sub in [&mut barista, &mut one, &mut mine] {
        assert_eq!(sub.next("fulfilmentUpdated").await["status"], "FULFILMENT_COMPLETED");
    }
    other_customer.nothing_more(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn a_subscription_to_a_malformed_or_unknown_id_is_refused() {
    let app = TestApp::spawn().await;
    let mut sub = Subscriber::connect(&app).await.subscribe(&order_sub(), json!({ "o": "not-an-id" })).await;
    // A field error, as graphql-transport-ws sends one: a `next` with errors, then `complete`.
    let message = sub.receive().await.expect("an answer");
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{message}");
    assert_eq!(sub.receive().await.expect("an answer")["type"], "complete");

    // An id that names no order is refused too (NOT_FOUND): a caller learns nothing of an order
    // it may not read, and whether it exists is part of that.
    let mut unknown = Subscriber::connect(&app).await.subscribe(&order_sub(), json!({ "o": UNKNOWN })).await;
    let message = unknown.receive().await.expect("an answer");
    assert_eq!(message["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND", "{message}");
    assert_eq!(unknown.receive().await.expect("an answer")["type"], "complete");
    app.stop().await;
}

#[tokio::test]
async fn the_older_graphql_ws_protocol_works_too() {
    let app = TestApp::spawn().await;
    let mut sub = Subscriber::connect_with(&app, "graphql-ws").await;
    sub.send(json!({ "id": "1", "type": "start", "payload": { "query": order_sub(), "variables": {} } })).await;
    // The old protocol has no ping to learn that the server took the subscription: place orders
    // until one reaches the subscriber; every later one must then arrive too.
    let mut placed = Vec::new();
    let first = loop {
        placed.push(text(&create_order(&app, "1", "cust-old", "Oz").await, "id"));
        if let Some(message) = sub.receive_within(Duration::from_millis(100)).await {
            break message;
        }
        assert!(placed.len() < 50, "the subscription never started");
    };
    assert_eq!(first["type"], "data", "{first}");
    let first_id = first["payload"]["data"]["orderUpdated"]["id"].as_str().expect("an id").to_owned();
    assert!(placed.contains(&first_id), "{first}");
    let later = create_order(&app, "2", "cust-old", "Oz").await;
    let mut message = sub.receive().await.expect("a message");
    while message["payload"]["data"]["orderUpdated"]["id"] != later["id"] {
        assert!(placed.iter().any(|p| message["payload"]["data"]["orderUpdated"]["id"] == p.as_str()), "{message}");
        message = sub.receive().await.expect("a message");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_clean_stop_closes_open_subscriptions_instead_of_waiting_for_them() {
    let app = TestApp::spawn().await;
    let mut sub = Subscriber::connect(&app).await.subscribe(&order_sub(), json!({})).await;
    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(10), app.stop()).await.expect("the stop does not hang on the WebSocket");
    println!("stopped in {:?} with a subscription open", stopping.elapsed());
    let end = sub.receive().await;
    assert!(end.is_none(), "the socket is closed without completing the subscription: {end:?}");
}

/// A day longer than a page is read a page at a time, over REST and GraphQL alike: the newest
/// page first, each page oldest first, every order on exactly one page.
#[tokio::test]
async fn a_day_is_read_a_page_at_a_time_over_rest_and_graphql() {
    let app = TestApp::spawn().await;
    let mut placed = Vec::new();
    for n in 0..5 {
        placed.push(text(&app.place_order("1", &format!("pager-{n}")).await, "orderId"));
    }
    let ids = |orders: &Value, key: &str| -> Vec<String> {
        orders.as_array().expect("a list").iter().map(|o| text(o, key)).collect()
    };
    let mut seen = Vec::new();
    for (offset, expected) in [(0, 2), (2, 2), (4, 1), (6, 0)] {
        let (status, page) = app.get(&format!("/api/order?limit=2&offset={offset}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let rest = ids(&page, "orderId");
        assert_eq!(rest.len(), expected, "offset {offset}: {page}");
        let query = "query($o: Int) { getOrderList(limit: 2, offset: $o) { id } }";
        let body = gql(&app, query, json!({ "o": offset })).await;
        assert_eq!(ids(&body["data"]["getOrderList"], "id"), rest, "the same page over GraphQL: {body}");
        seen.extend(rest);
    }
    // The pages, newest first, are the whole list (oldest first) read from its end.
    let (_, whole) = app.get("/api/order").await;
    let whole = ids(&whole, "orderId");
    let newest_first: Vec<&[String]> = whole.rchunks(2).collect();
    let pages: Vec<&[String]> = seen.chunks(2).collect();
    assert_eq!(pages, newest_first, "{seen:?} against {whole:?}");
    seen.sort();
    placed.sort();
    assert_eq!(seen, placed, "every order on exactly one page");
    let (code, message) = fails(&app, "{ getOrderList(offset: -1) { id } }", json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");
    assert!(message.contains("offset"), "{message}");
}
