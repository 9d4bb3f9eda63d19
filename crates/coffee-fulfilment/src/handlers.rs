//! The fulfilment service's reactions to other services' events. What each event means for
//! the order's fulfilment is the domain's (`coffee_domain::saga::FulfilmentInput`,
//! `Fulfilment::react`); this file reads, asks and writes.
//!
//! | event | reaction |
//! |---|---|
//! | `coffee.payment.succeeded` | a coffee joins the barista's queue (FULFILMENT_CREATED), once per order, unless the order was closed first |
//! | `coffee.order.cancelled` | an open fulfilment is closed (FULFILMENT_REJECTED); with none yet, the order is remembered as closed |
//! | `coffee.payment.refunded` | likewise: a payment captured in a race with the customer's cancellation is refunded, and its coffee must not be made |

use async_trait::async_trait;
use coffee_bus::{By, Change, Envelope, Expect, Handler, HandlerError, Records, Rule};
use coffee_domain::fulfilment::FulfilmentReaction;
use coffee_domain::{CustomerId, Fulfilment, FulfilmentId, FulfilmentInput};
use coffee_service::now;

use crate::model::{CLOSED_ORDERS, ClosedOrder, FULFILMENTS};

pub fn rule() -> Rule {
    Rule::for_service(FulfilmentInput::SERVICE)
}

pub struct FulfilmentHandlers {
    fulfilments: Records<Fulfilment>,
    closed: Records<ClosedOrder>,
}

impl FulfilmentHandlers {
    pub fn new(fulfilments: Records<Fulfilment>) -> Self {
        let closed = Records::new(fulfilments.store().clone(), CLOSED_ORDERS);
        Self { fulfilments, closed }
    }
}

fn customer_of(input: &FulfilmentInput) -> &CustomerId {
    match input {
        FulfilmentInput::PaymentSucceeded(p) | FulfilmentInput::PaymentRefunded(p) => &p.customer_id,
        FulfilmentInput::OrderCancelled(o) => &o.customer_id,
    }
}

#[async_trait]
impl Handler for FulfilmentHandlers {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError> {
        let Some(input) = FulfilmentInput::from_event(event.domain_event()?) else { return Ok(Change::new()) };
        let order_id = &event.subject;
        let current = self.fulfilments.by_order(order_id).await?;
        let closed = match &current {
            Some(_) => false,
            None => self.closed.get(order_id).await?.is_some(),
        };
        let now = now();
        let new_id = FulfilmentId::from_uuid(uuid::Uuid::now_v7());
        let trace = event.trace();
        Ok(match Fulfilment::react(current.as_ref().map(|c| &c.value), closed, &input, new_id, now) {
            FulfilmentReaction::Nothing => Change::new(),
            // A start and a closure of the same order, handled at once by two replicas, each
            // decided on the other's record being absent: only one of them may commit.
            FulfilmentReaction::Start(f) => Change::new()
                .step(FULFILMENTS, Expect::New, &f, &trace)?
                .requires_absent(CLOSED_ORDERS.table, By::Id(order_id)),
            FulfilmentReaction::Close(f) => {
                let version = current.map_or(0, |c| c.version);
                Change::new().step(FULFILMENTS, Expect::Version(version), &f, &trace)?
            }
            FulfilmentReaction::RememberClosed => {
                let order_id = coffee_domain::OrderId::parse(order_id)
                    .map_err(|e| HandlerError::Missing(format!("event {}: {e}", event.id)))?;
                let closed = ClosedOrder { order_id, customer_id: customer_of(&input).clone(), closed_at: now };
                Change::new()
                    .put(CLOSED_ORDERS, &closed, Expect::New)?
                    .requires_absent(FULFILMENTS.table, By::Order(&order_id.to_string()))
            }
        })
    }
}
