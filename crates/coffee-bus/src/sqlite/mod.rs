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
//!
//! - [`writer`]: the writer thread and its group commit.
//! - [`readers`]: the pool of read connections.
//! - [`queues`]: the embedded transport's queues, dead letters and inbox housekeeping.
//! - [`schema`]: the bus's tables and the migration runner.
//! - [`backup`]: online backups and restoring one.

pub mod backup;
mod queues;
mod readers;
mod schema;
mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use tokio::sync::{broadcast, mpsc, oneshot};

pub use queues::Queued;
pub use writer::WriterStats;

use self::readers::ReaderPool;
use self::schema::{apply_migrations, bus_migrations};
use self::writer::{AdminFn, Checkpoints, Hooks, Job, run_writer};
use crate::envelope::Envelope;
use crate::migrate::Migration;
use crate::retention::{self, Retention};
use crate::rule::Rules;
use crate::store::{By, Change, CommitSpans, Committed, Lookup, Row, Store, StoreError, Table, Timer};

/// Prepared statements kept per connection. Each record table has its own statements, and one
/// store in `serve` holds every service's tables: rusqlite's default of 16 made the writer
/// parse SQL again on most commits.
const STATEMENT_CACHE: usize = 128;

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

pub struct SqliteStore {
    jobs: mpsc::Sender<Job>,
    readers: Arc<ReaderPool>,
    hooks: Arc<Hooks>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// SQLite's `synchronous` setting, as read back after setting it.
    synchronous: &'static str,
    /// The data file's lock, held while the store is open (none beside a server).
    /// Released at [`close`](SqliteStore::close), once nothing more can be written: a request
    /// still finishing (a WebSocket closing) may hold the store a moment longer, and must not
    /// keep a restart on the same directory out.
    lock: Mutex<Option<File>>,
}

pub(super) const MAX_BATCH: usize = 512;

/// An event still needed by the embedded transport: queued for a consumer, or dead-lettered.
const SQLITE_HELD: &str = "EXISTS (SELECT 1 FROM bus_deliveries d WHERE d.seq = e.seq) \
    OR EXISTS (SELECT 1 FROM bus_dead_letters l WHERE l.seq = e.seq)";

pub(super) fn db_err(e: rusqlite::Error) -> StoreError {
    let transient = matches!(&e, rusqlite::Error::SqliteFailure(f, _)
        if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull));
    if transient { StoreError::Unavailable(format!("the database: {e}")) } else { StoreError::Database(e.to_string()) }
}

pub(super) fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl SqliteStore {
    /// Opens (creating if needed) the database, applies the migrations, starts the writer. The
    /// data file is locked to this process: a second server on it is refused.
    pub fn open(options: SqliteOptions, migrations: &[Migration]) -> Result<Arc<Self>, StoreError> {
        let lock = lock_data_file(&options.path)?;
        Self::open_with(options, migrations, Some(lock))
    }

    /// Opens the database beside a server that may hold it, for an administrative command's
    /// few writes (`coffee staff add`): SQLite itself serialises the two writers (WAL, a busy
    /// timeout), and migrations apply in an immediate transaction, once. Delivers nothing: a
    /// store opened this way must not feed consumers.
    pub fn open_beside_server(options: SqliteOptions, migrations: &[Migration]) -> Result<Arc<Self>, StoreError> {
        Self::open_with(options, migrations, None)
    }

    fn open_with(
        options: SqliteOptions,
        migrations: &[Migration],
        lock: Option<File>,
    ) -> Result<Arc<Self>, StoreError> {
        let mut conn = Connection::open(&options.path).map_err(db_err)?;
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000; PRAGMA temp_store=MEMORY;"
        ))
        .map_err(db_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Read back, so what the metrics report is what SQLite does.
        let synchronous = match conn.query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0)).map_err(db_err)? {
            0 => "OFF",
            1 => "NORMAL",
            2 => "FULL",
            _ => "EXTRA",
        };
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
            r.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
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
            synchronous,
            lock: Mutex::new(lock),
        }))
    }

    /// Runs a lookup's query (see [`Lookup::sql`]) on a reader and reads each row with `read`,
    /// oldest first.
    async fn select<T: Send + 'static>(
        &self,
        (sql, key, newest): (String, &str, bool),
        (limit, offset): (u32, u32),
        read: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, StoreError> {
        let key = key.to_owned();
        let mut rows = self
            .readers
            .with(move |c| {
                let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
                let rows = stmt.query_map(params![key, limit, offset], read).map_err(db_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
            })
            .await?;
        if newest {
            rows.reverse();
        }
        Ok(rows)
    }

    /// Stops the writer once it has committed everything submitted before, and waits for it.
    pub async fn close(&self) {
        let handle = self.writer.lock().ok().and_then(|mut w| w.take());
        if let Some(handle) = handle {
            let _ = self.jobs.send(Job::Shutdown).await;
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        drop(self.lock.lock().ok().and_then(|mut lock| lock.take()));
    }

    /// Every committed event, as it commits (for live notifications; not durable).
    pub fn subscribe_live(&self) -> broadcast::Receiver<Arc<Envelope>> {
        match &self.hooks.live {
            Some(tx) => tx.subscribe(),
            None => broadcast::channel(1).1,
        }
    }

    /// Units of work committed and the events they published.
    pub fn commits(&self) -> crate::stats::Commits {
        self.hooks.commits.snapshot()
    }

    /// The writer's counters.
    pub fn writer_stats(&self) -> serde_json::Value {
        use std::sync::atomic::Ordering::Relaxed;
        let s = &self.hooks.stats;
        let (batches, units) = (s.batches.load(Relaxed), s.units.load(Relaxed));
        serde_json::json!({
            "synchronous": self.synchronous,
            "batches": batches,
            "units": units,
            "unitsPerBatch": if batches == 0 { 0.0 } else { units as f64 / batches as f64 },
            "applyMicros": s.apply_micros.load(Relaxed),
            "commitMicros": s.commit_micros.load(Relaxed),
        })
    }

    pub(super) async fn submit_admin(&self, f: AdminFn) -> Result<usize, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Job::Admin(f, tx)).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn get(&self, table: Table, by: By<'_>) -> Result<Option<Row>, StoreError> {
        let (sql, key) = by.sql(table);
        let key = key.to_owned();
        self.readers
            .with(move |c| {
                c.prepare_cached(&sql)
                    .map_err(db_err)?
                    .query_row([&key], |r| Ok(Row { version: r.get(0)?, body: r.get(1)? }))
                    .optional()
                    .map_err(db_err)
            })
            .await
    }

    async fn find(&self, table: Table, lookup: Lookup<'_>, limit: u32, offset: u32) -> Result<Vec<Row>, StoreError> {
        self.select(lookup.sql(table), (limit, offset), |r| Ok(Row { version: r.get(0)?, body: r.get(1)? })).await
    }

    async fn statuses(&self, table: Table, lookup: Lookup<'_>, limit: u32) -> Result<Vec<String>, StoreError> {
        self.select(lookup.statuses_sql(table), (limit, 0), |r| r.get(0)).await
    }

    async fn commit(&self, change: Change) -> Result<Committed, StoreError> {
        let spans = CommitSpans::of(&change);
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Job::Commit(change, tx)).await.map_err(|_| StoreError::Closed)?;
        let committed = rx.await.map_err(|_| StoreError::Closed)??;
        if committed == Committed::Applied {
            spans.committed("sqlite");
        }
        Ok(committed)
    }

    async fn prune_inbox(&self, cutoff_ms: i64) -> Result<(), StoreError> {
        self.prune_inbox_rows(cutoff_ms).await.map(|_| ())
    }

    async fn prune_expired(&self, table: Table, before_ms: i64) -> Result<u64, StoreError> {
        let sql = retention::expired_sql(table);
        let mut pruned = 0;
        loop {
            let (sql, deleted) = (sql.clone(), Arc::new(AtomicU64::new(0)));
            let counted = deleted.clone();
            self.submit_admin(Box::new(move |c| {
                let n = c.prepare_cached(&sql).and_then(|mut s| s.execute([before_ms])).map_err(db_err)?;
                counted.store(n as u64, Ordering::Relaxed);
                Ok(Vec::new())
            }))
            .await?;
            match deleted.load(Ordering::Relaxed) {
                0 => return Ok(pruned),
                n => pruned += n,
            }
        }
    }

    async fn prune_journal(&self, retention: &Retention) -> Result<u64, StoreError> {
        let sql = retention::prune_window_sql(retention, SQLITE_HELD);
        let cutoff = retention::cutoff_time(retention.cutoff_ms);
        let (mut from, mut pruned) = (0_i64, 0_u64);
        loop {
            let start = self
                .readers
                .with(move |c| {
                    c.prepare_cached(retention::WINDOW_START)
                        .map_err(db_err)?
                        .query_row([from], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                        .optional()
                        .map_err(db_err)
                })
                .await?;
            // Done at the end of the journal, or at the first event younger than the cutoff
            // (sequence numbers follow time: every later one is younger too).
            let Some((seq, _)) = start.filter(|(_, time)| *time < cutoff) else { return Ok(pruned) };
            let (sql, cutoff, deleted) = (sql.clone(), cutoff.clone(), Arc::new(AtomicU64::new(0)));
            let counted = deleted.clone();
            // Through the writer, as one short transaction among the commits.
            self.submit_admin(Box::new(move |c| {
                let n = c
                    .prepare_cached(&sql)
                    .and_then(|mut s| s.execute(params![seq, seq + retention::WINDOW, cutoff]))
                    .map_err(db_err)?;
                counted.store(n as u64, Ordering::Relaxed);
                Ok(Vec::new())
            }))
            .await?;
            pruned += deleted.load(Ordering::Relaxed);
            from = seq + retention::WINDOW;
        }
    }

    async fn next_number(&self, sequence: &str) -> Result<i64, StoreError> {
        // Through the writer, so the number is taken in a batch's transaction and answered
        // only once that batch is durable.
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Job::Number(sequence.to_owned(), tx)).await.map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.readers.with(|c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(db_err)).await
    }

    async fn due_timers(&self, now_ms: i64, limit: u32) -> Result<Vec<Timer>, StoreError> {
        self.readers
            .with(move |c| {
                let mut stmt = c.prepare_cached(crate::migrate::DUE_TIMERS).map_err(db_err)?;
                let rows = stmt
                    .query_map(params![now_ms, limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .map_err(db_err)?;
                rows.map(|row| {
                    let (id, due_at, body) = row.map_err(db_err)?;
                    Timer::read(id, due_at, body)
                })
                .collect()
            })
            .await
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

/// One process owns a data file: a second `coffee serve` on the same directory would
/// deliver every message twice. The lock is released when the process exits, however it exits.
fn lock_data_file(path: &Path) -> Result<File, StoreError> {
    match try_lock_data_file(path) {
        Ok(Some(file)) => Ok(file),
        Ok(None) => Err(StoreError::Database(format!(
            "{} is in use by another process (is another `coffee serve` running on this data directory?)",
            path.display()
        ))),
        Err(e) => Err(StoreError::Database(format!("cannot lock {}: {e}", path.with_extension("lock").display()))),
    }
}

/// The data file's lock (`coffee.lock` beside `coffee.db`), or `None` if a process holds it.
fn try_lock_data_file(path: &Path) -> std::io::Result<Option<File>> {
    let file = File::options().create(true).truncate(false).write(true).open(path.with_extension("lock"))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}
