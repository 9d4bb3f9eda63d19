//! `coffee serve --bus nats://... --database postgres://...`: the whole system in one process
//! on the distributed backends. Subscriptions and `/api/events` are fed from the stream, a
//! capture left unrecorded is recovered at start from PostgreSQL, and readiness reports NATS.

use std::time::Duration;

use coffee::config::ServeConfig;
use coffee_bus::postgres::PgStore;
use coffee_domain::CardNumber;
use coffee_payment::provider::{PaymentProvider, SimulatedProvider};
use coffee_testkit::{NatsServer, TestDatabase};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

use crate::graphql::{Subscriber, order_sub};
use crate::helpers::{EVERY_STEP_ONCE, GOOD_CARD, TestApp, id};

pub(crate) fn on(nats: &NatsServer, db: &TestDatabase) -> impl FnOnce(&mut ServeConfig) {
    let (bus, database) = (nats.url(), db.url());
    move |c| {
        c.bus = bus;
        c.database = database;
        c.nats.ack_wait_ms = 1_000;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_on_nats_and_postgres_walks_the_saga_with_live_updates() {
    let (nats, db) = (NatsServer::start(), TestDatabase::create());
    let app = TestApp::spawn_with(on(&nats, &db)).await;
    let customer = format!("c-{}", uuid::Uuid::now_v7().simple());
    let mut orders = Subscriber::connect(&app).await.subscribe(&order_sub(), json!({ "c": customer })).await;
    let events = app.http.get(format!("{}/api/events", app.base)).send().await.expect("the event stream opens");
    assert_eq!(events.status(), StatusCode::OK);

    let order_id = id(&app.place_order("2", &customer).await, "orderId");
    app.pay(&order_id, GOOD_CARD).await;
    let fulfilment_id = id(&app.fulfilment_of(&order_id).await, "fulfilmentId");
    let (status, _) =
        app.patch(&format!("/api/fulfilment/{fulfilment_id}"), json!({"status": "FULFILMENT_COMPLETED"})).await;
    assert_eq!(status, StatusCode::OK);
    app.order_status(&order_id, "ORDER_COMPLETED").await;

    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("ORDER_COMPLETED") {
        let order = orders.next("orderUpdated").await;
        assert_eq!(order["id"], order_id.as_str(), "{order}");
        seen.push(order["status"].as_str().expect("status").to_owned());
    }
    assert_eq!(seen, ["ORDER_CREATED", "ORDER_IN_PROGRESS", "ORDER_COMPLETED"], "each change once, in order");

    let mut body = events.bytes_stream();
    let mut text = String::new();
    let all_there = |text: &str| EVERY_STEP_ONCE.iter().all(|t| text.contains(&format!("event: {t}\n")));
    tokio::time::timeout(Duration::from_secs(20), async {
        while !all_there(&text) {
            let chunk = body.next().await.expect("the stream stays open").expect("a chunk");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("every event of the saga reached /api/events from the stream; got {text}"));
    let mut all: Vec<String> = Vec::new();
    for service in ["order", "payment", "fulfilment"] {
        all.extend(app.event_types(service, &order_id).await);
    }
    assert_eq!(all, EVERY_STEP_ONCE, "each event once, in order, in each journal");
    app.stop().await;
}

/// As on SQLite (`restart.rs`): the provider took the money and the process died before the
/// webhook was applied; the start-up recovery finds the capture in PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capture_left_unrecorded_is_recorded_at_start_on_postgres() {
    let (nats, db) = (NatsServer::start(), TestDatabase::create());
    let app = TestApp::spawn_with(on(&nats, &db)).await;
    let order_id = id(&app.place_order("1", "ada").await, "orderId");
    let intent = id(&app.create_payment(&order_id).await, "paymentIntentId");
    let dir = app.stop().await;

    let store = PgStore::connect(&db.url(), coffee_payment::SCHEMA, coffee_payment::store::MIGRATIONS, 2)
        .await
        .expect("the payment schema");
    {
        let provider = SimulatedProvider::new(store.clone(), b"the provider's own".to_vec());
        let card_form = provider.card_form().expect("the simulated card form");
        card_form.confirm(&intent, &CardNumber::parse(GOOD_CARD).expect("card")).await.expect("captured");
    }
    store.close().await;

    let app = TestApp::spawn_in(dir, on(&nats, &db)).await;
    app.order_status(&order_id, "ORDER_IN_PROGRESS").await;
    assert_eq!(app.payment_of(&order_id).await["paymentStatus"], "PAYMENT_SUCCESSFUL");
    app.stop().await;
}

/// Readiness follows the database, and reports NATS: while the broker is down orders are still
/// taken (their events wait in the outbox) and delivered once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_reports_nats_and_orders_taken_while_it_is_down_go_through() {
    let (mut nats, db) = (NatsServer::start(), TestDatabase::create());
    let app = TestApp::spawn_with(on(&nats, &db)).await;
    let ready = app.eventually("/readyz", "connected", |v| v["bus"] == "connected").await;
    assert_eq!(ready["status"], "ready");

    nats.stop();
    let down = app.eventually("/readyz", "NATS reported down", |v| v["bus"] == "disconnected").await;
    assert_eq!(down["status"], "ready", "the database answers, so the process takes work");
    let order_id = id(&app.place_order("1", "ada").await, "orderId");
    let (_, metrics) = app.get("/api/admin/metrics").await;
    assert!(metrics["outbox"]["coffee_order"].as_i64() >= Some(1), "the event waits in the outbox: {metrics}");

    nats.resume();
    app.eventually("/readyz", "connected again", |v| v["bus"] == "connected").await;
    app.eventually(&format!("/api/payment?orderId={order_id}"), "the order's payment", |v| {
        v.as_array().is_some_and(|a| a.len() == 1)
    })
    .await;
    app.stop().await;
}

/// `--nats-replicas 3` on a three-node cluster: the event stream keeps three copies, and the
/// saga goes on when the node leading the stream dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_stream_replicas_on_a_nats_cluster_outlive_the_leader() {
    use coffee_testkit::NatsCluster;
    let mut cluster = NatsCluster::start(3);
    let db = TestDatabase::create();
    let (bus, database) = (cluster.url(), db.url());
    let app = TestApp::spawn_with(move |c| {
        c.bus = bus;
        c.database = database;
        c.nats.nats_replicas = 3;
        c.nats.ack_wait_ms = 1_000;
    })
    .await;
    let nodes: Vec<String> = cluster.nodes.iter().map(coffee_testkit::NatsServer::url).collect();
    let client = async_nats::connect(nodes).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(coffee_bus::nats::STREAM).await.expect("the stream");
    let info = stream.info().await.expect("stream info");
    assert_eq!(info.config.num_replicas, 3);
    let placement = info.cluster.clone().expect("a clustered stream");
    assert_eq!(placement.replicas.len(), 2, "a leader and two followers: {placement:?}");
    walk_to_completion(&app, "before").await;

    let leader = placement.leader.expect("a leader");
    let index: usize = leader.trim_start_matches('n').parse().expect("a node name of the cluster");
    cluster.nodes[index].stop();
    walk_to_completion(&app, "after").await;
    let info = stream.info().await.expect("stream info from a surviving node");
    assert_ne!(info.cluster.clone().and_then(|c| c.leader), Some(leader), "another node leads");
    app.stop().await;
}

/// Places an order and walks it to ORDER_COMPLETED, waiting (bounded) for each step's event to
/// arrive: after a node dies, the cluster takes a few seconds to elect a new leader.
async fn walk_to_completion(app: &TestApp, customer: &str) {
    let order_id = id(&app.place_order("1", customer).await, "orderId");
    let arrived = |path: String| async move {
        for _ in 0..300 {
            let (status, list) = app.get(&path).await;
            if status.is_success() && list.as_array().is_some_and(|a| !a.is_empty()) {
                return list[0].clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("nothing at {path} within 30 s");
    };
    arrived(format!("/api/payment?orderId={order_id}")).await;
    app.pay(&order_id, GOOD_CARD).await;
    let fulfilment = arrived(format!("/api/fulfilment?orderId={order_id}")).await;
    let fulfilment_id = id(&fulfilment, "fulfilmentId");
    let (status, _) =
        app.patch(&format!("/api/fulfilment/{fulfilment_id}"), json!({"status": "FULFILMENT_COMPLETED"})).await;
    assert_eq!(status, StatusCode::OK);
    app.order_status(&order_id, "ORDER_COMPLETED").await;
}
