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

/// Numbers handed out in order (an order's number of the day), the same table on both stores.
pub(crate) const SEQUENCES: Migration = Migration {
    owner: "bus",
    version: 2,
    name: "sequences",
    sql: "CREATE TABLE bus_sequences (name TEXT PRIMARY KEY, value BIGINT NOT NULL);",
};

/// Events to publish later (an unpaid order's payment falling due), the same table on both
/// stores: see [`crate::timers`].
pub(crate) const TIMERS: Migration = Migration {
    owner: "bus",
    version: 3,
    name: "timers",
    sql: "CREATE TABLE bus_timers (id TEXT PRIMARY KEY, due_at BIGINT NOT NULL, body TEXT NOT NULL);
          CREATE INDEX bus_timers_by_due ON bus_timers (due_at);",
};

/// Schedules a timer (`$1` id, `$2` due, `$3` envelope), or moves one already scheduled.
pub(crate) const SCHEDULE_TIMER: &str = "INSERT INTO bus_timers (id, due_at, body) VALUES ($1, $2, $3) \
    ON CONFLICT (id) DO UPDATE SET due_at = excluded.due_at, body = excluded.body";

/// Drops a timer (`$1`): fired, or no longer needed.
pub(crate) const DROP_TIMER: &str = "DELETE FROM bus_timers WHERE id = $1";

/// The timers due by `$1`, soonest first, at most `$2`.
pub(crate) const DUE_TIMERS: &str =
    "SELECT id, due_at, body FROM bus_timers WHERE due_at <= $1 ORDER BY due_at LIMIT $2";

/// Takes the next number of a sequence (`$1`), in the caller's transaction: the row's lock
/// serialises two takers, so each gets its own number.
pub(crate) const NEXT_NUMBER: &str = "INSERT INTO bus_sequences (name, value) VALUES ($1, 1) \
    ON CONFLICT (name) DO UPDATE SET value = bus_sequences.value + 1 RETURNING value";

/// The SQL that creates a record table (see [`crate::store`]): the columns every record table
/// has, portable between SQLite and PostgreSQL. `one_per_order` makes `order_id` unique, for a
/// table that holds one record per order. Each service adds the indexes its lookups need (by
/// day, by customer, by status). A string literal, so it can go into a [`Migration`] with
/// `concat!`.
#[macro_export]
macro_rules! record_table {
    ($name:literal) => {
        $crate::record_table!(@columns $name, "order_id TEXT NOT NULL")
    };
    ($name:literal, one_per_order) => {
        $crate::record_table!(@columns $name, "order_id TEXT NOT NULL UNIQUE")
    };
    (@columns $name:literal, $order_id:literal) => {
        concat!(
            "CREATE TABLE ", $name, " (id TEXT PRIMARY KEY, ", $order_id, ", customer_id TEXT NOT NULL, ",
            "day TEXT NOT NULL, created_at BIGINT NOT NULL, status TEXT NOT NULL, version BIGINT NOT NULL, ",
            "body TEXT NOT NULL);"
        )
    };
}

/// The journal of every event a store published, the same columns on both stores; `$seq` is
/// the store's own auto-increasing primary key, never reused.
#[macro_export]
macro_rules! journal_table {
    ($seq:literal) => {
        concat!(
            "CREATE TABLE bus_events (seq ",
            $seq,
            ", id TEXT NOT NULL, subject TEXT NOT NULL, type TEXT NOT NULL, source TEXT NOT NULL",
            ", time TEXT NOT NULL, body TEXT NOT NULL);",
            "CREATE INDEX bus_events_by_subject ON bus_events (subject, seq);"
        )
    };
}
