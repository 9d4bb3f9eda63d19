//! The embedded transport: durable per-consumer queues in the SQLite store, delivered by
//! an in-process dispatcher per consumer.
//!
//! Semantics of an SQS FIFO queue fed by SNS: each message is delivered until handled
//! (at least once), messages of one order (the event's subject, the FIFO group) are
//! handled one at a time in publishing order while different orders proceed in parallel,
//! a failed message is retried with backoff and blocks only its own order, and after the
//! last attempt it moves to the consumer's dead-letter queue so its order can go on.
//!
//! The queue rows are the durable truth; the dispatcher keeps the waiting messages in
//! memory, loaded at start and then fed by the writer after each commit.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use crate::consumer::DeliveryOptions;
use crate::consumer::{Consumer, RetryPolicy, handle_delivery};
use crate::fifo::PerOrder;
use crate::sqlite::{Queued, SqliteStore};
use crate::store::Store;

/// Starts the dispatcher of one consumer. It runs until `shutdown` is cancelled.
pub fn start_consumer(
    store: Arc<SqliteStore>,
    consumer: Consumer,
    options: DeliveryOptions,
    shutdown: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let name = consumer.name().to_owned();
        dispatch(store.clone(), consumer, options, shutdown).await;
        store.unregister_queue(&name);
    })
}

enum Outcome {
    Done,
    Retry { visible_at: i64, attempts: u32 },
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

/// The consumer's queue as it stands at start, and the channel of what commits after.
async fn load(
    store: &SqliteStore,
    name: &str,
    shutdown: &CancellationToken,
) -> Option<(PerOrder<Queued>, mpsc::UnboundedReceiver<Queued>)> {
    // Register before loading: whatever commits in between arrives on the channel too,
    // and is recognised by its sequence number.
    let mut incoming = store.register_queue(name);
    let pending = loop {
        match store.pending(name).await {
            Ok(p) => break p,
            Err(e) => {
                tracing::error!(consumer = %name, error = %e, "cannot load the queue; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        }
    };
    if !pending.is_empty() {
        tracing::info!(consumer = %name, messages = pending.len(), "resuming queued messages");
    }
    let loaded: HashSet<i64> = pending.iter().map(|q| q.seq).collect();
    let mut held = PerOrder::default();
    let now = now_ms();
    for q in pending {
        hold(&mut held, q, now);
    }
    // What committed between registering and loading is in both; drop the channel's copies.
    // The writer puts a batch's messages on the channel after its commit, so a copy of a loaded
    // message can still be on its way: a job behind that batch, answered, means it has arrived.
    // (Without this wait, a handler whose effects go outside the store, such as a payment
    // provider's, was called twice for one event.)
    let _ = store.submit_admin(Box::new(|_| Ok(Vec::new()))).await;
    while let Ok(q) = incoming.try_recv() {
        if !loaded.contains(&q.seq) {
            hold(&mut held, q, now);
        }
    }
    Some((held, incoming))
}

fn hold(held: &mut PerOrder<Queued>, q: Queued, now: i64) {
    let (subject, visible_at) = (q.envelope.subject.clone(), q.visible_at);
    held.push(&subject, q, visible_at, now);
}

async fn dispatch(store: Arc<SqliteStore>, consumer: Consumer, options: DeliveryOptions, shutdown: CancellationToken) {
    let name = consumer.name().to_owned();
    let Some((mut held, mut incoming)) = load(&store, &name, &shutdown).await else { return };
    let mut in_flight: JoinSet<(String, Outcome)> = JoinSet::new();
    loop {
        while in_flight.len() < options.concurrency {
            let Some((subject, head)) = held.take() else { break };
            let (store, consumer, name, head) = (store.clone(), consumer.clone(), name.clone(), head.clone());
            let retry = options.retry;
            in_flight.spawn(async move { (subject, deliver(&store, &consumer, &name, &head, retry).await) });
        }
        let next_timer = held.next_timer();
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => match joined {
                Ok((subject, Outcome::Done)) => held.finish(&subject, None, now_ms()),
                Ok((subject, Outcome::Retry { visible_at, attempts })) => {
                    if let Some(head) = held.head_mut(&subject) {
                        head.attempts = attempts;
                    }
                    held.finish(&subject, Some(visible_at), now_ms());
                }
                Err(e) => tracing::error!(consumer = %name, error = %e, "a handler task died"),
            },
            Some(q) = incoming.recv() => hold(&mut held, q, now_ms()),
            _ = sleep_until_ms(next_timer), if next_timer.is_some() => held.release_due(now_ms()),
        }
    }

    // Finish the work in hand; what does not finish in time stays queued for next start.
    let drained =
        tokio::time::timeout(options.drain_timeout, async { while in_flight.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(consumer = %name, "handlers still running at shutdown; their messages will be redelivered");
        in_flight.abort_all();
    }
}

async fn sleep_until_ms(at: Option<i64>) {
    let wait = at.map_or(0, |at| (at - now_ms()).max(0));
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
}

async fn deliver(store: &Arc<SqliteStore>, consumer: &Consumer, name: &str, q: &Queued, retry: RetryPolicy) -> Outcome {
    let env = &q.envelope;
    let result = handle_delivery(store.as_ref() as &dyn Store, name, consumer.handler.as_ref(), env, Some(q.seq)).await;
    let error = match result {
        Ok(_) => return Outcome::Done,
        Err(e) => e.to_string(),
    };
    let attempts = q.attempts + 1;
    if attempts >= retry.max_attempts {
        tracing::error!(consumer = name, event = %env.id, r#type = %env.event_type, subject = %env.subject,
            attempts, error = %error, "giving up: message moved to the dead-letter queue");
        match store.dead_letter(name, q.seq, attempts, &error).await {
            Ok(()) => return Outcome::Done,
            Err(e) => {
                tracing::error!(consumer = name, error = %e, "cannot move the message to the dead-letter queue");
            }
        }
    } else {
        tracing::warn!(consumer = name, event = %env.id, r#type = %env.event_type, subject = %env.subject,
            attempts, error = %error, "handler failed; will retry");
    }
    let visible_at = now_ms() + retry.backoff(attempts).as_millis() as i64;
    if let Err(e) = store.record_failure(name, q.seq, attempts, visible_at, &error).await {
        tracing::error!(consumer = name, error = %e, "cannot record the failed attempt");
    }
    Outcome::Retry { visible_at, attempts }
}
