//! The payment service's reactions to the order service's events.
//!
//! | event | reaction |
//! |---|---|
//! | `coffee.order.created` | record what the order will cost (PAYMENT_PENDING) |
//! | `coffee.order.cancelled` | nothing paid: the payment fails; an intent open: cancel it at the provider; money taken: refund it |

use async_trait::async_trait;
use coffee_bus::{Change, Envelope, Expect, Handler, HandlerError, Pattern, Records, Rule, TraceContext};
use coffee_domain::payment::OnOrderCancelled;
use coffee_domain::{DomainEvent, EventType, Note, Order, OrderStatus, Payment, PaymentId};
use coffee_http::now;
use serde_json::json;

use crate::model::PAYMENTS;
use crate::provider::CancelOutcome;
use crate::service::PaymentService;

pub fn rule() -> Rule {
    let pattern = json!({ "type": [EventType::OrderCreated.as_str(), EventType::OrderCancelled.as_str()] });
    Rule::new(crate::SERVICE, Pattern::from_value(pattern).unwrap_or_else(|e| panic!("payment rule: {e}")))
}

pub struct PaymentHandlers {
    service: PaymentService,
}

impl PaymentHandlers {
    pub fn new(service: PaymentService) -> Self {
        Self { service }
    }

    fn payments(&self) -> &Records<Payment> {
        self.service.records()
    }

    async fn on_order_created_record_payment(
        &self,
        order: &Order,
        trace: &TraceContext,
    ) -> Result<Change, HandlerError> {
        if self.payments().by_order(&order.id.to_string()).await?.is_some() {
            return Ok(Change::new());
        }
        let payment = Payment::on_order_created(PaymentId::from_uuid(uuid::Uuid::now_v7()), order, now());
        Ok(Change::new().put(PAYMENTS, &payment, Expect::New)?.emit(&DomainEvent::Payment(payment), trace))
    }

    async fn on_order_cancelled_settle_payment(
        &self,
        order: &Order,
        trace: &TraceContext,
    ) -> Result<Change, HandlerError> {
        let current = self
            .payments()
            .by_order(&order.id.to_string())
            .await?
            .ok_or_else(|| HandlerError::new(format!("no payment for cancelled order {}", order.id)))?;
        let payment = &current.value;
        let now = now();
        let reason =
            order.note.as_ref().map_or_else(|| "order cancelled".to_owned(), |n| format!("order cancelled: {n}"));
        let intent = payment.payment_intent_id.clone().unwrap_or_default();
        let provider = self.service.provider();
        let next = match payment.on_order_cancelled() {
            OnOrderCancelled::Nothing => return Ok(Change::new()),
            OnOrderCancelled::Fail => payment.fail(Note::system(reason), now).ok(),
            OnOrderCancelled::CancelIntent => match provider.cancel_intent(&intent).await.map_err(to_handler)? {
                CancelOutcome::Cancelled => payment.fail(Note::system(reason), now).ok(),
                CancelOutcome::AlreadyCaptured => {
                    // The capture's webhook is on its way; it will find the order cancelled and refund.
                    let remembered = payment.remember_order_cancelled(now);
                    return Ok(Change::new().put(PAYMENTS, &remembered, Expect::Version(current.version))?);
                }
            },
            OnOrderCancelled::Refund => {
                provider.refund(&intent).await.map_err(to_handler)?;
                payment.refund(Note::system(format!("refunded: {reason}")), now).ok()
            }
        };
        let Some(next) = next else { return Ok(Change::new()) };
        Ok(Change::new()
            .put(PAYMENTS, &next, Expect::Version(current.version))?
            .emit(&DomainEvent::Payment(next.clone()), trace))
    }
}

fn to_handler(e: crate::provider::ProviderError) -> HandlerError {
    HandlerError::new(e.to_string())
}

#[async_trait]
impl Handler for PaymentHandlers {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError> {
        let trace = event.trace();
        match event.domain_event()? {
            DomainEvent::Order(order) if order.status == OrderStatus::Created => {
                self.on_order_created_record_payment(&order, &trace).await
            }
            DomainEvent::Order(order) if order.status == OrderStatus::Cancelled => {
                self.on_order_cancelled_settle_payment(&order, &trace).await
            }
            _ => Ok(Change::new()),
        }
    }

    fn committed(&self, event: &Envelope) {
        if event.event_type == EventType::OrderCreated.as_str() {
            self.service.payment_recorded();
        }
    }
}
