//! The payment service's reactions to the order service's events. What each event means for
//! the payment is the domain's (`coffee_domain::saga::PaymentInput`, `Payment::react`); this
//! file reads the payment, asks, calls the provider when the domain says so, and writes.
//!
//! | event | reaction |
//! |---|---|
//! | `coffee.order.created` | record what the order will cost (PAYMENT_PENDING) |
//! | `coffee.order.cancelled` | nothing paid: the payment fails (recorded first if the cancellation overtook the creation); an intent open: cancel it at the provider; money taken: refund it |

use async_trait::async_trait;
use coffee_bus::{Change, Envelope, Expect, Handler, HandlerError, Records, Rule};
use coffee_domain::payment::PaymentReaction;
use coffee_domain::{Payment, PaymentId, PaymentInput};
use coffee_service::now;

use crate::model::PAYMENTS;
use crate::provider::{CancelOutcome, ProviderError};
use crate::service::PaymentService;

pub fn rule() -> Rule {
    Rule::for_service(PaymentInput::SERVICE)
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
}

fn to_handler(e: ProviderError) -> HandlerError {
    HandlerError::Dependency(e.to_string())
}

#[async_trait]
impl Handler for PaymentHandlers {
    async fn handle(&self, event: &Envelope) -> Result<Change, HandlerError> {
        let Some(input) = PaymentInput::from_event(event.domain_event()?) else { return Ok(Change::new()) };
        let current = self.payments().by_order(&event.subject).await?;
        let now = now();
        let new_id = PaymentId::from_uuid(uuid::Uuid::now_v7());
        let reaction = Payment::react(current.as_ref().map(|c| &c.value), &input, new_id, now);
        let expect = current.as_ref().map_or(Expect::New, |c| Expect::Version(c.version));
        let steps = match reaction {
            PaymentReaction::Nothing => return Ok(Change::new()),
            PaymentReaction::Record(steps) => steps,
            PaymentReaction::CancelIntent { note } => {
                // The domain asks for this only of an existing payment with an intent.
                let Some(payment) = current.map(|c| c.value) else { return Ok(Change::new()) };
                let intent = payment.payment_intent_id.clone().unwrap_or_default();
                match self.service.provider().cancel_intent(&intent).await.map_err(to_handler)? {
                    CancelOutcome::Cancelled => {
                        vec![payment.fail(note, now)?]
                    }
                    CancelOutcome::AlreadyCaptured => {
                        // The capture's webhook is on its way; it will find the order cancelled
                        // and refund. Nothing to announce until then.
                        let remembered = payment.remember_order_cancelled(now);
                        return Ok(Change::new().put(PAYMENTS, &remembered, expect)?);
                    }
                }
            }
            PaymentReaction::Refund(refunded) => {
                let intent = refunded.payment_intent_id.clone().unwrap_or_default();
                self.service.provider().refund(&intent).await.map_err(to_handler)?;
                vec![*refunded]
            }
        };
        Ok(Change::new().steps(PAYMENTS, expect, &steps, &event.trace())?)
    }

    fn committed(&self, _event: &Envelope) {
        // A payment may now exist that a customer's request is waiting for.
        self.service.payment_recorded();
    }
}
