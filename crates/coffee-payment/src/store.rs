//! The payment service's tables. The SQL is portable between SQLite and PostgreSQL.
//!
//! One payment per order, and one intent per payment: both enforced by a UNIQUE order_id.

use coffee_bus::{Migration, record_table};

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        owner: crate::SERVICE,
        version: 1,
        name: "payments",
        sql: concat!(
            record_table!("payments", one_per_order),
            "CREATE INDEX payments_by_day ON payments (day, created_at);"
        ),
    },
    Migration {
        owner: crate::SERVICE,
        version: 2,
        name: "the simulated provider's payment intents",
        sql: record_table!("simulated_payment_intents", one_per_order),
    },
];
