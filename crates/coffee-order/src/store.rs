//! The order service's tables. The SQL is portable between SQLite and PostgreSQL.
//!
//! Orders are found by id, by day and by customer; the order id is the record id, so
//! `order_id` needs no index of its own.

use coffee_bus::Migration;

pub const MIGRATIONS: &[Migration] = &[Migration {
    owner: crate::SERVICE,
    version: 1,
    name: "orders",
    sql: "CREATE TABLE orders (
        id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        day TEXT NOT NULL,
        created_at BIGINT NOT NULL,
        status TEXT NOT NULL,
        version BIGINT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE INDEX orders_by_day ON orders (day, created_at);
    CREATE INDEX orders_by_customer ON orders (customer_id, created_at);",
}];
