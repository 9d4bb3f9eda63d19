//! What a client can make the server hold or do with one request: bodies, GraphQL queries
//! (text, root fields, lists, depth, batches, errors, introspection) and text values. Each limit
//! answers a clear JSON error with a stable code, and nothing is half-done.

use futures::{SinkExt, StreamExt};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TestApp, customer_session};

async fn graphql(client: &reqwest::Client, app: &TestApp, body: &Value) -> (StatusCode, Value) {
    let resp = client.post(format!("{}/graphql", app.base)).json(body).send().await.expect("answer");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    (status, body)
}

fn first_error(body: &Value) -> (String, String) {
    let error = &body["errors"][0];
    let text = |v: &Value| v.as_str().unwrap_or_else(|| panic!("an error in {body}")).to_owned();
    (text(&error["extensions"]["code"]), text(&error["message"]))
}

#[tokio::test]
async fn an_oversized_body_is_413_before_it_is_read_on_rest_and_graphql() {
    let app = TestApp::spawn().await;
    let pad = "x".repeat(coffee_http::MAX_BODY + 1);
    let (status, body) = app.post("/api/order", json!({"coffeeId": "1", "customerId": "c", "pad": pad})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "PAYLOAD_TOO_LARGE");
    let (status, body) = graphql(&app.http, &app, &json!({"query": "{ getCoffees { id } }", "pad": pad})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let (status, list) = app.get("/api/order?customerId=c").await;
    assert_eq!((status, list.as_array().map(Vec::len)), (StatusCode::OK, Some(0)), "nothing was placed");

    // A body of the wrong shape is described without our type names.
    let (status, body) = app.post("/api/order", json!("a string")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("expected a JSON object") && !message.contains("struct"), "{message}");
    app.stop().await;
}

#[tokio::test]
async fn a_graphql_request_is_bounded_before_any_resolver_runs() {
    let app = TestApp::spawn().await;
    let aliases = |field: &str, n: usize| -> String {
        let fields: Vec<String> = (0..n).map(|i| format!("a{i}: {field}")).collect();
        format!("{{ {} }}", fields.join(" "))
    };
    let refused = [
        (
            json!({"query": format!("{{ getCoffees {{ id }} }} # {}", "x".repeat(coffee_gateway::limits::MAX_QUERY_BYTES))}),
            "longer than",
        ),
        (json!({"query": aliases("getOrder(orderId: \"x\") { id }", 51)}), "root fields"),
        (json!({"query": aliases("getOrderList(date: \"01/12/2026\") { id }", 5)}), "lists"),
        (json!({"query": aliases("getCoffees { id }", 5)}), "lists"),
    ];
    for (body, says) in refused {
        let (status, answer) = graphql(&app.http, &app, &body).await;
        assert_eq!(status, StatusCode::OK, "GraphQL's own errors come with 200: {answer}");
        let (code, message) = first_error(&answer);
        assert_eq!(code, "BAD_USER_INPUT");
        assert!(message.contains(says), "{message}");
        assert!(answer["data"].is_null(), "no resolver ran: {answer}");
    }
    let (_, answer) = graphql(&app.http, &app, &json!({"query": aliases("getCoffees { id }", 4)})).await;
    assert!(answer["errors"].is_null(), "four lists are fine: {answer}");
    assert_eq!(answer["data"]["a3"].as_array().map(Vec::len), Some(3));

    // (Depth: this schema nests two levels, so no valid query is too deep; the limit's unit
    // test in coffee-gateway's limits.rs counts a deep document.)

    // One operation per request: a batch of two is refused whole; of one, answered.
    let resp = app
        .http
        .post(format!("{}/graphql", app.base))
        .json(&json!([{"query": "mutation { a: cancelOrder(orderId: \"x\") { id } }"}, {"query": "{ getCoffees { id } }"}]))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.expect("json");
    assert!(first_error(&body).1.contains("one operation per request"), "{body}");
    let (status, one) = graphql(&app.http, &app, &json!([{"query": "{ getCoffees { id } }"}])).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one[0]["data"]["getCoffees"].as_array().map(Vec::len), Some(3), "{one}");

    // A thousand mistakes answer ten errors, not a thousand.
    let unknown: Vec<String> = (0..1000).map(|i| format!("f{i}: nope{i}")).collect();
    let (_, answer) = graphql(&app.http, &app, &json!({"query": format!("{{ {} }}", unknown.join(" "))})).await;
    let errors = answer["errors"].as_array().expect("errors");
    assert!(!errors.is_empty() && errors.len() <= coffee_gateway::limits::MAX_ERRORS, "{} errors", errors.len());
    app.stop().await;
}

#[tokio::test]
async fn the_list_fields_the_limit_counts_are_every_list_the_schema_answers() {
    let sdl = coffee_gateway::sdl();
    let query = sdl.split("type Query {").nth(1).and_then(|rest| rest.split('}').next()).expect("a Query type");
    let lists: Vec<&str> = query
        .lines()
        .map(str::trim)
        .filter(|line| {
            line.split_once("):").or_else(|| line.split_once(':')).is_some_and(|(_, ty)| ty.trim().starts_with('['))
        })
        .filter_map(|line| line.split(['(', ':']).next())
        .collect();
    let mut want: Vec<&str> = coffee_gateway::limits::LIST_FIELDS.to_vec();
    let mut got = lists.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "LIST_FIELDS must name every Query field that answers a list");
}

#[tokio::test]
async fn introspection_and_graphiql_need_a_session_or_dev() {
    let introspect = json!({"query": "{ __schema { queryType { name } } }"});
    let app = TestApp::spawn().await;
    let anonymous = reqwest::Client::new();
    let (_, answer) = graphql(&anonymous, &app, &introspect).await;
    let (code, message) = first_error(&answer);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("introspection"), "{message}");
    let (_, answer) = graphql(&app.http, &app, &introspect).await;
    assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query", "a signed-in caller may: {answer}");
    let (_, answer) = graphql(&anonymous, &app, &json!({"query": "{ getCoffees { __typename id } }"})).await;
    assert!(answer["errors"].is_null(), "__typename is not introspection: {answer}");
    app.stop().await;

    let app = TestApp::spawn_with(|c| c.auth.dev = true).await;
    let (_, answer) = graphql(&anonymous, &app, &introspect).await;
    assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "Query", "--dev: anyone may");
    let page = anonymous
        .get(format!("{}/graphql", app.base))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .expect("answer");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("GraphiQL") && !html.contains("://"), "GraphiQL from this server only: {html}");
    // Its scripts are in the binary (the browser test runs it with no internet).
    for script in ["/graphiql/vendor/graphiql.min.js", "/graphiql/init.js"] {
        let served = anonymous.get(format!("{}{script}", app.base)).send().await.expect("answer");
        assert_eq!(served.status(), StatusCode::OK, "{script}");
    }
    app.stop().await;
}

#[tokio::test]
async fn names_with_text_direction_or_invisible_characters_are_refused() {
    let app = TestApp::spawn().await;
    for name in ["Ada\u{202E}lovelace", "A\u{200B}da"] {
        let resp = reqwest::Client::new()
            .post(format!("{}/api/session", app.base))
            .json(&json!({"customerName": name}))
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{name:?}");
        let body: Value = resp.json().await.expect("json");
        let message = body["error"]["message"].as_str().expect("a message");
        assert!(message.contains("customerName"), "names the field: {message}");
        let (status, _) =
            app.post("/api/order", json!({"coffeeId": "1", "customerId": "c", "customerName": name})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "an order for {name:?}");
    }
    app.stop().await;
}

async fn open_socket(app: &TestApp) -> Result<WebSocket, tokio_tungstenite::tungstenite::Error> {
    let url = format!("{}/graphql", app.base.replacen("http://", "ws://", 1));
    let mut request = url.into_client_request().expect("a ws request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    tokio_tungstenite::connect_async(request).await.map(|(ws, _)| ws)
}

type WebSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::test]
async fn a_client_holds_a_bounded_number_of_live_streams_and_subscriptions() {
    let app = TestApp::spawn_with(|c| c.auth.max_streams = 2).await;
    let events = || app.http.get(format!("{}/api/events", app.base)).send();
    // The admin's session: two event streams, then a third is refused until one closes.
    let first = events().await.expect("answer");
    let second = events().await.expect("answer");
    assert_eq!((first.status(), second.status()), (StatusCode::OK, StatusCode::OK));
    let third = events().await.expect("answer");
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(third.headers().contains_key(header::RETRY_AFTER));
    let body: Value = third.json().await.expect("json");
    assert_eq!(body["error"]["code"], "TOO_MANY_REQUESTS");
    drop(first);
    let mut reopened = None;
    for _ in 0..100 {
        let resp = events().await.expect("answer");
        if resp.status() == StatusCode::OK {
            reopened = Some(resp);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(reopened.is_some(), "a closed stream gives its place back");

    // Anonymous sockets count by address: two, then the upgrade itself is refused.
    let a = open_socket(&app).await.expect("a first socket");
    let _b = open_socket(&app).await.expect("a second socket");
    match open_socket(&app).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 429);
        }
        other => panic!("a third socket from one address: {:?}", other.map(|_| "opened")),
    }
    drop(a);

    let long = format!("{{\"source\": [{}]}}", vec!["\"x\""; 2000].join(","));
    let (status, body) = app.get(&format!("/api/events?pattern={}", urlencode(&long))).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("BAD_USER_INPUT")), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn one_subscription_too_many_closes_the_socket_with_4429() {
    let app = TestApp::spawn().await;
    let mut ws = open_socket(&app).await.expect("a socket");
    let send = |m: Value| Message::text(m.to_string());
    ws.send(send(json!({"type": "connection_init", "payload": {}}))).await.expect("sent");
    let query = "subscription { pickupBoardUpdated { number } }";
    for id in 0..=coffee_gateway::MAX_SUBSCRIPTIONS {
        let message = json!({"id": id.to_string(), "type": "subscribe", "payload": {"query": query}});
        if ws.send(send(message)).await.is_err() {
            break;
        }
    }
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while let Some(message) = ws.next().await {
            if let Ok(Message::Close(frame)) = message {
                return frame;
            }
        }
        None
    })
    .await
    .expect("closed in time")
    .expect("with a close frame");
    assert_eq!(u16::from(closed.code), 4429, "{closed:?}");
    assert!(closed.reason.contains("subscriptions per connection"), "{closed:?}");
    app.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn pages_carry_security_headers_and_another_sites_page_cannot_open_the_websocket() {
    let app = TestApp::spawn().await;
    for path in ["/", "/barista", "/api/coffees"] {
        let resp = reqwest::get(format!("{}{path}", app.base)).await.expect("answer");
        let h = resp.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        let csp = h["content-security-policy"].to_str().expect("ascii");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        if path != "/api/coffees" {
            // The page's own policy: only its hashed bootstrap script runs inline; the header's
            // allows the app's own files and nothing of Stripe's (the simulated provider).
            assert!(csp.contains("script-src 'self' 'unsafe-inline';"), "{path}: {csp}");
            let page = resp.text().await.expect("html");
            let meta = page.split("http-equiv=\"content-security-policy\" content=\"").nth(1).expect("a CSP meta");
            let script_src = meta.split(';').find(|d| d.trim_start().starts_with("script-src")).expect("script-src");
            assert!(script_src.contains(" 'sha256-") && !script_src.contains("unsafe"), "{path}: {meta}");
        }
    }
    let socket = |origin: String| {
        let url = format!("{}/graphql", app.base.replacen("http://", "ws://", 1));
        let mut request = url.into_client_request().expect("a ws request");
        request.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
        request.headers_mut().insert("Origin", origin.parse().expect("header"));
        tokio_tungstenite::connect_async(request)
    };
    match socket("https://evil.example".to_owned()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 403),
        other => panic!("a socket from another site's page: {:?}", other.map(|_| "opened")),
    }
    assert!(socket(app.base.clone()).await.is_ok(), "the server's own pages may");
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_sends_half_a_request_or_nothing_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Each waits for the server to close the connection, and says after how long.
    let closed_after = |first_bytes: &'static [u8]| {
        let addr = addr.clone();
        async move {
            let started = std::time::Instant::now();
            let mut tcp = tokio::net::TcpStream::connect(&addr).await.expect("connects");
            tcp.write_all(first_bytes).await.expect("sent");
            let mut buf = [0u8; 1024];
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return started.elapsed(),
                    Ok(_) => {}
                }
            }
        }
    };
    let limit = coffee::app::HEADER_READ_TIMEOUT + std::time::Duration::from_secs(10);
    let silent = tokio::time::timeout(limit, closed_after(b""));
    let trickled = tokio::time::timeout(limit, closed_after(b"GET /api/coffees HTTP/1.1\r\nHost: x\r\n"));
    let uninitialised = tokio::time::timeout(limit, async {
        let mut ws = open_socket(&app).await.expect("a socket");
        while let Some(message) = ws.next().await {
            if let Ok(Message::Close(frame)) = message {
                return frame;
            }
        }
        None
    });
    // A kept-alive connection that asked once, was answered, and then says nothing.
    let idle = tokio::time::timeout(limit, closed_after(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    // Headers that promise a body, and half of it.
    let body_limit =
        coffee::app::BODY_READ_TIMEOUT + coffee::app::HEADER_READ_TIMEOUT + std::time::Duration::from_secs(10);
    let half_body = tokio::time::timeout(
        body_limit,
        closed_after(
            b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"cus",
        ),
    );
    let (silent, trickled, uninitialised, idle, half_body) =
        tokio::join!(silent, trickled, uninitialised, idle, half_body);
    let waited = half_body.expect("a half-sent body is given up on");
    assert!(waited >= coffee::app::BODY_READ_TIMEOUT, "after the body timeout, not before: {waited:?}");
    assert!(idle.is_ok(), "an idle kept-alive connection is closed");
    assert!(silent.is_ok(), "a connection that sends nothing is closed");
    assert!(trickled.is_ok(), "a connection that never finishes its headers is closed");
    let frame = uninitialised.expect("a socket without connection_init is closed").expect("with a close frame");
    assert_eq!(u16::from(frame.code), 4408, "{frame:?}");
    app.stop().await;
}

/// `count` requests at once, each `POST path` with `body`, `token` and the same Idempotency-Key.
async fn all_at_once(
    base: &str,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
    count: usize,
) -> Vec<(StatusCode, bool, Value)> {
    let client = reqwest::Client::new();
    let requests = (0..count).map(|_| {
        let request =
            client.post(format!("{base}{path}")).bearer_auth(token).header("Idempotency-Key", key).json(&body).send();
        async move {
            let resp = request.await.expect("answer");
            let replayed = resp.headers().get("idempotent-replayed").is_some();
            (resp.status(), replayed, resp.json::<Value>().await.expect("json"))
        }
    });
    futures::future::join_all(requests).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_requests_with_one_idempotency_key_make_one_order_and_one_payment_across_a_restart() {
    // A hundred requests at once from one session are over the rate limit: this is about keys.
    let app = TestApp::spawn_with(|c| c.auth.rate_limit = 0).await;
    let session = customer_session(&app.base, "Ana").await;
    let token = session["token"].as_str().expect("a token").to_owned();
    let customer = session["customerId"].as_str().expect("an id").to_owned();

    let answers = all_at_once(&app.base, "/api/order", &token, "order-1", json!({"coffeeId": "1"}), 100).await;
    let ids: std::collections::BTreeSet<String> =
        answers.iter().map(|(_, _, body)| body["orderId"].as_str().unwrap_or("none").to_owned()).collect();
    assert_eq!(ids.len(), 1, "one order for one key: {ids:?}");
    assert!(answers.iter().all(|(status, _, _)| *status == StatusCode::CREATED), "every answer is the first one's");
    assert_eq!(answers.iter().filter(|(_, replayed, _)| !replayed).count(), 1, "one ran, 99 were replayed");
    let order = ids.into_iter().next().expect("an id");
    let (_, orders) = app.get(&format!("/api/order?customerId={customer}")).await;
    assert_eq!(orders.as_array().map(Vec::len), Some(1), "{orders}");

    app.eventually(&format!("/api/payment?orderId={order}"), "the payment service knows the order", |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let answers = all_at_once(&app.base, "/api/payment", &token, "pay-1", json!({"orderId": order}), 100).await;
    let payments: std::collections::BTreeSet<String> =
        answers.iter().map(|(_, _, body)| body["paymentId"].as_str().unwrap_or("none").to_owned()).collect();
    assert_eq!(payments.len(), 1, "one payment for one key: {payments:?}");

    // The same key for another request is refused, and changes nothing.
    let other = all_at_once(&app.base, "/api/order", &token, "order-1", json!({"coffeeId": "2"}), 1).await;
    assert_eq!(other[0].0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other[0].2["error"]["code"], "IDEMPOTENCY_KEY_REUSED", "{}", other[0].2);

    // A restart forgets nothing.
    let dir = app.stop().await;
    let app = TestApp::spawn_in(dir, |c| c.auth.rate_limit = 0).await;
    let again = all_at_once(&app.base, "/api/order", &token, "order-1", json!({"coffeeId": "1"}), 1).await;
    assert_eq!((again[0].0, again[0].1), (StatusCode::CREATED, true));
    assert_eq!(again[0].2["orderId"], order.as_str());
    let (_, orders) = app.get(&format!("/api/order?customerId={customer}")).await;
    assert_eq!(orders.as_array().map(Vec::len), Some(1), "still one order: {orders}");

    // GraphQL mutations take the header too.
    let mutation = json!({
        "query": "mutation($c: String!) { createOrder(coffeeId: \"1\", customerId: $c, customerName: \"Ana\") { id } }",
        "variables": {"c": customer},
    });
    let answers = all_at_once(&app.base, "/graphql", &token, "gql-1", mutation, 10).await;
    let created: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(_, _, body)| body["data"]["createOrder"]["id"].as_str().unwrap_or("none").to_owned())
        .collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    assert!(!created.contains("none"), "{answers:?}");

    // A key needs a session (an anonymous answer could be another client's) and a sane shape.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/session", app.base))
        .header("Idempotency-Key", "anon")
        .json(&json!({"customerName": "Bo"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let long = "k".repeat(256);
    let bad = all_at_once(&app.base, "/api/order", &token, &long, json!({"coffeeId": "1"}), 1).await;
    assert_eq!(bad[0].0, StatusCode::BAD_REQUEST, "{}", bad[0].2);
    app.stop().await;
}

#[tokio::test]
async fn a_customer_or_an_address_over_the_rate_limit_waits_and_staff_do_not() {
    let app = TestApp::spawn_with(|c| c.auth.rate_limit = 5).await;
    let session = |name: &'static str| {
        let base = app.base.clone();
        async move {
            let body = customer_session(&base, name).await;
            coffee_testkit::client_with(body["token"].as_str().expect("a token"))
        }
    };
    let ana = session("Ana").await;
    let bo = session("Bo").await;
    // A burst of twice the rate goes through; the next request within the second waits.
    let mut refused = None;
    for _ in 0..30 {
        let resp = ana.get(format!("{}/api/coffees", app.base)).send().await.expect("answer");
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(resp);
            break;
        }
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let refused = refused.expect("a session over 5 requests a second is refused");
    let wait: u64 = refused.headers()[header::RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=2).contains(&wait), "Retry-After {wait}");
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "TOO_MANY_REQUESTS");
    let other = bo.get(format!("{}/api/coffees", app.base)).send().await.expect("answer");
    assert_eq!(other.status(), StatusCode::OK, "another session has its own allowance");
    for _ in 0..40 {
        let (status, _) = app.get("/api/coffees").await;
        assert_eq!(status, StatusCode::OK, "an admin is not limited");
    }
    for path in ["/healthz", "/", "/barista"] {
        for _ in 0..40 {
            let resp = reqwest::get(format!("{}{path}", app.base)).await.expect("answer");
            assert_eq!(resp.status(), StatusCode::OK, "{path}: health checks and the app's pages are not limited");
        }
    }
    let mut anonymous_refused = false;
    for _ in 0..30 {
        let resp = reqwest::get(format!("{}/api/coffees", app.base)).await.expect("answer");
        anonymous_refused |= resp.status() == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(anonymous_refused, "an address without a session has its allowance too");
    app.stop().await;
}

#[tokio::test]
async fn a_customer_has_at_most_three_unpaid_orders_and_paying_or_cancelling_makes_room() {
    let app = TestApp::spawn().await;
    let session = customer_session(&app.base, "Ana").await;
    let ana = coffee_testkit::client_with(session["token"].as_str().expect("a token"));
    let place = || ana.post(format!("{}/api/order", app.base)).json(&json!({"coffeeId": "1"})).send();
    let mut orders = Vec::new();
    for _ in 0..3 {
        let resp = place().await.expect("answer");
        assert_eq!(resp.status(), StatusCode::CREATED);
        orders.push(resp.json::<Value>().await.expect("json")["orderId"].as_str().expect("an id").to_owned());
    }
    let fourth = place().await.expect("answer");
    assert_eq!(fourth.status(), StatusCode::CONFLICT);
    let body: Value = fourth.json().await.expect("json");
    assert_eq!(body["error"]["code"], "TOO_MANY_OPEN_ORDERS", "{body}");
    let customer = session["customerId"].as_str().expect("an id");
    let (_, listed) = app.get(&format!("/api/order?customerId={customer}")).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(3), "the refused one was not placed");

    let cancel = ana
        .patch(format!("{}/api/order/{}", app.base, orders[0]))
        .json(&json!({"status": "ORDER_CANCELLED"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(cancel.status(), StatusCode::OK, "{:?}", cancel.text().await);
    assert_eq!(place().await.expect("answer").status(), StatusCode::CREATED, "a cancelled order makes room");
    // An admin placing for the customer at the counter is not limited.
    let (status, body) =
        app.post("/api/order", json!({"coffeeId": "1", "customerId": customer, "customerName": "Ana"})).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.stop().await;
}
