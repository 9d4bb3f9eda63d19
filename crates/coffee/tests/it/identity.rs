//! Identities as a user meets them: a customer's session from their name (bearer and cookie),
//! staff accounts made with the real `coffee staff` CLI, login and its throttling, logout, an
//! expired token, removal ending a member of staff's sessions, and the first run's hint.

use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, customer_session, id};

const PASSWORD: &str = "correct horse battery";

/// `coffee staff …` with `input` on standard input: whether it succeeded, and what it printed.
async fn staff_cli(args: &[&str], input: &str) -> (bool, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_coffee"))
        .arg("staff")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the coffee binary runs");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).await.expect("the password is written");
    drop(stdin);
    let out = child.wait_with_output().await.expect("it ends");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A request with no credential or with `token`, answered with status, headers and JSON body.
async fn call(
    base: &str,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("the server answers");
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.expect("a body");
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") };
    assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
    (status, headers, body)
}

async fn login(base: &str, name: &str, password: &str) -> (StatusCode, header::HeaderMap, Value) {
    call(base, Method::POST, "/api/staff/login", None, Some(json!({"name": name, "password": password}))).await
}

#[tokio::test]
async fn a_customer_gets_a_session_from_their_name_and_their_orders_carry_its_id() {
    let app = TestApp::spawn().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/api/session", app.base))
        .json(&json!({"customerName": "Ana"}))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let cookie = resp.headers()[header::SET_COOKIE].to_str().expect("ascii").to_owned();
    assert_eq!(resp.headers()[header::CACHE_CONTROL], "no-store", "a token is never cached");
    let session: Value = resp.json().await.expect("json");
    assert_eq!(session["role"], "customer");
    assert_eq!(session["customerName"], "Ana");
    let (token, customer) = (id(&session, "token"), id(&session, "customerId"));
    assert!(session["expiresAt"].as_i64().expect("expiresAt") > jiff::Timestamp::now().as_second());
    for part in [format!("coffee_session={token}").as_str(), "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP and no --secure-cookies: {cookie}");
    let over_tls = reqwest::Client::new()
        .post(format!("{}/api/session", app.base))
        .header("x-forwarded-proto", "https")
        .json(&json!({"customerName": "Ana"}))
        .send()
        .await
        .expect("answer");
    assert!(over_tls.headers()[header::SET_COOKIE].to_str().expect("ascii").contains("Secure"));

    let (status, _, me) = call(&app.base, Method::GET, "/api/session", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((me["customerId"].as_str(), me["role"].as_str()), (Some(customer.as_str()), Some("customer")));

    // The customer id comes from the session: left out, it is the session's; another is refused.
    let (status, _, order) =
        call(&app.base, Method::POST, "/api/order", Some(&token), Some(json!({"coffeeId": "1"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["customerId"], customer.as_str());
    assert_eq!(order["customerName"], "Ana");
    let other = json!({"coffeeId": "1", "customerId": "someone-else", "customerName": "Ana"});
    let (status, _, body) = call(&app.base, Method::POST, "/api/order", Some(&token), Some(other)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("FORBIDDEN")), "{body}");

    for bad in [json!({"customerName": ""}), json!({"customerName": "x".repeat(101)}), json!({})] {
        let (status, _, body) = call(&app.base, Method::POST, "/api/session", None, Some(bad.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "BAD_USER_INPUT", "{body}");
    }
    app.stop().await;
}

#[tokio::test]
async fn the_cookie_is_a_session_and_a_change_with_it_must_come_from_the_same_site() {
    let app = TestApp::spawn().await;
    let token = id(&customer_session(&app.base, "Ana").await, "token");
    let cookie = format!("coffee_session={token}");
    let host = app.base.trim_start_matches("http://").to_owned();
    let with_cookie = |method: Method, path: &str| {
        reqwest::Client::new().request(method, format!("{}{path}", app.base)).header(header::COOKIE, &cookie)
    };
    let me = with_cookie(Method::GET, "/api/session").send().await.expect("answer");
    assert_eq!(me.status(), StatusCode::OK, "a read with the cookie alone");

    let order = json!({"coffeeId": "1"});
    for (origin, want) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("https://evil.example".to_owned()), StatusCode::UNAUTHORIZED),
        (Some(format!("http://{host}")), StatusCode::CREATED),
    ] {
        let mut req = with_cookie(Method::POST, "/api/order").json(&order);
        if let Some(origin) = &origin {
            req = req.header(header::ORIGIN, origin);
        }
        let resp = req.send().await.expect("answer");
        assert_eq!(resp.status(), want, "a change with the cookie from {origin:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn staff_log_in_with_what_the_cli_set_and_failed_logins_are_throttled() {
    let app = TestApp::spawn().await;
    let dir = app.dir.path().to_str().expect("utf-8 path").to_owned();
    let add = |name: &'static str, role: &'static str, password: String| {
        let dir = dir.clone();
        async move {
            staff_cli(&["add", name, "--role", role, "--password-stdin", "--data-dir", &dir], &format!("{password}\n"))
                .await
        }
    };
    let (ok, out) = add("bea", "barista", PASSWORD.to_owned()).await;
    assert!(ok, "{out}");
    let (ok, out) = add("bea", "barista", PASSWORD.to_owned()).await;
    assert!(!ok && out.contains("already"), "a second bea: {out}");
    let (ok, out) = add("short", "barista", "2short".to_owned()).await;
    assert!(!ok && out.contains("password"), "a short password is refused, naming it: {out}");
    let (ok, out) = add("bad", "owner", PASSWORD.to_owned()).await;
    assert!(!ok && out.contains("role"), "an unknown role: {out}");
    let (ok, out) = staff_cli(&["list", "--data-dir", &dir], "").await;
    assert!(ok && out.contains("bea") && out.contains("barista") && !out.contains("short"), "{out}");

    let (status, _, session) = login(&app.base, "bea", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!((session["role"].as_str(), session["staffName"].as_str()), (Some("barista"), Some("bea")));
    let token = id(&session, "token");
    let (status, _, _) = call(&app.base, Method::GET, "/api/fulfilment", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "a barista reads the queue");
    let (status, _, body) = call(&app.base, Method::GET, "/api/staff", Some(&token), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("FORBIDDEN")));

    // A wrong password and a wrong name are the same answer.
    let (s1, _, wrong_password) = login(&app.base, "bea", "not the password").await;
    let (s2, _, wrong_name) = login(&app.base, "nobody", PASSWORD).await;
    assert_eq!((s1, s2), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(wrong_password, wrong_name);
    assert_eq!(wrong_password["error"]["code"], "UNAUTHENTICATED");
    // After a few failures, even the right password waits: 429 with Retry-After.
    let mut throttled = None;
    for _ in 0..10 {
        let (status, headers, body) = login(&app.base, "bea", "still not it").await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some((headers, body));
            break;
        }
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (headers, body) = throttled.expect("failed logins are throttled within 10 attempts");
    assert_eq!(body["error"]["code"], "TOO_MANY_REQUESTS", "{body}");
    let wait: u64 = headers[header::RETRY_AFTER].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=300).contains(&wait), "Retry-After {wait}");
    let (status, _, _) = login(&app.base, "bea", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the right password waits too while throttled");
    app.stop().await;
}

#[tokio::test]
async fn logging_out_ends_a_session_at_once_and_an_expired_token_is_refused() {
    let app = TestApp::spawn().await;
    let session = customer_session(&app.base, "Ana").await;
    let (token, customer) = (id(&session, "token"), id(&session, "customerId"));
    let (status, _, renewed) = call(&app.base, Method::POST, "/api/session/renew", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(renewed["expiresAt"].as_i64() >= session["expiresAt"].as_i64(), "a renewal runs a full lifetime from now");
    assert_eq!(renewed["customerId"], customer.as_str(), "for the same customer");
    let renewed = id(&renewed, "token");

    let resp = reqwest::Client::new()
        .delete(format!("{}/api/session", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let cleared = resp.headers()[header::SET_COOKIE].to_str().expect("ascii").to_owned();
    assert!(cleared.contains("coffee_session=") && cleared.contains("Max-Age=0"), "the cookie is cleared: {cleared}");
    // Every token of the session stops working at once, the renewed one too.
    for token in [&token, &renewed] {
        let (status, _, body) = call(&app.base, Method::GET, "/api/session", Some(token), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")));
        let order = json!({"coffeeId": "1"});
        let (status, _, _) = call(&app.base, Method::POST, "/api/order", Some(token), Some(order)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "an ended session places nothing");
        let (status, _, _) = call(&app.base, Method::POST, "/api/session/renew", Some(token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "an ended session is not renewed");
    }
    // And it stays ended across a restart.
    let dir = app.stop().await;
    let app = TestApp::spawn_in(dir, |_| {}).await;
    let (status, _, _) = call(&app.base, Method::GET, "/api/session", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "ended before the restart, ended after it");

    let expired = coffee_testkit::expired_customer_token(&app.key, &customer);
    let (status, _, body) =
        call(&app.base, Method::GET, &format!("/api/order?customerId={customer}"), Some(&expired), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED")));
    assert!(body["error"]["message"].as_str().unwrap_or("").contains("expired"), "{body}");
    let forged = coffee_testkit::customer_token(&"ab".repeat(32), &customer, "Ana");
    let (status, _, _) = call(&app.base, Method::GET, "/api/session", Some(&forged), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a token signed with another key");
    let (status, _, _) = call(&app.base, Method::GET, "/api/session", Some("not.a.token"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

#[tokio::test]
async fn removing_a_member_of_staff_ends_their_sessions_and_the_last_admin_stays() {
    let app = TestApp::spawn().await;
    let dir = app.dir.path().to_str().expect("utf-8 path").to_owned();
    for (name, role) in [("bea", "barista"), ("boss", "admin")] {
        let args = ["add", name, "--role", role, "--password-stdin", "--data-dir", &dir];
        let (ok, out) = staff_cli(&args, &format!("{PASSWORD}\n")).await;
        assert!(ok, "{out}");
    }
    let bea = id(&login(&app.base, "bea", PASSWORD).await.2, "token");
    let boss = id(&login(&app.base, "boss", PASSWORD).await.2, "token");
    let (status, _, list) = call(&app.base, Method::GET, "/api/staff", Some(&boss), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    let (status, _, body) = call(&app.base, Method::DELETE, "/api/staff/boss", Some(&boss), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("CONFLICT")), "the last admin");

    let (status, _, _) = call(&app.base, Method::DELETE, "/api/staff/bea", Some(&boss), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(&app.base, Method::GET, "/api/fulfilment", Some(&bea), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a removed barista's session ends at once");
    let (status, _, _) = login(&app.base, "bea", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "and they cannot log in again");
    app.stop().await;
}

#[tokio::test]
async fn a_first_run_says_how_to_add_the_first_admin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_coffee"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("COFFEE_AUTH_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the coffee binary starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let hint = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("staff add") {
                return line;
            }
        }
        panic!("the server ended without saying how to add the first admin");
    })
    .await
    .expect("the hint within 30 s");
    assert!(hint.contains("coffee staff add") && hint.contains("--role admin"), "{hint}");
    assert!(hint.contains(&format!("--data-dir {}", dir.path().display())), "names this data directory: {hint}");
    assert!(dir.path().join(coffee::config::AUTH_KEY_FILE).exists(), "serve made and kept its key");
    child.kill().await.expect("killed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_distributed_mode_a_logout_reaches_every_service_and_staff_live_in_postgresql() {
    let running = crate::distributed::Running::start().await;
    let c = &running.cluster;
    let database = running.db.url();
    let args = ["add", "bea", "--role", "barista", "--password-stdin", "--database", &database];
    let (ok, out) = staff_cli(&args, &format!("{PASSWORD}\n")).await;
    assert!(ok, "{out}");
    let (status, _, session) = login(&c.gateway.url, "bea", PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "a login at the gateway, with the account the CLI put in PostgreSQL");
    let barista = id(&session, "token");
    let (status, _, _) = call(&c.fulfilment[0].url, Method::GET, "/api/fulfilment", Some(&barista), None).await;
    assert_eq!(status, StatusCode::OK, "the fulfilment service checks the gateway's token itself");

    let customer = customer_session(&c.gateway.url, "Ana").await;
    let (token, customer_id) = (id(&customer, "token"), id(&customer, "customerId"));
    let (status, _, order) =
        call(&c.order.url, Method::POST, "/api/order", Some(&token), Some(json!({"coffeeId": "1"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    let order = id(&order, "orderId");
    // The customer reads their orders and their order's payment at each service; the barista,
    // the queue.
    let checks = [
        (c.order.url.clone(), format!("/api/order?customerId={customer_id}"), token.clone()),
        (c.payment.url.clone(), format!("/api/payment?orderId={order}"), token.clone()),
        (c.fulfilment[0].url.clone(), "/api/fulfilment".to_owned(), barista.clone()),
    ];
    for (service, path, token) in &checks {
        let (status, _, body) = call(service, Method::GET, path, Some(token), None).await;
        assert_eq!(status, StatusCode::OK, "{service}{path}: {body}");
    }
    for token in [&token, &barista] {
        let (status, _, _) = call(&c.gateway.url, Method::DELETE, "/api/session", Some(token), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _, _) = call(&c.gateway.url, Method::GET, "/api/session", Some(token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "at once where the logout happened");
    }
    // Within a minute at every service (in practice as fast as the event travels).
    for (service, path, token) in &checks {
        let mut ended = false;
        for _ in 0..600 {
            let (status, _, _) = call(service, Method::GET, path, Some(token), None).await;
            if status == StatusCode::UNAUTHORIZED {
                ended = true;
                break;
            }
            assert_eq!(status, StatusCode::OK);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ended, "{service}{path} still takes the ended session after a minute");
    }
}
