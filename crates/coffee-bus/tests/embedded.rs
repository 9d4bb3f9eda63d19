//! The embedded transport against a real SQLite file: the store's transaction rules, and
//! delivery (fan-out, FIFO per order, retries, dead letters, redrive, restart).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use coffee_bus::embedded::{DeliveryOptions, start_consumer};
use coffee_bus::sqlite::{Durability, Publishing, SqliteOptions, SqliteStore};
use coffee_bus::{
    Change, Committed, Consumer, DeadLetters, Envelope, Expect, Handler, HandlerError, Kind, Lookup, Migration,
    Pattern, RecordKey, Records, RetryPolicy, Rule, Rules, Store, StoreError, Table, TraceContext,
};
use coffee_domain::{CoffeeId, CustomerId, CustomerName, DomainEvent, Millis, Order, OrderId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Note {
    id: String,
    order_id: String,
    text: String,
}

const NOTES: Kind<Note> = Kind::new(Table::new("notes"), |n| RecordKey {
    id: n.id.clone(),
    order_id: n.order_id.clone(),
    customer_id: "c".into(),
    day: "2026-11-25".into(),
    created_at: 0,
    status: "OPEN",
});

const MIGRATIONS: &[Migration] = &[Migration {
    owner: "test",
    version: 1,
    name: "notes",
    sql: "CREATE TABLE notes (id TEXT PRIMARY KEY, order_id TEXT NOT NULL UNIQUE, customer_id TEXT NOT NULL,
              day TEXT NOT NULL, created_at BIGINT NOT NULL, status TEXT NOT NULL, version BIGINT NOT NULL,
              body TEXT NOT NULL);
              CREATE INDEX notes_by_status ON notes (status, created_at);",
}];

fn rules() -> Rules {
    Rules::new(vec![
        Rule::new("created-watcher", Pattern::from_value(json!({"type": ["coffee.order.created"]})).expect("pattern")),
        Rule::new("cancel-watcher", Pattern::from_value(json!({"type": ["coffee.order.cancelled"]})).expect("pattern")),
    ])
}

fn open(dir: &tempfile::TempDir) -> Arc<SqliteStore> {
    SqliteStore::open(
        SqliteOptions {
            path: dir.path().join("bus.db"),
            durability: Durability::Full,
            publishing: Publishing::Queues(rules()),
            readers: 2,
        },
        MIGRATIONS,
    )
    .expect("store opens")
}

fn order_event(order: u128) -> DomainEvent {
    DomainEvent::Order(Order::place(
        OrderId::from_uuid(uuid::Uuid::from_u128(order)),
        CoffeeId::parse("1").expect("menu"),
        CustomerId::parse("c").expect("customer"),
        CustomerName::parse("Cy").expect("name"),
        Millis(0),
    ))
}

fn fast_retries() -> DeliveryOptions {
    DeliveryOptions {
        retry: RetryPolicy {
            max_attempts: 5,
            first_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
        },
        concurrency: 8,
        drain_timeout: Duration::from_secs(5),
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
    delay: Duration,
}

#[async_trait]
impl Handler for Recorder {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let n = {
            let mut attempts = self.attempts.lock().expect("lock");
            let n = attempts.entry(event.id.clone()).or_default();
            *n += 1;
            *n
        };
        let targeted = self.poison.as_ref().is_none_or(|p| *p == event.id);
        if targeted && n <= self.fail_first {
            return Err(HandlerError::new(format!("failing on purpose, attempt {n}")));
        }
        self.seen.lock().expect("lock").push((event.subject.clone(), event.id.clone()));
        Ok(Change::new())
    }
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn a_change_commits_records_and_events_together_and_versions_guard_updates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let notes = Records::new(store.clone(), NOTES);
    let note = Note { id: "n1".into(), order_id: "o1".into(), text: "first".into() };
    let trace = TraceContext::new_root();
    let change = Change::new().put(NOTES, &note, Expect::New).expect("put").emit(&order_event(1), &trace);
    assert_eq!(store.commit(change).await, Ok(Committed::Applied));
    let stored = notes.get("n1").await.expect("read").expect("exists");
    assert_eq!(stored.version, 1);
    assert_eq!(stored.value, note);

    // A second record for the same order conflicts (one payment, one fulfilment per order).
    let twin = Note { id: "n2".into(), ..note.clone() };
    let twin_change = Change::new().put(NOTES, &twin, Expect::New).expect("put").emit(&order_event(1), &trace);
    assert_eq!(store.commit(twin_change).await, Err(StoreError::Conflict));

    // An update at a stale version conflicts and publishes nothing.
    let edited = Note { text: "second".into(), ..note.clone() };
    let ok = Change::new().put(NOTES, &edited, Expect::Version(1)).expect("put");
    assert_eq!(store.commit(ok).await, Ok(Committed::Applied));
    let stale = Change::new().put(NOTES, &edited, Expect::Version(1)).expect("put").emit(&order_event(1), &trace);
    assert_eq!(store.commit(stale).await, Err(StoreError::Conflict));

    let subject = uuid::Uuid::from_u128(1).to_string();
    let journal = store.events_about(&subject).await.expect("journal");
    assert_eq!(journal.len(), 1, "only the committed change's event was published");
    assert_eq!(notes.by_order("o1").await.expect("read").expect("exists").version, 2);
    assert_eq!(notes.find(Lookup::Status("OPEN"), 10).await.expect("list").len(), 1);
    store.close().await;
}

#[tokio::test]
async fn an_inbox_mark_makes_a_second_handling_a_no_op() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let note = Note { id: "n1".into(), order_id: "o1".into(), text: "x".into() };
    let handled = |change: Change| Change {
        handled: Some(coffee_bus::store::Handled { consumer: "c".into(), event_id: "e1".into(), delivery_seq: None }),
        ..change
    };
    let first = handled(Change::new().put(NOTES, &note, Expect::New).expect("put"));
    assert_eq!(store.commit(first).await, Ok(Committed::Applied));
    let again = handled(
        Change::new().put(NOTES, &Note { id: "n9".into(), order_id: "o9".into(), ..note }, Expect::New).expect("put"),
    );
    assert_eq!(store.commit(again).await, Ok(Committed::AlreadyHandled));
    assert!(Records::new(store.clone(), NOTES).get("n9").await.expect("read").is_none(), "nothing applied twice");
    store.close().await;
}

#[tokio::test]
async fn events_fan_out_only_to_consumers_whose_rule_matches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let created = Arc::new(Recorder::default());
    let cancelled = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    let rules = rules();
    let mut rule_iter = rules.iter().cloned();
    let created_rule = rule_iter.next().expect("rule");
    let cancelled_rule = rule_iter.next().expect("rule");
    let tasks = [
        start_consumer(store.clone(), Consumer::new(created_rule, created.clone()), fast_retries(), stop.clone()),
        start_consumer(store.clone(), Consumer::new(cancelled_rule, cancelled.clone()), fast_retries(), stop.clone()),
    ];
    let trace = TraceContext::new_root();
    for i in 0..20 {
        store.commit(Change::new().emit(&order_event(i), &trace)).await.expect("commit");
    }
    wait_for("20 deliveries", || created.seen.lock().expect("lock").len() == 20).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(created.seen.lock().expect("lock").len(), 20, "each event exactly once");
    assert!(cancelled.seen.lock().expect("lock").is_empty(), "no cancellations were published");
    stop.cancel();
    for t in tasks {
        t.await.expect("consumer stops");
    }
    assert!(store.pending("created-watcher").await.expect("queue").is_empty());
    store.close().await;
}

#[tokio::test]
async fn one_order_is_handled_in_publishing_order_even_when_a_message_is_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let recorder = Arc::new(Recorder { fail_first: 2, delay: Duration::from_millis(1), ..Recorder::default() });
    let stop = CancellationToken::new();
    let rule = rules().iter().next().cloned().expect("rule");
    let task = start_consumer(store.clone(), Consumer::new(rule, recorder.clone()), fast_retries(), stop.clone());
    let trace = TraceContext::new_root();
    let mut published: HashMap<String, Vec<String>> = HashMap::new();
    for round in 0..5 {
        for order in 0..4u128 {
            let env = Envelope::wrap(&order_event(order), &trace);
            published.entry(env.subject.clone()).or_default().push(env.id.clone());
            store.commit(Change::new().publish(env)).await.expect("commit");
        }
        let _ = round;
    }
    wait_for("all 20", || recorder.seen.lock().expect("lock").len() == 20).await;
    let seen = recorder.seen.lock().expect("lock").clone();
    for (subject, ids) in published {
        let handled: Vec<String> = seen.iter().filter(|(s, _)| *s == subject).map(|(_, id)| id.clone()).collect();
        assert_eq!(handled, ids, "order {subject} handled out of order");
    }
    stop.cancel();
    task.await.expect("stops");
    store.close().await;
}

#[tokio::test]
async fn after_five_failures_a_message_is_dead_lettered_and_redrive_delivers_it_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let trace = TraceContext::new_root();
    let poisoned = Envelope::wrap(&order_event(7), &trace);
    let recorder = Arc::new(Recorder { fail_first: 5, poison: Some(poisoned.id.clone()), ..Recorder::default() });
    let stop = CancellationToken::new();
    let rule = rules().iter().next().cloned().expect("rule");
    let task = start_consumer(store.clone(), Consumer::new(rule, recorder.clone()), fast_retries(), stop.clone());
    store.commit(Change::new().publish(poisoned)).await.expect("commit");
    // The next message of the same order is not blocked for ever by the poisoned one.
    store.commit(Change::new().emit(&order_event(7), &trace)).await.expect("commit");

    let s = store.clone();
    wait_for("a dead letter", || {
        let s = s.clone();
        futures::executor::block_on(async move { s.dead_letters(None).await.expect("list").len() == 1 })
    })
    .await;
    let dead = store.dead_letters(Some("created-watcher")).await.expect("list");
    assert_eq!(dead[0].attempts, 5);
    assert!(dead[0].last_error.contains("failing on purpose"), "{}", dead[0].last_error);
    assert_eq!(dead[0].event.event_type, "coffee.order.created");
    wait_for("the second message", || recorder.seen.lock().expect("lock").len() == 1).await;

    assert_eq!(store.redrive(Some("created-watcher")).await, Ok(1));
    wait_for("the redriven message", || recorder.seen.lock().expect("lock").len() == 2).await;
    assert!(store.dead_letters(None).await.expect("list").is_empty());
    stop.cancel();
    task.await.expect("stops");
    store.close().await;
}

#[tokio::test]
async fn messages_left_in_a_queue_are_delivered_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = TraceContext::new_root();
    {
        let store = open(&dir);
        for i in 0..10 {
            store.commit(Change::new().emit(&order_event(i), &trace)).await.expect("commit");
        }
        assert_eq!(store.pending("created-watcher").await.expect("queue").len(), 10);
        store.close().await;
    }
    let store = open(&dir);
    let recorder = Arc::new(Recorder::default());
    let stop = CancellationToken::new();
    let rule = rules().iter().next().cloned().expect("rule");
    let task = start_consumer(store.clone(), Consumer::new(rule, recorder.clone()), fast_retries(), stop.clone());
    wait_for("10 resumed", || recorder.seen.lock().expect("lock").len() == 10).await;
    stop.cancel();
    task.await.expect("stops");
    store.close().await;
}

#[tokio::test]
async fn a_second_process_cannot_open_the_same_data_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let second = SqliteStore::open(
        SqliteOptions {
            path: dir.path().join("bus.db"),
            durability: Durability::Full,
            publishing: Publishing::Queues(rules()),
            readers: 1,
        },
        MIGRATIONS,
    );
    let Err(StoreError::Database(message)) = second else { panic!("a second open must fail") };
    assert!(message.contains("in use"), "{message}");
    store.close().await;
}
