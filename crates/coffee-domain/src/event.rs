//! The domain events: one per status an entity enters. An event carries the entity's
//! snapshot after the change, so consumers never need to ask the producer anything.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Fulfilment, FulfilmentStatus, Order, OrderId, OrderStatus, Payment, PaymentStatus};

/// The service that produced an event (the CloudEvents `source`), named as in the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

macro_rules! event_types {
    ($($variant:ident => $text:literal, $source:ident, $doc:literal;)+) => {
        /// Every kind of event the system publishes (the CloudEvents `type`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $(#[doc = $doc] $variant),+
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $text),+ }
            }

            pub fn source(self) -> Source {
                match self { $(EventType::$variant => Source::$source),+ }
            }

            /// What the event means, in the business's words.
            pub fn meaning(self) -> &'static str {
                match self { $(EventType::$variant => $doc.trim()),+ }
            }

            pub fn parse(input: &str) -> Option<Self> {
                match input { $($text => Some(EventType::$variant),)+ _ => None }
            }
        }
    };
}

event_types! {
    OrderCreated => "coffee.order.created", Order, " A customer placed an order.";
    OrderStarted => "coffee.order.started", Order, " The order is paid and being made (ORDER_IN_PROGRESS).";
    OrderCancelled => "coffee.order.cancelled", Order, " The order was cancelled: by the customer, a failed payment or a rejected fulfilment.";
    OrderCompleted => "coffee.order.completed", Order, " The coffee is ready to collect.";
    PaymentPending => "coffee.payment.pending", Payment, " The payment service knows the order and its price; nothing is paid yet.";
    PaymentCreated => "coffee.payment.created", Payment, " The provider holds a payment intent; the customer can pay.";
    PaymentSucceeded => "coffee.payment.succeeded", Payment, " The money was taken.";
    PaymentFailed => "coffee.payment.failed", Payment, " The card was declined, or the order was cancelled before it was paid.";
    PaymentRefunded => "coffee.payment.refunded", Payment, " The money was given back.";
    FulfilmentPending => "coffee.fulfilment.pending", Fulfilment, " Reserved by the original's vocabulary; never published.";
    FulfilmentCreated => "coffee.fulfilment.created", Fulfilment, " A paid coffee joined the barista's queue.";
    FulfilmentCompleted => "coffee.fulfilment.completed", Fulfilment, " The barista made the coffee.";
    FulfilmentRejected => "coffee.fulfilment.rejected", Fulfilment, " The barista could not make it, or the order was cancelled.";
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl EventType {
    pub fn for_order(status: OrderStatus) -> Self {
        match status {
            OrderStatus::Created => Self::OrderCreated,
            OrderStatus::InProgress => Self::OrderStarted,
            OrderStatus::Cancelled => Self::OrderCancelled,
            OrderStatus::Completed => Self::OrderCompleted,
        }
    }

    pub fn for_payment(status: PaymentStatus) -> Self {
        match status {
            PaymentStatus::Pending => Self::PaymentPending,
            PaymentStatus::Created => Self::PaymentCreated,
            PaymentStatus::Successful => Self::PaymentSucceeded,
            PaymentStatus::Failed => Self::PaymentFailed,
            PaymentStatus::Refunded => Self::PaymentRefunded,
        }
    }

    pub fn for_fulfilment(status: FulfilmentStatus) -> Self {
        match status {
            FulfilmentStatus::Pending => Self::FulfilmentPending,
            FulfilmentStatus::Created => Self::FulfilmentCreated,
            FulfilmentStatus::Completed => Self::FulfilmentCompleted,
            FulfilmentStatus::Rejected => Self::FulfilmentRejected,
        }
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
    pub fn event_type(&self) -> EventType {
        match self {
            DomainEvent::Order(o) => EventType::for_order(o.status),
            DomainEvent::Payment(p) => EventType::for_payment(p.status),
            DomainEvent::Fulfilment(f) => EventType::for_fulfilment(f.status),
        }
    }

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
        let mut seen = std::collections::HashSet::new();
        for s in OrderStatus::ALL {
            let t = EventType::for_order(*s);
            assert_eq!(t.source(), Source::Order);
            assert!(seen.insert(t));
        }
        for s in PaymentStatus::ALL {
            let t = EventType::for_payment(*s);
            assert_eq!(t.source(), Source::Payment);
            assert!(seen.insert(t));
        }
        for s in FulfilmentStatus::ALL {
            let t = EventType::for_fulfilment(*s);
            assert_eq!(t.source(), Source::Fulfilment);
            assert!(seen.insert(t));
        }
        assert_eq!(seen.len(), EventType::ALL.len());
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
        }
    }
}
