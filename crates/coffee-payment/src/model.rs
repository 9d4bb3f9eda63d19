//! How a payment is stored, and the payment service's requests and answers: each operation's
//! request is one type made of domain types, parsed once where it enters and sent as it is by the
//! HTTP client.

use coffee_bus::{Kind, Table};
use coffee_domain::{CardNumber, Day, OrderId, Payment};
use coffee_service::{List, ListQuery, ServiceError, list_day};
use serde::{Deserialize, Serialize};

pub const PAYMENTS: Kind<Payment> = Kind::entity(Table::new("payments"));

/// `POST /api/payment`, `makePayment`: start paying an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePayment {
    pub order_id: OrderId,
}

/// `POST /api/payment/:id/confirm`, `confirmPayment`: the simulated provider's card form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmPayment {
    pub card_number: CardNumber,
}

/// `GET /api/payment`, `getPaymentList`: the payments of a day (today, UTC, by default), or the
/// one of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ListQuery", into = "ListQuery")]
pub struct PaymentList {
    pub of: PaymentsOf,
    pub size: List,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentsOf {
    Day(Day),
    Order(OrderId),
}

impl PaymentList {
    pub fn of_order(order_id: OrderId) -> Self {
        Self { of: PaymentsOf::Order(order_id), size: List::default() }
    }
}

impl TryFrom<ListQuery> for PaymentList {
    type Error = ServiceError;

    fn try_from(q: ListQuery) -> Result<Self, ServiceError> {
        q.only(&["date", "orderId"], "payments")?;
        let of = match (q.date.as_deref(), q.order_id.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::BadInput("give either date or orderId, not both".to_owned()));
            }
            (None, Some(order_id)) => PaymentsOf::Order(OrderId::parse(order_id)?),
            (date, None) => PaymentsOf::Day(list_day(date)?),
        };
        Ok(Self { of, size: q.size()? })
    }
}

impl From<PaymentList> for ListQuery {
    fn from(list: PaymentList) -> Self {
        let mut q = Self { limit: Some(list.size.limit()), ..Self::default() };
        match list.of {
            PaymentsOf::Day(day) => q.date = Some(day.to_string()),
            PaymentsOf::Order(id) => q.order_id = Some(id.to_string()),
        }
        q
    }
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
