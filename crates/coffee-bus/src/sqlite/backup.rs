//! Backups of the embedded store while it runs, and putting one back.
//!
//! A backup is `VACUUM INTO` a new file: SQLite copies one read transaction's snapshot, so the
//! copy is consistent (every record with its events, queues and inbox marks as of one commit)
//! and, on WAL, writers go on committing beside it. The copy is written under a `.partial`
//! name, checked (`PRAGMA integrity_check`), made durable and only then renamed into place, so a
//! backup killed half way never leaves a file that looks complete.
//!
//! A restore checks the backup first (a SQLite file of this system, not damaged, with no
//! migration this binary does not know), takes the data directory's lock (so it refuses while
//! a server runs there), moves the current database and its write-ahead log aside, and puts a
//! durable copy of the backup in its place. What was in the queues at the backup's moment is
//! delivered again when the server starts: the inbox marks in the same snapshot keep what was
//! already handled from being applied twice.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::schema::bus_migrations;
use crate::migrate::Migration;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no database at {0}")]
    NoDatabase(PathBuf),
    #[error("{0} already exists; choose another name or remove it first")]
    Exists(PathBuf),
    #[error("{0} is in use by a running server: stop it before restoring")]
    InUse(PathBuf),
    #[error("{path} is not a backup of this system: {why}")]
    NotABackup { path: PathBuf, why: String },
    #[error(
        "{path} was made by a newer coffee (it has migration {owner} {version}, which this binary does not know): \
         restore it with that version"
    )]
    Newer { path: PathBuf, owner: String, version: i64 },
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
    #[error("{what}: {source}")]
    Sqlite { what: String, source: rusqlite::Error },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

fn sql(what: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Sqlite { what, source }
}

/// What a backup file holds, as read when it was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    pub bytes: u64,
    /// Events in the journal.
    pub events: i64,
    /// Messages still waiting in the consumers' queues.
    pub queued: i64,
    pub dead_letters: i64,
}

#[derive(Debug)]
pub struct BackedUp {
    pub contents: Contents,
    pub took: Duration,
}

#[derive(Debug)]
pub struct Restored {
    pub contents: Contents,
    /// Where the database that was there before now is (`None` if there was none).
    pub replaced: Option<PathBuf>,
}

/// Copies the database at `db` (a server may be running on it) into the new file `to`.
pub fn backup(db: &Path, to: &Path) -> Result<BackedUp, BackupError> {
    let started = Instant::now();
    if !db.is_file() {
        return Err(BackupError::NoDatabase(db.to_path_buf()));
    }
    if to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    let partial = with_suffix(to, ".partial");
    // Left by a backup that was killed: never a complete file (see the module's comment).
    let _ = std::fs::remove_file(&partial);
    let target = partial.to_str().ok_or_else(|| BackupError::Io {
        what: format!("{} is not a UTF-8 path", partial.display()),
        source: std::io::ErrorKind::InvalidInput.into(),
    })?;
    {
        // Read-only: a backup never writes to the live database (nor creates one).
        let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .map_err(sql(format!("cannot open {}", db.display())))?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql("cannot set a busy timeout"))?;
        conn.execute("VACUUM INTO ?1", [target]).map_err(sql(format!("cannot copy {}", db.display())))?;
    }
    let contents = check(&partial, &[]).inspect_err(|_| {
        let _ = std::fs::remove_file(&partial);
    })?;
    durable(&partial)?;
    std::fs::rename(&partial, to).map_err(io(format!("cannot rename {} to {}", partial.display(), to.display())))?;
    durable_dir(to)?;
    Ok(BackedUp { contents, took: started.elapsed() })
}

/// Puts the backup `from` in place of the database at `db`, which no server may be running on.
/// `known` are the migrations this binary applies (beside the bus's own): a backup with any
/// other is refused, as this binary would not understand its tables.
pub fn restore(from: &Path, db: &Path, known: &[Migration]) -> Result<Restored, BackupError> {
    let contents = check(from, known)?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(format!("cannot create {}", dir.display())))?;
    }
    // Held until the new file is in place: a server starting meanwhile waits for nothing and
    // is refused, as it would be beside another server.
    let _lock = match super::try_lock_data_file(db).map_err(io("cannot lock the data directory"))? {
        Some(lock) => lock,
        None => return Err(BackupError::InUse(db.to_path_buf())),
    };
    let replaced = if db.exists() {
        let aside = with_suffix(db, &format!(".before-restore-{}", jiff::Timestamp::now().as_second()));
        // The log and its index move with the file, under the names SQLite looks for beside
        // it, so the old database stays whole (and openable) with its last commits.
        for (from, to) in [("", ""), ("-wal", "-wal"), ("-shm", "-shm")] {
            let (src, dst) = (with_suffix(db, from), with_suffix(&aside, to));
            if src.exists() {
                std::fs::rename(&src, &dst).map_err(io(format!(
                    "cannot move {} aside to {}",
                    src.display(),
                    dst.display()
                )))?;
            }
        }
        Some(aside)
    } else {
        None
    };
    let incoming = with_suffix(db, ".restoring");
    std::fs::copy(from, &incoming).map_err(io(format!("cannot copy {} to {}", from.display(), incoming.display())))?;
    durable(&incoming)?;
    std::fs::rename(&incoming, db).map_err(io(format!("cannot rename {} to {}", incoming.display(), db.display())))?;
    durable_dir(db)?;
    Ok(Restored { contents, replaced })
}

/// Checks that `path` is an undamaged database of this system, and reads what it holds. With
/// `known` not empty, also that every migration it records is the bus's or one of `known`.
pub fn check(path: &Path, known: &[Migration]) -> Result<Contents, BackupError> {
    let not = |why: &str| BackupError::NotABackup { path: path.to_path_buf(), why: why.to_owned() };
    if !path.is_file() {
        return Err(not("no such file"));
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| not(&e.to_string()))?;
    let integrity: String =
        conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).map_err(|e| not(&e.to_string()))?;
    if integrity != "ok" {
        return Err(not(&format!("damaged ({integrity})")));
    }
    let has_bus = conn
        .query_row("SELECT 1 FROM schema_migrations WHERE owner = 'bus' AND version = 1", [], |_| Ok(()))
        .optional()
        .map_err(|e| not(&format!("no migrations table ({e})")))?;
    if has_bus.is_none() {
        return Err(not("it has no bus tables"));
    }
    if !known.is_empty() {
        let bus = bus_migrations();
        let mut stmt =
            conn.prepare("SELECT owner, version FROM schema_migrations").map_err(sql("reading migrations"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(sql("reading migrations"))?;
        for row in rows {
            let (owner, version) = row.map_err(sql("reading migrations"))?;
            let knows = bus.iter().chain(known).any(|m| m.owner == owner && i64::from(m.version) == version);
            if !knows {
                return Err(BackupError::Newer { path: path.to_path_buf(), owner, version });
            }
        }
    }
    let count = |table: &str| -> Result<i64, BackupError> {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .map_err(sql(format!("counting {table}")))
    };
    let bytes = std::fs::metadata(path).map_err(io(format!("cannot read {}", path.display())))?.len();
    Ok(Contents {
        bytes,
        events: count("bus_events")?,
        queued: count("bus_deliveries")?,
        dead_letters: count("bus_dead_letters")?,
    })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn durable(path: &Path) -> Result<(), BackupError> {
    File::open(path).and_then(|f| f.sync_all()).map_err(io(format!("cannot flush {} to disk", path.display())))
}

/// Makes a rename in `path`'s directory durable.
fn durable_dir(path: &Path) -> Result<(), BackupError> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    File::open(dir).and_then(|f| f.sync_all()).map_err(io(format!("cannot flush {} to disk", dir.display())))
}
