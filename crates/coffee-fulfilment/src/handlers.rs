//! The fulfilment service's reactions to other services' events.
//!
//! | event | reaction |
//! |---|---|
//! | `coffee.payment.succeeded` | a coffee joins the barista's queue (FULFILMENT_CREATED), once per order |
//! | `coffee.order.cancelled` | an open fulfilment is closed (FULFILMENT_REJECTED) |
//! | `coffee.payment.refunded` | likewise: a payment captured in a race with the customer's cancellation is refunded, and its coffee must not be made |

use async_trait::async_trait;
use coffee_bus::{Change, Envelope, Expect, Handler, HandlerError, Pattern, Records, Rule, TraceContext};
use coffee_domain::{
    DomainEvent, EventType, Fulfilment, FulfilmentId, Note, Order, OrderStatus, Payment, PaymentStatus,
};
use coffee_http::now;
use serde_json::json;

use crate::model::FULFILMENTS;

pub fn rule() -> Rule {
    let types = [EventType::PaymentSucceeded, EventType::PaymentRefunded, EventType::OrderCancelled];
    let pattern = json!({ "type": types.iter().map(|t| t.as_str()).collect::<Vec<_>>() });
    Rule::new(crate::SERVICE, Pattern::from_value(pattern).unwrap_or_else(|e| panic!("fulfilment rule: {e}")))
}

pub struct FulfilmentHandlers {
    fulfilments: Records<Fulfilment>,
}

impl FulfilmentHandlers {
    pub fn new(fulfilments: Records<Fulfilment>) -> Self {
        Self { fulfilments }
    }

    async fn on_payment_succeeded_start_fulfilment(
        &self,
        payment: &Payment,
        trace: &TraceContext,
    ) -> Result<Change, HandlerError> {
        if self.fulfilments.by_order(&payment.order_id.to_string()).await?.is_some() {
            return Ok(Change::new());
        }
        let fulfilment =
            Fulfilment::on_payment_succeeded(FulfilmentId::from_uuid(uuid::Uuid::now_v7()), payment, now());
        Ok(Change::new().put(FULFILMENTS, &fulfilment, Expect::New)?.emit(&DomainEvent::Fulfilment(fulfilment), trace))
    }

    async fn close_open_fulfilment(
        &self,
        order_id: &str,
        reason: Option<&Note>,
        trace: &TraceContext,
    ) -> Result<Change, HandlerError> {
        let Some(current) = self.fulfilments.by_order(order_id).await? else { return Ok(Change::new()) };
        let Some(closed) = current.value.on_order_cancelled(reason, now()) else { return Ok(Change::new()) };
        Ok(Change::new()
            .put(FULFILMENTS, &closed, Expect::Version(current.version))?
            .emit(&DomainEvent::Fulfilment(closed.clone()), trace))
    }

    async fn on_order_cancelled_close_fulfilment(
        &self,
        order: &Order,
        trace: &TraceContext,
    ) -> Result<Change, HandlerError> {
        self.close_open_fulfilment(&order.id.to_string(), order.note.as_ref(), trace).await
    }

    async fn on_payment_refunded_close_fulfilment(
        &self,
        payment: &Payment,
        trace: &TraceContext,
    ) -> Result<Change, HandlerError> {
        self.close_open_fulfilment(&payment.order_id.to_string(), payment.note.as_ref(), trace).await
    }
}

#[async_trait]
impl Handler for FulfilmentHandlers {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError> {
        let trace = event.trace();
        match event.domain_event()? {
            DomainEvent::Payment(p) if p.status == PaymentStatus::Successful => {
                self.on_payment_succeeded_start_fulfilment(&p, &trace).await
            }
            DomainEvent::Payment(p) if p.status == PaymentStatus::Refunded => {
                self.on_payment_refunded_close_fulfilment(&p, &trace).await
            }
            DomainEvent::Order(o) if o.status == OrderStatus::Cancelled => {
                self.on_order_cancelled_close_fulfilment(&o, &trace).await
            }
            _ => Ok(Change::new()),
        }
    }
}
