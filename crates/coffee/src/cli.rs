//! The command line: every command and flag of `coffee`. Flags also read environment
//! variables (named on each); the deployment files are checked against this definition.

use clap::{Parser, Subcommand};

use crate::backup::{BackupArgs, RestoreArgs};
use crate::bench::BenchArgs;
use crate::config::{GatewayConfig, ServeConfig, ServiceConfig};
use crate::dlq::DlqArgs;
use crate::doctor::DoctorArgs;
use crate::health::HealthArgs;
use crate::staff::StaffArgs;

/// Event Driven Coffee: order, pay, make and collect coffee, the event-driven way.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// How log lines are written to stderr: `text` for people, `json` (one object a line) for
    /// log collectors.
    #[arg(long, global = true, env = "COFFEE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole system in this process: on the embedded durable store by default, or
    /// on NATS JetStream and PostgreSQL (--bus nats://... --database postgres://...).
    Serve(ServeConfig),
    /// Run the order service alone (NATS JetStream and PostgreSQL).
    Order(ServiceConfig),
    /// Run the payment service alone (NATS JetStream and PostgreSQL).
    Payment(ServiceConfig),
    /// Run the fulfilment service alone (NATS JetStream and PostgreSQL).
    Fulfilment(ServiceConfig),
    /// Run the GraphQL gateway and web app alone, calling the services over HTTP.
    Gateway(GatewayConfig),
    /// Generate load against a running system and report sagas per second and latency.
    Bench(BenchArgs),
    /// Show or replay the dead-letter queues of a running system.
    Dlq(DlqArgs),
    /// Add, list or remove staff accounts (baristas and admins).
    Staff(StaffArgs),
    /// Copy the embedded store (the data directory's database) into a new file, while the
    /// server runs.
    Backup(BackupArgs),
    /// Put a backup back into a data directory no server is running on.
    Restore(RestoreArgs),
    /// Ask a running process whether it is ready (its `/readyz`): exit 0 if so, for health
    /// checks.
    Health(HealthArgs),
    /// Check the configuration, the data directory or database, NATS and its streams, the
    /// clock and free disk; say what is wrong and how to fix it (exit 1 when a check fails).
    Doctor(DoctorArgs),
    /// Print the event catalogue (docs/events.md): every event, its producer and consumers.
    Events,
    /// Print the events' AsyncAPI 3.0 document (docs/asyncapi.json): channels, payloads, producers, consumers.
    Asyncapi,
    /// Print the REST API's OpenAPI 3.1 document (docs/openapi.json), as `coffee serve` serves it.
    Openapi,
}

impl Command {
    /// The command's name, as typed (`serve`, `order`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Serve(_) => "serve",
            Command::Order(_) => "order",
            Command::Payment(_) => "payment",
            Command::Fulfilment(_) => "fulfilment",
            Command::Gateway(_) => "gateway",
            Command::Bench(_) => "bench",
            Command::Dlq(_) => "dlq",
            Command::Staff(_) => "staff",
            Command::Backup(_) => "backup",
            Command::Restore(_) => "restore",
            Command::Health(_) => "health",
            Command::Doctor(_) => "doctor",
            Command::Events => "events",
            Command::Openapi => "openapi",
            Command::Asyncapi => "asyncapi",
        }
    }
}
