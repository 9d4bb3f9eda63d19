//! The order service's tables. The SQL is portable between SQLite and PostgreSQL.
//!
//! Orders are found by id, by day and by customer; the order id is the record id, so
//! `order_id` needs no index of its own. The shop's settings are one row of their own table.

use coffee_bus::{Migration, record_table};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        owner: crate::SERVICE,
        version: 1,
        name: "orders",
        sql: concat!(
            record_table!("orders"),
            "CREATE INDEX orders_by_day ON orders (day, created_at);
            CREATE INDEX orders_by_customer ON orders (customer_id, created_at);"
        ),
    },
    // One row: what the shop's owner set (open, capacity, message).
    Migration { owner: crate::SERVICE, version: 2, name: "shop", sql: record_table!("shop", one_per_order) },
    // One row: the menu as the owner keeps it (none: the original's menu).
    Migration { owner: crate::SERVICE, version: 3, name: "menu", sql: record_table!("menu", one_per_order) },
];
