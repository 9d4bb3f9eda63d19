//! The services a process can run, each mounted the same way whatever the mode: its store is
//! opened with its migrations, the service is built on it, its routes are served and its consumer
//! fed by the transport. `serve` runs all three; `coffee order|payment|fulfilment` one each.

use std::sync::Arc;

use coffee_bus::{Migration, Rule, Rules, Store};
use coffee_domain::Source;
use coffee_fulfilment::FulfilmentService;
use coffee_gateway::Services;
use coffee_http::Mount;
use coffee_order::OrderService;
use coffee_payment::PaymentService;
use futures::future::BoxFuture;

/// A service a process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    Order,
    Payment,
    Fulfilment,
}

/// What a service needs from the configuration.
#[derive(Debug, Clone)]
pub struct ServiceSettings {
    /// Signs and checks the payment provider's webhooks (the payment service's).
    pub webhook_secret: WebhookSecret,
    /// The shop's rules (the order service's).
    pub shop: coffee_order::ShopRules,
}

/// What the services of a process are started with, once its keys are read.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub webhook_secret: Vec<u8>,
    pub shop: coffee_order::ShopRules,
}

/// Where the webhook secret comes from: given, or made once and kept in `serve`'s data
/// directory (so a provider configured with it keeps working across restarts).
#[derive(Debug, Clone)]
pub enum WebhookSecret {
    Given(Vec<u8>),
    KeptIn(std::path::PathBuf),
}

impl WebhookSecret {
    /// The secret's bytes, reading (or making) the kept file.
    pub fn bytes(&self) -> anyhow::Result<Vec<u8>> {
        match self {
            WebhookSecret::Given(bytes) => Ok(bytes.clone()),
            WebhookSecret::KeptIn(path) => match std::fs::read_to_string(path) {
                Ok(text) if !text.trim().is_empty() => Ok(text.trim().as_bytes().to_vec()),
                Ok(_) => anyhow::bail!("{} is empty: delete it to have a new secret made", path.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let mut bytes = [0u8; 32];
                    rand::fill(&mut bytes);
                    let secret = format!("whsec_{}", hex::encode(bytes));
                    coffee_auth::write_private(path, &secret)
                        .map_err(|e| anyhow::anyhow!("cannot keep the webhook secret in {}: {e}", path.display()))?;
                    tracing::info!(path = %path.display(), "made the webhook secret");
                    Ok(secret.into_bytes())
                }
                Err(e) => anyhow::bail!("cannot read the webhook secret from {}: {e}", path.display()),
            },
        }
    }
}

/// A service built on its store: what it brings to the process, and its in-process client.
pub struct Running {
    pub mount: Mount,
    /// Work to run once at start (the payment service's recovery of unrecorded captures).
    pub at_start: Option<BoxFuture<'static, ()>>,
    client: Client,
}

impl Running {
    fn new(mount: Mount, at_start: Option<BoxFuture<'static, ()>>, client: Client) -> Self {
        Self { mount, at_start, client }
    }
}

enum Client {
    Order(OrderService),
    Payment(PaymentService),
    Fulfilment(FulfilmentService),
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 3] = [ServiceKind::Order, ServiceKind::Payment, ServiceKind::Fulfilment];

    /// The consumer name of its queue and the `source` of its events.
    pub fn name(self) -> &'static str {
        self.source().as_str()
    }

    pub fn source(self) -> Source {
        match self {
            ServiceKind::Order => Source::Order,
            ServiceKind::Payment => Source::Payment,
            ServiceKind::Fulfilment => Source::Fulfilment,
        }
    }

    /// The PostgreSQL schema it owns in the distributed mode.
    pub fn schema(self) -> &'static str {
        match self {
            ServiceKind::Order => coffee_order::SCHEMA,
            ServiceKind::Payment => coffee_payment::SCHEMA,
            ServiceKind::Fulfilment => coffee_fulfilment::SCHEMA,
        }
    }

    pub fn migrations(self) -> &'static [Migration] {
        match self {
            ServiceKind::Order => coffee_order::store::MIGRATIONS,
            ServiceKind::Payment => coffee_payment::store::MIGRATIONS,
            ServiceKind::Fulfilment => coffee_fulfilment::store::MIGRATIONS,
        }
    }

    /// Whether its changes schedule timers (the order service's payment-due), so that its
    /// process must fire them when due.
    pub fn schedules_timers(self) -> bool {
        match self {
            ServiceKind::Order => true,
            ServiceKind::Payment | ServiceKind::Fulfilment => false,
        }
    }

    /// The rule that selects the events its queue receives: the one its consumer is mounted with.
    pub fn rule(self) -> Rule {
        match self {
            ServiceKind::Order => coffee_order::handlers::rule(),
            ServiceKind::Payment => coffee_payment::handlers::rule(),
            ServiceKind::Fulfilment => coffee_fulfilment::handlers::rule(),
        }
    }

    /// Builds the service on `store`.
    pub fn start(self, store: Arc<dyn Store>, options: &ServiceOptions) -> Running {
        match self {
            ServiceKind::Order => {
                let service = OrderService::new(store, options.shop);
                Running::new(coffee_order::mount(&service), None, Client::Order(service))
            }
            ServiceKind::Payment => {
                let service = PaymentService::simulated(store, options.webhook_secret.clone());
                let recovering = service.clone();
                let at_start = Box::pin(async move {
                    if let Err(e) = recovering.recover_missed_captures().await {
                        tracing::warn!(error = %e, "could not recover captures recorded before a crash");
                    }
                });
                Running::new(coffee_payment::mount(&service), Some(at_start), Client::Payment(service))
            }
            ServiceKind::Fulfilment => {
                let service = FulfilmentService::new(store);
                Running::new(coffee_fulfilment::mount(&service), None, Client::Fulfilment(service))
            }
        }
    }
}

/// The rule of every service: which consumer's queue gets which events (the embedded bus routes
/// with all of them in one store).
pub fn rules() -> Rules {
    Rules::new(ServiceKind::ALL.iter().map(|k| k.rule()).collect())
}

/// The migrations of every service, of the identity service and of the idempotency keys, for
/// the one store of the embedded mode.
pub fn migrations() -> Vec<Migration> {
    let services = ServiceKind::ALL.iter().flat_map(|k| k.migrations().iter().copied());
    services
        .chain(coffee_identity::store::MIGRATIONS.iter().copied())
        .chain(coffee_http::idempotency::MIGRATIONS.iter().copied())
        .collect()
}

/// The gateway's view of the services running in this process; `None` unless all three are.
pub fn in_process(running: &[Running]) -> Option<Services> {
    let (mut orders, mut payments, mut fulfilments) = (None, None, None);
    for r in running {
        match &r.client {
            Client::Order(s) => orders = Some(Arc::new(s.clone()) as _),
            Client::Payment(s) => payments = Some(Arc::new(s.clone()) as _),
            Client::Fulfilment(s) => fulfilments = Some(Arc::new(s.clone()) as _),
        }
    }
    Some(Services::new(orders?, payments?, fulfilments?))
}
