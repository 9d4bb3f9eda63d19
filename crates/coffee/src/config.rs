//! The configuration of a running system: one typed struct, read once from flags and
//! environment variables (clap reads both), handed to the wiring. Nothing else reads the
//! environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use coffee_auth::AuthKey;
use coffee_bus::sqlite::Durability;
use coffee_bus::{DeliveryOptions, RetryPolicy};
use coffee_order::ShopRules;

use crate::app::{Gateway, Node};
use crate::backend::BackendConfig;
use crate::services::{ServiceKind, ServiceSettings, WebhookSecret};

/// How hard SQLite pushes a commit to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Sync {
    /// Every acknowledged commit survives a power loss (SQLite synchronous=FULL). The default.
    Full,
    /// Survives a crash of the process but not of the machine (SQLite synchronous=NORMAL).
    Normal,
}

/// `coffee serve`: the whole system in one process.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "COFFEE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory of the embedded database (created if missing).
    #[arg(long, env = "COFFEE_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The event bus: `embedded` (SQLite queues in the data directory) or a NATS URL
    /// (`nats://host:4222`, or a cluster's nodes comma-separated; JetStream), which needs `--database postgres://...`.
    #[arg(long, env = "COFFEE_BUS", default_value = "embedded")]
    pub bus: String,
    /// The database: `sqlite` (in the data directory) or a PostgreSQL URL, which needs
    /// `--bus nats://...`. Each service keeps its tables in its own schema.
    #[arg(long, env = "COFFEE_DATABASE", default_value = "sqlite")]
    pub database: String,
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub postgres: PostgresArgs,
    /// Durability of commits: `full` survives power loss, `normal` only a process crash.
    #[arg(long, env = "COFFEE_SYNC", value_enum, default_value_t = Sync::Full)]
    pub sync: Sync,
    /// Secret that signs and verifies the payment provider's webhooks (made the first time
    /// and kept in the data directory, webhook.secret, when unset).
    #[arg(long, env = "COFFEE_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub shop: ShopArgs,
    #[command(flatten)]
    pub payment: PaymentArgs,
}

/// Which payment provider takes the money (`serve` and `coffee payment`).
#[derive(Debug, Clone, Args)]
pub struct PaymentArgs {
    /// `simulated` (the built-in stand-in with Stripe's test cards: no money moves) or `stripe`.
    #[arg(long, env = "COFFEE_PAYMENT_PROVIDER", value_enum, default_value_t = ProviderKind::Simulated)]
    pub payment_provider: ProviderKind,
    /// (stripe) The secret key, sk_test_... or sk_live_... (or a restricted rk_...).
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
    /// (stripe) The publishable key, pk_..., which the web app's payment form uses.
    #[arg(long, env = "STRIPE_PUBLISHABLE_KEY")]
    pub stripe_publishable_key: Option<String>,
    /// (stripe) The webhook endpoint's signing secret, whsec_..., from Stripe's dashboard or
    /// `stripe listen`.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,
    /// (stripe) Stripe's API, or a stand-in for tests and proxies.
    #[arg(long, env = "STRIPE_API_BASE", default_value = coffee_payment::provider::stripe::DEFAULT_API_BASE)]
    pub stripe_api_base: String,
    /// (stripe) How long a payment may wait for its webhook before its intent is looked up at
    /// Stripe and settled, e.g. `10m` (1 s to 24 h); at start, every waiting payment is.
    #[arg(long, env = "COFFEE_PAYMENT_RECONCILE_AFTER", default_value = "10m", value_parser = parse_wait)]
    pub payment_reconcile_after: Duration,
}

impl Default for PaymentArgs {
    fn default() -> Self {
        Self {
            payment_provider: ProviderKind::Simulated,
            stripe_secret_key: None,
            stripe_publishable_key: None,
            stripe_webhook_secret: None,
            stripe_api_base: coffee_payment::provider::stripe::DEFAULT_API_BASE.to_owned(),
            payment_reconcile_after: Duration::from_secs(600),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    #[default]
    Simulated,
    Stripe,
}

impl PaymentArgs {
    /// The provider chosen, with everything it needs; Stripe without a key it needs is refused
    /// naming the flag (the keys themselves are never in a message).
    pub fn provider(&self) -> anyhow::Result<Provider> {
        match self.payment_provider {
            ProviderKind::Simulated => Ok(Provider::Simulated),
            ProviderKind::Stripe => {
                let needs = |value: &Option<String>, flag: &str, env: &str| {
                    value
                        .clone()
                        .filter(|v| !v.trim().is_empty())
                        .ok_or_else(|| anyhow::anyhow!("--payment-provider stripe needs {flag} (or {env})"))
                };
                let secret_key = needs(&self.stripe_secret_key, "--stripe-secret-key", "STRIPE_SECRET_KEY")?;
                let secret_key = coffee_payment::provider::stripe::SecretKey::parse(&secret_key)
                    .map_err(|e| anyhow::anyhow!("--stripe-secret-key: {e}"))?;
                let publishable_key =
                    needs(&self.stripe_publishable_key, "--stripe-publishable-key", "STRIPE_PUBLISHABLE_KEY")?;
                if !publishable_key.starts_with("pk_") {
                    anyhow::bail!("--stripe-publishable-key: a Stripe publishable key starts with pk_");
                }
                let webhook_secret =
                    needs(&self.stripe_webhook_secret, "--stripe-webhook-secret", "STRIPE_WEBHOOK_SECRET")?;
                Ok(Provider::Stripe {
                    secret_key,
                    publishable_key,
                    webhook_secret: Redacted(webhook_secret),
                    api_base: self.stripe_api_base.clone(),
                    reconcile_after: self.payment_reconcile_after,
                })
            }
        }
    }
}

/// The payment provider a payment service is started with.
#[derive(Debug, Clone, Default)]
pub enum Provider {
    #[default]
    Simulated,
    Stripe {
        secret_key: coffee_payment::provider::stripe::SecretKey,
        publishable_key: String,
        /// Signs Stripe's webhooks: it replaces `--webhook-secret`, which signs the simulated provider's.
        webhook_secret: Redacted,
        api_base: String,
        reconcile_after: Duration,
    },
}

/// A secret in a configuration: its `Debug` says only that it is there.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted(pub String);

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The shop's rules the order service keeps (`serve` and `coffee order`).
#[derive(Debug, Clone, Args)]
pub struct ShopArgs {
    /// The most unpaid orders a customer may have at once (409 TOO_MANY_OPEN_ORDERS beyond);
    /// orders an admin places are not limited. 0: no limit.
    #[arg(long, env = "COFFEE_MAX_UNPAID_ORDERS", default_value_t = ShopRules::default().max_unpaid)]
    pub max_unpaid_orders: u32,
    /// How long an order may wait for its payment before it is cancelled ("Not paid in time"),
    /// e.g. `10m` or `30s` (1 s to 24 h). A payment that completes later is refunded.
    #[arg(long, env = "COFFEE_UNPAID_ORDER_TIMEOUT", default_value = "10m", value_parser = parse_wait)]
    pub unpaid_order_timeout: Duration,
    /// How long a paid drink may wait before the barista's queue flags it as slow, e.g. `10m`
    /// or `90s` (1 s to 24 h).
    #[arg(long, env = "COFFEE_SLOW_ORDER_AFTER", default_value = "10m", value_parser = parse_wait)]
    pub slow_order_after: Duration,
    /// How long a ready order stays on the pickup board, in minutes (1 to 1440).
    #[arg(long, env = "COFFEE_PICKUP_BOARD_MINUTES", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub pickup_board_minutes: u32,
}

impl ShopArgs {
    pub fn rules(&self) -> ShopRules {
        ShopRules {
            max_unpaid: self.max_unpaid_orders,
            unpaid_timeout: self.unpaid_order_timeout,
            slow_after: self.slow_order_after,
            ready_on_board: Duration::from_secs(60 * u64::from(self.pickup_board_minutes)),
        }
    }
}

impl Default for ShopArgs {
    fn default() -> Self {
        let rules = ShopRules::default();
        Self {
            max_unpaid_orders: rules.max_unpaid,
            unpaid_order_timeout: rules.unpaid_timeout,
            slow_order_after: rules.slow_after,
            pickup_board_minutes: (rules.ready_on_board.as_secs() / 60) as u32,
        }
    }
}

/// A duration as people write it (`10m`, `90s`, `1h 30m`, or ISO 8601), 1 s to 24 h.
fn parse_wait(text: &str) -> Result<Duration, String> {
    let span: jiff::SignedDuration =
        text.trim().parse().map_err(|_| format!("'{text}' is not a duration like 10m, 90s or 1h 30m"))?;
    let wait = Duration::try_from(span).map_err(|_| format!("'{text}' is below zero"))?;
    if !(Duration::from_secs(1)..=Duration::from_secs(24 * 3600)).contains(&wait) {
        return Err(format!("'{text}' is out of range: 1s to 24h"));
    }
    Ok(wait)
}

/// Who may call: the key that signs sessions, and the browser's cookie. Shared by every command
/// that serves.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// The key that signs session tokens, as hex (at least 32 bytes; `openssl rand -hex 32`).
    /// Every process of one system needs the same key. `serve` generates one the first time and
    /// keeps it in the data directory (auth.key); the distributed commands require it.
    #[arg(long, env = "COFFEE_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<String>,
    /// Mark the session cookie `Secure` (sent over HTTPS only), for a server behind a TLS proxy
    /// that does not send `X-Forwarded-Proto: https`.
    #[arg(long, env = "COFFEE_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Origins besides the server's own whose pages may act with the session cookie, e.g.
    /// https://shop.example (comma-separated).
    #[arg(long, env = "COFFEE_CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origin: Vec<String>,
    /// For development: serve GraphiQL at /graphql and let anyone introspect the schema
    /// (otherwise only a signed-in caller may).
    #[arg(long, env = "COFFEE_DEV")]
    pub dev: bool,
    /// The most live streams (GraphQL WebSockets and /api/events) one client may hold open at
    /// once: a client is its session, or its address when it has none.
    #[arg(long, env = "COFFEE_MAX_STREAMS", default_value_t = coffee_http::DEFAULT_MAX_STREAMS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000))]
    pub max_streams: usize,
    /// Requests per second one customer's session, or one address without a session, may make
    /// (bursts of twice that); over it is 429 with Retry-After. Staff are not limited. 0: no limit.
    #[arg(long, env = "COFFEE_RATE_LIMIT", default_value_t = coffee_http::DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
}

impl Default for AuthArgs {
    fn default() -> Self {
        Self {
            auth_key: None,
            secure_cookies: false,
            cors_origin: Vec::new(),
            dev: false,
            max_streams: coffee_http::DEFAULT_MAX_STREAMS,
            rate_limit: coffee_http::DEFAULT_RATE_LIMIT,
        }
    }
}

impl AuthArgs {
    /// The key given, else the one kept in `data_dir` (made the first time).
    fn kept_in(&self, data_dir: &std::path::Path) -> anyhow::Result<AuthSettings> {
        let key = match &self.auth_key {
            Some(text) => KeySource::Given(AuthKey::parse(text).context("--auth-key")?),
            None => KeySource::KeptIn(data_dir.join(AUTH_KEY_FILE)),
        };
        Ok(self.settings(key))
    }

    /// The key given: the distributed commands share one and cannot make it up.
    fn required(&self) -> anyhow::Result<AuthSettings> {
        let Some(text) = &self.auth_key else {
            anyhow::bail!(
                "the distributed commands need --auth-key (COFFEE_AUTH_KEY): the same key on every process of the \
                 system, as hex (`openssl rand -hex 32` makes one)"
            );
        };
        Ok(self.settings(KeySource::Given(AuthKey::parse(text).context("--auth-key")?)))
    }

    fn settings(&self, key: KeySource) -> AuthSettings {
        AuthSettings {
            key,
            secure_cookies: self.secure_cookies,
            allowed_origins: self.cors_origin.clone(),
            dev: self.dev,
            max_streams: self.max_streams,
            rate_limit: self.rate_limit,
        }
    }
}

/// The file in the data directory that keeps `serve`'s webhook secret, when none is given.
pub const WEBHOOK_SECRET_FILE: &str = "webhook.secret";

/// The file in the data directory that keeps `serve`'s generated key.
pub const AUTH_KEY_FILE: &str = "auth.key";

/// Where a process gets its signing key.
#[derive(Debug, Clone)]
pub enum KeySource {
    Given(AuthKey),
    /// Read from this file, made the first time.
    KeptIn(PathBuf),
}

/// Who-may-call settings of a process.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub key: KeySource,
    pub secure_cookies: bool,
    pub allowed_origins: Vec<String>,
    pub dev: bool,
    pub max_streams: usize,
    pub rate_limit: u32,
}

impl AuthSettings {
    pub fn key(&self) -> anyhow::Result<AuthKey> {
        match &self.key {
            KeySource::Given(key) => Ok(key.clone()),
            KeySource::KeptIn(path) => Ok(AuthKey::load_or_create(path)?),
        }
    }
}

const DAY_SECS: u64 = 24 * 3600;

/// How consumers are fed: shared by `serve` and the service commands.
#[derive(Debug, Clone, Args)]
pub struct DeliveryArgs {
    /// Delivery attempts before a message goes to its consumer's dead-letter queue.
    #[arg(long, env = "COFFEE_MAX_ATTEMPTS", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: u32,
    /// Wait before the first redelivery of a failed message, in milliseconds (doubles each time).
    #[arg(long, env = "COFFEE_RETRY_BACKOFF_MS", default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub retry_backoff_ms: u64,
    /// Orders each consumer (each replica, in the distributed mode) works on at once.
    #[arg(long, env = "COFFEE_CONSUMER_CONCURRENCY", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub consumer_concurrency: u32,
    /// Days the journal keeps a closed order's events (and the inbox its marks, at most 7):
    /// older ones are pruned hourly, never while the order is open, queued or dead-lettered.
    /// 0 prunes them at the first round after the order closes.
    #[arg(long, env = "COFFEE_RETAIN_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(0..=36_500))]
    pub retain_days: u32,
}

impl DeliveryArgs {
    pub fn options(&self) -> DeliveryOptions {
        DeliveryOptions {
            retry: RetryPolicy {
                max_attempts: self.max_attempts,
                first_backoff: Duration::from_millis(self.retry_backoff_ms),
                max_backoff: Duration::from_secs(30),
            },
            concurrency: self.consumer_concurrency as usize,
            drain_timeout: Duration::from_secs(10),
        }
    }

    pub fn retain(&self) -> Duration {
        Duration::from_secs(u64::from(self.retain_days) * DAY_SECS)
    }
}

impl ServeConfig {
    /// Defaults for a server on a free port with its data in `data_dir` (used by tests).
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            bus: "embedded".to_owned(),
            database: "sqlite".to_owned(),
            nats: NatsArgs::default(),
            postgres: PostgresArgs::default(),
            sync: Sync::Full,
            webhook_secret: Some("whsec_test_secret".to_owned()),
            delivery: DeliveryArgs { max_attempts: 5, retry_backoff_ms: 20, consumer_concurrency: 64, retain_days: 30 },
            auth: AuthArgs::default(),
            shop: ShopArgs::default(),
            payment: PaymentArgs::default(),
        }
    }

    pub fn durability(&self) -> Durability {
        match self.sync {
            Sync::Full => Durability::Full,
            Sync::Normal => Durability::Normal,
        }
    }

    /// The whole system in one process, with the gateway.
    pub fn node(&self) -> anyhow::Result<Node> {
        let backend = match Backends::parse(&self.bus, &self.database)? {
            Backends::Embedded => {
                BackendConfig::Embedded { data_dir: self.data_dir.clone(), durability: self.durability() }
            }
            Backends::Distributed { bus, database } => distributed(&self.nats, &bus, Some(database), &self.postgres),
        };
        Ok(Node {
            listen: self.listen,
            backend,
            services: ServiceKind::ALL.to_vec(),
            gateway: Gateway::InProcess,
            settings: ServiceSettings {
                webhook_secret: match &self.webhook_secret {
                    Some(given) => WebhookSecret::Given(given.as_bytes().to_vec()),
                    None => WebhookSecret::KeptIn(self.data_dir.join(WEBHOOK_SECRET_FILE)),
                },
                shop: self.shop.rules(),
                provider: self.payment.provider()?,
            },
            delivery: self.delivery.options(),
            retain: self.delivery.retain(),
            upstreams: Vec::new(),
            auth: self.auth.kept_in(&self.data_dir)?,
        })
    }
}

fn distributed(nats: &NatsArgs, bus: &str, database: Option<String>, postgres: &PostgresArgs) -> BackendConfig {
    BackendConfig::Distributed { nats: nats.options(bus), database, pool: postgres.db_pool }
}

/// Where a process keeps its data and exchanges its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backends {
    /// SQLite in the data directory, with the embedded bus.
    Embedded,
    /// PostgreSQL (`database`) and NATS JetStream (`bus`).
    Distributed { bus: String, database: String },
}

impl Backends {
    /// Reads `--bus` and `--database` together: they only make sense in two pairs.
    pub fn parse(bus: &str, database: &str) -> anyhow::Result<Self> {
        let nats = bus.starts_with("nats://") || bus.starts_with("tls://");
        let postgres = database.starts_with("postgres://") || database.starts_with("postgresql://");
        match (bus, database) {
            ("embedded", "sqlite") => Ok(Backends::Embedded),
            _ if nats && postgres => Ok(Backends::Distributed { bus: bus.to_owned(), database: database.to_owned() }),
            ("embedded", _) if postgres => anyhow::bail!(
                "the embedded bus keeps its queues in the SQLite file; with --database {database} use --bus nats://HOST:4222"
            ),
            (_, "sqlite") if nats => anyhow::bail!(
                "with --bus {bus}, services keep their outbox and inbox in PostgreSQL: add --database postgres://..."
            ),
            _ if !nats && bus != "embedded" => {
                anyhow::bail!("--bus must be `embedded` or a NATS URL like nats://127.0.0.1:4222, not '{bus}'")
            }
            _ => anyhow::bail!("--database must be `sqlite` or a URL like postgres://user@host/db, not '{database}'"),
        }
    }
}

/// NATS JetStream settings (used with `--bus nats://...`).
#[derive(Debug, Clone, Args)]
pub struct NatsArgs {
    /// Stream replicas: 1 on a single server, 3 on a three-node cluster.
    #[arg(long, env = "COFFEE_NATS_REPLICAS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=5))]
    pub nats_replicas: u32,
    /// How long a delivered message may stay unacknowledged (say, its replica died) before
    /// the broker hands it to another replica, in milliseconds. A live replica keeps the
    /// messages it holds alive, so this can be short.
    #[arg(long, env = "COFFEE_ACK_WAIT_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(100..=3_600_000))]
    pub ack_wait_ms: u64,
}

impl Default for NatsArgs {
    fn default() -> Self {
        Self { nats_replicas: 1, ack_wait_ms: 5_000 }
    }
}

/// PostgreSQL settings (used with `--database postgres://...`).
#[derive(Debug, Clone, Args)]
pub struct PostgresArgs {
    /// PostgreSQL connections per service.
    #[arg(long, env = "COFFEE_DB_POOL", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub db_pool: u32,
}

impl Default for PostgresArgs {
    fn default() -> Self {
        Self { db_pool: 16 }
    }
}

impl NatsArgs {
    pub fn options(&self, url: &str) -> coffee_bus::nats::NatsOptions {
        coffee_bus::nats::NatsOptions {
            replicas: self.nats_replicas as usize,
            ack_wait: Duration::from_millis(self.ack_wait_ms),
            ..coffee_bus::nats::NatsOptions::new(url)
        }
    }
}

/// `coffee order`, `coffee payment`, `coffee fulfilment`: one service in this process.
#[derive(Debug, Clone, Args)]
pub struct ServiceConfig {
    /// Address to listen on.
    #[arg(long, env = "COFFEE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// NATS with JetStream, e.g. nats://127.0.0.1:4222.
    #[arg(long, env = "COFFEE_BUS")]
    pub bus: String,
    /// PostgreSQL, e.g. postgres://coffee@127.0.0.1/coffee. The service keeps its tables
    /// in its own schema (coffee_order, coffee_payment, coffee_fulfilment).
    #[arg(long, env = "COFFEE_DATABASE")]
    pub database: String,
    #[command(flatten)]
    pub nats: NatsArgs,
    #[command(flatten)]
    pub postgres: PostgresArgs,
    /// (payment) Secret that signs and verifies the payment provider's webhooks; set the
    /// same on every replica when a real provider calls them.
    #[arg(long, env = "COFFEE_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    #[command(flatten)]
    pub delivery: DeliveryArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    /// (order) The shop's rules.
    #[command(flatten)]
    pub shop: ShopArgs,
    /// (payment) The payment provider.
    #[command(flatten)]
    pub payment: PaymentArgs,
}

impl ServiceConfig {
    /// The flags given that `kind` does not use (the payment service's, on another service):
    /// warned about at start rather than silently ignored.
    pub fn unused_by(&self, kind: ServiceKind) -> Vec<&'static str> {
        let mut unused = Vec::new();
        if kind != ServiceKind::Payment {
            let p = &self.payment;
            let given = [
                ("--webhook-secret", self.webhook_secret.is_some()),
                ("--payment-provider", p.payment_provider != ProviderKind::Simulated),
                ("--stripe-secret-key", p.stripe_secret_key.is_some()),
                ("--stripe-publishable-key", p.stripe_publishable_key.is_some()),
                ("--stripe-webhook-secret", p.stripe_webhook_secret.is_some()),
            ];
            unused.extend(given.into_iter().filter(|(_, given)| *given).map(|(flag, _)| flag));
        }
        unused
    }

    /// One service in this process.
    pub fn node(&self, kind: ServiceKind) -> anyhow::Result<Node> {
        for flag in self.unused_by(kind) {
            tracing::warn!(flag, service = kind.name(), "this flag is the payment service's; ignored here");
        }
        let Backends::Distributed { bus, database } = Backends::parse(&self.bus, &self.database)? else {
            anyhow::bail!(
                "a service on its own needs --bus nats://... and --database postgres://... (or use `coffee serve`)"
            );
        };
        Ok(Node {
            listen: self.listen,
            backend: distributed(&self.nats, &bus, Some(database), &self.postgres),
            services: vec![kind],
            gateway: Gateway::None,
            settings: ServiceSettings {
                webhook_secret: WebhookSecret::Given(webhook_secret(self.webhook_secret.as_deref())),
                shop: self.shop.rules(),
                provider: match kind {
                    ServiceKind::Payment => self.payment.provider()?,
                    _ => Provider::Simulated,
                },
            },
            delivery: self.delivery.options(),
            retain: self.delivery.retain(),
            upstreams: Vec::new(),
            auth: self.auth.required()?,
        })
    }
}

/// `coffee gateway`: the GraphQL API and the web app, calling the services over HTTP.
#[derive(Debug, Clone, Args)]
pub struct GatewayConfig {
    /// Address to listen on.
    #[arg(long, env = "COFFEE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The order service's base URL.
    #[arg(long, env = "COFFEE_ORDER_URL")]
    pub order_url: String,
    /// The payment service's base URL.
    #[arg(long, env = "COFFEE_PAYMENT_URL")]
    pub payment_url: String,
    /// The fulfilment service's base URL.
    #[arg(long, env = "COFFEE_FULFILMENT_URL")]
    pub fulfilment_url: String,
    /// NATS with JetStream, for live subscriptions.
    #[arg(long, env = "COFFEE_BUS")]
    pub bus: String,
    /// PostgreSQL, for the identity service the gateway runs (staff accounts and ended
    /// sessions, in schema coffee_identity), e.g. postgres://coffee@127.0.0.1/coffee.
    #[arg(long, env = "COFFEE_DATABASE")]
    pub database: String,
    #[command(flatten)]
    pub postgres: PostgresArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
}

impl GatewayConfig {
    /// The gateway alone: GraphQL and the web app, calling the services over HTTP and watching
    /// NATS for subscriptions.
    pub fn node(&self) -> anyhow::Result<Node> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        let services =
            coffee_gateway::Services::over_http(&self.order_url, &self.payment_url, &self.fulfilment_url, http);
        let Backends::Distributed { bus, database } = Backends::parse(&self.bus, &self.database)? else {
            anyhow::bail!(
                "the gateway on its own needs --bus nats://... and --database postgres://... (or use `coffee serve`)"
            );
        };
        Ok(Node {
            listen: self.listen,
            backend: distributed(&NatsArgs::default(), &bus, Some(database), &self.postgres),
            services: Vec::new(),
            gateway: Gateway::OverHttp(services),
            settings: ServiceSettings {
                webhook_secret: WebhookSecret::Given(Vec::new()),
                shop: ShopRules::default(),
                provider: Provider::Simulated,
            },
            delivery: DeliveryOptions::default(),
            retain: Duration::from_secs(30 * DAY_SECS),
            upstreams: vec![
                ("order", self.order_url.clone()),
                ("payment", self.payment_url.clone()),
                ("fulfilment", self.fulfilment_url.clone()),
            ],
            auth: self.auth.required()?,
        })
    }
}

/// The webhook secret given, or a random one for this process.
pub fn webhook_secret(given: Option<&str>) -> Vec<u8> {
    match given {
        Some(s) => s.as_bytes().to_vec(),
        None => {
            let mut bytes = [0u8; 32];
            rand::fill(&mut bytes);
            hex::encode(bytes).into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::Parser;
    use coffee_bus::sqlite::Durability;

    use super::{Backends, Provider};
    use crate::backend::BackendConfig;
    use crate::cli::{Cli, Command};
    use crate::config::ServiceConfig;
    use crate::services::ServiceKind;

    fn serve(args: &[&str]) -> crate::app::Node {
        let cli = Cli::try_parse_from(["coffee", "serve"].iter().chain(args)).unwrap_or_else(|e| panic!("{e}"));
        let Command::Serve(config) = cli.command else { panic!("not serve") };
        config.node().expect("a node")
    }

    #[test]
    fn the_payment_services_flags_given_to_another_service_are_named_as_unused() {
        let config = |command: &str, args: &[&str]| -> ServiceConfig {
            let base = ["coffee", command, "--bus", "nats://127.0.0.1:4222", "--database", "postgres://db/coffee"];
            let cli = Cli::try_parse_from(base.iter().chain(args)).unwrap_or_else(|e| panic!("{e}"));
            match cli.command {
                Command::Order(c) | Command::Payment(c) | Command::Fulfilment(c) => c,
                _ => panic!("a service"),
            }
        };
        let secret = ["--webhook-secret", "whsec_x", "--stripe-publishable-key", "pk_test_x"];
        assert_eq!(
            config("order", &secret).unused_by(ServiceKind::Order),
            ["--webhook-secret", "--stripe-publishable-key"]
        );
        assert!(config("payment", &secret).unused_by(ServiceKind::Payment).is_empty());
        assert!(config("fulfilment", &[]).unused_by(ServiceKind::Fulfilment).is_empty());
    }

    #[test]
    fn every_serve_flag_reaches_what_it_configures() {
        let node = serve(&[
            "--sync",
            "normal",
            "--max-attempts",
            "2",
            "--retry-backoff-ms",
            "400",
            "--slow-order-after",
            "90s",
            "--unpaid-order-timeout",
            "30s",
            "--pickup-board-minutes",
            "5",
            "--max-unpaid-orders",
            "0",
        ]);
        assert_eq!(node.settings.shop.slow_after, Duration::from_secs(90));
        assert_eq!(node.settings.shop.unpaid_timeout, Duration::from_secs(30));
        assert_eq!(node.settings.shop.ready_on_board, Duration::from_secs(300));
        assert_eq!(node.settings.shop.max_unpaid, 0);
        assert!(matches!(node.backend, BackendConfig::Embedded { durability: Durability::Normal, .. }));
        assert_eq!(node.delivery.retry.max_attempts, 2);
        assert_eq!(node.delivery.retry.first_backoff, Duration::from_millis(400));
        assert_eq!(node.delivery.concurrency, 64, "the default");
        let node = serve(&[]);
        assert!(matches!(node.backend, BackendConfig::Embedded { durability: Durability::Full, .. }), "the default");
        assert_eq!(node.settings.shop, coffee_order::ShopRules::default(), "the defaults");
        assert_eq!(
            (node.settings.shop.unpaid_timeout, node.settings.shop.ready_on_board, node.settings.shop.max_unpaid),
            (Duration::from_secs(600), Duration::from_secs(900), 3),
            "the defaults"
        );
        assert_eq!(serve(&["--slow-order-after", "1h 30m"]).settings.shop.slow_after, Duration::from_secs(5400));
        assert_eq!(
            (node.delivery.retry.max_attempts, node.delivery.retry.first_backoff),
            (5, Duration::from_millis(200))
        );

        let node = serve(&[
            "--bus",
            "nats://h:4222",
            "--database",
            "postgres://u@h/db",
            "--nats-replicas",
            "3",
            "--ack-wait-ms",
            "1500",
            "--db-pool",
            "7",
            "--consumer-concurrency",
            "3",
        ]);
        let BackendConfig::Distributed { nats, database, pool } = node.backend else { panic!("distributed") };
        assert_eq!(
            (nats.url.as_str(), nats.replicas, nats.ack_wait),
            ("nats://h:4222", 3, Duration::from_millis(1500))
        );
        assert_eq!((database.as_deref(), pool), (Some("postgres://u@h/db"), 7));
        assert_eq!(node.delivery.concurrency, 3);
    }

    #[test]
    fn stripe_needs_its_keys_and_no_message_shows_one() {
        let parse = |args: &[&str]| {
            let cli = Cli::try_parse_from(["coffee", "serve", "--payment-provider", "stripe"].iter().chain(args))
                .unwrap_or_else(|e| panic!("{e}"));
            let Command::Serve(config) = cli.command else { panic!("not serve") };
            config.node().map(|n| n.settings.provider)
        };
        let secret = ["--stripe-secret-key", "sk_test_secret_123456"];
        let public = ["--stripe-publishable-key", "pk_test_public_123456"];
        let hook = ["--stripe-webhook-secret", "whsec_hook_123456"];
        for (args, missing) in [
            (vec![], "--stripe-secret-key"),
            ([secret.as_slice(), &hook].concat(), "--stripe-publishable-key"),
            ([secret.as_slice(), &public].concat(), "--stripe-webhook-secret"),
        ] {
            let err = parse(&args).expect_err("refused").to_string();
            assert!(err.contains(missing), "{missing}: {err}");
            assert!(!err.contains("sk_test_secret") && !err.contains("whsec_hook"), "no key in {err}");
        }
        let wrong = ["--stripe-secret-key", "pk_test_public_123456"];
        let err = parse(&[wrong.as_slice(), &public, &hook].concat()).expect_err("a publishable key as the secret");
        assert!(err.to_string().contains("sk_"), "{err}");
        let provider = parse(&[secret.as_slice(), &public, &hook].concat()).expect("every key given");
        let Provider::Stripe { publishable_key, api_base, .. } = &provider else { panic!("stripe") };
        assert_eq!((publishable_key.as_str(), api_base.as_str()), ("pk_test_public_123456", "https://api.stripe.com"));
        let printed = format!("{provider:?}");
        assert!(!printed.contains("sk_test_secret") && !printed.contains("whsec_hook"), "{printed}");
        assert!(matches!(serve(&[]).settings.provider, Provider::Simulated), "the default");
    }

    #[test]
    fn out_of_range_flags_are_refused_with_the_range() {
        for (flag, value) in [
            ("--max-attempts", "0"),
            ("--retry-backoff-ms", "0"),
            ("--consumer-concurrency", "0"),
            ("--nats-replicas", "7"),
            ("--ack-wait-ms", "10"),
            ("--sync", "off"),
            ("--slow-order-after", "0s"),
            ("--slow-order-after", "25h"),
            ("--slow-order-after", "soon"),
            ("--unpaid-order-timeout", "0s"),
            ("--unpaid-order-timeout", "2d"),
            ("--pickup-board-minutes", "0"),
            ("--pickup-board-minutes", "1441"),
            ("--max-unpaid-orders", "many"),
        ] {
            let err = Cli::try_parse_from(["coffee", "serve", flag, value]).expect_err("refused").to_string();
            assert!(err.contains(flag) && err.contains(value), "{flag} {value}: {err}");
        }
    }

    #[test]
    fn bus_and_database_go_in_pairs() {
        assert_eq!(Backends::parse("embedded", "sqlite").expect("default"), Backends::Embedded);
        assert!(matches!(
            Backends::parse("nats://127.0.0.1:4222", "postgres://u@h/db"),
            Ok(Backends::Distributed { .. })
        ));
        for (bus, db, says) in [
            ("embedded", "postgres://u@h/db", "--bus nats://"),
            ("nats://h:4222", "sqlite", "--database postgres://"),
            ("kafka://x", "sqlite", "--bus must be"),
            ("embedded", "mysql://x", "--database must be"),
        ] {
            let err = Backends::parse(bus, db).expect_err("refused").to_string();
            assert!(err.contains(says), "{bus} + {db}: {err}");
        }
    }
}
