//! The saga as a property: whatever order events are delivered in (FIFO per consumer, as
//! the bus promises, but interleaved arbitrarily between consumers), however often each
//! is delivered, and whatever customers, baristas and the card provider do meanwhile,
//! the invariants hold once everything has been delivered:
//!
//! - at most one fulfilment per order, and none without a successful payment;
//! - money taken and never given back means the payment is SUCCESSFUL and the order is
//!   IN_PROGRESS or COMPLETED; money given back means PAYMENT_REFUNDED and ORDER_CANCELLED;
//! - every paid order ends ORDER_COMPLETED, or ORDER_CANCELLED with its payment refunded;
//! - a completed order has a completed fulfilment and a successful payment.
//!
//! The services' reactions are the domain's own functions; the model adds only what the
//! services do around them (the provider calls), as their handlers do.

use std::collections::VecDeque;

use coffee_domain::payment::{Capture, OnOrderCancelled};
use coffee_domain::{
    CoffeeId, CustomerId, CustomerName, DomainEvent, Fulfilment, FulfilmentId, FulfilmentStatus, Millis, Note, Order,
    OrderId, OrderStatus, Payment, PaymentId, PaymentStatus,
};
use proptest::prelude::*;

/// The provider's side of a payment intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    None,
    Open,
    Captured,
    Cancelled,
    Refunded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Consumer {
    Order,
    Payment,
    Fulfilment,
}

#[derive(Debug, Clone)]
enum Action {
    /// Deliver the next message of a consumer's queue.
    Deliver(Consumer),
    /// Deliver it again without taking it off the queue (at-least-once).
    Redeliver(Consumer),
    /// The customer starts paying (the payment intent is created).
    CreatePayment,
    /// The card form: the provider captures (or declines) now; the webhook is delivered
    /// now or, to model the race with a cancellation, later.
    Pay {
        good_card: bool,
        webhook_later: bool,
    },
    /// A delayed webhook arrives.
    DeliverWebhook,
    CustomerCancels,
    BaristaCompletes,
    BaristaRejects,
}

fn action() -> impl Strategy<Value = Action> {
    let consumer = prop_oneof![Just(Consumer::Order), Just(Consumer::Payment), Just(Consumer::Fulfilment)];
    prop_oneof![
        6 => consumer.clone().prop_map(Action::Deliver),
        2 => consumer.prop_map(Action::Redeliver),
        2 => Just(Action::CreatePayment),
        3 => (any::<bool>(), any::<bool>()).prop_map(|(good_card, webhook_later)| Action::Pay { good_card, webhook_later }),
        2 => Just(Action::DeliverWebhook),
        1 => Just(Action::CustomerCancels),
        2 => Just(Action::BaristaCompletes),
        1 => Just(Action::BaristaRejects),
    ]
}

struct World {
    clock: i64,
    order: Order,
    payment: Option<Payment>,
    fulfilment: Option<Fulfilment>,
    fulfilments_created: usize,
    ever_successful: bool,
    intent: Intent,
    /// A webhook the provider has yet to deliver: captured or declined.
    pending_webhook: Option<bool>,
    queues: [VecDeque<DomainEvent>; 3],
}

fn queue_index(c: Consumer) -> usize {
    match c {
        Consumer::Order => 0,
        Consumer::Payment => 1,
        Consumer::Fulfilment => 2,
    }
}

impl World {
    fn new() -> Self {
        let order = Order::place(
            OrderId::from_uuid(uuid::Uuid::from_u128(1)),
            CoffeeId::parse("2").expect("menu"),
            CustomerId::parse("c").expect("id"),
            CustomerName::parse("Ada").expect("name"),
            Millis(0),
        );
        let mut world = Self {
            clock: 0,
            order: order.clone(),
            payment: None,
            fulfilment: None,
            fulfilments_created: 0,
            ever_successful: false,
            intent: Intent::None,
            pending_webhook: None,
            queues: Default::default(),
        };
        world.publish(DomainEvent::Order(order));
        world
    }

    fn now(&mut self) -> Millis {
        self.clock += 1;
        Millis(self.clock)
    }

    /// Routes an event to the queues whose rule selects it (the services' rules).
    fn publish(&mut self, event: DomainEvent) {
        use coffee_domain::EventType as T;
        let consumers: &[Consumer] = match event.event_type() {
            T::OrderCreated => &[Consumer::Payment],
            T::OrderCancelled => &[Consumer::Payment, Consumer::Fulfilment],
            T::PaymentSucceeded => &[Consumer::Order, Consumer::Fulfilment],
            T::PaymentFailed => &[Consumer::Order],
            T::PaymentRefunded => &[Consumer::Fulfilment],
            T::FulfilmentCompleted | T::FulfilmentRejected => &[Consumer::Order],
            _ => &[],
        };
        for c in consumers {
            self.queues[queue_index(*c)].push_back(event.clone());
        }
    }

    fn set_payment(&mut self, p: Payment) {
        if p.status == PaymentStatus::Successful {
            self.ever_successful = true;
        }
        self.payment = Some(p.clone());
        self.publish(DomainEvent::Payment(p));
    }

    fn react(&mut self, consumer: Consumer, event: &DomainEvent) {
        let now = self.now();
        match (consumer, event) {
            // The order service.
            (Consumer::Order, DomainEvent::Payment(p)) => {
                let next = match p.status {
                    PaymentStatus::Successful => self.order.on_payment_succeeded(now),
                    PaymentStatus::Failed => self.order.on_payment_failed(p.note.as_ref(), now),
                    _ => None,
                };
                if let Some(o) = next {
                    self.order = o.clone();
                    self.publish(DomainEvent::Order(o));
                }
            }
            (Consumer::Order, DomainEvent::Fulfilment(f)) => {
                let next = match f.status {
                    FulfilmentStatus::Completed => self.order.on_fulfilment_completed(now),
                    FulfilmentStatus::Rejected => self.order.on_fulfilment_rejected(f.note.as_ref(), now),
                    _ => None,
                };
                if let Some(o) = next {
                    self.order = o.clone();
                    self.publish(DomainEvent::Order(o));
                }
            }
            // The payment service.
            (Consumer::Payment, DomainEvent::Order(o))
                if o.status == OrderStatus::Created && self.payment.is_none() =>
            {
                let p = Payment::on_order_created(PaymentId::from_uuid(uuid::Uuid::from_u128(2)), o, now);
                self.set_payment(p);
            }
            (Consumer::Payment, DomainEvent::Order(o)) if o.status == OrderStatus::Cancelled => {
                let Some(p) = self.payment.clone() else {
                    panic!("the payment service handles cancellation before creation: FIFO broken")
                };
                let reason = Note::system("order cancelled");
                match p.on_order_cancelled() {
                    OnOrderCancelled::Nothing => {}
                    OnOrderCancelled::Fail => self.set_payment(p.fail(reason, now).expect("pending fails")),
                    OnOrderCancelled::CancelIntent => {
                        if self.intent == Intent::Open {
                            self.intent = Intent::Cancelled;
                            self.set_payment(p.fail(reason, now).expect("created fails"));
                        } else {
                            // Already captured: remember, refund when the capture is reported.
                            self.payment = Some(p.remember_order_cancelled(now));
                        }
                    }
                    OnOrderCancelled::Refund => {
                        assert_eq!(self.intent, Intent::Captured, "refunding money never taken");
                        self.intent = Intent::Refunded;
                        self.set_payment(p.refund(reason, now).expect("successful refunds"));
                    }
                }
            }
            // The fulfilment service.
            (Consumer::Fulfilment, DomainEvent::Payment(p))
                if p.status == PaymentStatus::Successful && self.fulfilment.is_none() =>
            {
                let f = Fulfilment::on_payment_succeeded(FulfilmentId::from_uuid(uuid::Uuid::from_u128(3)), p, now);
                self.fulfilments_created += 1;
                self.fulfilment = Some(f.clone());
                self.publish(DomainEvent::Fulfilment(f));
            }
            (Consumer::Fulfilment, DomainEvent::Payment(p)) if p.status == PaymentStatus::Refunded => {
                self.close_fulfilment(p.note.clone(), now);
            }
            (Consumer::Fulfilment, DomainEvent::Order(o)) if o.status == OrderStatus::Cancelled => {
                self.close_fulfilment(o.note.clone(), now);
            }
            _ => {}
        }
    }

    fn close_fulfilment(&mut self, reason: Option<Note>, now: Millis) {
        if let Some(f) = &self.fulfilment
            && let Some(closed) = f.on_order_cancelled(reason.as_ref(), now)
        {
            self.fulfilment = Some(closed.clone());
            self.publish(DomainEvent::Fulfilment(closed));
        }
    }

    /// The webhook handler of the payment service.
    fn webhook(&mut self, captured: bool) {
        let now = self.now();
        let Some(p) = self.payment.clone() else { return };
        if captured {
            match p.on_captured(now) {
                Capture::Succeeded(p) => self.set_payment(p),
                Capture::RefundAtOnce(p) => {
                    assert_eq!(self.intent, Intent::Captured);
                    self.intent = Intent::Refunded;
                    self.set_payment(p);
                }
                Capture::Ignore => {}
            }
        } else if let Some(p) = p.on_declined(Note::system("Your card was declined."), now) {
            self.set_payment(p);
        }
    }

    fn act(&mut self, action: &Action) {
        match action {
            Action::Deliver(c) => {
                if let Some(e) = self.queues[queue_index(*c)].pop_front() {
                    self.react(*c, &e);
                }
            }
            Action::Redeliver(c) => {
                if let Some(e) = self.queues[queue_index(*c)].front().cloned() {
                    self.react(*c, &e);
                }
            }
            Action::CreatePayment => {
                if let Some(p) = self.payment.clone()
                    && p.status == PaymentStatus::Pending
                {
                    self.intent = Intent::Open;
                    let now = self.now();
                    self.set_payment(p.intent_created("pi".into(), now).expect("pending creates"));
                }
            }
            Action::Pay { good_card, webhook_later } => {
                let created = self.payment.as_ref().is_some_and(|p| p.status == PaymentStatus::Created);
                if created && self.intent == Intent::Open && self.pending_webhook.is_none() {
                    if *good_card {
                        self.intent = Intent::Captured;
                    }
                    if *webhook_later {
                        self.pending_webhook = Some(*good_card);
                    } else {
                        self.webhook(*good_card);
                    }
                }
            }
            Action::DeliverWebhook => {
                if let Some(captured) = self.pending_webhook.take() {
                    self.webhook(captured);
                }
            }
            Action::CustomerCancels => {
                let now = self.now();
                if let Ok(o) = self.order.cancel_by_customer(None, now) {
                    self.order = o.clone();
                    self.publish(DomainEvent::Order(o));
                }
            }
            Action::BaristaCompletes | Action::BaristaRejects => {
                let to = if matches!(action, Action::BaristaCompletes) {
                    FulfilmentStatus::Completed
                } else {
                    FulfilmentStatus::Rejected
                };
                let now = self.now();
                if let Some(f) = &self.fulfilment
                    && let Ok(next) = f.change_by_barista(to, None, now)
                {
                    self.fulfilment = Some(next.clone());
                    self.publish(DomainEvent::Fulfilment(next));
                }
            }
        }
        self.check_always();
    }

    /// What must hold after every step.
    fn check_always(&self) {
        assert!(self.fulfilments_created <= 1, "two fulfilments for one order");
        if self.fulfilment.is_some() {
            assert!(self.ever_successful, "a fulfilment without a successful payment");
        }
        if let Some(p) = &self.payment {
            match p.status {
                PaymentStatus::Successful => assert_eq!(self.intent, Intent::Captured, "successful but not captured"),
                PaymentStatus::Refunded => {
                    assert_eq!(self.intent, Intent::Refunded, "refunded but not at the provider")
                }
                _ => {}
            }
        }
    }

    /// Delivers everything still queued (and the provider's late webhook), as the bus
    /// eventually does.
    fn settle(&mut self) {
        if let Some(captured) = self.pending_webhook.take() {
            self.webhook(captured);
        }
        while let Some(c) = [Consumer::Order, Consumer::Payment, Consumer::Fulfilment]
            .into_iter()
            .find(|c| !self.queues[queue_index(*c)].is_empty())
        {
            self.act(&Action::Deliver(c));
        }
    }

    /// What must hold once everything has been delivered.
    fn check_settled(&self) {
        let payment = self.payment.as_ref().expect("the payment service learned of the order");
        match self.intent {
            Intent::Captured => {
                assert_eq!(payment.status, PaymentStatus::Successful);
                assert!(
                    matches!(self.order.status, OrderStatus::InProgress | OrderStatus::Completed),
                    "money kept for an order that is {}",
                    self.order.status
                );
            }
            Intent::Refunded => {
                assert_eq!(payment.status, PaymentStatus::Refunded);
                assert_eq!(self.order.status, OrderStatus::Cancelled, "refunded but the order is not cancelled");
            }
            Intent::None | Intent::Open | Intent::Cancelled => {
                assert!(!matches!(payment.status, PaymentStatus::Successful | PaymentStatus::Refunded));
                assert!(
                    matches!(self.order.status, OrderStatus::Created | OrderStatus::Cancelled),
                    "an unpaid order is {}",
                    self.order.status
                );
            }
        }
        if self.order.status == OrderStatus::Completed {
            let f = self.fulfilment.as_ref().expect("a completed order has a fulfilment");
            assert_eq!(f.status, FulfilmentStatus::Completed);
            assert_eq!(payment.status, PaymentStatus::Successful);
        }
        if let Some(f) = &self.fulfilment
            && f.status == FulfilmentStatus::Created
        {
            assert_eq!(
                self.order.status,
                OrderStatus::InProgress,
                "an open fulfilment for a {} order",
                self.order.status
            );
            assert_eq!(payment.status, PaymentStatus::Successful);
        }
        if self.order.status == OrderStatus::Cancelled {
            assert!(
                !matches!(payment.status, PaymentStatus::Successful) || self.fulfilment_completed(),
                "a cancelled order kept its money without its coffee"
            );
        }
    }

    fn fulfilment_completed(&self) -> bool {
        self.fulfilment.as_ref().is_some_and(|f| f.status == FulfilmentStatus::Completed)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn no_interleaving_of_events_and_actions_breaks_the_saga(actions in proptest::collection::vec(action(), 0..60)) {
        let mut world = World::new();
        for a in &actions {
            world.act(a);
        }
        world.settle();
        world.check_settled();
    }

    #[test]
    fn a_paid_order_that_the_barista_completes_ends_completed(extra in proptest::collection::vec(action(), 0..20)) {
        let mut world = World::new();
        world.settle();
        world.act(&Action::CreatePayment);
        world.act(&Action::Pay { good_card: true, webhook_later: false });
        world.settle();
        for a in extra.iter().filter(|a| !matches!(a, Action::CustomerCancels | Action::BaristaRejects)) {
            world.act(a);
        }
        world.act(&Action::BaristaCompletes);
        world.settle();
        prop_assert_eq!(world.order.status, OrderStatus::Completed);
    }
}
