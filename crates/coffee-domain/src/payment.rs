//! A payment: the money side of an order, and the payment service's reactions.
//!
//! The payment service learns an order's price from the order's `created` event (it never
//! reads the order service's data), so a payment exists, PENDING, before the customer pays.

use serde::{Deserialize, Serialize};

pub use crate::status::PaymentStatus;
use crate::{Cents, Coffee, CustomerId, CustomerName, Day, IllegalTransition, Millis, Note, Order, OrderId, PaymentId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "PaymentWire", from = "PaymentWire")]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    pub status: PaymentStatus,
    pub note: Option<Note>,
    pub amount: Cents,
    pub currency: String,
    /// The provider's payment intent, once one exists.
    pub payment_intent_id: Option<String>,
    pub coffee: Coffee,
    pub customer_id: CustomerId,
    pub customer_name: CustomerName,
    /// The order was cancelled while the provider could still capture the money; a late
    /// capture must be refunded at once.
    pub order_cancelled: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// What the payment service does when the card outcome says the money was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capture {
    /// The payment succeeded.
    Succeeded(Payment),
    /// The order was cancelled meanwhile: refund at the provider, then record this.
    RefundAtOnce(Payment),
    /// A duplicate or an outcome for a payment that has moved on.
    Ignore,
}

/// What the payment service does when the order is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOrderCancelled {
    /// Nothing can have been charged: the payment fails.
    Fail,
    /// An intent exists: cancel it at the provider, then fail. If the provider already
    /// captured it, remember the cancellation and refund when the capture is reported.
    CancelIntent,
    /// Money was taken: refund it.
    Refund,
    /// Already failed or refunded.
    Nothing,
}

impl Payment {
    /// The order service announced an order: the payment service records what it will cost.
    pub fn on_order_created(id: PaymentId, order: &Order, now: Millis) -> Self {
        Self {
            id,
            order_id: order.id,
            status: PaymentStatus::Pending,
            note: None,
            amount: order.coffee.price,
            currency: crate::catalogue::CURRENCY.to_owned(),
            payment_intent_id: None,
            coffee: order.coffee.clone(),
            customer_id: order.customer_id.clone(),
            customer_name: order.customer_name.clone(),
            order_cancelled: false,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn date(&self) -> Day {
        self.created_at.day()
    }

    fn become_(&self, next: PaymentStatus, note: Option<Note>, now: Millis) -> Result<Self, IllegalTransition> {
        if !self.status.can_become(next) {
            return Err(IllegalTransition {
                entity: "payment",
                id: self.id.to_string(),
                from: self.status.as_str(),
                to: next.as_str(),
            });
        }
        Ok(Self { status: next, note: note.or_else(|| self.note.clone()), updated_at: now, ..self.clone() })
    }

    /// The provider created a payment intent: the customer can now pay.
    pub fn intent_created(&self, intent_id: String, now: Millis) -> Result<Self, IllegalTransition> {
        let mut next = self.become_(PaymentStatus::Created, None, now)?;
        next.payment_intent_id = Some(intent_id);
        Ok(next)
    }

    /// The provider reports the money was taken.
    pub fn on_captured(&self, now: Millis) -> Capture {
        let Ok(succeeded) = self.become_(PaymentStatus::Successful, None, now) else {
            return Capture::Ignore;
        };
        if !self.order_cancelled {
            return Capture::Succeeded(succeeded);
        }
        // Both steps are legal one after the other; only the final state is recorded and
        // announced, so no service ever acts on a success for a cancelled order.
        match succeeded.become_(
            PaymentStatus::Refunded,
            Some(Note::system("paid after the order was cancelled; refunded")),
            now,
        ) {
            Ok(refunded) => Capture::RefundAtOnce(refunded),
            Err(_) => Capture::Ignore,
        }
    }

    /// The provider reports the card was declined.
    pub fn on_declined(&self, reason: Note, now: Millis) -> Option<Self> {
        self.become_(PaymentStatus::Failed, Some(reason), now).ok()
    }

    pub fn on_order_cancelled(&self) -> OnOrderCancelled {
        match self.status {
            PaymentStatus::Pending => OnOrderCancelled::Fail,
            PaymentStatus::Created if self.order_cancelled => OnOrderCancelled::Nothing,
            PaymentStatus::Created => OnOrderCancelled::CancelIntent,
            PaymentStatus::Successful => OnOrderCancelled::Refund,
            PaymentStatus::Failed | PaymentStatus::Refunded => OnOrderCancelled::Nothing,
        }
    }

    pub fn fail(&self, note: Note, now: Millis) -> Result<Self, IllegalTransition> {
        self.become_(PaymentStatus::Failed, Some(note), now)
    }

    pub fn refund(&self, note: Note, now: Millis) -> Result<Self, IllegalTransition> {
        self.become_(PaymentStatus::Refunded, Some(note), now)
    }

    /// The provider had already captured the money when the order was cancelled: keep
    /// the status, remember to refund when the capture is reported.
    pub fn remember_order_cancelled(&self, now: Millis) -> Self {
        Self { order_cancelled: true, updated_at: now, ..self.clone() }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PaymentWire {
    id: PaymentId,
    payment_id: PaymentId,
    order_id: OrderId,
    payment_status: PaymentStatus,
    payment_note: Option<Note>,
    amount: Cents,
    currency: String,
    payment_intent_id: Option<String>,
    coffee: Coffee,
    customer_id: CustomerId,
    customer_name: CustomerName,
    #[serde(default)]
    order_cancelled: bool,
    created_at: Millis,
    #[serde(default)]
    updated_at: Option<Millis>,
    #[serde(default, skip_deserializing)]
    date: Option<Day>,
}

impl From<Payment> for PaymentWire {
    fn from(p: Payment) -> Self {
        Self {
            id: p.id,
            payment_id: p.id,
            date: Some(p.date()),
            order_id: p.order_id,
            payment_status: p.status,
            payment_note: p.note,
            amount: p.amount,
            currency: p.currency,
            payment_intent_id: p.payment_intent_id,
            coffee: p.coffee,
            customer_id: p.customer_id,
            customer_name: p.customer_name,
            order_cancelled: p.order_cancelled,
            created_at: p.created_at,
            updated_at: Some(p.updated_at),
        }
    }
}

impl From<PaymentWire> for Payment {
    fn from(w: PaymentWire) -> Self {
        Self {
            id: w.payment_id,
            order_id: w.order_id,
            status: w.payment_status,
            note: w.payment_note,
            amount: w.amount,
            currency: w.currency,
            payment_intent_id: w.payment_intent_id,
            coffee: w.coffee,
            customer_id: w.customer_id,
            customer_name: w.customer_name,
            order_cancelled: w.order_cancelled,
            created_at: w.created_at,
            updated_at: w.updated_at.unwrap_or(w.created_at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CoffeeId, OrderStatus};

    fn a_pending_payment() -> Payment {
        let order = Order::place(
            OrderId::parse("0193f5a0-0000-7000-8000-000000000001").expect("id"),
            CoffeeId::parse("3").expect("mocha"),
            CustomerId::parse("c-1").expect("customer"),
            CustomerName::parse("Ada").expect("name"),
            Millis(1_000),
        );
        assert_eq!(order.status, OrderStatus::Created);
        Payment::on_order_created(
            PaymentId::parse("0193f5a0-0000-7000-8000-000000000002").expect("id"),
            &order,
            Millis(2_000),
        )
    }

    #[test]
    fn the_amount_comes_from_the_order_coffee() {
        let p = a_pending_payment();
        assert_eq!(p.amount, Cents(450));
        assert_eq!(p.currency, "AUD");
        let json = serde_json::to_value(&p).expect("serializes");
        assert_eq!(json["paymentStatus"], "PAYMENT_PENDING");
        assert_eq!(json["id"], json["paymentId"]);
        assert!(json.get("clientSecret").is_none(), "a payment never carries its client secret");
    }

    #[test]
    fn a_captured_payment_succeeds_once() {
        let created = a_pending_payment().intent_created("pi_1".into(), Millis(3)).expect("created");
        let Capture::Succeeded(ok) = created.on_captured(Millis(4)) else { panic!("expected success") };
        assert_eq!(ok.status, PaymentStatus::Successful);
        assert_eq!(ok.on_captured(Millis(5)), Capture::Ignore, "a duplicate capture changes nothing");
    }

    #[test]
    fn a_capture_after_the_order_was_cancelled_is_refunded_at_once() {
        let created = a_pending_payment().intent_created("pi_1".into(), Millis(3)).expect("created");
        assert_eq!(created.on_order_cancelled(), OnOrderCancelled::CancelIntent);
        let remembered = created.remember_order_cancelled(Millis(4));
        assert_eq!(remembered.on_order_cancelled(), OnOrderCancelled::Nothing);
        let Capture::RefundAtOnce(refunded) = remembered.on_captured(Millis(5)) else { panic!("expected a refund") };
        assert_eq!(refunded.status, PaymentStatus::Refunded);
    }

    #[test]
    fn what_a_cancellation_means_depends_on_how_far_the_payment_got() {
        let pending = a_pending_payment();
        assert_eq!(pending.on_order_cancelled(), OnOrderCancelled::Fail);
        let created = pending.intent_created("pi_1".into(), Millis(3)).expect("created");
        let Capture::Succeeded(ok) = created.on_captured(Millis(4)) else { panic!("expected success") };
        assert_eq!(ok.on_order_cancelled(), OnOrderCancelled::Refund);
        let refunded = ok.refund(Note::system("order cancelled"), Millis(5)).expect("refunds");
        assert_eq!(refunded.on_order_cancelled(), OnOrderCancelled::Nothing);
        assert!(refunded.refund(Note::system("again"), Millis(6)).is_err());
    }
}
