//! The payment service's operations: what its REST API and the gateway call, and the provider's
//! webhook.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use coffee_bus::store::Handled;
use coffee_bus::{Change, Decision, Envelope, Expect, Records, Store, Versioned};
use coffee_domain::payment::Capture;
use coffee_domain::{Millis, Note, OrderId, Payment, PaymentId, PaymentStatus};
use coffee_service::{Context, Events, ListRecords, Load, ServiceError, ServiceResult, now};

use crate::client::PaymentClient;
use crate::model::{Checkout, CreatePayment, PAYMENTS, PaymentList, PaymentWithSecret};
use crate::provider::{PaymentProvider, ProviderError, SimulatedProvider};
use crate::webhook::{self, CHARGE_REFUNDED, ChargeEvent, INTENT_FAILED, INTENT_SUCCEEDED, WebhookEvent};

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
    webhook_secret: Arc<Vec<u8>>,
    /// Woken when this process records a payment.
    arrivals: Arc<tokio::sync::Notify>,
}

impl PaymentService {
    /// A payment service paying through the simulated provider.
    pub fn simulated(store: Arc<dyn Store>, webhook_secret: Vec<u8>) -> Self {
        let provider = Arc::new(SimulatedProvider::new(store.clone(), webhook_secret.clone()));
        Self::with_provider(store, provider, webhook_secret)
    }

    /// A payment service paying through `provider`.
    pub fn with_provider(store: Arc<dyn Store>, provider: Arc<dyn PaymentProvider>, webhook_secret: Vec<u8>) -> Self {
        Self {
            payments: Records::new(store, PAYMENTS),
            provider,
            webhook_secret: Arc::new(webhook_secret),
            arrivals: Arc::default(),
        }
    }

    pub fn records(&self) -> &Records<Payment> {
        &self.payments
    }

    pub fn provider(&self) -> &dyn PaymentProvider {
        self.provider.as_ref()
    }

    /// Wakes requests waiting for an order's payment to be recorded (see [`Self::of_order`]).
    pub(crate) fn payment_recorded(&self) {
        self.arrivals.notify_waiters();
    }

    /// The payment of an order, waiting a little for the order's event to arrive. In this
    /// process the handler wakes the wait when it records a payment; another replica's
    /// handler cannot, so the wait also looks again every 50 ms.
    async fn of_order(&self, order_id: OrderId) -> ServiceResult<Versioned<Payment>> {
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
                return Err(unknown_order(order_id));
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
    pub async fn receive_webhook(&self, ctx: &Context, signature: Option<&str>, body: &[u8]) -> ServiceResult<()> {
        webhook::verify(&self.webhook_secret, signature, body, now().seconds())
            .map_err(|e| ServiceError::BadInput(format!("webhook refused: {e}")))?;
        // The type first: Stripe sends many (charge.*, refund.*, ...), each with its own object,
        // and one this service does not use is acknowledged and left alone, or Stripe would
        // retry it for days.
        let head: webhook::EventHead = serde_json::from_slice(body)
            .map_err(|e| ServiceError::BadInput(format!("webhook body is not an event: {e}")))?;
        let succeeded = match head.event_type.as_str() {
            INTENT_SUCCEEDED => true,
            INTENT_FAILED => false,
            CHARGE_REFUNDED => {
                let event: ChargeEvent = serde_json::from_slice(body)
                    .map_err(|e| ServiceError::BadInput(format!("webhook body is not a charge event: {e}")))?;
                return self.refunded_at_provider(ctx, &event).await;
            }
            other => {
                tracing::debug!(r#type = other, event = %head.id, "ignoring a webhook event of a type we do not use");
                return Ok(());
            }
        };
        let event: WebhookEvent = serde_json::from_slice(body)
            .map_err(|e| ServiceError::BadInput(format!("webhook body is not a payment intent event: {e}")))?;
        self.apply_outcome(ctx, &event, succeeded).await
    }

    /// The payment an event of the provider names, when `intent_id` is its intent; none when
    /// no payment of this service has that id: the intent is someone else's on the same account
    /// (a payment is recorded before its intent is made, so none of ours can be missing).
    async fn payment_of_intent(
        &self,
        payment_id: PaymentId,
        intent_id: &str,
    ) -> ServiceResult<Option<Versioned<Payment>>> {
        let Some(current) = self.payments.get(&payment_id.to_string()).await? else { return Ok(None) };
        // The intent is made before the payment records its id, so its events may overtake
        // that commit: refused, and the provider delivers it again later.
        if current.value.payment_intent_id.as_deref() != Some(intent_id) {
            return Err(ServiceError::BadInput(format!(
                "payment intent {intent_id} does not belong to payment {payment_id}"
            )));
        }
        Ok(Some(current))
    }

    /// Applies the outcome an event reports (a webhook's, or one found by [`Self::reconcile`]),
    /// once per event id.
    async fn apply_outcome(&self, ctx: &Context, event: &WebhookEvent, succeeded: bool) -> ServiceResult<()> {
        let intent = &event.data.object;
        let Some(payment_id) = intent.metadata.payment() else {
            not_ours(&event.id, &intent.id);
            return Ok(());
        };
        let handled = &Handled { consumer: WEBHOOK_INBOX.to_owned(), event_id: event.id.clone(), delivery_seq: None };
        // The decision below is made again after a version conflict; the provider is asked
        // to refund once however often that happens.
        let refund_asked = &AtomicBool::new(false);
        let recorded = self
            .payments
            .update(|| async move {
                let Some(current) = self.payment_of_intent(payment_id, &intent.id).await? else {
                    return Ok(Decision::Answer(None));
                };
                // A signed event for the right intent with another amount or currency is not
                // this payment's outcome (a provider-side change we did not make): refused, so
                // the provider retries it and an operator sees it, rather than recorded as paid.
                if intent.amount != current.value.amount.0
                    || !intent.currency.eq_ignore_ascii_case(&current.value.currency)
                {
                    return Err(ServiceError::BadInput(format!(
                        "payment intent {} is for {} {}, but payment {payment_id} is for {} {}",
                        intent.id, intent.amount, intent.currency, current.value.amount.0, current.value.currency
                    )));
                }
                let next = if succeeded {
                    match current.value.on_captured(now()) {
                        Capture::Succeeded(p) => Some(p),
                        Capture::RefundAtOnce(p) => {
                            if !refund_asked.swap(true, Ordering::Relaxed) {
                                self.provider.refund(&intent.id).await.map_err(provider_error)?;
                            }
                            Some(p)
                        }
                        Capture::Ignore => None,
                    }
                } else {
                    let reason =
                        intent.last_payment_error.as_ref().map_or("the payment failed", |e| e.message.as_str());
                    current.value.on_declined(Note::system(reason), now())
                };
                let steps: Vec<Payment> = next.into_iter().collect();
                let mut change = Change::new().steps(PAYMENTS, Expect::Version(current.version), &steps, &ctx.trace)?;
                change.handled = Some(handled.clone());
                Ok(Decision::Commit(change, steps.into_iter().next()))
            })
            .await?;
        let Some(p) = recorded else { return Ok(()) };
        tracing::debug!(payment = %p.id, order = %p.order_id, status = %p.status, "payment outcome recorded");
        if p.status == PaymentStatus::Failed {
            // Too many cards declined: no more attempts on this intent. Should this not reach
            // the provider, a capture that still comes finds the payment failed and is refunded.
            if let Err(e) = self.provider.cancel_intent(&intent.id).await {
                tracing::warn!(payment = %p.id, intent = %intent.id, error = %e, "the intent of a failed payment stays open");
            }
        }
        Ok(())
    }

    /// A charge refunded at the provider. This service's own refunds are recorded by the step
    /// that asked for them (which may not have committed yet: the event can overtake the
    /// provider's answer), so their events change nothing; a refund made by someone else (the
    /// shop, in Stripe's dashboard) of all of a payment records it refunded
    /// (`Payment::on_refunded_at_provider`), which closes its coffee if it is still being made.
    /// A partial refund is the shop's own business: left alone. The charge does not name our
    /// payment: its intent, looked up at the provider, does.
    async fn refunded_at_provider(&self, ctx: &Context, event: &ChargeEvent) -> ServiceResult<()> {
        let charge = &event.data.object;
        if event.refunded_by_this_service() {
            tracing::debug!(charge = %charge.id, event = %event.id, "our own refund: recorded by the step that asked");
            return Ok(());
        }
        let Some(intent_id) = charge.payment_intent.as_deref().filter(|_| charge.refunded) else {
            tracing::info!(charge = %charge.id, event = %event.id, "a charge refunded in part, or of no intent: left alone");
            return Ok(());
        };
        let Some(intent) = self.provider.look_up(intent_id).await.map_err(provider_error)? else { return Ok(()) };
        let Some(payment_id) = intent.metadata.payment() else {
            not_ours(&event.id, intent_id);
            return Ok(());
        };
        let intent = &intent;
        let handled = &Handled { consumer: WEBHOOK_INBOX.to_owned(), event_id: event.id.clone(), delivery_seq: None };
        self.payments
            .update(|| async move {
                let Some(current) = self.payment_of_intent(payment_id, &intent.id).await? else {
                    return Ok(Decision::Answer(()));
                };
                let steps: Vec<Payment> = current.value.on_refunded_at_provider(now()).into_iter().collect();
                let mut change = Change::new().steps(PAYMENTS, Expect::Version(current.version), &steps, &ctx.trace)?;
                change.handled = Some(handled.clone());
                Ok(Decision::Commit(change, ()))
            })
            .await
    }

    /// Looks up at the provider the intents of payments still waiting for their outcome that
    /// were last changed before `before`, and applies each capture found: a webhook that was
    /// lost, or not sent yet, never leaves money taken and no coffee made. Looks at yesterday's
    /// and today's payments. Returns how many it settled. (A provider that cannot look intents
    /// up settles none; the simulated one has [`Self::recover_missed_captures`].)
    pub async fn reconcile(&self, before: Millis) -> ServiceResult<usize> {
        let (ctx, now) = (Context::internal(), now());
        let mut settled = 0;
        for day in [Millis(now.0 - 86_400_000).day(), now.day()] {
            let day = day.to_string();
            let waiting = self.payments.find(coffee_bus::Lookup::Day(&day), coffee_service::MAX_LIST).await?;
            for payment in waiting.iter().filter(|p| p.status == PaymentStatus::Created && p.updated_at < before) {
                let Some(intent_id) = payment.payment_intent_id.as_deref() else { continue };
                let Some(intent) = self.provider.look_up(intent_id).await.map_err(provider_error)? else {
                    return Ok(0);
                };
                if intent.status != "succeeded" {
                    continue;
                }
                let event = WebhookEvent {
                    // One id per intent: a second reconciliation, or the webhook's own event
                    // arriving after, finds the payment already paid and changes nothing.
                    id: format!("reconciled:{intent_id}"),
                    event_type: INTENT_SUCCEEDED.to_owned(),
                    created: now.seconds(),
                    data: webhook::WebhookData { object: intent },
                };
                self.apply_outcome(&ctx, &event, true).await?;
                settled += 1;
            }
        }
        if settled > 0 {
            tracing::info!(settled, "settled payments whose webhook had not arrived, from the provider's intents");
        }
        Ok(settled)
    }

    /// Finds captures this service never recorded and has their webhooks delivered again
    /// (as Stripe retries a webhook until it is acknowledged). With the simulated provider
    /// the webhook is delivered within the request that captures, so only a process that
    /// died between the two leaves one behind: run at start. Looks at yesterday's and
    /// today's intents. Returns how many it delivered.
    pub async fn recover_missed_captures(&self) -> ServiceResult<usize> {
        let Some(card_form) = self.provider.card_form() else { return Ok(0) };
        let (ctx, now) = (Context::internal(), now());
        let mut delivered = 0;
        for day in [Millis(now.0 - 86_400_000).day(), now.day()] {
            for delivery in card_form.captures_on(day).await.map_err(provider_error)? {
                let Some(payment) = self.payments.get(&delivery.payment_id).await? else { continue };
                if payment.value.status != PaymentStatus::Created {
                    continue;
                }
                self.receive_webhook(&ctx, Some(&delivery.signature), &delivery.body).await?;
                delivered += 1;
            }
        }
        if delivered > 0 {
            tracing::info!(delivered, "delivered the webhooks of captures recorded before a crash");
        }
        Ok(delivered)
    }
}

/// An event about an intent this service did not make: acknowledged, or the provider would
/// deliver it again for days.
fn not_ours(event_id: &str, intent_id: &str) {
    tracing::info!(
        event = event_id,
        intent = intent_id,
        "an event about an intent this service did not make: left alone"
    );
}

fn unknown_order(order_id: OrderId) -> ServiceError {
    ServiceError::NotFound(format!("no order '{order_id}' is known to the payment service"))
}

pub(crate) fn provider_error(e: ProviderError) -> ServiceError {
    match e {
        ProviderError::Unavailable(detail) => {
            tracing::warn!(reason = %detail, "the payment provider is unavailable");
            ServiceError::Unavailable("payments cannot be taken right now; try again shortly".to_owned())
        }
        ProviderError::UnknownIntent(id) => ServiceError::Internal(format!("the provider does not know intent {id}")),
        e @ ProviderError::NotPayable { .. } => ServiceError::Conflict(e.to_string()),
        ProviderError::Refused(m) => ServiceError::BadInput(m),
    }
}

#[async_trait]
impl PaymentClient for PaymentService {
    async fn create_payment(&self, ctx: &Context, request: &CreatePayment) -> ServiceResult<PaymentWithSecret> {
        let order_id = request.order_id;
        self.payments
            .update(|| async move {
                let current = self.of_order(order_id).await?;
                let payment = &current.value;
                ctx.act_for(&payment.customer_id, || unknown_order(order_id))?;
                match payment.status {
                    PaymentStatus::Pending => {}
                    PaymentStatus::Created => {
                        let intent = payment.payment_intent_id.as_deref().unwrap_or_default();
                        let client_secret = self.provider.client_secret(intent).await.map_err(provider_error)?;
                        return Ok(Decision::Answer(PaymentWithSecret { payment: payment.clone(), client_secret }));
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
                let change = Change::new().step(PAYMENTS, Expect::Version(current.version), &next, &ctx.trace)?;
                Ok(Decision::Commit(change, PaymentWithSecret { payment: next, client_secret: intent.client_secret }))
            })
            .await
    }

    async fn payment(&self, ctx: &Context, id: PaymentId) -> ServiceResult<Payment> {
        Ok(self.payments.load_to_read(ctx, id).await?.value)
    }

    async fn payments(&self, ctx: &Context, list: &PaymentList) -> Result<Vec<Payment>, ServiceError> {
        self.payments.list(ctx, list).await
    }

    async fn confirm_payment(
        &self,
        ctx: &Context,
        id: PaymentId,
        request: &crate::model::ConfirmPayment,
    ) -> ServiceResult<Payment> {
        let Some(card_form) = self.provider.card_form() else {
            return Err(ServiceError::NotFound(
                "there is no card form: payments are taken by the configured payment provider".to_owned(),
            ));
        };
        let payment = self.payments.load_to_act(ctx, id).await?.value;
        if payment.status != PaymentStatus::Created {
            return Err(ServiceError::Conflict(format!(
                "payment {} is {}; only a {} payment can be paid",
                payment.id,
                payment.status,
                PaymentStatus::Created
            )));
        }
        let intent = payment.payment_intent_id.as_deref().unwrap_or_default();
        let delivery = card_form.confirm(intent, &request.card_number).await.map_err(provider_error)?;
        self.receive_webhook(ctx, Some(&delivery.signature), &delivery.body).await?;
        Ok(self.payments.load(id).await?.value)
    }

    async fn payment_events(&self, ctx: &Context, order_id: OrderId) -> ServiceResult<Vec<Envelope>> {
        self.payments.events_to_read(ctx, order_id).await
    }

    async fn checkout(&self, _ctx: &Context) -> ServiceResult<Checkout> {
        Ok(self.provider.checkout())
    }
}
