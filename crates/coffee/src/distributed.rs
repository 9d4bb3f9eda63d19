//! The services over NATS JetStream and PostgreSQL: each service in its own process
//! (`coffee order`, `coffee payment`, `coffee fulfilment`, with any number of replicas), the
//! gateway on its own (`coffee gateway`), or all of them in one process
//! (`coffee serve --bus nats://... --database postgres://...`). The service code is the same
//! as in the embedded mode; only this wiring differs.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use coffee_bus::embedded::DeliveryOptions;
use coffee_bus::nats::NatsBus;
use coffee_bus::postgres::PgStore;
use coffee_bus::{Consumer, DeadLetters, Migration, Store};
use coffee_fulfilment::FulfilmentService;
use coffee_fulfilment::handlers::FulfilmentHandlers;
use coffee_gateway::Services;
use coffee_order::OrderService;
use coffee_order::handlers::OrderHandlers;
use coffee_payment::PaymentService;
use coffee_payment::handlers::PaymentHandlers;
use futures::FutureExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::admin;
use crate::app::{finish, layers};
use crate::config::{GatewayConfig, NatsArgs};
use crate::live;

/// A service a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Order,
    Payment,
    Fulfilment,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Order, Role::Payment, Role::Fulfilment];

    /// The PostgreSQL schema the service owns.
    pub fn schema(self) -> &'static str {
        match self {
            Role::Order => "coffee_order",
            Role::Payment => "coffee_payment",
            Role::Fulfilment => "coffee_fulfilment",
        }
    }

    fn migrations(self) -> &'static [Migration] {
        match self {
            Role::Order => coffee_order::store::MIGRATIONS,
            Role::Payment => coffee_payment::store::MIGRATIONS,
            Role::Fulfilment => coffee_fulfilment::store::MIGRATIONS,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub listen: SocketAddr,
    pub bus: String,
    pub database: String,
    pub roles: Vec<Role>,
    /// Serve GraphQL and the web app too, calling the services in-process (needs all roles).
    pub gateway: bool,
    pub nats: NatsArgs,
    pub webhook_secret: Vec<u8>,
    pub delivery: DeliveryOptions,
}

/// A running process of the distributed mode.
pub struct Node {
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    tasks: Vec<JoinHandle<()>>,
    stores: Vec<Arc<PgStore>>,
}

/// How long inbox marks are kept (as in the embedded mode).
const INBOX_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

impl Node {
    /// Starts the services of `config.roles` (and the gateway) in this process.
    pub async fn start(config: NodeConfig) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let bus = NatsBus::connect(config.nats.options(&config.bus))
            .await
            .with_context(|| format!("cannot use NATS JetStream at {}", config.bus))?;
        let mut router = Router::new();
        let mut tasks = Vec::new();
        let mut stores = Vec::new();
        let (mut orders, mut payments, mut fulfilments) = (None, None, None);
        for role in &config.roles {
            let store = PgStore::connect(&config.database, role.schema(), role.migrations(), config.nats.db_pool)
                .await
                .with_context(|| {
                    format!("cannot use PostgreSQL schema {} at {}", role.schema(), redact(&config.database))
                })?;
            let shared: Arc<dyn Store> = store.clone();
            let consumer = match role {
                Role::Order => {
                    let service = OrderService::new(shared.clone());
                    router = router.merge(coffee_order::api::routes(service.clone()));
                    let handlers = Arc::new(OrderHandlers::new(service.records().clone()));
                    orders = Some(service);
                    Consumer::new(coffee_order::handlers::rule(), handlers)
                }
                Role::Payment => {
                    let service = PaymentService::simulated(shared.clone(), config.webhook_secret.clone());
                    router = router.merge(coffee_payment::api::routes(service.clone()));
                    let handlers = Arc::new(PaymentHandlers::new(service.clone()));
                    tokio::spawn(crate::app::recover_captures(service.clone()));
                    payments = Some(service);
                    Consumer::new(coffee_payment::handlers::rule(), handlers)
                }
                Role::Fulfilment => {
                    let service = FulfilmentService::new(shared.clone());
                    router = router.merge(coffee_fulfilment::api::routes(service.clone()));
                    let handlers = Arc::new(FulfilmentHandlers::new(service.records().clone()));
                    fulfilments = Some(service);
                    Consumer::new(coffee_fulfilment::handlers::rule(), handlers)
                }
            };
            tasks.push(bus.start_relay(store.clone(), shutdown.clone()));
            let (retry, concurrency) = (config.delivery.retry, config.delivery.concurrency);
            tasks.push(bus.start_consumer(shared, consumer, retry, concurrency, shutdown.clone()));
            tasks.push(tokio::spawn(prune_inbox(store.clone(), shutdown.clone())));
            stores.push(store);
        }
        let live_feed = bus.live_feed(shutdown.clone());
        let readiness: Vec<Arc<dyn Store>> = stores.iter().map(|s| s.clone() as Arc<dyn Store>).collect();
        let dead_letters: Arc<dyn DeadLetters> = Arc::new(bus.clone());
        router = router.merge(live::routes(live_feed.clone(), shutdown.clone())).merge(admin::routes(
            readiness,
            dead_letters,
            outbox_metrics(stores.clone()),
        ));
        let router = if config.gateway {
            let (Some(o), Some(p), Some(f)) = (orders, payments, fulfilments) else {
                anyhow::bail!("the gateway in this process needs the order, payment and fulfilment services");
            };
            let services = Services::new(Arc::new(o), Arc::new(p), Arc::new(f));
            layers(router.merge(coffee_gateway::routes(services, live_feed, shutdown.clone())))
        } else {
            finish(router)
        };
        let (addr, server) = serve(config.listen, router, shutdown.clone()).await?;
        Ok(Self { addr, shutdown, server, tasks, stores })
    }

    /// Starts the gateway alone: GraphQL and the web app, calling the services over HTTP and
    /// watching NATS for subscriptions.
    pub async fn start_gateway(config: GatewayConfig) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let bus = NatsBus::connect(coffee_bus::nats::NatsOptions::new(&config.bus))
            .await
            .with_context(|| format!("cannot use NATS JetStream at {}", config.bus))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("cannot build the HTTP client")?;
        let services = Services::over_http(&config.order_url, &config.payment_url, &config.fulfilment_url, http);
        let live_feed = bus.live_feed(shutdown.clone());
        let dead_letters: Arc<dyn DeadLetters> = Arc::new(bus.clone());
        let router = Router::new()
            .merge(live::routes(live_feed.clone(), shutdown.clone()))
            .merge(admin::routes(Vec::new(), dead_letters, outbox_metrics(Vec::new())))
            .merge(coffee_gateway::routes(services, live_feed, shutdown.clone()));
        let (addr, server) = serve(config.listen, layers(router), shutdown.clone()).await?;
        Ok(Self { addr, shutdown, server, tasks: Vec::new(), stores: Vec::new() })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.shutdown.cancelled().await;
        self.stop().await
    }

    /// Stops in order: HTTP (requests in flight finish), consumers and relays (the message
    /// in hand finishes, or goes back to the broker), then the database pools.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let served = self.server.await.context("the HTTP server task failed")?;
        for task in self.tasks {
            let _ = task.await;
        }
        for store in self.stores {
            store.close().await;
        }
        served.context("the HTTP server failed")
    }
}

async fn serve(
    listen: SocketAddr,
    router: Router,
    shutdown: CancellationToken,
) -> anyhow::Result<(SocketAddr, JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr().context("the listener has no address")?;
    let server = tokio::spawn(async move {
        axum::serve(listener, router).with_graceful_shutdown(async move { shutdown.cancelled().await }).await
    });
    Ok((addr, server))
}

/// The outbox length of each service in this process: events committed but not yet on the
/// broker (non-zero for long while NATS is unreachable).
fn outbox_metrics(stores: Vec<Arc<PgStore>>) -> admin::Metrics {
    Arc::new(move || {
        let stores = stores.clone();
        async move {
            let mut outboxes = serde_json::Map::new();
            for store in &stores {
                let waiting = store.outbox_len().await.map_or(serde_json::Value::Null, serde_json::Value::from);
                outboxes.insert(store.schema().to_owned(), waiting);
            }
            serde_json::json!({ "outbox": outboxes })
        }
        .boxed()
    })
}

async fn prune_inbox(store: Arc<PgStore>, shutdown: CancellationToken) {
    loop {
        let cutoff = jiff::Timestamp::now().as_millisecond() - INBOX_RETENTION.as_millis() as i64;
        if let Err(e) = store.prune_inbox(cutoff).await {
            tracing::warn!(error = %e, "could not prune the inbox");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(super::redact("postgres://coffee:s3cret@db:5432/x"), "postgres://coffee:***@db:5432/x");
        assert_eq!(super::redact("postgres://coffee@db/x"), "postgres://coffee@db/x");
        assert_eq!(super::redact("postgres://db/x"), "postgres://db/x");
    }
}
