//! The distributed mode: every service its own OS process, over a real nats-server (started
//! and stopped by the test) and a fresh PostgreSQL database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use coffee_testkit::{NatsServer, TestDatabase};
use serde_json::{Value, json};

use crate::helpers::{EVERY_STEP_ONCE, GOOD_CARD, Http};

/// A `coffee` process of the distributed mode.
pub(crate) struct Process {
    pub(crate) url: String,
    child: tokio::process::Child,
}

/// The arguments a service's process of the test cluster starts with.
pub(crate) fn service_args(service: &str, bus: &str, database: &str) -> Vec<String> {
    let mut args = vec![service.to_owned(), "--bus".into(), bus.into(), "--database".into(), database.into()];
    args.extend(["--ack-wait-ms", "2000", "--retry-backoff-ms", "50"].map(str::to_owned));
    args.extend(["--auth-key".to_owned(), coffee_testkit::AUTH_KEY.to_owned()]);
    args
}

/// The arguments the gateway starts with, calling these order, payment and fulfilment processes.
pub(crate) fn gateway_args(bus: &str, database: &str, [order, payment, fulfilment]: [&Process; 3]) -> Vec<String> {
    let mut args = vec!["gateway".to_owned(), "--bus".into(), bus.into(), "--database".into(), database.into()];
    args.extend(["--auth-key".to_owned(), coffee_testkit::AUTH_KEY.to_owned()]);
    args.extend(["--order-url".to_owned(), order.url.clone(), "--payment-url".to_owned(), payment.url.clone()]);
    args.extend(["--fulfilment-url".to_owned(), fulfilment.url.clone()]);
    args
}

impl Process {
    pub(crate) async fn start(args: &[&str], log: &std::path::Path) -> Self {
        Self::start_with_env(args, log, &[]).await
    }

    /// As [`Self::start`], with more environment variables.
    pub(crate) async fn start_with_env(args: &[&str], log: &std::path::Path, env: &[(&str, &str)]) -> Self {
        use tokio::io::AsyncBufReadExt;
        let log_file = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_coffee"))
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "info,sqlx=warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("coffee starts");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let url = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("coffee listening on ") {
                    return url.trim().to_owned();
                }
            }
            panic!("{args:?} exited before listening; see {}", log.display());
        })
        .await
        .expect("the process listens within 60 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Self { url, child }
    }

    /// SIGSTOP: the process holds what it has, answering nothing, until killed.
    fn freeze(&self) {
        if let Some(pid) = self.child.id() {
            let status = std::process::Command::new("kill").args(["-STOP", &pid.to_string()]).status();
            assert!(status.is_ok_and(|s| s.success()), "SIGSTOP {pid}");
        }
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub(crate) async fn kill(&mut self) {
        self.child.kill().await.expect("kill");
    }
}

/// Every service in its own process: order, payment, two fulfilment replicas, the gateway.
pub(crate) struct Cluster {
    pub(crate) order: Process,
    pub(crate) payment: Process,
    pub(crate) fulfilment: Vec<Process>,
    pub(crate) gateway: Process,
    logs: tempfile::TempDir,
}

impl Cluster {
    async fn start(nats: &NatsServer, db: &TestDatabase) -> Self {
        let logs = tempfile::tempdir().expect("temp dir");
        let (bus, database) = (nats.url(), db.url());
        let common = |service: &str| service_args(service, &bus, &database);
        let start = |args: Vec<String>, name: String| {
            let log = logs.path().join(format!("{name}.log"));
            async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                Process::start(&args, &log).await
            }
        };
        // The tests here leave many of one customer's orders unpaid (the access table makes one
        // for every cell): the cap on unpaid orders is limits.rs's to test.
        let mut order_args = common("order");
        order_args.extend(["--max-unpaid-orders".to_owned(), "0".to_owned()]);
        let order = start(order_args, "order".into()).await;
        let payment = start(common("payment"), "payment".into()).await;
        let f1 = start(common("fulfilment"), "fulfilment-1".into()).await;
        let f2 = start(common("fulfilment"), "fulfilment-2".into()).await;
        let gateway = start(gateway_args(&bus, &database, [&order, &payment, &f1]), "gateway".into()).await;
        Self { order, payment, fulfilment: vec![f1, f2], gateway, logs }
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(self.logs.path()).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            all.push_str(&format!(
                "--- {}\n{}\n",
                entry.path().display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            ));
        }
        all
    }
}

/// A nats-server and a database of the test's own, the cluster on them, and a client.
pub(crate) struct Running {
    pub(crate) nats: NatsServer,
    pub(crate) db: TestDatabase,
    pub(crate) cluster: Cluster,
    pub(crate) http: Http,
}

impl Running {
    pub(crate) async fn start() -> Self {
        let nats = NatsServer::start();
        let db = TestDatabase::create();
        let cluster = Cluster::start(&nats, &db).await;
        Self { nats, db, cluster, http: Http::admin(coffee_testkit::AUTH_KEY) }
    }
}

struct Urls {
    order: String,
    payment: String,
    fulfilment: Vec<String>,
}

impl Urls {
    fn of(c: &Cluster) -> Self {
        Self {
            order: c.order.url.clone(),
            payment: c.payment.url.clone(),
            fulfilment: c.fulfilment.iter().map(|f| f.url.clone()).collect(),
        }
    }

    fn fulfilment(&self, n: usize) -> &str {
        &self.fulfilment[n % self.fulfilment.len()]
    }
}

/// Walks one order from wherever it stands to ORDER_COMPLETED.
async fn finish(http: &Http, urls: &Urls, order_id: &str, n: usize) {
    let payment = http
        .until(&format!("{}/api/payment?orderId={order_id}", urls.payment), "the payment", |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    let status = payment[0]["paymentStatus"].as_str().unwrap_or_default().to_owned();
    if status == "PAYMENT_PENDING" || status == "PAYMENT_CREATED" {
        let created =
            http.post(&format!("{}/api/payment", urls.payment), json!({"orderId": order_id})).await.expect("pay");
        let id = created["paymentId"].as_str().expect("id").to_owned();
        let paid = http
            .post(&format!("{}/api/payment/{id}/confirm", urls.payment), json!({"cardNumber": GOOD_CARD}))
            .await
            .expect("confirm");
        assert_eq!(paid["paymentStatus"], "PAYMENT_SUCCESSFUL");
    }
    let found = http
        .until(&format!("{}/api/fulfilment?orderId={order_id}", urls.fulfilment(n)), "the fulfilment", |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    if found[0]["fulfilmentStatus"] == "FULFILMENT_CREATED" {
        let id = found[0]["fulfilmentId"].as_str().expect("id");
        http.patch(
            &format!("{}/api/fulfilment/{id}", urls.fulfilment(n + 1)),
            json!({"status": "FULFILMENT_COMPLETED"}),
        )
        .await
        .expect("complete");
    }
    http.until(&format!("{}/api/order/{order_id}", urls.order), "ORDER_COMPLETED", |o| {
        o["orderStatus"] == "ORDER_COMPLETED"
    })
    .await;
}

/// Every event each service published about an order, in each service's journal.
async fn event_types(http: &Http, urls: &Urls, order_id: &str) -> Vec<String> {
    let mut types = Vec::new();
    for (base, service) in [(&urls.order, "order"), (&urls.payment, "payment"), (&urls.fulfilment[0], "fulfilment")] {
        let events = http.get(&format!("{base}/api/{service}/events?orderId={order_id}")).await.expect("events");
        types.extend(events.as_array().expect("list").iter().map(|e| e["type"].as_str().unwrap_or("?").to_owned()));
    }
    types
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_service_in_its_own_process_walks_the_saga_and_the_gateway_sees_it() {
    let Running { nats: _nats, db: _db, cluster, http } = Running::start().await;
    let urls = Urls::of(&cluster);

    let order = http
        .post(&format!("{}/api/order", urls.order), json!({"coffeeId": "3", "customerId": "d1", "customerName": "Dee"}))
        .await
        .expect("order");
    let order_id = order["orderId"].as_str().expect("id").to_owned();
    finish(&http, &urls, &order_id, 0).await;
    assert_eq!(event_types(&http, &urls, &order_id).await, EVERY_STEP_ONCE, "{}", cluster.logs());

    // A declined card, then a good one, through the gateway's GraphQL over HTTP to the services.
    let gql = |query: String| {
        let http = http.clone();
        let url = format!("{}/graphql", cluster.gateway.url);
        async move { http.post(&url, json!({ "query": query })).await.expect("graphql") }
    };
    let created =
        gql(r#"mutation { createOrder(coffeeId: "1", customerId: "d2", customerName: "Eve") { id status } }"#.into())
            .await;
    let id = created["data"]["createOrder"]["id"].as_str().expect("id").to_owned();
    let payment = gql(format!(r#"mutation {{ makePayment(orderId: "{id}") {{ id status clientSecret }} }}"#)).await;
    assert_eq!(payment["data"]["makePayment"]["status"], "PAYMENT_CREATED", "{payment}");
    let payment_id = payment["data"]["makePayment"]["id"].as_str().expect("id").to_owned();
    let declined = gql(format!(
        r#"mutation {{ confirmPayment(paymentId: "{payment_id}", cardNumber: "4000000000000002") {{ status note }} }}"#
    ))
    .await;
    assert_eq!(declined["data"]["confirmPayment"]["note"], "Your card was declined.", "{declined}");
    assert_eq!(declined["data"]["confirmPayment"]["status"], "PAYMENT_CREATED", "another card may pay: {declined}");
    let paid = gql(format!(
        r#"mutation {{ confirmPayment(paymentId: "{payment_id}", cardNumber: "4242424242424242") {{ status note }} }}"#
    ))
    .await;
    assert_eq!(paid["data"]["confirmPayment"]["status"], "PAYMENT_SUCCESSFUL", "{paid}");
    http.until(&format!("{}/api/order/{id}", urls.order), "the order started", |o| {
        o["orderStatus"] == "ORDER_IN_PROGRESS"
    })
    .await;
    let timeline = gql(format!(r#"{{ getOrderTimeline(orderId: "{id}") {{ type source }} }}"#)).await;
    let sources: Vec<&str> = timeline["data"]["getOrderTimeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["source"].as_str())
        .collect();
    assert!(sources.contains(&"order-service") && sources.contains(&"payment-service"), "{timeline}");
    let ready = http.get(&format!("{}/readyz", urls.payment)).await.expect("ready");
    assert_eq!(ready["status"], "ready");
    // Each process describes the routes it serves, and only those.
    let described =
        |doc: Value| -> Vec<String> { doc["paths"].as_object().expect("paths").keys().cloned().collect::<Vec<_>>() };
    let payment_paths = described(http.get(&format!("{}/api/openapi.json", urls.payment)).await.expect("doc"));
    assert!(payment_paths.contains(&"/api/payment/{id}/confirm".to_owned()), "{payment_paths:?}");
    assert!(
        !payment_paths.iter().any(|p| p.starts_with("/api/order") || p.starts_with("/api/session")),
        "{payment_paths:?}"
    );
    let gateway_paths = described(http.get(&format!("{}/api/openapi.json", cluster.gateway.url)).await.expect("doc"));
    assert!(gateway_paths.contains(&"/api/session".to_owned()), "{gateway_paths:?}");
    assert!(!gateway_paths.iter().any(|p| p.starts_with("/api/payment")), "{gateway_paths:?}");
    drop(cluster);
}

/// Customers walking sagas until told to stop, remembering every order they placed.
fn customers(
    http: &Http,
    urls: &Arc<Urls>,
    count: usize,
    placed: &Arc<Mutex<Vec<String>>>,
    stop: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..count)
        .map(|n| {
            let (http, urls, placed, stop) = (http.clone(), urls.clone(), placed.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let body = json!({"coffeeId": "2", "customerId": format!("load-{n}"), "customerName": "Lu"});
                    let Ok(order) = http.post(&format!("{}/api/order", urls.order), body).await else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    let id = order["orderId"].as_str().expect("id").to_owned();
                    placed.lock().expect("lock").push(id.clone());
                    // Pay and complete when the system lets us; errors (an outage) leave the
                    // order for the end of the test to finish.
                    let _ = async {
                        let p = http.post(&format!("{}/api/payment", urls.payment), json!({"orderId": id})).await?;
                        let pid = p["paymentId"].as_str().unwrap_or_default().to_owned();
                        http.post(
                            &format!("{}/api/payment/{pid}/confirm", urls.payment),
                            json!({"cardNumber": GOOD_CARD}),
                        )
                        .await?;
                        Ok::<(), String>(())
                    }
                    .await;
                }
            })
        })
        .collect()
}

async fn wait_until_placed(placed: &Arc<Mutex<Vec<String>>>, n: usize) {
    for _ in 0..6000 {
        if placed.lock().expect("lock").len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("fewer than {n} orders were placed");
}

async fn check_every_order_finishes_once(http: &Http, urls: &Urls, placed: &[String], cluster: &Cluster) {
    for (n, order_id) in placed.iter().enumerate() {
        finish(http, urls, order_id, n).await;
    }
    let mut shapes: HashMap<Vec<String>, usize> = HashMap::new();
    for order_id in placed {
        *shapes.entry(event_types(http, urls, order_id).await).or_default() += 1;
    }
    assert_eq!(shapes.len(), 1, "every order published each step exactly once: {shapes:?}\n{}", cluster.logs());
    assert_eq!(shapes.keys().next().map(Vec::as_slice), Some(EVERY_STEP_ONCE.map(String::from).as_slice()));
    let letters = http.get(&format!("{}/api/admin/dead-letters", urls.order)).await.expect("dead letters");
    assert_eq!(letters, json!([]), "nothing was dead-lettered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_nats_mid_stream_loses_nothing_and_applies_nothing_twice() {
    let Running { mut nats, db: _db, cluster, http } = Running::start().await;
    let urls = Arc::new(Urls::of(&cluster));
    let placed = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = customers(&http, &urls, 8, &placed, &stop);

    wait_until_placed(&placed, 40).await;
    nats.stop();
    let before = placed.lock().expect("lock").len();
    // Orders are still accepted with the broker down: their events wait in the outbox.
    wait_until_placed(&placed, before + 10).await;
    let metrics = http.get(&format!("{}/api/admin/metrics", urls.order)).await.expect("metrics");
    assert!(metrics["outbox"]["coffee_order"].as_i64().unwrap_or(0) > 0, "events wait in the outbox: {metrics}");
    nats.resume();
    wait_until_placed(&placed, before + 30).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("customer");
    }
    let placed = placed.lock().expect("lock").clone();
    check_every_order_finishes_once(&http, &urls, &placed, &cluster).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_fulfilment_replica_mid_stream_leaves_its_work_to_the_survivor() {
    let Running { nats, db: _db, mut cluster, http } = Running::start().await;
    let placed = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let all = Arc::new(Urls::of(&cluster));
    let tasks = customers(&http, &all, 8, &placed, &stop);

    wait_until_placed(&placed, 40).await;
    // Freeze the victim so that what the broker hands it stays unacknowledged, and kill it only
    // once it holds some: its work must then go to the survivor.
    let mut victim = cluster.fulfilment.remove(1);
    victim.freeze();
    let client = async_nats::connect(nats.url()).await.expect("connect");
    let stream = async_nats::jetstream::new(client).get_stream(coffee_bus::nats::STREAM).await.expect("stream");
    let mut durable: async_nats::jetstream::consumer::Consumer<async_nats::jetstream::consumer::pull::Config> =
        stream.get_consumer(coffee_fulfilment::SERVICE).await.expect("the fulfilment service's consumer");
    let mut held = false;
    for _ in 0..200 {
        if consumer_is(&mut durable, |i| i.num_ack_pending > 0).await {
            held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(held, "the frozen replica never held a message\n{}", cluster.logs());
    victim.kill().await;
    let before = placed.lock().expect("lock").len();
    wait_until_placed(&placed, before + 40).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("customer");
    }
    let survivors = Urls::of(&cluster);
    let placed = placed.lock().expect("lock").clone();
    check_every_order_finishes_once(&http, &survivors, &placed, &cluster).await;
    let info = durable.info().await.expect("consumer info");
    assert_eq!(info.num_ack_pending, 0, "the dead replica's messages were all handled by the survivor");
}

/// Issue 15, on the real processes: the order service's copy of `coffee.payment.succeeded` is
/// taken by a consumer that holds it and then dies without acknowledging it (as an order process
/// SIGKILLed mid-handling does), so the order's `coffee.fulfilment.completed` reaches the order
/// service first, and the held message comes back only after the ack wait. The order must still
/// end completed, with each step published once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_that_overtakes_a_held_payment_still_completes_the_order() {
    use async_nats::jetstream::consumer::{self as pull_info, pull};
    use async_nats::jetstream::{self, AckKind};
    use futures::StreamExt;

    let Running { nats, db, mut cluster, http } = Running::start().await;
    let mut urls = Urls::of(&cluster);
    let order = http
        .post(&format!("{}/api/order", urls.order), json!({"coffeeId": "1", "customerId": "h1", "customerName": "Hal"}))
        .await
        .expect("order");
    let order_id = order["orderId"].as_str().expect("id").to_owned();
    // Once the order is relayed (the payment service knows it), nothing of it is queued for the
    // order service yet: take the service away.
    http.until(&format!("{}/api/payment?orderId={order_id}", urls.payment), "the payment", |v| {
        v.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let (bus, database) = (nats.url(), db.url());
    let order_args = [
        "order",
        "--bus",
        &bus,
        "--database",
        &database,
        "--ack-wait-ms",
        "2000",
        "--auth-key",
        coffee_testkit::AUTH_KEY,
    ];
    cluster.order.kill().await;

    let client = async_nats::connect(nats.url()).await.expect("connect");
    let js = jetstream::new(client.clone());
    let stream = js.get_stream(coffee_bus::nats::STREAM).await.expect("stream");
    let durable: jetstream::consumer::Consumer<pull::Config> =
        stream.get_consumer(coffee_order::SERVICE).await.expect("the order service's consumer");

    // Pay; the order service's copy of the success is taken and held here.
    finish_payment(&http, &urls, &order_id).await;
    let mut batch = durable.fetch().max_messages(1).expires(Duration::from_secs(10)).messages().await.expect("fetch");
    let held = batch.next().await.expect("a message").expect("delivered");
    assert_eq!(held.subject.as_str(), "coffee.payment.succeeded");

    // The barista completes; a new order process gets the completion before the success.
    let fulfilment = http
        .until(&format!("{}/api/fulfilment?orderId={order_id}", urls.fulfilment(0)), "the fulfilment", |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    let fid = fulfilment[0]["fulfilmentId"].as_str().expect("id");
    http.patch(&format!("{}/api/fulfilment/{fid}", urls.fulfilment(0)), json!({"status": "FULFILMENT_COMPLETED"}))
        .await
        .expect("complete");
    cluster.order = Process::start(&order_args, &cluster.logs.path().join("order-2.log")).await;
    urls.order = cluster.order.url.clone();
    // Keep the held message alive until the new process has handled everything else.
    let mut durable = durable;
    let mut kept_alive = 0;
    while !consumer_is(&mut durable, |i| i.num_pending == 0 && i.num_ack_pending == 1).await {
        held.ack_with(AckKind::Progress).await.expect("progress");
        kept_alive += 1;
        assert!(kept_alive < 150, "the new order process never took the completion\n{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The holder dies without acknowledging: the message comes back after the ack wait.
    let delivered = durable.info().await.expect("consumer info").delivered.consumer_sequence;
    drop((held, batch, client));
    let mut waited = 0;
    let redelivered_and_handled =
        |i: &pull_info::Info| i.delivered.consumer_sequence > delivered && i.num_pending == 0 && i.num_ack_pending == 0;
    while !consumer_is(&mut durable, redelivered_and_handled).await {
        waited += 1;
        assert!(waited < 300, "the held message was never handled\n{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let order = http.get(&format!("{}/api/order/{order_id}", urls.order)).await.expect("order");
    assert_eq!(order["orderStatus"], "ORDER_COMPLETED", "{}", cluster.logs());
    assert_eq!(event_types(&http, &urls, &order_id).await, EVERY_STEP_ONCE, "{}", cluster.logs());
}

async fn consumer_is(
    durable: &mut async_nats::jetstream::consumer::Consumer<async_nats::jetstream::consumer::pull::Config>,
    test: impl Fn(&async_nats::jetstream::consumer::Info) -> bool,
) -> bool {
    durable.info().await.map(test).unwrap_or(false)
}

/// Creates the order's payment and pays it with the good card.
async fn finish_payment(http: &Http, urls: &Urls, order_id: &str) {
    let created = http
        .until(&format!("{}/api/payment?orderId={order_id}", urls.payment), "the payment", |v| {
            v.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    assert_eq!(created[0]["paymentStatus"], "PAYMENT_PENDING");
    let payment = http.post(&format!("{}/api/payment", urls.payment), json!({"orderId": order_id})).await.expect("pay");
    let id = payment["paymentId"].as_str().expect("id");
    let paid = http
        .post(&format!("{}/api/payment/{id}/confirm", urls.payment), json!({"cardNumber": GOOD_CARD}))
        .await
        .expect("confirm");
    assert_eq!(paid["paymentStatus"], "PAYMENT_SUCCESSFUL");
}

/// The gateway's `/readyz` says how each service it calls stands, and stays ready while one is
/// down: the web app and what does not need that service still work (see admin.rs's readyz).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_readiness_reports_each_service_and_stays_ready_while_one_is_down() {
    let mut r = Running::start().await;
    let readyz = format!("{}/readyz", r.cluster.gateway.url);
    let all_ready =
        |v: &serde_json::Value| ["order", "payment", "fulfilment"].iter().all(|s| v["services"][s] == "ready");
    let ready = r.http.until(&readyz, "every service ready", all_ready).await;
    assert_eq!(ready["status"], "ready");
    r.cluster.payment.kill().await;
    let down = r
        .http
        .until(&readyz, "the payment service reported down", |v| {
            v["services"]["payment"].as_str().is_some_and(|s| s.starts_with("unavailable"))
        })
        .await;
    assert_eq!((&down["status"], &down["services"]["order"]), (&json!("ready"), &json!("ready")), "{down}");
}
