//! Scheduled delivery: an event committed now and published when it falls due (an unpaid
//! order's payment falling due).
//!
//! A change schedules a timer ([`Change::schedule`]) in the same transaction as the records it
//! goes with, so a timer exists exactly when its cause was committed; a later change drops it
//! when it no longer applies ([`Change::drop_timer`]: the order was paid). Timers are rows of the
//! store (`bus_timers`), so they survive restarts. Each process sharing the store runs
//! [`run`]: it looks for due timers and fires each in a change of its own, which publishes the
//! event through the store's outbox like any other and drops the timer. Replicas sharing a
//! PostgreSQL schema may try the same timer at once; the row is dropped once, and the other
//! firing conflicts and publishes nothing. The event's id is fixed when it is scheduled, so
//! consumers' inboxes would still see one event if it ever were published twice.
//!
//! Neither transport holds the waiting event (JetStream 2.9 has no scheduled messages, and a
//! message held back in a FIFO queue would hold back its order's other messages): the store
//! does, and the transports deliver it when it is published.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::{Change, Store, StoreError};

/// How often a process looks for due timers: a timer fires at most this late (plus the time to
/// fire the ones before it).
pub const POLL: Duration = Duration::from_millis(250);

/// The most timers fired per look; more wait for the next one, which follows at once.
const BATCH: u32 = 256;

/// Fires the timers due by `now_ms`; returns how many this process fired (a timer another
/// replica fired first is not counted).
pub async fn fire_due(store: &dyn Store, now_ms: i64) -> Result<usize, StoreError> {
    let mut fired = 0;
    for timer in store.due_timers(now_ms, BATCH).await? {
        let id = timer.id.clone();
        match store.commit(Change::new().fire(timer)).await {
            Ok(_) => {
                fired += 1;
                tracing::debug!(timer = %id, "timer fired");
            }
            Err(StoreError::Conflict) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(fired)
}

/// Fires due timers until `shutdown`. A store that cannot be reached is tried again at the next
/// look: the timers wait in it.
pub async fn run(store: Arc<dyn Store>, shutdown: CancellationToken) {
    loop {
        let now = jiff::Timestamp::now().as_millisecond();
        let pause = match fire_due(store.as_ref(), now).await {
            Ok(fired) if fired as u32 >= BATCH => Duration::ZERO,
            Ok(_) => POLL,
            Err(StoreError::Closed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cannot fire due timers; will try again");
                POLL * 4
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
    }
}
