//! Where a process keeps its records and exchanges its events: one SQLite file that is also the
//! bus (the embedded mode), or a PostgreSQL schema per service with NATS JetStream as the bus
//! (the distributed mode). The rest of the wiring never names a backend: it asks this one for a
//! service's store, a consumer's feed, the live events and the dead letters.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use coffee_bus::nats::{NatsBus, NatsOptions};
use coffee_bus::postgres::PgStore;
use coffee_bus::sqlite::{Durability, SqliteOptions, SqliteStore};
use coffee_bus::{Consumer, DeadLetters, DeliveryOptions, LiveFeed, Store};
use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admin::Metrics;
use crate::services::{self, ServiceKind};

/// How long the metrics wait for the broker's count of the queues.
const BROKER_WITHIN: std::time::Duration = std::time::Duration::from_millis(800);

/// The name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "coffee.db";

/// Which backend, as configured.
#[derive(Debug, Clone)]
pub enum BackendConfig {
    Embedded {
        data_dir: PathBuf,
        durability: Durability,
    },
    Distributed {
        nats: NatsOptions,
        /// PostgreSQL; `None` for a process that runs no service (the gateway alone).
        database: Option<String>,
        pool: u32,
    },
}

impl BackendConfig {
    /// Where the data lives, for the start-up log line.
    pub fn describe(&self) -> String {
        match self {
            BackendConfig::Embedded { data_dir, .. } => format!("SQLite in {}", data_dir.display()),
            BackendConfig::Distributed { nats, database: Some(db), .. } => {
                format!("NATS JetStream at {} and PostgreSQL at {}", nats.url, redact(db))
            }
            BackendConfig::Distributed { nats, database: None, .. } => format!("NATS JetStream at {}", nats.url),
        }
    }
}

pub enum Backend {
    Embedded(Arc<SqliteStore>),
    Distributed(Box<Distributed>),
}

pub struct Distributed {
    bus: NatsBus,
    database: Option<String>,
    pool: u32,
    /// The services' stores, as they are opened.
    stores: std::sync::Mutex<Vec<Arc<PgStore>>>,
}

impl Backend {
    pub async fn open(config: &BackendConfig) -> anyhow::Result<Self> {
        match config {
            BackendConfig::Embedded { data_dir, durability } => {
                std::fs::create_dir_all(data_dir)
                    .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
                let path = data_dir.join(DATABASE_FILE);
                let options =
                    SqliteOptions { path: path.clone(), durability: *durability, rules: services::rules(), readers: 4 };
                let store = SqliteStore::open(options, &services::migrations())
                    .with_context(|| format!("cannot open the database {}", path.display()))?;
                Ok(Backend::Embedded(store))
            }
            BackendConfig::Distributed { nats, database, pool } => {
                let bus = NatsBus::connect(nats.clone())
                    .await
                    .with_context(|| format!("cannot use NATS JetStream at {}", nats.url))?;
                let stores = Default::default();
                Ok(Backend::Distributed(Box::new(Distributed { bus, database: database.clone(), pool: *pool, stores })))
            }
        }
    }

    /// The store `kind` writes through (with the relay that forwards its outbox, on NATS).
    pub async fn store_for(
        &self,
        kind: ServiceKind,
        shutdown: &CancellationToken,
        tasks: &mut Vec<JoinHandle<()>>,
    ) -> anyhow::Result<Arc<dyn Store>> {
        self.store_of(kind.name(), kind.schema(), kind.migrations(), shutdown, tasks).await
    }

    /// The store of the part of the system called `name`, in PostgreSQL schema `schema` with
    /// `migrations` (the embedded mode's one store has every migration already).
    pub async fn store_of(
        &self,
        name: &str,
        schema: &str,
        migrations: &[coffee_bus::Migration],
        shutdown: &CancellationToken,
        tasks: &mut Vec<JoinHandle<()>>,
    ) -> anyhow::Result<Arc<dyn Store>> {
        match self {
            Backend::Embedded(store) => Ok(store.clone()),
            Backend::Distributed(d) => {
                let Distributed { bus, database, pool, stores } = d.as_ref();
                let Some(url) = database else {
                    anyhow::bail!("the {name} needs --database postgres://...");
                };
                // Every store also keeps its process's idempotency keys.
                let migrations = [migrations, coffee_http::idempotency::MIGRATIONS].concat();
                let store = PgStore::connect(url, schema, &migrations, *pool)
                    .await
                    .with_context(|| format!("cannot use PostgreSQL schema {schema} at {}", redact(url)))?;
                tasks.push(bus.start_relay(store.clone(), shutdown.clone()));
                if let Ok(mut stores) = stores.lock() {
                    stores.push(store.clone());
                }
                Ok(store)
            }
        }
    }

    /// Feeds `consumer` from its queue until `shutdown`.
    pub fn start_consumer(
        &self,
        store: &Arc<dyn Store>,
        consumer: Consumer,
        delivery: DeliveryOptions,
        shutdown: CancellationToken,
    ) -> JoinHandle<()> {
        match self {
            Backend::Embedded(sqlite) => {
                coffee_bus::embedded::start_consumer(sqlite.clone(), consumer, delivery, shutdown)
            }
            Backend::Distributed(d) => {
                d.bus.start_consumer(store.clone(), consumer, delivery.retry, delivery.concurrency, shutdown)
            }
        }
    }

    /// Every event as it commits (embedded) or reaches the stream (NATS), for live watchers.
    pub fn live_feed(&self, shutdown: CancellationToken) -> LiveFeed {
        match self {
            Backend::Embedded(store) => {
                let store = store.clone();
                Arc::new(move || store.subscribe_live())
            }
            Backend::Distributed(d) => d.bus.live_feed(shutdown),
        }
    }

    /// The events of `event_type` published since `since` that this process cannot read from a
    /// store of its own: on NATS, from the stream; the embedded store has them all already.
    pub async fn replay(
        &self,
        event_type: &str,
        since: coffee_domain::Millis,
    ) -> anyhow::Result<Vec<coffee_bus::Envelope>> {
        match self {
            Backend::Embedded(_) => Ok(Vec::new()),
            Backend::Distributed(d) => d
                .bus
                .replay(event_type, since.0)
                .await
                .with_context(|| format!("cannot read back {event_type} from NATS")),
        }
    }

    /// The NATS bus, in the distributed mode.
    pub fn nats(&self) -> Option<NatsBus> {
        match self {
            Backend::Embedded(_) => None,
            Backend::Distributed(d) => Some(d.bus.clone()),
        }
    }

    /// The bus's connection, for `/readyz`: `None` for the embedded bus (it is the store).
    pub fn bus_client(&self) -> Option<async_nats::Client> {
        match self {
            Backend::Embedded(_) => None,
            Backend::Distributed(d) => Some(d.bus.client().clone()),
        }
    }

    pub fn dead_letters(&self) -> Arc<dyn DeadLetters> {
        match self {
            Backend::Embedded(store) => store.clone(),
            Backend::Distributed(d) => Arc::new(d.bus.clone()),
        }
    }

    /// Counters of the backend's work, for `/api/admin/metrics` and `/metrics`: each store's
    /// commits and the events they published, the queues of `consumers` (this process's), the
    /// SQLite writer's batches, and the outbox length of each service in this process (events
    /// committed but not yet on the broker: non-zero for long while NATS is unreachable).
    pub fn metrics(&self, consumers: Vec<String>) -> Metrics {
        let consumers = Arc::new(consumers);
        match self {
            Backend::Embedded(store) => {
                let store = store.clone();
                Arc::new(move || {
                    let (store, consumers) = (store.clone(), consumers.clone());
                    async move {
                        let queues = store.queue_stats(&consumers).await;
                        serde_json::json!({
                            "sqliteWriter": store.writer_stats(),
                            "stores": { "sqlite": store.commits() },
                            "queues": queues.ok(),
                        })
                    }
                    .boxed()
                })
            }
            Backend::Distributed(d) => {
                let stores = d.stores.lock().map(|s| s.clone()).unwrap_or_default();
                let bus = d.bus.clone();
                Arc::new(move || {
                    let (stores, bus, consumers) = (stores.clone(), bus.clone(), consumers.clone());
                    async move {
                        let mut outboxes = serde_json::Map::new();
                        let mut commits = serde_json::Map::new();
                        for store in &stores {
                            let waiting =
                                store.outbox_len().await.map_or(serde_json::Value::Null, serde_json::Value::from);
                            outboxes.insert(store.schema().to_owned(), waiting);
                            commits.insert(store.schema().to_owned(), serde_json::json!(store.commits()));
                        }
                        // Asked of the broker only while it is there, and briefly: metrics must
                        // answer while NATS is down (that is when they are read).
                        let connected = bus.client().connection_state() == async_nats::connection::State::Connected;
                        let queues = match connected {
                            true => tokio::time::timeout(BROKER_WITHIN, bus.queue_stats(&consumers)).await.ok(),
                            false => None,
                        };
                        let queues = queues.and_then(Result::ok);
                        serde_json::json!({ "outbox": outboxes, "stores": commits, "queues": queues })
                    }
                    .boxed()
                })
            }
        }
    }

    /// Closes the stores once the tasks using them have ended (the last batch commits).
    pub fn close(&self) -> BoxFuture<'static, ()> {
        match self {
            Backend::Embedded(store) => {
                let store = store.clone();
                Box::pin(async move { store.close().await })
            }
            Backend::Distributed(d) => {
                let stores = d.stores.lock().map(|s| s.clone()).unwrap_or_default();
                Box::pin(async move {
                    for store in stores {
                        store.close().await;
                    }
                })
            }
        }
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(super::redact("postgres://coffee:s3cret@db:5432/x"), "postgres://coffee:***@db:5432/x");
        assert_eq!(super::redact("postgres://coffee@db/x"), "postgres://coffee@db/x");
        assert_eq!(super::redact("postgres://db/x"), "postgres://db/x");
    }
}
