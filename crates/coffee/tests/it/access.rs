//! Who may do what: every cell of README's table, over REST, GraphQL (queries, mutations and
//! subscriptions) and the event stream, in `serve` and in the distributed mode, where each
//! service is called directly (it checks the caller's token itself, trusting no gateway).
//!
//! The callers: nobody, the customer who owns the order (`ada`), another customer (`bob`), a
//! barista and an admin. An operation that changes something gets a fresh order (or payment, or
//! fulfilment) of ada's for each caller, so one caller's success does not decide the next one's
//! answer.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{GOOD_CARD, TestApp};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Own,
    Another,
    Barista,
    Admin,
}

const EVERYONE: [Who; 5] = [Who::Nobody, Who::Own, Who::Another, Who::Barista, Who::Admin];
const OWNER: &str = "ada";

/// Where requests go: one process (`serve`) or each service's own (the distributed mode).
struct System {
    order: String,
    payment: String,
    fulfilment: String,
    /// The gateway: GraphQL, the identity service.
    gateway: String,
    /// Every process, for the routes each one serves (operations, the event stream).
    processes: Vec<String>,
    key: String,
    admin: reqwest::Client,
}

impl System {
    fn token(&self, who: Who) -> Option<String> {
        match who {
            Who::Nobody => None,
            Who::Own => Some(coffee_testkit::customer_token(&self.key, OWNER, "Ada")),
            Who::Another => Some(coffee_testkit::customer_token(&self.key, "bob", "Bob")),
            Who::Barista => Some(coffee_testkit::token(&self.key, "bea", "barista")),
            Who::Admin => Some(coffee_testkit::token(&self.key, "boss", "admin")),
        }
    }

    fn client(&self, who: Who) -> reqwest::Client {
        match self.token(who) {
            Some(token) => coffee_testkit::client_with(&token),
            None => reqwest::Client::new(),
        }
    }

    fn base_for(&self, path: &str) -> &str {
        if path.starts_with("/api/payment") {
            &self.payment
        } else if path.starts_with("/api/fulfilment") {
            &self.fulfilment
        } else if ["/api/order", "/api/coffees", "/api/shop"].iter().any(|p| path.starts_with(p)) {
            &self.order
        } else {
            &self.gateway
        }
    }

    /// A request as `who`: the status, and the body's error code (or `OK`).
    async fn rest(&self, who: Who, base: &str, method: Method, path: &str, body: Option<Value>) -> (u16, String) {
        let mut request = self.client(who).request(method.clone(), format!("{base}{path}"));
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        // The event stream answers 200 and then streams: its headers are the answer.
        if response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.to_str().is_ok_and(|t| t.starts_with("text/event-stream")))
        {
            return (status.as_u16(), "OK".to_owned());
        }
        let text = response.text().await.unwrap_or_default();
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{method} {path} as {who:?}: {text}");
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let code = value["error"]["code"].as_str().unwrap_or("OK").to_owned();
        (status.as_u16(), code)
    }

    async fn admin_json(&self, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.admin.request(method.clone(), format!("{}{path}", self.base_for(path)));
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "setup {method} {path}: {status} {value}");
        value
    }

    async fn until(&self, path: &str) -> Value {
        for _ in 0..1000 {
            let found = self.admin_json(Method::GET, path, None).await;
            if found.as_array().is_some_and(|a| !a.is_empty()) {
                return found[0].clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("nothing at {path} within 10 s");
    }

    /// A new order of ada's, known to the payment service.
    async fn fresh_order(&self) -> String {
        let body = json!({"coffeeId": "1", "customerId": OWNER, "customerName": "Ada"});
        let order = self.admin_json(Method::POST, "/api/order", Some(body)).await;
        let id = order["orderId"].as_str().expect("an order id").to_owned();
        self.until(&format!("/api/payment?orderId={id}")).await;
        id
    }

    /// A new drink on the menu, for a cell that changes or removes one: its id.
    async fn fresh_coffee(&self) -> String {
        let body = json!({"name": "Cortado", "price": 390});
        let coffee = self.admin_json(Method::POST, "/api/coffees", Some(body)).await;
        coffee["id"].as_str().expect("a coffee id").to_owned()
    }

    /// A new payment of ada's, ready for a card (PAYMENT_CREATED): its order and its id.
    async fn fresh_payment(&self) -> (String, String) {
        let order = self.fresh_order().await;
        let payment = self.admin_json(Method::POST, "/api/payment", Some(json!({"orderId": order}))).await;
        (order, payment["paymentId"].as_str().expect("a payment id").to_owned())
    }

    /// A new paid order of ada's, with its fulfilment waiting for the barista.
    async fn fresh_fulfilment(&self) -> (String, String) {
        let (order, payment) = self.fresh_payment().await;
        let paid = self
            .admin_json(
                Method::POST,
                &format!("/api/payment/{payment}/confirm"),
                Some(json!({"cardNumber": GOOD_CARD})),
            )
            .await;
        assert_eq!(paid["paymentStatus"], "PAYMENT_SUCCESSFUL");
        let fulfilment = self.until(&format!("/api/fulfilment?orderId={order}")).await;
        (order, fulfilment["fulfilmentId"].as_str().expect("a fulfilment id").to_owned())
    }
}

/// The codes a cell expects, for nobody, the owner, another customer, a barista and an admin.
type Row = [&'static str; 5];
const ANYONE: Row = ["OK", "OK", "OK", "OK", "OK"];
const ACT: Row = ["UNAUTHENTICATED", "OK", "NOT_FOUND", "FORBIDDEN", "OK"];
const READ: Row = ["UNAUTHENTICATED", "OK", "NOT_FOUND", "OK", "OK"];
const NAMED: Row = ["UNAUTHENTICATED", "OK", "FORBIDDEN", "OK", "OK"];
const STAFF: Row = ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "OK", "OK"];
const ADMIN: Row = ["UNAUTHENTICATED", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "OK"];
/// Placing an order names its customer: another customer naming ada is FORBIDDEN, like a barista.
const PLACE: Row = ["UNAUTHENTICATED", "OK", "FORBIDDEN", "FORBIDDEN", "OK"];

fn status_of(code: &str) -> u16 {
    match code {
        "UNAUTHENTICATED" => 401,
        "FORBIDDEN" => 403,
        "NOT_FOUND" => 404,
        _ => 0,
    }
}

/// One REST cell, each caller on a fixture of its own from `fixture` (a path and a body).
async fn rest_cell<F, Fut>(system: &System, name: &str, method: Method, row: Row, fixture: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = (String, Option<Value>)>,
{
    for (who, want) in EVERYONE.iter().zip(row) {
        let (path, body) = fixture().await;
        let every_process = ["/api/admin", "/api/events", "/metrics"].iter().any(|p| path.starts_with(p));
        let bases: Vec<&str> = if every_process {
            system.processes.iter().map(String::as_str).collect()
        } else {
            vec![system.base_for(&path)]
        };
        for base in bases {
            let (status, code) = system.rest(*who, base, method.clone(), &path, body.clone()).await;
            assert_eq!(code, want, "{name}: {method} {base}{path} as {who:?} answered {status}");
            if want == "OK" {
                assert!((200..300).contains(&status), "{name} as {who:?}: {status}");
            } else {
                assert_eq!(status, status_of(want), "{name} as {who:?}: {code}");
            }
        }
    }
}

async fn every_rest_cell(system: &System) {
    let fixed = |path: String| {
        move || {
            let path = path.clone();
            async move { (path, None) }
        }
    };
    let order = system.fresh_order().await;
    let (_, payment) = system.fresh_payment().await;
    let (paid_order, fulfilment) = system.fresh_fulfilment().await;
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();

    rest_cell(system, "the menu", Method::GET, ANYONE, fixed("/api/coffees".into())).await;
    rest_cell(system, "the pickup board", Method::GET, ANYONE, fixed("/api/order/board".into())).await;
    rest_cell(system, "the shop", Method::GET, ANYONE, fixed("/api/shop".into())).await;
    rest_cell(system, "how customers pay", Method::GET, ANYONE, fixed("/api/payment/checkout".into())).await;
    rest_cell(system, "add a drink", Method::POST, ADMIN, || async {
        ("/api/coffees".to_owned(), Some(json!({"name": "Piccolo", "price": 350})))
    })
    .await;
    rest_cell(system, "sell out a drink", Method::PATCH, ADMIN, || async {
        (format!("/api/coffees/{}", system.fresh_coffee().await), Some(json!({"available": false})))
    })
    .await;
    rest_cell(system, "remove a drink", Method::DELETE, ADMIN, || async {
        (format!("/api/coffees/{}", system.fresh_coffee().await), None)
    })
    .await;
    rest_cell(system, "set the shop", Method::PUT, ADMIN, || async {
        ("/api/shop".to_owned(), Some(json!({"open": true, "message": "Welcome"})))
    })
    .await;
    rest_cell(system, "the day's figures", Method::GET, ADMIN, fixed(format!("/api/shop/figures?date={today}"))).await;
    rest_cell(system, "liveness", Method::GET, ANYONE, fixed("/healthz".into())).await;
    rest_cell(system, "readiness", Method::GET, ANYONE, fixed("/readyz".into())).await;

    rest_cell(system, "place an order", Method::POST, PLACE, || async {
        ("/api/order".to_owned(), Some(json!({"coffeeId": "1", "customerId": OWNER, "customerName": "Ada"})))
    })
    .await;
    rest_cell(system, "cancel an order", Method::PATCH, ACT, || async {
        (format!("/api/order/{}", system.fresh_order().await), Some(json!({"status": "ORDER_CANCELLED"})))
    })
    .await;
    rest_cell(system, "pay an order", Method::POST, ACT, || async {
        ("/api/payment".to_owned(), Some(json!({"orderId": system.fresh_order().await})))
    })
    .await;
    rest_cell(system, "confirm a payment", Method::POST, ACT, || async {
        (format!("/api/payment/{}/confirm", system.fresh_payment().await.1), Some(json!({"cardNumber": GOOD_CARD})))
    })
    .await;

    rest_cell(system, "read an order", Method::GET, READ, fixed(format!("/api/order/{order}"))).await;
    rest_cell(system, "an order's events", Method::GET, READ, fixed(format!("/api/order/events?orderId={order}")))
        .await;
    rest_cell(system, "read a payment", Method::GET, READ, fixed(format!("/api/payment/{payment}"))).await;
    rest_cell(
        system,
        "a payment's events",
        Method::GET,
        READ,
        fixed(format!("/api/payment/events?orderId={paid_order}")),
    )
    .await;
    rest_cell(system, "read a fulfilment", Method::GET, READ, fixed(format!("/api/fulfilment/{fulfilment}"))).await;
    rest_cell(
        system,
        "a fulfilment's events",
        Method::GET,
        READ,
        fixed(format!("/api/fulfilment/events?orderId={paid_order}")),
    )
    .await;
    rest_cell(system, "a customer's orders", Method::GET, NAMED, fixed(format!("/api/order?customerId={OWNER}"))).await;

    for list in ["order", "payment", "fulfilment"] {
        rest_cell(system, "a day's list", Method::GET, STAFF, fixed(format!("/api/{list}?date={today}"))).await;
    }
    rest_cell(system, "the queue", Method::GET, STAFF, fixed("/api/fulfilment?status=FULFILMENT_CREATED".into())).await;
    rest_cell(system, "complete a fulfilment", Method::PATCH, STAFF, || async {
        (
            format!("/api/fulfilment/{}", system.fresh_fulfilment().await.1),
            Some(json!({"status": "FULFILMENT_COMPLETED"})),
        )
    })
    .await;
    rest_cell(system, "claim a fulfilment", Method::PUT, STAFF, || async {
        (format!("/api/fulfilment/{}/claim", system.fresh_fulfilment().await.1), None)
    })
    .await;
    rest_cell(system, "release a fulfilment", Method::DELETE, STAFF, || async {
        (format!("/api/fulfilment/{}/claim", system.fresh_fulfilment().await.1), None)
    })
    .await;

    rest_cell(system, "the event stream", Method::GET, ADMIN, fixed("/api/events".into())).await;
    rest_cell(system, "metrics", Method::GET, ADMIN, fixed("/api/admin/metrics".into())).await;
    rest_cell(system, "Prometheus metrics", Method::GET, ADMIN, fixed("/metrics".into())).await;
    rest_cell(system, "dead letters", Method::GET, ADMIN, fixed("/api/admin/dead-letters".into())).await;
    rest_cell(system, "redrive", Method::POST, ADMIN, fixed("/api/admin/dead-letters/redrive".into())).await;
    rest_cell(system, "the staff", Method::GET, ADMIN, fixed("/api/staff".into())).await;
    rest_cell(system, "add staff", Method::POST, ADMIN, || async {
        let name = format!("s{}", uuid::Uuid::now_v7().simple());
        (
            "/api/staff".to_owned(),
            Some(json!({"name": &name[..20], "role": "barista", "password": "a long enough password"})),
        )
    })
    .await;

    // A list by order leaves out another customer's record, as if there were none.
    let (_, listed) =
        system.rest(Who::Another, &system.payment, Method::GET, &format!("/api/payment?orderId={order}"), None).await;
    assert_eq!(listed, "OK");
    let others =
        system.client(Who::Another).get(format!("{}/api/payment?orderId={order}", system.payment)).send().await;
    let others: Value = others.expect("answer").json().await.expect("json");
    assert_eq!(others, json!([]), "another customer's payment is not listed");
    let own = system.client(Who::Own).get(format!("{}/api/payment?orderId={order}", system.payment)).send().await;
    let own: Value = own.expect("answer").json().await.expect("json");
    assert_eq!(own.as_array().map(Vec::len), Some(1), "the owner's is");
}

/// A GraphQL operation as `who`: `OK`, `NULL` (the field answered null) or the error's code.
async fn graphql(system: &System, who: Who, query: &str, variables: Value) -> String {
    let body = json!({ "query": query, "variables": variables });
    let response =
        system.client(who).post(format!("{}/graphql", system.gateway)).json(&body).send().await.expect("POST /graphql");
    let value: Value = response.json().await.expect("json");
    if let Some(code) = value["errors"][0]["extensions"]["code"].as_str() {
        return code.to_owned();
    }
    let data = value["data"].as_object().and_then(|d| d.values().next()).cloned().unwrap_or(Value::Null);
    if data.is_null() { "NULL".to_owned() } else { "OK".to_owned() }
}

async fn graphql_cell<F, Fut>(system: &System, name: &str, row: Row, operation: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = (String, Value)>,
{
    for (who, want) in EVERYONE.iter().zip(row) {
        let (query, variables) = operation().await;
        let got = graphql(system, *who, &query, variables).await;
        assert_eq!(got, want, "{name} as {who:?}");
    }
}

async fn every_graphql_cell(system: &System) {
    let order = system.fresh_order().await;
    let (paid_order, _) = system.fresh_fulfilment().await;
    let today = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
    let q = |query: &'static str, variables: Value| {
        move || {
            let variables = variables.clone();
            async move { (query.to_owned(), variables) }
        }
    };
    // Another customer's order does not exist for them: the nullable reads answer null.
    const READ_OR_NULL: Row = ["UNAUTHENTICATED", "OK", "NULL", "OK", "OK"];

    graphql_cell(system, "getCoffees", ANYONE, q("{ getCoffees { id } }", json!({}))).await;
    graphql_cell(system, "getPickupBoard", ANYONE, q("{ getPickupBoard { number name } }", json!({}))).await;
    graphql_cell(system, "getShop", ANYONE, q("{ getShop { open queueLength } }", json!({}))).await;
    graphql_cell(system, "getCheckout", ANYONE, q("{ getCheckout { provider publishableKey } }", json!({}))).await;
    graphql_cell(
        system,
        "addCoffee",
        ADMIN,
        q(r#"mutation { addCoffee(name: "Ristretto", price: 330) { id } }"#, json!({})),
    )
    .await;
    graphql_cell(system, "changeCoffee", ADMIN, || async {
        let query = "mutation($c: ID!) { changeCoffee(coffeeId: $c, available: false) { id } }";
        (query.to_owned(), json!({"c": system.fresh_coffee().await}))
    })
    .await;
    graphql_cell(system, "removeCoffee", ADMIN, || async {
        let query = "mutation($c: ID!) { removeCoffee(coffeeId: $c) { id } }";
        (query.to_owned(), json!({"c": system.fresh_coffee().await}))
    })
    .await;
    graphql_cell(system, "setShop", ADMIN, q("mutation { setShop(open: true) { open } }", json!({}))).await;
    graphql_cell(
        system,
        "getDayFigures",
        ADMIN,
        q("query($d: String!) { getDayFigures(date: $d) { orders } }", json!({"d": "2026-12-02"})),
    )
    .await;
    graphql_cell(
        system,
        "getOrder",
        READ_OR_NULL,
        q("query($o: ID!) { getOrder(orderId: $o) { id } }", json!({"o": order})),
    )
    .await;
    graphql_cell(
        system,
        "getPaymentForOrder",
        READ_OR_NULL,
        q("query($o: ID!) { getPaymentForOrder(orderId: $o) { id } }", json!({"o": order})),
    )
    .await;
    graphql_cell(
        system,
        "getFulfilmentForOrder",
        READ_OR_NULL,
        q("query($o: ID!) { getFulfilmentForOrder(orderId: $o) { id } }", json!({"o": paid_order})),
    )
    .await;
    graphql_cell(
        system,
        "getOrderTimeline",
        READ,
        q("query($o: ID!) { getOrderTimeline(orderId: $o) { id } }", json!({"o": order})),
    )
    .await;
    graphql_cell(
        system,
        "getOrderList by customer",
        NAMED,
        q("query($c: String) { getOrderList(customerId: $c) { id } }", json!({"c": OWNER})),
    )
    .await;
    for list in ["getOrderList", "getPaymentList", "getFulfilmentList"] {
        let query: &'static str = match list {
            "getOrderList" => "query($d: String) { getOrderList(date: $d) { id } }",
            "getPaymentList" => "query($d: String) { getPaymentList(date: $d) { id } }",
            _ => "query($d: String) { getFulfilmentList(date: $d) { id } }",
        };
        graphql_cell(system, list, STAFF, q(query, json!({"d": today}))).await;
    }
    graphql_cell(system, "getFulfilmentQueue", STAFF, q("{ getFulfilmentQueue { id } }", json!({}))).await;

    graphql_cell(
        system,
        "createOrder",
        PLACE,
        q(
            "mutation($c: String!) { createOrder(coffeeId: \"1\", customerId: $c, customerName: \"Ada\") { id } }",
            json!({"c": OWNER}),
        ),
    )
    .await;
    graphql_cell(system, "cancelOrder", ACT, || async {
        ("mutation($o: ID!) { cancelOrder(orderId: $o) { id } }".to_owned(), json!({"o": system.fresh_order().await}))
    })
    .await;
    graphql_cell(system, "makePayment", ACT, || async {
        ("mutation($o: ID!) { makePayment(orderId: $o) { id } }".to_owned(), json!({"o": system.fresh_order().await}))
    })
    .await;
    graphql_cell(system, "confirmPayment", ACT, || async {
        let query = "mutation($p: ID!, $c: String!) { confirmPayment(paymentId: $p, cardNumber: $c) { id } }";
        (query.to_owned(), json!({"p": system.fresh_payment().await.1, "c": GOOD_CARD}))
    })
    .await;
    graphql_cell(system, "completeFulfilment", STAFF, || async {
        let query = "mutation($f: ID!) { completeFulfilment(fulfilmentId: $f) { id } }";
        (query.to_owned(), json!({"f": system.fresh_fulfilment().await.1}))
    })
    .await;
    graphql_cell(system, "claimFulfilment", STAFF, || async {
        let query = "mutation($f: ID!) { claimFulfilment(fulfilmentId: $f) { id } }";
        (query.to_owned(), json!({"f": system.fresh_fulfilment().await.1}))
    })
    .await;
    graphql_cell(system, "releaseFulfilment", STAFF, || async {
        let query = "mutation($f: ID!) { releaseFulfilment(fulfilmentId: $f) { id } }";
        (query.to_owned(), json!({"f": system.fresh_fulfilment().await.1}))
    })
    .await;
    graphql_cell(system, "rejectFulfilment", STAFF, || async {
        let query = "mutation($f: ID!) { rejectFulfilment(fulfilmentId: $f, note: \"no milk\") { id } }";
        (query.to_owned(), json!({"f": system.fresh_fulfilment().await.1}))
    })
    .await;

    let subscriptions: [(&str, Row, String, Value); 8] = [
        (
            "orderUpdated of an order",
            READ,
            "subscription($o: String) { orderUpdated(orderId: $o) { id } }".into(),
            json!({"o": order}),
        ),
        (
            "orderUpdated of a customer",
            NAMED,
            "subscription($c: String) { orderUpdated(customerId: $c) { id } }".into(),
            json!({"c": OWNER}),
        ),
        ("orderUpdated of all", STAFF, "subscription { orderUpdated { id } }".into(), json!({})),
        ("paymentUpdated of all", STAFF, "subscription { paymentUpdated { id } }".into(), json!({})),
        ("fulfilmentUpdated of all", STAFF, "subscription { fulfilmentUpdated { id } }".into(), json!({})),
        (
            "fulfilmentUpdated of a customer",
            NAMED,
            "subscription($c: String) { fulfilmentUpdated(customerId: $c) { id } }".into(),
            json!({"c": OWNER}),
        ),
        ("pickupBoardUpdated", ANYONE, "subscription { pickupBoardUpdated { number } }".into(), json!({})),
        ("shopUpdated", ANYONE, "subscription { shopUpdated { open } }".into(), json!({})),
    ];
    for (name, row, query, variables) in subscriptions {
        for (who, want) in EVERYONE.iter().zip(row) {
            let got = subscribe(system, *who, &query, variables.clone()).await;
            assert_eq!(got, want, "{name} as {who:?}");
        }
    }
}

/// Subscribes over a WebSocket with `who`'s token in `connection_init`: `OK` when the server
/// sends data on the subscription, else the error's code. A taken subscription stays quiet until
/// something it watches changes, and the server does not say when it has taken one, so while
/// nothing has come a new paid order of ada's is made: it changes an order, a payment, a
/// fulfilment and the pickup board, which every subscription here may see.
async fn subscribe(system: &System, who: Who, query: &str, variables: Value) -> String {
    let url = format!("{}/graphql", system.gateway.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("a ws request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.expect("the WebSocket opens");
    let payload = match system.token(who) {
        Some(token) => json!({ "authorization": format!("Bearer {token}") }),
        None => json!({}),
    };
    let send = |m: Value| Message::text(m.to_string());
    ws.send(send(json!({ "type": "connection_init", "payload": payload }))).await.expect("sent");
    ws.send(send(json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } })))
        .await
        .expect("sent");
    let mut seen = VecDeque::new();
    for _ in 0..20 {
        match tokio::time::timeout(Duration::from_millis(500), ws.next()).await {
            Err(_quiet) => {
                system.fresh_fulfilment().await;
            }
            Ok(Some(Ok(Message::Text(text)))) => {
                let message: Value = serde_json::from_str(&text).expect("json");
                let errors = &message["payload"]["errors"];
                if let Some(code) = errors[0]["extensions"]["code"].as_str() {
                    return code.to_owned();
                }
                if message["type"] == "next" && errors.is_null() && !message["payload"]["data"].is_null() {
                    return "OK".to_owned();
                }
                seen.push_back(message);
            }
            Ok(other) => panic!("the socket ended ({other:?}) after {seen:?}"),
        }
    }
    panic!("neither data nor an error for {query} as {who:?}: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_of_the_table_holds_in_serve() {
    // Every cell makes one of ada's orders and most stay unpaid: the cap on unpaid orders is
    // limits.rs's to test.
    let app = TestApp::spawn_with(|c| c.shop.max_unpaid_orders = 0).await;
    let system = System {
        order: app.base.clone(),
        payment: app.base.clone(),
        fulfilment: app.base.clone(),
        gateway: app.base.clone(),
        processes: vec![app.base.clone()],
        key: app.key.clone(),
        admin: app.http.clone(),
    };
    every_rest_cell(&system).await;
    every_graphql_cell(&system).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cell_of_the_table_holds_in_the_distributed_mode_service_by_service() {
    let running = crate::distributed::Running::start().await;
    let c = &running.cluster;
    let system = System {
        order: c.order.url.clone(),
        payment: c.payment.url.clone(),
        fulfilment: c.fulfilment[0].url.clone(),
        gateway: c.gateway.url.clone(),
        processes: vec![c.order.url.clone(), c.payment.url.clone(), c.fulfilment[0].url.clone(), c.gateway.url.clone()],
        key: coffee_testkit::AUTH_KEY.to_owned(),
        admin: running.http.0.clone(),
    };
    every_rest_cell(&system).await;
    every_graphql_cell(&system).await;
}
