//! Starting and stopping the system. `main` and the integration tests start it the same
//! way: [`Application::start`] binds the listener, opens the store, starts the consumers
//! and serves; [`Application::stop`] shuts down in order (stop taking requests, finish the
//! ones in flight, let consumers finish the message in hand, flush the store).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use coffee_bus::embedded::start_consumer;
use coffee_bus::sqlite::{SqliteOptions, SqliteStore};
use coffee_bus::{Consumer, DeadLetters, LiveFeed, Migration, Rules, Store};
use coffee_fulfilment::FulfilmentService;
use coffee_fulfilment::handlers::FulfilmentHandlers;
use coffee_gateway::Services;
use coffee_order::OrderService;
use coffee_order::handlers::OrderHandlers;
use coffee_payment::PaymentService;
use coffee_payment::handlers::PaymentHandlers;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::admin;
use crate::config::ServeConfig;
use crate::live;

/// The name of the database file inside the data directory.
pub const DATABASE_FILE: &str = "coffee.db";

/// How long inbox marks are kept. Deliveries are retried for minutes, not days; a week
/// is far beyond any redelivery the queues make.
const INBOX_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A running system (either mode): its HTTP server and its background work.
pub struct Application {
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    /// Consumers, relays, housekeeping: they end on `shutdown`, finishing what is in hand.
    tasks: Vec<JoinHandle<()>>,
    /// Closes the stores once the tasks have ended (the last batch commits).
    close: BoxFuture<'static, ()>,
}

/// Every rule on the embedded bus: one per consuming service.
pub fn rules() -> Rules {
    Rules::new(vec![
        coffee_order::handlers::rule(),
        coffee_payment::handlers::rule(),
        coffee_fulfilment::handlers::rule(),
    ])
}

pub fn migrations() -> Vec<Migration> {
    [coffee_order::store::MIGRATIONS, coffee_payment::store::MIGRATIONS, coffee_fulfilment::store::MIGRATIONS].concat()
}

impl Application {
    /// Starts the whole system in this process on the embedded store and bus.
    pub async fn start(config: ServeConfig) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create the data directory {}", config.data_dir.display()))?;
        let path = config.data_dir.join(DATABASE_FILE);
        let options = SqliteOptions { path: path.clone(), durability: config.durability(), rules: rules(), readers: 4 };
        let store = SqliteStore::open(options, &migrations())
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        let shared: Arc<dyn Store> = store.clone();

        let orders = OrderService::new(shared.clone());
        let payments = PaymentService::simulated(shared.clone(), config.webhook_secret());
        let fulfilments = FulfilmentService::new(shared.clone());

        let shutdown = CancellationToken::new();
        let recovering = payments.clone();
        let consumers = [
            Consumer::new(coffee_order::handlers::rule(), Arc::new(OrderHandlers::new(orders.records().clone()))),
            Consumer::new(coffee_payment::handlers::rule(), Arc::new(PaymentHandlers::new(payments.clone()))),
            Consumer::new(
                coffee_fulfilment::handlers::rule(),
                Arc::new(FulfilmentHandlers::new(fulfilments.records().clone())),
            ),
        ]
        .into_iter()
        .map(|c| start_consumer(store.clone(), c, config.delivery.options(), shutdown.clone()))
        .collect();

        let dead_letters: Arc<dyn DeadLetters> = store.clone();
        let live = live_feed(&store);
        // The gateway calls the services in-process, through the same client traits that are
        // HTTP clients in the distributed mode.
        let services =
            Services::new(Arc::new(orders.clone()), Arc::new(payments.clone()), Arc::new(fulfilments.clone()));
        let router = Router::new()
            .merge(coffee_order::api::routes(orders))
            .merge(coffee_payment::api::routes(payments))
            .merge(coffee_fulfilment::api::routes(fulfilments))
            .merge(admin::routes(vec![shared.clone()], dead_letters, writer_metrics(&store)))
            .merge(live::routes(live.clone(), shutdown.clone()))
            // GraphQL and the web app. Its fallback serves the app's pages, and the same JSON 404
            // as `finish` for unknown API paths, so it is the one fallback here.
            .merge(coffee_gateway::routes(services, live, shutdown.clone()));
        let router = layers(router);

        let mut tasks: Vec<JoinHandle<()>> = consumers;
        tasks.push(tokio::spawn(prune_inbox(shared.clone(), shutdown.clone())));
        tokio::spawn(recover_captures(recovering));
        let close = Box::pin(async move { store.close().await });
        Application::serve(config.listen, router, shutdown, tasks, close).await
    }

    /// Serves `router` on `listen` until `shutdown`; `tasks` and `close` are the rest of the
    /// system, stopped after the server (see [`Application::stop`]).
    pub async fn serve(
        listen: SocketAddr,
        router: Router,
        shutdown: CancellationToken,
        tasks: Vec<JoinHandle<()>>,
        close: BoxFuture<'static, ()>,
    ) -> anyhow::Result<Self> {
        let listener =
            tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr().context("the listener has no address")?;
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            axum::serve(listener, router).with_graceful_shutdown(async move { stop.cancelled().await }).await
        });
        Ok(Self { addr, shutdown, server, tasks, close })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A token that stops the application when cancelled (e.g. on Ctrl-C).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until the application is told to stop, then stops it in order.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.shutdown.cancelled().await;
        self.stop().await
    }

    /// Stops in order: HTTP first (in-flight requests finish), then consumers and relays
    /// (the message in hand finishes, or stays queued for the next start or another
    /// replica), then the stores (the last batch commits).
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let served = self.server.await.context("the HTTP server task failed")?;
        for task in self.tasks {
            let _ = task.await;
        }
        self.close.await;
        served.context("the HTTP server failed")
    }
}

fn writer_metrics(store: &Arc<SqliteStore>) -> admin::Metrics {
    let store = store.clone();
    Arc::new(move || {
        let stats = serde_json::json!({ "sqliteWriter": store.writer_stats() });
        Box::pin(async move { stats })
    })
}

fn live_feed(store: &Arc<SqliteStore>) -> LiveFeed {
    let store = store.clone();
    Arc::new(move || store.subscribe_live())
}

/// The layers and fallbacks every router gets.
pub fn finish(router: Router) -> Router {
    layers(router.fallback(coffee_http::fallback))
}

/// The layers every router gets, for a router that brings its own fallback (the gateway's).
pub fn layers(router: Router) -> Router {
    router
        .method_not_allowed_fallback(coffee_http::method_not_allowed)
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(coffee_http::ServiceError::Internal(
                "a request handler panicked".to_owned(),
            ))
        }))
        .layer(TraceLayer::new_for_http())
}

/// Has the webhooks of captures a crash left unrecorded delivered again (see
/// [`PaymentService::recover_missed_captures`]).
pub async fn recover_captures(payments: PaymentService) {
    if let Err(e) = payments.recover_missed_captures().await {
        tracing::warn!(error = %e, "could not recover captures recorded before a crash");
    }
}

/// Forgets old inbox marks, hourly.
pub async fn prune_inbox(store: Arc<dyn Store>, shutdown: CancellationToken) {
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
