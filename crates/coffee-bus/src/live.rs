//! Live events: every event as it commits, for whoever is watching now (dashboards,
//! GraphQL subscriptions, the bench). Not durable and not a queue: a watcher sees what
//! commits while it is subscribed. Each transport provides one; the rest of the system only
//! sees a [`LiveFeed`].

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::envelope::Envelope;

/// Subscribes to every event as it commits. A watcher that falls too far behind gets
/// `RecvError::Lagged` and carries on from the newest.
pub type LiveFeed = Arc<dyn Fn() -> broadcast::Receiver<Arc<Envelope>> + Send + Sync>;
