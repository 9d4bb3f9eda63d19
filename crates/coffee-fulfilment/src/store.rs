//! The fulfilment service's tables. The SQL is portable between SQLite and PostgreSQL.
//!
//! One fulfilment per order (a UNIQUE order_id); the barista's queue is a lookup by status.
//! `closed_orders` remembers orders closed before their payment's success arrived (by order id).

use coffee_bus::{Migration, record_table};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        owner: crate::SERVICE,
        version: 1,
        name: "fulfilments",
        sql: concat!(
            record_table!("fulfilments", one_per_order),
            "CREATE INDEX fulfilments_by_day ON fulfilments (day, created_at);
            CREATE INDEX fulfilments_by_status ON fulfilments (status, created_at);"
        ),
    },
    Migration {
        owner: crate::SERVICE,
        version: 2,
        name: "orders closed before they were paid",
        sql: record_table!("closed_orders"),
    },
];
