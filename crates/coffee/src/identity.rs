//! The identity service in a process: started where the web app is served (`serve`, `gateway`),
//! and, in every process, the sessions that ended kept up to date for the process's
//! authenticator.

use std::sync::Arc;

use coffee_auth::{Authenticator, CUSTOMER_SESSION};
use coffee_bus::LiveFeed;
use coffee_domain::Millis;
use coffee_identity::IdentityService;
use coffee_identity::service::ended_from;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::backend::{Backend, BackendConfig};

/// The identity service on its store.
pub async fn start(
    backend: &Backend,
    auth: Arc<Authenticator>,
    shutdown: &CancellationToken,
    tasks: &mut Vec<JoinHandle<()>>,
) -> anyhow::Result<IdentityService> {
    let store = backend
        .store_of("identity service", coffee_identity::SCHEMA, coffee_identity::store::MIGRATIONS, shutdown, tasks)
        .await?;
    Ok(IdentityService::new(store, (*auth).clone()))
}

/// Refuses, from now on, the sessions that ended before this process started and whose tokens
/// may still be valid: from the identity service's store when it runs here, else from the bus.
pub async fn catch_up(
    backend: &Backend,
    identity: Option<&IdentityService>,
    auth: &Authenticator,
) -> anyhow::Result<()> {
    let now = coffee_service::now();
    let since = Millis(now.0 - CUSTOMER_SESSION.as_millis() as i64);
    let ended = match identity {
        Some(identity) => identity.ended_since(since).await.map_err(|e| anyhow::anyhow!("{e}"))?,
        None => {
            let events = backend.replay(coffee_identity::SESSION_ENDED, since).await?;
            events.iter().filter_map(ended_from).collect()
        }
    };
    for e in &ended {
        auth.revocations().end(&e.key, e.ended_at, e.until, now);
    }
    if !ended.is_empty() {
        tracing::info!(sessions = ended.len(), "sessions that ended before this start are refused");
    }
    Ok(())
}

/// Keeps `auth` told of every session that ends anywhere in the system, until `shutdown`. A
/// logout in this process is refused at once by the identity service itself; this is how the
/// other processes hear of it. After falling behind the feed, it reads the stream back (`nats`).
pub async fn follow_ended_sessions(
    live: LiveFeed,
    auth: Arc<Authenticator>,
    nats: Option<coffee_bus::nats::NatsBus>,
    shutdown: CancellationToken,
) {
    let mut rx = live();
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = rx.recv() => r,
        };
        match received {
            Ok(event) => {
                if let Some(e) = ended_from(&event) {
                    auth.revocations().end(&e.key, e.ended_at, e.until, coffee_service::now());
                }
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "fell behind the live feed; reading ended sessions back");
                let now = coffee_service::now();
                let since = Millis(now.0 - CUSTOMER_SESSION.as_millis() as i64);
                if let Some(bus) = &nats {
                    match bus.replay(coffee_identity::SESSION_ENDED, since.0).await {
                        Ok(events) => {
                            for e in events.iter().filter_map(ended_from) {
                                auth.revocations().end(&e.key, e.ended_at, e.until, now);
                            }
                        }
                        Err(e) => tracing::error!(error = %e, "cannot read ended sessions back"),
                    }
                }
            }
            Err(RecvError::Closed) => return,
        }
    }
}

/// How to add the first admin, when the system has no staff yet.
pub async fn first_admin_hint(identity: &IdentityService, backend: &BackendConfig) -> Option<String> {
    let staff = identity.staff_list(&coffee_service::Context::internal()).await.ok()?;
    if !staff.is_empty() {
        return None;
    }
    let store = match backend {
        BackendConfig::Embedded { data_dir, .. } => format!("--data-dir {}", data_dir.display()),
        BackendConfig::Distributed { database: Some(db), .. } => format!("--database {}", crate::backend::redact(db)),
        BackendConfig::Distributed { database: None, .. } => String::new(),
    };
    Some(format!(
        "no staff yet: add the first admin with `coffee staff add NAME --role admin --password-stdin {store}` \
         (the barista's and admin's pages need a staff login)"
    ))
}
