//! The embedded store: one SQLite file, written by one thread with group commit.
//!
//! Every write in the process goes through a single writer thread. It takes all the units
//! of work waiting for it, runs each in its own savepoint inside one transaction, and
//! commits once: one fsync makes a whole batch durable, and a unit that fails (a version
//! conflict) rolls back alone. A caller's commit returns only after the batch is on disk,
//! so `synchronous=FULL` (the default) loses nothing committed even on power loss, while
//! throughput grows with load instead of being capped by the disk's fsync rate.
//!
//! Reads use a small pool of separate connections; WAL lets them run beside the writer.
//!
//! With the embedded transport, publishing an event inserts it into the journal and one
//! delivery row per consumer whose rule matches, in the same savepoint as the state
//! change (the queues are the outbox). After the commit the writer hands the new
//! deliveries to the in-process dispatchers, so consumers are woken without polling.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};

use crate::envelope::Envelope;
use crate::migrate::{MIGRATIONS_TABLE, Migration};
use crate::rule::Rules;
use crate::store::{Change, Committed, DeadLetter, DeadLetters, Expect, Lookup, Row, Store, StoreError, Table};

/// How hard a commit pushes to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: a commit is on disk before it is acknowledged. Survives power loss.
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crash of the process, but the last commits before a
    /// power loss or OS crash may be lost. Faster; behind a flag.
    Normal,
}

#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub path: PathBuf,
    pub durability: Durability,
    /// The rules that route each published event into consumers' queues.
    pub rules: Rules,
    pub readers: usize,
}

/// A message waiting in a consumer's queue.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: i64,
    pub attempts: u32,
    /// Milliseconds since the epoch before which it must not be delivered.
    pub visible_at: i64,
    pub envelope: Arc<Envelope>,
}

type AdminFn = Box<dyn FnOnce(&Connection) -> Result<Vec<(String, Queued)>, StoreError> + Send>;

enum Job {
    Commit(Change, oneshot::Sender<Result<Committed, StoreError>>),
    /// Queue maintenance (failures, dead letters, redrive): may enqueue messages.
    Admin(AdminFn, oneshot::Sender<Result<usize, StoreError>>),
    /// Commit what came before, then stop.
    Shutdown,
}

/// What the writer tells the rest of the process after a commit.
#[derive(Default)]
struct Hooks {
    queues: RwLock<HashMap<String, mpsc::UnboundedSender<Queued>>>,
    live: Option<broadcast::Sender<Arc<Envelope>>>,
    stats: WriterStats,
}

/// Counters of the writer's work since start.
#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: std::sync::atomic::AtomicU64,
    pub units: std::sync::atomic::AtomicU64,
    /// Time spent in COMMIT (writing the WAL and, with synchronous=FULL, fsync).
    pub commit_micros: std::sync::atomic::AtomicU64,
    /// Time spent applying units (the SQL before COMMIT).
    pub apply_micros: std::sync::atomic::AtomicU64,
}

pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    readers: Arc<ReaderPool>,
    hooks: Arc<Hooks>,
    writer: Mutex<Option<JoinHandle<()>>>,
    _lock: File,
}

const MAX_BATCH: usize = 512;

fn db_err(e: rusqlite::Error) -> StoreError {
    let transient = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull));
    if transient { StoreError::Unavailable(format!("the database: {e}")) } else { StoreError::Database(e.to_string()) }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl SqliteStore {
    /// Opens (creating if needed) the database, applies the migrations, starts the writer.
    pub fn open(options: SqliteOptions, migrations: &[Migration]) -> Result<Arc<Self>, StoreError> {
        let lock = lock_data_file(&options.path)?;
        let mut conn = Connection::open(&options.path).map_err(db_err)?;
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000; PRAGMA temp_store=MEMORY;"
        ))
        .map_err(db_err)?;
        apply_migrations(&mut conn, &bus_migrations())?;
        apply_migrations(&mut conn, migrations)?;
        let checkpoints = Checkpoints::start(&mut conn)?;

        let mut readers = Vec::new();
        for _ in 0..options.readers.max(1) {
            let r = Connection::open_with_flags(
                &options.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI,
            )
            .map_err(db_err)?;
            r.execute_batch("PRAGMA busy_timeout=5000;").map_err(db_err)?;
            readers.push(r);
        }
        // Live subscribers (dashboards, the bench) read every event; a roomy buffer lets a
        // slow one fall behind briefly without losing its place.
        let (live, _) = broadcast::channel(65536);
        let hooks = Arc::new(Hooks { live: Some(live), ..Hooks::default() });
        let (jobs, rx) = mpsc::channel(8 * MAX_BATCH);
        let writer_hooks = hooks.clone();
        let rules = options.rules.clone();
        let writer = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || run_writer(conn, rx, rules, writer_hooks, checkpoints))
            .map_err(|e| StoreError::Database(format!("cannot start the writer thread: {e}")))?;
        Ok(Arc::new(Self {
            jobs,
            readers: Arc::new(ReaderPool::new(readers)),
            hooks,
            writer: Mutex::new(Some(writer)),
            _lock: lock,
        }))
    }

    /// Stops the writer once it has committed everything submitted before, and waits for it.
    pub async fn close(&self) {
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = self.jobs.send(Job::Shutdown).await;
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }

    /// Registers a consumer's dispatcher: new deliveries for it are sent here after commit.
    pub fn register_queue(&self, consumer: &str) -> mpsc::UnboundedReceiver<Queued> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut queues) = self.hooks.queues.write() {
            queues.insert(consumer.to_owned(), tx);
        }
        rx
    }

    pub fn unregister_queue(&self, consumer: &str) {
        if let Ok(mut queues) = self.hooks.queues.write() {
            queues.remove(consumer);
        }
    }

    /// Every committed event, as it commits (for live notifications; not durable).
    pub fn subscribe_live(&self) -> broadcast::Receiver<Arc<Envelope>> {
        match &self.hooks.live {
            Some(tx) => tx.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// The writer's counters.
    pub fn writer_stats(&self) -> serde_json::Value {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.hooks.stats;
        let (batches, units) = (s.batches.load(Relaxed), s.units.load(Relaxed));
        serde_json::json!({
            "batches": batches,
            "units": units,
            "unitsPerBatch": if batches == 0 { 0.0 } else { units as f64 / batches as f64 },
            "applyMicros": s.apply_micros.load(Relaxed),
            "commitMicros": s.commit_micros.load(Relaxed),
        })
    }

    async fn submit_admin(&self, f: AdminFn) -> Result<usize, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Job::Admin(f, tx)).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Messages waiting in a consumer's queue, in publishing order.
    pub async fn pending(&self, consumer: &str) -> Result<Vec<Queued>, StoreError> {
        let consumer = consumer.to_owned();
        self.readers
            .with(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT d.seq, d.attempts, d.visible_at, e.body FROM bus_deliveries d
                         JOIN bus_events e ON e.seq = d.seq WHERE d.consumer = ?1 ORDER BY d.seq",
                    )
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([&consumer], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, u32>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?))
                    })
                    .map_err(db_err)?;
                rows.map(|row| {
                    let (seq, attempts, visible_at, body) = row.map_err(db_err)?;
                    let envelope =
                        Envelope::from_bytes(body.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok(Queued { seq, attempts, visible_at, envelope: Arc::new(envelope) })
                })
                .collect()
            })
            .await
    }

    /// Records a failed attempt: the message becomes visible again at `visible_at`.
    pub async fn record_failure(
        &self,
        consumer: &str,
        seq: i64,
        attempts: u32,
        visible_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        let (consumer, error) = (consumer.to_owned(), error.to_owned());
        self.submit_admin(Box::new(move |c| {
            c.prepare_cached(
                "UPDATE bus_deliveries SET attempts = ?3, visible_at = ?4, last_error = ?5 WHERE consumer = ?1 AND seq = ?2",
            )
            .and_then(|mut s| s.execute(params![consumer, seq, attempts, visible_at, error]))
            .map_err(db_err)?;
            Ok(Vec::new())
        }))
        .await
        .map(|_| ())
    }

    /// Moves a message from its consumer's queue to the consumer's dead-letter queue.
    pub async fn dead_letter(&self, consumer: &str, seq: i64, attempts: u32, error: &str) -> Result<(), StoreError> {
        let (consumer, error) = (consumer.to_owned(), error.to_owned());
        self.submit_admin(Box::new(move |c| {
            c.prepare_cached("DELETE FROM bus_deliveries WHERE consumer = ?1 AND seq = ?2")
                .and_then(|mut s| s.execute(params![consumer, seq]))
                .map_err(db_err)?;
            c.prepare_cached(
                "INSERT OR REPLACE INTO bus_dead_letters (consumer, seq, attempts, last_error, died_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![consumer, seq, attempts, error, now_ms()]))
            .map_err(db_err)?;
            Ok(Vec::new())
        }))
        .await
        .map(|_| ())
    }

    async fn list_dead_letters(&self, consumer: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let consumer = consumer.map(str::to_owned);
        self.readers
            .with(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT d.consumer, d.seq, d.attempts, d.last_error, d.died_at, e.body FROM bus_dead_letters d
                         JOIN bus_events e ON e.seq = d.seq WHERE ?1 IS NULL OR d.consumer = ?1 ORDER BY d.died_at, d.seq",
                    )
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([&consumer], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, u32>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, String>(5)?,
                        ))
                    })
                    .map_err(db_err)?;
                rows.map(|row| {
                    let (consumer, seq, attempts, last_error, died_at, body) = row.map_err(db_err)?;
                    let event = Envelope::from_bytes(body.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok(DeadLetter {
                        consumer,
                        seq,
                        attempts,
                        last_error,
                        died_at,
                        event,
                    })
                })
                .collect()
            })
            .await
    }

    /// Puts dead letters back on their queues, with their attempts reset. Returns how many.
    async fn redrive_dead_letters(&self, consumer: Option<&str>) -> Result<usize, StoreError> {
        let consumer = consumer.map(str::to_owned);
        self.submit_admin(Box::new(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT d.consumer, d.seq, e.subject, e.body FROM bus_dead_letters d
                     JOIN bus_events e ON e.seq = d.seq WHERE ?1 IS NULL OR d.consumer = ?1 ORDER BY d.seq",
                )
                .map_err(db_err)?;
            let letters: Vec<(String, i64, String, String)> = stmt
                .query_map([&consumer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            let mut requeued = Vec::with_capacity(letters.len());
            for (consumer, seq, subject, body) in letters {
                c.prepare_cached("DELETE FROM bus_dead_letters WHERE consumer = ?1 AND seq = ?2")
                    .and_then(|mut s| s.execute(params![consumer, seq]))
                    .map_err(db_err)?;
                c.prepare_cached(
                    "INSERT OR REPLACE INTO bus_deliveries (consumer, seq, subject, attempts, visible_at) VALUES (?1, ?2, ?3, 0, 0)",
                )
                .and_then(|mut s| s.execute(params![consumer, seq, subject]))
                .map_err(db_err)?;
                let envelope = Envelope::from_bytes(body.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                requeued.push((
                    consumer,
                    Queued {
                        seq,
                        attempts: 0,
                        visible_at: 0,
                        envelope: Arc::new(envelope),
                    },
                ));
            }
            Ok(requeued)
        }))
        .await
    }

    /// (No index on the inbox's age: it would cost every handling a write to save an
    /// hourly scan.)
    async fn prune_inbox_rows(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        self.submit_admin(Box::new(move |c| {
            c.prepare_cached("DELETE FROM bus_inbox WHERE handled_at < ?1")
                .and_then(|mut s| s.execute([cutoff_ms]))
                .map_err(db_err)?;
            Ok(Vec::new())
        }))
        .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, table: Table, id: &str) -> Result<Option<Row>, StoreError> {
        let id = id.to_owned();
        self.readers
            .with(move |c| {
                c.prepare_cached(&format!("SELECT version, body FROM {} WHERE id = ?1", table.name()))
                    .map_err(db_err)?
                    .query_row([&id], |r| Ok(Row { version: r.get(0)?, body: r.get(1)? }))
                    .optional()
                    .map_err(db_err)
            })
            .await
    }

    async fn get_by_order(&self, table: Table, order_id: &str) -> Result<Option<Row>, StoreError> {
        let order_id = order_id.to_owned();
        self.readers
            .with(move |c| {
                c.prepare_cached(&format!("SELECT version, body FROM {} WHERE order_id = ?1", table.name()))
                    .map_err(db_err)?
                    .query_row([&order_id], |r| Ok(Row { version: r.get(0)?, body: r.get(1)? }))
                    .optional()
                    .map_err(db_err)
            })
            .await
    }

    async fn find(&self, table: Table, lookup: Lookup<'_>, limit: u32) -> Result<Vec<Row>, StoreError> {
        let t = table.name();
        let (sql, arg, newest) = match lookup {
            Lookup::Day(d) => (
                format!("SELECT version, body FROM {t} WHERE day = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2"),
                d,
                true,
            ),
            Lookup::Customer(c) => (
                format!(
                    "SELECT version, body FROM {t} WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2"
                ),
                c,
                true,
            ),
            Lookup::Status(s) => {
                (format!("SELECT version, body FROM {t} WHERE status = ?1 ORDER BY created_at, id LIMIT ?2"), s, false)
            }
        };
        let arg = arg.to_owned();
        let mut rows = self
            .readers
            .with(move |c| {
                let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
                let rows = stmt
                    .query_map(params![arg, limit], |r| Ok(Row { version: r.get(0)?, body: r.get(1)? }))
                    .map_err(db_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
            })
            .await?;
        if newest {
            rows.reverse();
        }
        Ok(rows)
    }

    async fn commit(&self, change: Change) -> Result<Committed, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Job::Commit(change, tx)).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn prune_inbox(&self, cutoff_ms: i64) -> Result<(), StoreError> {
        self.prune_inbox_rows(cutoff_ms).await.map(|_| ())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.readers.with(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err)).await
    }

    async fn events_about(&self, subject: &str) -> Result<Vec<Envelope>, StoreError> {
        let subject = subject.to_owned();
        self.readers
            .with(move |c| {
                let mut stmt =
                    c.prepare_cached("SELECT body FROM bus_events WHERE subject = ?1 ORDER BY seq").map_err(db_err)?;
                let rows = stmt.query_map([&subject], |r| r.get::<_, String>(0)).map_err(db_err)?;
                rows.map(|b| {
                    let body = b.map_err(db_err)?;
                    Envelope::from_bytes(body.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))
                })
                .collect()
            })
            .await
    }
}

#[async_trait]
impl DeadLetters for SqliteStore {
    async fn dead_letters(&self, consumer: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        self.list_dead_letters(consumer).await
    }

    async fn redrive(&self, consumer: Option<&str>) -> Result<usize, StoreError> {
        self.redrive_dead_letters(consumer).await
    }
}

/// One process owns a data file: a second `coffee serve` on the same directory would
/// deliver every message twice. The lock is released when the process exits, however it exits.
fn lock_data_file(path: &Path) -> Result<File, StoreError> {
    let lock_path = path.with_extension("lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::Database(format!("cannot open {}: {e}", lock_path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Database(format!(
            "{} is in use by another process (is another `coffee serve` running on this data directory?)",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(StoreError::Database(format!("cannot lock {}: {e}", lock_path.display())))
        }
    }
}

fn bus_migrations() -> Vec<Migration> {
    vec![Migration {
        owner: "bus",
        version: 1,
        name: "journal, queues, inbox, dead letters",
        sql: "CREATE TABLE bus_events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL,
                subject TEXT NOT NULL,
                type TEXT NOT NULL,
                source TEXT NOT NULL,
                time TEXT NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX bus_events_by_subject ON bus_events (subject, seq);
            CREATE TABLE bus_deliveries (
                consumer TEXT NOT NULL,
                seq INTEGER NOT NULL,
                subject TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                visible_at INTEGER NOT NULL DEFAULT 0,
                last_error TEXT,
                PRIMARY KEY (consumer, seq)
            ) WITHOUT ROWID;
            CREATE TABLE bus_inbox (
                consumer TEXT NOT NULL,
                event_id TEXT NOT NULL,
                handled_at INTEGER NOT NULL,
                PRIMARY KEY (consumer, event_id)
            ) WITHOUT ROWID;
            CREATE TABLE bus_dead_letters (
                consumer TEXT NOT NULL,
                seq INTEGER NOT NULL,
                attempts INTEGER NOT NULL,
                last_error TEXT NOT NULL,
                died_at INTEGER NOT NULL,
                PRIMARY KEY (consumer, seq)
            ) WITHOUT ROWID;",
    }]
}

fn apply_migrations(conn: &mut Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    conn.execute_batch(MIGRATIONS_TABLE).map_err(db_err)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db_err)?;
    for m in migrations {
        let done: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE owner = ?1 AND version = ?2)",
                params![m.owner, m.version],
                |r| r.get(0),
            )
            .map_err(db_err)?;
        if done {
            continue;
        }
        tx.execute_batch(m.sql).map_err(|e| {
            StoreError::Database(format!("migration {} {} ({}) failed: {e}", m.owner, m.version, m.name))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (owner, version, name, applied_at) VALUES (?1, ?2, ?3, ?4)",
            params![m.owner, m.version, m.name, now_ms()],
        )
        .map_err(db_err)?;
        tracing::info!(owner = m.owner, version = m.version, name = m.name, "applied migration");
    }
    tx.commit().map_err(db_err)
}

struct ReaderPool {
    conns: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl ReaderPool {
    fn new(conns: Vec<Connection>) -> Self {
        let n = conns.len();
        Self { conns: Mutex::new(conns), permits: Semaphore::new(n) }
    }

    /// Runs a read on a pooled connection, inline on the calling task's thread. Reads here
    /// are point lookups and short index scans taking microseconds; handing each to a
    /// blocking thread cost more in wake-ups than the read itself (measured: most of the
    /// process's time went to the scheduler).
    async fn with<R, F>(self: &Arc<Self>, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, StoreError>,
    {
        let _permit = self.permits.acquire().await.map_err(|_| StoreError::Closed)?;
        let conn = self
            .conns
            .lock()
            .map_err(|_| StoreError::Closed)?
            .pop()
            .ok_or_else(|| StoreError::Database("no reader connection free".into()))?;
        let result = f(&conn);
        if let Ok(mut conns) = self.conns.lock() {
            conns.push(conn);
        }
        result
    }
}

struct Done {
    reply: Reply,
    result: Result<Outcome, StoreError>,
}

enum Reply {
    Commit(oneshot::Sender<Result<Committed, StoreError>>),
    Admin(oneshot::Sender<Result<usize, StoreError>>),
}

#[derive(Default)]
struct Outcome {
    committed: Option<Committed>,
    deliveries: Vec<(String, Queued)>,
    published: Vec<Arc<Envelope>>,
}

/// Checkpoints: copying the WAL back into the database file, on the writer's thread but
/// after the batch's callers have their answers.
///
/// SQLite's own auto-checkpoint runs inside COMMIT, so the callers of that batch wait for
/// the copy. A checkpointer on another thread was tried and measured worse (p50 at 500
/// sagas/s went from 7 to 12-15 ms, with no gain at saturation): its copying and fsyncs
/// competed with the writer's, and a passive checkpoint beside a busy writer never caught
/// up, so the WAL grew without bound unless the writer restarted it anyway. Here the writer
/// copies between batches, when nothing else writes, so a checkpoint completes and the next
/// write starts the WAL over; past [`Checkpoints::HARD_FRAMES`] (readers kept old frames
/// pinned) it waits for them with a RESTART checkpoint.
struct Checkpoints {
    frames: Arc<std::sync::atomic::AtomicI64>,
}

impl Checkpoints {
    const SOFT_FRAMES: i64 = 1000;
    const HARD_FRAMES: i64 = 16_000;

    fn start(writer: &mut Connection) -> Result<Self, StoreError> {
        writer.execute_batch("PRAGMA wal_autocheckpoint=0;").map_err(db_err)?;
        let frames = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let seen = frames.clone();
        writer
            .wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, pages: std::os::raw::c_int| {
                seen.store(i64::from(pages), std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }))
            .map_err(db_err)?;
        Ok(Self { frames })
    }

    /// After a batch has been answered: fold the WAL back when it has grown.
    fn after_batch(&self, writer: &Connection) {
        let frames = self.frames.load(std::sync::atomic::Ordering::Relaxed);
        let mode = match frames {
            f if f >= Self::HARD_FRAMES => "RESTART",
            f if f >= Self::SOFT_FRAMES => "PASSIVE",
            _ => return,
        };
        match writer.query_row(&format!("PRAGMA wal_checkpoint({mode});"), [], |r| r.get::<_, i64>(0)) {
            Ok(_) => self.frames.store(0, std::sync::atomic::Ordering::Relaxed),
            Err(e) => tracing::warn!(error = %e, mode, "checkpoint failed; will try again"),
        }
    }
}

fn run_writer(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Job>,
    rules: Rules,
    hooks: Arc<Hooks>,
    checkpoints: Checkpoints,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut stopping = false;
    while !stopping {
        let Some(job) = rx.blocking_recv() else { break };
        let mut next = Some(job);
        while let Some(job) = next.take() {
            if matches!(job, Job::Shutdown) {
                stopping = true;
                break;
            }
            batch.push(job);
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            run_batch(&mut conn, &mut batch, &rules, &hooks);
            checkpoints.after_batch(&conn);
        }
    }
    rx.close();
    // Anything still queued after the shutdown request is refused, not silently dropped.
    while let Ok(job) = rx.try_recv() {
        if !matches!(job, Job::Shutdown) {
            fail(job, StoreError::Closed);
        }
    }
    // Leave the WAL folded into the main file so the next start is quick.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
}

fn run_batch(conn: &mut Connection, batch: &mut Vec<Job>, rules: &Rules, hooks: &Hooks) {
    let now = now_ms();
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            for job in batch.drain(..) {
                fail(job, StoreError::Database(e.to_string()));
            }
            return;
        }
    };
    let started = std::time::Instant::now();
    let units = batch.len() as u64;
    let mut done = Vec::with_capacity(batch.len());
    for job in batch.drain(..) {
        let sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                fail(job, db_err(e));
                continue;
            }
        };
        let (reply, result) = match job {
            Job::Shutdown => continue,
            Job::Commit(change, reply) => (Reply::Commit(reply), apply_change(&sp, &change, rules, now)),
            Job::Admin(f, reply) => {
                (Reply::Admin(reply), f(&sp).map(|deliveries| Outcome { deliveries, ..Outcome::default() }))
            }
        };
        // A failed unit is rolled back to its savepoint when `sp` drops; the rest of the
        // batch is unaffected.
        let result = result.and_then(|outcome| sp.commit().map(|_| outcome).map_err(db_err));
        done.push(Done { reply, result });
    }
    let applied = started.elapsed();
    let committed = tx.commit();
    {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &hooks.stats;
        s.batches.fetch_add(1, Relaxed);
        s.units.fetch_add(units, Relaxed);
        s.apply_micros.fetch_add(applied.as_micros() as u64, Relaxed);
        s.commit_micros.fetch_add((started.elapsed() - applied).as_micros() as u64, Relaxed);
    }
    if let Err(e) = committed {
        let err = StoreError::Database(format!("commit failed: {e}"));
        for d in done {
            send(d.reply, Err(err.clone()));
        }
        return;
    }
    // Durable now: wake consumers, then answer callers.
    let queues = hooks.queues.read().ok();
    for d in done {
        if let Ok(outcome) = &d.result {
            if let Some(queues) = &queues {
                for (consumer, q) in &outcome.deliveries {
                    if let Some(tx) = queues.get(consumer) {
                        let _ = tx.send(q.clone());
                    }
                }
            }
            if let Some(live) = &hooks.live {
                for env in &outcome.published {
                    let _ = live.send(env.clone());
                }
            }
        }
        send(d.reply, d.result);
    }
}

fn fail(job: Job, err: StoreError) {
    match job {
        Job::Commit(_, r) => send(Reply::Commit(r), Err(err)),
        Job::Admin(_, r) => send(Reply::Admin(r), Err(err)),
        Job::Shutdown => {}
    }
}

fn send(reply: Reply, result: Result<Outcome, StoreError>) {
    match reply {
        Reply::Commit(tx) => {
            let _ = tx.send(result.map(|o| o.committed.unwrap_or(Committed::Applied)));
        }
        Reply::Admin(tx) => {
            let _ = tx.send(result.map(|o| o.deliveries.len()));
        }
    }
}

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::ConstraintViolation)
}

fn apply_change(c: &Connection, change: &Change, rules: &Rules, now: i64) -> Result<Outcome, StoreError> {
    if let Some(h) = &change.handled {
        let fresh = c
            .prepare_cached(
                "INSERT INTO bus_inbox (consumer, event_id, handled_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
            )
            .and_then(|mut s| s.execute(params![h.consumer, h.event_id, now]))
            .map_err(db_err)?;
        if let Some(seq) = h.delivery_seq {
            c.prepare_cached("DELETE FROM bus_deliveries WHERE consumer = ?1 AND seq = ?2")
                .and_then(|mut s| s.execute(params![h.consumer, seq]))
                .map_err(db_err)?;
        }
        if fresh == 0 {
            return Ok(Outcome { committed: Some(Committed::AlreadyHandled), ..Outcome::default() });
        }
    }
    for put in &change.puts {
        let t = put.table.name();
        let k = &put.key;
        let written = match put.expect {
            Expect::New => c
                .prepare_cached(&format!(
                    "INSERT INTO {t} (id, order_id, customer_id, day, created_at, status, version, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7)"
                ))
                .and_then(|mut s| {
                    s.execute(params![k.id, k.order_id, k.customer_id, k.day, k.created_at, k.status, put.body])
                }),
            Expect::Version(v) => c
                .prepare_cached(&format!(
                    "UPDATE {t} SET status = ?2, body = ?3, version = version + 1 WHERE id = ?1 AND version = ?4"
                ))
                .and_then(|mut s| s.execute(params![k.id, k.status, put.body, v])),
        };
        match written {
            Ok(1) => {}
            Ok(_) => return Err(StoreError::Conflict),
            Err(e) if is_constraint(&e) => return Err(StoreError::Conflict),
            Err(e) => return Err(db_err(e)),
        }
    }
    let mut outcome = Outcome::default();
    for out in &change.events {
        let env = &out.envelope;
        c.prepare_cached(
            "INSERT INTO bus_events (id, subject, type, source, time, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut s| s.execute(params![env.id, env.subject, env.event_type, env.source, env.time, out.json]))
        .map_err(db_err)?;
        let seq = c.last_insert_rowid();
        let shared = env.clone();
        for consumer in rules.consumers_for(env) {
            c.prepare_cached("INSERT INTO bus_deliveries (consumer, seq, subject) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| s.execute(params![consumer, seq, env.subject]))
                .map_err(db_err)?;
            outcome
                .deliveries
                .push((consumer.to_owned(), Queued { seq, attempts: 0, visible_at: 0, envelope: shared.clone() }));
        }
        outcome.published.push(shared);
    }
    outcome.committed = Some(Committed::Applied);
    Ok(outcome)
}
