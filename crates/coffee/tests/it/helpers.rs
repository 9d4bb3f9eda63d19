//! One way to start the real application for a test, and a client that talks to it.

use std::time::Duration;

use coffee::app::Application;
use coffee::config::ServeConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub const GOOD_CARD: &str = "4242424242424242";
pub const DECLINED_CARD: &str = "4000000000000002";
pub const NO_FUNDS_CARD: &str = "4000000000009995";
pub const WEBHOOK_SECRET: &str = "whsec_test_secret";

/// What the three services publish about an order that is paid, made and completed, in each
/// service's journal: every step, once.
pub const EVERY_STEP_ONCE: [&str; 8] = [
    "coffee.order.created",
    "coffee.order.started",
    "coffee.order.completed",
    "coffee.payment.pending",
    "coffee.payment.created",
    "coffee.payment.succeeded",
    "coffee.fulfilment.created",
    "coffee.fulfilment.completed",
];

pub struct TestApp {
    pub base: String,
    /// Sends an admin's session with every request: an admin may do everything the tests do.
    /// Tests of who may do what make clients of their own ([`TestApp::client_as`]).
    pub http: reqwest::Client,
    /// The key the server signs sessions with (kept in its data directory).
    pub key: String,
    pub dir: tempfile::TempDir,
    app: Option<Application>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        Self::spawn_in(tempfile::tempdir().expect("temp dir"), adjust).await
    }

    /// Starts on an existing data directory (a restart).
    pub async fn spawn_in(dir: tempfile::TempDir, adjust: impl FnOnce(&mut ServeConfig)) -> Self {
        let mut config = ServeConfig::for_tests(dir.path().to_path_buf());
        adjust(&mut config);
        let app = Application::start(config).await.expect("the application starts");
        let base = format!("http://{}", app.addr());
        let key =
            std::fs::read_to_string(dir.path().join(coffee::config::AUTH_KEY_FILE)).expect("the server kept its key");
        let http = coffee_testkit::client_with(&coffee_testkit::token(&key, "test-admin", "admin"));
        Self { base, http, key, dir, app: Some(app) }
    }

    /// Stops cleanly; gives back the data directory for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(app) = self.app.take() {
            app.stop().await.expect("clean stop");
        }
        self.dir
    }

    /// Any request. A 500 fails the test wherever it happens: a 500 is a bug.
    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{method} {path} gave a 500: {text}");
        let value =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn place_order(&self, coffee_id: &str, customer: &str) -> Value {
        let (status, order) = self
            .post("/api/order", json!({"coffeeId": coffee_id, "customerId": customer, "customerName": "Ada"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{order}");
        order
    }

    /// Creates the order's payment (PAYMENT_CREATED).
    pub async fn create_payment(&self, order_id: &str) -> Value {
        let (status, payment) = self.post("/api/payment", json!({"orderId": order_id})).await;
        assert_eq!(status, StatusCode::CREATED, "{payment}");
        payment
    }

    /// Pays with `card` through the simulated card form; returns the payment after the outcome.
    pub async fn pay(&self, order_id: &str, card: &str) -> Value {
        let payment = self.create_payment(order_id).await;
        let id = payment["paymentId"].as_str().expect("payment id");
        let (status, paid) = self.post(&format!("/api/payment/{id}/confirm"), json!({"cardNumber": card})).await;
        assert_eq!(status, StatusCode::OK, "{paid}");
        paid
    }

    /// Delivers a webhook `body` signed with `signature`, as the provider would.
    pub async fn webhook(&self, body: &[u8], signature: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!("{}/api/payment/webhook", self.base))
            .header("content-type", "application/json")
            .header("Stripe-Signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .expect("sent");
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Polls `path` until `done` holds, for up to 10 s.
    pub async fn eventually(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        for _ in 0..1000 {
            let (status, value) = self.get(path).await;
            if status.is_success() && done(&value) {
                return value;
            }
            last = value;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what} at {path}; last answer: {last}");
    }

    pub async fn order_status(&self, order_id: &str, status: &str) -> Value {
        let want = status.to_owned();
        self.eventually(&format!("/api/order/{order_id}"), status, move |o| o["orderStatus"] == want.as_str()).await
    }

    pub async fn fulfilment_of(&self, order_id: &str) -> Value {
        let list = self
            .eventually(&format!("/api/fulfilment?orderId={order_id}"), "a fulfilment", |v| {
                v.as_array().is_some_and(|a| !a.is_empty())
            })
            .await;
        list[0].clone()
    }

    /// The payment of an order as the payment service has it now.
    pub async fn payment_of(&self, order_id: &str) -> Value {
        let (status, list) = self.get(&format!("/api/payment?orderId={order_id}")).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        list[0].clone()
    }

    /// The types of every event published about an order, per producing service.
    /// The order was paid only after it was cancelled: the money went straight back, it was
    /// never announced as paid, and nothing was made.
    pub async fn assert_refunded_before_anything_was_made(&self, order_id: &str) {
        let refunded = self.payment_of(order_id).await;
        assert_eq!(refunded["paymentStatus"], "PAYMENT_REFUNDED", "{refunded}");
        assert_eq!(refunded["paymentNote"], "paid after the order was cancelled; refunded", "{refunded}");
        assert_eq!(
            self.event_types("payment", order_id).await,
            ["coffee.payment.pending", "coffee.payment.created", "coffee.payment.refunded"],
            "never announced as paid"
        );
        let (_, made) = self.get(&format!("/api/fulfilment?orderId={order_id}")).await;
        assert_eq!(made, serde_json::json!([]), "nothing for the barista");
    }

    pub async fn event_types(&self, service: &str, order_id: &str) -> Vec<String> {
        let (status, events) = self.get(&format!("/api/{service}/events?orderId={order_id}")).await;
        assert_eq!(status, StatusCode::OK, "{events}");
        events.as_array().expect("a list").iter().map(|e| e["type"].as_str().unwrap_or("?").to_owned()).collect()
    }
}

/// A webhook delivery for a payment, as the provider would send it.
pub fn webhook_event(event_id: &str, kind: &str, payment: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "id": event_id,
        "type": kind,
        "created": 0,
        "data": {"object": {
            "id": payment["paymentIntentId"],
            "amount": payment["amount"],
            "currency": "aud",
            "status": "succeeded",
            "metadata": {"paymentId": payment["paymentId"], "orderId": payment["orderId"]}
        }}
    }))
    .expect("json")
}

pub fn id(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_else(|| panic!("no {key} in {v}")).to_owned()
}

/// The `coffee` binary running as its own process, as a user starts it.
pub struct ServerProcess {
    pub base: String,
    child: tokio::process::Child,
}

impl ServerProcess {
    pub async fn start(data_dir: &std::path::Path, extra: &[&str]) -> Self {
        Self::start_with_env(data_dir, extra, &[]).await
    }

    /// As [`Self::start`], with more environment variables (`RUST_LOG`, ...).
    pub async fn start_with_env(data_dir: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Self {
        use tokio::io::AsyncBufReadExt;
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("server.log")).expect("log file");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_coffee"))
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("COFFEE_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .env("COFFEE_AUTH_KEY", coffee_testkit::AUTH_KEY)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("the coffee binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("coffee listening on ") {
                    return url.trim().to_owned();
                }
            }
            panic!("the server exited before listening; see {}", data_dir.join("server.log").display());
        })
        .await
        .expect("the server says where it listens within 30 s");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { base, child }
    }

    /// SIGKILL: no shutdown code runs.
    pub async fn kill(mut self) {
        self.child.kill().await.expect("kill");
    }

    /// SIGTERM, then wait for the process to exit by itself.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().expect("running");
        let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().expect("kill runs");
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("exits in time")
            .expect("exit status")
    }
}

/// A customer's session started at `base` as the web app starts it: the answer
/// (`token`, `customerId`, ...), or a panic naming the status.
pub async fn customer_session(base: &str, name: &str) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{base}/api/session"))
        .json(&json!({ "customerName": name }))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(resp.status(), StatusCode::CREATED, "starting {name}'s session");
    resp.json().await.expect("json")
}

/// Runs the `coffee` binary with `args` and returns what it printed.
pub async fn run_cli(args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_coffee")).args(args).output().await.expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// A client for whole URLs, for tests that talk to several servers. Errors are returned
/// (a server may be down on purpose); a 500 still fails the test.
#[derive(Clone)]
pub struct Http(pub reqwest::Client);

impl Http {
    /// An admin of a system whose processes were given `key`.
    pub fn admin(key: &str) -> Self {
        Self(coffee_testkit::client_with(&coffee_testkit::token(key, "test-admin", "admin")))
    }

    pub async fn call(&self, method: reqwest::Method, url: &str, body: Option<Value>) -> Result<Value, String> {
        let mut req = self.0.request(method, url).timeout(Duration::from_secs(10));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let value: Value = resp.json().await.map_err(|e| e.to_string())?;
        assert_ne!(status.as_u16(), 500, "{url}: {value}");
        if status.is_success() { Ok(value) } else { Err(format!("{status}: {value}")) }
    }

    pub async fn get(&self, url: &str) -> Result<Value, String> {
        self.call(reqwest::Method::GET, url, None).await
    }

    pub async fn post(&self, url: &str, body: Value) -> Result<Value, String> {
        self.call(reqwest::Method::POST, url, Some(body)).await
    }

    pub async fn patch(&self, url: &str, body: Value) -> Result<Value, String> {
        self.call(reqwest::Method::PATCH, url, Some(body)).await
    }

    pub async fn until(&self, url: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..3000 {
            if let Ok(v) = self.get(url).await
                && done(&v)
            {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out waiting for {what} at {url}");
    }
}
