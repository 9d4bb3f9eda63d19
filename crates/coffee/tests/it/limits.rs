//! What a client can make the server hold or do with one request: bodies, GraphQL queries
//! (text, root fields, lists, depth, batches, errors, introspection) and text values. Each limit
//! answers a clear JSON error with a stable code, and nothing is half-done.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::TestApp;

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

    // Deeper than ten levels (only introspection can be, in this schema).
    let deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }";
    let (_, answer) = graphql(&app.http, &app, &json!({"query": deep})).await;
    assert!(first_error(&answer).1.contains("nested too deep"), "{answer}");

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
    assert!(page.text().await.expect("html").contains("GraphiQL"));
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
