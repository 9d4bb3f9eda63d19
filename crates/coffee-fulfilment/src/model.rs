//! How a fulfilment is stored, and the fulfilment service's requests: each operation's request is
//! one type made of domain types, parsed once where it enters and sent as it is by the HTTP
//! client.

use coffee_bus::{Kind, RecordKey, Table};
use coffee_domain::{CustomerId, Fulfilment, FulfilmentStatus, Millis, OrderId};
use coffee_service::{Listed, Listing, StatusChange};
use serde::{Deserialize, Serialize};

pub const FULFILMENTS: Kind<Fulfilment> = Kind::entity(Table::new("fulfilments"));

/// `PATCH /api/fulfilment/:id`, `completeFulfilment`, `rejectFulfilment`: the barista completes or
/// rejects (`FULFILMENT_COMPLETED` or `FULFILMENT_REJECTED`, with a note).
pub type FulfilmentChange = StatusChange<FulfilmentStatus>;

/// `GET /api/fulfilment`, `getFulfilmentList`, `getFulfilmentQueue`: the fulfilments of a day
/// (today, UTC, by default), the one of an order, or all in a status (the barista's queue:
/// `FULFILMENT_CREATED`, oldest first).
pub type FulfilmentList = Listing<Fulfilments>;

/// Fulfilments, as lists see them: by day, by order or by status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fulfilments;

impl Listed for Fulfilments {
    const WHAT: &'static str = "fulfilments";
    const BY: &'static [&'static str] = &["orderId", "status"];
    type Status = FulfilmentStatus;
}

/// An order the fulfilment service learnt was closed (cancelled, or its payment refunded)
/// before any fulfilment existed for it: a late payment success then starts no coffee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

/// `PUT` (claim) or `DELETE` (release) `/api/fulfilment/:id/claim`, `claimFulfilment`,
/// `releaseFulfilment`: the barista signed in takes a waiting coffee to make, or lets it go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Claim {
    /// true: claim it; false: release it.
    pub claimed: bool,
}
