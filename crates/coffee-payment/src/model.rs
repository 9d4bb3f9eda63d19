//! How a payment is stored, and the shapes of the payment API's requests and answers.

use coffee_bus::{Kind, RecordKey, Table};
use coffee_domain::Payment;
use serde::{Deserialize, Serialize};

pub const PAYMENTS: Kind<Payment> = Kind::new(Table::new("payments"), |p| RecordKey {
    id: p.id.to_string(),
    order_id: p.order_id.to_string(),
    customer_id: p.customer_id.to_string(),
    day: p.date().to_string(),
    created_at: p.created_at.0,
    status: p.status.as_str(),
});

/// `POST /api/payment`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentBody {
    pub order_id: String,
}

/// `POST /api/payment/:id/confirm`: the simulated provider's card form.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmBody {
    pub card_number: String,
}

/// A payment with the secret the customer's browser needs to pay it. Only the caller who
/// creates (or re-requests) the payment gets this; the secret is never stored with the
/// payment nor published in an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentWithSecret {
    #[serde(flatten)]
    pub payment: Payment,
    pub client_secret: String,
}
