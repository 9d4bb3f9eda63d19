//! Consumers: a named handler, the rule that selects its events, and the one way every
//! transport runs a handler (decide, then commit with the inbox mark, deciding again if a
//! record changed underneath).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;

use coffee_domain::IllegalTransition;

use crate::envelope::{Envelope, EnvelopeError};
use crate::rule::Rule;
use crate::store::{Change, Committed, Decision, Handled, Store, StoreError, commit_deciding_again};
use crate::trace::TraceContext;

/// What a consumer does with an event: it reads what it needs and returns the change to
/// commit. It does not commit itself: the transport adds the inbox mark and commits, so the
/// effects and the record that the event was handled land together or not at all.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError>;

    /// Called after the change for `event` committed, for in-process wake-ups of whoever
    /// waits on its effects. Not called when the event had already been handled.
    fn committed(&self, _event: &Envelope) {}
}

/// Why a handler failed; the message will be redelivered after a backoff, and dead-lettered
/// with this as its last error once the attempts are used up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// The store failed (unreachable, or a conflict that kept coming back).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The message is not an event this version can read.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The domain refused a step the handler decided on.
    #[error(transparent)]
    Refused(#[from] IllegalTransition),
    /// A record the event refers to is not there.
    #[error("{0}")]
    Missing(String),
    /// A service the handler calls (the payment provider) failed.
    #[error("{0}")]
    Dependency(String),
    /// The handler panicked: a bug. The message is retried like any failure, and dead-lettered
    /// in the end, rather than wedging its order.
    #[error("the handler panicked: {0}")]
    Panicked(String),
}

/// A durable consumer: its name is its queue's name.
#[derive(Clone)]
pub struct Consumer {
    pub rule: Rule,
    pub handler: Arc<dyn Handler>,
}

impl Consumer {
    pub fn new(rule: Rule, handler: Arc<dyn Handler>) -> Self {
        Self { rule, handler }
    }

    pub fn name(&self) -> &str {
        &self.rule.consumer
    }
}

/// When to try a failed message again, and when to give up on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Deliveries before the message goes to the dead-letter queue.
    pub max_attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 5, first_backoff: Duration::from_millis(200), max_backoff: Duration::from_secs(30) }
    }
}

impl RetryPolicy {
    /// The wait after the `attempts`-th failure: doubling from `first_backoff`, capped,
    /// with up to 20% jitter so that a burst of failures does not retry in lockstep.
    pub fn backoff(&self, attempts: u32) -> Duration {
        let doubling = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        let base = self.first_backoff.saturating_mul(doubling).min(self.max_backoff);
        let jitter = base.mul_f64(rand::random::<f64>() * 0.2);
        (base + jitter).min(self.max_backoff)
    }
}

/// How a transport feeds its consumers.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryOptions {
    pub retry: RetryPolicy,
    /// How many orders a consumer (each replica of it) works on at once.
    pub concurrency: usize,
    /// How long shutdown waits for handlers in flight before abandoning them (their messages
    /// are delivered again, on the next start or to another replica).
    pub drain_timeout: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self { retry: RetryPolicy::default(), concurrency: 64, drain_timeout: Duration::from_secs(10) }
    }
}

/// Runs a handler for one delivery and commits its change with the inbox mark, deciding again
/// when the commit conflicts with a concurrent change.
pub async fn handle_delivery(
    store: &dyn Store,
    consumer: &str,
    handler: &dyn Handler,
    event: &Envelope,
    delivery_seq: Option<i64>,
) -> Result<Committed, HandlerError> {
    let handled = &Handled { consumer: consumer.to_owned(), event_id: event.id.clone(), delivery_seq };
    // The handling is a span of the event's trace (its order's); the handler sees the event as
    // delivered within it, so what it publishes is that span's child. Without an exporter the
    // event is handled as it came: no span, no copy.
    let traced = crate::trace::spans::enabled().then(|| {
        let within = event.trace();
        let handling = TraceContext { span_id: within.child().span_id, ..within };
        let span = crate::trace::spans::start(
            format!("process {}", event.event_type),
            crate::trace::spans::Kind::Consumer,
            &handling,
            Some(&within),
            None,
            vec![
                opentelemetry::KeyValue::new("messaging.operation.type", "process"),
                opentelemetry::KeyValue::new("messaging.consumer.group.name", consumer.to_owned()),
                opentelemetry::KeyValue::new("messaging.message.id", event.id.clone()),
            ],
        );
        (span, Envelope { traceparent: handling.to_traceparent(), ..event.clone() })
    });
    let (span, delivered) = match traced {
        Some((span, envelope)) => (Some(span), std::borrow::Cow::Owned(envelope)),
        None => (None, std::borrow::Cow::Borrowed(event)),
    };
    let delivered: &Envelope = &delivered;
    let result = commit_deciding_again(store, || async move {
        let mut change = AssertUnwindSafe(handler.handle(delivered)).catch_unwind().await.map_err(panicked)??;
        change.handled = Some(handled.clone());
        Ok::<_, HandlerError>(Decision::Commit(change, ()))
    })
    .await;
    if let Some(span) = span {
        crate::trace::spans::end(span, result.as_ref().err().map(ToString::to_string));
    }
    let ((), committed) = result?;
    let event = delivered;
    if committed == Some(Committed::Applied)
        && let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(|| handler.committed(event)))
    {
        // The effects are committed: the delivery is done whatever the hook did.
        tracing::error!(consumer, event = %event.id, error = %panicked(panic), "a handler's committed hook panicked");
    }
    Ok(committed.unwrap_or(Committed::AlreadyHandled))
}

fn panicked(panic: Box<dyn std::any::Any + Send>) -> HandlerError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned());
    HandlerError::Panicked(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        };
        let first = p.backoff(1);
        assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(120), "{first:?}");
        let third = p.backoff(3);
        assert!(third >= Duration::from_millis(400) && third <= Duration::from_millis(480), "{third:?}");
        assert_eq!(p.backoff(30), Duration::from_millis(500));
    }
}
