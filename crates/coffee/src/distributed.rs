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
use tokio_util::sync::CancellationToken;

use crate::admin;
use crate::app::{Application, finish, layers, prune_inbox, recover_captures};
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

/// Starts the services of `config.roles` (and the gateway) in this process.
pub async fn start(config: NodeConfig) -> anyhow::Result<Application> {
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
                tokio::spawn(recover_captures(service.clone()));
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
    let close = Box::pin(async move {
        for store in stores {
            store.close().await;
        }
    });
    Application::serve(config.listen, router, shutdown, tasks, close).await
}

/// Starts the gateway alone: GraphQL and the web app, calling the services over HTTP and
/// watching NATS for subscriptions.
pub async fn start_gateway(config: GatewayConfig) -> anyhow::Result<Application> {
    let shutdown = CancellationToken::new();
    let bus = NatsBus::connect(coffee_bus::nats::NatsOptions::new(&config.bus))
        .await
        .with_context(|| format!("cannot use NATS JetStream at {}", config.bus))?;
    let http =
        reqwest::Client::builder().timeout(Duration::from_secs(30)).build().context("cannot build the HTTP client")?;
    let services = Services::over_http(&config.order_url, &config.payment_url, &config.fulfilment_url, http);
    let live_feed = bus.live_feed(shutdown.clone());
    let dead_letters: Arc<dyn DeadLetters> = Arc::new(bus.clone());
    let router = Router::new()
        .merge(live::routes(live_feed.clone(), shutdown.clone()))
        .merge(admin::routes(Vec::new(), dead_letters, outbox_metrics(Vec::new())))
        .merge(coffee_gateway::routes(services, live_feed, shutdown.clone()));
    Application::serve(config.listen, layers(router), shutdown, Vec::new(), Box::pin(async {})).await
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
