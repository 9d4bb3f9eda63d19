//! The fulfilment service's tables. The SQL is portable between SQLite and PostgreSQL.
//!
//! One fulfilment per order (a UNIQUE order_id); the barista's queue is a lookup by status.
//! `closed_orders` remembers orders closed before their payment's success arrived (by order id).

use coffee_bus::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        owner: crate::SERVICE,
        version: 1,
        name: "fulfilments",
        sql: "CREATE TABLE fulfilments (
        id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL UNIQUE,
        customer_id TEXT NOT NULL,
        day TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        status TEXT NOT NULL,
        version BIGINT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX fulfilments_by_day ON fulfilments (day, created_at);
    CREATE INDEX fulfilments_by_status ON fulfilments (status, created_at);",
    },
    Migration {
        owner: crate::SERVICE,
        version: 2,
        name: "orders closed before they were paid",
        sql: "CREATE TABLE closed_orders (
            id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            day TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            version BIGINT NOT NULL,
            body TEXT NOT NULL
        );",
    },
];
