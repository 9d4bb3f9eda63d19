//! The identity service's tables: staff accounts (one per name) and the sessions that ended
//! (one row per session or removed member of staff).

use coffee_bus::{Migration, record_table};

pub const MIGRATIONS: &[Migration] = &[Migration {
    owner: crate::SERVICE,
    version: 1,
    name: "staff and ended sessions",
    sql: concat!(
        record_table!("staff", one_per_order),
        record_table!("ended_sessions", one_per_order),
        "CREATE INDEX ended_sessions_by_day ON ended_sessions (day, created_at);"
    ),
}];
