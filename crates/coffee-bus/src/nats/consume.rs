//! One replica of a durable consumer: it pulls the messages its rule selects, holds them FIFO
//! per order (one message of an order in hand at a time), hands them to the handler, and
//! acknowledges each only after the handler's effects and inbox mark are committed. A failed
//! message is negatively acknowledged with a backoff; after the last attempt it is
//! dead-lettered. Held messages are reported in progress within the ack wait, so a short ack wait
//! hands a dead replica's messages to another soon without redelivering a live one's.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer};
use futures::{Stream, StreamExt};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::dead_letters::dead_letter;
use super::{EVENT_SUBJECTS, NatsBus, REDRIVE_PREFIX, STREAM, js_err, sleep_or_stop};
use crate::consumer::{Consumer, RetryPolicy, handle_delivery};
use crate::envelope::Envelope;
use crate::fifo::PerOrder;
use crate::store::Store;

/// Runs the replica until `shutdown`, connecting again whenever the stream is out of reach.
pub(super) async fn consume(
    bus: NatsBus,
    store: Arc<dyn Store>,
    consumer: Consumer,
    retry: RetryPolicy,
    concurrency: usize,
    shutdown: CancellationToken,
) {
    let config = durable_config(&consumer, bus.options.ack_wait, concurrency);
    let mut pause = Duration::from_millis(200);
    while !shutdown.is_cancelled() {
        let messages = match pull(&bus.js, &config).await {
            Ok(messages) => messages,
            Err(e) => {
                tracing::warn!(consumer = %consumer.name(), error = %e, "cannot reach the stream; retrying");
                if sleep_or_stop(&shutdown, pause).await {
                    break;
                }
                pause = (pause * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        pause = Duration::from_millis(200);
        let mut replica = Replica {
            js: bus.js.clone(),
            store: store.clone(),
            consumer: consumer.clone(),
            retry,
            concurrency,
            ack_wait: bus.options.ack_wait,
            held: PerOrder::default(),
            in_flight: JoinSet::new(),
        };
        let stopping = replica.run(messages, &shutdown).await;
        replica.close().await;
        if stopping {
            break;
        }
    }
    tracing::debug!(consumer = %consumer.name(), "consumer stopped");
}

/// The durable consumer all replicas of a service share, filtered at the broker by the event
/// types its rule lists (and its own redrive subject).
fn durable_config(consumer: &Consumer, ack_wait: Duration, concurrency: usize) -> consumer::pull::Config {
    let name = consumer.name();
    let mut filters = consumer.rule.event_types().unwrap_or_else(|| vec![EVENT_SUBJECTS.to_owned()]);
    if filters.iter().all(|f| f != EVENT_SUBJECTS) {
        filters.push(format!("{REDRIVE_PREFIX}{name}"));
    }
    consumer::pull::Config {
        durable_name: Some(name.to_owned()),
        filter_subjects: filters,
        ack_policy: consumer::AckPolicy::Explicit,
        ack_wait,
        // Dead-lettering is ours (after `retry.max_attempts`); the broker never gives up.
        max_deliver: -1,
        max_ack_pending: (concurrency * 8) as i64,
        deliver_policy: consumer::DeliverPolicy::All,
        ..Default::default()
    }
}

async fn pull(
    js: &jetstream::Context,
    config: &consumer::pull::Config,
) -> Result<consumer::pull::Stream, super::BusError> {
    durable(js, config).await?.messages().await.map_err(js_err)
}

/// The durable consumer, created (or updated) with `config`.
async fn durable(
    js: &jetstream::Context,
    config: &consumer::pull::Config,
) -> Result<consumer::Consumer<consumer::pull::Config>, super::BusError> {
    let stream = js.get_stream(STREAM).await.map_err(js_err)?;
    stream.create_consumer(config.clone()).await.map_err(js_err)
}

impl NatsBus {
    /// Each of `consumers`' durable consumers as the broker counts them: messages not yet
    /// acknowledged (waiting, or in a replica's hands) and those redelivered. The broker does
    /// not say how old the oldest is. A consumer not created yet has an empty queue.
    pub async fn queue_stats(&self, consumers: &[String]) -> Result<Vec<crate::stats::QueueStats>, super::BusError> {
        let stream = self.js.get_stream(STREAM).await.map_err(js_err)?;
        let mut stats = Vec::with_capacity(consumers.len());
        for name in consumers {
            stats.push(match stream.consumer_info(name).await {
                Ok(info) => crate::stats::QueueStats {
                    consumer: name.clone(),
                    messages: info.num_pending + info.num_ack_pending as u64,
                    redelivered: info.num_redelivered as u64,
                    oldest_age_seconds: None,
                },
                Err(e) if e.kind() == jetstream::context::ConsumerInfoErrorKind::NotFound => {
                    crate::stats::QueueStats::empty(name)
                }
                Err(e) => return Err(js_err(e)),
            });
        }
        Ok(stats)
    }

    /// The durable consumer that the replicas of `consumer` share, created if it is not there
    /// yet (for tools and tests that look at or take its messages).
    pub async fn durable_consumer(
        &self,
        consumer: &Consumer,
        concurrency: usize,
    ) -> Result<consumer::Consumer<consumer::pull::Config>, super::BusError> {
        durable(&self.js, &durable_config(consumer, self.options.ack_wait, concurrency)).await
    }
}

/// One connection's worth of consuming.
struct Replica {
    js: jetstream::Context,
    store: Arc<dyn Store>,
    consumer: Consumer,
    retry: RetryPolicy,
    concurrency: usize,
    ack_wait: Duration,
    held: PerOrder<(jetstream::Message, Envelope)>,
    /// The handlers running, each answering its order's subject when done.
    in_flight: JoinSet<String>,
}

impl Replica {
    /// Consumes until `shutdown` (true) or until the connection's stream ends (false).
    async fn run(
        &mut self,
        mut messages: impl Stream<Item = Result<jetstream::Message, impl std::fmt::Display>> + Unpin,
        shutdown: &CancellationToken,
    ) -> bool {
        let mut keep_alive = tokio::time::interval(progress_interval(self.ack_wait));
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            self.start_ready();
            // Pull no more than a few times what can run, so other replicas get their share.
            let room = self.held.len() < self.concurrency * 4;
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => return true,
                _ = keep_alive.tick(), if !self.held.is_empty() => self.report_progress().await,
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => {
                    if let Ok(subject) = done {
                        self.held.finish(&subject, None, 0);
                    }
                }
                next = messages.next(), if room => match next {
                    Some(Ok(message)) => self.receive(message).await,
                    Some(Err(e)) => {
                        tracing::warn!(consumer = %self.consumer.name(), error = %e, "pulling failed; reconnecting");
                        return false;
                    }
                    None => return false,
                },
            }
        }
    }

    /// Hands the messages that may go now to handlers, up to the concurrency.
    fn start_ready(&mut self) {
        while self.in_flight.len() < self.concurrency {
            let Some((subject, (message, envelope))) = self.held.take() else { break };
            let (message, envelope) = (message.clone(), envelope.clone());
            let (js, store, consumer) = (self.js.clone(), self.store.clone(), self.consumer.clone());
            let (retry, ack_wait) = (self.retry, self.ack_wait);
            self.in_flight.spawn(async move {
                deliver(&js, store.as_ref(), &consumer, message, envelope, retry, ack_wait).await;
                subject
            });
        }
    }

    /// Holds a pulled message for its order, or settles it at once when nothing can handle it.
    async fn receive(&mut self, message: jetstream::Message) {
        let name = self.consumer.name();
        let Ok(envelope) = Envelope::from_bytes(&message.payload) else {
            // Not an envelope: nothing can handle it; keep it for inspection.
            let _ = dead_letter(&self.js, name, &message, 0, "not a CloudEvents envelope").await;
            let _ = message.ack_with(AckKind::Term).await;
            return;
        };
        if !self.consumer.rule.matches(&envelope) && !message.subject.starts_with(REDRIVE_PREFIX) {
            let _ = message.ack().await;
            return;
        }
        let subject = envelope.subject.clone();
        self.held.push(&subject, (message, envelope), 0, 0);
    }

    /// Keeps every held message alive at the broker: waiting its turn or being handled.
    async fn report_progress(&self) {
        for (message, _) in self.held.iter() {
            let _ = message.ack_with(AckKind::Progress).await;
        }
    }

    /// Hands back what is held but not started, so another replica can take it now, and lets the
    /// handlers in hand finish; what does not finish in time is redelivered.
    async fn close(mut self) {
        for (message, _) in self.held.drain_waiting() {
            let _ = message.ack_with(AckKind::Nak(None)).await;
        }
        let drained = tokio::time::timeout(Duration::from_secs(10), async {
            while self.in_flight.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            self.in_flight.abort_all();
        }
    }
}

/// How often a held message is reported in progress: well within the ack wait.
fn progress_interval(ack_wait: Duration) -> Duration {
    (ack_wait / 3).max(Duration::from_millis(20))
}

/// Handles one message and settles it with the broker: acknowledged after the commit, or
/// negatively acknowledged with a backoff, or dead-lettered after the last attempt.
async fn deliver(
    js: &jetstream::Context,
    store: &dyn Store,
    consumer: &Consumer,
    message: jetstream::Message,
    envelope: Envelope,
    retry: RetryPolicy,
    ack_wait: Duration,
) {
    let name = consumer.name();
    let handling = handle_delivery(store, name, consumer.handler.as_ref(), &envelope, None);
    tokio::pin!(handling);
    let period = progress_interval(ack_wait);
    let mut keep_alive = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let handled = loop {
        tokio::select! {
            handled = &mut handling => break handled,
            _ = keep_alive.tick() => {
                let _ = message.ack_with(AckKind::Progress).await;
            }
        }
    };
    let error = match handled {
        Ok(_) => {
            if let Err(e) = message.ack().await {
                // The effects are committed; a redelivery will find the inbox mark.
                tracing::warn!(consumer = name, event = %envelope.id, error = %e, "ack failed");
            }
            return;
        }
        Err(error) => error.to_string(),
    };
    let attempts = message.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
    if attempts < retry.max_attempts {
        tracing::warn!(consumer = name, event = %envelope.id, r#type = %envelope.event_type,
            attempts, error = %error, "handler failed; will retry");
        let _ = message.ack_with(AckKind::Nak(Some(retry.backoff(attempts)))).await;
        return;
    }
    tracing::error!(consumer = name, event = %envelope.id, r#type = %envelope.event_type,
        subject = %envelope.subject, attempts, error = %error, "giving up: message moved to the dead-letter stream");
    match dead_letter(js, name, &message, attempts, &error).await {
        Ok(()) => {
            let _ = message.ack_with(AckKind::Term).await;
        }
        Err(e) => {
            tracing::error!(consumer = name, error = %e, "cannot dead-letter; will retry");
            let _ = message.ack_with(AckKind::Nak(Some(retry.backoff(attempts)))).await;
        }
    }
}
