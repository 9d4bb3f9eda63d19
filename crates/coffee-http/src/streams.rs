//! How many long-lived streams (SSE, WebSockets) one client may hold open at once: each holds
//! a task, buffers and a live-feed receiver for as long as it stays. A client is its session
//! when it has one, else its address.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::connect_info::ConnectInfo;
use axum::http::Extensions;
use coffee_service::{Context, ServiceError};

/// The default of `--max-streams`.
pub const DEFAULT_MAX_STREAMS: usize = 20;

/// The open streams of every client.
#[derive(Debug)]
pub struct Streams {
    per_client: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// One open stream: the client's count goes down when it is dropped.
#[derive(Debug)]
pub struct StreamGuard {
    streams: Arc<Streams>,
    client: String,
}

impl Streams {
    pub fn new(per_client: usize) -> Arc<Self> {
        Arc::new(Self { per_client, open: Mutex::default() })
    }

    /// A stream for the client `ctx` and the request's `extensions` name (its session, else the
    /// address it came from), or 429 when it already holds its share.
    pub fn open(self: &Arc<Self>, ctx: &Context, extensions: &Extensions) -> Result<StreamGuard, ServiceError> {
        let client = match (&ctx.session, extensions.get::<ConnectInfo<SocketAddr>>()) {
            (Some(session), _) => format!("session:{session}"),
            (None, Some(addr)) => format!("ip:{}", addr.0.ip()),
            (None, None) => "unknown".to_owned(),
        };
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(client.clone()).or_default();
        if *count >= self.per_client {
            return Err(ServiceError::TooManyRequests {
                message: format!(
                    "at most {} live streams (event streams and subscriptions' WebSockets) per client; close one first",
                    self.per_client
                ),
                retry_after_secs: 5,
            });
        }
        *count += 1;
        Ok(StreamGuard { streams: self.clone(), client })
    }

    /// How many streams every client holds together (the metrics' `coffee_open_streams`).
    pub fn total(&self) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).values().sum()
    }

    /// How many streams `client` holds (for tests).
    pub fn held(&self, client: &str) -> usize {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).get(client).copied().unwrap_or(0)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_its_share_and_gets_it_back_as_streams_close() {
        let streams = Streams::new(2);
        let parts = Extensions::new();
        let mut ctx = Context::new(coffee_bus::TraceContext::new_root());
        ctx.session = Some("s1".to_owned());
        let a = streams.open(&ctx, &parts).expect("first");
        let _b = streams.open(&ctx, &parts).expect("second");
        assert!(matches!(streams.open(&ctx, &parts), Err(ServiceError::TooManyRequests { .. })));
        let mut other = Context::new(coffee_bus::TraceContext::new_root());
        other.session = Some("s2".to_owned());
        assert!(streams.open(&other, &parts).is_ok(), "another session has its own share");
        assert_eq!(streams.total(), 2, "the other session's stream closed as it was dropped");
        drop(a);
        assert_eq!(streams.held("session:s1"), 1);
        assert_eq!(streams.total(), 1);
        assert!(streams.open(&ctx, &parts).is_ok(), "a closed stream gives its place back");
    }
}
