//! How a fulfilment is stored, and the shape of the barista's request.

use coffee_bus::{Kind, RecordKey, Table};
use coffee_domain::Fulfilment;
use serde::Deserialize;

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
