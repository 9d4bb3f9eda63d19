//! How a payment is stored, and the payment service's requests and answers: each operation's
//! request is one type made of domain types, parsed once where it enters and sent as it is by the
//! HTTP client.

use coffee_bus::{Kind, Table};
use coffee_domain::{CardNumber, OrderId, Payment, PaymentStatus};
use coffee_service::{Listed, Listing};
use serde::{Deserialize, Serialize};

pub const PAYMENTS: Kind<Payment> = Kind::entity(Table::new("payments"));

/// `POST /api/payment`, `makePayment`: start paying an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatePayment {
    pub order_id: OrderId,
}

/// `POST /api/payment/:id/confirm`, `confirmPayment`: the simulated provider's card form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmPayment {
    pub card_number: CardNumber,
}

/// `GET /api/payment`, `getPaymentList`: the payments of a day (today, UTC, by default), or the
/// one of an order.
pub type PaymentList = Listing<Payments>;

/// Payments, as lists see them: by day or by order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payments;

impl Listed for Payments {
    const WHAT: &'static str = "payments";
    const BY: &'static [&'static str] = &["orderId"];
    type Status = PaymentStatus;
}

/// A payment with the secret the customer's browser needs to pay it. Only the caller who
/// creates (or re-requests) the payment gets this; the secret is never stored with the
/// payment nor published in an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentWithSecret {
    #[serde(flatten)]
    pub payment: Payment,
    pub client_secret: String,
}

/// `GET /api/payment/checkout`, `getCheckout`: how a customer's browser pays, for anyone (the
/// publishable key is public by design: it can only start what the secret key allows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Checkout {
    pub provider: CheckoutProvider,
    /// Stripe's publishable key (`pk_...`), for Stripe.js; none with the simulated provider.
    pub publishable_key: Option<String>,
}

/// Whose form takes the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckoutProvider {
    /// The app's own card form (`confirmPayment`), with Stripe's test card numbers.
    Simulated,
    /// Stripe's Payment Element, with the payment's client secret.
    Stripe,
}

impl Checkout {
    pub fn simulated() -> Self {
        Self { provider: CheckoutProvider::Simulated, publishable_key: None }
    }

    pub fn stripe(publishable_key: &str) -> Self {
        Self { provider: CheckoutProvider::Stripe, publishable_key: Some(publishable_key.to_owned()) }
    }

    /// Whether the customer's browser loads Stripe.js (and the page's policy must allow it).
    pub fn uses_stripe_js(&self) -> bool {
        self.provider == CheckoutProvider::Stripe
    }
}
