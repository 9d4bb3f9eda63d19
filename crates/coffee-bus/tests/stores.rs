//! The store's transaction rules, the same on both stores: a real SQLite file and a fresh
//! PostgreSQL database. Delivery behaviour is in transport.rs, shared by the transports.

use std::sync::Arc;

use coffee_bus::postgres::PgStore;
use coffee_bus::sqlite::{Durability, SqliteOptions, SqliteStore};
use coffee_bus::{
    By, Change, Committed, Expect, Kind, Lookup, Migration, Pattern, RecordKey, Records, Rule, Rules, Store,
    StoreError, Table, TraceContext,
};
use coffee_domain::DomainEvent;
use coffee_testkit::TestDatabase;
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

/// A second kind of record per order, for the rule that two kinds exclude each other.
const FLAGS: Kind<Note> = Kind::new(Table::new("flags"), |n| RecordKey {
    id: n.id.clone(),
    order_id: n.order_id.clone(),
    customer_id: "c".into(),
    day: "2026-11-25".into(),
    created_at: 0,
    status: "FLAG",
});

const MIGRATIONS: &[Migration] = &[Migration {
    owner: "test",
    version: 1,
    name: "notes and flags",
    sql: concat!(
        coffee_bus::record_table!("notes", one_per_order),
        "CREATE INDEX notes_by_status ON notes (status, created_at);",
        coffee_bus::record_table!("flags"),
    ),
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

/// A store of each kind, with what keeps it alive.
struct Stores {
    sqlite: Arc<SqliteStore>,
    postgres: Arc<PgStore>,
    _dir: tempfile::TempDir,
    _db: TestDatabase,
}

impl Stores {
    async fn open() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = TestDatabase::create();
        let postgres = PgStore::connect(&db.url(), "store_rules", MIGRATIONS, 8).await.expect("PostgreSQL store");
        Self { sqlite: open(&dir), postgres, _dir: dir, _db: db }
    }

    fn each(&self) -> [(&'static str, Arc<dyn Store>); 2] {
        [("sqlite", self.sqlite.clone()), ("postgres", self.postgres.clone())]
    }

    async fn close(self) {
        self.sqlite.close().await;
        self.postgres.close().await;
    }
}

fn order_event(order: u128) -> DomainEvent {
    DomainEvent::Order(coffee_testkit::an_order(order))
}

#[tokio::test]
async fn a_change_commits_records_and_events_together_and_versions_guard_updates() {
    let stores = Stores::open().await;
    for (kind, store) in stores.each() {
        commits_records_and_events_together(kind, store).await;
    }
    stores.close().await;
}

async fn commits_records_and_events_together(kind: &str, store: Arc<dyn Store>) {
    let notes = Records::new(store.clone(), NOTES);
    let note = Note { id: "n1".into(), order_id: "o1".into(), text: "first".into() };
    let trace = TraceContext::new_root();
    let change = Change::new().put(NOTES, &note, Expect::New).expect("put").emit(&order_event(1), &trace);
    assert_eq!(store.commit(change).await, Ok(Committed::Applied), "{kind}");
    let stored = notes.get("n1").await.expect("read").expect("exists");
    assert_eq!(stored.version, 1);
    assert_eq!(stored.value, note);

    // A second record for the same order conflicts (one payment, one fulfilment per order).
    let twin = Note { id: "n2".into(), ..note.clone() };
    let twin_change = Change::new().put(NOTES, &twin, Expect::New).expect("put").emit(&order_event(1), &trace);
    assert_eq!(store.commit(twin_change).await, Err(StoreError::Conflict), "{kind}: one record per order");

    // An update at a stale version conflicts and publishes nothing.
    let edited = Note { text: "second".into(), ..note.clone() };
    let ok = Change::new().put(NOTES, &edited, Expect::Version(1)).expect("put");
    assert_eq!(store.commit(ok).await, Ok(Committed::Applied), "{kind}");
    let stale = Change::new().put(NOTES, &edited, Expect::Version(1)).expect("put").emit(&order_event(1), &trace);
    assert_eq!(store.commit(stale).await, Err(StoreError::Conflict), "{kind}: a stale version");

    let subject = uuid::Uuid::from_u128(1).to_string();
    let journal = store.events_about(&subject).await.expect("journal");
    assert_eq!(journal.len(), 1, "{kind}: only the committed change's event was published");
    assert_eq!(journal[0].domain_event().expect("an event"), order_event(1), "{kind}");
    let by_order = notes.by_order("o1").await.expect("read").expect("exists");
    assert_eq!((by_order.version, by_order.value.text.as_str()), (2, "second"), "{kind}");
    assert_eq!(notes.find(Lookup::Status("OPEN"), 10).await.expect("list"), [edited], "{kind}");

    // Statuses alone: the same selection, bodies unread, at most the limit.
    let third = Note { id: "n3".into(), order_id: "o3".into(), text: "third".into() };
    let change = Change::new().put(NOTES, &third, Expect::New).expect("put");
    assert_eq!(store.commit(change).await, Ok(Committed::Applied), "{kind}");
    assert_eq!(notes.statuses(Lookup::Customer("c"), 10).await.expect("statuses"), ["OPEN", "OPEN"], "{kind}");
    assert_eq!(notes.statuses(Lookup::Customer("c"), 1).await.expect("statuses"), ["OPEN"], "{kind}");
    assert!(notes.statuses(Lookup::Customer("nobody"), 10).await.expect("statuses").is_empty(), "{kind}");
}

#[tokio::test]
async fn an_inbox_mark_makes_a_second_handling_a_no_op_until_it_is_pruned() {
    let stores = Stores::open().await;
    for (kind, store) in stores.each() {
        handles_once(kind, store).await;
    }
    stores.close().await;
}

async fn handles_once(kind: &str, store: Arc<dyn Store>) {
    let note = Note { id: "n1".into(), order_id: "o1".into(), text: "x".into() };
    let handled = |change: Change| Change {
        handled: Some(coffee_bus::store::Handled { consumer: "c".into(), event_id: "e1".into(), delivery_seq: None }),
        ..change
    };
    let first = handled(Change::new().put(NOTES, &note, Expect::New).expect("put"));
    assert_eq!(store.commit(first).await, Ok(Committed::Applied), "{kind}");
    let again = handled(
        Change::new()
            .put(NOTES, &Note { id: "n9".into(), order_id: "o9".into(), ..note }, Expect::New)
            .expect("put")
            .emit(&order_event(9), &TraceContext::new_root()),
    );
    assert_eq!(store.commit(again).await, Ok(Committed::AlreadyHandled), "{kind}");
    assert!(Records::new(store.clone(), NOTES).get("n9").await.expect("read").is_none(), "{kind}: applied twice");
    let journal = store.events_about(&uuid::Uuid::from_u128(9).to_string()).await.expect("journal");
    assert!(journal.is_empty(), "{kind}: an already handled change publishes nothing");

    // Pruning keeps marks handled since the cutoff and forgets older ones.
    let handled_at = jiff::Timestamp::now().as_millisecond();
    store.prune_inbox(handled_at - 60_000).await.expect("prune");
    let kept = handled(
        Change::new()
            .put(NOTES, &Note { id: "n8".into(), order_id: "o8".into(), text: "k".into() }, Expect::New)
            .expect("put"),
    );
    assert_eq!(store.commit(kept).await, Ok(Committed::AlreadyHandled), "{kind}: a recent mark is kept");
    store.prune_inbox(handled_at + 60_000).await.expect("prune");
    let forgotten = handled(
        Change::new()
            .put(NOTES, &Note { id: "n7".into(), order_id: "o7".into(), text: "f".into() }, Expect::New)
            .expect("put"),
    );
    assert_eq!(store.commit(forgotten).await, Ok(Committed::Applied), "{kind}: an old mark is forgotten");
}

#[tokio::test]
async fn two_kinds_of_record_that_exclude_each_other_never_both_commit() {
    let stores = Stores::open().await;
    for (kind, store) in stores.each() {
        // In turn: the second sees the first.
        let (note, flag) = (Note { id: "n1".into(), order_id: "o1".into(), text: "note".into() }, a_flag("o1"));
        assert_eq!(store.commit(note_unless_flagged(&note)).await, Ok(Committed::Applied), "{kind}");
        assert_eq!(store.commit(flag_unless_noted(&flag)).await, Err(StoreError::Conflict), "{kind}");
        // At once, many times: never both.
        let mut races = Vec::new();
        for n in 0..40 {
            let order = format!("race-{n}");
            let note = Note { id: format!("n-{n}"), order_id: order.clone(), text: "note".into() };
            let flag = a_flag(&order);
            let (a, b) = (store.clone(), store.clone());
            races.push(tokio::spawn(async move {
                let (noted, flagged) =
                    tokio::join!(a.commit(note_unless_flagged(&note)), b.commit(flag_unless_noted(&flag)));
                (noted.is_ok(), flagged.is_ok())
            }));
        }
        for race in races {
            let (noted, flagged) = race.await.expect("race");
            assert!(!(noted && flagged), "{kind}: both kinds committed for one order");
            assert!(noted || flagged, "{kind}: one of the two commits");
        }
    }
    stores.close().await;
}

fn a_flag(order: &str) -> Note {
    Note { id: format!("flag-{order}"), order_id: order.to_owned(), text: "flag".into() }
}

fn note_unless_flagged(note: &Note) -> Change {
    Change::new().put(NOTES, note, Expect::New).expect("put").requires_absent(FLAGS.table, By::Order(&note.order_id))
}

fn flag_unless_noted(flag: &Note) -> Change {
    Change::new().put(FLAGS, flag, Expect::New).expect("put").requires_absent(NOTES.table, By::Order(&flag.order_id))
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

#[tokio::test]
async fn a_sequence_gives_each_number_once_under_concurrency_across_replicas_and_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDatabase::create();
    let postgres = PgStore::connect(&db.url(), "sequences", MIGRATIONS, 8).await.expect("PostgreSQL store");
    // A second replica on the same database: each number is still taken once.
    let replica = PgStore::connect(&db.url(), "sequences", MIGRATIONS, 8).await.expect("a second replica");
    let sqlite = open(&dir);
    let stores: [(&str, Vec<Arc<dyn Store>>); 2] =
        [("sqlite", vec![sqlite.clone()]), ("postgres", vec![postgres.clone(), replica.clone()])];
    for (kind, takers) in &stores {
        let taken = futures::future::join_all((0..200).map(|i| {
            let store = takers[i % takers.len()].clone();
            async move { store.next_number("orders:2026-12-02").await.expect("a number") }
        }))
        .await;
        let mut sorted = taken.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..=200).collect::<Vec<i64>>(), "{kind}: 1 to 200, each once");
        let other = takers[0].next_number("orders:2026-12-03").await.expect("a number");
        assert_eq!(other, 1, "{kind}: another sequence starts at 1");
    }
    // Kept: a restart goes on where the last number was taken.
    sqlite.close().await;
    drop((stores, sqlite));
    let reopened = open(&dir);
    assert_eq!(reopened.next_number("orders:2026-12-02").await, Ok(201), "sqlite after a restart");
    reopened.close().await;
    postgres.close().await;
    let again = PgStore::connect(&db.url(), "sequences", MIGRATIONS, 2).await.expect("PostgreSQL again");
    assert_eq!(again.next_number("orders:2026-12-02").await, Ok(201), "postgres after a restart");
    again.close().await;
    replica.close().await;
}
