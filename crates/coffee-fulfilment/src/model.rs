//! How a fulfilment is stored, and the shape of the barista's request.

use coffee_bus::{Kind, RecordKey, Table};
use coffee_domain::{CustomerId, Fulfilment, Millis, OrderId};
use serde::{Deserialize, Serialize};

pub const FULFILMENTS: Kind<Fulfilment> = Kind::new(Table::new("fulfilments"), |f| RecordKey {
    id: f.id.to_string(),
    order_id: f.order_id.to_string(),
    customer_id: f.customer_id.to_string(),
    day: f.date().to_string(),
    created_at: f.created_at.0,
    status: f.status.as_str(),
});

/// `PATCH /api/fulfilment/:id`: the barista completes or rejects
/// (`{"status": "FULFILMENT_COMPLETED" | "FULFILMENT_REJECTED", "note": "..."}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeFulfilmentBody {
    pub status: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// An order the fulfilment service learnt was closed (cancelled, or its payment refunded)
/// before any fulfilment existed for it: a late payment success then starts no coffee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClosedOrder {
    pub order_id: OrderId,
    pub customer_id: CustomerId,
    pub closed_at: Millis,
}

pub const CLOSED_ORDERS: Kind<ClosedOrder> = Kind::new(Table::new("closed_orders"), |c| RecordKey {
    id: c.order_id.to_string(),
    order_id: c.order_id.to_string(),
    customer_id: c.customer_id.to_string(),
    day: c.closed_at.day().to_string(),
    created_at: c.closed_at.0,
    status: "CLOSED",
});
