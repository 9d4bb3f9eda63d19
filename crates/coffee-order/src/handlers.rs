//! The order service's reactions to other services' events. Which events, and what each does
//! to the order, is the domain's (`coffee_domain::saga::OrderInput`, `Order::react`); this file
//! reads the order, asks, and writes what the domain decided.
//!
//! | event | reaction |
//! |---|---|
//! | `coffee.payment.succeeded` | the order starts (ORDER_IN_PROGRESS) |
//! | `coffee.payment.failed` | the order is cancelled, with the payment's reason |
//! | `coffee.fulfilment.completed` | the order is completed (ready to collect), through ORDER_IN_PROGRESS if the payment's success has not arrived yet |
//! | `coffee.fulfilment.rejected` | the order is cancelled, with the barista's reason |
//!
//! An event that arrives after the order moved on (a duplicate, or a payment that succeeds
//! after the customer cancelled) changes nothing; the inbox still records it.

use async_trait::async_trait;
use coffee_bus::{Change, Envelope, Expect, Handler, HandlerError, Records, Rule};
use coffee_domain::{Order, OrderInput};
use coffee_service::now;

use crate::model::ORDERS;

/// The events the order service's queue receives.
pub fn rule() -> Rule {
    Rule::for_service(OrderInput::SERVICE)
}

pub struct OrderHandlers {
    orders: Records<Order>,
}

impl OrderHandlers {
    pub fn new(orders: Records<Order>) -> Self {
        Self { orders }
    }
}

#[async_trait]
impl Handler for OrderHandlers {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError> {
        let Some(input) = OrderInput::from_event(event.domain_event()?) else { return Ok(Change::new()) };
        let current = self
            .orders
            .get(&event.subject)
            .await?
            .ok_or_else(|| HandlerError::Missing(format!("no order {} for event {}", event.subject, event.id)))?;
        let steps = current.value.react(&input, now());
        if let Some(last) = steps.last() {
            tracing::debug!(order = %last.id, status = %last.status, cause = %event.event_type, "order moved on");
        }
        Ok(Change::new().steps(ORDERS, Expect::Version(current.version), &steps, &event.trace())?)
    }
}
