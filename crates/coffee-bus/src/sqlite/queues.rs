//! The embedded transport's side of the store: each consumer's durable queue (rows fed inside the
//! committing transaction, handed to its dispatcher after the commit), failed attempts, the
//! dead-letter queues and their redrive, and inbox housekeeping.

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::params;
use tokio::sync::mpsc;

use super::{SqliteStore, db_err, now_ms};
use crate::envelope::Envelope;
use crate::stats::QueueStats;
use crate::store::{DeadLetter, DeadLetters, StoreError};

/// A message waiting in a consumer's queue.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: i64,
    pub attempts: u32,
    /// Milliseconds since the epoch before which it must not be delivered.
    pub visible_at: i64,
    pub envelope: Arc<Envelope>,
}

impl SqliteStore {
    /// Each of `consumers`' queues as it stands: messages not yet handled, how many of them
    /// failed before, and how long the oldest has waited since it was published.
    pub async fn queue_stats(&self, consumers: &[String]) -> Result<Vec<QueueStats>, StoreError> {
        let rows: Vec<(String, i64, i64, Option<String>)> = self
            .readers
            .with(|c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT d.consumer, count(*), sum(d.attempts > 0), min(e.time) FROM bus_deliveries d \
                         JOIN bus_events e ON e.seq = d.seq GROUP BY d.consumer",
                    )
                    .map_err(db_err)?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))).map_err(db_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(db_err)
            })
            .await?;
        let now = jiff::Timestamp::now();
        Ok(consumers
            .iter()
            .map(|consumer| match rows.iter().find(|r| &r.0 == consumer) {
                Some((_, messages, redelivered, oldest)) => QueueStats {
                    consumer: consumer.clone(),
                    messages: u64::try_from(*messages).unwrap_or_default(),
                    redelivered: u64::try_from(*redelivered).unwrap_or_default(),
                    oldest_age_seconds: oldest
                        .as_deref()
                        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                        .map(|t| now.duration_since(t).as_secs_f64().max(0.0)),
                },
                // An empty queue's oldest message has waited for nothing (this transport knows).
                None => QueueStats { oldest_age_seconds: Some(0.0), ..QueueStats::empty(consumer) },
            })
            .collect())
    }

    /// Registers a consumer's dispatcher: new deliveries for it are sent here after commit.
    pub fn register_queue(&self, consumer: &str) -> mpsc::UnboundedReceiver<Queued> {
        let (tx, rx) = mpsc::unbounded_channel();
        if let Ok(mut queues) = self.hooks.queues.write() {
            queues.insert(consumer.to_owned(), tx);
        }
        rx
    }

    pub fn unregister_queue(&self, consumer: &str) {
        if let Ok(mut queues) = self.hooks.queues.write() {
            queues.remove(consumer);
        }
    }

    /// Messages waiting in a consumer's queue, in publishing order.
    pub async fn pending(&self, consumer: &str) -> Result<Vec<Queued>, StoreError> {
        let consumer = consumer.to_owned();
        self.readers
            .with(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT d.seq, d.attempts, d.visible_at, e.body FROM bus_deliveries d
                         JOIN bus_events e ON e.seq = d.seq WHERE d.consumer = ?1 ORDER BY d.seq",
                    )
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([&consumer], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, u32>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?))
                    })
                    .map_err(db_err)?;
                rows.map(|row| {
                    let (seq, attempts, visible_at, body) = row.map_err(db_err)?;
                    let envelope =
                        Envelope::from_bytes(body.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok(Queued { seq, attempts, visible_at, envelope: Arc::new(envelope) })
                })
                .collect()
            })
            .await
    }

    /// Records a failed attempt: the message becomes visible again at `visible_at`.
    pub async fn record_failure(
        &self,
        consumer: &str,
        seq: i64,
        attempts: u32,
        visible_at: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        let (consumer, error) = (consumer.to_owned(), error.to_owned());
        self.submit_admin(Box::new(move |c| {
            c.prepare_cached(
                "UPDATE bus_deliveries SET attempts = ?3, visible_at = ?4, last_error = ?5 WHERE consumer = ?1 AND seq = ?2",
            )
            .and_then(|mut s| s.execute(params![consumer, seq, attempts, visible_at, error]))
            .map_err(db_err)?;
            Ok(Vec::new())
        }))
        .await
        .map(|_| ())
    }

    /// Moves a message from its consumer's queue to the consumer's dead-letter queue.
    pub async fn dead_letter(&self, consumer: &str, seq: i64, attempts: u32, error: &str) -> Result<(), StoreError> {
        let (consumer, error) = (consumer.to_owned(), error.to_owned());
        self.submit_admin(Box::new(move |c| {
            c.prepare_cached("DELETE FROM bus_deliveries WHERE consumer = ?1 AND seq = ?2")
                .and_then(|mut s| s.execute(params![consumer, seq]))
                .map_err(db_err)?;
            c.prepare_cached(
                "INSERT OR REPLACE INTO bus_dead_letters (consumer, seq, attempts, last_error, died_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![consumer, seq, attempts, error, now_ms()]))
            .map_err(db_err)?;
            Ok(Vec::new())
        }))
        .await
        .map(|_| ())
    }

    async fn list_dead_letters(&self, consumer: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        let consumer = consumer.map(str::to_owned);
        self.readers
            .with(move |c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT d.consumer, d.seq, d.attempts, d.last_error, d.died_at, e.body FROM bus_dead_letters d
                         JOIN bus_events e ON e.seq = d.seq WHERE ?1 IS NULL OR d.consumer = ?1 ORDER BY d.died_at, d.seq",
                    )
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([&consumer], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, u32>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, String>(5)?,
                        ))
                    })
                    .map_err(db_err)?;
                rows.map(|row| {
                    let (consumer, seq, attempts, last_error, died_at, body) = row.map_err(db_err)?;
                    let event = Envelope::from_bytes(body.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    Ok(DeadLetter {
                        consumer,
                        seq,
                        attempts,
                        last_error,
                        died_at,
                        event,
                    })
                })
                .collect()
            })
            .await
    }

    /// Puts dead letters back on their queues, with their attempts reset. Returns how many.
    async fn redrive_dead_letters(&self, consumer: Option<&str>) -> Result<usize, StoreError> {
        let consumer = consumer.map(str::to_owned);
        self.submit_admin(Box::new(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT d.consumer, d.seq, e.subject, e.body FROM bus_dead_letters d
                     JOIN bus_events e ON e.seq = d.seq WHERE ?1 IS NULL OR d.consumer = ?1 ORDER BY d.seq",
                )
                .map_err(db_err)?;
            let letters: Vec<(String, i64, String, String)> = stmt
                .query_map([&consumer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            let mut requeued = Vec::with_capacity(letters.len());
            for (consumer, seq, subject, body) in letters {
                c.prepare_cached("DELETE FROM bus_dead_letters WHERE consumer = ?1 AND seq = ?2")
                    .and_then(|mut s| s.execute(params![consumer, seq]))
                    .map_err(db_err)?;
                c.prepare_cached(
                    "INSERT OR REPLACE INTO bus_deliveries (consumer, seq, subject, attempts, visible_at) VALUES (?1, ?2, ?3, 0, 0)",
                )
                .and_then(|mut s| s.execute(params![consumer, seq, subject]))
                .map_err(db_err)?;
                let envelope = Envelope::from_bytes(body.as_bytes()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                requeued.push((
                    consumer,
                    Queued {
                        seq,
                        attempts: 0,
                        visible_at: 0,
                        envelope: Arc::new(envelope),
                    },
                ));
            }
            Ok(requeued)
        }))
        .await
    }

    /// (No index on the inbox's age: it would cost every handling a write to save an
    /// hourly scan.)
    pub(super) async fn prune_inbox_rows(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        self.submit_admin(Box::new(move |c| {
            c.prepare_cached("DELETE FROM bus_inbox WHERE handled_at < ?1")
                .and_then(|mut s| s.execute([cutoff_ms]))
                .map_err(db_err)?;
            Ok(Vec::new())
        }))
        .await
    }
}

#[async_trait]
impl DeadLetters for SqliteStore {
    async fn dead_letters(&self, consumer: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        self.list_dead_letters(consumer).await
    }

    async fn redrive(&self, consumer: Option<&str>) -> Result<usize, StoreError> {
        self.redrive_dead_letters(consumer).await
    }
}
