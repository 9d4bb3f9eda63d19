//! How an order is stored, and the order service's requests: each operation's request is one
//! type made of domain types, parsed once where it enters (a REST body, a GraphQL argument) and
//! sent as it is by the HTTP client.

use coffee_bus::{Kind, Table};
use coffee_domain::{CoffeeId, CustomerId, CustomerName, Day, InvalidInput, Note, Order, OrderStatus};
use coffee_service::{List, ListQuery, ServiceError, list_day};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const ORDERS: Kind<Order> = Kind::entity(Table::new("orders"));

/// `POST /api/order`, `createOrder`: a customer orders a coffee from the menu.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "PlaceOrderBody")]
pub struct PlaceOrder {
    pub coffee_id: CoffeeId,
    pub customer_id: CustomerId,
    pub customer_name: CustomerName,
}

/// The body as clients send it: `{"coffeeId": "2", ...}`, or the original's
/// `{"coffee": {"id": "2", ...}, ...}`. Only the coffee's id is read; the rest of the coffee (its
/// price above all) comes from the menu.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlaceOrderBody {
    #[serde(default)]
    coffee_id: Option<Value>,
    #[serde(default)]
    coffee: Option<CoffeeRef>,
    customer_id: String,
    customer_name: String,
}

#[derive(Debug, Deserialize)]
struct CoffeeRef {
    id: Value,
}

impl TryFrom<PlaceOrderBody> for PlaceOrder {
    type Error = InvalidInput;

    fn try_from(body: PlaceOrderBody) -> Result<Self, InvalidInput> {
        let (field, raw): (&'static str, &Value) = match (&body.coffee_id, &body.coffee) {
            (Some(id), _) => ("coffeeId", id),
            (None, Some(c)) => ("coffee.id", &c.id),
            (None, None) => return Err(InvalidInput::new("coffeeId", "missing (send coffeeId, or coffee with an id)")),
        };
        // The original's ids are numeric strings; numbers are taken too.
        let coffee_id = match raw {
            Value::String(s) => CoffeeId::parse(s)?,
            Value::Number(n) if n.is_u64() => CoffeeId::parse(&n.to_string())?,
            other => return Err(InvalidInput::new(field, format!("expected a string, got {other}"))),
        };
        Ok(Self {
            coffee_id,
            customer_id: CustomerId::parse(&body.customer_id)?,
            customer_name: CustomerName::parse(&body.customer_name)?,
        })
    }
}

/// `PATCH /api/order/:id`, `cancelOrder`: the customer's change. Only `ORDER_CANCELLED` is the
/// customer's to make; asking for another status is refused like any illegal step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "StatusChangeBody")]
pub struct OrderChange {
    pub status: OrderStatus,
    pub note: Option<Note>,
}

impl OrderChange {
    pub fn cancel(note: Option<Note>) -> Self {
        Self { status: OrderStatus::Cancelled, note }
    }
}

/// A status change as clients send it: `{"status": "...", "note": "..."}`.
#[derive(Debug, Deserialize)]
pub struct StatusChangeBody {
    status: String,
    #[serde(default)]
    note: Option<String>,
}

impl TryFrom<StatusChangeBody> for OrderChange {
    type Error = InvalidInput;

    fn try_from(body: StatusChangeBody) -> Result<Self, InvalidInput> {
        Ok(Self {
            status: OrderStatus::parse(&body.status)?,
            note: body.note.as_deref().map(Note::parse).transpose()?.flatten(),
        })
    }
}

/// `GET /api/order`, `getOrderList`: the orders of a day (today, UTC, when nothing is given), or
/// of a customer; not both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ListQuery", into = "ListQuery")]
pub struct OrderList {
    pub of: OrdersOf,
    pub size: List,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrdersOf {
    Day(Day),
    Customer(CustomerId),
}

impl TryFrom<ListQuery> for OrderList {
    type Error = ServiceError;

    fn try_from(q: ListQuery) -> Result<Self, ServiceError> {
        q.only(&["date", "customerId"], "orders")?;
        let of = match (q.date.as_deref(), q.customer_id.as_deref()) {
            (Some(_), Some(_)) => {
                return Err(ServiceError::BadInput(
                    "give either date or customerId, not both: orders are listed by day or by customer".to_owned(),
                ));
            }
            (None, Some(customer)) => OrdersOf::Customer(CustomerId::parse(customer)?),
            (date, None) => OrdersOf::Day(list_day(date)?),
        };
        Ok(Self { of, size: q.size()? })
    }
}

impl From<OrderList> for ListQuery {
    fn from(list: OrderList) -> Self {
        let mut q = Self { limit: Some(list.size.limit()), ..Self::default() };
        match list.of {
            OrdersOf::Day(day) => q.date = Some(day.to_string()),
            OrdersOf::Customer(c) => q.customer_id = Some(c.to_string()),
        }
        q
    }
}
