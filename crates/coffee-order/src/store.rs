//! The order service's tables. The SQL is portable between SQLite and PostgreSQL.

use coffee_bus::{Migration, record_table_sql};

pub const MIGRATIONS: &[Migration] =
    &[Migration { owner: crate::SERVICE, version: 1, name: "orders", sql: record_table_sql!("orders") }];
