//! The simulated payment provider, the default: a stand-in for Stripe that follows its
//! contract, including Stripe's test cards, so the whole saga runs here without a network.
//!
//! Its intents live in its own table, as Stripe's would live at Stripe: they survive a
//! restart, and cancelling an intent that was already captured fails as it would there.
//! `confirm` plays the card form: it decides the outcome from the card number, records it
//! on the intent, and returns the signed webhook delivery that reports it. The payment
//! service then feeds that delivery to the same entry point the HTTP webhook uses.
//!
//! Stripe retries a webhook until it is acknowledged; so does this provider, in its way: a
//! capture records its webhook event's id, confirming a captured intent again delivers the
//! same event, and [`SimulatedProvider::captures_on`] lets the payment service find captures
//! it never heard of (the process died between the capture and the webhook).

use std::sync::Arc;

use async_trait::async_trait;
use coffee_bus::{Change, Decision, Expect, Kind, Lookup, RecordKey, Records, Store, Table};
use coffee_domain::{CardNumber, Day, Millis, Payment};
use serde::{Deserialize, Serialize};

use super::{CancelOutcome, CardForm, Delivery, Intent, PaymentProvider, ProviderError};
use crate::webhook::{
    INTENT_FAILED, INTENT_SUCCEEDED, IntentMetadata, PaymentError, PaymentIntentObject, WebhookData, WebhookEvent, sign,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntentStatus {
    RequiresPaymentMethod,
    Succeeded,
    Canceled,
    Refunded,
}

impl IntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::RequiresPaymentMethod => "requires_payment_method",
            IntentStatus::Succeeded => "succeeded",
            IntentStatus::Canceled => "canceled",
            IntentStatus::Refunded => "refunded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimulatedIntent {
    pub id: String,
    pub payment_id: String,
    pub order_id: String,
    pub customer_id: String,
    pub amount: u32,
    pub currency: String,
    pub status: IntentStatus,
    pub client_secret: String,
    pub created_at: i64,
    #[serde(default)]
    pub last_payment_error: Option<PaymentError>,
    /// The id of the webhook event that reports the capture: re-sent as it was, so the
    /// receiver's inbox applies it once.
    #[serde(default)]
    pub capture_event_id: Option<String>,
}

pub const INTENTS: Kind<SimulatedIntent> = Kind::new(Table::new("simulated_payment_intents"), |i| RecordKey {
    id: i.id.clone(),
    order_id: i.order_id.clone(),
    customer_id: i.customer_id.clone(),
    day: Millis(i.created_at).day().to_string(),
    created_at: i.created_at,
    status: i.status.as_str(),
});

/// Stripe's test cards that the simulated provider knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCard {
    Succeeds,
    Declined,
    InsufficientFunds,
}

impl TestCard {
    pub fn of(card: &CardNumber) -> Result<Self, ProviderError> {
        match card.digits() {
            "4242424242424242" => Ok(TestCard::Succeeds),
            "4000000000000002" => Ok(TestCard::Declined),
            "4000000000009995" => Ok(TestCard::InsufficientFunds),
            _ => Err(ProviderError::Refused(format!(
                "card ending {} is not a test card of the simulated provider; use 4242 4242 4242 4242 (succeeds), \
                 4000 0000 0000 0002 (declined) or 4000 0000 0000 9995 (insufficient funds)",
                card.last4()
            ))),
        }
    }

    fn error(self) -> Option<PaymentError> {
        match self {
            TestCard::Succeeds => None,
            TestCard::Declined => Some(PaymentError {
                code: "card_declined".into(),
                decline_code: Some("generic_decline".into()),
                message: "Your card was declined.".into(),
            }),
            TestCard::InsufficientFunds => Some(PaymentError {
                code: "card_declined".into(),
                decline_code: Some("insufficient_funds".into()),
                message: "Your card has insufficient funds.".into(),
            }),
        }
    }
}

pub struct SimulatedProvider {
    intents: Records<SimulatedIntent>,
    webhook_secret: Vec<u8>,
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

impl SimulatedProvider {
    pub fn new(store: Arc<dyn Store>, webhook_secret: Vec<u8>) -> Self {
        Self { intents: Records::new(store, INTENTS), webhook_secret }
    }

    async fn load(&self, intent_id: &str) -> Result<coffee_bus::Versioned<SimulatedIntent>, ProviderError> {
        self.intents.get(intent_id).await?.ok_or_else(|| ProviderError::UnknownIntent(intent_id.to_owned()))
    }

    /// Moves an intent from one status to another, re-reading on a concurrent change.
    async fn transition(
        &self,
        intent_id: &str,
        decide: impl Fn(&SimulatedIntent) -> Result<Option<SimulatedIntent>, ProviderError>,
    ) -> Result<SimulatedIntent, ProviderError> {
        let decide = &decide;
        self.intents
            .update(|| async move {
                let current = self.load(intent_id).await?;
                let Some(next) = decide(&current.value)? else { return Ok(Decision::Answer(current.value)) };
                let change = Change::new().put(INTENTS, &next, Expect::Version(current.version))?;
                Ok(Decision::Commit(change, next))
            })
            .await
    }

    /// The card form: pays the intent with `card` and returns the signed webhook delivery
    /// that reports the outcome.
    async fn pay(&self, intent_id: &str, card: &CardNumber) -> Result<Delivery, ProviderError> {
        let test_card = TestCard::of(card)?;
        let event_id = new_event_id();
        let intent = self
            .transition(intent_id, |i| match i.status {
                IntentStatus::RequiresPaymentMethod => Ok(Some(SimulatedIntent {
                    status: if test_card == TestCard::Succeeds { IntentStatus::Succeeded } else { i.status },
                    last_payment_error: test_card.error(),
                    capture_event_id: (test_card == TestCard::Succeeds).then(|| event_id.clone()),
                    ..i.clone()
                })),
                // Captured already: the payment service has not heard (it would have refused
                // this confirmation), so the capture's webhook is sent again.
                IntentStatus::Succeeded if i.capture_event_id.is_some() => Ok(None),
                other => Err(ProviderError::NotPayable { intent: i.id.clone(), status: other.as_str() }),
            })
            .await?;
        match &intent.capture_event_id {
            Some(captured) if intent.status == IntentStatus::Succeeded => self.delivery(&intent, captured),
            _ => self.delivery(&intent, &event_id),
        }
    }

    /// Intents created on `day` (UTC) that were captured, with the webhook delivery of each.
    async fn captured_on(&self, day: Day) -> Result<Vec<Delivery>, ProviderError> {
        let intents = self.intents.find(Lookup::Day(&day.to_string()), 5000).await?;
        intents
            .iter()
            .filter(|i| i.status == IntentStatus::Succeeded)
            .filter_map(|i| i.capture_event_id.as_deref().map(|event| self.delivery(i, event)))
            .collect()
    }

    /// The signed webhook delivery reporting `intent`'s outcome, as event `event_id`.
    pub fn delivery(&self, intent: &SimulatedIntent, event_id: &str) -> Result<Delivery, ProviderError> {
        let succeeded = intent.status == IntentStatus::Succeeded;
        let event = WebhookEvent {
            id: event_id.to_owned(),
            event_type: if succeeded { INTENT_SUCCEEDED } else { INTENT_FAILED }.to_owned(),
            created: now_ms() / 1000,
            data: WebhookData {
                object: PaymentIntentObject {
                    id: intent.id.clone(),
                    amount: intent.amount,
                    currency: intent.currency.to_lowercase(),
                    status: intent.status.as_str().to_owned(),
                    metadata: IntentMetadata {
                        payment_id: Some(intent.payment_id.clone()),
                        order_id: Some(intent.order_id.clone()),
                    },
                    last_payment_error: intent.last_payment_error.clone(),
                },
            },
        };
        let body = serde_json::to_vec(&event).map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        let signature = sign(&self.webhook_secret, event.created, &body);
        Ok(Delivery { signature, body, payment_id: intent.payment_id.clone() })
    }
}

#[async_trait]
impl CardForm for SimulatedProvider {
    async fn confirm(&self, intent_id: &str, card: &CardNumber) -> Result<Delivery, ProviderError> {
        self.pay(intent_id, card).await
    }

    async fn captures_on(&self, day: Day) -> Result<Vec<Delivery>, ProviderError> {
        self.captured_on(day).await
    }
}

#[async_trait]
impl PaymentProvider for SimulatedProvider {
    fn checkout(&self) -> crate::model::Checkout {
        crate::model::Checkout::simulated()
    }

    fn card_form(&self) -> Option<&dyn CardForm> {
        Some(self)
    }

    async fn create_intent(&self, payment: &Payment) -> Result<Intent, ProviderError> {
        let order_id = &payment.order_id.to_string();
        self.intents
            .update(|| async move {
                // Idempotent per payment (one payment per order): a retry gets the same intent.
                if let Some(existing) = self.intents.by_order(order_id).await? {
                    let existing = existing.value;
                    return Ok(Decision::Answer(Intent { id: existing.id, client_secret: existing.client_secret }));
                }
                let id = format!("pi_sim_{}", uuid::Uuid::now_v7().simple());
                let mut secret = [0u8; 12];
                rand_fill(&mut secret);
                let intent = SimulatedIntent {
                    client_secret: format!("{id}_secret_{}", hex::encode(secret)),
                    id,
                    payment_id: payment.id.to_string(),
                    order_id: order_id.clone(),
                    customer_id: payment.customer_id.to_string(),
                    amount: payment.amount.0,
                    currency: payment.currency.clone(),
                    status: IntentStatus::RequiresPaymentMethod,
                    created_at: now_ms(),
                    last_payment_error: None,
                    capture_event_id: None,
                };
                let change = Change::new().put(INTENTS, &intent, Expect::New)?;
                Ok(Decision::Commit(change, Intent { id: intent.id, client_secret: intent.client_secret }))
            })
            .await
    }

    async fn client_secret(&self, intent_id: &str) -> Result<String, ProviderError> {
        Ok(self.load(intent_id).await?.value.client_secret)
    }

    async fn cancel_intent(&self, intent_id: &str) -> Result<CancelOutcome, ProviderError> {
        let after = self
            .transition(intent_id, |i| {
                Ok(match i.status {
                    IntentStatus::RequiresPaymentMethod => {
                        Some(SimulatedIntent { status: IntentStatus::Canceled, ..i.clone() })
                    }
                    _ => None,
                })
            })
            .await?;
        Ok(match after.status {
            IntentStatus::Canceled | IntentStatus::RequiresPaymentMethod => CancelOutcome::Cancelled,
            IntentStatus::Succeeded | IntentStatus::Refunded => CancelOutcome::AlreadyCaptured,
        })
    }

    async fn refund(&self, intent_id: &str) -> Result<(), ProviderError> {
        let after = self
            .transition(intent_id, |i| {
                Ok(match i.status {
                    IntentStatus::Succeeded => Some(SimulatedIntent { status: IntentStatus::Refunded, ..i.clone() }),
                    _ => None,
                })
            })
            .await?;
        match after.status {
            IntentStatus::Refunded => Ok(()),
            other => Err(ProviderError::Refused(format!(
                "intent {intent_id} is {} and has nothing to refund",
                other.as_str()
            ))),
        }
    }
}

fn new_event_id() -> String {
    format!("evt_sim_{}", uuid::Uuid::now_v7().simple())
}

fn rand_fill(buf: &mut [u8]) {
    // The client secret only has to be unguessable; uuid's v4 randomness serves.
    for chunk in buf.chunks_mut(16) {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}
