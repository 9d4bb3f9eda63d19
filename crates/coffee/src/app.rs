//! Starting and stopping the system, one way for every mode. `main` and the integration tests
//! start it the same way: [`Application::start_node`] opens the backend, mounts each service of
//! the node on its store (its routes served, its consumer fed), adds the gateway and the
//! operations routes, and serves; [`Application::stop`] shuts down in order (stop taking
//! requests, finish the ones in flight, let consumers finish the message in hand, flush the
//! stores).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use coffee_auth::Authenticator;
use coffee_bus::retention::{OpenRecords, Retention};
use coffee_bus::{DeliveryOptions, Store};
use coffee_gateway::Services;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::backend::{Backend, BackendConfig};
use crate::config::{AuthSettings, ServeConfig};
use crate::metrics::Prometheus;
use crate::services::{self, ServiceKind, ServiceSettings};
use crate::{admin, identity, live};

/// How long inbox marks are kept. Deliveries are retried for minutes, not days; a week
/// is far beyond any redelivery the queues make.
const INBOX_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// What one process runs.
pub struct Node {
    pub listen: SocketAddr,
    pub backend: BackendConfig,
    pub services: Vec<ServiceKind>,
    pub gateway: Gateway,
    pub settings: ServiceSettings,
    pub delivery: DeliveryOptions,
    /// How long the journal keeps a closed order's events (`--retain-days`).
    pub retain: Duration,
    /// The services a gateway on its own calls, by name, for its `/readyz` to report.
    pub upstreams: Vec<(&'static str, String)>,
    pub auth: AuthSettings,
}

/// Whether the process serves GraphQL and the web app, and how it reaches the services.
pub enum Gateway {
    None,
    /// The services of this process, called in-process (needs all three).
    InProcess,
    /// The services' REST APIs, over HTTP.
    OverHttp(Services),
}

/// A running system (either mode): its HTTP server and its background work.
pub struct Application {
    addr: SocketAddr,
    shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    /// Consumers, relays, housekeeping: they end on `shutdown`, finishing what is in hand.
    tasks: Vec<JoinHandle<()>>,
    /// Closes the stores once the tasks have ended (the last batch commits).
    close: BoxFuture<'static, ()>,
    /// What the person who started it should do next (no staff yet: how to add the first admin).
    notice: Option<String>,
}

impl Application {
    /// `coffee serve`: the whole system in this process, on the embedded store and bus or on
    /// NATS and PostgreSQL.
    pub async fn start(config: ServeConfig) -> anyhow::Result<Self> {
        Self::start_node(config.node()?).await
    }

    /// Starts what `node` runs.
    pub async fn start_node(node: Node) -> anyhow::Result<Self> {
        let shutdown = CancellationToken::new();
        let backend = Backend::open(&node.backend).await?;
        // After the backend: it made the data directory the key may be kept in.
        let key = node.auth.key().context("the key that signs sessions")?;
        let auth = Arc::new(Authenticator::new(&key, node.auth.allowed_origins.clone())?);
        let mut tasks: Vec<JoinHandle<()>> = Vec::new();
        // The REST routes this process serves, declared with their OpenAPI description.
        let mut rest = coffee_http::ApiRouter::new();
        // Counted in the guards, reported in the metrics.
        let streams = coffee_http::Streams::new(node.auth.max_streams);
        let prometheus = Prometheus::new(streams.clone());
        let mut running = Vec::new();
        let mut stores: Vec<Arc<dyn Store>> = Vec::new();
        let mut kept: Vec<(Arc<dyn Store>, Vec<OpenRecords>)> = Vec::new();
        let options = services::ServiceOptions {
            webhook_secret: match (&node.settings.provider, node.services.contains(&ServiceKind::Payment)) {
                (_, false) => Vec::new(),
                (crate::config::Provider::Stripe { webhook_secret, .. }, true) => webhook_secret.0.as_bytes().to_vec(),
                (crate::config::Provider::Simulated, true) => node.settings.webhook_secret.bytes()?,
            },
            shop: node.settings.shop,
            provider: node.settings.provider.clone(),
        };
        for kind in &node.services {
            let store = backend.store_for(*kind, &shutdown, &mut tasks).await?;
            let mut service = kind.start(store.clone(), &options)?;
            rest = rest.merge(service.mount.routes.clone());
            tasks.push(backend.start_consumer(&store, service.mount.consumer.clone(), node.delivery, shutdown.clone()));
            if let Some(background) = service.background.take() {
                tasks.push(tokio::spawn(background(shutdown.clone())));
            }
            // Only the services that schedule timers poll for due ones (replicas of one share
            // its schema, and each timer fires once among them).
            if kind.schedules_timers() {
                tasks.push(tokio::spawn(coffee_bus::timers::run(store.clone(), shutdown.clone())));
            }
            // The embedded mode's services share one store: prune it and probe it once, keeping
            // what any of its services still needs.
            match kept.iter_mut().find(|(s, _)| Arc::ptr_eq(s, &store)) {
                Some((_, open)) => open.push(kind.open_records()),
                None => kept.push((store.clone(), vec![kind.open_records()])),
            }
            if !stores.iter().any(|s| Arc::ptr_eq(s, &store)) {
                stores.push(store);
            }
            running.push(service);
        }
        let services_pruned = !kept.is_empty();
        for (store, open) in kept {
            tasks.push(tokio::spawn(prune(store, open, node.retain, shutdown.clone())));
        }
        let live = backend.live_feed(shutdown.clone());
        // Sessions that end from now on (subscribed first, so none falls between), then those
        // that ended before this start and can still be shown.
        let follow = identity::follow_ended_sessions(live.clone(), auth.clone(), backend.nats(), shutdown.clone());
        tasks.push(tokio::spawn(follow));
        let identity = match node.gateway {
            Gateway::None => None,
            _ => Some(identity::start(&backend, auth.clone(), &shutdown, &mut tasks).await?),
        };
        identity::catch_up(&backend, identity.as_ref(), &auth).await?;
        let notice = match &identity {
            Some(identity) => identity::first_admin_hint(identity, &node.backend).await,
            None => None,
        };
        let key_store = stores.first().cloned().or_else(|| identity.as_ref().map(|i| i.store().clone()));
        // A gateway alone keeps its idempotency keys (and sessions' events) in the identity store.
        if let Some(store) = key_store.clone().filter(|_| !services_pruned) {
            tasks.push(tokio::spawn(prune(store, Vec::new(), node.retain, shutdown.clone())));
        }
        // A gateway on its own needs its identity store to serve (logins, sessions).
        if let Some(identity) = &identity
            && !stores.iter().any(|s| Arc::ptr_eq(s, identity.store()))
        {
            stores.push(identity.store().clone());
        }
        rest = rest
            .merge(admin::routes(
                admin::Readiness::new(stores, node.upstreams.clone()),
                backend.bus_client(),
                backend.dead_letters(),
                backend.metrics(running.iter().map(|s| s.mount.consumer.name().to_owned()).collect()),
                prometheus.clone(),
            ))
            .merge(live::routes(live.clone(), shutdown.clone()));
        if let Some(identity) = &identity {
            rest = rest.merge(coffee_identity::api::routes(identity.clone(), node.auth.secure_cookies));
        }
        let router = crate::openapi::served(rest);
        let router = match node.gateway {
            Gateway::None => finish(router, &prometheus),
            gateway => {
                let services = match gateway {
                    Gateway::OverHttp(services) => services,
                    _ => services::in_process(&running)
                        .context("the gateway in this process needs the order, payment and fulfilment services")?,
                };
                // The pages' policy follows who takes the card (see page_policy).
                let policy = crate::page_policy::PagePolicy::strict();
                let following =
                    crate::page_policy::follow(policy.clone(), services.payments.clone(), shutdown.clone()).await;
                tasks.push(tokio::spawn(following));
                // GraphQL and the web app. Its fallback serves the app's pages, and the same JSON
                // 404 as `finish` for unknown API paths, so it is the one fallback here.
                let router =
                    router.merge(coffee_gateway::routes(services, live, shutdown.clone(), auth.clone(), node.auth.dev));
                layers(
                    router.layer(axum::middleware::map_response_with_state(policy, crate::page_policy::apply)),
                    &prometheus,
                )
            }
        };
        // Idempotency keys are kept in this process's store (a service's, else the identity
        // service's): the one store in `serve`, each process's own in the distributed mode.
        let router = coffee_http::guarded(
            router,
            coffee_http::Guards { auth, rate_limit: node.auth.rate_limit, streams, idempotency: key_store },
        );
        let mut app = Self::serve(node.listen, router, shutdown, tasks, backend.close()).await?;
        app.notice = notice;
        Ok(app)
    }

    /// Serves `router` on `listen` until `shutdown`; `tasks` and `close` are the rest of the
    /// system, stopped after the server (see [`Application::stop`]).
    async fn serve(
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
        let server = tokio::spawn(serve_http(listener, router, stop));
        Ok(Self { addr, shutdown, server, tasks, close, notice: None })
    }

    /// What the person who started it should do next, if anything.
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
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

/// How long a client has to send a request's headers, on a new connection or a kept-alive one:
/// a connection that trickles them, or sends nothing, is closed.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client has to send a request's body once its headers are in.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `stop`, then lets the requests in hand finish.
///
/// `axum::serve` has no timer, so no timeouts: a client could hold a connection open forever
/// by sending half a header. This is the same loop (hyper's HTTP/1, upgrades for WebSockets,
/// each request given the peer's address) with hyper's header timeout on.
async fn serve_http(listener: tokio::net::TcpListener, router: Router, stop: CancellationToken) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::server::graceful::GracefulShutdown;
    use tower::ServiceExt;

    // HTTP/1 only: browsers speak HTTP/2 over TLS, which a proxy in front ends; and telling
    // the two apart reads the first bytes before any timer runs, so a silent client would stay.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(error = %e, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // hyper's header timer starts at a request's first byte: a client that connects and
        // says nothing is waited for here, off the accept loop.
        let router = router.clone();
        let graceful_watch = graceful.watcher();
        let (builder, stop) = (builder.clone(), stop.clone());
        tokio::spawn(async move {
            let mut first = [0u8; 1];
            tokio::select! {
                _ = stop.cancelled() => return,
                peeked = tokio::time::timeout(HEADER_READ_TIMEOUT, stream.peek(&mut first)) => match peeked {
                    Ok(Ok(n)) if n > 0 => {}
                    _ => return,
                },
            }
            let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
                // Failed logins and live streams are counted by the peer's address.
                request.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                router.clone().oneshot(request.map(axum::body::Body::new))
            });
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(e) = graceful_watch.watch(connection.into_owned()).await {
                tracing::debug!(error = %e, "a connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// The layers and fallbacks every router gets.
/// The span of one request: its id, method and path.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
    tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path())
}

fn finish(router: Router, metrics: &Prometheus) -> Router {
    layers(router.fallback(coffee_http::fallback), metrics)
}

/// The layers every router gets, for a router that brings its own fallback (the gateway's).
///
/// Every answer says: do not guess content types, show no page of ours in a frame, send no
/// full URL to other sites. The pages' own `<meta>` policy adds `script-src` with the hashes
/// of their inline scripts (SvelteKit writes it); the header's policy applies beside it, and
/// where the web app is served it also says what may load from Stripe (`page_policy`).
fn layers(router: Router, metrics: &Prometheus) -> Router {
    use axum::http::{HeaderName, HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer;
    let always = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    // One stack in one `layer` call: each call boxes every route again (see coffee_http::guarded).
    // Each route counted and timed (a route layer: it knows the route's declared path).
    let router = router
        .route_layer(axum::middleware::from_fn(coffee_http::traced))
        .route_layer(axum::middleware::from_fn_with_state(metrics.clone(), crate::metrics::record));
    router.method_not_allowed_fallback(coffee_http::method_not_allowed).layer(
        tower::ServiceBuilder::new()
            // Every request gets an id (or keeps the one a proxy gave it), sent back in
            // `x-request-id` and on each of its log lines; the span holds the path, not the
            // query, and no header, so no credential reaches a log.
            .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(tower_http::request_id::MakeRequestUuid))
            .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
            .layer(TraceLayer::new_for_http().make_span_with(request_span))
            .layer(CatchPanicLayer::custom(|_| {
                axum::response::IntoResponse::into_response(coffee_http::ApiError(
                    coffee_service::ServiceError::Internal("a request handler panicked".to_owned()),
                ))
            }))
            .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_READ_TIMEOUT))
            .layer(axum::extract::DefaultBodyLimit::max(coffee_http::MAX_BODY))
            .layer(always(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .layer(always(header::X_FRAME_OPTIONS, "DENY"))
            .layer(always(header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
            .layer(always(header::CONTENT_SECURITY_POLICY, crate::page_policy::BASE)),
    )
}

/// Forgets what is older than the store must keep, at start and then hourly: inbox marks
/// after `retain` or a week, whichever is sooner (redeliveries stop long before), and the
/// journal's events of closed orders after `retain`.
async fn prune(store: Arc<dyn Store>, open: Vec<OpenRecords>, retain: Duration, shutdown: CancellationToken) {
    loop {
        let now = jiff::Timestamp::now().as_millisecond();
        let inbox = now - INBOX_RETENTION.min(retain).as_millis() as i64;
        if let Err(e) = store.prune_inbox(inbox).await {
            tracing::warn!(error = %e, "could not prune the inbox");
        }
        // Idempotency keys answer a retry for a day; after that they are only weight.
        let kept_until = now - coffee_http::idempotency::KEPT_FOR.as_millis() as i64;
        match store.prune_expired(coffee_http::idempotency::KEPT_ANSWERS.table, kept_until).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(keys = n, "forgot idempotency keys older than a day"),
            Err(e) => tracing::warn!(error = %e, "could not prune the idempotency keys"),
        }
        let retention = Retention { cutoff_ms: now - retain.as_millis() as i64, open: open.clone() };
        tokio::select! {
            _ = shutdown.cancelled() => return,
            pruned = store.prune_journal(&retention) => match pruned {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "pruned the journal of closed orders"),
                Err(e) => tracing::warn!(error = %e, "could not prune the journal"),
            },
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
        }
    }
}
