//! The live feed on NATS: every event as it reaches the stream, through an ephemeral ordered
//! consumer per process.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{BusError, EVENT_SUBJECTS, REDRIVE_PREFIX, STREAM, js_err};
use crate::envelope::Envelope;

/// Follows the stream from now on, for live watchers.
pub(super) async fn watch(js: jetstream::Context, tx: broadcast::Sender<Arc<Envelope>>, shutdown: CancellationToken) {
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

/// The events of one type since a time, read once with an ephemeral ordered consumer that starts
/// there; ends when it has read what the stream held when it started.
pub(super) async fn replay(
    js: &jetstream::Context,
    event_type: &str,
    since_ms: i64,
) -> Result<Vec<Envelope>, BusError> {
    let start_time = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(since_ms) * 1_000_000)
        .map_err(|e| BusError::JetStream(format!("a replay from {since_ms} ms: {e}")))?;
    let stream = js.get_stream(STREAM).await.map_err(js_err)?;
    let mut ordered = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: event_type.to_owned(),
            deliver_policy: consumer::DeliverPolicy::ByStartTime { start_time },
            ..Default::default()
        })
        .await
        .map_err(js_err)?;
    let pending = ordered.info().await.map_err(js_err)?.num_pending;
    let mut messages = ordered.messages().await.map_err(js_err)?;
    let mut events = Vec::new();
    for _ in 0..pending {
        let next = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
        match next {
            Ok(Some(Ok(message))) => {
                if let Ok(env) = Envelope::from_bytes(&message.payload) {
                    events.push(env);
                }
            }
            Ok(Some(Err(e))) => return Err(js_err(e)),
            Ok(None) | Err(_) => break,
        }
    }
    Ok(events)
}
