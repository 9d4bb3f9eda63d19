//! The live feed on NATS: every event as it reaches the stream, through an ephemeral ordered
//! consumer per process.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::{EVENT_SUBJECTS, REDRIVE_PREFIX, STREAM, js_err};
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
