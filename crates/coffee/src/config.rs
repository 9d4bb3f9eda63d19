//! The configuration of a running system: one typed struct, read once from flags and
//! environment variables (clap reads both), handed to the wiring. Nothing else reads the
//! environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use coffee_bus::RetryPolicy;
use coffee_bus::embedded::DeliveryOptions;
use coffee_bus::sqlite::Durability;

/// How hard SQLite pushes a commit to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sync {
    /// Every acknowledged commit survives a power loss (SQLite synchronous=FULL). The default.
    Full,
    /// Survives a crash of the process but not of the machine (SQLite synchronous=NORMAL).
    Normal,
}

/// `coffee serve`: the whole system in one process.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "COFFEE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the embedded database (created if missing).
    #[arg(long, env = "COFFEE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Durability of commits: `full` survives power loss, `normal` only a process crash.
    #[arg(long, env = "COFFEE_SYNC", value_enum, default_value_t = Sync::Full)]
    pub sync: Sync,
    /// Secret that signs and verifies the payment provider's webhooks (random per start
    /// when unset, which suits the built-in simulated provider).
    #[arg(long, env = "COFFEE_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Delivery attempts before a message goes to its consumer's dead-letter queue.
    #[arg(long, env = "COFFEE_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
    /// Wait before the first redelivery of a failed message, in milliseconds (doubles each time).
    #[arg(long, env = "COFFEE_RETRY_BACKOFF_MS", default_value_t = 200)]
    pub retry_backoff_ms: u64,
    /// Orders each consumer works on at once.
    #[arg(long, env = "COFFEE_CONSUMER_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub consumer_concurrency: u32,
}

impl ServeConfig {
    /// Defaults for a server on a free port with its data in `data_dir` (used by tests).
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            sync: Sync::Full,
            webhook_secret: Some("whsec_test_secret".to_owned()),
            max_attempts: 5,
            retry_backoff_ms: 20,
            consumer_concurrency: 64,
        }
    }

    pub fn durability(&self) -> Durability {
        match self.sync {
            Sync::Full => Durability::Full,
            Sync::Normal => Durability::Normal,
        }
    }

    pub fn delivery(&self) -> DeliveryOptions {
        DeliveryOptions {
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                first_backoff: Duration::from_millis(self.retry_backoff_ms),
                max_backoff: Duration::from_secs(30),
            },
            concurrency: self.consumer_concurrency as usize,
            drain_timeout: Duration::from_secs(10),
        }
    }

    pub fn webhook_secret(&self) -> Vec<u8> {
        match &self.webhook_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => {
                let mut bytes = [0u8; 32];
                rand::fill(&mut bytes);
                hex::encode(bytes).into_bytes()
            }
        }
    }
}
