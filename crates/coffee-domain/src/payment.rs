//! A payment: the money side of an order, and the payment service's reactions.
//!
//! The payment service learns an order's price from the order's `created` event (it never
//! reads the order service's data), so a payment exists, PENDING, before the customer pays.

use serde::{Deserialize, Serialize};

use crate::saga::PaymentInput;
pub use crate::status::PaymentStatus;
use crate::{
    Cents, Coffee, CustomerId, CustomerName, Day, DrinkOptions, IllegalTransition, Millis, Note, Order, OrderId,
    PaymentId,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// The order's number for the day, copied from the order.
    pub order_number: Option<u32>,
    /// The order's options, copied from it (for the receipt).
    pub options: Option<DrinkOptions>,
    /// The order was cancelled while the provider could still capture the money; a late
    /// capture must be refunded at once.
    pub order_cancelled: bool,
    /// Cards declined so far; at [`Payment::MAX_DECLINED_CARDS`] the payment fails.
    pub declined_cards: u32,
    pub created_at: Millis,
    pub updated_at: Millis,
}

crate::entity::entity!(Payment, PaymentStatus, Payment, "payment", order_id = |e| e.order_id);

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

/// What the payment service does about an event of the saga.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentReaction {
    /// Nothing: a duplicate, or the payment has moved on.
    Nothing,
    /// Record these states, oldest first, each announced; the last is stored. With no payment
    /// yet, the first is the new payment.
    Record(Vec<Payment>),
    /// The customer could still pay: cancel the intent at the provider, then record
    /// [`Payment::fail`] with `note`, or, if the provider had already captured the money,
    /// [`Payment::remember_order_cancelled`] (its capture will then be refunded).
    CancelIntent { note: Note },
    /// Money was taken: refund it at the provider, then record and announce this.
    Refund(Box<Payment>),
}

impl Payment {
    /// The order service announced an order: the payment service records what it will cost.
    pub fn on_order_created(id: PaymentId, order: &Order, now: Millis) -> Self {
        Self {
            id,
            order_id: order.id,
            status: PaymentStatus::Pending,
            note: None,
            amount: order.amount(),
            currency: crate::catalogue::CURRENCY.to_owned(),
            payment_intent_id: None,
            coffee: order.coffee.clone(),
            customer_id: order.customer_id.clone(),
            customer_name: order.customer_name.clone(),
            order_number: order.order_number,
            options: order.options,
            order_cancelled: false,
            declined_cards: 0,
            created_at: now,
            updated_at: now,
        }
    }

    /// The step a payment takes without changing status: a declined card, after which it still
    /// waits for one (a payment that is waiting carries a note only after a decline).
    pub(crate) fn step_within(&self) -> Option<crate::EventType> {
        (self.status == PaymentStatus::Created && self.note.is_some()).then_some(crate::EventType::PaymentDeclined)
    }

    pub fn date(&self) -> Day {
        self.created_at.day()
    }

    /// The provider created a payment intent: the customer can now pay.
    pub fn intent_created(&self, intent_id: String, now: Millis) -> Result<Self, IllegalTransition> {
        let mut next = self.become_(PaymentStatus::Created, None, now)?;
        next.payment_intent_id = Some(intent_id);
        Ok(next)
    }

    /// The provider reports the money was taken.
    pub fn on_captured(&self, now: Millis) -> Capture {
        match self.status {
            PaymentStatus::Created if !self.order_cancelled => self
                .become_(PaymentStatus::Successful, None, now)
                // A card declined before this one is no longer news.
                .map_or(Capture::Ignore, |paid| Capture::Succeeded(Self { note: None, ..paid })),
            PaymentStatus::Created => {
                // Both steps are legal one after the other; only the final state is recorded
                // and announced, so no service ever acts on a success for a cancelled order.
                let refunded = self.become_(PaymentStatus::Successful, None, now).and_then(|paid| {
                    paid.become_(
                        PaymentStatus::Refunded,
                        Some(Note::system("paid after the order was cancelled; refunded")),
                        now,
                    )
                });
                refunded.map_or(Capture::Ignore, Capture::RefundAtOnce)
            }
            // Two card attempts raced: a decline failed the payment, then the other attempt's
            // capture arrived. The money must not stay taken.
            PaymentStatus::Failed => self
                .become_(
                    PaymentStatus::Refunded,
                    Some(Note::system("paid after the payment had failed; refunded")),
                    now,
                )
                .map_or(Capture::Ignore, Capture::RefundAtOnce),
            PaymentStatus::Pending | PaymentStatus::Successful | PaymentStatus::Refunded => Capture::Ignore,
        }
    }

    /// The provider reports that all of the money was given back, by a refund this service did
    /// not make (the shop's, in the provider's dashboard). A paid payment is refunded; one whose
    /// capture has not been heard of yet (the provider's events may come in any order) is too,
    /// and its late capture then changes nothing. One that failed or was refunded already stays
    /// as it is.
    pub fn on_refunded_at_provider(&self, now: Millis) -> Option<Self> {
        let note = || Some(Note::system("refunded at Stripe"));
        match self.status {
            PaymentStatus::Successful => self.become_(PaymentStatus::Refunded, note(), now).ok(),
            // As for a capture after a cancellation: only the final state is recorded.
            PaymentStatus::Created => self
                .become_(PaymentStatus::Successful, None, now)
                .and_then(|paid| paid.become_(PaymentStatus::Refunded, note(), now))
                .ok(),
            PaymentStatus::Pending | PaymentStatus::Failed | PaymentStatus::Refunded => None,
        }
    }

    /// Cards a payment may have declined before it fails: enough for a customer's own cards,
    /// too few for someone trying a list of stolen card numbers against the shop's account.
    pub const MAX_DECLINED_CARDS: u32 = 5;

    /// The provider reports a card was declined. The order stays open and the customer may try
    /// another card (a Stripe intent, declined, again awaits a payment method), so a waiting
    /// payment records why and goes on waiting, announced as declined; it ends when the order is
    /// paid, or cancelled (by the customer, or unpaid in time), or with the
    /// [`MAX_DECLINED_CARDS`](Self::MAX_DECLINED_CARDS)th decline, when it fails (its intent is
    /// then cancelled at the provider). A decline for a payment that has moved on (an earlier
    /// attempt's, arriving late) changes nothing.
    pub fn on_declined(&self, reason: Note, now: Millis) -> Option<Self> {
        if self.status != PaymentStatus::Created || self.order_cancelled {
            return None;
        }
        let declined_cards = self.declined_cards + 1;
        if declined_cards >= Self::MAX_DECLINED_CARDS {
            let failed = self.fail(Note::system("Too many cards were declined."), now).ok()?;
            return Some(Self { declined_cards, ..failed });
        }
        Some(Self { note: Some(reason), declined_cards, updated_at: now, ..self.clone() })
    }

    /// The payment service's reaction to an event of the saga. `new_id` is the id a payment
    /// recorded now gets.
    pub fn react(current: Option<&Payment>, input: &PaymentInput, new_id: PaymentId, now: Millis) -> PaymentReaction {
        match (input, current) {
            (PaymentInput::OrderCreated(_), Some(_)) => PaymentReaction::Nothing,
            (PaymentInput::OrderCreated(order), None) => {
                PaymentReaction::Record(vec![Payment::on_order_created(new_id, order, now)])
            }
            (PaymentInput::OrderCancelled(order), None) => {
                // The cancellation overtook the order's creation: record the payment as it would
                // have been, and fail it at once; the late creation then changes nothing.
                let pending = Payment::on_order_created(new_id, order, now);
                match pending.fail(cancellation_note(order), now) {
                    Ok(failed) => PaymentReaction::Record(vec![pending, failed]),
                    Err(_) => PaymentReaction::Nothing,
                }
            }
            (PaymentInput::OrderCancelled(order), Some(payment)) => {
                let note = cancellation_note(order);
                match payment.status {
                    PaymentStatus::Pending => {
                        payment.fail(note, now).map_or(PaymentReaction::Nothing, |f| PaymentReaction::Record(vec![f]))
                    }
                    PaymentStatus::Created if payment.order_cancelled => PaymentReaction::Nothing,
                    PaymentStatus::Created => PaymentReaction::CancelIntent { note },
                    PaymentStatus::Successful => payment
                        .refund(Note::system(format!("refunded: {note}")), now)
                        .map_or(PaymentReaction::Nothing, |p| PaymentReaction::Refund(Box::new(p))),
                    PaymentStatus::Failed | PaymentStatus::Refunded => PaymentReaction::Nothing,
                }
            }
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

/// Why a payment ends because its order was cancelled.
fn cancellation_note(order: &Order) -> Note {
    Note::system(order.note.as_ref().map_or_else(|| "order cancelled".to_owned(), |n| format!("order cancelled: {n}")))
}

crate::entity::wire!(Payment as PaymentWire {
    payment_id: PaymentId, payment_status: PaymentStatus, payment_note,
    order_id: OrderId,
    amount: Cents,
    currency: String,
    payment_intent_id: Option<String>,
    #[serde(default)]
    order_cancelled: bool,
    #[serde(default)]
    declined_cards: u32,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{an_order, its_pending_payment};

    fn react(current: Option<&Payment>, input: PaymentInput) -> PaymentReaction {
        let id = PaymentId::parse("0193f5a0-0000-7000-8000-0000000000ff").expect("id");
        Payment::react(current, &input, id, Millis(10))
    }

    fn created() -> Payment {
        its_pending_payment(&an_order()).intent_created("pi_1".into(), Millis(3)).expect("created")
    }

    fn cancelled_order() -> Order {
        an_order().cancel_by_customer(None, Millis(5)).expect("cancels")
    }

    #[test]
    fn the_amount_comes_from_the_order_coffee() {
        let p = its_pending_payment(&an_order());
        assert_eq!(p.amount, Cents(400));
        assert_eq!(p.currency, "AUD");
        let json = serde_json::to_value(&p).expect("serializes");
        assert_eq!(json["paymentStatus"], "PAYMENT_PENDING");
        assert_eq!(json["id"], json["paymentId"]);
        assert!(json.get("clientSecret").is_none(), "a payment never carries its client secret");
    }

    #[test]
    fn a_created_order_is_recorded_once() {
        let PaymentReaction::Record(steps) = react(None, PaymentInput::OrderCreated(an_order())) else {
            panic!("expected a new payment")
        };
        assert_eq!(steps.iter().map(|p| p.status).collect::<Vec<_>>(), [PaymentStatus::Pending]);
        assert_eq!(react(Some(&steps[0]), PaymentInput::OrderCreated(an_order())), PaymentReaction::Nothing);
    }

    #[test]
    fn a_cancellation_that_overtakes_the_creation_records_a_failed_payment_and_the_creation_changes_nothing() {
        let PaymentReaction::Record(steps) = react(None, PaymentInput::OrderCancelled(cancelled_order())) else {
            panic!("expected a payment")
        };
        assert_eq!(steps.iter().map(|p| p.status).collect::<Vec<_>>(), [PaymentStatus::Pending, PaymentStatus::Failed]);
        assert_eq!(steps[1].amount, Cents(400));
        assert_eq!(react(Some(&steps[1]), PaymentInput::OrderCreated(an_order())), PaymentReaction::Nothing);
    }

    #[test]
    fn a_captured_payment_succeeds_once() {
        let Capture::Succeeded(ok) = created().on_captured(Millis(4)) else { panic!("expected success") };
        assert_eq!(ok.status, PaymentStatus::Successful);
        assert_eq!(ok.on_captured(Millis(5)), Capture::Ignore, "a duplicate capture changes nothing");
    }

    #[test]
    fn a_capture_after_the_order_was_cancelled_is_refunded_at_once() {
        let created = created();
        let PaymentReaction::CancelIntent { note } =
            react(Some(&created), PaymentInput::OrderCancelled(cancelled_order()))
        else {
            panic!("expected the intent to be cancelled")
        };
        assert_eq!(note.as_str(), "order cancelled: cancelled by the customer");
        let remembered = created.remember_order_cancelled(Millis(4));
        assert!(remembered.order_cancelled && remembered.updated_at == Millis(4), "{remembered:?}");
        assert_eq!(react(Some(&remembered), PaymentInput::OrderCancelled(cancelled_order())), PaymentReaction::Nothing);
        let Capture::RefundAtOnce(refunded) = remembered.on_captured(Millis(5)) else { panic!("expected a refund") };
        assert_eq!(refunded.status, PaymentStatus::Refunded);
    }

    #[test]
    fn a_declined_card_leaves_the_payment_waiting_for_another_and_the_next_card_pays() {
        let declined = created().on_declined(Note::system("Your card was declined."), Millis(4)).expect("declined");
        assert_eq!((declined.status, declined.updated_at), (PaymentStatus::Created, Millis(4)));
        assert_eq!(declined.note.as_ref().map(Note::as_str), Some("Your card was declined."));
        assert_eq!(declined.step_within(), Some(crate::EventType::PaymentDeclined));
        assert_eq!(created().step_within(), None, "a payment that waits with no decline took no step");
        let again = declined.on_declined(Note::system("Your card has insufficient funds."), Millis(5)).expect("again");
        assert_eq!(again.note.as_ref().map(Note::as_str), Some("Your card has insufficient funds."));
        let Capture::Succeeded(paid) = again.on_captured(Millis(6)) else { panic!("another card pays") };
        assert_eq!((paid.status, paid.note.clone()), (PaymentStatus::Successful, None), "the declines are over");
        assert_eq!(paid.step_within(), None);
        // A decline that arrives after the payment moved on (an earlier attempt's) changes nothing.
        assert_eq!(paid.on_declined(Note::system("late"), Millis(7)), None);
        let remembered = declined.remember_order_cancelled(Millis(5));
        assert_eq!(remembered.on_declined(Note::system("late"), Millis(6)), None);
        let pending = its_pending_payment(&an_order());
        assert_eq!(pending.on_declined(Note::system("no intent"), Millis(6)), None);
    }

    #[test]
    fn the_fifth_declined_card_fails_the_payment() {
        let mut payment = created();
        for n in 1..Payment::MAX_DECLINED_CARDS {
            payment = payment.on_declined(Note::system("Your card was declined."), Millis(4)).expect("declined");
            assert_eq!((payment.status, payment.declined_cards), (PaymentStatus::Created, n));
        }
        let failed = payment.on_declined(Note::system("Your card was declined."), Millis(5)).expect("the last");
        assert_eq!((failed.status, failed.declined_cards), (PaymentStatus::Failed, Payment::MAX_DECLINED_CARDS));
        assert_eq!(failed.note.as_ref().map(Note::as_str), Some("Too many cards were declined."));
        assert_eq!(failed.step_within(), None, "announced as failed, not as one more decline");
        assert_eq!(failed.on_declined(Note::system("late"), Millis(6)), None);
        let json = serde_json::to_value(&failed).expect("json");
        assert_eq!(json["declinedCards"], Payment::MAX_DECLINED_CARDS);
        let mut old = json.clone();
        old.as_object_mut().expect("an object").remove("declinedCards");
        let back: Payment = serde_json::from_value(old).expect("a payment stored before the count was");
        assert_eq!(back.declined_cards, 0);
    }

    #[test]
    fn a_capture_after_the_payment_failed_is_refunded_at_once() {
        let failed = created().fail(Note::system("order cancelled"), Millis(4)).expect("fails");
        let Capture::RefundAtOnce(refunded) = failed.on_captured(Millis(5)) else { panic!("expected a refund") };
        assert_eq!(refunded.status, PaymentStatus::Refunded);
        assert_eq!(refunded.on_captured(Millis(6)), Capture::Ignore);
    }

    #[test]
    fn a_refund_made_at_the_provider_refunds_a_paid_or_not_yet_heard_of_payment_once() {
        let Capture::Succeeded(paid) = created().on_captured(Millis(4)) else { panic!("expected success") };
        let refunded = paid.on_refunded_at_provider(Millis(5)).expect("a paid payment is refunded");
        assert_eq!((refunded.status, refunded.updated_at), (PaymentStatus::Refunded, Millis(5)));
        assert_eq!(refunded.note.as_ref().map(Note::as_str), Some("refunded at Stripe"));
        assert_eq!(refunded.on_refunded_at_provider(Millis(6)), None, "once");
        // The refund's event overtook the capture's: refunded, and the capture changes nothing.
        let early = created().on_refunded_at_provider(Millis(5)).expect("refunded before the capture was heard of");
        assert_eq!(early.status, PaymentStatus::Refunded);
        assert_eq!(early.on_captured(Millis(6)), Capture::Ignore);
        let failed = created().fail(Note::system("order cancelled"), Millis(4)).expect("fails");
        assert_eq!(failed.on_refunded_at_provider(Millis(5)), None);
        assert_eq!(its_pending_payment(&an_order()).on_refunded_at_provider(Millis(5)), None);
    }

    #[test]
    fn what_a_cancellation_means_depends_on_how_far_the_payment_got() {
        let order = cancelled_order();
        let pending = its_pending_payment(&an_order());
        let PaymentReaction::Record(failed) = react(Some(&pending), PaymentInput::OrderCancelled(order.clone())) else {
            panic!("a pending payment fails")
        };
        assert_eq!(failed[0].status, PaymentStatus::Failed);
        let Capture::Succeeded(ok) = created().on_captured(Millis(4)) else { panic!("expected success") };
        let PaymentReaction::Refund(refunded) = react(Some(&ok), PaymentInput::OrderCancelled(order.clone())) else {
            panic!("a successful payment is refunded")
        };
        assert_eq!(
            refunded.note.as_ref().map(Note::as_str),
            Some("refunded: order cancelled: cancelled by the customer")
        );
        assert_eq!(react(Some(&refunded), PaymentInput::OrderCancelled(order.clone())), PaymentReaction::Nothing);
        assert_eq!(react(Some(&failed[0]), PaymentInput::OrderCancelled(order)), PaymentReaction::Nothing);
        assert!(refunded.refund(Note::system("again"), Millis(6)).is_err());
    }
}
