//! How a fulfilment is stored, and the fulfilment service's requests: each operation's request is
//! one type made of domain types, parsed once where it enters and sent as it is by the HTTP
//! client.

use coffee_bus::{Kind, RecordKey, Table};
use coffee_domain::{CustomerId, Day, Fulfilment, FulfilmentStatus, InvalidInput, Millis, Note, OrderId};
use coffee_service::{List, ListQuery, ServiceError, list_day};
use serde::{Deserialize, Serialize};

pub const FULFILMENTS: Kind<Fulfilment> = Kind::entity(Table::new("fulfilments"));

/// `PATCH /api/fulfilment/:id`, `completeFulfilment`, `rejectFulfilment`: the barista completes or
/// rejects (`{"status": "FULFILMENT_COMPLETED" | "FULFILMENT_REJECTED", "note": "..."}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StatusChangeBody")]
pub struct FulfilmentChange {
    pub status: FulfilmentStatus,
    pub note: Option<Note>,
}

/// A status change as clients send it.
#[derive(Debug, Deserialize)]
struct StatusChangeBody {
    status: String,
    #[serde(default)]
    note: Option<String>,
}

impl TryFrom<StatusChangeBody> for FulfilmentChange {
    type Error = InvalidInput;

    fn try_from(body: StatusChangeBody) -> Result<Self, InvalidInput> {
        let note = body.note.as_deref().map(Note::parse).transpose()?.flatten();
        Ok(Self { status: FulfilmentStatus::parse(&body.status)?, note })
    }
}

/// `GET /api/fulfilment`, `getFulfilmentList`, `getFulfilmentQueue`: the fulfilments of a day
/// (today, UTC, by default), the one of an order, or all in a status (the barista's queue:
/// `FULFILMENT_CREATED`, oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ListQuery", into = "ListQuery")]
pub struct FulfilmentList {
    pub of: FulfilmentsOf,
    pub size: List,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FulfilmentsOf {
    Day(Day),
    Order(OrderId),
    Status(FulfilmentStatus),
}

impl FulfilmentList {
    pub fn of(of: FulfilmentsOf) -> Self {
        Self { of, size: List::default() }
    }
}

impl TryFrom<ListQuery> for FulfilmentList {
    type Error = ServiceError;

    fn try_from(q: ListQuery) -> Result<Self, ServiceError> {
        q.only(&["date", "orderId", "status"], "fulfilments")?;
        let of = match (q.date.as_deref(), q.order_id.as_deref(), q.status.as_deref()) {
            (None, Some(order_id), None) => FulfilmentsOf::Order(OrderId::parse(order_id)?),
            (None, None, Some(status)) => FulfilmentsOf::Status(FulfilmentStatus::parse(status)?),
            (date, None, None) => FulfilmentsOf::Day(list_day(date)?),
            _ => return Err(ServiceError::BadInput("give at most one of date, orderId and status".to_owned())),
        };
        Ok(Self { of, size: q.size()? })
    }
}

impl From<FulfilmentList> for ListQuery {
    fn from(list: FulfilmentList) -> Self {
        let mut q = Self { limit: Some(list.size.limit()), ..Self::default() };
        match list.of {
            FulfilmentsOf::Day(day) => q.date = Some(day.to_string()),
            FulfilmentsOf::Order(id) => q.order_id = Some(id.to_string()),
            FulfilmentsOf::Status(status) => q.status = Some(status.as_str().to_owned()),
        }
        q
    }
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
