//! The payment provider contract, shaped like Stripe's: a payment intent with a client
//! secret for the customer's browser; the outcome arrives later as a signed webhook;
//! intents can be cancelled until captured; captured money can be refunded. Every call is
//! idempotent for the same payment, so a retried handler never charges or refunds twice.

pub mod simulated;
pub mod stripe;

use async_trait::async_trait;
use coffee_domain::{CardNumber, Day, Payment};

pub use simulated::SimulatedProvider;
pub use stripe::StripeProvider;

/// A webhook delivery: the raw body and its signature header, as they go over the wire, and the
/// payment it is about.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub signature: String,
    pub body: Vec<u8>,
    pub payment_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub id: String,
    pub client_secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    Cancelled,
    /// Too late: the money was already taken. The capture's webhook will follow.
    AlreadyCaptured,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
    #[error("unknown payment intent {0}")]
    UnknownIntent(String),
    /// The intent can no longer be paid: it was cancelled or refunded.
    #[error("payment intent {intent} cannot be paid: it is {status}")]
    NotPayable { intent: String, status: &'static str },
    /// The provider refused the request (e.g. a card number it does not accept).
    #[error("{0}")]
    Refused(String),
}

impl From<coffee_bus::StoreError> for ProviderError {
    /// The simulated provider keeps its intents in the service's store.
    fn from(e: coffee_bus::StoreError) -> Self {
        ProviderError::Unavailable(e.to_string())
    }
}

#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// Creates the payment's intent, or returns the one already created for it.
    async fn create_intent(&self, payment: &Payment) -> Result<Intent, ProviderError>;
    /// The intent's client secret (Stripe: retrieve the intent).
    async fn client_secret(&self, intent_id: &str) -> Result<String, ProviderError>;
    async fn cancel_intent(&self, intent_id: &str) -> Result<CancelOutcome, ProviderError>;
    /// Refunds a captured intent in full; refunding twice is a no-op.
    async fn refund(&self, intent_id: &str) -> Result<(), ProviderError>;
    /// The intent as the provider has it now (Stripe: retrieve it), to settle a payment whose
    /// webhook never came; `None` when the provider cannot look intents up.
    async fn look_up(&self, _intent_id: &str) -> Result<Option<crate::webhook::PaymentIntentObject>, ProviderError> {
        Ok(None)
    }
    /// How the customer's browser pays through this provider.
    fn checkout(&self) -> crate::model::Checkout;
    /// The provider's own card form, when it takes cards in this process (the simulated
    /// provider does; a real one takes them in its own page).
    fn card_form(&self) -> Option<&dyn CardForm> {
        None
    }
}

/// A card form in this process: it takes the card, decides the outcome and hands back the
/// signed webhook delivery that reports it, for the payment service to apply.
#[async_trait]
pub trait CardForm: Send + Sync {
    /// Pays the intent with `card`.
    async fn confirm(&self, intent_id: &str, card: &CardNumber) -> Result<Delivery, ProviderError>;
    /// The webhook deliveries of the captures of intents created on `day` (UTC), as the provider
    /// would retry them until acknowledged: the payment service applies any it missed.
    async fn captures_on(&self, day: Day) -> Result<Vec<Delivery>, ProviderError>;
}
