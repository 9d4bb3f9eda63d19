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
//! | `coffee.order.payment_due` (its own timer) | an order still unpaid is cancelled: "Not paid in time" |
//!
//! A reaction that moves an order on from unpaid drops its payment-due timer in the same change.
//!
//! An event that arrives after the order moved on (a duplicate, or a payment that succeeds
//! after the customer cancelled) changes nothing; the inbox still records it.

use async_trait::async_trait;
use coffee_bus::{Change, Envelope, Expect, Handler, HandlerError, Records, Rule};
use coffee_domain::{Order, OrderInput};
use coffee_service::now;

use crate::model::{ORDERS, PAYMENT_DUE, unless_unpaid};

/// The events the order service's queue receives: the saga's, and its own payment-due timers.
pub fn rule() -> Rule {
    let saga = OrderInput::TYPES.iter().map(|t| t.as_str());
    Rule::for_type_names(crate::SERVICE, saga.chain([PAYMENT_DUE]))
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
        let input = match event.event_type.as_str() {
            PAYMENT_DUE => None,
            _ => match OrderInput::from_event(event.domain_event()?) {
                Some(input) => Some(input),
                None => return Ok(Change::new()),
            },
        };
        let current = self
            .orders
            .get(&event.subject)
            .await?
            .ok_or_else(|| HandlerError::Missing(format!("no order {} for event {}", event.subject, event.id)))?;
        let steps = match &input {
            Some(input) => current.value.react(input, now()),
            None => current.value.expire_unpaid(now()),
        };
        let Some(last) = steps.last() else { return Ok(Change::new()) };
        tracing::debug!(order = %last.id, status = %last.status, cause = %event.event_type, "order moved on");
        let change = Change::new().steps(ORDERS, Expect::Version(current.version), &steps, &event.trace())?;
        Ok(unless_unpaid(change, &current.value, last))
    }
}
