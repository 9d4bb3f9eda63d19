//! A fulfilment: the barista's job of making one paid coffee, and the fulfilment
//! service's reactions.

use serde::{Deserialize, Serialize};

pub use crate::status::FulfilmentStatus;
use crate::{Coffee, CustomerId, CustomerName, Day, FulfilmentId, IllegalTransition, Millis, Note, OrderId, Payment};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "FulfilmentWire", from = "FulfilmentWire")]
pub struct Fulfilment {
    pub id: FulfilmentId,
    pub order_id: OrderId,
    pub status: FulfilmentStatus,
    pub note: Option<Note>,
    pub coffee: Coffee,
    pub customer_id: CustomerId,
    pub customer_name: CustomerName,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Fulfilment {
    /// A payment succeeded: there is a coffee to make.
    pub fn on_payment_succeeded(id: FulfilmentId, payment: &Payment, now: Millis) -> Self {
        Self {
            id,
            order_id: payment.order_id,
            status: FulfilmentStatus::Created,
            note: None,
            coffee: payment.coffee.clone(),
            customer_id: payment.customer_id.clone(),
            customer_name: payment.customer_name.clone(),
            created_at: now,
            updated_at: now,
        }
    }

    pub fn date(&self) -> Day {
        self.created_at.day()
    }

    fn become_(&self, next: FulfilmentStatus, note: Option<Note>, now: Millis) -> Result<Self, IllegalTransition> {
        if !self.status.can_become(next) {
            return Err(IllegalTransition {
                entity: "fulfilment",
                id: self.id.to_string(),
                from: self.status.as_str(),
                to: next.as_str(),
            });
        }
        Ok(Self { status: next, note: note.or_else(|| self.note.clone()), updated_at: now, ..self.clone() })
    }

    /// The barista completes or rejects the coffee. Any other status is not the barista's
    /// to set and is refused like an illegal step.
    pub fn change_by_barista(
        &self,
        to: FulfilmentStatus,
        note: Option<Note>,
        now: Millis,
    ) -> Result<Self, IllegalTransition> {
        match to {
            FulfilmentStatus::Completed | FulfilmentStatus::Rejected => self.become_(to, note, now),
            other => Err(IllegalTransition {
                entity: "fulfilment",
                id: self.id.to_string(),
                from: self.status.as_str(),
                to: other.as_str(),
            }),
        }
    }

    /// The order was cancelled: an open fulfilment is closed, a finished one stays.
    pub fn on_order_cancelled(&self, reason: Option<&Note>, now: Millis) -> Option<Self> {
        let why = reason.map_or("order cancelled".to_owned(), |r| format!("order cancelled: {r}"));
        self.become_(FulfilmentStatus::Rejected, Some(Note::system(why)), now).ok()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FulfilmentWire {
    id: FulfilmentId,
    fulfilment_id: FulfilmentId,
    order_id: OrderId,
    fulfilment_status: FulfilmentStatus,
    fulfilment_note: Option<Note>,
    coffee: Coffee,
    customer_id: CustomerId,
    customer_name: CustomerName,
    created_at: Millis,
    #[serde(default)]
    updated_at: Option<Millis>,
    #[serde(default, skip_deserializing)]
    date: Option<Day>,
}

impl From<Fulfilment> for FulfilmentWire {
    fn from(f: Fulfilment) -> Self {
        Self {
            id: f.id,
            fulfilment_id: f.id,
            date: Some(f.date()),
            order_id: f.order_id,
            fulfilment_status: f.status,
            fulfilment_note: f.note,
            coffee: f.coffee,
            customer_id: f.customer_id,
            customer_name: f.customer_name,
            created_at: f.created_at,
            updated_at: Some(f.updated_at),
        }
    }
}

impl From<FulfilmentWire> for Fulfilment {
    fn from(w: FulfilmentWire) -> Self {
        Self {
            id: w.fulfilment_id,
            order_id: w.order_id,
            status: w.fulfilment_status,
            note: w.fulfilment_note,
            coffee: w.coffee,
            customer_id: w.customer_id,
            customer_name: w.customer_name,
            created_at: w.created_at,
            updated_at: w.updated_at.unwrap_or(w.created_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CoffeeId, Order, PaymentId, payment::Capture};

    fn a_fulfilment() -> Fulfilment {
        let order = Order::place(
            OrderId::parse("0193f5a0-0000-7000-8000-000000000001").expect("id"),
            CoffeeId::parse("1").expect("cappuccino"),
            CustomerId::parse("c-1").expect("customer"),
            CustomerName::parse("Ada").expect("name"),
            Millis(1_000),
        );
        let pid = PaymentId::parse("0193f5a0-0000-7000-8000-000000000002").expect("id");
        let created =
            Payment::on_order_created(pid, &order, Millis(2)).intent_created("pi".into(), Millis(3)).expect("created");
        let Capture::Succeeded(paid) = created.on_captured(Millis(4)) else { panic!("paid") };
        let fid = FulfilmentId::parse("0193f5a0-0000-7000-8000-000000000003").expect("id");
        Fulfilment::on_payment_succeeded(fid, &paid, Millis(5))
    }

    #[test]
    fn a_rejected_fulfilment_cannot_be_completed() {
        let rejected = a_fulfilment()
            .change_by_barista(FulfilmentStatus::Rejected, Note::parse("out of milk").expect("note"), Millis(6))
            .expect("rejects");
        let err = rejected.change_by_barista(FulfilmentStatus::Completed, None, Millis(7)).unwrap_err();
        assert_eq!(err.from, "FULFILMENT_REJECTED");
    }

    #[test]
    fn the_barista_cannot_set_a_fulfilment_back_to_created() {
        assert!(a_fulfilment().change_by_barista(FulfilmentStatus::Created, None, Millis(6)).is_err());
    }

    #[test]
    fn a_cancelled_order_closes_an_open_fulfilment_only() {
        let f = a_fulfilment();
        let closed = f.on_order_cancelled(None, Millis(6)).expect("closes");
        assert_eq!(closed.status, FulfilmentStatus::Rejected);
        let done = f.change_by_barista(FulfilmentStatus::Completed, None, Millis(6)).expect("completes");
        assert!(done.on_order_cancelled(None, Millis(7)).is_none());
    }

    #[test]
    fn a_fulfilment_serializes_with_the_original_field_names() {
        let json = serde_json::to_value(a_fulfilment()).expect("serializes");
        assert_eq!(json["fulfilmentStatus"], "FULFILMENT_CREATED");
        assert_eq!(json["id"], json["fulfilmentId"]);
        assert_eq!(json["coffee"]["name"], "Cappuccino");
    }
}
