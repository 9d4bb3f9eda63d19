//! An order: what the customer asked for, and the reactions of the order service to the
//! other services' events.

use serde::{Deserialize, Serialize};

pub use crate::status::OrderStatus;
use crate::{Coffee, CustomerId, CustomerName, Day, IllegalTransition, Millis, Note, OrderId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "OrderWire", from = "OrderWire")]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    pub note: Option<Note>,
    pub coffee: Coffee,
    pub customer_id: CustomerId,
    pub customer_name: CustomerName,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Order {
    /// A customer orders a coffee. The coffee comes from the catalogue, with its price.
    pub fn place(
        id: OrderId,
        coffee: Coffee,
        customer_id: CustomerId,
        customer_name: CustomerName,
        now: Millis,
    ) -> Self {
        Self {
            id,
            status: OrderStatus::Created,
            note: None,
            coffee,
            customer_id,
            customer_name,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn date(&self) -> Day {
        self.created_at.day()
    }

    fn become_(&self, next: OrderStatus, note: Option<Note>, now: Millis) -> Result<Self, IllegalTransition> {
        if !self.status.can_become(next) {
            return Err(IllegalTransition {
                entity: "order",
                id: self.id.to_string(),
                from: self.status.as_str(),
                to: next.as_str(),
            });
        }
        Ok(Self { status: next, note: note.or_else(|| self.note.clone()), updated_at: now, ..self.clone() })
    }

    /// The customer cancels. Allowed until the fulfilment is completed.
    pub fn cancel_by_customer(&self, note: Option<Note>, now: Millis) -> Result<Self, IllegalTransition> {
        let note = note.unwrap_or_else(|| Note::system("cancelled by the customer"));
        self.become_(OrderStatus::Cancelled, Some(note), now)
    }

    /// Any status change a client asks for. Only cancelling is the customer's to do; the
    /// other steps follow from events, so asking for them is refused like any illegal step.
    pub fn change_by_customer(
        &self,
        to: OrderStatus,
        note: Option<Note>,
        now: Millis,
    ) -> Result<Self, IllegalTransition> {
        match to {
            OrderStatus::Cancelled => self.cancel_by_customer(note, now),
            other => Err(IllegalTransition {
                entity: "order",
                id: self.id.to_string(),
                from: self.status.as_str(),
                to: other.as_str(),
            }),
        }
    }

    // Reactions to other services' events. `None` means the event changes nothing: it is
    // a duplicate, or it arrived after the order had already moved on (a cancelled order
    // does not start because a late payment succeeded; the payment service refunds it).

    pub fn on_payment_succeeded(&self, now: Millis) -> Option<Self> {
        self.become_(OrderStatus::InProgress, None, now).ok()
    }

    pub fn on_payment_failed(&self, reason: Option<&Note>, now: Millis) -> Option<Self> {
        let why = reason.map_or("payment failed".to_owned(), |r| format!("payment failed: {r}"));
        self.become_(OrderStatus::Cancelled, Some(Note::system(why)), now).ok()
    }

    pub fn on_fulfilment_completed(&self, now: Millis) -> Option<Self> {
        self.become_(OrderStatus::Completed, None, now).ok()
    }

    pub fn on_fulfilment_rejected(&self, reason: Option<&Note>, now: Millis) -> Option<Self> {
        let why = reason.map_or("rejected by the barista".to_owned(), |r| format!("rejected by the barista: {r}"));
        self.become_(OrderStatus::Cancelled, Some(Note::system(why)), now).ok()
    }
}

/// The order as JSON: the original's field names, `id` and `orderId` both present.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OrderWire {
    id: OrderId,
    order_id: OrderId,
    order_status: OrderStatus,
    order_note: Option<Note>,
    coffee: Coffee,
    customer_id: CustomerId,
    customer_name: CustomerName,
    created_at: Millis,
    #[serde(default)]
    updated_at: Option<Millis>,
    #[serde(default, skip_deserializing)]
    date: Option<Day>,
}

impl From<Order> for OrderWire {
    fn from(o: Order) -> Self {
        Self {
            id: o.id,
            order_id: o.id,
            order_status: o.status,
            date: Some(o.date()),
            order_note: o.note,
            coffee: o.coffee,
            customer_id: o.customer_id,
            customer_name: o.customer_name,
            created_at: o.created_at,
            updated_at: Some(o.updated_at),
        }
    }
}

impl From<OrderWire> for Order {
    fn from(w: OrderWire) -> Self {
        Self {
            id: w.order_id,
            status: w.order_status,
            note: w.order_note,
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
    use crate::CoffeeId;

    pub(crate) fn an_order() -> Order {
        Order::place(
            OrderId::parse("0193f5a0-0000-7000-8000-000000000001").expect("id"),
            CoffeeId::parse("2").expect("latte"),
            CustomerId::parse("c-1").expect("customer"),
            CustomerName::parse("Ada").expect("name"),
            Millis(1_764_000_000_000),
        )
    }

    #[test]
    fn an_order_serializes_with_the_original_field_names() {
        let json = serde_json::to_value(an_order()).expect("serializes");
        assert_eq!(json["id"], json["orderId"]);
        assert_eq!(json["orderStatus"], "ORDER_CREATED");
        assert_eq!(json["coffee"]["price"], 400);
        assert_eq!(json["customerName"], "Ada");
        assert_eq!(json["date"], "2025-11-24");
        let back: Order = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, an_order());
    }

    #[test]
    fn a_paid_order_goes_in_progress_then_completes() {
        let o = an_order();
        let started = o.on_payment_succeeded(Millis(1)).expect("starts");
        assert_eq!(started.status, OrderStatus::InProgress);
        let done = started.on_fulfilment_completed(Millis(2)).expect("completes");
        assert_eq!(done.status, OrderStatus::Completed);
        assert!(done.on_payment_succeeded(Millis(3)).is_none(), "a late event changes nothing");
    }

    #[test]
    fn a_completed_order_cannot_be_cancelled_by_the_customer() {
        let done = an_order()
            .on_payment_succeeded(Millis(1))
            .and_then(|o| o.on_fulfilment_completed(Millis(2)))
            .expect("completed");
        let err = done.cancel_by_customer(None, Millis(3)).unwrap_err();
        assert_eq!(err.from, "ORDER_COMPLETED");
        assert_eq!(err.to, "ORDER_CANCELLED");
    }

    #[test]
    fn the_customer_cannot_complete_an_order() {
        let err = an_order().change_by_customer(OrderStatus::Completed, None, Millis(1)).unwrap_err();
        assert_eq!(err.from, "ORDER_CREATED");
    }

    #[test]
    fn a_failed_payment_cancels_the_order_with_its_reason() {
        let reason = Note::system("Your card was declined.");
        let cancelled = an_order().on_payment_failed(Some(&reason), Millis(1)).expect("cancels");
        assert_eq!(cancelled.status, OrderStatus::Cancelled);
        assert_eq!(cancelled.note.expect("note").as_str(), "payment failed: Your card was declined.");
    }
}
