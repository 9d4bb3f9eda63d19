//! The saga's routing, declared once: which events each service reacts to. Each service's
//! queue rule is derived from its input's [`TYPES`](OrderInput::TYPES), and its handler turns a
//! delivered event into that input with `from_event` and asks the entity's `react` what to do.
//! The event catalogue (`docs/events.md`) is generated from the same lists.
//!
//! Every reaction converges whatever order a service receives its events in. A message held
//! by a replica that crashed comes back after later messages of the same order; a failed
//! attempt is retried after its successors. So no reaction assumes the events it depends on
//! came first: an event that implies an earlier one catches the entity up through the step it
//! skipped (a completed fulfilment implies a paid order), and an event that closes a saga
//! before the entity exists is remembered, so the late event it overtook changes nothing.

use crate::{DomainEvent, EventType, Fulfilment, Order, Payment, Source};

macro_rules! saga_inputs {
    (
        $(#[$doc:meta])* $name:ident for $service:ident {
            $($(#[$vdoc:meta])* $variant:ident($entity:ident)),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant($entity)),+
        }

        impl $name {
            /// The service that reacts.
            pub const SERVICE: Source = Source::$service;
            /// The event types it reacts to: its queue's rule selects exactly these.
            pub const TYPES: &'static [EventType] = &[$(EventType::$variant),+];

            /// The input an event is for this service, or `None` when the service does not
            /// react to it.
            pub fn from_event(event: DomainEvent) -> Option<Self> {
                match (event.event_type(), event) {
                    $((EventType::$variant, DomainEvent::$entity(entity)) => Some(Self::$variant(entity)),)+
                    _ => None,
                }
            }
        }
    };
}

saga_inputs!(
    /// What the order service reacts to.
    OrderInput for Order {
        /// The order starts.
        PaymentSucceeded(Payment),
        /// The order is cancelled with the payment's reason (the payment fails only once its
        /// order is cancelled, so this changes nothing but an order that had not heard yet).
        PaymentFailed(Payment),
        /// Money given back before the order started (a refund in the provider's dashboard that
        /// overtook the capture's event): the order is cancelled. Once started, the refund closes
        /// the coffee, and its rejection cancels the order.
        PaymentRefunded(Payment),
        /// The order is ready to collect.
        FulfilmentCompleted(Fulfilment),
        /// The order is cancelled with the barista's reason.
        FulfilmentRejected(Fulfilment),
    }
);

saga_inputs!(
    /// What the payment service reacts to.
    PaymentInput for Payment {
        /// The payment service records what the order costs.
        OrderCreated(Order),
        /// Nothing paid: the payment fails; an intent open: it is cancelled; money taken: refunded.
        OrderCancelled(Order),
    }
);

saga_inputs!(
    /// What the fulfilment service reacts to.
    FulfilmentInput for Fulfilment {
        /// A coffee joins the barista's queue.
        PaymentSucceeded(Payment),
        /// A payment captured in a race with a cancellation was refunded: its coffee must not be made.
        PaymentRefunded(Payment),
        /// An open fulfilment is closed.
        OrderCancelled(Order),
    }
);

/// The event types a service reacts to.
pub fn reacts_to(service: Source) -> &'static [EventType] {
    match service {
        Source::Order => OrderInput::TYPES,
        Source::Payment => PaymentInput::TYPES,
        Source::Fulfilment => FulfilmentInput::TYPES,
    }
}

/// The services that react to events of this type.
pub fn consumers_of(event_type: EventType) -> Vec<Source> {
    Source::ALL.into_iter().filter(|s| reacts_to(*s).contains(&event_type)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_reacts_to_other_services_events_only() {
        for service in Source::ALL {
            assert!(!reacts_to(service).is_empty(), "{service} reacts to nothing");
            assert!(reacts_to(service).iter().all(|t| t.source() != service), "{service} reacts to itself");
        }
    }

    #[test]
    fn the_routing_is_the_sagas() {
        use EventType as T;
        assert_eq!(consumers_of(T::OrderCreated), [Source::Payment]);
        assert_eq!(consumers_of(T::OrderCancelled), [Source::Payment, Source::Fulfilment]);
        assert_eq!(consumers_of(T::PaymentSucceeded), [Source::Order, Source::Fulfilment]);
        assert_eq!(consumers_of(T::PaymentFailed), [Source::Order]);
        assert_eq!(consumers_of(T::PaymentRefunded), [Source::Order, Source::Fulfilment]);
        assert_eq!(consumers_of(T::FulfilmentCompleted), [Source::Order]);
        assert_eq!(consumers_of(T::FulfilmentRejected), [Source::Order]);
        for t in [
            T::OrderStarted,
            T::OrderCompleted,
            T::PaymentPending,
            T::PaymentCreated,
            T::PaymentDeclined,
            T::FulfilmentCreated,
        ] {
            assert!(consumers_of(t).is_empty(), "{t} has no consumer");
        }
    }
}
