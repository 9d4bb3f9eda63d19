//! The transactional store every service writes through.
//!
//! A service never writes a record on its own: it builds a [`Change`] (records to put,
//! events to publish, and, when reacting to an event, the inbox mark saying so) and
//! commits it in one transaction. That single rule gives the bus its promises: nothing is
//! published that was not committed, nothing committed goes unpublished (outbox), and a
//! handler's effects are applied once however often its event is delivered (inbox).
//!
//! Records are documents in per-service tables of one uniform shape (key columns for the
//! lookups the API needs, a version for optimistic concurrency, the JSON body), much like
//! the DynamoDB tables of the original. Writes say which version they expect; a record
//! that changed meanwhile makes the commit fail with [`StoreError::Conflict`] and the
//! caller re-reads and decides again.

use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use coffee_domain::Entity;

use crate::envelope::Envelope;
use crate::trace::TraceContext;

/// A record table's name. Only compile-time names exist, so they can be put into SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Table(&'static str);

impl Table {
    /// Panics at start-up on a name that is not a plain identifier: a programming error.
    pub const fn new(name: &'static str) -> Self {
        let bytes = name.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            assert!(bytes[i].is_ascii_lowercase() || bytes[i] == b'_', "table names are lowercase identifiers");
            i += 1;
        }
        Self(name)
    }

    pub fn name(self) -> &'static str {
        self.0
    }
}

/// The columns a record is found by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordKey {
    pub id: String,
    pub order_id: String,
    pub customer_id: String,
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub created_at: i64,
    pub status: &'static str,
}

impl RecordKey {
    /// The key columns of one of the saga's entities.
    pub fn of<T: Entity>(entity: &T) -> Self {
        Self {
            id: entity.id_text(),
            order_id: entity.order_id().to_string(),
            customer_id: entity.customer_id().to_string(),
            day: entity.created_at().day().to_string(),
            created_at: entity.created_at().0,
            status: entity.status_text(),
        }
    }
}

/// A kind of document a service stores: its table, and how to find its key columns.
/// (A value rather than a trait, so a service can store the domain's types as they are.)
pub struct Kind<T> {
    pub table: Table,
    pub key: fn(&T) -> RecordKey,
}

impl<T> Kind<T> {
    pub const fn new(table: Table, key: fn(&T) -> RecordKey) -> Self {
        Self { table, key }
    }
}

impl<T: Entity> Kind<T> {
    /// The table of one of the saga's entities, keyed by [`RecordKey::of`].
    pub const fn entity(table: Table) -> Self {
        Self { table, key: RecordKey::of::<T> }
    }
}

impl<T> Clone for Kind<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Kind<T> {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    pub version: i64,
    pub value: T,
}

/// A stored row before it is read into a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub version: i64,
    pub body: String,
}

/// What a write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The record is new: an existing id, or a second record for the same order, conflicts.
    New,
    /// The record is at this version.
    Version(i64),
}

#[derive(Debug, Clone)]
pub struct Put {
    pub table: Table,
    pub key: RecordKey,
    pub body: String,
    pub expect: Expect,
}

/// The inbox mark: this consumer has handled this event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    pub consumer: String,
    pub event_id: String,
    /// The embedded queue's delivery this handling acknowledges.
    pub delivery_seq: Option<i64>,
}

/// An event ready to publish: the envelope, and its JSON made by the caller, so that the
/// store's single writer spends its time writing rather than serializing.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub envelope: Arc<Envelope>,
    pub json: String,
    /// What caused it (a request's trace, or the handling it reacts in): the parent, or the
    /// link, of the span its commit is exported as.
    pub cause: Option<TraceContext>,
}

impl Outgoing {
    pub fn new(envelope: Envelope) -> Self {
        let json = String::from_utf8(envelope.to_bytes()).unwrap_or_default();
        Self { envelope: Arc::new(envelope), json, cause: None }
    }
}

/// The spans of a commit's events, taken before the commit (the change moves into it) and
/// exported once it is durable: each event's span is its publication, timed from the commit's
/// start.
pub(crate) struct CommitSpans(Vec<(String, TraceContext, Option<TraceContext>)>, std::time::SystemTime);

impl CommitSpans {
    pub(crate) fn of(change: &Change) -> Self {
        if !crate::trace::spans::enabled() {
            return Self(Vec::new(), std::time::SystemTime::UNIX_EPOCH);
        }
        let events = change.events.iter().map(|o| (o.envelope.event_type.clone(), o.envelope.trace(), o.cause));
        Self(events.collect(), std::time::SystemTime::now())
    }

    pub(crate) fn committed(self, store: &str) {
        use opentelemetry::KeyValue;
        for (event_type, this, cause) in self.0 {
            let attributes = vec![
                KeyValue::new("messaging.operation.type", "publish"),
                KeyValue::new("messaging.destination.name", event_type.clone()),
                KeyValue::new("db.namespace", store.to_owned()),
            ];
            let span = crate::trace::spans::start(
                format!("commit {event_type}"),
                crate::trace::spans::Kind::Producer,
                &this,
                cause.as_ref(),
                Some(self.1),
                attributes,
            );
            crate::trace::spans::end(span, None);
        }
    }
}

/// A record that must not exist when a change commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absent {
    pub table: Table,
    /// `id` or `order_id`.
    pub column: &'static str,
    pub key: String,
}

/// An event to publish when it falls due (see [`crate::timers`]).
#[derive(Debug, Clone)]
pub struct Timer {
    /// The timer's own key: scheduling it again moves it, and it is dropped by this key.
    pub id: String,
    /// Milliseconds since the epoch.
    pub due_at: i64,
    pub event: Outgoing,
}

impl Timer {
    /// A timer as stored: its envelope's JSON is read back, and kept to publish as it is.
    pub(crate) fn read(id: String, due_at: i64, json: String) -> Result<Self, StoreError> {
        let envelope =
            Envelope::from_bytes(json.as_bytes()).map_err(|e| StoreError::Corrupt(format!("timer {id}: {e}")))?;
        Ok(Self { id, due_at, event: Outgoing { envelope: Arc::new(envelope), json, cause: None } })
    }
}

/// One unit of work: committed whole or not at all.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub puts: Vec<Put>,
    pub events: Vec<Outgoing>,
    pub handled: Option<Handled>,
    pub absent: Vec<Absent>,
    /// What it does to timers; boxed, as most changes do nothing to them.
    pub timers: Option<Box<TimerChanges>>,
}

/// What a change does to timers.
#[derive(Debug, Clone, Default)]
pub struct TimerChanges {
    /// Timers to schedule (or move).
    pub schedule: Vec<Timer>,
    /// Timers no longer needed, dropped if they are still there.
    pub drop: Vec<String>,
    /// The timer this change fires: it must still be scheduled, else the change conflicts (another
    /// replica fired it first).
    pub fires: Option<String>,
}

impl Change {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `record`, expecting `expect`.
    pub fn put<T: Serialize>(mut self, kind: Kind<T>, record: &T, expect: Expect) -> Result<Self, StoreError> {
        let body = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.puts.push(Put { table: kind.table, key: (kind.key)(record), body, expect });
        Ok(self)
    }

    /// Publishes an event with the change.
    pub fn emit(mut self, event: &coffee_domain::DomainEvent, trace: &TraceContext) -> Self {
        self.events.push(Outgoing { cause: Some(*trace), ..Outgoing::new(Envelope::wrap(event, trace)) });
        self
    }

    /// Commits only if no record of `table` is found `by` at commit time, else
    /// [`StoreError::Conflict`] (and the caller decides again). It guards a decision taken on a
    /// record's absence against a concurrent change that creates it, when that change writes
    /// another table (two records of different kinds for one order). Both sides of such a pair
    /// must name the same key, which the stores serialise on.
    pub fn requires_absent(mut self, table: Table, by: By<'_>) -> Self {
        let (column, key) = match by {
            By::Id(id) => ("id", id),
            By::Order(order_id) => ("order_id", order_id),
        };
        self.absent.push(Absent { table, column, key: key.to_owned() });
        self
    }

    /// Publishes an envelope as it is.
    pub fn publish(mut self, envelope: Envelope) -> Self {
        self.events.push(Outgoing::new(envelope));
        self
    }

    /// Publishes `envelope` at `due_at` (milliseconds since the epoch) rather than now, under the
    /// timer key `id`; a timer already scheduled under it is moved.
    pub fn schedule(mut self, id: impl Into<String>, due_at: i64, envelope: Envelope) -> Self {
        self.timers_mut().schedule.push(Timer { id: id.into(), due_at, event: Outgoing::new(envelope) });
        self
    }

    /// Drops the timer `id` if it is still scheduled: what it would announce no longer applies.
    pub fn drop_timer(mut self, id: impl Into<String>) -> Self {
        self.timers_mut().drop.push(id.into());
        self
    }

    /// Publishes a timer's event and drops the timer, once: a second firing conflicts.
    pub fn fire(mut self, timer: Timer) -> Self {
        self.timers_mut().fires = Some(timer.id);
        self.events.push(timer.event);
        self
    }

    fn timers_mut(&mut self) -> &mut TimerChanges {
        self.timers.get_or_insert_with(Box::default)
    }

    /// Records an entity's steps: stores the last (expecting `expect`) and announces each, oldest
    /// first. No steps, no change.
    pub fn steps<T: Entity + Serialize>(
        self,
        kind: Kind<T>,
        expect: Expect,
        steps: &[T],
        trace: &TraceContext,
    ) -> Result<Self, StoreError> {
        let Some(last) = steps.last() else { return Ok(self) };
        let change = self.put(kind, last, expect)?;
        Ok(steps.iter().fold(change, |change, step| change.emit(&step.event(), trace)))
    }

    /// Records one step of an entity and announces it.
    pub fn step<T: Entity + Serialize>(
        self,
        kind: Kind<T>,
        expect: Expect,
        step: &T,
        trace: &TraceContext,
    ) -> Result<Self, StoreError> {
        self.steps(kind, expect, std::slice::from_ref(step), trace)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    Applied,
    /// The inbox already held this event: nothing was applied again.
    AlreadyHandled,
}

/// How one record is found.
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Id(&'a str),
    /// The record of an order, in a table that holds one per order.
    Order(&'a str),
}

impl<'a> By<'a> {
    /// The query and its key (`$1`), in SQL that SQLite and PostgreSQL both take.
    pub fn sql(self, table: Table) -> (String, &'a str) {
        let (column, key) = match self {
            By::Id(id) => ("id", id),
            By::Order(order_id) => ("order_id", order_id),
        };
        (format!("SELECT version, body FROM {} WHERE {column} = $1", table.name()), key)
    }
}

/// How a list of records is selected.
#[derive(Debug, Clone, Copy)]
pub enum Lookup<'a> {
    /// The newest `limit` records created on a day, oldest first.
    Day(&'a str),
    /// The newest `limit` records of a customer, oldest first.
    Customer(&'a str),
    /// The oldest `limit` records in a status, oldest first (a queue: first come, first served).
    Status(&'a str),
}

impl<'a> Lookup<'a> {
    /// The query, its key (`$1`; the limit is `$2`, and `$3` how many to skip first, so that
    /// a long list is read a page at a time), and whether it reads newest first (the rows are
    /// then reversed, so every page is oldest first, and the next page is the older one), in SQL
    /// that SQLite and PostgreSQL both take.
    pub fn sql(self, table: Table) -> (String, &'a str, bool) {
        self.select("version, body", table)
    }

    /// The same selection, reading only the records' statuses (column 0).
    pub fn statuses_sql(self, table: Table) -> (String, &'a str, bool) {
        self.select("status", table)
    }

    fn select(self, columns: &str, table: Table) -> (String, &'a str, bool) {
        let t = table.name();
        let newest = |column: &str| {
            format!(
                "SELECT {columns} FROM {t} WHERE {column} = $1 ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
            )
        };
        match self {
            Lookup::Day(d) => (newest("day"), d, true),
            Lookup::Customer(c) => (newest("customer_id"), c, true),
            Lookup::Status(s) => (
                format!("SELECT {columns} FROM {t} WHERE status = $1 ORDER BY created_at, id LIMIT $2 OFFSET $3"),
                s,
                false,
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A record changed since it was read, or a record that must be unique exists.
    #[error("the record was changed by someone else; read it again")]
    Conflict,
    /// The database cannot be reached or is not answering: retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(String),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("the store is shutting down")]
    Closed,
}

/// A dead letter: a message a consumer failed to handle on every attempt.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub consumer: String,
    /// Where the message sits in its transport (queue sequence or stream sequence).
    pub seq: i64,
    pub attempts: u32,
    pub last_error: String,
    /// Milliseconds since the epoch.
    pub died_at: i64,
    pub event: Envelope,
}

/// The store's operations, the same for every backend.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn get(&self, table: Table, by: By<'_>) -> Result<Option<Row>, StoreError>;
    /// The `limit` records of `lookup` after skipping `offset` of them (see [`Lookup::sql`]).
    async fn find(&self, table: Table, lookup: Lookup<'_>, limit: u32, offset: u32) -> Result<Vec<Row>, StoreError>;
    /// The statuses of the records [`find`](Store::find) would return, in the same order, without
    /// reading their bodies: what a count by status needs, at a fraction of the cost.
    async fn statuses(&self, table: Table, lookup: Lookup<'_>, limit: u32) -> Result<Vec<String>, StoreError>;
    async fn commit(&self, change: Change) -> Result<Committed, StoreError>;
    /// Every event this store published about one order, oldest first.
    async fn events_about(&self, subject: &str) -> Result<Vec<Envelope>, StoreError>;
    /// The next number of `sequence` (1 for a new one), durably taken before it is returned: no
    /// number is given twice, whatever crashes, restarts or replicas sharing the database. A
    /// number taken for a change that then fails is skipped, never reused.
    async fn next_number(&self, sequence: &str) -> Result<i64, StoreError>;
    /// Timers due by `now_ms`, soonest first, at most `limit` (see [`crate::timers`]).
    async fn due_timers(&self, now_ms: i64, limit: u32) -> Result<Vec<Timer>, StoreError>;
    /// Whether the database answers (for readiness probes).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Forgets inbox marks older than `cutoff_ms`: redeliveries stop long before.
    async fn prune_inbox(&self, cutoff_ms: i64) -> Result<(), StoreError>;
    /// Forgets the journal's events that `retention` lets go (see [`crate::retention`]), a
    /// window at a time; returns how many.
    async fn prune_journal(&self, retention: &crate::retention::Retention) -> Result<u64, StoreError>;
    /// Forgets the records of `table` created before `before_ms` (kept for a while only, such
    /// as idempotency keys' answers), [`crate::retention::WINDOW`] at a time; returns how many.
    async fn prune_expired(&self, table: Table, before_ms: i64) -> Result<u64, StoreError>;
}

/// What an attempt at a change decided.
#[derive(Debug)]
pub enum Decision<R> {
    /// Commit this change, then answer `R`.
    Commit(Change, R),
    /// Nothing to write: answer `R`.
    Answer(R),
}

/// How often a change is decided again when its commit conflicts with a concurrent change to
/// the same record, before giving up (the caller gets [`StoreError::Conflict`]).
pub const CONFLICT_RETRIES: usize = 8;

/// Runs `attempt` (read, decide, build the change) and commits what it decided. When the commit
/// conflicts with a concurrent change (a record changed since it was read), reads and decides
/// again. Returns the answer and what the commit did (`None` when there was nothing to write).
///
/// `attempt` is called afresh for each try, so what it reads is read again. (A closure returning
/// a future rather than an async closure: the futures of async closures cannot yet be shown to
/// be `Send`, which every spawned handler needs.)
pub async fn commit_deciding_again<R, E, F, Fut>(store: &dyn Store, mut attempt: F) -> Result<(R, Option<Committed>), E>
where
    E: From<StoreError>,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Decision<R>, E>>,
{
    for _ in 0..CONFLICT_RETRIES {
        match attempt().await? {
            Decision::Answer(answer) => return Ok((answer, None)),
            Decision::Commit(change, answer) => match store.commit(change).await {
                Ok(committed) => return Ok((answer, Some(committed))),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            },
        }
    }
    Err(StoreError::Conflict.into())
}

/// Typed access to one record table.
pub struct Records<T> {
    store: Arc<dyn Store>,
    kind: Kind<T>,
    _record: PhantomData<fn() -> T>,
}

impl<T> Clone for Records<T> {
    fn clone(&self) -> Self {
        Self { store: self.store.clone(), kind: self.kind, _record: PhantomData }
    }
}

impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> Records<T> {
    pub fn new(store: Arc<dyn Store>, kind: Kind<T>) -> Self {
        Self { store, kind, _record: PhantomData }
    }

    pub fn kind(&self) -> Kind<T> {
        self.kind
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub async fn get(&self, id: &str) -> Result<Option<Versioned<T>>, StoreError> {
        self.store.get(self.kind.table, By::Id(id)).await?.map(|r| decode(self.kind.table, r)).transpose()
    }

    pub async fn by_order(&self, order_id: &str) -> Result<Option<Versioned<T>>, StoreError> {
        self.store.get(self.kind.table, By::Order(order_id)).await?.map(|r| decode(self.kind.table, r)).transpose()
    }

    pub async fn find(&self, lookup: Lookup<'_>, limit: u32) -> Result<Vec<T>, StoreError> {
        self.find_from(lookup, limit, 0).await
    }

    /// A page of a list: `limit` records after skipping `offset`.
    pub async fn find_from(&self, lookup: Lookup<'_>, limit: u32, offset: u32) -> Result<Vec<T>, StoreError> {
        let rows = self.store.find(self.kind.table, lookup, limit, offset).await?;
        rows.into_iter().map(|r| decode(self.kind.table, r).map(|v: Versioned<T>| v.value)).collect()
    }

    /// The statuses of what [`find`](Records::find) would return (see [`Store::statuses`]).
    pub async fn statuses(&self, lookup: Lookup<'_>, limit: u32) -> Result<Vec<String>, StoreError> {
        self.store.statuses(self.kind.table, lookup, limit).await
    }

    pub async fn commit(&self, change: Change) -> Result<Committed, StoreError> {
        self.store.commit(change).await
    }

    /// Every event this record's service published about an order, oldest first.
    pub async fn events(&self, order_id: coffee_domain::OrderId) -> Result<Vec<Envelope>, StoreError>
    where
        T: Entity,
    {
        let events = self.store.events_about(&order_id.to_string()).await?;
        Ok(events.into_iter().filter(|e| e.source == T::SOURCE.as_str()).collect())
    }

    /// Reads, decides and commits, deciding again on a conflict (see [`commit_deciding_again`]).
    pub async fn update<R, E, F, Fut>(&self, attempt: F) -> Result<R, E>
    where
        E: From<StoreError>,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Decision<R>, E>>,
    {
        commit_deciding_again(self.store.as_ref(), attempt).await.map(|(answer, _)| answer)
    }
}

fn decode<T: DeserializeOwned>(table: Table, row: Row) -> Result<Versioned<T>, StoreError> {
    let value =
        serde_json::from_str(&row.body).map_err(|e| StoreError::Corrupt(format!("{} record: {e}", table.name())))?;
    Ok(Versioned { version: row.version, value })
}

/// A transport's dead-letter queues, as `coffee dlq` and the admin API see them.
#[async_trait]
pub trait DeadLetters: Send + Sync + 'static {
    /// Dead letters, of one consumer or of all.
    async fn dead_letters(&self, consumer: Option<&str>) -> Result<Vec<DeadLetter>, StoreError>;
    /// Puts dead letters back on their consumers' queues; returns how many.
    async fn redrive(&self, consumer: Option<&str>) -> Result<usize, StoreError>;
}
