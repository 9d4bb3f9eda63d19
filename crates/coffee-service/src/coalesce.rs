//! One read for many callers: what an open endpoint that reads a lot (the shop's status, the
//! pickup board: anyone may ask, and each answer reads up to two days of orders) does so that a
//! crowd of callers costs about one read at a time, not one read each.
//!
//! Every answer is at least as new as its call: a caller never gets the result of a read that
//! started before it arrived. Reads take turns; a caller that arrives while one is under way waits
//! for it to end, and then either uses the result of a read that started after it arrived (made
//! by someone who waited with it) or makes that read itself. So however many ask at once, at most
//! one read is under way, and each caller waits for at most two.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Coalesced<T> {
    /// Held while a read is under way; holds the last read's number and result.
    last: tokio::sync::Mutex<Option<(u64, Arc<T>)>>,
    /// How many reads have started.
    started: AtomicU64,
}

impl<T> Default for Coalesced<T> {
    fn default() -> Self {
        Self { last: tokio::sync::Mutex::new(None), started: AtomicU64::new(0) }
    }
}

impl<T> Coalesced<T> {
    /// The result of `read`, or of a read that started after this call did. An error is not
    /// kept: the next caller reads again.
    pub async fn get<E, F>(&self, read: F) -> Result<Arc<T>, E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let arrived = self.started.load(Ordering::Acquire);
        let mut last = self.last.lock().await;
        if let Some((number, value)) = last.as_ref()
            && *number > arrived
        {
            return Ok(value.clone());
        }
        let number = self.started.fetch_add(1, Ordering::AcqRel) + 1;
        let value = Arc::new(read.await?);
        *last = Some((number, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crowd_shares_reads_and_nobody_gets_an_answer_older_than_their_call() {
        let shared = Arc::new(Coalesced::<usize>::default());
        let reads = Arc::new(AtomicUsize::new(0));
        // The "database": a value that changes; each read takes 20 ms and returns it.
        let value = Arc::new(AtomicUsize::new(0));
        let read = |reads: Arc<AtomicUsize>, value: Arc<AtomicUsize>| async move {
            reads.fetch_add(1, Ordering::SeqCst);
            let seen = value.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, ()>(seen)
        };
        let crowd: Vec<_> = (0..50)
            .map(|_| {
                let (shared, reads, value) = (shared.clone(), reads.clone(), value.clone());
                tokio::spawn(async move { *shared.get(read(reads, value)).await.expect("read") })
            })
            .collect();
        for caller in crowd {
            caller.await.expect("joined");
        }
        let crowd_reads = reads.load(Ordering::SeqCst);
        assert!((1..=3).contains(&crowd_reads), "50 callers at once: {crowd_reads} reads");

        // A change, then a call: the answer has it (no earlier read's result is reused).
        value.store(7, Ordering::SeqCst);
        assert_eq!(*shared.get(read(reads.clone(), value.clone())).await.expect("read"), 7);
        assert_eq!(reads.load(Ordering::SeqCst), crowd_reads + 1, "one call alone: one read");

        // A failed read is not kept.
        assert_eq!(shared.get(async { Err::<usize, _>("down") }).await.err(), Some("down"));
        value.store(8, Ordering::SeqCst);
        assert_eq!(*shared.get(read(reads.clone(), value.clone())).await.expect("read"), 8);
    }
}
