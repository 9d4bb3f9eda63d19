//! The services a process can run, each mounted the same way whatever the mode: its store is
//! opened with its migrations, the service is built on it, its routes are served and its consumer
//! fed by the transport. `serve` runs all three; `coffee order|payment|fulfilment` one each.

use std::sync::Arc;
use std::time::Duration;

use coffee_bus::retention::OpenRecords;
use coffee_bus::{Migration, Rule, Rules, Store};
use coffee_domain::Source;
use coffee_fulfilment::FulfilmentService;
use coffee_gateway::Services;
use coffee_http::Mount;
use coffee_order::OrderService;
use coffee_payment::PaymentService;
use coffee_payment::provider::StripeProvider;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

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
    /// Who takes the money (the payment service's).
    pub provider: crate::config::Provider,
}

/// What the services of a process are started with, once its keys are read.
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// What the payment provider's webhooks are signed with.
    pub webhook_secret: Vec<u8>,
    pub shop: coffee_order::ShopRules,
    pub provider: crate::config::Provider,
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
    /// Work beside the API and the consumer, until shutdown (the payment service's recovery
    /// of unrecorded captures, and its reconciliation with the provider).
    pub background: Option<Background>,
    client: Client,
}

/// A service's own task, given the token that says the process is stopping.
pub type Background = Box<dyn FnOnce(CancellationToken) -> BoxFuture<'static, ()> + Send>;

impl Running {
    fn new(mount: Mount, background: Option<Background>, client: Client) -> Self {
        Self { mount, background, client }
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

    /// The service's records that keep their order open while they have one of these statuses:
    /// the journal keeps that order's events whatever their age (see `coffee_bus::retention`).
    pub fn open_records(self) -> OpenRecords {
        use coffee_domain::{FulfilmentStatus as F, OrderStatus as O, PaymentStatus as P};
        let (table, statuses) = match self {
            ServiceKind::Order => {
                (coffee_order::model::ORDERS.table, vec![O::Created.as_str(), O::InProgress.as_str()])
            }
            // Waiting for the customer's card or the provider's word.
            ServiceKind::Payment => {
                (coffee_payment::model::PAYMENTS.table, vec![P::Pending.as_str(), P::Created.as_str()])
            }
            ServiceKind::Fulfilment => {
                (coffee_fulfilment::model::FULFILMENTS.table, vec![F::Pending.as_str(), F::Created.as_str()])
            }
        };
        OpenRecords { table, statuses }
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
    pub fn start(self, store: Arc<dyn Store>, options: &ServiceOptions) -> anyhow::Result<Running> {
        Ok(match self {
            ServiceKind::Order => {
                let service = OrderService::new(store, options.shop);
                Running::new(coffee_order::mount(&service), None, Client::Order(service))
            }
            ServiceKind::Payment => {
                let service = match &options.provider {
                    crate::config::Provider::Simulated => {
                        PaymentService::simulated(store, options.webhook_secret.clone())
                    }
                    crate::config::Provider::Stripe { secret_key, publishable_key, api_base, .. } => {
                        let stripe = StripeProvider::new(secret_key.clone(), publishable_key, api_base)
                            .map_err(anyhow::Error::msg)?;
                        PaymentService::with_provider(store, Arc::new(stripe), options.webhook_secret.clone())
                    }
                };
                let reconcile_after = match &options.provider {
                    crate::config::Provider::Stripe { reconcile_after, .. } => Some(*reconcile_after),
                    crate::config::Provider::Simulated => None,
                };
                let payments = service.clone();
                let background: Background =
                    Box::new(move |shutdown| Box::pin(settle(payments, reconcile_after, shutdown)));
                Running::new(coffee_payment::mount(&service), Some(background), Client::Payment(service))
            }
            ServiceKind::Fulfilment => {
                let service = FulfilmentService::new(store);
                Running::new(coffee_fulfilment::mount(&service), None, Client::Fulfilment(service))
            }
        })
    }
}

/// The payment service's own work: at start, the captures a crash left unrecorded (the
/// simulated provider's); then, with a provider that can look intents up, every payment still
/// waiting for its outcome is looked up (at start, however old: a webhook may have been lost
/// while the process was down), and from then on those waiting longer than `reconcile_after`.
async fn settle(payments: PaymentService, reconcile_after: Option<Duration>, shutdown: CancellationToken) {
    if let Err(e) = payments.recover_missed_captures().await {
        tracing::warn!(error = %e, "could not recover captures recorded before a crash");
    }
    let Some(after) = reconcile_after else { return };
    let mut before = coffee_service::now();
    loop {
        if let Err(e) = payments.reconcile(before).await {
            tracing::warn!(error = %e, "could not reconcile the payments waiting for their outcome");
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(after.min(Duration::from_secs(60))) => {}
        }
        let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
        before = coffee_domain::Millis(coffee_service::now().0.saturating_sub(after_ms));
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
