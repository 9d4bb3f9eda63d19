//! The store's transaction rules, the same on both stores: a real SQLite file and a fresh
//! PostgreSQL database. Delivery behaviour is in transport.rs, shared by the transports.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use coffee_bus::consumer::handle_delivery;
use coffee_bus::postgres::PgStore;
use coffee_bus::sqlite::{Durability, SqliteOptions, SqliteStore};
use coffee_bus::{
    By, Change, Committed, Envelope, Expect, Handler, HandlerError, Kind, Lookup, Migration, Pattern, RecordKey,
    Records, Rule, Rules, Store, StoreError, Table, TraceContext,
};
use coffee_domain::{DomainEvent, Entity};
use coffee_testkit::TestDatabase;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Note {
    id: String,
    order_id: String,
    text: String,
}

/// A note's key columns: one customer, one day, and the status its kind gives.
fn note_key(n: &Note, status: &'static str) -> RecordKey {
    RecordKey {
        id: n.id.clone(),
        order_id: n.order_id.clone(),
        customer_id: "c".into(),
        day: "2026-11-25".into(),
        created_at: 0,
        status,
    }
}

const NOTES: Kind<Note> = Kind::new(Table::new("notes"), |n| note_key(n, "OPEN"));

/// A second kind of record per order, for the rule that two kinds exclude each other.
const FLAGS: Kind<Note> = Kind::new(Table::new("flags"), |n| note_key(n, "FLAG"));

const MIGRATIONS: &[Migration] = &[Migration {
    owner: "test",
    version: 1,
    name: "notes and flags",
    sql: concat!(
        coffee_bus::record_table!("notes", one_per_order),
        "CREATE INDEX notes_by_status ON notes (status, created_at);",
        coffee_bus::record_table!("flags"),
        coffee_bus::record_table!("orders", one_per_order),
    ),
}];

/// The domain's orders, stored as services store them.
const ORDERS: Kind<coffee_domain::Order> = Kind::entity(Table::new("orders"));

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

/// Runs `check` on a store of each kind, then closes them.
async fn on_each_store<F: std::future::Future<Output = ()>>(check: impl Fn(&'static str, Arc<dyn Store>) -> F) {
    let stores = Stores::open().await;
    for (kind, store) in stores.each() {
        check(kind, store).await;
    }
    stores.close().await;
}

fn order_event(order: u128) -> DomainEvent {
    DomainEvent::Order(coffee_testkit::an_order(order))
}

#[tokio::test]
async fn a_change_commits_records_and_events_together_and_versions_guard_updates() {
    on_each_store(commits_records_and_events_together).await;
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
    assert_eq!(notes.find(Lookup::Status("OPEN"), 10).await.expect("list"), std::slice::from_ref(&edited), "{kind}");

    // Statuses alone: the same selection, bodies unread, at most the limit.
    let third = Note { id: "n3".into(), order_id: "o3".into(), text: "third".into() };
    let change = Change::new().put(NOTES, &third, Expect::New).expect("put");
    assert_eq!(store.commit(change).await, Ok(Committed::Applied), "{kind}");
    assert_eq!(notes.statuses(Lookup::Customer("c"), 10).await.expect("statuses"), ["OPEN", "OPEN"], "{kind}");
    assert_eq!(notes.statuses(Lookup::Customer("c"), 1).await.expect("statuses"), ["OPEN"], "{kind}");
    assert!(notes.statuses(Lookup::Customer("nobody"), 10).await.expect("statuses").is_empty(), "{kind}");

    // A page at a time: the newest first, then the older, then nothing; each page oldest first.
    let page = |offset| notes.find_from(Lookup::Customer("c"), 1, offset);
    assert_eq!(page(0).await.expect("page"), std::slice::from_ref(&third), "{kind}: the newest page");
    assert_eq!(page(1).await.expect("page"), std::slice::from_ref(&edited), "{kind}: the next, older page");
    assert!(page(2).await.expect("page").is_empty(), "{kind}: past the end");
    assert_eq!(notes.find_from(Lookup::Customer("c"), 5, 0).await.expect("page"), [edited, third], "{kind}");
}

#[tokio::test]
async fn an_inbox_mark_makes_a_second_handling_a_no_op_until_it_is_pruned() {
    on_each_store(handles_once).await;
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

/// Counts its handlings and its committed hooks; a handling commits nothing but the inbox mark.
#[derive(Default)]
struct Hooked {
    handled: AtomicUsize,
    committed: AtomicUsize,
}

#[async_trait]
impl Handler for Hooked {
    async fn handle(&self, _event: &Envelope) -> Result<Change, HandlerError> {
        self.handled.fetch_add(1, Ordering::SeqCst);
        Ok(Change::new())
    }

    fn committed(&self, _event: &Envelope) {
        self.committed.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn the_committed_hook_runs_after_the_handling_commits_and_not_for_a_redelivery() {
    let stores = Stores::open().await;
    for (kind, store) in stores.each() {
        let hooked = Hooked::default();
        let event = Envelope::wrap(&order_event(5), &TraceContext::new_root());
        let first = handle_delivery(store.as_ref(), "hooked", &hooked, &event, None).await;
        assert_eq!(first, Ok(Committed::Applied), "{kind}");
        assert_eq!(hooked.committed.load(Ordering::SeqCst), 1, "{kind}: the hook after the commit");
        let again = handle_delivery(store.as_ref(), "hooked", &hooked, &event, None).await;
        assert_eq!(again, Ok(Committed::AlreadyHandled), "{kind}");
        assert_eq!(hooked.handled.load(Ordering::SeqCst), 2, "{kind}: the handler decides each time");
        assert_eq!(hooked.committed.load(Ordering::SeqCst), 1, "{kind}: no hook when nothing was committed");
    }
    stores.close().await;
}

#[tokio::test]
async fn a_postgres_commit_with_events_wakes_the_relay_here_and_announces_itself_on_the_schemas_channel() {
    let stores = Stores::open().await;
    let pg = stores.postgres.clone();
    assert_eq!(pg.notify_channel(), "coffee_outbox_store_rules", "one channel per service's schema");
    let mut listener = sqlx::postgres::PgListener::connect_with(pg.pool()).await.expect("a listener");
    listener.listen(&pg.notify_channel()).await.expect("listening");
    let quiet = Duration::from_millis(300);

    // No events: nothing for the relay.
    let note = Note { id: "n1".into(), order_id: "o1".into(), text: "no event".into() };
    let records_only = Change::new().put(NOTES, &note, Expect::New).expect("put");
    assert_eq!(pg.commit(records_only).await, Ok(Committed::Applied));
    assert!(tokio::time::timeout(quiet, pg.outbox_notify().notified()).await.is_err(), "woken without an event");
    assert!(tokio::time::timeout(quiet, listener.recv()).await.is_err(), "announced without an event");

    // An event: this process's relay is woken, and every replica's hears of it.
    let with_event = Change::new().emit(&order_event(6), &TraceContext::new_root());
    assert_eq!(pg.commit(with_event).await, Ok(Committed::Applied));
    tokio::time::timeout(Duration::from_secs(5), pg.outbox_notify().notified()).await.expect("the relay woken");
    let announced = tokio::time::timeout(Duration::from_secs(5), listener.recv()).await.expect("announced");
    assert_eq!(announced.expect("a notification").channel(), pg.notify_channel());
    assert_eq!(pg.outbox_len().await, Ok(1), "the event waits in the outbox");
    // The listener holds one of the pool's connections, which closing the pool waits for.
    drop(listener);
    stores.close().await;
}

#[tokio::test]
async fn an_entitys_steps_store_the_last_and_announce_each_under_its_own_source() {
    let stores = Stores::open().await;
    for (kind, store) in stores.each() {
        let orders = Records::new(store.clone(), ORDERS);
        let trace = TraceContext::new_root();
        let placed = coffee_testkit::an_order(20);
        let cancelled =
            placed.cancel_by_customer(None, coffee_domain::Millis(5)).expect("a placed order can be cancelled");
        assert_eq!(
            Change::new().steps(ORDERS, Expect::New, &[], &trace).map(|c| (c.puts.len(), c.events.len())),
            Ok((0, 0)),
            "{kind}: no steps, no change"
        );
        let change =
            Change::new().steps(ORDERS, Expect::New, &[placed.clone(), cancelled.clone()], &trace).expect("steps");
        assert_eq!(store.commit(change).await, Ok(Committed::Applied), "{kind}");
        let stored = orders.get(&placed.id_text()).await.expect("read").expect("stored");
        assert_eq!((stored.version, &stored.value), (1, &cancelled), "{kind}: the last step is stored");
        // The same order's event from another service is not one of the order's own.
        let mut foreign = Envelope::wrap(&placed.event(), &trace);
        foreign.source = "elsewhere".to_owned();
        store.commit(Change::new().publish(foreign)).await.expect("commit");
        let types = |events: Vec<Envelope>| events.into_iter().map(|e| e.event_type).collect::<Vec<_>>();
        let own = orders.events(placed.id).await.expect("the order's events");
        assert_eq!(
            types(own),
            types(vec![Envelope::wrap(&placed.event(), &trace), Envelope::wrap(&cancelled.event(), &trace)]),
            "{kind}: each step announced, oldest first, the foreign one left out"
        );

        let after = cancelled.clone();
        let one = Change::new().step(ORDERS, Expect::Version(1), &after, &trace).expect("a step");
        assert_eq!((one.puts.len(), one.events.len()), (1, 1), "{kind}: one step, one record and one event");
        assert_eq!(store.commit(one).await, Ok(Committed::Applied), "{kind}");
        assert_eq!(orders.get(&placed.id_text()).await.expect("read").map(|v| v.version), Some(2), "{kind}");
        assert_eq!(orders.events(placed.id).await.expect("events").len(), 3, "{kind}");
    }
    stores.close().await;
}

#[tokio::test]
async fn a_statement_on_a_table_that_is_not_there_fails_as_a_database_error_not_a_conflict() {
    const MISSING: Kind<Note> = Kind::new(Table::new("missing"), |n| note_key(n, "OPEN"));
    let stores = Stores::open().await;
    for (kind, store) in stores.each() {
        let read = store.get(MISSING.table, By::Id("n1")).await;
        assert!(matches!(read, Err(StoreError::Database(_))), "{kind}: {read:?}");
        let note = Note { id: "n1".into(), order_id: "o1".into(), text: "nowhere".into() };
        for expect in [Expect::New, Expect::Version(1)] {
            let written = store.commit(Change::new().put(MISSING, &note, expect).expect("put")).await;
            assert!(matches!(written, Err(StoreError::Database(_))), "{kind}, {expect:?}: {written:?}");
        }
    }
    stores.close().await;
}

#[tokio::test]
async fn a_closed_store_refuses_commits() {
    let stores = Stores::open().await;
    let (sqlite, postgres) = (stores.sqlite.clone(), stores.postgres.clone());
    assert_eq!(postgres.ping().await, Ok(()));
    stores.close().await;
    assert_eq!(sqlite.commit(Change::new()).await, Err(StoreError::Closed));
    assert_eq!(postgres.commit(Change::new()).await, Err(StoreError::Closed));
    assert_eq!(postgres.ping().await, Err(StoreError::Closed));
}

#[tokio::test]
async fn the_sqlite_writer_counts_its_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    for n in 0..3 {
        let note = Note { id: format!("n{n}"), order_id: format!("o{n}"), text: "counted".into() };
        store.commit(Change::new().put(NOTES, &note, Expect::New).expect("put")).await.expect("commit");
    }
    let stats = store.writer_stats();
    assert_eq!(stats["units"], 3, "{stats}");
    let batches = stats["batches"].as_u64().expect("batches");
    assert!((1..=3).contains(&batches), "{stats}");
    assert_eq!(stats["synchronous"], "FULL");
    store.close().await;
}

#[tokio::test]
async fn the_sqlite_writer_folds_its_write_ahead_log_back_into_the_data_file_as_it_goes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let data_file = dir.path().join("bus.db");
    let size = || std::fs::metadata(&data_file).expect("the data file").len();
    let at_start = size();
    // About 1,500 pages of 4 KiB through the log: past the writer's 1,000-frame mark, well short of
    // its 16,000 one.
    let text = "x".repeat(40_000);
    for n in 0..150 {
        let note = Note { id: format!("n{n}"), order_id: format!("o{n}"), text: text.clone() };
        store.commit(Change::new().put(NOTES, &note, Expect::New).expect("put")).await.expect("commit");
    }
    // Until a checkpoint, new pages are only in the log; checkpointed, they are in the file.
    assert!(size() > at_start + 2_000_000, "the data file grew from {at_start} to {} bytes while open", size());
    store.close().await;
}

#[tokio::test]
async fn a_timer_is_committed_with_its_change_fires_once_when_due_and_can_be_dropped() {
    on_each_store(timers_fire_once).await;
}

async fn timers_fire_once(kind: &str, store: Arc<dyn Store>) {
    use coffee_bus::timers::fire_due;
    let trace = TraceContext::new_root();
    let now = jiff::Timestamp::now().as_millisecond();
    let event = |order| Envelope::wrap(&order_event(order), &trace);
    let subject = |order: u128| uuid::Uuid::from_u128(order).to_string();
    let note = Note { id: "t1".into(), order_id: "ot1".into(), text: "with timers".into() };
    let change = Change::new()
        .put(NOTES, &note, Expect::New)
        .expect("put")
        .schedule("due", now - 1, event(21))
        .schedule("later", now + 60_000, event(22))
        .schedule("dropped", now - 1, event(23));
    assert_eq!(store.commit(change).await, Ok(Committed::Applied), "{kind}");
    // A change that conflicts schedules nothing.
    let stale = Change::new().put(NOTES, &note, Expect::Version(7)).expect("put").schedule("lost", now - 1, event(24));
    assert_eq!(store.commit(stale).await, Err(StoreError::Conflict), "{kind}");
    assert_eq!(store.commit(Change::new().drop_timer("dropped")).await, Ok(Committed::Applied), "{kind}");
    let ids = |timers: Vec<coffee_bus::Timer>| timers.into_iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(ids(store.due_timers(now, 10).await.expect("due")), ["due"], "{kind}");
    assert_eq!(ids(store.due_timers(i64::MAX, 10).await.expect("all")), ["due", "later"], "{kind}");
    assert!(store.events_about(&subject(21)).await.expect("journal").is_empty(), "{kind}: not published before due");

    // Two processes looking at once: the due timer is fired by one of them, and its event,
    // scheduled with its id, is published once.
    let scheduled_id = store.due_timers(now, 1).await.expect("due")[0].event.envelope.id.clone();
    let (a, b) = tokio::join!(fire_due(store.as_ref(), now), fire_due(store.as_ref(), now));
    assert_eq!(a.expect("fires") + b.expect("fires"), 1, "{kind}: fired once");
    let journal = store.events_about(&subject(21)).await.expect("journal");
    assert_eq!(journal.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), [scheduled_id.as_str()], "{kind}");
    assert_eq!(fire_due(store.as_ref(), now).await, Ok(0), "{kind}: nothing left due");
    assert_eq!(ids(store.due_timers(i64::MAX, 10).await.expect("all")), ["later"], "{kind}");
    for order in [23, 24] {
        assert!(store.events_about(&subject(order)).await.expect("journal").is_empty(), "{kind}: {order} published");
    }

    // Scheduling under a key again moves the timer.
    let moved = Change::new().schedule("later", now - 1, event(22));
    assert_eq!(store.commit(moved).await, Ok(Committed::Applied), "{kind}");
    assert_eq!(fire_due(store.as_ref(), now).await, Ok(1), "{kind}: the moved timer is due");
    assert_eq!(store.events_about(&subject(22)).await.expect("journal").len(), 1, "{kind}");
}

/// An event no rule routes anywhere, about `order`, at `time` (the journal's text form).
fn unrouted(order: u128, time: Option<&str>) -> Envelope {
    let mut envelope = Envelope::of(
        "order-service",
        "coffee.test.noted",
        &uuid::Uuid::from_u128(order).to_string(),
        json!({}),
        &TraceContext::new_root(),
    );
    if let Some(time) = time {
        envelope.time = time.to_owned();
    }
    envelope
}

#[tokio::test]
async fn the_journal_forgets_a_closed_orders_events_once_all_are_old_and_keeps_what_is_still_needed() {
    use coffee_bus::retention::{OpenRecords, Retention};
    let stores = Stores::open().await;
    let about = |n: u128| uuid::Uuid::from_u128(n).to_string();
    for (kind, store) in stores.each() {
        // 200 and 204: closed, all old (204 has more events than one pruning window). 201: its
        // note is open. 202: one of its events is newer than the cutoff. 203: still to be
        // delivered (queued for a consumer on SQLite, in the outbox on PostgreSQL).
        let mut change = Change::new().publish(unrouted(200, None)).publish(unrouted(200, None));
        for _ in 0..600 {
            change = change.publish(unrouted(204, None));
        }
        let note = Note { id: "n201".into(), order_id: about(201), text: "open".into() };
        change = change.put(NOTES, &note, Expect::New).expect("put").publish(unrouted(201, None));
        change = change.publish(unrouted(202, None)).publish(unrouted(202, Some("2999-01-01T00:00:00.000000Z")));
        change = change.emit(&order_event(203), &TraceContext::new_root());
        assert_eq!(store.commit(change).await, Ok(Committed::Applied), "{kind}");
        if kind == "postgres" {
            // What the relay does, for every event but 203's.
            let relayed: Vec<i64> = stores
                .postgres
                .outbox_batch(10_000)
                .await
                .expect("outbox")
                .into_iter()
                .filter(|(_, body)| !body.contains(&about(203)))
                .map(|(seq, _)| seq)
                .collect();
            stores.postgres.outbox_done(&relayed).await.expect("relayed");
        }
        let cutoff_ms = jiff::Timestamp::now().as_millisecond() + 60_000;
        let open = vec![OpenRecords { table: NOTES.table, statuses: vec!["OPEN"] }];
        let retention = Retention { cutoff_ms, open };
        assert_eq!(store.prune_journal(&retention).await, Ok(602), "{kind}: the closed orders' events");
        let count = async |n: u128| store.events_about(&about(n)).await.expect("journal").len();
        assert_eq!(
            [count(200).await, count(201).await, count(202).await, count(203).await, count(204).await],
            [0, 1, 2, 1, 0],
            "{kind}: what is kept"
        );
        assert_eq!(store.prune_journal(&retention).await, Ok(0), "{kind}: nothing more to prune");
        // Without the open note's protection, its order's event goes too.
        let unprotected = Retention { open: Vec::new(), ..retention };
        assert_eq!(store.prune_journal(&unprotected).await, Ok(1), "{kind}: the open order's event");
        assert_eq!(count(201).await, 0, "{kind}");
    }
    stores.close().await;
}

#[tokio::test]
async fn records_kept_for_a_while_are_forgotten_once_created_before_the_cutoff() {
    on_each_store(forgets_expired).await;
}

async fn forgets_expired(kind: &'static str, store: Arc<dyn Store>) {
    // Notes are created at 0 (note_key), so a cutoff of 0 keeps them and one after forgets them.
    for n in 0..3 {
        let note = Note { id: format!("x{n}"), order_id: format!("xo{n}"), text: "old".into() };
        store.commit(Change::new().put(NOTES, &note, Expect::New).expect("put")).await.expect("commit");
    }
    assert_eq!(store.prune_expired(NOTES.table, 0).await, Ok(0), "{kind}: none before the cutoff");
    assert_eq!(store.prune_expired(NOTES.table, 1).await, Ok(3), "{kind}");
    assert!(Records::new(store.clone(), NOTES).get("x0").await.expect("read").is_none(), "{kind}");
}

/// Group commit: commits that wait for the writer together go in one transaction (one fsync),
/// not one each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_writer_commits_what_waits_together_in_one_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let commits = (0..64).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            let note = Note { id: format!("g{n}"), order_id: format!("go{n}"), text: "together".into() };
            store.commit(Change::new().put(NOTES, &note, Expect::New).expect("put")).await.expect("commit");
        })
    });
    for c in commits.collect::<Vec<_>>() {
        c.await.expect("joined");
    }
    let stats = store.writer_stats();
    assert_eq!(stats["units"], 64, "{stats}");
    let batches = stats["batches"].as_u64().expect("batches");
    assert!(batches < 64, "64 commits at once shared transactions: {stats}");
    store.close().await;
}

/// The writer folds its log back into the data file only once it has grown (past 1,000
/// frames): a few small commits stay in the log, and the data file is not rewritten for them.
#[tokio::test]
async fn the_sqlite_writer_leaves_a_small_write_ahead_log_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let data_file = dir.path().join("bus.db");
    let size = || std::fs::metadata(&data_file).expect("the data file").len();
    let at_start = size();
    for n in 0..20 {
        let note = Note { id: format!("s{n}"), order_id: format!("so{n}"), text: "small".into() };
        store.commit(Change::new().put(NOTES, &note, Expect::New).expect("put")).await.expect("commit");
    }
    assert_eq!(size(), at_start, "twenty small commits are in the log, not yet in the data file");
    store.close().await;
}
