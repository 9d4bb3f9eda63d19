//! Versioned schema migrations, applied at start.
//!
//! Each owner (the bus, each service) lists its migrations in order; a table records which
//! ran. The SQL of a record table is portable between SQLite and PostgreSQL, so a service
//! usually has one list for both backends. Applying is serialised: on SQLite by the data
//! directory's lock and an immediate transaction, on PostgreSQL by an advisory lock, so two
//! replicas starting at once do not race.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    pub owner: &'static str,
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    owner TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (owner, version)
)";

/// A record table (see [`crate::store`]) has these columns; each service adds the indexes
/// its lookups need (by day, by customer, by status; a UNIQUE order_id where one record per
/// order is a rule). The SQL is portable between SQLite and PostgreSQL.
///
/// ```sql
/// id TEXT PRIMARY KEY, order_id TEXT NOT NULL, customer_id TEXT NOT NULL, day TEXT NOT NULL,
/// created_at BIGINT NOT NULL, status TEXT NOT NULL, version BIGINT NOT NULL, body TEXT NOT NULL
/// ```
pub const RECORD_COLUMNS: &str = "id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    day TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL";
