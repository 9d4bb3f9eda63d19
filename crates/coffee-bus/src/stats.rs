//! What a store and the queues report to the metrics: commits, the events they published by
//! type, and each consumer's queue as it stands.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// Commits since start, and the events they published, by type. Event types are the code's
/// own (no client names one), so the labels they become stay few.
#[derive(Debug, Default)]
pub struct CommitCounters {
    commits: AtomicU64,
    commit_micros: AtomicU64,
    published: Mutex<BTreeMap<String, u64>>,
}

impl CommitCounters {
    /// Counts one durable commit of a unit of work that took `took` and published `types`.
    pub fn count<'a>(&self, took: Duration, types: impl IntoIterator<Item = &'a str>) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.commit_micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
        self.count_published(types);
    }

    /// Counts events published (by a commit counted elsewhere).
    pub fn count_published<'a>(&self, types: impl IntoIterator<Item = &'a str>) {
        if let Ok(mut published) = self.published.lock() {
            for t in types {
                match published.get_mut(t) {
                    Some(n) => *n += 1,
                    None => {
                        published.insert(t.to_owned(), 1);
                    }
                }
            }
        }
    }

    /// Adds commits counted elsewhere (the SQLite writer counts its own).
    pub fn add_commits(&self, commits: u64, took: Duration) {
        self.commits.fetch_add(commits, Ordering::Relaxed);
        self.commit_micros.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> Commits {
        Commits {
            commits: self.commits.load(Ordering::Relaxed),
            commit_seconds: self.commit_micros.load(Ordering::Relaxed) as f64 / 1e6,
            published: self.published.lock().map(|p| p.clone()).unwrap_or_default(),
        }
    }
}

/// [`CommitCounters`] read at one moment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Commits {
    pub commits: u64,
    /// Time spent committing (with synchronous commits, mostly waiting for the disk).
    pub commit_seconds: f64,
    pub published: BTreeMap<String, u64>,
}

/// One consumer's queue now.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueStats {
    pub consumer: String,
    /// Messages not yet handled: waiting, or in a handler's hands.
    pub messages: u64,
    /// Of those, the ones tried before that failed (NATS: redelivered at least once).
    pub redelivered: u64,
    /// How long the oldest of them has waited since it was published (0 for an empty queue;
    /// `None` where the transport does not say).
    pub oldest_age_seconds: Option<f64>,
}

impl QueueStats {
    pub fn empty(consumer: &str) -> Self {
        Self { consumer: consumer.to_owned(), messages: 0, redelivered: 0, oldest_age_seconds: None }
    }
}
