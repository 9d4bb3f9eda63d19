//! An order: what the customer asked for, and the reactions of the order service to the
//! other services' events.

use serde::{Deserialize, Serialize};

use crate::saga::OrderInput;
pub use crate::status::OrderStatus;
use crate::{Cents, Coffee, CustomerId, CustomerName, Day, DrinkOptions, IllegalTransition, Millis, Note, OrderId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(into = "OrderWire", from = "OrderWire")]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    pub note: Option<Note>,
    pub coffee: Coffee,
    pub customer_id: CustomerId,
    pub customer_name: CustomerName,
    /// The day's number of the order, counting from 1: what the barista calls and the pickup
    /// board shows. Orders placed before numbers existed have none.
    pub order_number: Option<u32>,
    /// When its payment went through and the barista's work began (ORDER_IN_PROGRESS): the
    /// start of what the estimated wait measures. Orders from before this was kept have none.
    pub started_at: Option<Millis>,
    /// What the customer chose (size, milk, extra shots); none on orders from before options.
    pub options: Option<DrinkOptions>,
    /// What the drink with its options costs, from the menu at placement; none on orders from
    /// before options, which cost the coffee's price.
    pub price: Option<Cents>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

crate::entity::entity!(Order, OrderStatus, Order, "order", order_id = |e| e.id);

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
            order_number: None,
            started_at: None,
            options: None,
            price: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The order with the customer's options and the price the menu gives the drink with them.
    pub fn with_options(self, options: DrinkOptions, price: Cents) -> Self {
        Self { options: Some(options), price: Some(price), ..self }
    }

    /// What the customer pays: the price with the options, or the coffee's for an older order.
    pub fn amount(&self) -> Cents {
        self.price.unwrap_or(self.coffee.price)
    }

    /// The order with the day's number it was given at placement.
    pub fn numbered(self, number: u32) -> Self {
        Self { order_number: Some(number), ..self }
    }

    pub fn date(&self) -> Day {
        self.created_at.day()
    }

    /// The number the barista calls and the pickup board shows: the order's number, or, for an
    /// order placed before numbers existed, the last six hex digits of the id, uppercase (the
    /// id is a UUIDv7: its first digits are a timestamp shared by orders placed together, its
    /// last ones random).
    pub fn pickup_number(&self) -> String {
        if let Some(n) = self.order_number {
            return n.to_string();
        }
        let hex = self.id.to_string().replace('-', "");
        hex[hex.len() - 6..].to_uppercase()
    }

    /// The customer cancels. Allowed until the fulfilment is completed.
    pub fn cancel_by_customer(&self, note: Option<Note>, now: Millis) -> Result<Self, IllegalTransition> {
        let note = note.unwrap_or_else(|| Note::system("cancelled by the customer"));
        self.become_(OrderStatus::Cancelled, Some(note), now)
    }

    /// Its payment fell due: an order still unpaid is cancelled ("Not paid in time"); one paid
    /// or closed meanwhile is left as it is (no steps).
    pub fn expire_unpaid(&self, now: Millis) -> Vec<Order> {
        if self.status != OrderStatus::Created {
            return Vec::new();
        }
        self.become_(OrderStatus::Cancelled, Some(Note::system(Self::NOT_PAID_IN_TIME)), now).into_iter().collect()
    }

    /// The note on an order that expired unpaid.
    pub const NOT_PAID_IN_TIME: &'static str = "Not paid in time";

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
            other => Err(self.refuse(other)),
        }
    }

    /// The order's reaction to an event of the saga: the states it moves through, oldest first,
    /// each to be announced, the last to be stored. Empty when the event changes nothing: a
    /// duplicate, or an event that arrived after the order had moved on (a cancelled order does
    /// not start because a late payment succeeded; the payment service refunds it).
    pub fn react(&self, input: &OrderInput, now: Millis) -> Vec<Order> {
        let step = match input {
            OrderInput::PaymentSucceeded(_) => self.start(now),
            OrderInput::PaymentFailed(p) => {
                let why = p.note.as_ref().map_or("payment failed".to_owned(), |r| format!("payment failed: {r}"));
                self.become_(OrderStatus::Cancelled, Some(Note::system(why)), now)
            }
            OrderInput::PaymentRefunded(_) if self.status != OrderStatus::Created => return Vec::new(),
            OrderInput::PaymentRefunded(p) => {
                let why = p.note.as_ref().map_or("payment refunded".to_owned(), |r| format!("payment refunded: {r}"));
                self.become_(OrderStatus::Cancelled, Some(Note::system(why)), now)
            }
            OrderInput::FulfilmentCompleted(_) => {
                // A fulfilment exists only once its payment succeeded. When its completion
                // overtakes that payment's event, the order goes through IN_PROGRESS on the way,
                // and the payment's event, arriving last, changes nothing.
                if self.status == OrderStatus::Created {
                    let Ok(started) = self.start(now) else { return Vec::new() };
                    let Ok(done) = started.become_(OrderStatus::Completed, None, now) else { return Vec::new() };
                    return vec![started, done];
                }
                self.become_(OrderStatus::Completed, None, now)
            }
            OrderInput::FulfilmentRejected(f) => {
                let why = f
                    .note
                    .as_ref()
                    .map_or("rejected by the barista".to_owned(), |r| format!("rejected by the barista: {r}"));
                self.become_(OrderStatus::Cancelled, Some(Note::system(why)), now)
            }
        };
        step.into_iter().collect()
    }

    /// An order takes no step within a status: each of its events is named for its status.
    pub(crate) fn step_within(&self) -> Option<crate::EventType> {
        None
    }

    /// Paid for: the barista's work begins.
    fn start(&self, now: Millis) -> Result<Self, IllegalTransition> {
        Ok(Self { started_at: Some(now), ..self.become_(OrderStatus::InProgress, None, now)? })
    }
}

crate::entity::wire!(Order as OrderWire {
    order_id: OrderId,
    order_status: OrderStatus,
    order_note,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    started_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    price: Option<Cents>,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{an_order, its_fulfilment, its_payment};

    #[test]
    fn the_pickup_board_shows_a_short_number_and_the_first_name() {
        let order = Order {
            id: OrderId::parse("0193f5a0-0000-7000-8000-00000000b2b1").expect("id"),
            customer_name: CustomerName::parse("Ada  Lovelace").expect("name"),
            ..an_order()
        };
        assert_eq!(order.pickup_number(), "00B2B1", "an order from before numbers");
        assert_eq!(order.clone().numbered(42).pickup_number(), "42");
        assert_eq!(order.customer_name.first_name(), "Ada");
        assert_eq!(CustomerName::parse("Cy").expect("name").first_name(), "Cy");
    }

    fn statuses(steps: &[Order]) -> Vec<OrderStatus> {
        steps.iter().map(|o| o.status).collect()
    }

    #[test]
    fn an_order_serializes_with_the_original_field_names() {
        let json = serde_json::to_value(an_order()).expect("serializes");
        assert_eq!(json["id"], json["orderId"]);
        assert_eq!(json["orderStatus"], "ORDER_CREATED");
        assert_eq!(json["coffee"]["price"], 400);
        assert_eq!(json["customerName"], "Ada");
        assert_eq!(json["date"], "2025-11-24");
        assert!(json.get("orderNumber").is_none(), "no number, no field: {json}");
        let back: Order = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, an_order());
        let numbered = serde_json::to_value(an_order().numbered(7)).expect("serializes");
        assert_eq!(numbered["orderNumber"], 7);
        assert_eq!(serde_json::from_value::<Order>(numbered).expect("deserializes").order_number, Some(7));
    }

    #[test]
    fn a_paid_order_goes_in_progress_then_completes_and_a_late_event_changes_nothing() {
        let o = an_order();
        let paid = OrderInput::PaymentSucceeded(its_payment(&o));
        let started = o.react(&paid, Millis(1));
        assert_eq!(statuses(&started), [OrderStatus::InProgress]);
        assert_eq!(started[0].started_at, Some(Millis(1)), "the wait is measured from here");
        let done = started[0].react(&OrderInput::FulfilmentCompleted(its_fulfilment(&o)), Millis(2));
        assert_eq!(statuses(&done), [OrderStatus::Completed]);
        assert_eq!(done[0].started_at, Some(Millis(1)), "kept to the end");
        assert_eq!(serde_json::to_value(&done[0]).expect("json")["startedAt"], 1);
        assert!(done[0].react(&paid, Millis(3)).is_empty(), "a late event changes nothing");
    }

    #[test]
    fn a_completion_that_overtakes_the_payment_goes_through_in_progress() {
        let o = an_order();
        let steps = o.react(&OrderInput::FulfilmentCompleted(its_fulfilment(&o)), Millis(1));
        assert_eq!(statuses(&steps), [OrderStatus::InProgress, OrderStatus::Completed]);
        assert_eq!(steps[1].started_at, Some(Millis(1)));
        let late = steps[1].react(&OrderInput::PaymentSucceeded(its_payment(&o)), Millis(2));
        assert!(late.is_empty(), "the overtaken payment changes nothing");
    }

    #[test]
    fn a_cancelled_order_stays_cancelled_whatever_arrives_after() {
        let o = an_order();
        let cancelled = o.cancel_by_customer(None, Millis(1)).expect("cancels");
        for input in [
            OrderInput::PaymentSucceeded(its_payment(&o)),
            OrderInput::FulfilmentCompleted(its_fulfilment(&o)),
            OrderInput::FulfilmentRejected(its_fulfilment(&o)),
            OrderInput::PaymentRefunded(its_payment(&o)),
        ] {
            assert!(cancelled.react(&input, Millis(2)).is_empty(), "{input:?}");
        }
    }

    #[test]
    fn an_unpaid_order_expires_and_a_paid_or_closed_one_does_not() {
        let o = an_order();
        let expired = o.expire_unpaid(Millis(5));
        assert_eq!(statuses(&expired), [OrderStatus::Cancelled]);
        assert_eq!(expired[0].note.as_ref().expect("note").as_str(), "Not paid in time");
        assert_eq!(expired[0].updated_at, Millis(5));
        let paid = o.react(&OrderInput::PaymentSucceeded(its_payment(&o)), Millis(1));
        assert!(paid[0].expire_unpaid(Millis(5)).is_empty(), "paid");
        assert!(expired[0].expire_unpaid(Millis(6)).is_empty(), "already cancelled");
    }

    #[test]
    fn a_completed_order_cannot_be_cancelled_by_the_customer() {
        let o = an_order();
        let done = o.react(&OrderInput::FulfilmentCompleted(its_fulfilment(&o)), Millis(1)).pop().expect("done");
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
    fn a_failed_payment_or_a_rejection_cancels_the_order_with_its_reason() {
        let o = an_order();
        let mut declined = its_payment(&o);
        declined.note = Some(Note::system("Your card was declined."));
        let cancelled = o.react(&OrderInput::PaymentFailed(declined), Millis(1));
        assert_eq!(statuses(&cancelled), [OrderStatus::Cancelled]);
        assert_eq!(cancelled[0].note.as_ref().expect("note").as_str(), "payment failed: Your card was declined.");
        let mut rejected = its_fulfilment(&o);
        rejected.note = Some(Note::system("out of milk"));
        let cancelled = o.react(&OrderInput::FulfilmentRejected(rejected), Millis(1));
        assert_eq!(cancelled[0].note.as_ref().expect("note").as_str(), "rejected by the barista: out of milk");
    }

    #[test]
    fn a_refund_before_the_order_started_cancels_it_and_after_leaves_it_to_the_barista_s_card() {
        let o = an_order();
        let mut refunded = its_payment(&o);
        refunded.note = Some(Note::system("refunded at Stripe"));
        let refunded = OrderInput::PaymentRefunded(refunded);
        let cancelled = o.react(&refunded, Millis(1));
        assert_eq!(statuses(&cancelled), [OrderStatus::Cancelled]);
        assert_eq!(cancelled[0].note.as_ref().expect("note").as_str(), "payment refunded: refunded at Stripe");
        let started = o.react(&OrderInput::PaymentSucceeded(its_payment(&o)), Millis(1));
        assert!(started[0].react(&refunded, Millis(2)).is_empty(), "the fulfilment's rejection cancels it");
        assert!(cancelled[0].react(&OrderInput::PaymentSucceeded(its_payment(&o)), Millis(2)).is_empty());
    }
}
