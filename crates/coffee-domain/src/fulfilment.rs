//! A fulfilment: the barista's job of making one paid coffee, and the fulfilment
//! service's reactions.

use serde::{Deserialize, Serialize};

use crate::saga::FulfilmentInput;
pub use crate::status::FulfilmentStatus;
use crate::{
    Coffee, CustomerId, CustomerName, Day, DrinkOptions, FulfilmentId, IllegalTransition, Millis, Note, OrderId,
    Payment, StaffName,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(into = "FulfilmentWire", from = "FulfilmentWire")]
pub struct Fulfilment {
    pub id: FulfilmentId,
    pub order_id: OrderId,
    pub status: FulfilmentStatus,
    pub note: Option<Note>,
    pub coffee: Coffee,
    pub customer_id: CustomerId,
    pub customer_name: CustomerName,
    /// The order's number for the day, which the barista calls: copied from the payment.
    pub order_number: Option<u32>,
    /// How to make it: the order's options, copied from the payment.
    pub options: Option<DrinkOptions>,
    /// The barista making it, since `claimed_at`; none while it waits for anyone.
    pub barista_name: Option<StaffName>,
    pub claimed_at: Option<Millis>,
    /// When the last barista to claim it let it go (it waits for anyone again).
    pub released_at: Option<Millis>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

crate::entity::entity!(Fulfilment, FulfilmentStatus, Fulfilment, "fulfilment", order_id = |e| e.order_id);

/// Why a barista may not claim or release a coffee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimRefused {
    /// Another barista is making it.
    Taken(StaffName),
    /// It is no longer waiting: made, rejected or cancelled.
    NotWaiting(IllegalTransition),
}

/// What the fulfilment service does about an event of the saga.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FulfilmentReaction {
    /// Nothing: a duplicate, or the fulfilment has moved on.
    Nothing,
    /// A coffee joins the barista's queue: a new fulfilment, announced.
    Start(Fulfilment),
    /// An open fulfilment is closed, announced.
    Close(Fulfilment),
    /// The order was closed (cancelled, or its payment refunded) before its payment's success
    /// reached this service: remember that, so the late success does not start a coffee that
    /// nobody will collect.
    RememberClosed,
}

impl Fulfilment {
    /// The fulfilment service's reaction to an event of the saga. `current` is the order's
    /// fulfilment, `closed` whether the order is remembered as closed, `new_id` the id a new
    /// fulfilment gets.
    pub fn react(
        current: Option<&Fulfilment>,
        closed: bool,
        input: &FulfilmentInput,
        new_id: FulfilmentId,
        now: Millis,
    ) -> FulfilmentReaction {
        let reason = match (input, current) {
            (FulfilmentInput::PaymentSucceeded(_), Some(_)) => return FulfilmentReaction::Nothing,
            (FulfilmentInput::PaymentSucceeded(_), None) if closed => return FulfilmentReaction::Nothing,
            (FulfilmentInput::PaymentSucceeded(payment), None) => {
                return FulfilmentReaction::Start(Fulfilment::on_payment_succeeded(new_id, payment, now));
            }
            (_, None) if closed => return FulfilmentReaction::Nothing,
            (_, None) => return FulfilmentReaction::RememberClosed,
            (FulfilmentInput::PaymentRefunded(payment), Some(_)) => payment.note.as_ref(),
            (FulfilmentInput::OrderCancelled(order), Some(_)) => order.note.as_ref(),
        };
        let Some(open) = current else { return FulfilmentReaction::Nothing };
        open.on_order_cancelled(reason, now).map_or(FulfilmentReaction::Nothing, FulfilmentReaction::Close)
    }

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
            order_number: payment.order_number,
            options: payment.options,
            barista_name: None,
            claimed_at: None,
            released_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn date(&self) -> Day {
        self.created_at.day()
    }

    /// A barista takes the coffee to make it. Claiming one's own again changes nothing (`None`);
    /// one another barista is making, or one no longer waiting, is refused.
    pub fn claim(&self, barista: &StaffName, now: Millis) -> Result<Option<Self>, ClaimRefused> {
        if self.status != FulfilmentStatus::Created {
            return Err(ClaimRefused::NotWaiting(self.refuse(self.status)));
        }
        match &self.barista_name {
            Some(by) if by == barista => Ok(None),
            Some(by) => Err(ClaimRefused::Taken(by.clone())),
            None => Ok(Some(Self {
                barista_name: Some(barista.clone()),
                claimed_at: Some(now),
                released_at: None,
                updated_at: now,
                ..self.clone()
            })),
        }
    }

    /// The barista making it lets it go, back to the queue. `may_release_others`: an admin
    /// may free a coffee another barista claimed and walked away from. Nothing to release
    /// changes nothing (`None`).
    pub fn release(
        &self,
        barista: &StaffName,
        may_release_others: bool,
        now: Millis,
    ) -> Result<Option<Self>, ClaimRefused> {
        if self.status != FulfilmentStatus::Created {
            return Err(ClaimRefused::NotWaiting(self.refuse(self.status)));
        }
        match &self.barista_name {
            None => Ok(None),
            Some(by) if by != barista && !may_release_others => Err(ClaimRefused::Taken(by.clone())),
            Some(_) => Ok(Some(Self {
                barista_name: None,
                claimed_at: None,
                released_at: Some(now),
                updated_at: now,
                ..self.clone()
            })),
        }
    }

    /// The step a waiting coffee took without changing status: claimed or released.
    pub(crate) fn step_within(&self) -> Option<crate::EventType> {
        if self.status != FulfilmentStatus::Created {
            return None;
        }
        match (&self.barista_name, self.released_at) {
            (Some(_), _) => Some(crate::EventType::FulfilmentClaimed),
            (None, Some(_)) => Some(crate::EventType::FulfilmentReleased),
            (None, None) => None,
        }
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
            other => Err(self.refuse(other)),
        }
    }

    /// The order was cancelled: an open fulfilment is closed, a finished one stays.
    fn on_order_cancelled(&self, reason: Option<&Note>, now: Millis) -> Option<Self> {
        let why = reason.map_or("order cancelled".to_owned(), |r| format!("order cancelled: {r}"));
        self.become_(FulfilmentStatus::Rejected, Some(Note::system(why)), now).ok()
    }
}

crate::entity::wire!(Fulfilment as FulfilmentWire {
    fulfilment_id: FulfilmentId, fulfilment_status: FulfilmentStatus, fulfilment_note,
    order_id: OrderId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    barista_name: Option<StaffName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    claimed_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    released_at: Option<Millis>,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{an_order, its_fulfilment, its_payment};

    fn a_fulfilment() -> Fulfilment {
        its_fulfilment(&an_order())
    }

    fn react(current: Option<&Fulfilment>, closed: bool, input: FulfilmentInput) -> FulfilmentReaction {
        let id = FulfilmentId::parse("0193f5a0-0000-7000-8000-0000000000ff").expect("id");
        Fulfilment::react(current, closed, &input, id, Millis(10))
    }

    fn staff(name: &str) -> StaffName {
        StaffName::parse(name).expect("a name")
    }

    #[test]
    fn a_barista_claims_a_waiting_coffee_the_others_see_it_taken_and_it_can_be_let_go() {
        use crate::{DomainEvent, EventType};
        let waiting = a_fulfilment();
        let (sam, kim) = (staff("sam"), staff("kim"));
        let taken = waiting.claim(&sam, Millis(20)).expect("claims").expect("a change");
        assert_eq!((taken.barista_name.clone(), taken.claimed_at), (Some(sam.clone()), Some(Millis(20))));
        assert_eq!(taken.updated_at, Millis(20), "a claim is a change, newer than what came before");
        assert_eq!(DomainEvent::Fulfilment(taken.clone()).event_type(), EventType::FulfilmentClaimed);
        assert_eq!(taken.claim(&sam, Millis(21)), Ok(None), "claiming one's own again changes nothing");
        assert_eq!(taken.claim(&kim, Millis(21)), Err(ClaimRefused::Taken(sam.clone())));
        assert_eq!(
            taken.release(&kim, false, Millis(22)),
            Err(ClaimRefused::Taken(sam.clone())),
            "not kim's to let go"
        );

        let freed = taken.release(&sam, false, Millis(23)).expect("releases").expect("a change");
        assert_eq!((freed.barista_name.clone(), freed.released_at), (None, Some(Millis(23))));
        assert_eq!((freed.claimed_at, freed.updated_at), (None, Millis(23)), "no claim left, and a newer state");
        assert_eq!(DomainEvent::Fulfilment(freed.clone()).event_type(), EventType::FulfilmentReleased);
        assert_eq!(freed.release(&sam, false, Millis(24)), Ok(None), "nothing to let go");
        let again = freed.claim(&kim, Millis(25)).expect("claims").expect("a change");
        assert_eq!(again.released_at, None);
        assert!(again.release(&sam, true, Millis(26)).expect("an admin frees it").is_some());

        // Made: it keeps who made it, is announced as completed, and can no longer be claimed.
        let done = again.change_by_barista(FulfilmentStatus::Completed, None, Millis(27)).expect("done");
        assert_eq!(done.barista_name, Some(kim.clone()));
        assert_eq!(DomainEvent::Fulfilment(done.clone()).event_type(), EventType::FulfilmentCompleted);
        assert!(matches!(done.claim(&sam, Millis(28)), Err(ClaimRefused::NotWaiting(_))));
        assert!(matches!(done.release(&kim, true, Millis(28)), Err(ClaimRefused::NotWaiting(_))));
        let json = serde_json::to_value(&taken).expect("json");
        assert_eq!(
            (json["baristaName"].clone(), json["claimedAt"].clone()),
            (serde_json::json!("sam"), serde_json::json!(20))
        );
        assert_eq!(serde_json::from_value::<Fulfilment>(json).expect("reads back"), taken);
        assert_eq!(DomainEvent::Fulfilment(waiting).event_type(), EventType::FulfilmentCreated);
    }

    #[test]
    fn the_order_number_and_options_go_from_the_order_to_its_payment_and_the_barista_s_card() {
        let large = crate::DrinkOptions { size: crate::options::Size::Large, ..crate::DrinkOptions::default() };
        let order = an_order().numbered(12).with_options(large, crate::Cents(470));
        assert_eq!(its_payment(&order).order_number, Some(12));
        assert_eq!(its_payment(&order).amount, crate::Cents(470), "the payment is for the drink with its options");
        assert_eq!(its_payment(&order).options, Some(large));
        assert_eq!(its_fulfilment(&order).order_number, Some(12));
        assert_eq!(its_fulfilment(&order).options, Some(large), "the barista's card says how to make it");
        assert_eq!(its_payment(&an_order()).amount, an_order().coffee.price, "an order from before options");
        let json = serde_json::to_value(its_fulfilment(&order)).expect("serializes");
        assert_eq!(json["orderNumber"], 12);
        assert_eq!(its_fulfilment(&an_order()).order_number, None);
    }

    fn cancelled() -> FulfilmentInput {
        FulfilmentInput::OrderCancelled(an_order().cancel_by_customer(None, Millis(6)).expect("cancels"))
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
    fn a_paid_order_starts_one_coffee() {
        let paid = FulfilmentInput::PaymentSucceeded(its_payment(&an_order()));
        let FulfilmentReaction::Start(f) = react(None, false, paid.clone()) else { panic!("expected a coffee") };
        assert_eq!(f.status, FulfilmentStatus::Created);
        assert_eq!(react(Some(&f), false, paid), FulfilmentReaction::Nothing, "a duplicate starts nothing");
    }

    #[test]
    fn a_cancelled_order_closes_an_open_fulfilment_only() {
        let f = a_fulfilment();
        let FulfilmentReaction::Close(closed) = react(Some(&f), false, cancelled()) else { panic!("expected a close") };
        assert_eq!(closed.status, FulfilmentStatus::Rejected);
        assert_eq!(closed.note.as_ref().map(Note::as_str), Some("order cancelled: cancelled by the customer"));
        let done = f.change_by_barista(FulfilmentStatus::Completed, None, Millis(6)).expect("completes");
        assert_eq!(react(Some(&done), false, cancelled()), FulfilmentReaction::Nothing);
    }

    #[test]
    fn a_closure_that_overtakes_the_payment_is_remembered_and_the_late_payment_starts_nothing() {
        assert_eq!(react(None, false, cancelled()), FulfilmentReaction::RememberClosed);
        let refunded = FulfilmentInput::PaymentRefunded(its_payment(&an_order()));
        assert_eq!(react(None, false, refunded.clone()), FulfilmentReaction::RememberClosed);
        assert_eq!(react(None, true, refunded), FulfilmentReaction::Nothing, "remembered once");
        let paid = FulfilmentInput::PaymentSucceeded(its_payment(&an_order()));
        assert_eq!(react(None, true, paid), FulfilmentReaction::Nothing);
    }

    #[test]
    fn a_fulfilment_serializes_with_the_original_field_names() {
        let json = serde_json::to_value(a_fulfilment()).expect("serializes");
        assert_eq!(json["fulfilmentStatus"], "FULFILMENT_CREATED");
        assert_eq!(json["id"], json["fulfilmentId"]);
        assert_eq!(json["coffee"]["name"], "Latte");
    }
}
