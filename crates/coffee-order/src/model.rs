//! How an order is stored, and the order service's requests: each operation's request is one
//! type made of domain types, parsed once where it enters (a REST body, a GraphQL argument) and
//! sent as it is by the HTTP client.

use coffee_bus::{Kind, Table};
use coffee_domain::{CoffeeId, CustomerId, CustomerName, InvalidInput, Note, Order, OrderStatus};
use coffee_service::{Listed, Listing, StatusChange};
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
pub type OrderChange = StatusChange<OrderStatus>;

/// The customer cancels, saying why or not.
pub fn cancellation(note: Option<Note>) -> OrderChange {
    OrderChange { status: OrderStatus::Cancelled, note }
}

/// `GET /api/order`, `getOrderList`: the orders of a day (today, UTC, when nothing is given), or
/// of a customer; not both.
pub type OrderList = Listing<Orders>;

/// Orders, as lists see them: by day or by customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orders;

impl Listed for Orders {
    const WHAT: &'static str = "orders";
    const BY: &'static [&'static str] = &["customerId"];
    type Status = OrderStatus;
}
