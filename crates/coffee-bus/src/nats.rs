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
//! - Within a replica, messages of one order are handled one at a time in stream order.
//!   Across replicas, and after a failed attempt, a later event of an order may be handled
//!   before an earlier one; every reaction converges whatever the order (`coffee_domain::saga`).
//! - A replica reports the messages it holds (waiting their turn or being handled) in progress
//!   every third of the ack wait, so the ack wait can be short: a dead replica's messages go to
//!   another within it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, AckKind, consumer, stream};
use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::consumer::{Consumer, RetryPolicy, handle_delivery};
use crate::envelope::Envelope;
use crate::live::LiveFeed;
use crate::postgres::PgStore;
use crate::store::{DeadLetter, DeadLetters, Store, StoreError};

pub const STREAM: &str = "COFFEE_EVENTS";
pub const DEAD_LETTER_STREAM: &str = "COFFEE_DEAD_LETTERS";
const EVENT_SUBJECTS: &str = "coffee.>";
const REDRIVE_PREFIX: &str = "coffee.redrive.";
const DEAD_LETTER_PREFIX: &str = "coffee-dlq.";

#[derive(Debug, Clone)]
pub struct NatsOptions {
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

fn js_err(e: impl std::fmt::Display) -> BusError {
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
            .connect(&options.url)
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
        tokio::spawn(async move { relay(js, store, shutdown).await })
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
        tokio::spawn(async move { bus.consume(store, consumer, retry, concurrency, shutdown).await })
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
                    tokio::spawn(watch(self.js.clone(), tx.clone(), shutdown));
                    tx
                }
            }
        };
        Arc::new(move || sender.subscribe())
    }

    async fn consume(
        self,
        store: Arc<dyn Store>,
        consumer: Consumer,
        retry: RetryPolicy,
        concurrency: usize,
        shutdown: CancellationToken,
    ) {
        let name = consumer.name().to_owned();
        let mut filters = consumer.rule.event_types().unwrap_or_else(|| vec![EVENT_SUBJECTS.to_owned()]);
        if filters.iter().all(|f| f != EVENT_SUBJECTS) {
            filters.push(format!("{REDRIVE_PREFIX}{name}"));
        }
        let config = consumer::pull::Config {
            durable_name: Some(name.clone()),
            filter_subjects: filters,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: self.options.ack_wait,
            // Dead-lettering is ours (after `retry.max_attempts`); the broker never gives up.
            max_deliver: -1,
            max_ack_pending: (concurrency * 8) as i64,
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        };
        let mut pause = Duration::from_millis(200);
        'connect: while !shutdown.is_cancelled() {
            let pulled = async {
                let stream = self.js.get_stream(STREAM).await.map_err(js_err)?;
                let durable = stream.create_consumer(config.clone()).await.map_err(js_err)?;
                durable.messages().await.map_err(js_err)
            }
            .await;
            let mut messages = match pulled {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(consumer = %name, error = %e, "cannot reach the stream; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => break 'connect,
                        _ = tokio::time::sleep(pause) => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            pause = Duration::from_millis(200);
            // Messages of one order wait their turn: `busy` orders have a handler running.
            let mut waiting: HashMap<String, VecDeque<(jetstream::Message, Envelope)>> = HashMap::new();
            let mut busy: HashSet<String> = HashSet::new();
            let mut ready: VecDeque<String> = VecDeque::new();
            let mut in_flight: JoinSet<String> = JoinSet::new();
            // Held messages are kept alive at the broker, so a short ack wait hands a dead
            // replica's messages to another soon without redelivering a live one's.
            let mut keep_alive = tokio::time::interval(progress_interval(self.options.ack_wait));
            keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let stopping = loop {
                while in_flight.len() < concurrency {
                    let Some(subject) = ready.pop_front() else { break };
                    let Some((message, envelope)) = waiting.get_mut(&subject).and_then(|q| q.pop_front()) else {
                        continue;
                    };
                    busy.insert(subject.clone());
                    let (store, consumer, name, js) = (store.clone(), consumer.clone(), name.clone(), self.js.clone());
                    let ack_wait = self.options.ack_wait;
                    in_flight.spawn(async move {
                        deliver(&js, store.as_ref(), &consumer, &name, message, envelope, retry, ack_wait).await;
                        subject
                    });
                }
                let held: usize = waiting.values().map(VecDeque::len).sum();
                tokio::select! {
                    biased;
                    _ = shutdown.cancelled() => break true,
                    _ = keep_alive.tick(), if held > 0 => {
                        for (message, _) in waiting.values().flatten() {
                            let _ = message.ack_with(AckKind::Progress).await;
                        }
                    }
                    Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                        if let Ok(subject) = done {
                            busy.remove(&subject);
                            if waiting.get(&subject).is_some_and(|q| !q.is_empty()) {
                                ready.push_back(subject);
                            } else {
                                waiting.remove(&subject);
                            }
                        }
                    }
                    next = messages.next(), if held < concurrency * 4 => match next {
                        Some(Ok(message)) => {
                            let Some(envelope) = decode(&message) else {
                                // Not an envelope: nothing can handle it; keep it for inspection.
                                let _ = dead_letter(&self.js, &name, &message, 0, "not a CloudEvents envelope").await;
                                let _ = message.ack_with(AckKind::Term).await;
                                continue;
                            };
                            if !consumer.rule.matches(&envelope) && !message.subject.starts_with(REDRIVE_PREFIX) {
                                let _ = message.ack().await;
                                continue;
                            }
                            let subject = envelope.subject.clone();
                            let queue = waiting.entry(subject.clone()).or_default();
                            queue.push_back((message, envelope));
                            if queue.len() == 1 && !busy.contains(&subject) {
                                ready.push_back(subject);
                            }
                        }
                        Some(Err(e)) => {
                            tracing::warn!(consumer = %name, error = %e, "pulling failed; reconnecting");
                            break false;
                        }
                        None => break false,
                    },
                }
            };
            // Hand back what is held but not started, so another replica can take it now.
            for (_, queue) in waiting.drain() {
                for (message, _) in queue {
                    let _ = message.ack_with(AckKind::Nak(None)).await;
                }
            }
            // Finish the messages in hand; what does not finish in time is redelivered.
            let drained =
                tokio::time::timeout(Duration::from_secs(10), async { while in_flight.join_next().await.is_some() {} })
                    .await;
            if drained.is_err() {
                in_flight.abort_all();
            }
            if stopping {
                break 'connect;
            }
        }
        tracing::debug!(consumer = %name, "consumer stopped");
    }
}

fn decode(message: &jetstream::Message) -> Option<Envelope> {
    Envelope::from_bytes(&message.payload).ok()
}

/// How often a held message is reported in progress: well within the ack wait.
fn progress_interval(ack_wait: Duration) -> Duration {
    (ack_wait / 3).max(Duration::from_millis(20))
}

#[allow(clippy::too_many_arguments)] // the pieces of one delivery, passed as they are
async fn deliver(
    js: &jetstream::Context,
    store: &dyn Store,
    consumer: &Consumer,
    name: &str,
    message: jetstream::Message,
    envelope: Envelope,
    retry: RetryPolicy,
    ack_wait: Duration,
) {
    let handling = handle_delivery(store, name, consumer.handler.as_ref(), &envelope, None);
    tokio::pin!(handling);
    let mut keep_alive = tokio::time::interval_at(
        tokio::time::Instant::now() + progress_interval(ack_wait),
        progress_interval(ack_wait),
    );
    let handled = loop {
        tokio::select! {
            handled = &mut handling => break handled,
            _ = keep_alive.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    match handled {
        Ok(_) => {
            if let Err(e) = message.ack().await {
                // The effects are committed; a redelivery will find the inbox mark.
                tracing::warn!(consumer = name, event = %envelope.id, error = %e, "ack failed");
            }
        }
        Err(error) => {
            let attempts = message.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
            if attempts >= retry.max_attempts {
                tracing::error!(consumer = name, event = %envelope.id, r#type = %envelope.event_type,
                    subject = %envelope.subject, attempts, error = %error, "giving up: message moved to the dead-letter stream");
                match dead_letter(js, name, &message, attempts, &error.to_string()).await {
                    Ok(()) => {
                        let _ = message.ack_with(AckKind::Term).await;
                    }
                    Err(e) => {
                        tracing::error!(consumer = name, error = %e, "cannot dead-letter; will retry");
                        let _ = message.ack_with(AckKind::Nak(Some(retry.backoff(attempts)))).await;
                    }
                }
            } else {
                tracing::warn!(consumer = name, event = %envelope.id, r#type = %envelope.event_type,
                    attempts, error = %error, "handler failed; will retry");
                let _ = message.ack_with(AckKind::Nak(Some(retry.backoff(attempts)))).await;
            }
        }
    }
}

const H_CONSUMER: &str = "Coffee-Consumer";
const H_ATTEMPTS: &str = "Coffee-Attempts";
const H_ERROR: &str = "Coffee-Error";
const H_DIED_AT: &str = "Coffee-Died-At";

async fn dead_letter(
    js: &jetstream::Context,
    consumer: &str,
    message: &jetstream::Message,
    attempts: u32,
    error: &str,
) -> Result<(), BusError> {
    let seq = message.info().map(|i| i.stream_sequence).unwrap_or_default();
    let mut headers = HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, format!("{consumer}:{seq}").as_str());
    headers.insert(H_CONSUMER, consumer);
    headers.insert(H_ATTEMPTS, attempts.to_string().as_str());
    let error: String = error.chars().filter(|c| !c.is_control()).take(1000).collect();
    headers.insert(H_ERROR, error.as_str());
    headers.insert(H_DIED_AT, jiff::Timestamp::now().as_millisecond().to_string().as_str());
    js.publish_with_headers(format!("{DEAD_LETTER_PREFIX}{consumer}"), headers, message.payload.clone())
        .await
        .map_err(js_err)?
        .await
        .map_err(js_err)?;
    Ok(())
}

#[async_trait]
impl DeadLetters for NatsBus {
    async fn dead_letters(&self, consumer: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self.read_dead_letters(consumer).await?.into_iter().map(|(letter, _)| letter).collect())
    }

    async fn redrive(&self, consumer: Option<&str>) -> Result<usize, StoreError> {
        let letters = self.read_dead_letters(consumer).await?;
        let stream = self.js.get_stream(DEAD_LETTER_STREAM).await.map_err(bus_to_store)?;
        let mut count = 0;
        for (letter, payload) in letters {
            let mut headers = HeaderMap::new();
            headers.insert(
                async_nats::header::NATS_MESSAGE_ID,
                format!("redrive:{}:{}", letter.seq, letter.event.id).as_str(),
            );
            self.js
                .publish_with_headers(format!("{REDRIVE_PREFIX}{}", letter.consumer), headers, payload)
                .await
                .map_err(bus_to_store)?
                .await
                .map_err(bus_to_store)?;
            stream.delete_message(letter.seq as u64).await.map_err(bus_to_store)?;
            count += 1;
        }
        Ok(count)
    }
}

fn bus_to_store(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("NATS: {e}"))
}

impl NatsBus {
    async fn read_dead_letters(&self, consumer: Option<&str>) -> Result<Vec<(DeadLetter, bytes::Bytes)>, StoreError> {
        let mut stream = self.js.get_stream(DEAD_LETTER_STREAM).await.map_err(bus_to_store)?;
        let state = stream.info().await.map_err(bus_to_store)?.state.clone();
        let mut letters = Vec::new();
        if state.messages == 0 {
            return Ok(letters);
        }
        for seq in state.first_sequence..=state.last_sequence {
            let Ok(raw) = stream.get_raw_message(seq).await else { continue };
            let header = |name: &str| raw.headers.get(name).map(|v| v.as_str().to_owned());
            let owner = header(H_CONSUMER).unwrap_or_default();
            if consumer.is_some_and(|c| c != owner) {
                continue;
            }
            let Ok(event) = Envelope::from_bytes(&raw.payload) else { continue };
            letters.push((
                DeadLetter {
                    consumer: owner,
                    seq: seq as i64,
                    attempts: header(H_ATTEMPTS).and_then(|a| a.parse().ok()).unwrap_or(0),
                    last_error: header(H_ERROR).unwrap_or_default(),
                    died_at: header(H_DIED_AT).and_then(|d| d.parse().ok()).unwrap_or(0),
                    event,
                },
                raw.payload.clone(),
            ));
        }
        Ok(letters)
    }
}

/// Follows the stream from now on, for live watchers.
async fn watch(js: jetstream::Context, tx: broadcast::Sender<Arc<Envelope>>, shutdown: CancellationToken) {
    let mut pause = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let subscribed = async {
            let stream = js.get_stream(STREAM).await.map_err(js_err)?;
            let ordered = stream
                .create_consumer(consumer::pull::OrderedConfig {
                    filter_subject: EVENT_SUBJECTS.to_owned(),
                    deliver_policy: consumer::DeliverPolicy::New,
                    ..Default::default()
                })
                .await
                .map_err(js_err)?;
            ordered.messages().await.map_err(js_err)
        }
        .await;
        let mut messages = match subscribed {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(error = %e, "live feed: cannot follow the stream yet");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        pause = Duration::from_millis(200);
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return,
                n = messages.next() => n,
            };
            match next {
                Some(Ok(message)) => {
                    if message.subject.starts_with(REDRIVE_PREFIX) {
                        continue;
                    }
                    if let Ok(env) = Envelope::from_bytes(&message.payload) {
                        let _ = tx.send(Arc::new(env));
                    }
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "live feed interrupted; following again");
                    break;
                }
                None => break,
            }
        }
    }
}

/// How long the relay waits for new outbox rows before looking again anyway.
const RELAY_IDLE_POLL: Duration = Duration::from_millis(500);
const RELAY_BATCH: i64 = 512;

async fn relay(js: jetstream::Context, store: Arc<PgStore>, shutdown: CancellationToken) {
    let lock_key = format!("coffee-relay:{}", store.schema());
    let mut pause = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        // Leadership: the session that holds the advisory lock relays; others stand by.
        let mut leader = match store.pool().acquire().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "relay: no database connection");
                if sleep_or_stop(&shutdown, Duration::from_secs(1)).await {
                    return;
                }
                continue;
            }
        };
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(&lock_key)
            .fetch_one(&mut *leader)
            .await
            .unwrap_or(false);
        if !locked {
            drop(leader);
            if sleep_or_stop(&shutdown, Duration::from_secs(1)).await {
                return;
            }
            continue;
        }
        tracing::info!(schema = store.schema(), "relaying this service's outbox to NATS");
        let mut listener = match sqlx::postgres::PgListener::connect_with(store.pool()).await {
            Ok(mut l) => match l.listen(&store.notify_channel()).await {
                Ok(()) => Some(l),
                Err(_) => None,
            },
            Err(_) => None,
        };
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let batch = match store.outbox_batch(RELAY_BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "relay: cannot read the outbox");
                    break;
                }
            };
            if batch.is_empty() {
                // Still the leader? A broken session would have lost the lock.
                if sqlx::query("SELECT 1").execute(&mut *leader).await.is_err() {
                    break;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = store.outbox_notify().notified() => {}
                    _ = async {
                        match listener.as_mut() {
                            Some(l) => { let _ = l.recv().await; }
                            None => std::future::pending::<()>().await,
                        }
                    } => {}
                    _ = tokio::time::sleep(RELAY_IDLE_POLL) => {}
                }
                continue;
            }
            match publish_batch(&js, &batch).await {
                Ok(()) => {
                    let seqs: Vec<i64> = batch.iter().map(|(seq, _)| *seq).collect();
                    if let Err(e) = store.outbox_done(&seqs).await {
                        // Published but still in the outbox: the next pass republishes them
                        // and the broker drops the duplicates by message id.
                        tracing::warn!(error = %e, "relay: cannot clear the outbox");
                    }
                    pause = Duration::from_millis(100);
                }
                Err(e) => {
                    tracing::warn!(error = %e, waiting = batch.len(), "relay: NATS unavailable; events stay in the outbox");
                    if sleep_or_stop(&shutdown, pause).await {
                        break;
                    }
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
            }
        }
        // Dropping the session releases the lock for another replica.
        let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext($1))").bind(&lock_key).execute(&mut *leader).await;
    }
}

/// Publishes a batch in order and waits for the broker to acknowledge every message.
async fn publish_batch(js: &jetstream::Context, batch: &[(i64, String)]) -> Result<(), BusError> {
    let mut acks = Vec::with_capacity(batch.len());
    for (_, json) in batch {
        let env = Envelope::from_bytes(json.as_bytes()).map_err(|e| BusError::JetStream(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, env.id.as_str());
        let ack = js
            .publish_with_headers(env.event_type.clone(), headers, json.clone().into_bytes().into())
            .await
            .map_err(js_err)?;
        acks.push(ack);
    }
    for ack in acks {
        ack.await.map_err(js_err)?;
    }
    Ok(())
}

/// Sleeps, or returns true at once if asked to stop.
async fn sleep_or_stop(shutdown: &CancellationToken, pause: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(pause) => false,
    }
}
