//! How an order is stored, and the shapes of the order API's requests.

use coffee_bus::{Kind, RecordKey, Table};
use coffee_domain::Order;
use serde::Deserialize;
use serde_json::Value;

pub const ORDERS: Kind<Order> = Kind::new(Table::new("orders"), |o| RecordKey {
    id: o.id.to_string(),
    order_id: o.id.to_string(),
    customer_id: o.customer_id.to_string(),
    day: o.date().to_string(),
    created_at: o.created_at.0,
    status: o.status.as_str(),
});

/// `POST /api/order`. Takes `{"coffeeId": "2", ...}` and also the original's body,
/// `{"coffee": {"id": "2", ...}, ...}`; only the coffee's id is read from the client, the
/// rest of the coffee (its price above all) comes from the catalogue.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrderBody {
    #[serde(default)]
    pub coffee_id: Option<Value>,
    #[serde(default)]
    pub coffee: Option<CoffeeRef>,
    pub customer_id: String,
    pub customer_name: String,
}

#[derive(Debug, Deserialize)]
pub struct CoffeeRef {
    pub id: Value,
}

impl PlaceOrderBody {
    /// The coffee id as text; numbers are accepted since the original's ids are numeric strings.
    pub fn coffee_id(&self) -> Result<String, String> {
        let raw = match (&self.coffee_id, &self.coffee) {
            (Some(id), _) => ("coffeeId", id),
            (None, Some(c)) => ("coffee.id", &c.id),
            (None, None) => return Err("coffeeId: missing (send coffeeId, or coffee with an id)".to_owned()),
        };
        match raw.1 {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) if n.is_u64() => Ok(n.to_string()),
            other => Err(format!("{}: expected a string, got {other}", raw.0)),
        }
    }
}

/// `PATCH /api/order/:id`: the customer cancels (`{"status": "ORDER_CANCELLED", "note": "..."}`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeOrderBody {
    pub status: String,
    #[serde(default)]
    pub note: Option<String>,
}
