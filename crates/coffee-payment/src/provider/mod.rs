//! The payment provider contract, shaped like Stripe's: a payment intent with a client
//! secret for the customer's browser; the outcome arrives later as a signed webhook;
//! intents can be cancelled until captured; captured money can be refunded. Every call is
//! idempotent for the same payment, so a retried handler never charges or refunds twice.

pub mod simulated;

use async_trait::async_trait;
use coffee_domain::Payment;

pub use simulated::SimulatedProvider;

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
    /// The provider refused the request (e.g. a card number it does not accept).
    #[error("{0}")]
    Refused(String),
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
}
