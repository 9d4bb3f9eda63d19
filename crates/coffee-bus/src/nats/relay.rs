//! The outbox relay: each service's outbox (a table in its PostgreSQL schema) forwarded to the
//! stream by one replica at a time, oldest first, each event under its type as subject and its
//! id as `Nats-Msg-Id`; rows are deleted only once the broker acknowledged them.

use std::sync::Arc;
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream;
use sqlx::Postgres;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgListener;
use tokio_util::sync::CancellationToken;

use super::{BusError, js_err, sleep_or_stop};
use crate::envelope::Envelope;
use crate::postgres::PgStore;
use crate::trace::TraceContext;

/// How long the relay waits for new outbox rows before looking again anyway.
const RELAY_IDLE_POLL: Duration = Duration::from_millis(500);
const RELAY_BATCH: i64 = 512;

pub(super) async fn relay(js: jetstream::Context, store: Arc<PgStore>, shutdown: CancellationToken) {
    let lock_key = format!("coffee-relay:{}", store.schema());
    while !shutdown.is_cancelled() {
        let Some(mut leader) = lead(&store, &lock_key).await else {
            if sleep_or_stop(&shutdown, Duration::from_secs(1)).await {
                return;
            }
            continue;
        };
        tracing::info!(schema = store.schema(), "relaying this service's outbox to NATS");
        relay_while_leading(&js, &store, &mut leader, &shutdown).await;
        // Dropping the session releases the lock too, for another replica.
        let _ = sqlx::query("SELECT pg_advisory_unlock(hashtext($1))").bind(&lock_key).execute(&mut *leader).await;
    }
}

/// Leadership: the session that holds the advisory lock relays; the others stand by.
async fn lead(store: &PgStore, lock_key: &str) -> Option<PoolConnection<Postgres>> {
    let mut session = match store.pool().acquire().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "relay: no database connection");
            return None;
        }
    };
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
        .bind(lock_key)
        .fetch_one(&mut *session)
        .await
        .unwrap_or(false);
    locked.then_some(session)
}

/// Relays until the lock's session breaks, the database fails, or `shutdown`.
async fn relay_while_leading(
    js: &jetstream::Context,
    store: &PgStore,
    leader: &mut PoolConnection<Postgres>,
    shutdown: &CancellationToken,
) {
    let mut listener = listen(store).await;
    let mut pause = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        let batch = match store.outbox_batch(RELAY_BATCH).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "relay: cannot read the outbox");
                return;
            }
        };
        if batch.is_empty() {
            // Still the leader? A broken session would have lost the lock.
            if sqlx::query("SELECT 1").execute(&mut **leader).await.is_err() {
                return;
            }
            wait_for_commits(store, listener.as_mut(), shutdown).await;
            continue;
        }
        match publish_batch(js, &batch).await {
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
                if sleep_or_stop(shutdown, pause).await {
                    return;
                }
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Commits in any replica announce new outbox rows on the service's channel.
async fn listen(store: &PgStore) -> Option<PgListener> {
    let mut listener = PgListener::connect_with(store.pool()).await.ok()?;
    listener.listen(&store.notify_channel()).await.ok()?;
    Some(listener)
}

/// Waits for a commit of this process or another replica, or a while.
async fn wait_for_commits(store: &PgStore, listener: Option<&mut PgListener>, shutdown: &CancellationToken) {
    let announced = async {
        match listener {
            Some(l) => {
                let _ = l.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = store.outbox_notify().notified() => {}
        _ = announced => {}
        _ = tokio::time::sleep(RELAY_IDLE_POLL) => {}
    }
}

/// Publishes a batch in order and waits for the broker to acknowledge every message.
async fn publish_batch(js: &jetstream::Context, batch: &[(i64, String)]) -> Result<(), BusError> {
    use crate::trace::spans;
    let mut acks = Vec::with_capacity(batch.len());
    for (_, json) in batch {
        let env = Envelope::from_bytes(json.as_bytes()).map_err(|e| BusError::JetStream(e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, env.id.as_str());
        // The relay's hand-off to the broker: a span under the event's own (its commit).
        let span = spans::enabled().then(|| {
            let event = env.trace();
            spans::start(
                format!("send {}", env.event_type),
                spans::Kind::Producer,
                &TraceContext { span_id: event.child().span_id, ..event },
                Some(&event),
                None,
                vec![
                    opentelemetry::KeyValue::new("messaging.system", "nats"),
                    opentelemetry::KeyValue::new("messaging.operation.type", "send"),
                    opentelemetry::KeyValue::new("messaging.destination.name", env.event_type.clone()),
                ],
            )
        });
        let ack = js
            .publish_with_headers(env.event_type.clone(), headers, json.clone().into_bytes().into())
            .await
            .map_err(js_err)?;
        acks.push((ack, span));
    }
    for (ack, span) in acks {
        let acked = ack.await.map_err(js_err);
        if let Some(span) = span {
            spans::end(span, acked.as_ref().err().map(ToString::to_string));
        }
        acked?;
    }
    Ok(())
}
