//! What the order, the payment and the fulfilment have in common: each belongs to one order and
//! one customer, moves through its state machine one legal step at a time, and is announced by
//! an event carrying its state after each step. The store keys records by these fields, the
//! gateway's subscriptions filter by them, and the event of each step is built here.

use crate::{CustomerId, DomainEvent, Millis, OrderId, Source};

pub trait Entity: Clone + PartialEq + Send + Sync + 'static {
    /// The service that owns it and publishes its events.
    const SOURCE: Source;
    /// Its name in messages: `order`, `payment`, `fulfilment`.
    const NAME: &'static str;

    /// Its id, in canonical form.
    fn id_text(&self) -> String;
    /// The order it belongs to: the subject of its events.
    fn order_id(&self) -> OrderId;
    fn customer_id(&self) -> &CustomerId;
    /// Its status, as the original system spells it.
    fn status_text(&self) -> &'static str;
    fn created_at(&self) -> Millis;
    fn updated_at(&self) -> Millis;
    /// The event that announces this state.
    fn event(&self) -> DomainEvent;
    /// The entity an event carries, when it is of this kind.
    fn from_event(event: DomainEvent) -> Option<Self>;
}

/// Implements [`Entity`] for one of the three entities, and its one way to change status: a
/// legal step of its state machine or an [`IllegalTransition`](crate::IllegalTransition).
macro_rules! entity {
    ($entity:ident, $status:ident, $source:ident, $name:literal, order_id = |$e:ident| $order_id:expr) => {
        impl $crate::entity::Entity for $entity {
            const SOURCE: $crate::Source = $crate::Source::$source;
            const NAME: &'static str = $name;

            fn id_text(&self) -> String {
                self.id.to_string()
            }
            fn order_id(&self) -> $crate::OrderId {
                let $e = self;
                $order_id
            }
            fn customer_id(&self) -> &$crate::CustomerId {
                &self.customer_id
            }
            fn status_text(&self) -> &'static str {
                self.status.as_str()
            }
            fn created_at(&self) -> $crate::Millis {
                self.created_at
            }
            fn updated_at(&self) -> $crate::Millis {
                self.updated_at
            }
            fn event(&self) -> $crate::DomainEvent {
                $crate::DomainEvent::$entity(self.clone())
            }
            fn from_event(event: $crate::DomainEvent) -> Option<Self> {
                match event {
                    $crate::DomainEvent::$entity(e) => Some(e),
                    _ => None,
                }
            }
        }

        impl $entity {
            /// Takes one step of the state machine, keeping the note unless a new one is given.
            fn become_(
                &self,
                next: $status,
                note: Option<$crate::Note>,
                now: $crate::Millis,
            ) -> Result<Self, $crate::IllegalTransition> {
                if !self.status.can_become(next) {
                    return Err(self.refuse(next));
                }
                Ok(Self { status: next, note: note.or_else(|| self.note.clone()), updated_at: now, ..self.clone() })
            }

            /// The refusal of a step to `next`, naming where the entity stands.
            fn refuse(&self, next: $status) -> $crate::IllegalTransition {
                $crate::IllegalTransition {
                    entity: $name,
                    id: self.id.to_string(),
                    from: self.status.as_str(),
                    to: next.as_str(),
                }
            }
        }
    };
}

pub(crate) use entity;
