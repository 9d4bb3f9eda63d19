//! The NATS JetStream transport, for services running as separate processes.
//!
//! - One stream, `COFFEE_EVENTS`, holds every event under its type as subject
//!   (`coffee.order.created`, ...). File storage, replicas configurable for a NATS cluster,
//!   and broker-side de-duplication: each event is published with its id as `Nats-Msg-Id`.
//! - Each service's outbox (a table in its PostgreSQL schema, see [`crate::postgres`]) is
//!   relayed to the stream by one replica at a time (a PostgreSQL advisory lock picks it),
//!   oldest first; rows are deleted only once the broker acknowledged them. With NATS down,
//!   services keep accepting work and the outbox holds the events until it returns.
//! - Each consuming service has one durable pull consumer, shared by its replicas (each
//!   message goes to one of them), filtered at the broker by the event types its rule lists;
//!   the full EventBridge pattern is checked again on delivery. A handler's effects and its
//!   inbox mark commit in one PostgreSQL transaction, and the message is acknowledged only
//!   after that commit. A failure is negatively acknowledged with a backoff; after the last
//!   attempt the message is copied to the `COFFEE_DEAD_LETTERS` stream (subject
//!   `coffee-dlq.<consumer>`) and terminated. Redrive republishes a dead letter on
//!   `coffee.redrive.<consumer>`, which only that consumer receives.
//! - [`consume`]: a durable consumer's replica; [`relay`]: the outbox relay; [`dead_letters`]:
//!   the dead-letter stream and redrive; [`live`]: the live feed.
//! - Within a replica, messages of one order are handled one at a time in stream order.
//!   Across replicas, and after a failed attempt, a later event of an order may be handled
//!   before an earlier one; every reaction converges whatever the order (`coffee_domain::saga`).
//! - A replica reports the messages it holds (waiting their turn or being handled) in progress
//!   every third of the ack wait, so the ack wait can be short: a dead replica's messages go to
//!   another within it.

mod consume;
mod dead_letters;
mod live;
mod relay;

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::consumer::{Consumer, RetryPolicy};
use crate::envelope::Envelope;
use crate::live::LiveFeed;
use crate::postgres::PgStore;
use crate::store::Store;

pub const STREAM: &str = "COFFEE_EVENTS";
pub const DEAD_LETTER_STREAM: &str = "COFFEE_DEAD_LETTERS";
pub(crate) const EVENT_SUBJECTS: &str = "coffee.>";
pub(crate) const REDRIVE_PREFIX: &str = "coffee.redrive.";
pub(crate) const DEAD_LETTER_PREFIX: &str = "coffee-dlq.";

#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// A server's URL, or a cluster's, comma-separated.
    pub url: String,
    /// Stream replicas (1 on a single server; 3 on a three-node cluster).
    pub replicas: usize,
    /// How long the broker remembers message ids to drop duplicates.
    pub dedup_window: Duration,
    /// How long events stay in the stream.
    pub max_age: Duration,
    /// How long a delivered message may go unacknowledged before the broker redelivers it
    /// (to another replica: a dead one's messages come back this soon). A replica reports the
    /// messages it holds in progress well within it, however long their handling takes.
    pub ack_wait: Duration,
}

impl NatsOptions {
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            replicas: 1,
            dedup_window: Duration::from_secs(120),
            max_age: Duration::from_secs(7 * 24 * 3600),
            ack_wait: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BusError {
    #[error("cannot connect to NATS at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("JetStream: {0}")]
    JetStream(String),
}

pub(crate) fn js_err(e: impl std::fmt::Display) -> BusError {
    BusError::JetStream(e.to_string())
}

/// A connection to the broker, with the streams in place.
#[derive(Clone)]
pub struct NatsBus {
    client: async_nats::Client,
    js: jetstream::Context,
    options: NatsOptions,
    live: Arc<std::sync::Mutex<Option<broadcast::Sender<Arc<Envelope>>>>>,
}

impl NatsBus {
    /// Connects and creates (or updates) the streams with explicit settings.
    pub async fn connect(options: NatsOptions) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .name("coffee")
            .connection_timeout(Duration::from_secs(5))
            // A cluster's nodes, comma-separated: the client fails over between them.
            .connect(options.url.split(',').map(str::trim).collect::<Vec<_>>())
            .await
            .map_err(|e| BusError::Connect { url: options.url.clone(), reason: e.to_string() })?;
        let js = jetstream::new(client.clone());
        let bus = Self { client, js, options, live: Arc::default() };
        bus.ensure_stream(stream::Config {
            name: STREAM.to_owned(),
            subjects: vec![EVENT_SUBJECTS.to_owned()],
            storage: stream::StorageType::File,
            num_replicas: bus.options.replicas,
            duplicate_window: bus.options.dedup_window,
            max_age: bus.options.max_age,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::Old,
            ..Default::default()
        })
        .await?;
        bus.ensure_stream(stream::Config {
            name: DEAD_LETTER_STREAM.to_owned(),
            subjects: vec![format!("{DEAD_LETTER_PREFIX}>")],
            storage: stream::StorageType::File,
            num_replicas: bus.options.replicas,
            duplicate_window: bus.options.dedup_window,
            retention: stream::RetentionPolicy::Limits,
            ..Default::default()
        })
        .await?;
        Ok(bus)
    }

    async fn ensure_stream(&self, config: stream::Config) -> Result<(), BusError> {
        match self.js.get_stream(&config.name).await {
            Ok(_) => self.js.update_stream(&config).await.map(|_| ()).map_err(js_err),
            Err(_) => self.js.create_stream(config).await.map(|_| ()).map_err(js_err),
        }
    }

    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Relays `store`'s outbox to the stream while this replica holds the relay lock.
    pub fn start_relay(&self, store: Arc<PgStore>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        let js = self.js.clone();
        tokio::spawn(async move { relay::relay(js, store, shutdown).await })
    }

    /// Starts one replica of a durable consumer.
    pub fn start_consumer(
        &self,
        store: Arc<dyn Store>,
        consumer: Consumer,
        retry: RetryPolicy,
        concurrency: usize,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let bus = self.clone();
        tokio::spawn(async move { consume::consume(bus, store, consumer, retry, concurrency, shutdown).await })
    }

    /// The events of type `event_type` that reached the stream since `since` (ms since the epoch),
    /// oldest first: what a process starting now must catch up on (sessions that ended).
    pub async fn replay(&self, event_type: &str, since: i64) -> Result<Vec<Envelope>, BusError> {
        live::replay(&self.js, event_type, since).await
    }

    /// Every event as it reaches the stream (an ephemeral, ordered consumer per process).
    pub fn live_feed(&self, shutdown: CancellationToken) -> LiveFeed {
        let sender = {
            let mut slot = self.live.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match &*slot {
                Some(tx) => tx.clone(),
                None => {
                    let (tx, _) = broadcast::channel(65536);
                    *slot = Some(tx.clone());
                    tokio::spawn(live::watch(self.js.clone(), tx.clone(), shutdown));
                    tx
                }
            }
        };
        Arc::new(move || sender.subscribe())
    }
}

/// Sleeps, or returns true at once if asked to stop.
pub(crate) async fn sleep_or_stop(shutdown: &CancellationToken, pause: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(pause) => false,
    }
}
