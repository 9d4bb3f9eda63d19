//! The payment service's tables. The SQL is portable between SQLite and PostgreSQL.

use coffee_bus::{Migration, record_table_sql};

pub const MIGRATIONS: &[Migration] = &[
    Migration { owner: crate::SERVICE, version: 1, name: "payments", sql: record_table_sql!("payments") },
    Migration {
        owner: crate::SERVICE,
        version: 2,
        name: "the simulated provider's payment intents",
        sql: record_table_sql!("simulated_payment_intents"),
    },
];
