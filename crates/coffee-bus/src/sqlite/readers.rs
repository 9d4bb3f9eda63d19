//! The read connections: WAL lets them read beside the writer.

use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::store::StoreError;

pub(super) struct ReaderPool {
    conns: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl ReaderPool {
    pub(super) fn new(conns: Vec<Connection>) -> Self {
        let n = conns.len();
        Self { conns: Mutex::new(conns), permits: Semaphore::new(n) }
    }

    /// Runs a read on a pooled connection, inline on the calling task's thread. Reads here
    /// are point lookups and short index scans taking microseconds; handing each to a
    /// blocking thread cost more in wake-ups than the read itself (measured: most of the
    /// process's time went to the scheduler).
    pub(super) async fn with<R, F>(self: &Arc<Self>, f: F) -> Result<R, StoreError>
    where
        F: FnOnce(&Connection) -> Result<R, StoreError>,
    {
        let _permit = self.permits.acquire().await.map_err(|_| StoreError::Closed)?;
        let conn = self
            .conns
            .lock()
            .map_err(|_| StoreError::Closed)?
            .pop()
            .ok_or_else(|| StoreError::Database("no reader connection free".into()))?;
        let result = f(&conn);
        if let Ok(mut conns) = self.conns.lock() {
            conns.push(conn);
        }
        result
    }
}
