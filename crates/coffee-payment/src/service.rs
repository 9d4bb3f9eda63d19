//! The payment service's operations.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use coffee_bus::store::Handled;
use coffee_bus::{Change, Envelope, Expect, Lookup, Records, Store, StoreError, TraceContext, Versioned};
use coffee_domain::payment::Capture;
use coffee_domain::{CardNumber, DomainEvent, Millis, Note, OrderId, Payment, PaymentId, PaymentStatus};
use coffee_http::{ServiceError, list_day, list_limit, now};

use crate::client::{PaymentClient, PaymentFilter};
use crate::model::{PAYMENTS, PaymentWithSecret};
use crate::provider::{PaymentProvider, ProviderError, SimulatedProvider};
use crate::webhook::{self, INTENT_FAILED, INTENT_SUCCEEDED, WebhookEvent};

const CONFLICT_RETRIES: usize = 8;

/// The inbox name under which webhook deliveries are recorded, so a delivery the
/// provider repeats is applied once.
pub const WEBHOOK_INBOX: &str = "payment-webhook";

/// How long `create_payment` waits for the order's `created` event to reach the payment
/// service before saying it does not know the order. Normally it is there within
/// milliseconds; a customer who pays the instant the order is placed may get ahead of it.
pub const ORDER_ARRIVAL_WAIT: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct PaymentService {
    payments: Records<Payment>,
    provider: Arc<dyn PaymentProvider>,
    /// The card form, when the provider is the simulated one.
    simulated: Option<Arc<SimulatedProvider>>,
    webhook_secret: Arc<Vec<u8>>,
    /// Woken when this process records a new pending payment.
    arrivals: Arc<tokio::sync::Notify>,
}

impl PaymentService {
    /// A payment service paying through the simulated provider.
    pub fn simulated(store: Arc<dyn Store>, webhook_secret: Vec<u8>) -> Self {
        let provider = Arc::new(SimulatedProvider::new(store.clone(), webhook_secret.clone()));
        Self {
            payments: Records::new(store, PAYMENTS),
            provider: provider.clone(),
            simulated: Some(provider),
            webhook_secret: Arc::new(webhook_secret),
            arrivals: Arc::default(),
        }
    }

    /// A payment service paying through another provider (no card form).
    pub fn with_provider(store: Arc<dyn Store>, provider: Arc<dyn PaymentProvider>, webhook_secret: Vec<u8>) -> Self {
        Self {
            payments: Records::new(store, PAYMENTS),
            provider,
            simulated: None,
            webhook_secret: Arc::new(webhook_secret),
            arrivals: Arc::default(),
        }
    }

    pub fn records(&self) -> &Records<Payment> {
        &self.payments
    }

    pub fn provider(&self) -> &Arc<dyn PaymentProvider> {
        &self.provider
    }

    /// The simulated provider, when it is the one in use.
    pub fn simulated_provider(&self) -> Option<&Arc<SimulatedProvider>> {
        self.simulated.as_ref()
    }

    async fn load(&self, id: &str) -> Result<Versioned<Payment>, ServiceError> {
        let not_found = || ServiceError::not_found("payment", id);
        let parsed = PaymentId::parse(id).map_err(|_| not_found())?;
        self.payments.get(&parsed.to_string()).await?.ok_or_else(not_found)
    }

    /// Wakes requests waiting for an order's payment to be recorded (see [`Self::of_order`]).
    pub(crate) fn payment_recorded(&self) {
        self.arrivals.notify_waiters();
    }

    /// The payment of an order, waiting a little for the order's event to arrive. In this
    /// process the handler wakes the wait when it records a payment; another replica's
    /// handler cannot, so the wait also looks again every 50 ms.
    async fn of_order(&self, order_id: &OrderId) -> Result<Versioned<Payment>, ServiceError> {
        let deadline = tokio::time::Instant::now() + ORDER_ARRIVAL_WAIT;
        loop {
            let recorded = self.arrivals.notified();
            tokio::pin!(recorded);
            recorded.as_mut().enable();
            if let Some(p) = self.payments.by_order(&order_id.to_string()).await? {
                return Ok(p);
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(ServiceError::NotFound(format!("no order '{order_id}' is known to the payment service")));
            }
            let pause = (deadline - now).min(Duration::from_millis(50));
            tokio::select! {
                _ = recorded => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// The provider's webhook: checks the signature, then applies the outcome it reports.
    /// A delivery the provider repeats is applied once (its event id goes in the inbox).
    pub async fn receive_webhook(
        &self,
        signature: Option<&str>,
        body: &[u8],
        trace: &TraceContext,
    ) -> Result<(), ServiceError> {
        webhook::verify(&self.webhook_secret, signature, body, now().seconds())
            .map_err(|e| ServiceError::BadInput(format!("webhook refused: {e}")))?;
        let event: WebhookEvent = serde_json::from_slice(body)
            .map_err(|e| ServiceError::BadInput(format!("webhook body is not a payment intent event: {e}")))?;
        let succeeded = match event.event_type.as_str() {
            INTENT_SUCCEEDED => true,
            INTENT_FAILED => false,
            other => {
                tracing::debug!(r#type = other, "ignoring a webhook event of a type we do not use");
                return Ok(());
            }
        };
        let intent = &event.data.object;
        let payment_id = intent.metadata.payment_id.as_str();
        for _ in 0..CONFLICT_RETRIES {
            let current = self.load(payment_id).await?;
            if current.value.payment_intent_id.as_deref() != Some(intent.id.as_str()) {
                return Err(ServiceError::BadInput(format!(
                    "payment intent {} does not belong to payment {payment_id}",
                    intent.id
                )));
            }
            let next = if succeeded {
                match current.value.on_captured(now()) {
                    Capture::Succeeded(p) => Some(p),
                    Capture::RefundAtOnce(p) => {
                        self.provider.refund(&intent.id).await.map_err(provider_error)?;
                        Some(p)
                    }
                    Capture::Ignore => None,
                }
            } else {
                let reason = intent.last_payment_error.as_ref().map_or("the payment failed", |e| e.message.as_str());
                current.value.on_declined(Note::system(reason), now())
            };
            let mut change = Change::new();
            if let Some(p) = &next {
                change = change
                    .put(PAYMENTS, p, Expect::Version(current.version))?
                    .emit(&DomainEvent::Payment(p.clone()), trace);
            }
            change.handled =
                Some(Handled { consumer: WEBHOOK_INBOX.to_owned(), event_id: event.id.clone(), delivery_seq: None });
            match self.payments.commit(change).await {
                Ok(_) => {
                    if let Some(p) = next {
                        tracing::debug!(payment = %p.id, order = %p.order_id, status = %p.status, "payment outcome recorded");
                    }
                    return Ok(());
                }
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Unavailable("the payment is changing too often right now; try again".to_owned()))
    }
}

impl PaymentService {
    /// Finds captures this service never recorded and has their webhooks delivered again
    /// (as Stripe retries a webhook until it is acknowledged). With the simulated provider
    /// the webhook is delivered within the request that captures, so only a process that
    /// died between the two leaves one behind: run at start. Looks at yesterday's and
    /// today's intents. Returns how many it delivered.
    pub async fn recover_missed_captures(&self) -> Result<usize, ServiceError> {
        let Some(simulated) = &self.simulated else { return Ok(0) };
        let now = now();
        let mut delivered = 0;
        for day in [Millis(now.0 - 86_400_000).day(), now.day()] {
            for intent in simulated.captures_on(&day.to_string()).await.map_err(provider_error)? {
                let Some(payment) = self.payments.by_order(&intent.order_id).await? else { continue };
                let Some(event_id) = intent.capture_event_id.as_deref() else { continue };
                if payment.value.status != PaymentStatus::Created {
                    continue;
                }
                let delivery = simulated.delivery(&intent, event_id).map_err(provider_error)?;
                self.receive_webhook(Some(&delivery.signature), &delivery.body, &TraceContext::new_root()).await?;
                delivered += 1;
            }
        }
        if delivered > 0 {
            tracing::info!(delivered, "delivered the webhooks of captures recorded before a crash");
        }
        Ok(delivered)
    }
}

pub(crate) fn provider_error(e: ProviderError) -> ServiceError {
    match e {
        ProviderError::Unavailable(m) => ServiceError::Unavailable(m),
        ProviderError::UnknownIntent(id) => ServiceError::Internal(format!("the provider does not know intent {id}")),
        ProviderError::Refused(m) => ServiceError::BadInput(m),
    }
}

#[async_trait]
impl PaymentClient for PaymentService {
    async fn create_payment(&self, order_id: &str, trace: &TraceContext) -> Result<PaymentWithSecret, ServiceError> {
        let order_id = OrderId::parse(order_id)?;
        for _ in 0..CONFLICT_RETRIES {
            let current = self.of_order(&order_id).await?;
            let payment = &current.value;
            match payment.status {
                PaymentStatus::Pending => {}
                PaymentStatus::Created => {
                    let intent = payment.payment_intent_id.as_deref().unwrap_or_default();
                    let client_secret = self.provider.client_secret(intent).await.map_err(provider_error)?;
                    return Ok(PaymentWithSecret { payment: payment.clone(), client_secret });
                }
                PaymentStatus::Successful => {
                    return Err(ServiceError::Conflict(format!("order {order_id} is already paid")));
                }
                PaymentStatus::Failed | PaymentStatus::Refunded => {
                    let why = payment.note.as_ref().map(|n| format!(": {n}")).unwrap_or_default();
                    return Err(ServiceError::Conflict(format!(
                        "the payment of order {order_id} is {}{why}; it cannot be paid again",
                        payment.status
                    )));
                }
            }
            let intent = self.provider.create_intent(payment).await.map_err(provider_error)?;
            let next = payment.intent_created(intent.id, now())?;
            let change = Change::new()
                .put(PAYMENTS, &next, Expect::Version(current.version))?
                .emit(&DomainEvent::Payment(next.clone()), trace);
            match self.payments.commit(change).await {
                Ok(_) => return Ok(PaymentWithSecret { payment: next, client_secret: intent.client_secret }),
                Err(StoreError::Conflict) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ServiceError::Unavailable("the payment is changing too often right now; try again".to_owned()))
    }

    async fn payment(&self, id: &str) -> Result<Payment, ServiceError> {
        Ok(self.load(id).await?.value)
    }

    async fn payments(&self, filter: &PaymentFilter) -> Result<Vec<Payment>, ServiceError> {
        let limit = list_limit(filter.limit)?;
        match (&filter.date, &filter.order_id) {
            (Some(_), Some(_)) => Err(ServiceError::BadInput("give either date or orderId, not both".to_owned())),
            (None, Some(order_id)) => {
                let order_id = OrderId::parse(order_id)?;
                Ok(self.payments.by_order(&order_id.to_string()).await?.map(|p| p.value).into_iter().collect())
            }
            (date, None) => {
                let day = list_day(date.as_deref())?;
                Ok(self.payments.find(Lookup::Day(&day.to_string()), limit).await?)
            }
        }
    }

    async fn confirm_payment(
        &self,
        id: &str,
        card_number: &str,
        trace: &TraceContext,
    ) -> Result<Payment, ServiceError> {
        let Some(simulated) = &self.simulated else {
            return Err(ServiceError::NotFound(
                "there is no card form: payments are taken by the configured payment provider".to_owned(),
            ));
        };
        let card = CardNumber::parse(card_number)?;
        let payment = self.load(id).await?.value;
        if payment.status != PaymentStatus::Created {
            return Err(ServiceError::Conflict(format!(
                "payment {} is {}; only a {} payment can be paid",
                payment.id,
                payment.status,
                PaymentStatus::Created
            )));
        }
        let intent = payment.payment_intent_id.as_deref().unwrap_or_default();
        let delivery = simulated.confirm(intent, &card).await.map_err(|e| match e {
            ProviderError::Refused(m) if m.contains("cannot be paid") => ServiceError::Conflict(m),
            other => provider_error(other),
        })?;
        self.receive_webhook(Some(&delivery.signature), &delivery.body, trace).await?;
        Ok(self.load(id).await?.value)
    }

    async fn payment_events(&self, order_id: &str) -> Result<Vec<Envelope>, ServiceError> {
        let id = OrderId::parse(order_id)?;
        let events = self.payments.store().events_about(&id.to_string()).await?;
        Ok(events.into_iter().filter(|e| e.source == crate::SERVICE).collect())
    }
}
