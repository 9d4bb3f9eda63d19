//! The bus's tables in the SQLite file (the journal, the queues, the inbox, the dead letters),
//! and the migration runner that applies them and each service's.

use rusqlite::{Connection, TransactionBehavior, params};

use super::{db_err, now_ms};
use crate::migrate::{MIGRATIONS_TABLE, Migration};
use crate::store::StoreError;

pub(super) fn bus_migrations() -> Vec<Migration> {
    vec![
        Migration {
            owner: "bus",
            version: 1,
            name: "journal, queues, inbox, dead letters",
            sql: concat!(
                crate::journal_table!("INTEGER PRIMARY KEY AUTOINCREMENT"),
                "CREATE TABLE bus_deliveries (
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
            ) WITHOUT ROWID;"
            ),
        },
        crate::migrate::SEQUENCES,
        crate::migrate::TIMERS,
    ]
}

pub(super) fn apply_migrations(conn: &mut Connection, migrations: &[Migration]) -> Result<(), StoreError> {
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
