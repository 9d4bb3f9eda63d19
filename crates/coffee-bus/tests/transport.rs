//! One behaviour suite, run against every transport: the embedded one (SQLite) and NATS
//! JetStream with PostgreSQL (a real nats-server the test controls, a fresh database).
//! Each scenario is written once and instantiated per transport by `both!`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use coffee_bus::embedded::{DeliveryOptions, start_consumer};
use coffee_bus::nats::{NatsBus, NatsOptions};
use coffee_bus::postgres::PgStore;
use coffee_bus::sqlite::SqliteStore;
use coffee_bus::{
    Change, Consumer, DeadLetters, Envelope, Handler, HandlerError, Pattern, RetryPolicy, Rule, Rules, Store,
    TraceContext,
};
use coffee_domain::DomainEvent;
use coffee_testkit::{NatsServer, TestDatabase};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

fn created_rule() -> Rule {
    Rule::new("created-watcher", Pattern::from_value(json!({"type": ["coffee.order.created"]})).expect("pattern"))
}

fn cancelled_rule() -> Rule {
    Rule::new("cancel-watcher", Pattern::from_value(json!({"type": ["coffee.order.cancelled"]})).expect("pattern"))
}

fn retry() -> RetryPolicy {
    RetryPolicy { max_attempts: 5, first_backoff: Duration::from_millis(5), max_backoff: Duration::from_millis(40) }
}

fn order_event(order: u128) -> DomainEvent {
    DomainEvent::Order(coffee_testkit::an_order(order))
}

/// What a transport offers to services, for these tests.
#[async_trait]
trait Transport: Send + Sync {
    fn store(&self) -> Arc<dyn Store>;
    fn start(&self, consumer: Consumer, stop: CancellationToken) -> JoinHandle<()>;
    fn dead_letters(&self) -> Arc<dyn DeadLetters>;
    /// Whether a failed message holds back the later messages of its order (SQS FIFO
    /// semantics). The embedded transport does; on NATS a retried message may be overtaken.
    fn fifo_across_failures(&self) -> bool;
}

struct Embedded {
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl Embedded {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = coffee_testkit::sqlite_store(dir.path(), Rules::new(vec![created_rule(), cancelled_rule()]), &[]);
        Self { store, _dir: dir }
    }
}

#[async_trait]
impl Transport for Embedded {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    fn start(&self, consumer: Consumer, stop: CancellationToken) -> JoinHandle<()> {
        let options = DeliveryOptions { retry: retry(), concurrency: 8, drain_timeout: Duration::from_secs(5) };
        start_consumer(self.store.clone(), consumer, options, stop)
    }

    fn dead_letters(&self) -> Arc<dyn DeadLetters> {
        self.store.clone()
    }

    fn fifo_across_failures(&self) -> bool {
        true
    }
}

struct Nats {
    server: NatsServer,
    store: Arc<PgStore>,
    bus: NatsBus,
    stop_relay: CancellationToken,
    _db: TestDatabase,
}

impl Nats {
    async fn new() -> Self {
        let server = NatsServer::start();
        let db = TestDatabase::create();
        let store = PgStore::connect(&db.url(), "bus_test", &[], 8).await.expect("PostgreSQL store");
        let bus = NatsBus::connect(NatsOptions::new(&server.url())).await.expect("NATS");
        let stop_relay = CancellationToken::new();
        bus.start_relay(store.clone(), stop_relay.clone());
        Self { server, store, bus, stop_relay, _db: db }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop_relay.cancel();
    }
}

#[async_trait]
impl Transport for Nats {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    fn start(&self, consumer: Consumer, stop: CancellationToken) -> JoinHandle<()> {
        self.bus.start_consumer(self.store.clone(), consumer, retry(), 8, stop)
    }

    fn dead_letters(&self) -> Arc<dyn DeadLetters> {
        Arc::new(self.bus.clone())
    }

    fn fifo_across_failures(&self) -> bool {
        false
    }
}

/// Records what it saw; fails the first `fail_first` deliveries of each event (or only of
/// the event `poison`, when set).
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, String)>>,
    attempts: Mutex<HashMap<String, u32>>,
    fail_first: u32,
    poison: Option<String>,
}

#[async_trait]
impl Handler for Recorder {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError> {
        let n = {
            let mut attempts = self.attempts.lock().expect("lock");
            let n = attempts.entry(event.id.clone()).or_default();
            *n += 1;
            *n
        };
        let targeted = self.poison.as_ref().is_none_or(|p| *p == event.id);
        if targeted && n <= self.fail_first {
            return Err(HandlerError::Dependency(format!("failing on purpose, attempt {n}")));
        }
        self.seen.lock().expect("lock").push((event.subject.clone(), event.id.clone()));
        Ok(Change::new())
    }
}

impl Recorder {
    fn count(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn publish(store: &Arc<dyn Store>, env: Envelope) {
    store.commit(Change::new().publish(env)).await.expect("commit");
}

// --- scenarios ---

async fn events_reach_only_the_consumers_whose_rule_matches_each_once(t: &dyn Transport) {
    let (created, cancelled) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let stop = CancellationToken::new();
    let tasks = [
        t.start(Consumer::new(created_rule(), created.clone()), stop.clone()),
        t.start(Consumer::new(cancelled_rule(), cancelled.clone()), stop.clone()),
    ];
    let store = t.store();
    let trace = TraceContext::new_root();
    for i in 0..20 {
        publish(&store, Envelope::wrap(&order_event(i), &trace)).await;
    }
    wait_for("20 deliveries", || created.count() == 20).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(created.count(), 20, "each event exactly once");
    assert_eq!(cancelled.count(), 0, "no cancellations were published");
    stop.cancel();
    for task in tasks {
        task.await.expect("consumer stops");
    }
}

async fn one_order_is_handled_in_publishing_order_even_with_retries(t: &dyn Transport) {
    let recorder = Arc::new(Recorder { fail_first: 1, ..Recorder::default() });
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let store = t.store();
    let trace = TraceContext::new_root();
    let mut published: HashMap<String, Vec<String>> = HashMap::new();
    for _ in 0..3 {
        for order in 0..4u128 {
            let env = Envelope::wrap(&order_event(order), &trace);
            published.entry(env.subject.clone()).or_default().push(env.id.clone());
            publish(&store, env).await;
        }
    }
    wait_for("all 12", || recorder.count() == 12).await;
    let seen = recorder.seen.lock().expect("lock").clone();
    for (subject, ids) in published {
        let handled: Vec<String> = seen.iter().filter(|(s, _)| *s == subject).map(|(_, id)| id.clone()).collect();
        if t.fifo_across_failures() {
            assert_eq!(handled, ids, "order {subject} handled out of order");
        } else {
            let (mut got, mut expected) = (handled.clone(), ids.clone());
            got.sort();
            expected.sort();
            assert_eq!(got, expected, "every event of order {subject} handled once");
        }
    }
    stop.cancel();
    task.await.expect("stops");
}

async fn a_message_failing_five_times_is_dead_lettered_and_redrive_delivers_it(t: &dyn Transport) {
    let trace = TraceContext::new_root();
    let poisoned = Envelope::wrap(&order_event(7), &trace);
    let recorder = Arc::new(Recorder { fail_first: 5, poison: Some(poisoned.id.clone()), ..Recorder::default() });
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let store = t.store();
    publish(&store, poisoned.clone()).await;
    publish(&store, Envelope::wrap(&order_event(7), &trace)).await;

    let dlq = t.dead_letters();
    let mut letters = Vec::new();
    for _ in 0..1500 {
        letters = dlq.dead_letters(Some("created-watcher")).await.expect("list");
        if !letters.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(letters.len(), 1, "one dead letter");
    assert_eq!(letters[0].event.id, poisoned.id);
    assert_eq!(letters[0].attempts, 5);
    assert!(letters[0].last_error.contains("failing on purpose"), "{}", letters[0].last_error);
    assert!(dlq.dead_letters(Some("cancel-watcher")).await.expect("list").is_empty());
    wait_for("the next message of the order", || recorder.count() == 1).await;

    assert_eq!(dlq.redrive(None).await, Ok(1));
    wait_for("the redriven message", || recorder.count() == 2).await;
    assert!(dlq.dead_letters(None).await.expect("list").is_empty());
    stop.cancel();
    task.await.expect("stops");
}

async fn a_consumer_started_later_gets_what_was_published_meanwhile(t: &dyn Transport) {
    let store = t.store();
    let trace = TraceContext::new_root();
    // Nothing consumes yet: the queue (embedded) or the stream (NATS) keeps the events.
    for i in 0..10 {
        publish(&store, Envelope::wrap(&order_event(100 + i), &trace)).await;
    }
    let recorder = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    wait_for("10 resumed", || recorder.count() == 10).await;
    stop.cancel();
    task.await.expect("stops");
}

macro_rules! both {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn embedded() {
                super::$scenario(&super::Embedded::new().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn nats() {
                super::$scenario(&super::Nats::new().await).await;
            }
        }
    };
}

both!(events_reach_only_the_consumers_whose_rule_matches_each_once);
both!(one_order_is_handled_in_publishing_order_even_with_retries);
both!(a_message_failing_five_times_is_dead_lettered_and_redrive_delivers_it);
both!(a_consumer_started_later_gets_what_was_published_meanwhile);

// --- NATS only: the broker can go away ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_nats_down_events_wait_in_the_outbox_and_flow_when_it_returns() {
    let mut t = Nats::new().await;
    let recorder = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let store = t.store();
    let trace = TraceContext::new_root();
    publish(&store, Envelope::wrap(&order_event(1), &trace)).await;
    wait_for("the first event", || recorder.count() == 1).await;

    t.server.stop();
    for i in 0..20 {
        // The service keeps accepting work: commits go to PostgreSQL.
        publish(&store, Envelope::wrap(&order_event(10 + i), &trace)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.store.outbox_len().await.expect("outbox"), 20, "the outbox holds them");
    assert_eq!(recorder.count(), 1);

    t.server.resume();
    wait_for("everything after the outage", || recorder.count() == 21).await;
    let mut empty = false;
    for _ in 0..500 {
        if t.store.outbox_len().await.expect("outbox") == 0 {
            empty = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(empty, "the outbox drains");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(recorder.count(), 21, "nothing twice");
    stop.cancel();
    task.await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_a_consumer_share_the_work_and_handle_each_event_once() {
    let t = Nats::new().await;
    let (a, b) = (Arc::new(Recorder::default()), Arc::new(Recorder::default()));
    let stop = CancellationToken::new();
    let tasks = [
        t.start(Consumer::new(created_rule(), a.clone()), stop.clone()),
        t.start(Consumer::new(created_rule(), b.clone()), stop.clone()),
    ];
    let store = t.store();
    let trace = TraceContext::new_root();
    for i in 0..200 {
        publish(&store, Envelope::wrap(&order_event(1000 + i), &trace)).await;
    }
    wait_for("200 between them", || a.count() + b.count() == 200).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ids: Vec<String> = a
        .seen
        .lock()
        .expect("lock")
        .iter()
        .chain(b.seen.lock().expect("lock").iter())
        .map(|(_, id)| id.clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "each event handled by exactly one replica");
    assert!(a.count() > 0 && b.count() > 0, "both replicas worked: {} and {}", a.count(), b.count());
    stop.cancel();
    for task in tasks {
        task.await.expect("stops");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_starting_together_apply_the_migrations_once() {
    let db = TestDatabase::create();
    let url = db.url();
    let starts = (0..4).map(|_| PgStore::connect(&url, "together", &[], 2));
    let stores = futures::future::join_all(starts).await;
    for store in &stores {
        assert!(store.is_ok(), "every replica starts: {:?}", store.as_ref().err());
    }
    let store = stores.into_iter().next().and_then(Result::ok).expect("a store");
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM schema_migrations WHERE owner = 'bus'")
        .fetch_one(store.pool())
        .await
        .expect("count");
    assert_eq!(applied, 1, "each migration applied once");
}
