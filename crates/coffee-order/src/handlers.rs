//! The order service's reactions to other services' events.
//!
//! | event | reaction |
//! |---|---|
//! | `coffee.payment.succeeded` | the order starts (ORDER_IN_PROGRESS) |
//! | `coffee.payment.failed` | the order is cancelled, with the payment's reason |
//! | `coffee.fulfilment.completed` | the order is completed (ready to collect) |
//! | `coffee.fulfilment.rejected` | the order is cancelled, with the barista's reason |
//!
//! An event that arrives after the order moved on (a duplicate, or a payment that
//! succeeds after the customer cancelled) changes nothing; the inbox still records it.

use async_trait::async_trait;
use coffee_bus::{Change, Envelope, Expect, Handler, HandlerError, Pattern, Records, Rule};
use coffee_domain::{DomainEvent, EventType, Fulfilment, FulfilmentStatus, Millis, Order, Payment, PaymentStatus};
use coffee_http::now;
use serde_json::json;

use crate::model::ORDERS;

/// The events the order service's queue receives.
pub fn rule() -> Rule {
    let types = [
        EventType::PaymentSucceeded,
        EventType::PaymentFailed,
        EventType::FulfilmentCompleted,
        EventType::FulfilmentRejected,
    ];
    let pattern = json!({ "type": types.iter().map(|t| t.as_str()).collect::<Vec<_>>() });
    // The pattern is a constant of the program: a parse failure is a bug caught by the tests.
    Rule::new(crate::SERVICE, Pattern::from_value(pattern).unwrap_or_else(|e| panic!("order rule: {e}")))
}

pub struct OrderHandlers {
    orders: Records<Order>,
}

impl OrderHandlers {
    pub fn new(orders: Records<Order>) -> Self {
        Self { orders }
    }
}

fn on_payment_succeeded_start_order(order: &Order, _payment: &Payment, now: Millis) -> Option<Order> {
    order.on_payment_succeeded(now)
}

fn on_payment_failed_cancel_order(order: &Order, payment: &Payment, now: Millis) -> Option<Order> {
    order.on_payment_failed(payment.note.as_ref(), now)
}

fn on_fulfilment_completed_complete_order(order: &Order, _f: &Fulfilment, now: Millis) -> Option<Order> {
    order.on_fulfilment_completed(now)
}

fn on_fulfilment_rejected_cancel_order(order: &Order, f: &Fulfilment, now: Millis) -> Option<Order> {
    order.on_fulfilment_rejected(f.note.as_ref(), now)
}

#[async_trait]
impl Handler for OrderHandlers {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError> {
        let current = self
            .orders
            .get(&event.subject)
            .await?
            .ok_or_else(|| HandlerError::new(format!("no order {} for event {}", event.subject, event.id)))?;
        let order = &current.value;
        let now = now();
        let next = match event.domain_event()? {
            DomainEvent::Payment(p) if p.status == PaymentStatus::Successful => {
                on_payment_succeeded_start_order(order, &p, now)
            }
            DomainEvent::Payment(p) if p.status == PaymentStatus::Failed => {
                on_payment_failed_cancel_order(order, &p, now)
            }
            DomainEvent::Fulfilment(f) if f.status == FulfilmentStatus::Completed => {
                on_fulfilment_completed_complete_order(order, &f, now)
            }
            DomainEvent::Fulfilment(f) if f.status == FulfilmentStatus::Rejected => {
                on_fulfilment_rejected_cancel_order(order, &f, now)
            }
            _ => None,
        };
        let Some(next) = next else { return Ok(Change::new()) };
        tracing::debug!(order = %next.id, status = %next.status, cause = %event.event_type, "order moved on");
        Ok(Change::new()
            .put(ORDERS, &next, Expect::Version(current.version))?
            .emit(&DomainEvent::Order(next.clone()), &event.trace()))
    }
}
