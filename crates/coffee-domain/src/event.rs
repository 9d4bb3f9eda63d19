//! The domain events: one per status an entity enters. An event carries the entity's
//! snapshot after the change, so consumers never need to ask the producer anything.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Fulfilment, FulfilmentStatus, Order, OrderId, OrderStatus, Payment, PaymentStatus};

/// The service that produced an event (the CloudEvents `source`), named as in the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Source {
    #[serde(rename = "order-service")]
    Order,
    #[serde(rename = "payment-service")]
    Payment,
    #[serde(rename = "fulfilment-service")]
    Fulfilment,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Order, Source::Payment, Source::Fulfilment];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Order => "order-service",
            Source::Payment => "payment-service",
            Source::Fulfilment => "fulfilment-service",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Declares every event type: grouped by the entity that produces it, each named for the status
/// its entity enters, with its CloudEvents type and its meaning; and, after `within`, the steps
/// an entity takes without changing status (a barista claiming a coffee), which the entity names
/// itself ([`DomainEvent::event_type`]).
macro_rules! event_types {
    ($($entity:ident($status:ident) {
        $(#[doc = $doc:literal] $variant:ident on $step:ident => $text:literal;)+
        $(within #[doc = $wdoc:literal] $wvariant:ident => $wtext:literal;)*
    })+) => {
        /// Every kind of event the system publishes (the CloudEvents `type`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $($(#[doc = $doc] $variant,)+ $(#[doc = $wdoc] $wvariant,)*)+
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$($(EventType::$variant,)+ $(EventType::$wvariant,)*)+];

            /// Its name, its producer and what it means, as declared below.
            fn declared(self) -> (&'static str, Source, &'static str) {
                match self {
                    $($(EventType::$variant => ($text, Source::$entity, $doc),)+
                    $(EventType::$wvariant => ($wtext, Source::$entity, $wdoc),)*)+
                }
            }

            pub fn parse(input: &str) -> Option<Self> {
                match input { $($($text => Some(EventType::$variant),)+ $($wtext => Some(EventType::$wvariant),)*)+ _ => None }
            }
        }

        impl DomainEvent {
            /// The type of this event: the step its entity took within its status, if it names
            /// one, else the status it entered.
            pub fn event_type(&self) -> EventType {
                match self {
                    $(DomainEvent::$entity(e) => e.step_within().unwrap_or(match e.status {
                        $($status::$step => EventType::$variant,)+
                    }),)+
                }
            }
        }
    };
}

event_types! {
    Order(OrderStatus) {
        /// A customer placed an order.
        OrderCreated on Created => "coffee.order.created";
        /// The order is paid and being made (ORDER_IN_PROGRESS).
        OrderStarted on InProgress => "coffee.order.started";
        /// The order was cancelled: by the customer, a failed payment or a rejected fulfilment.
        OrderCancelled on Cancelled => "coffee.order.cancelled";
        /// The coffee is ready to collect.
        OrderCompleted on Completed => "coffee.order.completed";
    }
    Payment(PaymentStatus) {
        /// The payment service knows the order and its price; nothing is paid yet.
        PaymentPending on Pending => "coffee.payment.pending";
        /// The provider holds a payment intent; the customer can pay.
        PaymentCreated on Created => "coffee.payment.created";
        /// The money was taken.
        PaymentSucceeded on Successful => "coffee.payment.succeeded";
        /// The order was cancelled before it was paid: its payment can no longer be made.
        PaymentFailed on Failed => "coffee.payment.failed";
        /// The money was given back.
        PaymentRefunded on Refunded => "coffee.payment.refunded";
        within
        /// A card was declined (`paymentNote`: why); the payment waits for another card.
        PaymentDeclined => "coffee.payment.declined";
    }
    Fulfilment(FulfilmentStatus) {
        /// Reserved by the original's vocabulary; never published.
        FulfilmentPending on Pending => "coffee.fulfilment.pending";
        /// A paid coffee joined the barista's queue.
        FulfilmentCreated on Created => "coffee.fulfilment.created";
        /// The barista made the coffee.
        FulfilmentCompleted on Completed => "coffee.fulfilment.completed";
        /// The barista could not make it, or the order was cancelled.
        FulfilmentRejected on Rejected => "coffee.fulfilment.rejected";
        within
        /// A barista is making it (`baristaName`, `claimedAt`): the others see it taken.
        FulfilmentClaimed => "coffee.fulfilment.claimed";
        within
        /// The barista who was making it let it go: it is back in the queue for anyone.
        FulfilmentReleased => "coffee.fulfilment.released";
    }
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        self.declared().0
    }

    pub fn source(self) -> Source {
        self.declared().1
    }

    /// What the event means, in the business's words.
    pub fn meaning(self) -> &'static str {
        self.declared().2.trim()
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event's content: the entity as it is after the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    Order(Order),
    Payment(Payment),
    Fulfilment(Fulfilment),
}

impl DomainEvent {
    pub fn source(&self) -> Source {
        self.event_type().source()
    }

    /// The order the event is about: the event's subject and FIFO group.
    pub fn order_id(&self) -> OrderId {
        match self {
            DomainEvent::Order(o) => o.id,
            DomainEvent::Payment(p) => p.order_id,
            DomainEvent::Fulfilment(f) => f.order_id,
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        // Serializing these plain structs cannot fail: every key is a string and every
        // value a string, number, bool or nested struct.
        let value = match self {
            DomainEvent::Order(o) => serde_json::to_value(o),
            DomainEvent::Payment(p) => serde_json::to_value(p),
            DomainEvent::Fulfilment(f) => serde_json::to_value(f),
        };
        value.unwrap_or(serde_json::Value::Null)
    }

    /// Reads an event's data back, given its type.
    pub fn from_json(event_type: EventType, data: &serde_json::Value) -> Result<Self, serde_json::Error> {
        Ok(match event_type.source() {
            Source::Order => DomainEvent::Order(Order::deserialize(data)?),
            Source::Payment => DomainEvent::Payment(Payment::deserialize(data)?),
            Source::Fulfilment => DomainEvent::Fulfilment(Fulfilment::deserialize(data)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_event_type_from_the_right_source() {
        use crate::testing::{an_order, its_fulfilment, its_payment};
        let order = an_order();
        let mut seen = std::collections::HashSet::new();
        let mut check = |event: DomainEvent, source: Source| {
            let t = event.event_type();
            assert_eq!(t.source(), source, "{t}");
            assert!(seen.insert(t), "{t} twice");
        };
        for s in OrderStatus::ALL {
            check(DomainEvent::Order(Order { status: *s, ..order.clone() }), Source::Order);
        }
        for s in PaymentStatus::ALL {
            check(DomainEvent::Payment(Payment { status: *s, ..its_payment(&order) }), Source::Payment);
        }
        for s in FulfilmentStatus::ALL {
            check(DomainEvent::Fulfilment(Fulfilment { status: *s, ..its_fulfilment(&order) }), Source::Fulfilment);
        }
        // The steps a waiting coffee takes without changing status.
        let barista = crate::StaffName::parse("sam").expect("a name");
        let claimed = its_fulfilment(&order).claim(&barista, crate::Millis(9)).expect("claims").expect("a change");
        let released = claimed.release(&barista, false, crate::Millis(10)).expect("releases").expect("a change");
        check(DomainEvent::Fulfilment(claimed), Source::Fulfilment);
        check(DomainEvent::Fulfilment(released), Source::Fulfilment);
        // A declined card: the payment still waits.
        let created = Payment { status: PaymentStatus::Created, note: None, ..its_payment(&order) };
        let declined = created.on_declined(crate::Note::system("declined"), crate::Millis(10)).expect("declined");
        assert_eq!(DomainEvent::Payment(declined.clone()).event_type(), EventType::PaymentDeclined);
        check(DomainEvent::Payment(declined), Source::Payment);
        assert_eq!(seen.len(), EventType::ALL.len());
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
            assert_eq!(t.to_string(), t.as_str());
            assert!(t.meaning().len() > 10 && t.meaning() == t.meaning().trim(), "{t}: '{}'", t.meaning());
        }
    }

    #[test]
    fn sources_are_named_as_on_the_wire() {
        let names: Vec<String> = Source::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, ["order-service", "payment-service", "fulfilment-service"]);
        for s in Source::ALL {
            assert_eq!(serde_json::to_value(s).expect("json"), s.as_str());
        }
        assert!(EventType::parse("coffee.order.created").is_some_and(|t| t.meaning().contains("order")));
    }

    #[test]
    fn an_event_s_json_is_its_entity_s_wire_form() {
        let order = crate::testing::an_order();
        let json = DomainEvent::Order(order.clone()).to_json();
        assert_eq!(json, serde_json::to_value(&order).expect("json"));
        assert_eq!(json["orderId"], order.id.to_string());
    }
}
