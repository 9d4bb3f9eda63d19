//! One behaviour suite, run against every transport: the embedded one (SQLite) and NATS
//! JetStream with PostgreSQL (a real nats-server the test controls, a fresh database).
//! Each scenario is written once and instantiated per transport by `both!`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use coffee_bus::consumer::handle_delivery;
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

/// A rule on more than the type: the broker's filter (by type) lets through events that the rest
/// of its pattern refuses.
fn elsewhere_rule() -> Rule {
    Rule::new(
        "elsewhere-watcher",
        Pattern::from_value(json!({"type": ["coffee.order.created"], "source": ["elsewhere"]})).expect("pattern"),
    )
}

/// Orders a consumer works on at once, in these tests.
const CONCURRENCY: usize = 8;

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
    fn start(&self, consumer: Consumer, stop: CancellationToken) -> JoinHandle<()> {
        self.start_retrying(consumer, retry(), stop)
    }
    fn start_retrying(&self, consumer: Consumer, retry: RetryPolicy, stop: CancellationToken) -> JoinHandle<()>;
    fn dead_letters(&self) -> Arc<dyn DeadLetters>;
    /// Whether a failed message holds back the later messages of its order (SQS FIFO
    /// semantics). The embedded transport does; on NATS a retried message may be overtaken.
    fn fifo_across_failures(&self) -> bool;
    /// Has `consumer`'s copy of the (already published) `event` handled and its effects
    /// committed, and then loses the acknowledgement, as a process that dies right after the
    /// commit does: the transport will deliver it again.
    async fn handle_and_lose_the_ack(&self, consumer: &Consumer, event: &Envelope);
    /// How long to wait before counting, so that a message delivered again late (after the ack
    /// wait) would be counted too.
    fn settle(&self) -> Duration;
}

struct Embedded {
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl Embedded {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = coffee_testkit::sqlite_store(
            dir.path(),
            Rules::new(vec![created_rule(), cancelled_rule(), elsewhere_rule()]),
            &[],
        );
        Self { store, _dir: dir }
    }
}

#[async_trait]
impl Transport for Embedded {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    fn start_retrying(&self, consumer: Consumer, retry: RetryPolicy, stop: CancellationToken) -> JoinHandle<()> {
        let options = DeliveryOptions { retry, concurrency: CONCURRENCY, drain_timeout: Duration::from_secs(5) };
        start_consumer(self.store.clone(), consumer, options, stop)
    }

    fn dead_letters(&self) -> Arc<dyn DeadLetters> {
        self.store.clone()
    }

    fn fifo_across_failures(&self) -> bool {
        true
    }

    /// The queue row is the acknowledgement: handled without it, the row stays.
    async fn handle_and_lose_the_ack(&self, consumer: &Consumer, event: &Envelope) {
        let store = self.store.as_ref() as &dyn Store;
        handle_delivery(store, consumer.name(), consumer.handler.as_ref(), event, None).await.expect("handled");
    }

    fn settle(&self) -> Duration {
        Duration::from_millis(300)
    }
}

struct Nats {
    server: NatsServer,
    store: Arc<PgStore>,
    bus: NatsBus,
    stop_relay: CancellationToken,
    db: TestDatabase,
}

impl Nats {
    async fn new() -> Self {
        Self::with_ack_wait(ACK_WAIT).await
    }

    async fn with_ack_wait(ack_wait: Duration) -> Self {
        let server = NatsServer::start();
        let db = TestDatabase::create();
        let store = PgStore::connect(&db.url(), "bus_test", &[], 8).await.expect("PostgreSQL store");
        // A short ack wait (ACK_WAIT): a message whose ack was lost comes back within the test.
        let options = NatsOptions { ack_wait, ..NatsOptions::new(&server.url()) };
        let bus = NatsBus::connect(options).await.expect("NATS");
        let stop_relay = CancellationToken::new();
        bus.start_relay(store.clone(), stop_relay.clone());
        Self { server, store, bus, stop_relay, db }
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

    fn start_retrying(&self, consumer: Consumer, retry: RetryPolicy, stop: CancellationToken) -> JoinHandle<()> {
        self.bus.start_consumer(self.store.clone(), consumer, retry, CONCURRENCY, stop)
    }

    fn dead_letters(&self) -> Arc<dyn DeadLetters> {
        Arc::new(self.bus.clone())
    }

    fn fifo_across_failures(&self) -> bool {
        false
    }

    /// Takes the message from the durable consumer as a replica would, handles and commits it,
    /// and goes away without acknowledging it.
    async fn handle_and_lose_the_ack(&self, consumer: &Consumer, event: &Envelope) {
        use futures::StreamExt;
        let durable = self.bus.durable_consumer(consumer, 8).await.expect("the durable consumer");
        let fetch = durable.fetch().max_messages(1).expires(Duration::from_secs(10));
        let mut batch = fetch.messages().await.expect("fetch");
        let message = batch.next().await.expect("a message").expect("delivered");
        let taken = coffee_bus::Envelope::from_bytes(&message.payload).expect("an envelope");
        assert_eq!(taken.id, event.id, "the message taken is the event");
        let store = self.store.as_ref() as &dyn Store;
        handle_delivery(store, consumer.name(), consumer.handler.as_ref(), &taken, None).await.expect("handled");
        drop(message);
    }

    fn settle(&self) -> Duration {
        ACK_WAIT + Duration::from_millis(700)
    }
}

const ACK_WAIT: Duration = Duration::from_secs(1);

/// Records what it saw, and commits one effect per handling (an event in the store's journal
/// about the subject `effects`), so that "handled once" is counted in what was committed, not in
/// calls. Fails the first `fail_first` deliveries of each event (or only of the event `poison`,
/// when set); panics on the first delivery of `panic_on`; holds each handling `hold` long,
/// counting how many handlings of one order ever overlapped.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(String, String)>>,
    attempts: Mutex<HashMap<String, u32>>,
    /// When each delivery reached the handler, by event.
    tried_at: Mutex<Vec<(String, Instant)>>,
    fail_first: u32,
    poison: Option<String>,
    panic_on: Option<String>,
    hold: Duration,
    running: Mutex<HashMap<String, usize>>,
    most_at_once_per_order: AtomicUsize,
    most_at_once: AtomicUsize,
}

/// The subject the effects are journalled under.
const EFFECTS: &str = "effects";

#[async_trait]
impl Handler for Recorder {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError> {
        let n = {
            let mut attempts = self.attempts.lock().expect("lock");
            let n = attempts.entry(event.id.clone()).or_default();
            *n += 1;
            *n
        };
        self.tried_at.lock().expect("lock").push((event.id.clone(), Instant::now()));
        if self.panic_on.as_ref() == Some(&event.id) && n == 1 {
            panic!("panicking on purpose");
        }
        let targeted = self.poison.as_ref().is_none_or(|p| *p == event.id);
        if targeted && n <= self.fail_first {
            return Err(HandlerError::Dependency(format!("failing on purpose, attempt {n}")));
        }
        if !self.hold.is_zero() {
            self.overlap(&event.subject, 1);
            tokio::time::sleep(self.hold).await;
            self.overlap(&event.subject, -1);
        }
        self.seen.lock().expect("lock").push((event.subject.clone(), event.id.clone()));
        Ok(Change::new().publish(effect_of(event)))
    }
}

impl Recorder {
    fn count(&self) -> usize {
        self.seen.lock().expect("lock").len()
    }

    fn overlap(&self, subject: &str, by: isize) {
        let mut running = self.running.lock().expect("lock");
        let now = running.entry(subject.to_owned()).or_default();
        *now = now.saturating_add_signed(by);
        self.most_at_once_per_order.fetch_max(*now, Ordering::SeqCst);
        let total: usize = running.values().sum();
        self.most_at_once.fetch_max(total, Ordering::SeqCst);
    }
}

/// The effect a handling commits: an event naming the event handled.
fn effect_of(event: &Envelope) -> Envelope {
    let mut effect = event.clone();
    effect.id = uuid::Uuid::now_v7().to_string();
    effect.subject = EFFECTS.to_owned();
    effect.event_type = "coffee.test.effect".to_owned();
    effect.data = json!({ "handled": event.id });
    effect
}

/// How often each event's handling was committed.
async fn effects(store: &Arc<dyn Store>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for e in store.events_about(EFFECTS).await.expect("the journal") {
        *counts.entry(e.data["handled"].as_str().unwrap_or_default().to_owned()).or_default() += 1;
    }
    counts
}

/// Every event committed exactly once, and nothing else.
async fn assert_each_committed_once(t: &dyn Transport, ids: &[String], what: &str) {
    tokio::time::sleep(t.settle()).await;
    let counts = effects(&t.store()).await;
    for id in ids {
        assert_eq!(counts.get(id).copied(), Some(1), "{what}: event {id} committed {:?} times", counts.get(id));
    }
    assert_eq!(counts.len(), ids.len(), "{what}: effects of other events: {counts:?}");
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

/// Waits until the handlings of `n` events are committed.
async fn committed(store: &Arc<dyn Store>, n: usize) {
    for _ in 0..1500 {
        if effects(store).await.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {n} handlings to commit; {:?}", effects(store).await);
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
    let mut ids = Vec::new();
    for i in 0..20 {
        let env = Envelope::wrap(&order_event(i), &trace);
        ids.push(env.id.clone());
        publish(&store, env).await;
    }
    wait_for("20 deliveries", || created.count() >= 20).await;
    assert_each_committed_once(t, &ids, "the created watcher").await;
    assert_eq!(created.count(), 20, "nothing delivered again late");
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
    wait_for("all 12", || recorder.count() >= 12).await;
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
    wait_for("10 resumed", || recorder.count() >= 10).await;
    stop.cancel();
    task.await.expect("stops");
}

async fn one_order_is_handled_in_publishing_order(t: &dyn Transport) {
    let recorder = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let store = t.store();
    let trace = TraceContext::new_root();
    let mut published: HashMap<String, Vec<String>> = HashMap::new();
    for _ in 0..5 {
        for order in 0..6u128 {
            let env = Envelope::wrap(&order_event(order), &trace);
            published.entry(env.subject.clone()).or_default().push(env.id.clone());
            publish(&store, env).await;
        }
    }
    wait_for("all 30", || recorder.count() >= 30).await;
    let seen = recorder.seen.lock().expect("lock").clone();
    for (subject, ids) in published {
        let handled: Vec<String> = seen.iter().filter(|(s, _)| *s == subject).map(|(_, id)| id.clone()).collect();
        assert_eq!(handled, ids, "order {subject} handled out of publishing order");
    }
    stop.cancel();
    task.await.expect("stops");
}

async fn one_message_of_an_order_at_a_time_and_orders_side_by_side(t: &dyn Transport) {
    let recorder = Arc::new(Recorder { hold: Duration::from_millis(20), ..Recorder::default() });
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let store = t.store();
    let trace = TraceContext::new_root();
    // Twice as many orders as the consumer may work on at once.
    let orders = 2 * CONCURRENCY as u128;
    for _ in 0..3 {
        for order in 0..orders {
            publish(&store, Envelope::wrap(&order_event(200 + order), &trace)).await;
        }
    }
    let all = 3 * orders as usize;
    wait_for("every message", || recorder.count() >= all).await;
    assert_eq!(recorder.most_at_once_per_order.load(Ordering::SeqCst), 1, "two messages of one order at once");
    let most = recorder.most_at_once.load(Ordering::SeqCst);
    assert!(most > 1, "different orders never ran side by side");
    assert!(most <= CONCURRENCY, "{most} orders at once, more than the consumer's {CONCURRENCY}");
    stop.cancel();
    task.await.expect("stops");
}

async fn a_handling_committed_but_never_acknowledged_is_delivered_again_and_changes_nothing(t: &dyn Transport) {
    let recorder = Arc::new(Recorder::default());
    let consumer = Consumer::new(created_rule(), recorder.clone());
    let store = t.store();
    let event = Envelope::wrap(&order_event(300), &TraceContext::new_root());
    publish(&store, event.clone()).await;
    t.handle_and_lose_the_ack(&consumer, &event).await;
    assert_eq!(effects(&store).await.get(&event.id).copied(), Some(1), "the first handling committed");

    let stop = CancellationToken::new();
    let task = t.start(consumer, stop.clone());
    wait_for("the delivery again", || recorder.attempts.lock().expect("lock").get(&event.id) == Some(&2)).await;
    assert_each_committed_once(t, std::slice::from_ref(&event.id), "after the lost ack").await;
    stop.cancel();
    task.await.expect("stops");
}

async fn a_handler_that_panics_is_retried_and_does_not_hold_up_its_order(t: &dyn Transport) {
    let trace = TraceContext::new_root();
    let first = Envelope::wrap(&order_event(400), &trace);
    let recorder = Arc::new(Recorder { panic_on: Some(first.id.clone()), ..Recorder::default() });
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let store = t.store();
    let second = Envelope::wrap(&order_event(400), &trace);
    publish(&store, first.clone()).await;
    publish(&store, second.clone()).await;
    wait_for("both messages of the order", || recorder.count() == 2).await;
    assert_each_committed_once(t, &[first.id.clone(), second.id.clone()], "after a panic").await;
    stop.cancel();
    task.await.expect("stops");
}

async fn an_event_of_a_listed_type_that_the_rest_of_the_pattern_refuses_is_not_handled(t: &dyn Transport) {
    let recorder = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(elsewhere_rule(), recorder.clone()), stop.clone());
    let store = t.store();
    let trace = TraceContext::new_root();
    let mut wanted = Vec::new();
    for i in 0..6 {
        // All of the listed type, which is all the broker filters on; half from elsewhere.
        let mut env = Envelope::wrap(&order_event(900 + i), &trace);
        if i % 2 == 0 {
            env.source = "elsewhere".to_owned();
            wanted.push(env.id.clone());
        }
        publish(&store, env).await;
    }
    wait_for("the events from elsewhere", || recorder.count() >= wanted.len()).await;
    assert_each_committed_once(t, &wanted, "the elsewhere watcher").await;
    let mut seen: Vec<String> = recorder.seen.lock().expect("lock").iter().map(|(_, id)| id.clone()).collect();
    seen.sort();
    wanted.sort();
    assert_eq!(seen, wanted, "only the events whose source the pattern names reach the handler");
    stop.cancel();
    task.await.expect("stops");
}

async fn a_failed_message_waits_its_backoff_before_it_is_tried_again(t: &dyn Transport) {
    const BACKOFF: Duration = Duration::from_millis(400);
    let recorder = Arc::new(Recorder { fail_first: 1, ..Recorder::default() });
    let stop = CancellationToken::new();
    // First and longest backoff the same: the wait is BACKOFF, jitter and all.
    let slow = RetryPolicy { max_attempts: 5, first_backoff: BACKOFF, max_backoff: BACKOFF };
    let task = t.start_retrying(Consumer::new(created_rule(), recorder.clone()), slow, stop.clone());
    let event = Envelope::wrap(&order_event(500), &TraceContext::new_root());
    publish(&t.store(), event.clone()).await;
    wait_for("the retry to succeed", || recorder.count() == 1).await;
    let tries = recorder.tried_at.lock().expect("lock").clone();
    assert_eq!(tries.len(), 2, "one failure, then the success: {tries:?}");
    let waited = tries[1].1 - tries[0].1;
    // (Less a little: the embedded queue's clock counts whole milliseconds.)
    assert!(
        waited >= BACKOFF - Duration::from_millis(20),
        "tried again after {waited:?}, within the {BACKOFF:?} backoff"
    );
    stop.cancel();
    task.await.expect("stops");
}

async fn a_message_held_longer_than_the_ack_wait_is_not_delivered_again(t: &dyn Transport) {
    // Each handling takes twice the NATS ack wait, and the order's second message waits as long
    // for its turn: both must be reported in progress to the broker meanwhile.
    let recorder = Arc::new(Recorder { hold: 2 * ACK_WAIT, ..Recorder::default() });
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let store = t.store();
    let trace = TraceContext::new_root();
    let events = [Envelope::wrap(&order_event(600), &trace), Envelope::wrap(&order_event(600), &trace)];
    for env in &events {
        publish(&store, env.clone()).await;
    }
    wait_for("both messages of the order", || recorder.count() == 2).await;
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    assert_each_committed_once(t, &ids, "after long handlings").await;
    let attempts = recorder.attempts.lock().expect("lock").clone();
    for id in &ids {
        assert_eq!(attempts.get(id), Some(&1), "event {id} was delivered again while held: {attempts:?}");
    }
    stop.cancel();
    task.await.expect("stops");
}

async fn a_handling_in_hand_at_shutdown_finishes_and_commits(t: &dyn Transport) {
    let recorder = Arc::new(Recorder { hold: Duration::from_millis(500), ..Recorder::default() });
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let event = Envelope::wrap(&order_event(700), &TraceContext::new_root());
    publish(&t.store(), event.clone()).await;
    wait_for("the handling to start", || recorder.most_at_once.load(Ordering::SeqCst) == 1).await;
    stop.cancel();
    task.await.expect("stops");
    let committed = effects(&t.store()).await;
    assert_eq!(committed.get(&event.id).copied(), Some(1), "the handling in hand at shutdown: {committed:?}");
}

async fn with_more_orders_waiting_than_it_may_work_on_a_consumer_works_on_as_many_as_it_may(t: &dyn Transport) {
    // Handlings long enough that every one started while the first run overlaps it.
    let recorder = Arc::new(Recorder { hold: Duration::from_millis(300), ..Recorder::default() });
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let store = t.store();
    let trace = TraceContext::new_root();
    let orders = 2 * CONCURRENCY as u128;
    for order in 0..orders {
        publish(&store, Envelope::wrap(&order_event(1300 + order), &trace)).await;
    }
    wait_for("every order", || recorder.count() >= orders as usize).await;
    assert_eq!(
        recorder.most_at_once.load(Ordering::SeqCst),
        CONCURRENCY,
        "orders handled at once, of {orders} waiting"
    );
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
both!(one_order_is_handled_in_publishing_order);
both!(one_message_of_an_order_at_a_time_and_orders_side_by_side);
both!(a_handling_committed_but_never_acknowledged_is_delivered_again_and_changes_nothing);
both!(a_handler_that_panics_is_retried_and_does_not_hold_up_its_order);
both!(an_event_of_a_listed_type_that_the_rest_of_the_pattern_refuses_is_not_handled);
both!(a_failed_message_waits_its_backoff_before_it_is_tried_again);
both!(a_message_held_longer_than_the_ack_wait_is_not_delivered_again);
both!(a_handling_in_hand_at_shutdown_finishes_and_commits);
both!(with_more_orders_waiting_than_it_may_work_on_a_consumer_works_on_as_many_as_it_may);

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
    committed(&store, 1).await;
    outbox_drains(&t).await;

    t.server.stop();
    for i in 0..20 {
        // The service keeps accepting work: commits go to PostgreSQL.
        publish(&store, Envelope::wrap(&order_event(10 + i), &trace)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(t.store.outbox_len().await.expect("outbox"), 20, "the outbox holds them");
    assert_eq!(recorder.count(), 1);

    t.server.resume();
    committed(&store, 21).await;
    outbox_drains(&t).await;
    // Delivery is at least once (an ack lost in the outage is delivered again); effects once.
    tokio::time::sleep(t.settle()).await;
    let committed = effects(&store).await;
    assert_eq!(committed.len(), 21, "every event handled: {committed:?}");
    assert!(committed.values().all(|n| *n == 1), "nothing committed twice: {committed:?}");
    stop.cancel();
    task.await.expect("stops");
}

/// Waits until the relay has published everything in the outbox (the effects too).
async fn outbox_drains(t: &Nats) {
    for _ in 0..500 {
        if t.store.outbox_len().await.expect("outbox") == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the outbox never drained");
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
    wait_for("200 between them", || a.count() + b.count() >= 200).await;
    tokio::time::sleep(t.settle()).await;
    assert_eq!(effects(&store).await.len(), 200, "each committed");
    assert!(effects(&store).await.values().all(|n| *n == 1), "none committed twice");
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
    // A migration that can run once only: run twice, its CREATE TABLE fails, and its INSERT would
    // leave two rows.
    const ONCE: &[coffee_bus::Migration] = &[coffee_bus::Migration {
        owner: "test",
        version: 1,
        name: "once",
        sql: "CREATE TABLE applied (n INT); INSERT INTO applied VALUES (1);",
    }];
    let db = TestDatabase::create();
    let url = db.url();
    let starts = (0..4).map(|_| PgStore::connect(&url, "together", ONCE, 2));
    let stores = futures::future::join_all(starts).await;
    for store in &stores {
        assert!(store.is_ok(), "every replica starts: {:?}", store.as_ref().err());
    }
    let store = stores.into_iter().next().and_then(Result::ok).expect("a store");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM applied").fetch_one(store.pool()).await.expect("count");
    assert_eq!(rows, 1, "the migration ran once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_replica_hands_back_at_once_what_it_holds_but_has_not_started() {
    // An ack wait far longer than the test: a message that comes back was handed back.
    let t = Nats::with_ack_wait(Duration::from_secs(120)).await;
    let store = t.store();
    let first = Arc::new(Recorder { hold: Duration::from_millis(1500), ..Recorder::default() });
    let stop_first = CancellationToken::new();
    // One handling at a time: the order's later messages wait in the replica.
    let task = t.bus.start_consumer(
        store.clone(),
        Consumer::new(created_rule(), first.clone()),
        retry(),
        1,
        stop_first.clone(),
    );
    let trace = TraceContext::new_root();
    let events: Vec<Envelope> = (0..3).map(|_| Envelope::wrap(&order_event(800), &trace)).collect();
    for env in &events {
        publish(&store, env.clone()).await;
    }
    outbox_drains(&t).await;
    wait_for("the first handling to start", || first.most_at_once.load(Ordering::SeqCst) == 1).await;
    // Time for the replica to take in the order's other two messages.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop_first.cancel();
    task.await.expect("stops");
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    assert_eq!(
        first.seen.lock().expect("lock").iter().map(|(_, id)| id.clone()).collect::<Vec<_>>(),
        ids[..1],
        "the stopping replica finished the message in hand, and only it"
    );

    let second = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    let task =
        t.bus.start_consumer(store.clone(), Consumer::new(created_rule(), second.clone()), retry(), 1, stop.clone());
    wait_for("the two messages handed back", || second.count() == 2).await;
    let mut taken: Vec<String> = second.seen.lock().expect("lock").iter().map(|(_, id)| id.clone()).collect();
    taken.sort();
    let mut rest = ids[1..].to_vec();
    rest.sort();
    // (In whichever order: the broker redelivers them as it pleases.)
    assert_eq!(taken, rest, "the other two");
    assert_each_committed_once(&t, &ids, "across the two replicas").await;
    stop.cancel();
    task.await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_durable_consumer_is_shared_filtered_by_type_at_the_broker_and_never_gives_up() {
    use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
    let t = Nats::new().await;
    let filters = |c: &async_nats::jetstream::consumer::Config| {
        if c.filter_subjects.is_empty() { vec![c.filter_subject.clone()] } else { c.filter_subjects.clone() }
    };
    let consumer = Consumer::new(created_rule(), Arc::new(Recorder::default()));
    let mut durable = t.bus.durable_consumer(&consumer, CONCURRENCY).await.expect("the durable consumer");
    let config = durable.info().await.expect("its info").config.clone();
    assert_eq!(config.durable_name.as_deref(), Some("created-watcher"), "one durable consumer, by the rule's name");
    assert_eq!(
        filters(&config),
        ["coffee.order.created", "coffee.redrive.created-watcher"],
        "its types and its redrives"
    );
    assert_eq!(config.ack_policy, AckPolicy::Explicit);
    assert_eq!(config.ack_wait, ACK_WAIT);
    assert_eq!(config.max_deliver, -1, "dead-lettering is the consumer's, not the broker's");
    assert_eq!(config.max_ack_pending, 8 * CONCURRENCY as i64);
    assert_eq!(config.deliver_policy, DeliverPolicy::All);

    // A rule that names no type gets every event, redrives among them.
    let any_type =
        Rule::new("any-type-watcher", Pattern::from_value(json!({"source": ["elsewhere"]})).expect("pattern"));
    let consumer = Consumer::new(any_type, Arc::new(Recorder::default()));
    let mut durable = t.bus.durable_consumer(&consumer, CONCURRENCY).await.expect("the durable consumer");
    let config = durable.info().await.expect("its info").config.clone();
    assert_eq!(filters(&config), ["coffee.>"]);
}

/// Transactions committed in the test's database so far (PostgreSQL's statistics, which each
/// backend reports at most about once a second).
async fn transactions(t: &Nats) -> i64 {
    sqlx::query_scalar("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        .fetch_one(t.store.pool())
        .await
        .expect("statistics")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_relay_waits_for_commits_rather_than_reading_the_outbox_over_and_over() {
    let t = Nats::new().await;
    publish(&t.store(), Envelope::wrap(&order_event(1200), &TraceContext::new_root())).await;
    outbox_drains(&t).await;
    let before = transactions(&t).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let during = transactions(&t).await - before;
    // Idle, the relay looks every half second (two statements a look): a dozen, and these two.
    assert!(during < 200, "{during} transactions in 3 s of an idle relay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_services_outbox_has_a_relay_of_its_own() {
    let t = Nats::new().await;
    // A second service in the same database, with its own schema and its own relay.
    let other = PgStore::connect(&t.db.url(), "bus_other", &[], 4).await.expect("the other service's store");
    let stop_other = CancellationToken::new();
    let other_relay = t.bus.start_relay(other.clone(), stop_other.clone());
    let trace = TraceContext::new_root();
    publish(&t.store(), Envelope::wrap(&order_event(1400), &trace)).await;
    let other_store: Arc<dyn Store> = other.clone();
    publish(&other_store, Envelope::wrap(&order_event(1401), &trace)).await;
    outbox_drains(&t).await;
    for _ in 0..500 {
        if other.outbox_len().await.expect("outbox") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(other.outbox_len().await, Ok(0), "the other service's outbox was relayed too, beside this one's");
    stop_other.cancel();
    other_relay.await.expect("the other relay stops");
    other.close().await;
}

// --- embedded only: the queue rows are the durable truth ---

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_embedded_consumer_goes_on_counting_a_messages_attempts_from_its_queue_row() {
    let t = Embedded::new().await;
    let event = Envelope::wrap(&order_event(1100), &TraceContext::new_root());
    publish(&t.store(), event.clone()).await;
    let queued = t.store.pending("created-watcher").await.expect("the queue");
    assert_eq!(queued.iter().map(|q| (q.attempts, q.visible_at)).collect::<Vec<_>>(), [(0, 0)]);
    // Three attempts failed before the process stopped; the last one's wait is over.
    let seq = queued[0].seq;
    t.store.record_failure("created-watcher", seq, 3, 1, "failed before the restart").await.expect("recorded");
    let queued = t.store.pending("created-watcher").await.expect("the queue");
    assert_eq!(queued.iter().map(|q| (q.seq, q.attempts, q.visible_at)).collect::<Vec<_>>(), [(seq, 3, 1)]);

    let recorder = Arc::new(Recorder { fail_first: u32::MAX, ..Recorder::default() });
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    let mut letters = Vec::new();
    for _ in 0..1500 {
        letters = t.store.dead_letters(Some("created-watcher")).await.expect("list");
        if !letters.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(letters.iter().map(|l| (l.event.id.clone(), l.attempts)).collect::<Vec<_>>(), [(event.id.clone(), 5)]);
    assert_eq!(recorder.attempts.lock().expect("lock").get(&event.id), Some(&2), "the 4th and 5th attempts, no more");
    assert!(t.store.pending("created-watcher").await.expect("the queue").is_empty(), "moved off the queue");
    stop.cancel();
    task.await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_consumer_starting_while_events_commit_gets_each_of_them() {
    let t = Embedded::new().await;
    let store = t.store();
    // Commits all along, so that some land while a starting dispatcher loads its queue: those
    // reach it from the queue table, from the writer's channel, or both.
    let published = Arc::new(Mutex::new(Vec::new()));
    let publishing = CancellationToken::new();
    let publisher = tokio::spawn({
        let (store, publishing, published) = (store.clone(), publishing.clone(), published.clone());
        async move {
            let trace = TraceContext::new_root();
            for n in 0.. {
                if publishing.is_cancelled() {
                    break;
                }
                let env = Envelope::wrap(&order_event(10_000 + n), &trace);
                let id = env.id.clone();
                publish(&store, env).await;
                published.lock().expect("lock").push(id);
            }
        }
    });
    let recorder = Arc::new(Recorder::default());
    let handled = |recorder: &Recorder| -> std::collections::HashSet<String> {
        recorder.seen.lock().expect("lock").iter().map(|(_, id)| id.clone()).collect()
    };
    for _ in 0..25 {
        let stop = CancellationToken::new();
        let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
        tokio::time::sleep(Duration::from_millis(30)).await;
        // This dispatcher, without another start, gets everything committed so far.
        let so_far = published.lock().expect("lock").clone();
        wait_for("what was committed while the dispatcher started", || {
            let seen = handled(&recorder);
            so_far.iter().all(|id| seen.contains(id))
        })
        .await;
        stop.cancel();
        task.await.expect("stops");
    }
    publishing.cancel();
    publisher.await.expect("the publisher");
    let ids = published.lock().expect("lock").clone();
    let stop = CancellationToken::new();
    let task = t.start(Consumer::new(created_rule(), recorder.clone()), stop.clone());
    wait_for("every event", || handled(&recorder).len() >= ids.len()).await;
    assert_each_committed_once(&t, &ids, "across restarts").await;
    // And each handled once: a copy that reached a starting dispatcher both from the queue table
    // and from the writer's channel was handed to the handler twice.
    let calls = recorder.seen.lock().expect("lock").len();
    assert_eq!(calls, handled(&recorder).len(), "each event handed to the handler once");
    stop.cancel();
    task.await.expect("stops");
}

/// What the metrics read of a consumer's queue on NATS: the messages its durable consumer has
/// not had acknowledged; a consumer not created yet counts as empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_counts_a_durable_consumers_messages_not_yet_handled() {
    let t = Nats::new().await;
    let consumer = Consumer::new(created_rule(), Arc::new(Recorder::default()));
    t.bus.durable_consumer(&consumer, CONCURRENCY).await.expect("the durable consumer");
    let store = t.store();
    let trace = TraceContext::new_root();
    for i in 0..3 {
        publish(&store, Envelope::wrap(&order_event(i), &trace)).await;
    }
    let names = ["created-watcher".to_owned(), "never-started".to_owned()];
    let mut stats = Vec::new();
    for _ in 0..500 {
        stats = t.bus.queue_stats(&names).await.expect("the broker answers");
        if stats[0].messages == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stats[0].messages, 3, "{stats:?}");
    assert_eq!((stats[0].redelivered, stats[0].oldest_age_seconds), (0, None), "{stats:?}");
    assert_eq!(stats[1], coffee_bus::stats::QueueStats::empty("never-started"));
}

/// The embedded queues as the metrics read them: per consumer, the messages waiting and how
/// long the oldest has waited; an empty queue is 0 and 0.
#[tokio::test]
async fn the_embedded_store_counts_each_queues_messages_and_the_oldest_ones_age() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = coffee_testkit::sqlite_store(dir.path(), Rules::new(vec![created_rule(), cancelled_rule()]), &[]);
    let shared: Arc<dyn Store> = store.clone();
    let mut old = Envelope::wrap(&order_event(1), &TraceContext::new_root());
    old.time = "2026-01-01T00:00:00.000000Z".to_owned();
    publish(&shared, old).await;
    publish(&shared, Envelope::wrap(&order_event(2), &TraceContext::new_root())).await;
    let stats = store.queue_stats(&["created-watcher".to_owned(), "cancel-watcher".to_owned()]).await.expect("stats");
    assert_eq!((stats[0].messages, stats[0].redelivered), (2, 0), "{stats:?}");
    assert!(stats[0].oldest_age_seconds.is_some_and(|a| a > 86_400.0), "the oldest is the first: {stats:?}");
    assert_eq!((stats[1].messages, stats[1].oldest_age_seconds), (0, Some(0.0)), "{stats:?}");
    store.close().await;
}

/// CPU time this process has used, user and system, from /proc in clock ticks (USER_HZ, 100 a
/// second on Linux). nextest runs each test in a process of its own, so it is this test's.
fn cpu_used() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // After the command's closing parenthesis (field 2): the state is field 3, utime and stime
    // are fields 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')').expect("a stat line").1.split_whitespace().collect();
    let ticks = |field: usize| fields[field - 3].parse::<u64>().expect("clock ticks");
    Duration::from_millis((ticks(14) + ticks(15)) * 10)
}

/// A message waiting out its backoff costs the embedded dispatcher nothing: it sleeps until the
/// message is due rather than spinning to check (which would give the same outcomes while a core
/// burns for the whole backoff).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_waiting_its_backoff_keeps_the_dispatcher_asleep() {
    let t = Embedded::new().await;
    let recorder = Arc::new(Recorder { fail_first: 1, ..Recorder::default() });
    let stop = CancellationToken::new();
    let backoff = Duration::from_secs(3);
    let retry = RetryPolicy { max_attempts: 5, first_backoff: backoff, max_backoff: backoff };
    let task = t.start_retrying(Consumer::new(created_rule(), recorder.clone()), retry, stop.clone());
    publish(&t.store(), Envelope::wrap(&order_event(900), &TraceContext::new_root())).await;
    wait_for("the first, failed try", || !recorder.tried_at.lock().expect("lock").is_empty()).await;
    let before = cpu_used();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let spent = cpu_used() - before;
    assert_eq!(recorder.count(), 0, "still waiting");
    assert!(spent < Duration::from_millis(300), "{spent:?} of CPU in 1.5 s of waiting");
    wait_for("the retry to succeed", || recorder.count() == 1).await;
    stop.cancel();
    task.await.expect("stops");
}
