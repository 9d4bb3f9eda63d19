//! The SQLite store's transaction rules against a real file. Delivery behaviour is in
//! transport.rs, shared with the NATS transport.

use std::sync::Arc;

use coffee_bus::sqlite::{Durability, SqliteOptions, SqliteStore};
use coffee_bus::{
    Change, Committed, Expect, Kind, Lookup, Migration, Pattern, RecordKey, Records, Rule, Rules, Store, StoreError,
    Table, TraceContext,
};
use coffee_domain::DomainEvent;
use serde::{Deserialize, Serialize};
use serde_json::json;

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
        SqliteOptions { path: dir.path().join("bus.db"), durability: Durability::Full, rules: rules(), readers: 2 },
        MIGRATIONS,
    )
    .expect("store opens")
}

fn order_event(order: u128) -> DomainEvent {
    DomainEvent::Order(coffee_testkit::an_order(order))
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
async fn a_second_process_cannot_open_the_same_data_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let second = SqliteStore::open(
        SqliteOptions { path: dir.path().join("bus.db"), durability: Durability::Full, rules: rules(), readers: 1 },
        MIGRATIONS,
    );
    let Err(StoreError::Database(message)) = second else { panic!("a second open must fail") };
    assert!(message.contains("in use"), "{message}");
    store.close().await;
}
