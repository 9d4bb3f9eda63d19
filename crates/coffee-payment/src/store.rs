//! The payment service's tables. The SQL is portable between SQLite and PostgreSQL.
//!
//! One payment per order, and one intent per payment: both enforced by a UNIQUE order_id.

use coffee_bus::Migration;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        owner: crate::SERVICE,
        version: 1,
        name: "payments",
        sql: "CREATE TABLE payments (
            id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL UNIQUE,
            customer_id TEXT NOT NULL,
            day TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            version BIGINT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX payments_by_day ON payments (day, created_at);",
    },
    Migration {
        owner: crate::SERVICE,
        version: 2,
        name: "the simulated provider's payment intents",
        sql: "CREATE TABLE simulated_payment_intents (
            id TEXT PRIMARY KEY,
            order_id TEXT NOT NULL UNIQUE,
            customer_id TEXT NOT NULL,
            day TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            version BIGINT NOT NULL,
            body TEXT NOT NULL
        );",
    },
];
